"""Floods of 100,000 messages from distinct sources into a home agent (and a MAP): every table
stays bounded, every refusal is counted, replies are rate-limited, events are not one per packet.

The packets go in decoded (``Entity.receive`` accepts an ``IPv6Packet``), 1 ms of virtual time
apart, so that the floods take a few seconds. Speed itself is measured by ``bench/agent.py``;
here the O(1) paths are checked structurally (the O(n) helpers are made to fail).
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.base.actions import Event, Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.entity import REFUSAL_EVENTS_PER_SECOND
from mipshop.protocol.base.tables import REPLIES_TOTAL, REPLY_SOURCES_KEPT
from mipshop.protocol.hmipv6.config import MapConfig
from mipshop.protocol.hmipv6.map import MobilityAnchorPoint
from mipshop.protocol.mipv6.binding_cache import BindingCache
from mipshop.protocol.mipv6.config import (
    DEFAULT_MAX_BINDINGS,
    DEFAULT_MAX_PENDING_DAD,
    HomeAgentConfig,
    MobilityCredentials,
)
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingUpdate,
    UnknownMobilityMessage,
)
from mipshop.wire.mh_options import AlternateCareOfAddress

S = BindingAckStatus
# Long-running (100,000 messages each): left out of the mutation run (README, "Mutation
# testing"), run by `make test`.
pytestmark = pytest.mark.slow

FLOOD = 100_000
WALL = 1_700_000_000.0
PREFIX = IPv6Network("2001:db8:1::/64")
HA = IPv6Address("2001:db8:1::1")
VISITED = IPv6Network("2001:db8:2::/64")


def source(i: int) -> IPv6Address:
    """The i-th distinct (spoofed) source address."""
    return IPv6Address(int(VISITED.network_address) | (0x1_0000_0000 + i))


def home(i: int) -> IPv6Address:
    return IPv6Address(int(PREFIX.network_address) | (0x1_0000 + i))


def creds(i: int) -> MobilityCredentials:
    return MobilityCredentials(identifier=f"mn{i}@example.com".encode(),
                               security_association=SecurityAssociation(
                                   spi=1000 + i, key=i.to_bytes(16, "big")),
                               home_address=home(i))


def home_agent(n_credentials: int = 1, **options) -> HomeAgent:
    config = HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX),
        credentials=tuple(creds(i) for i in range(n_credentials)),
        wall_clock_offset=WALL, **options)
    agent = HomeAgent("ha", random.Random(1), config)
    agent.start(0.0)
    agent.pull_actions()
    return agent


def bu_packet(i: int, *, src: IPv6Address, at: float, sequence: int = 1,
              credentials: MobilityCredentials | None = None, lifetime: int = 600,
              ) -> IPv6Packet:
    """A home registration of home(i) from care-of address ``src``, signed with
    ``credentials`` (mn i's own by default)."""
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True, home_registration=True,
                       options=(AlternateCareOfAddress(address=src),))
    bu = protect_mn_ha(bu, credentials or creds(i), timestamp=unix_to_ntp(WALL + at),
                       care_of_address=src, home_address=home(i))
    return IPv6Packet(src=src, dst=HA, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(i)),)),))


def feed(agent, packets, *, start: float = 1.0, step: float = 0.001):
    """Receive ``packets`` ``step`` apart (firing due timers); return the Mobility Header
    messages sent and the number of events (the list of actions is never kept whole)."""
    sent: list[IPv6Packet] = []
    events = 0
    now = start
    for packet in packets:
        deadline = agent.next_deadline()
        if deadline is not None and deadline <= now:
            agent.handle_timer(now)
        agent.receive(packet, "home", now)
        for action in agent.pull_actions():
            if isinstance(action, Transmit) and hasattr(action.packet.payload, "MH_TYPE"):
                sent.append(action.packet)  # answers (not the periodic RAs)
            elif isinstance(action, Event) and action.kind != "router.advertisement":
                events += 1
        now += step
    return sent, events


def test_forged_bus_with_a_real_spi_get_rate_limited_replies_and_no_state():
    agent = home_agent()
    forged = replace(creds(0), security_association=SecurityAssociation(
        spi=1000, key=b"not the key"))
    template = bu_packet(0, src=source(0), at=1.0, credentials=forged)
    packets = (replace(template, src=source(i)) for i in range(FLOOD))
    sent, events = feed(agent, packets)
    seconds = FLOOD * 0.001
    # Signed 146 answers: at most REPLIES_TOTAL a second in all (one per source a second).
    assert all(p.payload.status == S.MIPV6_AUTH_FAIL for p in sent)
    assert 0 < len(sent) <= REPLIES_TOTAL * (seconds + 1)
    assert agent.counters["auth.bad_authenticator"] == FLOOD
    assert agent.counters["drop.reply_rate"] == FLOOD - len(sent)
    # Logged as counters: a few events a second, not one per packet.
    assert events <= 2 * REFUSAL_EVENTS_PER_SECOND * (seconds + 1)
    assert agent.counters["events.suppressed"] > 0
    tables = agent.table_sizes()
    assert tables["binding_cache"] == 0 and tables["pending_dad"] == 0
    assert tables["reply_sources"] <= REPLY_SOURCES_KEPT and tables["replay"] == 0


def test_unknown_mh_types_from_distinct_sources_get_rate_limited_binding_errors():
    agent = home_agent()
    packets = (IPv6Packet(src=source(i), dst=HA,
                          payload=UnknownMobilityMessage(mh_type=200, data=bytes(10)))
               for i in range(FLOOD))
    sent, events = feed(agent, packets)
    assert all(isinstance(p.payload, BindingError) for p in sent)
    assert 0 < len(sent) <= REPLIES_TOTAL * (FLOOD * 0.001 + 1)
    assert agent.counters["drop.reply_rate"] == FLOOD - len(sent)
    assert agent.table_sizes()["reply_sources"] <= REPLY_SOURCES_KEPT
    assert events == 0


def test_one_source_gets_one_reply_a_second():
    agent = home_agent()
    packets = [IPv6Packet(src=source(1), dst=HA,
                          payload=UnknownMobilityMessage(mh_type=200, data=bytes(10)))] * 50
    sent, _events = feed(agent, packets, step=0.1)  # 5 s
    assert len(sent) == 5


def test_refreshes_from_one_node_leave_the_timer_heap_bounded():
    # Every accepted refresh re-arms the lifetime timer; cancelled ones do not pile up.
    agent = home_agent(dad_duration=0.0)
    packets = (bu_packet(0, src=source(i % 7), at=1.0 + i * 0.4, sequence=(i + 1) & 0xFFFF)
               for i in range(FLOOD // 10))
    sent, _ = feed(agent, packets, step=0.4)
    assert [p.payload.status for p in sent[-3:]] == [S.ACCEPTED] * 3
    assert agent.counters["drop.registration_rate"] == 0
    # One live lifetime timer (plus the RA timer): the heap never reaches 2 x 16.
    assert agent.pending_timers <= 32
    assert len(agent.cache) == 1


def test_one_node_is_limited_to_its_registration_rate():
    agent = home_agent(dad_duration=0.0)
    packets = [bu_packet(0, src=source(1), at=1.0 + i * 0.01, sequence=i + 1)
               for i in range(100)]  # 100 authentic BUs in one second
    sent, _ = feed(agent, packets, step=0.01)
    assert len(sent) == 3  # MAX_UPDATE_RATE a second: the rest dropped (and counted)
    assert agent.counters["drop.registration_rate"] == 97


@pytest.mark.parametrize("dad", [0.0, 1.0])
def test_registrations_from_many_nodes_stop_at_max_bindings_dad_included(dad: float):
    n, limit = 3000, 2000
    agent = home_agent(n, max_bindings=limit, dad_duration=dad,
                       max_pending_dad=n if dad else DEFAULT_MAX_PENDING_DAD)
    packets = [bu_packet(i, src=source(i), at=1.0 + i * 0.0001) for i in range(n)]
    sent, _ = feed(agent, packets, step=0.0001)
    # With DAD the first `limit` wait for it, and count against the limit meanwhile.
    assert len(agent.cache) + agent.table_sizes()["pending_dad"] == limit
    assert agent.counters[f"ba.status.{int(S.INSUFFICIENT_RESOURCES)}"] == n - limit
    assert sum(p.payload.status == S.INSUFFICIENT_RESOURCES for p in sent) == n - limit
    feed(agent, [], start=3.0)  # DAD over: no timer tick walks the cache
    agent.handle_timer(3.0)
    assert len(agent.cache) == limit and agent.table_sizes()["pending_dad"] == 0


def test_pending_dad_is_bounded_on_its_own():
    n = DEFAULT_MAX_PENDING_DAD + 500
    agent = home_agent(n, dad_duration=1.0)
    packets = [bu_packet(i, src=source(i), at=1.0 + i * 0.0001) for i in range(n)]
    sent, _ = feed(agent, packets, step=0.0001)
    assert agent.table_sizes()["pending_dad"] == DEFAULT_MAX_PENDING_DAD
    assert [p.payload.status for p in sent] == [S.INSUFFICIENT_RESOURCES] * 500


def test_registration_never_counts_the_cache(monkeypatch: pytest.MonkeyPatch):
    # O(1) per BU: neither the agent nor the cache walks the entries on a registration.
    def walk(self, now):
        raise AssertionError("live_count walked the Binding Cache")

    monkeypatch.setattr(BindingCache, "live_count", walk)
    agent = home_agent(50, max_bindings=60, dad_duration=0.0)
    sent, _ = feed(agent, [bu_packet(i, src=source(i), at=1.0) for i in range(50)])
    assert [p.payload.status for p in sent] == [S.ACCEPTED] * 50


def test_defaults_are_finite():
    config = home_agent().config
    assert config.max_bindings == DEFAULT_MAX_BINDINGS
    assert config.max_pending_dad == DEFAULT_MAX_PENDING_DAD
    assert MapConfig(address=IPv6Address("2001:db8:a1::1")).max_bindings == DEFAULT_MAX_BINDINGS
    with pytest.raises(TypeError):  # no unbounded cache any more
        HomeAgentConfig(router=RouterConfig(address=HA, prefix=PREFIX),
                        max_bindings=None)  # type: ignore[arg-type]


def test_map_answers_forged_local_bus_at_the_same_limited_rate():
    rcoa = IPv6Address("2001:db8:a1::10")
    anchor = MobilityAnchorPoint("map", random.Random(1), MapConfig(
        address=IPv6Address("2001:db8:a1::1"), wall_clock_offset=WALL,
        credentials=(replace(creds(0), home_address=rcoa),)))
    forged = replace(creds(0), security_association=SecurityAssociation(spi=1000, key=b"x"))
    bu = BindingUpdate(sequence=1, lifetime=600, ack=True, map_registration=True)
    bu = protect_mn_ha(bu, forged, timestamp=unix_to_ntp(WALL + 1), care_of_address=source(0),
                       home_address=rcoa)
    template = IPv6Packet(src=source(0), dst=anchor.address, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=rcoa),)),))
    sent, _ = feed(anchor, (replace(template, src=source(i)) for i in range(FLOOD // 10)))
    assert 0 < len(sent) <= REPLIES_TOTAL * (FLOOD // 10 * 0.001 + 1)
    assert all(isinstance(p.payload, BindingAcknowledgement) for p in sent)
    assert anchor.table_sizes()["binding_cache"] == 0


def test_correspondent_error_limiter_is_bounded_against_spoofed_sources():
    from mipshop.protocol.mipv6.config import CorrespondentConfig
    from mipshop.protocol.mipv6.correspondent import CorrespondentNode

    cn_address = IPv6Address("2001:db8:100::10")
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(address=cn_address))
    cn.start(0.0)
    cn.pull_actions()
    # Data with a Home Address option and no binding (§9.3.1): each would get Binding Error 1.
    packets = (IPv6Packet(src=source(i), dst=cn_address, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(i)),)),),
        payload=UnknownMobilityMessage(mh_type=200, data=bytes(10)) if i % 2 else None)
        for i in range(FLOOD))
    sent, events = feed(cn, packets)
    assert all(isinstance(p.payload, BindingError) for p in sent)
    assert 0 < len(sent) <= REPLIES_TOTAL * (FLOOD * 0.001 + 1)
    assert cn.counters["binding_error.rate_limited"] == FLOOD - len(sent)
    assert cn.table_sizes()["binding_error_sources"] <= REPLY_SOURCES_KEPT
    assert cn.table_sizes()["binding_cache"] == 0
    assert events <= len(sent)  # one event per Binding Error sent, none per refusal
