"""FMIPv6 composed with HMIPv6 on one mobile node (docs/architecture.md: a mobile node gains a
MAP client and a fast-handover client): the fast handover moves the LCoA, and only the MAP
hears of it."""

from __future__ import annotations

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, RCOA, build, coa

PCOA, NCOA = coa("par"), coa("nar")


def _hmip_predictive():
    scn = build(hmip=True)
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    return scn


def test_fast_handover_under_hmipv6_registers_only_with_the_map():
    scn = _hmip_predictive()
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == RCOA
    home_bus = scn.net.events_of("home.bu_sent", "mn")
    assert all(e.time < 5.0 for e in home_bus)  # the RCoA did not change: no new home BU
    lcoas = [e.fields["lcoa"] for e in scn.net.events_of("map.registered", "mn")]
    assert lcoas == [PCOA, NCOA]
    # The MAP BU left at link-up, right after the UNA (no DAD wait on the NCoA).
    (una,) = scn.net.events_of("fmip.una_sent", "mn")
    map_bu = [e for e in scn.net.events_of("map.bu_sent", "mn") if e.fields["lcoa"] == NCOA]
    assert map_bu[0].time == una.time
    assert scn.net.events_of("fmip.flushed", "nar")


def test_fast_handover_under_hmipv6_loses_no_packet():
    scn = _hmip_predictive()
    assert sorted(scn.received()) == scn.sent
