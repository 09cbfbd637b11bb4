"""The NAR's handover buffer, its drain policy (RFC 5568 §5.4) and how it is shared by flows.

"Routers implementing this specification MUST implement at least the default algorithm, which
is based on the original arrival rates of the buffered packets. A maximum of 5 packets MAY be
sent one after another, but all subsequent packets SHOULD use a sending rate that is determined
by metering the rate at which packets have entered the buffer, potentially using smoothing
techniques such as recent activity over a sliding time window and weighted averages."

:class:`HandoverBuffer` is that default, clockless: it is told ``now`` on every arrival, meters
the inter-arrival gap with an exponentially weighted moving average, and hands out the drain
plan (:meth:`HandoverBuffer.drain_burst`, then one packet per :attr:`HandoverBuffer.interval`);
the owner runs the timers. Packets leave in the order they arrived. The buffer is bounded
("Buffer size is local policy and MUST be bounded"): at most ``limit`` packets per mobile node,
and a :class:`BufferBudget` the router's buffers share.

Sharing ([choice] docs/decisions.md D28): a mobile node's buffer is shared by its flows, a flow
being the innermost packet's (source, destination, next header, ports) (:func:`flow_of`). When
an arrival finds the buffer full (or the budget spent), the longest flow pays: the arrival is
dropped if its own flow holds at least as many packets as any other, else the oldest packet of
a longest flow is dropped to make room (longest-queue drop, as FQ-CoDel does on overload,
RFC 8290 §4.1, counted in packets since the bound is in packets). A bulk download beside a
voice call then loses its own packets and the call none, whatever the download's rate; a
byte budget sized from the link would still fill with the download and drop the call behind
it. ``fair=False`` is plain tail drop. Each drop is counted per flow (:attr:`drops`, bounded:
flows beyond :data:`FLOWS_REPORTED` are counted together under None). Every step is O(1) but
finding a longest flow, which is amortised O(1) (a bucket of flows per packet count).

Resolved ambiguities ([choice]): the weight of the newest gap is 1/4 (as TCP's RTT variance
estimator, RFC 6298); with fewer than two arrivals there is no rate and what is buffered (one
packet at most) goes at once; the gap is metered over every arrival, dropped or not (the rate
at which packets enter is what §5.4 meters).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import NamedTuple

from ...wire.checksum import PROTO_ICMPV6, PROTO_MH, PROTO_UDP
from ...wire.ipv6 import PROTO_IPV6, PROTO_NONE, IPv6Packet, RawPayload, UDPDatagram
from ..base.constants import BUFFER_BURST_PACKETS

#: [choice] Weight of the newest inter-arrival gap in the moving average.
GAP_WEIGHT = 0.25
#: [choice] Flows whose drops are counted one by one in a buffer (the rest together).
FLOWS_REPORTED = 64
#: [choice] Tunnel headers looked through to find a packet's flow (RFC 2473 nesting).
TUNNEL_DEPTH = 4
#: Upper layers whose first four octets are the source and destination ports: TCP (RFC 9293),
#: DCCP (RFC 4340), SCTP (RFC 9260), UDP-Lite (RFC 3828). UDP is decoded (UDPDatagram).
PORTED_PROTOCOLS = frozenset({6, 33, 132, 136})


class FlowKey(NamedTuple):
    """One flow: the innermost packet's addresses, next header and ports (0 when it has
    none)."""

    src: IPv6Address
    dst: IPv6Address
    next_header: int
    src_port: int
    dst_port: int

    def __str__(self) -> str:
        return (f"[{self.src}]:{self.src_port} -> [{self.dst}]:{self.dst_port} "
                f"proto {self.next_header}")


def flow_of(packet: IPv6Packet) -> FlowKey:
    """The flow ``packet`` belongs to, looking through up to :data:`TUNNEL_DEPTH` tunnels (the
    NAR holds what a PAR or MAP tunnels, RFC 5568 §4; RFC 4140 Appendix A)."""
    for _ in range(TUNNEL_DEPTH):
        if not isinstance(packet.payload, IPv6Packet):
            break
        packet = packet.payload
    payload = packet.payload
    if isinstance(payload, UDPDatagram):
        return FlowKey(packet.src, packet.dst, PROTO_UDP, payload.src_port, payload.dst_port)
    if isinstance(payload, RawPayload):
        data = payload.data
        if payload.protocol in PORTED_PROTOCOLS and len(data) >= 4:
            return FlowKey(packet.src, packet.dst, payload.protocol,
                           int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big"))
        return FlowKey(packet.src, packet.dst, payload.protocol, 0, 0)
    if isinstance(payload, IPv6Packet):
        return FlowKey(packet.src, packet.dst, PROTO_IPV6, 0, 0)  # deeper than TUNNEL_DEPTH
    next_header = PROTO_NONE if payload is None else (
        PROTO_MH if hasattr(payload, "MH_TYPE") else PROTO_ICMPV6)
    return FlowKey(packet.src, packet.dst, next_header, 0, 0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Admission:
    """What :meth:`HandoverBuffer.push` did: whether the arrival was queued, and the flow
    that lost a packet (the arrival's own when refused, another's when one of its packets
    made room), or None when nothing was dropped."""

    accepted: bool
    dropped: FlowKey | None = None

    @property
    def evicted(self) -> bool:
        """A queued packet was dropped to make room for the arrival."""
        return self.accepted and self.dropped is not None


class BufferBudget:
    """Packets all of a router's handover buffers may hold together (§5.4 "MUST be bounded",
    §10 resource exhaustion): per mobile node bounds alone let many handovers in flight hold
    without limit."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        self.limit = limit
        #: Packets held now, in every buffer sharing this budget.
        self.used = 0


class HandoverBuffer:
    """A bounded buffer of packets for one mobile node, shared by its flows, metering their
    arrival rate (§5.4; module docstring).

    ``budget``, when given, is shared with the router's other buffers: a packet is also
    refused (or makes room in this buffer) when the budget is spent.
    """

    def __init__(self, limit: int, *, burst: int = BUFFER_BURST_PACKETS,
                 gap_weight: float = GAP_WEIGHT, budget: BufferBudget | None = None,
                 fair: bool = True) -> None:
        if limit < 0 or burst < 1 or not 0 < gap_weight <= 1:
            raise ValueError("need limit >= 0, burst >= 1 and 0 < gap_weight <= 1")
        self.limit = limit
        self.burst = burst
        self.gap_weight = gap_weight
        self.budget = budget if budget is not None else BufferBudget(limit)
        self.fair = fair
        #: Queued packets in arrival order: arrival number -> (flow, packet).
        self._packets: OrderedDict[int, tuple[FlowKey, IPv6Packet]] = OrderedDict()
        #: Each flow's queued arrival numbers, oldest first (no empty deque kept).
        self._flows: dict[FlowKey, deque[int]] = {}
        #: Flows by how many packets they hold (no empty bucket kept), and the largest count.
        self._by_count: dict[int, dict[FlowKey, None]] = {}
        self._longest = 0
        self._arrivals = 0
        self._last_arrival: float | None = None
        self._gap: float | None = None
        #: Packets accepted into the buffer so far (including any dropped later for room).
        self.accepted = 0
        #: Packets dropped because the buffer was full: arrivals refused and queued packets
        #: dropped to make room.
        self.overflow = 0
        #: Of those, the queued packets dropped to make room for another flow's arrival.
        self.evicted = 0
        #: Drops by flow (at most FLOWS_REPORTED flows; the others under None).
        self.drops: dict[FlowKey | None, int] = {}

    def __len__(self) -> int:
        """Packets waiting."""
        return len(self._packets)

    @property
    def interval(self) -> float | None:
        """The metered inter-arrival gap (seconds), None before two arrivals."""
        return self._gap

    def held(self, flow: FlowKey) -> int:
        """Packets of ``flow`` waiting."""
        queue = self._flows.get(flow)
        return 0 if queue is None else len(queue)

    def push(self, packet: IPv6Packet, now: float) -> Admission:
        """Queue ``packet`` arriving at ``now``, dropping by the sharing rule when full."""
        if self._last_arrival is not None:
            gap = max(now - self._last_arrival, 0.0)
            self._gap = gap if self._gap is None else (
                (1 - self.gap_weight) * self._gap + self.gap_weight * gap)
        self._last_arrival = now
        flow = flow_of(packet)
        budget = self.budget
        if len(self._packets) >= self.limit or budget.used >= budget.limit:
            if not self.fair or not self._packets or self.held(flow) >= self._longest:
                self._count_drop(flow)
                return Admission(accepted=False, dropped=flow)
            # Room from a longer flow: its oldest packet goes (module docstring).
            victim = next(iter(self._by_count[self._longest]))
            self._remove(victim, self._flows[victim][0])
            self.evicted += 1
            self._count_drop(victim)
            self._add(flow, packet)
            return Admission(accepted=True, dropped=victim)
        self._add(flow, packet)
        return Admission(accepted=True)

    def _count_drop(self, flow: FlowKey) -> None:
        self.overflow += 1
        key: FlowKey | None = flow
        if flow not in self.drops and len(self.drops) >= FLOWS_REPORTED:
            key = None
        self.drops[key] = self.drops.get(key, 0) + 1

    def _add(self, flow: FlowKey, packet: IPv6Packet) -> None:
        number = self._arrivals
        self._arrivals += 1
        self._packets[number] = (flow, packet)
        queue = self._flows.get(flow)
        if queue is None:
            queue = self._flows[flow] = deque()
        queue.append(number)
        self._recount(flow, len(queue) - 1, len(queue))
        self.budget.used += 1
        self.accepted += 1

    def _remove(self, flow: FlowKey, number: int) -> IPv6Packet:
        """Take the oldest packet of ``flow`` (arrival ``number``) out of the buffer."""
        queue = self._flows[flow]
        queue.popleft()
        _flow, packet = self._packets.pop(number)
        self._recount(flow, len(queue) + 1, len(queue))
        if not queue:
            del self._flows[flow]
        self.budget.used -= 1
        return packet

    def _recount(self, flow: FlowKey, old: int, new: int) -> None:
        """Move ``flow`` from the bucket of ``old`` packets to that of ``new`` (they differ by
        one), keeping the largest count."""
        if old:
            bucket = self._by_count[old]
            del bucket[flow]
            if not bucket:
                del self._by_count[old]
                if self._longest == old and new < old:
                    self._longest = new
        if new:
            self._by_count.setdefault(new, {})[flow] = None
        self._longest = max(self._longest, new)

    def _pop_oldest(self) -> IPv6Packet:
        number, (flow, _packet) = next(iter(self._packets.items()))
        return self._remove(flow, number)

    def drain_burst(self) -> list[IPv6Packet]:
        """The packets to send back to back when draining starts (at most ``burst``).

        Without a metered rate everything goes now (RFC 5568 §5.4 gives no other rate).
        """
        count = len(self._packets) if self._gap is None else min(self.burst, len(self._packets))
        return [self._pop_oldest() for _ in range(count)]

    def pop(self) -> IPv6Packet | None:
        """The next packet of a paced drain, or None when empty."""
        if not self._packets:
            return None
        return self._pop_oldest()

    def clear(self) -> int:
        """Discard every waiting packet; returns how many there were."""
        count = len(self._packets)
        self._packets.clear()
        self._flows.clear()
        self._by_count.clear()
        self._longest = 0
        self.budget.used -= count
        return count
