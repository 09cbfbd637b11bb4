"""Measuring a comparison run as it happens, keeping only what the figures still need.

:mod:`.compare` defines the figures (handovers, disruption, phases, loss, buffering); this
module computes them *online*, from the events the network hands to its subscribers
(:meth:`.network.Network.subscribe`) and from each arrival of a measured flow, so that a run of
an hour with thousands of mobile nodes keeps no event log, no arrival list and no station
history. The results are the same numbers :func:`mipshop.measure.handover_report`,
:func:`mipshop.measure.flow_report` and the post-run definitions give (the simulator's tests
compare them on whole runs):

* a handover is a station's ``wifi.LinkDown`` followed by its ``wifi.LinkUp``; its window is
  its old and new links; the next completed handover's LinkDown bounds it (``following``);
* phases (``movement.detected``, ``coa.configured``, the registration, the FBack) are the first
  events of their kind inside ``[since, following)``, so a handover is settled when the next
  one completes (or when the run ends), and only the events after the oldest unsettled
  handover are kept;
* a handover's disruption waits for the first arrival on the new link at or after the outage
  (:func:`~mipshop.measure.handover_report`), and takes the last arrival on the old link
  before it from a per-link "last arrival" record;
* the uplink's disruption (:func:`~mipshop.measure.uplink_handover_report`: the longest
  silence its receiver hears around a handover) charges each gap between two consecutive
  uplink arrivals to the handover whose LinkDown last preceded the later packet's sending,
  keeping one running maximum per handover;
* a flow's loss and duplicates come from its highest sequence number and the set of gaps
  below it (:class:`FlowCounter`), the same counts :func:`~mipshop.measure.flow_report` gives
  for senders that number their packets from 0;
* means are exact sums (:class:`ExactSum`, :func:`math.fsum`'s partials), so the order in
  which handovers settle does not change a digit.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from ..protocol.base.addressing import interface_identifier_from_mac
from ..protocol.base.tables import EMPTY

#: The kinds a mobile node's phases are read from, with the field a kind must match.
PHASE_KINDS = ("movement.detected", "coa.configured", "home.bu_sent", "home.registered",
               "map.bu_sent", "map.registered", "fmip.fback")


class ExactSum:
    """A running sum whose value is ``math.fsum`` of everything added (Shewchuk's partials,
    the algorithm of ``math.fsum`` and of Python's ``msum`` recipe)."""

    __slots__ = ("count", "partials")

    def __init__(self) -> None:
        self.partials: list[float] = []
        self.count = 0

    def add(self, value: float) -> None:
        """Add one value."""
        self.count += 1
        partials = self.partials
        x = value
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]

    @property
    def total(self) -> float:
        """The correctly rounded sum."""
        return math.fsum(self.partials)

    def mean(self) -> float | None:
        """The mean, or None when nothing was added."""
        return self.total / self.count if self.count else None


class FlowCounter:
    """Loss and duplicates of one flow numbered from 0, online (see the module docstring):
    ``lost = gaps below the highest sequence number + sequence numbers sent above it``.

    The gaps are kept as sorted, disjoint runs ``[start, end)`` of missing numbers: a handover
    loses consecutive packets, so an hour of calls keeps a few runs per handover, where a set
    of the missing numbers held every one of them (3.7 KB per node after 200 simulated seconds
    of the city)."""

    __slots__ = ("_ends", "_starts", "duplicates", "highest", "received")

    def __init__(self) -> None:
        self.highest = -1
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.duplicates = 0
        self.received = 0

    @property
    def runs(self) -> int:
        """How many runs of missing sequence numbers are kept."""
        return len(self._starts)

    def arrived(self, seq: int) -> bool:
        """Count one arrival; True for a first copy."""
        highest = self.highest
        if seq > highest:
            if seq > highest + 1:
                self._starts.append(highest + 1)
                self._ends.append(seq)
            self.highest = seq
        else:
            starts, ends = self._starts, self._ends
            i = bisect.bisect_right(starts, seq) - 1
            if i < 0 or seq >= ends[i]:
                self.duplicates += 1
                return False
            first, end = starts[i], ends[i]
            if first == seq and end == seq + 1:
                del starts[i], ends[i]
            elif first == seq:
                starts[i] = seq + 1
            elif end == seq + 1:
                ends[i] = seq
            else:  # from inside a run: split it
                ends[i] = seq
                starts.insert(i + 1, seq + 1)
                ends.insert(i + 1, end)
        self.received += 1
        return True

    def lost(self, sent: int) -> int:
        """Sequence numbers ``0 .. sent - 1`` that never arrived."""
        below = sum(min(end, sent) - first
                    for first, end in zip(self._starts, self._ends, strict=True) if first < sent)
        return below + max(0, sent - 1 - self.highest)


class _Watch:
    """A handover waiting for its first arrival on the new link."""

    __slots__ = ("index", "new", "old", "threshold")

    def __init__(self, index: int, old: str | None, new: str | None, threshold: float) -> None:
        self.index = index
        self.old = old
        self.new = new
        self.threshold = threshold


class _Handover:
    """A completed handover not settled yet (its phases need the next one's LinkDown)."""

    __slots__ = ("down", "up")

    def __init__(self, down: float, up: float) -> None:
        self.down = down
        self.up = up


#: Every :attr:`MobileRecorder.up_new` before its first span.
_NO_SPANS: frozenset[int] = frozenset()
#: The uplink gaps of a node without an uplink, and the LinkGoingDown times and watches of a
#: node before its first (a node without a downlink flow has none, a run without predictive
#: handovers no warning): the shared read-only empty mapping (``tables.EMPTY``) and an empty
#: tuple shared by every node instead of an empty dictionary (64 bytes) and empty lists (56
#: bytes each) per node.
_NOTHING: Any = ()


class MobileRecorder:
    """What one mobile node's figures still need (see the module docstring)."""

    __slots__ = ("buffered", "count", "current", "down", "downs", "events", "first_down",
                 "flow", "last_on", "lgd", "pending", "trace", "trace_open", "up_downs",
                 "up_gaps", "up_last", "up_new", "watches", "windows")

    def __init__(self, *, flow: bool, trace: bool, uplink: bool) -> None:
        self.count = 0  # completed handovers
        self.current: str | None = None  # link of the AP the station is on
        self.down: float | None = None  # LinkDown of the handover in progress
        #: The last completed handover, not yet settled (it is bounded by the next one's
        #: LinkDown): at most one at a time, so a slot, not a list (88 bytes a node).
        self.pending: _Handover | None = None
        #: The phase events a handover may still read, flat: ``time, kind, previous`` for
        #: each in turn (:func:`_first`), three list slots (24 bytes) an event instead of a
        #: tuple of three and its slot (72 bytes; about four events a node wait at any time).
        self.events: list[Any] = []
        self.lgd: list[float] = _NOTHING  # LinkGoingDown times not yet used
        self.buffered = 0
        self.flow = FlowCounter() if flow else None
        self.last_on: dict[str | None, tuple[float, float | None]] | None = {} if flow else None
        self.watches: list[_Watch] = [] if flow else _NOTHING
        #: Mobile node 0 only: its handover times, disruption windows and trace.
        self.first_down: float | None = None
        self.downs: list[float] | None = [] if trace else None
        self.trace: deque[tuple[int, float, float]] | None = deque() if trace else None
        self.trace_open = trace
        self.windows: dict[int, tuple[float, float] | None] | None = {} if trace else None
        #: The uplink: completed handovers' LinkDown times, the last uplink arrival, the
        #: longest gap charged to each handover, and the handovers that saw a packet sent
        #: after their outage arrive. Only a node with an uplink keeps the times (None
        #: otherwise): they grow with its handovers, 32 bytes each, for the whole run.
        self.up_downs: list[float] | None = [] if uplink else None
        self.up_last: float | None = None
        self.up_gaps: dict[int, float] = {} if uplink else EMPTY
        #: (The shared frozenset() until the first: only one node in a hundred carries a call.)
        self.up_new: set[int] | frozenset[int] = _NO_SPANS

    def uplink_disruptions(self) -> list[float]:
        """The uplink disruption of each completed handover that has one (seconds)."""
        if self.up_downs is None:
            return []
        return [self.up_gaps[k] for k in range(len(self.up_downs))
                if k in self.up_new and k in self.up_gaps]

    def disruption_windows(self) -> list[tuple[float, float] | None]:
        """For each completed handover (traced node only), the arrival times of the last
        packet on the old link and the first on the new one, or None."""
        windows = self.windows or {}
        return [windows.get(k) for k in range(self.count)]


class RunRecorder:
    """Measures one comparison run online (see the module docstring).

    ``ap_links`` maps an AP's BSSID to its link's name; ``names`` a mobile node's name to its
    index; ``hierarchical`` reads the registration phase at the MAP; ``predictive`` starts the
    fast-handover phase at LinkGoingDown (else at LinkUp); ``fast`` measures that phase at all.
    ``trace_window`` is (before, after) the first handover of mobile node 0 for its trace.
    """

    def __init__(
        self,
        *,
        ap_links: dict[bytes, str],
        hierarchical: bool,
        fast: bool,
        predictive: bool,
        trace_window: tuple[float, float],
        owner_of: Callable[[int], int | None],
    ) -> None:
        self.ap_links = ap_links
        self.hierarchical = hierarchical
        self.fast = fast
        self.predictive = predictive
        self.trace_before, self.trace_after = trace_window
        self.owner_of = owner_of
        self.mobiles: dict[str, MobileRecorder] = {}
        self.by_index: dict[int, MobileRecorder] = {}
        self.handovers = 0
        self.disruptions: list[float] = []
        self.phases: dict[str, ExactSum] = {name: ExactSum() for name in (
            "l2", "movement_detection", "address_configuration", "registration")}
        if fast:
            self.phases["fast_handover"] = ExactSum()
        sent, done = (("map.bu_sent", "map.registered") if hierarchical
                      else ("home.bu_sent", "home.registered"))
        self._sent_kind, self._done_kind = sent, done
        kinds = {"movement.detected", "coa.configured", sent, done}
        if fast:
            kinds.add("fmip.fback")
        self.kinds = frozenset(kinds)

    # -- wiring ----------------------------------------------------------------------------

    def add_mobile(self, name: str, index: int, *, flow: bool, trace: bool,
                   uplink: bool) -> MobileRecorder:
        """Follow the mobile node ``name`` (its downlink measured when ``flow``, its uplink
        when ``uplink``)."""
        recorder = MobileRecorder(flow=flow, trace=trace, uplink=uplink)
        self.mobiles[name] = recorder
        self.by_index[index] = recorder
        return recorder

    def subscribe(self, network: Any) -> None:
        """Subscribe to the events the figures are read from."""
        network.subscribe("wifi.LinkDown", self._link_down)
        network.subscribe("wifi.LinkUp", self._link_up)
        if self.fast and self.predictive:
            network.subscribe("wifi.LinkGoingDown", self._going_down)
        for kind in sorted(self.kinds):
            network.subscribe(kind, self._phase_event)
        if self.fast:
            network.subscribe("fmip.buffered", self._buffered)

    # -- events ----------------------------------------------------------------------------

    def _link_down(self, record: Any) -> None:
        mobile = self.mobiles.get(record.node)
        if mobile is not None:
            mobile.down = record.time

    def _going_down(self, record: Any) -> None:
        mobile = self.mobiles.get(record.node)
        if mobile is not None:
            if mobile.lgd is _NOTHING:
                mobile.lgd = []
            mobile.lgd.append(record.time)

    def _link_up(self, record: Any) -> None:
        mobile = self.mobiles.get(record.node)
        if mobile is None:
            return
        trigger = record.event.fields["trigger"]
        new = self.ap_links.get(trigger.ap) if trigger.ap is not None else None
        old, mobile.current = mobile.current, new
        down, mobile.down = mobile.down, None
        if down is None:  # the first association
            return
        up = record.time
        index = mobile.count
        mobile.count += 1
        if mobile.pending is not None:
            # The previous handover is bounded by this one's LinkDown: settle it.
            handover, mobile.pending = mobile.pending, None
            self._settle(mobile, handover, down)
        mobile.pending = _Handover(down, up)
        if mobile.flow is not None:
            mobile.watches.append(_Watch(index, old, new, up if old == new else down))
        if mobile.up_downs is not None:
            mobile.up_downs.append(down)
        if mobile.downs is not None:
            mobile.downs.append(down)
        if mobile.trace is not None and mobile.first_down is None:
            mobile.first_down = down
            low = down - self.trace_before
            while mobile.trace and mobile.trace[0][2] < low:
                mobile.trace.popleft()

    def _phase_event(self, record: Any) -> None:
        mobile = self.mobiles.get(record.node)
        if mobile is None:
            return
        events = mobile.events
        time = record.time
        if (events and events[0] < time and mobile.pending is None and mobile.down is None
                and not mobile.lgd):
            # No handover can look back before now: forget the older events.
            mobile.events = events = _since(events, time)
        events += (time, record.event.kind, record.event.fields.get("previous"))

    def _buffered(self, record: Any) -> None:
        fields = record.event.fields
        if not fields.get("data", True):
            return  # signalling the NAR held (the FBack copy to the NCoA): not data
        mobile = self.by_index.get(self._owner(fields["address"]))  # type: ignore[arg-type]
        if mobile is not None:
            mobile.buffered += 1

    def _owner(self, address: Any) -> int | None:
        return self.owner_of(int(address) & 0xFFFF_FFFF_FFFF_FFFF)

    # -- arrivals --------------------------------------------------------------------------

    def arrival(self, mobile: MobileRecorder, seq: int, sent: float, now: float,
                link: str | None) -> None:
        """One downlink datagram of ``mobile``'s flow arrived at ``now`` on ``link``."""
        assert mobile.flow is not None and mobile.last_on is not None
        mobile.flow.arrived(seq)
        watches = mobile.watches
        if watches:
            resolved = [w for w in watches if w.new == link and now >= w.threshold]
            for watch in resolved:
                watches.remove(watch)
                last = mobile.last_on.get(watch.old)
                before = None
                if last is not None:
                    before = last[0] if last[0] < now else last[1]
                if before is not None:
                    self.disruptions.append(now - before)
                if mobile.windows is not None:
                    mobile.windows[watch.index] = None if before is None else (before, now)
        previous = mobile.last_on.get(link)
        if previous is None:
            mobile.last_on[link] = (now, None)
        elif previous[0] != now:
            mobile.last_on[link] = (now, previous[0])
        trace = mobile.trace
        if trace is not None and mobile.trace_open:
            first = mobile.first_down
            if first is None:
                low = (mobile.down if mobile.down is not None else now) - self.trace_before
                while trace and trace[0][2] < low:
                    trace.popleft()
                trace.append((seq, sent, now))
            elif now <= first + self.trace_after:
                trace.append((seq, sent, now))
            else:
                mobile.trace_open = False

    def uplink_arrival(self, mobile: MobileRecorder, seq: int, sent: float, now: float,
                       link: str | None) -> None:
        """One uplink datagram of ``mobile`` (a first copy) reached its peer at ``now``
        (``mobile`` was added with ``uplink=True``)."""
        downs = mobile.up_downs
        if downs is None:
            raise ValueError("an uplink arrival for a mobile node added without uplink")
        span = bisect.bisect_right(downs, sent) - 1
        last, mobile.up_last = mobile.up_last, now
        if span < 0:
            return  # sent before the first handover
        down = downs[span]
        if sent >= down:
            new = mobile.up_new
            if not isinstance(new, set):
                new = mobile.up_new = set()
            new.add(span)
        if last is not None:
            gap = now - last
            if gap > mobile.up_gaps.get(span, -1.0):
                mobile.up_gaps[span] = gap

    # -- settling --------------------------------------------------------------------------

    def _settle(self, mobile: MobileRecorder, handover: _Handover, following: float) -> None:
        self.handovers += 1
        down, up = handover.down, handover.up
        phases = self.phases
        phases["l2"].add(up - down)
        events = mobile.events
        detected = _first(events, "movement.detected", up, following)
        if detected is not None:
            phases["movement_detection"].add(detected - up)
            configured = _first(events, "coa.configured", detected, following)
            if configured is not None:
                phases["address_configuration"].add(configured - detected)
                bu = _first(events, self._sent_kind, configured, following)
                if bu is not None:
                    done = _first(events, self._done_kind, bu, following,
                                  previous=self.hierarchical)
                    if done is not None:
                        phases["registration"].add(done - bu)
        start: float | None = None
        if self.fast:
            if self.predictive:
                warned = [t for t in mobile.lgd if t <= down]
                start = warned[-1] if warned else None
                if warned:
                    # Later handovers start at this warning or a later one.
                    mobile.lgd = [t for t in mobile.lgd if t >= start]  # type: ignore[operator]
            else:
                start = up
            if start is not None:
                fback = _first(events, "fmip.fback", start, following)
                if fback is not None:
                    phases["fast_handover"].add(fback - start)
        # Later handovers read events from their own LinkDown or warning on.
        keep = following
        if mobile.lgd:
            keep = min(keep, mobile.lgd[0])
        if events and events[0] < keep:
            mobile.events = _since(events, keep)

    def finish(self) -> None:
        """Settle every handover still open (the run is over)."""
        for mobile in self.mobiles.values():
            if mobile.pending is not None:
                handover, mobile.pending = mobile.pending, None
                self._settle(mobile, handover, math.inf)


def _first(events: list[Any], kind: str, since: float, until: float,
           previous: bool = False) -> float | None:
    """The time of the first ``kind`` event in ``[since, until)`` (with ``previous`` False
    when ``previous`` is asked for: a registration of the current binding, not the old), in
    a flat list of events (:attr:`MobileRecorder.events`)."""
    for index in range(0, len(events), 3):
        time = events[index]
        if time < since:
            continue
        if time >= until:
            return None
        if events[index + 1] == kind and (not previous or events[index + 2] is False):
            return time
    return None


def _since(events: list[Any], keep: float) -> list[Any]:
    """The events of a flat list (:attr:`MobileRecorder.events`) at ``keep`` or later, in
    their order."""
    kept: list[Any] = []
    for index in range(0, len(events), 3):
        if events[index] >= keep:
            kept += events[index:index + 3]
    return kept


def mobile_index_owner(count: int, mac_of: Callable[[int], bytes]) -> Callable[[int], int | None]:
    """The mobile node index whose MAC gives an interface identifier (RFC 4291 App. A), for
    MACs ``mac_of(i)`` that carry ``i`` in their last four octets."""

    def owner(iid: int) -> int | None:
        raw = iid.to_bytes(8, "big")
        index = int.from_bytes(raw[2:3] + raw[5:8], "big")
        if index < count and interface_identifier_from_mac(mac_of(index)) == iid:
            return index
        return None

    return owner


__all__ = ["ExactSum", "FlowCounter", "MobileRecorder", "RunRecorder", "mobile_index_owner"]
