"""RFC 6275 §11.1 / §11.7.3 Binding Update List: the transition table and the lifetime data."""

import hashlib
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.backoff import bu_backoff
from mipshop.protocol.mipv6.binding_update_list import (
    TRANSITIONS,
    BindingEvent,
    BindingState,
    BindingUpdateList,
    BindingUpdateListEntry,
    InvalidTransitionError,
    ReturnRoutabilityState,
    next_state,
)

S, E = BindingState, BindingEvent
HA = IPv6Address("2001:db8:1::1")
CN = IPv6Address("2001:db8:3::1")
HOA = IPv6Address("2001:db8:1::100")
COA1 = IPv6Address("2001:db8:2::100")
COA2 = IPv6Address("2001:db8:4::100")

# ---- the full (state, event) matrix, written out independently of the module ----------------

COLUMNS = [
    E.START_RR, E.SEND_BU, E.SEND_REFRESH, E.SEND_BU_UNACKED, E.SEND_DEREG, E.BA_ACCEPTED,
    E.BA_SEQUENCE_RESYNC, E.BA_REJECTED, E.RETRANSMIT, E.GIVE_UP, E.LIFETIME_EXPIRED, E.DISABLE,
]  # fmt: skip
ABBREV = {
    "ID": S.IDLE, "RR": S.RR_PENDING, "WA": S.WAITING_ACK, "BO": S.BOUND, "RF": S.REFRESHING,
    "DR": S.DEREGISTERING, "FA": S.FAILED, "DE": S.DELETED, "--": None,
}  # fmt: skip
MATRIX = """
#              RR  BU  RFSH UNAK DREG ACC RSYN REJ RTX GIVE EXP DIS
IDLE           RR  WA  --   BO   DR   --  --   --  --  --   DE  FA
RR_PENDING     RR  WA  RF   BO   DR   --  --   --  RR  FA   DE  FA
WAITING_ACK    RR  WA  --   BO   DR   BO  WA   FA  WA  FA   DE  FA
BOUND          RR  WA  RF   BO   DR   --  --   --  --  --   DE  FA
REFRESHING     RR  WA  RF   BO   DR   BO  RF   FA  RF  FA   DE  FA
DEREGISTERING  RR  WA  --   BO   DR   DE  DR   DE  DR  DE   DE  FA
FAILED         --  --  --   --   --   --  --   --  --  --   DE  FA
DELETED        --  --  --   --   --   --  --   --  --  --   --  --
"""


def expected_table():
    table = {}
    for line in MATRIX.strip().splitlines():
        if line.startswith("#"):
            continue
        name, *cells = line.split()
        assert len(cells) == len(COLUMNS)
        for event, cell in zip(COLUMNS, cells, strict=True):
            table[S[name], event] = ABBREV[cell]
    return table


EXPECTED = expected_table()


def test_matrix_covers_every_pair():
    assert set(EXPECTED) == {(s, e) for s in S for e in E}
    assert set(COLUMNS) == set(E)


@pytest.mark.parametrize(
    "state,event", [(s, e) for s in S for e in E], ids=lambda x: x.name if x else "x"
)
def test_every_pair(state, event):
    want = EXPECTED[state, event]
    entry = BindingUpdateListEntry(
        destination=HA, home_address=HOA, care_of_address=COA1, sequence=0, state=state
    )
    if want is None:
        assert (state, event) not in TRANSITIONS
        with pytest.raises(InvalidTransitionError) as info:
            entry.transition(event)
        assert info.value.state is state and info.value.event is event
        assert entry.state is state  # unchanged
    else:
        assert TRANSITIONS[state, event] is want
        assert next_state(state, event) is want
        assert entry.transition(event) is want
        assert entry.state is want


def test_deleted_is_terminal_and_failed_nearly():
    assert not [k for k in TRANSITIONS if k[0] is S.DELETED]
    assert {v for (s, _), v in TRANSITIONS.items() if s is S.FAILED} <= {S.FAILED, S.DELETED}


def test_every_state_reachable_from_idle():
    seen, todo = {S.IDLE}, [S.IDLE]
    while todo:
        s = todo.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is s and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    assert seen == set(S)


# ---- data: sequence numbers, lifetimes, refresh ------------------------------------------


def make(dest=HA, seq=65534, **kw) -> BindingUpdateListEntry:
    return BindingUpdateListEntry(
        destination=dest, home_address=HOA, care_of_address=COA1, sequence=seq, **kw
    )


def test_sequence_handling():
    e = make()
    assert e.next_sequence() == 65535
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    assert e.next_sequence() == 0  # wraps
    e.record_sent(e.next_sequence(), 100.0, 1.0)
    assert e.sequence == 0
    with pytest.raises(ValueError):
        e.record_sent(0, 100.0, 2.0)  # a retransmission needs a newer number (§11.8)
    with pytest.raises(ValueError):
        e.record_sent(65000, 100.0, 2.0)  # 65000 is "older" than 0 modulo 2**16
    e.resync_sequence(500)  # status 135
    assert e.next_sequence() == 501
    e.record_sent(501, 100.0, 3.0)
    with pytest.raises(ValueError):
        e.resync_sequence(70000)
    with pytest.raises(ValueError):
        make(seq=70000)
    with pytest.raises(ValueError):
        e.record_sent(502, -1.0, 3.0)


def test_ba_lifetime_formula():
    # §11.7.3: new remaining = max(L_remain - (L_update - L_ack), 0).
    e = make(home_registration=True)
    e.record_sent(e.next_sequence(), 400.0, 10.0)
    assert e.remaining_lifetime(11.0) == 399.0
    e.apply_ack(200.0, 11.0)
    assert e.remaining_lifetime(11.0) == pytest.approx(399.0 - (400.0 - 200.0))
    assert e.expires_at == pytest.approx(10.0 + 200.0)  # counted from when the BU was sent
    assert e.granted_lifetime == 200.0
    assert e.refresh_at == pytest.approx(10.0 + 0.8 * 200.0)


def test_ba_lifetime_not_increased():
    e = make()
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    e.apply_ack(400.0, 1.0)  # a BA never grants more than asked: keep L_update
    assert e.expires_at == 100.0
    assert e.granted_lifetime == 100.0


def test_ba_lifetime_floor_zero():
    e = make()
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    e.apply_ack(4.0, 50.0)  # BA arrives after the granted lifetime already ran out
    assert e.remaining_lifetime(50.0) == 0.0
    assert e.expires_at == 50.0
    assert not e.binding_active(50.0)


def test_remaining_lifetime_countdown():
    e = make()
    assert e.remaining_lifetime(0.0) == 0.0
    e.record_sent(e.next_sequence(), 60.0, 100.0)
    assert e.remaining_lifetime(130.0) == 30.0
    assert e.remaining_lifetime(200.0) == 0.0
    assert not e.lifetime_expired(159.9) and e.lifetime_expired(160.0)


def test_binding_refresh_advice_from_ha_only():
    ha = make(home_registration=True)
    ha.record_sent(ha.next_sequence(), 1000.0, 0.0)
    ha.apply_ack(1000.0, 0.5, refresh_interval=300.0)
    assert ha.refresh_at == 300.0
    ha2 = make(home_registration=True)
    ha2.record_sent(ha2.next_sequence(), 100.0, 0.0)
    ha2.apply_ack(100.0, 0.5, refresh_interval=96.0)  # later than the 80% point: keep 80%
    assert ha2.refresh_at == pytest.approx(80.0)
    mp = make(map_registration=True)
    mp.record_sent(mp.next_sequence(), 1000.0, 0.0)
    mp.apply_ack(1000.0, 0.5, refresh_interval=120.0)
    assert mp.refresh_at == 120.0
    cn = make(dest=CN)
    cn.record_sent(cn.next_sequence(), 400.0, 0.0)
    cn.apply_ack(400.0, 0.5, refresh_interval=100.0)  # MUST be ignored from a CN
    assert cn.refresh_interval is None
    assert cn.refresh_at == pytest.approx(320.0)


def test_refresh_due_only_when_bound():
    e = make(home_registration=True)
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    e.transition(E.SEND_BU)
    assert not e.refresh_due(90.0)  # WAITING_ACK
    e.apply_ack(100.0, 0.2)
    e.transition(E.BA_ACCEPTED)
    assert not e.refresh_due(79.9)
    assert e.refresh_due(80.0)


def test_unacked_bu_counts_as_bound():
    e = make(dest=CN)
    e.record_sent(e.next_sequence(), 400.0, 0.0, ack_requested=False)
    e.transition(E.SEND_BU_UNACKED)
    assert e.state is S.BOUND
    assert e.binding_active(1.0)
    assert e.refresh_at == pytest.approx(320.0)


def test_binding_active_follows_care_of_address():
    e = make(dest=CN)
    e.record_sent(e.next_sequence(), 400.0, 0.0)
    assert not e.binding_active(0.1)  # not confirmed yet
    e.apply_ack(400.0, 0.1)
    assert e.binding_active(0.1)
    # Movement: a BU for the new CoA is outstanding; the old binding no longer matches.
    e.record_sent(e.next_sequence(), 400.0, 10.0, care_of_address=COA2)
    assert e.care_of_address == COA2
    assert not e.binding_active(10.1)
    e.apply_ack(400.0, 10.2)
    assert e.binding_active(10.2) and e.bound_care_of_address == COA2
    assert not e.binding_active(410.0)
    # De-registration acknowledged: nothing bound.
    e.record_sent(e.next_sequence(), 0.0, 20.0, care_of_address=HOA)
    e.apply_ack(0.0, 20.1)
    assert e.bound_care_of_address is None and not e.binding_active(20.1)
    assert e.refresh_at is None


def test_refresh_keeps_old_binding_end():
    e = make(home_registration=True)
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    e.apply_ack(100.0, 0.1)
    e.record_sent(e.next_sequence(), 100.0, 80.0)  # refresh outstanding
    assert e.binding_active(99.9)  # the confirmed binding still ends at 100
    assert not e.binding_active(100.0)
    assert e.expires_at == 180.0  # the BUL lifetime follows the latest BU (§11.1)


def test_apply_ack_cancels_backoff_and_next_deadline():
    e = make(home_registration=True)
    e.backoff = bu_backoff(True)
    e.record_sent(e.next_sequence(), 100.0, 0.0)
    e.transition(E.SEND_BU)
    e.backoff.arm(0.0)
    assert e.next_deadline() == 1.5
    e.apply_ack(100.0, 0.5)
    e.transition(E.BA_ACCEPTED)
    assert e.backoff.deadline is None
    assert e.next_deadline() == pytest.approx(80.0)  # refresh point
    e.record_sent(e.next_sequence(), 100.0, 80.0)
    e.transition(E.SEND_REFRESH)
    e.backoff = bu_backoff(False)  # a binding exists now: INITIAL_BINDACK_TIMEOUT
    assert e.backoff.arm(80.0) == 81.0
    assert e.next_deadline() == 81.0  # outstanding: the retransmission drives it
    assert make().next_deadline() is None
    quiet = make(dest=CN)
    quiet.record_sent(quiet.next_sequence(), 10.0, 0.0, ack_requested=False)
    quiet.transition(E.SEND_BU_UNACKED)
    quiet.refresh_at = None  # e.g. no refresh wanted: the lifetime end is the deadline
    assert quiet.next_deadline() == 10.0


def test_rr_backoff_in_next_deadline():
    e = make(dest=CN)
    e.rr.backoff = bu_backoff(False)
    e.rr.backoff.arm(5.0)
    assert e.next_deadline() == 6.0


def test_ro_failures():
    e = make(dest=CN)
    assert not e.record_ro_failure()
    assert not e.record_ro_failure()
    assert e.record_ro_failure()  # MAX_RO_FAILURE = 3
    e.reset_ro_failures()
    assert e.ro_failures == 0
    e.state = S.RR_PENDING
    e.transition(E.GIVE_UP)
    assert e.sending_disabled


# ---- return routability data ---------------------------------------------------------------


def test_rr_state_tokens_and_kbm():
    rr = ReturnRoutabilityState(home_cookie=b"h" * 8, care_of_cookie=b"c" * 8)
    assert rr.binding_key(0.0, COA1) is None
    assert not rr.accept_home_test(b"x" * 8, b"H" * 8, 7, 1.0)  # wrong cookie
    assert rr.accept_home_test(b"h" * 8, b"H" * 8, 7, 1.0)
    assert rr.binding_key(1.0, COA1) is None  # no care-of token yet
    assert rr.binding_key(1.0, COA1, deregistration=True) == hashlib.sha1(b"H" * 8).digest()
    assert not rr.accept_care_of_test(b"h" * 8, b"C" * 8, 8, COA1, 2.0)
    assert rr.accept_care_of_test(b"c" * 8, b"C" * 8, 8, COA1, 2.0)
    assert rr.binding_key(2.0, COA1) == hashlib.sha1(b"H" * 8 + b"C" * 8).digest()
    assert rr.binding_key(2.0, COA2) is None  # token was for another CoA
    assert rr.home_nonce_index == 7 and rr.care_of_nonce_index == 8
    assert rr.care_of_token_valid(211.9, COA1) and not rr.care_of_token_valid(212.0, COA1)
    assert rr.binding_key(211.0, COA1) is None  # home token (received at 1.0) is stale


def test_rr_state_no_cookie_sent():
    rr = ReturnRoutabilityState()
    assert not rr.accept_home_test(b"h" * 8, b"H" * 8, 1, 0.0)
    assert not rr.accept_care_of_test(b"c" * 8, b"C" * 8, 1, COA1, 0.0)


# ---- the list -------------------------------------------------------------------------------


def test_list_operations():
    bul = BindingUpdateList()
    ha = make(home_registration=True)
    cn = make(dest=CN)
    assert bul.add(ha) is None and bul.add(cn) is None
    assert bul.get(HA, HOA) is ha and bul.get(CN, HOA) is cn
    assert bul.for_destination(CN) == [cn]
    other = make(home_registration=True)
    assert bul.add(other) is ha
    assert list(bul) == [other, cn]
    assert bul.remove(CN, HOA) is cn and bul.remove(CN, HOA) is None
    assert len(bul) == 1


def test_list_expire_and_deadline():
    bul = BindingUpdateList()
    a, b = make(), make(dest=CN)
    c, d = make(dest=IPv6Address("2001:db8:5::1")), make(dest=IPv6Address("2001:db8:6::1"))
    for x in (a, b, c, d):
        bul.add(x)
    for x, lifetime in ((a, 50.0), (b, 10.0)):
        x.record_sent(x.next_sequence(), lifetime, 0.0)
        x.transition(E.SEND_BU)
        x.apply_ack(lifetime, 0.1)
        x.transition(E.BA_ACCEPTED)
        x.refresh_at = None  # look at lifetime expiry only
    c.transition(E.START_RR)  # nothing sent yet: no lifetime
    d.record_sent(d.next_sequence(), 0.0, 0.0, care_of_address=HOA)  # de-registration
    d.transition(E.SEND_DEREG)
    assert bul.next_deadline() == 10.0  # d's zero lifetime does not count while outstanding
    assert bul.expire(9.0) == []
    assert bul.expire(10.0) == [b]
    assert b.state is S.DELETED
    assert list(bul) == [a, c, d]  # d survives its zero lifetime until its BA
    d.transition(E.BA_ACCEPTED)  # de-registration acknowledged: DELETED, removed next sweep
    assert d.due_for_deletion(10.5)
    assert bul.expire(10.5) == [d]
    a.transition(E.SEND_REFRESH)
    assert bul.expire(60.0) == []  # refresh outstanding: kept past its lifetime
    a.transition(E.GIVE_UP)  # FAILED is quiet again: the lifetime deletes it
    assert bul.expire(60.0) == [a]
    assert list(bul) == [c]
    assert bul.next_deadline() is None


def test_home_registration_walkthrough():
    bul = BindingUpdateList()
    e = make(home_registration=True, seq=100)
    bul.add(e)
    e.backoff = bu_backoff(first_home_registration=True)
    e.record_sent(e.next_sequence(), 420.0, 0.0)
    e.transition(E.SEND_BU)
    assert e.backoff.arm(0.0) == 1.5
    # No BA: retransmit with a new sequence number at 1.5, then 4.5.
    e.record_sent(e.next_sequence(), 420.0, 1.5)
    e.transition(E.RETRANSMIT)
    assert e.backoff.arm(1.5) == 4.5
    # BA 135 (authenticated): resync and resend.
    e.resync_sequence(7)
    e.transition(E.BA_SEQUENCE_RESYNC)
    e.record_sent(e.next_sequence(), 420.0, 2.0)
    assert e.sequence == 8
    # Accepted with a shorter lifetime and a refresh advice.
    e.apply_ack(300.0, 2.1, refresh_interval=200.0)
    e.transition(E.BA_ACCEPTED)
    assert e.state is S.BOUND
    assert e.expires_at == pytest.approx(302.0)
    assert bul.next_deadline() == pytest.approx(202.0)
    assert e.refresh_due(202.0)
