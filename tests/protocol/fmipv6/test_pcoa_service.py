"""A NAR serving the mobile node's PCoA on its link (RFC 5568 §4 step 3, §6.2.1.2, §6.4.6):
HAck Code 3 and NAACK status 4, and NAACK status 3 (the FBU names the NAR's address as NCoA,
so the PAR tunnels the PCoA's packets to the NAR, which delivers them through that tunnel)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import CaptureSource, Transmit
from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import FastBindingAcknowledgement, FastBindingUpdate, HandoverInitiate
from mipshop.wire.mh_options import AlternateCareOfAddress, IPv6AddressPrefixOption
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
NAR = ar("nar")


def naack_3(**nar):
    options = {"addresses_in_use": frozenset({NCOA}), "naack_use_router_address": True}
    options.update(nar)
    scn = build(nar=options)
    scn.cbr(start=4.0, stop=12.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)  # reactive: the NAR first hears of the MN's UNA
    return scn


def test_naack_3_the_nar_delivers_the_pcoa_through_the_pars_tunnel():
    scn = naack_3()
    scn.run(14)
    naack = scn.net.events_of("fmip.naack", "mn")[0]
    assert naack.fields["status"] == 3
    # The node keeps its PCoA and sends the FBU from it, naming the NAR's address as NCoA.
    [kept] = scn.net.events_of("fmip.pcoa_kept", "mn")
    assert kept.fields["pcoa"] == PCOA and scn.mn.care_of_address == PCOA
    fbus = [(r.time, p) for r, p in scn.net.packets(FastBindingUpdate, sender="mn")
            if r.time >= naack.time]
    assert fbus and all(p.src == PCOA for _t, p in fbus)
    assert [o.address for o in fbus[0][1].payload.options
            if isinstance(o, AlternateCareOfAddress)] == [NAR]
    # The PAR takes it for a node on the NAR's link (HI Code 1 naming the NAR's address) ...
    hi = [p.payload for r, p in scn.net.packets(HandoverInitiate) if r.time >= naack.time][-1]
    assert hi.code == 1
    assert NAR in [o.address for o in hi.options if isinstance(o, IPv6AddressPrefixOption)]
    # ... the NAR serves the PCoA, the PAR tunnels to the NAR ...
    [served] = scn.net.events_of("fmip.pcoa_served", "nar")
    assert served.fields["pcoa"] == PCOA and served.fields["par"] == ar("par")
    [up] = scn.net.events_of("fmip.tunnel_up", "par")
    assert up.fields["endpoint"] == NAR
    # ... the FBack reaches the node through that tunnel, at its PCoA on the new link ...
    [(_r, fback_tunnel)] = [(r, p) for r, p in scn.net.packets(FastBindingAcknowledgement,
                                                                  sender="par")]
    assert (fback_tunnel.src, fback_tunnel.dst) == (ar("par"), NAR)
    assert isinstance(fback_tunnel.payload, IPv6Packet) and fback_tunnel.payload.dst == PCOA
    [fback] = scn.net.events_of("fmip.fback", "mn")
    assert fback.fields["status"] == 0 and fback.fields["on_new_link"] is False
    # ... and so does the data: the home agent's binding is the PCoA, the PAR forwards it
    # to the NAR, the NAR to the node's link-layer address.
    assert scn.ha.cache.lookup(HOME_ADDRESS, 14).care_of_address == PCOA
    assert scn.routers["nar"].counters["fmip.pcoa_delivered"] > 0
    after = [seq for seq in scn.sent if 4.0 + seq * 0.02 > up.time + 0.1]
    assert after and set(after) <= set(scn.received())


def test_naack_3_the_nars_address_is_refused_as_ncoa_without_the_naack():
    """Only a node this NAR answered with NAACK status 3, within PROXY_ND_LIFETIME, may name
    its address as NCoA (here the HI comes 28 ms after the NAACK, too late for 10 ms). The HI
    is Code 1 (the FBU came from the NAR's link), so the refusal is Code 128, "Handover Not
    Accepted, reason unspecified": §6.2.1.2 "When responding to an HI message containing a
    Code value 1, the Code values 1, 2, and 4 in the HAck message are not relevant" (this
    router answered Code 1, "NCoA not valid", before)."""
    scn = naack_3(proxy_lifetime=0.01)
    scn.run(9)
    assert not scn.net.events_of("fmip.pcoa_served", "nar")
    his = [p.payload for _r, p in scn.net.packets(HandoverInitiate, sender="par")]
    assert his and his[-1].code == 1
    codes = [e.fields["code"] for e in scn.net.events_of("fmip.hack_sent", "nar")]
    assert codes and codes[-1] == 128  # not 1, 2 or 4 for an HI Code 1: no tunnel
    assert not scn.net.events_of("fmip.tunnel_up", "par")


def test_the_pcoa_is_kept_while_the_forwarding_lives_then_ordinary_configuration():
    scn = naack_3()
    scn.run(30)
    # The NAR's periodic RAs (every 3 s) hold its prefix; the node does not move to it
    # while the PAR forwards the PCoA (the FBack lifetime, 40 s).
    assert scn.mn.care_of_address == PCOA
    assert scn.mn.counters["movement.held_by_client"] >= 5
    fback = scn.net.events_of("fmip.fback", "mn")[0]
    scn.run(fback.time + fback.fields["lifetime"] + 4)
    assert scn.mn.care_of_address == NCOA  # ordinary stateless configuration took over
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_hack_3_the_pcoa_stays_served_after_the_buffer_drains():
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    scn.cbr(start=4.0, stop=12.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"], APS["ar3"])), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(14)
    assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == [4]
    [flushed] = scn.net.events_of("fmip.flushed", "nar")
    # Packets arriving after the drain still reach the node through the NAR.
    late = [seq for seq in scn.sent if 4.0 + seq * 0.02 > flushed.time + 0.1]
    assert late and set(late) <= set(scn.received())
    assert scn.routers["nar"].counters["fmip.pcoa_delivered"] >= len(late)
    # NAACK status 4: the node's care-of address is the PCoA again (it had taken the NCoA
    # the NAR refused); its home binding follows.
    assert scn.mn.care_of_address == PCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, 14).care_of_address == PCOA
    routes = [(str(a.prefix), a.active) for n, a in scn.net.routes_configured if n == "nar"]
    assert routes == [(f"{PCOA}/128", True)]  # one host route, owned by the service


def test_the_pcoa_service_ends_with_its_lifetime():
    scn = naack_3(pcoa_service_lifetime=10.0)
    scn.run(20)
    [served] = scn.net.events_of("fmip.pcoa_served", "nar")
    [ended] = scn.net.events_of("fmip.pcoa_service_ended", "nar")
    assert ended.fields == {"pcoa": PCOA, "reason": "expired"}
    assert ended.time - served.time == 10.0
    routes = [(str(a.prefix), a.active) for n, a in scn.net.routes_configured if n == "nar"]
    assert routes == [(f"{PCOA}/128", True), (f"{PCOA}/128", False)]
    assert PCOA not in scn.routers["nar"].fast_handover.nar.neighbors
    # Nothing of the service is left: a later UNA from that node is not answered about it.
    sizes = scn.routers["nar"].table_sizes()
    assert sizes["nar_served"] == sizes["nar_served_by_lla"] == 0


def test_hack_3_a_naack_after_the_home_registration_still_restores_the_pcoa():
    """The node takes the NCoA on arrival (optimistically) and registers it at home at once;
    when the NAR's NAACK status 4 comes after that Binding Acknowledgement (here the NAR
    answers the UNA 80 ms late), the NCoA is still invalid (RFC 5568 §6.4.6): the node goes
    back to the PCoA the NAR serves and registers it again."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    nar = scn.routers["nar"].fast_handover.nar
    answer = nar.unsolicited_neighbor_advertisement

    def late(*args, **kwargs):
        scn.net.at(scn.net.now + 0.08, lambda now: answer(*args, **kwargs))
    nar.unsolicited_neighbor_advertisement = late
    scn.cbr(start=4.0, stop=12.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(14)
    [complete] = scn.net.events_of("fmip.handover_complete", "mn")
    [naack] = scn.net.events_of("fmip.naack", "mn")
    assert naack.fields["status"] == 4 and naack.time > complete.time
    # The repeated UNAs (from the NCoA) get the same answer, not another address.
    sent = [e.fields["status"] for e in scn.net.events_of("fmip.naack_sent", "nar")]
    assert len(sent) == 3 and set(sent) == {4}
    assert scn.mn.care_of_address == PCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, 14).care_of_address == PCOA


def test_naack_3_after_the_home_registration_still_moves_the_node_to_its_pcoa():
    """The same for NAACK status 3 in a reactive handover: the NAACK comes after the home
    agent acknowledged the NCoA; the node keeps its PCoA, sends the FBU from it naming the
    NAR's address, and the home binding goes back to the PCoA the NAR now serves."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}), "naack_use_router_address": True})
    nar = scn.routers["nar"].fast_handover.nar
    answer = nar.unsolicited_neighbor_advertisement

    def late(*args, **kwargs):
        scn.net.at(scn.net.now + 0.08, lambda now: answer(*args, **kwargs))
    nar.unsolicited_neighbor_advertisement = late
    scn.cbr(start=4.0, stop=12.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(14)
    [complete] = scn.net.events_of("fmip.handover_complete", "mn")
    naack = scn.net.events_of("fmip.naack", "mn")[0]
    assert naack.fields["status"] == 3 and naack.time > complete.time
    assert scn.net.events_of("fmip.pcoa_served", "nar")
    assert scn.mn.care_of_address == PCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, 14).care_of_address == PCOA



@pytest.mark.parametrize(("hop_limit", "tunnelled"), [(30, 29), (2, 1), (1, None)])
def test_naack_3_the_nar_reverse_tunnels_the_pcoa_with_one_hop_less(hop_limit, tunnelled):
    # RFC 2473 §3.1: the NAR forwards what the node sends from its PCoA into the tunnel to the
    # PAR (§4 step 3), one hop less than it came; one that would reach 0 is dropped.
    scn = naack_3()
    scn.run(14)
    nar = scn.routers["nar"]
    assert PCOA in nar.fast_handover.nar.served
    nar.pull_actions()
    before = nar.counters["drop.hop_limit"]
    nar.receive(IPv6Packet(src=PCOA, dst=IPv6Address("2001:db8:ff::9"), hop_limit=hop_limit,
                           payload=UDPDatagram(src_port=7, dst_port=9, data=b"x")),
                nar.fast_handover.interface, 14.0)
    sent = [a.packet for a in nar.pull_actions() if isinstance(a, Transmit)]
    if tunnelled is None:
        assert sent == [] and nar.counters["drop.hop_limit"] == before + 1
        return
    [outer] = sent
    assert (outer.src, outer.dst) == (NAR, ar("par"))
    assert outer.payload.src == PCOA and outer.payload.hop_limit == tunnelled


@pytest.mark.parametrize("destination", ["fe80::1", "ff02::1", "nar"])
def test_the_nar_does_not_reverse_tunnel_what_the_served_pcoa_sends_to_the_link(destination):
    # RFC 4291 §2.5.6: a router "must not forward any packets with Link-Local source or
    # destination addresses to other links"; the node's ND to the NAR (a Neighbor
    # Advertisement to the router's link-local address), what it sends to a link-scope group
    # and what it sends to the NAR itself are not MN traffic for the PAR (§4 step 3).
    scn = naack_3()
    scn.run(14)
    nar = scn.routers["nar"]
    assert PCOA in nar.fast_handover.nar.served
    nar.pull_actions()
    dst = NAR if destination == "nar" else IPv6Address(destination)
    nar.receive(IPv6Packet(src=PCOA, dst=dst, hop_limit=255,
                           payload=UDPDatagram(src_port=7, dst_port=9, data=b"x")),
                nar.fast_handover.interface, 14.0)
    assert [a for a in nar.pull_actions() if isinstance(a, Transmit)
            and isinstance(a.packet.payload, IPv6Packet)] == []


def test_the_nar_asks_its_runtime_for_what_the_served_pcoa_sends_while_it_serves_it():
    # §4 step 3: the reverse tunnel needs the packets sent from the PCoA, which a real router
    # forwards in its kernel: the NAR asks for them (CaptureSource on the node's link) when it
    # starts serving the PCoA, once, and stops when the service ends. Before this action the
    # daemon never saw them (tests/conformance/test_access_router.py
    # test_nar_reverse_tunnels_what_the_served_pcoa_sends_to_the_par).
    scn = naack_3(pcoa_service_lifetime=5.0)
    nar = scn.routers["nar"]
    seen: list[CaptureSource] = []
    queue = nar.act

    def act(action):
        if isinstance(action, CaptureSource):
            seen.append(action)
        queue(action)

    nar.act = act
    scn.run(30)
    [started, ended] = seen
    interface = nar.fast_handover.interface
    assert started == CaptureSource(address=PCOA, interface=interface)
    assert ended == CaptureSource(address=PCOA, interface=interface, active=False)
    assert PCOA not in nar.fast_handover.nar.served


def test_what_the_served_pcoa_sends_to_the_par_itself_is_forwarded_as_it_is():
    # A packet for the PAR (under HMIPv6 the MAP anchoring the handover, RFC 4140 Appendix
    # A, which the node's reverse tunnel goes to): forwarded, one hop less (RFC 8200 §3), not
    # tunnelled to the same router (whose reverse tunnel forwards only to other nodes).
    scn = naack_3()
    scn.run(14)
    nar = scn.routers["nar"]
    assert PCOA in nar.fast_handover.nar.served
    nar.pull_actions()
    nar.receive(IPv6Packet(src=PCOA, dst=ar("par"), hop_limit=30,
                           payload=UDPDatagram(src_port=7, dst_port=9, data=b"x")),
                nar.fast_handover.interface, 14.0)
    [sent] = [a.packet for a in nar.pull_actions() if isinstance(a, Transmit)]
    assert (sent.src, sent.dst, sent.hop_limit) == (PCOA, ar("par"), 29)
    assert isinstance(sent.payload, UDPDatagram)
