"""The RCoA as the source of traffic that does not need the home address (RFC 5380 §6.1):
"the mobile node can use its RCoA as the source address for such traffic, and the MAP
tunnels it as for the home address" (reverse tunnel LCoA -> MAP up, MAP -> LCoA down; the home
agent is not involved)."""

from __future__ import annotations

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from tests.harness import innermost
from tests.protocol.hmip_scenario import MAP_ADDRESSES, build_hmip, lcoa, rcoa
from tests.protocol.scenario import CN_ADDRESSES

MAP1 = MAP_ADDRESSES["map1"]
CN1 = CN_ADDRESSES["cn1"]
RCOA1 = rcoa("map1")


def paths(scn, data):
    """(sender, [outer header's (src, dst), ...]) for every logged copy of ``data``."""
    out = []
    for record, packet in scn.net.packets(UDPDatagram):
        if innermost(packet).payload.data != data:
            continue
        hops, p = [], packet
        while isinstance(p, IPv6Packet):
            hops.append((p.src, p.dst))
            p = p.payload
        out.append((record.sender, hops))
    return out


def send_local(scn, at, data, src=RCOA1):
    scn.net.at(at, lambda now: scn.mn.send_packet(IPv6Packet(
        src=src, dst=CN1, payload=UDPDatagram(src_port=7, dst_port=7, data=data)), now))


def reply(scn, at, data, dst=RCOA1):
    cn = scn.cns["cn1"]
    scn.net.at(at, lambda now: cn.send_packet(IPv6Packet(
        src=CN1, dst=dst, payload=UDPDatagram(src_port=7, dst_port=7, data=data)), now))


def test_traffic_from_the_rcoa_goes_through_the_map_only():
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    send_local(scn, 5.0, b"up")
    reply(scn, 5.5, b"down")
    scn.run(6)
    assert RCOA1 in scn.client.hosted  # given to the node's applications
    # Up: LCoA -> MAP around RCoA -> CN; the MAP forwards the inner packet.
    assert paths(scn, b"up") == [("mn", [(lcoa("d1a"), MAP1), (RCOA1, CN1)]),
                                 ("map1", [(RCOA1, CN1)])]
    # Down: the MAP intercepts the RCoA and tunnels it to the LCoA.
    assert paths(scn, b"down") == [("cn1", [(CN1, RCOA1)]),
                                   ("map1", [(MAP1, lcoa("d1a")), (CN1, RCOA1)])]
    assert [d.packet.src for d in scn.net.delivered if d.node == "cn1"] == [RCOA1]
    assert [(d.packet.dst, d.packet.payload.data) for d in scn.net.delivered
            if d.node == "mn"] == [(RCOA1, b"down")]
    assert scn.mn.counters["local.sent"] == 1
    # The home agent never saw it.
    assert not [s for s, _h in paths(scn, b"up") + paths(scn, b"down") if s == "ha"]


def test_the_rcoa_survives_a_move_inside_the_domain():
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    scn.move("d1b", at=8.0)
    send_local(scn, 12.0, b"after")
    reply(scn, 12.5, b"back")
    scn.run(13)
    assert paths(scn, b"after")[0] == ("mn", [(lcoa("d1b"), MAP1), (RCOA1, CN1)])
    assert paths(scn, b"back")[-1] == ("map1", [(MAP1, lcoa("d1b")), (CN1, RCOA1)])
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "mn"] == [b"back"]


def test_without_a_map_binding_the_rcoa_is_not_the_nodes():
    """Before the MAP accepts the RCoA (or with no MAP), nothing leaves from it."""
    scn = build_hmip()
    scn.move("d1a", at=1.0)
    send_local(scn, 1.001, b"early")  # the LCoA is not even configured yet
    scn.run(2)
    assert paths(scn, b"early") == []
    assert scn.mn.counters["drop.no_binding"] == 1


def test_what_the_map_tunnel_wraps_leaves_on_the_nodes_interface(monkeypatch):
    """The outbound hook (the LCoA -> MAP reverse tunnel, RFC 5380 §6.1) changes the packet,
    not where it goes: each wrapped packet is sent on the node's interface, as the packet it
    wraps (``interface`` None would leave the choice to routing, a router's way)."""
    sent: list[Transmit] = []
    pull = MobileNode.pull_actions

    def recording(self):
        actions = pull(self)
        sent.extend(a for a in actions if isinstance(a, Transmit))
        return actions
    monkeypatch.setattr(MobileNode, "pull_actions", recording)
    scn = build_hmip(correspondents=("cn1",))
    scn.move("d1a", at=1.0)
    send_local(scn, 5.0, b"up")
    scn.run(6)
    tunnelled = [a for a in sent if a.packet.dst == MAP1 and isinstance(a.packet.payload,
                                                                         IPv6Packet)]
    assert tunnelled and {a.packet.src for a in tunnelled} == {lcoa("d1a")}
    assert {a.interface for a in sent} == {scn.mn.interface}
