"""``mipshop testbed``: handovers on real packets, measured like ``mipshop compare``.

:func:`run_experiment` builds the :class:`~.testbed.Testbed`, waits for the home registration,
starts a UDP echo server on the mobile node's home address and a constant-bit-rate probe on
the correspondent (:mod:`.traffic`), and optionally a TCP download by the mobile node from the
correspondent; it then hands the mobile node over ``handovers`` times between the two access
routers and returns one result row in the schema of ``mipshop compare --json``
(:func:`mipshop.sim.compare.results_to_dict`), with the simulator's definitions
(:mod:`mipshop.measure`):

* ``disruption_ms`` (mean/p50/p95/max over the handovers): the last downlink datagram received
  on the old link to the first received on the new one, from the arrival times the echo
  server logs (:func:`downlink_handovers`, :func:`mipshop.measure.handover_report`). With
  predictive FMIPv6 nothing is lost, yet the disruption covers the buffering from the FBack
  to the flush;
* ``phases_ms`` (mean, from the mobile node's events): ``l2``, ``movement_detection``
  (LinkUp to the RA showing the new prefix), ``address_configuration``, ``registration`` (to
  the accepted BA), and under FMIPv6 ``fast_handover`` (LinkGoingDown or LinkUp to FBack);
* ``packets_sent`` / ``packets_lost`` (downlink), ``packets_lost_per_handover`` (between the
  last old and first new arrival), ``packets_buffered`` (what the NARs flushed, from their
  ``fmip.flushed`` events), ``buffer_drops`` (what their buffers dropped, by flow, from the
  same events; docs/decisions.md D28), ``packets_duplicated``;
* ``signalling``: ``messages_per_handover`` (link crossings: each transmission of a message
  on each captured link counts once), ``bytes_per_handover``, ``by_type`` counted from
  captures on every link (mobile node's, home link, the core router's links), decoded with the
  wire layer (:func:`signalling`);
* ``processing_ms``: each daemon's time to answer a message, from the same captures
  (:func:`processing_times`): what ``examples/testbed.toml``'s ``[processing]`` is set from;
* ``binding_update_latency_ms``, ``handover_times``; plus ``source = "testbed"``,
  ``loss_run_ms`` (the older figure: runs of lost datagrams by send time, 0 when nothing is
  lost), ``round_trip_lost`` (also counting answers lost on the uplink) and ``tcp`` (bytes,
  SHA-256 equality, error, duration, and the rate the sender was paced at: this is an
  integrity check across handovers, not a throughput measurement).

With ``route_optimization`` (``mipshop testbed --route-optimization``) the correspondent runs
``mipshop daemon cn`` and the mobile node does return routability with it (RFC 6275 §5.2,
§11.6) after each home registration; the UDP stream and the TCP download then go over the
optimised path (Type 2 Routing Header down, Home Address option up) once the correspondent
holds the binding, through the home agent's tunnel before. The row gains ``paths``: for every
probe datagram (by sequence number), the path it took on the correspondent's link, ``ro`` or
``tunnel``, downlink and uplink, with the counts (:func:`datagram_paths`, from a UDP capture
of that link), and ``correspondent``, the correspondent entity's route-optimised packet
counters.

All five protocols run: ``mipv6``, ``hmipv6`` (a MAP daemon; after the first registration only
local BUs to the MAP), ``fmipv6`` (predictive: the testbed gives the mobile node LinkGoingDown
and waits for the FBack before the L2 handoff), ``fmipv6-reactive`` (the AR-Info learnt
beforehand by a wildcard RtSolPr, no LinkGoingDown: UNA and FBU from the new link) and
``fhmipv6`` (MAP-anchored, RFC 4140 Appendix A: see :mod:`.testbed`).

``--restart ha`` (or ``map``, under ``hmipv6`` and ``fhmipv6``): after the handovers, in the
middle of the UDP stream, that daemon is killed with SIGKILL and started again on the same
configuration and state file (:meth:`.testbed.Testbed.restart`); the row's ``restart`` object
(:func:`restart_report`) gives ``bindings_lost`` (bindings held before the kill and missing
after the restart: 0 when they persist) and ``outage_ms`` (from the kill to the first
downlink datagram sent after it that arrives).

Measurements are on the downlink (correspondent -> home address, what the protocols protect:
RFC 5568 buffers towards the mobile node only). Without ``--delay`` the testbed has no path
delays (veths add microseconds), so registrations cost the daemons' milliseconds, unlike the
simulator's reference scenario with its distant home agent; ``--delay LINK=MS`` adds them
with the core router's userspace delay element (:mod:`.delay`), and the row records them in
``delays_ms``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..measure import Arrival, HandoverReport, HandoverWindow, handover_report, message_type
from ..protocol.base.constants import MAX_RA_DELAY_TIME
from ..wire.errors import MalformedPacket
from ..wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet
from ..wire.pcap import read_pcap
from .errors import NetError
from .testbed import CN_ADDRESS, HOME_ADDRESS, Testbed, TestbedOptions, care_of_address
from .traffic import downlink_arrivals, downlink_lost, outages

_ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")

#: The UDP port of the probe stream (:mod:`.traffic`'s default).
PROBE_PORT = 9000
PROTOCOLS_ON_REAL_PACKETS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
#: ``--protocol all``: every protocol of ``mipshop compare``, in its table order.
ALL_ON_REAL_PACKETS = PROTOCOLS_ON_REAL_PACKETS
ALL_PROTOCOLS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
#: ``--restart``: the daemons that keep their bindings in a state file.
RESTARTABLE = ("ha", "map")
#: Seconds of the probe's stream set aside for a daemon's restart (Python start-up included:
#: over a second on a loaded 2-core machine).
RESTART_ALLOWANCE = 6.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _distribution(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    return {"mean": math.fsum(values) / len(values), "p50": _percentile(values, 50),
            "p95": _percentile(values, 95), "max": max(values)}


def _phases(events: list[dict[str, Any]], *, fast: bool = False, predictive: bool = False
            ) -> dict[str, list[float]]:
    """Per-handover phase durations (ms) from the mobile node's events, in order.

    As the simulator (:mod:`mipshop.sim.recorder`): ``l2`` (LinkDown to LinkUp),
    ``movement_detection`` (to ``movement.detected``), ``address_configuration`` (to
    ``coa.configured``), ``registration`` (to the accepted BA of the home agent or the MAP)
    and with ``fast`` ``fast_handover``: from the LinkGoingDown (predictive: the RtSolPr or
    FBU it triggers at once; the runtime logs no event for the trigger itself) or from the
    LinkUp (reactive) to the FBack.
    """
    phases: dict[str, list[float]] = {"l2": [], "movement_detection": [],
                                      "address_configuration": [], "registration": []}
    if fast:
        phases["fast_handover"] = []
    down: float | None = None
    warned: float | None = None
    fast_from: float | None = None
    marks: dict[str, float] = {}
    for event in events:
        kind, at = event["kind"], event["time"]
        if kind == "movement.link_down":
            down, marks, warned = at, {}, None
        elif kind in ("fmip.rtsolpr_sent", "fmip.fbu_sent") and predictive and (
                down is None and warned is None):
            if kind == "fmip.rtsolpr_sent" or event["fields"].get("mode") == "predictive":
                warned = fast_from = at
        elif kind == "movement.link_up" and down is not None and "up" not in marks:
            marks["up"] = at
            phases["l2"].append((at - down) * 1000)
            if fast and not predictive:
                fast_from = at
        if kind == "fmip.fback" and fast and fast_from is not None:
            phases["fast_handover"].append((at - fast_from) * 1000)
            fast_from = None
        if down is None:
            continue
        if kind == "movement.detected" and "up" in marks and "detected" not in marks:
            marks["detected"] = at
            phases["movement_detection"].append((at - marks["up"]) * 1000)
        elif kind == "coa.configured" and "detected" in marks and "coa" not in marks:
            marks["coa"] = at
            phases["address_configuration"].append((at - marks["detected"]) * 1000)
        elif kind in ("home.registered", "map.registered") and "coa" in marks:
            phases["registration"].append((at - marks["coa"]) * 1000)
            down = None
    return phases


def downlink_handovers(arrivals: list[tuple[int, float]], report: dict[str, Any],
                       handover_log: list[tuple[float, float, str]], first: str
                       ) -> list[HandoverReport]:
    """The downlink CBR flow through each handover, as the simulator measures it
    (:func:`mipshop.measure.handover_report`).

    ``arrivals`` are the echo server's ``(sequence number, arrival Unix time)``; the link an
    arrival came over is the attachment after the last LinkUp before it (nothing arrives while
    the port is down: an arrival between LinkDown and LinkUp came over the old link, queued
    in the mobile node). The disruption is then the last datagram received on the old link to
    the first received on the new one: with predictive FMIPv6 it covers the buffering from the
    FBack to the flush, although nothing is lost.
    """
    base = report["first_send"]
    times = report["send_times"]
    ups = [(up, to) for _down, up, to in handover_log]

    def link(at: float) -> str:
        current = first
        for up, to in ups:
            if up > at:
                break
            current = to
        return current

    records = [Arrival(seq, base + times[seq], at, link(at)) for seq, at in arrivals
               if seq < len(times) and not math.isnan(at)]
    in_flight = max(0.0, min((a.delay for a in records), default=0.0))
    out = []
    previous = first
    for k, (down, up, to) in enumerate(handover_log):
        following = handover_log[k + 1][0] if k + 1 < len(handover_log) else None
        window = HandoverWindow(down, up, previous, to)
        out.append(handover_report(records, window, in_flight=in_flight, horizon=following))
        previous = to
    return out


def signalling(paths: list[Path], handovers: int, since: float) -> dict[str, Any]:
    """Signalling per handover by message type, decoded with the wire layer from the
    testbed's signalling captures, from ``since`` (Unix time) on, as ``mipshop compare``
    counts it (:func:`mipshop.sim.compare._signalling`): every transmission on every link;
    periodic multicast Router Advertisements, echo request/reply and the ICMPv6 types the wire
    layer does not name (the kernel's MLD reports, which the simulator has no equivalent of)
    left out."""
    totals: dict[str, list[int]] = {}
    for path in paths:
        if not path.exists():
            continue
        for record in read_pcap(path):
            data = record.data
            if record.timestamp < since or len(data) < 41:
                continue
            if data[24:40] == _ALL_NODES and data[6] == 58 and data[40] == 134:
                continue
            name = message_type(data)
            if name is None or name in ("echo_request", "echo_reply", "unknown_icmpv6"):
                continue
            entry = totals.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += len(data)
    per = max(handovers, 1)
    return {
        "messages_per_handover": sum(m for m, _b in totals.values()) / per,
        "bytes_per_handover": sum(b for _m, b in totals.values()) / per,
        "by_type": {name: {"messages": m, "bytes": b}
                    for name, (m, b) in sorted(totals.items())},
    }


#: The exchanges :func:`processing_times` measures: (capture port, request, answer, who
#: answers). Each port is the answering daemon's own link (or the mobile node's, whose access
#: router sits behind a bridge), so the gap is that daemon's time to read, handle and answer.
PROCESSING_EXCHANGES = (
    ("p-ha", "binding_update", "binding_acknowledgement", "home_agent"),
    ("c-map", "binding_update", "binding_acknowledgement", "map"),
    ("p-mn", "router_solicitation", "router_advertisement", "access_router"),
    ("c-ar1", "handover_initiate", "handover_acknowledge", "access_router"),
    ("c-ar2", "handover_initiate", "handover_acknowledge", "access_router"),
    ("p-mn", "router_advertisement", "binding_update", "mobile_node"),
)
#: [choice] Longest gap taken as one daemon's answer (a longer one is something else: an RA
#: delay, a retransmission).
PROCESSING_WINDOW = 0.2


def processing_times(paths: list[Path], since: float) -> dict[str, dict[str, float | int | None]]:
    """Each daemon's time to handle a message and answer it, measured on the testbed's
    signalling captures from ``since`` (Unix time) on: on the port in front of the daemon, a
    request (:data:`PROCESSING_EXCHANGES`) to the first answer of the paired kind within
    :data:`PROCESSING_WINDOW`, each request counted once. For the mobile node, a Router
    Advertisement that answers its Router Solicitation to the BU it sends next (address
    configuration without DAD wait included; mipv6 and hmipv6 only). The veths in between add
    microseconds. Returns ``{who: {"mean_ms", "max_ms", "count"}}``."""
    by_port: dict[str, list[tuple[float, str]]] = {}
    for path in paths:
        if not path.exists():
            continue
        for record in read_pcap(path):
            if record.timestamp < since or record.interface is None:
                continue
            name = message_type(record.data)
            if name is not None:
                by_port.setdefault(record.interface, []).append((record.timestamp, name))
    gaps: dict[str, list[float]] = {}
    for port, request, answer, who in PROCESSING_EXCHANGES:
        seen = sorted(by_port.get(port, []))
        for index, (at, name) in enumerate(seen):
            if name != request:
                continue
            if who == "mobile_node" and not any(
                    n == "router_solicitation" and at - PROCESSING_WINDOW <= t < at
                    for t, n in seen[max(0, index - 8):index]):
                continue  # an unsolicited RA: no handover behind it
            for later, other in seen[index + 1:]:
                if later - at > PROCESSING_WINDOW or other == request:
                    break
                if other == answer:
                    gaps.setdefault(who, []).append(later - at)
                    break
    return {who: {"mean_ms": math.fsum(v) / len(v) * 1000, "max_ms": max(v) * 1000,
                  "count": len(v)} for who, v in sorted(gaps.items())}


def check_restart(protocol: str, restart: str | None) -> None:
    """Refuse a ``--restart`` of a daemon ``protocol`` does not run (NetError, one line)."""
    if restart is None:
        return
    if restart not in RESTARTABLE:
        raise NetError(f"mipshop: --restart {restart}: expected one of "
                       f"{', '.join(RESTARTABLE)}")
    if restart == "map" and protocol not in ("hmipv6", "fhmipv6"):
        raise NetError(f"mipshop: --restart map: {protocol} has no MAP (use --protocol "
                       "hmipv6 or fhmipv6)")


def restart_report(node: str, killed: float, ready: float, before: list[dict[str, Any]],
                   after: list[dict[str, Any]], restored: int,
                   arrivals: list[tuple[int, float]], report: dict[str, Any]
                   ) -> dict[str, Any]:
    """What a kill -9 of ``node``'s daemon at ``killed`` (Unix time) cost.

    * ``bindings_lost``: bindings (registered address and care-of address) the daemon held
      before the kill that the restarted daemon does not hold (0 when they persist);
    * ``outage_ms``: from the kill to the arrival of the first downlink datagram sent after
      it (None if none arrived); ``packets_lost``: datagrams sent from the kill up to that
      one that never arrived;
    * ``daemon_restart_ms``: from the kill to the new daemon's control socket (its state
      already restored), ``bindings_restored``: its ``binding.restored`` events.
    """
    base, times = report["first_send"], report["send_times"]
    held = {(b["home_address"], b["care_of_address"]) for b in after}
    lost = [b for b in before if (b["home_address"], b["care_of_address"]) not in held]
    after_kill = sorted((at, seq) for seq, at in arrivals
                        if seq < len(times) and base + times[seq] >= killed
                        and not math.isnan(at))
    first = after_kill[0] if after_kill else None
    seen = {seq for seq, _at in arrivals}
    until = base + times[first[1]] if first is not None else math.inf
    missing = [i for i in range(len(times)) if killed <= base + times[i] < until
               and i not in seen]
    return {
        "node": node,
        "killed_at": killed - base,
        "daemon_restart_ms": (ready - killed) * 1000,
        "bindings_before": len(before),
        "bindings_after": len(after),
        "bindings_restored": restored,
        "bindings_lost": len(lost),
        "outage_ms": None if first is None else (first[0] - killed) * 1000,
        "packets_lost": len(missing),
    }


_PROBE_SEQUENCE = 4  # the probe's sequence number: the first 4 octets of its payload


def datagram_paths(path: Path, port: int) -> dict[str, Any]:
    """Which path each probe datagram took on the correspondent's link (RFC 6275 §9.3):
    downlink ``ro`` when it carried a Type 2 Routing Header (to the care-of address),
    ``tunnel`` when it went to the home address plainly (for the home agent to tunnel);
    uplink ``ro`` when it came with a Home Address option, ``tunnel`` when it came from the
    home address (out of the home agent's reverse tunnel). The first sighting of each
    sequence number counts."""
    directions: dict[str, dict[int, str]] = {"downlink": {}, "uplink": {}}
    for record in read_pcap(path):
        try:
            packet = decode_packet(record.data)
        except MalformedPacket:
            continue
        while isinstance(packet.payload, IPv6Packet):
            packet = packet.payload
        datagram = packet.payload
        if not isinstance(datagram, UDPDatagram) or len(datagram.data) < _PROBE_SEQUENCE:
            continue
        sequence = int.from_bytes(datagram.data[:_PROBE_SEQUENCE], "big")
        if datagram.dst_port == port and packet.src == CN_ADDRESS:
            way = "ro" if packet.routing_home_address is not None else "tunnel"
            directions["downlink"].setdefault(sequence, way)
        elif datagram.src_port == port and packet.dst == CN_ADDRESS:
            way = "ro" if packet.home_address is not None else "tunnel"
            directions["uplink"].setdefault(sequence, way)
    out: dict[str, Any] = {}
    for direction, seen in directions.items():
        ordered = [seen[k] for k in sorted(seen)]
        out[direction] = {"ro": ordered.count("ro"), "tunnel": ordered.count("tunnel"),
                          "by_sequence": {str(k): seen[k] for k in sorted(seen)}}
    return out


def run_experiment(*, protocol: str = "mipv6", handovers: int = 3, link_down: float = 0.1,
                   dwell: float = 1.5, interval: float = 0.01, tcp_bytes: int = 0,
                   pcap: str | None = None, delays: dict[str, float] | None = None,
                   progress: Callable[[int, str], None] | None = None,
                   restart: str | None = None,
                   route_optimization: bool = False,
                   max_ra_delay: float = MAX_RA_DELAY_TIME) -> dict[str, Any]:
    """Run one protocol on the testbed; returns a ``mipshop compare`` result row.

    ``delays``: one-way delays (seconds) of the core router's links (``cn``, ``home``,
    ``ar1``, ``ar2``, ``map``; :attr:`~.testbed.TestbedOptions.delays`). ``progress``: called
    with the number of handovers done and what the experiment is doing now. ``restart``
    (``ha`` or ``map``): after the handovers, in the middle of the UDP stream, that daemon is
    killed with SIGKILL and started again; the row's ``restart`` holds
    :func:`restart_report` (None without a restart). ``max_ra_delay``: the routers' longest
    wait before answering an RS (RFC 4861 §6.2.6; 0: at once; the row's ``max_ra_delay_ms``
    records it).

    ``tcp_bytes``: the correspondent's sender is **paced** (:mod:`.traffic` ``serve --rate``)
    to spread the download over the handovers, at least 100 kB/s: the row's ``tcp`` says
    whether the bytes arrived intact, it does not measure TCP throughput. A bulk flow that
    outran the pacing would fill the NAR's FMIPv6 buffer during a handover, and the UDP
    datagrams behind it would then be dropped.
    """
    if protocol not in PROTOCOLS_ON_REAL_PACKETS:
        raise NetError(f"mipshop: {protocol} does not run on real packets yet (available: "
                       f"{', '.join(PROTOCOLS_ON_REAL_PACKETS)})")
    check_restart(protocol, restart)

    def step(done: int, what: str) -> None:
        if progress is not None:
            progress(done, what)

    step(0, "building the testbed")
    duration = 1.0 + handovers * (link_down + dwell) + 1.0
    if restart is not None:
        duration += RESTART_ALLOWANCE + dwell
    count = int(duration / interval)
    options = TestbedOptions(pcap=pcap, protocol=protocol.removesuffix("-reactive"),
                             predictive=protocol != "fmipv6-reactive", delays=dict(delays or {}),
                             route_optimization=route_optimization,
                             max_ra_delay=max_ra_delay)
    # Where the new care-of address is registered: the MAP under HMIPv6 (RFC 5380 §6.1: a
    # move inside the MAP domain changes only the LCoA), else the home agent.
    registrar = "map" if protocol in ("hmipv6", "fhmipv6") else "ha"
    with Testbed(options) as bed:
        first = bed.attachment or "ar1"
        # Signalling on every link: the mobile node's and the home link on the switch, the
        # core router's links to the correspondent, the access routers and the MAP.
        captures = [(bed.workdir / "signalling-sw.pcapng", "sw", ("p-mn", "p-ha")),
                    (bed.workdir / "signalling-core.pcapng", "core",
                     ("c-cn", *(f"c-{n}" for n in ("ar1", "ar2", "map") if n in bed.ns)))]
        tapping = [bed.capture(path, ports, node=node, signalling=True)
                   for path, node, ports in captures]
        data_capture = bed.workdir / "datagrams-cn.pcapng"
        if route_optimization:
            tapping.append(bed.capture(data_capture, ("c-cn",), node="core", udp=True))
        step(0, "waiting for the home registration")
        bed.wait_for(lambda: bed.state("ha")["binding_cache"], what="home registration")
        if restart is not None:
            bed.wait_for(lambda: bed.state(restart)["binding_cache"],
                         what=f"a binding at the {restart}")
        log = bed.workdir / "downlink.txt"
        echo = bed.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "echo",
                                "--bind", str(HOME_ADDRESS), "--log", str(log)], name="echo")
        bed.wait_for(lambda: "ready" in echo.log.read_text(), what="the echo server")
        fetch = served = None
        rate = 0.0
        if tcp_bytes:
            rate = max(tcp_bytes / max(duration - 1.0, 1.0), 100_000.0)
            served = bed.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "serve",
                                      "--size", str(tcp_bytes), "--rate", str(rate)],
                               name="serve", stdout=subprocess.PIPE)
            assert served.popen.stdout is not None
            served.popen.stdout.readline()
            fetch = bed.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "fetch",
                                     "--from", str(CN_ADDRESS), "--bind", str(HOME_ADDRESS)],
                              name="fetch", stdout=subprocess.PIPE)
        probe = bed.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                                 str(HOME_ADDRESS), "--count", str(count), "--interval",
                                 str(interval), "--linger", "1"], name="probe",
                          stdout=subprocess.PIPE)
        time.sleep(1.0)
        moves_from = time.time()
        targets = ["ar2", "ar1"]
        for k in range(handovers):
            target = targets[k % 2]
            step(k, f"handover {k + 1}/{handovers} to {target}")
            bed.move(target, link_down=link_down)
            bed.wait_for(lambda t=target: any(  # type: ignore[misc]
                e["care_of_address"] == str(care_of_address(t))
                for e in bed.state(registrar)["binding_cache"]),
                what=f"registration from {target}")
            time.sleep(dwell)
            step(k + 1, f"handover {k + 1}/{handovers} done")
        restarted: tuple[float, float, list[dict[str, Any]], list[dict[str, Any]], int] | None
        restarted = None
        if restart is not None:
            step(handovers, f"killing the {restart} daemon")
            before = bed.state(restart)["binding_cache"]
            killed, ready = bed.restart(restart)
            after = bed.state(restart)["binding_cache"]
            restored = len(bed.events(restart, "binding.restored"))
            restarted = (killed, ready, before, after, restored)
            time.sleep(dwell)
        step(handovers, "collecting the measurements")
        report = json.loads(probe.popen.communicate(timeout=duration + 30)[0])
        tcp: dict[str, Any] | None = None
        if fetch is not None and served is not None:
            got = json.loads(fetch.popen.communicate(timeout=120)[0])
            sent = json.loads(served.popen.communicate(timeout=30)[0])
            tcp = {"bytes": got["received"], "sha256_equal": got["sha256"] == sent["sha256"],
                   "error": got["error"] or sent["error"], "seconds": got["duration"],
                   "paced_bytes_per_s": rate}
        mn_events = bed.events("mn")
        correspondent = ({k: v for k, v in bed.state("cn")["entity_counters"].items()
                          if k.startswith(("ro.", "binding", "rr."))}
                         if route_optimization else None)
        flushed = [e for node in ("ar1", "ar2") for e in bed.events(node, "fmip.flushed")]
        bed.check_daemons()
        for process in tapping:
            process.stop()
        handover_log = list(bed.handovers)
        arrivals = downlink_arrivals(str(log))
        lost_down = set(downlink_lost(report, str(log)))
        load = signalling([path for path, _node, _ports in captures], len(handover_log),
                          moves_from)
        processing = processing_times([path for path, _node, _ports in captures], moves_from)
        paths = datagram_paths(data_capture, PROBE_PORT) if route_optimization else None
    start = report["first_send"]
    restart_row = None if restarted is None else restart_report(
        restart or "", restarted[0], restarted[1], restarted[2], restarted[3], restarted[4],
        arrivals, report)
    reports = downlink_handovers(arrivals, report, handover_log, first)
    disruptions = [r.disruption * 1000 for r in reports if r.disruption is not None]
    # The older figure: runs of datagrams lost, by send time (0 when nothing is lost).
    downlink = dict(report, rtts=[None if i in lost_down else 0.0
                                  for i in range(report["sent"])])
    runs = [r for r in outages(downlink) if r["lost"] >= 1]
    loss_runs = []
    for down, _up, _to in handover_log:
        near = [r for r in runs if down - start - 0.05 <= r["start"] <= down - start + 2.0]
        loss_runs.append(near[0]["duration"] * 1000 if near else 0.0)
    phases = _phases(mn_events, fast=protocol in ("fmipv6", "fmipv6-reactive", "fhmipv6"),
                     predictive=protocol in ("fmipv6", "fhmipv6"))
    # As the simulator counts it: what the NARs' buffers held (their flushes); nothing is
    # buffered in the network without FMIPv6.
    buffered = sum(int(e["fields"].get("packets", 0)) for e in flushed)
    buffer_drops: dict[str, int] = {}
    for event in flushed:
        for flow, count in event["fields"].get("dropped_by_flow", {}).items():
            buffer_drops[flow] = buffer_drops.get(flow, 0) + int(count)
    return {
        "source": "testbed",
        "protocol": protocol,
        "handovers": len(handover_log),
        "link_down_ms": link_down * 1000,
        "delays_ms": {name: delay * 1000 for name, delay in (delays or {}).items()},
        "max_ra_delay_ms": max_ra_delay * 1000,
        "disruption_ms": _distribution(disruptions),
        "loss_run_ms": _distribution(loss_runs),
        "phases_ms": {k: (math.fsum(v) / len(v) if v else None) for k, v in phases.items()},
        "packets_sent": report["sent"],
        "packets_lost": len(lost_down),
        "packets_lost_per_handover": [r.lost for r in reports],
        "round_trip_lost": report["sent"] - report["received"],
        "packets_buffered": buffered,
        "buffer_drops": dict(sorted(buffer_drops.items())),
        "packets_duplicated": len(arrivals) - len({seq for seq, _at in arrivals}),
        "signalling": load,
        "processing_ms": processing,
        "binding_update_latency_ms": (math.fsum(phases["registration"])
                                      / len(phases["registration"])
                                      if phases["registration"] else None),
        "uplink": None,
        "handover_times": [down - start for down, _up, _to in handover_log],
        "tcp": tcp,
        "restart": restart_row,
        "route_optimization": route_optimization,
        "paths": paths,
        "correspondent": correspondent,
    }
