"""Keygen tokens reused across return-routability attempts (RFC 6275 §5.2.7, §11.6.1).

"A fast moving mobile node MAY reuse a recent home keygen token from a correspondent node when
moving to a new location, and just acquire a new care-of keygen token" (§5.2.7); "if the mobile
node intends to send a Binding Update with the Lifetime set to zero and the care-of address
equal to its home address -- such as when returning home -- sending a Home Test Init message is
sufficient" (§11.6.1), and with a recent home token none at all.
"""

from __future__ import annotations

import pytest

from mipshop.protocol.base.constants import MAX_TOKEN_LIFETIME
from mipshop.protocol.mipv6.config import RouteOptimizationConfig
from mipshop.wire.ext_headers import RoutingHeaderType2
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingUpdate,
    CareOfTestInit,
    HomeTestInit,
)
from tests.protocol.scenario import CN_ADDRESSES, HOME_ADDRESS, build, care_of

CN1 = CN_ADDRESSES["cn1"]
S = BindingAckStatus


def scenario(**ro):
    return build(correspondents=("cn1",), mn={"route_optimization": RouteOptimizationConfig(
        correspondents=(CN1,), **ro)})


def sent(scn, kind, after=0.0, before=float("inf")):
    """Times at which the mobile node sent a ``kind`` (tunnelled or not) to cn1."""
    return [r.time for r, _p in scn.net.packets(kind, sender="mn") if after <= r.time < before]


def bound(scn):
    return [(e.time, e.fields["care_of_address"]) for e in scn.net.events_of("ro.bound", "mn")]


def test_a_move_reuses_the_home_token_and_fetches_only_a_care_of_token():
    scn = scenario()
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=20.0)
    scn.run(40)
    # The first visit runs the full procedure; the move 19 s later only a CoTI (§5.2.7).
    assert len(sent(scn, HomeTestInit, before=20.0)) == 1
    assert len(sent(scn, CareOfTestInit, before=20.0)) == 1
    assert sent(scn, HomeTestInit, after=20.0) == []
    assert len(sent(scn, CareOfTestInit, after=20.0)) == 1
    [reuse] = scn.net.events_of("ro.tokens_reused", "mn")
    assert reuse.fields == {"correspondent": CN1, "home": True, "care_of": False}
    # The correspondent accepts the BU keyed with the reused home token and the new care-of
    # token: the binding moves to the new care-of address.
    assert [coa for _t, coa in bound(scn)] == [care_of("visited1"), care_of("visited2")]
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 40).care_of_address == care_of("visited2")


def test_return_home_with_a_recent_home_token_sends_no_test_init():
    scn = scenario()
    scn.move("visited1", at=1.0)
    scn.move("home", at=20.0)
    scn.run(40)
    assert sent(scn, HomeTestInit, after=20.0) == [] and sent(scn, CareOfTestInit, after=20.0) == []
    assert scn.net.events_of("ro.deregistered", "mn")
    assert scn.cns["cn1"].cache.lookup(HOME_ADDRESS, 40) is None
    # The de-registration BU left at once, from the home address (§11.5.5).
    [(_r, dereg)] = [(r, p) for r, p in scn.net.packets(BindingUpdate, sender="mn")
                     if p.dst == CN1 and r.time >= 20.0]
    assert dereg.payload.lifetime == 0 and dereg.src == HOME_ADDRESS


def test_tokens_older_than_max_token_lifetime_are_not_reused():
    scn = scenario()
    scn.move("visited1", at=1.0)
    later = 1.0 + MAX_TOKEN_LIFETIME + 5
    scn.move("visited2", at=later)
    scn.run(later + 10)
    assert len(sent(scn, HomeTestInit, after=later)) == 1  # §5.2.7: SHOULD NOT use them
    assert len(sent(scn, CareOfTestInit, after=later)) == 1
    assert [coa for _t, coa in bound(scn)][-1] == care_of("visited2")


def test_without_reuse_every_attempt_fetches_both_tokens():
    scn = scenario(reuse_tokens=False)
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=20.0)
    scn.run(40)
    assert len(sent(scn, HomeTestInit, after=20.0)) == 1
    assert len(sent(scn, CareOfTestInit, after=20.0)) == 1
    assert not scn.net.events_of("ro.tokens_reused", "mn")


@pytest.mark.parametrize(("status", "home", "care_of_token"), [
    (S.EXPIRED_HOME_NONCE_INDEX, True, False),
    (S.EXPIRED_CARE_OF_NONCE_INDEX, False, True),
    (S.EXPIRED_NONCES, True, True),
])
def test_an_expired_nonce_discards_its_token(status, home, care_of_token):
    """§11.7.3: a BA 136/137/138 carries no authorization data; the mobile node gets the tokens
    of the expired nonce indices again and reuses the other."""
    scn = scenario()
    scn.move("visited1", at=1.0)
    scn.run(10)
    # The BU after the next move (keyed with the reused home token and a new care-of token)
    # is refused as if the correspondent had forgotten the nonce: its BA is lost and a
    # refusal injected instead.
    scn.move("visited2", at=10.0)
    undo = scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement)
                           and p.src == CN1)
    scn.run(11.5)
    undo()
    bus = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == CN1]
    assert bus[-1].payload.lifetime > 0
    refusal = IPv6Packet(src=CN1, dst=care_of("visited2"), payload=BindingAcknowledgement(
        status=status, sequence=bus[-1].payload.sequence, lifetime=0),
        extension_headers=(RoutingHeaderType2(home_address=HOME_ADDRESS),))
    scn.net.inject(encode_packet(refusal), "mn", "wlan0", at=11.5)
    scn.run(11.51)
    assert [e.fields["status"] for e in scn.net.events_of("ro.nonce_expired", "mn")] == [status]
    assert (len(sent(scn, HomeTestInit, after=11.5)) == 1) is home
    assert (len(sent(scn, CareOfTestInit, after=11.5)) == 1) is care_of_token
    scn.run(20)
    assert bound(scn)[-1][1] == care_of("visited2")
