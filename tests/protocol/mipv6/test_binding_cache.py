"""RFC 6275 §9.1 / §9.6 Binding Cache."""

from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.mipv6 import binding_cache
from mipshop.protocol.mipv6.binding_cache import (
    BindingCache,
    BindingCacheEntry,
    BindingCacheFullError,
    new_binding_cache_entry,
)
from mipshop.wire.nd_options import address_key


def hoa(n: int) -> IPv6Address:
    return IPv6Address(f"2001:db8:1::{n:x}")


def entry(n: int, *, at: float = 0.0, lifetime: float = 100.0, seq: int = 1, **kw):
    return BindingCacheEntry(
        home_address=hoa(n),
        care_of_address=IPv6Address(f"2001:db8:2::{n:x}"),
        lifetime=lifetime,
        registered_at=at,
        sequence=seq,
        **kw,
    )


def test_entry_times():
    e = entry(1, at=10.0, lifetime=50.0)
    assert e.expires_at == 60.0
    assert e.remaining(30.0) == 30.0
    assert e.remaining(70.0) == 0.0
    assert not e.expired(59.999) and e.expired(60.0)
    assert not e.recently_used(10.0)
    e.touch(20.0)
    assert e.recently_used(80.0) and not e.recently_used(80.1)
    assert e.recently_used(25.0, within=5.0)
    with pytest.raises(ValueError):
        entry(1, lifetime=-1.0)
    with pytest.raises(ValueError):
        entry(1, seq=65536)


def test_lookup_ignores_expired():
    bc = BindingCache()
    bc.update(entry(1, at=0.0, lifetime=10.0), 0.0)
    assert bc.lookup(hoa(1), 9.9) is not None
    assert bc.lookup(hoa(1), 10.0) is None
    assert bc.get(hoa(1)) is not None  # still stored until expire()
    assert bc.lookup(hoa(2), 0.0) is None


def test_update_replaces_and_keeps_order():
    bc = BindingCache()
    for n in (3, 1, 2):
        assert bc.update(entry(n), 0.0) is None
    old = bc.get(hoa(1))
    new = entry(1, at=5.0, seq=2)
    assert bc.update(new, 5.0) is old
    assert [e.home_address for e in bc] == [hoa(3), hoa(1), hoa(2)]
    assert bc.lookup(hoa(1), 5.0) is new
    assert len(bc) == 3


def test_remove():
    bc = BindingCache()
    e = entry(1)
    bc.update(e, 0.0)
    assert bc.remove(hoa(1)) is e
    assert bc.remove(hoa(1)) is None
    assert len(bc) == 0


def test_expire_and_next_expiry():
    bc = BindingCache()
    assert bc.next_expiry() is None
    bc.update(entry(1, lifetime=30.0), 0.0)
    bc.update(entry(2, lifetime=10.0), 0.0)
    bc.update(entry(3, lifetime=10.0), 0.0)
    bc.update(entry(4, lifetime=20.0), 0.0)
    assert bc.next_expiry() == 10.0
    assert bc.expire(9.0) == []
    removed = bc.expire(20.0)
    assert [e.home_address for e in removed] == [hoa(2), hoa(3), hoa(4)]
    assert [e.home_address for e in bc] == [hoa(1)]
    assert bc.next_expiry() == 30.0


def test_max_entries_status_130():
    bc = BindingCache(max_entries=2)
    bc.update(entry(1, lifetime=10.0), 0.0)
    bc.update(entry(2, lifetime=100.0), 0.0)
    assert not bc.has_room_for(hoa(3), 5.0)
    with pytest.raises(BindingCacheFullError):
        bc.update(entry(3), 5.0)
    # Updating an existing binding is always possible.
    bc.update(entry(2, at=5.0, seq=2), 5.0)
    # Expired entries do not count against the limit.
    assert bc.has_room_for(hoa(3), 10.0)
    bc.update(entry(3, at=10.0), 10.0)
    assert bc.live_count(10.0) == 2
    assert BindingCache(max_entries=0).has_room_for(hoa(1), 0.0) is False
    with pytest.raises(ValueError):
        BindingCache(max_entries=-1)


def test_expired_entry_replaced_in_place():
    bc = BindingCache(max_entries=1)
    bc.update(entry(1, lifetime=10.0), 0.0)
    bc.update(entry(1, at=20.0, lifetime=10.0, seq=9), 20.0)
    assert bc.lookup(hoa(1), 20.0).sequence == 9


def test_sequence_acceptable():
    bc = BindingCache()
    assert bc.sequence_acceptable(hoa(1), 12345, 0.0)  # no entry: any value (§9.5.1)
    bc.update(entry(1, seq=15, lifetime=10.0), 0.0)
    assert bc.sequence_acceptable(hoa(1), 16, 1.0)
    assert not bc.sequence_acceptable(hoa(1), 15, 1.0)
    assert not bc.sequence_acceptable(hoa(1), 40000, 1.0)
    assert bc.sequence_acceptable(hoa(1), 15, 10.0)  # entry expired: any value again


def test_lru():
    bc = BindingCache()
    bc.update(entry(1, at=0.0, home_registration=True), 0.0)
    bc.update(entry(2, at=1.0), 1.0)
    bc.update(entry(3, at=2.0), 2.0)
    assert bc.least_recently_used(3.0).home_address == hoa(2)
    bc.get(hoa(2)).touch(5.0)
    assert bc.least_recently_used(6.0).home_address == hoa(3)
    assert bc.least_recently_used(6.0, include_home_registrations=True).home_address == hoa(1)
    assert BindingCache().least_recently_used(0.0) is None


def test_entries_filter():
    bc = BindingCache()
    bc.update(entry(1, lifetime=5.0), 0.0)
    bc.update(entry(2, lifetime=50.0, map_registration=True), 0.0)
    assert [e.home_address for e in bc.entries()] == [hoa(1), hoa(2)]
    assert [e.home_address for e in bc.entries(10.0)] == [hoa(2)]
    assert bc.get(hoa(2)).map_registration


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=15),
            st.floats(min_value=0, max_value=100),
            st.floats(min_value=0, max_value=100),
        ),
        max_size=40,
    ),
    st.floats(min_value=0, max_value=250),
)
def test_expire_invariants(ops, now):
    bc = BindingCache()
    for n, at, lifetime in ops:
        bc.update(entry(n, at=at, lifetime=lifetime), at)
    before = {e.home_address: e for e in bc}
    removed = bc.expire(now)
    assert all(e.expired(now) for e in removed)
    assert all(not e.expired(now) for e in bc)
    assert {e.home_address for e in removed} | {e.home_address for e in bc} == set(before)
    assert [e.expires_at for e in removed] == sorted(e.expires_at for e in removed)
    nxt = bc.next_expiry()
    assert nxt is None or nxt > now


def _reference_update(cache: BindingCache, entry: BindingCacheEntry, now: float
                      ) -> BindingCacheEntry | None:
    # BindingCache.update as it was with two lookups of the address (get, then set).
    entries, hoa = cache._entries, address_key(entry.home_address)
    previous = entries.get(hoa)
    if previous is None and cache.max_entries is not None and (
            len(entries) >= cache.max_entries) and cache.live_count(now) >= cache.max_entries:
        raise BindingCacheFullError(f"binding cache full ({cache.max_entries} entries)")
    entries[hoa] = entry
    return previous


@given(st.sampled_from([None, 0, 1, 3]),
       st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 5.0, 50.0]),
                          st.booleans(), st.integers(0, 3)), max_size=40))
def test_update_acts_as_its_two_lookup_form(
        bound: int | None, plan: list[tuple[int, float, bool, int]]) -> None:
    # The same entries in the same order, the same entry returned, the same refusals (130),
    # whether the address is new, stored, stored but expired, or the very entry stored.
    caches = (BindingCache(max_entries=bound), BindingCache(max_entries=bound))
    now = 0.0
    for index, (address, lifetime, same_object, gap) in enumerate(plan):
        now += gap
        hoa = IPv6Address(f"2001:db8::{address + 1}")
        outcomes = []
        for cache, update in zip(caches, (BindingCache.update, _reference_update), strict=True):
            stored = cache.get(hoa)
            entry = stored if same_object and stored is not None else BindingCacheEntry(
                home_address=hoa, care_of_address=IPv6Address("2001:db8:2::1"),
                lifetime=lifetime, registered_at=now, sequence=index)
            try:
                returned = update(cache, entry, now)
                outcomes.append(("returned", None if returned is None else (
                    returned.sequence, returned.registered_at)))
            except BindingCacheFullError as error:
                outcomes.append(("full", str(error)))
        assert outcomes[0] == outcomes[1]
        assert [(e.home_address, e.sequence, e.registered_at) for e in caches[0]] == [
            (e.home_address, e.sequence, e.registered_at) for e in caches[1]]


@given(st.integers(0, 2**128 - 1), st.integers(0, 2**128 - 1),
       st.one_of(st.floats(-10, 1e6), st.integers(-5, 300_000)), st.floats(0, 1e9),
       st.integers(-3, 0x10002), st.booleans(), st.booleans(), st.booleans())
def test_the_entry_builder_equals_the_constructor(
        home: int, care_of: int, lifetime: float, registered_at: float, sequence: int,
        home_registration: bool, map_registration: bool, link_local_compat: bool) -> None:
    # The same entry (fields, equality, repr), or the same ValueError for a negative
    # lifetime or a sequence number outside 16 bits.
    values = (IPv6Address(home), IPv6Address(care_of), lifetime, registered_at, sequence,
              home_registration, map_registration, link_local_compat)
    outcomes = []
    for make in (new_binding_cache_entry, lambda *v: BindingCacheEntry(
            home_address=v[0], care_of_address=v[1], lifetime=v[2], registered_at=v[3],
            sequence=v[4], home_registration=v[5], map_registration=v[6],
            link_local_compat=v[7])):
        try:
            built = make(*values)
            outcomes.append((built, repr(built), type(built)))
        except ValueError as error:
            outcomes.append(("error", str(error), None))
    assert outcomes[0] == outcomes[1]


#: Addresses a cache may be asked about: equal values with and without a scope (which the
#: integer key must keep apart), and others.
KEYED = [IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8:1::2"),
         IPv6Address("fe80::1"), IPv6Address("fe80::1%eth0"), IPv6Address("fe80::1%eth1"),
         IPv6Address("2001:db8:1::1%eth0")]


def _cache_trace(plan: list[tuple[str, int, int, float]], bound: int | None) -> list[object]:
    cache, now, trace = BindingCache(max_entries=bound), 0.0, []
    for operation, address, sequence, gap in plan:
        now += gap
        hoa = KEYED[address]
        if operation == "update":
            try:
                replaced = cache.update(BindingCacheEntry(
                    home_address=hoa, care_of_address=KEYED[1], lifetime=10.0,
                    registered_at=now, sequence=sequence), now)
                trace.append(None if replaced is None else replaced.sequence)
            except BindingCacheFullError as error:
                trace.append(str(error))
        elif operation == "expire":
            trace.append([(e.home_address, e.sequence) for e in cache.expire(now)])
        else:
            if operation == "get":
                found = cache.get(hoa)
            elif operation == "lookup":
                found = cache.lookup(hoa, now)
            else:
                found = cache.remove(hoa)
            trace.append(None if found is None else (found.home_address, found.sequence))
        trace.append((cache.has_room_for(hoa, now), len(cache), cache.live_count(now),
                      [(e.home_address, e.sequence) for e in cache]))
    return trace


@given(st.lists(st.tuples(st.sampled_from(["update", "get", "lookup", "remove", "expire"]),
                          st.integers(0, len(KEYED) - 1), st.integers(0, 0xFFFF),
                          st.sampled_from([0.0, 4.0, 20.0])), max_size=30),
       st.sampled_from([None, 1, 2, 4]))
def test_a_cache_keyed_by_address_key_answers_as_one_keyed_by_the_address(
        plan: list[tuple[str, int, int, float]], bound: int | None) -> None:
    # The integer key (address_key) against the address itself as the key: the same entries
    # found, replaced, removed and expired, in the same order, the same refusals, also for
    # scoped addresses whose integer equals an unscoped one's.
    fast = _cache_trace(plan, bound)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(binding_cache, "address_key", lambda address: address)
        plain = _cache_trace(plan, bound)
    assert fast == plain


def test_address_key_keeps_scoped_addresses_apart() -> None:
    assert address_key(KEYED[0]) == int(KEYED[0])
    assert len({address_key(a) for a in KEYED}) == len(KEYED)
    assert address_key(None) is None


@pytest.mark.parametrize(("sequence", "valid"), [
    (-1, False), (0, True), (1, True), (0xFFFE, True), (0xFFFF, True), (0x10000, False)])
def test_the_entry_builder_takes_every_16_bit_sequence_number(sequence: int, valid: bool) -> None:
    # RFC 6275 §6.1.7: the Sequence Number is 16 bits; 65535 is a valid one (a BU with it is
    # accepted after 65534, §9.5.1 compares modulo 2^16), 65536 cannot come from the wire.
    values = (hoa(1), hoa(2), 10.0, 0.0, sequence, True, False, False)
    if valid:
        assert new_binding_cache_entry(*values).sequence == sequence
    else:
        with pytest.raises(ValueError, match="16-bit"):
            new_binding_cache_entry(*values)


@pytest.mark.parametrize("bound", [1, 2, 3])
def test_a_full_cache_has_room_for_the_bindings_it_holds(bound: int) -> None:
    # §9.5.2 status 130 is for a new binding: every live entry of a full cache can still be
    # refreshed (has_room_for True), a new home address cannot, until one expires.
    bc = BindingCache(max_entries=bound)
    for n in range(bound):
        bc.update(entry(n, lifetime=100.0), 0.0)
    assert [bc.has_room_for(hoa(n), 5.0) for n in range(bound)] == [True] * bound
    assert bc.has_room_for(hoa(bound), 5.0) is False
