"""What the handover figure shows (:func:`mipshop.cli.plot.plot_data`), not its pixels."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from mipshop.cli.plot import plot_data, plot_results
from mipshop.sim.compare import PROTOCOLS, compare, run_protocol
from mipshop.sim.scenario import load_scenario, reference_scenario, scenario_from_dict

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def reference():
    return compare(reference_scenario(), seed=1)


def test_the_band_is_each_protocols_measured_disruption(reference) -> None:
    data = plot_data(reference)
    assert [s.protocol for s in data.strips] == list(PROTOCOLS)
    for strip, result in zip(data.strips, reference, strict=True):
        assert strip.disruption_ms is not None
        start, end = strip.disruption_ms
        # The band is the first handover's measured disruption (the reference draws each
        # handover's lead, so handovers differ), one of the run's.
        last_old, first_new = result.disruption_windows[0]
        assert end - start == pytest.approx((first_new - last_old) * 1000, abs=1e-6)
        assert result.disruption_ms["p50"] is not None
        assert end - start <= result.disruption_ms["max"] + 1e-6
        # It starts at the last packet on the old link, which the strip shows, before the
        # link-layer handoff at 0 ms, and ends at the first packet on the new link.
        assert start in strip.arrival_ms and end in strip.arrival_ms
        # Up to one packet interval before the anticipation lead (25-50 ms) began.
        assert -(50.0 + result_interval_ms(reference)) <= start <= 0 < end


def result_interval_ms(results) -> float:
    first = results[0].trace
    return (first[1][1] - first[0][1]) * 1000


def test_a_radio_loss_is_not_shaded_as_the_handover() -> None:
    """On the lossy radio the longest silence after the handoff is a random loss, longer than
    the fast handover's disruption; the band stays on the handover."""
    lossy = load_scenario(EXAMPLES / "lossy-wifi.toml")
    # The shortest ("auto") lead keeps the handover's own disruption short.
    lossy = replace(lossy, fmipv6=replace(lossy.fmipv6, lead_ms=None))
    result = run_protocol(lossy, "fmipv6", seed=1)
    (strip,) = plot_data([result]).strips
    assert strip.disruption_ms is not None
    start, end = strip.disruption_ms
    origin = result.handover_times[0]
    last_old, first_new = result.disruption_windows[0]
    assert (start, end) == pytest.approx(((last_old - origin) * 1000, (first_new - origin) * 1000))
    silences = [(after - before, before) for before, after in pairwise(strip.arrival_ms)
                if after >= 0]
    longest, at = max(silences)
    assert longest > end - start + 1 and at > end  # a loss later on, not the handover


def test_downlink_and_uplink_losses_are_separate_bars(reference) -> None:
    bars = plot_data(reference).bars
    assert bars.protocols == PROTOCOLS
    assert bars.downlink_lost == tuple(r.packets_lost for r in reference)
    assert bars.uplink_lost == tuple(r.uplink["lost"] for r in reference)
    # Two series, not one drawn twice: on the reference scenario they differ (MIPv6 loses
    # more downlink packets than uplink ones).
    mipv6 = PROTOCOLS.index("mipv6")
    assert bars.downlink_lost[mipv6] != bars.uplink_lost[mipv6]
    assert bars.disruption_simulated_ms == tuple(r.disruption_ms["mean"] for r in reference)
    assert bars.disruption_analytic_ms == tuple(r.analytic_disruption_ms for r in reference)


def test_no_uplink_flow_is_no_bar_not_zero() -> None:
    scenario = scenario_from_dict({"traffic": {"uplink": False}})
    result = run_protocol(scenario, "hmipv6", seed=1)
    assert plot_data([result]).bars.uplink_lost == (None,)


def test_a_handover_that_never_completes_has_no_band(reference) -> None:
    result = reference[0]
    (strip,) = plot_data([replace(result, disruption_windows=(None,))]).strips
    assert strip.disruption_ms is None


def test_the_figure_is_written_in_the_format_asked(reference, tmp_path: Path) -> None:
    target = tmp_path / "figure.partial"
    plot_results(reference, target, title="t", fmt="pdf")
    assert target.read_bytes().startswith(b"%PDF")


def test_uplink_disruption_is_a_bar_of_its_own(reference) -> None:
    bars = plot_data(reference).bars
    assert bars.uplink_disruption_ms == tuple(r.uplink["disruption_ms"]["mean"]
                                              for r in reference)
    mipv6 = PROTOCOLS.index("mipv6")
    assert bars.uplink_disruption_ms[mipv6] != bars.disruption_simulated_ms[mipv6]
