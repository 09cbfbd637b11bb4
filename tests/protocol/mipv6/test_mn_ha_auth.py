"""RFC 4285 §5.1 MN-HA authenticator, SA, and §6 timestamp replay protection."""

import hashlib
import hmac
import random
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.mipv6.mn_ha_auth import (
    NTP_UNIX_OFFSET,
    ReplayChecker,
    ReplayVerdict,
    SecurityAssociation,
    TimestampSource,
    hmac_sha1,
    mn_ha_authenticator,
    ntp_to_unix,
    unix_to_ntp,
    verify_mn_ha_authenticator,
)

HOA = IPv6Address("2001:db8:1::100")
COA = IPv6Address("2001:db8:2::100")
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
# BU to the HA: MH header (59, Header Len 3, Type 5, 0, Checksum 0), Sequence 1, H|A,
# Lifetime 105 units, Pad1 (to reach 4n+1), then the authentication option's Type 9,
# Length 17, Subtype 1 (MN-HA) and SPI 256: "MH Data" up to and including the SPI.
MOBILITY_DATA = bytes.fromhex("3b03050000000001c0000069" + "00" + "091101" + "00000100")
KAT = bytes.fromhex("6b9fc72aab52403c56911f26")  # computed once with ref() below, frozen


def ref(key: bytes, coa: IPv6Address, hoa: IPv6Address, data: bytes) -> bytes:
    # First(96, HMAC_SHA1(key, care-of address | home address | MH Data)), RFC 4285 §5.1
    return hmac.new(key, coa.packed + hoa.packed + data, hashlib.sha1).digest()[:12]


def test_known_answer():
    assert ref(KEY, COA, HOA, MOBILITY_DATA) == KAT
    assert mn_ha_authenticator(KEY, COA, HOA, MOBILITY_DATA) == KAT
    assert verify_mn_ha_authenticator(KEY, COA, HOA, MOBILITY_DATA, KAT)
    assert not verify_mn_ha_authenticator(KEY, HOA, COA, MOBILITY_DATA, KAT)


addresses = st.builds(IPv6Address, st.integers(min_value=0, max_value=(1 << 128) - 1))


@given(st.binary(min_size=1, max_size=64), addresses, addresses, st.binary(max_size=100))
def test_matches_reference(key, coa, hoa, data):
    out = mn_ha_authenticator(key, coa, hoa, data)
    assert out == ref(key, coa, hoa, data)
    assert len(out) == 12


def test_security_association():
    sa = SecurityAssociation(spi=256, key=KEY)
    assert sa.algorithm == "HMAC_SHA1" and sa.replay_window == 7.0
    assert sa.authenticator(COA, HOA, MOBILITY_DATA) == KAT
    assert sa.verify(COA, HOA, MOBILITY_DATA, KAT)
    assert not sa.verify(COA, HOA, MOBILITY_DATA, bytes(12))
    assert KEY.hex() not in repr(sa)
    for bad in (0, 255, 1 << 32):
        with pytest.raises(ValueError):
            SecurityAssociation(spi=bad, key=KEY)
    with pytest.raises(ValueError):
        SecurityAssociation(spi=300, key=b"")
    with pytest.raises(ValueError):
        SecurityAssociation(spi=300, key=KEY, algorithm="HMAC_MD5")
    with pytest.raises(ValueError):
        SecurityAssociation(spi=300, key=KEY, replay_window=0)
    SecurityAssociation(spi=(1 << 32) - 1, key=KEY)


# ---- NTP timestamps ---------------------------------------------------------------------------


def test_ntp_conversion():
    assert unix_to_ntp(0.0) == NTP_UNIX_OFFSET << 32
    assert unix_to_ntp(1.5) == ((NTP_UNIX_OFFSET + 1) << 32) | 0x80000000
    assert ntp_to_unix(((NTP_UNIX_OFFSET + 10) << 32) | 0x40000000) == 10.25
    with pytest.raises(ValueError):
        unix_to_ntp(-NTP_UNIX_OFFSET - 1.0)
    with pytest.raises(ValueError):
        ntp_to_unix(1 << 64)


@given(st.floats(min_value=0, max_value=2_000_000_000, allow_nan=False))
def test_ntp_roundtrip(t):
    assert abs(ntp_to_unix(unix_to_ntp(t)) - t) < 1e-6


# ---- Replay checker (RFC 4285 §6) ------------------------------------------------------------

OFFSET = 1_700_000_000.0  # wall clock = now + OFFSET


def stamp(now: float) -> int:
    return unix_to_ntp(now + OFFSET)


def test_accepts_fresh_and_rejects_duplicate():
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    ts = stamp(100.0)
    assert rc.accept(HOA, ts, 100.0) is ReplayVerdict.ACCEPTED
    assert rc.last_accepted(HOA) == ts
    assert rc.accept(HOA, ts, 100.1) is ReplayVerdict.NOT_NEWER  # replay of the same BU
    assert rc.accept(HOA, ts - 1, 100.1) is ReplayVerdict.NOT_NEWER  # older, still in window
    assert rc.accept(HOA, ts + 1, 100.1) is ReplayVerdict.ACCEPTED


def test_window():
    rc = ReplayChecker(wall_clock_offset=OFFSET)  # 7 s default
    assert rc.verify(HOA, stamp(93.0), 100.0) is ReplayVerdict.ACCEPTED  # exactly 7 s old
    assert rc.verify(HOA, stamp(92.9), 100.0) is ReplayVerdict.OUTSIDE_WINDOW
    assert rc.verify(HOA, stamp(107.0), 100.0) is ReplayVerdict.ACCEPTED
    assert rc.verify(HOA, stamp(107.1), 100.0) is ReplayVerdict.OUTSIDE_WINDOW
    assert rc.verify(HOA, stamp(95.0), 100.0, window=4.0) is ReplayVerdict.OUTSIDE_WINDOW
    assert rc.last_accepted(HOA) is None  # verify() records nothing


def test_old_timestamp_replayed_later():
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    ts = stamp(10.0)
    assert rc.accept(HOA, ts, 10.0) is ReplayVerdict.ACCEPTED
    rc.forget(HOA)  # HA dropped its state (e.g. binding removed): the window still protects
    assert rc.accept(HOA, ts, 60.0) is ReplayVerdict.OUTSIDE_WINDOW


def test_per_mn_state():
    other = IPv6Address("2001:db8:1::200")
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    ts = stamp(5.0)
    assert rc.accept(HOA, ts, 5.0) is ReplayVerdict.ACCEPTED
    assert rc.accept(other, ts, 5.0) is ReplayVerdict.ACCEPTED
    assert rc.accept("nai@example.net", ts, 5.0) is ReplayVerdict.ACCEPTED


def test_reply_timestamp():
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    good = stamp(50.0)
    assert rc.reply_timestamp(good, ReplayVerdict.ACCEPTED, 50.0) == good
    bad = unix_to_ntp(OFFSET - 3600.0) | 0x12345678
    reply = rc.reply_timestamp(bad, ReplayVerdict.OUTSIDE_WINDOW, 50.0)
    assert reply & 0xFFFFFFFF == bad & 0xFFFFFFFF
    assert reply >> 32 == int(OFFSET + 50.0) + NTP_UNIX_OFFSET


def test_checker_validation():
    with pytest.raises(ValueError):
        ReplayChecker(window=0)


def test_sweep_drops_the_timestamps_that_can_refuse_nothing():
    # A MAP hears each node once in a while: without the sweep it kept every node that ever
    # registered; with it, about those of the last window (7 s) and at most twice the last
    # sweep's count.
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    for k in range(1000):
        now = float(k)
        assert rc.accept(f"mn{k}", stamp(now), now) is ReplayVerdict.ACCEPTED
        assert len(rc) <= 2 * ReplayChecker.SWEEP_MIN + 1
    assert rc.last_accepted("mn999") == stamp(999.0)
    assert rc.last_accepted("mn0") is None
    # One kept: a replay of it is still refused.
    assert rc.accept("mn999", stamp(999.0), 1000.0) is ReplayVerdict.NOT_NEWER


@pytest.mark.parametrize("window", [7.0, 3.0, 1.0, 0.5])
def test_the_sweep_keeps_a_timestamp_exactly_one_window_old(window: float) -> None:
    # At ``now`` a timestamp exactly ``window`` old still passes the window check (|age| <=
    # window), so the sweep at that very instant must keep it: a replay of it is refused
    # (RFC 4285 §6), as without the sweep. One half a window older is dropped (the sweep ran).
    rc = ReplayChecker(window=window, wall_clock_offset=OFFSET)
    old = stamp(100.0)
    assert rc.accept(HOA, old, 100.0) is ReplayVerdict.ACCEPTED
    assert rc.accept("older", stamp(100.0 - window / 2), 100.0) is ReplayVerdict.ACCEPTED
    now = 100.0 + window
    for k in range(ReplayChecker.SWEEP_MIN):
        assert rc.accept(f"mn{k}", stamp(now), now) is ReplayVerdict.ACCEPTED
    assert rc.last_accepted("older") is None
    assert rc.last_accepted(HOA) == old
    assert rc.verify(HOA, old, now) is ReplayVerdict.NOT_NEWER
    assert rc.accept(HOA, old, now) is ReplayVerdict.NOT_NEWER


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0, 3.0]),
                          st.floats(-9.0, 9.0), st.sampled_from([None, 7.0, 3.0, 0.5])),
                max_size=150))
def test_sweep_changes_no_verdict(steps):
    # The same calls on a checker swept after every call and on a plain record of every
    # accepted timestamp (the checker before the sweep existed): the same verdicts.
    rc = ReplayChecker(wall_clock_offset=OFFSET)
    last: dict[str, int] = {}
    now = 0.0
    for mn, step, skew, window in steps:
        now += step
        ts = stamp(now + skew)
        limit = 7.0 if window is None else window
        if abs(ntp_to_unix(ts) - (now + OFFSET)) > limit:
            expected = ReplayVerdict.OUTSIDE_WINDOW
        elif f"m{mn}" in last and ts <= last[f"m{mn}"]:
            expected = ReplayVerdict.NOT_NEWER
        else:
            expected = ReplayVerdict.ACCEPTED
            last[f"m{mn}"] = ts
        assert rc.accept(f"m{mn}", ts, now, window=window) is expected
        rc._sweep(now)


# ---- Mobile node timestamp source -------------------------------------------------------------


def test_source_strictly_increasing():
    src = TimestampSource(OFFSET)
    a = src.next(1.0)
    b = src.next(1.0)  # same instant: still strictly greater
    c = src.next(0.5)  # clock stepped back: still strictly greater
    assert a < b < c
    assert a == stamp(1.0)


def test_source_random_low_bits():
    src = TimestampSource(OFFSET, rng=random.Random(1), random_bits=12)
    a = src.next(1.0)
    assert a >> 12 == stamp(1.0) >> 12
    with pytest.raises(ValueError):
        TimestampSource(random_bits=4)
    with pytest.raises(ValueError):
        TimestampSource(rng=random.Random(1), random_bits=33)


#: (what is made, accepted): the edges of every bound of the module (RFC 4285 §6: 64-bit NTP
#: timestamps from the NTP epoch; replay windows and association windows of any positive
#: length; up to all 32 fraction bits random).
EDGES = [
    ("the NTP epoch itself", lambda: unix_to_ntp(-float(NTP_UNIX_OFFSET)), 0),
    ("the smallest NTP timestamp", lambda: ntp_to_unix(0), -float(NTP_UNIX_OFFSET)),
    ("the largest NTP timestamp", lambda: ntp_to_unix((1 << 64) - 1) > 2e9, True),
    ("a replay window under a second",
     lambda: ReplayChecker(window=0.5).window, 0.5),
    ("an association's replay window under a second",
     lambda: SecurityAssociation(spi=256, key=KEY, replay_window=0.5).replay_window, 0.5),
    ("all 32 fraction bits random",
     lambda: TimestampSource(rng=random.Random(1), random_bits=32).next(1.0) >> 32,
     unix_to_ntp(1.0) >> 32),
    ("no wall clock offset by default", lambda: TimestampSource().next(2.0), unix_to_ntp(2.0)),
    ("the checker's wall clock is its clock by default",
     lambda: ReplayChecker().wall_clock(2.0), 2.0),
]


@pytest.mark.parametrize(("make", "expected"), [e[1:] for e in EDGES], ids=[e[0] for e in EDGES])
def test_bounds_at_their_edges(make, expected):
    assert make() == expected


def test_source_random_low_bits_are_the_generators():
    """RFC 4285 §6: the fraction bits the clock does not give SHOULD be random. The low
    ``random_bits`` bits of each timestamp are the generator's draws, the bits above them the
    clock's (over a second apart, so no timestamp is bumped for being no later than the last)."""
    src = TimestampSource(OFFSET, rng=random.Random(7), random_bits=12)
    draws = random.Random(7)
    for t in [1.37 * k for k in range(1, 17)]:
        value = src.next(t)
        assert value >> 12 == stamp(t) >> 12
        assert value & 0xFFF == draws.getrandbits(12)


def test_resync_after_mismatch():
    ha = ReplayChecker(wall_clock_offset=OFFSET)
    mn = TimestampSource(OFFSET + 3600.0)  # MN clock an hour fast
    ts = mn.next(20.0)
    verdict = ha.accept(HOA, ts, 20.0)
    assert verdict is ReplayVerdict.OUTSIDE_WINDOW
    mn.adjust(ha.reply_timestamp(ts, verdict, 20.0), 20.0)
    ts2 = mn.next(21.0)
    assert ha.accept(HOA, ts2, 21.0) is ReplayVerdict.ACCEPTED
    mn.confirm(ts2)
    assert ha.accept(HOA, mn.next(22.0), 22.0) is ReplayVerdict.ACCEPTED


def test_resync_never_goes_below_the_last_successful_timestamp():
    # RFC 4285 §6: every BU's timestamp exceeds that of any previous successful BU, also
    # after a resynchronisation to a home agent whose clock is behind that BU's.
    ha = ReplayChecker(wall_clock_offset=OFFSET)
    mn = TimestampSource(OFFSET + 3.0)  # 3 s fast: still inside the window
    ts1 = mn.next(21.0)
    assert ha.accept(HOA, ts1, 21.0) is ReplayVerdict.ACCEPTED
    mn.confirm(ts1)
    mn.wall_clock_offset = OFFSET + 3600.0  # then an hour fast
    ts2 = mn.next(22.0)
    verdict = ha.accept(HOA, ts2, 22.0)
    assert verdict is ReplayVerdict.OUTSIDE_WINDOW
    mn.adjust(ha.reply_timestamp(ts2, verdict, 22.0), 22.0)
    ts3 = mn.next(22.0)
    assert ts3 > ts1
    assert ha.accept(HOA, ts3, 22.0) is ReplayVerdict.ACCEPTED



@given(key=st.binary(min_size=1, max_size=80), data=st.binary(max_size=300),
       coa=st.integers(0, (1 << 128) - 1), hoa=st.integers(0, (1 << 128) - 1))
def test_the_associations_authenticator_is_the_rfc_4285_hmac(
        key: bytes, data: bytes, coa: int, hoa: int) -> None:
    """HMAC_SHA1 over CoA | HoA | MH Data, cut to 96 bits (RFC 4285 §5.1), whatever the key's
    length (RFC 2104 §2: a key longer than the block is hashed first); it verifies what it
    computed and nothing else."""
    sa = SecurityAssociation(spi=300, key=key)
    c, h = IPv6Address(coa), IPv6Address(hoa)
    expected = ref(key, c, h, data)
    assert expected == mn_ha_authenticator(key, c, h, data)
    assert sa.authenticator(c, h, data) == expected
    assert sa.verify(c, h, data, expected)
    assert not sa.verify(c, h, data + b"\x00", expected)
    assert not sa.verify(c, h, data, bytes(12))


@given(key=st.binary(min_size=1, max_size=200), message=st.binary(max_size=300))
def test_hmac_sha1_is_the_standard_librarys(key: bytes, message: bytes) -> None:
    assert hmac_sha1(key, message) == hmac.new(key, message, hashlib.sha1).digest()


def _verify_then_record(checker: ReplayChecker, mn: bytes, timestamp: int, now: float,
                        window: float | None) -> object:
    # ReplayChecker.accept as it was: verify, then record an ACCEPTED timestamp.
    verdict = checker.verify(mn, timestamp, now, window=window)
    if verdict is ReplayVerdict.ACCEPTED:
        checker._last[mn] = timestamp
    return verdict


_NEAR = unix_to_ntp(OFFSET + 100.0)


@given(st.lists(st.tuples(
    st.sampled_from([b"mn0", b"mn1"]),
    st.one_of(st.integers(_NEAR - (20 << 32), _NEAR + (20 << 32)),
              st.sampled_from([-1, 0, 1 << 64, (1 << 64) - 1, _NEAR])),
    st.floats(90.0, 110.0), st.sampled_from([None, 0.5, 3.0, 7.0])), max_size=30),
    st.sampled_from([1.0, 7.0]))
def test_accept_judges_as_verify_then_record(
        plan: list[tuple[bytes, int, float, float | None]], default: float) -> None:
    # accept, with verify's checks inline, against verify + record: the same verdicts, the
    # same timestamps kept, the same ValueError for a timestamp outside 64 bits.
    checkers = (ReplayChecker(window=default, wall_clock_offset=OFFSET),
                ReplayChecker(window=default, wall_clock_offset=OFFSET))
    for mn, timestamp, now, window in plan:
        outcomes = []
        for checker, judge in zip(checkers, (
                lambda c, *a: c.accept(*a[:3], window=a[3]), _verify_then_record), strict=True):
            try:
                outcomes.append(judge(checker, mn, timestamp, now, window))
            except ValueError as error:
                outcomes.append(str(error))
        assert outcomes[0] == outcomes[1]
        assert checkers[0]._last == checkers[1]._last
