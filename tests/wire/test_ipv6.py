"""Whole packets: Next Header chains, lengths, tunnels and the RFC 6275 §6.1.1 checksum rules."""

import hashlib
import struct
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.errors import MalformedPacket
from mipshop.wire.ext_headers import (
    DestinationOptions,
    HomeAddressOption,
    HopByHopOptions,
    OpaqueExtensionHeader,
    RawIPv6Option,
    RoutingHeaderType2,
)
from mipshop.wire.icmpv6 import EchoRequest
from mipshop.wire.ipv6 import (
    IPv6Packet,
    RawPayload,
    UDPDatagram,
    _walk_to_mobility_header,
    decode_packet,
    encapsulate,
    encode_packet,
    mobility_header_bytes,
    packet_length,
)
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from tests.wire.strategies_icmpv6 import icmpv6_messages
from tests.wire.strategies_mh import mobility_messages

HOA = IPv6Address("2001:db8:1::100")
COA = IPv6Address("2001:db8:20::100")
HA = IPv6Address("2001:db8:1::1")
CN = IPv6Address("2001:db8:99::5")


def _reference_checksum(src: IPv6Address, dst: IPv6Address, proto: int, upper: bytes) -> int:
    """RFC 8200 §8.1 written out byte by byte, independent of mipshop.wire.checksum."""
    data = src.packed + dst.packed + struct.pack("!I3xB", len(upper), proto) + upper
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _home_bu() -> BindingUpdate:
    return BindingUpdate(
        sequence=7,
        lifetime=400,
        ack=True,
        home_registration=True,
        options=(AlternateCareOfAddress(address=COA),),
    )


def test_bu_with_home_address_option_checksums_over_the_home_address() -> None:
    packet = IPv6Packet(
        src=COA,
        dst=HA,
        payload=_home_bu(),
        extension_headers=(DestinationOptions(options=(HomeAddressOption(home_address=HOA),)),),
    )
    raw = encode_packet(packet)
    assert raw[6] == 60 and raw[40] == 135  # IPv6 -> Destination Options -> MH
    mh = bytearray(raw[64:])
    stated = int.from_bytes(mh[4:6], "big")
    mh[4:6] = b"\0\0"
    assert stated == _reference_checksum(HOA, HA, 135, bytes(mh))
    assert stated != _reference_checksum(COA, HA, 135, bytes(mh))
    assert decode_packet(raw) == packet


def test_ba_with_type2_routing_header_checksums_over_the_final_destination() -> None:
    packet = IPv6Packet(
        src=HA,
        dst=COA,
        payload=BindingAcknowledgement(status=0, sequence=7, lifetime=400),
        extension_headers=(RoutingHeaderType2(home_address=HOA),),
    )
    raw = encode_packet(packet)
    assert raw[6] == 43 and raw[40] == 135
    mh = bytearray(raw[64:])
    stated = int.from_bytes(mh[4:6], "big")
    mh[4:6] = b"\0\0"
    assert stated == _reference_checksum(HA, HOA, 135, bytes(mh))
    assert decode_packet(raw) == packet


def test_a_wrong_checksum_is_refused_unless_asked_not_to_verify() -> None:
    raw = bytearray(encode_packet(IPv6Packet(src=COA, dst=HA, payload=_home_bu())))
    raw[44] ^= 0xFF
    with pytest.raises(MalformedPacket, match="bad checksum") as info:
        decode_packet(bytes(raw))
    assert info.value.offset == 44
    assert decode_packet(bytes(raw), verify_checksums=False).payload == _home_bu()


def test_udp_zero_checksum_is_sent_as_all_ones_and_refused_on_receipt() -> None:
    # Search a payload whose checksum computes to 0 to exercise RFC 768's rule.
    for n in range(70000):
        data = n.to_bytes(4, "big")
        upper = struct.pack("!HHHH", 1, 2, 12, 0) + data
        if upper_layer_checksum(CN, HOA, 17, upper) == 0:
            break
    else:
        pytest.fail("no zero-checksum payload found")
    raw = encode_packet(
        IPv6Packet(src=CN, dst=HOA, payload=UDPDatagram(src_port=1, dst_port=2, data=data))
    )
    assert raw[46:48] == b"\xff\xff"
    assert decode_packet(raw).payload.data == data
    zeroed = raw[:46] + b"\0\0" + raw[48:]
    with pytest.raises(MalformedPacket, match="UDP checksum is zero"):
        decode_packet(zeroed)


def test_ipv6_in_ipv6_tunnel() -> None:
    inner = IPv6Packet(
        src=CN, dst=HOA, payload=UDPDatagram(src_port=5000, dst_port=6000, data=b"x" * 50)
    )
    outer = encapsulate(inner, src=HA, dst=COA)
    raw = encode_packet(outer)
    assert raw[6] == 41 and struct.unpack("!H", raw[4:6])[0] == 40 + 8 + 50
    assert raw[40:] == encode_packet(inner)
    assert decode_packet(raw) == outer


def test_opaque_headers_are_skipped_to_the_upper_layer() -> None:
    packet = IPv6Packet(
        src=CN,
        dst=HOA,
        extension_headers=(
            HopByHopOptions(options=(RawIPv6Option(option_type=5, data=b"\0\0"),)),
            OpaqueExtensionHeader(header_type=43, data=bytes([0, 0]) + bytes(4)),
            OpaqueExtensionHeader(header_type=44, data=bytes(6)),
            OpaqueExtensionHeader(header_type=51, data=bytes(14)),
        ),
        payload=EchoRequest(identifier=1, sequence=2, data=b"ping"),
    )
    assert decode_packet(encode_packet(packet)) == packet


def test_tcp_is_carried_opaque_and_trailing_bytes_are_ignored() -> None:
    packet = IPv6Packet(
        src=CN, dst=HOA, payload=RawPayload(protocol=6, data=hashlib.sha256().digest())
    )
    raw = encode_packet(packet)
    assert decode_packet(raw + b"\0" * 6) == packet


@pytest.mark.parametrize(
    ("mutate", "offset", "reason"),
    [
        (lambda raw: raw[:39], 39, "IPv6 header truncated"),
        (lambda raw: b"\x40" + raw[1:], 0, "IP version 4"),
        (lambda raw: raw[:-1], 4, "payload length"),
        (lambda raw: raw[:4] + b"\0\x04" + raw[6:44], 44, "UDP header truncated"),
    ],
)
def test_malformed_packets_name_offset_and_reason(mutate, offset, reason) -> None:
    raw = encode_packet(
        IPv6Packet(src=CN, dst=HOA, payload=UDPDatagram(src_port=1, dst_port=2, data=b"abc"))
    )
    with pytest.raises(MalformedPacket, match=reason) as info:
        decode_packet(mutate(raw))
    assert info.value.offset == offset


def test_hop_by_hop_after_another_header_is_malformed() -> None:
    raw = encode_packet(
        IPv6Packet(
            src=CN,
            dst=HOA,
            payload=None,
            extension_headers=(DestinationOptions(), HopByHopOptions()),
        )
    )
    with pytest.raises(MalformedPacket, match="Hop-by-Hop"):
        decode_packet(raw)


addresses = st.builds(IPv6Address, st.integers(0, 2**128 - 1))
payloads = st.one_of(
    mobility_messages(),
    icmpv6_messages(),
    st.builds(
        UDPDatagram,
        src_port=st.integers(0, 65535),
        dst_port=st.integers(0, 65535),
        data=st.binary(max_size=64),
    ),
    st.builds(RawPayload, protocol=st.sampled_from([6, 50, 132]), data=st.binary(max_size=64)),
    st.none(),
)
headers = st.lists(
    st.one_of(
        st.builds(
            lambda a: DestinationOptions(options=(HomeAddressOption(home_address=a),)), addresses
        ),
        st.builds(RoutingHeaderType2, home_address=addresses),
        st.builds(
            OpaqueExtensionHeader, header_type=st.just(44), data=st.binary(min_size=6, max_size=6)
        ),
    ),
    max_size=3,
)


@st.composite
def packets(draw, depth: int = 0):
    payload = draw(payloads)
    if depth == 0 and draw(st.booleans()):
        payload = draw(packets(depth=1))
    return IPv6Packet(
        src=draw(addresses),
        dst=draw(addresses),
        payload=payload,
        extension_headers=tuple(draw(headers)),
        hop_limit=draw(st.integers(0, 255)),
        traffic_class=draw(st.integers(0, 255)),
        flow_label=draw(st.integers(0, 0xFFFFF)),
    )


@settings(max_examples=300)
@given(packets())
def test_any_packet_round_trips(packet: IPv6Packet) -> None:
    raw = encode_packet(packet)
    assert decode_packet(raw) == packet
    assert encode_packet(decode_packet(raw)) == raw


@settings(max_examples=300)
@given(packets())
def test_packet_length_is_the_encoded_length(packet: IPv6Packet) -> None:
    # The simulator sizes frames with packet_length and encodes only when bytes are needed.
    assert packet_length(packet) == len(encode_packet(packet))


def test_packet_length_of_every_sample_message() -> None:
    from mipshop.wire.samples import all_message_packets

    for packet in all_message_packets():
        tunnelled = encapsulate(packet, src=HA, dst=COA)
        assert packet_length(packet) == len(encode_packet(packet))
        assert packet_length(tunnelled) == len(encode_packet(tunnelled))


@settings(max_examples=100)
@given(packets(), st.data())
def test_every_truncation_raises_only_malformed_packet(packet: IPv6Packet, data) -> None:
    raw = encode_packet(packet)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(MalformedPacket):
        decode_packet(raw[:cut])



@settings(max_examples=400)
@given(packets(), st.integers(0, 80), st.binary(max_size=4))
def test_the_mobility_header_is_located_as_the_general_walk_locates_it(
        packet: IPv6Packet, cut: int, tail: bytes) -> None:
    # mobility_header_bytes finds the Mobility Header right after the IPv6 header or after
    # one Destination Options header without walking the chain: the same bytes (or None) as
    # the walk, for any packet, with or without headers and tunnels, and for truncated or
    # extended octets (the fast path must not read past what the walk would accept).
    raw = encode_packet(packet)
    for data in (raw, raw[:max(len(raw) - cut, 0)], raw + tail, raw[:42], raw[:40 + cut]):
        assert mobility_header_bytes(data) == _walk_to_mobility_header(data)


def test_the_mobility_header_fast_path_reaches_both_of_its_layouts() -> None:
    # A BU from a visited network (Destination Options, then the MH) and one from home (the
    # MH right after the IPv6 header): the fast path answers both, as the walk does.
    for headers in ((DestinationOptions(options=(HomeAddressOption(home_address=HOA),)),), ()):
        raw = encode_packet(IPv6Packet(
            src=COA, dst=HA, payload=BindingUpdate(sequence=1, lifetime=4),
            extension_headers=headers))
        found = mobility_header_bytes(raw)
        assert found is not None and found == _walk_to_mobility_header(raw)
        assert found[2] == 5 and len(found) == (found[1] + 1) * 8  # MH Type 5: a BU
