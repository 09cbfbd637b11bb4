"""Extension headers: exact layouts of RFC 6275 §6.3/§6.4 and skipping of opaque headers."""

from ipaddress import IPv6Address

import pytest

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.ext_headers import (
    AUTHENTICATION_HEADER,
    DESTINATION_OPTIONS,
    FRAGMENT,
    ROUTING,
    DestinationOptions,
    HomeAddressOption,
    HopByHopOptions,
    OpaqueExtensionHeader,
    RawIPv6Option,
    RoutingHeaderType2,
    decode_extension_header,
    encode_extension_header,
    header_type,
)

HOA = IPv6Address("2001:db8:1::100")


def test_home_address_option_layout_is_the_rfc_one() -> None:
    # RFC 6275 §6.3: NH | HdrExtLen=2 | PadN(4: 01 02 00 00) | C9 10 <HoA>, 24 bytes, HAO at 8n+6.
    raw = encode_extension_header(
        DestinationOptions(options=(HomeAddressOption(home_address=HOA),)), 135
    )
    assert raw == bytes([135, 2, 1, 2, 0, 0, 0xC9, 16]) + HOA.packed
    header, next_header, end = decode_extension_header(DESTINATION_OPTIONS, raw, 0)
    assert (header, next_header, end) == (
        DestinationOptions(options=(HomeAddressOption(home_address=HOA),)),
        135,
        24,
    )
    assert header.home_address == HOA


def test_type2_routing_header_layout() -> None:
    raw = encode_extension_header(RoutingHeaderType2(home_address=HOA), 135)
    assert raw == bytes([135, 2, 2, 1, 0, 0, 0, 0]) + HOA.packed
    assert decode_extension_header(ROUTING, raw, 0) == (
        RoutingHeaderType2(home_address=HOA),
        135,
        24,
    )


@pytest.mark.parametrize(
    "header",
    [
        HopByHopOptions(options=(RawIPv6Option(option_type=5, data=b"\x00\x00"),)),  # router alert
        HopByHopOptions(),
        DestinationOptions(
            options=(
                RawIPv6Option(option_type=0x1E, data=b"abc"),
                HomeAddressOption(home_address=HOA),
            )
        ),
        OpaqueExtensionHeader(header_type=FRAGMENT, data=b"\x00\x01\x02\x03\x04\x05"),
        OpaqueExtensionHeader(header_type=AUTHENTICATION_HEADER, data=bytes(22)),
        OpaqueExtensionHeader(
            header_type=ROUTING, data=bytes([0, 0]) + bytes(20)
        ),  # type 0 routing
        RoutingHeaderType2(home_address=HOA, segments_left=0),
    ],
)
def test_round_trip_and_total_length_multiple_of_8(header) -> None:
    raw = encode_extension_header(header, 59)
    assert len(raw) % 8 == 0
    decoded, next_header, end = decode_extension_header(header_type(header), raw, 0)
    assert decoded == header and next_header == 59 and end == len(raw)


@pytest.mark.parametrize(
    ("kind", "raw", "offset"),
    [
        (DESTINATION_OPTIONS, bytes([59]), 0),
        (DESTINATION_OPTIONS, bytes([59, 1]) + bytes(6), 1),  # says 16 bytes, has 8
        (DESTINATION_OPTIONS, bytes([59, 0, 0xC9, 4, 0, 0, 0, 0]), 3),  # HAO length 4
        (DESTINATION_OPTIONS, bytes([59, 0, 7, 9, 0, 0, 0, 0]), 3),  # option past the header
        (ROUTING, bytes([59, 0, 2, 1, 0, 0, 0, 0]), 1),  # RH2 with Hdr Ext Len 0
        (ROUTING, bytes([59, 2, 2, 2]) + bytes(20), 3),  # RH2 segments left 2
        (AUTHENTICATION_HEADER, bytes([59, 1]) + bytes(10), 1),  # AH of 12 bytes
    ],
)
def test_malformed_headers_name_the_offset(kind: int, raw: bytes, offset: int) -> None:
    with pytest.raises(MalformedPacket) as info:
        decode_extension_header(kind, raw, 0)
    assert info.value.offset == offset


def test_two_home_address_options_are_refused() -> None:
    hao = HomeAddressOption(home_address=HOA)
    with pytest.raises(ValueError, match="at most one"):
        DestinationOptions(options=(hao, hao))
