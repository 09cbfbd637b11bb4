"""The entity machinery: timers fire in order, and cancelled timers do not pile up."""

from __future__ import annotations

import random
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mipshop.protocol.base.entity import Entity


@settings(max_examples=100)
@given(st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=200))
def test_timers_fire_in_time_order_and_cancelled_ones_never(plan: list[tuple[float, bool]]) -> None:
    entity = Entity("e", random.Random(0))
    fired: list[int] = []
    expected = []
    for index, (delay, cancel) in enumerate(plan):
        timer = entity.schedule(delay, lambda now, i=index: fired.append(i))
        if cancel:
            timer.cancel()
        else:
            expected.append((delay, index))
    entity.handle_timer(1000.0)
    assert fired == [index for _delay, index in sorted(expected)]


@settings(max_examples=100)
@given(st.lists(st.tuples(st.floats(0, 100), st.booleans(), st.booleans()), max_size=200))
def test_calls_and_callbacks_share_one_time_order(
        plan: list[tuple[float, bool, bool]]) -> None:
    # schedule_call(delay, method, argument) runs method(argument), not method(now), in the
    # same order as the schedule() timers around it; a cancelled one never runs.
    entity = Entity("e", random.Random(0))
    fired: list[tuple[str, object]] = []
    expected = []
    for index, (delay, call, cancel) in enumerate(plan):
        if call:
            timer = entity.schedule_call(delay, lambda arg: fired.append(("call", arg)), index)
            outcome: tuple[str, object] = ("call", index)
        else:
            timer = entity.schedule(delay, lambda now: fired.append(("time", now)))
            outcome = ("time", 1000.0)
        if cancel:
            timer.cancel()
        else:
            expected.append((delay, index, outcome))
    entity.handle_timer(1000.0)
    assert fired == [outcome for _delay, _index, outcome in sorted(expected)]


def test_a_timer_restarted_by_every_packet_keeps_the_heap_small() -> None:
    entity = Entity("e", random.Random(0))
    timer = entity.schedule(1800.0, lambda now: None)
    for _ in range(10_000):  # a router lifetime restarted by each Router Advertisement
        timer.cancel()
        timer = entity.schedule(1800.0, lambda now: None)
    assert len(entity._timers) <= 32
    assert entity.next_deadline() == 1800.0


def test_a_compaction_while_timers_fire_fires_each_timer_once() -> None:
    # A callback that schedules (and cancels) enough timers to compact the heap while
    # handle_timer is popping it must not make the remaining due timers fire twice.
    entity = Entity("e", random.Random(0))
    fired: list[str] = []
    doomed = [entity.schedule(50.0, lambda now: None) for _ in range(40)]

    def busy(now: float) -> None:
        fired.append("busy")
        for timer in doomed:
            timer.cancel()
        for _ in range(30):
            entity.schedule(100.0, lambda now: None).cancel()

    entity.schedule(1.0, busy)
    entity.schedule(1.0, lambda now: fired.append("second"))
    entity.handle_timer(1.0)
    entity.handle_timer(2.0)
    assert fired == ["busy", "second"]


def test_a_cancelled_timer_lets_go_of_its_callback_and_argument() -> None:
    # A cancelled timer waits in the heap until it surfaces: it must not keep its closure (and
    # what the closure holds) or its argument alive meanwhile.
    import gc
    import weakref

    class Held:
        pass

    entity = Entity("e", random.Random(0))
    held, argument = Held(), Held()
    closure = weakref.ref(held)
    timer = entity.schedule(100.0, lambda now, kept=held: None)
    call = entity.schedule_call(100.0, lambda arg: None, argument)
    kept_argument = weakref.ref(argument)
    del held, argument
    timer.cancel()
    call.cancel()
    gc.collect()
    assert entity.pending_timers == 2
    assert closure() is None and kept_argument() is None
    entity.handle_timer(1000.0)  # skipped, never called


def test_a_peer_timer_each_re_armed_keeps_the_heap_within_a_quarter_of_the_live_ones() -> None:
    # A binding agent's expiry timer per mobile node, each restarted by every refresh: the
    # cancelled timers waiting in the heap stay under a quarter of the live ones.
    entity = Entity("e", random.Random(0))
    live = [entity.schedule_call(600.0, print, k) for k in range(1000)]
    largest = 0
    for step in range(5000):
        k = step % len(live)
        live[k].cancel()
        live[k] = entity.schedule_call(600.0 + step, print, k)
        largest = max(largest, entity.pending_timers)
    assert len(live) < largest <= len(live) + len(live) // 4 + 1


def test_a_mobile_nodes_few_timers_keep_no_cancelled_one_waiting() -> None:
    # A mobile node holds about seven timers all run, and re-arms some (a binding refresh, the
    # router lifetime at each Router Advertisement): a heap that small is cleaned at its
    # next growth, so no cancelled timer waits in it (each one 140 bytes a node).
    entity = Entity("e", random.Random(0))
    for delay in range(1, 7):
        entity.schedule(600.0 + delay, lambda now: None)
    refresh = entity.schedule(300.0, lambda now: None)
    for step in range(100):
        refresh.cancel()
        refresh = entity.schedule(300.0 + step, lambda now: None)
        assert entity.pending_timers == 7
        assert not any(timer.cancelled for timer in entity._timers)


def test_a_heap_with_no_cancelled_timer_is_not_rescanned(monkeypatch) -> None:
    # A home agent schedules two timers per new binding and cancels none: with no
    # cancellation since the last clean-up there is nothing to drop, and the heap is not
    # rebuilt each time it grows by a quarter.
    import heapq

    entity = Entity("e", random.Random(0))
    entity.schedule(1.0, lambda now: None).cancel()  # one to drop at the first clean-up
    rebuilt: list[int] = []
    heapify = heapq.heapify
    monkeypatch.setattr(heapq, "heapify", lambda timers: rebuilt.append(len(timers))
                        or heapify(timers))
    for index in range(2_000):
        entity.schedule_call(float(index), lambda arg: None, index)
    assert len(rebuilt) == 1 and len(entity._timers) == 2_000
    # A cancellation (here or in any entity) makes the next clean-up run, and drop it.
    doomed = entity.schedule(0.5, lambda now: None)
    doomed.cancel()
    while len(rebuilt) == 1:
        entity.schedule(5_000.0, lambda now: None)
    assert all(not timer.cancelled for timer in entity._timers)


def test_a_timer_reads_back_what_was_scheduled_and_cancel_lets_go() -> None:
    # A Timer is its own heap entry (a list): its fields are read by name.
    entity = Entity("e", random.Random(0))
    entity.now = 5.0
    first = entity.schedule(2.0, print)
    second = entity.schedule_call(1.0, print, "arg")
    assert (first.when, first.order, first.callback, first.cancelled) == (7.0, 0, print, False)
    assert (second.when, second.order, second.argument) == (6.0, 1, "arg")
    assert second.callback is print and repr(second) == "Timer(when=6.0, order=1, cancelled=False)"
    assert entity.next_deadline() == 6.0
    second.cancel()
    assert second.cancelled and second.callback is not print and second.argument != "arg"
    assert entity.next_deadline() == 7.0


def test_a_timer_is_four_entries_and_cancelling_keeps_it_so() -> None:
    # A mobile node holds about seven timers all run: the cancelled flag is the callback
    # itself (a list of four is 88 bytes, of five 104).
    entity = Entity("e", random.Random(0))
    plain, call = entity.schedule(1.0, print), entity.schedule_call(2.0, print, "arg")
    assert len(plain) == len(call) == 4
    call.cancel()
    assert len(call) == 4 and call.cancelled and not plain.cancelled
    assert sys.getsizeof(plain) == sys.getsizeof([1.0, 0, print, None])


@settings(max_examples=100)
@given(st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=120),
       st.lists(st.floats(0, 110), max_size=8))
def test_next_deadline_is_the_earliest_live_timer_between_firings(
        plan: list[tuple[float, bool]], stops: list[float]) -> None:
    # Heap order is (when, order): equal deadlines fire in scheduling order, and the deadline
    # the runtime sleeps until is the earliest timer neither fired nor cancelled.
    entity = Entity("e", random.Random(0))
    fired: list[int] = []
    live: dict[int, float] = {}
    for index, (delay, cancel) in enumerate(plan):
        timer = entity.schedule(delay, lambda now, i=index: fired.append(i))
        if cancel:
            timer.cancel()
        else:
            live[index] = delay
    for stop in sorted(stops):
        before = len(fired)
        entity.handle_timer(stop)
        due = sorted((delay, index) for index, delay in live.items() if delay <= stop)
        assert fired[before:] == [index for _delay, index in due]
        for _delay, index in due:
            del live[index]
        assert entity.next_deadline() == (min(live.values()) if live else None)


def _reference_reschedule(entity: Entity, timers: dict, key: int, delay: float, method) -> None:
    # What a binding agent's expiry did before Entity.reschedule_call (two lookups of key).
    previous = timers.pop(key, None)
    if previous is not None:
        previous.cancel()
    timers[key] = entity.schedule_call(delay, method, key)


def _reference_once(entity: Entity, timers: dict, key: int, delay, method) -> None:
    # What a home agent's first periodic advertisement did before schedule_call_once.
    if key not in timers:
        timers[key] = entity.schedule_call(delay(), method, key)


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(["reschedule", "once", "plain", "cancel", "fire"]),
                          st.integers(0, 5), st.floats(0, 50)), max_size=80))
# The heap's first clean-up (past 8 entries) falls on a re-armed timer: the old one must be
# cancelled before the new one enters the heap, or the clean-up keeps it.
@example([("reschedule", 0, 1.0)] + [("plain", 0, 1.0)] * 7 + [("reschedule", 0, 2.0)])
def test_reschedule_call_and_schedule_call_once_act_as_their_two_lookup_forms(
        plan: list[tuple[str, int, float]]) -> None:
    # Two entities get the same operations, one through reschedule_call / schedule_call_once,
    # the other through pop + cancel + schedule_call / ``not in`` + schedule_call: the same
    # heap (deadline, order and cancelled flag of every entry, in heap order), the same
    # tables, the same delays drawn (a delay is drawn only when a timer is scheduled), and
    # the same firings; compactions of the heap happen at the same points.
    def run(fast: bool) -> list[object]:
        entity = Entity("e", random.Random(3))
        timers: dict[int, object] = {}
        once: dict[int, object] = {}
        fired: list[tuple[str, int, float]] = []
        draws: list[float] = []

        def delay() -> float:
            draws.append(entity.rng.random() * 10)
            return draws[-1]

        def expire(key: int) -> None:
            fired.append(("expire", key, entity.now))
            timers.pop(key, None)

        def periodic(key: int) -> None:
            fired.append(("periodic", key, entity.now))
            once.pop(key, None)

        trace: list[object] = []
        now = 0.0
        for kind, key, value in plan:
            if kind == "reschedule":
                if fast:
                    entity.reschedule_call(timers, key, value, expire)  # type: ignore[arg-type]
                else:
                    _reference_reschedule(entity, timers, key, value, expire)
            elif kind == "once":
                if fast:
                    entity.schedule_call_once(once, key, delay, periodic)  # type: ignore[arg-type]
                else:
                    _reference_once(entity, once, key, delay, periodic)
            elif kind == "plain":
                entity.schedule(value, lambda t: fired.append(("plain", -1, t)))
            elif kind == "cancel":
                for table in (timers, once):
                    timer = table.pop(key, None)
                    if timer is not None:
                        timer.cancel()  # type: ignore[attr-defined]
            else:
                now += value
                entity.handle_timer(now)
            trace.append(([(t.when, t.order, t.cancelled) for t in entity._timers],
                          sorted((k, t.when, t.order) for k, t in timers.items()),  # type: ignore[attr-defined]
                          sorted((k, t.when, t.order) for k, t in once.items()),  # type: ignore[attr-defined]
                          entity.next_deadline()))
        entity.handle_timer(now + 1_000.0)
        trace.append((fired, draws))
        return trace

    assert run(True) == run(False)


def test_reschedule_call_replaces_and_cancels_the_timer_it_held() -> None:
    entity = Entity("e", random.Random(0))
    timers: dict[str, object] = {}
    fired: list[str] = []
    entity.now = 1.0
    first = entity.reschedule_call(timers, "a", 5.0, fired.append)  # type: ignore[arg-type]
    assert timers == {"a": first} and (first.when, first.argument) == (6.0, "a")
    second = entity.reschedule_call(timers, "a", 2.0, fired.append)  # type: ignore[arg-type]
    assert timers == {"a": second} and first.cancelled and not second.cancelled
    assert (second.when, second.order) == (3.0, first.order + 1)
    assert entity.schedule_call_once(timers, "a", lambda: 1 / 0, fired.append) is False  # type: ignore[arg-type]
    assert entity.schedule_call_once(timers, "b", lambda: 4.0, fired.append) is True  # type: ignore[arg-type]
    entity.handle_timer(100.0)
    assert fired == ["a", "b"]


def test_the_timer_argument_may_differ_from_its_key() -> None:
    # A table keyed by an address's integer (address_key) whose timers call back with the
    # address: the key stays in the table, the argument goes to the callback.
    entity = Entity("e", random.Random(0))
    timers: dict[int, object] = {}
    fired: list[str] = []
    first = entity.reschedule_call(timers, 1, 5.0, fired.append, "one")  # type: ignore[arg-type]
    second = entity.reschedule_call(timers, 1, 6.0, fired.append, "uno")  # type: ignore[arg-type]
    assert first.cancelled and timers == {1: second} and second.argument == "uno"
    assert entity.schedule_call_once(timers, 2, lambda: 7.0, fired.append, "two") is True  # type: ignore[arg-type]
    assert entity.schedule_call_once(timers, 2, lambda: 1 / 0, fired.append, "deux") is False  # type: ignore[arg-type]
    entity.handle_timer(100.0)
    assert fired == ["uno", "two"] and set(timers) == {1, 2}


@given(st.sampled_from(["binding.registered", "nd.proxy_advertisement", "x"]),
       st.dictionaries(st.sampled_from(["home_address", "target", "lifetime", "sequence",
                                        "solicited"]),
                       st.one_of(st.integers(), st.booleans(), st.none()), max_size=5),
       st.floats(0, 1e6))
def test_emit_fields_queues_the_event_emit_queues(kind: str, fields: dict[str, object],
                                                  now: float) -> None:
    # The same Event (time, node, kind, fields in the same order), of the same class.
    events = []
    for fast in (True, False):
        entity = Entity("e", random.Random(0))
        entity.now = now
        if fast:
            entity.emit_fields(kind, dict(fields))
        else:
            entity.emit(kind, **fields)
        (event,) = entity.pull_actions()
        events.append((event, type(event), list(event.fields.items())))  # type: ignore[union-attr]
    assert events[0] == events[1]
