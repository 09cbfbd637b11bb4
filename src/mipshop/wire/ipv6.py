"""Whole IPv6 packets: header, extension-header chain, payload and upper-layer checksums.

A packet is an :class:`IPv6Packet` whose ``payload`` is a Mobility Header message, an ICMPv6
message, a :class:`UDPDatagram`, another :class:`IPv6Packet` (IPv6-in-IPv6, RFC 2473 §3), a
:class:`RawPayload` for protocols mipshop does not interpret (TCP, ESP, ...) or ``None`` for
Next Header 59. :func:`encode_packet` fills in the payload length, every Next Header field and
the upper-layer checksum; :func:`decode_packet` checks them.

Checksums follow RFC 6275 §6.1.1 and RFC 8200 §8.1: when the packet carries a Home Address
option, the pseudo-header source is the home address; when it carries a Type 2 Routing Header,
the pseudo-header destination is the final destination, the home address in that header.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from .checksum import PROTO_ICMPV6, PROTO_MH, PROTO_UDP, upper_layer_checksum
from .errors import MalformedPacket
from .ext_headers import (
    DESTINATION_OPTIONS,
    HOP_BY_HOP,
    OPAQUE_EXTENSION_HEADERS,
    DestinationOptions,
    ExtensionHeader,
    HomeAddressOption,
    RoutingHeaderType2,
    decode_extension_header,
    encode_extension_header,
    header_type,
    skip_extension_header,
)
from .icmpv6 import ICMPV6_CHECKSUM_OFFSET, ICMPv6Message, decode_icmpv6, encode_icmpv6
from .mh import MH_CHECKSUM_OFFSET, MobilityMessage, decode_mh, encode_mh
from .mh_options import _fast_new

PROTO_IPV6 = 41  # IPv6-in-IPv6 (RFC 2473)
PROTO_NONE = 59  # No Next Header (RFC 8200 §4.7)
UDP_CHECKSUM_OFFSET = 6
_T = TypeVar("_T")

_IPV6 = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
IPV6_HEADER_LENGTH = 40


@dataclass(frozen=True, kw_only=True, slots=True)
class UDPDatagram:
    """A UDP datagram (RFC 768); length and checksum are computed by the packet codec."""

    NAME: ClassVar[str] = "udp"
    FLAGS: ClassVar[dict[str, str]] = {}
    PROTOCOL: ClassVar[int] = PROTO_UDP

    src_port: int
    dst_port: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not (0 <= self.src_port <= 0xFFFF and 0 <= self.dst_port <= 0xFFFF):
            raise ValueError("UDP ports are 0..65535")
        if len(self.data) > 0xFFFF - 8:
            raise ValueError("UDP payload too long")


@dataclass(frozen=True, kw_only=True, slots=True)
class RawPayload:
    """An upper-layer payload mipshop carries but does not interpret (TCP, ESP, ...)."""

    NAME: ClassVar[str] = "raw_payload"
    FLAGS: ClassVar[dict[str, str]] = {}

    protocol: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.protocol <= 255:
            raise ValueError("protocol is 0..255")
        if self.protocol in _INTERPRETED:
            raise ValueError(f"protocol {self.protocol} has its own payload class")


@dataclass(frozen=True, kw_only=True, slots=True)
class IPv6Packet:
    """An IPv6 packet (RFC 8200 §3) with its extension headers and payload."""

    NAME: ClassVar[str] = "ipv6"
    FLAGS: ClassVar[dict[str, str]] = {}

    src: IPv6Address
    dst: IPv6Address
    payload: MobilityMessage | ICMPv6Message | UDPDatagram | IPv6Packet | RawPayload | None
    extension_headers: tuple[ExtensionHeader, ...] = ()
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.src, IPv6Address) or not isinstance(self.dst, IPv6Address):
            raise ValueError("src and dst must be IPv6Address")
        if not 0 <= self.hop_limit <= 255:
            raise ValueError("hop_limit is 0..255")
        if not 0 <= self.traffic_class <= 255:
            raise ValueError("traffic_class is 0..255")
        if not 0 <= self.flow_label <= 0xFFFFF:
            raise ValueError("flow_label is 20 bits")

    @property
    def home_address(self) -> IPv6Address | None:
        """The Home Address option's address (RFC 6275 §6.3), if the packet carries one."""
        for header in self.extension_headers:
            if isinstance(header, DestinationOptions):
                address = header.home_address
                if address is not None:
                    return address
        return None

    @property
    def routing_home_address(self) -> IPv6Address | None:
        """The Type 2 Routing Header's address (RFC 6275 §6.4), if the packet carries one."""
        for header in self.extension_headers:
            if isinstance(header, RoutingHeaderType2):
                return header.home_address
        return None

    def checksum_addresses(self) -> tuple[IPv6Address, IPv6Address]:
        """Pseudo-header (source, destination) for this packet's upper-layer checksum.

        RFC 6275 §6.1.1 / §6.3: the home address replaces the source when a Home Address option
        is present; RFC 8200 §8.1 / RFC 6275 §6.4: the final destination (the Type 2 Routing
        Header's home address) replaces the destination.
        """
        return (self.home_address or self.src, self.routing_home_address or self.dst)


_INTERPRETED = frozenset({PROTO_MH, PROTO_ICMPV6, PROTO_UDP, PROTO_IPV6, PROTO_NONE})
_new_ipv6_packet = _fast_new(IPv6Packet)
_new_udp_datagram = _fast_new(UDPDatagram)


def new_udp_datagram(src_port: int, dst_port: int, data: bytes) -> UDPDatagram:
    """``UDPDatagram(src_port=..., dst_port=..., data=...)`` with the constructor's checks made
    inline and no ``__init__`` (:func:`~.mh_options._fast_new`): a traffic source makes one
    per data packet. Equal to the constructed datagram."""
    if not (0 <= src_port <= 0xFFFF and 0 <= dst_port <= 0xFFFF):
        raise ValueError("UDP ports are 0..65535")
    if len(data) > 0xFFFF - 8:
        raise ValueError("UDP payload too long")
    return _new_udp_datagram(src_port, dst_port, data)


def new_packet(src: IPv6Address, dst: IPv6Address, payload: object,
               extension_headers: tuple[ExtensionHeader, ...] = (), hop_limit: int = 64
               ) -> IPv6Packet:
    """``IPv6Packet(src=..., dst=..., payload=..., extension_headers=..., hop_limit=...)``
    (traffic class and flow label 0), with the constructor's checks made inline and no
    ``__init__`` (:func:`~.mh_options._fast_new`): an agent sends a few packets per message
    it receives. Equal to the constructed packet."""
    if src.__class__ is not IPv6Address or dst.__class__ is not IPv6Address:
        IPv6Packet(src=src, dst=dst, payload=None)  # raises unless both are (subclasses)
    if not 0 <= hop_limit <= 255:
        raise ValueError("hop_limit is 0..255")
    return _new_ipv6_packet(
        src, dst, payload, extension_headers, hop_limit, 0, 0)


def _payload_protocol(payload: object) -> int:
    """Next Header value announcing ``payload``."""
    if payload is None:
        return PROTO_NONE
    if isinstance(payload, IPv6Packet):
        return PROTO_IPV6
    if isinstance(payload, UDPDatagram):
        return PROTO_UDP
    if isinstance(payload, RawPayload):
        return payload.protocol
    if hasattr(payload, "MH_TYPE"):
        return PROTO_MH
    if hasattr(payload, "ICMP_TYPE"):
        return PROTO_ICMPV6
    raise TypeError(f"cannot carry {type(payload).__name__} in an IPv6 packet")


def encode_packet(packet: IPv6Packet, *, fbu_lifetime_unit: int = 4) -> bytes:
    """Encode ``packet`` with its lengths, Next Header chain and upper-layer checksum."""
    payload = packet.payload
    protocol = _payload_protocol(payload)
    if protocol == PROTO_NONE:
        upper = b""
    elif protocol == PROTO_IPV6:
        upper = encode_packet(payload, fbu_lifetime_unit=fbu_lifetime_unit)  # type: ignore[arg-type]
    elif protocol == PROTO_MH:
        upper = _with_checksum(
            packet,
            encode_mh(payload, fbu_lifetime_unit=fbu_lifetime_unit),  # type: ignore[arg-type]
            PROTO_MH,
            MH_CHECKSUM_OFFSET,
        )
    elif protocol == PROTO_ICMPV6:
        upper = _with_checksum(
            packet,
            encode_icmpv6(payload),  # type: ignore[arg-type]
            PROTO_ICMPV6,
            ICMPV6_CHECKSUM_OFFSET,
        )
    elif protocol == PROTO_UDP:
        assert isinstance(payload, UDPDatagram)
        raw = _UDP.pack(payload.src_port, payload.dst_port, 8 + len(payload.data), 0) + payload.data
        upper = _with_checksum(packet, raw, PROTO_UDP, UDP_CHECKSUM_OFFSET)
    else:
        assert isinstance(payload, RawPayload)
        upper = payload.data

    headers = packet.extension_headers
    chain = bytearray()
    for index, header in enumerate(headers):
        following = header_type(headers[index + 1]) if index + 1 < len(headers) else protocol
        chain += encode_extension_header(header, following)
    first = header_type(headers[0]) if headers else protocol
    length = len(chain) + len(upper)
    if length > 0xFFFF:
        raise ValueError("payload longer than 65535 bytes (jumbograms are not supported)")
    word = (6 << 28) | (packet.traffic_class << 20) | packet.flow_label
    return (
        _IPV6.pack(word, length, first, packet.hop_limit, packet.src.packed, packet.dst.packed)
        + chain
        + upper
    )


def packet_length(packet: IPv6Packet) -> int:
    """``len(encode_packet(packet))``, without encoding data: UDP, tunnelled and raw payloads
    are counted from their fields; only Mobility Header and ICMPv6 messages (whose option
    padding is the codec's business) and extension headers are encoded to be measured."""
    length = IPV6_HEADER_LENGTH
    for header in packet.extension_headers:
        length += len(encode_extension_header(header, PROTO_NONE))
    payload = packet.payload
    kind = type(payload)
    if kind is UDPDatagram:
        return length + 8 + len(payload.data)  # type: ignore[union-attr]
    if kind is IPv6Packet:
        return length + packet_length(payload)  # type: ignore[arg-type]
    if payload is None:
        return length
    if kind is RawPayload:
        return length + len(payload.data)  # type: ignore[union-attr]
    if hasattr(payload, "MH_TYPE"):
        return length + len(encode_mh(payload))  # type: ignore[arg-type]
    return length + len(encode_icmpv6(payload))  # type: ignore[arg-type]


def _with_checksum(packet: IPv6Packet, upper: bytes, protocol: int, at: int) -> bytes:
    """Return ``upper`` with its checksum field (at offset ``at``) filled in."""
    src, dst = packet.checksum_addresses()
    checksum = upper_layer_checksum(src, dst, protocol, upper)
    if protocol == PROTO_UDP and checksum == 0:
        checksum = 0xFFFF  # RFC 768 / RFC 8200 §8.1: a computed zero is sent as all ones
    return upper[:at] + checksum.to_bytes(2, "big") + upper[at + 2 :]


def decode_packet(
    data: bytes, *, verify_checksums: bool = True, fbu_lifetime_unit: int = 4
) -> IPv6Packet:
    """Decode one IPv6 packet from ``data``.

    Bytes after the payload length are ignored (link-layer padding). With
    ``verify_checksums`` a wrong upper-layer checksum raises :class:`MalformedPacket` (RFC 6275
    §9.2: the receiver drops such a packet). Raises only :class:`MalformedPacket`.
    """
    return _decode_packet(bytes(data), 0, verify_checksums, fbu_lifetime_unit)


def _decode_packet(data: bytes, base: int, verify: bool, fbu_lifetime_unit: int) -> IPv6Packet:
    """Decode the packet that starts at ``data[base:]`` (offsets in errors count from 0)."""
    if len(data) - base < IPV6_HEADER_LENGTH:
        raise MalformedPacket("IPv6 header truncated", len(data))
    word, length, next_header, hop_limit, src_raw, dst_raw = _IPV6.unpack_from(data, base)
    if word >> 28 != 6:
        raise MalformedPacket(f"IP version {word >> 28}, expected 6", base)
    end = base + IPV6_HEADER_LENGTH + length
    if end > len(data):
        raise MalformedPacket(
            f"payload length {length} exceeds the {len(data) - base - 40} bytes present", base + 4
        )
    data = data[:end]
    src = IPv6Address(src_raw)
    dst = IPv6Address(dst_raw)
    offset = base + IPV6_HEADER_LENGTH
    headers: list[ExtensionHeader] = []
    while next_header in (HOP_BY_HOP, DESTINATION_OPTIONS) or next_header in (
        OPAQUE_EXTENSION_HEADERS
    ):
        if next_header == HOP_BY_HOP and headers:
            # RFC 8200 §4.1: Hop-by-Hop Options may only follow the IPv6 header.
            raise MalformedPacket("Hop-by-Hop Options header not first", offset)
        header, next_header, offset = decode_extension_header(next_header, data, offset)
        headers.append(header)
    packet_fields = {
        "src": src,
        "dst": dst,
        "extension_headers": tuple(headers),
        "hop_limit": hop_limit,
        "traffic_class": (word >> 20) & 0xFF,
        "flow_label": word & 0xFFFFF,
    }
    upper = data[offset:]
    payload: MobilityMessage | ICMPv6Message | UDPDatagram | IPv6Packet | RawPayload | None
    if next_header == PROTO_NONE:
        payload = None
    elif next_header == PROTO_IPV6:
        payload = _decode_packet(data, offset, verify, fbu_lifetime_unit)
    elif next_header == PROTO_MH:
        payload = _decode_upper(decode_mh, upper, offset, fbu_lifetime_unit=fbu_lifetime_unit)
    elif next_header == PROTO_ICMPV6:
        payload = _decode_upper(decode_icmpv6, upper, offset)
    elif next_header == PROTO_UDP:
        payload = _decode_udp(upper, offset)
    else:
        payload = RawPayload(protocol=next_header, data=upper)
    packet = IPv6Packet(payload=payload, **packet_fields)
    if verify and next_header in (PROTO_MH, PROTO_ICMPV6, PROTO_UDP):
        _verify_checksum(packet, next_header, upper, offset)
    return packet


def _decode_upper(decoder: Callable[..., _T], upper: bytes, offset: int, **kwargs: int) -> _T:
    """Run an upper-layer decoder and re-base the offset of any error it raises."""
    try:
        return decoder(upper, **kwargs)
    except MalformedPacket as exc:
        raise exc.shifted(offset) from None


def _decode_udp(upper: bytes, offset: int) -> UDPDatagram:
    """Decode a UDP header and payload (RFC 768)."""
    if len(upper) < 8:
        raise MalformedPacket("UDP header truncated", offset + len(upper))
    src_port, dst_port, length, _checksum = _UDP.unpack_from(upper)
    if length != len(upper):
        raise MalformedPacket(
            f"UDP length {length} differs from the {len(upper)} bytes of payload", offset + 4
        )
    return UDPDatagram(src_port=src_port, dst_port=dst_port, data=upper[8:])


def _verify_checksum(packet: IPv6Packet, protocol: int, upper: bytes, offset: int) -> None:
    """Raise :class:`MalformedPacket` unless the upper-layer checksum is right."""
    if protocol == PROTO_UDP and upper[6:8] == b"\x00\x00":
        # RFC 8200 §8.1: a zero UDP checksum over IPv6 is invalid and the packet is dropped.
        raise MalformedPacket("UDP checksum is zero", offset + 6)
    src, dst = packet.checksum_addresses()
    if upper_layer_checksum(src, dst, protocol, upper) != 0:
        at = {PROTO_MH: MH_CHECKSUM_OFFSET, PROTO_ICMPV6: ICMPV6_CHECKSUM_OFFSET}.get(
            protocol, UDP_CHECKSUM_OFFSET
        )
        raise MalformedPacket("bad checksum", offset + at)


def mobility_header_bytes(data: bytes) -> bytes | None:
    """The Mobility Header of a raw packet exactly as received, or None if it carries none.

    Walks the extension-header chain (and IPv6-in-IPv6 tunnels) without decoding messages.
    Authenticators (RFC 6275 §6.2.7, RFC 4285 §5, RFC 5568 §6.4.5) must be checked over the
    bytes a peer sent, not over our re-encoding of them: a peer may pad its options differently
    (RFC 6275 §6.2.1 leaves the choice of Pad1/PadN to the sender). Call it on bytes that
    :func:`decode_packet` accepted.
    """
    # The usual signalling packet, a Mobility Header right after the IPv6 header or after
    # one Destination Options header (a BU's Home Address option, RFC 6275 §6.1.7, §6.3),
    # located without the general walk below (a registration's Binding Update is
    # authenticated over these bytes, RFC 4285 §5.1.1); the same answer as the walk.
    size = len(data)
    if size >= IPV6_HEADER_LENGTH + 2:
        next_header, offset = data[6], IPV6_HEADER_LENGTH
        if next_header == DESTINATION_OPTIONS:
            next_header, offset = data[40], IPV6_HEADER_LENGTH + (data[41] + 1) * 8
        if next_header == PROTO_MH and size - offset >= 2:
            return data[offset : offset + (data[offset + 1] + 1) * 8]
    return _walk_to_mobility_header(data)


def _walk_to_mobility_header(data: bytes) -> bytes | None:
    """:func:`mobility_header_bytes` by walking the whole extension-header chain (any
    number of headers, IPv6-in-IPv6 tunnels)."""
    offset = 0
    while len(data) - offset >= IPV6_HEADER_LENGTH:
        next_header = data[offset + 6]
        offset += IPV6_HEADER_LENGTH
        while next_header in (HOP_BY_HOP, DESTINATION_OPTIONS) or next_header in (
            OPAQUE_EXTENSION_HEADERS
        ):
            if len(data) - offset < 2:
                return None
            # Accepted bytes: the lengths suffice, the options need no second decode.
            next_header, offset = skip_extension_header(next_header, data, offset)
        if next_header == PROTO_MH:
            if len(data) - offset < 2:
                return None
            return data[offset : offset + (data[offset + 1] + 1) * 8]
        if next_header != PROTO_IPV6:
            return None
    return None


def outer_mobility_header(data: bytes) -> tuple[int, bool] | None:
    """Where the outer packet's Mobility Header starts, and whether its checksum is right.

    For the receiver rules of RFC 6275 §9.2, applied to a packet :func:`decode_packet` refused:
    returns ``(offset, checksum_ok)`` with ``offset`` counted from the start of ``data`` (the
    Payload Proto octet; Header Len is the next), or None when the IPv6 header or its extension
    headers cannot be walked, or the outer packet's upper layer is not a Mobility Header. The
    checksum covers the octets up to the IPv6 Payload Length under the pseudo-header of RFC 6275
    §6.1.1 (the Home Address option's address as source, the Type 2 Routing Header's as
    destination).
    """
    if len(data) < IPV6_HEADER_LENGTH:
        return None
    try:
        _word, length, next_header, _hop, src_raw, dst_raw = _IPV6.unpack_from(data, 0)
        end = IPV6_HEADER_LENGTH + length
        if end > len(data):
            return None
        data = data[:end]
        src, dst = IPv6Address(src_raw), IPv6Address(dst_raw)
        offset = IPV6_HEADER_LENGTH
        while next_header in (HOP_BY_HOP, DESTINATION_OPTIONS) or next_header in (
            OPAQUE_EXTENSION_HEADERS
        ):
            header, next_header, offset = decode_extension_header(next_header, data, offset)
            if isinstance(header, DestinationOptions):
                src = next((o.home_address for o in header.options
                            if isinstance(o, HomeAddressOption)), src)
            elif isinstance(header, RoutingHeaderType2):
                dst = header.home_address
    except MalformedPacket:
        return None
    if next_header != PROTO_MH or offset >= len(data):
        return None
    return offset, upper_layer_checksum(src, dst, PROTO_MH, data[offset:]) == 0


def encapsulate(
    inner: IPv6Packet, *, src: IPv6Address, dst: IPv6Address, hop_limit: int = 64
) -> IPv6Packet:
    """Wrap ``inner`` in an outer IPv6 header from ``src`` to ``dst`` (RFC 2473 §3); built
    by :func:`new_packet` (a tunnel endpoint wraps every data packet it carries)."""
    return new_packet(src, dst, inner, (), hop_limit)


def with_hop_limit(packet: IPv6Packet, hop_limit: int) -> IPv6Packet:
    """``dataclasses.replace(packet, hop_limit=hop_limit)`` without ``__init__``: the other
    fields are those of a packet already checked, only the hop limit is (a router or tunnel
    entry point decrements it, RFC 8200 §3, for every packet it forwards). Equal to the
    replaced packet."""
    if not 0 <= hop_limit <= 255:
        raise ValueError("hop_limit is 0..255")
    return _new_ipv6_packet(
        packet.src, packet.dst, packet.payload, packet.extension_headers, hop_limit,
        packet.traffic_class, packet.flow_label)
