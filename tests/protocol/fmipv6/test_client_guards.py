"""Guards of the mobile node's fast handover client (RFC 5568 §4, §5.6, §6.3, §6.4.6) that the
scenarios reach but did not check: when the node reverse-tunnels through the PAR, how long it
keeps the PCoA, when its FBU and UNA retransmissions stop.

The reverse tunnel (§4: "the MN ... reverse tunnels packets to the PAR" until the home agent
has the NCoA) uses the PAR's binding: only after an FBack, only for the NCoA that binding
names, and only within the FBack's lifetime; outside, a packet from the PCoA through the PAR
would be refused there, or would keep using a PCoA the node no longer has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import ConfigureAddress
from mipshop.protocol.base.addressing import ALL_NODES
from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.icmpv6 import NeighborAdvertisement, RouterSolicitationForProxy
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from mipshop.wire.mh import BindingUpdate, FastBindingAcknowledgement, FastBindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import LLAOptionCode as L
from mipshop.wire.nd_options import NAACKStatus, NeighborAdvertisementAcknowledgment
from tests.protocol.fmip_scenario import APS, CN1, HOME_ADDRESS, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.1
ARRIVAL = LEAVE + LINK_DOWN
OTHER = IPv6Address("2001:db8:20::beef")
LEASED = IPv6Address("2001:db8:20::1:0")  # the first address of the NAR's DHCPv6 pool


def _held_home_binding(*, fback: bool = True):
    """A predictive handover par -> nar whose home BUs are all lost after the move: the home
    agent keeps the PCoA, the handover stays ``moved`` (and, with ``fback`` False, every FBack
    is lost too)."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: (r.time > LEAVE and isinstance(p.payload, BindingUpdate))
                    or (not fback and isinstance(p.payload, FastBindingAcknowledgement)))
    return scn


def _uplink_at(scn, when: Callable[[object], float],
               before: Callable[[object, float], None] | None = None) -> float:
    """Run to just after the arrival, then send one packet from the home address at
    ``when(handover)``, 1 ms after ``before(scenario, time)``; return the time it was sent."""
    scn.run(ARRIVAL + 0.05)
    at = when(scn.fmip.handover)
    if before is not None:
        scn.net.at(at - 0.001, lambda now: before(scn, now))
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
        src_port=1, dst_port=2, data=b"up"))
    scn.net.at(at, lambda now: scn.mn.send_packet(up, now))
    scn.run(at + 0.001)
    return at


def _naack_2(scn, now: float) -> None:
    """The NAR's RA with NAACK status 2 supplying OTHER (§6.4.6), to the NCoA."""
    router = scn.routers["nar"]
    ra = router.advertiser.advertisement()
    ra = replace(ra, options=(*ra.options, NeighborAdvertisementAcknowledgment(
        status=NAACKStatus.NCOA_INVALID_USE_SUPPLIED, new_care_of_address=OTHER)))
    scn.mn.receive(encode_packet(IPv6Packet(
        src=router.config.link_local, dst=NCOA, hop_limit=255, payload=ra)), "wlan0", now)


def _through_the_par(scn, at: float) -> bool:
    """Whether the packet sent at ``at`` went to the PAR (outer NCoA -> PAR, inner PCoA)."""
    sent = [p for r, p in scn.net.packets(UDPDatagram, sender="mn") if r.time >= at]
    assert sent, "the packet left the node"
    return any(p.dst == ar("par") for p in sent)


@pytest.mark.parametrize(("case", "fback", "when", "before", "expected"), [
    ("with the FBack, within its lifetime", True, lambda h: ARRIVAL + 0.1, None, True),
    ("just before the FBack lifetime ends", True, lambda h: h.tunnel_until - 0.01, None, True),
    ("when the FBack lifetime ends", True, lambda h: h.tunnel_until, None, False),
    ("after the FBack lifetime", True, lambda h: h.tunnel_until + 1.0, None, False),
    ("from a care-of address other than the NCoA", True, lambda h: ARRIVAL + 0.1,
     lambda scn, now: scn.mn.adopt_care_of_address(OTHER), False),
    ("without an FBack", False, lambda h: ARRIVAL + 0.06, None, False),
    # §6.4.6: NAACK 2 after the FBack: the FBack named the old NCoA; until the FBack of the
    # FBU from the supplied one comes, the PAR has no binding for it.
    ("after a NAACK 2, before the new FBack", True, lambda h: ARRIVAL + 0.1, _naack_2,
     False),
])
def test_the_reverse_tunnel_to_the_par_only_under_its_binding(case, fback, when, before,
                                                                expected):
    scn = _held_home_binding(fback=fback)
    at = _uplink_at(scn, when, before)
    h = scn.fmip.handover
    assert h is not None and h.phase == "moved"
    assert scn.mn.home.entry is not None and scn.mn.home.entry.bound_care_of_address == PCOA
    assert _through_the_par(scn, at) is expected


def test_before_any_handover_the_uplink_goes_to_the_home_agent():
    """No fast handover yet (the node is away, on the PAR's link): ordinary reverse
    tunnelling from the care-of address to the home agent (RFC 6275 §11.3.1)."""
    scn = build()
    up = IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
        src_port=1, dst_port=2, data=b"up"))
    scn.net.at(4.0, lambda now: scn.mn.send_packet(up, now))
    scn.run(4.5)
    assert scn.fmip.handover is None
    [sent] = [p for _r, p in scn.net.packets(UDPDatagram, sender="mn")]
    assert (sent.src, sent.dst) == (PCOA, scn.mn.home_agent)


def test_the_fbu_timer_of_a_handover_left_behind_sends_nothing():
    """§6.2.2: FBUs are retransmitted for the handover they belong to only. A reactive
    handover to the NAR whose FBack is lost completes with the home registration, and its FBU
    timer still runs when the node moves on to a third router: when it fires, the handover
    it belonged to is gone, and the next handover's FBU is not sent again on its account."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=SCAN)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and p.src == ar("par"))
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)  # reactive: FBU from the NCoA at 5.7 s
    scn.run(5.84)
    first = scn.fmip.handover
    assert first is not None and first.phase == "complete" and not first.fback
    assert first.fbu_timer is not None and not first.fbu_timer.cancelled
    scn.move("ar3", at=5.85, link_down=0.05)
    scn.run(7.5)
    assert scn.fmip.handover is not first
    later = [(r.time, p.src) for r, p in scn.net.packets(FastBindingUpdate, sender="mn")
             if r.time > 5.85]
    assert later == [(pytest.approx(5.9), coa("ar3"))]
    assert not [e for e in scn.net.events_of("fmip.fbu_sent", "mn")
                if e.time > 5.85 and e.fields["retransmission"]]
    assert not scn.net.events_of("fmip.stopped", "mn")


def _address_log(monkeypatch, node) -> list[tuple[float, ConfigureAddress]]:
    """Every ConfigureAddress ``node`` puts out, with the time (its structured output)."""
    log: list[tuple[float, ConfigureAddress]] = []
    act = MobileNode.act

    def recording(self, action) -> None:
        if self is node and isinstance(action, ConfigureAddress):
            log.append((self.now, action))
        act(self, action)
    monkeypatch.setattr(MobileNode, "act", recording)
    return log


@pytest.mark.parametrize("fback", [True, False], ids=["FBack", "FBack lost"])
def test_the_pcoa_is_kept_as_a_host_address_while_the_forwarding_lives(monkeypatch, fback):
    """PrRtAdv Code 5 (§5.2): on the NAR's link the node keeps its PCoA, which the PAR and
    NAR forward, until DHCPv6 gives it an address; then it keeps the PCoA configured, as a
    /128 (its prefix is not on this link), as long as that forwarding lives, the FBack's
    lifetime (the FBU's when no FBack came), and no longer. The NCoA formed for the FBU and
    the UNA only ("it MUST NOT send data packets using the NCoA") is removed once the FBU
    exchange it served is over."""
    scn = build(nar_dhcp={})
    log = _address_log(monkeypatch, scn.mn)
    if not fback:
        scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 2)
    [bound] = scn.net.events_of("dhcp.bound", "mn")
    assert scn.mn.care_of_address == LEASED
    fbacks = scn.net.events_of("fmip.fback", "mn")
    assert bool(fbacks) is fback
    until = (fbacks[0].time + fbacks[0].fields["lifetime"] if fback
             else bound.time + scn.fmip.config.fbu_lifetime)
    pcoa = [(t, a.prefix_length, a.active) for t, a in log if a.address == PCOA]
    assert (bound.time, 128, True) in pcoa
    assert not [entry for entry in pcoa if entry[0] > bound.time]
    ncoa = [(t, a.prefix_length, a.active) for t, a in log if a.address == NCOA]
    assert ncoa[0] == (ARRIVAL, 128, True)
    if fback:  # the FBack came before DHCPv6 was done: the NCoA goes with the new address
        assert ncoa[1:] == [(bound.time, 128, False)]
    else:  # no FBack: the NCoA goes when the node gives fast handover up
        [stopped] = scn.net.events_of("fmip.stopped", "mn")
        assert stopped.fields["reason"] == "no_fback"
        assert ncoa[1:] == [(stopped.time, 128, False)]
    assert PCOA in scn.net.addresses("mn", "wlan0")
    scn.run(until - 0.001)
    assert PCOA in scn.net.addresses("mn", "wlan0")
    scn.run(until + 1)
    assert [(t, p, a) for t, p, a in [(t, a.prefix_length, a.active) for t, a in log
                                      if a.address == PCOA] if t > bound.time] == [
        (pytest.approx(until), 128, False)]
    assert PCOA not in scn.net.addresses("mn", "wlan0")
    assert scn.mn.care_of_address == LEASED


@pytest.mark.parametrize("status", [3, 4])
def test_after_a_naack_3_or_4_the_pcoa_is_a_host_address_on_the_nars_link(monkeypatch, status):
    """§6.4.6: NAACK 3 or 4, the NAR serves the PCoA on its link: the node takes the PCoA
    back as its care-of address, as a /128: the PAR's prefix is not on this link."""
    nar = {"addresses_in_use": frozenset({NCOA})}
    nar.update({"naack_use_router_address": True} if status == 3
               else {"support_previous_care_of_address": True})
    scn = build(nar=nar)
    log = _address_log(monkeypatch, scn.mn)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    if status == 4:  # the NAR learnt of the node from the PAR's HI (HAck Code 3)
        scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 1)
    [naack] = scn.net.events_of("fmip.naack", "mn")
    assert naack.fields["status"] == status
    assert scn.mn.care_of_address == PCOA
    assert [(a.prefix_length, a.active) for t, a in log
            if a.address == PCOA and t >= naack.time] == [(128, True)]
    assert scn.mn.current_prefix.prefixlen == 128


@pytest.mark.parametrize("rtt", [None, 0.03], ids=["measured RTT", "RTT 30 ms"])
def test_no_una_is_repeated_for_an_ncoa_the_node_gave_up(rtt):
    """§6.3, §5.2: on a DHCPv6 NAR (PrRtAdv Code 5) the UNA announces the signalling-only
    NCoA, and the node keeps its PCoA (phase ``pcoa``): the UNA is not repeated there.
    Nothing for the NCoA arrives here to confirm it. With the measured access RTT (4 ms) the
    repetition falls due while DHCPv6 runs; with 30 ms, after DHCPv6 gave the new address and
    the node removed the NCoA: either way it advertises the NCoA no more (an advertisement
    for an address it no longer holds would claim it for nothing)."""
    scn = build(nar_dhcp={}, client={"rtt": rtt})
    scn.net.drop_if(lambda p, r: p.dst == NCOA)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 2)
    [bound] = scn.net.events_of("dhcp.bound", "mn")
    unas = [(e.time, e.fields["ncoa"]) for e in scn.net.events_of("fmip.una_sent", "mn")]
    assert unas == [(pytest.approx(ARRIVAL), NCOA)]
    assert bound.time < ARRIVAL + 0.06  # before the repetition was due
    assert NCOA not in scn.net.addresses("mn", "wlan0")


# -- RtSolPr (§6.1.1) and FMIPv6 stopped (§5.1, §6.1.2) ----------------------------------------


def test_rtsolpr_identifiers_are_nonzero_and_drawn_afresh():
    """§6.1.1: the Identifier is "set by the sender so that replies can be matched to this
    Solicitation", and §6.1.2 gives 0 to unsolicited PrRtAdvs: a solicitation never uses 0
    (an unsolicited PrRtAdv would match it), and each one draws its own."""
    identifiers = []
    for seed in range(4):
        scn = build(seed=seed)
        for i in range(3):
            scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN + i)
        scn.run(SCAN + 3)
        identifiers += [e.fields["identifier"]
                        for e in scn.net.events_of("fmip.rtsolpr_sent", "mn")]
    assert len(identifiers) == 12 and all(1 <= i <= 0xFFFF for i in identifiers)
    assert len(set(identifiers)) > 6


def test_rtsolpr_retransmissions_follow_the_configured_rtt():
    """§6.1.1: unanswered, the RtSolPr is resent after 2 x RTT (the configured one), the
    timeout "doubled prior to each instance of retransmission"."""
    scn = build(client={"rtt": 0.03})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterSolicitationForProxy))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.run(SCAN + 2)
    sent = [round(e.time - SCAN, 6) for e in scn.net.events_of("fmip.rtsolpr_sent", "mn")]
    # The fourth (due at 0.42 s) waits for MAX_RTSOLPR_RATE, 3 a second (§6.1.1 "MUST").
    assert sent == [0.0, 0.06, 0.18, 1.0]


def test_fbu_retransmissions_follow_the_configured_rtt():
    """The FBU uses the RtSolPr's schedule ([choice] docs/decisions.md D7): 2 x the
    configured RTT, doubled, FBU_RETRIES times; then FMIPv6 stops (§4)."""
    scn = build(client={"rtt": 0.03})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingUpdate))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.run(DECIDE + 2)
    sent = [round(e.time - DECIDE, 6) for e in scn.net.events_of("fmip.fbu_sent", "mn")]
    assert sent == [0.0, 0.06, 0.18, 0.42]
    [stopped] = scn.net.events_of("fmip.stopped", "mn")
    assert round(stopped.time - DECIDE, 6) == 0.9


def test_a_wildcard_rtsolpr_carries_the_source_lla_and_one_wildcard():
    """§6.1.1: a scan that found no AP asks for every neighbour: the node's link-layer
    address (Source LLA, option-code 2) and one wildcard New AP option (option-code 0), no
    other New AP option; hop limit 255 (RFC 4861 §6.1.1, as every ND message)."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=()), at=SCAN)
    scn.run(SCAN + 0.01)
    [(record, packet)] = list(scn.net.packets(RouterSolicitationForProxy, sender="mn"))
    assert packet.hop_limit == 255
    assert [(o.option_code, o.address) for o in packet.payload.options] == [
        (L.SOURCE, scn.mn.config.link_layer_address), (L.WILDCARD, bytes(6))]
    # On the wire: the 8-octet ICMPv6 header, then two LLA options of 16 octets (Type 19,
    # Length 2, Option-Code, the address and padding, RFC 5568 §6.4.3); the wildcard's
    # address is all zeros.
    message = record.data[40:]
    assert len(message) == 40
    assert message[24:] == bytes((19, 2, L.WILDCARD)) + bytes(13)


def _stopped_then(event):
    """ar3 resolved by a first PrRtAdv, then FMIPv6 stopped by a PrRtAdv Code 2 with
    option-code 7 for the NAR (§6.1.2); then ``event`` on the same link."""
    scn = build(nar_neighbor={"fast_handover": False})
    scn.trigger(ScanCompleted(access_points=(APS["ar3"],)), at=SCAN)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN + 0.2)
    scn.run(DECIDE + 0.1)
    assert scn.fmip.stopped == "nar_without_fmip"
    scn.trigger(event, at=DECIDE + 0.2)
    scn.run(DECIDE + 1)
    return scn


@pytest.mark.parametrize("event", [
    ScanCompleted(access_points=(APS["ar3"],)),
    LinkGoingDown(target_ap=APS["ar3"]),
], ids=["scan", "link going down"])
def test_once_stopped_the_client_sends_nothing_on_this_link(event):
    """§5.1, §6.1.2 "MUST stop": once FMIPv6 stopped, neither a scan nor an imminent move
    (even to an AP whose AR-Info the node has) sends an RtSolPr or an FBU from this link."""
    scn = _stopped_then(event)
    assert APS["ar3"] in scn.fmip.access_points
    kinds = [e.kind for e in scn.net.events if e.node == "mn" and e.time > DECIDE + 0.1]
    assert "fmip.rtsolpr_sent" not in kinds and "fmip.fbu_sent" not in kinds


def test_no_fbu_for_an_access_point_whose_router_lacks_fmipv6():
    """§6.1.2: an AP marked with option-code 7 (PrRtAdv Code 3) gets no FBU, though FMIPv6
    goes on for the others."""
    scn = build(nar_neighbor={"fast_handover": False})
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.run(DECIDE + 0.5)
    assert APS["nar"] in scn.fmip.unsupported and scn.fmip.stopped is None
    assert not scn.net.events_of("fmip.fbu_sent", "mn")


def test_after_an_unanswered_rtsolpr_the_client_still_takes_a_network_trigger():
    """§5.1: no PrRtAdv, FMIPv6 stops; a later unsolicited PrRtAdv Code 1 (network-initiated,
    §3.3, Identifier 0) still starts the handover, and a later scan solicits again."""
    scn = build()
    undo = scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterSolicitationForProxy))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.run(SCAN + 2)
    assert scn.fmip.stopped == "no_prrtadv"
    undo()
    scn.net.at(SCAN + 2.1, lambda now: scn.routers["par"].trigger_handover(
        PCOA, APS["nar"], now, mobile_link_layer_address=scn.mn.config.link_layer_address))
    scn.trigger(ScanCompleted(access_points=(APS["ar3"],)), at=SCAN + 2.5)
    scn.run(SCAN + 3)
    [fbu] = [e for e in scn.net.events_of("fmip.fbu_sent", "mn") if e.time > SCAN + 2]
    assert fbu.fields["mode"] == "predictive"
    assert [e for e in scn.net.events_of("fmip.rtsolpr_sent", "mn") if e.time > SCAN + 2.4]


# -- after a handover ended: the next one (§5.6, §6.4.6) ---------------------------------------


def _returned_to_the_par():
    """A predictive handover to the NAR, back on the PAR's link before the home binding moved
    (its BUs lost): the lifetime-0 FBU is answered (§5.6)."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    undo = scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.move("par", at=6.5, link_down=0.05)
    scn.run(7.5)
    undo()
    assert scn.net.events_of("fmip.returned", "mn")
    assert [e.fields["lifetime"] for e in scn.net.events_of("fmip.fback", "mn")][-1] == 0
    return scn, 8.0


def _pcoa_service_ended():
    """NAACK 3 (§6.4.6): the node kept its PCoA while the PAR forwarded it (the FBack's 40
    s), then took the NAR's prefix from an RA."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}), "naack_use_router_address": True})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(52)
    assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == [3]
    assert scn.mn.care_of_address == NCOA
    return scn, 53.0


def _pcoa_served():
    """NAACK 4 after the FBack (§6.4.6): the NAR serves the PCoA, and the PAR still forwards
    it (the FBack's 40 s) when the node moves on."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(7.0)
    assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == [4]
    assert scn.fmip.handover.phase == "pcoa" and scn.fmip.handover.fback
    return scn, 7.0


@pytest.mark.parametrize("before", [_returned_to_the_par, _pcoa_service_ended, _pcoa_served],
                         ids=["after a return to the PAR", "after the PCoA service",
                              "while the NAR serves the PCoA"])
def test_the_next_move_is_a_fast_handover_again(before):
    """A handover that ended (the return's lifetime-0 FBU answered, §5.6; the PCoA's
    forwarding over, §6.4.6), or whose FBack came (the NAR serving the PCoA: the fast
    handover is done), leaves no state that holds the next one back: a move to ar3 gets its
    FBU once the node has an address there (§6.2.2)."""
    scn, at = before()
    scn.move("ar3", at=at, link_down=LINK_DOWN)
    scn.run(at + 3)
    fbus = [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn") if r.time > at]
    assert fbus and fbus[0].src == coa("ar3")


def _ra_at(scn, when: float) -> None:
    router = scn.routers["nar"]
    ra = router.advertiser.advertisement()
    scn.net.inject(encode_packet(IPv6Packet(src=router.config.link_local, dst=ALL_NODES,
                                            hop_limit=255, payload=ra)), "mn", "wlan0", at=when)


@pytest.mark.parametrize(("offset", "held"), [(-0.001, True), (0.0, False)])
def test_the_pcoa_is_held_until_the_forwarding_ends(offset, held):
    """§6.4.6 NAACK 3: while the PAR forwards the PCoA (the FBack's lifetime) an RA with the
    NAR's prefix does not replace it; from the moment the forwarding ends, it does."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}), "naack_use_router_address": True,
                     "pcoa_service_lifetime": 200.0})
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 1)
    [fback] = scn.net.events_of("fmip.fback", "mn")
    end = fback.time + fback.fields["lifetime"]
    scn.run(end - 0.5)
    counted = scn.mn.counters["movement.held_by_client"]
    _ra_at(scn, end + offset)
    scn.run(end + offset)
    assert scn.mn.counters["movement.held_by_client"] == counted + held
    assert (scn.mn.care_of_address == PCOA) is held


# -- FBU and UNA from the new link (§6.2.2, §6.3) -----------------------------------------------


def test_the_fbu_timer_of_the_old_link_stops_with_the_link():
    """§6.2.2 ([choice] docs/decisions.md D7): FBUs sent from the old link and unanswered (the
    FBacks lost) are retransmitted there only; leaving the link stops their timer, so that
    their budget does not run out between the links: on arrival the node sends the FBU
    again from the NCoA (§3.2 case 2) instead of giving FMIPv6 up."""
    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and p.dst == PCOA)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    # FBUs at 5.5, 5.6, 5.8, 6.2 s; the last timeout would end at 7.0 s, between the links.
    scn.move("nar", at=6.3, link_down=1.0)
    scn.run(8.5)
    assert not scn.net.events_of("fmip.stopped", "mn")
    sent = [(e.fields["mode"], e.fields["source"]) for e in
            scn.net.events_of("fmip.fbu_sent", "mn")]
    assert sent == [("predictive", PCOA)] * 4 + [("reactive", NCOA)]


@pytest.mark.parametrize(("client", "destination", "gap"), [
    ({}, ALL_NODES, 0.008),  # 2 x the access RTT measured by RtSolPr/PrRtAdv (4 ms)
    ({"una_to_router": True}, ar("nar"), 0.008),
    ({"rtt": 0.03}, ALL_NODES, 0.06),
    ({"una_to_router": True, "rtt": 0.03}, ar("nar"), 0.06),
], ids=["all-nodes", "to the NAR", "configured RTT", "to the NAR, configured RTT"])
def test_una_destination_and_repetition(client, destination, gap):
    """§6.3: the UNA goes to all-nodes, or with ``una_to_router`` to the NAR's address the
    AR-Info gave; the first is lost here, and it is repeated after 2 x RTT, the configured
    RTT or else the measured one (docs/decisions.md D13)."""
    scn = build(client=client)
    lost = {"una": False}

    def first_una(packet, _record) -> bool:
        if lost["una"] or not (isinstance(packet.payload, NeighborAdvertisement)
                               and packet.payload.is_una):
            return False
        lost["una"] = True
        return True
    scn.net.drop_if(first_una)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 1)
    unas = [(r.time, p.dst) for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
            if p.payload.is_una]
    assert [d for _t, d in unas] == [destination, destination]
    assert unas[1][0] - unas[0][0] == pytest.approx(gap)


def test_at_home_no_fast_handover_state_is_kept():
    """Back on the home link (RFC 6275 §11.5.4) a fast handover in progress is over: its
    FBU and UNA timers stop and no handover is left to act on; the next move away starts
    afresh."""
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.move("home", at=ARRIVAL + 0.01, link_down=0.05, ap=bytes.fromhex("02b000000001"))
    scn.run(9)
    assert scn.mn.at_home and scn.fmip.handover is None
    scn.move("nar", at=9.5, link_down=LINK_DOWN)
    scn.run(12)
    assert scn.mn.care_of_address == NCOA and not scn.mn.at_home
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


# -- rules outside the handover's course (§6.1.1, §6.4.6) ---------------------------------------


def test_the_rtsolpr_rate_is_the_configured_one():
    """§6.1.1: "When RtSolPr messages are sent more than once, they MUST be rate-limited with
    MAX_RTSOLPR_RATE per second": configured to 1, the retransmissions (due at 0.1, 0.3 and
    0.7 s) wait a second each, not the default 3 a second."""
    scn = build(client={"max_rtsolpr_rate": 1})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterSolicitationForProxy))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.run(SCAN + 3.5)
    sent = [round(e.time - SCAN, 6) for e in scn.net.events_of("fmip.rtsolpr_sent", "mn")]
    assert sent == [0.0, 1.0, 2.0, 3.0]


def test_no_fbu_after_a_naack_4_even_without_an_fback():
    """§6.4.6 NAACK status 4: "PCoA supplied, do not send FBU". The FBacks are lost here, so
    the reactive FBU from the NCoA is still unanswered when the NAACK comes: its
    retransmissions stop with it."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 3)
    [naack] = scn.net.events_of("fmip.naack", "mn")
    assert naack.fields["status"] == 4
    sent = [(e.time, e.fields["mode"]) for e in scn.net.events_of("fmip.fbu_sent", "mn")]
    assert sent == [(DECIDE, "predictive"), (pytest.approx(ARRIVAL), "reactive")]
    assert naack.time > ARRIVAL
    assert not scn.net.events_of("fmip.stopped", "mn")


def test_without_the_routers_address_no_fbu_is_sent():
    """The FBU goes to the PAR's global address (§6.2.2), which the node learns from the
    router's RAs (the R flag, RFC 6275 §7.2) or an AR-Info. Routers that do not advertise it
    leave the node no anchor: no FBU, no fast handover state, and the move is an ordinary
    one (the care-of address from the NAR's prefix)."""
    scn = build()
    for router in scn.routers.values():
        router.advertiser.advertise_router_address = False
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL + 2)
    assert scn.fmip.router_address is None
    assert not scn.net.events_of("fmip.fbu_sent", "mn")
    assert scn.fmip.handover is None
    assert scn.mn.care_of_address == NCOA


def _naack(scn, now: float, status: int, supplied: IPv6Address | None) -> None:
    """The NAR's RA with a NAACK of ``status`` (and an address in it, ``supplied``)."""
    router = scn.routers["nar"]
    ra = router.advertiser.advertisement()
    ra = replace(ra, options=(*ra.options, NeighborAdvertisementAcknowledgment(
        status=status, new_care_of_address=supplied)))
    scn.mn.receive(encode_packet(IPv6Packet(
        src=router.config.link_local, dst=NCOA, hop_limit=255, payload=ra)), "wlan0", now)


@pytest.mark.parametrize("status", [
    NAACKStatus.NCOA_INVALID_CONFIGURE, NAACKStatus.NCOA_INVALID_USE_NAR_ADDRESS,
    NAACKStatus.PCOA_SUPPLIED_NO_FBU, NAACKStatus.LLA_UNRECOGNIZED])
def test_only_a_naack_2_makes_the_node_take_the_address_it_carries(status):
    """RFC 5568 §6.4.6: the address in a NAACK is the one to use for status 2 only; with
    another status the node configures another address (1), keeps its PCoA (3, 4) or gives
    the handover up (128), and never takes the carried address: it was not assigned to it."""
    scn = _held_home_binding()
    scn.run(ARRIVAL + 0.05)
    scn.net.at(ARRIVAL + 0.1, lambda now: _naack(scn, now, status, OTHER))
    scn.run(ARRIVAL + 3.0)
    (naack,) = scn.net.events_of("fmip.naack", "mn")
    assert naack.fields["status"] == status
    assert scn.mn.care_of_address != OTHER
    assert OTHER not in scn.net.addresses("mn", "wlan0")
    assert not [p for r, p in scn.net.packets(sender="mn")
                if r.time > ARRIVAL + 0.1 and p.src == OTHER]


def test_a_naack_3_without_ar_info_names_the_router_the_node_heard():
    """§6.4.6 NAACK 3, "use NAR's IP address as NCoA in FBU", in a fully reactive handover
    (no PrRtAdv: no AR-Info for the access point): the NAR's address is the router the
    node's RA named (R flag, RFC 6275 §7.2); the FBU goes from the PCoA with it."""
    scn = build()
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(9)
    h = scn.fmip.handover
    assert h is not None and h.target_ap not in scn.fmip.access_points
    assert h.phase in ("moved", "complete")  # both take a NAACK
    scn.net.at(9.0, lambda now: _naack(scn, now, NAACKStatus.NCOA_INVALID_USE_NAR_ADDRESS,
                                       None))
    scn.run(11)
    stopped = [e.fields["reason"] for e in scn.net.events_of("fmip.stopped", "mn")]
    assert "naack_3_without_nar_address" not in stopped
    last = [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn") if r.time >= 9.0][-1]
    assert last.src == PCOA
    assert [o.address for o in last.payload.options
            if isinstance(o, AlternateCareOfAddress)] == [ar("nar")]
