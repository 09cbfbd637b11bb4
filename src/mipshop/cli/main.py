"""Entry point of the ``mipshop`` command: argument parsing and error reporting."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..wire.errors import MalformedPacket
from .dissect import dissect


class UsageError(Exception):
    """A command-line value or input file that mipshop cannot use; printed without a traceback."""


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mipshop``; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "dissect":
            if not args.pcap.is_file():
                raise UsageError(f"{args.pcap}: no such file")
            failures = dissect(
                args.pcap,
                sys.stdout,
                as_json=args.json,
                fbu_lifetime_unit=args.fbu_lifetime_unit,
            )
            return 1 if failures else 0
    except (UsageError, MalformedPacket) as exc:
        print(f"mipshop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
