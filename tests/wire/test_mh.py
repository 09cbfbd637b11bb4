"""Mobility Header messages: worked layouts, flags, units, RFC 6275 §9.2 checks, robustness."""

from __future__ import annotations

import dataclasses
import re
from ipaddress import IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.mh import (
    MESSAGE_CLASSES,
    MH_CHECKSUM_OFFSET,
    MIN_HEADER_LEN,
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingErrorStatus,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    FastBindingAcknowledgement,
    FastBindingAckStatus,
    FastBindingUpdate,
    FastNeighborAdvertisement,
    HandoverAckCode,
    HandoverAcknowledge,
    HandoverInitiate,
    HandoverInitiateCode,
    HomeTest,
    HomeTestInit,
    MHType,
    UnknownMobilityMessage,
    decode_mh,
    encode_mh,
    mh_authenticator_input,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    BindingAuthorizationData,
    BindingRefreshAdvice,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    NonceIndices,
    ReplayProtection,
)

from .strategies_mh import UNKNOWN_MH_TYPES, messages_by_class, mobility_messages

PCOA = IPv6Address("2001:db8:1::10")
NCOA = IPv6Address("2001:db8:2::10")
HOA = IPv6Address("2001:db8:ffff::1")
AUTH = bytes(range(0xA0, 0xAC))  # 12 octets, HMAC-SHA1-96
MAC = bytes.fromhex("020000000001")
NI = NonceIndices(home_nonce_index=0x1111, care_of_nonce_index=0x2222)
BAD = BindingAuthorizationData(authenticator=AUTH)
ACOA = AlternateCareOfAddress(address=NCOA)
BADF = FastBindingAuthorizationData(spi=0x01020304, authenticator=AUTH)

# One message of every decoded type, with options wherever that makes sense.
SAMPLES = [
    BindingRefreshRequest(),
    HomeTestInit(cookie=b"\x01" * 8),
    CareOfTestInit(cookie=b"\x02" * 8, options=(NI,)),
    HomeTest(home_nonce_index=7, cookie=b"\x03" * 8, keygen_token=b"\x04" * 8),
    CareOfTest(care_of_nonce_index=9, cookie=b"\x05" * 8, keygen_token=b"\x06" * 8),
    BindingUpdate(sequence=100, lifetime=420, ack=True, options=(ACOA, NI, BAD)),
    BindingUpdate(
        sequence=5,
        lifetime=600,
        ack=True,
        home_registration=True,
        options=(
            MobileNodeIdentifier(identifier=b"mn@example.com"),
            ReplayProtection(timestamp=0xE000000012345678),
            MobilityMessageAuthentication(subtype=1, spi=0x1000, authenticator=AUTH),
        ),
    ),
    BindingAcknowledgement(
        status=0, sequence=100, lifetime=420, options=(BindingRefreshAdvice(refresh_interval=400),)
    ),
    BindingError(status=2, home_address=HOA),
    FastBindingUpdate(sequence=1, lifetime=40, options=(ACOA, BADF)),
    FastBindingAcknowledgement(status=1, sequence=1, lifetime=40, options=(ACOA, BADF)),
    FastNeighborAdvertisement(options=(MHLinkLayerAddress(option_code=2, address=MAC),)),
    HandoverInitiate(
        sequence=77,
        assigned_address=True,
        buffer=True,
        code=0,
        options=(
            IPv6AddressPrefixOption(option_code=1, prefix_length=128, address=PCOA),
            IPv6AddressPrefixOption(option_code=2, prefix_length=128, address=NCOA),
            MHLinkLayerAddress(option_code=2, address=MAC),
        ),
    ),
    HandoverAcknowledge(
        sequence=77,
        code=2,
        options=(IPv6AddressPrefixOption(option_code=2, prefix_length=128, address=NCOA),),
    ),
    UnknownMobilityMessage(mh_type=16, data=bytes(range(10))),
]
SAMPLE_IDS = [f"{type(m).__name__}-{i}" for i, m in enumerate(SAMPLES)]


def mh_type_of(msg: object) -> int:
    return msg.mh_type if isinstance(msg, UnknownMobilityMessage) else type(msg).MH_TYPE


# ---------------------------------------------------------------------------------------------
# Digest §2 worked layouts
# ---------------------------------------------------------------------------------------------


def test_bu_to_cn() -> None:
    # 12, NI @12 (6), BAD @18 (14) = 32 / HdrLen 3
    msg = BindingUpdate(sequence=0x1234, lifetime=400, ack=True, options=(NI, BAD))
    b = encode_mh(msg)
    assert b.hex() == ("3b0305000000123480000064040411112222050c" + AUTH.hex())
    assert len(b) == 32 and b[1] == 3
    assert b[12:14] == b"\x04\x04" and b[18:20] == b"\x05\x0c"
    assert decode_mh(b) == msg


def test_bu_to_cn_with_acoa() -> None:
    # 12, PadN(2), ACoA @14 (18), NI @32 (6), PadN(4), BAD @42 (14) = 56 / 6
    msg = BindingUpdate(sequence=1, lifetime=400, ack=True, options=(ACOA, NI, BAD))
    b = encode_mh(msg)
    assert len(b) == 56 and b[1] == 6
    assert b[12:14] == b"\x01\x00"
    assert b[14:16] == b"\x03\x10" and b[16:32] == NCOA.packed
    assert b[32:38] == bytes.fromhex("040411112222")
    assert b[38:42] == b"\x01\x02\x00\x00"
    assert b[42:44] == b"\x05\x0c" and b[44:] == AUTH
    assert decode_mh(b) == msg


def test_home_registration_bu() -> None:
    # 12, PadN(2), ACoA @14 (18) = 32 / 3
    msg = BindingUpdate(
        sequence=2, lifetime=3600, ack=True, home_registration=True, options=(ACOA,)
    )
    b = encode_mh(msg)
    assert b.hex() == "3b03050000000002c000038401000310" + NCOA.packed.hex()
    assert decode_mh(b) == msg


def test_hmipv6_local_bu_sets_m() -> None:
    msg = BindingUpdate(sequence=2, lifetime=60, ack=True, map_registration=True)
    b = encode_mh(msg)
    assert b[8:10] == b"\x88\x00"  # A | M (RFC 5380 §4)
    assert b[12:] == b"\x01\x02\x00\x00" and len(b) == 16  # 4 octets of padding
    assert decode_mh(b) == msg


def test_ba_from_cn() -> None:
    # 12, PadN(6), BAD @18 (14) = 32 / 3
    msg = BindingAcknowledgement(status=0, sequence=0x1234, lifetime=400, options=(BAD,))
    b = encode_mh(msg)
    assert b.hex() == ("3b0306000000000012340064010400000000050c" + AUTH.hex())
    assert decode_mh(b) == msg


def test_ba_with_bra() -> None:
    # 12, BRA @12 (4) = 16 / 1
    msg = BindingAcknowledgement(
        status=1,
        key_management=True,
        sequence=9,
        lifetime=1200,
        options=(BindingRefreshAdvice(refresh_interval=1000),),
    )
    b = encode_mh(msg)
    assert b.hex() == "3b010600000001800009012c020200fa"
    assert decode_mh(b) == msg


def test_fbu_with_badf() -> None:
    # 12, PadN(2), ACoA @14, PadN(6), BADF @38 (18) = 56 / 6
    msg = FastBindingUpdate(sequence=3, lifetime=40, options=(ACOA, BADF))
    b = encode_mh(msg)
    assert len(b) == 56 and b[1] == 6 and b[2] == 8
    assert b[8:10] == b"\xc0\x00"  # A and H (RFC 5568 §6.2.2 MUST)
    assert b[10:12] == b"\x00\x0a"  # 40 s in 4-second units (default)
    assert b[12:14] == b"\x01\x00" and b[14:16] == b"\x03\x10"
    assert b[32:38] == bytes.fromhex("010400000000")
    assert b[38:40] == b"\x15\x10" and b[40:44] == b"\x01\x02\x03\x04" and b[44:] == AUTH
    assert decode_mh(b) == msg


def test_hi_with_pcoa_ncoa_mh_lla() -> None:
    # 10, PadN(2), opt34 @12, PadN(4), opt34 @36, MH-LLA @56 (9), pad to 72 = 72 / 8
    msg = next(m for m in SAMPLES if isinstance(m, HandoverInitiate))
    b = encode_mh(msg)
    assert len(b) == 72 and b[1] == 8 and b[2] == 14
    assert b[6:8] == b"\x00\x4d" and b[8] == 0xC0 and b[9] == 0
    assert b[10:12] == b"\x01\x00"
    assert b[12:16] == bytes.fromhex("22120180") and b[16:32] == PCOA.packed
    assert b[32:36] == b"\x01\x02\x00\x00"
    assert b[36:40] == bytes.fromhex("22120280") and b[40:56] == NCOA.packed
    assert b[56:65] == bytes.fromhex("070702") + MAC
    assert b[65:72] == bytes.fromhex("01050000000000")
    assert decode_mh(b) == msg


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (BindingRefreshRequest(), "3b00000000000000"),
        (HomeTestInit(cookie=b"ABCDEFGH"), "3b01010000000000" + b"ABCDEFGH".hex()),
        (CareOfTestInit(cookie=b"ABCDEFGH"), "3b01020000000000" + b"ABCDEFGH".hex()),
        (
            HomeTest(home_nonce_index=0x0102, cookie=b"ABCDEFGH", keygen_token=b"12345678"),
            "3b02030000000102" + b"ABCDEFGH".hex() + b"12345678".hex(),
        ),
        (
            CareOfTest(care_of_nonce_index=0x0304, cookie=b"ABCDEFGH", keygen_token=b"12345678"),
            "3b02040000000304" + b"ABCDEFGH".hex() + b"12345678".hex(),
        ),
        (BindingUpdate(sequence=1, lifetime=0), "3b010500000000010000000001020000"),
        (
            BindingAcknowledgement(status=135, sequence=7, lifetime=0),
            "3b010600000087000007000001020000",
        ),
        (
            BindingError(status=1, home_address=HOA),
            "3b02070000000100" + HOA.packed.hex(),
        ),
        (
            FastBindingAcknowledgement(status=0, sequence=2, lifetime=8),
            "3b010900000000000002000201020000",
        ),
        (FastNeighborAdvertisement(), "3b000a0000000000"),
        (
            HandoverInitiate(sequence=1, code=1),
            "3b010e00000000010001010400000000",
        ),
        (
            HandoverAcknowledge(sequence=1, code=128),
            "3b010f00000000010080010400000000",
        ),
        (UnknownMobilityMessage(mh_type=200, data=b"\xaa\xbb"), "3b00c8000000aabb"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else "",
)
def test_fixed_parts(msg: object, expected: str) -> None:
    # RFC 6275 §6.1.2-§6.1.9, RFC 5568 §6.2: minimal sizes and padding
    b = encode_mh(msg)  # type: ignore[arg-type]
    assert b.hex() == expected
    assert decode_mh(b) == msg


def test_minimum_header_lengths() -> None:
    # RFC 6275 §6.1.x "Header Len will be set to ..." with no options
    for cls, hl in [
        (BindingRefreshRequest(), 0),
        (HomeTestInit(cookie=bytes(8)), 1),
        (HomeTest(home_nonce_index=0, cookie=bytes(8), keygen_token=bytes(8)), 2),
        (BindingUpdate(sequence=0, lifetime=0), 1),
        (BindingAcknowledgement(status=0, sequence=0, lifetime=0), 1),
        (BindingError(status=1, home_address=HOA), 2),
        (HandoverInitiate(sequence=0, code=0), 1),
    ]:
        b = encode_mh(cls)  # type: ignore[arg-type]
        assert b[1] == hl == MIN_HEADER_LEN[b[2]]


# ---------------------------------------------------------------------------------------------
# Flags, sequence, lifetime units
# ---------------------------------------------------------------------------------------------

BU_MASKS = {
    "ack": 0x8000,
    "home_registration": 0x4000,
    "link_local_compat": 0x2000,
    "key_management": 0x1000,
    "map_registration": 0x0800,
    "mobile_router": 0x0400,
    "proxy_registration": 0x0200,
    "forced_udp": 0x0100,
    "tlv_header": 0x0080,
    "bulk": 0x0040,
}
BA_MASKS = {
    "key_management": 0x80,
    "mobile_router": 0x40,
    "proxy_registration": 0x20,
    "tlv_header": 0x10,
    "bulk": 0x08,
}


@pytest.mark.parametrize(("field", "mask"), BU_MASKS.items())
def test_bu_flag_masks(field: str, mask: int) -> None:
    msg = BindingUpdate(sequence=0xBEEF, lifetime=8, **{field: True})
    b = encode_mh(msg)
    assert int.from_bytes(b[8:10], "big") == mask
    assert b[6:8] == b"\xbe\xef" and b[10:12] == b"\x00\x02"
    # decode one bit at a time, with the reserved low bits set (ignored, RFC 6275 §6.1.7)
    raw = bytearray(encode_mh(BindingUpdate(sequence=0xBEEF, lifetime=8)))
    raw[8:10] = (mask | 0x003F).to_bytes(2, "big")
    assert decode_mh(bytes(raw)) == msg
    assert (
        BindingUpdate.FLAGS[field]
        == {
            "ack": "A",
            "home_registration": "H",
            "link_local_compat": "L",
            "key_management": "K",
            "map_registration": "M",
            "mobile_router": "R",
            "proxy_registration": "P",
            "forced_udp": "F",
            "tlv_header": "T",
            "bulk": "B",
        }[field]
    )


@pytest.mark.parametrize(("field", "mask"), BA_MASKS.items())
def test_ba_flag_masks(field: str, mask: int) -> None:
    msg = BindingAcknowledgement(status=129, sequence=0xBEEF, lifetime=8, **{field: True})
    b = encode_mh(msg)
    assert b[6] == 129 and b[7] == mask
    raw = bytearray(encode_mh(BindingAcknowledgement(status=129, sequence=0xBEEF, lifetime=8)))
    raw[7] = mask | 0x07  # reserved bits ignored
    assert decode_mh(bytes(raw)) == msg
    assert field in BindingAcknowledgement.FLAGS


@pytest.mark.parametrize(
    ("field", "mask"),
    [
        ("ack", 0x8000),
        ("home_registration", 0x4000),
        ("link_local_compat", 0x2000),
        ("key_management", 0x1000),
    ],
)
def test_fbu_flag_masks(field: str, mask: int) -> None:
    flags = dict.fromkeys(FastBindingUpdate.FLAGS, False)
    flags[field] = True
    msg = FastBindingUpdate(sequence=1, lifetime=4, **flags)
    b = encode_mh(msg)
    assert int.from_bytes(b[8:10], "big") == mask
    raw = bytearray(b)
    raw[8:10] = (mask | 0x0FFF).to_bytes(2, "big")  # other BU flags MUST be 0; ignored
    assert decode_mh(bytes(raw)) == msg


def test_fback_and_hi_flags() -> None:
    b = encode_mh(FastBindingAcknowledgement(status=0, key_management=True, sequence=1, lifetime=4))
    assert b[7] == 0x80
    assert decode_mh(b[:7] + b"\xff" + b[8:]).key_management is True  # type: ignore[union-attr]
    for s, u, byte in [(True, False, 0x80), (False, True, 0x40), (True, True, 0xC0)]:
        msg = HandoverInitiate(sequence=1, assigned_address=s, buffer=u, code=0)
        b = encode_mh(msg)
        assert b[8] == byte and b[9] == 0
        assert decode_mh(b[:8] + bytes([byte | 0x3F]) + b[9:]) == msg
    assert HandoverInitiate.FLAGS == {"assigned_address": "S", "buffer": "U"}


def test_hack_reserved_octet_ignored() -> None:
    msg = HandoverAcknowledge(sequence=1, code=3)
    b = bytearray(encode_mh(msg))
    b[8] = 0xFF
    b[3] = 0xFF  # MH Reserved octet
    assert decode_mh(bytes(b)) == msg


@pytest.mark.parametrize("sequence", [0, 1, 0x7FFF, 0x8000, 0xFFFF])
def test_sequence_is_16_bit_big_endian(sequence: int) -> None:
    for msg in (
        BindingUpdate(sequence=sequence, lifetime=4),
        BindingAcknowledgement(status=0, sequence=sequence, lifetime=4),
        FastBindingUpdate(sequence=sequence, lifetime=4),
        HandoverInitiate(sequence=sequence, code=0),
    ):
        b = encode_mh(msg)
        offset = 8 if isinstance(msg, BindingAcknowledgement) else 6
        assert int.from_bytes(b[offset : offset + 2], "big") == sequence
        assert decode_mh(b) == msg


@pytest.mark.parametrize(("seconds", "wire"), [(0, 0), (4, 1), (420, 105), (262140, 0xFFFF)])
def test_bu_ba_lifetime_in_4_second_units(seconds: int, wire: int) -> None:
    # RFC 6275 §6.1.7, §6.1.8
    for msg in (
        BindingUpdate(sequence=1, lifetime=seconds),
        BindingAcknowledgement(status=0, sequence=1, lifetime=seconds),
    ):
        b = encode_mh(msg)
        assert int.from_bytes(b[10:12], "big") == wire
        assert decode_mh(b) == msg


@pytest.mark.parametrize("cls", [FastBindingUpdate, FastBindingAcknowledgement])
def test_fbu_lifetime_units(cls: type) -> None:
    # docs/decisions.md D1: 4 = RFC 4068 / Wireshark (default), 1 = RFC 5568 text
    kwargs = {"status": 0} if cls is FastBindingAcknowledgement else {}
    msg = cls(sequence=1, lifetime=400, **kwargs)
    four = encode_mh(msg)
    one = encode_mh(msg, fbu_lifetime_unit=1)
    assert four == encode_mh(msg, fbu_lifetime_unit=4)
    assert int.from_bytes(four[10:12], "big") == 100
    assert int.from_bytes(one[10:12], "big") == 400
    assert decode_mh(four) == msg
    assert decode_mh(one, fbu_lifetime_unit=1) == msg
    # the same octets read with the other unit
    assert decode_mh(one).lifetime == 1600  # type: ignore[union-attr]
    assert decode_mh(four, fbu_lifetime_unit=1).lifetime == 100  # type: ignore[union-attr]
    # what each unit cannot carry
    with pytest.raises(ValueError, match="multiple of 4"):
        encode_mh(cls(sequence=1, lifetime=401, **kwargs))
    assert (
        decode_mh(
            encode_mh(cls(sequence=1, lifetime=401, **kwargs), fbu_lifetime_unit=1),
            fbu_lifetime_unit=1,
        ).lifetime
        == 401
    )  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="16 bits"):
        encode_mh(cls(sequence=1, lifetime=65536, **kwargs), fbu_lifetime_unit=1)
    big = cls(sequence=1, lifetime=262140, **kwargs)
    assert decode_mh(encode_mh(big)) == big
    for unit in (0, 2, 8):
        with pytest.raises(ValueError, match="fbu_lifetime_unit"):
            encode_mh(msg, fbu_lifetime_unit=unit)
        with pytest.raises(ValueError, match="fbu_lifetime_unit"):
            decode_mh(four, fbu_lifetime_unit=unit)


def test_fbu_unit_does_not_affect_bu() -> None:
    msg = BindingUpdate(sequence=1, lifetime=400)
    assert encode_mh(msg, fbu_lifetime_unit=1) == encode_mh(msg)
    assert decode_mh(encode_mh(msg), fbu_lifetime_unit=1) == msg


# ---------------------------------------------------------------------------------------------
# RFC 6275 §9.2 receiver checks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("msg", SAMPLES[:-1], ids=SAMPLE_IDS[:-1])
def test_payload_proto_not_59(msg: object) -> None:
    b = bytearray(encode_mh(msg))  # type: ignore[arg-type]
    for proto in (0, 6, 17, 58, 60, 135, 255):
        b[0] = proto
        with pytest.raises(MalformedPacket) as info:
            decode_mh(bytes(b))
        assert info.value.offset == 0
        assert "Payload Proto" in info.value.reason


@pytest.mark.parametrize(("mh_type", "minimum"), [(t, m) for t, m in MIN_HEADER_LEN.items() if m])
def test_header_len_below_minimum(mh_type: int, minimum: int) -> None:
    # a buffer long enough for the fixed part, but a Header Len that is too small
    for hl in range(minimum):
        b = bytes([59, hl, mh_type, 0, 0, 0]) + bytes(64)
        with pytest.raises(MalformedPacket) as info:
            decode_mh(b)
        assert info.value.offset == 1
        assert "minimum" in info.value.reason


@pytest.mark.parametrize("msg", SAMPLES, ids=SAMPLE_IDS)
def test_header_len_beyond_buffer(msg: object) -> None:
    b = bytearray(encode_mh(msg))  # type: ignore[arg-type]
    b[1] += 1
    with pytest.raises(MalformedPacket) as info:
        decode_mh(bytes(b))
    assert info.value.offset == 1


@pytest.mark.parametrize("mh_type", [11, 12, 13, 16, 17, 18, 100, 255])
def test_unknown_mh_type(mh_type: int) -> None:
    data = bytes(range(2, 2 + 18))
    b = bytes([59, 2, mh_type, 0, 0x12, 0x34]) + data
    msg = decode_mh(b)
    assert msg == UnknownMobilityMessage(mh_type=mh_type, data=data)
    assert encode_mh(msg) == b[:4] + b"\x00\x00" + b[6:]
    assert decode_mh(b + b"\xff" * 5) == msg  # octets after Header Len are not its data
    # RFC 6275 §9.2 checks the type before Payload Proto: still a BE status-2 case
    assert decode_mh(bytes([6]) + b[1:]) == msg
    assert BindingErrorStatus.UNRECOGNIZED_MH_TYPE == 2
    # but its Header Len must still fit the buffer
    with pytest.raises(MalformedPacket) as info:
        decode_mh(b[:-1])
    assert info.value.offset == 1


@pytest.mark.parametrize("n", range(8))
def test_shorter_than_8(n: int) -> None:
    with pytest.raises(MalformedPacket) as info:
        decode_mh(bytes([59, 0, 0, 0, 0, 0, 0, 0][:n]))
    assert info.value.offset == (1 if n else 0)


def test_checksum_value_and_trailing_octets_are_ignored() -> None:
    msg = SAMPLES[5]
    b = encode_mh(msg)
    assert b[MH_CHECKSUM_OFFSET : MH_CHECKSUM_OFFSET + 2] == b"\x00\x00"
    with_sum = b[:4] + b"\xab\xcd" + b[6:]
    assert decode_mh(with_sum) == msg
    assert decode_mh(with_sum + b"trailing octets") == msg  # RFC 8200 §4.7
    assert decode_mh(bytearray(with_sum)) == msg
    assert decode_mh(memoryview(with_sum)) == msg


# ---------------------------------------------------------------------------------------------
# Properties and robustness
# ---------------------------------------------------------------------------------------------


@given(msg=mobility_messages(), unit=st.sampled_from([4, 1]))
def test_round_trip(msg: object, unit: int) -> None:
    b = encode_mh(msg, fbu_lifetime_unit=unit)  # type: ignore[arg-type]
    assert len(b) % 8 == 0 and len(b) == (b[1] + 1) * 8
    assert b[0] == 59 and b[2] == mh_type_of(msg) and b[4:6] == b"\x00\x00"
    decoded = decode_mh(b, fbu_lifetime_unit=unit)
    assert decoded == msg
    assert type(decoded) is type(msg)
    assert encode_mh(decoded, fbu_lifetime_unit=unit) == b


STRATEGIES = messages_by_class()


@given(cls=st.sampled_from(MESSAGE_CLASSES), data=st.data())
def test_strategies_cover_every_class(cls: type, data: st.DataObject) -> None:
    assert set(STRATEGIES) == set(MESSAGE_CLASSES)
    msg = data.draw(STRATEGIES[cls])
    assert type(msg) is cls
    assert decode_mh(encode_mh(msg)) == msg


@pytest.mark.parametrize("msg", SAMPLES, ids=SAMPLE_IDS)
def test_every_truncation_raises_malformed(msg: object) -> None:
    b = encode_mh(msg)  # type: ignore[arg-type]
    for cut in range(len(b)):
        with pytest.raises(MalformedPacket) as info:
            decode_mh(b[:cut])
        assert 0 <= info.value.offset <= max(cut, 1)


@given(msg=mobility_messages(), data=st.data())
def test_random_truncation_raises_malformed(msg: object, data: st.DataObject) -> None:
    b = encode_mh(msg)  # type: ignore[arg-type]
    cut = data.draw(st.integers(0, len(b) - 1))
    with pytest.raises(MalformedPacket):
        decode_mh(b[:cut])


def _check_decoder_contract(b: bytes, unit: int) -> None:
    """decode_mh returns a message or raises MalformedPacket; a result re-encodes stably."""
    try:
        msg = decode_mh(b, fbu_lifetime_unit=unit)
    except MalformedPacket as exc:
        # inside the buffer, except that a buffer too short to hold the 8-octet minimum
        # points at its (missing) Header Len octet
        assert 0 <= exc.offset < max(len(b), 2)
        return
    try:
        again = encode_mh(msg, fbu_lifetime_unit=unit)
    except ValueError:
        # e.g. alignment padding pushing a packed header past 2048 octets
        return
    assert decode_mh(again, fbu_lifetime_unit=unit) == msg


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    msg=mobility_messages(),
    mutations=st.lists(
        st.tuples(st.integers(0, 2047), st.integers(0, 255)), min_size=1, max_size=6
    ),
    unit=st.sampled_from([4, 1]),
)
def test_fuzz_mutations(msg: object, mutations: list[tuple[int, int]], unit: int) -> None:
    b = bytearray(encode_mh(msg, fbu_lifetime_unit=unit))  # type: ignore[arg-type]
    for index, value in mutations:
        b[index % len(b)] = value
    _check_decoder_contract(bytes(b), unit)


@given(
    msg=mobility_messages(),
    header=st.tuples(st.integers(0, 255), st.integers(0, 255)),
    unit=st.sampled_from([4, 1]),
)
def test_fuzz_type_and_length(msg: object, header: tuple[int, int], unit: int) -> None:
    # the body of one message type under another type's number and any Header Len
    b = bytearray(encode_mh(msg))  # type: ignore[arg-type]
    b[1], b[2] = header
    _check_decoder_contract(bytes(b), unit)


@given(b=st.binary(max_size=300), unit=st.sampled_from([4, 1]))
def test_fuzz_random_bytes(b: bytes, unit: int) -> None:
    _check_decoder_contract(b, unit)


@given(
    mh_type=st.sampled_from(sorted(MIN_HEADER_LEN)),
    body=st.binary(min_size=0, max_size=120),
)
def test_fuzz_valid_header_random_body(mh_type: int, body: bytes) -> None:
    total = max(8, (len(body) + 6 + 7) // 8 * 8)
    b = bytes([59, total // 8 - 1, mh_type, 0, 0, 0]) + body + bytes(total - 6 - len(body))
    _check_decoder_contract(b, 4)


# ---------------------------------------------------------------------------------------------
# Authenticator input (RFC 6275 §5.2.6/§6.2.7, RFC 5568 §6.4.5, RFC 4285 §5)
# ---------------------------------------------------------------------------------------------


def test_authenticator_input_bad() -> None:
    msg = BindingUpdate(sequence=1, lifetime=400, ack=True, options=(ACOA, NI, BAD))
    b = encode_mh(msg)
    with_sum = b[:4] + b"\x12\x34" + b[6:]
    data = mh_authenticator_input(with_sum, 12)
    assert data == b[:44]  # up to, not including, the authenticator; checksum zero
    assert data[4:6] == b"\x00\x00"
    assert data.endswith(b"\x05\x0c")  # includes BAD's Type and Length and the padding before


def test_authenticator_input_badf_ends_with_spi() -> None:
    b = encode_mh(FastBindingUpdate(sequence=1, lifetime=40, options=(ACOA, BADF)))
    data = mh_authenticator_input(b[:4] + b"\xff\xff" + b[6:], len(BADF.authenticator))
    assert data == b[:4] + b"\x00\x00" + b[6:44]
    assert data.endswith(b"\x15\x10\x01\x02\x03\x04")


def test_authenticator_input_mma_ends_with_spi() -> None:
    # RFC 4285 §5.1: "up to and including the mobility SPI field of this option"
    msg = next(m for m in SAMPLES if m.options and type(m.options[-1]).OPTION_TYPE == 9)
    b = encode_mh(msg)
    data = mh_authenticator_input(b, 12)
    assert data.endswith(b"\x09\x11\x01\x00\x00\x10\x00")
    assert len(data) == len(b) - 12


def test_authenticator_input_bounds() -> None:
    b = encode_mh(BindingUpdate(sequence=1, lifetime=4))
    assert mh_authenticator_input(b, 0) == b
    assert mh_authenticator_input(b, 10) == b[:6]
    for bad in (-1, 11, 100):
        with pytest.raises(ValueError):
            mh_authenticator_input(b, bad)


# ---------------------------------------------------------------------------------------------
# Model validation, metadata, enums
# ---------------------------------------------------------------------------------------------

INVALID = [
    (HomeTestInit, {"cookie": bytes(7)}),
    (CareOfTestInit, {"cookie": "12345678"}),
    (HomeTest, {"home_nonce_index": 65536, "cookie": bytes(8), "keygen_token": bytes(8)}),
    (CareOfTest, {"care_of_nonce_index": 0, "cookie": bytes(8), "keygen_token": bytes(9)}),
    (BindingUpdate, {"sequence": 65536, "lifetime": 0}),
    (BindingUpdate, {"sequence": -1, "lifetime": 0}),
    (BindingUpdate, {"sequence": 0, "lifetime": 2}),
    (BindingUpdate, {"sequence": 0, "lifetime": 262144}),
    (BindingUpdate, {"sequence": 0, "lifetime": 0, "ack": 1}),
    (BindingUpdate, {"sequence": 0, "lifetime": 0, "options": [NI]}),
    (BindingUpdate, {"sequence": 0, "lifetime": 0, "options": ("NI",)}),
    (BindingAcknowledgement, {"status": 256, "sequence": 0, "lifetime": 0}),
    (BindingAcknowledgement, {"status": 0, "sequence": 0, "lifetime": 3}),
    (BindingAcknowledgement, {"status": 0, "sequence": 0, "lifetime": 0, "bulk": None}),
    (BindingError, {"status": 1, "home_address": "::"}),
    (BindingError, {"status": -1, "home_address": HOA}),
    (FastBindingUpdate, {"sequence": 0, "lifetime": 262141}),
    (FastBindingUpdate, {"sequence": 0, "lifetime": -1}),
    (FastBindingAcknowledgement, {"status": 0, "sequence": 70000, "lifetime": 0}),
    (HandoverInitiate, {"sequence": 0, "code": 256}),
    (HandoverInitiate, {"sequence": 0, "code": 0, "buffer": "yes"}),
    (HandoverAcknowledge, {"sequence": 0, "code": -1}),
    (UnknownMobilityMessage, {"mh_type": 5, "data": bytes(2)}),
    (UnknownMobilityMessage, {"mh_type": 14, "data": bytes(2)}),
    (UnknownMobilityMessage, {"mh_type": 256, "data": bytes(2)}),
    (UnknownMobilityMessage, {"mh_type": 11, "data": bytes(3)}),
    (UnknownMobilityMessage, {"mh_type": 11, "data": b""}),
    (UnknownMobilityMessage, {"mh_type": 11, "data": bytes(2050)}),
]


@pytest.mark.parametrize(("cls", "kwargs"), INVALID, ids=lambda v: getattr(v, "__name__", ""))
def test_invalid_values_raise_value_error(cls: type, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_too_long_and_misplaced_options_are_encode_errors() -> None:
    big = tuple(MobileNodeIdentifier(identifier=bytes(254)) for _ in range(8))  # 8 * 257 octets
    with pytest.raises(ValueError, match="exceeds"):
        encode_mh(BindingUpdate(sequence=0, lifetime=0, options=big))
    with pytest.raises(ValueError, match="exceeds"):
        encode_mh(HomeTestInit(cookie=bytes(8), options=big))
    with pytest.raises(ValueError, match="last"):
        encode_mh(BindingUpdate(sequence=0, lifetime=0, options=(BAD, NI)))
    with pytest.raises(TypeError):
        encode_mh("not a message")  # type: ignore[arg-type]


def test_largest_header() -> None:
    # 12 + 7 * 257 + BAD(255) ... pick options that fill exactly 2048 octets
    options = (*(MobileNodeIdentifier(identifier=bytes(254)) for _ in range(7)),)
    msg = BindingUpdate(sequence=0, lifetime=0, options=options)
    b = encode_mh(msg)
    assert len(b) <= 2048 and b[1] == len(b) // 8 - 1
    assert decode_mh(b) == msg
    unknown = UnknownMobilityMessage(mh_type=11, data=bytes(2042))
    b = encode_mh(unknown)
    assert len(b) == 2048 and b[1] == 255
    assert decode_mh(b) == unknown


def test_class_metadata() -> None:
    for cls in MESSAGE_CLASSES:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert hasattr(cls, "__slots__")
        assert re.fullmatch(r"[a-z_]+", cls.NAME)
        names = {f.name for f in dataclasses.fields(cls)}
        assert set(cls.FLAGS) <= names
        if cls is not UnknownMobilityMessage:
            assert MHType(cls.MH_TYPE).value == cls.MH_TYPE
            assert "options" in names
    assert dict(zip(BU_MASKS, "AHLKMRPFTB", strict=True)) == BindingUpdate.FLAGS
    assert set(BindingAcknowledgement.FLAGS.values()) == set("KRPTB")
    assert FastBindingUpdate.FLAGS == {
        "ack": "A",
        "home_registration": "H",
        "link_local_compat": "L",
        "key_management": "K",
    }
    assert FastBindingAcknowledgement.FLAGS == {"key_management": "K"}


def test_decoded_messages_are_frozen_and_hashable() -> None:
    for msg in SAMPLES:
        decoded = decode_mh(encode_mh(msg))
        assert type(decoded) is type(msg)
        assert hash(decoded) == hash(msg)
        first = dataclasses.fields(decoded)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(decoded, first, getattr(decoded, first))


def test_codes_are_plain_ints_and_unknown_codes_round_trip() -> None:
    msg = BindingAcknowledgement(status=250, sequence=1, lifetime=0)
    decoded = decode_mh(encode_mh(msg))
    assert decoded == msg and type(decoded.status) is int  # type: ignore[union-attr]
    hack = decode_mh(encode_mh(HandoverAcknowledge(sequence=1, code=99)))
    assert hack.code == 99  # type: ignore[union-attr]


def test_enums() -> None:
    assert [m.value for m in MHType][:11] == list(range(11))
    assert MHType.HANDOVER_INITIATE == 14 and MHType.HANDOVER_ACKNOWLEDGE == 15
    for code in [0, 1, *range(128, 140), 174]:
        assert BindingAckStatus(code).value == code
    assert BindingAckStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW == 135
    assert BindingAckStatus.MIPV6_AUTH_FAIL == 146  # RFC 4285 §8
    assert [s.value for s in FastBindingAckStatus] == [0, 1, 128, 129, 130, 131]
    assert [c.value for c in HandoverInitiateCode] == [0, 1]
    assert [c.value for c in HandoverAckCode] == [0, 1, 2, 3, 4, 128, 129, 130]
    assert HandoverAckCode.ACCEPTED_NCOA_ASSIGNED == 2  # docs/decisions.md D3
    assert HandoverAckCode.ACCEPTED_USE_PCOA == 3
    assert [s.value for s in BindingErrorStatus] == [1, 2]
    assert set(UNKNOWN_MH_TYPES).isdisjoint(MIN_HEADER_LEN)
