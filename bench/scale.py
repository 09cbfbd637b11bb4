"""City-sized runs: wall time, memory and handovers per CPU second, one protocol at a time.

Method
------
The scenario is ``examples/city.toml`` (200 access routers in a 20 x 10 grid of 150 m cells,
10 MAP domains, pedestrians by random waypoint for one simulated hour, a G.711 call on one
node in a hundred, RFC 4861's default Router Advertisement interval), with ``--mobile-nodes``
nodes. Every protocol runs in its own Python process, so that each peak RSS is that run's:

- ``wall_s`` and ``cpu_s``: ``time.perf_counter`` and ``time.process_time`` around
  :func:`mipshop.sim.compare.run_protocol` (building, running and measuring);
- ``build_cpu_s``: the CPU time of building the world (network, entities, stations, first
  movement legs, traffic) before the first event; with ``--build-only`` nothing else runs;
- ``events``: kernel callbacks run; ``handovers``: completed handovers of every node;
- ``peak_rss_bytes``: the process's peak resident set (``getrusage``), interpreter included;
- ``bytes_per_mn``: that peak less the RSS before the run was built (interpreter and
  imports), divided by the mobile nodes: what a node costs, its share of the 200 routers and
  10 MAPs included;
- ``handovers_per_cpu_s``: handovers / ``cpu_s`` (CPU time: the machine is shared, so wall
  time depends on the load, reported in ``load_average``);
- ``results_sha256``: digest of the run's results as ``mipshop simulate --json`` writes them,
  so two runs with the same seed can be compared (they must be equal).

Progress: while a protocol runs, one line on standard error every ``--progress-every``
seconds of wall time (default 30; 0: none): the simulated time reached, wall and CPU time so
far and the resident set. A thread of the child process reads the kernel's clock to print it,
so the run's events and results are those of a run without it.

Usage: ``python bench/scale.py --json --mobile-nodes N [--protocols P,...] [--seed S]
[--duration S] [--scenario FILE] [--build-only] [--progress-every S]``. A node count whose
calls need more uplink ports at the correspondent than there are
(:data:`~mipshop.sim.scenario.MAX_CALLS`) exits 2 before anything runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mipshop.cli.args import whole
from mipshop.sim.compare import DRAIN, PROTOCOLS, _build, results_to_dict, run_protocol
from mipshop.sim.network import Network
from mipshop.sim.scenario import Scenario, ScenarioError, check_calls, load_scenario

CITY = Path(__file__).resolve().parents[1] / "examples" / "city.toml"


def _rss_bytes() -> int:
    """The current resident set of this process."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def sized(scenario_path: Path, mobile_nodes: int, duration: float | None) -> Scenario:
    """The scenario file's scenario with ``mobile_nodes`` nodes (and ``duration`` seconds of
    movement); :class:`ScenarioError` when its calls would need more ports than there are."""
    scenario = load_scenario(scenario_path)
    movement = scenario.movement
    if duration is not None:
        movement = dataclasses.replace(movement, duration_s=duration)
    scenario = dataclasses.replace(scenario, mobile_nodes=mobile_nodes, movement=movement)
    check_calls(scenario)
    return scenario


def build_one(scenario_path: Path, protocol: str, mobile_nodes: int, seed: int,
              duration: float | None) -> dict[str, Any]:
    """Only build the world of one protocol (``--build-only``): its CPU and wall time."""
    scenario = sized(scenario_path, mobile_nodes, duration)
    baseline = _rss_bytes()
    wall, cpu = time.perf_counter(), time.process_time()
    _build(scenario, protocol, seed, capture=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"protocol": protocol, "mobile_nodes": mobile_nodes, "build_wall_s": round(wall, 3),
            "build_cpu_s": round(cpu, 3), "peak_rss_bytes": peak,
            "bytes_per_mn": round((peak - baseline) / mobile_nodes)}


class _Progress:
    """Prints, every ``every`` seconds of wall time, how far the run in this process is
    (module docstring): a daemon thread that only reads the clock of the world being run."""

    def __init__(self, protocol: str, end: float, every: float) -> None:
        self.protocol, self.end, self.every = protocol, end, every
        self.network: Network | None = None
        self.started = (time.perf_counter(), time.process_time())
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, network: Network) -> None:
        """Take the network :func:`run_protocol` built (its ``watch``)."""
        self.network = network

    def __enter__(self) -> _Progress:
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self.every):
            network = self.network
            now = network.now if network is not None else 0.0
            wall = time.perf_counter() - self.started[0]
            cpu = time.process_time() - self.started[1]
            print(f"scale.py: {self.protocol}: simulated {now:,.0f} of {self.end:,.0f} s, "
                  f"{wall:,.0f} s wall, {cpu:,.0f} s CPU, "
                  f"RSS {_rss_bytes() / 2**20:,.0f} MiB", file=sys.stderr, flush=True)


def run_one(scenario_path: Path, protocol: str, mobile_nodes: int, seed: int,
            duration: float | None, progress_every: float = 0.0) -> dict[str, Any]:
    """One protocol in this process (called in a child process by :func:`main`)."""
    scenario = sized(scenario_path, mobile_nodes, duration)
    baseline = _rss_bytes()
    stats: dict[str, float] = {}
    progress = _Progress(protocol, scenario.duration + DRAIN, progress_every)
    wall, cpu = time.perf_counter(), time.process_time()
    with progress:
        result = run_protocol(scenario, protocol, seed=seed, stats=stats, watch=progress.watch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    digest = hashlib.sha256(json.dumps(results_to_dict(scenario, [result], seed=seed),
                                       sort_keys=True).encode()).hexdigest()
    return {
        "protocol": protocol,
        "mobile_nodes": mobile_nodes,
        "simulated_s": scenario.duration,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "build_cpu_s": round(stats["build_cpu_s"], 3),
        "handovers": result.handovers,
        "events": int(stats["events"]),
        "peak_rss_bytes": peak,
        "baseline_rss_bytes": baseline,
        "bytes_per_mn": round((peak - baseline) / mobile_nodes),
        "handovers_per_cpu_s": round(result.handovers / cpu, 1) if cpu else None,
        "calls": scenario.calls,
        "packets_sent": result.packets_sent + result.uplink.get("sent", 0),
        "disruption_ms_p50": result.disruption_ms["p50"],
        "results_sha256": digest,
    }


def _child(command: list[str]) -> tuple[int, str, list[str]]:
    """Run one child: its exit status, its standard output, and the lines of its standard
    error that are not progress (those are passed on to ours as they come)."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None and child.stderr is not None
        # Standard output is one JSON line at the end: read it on a thread, so that a full
        # pipe can never stall the child while this one reads its standard error.
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(child.stdout.read()))
        reader.start()
        errors = []
        for line in child.stderr:
            if line.startswith("scale.py: ") and " simulated " in line:
                print(line, end="", file=sys.stderr, flush=True)
            else:
                errors.append(line.rstrip("\n"))
        reader.join()
        code = child.wait()
    return code, "".join(out), [line for line in errors if line.strip()]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _protocols(text: str) -> tuple[str, ...]:
    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PROTOCOLS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown protocol {unknown[0] if unknown else text!r} "
            f"(expected some of {','.join(PROTOCOLS)})")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mobile-nodes", type=whole("mobile nodes", 1, 10**8), required=True,
                        metavar="N")
    parser.add_argument("--protocols", type=_protocols, default=PROTOCOLS, metavar="LIST")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="simulated seconds of movement (default: the scenario's hour)")
    parser.add_argument("--scenario", type=Path, default=CITY, metavar="FILE")
    parser.add_argument("--build-only", action="store_true",
                        help="only build each protocol's world (no event runs): build times")
    parser.add_argument("--progress-every", type=_seconds, default=30.0, metavar="S",
                        help="a progress line on stderr every S seconds of wall time (0: none)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        # Before any child starts: a bad file, or more calls than the correspondent's ports.
        sized(args.scenario, args.mobile_nodes, args.duration)
    except ScenarioError as exc:
        print(f"scale.py: error: {exc}", file=sys.stderr)
        return 2
    if args.child:
        (protocol,) = args.protocols
        if args.build_only:
            row = build_one(args.scenario, protocol, args.mobile_nodes, args.seed,
                            args.duration)
        else:
            row = run_one(args.scenario, protocol, args.mobile_nodes, args.seed, args.duration,
                          args.progress_every)
        print(json.dumps(row))
        return 0
    results = []
    load = os.getloadavg()
    for protocol in args.protocols:
        command = [sys.executable, __file__, "--child", "--mobile-nodes", str(args.mobile_nodes),
                   "--protocols", protocol, "--seed", str(args.seed),
                   "--scenario", str(args.scenario)]
        if args.duration is not None:
            command += ["--duration", str(args.duration)]
        if args.build_only:
            command.append("--build-only")
        command += ["--progress-every", str(args.progress_every)]
        code, out, errors = _child(command)
        if code != 0:
            lines = errors or [f"exit status {code}"]
            print(f"scale.py: error: the {protocol} run failed: {lines[-1]}", file=sys.stderr)
            return 1
        results.append(json.loads(out))
        if not args.json and args.build_only:
            row = results[-1]
            print(f"{row['protocol']:<16} {row['mobile_nodes']:>7} MNs  "
                  f"{row['build_cpu_s']:>8.1f} s CPU to build  "
                  f"{row['peak_rss_bytes'] / 2**20:>7.1f} MiB", flush=True)
        elif not args.json:
            row = results[-1]
            print(f"{row['protocol']:<16} {row['mobile_nodes']:>7} MNs  "
                  f"{row['wall_s']:>8.1f} s wall {row['cpu_s']:>8.1f} s CPU  "
                  f"{row['handovers']:>8} handovers  {row['events']:>10} events  "
                  f"{row['peak_rss_bytes'] / 2**20:>7.1f} MiB  {row['bytes_per_mn']:>6} B/MN  "
                  f"{row['handovers_per_cpu_s']:>7} handovers/CPU s", flush=True)
    if args.json:
        print(json.dumps({"results": results, "cpus": os.cpu_count(),
                          "load_average": [round(x, 2) for x in (*load, *os.getloadavg())],
                          "python": sys.version.split()[0]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
