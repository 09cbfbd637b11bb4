"""Argument parsing shared by every ``mipshop`` command: one-line errors and checked values.

Every value is checked by the parser, before any work starts, and refused with exit status 2
and one line naming the option and the problem in the unit the option is given in (the
testbed's ``--delay home=-5`` is refused in milliseconds, as it was typed, not as the seconds
the testbed uses inside).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line on standard error (no
    usage block): ``mipshop COMMAND: error: OPTION: PROBLEM``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line and exit with status 2."""
        message = " ".join(message.split())  # argparse's messages may span lines
        if message.startswith("argument "):
            message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole(unit: str, minimum: int, maximum: int) -> Callable[[str], int]:
    """A parser of a whole number of ``unit`` (may be empty) from ``minimum`` to ``maximum``."""

    of_unit = f" of {unit}" if unit else ""
    in_unit = f" {unit}" if unit else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number{of_unit}, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be from {minimum:,} to {maximum:,}{in_unit}, got {value:,}")
        return value

    parse.__name__ = unit or "whole number"  # argparse names the type in some messages
    return parse


def number(unit: str, minimum: float, maximum: float) -> Callable[[str], float]:
    """A parser of a number of ``unit`` from ``minimum`` to ``maximum`` (finite)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number of {unit}, got {text!r}") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise argparse.ArgumentTypeError(
                f"must be from {minimum:g} to {maximum:g} {unit}, got {text}")
        return value

    parse.__name__ = unit
    return parse


def protocol_list(known: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """A parser of ``--protocols``: a comma-separated list of ``known`` names, or ``all``;
    each name at most once, in the order given."""

    def parse(text: str) -> tuple[str, ...]:
        names = [name.strip() for name in text.split(",")]
        if text.strip() == "all":
            return tuple(known)
        if not all(names):
            raise argparse.ArgumentTypeError(
                f"empty protocol name in {text!r}; give a comma-separated list of "
                f"{', '.join(known)}, or all")
        unknown = [name for name in names if name not in known]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown protocol {', '.join(unknown)}; choose from {', '.join(known)}, or all")
        repeated = sorted({name for name in names if names.count(name) > 1}, key=names.index)
        if repeated:
            raise argparse.ArgumentTypeError(f"{', '.join(repeated)} given more than once")
        return tuple(names)

    parse.__name__ = "protocol list"
    return parse


def link_delay(links: Sequence[str], maximum_ms: float) -> Callable[[str], tuple[str, float]]:
    """A parser of ``LINK=MS``: one of ``links`` and a one-way delay in milliseconds."""

    def parse(text: str) -> tuple[str, float]:
        name, equals, ms = text.partition("=")
        if not equals:
            raise argparse.ArgumentTypeError(f"expected LINK=MS (e.g. home=20), got {text!r}")
        if name not in links:
            raise argparse.ArgumentTypeError(
                f"{text}: unknown link {name!r}; choose from {', '.join(links)}")
        try:
            value = float(ms)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text}: the delay must be a number of milliseconds, got {ms!r}") from None
        if not (math.isfinite(value) and 0 <= value <= maximum_ms):
            raise argparse.ArgumentTypeError(
                f"{text}: the delay must be from 0 to {maximum_ms:g} ms, got {ms} ms")
        return name, value

    parse.__name__ = "link delay"
    return parse
