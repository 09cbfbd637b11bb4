"""Mobility options: exact layouts, alignment, round trips, validation and malformed input."""

from __future__ import annotations

import dataclasses
import re
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.mh_options import (
    OPTION_CLASSES,
    AlternateCareOfAddress,
    BindingAuthorizationData,
    BindingRefreshAdvice,
    FastBindingAuthorizationData,
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    MobilityOptionType,
    NonceIndices,
    ReplayProtection,
    UnknownMobilityOption,
    decode_mobility_options,
    encode_mobility_options,
)

from .strategies_mh import mobility_options, plain_mobility_options

A1 = IPv6Address("2001:db8::1")
A1_HEX = "20010db8000000000000000000000001"
AUTH12 = bytes(range(1, 13))
AUTH12_HEX = AUTH12.hex()
MAC = bytes.fromhex("001122334455")
AUTH_TYPES = {5, 9, 21}


def walk(area: bytes, start: int) -> list[tuple[int, int, bytes]]:
    """Independent TLV walker: (MH offset, type, whole option bytes), padding included."""
    out = []
    i = 0
    while i < len(area):
        if area[i] == 0:
            out.append((start + i, 0, area[i : i + 1]))
            i += 1
            continue
        n = area[i + 1]
        out.append((start + i, area[i], area[i : i + 2 + n]))
        i += 2 + n
    assert i == len(area)
    return out


# ---------------------------------------------------------------------------------------------
# Exact layouts (RFC 6275 §6.2, RFC 5568 §6.4, RFC 4283, RFC 4285)
# ---------------------------------------------------------------------------------------------

LAYOUTS = [
    pytest.param((BindingRefreshAdvice(refresh_interval=40),), 12, "0202000a", id="BRA-2n"),
    pytest.param(
        (AlternateCareOfAddress(address=A1),), 12, "0100" + "0310" + A1_HEX, id="ACoA-8n+6"
    ),
    pytest.param(
        (NonceIndices(home_nonce_index=1, care_of_nonce_index=2),),
        12,
        "040400010002" + "010400000000",
        id="NI-2n-then-PadN6",
    ),
    pytest.param(
        (BindingAuthorizationData(authenticator=AUTH12),),
        12,
        "010400000000" + "050c" + AUTH12_HEX,
        id="BAD-ends-on-8n",
    ),
    pytest.param(
        (MHLinkLayerAddress(option_code=2, address=MAC),),
        10,
        "070702" + MAC.hex() + "0103000000",
        id="MH-LLA-RFC5568-no-pad0",
    ),
    pytest.param(
        (MobileNodeIdentifier(identifier=b"mn@example.com"),),
        12,
        "080f01" + b"mn@example.com".hex() + "010100",
        id="MNID-NAI",
    ),
    pytest.param(
        (MobileNodeIdentifier(identifier=b"user@example.com"),),
        12,
        "081101" + b"user@example.com".hex() + "00",
        id="MNID-Pad1-at-end",
    ),
    pytest.param(
        (MobilityMessageAuthentication(subtype=1, spi=0x100, authenticator=AUTH12),),
        12,
        "00" + "091101" + "00000100" + AUTH12_HEX,
        id="MMA-4n+1-Pad1-before",
    ),
    pytest.param(
        (ReplayProtection(timestamp=0x0102030405060708),),
        12,
        "010400000000" + "0a08" + "0102030405060708" + "01020000",
        id="ReplayProtection-8n+2",
    ),
    pytest.param(
        (FastBindingAuthorizationData(spi=0x01020304, authenticator=AUTH12),),
        12,
        "0100" + "1510" + "01020304" + AUTH12_HEX,
        id="BADF-len-16-at-8n+6",
    ),
    pytest.param(
        (IPv6AddressPrefixOption(option_code=2, prefix_length=64, address=A1),),
        10,
        "0100" + "22120240" + A1_HEX,
        id="IPv6AddressPrefix-type34-8n+4",
    ),
    pytest.param(
        (UnknownMobilityOption(option_type=6, data=bytes(18)),),
        12,
        "0612" + "00" * 18,
        id="unknown-opaque",
    ),
    pytest.param((), 12, "01020000", id="empty-PadN4"),
    pytest.param((), 14, "0100", id="empty-PadN2"),
    pytest.param((), 15, "00", id="empty-Pad1"),
    pytest.param((), 16, "", id="empty-nothing"),
]


@pytest.mark.parametrize(("options", "start", "expected"), LAYOUTS)
def test_exact_layout(options: tuple, start: int, expected: str) -> None:
    encoded = encode_mobility_options(options, start)
    assert encoded.hex() == expected
    assert (start + len(encoded)) % 8 == 0
    assert decode_mobility_options(encoded, start) == options


def test_mh_lla_length_counts_option_code() -> None:
    # RFC 5568 §6.4.4: Length excludes Type and Length, includes the Option-Code; Ethernet = 7.
    encoded = encode_mobility_options((MHLinkLayerAddress(option_code=2, address=MAC),), 16)
    assert encoded[:2] == b"\x07\x07"
    assert encoded[2] == MHLinkLayerAddressCode.MOBILE_NODE == 2
    assert encoded[3:9] == MAC


def test_badf_length_is_spi_plus_authenticator() -> None:
    # docs/decisions.md D4: Length = 4 + len(authenticator), as Wireshark reads it.
    encoded = encode_mobility_options(
        (FastBindingAuthorizationData(spi=7, authenticator=bytes(20)),), 12
    )
    offset = encoded.index(b"\x15")
    assert encoded[offset + 1] == 24
    assert len(encoded) - offset == 26  # last, no trailing padding


def test_ipv6_prefix_option_type_is_34_not_17() -> None:
    encoded = encode_mobility_options(
        (IPv6AddressPrefixOption(option_code=1, prefix_length=128, address=A1),), 12
    )
    assert encoded[0] == 34 == MobilityOptionType.MH_IPV6_ADDRESS_PREFIX
    assert IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS == 1
    assert IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS == 2
    assert IPv6AddressPrefixCode.NAR_ADDRESS == 3
    assert IPv6AddressPrefixCode.NAR_PREFIX == 4


def test_bra_wire_unit_is_four_seconds() -> None:
    encoded = encode_mobility_options((BindingRefreshAdvice(refresh_interval=262140),), 12)
    assert encoded == b"\x02\x02\xff\xff"
    assert decode_mobility_options(b"\x02\x02\x00\x01", 12) == (
        BindingRefreshAdvice(refresh_interval=4),
    )


def test_padding_is_dropped_and_unknown_kept() -> None:
    area = bytes.fromhex("00" + "0100" + "0103000000" + "ff02abcd" + "0100" + "0310" + A1_HEX)
    assert decode_mobility_options(area, 8) == (
        UnknownMobilityOption(option_type=255, data=b"\xab\xcd"),
        AlternateCareOfAddress(address=A1),
    )


def test_bytes_like_input() -> None:
    area = encode_mobility_options((acoa := AlternateCareOfAddress(address=A1),), 12)
    assert decode_mobility_options(bytearray(area), 12) == (acoa,)
    assert decode_mobility_options(memoryview(area), 12) == (acoa,)
    assert decode_mobility_options(bytearray(b"\x01\x02\x00\x00"), 12) == ()


def test_mma_run_mn_ha_then_mn_aaa() -> None:
    # RFC 4285 §5: MN-HA before MN-AAA; both close the option list.
    ha = MobilityMessageAuthentication(subtype=1, spi=300, authenticator=AUTH12)
    aaa = MobilityMessageAuthentication(subtype=2, spi=3, authenticator=AUTH12)
    options = (AlternateCareOfAddress(address=A1), ha, aaa)
    encoded = encode_mobility_options(options, 12)
    layout = walk(encoded, 12)
    mma_offsets = [off for off, t, _ in layout if t == 9]
    assert mma_offsets[0] % 4 == 1  # the non-final one keeps its 4n+1 alignment
    assert layout[-1][1] == 9  # the final one ends the area
    assert (12 + len(encoded)) % 8 == 0
    assert decode_mobility_options(encoded, 12) == options


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@given(options=mobility_options(), start=st.integers(0, 40))
def test_round_trip(options: tuple, start: int) -> None:
    encoded = encode_mobility_options(options, start)
    decoded = decode_mobility_options(encoded, start)
    assert decoded == options
    assert encode_mobility_options(decoded, start) == encoded


@given(options=mobility_options(), start=st.integers(0, 40))
def test_alignment_and_padding(options: tuple, start: int) -> None:
    encoded = encode_mobility_options(options, start)
    assert (start + len(encoded)) % 8 == 0
    layout = walk(encoded, start)
    real = [(off, t, raw) for off, t, raw in layout if t not in (0, 1)]
    assert len(real) == len(options)
    for (off, t, raw), opt in zip(real, options, strict=True):
        x, y = type(opt).ALIGNMENT
        closing = t in AUTH_TYPES and (off, t, raw) == real[-1]
        if not closing:
            assert off % x == y % x, (opt, off)
        if t in AUTH_TYPES:
            # nothing but authorization options after the first one
            later = [tt for _, tt, _ in real[real.index((off, t, raw)) :]]
            assert set(later) <= {t} | ({9} if t == 9 else set())
    if options and type(options[-1]).OPTION_TYPE in AUTH_TYPES:
        assert layout[-1][1] in AUTH_TYPES  # RFC 6275 §6.2: no trailing padding
    # padding octets are zero and each padding run is shorter than 8 octets
    run = 0
    for _, t, raw in layout:
        if t == 1:
            assert raw[2:] == bytes(len(raw) - 2)
        run = run + len(raw) if t in (0, 1) else 0
        assert run < 8


@given(option=plain_mobility_options(), start=st.integers(0, 40))
def test_single_option_minimal_padding(option: object, start: int) -> None:
    encoded = encode_mobility_options((option,), start)
    x, y = type(option).ALIGNMENT
    before = (y - start) % x
    option_type = getattr(option, "option_type", type(option).OPTION_TYPE)
    assert encoded[before] == option_type
    assert decode_mobility_options(encoded[before:], start + before) == (option,)
    if before == 1:
        assert encoded[0] == 0  # Pad1
    elif before > 1:
        assert encoded[:2] == bytes((1, before - 2))  # PadN


@given(area=st.binary(max_size=64), start=st.integers(0, 40))
def test_random_areas_raise_only_malformed(area: bytes, start: int) -> None:
    try:
        options = decode_mobility_options(area, start)
    except MalformedPacket as exc:
        assert start <= exc.offset < start + len(area)
        return
    # anything decodable re-encodes and decodes to the same options
    try:
        again = encode_mobility_options(options, start)
    except ValueError:  # pragma: no cover - only a huge area could overflow
        return
    assert decode_mobility_options(again, start) == options


# ---------------------------------------------------------------------------------------------
# Placement of authorization options (RFC 6275 §6.2, RFC 5568 §6.4.5, RFC 4285 §5)
# ---------------------------------------------------------------------------------------------

BAD = BindingAuthorizationData(authenticator=AUTH12)
BADF = FastBindingAuthorizationData(spi=1, authenticator=AUTH12)
MMA = MobilityMessageAuthentication(subtype=1, spi=256, authenticator=AUTH12)
NI = NonceIndices(home_nonce_index=1, care_of_nonce_index=2)
ACOA = AlternateCareOfAddress(address=A1)


@pytest.mark.parametrize(
    "options",
    [
        (BAD, NI),
        (BADF, ACOA),
        (MMA, NI),
        (BAD, BAD),
        (BAD, MMA),
        (MMA, BAD),
        (MMA, BADF),
        (BADF, BAD),
    ],
    ids=lambda o: "-".join(type(x).__name__ for x in o),
)
def test_authorization_option_not_last_is_refused(options: tuple) -> None:
    with pytest.raises(ValueError, match="must be the last"):
        encode_mobility_options(options, 12)


def test_non_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        encode_mobility_options(("not an option",), 12)  # type: ignore[arg-type]


@pytest.mark.parametrize("auth_len", range(0, 30))
@pytest.mark.parametrize("start", [8, 10, 12, 16, 24])
@pytest.mark.parametrize("kind", ["BAD", "BADF", "MMA"])
def test_closing_option_ends_on_8n(auth_len: int, start: int, kind: str) -> None:
    auth = bytes(auth_len)
    opt = {
        "BAD": BindingAuthorizationData(authenticator=auth),
        "BADF": FastBindingAuthorizationData(spi=9, authenticator=auth),
        "MMA": MobilityMessageAuthentication(subtype=1, spi=9, authenticator=auth),
    }[kind]
    encoded = encode_mobility_options((NI, opt), start)
    assert (start + len(encoded)) % 8 == 0
    layout = walk(encoded, start)
    assert layout[-1][1] == opt.OPTION_TYPE
    assert encoded.endswith(auth)
    if kind == "BAD" and auth_len == 12:
        assert layout[-1][0] % 8 == 2  # the "implicit 8n+2" of RFC 6275 §6.2.7
    if kind == "BADF" and auth_len == 12:
        assert layout[-1][0] % 8 == 6  # docs/decisions.md D4: BADF at 8n+6
    if kind == "MMA" and auth_len % 4 == 0:
        assert layout[-1][0] % 4 == 1  # RFC 4285 §5: 4n+1
    assert decode_mobility_options(encoded, start) == (NI, opt)


# ---------------------------------------------------------------------------------------------
# Malformed option areas
# ---------------------------------------------------------------------------------------------

MALFORMED = [
    # (area, offset relative to start, reason fragment)
    ("03", 0, "no Length octet"),
    ("0100" + "04", 2, "no Length octet"),
    ("0310" + "00" * 15, 1, "past the end"),
    ("0105" + "0000", 1, "past the end"),
    ("030f" + "00" * 15, 1, "length 15, expected 16"),
    ("0311" + "00" * 17, 1, "length 17, expected 16"),
    ("0203000000", 1, "length 3, expected 2"),
    ("04020000", 1, "length 2, expected 4"),
    ("0a07" + "00" * 7, 1, "length 7, expected 8"),
    ("2211" + "00" * 17, 1, "length 17, expected 18"),
    ("0700", 1, "expected 1..255"),
    ("0800", 1, "expected 1..255"),
    ("0904" + "00" * 4, 1, "expected 5..255"),
    ("1503" + "00" * 3, 1, "expected 4..255"),
    ("2212" + "0181" + "00" * 16, 0, "prefix length 129"),
    ("0100" + "2212" + "01ff" + "00" * 16, 2, "prefix length 255"),
    # nothing after BAD / BADF, not even padding (RFC 6275 §6.2)
    ("050c" + AUTH12_HEX + "00", 14, "must be last"),
    ("050c" + AUTH12_HEX + "0100", 14, "must be last"),
    ("1510" + "00000001" + AUTH12_HEX + "0100", 18, "must be last"),
    ("0500" + "04040000", 2, "must be last"),
    # only padding or MMA after an MMA (RFC 4285 §5)
    ("0911" + "0100000100" + AUTH12_HEX + "04040000", 19, "must be last"),
    ("0911" + "0100000100" + AUTH12_HEX + "050c" + AUTH12_HEX, 19, "must be last"),
    ("0911" + "0100000100" + AUTH12_HEX + "0910", 20, "past the end"),
    ("0911" + "0100000100" + AUTH12_HEX + "0904" + "00" * 4, 20, "expected 5..255"),
]


@pytest.mark.parametrize("start", [0, 12, 24])
@pytest.mark.parametrize(("area", "offset", "reason"), MALFORMED)
def test_malformed(area: str, offset: int, reason: str, start: int) -> None:
    with pytest.raises(MalformedPacket) as info:
        decode_mobility_options(bytes.fromhex(area), start)
    assert info.value.offset == start + offset
    assert reason in info.value.reason


def test_padding_after_mma_is_accepted() -> None:
    # RFC 4285 does not forbid it (our encoder never writes it).
    mma = "0911" + "0100000100" + AUTH12_HEX
    assert decode_mobility_options(bytes.fromhex(mma + "00" + "0100"), 13) == (MMA,)


@pytest.mark.parametrize(
    ("options", "start"),
    [
        ((ACOA, NI, BAD), 12),
        ((IPv6AddressPrefixOption(option_code=1, prefix_length=64, address=A1), MMA), 10),
        ((MobileNodeIdentifier(identifier=b"mn@example.com"), ReplayProtection(timestamp=5)), 12),
        ((ACOA, BADF), 12),
    ],
)
def test_every_truncation_is_malformed(options: tuple, start: int) -> None:
    encoded = encode_mobility_options(options, start)
    for cut in range(1, len(encoded)):
        area = encoded[:cut]
        try:
            decoded = decode_mobility_options(area, start)
        except MalformedPacket as exc:
            assert start <= exc.offset < start + cut
        else:
            # a cut that falls on an option boundary inside trailing padding may decode
            assert decoded == options[: len(decoded)]


# ---------------------------------------------------------------------------------------------
# Construction-time validation
# ---------------------------------------------------------------------------------------------

INVALID = [
    (BindingRefreshAdvice, {"refresh_interval": 6}),
    (BindingRefreshAdvice, {"refresh_interval": -4}),
    (BindingRefreshAdvice, {"refresh_interval": 262144}),
    (AlternateCareOfAddress, {"address": "2001:db8::1"}),
    (AlternateCareOfAddress, {"address": IPv6Address("::1").packed}),
    (NonceIndices, {"home_nonce_index": 65536, "care_of_nonce_index": 0}),
    (NonceIndices, {"home_nonce_index": 0, "care_of_nonce_index": -1}),
    (BindingAuthorizationData, {"authenticator": bytes(256)}),
    (BindingAuthorizationData, {"authenticator": "text"}),
    (MHLinkLayerAddress, {"option_code": 256, "address": MAC}),
    (MHLinkLayerAddress, {"option_code": 2, "address": bytes(255)}),
    (MobileNodeIdentifier, {"subtype": -1, "identifier": b"x"}),
    (MobileNodeIdentifier, {"identifier": bytes(255)}),
    (MobilityMessageAuthentication, {"subtype": 1, "spi": 1 << 32, "authenticator": b""}),
    (MobilityMessageAuthentication, {"subtype": 1, "spi": 1, "authenticator": bytes(251)}),
    (ReplayProtection, {"timestamp": 1 << 64}),
    (ReplayProtection, {"timestamp": -1}),
    (FastBindingAuthorizationData, {"spi": -1, "authenticator": b""}),
    (FastBindingAuthorizationData, {"spi": 0, "authenticator": bytes(252)}),
    (IPv6AddressPrefixOption, {"option_code": 1, "prefix_length": 129, "address": A1}),
    (IPv6AddressPrefixOption, {"option_code": 300, "prefix_length": 64, "address": A1}),
    (IPv6AddressPrefixOption, {"option_code": 1, "prefix_length": 64, "address": None}),
    (UnknownMobilityOption, {"option_type": 3, "data": bytes(16)}),
    (UnknownMobilityOption, {"option_type": 0}),
    (UnknownMobilityOption, {"option_type": 1}),
    (UnknownMobilityOption, {"option_type": 256}),
    (UnknownMobilityOption, {"option_type": 6, "data": bytes(256)}),
]


@pytest.mark.parametrize(("cls", "kwargs"), INVALID, ids=lambda v: getattr(v, "__name__", ""))
def test_invalid_values_raise_value_error(cls: type, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_largest_values_are_accepted() -> None:
    options = (
        BindingAuthorizationData(authenticator=bytes(255)),
        MHLinkLayerAddress(option_code=255, address=bytes(254)),
        MobileNodeIdentifier(subtype=255, identifier=bytes(254)),
        UnknownMobilityOption(option_type=255, data=bytes(255)),
    )
    for opt in options:
        encoded = encode_mobility_options((opt,), 8)
        assert decode_mobility_options(encoded, 8) == (opt,)
        assert 257 in {len(raw) for _, _, raw in walk(encoded, 8)}


def test_class_metadata() -> None:
    types = {cls.OPTION_TYPE for cls in OPTION_CLASSES}
    assert {2, 3, 4, 5, 7, 8, 9, 10, 21, 34} <= types
    for cls in OPTION_CLASSES:
        assert dataclasses.is_dataclass(cls)
        assert re.fullmatch(r"[a-z0-9_]+", cls.NAME)
        assert cls.FLAGS == {}
        x, y = cls.ALIGNMENT
        assert 8 % x == 0 and 0 <= y < x
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert hasattr(cls, "__slots__")
    for cls in OPTION_CLASSES:
        if cls is not UnknownMobilityOption:
            assert MobilityOptionType(cls.OPTION_TYPE).value == cls.OPTION_TYPE


def test_options_are_immutable_and_hashable() -> None:
    opt = AlternateCareOfAddress(address=A1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.address = IPv6Address("::")  # type: ignore[misc]
    decoded = decode_mobility_options(encode_mobility_options((opt,), 12), 12)[0]
    assert type(decoded) is AlternateCareOfAddress
    assert hash(decoded) == hash(opt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.address = IPv6Address("::")  # type: ignore[misc]
    with pytest.raises(TypeError):
        AlternateCareOfAddress(A1)  # type: ignore[misc]  # keyword-only
