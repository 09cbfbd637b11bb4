"""Mobile node MUSTs that mutation testing found unchecked: an optimistic care-of address
found duplicate is given up at once (RFC 4862 §5.4.5, RFC 4429 §3.3); a care-of address whose
DHCPv6 lease ran out is no longer used (RFC 8415 §18.2.10.1); back home, the node advertises
its home address with a valid, overriding Neighbor Advertisement (RFC 6275 §11.5.4, RFC 4861
§7.2.6)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.nd_options import TargetLinkLayerAddress
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
