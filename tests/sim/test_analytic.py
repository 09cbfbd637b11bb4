"""The analytic model on its own: its phases, its bounds, and how it reacts to each knob."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mipshop.sim.analytic import expected, l2_outage
from mipshop.sim.compare import PROTOCOLS
from mipshop.sim.scenario import (
    Address,
    Fmipv6,
    reference_scenario,
    round_trips_ms,
    scenario_from_dict,
)

REFERENCE = reference_scenario()
RTT = round_trips_ms(REFERENCE)
INTERVAL = REFERENCE.traffic.interval_ms
L2 = REFERENCE.wifi.switch_ms


def test_registration_phases_are_the_round_trips_to_the_anchor() -> None:
    mipv6 = expected(REFERENCE, "mipv6").phases_ms
    hmipv6 = expected(REFERENCE, "hmipv6").phases_ms
    assert mipv6["registration"] == pytest.approx(RTT["mn_ha"], abs=0.1)
    assert hmipv6["registration"] == pytest.approx(RTT["mn_map"], abs=0.1)
    for phases in (mipv6, hmipv6):
        assert phases["l2"] == L2
        assert phases["movement_detection"] == pytest.approx(RTT["mn_ar"], abs=0.1)
        assert phases["address_configuration"] == 1000.0


def test_mipv6_redirects_after_l2_rs_ra_dad_and_the_bu_to_the_home_agent() -> None:
    estimate = expected(REFERENCE, "mipv6")
    one_way_to_ha = RTT["mn_ha"] / 2
    assert estimate.redirect_ms == pytest.approx(L2 + RTT["mn_ar"] + 1000 + one_way_to_ha,
                                                 abs=0.1)
    # The disruption is the redirection plus the way back, within one CBR interval.
    assert 0 <= estimate.disruption_ms - (estimate.redirect_ms + one_way_to_ha) <= INTERVAL + 1


def test_predictive_fast_handovers_are_bounded_by_l2_una_and_one_interval() -> None:
    bound = L2 + RTT["mn_nar"] + INTERVAL + 1
    for protocol in ("fmipv6", "fhmipv6"):
        estimate = expected(REFERENCE, protocol)
        assert estimate.packets_lost == 0
        assert estimate.disruption_ms <= bound
    # Over every phase of the CBR relative to the handover (random movement): same bound.
    randomised = scenario_from_dict({"movement": {"model": "random_waypoint"}})
    for protocol in ("fmipv6", "fhmipv6"):
        estimate = expected(randomised, protocol)
        assert estimate.packets_lost_per_handover == 0
        assert L2 + RTT["mn_nar"] <= estimate.disruption_ms <= bound


def test_reactive_loses_what_reaches_the_par_before_the_fbu_exchange() -> None:
    estimate = expected(REFERENCE, "fmipv6-reactive")
    # Redirect: L2 + FBU via the NAR (2 + 5 ms) + HI/HAck (10 ms).
    assert estimate.redirect_ms == pytest.approx(L2 + 2 + 5 + 10, abs=0.1)
    per_handover = estimate.packets_lost / 4
    assert 0 < per_handover <= estimate.redirect_ms / INTERVAL + 1
    assert estimate.disruption_ms < expected(REFERENCE, "mipv6").disruption_ms


def test_ordering_of_the_protocols() -> None:
    d = {p: expected(REFERENCE, p).disruption_ms for p in PROTOCOLS}
    assert d["fhmipv6"] <= d["fmipv6"] < d["fmipv6-reactive"] < d["hmipv6"] < d["mipv6"]


def test_optimistic_dad_removes_the_dad_delay() -> None:
    fast = replace(REFERENCE, address=Address(optimistic_dad=True))
    for protocol in ("mipv6", "hmipv6"):
        slow_d = expected(REFERENCE, protocol).disruption_ms
        fast_d = expected(fast, protocol).disruption_ms
        assert slow_d - fast_d == pytest.approx(1000, abs=INTERVAL + 1)
    assert expected(fast, "fmipv6") == expected(REFERENCE, "fmipv6")


def test_a_too_short_lead_or_no_buffer_loses_packets() -> None:
    # Averaged over the CBR phase (random movement), a 1 ms lead loses what reaches the PAR
    # between the radio leaving and the HAck.
    late = scenario_from_dict({"movement": {"model": "random_waypoint"},
                               "fmipv6": {"lead_ms": 1.0}})
    assert expected(late, "fmipv6").packets_lost_per_handover > 0
    assert expected(replace(REFERENCE, fmipv6=Fmipv6(lead_ms=14.5)), "fmipv6").packets_lost == 0
    busy = scenario_from_dict({"fmipv6": {"buffer_packets": 0, "lead_ms": 60.0}})
    assert expected(busy, "fmipv6").packets_lost > 0
    roomy = scenario_from_dict({"fmipv6": {"lead_ms": 60.0}})
    assert expected(roomy, "fmipv6").packets_lost == 0


def test_the_scan_is_in_the_outage_only_without_background_scanning() -> None:
    slow = scenario_from_dict({"wifi": {"background_scan": False}})
    scan = slow.wifi.scan_ms / 1000
    assert l2_outage(slow, "mipv6") == pytest.approx(scan + 0.004)
    assert l2_outage(slow, "fmipv6-reactive") == pytest.approx(scan + 0.004)
    assert l2_outage(slow, "fmipv6") == pytest.approx(0.004)
    assert l2_outage(REFERENCE, "mipv6") == pytest.approx(0.004)
