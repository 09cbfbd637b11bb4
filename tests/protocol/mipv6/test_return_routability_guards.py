"""The mobile node takes a Care-of Test only where it went: at the care-of address it uses
towards that correspondent (RFC 6275 §11.6.2; §5.2.5: the care-of keygen token proves that
the node receives at that address). A CoT read anywhere else is dropped."""

from __future__ import annotations

import dataclasses

import pytest

from mipshop.wire.mh import CareOfTest
from tests.protocol.mipv6.test_route_optimization import CN1, COA, optimised
from tests.protocol.scenario import HOME_ADDRESS


@pytest.mark.parametrize(("case", "dst", "taken"), [
    ("at the care-of address", COA, True),
    ("at the home address", HOME_ADDRESS, False),
])
def test_a_care_of_test_is_taken_only_at_the_care_of_address(case, dst, taken):
    scn = optimised(correspondents=("cn1",))
    held = []
    scn.net.drop_if(lambda p, r: isinstance(p.payload, CareOfTest) and not held.append(p))
    scn.run(6)
    cot = held[-1]  # the answer to the last Care-of Test Init (each carries a new cookie)
    entry = scn.mn.route_optimization.entries[CN1]
    assert entry.rr.care_of_token is None
    assert scn.mn.route_optimization.handle(dataclasses.replace(cot, dst=dst))
    assert (entry.rr.care_of_token is not None) is taken
    assert scn.mn.counters["drop.cot_unmatched"] == (0 if taken else 1)
