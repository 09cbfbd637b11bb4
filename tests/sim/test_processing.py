"""Processing time at the agents, routers and mobile node (scenario ``[processing]``): each
message waits that long before its entity handles it, so every exchange of the handover costs
it; the "auto" lead covers it, so predictive FMIPv6 still loses nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mipshop.sim.compare import ProtocolResult, run_protocol
from mipshop.sim.scenario import Scenario, auto_lead, load_scenario, scenario_to_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AGENTS, MOBILE = 0.004, 0.002


def _scenario(agents_ms: float, mobile_ms: float) -> Scenario:
    base = load_scenario(EXAMPLES / "testbed.toml")
    return replace(base, movement=replace(base.movement, handovers=2),
                   processing=replace(base.processing, agents_ms=agents_ms,
                                      mobile_node_ms=mobile_ms))


def _run(protocol: str, processing: bool) -> ProtocolResult:
    scenario = _scenario(AGENTS * 1000, MOBILE * 1000) if processing else _scenario(0, 0)
    return run_protocol(scenario, protocol, seed=1)


@pytest.mark.parametrize("protocol", ["mipv6", "hmipv6"])
def test_each_exchange_costs_the_processing_of_both_ends(protocol: str) -> None:
    before, after = _run(protocol, False), _run(protocol, True)
    # The BU handled at the home agent (or MAP), its BA at the mobile node.
    added = after.phases_ms["registration"] - before.phases_ms["registration"]
    assert added == pytest.approx((AGENTS + MOBILE) * 1000, abs=0.01)
    # The RS at the access router and its RA at the mobile node; an unsolicited RA (every
    # second here) that comes while the RS waits answers it sooner (RFC 4861 §6.2.6).
    added = after.phases_ms["movement_detection"] - before.phases_ms["movement_detection"]
    assert MOBILE * 1000 - 0.01 <= added <= (AGENTS + MOBILE) * 1000 + 0.01
    assert added > MOBILE * 1000 + 0.01  # the RS's processing shows on average


@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_the_auto_lead_covers_the_processing_and_nothing_is_lost(protocol: str) -> None:
    scenario = _scenario(AGENTS * 1000, MOBILE * 1000)
    assert auto_lead(scenario, protocol) == pytest.approx(
        auto_lead(_scenario(0, 0), protocol) + 3 * AGENTS + MOBILE)  # FBU, HI, HAck, FBack
    result = _run(protocol, True)
    assert result.packets_lost == 0 and result.uplink["lost"] == 0
    # FBU, HI, HAck at the agents and the FBack at the node, all before the switch.
    before = _run(protocol, False)
    added = result.phases_ms["fast_handover"] - before.phases_ms["fast_handover"]
    assert added == pytest.approx((3 * AGENTS + MOBILE) * 1000, abs=0.01)


def test_processing_is_part_of_the_scenario_data() -> None:
    data = scenario_to_dict(_scenario(4.0, 2.0))
    assert data["processing"] == {"agents_ms": 4.0, "mobile_node_ms": 2.0}
