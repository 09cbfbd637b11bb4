"""Bounded tables, the reply limiter, refusal events and the timer heap's compaction."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.base.entity import REFUSAL_EVENTS_PER_SECOND, Entity
from mipshop.protocol.base.tables import BoundedTable, ReplyLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bounded_table_evicts_the_oldest_and_expires_entries():
    clock = Clock()
    table: BoundedTable[int, str] = BoundedTable(3, lifetime=10.0, clock=clock)
    for key in range(5):
        table[key] = f"v{key}"
    assert len(table) == 3 and table.evicted == 2
    assert 0 not in table and table.get(4) == "v4" and table[2] == "v2"
    table[2] = "again"  # rewriting makes it the newest
    table[5] = "v5"
    assert list(table) == [4, 2, 5]
    clock.now = 10.0
    assert table.get(4) is None and 4 not in table  # expired: invisible
    with pytest.raises(KeyError):
        table[4]
    table[6] = "v6"  # a write drops the expired ones from the old end
    assert list(table) == [6]
    assert table.pop(6) == "v6" and table.pop(6) is None
    with pytest.raises(ValueError):
        BoundedTable(0, clock=clock)
    with pytest.raises(ValueError):
        BoundedTable(1, lifetime=0, clock=clock)


@given(st.lists(st.tuples(st.integers(0, 50), st.floats(0, 5)), max_size=200))
def test_bounded_table_never_exceeds_its_capacity(writes):
    clock = Clock()
    table: BoundedTable[int, int] = BoundedTable(8, lifetime=3.0, clock=clock)
    for key, delay in writes:
        clock.now += delay
        table[key] = key
        assert len(table) <= 8 and table.get(key) == key


def test_reply_limiter_per_source_and_in_total():
    limiter = ReplyLimiter(per_source=2, total=5, window=1.0, max_sources=3)
    assert [limiter.allow("a", 0.0) for _ in range(3)] == [True, True, False]
    assert [limiter.allow(s, 0.1) for s in "bcd"] == [True, True, True]
    assert limiter.allow("e", 0.2) is False  # the total of 5 is spent
    assert len(limiter) <= 3
    assert limiter.allow("a", 1.0) is True  # a new window
    with pytest.raises(ValueError):
        ReplyLimiter(per_source=0)


def test_reply_limiter_without_a_total_and_its_memory():
    limiter = ReplyLimiter(per_source=1, total=None, window=1.0, max_sources=100)
    assert all(limiter.allow(i, 0.5) for i in range(10_000))  # no overall cap
    assert len(limiter) == 100  # but a bounded memory
    assert limiter.allow(9_999, 0.6) is False
    limiter.allow("x", 2.0)
    assert len(limiter) == 1  # sources whose window is over are forgotten


def test_refusals_are_counted_and_their_events_limited():
    entity = Entity("e", random.Random(1))
    for i in range(100):
        entity.now = 1.0 + i * 0.001
        entity.refuse("drop.x", "x.refused", index=i)
    entity.now = 2.5
    entity.refuse("drop.x", "x.refused", index=100)
    events = [a for a in entity.pull_actions() if a.kind == "x.refused"]
    assert len(events) == REFUSAL_EVENTS_PER_SECOND + 1
    assert entity.counters["drop.x"] == 101
    assert entity.counters["events.suppressed"] == 100 - REFUSAL_EVENTS_PER_SECOND
    entity.refuse("drop.y")
    assert entity.counters["drop.y"] == 1


def test_reply_limiter_windows_are_half_open():
    # A window of 1 s starting at 0 covers [0, 1): a reply at exactly 1.0 starts a new one.
    limiter = ReplyLimiter(per_source=1, total=None, window=1.0)
    assert limiter.allow("a", 0.0) and not limiter.allow("a", 0.999)
    assert limiter.allow("a", 1.0)
    assert limiter.allow("b", 1.5) and limiter.allow("c", 2.0)
    assert len(limiter) == 2  # "a" (started at 1.0) is over at 2.0 and forgotten


def test_reply_limiter_a_source_kept_behind_a_younger_one_gets_a_new_window():
    # "a" opens its window at 0 and is written again at 0.9, behind "b" (window from 0.5):
    # at 1.0 "b" is still live, so "a" is not forgotten but found with a window that is over,
    # and gets a whole new one (per_source replies, not one fewer, not none).
    limiter = ReplyLimiter(per_source=2, total=None, window=1.0)
    assert limiter.allow("a", 0.0) and limiter.allow("b", 0.5) and limiter.allow("a", 0.9)
    assert [limiter.allow("a", 1.0) for _ in range(3)] == [True, True, False]


def test_a_rewrite_in_a_full_table_evicts_nothing():
    # Writing a key the table holds replaces its entry (now the newest), it does not take a
    # second place: the other entries stay and nothing is counted as evicted.
    table: BoundedTable[str, int] = BoundedTable(2, clock=Clock())
    table["a"], table["b"] = 1, 2
    table["a"] = 3
    assert list(table) == ["b", "a"] and table.evicted == 0
    assert "a" in table and "b" in table and table["a"] == 3


def test_the_reply_limiter_trims_to_max_sources_not_below():
    # A source answered stays remembered (and limited) while at most max_sources are kept.
    limiter = ReplyLimiter(per_source=1, total=None, max_sources=2)
    assert limiter.allow("a", 0.0) and limiter.allow("b", 0.0) and limiter.allow("c", 0.0)
    assert len(limiter) == 2
    assert not limiter.allow("b", 0.1) and not limiter.allow("c", 0.1)


def test_the_reply_limiter_s_default_window_is_one_second():
    # RFC 6275 §9.3.3 (Binding Errors rate limited as ICMP errors): REPLIES_PER_SOURCE a second.
    limiter = ReplyLimiter()
    assert limiter.allow("a", 0.0) and not limiter.allow("a", 0.999) and limiter.allow("a", 1.0)


#: (row id, building the table or limiter, accepted): each bound at its edge (a table of
#: zero entries, a limiter without memory or with a window of 0, would limit nothing).
EDGES: list[tuple[str, Callable[[], object], bool]] = [
    ("table capacity 1", lambda: BoundedTable(1, clock=Clock()), True),
    ("table capacity 0", lambda: BoundedTable(0, clock=Clock()), False),
    ("table lifetime None", lambda: BoundedTable(1, lifetime=None, clock=Clock()), True),
    ("table lifetime 0.5", lambda: BoundedTable(1, lifetime=0.5, clock=Clock()), True),
    ("table lifetime 0", lambda: BoundedTable(1, lifetime=0.0, clock=Clock()), False),
    ("table lifetime nan", lambda: BoundedTable(1, lifetime=float("nan"), clock=Clock()), False),
    ("limiter defaults", lambda: ReplyLimiter(), True),
    ("limiter per source 1", lambda: ReplyLimiter(per_source=1), True),
    ("limiter per source 0", lambda: ReplyLimiter(per_source=0), False),
    ("limiter total 1", lambda: ReplyLimiter(total=1), True),
    ("limiter total None", lambda: ReplyLimiter(total=None), True),
    ("limiter total 0", lambda: ReplyLimiter(total=0), False),
    ("limiter sources 1", lambda: ReplyLimiter(max_sources=1), True),
    ("limiter sources 0", lambda: ReplyLimiter(max_sources=0), False),
    ("limiter window 0.5", lambda: ReplyLimiter(window=0.5), True),
    ("limiter window 0", lambda: ReplyLimiter(window=0.0), False),
    ("limiter window nan", lambda: ReplyLimiter(window=float("nan")), False),
]


@pytest.mark.parametrize(("build", "accepted"), [(b, ok) for _id, b, ok in EDGES],
                         ids=[row[0] for row in EDGES])
def test_a_table_bound_at_its_edge(build, accepted):
    if accepted:
        build()
    else:
        with pytest.raises(ValueError):
            build()
