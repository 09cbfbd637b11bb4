"""The NAR's handover buffer and its drain policy (RFC 5568 §5.4).

"Routers implementing this specification MUST implement at least the default algorithm, which
is based on the original arrival rates of the buffered packets. A maximum of 5 packets MAY be
sent one after another, but all subsequent packets SHOULD use a sending rate that is determined
by metering the rate at which packets have entered the buffer, potentially using smoothing
techniques such as recent activity over a sliding time window and weighted averages."

:class:`HandoverBuffer` is that default, clockless: it is told ``now`` on every arrival, meters
the inter-arrival gap with an exponentially weighted moving average, and hands out the drain
plan (:meth:`HandoverBuffer.drain_burst`, then one packet per :attr:`HandoverBuffer.interval`);
the owner runs the timers. The buffer is bounded ("Buffer size is local policy and MUST be
bounded"): an arrival beyond ``limit`` is dropped (tail drop) and counted in
:attr:`HandoverBuffer.overflow`.

Resolved ambiguities ([choice]): the weight of the newest gap is 1/4 (as TCP's RTT variance
estimator, RFC 6298); with fewer than two arrivals there is no rate and what is buffered (one
packet at most) goes at once.
"""

from __future__ import annotations

from collections import deque

from ...wire.ipv6 import IPv6Packet
from ..base.constants import BUFFER_BURST_PACKETS

#: [choice] Weight of the newest inter-arrival gap in the moving average.
GAP_WEIGHT = 0.25


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
    """A bounded FIFO of packets for one mobile node, metering their arrival rate (§5.4).

    ``budget``, when given, is shared with the router's other buffers: a packet is also
    refused when the budget is spent.
    """

    def __init__(self, limit: int, *, burst: int = BUFFER_BURST_PACKETS,
                 gap_weight: float = GAP_WEIGHT, budget: BufferBudget | None = None) -> None:
        if limit < 0 or burst < 1 or not 0 < gap_weight <= 1:
            raise ValueError("need limit >= 0, burst >= 1 and 0 < gap_weight <= 1")
        self.limit = limit
        self.burst = burst
        self.gap_weight = gap_weight
        self.budget = budget if budget is not None else BufferBudget(limit)
        self._packets: deque[IPv6Packet] = deque()
        self._last_arrival: float | None = None
        self._gap: float | None = None
        #: Packets accepted into the buffer so far.
        self.accepted = 0
        #: Packets dropped because the buffer was full.
        self.overflow = 0

    def __len__(self) -> int:
        """Packets waiting."""
        return len(self._packets)

    @property
    def interval(self) -> float | None:
        """The metered inter-arrival gap (seconds), None before two arrivals."""
        return self._gap

    def push(self, packet: IPv6Packet, now: float) -> bool:
        """Queue ``packet`` arriving at ``now``; False (and counted) if the buffer is full."""
        if self._last_arrival is not None:
            gap = max(now - self._last_arrival, 0.0)
            self._gap = gap if self._gap is None else (
                (1 - self.gap_weight) * self._gap + self.gap_weight * gap)
        self._last_arrival = now
        budget = self.budget
        if len(self._packets) >= self.limit or budget.used >= budget.limit:
            self.overflow += 1
            return False
        self._packets.append(packet)
        budget.used += 1
        self.accepted += 1
        return True

    def drain_burst(self) -> list[IPv6Packet]:
        """The packets to send back to back when draining starts (at most ``burst``).

        Without a metered rate everything goes now (RFC 5568 §5.4 gives no other rate).
        """
        count = len(self._packets) if self._gap is None else min(self.burst, len(self._packets))
        self.budget.used -= count
        return [self._packets.popleft() for _ in range(count)]

    def pop(self) -> IPv6Packet | None:
        """The next packet of a paced drain, or None when empty."""
        if not self._packets:
            return None
        self.budget.used -= 1
        return self._packets.popleft()

    def clear(self) -> int:
        """Discard every waiting packet; returns how many there were."""
        count = len(self._packets)
        self._packets.clear()
        self.budget.used -= count
        return count
