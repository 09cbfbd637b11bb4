"""The mobile node's Binding Update List (RFC 6275 §11.1, §11.7, §11.8).

One :class:`BindingUpdateListEntry` per (destination, home address): the home agent, a MAP
(HMIPv6 local binding, RFC 5380) or a correspondent node. The entry keeps only the most
recent Binding Update sent to that destination (§11.1).

The entry separates two things:

* the **signalling state** (:class:`BindingState`), changed only by :meth:`transition` from
  the table :data:`TRANSITIONS` (``(state, event) -> state``; a missing pair is a protocol
  bug and raises :class:`InvalidTransitionError`);
* the **data** of §11.1 (addresses, sequence number, lifetimes, send time, back-off, RR
  tokens), changed by the ``record_*`` / ``apply_*`` methods.

An entity does both for each input, e.g. on a valid accepted BA: ``entry.apply_ack(lifetime, now);
entry.transition(BindingEvent.BA_ACCEPTED)``.

Lifetimes (§11.1, §11.7.3): the remaining lifetime counts down from the Lifetime sent in the
latest BU, starting when that BU was sent; an accepted BA with a smaller Lifetime reduces it
by the difference. The binding actually confirmed at the peer is tracked separately
(``bound_care_of_address`` / ``binding_expires_at``) because a refresh or a BU for a new
care-of address may be outstanding while the old binding is still in force.

Deletion at zero lifetime [resolved ambiguity]: §11.1 deletes an entry when its remaining
lifetime reaches zero, but a de-registration BU has lifetime 0 and is still retransmitted
until its BA arrives (§11.5.5, §11.8), and an RR run for a refresh may outlast the old
lifetime. So lifetime expiry removes only *quiet* entries (IDLE, BOUND, FAILED); an entry with
an exchange outstanding (:data:`OUTSTANDING_STATES`) ends through that exchange (BA,
GIVE_UP, DISABLE) instead.

Refresh point [choice]: ``sent_at + min(REFRESH_FRACTION x granted lifetime, Refresh
Interval)``, i.e. at 80% of the granted lifetime counted from when the BU was sent (the same
origin as the lifetime countdown of §11.7.3), or earlier when a home agent (or MAP) sent a
Binding Refresh Advice (§6.2.4, §11.7.3; the option is ignored from a correspondent).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv6Address
from types import MappingProxyType

from mipshop.protocol.base.backoff import RetransmissionTimer
from mipshop.protocol.base.constants import MAX_RO_FAILURE, REFRESH_FRACTION
from mipshop.protocol.base.sequence import seq_newer
from mipshop.protocol.mipv6.return_routability import binding_management_key, token_usable


class BindingState(Enum):
    """Signalling state of a Binding Update List entry."""

    #: Entry exists; nothing outstanding and no binding (e.g. just created).
    IDLE = "idle"
    #: Return routability running; the BU waits for it (§11.1, correspondents only).
    RR_PENDING = "rr_pending"
    #: A BU for a new binding (first one, or a new care-of address) awaits its BA.
    WAITING_ACK = "waiting_ack"
    #: The binding is in place (acknowledged, or sent without the A flag); nothing outstanding.
    BOUND = "bound"
    #: A refresh BU for the current binding awaits its BA; the binding is still in force.
    REFRESHING = "refreshing"
    #: A de-registration BU (lifetime 0) awaits its BA.
    DEREGISTERING = "deregistering"
    #: Future BUs SHOULD NOT be sent to this destination (§11.7.3, §11.3.5, §5.2.9).
    FAILED = "failed"
    #: Terminal: the entry MUST be deleted (lifetime reached zero, §11.1, or de-registered).
    DELETED = "deleted"


class BindingEvent(Enum):
    """Inputs that move a Binding Update List entry between states."""

    #: HoTI and/or CoTI sent to start return routability (§11.6).
    START_RR = "start_rr"
    #: BU with the A flag for a new binding (first registration or new CoA) sent (§11.7).
    SEND_BU = "send_bu"
    #: BU with the A flag extending the current binding (same CoA) sent (§11.7.1, §11.7.2).
    SEND_REFRESH = "send_refresh"
    #: BU without the A flag sent; no BA expected (correspondent registrations, §11.7.2).
    SEND_BU_UNACKED = "send_bu_unacked"
    #: De-registration BU (lifetime 0) sent (§11.5.5, §11.7.2).
    SEND_DEREG = "send_dereg"
    #: Valid BA with status < 128 for the outstanding BU (§11.7.3).
    BA_ACCEPTED = "ba_accepted"
    #: Authenticated BA with status 135: sequence resynchronised, BU resent (§11.7.3).
    BA_SEQUENCE_RESYNC = "ba_sequence_resync"
    #: Valid BA with status >= 128 (other than 135) that the MN does not correct (§11.7.3).
    BA_REJECTED = "ba_rejected"
    #: Retransmission timer fired and the message was resent (§11.8).
    RETRANSMIT = "retransmit"
    #: Retries exhausted (back-off or MAX_RO_FAILURE, §5.2.9, §11.8): stop trying.
    GIVE_UP = "give_up"
    #: Remaining lifetime reached zero (§11.1).
    LIFETIME_EXPIRED = "lifetime_expired"
    #: ICMP Parameter Problem code 1 or policy: no more BUs to this destination (§11.3.5).
    DISABLE = "disable"


def _build_transitions() -> dict[tuple[BindingState, BindingEvent], BindingState]:
    S, E = BindingState, BindingEvent  # noqa: N806 (short local aliases keep the table legible)
    active = (S.IDLE, S.RR_PENDING, S.WAITING_ACK, S.BOUND, S.REFRESHING, S.DEREGISTERING)
    awaiting = (S.RR_PENDING, S.WAITING_ACK, S.REFRESHING, S.DEREGISTERING)
    awaiting_ba = (S.WAITING_ACK, S.REFRESHING, S.DEREGISTERING)
    t: dict[tuple[BindingState, BindingEvent], BindingState] = {}
    for s in active:
        # The list keeps only the most recent BU per destination (§11.1): sending a new one
        # (or restarting RR for it) supersedes whatever was outstanding.
        t[s, E.START_RR] = S.RR_PENDING
        t[s, E.SEND_BU] = S.WAITING_ACK
        t[s, E.SEND_BU_UNACKED] = S.BOUND
        t[s, E.SEND_DEREG] = S.DEREGISTERING
    for s in (S.RR_PENDING, S.BOUND, S.REFRESHING):
        # Refreshing needs a binding to refresh (RR_PENDING: tokens renewed for a refresh).
        t[s, E.SEND_REFRESH] = S.REFRESHING
    for s in awaiting:
        t[s, E.RETRANSMIT] = s
    for s in awaiting_ba:
        t[s, E.BA_SEQUENCE_RESYNC] = s
    t[S.WAITING_ACK, E.BA_ACCEPTED] = S.BOUND
    t[S.REFRESHING, E.BA_ACCEPTED] = S.BOUND
    t[S.DEREGISTERING, E.BA_ACCEPTED] = S.DELETED
    t[S.WAITING_ACK, E.BA_REJECTED] = S.FAILED
    t[S.REFRESHING, E.BA_REJECTED] = S.FAILED
    t[S.DEREGISTERING, E.BA_REJECTED] = S.DELETED  # nothing left to protect; it will expire
    t[S.RR_PENDING, E.GIVE_UP] = S.FAILED  # MAX_RO_FAILURE: back to the HA tunnel (§5.2.9)
    t[S.WAITING_ACK, E.GIVE_UP] = S.FAILED
    t[S.REFRESHING, E.GIVE_UP] = S.FAILED
    t[S.DEREGISTERING, E.GIVE_UP] = S.DELETED
    for s in (*active, S.FAILED):
        t[s, E.LIFETIME_EXPIRED] = S.DELETED
        t[s, E.DISABLE] = S.FAILED
    return t


#: States with a BU or return routability exchange in progress (retransmission-driven).
OUTSTANDING_STATES: frozenset[BindingState] = frozenset(
    {
        BindingState.RR_PENDING,
        BindingState.WAITING_ACK,
        BindingState.REFRESHING,
        BindingState.DEREGISTERING,
    }
)

#: The whole state machine: ``(state, event) -> next state``. Pairs not listed are invalid.
TRANSITIONS: Mapping[tuple[BindingState, BindingEvent], BindingState] = MappingProxyType(
    _build_transitions()
)


_QUIET_STATES = frozenset({BindingState.IDLE, BindingState.BOUND, BindingState.FAILED})


class InvalidTransitionError(ValueError):
    """An event that makes no sense in the entry's current state."""

    def __init__(self, state: BindingState, event: BindingEvent) -> None:
        super().__init__(f"event {event.name} is not valid in state {state.name}")
        self.state = state
        self.event = event


def next_state(state: BindingState, event: BindingEvent) -> BindingState:
    """Look ``(state, event)`` up in :data:`TRANSITIONS`; raise :class:`InvalidTransitionError`."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise InvalidTransitionError(state, event) from None


@dataclass(slots=True)
class ReturnRoutabilityState:
    """Return routability data of a correspondent's BUL entry (RFC 6275 §11.1, §5.2).

    Cookies sent in HoTI/CoTI, tokens and nonce indices received in HoT/CoT with their
    arrival times (tokens are usable for MAX_TOKEN_LIFETIME, §5.2.7), the time of the last
    HoTI/CoTI (rate limiting) and the RR retransmission back-off (§11.8).
    """

    home_cookie: bytes | None = None
    care_of_cookie: bytes | None = None
    home_token: bytes | None = None
    care_of_token: bytes | None = None
    home_nonce_index: int | None = None
    care_of_nonce_index: int | None = None
    home_token_at: float | None = None
    care_of_token_at: float | None = None
    #: Care-of address the care-of token was obtained for (§5.2.6: the CoA being registered).
    care_of_token_address: IPv6Address | None = None
    test_init_sent_at: float | None = None
    backoff: RetransmissionTimer | None = None

    def accept_home_test(self, cookie: bytes, token: bytes, index: int, now: float) -> bool:
        """Store a Home Test's token if its cookie matches the HoTI's (§11.6.2); else False."""
        if self.home_cookie is None or cookie != self.home_cookie:
            return False
        self.home_token, self.home_nonce_index, self.home_token_at = token, index, now
        return True

    def accept_care_of_test(
        self, cookie: bytes, token: bytes, index: int, care_of_address: IPv6Address, now: float
    ) -> bool:
        """Store a Care-of Test's token if its cookie matches the CoTI's (§11.6.2); else False."""
        if self.care_of_cookie is None or cookie != self.care_of_cookie:
            return False
        self.care_of_token, self.care_of_nonce_index = token, index
        self.care_of_token_at, self.care_of_token_address = now, care_of_address
        return True

    def home_token_valid(self, now: float) -> bool:
        """True if a home keygen token is held and still usable (§5.2.7)."""
        return self.home_token_at is not None and token_usable(self.home_token_at, now)

    def care_of_token_valid(self, now: float, care_of_address: IPv6Address) -> bool:
        """True if a usable care-of token for ``care_of_address`` is held (§5.2.7)."""
        return (
            self.care_of_token_at is not None
            and self.care_of_token_address == care_of_address
            and token_usable(self.care_of_token_at, now)
        )

    def binding_key(
        self, now: float, care_of_address: IPv6Address, *, deregistration: bool = False
    ) -> bytes | None:
        """Kbm for a BU at ``now`` (§5.2.5), or None if a needed token is missing or stale.

        A de-registration uses the home keygen token only.
        """
        if not self.home_token_valid(now) or self.home_token is None:
            return None
        if deregistration:
            return binding_management_key(self.home_token, None)
        if not self.care_of_token_valid(now, care_of_address) or self.care_of_token is None:
            return None
        return binding_management_key(self.home_token, self.care_of_token)


@dataclass(slots=True)
class BindingUpdateListEntry:
    """One Binding Update List entry (RFC 6275 §11.1).

    ``sequence`` is the largest Sequence Number sent (initially the value *before* the first
    BU, e.g. from :func:`mipshop.protocol.sequence.initial_sequence`; use
    :meth:`next_sequence`). ``initial_lifetime`` is the Lifetime of the latest BU
    (L_update), ``sent_at`` its send time, ``expires_at`` the end of the remaining lifetime.
    """

    destination: IPv6Address
    home_address: IPv6Address
    care_of_address: IPv6Address
    sequence: int
    home_registration: bool = False
    map_registration: bool = False
    state: BindingState = BindingState.IDLE
    initial_lifetime: float = 0.0
    sent_at: float | None = None
    expires_at: float | None = None
    ack_requested: bool = False
    #: Lifetime granted by the last accepted BA (L_ack), or the lifetime of an unacked BU.
    granted_lifetime: float | None = None
    #: The binding confirmed at the peer: its care-of address and end time.
    bound_care_of_address: IPv6Address | None = None
    binding_expires_at: float | None = None
    #: Binding Refresh Advice interval from the HA/MAP (§6.2.4), if any.
    refresh_interval: float | None = None
    refresh_at: float | None = None
    #: Retransmission back-off of the outstanding BU (§11.8).
    backoff: RetransmissionTimer | None = None
    #: Consecutive return routability failures, toward MAX_RO_FAILURE (§5.2.9).
    ro_failures: int = 0
    #: The return routability data (:attr:`rr`), made at its first use: only a correspondent's
    #: entry has any, and a mobile node keeps a home and a MAP entry for the whole run.
    _rr: ReturnRoutabilityState | None = field(default=None, init=False, repr=False,
                                               compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= 0xFFFF:
            raise ValueError(f"sequence must be 16-bit, got {self.sequence}")

    @property
    def rr(self) -> ReturnRoutabilityState:
        """Return routability data of a correspondent's entry (RFC 6275 §11.1, §5.2)."""
        rr = self._rr
        if rr is None:
            rr = self._rr = ReturnRoutabilityState()
        return rr

    # -- state ---------------------------------------------------------------------------

    def transition(self, event: BindingEvent) -> BindingState:
        """Apply ``event`` through :data:`TRANSITIONS` and return the new state."""
        self.state = next_state(self.state, event)
        return self.state

    @property
    def sending_disabled(self) -> bool:
        """True if future BUs SHOULD NOT be sent to this destination (§11.1, §11.7.3)."""
        return self.state is BindingState.FAILED

    # -- sequence numbers (§11.8, §11.7.3) ------------------------------------------------

    def next_sequence(self) -> int:
        """The Sequence Number for the next BU (one past the last sent, modulo 2**16)."""
        return (self.sequence + 1) & 0xFFFF

    def resync_sequence(self, ba_sequence: int) -> None:
        """Adopt the last accepted number from an authenticated status-135 BA (§11.7.3)."""
        if not 0 <= ba_sequence <= 0xFFFF:
            raise ValueError(f"sequence must be 16-bit, got {ba_sequence}")
        self.sequence = ba_sequence

    # -- lifetimes --------------------------------------------------------------------------

    def record_sent(
        self,
        sequence: int,
        lifetime: float,
        now: float,
        *,
        care_of_address: IPv6Address | None = None,
        ack_requested: bool = True,
    ) -> None:
        """Record a BU (original or retransmission) sent at ``now`` (§11.1, §11.7).

        The remaining lifetime restarts from ``lifetime``. A retransmission needs a greater
        sequence number than the previous BU (§11.8): a value not newer raises ValueError.
        A BU without the A flag counts as confirmed at once (no BA will come).
        """
        if lifetime < 0:
            raise ValueError(f"lifetime must be >= 0, got {lifetime}")
        if self.sent_at is not None and not seq_newer(sequence, self.sequence):
            raise ValueError(f"sequence {sequence} is not newer than {self.sequence}")
        if not 0 <= sequence <= 0xFFFF:
            raise ValueError(f"sequence must be 16-bit, got {sequence}")
        if care_of_address is not None:
            self.care_of_address = care_of_address
        self.sequence = sequence
        self.initial_lifetime = lifetime
        self.sent_at = now
        self.expires_at = now + lifetime
        self.ack_requested = ack_requested
        if not ack_requested:
            self._confirm(lifetime, now)

    def remaining_lifetime(self, now: float) -> float:
        """Remaining lifetime at ``now`` (L_remain), 0 if no BU was sent or it ran out."""
        if self.expires_at is None:
            return 0.0
        return max(self.expires_at - now, 0.0)

    def apply_ack(
        self, ack_lifetime: float, now: float, *, refresh_interval: float | None = None
    ) -> None:
        """Apply the Lifetime (and Refresh Interval) of a valid accepted BA at ``now``.

        RFC 6275 §11.7.3: if L_ack < L_update, the new remaining lifetime is
        ``max(L_remain - (L_update - L_ack), 0)``, so the binding counts down from L_ack
        starting when the BU was sent. A Binding Refresh Advice is honoured only for a home
        or MAP registration (it MUST be ignored from a correspondent). Also stops the BU
        retransmissions (the back-off is cancelled).
        """
        if ack_lifetime < 0:
            raise ValueError(f"lifetime must be >= 0, got {ack_lifetime}")
        l_update = self.initial_lifetime
        if ack_lifetime < l_update:
            l_remain = self.remaining_lifetime(now)
            self.expires_at = now + max(l_remain - (l_update - ack_lifetime), 0.0)
        if self.home_registration or self.map_registration:
            self.refresh_interval = refresh_interval
        else:
            self.refresh_interval = None
        if self.backoff is not None:
            self.backoff.cancel()
        self._confirm(min(ack_lifetime, l_update), now)

    def _confirm(self, granted: float, now: float) -> None:
        self.granted_lifetime = granted
        self.bound_care_of_address = self.care_of_address if granted > 0 else None
        self.binding_expires_at = self.expires_at if granted > 0 else None
        self.refresh_at = self._refresh_point(granted)

    def _refresh_point(self, granted: float) -> float | None:
        if self.sent_at is None or granted <= 0:
            return None
        offset = REFRESH_FRACTION * granted
        if self.refresh_interval is not None and self.refresh_interval > 0:
            offset = min(offset, self.refresh_interval)
        return self.sent_at + offset

    def refresh_due(self, now: float) -> bool:
        """True if the binding is BOUND and its refresh point has come (§11.7.3)."""
        return (
            self.state is BindingState.BOUND
            and self.refresh_at is not None
            and now >= self.refresh_at
        )

    def binding_active(self, now: float) -> bool:
        """True if the peer holds a binding for the *current* care-of address at ``now``.

        This is what decides route optimisation towards a correspondent (§11.3.1).
        """
        return (
            self.bound_care_of_address is not None
            and self.bound_care_of_address == self.care_of_address
            and self.binding_expires_at is not None
            and now < self.binding_expires_at
        )

    def lifetime_expired(self, now: float) -> bool:
        """True if a BU was sent and its remaining lifetime has reached zero (§11.1)."""
        return self.expires_at is not None and now >= self.expires_at

    def due_for_deletion(self, now: float) -> bool:
        """True if the entry must go now: DELETED, or quiet with its lifetime run out.

        Entries in :data:`OUTSTANDING_STATES` are kept until their exchange ends (see the
        module docstring).
        """
        if self.state is BindingState.DELETED:
            return True
        return self.state not in OUTSTANDING_STATES and self.lifetime_expired(now)

    # -- return routability failures (§5.2.9) ------------------------------------------

    def record_ro_failure(self, max_failures: int = MAX_RO_FAILURE) -> bool:
        """Count one failed RR attempt; True once ``max_failures`` is reached (fall back)."""
        self.ro_failures += 1
        return self.ro_failures >= max_failures

    def reset_ro_failures(self) -> None:
        """Return routability succeeded: the failure count starts again from zero."""
        self.ro_failures = 0

    # -- timers ---------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """Earliest time this entry needs attention: retransmission, refresh or expiry.

        Lifetime expiry counts only for quiet entries (IDLE, BOUND, FAILED), as in
        :meth:`due_for_deletion`.
        """
        times: list[float] = []
        if self.backoff is not None and self.backoff.deadline is not None:
            times.append(self.backoff.deadline)
        rr = self._rr
        if rr is not None and rr.backoff is not None and rr.backoff.deadline is not None:
            times.append(rr.backoff.deadline)
        if self.state is BindingState.BOUND and self.refresh_at is not None:
            times.append(self.refresh_at)
        if self.expires_at is not None and self.state in _QUIET_STATES:
            times.append(self.expires_at)
        return min(times) if times else None


class BindingUpdateList:
    """All Binding Update List entries of a mobile node (RFC 6275 §11.1).

    Keyed by (destination, home address); iteration is in insertion order.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[IPv6Address, IPv6Address], BindingUpdateListEntry] = {}

    def get(
        self, destination: IPv6Address, home_address: IPv6Address
    ) -> BindingUpdateListEntry | None:
        """Return the entry for ``(destination, home_address)``, or None."""
        return self._entries.get((destination, home_address))

    def for_destination(self, destination: IPv6Address) -> list[BindingUpdateListEntry]:
        """All entries towards ``destination`` (one per home address)."""
        return [e for (d, _), e in self._entries.items() if d == destination]

    def add(self, entry: BindingUpdateListEntry) -> BindingUpdateListEntry | None:
        """Insert or replace the entry for its key; return the one replaced, if any."""
        key = (entry.destination, entry.home_address)
        previous = self._entries.get(key)
        self._entries[key] = entry
        return previous

    def remove(
        self, destination: IPv6Address, home_address: IPv6Address
    ) -> BindingUpdateListEntry | None:
        """Delete and return the entry for ``(destination, home_address)``, or None."""
        return self._entries.pop((destination, home_address), None)

    def expire(self, now: float) -> list[BindingUpdateListEntry]:
        """Delete the entries :meth:`~BindingUpdateListEntry.due_for_deletion` at ``now``.

        Those whose lifetime ran out (§11.1) go through LIFETIME_EXPIRED first, so every
        returned entry is DELETED. Returned in insertion order.
        """
        removed: list[BindingUpdateListEntry] = []
        for key, entry in list(self._entries.items()):
            if not entry.due_for_deletion(now):
                continue
            if entry.state is not BindingState.DELETED:
                entry.transition(BindingEvent.LIFETIME_EXPIRED)
            del self._entries[key]
            removed.append(entry)
        return removed

    def next_deadline(self) -> float | None:
        """Earliest :meth:`BindingUpdateListEntry.next_deadline` of all entries."""
        times = [t for e in self._entries.values() if (t := e.next_deadline()) is not None]
        return min(times) if times else None

    def __iter__(self) -> Iterator[BindingUpdateListEntry]:
        """Iterate over the entries in insertion order."""
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        """Number of entries."""
        return len(self._entries)
