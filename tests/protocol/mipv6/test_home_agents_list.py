"""The Home Agents List (RFC 6275 §10.1, §10.5.1): learning, expiry, ordering and bounds."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from mipshop.protocol.mipv6.home_agents_list import MAX_REPLY_ADDRESSES, HomeAgentsList

OWN = (10, IPv6Address("2001:db8:1::1"))


def a(n: int) -> IPv6Address:
    return IPv6Address(f"2001:db8:1::{n:x}")


def ll(n: int) -> IPv6Address:
    return IPv6Address(f"fe80::{n:x}")


def learn(agents: HomeAgentsList, n: int, preference: int, lifetime: float = 100.0,
          now: float = 0.0, home_agent: bool = True) -> str:
    return agents.router_advertisement(ll(n), home_agent=home_agent, preference=preference,
                                       lifetime=lifetime, addresses=[a(n)], now=now)


def test_entries_are_created_updated_and_deleted_as_section_10_5_1_says() -> None:
    agents = HomeAgentsList()
    assert learn(agents, 2, 20) == "created"
    assert learn(agents, 2, 30, lifetime=50) == "updated"
    (entry,) = agents.entries(1.0)
    assert (entry.preference, entry.expires, entry.addresses) == (30, 50.0, [a(2)])
    assert learn(agents, 2, 30, lifetime=0) == "deleted"  # zero lifetime
    assert learn(agents, 3, 5) == "created"
    assert learn(agents, 3, 5, home_agent=False) == "deleted"  # no H bit
    assert learn(agents, 4, 5, home_agent=False) == "ignored"
    assert learn(agents, 4, 5, lifetime=0) == "ignored"
    assert len(agents) == 0


def test_an_entry_is_deleted_when_its_lifetime_runs_out() -> None:
    agents = HomeAgentsList()
    learn(agents, 2, 20, lifetime=10, now=0)
    assert agents.entries(9.9)
    assert agents.entries(10.0) == []
    assert agents.counters["home_agents.expired"] == 1


def test_replies_list_decreasing_preferences_and_shuffle_equal_ones() -> None:
    agents = HomeAgentsList()
    learn(agents, 2, 20)
    learn(agents, 3, 5)
    learn(agents, 4, 10)
    rng = random.Random(7)
    orders = set()
    for _ in range(30):
        listed = agents.reply(OWN, rng, 1.0, static=((a(5), 1),))
        assert listed[0] == a(2) and listed[-2:] == (a(3), a(5))
        assert set(listed[1:3]) == {OWN[1], a(4)}
        orders.add(listed[1:3])
    assert len(orders) == 2  # §10.5.1: randomized among equal preferences, every reply


def test_the_list_and_each_entry_are_bounded_and_counted() -> None:
    agents = HomeAgentsList(max_entries=3, max_addresses=2)
    for n in range(2, 7):
        learn(agents, n, n)
    assert len(agents) == 3 and agents.counters["home_agents.full"] == 2
    outcome = agents.router_advertisement(ll(2), home_agent=True, preference=1, lifetime=9,
                                          addresses=[a(100), a(101), a(102)], now=1.0)
    assert outcome == "updated"
    assert len(agents.entries(1.0)[0].addresses) == 2
    assert agents.counters["home_agents.addresses_full"] == 1
    # Once an entry expires, room is made for a new one.
    assert learn(agents, 9, 9, now=200.0) == "created"


def test_a_reply_fits_in_the_minimum_mtu_keeping_the_highest_preferences() -> None:
    agents = HomeAgentsList(max_entries=200)
    for n in range(2, 120):
        learn(agents, n, n)
    listed = agents.reply(OWN, random.Random(1), 1.0)
    assert len(listed) == MAX_REPLY_ADDRESSES == 77
    assert listed[0] == a(119) and OWN[1] not in listed  # preference 10 did not make it
    assert 40 + 8 + 16 * len(listed) <= 1280


def test_each_ra_adds_the_addresses_not_yet_listed_up_to_the_bound() -> None:
    """§10.5.1: the entry keeps the home agent's global addresses; an address listed already
    is skipped, not the end of the list; a full table refuses a new home agent as "full"."""
    agents = HomeAgentsList(max_entries=1, max_addresses=3)
    assert agents.router_advertisement(ll(2), home_agent=True, preference=1, lifetime=100.0,
                                       addresses=[a(2)], now=0.0) == "created"
    assert agents.router_advertisement(ll(2), home_agent=True, preference=1, lifetime=100.0,
                                       addresses=[a(2), a(3), a(2), a(4), a(5)],
                                       now=1.0) == "updated"
    (entry,) = agents.entries(2.0)
    assert entry.link_local == ll(2) and entry.addresses == [a(2), a(3), a(4)]
    assert agents.counters["home_agents.addresses_full"] == 1
    assert agents.router_advertisement(ll(6), home_agent=True, preference=1, lifetime=100.0,
                                       addresses=[a(6)], now=3.0) == "full"
    assert agents.router_advertisement(ll(2), home_agent=False, preference=1, lifetime=100.0,
                                       addresses=[], now=4.0) == "deleted"
    assert agents.counters["home_agents.deleted"] == 1 and len(agents) == 0


def test_the_default_bounds_are_64_home_agents_of_8_addresses() -> None:
    """The defaults bound what RAs on the home link can make a home agent keep (§10.5.1; the
    agent passes its configured ``max_home_agents``, the bound of each entry is this one)."""
    agents = HomeAgentsList()
    for n in range(2, 2 + 64):
        assert learn(agents, n, 1) == "created"
    assert learn(agents, 200, 1) == "full"
    outcome = agents.router_advertisement(ll(2), home_agent=True, preference=1, lifetime=100.0,
                                          addresses=[a(0x1000 + i) for i in range(9)], now=1.0)
    assert outcome == "updated"
    entry = next(e for e in agents.entries(1.0) if e.link_local == ll(2))
    assert len(entry.addresses) == 8
    assert agents.counters["home_agents.addresses_full"] == 1
