"""IPv6 extension headers: Hop-by-Hop and Destination Options, the Type 2 Routing Header.

RFC 8200 §4 gives the general layout (Next Header, Hdr Ext Len in 8-octet units not counting the
first 8 octets, then data); RFC 6275 §6.3 defines the Home Address option (type 201, carried in
a Destination Options header, alignment 8n+6) and §6.4 the Type 2 Routing Header. Headers
mipshop does not interpret (other routing types, Fragment, AH, HIP, Shim6, the experimental
253/254) are kept whole as :class:`OpaqueExtensionHeader` so that a packet decodes and encodes
back unchanged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from .errors import MalformedPacket
from .nd_options import fast_builder

HOP_BY_HOP = 0
ROUTING = 43
FRAGMENT = 44
AUTHENTICATION_HEADER = 51
DESTINATION_OPTIONS = 60
HIP = 139
SHIM6 = 140
EXPERIMENTAL_253 = 253
EXPERIMENTAL_254 = 254

#: Next Header values that are extension headers with the RFC 8200 §4 / RFC 6564 layout,
#: which a decoder can skip without understanding them. ESP (50) is not here: its payload
#: is encrypted, so it ends the chain like an upper-layer protocol. The Mobility Header (135)
#: is not here either: it is always the last header of a packet (RFC 6275 §6.1).
OPAQUE_EXTENSION_HEADERS = frozenset(
    {ROUTING, FRAGMENT, AUTHENTICATION_HEADER, HIP, SHIM6, EXPERIMENTAL_253, EXPERIMENTAL_254}
)

HOME_ADDRESS_OPTION_TYPE = 201  # RFC 6275 §6.3: 0xC9, "skip+ICMP, does not change en route"
ROUTING_TYPE_2 = 2

_PAD1 = 0
_PADN = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeAddressOption:
    """The Home Address destination option (RFC 6275 §6.3): the mobile node's home address."""

    NAME: ClassVar[str] = "home_address_option"
    FLAGS: ClassVar[dict[str, str]] = {}
    OPTION_TYPE: ClassVar[int] = HOME_ADDRESS_OPTION_TYPE

    home_address: IPv6Address

    def __post_init__(self) -> None:
        if not isinstance(self.home_address, IPv6Address):
            raise ValueError("home_address must be an IPv6Address")


@dataclass(frozen=True, kw_only=True, slots=True)
class RawIPv6Option:
    """A Hop-by-Hop or Destination option mipshop does not interpret, kept as type and data."""

    NAME: ClassVar[str] = "ipv6_option"
    FLAGS: ClassVar[dict[str, str]] = {}

    option_type: int
    data: bytes

    def __post_init__(self) -> None:
        if not 2 <= self.option_type <= 255:
            # 0 and 1 are Pad1 and PadN, which the encoder chooses itself.
            raise ValueError(f"option_type {self.option_type} must be 2..255")
        if len(self.data) > 255:
            raise ValueError("option data longer than 255 bytes")


IPv6Option = HomeAddressOption | RawIPv6Option


@dataclass(frozen=True, kw_only=True, slots=True)
class HopByHopOptions:
    """A Hop-by-Hop Options header (RFC 8200 §4.3); padding is chosen by the encoder."""

    NAME: ClassVar[str] = "hop_by_hop_options"
    FLAGS: ClassVar[dict[str, str]] = {}
    HEADER_TYPE: ClassVar[int] = HOP_BY_HOP

    options: tuple[IPv6Option, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationOptions:
    """A Destination Options header (RFC 8200 §4.6), the carrier of the Home Address option."""

    NAME: ClassVar[str] = "destination_options"
    FLAGS: ClassVar[dict[str, str]] = {}
    HEADER_TYPE: ClassVar[int] = DESTINATION_OPTIONS

    options: tuple[IPv6Option, ...] = ()

    def __post_init__(self) -> None:
        # RFC 6275 §6.3: the Home Address option MUST NOT appear more than once.
        if sum(isinstance(o, HomeAddressOption) for o in self.options) > 1:
            raise ValueError("at most one Home Address option per Destination Options header")

    @property
    def home_address(self) -> IPv6Address | None:
        """The address of the Home Address option, if this header has one."""
        for option in self.options:
            if isinstance(option, HomeAddressOption):
                return option.home_address
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class RoutingHeaderType2:
    """The Type 2 Routing Header (RFC 6275 §6.4): exactly one address, the home address."""

    NAME: ClassVar[str] = "routing_header_type2"
    FLAGS: ClassVar[dict[str, str]] = {}
    HEADER_TYPE: ClassVar[int] = ROUTING

    home_address: IPv6Address
    segments_left: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.home_address, IPv6Address):
            raise ValueError("home_address must be an IPv6Address")
        # RFC 6275 §6.4: Segments Left is 1 on the wire; a receiver that processed it has 0.
        if self.segments_left not in (0, 1):
            raise ValueError(f"segments_left {self.segments_left} must be 0 or 1")


_build_rh2 = fast_builder(RoutingHeaderType2)


def new_routing_header_type2(home_address: IPv6Address) -> RoutingHeaderType2:
    """``RoutingHeaderType2(home_address=...)`` (Segments Left 1), with the constructor's
    check made inline and no keyword ``__init__``: an agent puts one on every BA it sends to a
    care-of address (RFC 6275 §6.1.8, §9.5.4). Equal to the constructed header."""
    if not isinstance(home_address, IPv6Address):
        raise ValueError("home_address must be an IPv6Address")
    return _build_rh2(home_address, 1)


@dataclass(frozen=True, kw_only=True, slots=True)
class OpaqueExtensionHeader:
    """An extension header kept as bytes: ``data`` is everything after Next Header and length."""

    NAME: ClassVar[str] = "extension_header"
    FLAGS: ClassVar[dict[str, str]] = {}

    header_type: int
    data: bytes

    def __post_init__(self) -> None:
        if self.header_type not in OPAQUE_EXTENSION_HEADERS:
            raise ValueError(f"header type {self.header_type} is not an opaque extension header")
        total = len(self.data) + 2
        if self.header_type == FRAGMENT:
            if total != 8:
                raise ValueError("a Fragment header is 8 bytes")
        elif self.header_type == AUTHENTICATION_HEADER:
            # RFC 4302 §2.2: Payload Len in 4-octet units minus 2; IPv6 needs 8-octet multiples.
            if total % 8 or total < 8 or total // 4 - 2 > 255:
                raise ValueError("an Authentication Header is 8n bytes, 8..1028")
        elif total % 8 or total // 8 - 1 > 255:
            raise ValueError("an extension header is 8n bytes, 8..2048")


ExtensionHeader = HopByHopOptions | DestinationOptions | RoutingHeaderType2 | OpaqueExtensionHeader

_HAO = struct.Struct("!BB16s")
_RH2 = struct.Struct("!BBBB4x16s")


def header_type(header: ExtensionHeader) -> int:
    """The Next Header value that announces ``header``."""
    if isinstance(header, OpaqueExtensionHeader):
        return header.header_type
    return header.HEADER_TYPE


def _encode_tlv_options(options: tuple[IPv6Option, ...]) -> bytes:
    """Options area of a Hop-by-Hop/Destination Options header, padded per RFC 8200 §4.2.

    The Home Address option needs 8n+6 alignment (RFC 6275 §6.3), so a lone HAO is preceded by
    PadN(4) and the header is 24 bytes, the layout of RFC 6275 §6.3 with its 8n+6 alignment.
    """
    out = bytearray()
    position = 2  # the option area starts after Next Header and Hdr Ext Len
    for option in options:
        if isinstance(option, HomeAddressOption):
            gap = (6 - position) % 8
            out += _padding(gap)
            position += gap
            out += _HAO.pack(HOME_ADDRESS_OPTION_TYPE, 16, option.home_address.packed)
            position += 18
        else:
            out += bytes((option.option_type, len(option.data))) + option.data
            position += 2 + len(option.data)
    out += _padding((-position) % 8)
    return bytes(out)


def _padding(size: int) -> bytes:
    """Pad1 for one byte, PadN for more (RFC 8200 §4.2)."""
    if size == 0:
        return b""
    if size == 1:
        return b"\x00"
    return bytes((_PADN, size - 2)) + bytes(size - 2)


def encode_extension_header(header: ExtensionHeader, next_header: int) -> bytes:
    """Encode one extension header whose Next Header field is ``next_header``."""
    if isinstance(header, RoutingHeaderType2):
        return _RH2.pack(
            next_header, 2, ROUTING_TYPE_2, header.segments_left, header.home_address.packed
        )
    if isinstance(header, OpaqueExtensionHeader):
        total = len(header.data) + 2
        if header.header_type == AUTHENTICATION_HEADER:
            length = total // 4 - 2
        elif header.header_type == FRAGMENT:
            length = 0  # RFC 8200 §4.5: the second byte of a Fragment header is reserved
        else:
            length = total // 8 - 1
        return bytes((next_header, length)) + header.data
    body = _encode_tlv_options(header.options)
    length = (len(body) + 2) // 8 - 1
    if length > 255:
        raise ValueError("options do not fit in one extension header")
    return bytes((next_header, length)) + body


def skip_extension_header(kind: int, data: bytes, offset: int) -> tuple[int, int]:
    """``(next_header, end_offset)`` of the extension header of type ``kind`` at ``offset``,
    without decoding it: for walking bytes :func:`decode_extension_header` already accepted."""
    if kind == FRAGMENT:
        size = 8
    elif kind == AUTHENTICATION_HEADER:
        size = (data[offset + 1] + 2) * 4
    else:
        size = (data[offset + 1] + 1) * 8
    return data[offset], offset + size


def decode_extension_header(
    kind: int, data: bytes, offset: int
) -> tuple[ExtensionHeader, int, int]:
    """Decode the extension header of type ``kind`` at ``data[offset:]``.

    Returns ``(header, next_header, end_offset)``. Raises :class:`MalformedPacket` with the
    offset of the offending byte.
    """
    if len(data) - offset < 2:
        raise MalformedPacket("extension header truncated", offset)
    next_header = data[offset]
    if kind == FRAGMENT:
        size = 8
    elif kind == AUTHENTICATION_HEADER:
        size = (data[offset + 1] + 2) * 4
        if size % 8:
            raise MalformedPacket("Authentication Header length is not a multiple of 8", offset + 1)
    else:
        size = (data[offset + 1] + 1) * 8
    end = offset + size
    if end > len(data):
        raise MalformedPacket(f"extension header of {size} bytes truncated", offset + 1)
    if kind == ROUTING and data[offset + 2] == ROUTING_TYPE_2:
        return _decode_rh2(data, offset, end), next_header, end
    if kind in (HOP_BY_HOP, DESTINATION_OPTIONS):
        options = _decode_tlv_options(data, offset + 2, end)
        if kind == HOP_BY_HOP:
            return HopByHopOptions(options=options), next_header, end
        try:
            return DestinationOptions(options=options), next_header, end
        except ValueError as exc:
            raise MalformedPacket(str(exc), offset) from None
    return (
        OpaqueExtensionHeader(header_type=kind, data=bytes(data[offset + 2 : end])),
        next_header,
        end,
    )


def _decode_rh2(data: bytes, offset: int, end: int) -> RoutingHeaderType2:
    """Decode a Type 2 Routing Header (RFC 6275 §6.4: Hdr Ext Len 2, one address)."""
    if end - offset != 24:
        raise MalformedPacket("Type 2 Routing Header must have Hdr Ext Len 2", offset + 1)
    segments_left = data[offset + 3]
    if segments_left > 1:
        raise MalformedPacket("Type 2 Routing Header Segments Left must be 0 or 1", offset + 3)
    address = IPv6Address(bytes(data[offset + 8 : offset + 24]))
    return RoutingHeaderType2(home_address=address, segments_left=segments_left)


def _decode_tlv_options(data: bytes, start: int, end: int) -> tuple[IPv6Option, ...]:
    """Decode the TLV options of a Hop-by-Hop/Destination header, dropping padding."""
    options: list[IPv6Option] = []
    position = start
    while position < end:
        option_type = data[position]
        if option_type == _PAD1:
            position += 1
            continue
        if position + 2 > end:
            raise MalformedPacket("option truncated", position)
        length = data[position + 1]
        value_end = position + 2 + length
        if value_end > end:
            raise MalformedPacket("option runs past its header", position + 1)
        if option_type == HOME_ADDRESS_OPTION_TYPE:
            if length != 16:
                raise MalformedPacket("Home Address option length must be 16", position + 1)
            address = IPv6Address(bytes(data[position + 2 : value_end]))
            options.append(HomeAddressOption(home_address=address))
        elif option_type != _PADN:
            options.append(
                RawIPv6Option(option_type=option_type, data=bytes(data[position + 2 : value_end]))
            )
        position = value_end
    return tuple(options)
