"""FMIPv6 error paths: NAACK, HAck codes, HI loss, buffer overflow, ping-pong, forged FBUs,
routers without FMIPv6, unanswered RtSolPr, erroneous movement (RFC 5568 §4-§6)."""

from __future__ import annotations

from ipaddress import IPv6Address
from itertools import pairwise

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.config import HandoverKey
from mipshop.protocol.fmipv6.security import sign_badf
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import (
    NeighborAdvertisement,
    RouterAdvertisement,
    RouterSolicitationForProxy,
)
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    BindingUpdate,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
)
from mipshop.wire.nd_options import NeighborAdvertisementAcknowledgment
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, KEY, MAC, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
POOL = IPv6Address("2001:db8:20::a55")


def _predictive(scn, *, leave=5.6, link_down=0.1, target="nar"):
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS[target]), at=5.5)
    scn.move(target, at=leave, link_down=link_down)


def _naacks(scn):
    return [o for _, p in scn.net.packets(RouterAdvertisement)
            for o in p.payload.options if isinstance(o, NeighborAdvertisementAcknowledgment)]


def _stopped(scn):
    return [e.fields["reason"] for e in scn.net.events_of("fmip.stopped", "mn")]


# -- NAACK (§6.4.6) and HAck codes (§6.2.1.2) -------------------------------------------------


def test_naack_2_supplies_a_new_ncoa_that_the_mn_uses_with_a_new_fbu():
    scn = build(nar={"addresses_in_use": frozenset({NCOA}), "address_pool": (POOL,)})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)  # reactive: the NAR first hears of the MN's UNA
    scn.run(9)
    (naack,) = _naacks(scn)
    assert naack.status == 2 and naack.new_care_of_address == POOL
    (ra,) = [p for _, p in scn.net.packets(RouterAdvertisement)
             if any(isinstance(o, NeighborAdvertisementAcknowledgment)
                    for o in p.payload.options)]
    assert ra.dst == NCOA and ra.hop_limit == 255  # to the UNA's source (§6.4.6)
    (event,) = scn.net.events_of("fmip.naack", "mn")
    assert event.fields["status"] == 2
    unas = [p.src for _, p in scn.net.packets(NeighborAdvertisement) if p.payload.is_una]
    assert unas == [NCOA, POOL]
    assert [p.src for _, p in scn.net.packets(FastBindingUpdate)][-1] == POOL
    assert scn.mn.care_of_address == POOL
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == POOL
    assert scn.routers["par"].fast_handover.par.binding(PCOA).endpoint == POOL


def test_hack_2_assigned_ncoa_reaches_the_mn_in_the_fback():
    scn = build(par={"request_assigned_address": True},
                nar={"addresses_in_use": frozenset({NCOA}), "address_pool": (POOL,)})
    _predictive(scn)
    scn.run(9)
    (hi,) = [p.payload for _, p in scn.net.packets(HandoverInitiate)]
    assert hi.assigned_address and hi.code == 0
    (hack,) = [p.payload for _, p in scn.net.packets(HandoverAcknowledge)]
    assert hack.code == 2 and hack.options[0].address == POOL
    fback = next(p.payload for _, p in scn.net.packets(FastBindingAcknowledgement))
    assert fback.status == 1
    assert [o.address for o in fback.options if isinstance(o, AlternateCareOfAddress)] == [POOL]
    unas = [p.src for _, p in scn.net.packets(NeighborAdvertisement) if p.payload.is_una]
    assert unas == [POOL]
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == POOL


def test_hack_3_and_naack_4_the_nar_serves_the_pcoa_and_no_more_fbus_are_sent():
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    scn.cbr(start=4.0, stop=6.0)
    _predictive(scn)
    scn.run(9)
    (hack,) = [p.payload for _, p in scn.net.packets(HandoverAcknowledge)]
    assert hack.code == 3
    (up,) = scn.net.events_of("fmip.tunnel_up", "par")
    assert up.fields["endpoint"] == ar("nar")  # §6.2.1.2: the PAR tunnels to the NAR
    routes = [a.prefix for n, a in scn.net.routes_configured if n == "nar"]
    assert [str(r) for r in routes] == [f"{PCOA}/128"]
    (naack,) = _naacks(scn)
    assert naack.status == 4
    naack_time = scn.net.events_of("fmip.naack", "mn")[0].time
    assert not [e for e in scn.net.events_of("fmip.fbu_sent", "mn") if e.time >= naack_time]
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.fields["packets"] > 0
    assert flushed.fields["address"] == PCOA
    # The buffered packets (for the PCoA, via the host route) reached the MN.
    assert sorted(scn.received()) == scn.sent


def test_naack_1_and_naack_128_stop_fmip_and_restart_address_configuration():
    for nar, status in (({"addresses_in_use": frozenset({NCOA})}, 1),
                        ({"unrecognized_link_layer_addresses": frozenset({MAC})}, 128)):
        scn = build(nar=nar)
        scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
        scn.move("nar", at=5.6, link_down=0.1)
        scn.run(9)
        assert [n.status for n in _naacks(scn)] == [status]
        assert _stopped(scn) == [f"naack_{status}"]
        naack_time = scn.net.events_of("fmip.naack", "mn")[0].time
        # Ordinary configuration takes over (the RA is processed after the NAACK).
        configured = [e for e in scn.net.events_of("coa.configured", "mn")
                      if e.time > naack_time]
        assert configured


def test_naack_3_names_the_nar_address_as_ncoa_in_the_fbu():
    scn = build(nar={"addresses_in_use": frozenset({NCOA}), "naack_use_router_address": True})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(7)
    assert [n.status for n in _naacks(scn)] == [3]
    last = [p.payload for _, p in scn.net.packets(FastBindingUpdate)][-1]
    assert [o.address for o in last.options if isinstance(o, AlternateCareOfAddress)] == [
        ar("nar")]


def test_refused_handover_gives_an_fback_rejection_and_no_tunnel():
    for nar, code in (({"accept_handovers": False}, 129), ({"max_handovers": 0}, 130),
                      ({"addresses_in_use": frozenset({NCOA})}, 1)):
        scn = build(nar=nar)
        _predictive(scn)
        scn.run(7)
        assert [p.payload.code for _, p in scn.net.packets(HandoverAcknowledge)] == [code]
        statuses = {p.payload.status for _, p in scn.net.packets(FastBindingAcknowledgement)}
        assert statuses == {128 if code == 1 else code}
        assert not scn.net.events_of("fmip.tunnel_up")
        assert PCOA not in scn.net.claims()
        assert _stopped(scn)[0].startswith("fback_status_")


# -- HI retransmission (§6.2.1.1) ----------------------------------------------------------


def test_lost_hi_is_retransmitted_with_the_same_sequence_after_100_ms():
    scn = build()
    lost = []

    def first_hi(packet, record):
        if isinstance(packet.payload, HandoverInitiate) and not lost:
            lost.append(record.time)
            return True
        return False

    scn.net.drop_if(first_hi)
    _predictive(scn, leave=5.8)
    scn.run(9)
    sent = scn.net.events_of("fmip.hi_sent", "par")
    assert [e.fields["retransmission"] for e in sent] == [False, True]
    assert sent[1].time - sent[0].time == pytest.approx(0.1)
    assert sent[0].fields["sequence"] == sent[1].fields["sequence"]
    assert scn.net.events_of("fmip.tunnel_up", "par")
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_hi_retries_exhausted_means_no_tunnel():
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, HandoverInitiate))
    _predictive(scn, leave=8.0)
    scn.run(10)
    sent = scn.net.events_of("fmip.hi_sent", "par")
    assert len(sent) == 1 + 3  # HI_RETRIES
    gaps = [round(b.time - a.time, 6) for a, b in pairwise(sent)]
    assert gaps == [0.1, 0.2, 0.4]
    assert scn.net.events_of("fmip.hi_failed", "par")
    assert not scn.net.events_of("fmip.tunnel_up")
    assert _stopped(scn)
    # Ordinary Mobile IPv6 still moves the binding.
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


# -- buffering (§5.4) ----------------------------------------------------------------------


def test_buffer_overflow_is_bounded_and_counted():
    scn = build(nar={"buffer_packets": 3})
    scn.cbr(start=4.0, stop=7.0)
    _predictive(scn, link_down=0.3)
    scn.run(10)
    overflow = scn.net.events_of("fmip.buffer_overflow", "nar")
    assert overflow
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.fields["packets"] == 3
    assert flushed.fields["overflow"] == len(overflow) == overflow[-1].fields["dropped"]
    assert scn.routers["nar"].counters["fmip.buffer_overflow"] == len(overflow)
    missing = set(scn.sent) - set(scn.received())
    assert len(missing) == len(overflow)


def test_buffer_drains_five_back_to_back_then_at_the_arrival_rate():
    scn = build()
    scn.cbr(start=4.0, stop=7.0, interval=0.02)
    _predictive(scn, link_down=0.3)
    scn.run(10)
    times = [e.time for e in scn.net.events_of("fmip.drained", "nar")]
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.fields["packets"] == len(times) > 5
    assert len(set(times[:5])) == 1  # a burst of 5 (§5.4)
    gaps = [round(b - a, 4) for a, b in pairwise(times[4:])]
    assert all(abs(g - 0.02) < 0.002 for g in gaps)  # then paced at ~20 ms
    assert sorted(scn.received()) == scn.sent


# -- ping-pong and erroneous movement (§5.6) -----------------------------------------------


def test_ping_pong_fbu_with_lifetime_zero_tears_the_tunnel_down():
    """§5.6: back on the PAR's link "before updating the necessary bindings" (here the home
    BU from the NCoA is lost): a lifetime-0 FBU ends the PAR's tunnel."""
    scn = build()
    _predictive(scn)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.move("par", at=6.5, link_down=0.05)
    scn.cbr(start=7.0, stop=8.0)
    scn.run(10)
    returned = scn.net.events_of("fmip.returned", "mn")
    assert returned and returned[0].fields == {"pcoa": PCOA, "par": ar("par")}
    delete = [p for _, p in scn.net.packets(FastBindingUpdate) if p.payload.lifetime == 0]
    assert len(delete) == 1 and delete[0].src == PCOA and delete[0].home_address == PCOA
    (down,) = scn.net.events_of("fmip.tunnel_down", "par")
    assert down.fields["reason"] == "fbu_lifetime_zero"
    assert PCOA not in scn.net.claims()
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == PCOA
    assert sorted(scn.received()) == scn.sent  # delivered directly again


def test_unexpected_router_supersedes_the_binding():
    # Decide for the NAR, then end up at ar3 (erroneous movement).
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("ar3", at=5.6, link_down=0.1)
    scn.run(9)
    ups = scn.net.events_of("fmip.tunnel_up", "par")
    assert [e.fields["endpoint"] for e in ups] == [NCOA, coa("ar3")]
    assert ups[1].fields["replaced"] == NCOA
    assert [p.payload.code for _, p in scn.net.packets(HandoverInitiate)] == [0, 1]
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == coa("ar3")


# -- security (§6.4.5) ---------------------------------------------------------------------


def _forged(scn, *, key=KEY, spi=None, home_address=PCOA, source=PCOA, lla=True):
    options = (AlternateCareOfAddress(address=IPv6Address("2001:db8:20::bad")),)
    if lla:
        options += (MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                       address=MAC),)
    fbu = FastBindingUpdate(sequence=1, lifetime=40, options=options)
    signer = key if spi is None else HandoverKey(spi=spi, key=key.key)
    fbu = sign_badf(fbu, signer, care_of_address=IPv6Address("2001:db8:20::bad"),
                    par_address=ar("par"))
    packet = IPv6Packet(src=source, dst=ar("par"), payload=fbu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home_address),)),))
    return encode_packet(packet)


def test_forged_fbu_is_rejected_and_changes_nothing():
    attacker = HandoverKey(spi=7777, key=b"not the key")
    cases = {
        "bad_authenticator": {"key": attacker},
        "unknown_spi": {"spi": 4242},
        "key_not_for_pcoa": {"home_address": IPv6Address("2001:db8:10::99")},
        "pcoa_not_on_link": {"home_address": IPv6Address("2001:db8:99::1")},
    }
    for reason, kwargs in cases.items():
        par = {"handover_keys": (HandoverKey(spi=7777, key=KEY.key,
                                             previous_care_of_address=PCOA),)}
        scn = build(par=par)
        scn.net.inject(_forged(scn, **kwargs), "par", "eth0", at=5.0)
        scn.run(7)
        (rejected,) = scn.net.events_of("fmip.fbu_rejected", "par")
        assert rejected.fields["reason"] == reason
        fmip = scn.routers["par"].fast_handover
        assert fmip.par.bindings == {}
        assert not list(scn.net.packets(HandoverInitiate))
        assert not scn.net.events_of("fmip.tunnel_up")
        assert PCOA not in scn.net.claims()
        assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == PCOA


@pytest.mark.parametrize("bound", [PCOA, None])
def test_keys_looked_up_in_a_mapping_redirect_only_the_address_they_name(bound):
    # A key server (a mapping from SPI) is not checked at configuration: every FBU is.
    key = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=bound)
    scn = build(par={"handover_keys": {7777: key}})
    other = IPv6Address("2001:db8:10::99")
    scn.net.inject(_forged(scn, home_address=other if bound else PCOA), "par", "eth0", at=5.0)
    scn.run(7)
    (rejected,) = scn.net.events_of("fmip.fbu_rejected", "par")
    assert rejected.fields["reason"] == "key_not_for_pcoa"
    assert scn.routers["par"].fast_handover.par.bindings == {}


def test_a_key_from_a_mapping_that_names_the_pcoa_is_accepted():
    key = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=PCOA)
    scn = build(par={"handover_keys": {7777: key}})
    scn.net.inject(_forged(scn), "par", "eth0", at=5.0)
    scn.run(7)
    assert not scn.net.events_of("fmip.fbu_rejected", "par")
    assert scn.net.events_of("fmip.hi_sent", "par")  # accepted: the handover started
    assert PCOA in scn.routers["par"].fast_handover.par.sequences


def test_an_fbu_naming_no_link_layer_address_the_par_knows_gets_fback_128_and_no_hi():
    # RFC 5568 §6.2.1.1: the HI's Link-Layer Address of MN option "MUST be included so that
    # the destination can recognize the MN"; the FBU's MH-LLA is only a "MAY" (§6.2.2). An
    # authentic FBU without one, from a node whose RtSolPr the PAR never heard, cannot give a
    # valid HI: refused with FBack 128 (to the NCoA and the PCoA), no HI, no tunnel. (The PAR
    # sent an HI without the option, which the NAR refused, before this was fixed.)
    key = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=PCOA)
    scn = build(par={"handover_keys": (key,)})
    scn.net.inject(_forged(scn, lla=False), "par", "eth0", at=5.0)
    scn.run(7)
    (rejected,) = scn.net.events_of("fmip.fbu_rejected", "par")
    assert rejected.fields["reason"] == "no_link_layer_address"
    assert scn.routers["par"].counters["fmip.fbu_rejected.no_link_layer_address"] == 1
    assert not list(scn.net.packets(HandoverInitiate))
    fbacks = [p for _r, p in scn.net.packets(FastBindingAcknowledgement)]
    assert {p.dst for p in fbacks} == {IPv6Address("2001:db8:20::bad"), PCOA}
    assert {(p.payload.status, p.payload.lifetime) for p in fbacks} == {(128, 0)}
    assert not scn.net.events_of("fmip.tunnel_up")
    assert scn.routers["par"].fast_handover.par.bindings == {}


def test_an_fbu_without_mh_lla_gets_an_hi_with_the_address_of_the_nodes_rtsolpr():
    # §6.1.1: the RtSolPr's source LLA option gives the PAR the node's link-layer address,
    # which the HI then carries (§6.2.1.1) when the FBU names none.
    key = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=PCOA)
    scn = build(par={"handover_keys": (key,)})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=4.0)  # RtSolPr -> PrRtAdv
    scn.net.inject(_forged(scn, lla=False), "par", "eth0", at=5.0)
    scn.run(5.5)
    assert not scn.net.events_of("fmip.fbu_rejected", "par")
    (hi,) = [p for _r, p in scn.net.packets(HandoverInitiate)]
    assert [o.address for o in hi.payload.options if isinstance(o, MHLinkLayerAddress)] == [MAC]


# -- routers without FMIPv6, unanswered RtSolPr (§5.1, §6.1.2) --------------------------------


def test_prrtadv_code_2_option_code_7_stops_fmip():
    scn = build(nar_neighbor={"fast_handover": False})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(9)
    (prrtadv,) = scn.net.events_of("fmip.prrtadv", "mn")
    assert prrtadv.fields["code"] == 2 and prrtadv.fields["resolved"] == ()
    assert _stopped(scn) == ["nar_without_fmip"]
    kinds = scn.kinds("mn")
    assert "fmip.fbu_sent" not in kinds and "fmip.una_sent" not in kinds
    # Plain Mobile IPv6 handover instead.
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_prrtadv_code_3_marks_only_the_unsupported_ap():
    scn = build(nar_neighbor={"fast_handover": False})
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["ar3"]), at=5.5)
    scn.run(6)
    (prrtadv,) = scn.net.events_of("fmip.prrtadv", "mn")
    assert prrtadv.fields["code"] == 3 and prrtadv.fields["resolved"] == (APS["ar3"],)
    assert APS["nar"] in scn.fmip.unsupported and not _stopped(scn)
    assert scn.net.events_of("fmip.fbu_sent", "mn")


def test_prrtadv_codes_for_unknown_and_local_access_points():
    scn = build(par={"local_access_points": (APS["par"],)})
    unknown = bytes.fromhex("02ffffffffff")
    scn.trigger(ScanCompleted(access_points=(unknown, APS["par"])), at=5.0)
    scn.trigger(ScanCompleted(access_points=()), at=6.0)
    scn.run(7)
    first, wildcard = scn.net.events_of("fmip.prrtadv_sent", "par")
    assert first.fields["code"] == 2
    assert wildcard.fields["code"] == 0
    assert set(scn.fmip.access_points) == {APS["nar"], APS["ar3"]}


def test_unanswered_rtsolpr_is_retried_then_fmip_stops():
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterSolicitationForProxy))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.run(8)
    sent = scn.net.events_of("fmip.rtsolpr_sent", "mn")
    # 100 ms doubling (§6.1.1), but the fourth waits for MAX_RTSOLPR_RATE: 3 per second.
    assert [round(e.time - 5.0, 6) for e in sent] == [0.0, 0.1, 0.3, 1.0]
    assert len({e.fields["identifier"] for e in sent}) == 1
    assert _stopped(scn) == ["no_prrtadv"]


def test_rtsolpr_rate_is_limited():
    scn = build()
    for i in range(6):
        scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0 + i * 0.01)
    scn.run(8)
    times = [e.time for e in scn.net.events_of("fmip.rtsolpr_sent", "mn")]
    assert times[:3] == pytest.approx([5.0, 5.01, 5.02])
    for t in times:
        assert sum(1 for u in times if t - 1.0 < u <= t) <= 3  # MAX_RTSOLPR_RATE
    assert times[3] == pytest.approx(6.0)  # the newest scan's RtSolPr, held back
    assert len(scn.net.events_of("fmip.prrtadv", "mn")) == len(times)  # each answered


def test_fbu_unanswered_after_fbu_retries_stops_fmip():
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingUpdate))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.run(8)
    sent = scn.net.events_of("fmip.fbu_sent", "mn")
    assert [e.fields["retransmission"] for e in sent] == [False, True, True, True]
    assert len({e.fields["sequence"] for e in sent}) == 4  # a new sequence number each time
    assert _stopped(scn) == ["no_fback"]


def test_proxy_expires_when_the_mn_never_arrives():
    scn = build()
    scn.cbr(start=4.0, stop=6.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)  # ...but the MN stays
    scn.run(8)
    (expired,) = scn.net.events_of("fmip.proxy_expired", "nar")
    assert expired.time == pytest.approx(scn.net.events_of("fmip.hack_sent")[0].time + 1.5)
    assert expired.fields["discarded"] > 0 and expired.fields["address"] == NCOA
    assert NCOA not in scn.net.claims()


def test_reverse_tunnel_without_the_binding_is_refused():
    scn = build()
    _predictive(scn)
    inner = IPv6Packet(src=PCOA, dst=IPv6Address("2001:db8:100::10"), payload=None)
    forged = IPv6Packet(src=IPv6Address("2001:db8:30::66"), dst=ar("par"), payload=inner)
    scn.net.inject(encode_packet(forged), "par", "eth0", at=6.0)
    scn.run(7)
    (refused,) = scn.net.events_of("fmip.reverse_tunnel_rejected", "par")
    assert refused.fields["source"] == IPv6Address("2001:db8:30::66")
    assert not scn.net.events_of("fmip.reverse_tunnelled")


def test_dhcp_neighbour_gives_prrtadv_code_5():
    scn = build(nar_neighbor={"dhcp": True})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.run(6)
    (prrtadv,) = scn.net.events_of("fmip.prrtadv", "mn")
    assert prrtadv.fields["code"] == 5 and scn.fmip.access_points[APS["nar"]].dhcp


def test_back_after_the_bindings_moved_is_a_new_handover():
    """§5.6 prescribes the lifetime-0 FBU only before the bindings are updated; once the home
    agent holds the NCoA, going back to the PAR's link is a handover like any other: the FBU
    goes to the router being left, and the old PAR stops forwarding the address away when its
    HI arrives (the node is back)."""
    scn = build()
    _predictive(scn)
    scn.trigger(ScanCompleted(access_points=()), at=6.0)  # the AR-Info of the way back
    scn.move("par", at=6.5, link_down=0.05)
    scn.cbr(start=7.0, stop=8.0)
    scn.run(10)
    assert not scn.net.events_of("fmip.returned", "mn")
    assert not [p for _, p in scn.net.packets(FastBindingUpdate) if p.payload.lifetime == 0]
    fbus = [p for _, p in scn.net.packets(FastBindingUpdate, sender="mn")]
    assert fbus[-1].dst == ar("nar") and fbus[-1].home_address == NCOA
    (down,) = scn.net.events_of("fmip.tunnel_down", "par")
    assert down.fields["reason"] == "returned"
    assert sorted(scn.received()) == scn.sent


def _naack_1(at: float, dst: IPv6Address) -> bytes:
    """An RA of the router's link-local address carrying NAACK status 1."""
    ra = RouterAdvertisement(options=(NeighborAdvertisementAcknowledgment(status=1),))
    return encode_packet(IPv6Packet(src=IPv6Address("fe80::1"), dst=dst, hop_limit=255,
                                    payload=ra))


#: (case, NAR options, predictive handover first, when the NAACK comes)
UNEXPECTED_NAACKS = [
    ("no handover under way", {}, False, 3.0),
    ("the PCoA is served (after NAACK 4)",
     {"addresses_in_use": frozenset({NCOA}), "support_previous_care_of_address": True}, True,
     8.5),
]


@pytest.mark.parametrize(("nar", "handover", "at"), [c[1:] for c in UNEXPECTED_NAACKS],
                         ids=[c[0] for c in UNEXPECTED_NAACKS])
def test_a_naack_outside_the_handover_it_answers_is_ignored(nar, handover, at):
    # RFC 5568 §6.4.6: a NAACK answers the UNA of the node's arrival. One that comes when no
    # UNA is unanswered (no handover, or after the NAR's answer already came) is dropped; taken
    # for an answer it would make the node give up its working address ("configure another").
    scn = build(nar=nar)
    if handover:
        _predictive(scn)
    scn.run(at - 0.1)
    before = scn.mn.care_of_address
    scn.net.inject(_naack_1(at, before), "mn", "wlan0", at=at)
    scn.run(at + 3)
    assert scn.mn.counters["drop.fmip_naack_unexpected"] == 1
    assert not scn.net.events_of("fmip.stopped", "mn")
    assert scn.mn.care_of_address == before
