"""A home agent restarted from its stored state behaves as if it had never stopped.

Sans-IO: the agent's persistence actions are applied to :class:`Disk` in order (what a
runtime commits), a second agent with another monotonic clock restores from it, and both get
the same inputs after the "crash"; their answers must be the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address
from typing import Any

import pytest

from mipshop.protocol.base.actions import (
    Action,
    BindingRecord,
    Claim,
    Event,
    ForgetBinding,
    PersistBinding,
    PersistReplay,
    Transmit,
)
from mipshop.protocol.base.addressing import interface_identifier, link_local_address
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.constants import MAX_DELETE_BCE_TIMEOUT
from mipshop.protocol.mipv6.config import HomeAgentConfig, MobilityCredentials
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from tests.protocol.mipv6.test_floods import bu_packet, home, source
from tests.protocol.mipv6.test_floods import home_agent as flood_home_agent
from tests.protocol.mipv6.test_registration_checks import crafted_bu
from tests.protocol.scenario import (
    CN_ADDRESSES,
    CREDENTIALS,
    HA_ADDRESS,
    HOME_ADDRESS,
    HOME_PREFIX,
    WALL_CLOCK,
    care_of,
)

S = BindingAckStatus
COA1, COA2 = care_of("visited1"), care_of("visited2")
#: The restarted process's monotonic clock reads this much more than the first one's.
SHIFT = 5_000.0


def home_agent(*, shift: float = 0.0, **options: Any) -> HomeAgent:
    """A home agent whose ``now`` is ``shift`` ahead of the scenario's times, at the same
    time of day (the wall-clock offset compensates, as a daemon's does)."""
    options.setdefault("credentials", (replace(CREDENTIALS, home_address=HOME_ADDRESS),))
    config = HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX),
        wall_clock_offset=WALL_CLOCK - shift, dad_duration=0.0, **options)
    agent = HomeAgent("ha", random.Random(1), config)
    agent.start(shift)
    agent.pull_actions()
    return agent


@dataclass
class Disk:
    """The persistence actions applied in order, as a runtime commits them."""

    bindings: dict[IPv6Address, BindingRecord] = field(default_factory=dict)
    replay_rows: dict[bytes, tuple[bytes, int, int]] = field(default_factory=dict)

    @property
    def replay(self) -> list[tuple[bytes, int, int]]:
        return list(self.replay_rows.values())

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, PersistBinding):
                self.bindings[action.binding.home_address] = action.binding
            elif isinstance(action, ForgetBinding):
                self.bindings.pop(action.home_address, None)
            elif isinstance(action, PersistReplay):
                self.replay_rows[action.identity] = (action.identity, action.spi,
                                                     action.timestamp)


def feed(agent: HomeAgent, data: bytes, at: float, shift: float = 0.0) -> list[Action]:
    agent.receive(data, "home", at + shift)
    return agent.pull_actions()


def tick(agent: HomeAgent, at: float, shift: float = 0.0) -> list[Action]:
    agent.handle_timer(at + shift)
    return agent.pull_actions()


def observable(actions: list[Action], shift: float = 0.0) -> list[Any]:
    """What the outside world sees: packets as bytes, claims, events at scenario times."""
    out: list[Any] = []
    for action in actions:
        if isinstance(action, Transmit):
            out.append(("transmit", encode_packet(action.packet), action.interface))
        elif isinstance(action, Claim):
            out.append(("claim", action.address, action.active, action.proxy_interface))
        elif isinstance(action, Event):
            out.append(("event", action.kind, round(action.time - shift, 6), action.fields))
    return out


def ba_of(actions: list[Action]) -> BindingAcknowledgement:
    (ba,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, BindingAcknowledgement)]
    return ba


def crashed_after_handover() -> tuple[HomeAgent, HomeAgent, list[Action]]:
    """The uninterrupted agent and the one restarted at t=3 from what the first stored
    (registration from COA1 at t=1, handover to COA2 at t=2); plus the restore's actions."""
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100, coa=COA1), 1.0))
    disk.apply(feed(original, crafted_bu(at=2.0, sequence=101, coa=COA2), 2.0))
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(disk.bindings.values(), disk.replay, 3.0 + SHIFT) == 1
    return original, restarted, restarted.pull_actions()


def test_restore_claims_the_home_address_and_resumes_the_binding() -> None:
    original, restarted, actions = crashed_after_handover()
    # Proxy ND and the route into the tunnel come back through the normal action path, and
    # the home link hears again who answers for the home address (RFC 6275 §10.4.1).
    assert Claim(address=HOME_ADDRESS, proxy_interface="home") in actions
    assert [a.fields["target"] for a in actions if isinstance(a, Event)
            and a.kind == "nd.proxy_advertisement"] == [HOME_ADDRESS]
    entry, before = restarted.cache.lookup(HOME_ADDRESS, 3.0 + SHIFT), original.cache.lookup(
        HOME_ADDRESS, 3.0)
    assert entry is not None and before is not None
    assert (entry.care_of_address, entry.sequence, entry.home_registration) == (
        COA2, 101, True)
    assert entry.remaining(3.0 + SHIFT) == pytest.approx(before.remaining(3.0))
    (restored,) = [a for a in actions if isinstance(a, Event) and a.kind == "binding.restored"]
    assert restored.fields["sequence"] == 101


# (what arrives after the crash, at which scenario time)
AFTER_THE_CRASH = [
    # A replay of the last accepted BU: RFC 4285 §6, timestamp not newer -> 144.
    ("replayed_last_bu", lambda: crafted_bu(at=2.0, sequence=101, coa=COA2), 4.0, 144),
    # A replay of an older one, still inside the timestamp window -> 144.
    ("replayed_older_bu", lambda: crafted_bu(at=1.0, sequence=100, coa=COA1), 4.5, 144),
    # A fresh timestamp but an old sequence number: RFC 6275 §9.5.1 -> 135.
    ("old_sequence", lambda: crafted_bu(at=5.0, sequence=101, coa=COA1), 5.0, 135),
    # The next refresh is accepted as it would have been.
    ("next_refresh", lambda: crafted_bu(at=6.0, sequence=102, coa=COA2), 6.0, 0),
]


def test_after_a_restart_every_answer_is_the_one_the_uninterrupted_agent_gives() -> None:
    original, restarted, _ = crashed_after_handover()
    for name, make, at, status in AFTER_THE_CRASH:
        data = make()
        expected = feed(original, data, at)
        got = feed(restarted, data, at, SHIFT)
        assert ba_of(expected).status == status, name
        assert observable(got, SHIFT) == observable(expected), name
    # 135 carries the last accepted sequence number: restored, not forgotten.
    answer = feed(restarted, crafted_bu(at=7.0, sequence=50, coa=COA1), 7.0, SHIFT)
    assert (ba_of(answer).status, ba_of(answer).sequence) == (135, 102)
    # Traffic for the home address is tunnelled to the same care-of address, same bytes.
    datagram = encode_packet(IPv6Packet(src=CN_ADDRESSES["cn1"], dst=HOME_ADDRESS,
                                        payload=UDPDatagram(src_port=9, dst_port=7,
                                                            data=b"after the crash")))
    tunnelled = observable(feed(restarted, datagram, 8.0, SHIFT), SHIFT)
    assert tunnelled == observable(feed(original, datagram, 8.0))
    (outer,) = [decode_packet(t[1]) for t in tunnelled if t[0] == "transmit"]
    assert outer.dst == COA2


def test_a_restored_binding_expires_when_the_original_would() -> None:
    original, restarted, _ = crashed_after_handover()
    before = original.cache.lookup(HOME_ADDRESS, 3.0)
    assert before is not None
    end = before.expires_at

    def binding_changes(actions: list[Action], shift: float = 0.0) -> list[Any]:
        # Router Advertisements run on their own timers: only what concerns the binding.
        return [o for o in observable(actions, shift) if o[0] == "claim" or (
            o[0] == "event" and o[1].startswith("binding."))]

    assert binding_changes(tick(restarted, end - 0.01, SHIFT), SHIFT) == []
    expected, got = tick(original, end), tick(restarted, end, SHIFT)
    assert ForgetBinding(home_address=HOME_ADDRESS) in got
    assert binding_changes(got, SHIFT) == binding_changes(expected)
    assert [o[1] for o in binding_changes(got) if o[0] == "event"] == ["binding.expired"]
    assert restarted.cache.get(HOME_ADDRESS) is None


def test_expired_bindings_are_neither_restored_nor_kept() -> None:
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100, lifetime=40), 1.0))
    granted = disk.bindings[HOME_ADDRESS].lifetime
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(disk.bindings.values(), disk.replay, 1.0 + granted + SHIFT) == 0
    actions = restarted.pull_actions()
    assert ForgetBinding(home_address=HOME_ADDRESS) in actions
    assert not [a for a in actions if isinstance(a, Claim)]
    assert restarted.cache.get(HOME_ADDRESS) is None
    # Just before its expiry it is restored, with what is left of its lifetime.
    again = home_agent(shift=SHIFT)
    assert again.restore(disk.bindings.values(), disk.replay,
                         1.0 + granted - 0.5 + SHIFT) == 1
    entry = again.cache.lookup(HOME_ADDRESS, 1.0 + granted - 0.5 + SHIFT)
    assert entry is not None and entry.remaining(1.0 + granted - 0.5 + SHIFT) == (
        pytest.approx(0.5))


OTHER = MobilityCredentials(identifier=b"mn2@example.com", home_address=HOME_ADDRESS,
                            security_association=SecurityAssociation(spi=1001,
                                                                     key=bytes(range(32, 48))))


@pytest.mark.parametrize(("name", "options"), [
    # The key that registered it was removed from the configuration (revoked).
    ("revoked_key", {"credentials": (OTHER,)}),
    # Its SPI now belongs to another identity.
    ("spi_reassigned", {"credentials": (replace(
        OTHER, home_address=HOME_ADDRESS,
        security_association=CREDENTIALS.security_association),)}),
    # The home prefix changed: the address is no longer this agent's to serve.
    ("other_home_address", {"credentials": (replace(
        CREDENTIALS, home_address=IPv6Address("2001:db8:1::200")),)}),
])
def test_bindings_the_agent_would_no_longer_accept_are_not_restored(
        name: str, options: dict[str, Any]) -> None:
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100), 1.0))
    restarted = home_agent(shift=SHIFT, **options)
    assert restarted.restore(disk.bindings.values(), disk.replay, 2.0 + SHIFT) == 0, name
    events = [a for a in restarted.pull_actions() if isinstance(a, Event)]
    assert [(e.kind, e.fields["reason"]) for e in events] == [
        ("binding.not_restored", "not_served")]


def test_replay_rows_of_unknown_security_associations_are_ignored() -> None:
    spi = CREDENTIALS.security_association.spi
    stamp = unix_to_ntp(WALL_CLOCK + 10.0)
    stranger = home_agent(shift=SHIFT)
    # Another identity under mn1's SPI, and mn1 under an SPI that is not its own.
    stranger.restore([], [(b"stranger@example.com", spi, stamp),
                          (CREDENTIALS.identifier, spi + 1, stamp)], 3.0 + SHIFT)
    assert stranger.replay.last_accepted(b"stranger@example.com") is None
    assert stranger.replay.last_accepted(CREDENTIALS.identifier) is None
    known = home_agent(shift=SHIFT)
    known.restore([], [(CREDENTIALS.identifier, spi, stamp)], 3.0 + SHIFT)
    assert known.replay.last_accepted(CREDENTIALS.identifier) == stamp


def _order(actions: list[Action]) -> list[str]:
    names = []
    for action in actions:
        if isinstance(action, Transmit) and isinstance(action.packet.payload,
                                                       BindingAcknowledgement):
            names.append("BA")
        elif isinstance(action, PersistBinding | ForgetBinding | PersistReplay):
            names.append(type(action).__name__)
    return names


def test_what_a_ba_acknowledges_is_stored_before_the_ba_leaves() -> None:
    agent = home_agent()
    # Accepted: the timestamp and the binding, then the BA.
    assert _order(feed(agent, crafted_bu(at=1.0, sequence=100), 1.0)) == [
        "PersistReplay", "PersistBinding", "BA"]
    # Refused after authentication (135): the timestamp it consumed, then the BA.
    assert _order(feed(agent, crafted_bu(at=2.0, sequence=100), 2.0)) == [
        "PersistReplay", "BA"]
    # A replay changes nothing: nothing stored, 144.
    assert _order(feed(agent, crafted_bu(at=2.0, sequence=100), 2.5)) == ["BA"]
    # De-registration: the binding is forgotten, and its sequence number kept inactive
    # (RFC 6275 §10.3.2), before the BA says so.
    assert _order(feed(agent, crafted_bu(at=3.0, sequence=101, lifetime=0), 3.0)) == [
        "PersistReplay", "ForgetBinding", "PersistBinding", "BA"]


def test_a_de_registration_is_still_remembered_after_a_restart() -> None:
    """§10.3.2: for MAX_DELETE_BCE_TIMEOUT after a de-registration a delayed older BU gets
    135 and a retransmitted de-registration is acknowledged; a restart in between changes
    neither, and the entry is forgotten when the original would forget it."""
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100), 1.0))
    disk.apply(feed(original, crafted_bu(at=2.0, sequence=101, lifetime=0), 2.0))
    (kept,) = disk.bindings.values()
    assert kept.deregistered and kept.sequence == 101
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(disk.bindings.values(), disk.replay, 3.0 + SHIFT) == 1
    assert not [a for a in restarted.pull_actions() if isinstance(a, Claim)]
    assert restarted.cache.get(HOME_ADDRESS) is None
    for data, at, status in [
            (crafted_bu(at=4.0, sequence=100), 4.0, 135),  # delayed, older: 135
            (crafted_bu(at=5.0, sequence=102, lifetime=0), 5.0, 0)]:  # acknowledged again
        expected, got = feed(original, data, at), feed(restarted, data, at, SHIFT)
        assert ba_of(expected).status == status
        assert observable(got, SHIFT) == observable(expected)
    # Forgotten MAX_DELETE_BCE_TIMEOUT after the last de-registration, by both.
    end = 5.0 + MAX_DELETE_BCE_TIMEOUT
    assert ForgetBinding(home_address=HOME_ADDRESS) not in tick(restarted, end - 0.01, SHIFT)
    assert ForgetBinding(home_address=HOME_ADDRESS) in tick(restarted, end, SHIFT)
    assert ForgetBinding(home_address=HOME_ADDRESS) in tick(original, end)
    fresh = crafted_bu(at=end + 1, sequence=7)
    assert ba_of(feed(restarted, fresh, end + 1, SHIFT)).status == 0
    assert ba_of(feed(original, fresh, end + 1)).status == 0


def test_stored_times_are_unix_seconds() -> None:
    agent = home_agent(shift=SHIFT)
    actions = feed(agent, crafted_bu(at=1.0, sequence=100), 1.0, SHIFT)
    (stored,) = [a.binding for a in actions if isinstance(a, PersistBinding)]
    assert stored.registered_at == WALL_CLOCK + 1.0
    assert stored.owner == CREDENTIALS.identifier
    assert (stored.care_of_address, stored.sequence) == (COA1, 100)


def _record(home_address: IPv6Address, owner: bytes | None) -> BindingRecord:
    return BindingRecord(home_address=home_address, care_of_address=COA1, sequence=9,
                         lifetime=600.0, registered_at=WALL_CLOCK + 1.0,
                         home_registration=True, owner=owner)


@pytest.mark.parametrize(("record", "accept_unauthenticated", "restored"), [
    # Registered without authentication: only while such BUs are still accepted.
    (_record(HOME_ADDRESS, None), True, 1),
    (_record(HOME_ADDRESS, None), False, 0),
    # Outside the home prefix (RFC 6275 §10.3.1: 132 to such a BU).
    (_record(IPv6Address("2001:db8:99::100"), None), True, 0),
    # A MAP's local binding in a home agent's file is not a home registration.
    (replace(_record(HOME_ADDRESS, None), home_registration=False, map_registration=True),
     True, 0),
])
def test_a_stored_record_is_checked_like_a_registration(
        record: BindingRecord, accept_unauthenticated: bool, restored: int) -> None:
    agent = home_agent(shift=SHIFT, accept_unauthenticated=accept_unauthenticated)
    assert agent.restore([record], {}, 2.0 + SHIFT) == restored
    assert (agent.cache.lookup(record.home_address, 2.0 + SHIFT) is not None) == bool(restored)


def _l_bit_bu(*, at: float, sequence: int, lifetime: int = 600) -> bytes:
    """A home registration with the L bit (RFC 6275 §9.5.1, §10.3.1)."""
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True, home_registration=True,
                       link_local_compat=True, options=(AlternateCareOfAddress(address=COA1),))
    bu = protect_mn_ha(bu, CREDENTIALS, timestamp=unix_to_ntp(WALL_CLOCK + at),
                       care_of_address=COA1, home_address=HOME_ADDRESS)
    return encode_packet(IPv6Packet(src=COA1, dst=HA_ADDRESS, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=HOME_ADDRESS),)),)))


def test_the_l_bit_survives_a_restart() -> None:
    """§10.3.1: with L = 1 the agent defends the derived link-local address as well; after a
    restart it claims both again, and a de-registration releases both, as without a crash."""
    derived = link_local_address(interface_identifier(HOME_ADDRESS))
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, _l_bit_bu(at=1.0, sequence=100), 1.0))
    assert disk.bindings[HOME_ADDRESS].link_local_compat
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(disk.bindings.values(), disk.replay, 2.0 + SHIFT) == 1
    claims = [a for a in restarted.pull_actions() if isinstance(a, Claim)]
    assert claims == [Claim(address=HOME_ADDRESS, proxy_interface="home"),
                      Claim(address=derived, proxy_interface="home")]
    goodbye = _l_bit_bu(at=3.0, sequence=101, lifetime=0)
    expected, got = feed(original, goodbye, 3.0), feed(restarted, goodbye, 3.0, SHIFT)
    assert observable(got, SHIFT) == observable(expected)
    assert Claim(address=derived, active=False, proxy_interface="home") in got


@pytest.mark.parametrize("periodic", [True, False])
def test_a_restored_registration_gets_its_periodic_mobile_prefix_advertisements(
        periodic: bool) -> None:
    """RFC 6275 §10.6.2: unsolicited Mobile Prefix Advertisements go to every registered
    mobile node; a restored registration is one. With the periodic advertisements off
    (``periodic_mobile_prefixes``) a restored registration gets none, as a new one."""
    quick = {"min_mobile_prefix_interval": 1.0, "max_mobile_prefix_interval": 2.0,
             "periodic_mobile_prefixes": periodic}
    original, disk = home_agent(**quick), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100), 1.0))
    restarted = home_agent(shift=SHIFT, **quick)
    assert restarted.restore(disk.bindings.values(), disk.replay, 3.0 + SHIFT) == 1
    restarted.pull_actions()
    sent = []
    while (deadline := restarted.next_deadline()) is not None and deadline <= 40.0 + SHIFT:
        sent += [a for a in tick(restarted, deadline - SHIFT, SHIFT)
                 if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement"]
    assert [(e.fields["home_address"], e.fields["solicited"]) for e in sent[:1]] == (
        [(HOME_ADDRESS, False)] if periodic else [])
    assert all(e.time - SHIFT <= 3.0 + 2.0 for e in sent[:1])


def test_every_stored_record_is_looked_at_whatever_comes_before_it() -> None:
    # An expired record and an inactive one ahead of live bindings: the live ones are still
    # restored (a restart must lose no binding), and the count says what came back.
    def address(i: int) -> IPv6Address:
        return IPv6Address(int(HOME_ADDRESS) + i)

    records = [
        replace(_record(address(1), None), registered_at=WALL_CLOCK - 1_000.0),  # expired
        replace(_record(address(2), None), deregistered=True, lifetime=5.0),
        _record(address(3), None),
        _record(address(4), None),
    ]
    agent = home_agent(shift=SHIFT, accept_unauthenticated=True)
    assert agent.restore(records, {}, 2.0 + SHIFT) == 3
    assert [agent.cache.lookup(address(i), 2.0 + SHIFT) is not None for i in (1, 2, 3, 4)] == [
        False, False, True, True]
    assert agent.counters["restore.expired"] == 1


@pytest.mark.parametrize("lifetime", [8, 600])
def test_a_home_registration_is_stored_as_one_and_not_as_a_map_registration(
        lifetime: int) -> None:
    # The stored record of a home agent's binding (PersistBinding, restored after a restart)
    # carries the flags of the registration: H set, M clear (a home registration is not a MAP
    # registration, RFC 5380 §6.1), L as the BU had it.
    agent = flood_home_agent(dad_duration=0.0)
    agent.receive(bu_packet(0, src=source(0), at=1.0, lifetime=lifetime), "home", 1.0)
    (record,) = [a.binding for a in agent.pull_actions() if isinstance(a, PersistBinding)]
    assert (record.home_address, record.care_of_address, record.lifetime) == (
        home(0), source(0), lifetime)
    assert (record.home_registration, record.map_registration, record.link_local_compat) == (
        True, False, False)


@pytest.mark.parametrize("lifetimes", [(100.0, 300.0), (300.0, 100.0), (50.0, 60.0, 40.0)])
def test_each_restored_binding_expires_at_its_own_lifetime(
        lifetimes: tuple[float, ...]) -> None:
    # RFC 6275 §9.6, §10.3.1: restored bindings each keep their own expiry (one timer per
    # home address); a restart must not make any binding outlive its lifetime.
    def address(i: int) -> IPv6Address:
        return IPv6Address(int(HOME_ADDRESS) + i)

    records = [replace(_record(address(i), None), lifetime=lifetime)
               for i, lifetime in enumerate(lifetimes)]
    agent = home_agent(shift=SHIFT, accept_unauthenticated=True)
    assert agent.restore(records, {}, 2.0 + SHIFT) == len(lifetimes)
    agent.pull_actions()
    forgotten: dict[IPv6Address, float] = {}
    while (deadline := agent.next_deadline()) is not None and deadline <= 400.0 + SHIFT:
        for action in tick(agent, deadline - SHIFT, SHIFT):
            if isinstance(action, ForgetBinding):
                forgotten.setdefault(action.home_address, round(deadline - SHIFT, 6))
    # Registered at 1.0 (scenario time): each ends at 1.0 + its lifetime.
    assert forgotten == {address(i): 1.0 + lifetime for i, lifetime in enumerate(lifetimes)}


@pytest.mark.parametrize("restart", [3.0, 2.0 + MAX_DELETE_BCE_TIMEOUT / 2,
                                     2.0 + MAX_DELETE_BCE_TIMEOUT - 0.5])
def test_a_restored_de_registration_is_forgotten_when_the_original_forgets_it(
        restart: float) -> None:
    """§10.3.2: the de-registered entry is kept MAX_DELETE_BCE_TIMEOUT after the
    de-registration, not after the restart: until then a delayed older BU gets 135."""
    original, disk = home_agent(), Disk()
    disk.apply(feed(original, crafted_bu(at=1.0, sequence=100), 1.0))
    disk.apply(feed(original, crafted_bu(at=2.0, sequence=101, lifetime=0), 2.0))
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(disk.bindings.values(), disk.replay, restart + SHIFT) == 1
    restarted.pull_actions()
    end = 2.0 + MAX_DELETE_BCE_TIMEOUT
    late = crafted_bu(at=end - 0.1, sequence=100)
    assert ba_of(feed(restarted, late, end - 0.1, SHIFT)).status == 135
    assert ForgetBinding(home_address=HOME_ADDRESS) in tick(restarted, end, SHIFT)
