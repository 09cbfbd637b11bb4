"""The layouts the Mobility Header codec special-cases give what its general code gives.

``encode_mh``/``decode_mh`` write and read a BU whose only option is an Alternate CoA as one
32-octet layout, without the option loop; the in-place option decoder builds ACoA and IPv6
Address/Prefix options without its table, and the BA encoder packs an option-less BA with its
padding in one go. These tests hold those fast paths to the general encoder and decoder and
cover their fallbacks: other paddings, other options, wrong lengths, error offsets.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    HandoverInitiate,
    decode_mh,
    encode_mh,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    BindingAuthorizationData,
    MobileNodeIdentifier,
    NonceIndices,
    UnknownMobilityOption,
    decode_mobility_options,
    encode_mobility_options,
)

COA = IPv6Address("2001:db8:1::10")
ACOA = AlternateCareOfAddress(address=COA)
NI = NonceIndices(home_nonce_index=1, care_of_nonce_index=2)
BAD = BindingAuthorizationData(authenticator=bytes(range(12)))

# Payload Proto, Header Len, MH Type, Reserved, Checksum, Sequence, flags, Lifetime/4.
_BU_FIXED = struct.Struct("!BBBBHHHH")


def _bu_general(m: BindingUpdate, flags: int) -> bytes:
    """``m`` written with the general option encoder (RFC 6275 §6.1.7 fixed part)."""
    tail = encode_mobility_options(m.options, 12)
    header_len = (12 + len(tail)) // 8 - 1
    return _BU_FIXED.pack(59, header_len, 5, 0, 0, m.sequence, flags, m.lifetime // 4) + tail


@pytest.mark.parametrize(
    ("flags", "kwargs"),
    [
        (0xC000, {"ack": True, "home_registration": True}),
        (0x0000, {}),
        (0x8840, {"ack": True, "map_registration": True, "bulk": True}),
    ],
)
def test_bu_with_a_single_acoa_is_what_the_general_encoder_writes(
    flags: int, kwargs: dict[str, bool]
) -> None:
    m = BindingUpdate(sequence=0xBEEF, lifetime=262140, options=(ACOA,), **kwargs)
    wire = encode_mh(m)
    assert wire == _bu_general(m, flags)
    assert len(wire) == 32 and wire[12:16] == bytes.fromhex("01000310")
    assert decode_mh(wire) == m
    assert decode_mobility_options(wire[12:], 12) == (ACOA,)


def test_acoa_after_other_padding_decodes_the_same() -> None:
    # Two Pad1 instead of PadN(2) in front of the ACoA: same 32 octets, not the fast layout.
    m = BindingUpdate(sequence=7, lifetime=400, ack=True, home_registration=True, options=(ACOA,))
    wire = encode_mh(m)
    other = wire[:12] + b"\x00\x00" + wire[14:]
    assert decode_mh(other) == m
    assert encode_mh(decode_mh(other)) == wire


@pytest.mark.parametrize(
    "options",
    [
        (ACOA, NI),
        (NI, ACOA),
        (ACOA, BAD),
        (ACOA, ACOA),
        (UnknownMobilityOption(option_type=11, data=bytes(18)),),  # 32 octets, not an ACoA
        (MobileNodeIdentifier(identifier=b"mn@example.org"), ACOA),
    ],
)
def test_bu_with_other_options_takes_the_general_path(options: tuple[object, ...]) -> None:
    m = BindingUpdate(sequence=1, lifetime=4, options=options)  # type: ignore[arg-type]
    wire = encode_mh(m)
    assert wire == _bu_general(m, 0)
    assert decode_mh(wire) == m


def test_malformed_acoa_in_a_bu_is_reported_at_its_header_offset() -> None:
    # PadN(2), then an ACoA of Length 15 (RFC 6275 §6.2.5 says 16) and a Pad1: 32 octets.
    wire = _BU_FIXED.pack(59, 3, 5, 0, 0, 1, 0, 1) + bytes.fromhex("0100030f") + bytes(16)
    with pytest.raises(MalformedPacket) as info:
        decode_mh(wire)
    assert info.value.offset == 15  # the Length octet
    assert "length 15, expected 16" in info.value.reason


def test_bad_prefix_length_in_a_hi_is_reported_at_its_header_offset() -> None:
    # HI fixed part (10 octets), PadN(2), IPv6 Address/Prefix option with Prefix Length 129.
    fixed = struct.pack("!BBBBHHBB", 59, 3, 14, 0, 0, 1, 0, 0)
    wire = fixed + bytes.fromhex("0100" + "2212" + "0181") + COA.packed
    with pytest.raises(MalformedPacket) as info:
        decode_mh(wire)
    assert info.value.offset == 12  # the option's Type octet
    assert "prefix length 129" in info.value.reason
    good = wire[:15] + b"\x80" + wire[16:]  # Prefix Length 128
    assert decode_mh(good) == HandoverInitiate(
        sequence=1, code=0, options=decode_mobility_options(good[12:], 12)
    )
    assert decode_mh(good).options[0].prefix_length == 128


def test_ba_without_options_and_too_long_ba() -> None:
    ba = BindingAcknowledgement(status=0, sequence=9, lifetime=8)
    assert encode_mh(ba) == bytes.fromhex("3b01060000000000" + "0009" + "0002" + "01020000")
    big = tuple(MobileNodeIdentifier(identifier=bytes(254)) for _ in range(8))  # 8 * 257 octets
    with pytest.raises(ValueError, match="exceeds"):
        encode_mh(BindingAcknowledgement(status=0, sequence=0, lifetime=0, options=big))
