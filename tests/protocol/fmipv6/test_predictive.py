"""FMIPv6 predictive handover (RFC 5568 §3.2 Figure 2) with a CBR stream, end to end."""

from __future__ import annotations

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.ext_headers import DestinationOptions
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
from mipshop.wire.nd_options import IPAddressPrefix, LinkLayerAddress, TargetLinkLayerAddress
from tests.harness import innermost
from tests.protocol.fmip_scenario import APS, CN1, HA_ADDRESS, HOME_ADDRESS, MAC, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.1


def predictive(**kwargs):
    """Registered on the PAR's link, a CBR stream from 4 s to 7 s, handover at 5.6 s."""
    scn = build(**kwargs)
    scn.cbr(start=4.0, stop=7.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(10)
    return scn


def test_predictive_handover_loses_no_packet_of_a_cbr_stream():
    scn = predictive()
    assert len(scn.sent) == 150
    received = scn.received()
    assert sorted(received) == scn.sent  # every packet, exactly once
    assert not scn.net.drops
    # Some packets made the PAR -> NAR -> buffer -> MN trip (they would be lost otherwise).
    (flushed,) = scn.net.events_of("fmip.flushed", "nar")
    assert flushed.fields["packets"] >= LINK_DOWN / 0.02 and flushed.fields["overflow"] == 0
    assert scn.routers["par"].counters["fmip.forwarded"] >= flushed.fields["packets"]


def test_predictive_signalling_order_and_states():
    scn = predictive()
    order = [k for k in scn.kinds() if k not in ("fmip.forwarded", "fmip.buffered")]
    assert order[:13] == [
        "fmip.rtsolpr_sent", "fmip.prrtadv_sent", "fmip.prrtadv", "fmip.fbu_sent",
        "fmip.fbu_received", "fmip.hi_sent", "fmip.hi_received", "fmip.hack_sent",
        "fmip.hack", "fmip.fback_sent", "fmip.tunnel_up", "fmip.fback", "fmip.una_sent",
    ]
    assert "fmip.reactive" not in order and "fmip.stopped" not in order
    (fback,) = scn.net.events_of("fmip.fback", "mn")
    assert fback.fields["status"] == 0 and not fback.fields["on_new_link"]
    assert fback.time < LEAVE  # acknowledged on the old link: predictive
    (una,) = scn.net.events_of("fmip.una", "nar")
    assert una.fields["proxied"] and una.fields["address"] == NCOA
    assert scn.fmip.handover is not None and scn.fmip.handover.phase == "complete"
    nar = scn.routers["nar"].fast_handover
    assert nar is not None and nar.nar.neighbors[NCOA] == MAC


def test_after_the_handover_the_home_agent_binding_points_to_the_ncoa():
    scn = predictive()
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA
    assert scn.mn.care_of_address == NCOA
    complete = scn.net.events_of("fmip.handover_complete", "mn")
    assert complete and complete[0].fields == {"pcoa": PCOA, "ncoa": NCOA}
    # The fast handover made the NCoA usable at link-up: no DAD wait before the home BU.
    bus = [e for e in scn.net.events_of("home.bu_sent", "mn") if e.fields["care_of_address"]
           == NCOA]
    assert bus[0].time == pytest.approx(LEAVE + LINK_DOWN)


def test_predictive_messages_on_the_wire():
    scn = predictive()
    (_, rtsolpr), = scn.net.packets(RouterSolicitationForProxy)
    assert rtsolpr.hop_limit == 255 and rtsolpr.src == PCOA
    codes = [(o.option_code, o.address) for o in rtsolpr.payload.options]
    assert codes == [(4, MAC), (1, APS["nar"])]

    (_, prrtadv), = scn.net.packets(ProxyRouterAdvertisement)
    assert prrtadv.src.is_link_local and prrtadv.dst == PCOA and prrtadv.hop_limit == 255
    assert prrtadv.payload.code == 0
    assert prrtadv.payload.identifier == rtsolpr.payload.identifier
    options = prrtadv.payload.options
    assert [(type(o), o.option_code) for o in options] == [
        (LinkLayerAddress, 4), (LinkLayerAddress, 1), (LinkLayerAddress, 3),
        (IPAddressPrefix, 3), (IPAddressPrefix, 4)]
    assert options[3].address == ar("nar") and options[4].prefix_length == 64

    fbus = [p for _, p in scn.net.packets(FastBindingUpdate)]
    assert len(fbus) == 1
    fbu = fbus[0]
    assert fbu.src == PCOA and fbu.dst == ar("par") and fbu.home_address == PCOA
    assert isinstance(fbu.extension_headers[0], DestinationOptions)
    message = fbu.payload
    assert message.ack and message.home_registration and message.lifetime == 40
    assert [type(o) for o in message.options] == [
        AlternateCareOfAddress, MHLinkLayerAddress, FastBindingAuthorizationData]
    assert message.options[0].address == NCOA and message.options[-1].spi == 7777

    (_, hi), = scn.net.packets(HandoverInitiate)
    assert hi.src == ar("par") and hi.dst == ar("nar")
    assert hi.payload.code == 0 and hi.payload.buffer and not hi.payload.assigned_address
    addresses = {o.option_code: o.address for o in hi.payload.options
                 if isinstance(o, IPv6AddressPrefixOption)}
    assert addresses == {1: PCOA, 2: NCOA}
    lla = [o for o in hi.payload.options if isinstance(o, MHLinkLayerAddress)]
    assert lla[0].option_code == 2 and lla[0].address == MAC

    (_, hack), = scn.net.packets(HandoverAcknowledge)
    assert hack.src == ar("nar") and hack.dst == ar("par")
    assert hack.payload.code == 0 and hack.payload.sequence == hi.payload.sequence

    fbacks = [p for _, p in scn.net.packets(FastBindingAcknowledgement)]
    assert {p.dst for p in fbacks} == {PCOA, NCOA}  # the new link and the old one (§6.2.3)
    for p in fbacks:
        assert p.payload.status == 0 and p.payload.sequence == message.sequence
        assert isinstance(p.payload.options[-1], FastBindingAuthorizationData)

    unas = [p for _, p in scn.net.packets(NeighborAdvertisement) if p.payload.is_una]
    assert len(unas) == 1
    una = unas[0]
    assert una.src == NCOA and una.payload.target == NCOA and una.hop_limit == 255
    assert [o.address for o in una.payload.options if isinstance(o, TargetLinkLayerAddress)
            ] == [MAC]


def test_par_tunnel_and_buffered_packets_carry_the_stream():
    scn = predictive()
    tunnelled = [p for r, p in scn.net.packets(UDPDatagram, sender="par")]
    assert tunnelled
    for outer in tunnelled:
        # PAR -> NCoA [HA -> PCoA [CN -> HoA]]: the PAR's global address is the tunnel source.
        assert outer.src == ar("par") and outer.dst == NCOA
        middle = outer.payload
        assert isinstance(middle, IPv6Packet) and middle.src == HA_ADDRESS
        assert middle.dst == PCOA and innermost(outer).src == CN1


def _uplink(scn, at: float) -> None:
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(src_port=1, dst_port=2,
                                                                     data=b"up"))
    scn.net.at(at, lambda now: scn.mn.send_packet(up, now))


def test_reverse_tunnel_through_the_par_until_the_home_bu_leaves():
    """RFC 5568 §4: from the new link, before the home agent can know the NCoA, the node
    reverse-tunnels through the PAR (outer NCoA -> PAR, inner from the PCoA). Here the home
    BU is held back by the RFC 6275 §11.8 rate limit (three BUs just went to the home agent)."""
    scn = build(mn={"dad_delay": 1.0})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)

    def exhaust_rate(now: float) -> None:
        key = (HA_ADDRESS, BindingUpdate.MH_TYPE)
        for _ in range(3):
            scn.mn.home._rate.record(key, now)
    scn.net.at(LEAVE + LINK_DOWN - 0.001, exhaust_rate)
    _uplink(scn, 5.72)
    scn.run(8)
    bu_times = [e.time for e in scn.net.events_of("home.bu_sent", "mn") if e.time > LEAVE]
    assert bu_times and bu_times[0] > 5.72  # the BU was not out yet
    (sent,) = [p for _, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert sent.src == NCOA and sent.dst == ar("par")
    assert sent.payload.src == PCOA and sent.payload.dst == HA_ADDRESS
    assert scn.net.events_of("fmip.reverse_tunnelled", "par")
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "cn1"] == [b"up"]


@pytest.mark.parametrize("bu_lost", [False, True])
def test_uplink_goes_both_ways_until_the_home_ba(bu_lost: bool):
    """Once the BU for the NCoA has left and until its BA, a packet goes both ways: from the
    NCoA straight to the home agent (it follows the BU) and through the PAR from the PCoA.
    The home agent's source check (RFC 6275 §10.4.5, unchanged) lets exactly one through: the
    first if the BU arrived, the second if it was lost, so a lost BU costs the uplink
    nothing."""
    scn = build(mn={"dad_delay": 1.0})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    if bu_lost:
        scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA
                        and r.time < LEAVE + LINK_DOWN + 0.5)
    _uplink(scn, LEAVE + LINK_DOWN + 0.001)  # BU sent, BA far from back
    scn.run(8)
    (bu,) = [e for e in scn.net.events_of("home.bu_sent", "mn") if e.time > LEAVE][:1]
    registered = [e for e in scn.net.events_of("home.registered", "mn") if e.time > LEAVE]
    assert bu.time < LEAVE + LINK_DOWN + 0.001 < registered[0].time
    sent = [p for _, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert sorted((p.src, p.dst) for p in sent) == sorted([(NCOA, HA_ADDRESS),
                                                           (NCOA, ar("par"))])
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "cn1"] == [b"up"]
    # The copy that lost at the home agent was refused there, by its source check.
    assert scn.ha.counters["drop.reverse_tunnel_unbound"] == 1
