"""Router Advertisements answering Router Solicitations (RFC 4861 §6.2.6): the random delay."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.constants import MAX_RA_DELAY_TIME
from mipshop.protocol.base.router_advertiser import MAX_PENDING_ANSWERS
from mipshop.wire.icmpv6 import RouterAdvertisement, RouterSolicitation
from mipshop.wire.ipv6 import IPv6Packet

PREFIX = IPv6Network("2001:db8:10::/64")


def router(seed: int = 1, **config: float) -> AccessRouter:
    entity = AccessRouter("ar", random.Random(seed), RouterConfig(
        address=IPv6Address("2001:db8:10::1"), prefix=PREFIX, **config))
    entity.start(0.0)
    entity.pull_actions()
    return entity


def solicit(entity: AccessRouter, now: float, source: str = "fe80::2") -> None:
    entity.receive(IPv6Packet(src=IPv6Address(source), dst=IPv6Address("ff02::2"),
                              hop_limit=255, payload=RouterSolicitation()), "eth0", now)


def run(entity: AccessRouter, until: float) -> list[tuple[float, IPv6Address]]:
    """Fire the entity's timers up to ``until``; the RAs sent, with their times."""
    sent = []
    while (deadline := entity.next_deadline()) is not None and deadline <= until:
        entity.handle_timer(deadline)
        sent += [(deadline, a.packet.dst) for a in entity.pull_actions()
                 if isinstance(a, Transmit) and isinstance(a.packet.payload, RouterAdvertisement)]
    return sent


def answers(entity: AccessRouter, at: float) -> list[tuple[float, IPv6Address]]:
    now = [(at, a.packet.dst) for a in entity.pull_actions()
           if isinstance(a, Transmit) and isinstance(a.packet.payload, RouterAdvertisement)]
    return now + [(t, d) for t, d in run(entity, at + 1.0) if d != IPv6Address("ff02::1")]


def test_the_answer_waits_a_random_time_up_to_max_ra_delay_time():
    """Drawn from the injected generator: the same seed gives the same delay, others vary,
    every one inside [0, MAX_RA_DELAY_TIME]."""
    delays = []
    for seed in range(40):
        entity = router(seed)
        solicit(entity, 1.0)
        ((at, destination),) = answers(entity, 1.0)
        assert destination == IPv6Address("fe80::2")
        delays.append(at - 1.0)
    assert all(0 <= d <= MAX_RA_DELAY_TIME for d in delays)
    assert max(delays) - min(delays) > MAX_RA_DELAY_TIME / 2  # spread, not a constant
    entity = router(7)
    solicit(entity, 1.0)
    assert answers(entity, 1.0)[0][0] - 1.0 == pytest.approx(delays[7])


def test_max_ra_delay_zero_answers_at_once():
    entity = router(max_ra_delay=0.0)
    solicit(entity, 1.0)
    assert answers(entity, 1.0) == [(1.0, IPv6Address("fe80::2"))]


def test_a_repeated_solicitation_gets_one_answer_timed_from_the_first():
    entity = router(3)
    solicit(entity, 1.0)
    solicit(entity, 1.0 + 1e-3)
    ((at, _),) = answers(entity, 1.0)
    assert 1.0 <= at <= 1.0 + MAX_RA_DELAY_TIME


def test_an_unsolicited_ra_due_before_the_delay_ends_is_the_answer():
    """RFC 4861 §6.2.6: a delay ending after the next scheduled RA is ignored; that RA
    (every 3 s here, the next at 3.0) answers."""
    entity = router(5)
    solicit(entity, 3.0 - 1e-6)
    sent = run(entity, 4.0)
    assert sent == [(3.0, IPv6Address("ff02::1"))]
    assert entity.counters["ra.answered_by_unsolicited"] == 1


def test_waiting_answers_are_bounded_and_counted():
    entity = router(max_ra_delay=MAX_RA_DELAY_TIME)
    for k in range(MAX_PENDING_ANSWERS + 10):
        solicit(entity, 1.0, source=f"fe80::{k + 2:x}")
    assert len(entity.advertiser._pending) == MAX_PENDING_ANSWERS
    assert entity.counters["ra.answered_by_unsolicited"] == 10
    sent = run(entity, 1.0 + MAX_RA_DELAY_TIME)
    assert len(sent) == MAX_PENDING_ANSWERS and not entity.advertiser._pending


def test_max_ra_delay_must_fit_the_advertisement_interval():
    with pytest.raises(ValueError, match="max_ra_delay"):
        RouterConfig(address=IPv6Address("2001:db8:10::1"), prefix=PREFIX, max_ra_delay=-1.0)
    with pytest.raises(ValueError, match="max_ra_delay"):
        RouterConfig(address=IPv6Address("2001:db8:10::1"), prefix=PREFIX, ra_interval=1.0,
                     max_ra_delay=2.0)
