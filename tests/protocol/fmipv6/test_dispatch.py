"""An access router's dispatch of FMIPv6 traffic (RFC 5568 §4, §6): every message its FMIPv6
function takes is consumed there, not counted as unhandled (the ``drop.unhandled`` counter the
control socket reports must mean "nothing here took it"); a packet the NAR buffers or delivers
for an address it proxies is consumed; and a packet a node sends from the PCoA this NAR serves
goes back to the PAR through the reverse tunnel (§4 step 3), not to the default route.

The packets are delivered to the router entity itself (``receive``), as the real-packet runtime
does: the test network routes packets not addressed to a router around it, so a node's
upstream packets never pass through ``on_packet`` there.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import RouterSolicitationForProxy
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.mh import FastBindingUpdate, HandoverAcknowledge, HandoverInitiate
from tests.protocol.fmip_scenario import APS, CN1, build, coa
from tests.protocol.fmip_scenario import router_address as ar
from tests.protocol.fmipv6.test_pcoa_service import naack_3


def _predictive():
    """A predictive handover par -> nar, run to its end (every message below was sent)."""
    scn = build()
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.05)
    scn.run(10)
    return scn


def _sent(scn, kind: type, sender: str) -> IPv6Packet:
    """The last ``kind`` message ``sender`` put on the wire, as sent."""
    return [packet for _record, packet in scn.net.packets(kind, sender=sender)][-1]


def _unhandled_after(router, packet: IPv6Packet, now: float) -> tuple[int, list[Transmit]]:
    router.pull_actions()
    before = router.counters["drop.unhandled"]
    router.receive(encode_packet(packet), "eth0", now)
    sent = [a for a in router.pull_actions() if isinstance(a, Transmit)]
    return router.counters["drop.unhandled"] - before, sent


@pytest.mark.parametrize(("message", "sender", "router"), [
    (RouterSolicitationForProxy, "mn", "par"),
    (FastBindingUpdate, "mn", "par"),      # §6.2.3; here a replay, refused but consumed
    (HandoverInitiate, "par", "nar"),      # §6.2.1
    (HandoverAcknowledge, "nar", "par"),   # §6.2.2; unexpected now, refused but consumed
])
def test_an_fmipv6_message_the_router_takes_is_not_counted_unhandled(message, sender, router):
    scn = _predictive()
    packet = _sent(scn, message, sender)
    assert packet.dst == ar(router) or message is RouterSolicitationForProxy
    unhandled, _sent_now = _unhandled_after(scn.routers[router], packet, scn.net.now + 0.1)
    assert unhandled == 0


def test_a_packet_for_no_function_of_the_router_is_counted_unhandled():
    """The other side of the table above: a datagram to the router's own address, which no
    function of an access router takes, is counted (the counter is not simply never raised)."""
    scn = _predictive()
    packet = IPv6Packet(src=CN1, dst=ar("par"), payload=UDPDatagram(
        src_port=9, dst_port=9, data=b"x"))
    assert _unhandled_after(scn.routers["par"], packet, scn.net.now)[0] == 1


def _served_pcoa():
    """A NAR serving the node's PCoA on its link (NAACK status 3, §6.2.1.2)."""
    scn = naack_3()
    scn.run(9)
    [served] = scn.net.events_of("fmip.pcoa_served", "nar")
    assert served.fields["pcoa"] == coa("par")
    return scn


def test_a_packet_from_the_served_pcoa_goes_back_to_the_par_through_the_reverse_tunnel():
    scn = _served_pcoa()
    upstream = IPv6Packet(src=coa("par"), dst=CN1, payload=UDPDatagram(
        src_port=5004, dst_port=5004, data=b"up"))
    unhandled, sent = _unhandled_after(scn.routers["nar"], upstream, scn.net.now)
    assert unhandled == 0
    [transmit] = sent
    outer = transmit.packet
    assert (outer.src, outer.dst) == (ar("nar"), ar("par"))
    # RFC 2473 §3.1: forwarded into the tunnel with one hop less.
    assert outer.payload == replace(upstream, hop_limit=upstream.hop_limit - 1)


def test_a_packet_from_another_address_is_not_reverse_tunnelled():
    scn = _served_pcoa()
    other = IPv6Packet(src=coa("nar"), dst=CN1, payload=UDPDatagram(
        src_port=5004, dst_port=5004, data=b"up"))
    unhandled, sent = _unhandled_after(scn.routers["nar"], other, scn.net.now)
    assert (unhandled, sent) == (1, [])


def test_a_packet_for_the_served_pcoa_is_delivered_and_consumed():
    """A packet for an address the NAR answers for (its neighbour entry, §6.2.1.2) is taken by
    the NAR and sent to the node's link-layer address, not counted unhandled."""
    scn = _served_pcoa()
    downstream = IPv6Packet(src=CN1, dst=coa("par"), payload=UDPDatagram(
        src_port=5004, dst_port=5004, data=b"down"))
    unhandled, sent = _unhandled_after(scn.routers["nar"], downstream, scn.net.now)
    assert unhandled == 0
    assert [t.packet.dst for t in sent] == [coa("par")]
