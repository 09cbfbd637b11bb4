"""Retransmission back-off and MH rate limiting (RFC 6275 §11.8; RFC 5568 §6.1.1, §6.2.1.1).

Clockless: a :class:`RetransmissionTimer` hands out timeouts (and, given ``now``, absolute
deadlines); a :class:`RateLimiter` is told ``now`` on every call.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from mipshop.protocol.base.constants import (
    FMIP_DEFAULT_INITIAL_TIMEOUT,
    FMIP_RTT_MULTIPLIER,
    INITIAL_BINDACK_TIMEOUT,
    INITIAL_BINDACK_TIMEOUT_FIRST_REG,
    MAX_BINDACK_TIMEOUT,
    MAX_UPDATE_RATE,
    UPDATE_RATE_WINDOW,
)


class RetriesExhaustedError(RuntimeError):
    """Raised by :meth:`RetransmissionTimer.next_timeout` once every allowed try was used."""


@dataclass(slots=True)
class RetransmissionTimer:
    """Exponential back-off schedule for one message (RFC 6275 §11.8).

    Call :meth:`next_timeout` (or :meth:`arm`) once per transmission, the original one
    included: the first call returns ``initial``, and each later call doubles the previous
    timeout up to ``ceiling`` (MAX_BINDACK_TIMEOUT by default). With ``initial=1.5`` the
    timeouts are 1.5, 3, 6, 12, 24, 32, 32, ...

    ``max_retries`` counts *retransmissions* after the original transmission (as
    DHAAD_RETRIES, FBU_RETRIES, HI_RETRIES and RTSOLPR_RETRIES do). ``None`` means "retransmit
    indefinitely at the ceiling", which RFC 6275 §11.8 allows for Binding Updates. Once the
    original and ``max_retries`` retransmissions have been sent, :attr:`exhausted` is true: when
    the last timeout expires the sender gives up instead of retransmitting, and another
    :meth:`next_timeout` raises :class:`RetriesExhaustedError`.
    """

    initial: float
    ceiling: float = MAX_BINDACK_TIMEOUT
    max_retries: int | None = None
    #: Transmissions made so far (calls of :meth:`next_timeout` since the last reset).
    transmissions: int = field(default=0, init=False)
    #: The timeout most recently handed out, or None before the first transmission.
    current: float | None = field(default=None, init=False)
    #: Absolute expiry set by :meth:`arm`; None when not armed.
    deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.initial > 0:
            raise ValueError(f"initial timeout must be positive, got {self.initial}")
        if self.ceiling < self.initial:
            raise ValueError(f"ceiling {self.ceiling} is below the initial timeout {self.initial}")
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def retransmissions(self) -> int:
        """Retransmissions made so far (transmissions after the original one)."""
        return max(self.transmissions - 1, 0)

    @property
    def exhausted(self) -> bool:
        """True when no further retransmission is allowed (``max_retries`` used up)."""
        return self.max_retries is not None and self.transmissions > self.max_retries

    def peek(self) -> float:
        """Return the timeout the next :meth:`next_timeout` call would hand out."""
        if self.current is None:
            return self.initial
        return min(self.current * 2, self.ceiling)

    def next_timeout(self) -> float:
        """Record one transmission and return how long to wait for its answer.

        RFC 6275 §11.8: the timeout doubles on each retransmission until it reaches
        MAX_BINDACK_TIMEOUT. Raises :class:`RetriesExhaustedError` when :attr:`exhausted`.
        """
        if self.exhausted:
            raise RetriesExhaustedError(
                f"{self.transmissions} transmissions made, max_retries={self.max_retries}"
            )
        timeout = self.peek()
        self.current = timeout
        self.transmissions += 1
        return timeout

    def arm(self, now: float) -> float:
        """Record one transmission at ``now``; set and return the absolute :attr:`deadline`."""
        self.deadline = now + self.next_timeout()
        return self.deadline

    def expired(self, now: float) -> bool:
        """True if armed and ``now`` has reached the deadline."""
        return self.deadline is not None and now >= self.deadline

    def cancel(self) -> None:
        """Disarm (a valid answer arrived); the back-off state is kept until :meth:`reset`."""
        self.deadline = None

    def reset(self) -> None:
        """Forget all transmissions: the next timeout is ``initial`` again."""
        self.transmissions = 0
        self.current = None
        self.deadline = None


#: Short alias: the schedule is a binary exponential back-off.
Backoff = RetransmissionTimer


def initial_bu_timeout(
    first_home_registration: bool,
    *,
    first_reg_timeout: float = INITIAL_BINDACK_TIMEOUT_FIRST_REG,
    bindack_timeout: float = INITIAL_BINDACK_TIMEOUT,
) -> float:
    """Return the first Binding Update retransmission timeout (RFC 6275 §11.8).

    A BU sent when the mobile node has no binding at the home agent yet uses
    InitialBindackTimeoutFirstReg (default 1.5 s, RFC 6275 §13) so the HA can finish DAD for
    the home address (§11.7.1); any other BU uses INITIAL_BINDACK_TIMEOUT (1 s, §12). The MN
    MUST let system management set InitialBindackTimeoutFirstReg (§13), hence the keywords.
    """
    return first_reg_timeout if first_home_registration else bindack_timeout


def bu_backoff(
    first_home_registration: bool,
    *,
    max_retries: int | None = None,
    first_reg_timeout: float = INITIAL_BINDACK_TIMEOUT_FIRST_REG,
    ceiling: float = MAX_BINDACK_TIMEOUT,
) -> RetransmissionTimer:
    """Return a fresh Binding Update back-off (RFC 6275 §11.8)."""
    return RetransmissionTimer(
        initial=initial_bu_timeout(first_home_registration, first_reg_timeout=first_reg_timeout),
        ceiling=ceiling,
        max_retries=max_retries,
    )


def fmip_initial_timeout(rtt: float | None) -> float:
    """Return the first RtSolPr / HI (and, by our choice, FBU) timeout (RFC 5568 §6.1.1, §6.2.1.1).

    "No less than twice the typical round trip time ... or 100 milliseconds if RTT is not
    known". With a known ``rtt`` the result is exactly 2 x ``rtt``.
    """
    if rtt is None:
        return FMIP_DEFAULT_INITIAL_TIMEOUT
    if rtt <= 0:
        raise ValueError(f"rtt must be positive, got {rtt}")
    return FMIP_RTT_MULTIPLIER * rtt


def fmip_backoff(
    max_retries: int, rtt: float | None = None, *, ceiling: float = MAX_BINDACK_TIMEOUT
) -> RetransmissionTimer:
    """Return an FMIPv6 back-off: 2 x RTT (or 100 ms), doubled per retransmission.

    RFC 5568 §6.1.1 (RtSolPr, RTSOLPR_RETRIES) and §6.2.1.1 (HI, HI_RETRIES) give no ceiling;
    with 3 retries the schedule never gets near MAX_BINDACK_TIMEOUT, which is kept as a bound.
    """
    initial = fmip_initial_timeout(rtt)
    return RetransmissionTimer(
        initial=initial, ceiling=max(ceiling, initial), max_retries=max_retries
    )


#: :class:`RateLimiter`'s first key while it tracks none.
_NO_KEY: Hashable = object()

#: One object per distinct first key of every :class:`RateLimiter` (a key such as ``(home
#: agent, Binding Update)`` is equal at thousands of mobile nodes, a 56-byte tuple each), up
#: to _SHARED_KEYS_MAX keys, then started afresh.
_shared_keys: dict[Hashable, Hashable] = {}
_SHARED_KEYS_MAX = 4096


def _shared_key(key: Hashable) -> Hashable:
    shared = _shared_keys.get(key)
    if shared is None:
        if len(_shared_keys) >= _SHARED_KEYS_MAX:
            _shared_keys.clear()
        _shared_keys[key] = shared = key
    return shared


class RateLimiter:
    """Sliding-window send limit per key (RFC 6275 §11.8 MAX_UPDATE_RATE; RFC 5568 §6.1.1).

    RFC 6275 §11.8: "The mobile node MUST NOT send Mobility Header messages of a particular
    type to a particular correspondent node more than MAX_UPDATE_RATE times within a second."
    The key is whatever identifies "a type to a destination", e.g. ``(destination, mh_type)``.
    A send at ``now`` is allowed when fewer than ``rate`` sends of that key happened in the
    half-open window ``(now - window, now]``; so any interval of length ``window`` holds at
    most ``rate`` sends. ``now`` must not decrease between calls for one key.
    """

    # Slots: a mobile node holds several (its home registration, its MAP and correspondent
    # bindings, its ICMP errors), and a city holds thousands of nodes. Most limiters only ever
    # see one key (a binding's BU type to its agent), whose sends stay held between BUs: the
    # first key's sends live in two slots, and a dictionary is made for a second key only
    # (a one-key dictionary is 224 bytes, an unused empty one 64).
    __slots__ = ("_key", "_others", "_times", "rate", "window")

    def __init__(self, rate: int = MAX_UPDATE_RATE, window: float = UPDATE_RATE_WINDOW) -> None:
        if rate < 1:
            raise ValueError(f"rate must be >= 1, got {rate}")
        if not window > 0:
            raise ValueError(f"window must be positive, got {window}")
        self.rate = rate
        self.window = window
        #: The first key tracked (``_NO_KEY``: none) and its send times, oldest first: tuples,
        #: replaced on change (a list with its spare room is twice a one-send tuple).
        self._key: Hashable = _NO_KEY
        self._times: tuple[float, ...] = ()
        #: Every other tracked key's send times (None until there is a second key).
        self._others: dict[Hashable, tuple[float, ...]] | None = None

    def _get(self, key: Hashable) -> tuple[float, ...] | None:
        if self._key is not _NO_KEY and self._key == key:
            return self._times
        others = self._others
        return None if others is None else others.get(key)

    def _put(self, key: Hashable, times: tuple[float, ...]) -> None:
        if self._key is _NO_KEY:
            self._key, self._times = _shared_key(key), times
        elif self._key == key:
            # The key kept (equal to the caller's, which is often a new tuple each send).
            self._times = times
        elif self._others is None:
            self._others = {key: times}
        else:
            self._others[key] = times

    def _drop(self, key: Hashable) -> None:
        others = self._others
        if self._key is not _NO_KEY and self._key == key:
            if others:
                # Another key takes the slots (the oldest added, as a dictionary keeps them).
                self._key = next(iter(others))
                self._times = others.pop(self._key)
            else:
                self._key, self._times = _NO_KEY, ()
        elif others is not None:
            del others[key]
        if not others:
            self._others = None

    def _recent(self, key: Hashable, now: float) -> tuple[float, ...]:
        times = self._get(key)
        if times is None:
            return ()
        expired = 0
        while expired < len(times) and times[expired] + self.window <= now:
            expired += 1
        if expired:
            times = times[expired:]
            if times:
                self._put(key, times)
            else:
                self._drop(key)
        return times

    def allowed(self, key: Hashable, now: float) -> bool:
        """True if one more send of ``key`` at ``now`` stays within the limit (no state change)."""
        return len(self._recent(key, now)) < self.rate

    def record(self, key: Hashable, now: float) -> None:
        """Record a send of ``key`` at ``now`` (whether or not it was allowed)."""
        self._put(key, (*self._recent(key, now), now))

    def try_acquire(self, key: Hashable, now: float) -> bool:
        """Record a send at ``now`` and return True if allowed; return False otherwise."""
        if not self.allowed(key, now):
            return False
        self.record(key, now)
        return True

    def next_allowed(self, key: Hashable, now: float) -> float:
        """Return the earliest time >= ``now`` at which a send of ``key`` is allowed."""
        times = self._recent(key, now)
        if len(times) < self.rate:
            return now
        # The send that must leave the window is the rate-th most recent one.
        return times[-self.rate] + self.window

    def prune(self, now: float) -> None:
        """Drop bookkeeping for keys with no send inside the window (bounded memory)."""
        keys = [] if self._key is _NO_KEY else [self._key]
        for key in [*keys, *(self._others or ())]:
            self._recent(key, now)

    def __len__(self) -> int:
        """Number of keys currently tracked."""
        return (self._key is not _NO_KEY) + len(self._others or ())
