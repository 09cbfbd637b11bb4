"""The discrete-event kernel: virtual time, a heap of cancellable timers, seeded randomness.

Events are ordered by ``(time, sequence)``: two events at the same instant run in the order they
were scheduled (FIFO), which with a fixed seed makes every run repeat exactly. The heap holds
plain ``list`` entries ``[time, sequence, callback, args]`` (:data:`Timer`; for
:meth:`Kernel.call_at`, the one argument itself in place of ``args``) so that ``heapq``
compares them in C (the sequence number is unique, so the callback is never compared) and
scheduling builds no object beyond the list; cancelling a timer clears its callback and the run
loop skips it when it surfaces (lazy deletion, as asyncio does with a cancelled ``TimerHandle``).
Entities re-arm their timer at every deadline change, so cancelled entries can outnumber live
ones by far in a long run (a dozen per mobile node after five simulated minutes of a city): when
the cancellations since the last clean-up exceed an eighth of the heap (and a minimum), the heap
is rebuilt without them, as asyncio does (at half, as asyncio has it, a 10,000-node city kept
nearly four dead entries per node; at a quarter, one dead entry waited for three live ones, each
about 150 bytes with its time and sequence number). The order of events is unchanged: it is
fixed by the unique ``(time, sequence)`` keys, not by the heap's layout.

Randomness: the kernel owns ``random.Random(seed)`` (:attr:`Kernel.random`) and derives an
independent generator per component *name* (:meth:`Kernel.rng`), seeded from the string
``"{seed}/{name}"`` (``random.seed`` hashes a ``str`` with SHA-512, independent of
``PYTHONHASHSEED``). Adding a component therefore never shifts another component's stream.
A component that draws rarely (a mobile node: sequence numbers, identifiers, its next
waypoint) takes :meth:`Kernel.sparse_rng` instead, which holds no generator state between
draws (:class:`SparseRandom`), so that a hundred thousand of them cost no memory.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from typing import Any

_INFINITY = float("inf")
_heappush = heapq.heappush
_heappop = heapq.heappop


#: A scheduled event as the heap stores it: the list ``[time, sequence, callback, args]``.
#: :meth:`Kernel.schedule` returns it as the handle to :meth:`Kernel.cancel` (as the standard
#: library's ``sched.scheduler.cancel(event)`` does); ``timer[0]`` is its time.
Timer = list


class SparseRandom:
    """A ``random.Random`` stand-in that keeps no generator between draws.

    Each method looked up (``rng.randrange``, ``rng.choice``, ...) is that of a fresh
    ``random.Random`` seeded from ``"{name}/{draw}"``, the draw number counting lookups: the
    same sequence of calls gives the same values, and the object is a name and a counter
    (about 100 bytes, against 2.5 KB for a Mersenne Twister's state).
    """

    __slots__ = ("_draws", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._draws = 0

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        generator = random.Random(f"{self._name}/{self._draws}")
        self._draws += 1
        return getattr(generator, attribute)


class ReplayRandom:
    """``random.Random(seed)`` for a component that draws a few dozen times over a run, holding
    the seed and the calls made instead of the generator's 2.5 KB of Mersenne Twister state.

    Each call seeds a fresh ``random.Random(seed)``, replays every earlier call on it (kept as
    runs of equal calls: a component that always calls ``uniform(25, 50)`` keeps one entry)
    and makes the new one, so every value is the one ``random.Random(seed)`` itself would have
    returned (unlike :class:`SparseRandom`, whose stream is its own). A call costs a seeding
    and the earlier draws: for arguments that are plain values, not for a long stream.
    """

    __slots__ = ("_calls", "_seed")

    def __init__(self, seed: str) -> None:
        self._seed = seed
        #: Runs of equal calls so far: ``(method, args, kwargs, count)``.
        self._calls: tuple[tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...], int], ...] = ()

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if not callable(getattr(random.Random, attribute, None)):
            raise AttributeError(attribute)

        def call(*args: Any, **kwargs: Any) -> Any:
            generator = random.Random(self._seed)
            for name, earlier, named, count in self._calls:
                method = getattr(generator, name)
                for _ in range(count):
                    method(*earlier, **dict(named))
            value = getattr(generator, attribute)(*args, **kwargs)
            key = (attribute, args, tuple(sorted(kwargs.items())))
            calls = self._calls
            if calls and calls[-1][:3] == key:
                self._calls = (*calls[:-1], (*key, calls[-1][3] + 1))
            else:
                self._calls = (*calls, (*key, 1))
            return value

        return call


class Kernel:
    """Virtual clock and event queue (see the module docstring).

    ``schedule(delay, callback, *args)`` and ``schedule_at(time, callback, *args)`` return a
    :data:`Timer` for :meth:`cancel`; :meth:`run` pops events in ``(time, sequence)`` order and
    calls ``callback(*args)`` with :attr:`now` set to the event's time.
    """

    __slots__ = ("_cancelled", "_counter", "_heap", "_stopped", "events_processed", "now",
                 "random", "seed")

    #: Cancellations below which the heap is never cleaned up (a clean-up costs a pass). Not
    #: more: a 1,000-node city holds about 3,400 live entries, and 4,096 dead ones waited.
    COMPACT_MIN = 1024

    def __init__(self, seed: int = 0) -> None:
        self.now = 0.0
        self.seed = seed
        self.random = random.Random(seed)
        self.events_processed = 0
        self._heap: list[Timer] = []
        self._cancelled = 0
        self._counter = itertools.count()
        self._stopped = False

    # -- randomness -----

    def rng(self, name: str) -> random.Random:
        """An independent generator for the component ``name``, fixed by (seed, name)."""
        return random.Random(f"{self.seed}/{name}")

    def sparse_rng(self, name: str) -> random.Random:
        """:meth:`rng` for a component that draws rarely: a :class:`SparseRandom` (its own
        stream too, fixed by (seed, name))."""
        return SparseRandom(f"{self.seed}/{name}")  # type: ignore[return-value]

    # -- scheduling -----

    def schedule(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` ``delay`` seconds from now (``delay >= 0``)."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        timer = [self.now + delay, next(self._counter), callback, args]
        _heappush(self._heap, timer)
        return timer

    def schedule_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` at virtual time ``when`` (not in the past)."""
        if when < self.now:
            raise ValueError(f"time {when} is before now ({self.now})")
        timer = [when, next(self._counter), callback, args]
        _heappush(self._heap, timer)
        return timer

    def call_at(self, when: float, callback: Callable[[Any], Any], argument: Any) -> Timer:
        """:meth:`schedule_at` for a callback of one argument, kept as it is in the entry, not
        in a tuple of one: the kernel's heap holds one such entry for every mobile node's
        entity and its movement, a city tens of thousands (a tuple of one is 48 bytes)."""
        if when < self.now:
            raise ValueError(f"time {when} is before now ({self.now})")
        if type(argument) is tuple:
            argument = (argument,)  # a tuple in the entry is the arguments' tuple (run())
        timer = [when, next(self._counter), callback, argument]
        _heappush(self._heap, timer)
        return timer

    @property
    def queue(self) -> list[Timer]:
        """The event heap itself, for a component that schedules on its hot path without a
        call (a link, once per frame): ``heapq.heappush(queue, [when, next(sequence),
        callback, args])`` is what :meth:`schedule_at` does, without its check that ``when``
        is not in the past (the caller's to keep) and without the call. Take it once: the list
        is the same for the kernel's lifetime (a clean-up rebuilds it in place)."""
        return self._heap

    @property
    def sequence(self) -> Iterator[int]:
        """The counter whose next value orders an entry pushed onto :attr:`queue` among those
        at the same time (the one :meth:`schedule_at` draws from)."""
        return self._counter

    def cancel(self, timer: Timer) -> None:
        """Stop ``timer``'s callback from running (harmless if it already ran)."""
        if timer[2] is None:
            return
        timer[2] = None
        # It waits in the heap until it surfaces or a clean-up drops it: let go of its
        # arguments meanwhile (a tuple, and what it holds).
        timer[3] = ()
        # Counts timers that already ran too (their callback stays set): that only makes a
        # clean-up come earlier, and each one resets the count, so the cost stays amortised.
        self._cancelled += 1
        if self._cancelled > self.COMPACT_MIN and 8 * self._cancelled > len(self._heap):
            self._compact()

    def _compact(self) -> None:
        """Drop the cancelled entries from the heap (module docstring)."""
        live = [entry for entry in self._heap if entry[2] is not None]
        heapq.heapify(live)
        # In place: run() holds a reference to the list.
        self._heap[:] = live
        self._cancelled = 0

    @staticmethod
    def cancelled(timer: Timer) -> bool:
        """True once :meth:`cancel` was called on ``timer``."""
        return timer[2] is None

    def stop(self) -> None:
        """Make :meth:`run` return after the current event."""
        self._stopped = True

    @property
    def pending(self) -> int:
        """Entries in the heap, cancelled ones included (they are dropped lazily)."""
        return len(self._heap)

    def peek(self) -> float | None:
        """The time of the next live event, or None when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # -- the loop -----

    def run(self, until: float | None = None, max_events: int | None = None) -> int:
        """Process events in order; return how many callbacks ran.

        Stops when the heap is empty, when the next event is later than ``until`` (the clock is
        then advanced to ``until``, as SimPy's ``run(until=...)`` does), after ``max_events``
        callbacks, or when a callback calls :meth:`stop`. Events at exactly ``until`` run.
        """
        heap = self._heap
        pop = _heappop
        limit = _INFINITY if until is None else until
        budget = -1 if max_events is None else max_events
        count = 0
        self._stopped = False
        if budget == 0:
            return 0
        # The hot loop: pop first (one heap access), push back the rare entry beyond ``until``.
        while heap:
            entry = pop(heap)
            when = entry[0]
            if when > limit:
                _heappush(heap, entry)
                break
            callback = entry[2]
            if callback is None:
                continue
            self.now = when
            arguments = entry[3]
            if type(arguments) is tuple:
                callback(*arguments)
            else:
                callback(arguments)  # call_at's one argument
            count += 1
            if count == budget or self._stopped:
                break
        if until is not None and until > self.now and not self._stopped and count != budget:
            self.now = until
        self.events_processed += count
        return count
