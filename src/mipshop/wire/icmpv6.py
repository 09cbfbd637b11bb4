"""ICMPv6 messages: Neighbor Discovery, Mobile IPv6, FMIPv6 and the few error/echo types we use.

Every message starts ``Type (8) | Code (8) | Checksum (16)`` (RFC 4443 §2.1).
:func:`encode_icmpv6` writes the checksum as zero at :data:`ICMPV6_CHECKSUM_OFFSET`; the packet
codec (:mod:`.ipv6`) fills it in over the pseudo-header and checks it on receipt, so
:func:`decode_icmpv6` ignores the value.

=========  ======================================  ============================================
Type       Class                                   Source
=========  ======================================  ============================================
1          :class:`DestinationUnreachable`         RFC 4443 §3.1
2          :class:`PacketTooBig`                   RFC 4443 §3.2 (tunnel PMTU, RFC 2473 §7)
3          :class:`TimeExceeded`                   RFC 4443 §3.3
4          :class:`ParameterProblem`               RFC 4443 §3.4
128, 129   :class:`EchoRequest`, :class:`EchoReply`  RFC 4443 §4
133        :class:`RouterSolicitation`             RFC 4861 §4.1
134        :class:`RouterAdvertisement` (with H)   RFC 4861 §4.2, RFC 6275 §7.1, RFC 4191 §2.2
135        :class:`NeighborSolicitation`           RFC 4861 §4.3
136        :class:`NeighborAdvertisement` (+UNA)   RFC 4861 §4.4, RFC 5568 §6.3
144, 145   DHAAD Request / Reply                   RFC 6275 §6.5, §6.6 (R flag: RFC 3963 §7)
146, 147   Mobile Prefix Solicitation / Adv.       RFC 6275 §6.7, §6.8
154 / 2    :class:`RouterSolicitationForProxy`     RFC 5568 §6.1.1 (RtSolPr)
154 / 3    :class:`ProxyRouterAdvertisement`       RFC 5568 §6.1.2 (PrRtAdv)
154 / 4    :class:`IcmpHandoverInitiate`           RFC 5268 §6.2.1 (deprecated by RFC 5568 §11)
154 / 5    :class:`IcmpHandoverAcknowledge`        RFC 5268 §6.2.2 (deprecated by RFC 5568 §11)
other      :class:`UnknownICMPv6` (opaque)         any other type, or type 154 subtype
=========  ======================================  ============================================

Decisions:

- Every message has a ``code`` field, a plain int 0..255, so that whatever a peer sent
  round-trips; ND receivers that must drop a non-zero code (RFC 4861 §6.1) do so in the
  protocol layer.
- Reserved fields are written as zero and ignored on receipt.
- Router Advertisement times are seconds in the model: Router Lifetime is whole seconds on the
  wire; Reachable Time and Retrans Timer are milliseconds (RFC 4861 §4.2), so encoding rounds
  to the millisecond. ``preference`` is the RFC 4191 §2.1 Prf value: 1 high, 0 medium, -1 low
  and 2 for the reserved pattern ``10`` (kept so that it round-trips; RFC 4191 §2.2 says a
  receiver treats it as medium).
- The DHAAD messages carry the NEMO Mobile Router flag (R, 0x8000 of the Reserved word,
  RFC 3963 §7.1-§7.2) as ``mobile_router``. It is 0 for plain Mobile IPv6; scapy sets it by
  default.
- The Mobile Prefix Solicitation may carry ND-format options (RFC 6275 §6.7), so it has
  ``options``.
- The deprecated ICMP forms of HI and HAck (RFC 5268) are decoded and encoded so that old
  captures round-trip; RFC 5568 moved both to Mobility Header types 14 and 15.
- Link-layer address options are decoded with ``lla_length`` octets of address (default 6),
  see :mod:`.nd_options`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv6Address
from typing import ClassVar

from .errors import MalformedPacket
from .nd_options import (
    DEFAULT_LLA_LENGTH,
    NDOption,
    TargetLinkLayerAddress,
    address_from_bytes,
    check_lla_length,
    decode_options_at,
    encode_nd_options,
    fast_builder,
    packed_address,
)

__all__ = [
    "ICMPV6_CHECKSUM_OFFSET",
    "DestinationUnreachable",
    "EchoReply",
    "EchoRequest",
    "FMIPv6Subtype",
    "HomeAgentAddressDiscoveryReply",
    "HomeAgentAddressDiscoveryRequest",
    "ICMPv6Message",
    "ICMPv6Type",
    "IcmpHandoverAcknowledge",
    "IcmpHandoverInitiate",
    "MobilePrefixAdvertisement",
    "MobilePrefixSolicitation",
    "NeighborAdvertisement",
    "NeighborSolicitation",
    "PacketTooBig",
    "ParameterProblem",
    "PrRtAdvCode",
    "ProxyRouterAdvertisement",
    "RouterAdvertisement",
    "RouterPreference",
    "RouterSolicitation",
    "RouterSolicitationForProxy",
    "TimeExceeded",
    "UnknownICMPv6",
    "decode_icmpv6",
    "encode_icmpv6",
    "new_neighbor_advertisement",
]

#: Offset of the 16-bit checksum in every ICMPv6 message (RFC 4443 §2.1).
ICMPV6_CHECKSUM_OFFSET = 2


class ICMPv6Type(IntEnum):
    """ICMPv6 types handled here (IANA "ICMPv6 'type' Numbers")."""

    DESTINATION_UNREACHABLE = 1
    PACKET_TOO_BIG = 2
    TIME_EXCEEDED = 3
    PARAMETER_PROBLEM = 4
    ECHO_REQUEST = 128
    ECHO_REPLY = 129
    ROUTER_SOLICITATION = 133
    ROUTER_ADVERTISEMENT = 134
    NEIGHBOR_SOLICITATION = 135
    NEIGHBOR_ADVERTISEMENT = 136
    REDIRECT = 137
    HOME_AGENT_ADDRESS_DISCOVERY_REQUEST = 144
    HOME_AGENT_ADDRESS_DISCOVERY_REPLY = 145
    MOBILE_PREFIX_SOLICITATION = 146
    MOBILE_PREFIX_ADVERTISEMENT = 147
    EXPERIMENTAL_MOBILITY = 150  # RFC 4065; RFC 4068's FMIPv6 messages used it
    FMIPV6 = 154  # RFC 5568 §6.1, RFC 5268


class FMIPv6Subtype(IntEnum):
    """Subtype of ICMPv6 type 154 (RFC 5568 §11; 4 and 5 deprecated, RFC 5268 §6.2)."""

    RTSOLPR = 2
    PRRTADV = 3
    HI = 4
    HACK = 5


class PrRtAdvCode(IntEnum):
    """Code of the Proxy Router Advertisement (RFC 5568 §6.1.2)."""

    TUPLES = 0  # use the [AP-ID, AR-Info] tuples
    NETWORK_INITIATED = 1  # unsolicited handover trigger
    NO_NEW_ROUTER_INFO = 2
    PARTIAL = 3  # information for a subset of the requested APs
    UNSOLICITED_INFO = 4  # neighbourhood information, not a trigger
    DHCP = 5  # use the information for movement detection; run DHCP on the NAR link


class RouterPreference(IntEnum):
    """Default Router Preference of an RA (RFC 4191 §2.1), as the model stores it."""

    LOW = -1
    MEDIUM = 0
    HIGH = 1
    RESERVED = 2  # the "10" pattern: MUST NOT be sent, treated as medium on receipt


# Prf model value -> the two bits at 0x18 of the RA flags byte, and back (RFC 4191 §2.2).
_PRF_TO_BITS = {1: 0x08, 0: 0x00, -1: 0x18, 2: 0x10}
_BITS_TO_PRF = {0x08: 1, 0x00: 0, 0x18: -1, 0x10: 2}

# Layouts, network byte order; "x" is Reserved or Unused.
_HDR = struct.Struct("!BBH")  # Type, Code, Checksum
_HDR_U32 = struct.Struct("!BBHI")  # + a 32-bit word (MTU, pointer, unused)
_HDR_2U16 = struct.Struct("!BBHHH")  # + two 16-bit words (identifier/seq, flags)
_RA = struct.Struct("!BBHBBHII")  # RFC 4861 §4.2: 16 bytes
_NS = struct.Struct("!BBH4x16s")  # RFC 4861 §4.3: 24 bytes
_NA = struct.Struct("!BBHB3x16s")  # RFC 4861 §4.4: 24 bytes
_FMIP = struct.Struct("!BBHBBH")  # RFC 5568 §6.1: Type Code Checksum Subtype Reserved Id

_RA_M = 0x80
_RA_O = 0x40
_RA_H = 0x20  # RFC 6275 §7.1
_RA_PRF = 0x18  # RFC 4191 §2.2
_NA_R = 0x80
_NA_S = 0x40
_NA_O = 0x20
_DHAAD_R = 0x8000  # RFC 3963 §7.1
_MPA_M = 0x8000
_MPA_O = 0x4000
_HI_S = 0x80  # RFC 5268 §6.2.1
_HI_U = 0x40

_MS_LIMIT = 0xFFFFFFFF + 0.5
_packed = packed_address


def _require_address(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is an :class:`IPv6Address`."""
    if not isinstance(value, IPv6Address):
        raise ValueError(f"{name} must be an IPv6Address, not {type(value).__name__}")


def _require_bytes(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is ``bytes``."""
    if not isinstance(value, bytes):
        raise ValueError(f"{name} must be bytes, not {type(value).__name__}")


def _check_options(message: object) -> None:
    """Make ``message.options`` a tuple (lists are accepted at construction)."""
    options = message.options  # type: ignore[attr-defined]
    if type(options) is not tuple:
        object.__setattr__(message, "options", tuple(options))


def _check_code_and_identifier(code: int, identifier: int) -> None:
    """Range-check a ``code`` (uint8) and an ``identifier`` (uint16)."""
    if not 0 <= code <= 255:
        raise ValueError(f"code must be 0..255, got {code}")
    if not 0 <= identifier <= 0xFFFF:
        raise ValueError(f"identifier must be 0..65535, got {identifier}")


# ---------------------------------------------------------------------------------------------
# RFC 4443 errors and echo


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationUnreachable:
    """Destination Unreachable, type 1 (RFC 4443 §3.1): ``Unused (32)`` then the invoking packet.

    ``invoking_packet`` is "as much of invoking packet as possible", kept as bytes.
    """

    ICMP_TYPE: ClassVar[int] = 1
    NAME: ClassVar[str] = "destination_unreachable"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    invoking_packet: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 255:
            raise ValueError(f"code must be 0..255, got {self.code}")
        _require_bytes("invoking_packet", self.invoking_packet)

    def _encode(self) -> bytes:
        return _HDR_U32.pack(1, self.code, 0, 0) + self.invoking_packet


@dataclass(frozen=True, kw_only=True, slots=True)
class PacketTooBig:
    """Packet Too Big, type 2 (RFC 4443 §3.2): the next-hop ``mtu`` then the invoking packet."""

    ICMP_TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "packet_too_big"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    mtu: int
    invoking_packet: bytes = b""

    def __post_init__(self) -> None:
        if not (0 <= self.code <= 255 and 0 <= self.mtu <= 0xFFFFFFFF):
            raise ValueError("code must be 0..255 and mtu 0..0xFFFFFFFF")
        _require_bytes("invoking_packet", self.invoking_packet)

    def _encode(self) -> bytes:
        return _HDR_U32.pack(2, self.code, 0, self.mtu) + self.invoking_packet


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeExceeded:
    """Time Exceeded, type 3 (RFC 4443 §3.3): ``Unused (32)`` then the invoking packet."""

    ICMP_TYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "time_exceeded"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    invoking_packet: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 255:
            raise ValueError(f"code must be 0..255, got {self.code}")
        _require_bytes("invoking_packet", self.invoking_packet)

    def _encode(self) -> bytes:
        return _HDR_U32.pack(3, self.code, 0, 0) + self.invoking_packet


@dataclass(frozen=True, kw_only=True, slots=True)
class ParameterProblem:
    """Parameter Problem, type 4 (RFC 4443 §3.4).

    ``pointer`` is the offset in the invoking packet of the offending octet; RFC 6275 §9.2 and
    §6.1.1 use code 0 with a pointer at an unrecognised MH Type or a bad Payload Proto.
    """

    ICMP_TYPE: ClassVar[int] = 4
    NAME: ClassVar[str] = "parameter_problem"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    pointer: int
    invoking_packet: bytes = b""

    def __post_init__(self) -> None:
        if not (0 <= self.code <= 255 and 0 <= self.pointer <= 0xFFFFFFFF):
            raise ValueError("code must be 0..255 and pointer 0..0xFFFFFFFF")
        _require_bytes("invoking_packet", self.invoking_packet)

    def _encode(self) -> bytes:
        return _HDR_U32.pack(4, self.code, 0, self.pointer) + self.invoking_packet


@dataclass(frozen=True, kw_only=True, slots=True)
class _Echo:
    """Shared body of Echo Request and Echo Reply (RFC 4443 §4)."""

    ICMP_TYPE: ClassVar[int] = 0

    code: int = 0
    identifier: int = 0
    sequence: int = 0
    data: bytes = b""

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        if not 0 <= self.sequence <= 0xFFFF:
            raise ValueError(f"sequence must be 0..65535, got {self.sequence}")
        _require_bytes("data", self.data)

    def _encode(self) -> bytes:
        return (
            _HDR_2U16.pack(self.ICMP_TYPE, self.code, 0, self.identifier, self.sequence) + self.data
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class EchoRequest(_Echo):
    """Echo Request, type 128 (RFC 4443 §4.1): identifier, sequence number, data."""

    ICMP_TYPE: ClassVar[int] = 128
    NAME: ClassVar[str] = "echo_request"
    FLAGS: ClassVar[dict[str, str]] = {}


@dataclass(frozen=True, kw_only=True, slots=True)
class EchoReply(_Echo):
    """Echo Reply, type 129 (RFC 4443 §4.2); same fields as :class:`EchoRequest`."""

    ICMP_TYPE: ClassVar[int] = 129
    NAME: ClassVar[str] = "echo_reply"
    FLAGS: ClassVar[dict[str, str]] = {}


# ---------------------------------------------------------------------------------------------
# Neighbor Discovery (RFC 4861 §4) with the Mobile IPv6 changes (RFC 6275 §7)


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterSolicitation:
    """Router Solicitation, type 133 (RFC 4861 §4.1): ``Reserved (32)`` then options."""

    ICMP_TYPE: ClassVar[int] = 133
    NAME: ClassVar[str] = "router_solicitation"
    FLAGS: ClassVar[dict[str, str]] = {}

    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 255:
            raise ValueError(f"code must be 0..255, got {self.code}")
        _check_options(self)

    def _encode(self) -> bytes:
        return _HDR_U32.pack(133, self.code, 0, 0) + encode_nd_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterAdvertisement:
    """Router Advertisement, type 134 (RFC 4861 §4.2, H flag RFC 6275 §7.1, Prf RFC 4191 §2.2).

    Flags byte: M 0x80, O 0x40, H 0x20 (home agent), Prf 0x18. ``router_lifetime`` is whole
    seconds (uint16); ``reachable_time`` and ``retrans_timer`` are seconds in the model and
    milliseconds (uint32) on the wire, 0 meaning unspecified. ``preference`` is a
    :class:`RouterPreference` value (-1, 0, 1, or 2 for the reserved pattern).
    """

    ICMP_TYPE: ClassVar[int] = 134
    NAME: ClassVar[str] = "router_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {"managed": "M", "other": "O", "home_agent": "H"}

    cur_hop_limit: int = 64
    managed: bool = False
    other: bool = False
    home_agent: bool = False
    preference: int = 0
    router_lifetime: int = 1800
    reachable_time: float = 0.0
    retrans_timer: float = 0.0
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.cur_hop_limit <= 255 and 0 <= self.code <= 255):
            raise ValueError("cur_hop_limit and code must be 0..255")
        if self.preference not in _PRF_TO_BITS:
            raise ValueError(
                f"preference must be -1, 0, 1 or 2 (reserved), got {self.preference!r}"
            )
        if not 0 <= self.router_lifetime <= 0xFFFF:
            raise ValueError(f"router_lifetime must be 0..65535 s, got {self.router_lifetime}")
        if not (
            0 <= self.reachable_time * 1000 < _MS_LIMIT
            and 0 <= self.retrans_timer * 1000 < _MS_LIMIT
        ):
            raise ValueError("reachable_time and retrans_timer must fit uint32 milliseconds")
        _check_options(self)

    def _encode(self) -> bytes:
        flags = (
            (_RA_M if self.managed else 0)
            | (_RA_O if self.other else 0)
            | (_RA_H if self.home_agent else 0)
            | _PRF_TO_BITS[self.preference]
        )
        return _RA.pack(
            134,
            self.code,
            0,
            self.cur_hop_limit,
            flags,
            self.router_lifetime,
            round(self.reachable_time * 1000),
            round(self.retrans_timer * 1000),
        ) + encode_nd_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class NeighborSolicitation:
    """Neighbor Solicitation, type 135 (RFC 4861 §4.3): ``Reserved (32)``, target, options."""

    ICMP_TYPE: ClassVar[int] = 135
    NAME: ClassVar[str] = "neighbor_solicitation"
    FLAGS: ClassVar[dict[str, str]] = {}

    target: IPv6Address
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 255:
            raise ValueError(f"code must be 0..255, got {self.code}")
        _require_address("target", self.target)
        _check_options(self)

    def _encode(self) -> bytes:
        return _NS.pack(135, self.code, 0, _packed(self.target)) + encode_nd_options(self.options)


@dataclass(frozen=True, kw_only=True, slots=True)
class NeighborAdvertisement:
    """Neighbor Advertisement, type 136 (RFC 4861 §4.4): flags R 0x80, S 0x40, O 0x20.

    The FMIPv6 Unsolicited Neighbor Advertisement (UNA, RFC 5568 §6.3) is this message with
    R = S = O = 0; build it with :meth:`unsolicited`.
    """

    ICMP_TYPE: ClassVar[int] = 136
    NAME: ClassVar[str] = "neighbor_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {"router": "R", "solicited": "S", "override": "O"}

    router: bool = False
    solicited: bool = False
    override: bool = False
    target: IPv6Address
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 255:
            raise ValueError(f"code must be 0..255, got {self.code}")
        _require_address("target", self.target)
        _check_options(self)

    @classmethod
    def unsolicited(
        cls, *, target: IPv6Address, link_layer_address: bytes
    ) -> NeighborAdvertisement:
        """The FMIPv6 UNA (RFC 5568 §6.3) for the new CoA ``target``.

        R = S = O = 0 ("the 'O' bit is always set to zero", unsolicited, sent by an MN), and a
        Target Link-layer Address option with the MN's ``link_layer_address``. The packet goes
        from the NCoA to all-nodes (or the NAR) with hop limit 255; that is the caller's part.
        """
        return cls(
            router=False,
            solicited=False,
            override=False,
            target=target,
            options=(TargetLinkLayerAddress(address=link_layer_address),),
        )

    @property
    def is_una(self) -> bool:
        """True when R, S and O are all clear, as in an FMIPv6 UNA (RFC 5568 §6.3)."""
        return not (self.router or self.solicited or self.override)

    @property
    def target_link_layer_address(self) -> bytes | None:
        """The link-layer address of the Target Link-Layer Address option (RFC 4861 §4.4),
        None without one."""
        return next((o.address for o in self.options if isinstance(o, TargetLinkLayerAddress)),
                    None)

    def _encode(self) -> bytes:
        flags = (
            (_NA_R if self.router else 0)
            | (_NA_S if self.solicited else 0)
            | (_NA_O if self.override else 0)
        )
        return _NA.pack(136, self.code, 0, flags, _packed(self.target)) + encode_nd_options(
            self.options
        )


# ---------------------------------------------------------------------------------------------
# Mobile IPv6 ICMP messages (RFC 6275 §6.5-§6.8)


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeAgentAddressDiscoveryRequest:
    """Home Agent Address Discovery Request, type 144 (RFC 6275 §6.5).

    ``mobile_router`` is the NEMO R flag (RFC 3963 §7.1), 0 for a Mobile IPv6 node.
    """

    ICMP_TYPE: ClassVar[int] = 144
    NAME: ClassVar[str] = "home_agent_address_discovery_request"
    FLAGS: ClassVar[dict[str, str]] = {"mobile_router": "R"}

    identifier: int
    mobile_router: bool = False
    code: int = 0

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)

    def _encode(self) -> bytes:
        return _HDR_2U16.pack(
            144, self.code, 0, self.identifier, _DHAAD_R if self.mobile_router else 0
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeAgentAddressDiscoveryReply:
    """Home Agent Address Discovery Reply, type 145 (RFC 6275 §6.6).

    ``home_agents`` in the order sent (decreasing preference, RFC 6275 §10.5.1); their number
    comes from the message length, so the body after the 8-byte header must be a multiple of
    16 octets.
    """

    ICMP_TYPE: ClassVar[int] = 145
    NAME: ClassVar[str] = "home_agent_address_discovery_reply"
    FLAGS: ClassVar[dict[str, str]] = {"mobile_router": "R"}

    identifier: int
    home_agents: tuple[IPv6Address, ...] = ()
    mobile_router: bool = False
    code: int = 0

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        if type(self.home_agents) is not tuple:
            object.__setattr__(self, "home_agents", tuple(self.home_agents))
        for address in self.home_agents:
            _require_address("home_agents entry", address)

    def _encode(self) -> bytes:
        return _HDR_2U16.pack(
            145, self.code, 0, self.identifier, _DHAAD_R if self.mobile_router else 0
        ) + b"".join([_packed(address) for address in self.home_agents])


@dataclass(frozen=True, kw_only=True, slots=True)
class MobilePrefixSolicitation:
    """Mobile Prefix Solicitation, type 146 (RFC 6275 §6.7).

    "may have options ... in the format defined in Neighbor Discovery"; none is defined, so
    ``options`` is normally empty.
    """

    ICMP_TYPE: ClassVar[int] = 146
    NAME: ClassVar[str] = "mobile_prefix_solicitation"
    FLAGS: ClassVar[dict[str, str]] = {}

    identifier: int
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        return _HDR_2U16.pack(146, self.code, 0, self.identifier, 0) + encode_nd_options(
            self.options
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class MobilePrefixAdvertisement:
    """Mobile Prefix Advertisement, type 147 (RFC 6275 §6.8): M 0x8000, O 0x4000, options.

    The options are one or more (modified, RFC 6275 §7.2) Prefix Information options.
    """

    ICMP_TYPE: ClassVar[int] = 147
    NAME: ClassVar[str] = "mobile_prefix_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {"managed": "M", "other": "O"}

    identifier: int
    managed: bool = False
    other: bool = False
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        flags = (_MPA_M if self.managed else 0) | (_MPA_O if self.other else 0)
        return _HDR_2U16.pack(147, self.code, 0, self.identifier, flags) + encode_nd_options(
            self.options
        )


# ---------------------------------------------------------------------------------------------
# FMIPv6, ICMPv6 type 154 (RFC 5568 §6.1; RFC 5268 §6.2 for the deprecated HI/HAck)


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterSolicitationForProxy:
    """RtSolPr, type 154 subtype 2 (RFC 5568 §6.1.1).

    Options: the source's LLA (option 19 code 4) and one or more New AP LLAs (code 1), or a
    single wildcard (code 0).
    """

    ICMP_TYPE: ClassVar[int] = 154
    SUBTYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "router_solicitation_for_proxy_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {}

    identifier: int
    options: tuple[NDOption, ...] = ()
    code: int = 0

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        return _FMIP.pack(154, self.code, 0, 2, 0, self.identifier) + encode_nd_options(
            self.options
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ProxyRouterAdvertisement:
    """PrRtAdv, type 154 subtype 3 (RFC 5568 §6.1.2).

    ``code`` is a :class:`PrRtAdvCode` value (0-5) kept as a plain int. ``identifier`` is
    copied from the RtSolPr, or 0 when unsolicited.
    """

    ICMP_TYPE: ClassVar[int] = 154
    SUBTYPE: ClassVar[int] = 3
    NAME: ClassVar[str] = "proxy_router_advertisement"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    identifier: int = 0
    options: tuple[NDOption, ...] = ()

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        return _FMIP.pack(154, self.code, 0, 3, 0, self.identifier) + encode_nd_options(
            self.options
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class IcmpHandoverInitiate:
    """Handover Initiate in its deprecated ICMP form, type 154 subtype 4 (RFC 5268 §6.2.1).

    ``Subtype | S U Reserved(6) | Identifier``; S (0x80) = assigned address configuration,
    U (0x40) = buffer. Code 0 or 1. RFC 5568 replaced it by the Mobility Header HI (type 14).
    """

    ICMP_TYPE: ClassVar[int] = 154
    SUBTYPE: ClassVar[int] = 4
    NAME: ClassVar[str] = "icmp_handover_initiate"
    FLAGS: ClassVar[dict[str, str]] = {"assigned_address": "S", "buffer": "U"}

    code: int = 0
    identifier: int
    assigned_address: bool = False
    buffer: bool = False
    options: tuple[NDOption, ...] = ()

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        flags = (_HI_S if self.assigned_address else 0) | (_HI_U if self.buffer else 0)
        return _FMIP.pack(154, self.code, 0, 4, flags, self.identifier) + encode_nd_options(
            self.options
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class IcmpHandoverAcknowledge:
    """Handover Acknowledge in its deprecated ICMP form, type 154 subtype 5 (RFC 5268 §6.2.2).

    ``code`` is the HAck result (0 accepted/NCoA valid ... 128-130 not accepted), a plain int.
    RFC 5568 replaced it by the Mobility Header HAck (type 15).
    """

    ICMP_TYPE: ClassVar[int] = 154
    SUBTYPE: ClassVar[int] = 5
    NAME: ClassVar[str] = "icmp_handover_acknowledge"
    FLAGS: ClassVar[dict[str, str]] = {}

    code: int = 0
    identifier: int
    options: tuple[NDOption, ...] = ()

    def __post_init__(self) -> None:
        _check_code_and_identifier(self.code, self.identifier)
        _check_options(self)

    def _encode(self) -> bytes:
        return _FMIP.pack(154, self.code, 0, 5, 0, self.identifier) + encode_nd_options(
            self.options
        )


# ---------------------------------------------------------------------------------------------
# Anything else


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownICMPv6:
    """An ICMPv6 message this module does not interpret, kept opaque.

    ``body`` is everything after the checksum. For type 154 with an unknown subtype the body
    starts with the Subtype octet. ``ICMP_TYPE`` is ``None``; the type is in ``icmp_type``.
    """

    ICMP_TYPE: ClassVar[int | None] = None
    NAME: ClassVar[str] = "unknown_icmpv6"
    FLAGS: ClassVar[dict[str, str]] = {}

    icmp_type: int
    code: int = 0
    body: bytes = b""

    def __post_init__(self) -> None:
        if not (0 <= self.icmp_type <= 255 and 0 <= self.code <= 255):
            raise ValueError("icmp_type and code must be 0..255")
        _require_bytes("body", self.body)

    def _encode(self) -> bytes:
        return _HDR.pack(self.icmp_type, self.code, 0) + self.body


ICMPv6Message = (
    DestinationUnreachable
    | PacketTooBig
    | TimeExceeded
    | ParameterProblem
    | EchoRequest
    | EchoReply
    | RouterSolicitation
    | RouterAdvertisement
    | NeighborSolicitation
    | NeighborAdvertisement
    | HomeAgentAddressDiscoveryRequest
    | HomeAgentAddressDiscoveryReply
    | MobilePrefixSolicitation
    | MobilePrefixAdvertisement
    | RouterSolicitationForProxy
    | ProxyRouterAdvertisement
    | IcmpHandoverInitiate
    | IcmpHandoverAcknowledge
    | UnknownICMPv6
)
"""Any ICMPv6 message class of this module."""


# ---------------------------------------------------------------------------------------------
# Codec


def encode_icmpv6(msg: ICMPv6Message) -> bytes:
    """Encode ``msg`` with a zero checksum (the packet codec fills it in at offset 2)."""
    try:
        return msg._encode()
    except AttributeError:
        if not hasattr(msg, "_encode"):
            raise TypeError(f"not an ICMPv6 message: {type(msg).__name__}") from None
        raise


def decode_icmpv6(data: bytes, *, lla_length: int | None = DEFAULT_LLA_LENGTH) -> ICMPv6Message:
    """Decode one ICMPv6 message filling all of ``data``; the checksum value is not checked.

    ``lla_length`` is the link-layer address length for ND options 1, 2 and 19 (see
    :mod:`.nd_options`; a value outside 1..2037 raises ``ValueError``). Raises only
    :class:`MalformedPacket` on bad bytes, with ``offset`` counted from the start of ``data``.
    """
    if lla_length != DEFAULT_LLA_LENGTH:
        check_lla_length(lla_length)
    if type(data) is not bytes:
        data = bytes(data)
    if len(data) < 4:
        raise MalformedPacket("ICMPv6 header truncated", len(data))
    decoder = _DECODERS.get(data[0])
    if decoder is None:
        return _build_unknown(icmp_type=data[0], code=data[1], body=data[4:])
    # The decoders check every length before they read, and build objects only from values
    # that are valid by construction (see nd_options.fast_builder), so nothing but
    # MalformedPacket can come out of them; the fuzz tests hold them to that.
    return decoder(data, lla_length)


def _need(data: bytes, size: int, what: str) -> None:
    """Raise :class:`MalformedPacket` if ``data`` is shorter than ``size`` bytes."""
    if len(data) < size:
        raise _truncated(data, size, what)


def _truncated(data: bytes, size: int, what: str) -> MalformedPacket:
    """The error for a message shorter than its fixed part (offset: the end of the data)."""
    return MalformedPacket(f"{what} truncated: {len(data)} of {size} bytes", len(data))


_build_dest_unreach = fast_builder(DestinationUnreachable)
_build_packet_too_big = fast_builder(PacketTooBig)
_build_time_exceeded = fast_builder(TimeExceeded)
_build_param_problem = fast_builder(ParameterProblem)
_build_echo_request = fast_builder(EchoRequest)
_build_echo_reply = fast_builder(EchoReply)
_build_rs = fast_builder(RouterSolicitation)
_build_ra = fast_builder(RouterAdvertisement)
_build_ns = fast_builder(NeighborSolicitation)
_build_na = fast_builder(NeighborAdvertisement)
_build_haad_request = fast_builder(HomeAgentAddressDiscoveryRequest)
_build_haad_reply = fast_builder(HomeAgentAddressDiscoveryReply)
_build_mps = fast_builder(MobilePrefixSolicitation)
_build_mpa = fast_builder(MobilePrefixAdvertisement)
_build_rtsolpr = fast_builder(RouterSolicitationForProxy)
_build_prrtadv = fast_builder(ProxyRouterAdvertisement)
_build_hi = fast_builder(IcmpHandoverInitiate)
_build_hack = fast_builder(IcmpHandoverAcknowledge)
_build_unknown = fast_builder(UnknownICMPv6)


def new_neighbor_advertisement(router: bool, solicited: bool, override: bool,
                               target: IPv6Address, options: tuple[NDOption, ...] = ()
                               ) -> NeighborAdvertisement:
    """``NeighborAdvertisement(router=..., solicited=..., override=..., target=...,
    options=...)`` (code 0), with the constructor's checks made inline and no keyword
    ``__init__``: a home agent advertises every home address it starts to defend (RFC 6275
    §10.4.1), one per registration. Equal to the constructed message."""
    if not isinstance(target, IPv6Address):
        _require_address("target", target)
    if options.__class__ is not tuple:
        options = tuple(options)  # as the constructor (lists are accepted)
    return _build_na(router, solicited, override, target, options, 0)
_address = address_from_bytes


def _decode_dest_unreach(data: bytes, _lla: int | None) -> DestinationUnreachable:
    _need(data, 8, "Destination Unreachable")  # RFC 4443 §3.1: Unused (32)
    return _build_dest_unreach(code=data[1], invoking_packet=data[8:])


def _decode_packet_too_big(data: bytes, _lla: int | None) -> PacketTooBig:
    _need(data, 8, "Packet Too Big")  # RFC 4443 §3.2: MTU (32)
    _t, code, _c, mtu = _HDR_U32.unpack_from(data)
    return _build_packet_too_big(code=code, mtu=mtu, invoking_packet=data[8:])


def _decode_time_exceeded(data: bytes, _lla: int | None) -> TimeExceeded:
    _need(data, 8, "Time Exceeded")  # RFC 4443 §3.3: Unused (32)
    return _build_time_exceeded(code=data[1], invoking_packet=data[8:])


def _decode_param_problem(data: bytes, _lla: int | None) -> ParameterProblem:
    _need(data, 8, "Parameter Problem")  # RFC 4443 §3.4: Pointer (32)
    _t, code, _c, pointer = _HDR_U32.unpack_from(data)
    return _build_param_problem(code=code, pointer=pointer, invoking_packet=data[8:])


def _decode_echo(data: bytes, _lla: int | None) -> EchoRequest | EchoReply:
    _need(data, 8, "Echo")  # RFC 4443 §4: Identifier, Sequence Number
    icmp_type, code, _c, identifier, sequence = _HDR_2U16.unpack_from(data)
    build = _build_echo_request if icmp_type == 128 else _build_echo_reply
    return build(code=code, identifier=identifier, sequence=sequence, data=data[8:])


def _decode_rs(data: bytes, lla: int | None) -> RouterSolicitation:
    _need(data, 8, "Router Solicitation")  # RFC 4861 §6.1.1: 8 or more octets
    return _build_rs(options=decode_options_at(data, 8, lla), code=data[1])


# RA flags octet -> (managed, other, home_agent, preference), so that decoding takes one index.
_RA_FLAG_TABLE = tuple(
    (
        (flags & _RA_M) != 0,
        (flags & _RA_O) != 0,
        (flags & _RA_H) != 0,
        _BITS_TO_PRF[flags & _RA_PRF],
    )
    for flags in range(256)
)
_RA_IN = struct.Struct("!xBxxBBHII")  # _RA without the Type and Checksum


def _decode_ra(data: bytes, lla: int | None) -> RouterAdvertisement:
    if len(data) < 16:  # RFC 4861 §6.1.2: 16 or more octets
        raise _truncated(data, 16, "Router Advertisement")
    code, hop_limit, flags, lifetime, reachable, retrans = _RA_IN.unpack_from(data)
    managed, other, home_agent, preference = _RA_FLAG_TABLE[flags]
    # Positional, in field order (hot path): cur_hop_limit, managed, other, home_agent,
    # preference, router_lifetime, reachable_time, retrans_timer, options, code.
    return _build_ra(
        hop_limit,
        managed,
        other,
        home_agent,
        preference,
        lifetime,
        reachable / 1000,
        retrans / 1000,
        decode_options_at(data, 16, lla) if len(data) > 16 else (),
        code,
    )


def _decode_ns(data: bytes, lla: int | None) -> NeighborSolicitation:
    _need(data, 24, "Neighbor Solicitation")  # RFC 4861 §7.1.1: 24 or more octets
    _t, code, _c, target = _NS.unpack_from(data)
    return _build_ns(target=_address(target), options=decode_options_at(data, 24, lla), code=code)


def _decode_na(data: bytes, lla: int | None) -> NeighborAdvertisement:
    _need(data, 24, "Neighbor Advertisement")  # RFC 4861 §7.1.2: 24 or more octets
    _t, code, _c, flags, target = _NA.unpack_from(data)
    return _build_na(
        router=(flags & _NA_R) != 0,
        solicited=(flags & _NA_S) != 0,
        override=(flags & _NA_O) != 0,
        target=_address(target),
        options=decode_options_at(data, 24, lla),
        code=code,
    )


def _decode_haad_request(data: bytes, _lla: int | None) -> HomeAgentAddressDiscoveryRequest:
    _need(data, 8, "Home Agent Address Discovery Request")
    if len(data) != 8:  # RFC 6275 §6.5 defines no options or data after the header
        raise MalformedPacket(
            f"Home Agent Address Discovery Request is 8 bytes, got {len(data)}", 8
        )
    _t, code, _c, identifier, flags = _HDR_2U16.unpack_from(data)
    return _build_haad_request(
        identifier=identifier, mobile_router=(flags & _DHAAD_R) != 0, code=code
    )


def _decode_haad_reply(data: bytes, _lla: int | None) -> HomeAgentAddressDiscoveryReply:
    _need(data, 8, "Home Agent Address Discovery Reply")
    extra = (len(data) - 8) % 16
    if extra:
        # RFC 6275 §6.6: the number of addresses "is indicated by the remaining length".
        raise MalformedPacket(
            f"Home Agent Addresses field is not a multiple of 16 bytes ({extra} left over)",
            len(data) - extra,
        )
    _t, code, _c, identifier, flags = _HDR_2U16.unpack_from(data)
    return _build_haad_reply(
        identifier=identifier,
        home_agents=tuple([_address(data[i : i + 16]) for i in range(8, len(data), 16)]),
        mobile_router=(flags & _DHAAD_R) != 0,
        code=code,
    )


def _decode_mps(data: bytes, lla: int | None) -> MobilePrefixSolicitation:
    _need(data, 8, "Mobile Prefix Solicitation")  # RFC 6275 §6.7
    _t, code, _c, identifier, _r = _HDR_2U16.unpack_from(data)
    return _build_mps(identifier=identifier, options=decode_options_at(data, 8, lla), code=code)


def _decode_mpa(data: bytes, lla: int | None) -> MobilePrefixAdvertisement:
    _need(data, 8, "Mobile Prefix Advertisement")  # RFC 6275 §6.8
    _t, code, _c, identifier, flags = _HDR_2U16.unpack_from(data)
    return _build_mpa(
        identifier=identifier,
        managed=(flags & _MPA_M) != 0,
        other=(flags & _MPA_O) != 0,
        options=decode_options_at(data, 8, lla),
        code=code,
    )


def _decode_fmipv6(data: bytes, lla: int | None) -> ICMPv6Message:
    _need(data, 8, "FMIPv6 message")  # RFC 5568 §6.1: Subtype, Reserved, Identifier
    _t, code, _c, subtype, flags, identifier = _FMIP.unpack_from(data)
    if subtype == 3:
        return _build_prrtadv(
            code=code, identifier=identifier, options=decode_options_at(data, 8, lla)
        )
    if subtype == 2:
        return _build_rtsolpr(
            identifier=identifier, options=decode_options_at(data, 8, lla), code=code
        )
    if subtype == 4:
        return _build_hi(
            code=code,
            identifier=identifier,
            assigned_address=(flags & _HI_S) != 0,
            buffer=(flags & _HI_U) != 0,
            options=decode_options_at(data, 8, lla),
        )
    if subtype == 5:
        return _build_hack(
            code=code, identifier=identifier, options=decode_options_at(data, 8, lla)
        )
    return _build_unknown(icmp_type=154, code=code, body=data[4:])


_DECODERS: dict[int, Callable[[bytes, int | None], ICMPv6Message]] = {
    1: _decode_dest_unreach,
    2: _decode_packet_too_big,
    3: _decode_time_exceeded,
    4: _decode_param_problem,
    128: _decode_echo,
    129: _decode_echo,
    133: _decode_rs,
    134: _decode_ra,
    135: _decode_ns,
    136: _decode_na,
    144: _decode_haad_request,
    145: _decode_haad_reply,
    146: _decode_mps,
    147: _decode_mpa,
    154: _decode_fmipv6,
}
