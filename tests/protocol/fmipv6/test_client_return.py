"""The mobile node's fast handover client back on the PAR's link, or on a link it did not
expect (RFC 5568 §5.6 "Fast or Erroneous Movement"), as :meth:`FastHandoverClient.link_up`
takes them.

§5.6: "An MN returning to the PAR before updating the necessary bindings when present on the
NAR MUST send a Fast Binding Update with the Home Address equal to the MN's PCoA and a
lifetime of zero to the PAR", and "If the MN discovers itself on an unanticipated access
router, it SHOULD send a new Fast Binding Update to the PAR. This FBU supersedes the existing
binding at the PAR". Each case drives the node through the scenario harness and checks what
the client puts out (its FBUs and UNAs, its ``fmip.*`` events) and the handover it keeps.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mipshop.protocol.base.addressing import ALL_NODES
from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.icmpv6 import NeighborAdvertisement
from mipshop.wire.mh import BindingUpdate, FastBindingAcknowledgement, FastBindingUpdate
from tests.protocol.fmip_scenario import APS, build, coa
from tests.protocol.fmip_scenario import router_address as ar
from tests.protocol.fmipv6.test_client_guards import _address_log

PCOA, NCOA, COA3 = coa("par"), coa("nar"), coa("ar3")
SCAN, DECIDE, LEAVE, LINK_DOWN = 5.0, 5.5, 5.6, 0.1
ARRIVAL = LEAVE + LINK_DOWN


def _predictive(scn, *, aps: tuple[str, ...] = ("nar",)) -> None:
    """AR-Info for ``aps`` (RtSolPr/PrRtAdv), then the predictive FBU for the NAR (§3.2)."""
    scn.trigger(ScanCompleted(access_points=tuple(APS[a] for a in aps)), at=SCAN)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=DECIDE)


def _deletes(scn, after: float) -> list:
    """The lifetime-0 FBUs the node sent after ``after`` (§5.6)."""
    return [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn")
            if r.time > after and p.payload.lifetime == 0]


# -- the return to the PAR (§5.6 MUST) ---------------------------------------------------------


def _back_while_prepared(scn) -> float:
    """The FBU is sent, no FBack has come (lost), the link comes back on the PAR's AP: the
    movement was aborted in phase ``prepared``."""
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and r.time < 6.0)
    _predictive(scn)
    scn.move("par", at=DECIDE + 0.002, link_down=0.05)
    return DECIDE + 0.052


def _back_while_acknowledged(scn) -> float:
    """The FBack came on the old link (phase ``acknowledged``), then the movement aborted."""
    _predictive(scn)
    scn.move("par", at=LEAVE, link_down=0.05)
    return LEAVE + 0.05


def _back_from_the_nar(scn) -> float:
    """On the NAR (phase ``moved``, the home BUs from the NCoA lost), back within the
    forwarding's lifetime."""
    _predictive(scn)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.move("par", at=6.5, link_down=0.05)
    return 6.55


def _back_while_the_nar_serves_the_pcoa(scn) -> float:
    """NAACK 4 on the NAR (phase ``pcoa``: the NAR serves the PCoA, §6.4.6), back within the
    PAR's forwarding."""
    _predictive(scn)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.move("par", at=6.5, link_down=0.05)
    return 6.55


#: (case, NAR options, how the node comes back (returns the time of its LinkUp), the phase of
#: the handover just before)
RETURNS: list[tuple[str, dict, Callable[[object], float], str]] = [
    ("aborted before the FBack", {}, _back_while_prepared, "prepared"),
    ("aborted after the FBack", {}, _back_while_acknowledged, "acknowledged"),
    ("from the NAR before the home binding moved", {}, _back_from_the_nar, "moved"),
    ("from the NAR serving the PCoA (NAACK 4)",
     {"addresses_in_use": frozenset({NCOA}), "support_previous_care_of_address": True},
     _back_while_the_nar_serves_the_pcoa, "pcoa"),
]


@pytest.mark.parametrize(("nar", "back", "phase"), [c[1:] for c in RETURNS],
                         ids=[c[0] for c in RETURNS])
def test_back_on_the_pars_link_before_the_bindings_moved_sends_a_lifetime_0_fbu(
        nar, back, phase):
    """§5.6 MUST: back on the PAR's AP before the home binding names the NCoA, whatever the
    handover's phase (FBU sent, FBack received, on the NAR, the NAR serving the PCoA), the
    node sends the PAR an FBU with lifetime 0 and Home Address the PCoA, from the PCoA, and
    the PAR ends its tunnel; the PCoA is the care-of address."""
    scn = build(nar=nar)
    joined = back(scn)
    scn.run(joined - 0.001)
    h = scn.fmip.handover
    assert h is not None and h.phase == phase
    scn.run(joined)
    assert h.phase == "returned" and scn.mn.care_of_address == PCOA
    [returned] = scn.net.events_of("fmip.returned", "mn")
    assert (returned.time, returned.fields) == (pytest.approx(joined),
                                                {"pcoa": PCOA, "par": ar("par")})
    scn.run(joined + 1)
    [delete, *_] = _deletes(scn, joined - 0.001)
    assert (delete.src, delete.dst, delete.home_address) == (PCOA, ar("par"), PCOA)
    assert scn.fmip.handover is None  # the lifetime-0 FBack came: the PAR delivers directly
    assert [e.fields["reason"] for e in scn.net.events_of("fmip.tunnel_down", "par")] == [
        "fbu_lifetime_zero"]


@pytest.mark.parametrize(("offset", "returned"), [(-0.001, True), (0.0, False)],
                         ids=["just before the tunnel ends", "when the tunnel ends"])
def test_a_return_is_one_within_the_pars_forwarding(offset, returned):
    """§5.6: the lifetime-0 FBU ends the PAR's tunnel, which lives for the FBack's lifetime.
    Back on the PAR's AP before it ends, the node sends it; from the instant it ends there is
    no tunnel left to end, and coming back is a move like any other (no ``fmip.returned``, no
    lifetime-0 FBU)."""
    scn = build()
    _predictive(scn)
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.run(ARRIVAL + 1)
    h = scn.fmip.handover
    assert h is not None and h.phase == "moved" and h.fback
    join = h.tunnel_until + offset
    scn.move("par", at=join - 0.05, up_at=join)  # LinkUp at exactly the tunnel's end + offset
    scn.run(join + 0.01)
    assert bool(scn.net.events_of("fmip.returned", "mn")) is returned
    assert bool(_deletes(scn, join - 0.001)) is returned


# -- erroneous movement: an unanticipated router (§5.6 SHOULD, §6.2.2) -------------------------


@pytest.mark.parametrize("fback", [True, False], ids=["after the FBack", "FBack lost"])
def test_on_an_unanticipated_known_router_the_new_fbu_goes_at_once(fback):
    """§5.6: prepared for the NAR, the node finds itself on ar3, whose AR-Info it has: on
    arrival it announces ar3's NCoA (UNA, here to ar3's address, §6.3) and sends the new FBU
    from it at once, which supersedes the PAR's binding; the handover now targets ar3, and an
    FBack for the NAR no longer counts (the reactive FBU's FBack must come)."""
    scn = build(client={"una_to_router": True})
    if not fback:
        scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                        and p.dst == PCOA)
    _predictive(scn, aps=("nar", "ar3"))
    scn.move("ar3", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL - 0.001)
    assert scn.fmip.handover.phase == ("acknowledged" if fback else "prepared")
    scn.run(ARRIVAL)
    h = scn.fmip.handover
    assert (h.target_ap, h.ncoa, h.phase) == (APS["ar3"], COA3, "moved") and not h.fback
    unas = [(r.time, p.src, p.dst) for r, p in scn.net.packets(NeighborAdvertisement,
                                                               sender="mn")
            if p.payload.is_una]
    assert unas == [(pytest.approx(ARRIVAL), COA3, ar("ar3"))]
    [reactive] = scn.net.events_of("fmip.reactive", "mn")
    assert (reactive.time, reactive.fields) == (pytest.approx(ARRIVAL),
                                                {"reason": "no_fback", "ncoa": COA3})
    fbus = [(r.time, p.src, p.dst, p.payload.lifetime)
            for r, p in scn.net.packets(FastBindingUpdate, sender="mn") if r.time > LEAVE]
    assert fbus == [(pytest.approx(ARRIVAL), COA3, ar("par"), 40)]
    assert scn.fmip.router_address == ar("ar3")  # from ar3's AR-Info, before any RA


def test_on_an_unanticipated_unknown_router_the_new_fbu_follows_the_new_address():
    """§5.6 and §6.2.2: on an AP the node has no AR-Info for, it cannot form the NCoA; the
    new FBU goes once ordinary configuration gives it an address there (reason
    ``no_ar_info``), from that address, and supersedes the PAR's binding."""
    scn = build()
    _predictive(scn)
    scn.move("ar3", at=LEAVE, link_down=LINK_DOWN)
    scn.run(ARRIVAL)
    h = scn.fmip.handover
    assert h.phase == "awaiting_coa"
    assert not [p for r, p in scn.net.packets(FastBindingUpdate, sender="mn")
                if r.time > LEAVE]
    scn.run(ARRIVAL + 2)
    [reactive] = scn.net.events_of("fmip.reactive", "mn")
    assert reactive.fields == {"reason": "no_ar_info", "ncoa": COA3}
    fbus = [(p.src, p.dst, p.payload.lifetime)
            for r, p in scn.net.packets(FastBindingUpdate, sender="mn") if r.time > LEAVE]
    assert fbus[0] == (COA3, ar("par"), 40)
    ups = scn.net.events_of("fmip.tunnel_up", "par")
    assert [e.fields["endpoint"] for e in ups] == [NCOA, COA3]


# -- the next move after a return ----------------------------------------------------------------


def test_after_a_return_whose_fback_is_lost_the_next_move_is_a_reactive_handover():
    """§5.6, §3.2 case 2: back on the PAR's link, the lifetime-0 FBU goes unanswered (its
    FBacks lost), and the node moves on to ar3 before it gives up: the handover left in phase
    ``returned`` does not hold the next one back; on ar3 the node announces its NCoA and
    sends the reactive FBU to the PAR at once."""
    scn = build()
    _predictive(scn, aps=("nar", "ar3"))
    scn.move("nar", at=LEAVE, link_down=LINK_DOWN)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingUpdate) and p.src == NCOA)
    scn.net.drop_if(lambda p, r: isinstance(p.payload, FastBindingAcknowledgement)
                    and p.dst == PCOA and r.time > 6.4)
    scn.move("par", at=6.5, link_down=0.05)
    scn.run(6.7)
    assert scn.fmip.handover.phase == "returned"
    scn.move("ar3", at=6.7, link_down=0.05)
    scn.run(6.75)
    h = scn.fmip.handover
    assert (h.old_ap, h.target_ap, h.phase) == (APS["par"], APS["ar3"], "moved")
    fbus = [(r.time, p.src, p.dst, p.payload.lifetime)
            for r, p in scn.net.packets(FastBindingUpdate, sender="mn") if r.time > 6.7]
    assert fbus == [(pytest.approx(6.75), COA3, ar("par"), 40)]
    assert [e.fields["destination"] for e in scn.net.events_of("fmip.una_sent", "mn")
            if e.time > 6.7] == [ALL_NODES]


def test_back_from_a_nar_serving_the_pcoa_the_pars_prefix_is_no_movement(monkeypatch):
    """The NAR served the PCoA (NAACK 4, §6.4.6): the node held it as a /128 there. Back on the
    PAR's link (§5.6) the PCoA is an address of the PAR's prefix again: the PAR's next Router
    Advertisement is not a movement (no new configuration, no DAD, no care-of address lost
    meanwhile), and the PCoA keeps the prefix's length, on the node's interface too (one
    ConfigureAddress of the address with the PAR's prefix length: the on-link prefix)."""
    scn = build(nar={"addresses_in_use": frozenset({NCOA}),
                     "support_previous_care_of_address": True})
    log = _address_log(monkeypatch, scn.mn)
    joined = _back_while_the_nar_serves_the_pcoa(scn)
    scn.run(joined + 3)
    after = [e for e in scn.net.events_of("movement.detected", "mn") if e.time >= joined]
    assert after == []
    assert [e for e in scn.net.events_of("dad.started", "mn") if e.time >= joined] == []
    assert scn.mn.care_of_address == PCOA
    assert scn.mn.current_prefix is not None and scn.mn.current_prefix.prefixlen == 64
    assert PCOA in scn.mn.current_prefix
    assert [(a.interface, a.prefix_length, a.active) for t, a in log
            if a.address == PCOA and t >= joined] == [(scn.mn.interface, 64, True)]
