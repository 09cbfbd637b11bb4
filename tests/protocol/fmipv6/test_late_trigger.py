"""A late trigger (RFC 5568 §3.2, §6.3): the HI reaches the NAR after the mobile node's UNA.

With LinkGoingDown just before the switch, the predictive FBU leaves the old link but its HI
arrives at the NAR once the mobile node is already there and has announced itself. The NAR
must not proxy and buffer an address whose owner is attached (it would hold the traffic until
PROXY_ND_LIFETIME and discard it): the HI gets its HAck, what the PAR tunnels is delivered at
once, and the handover costs what a reactive one costs.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.nar import ARRIVALS_KEPT, Arrival
from mipshop.wire.mh import BindingUpdate, HandoverAcknowledge
from mipshop.wire.mh_options import IPv6AddressPrefixOption
from tests.protocol.fmip_scenario import APS, build, coa

PCOA, NCOA = coa("par"), coa("nar")
LEAVE, LINK_DOWN = 5.6, 0.005
INTERVAL = 0.02


def late(*, lead: float = 0.001, **kwargs):
    """LinkGoingDown ``lead`` before the switch; the HI (PAR -> NAR, 14 ms in the harness)
    then arrives after the UNA (7 ms after the switch)."""
    scn = build(**kwargs)
    scn.cbr(start=4.0, stop=7.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=LEAVE - lead)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(10)
    return scn


@pytest.mark.parametrize("anchor", ["par", "map1"])
def test_late_hi_is_answered_without_proxying_and_traffic_flows_at_once(anchor: str):
    """Anchored at the PAR (RFC 5568) or at the MAP (RFC 4140 Appendix A: the HI comes from
    the MAP, which is farther away still)."""
    hmip = anchor == "map1"
    scn = late(hmip=hmip, map_anchored=hmip)
    nar = scn.net.events_of
    (hi,) = [e for e in nar("fmip.hi_received", "nar") if e.fields["code"] == 0]
    una = next(e for e in nar("fmip.una", "nar") if e.fields["address"] == NCOA)
    assert una.time < hi.time  # the trigger was late: the UNA came first
    (flagged,) = nar("fmip.hi_late", "nar")
    assert flagged.fields["address"] == NCOA and flagged.time == hi.time
    hacks = [m for m in scn.net.messages(HandoverAcknowledge, sender="nar")]
    assert hacks and all(h.code == 0 for h in hacks)
    # Nothing was proxied, buffered or discarded for the attached node.
    assert not nar("fmip.buffered", "nar") and not nar("fmip.proxy_expired", "nar")
    assert NCOA not in scn.net.claims()
    # The PAR's FBack and the home agent's BA reach the node on its new link.
    assert any(e.fields["on_new_link"] for e in nar("fmip.fback", "mn"))
    registered = "map.registered" if hmip else "home.registered"
    assert nar(registered, "mn")[-1].time < 7.0
    # Loss is bounded by the reactive case: only packets that reached the old link after the
    # radio left and before the anchor's redirection; every packet sent from then on arrives.
    received = set(scn.received())
    (tunnel,) = nar("fmip.tunnel_up", anchor)[:1]
    missing = [s for s in scn.sent if s not in received]
    assert all(4.0 + s * INTERVAL < tunnel.time for s in missing)
    assert len(missing) <= round((tunnel.time - LEAVE) / INTERVAL) + 1


def test_a_timely_hi_is_still_proxied_and_buffered():
    """The same handover with a lead that covers FBU + HI/HAck: the HI comes first, the NAR
    proxies and buffers, nothing is lost (the late path is taken only when it must be)."""
    scn = late(lead=0.1)
    assert not scn.net.events_of("fmip.hi_late", "nar")
    assert scn.net.events_of("fmip.buffered", "nar") or scn.net.events_of("fmip.una", "nar")
    assert sorted(scn.received()) == scn.sent


@pytest.mark.parametrize("assigned", [False, True])
def test_late_hi_gets_the_hack_code_it_would_have_got(assigned: bool):
    """Code 0, or with S set Code 2 carrying the NCoA itself (RFC 5568 §6.2.1.2)."""
    scn = late(par={"request_assigned_address": assigned})
    (late_hi,) = [e for e in scn.net.events_of("fmip.hi_received", "nar")
                  if e.fields["code"] == 0]
    (hack,) = [m for m in scn.net.messages(HandoverAcknowledge, sender="nar")
               if m.sequence == late_hi.fields["sequence"]]
    addresses = [o.address for o in hack.options if isinstance(o, IPv6AddressPrefixOption)]
    if assigned:
        assert hack.code == 2
        assert addresses == [NCOA]
    else:
        assert hack.code == 0 and not addresses


def _nar(scn):
    assert scn.routers["nar"].fast_handover is not None
    return scn.routers["nar"].fast_handover.nar


def test_an_arrival_older_than_the_proxy_lifetime_is_not_a_late_hi():
    scn = build()
    nar = _nar(scn)
    nar.router.now = 10.0
    nar.neighbors[NCOA] = bytes.fromhex("020000000001")
    nar.arrivals[NCOA] = Arrival(link_layer_address=bytes.fromhex("020000000001"),
                                 at=10.0 - nar.config.proxy_lifetime, prepared=False)
    assert not nar._already_here(NCOA, bytes.fromhex("020000000001"))
    nar.arrivals[NCOA] = Arrival(link_layer_address=bytes.fromhex("020000000001"),
                                 at=9.9, prepared=False)
    assert nar._already_here(NCOA, bytes.fromhex("020000000001"))
    # Another node's link-layer address, or a prepared arrival, is no late HI either.
    assert not nar._already_here(NCOA, bytes.fromhex("020000000002"))
    nar.arrivals[NCOA] = Arrival(link_layer_address=bytes.fromhex("020000000001"),
                                 at=9.9, prepared=True)
    assert not nar._already_here(NCOA, bytes.fromhex("020000000001"))


def test_arrivals_are_bounded_and_forgotten_when_the_node_leaves():
    scn = build()
    nar = _nar(scn)
    base = int(NCOA)
    for k in range(ARRIVALS_KEPT + 10):
        nar.router.now = float(k)
        nar._note_arrival(IPv6Address(base + k), b"\x02" * 6, prepared=False)
    assert len(nar.arrivals) == ARRIVALS_KEPT
    assert IPv6Address(base) not in nar.arrivals  # the oldest went first
    newest = IPv6Address(base + ARRIVALS_KEPT + 9)
    nar.departed(newest)
    assert newest not in nar.arrivals


def test_a_repeated_una_is_not_a_new_arrival():
    scn = build()
    nar = _nar(scn)
    nar.router.now = 1.0
    nar._note_arrival(NCOA, b"\x02" * 6, prepared=True)
    nar.router.now = 1.2
    nar._note_arrival(NCOA, b"\x02" * 6, prepared=False)  # a retransmission (§6.3)
    assert nar.arrivals[NCOA].prepared and nar.arrivals[NCOA].at == 1.0
    nar.router.now = 1.0 + nar.config.proxy_lifetime
    nar._note_arrival(NCOA, b"\x02" * 6, prepared=False)  # a new visit
    assert not nar.arrivals[NCOA].prepared


def test_a_node_that_left_and_comes_back_at_once_is_prepared_for_again():
    """Reactive arrival at the NAR (an unprepared UNA), a predictive handover back to the PAR
    0.4 s later and another to the NAR 0.4 s after that, well within PROXY_ND_LIFETIME of the
    first UNA: the third handover's HI is a timely one, which the NAR proxies and buffers,
    because the node's FBU from the NAR's link told that router (as PAR) that it left."""
    scn = build()
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=LINK_DOWN)  # no LinkGoingDown: reactive
    scn.trigger(LinkGoingDown(target_ap=APS["par"]), at=5.9)
    scn.move("par", at=6.0, link_down=LINK_DOWN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=6.3)
    scn.move("nar", at=6.4, link_down=0.05)
    scn.run(10)
    assert not scn.net.events_of("fmip.hi_late", "nar")
    buffered = [e for e in scn.net.events_of("fmip.buffered", "nar") if e.time > 6.3]
    assert buffered  # the 50 ms outage's packets waited at the NAR
    received = set(scn.received())
    assert all(s in received for s in scn.sent if 4.0 + s * INTERVAL > 6.1)


def test_two_late_map_anchored_handovers_leave_no_stale_fast_binding():
    """F-HMIPv6 with late triggers: the local BU from the new link registers the NCoA before
    the HAck comes. The fast binding the HAck would set up is superseded at once; otherwise it
    would outlive the regular binding and, at the next handover, send the node's packets to
    the care-of address it had left (RFC 4140 Appendix A: the local BU supersedes)."""
    scn = build(hmip=True, map_anchored=True)
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=LEAVE - 0.001)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.trigger(ScanCompleted(access_points=(APS["par"],)), at=6.2)
    scn.trigger(LinkGoingDown(target_ap=APS["par"]), at=6.6 - 0.001)
    scn.move("par", at=6.6, link_down=LINK_DOWN)
    scn.run(10)
    map_events = scn.net.events_of
    assert [e.fields["reason"] for e in map_events("fmip.tunnel_down", "map1")] == [
        "superseded", "superseded"]
    registered = [e.time for e in map_events("binding.registered", "map1")]
    assert len(registered) >= 3  # first registration and the two handovers
    received = set(scn.received())
    for switch, done in ((LEAVE, registered[-2]), (6.6, registered[-1])):
        assert done > switch
        # Whatever reached the MAP once it held the new LCoA reached the node (CN -> MAP is
        # 10 ms + 10 ms router delay + 2 ms in the harness).
        late = [s for s in scn.sent if done - 0.02 < 4.0 + s * INTERVAL < switch + 0.3]
        assert late and all(s in received for s in late)


def test_a_local_bu_ends_an_older_fast_binding_while_a_new_handover_is_prepared():
    """The first handover's local BUs are lost, so its fast binding still forwards to the
    NAR's NCoA when a late second handover (back to the PAR) starts: REBINDING, with that
    older tunnel up. The second handover's local BU registers the PAR's address again: the
    older tunnel ends there (it would send the node's packets to the NAR it left until the
    HAck)."""
    scn = build(hmip=True, map_anchored=True)
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=LEAVE - 0.1)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    undo = scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate)
                           and p.dst == scn.map.config.address and 5.5 < r.time < 6.5)
    scn.net.at(6.5, lambda now: undo())
    scn.trigger(ScanCompleted(access_points=(APS["par"],)), at=6.2)
    scn.trigger(LinkGoingDown(target_ap=APS["par"]), at=6.6 - 0.001)
    scn.move("par", at=6.6, link_down=LINK_DOWN)
    scn.run(10)
    downs = [e for e in scn.net.events_of("fmip.tunnel_down", "map1") if e.time > 6.6]
    assert downs and downs[0].fields["reason"] == "superseded"
    registered = next(e.time for e in scn.net.events if e.node == "map1" and e.time > 6.6
                      and e.kind in ("binding.registered", "binding.refreshed"))
    hack = next(e.time for e in scn.net.events_of("fmip.hack", "map1") if e.time > 6.6)
    assert registered < hack  # the case at hand: the local BU overtook the HAck
    received = set(scn.received())
    window = [s for s in scn.sent if registered - 0.02 < 4.0 + s * INTERVAL < hack]
    assert window and all(s in received for s in window)
