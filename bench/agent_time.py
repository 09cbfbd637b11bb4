"""Where the home agent's registration time goes, against the codec floor (sampled, not counted).

``bench/agent.py`` compares the home agent's rate with the bare codec's on the same packets;
instruction counts (cachegrind) say how much code each side runs. This script says where the
*time* goes, which the instruction counts do not: it runs the home agent's and the codec's
timed loops of ``bench/agent.py`` (``home_agent_workload``, ``_run_agent``, ``_run_codec``),
each in its own process under the sampling profiler py-spy, and attributes every sample taken
inside the timed loop to the Python line it was in (time spent in C, HMAC or ``struct``,
counts against the line that called it). Samples of the ``gc.collect()`` that precedes each
timed pass are left out.

Every share is printed in **codec units**: one unit is the codec floor's time for a message
(decode the BU, encode the BA), so the codec's column adds up to 1 and the agent's to
``codec time / agent time`` inverted (about 2.7 when the ratio is 0.37). The ratio is the one
measured by the same two processes (the CPU time of their best pass, as ``bench/agent.py
--cpu-time`` measures it). The target of ``bench/agent.py`` (the agent at half the floor's
rate) asks the agent's column to add up to 2 or less.

Printed: the time of the codec's own functions (those the codec's loop is sampled in, but
the loops and the generated constructors, which the agent calls for its own objects too) on
each side, then the column of each layer (``wire``, each ``protocol`` subpackage, the constructors
generated at import, which py-spy shows as ``<string>``: the dataclasses' ``__init__`` and
the fast constructors of ``wire.mh_options`` and ``wire.nd_options``; the standard library;
the bench's own loop), then the functions whose time differs most between the two sides.

Then, without the profiler, **the floor in company**: the codec's loop alone, a fixed piece of
unrelated pure-Python work alone (``fractions``, ``textwrap``, ``ipaddress``: about as long as
the codec's message), and both in one loop, message by message; best CPU time of ``--passes``
passes each, in µs a message. When ``both`` exceeds ``codec + other``, the codec's share runs
slower in the company of other code (the processor's caches and branch predictors are shared
by everything in the loop) than alone in its tight loop, which is how the floor is measured:
a gap between the ratio of instruction counts and the ratio of times.

Needs py-spy (``pip install py-spy``; it reads the child's memory, so it needs ptrace rights
over its own child, which root and the default Yama setting give).

Usage: ``python bench/agent_time.py [--json] [--mobile-nodes N] [--passes P] [--rate HZ]
[--top K]``.
"""

from __future__ import annotations

import argparse
import collections
import fractions
import gc
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from ipaddress import IPv6Network
from pathlib import Path
from types import ModuleType

from mipshop.cli.args import whole

HERE = Path(__file__).resolve().parent

#: A py-spy frame: ``function (path:line)``.
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*):(?P<line>\d+)\)$")
SIDES = {"agent": "_run_agent", "codec": "_run_codec"}


def _bench() -> ModuleType:
    """``bench/agent.py``, whose workload and timed loops this script profiles."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import agent

    return agent


def _loop(side: str, nodes: int, passes: int, result: Path) -> None:
    """The child: build the workload, run ``passes`` timed passes of one side, write the best
    pass's CPU time a message (seconds) to ``result`` (py-spy writes on standard output)."""
    bench = _bench()
    bench.CLOCK = time.process_time
    workload = bench.home_agent_workload(nodes)
    best = float("inf")
    for _ in range(passes):
        if side == "agent":
            elapsed, kept = bench._run_agent(workload)
            del kept
        else:
            elapsed = bench._run_codec(workload)
        best = min(best, elapsed)
    result.write_text(f"{best / nodes!r}\n")


def _timed_lines() -> dict[str, range]:
    """The lines of each timed loop between its start (``started = clock()``) and its
    ``return``: samples elsewhere in the function (building the agent, the ``gc.collect()``
    before the clock starts) are not the loop's."""
    bench = _bench()
    lines: dict[str, range] = {}
    for name in SIDES.values():
        source, first = inspect.getsourcelines(getattr(bench, name))
        start = next(k for k, text in enumerate(source) if "started = clock()" in text)
        end = next(k for k, text in enumerate(source) if text.strip().startswith("return"))
        lines[name] = range(first + start + 1, first + end)
    return lines


def _category(path: str) -> str:
    """The layer a sampled line belongs to."""
    if "mipshop/wire/" in path:
        return "wire"
    if "mipshop/protocol/" in path:
        return "protocol/" + path.split("mipshop/protocol/")[1].split("/")[0].removesuffix(".py")
    if path == "<string>":
        return "generated constructors"
    if path.endswith("agent.py"):
        return "bench loop"
    return "stdlib " + Path(path).name


def attribute(raw: str, root: str, timed: range) -> tuple[dict[str, int], dict[str, int], int]:
    """From py-spy's raw (collapsed) stacks, the samples taken while ``root`` was on one of
    its ``timed`` lines, by layer and by function (``function (file)``), and their total."""
    layers: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, _, count_text = line.rpartition(" ")
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        if not any(frame is not None and frame["function"] == root
                   and int(frame["line"]) in timed for frame in frames):
            continue
        leaf = frames[-1]
        if leaf is None:
            continue
        count = int(count_text)
        total += count
        layers[_category(leaf["path"])] += count
        functions[f"{leaf['function']} ({Path(leaf['path']).name})"] += count
    return dict(layers), dict(functions), total


def _profile(side: str, nodes: int, passes: int, rate: int, spy: str) -> tuple[str, float]:
    """Run one side under py-spy: its raw stacks and its best CPU time a message."""
    with tempfile.TemporaryDirectory() as scratch:
        out, result = Path(scratch) / f"{side}.txt", Path(scratch) / f"{side}.time"
        done = subprocess.run(
            [spy, "record", "--rate", str(rate), "--format", "raw", "--output", str(out),
             "--nonblocking", "--", sys.executable, str(Path(__file__).resolve()), "--loop",
             side, "--result", str(result), "--mobile-nodes", str(nodes), "--passes", str(passes)],
            capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists() or not result.exists():
            raise RuntimeError(f"py-spy failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        per_message = float(result.read_text())
        return out.read_text(), per_message


def _other(index: int, text: str, networks: list[IPv6Network]) -> object:
    """Unrelated pure-Python work of about the codec's size (the company in ``company``)."""
    share = fractions.Fraction(index + 1, 7) + fractions.Fraction(3, index + 2)
    textwrap.wrap(text, 30)
    return networks[index % len(networks)].supernet(new_prefix=48), share


def company(nodes: int, passes: int) -> dict[str, float]:
    """The codec's loop alone, unrelated work alone, and both per message (µs a message)."""
    from mipshop.wire.ipv6 import decode_packet, encode_packet

    workload = _bench().home_agent_workload(nodes)
    pairs = list(zip(workload.inputs, workload.replies, strict=True))
    text = "The quick brown fox jumps over the lazy dog. " * 3
    networks = [IPv6Network(f"2001:db8:{k:x}::/64") for k in range(50)]

    def codec() -> None:
        for data, reply in pairs:
            decode_packet(data)
            encode_packet(reply)

    def other() -> None:
        for index in range(len(pairs)):
            _other(index, text, networks)

    def both() -> None:
        for index, (data, reply) in enumerate(pairs):
            decode_packet(data)
            encode_packet(reply)
            _other(index, text, networks)

    best = dict.fromkeys(("codec", "other", "both"), float("inf"))
    for _ in range(passes):
        for name, run in (("codec", codec), ("other", other), ("both", both)):
            gc.collect()
            started = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - started)
    result = {name: round(1e6 * value / nodes, 2) for name, value in best.items()}
    result["both_over_sum"] = round(best["both"] / (best["codec"] + best["other"]), 3)
    return result


def measure(nodes: int, passes: int, rate: int, top: int, spy: str) -> dict[str, object]:
    """Profile both sides and express every share in codec units."""
    timed = _timed_lines()
    per_message: dict[str, float] = {}
    layers: dict[str, dict[str, float]] = {}
    functions: dict[str, dict[str, float]] = {}
    samples: dict[str, int] = {}
    for side, root in SIDES.items():
        print(f"bench/agent_time.py: {side}: {nodes:,} mobile nodes, {passes} passes under "
              f"py-spy at {rate} Hz", file=sys.stderr, flush=True)
        raw, per_message[side] = _profile(side, nodes, passes, rate, spy)
        by_layer, by_function, total = attribute(raw, root, timed[root])
        if total == 0:
            raise RuntimeError(f"no samples inside {root}")
        samples[side] = total
        layers[side] = {k: v / total for k, v in by_layer.items()}
        functions[side] = {k: v / total for k, v in by_function.items()}
    scale = {"codec": 1.0, "agent": per_message["agent"] / per_message["codec"]}

    def units(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        keys = set(table["agent"]) | set(table["codec"])
        return {key: {side: round(table[side].get(key, 0.0) * scale[side], 3)
                      for side in SIDES} for key in keys}

    layer_units = units(layers)
    function_units = units(functions)
    # The codec's own functions (those its loop spends time in) on each side: the same calls
    # on the same bytes (cProfile counts them equal, but for IPv6Packet.home_address, 3 calls
    # a message in the agent and 2 in the codec), so the difference is the company they keep.
    # Left out: the loops themselves and the generated constructors, which the agent also
    # calls for its own objects.
    floor = {side: round(sum(row[side] for name, row in function_units.items()
                             if row["codec"] > 0 and not name.endswith(("(<string>)",
                                                                        "(agent.py)"))), 3)
             for side in SIDES}
    ranked = sorted(function_units.items(),
                    key=lambda item: item[1]["codec"] - item[1]["agent"])[:top]
    print("bench/agent_time.py: the floor in company", file=sys.stderr, flush=True)
    return {
        "mobile_nodes": nodes,
        "us_per_message": {side: round(1e6 * t, 2) for side, t in per_message.items()},
        "ratio": round(per_message["codec"] / per_message["agent"], 3),
        "samples": samples,
        "floor_functions": floor,
        "layers": dict(sorted(layer_units.items(), key=lambda item: -item[1]["agent"])),
        "functions": dict(ranked),
        "company": company(nodes, passes),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, check py-spy, profile, print a table or ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mobile-nodes", type=whole("mobile nodes", 1, 1_000_000),
                        default=1000, help="distinct mobile nodes (default 1,000)")
    parser.add_argument("--passes", type=whole("passes", 1, 10_000), default=40,
                        help="timed passes of each side (default 40)")
    parser.add_argument("--rate", type=whole("samples a second", 1, 10_000), default=2000,
                        help="py-spy's sampling rate (default 2,000)")
    parser.add_argument("--top", type=whole("functions", 1, 1000), default=25,
                        help="functions listed (default 25)")
    parser.add_argument("--loop", choices=tuple(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop:
        if args.result is None:
            parser.error("--loop needs --result")
        gc.collect()
        _loop(args.loop, args.mobile_nodes, args.passes, args.result)
        return 0
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if spy is None:
        print("bench/agent_time.py: py-spy is not installed (pip install py-spy)",
              file=sys.stderr)
        return 2
    try:
        result = measure(args.mobile_nodes, args.passes, args.rate, args.top, spy)
    except RuntimeError as error:
        print(f"bench/agent_time.py: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    us = result["us_per_message"]
    print(f"{args.mobile_nodes:,} mobile nodes: agent {us['agent']} µs, "  # type: ignore[index]
          f"codec {us['codec']} µs a message, ratio {result['ratio']} "  # type: ignore[index]
          "(times in codec units below)")
    floor = result["floor_functions"]
    print(f"the codec's own functions: {floor['agent']} units in the agent's loop, "  # type: ignore[index]
          f"{floor['codec']} in the codec's")  # type: ignore[index]
    print(f"{'layer':<32} {'agent':>7} {'codec':>7}")
    for name, row in result["layers"].items():  # type: ignore[attr-defined]
        print(f"{name:<32} {row['agent']:>7.3f} {row['codec']:>7.3f}")
    print(f"\n{'function (agent - codec)':<56} {'agent':>7} {'codec':>7}")
    for name, row in result["functions"].items():  # type: ignore[attr-defined]
        print(f"{name[:56]:<56} {row['agent']:>7.3f} {row['codec']:>7.3f}")
    both = result["company"]
    print(f"\nthe floor in company (µs a message): codec {both['codec']}, "  # type: ignore[index]
          f"other {both['other']}, both {both['both']} "  # type: ignore[index]
          f"= {both['both_over_sum']} x the sum")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
