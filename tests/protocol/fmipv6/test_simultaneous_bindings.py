"""Simultaneous bindings at the anchor (RFC 5568 §3.3, §4, §5.4; RFC 4140 Appendix A): after a
predictive FBU the PAR (or the MAP) delivers the PCoA's (RCoA's) packets both through the tunnel
and the old way for ``simultaneous_binding`` seconds, so a node that leaves late, or not at all,
keeps receiving; and the PAR keeps delivering on the current link until the FBU arrives."""

from __future__ import annotations

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.ipv6 import UDPDatagram
from tests.protocol.fmip_scenario import APS, MAC, build, coa

PCOA, NCOA = coa("par"), coa("nar")
INTERVAL = 0.02


def deliveries(scn):
    """(time, sequence) of every CBR packet the mobile node delivered, in order."""
    return [(d.time, int.from_bytes(d.packet.payload.data, "big")) for d in scn.net.delivered
            if d.node == "mn" and isinstance(d.packet.payload, UDPDatagram)
            and d.packet.payload.dst_port == 5004]


def late_leaver(window, *, leave=6.0, **kwargs):
    scn = build(par={"simultaneous_binding": window}, **kwargs)
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    if leave is not None:
        scn.move("nar", at=leave, link_down=0.1)
    return scn


def test_packets_before_a_late_departure_arrive_at_once_and_again_from_the_nar():
    leave = 6.0
    scn = late_leaver(1.0, leave=leave)
    scn.run(9)
    [up] = scn.net.events_of("fmip.tunnel_up", "par")
    assert up.time < leave - 0.3  # the FBack came long before the link layer switched
    got = deliveries(scn)
    first = {}
    for time, seq in got:
        first.setdefault(seq, time)
    meanwhile = [seq for seq in scn.sent if up.time + 0.05 < 4.0 + seq * INTERVAL < leave - 0.05]
    assert meanwhile
    # Each was delivered on the old link within milliseconds (not held until the node came) ...
    assert all(first[seq] < leave for seq in meanwhile)
    # ... and again by the NAR, from its buffer: the cost of bicasting.
    seen = [seq for _t, seq in got]
    assert all(seen.count(seq) == 2 for seq in meanwhile)
    assert set(scn.sent) <= set(seen)  # nothing lost
    assert scn.routers["par"].counters["fmip.bicast"] >= len(meanwhile)


def test_without_simultaneous_bindings_they_wait_in_the_nars_buffer():
    leave = 6.0
    scn = late_leaver(0.0, leave=leave)
    scn.run(9)
    [up] = scn.net.events_of("fmip.tunnel_up", "par")
    first = dict((seq, t) for t, seq in reversed(deliveries(scn)))
    meanwhile = [seq for seq in scn.sent if up.time + 0.05 < 4.0 + seq * INTERVAL < leave - 0.05]
    assert all(first[seq] > leave for seq in meanwhile)
    assert scn.routers["par"].counters["fmip.bicast"] == 0


def test_a_node_that_never_leaves_keeps_receiving_during_the_window():
    """An aborted link-layer handover (RFC 5568 §5.6 erroneous movement)."""
    with_window, without = late_leaver(2.0, leave=None), late_leaver(0.0, leave=None)
    for scn in (with_window, without):
        scn.run(9)
    up = with_window.net.events_of("fmip.tunnel_up", "par")[0].time
    window = [seq for seq in with_window.sent if up + 0.05 < 4.0 + seq * INTERVAL < up + 1.95]
    assert set(window) <= {seq for _t, seq in deliveries(with_window)}
    assert not set(window) & {seq for _t, seq in deliveries(without)}


def test_the_map_anchor_bicasts_to_the_old_lcoa():
    scn = build(hmip=True, map_anchored=True, map_fast={"simultaneous_binding": 1.0})
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=6.0, link_down=0.1)
    scn.run(9)
    assert scn.map is not None and scn.map.counters["fmip.bicast"] > 0
    seen = [seq for _t, seq in deliveries(scn)]
    assert set(scn.sent) <= set(seen) and len(seen) > len(set(seen))


def test_after_a_network_initiated_prrtadv_the_par_delivers_on_the_link_until_the_fbu():
    """§3.3: "After transmitting PrRtAdv, the PAR MUST continue to forward packets to the MN
    on its current link until the FBU is received"."""
    scn = build()
    scn.cbr(start=4.0, stop=7.0, interval=INTERVAL)
    # The node's FBU is lost twice: the PAR hears it only on the second retransmission.
    lost = []
    scn.net.drop_if(lambda p, r: r.sender == "mn" and type(p.payload).__name__ ==
                    "FastBindingUpdate" and len(lost) < 2 and not lost.append(r.time))
    scn.net.at(5.4, lambda now: scn.routers["par"].trigger_handover(
        PCOA, APS["nar"], now, mobile_link_layer_address=MAC))
    scn.run(7)
    [received] = scn.net.events_of("fmip.fbu_received", "par")
    assert received.time > 5.6
    before = [seq for seq in scn.sent if 5.4 < 4.0 + seq * INTERVAL < received.time - 0.03]
    got = dict((seq, t) for t, seq in deliveries(scn))
    assert before and all(got[seq] < received.time for seq in before)
    assert not [e for e in scn.net.events_of("fmip.forwarded", "par")
                if e.time < received.time]
