"""Real applications for the testbed: a UDP echo server and a constant-bit-rate UDP probe.

``python -m mipshop.net.traffic echo --bind ADDR --port P`` answers every datagram with the
same bytes (run it on the mobile node, bound to its home address: the packets then travel
through the home agent's tunnel both ways, RFC 6275 §10.4.1 and §11.3.1).

``python -m mipshop.net.traffic probe --to ADDR --port P --count N --interval S`` sends N
datagrams, each with its sequence number, every S seconds, waits ``--linger`` seconds for the
last answers and prints one JSON object: ``sent``, ``received``, ``lost`` (sequence numbers),
``send_times`` and ``rtts`` (per sequence number, None when lost), ``first_send`` (wall clock).
Disruption and loss per handover are computed from it by :func:`outages`.

``serve`` / ``fetch``: a real Linux TCP transfer. The server sends ``--size`` deterministic
bytes at ``--rate`` bytes/s to its first client and prints the SHA-256 of what it sent; the
client (on the mobile node, bound to the home address) prints the size and SHA-256 of what
arrived and any error (a reset shows there).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import random
import selectors
import socket
import struct
import sys
import time
from collections.abc import Sequence
from typing import Any

_HEADER = struct.Struct("!Id")


def echo(bind: str, port: int, log: str | None = None) -> None:
    """Echo UDP datagrams forever; with ``log``, append each probe sequence number received
    and its arrival time (Unix time, the clock the testbed's handover log uses) to that file,
    one ``SEQ TIME`` line per datagram, so that the downlink alone can be measured."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    out = open(log, "a", buffering=1) if log else None  # noqa: SIM115
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(65_535)
        if out is not None and len(data) >= _HEADER.size:
            out.write(f"{_HEADER.unpack_from(data)[0]} {time.time():.6f}\n")
        # The uplink may be down (a handover): the answer is lost, not the server.
        with contextlib.suppress(OSError):
            sock.sendto(data, peer)


def downlink_arrivals(log: str) -> list[tuple[int, float]]:
    """``(sequence number, arrival Unix time)`` of every datagram an ``echo --log`` received,
    in arrival order (a line without a time, from an older log, gets NaN)."""
    out = []
    with open(log) as handle:
        for line in handle:
            fields = line.split()
            if fields:
                out.append((int(fields[0]), float(fields[1]) if len(fields) > 1 else math.nan))
    return out


def downlink_lost(report: dict[str, Any], log: str) -> list[int]:
    """Sequence numbers the probe sent that the echo server never received."""
    seen = {seq for seq, _at in downlink_arrivals(log)}
    return [i for i in range(report["sent"]) if i not in seen]


def probe(to: str, port: int, count: int, interval: float, size: int = 64,
          linger: float = 1.0) -> dict[str, Any]:
    """Send ``count`` datagrams every ``interval`` seconds; collect the echoes."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    send_times: list[float] = []
    rtts: list[float | None] = [None] * count
    start = time.monotonic()
    wall_start = time.time()
    end = start + count * interval + linger
    padding = b"\0" * max(0, size - _HEADER.size)
    seq = 0
    while True:
        now = time.monotonic()
        if seq < count and now >= start + seq * interval:
            send_times.append(now - start)
            # No route during a handover: the datagram is lost.
            with contextlib.suppress(OSError):
                sock.sendto(_HEADER.pack(seq, now) + padding, (to, port))
            seq += 1
            continue
        if now >= end:
            break
        wake = start + seq * interval if seq < count else end
        for _key, _ev in selector.select(timeout=max(0.0, min(wake, end) - now)):
            while True:
                try:
                    data = sock.recv(65_535)
                except BlockingIOError:
                    break
                number, sent = _HEADER.unpack_from(data)
                if number < count and rtts[number] is None:
                    rtts[number] = time.monotonic() - sent
    lost = [i for i, rtt in enumerate(rtts) if rtt is None]
    return {"sent": count, "received": count - len(lost), "lost": lost,
            "send_times": send_times, "rtts": rtts, "interval": interval,
            "first_send": wall_start}


def payload(size: int, seed: int) -> bytes:
    """The deterministic bytes a ``serve`` sends (so the receiver's hash can be checked)."""
    return random.Random(seed).randbytes(size)


def serve(bind: str, port: int, size: int, rate: float, seed: int = 1) -> dict[str, Any]:
    """Serve ``size`` bytes to the first TCP client at ``rate`` bytes/s; report the hash."""
    data = payload(size, seed)
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((bind, port))
    listener.listen(1)
    print(json.dumps({"ready": True}), flush=True)
    conn, _peer = listener.accept()
    start = time.monotonic()
    chunk = 16_384
    sent = 0
    error = None
    try:
        while sent < size:
            conn.sendall(data[sent:sent + chunk])
            sent += min(chunk, size - sent)
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # wait for the client's close
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        listener.close()
    return {"sent": sent, "sha256": hashlib.sha256(data).hexdigest(), "error": error,
            "duration": time.monotonic() - start}


def fetch(host: str, port: int, bind: str | None = None, timeout: float = 60.0
          ) -> dict[str, Any]:
    """Download everything from a ``serve``; report size, SHA-256, duration, any error."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if bind:
        sock.bind((bind, 0))
    digest = hashlib.sha256()
    received = 0
    error = None
    start = time.monotonic()
    try:
        sock.connect((host, port))
        while chunk := sock.recv(1 << 16):
            digest.update(chunk)
            received += len(chunk)
    except OSError as exc:  # ConnectionResetError included: the test then fails
        error = f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return {"received": received, "sha256": digest.hexdigest(), "error": error,
            "duration": time.monotonic() - start}


def outages(report: dict[str, Any]) -> list[dict[str, float]]:
    """Runs of consecutive lost datagrams: start (s after the first send), duration, count.

    The duration of a run is the time between the last datagram answered before it and the
    first answered after it, minus one interval: the disruption as a CBR receiver sees it.
    """
    rtts, times, interval = report["rtts"], report["send_times"], report["interval"]
    runs: list[dict[str, float]] = []
    i = 0
    while i < len(rtts):
        if rtts[i] is not None:
            i += 1
            continue
        j = i
        while j < len(rtts) and rtts[j] is None:
            j += 1
        before = times[i - 1] if i > 0 else times[0]
        after = times[j] if j < len(times) else times[-1] + interval
        runs.append({"start": times[i], "duration": after - before - interval,
                     "lost": float(j - i)})
        i = j
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (``echo`` or ``probe``)."""
    parser = argparse.ArgumentParser(prog="python -m mipshop.net.traffic")
    sub = parser.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--bind", required=True)
    e.add_argument("--port", type=int, default=9000)
    e.add_argument("--log", help="append received sequence numbers to this file")
    p = sub.add_parser("probe")
    p.add_argument("--to", required=True)
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--linger", type=float, default=1.0)
    sv = sub.add_parser("serve")
    sv.add_argument("--bind", default="::")
    sv.add_argument("--port", type=int, default=9001)
    sv.add_argument("--size", type=int, default=20_000_000)
    sv.add_argument("--rate", type=float, default=4_000_000.0)
    sv.add_argument("--seed", type=int, default=1)
    f = sub.add_parser("fetch")
    f.add_argument("--from", dest="host", required=True)
    f.add_argument("--port", type=int, default=9001)
    f.add_argument("--bind")
    args = parser.parse_args(argv)
    if args.mode == "serve":
        print(json.dumps(serve(args.bind, args.port, args.size, args.rate, args.seed)))
        return 0
    if args.mode == "fetch":
        print(json.dumps(fetch(args.host, args.port, args.bind)))
        return 0
    if args.mode == "echo":
        echo(args.bind, args.port, args.log)
        return 0
    print(json.dumps(probe(args.to, args.port, args.count, args.interval, args.size,
                           args.linger)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
