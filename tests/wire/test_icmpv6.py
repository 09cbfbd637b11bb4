"""ICMPv6 messages (RFC 4443, RFC 4861, RFC 6275 §6.5-§7, RFC 5568 §6.1, RFC 5268 §6.2)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import pickle
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.icmpv6 import (
    ICMPV6_CHECKSUM_OFFSET,
    DestinationUnreachable,
    EchoReply,
    EchoRequest,
    FMIPv6Subtype,
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    IcmpHandoverAcknowledge,
    IcmpHandoverInitiate,
    ICMPv6Type,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    PacketTooBig,
    ParameterProblem,
    ProxyRouterAdvertisement,
    PrRtAdvCode,
    RouterAdvertisement,
    RouterPreference,
    RouterSolicitation,
    RouterSolicitationForProxy,
    TimeExceeded,
    UnknownICMPv6,
    decode_icmpv6,
    encode_icmpv6,
)
from mipshop.wire.nd_options import (
    IPAddressPrefix,
    LinkLayerAddress,
    MAPOption,
    MTUOption,
    NeighborAdvertisementAcknowledgment,
    PrefixInformation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
    encode_nd_options,
)

from .strategies_icmpv6 import icmpv6_messages

MAC = bytes.fromhex("0a1b2c3d4e5f")
AP = bytes.fromhex("00aabbccddee")
A1 = IPv6Address("2001:db8::1")
A2 = IPv6Address("2001:db8:ff::2")
A3 = IPv6Address("fe80::3")
H1, H2, H3 = A1.packed.hex(), A2.packed.hex(), A3.packed.hex()
SLLA = SourceLinkLayerAddress(address=MAC)
SLLA_HEX = "0101" + MAC.hex()

ALL_MESSAGE_CLASSES = [
    DestinationUnreachable,
    PacketTooBig,
    TimeExceeded,
    ParameterProblem,
    EchoRequest,
    EchoReply,
    RouterSolicitation,
    RouterAdvertisement,
    NeighborSolicitation,
    NeighborAdvertisement,
    HomeAgentAddressDiscoveryRequest,
    HomeAgentAddressDiscoveryReply,
    MobilePrefixSolicitation,
    MobilePrefixAdvertisement,
    RouterSolicitationForProxy,
    ProxyRouterAdvertisement,
    IcmpHandoverInitiate,
    IcmpHandoverAcknowledge,
    UnknownICMPv6,
]


# --- Exact bytes ------------------------------------------------------------------------------

EXACT = [
    # RFC 4861 §4.1
    pytest.param(RouterSolicitation(), "85000000" + "00000000", id="rs"),
    pytest.param(
        RouterSolicitation(options=(SLLA,)), "85000000" + "00000000" + SLLA_HEX, id="rs+slla"
    ),
    # RFC 4861 §4.2 / RFC 6275 §7.1 / RFC 4191 §2.2: M 0x80 O 0x40 H 0x20 Prf 0x18.
    pytest.param(
        RouterAdvertisement(
            cur_hop_limit=64,
            home_agent=True,
            router_lifetime=1800,
            reachable_time=30.0,
            retrans_timer=1.0,
        ),
        "86000000" + "40" + "20" + "0708" + "00007530" + "000003e8",
        id="ra-H-0x20-times-in-ms",
    ),
    pytest.param(
        RouterAdvertisement(cur_hop_limit=255, managed=True, router_lifetime=0),
        "86000000" + "ff" + "80" + "0000" + "00000000" + "00000000",
        id="ra-M",
    ),
    pytest.param(
        RouterAdvertisement(cur_hop_limit=0, other=True, router_lifetime=9000),
        "86000000" + "00" + "40" + "2328" + "00000000" + "00000000",
        id="ra-O",
    ),
    pytest.param(
        RouterAdvertisement(
            cur_hop_limit=64,
            managed=True,
            other=True,
            home_agent=True,
            preference=RouterPreference.HIGH,
            router_lifetime=1800,
        ),
        "86000000" + "40" + "e8" + "0708" + "00000000" + "00000000",
        id="ra-MOH-high",
    ),
    pytest.param(
        RouterAdvertisement(cur_hop_limit=64, preference=RouterPreference.LOW),
        "86000000" + "40" + "18" + "0708" + "00000000" + "00000000",
        id="ra-prf-low-11",
    ),
    pytest.param(
        RouterAdvertisement(cur_hop_limit=64, preference=RouterPreference.RESERVED),
        "86000000" + "40" + "10" + "0708" + "00000000" + "00000000",
        id="ra-prf-reserved-10",
    ),
    pytest.param(
        RouterAdvertisement(
            cur_hop_limit=64,
            home_agent=True,
            router_lifetime=1800,
            options=(
                SLLA,
                PrefixInformation(prefix_length=64, router_address=True, prefix=A1),
                MAPOption(distance=2, preference=9, r_flag=True, valid_lifetime=600, address=A2),
            ),
        ),
        "86000000"
        + "40"
        + "20"
        + "0708"
        + "00000000"
        + "00000000"
        + SLLA_HEX
        + "0304"
        + "40"
        + "e0"
        + "ffffffff" * 2
        + "00000000"
        + H1
        + "1703"
        + "29"
        + "80"
        + "00000258"
        + H2,
        id="ra-slla-pio-map",
    ),
    # RFC 5568 §6.4.6: the NAACK rides in a Router Advertisement.
    pytest.param(
        RouterAdvertisement(
            cur_hop_limit=64,
            router_lifetime=1800,
            options=(NeighborAdvertisementAcknowledgment(status=2, new_care_of_address=A2),),
        ),
        "86000000"
        + "40"
        + "00"
        + "0708"
        + "00000000"
        + "00000000"
        + "1403"
        + "00"
        + "02"
        + "00000000"
        + H2,
        id="ra-naack",
    ),
    # RFC 4861 §4.3 / §4.4
    pytest.param(
        NeighborSolicitation(target=A1, options=(SLLA,)),
        "87000000" + "00000000" + H1 + SLLA_HEX,
        id="ns",
    ),
    pytest.param(
        NeighborAdvertisement(router=True, solicited=True, override=True, target=A1),
        "88000000" + "e0000000" + H1,
        id="na-RSO",
    ),
    pytest.param(
        NeighborAdvertisement(solicited=True, target=A1),
        "88000000" + "40000000" + H1,
        id="na-S",
    ),
    # RFC 5568 §6.3: the UNA has R = S = O = 0 and a Target LLA option.
    pytest.param(
        NeighborAdvertisement.unsolicited(target=A2, link_layer_address=MAC),
        "88000000" + "00000000" + H2 + "0201" + MAC.hex(),
        id="una",
    ),
    # RFC 6275 §6.5 / §6.6 (R: RFC 3963 §7)
    pytest.param(
        HomeAgentAddressDiscoveryRequest(identifier=0x1234),
        "90000000" + "1234" + "0000",
        id="dhaad-request",
    ),
    pytest.param(
        HomeAgentAddressDiscoveryRequest(identifier=0xFFFF, mobile_router=True),
        "90000000" + "ffff" + "8000",
        id="dhaad-request-R",
    ),
    pytest.param(
        HomeAgentAddressDiscoveryReply(identifier=7),
        "91000000" + "0007" + "0000",
        id="dhaad-reply-0",
    ),
    pytest.param(
        HomeAgentAddressDiscoveryReply(identifier=7, home_agents=(A1,)),
        "91000000" + "0007" + "0000" + H1,
        id="dhaad-reply-1",
    ),
    pytest.param(
        HomeAgentAddressDiscoveryReply(identifier=7, home_agents=(A1, A2, A3), mobile_router=True),
        "91000000" + "0007" + "8000" + H1 + H2 + H3,
        id="dhaad-reply-3",
    ),
    # RFC 6275 §6.7 / §6.8
    pytest.param(
        MobilePrefixSolicitation(identifier=0xBEEF), "92000000" + "beef" + "0000", id="mps"
    ),
    pytest.param(
        MobilePrefixAdvertisement(
            identifier=0xBEEF,
            managed=True,
            other=True,
            options=(PrefixInformation(prefix_length=64, prefix=A1),),
        ),
        "93000000" + "beef" + "c000" + "0304" + "40" + "c0" + "ffffffff" * 2 + "00000000" + H1,
        id="mpa-MO",
    ),
    pytest.param(
        MobilePrefixAdvertisement(identifier=1, other=True),
        "93000000" + "0001" + "4000",
        id="mpa-O",
    ),
    # RFC 5568 §6.1.1 / §6.1.2
    pytest.param(
        RouterSolicitationForProxy(
            identifier=0x0102,
            options=(
                LinkLayerAddress(option_code=4, address=MAC),
                LinkLayerAddress(option_code=1, address=AP),
            ),
        ),
        "9a000000"
        + "02"
        + "00"
        + "0102"
        + "1302"
        + "04"
        + MAC.hex()
        + "00" * 7
        + "1302"
        + "01"
        + AP.hex()
        + "00" * 7,
        id="rtsolpr",
    ),
    pytest.param(
        ProxyRouterAdvertisement(
            code=PrRtAdvCode.NETWORK_INITIATED,
            identifier=0,
            options=(
                LinkLayerAddress(option_code=1, address=AP),
                LinkLayerAddress(option_code=3, address=MAC),
                IPAddressPrefix(option_code=3, prefix_length=128, address=A1),
                IPAddressPrefix(option_code=4, prefix_length=64, address=A2),
            ),
        ),
        "9a010000"
        + "03"
        + "00"
        + "0000"
        + "1302"
        + "01"
        + AP.hex()
        + "00" * 7
        + "1302"
        + "03"
        + MAC.hex()
        + "00" * 7
        + "1103"
        + "03"
        + "80"
        + "00000000"
        + H1
        + "1103"
        + "04"
        + "40"
        + "00000000"
        + H2,
        id="prrtadv-code1",
    ),
    pytest.param(
        ProxyRouterAdvertisement(code=5, identifier=9), "9a050000" + "03000009", id="prrtadv-code5"
    ),
    # RFC 5268 §6.2.1 / §6.2.2 (deprecated ICMP HI / HAck): S 0x80, U 0x40.
    pytest.param(
        IcmpHandoverInitiate(code=0, identifier=3, assigned_address=True, buffer=True),
        "9a000000" + "04" + "c0" + "0003",
        id="hi-SU",
    ),
    pytest.param(
        IcmpHandoverInitiate(code=1, identifier=3, buffer=True), "9a010000" + "04400003", id="hi-U"
    ),
    pytest.param(
        IcmpHandoverAcknowledge(code=130, identifier=3), "9a820000" + "05000003", id="hack-130"
    ),
    # RFC 4443
    pytest.param(
        DestinationUnreachable(code=4, invoking_packet=b"\x60abc"),
        "01040000" + "00000000" + "60616263",
        id="dest-unreach",
    ),
    pytest.param(
        PacketTooBig(mtu=1280, invoking_packet=b"\x60"), "02000000" + "00000500" + "60", id="ptb"
    ),
    pytest.param(TimeExceeded(code=1), "03010000" + "00000000", id="time-exceeded"),
    pytest.param(
        ParameterProblem(code=0, pointer=42, invoking_packet=b"\x60\x00"),
        "04000000" + "0000002a" + "6000",
        id="param-problem",
    ),
    pytest.param(
        EchoRequest(identifier=1, sequence=2, data=b"hi"),
        "80000000" + "00010002" + "6869",
        id="echo-request",
    ),
    pytest.param(
        EchoReply(identifier=0xFFFF, sequence=0), "81000000" + "ffff0000", id="echo-reply"
    ),
    pytest.param(
        UnknownICMPv6(icmp_type=137, code=0, body=bytes(36)),
        "89000000" + "00" * 36,
        id="unknown-redirect",
    ),
    pytest.param(
        UnknownICMPv6(icmp_type=154, code=0, body=bytes.fromhex("06000001")),
        "9a000000" + "06000001",
        id="unknown-fmipv6-subtype-6",
    ),
]


@pytest.mark.parametrize(("message", "wire"), EXACT)
def test_exact_bytes_encode(message: object, wire: str) -> None:
    assert encode_icmpv6(message).hex() == wire  # type: ignore[arg-type]


@pytest.mark.parametrize(("message", "wire"), EXACT)
def test_exact_bytes_decode(message: object, wire: str) -> None:
    assert decode_icmpv6(bytes.fromhex(wire)) == message


@pytest.mark.parametrize("count", [0, 1, 2, 5, 40])
def test_dhaad_reply_with_n_addresses(count: int) -> None:
    agents = tuple(IPv6Address(0x20010DB8 << 96 | i) for i in range(count))
    wire = encode_icmpv6(HomeAgentAddressDiscoveryReply(identifier=9, home_agents=agents))
    assert len(wire) == 8 + 16 * count
    assert wire[8:] == b"".join(a.packed for a in agents)
    decoded = decode_icmpv6(wire)
    assert isinstance(decoded, HomeAgentAddressDiscoveryReply)
    assert decoded.home_agents == agents


@pytest.mark.parametrize("extra", [1, 8, 15, 17])
def test_dhaad_reply_length_must_be_whole_addresses(extra: int) -> None:
    with pytest.raises(MalformedPacket, match="multiple of 16"):
        decode_icmpv6(bytes.fromhex("91000000" + "00070000") + bytes(extra))


def test_dhaad_request_has_nothing_after_the_header() -> None:
    with pytest.raises(MalformedPacket, match="8 bytes"):
        decode_icmpv6(bytes.fromhex("90000000" + "00070000" + "00"))


@pytest.mark.parametrize(("bits", "preference"), [(0x00, 0), (0x08, 1), (0x10, 2), (0x18, -1)])
def test_ra_preference_bits(bits: int, preference: int) -> None:
    # RFC 4191 §2.1: 01 high, 00 medium, 11 low, 10 reserved.
    wire = bytes.fromhex("86000000" + "40") + bytes([bits]) + bytes(10)
    ra = decode_icmpv6(wire)
    assert isinstance(ra, RouterAdvertisement)
    assert ra.preference == preference
    assert encode_icmpv6(ra) == wire


def test_ra_reserved_bits_are_ignored() -> None:
    # Flags byte 0x07 (P of RFC 4389 and two reserved bits) and a non-zero checksum.
    ra = decode_icmpv6(bytes.fromhex("8600abcd" + "40" + "27" + "0708" + "00" * 8))
    assert ra == RouterAdvertisement(cur_hop_limit=64, home_agent=True, router_lifetime=1800)


def test_ra_times_round_to_milliseconds() -> None:
    ra = RouterAdvertisement(reachable_time=0.0306, retrans_timer=4294967.295)
    assert encode_icmpv6(ra)[8:16].hex() == "0000001f" + "ffffffff"


def test_una_helper() -> None:
    una = NeighborAdvertisement.unsolicited(target=A2, link_layer_address=MAC)
    assert (una.router, una.solicited, una.override) == (False, False, False)
    assert una.is_una
    assert una.options == (TargetLinkLayerAddress(address=MAC),)
    assert not NeighborAdvertisement(override=True, target=A2).is_una


@pytest.mark.parametrize(("options", "expected"), [
    ((), None),
    ((SourceLinkLayerAddress(address=MAC),), None),
    ((MTUOption(mtu=1500), TargetLinkLayerAddress(address=MAC)), MAC),
    ((TargetLinkLayerAddress(address=MAC), TargetLinkLayerAddress(address=b"\x02" * 6)), MAC),
])
def test_na_target_link_layer_address_is_the_first_tlla_option(
        options: tuple[Any, ...], expected: bytes | None) -> None:
    na = NeighborAdvertisement(override=True, target=A2, options=options)
    assert na.target_link_layer_address == expected


# --- Round trips ------------------------------------------------------------------------------


@given(icmpv6_messages())
def test_round_trip_model_bytes_model(message: object) -> None:
    wire = encode_icmpv6(message)  # type: ignore[arg-type]
    assert wire[ICMPV6_CHECKSUM_OFFSET : ICMPV6_CHECKSUM_OFFSET + 2] == b"\x00\x00"
    decoded = decode_icmpv6(wire)
    assert decoded == message
    assert type(decoded) is type(message)
    assert hash(decoded) == hash(message)


@given(icmpv6_messages())
def test_round_trip_bytes_model_bytes(message: object) -> None:
    wire = encode_icmpv6(message)  # type: ignore[arg-type]
    assert encode_icmpv6(decode_icmpv6(wire)) == wire


@given(icmpv6_messages(), st.integers(0, 0xFFFF))
def test_checksum_value_is_ignored(message: object, checksum: int) -> None:
    wire = bytearray(encode_icmpv6(message))  # type: ignore[arg-type]
    wire[2:4] = checksum.to_bytes(2, "big")
    assert decode_icmpv6(bytes(wire)) == message


def test_every_message_class_is_drawn_by_the_strategy() -> None:
    seen: set[type] = set()

    @settings(max_examples=1500, phases=[Phase.generate], database=None)
    @given(icmpv6_messages())
    def collect(value: object) -> None:
        seen.add(type(value))

    collect()
    assert seen == set(ALL_MESSAGE_CLASSES)


@pytest.mark.parametrize("cls", ALL_MESSAGE_CLASSES)
def test_class_metadata(cls: type) -> None:
    assert isinstance(cls.NAME, str) and cls.NAME.islower() and " " not in cls.NAME
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.FLAGS) <= names
    assert "code" in names
    if cls is UnknownICMPv6:
        assert cls.ICMP_TYPE is None
    else:
        assert cls.ICMP_TYPE in {int(t) for t in ICMPv6Type}
    if cls.ICMP_TYPE == ICMPv6Type.FMIPV6:
        assert cls.SUBTYPE in {int(s) for s in FMIPv6Subtype}


def test_flag_letters() -> None:
    assert RouterAdvertisement.FLAGS == {"managed": "M", "other": "O", "home_agent": "H"}
    assert NeighborAdvertisement.FLAGS == {"router": "R", "solicited": "S", "override": "O"}
    assert MobilePrefixAdvertisement.FLAGS == {"managed": "M", "other": "O"}
    assert IcmpHandoverInitiate.FLAGS == {"assigned_address": "S", "buffer": "U"}


def test_echo_request_and_reply_are_distinct() -> None:
    assert not isinstance(EchoReply(), EchoRequest)
    assert EchoReply(identifier=1) != EchoRequest(identifier=1)


def test_decoded_messages_are_frozen() -> None:
    ra = decode_icmpv6(encode_icmpv6(RouterAdvertisement()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ra.cur_hop_limit = 1  # type: ignore[misc]


@given(icmpv6_messages())
def test_decoded_messages_pickle_copy_and_replace(message: object) -> None:
    decoded = decode_icmpv6(encode_icmpv6(message))  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(decoded)) == message
    assert copy.deepcopy(decoded) == message
    assert dataclasses.replace(decoded) == message  # type: ignore[type-var]


def test_replace_on_a_decoded_message_validates() -> None:
    decoded = decode_icmpv6(encode_icmpv6(RouterAdvertisement()))
    with pytest.raises(ValueError, match="preference"):
        dataclasses.replace(decoded, preference=5)  # type: ignore[type-var]


def test_lists_become_tuples() -> None:
    rs = RouterSolicitation(options=[SLLA])  # type: ignore[arg-type]
    assert rs.options == (SLLA,)
    reply = HomeAgentAddressDiscoveryReply(identifier=1, home_agents=[A1])  # type: ignore[arg-type]
    assert reply.home_agents == (A1,)


def test_lla_length_is_passed_to_the_options() -> None:
    eui64 = bytes(range(8))
    wire = encode_icmpv6(RouterSolicitation(options=(SourceLinkLayerAddress(address=eui64),)))
    assert decode_icmpv6(wire, lla_length=8) == RouterSolicitation(
        options=(SourceLinkLayerAddress(address=eui64),)
    )
    with pytest.raises(MalformedPacket):
        decode_icmpv6(wire)
    with pytest.raises(ValueError, match="lla_length"):
        decode_icmpv6(wire, lla_length=0)


def test_decode_accepts_bytes_like() -> None:
    wire = encode_icmpv6(EchoRequest(identifier=5, data=b"x"))
    assert decode_icmpv6(bytearray(wire)) == decode_icmpv6(memoryview(wire))


def test_encode_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="not an ICMPv6 message"):
        encode_icmpv6(MTUOption(mtu=1))  # type: ignore[arg-type]


# --- Malformed input --------------------------------------------------------------------------

MINIMUM_LENGTHS = [
    pytest.param(1, 8, id="dest-unreach"),
    pytest.param(2, 8, id="packet-too-big"),
    pytest.param(3, 8, id="time-exceeded"),
    pytest.param(4, 8, id="param-problem"),
    pytest.param(128, 8, id="echo-request"),
    pytest.param(129, 8, id="echo-reply"),
    pytest.param(133, 8, id="rs"),
    pytest.param(134, 16, id="ra"),
    pytest.param(135, 24, id="ns"),
    pytest.param(136, 24, id="na"),
    pytest.param(144, 8, id="dhaad-request"),
    pytest.param(145, 8, id="dhaad-reply"),
    pytest.param(146, 8, id="mps"),
    pytest.param(147, 8, id="mpa"),
    pytest.param(154, 8, id="fmipv6"),
    pytest.param(200, 4, id="unknown"),
]


@pytest.mark.parametrize(("icmp_type", "minimum"), MINIMUM_LENGTHS)
def test_minimum_lengths(icmp_type: int, minimum: int) -> None:
    for size in range(minimum):
        with pytest.raises(MalformedPacket, match="truncated") as info:
            decode_icmpv6(bytes([icmp_type]) + bytes(max(size - 1, 0)) if size else b"")
        assert info.value.offset == size
    body = bytes([icmp_type]) + bytes(minimum - 1)
    if icmp_type == 154:
        body = bytes.fromhex("9a000000" + "02000000")
    decode_icmpv6(body)


def test_option_errors_carry_message_offsets() -> None:
    wire = (
        encode_icmpv6(RouterAdvertisement()) + bytes.fromhex("0101") + MAC + bytes.fromhex("0500")
    )
    with pytest.raises(MalformedPacket, match="length 0") as info:
        decode_icmpv6(wire + bytes(6))
    assert info.value.offset == 16 + 8 + 1
    with pytest.raises(MalformedPacket, match="runs past the end") as info:
        decode_icmpv6(encode_icmpv6(NeighborSolicitation(target=A1)) + bytes.fromhex("0102") + MAC)
    assert info.value.offset == 24 + 1


@given(icmpv6_messages())
def test_truncation_at_every_byte(message: object) -> None:
    wire = encode_icmpv6(message)  # type: ignore[arg-type]
    for cut in range(len(wire)):
        try:
            decoded = decode_icmpv6(wire[:cut])
        except MalformedPacket:
            continue
        # A cut can fall on an option boundary or inside opaque data: then it is a valid,
        # shorter message that re-encodes to exactly the bytes kept.
        assert encode_icmpv6(decoded) == wire[:cut]


@given(
    icmpv6_messages(),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutation_fuzz_raises_only_malformed(
    message: object, mutations: list[tuple[int, int]]
) -> None:
    wire = bytearray(encode_icmpv6(message))  # type: ignore[arg-type]
    for where, value in mutations:
        wire[where % len(wire)] = value
    try:
        decoded = decode_icmpv6(bytes(wire))
    except MalformedPacket:
        return
    assert decode_icmpv6(encode_icmpv6(decoded)) == decoded


@given(
    st.sampled_from(sorted({1, 2, 3, 4, 128, 129, 133, 134, 135, 136, 144, 145, 146, 147, 154})),
    st.binary(max_size=120),
)
def test_random_bodies_raise_only_malformed(icmp_type: int, body: bytes) -> None:
    try:
        decoded = decode_icmpv6(bytes([icmp_type]) + body)
    except MalformedPacket:
        return
    assert decode_icmpv6(encode_icmpv6(decoded)) == decoded


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_malformed(wire: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        decode_icmpv6(wire)


def test_fmipv6_options_are_decoded_with_the_map_and_naack_rules() -> None:
    bad_map = bytes.fromhex("1703" + "0f" + "80" + "00000e10") + A2.packed
    with pytest.raises(MalformedPacket, match="Dist") as info:
        decode_icmpv6(encode_icmpv6(RouterAdvertisement()) + bad_map)
    assert info.value.offset == 16 + 2
    wire = encode_icmpv6(ProxyRouterAdvertisement()) + encode_nd_options(
        [NeighborAdvertisementAcknowledgment(status=128)]
    )
    assert decode_icmpv6(wire) == ProxyRouterAdvertisement(
        options=(NeighborAdvertisementAcknowledgment(status=128),)
    )


# --- Construction-time validation -------------------------------------------------------------

INVALID = [
    pytest.param(RouterSolicitation, {"code": 256}, id="rs-code"),
    pytest.param(RouterAdvertisement, {"cur_hop_limit": 256}, id="ra-hop-limit"),
    pytest.param(RouterAdvertisement, {"preference": 3}, id="ra-preference-3"),
    pytest.param(RouterAdvertisement, {"preference": -2}, id="ra-preference--2"),
    pytest.param(RouterAdvertisement, {"router_lifetime": 65536}, id="ra-lifetime"),
    pytest.param(RouterAdvertisement, {"reachable_time": -0.001}, id="ra-reachable-negative"),
    pytest.param(RouterAdvertisement, {"retrans_timer": 4294967.296}, id="ra-retrans-too-big"),
    pytest.param(RouterAdvertisement, {"reachable_time": float("inf")}, id="ra-reachable-inf"),
    pytest.param(NeighborSolicitation, {"target": "::1"}, id="ns-str-target"),
    pytest.param(NeighborAdvertisement, {"target": 1}, id="na-int-target"),
    pytest.param(HomeAgentAddressDiscoveryRequest, {"identifier": 65536}, id="dhaad-id"),
    pytest.param(
        HomeAgentAddressDiscoveryReply,
        {"identifier": 1, "home_agents": ("::1",)},
        id="dhaad-str-agent",
    ),
    pytest.param(MobilePrefixSolicitation, {"identifier": -1}, id="mps-id"),
    pytest.param(MobilePrefixAdvertisement, {"identifier": 1, "code": -1}, id="mpa-code"),
    pytest.param(RouterSolicitationForProxy, {"identifier": 1 << 16}, id="rtsolpr-id"),
    pytest.param(ProxyRouterAdvertisement, {"code": 256}, id="prrtadv-code"),
    pytest.param(IcmpHandoverInitiate, {"identifier": -1}, id="hi-id"),
    pytest.param(IcmpHandoverAcknowledge, {"identifier": 1, "code": 300}, id="hack-code"),
    pytest.param(DestinationUnreachable, {"invoking_packet": "x"}, id="du-str"),
    pytest.param(PacketTooBig, {"mtu": 2**32}, id="ptb-mtu"),
    pytest.param(ParameterProblem, {"pointer": -1}, id="pp-pointer"),
    pytest.param(EchoRequest, {"sequence": 65536}, id="echo-seq"),
    pytest.param(EchoReply, {"data": bytearray(b"x")}, id="echo-bytearray"),
    pytest.param(UnknownICMPv6, {"icmp_type": 256}, id="unknown-type"),
    pytest.param(UnknownICMPv6, {"icmp_type": 200, "body": None}, id="unknown-body"),
]


@pytest.mark.parametrize(("cls", "kwargs"), INVALID)
def test_invalid_fields_raise_value_error(cls: type, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_messages_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        EchoRequest(0, 1)  # type: ignore[misc]
