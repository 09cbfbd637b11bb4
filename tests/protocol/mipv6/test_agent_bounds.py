"""Bounds and address checks of the binding agent (docs/mutation.md, tenth run).

The registration rate (RFC 6275 §11.8 MAX_UPDATE_RATE) is a limit per mobile node only: many
nodes registering in the same second, more than the reply limiter's total for unauthenticated
answers (REPLIES_TOTAL), are each accepted. ``max_bindings`` counts the registrations waiting
for DAD (§10.3.1, §9.5.2: 130). A BU whose care-of address is not unicast routable (loopback,
multicast, link-local) is silently discarded (§6.1.7, §9.5.1), at the edges of each range.
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.tables import REPLIES_TOTAL
from mipshop.protocol.mipv6.config import HomeAgentConfig
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.wire.mh import BindingAckStatus
from tests.protocol.mipv6.test_floods import (
    HA,
    PREFIX,
    WALL,
    bu_packet,
    creds,
    feed,
    home,
    home_agent,
    source,
)

S = BindingAckStatus


def test_registrations_of_many_nodes_in_one_second_are_not_limited_overall():
    n = REPLIES_TOTAL + 1
    agent = home_agent(n_credentials=n, dad_duration=0.0)
    sent, _events = feed(agent, [bu_packet(i, src=source(i), at=1.0 + i * 0.001)
                                 for i in range(n)])
    assert [p.payload.status for p in sent] == [S.ACCEPTED] * n
    assert len(agent.cache) == n
    assert agent.counters["drop.registration_rate"] == 0


# -- §9.5.2, §10.3.1: max_bindings counts the bindings and the registrations waiting for DAD --


def _statuses(agent, packets, at):
    sent, _events = feed(agent, packets, start=at)
    return [p.payload.status for p in sent]


def test_registrations_waiting_for_dad_count_against_max_bindings():
    agent = home_agent(n_credentials=3, max_bindings=2, max_pending_dad=10, dad_duration=1.0)
    # Two wait for DAD; a third node finds no room (130), though the cache is empty.
    assert _statuses(agent, [bu_packet(i, src=source(i), at=1.0) for i in range(3)],
                     1.0) == [S.INSUFFICIENT_RESOURCES]
    assert len(agent.cache) == 0


def test_a_node_waiting_for_dad_or_bound_at_the_limit_may_still_register_again():
    agent = home_agent(n_credentials=2, max_bindings=2, max_pending_dad=10, dad_duration=1.0)
    assert _statuses(agent, [bu_packet(0, src=source(0), at=1.0)], 1.0) == []
    agent.handle_timer(2.5)
    agent.pull_actions()
    assert agent.cache.lookup(home(0), 2.5) is not None
    # Node 1 waits for DAD; its retransmission (newer sequence) is not counted twice.
    assert _statuses(agent, [bu_packet(1, src=source(1), at=3.0),
                             bu_packet(1, src=source(1), at=3.1, sequence=2)], 3.0) == []
    agent.handle_timer(4.5)
    statuses = [a.packet.payload.status for a in agent.pull_actions()
                if isinstance(a, Transmit) and hasattr(a.packet.payload, "MH_TYPE")]
    assert statuses == [S.ACCEPTED]
    # Full now; a refresh of a bound node replaces its own entry and is accepted.
    assert _statuses(agent, [bu_packet(0, src=source(5), at=5.0, sequence=3)],
                     5.0) == [S.ACCEPTED]
    assert agent.cache.lookup(home(0), 5.0).care_of_address == source(5)


# -- §6.1.7, §9.5.1: a care-of address that is not unicast routable: silently discarded -------


@pytest.mark.parametrize(("coa", "taken"), [
    (IPv6Address("::1"), False),  # loopback
    (IPv6Address("ff0e::5"), False),  # multicast
    (IPv6Address("ff02::5"), False),
    (IPv6Address("fe80::5"), False),  # link-local, fe80::/10
    (IPv6Address("febf:ffff::5"), False),
    (IPv6Address("fec0::5"), True),  # just above fe80::/10
    (IPv6Address("fe7f::5"), True),  # just below it
    (IPv6Address("feff::5"), True),  # just below ff00::/8
    (IPv6Address("2001:db8:2::5"), True),
])
def test_a_bu_for_a_care_of_address_that_is_not_unicast_routable_is_discarded(coa, taken):
    agent = home_agent(dad_duration=0.0)
    statuses = _statuses(agent, [bu_packet(0, src=coa, at=1.0)], 1.0)
    assert statuses == ([S.ACCEPTED] if taken else [])
    assert agent.counters["drop.not_unicast_routable"] == (0 if taken else 1)


# -- §10.3.1: status 1 when the home prefix would be deprecated during the binding ------------


@pytest.mark.parametrize(("lifetime", "status"), [
    (396, S.ACCEPTED),
    (400, S.ACCEPTED),  # deprecated as the binding ends, not during it
    (404, S.ACCEPTED_PREFIX_DISCOVERY_NECESSARY),
])
def test_status_1_only_when_the_prefix_is_deprecated_during_the_binding(lifetime, status):
    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX,
                            preferred_lifetime=400),
        credentials=(creds(0),), wall_clock_offset=WALL, dad_duration=0.0))
    agent.start(0.0)
    agent.pull_actions()
    (ba,) = feed(agent, [bu_packet(0, src=source(0), at=1.0, lifetime=lifetime)])[0]
    assert (ba.payload.status, ba.payload.lifetime) == (status, lifetime)
