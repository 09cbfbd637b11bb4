"""RCoA allocation at a MAP (RFC 5380 §6.2, §10.3: an RCoA is never one in use), with the
random draws scripted: the collision checks the mutation run found unchecked
(docs/mutation.md), since random 64-bit interface identifiers never collide by chance."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from mipshop.protocol.hmipv6.map import ALLOCATION_ATTEMPTS
from tests.protocol.hmip_scenario import lcoa, local_bu
from tests.protocol.hmipv6.test_map import (
    MAP1,
    OTHER,
    RCOA,
    _second_identity,
    answers,
    build_hmip,
    inject,
)

IN_USE = IPv6Address("2001:db8:a1::6")
OUTSIDE = IPv6Address("2001:db8:a2::5")  # a proposal outside the MAP's prefix: one is drawn


class ScriptedDraws(random.Random):
    """A generator whose 64-bit draws (interface identifiers) come from a script."""

    def __init__(self, identifiers: list[int]) -> None:
        super().__init__(1)
        self.identifiers = identifiers

    def getrandbits(self, k: int) -> int:
        if k == 64 and self.identifiers:
            return self.identifiers.pop(0)
        return super().getrandbits(k)


def _iid(address: IPv6Address) -> int:
    return int(address) & (2**64 - 1)


def _map_drawing(identifiers: list[int]):
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True, "accept_unauthenticated": True,
                                    "addresses_in_use": frozenset({IN_USE})}})
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)  # mn1's SA binds RCOA
    scn.maps["map1"].rng = ScriptedDraws(identifiers)
    return scn


def test_the_maps_own_address_one_in_use_and_a_bound_rcoa_are_never_assigned():
    scn = _map_drawing([_iid(MAP1), _iid(IN_USE), _iid(RCOA), 0x77])
    inject(scn, local_bu(at=2.0, sequence=1, rcoa=OUTSIDE, lcoa=lcoa("d1b"), credentials=None),
           2.0)
    _first, second = answers(scn)
    assert second.payload.status == 0
    assert second.routing_home_address == IPv6Address("2001:db8:a1::77")


def test_no_free_draw_within_the_attempts_is_refused_with_130():
    scn = _map_drawing([_iid(MAP1)] * ALLOCATION_ATTEMPTS + [0x77])
    inject(scn, local_bu(at=2.0, sequence=1, rcoa=OUTSIDE, lcoa=lcoa("d1b"), credentials=None),
           2.0)
    _first, second = answers(scn)
    assert second.payload.status == 130  # insufficient resources
    assert scn.maps["map1"].cache.lookup(IPv6Address("2001:db8:a1::77"), scn.net.now) is None


# -- the MAP's own address is no RCoA (RFC 5380 §6.2 with RFC 6275 §10.3.1) ------------------


def test_a_local_bu_for_the_maps_own_address_gets_134_and_no_binding():
    # DAD on the MAP's own address would find it in use (the MAP's): 134, unauthenticated
    # or under an SA that names it; the MAP binds nothing for its own address.
    scn = build_hmip(maps={"map1": {"accept_unauthenticated": True}})
    _second_identity(scn, MAP1)
    inject(scn, local_bu(at=1.0, sequence=1, rcoa=MAP1, credentials=None), 1.0)
    inject(scn, local_bu(at=2.0, sequence=1, rcoa=MAP1, lcoa=lcoa("d1b"), credentials=OTHER),
           2.0)
    assert [(ba.payload.status, ba.routing_home_address) for ba in answers(scn)] == [
        (134, MAP1), (134, MAP1)]
    assert scn.maps["map1"].cache.lookup(MAP1, scn.net.now) is None


def test_an_allocating_map_does_not_keep_its_own_address_as_a_proposal():
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True, "accept_unauthenticated": True}})
    scn.maps["map1"].rng = ScriptedDraws([0x77])
    inject(scn, local_bu(at=1.0, sequence=1, rcoa=MAP1, credentials=None), 1.0)
    (ba,) = answers(scn)
    assert ba.payload.status == 0
    assert ba.routing_home_address == IPv6Address("2001:db8:a1::77")
    assert scn.maps["map1"].cache.lookup(MAP1, scn.net.now) is None
