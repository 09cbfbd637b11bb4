"""Neighbor Discovery addressed to a bound RCoA stays at the MAP (docs/mutation.md, tenth
run): RFC 6275 §10.4.1, which RFC 5380 §6.2 applies to the MAP, never tunnels Neighbor
Discovery to the mobile node, whatever class the message was decoded into."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from tests.protocol.hmip_scenario import local_bu
from tests.protocol.hmipv6.test_map import RCOA, build_hmip, inject

NEIGHBOR = IPv6Address("2001:db8:a1::99")


@pytest.mark.parametrize(("payload", "tunnelled"), [
    (NeighborSolicitation(target=RCOA), False),
    (NeighborAdvertisement(target=NEIGHBOR, solicited=True), False),
    (UDPDatagram(src_port=1, dst_port=2, data=b"d"), True),
])
def test_neighbor_discovery_for_a_bound_rcoa_is_never_tunnelled(payload, tunnelled):
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    map1 = scn.maps["map1"]
    before = map1.counters["tunnel.encapsulated"]
    packet = IPv6Packet(src=NEIGHBOR, dst=RCOA, hop_limit=255, payload=payload)
    scn.net.inject(encode_packet(packet), "map1", "eth0", at=2.0)
    scn.run(3)
    assert map1.counters["tunnel.encapsulated"] - before == int(tunnelled)
    assert map1.counters["drop.nd_not_tunnelled"] == int(not tunnelled)
