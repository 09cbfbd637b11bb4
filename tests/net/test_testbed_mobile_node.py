"""The mobile node's RFC 6275 §11 duties on real packets (netns testbed).

Each check reads packets captured on the switch ports (decoded with the wire layer) and the
daemons' state dumps; the probes that the kernel of another node sends (Neighbor
Solicitations, a UDP datagram from a plain socket) are packets mipshop did not build.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from mipshop.net.testbed import (
    HA_ADDRESS,
    HOME_ADDRESS,
    Testbed,
    TestbedOptions,
    care_of_address,
)
from mipshop.wire.icmpv6 import (
    DestinationUnreachable,
    EchoRequest,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
)
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingUpdate
from tests.net.test_testbed import binding, packets
from tests.tshark_support import dissect, walk

pytestmark = pytest.mark.netns

#: The mobile node's interface identifier is the home address's (2001:db8:1::100): its
#: link-local address fe80::100 is "compatible" (RFC 6275 §11.7.1).
MN_LINK_LOCAL = IPv6Address("fe80::100")
COA1 = IPv6Address("2001:db8:10::100")
HA_LINK_LOCAL = IPv6Address("fe80::1")
CORE_LINK_LOCAL = IPv6Address("fe80::fffe")
AR1_LINK_LOCAL = IPv6Address("fe80::a1")

#: An ICMPv6 Echo Request (RFC 4443 §4.1, laid out by hand; the kernel's raw socket fills in
#: the checksum) from the core router's home-link interface to a link-local address.
SEND_ECHO = ("import socket,sys; s=socket.socket(socket.AF_INET6,socket.SOCK_RAW,58); "
             "s.sendto(bytes([128,0,0,0,0,1,0,1])+b'probe', "
             "(sys.argv[1], 0, 0, socket.if_nametoindex('c-home')))")


@pytest.fixture
def compatible(tmp_path: Path) -> Iterator[Testbed]:
    options = TestbedOptions(pcap=str(tmp_path / "ports.pcap"),
                             capture_ports=("p-mn", "p-core"),
                             extra_entity_settings={"mn": {"interface_identifier": 0x100}})
    with Testbed(options) as tb:
        yield tb


def test_l_bit_the_home_agent_defends_the_link_local_address(compatible: Testbed,
                                                             tmp_path: Path) -> None:
    bed = compatible
    assert care_of_address("ar1") != COA1  # the identifier is not the MAC's
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    assert str(MN_LINK_LOCAL) in bed.state("ha")["claimed"]
    # A node on the home link (the core router's kernel) sends to fe80::100: its Neighbor
    # Solicitation is answered by the home agent's proxy, and the echo request gets an ICMP
    # Destination Unreachable Code 3 instead of being tunnelled (RFC 6275 §10.4.2).
    bed.exec("core", [sys.executable, "-c", SEND_ECHO, str(MN_LINK_LOCAL)])
    bed.wait_for(lambda: bed.events("ha", "ha.link_local_unreachable"),
                 what="Destination Unreachable")
    bed.move("home", link_down=0.05)
    bed.wait_for(lambda: bed.state("ha")["binding_cache"] == [], what="de-registration")
    assert str(MN_LINK_LOCAL) not in bed.state("ha")["claimed"]
    bed.wait_for(lambda: bed.events("mn", "home.deregistered"), what="the node's BA")
    bed.stop_capture()
    captured = packets(tmp_path / "ports.pcap")
    [bu, *_] = [p for p in captured if isinstance(p.payload, BindingUpdate)
                and p.payload.lifetime > 0]
    assert bu.payload.link_local_compat and bu.src == COA1  # the L bit on the wire
    solicitations = [p for p in captured if isinstance(p.payload, NeighborSolicitation)
                     and p.payload.target == MN_LINK_LOCAL and p.src == CORE_LINK_LOCAL]
    answers = [p for p in captured if isinstance(p.payload, NeighborAdvertisement)
               and p.payload.target == MN_LINK_LOCAL and p.dst == CORE_LINK_LOCAL]
    assert solicitations and answers  # the home agent answers for fe80::100
    unreachable = [p for p in captured if isinstance(p.payload, DestinationUnreachable)]
    assert unreachable and {(p.src, p.dst, p.payload.code) for p in unreachable} == {
        (HA_LINK_LOCAL, CORE_LINK_LOCAL, 3)}
    assert unreachable[0].payload.invoking_packet[24:40] == MN_LINK_LOCAL.packed
    # The echo is never tunnelled to the care-of address, nor forwarded back onto the home
    # link with a Redirect by the home agent's kernel.
    assert len([p for p in captured if isinstance(p.payload, EchoRequest)
                and p.dst == MN_LINK_LOCAL]) == 1
    assert not [p for p in captured if isinstance(p.payload, IPv6Packet)
                and p.payload.dst == MN_LINK_LOCAL]
    assert not [p for p in captured if getattr(p.payload, "icmp_type", None) == 137]
    # Back home, the node advertises its link-local address itself (§11.5.5).
    assert [p for p in captured if isinstance(p.payload, NeighborAdvertisement)
            and p.payload.target == MN_LINK_LOCAL and p.src == MN_LINK_LOCAL
            and p.payload.override]


def test_periodic_mobile_prefix_advertisements(tmp_path: Path) -> None:
    """RFC 6275 §10.6.2-3, §11.4.2-3 on real packets: the home agent's unsolicited Mobile
    Prefix Advertisement (to the care-of address, Type 2 Routing Header) every interval, the
    mobile node's solicitation acknowledging it and the solicited answer it accepts."""
    intervals = {"min_mobile_prefix_interval": 1.0, "max_mobile_prefix_interval": 1.0}
    options = TestbedOptions(pcap=str(tmp_path / "mn.pcap"),
                             extra_entity_settings={"ha": intervals})
    with Testbed(options) as bed:
        coa = care_of_address("ar1")
        bed.wait_for(lambda: binding(bed) == str(coa), what="home registration")
        bed.wait_for(lambda: len(bed.events("mn", "mobile_prefix.received")) >= 2,
                     timeout=15, what="two periodic rounds")
        periodic = [e for e in bed.events("ha", "mobile_prefix.advertisement")
                    if e["fields"]["periodic"]]
        assert len(periodic) >= 2 and not [
            e for e in bed.events("ha", "mobile_prefix.advertisement")
            if e["fields"]["retransmission"]]  # each acknowledged by a solicitation
        bed.stop_capture()
    captured = packets(tmp_path / "mn.pcap")
    ads = [p for p in captured if isinstance(p.payload, MobilePrefixAdvertisement)]
    solicitations = [p for p in captured if isinstance(p.payload, MobilePrefixSolicitation)]
    assert len(ads) >= 4 and len(solicitations) >= 2
    assert all((p.src, p.dst, p.routing_home_address) == (HA_ADDRESS, coa, HOME_ADDRESS)
               for p in ads)
    assert all((p.src, p.dst, p.home_address) == (coa, HA_ADDRESS, HOME_ADDRESS)
               for p in solicitations)
    answered = {p.payload.identifier for p in solicitations}
    assert answered <= {p.payload.identifier for p in ads}
    # Wireshark reads the advertisement as RFC 6275 §6.8 lays it out.
    layers = dissect([encode_packet(ads[0])])[0]
    assert layers["icmpv6"]["icmpv6.type"] == "147"
    assert dict(walk(layers)).get("ipv6.routing.type") == "2"


@pytest.mark.parametrize("detection", ["nud", "router_lifetime"])
def test_movement_detected_without_link_layer_triggers(tmp_path: Path, detection: str) -> None:
    """RFC 6275 §11.5.1 on real packets: the mobile node's port changes bridge and its daemon
    is told nothing.

    ``nud``: the new router's RA is held back while the node probes its default router
    (unicast Neighbor Solicitations, which the old router can no longer hear); when NUD fails
    the node moves. ``router_lifetime``: the routers advertise rarely (60 s) with a 3 s Router
    Lifetime; when ar1's runs out the node solicits, and ar2 answers (RFC 4861 §6.3.5, §6.3.7).
    Either way it registers its new care-of address."""
    options = TestbedOptions(pcap=str(tmp_path / "mn.pcap"))
    if detection == "router_lifetime":
        options = TestbedOptions(pcap=str(tmp_path / "mn.pcap"), ra_interval=60.0,
                                 extra_entity_settings={
                                     "ar1": {"router_lifetime": 3}, "ar2": {"router_lifetime": 3},
                                     "mn": {"lost_advertisements": 0}})
    with Testbed(options) as bed:
        coa1, coa2 = care_of_address("ar1"), care_of_address("ar2")
        bed.wait_for(lambda: binding(bed) == str(coa1), what="home registration")
        bed.move("ar2", link_down=0.05, silent=True)
        bed.wait_for(lambda: binding(bed) == str(coa2), timeout=15,
                     what="registration after NUD")
        assert len(bed.events("mn", "movement.link_up")) == 1  # the first attachment only
        lost = bed.events("mn", "movement.router_lost")
        reason = "unreachable" if detection == "nud" else "router_lifetime"
        assert lost and lost[-1]["fields"]["reason"] == reason
        deferred = bed.events("mn", "movement.ra_deferred")
        attempts = [e["fields"]["attempt"] for e in bed.events("mn", "movement.probe")]
        bed.stop_capture()
    probes = [p for p in packets(tmp_path / "mn.pcap")
              if isinstance(p.payload, NeighborSolicitation)
              and p.payload.target == AR1_LINK_LOCAL and p.dst == AR1_LINK_LOCAL]
    if detection == "nud":
        # The daemon's NUD: MAX_UNICAST_SOLICIT solicitations, each on the wire, unanswered on
        # ar2's link. The node's kernel runs its own NUD for the router's link-local address
        # (RFC 4861 §7.3) and, when the move finds its entry in DELAY, may add a probe of its
        # own (seen once in about twenty runs under load): the wire count is a floor.
        assert attempts[-3:] == [1, 2, 3] and max(attempts) == 3
        assert len(probes) >= 3
    else:
        assert probes == [] and deferred == []
    bus = [p for p in packets(tmp_path / "mn.pcap") if isinstance(p.payload, BindingUpdate)]
    assert bus[-1].src == care_of_address("ar2")


def test_parameter_problem_for_a_bad_payload_proto(tmp_path: Path) -> None:
    """RFC 6275 §9.2 on real packets: the correspondent host sends the mobile node's care-of
    address a Binding Refresh Request whose Payload Proto is 6 (laid out by hand, sent with
    a raw socket); the node answers with an ICMP Parameter Problem pointing at it."""
    from mipshop.net.testbed import CN_ADDRESS
    from mipshop.wire.errors import MalformedPacket
    from mipshop.wire.icmpv6 import ParameterProblem
    from mipshop.wire.ipv6 import decode_packet
    from mipshop.wire.pcap import read_pcap
    from tests.protocol.mipv6.test_parameter_problem import raw_brr

    with Testbed(TestbedOptions(pcap=str(tmp_path / "mn.pcap"))) as bed:
        coa = care_of_address("ar1")
        bed.wait_for(lambda: binding(bed) == str(coa), what="home registration")
        raw = raw_brr(src=CN_ADDRESS, dst=coa, payload_proto=6)
        send = ("import socket,sys; s=socket.socket(socket.AF_INET6,socket.SOCK_RAW,255); "
                "s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 0))")
        bed.exec("cn", [sys.executable, "-c", send, raw.hex(), str(coa)])
        bed.wait_for(lambda: bed.events("mn", "icmp.parameter_problem"), what="the answer")
        bed.stop_capture()
    decoded, refused = [], []
    for record in read_pcap(tmp_path / "mn.pcap"):
        try:
            decoded.append(decode_packet(record.data, verify_checksums=False))
        except MalformedPacket:
            refused.append(record.data)
    # The bad message crossed the mobile node's link as sent (two routers decremented the
    # hop limit, octet 7).
    assert [r[:7] + r[8:] for r in refused] == [raw[:7] + raw[8:]]
    [problem] = [p for p in decoded if isinstance(p.payload, ParameterProblem)]
    assert (problem.src, problem.dst) == (coa, CN_ADDRESS)
    assert problem.payload.code == 0 and problem.payload.pointer == 40
    assert problem.payload.invoking_packet[40] == 6
