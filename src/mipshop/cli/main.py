"""Entry point of the ``mipshop`` command: argument parsing, checks and error reporting.

One rule for every command: every value, input file and output is checked before any long
work starts (:mod:`.args`, :mod:`.files`); a problem is one line on standard error naming the
option and what is wrong, and exit status 2, never a traceback. Output that a reader stops
reading (``mipshop dissect F | head``) ends the command quietly with status 0, as Unix tools
do; Ctrl-C ends it with status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..sim.compare import PROTOCOLS
from ..wire.errors import MalformedPacket
from .args import Parser, link_delay, number, protocol_list, whole
from .errors import UsageError
from .files import (
    check_distinct,
    check_input_file,
    check_output_directory,
    check_output_file,
    refused_input,
)

if TYPE_CHECKING:
    from ..sim.scenario import Scenario

#: The testbed's core router links a ``--delay`` can slow down.
DELAY_LINKS = ("cn", "home", "ar1", "ar2", "map")
#: What each daemon role is (``mipshop daemon ROLE``), in :data:`mipshop.net.config.ROLES`.
DAEMON_ROLES = {
    "ha": "home agent (RFC 6275)",
    "map": "HMIPv6 mobility anchor point (RFC 5380)",
    "ar": "access router, with the FMIPv6 PAR/NAR roles (RFC 5568)",
    "mn": "mobile node",
    "cn": "correspondent node, with route optimization (RFC 6275 §9)",
}


def _fbu_unit(text: str) -> int:
    """Parse ``--fbu-lifetime-unit`` (docs/decisions.md, item 1: 4-second units or seconds)."""
    if text not in ("1", "4"):
        raise argparse.ArgumentTypeError(
            f"must be 4 (RFC 4068/Wireshark 4-second units) or 1 (seconds), got {text!r}")
    return int(text)


def build_parser() -> Parser:
    """The argument parser for every ``mipshop`` command."""
    parser = Parser(
        prog="mipshop",
        description="HMIPv6 (RFC 5380) and FMIPv6 (RFC 5568) on Mobile IPv6 (RFC 6275): "
                    "codecs, simulator and real-packet testbed.",
    )
    parser.add_argument("--version", action="version", version=f"mipshop {__version__}",
                        help="print mipshop's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)

    dis = commands.add_parser(
        "dissect", help="print the layers of each packet of a capture (pcap or pcapng)",
        description="Print the layers of each packet of a capture file (pcap or pcapng; raw "
                    "IPv6, raw IP, Ethernet or Linux cooked capture), as it is read.")
    dis.add_argument("capture", type=Path, metavar="CAPTURE",
                     help="capture file: pcap or pcapng (Wireshark's default)")
    dis.add_argument("--json", action="store_true", help="print one JSON object per packet")
    dis.add_argument(
        "--fbu-lifetime-unit", type=_fbu_unit, default=4, metavar="{4,1}",
        help="FBU/FBack lifetime unit in seconds (default 4, as Wireshark decodes it; 1: the "
             "literal RFC 5568 text)")

    protocols = protocol_list(PROTOCOLS)
    for name, summary in (
        ("compare", "run every protocol on the built-in reference scenario and compare them"),
        ("simulate", "run every protocol on a scenario file (TOML) and compare them"),
    ):
        sub = commands.add_parser(name, help=summary, description=summary[0].upper()
                                  + summary[1:] + ". Progress goes to standard error.")
        if name == "simulate":
            sub.add_argument("scenario", type=Path, metavar="SCENARIO",
                             help="scenario file (TOML; see examples/*.toml)")
        sub.add_argument("--protocols", type=protocols, default=PROTOCOLS, metavar="LIST",
                         help=f"comma-separated subset of {','.join(PROTOCOLS)}, or all "
                              "(default all)")
        sub.add_argument("--seed", type=whole("", 0, 2**63 - 1), default=1, metavar="N",
                         help="random seed, 0 to 2**63-1 (default 1); the same seed gives the "
                              "same results, byte for byte")
        sub.add_argument("--json", type=Path, metavar="OUT",
                         help="write the scenario and the results as JSON")
        sub.add_argument("--plot", type=Path, metavar="OUT.png",
                         help="write the handover figure (format from the suffix: .png, .pdf, "
                              ".svg ...)")
        sub.add_argument("--pcap", type=Path, metavar="DIR",
                         help="write DIR/<protocol>.pcapng, one interface per link (DIR must "
                              "exist)")

    bed = commands.add_parser(
        "testbed", help="handovers on real packets in network namespaces (root)",
        description="Build the reference topology in Linux network namespaces, run the "
                    "protocol daemons on real packets and hand the mobile node over between "
                    "two access routers; one result row per protocol, printed (and saved with "
                    "--json) as soon as it is measured. Needs root. Progress goes to standard "
                    "error.")
    bed.add_argument("--protocols", "--protocol", dest="protocols", type=protocols,
                     default=("mipv6",), metavar="LIST",
                     help=f"comma-separated subset of {','.join(PROTOCOLS)}, or all "
                          "(default mipv6; --protocol is the same option)")
    bed.add_argument("--handovers", type=whole("handovers", 1, 1000), default=3, metavar="N",
                     help="handovers per protocol, 1 to 1000 (default 3)")
    bed.add_argument("--link-down", type=number("seconds", 0, 60), default=0.1,
                     metavar="SECONDS",
                     help="link-layer outage of each handover, in seconds (default 0.1)")
    bed.add_argument("--tcp-bytes", type=whole("bytes", 0, 10**10), default=0, metavar="N",
                     help="also download N bytes over TCP from the correspondent, its sender "
                          "paced to span the handovers (an integrity check, not a throughput "
                          "measure; default 0: none)")
    bed.add_argument("--route-optimization", action="store_true",
                     help="the correspondent runs `mipshop daemon cn` and the mobile node "
                          "optimises its route to it (return routability, RFC 6275 §5.2); the "
                          "rows say which path each datagram took (tunnel or ro)")
    bed.add_argument("--json", type=Path, metavar="OUT",
                     help="write the rows as JSON, rewritten after each protocol")
    bed.add_argument("--pcap", type=Path, metavar="DIR",
                     help="keep the capture at the mobile node's port as "
                          "DIR/<protocol>.pcapng (DIR must exist)")
    bed.add_argument("--max-ra-delay", type=number("milliseconds", 0, 1000), default=500.0,
                     metavar="MS",
                     help="longest random wait of a Router Advertisement answering a Router "
                          "Solicitation, in milliseconds (RFC 4861 MAX_RA_DELAY_TIME: "
                          "default 500; 0 answers at once, not RFC 4861)")
    bed.add_argument("--delay", type=link_delay(DELAY_LINKS, 10_000), action="append",
                     default=[], metavar="LINK=MS",
                     help="one-way delay in milliseconds of a core router link: "
                          f"{', '.join(DELAY_LINKS)} (a userspace delay element; repeatable)")
    bed.add_argument("--restart", choices=("ha", "map"), default=None,
                     help="after the handovers, kill this daemon with SIGKILL in the middle "
                          "of the UDP stream and start it again; the row's restart object "
                          "gives the bindings lost and the downlink outage (map: hmipv6 and "
                          "fhmipv6 only)")

    swp = commands.add_parser(
        "sweep", help="run a scenario over a grid of parameters on Dask; table and plots",
        description="Run a scenario over a grid of parameters (a sweep file: TOML, see "
                    "examples/sweeps/), every run a Dask task on a local cluster (one worker "
                    "per core) or on --scheduler; write NAME.parquet, NAME.csv and "
                    "NAME-<parameter>.png in --out. Runs already in NAME.runs.jsonl there are "
                    "not run again. Progress goes to standard error.")
    swp.add_argument("sweep", type=Path, metavar="SWEEP", help="sweep file (TOML)")
    swp.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="existing directory for the table, plots and journal (default .)")
    swp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="address of a running Dask scheduler (tcp://host:8786); default: a "
                          "local cluster")
    swp.add_argument("--workers", type=whole("workers", 1, 256), default=None, metavar="N",
                     help="worker processes of the local cluster, 1 to 256 (default: one per "
                          "core)")
    swp.add_argument("--no-plots", action="store_true", help="write the table only")

    daemon = commands.add_parser(
        "daemon", help=f"run one node on real packets ({', '.join(DAEMON_ROLES)}; root)",
        description="Run one node on real packets in the current network namespace: "
                    + "; ".join(f"{role}: {what}" for role, what in DAEMON_ROLES.items())
                    + ". Prints a JSON 'ready' line, then serves JSON-lines commands on its "
                      "control socket.")
    daemon.add_argument("role", choices=tuple(DAEMON_ROLES), metavar="ROLE",
                        help="; ".join(f"{role}: {what}" for role, what in DAEMON_ROLES.items()))
    daemon.add_argument("--config", type=Path, required=True, metavar="FILE.toml",
                        help="the node's configuration (TOML)")
    return parser


def _check(args: argparse.Namespace) -> None:
    """The checks that need more than one value, and every input and output, before work."""
    command = args.command
    if command == "dissect":
        check_input_file(args.capture, "capture")
    elif command == "simulate":
        check_input_file(args.scenario, "scenario")
    elif command == "daemon":
        check_input_file(args.config, "--config")
    elif command == "sweep":
        from .sweep import load

        check_input_file(args.sweep, "sweep")
        args.loaded = load(args.sweep)
        check_output_directory(args.out, "--out")
        if args.scheduler is not None and args.workers is not None:
            raise UsageError("--workers: the workers of --scheduler are the cluster's own")
    if command in ("compare", "simulate", "testbed"):
        check_output_file(args.json, "--json")
        check_output_directory(args.pcap, "--pcap")
    if command in ("compare", "simulate"):
        if args.plot is not None:
            from .plot import supported_formats

            check_output_file(args.plot, "--plot", supported_formats())
        check_distinct({"--json": args.json, "--plot": args.plot})
    if command == "testbed":
        links = [name for name, _ms in args.delay]
        repeated = sorted({name for name in links if links.count(name) > 1})
        if repeated:
            raise UsageError(f"--delay: {', '.join(repeated)} given more than once")
        if args.restart == "map":
            without = [p for p in args.protocols if p not in ("hmipv6", "fhmipv6")]
            if without:
                raise UsageError(f"--restart map: {', '.join(without)} run(s) no MAP (use "
                                 "--protocols hmipv6,fhmipv6)")


def _dispatch(args: argparse.Namespace) -> int:
    from rich.console import Console

    class Output(Console):
        """Standard output: a reader that goes away is :func:`main`'s quiet end (rich's own
        reaction is exit status 1)."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    # Piped output is not cut to rich's 80-column default.
    console = Output(highlight=False) if sys.stdout.isatty() else Output(width=140,
                                                                         highlight=False)
    progress_console = Console(stderr=True, highlight=False)
    command = args.command
    if command == "dissect":
        from .dissect import dissect

        try:
            failures = dissect(args.capture, sys.stdout, as_json=args.json,
                               fbu_lifetime_unit=args.fbu_lifetime_unit)
        except MalformedPacket as exc:  # the file itself: not a capture, corrupt, cut short
            sys.stdout.flush()  # the packets before the problem come first
            raise UsageError(f"{args.capture}: {exc.reason} (byte {exc.offset} of the file)"
                             ) from None
        return 1 if failures else 0
    if command in ("compare", "simulate"):
        from ..sim.scenario import reference_scenario
        from .compare import run_and_report

        scenario = (_load_scenario(args.scenario) if command == "simulate"
                    else reference_scenario())
        run_and_report(scenario, command=command, seed=args.seed, protocols=args.protocols,
                       json_out=args.json, plot_out=args.plot, pcap_dir=args.pcap,
                       console=console, progress_console=progress_console)
        return 0
    if command == "testbed":
        from ..net.errors import NetError, require_root, require_tun
        from .testbed import run_testbed

        try:
            require_root()
            require_tun()
        except NetError as exc:
            raise UsageError(str(exc).removeprefix("mipshop: ")) from None
        return run_testbed(args, console, progress_console)
    if command == "sweep":
        from .sweep import run_sweep

        return run_sweep(args, progress_console)
    from ..net.daemon import serve

    return serve(args.role, str(args.config))


def _load_scenario(path: Path) -> Scenario:
    from ..sim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise refused_input("scenario", path, exc) from None


def _quiet_stdout() -> None:
    """Standard output's reader has gone: send what is left to /dev/null, so that Python's
    final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mipshop``; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check(args)
        return _dispatch(args)
    except UsageError as exc:
        print(f"mipshop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print(f"mipshop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
