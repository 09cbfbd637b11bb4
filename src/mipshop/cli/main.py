"""Entry point of the ``mipshop`` command: argument parsing and error reporting."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..wire.errors import MalformedPacket
from .dissect import dissect
from .errors import UsageError


def _fbu_unit(text: str) -> int:
    """Parse ``--fbu-lifetime-unit`` (digest §10 item 1: 4-second units or seconds)."""
    if text not in ("1", "4"):
        raise argparse.ArgumentTypeError("must be 4 (RFC 4068/Wireshark units) or 1 (seconds)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``mipshop`` sub-command."""
    parser = argparse.ArgumentParser(
        prog="mipshop",
        description="HMIPv6 and FMIPv6 on Mobile IPv6: codecs, simulator and real-packet testbed.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dis = commands.add_parser("dissect", help="print the layers of each packet in a pcap file")
    dis.add_argument("pcap", type=Path, help="capture file (pcap, raw IPv6 / Ethernet / SLL)")
    dis.add_argument("--json", action="store_true", help="one JSON object per packet")
    dis.add_argument(
        "--fbu-lifetime-unit",
        type=_fbu_unit,
        default=4,
        metavar="{4,1}",
        help="FBU/FBack lifetime unit in seconds (default 4, as Wireshark decodes it)",
    )
    for name, help_text in (
        ("compare", "run every protocol on the built-in reference scenario and compare them"),
        ("simulate", "run every protocol on a scenario file (TOML) and compare them"),
    ):
        sub = commands.add_parser(name, help=help_text)
        if name == "simulate":
            sub.add_argument("scenario", type=Path, help="scenario file (see examples/*.toml)")
        sub.add_argument(
            "--json", type=Path, metavar="OUT", help="write scenario and results as JSON"
        )
        sub.add_argument("--plot", type=Path, metavar="OUT.png", help="write the handover figure")
        sub.add_argument("--pcap", type=Path, metavar="DIR", help="write DIR/<protocol>.pcap")
        sub.add_argument("--seed", type=_seed, default=1, help="random seed (default 1)")
        sub.add_argument(
            "--protocols",
            type=_protocols,
            default=None,
            metavar="LIST",
            help="comma-separated subset of: mipv6,hmipv6,fmipv6,fmipv6-reactive,fhmipv6",
        )
    # Real packets (mipshop.net, root): their own argument parsers; see _real_packets.
    commands.add_parser(
        "testbed", add_help=False, help="handovers on real packets in network namespaces (root)"
    )
    commands.add_parser(
        "daemon", add_help=False, help="run one node (ha, ar, mn, map, cn) on real packets (root)"
    )
    return parser


def _real_packets(command: str, rest: list[str]) -> int:
    """``mipshop testbed ...`` / ``mipshop daemon ...``: hand over to :mod:`mipshop.net`."""
    if command == "testbed":
        from ..net.experiment import main as testbed_main

        return testbed_main(rest)
    from ..net.daemon import main as daemon_main

    return daemon_main(rest)


def _seed(text: str) -> int:
    """Parse ``--seed``: a whole number from 0 to 2**63-1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**63-1, got {value}")
    return value


def _protocols(text: str) -> tuple[str, ...]:
    """Parse ``--protocols`` with the names :mod:`mipshop.sim.compare` knows."""
    from .compare import parse_protocols

    try:
        return parse_protocols(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--protocols: ")) from None


def _run_comparison(args: argparse.Namespace) -> int:
    """``mipshop compare`` / ``mipshop simulate``."""
    from rich.console import Console

    from ..sim.compare import PROTOCOLS
    from ..sim.scenario import ScenarioError, load_scenario, reference_scenario
    from .compare import run_and_report

    if args.command == "simulate":
        if not args.scenario.is_file():
            raise UsageError(f"{args.scenario}: no such file")
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            message = str(exc)
            if not message.startswith(str(args.scenario)):
                message = f"{args.scenario}: {message}"
            raise UsageError(message) from None
    else:
        scenario = reference_scenario()
    run_and_report(
        scenario,
        seed=args.seed,
        protocols=args.protocols or PROTOCOLS,
        json_out=args.json,
        plot_out=args.plot,
        pcap_dir=args.pcap,
        # Piped output is not cut to rich's 80-column default.
        console=Console() if sys.stdout.isatty() else Console(width=140),
        progress_console=Console(stderr=True),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mipshop``; returns the process exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in ("testbed", "daemon"):
        return _real_packets(words[0], words[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "dissect":
            if not args.pcap.is_file():
                raise UsageError(f"{args.pcap}: no such file")
            try:
                failures = dissect(
                    args.pcap,
                    sys.stdout,
                    as_json=args.json,
                    fbu_lifetime_unit=args.fbu_lifetime_unit,
                )
            except MalformedPacket as exc:  # the file itself is not a readable pcap
                raise UsageError(f"{args.pcap}: not a usable pcap file: {exc}") from None
            except OSError as exc:
                raise UsageError(f"{args.pcap}: {exc.strerror}") from None
            return 1 if failures else 0
        if args.command in ("compare", "simulate"):
            return _run_comparison(args)
    except (UsageError, MalformedPacket) as exc:
        print(f"mipshop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:  # an output file that cannot be written, a full disk, ...
        print(
            f"mipshop {args.command}: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print(f"mipshop {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
