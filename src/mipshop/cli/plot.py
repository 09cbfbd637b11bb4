"""The classic handover figure: packet sequence number against arrival time, and bars.

Top: for each protocol, the downlink CBR packets mobile node 0 received around its first
handover, sequence number against arrival time (relative to the start of the link-layer
handoff). A flat step is the disruption; missing sequence numbers are losses; a burst of packets
arriving back to back is a buffer being flushed. The shaded band is the *measured* handover
disruption of that handover (the handover report's last packet on the old link to the first on
the new one), not merely the longest silence: a radio loss elsewhere is not shaded.

Bottom left: mean disruption per protocol, on a logarithmic scale so that 20 ms and 1,200 ms can
both be read (each bar is also labelled with its value): the downlink's simulated and analytic,
and the uplink's simulated (the longest silence the correspondent hears). Bottom right:
packets lost over the whole run per protocol, downlink (correspondent to mobile node) and uplink
(mobile node to correspondent) side by side.

:func:`plot_data` computes everything that is drawn (tested); :func:`plot_results` only draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..sim.compare import ProtocolResult


@dataclass(frozen=True, kw_only=True)
class Strip:
    """One protocol's sequence-number strip: arrivals in ms from the first handoff's start,
    and the measured disruption band of that handover (ms, same origin), if it completed."""

    protocol: str
    arrival_ms: tuple[float, ...]
    sequence: tuple[int, ...]
    disruption_ms: tuple[float, float] | None


@dataclass(frozen=True, kw_only=True)
class Bars:
    """The bar panels: per protocol, in the order of :attr:`protocols`."""

    protocols: tuple[str, ...]
    disruption_simulated_ms: tuple[float | None, ...]
    disruption_analytic_ms: tuple[float | None, ...]
    uplink_disruption_ms: tuple[float | None, ...]
    downlink_lost: tuple[int, ...]
    uplink_lost: tuple[int | None, ...]


@dataclass(frozen=True, kw_only=True)
class PlotData:
    """Everything the figure shows."""

    strips: tuple[Strip, ...]
    bars: Bars


def plot_data(results: Sequence[ProtocolResult]) -> PlotData:
    """What :func:`plot_results` draws for ``results``."""
    strips = []
    for result in results:
        origin = result.handover_times[0] if result.handover_times else 0.0
        window = result.disruption_windows[0] if result.disruption_windows else None
        strips.append(Strip(
            protocol=result.protocol,
            arrival_ms=tuple((arrived - origin) * 1000 for _seq, _sent, arrived in result.trace),
            sequence=tuple(seq for seq, _sent, _arrived in result.trace),
            disruption_ms=None if window is None else (
                (window[0] - origin) * 1000, (window[1] - origin) * 1000),
        ))
    bars = Bars(
        protocols=tuple(r.protocol for r in results),
        disruption_simulated_ms=tuple(r.disruption_ms["mean"] for r in results),
        disruption_analytic_ms=tuple(r.analytic_disruption_ms for r in results),
        uplink_disruption_ms=tuple((r.uplink.get("disruption_ms") or {}).get("mean")
                                   for r in results),
        downlink_lost=tuple(r.packets_lost for r in results),
        # No uplink flow in the scenario: nothing to show (not zero).
        uplink_lost=tuple(r.uplink.get("lost") if r.uplink.get("sent") else None
                          for r in results),
    )
    return PlotData(strips=tuple(strips), bars=bars)


def plot_results(results: Sequence[ProtocolResult], path: Path, *, title: str,
                 fmt: str | None = None) -> None:
    """Draw the figure for ``results`` into ``path`` as ``fmt`` (by default the suffix of
    ``path``: the command line checks it against :func:`supported_formats` before the run)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to a file
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    data = plot_data(results)
    count = max(len(data.strips), 1)
    figure = plt.figure(figsize=(11, 3 + 1.3 * count + 3), layout="constrained")
    grid = figure.add_gridspec(count + 1, 2, height_ratios=(*([1.0] * count), 2.2))
    figure.suptitle(title)
    first = None
    for row, strip in enumerate(data.strips):
        axes = figure.add_subplot(grid[row, :], sharex=first)
        first = first or axes
        axes.plot(strip.arrival_ms, strip.sequence, linestyle="none", marker=".", markersize=4,
                  color=f"C{row}")
        if strip.disruption_ms is not None:
            start, end = strip.disruption_ms
            axes.axvspan(start, end, color=f"C{row}", alpha=0.15)
            axes.text(end, min(strip.sequence, default=0), f" disruption {end - start:.0f} ms",
                      va="bottom", fontsize=8)
        axes.axvline(0.0, color="grey", linestyle="--", linewidth=0.8)
        axes.set_ylabel(strip.protocol, rotation=0, ha="right", va="center")
        axes.grid(True, alpha=0.3)
        if row < count - 1:
            axes.tick_params(labelbottom=False)
    if first is not None:
        first.set_title("Downlink CBR sequence numbers received around the first handover "
                        "(shaded: the measured disruption)")
        figure.axes[-1].set_xlabel(
            "arrival time relative to the start of the link-layer handoff (ms)")

    bars = data.bars
    positions = list(range(len(bars.protocols)))
    width = 0.4
    disruption_axes = figure.add_subplot(grid[count, 0])
    third = 0.8 / 3
    for offset, values, label in (
        (-third, bars.disruption_simulated_ms, "downlink, simulated"),
        (0.0, bars.disruption_analytic_ms, "downlink, analytic"),
        (third, bars.uplink_disruption_ms, "uplink, simulated"),
    ):
        drawn = disruption_axes.bar([p + offset for p in positions],
                                    [v if v else float("nan") for v in values], third,
                                    label=label)
        disruption_axes.bar_label(drawn, labels=[_label(v) for v in values], fontsize=7)
    disruption_axes.set_yscale("log")
    # From 1 ms, so that a 20 ms bar stands as clearly as a 1,200 ms one; plain tick labels.
    disruption_axes.set_ylim(bottom=1.0)
    disruption_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    disruption_axes.set_xticks(positions, bars.protocols, rotation=20)
    disruption_axes.set_ylabel("mean disruption (ms, log scale)")
    disruption_axes.legend()
    disruption_axes.grid(True, axis="y", which="both", alpha=0.3)

    loss_axes = figure.add_subplot(grid[count, 1])
    for offset, values, label, colour in (
        (-width / 2, bars.downlink_lost, "downlink (CN to MN)", "tab:red"),
        (width / 2, bars.uplink_lost, "uplink (MN to CN)", "tab:orange"),
    ):
        drawn = loss_axes.bar([p + offset for p in positions],
                              [float("nan") if v is None else v for v in values], width,
                              label=label, color=colour)
        loss_axes.bar_label(drawn, labels=["-" if v is None else str(v) for v in values],
                            fontsize=7)
    loss_axes.set_xticks(positions, bars.protocols, rotation=20)
    loss_axes.set_ylabel("packets lost over the run")
    loss_axes.legend()
    loss_axes.grid(True, axis="y", alpha=0.3)
    figure.savefig(path, dpi=150, format=fmt or path.suffix.lstrip(".").lower())
    plt.close(figure)


def supported_formats() -> tuple[str, ...]:
    """The file suffixes (without the dot) matplotlib can write a figure as."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def _label(value: float | None) -> str:
    return "-" if not value else f"{value:.0f}"
