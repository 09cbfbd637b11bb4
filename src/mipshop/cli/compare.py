"""``mipshop compare`` and ``mipshop simulate``: run the protocols side by side and report.

Both commands run :func:`mipshop.sim.compare.run_protocol` for each protocol on a scenario (the
built-in reference one, or a TOML file) and print one table row per protocol: measured
disruption and its analytic expectation, loss, buffering and signalling per handover.
``--json`` writes the full scenario and results (same seed, same bytes), ``--plot`` the classic
sequence-number-against-time figure with bars of disruption and loss (:mod:`.plot`), ``--pcap
DIR`` one pcapng per protocol with one interface per link. Progress goes to standard error
(:mod:`.progress`); every output is checked before the run and written atomically
(:mod:`.files`).

The signalling columns count **link crossings**: every transmission of a Mobility Header or
ICMPv6 message on every link, per handover, as :mod:`mipshop.sim.compare` measures it (a BU that
crosses four links to the home agent counts four), not messages sent by the mobile node.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..sim.compare import ProtocolResult, results_to_dict, run_protocol
from ..sim.scenario import Scenario
from .files import replace_atomically, write_text_atomically
from .progress import RunProgress


def run_and_report(
    scenario: Scenario,
    *,
    command: str,
    seed: int,
    protocols: Sequence[str],
    json_out: Path | None,
    plot_out: Path | None,
    pcap_dir: Path | None,
    console: Console,
    progress_console: Console,
) -> list[ProtocolResult]:
    """Run every protocol on ``scenario``, print the tables and write the requested outputs
    (already checked by the caller: :func:`mipshop.cli.main.main`)."""
    results: list[ProtocolResult] = []
    with RunProgress(progress_console, f"mipshop {command}") as progress:
        for protocol in protocols:
            progress.start(protocol, 1.0, "simulating")

            def report(fraction: float, protocol: str = protocol) -> None:
                progress.update(protocol, fraction)

            if pcap_dir is None:
                result = run_protocol(scenario, protocol, seed=seed, progress=report)
            else:
                with replace_atomically(pcap_dir / f"{protocol}.pcapng", "--pcap") as partial:
                    result = run_protocol(scenario, protocol, seed=seed, capture=partial,
                                          progress=report)
            results.append(result)
            mean = result.disruption_ms["mean"]
            progress.finish(protocol, f"{result.handovers} handovers, disruption mean "
                                      f"{_ms(mean)} ms")
    console.print(results_table(scenario, results, seed=seed, command=command))
    console.print(phases_table(results))
    if json_out is not None:
        document = results_to_dict(scenario, results, seed=seed)
        write_text_atomically(json_out, json.dumps(document, indent=2, sort_keys=True) + "\n",
                              "--json")
        console.print(f"wrote {json_out}")
    if plot_out is not None:
        from .plot import plot_results  # matplotlib is imported only when a plot is asked for

        with replace_atomically(plot_out, "--plot") as partial:
            plot_results(results, partial, title=f"{scenario.name} (seed {seed})",
                         fmt=plot_out.suffix.lstrip(".").lower())
        console.print(f"wrote {plot_out}")
    if pcap_dir is not None:
        console.print(f"wrote {len(results)} captures to {pcap_dir}/<protocol>.pcapng "
                      "(one interface per link)")
    return results


def results_table(scenario: Scenario, results: Sequence[ProtocolResult], *, seed: int,
                  command: str = "compare") -> Table:
    """The comparison as a rich table, one row per protocol (measured, then analytic): the
    downlink's disruption and loss, then the uplink's."""
    table = Table(title=f"mipshop {command}: {scenario.name} (seed {seed})",
                  title_justify="left")
    columns: list[tuple[str, Callable[[ProtocolResult], Any]]] = [
        ("protocol", lambda r: r.protocol),
        ("HOs", lambda r: r.handovers),
        ("disruption ms\nmean", lambda r: _ms(r.disruption_ms["mean"])),
        ("\np95", lambda r: _ms(r.disruption_ms["p95"])),
        ("\nanalytic", lambda r: _ms(r.analytic_disruption_ms)),
        ("downlink\nlost", lambda r: r.packets_lost),
        ("\nanalytic", lambda r: _ms(r.analytic_packets_lost)),
        ("uplink\nlost", lambda r: r.uplink.get("lost", "-") if r.uplink.get("sent") else "-"),
        ("up disr.\nmean ms", lambda r: _ms((r.uplink.get("disruption_ms") or {}).get("mean"))),
        ("buf-\nfered", lambda r: r.packets_buffered),
        ("signalling/HO\nlink crossings", lambda r: _ms(r.signalling["messages_per_handover"])),
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
