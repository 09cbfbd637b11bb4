"""Lost UNA and FBack (RFC 5568 §3.2, §4, §6.3): no 1 s retransmission, nothing held for long.

A predictive handover whose UNA is lost leaves the NAR proxying the NCoA and buffering its
traffic; the mobile node repeats its UNA on the FMIPv6 timer (2 x the access round trip it
measured with RtSolPr/PrRtAdv) until a packet for the NCoA shows that the NAR has it. A lost
FBack on the old link makes the handover continue as a reactive one from the new link (the
FBU goes again after the UNA, §3.2 case 2), while the PAR's tunnel already carries the data.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.constants import MAX_NEIGHBOR_ADVERTISEMENT
from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import (
    NeighborAdvertisement,
    RouterAdvertisement,
    RouterSolicitationForProxy,
)
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    FastBindingAcknowledgement,
    FastBindingUpdate,
)
from mipshop.wire.nd_options import NAACKStatus, NeighborAdvertisementAcknowledgment
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, build, coa
from tests.protocol.fmip_scenario import router_address as ar

NCOA = coa("nar")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.05
INTERVAL = 0.02


def predictive(scn, *, stop: float = 7.0):
    scn.cbr(start=4.0, stop=stop, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(10)
    return scn


def _una(packet, _record) -> bool:
    return isinstance(packet.payload, NeighborAdvertisement) and packet.payload.is_una


def _lose_first(scn, match):
    """Lose the first packet ``match`` accepts."""
    state = {"lost": 0}

    def first(packet, record) -> bool:
        if state["lost"] or not match(packet, record):
            return False
        state["lost"] = 1
        return True
    scn.net.drop_if(first)


def test_the_access_round_trip_is_measured_by_the_first_rtsolpr_exchange():
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.run(6)
    (sent,) = scn.net.events_of("fmip.rtsolpr_sent", "mn")
    (answer,) = scn.net.events_of("fmip.prrtadv", "mn")
    assert scn.fmip.access_rtt == pytest.approx(answer.time - sent.time)


def test_an_answer_to_a_retransmitted_rtsolpr_gives_no_round_trip_sample():
    """Karn's rule: the answer may be to either transmission."""
    scn = build()
    _lose_first(scn, lambda p, r: isinstance(p.payload, RouterSolicitationForProxy))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.run(6)
    assert [e.fields["retransmission"] for e in scn.net.events_of("fmip.rtsolpr_sent")] == [
        False, True]
    assert scn.net.events_of("fmip.prrtadv", "mn")
    assert scn.fmip.access_rtt is None


def test_a_lost_una_is_repeated_and_nothing_is_lost():
    scn = build()
    _lose_first(scn, _una)
    predictive(scn)
    unas = scn.net.events_of("fmip.una_sent", "mn")
    assert [e.fields["retransmission"] for e in unas] == [False, True]
    gap = unas[1].time - unas[0].time
    assert gap == pytest.approx(2 * scn.fmip.access_rtt)  # RFC 5568 §6.1.1's 2 x RTT
    (confirmed,) = scn.net.events_of("fmip.una_confirmed", "mn")
    assert confirmed.fields["transmissions"] == 2
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.time > unas[1].time and flushed.fields["overflow"] == 0
    assert not scn.net.events_of("fmip.proxy_expired")
    assert sorted(scn.received()) == scn.sent


def test_without_una_repetition_a_lost_una_holds_the_traffic_until_the_proxy_expires():
    """The same loss with one UNA per arrival: the NAR keeps proxying for PROXY_ND_LIFETIME
    and discards what it buffered (what the repetition above prevents)."""
    scn = build(client={"una_transmissions": 1})
    _lose_first(scn, _una)
    predictive(scn)
    assert len(scn.net.events_of("fmip.una_sent", "mn")) == 1
    (expired,) = scn.net.events_of("fmip.proxy_expired", "nar")
    assert expired.fields["discarded"] > 0
    assert len(scn.received()) < len(scn.sent)


def test_unas_stop_at_max_neighbor_advertisement_when_nothing_confirms_them():
    """No traffic for the NCoA: the UNA goes MAX_NEIGHBOR_ADVERTISEMENT times (RFC 4861
    §7.2.6), no more."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: p.dst == NCOA)  # nothing for the NCoA ever arrives
    scn.run(10)
    assert len(scn.net.events_of("fmip.una_sent", "mn")) == MAX_NEIGHBOR_ADVERTISEMENT
    assert not scn.net.events_of("fmip.una_confirmed", "mn")


def test_una_repetition_stops_when_the_node_leaves_the_link():
    scn = build()
    _lose_first(scn, _una)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    leave = LEAVE + LINK_DOWN + 0.001  # gone again before the repetition is due
    scn.net.at(leave, lambda now: scn.net.connect("mn", "wlan0", None))
    scn.net.at(leave, lambda now: scn.mn.detach(now))
    scn.run(8)
    assert len(scn.net.events_of("fmip.una_sent", "mn")) == 1


@pytest.mark.parametrize("transmissions", [0, MAX_NEIGHBOR_ADVERTISEMENT + 1])
def test_una_transmissions_are_bounded_by_rfc4861(transmissions: int):
    with pytest.raises(ValueError, match="una_transmissions"):
        build(client={"una_transmissions": transmissions})


def test_a_lost_fback_on_the_old_link_turns_the_handover_reactive_and_loses_nothing():
    """The PAR's FBack to the PCoA is lost: the node arrives without it, sends the UNA and
    the FBU again from the NCoA (§3.2 case 2); the PAR's tunnel (up since the HAck) and the
    NAR's buffer carry every packet meanwhile."""
    scn = build()
    _lose_first(scn, lambda p, r: isinstance(p.payload, FastBindingAcknowledgement))
    predictive(scn)
    modes = [e.fields["mode"] for e in scn.net.events_of("fmip.fbu_sent", "mn")]
    assert modes[:2] == ["predictive", "reactive"]
    fbacks = scn.net.events_of("fmip.fback", "mn")
    assert fbacks and fbacks[0].fields["on_new_link"]
    assert sorted(scn.received()) == scn.sent


def test_lost_router_advertisements_do_not_send_the_next_fbu_to_the_old_router():
    """After a fast handover the node's next PAR is the NAR the AR-Info named (§6.1.2), even
    when every Router Advertisement on the new link is lost: its next FBU goes there, not to
    the router it left (which would refuse it, "PCoA not on link", and FMIPv6 would stop)."""
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterAdvertisement)
                    and r.time > LEAVE)
    scn.cbr(start=4.0, stop=8.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.trigger(ScanCompleted(access_points=(APS["par"],)), at=6.5)
    scn.trigger(LinkGoingDown(target_ap=APS["par"]), at=6.9)
    scn.move("par", at=7.0, link_down=LINK_DOWN)
    scn.run(10)
    fbus = [p for _r, p in scn.net.packets(FastBindingUpdate, sender="mn")]
    assert [p.dst for p in fbus[:2]] == [ar("par"), ar("nar")]
    assert not scn.net.events_of("fmip.fbu_rejected")
    assert not scn.net.events_of("fmip.stopped", "mn")
    assert sorted(scn.received()) == scn.sent


def test_back_on_the_par_link_its_router_is_the_next_fbu_destination():
    """Back on the PAR's link before the bindings moved (§5.6, the lifetime-0 FBU: the home
    BU from the NCoA is lost here), with every RA lost: the next handover's FBU goes to that
    PAR again, not to the NAR left."""
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterAdvertisement) and r.time > 5.0)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.cbr(start=4.0, stop=10.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=()), at=4.5)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.0)
    scn.move("nar", at=5.1, link_down=LINK_DOWN)
    scn.move("par", at=7.1, link_down=LINK_DOWN)  # reactive return: lifetime-0 FBU
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=8.9)
    scn.move("nar", at=9.0, link_down=LINK_DOWN)
    scn.run(12)
    fbus = [(p.dst, p.payload.lifetime) for _r, p in scn.net.packets(FastBindingUpdate,
                                                                      sender="mn")]
    assert fbus[0] == (ar("par"), 40)
    assert (ar("par"), 0) in fbus  # the return (§5.6)
    assert fbus[-1] == (ar("par"), 40)  # the next predictive FBU, to the PAR again
    assert not scn.net.events_of("fmip.fbu_rejected")


def test_a_lost_home_ba_does_not_block_the_next_fast_handover():
    """The FBack came but the home agent's BAs are lost: the fast handover is over all the
    same, and the next move (to a third router) is a fast handover again, not ordinary
    movement detection with DAD."""
    scn = build(mn={"dad_delay": 1.0})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement)
                    and r.time > LEAVE)
    scn.cbr(start=4.0, stop=9.0, interval=INTERVAL)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.trigger(ScanCompleted(access_points=()), at=6.5)  # the AR-Info of ar3
    scn.move("ar3", at=7.0, link_down=LINK_DOWN)  # no LinkGoingDown: reactive
    scn.run(10)
    assert not scn.net.events_of("home.registered", "mn")[1:]
    fbus = [e for e in scn.net.events_of("fmip.fbu_sent", "mn") if e.time > 7.0]
    assert fbus and fbus[0].fields["mode"] == "reactive"
    assert fbus[0].fields["anchor"] == ar("nar") and fbus[0].fields["ncoa"] == coa("ar3")
    received = set(scn.received())
    assert all(s in received for s in scn.sent if 4.0 + s * INTERVAL > 7.2)


def test_back_after_a_reactive_handover_before_the_bindings_moved_sends_lifetime_zero():
    """§5.6 MUST, after a reactive handover too: the node remembers the AP it left."""
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)  # reactive
    scn.move("par", at=6.5, link_down=LINK_DOWN)
    scn.run(9)
    (returned,) = scn.net.events_of("fmip.returned", "mn")
    assert returned.fields["par"] == ar("par")
    delete = [p for _r, p in scn.net.packets(FastBindingUpdate, sender="mn")
              if p.payload.lifetime == 0]
    assert len(delete) == 1 and delete[0].dst == ar("par")
    (down,) = scn.net.events_of("fmip.tunnel_down", "par")
    assert down.fields["reason"] == "fbu_lifetime_zero"


def test_a_naack_after_the_home_ba_is_still_obeyed():
    """The home agent's BA for the NCoA can beat the NAR's NAACK to the node (a fast home
    agent, a slow NAR): the NAACK still answers the UNA, and status 4 (the NAR serves the
    PCoA) makes the node keep its PCoA and register it again (RFC 5568 §6.4.6)."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    late = 6.5
    naack = RouterAdvertisement(options=(
        NeighborAdvertisementAcknowledgment(status=NAACKStatus.PCOA_SUPPLIED_NO_FBU),))
    packet = IPv6Packet(src=IPv6Address("fe80::1"), dst=NCOA, hop_limit=255, payload=naack)
    scn.net.inject(encode_packet(packet), "mn", "wlan0", at=late)
    scn.run(8)
    assert next(e.time for e in scn.net.events_of("fmip.handover_complete", "mn")) < late
    (got,) = scn.net.events_of("fmip.naack", "mn")
    assert got.fields["status"] == NAACKStatus.PCOA_SUPPLIED_NO_FBU
    assert scn.mn.care_of_address == coa("par")
    assert scn.ha.cache.lookup(HOME_ADDRESS, 8).care_of_address == coa("par")
