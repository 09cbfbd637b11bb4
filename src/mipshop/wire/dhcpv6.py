"""DHCPv6 messages (RFC 8415), the part stateful address assignment needs.

A DHCPv6 message is the payload of a UDP datagram (client port 546, server port 547; RFC 8415
§7.2) whose layout is (§8)::

    0 msg-type | 1-3 transaction-id | 4.. options

and every option is ``option-code (16) | option-len (16) | option-data`` (§21.1). Modelled:

======  ==================  ==========================================================
code    class               RFC 8415
======  ==================  ==========================================================
1       ClientIdentifier    §21.2 (a DUID, §11; :func:`duid_ll` builds a DUID-LL)
2       ServerIdentifier    §21.3
3       IANA                §21.4: IAID, T1, T2, IA_NA-options
5       IAAddress           §21.6: address, preferred and valid lifetimes, options
6       OptionRequest       §21.7
7       Preference          §21.8
8       ElapsedTime         §21.9 (hundredths of a second on the wire, seconds here)
13      StatusCode          §21.13
14      RapidCommit         §21.14
other   UnknownDhcpOption   kept opaque (§16: unknown options are ignored)
======  ==================  ==========================================================

Message types (:class:`DhcpMessageType`): Solicit 1, Advertise 2, Request 3, Confirm 4,
Renew 5, Rebind 6, Reply 7, Release 8, Decline 9 (§7.3). :func:`decode_dhcpv6` raises only
:class:`~.errors.MalformedPacket`; relay messages (types 12, 13) are refused (no relays here).
Lifetimes are seconds; 0xFFFFFFFF is infinity and kept as that integer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from .errors import MalformedPacket

_O = TypeVar("_O")

#: RFC 8415 §7.2: UDP ports.
CLIENT_PORT = 546
SERVER_PORT = 547
#: RFC 8415 §7.1: All_DHCP_Relay_Agents_and_Servers (link-scoped multicast).
ALL_DHCP_RELAY_AGENTS_AND_SERVERS = IPv6Address("ff02::1:2")
#: RFC 8415 §7.7: the infinite lifetime.
INFINITY = 0xFFFFFFFF


class DhcpMessageType(IntEnum):
    """RFC 8415 §7.3 message types (the client-server ones)."""

    SOLICIT = 1
    ADVERTISE = 2
    REQUEST = 3
    CONFIRM = 4
    RENEW = 5
    REBIND = 6
    REPLY = 7
    RELEASE = 8
    DECLINE = 9


class DhcpStatus(IntEnum):
    """RFC 8415 §21.13 status codes."""

    SUCCESS = 0
    UNSPEC_FAIL = 1
    NO_ADDRS_AVAIL = 2
    NO_BINDING = 3
    NOT_ON_LINK = 4
    USE_MULTICAST = 5


def duid_ll(mac: bytes) -> bytes:
    """DUID-LL (RFC 8415 §11.4): type 3, hardware type 1 (Ethernet), the link-layer address."""
    return struct.pack("!HH", 3, 1) + mac


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} must be 0..2**32-1, got {value}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientIdentifier:
    """Client Identifier option, code 1 (§21.2): the client's DUID."""

    CODE: ClassVar[int] = 1
    duid: bytes

    def __post_init__(self) -> None:
        if not 1 <= len(self.duid) <= 130:
            raise ValueError("a DUID is 1..130 octets (RFC 8415 §11.1)")

    def _data(self) -> bytes:
        return self.duid


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerIdentifier:
    """Server Identifier option, code 2 (§21.3): the server's DUID."""

    CODE: ClassVar[int] = 2
    duid: bytes

    def __post_init__(self) -> None:
        if not 1 <= len(self.duid) <= 130:
            raise ValueError("a DUID is 1..130 octets (RFC 8415 §11.1)")

    def _data(self) -> bytes:
        return self.duid


@dataclass(frozen=True, kw_only=True, slots=True)
class IAAddress:
    """IA Address option, code 5 (§21.6), inside an IA_NA."""

    CODE: ClassVar[int] = 5
    address: IPv6Address
    preferred_lifetime: int
    valid_lifetime: int
    options: tuple[DhcpOption, ...] = ()

    def __post_init__(self) -> None:
        _check_u32("preferred_lifetime", self.preferred_lifetime)
        _check_u32("valid_lifetime", self.valid_lifetime)

    def _data(self) -> bytes:
        return (self.address.packed + struct.pack("!II", self.preferred_lifetime,
                                                  self.valid_lifetime)
                + encode_options(self.options))


@dataclass(frozen=True, kw_only=True, slots=True)
class IANA:
    """Identity Association for Non-temporary Addresses, code 3 (§21.4)."""

    CODE: ClassVar[int] = 3
    iaid: int
    t1: int = 0
    t2: int = 0
    options: tuple[DhcpOption, ...] = ()

    def __post_init__(self) -> None:
        for name in ("iaid", "t1", "t2"):
            _check_u32(name, getattr(self, name))

    def _data(self) -> bytes:
        return struct.pack("!III", self.iaid, self.t1, self.t2) + encode_options(self.options)

    @property
    def addresses(self) -> tuple[IAAddress, ...]:
        """The IA Address options it carries."""
        return tuple(o for o in self.options if isinstance(o, IAAddress))

    @property
    def status(self) -> StatusCode | None:
        """Its Status Code option, if any."""
        return next((o for o in self.options if isinstance(o, StatusCode)), None)


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionRequest:
    """Option Request option, code 6 (§21.7): option codes the client asks for."""

    CODE: ClassVar[int] = 6
    codes: tuple[int, ...] = ()

    def _data(self) -> bytes:
        return b"".join(struct.pack("!H", c) for c in self.codes)


@dataclass(frozen=True, kw_only=True, slots=True)
class Preference:
    """Preference option, code 7 (§21.8): 255 tells the client to take this server at once."""

    CODE: ClassVar[int] = 7
    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 255:
            raise ValueError("preference must be 0..255")

    def _data(self) -> bytes:
        return bytes([self.value])


@dataclass(frozen=True, kw_only=True, slots=True)
class ElapsedTime:
    """Elapsed Time option, code 8 (§21.9): seconds since the exchange began (hundredths on
    the wire, 0xFFFF for 655.35 s or more)."""

    CODE: ClassVar[int] = 8
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("elapsed time must be >= 0")

    def _data(self) -> bytes:
        return struct.pack("!H", min(round(self.seconds * 100), 0xFFFF))


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusCode:
    """Status Code option, code 13 (§21.13): a code and a UTF-8 message."""

    CODE: ClassVar[int] = 13
    code: int
    message: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 0xFFFF:
            raise ValueError("status code must be 0..65535")

    def _data(self) -> bytes:
        return struct.pack("!H", self.code) + self.message.encode()


@dataclass(frozen=True, kw_only=True, slots=True)
class RapidCommit:
    """Rapid Commit option, code 14 (§21.14), no data."""

    CODE: ClassVar[int] = 14

    def _data(self) -> bytes:
        return b""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownDhcpOption:
    """An option this module does not interpret, kept opaque."""

    code: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 0xFFFF or len(self.data) > 0xFFFF:
            raise ValueError("option code must be 0..65535 and data at most 65535 octets")

    def _data(self) -> bytes:
        return self.data


DhcpOption = (ClientIdentifier | ServerIdentifier | IANA | IAAddress | OptionRequest
              | Preference | ElapsedTime | StatusCode | RapidCommit | UnknownDhcpOption)


@dataclass(frozen=True, kw_only=True, slots=True)
class Dhcpv6Message:
    """A client-server DHCPv6 message (§8)."""

    msg_type: int
    transaction_id: int
    options: tuple[DhcpOption, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.msg_type <= 255 or self.msg_type in (12, 13):
            raise ValueError("msg_type must be a client-server message type")
        if not 0 <= self.transaction_id <= 0xFFFFFF:
            raise ValueError("transaction_id is 24 bits")

    def option(self, kind: type[_O]) -> _O | None:
        """The first option of class ``kind``, or None."""
        return next((o for o in self.options if isinstance(o, kind)), None)


def encode_options(options: tuple[DhcpOption, ...]) -> bytes:
    """Options in order, each ``code | len | data`` (§21.1)."""
    out = bytearray()
    for option in options:
        data = option._data()
        code = option.code if isinstance(option, UnknownDhcpOption) else option.CODE
        if len(data) > 0xFFFF:
            raise ValueError("DHCPv6 option longer than 65535 octets")
        out += struct.pack("!HH", code, len(data)) + data
    return bytes(out)


def encode_dhcpv6(message: Dhcpv6Message) -> bytes:
    """The UDP payload of ``message`` (§8)."""
    return (bytes([message.msg_type]) + message.transaction_id.to_bytes(3, "big")
            + encode_options(message.options))


def decode_dhcpv6(data: bytes) -> Dhcpv6Message:
    """Decode a client-server DHCPv6 message; raises :class:`MalformedPacket`."""
    if len(data) < 4:
        raise MalformedPacket("DHCPv6 message shorter than 4 octets", len(data))
    msg_type = data[0]
    if msg_type in (0, 12, 13):
        raise MalformedPacket(f"DHCPv6 message type {msg_type} is not a client-server one", 0)
    return Dhcpv6Message(msg_type=msg_type, transaction_id=int.from_bytes(data[1:4], "big"),
                         options=_decode_options(data, 4, len(data)))


def _decode_options(data: bytes, start: int, end: int) -> tuple[DhcpOption, ...]:
    options: list[DhcpOption] = []
    offset = start
    while offset < end:
        if end - offset < 4:
            raise MalformedPacket("DHCPv6 option header truncated", offset)
        code, length = struct.unpack_from("!HH", data, offset)
        body = offset + 4
        if body + length > end:
            raise MalformedPacket(f"DHCPv6 option {code} longer than its container", offset + 2)
        options.append(_decode_option(code, data, body, body + length))
        offset = body + length
    return tuple(options)


def _decode_option(code: int, data: bytes, start: int, end: int) -> DhcpOption:
    value = data[start:end]
    try:
        if code == ClientIdentifier.CODE:
            return ClientIdentifier(duid=value)
        if code == ServerIdentifier.CODE:
            return ServerIdentifier(duid=value)
        if code == IANA.CODE:
            if len(value) < 12:
                raise MalformedPacket("IA_NA shorter than 12 octets", start)
            iaid, t1, t2 = struct.unpack_from("!III", value)
            return IANA(iaid=iaid, t1=t1, t2=t2,
                        options=_decode_options(data, start + 12, end))
        if code == IAAddress.CODE:
            if len(value) < 24:
                raise MalformedPacket("IA Address shorter than 24 octets", start)
            preferred, valid = struct.unpack_from("!II", value, 16)
            return IAAddress(address=IPv6Address(value[:16]), preferred_lifetime=preferred,
                             valid_lifetime=valid, options=_decode_options(data, start + 24, end))
        if code == OptionRequest.CODE:
            if len(value) % 2:
                raise MalformedPacket("Option Request of odd length", start)
            return OptionRequest(codes=tuple(struct.unpack(f"!{len(value) // 2}H", value)))
        if code == Preference.CODE:
            if len(value) != 1:
                raise MalformedPacket("Preference option is not 1 octet", start)
            return Preference(value=value[0])
        if code == ElapsedTime.CODE:
            if len(value) != 2:
                raise MalformedPacket("Elapsed Time option is not 2 octets", start)
            return ElapsedTime(seconds=int.from_bytes(value, "big") / 100)
        if code == StatusCode.CODE:
            if len(value) < 2:
                raise MalformedPacket("Status Code option shorter than 2 octets", start)
            return StatusCode(code=int.from_bytes(value[:2], "big"),
                              message=value[2:].decode("utf-8", errors="replace"))
        if code == RapidCommit.CODE:
            if value:
                raise MalformedPacket("Rapid Commit option carries data", start)
            return RapidCommit()
    except ValueError as exc:
        if isinstance(exc, MalformedPacket):
            raise
        raise MalformedPacket(f"DHCPv6 option {code}: {exc}", start) from None
    return UnknownDhcpOption(code=code, data=value)
