"""The machinery every sans-IO entity shares: timers, the action queue, events and counters.

The contract (docs/architecture.md): inputs are :meth:`Entity.receive`, :meth:`Entity.handle_timer`
and commands; outputs are pulled with :meth:`Entity.next_deadline` and :meth:`Entity.pull_actions`.
Time arrives as ``now`` (seconds, any monotonic origin) and randomness from the injected
``random.Random``; nothing here reads a clock or the operating system.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from ...wire.errors import MalformedPacket
from ...wire.ipv6 import IPv6Packet, decode_packet, mobility_header_bytes, with_hop_limit
from .actions import Action, new_event
from .tables import EMPTY

#: Heap size up to which a heap is cleaned of its cancelled timers as soon as it grows past
#: its live ones (a mobile node's half-dozen, two of them re-armed by every Router
#: Advertisement); above it, once it has grown a quarter past them (a home agent's or a MAP's
#: timer per mobile node, where a pass per push would cost a pass over thousands).
_SMALL_HEAP = 16
#: [choice] Refusal events of one kind an entity emits per second (:meth:`Entity.refuse`);
#: beyond it a flood is counted, not logged packet by packet.
REFUSAL_EVENTS_PER_SECOND = 10


class ReceivedHeader(bytes):
    """A received Mobility Header's bytes, with the message object they were decoded into
    (:attr:`Entity.received_mobility_header`)."""

    #: The message these bytes were decoded into (``received_or_encoded`` compares it by
    #: identity: no second decode of a received header).
    message: object = None


#: A timer's ``argument`` when its callback takes the time (:meth:`Entity.schedule`).
_NOW: Any = object()
#: The default ``argument`` of :meth:`Entity.reschedule_call` and
#: :meth:`Entity.schedule_call_once`: the table's key itself.
_KEY: Any = object()

#: Timers cancelled so far, by every entity of the process: an entity whose heap had no
#: cancelled timer at its last clean-up, and no cancellation since, has none to drop
#: (:meth:`Entity._push` then skips the clean-up, which would find nothing).
_cancellations = 0


# Positions in a Timer.
_WHEN, _ORDER, _CALLBACK, _ARGUMENT = range(4)


class Timer(list):
    """A scheduled callback; cancel it with :meth:`cancel` (it then never fires).

    The callback gets the time, or ``argument`` when there is one (:meth:`Entity.schedule_call`).

    A timer is its own entry in its entity's heap: the list ``[when, order, callback,
    argument]``, which the heap compares in C, as a list, by ``(when, order)``
    (``order`` is unique within an entity, so a comparison never reaches the callback). A
    heap of ``(when, order, timer)`` tuples would cost a tuple per timer, one more object
    for every full garbage collection to walk (a home agent keeps two timers per binding).
    Made by :meth:`Entity.schedule` and :meth:`Entity.schedule_call` only:
    ``Timer((when, order, callback, argument))``. A cancelled timer's callback is
    :func:`_never_called` (no flag of its own: four entries are 88 bytes, five 104, and a mobile
    node holds about seven timers all run).
    """

    __slots__ = ()

    #: When it fires (the entity's time base).
    when = property(itemgetter(_WHEN))
    #: Its rank among the entity's timers due at the same time (scheduling order).
    order = property(itemgetter(_ORDER))
    #: What it calls (with the time, or with :attr:`argument`).
    callback = property(itemgetter(_CALLBACK))

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self[_CALLBACK] is _never_called

    #: The callback's argument (``_NOW``: the time).
    argument = property(itemgetter(_ARGUMENT))

    def cancel(self) -> None:
        """Stop this timer from firing."""
        global _cancellations
        _cancellations += 1
        # A cancelled timer waits in its entity's heap until it surfaces or a clean-up drops
        # it: let go of the callback (often a closure) and its argument meanwhile.
        self[_CALLBACK] = _never_called
        self[_ARGUMENT] = _NOW

    def __repr__(self) -> str:
        return (f"Timer(when={self[_WHEN]!r}, order={self[_ORDER]!r}, "
                f"cancelled={self.cancelled!r})")


def _never_called(now: Any) -> None:
    """The callback of a cancelled :class:`Timer` (it is skipped, never called)."""
    raise AssertionError("a cancelled timer fired")


class Entity:
    """Base class of every protocol entity (mobile node, home agent, MAP, access router, ...).

    ``answers_neighbor_solicitations``: True for an entity that answers Neighbor
    Solicitations for every address it claims or configures outside the link-local prefix
    (RFC 4861 §7.2.4), so a runtime must not answer for them too (no kernel proxy entries).
    """

    answers_neighbor_solicitations: bool = False

    def __init__(self, name: str, rng: random.Random) -> None:
        self.name = name
        self.rng = rng
        self.now = 0.0
        self.counters: Counter[str] = Counter()
        self._actions: list[Action] = []
        #: The timer heap: each :class:`Timer` is its own entry, compared in C by (when, order).
        self._timers: list[Timer] = []
        self._compact_at = 0
        #: ``_cancellations`` when the heap was last cleaned (-1: never, it may hold some).
        self._clean_at = -1
        self._timer_order = itertools.count()
        self._received_raw: bytes | None = None
        self._received_packet: IPv6Packet | None = None
        #: Refusal events emitted in the current second, per kind (:meth:`refuse`).
        #: (The shared empty mapping until the first: most entities never refuse anything.)
        self._refusal_window: dict[str, tuple[float, int]] = EMPTY

    # -- outputs -----------------------------------------------------------------------------

    def pull_actions(self) -> list[Action]:
        """Return and forget every action produced since the last call."""
        actions, self._actions = self._actions, []
        return actions

    def next_deadline(self) -> float | None:
        """The time of the earliest pending timer, or None when nothing is scheduled."""
        timers = self._timers
        while timers and timers[0][_CALLBACK] is _never_called:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    @property
    def pending_timers(self) -> int:
        """Timers in the heap, cancelled ones not yet discarded included (at most twice the
        live ones, :meth:`schedule`)."""
        return len(self._timers)

    def table_sizes(self) -> dict[str, int]:
        """The size of every table a peer can grow, for the ``state`` dump; subclasses add."""
        return {"timers": len(self._timers)}

    # -- inputs ------------------------------------------------------------------------------

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at or before ``now``, in time order."""
        self.now = now
        timers = self._timers
        while timers and timers[0][_WHEN] <= now:
            timer = heapq.heappop(timers)
            callback = timer[_CALLBACK]
            if callback is not _never_called:
                argument = timer[_ARGUMENT]
                callback(now if argument is _NOW else argument)

    def receive(self, packet: IPv6Packet | bytes, interface: str, now: float) -> None:
        """Take one packet that arrived on ``interface``.

        Bytes are decoded first; a packet that does not decode (or whose checksum is wrong) is
        dropped and counted (RFC 6275 §9.2: silently discarded), never raised to the runtime.
        """
        self.now = now
        if not isinstance(packet, IPv6Packet):
            raw = packet
            try:
                packet = decode_packet(raw)
            except MalformedPacket as exc:
                self.refuse("drop.malformed", "packet.malformed", interface=interface,
                            reason=exc.reason, offset=exc.offset)
                self.on_malformed(raw, exc, interface)
                return
            self._received_raw = raw if raw.__class__ is bytes else bytes(raw)
            self._received_packet = packet
        try:
            self.on_packet(packet, interface)
        finally:
            self._received_raw = self._received_packet = None

    @property
    def received_packet(self) -> bytes | None:
        """The packet being handled, as received; None when it came in already decoded."""
        return self._received_raw

    @property
    def received_mobility_header(self) -> bytes | None:
        """The Mobility Header of the packet being handled, as its sender encoded it.

        None when the packet came in already decoded or carries no Mobility Header.
        Authenticators are verified over these bytes, not over a re-encoding
        (:func:`mipshop.wire.ipv6.mobility_header_bytes`).
        """
        raw = self._received_raw
        data = None if raw is None else mobility_header_bytes(raw)
        if data is None:
            return None
        header = ReceivedHeader(data)
        # The message these bytes were decoded into: a verifier handed that very object needs
        # no decode to know the bytes are its own (:func:`ReceivedHeader.of`).
        payload = self._received_packet.payload if self._received_packet is not None else None
        while isinstance(payload, IPv6Packet):
            payload = payload.payload
        header.message = payload
        return header

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Handle a decoded packet; subclasses override."""
        self.counters["drop.unhandled"] += 1

    def on_malformed(self, raw: bytes, error: MalformedPacket, interface: str) -> None:
        """A packet that did not decode (already counted); subclasses may answer it.

        A node that receives Mobility Headers answers a bad Payload Proto or Header Len with
        an ICMP Parameter Problem (RFC 6275 §9.2,
        :func:`~.icmp_errors.mobility_header_parameter_problem`).
        """

    # -- helpers for subclasses --------------------------------------------------------------

    def schedule(self, delay: float, callback: Callable[[float], None]) -> Timer:
        """Run ``callback(now)`` ``delay`` seconds from the current time.

        A cancelled timer stays in the heap until it surfaces; when the heap has grown past its
        live size (a quarter past it for a heap of more than ``_SMALL_HEAP``) it is rebuilt
        without them, so a timer restarted by every packet from a peer (a router lifetime
        restarted by each Router Advertisement) costs no memory.
        """
        return self._push(Timer((self.now + delay, next(self._timer_order), callback, _NOW)))

    def schedule_call(self, delay: float, method: Callable[[Any], None], argument: Any) -> Timer:
        """Run ``method(argument)`` ``delay`` seconds from the current time.

        For a timer per peer (a binding's expiry, one per mobile node): ``method`` is a bound
        method the entity made once, so the timer is the only object that waits, where a
        closure would keep a function, its closure tuple and a cell per captured name, all
        walked by every full garbage collection.
        """
        return self._push(Timer((self.now + delay, next(self._timer_order), method, argument)))

    def reschedule_call(self, timers: dict[Any, Timer], key: Any, delay: float,
                        method: Callable[[Any], None], argument: Any = _KEY) -> Timer:
        """``timers[key]``, cancelled first if there is one, becomes
        ``schedule_call(delay, method, argument)`` (``argument``: ``key`` unless given; a
        table keyed by an address's :func:`~mipshop.wire.nd_options.address_key` passes the
        address).

        What ``timers.pop(key)``, ``cancel()`` and ``timers[key] = schedule_call(...)`` do, in
        the same order (the old timer is cancelled before the new one enters the heap), with
        one lookup of ``key`` when ``timers`` holds none for it (hashing an address is a
        Python call). A replaced key keeps its place in ``timers`` (no caller iterates it).
        """
        timer = Timer((0.0, 0, method, key if argument is _KEY else argument))
        previous = timers.setdefault(key, timer)
        if previous is not timer:
            previous.cancel()
            timers[key] = timer
        timer[_WHEN] = self.now + delay
        timer[_ORDER] = next(self._timer_order)
        return self._push(timer)

    def schedule_call_once(self, timers: dict[Any, Timer], key: Any,
                           delay: Callable[[], float], method: Callable[[Any], None],
                           argument: Any = _KEY) -> bool:
        """Unless ``timers`` holds ``key``: ``timers[key] = schedule_call(delay(), method,
        argument)`` (``argument``: ``key`` unless given), and True. ``delay`` is called only
        then (it may draw a random number).

        What ``if key not in timers: timers[key] = schedule_call(delay(), method, key)``
        does, with one lookup of ``key`` instead of two.
        """
        timer = Timer((0.0, 0, method, key if argument is _KEY else argument))
        if timers.setdefault(key, timer) is not timer:
            return False
        timer[_WHEN] = self.now + delay()
        timer[_ORDER] = next(self._timer_order)
        self._push(timer)
        return True

    def _push(self, timer: Timer) -> Timer:
        timers = self._timers
        heapq.heappush(timers, timer)
        if len(timers) > self._compact_at:
            if self._clean_at != _cancellations:
                # In place: handle_timer may be iterating over this very list (a callback
                # that schedules); a new list would leave it firing timers the new one also
                # holds.
                timers[:] = [t for t in timers if t[_CALLBACK] is not _never_called]
                heapq.heapify(timers)
                self._clean_at = _cancellations
            # A quarter over the live timers, not twice them: a home agent or a MAP holds a
            # timer per mobile node, and each cancelled one waiting is 130 bytes. A small
            # heap (a mobile node's) is cleaned at its next growth: a pass over a few timers,
            # and no cancelled timer waits (a node kept about one, 140 bytes).
            live = len(timers)
            self._compact_at = live if live <= _SMALL_HEAP else live + live // 4
        return timer

    def one_hop_less(self, packet: IPv6Packet) -> IPv6Packet | None:
        """``packet`` as this node forwards it: its hop limit one lower (RFC 8200 §3; a tunnel
        entry point decrements before encapsulating, RFC 2473 §3.1), or None, counted in
        ``drop.hop_limit``, when it would reach 0."""
        if packet.hop_limit <= 1:
            self.counters["drop.hop_limit"] += 1
            return None
        return with_hop_limit(packet, packet.hop_limit - 1)

    def refuse(self, counter: str, kind: str | None = None, **fields: Any) -> None:
        """Count one refused input under ``counter``; emit the event ``kind`` with ``fields``
        only while fewer than REFUSAL_EVENTS_PER_SECOND of that kind went out this second.

        A flood of bad input is thus logged as counters (and ``events.suppressed``), not as
        one event line per packet.
        """
        self.counters[counter] += 1
        if kind is None:
            return
        if self._refusal_window is EMPTY:
            self._refusal_window = {}
        start, sent = self._refusal_window.get(kind, (self.now, 0))
        if self.now - start >= 1.0:
            start, sent = self.now, 0
        if sent >= REFUSAL_EVENTS_PER_SECOND:
            self.counters["events.suppressed"] += 1
            self._refusal_window[kind] = (start, sent)
            return
        self._refusal_window[kind] = (start, sent + 1)
        self.emit(kind, **fields)

    def act(self, action: Action) -> None:
        """Queue one action for the runtime."""
        self._actions.append(action)

    def emit(self, kind: str, **fields: Any) -> None:
        """Queue a structured :class:`Event`."""
        self._actions.append(new_event(self.now, self.name, kind, fields))

    def emit_fields(self, kind: str, fields: dict[str, Any]) -> None:
        """``emit(kind, **fields)``, the fields given as a dictionary the event then holds
        (not copied): for an event queued per message, a dictionary display costs less than
        keyword arguments gathered into ``**fields`` (about 1,400 instructions less)."""
        self._actions.append(new_event(self.now, self.name, kind, fields))
