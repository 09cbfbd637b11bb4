"""RFC 6275 §9.2 at the mobile node: a bad Payload Proto or Header Len gets an ICMP Parameter
Problem sent directly to the packet's source, not a silent drop.

The offending Mobility Headers are laid out by hand from the RFC 6275 §6.1.1 / §6.1.2 figures
(a Binding Refresh Request: Payload Proto, Header Len, MH Type 0, Reserved, Checksum, Reserved),
not built by our encoder, which always writes Payload Proto 59.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.icmpv6 import ParameterProblem
from mipshop.wire.ipv6 import outer_mobility_header
from tests.protocol.scenario import CN_ADDRESSES, build, care_of

CN1 = CN_ADDRESSES["cn1"]
COA = care_of("visited1")
MULTICAST = IPv6Address("ff02::1")


def raw_brr(*, src: IPv6Address = CN1, dst: IPv6Address = COA, payload_proto: int = 59,
            header_len: int = 0, good_checksum: bool = True, hop_limit: int = 64) -> bytes:
    """IPv6 header + a Binding Refresh Request (MH Type 0), byte by byte (RFC 6275 §6.1.2)."""
    mh = bytearray(struct.pack("!BBBBHH", payload_proto, header_len, 0, 0, 0, 0))
    checksum = upper_layer_checksum(src, dst, 135, bytes(mh))
    if not good_checksum:
        checksum ^= 0x0101
    mh[4:6] = checksum.to_bytes(2, "big")
    header = struct.pack("!IHBB", 6 << 28, len(mh), 135, hop_limit) + src.packed + dst.packed
    return header + bytes(mh)


def away():
    scn = build(correspondents=("cn1",))
    scn.move("visited1", at=1.0)
    return scn


def problems(scn):
    return [(p.src, p.dst, p.payload) for r, p in scn.net.packets(ParameterProblem, sender="mn")]


@pytest.mark.parametrize(("payload_proto", "header_len", "pointer"), [
    (6, 0, 40),    # Payload Proto not IPPROTO_NONE: the pointer at Payload Proto (§9.2)
    (17, 0, 40),
    (59, 0xFF, 41),  # Header Len longer than the packet: the pointer at Header Len
])
def test_bad_mobility_header_gets_parameter_problem(payload_proto, header_len, pointer):
    scn = away()
    scn.run(5)
    raw = raw_brr(payload_proto=payload_proto, header_len=header_len)
    scn.net.inject(raw, "mn", "wlan0", at=5.0)
    scn.run(6)
    [(src, dst, problem)] = problems(scn)
    assert (src, dst) == (COA, CN1)  # directly to the packet's source, from where it arrived
    assert problem.code == 0 and problem.pointer == pointer
    assert problem.invoking_packet == raw
    assert scn.mn.counters["icmp.parameter_problem_sent"] == 1
    [event] = scn.net.events_of("icmp.parameter_problem", "mn")
    assert event.fields["pointer"] == pointer and event.fields["destination"] == CN1
    # It crosses the network to the correspondent (no binding cache is used to send it).
    assert any(r.sender == "mn" and p.dst == CN1 for r, p in scn.net.packets(ParameterProblem))
    assert not [d for d in scn.net.drops if d.sender == "mn"]


@pytest.mark.parametrize("case", ["bad_checksum", "multicast", "good"])
def test_no_parameter_problem(case):
    """§9.2 rule 1 (a wrong checksum is silently discarded) comes first; RFC 4443 §2.4 (e):
    no error to a multicast destination; a valid message is no problem at all."""
    scn = away()
    scn.run(5)
    raw = {
        "bad_checksum": raw_brr(payload_proto=6, good_checksum=False),
        "multicast": raw_brr(payload_proto=6, dst=MULTICAST),
        "good": raw_brr(),
    }[case]
    scn.net.inject(raw, "mn", "wlan0", at=5.0)
    scn.run(6)
    assert problems(scn) == []


def test_parameter_problems_are_rate_limited():
    """RFC 4443 §2.4 (f): ICMPv6 errors a node originates MUST be rate-limited."""
    scn = away()
    scn.run(5)
    for index in range(25):
        scn.net.inject(raw_brr(payload_proto=6), "mn", "wlan0", at=5.0 + index * 0.01)
    scn.run(6)
    assert len(problems(scn)) == 10
    assert scn.mn.counters["icmp.error_rate_limited"] == 15


def test_outer_mobility_header_locates_the_header_behind_options():
    """The Payload Proto offset counts the extension headers before it (the pointer)."""
    raw = raw_brr(payload_proto=6)
    assert outer_mobility_header(raw) == (40, True)
    assert outer_mobility_header(raw_brr(payload_proto=6, good_checksum=False)) == (40, False)
    assert outer_mobility_header(raw[:30]) is None


def test_checksum_with_home_address_option_uses_the_home_address():
    """RFC 6275 §6.1.1: the pseudo-header source is the Home Address option's address."""
    from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
    from mipshop.wire.ipv6 import IPv6Packet, encode_packet
    from mipshop.wire.mh import BindingRefreshRequest

    home = IPv6Address("2001:db8:1::100")
    data = bytearray(encode_packet(IPv6Packet(
        src=COA, dst=CN1, payload=BindingRefreshRequest(),
        extension_headers=(DestinationOptions(options=(HomeAddressOption(home_address=home),)),),
    )))
    offset = len(data) - 8
    data[offset] = 6
    data[offset + 4:offset + 6] = b"\0\0"
    data[offset + 4:offset + 6] = upper_layer_checksum(
        home, CN1, 135, bytes(data[offset:])).to_bytes(2, "big")
    assert offset > 40
    assert outer_mobility_header(bytes(data)) == (offset, True)
    data[offset + 4:offset + 6] = upper_layer_checksum(
        COA, CN1, 135, bytes(data[offset:offset + 4]) + b"\0\0" + bytes(data[offset + 6:])
    ).to_bytes(2, "big")
    assert outer_mobility_header(bytes(data)) == (offset, False)
