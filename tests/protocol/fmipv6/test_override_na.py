"""The Neighbor Advertisement with O set once the NCoA is confirmed (RFC 5568 §4;
docs/decisions.md D30), and what the NAR does with it (RFC 4861 §7.2.5).

"Once the MN has confirmed its NCoA (either through DAD or when provided for by the NAR), it
SHOULD send a Neighbor Advertisement message with the 'O' bit set, to the all-nodes multicast
address." The node counts the NCoA as confirmed when the NAR accepted or provided it: an FBack
with status 0 or 1 (before or after the move), or a NAACK status 2 supplying the address.
The NA follows the UNA (O clear, §6.3), once per NCoA, and never for an NCoA the node does
not use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Any

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import NeighborAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, encode_packet, new_udp_datagram
from mipshop.wire.mh import FastBindingAcknowledgement
from mipshop.wire.nd_options import TargetLinkLayerAddress
from tests.protocol.fmip_scenario import APS, MAC, FmipScenario, build, coa

PCOA, NCOA = coa("par"), coa("nar")
POOL = IPv6Address("2001:db8:20::a55")
ALL_NODES = IPv6Address("ff02::1")
OTHER_MAC = bytes.fromhex("02000000beef")


def _scan(scn: FmipScenario) -> None:
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)


def predictive(scn: FmipScenario) -> None:
    _scan(scn)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)


def reactive(scn: FmipScenario) -> None:
    _scan(scn)
    scn.move("nar", at=5.6, link_down=0.1)


def fback_after_the_move(scn: FmipScenario) -> None:
    # The FBack to the PCoA is lost; the FBU's retransmission is answered on the new link.
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and p.dst == PCOA)
    predictive(scn)


def fully_reactive(scn: FmipScenario) -> None:
    scn.move("nar", at=5.6, link_down=0.1)


def ping_pong(scn: FmipScenario) -> None:
    predictive(scn)
    # Back on the PAR's link before anything reached the NCoA (§5.6: lifetime-0 FBU).
    scn.move("par", at=5.701, link_down=0.01)


@dataclass(frozen=True)
class Case:
    """A handover and the O-set NAs the mobile node must send (their targets, in order)."""

    drive: Callable[[FmipScenario], None]
    expected: tuple[IPv6Address, ...]
    nar: dict[str, Any] = field(default_factory=dict)
    mn: dict[str, Any] = field(default_factory=dict)
    #: The event after which the NA goes (same time, earlier in order), on the mobile node.
    after: str = "fmip.una_confirmed"
    #: What confirmed the NCoA (the event's ``by``).
    by: str = "fback"
    #: Whether a UNA precedes it (none without AR-Info, §6.2.2).
    una: bool = True


CASES = {
    # FBack on the old link (HAck 0: the NAR checked the NCoA), then the first packet the NAR
    # delivers to the NCoA after the UNA (here the home agent's BA).
    "predictive": Case(predictive, (NCOA,)),
    # FBack on the new link (the NAR buffered the PAR's copy to the NCoA): NA at the FBack.
    "predictive_fback_on_new_link": Case(fback_after_the_move, (NCOA,), after="fmip.fback"),
    # Reactive FBU from the NCoA (HI Code 1 validates the NAR's entry from the UNA).
    "reactive": Case(reactive, (NCOA,), after="fmip.fback"),
    # HAck 2 / FBack status 1: the NAR assigned another NCoA, "the MN MUST use" it.
    "nar_assigned": Case(predictive, (POOL,),
                         nar={"addresses_in_use": frozenset({NCOA}), "address_pool": (POOL,)}),
    # NAACK 2: the NAR supplies the address (its pool): confirmed at once, no second NA
    # when the FBack for it comes.
    "naack_2_supplied": Case(reactive, (POOL,), after="fmip.naack", by="naack",
                             nar={"addresses_in_use": frozenset({NCOA}),
                                  "address_pool": (POOL,)}),
    # No AR-Info: ordinary configuration (RA + DAD) gives the address, then FBU and FBack.
    "fully_reactive_after_dad": Case(fully_reactive, (NCOA,), after="fmip.reactive", by="dad",
                                     una=False),
    # The same with an optimistic address (RFC 4429 §3.3: no O set while DAD runs): the NA
    # waits for DAD to complete, after the FBU and its FBack.
    "fully_reactive_optimistic": Case(fully_reactive, (NCOA,), after="dad.completed", by="dad",
                                      una=False, mn={"optimistic_dad": True}),
    # Not sent: the NCoA is refused (FBack 128 from HAck 1, FMIPv6 stops) ...
    "fback_128_refused": Case(predictive, (), nar={"addresses_in_use": frozenset({NCOA})}),
    # ... the NAR serves the PCoA instead (HAck 3, NAACK 4) ...
    "pcoa_served": Case(predictive, (), nar={"addresses_in_use": frozenset({NCOA}),
                                             "support_previous_care_of_address": True}),
    # ... NAACK 1 on arrival (reactive, no pool): configure another address ...
    "naack_1": Case(reactive, (), nar={"addresses_in_use": frozenset({NCOA})}),
    # ... back on the PAR's link before the bindings moved (§5.6) ...
    "ping_pong": Case(ping_pong, ()),
}


def _run(case: Case) -> FmipScenario:
    scn = build(nar=case.nar, mn=case.mn)
    case.drive(scn)
    scn.run(9)
    return scn


def _overrides(scn: FmipScenario) -> list[tuple[float, IPv6Packet]]:
    return [(r.time, p) for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
            if p.payload.override]


@pytest.mark.parametrize("name", list(CASES))
def test_the_o_set_na_goes_once_per_confirmed_ncoa(name):
    case = CASES[name]
    scn = _run(case)
    sent = _overrides(scn)
    assert tuple(p.payload.target for _t, p in sent) == case.expected
    events = scn.net.events_of("fmip.override_sent", "mn")
    assert [(e.fields["ncoa"], e.fields["by"]) for e in events] == [
        (a, case.by) for a in case.expected]
    if not case.expected:
        return
    # RFC 4861 §4.4 / §7.2.6: unsolicited, from a host, O set, the Target LLA; from the NCoA
    # to all-nodes with hop limit 255.
    (_time, packet), = sent
    na = packet.payload
    assert (packet.src, packet.dst, packet.hop_limit) == (na.target, ALL_NODES, 255)
    assert (na.router, na.solicited, na.override, na.code) == (False, False, True, 0)
    assert na.options == (TargetLinkLayerAddress(address=MAC),)
    assert scn.mn.care_of_address == na.target
    # After the UNA for the same address (§2, §6.3: that one has O clear), and at the moment
    # of the confirmation.
    kindsof = [e for e in scn.net.events if e.node == "mn"
               and e.kind.startswith(("fmip.", "dad."))]
    index = next(i for i, e in enumerate(kindsof) if e.kind == "fmip.override_sent")
    before = [e for e in kindsof[:index] if e.kind == case.after]
    assert before and before[-1].time == kindsof[index].time
    una_packets = [(r.time, p) for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
                   if p.payload.is_una and p.payload.target == na.target]
    if case.una:
        assert una_packets and una_packets[0][0] <= _time
    else:
        assert not una_packets


def test_the_nar_takes_the_o_set_na_as_no_second_arrival():
    scn = _run(CASES["predictive"])
    nar = scn.routers["nar"]
    # One arrival (the UNA), one drain; the NA with O set changed nothing there.
    assert len(scn.net.events_of("fmip.una", "nar")) == 1
    assert len(scn.net.events_of("fmip.flushed", "nar")) == 1
    assert nar.counters["nd.na_unchanged"] == 1
    assert nar.counters["drop.unhandled"] == 0
    assert nar.fast_handover.nar.neighbors[NCOA] == MAC


def test_an_o_set_na_before_the_una_leaves_the_ncoa_proxied_and_buffered():
    # An NA with O set for the proxied NCoA reaches the NAR before the node's UNA: it is no
    # UNA (§2: the UNA has O clear), so the NAR keeps proxying and holding the node's packets;
    # it has no neighbour entry to update (RFC 4861 §7.2.5: discarded). The UNA then drains
    # the buffer once, as without it.
    scn = build()
    scn.cbr(start=4.0, stop=7.0)
    predictive(scn)
    na = NeighborAdvertisement(router=False, solicited=False, override=True, target=NCOA,
                               options=(TargetLinkLayerAddress(address=MAC),))
    scn.net.inject(encode_packet(IPv6Packet(src=NCOA, dst=ALL_NODES, hop_limit=255,
                                            payload=na)), "nar", "eth0", at=5.65)
    scn.run(5.66)
    nar = scn.routers["nar"]
    record = nar.fast_handover.nar.by_address(NCOA)
    assert record is not None and record.state.value == "proxying" and len(record.buffer)
    assert nar.counters["nd.na_discarded"] == 1 and nar.counters["drop.unhandled"] == 0
    assert not scn.net.events_of("fmip.una", "nar")
    assert not scn.net.events_of("fmip.drained", "nar")
    scn.run(9)
    assert len(scn.net.events_of("fmip.una", "nar")) == 1
    assert len(scn.net.events_of("fmip.flushed", "nar")) == 1
    assert sorted(scn.received()) == scn.sent


@pytest.mark.parametrize(("override", "hop_limit", "entry", "counter"), [
    (True, 255, OTHER_MAC, "nd.na_overridden"),   # §7.2.5: O set, another LLA: updated
    (False, 255, OTHER_MAC, "nd.na_unchanged"),   # O clear, another LLA: kept
    (True, 255, None, "nd.na_discarded"),         # no entry: discarded
    (True, 64, OTHER_MAC, "drop.invalid_nd"),     # §7.1.2: hop limit not 255
])
def test_the_nar_applies_rfc_4861_7_2_5_to_a_non_una_advertisement(override, hop_limit, entry,
                                                                     counter):
    scn = build()
    scn.run(2)
    router = scn.routers["nar"]
    nar = router.fast_handover.nar
    if entry is not None:
        nar.neighbors[NCOA] = entry
    # (O clear from a host with S clear would be a UNA: this one is from a router.)
    na = NeighborAdvertisement(router=not override, solicited=False, override=override,
                               target=NCOA, options=(TargetLinkLayerAddress(address=MAC),))
    packet = IPv6Packet(src=NCOA, dst=ALL_NODES, hop_limit=hop_limit, payload=na)
    assert router.fast_handover.handle(packet, "nar")
    assert router.counters[counter] == 1
    updated = counter == "nd.na_overridden"
    assert nar.neighbors.get(NCOA) == (MAC if updated else entry)
    assert not scn.net.events_of("fmip.una", "nar")


def test_the_nar_keeps_the_entry_for_an_o_set_na_without_a_target_link_layer_address():
    # RFC 4861 §4.4: the Target Link-Layer Address option is only required in answer to a
    # multicast solicitation, so an unsolicited NA may omit it. §7.2.5: with O set and no
    # such option the entry is updated but keeps its link-layer address ("if one is
    # supplied"). The NAR takes it as it is, rather than failing on the missing option.
    scn = build()
    scn.run(2)
    router = scn.routers["nar"]
    nar = router.fast_handover.nar
    nar.neighbors[NCOA] = OTHER_MAC
    na = NeighborAdvertisement(router=False, solicited=False, override=True, target=NCOA)
    packet = IPv6Packet(src=NCOA, dst=ALL_NODES, hop_limit=255, payload=na)
    assert router.fast_handover.handle(packet, "nar")
    assert router.counters["nd.na_unchanged"] == 1
    assert router.counters["nd.na_overridden"] == 0
    assert nar.neighbors.get(NCOA) == OTHER_MAC
    assert not scn.net.events_of("fmip.una", "nar")


def test_no_o_set_na_for_the_ncoa_while_it_is_not_the_care_of_address():
    # HAck 3 / NAACK 4: the NAR refused the NCoA and serves the PCoA. When that forwarding
    # ends (FBack lifetime) the node runs ordinary configuration and has, for a while, no
    # care-of address: the NCoA it forms again is tentative (RFC 4862 §5.4). A packet for
    # the NCoA then is no confirmation: an NA with O set would override the neighbours'
    # entries for an address the node does not (yet) hold (RFC 5568 §4: "once the MN has
    # confirmed its NCoA").
    case = CASES["pcoa_served"]
    scn = build(nar=case.nar, mn=case.mn)
    case.drive(scn)
    scn.run(48.5)
    mn = scn.mn
    h = next(c for c in mn.clients if hasattr(c, "handover")).handover
    assert h is not None and h.phase == "complete" and h.fback and not h.delivered
    assert mn.attached and h.ncoa == NCOA and mn.care_of_address != NCOA
    mn.on_packet(IPv6Packet(src=PCOA, dst=NCOA, hop_limit=64,
                            payload=new_udp_datagram(1, 2, b"x")), "eth0")
    assert h.announced is None  # no NA with O set went for it
    scn.run(48.9)  # still before the node holds an address on the new link
    assert mn.care_of_address != NCOA
    assert not scn.net.events_of("fmip.override_sent", "mn")
    assert not _overrides(scn)


#: The NAR refuses the NCoA and serves the PCoA: (case, NAACK statuses the node gets).
PCOA_SERVED = [
    (CASES["pcoa_served"], [4]),  # HAck 3, NAACK 4 (predictive)
    # NAACK 3 on arrival (reactive): "use NAR's IP address as NCoA in FBU" (§6.4.6)
    (Case(reactive, (), nar={"addresses_in_use": frozenset({NCOA}),
                             "naack_use_router_address": True}), [3]),
]


@pytest.mark.parametrize(("case", "statuses"), PCOA_SERVED, ids=["naack_4", "naack_3"])
@pytest.mark.parametrize("optimistic", [False, True])
def test_no_o_set_na_for_the_refused_ncoa_that_ordinary_configuration_forms_again(
        optimistic, case, statuses):
    # HAck 3 / NAACK 4: the NAR refused the NCoA (the PAR still sent FBack status 0) and
    # served the PCoA. When that forwarding ends, ordinary configuration forms the same
    # address again from the NAR's prefix, and its DAD completes. No FBU named that address
    # and the NAR accepted nothing: the fast handover is over, and the address is RFC 4862's,
    # as after NAACK 1 or FBack 128, where the same address formed again gets no NA either
    # (docs/decisions.md D30: not sent for an NCoA refused). Before, the NA went labelled
    # `fback` at the first packet to the address (or `dad` when DAD of an optimistic address
    # completed). NAACK 3 (the PAR forwards the PCoA to the NAR) refuses the NCoA the same.
    scn = build(nar=case.nar, mn={"optimistic_dad": optimistic})
    case.drive(scn)
    scn.run(60)
    mn = scn.mn
    # The address was formed again, DAD completed, and the NAR delivers to it.
    assert mn.care_of_address == NCOA
    assert [e.fields["address"] for e in scn.net.events_of("dad.started", "mn")][-1] == NCOA
    completed = "dad.completed" if optimistic else "coa.configured"
    assert scn.net.events_of(completed, "mn")[-1].fields["address"] == NCOA
    assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == statuses
    assert any(p.dst == NCOA and r.time > 48 for r, p in scn.net.packets())
    assert not scn.net.events_of("fmip.override_sent", "mn")
    assert not _overrides(scn)


def test_the_o_set_na_goes_when_the_confirmed_ncoa_becomes_the_care_of_address_again():
    # A packet reaches the NCoA (FBack status 0 came on the old link: confirmed, D30
    # `fback`) while the node has no care-of address: here the node gave the NCoA up right
    # after the UNA (MobileNode.restart_address_configuration, the hook for an address found
    # unusable) and ordinary configuration forms it again, under DAD. The NA waits (it would
    # override entries for an address the node does not hold) and goes when the NCoA is the
    # care-of address again; before, it never went (the packet had marked the NCoA delivered
    # and nothing tried again).
    scn = build()
    predictive(scn)
    mn = scn.mn
    scn.net.at(5.7001, lambda now: mn.restart_address_configuration())
    scn.net.at(5.75, lambda now: mn.on_packet(IPv6Packet(
        src=PCOA, dst=NCOA, hop_limit=64, payload=new_udp_datagram(1, 2, b"x")), "eth0"))
    scn.run(5.76)
    h = scn.fmip.handover
    assert h is not None and h.fback and h.delivered and h.phase == "moved"
    assert mn.care_of_address is None and mn.tentative_address == NCOA
    assert not scn.net.events_of("fmip.override_sent", "mn")
    scn.run(9)
    [configured] = [e for e in scn.net.events_of("coa.configured", "mn") if e.time > 5.76]
    assert configured.fields["address"] == NCOA
    [event] = scn.net.events_of("fmip.override_sent", "mn")
    assert (event.fields["ncoa"], event.fields["by"], event.time) == (
        NCOA, "fback", configured.time)
    [(when, packet)] = _overrides(scn)
    assert (when, packet.src, packet.payload.target) == (configured.time, NCOA, NCOA)
