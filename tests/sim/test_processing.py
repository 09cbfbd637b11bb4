"""Processing time (scenario ``[processing]``): each signalling message waits the agents' time
before the home agent, MAP or access router handles it, and what the mobile node sends with a
new address waits for its configuration; the "auto" lead covers the agents' part, so
predictive FMIPv6 still loses nothing."""

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
    # From the node's decision to send the BU (the RA): its address configuration, then the
    # BU handled at the home agent (or MAP).
    added = after.phases_ms["registration"] - before.phases_ms["registration"]
    assert added == pytest.approx((AGENTS + MOBILE) * 1000, abs=0.01)
    # The RS at the access router; an unsolicited RA (every second here) that comes while
    # the RS waits answers it sooner (RFC 4861 §6.2.6).
    added = after.phases_ms["movement_detection"] - before.phases_ms["movement_detection"]
    assert 0.01 < added <= AGENTS * 1000 + 0.01


@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_the_auto_lead_covers_the_processing_and_nothing_is_lost(protocol: str) -> None:
    scenario = _scenario(AGENTS * 1000, MOBILE * 1000)
    assert auto_lead(scenario, protocol) == pytest.approx(
        auto_lead(_scenario(0, 0), protocol) + 3 * AGENTS)  # FBU, HI and HAck
    result = _run(protocol, True)
    assert result.packets_lost == 0 and result.uplink["lost"] == 0
    # FBU, HI and HAck at the agents, all before the switch.
    before = _run(protocol, False)
    added = result.phases_ms["fast_handover"] - before.phases_ms["fast_handover"]
    assert added == pytest.approx(3 * AGENTS * 1000, abs=0.01)


def test_a_reactive_handover_starts_once_the_address_is_configured() -> None:
    before, after = _run("fmipv6-reactive", False), _run("fmipv6-reactive", True)
    added = after.phases_ms["fast_handover"] - before.phases_ms["fast_handover"]
    # The NCoA's configuration, FBU, HI and HAck; the FBack may also wait at the NAR.
    assert (MOBILE + 3 * AGENTS) * 1000 - 0.01 <= added <= (MOBILE + 4 * AGENTS) * 1000 + 0.01
    assert after.uplink["lost"] == 0


@pytest.mark.parametrize("protocol", ["mipv6", "hmipv6", "fmipv6", "fmipv6-reactive",
                                      "fhmipv6"])
def test_the_model_charges_the_same_processing(protocol: str) -> None:
    """``examples/testbed.toml`` with the processing measured on the testbed: the analytic
    model (derived on its own) and the simulator agree to the packet, and on the disruption
    within 0.1 ms."""
    scenario = load_scenario(EXAMPLES / "testbed.toml")
    assert scenario.processing.agents_ms > 0 and scenario.processing.mobile_node_ms > 0
    result = run_protocol(scenario, protocol, seed=1)
    assert result.analytic_disruption_ms == pytest.approx(result.disruption_ms["mean"],
                                                          abs=0.1)
    assert result.analytic_packets_lost == pytest.approx(result.packets_lost, abs=0.01)


def test_processing_is_part_of_the_scenario_data() -> None:
    data = scenario_to_dict(_scenario(4.0, 2.0))
    assert data["processing"] == {"agents_ms": 4.0, "mobile_node_ms": 2.0}
