"""The correspondent node against replays (RFC 6275 §5.2.8, §9.5.3).

A captured route-optimisation BU stays cryptographically valid as long as its nonces are (up to
MAX_NONCE_LIFETIME, 240 s). Once the binding is deleted (de-registration or expiry), only the
retained sequence number stops a replay from recreating it towards the old care-of address.
"""

from __future__ import annotations

from mipshop.wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from tests.protocol.mipv6.test_route_optimization import optimised
from tests.protocol.scenario import CN_ADDRESSES, HOME_ADDRESS, care_of

S = BindingAckStatus
CN1 = CN_ADDRESSES["cn1"]
COA = care_of("visited1")


def _captured_registration(scn) -> bytes:
    """The first route-optimisation BU the mobile node sent to cn1, as on the wire."""
    return next(r.data for r, p in scn.net.packets(BindingUpdate, sender="mn")
                if p.dst == CN1 and p.payload.lifetime > 0)


def _last_ba(scn) -> BindingAcknowledgement:
    return [p.payload for _r, p in scn.net.packets(BindingAcknowledgement, sender="cn1")][-1]


def test_replayed_bu_after_deregistration_does_not_recreate_the_binding():
    scn = optimised(correspondents=("cn1",))
    scn.move("home", at=20.0)  # the mobile node de-registers with cn1
    scn.run(30)
    cn = scn.cns["cn1"]
    assert cn.cache.lookup(HOME_ADDRESS, 30) is None
    captured = _captured_registration(scn)
    sequence, _until = cn.retired[HOME_ADDRESS]
    # A minute after registering, the nonces still authorise the captured BU: 135, no binding.
    scn.net.inject(captured, "cn1", "eth0", at=60.0)
    scn.run(61)
    ba = _last_ba(scn)
    assert ba.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW and ba.sequence == sequence
    assert cn.cache.lookup(HOME_ADDRESS, 61) is None
    assert not [e for e in scn.net.events_of("binding.registered", "cn1") if e.time > 20]


def test_replayed_bu_after_expiry_does_not_recreate_the_binding():
    scn = optimised(correspondents=("cn1",), ro={"lifetime": 40.0})
    scn.net.at(10.0, lambda now: scn.net.connect("mn", "wlan0", None))  # no refresh
    scn.run(60)
    cn = scn.cns["cn1"]
    assert scn.net.events_of("binding.expired", "cn1")
    scn.net.inject(_captured_registration(scn), "cn1", "eth0", at=60.0)
    scn.run(61)
    assert _last_ba(scn).status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert cn.cache.lookup(HOME_ADDRESS, 61) is None
    assert len(scn.net.events_of("binding.registered", "cn1")) == 1


def test_the_inactive_entry_lasts_exactly_as_long_as_the_nonces():
    scn = optimised(correspondents=("cn1",))
    scn.move("home", at=20.0)
    scn.run(30)
    cn = scn.cns["cn1"]
    _sequence, until = cn.retired[HOME_ADDRESS]
    # No longer than the newest nonce it protects: at most MAX_NONCE_LIFETIME after its use.
    assert 30 < until <= 20.0 + 240.0
    scn.run(until + 1)
    assert HOME_ADDRESS not in cn.retired  # forgotten, with its timer
    scn.net.inject(_captured_registration(scn), "cn1", "eth0", at=until + 2)
    scn.run(until + 3)
    # The nonces are too old now: the replay fails on them (136-138), still no binding.
    assert _last_ba(scn).status in (S.EXPIRED_HOME_NONCE_INDEX, S.EXPIRED_CARE_OF_NONCE_INDEX,
                                    S.EXPIRED_NONCES)
    assert cn.cache.lookup(HOME_ADDRESS, until + 3) is None


def test_inactive_entries_count_against_the_binding_cache_limit():
    scn = optimised(correspondents=("cn1",), cn={"max_bindings": 1})
    scn.move("home", at=20.0)
    scn.run(30)
    cn = scn.cns["cn1"]
    assert len(cn.cache) == 0 and len(cn.retired) == 1
    assert not cn._has_room(care_of("visited2"))  # another home address: no room
    assert cn._has_room(HOME_ADDRESS)  # the retired one's own address takes its place


def test_a_new_binding_ends_the_inactive_entry_and_keeps_its_own_timers():
    # The live entry carries the sequence number from then on (§9.5.1); the inactive entry's
    # end must not touch the new binding's timers, which still expire it.
    scn = optimised(correspondents=("cn1",), ro={"lifetime": 60.0})
    scn.move("home", at=20.0)  # de-registration: an inactive entry
    scn.move("visited1", at=30.0)  # away again: a new binding
    scn.run(40)
    cn = scn.cns["cn1"]
    assert cn.cache.lookup(HOME_ADDRESS, 40) is not None
    assert HOME_ADDRESS not in cn.retired
    scn.net.at(41.0, lambda now: scn.net.connect("mn", "wlan0", None))  # no more refreshes
    scn.run(300)
    assert cn.cache.lookup(HOME_ADDRESS, 300) is None
    assert [e.time > 41.0 for e in scn.net.events_of("binding.expired", "cn1")] == [True]
