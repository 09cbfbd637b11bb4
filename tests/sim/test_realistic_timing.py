"""Handovers under realistic timing, on the simulator: late triggers and a lossy radio.

* Over LinkGoingDown leads of 0-50 ms (0: the trigger comes with the switch), predictive
  FMIPv6 and F-HMIPv6 never do worse than reactive FMIPv6 on the same run by more than one
  packet interval, handover by handover, nor lose more; once the lead covers FBU + HI/HAck
  (and the last packet's way to the old link: ``auto_lead``) they lose nothing, downlink or
  uplink.
* On ``examples/lossy-wifi.toml`` (2 % frame loss on the air) over seeds 1-20, no fmipv6 or
  fhmipv6 handover lasts more than 200 ms in either direction: a lost UNA, FBU, FBack, BU or
  RA costs the RFC's short timers, never a 1 s retransmission.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mipshop.sim.compare import ProtocolResult, run_protocol
from mipshop.sim.scenario import auto_lead, load_scenario, scenario_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INTERVAL_MS = 20.0


def _per_handover_ms(result: ProtocolResult) -> list[float | None]:
    return [None if w is None else (w[1] - w[0]) * 1000 for w in result.disruption_windows]


@pytest.mark.parametrize("lead_ms", [0.0, 1.0, 5.0, 10.0, 14.0, 15.0, 20.0, 24.0, 25.0, 30.0,
                                     40.0, 50.0])
def test_predictive_is_never_worse_than_reactive_and_loses_nothing_once_the_lead_covers(
        lead_ms: float) -> None:
    scenario = scenario_from_dict({"fmipv6": {"lead_ms": lead_ms}})
    reactive = run_protocol(scenario, "fmipv6-reactive", seed=1)
    baseline = _per_handover_ms(reactive)
    assert all(d is not None for d in baseline)
    for protocol in ("fmipv6", "fhmipv6"):
        result = run_protocol(scenario, protocol, seed=1)
        measured = _per_handover_ms(result)
        assert len(measured) == len(baseline) == 8
        for own, other in zip(measured, baseline, strict=True):
            assert own is not None and other is not None
            assert own <= other + INTERVAL_MS, (protocol, measured, baseline)
        assert result.packets_lost <= reactive.packets_lost
        assert result.uplink["lost"] <= reactive.uplink["lost"]
        if lead_ms / 1000 >= auto_lead(scenario, protocol):
            assert result.packets_lost == 0 and result.uplink["lost"] == 0, protocol


@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_lossy_radio_no_fast_handover_over_200_ms(protocol: str) -> None:
    scenario = load_scenario(EXAMPLES / "lossy-wifi.toml")
    worst_down = worst_up = 0.0
    handovers = 0
    for seed in range(1, 21):
        result = run_protocol(scenario, protocol, seed=seed)
        handovers += result.handovers
        assert result.disruption_ms["max"] is not None
        worst_down = max(worst_down, result.disruption_ms["max"])
        worst_up = max(worst_up, result.uplink["disruption_ms"]["max"])
    assert handovers == 20 * scenario.movement.handovers
    assert worst_down <= 200.0 and worst_up <= 200.0, (worst_down, worst_up)
