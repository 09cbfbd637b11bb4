"""``mipshop testbed``: the protocols on real packets, one row per protocol.

:func:`mipshop.net.experiment.run_experiment` runs each protocol in its own testbed. Each row is
printed, and ``--json`` rewritten (atomically) with every row so far, as soon as its protocol
finishes, so that an interruption (Ctrl-C, SIGTERM) keeps what was measured; the testbed itself
is removed whatever happens. ``--pcap DIR`` keeps the capture at the mobile node's switch port
as ``DIR/<protocol>.pcapng``, renamed into place only once that protocol has finished.
Progress (each protocol, each handover) goes to standard error.
"""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path
from typing import Any

from rich.console import Console

from ..net.errors import NetError
from ..net.experiment import run_experiment
from .files import replace_atomically, write_text_atomically
from .progress import RunProgress


def run_testbed(args: argparse.Namespace, console: Console, progress_console: Console) -> int:
    """Run ``mipshop testbed`` with parsed and checked ``args``; returns the exit status."""

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through the testbed, which removes everything

    signal.signal(signal.SIGTERM, _terminate)
    delays = {name: ms / 1000 for name, ms in args.delay}
    rows: list[dict[str, Any]] = []
    with RunProgress(progress_console, "mipshop testbed") as progress:
        current = None
        try:
            for protocol in args.protocols:
                current = protocol
                progress.start(protocol, args.handovers, "starting")

                def report(done: int, what: str, protocol: str = protocol) -> None:
                    progress.update(protocol, done, what)

                options = {"protocol": protocol, "handovers": args.handovers,
                           "link_down": args.link_down, "tcp_bytes": args.tcp_bytes,
                           "delays": delays, "progress": report, "restart": args.restart,
                           "route_optimization": args.route_optimization,
                           "max_ra_delay": args.max_ra_delay / 1000}
                if args.pcap is None:
                    row = run_experiment(**options)
                else:
                    with replace_atomically(args.pcap / f"{protocol}.pcapng",
                                            "--pcap") as partial:
                        row = run_experiment(**options, pcap=str(partial))
                rows.append(row)
                current = None
                progress.finish(protocol, "measured")
                if args.json is not None:  # saved first: a row printed is a row kept
                    save(args.json, rows)
                console.print(row_line(row), highlight=False, markup=False, soft_wrap=True)
        except NetError as exc:
            message = str(exc).removeprefix("mipshop: ")
            progress_console.print(f"mipshop testbed: error: {message}", highlight=False,
                                   markup=False, soft_wrap=True)
            return 2
        except KeyboardInterrupt:
            kept = f"; {len(rows)} row(s) kept in {args.json}" if args.json and rows else ""
            progress_console.print(
                f"mipshop testbed: interrupted during {current or 'the run'}; the testbed was "
                f"removed{kept}", highlight=False, markup=False, soft_wrap=True)
            return 130
    return 0


def save(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the rows measured so far as ``{"source": "testbed", "results": rows}``."""
    text = json.dumps({"source": "testbed", "results": rows}, indent=2) + "\n"
    write_text_atomically(path, text, "--json")


def row_line(row: dict[str, Any]) -> str:
    """One protocol's row as one line of ``name=value`` fields."""
    d, runs = row["disruption_ms"], row["loss_run_ms"]
    signalling = row["signalling"]
    line = (f"{row['protocol']:15} handovers={row['handovers']} disruption mean={_ms(d['mean'])}"
            f" max={_ms(d['max'])} loss run mean={_ms(runs['mean'])} downlink lost="
            f"{row['packets_lost']}/{row['packets_sent']} buffered={row['packets_buffered']}"
            f" signalling link crossings/handover={signalling['messages_per_handover']:.1f}"
            f" registration={_ms(row['binding_update_latency_ms'])}")
    restart = row.get("restart")
    if restart:
        line += (f" restart {restart['node']}: bindings lost={restart['bindings_lost']}/"
                 f"{restart['bindings_before']} outage={_ms(restart['outage_ms'])} "
                 f"(daemon back in {_ms(restart['daemon_restart_ms'])}, downlink lost "
                 f"{restart['packets_lost']})")
    drops = row.get("buffer_drops")
    if drops:
        # By transport (docs/decisions.md D28): which flows the NARs' buffers dropped.
        kinds: dict[str, int] = {}
        for flow, count in drops.items():
            proto = flow.rsplit(" ", 1)[-1]
            name = {"6": "tcp", "17": "udp"}.get(proto, f"proto {proto}")
            kinds[name] = kinds.get(name, 0) + count
        line += " buffer dropped " + ", ".join(f"{kinds[k]} {k}" for k in sorted(kinds))
    tcp = row.get("tcp")
    if tcp:
        verdict = "intact" if tcp["sha256_equal"] and not tcp["error"] else (
            f"FAILED ({tcp['error'] or 'SHA-256 differs'})")
        line += (f" tcp={tcp['bytes']:,} bytes {verdict}, sender paced at "
                 f"{tcp['paced_bytes_per_s'] / 1000:.0f} kB/s")
    paths = row.get("paths")
    if paths:
        down, up = paths["downlink"], paths["uplink"]
        line += (f" paths ro/tunnel down={down['ro']}/{down['tunnel']}"
                 f" up={up['ro']}/{up['tunnel']}")
    return line


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
