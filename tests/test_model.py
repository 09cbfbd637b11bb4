"""The analytic model on its own (mipshop.model): its phases, its bounds, how it reacts to each
knob. It is given scenarios as plain data (``scenario_to_dict``, or a JSON document)."""

from __future__ import annotations

import json
import math

import pytest

from mipshop import model
from mipshop.model import Outcome, Params, expected
from mipshop.sim.scenario import reference_scenario, scenario_from_dict, scenario_to_dict

PROTOCOLS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
L2 = 4.0
INTERVAL = 20.0


def plain(**overrides: object) -> dict:
    """A scenario as the model sees it: JSON-ready data, nothing else."""
    return json.loads(json.dumps(scenario_to_dict(scenario_from_dict(overrides))))


FAST = plain(routers={"max_ra_delay_ms": 0.0}, fmipv6={"lead_ms": 40.0})


def test_the_model_reads_plain_data_only() -> None:
    """A scenario written by hand (no simulator object) is enough."""
    data = plain()
    assert isinstance(data, dict)
    estimate = expected(data, "fmipv6")
    assert estimate.disruption_ms is not None and estimate.packets_lost == 0
    with pytest.raises(ValueError, match="unknown protocol"):
        expected(data, "mip4")


def test_registration_phases_are_the_round_trips_to_the_anchor() -> None:
    rtt = scenario_to_dict(reference_scenario())["rtt_ms"]
    mipv6 = expected(FAST, "mipv6").phases_ms
    hmipv6 = expected(FAST, "hmipv6").phases_ms
    assert mipv6["registration"] == pytest.approx(rtt["mn_ha"], abs=0.1)
    assert hmipv6["registration"] == pytest.approx(rtt["mn_map"], abs=0.1)
    for phases in (mipv6, hmipv6):
        assert phases["l2"] == L2
        assert phases["movement_detection"] == pytest.approx(rtt["mn_ar"], abs=0.1)
        assert phases["address_configuration"] == 1000.0


def test_the_ra_delay_adds_its_mean_to_movement_detection() -> None:
    """RFC 4861 §6.2.6: uniform in [0, MAX_RA_DELAY_TIME]; the mean 250 ms shows in the
    movement detection phase and in the disruption of MIPv6 and HMIPv6, not of FMIPv6."""
    slow = plain(routers={"max_ra_delay_ms": 500.0}, fmipv6={"lead_ms": 40.0})
    for protocol in ("mipv6", "hmipv6"):
        fast_est, slow_est = expected(FAST, protocol), expected(slow, protocol)
        assert slow_est.phases_ms["movement_detection"] - fast_est.phases_ms[
            "movement_detection"] == pytest.approx(250.0, abs=2.0)
        assert slow_est.disruption_ms - fast_est.disruption_ms == pytest.approx(250.0, abs=10)
    assert expected(slow, "fmipv6") == expected(FAST, "fmipv6")


def test_an_unsolicited_ra_answers_when_it_comes_first() -> None:
    """A delay that would end after the next unsolicited RA is replaced by it (§6.2.6)."""
    p = Params.from_mapping(plain(routers={"max_ra_delay_ms": 500.0, "ra_interval_s": 0.5}))
    m = model.Model(p, "mipv6")
    line = m.timeline(10.0, 0.0, 0.45, 0.25, Outcome())  # next RA at 10.25
    assert line.phases["movement_detection"] == pytest.approx(
        (0.25 - 0.004 + p.w.time(model.RA)) * 1000, abs=0.01)


def test_predictive_fast_handovers_are_bounded_by_the_lead_l2_and_one_interval() -> None:
    for lead in (25.0, 30.0, 45.0):  # above the 24.6 ms FBU + HI/HAck at the MAP
        data = plain(fmipv6={"lead_ms": lead})
        for protocol in ("fmipv6", "fhmipv6"):
            estimate = expected(data, protocol)
            assert estimate.packets_lost == 0
            assert estimate.disruption_ms <= lead + L2 + 4.0 + INTERVAL + 1


def test_a_late_trigger_costs_what_a_reactive_handover_costs() -> None:
    reactive = expected(plain(), "fmipv6-reactive")
    for lead in (0.0, 5.0, 10.0):
        late = expected(plain(fmipv6={"lead_ms": lead}), "fmipv6")
        assert late.packets_lost <= reactive.packets_lost
        assert late.disruption_ms <= reactive.disruption_ms + INTERVAL


def test_no_buffer_loses_what_was_in_flight() -> None:
    data = plain(fmipv6={"lead_ms": 45.0})
    none = plain(fmipv6={"lead_ms": 45.0, "buffer_packets": 0})
    assert expected(data, "fmipv6").packets_lost == 0
    assert expected(none, "fmipv6").packets_lost > 0
    assert expected(none, "fhmipv6").packets_lost > 0


def test_a_lost_una_costs_twice_the_access_round_trip() -> None:
    p = Params.from_mapping(plain(fmipv6={"lead_ms": 40.0}))
    m = model.Model(p, "fmipv6")
    first = m.timeline(10.0, 0.04, 0.0, 0.0, Outcome())
    lost = m.timeline(10.0, 0.04, 0.0, 0.0, Outcome(una=1))
    assert lost.buffer_until - first.buffer_until == pytest.approx(m.una_spacing())
    assert m.una_spacing() == pytest.approx(2 * (p.w.time(model.RTSOLPR)
                                                 + p.w.time(model.PRRTADV
                                                            + model.PRRTADV_PER_AP)))
    never = m.timeline(10.0, 0.04, 0.0, 0.0, Outcome(una=model.MAX_NEIGHBOR_ADVERTISEMENT))
    assert never.discard and never.buffer_until - never.buffer_from == pytest.approx(1.5)


def test_losses_on_the_air_raise_the_expectation() -> None:
    clean = plain(fmipv6={"lead_ms": 40.0})
    lossy = plain(fmipv6={"lead_ms": 40.0}, links={"wireless": {"loss": 0.05}})
    for protocol in PROTOCOLS:
        a, b = expected(clean, protocol), expected(lossy, protocol)
        assert b.disruption_ms > a.disruption_ms
        assert b.packets_lost > a.packets_lost
        assert b.loss_ratio == pytest.approx(0.05) and a.loss_ratio == 0


def test_ordering_of_the_protocols() -> None:
    d = {p: expected(FAST, p).disruption_ms for p in PROTOCOLS}
    assert d["fhmipv6"] <= d["fmipv6"] < d["fmipv6-reactive"] < d["hmipv6"] < d["mipv6"]


def test_optimistic_dad_removes_the_dad_delay() -> None:
    fast = plain(routers={"max_ra_delay_ms": 0.0}, fmipv6={"lead_ms": 40.0},
                 address={"optimistic_dad": True})
    for protocol in ("mipv6", "hmipv6"):
        difference = expected(FAST, protocol).disruption_ms - expected(fast,
                                                                       protocol).disruption_ms
        assert difference == pytest.approx(1000, abs=INTERVAL + 1)
    assert expected(fast, "fmipv6") == expected(FAST, "fmipv6")


def test_the_scan_is_in_the_outage_only_without_background_scanning() -> None:
    slow = Params.from_mapping(plain(wifi={"background_scan": False}))
    scan = slow.scan
    assert model.Model(slow, "mipv6").l2 == pytest.approx(scan + 0.004)
    assert model.Model(slow, "fmipv6-reactive").l2 == pytest.approx(scan + 0.004)
    assert model.Model(slow, "fmipv6").l2 == pytest.approx(0.004)


def test_random_movement_averages_over_the_phase_of_the_flow() -> None:
    """With random handover instants the expected loss of a reactive handover is the length
    of its loss window over the packet interval (uniform phase)."""
    data = plain(movement={"model": "random_waypoint"}, routers={"max_ra_delay_ms": 0.0})
    p = Params.from_mapping(data)
    estimate = expected(data, "fmipv6-reactive")
    window = (0.004 + p.w.time(model.FBU) + p.x.time(model.FBU) + p.x.time(model.HI)
              + p.x.time(model.HACK) + p.w.time(p.data + model.TUNNEL))
    assert estimate.packets_lost_per_handover == pytest.approx(window / p.interval, rel=0.03)
    assert estimate.handovers is None and math.isfinite(estimate.disruption_ms)
