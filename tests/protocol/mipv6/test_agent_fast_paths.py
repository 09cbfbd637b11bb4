"""The home agent's fast paths give what its general paths give, packet for packet.

The registration path compares addresses with :func:`mipshop.wire.nd_options.same_address`
instead of ``IPv6Address.__eq__`` (local destination, authorised home address, care-of
address equal to the home address, the BA's Type 2 Routing Header, registered or
refreshed), and its timers are their own heap entries (:class:`~mipshop.protocol.base.entity.
Timer`). Here two home agents with the same configuration and seed receive the same random
sequence of authenticated Binding Updates (RFC 6275 §10.3.1, RFC 4285), some from home
(de-registrations without a Type 2 Routing Header), some for another node's home address
(129), to the agent's address, its link-local address or its anycast address, with random
lifetimes, sequence numbers and timestamps, and their timers fired in between: one uses the
fast helpers, the other ``==`` (``operator.eq``) where the fast helper stands. Every action
(packets, events, claims, persistence records), every counter, the Binding Cache and the next
deadline must be the same.
"""

from __future__ import annotations

import operator
import random
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mipshop.protocol.base import entity
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.entity import Entity
from mipshop.protocol.mipv6 import binding_agent, binding_cache, home_agent
from mipshop.protocol.mipv6.config import HomeAgentConfig, MobilityCredentials
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import same_address

WALL_CLOCK = 1_700_000_000.0
HOME = IPv6Network("2001:db8:1::/64")
HA = IPv6Address("2001:db8:1::1")
VISITED = IPv6Network("2001:db8:2::/64")
NODES = 4


def _home(index: int) -> IPv6Address:
    return IPv6Address(int(HOME.network_address) | (0x100 + index))


def _visited(index: int) -> IPv6Address:
    return IPv6Address(int(VISITED.network_address) | (0x100 + index))


CREDENTIALS = tuple(MobilityCredentials(
    identifier=f"mn{i}@example.com".encode(),
    security_association=SecurityAssociation(spi=1000 + i, key=bytes([i + 1]) * 16),
    home_address=_home(i)) for i in range(NODES))
CONFIG = HomeAgentConfig(
    router=RouterConfig(interface="home", address=HA, prefix=HOME), credentials=CREDENTIALS,
    wall_clock_offset=WALL_CLOCK, dad_duration=0.0)

#: One BU: (node, claimed home address index, from home, destination, lifetime, sequence,
#: timestamp offset in seconds, seconds since the previous BU).
BU = st.tuples(st.integers(0, NODES - 1), st.integers(0, NODES - 1), st.booleans(),
               st.sampled_from(["address", "link_local", "anycast"]),
               st.sampled_from([0, 4, 8, 600]), st.integers(0, 6),
               st.sampled_from([0.0, 0.5, 10.0]), st.sampled_from([0.01, 1.0, 5.0, 20.0]))


def _packet(agent: HomeAgent, bu_plan: tuple[int, int, bool, str, int, int, float, float],
            now: float) -> bytes:
    node, claimed, at_home, target, lifetime, sequence, skew, _gap = bu_plan
    creds = CREDENTIALS[node]
    hoa = _home(claimed)
    coa = hoa if at_home else _visited(node)
    dst = {"address": agent.address, "link_local": agent.link_local,
           "anycast": agent.anycast}[target]
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True, home_registration=True,
                       options=(AlternateCareOfAddress(address=coa),))
    bu = protect_mn_ha(bu, creds, timestamp=unix_to_ntp(WALL_CLOCK + now + skew),
                       care_of_address=coa, home_address=hoa)
    headers = () if at_home else (DestinationOptions(
        options=(HomeAddressOption(home_address=hoa),)),)
    return encode_packet(IPv6Packet(src=coa, dst=dst, payload=bu, extension_headers=headers))


def _run(plan: list[tuple[int, int, bool, str, int, int, float, float]]
         ) -> list[object]:
    agent = HomeAgent("ha", random.Random(7), CONFIG)
    trace: list[object] = [agent.pull_actions()]
    now = 1.0
    for step in plan:
        now += step[7]
        agent.handle_timer(now)
        agent.receive(_packet(agent, step, now), "home", now)
        trace.append(agent.pull_actions())
        trace.append(agent.next_deadline())
        # The heap's size and every live deadline (the MPA delays drawn included).
        trace.append((agent.pending_timers,
                      sorted(timer.when for timer in agent._timers if not timer.cancelled)))
    agent.handle_timer(now + 1000.0)
    trace.append(agent.pull_actions())
    trace.append(sorted(agent.counters.items()))
    trace.append([(e.home_address, e.care_of_address, e.lifetime, e.registered_at, e.sequence)
                  for e in agent.cache.entries()])
    return trace


@settings(max_examples=60, deadline=None)
@given(st.lists(BU, min_size=1, max_size=12))
def test_the_fast_registration_path_answers_as_the_general_one(
        plan: list[tuple[int, int, bool, str, int, int, float, float]]) -> None:
    fast = _run(plan)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(binding_agent, "same_address", operator.eq)
        patch.setattr(home_agent, "same_address", operator.eq)
        slow = _run(plan)
    assert binding_agent.same_address is same_address
    assert fast == slow


def test_the_random_plans_reach_every_branch_the_fast_helpers_decide() -> None:
    # The property above is only as good as its inputs: they must register, refresh, reach
    # the agent at each of its three addresses, de-register from home (no Type 2 Routing
    # Header) and be refused for another node's home address (129).
    plan = [(0, 0, False, "address", 600, 1, 0.0, 1.0),  # registered
            (1, 1, False, "link_local", 600, 1, 0.0, 1.0),  # registered, to the link-local
            (1, 1, False, "anycast", 600, 2, 0.5, 1.0),  # refreshed
            (2, 3, False, "address", 600, 1, 0.0, 1.0),  # not its home address: 129
            (0, 0, True, "address", 600, 2, 0.0, 1.0)]  # from home: de-registered
    trace = _run(plan)
    kinds = [getattr(a, "kind", None) for step in trace if isinstance(step, list)
             for a in step]
    assert {"binding.registered", "binding.refreshed", "binding.rejected",
            "binding.deregistered"} <= set(kinds)
    counters = dict(trace[-2])  # type: ignore[arg-type]
    assert counters["auth.address_not_in_sa"] == 1


def _two_lookup_reschedule(self, timers, key, delay, method, argument=entity._KEY):  # type: ignore[no-untyped-def]
    previous = timers.pop(key, None)
    if previous is not None:
        previous.cancel()
    timers[key] = self.schedule_call(delay, method, key if argument is entity._KEY else argument)
    return timers[key]


def _two_lookup_once(self, timers, key, delay, method, argument=entity._KEY):  # type: ignore[no-untyped-def]
    if key in timers:
        return False
    timers[key] = self.schedule_call(delay(), method,
                                     key if argument is entity._KEY else argument)
    return True


def _two_lookup_update(self, entry, now):  # type: ignore[no-untyped-def]
    entries, hoa = self._entries, binding_cache.address_key(entry.home_address)
    previous = entries.get(hoa)
    if previous is None and self.max_entries is not None and (
            len(entries) >= self.max_entries) and self.live_count(now) >= self.max_entries:
        raise binding_cache.BindingCacheFullError("binding cache full")
    entries[hoa] = entry
    return previous


def _constructed_entry(*values):  # type: ignore[no-untyped-def]
    return binding_cache.BindingCacheEntry(
        home_address=values[0], care_of_address=values[1], lifetime=values[2],
        registered_at=values[3], sequence=values[4], home_registration=values[5],
        map_registration=values[6], link_local_compat=values[7])


def _uncached_rand_adv_delay(self):  # type: ignore[no-untyped-def]
    low = self.config.min_mobile_prefix_interval
    preferred = self._prefix_table()[1]
    spread = abs(min(self.config.max_mobile_prefix_interval, preferred) - low)
    return low + (spread * self.rng.random() if spread > 0 else 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(BU, min_size=1, max_size=12))
def test_one_lookup_timer_tables_answer_as_the_two_lookup_forms(
        plan: list[tuple[int, int, bool, str, int, int, float, float]]) -> None:
    # A binding's expiry timer re-armed (Entity.reschedule_call), its first periodic Mobile
    # Prefix Advertisement scheduled (Entity.schedule_call_once), the Binding Cache updated
    # (BindingCache.update) with one lookup of the address, RAND_ADV_DELAY's bounds computed
    # once (HomeAgent._rand_adv_delay), the entry built by new_binding_cache_entry: the same
    # actions, counters, Binding Cache, deadlines and heap sizes as pop + cancel +
    # schedule_call, ``not in`` + schedule_call, get + set, the bounds read per call and the
    # entry constructed with keywords (the trace holds every live deadline: the advertisement
    # delays drawn from the same random stream).
    fast = _run(plan)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Entity, "reschedule_call", _two_lookup_reschedule)
        patch.setattr(Entity, "schedule_call_once", _two_lookup_once)
        patch.setattr(binding_cache.BindingCache, "update", _two_lookup_update)
        patch.setattr(HomeAgent, "_rand_adv_delay", _uncached_rand_adv_delay)
        patch.setattr(home_agent, "new_binding_cache_entry", _constructed_entry)
        slow = _run(plan)
    assert fast == slow


def _address_itself(address: object) -> object:
    return address


@settings(max_examples=60, deadline=None)
@given(st.lists(BU, min_size=1, max_size=12))
# Registered, refreshed, then de-registered from home (the expiry timer cancelled through
# its key), and registered again after its expiry.
@example([(0, 0, False, "address", 8, 1, 0.0, 1.0), (0, 0, False, "address", 8, 2, 0.5, 1.0),
          (0, 0, True, "address", 600, 3, 0.0, 1.0), (0, 0, False, "address", 8, 4, 0.0, 20.0),
          (0, 0, False, "address", 600, 5, 0.0, 20.0)])
def test_tables_keyed_by_address_key_answer_as_tables_keyed_by_the_address(
        plan: list[tuple[int, int, bool, str, int, int, float, float]]) -> None:
    # The Binding Cache, the expiry timers and the periodic Mobile Prefix Advertisement
    # timers keyed by the home address's integer (address_key) against the same tables keyed
    # by the address itself: the same actions, counters, cache, deadlines and heap.
    fast = _run(plan)
    with pytest.MonkeyPatch.context() as patch:
        for module in (binding_agent, binding_cache, home_agent):
            patch.setattr(module, "address_key", _address_itself)
        slow = _run(plan)
    assert fast == slow


def _emit_with_keywords(self, kind, fields):  # type: ignore[no-untyped-def]
    self.emit(kind, **fields)


@settings(max_examples=40, deadline=None)
@given(st.lists(BU, min_size=1, max_size=12))
def test_events_from_a_dictionary_answer_as_events_from_keywords(
        plan: list[tuple[int, int, bool, str, int, int, float, float]]) -> None:
    # binding.registered / binding.refreshed and nd.proxy_advertisement queued by
    # Entity.emit_fields (a dictionary display) against Entity.emit with keywords: the same
    # actions (the events' fields in the same order: a log writes them in that order).
    def ordered(trace: list[object]) -> list[object]:
        return [[(a, list(a.fields.items())) if hasattr(a, "fields") else a for a in step]
                if isinstance(step, list) else step for step in trace]

    fast = ordered(_run(plan))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Entity, "emit_fields", _emit_with_keywords)
        slow = ordered(_run(plan))
    assert fast == slow
    # And in the order the module documents (the keywords' order before emit_fields).
    documented = {"binding.registered": ["home_address", "care_of_address", "lifetime",
                                         "sequence"],
                  "nd.proxy_advertisement": ["target", "solicited"]}
    documented["binding.refreshed"] = documented["binding.registered"]
    for step in fast:
        for action in step if isinstance(step, list) else ():
            if isinstance(action, tuple) and getattr(action[0], "kind", None) in documented:
                assert [name for name, _ in action[1]] == documented[action[0].kind]
