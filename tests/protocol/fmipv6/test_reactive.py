"""FMIPv6 reactive (RFC 5568 §3.2 Figure 3) and network-initiated (§3.3) handovers."""

from __future__ import annotations

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import NeighborAdvertisement, ProxyRouterAdvertisement
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate, HandoverInitiate
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import IPAddressPrefix
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, MAC, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")


def _his(scn):
    return [p.payload for _, p in scn.net.packets(HandoverInitiate)]


def _fbus(scn):
    return [p for _, p in scn.net.packets(FastBindingUpdate)]


def test_reactive_handover_after_a_scan_but_no_fbu_on_the_old_link():
    scn = build()
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    (reactive,) = scn.net.events_of("fmip.reactive", "mn")
    assert reactive.fields == {"reason": "no_fback", "ncoa": NCOA}
    # UNA first, then the FBU from the new link (§4 step 1).
    una, fbu = [e for e in scn.kinds("mn") if e in ("fmip.una_sent", "fmip.fbu_sent")][:2]
    assert (una, fbu) == ("fmip.una_sent", "fmip.fbu_sent")
    (packet,) = _fbus(scn)
    assert packet.src == NCOA and packet.home_address == PCOA and packet.dst == ar("par")
    assert not any(isinstance(o, AlternateCareOfAddress) for o in packet.payload.options)
    (hi,) = _his(scn)
    assert hi.code == 1 and not hi.assigned_address and not hi.buffer  # §6.2.1.1
    (fback,) = scn.net.events_of("fmip.fback", "mn")
    assert fback.fields["status"] == 0 and fback.fields["on_new_link"]
    fbacks = [p for _, p in scn.net.packets(FastBindingAcknowledgement)]
    assert [p.dst for p in fbacks] == [NCOA]  # not to the PCoA: the MN left that link
    (up,) = scn.net.events_of("fmip.tunnel_up", "par")
    assert up.fields["endpoint"] == NCOA
    (una_event,) = scn.net.events_of("fmip.una", "nar")
    assert not una_event.fields["proxied"]  # no HI yet: plain RFC 4861 processing
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA
    # Reactive: packets sent to the PCoA while the MN was away and before the FBU are lost,
    # but nothing after the PAR's tunnel came up.
    missing = sorted(set(scn.sent) - set(scn.received()))
    assert missing and all(4.0 + 0.02 * s < up.time for s in missing)


def test_lost_fbu_on_the_old_link_falls_back_to_reactive_mode():
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingUpdate) and p.src == PCOA)
    scn.move("nar", at=5.55, link_down=0.1)
    scn.run(8)
    sent = scn.net.events_of("fmip.fbu_sent", "mn")
    assert [e.fields["mode"] for e in sent] == ["predictive", "reactive"]
    assert scn.net.events_of("fmip.reactive", "mn")
    assert [hi.code for hi in _his(scn)] == [1]
    assert scn.fmip.handover is not None and scn.fmip.handover.fback
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_fully_reactive_without_any_prrtadv_sends_the_fbu_from_the_configured_address():
    scn = build()
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(9)
    (reactive,) = scn.net.events_of("fmip.reactive", "mn")
    assert reactive.fields["reason"] == "no_ar_info"
    assert not [p for _, p in scn.net.packets(NeighborAdvertisement) if p.payload.is_una]
    (packet,) = _fbus(scn)
    # Sent once ordinary configuration (RA + DAD) gave the NCoA (§6.2.2).
    assert packet.src == NCOA and packet.home_address == PCOA
    assert [hi.code for hi in _his(scn)] == [1]
    assert scn.net.events_of("fmip.tunnel_up", "par")


def test_network_initiated_handover_with_prrtadv_code_1():
    scn = build()
    scn.cbr(start=4.0, stop=7.0)
    scn.net.at(5.4, lambda now: scn.routers["par"].trigger_handover(
        PCOA, APS["nar"], now, mobile_link_layer_address=MAC))
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    (_, prrtadv), = scn.net.packets(ProxyRouterAdvertisement)
    assert prrtadv.payload.code == 1 and prrtadv.payload.identifier == 0
    assert prrtadv.dst == PCOA
    ncoa_options = [o for o in prrtadv.payload.options
                    if isinstance(o, IPAddressPrefix) and o.option_code == 2]
    assert [o.address for o in ncoa_options] == [NCOA]
    # §3.3: the MN MUST send the FBU at once, before switching.
    (fbu,) = scn.net.events_of("fmip.fbu_sent", "mn")
    assert fbu.fields["mode"] == "predictive" and fbu.time < 5.41
    assert not scn.net.events_of("fmip.rtsolpr_sent")
    assert sorted(scn.received()) == scn.sent  # nothing lost
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_unsolicited_neighbourhood_information_is_not_a_trigger():
    scn = build()
    fmip = scn.routers["par"].fast_handover
    assert fmip is not None
    scn.net.at(5.0, lambda now: fmip.advertise_neighbourhood(PCOA, now))
    scn.run(6)
    (prrtadv,) = scn.net.events_of("fmip.prrtadv", "mn")
    assert prrtadv.fields["code"] == 4
    assert set(scn.fmip.access_points) == {APS["nar"], APS["ar3"]}
    assert not scn.net.events_of("fmip.fbu_sent")
