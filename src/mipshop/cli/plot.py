"""The classic handover figure: packet sequence number against arrival time, and bars.

Top: for each protocol, the downlink CBR packets received around the first handover, sequence
number against arrival time (relative to the start of the link-layer handoff). A flat step is
the disruption; missing sequence numbers are losses; a burst of packets arriving back to back
is a buffer being flushed. Bottom: mean disruption (measured and analytic) and packets lost
per protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to a file

import matplotlib.pyplot as plt

from ..sim.compare import ProtocolResult


def plot_results(results: Sequence[ProtocolResult], path: Path, *, title: str) -> None:
    """Draw the figure for ``results`` into ``path`` (PNG, 150 dpi).

    One strip per protocol shows the received downlink packets as dots (no connecting line,
    so that a run of lost packets is a visible gap), with the measured disruption shaded.
    """
    count = max(len(results), 1)
    figure = plt.figure(figsize=(11, 3 + 1.3 * count + 3), layout="constrained")
    grid = figure.add_gridspec(count + 1, 2, height_ratios=(*([1.0] * count), 2.2))
    figure.suptitle(title)
    first = None
    for row, result in enumerate(results):
        axes = figure.add_subplot(grid[row, :], sharex=first)
        first = first or axes
        origin = result.handover_times[0] if result.handover_times else 0.0
        arrival_ms = [(arrived - origin) * 1000 for _seq, _sent, arrived in result.trace]
        sequence = [seq for seq, _sent, _arrived in result.trace]
        axes.plot(arrival_ms, sequence, linestyle="none", marker=".", markersize=4, color=f"C{row}")
        gap = _first_gap(arrival_ms)
        if gap is not None:
            axes.axvspan(gap[0], gap[1], color=f"C{row}", alpha=0.15)
            axes.text(gap[1], min(sequence), f" {gap[1] - gap[0]:.0f} ms", va="bottom", fontsize=8)
        axes.axvline(0.0, color="grey", linestyle="--", linewidth=0.8)
        axes.set_ylabel(result.protocol, rotation=0, ha="right", va="center")
        axes.grid(True, alpha=0.3)
        if row < count - 1:
            axes.tick_params(labelbottom=False)
    if first is not None:
        first.set_title("Downlink CBR sequence numbers received around the first handover")
        figure.axes[-1].set_xlabel(
            "arrival time relative to the start of the link-layer handoff (ms)"
        )

    disruption_axes = figure.add_subplot(grid[count, 0])
    loss_axes = figure.add_subplot(grid[count, 1])
    names = [r.protocol for r in results]
    positions = list(range(len(results)))
    width = 0.4
    measured = [r.disruption_ms["mean"] or 0.0 for r in results]
    analytic = [r.analytic_disruption_ms or 0.0 for r in results]
    disruption_axes.bar([p - width / 2 for p in positions], measured, width, label="simulated")
    disruption_axes.bar([p + width / 2 for p in positions], analytic, width, label="analytic")
    disruption_axes.set_xticks(positions, names, rotation=20)
    disruption_axes.set_ylabel("mean disruption (ms)")
    disruption_axes.legend()
    disruption_axes.grid(True, axis="y", alpha=0.3)
    loss_axes.bar(positions, [r.packets_lost for r in results], color="tab:red")
    loss_axes.set_xticks(positions, names, rotation=20)
    loss_axes.set_ylabel("packets lost (both directions)")
    loss_axes.grid(True, axis="y", alpha=0.3)
    figure.savefig(path, dpi=150)
    plt.close(figure)


def _first_gap(arrival_ms: Sequence[float]) -> tuple[float, float] | None:
    """The longest silence after t = 0, if it is longer than 1.5 usual packet spacings."""
    spacings = sorted(after - before for before, after in pairwise(arrival_ms))
    if not spacings:
        return None
    usual = spacings[len(spacings) // 2]
    best: tuple[float, float] | None = None
    for before, after in pairwise(arrival_ms):
        if after >= 0 and (best is None or after - before > best[1] - best[0]):
            best = (before, after)
    if best is None or best[1] - best[0] <= 1.5 * usual:
        return None
    return best
