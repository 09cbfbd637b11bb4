"""``mipshop compare`` and ``mipshop simulate``: run the protocols side by side and report.

Both commands run :func:`mipshop.sim.compare.compare` on a scenario (the built-in reference one,
or a TOML file) and print one table row per protocol: measured disruption and its analytic
expectation, loss, buffering and signalling per handover. ``--json`` writes the full scenario
and results (same seed, same bytes), ``--plot`` the classic sequence-number-against-time figure
with bars of disruption and loss, ``--pcap DIR`` one capture per protocol.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..sim.compare import PROTOCOLS, ProtocolResult, compare, results_to_dict
from ..sim.scenario import Scenario
from .errors import UsageError


def parse_protocols(text: str) -> tuple[str, ...]:
    """Parse ``--protocols mipv6,fmipv6``; names must be among :data:`PROTOCOLS`."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in PROTOCOLS]
    if unknown or not names:
        raise UsageError(
            f"--protocols: unknown protocol {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(PROTOCOLS)}"
        )
    return names


def check_output_file(path: Path | None, option: str) -> None:
    """Fail early, before a long run, if ``path`` cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: directory {path.parent} does not exist")


def prepare_capture_dir(path: Path | None) -> None:
    """Create the ``--pcap`` directory (and its parents) if needed."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"--pcap {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--pcap {path}: {exc.strerror}") from None


def run_and_report(
    scenario: Scenario,
    *,
    seed: int,
    protocols: Sequence[str],
    json_out: Path | None,
    plot_out: Path | None,
    pcap_dir: Path | None,
    console: Console,
    progress_console: Console,
) -> list[ProtocolResult]:
    """Run every protocol on ``scenario``, print the table and write the requested outputs."""
    check_output_file(json_out, "--json")
    check_output_file(plot_out, "--plot")
    prepare_capture_dir(pcap_dir)
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
    ) as bar:
        tasks = {name: bar.add_task(name, total=1.0) for name in protocols}

        def progress(protocol: str, fraction: float) -> None:
            bar.update(tasks[protocol], completed=fraction)

        results = compare(
            scenario,
            seed=seed,
            protocols=tuple(protocols),
            capture_dir=pcap_dir,
            progress=progress,
        )
    console.print(results_table(scenario, results, seed=seed))
    console.print(phases_table(results))
    if json_out is not None:
        document = results_to_dict(scenario, results, seed=seed)
        json_out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        console.print(f"wrote {json_out}")
    if plot_out is not None:
        from .plot import plot_results  # matplotlib is imported only when a plot is asked for

        plot_results(results, plot_out, title=f"{scenario.name} (seed {seed})")
        console.print(f"wrote {plot_out}")
    if pcap_dir is not None:
        console.print(f"wrote {len(results)} captures to {pcap_dir}/<protocol>.pcap")
    return results


def results_table(scenario: Scenario, results: Sequence[ProtocolResult], *, seed: int) -> Table:
    """The comparison as a rich table, one row per protocol (measured, then analytic)."""
    table = Table(title=f"mipshop compare: {scenario.name} (seed {seed})", title_justify="left")
    columns: list[tuple[str, Callable[[ProtocolResult], Any]]] = [
        ("protocol", lambda r: r.protocol),
        ("HOs", lambda r: r.handovers),
        ("disruption ms\nmean", lambda r: _ms(r.disruption_ms["mean"])),
        ("\np95", lambda r: _ms(r.disruption_ms["p95"])),
        ("\nanalytic", lambda r: _ms(r.analytic_disruption_ms)),
        ("lost\n", lambda r: r.packets_lost),
        ("\nanalytic", lambda r: _ms(r.analytic_packets_lost)),
        ("buf-\nfered", lambda r: r.packets_buffered),
        ("signalling/HO\nmsgs", lambda r: _ms(r.signalling["messages_per_handover"])),
        ("\nbytes", lambda r: _ms(r.signalling["bytes_per_handover"])),
    ]
    for index, (header, _) in enumerate(columns):
        table.add_column(header, justify="left" if index == 0 else "right", no_wrap=True)
    for result in results:
        table.add_row(*(str(cell(result)) for _, cell in columns))
    return table


def phases_table(results: Sequence[ProtocolResult]) -> Table:
    """Mean duration of each handover phase per protocol (ms)."""
    phases: list[str] = []
    for result in results:
        phases.extend(name for name in result.phases_ms if name not in phases)
    table = Table(title="handover phases, mean ms", title_justify="left")
    table.add_column("protocol", no_wrap=True)
    for name in phases:
        table.add_column(name.replace("_", " "), justify="right")
    for result in results:
        table.add_row(result.protocol, *(_ms(result.phases_ms.get(name)) for name in phases))
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
