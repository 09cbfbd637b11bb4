"""The Binding Cache of a correspondent node, home agent or MAP (RFC 6275 §9.1, §9.6, §10.1).

Entries are keyed by home address (at most one entry per home address, §9.1). Expiry is driven by
``now``: :meth:`BindingCache.lookup` ignores expired entries and :meth:`BindingCache.expire` removes
them; :meth:`BindingCache.next_expiry` feeds an entity's ``next_deadline()``. Iteration order is
insertion order (an update keeps an entry's place), and :meth:`BindingCache.expire` reports in
(expiry time, insertion) order, so runs are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address

from mipshop.protocol.base.constants import BRR_RECENT_USE_THRESHOLD
from mipshop.protocol.base.sequence import seq_newer
from mipshop.wire.nd_options import address_key


class BindingCacheFullError(Exception):
    """No room for a new entry: answer with BA status 130, insufficient resources (§9.5.2)."""


@dataclass(slots=True)
class BindingCacheEntry:
    """One binding (RFC 6275 §9.1).

    ``lifetime`` is the lifetime granted (at most the BU's Lifetime, §9.5.2), counted from
    ``registered_at``, the time the accepted BU that created or last updated the entry was
    processed. ``sequence`` is the largest Sequence Number accepted for the home address.
    ``home_registration`` is the H flag of a home-agent entry (§10.1); ``map_registration``
    the M flag of an HMIPv6 local binding at a MAP (RFC 5380 §4). ``last_used`` is the usage
    information of §9.1 that drives cache replacement and Binding Refresh Requests (§9.5.5).
    ``nonce_indices`` (home, care-of) records the RR nonces that authorised a CN binding, for
    the replay rules of §5.2.8 and §9.5.3.
    """

    home_address: IPv6Address
    care_of_address: IPv6Address
    lifetime: float
    registered_at: float
    sequence: int
    home_registration: bool = False
    map_registration: bool = False
    #: The L bit of the home registration (§10.3.1: the derived link-local is defended too).
    link_local_compat: bool = False
    last_used: float | None = None
    nonce_indices: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.lifetime < 0:
            raise ValueError(f"lifetime must be >= 0, got {self.lifetime}")
        if not 0 <= self.sequence <= 0xFFFF:
            raise ValueError(f"sequence must be 16-bit, got {self.sequence}")

    @property
    def expires_at(self) -> float:
        """Absolute time at which the entry MUST be deleted (§9.5.2, §9.6)."""
        return self.registered_at + self.lifetime

    def remaining(self, now: float) -> float:
        """Remaining lifetime at ``now`` (never negative)."""
        return max(self.expires_at - now, 0.0)

    def expired(self, now: float) -> bool:
        """True once the lifetime has run out."""
        return now >= self.expires_at

    def touch(self, now: float) -> None:
        """Record that the binding was used to send a packet at ``now`` (§9.1 usage info)."""
        self.last_used = now

    def recently_used(self, now: float, within: float = BRR_RECENT_USE_THRESHOLD) -> bool:
        """True if used within ``within`` seconds: a reason to send a BRR (§9.5.5)."""
        return self.last_used is not None and now - self.last_used <= within


_new_object = object.__new__


def new_binding_cache_entry(
    home_address: IPv6Address, care_of_address: IPv6Address, lifetime: float,
    registered_at: float, sequence: int, home_registration: bool, map_registration: bool,
    link_local_compat: bool,
) -> BindingCacheEntry:
    """``BindingCacheEntry(home_address=..., care_of_address=..., lifetime=...,
    registered_at=..., sequence=..., home_registration=..., map_registration=...,
    link_local_compat=...)`` (``last_used`` and ``nonce_indices`` None), with the checks of
    its ``__post_init__`` made inline and no keyword ``__init__``: an agent builds one per
    accepted registration. Equal to the constructed entry (the class is not frozen: each
    field is a plain slot store)."""
    if lifetime < 0:
        raise ValueError(f"lifetime must be >= 0, got {lifetime}")
    if not 0 <= sequence <= 0xFFFF:
        raise ValueError(f"sequence must be 16-bit, got {sequence}")
    entry = _new_object(BindingCacheEntry)
    entry.home_address = home_address
    entry.care_of_address = care_of_address
    entry.lifetime = lifetime
    entry.registered_at = registered_at
    entry.sequence = sequence
    entry.home_registration = home_registration
    entry.map_registration = map_registration
    entry.link_local_compat = link_local_compat
    entry.last_used = None
    entry.nonce_indices = None
    return entry


class BindingCache:
    """Binding Cache keyed by home address, optionally bounded (RFC 6275 §9.1, §9.6).

    ``max_entries`` bounds the number of *live* entries; inserting a new home address beyond it
    raises :class:`BindingCacheFullError` (BA status 130, §9.5.2). Replacing entries to make room is
    a local policy (§9.6) left to the caller, helped by :meth:`least_recently_used`.
    """

    def __init__(self, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        #: Keyed by :func:`~mipshop.wire.nd_options.address_key` of the home address (its
        #: integer: an agent looks a home address up two or three times a registration, and
        #: ``IPv6Address.__hash__`` is a Python method); insertion order is the entries'.
        self._entries: dict[object, BindingCacheEntry] = {}

    def get(self, home_address: IPv6Address) -> BindingCacheEntry | None:
        """Return the stored entry for ``home_address`` even if expired, or None."""
        return self._entries.get(address_key(home_address))

    def lookup(self, home_address: IPv6Address, now: float) -> BindingCacheEntry | None:
        """Return the live entry for ``home_address`` at ``now``, ignoring an expired one."""
        entry = self._entries.get(address_key(home_address))
        if entry is None or entry.expired(now):
            return None
        return entry

    def live_count(self, now: float) -> int:
        """Number of entries not expired at ``now``."""
        return sum(1 for e in self._entries.values() if not e.expired(now))

    def has_room_for(self, home_address: IPv6Address, now: float) -> bool:
        """True if :meth:`update` for ``home_address`` at ``now`` would not overflow.

        O(1) while fewer than ``max_entries`` entries are stored (the entities remove an entry
        when it expires, so this is the normal case); only a full cache counts its live
        entries.
        """
        entries = self._entries
        if self.max_entries is None or address_key(home_address) in entries or (
                len(entries) < self.max_entries):
            return True
        return self.live_count(now) < self.max_entries

    def sequence_acceptable(self, home_address: IPv6Address, sequence: int, now: float) -> bool:
        """RFC 6275 §9.5.1 sequence test for a BU at ``now``.

        Any value is accepted when there is no (live) entry; otherwise the value must be
        strictly newer, modulo 2**16, than the entry's. A False answer means status 135.
        """
        entry = self.lookup(home_address, now)
        return entry is None or seq_newer(sequence, entry.sequence)

    def update(self, entry: BindingCacheEntry, now: float) -> BindingCacheEntry | None:
        """Create or replace the entry for ``entry.home_address``; return the one replaced.

        An expired entry for the same home address is replaced like a live one. Raises
        :class:`BindingCacheFullError` if the address is new and ``max_entries`` live entries
        already exist. The caller is responsible for the §9.5.1 checks (sequence number,
        registration type change, status 139) before calling.
        """
        entries, hoa = self._entries, address_key(entry.home_address)
        # A new address is inserted by this one lookup; an existing one is replaced in place.
        size = len(entries)
        previous = entries.setdefault(hoa, entry)
        if len(entries) == size:
            entries[hoa] = entry
            return previous
        # has_room_for, counted without the entry just inserted: past the limit (rare), it is
        # taken out again, and put back (at the end, where it was) only if there is room.
        if self.max_entries is not None and len(entries) > self.max_entries:
            del entries[hoa]
            if self.live_count(now) >= self.max_entries:
                raise BindingCacheFullError(f"binding cache full ({self.max_entries} entries)")
            entries[hoa] = entry
        return None

    def remove(self, home_address: IPv6Address) -> BindingCacheEntry | None:
        """Delete and return the entry for ``home_address`` (expired or not), or None."""
        return self._entries.pop(address_key(home_address), None)

    def expire(self, now: float) -> list[BindingCacheEntry]:
        """Delete every entry whose lifetime has run out at ``now``; return them (§9.6)."""
        order = {key: i for i, key in enumerate(self._entries)}
        dead = sorted(
            (e for e in self._entries.values() if e.expired(now)),
            key=lambda e: (e.expires_at, order[address_key(e.home_address)]),
        )
        for e in dead:
            del self._entries[address_key(e.home_address)]
        return dead

    def next_expiry(self) -> float | None:
        """Earliest expiry time of any stored entry, or None when empty (``next_deadline``)."""
        if not self._entries:
            return None
        return min(e.expires_at for e in self._entries.values())

    def least_recently_used(
        self, now: float, *, include_home_registrations: bool = False
    ) -> BindingCacheEntry | None:
        """Best replacement victim under LRU (§9.6), or None.

        Home registration entries are skipped by default: only non-home entries "MAY be
        replaced at any time" (§9.1). Never-used entries count as used at ``registered_at``;
        ties go to the earliest inserted.
        """
        candidates = [
            e
            for e in self._entries.values()
            if not e.expired(now) and (include_home_registrations or not e.home_registration)
        ]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda e: e.last_used if e.last_used is not None else e.registered_at,
        )

    def entries(self, now: float | None = None) -> list[BindingCacheEntry]:
        """Entries in insertion order; only the live ones when ``now`` is given."""
        if now is None:
            return list(self._entries.values())
        return [e for e in self._entries.values() if not e.expired(now)]

    def __iter__(self) -> Iterator[BindingCacheEntry]:
        """Iterate over all stored entries (expired ones included) in insertion order."""
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        """Number of stored entries, expired ones included until :meth:`expire`."""
        return len(self._entries)
