"""The analytic model (mipshop.model, derived from the RFCs alone) against the simulator, over a
grid of lead times, RA delays, link delays and loss rates, and random-waypoint movement.

Criterion: the simulator's mean disruption within 5 % of the model's expectation, and its
downlink loss within 5 %, or, for a count too small for that, within three standard deviations
of a Poisson count (3 x sqrt(expected); random losses on a 1 % link give a few dozen packets
per run, whose own spread exceeds 5 %). Where the scenario is random (a random RA delay,
lossy links, random movement) the simulator's mean is a sample: those cases run enough
handovers for its spread to sit well inside 5 %; where it is not (fixed leads, no loss, RA
delay 0) the two agree to the packet. At 5 % frame loss, compound losses the model leaves out
(a BU lost twice after a return to the previous router, RFC 5568 §5.6) make the mean
heavy-tailed; the README shows that case.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from mipshop.model import expected
from mipshop.sim.compare import run_protocol
from mipshop.sim.scenario import scenario_from_dict, scenario_to_dict

ALL = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
#: Handovers 3.005 s apart: four phases of the 20 ms cycle, evenly.
PING_PONG = {"dwell_s": 3.005}


def agree(overrides: dict[str, Any], protocol: str, *, seeds: tuple[int, ...] = (1,)) -> None:
    """Run ``protocol`` on the scenario for each seed; compare the means with the model."""
    scenario = scenario_from_dict(overrides)
    estimate = expected(scenario_to_dict(scenario), protocol)
    assert estimate.disruption_ms is not None
    runs = [run_protocol(scenario, protocol, seed=seed) for seed in seeds]
    disruption = sum(r.disruption_ms["mean"] or 0.0 for r in runs) / len(runs)
    lost = sum(r.packets_lost for r in runs) / len(runs)
    # The model's loss for these runs (with random movement: per handover, times the
    # handovers each run made; ``compare`` fills it in from the same estimate).
    modelled = sum(r.analytic_packets_lost or 0.0 for r in runs) / len(runs)
    assert disruption == pytest.approx(estimate.disruption_ms, rel=0.05), (
        protocol, disruption, estimate.disruption_ms)
    assert abs(lost - modelled) <= max(0.05 * modelled, 3 * math.sqrt(modelled), 1.0), (
        protocol, lost, modelled)


@pytest.mark.parametrize("lead_ms", [0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0])
@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_lead_times(protocol: str, lead_ms: float) -> None:
    """Fixed leads from a late trigger (0 ms) to an early one: deterministic, to the packet."""
    agree({"movement": PING_PONG, "routers": {"max_ra_delay_ms": 0.0},
           "fmipv6": {"lead_ms": lead_ms}}, protocol)


@pytest.mark.parametrize("max_ra_delay_ms", [0.0, 100.0, 500.0])
@pytest.mark.parametrize("protocol", ["mipv6", "hmipv6"])
def test_ra_delays(protocol: str, max_ra_delay_ms: float) -> None:
    """RFC 4861 §6.2.6 delays drawn by the routers: 60 handovers sample them."""
    agree({"movement": {**PING_PONG, "handovers": 60},
           "routers": {"max_ra_delay_ms": max_ra_delay_ms}}, protocol)


LINKS = {
    "slow-air": {"wireless": {"delay_ms": 5.0, "rate_mbps": 11.0}},
    "near-home-agent": {"core_ha": {"delay_ms": 5.0}, "ar_map": {"delay_ms": 1.0}},
    "far-neighbours": {"ar_ar": {"delay_ms": 12.0}, "map_core": {"delay_ms": 40.0}},
}


@pytest.mark.parametrize("links", sorted(LINKS))
@pytest.mark.parametrize("protocol", ALL)
def test_link_delays(protocol: str, links: str) -> None:
    agree({"movement": PING_PONG, "links": LINKS[links],
           "routers": {"max_ra_delay_ms": 0.0}, "fmipv6": {"lead_ms": 40.0}}, protocol)


@pytest.mark.parametrize("loss", [0.01, 0.02])
@pytest.mark.parametrize("protocol", ALL)
def test_loss_rates(protocol: str, loss: float) -> None:
    """Frames lost on the air (the UNA, FBU, RS, RA, BU and the data themselves): 120
    handovers; unsolicited RAs every second, so that a lost RS or RA costs at most that."""
    agree({"movement": {**PING_PONG, "handovers": 60}, "links": {"wireless": {"loss": loss}},
           "routers": {"max_ra_delay_ms": 0.0, "ra_interval_s": 1.0},
           "fmipv6": {"lead_ms": 40.0}}, protocol, seeds=(1, 2))


@pytest.mark.parametrize("protocol", ALL)
def test_random_waypoint(protocol: str) -> None:
    """Random instants: the model averages over the phase of the flow and of the routers'
    unsolicited RAs, the simulator samples them (about 125 handovers of 12 walking nodes)."""
    agree({"mobile_nodes": 12,
           "movement": {"model": "random_waypoint", "grid_columns": 3, "grid_rows": 3,
                        "cell_m": 20.0, "speed_min_mps": 4.0, "speed_max_mps": 8.0,
                        "pause_s": 0.5, "duration_s": 40.0},
           "routers": {"max_ra_delay_ms": 0.0}, "fmipv6": {"lead_ms": 40.0},
           "address": {"optimistic_dad": True}}, protocol)
