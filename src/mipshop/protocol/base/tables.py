"""Bounded tables for state a peer can grow, and the reply limiter (no clock: ``now`` comes in).

Every table a peer can fill by sending packets has a bound, a counter and a test. Two shapes
recur:

* :class:`BoundedTable`: a mapping with a capacity and an optional lifetime per entry,
  oldest-first eviction (least recently written), each operation amortised O(1). The PAR's
  link-layer addresses learnt from RtSolPrs and the NAR's neighbour entries from UNAs are such
  tables.
* :class:`ReplyLimiter`: how often a node may answer input it cannot trust (a Binding
  Acknowledgement to a BU that failed authentication, a Binding Error): at most ``per_source``
  answers per ``window`` to one source, and ``total`` per ``window`` to all sources together,
  so that spoofed sources can neither make it a reflector nor grow its memory (RFC 6275 §9.3.3
  and RFC 4443 §2.4 (f) ask for the rate limit; the bound on the table is ours).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from types import MappingProxyType
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: One read-only empty mapping, shared by every table that stays empty in most runs until its
#: first entry (its owner then replaces it with a dictionary of its own): a mobile node's
#: rarely used dictionaries cost 64 bytes each when empty, and a city holds thousands of
#: nodes. Typed ``Any`` so that it stands in for a ``dict``; writing to it raises TypeError.
EMPTY: Any = MappingProxyType({})

#: [choice] Answers to untrusted input per source and window, and in total per window.
REPLIES_PER_SOURCE = 1
REPLIES_TOTAL = 100
#: [choice] Sources the reply limiter remembers at once (it forgets the oldest beyond).
REPLY_SOURCES_KEPT = 4096


class BoundedTable(Generic[K, V]):
    """A mapping of at most ``capacity`` entries, each kept at most ``lifetime`` seconds.

    ``clock`` reads the owner's current time (an entity's ``now``: nothing here reads a real
    clock). Writing an entry makes it the newest; when full, the oldest is evicted (counted in
    :attr:`evicted`). Expired entries are invisible (``get``, ``in``, ``[]``) and are dropped
    from the old end as writes go by: every operation is amortised O(1) and the table never
    holds more than ``capacity`` entries.
    """

    def __init__(self, capacity: int, *, clock: Callable[[], float],
                 lifetime: float | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        if lifetime is not None and not lifetime > 0:
            raise ValueError("lifetime must be positive")
        self.capacity = capacity
        self.lifetime = lifetime
        self._clock = clock
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        #: Entries dropped because the table was full.
        self.evicted = 0

    def __setitem__(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` now (the newest entry)."""
        now = self._clock()
        entries = self._entries
        entries.pop(key, None)
        self._expire(now)
        while len(entries) >= self.capacity:
            entries.popitem(last=False)
            self.evicted += 1
        entries[key] = (value, now)

    def get(self, key: K, default: V | None = None) -> V | None:
        """The live value under ``key``, or ``default``."""
        found = self._entries.get(key)
        if found is None:
            return default
        value, written = found
        if self.lifetime is not None and self._clock() - written >= self.lifetime:
            return default
        return value

    def __getitem__(self, key: K) -> V:
        """The live value under ``key``; KeyError if none."""
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        """True if ``key`` has a live entry."""
        return self.get(key) is not None  # type: ignore[arg-type]

    def __delitem__(self, key: K) -> None:
        """Remove ``key`` (KeyError if it has no entry)."""
        del self._entries[key]

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Remove ``key``; its value (live or not), or ``default``."""
        found = self._entries.pop(key, None)
        return default if found is None else found[0]

    def __len__(self) -> int:
        """Entries stored, expired ones not yet dropped included (at most ``capacity``)."""
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        """Keys of the stored entries, oldest first."""
        return iter(list(self._entries))

    def _expire(self, now: float) -> None:
        if self.lifetime is None:
            return
        entries, limit = self._entries, now - self.lifetime
        while entries:
            key = next(iter(entries))
            if entries[key][1] > limit:
                return
            del entries[key]


class ReplyLimiter:
    """At most ``per_source`` replies per ``window`` to one source and ``total`` to all.

    ``total`` None: no overall limit (a per-source limit only, e.g. per mobile node).

    Fixed windows per source, remembered in a table of at most ``max_sources`` (the oldest
    forgotten first, which at worst grants a forgotten source one more reply, still within
    ``total``). :meth:`allow` is O(1) amortised; the table never exceeds ``max_sources``.
    """

    def __init__(self, *, per_source: int = REPLIES_PER_SOURCE,
                 total: int | None = REPLIES_TOTAL, window: float = 1.0,
                 max_sources: int = REPLY_SOURCES_KEPT) -> None:
        if per_source < 1 or (total is not None and total < 1) or max_sources < 1:
            raise ValueError("per_source, total and max_sources must be >= 1")
        if not window > 0:
            raise ValueError("window must be positive")
        self.per_source = per_source
        self.total = total
        self.window = window
        self.max_sources = max_sources
        self._sources: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._total_start = float("-inf")
        self._total_sent = 0

    def allow(self, source: Hashable, now: float) -> bool:
        """True (and the reply counted) if one more reply to ``source`` may leave at ``now``."""
        if now - self._total_start >= self.window:
            self._total_start, self._total_sent = now, 0
        sources = self._sources
        # Forget sources whose window is over (oldest first: writes go to the end).
        while sources:
            oldest = next(iter(sources))
            if now - sources[oldest][0] < self.window:
                break
            del sources[oldest]
        known = sources.pop(source, None)
        start, sent = known if known is not None else (now, 0)
        if now - start >= self.window:
            start, sent = now, 0
        if sent >= self.per_source or (
                self.total is not None and self._total_sent >= self.total):
            if known is not None:  # a source never answered is not worth remembering
                sources[source] = (start, sent)
            return False
        sources[source] = (start, sent + 1)
        if len(sources) > self.max_sources:
            self._trim()
        self._total_sent += 1
        return True

    def _trim(self) -> None:
        while len(self._sources) > self.max_sources:
            self._sources.popitem(last=False)

    def __len__(self) -> int:
        """Sources remembered (at most ``max_sources``)."""
        return len(self._sources)
