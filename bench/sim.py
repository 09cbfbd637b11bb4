"""Events per second of the simulator kernel against SimPy and a bare heapq loop.

Method
------
Two workloads, each run by three event loops in the same process, interleaved, best of
``--repeats`` passes (:func:`time.perf_counter`):

- **one process**: one activity reschedules itself ``N`` times (delays cycle through a table
  of 1024 pseudo-random values in [0.5, 1.5) drawn once from ``random.Random(1)``); the heap
  holds one entry.
- **many processes**: ``P`` activities (default 1000) each reschedule themselves until the
  total reaches ``N`` events; the heap holds ``P`` entries and really reorders.

The three loops:

- **mipshop**: :class:`mipshop.sim.kernel.Kernel`: ``kernel.schedule(delay, callback)`` from
  inside the callback, ``kernel.run()``; every event returns a cancellable timer handle.
- **simpy**: SimPy 4 processes, ``yield env.timeout(delay)`` in a generator, ``env.run()``.
- **heapq**: the floor: ``(time, seq, callback)`` tuples in a list driven by
  ``heapq.heappush`` / ``heappop`` and a call per event; no cancellation, no API.

A third figure puts the kernel in context: packets per second carried end to end by
:mod:`mipshop.sim.network` over host -> router -> router -> host (``N / 10`` packets).

Rate = events processed / seconds. ``--cpu-time`` times the loops and the network path with
:func:`time.process_time` (this process's CPU time) instead of the wall clock, so that on a
shared machine the time slices given to other jobs do not count (``compare_wall_time`` stays
wall time). Usage: ``python bench/sim.py [--quick] [--json] [--cpu-time] [--repeats N]
[--events N] [--processes P]``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import time
from collections.abc import Callable
from ipaddress import IPv6Address

import simpy

from mipshop.cli.args import whole
from mipshop.sim.kernel import Kernel
from mipshop.sim.network import Network
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet

_DELAYS = [0.5 + random.Random(1).random() for _ in range(1024)]
#: The clock the loops and the network path are timed with (``--cpu-time``: CPU time).
CLOCK: Callable[[], float] = time.perf_counter


def _mipshop(events: int, processes: int) -> int:
    kernel = Kernel(seed=0)
    delays = _DELAYS
    per = events // processes
    schedule = kernel.schedule

    def make(offset: int) -> Callable[[], None]:
        count = 0

        def step() -> None:
            nonlocal count
            count += 1
            if count < per:
                schedule(delays[(count + offset) & 1023], step)

        return step

    for p in range(processes):
        schedule(delays[p & 1023], make(p))
    return kernel.run()


def _simpy(events: int, processes: int) -> int:
    env = simpy.Environment()
    delays = _DELAYS
    per = events // processes
    done = [0]

    def proc(offset: int):  # type: ignore[no-untyped-def]
        timeout = env.timeout
        yield timeout(delays[offset & 1023])
        for count in range(1, per):
            yield timeout(delays[(count + offset) & 1023])
        done[0] += per

    for p in range(processes):
        env.process(proc(p))
    env.run()
    return done[0]


def _heapq(events: int, processes: int) -> int:
    heap: list[tuple[float, int, Callable[[], None]]] = []
    push = heapq.heappush
    pop = heapq.heappop
    delays = _DELAYS
    per = events // processes
    now = 0.0
    seq = 0

    def make(offset: int) -> Callable[[], None]:
        count = 0

        def step() -> None:
            nonlocal count, seq
            count += 1
            if count < per:
                seq += 1
                push(heap, (now + delays[(count + offset) & 1023], seq, step))

        return step

    for p in range(processes):
        seq += 1
        push(heap, (delays[p & 1023], seq, make(p)))
    processed = 0
    while heap:
        now, _seq, callback = pop(heap)
        callback()
        processed += 1
    return processed


def _network_once(packets: int, data: bytes) -> tuple[float, int]:
    """One run of the network path; returns (seconds, kernel events)."""
    net = Network(seed=0)
    a, r1, r2, b = (net.add_node("a"), net.add_router("r1"), net.add_router("r2"),
                    net.add_node("b"))
    path = [a, r1, r2, b]
    for index in range(3):
        left = path[index].add_interface(f"right{index}")
        right = path[index + 1].add_interface(f"left{index}")
        left.add_address(f"2001:db8:{index}::1/64")
        right.add_address(f"2001:db8:{index}::2/64")
        net.point_to_point(f"l{index}", left, right, delay=0.001, bandwidth=100e6)
    a.add_route("::/0", "right0")
    r1.add_route("::/0", "right1", "2001:db8:1::2")
    r2.add_route("2001:db8::/64", "left1", "2001:db8:1::1")
    arrivals: list[float] = []
    b.bind_udp(9, lambda packet, now, link: arrivals.append(now))

    def tick(n: int) -> None:
        a.send_routed(data)
        if n + 1 < packets:
            net.kernel.schedule(0.001, tick, n + 1)

    net.kernel.schedule(0.0, tick, 0)
    start = CLOCK()
    events = net.run()
    elapsed = CLOCK() - start
    if len(arrivals) != packets:
        raise AssertionError(f"{len(arrivals)} of {packets} packets arrived")
    return elapsed, events


def network_path(packets: int, repeats: int) -> dict[str, float]:
    """Packets/second through host -> router -> router -> host (3 links, pre-encoded 208-byte
    UDP packets handed to ``Node.send_routed`` every 1 ms, delivered to a bound UDP port, whose
    handler gets the packet decoded by the wire layer)."""
    best = {"packets_per_second": 0.0, "events_per_second": 0.0}
    data = encode_packet(IPv6Packet(
        src=IPv6Address("2001:db8:0::1"), dst=IPv6Address("2001:db8:2::2"),
        payload=UDPDatagram(src_port=1, dst_port=9, data=bytes(160))))
    for _ in range(repeats):
        elapsed, events = _network_once(packets, data)
        best["packets_per_second"] = max(best["packets_per_second"], packets / elapsed)
        best["events_per_second"] = max(best["events_per_second"], events / elapsed)
    return best


LOOPS: dict[str, Callable[[int, int], int]] = {
    "mipshop": _mipshop, "simpy": _simpy, "heapq": _heapq,
}


def measure(events: int, processes: int, repeats: int) -> dict[str, float]:
    """Best events/second of each loop on one workload."""
    best = dict.fromkeys(LOOPS, 0.0)
    expected = (events // processes) * processes
    for _ in range(repeats):
        for name, loop in LOOPS.items():
            start = CLOCK()
            processed = loop(events, processes)
            elapsed = CLOCK() - start
            if processed != expected:
                raise AssertionError(f"{name} processed {processed}, expected {expected}")
            best[name] = max(best[name], processed / elapsed)
    return best


def compare_wall_time(repeats: int) -> dict[str, float]:
    """Wall time of ``mipshop compare`` on the reference scenario.

    ``in_process``: best of ``repeats`` calls of :func:`mipshop.sim.compare.compare` (all five
    protocols); ``command``: one run of the ``mipshop compare`` command in a new interpreter,
    start-up, imports and table included.
    """
    import subprocess
    from pathlib import Path

    from mipshop.sim.compare import compare
    from mipshop.sim.scenario import reference_scenario

    scenario = reference_scenario()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        compare(scenario, seed=1)
        best = min(best, time.perf_counter() - start)
    command = Path(sys.executable).with_name("mipshop")
    start = time.perf_counter()
    subprocess.run([str(command), "compare"], check=True, capture_output=True)
    return {"in_process_seconds": best, "command_seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and repeats")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=whole("repeats", 1, 1_000), default=None)
    parser.add_argument("--events", type=whole("events", 1, 10**10), default=None)
    parser.add_argument("--processes", type=whole("processes", 1, 10**8), default=1000)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with this process's CPU time instead of the wall clock")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    events = args.events or (50_000 if args.quick else 500_000)
    repeats = args.repeats or (2 if args.quick else 5)
    workloads = {"one process": 1, f"{args.processes} processes": args.processes}
    results = {label: measure(events, p, repeats) for label, p in workloads.items()}
    packets = events // 10
    network = network_path(packets, repeats)
    wall = compare_wall_time(1 if args.quick else 3)
    if args.json:
        print(json.dumps({
            "events": events, "repeats": repeats, "clock": "cpu" if args.cpu_time else "wall",
            "python": sys.version.split()[0], "simpy": simpy.__version__,
            "results": {label: {
                **rates,
                "mipshop_over_simpy": rates["mipshop"] / rates["simpy"],
                "mipshop_over_heapq": rates["mipshop"] / rates["heapq"],
            } for label, rates in results.items()},
            "network_path": {"packets": packets, **network},
            "compare_wall_time": wall,
        }, indent=2))
        return 0
    print(f"events per run: {events}, best of {repeats}; Python {sys.version.split()[0]}, "
          f"SimPy {simpy.__version__}")
    header = (f"{'workload':<16} {'loop':<13} {'events/s':>12} {'vs simpy':>9} "
              f"{'vs heapq':>9}")
    print(header)
    print("-" * len(header))
    for label, rates in results.items():
        for name in LOOPS:
            print(f"{label:<16} {name:<13} {rates[name]:>12,.0f} "
                  f"{rates[name] / rates['simpy']:>8.2f}x {rates[name] / rates['heapq']:>8.2f}x")
    print(f"\nnetwork path (host-router-router-host, {packets} packets of 208 bytes): "
          f"{network['packets_per_second']:,.0f} packets/s end to end, "
          f"{network['events_per_second']:,.0f} kernel events/s")
    print(f"mipshop compare (reference scenario, 5 protocols): "
          f"{wall['in_process_seconds']:.2f} s in process, "
          f"{wall['command_seconds']:.2f} s as a command")
    return 0


if __name__ == "__main__":
    sys.exit(main())
