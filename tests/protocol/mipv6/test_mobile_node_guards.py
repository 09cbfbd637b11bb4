"""Mobile node MUSTs that mutation testing found unchecked: an optimistic care-of address
found duplicate is given up at once (RFC 4862 §5.4.5, RFC 4429 §3.3); a care-of address whose
DHCPv6 lease ran out is no longer used (RFC 8415 §18.2.10.1); back home, the node advertises
its home address with a valid, overriding Neighbor Advertisement (RFC 6275 §11.5.4, RFC 4861
§7.2.6)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import ConfigureAddress
from mipshop.protocol.base.addressing import solicited_node_address
from mipshop.protocol.base.link_events import LinkUp
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation, RouterSolicitation
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.nd_options import SourceLinkLayerAddress, TargetLinkLayerAddress
from tests.protocol.scenario import CN_ADDRESSES, HOME_ADDRESS, build, care_of

COA = care_of("visited1")
SOLICITED_NODE = IPv6Address("ff02::1:ff00:1")  # of COA (RFC 4291 §2.7.1)


@pytest.mark.parametrize(("case", "probe_at", "duplicate"), [
    ("another node's probe while the address is optimistic", 1.5, True),
    ("no probe", None, False),
])
def test_an_optimistic_care_of_address_found_duplicate_is_given_up(case, probe_at, duplicate):
    scn = build(mn={"optimistic_dad": True})
    scn.move("visited1", at=1.0)
    scn.run(1.2)
    assert scn.mn.care_of_address == COA and COA in scn.net.addresses("mn", "wlan0")
    if probe_at is not None:
        probe = IPv6Packet(src=IPv6Address("::"), dst=SOLICITED_NODE, hop_limit=255,
                           payload=NeighborSolicitation(target=COA))
        scn.net.inject(encode_packet(probe), "mn", "wlan0", at=probe_at)
    scn.run(1.6)
    assert scn.mn.care_of_address == (None if duplicate else COA)
    assert (COA in scn.net.addresses("mn", "wlan0")) is not duplicate


@pytest.mark.parametrize(("case", "lost", "kept"), [
    ("the care-of address's lease", COA, False),
    ("another address's lease", IPv6Address("2001:db8:11::99"), True),
])
def test_a_care_of_address_whose_lease_ran_out_is_no_longer_used(case, lost, kept):
    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    assert scn.mn.care_of_address == COA
    scn.net.at(5.1, lambda now: scn.mn.dhcp_lost(lost))
    scn.run(5.1001)  # before a new Router Advertisement can bring an address back
    assert (scn.mn.care_of_address == COA) is kept
    assert (COA in scn.net.addresses("mn", "wlan0")) is kept


def test_back_home_the_node_advertises_its_home_address():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.move("home", at=10.0)
    scn.run(15)
    nas = [p for _r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
           if p.payload.target == HOME_ADDRESS]
    assert nas
    for na in nas:
        # Hop limit 255 or every receiver discards it (RFC 4861 §7.1.2); O set, with the
        # node's link-layer address, so that caches pointing at the home agent are updated.
        assert (na.src, na.dst, na.hop_limit) == (HOME_ADDRESS, IPv6Address("ff02::1"), 255)
        assert na.payload.override and not na.payload.solicited
        assert [o.address for o in na.payload.options
                if isinstance(o, TargetLinkLayerAddress)] == [scn.mn.config.link_layer_address]


def test_no_packet_leaves_from_a_care_of_address_the_node_no_longer_has():
    """RFC 6275 §11.3.1: reverse-tunnelled packets leave from the care-of address of the
    node's last BU; after a move, while the new care-of address is still tentative, the
    previous one is no longer the node's, so nothing is tunnelled from it."""
    scn = build()
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=10.0)
    cn = IPv6Address("2001:db8:100::10")
    datagram = IPv6Packet(src=HOME_ADDRESS, dst=cn, payload=UDPDatagram(
        src_port=7, dst_port=9, data=b"x"))
    scn.net.at(10.5, lambda now: scn.mn.send_packet(datagram, now))
    scn.run(11)
    assert scn.mn.care_of_address is None  # DAD of the new address still running
    assert not [p for r, p in scn.net.packets(UDPDatagram, sender="mn") if r.time >= 10.0]
    assert scn.mn.counters["drop.no_binding"] == 1


def test_at_home_an_upper_layer_packet_leaves_as_it_is():
    """RFC 6275 §11.3.1 applies away from home only: at home the node is an ordinary host, so
    its packet leaves on its interface unchanged (no tunnel to the home agent, no Home Address
    option) and reaches the correspondent."""
    cn1 = CN_ADDRESSES["cn1"]
    scn = build(correspondents=("cn1",))
    scn.move("home", at=0.5)
    scn.run(2.0)
    assert scn.mn.at_home
    sent = IPv6Packet(src=HOME_ADDRESS, dst=cn1,
                      payload=UDPDatagram(src_port=9, dst_port=9, data=b"from home"))
    scn.net.at(2.5, lambda now: scn.mn.send_packet(sent, now))
    scn.run(3.0)
    out = [p for r, p in scn.net.packets(UDPDatagram, sender="mn") if r.time >= 2.5]
    assert out == [sent]
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "cn1"] == [
        b"from home"]


def _solicitation(target: IPv6Address) -> bytes:
    """A neighbour's Neighbor Solicitation for ``target`` (RFC 4861 §7.2.2)."""
    return encode_packet(IPv6Packet(
        src=IPv6Address("fe80::bbbb"), dst=solicited_node_address(target), hop_limit=255,
        payload=NeighborSolicitation(target=target, options=(
            SourceLinkLayerAddress(address=bytes.fromhex("02000000bbbb")),))))


@pytest.mark.parametrize(("case", "target", "kept"), [
    # Away from home the home address is not on the visited link: the home agent defends it
    # on the home link (RFC 6275 §10.4.1), the node does not on a foreign one.
    ("the home address, after leaving home", HOME_ADDRESS, False),
    # RFC 6275 §11.5.4: the care-of addresses of a link the node can no longer reach are
    # invalidated (its prefix is not advertised by the new default router).
    ("the previous care-of address, after the next move", care_of("visited1"), False),
    ("the current care-of address", care_of("visited2"), True),
])
def test_an_address_the_node_left_is_neither_configured_nor_answered_for(case, target, kept):
    """RFC 4861 §7.2.3: a node answers a solicitation only for an address assigned to the
    interface; an address it left on another link is no longer, and is not defended there."""
    scn = build()
    scn.move("home", at=0.5)
    scn.move("visited1", at=5.0)
    scn.move("visited2", at=15.0)
    scn.run(20.0)
    assert scn.mn.care_of_address == care_of("visited2")
    assert (target in scn.net.addresses("mn", "wlan0")) is kept
    scn.net.inject(_solicitation(target), "mn", "wlan0", at=20.5)
    scn.run(21.0)
    answers = [p for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
               if r.time >= 20.5 and p.payload.target == target]
    assert len(answers) == (1 if kept else 0)


AP1, AP2 = bytes.fromhex("00005e00aa01"), bytes.fromhex("00005e00aa02")


@pytest.mark.parametrize(("case", "first", "second", "link_up", "access_point"), [
    # RFC 6275 §11.5.1, RFC 4861 §6.3.7: an attachment is a possible movement: the next RA is
    # trusted and one is solicited at once, whether or not the link layer names the AP.
    ("a first LinkUp naming its AP", None, AP1, True, AP1),
    ("a LinkUp naming another AP, without a LinkDown", AP1, AP2, True, AP2),
    ("a second attachment naming no AP", "attach", "attach", True, None),
    # Only the naming of the AP the node is on already (found at attachment): no new
    # attachment, no Router Solicitation.
    ("the AP named after an attachment that did not name it", "attach", AP1, False, AP1),
])
def test_each_attachment_solicits_a_router_advertisement(case, first, second, link_up,
                                                          access_point):
    scn = build()
    scn.net.at(1.0, lambda now: scn.net.connect("mn", "wlan0", "visited1"))

    def attach(how):
        if how == "attach":
            return lambda now: scn.mn.attach(now)
        return lambda now: scn.mn.l2_trigger(LinkUp(ap=how), now)

    if first is not None:
        scn.net.at(1.0, attach(first))
    scn.net.at(3.0, attach(second))
    scn.run(5.0)
    ups = [e for e in scn.net.events_of("movement.link_up", "mn") if e.time >= 3.0]
    solicitations = [p for r, p in scn.net.packets(RouterSolicitation, sender="mn")
                     if r.time >= 3.0]
    assert (len(ups), len(solicitations)) == ((1, 1) if link_up else (0, 0))
    assert scn.mn.access_point == access_point
    assert scn.mn.care_of_address == care_of("visited1")


def test_optimistic_addresses_on_successive_links_are_each_registered():
    """RFC 4429 §3.3, RFC 6275 §11.5.2: with optimistic DAD each new care-of address is used
    and registered at once, and its DAD still runs to completion, link after link."""
    scn = build(mn={"optimistic_dad": True})
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=10.0)
    scn.move("visited3", at=20.0)
    scn.run(25.0)
    coas = [care_of(link) for link in ("visited1", "visited2", "visited3")]
    assert [e.fields["care_of_address"]
            for e in scn.net.events_of("home.registered", "mn")] == coas
    assert [e.fields["address"] for e in scn.net.events_of("dad.completed", "mn")] == coas
    assert scn.mn.care_of_address == coas[-1]


def test_nothing_is_registered_while_the_new_care_of_address_is_tentative():
    """RFC 4862 §5.4, RFC 6275 §11.5.3: a new care-of address is used (registered) once DAD
    allows it; a call for registrations meanwhile (a client's, or the old binding running
    out, ``HomeRegistration``) sends no Binding Update."""
    scn = build()
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=10.0)
    scn.net.at(10.5, lambda now: scn.mn.update_registrations())
    scn.run(15.0)
    assert scn.mn.care_of_address == care_of("visited2")
    [dad] = [e for e in scn.net.events_of("coa.configured", "mn") if e.time >= 10.0]
    sent = [e for e in scn.net.events_of("home.bu_sent", "mn") if e.time >= 10.0]
    assert [(e.time, e.fields["care_of_address"]) for e in sent] == [
        (dad.time, care_of("visited2"))]


@pytest.mark.parametrize("optimistic", [False, True], ids=["after DAD", "optimistic"])
def test_the_care_of_address_is_configured_with_its_on_link_prefix(monkeypatch, optimistic):
    """RFC 4862 §5.5.3, RFC 4861 §6.3.4: a stateless care-of address is configured with the
    /64 its RA advertised (the runtimes add the on-link route from it), with or without
    optimistic DAD."""
    scn = build(mn={"optimistic_dad": optimistic})
    log: list[ConfigureAddress] = []
    act = MobileNode.act

    def recording(self, action) -> None:
        if self is scn.mn and isinstance(action, ConfigureAddress):
            log.append(action)
        act(self, action)
    monkeypatch.setattr(MobileNode, "act", recording)
    scn.move("visited1", at=1.0)
    scn.run(5.0)
    assert scn.mn.care_of_address == care_of("visited1")
    assert [(a.prefix_length, a.active) for a in log if a.address == care_of("visited1")] == [
        (64, True)]
