"""RCoA allocation at a MAP (RFC 5380 §6.2, §10.3: an RCoA is never one in use), with the
random draws scripted: the collision checks the mutation run found unchecked
(docs/mutation.md), since random 64-bit interface identifiers never collide by chance."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from mipshop.protocol.hmipv6.map import ALLOCATION_ATTEMPTS
from tests.protocol.hmip_scenario import lcoa, local_bu
from tests.protocol.hmipv6.test_map import MAP1, RCOA, answers, build_hmip, inject

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
