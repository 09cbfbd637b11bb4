"""ND options (RFC 4861 §4.6, RFC 6275 §7.2-§7.4, RFC 5380 §5, RFC 5568 §6.4)."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.nd_options import (
    INFINITE_LIFETIME,
    AdvertisementInterval,
    HomeAgentInformation,
    IPAddressOptionCode,
    IPAddressPrefix,
    LinkLayerAddress,
    LLAOptionCode,
    MAPOption,
    MTUOption,
    NAACKStatus,
    NeighborAdvertisementAcknowledgment,
    PrefixInformation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
    UnknownNDOption,
    _fast_same_address,
    address_from_bytes,
    address_from_int,
    decode_nd_options,
    encode_nd_options,
    packed_address,
    same_address,
)

from .strategies_icmpv6 import nd_options, option_lists

MAC = bytes.fromhex("0a1b2c3d4e5f")
A1 = IPv6Address("2001:db8::1")
A2 = IPv6Address("2001:db8:ff::2")
A1_HEX = A1.packed.hex()
A2_HEX = A2.packed.hex()

ALL_OPTION_CLASSES = [
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
    PrefixInformation,
    MTUOption,
    AdvertisementInterval,
    HomeAgentInformation,
    IPAddressPrefix,
    LinkLayerAddress,
    NeighborAdvertisementAcknowledgment,
    MAPOption,
    UnknownNDOption,
]


def one(data: bytes, **kwargs: object) -> object:
    """Decode ``data`` as exactly one option."""
    options = decode_nd_options(data, **kwargs)  # type: ignore[arg-type]
    assert len(options) == 1
    return options[0]


# --- Exact bytes ------------------------------------------------------------------------------

EXACT = [
    # RFC 4861 §4.6.1: Length 1 for an IEEE 802 address.
    pytest.param(SourceLinkLayerAddress(address=MAC), "0101" + MAC.hex(), id="slla-mac-len1"),
    pytest.param(TargetLinkLayerAddress(address=MAC), "0201" + MAC.hex(), id="tlla-mac-len1"),
    # RFC 4861 §4.6.2 + RFC 6275 §7.2: flags L=0x80 A=0x40 R=0x20.
    pytest.param(
        PrefixInformation(
            prefix_length=64,
            on_link=True,
            autonomous=True,
            router_address=True,
            valid_lifetime=86400,
            preferred_lifetime=14400,
            prefix=A1,
        ),
        "0304" + "40" + "e0" + "00015180" + "00003840" + "00000000" + A1_HEX,
        id="pio-LAR",
    ),
    pytest.param(
        PrefixInformation(
            prefix_length=64, on_link=False, autonomous=False, router_address=True, prefix=A1
        ),
        "0304" + "40" + "20" + "ffffffff" + "ffffffff" + "00000000" + A1_HEX,
        id="pio-R-only-0x20-infinite",
    ),
    pytest.param(
        PrefixInformation(prefix_length=48, on_link=True, autonomous=False, prefix=A1),
        "0304" + "30" + "80" + "ffffffff" + "ffffffff" + "00000000" + A1_HEX,
        id="pio-L-only",
    ),
    pytest.param(MTUOption(mtu=1500), "0501" + "0000" + "000005dc", id="mtu"),
    # RFC 6275 §7.3: milliseconds.
    pytest.param(
        AdvertisementInterval(interval=0.07), "0701" + "0000" + "00000046", id="advint-70ms"
    ),
    pytest.param(
        AdvertisementInterval(interval=1.5), "0701" + "0000" + "000005dc", id="advint-1500ms"
    ),
    # RFC 6275 §7.4: preference is unsigned (0xffff is the highest, not -1).
    pytest.param(
        HomeAgentInformation(preference=0xFFFF, lifetime=1800),
        "0801" + "0000" + "ffff" + "0708",
        id="hainfo-unsigned-pref",
    ),
    # RFC 5568 §6.4.1.
    pytest.param(
        IPAddressPrefix(option_code=IPAddressOptionCode.NAR_PREFIX, prefix_length=64, address=A1),
        "1103" + "04" + "40" + "00000000" + A1_HEX,
        id="ipaddr-nar-prefix",
    ),
    # RFC 5568 §6.4.3: 3 + 6 = 9 bytes -> Length 2, 7 bytes of zero padding.
    pytest.param(
        LinkLayerAddress(option_code=LLAOptionCode.NEW_ACCESS_POINT, address=MAC),
        "1302" + "01" + MAC.hex() + "00" * 7,
        id="lla-mac-len2",
    ),
    # RFC 5568 §6.4.6: Length 1 without an NCoA, 3 with the raw address after Reserved.
    pytest.param(
        NeighborAdvertisementAcknowledgment(status=NAACKStatus.NCOA_INVALID_CONFIGURE),
        "1401" + "00" + "01" + "00000000",
        id="naack-len1",
    ),
    pytest.param(
        NeighborAdvertisementAcknowledgment(
            status=NAACKStatus.NCOA_INVALID_USE_SUPPLIED, new_care_of_address=A2
        ),
        "1403" + "00" + "02" + "00000000" + A2_HEX,
        id="naack-len3",
    ),
    # RFC 5380 §5: 17 03 <Dist|Pref> <R|Reserved> lifetime address.
    pytest.param(
        MAPOption(distance=1, preference=15, r_flag=True, valid_lifetime=3600, address=A2),
        "1703" + "1f" + "80" + "00000e10" + A2_HEX,
        id="map-d1-p15-R",
    ),
    pytest.param(
        MAPOption(distance=15, preference=0, r_flag=False, valid_lifetime=0, address=A2),
        "1703" + "f0" + "00" + "00000000" + A2_HEX,
        id="map-d15-p0-noR-failed",
    ),
    pytest.param(
        MAPOption(distance=3, preference=10, valid_lifetime=INFINITE_LIFETIME, address=A2),
        "1703" + "3a" + "00" + "ffffffff" + A2_HEX,
        id="map-d3-p10",
    ),
    pytest.param(
        UnknownNDOption(option_type=18, data=bytes(range(22))),
        "1203" + bytes(range(22)).hex(),
        id="unknown-type-18",
    ),
]


@pytest.mark.parametrize(("option", "wire"), EXACT)
def test_exact_bytes_encode(option: object, wire: str) -> None:
    assert encode_nd_options([option]).hex() == wire  # type: ignore[list-item]


@pytest.mark.parametrize(("option", "wire"), EXACT)
def test_exact_bytes_decode(option: object, wire: str) -> None:
    assert one(bytes.fromhex(wire)) == option


def test_encoded_lengths_are_multiples_of_eight() -> None:
    for param in EXACT:
        option, wire = param.values
        data = bytes.fromhex(wire)  # type: ignore[arg-type]
        assert len(data) % 8 == 0
        assert data[1] * 8 == len(data)
        assert option.OPTION_TYPE in (None, data[0])  # type: ignore[union-attr]


# --- Round trips ------------------------------------------------------------------------------


@given(nd_options())
def test_round_trip_model_bytes_model(option: object) -> None:
    wire = encode_nd_options([option])  # type: ignore[list-item]
    assert len(wire) % 8 == 0
    assert decode_nd_options(wire) == (option,)


@given(option_lists(max_size=6))
def test_round_trip_bytes_model_bytes(options: tuple[object, ...]) -> None:
    wire = encode_nd_options(options)  # type: ignore[arg-type]
    decoded = decode_nd_options(wire)
    assert decoded == options
    assert encode_nd_options(decoded) == wire


@given(option_lists())
def test_decoded_options_are_the_real_frozen_classes(options: tuple[object, ...]) -> None:
    for original, decoded in zip(
        options,
        decode_nd_options(encode_nd_options(options)),
        strict=True,  # type: ignore[arg-type]
    ):
        assert type(decoded) is type(original)
        assert hash(decoded) == hash(original)
        assert repr(decoded) == repr(original)
        field = dataclasses.fields(decoded)[0].name  # type: ignore[arg-type]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(decoded, field, getattr(decoded, field))


def test_every_option_class_is_drawn_by_the_strategy() -> None:
    seen: set[type] = set()

    @settings(max_examples=1500, phases=[Phase.generate], database=None)
    @given(nd_options())
    def collect(value: object) -> None:
        seen.add(type(value))

    collect()
    assert seen == set(ALL_OPTION_CLASSES)


@pytest.mark.parametrize("cls", ALL_OPTION_CLASSES)
def test_class_metadata(cls: type) -> None:
    assert isinstance(cls.NAME, str) and cls.NAME.islower() and " " not in cls.NAME
    assert isinstance(cls.FLAGS, dict)
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.FLAGS) <= names
    if cls is not UnknownNDOption:
        assert isinstance(cls.OPTION_TYPE, int)


def test_flag_letters() -> None:
    assert PrefixInformation.FLAGS == {"on_link": "L", "autonomous": "A", "router_address": "R"}
    assert MAPOption.FLAGS == {"r_flag": "R"}


def test_advertisement_interval_rounds_to_milliseconds() -> None:
    assert encode_nd_options([AdvertisementInterval(interval=0.0304)])[4:] == bytes.fromhex(
        "0000001e"
    )
    assert one(bytes.fromhex("0701000000000001")) == AdvertisementInterval(interval=0.001)


def test_pio_router_address_bits_after_prefix_length_are_kept() -> None:
    # RFC 6275 §7.2: with R set the Prefix field is the router's whole address.
    option = PrefixInformation(prefix_length=64, router_address=True, prefix=A1)
    assert one(encode_nd_options([option])).prefix == A1  # type: ignore[attr-defined]


# --- Link-layer address length (RFC 4861 §4.6.1, RFC 5568 §6.4.3) -----------------------------


def test_lla_length_parameter_eui64() -> None:
    eui64 = bytes(range(1, 9))
    wire = encode_nd_options([SourceLinkLayerAddress(address=eui64)])
    assert wire.hex() == "0102" + eui64.hex() + "00" * 6  # 2 + 8 = 10 -> 16 bytes
    assert one(wire, lla_length=8) == SourceLinkLayerAddress(address=eui64)
    with pytest.raises(MalformedPacket, match="length 2, expected 1"):
        decode_nd_options(wire)  # default lla_length=6 wants Length 1


def test_lla_length_none_keeps_the_whole_field() -> None:
    wire = bytes.fromhex("1302" + "01" + MAC.hex() + "00" * 7)
    assert one(wire, lla_length=None) == LinkLayerAddress(option_code=1, address=MAC + bytes(7))
    assert one(bytes.fromhex("0101" + MAC.hex()), lla_length=None) == SourceLinkLayerAddress(
        address=MAC
    )


def test_lla_padding_is_ignored_on_decode() -> None:
    wire = bytes.fromhex("1302" + "04" + MAC.hex() + "ff" * 7)
    assert one(wire) == LinkLayerAddress(option_code=4, address=MAC)


def test_lla_option_19_with_scapy_length_1_is_rejected() -> None:
    # scapy's ICMPv6NDOptLLA writes Length 1 with 9 bytes (docs/decisions.md D10); 8 bytes cannot
    # hold Type, Length, Option-Code and a 6-byte MAC.
    with pytest.raises(MalformedPacket):
        decode_nd_options(bytes.fromhex("1301" + "01" + MAC.hex()))
    with pytest.raises(MalformedPacket, match="expected 2"):
        decode_nd_options(bytes.fromhex("1301" + "01" + MAC.hex()[:10]))


@pytest.mark.parametrize("bad", [0, -1, 2038])
def test_bad_lla_length_parameter_is_a_programming_error(bad: int) -> None:
    with pytest.raises(ValueError, match="lla_length"):
        decode_nd_options(b"", lla_length=bad)


# --- Malformed input --------------------------------------------------------------------------

WRONG_LENGTH = [
    pytest.param("0102" + "00" * 14, id="slla-len2"),
    pytest.param("0302" + "00" * 14, id="pio-len2"),
    pytest.param("0305" + "00" * 38, id="pio-len5"),
    pytest.param("0502" + "00" * 14, id="mtu-len2"),
    pytest.param("0702" + "00" * 14, id="advint-len2"),
    pytest.param("0802" + "00" * 14, id="hainfo-len2"),
    pytest.param("1102" + "00" * 14, id="ipaddr-len2"),
    pytest.param("1301" + "00" * 6, id="lla-len1"),
    pytest.param("1303" + "00" * 22, id="lla-len3"),
    pytest.param("1402" + "00" * 14, id="naack-len2"),
    pytest.param("1404" + "00" * 30, id="naack-len4"),
    pytest.param("1702" + "10" + "00" * 13, id="map-len2"),
    pytest.param("1704" + "10" + "00" * 29, id="map-len4"),
]


@pytest.mark.parametrize("wire", WRONG_LENGTH)
def test_wrong_length_for_type(wire: str) -> None:
    with pytest.raises(MalformedPacket, match="length") as info:
        decode_nd_options(bytes.fromhex(wire))
    assert info.value.offset == 1


def test_length_zero_is_malformed() -> None:
    # RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option with
    # length zero."
    with pytest.raises(MalformedPacket, match="length 0") as info:
        decode_nd_options(bytes.fromhex("0101" + MAC.hex() + "0500" + "00" * 6))
    assert info.value.offset == 9


def test_offsets_are_rebased() -> None:
    with pytest.raises(MalformedPacket) as info:
        decode_nd_options(bytes.fromhex("0101" + MAC.hex() + "0500" + "00" * 6), base=16)
    assert info.value.offset == 25


def test_map_distance_zero_is_malformed() -> None:
    # RFC 5380 §5: "A distance value of zero MUST NOT be used."
    with pytest.raises(MalformedPacket, match="Dist") as info:
        decode_nd_options(bytes.fromhex("1703" + "0f" + "80" + "00000e10" + A2_HEX))
    assert info.value.offset == 2


@pytest.mark.parametrize(
    "wire", ["0304" + "81" + "c0" + "00" * 28, "1103" + "01" + "81" + "00" * 20]
)
def test_prefix_length_over_128_is_malformed(wire: str) -> None:
    with pytest.raises(MalformedPacket, match="128"):
        decode_nd_options(bytes.fromhex(wire))


def test_reserved_bits_are_ignored() -> None:
    # PIO Reserved1 and Reserved2, MAP Reserved, MTU Reserved: MUST be ignored by the receiver.
    pio = bytes.fromhex("0304" + "40" + "ff" + "ffffffff" + "ffffffff" + "deadbeef" + A1_HEX)
    assert one(pio) == PrefixInformation(
        prefix_length=64, on_link=True, autonomous=True, router_address=True, prefix=A1
    )
    map_option = bytes.fromhex("1703" + "1f" + "ff" + "00000e10" + A2_HEX)
    assert one(map_option) == MAPOption(
        distance=1, preference=15, r_flag=True, valid_lifetime=3600, address=A2
    )
    assert one(bytes.fromhex("0501" + "ffff" + "000005dc")) == MTUOption(mtu=1500)


def test_unknown_options_are_kept_opaque() -> None:
    wire = bytes.fromhex("fe01" + "010203040506" + "1202" + "00" * 14)
    assert decode_nd_options(wire) == (
        UnknownNDOption(option_type=254, data=bytes.fromhex("010203040506")),
        UnknownNDOption(option_type=18, data=bytes(14)),
    )


def test_empty_input_decodes_to_no_options() -> None:
    assert decode_nd_options(b"") == ()
    assert encode_nd_options([]) == b""


def test_decode_accepts_bytes_like() -> None:
    wire = encode_nd_options([MTUOption(mtu=1280)])
    assert decode_nd_options(bytearray(wire)) == decode_nd_options(memoryview(wire))


def test_encode_rejects_non_options() -> None:
    with pytest.raises(TypeError, match="not ND options"):
        encode_nd_options([MTUOption(mtu=1), "x"])  # type: ignore[list-item]


@given(option_lists(max_size=5), st.data())
def test_truncation_at_every_byte(options: tuple[object, ...], data: st.DataObject) -> None:
    wire = encode_nd_options(options)  # type: ignore[arg-type]
    boundaries = {0}
    position = 0
    for option in options:
        position += len(encode_nd_options([option]))  # type: ignore[list-item]
        boundaries.add(position)
    for cut in range(len(wire)):
        if cut in boundaries:
            assert len(decode_nd_options(wire[:cut])) == sorted(boundaries).index(cut)
        else:
            with pytest.raises(MalformedPacket):
                decode_nd_options(wire[:cut])


@given(
    option_lists(max_size=5),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutation_fuzz_raises_only_malformed(
    options: tuple[object, ...], mutations: list[tuple[int, int]]
) -> None:
    wire = bytearray(encode_nd_options(options))  # type: ignore[arg-type]
    for where, value in mutations:
        if wire:
            wire[where % len(wire)] = value
    try:
        decoded = decode_nd_options(bytes(wire))
    except MalformedPacket:
        return
    # Whatever decodes re-encodes to bytes that decode to the same options.
    assert decode_nd_options(encode_nd_options(decoded)) == decoded


@given(st.binary(max_size=80))
def test_random_bytes_raise_only_malformed(wire: bytes) -> None:
    try:
        decoded = decode_nd_options(wire)
    except MalformedPacket:
        return
    assert decode_nd_options(encode_nd_options(decoded)) == decoded


# --- Construction-time validation -------------------------------------------------------------

INVALID = [
    pytest.param(SourceLinkLayerAddress, {"address": b""}, id="slla-empty"),
    pytest.param(TargetLinkLayerAddress, {"address": "0a:1b"}, id="tlla-str"),
    pytest.param(SourceLinkLayerAddress, {"address": bytes(2039)}, id="slla-too-long"),
    pytest.param(PrefixInformation, {"prefix_length": 129, "prefix": A1}, id="pio-plen-129"),
    pytest.param(
        PrefixInformation, {"prefix_length": 64, "valid_lifetime": -1, "prefix": A1}, id="pio-neg"
    ),
    pytest.param(
        PrefixInformation,
        {"prefix_length": 64, "preferred_lifetime": 2**32, "prefix": A1},
        id="pio-2^32",
    ),
    pytest.param(PrefixInformation, {"prefix_length": 64, "prefix": "2001:db8::"}, id="pio-str"),
    pytest.param(MTUOption, {"mtu": 2**32}, id="mtu-2^32"),
    pytest.param(AdvertisementInterval, {"interval": -0.001}, id="advint-negative"),
    pytest.param(AdvertisementInterval, {"interval": 4294967.296}, id="advint-too-big"),
    pytest.param(AdvertisementInterval, {"interval": float("nan")}, id="advint-nan"),
    pytest.param(HomeAgentInformation, {"preference": -1, "lifetime": 1}, id="hainfo-signed"),
    pytest.param(HomeAgentInformation, {"preference": 0, "lifetime": 65536}, id="hainfo-life"),
    pytest.param(IPAddressPrefix, {"option_code": 256, "address": A1}, id="ipaddr-code"),
    pytest.param(
        IPAddressPrefix, {"option_code": 1, "prefix_length": 129, "address": A1}, id="ipaddr-plen"
    ),
    pytest.param(LinkLayerAddress, {"option_code": -1, "address": MAC}, id="lla-code"),
    pytest.param(LinkLayerAddress, {"option_code": 1, "address": b""}, id="lla-empty"),
    pytest.param(NeighborAdvertisementAcknowledgment, {"status": 256}, id="naack-status"),
    pytest.param(
        NeighborAdvertisementAcknowledgment,
        {"status": 2, "new_care_of_address": "::1"},
        id="naack-str-address",
    ),
    pytest.param(MAPOption, {"distance": 0, "valid_lifetime": 1, "address": A1}, id="map-dist-0"),
    pytest.param(MAPOption, {"distance": 16, "valid_lifetime": 1, "address": A1}, id="map-dist-16"),
    pytest.param(
        MAPOption, {"preference": 16, "valid_lifetime": 1, "address": A1}, id="map-pref-16"
    ),
    pytest.param(MAPOption, {"valid_lifetime": 2**32, "address": A1}, id="map-lifetime"),
    pytest.param(UnknownNDOption, {"option_type": 256, "data": bytes(6)}, id="unknown-type"),
    pytest.param(UnknownNDOption, {"option_type": 99, "data": bytes(7)}, id="unknown-not-8n-2"),
    pytest.param(UnknownNDOption, {"option_type": 99, "data": bytes(2046)}, id="unknown-too-long"),
]


@pytest.mark.parametrize(("cls", "kwargs"), INVALID)
def test_invalid_fields_raise_value_error(cls: type, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        MTUOption(1500)  # type: ignore[misc]


# --- The codec's address helpers --------------------------------------------------------------


@given(st.integers(0, 2**128 - 1))
def test_address_helpers_agree_with_ipaddress(value: int) -> None:
    reference = IPv6Address(value)
    for made in (address_from_int(value), address_from_bytes(reference.packed)):
        assert made == reference
        assert hash(made) == hash(reference)
        assert str(made) == str(reference)
        assert made.packed == reference.packed
    assert packed_address(reference) == reference.packed


def _addresses() -> st.SearchStrategy[object]:
    """IPv6 addresses (with and without a scope), near-misses of each other, None and
    other objects an ``==`` may meet."""
    values = st.sampled_from([0, 1, 2**128 - 1, 0x2001_0DB8 << 96, (0x2001_0DB8 << 96) | 1])
    values = values | st.integers(0, 2**128 - 1)
    plain = values.map(IPv6Address)
    scoped = st.tuples(values, st.sampled_from(["eth0", "1", "wlan0"])).map(
        lambda vs: IPv6Address(f"{IPv6Address(vs[0])}%{vs[1]}"))
    made = values.map(address_from_int)
    return st.one_of(plain, scoped, made, st.none(),
                     st.integers(0, 2**32 - 1).map(IPv4Address), st.just("2001:db8::1"))


@given(_addresses(), _addresses())
def test_same_address_is_equality(a: object, b: object) -> None:
    # The agents compare addresses with it instead of ``==``: the same verdict for every pair
    # (the fast helper itself, and whichever the module chose on this interpreter).
    for same in (_fast_same_address, same_address):
        assert same(a, b) == (a == b)  # type: ignore[arg-type]
        assert same(a, a) is True  # type: ignore[arg-type]


@given(st.integers(0, 2**128 - 1), st.integers(0, 127))
def test_same_address_tells_addresses_one_bit_apart(value: int, bit: int) -> None:
    address = address_from_int(value)
    for same in (_fast_same_address, same_address):
        assert same(address, IPv6Address(value))
        assert not same(address, IPv6Address(value ^ (1 << bit)))
        assert not same(IPv6Address(value ^ (1 << bit)), address)
        assert not same(address, IPv6Address(f"{IPv6Address(value)}%eth0"))


def test_same_address_is_the_fast_helper_on_cpython() -> None:
    assert same_address is _fast_same_address
