"""A MAP restarted from its stored state (RFC 5380 §6.2: a local home agent) resumes its
bindings, their owners and their replay state; sans-IO, as for the home agent."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address
from typing import Any

from mipshop.protocol.base.actions import Action, Claim, Event, Transmit
from mipshop.protocol.hmipv6.config import MapConfig
from mipshop.protocol.hmipv6.map import MobilityAnchorPoint
from mipshop.protocol.mipv6.config import MobilityCredentials
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.wire.mh import BindingAcknowledgement
from tests.protocol.hmip_scenario import (
    DOMAIN1,
    MAP_ADDRESSES,
    MAP_CREDENTIALS,
    lcoa,
    local_bu,
    rcoa,
)
from tests.protocol.mipv6.test_restore import SHIFT, Disk, observable
from tests.protocol.scenario import WALL_CLOCK

RCOA, LCOA, LCOA_B = rcoa("map1"), lcoa("d1a"), lcoa("d1b")
OTHER_RCOA = IPv6Address(int(RCOA) + 1)
MN1 = replace(MAP_CREDENTIALS, home_address=RCOA)
OTHER = MobilityCredentials(
    identifier=b"mn2@example.com", home_address=OTHER_RCOA,
    security_association=SecurityAssociation(spi=2001, key=bytes(range(50, 66))),
)


def anchor(*, shift: float = 0.0, **options: Any) -> MobilityAnchorPoint:
    options.setdefault("credentials", (MN1, OTHER))
    options.setdefault("allowed_lcoa_prefixes", DOMAIN1)
    config = MapConfig(address=MAP_ADDRESSES["map1"], wall_clock_offset=WALL_CLOCK - shift,
                       **options)
    agent = MobilityAnchorPoint("map1", random.Random(1), config)
    agent.start(shift)
    agent.pull_actions()
    return agent


def feed(agent: MobilityAnchorPoint, data: bytes, at: float, shift: float = 0.0
         ) -> list[Action]:
    agent.receive(data, "eth0", at + shift)
    return agent.pull_actions()


def status(actions: list[Action]) -> int:
    (ba,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, BindingAcknowledgement)]
    return ba.status


def crashed() -> tuple[MobilityAnchorPoint, MobilityAnchorPoint, list[Action]]:
    # Unauthenticated local BUs are accepted too: only the restored owner keeps them off
    # mn1's RCoA.
    original, disk = anchor(accept_unauthenticated=True), Disk()
    disk.apply(feed(original, local_bu(at=1.0, sequence=7), 1.0))
    disk.apply(feed(original, local_bu(at=2.0, sequence=8, lcoa=LCOA_B), 2.0))
    restarted = anchor(shift=SHIFT, accept_unauthenticated=True)
    assert restarted.restore(disk.bindings.values(), disk.replay, 3.0 + SHIFT) == 1
    return original, restarted, restarted.pull_actions()


def test_restored_map_answers_as_the_uninterrupted_one() -> None:
    original, restarted, actions = crashed()
    assert Claim(address=RCOA, proxy_interface="eth0") in actions
    inputs = [
        # A replay of the last local BU: 144.
        (local_bu(at=2.0, sequence=8, lcoa=LCOA_B), 4.0, 144),
        # An unauthenticated BU for the restored RCoA: 134, the RCoA is still mn1's.
        (local_bu(at=4.5, sequence=1, lcoa=LCOA, credentials=None), 4.5, 134),
        # Another node's SA does not name it: 129.
        (local_bu(at=4.7, sequence=1, lcoa=LCOA, credentials=OTHER), 4.7, 129),
        # An old sequence number: 135.
        (local_bu(at=5.0, sequence=8), 5.0, 135),
        # Its owner's next local BU (a move back to d1a) is accepted.
        (local_bu(at=6.0, sequence=9), 6.0, 0),
    ]
    for data, at, expected_status in inputs:
        expected, got = feed(original, data, at), feed(restarted, data, at, SHIFT)
        assert status(expected) == expected_status
        assert observable(got, SHIFT) == observable(expected)


def test_a_binding_with_an_lcoa_no_longer_allowed_is_not_restored() -> None:
    original, disk = anchor(), Disk()
    disk.apply(feed(original, local_bu(at=1.0, sequence=7, lcoa=LCOA_B), 1.0))
    restarted = anchor(shift=SHIFT, allowed_lcoa_prefixes=DOMAIN1[:1])
    assert restarted.restore(disk.bindings.values(), disk.replay, 2.0 + SHIFT) == 0
    assert restarted.cache.get(RCOA) is None


def test_restore_respects_the_binding_cache_limit() -> None:
    original, disk = anchor(), Disk()
    disk.apply(feed(original, local_bu(at=1.0, sequence=7), 1.0))
    disk.apply(feed(original, local_bu(at=1.5, sequence=1, rcoa=OTHER_RCOA, lcoa=LCOA_B,
                                       credentials=OTHER), 1.5))
    assert len(disk.bindings) == 2
    restarted = anchor(shift=SHIFT, max_bindings=1)
    assert restarted.restore(disk.bindings.values(), disk.replay, 2.0 + SHIFT) == 1
    reasons = [a.fields["reason"] for a in restarted.pull_actions()
               if isinstance(a, Event) and a.kind == "binding.not_restored"]
    assert reasons == ["cache_full"]
    assert restarted.counters["restore.cache_full"] == 1
