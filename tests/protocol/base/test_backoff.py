"""RFC 6275 §11.8 back-off and MAX_UPDATE_RATE; RFC 5568 §6.1.1 / §6.2.1.1 timers."""

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.base.backoff import (
    Backoff,
    RateLimiter,
    RetransmissionTimer,
    RetriesExhaustedError,
    bu_backoff,
    fmip_backoff,
    fmip_initial_timeout,
    initial_bu_timeout,
)
from mipshop.protocol.base.constants import FBU_RETRIES, HI_RETRIES, MAX_BINDACK_TIMEOUT


@pytest.mark.parametrize(
    "initial,expected",
    [
        (1.5, [1.5, 3.0, 6.0, 12.0, 24.0, 32.0, 32.0, 32.0]),
        (1.0, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 32.0, 32.0]),
        (3.0, [3.0, 6.0, 12.0, 24.0, 32.0, 32.0, 32.0, 32.0]),
        (32.0, [32.0] * 8),
    ],
)
def test_schedule_table(initial, expected):
    timer = RetransmissionTimer(initial=initial)
    assert [timer.next_timeout() for _ in expected] == expected
    assert not timer.exhausted
    assert timer.transmissions == len(expected)
    assert timer.retransmissions == len(expected) - 1


def test_first_registration_timeouts():
    assert initial_bu_timeout(True) == 1.5
    assert initial_bu_timeout(False) == 1.0
    assert initial_bu_timeout(True, first_reg_timeout=2.5) == 2.5
    assert [bu_backoff(True).next_timeout() for _ in range(1)] == [1.5]
    t = bu_backoff(False)
    assert [t.next_timeout() for _ in range(7)] == [1, 2, 4, 8, 16, 32, 32]


def test_max_retries_counts_retransmissions():
    # FBU_RETRIES = 3: original + 3 retransmissions, then give up after the last timeout.
    t = RetransmissionTimer(initial=0.1, max_retries=FBU_RETRIES)
    timeouts = []
    while not t.exhausted:
        timeouts.append(t.next_timeout())
    assert timeouts == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert t.transmissions == 4 and t.retransmissions == 3
    with pytest.raises(RetriesExhaustedError):
        t.next_timeout()


def test_zero_retries():
    t = RetransmissionTimer(initial=1.0, max_retries=0)
    assert not t.exhausted
    assert t.next_timeout() == 1.0
    assert t.exhausted


def test_arm_cancel_reset():
    t = Backoff(initial=1.0)
    assert t.peek() == 1.0
    assert t.arm(10.0) == 11.0
    assert not t.expired(10.999) and t.expired(11.0)
    assert t.arm(11.0) == 13.0
    t.cancel()
    assert t.deadline is None and not t.expired(100.0)
    assert t.peek() == 4.0
    t.arm(20.0)
    t.reset()  # disarmed too: a reset timer never reads as expired
    assert t.peek() == 1.0 and t.transmissions == 0 and t.current is None
    assert t.deadline is None and not t.expired(100.0)


def test_validation():
    with pytest.raises(ValueError):
        RetransmissionTimer(initial=0)
    with pytest.raises(ValueError):
        RetransmissionTimer(initial=64.0)  # above the default ceiling
    with pytest.raises(ValueError):
        RetransmissionTimer(initial=1.0, max_retries=-1)


@given(st.floats(min_value=0.01, max_value=32.0), st.integers(min_value=1, max_value=40))
def test_schedule_properties(initial, n):
    t = RetransmissionTimer(initial=initial)
    out = [t.next_timeout() for _ in range(n)]
    assert out[0] == initial
    assert all(x <= MAX_BINDACK_TIMEOUT for x in out)
    for a, b in itertools.pairwise(out):
        assert b == min(2 * a, MAX_BINDACK_TIMEOUT)


def test_fmip_timers():
    assert fmip_initial_timeout(None) == 0.1
    assert fmip_initial_timeout(0.03) == pytest.approx(0.06)
    with pytest.raises(ValueError):
        fmip_initial_timeout(0.0)
    t = fmip_backoff(HI_RETRIES)
    seq = []
    while not t.exhausted:
        seq.append(t.next_timeout())
    assert seq == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert fmip_backoff(3, rtt=0.05).next_timeout() == pytest.approx(0.1)


#: (row id, the back-off a sender builds, its timeouts, exhausted after them): every argument
#: the builders take reaches the schedule (RFC 6275 §11.8, §13: InitialBindackTimeoutFirstReg
#: set by system management, MAX_BINDACK_TIMEOUT; RFC 5568 §6.1.1, §6.2.1.1: 2 x RTT, else
#: 100 ms, and the RTSOLPR/HI/FBU retries).
BUILDERS: list[tuple[str, Callable[[], RetransmissionTimer], list[float], bool]] = [
    ("bu first registration set by management", lambda: bu_backoff(True, first_reg_timeout=3.0),
     [3.0, 6.0, 12.0, 24.0, 32.0, 32.0], False),
    ("bu first registration default", lambda: bu_backoff(True), [1.5, 3.0, 6.0], False),
    ("bu later", lambda: bu_backoff(False), [1.0, 2.0, 4.0], False),
    ("bu ceiling", lambda: bu_backoff(False, ceiling=4.0), [1.0, 2.0, 4.0, 4.0, 4.0], False),
    ("bu max retries 2", lambda: bu_backoff(False, max_retries=2), [1.0, 2.0, 4.0], True),
    ("bu max retries 0", lambda: bu_backoff(True, max_retries=0), [1.5], True),
    ("bu retries for ever", lambda: bu_backoff(False, max_retries=None), [1.0] + [
        2.0 ** k for k in range(1, 5)] + [32.0] * 5, False),
    ("fmip rtt unknown", lambda: fmip_backoff(3), [0.1, 0.2, 0.4, 0.8], True),
    ("fmip rtt 0.2", lambda: fmip_backoff(3, rtt=0.2), [0.4, 0.8, 1.6, 3.2], True),
    ("fmip retries 1", lambda: fmip_backoff(1, rtt=0.2), [0.4, 0.8], True),
    ("fmip ceiling", lambda: fmip_backoff(5, rtt=0.1, ceiling=0.5),
     [0.2, 0.4, 0.5, 0.5, 0.5, 0.5], True),
    ("fmip 2 x rtt above the ceiling", lambda: fmip_backoff(2, rtt=1.0, ceiling=0.5),
     [2.0, 2.0, 2.0], True),
]


@pytest.mark.parametrize(("build", "timeouts", "exhausted"),
                         [(b, t, e) for _id, b, t, e in BUILDERS],
                         ids=[row[0] for row in BUILDERS])
def test_a_builder_s_schedule(build, timeouts, exhausted):
    timer = build()
    assert [timer.next_timeout() for _ in timeouts] == pytest.approx(timeouts)
    assert timer.exhausted is exhausted


# ---- RateLimiter ----------------------------------------------------------------------------


def test_three_per_second_sliding():
    rl = RateLimiter()  # MAX_UPDATE_RATE = 3 per 1 s
    key = ("2001:db8::1", 5)
    assert rl.try_acquire(key, 0.0)
    assert rl.try_acquire(key, 0.2)
    assert rl.try_acquire(key, 0.4)
    assert not rl.try_acquire(key, 0.5)
    assert not rl.allowed(key, 0.999)
    assert rl.next_allowed(key, 0.5) == 1.0
    assert rl.try_acquire(key, 1.0)  # the send at 0.0 has left the window (0.0, 1.0]
    assert not rl.try_acquire(key, 1.1)
    assert rl.next_allowed(key, 1.1) == pytest.approx(1.2)
    assert rl.try_acquire(key, 1.2)


def test_keys_are_independent():
    rl = RateLimiter()
    for t in (0.0, 0.1, 0.2):
        assert rl.try_acquire("a", t)
    assert not rl.allowed("a", 0.3)
    assert rl.allowed("b", 0.3)
    assert rl.next_allowed("b", 0.3) == 0.3


def test_burst_at_same_instant():
    rl = RateLimiter(rate=3)
    assert [rl.try_acquire("k", 5.0) for _ in range(4)] == [True, True, True, False]
    assert rl.next_allowed("k", 5.0) == 6.0


def test_record_and_prune():
    rl = RateLimiter()
    rl.record("k", 0.0)
    assert len(rl) == 1
    rl.prune(0.5)
    assert len(rl) == 1
    rl.prune(1.0)
    assert len(rl) == 0
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
    with pytest.raises(ValueError):
        RateLimiter(window=0)


@given(
    st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=4),
)
def test_never_more_than_rate_in_any_window(times, rate):
    rl = RateLimiter(rate=rate, window=1.0)
    sent = []
    for now in sorted(times):
        if rl.try_acquire("k", now):
            sent.append(now)
        else:
            assert rl.next_allowed("k", now) > now
    for t in sent:
        assert sum(1 for s in sent if t <= s < t + 1.0) <= rate


@given(st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=60))
def test_next_allowed_is_allowed(times):
    rl = RateLimiter()
    for now in sorted(times):
        rl.try_acquire("k", now)
    last = max(times)
    when = rl.next_allowed("k", last)
    assert rl.allowed("k", when)


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(min_value=0, max_value=0.5),
                          st.sampled_from(("acquire", "allowed", "next", "prune"))),
                min_size=1, max_size=60),
       st.integers(min_value=1, max_value=3))
def test_several_keys_answer_as_independent_windows(steps, rate):
    """The first key's sends are kept apart from the others' (RateLimiter's slots): every
    answer is that of a plain window per key, whichever key came first or went first."""
    rl = RateLimiter(rate=rate, window=1.0)
    sent: dict[str, list[float]] = {}
    now = 0.0
    for key, step, op in steps:
        now += step
        recent = [t for t in sent.get(key, []) if t + 1.0 > now]
        if op == "acquire":
            expected = len(recent) < rate
            assert rl.try_acquire(key, now) is expected
            if expected:
                sent.setdefault(key, []).append(now)
        elif op == "allowed":
            assert rl.allowed(key, now) is (len(recent) < rate)
        elif op == "next":
            assert rl.next_allowed(key, now) == (now if len(recent) < rate
                                                 else recent[-rate] + 1.0)
        else:
            rl.prune(now)
            assert len(rl) == sum(1 for times in sent.values()
                                  if any(t + 1.0 > now for t in times))


def test_limiters_share_one_object_for_an_equal_first_key():
    # Thousands of mobile nodes limit BUs to the same agent: their (agent, type) keys are one
    # tuple, not one each; and a limiter keeps its key, not each caller's new equal tuple.
    first, second = RateLimiter(), RateLimiter()
    first.record(("ha", 5), 0.0)
    second.record(tuple(["ha", 5]), 0.0)
    assert first._key is second._key
    kept = first._key
    first.record(tuple(["ha", 5]), 0.5)
    assert first._key is kept and len(first) == 1 and first._times == (0.0, 0.5)
