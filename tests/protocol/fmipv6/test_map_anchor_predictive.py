"""F-HMIPv6 with the MAP as the fast-handover anchor (RFC 4140 Appendix A, Figure A.2).

The MAP sits above the access routers; the PAR answers the RtSolPr with AR-Info and the MAP
option; the FBU goes to the MAP (Home Address option = the RCoA whose binding moves, source =
the LCoA being left); HI/HAck run between the MAP and the NAR; the FBack comes from the MAP; the
MAP tunnels the RCoA's packets to the NCoA, where the NAR buffers them until the UNA; the local
BU from the new link (LCoA = NCoA) supersedes the fast binding. The home agent keeps the RCoA.
"""

from __future__ import annotations

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import (
    NeighborAdvertisement,
    ProxyRouterAdvertisement,
    RouterSolicitationForProxy,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import (
    BindingUpdate,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
)
from mipshop.wire.nd_options import MAPOption
from tests.harness import innermost
from tests.protocol.fmip_scenario import (
    APS,
    CN1,
    HA_ADDRESS,
    HOME_ADDRESS,
    MAC,
    MAP_ADDRESS,
    RCOA,
    build,
    coa,
)
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.1


def map_predictive(**kwargs):
    """MAP-anchored network, CBR 4-7 s, scan at 5 s, handover decision 5.5 s, move 5.6 s."""
    scn = build(hmip=True, map_anchored=True, **kwargs)
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(10)
    return scn


def _one(scn, kind):
    found = [p for _, p in scn.net.packets(kind)]
    assert len(found) == 1, found
    return found[0]


def test_map_anchored_predictive_handover_loses_no_packet():
    scn = map_predictive()
    assert len(scn.sent) == 150
    assert sorted(scn.received()) == scn.sent  # every packet, exactly once
    assert not scn.net.drops
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.fields["packets"] >= LINK_DOWN / 0.02 and flushed.fields["overflow"] == 0
    # The MAP did the forwarding; the PAR forwarded nothing (no MAP-PAR round trip).
    assert scn.map.counters["fmip.forwarded"] >= flushed.fields["packets"]
    assert scn.routers["par"].counters["fmip.forwarded"] == 0


def test_prrtadv_from_the_par_carries_the_map_option():
    scn = map_predictive()
    rtsolpr = _one(scn, RouterSolicitationForProxy)
    assert rtsolpr.dst.is_link_local and rtsolpr.src == PCOA  # to the PAR, as in RFC 5568
    prrtadv = _one(scn, ProxyRouterAdvertisement)
    assert prrtadv.payload.code == 0 and prrtadv.dst == PCOA
    maps = [o for o in prrtadv.payload.options if isinstance(o, MAPOption)]
    assert [o.address for o in maps] == [MAP_ADDRESS]
    assert scn.fmip.advertised_map == MAP_ADDRESS


def test_fbu_goes_to_the_map_with_the_rcoa_as_home_address():
    scn = map_predictive()
    fbu = _one(scn, FastBindingUpdate)
    # RFC 4140 Figure A.2 "F-BU from mobile node to MAP"; the Home Address is the RCoA whose
    # binding the MAP moves (as in the local BU, RFC 5380 §6.1), the source the LCoA (PCoA).
    assert fbu.dst == MAP_ADDRESS and fbu.src == PCOA and fbu.home_address == RCOA
    message = fbu.payload
    assert message.ack and message.home_registration
    assert [type(o) for o in message.options] == [
        AlternateCareOfAddress, MHLinkLayerAddress, FastBindingAuthorizationData]
    assert message.options[0].address == NCOA
    (received,) = scn.net.events_of("fmip.fbu_received")
    assert received.node == "map1" and received.fields["mode"] == "predictive"
    assert received.fields["pcoa"] == RCOA


def test_hi_and_hack_run_between_the_map_and_the_nar():
    scn = map_predictive()
    hi = _one(scn, HandoverInitiate)
    assert hi.src == MAP_ADDRESS and hi.dst == ar("nar")
    assert hi.payload.code == 0 and hi.payload.buffer
    addresses = {o.option_code: o.address for o in hi.payload.options
                 if isinstance(o, IPv6AddressPrefixOption)}
    assert addresses == {1: PCOA, 2: NCOA}  # PCoA = the LCoA the RCoA is bound to
    assert [o.address for o in hi.payload.options if isinstance(o, MHLinkLayerAddress)] == [MAC]
    hack = _one(scn, HandoverAcknowledge)
    assert hack.src == ar("nar") and hack.dst == MAP_ADDRESS and hack.payload.code == 0
    assert hack.payload.sequence == hi.payload.sequence
    assert not scn.net.events_of("fmip.fbu_received", "par")
    assert not scn.net.events_of("fmip.hi_sent", "par")


def test_fback_from_the_map_then_una_then_local_bu_with_the_ncoa():
    scn = map_predictive()
    fbacks = [(r.time, p) for r, p in scn.net.packets(FastBindingAcknowledgement)]
    assert {p.src for _, p in fbacks} == {MAP_ADDRESS}
    assert {p.dst for _, p in fbacks} == {PCOA, NCOA}
    (fback,) = scn.net.events_of("fmip.fback", "mn")
    assert fback.fields["status"] == 0 and not fback.fields["on_new_link"]
    assert fback.time < LEAVE
    unas = [(r.time, p) for r, p in scn.net.packets(NeighborAdvertisement)
            if p.payload.is_una]
    assert [p.src for _, p in unas] == [NCOA]
    (una,) = scn.net.events_of("fmip.una", "nar")
    assert una.fields["proxied"] and una.fields["address"] == NCOA
    local = [(r.time, p) for r, p in scn.net.packets(BindingUpdate)
             if isinstance(p.payload, BindingUpdate) and p.payload.map_registration
             and p.src == NCOA]
    assert local and local[0][0] >= unas[0][0] > fbacks[0][0]
    bu = local[0][1]
    assert bu.dst == MAP_ADDRESS and bu.home_address == RCOA  # RFC 5380 §6.1
    assert scn.map.cache.lookup(RCOA, scn.net.now).care_of_address == NCOA
    assert scn.fmip.handover.phase == "complete"


def test_home_agent_binding_stays_on_the_rcoa():
    scn = map_predictive()
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == RCOA
    home_bus = [r for r, p in scn.net.packets(BindingUpdate)
                if innermost(p).dst == HA_ADDRESS]
    # Only the first registration (HoA -> RCoA, inside the LCoA -> MAP tunnel); no BU to the
    # home agent around the handover: the RCoA did not change (RFC 5380 §6.1).
    assert home_bus and all(r.time < SCAN for r in home_bus)
    assert all(e.time < SCAN for e in scn.net.events_of("home.bu_sent", "mn"))


def test_map_tunnels_the_rcoa_to_the_ncoa_until_the_local_bu_supersedes_it():
    scn = map_predictive()
    (up,) = scn.net.events_of("fmip.tunnel_up", "map1")
    assert up.fields["endpoint"] == NCOA and up.fields["pcoa"] == RCOA
    (down,) = scn.net.events_of("fmip.tunnel_down", "map1")
    assert down.fields["reason"] == "superseded"
    registered = [e for e in scn.net.events_of("binding.registered", "map1")
                  if e.fields["care_of_address"] == NCOA]
    assert down.time == registered[0].time
    # The ended record is dropped; its last sequence number stays against replays.
    assert scn.map.fast_handover.role.binding(RCOA) is None
    assert RCOA in scn.map.fast_handover.role.sequences
    forwarded = [(r.time, p) for r, p in scn.net.packets(UDPDatagram, sender="map1")
                 if up.time <= r.time < down.time]
    assert forwarded
    for _, outer in forwarded:
        # MAP -> NCoA [HA -> RCoA [CN -> HoA]]: one MAP tunnel, redirected.
        assert outer.src == MAP_ADDRESS and outer.dst == NCOA
        assert outer.payload.src == HA_ADDRESS and outer.payload.dst == RCOA
        assert innermost(outer).src == CN1
    after = [p for r, p in scn.net.packets(UDPDatagram, sender="map1") if r.time > down.time]
    assert after and all(p.dst == NCOA for p in after)  # the regular binding now


def test_network_initiated_prrtadv_carries_the_map_option_and_the_fbu_goes_to_the_map():
    scn = build(hmip=True, map_anchored=True)
    scn.cbr(start=4.0, stop=7.0)
    scn.net.at(5.4, lambda now: scn.routers["par"].trigger_handover(
        PCOA, APS["nar"], now, mobile_link_layer_address=MAC))
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    prrtadv = _one(scn, ProxyRouterAdvertisement)
    assert prrtadv.payload.code == 1
    assert [o.address for o in prrtadv.payload.options if isinstance(o, MAPOption)] == [
        MAP_ADDRESS]
    fbu = _one(scn, FastBindingUpdate)
    assert fbu.dst == MAP_ADDRESS and fbu.home_address == RCOA
    (sent,) = scn.net.events_of("fmip.fbu_sent", "mn")
    assert sent.time < 5.41 and sent.fields["mode"] == "predictive"
    assert sorted(scn.received()) == scn.sent


def test_map_accepts_the_reverse_tunnel_from_the_ncoa_before_the_local_bu():
    scn = build(hmip=True, map_anchored=True)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    # Hold the local BU from the new link back, so only the fast binding vouches for the NCoA.
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA
                    and r.time < 5.75)
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(src_port=1, dst_port=2,
                                                                     data=b"up"))
    scn.net.at(5.72, lambda now: scn.mn.send_packet(up, now))
    scn.run(8)
    sent = [p for r, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert [(p.src, p.dst, p.payload.src) for p in sent] == [(NCOA, MAP_ADDRESS, RCOA)]
    assert scn.map.counters["drop.reverse_tunnel_unbound"] == 0
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "cn1"] == [b"up"]
