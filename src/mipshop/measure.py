"""What both runtimes measure with: pure functions over what a run recorded.

The simulator (:mod:`mipshop.sim`) and the real-packet testbed (:mod:`mipshop.net`) both
record traffic arrivals, handover instants and captured frames, and both turn them into the
same figures here, so a simulated row and a testbed row mean the same thing. This module
imports only :mod:`mipshop.wire`; neither runtime is imported by it.

* :func:`flow_report`: one flow's delivery: received, lost, duplicated, reordered, delays.
* :func:`handover_report`: one handover seen by one flow: the **disruption** (the last packet
  received on the old link to the first received on the new one, the usual "handover latency"
  of FMIPv6 / HMIPv6 evaluations), packets lost, duplicated and buffered around it.
  :func:`uplink_handover_report` is its counterpart for a flow the mobile node sends: the
  longest silence its peer hears around the handover.
* :func:`signalling_load`: Mobility Header and ICMPv6 messages and bytes by message type,
  decoded from captured frames with the wire layer (innermost packet of a tunnel).
* :func:`percentile` / :func:`summarize`: linear-interpolation percentiles (Hyndman and Fan's
  type 7, numpy's default) and a summary row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .wire.errors import MalformedPacket
from .wire.ipv6 import IPv6Packet, decode_packet

_SIGNALLING_PROTOCOLS = frozenset({58, 135})  # ICMPv6, Mobility Header


@dataclass(frozen=True, slots=True)
class Arrival:
    """One received packet of a flow: its sequence number, send and arrival times, and the
    link it arrived on (the "path info")."""

    seq: int
    sent: float
    arrived: float
    link: str | None = None

    @property
    def delay(self) -> float:
        """One-way delay in seconds."""
        return self.arrived - self.sent


@dataclass(frozen=True, slots=True)
class Summary:
    """Count, mean and percentiles of a sample (NaN when empty)."""

    count: int
    mean: float
    minimum: float
    p50: float
    p95: float
    p99: float
    maximum: float


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between order statistics
    (Hyndman and Fan 1996, type 7; numpy's default). NaN for an empty sample."""
    if not 0 <= q <= 100:
        raise ValueError("q is 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def summarize(values: Iterable[float]) -> Summary:
    """Summary row of ``values``."""
    sample = [float(v) for v in values]
    if not sample:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan)
    return Summary(
        count=len(sample),
        mean=math.fsum(sample) / len(sample),
        minimum=min(sample),
        p50=percentile(sample, 50),
        p95=percentile(sample, 95),
        p99=percentile(sample, 99),
        maximum=max(sample),
    )


# -- flows -----


@dataclass(frozen=True, slots=True)
class FlowReport:
    """Delivery figures of one flow."""

    sent: int
    received: int
    lost: int
    duplicates: int
    reordered: int
    delay: Summary

    @property
    def loss_ratio(self) -> float:
        """``lost / sent`` (0 when nothing was sent)."""
        return self.lost / self.sent if self.sent else 0.0


def flow_report(arrivals: Sequence[Arrival], sent: int | None = None) -> FlowReport:
    """Figures of a flow from its arrivals (in arrival order).

    ``sent`` is how many packets the source sent (sequence numbers ``0 .. sent-1``); without it
    the highest sequence number seen stands in (trailing losses are then invisible).
    Duplicates are arrivals of a sequence number already received; an arrival is reordered
    when a higher sequence number arrived before it (RFC 4737's "reordered" singleton: a
    sequence number lower than the next expected one). Delays count first copies only.
    """
    seen: set[int] = set()
    duplicates = reordered = 0
    highest = -1
    delays: list[float] = []
    for arrival in arrivals:
        if arrival.seq in seen:
            duplicates += 1
            continue
        seen.add(arrival.seq)
        delays.append(arrival.delay)
        if arrival.seq < highest:
            reordered += 1
        else:
            highest = arrival.seq
    total = sent if sent is not None else highest + 1
    lost = sum(1 for s in range(total) if s not in seen)
    return FlowReport(total, len(seen), lost, duplicates, reordered, summarize(delays))


# -- handovers -----


@dataclass(frozen=True, slots=True)
class HandoverWindow:
    """A handover as the link layer saw it: radio outage ``start``..``end`` and the links."""

    start: float
    end: float
    old_link: str | None
    new_link: str | None


@dataclass(frozen=True, slots=True)
class HandoverReport:
    """One flow through one handover (see :func:`handover_report`)."""

    disruption: float | None
    last_old: Arrival | None
    first_new: Arrival | None
    lost: int
    duplicates: int
    buffered: int


def handover_report(
    arrivals: Sequence[Arrival],
    window: HandoverWindow,
    *,
    in_flight: float = 0.0,
    horizon: float | None = None,
) -> HandoverReport:
    """The flow's view of one handover.

    * ``first_new``: the first arrival on the new link at or after the outage began (after it
      ended when old and new link are the same, RFC 4260 Fig. 1 intra-subnet moves);
    * ``last_old``: the last arrival on the old link before ``first_new``;
    * ``disruption = first_new.arrived - last_old.arrived`` (None if either is missing);
    * ``lost``: sequence numbers strictly between the two that never arrived at all;
    * ``duplicates``: arrivals after ``last_old`` (up to ``horizon``, e.g. the next handover)
      of a sequence number already received;
    * ``buffered``: packets that would have arrived during the outage (send time plus
      ``in_flight``, the path's one-way delay, within ``[start, end)``) and still arrived:
      they can only have been held somewhere (an AP, a NAR's buffer, a queue).
    """
    ordered = sorted(arrivals, key=lambda a: a.arrived)
    threshold = window.end if window.old_link == window.new_link else window.start
    first_new = next((a for a in ordered
                      if a.link == window.new_link and a.arrived >= threshold), None)
    last_old = None
    if first_new is not None:
        for arrival in ordered:
            if arrival.arrived >= first_new.arrived:
                break
            if arrival.link == window.old_link:
                last_old = arrival
    received = {a.seq for a in ordered}
    lost = 0
    if last_old is not None and first_new is not None:
        low, high = sorted((last_old.seq, first_new.seq))
        lost = sum(1 for s in range(low + 1, high) if s not in received)
    since = last_old.arrived if last_old is not None else window.start
    until = math.inf if horizon is None else horizon
    seen: set[int] = set()
    duplicates = 0
    for arrival in ordered:
        if arrival.seq in seen and since < arrival.arrived <= until:
            duplicates += 1
        seen.add(arrival.seq)
    firsts: dict[int, Arrival] = {}
    for arrival in ordered:
        firsts.setdefault(arrival.seq, arrival)
    buffered = sum(1 for a in firsts.values()
                   if window.start <= a.sent + in_flight < window.end)
    disruption = None
    if last_old is not None and first_new is not None:
        disruption = first_new.arrived - last_old.arrived
    return HandoverReport(disruption, last_old, first_new, lost, duplicates, buffered)


def uplink_handover_report(
    arrivals: Sequence[Arrival],
    window: HandoverWindow,
    *,
    horizon: float | None = None,
) -> HandoverReport:
    """One handover seen by a flow the mobile node sends (``arrivals`` at its peer).

    The node's link at send time decides nothing here: after the radio switch it may go on
    sending from its old care-of address until it detects the move, and its peer hears
    nothing from it later, while it configures and registers the new one. So the
    **disruption** is the longest silence at the receiver: among the packets sent from the
    last one sent before the outage that arrived (``last_old`` candidate) up to ``horizon``
    (e.g. the next handover's start), the largest gap between consecutive arrivals;
    ``last_old`` and ``first_new`` are the arrivals on either side of it. ``lost`` counts the
    sequence numbers sent in that span that never arrived; ``duplicates`` the repeated
    arrivals in it. (``buffered`` is not defined for this direction: 0.)
    """
    until = math.inf if horizon is None else horizon
    firsts: dict[int, Arrival] = {}
    duplicates = 0
    for arrival in sorted(arrivals, key=lambda a: a.arrived):
        if arrival.seq in firsts:
            duplicates += arrival.sent < until
            continue
        firsts[arrival.seq] = arrival
    before = [a for a in firsts.values() if a.sent < window.start]
    if not before:
        return HandoverReport(None, None, None, 0, 0, 0)
    start = max(before, key=lambda a: a.sent)
    span = sorted((a for a in firsts.values() if start.sent <= a.sent < until),
                  key=lambda a: a.arrived)
    later = [a for a in span if a.sent >= window.end]
    if not later:
        return HandoverReport(None, start, None, 0, duplicates, 0)
    gaps = [(b.arrived - a.arrived, a, b) for a, b in pairwise(span)]
    disruption, last_old, first_new = max(gaps, key=lambda g: g[0])
    high = max(a.seq for a in span)
    lost = sum(1 for q in range(start.seq + 1, high) if q not in firsts)
    return HandoverReport(disruption, last_old, first_new, lost, duplicates, 0)


def handover_windows(
    handoffs: Iterable[object], ap_links: dict[str, str]
) -> list[HandoverWindow]:
    """Windows of finished :class:`~.wifi.HandoffRecord`\\ s (``old``, ``new``, ``down``,
    ``up``), with ``ap_links`` mapping an AP name to its link's name."""
    windows = []
    for record in handoffs:
        down = record.down  # type: ignore[attr-defined]
        up = record.up  # type: ignore[attr-defined]
        if down is None or up is None:
            continue
        old = record.old  # type: ignore[attr-defined]
        windows.append(HandoverWindow(
            down, up, None if old is None else ap_links[old],
            ap_links[record.new]))  # type: ignore[attr-defined]
    return windows


def handover_windows_from_events(
    events: Iterable[object], node: str, ap_links: dict[bytes, str]
) -> list[HandoverWindow]:
    """Windows from a run's event log: each ``wifi.LinkDown`` of ``node`` up to its next
    ``wifi.LinkUp``; the old link is the one of the previous LinkUp's AP, the new one that of
    this LinkUp's AP (``ap_links`` maps a BSSID to its link's name). Events are
    :class:`~.network.EventRecord` values (``time``, ``node``, ``kind``, ``event.fields``)."""
    windows = []
    current: str | None = None
    down: float | None = None
    for record in events:
        if record.node != node:  # type: ignore[attr-defined]
            continue
        kind = record.kind  # type: ignore[attr-defined]
        if kind == "wifi.LinkDown":
            down = record.time  # type: ignore[attr-defined]
        elif kind == "wifi.LinkUp":
            trigger = record.event.fields["trigger"]  # type: ignore[attr-defined]
            new = ap_links.get(trigger.ap) if trigger.ap is not None else None
            if down is not None:
                windows.append(HandoverWindow(down, record.time, current, new))  # type: ignore[attr-defined]
            current, down = new, None
    return windows


@dataclass(frozen=True, slots=True)
class HandoverSummary:
    """Aggregate of many :class:`HandoverReport` values (handovers with no disruption figure
    are counted in ``incomplete``)."""

    handovers: int
    incomplete: int
    disruption: Summary
    lost: Summary
    duplicates: Summary
    buffered: Summary


def summarize_handovers(reports: Iterable[HandoverReport]) -> HandoverSummary:
    """Disruption, loss, duplicates and buffering over handovers, as :class:`Summary` rows."""
    items = list(reports)
    disruptions = [r.disruption for r in items if r.disruption is not None]
    return HandoverSummary(
        handovers=len(items),
        incomplete=len(items) - len(disruptions),
        disruption=summarize(disruptions),
        lost=summarize(r.lost for r in items),
        duplicates=summarize(r.duplicates for r in items),
        buffered=summarize(r.buffered for r in items),
    )


# -- signalling -----


@dataclass(frozen=True, slots=True)
class SignallingCount:
    """Messages of one type and their bytes (whole IPv6 packets, tunnel headers included)."""

    messages: int
    bytes: int


def message_type(data: bytes) -> str | None:
    """The wire-layer name of the Mobility Header or ICMPv6 message in a packet (innermost in
    a tunnel), or None for anything else (data) or an undecodable packet."""
    try:
        packet = decode_packet(data, verify_checksums=False)
    except MalformedPacket:
        return None
    while isinstance(packet.payload, IPv6Packet):
        packet = packet.payload
    payload = packet.payload
    if payload is None or not (hasattr(payload, "MH_TYPE") or hasattr(payload, "ICMP_TYPE")):
        return None
    return str(payload.NAME)


def signalling_load(
    records: Iterable[tuple[float, str, bytes]],
    *,
    links: Iterable[str] | None = None,
    ignore: Iterable[str] = ("echo_request", "echo_reply"),
) -> dict[str, SignallingCount]:
    """Count captured signalling by message type: every transmission on every link counts
    (a message crossing three links costs three times its bytes), as a load measure.

    ``records`` are ``(time, link, bytes)`` (:attr:`.network.Capture.records`); ``ignore``
    leaves out ICMPv6 messages that are not mobility signalling.
    """
    wanted = None if links is None else set(links)
    skipped = set(ignore)
    totals: dict[str, list[int]] = {}
    for _time, link, data in records:
        if wanted is not None and link not in wanted:
            continue
        if not _may_signal(data):
            continue
        name = message_type(data)
        if name is None or name in skipped:
            continue
        entry = totals.setdefault(name, [0, 0])
        entry[0] += 1
        entry[1] += len(data)
    return {name: SignallingCount(m, b) for name, (m, b) in sorted(totals.items())}


def _may_signal(data: bytes) -> bool:
    """Cheap pre-filter: skip plain UDP data without decoding it."""
    return len(data) >= 40 and data[6] != 17
