"""Ping-pong within the FBU lifetime (RFC 5568 §5.6): a predictive handover back to the router
that still forwards the node's previous care-of address must end that forwarding, or the two
routers tunnel the address to each other (found by the simulator's ping-pong scenario)."""

from __future__ import annotations

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from tests.protocol.fmip_scenario import APS, build, coa

PCOA = coa("par")


@pytest.mark.parametrize("predictive_back", [True, False])
def test_back_and_forth_within_the_fbu_lifetime_loses_nothing(predictive_back: bool) -> None:
    scn = build()
    scn.cbr(start=4.0, stop=9.0)
    scn.trigger(ScanCompleted(access_points=()), at=4.5)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.0)
    scn.move("nar", at=5.1, link_down=0.01)
    scn.trigger(ScanCompleted(access_points=()), at=6.0)
    if predictive_back:
        scn.trigger(LinkGoingDown(target_ap=APS["par"]), at=7.0)
    scn.move("par", at=7.1, link_down=0.01)  # reactive: UNA (and FBU) from the old PCoA
    scn.run(12)
    assert all(r.counters["drop.hop_limit"] == 0 for r in scn.routers.values())
    # The old PAR forwarded the address away until the node came back with it: the HI for
    # the returning node ends that. (The home agent holds the NCoA by then, so going back is
    # a handover like any other, predictive or reactive; §5.6's lifetime-0 FBU is for a
    # return before the bindings moved, tests/protocol/fmipv6/test_errors.py.)
    (down,) = scn.net.events_of("fmip.tunnel_down", "par")
    assert down.fields["reason"] == "returned"
    assert down.fields["pcoa"] == PCOA and 7.0 < down.time < 7.2
    received = scn.received()
    lost = sorted(set(scn.sent) - set(received))
    # Predictive both ways: nothing lost. Reactive back: only what the switch caught.
    assert len(lost) <= (0 if predictive_back else 2), lost
