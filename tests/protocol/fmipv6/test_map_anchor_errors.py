"""F-HMIPv6 with the MAP as anchor (RFC 4140 Appendix A): reactive mode, forged FBUs, HI loss
and retransmission between the MAP and the NAR, refusals, ping-pong."""

from __future__ import annotations

from ipaddress import IPv6Address
from itertools import pairwise

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.config import HandoverKey
from mipshop.protocol.fmipv6.security import sign_badf
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate, HandoverInitiate
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobilityOption,
)
from tests.harness import innermost
from tests.protocol.fmip_scenario import (
    APS,
    HOME_ADDRESS,
    KEY,
    MAC,
    MAP_ADDRESS,
    RCOA,
    build,
    coa,
)
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")


def _predictive(scn, *, leave=5.6, link_down=0.1):
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=leave, link_down=link_down)


def _fbus(scn):
    return [p for _, p in scn.net.packets(FastBindingUpdate)]


def _his(scn):
    return [p for _, p in scn.net.packets(HandoverInitiate)]


def test_reactive_handover_under_the_map():
    scn = build(hmip=True, map_anchored=True)
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    (reactive,) = scn.net.events_of("fmip.reactive", "mn")
    assert reactive.fields == {"reason": "no_fback", "ncoa": NCOA}
    (fbu,) = _fbus(scn)
    # From the new link, to the MAP, still naming the RCoA; no Alternate CoA (§6.2.2).
    assert fbu.src == NCOA and fbu.dst == MAP_ADDRESS and fbu.home_address == RCOA
    assert not any(isinstance(o, AlternateCareOfAddress) for o in fbu.payload.options)
    (hi,) = _his(scn)
    assert hi.src == MAP_ADDRESS and hi.dst == ar("nar")
    assert hi.payload.code == 1 and not hi.payload.buffer and not hi.payload.assigned_address
    (received,) = scn.net.events_of("fmip.fbu_received", "map1")
    assert received.fields["mode"] == "reactive"
    fbacks = [p for _, p in scn.net.packets(FastBindingAcknowledgement)]
    assert [(p.src, p.dst) for p in fbacks] == [(MAP_ADDRESS, NCOA)]
    (fback,) = scn.net.events_of("fmip.fback", "mn")
    assert fback.fields["status"] == 0 and fback.fields["on_new_link"]
    assert not scn.net.events_of("fmip.fbu_received", "par")
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == NCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == RCOA
    # Reactive: what the MAP sent to the PCoA while the MN was between links is lost, nothing
    # sent after the MAP learnt the NCoA.
    (registered,) = [e for e in scn.net.events_of("binding.registered", "map1")
                     if e.fields["care_of_address"] == NCOA]
    missing = sorted(set(scn.sent) - set(scn.received()))
    assert missing and all(4.0 + 0.02 * s < registered.time for s in missing)
    assert scn.fmip.handover.phase == "complete"


def _forged(*, key=KEY, spi=None, home_address=RCOA, source=PCOA, sequence=1, lla=False):
    bad = IPv6Address("2001:db8:20::bad")
    options: tuple[MobilityOption, ...] = (AlternateCareOfAddress(address=bad),)
    if lla:
        options += (MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                       address=MAC),)
    fbu = FastBindingUpdate(sequence=sequence, lifetime=40, options=options)
    signer = key if spi is None else HandoverKey(spi=spi, key=key.key)
    fbu = sign_badf(fbu, signer, care_of_address=bad, par_address=MAP_ADDRESS)
    return encode_packet(IPv6Packet(src=source, dst=MAP_ADDRESS, payload=fbu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home_address),)),)))


@pytest.mark.parametrize(("reason", "kwargs"), [
    ("bad_authenticator", {"key": HandoverKey(spi=7777, key=b"not the key")}),
    ("unknown_spi", {"spi": 4242}),
    ("no_binding", {"home_address": IPv6Address("2001:db8:a1::99")}),
    ("no_binding", {"home_address": PCOA}),  # an LCoA is no RCoA bound here
    ("key_not_for_pcoa", {"key": HandoverKey(spi=7778, key=KEY.key)}),
])
def test_forged_fbu_to_the_map_is_rejected_and_changes_nothing(reason, kwargs):
    other = HandoverKey(spi=7778, key=KEY.key,
                        previous_care_of_address=IPv6Address("2001:db8:a1::77"))
    own = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=RCOA)
    scn = build(hmip=True, map_anchored=True, map_fast={"handover_keys": (own, other)})
    scn.net.inject(_forged(**kwargs), "map1", "eth0", at=5.0)
    scn.run(7)
    (rejected,) = scn.net.events_of("fmip.fbu_rejected", "map1")
    assert rejected.fields["reason"] == reason
    assert scn.map.fast_handover.role.bindings == {}
    assert not _his(scn) and not scn.net.events_of("fmip.tunnel_up")
    assert not [p for _, p in scn.net.packets(FastBindingAcknowledgement)]
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == PCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == RCOA


def test_an_fbu_to_the_map_without_mh_lla_gets_fback_128_and_no_hi():
    # RFC 5568 §6.2.1.1: the HI's Link-Layer Address of MN option "MUST be included so that
    # the destination can recognize the MN"; the FBU's MH-LLA is a "MAY" (§6.2.2) and the MAP
    # hears no RtSolPr (RFC 4140 Appendix A): without it no valid HI can be sent. The FBU is
    # refused with FBack 128 (lifetime 0) to the NCoA and the LCoA; no HI, nothing redirected.
    # (The MAP sent an HI without the option before this was fixed.)
    own = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=RCOA)
    scn = build(hmip=True, map_anchored=True, map_fast={"handover_keys": (own,)})
    scn.net.inject(_forged(key=own), "map1", "eth0", at=5.0)
    scn.run(7)
    (rejected,) = scn.net.events_of("fmip.fbu_rejected", "map1")
    assert rejected.fields["reason"] == "no_link_layer_address"
    assert not _his(scn) and not scn.net.events_of("fmip.tunnel_up")
    fbacks = [p for _, p in scn.net.packets(FastBindingAcknowledgement)]
    assert {p.dst for p in fbacks} == {IPv6Address("2001:db8:20::bad"), PCOA}
    assert {(p.src, p.payload.status, p.payload.lifetime) for p in fbacks} == {
        (MAP_ADDRESS, 128, 0)}
    assert scn.map.fast_handover.role.bindings == {}
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == PCOA


def test_a_later_fbu_without_mh_lla_uses_the_link_layer_address_of_the_earlier_one():
    # The fast binding already knows the node's link-layer address from its earlier FBU: a
    # new FBU of the same binding without MH-LLA (a "MAY", §6.2.2) gets an HI with it.
    own = HandoverKey(spi=7777, key=KEY.key, previous_care_of_address=RCOA)
    scn = build(hmip=True, map_anchored=True, map_fast={"handover_keys": (own,)})
    scn.net.inject(_forged(key=own, lla=True), "map1", "eth0", at=5.0)
    scn.net.inject(_forged(key=own, sequence=2), "map1", "eth0", at=5.5)
    scn.run(7)
    assert not scn.net.events_of("fmip.fbu_rejected", "map1")
    his = _his(scn)
    assert len(his) == 2
    for hi in his:
        assert [o.address for o in hi.payload.options
                if isinstance(o, MHLinkLayerAddress)] == [MAC]
    assert {p.payload.status for _, p in scn.net.packets(FastBindingAcknowledgement)
            if p.payload.sequence == 2} == {0}


def test_hi_from_the_map_lost_once_is_retransmitted_with_the_same_sequence():
    scn = build(hmip=True, map_anchored=True)
    lost = []

    def first_hi(packet, record):
        if isinstance(packet.payload, HandoverInitiate) and not lost:
            lost.append(record.time)
            return True
        return False

    scn.net.drop_if(first_hi)
    scn.cbr(start=4.0, stop=7.0)
    _predictive(scn, leave=5.8)
    scn.run(10)
    sent = scn.net.events_of("fmip.hi_sent", "map1")
    assert [e.fields["retransmission"] for e in sent] == [False, True]
    assert sent[1].time - sent[0].time == pytest.approx(0.1)  # §6.2.1.1: 100 ms, RTT unknown
    assert sent[0].fields["sequence"] == sent[1].fields["sequence"]
    assert [(p.src, p.dst) for p in _his(scn)] == [(MAP_ADDRESS, ar("nar"))] * 2
    assert len(scn.net.events_of("fmip.hi_received", "nar")) == 1
    assert scn.net.events_of("fmip.tunnel_up", "map1")
    assert sorted(scn.received()) == scn.sent


def test_hi_retries_exhausted_at_the_map_means_no_redirection():
    scn = build(hmip=True, map_anchored=True)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, HandoverInitiate))
    _predictive(scn, leave=8.0)
    scn.run(10)
    sent = scn.net.events_of("fmip.hi_sent", "map1")
    gaps = [round(b.time - a.time, 6) for a, b in pairwise(sent)]
    assert gaps == [0.1, 0.2, 0.4]  # HI_RETRIES = 3, doubling
    assert scn.net.events_of("fmip.hi_failed", "map1")
    assert not scn.net.events_of("fmip.tunnel_up")
    assert scn.net.events_of("fmip.stopped", "mn")  # no FBack, or FBack 128
    # Plain HMIPv6 still moves the local binding.
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == NCOA


def test_hack_use_pcoa_at_the_map_keeps_the_lcoa_served_by_the_nar():
    """HAck Code 3 at a MAP anchor: not a refusal. The MAP keeps tunnelling the RCoA to the
    old LCoA, through the NAR (which serves it on its link: NAACK status 4), and tells the
    node with FBack status 1 naming that LCoA; the node keeps it and sends no local BU."""
    scn = build(hmip=True, map_anchored=True, nar={
        "support_previous_care_of_address": True, "addresses_in_use": frozenset({NCOA})})
    scn.cbr(start=4.0, stop=9.0)
    _predictive(scn)
    scn.run(10)
    (hack,) = scn.net.events_of("fmip.hack", "map1")
    assert hack.fields["code"] == 3
    (sent,) = scn.net.events_of("fmip.fback_sent", "map1")
    assert sent.fields["status"] == 1
    # RFC 5568 §6.2.3: the FBack goes to the PCoA, which is also the address it names: one
    # copy, not one for the old link and another for the (same) care-of address.
    assert sent.fields["destinations"] == (PCOA,)
    (fback,) = [innermost(p).payload for r, p in scn.net.packets(FastBindingAcknowledgement)
                if r.sender == "map1"]
    assert [o.address for o in fback.options if isinstance(o, AlternateCareOfAddress)] == [PCOA]
    (up,) = scn.net.events_of("fmip.tunnel_up", "map1")
    assert up.fields["endpoint"] == PCOA
    # Tunnelled twice: MAP -> NAR around MAP -> old LCoA around the RCoA's packet.
    twice = [p for r, p in scn.net.packets(sender="map1")
             if p.dst == ar("nar") and isinstance(p.payload, IPv6Packet)
             and p.payload.dst == PCOA and isinstance(p.payload.payload, IPv6Packet)
             and p.payload.payload.dst == RCOA]
    assert twice
    assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == [4]
    assert scn.mn.care_of_address == PCOA
    assert scn.map.cache.lookup(RCOA, 10).care_of_address == PCOA
    assert not [p for r, p in scn.net.packets(sender="mn")
                if r.time > up.time and p.src == NCOA]  # no local BU, nothing from the NCoA
    assert set(scn.sent) <= set(scn.received())  # the NAR buffered and then delivered


def test_ping_pong_back_to_the_par_ends_the_fast_binding_at_the_map():
    scn = build(hmip=True, map_anchored=True)
    _predictive(scn, leave=5.6, link_down=0.05)
    # The new link fails at once: back on the PAR's AP before anything else happened.
    scn.net.drop_if(lambda p, r: r.link == "nar" and r.time >= 5.64)
    scn.move("par", at=5.66, link_down=0.05)
    scn.run(8)
    sent = scn.net.events_of("fmip.fbu_sent", "mn")
    assert [e.fields["lifetime"] for e in sent][-1] == 0
    assert sent[-1].fields["anchor"] == MAP_ADDRESS and sent[-1].fields["source"] == PCOA
    (down,) = scn.net.events_of("fmip.tunnel_down", "map1")
    assert down.fields["reason"] == "fbu_lifetime_zero"
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == PCOA


def test_the_maps_own_packets_to_the_served_lcoa_go_through_the_nar():
    """A local BU refreshing the LCoA the NAR serves: the MAP's BA (to that LCoA, RH2 with
    the RCoA) reaches the node through the NAR too."""
    scn = build(hmip=True, map_anchored=True, nar={
        "support_previous_care_of_address": True, "addresses_in_use": frozenset({NCOA})})
    _predictive(scn)
    assert scn.map_client is not None
    scn.net.at(8.0, lambda now: scn.map_client.current.register(PCOA))
    scn.run(9)
    [refreshed] = [e for e in scn.net.events_of("map.refreshed", "mn") if e.time > 8.0]
    assert refreshed.fields["lcoa"] == PCOA
    wrapped = [p for r, p in scn.net.packets(sender="map1")
               if r.time > 8.0 and p.dst == ar("nar") and isinstance(p.payload, IPv6Packet)
               and p.payload.dst == PCOA and not isinstance(p.payload.payload, IPv6Packet)]
    assert wrapped  # the BA, in a tunnel to the NAR
