"""Unsolicited Mobile Prefix Advertisements, periodic at the home agent (RFC 6275 §10.6.2,
§10.6.3), and the mobile node's reaction to them and to a changed home prefix (§11.4.3)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.base.actions import Event, ForgetBinding, Transmit
from mipshop.protocol.base.constants import PREFIX_ADV_RETRIES, PREFIX_ADV_TIMEOUT
from mipshop.wire.icmpv6 import MobilePrefixAdvertisement, MobilePrefixSolicitation
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.nd_options import PrefixInformation
from tests.protocol.mipv6.test_floods import bu_packet, home, home_agent, source
from tests.protocol.scenario import (
    CN_ADDRESSES,
    HA_ADDRESS,
    HOME_ADDRESS,
    HOME_PREFIX,
    build,
    care_of,
)

COA = care_of("visited1")
NEW_PREFIX = IPv6Network("2001:db8:2::/64")
NEW_HOME_ADDRESS = IPv6Address("2001:db8:2::100")


def periodic(interval: float = 20.0, **ha):
    options = {"min_mobile_prefix_interval": interval, "max_mobile_prefix_interval": interval}
    options.update(ha)
    scn = build(ha=options)
    scn.move("visited1", at=1.0)
    return scn


def advertisements(scn, **fields):
    return [e for e in scn.net.events_of("mobile_prefix.advertisement", "ha")
            if all(e.fields[k] == v for k, v in fields.items())]


def registered_at(scn) -> float:
    return scn.net.events_of("binding.registered", "ha")[0].time


def test_the_home_agent_advertises_periodically_and_the_node_acknowledges():
    scn = periodic()
    scn.run(70)
    start = registered_at(scn)
    unsolicited = advertisements(scn, solicited=False, retransmission=False)
    # RAND_ADV_DELAY after the registration, then after each advertisement the node got
    # (its solicited answer included), never a retransmission: each one is acknowledged.
    assert [round(e.time - start, 3) for e in unsolicited][:1] == [20.0]
    assert len(unsolicited) == 3 and not advertisements(scn, retransmission=True)
    solicited = advertisements(scn, solicited=True)
    assert len(solicited) == 3
    for ad, answer in zip(unsolicited, solicited, strict=True):
        assert ad.fields["periodic"] and ad.fields["destination"] == COA
        assert 0 < answer.time - ad.time < 0.2
    for first, second in zip(solicited, unsolicited[1:], strict=False):
        assert second.time - first.time == pytest.approx(20.0)
    # On the wire: to the care-of address with a Type 2 Routing Header (§10.6.3), answered
    # with a solicitation from the care-of address with the Home Address option (§11.4.2).
    [(_r, first)] = [(r, p) for r, p in scn.net.packets(MobilePrefixAdvertisement,
                                                          sender="ha")][:1]
    assert (first.src, first.dst, first.routing_home_address) == (HA_ADDRESS, COA,
                                                                  HOME_ADDRESS)
    assert [o.prefix_length for o in first.payload.options] == [64]
    mps = [p for _r, p in scn.net.packets(MobilePrefixSolicitation, sender="mn")]
    assert len(mps) == 3 and all(p.home_address == HOME_ADDRESS and p.src == COA for p in mps)
    # §11.4.3: the unsolicited ones are discarded, the solicited ones processed.
    assert scn.mn.counters["drop.mpa_unsolicited"] == 3
    assert len(scn.net.events_of("mobile_prefix.received", "mn")) == 3
    assert scn.mn.home_address == HOME_ADDRESS  # nothing changed


def test_an_unacknowledged_advertisement_is_retransmitted_with_backoff():
    scn = periodic()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, MobilePrefixSolicitation))
    scn.run(60)
    first = advertisements(scn, periodic=True)[0].time
    times = [e.time - first for e in advertisements(scn) if e.time < first + 30]
    waits = [PREFIX_ADV_TIMEOUT * 2**i for i in range(PREFIX_ADV_RETRIES)]
    expected = [0.0] + [sum(waits[:i + 1]) for i in range(PREFIX_ADV_RETRIES)]
    assert times == pytest.approx(expected)


def test_periodic_advertisements_can_be_disabled_and_stop_with_the_binding():
    scn = periodic(periodic_mobile_prefixes=False)
    scn.run(70)
    assert advertisements(scn) == []
    scn = periodic(max_binding_lifetime=32.0)
    scn.net.at(5.0, lambda now: scn.net.connect("mn", "wlan0", None))  # the node vanishes
    scn.run(100)
    # §10.6.2: "If a home registration expires, cancel any scheduled advertisements".
    expired = scn.net.events_of("binding.expired", "ha")[0].time
    assert advertisements(scn) and all(e.time < expired for e in advertisements(scn))


@pytest.mark.parametrize(("preferred", "low", "high"), [
    (604_800, 10.0, 30.0),  # MaxScheduleDelay = MaxMobPfxAdvInterval
    (15, 10.0, 15.0),       # ... or the preferred lifetime when shorter
])
def test_rand_adv_delay(preferred, low, high):
    delays = []
    for seed in range(20):
        scn = build(seed=seed, home_router={"preferred_lifetime": preferred},
                    ha={"min_mobile_prefix_interval": 10.0, "max_mobile_prefix_interval": 30.0})
        scn.move("visited1", at=1.0)
        scn.run(60)
        # From the last advertisement before the first periodic one (a preferred lifetime
        # shorter than the binding makes the BA ask for a solicitation first, status 1).
        ads = advertisements(scn)
        first = next(i for i, e in enumerate(ads) if e.fields["periodic"])
        before = ads[first - 1].time if first else registered_at(scn)
        delays.append(ads[first].time - before)
    assert all(low <= d < high for d in delays) and len(set(delays)) > 10


def renumbered_scenario(old_lifetimes: tuple[int, int] | None):
    """The home link gains 2001:db8:2::/64; the old prefix is withdrawn or deprecated
    (``old_lifetimes`` = (valid, preferred); None: the old prefix stays untouched)."""
    scn = build(ha={"min_mobile_prefix_interval": 5.0, "max_mobile_prefix_interval": 5.0},
                correspondents=("cn1",))
    scn.net.add_route(NEW_PREFIX, "home")
    scn.move("visited1", at=1.0)
    old = scn.ha.prefixes[0]
    if old_lifetimes is not None:
        old = PrefixInformation(prefix_length=64, router_address=True, prefix=HA_ADDRESS,
                                valid_lifetime=old_lifetimes[0],
                                preferred_lifetime=old_lifetimes[1])
    new = PrefixInformation(prefix_length=64, prefix=NEW_PREFIX.network_address,
                            valid_lifetime=86_400, preferred_lifetime=14_400)
    scn.net.at(3.0, lambda now: scn.ha.change_prefixes((old, new), now))
    return scn


@pytest.mark.parametrize("old_lifetimes", [(0, 0), (3600, 0)])
def test_a_changed_home_prefix_renumbers_the_home_address(old_lifetimes):
    scn = renumbered_scenario(old_lifetimes)
    scn.run(20)
    [renumbered] = scn.net.events_of("home.renumbered", "mn")
    assert renumbered.fields == {"previous_home_address": HOME_ADDRESS,
                                 "home_address": NEW_HOME_ADDRESS, "prefix": NEW_PREFIX}
    assert scn.mn.home_address == NEW_HOME_ADDRESS and scn.mn.home_prefix == NEW_PREFIX
    # The new home address is registered (a BU with it in the Home Address option) ...
    bus = [p for r, p in scn.net.packets(BindingUpdate, sender="mn") if r.time >= renumbered.time]
    assert bus and bus[0].home_address == NEW_HOME_ADDRESS and bus[0].src == COA
    entry = scn.ha.cache.lookup(NEW_HOME_ADDRESS, 20)
    assert entry is not None and entry.care_of_address == COA
    # ... and traffic to it reaches the node through the home agent's tunnel; route
    # optimization starts again for the new home address.
    cn1 = scn.cns["cn1"]
    scn.net.at(20.0, lambda now: cn1.send_packet(IPv6Packet(
        src=CN_ADDRESSES["cn1"], dst=NEW_HOME_ADDRESS,
        payload=UDPDatagram(src_port=7, dst_port=9, data=b"renumbered")), now))
    scn.run(25)
    assert [d.packet.payload.data for d in scn.net.delivered if d.node == "mn"] == [b"renumbered"]
    assert cn1.cache.lookup(NEW_HOME_ADDRESS, 25) is not None


def test_an_unchanged_home_prefix_keeps_the_home_address():
    scn = renumbered_scenario(None)
    scn.run(20)
    assert scn.net.events_of("mobile_prefix.received", "mn")
    assert not scn.net.events_of("home.renumbered", "mn")
    assert scn.mn.home_address == HOME_ADDRESS


def test_a_withdrawn_prefix_takes_no_new_registrations():
    scn = build()
    withdrawn = PrefixInformation(prefix_length=64, router_address=True, prefix=HA_ADDRESS,
                                  valid_lifetime=0, preferred_lifetime=0)
    scn.net.at(0.5, lambda now: scn.ha.change_prefixes((withdrawn,), now))
    scn.move("visited1", at=1.0)
    scn.run(5)
    assert [e.fields["status"] for e in scn.net.events_of("binding.rejected", "ha")][:1] == [132]
    assert HOME_PREFIX  # the scenario's home prefix, now without a valid lifetime


@pytest.mark.parametrize(("home_address", "status"), [
    (NEW_HOME_ADDRESS, 0),                      # the SA's identifier under the new prefix
    (IPv6Address("2001:db8:2::200"), 129),      # another identifier: not this SA's address
    (IPv6Address("2001:db8:3::100"), 129),      # a prefix the home agent does not advertise
])
def test_a_security_association_follows_its_address_into_a_new_prefix(home_address, status):
    from mipshop.protocol.mipv6.mn_ha_auth import unix_to_ntp
    from mipshop.protocol.mipv6.signalling import protect_mn_ha
    from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
    from mipshop.wire.ipv6 import encode_packet
    from mipshop.wire.mh import BindingAcknowledgement
    from mipshop.wire.mh_options import AlternateCareOfAddress
    from tests.protocol.scenario import CREDENTIALS, WALL_CLOCK

    scn = build(mn={"home_agent": None}, ha={"dad_duration": 0.0})
    new = PrefixInformation(prefix_length=64, prefix=NEW_PREFIX.network_address)
    scn.net.at(0.5, lambda now: scn.ha.change_prefixes((scn.ha.prefixes[0], new), now))
    bu = protect_mn_ha(
        BindingUpdate(sequence=1, lifetime=100, ack=True, home_registration=True,
                      options=(AlternateCareOfAddress(address=COA),)),
        CREDENTIALS, timestamp=unix_to_ntp(WALL_CLOCK + 1.0), care_of_address=COA,
        home_address=home_address)
    scn.net.inject(encode_packet(IPv6Packet(
        src=COA, dst=HA_ADDRESS, payload=bu, extension_headers=(DestinationOptions(
            options=(HomeAddressOption(home_address=home_address),)),))), "ha", "home", at=1.0)
    scn.run(2)
    [ba] = [p.payload for _r, p in scn.net.packets(BindingAcknowledgement, sender="ha")]
    assert ba.status == status


@pytest.mark.parametrize("nodes", [2, 3])
def test_every_home_registration_gets_its_own_periodic_advertisement(nodes: int) -> None:
    # §10.6.2: the home agent schedules the unsolicited advertisements of each home address
    # with a binding; another node's registration neither replaces nor suppresses them.
    agent = home_agent(n_credentials=nodes, dad_duration=0.0, min_mobile_prefix_interval=20.0,
                       max_mobile_prefix_interval=20.0)
    for i in range(nodes):
        agent.receive(bu_packet(i, src=source(i), at=1.0 + i), "home", 1.0 + i)
    agent.pull_actions()
    actions = []
    while (deadline := agent.next_deadline()) is not None and deadline <= 30.0:
        agent.handle_timer(deadline)
        actions += agent.pull_actions()
    periodic = [(a.time, a.fields["home_address"], a.fields["destination"]) for a in actions
                if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement"
                and a.fields["periodic"]]
    assert periodic == [(21.0 + i, home(i), source(i)) for i in range(nodes)]


def _advertisement_times(registrations: list[tuple[int, float, int, int]], nodes: tuple[int, ...],
                         until: float) -> dict[int, list[tuple[float, bool, bool]]]:
    # Each node's unsolicited advertisements (time, periodic, retransmission) at a home agent
    # that gets the registrations (node, time, lifetime, sequence) of ``nodes`` only.
    agent = home_agent(n_credentials=3, dad_duration=0.0, min_mobile_prefix_interval=20.0,
                       max_mobile_prefix_interval=20.0)
    sent: dict[int, list[tuple[float, bool, bool]]] = {i: [] for i in nodes}
    plan = [r for r in registrations if r[0] in nodes]
    now = 0.0
    while now < until:
        deadline = agent.next_deadline()
        arrival = plan[0][1] if plan else until
        now = min(arrival, deadline if deadline is not None else until, until)
        if plan and plan[0][1] == now:
            node, at, lifetime, sequence = plan.pop(0)
            agent.receive(bu_packet(node, src=source(node), at=at, lifetime=lifetime,
                                    sequence=sequence), "home", at)
        else:
            agent.handle_timer(now)
        for a in agent.pull_actions():
            if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement":
                node = [home(i) for i in range(3)].index(a.fields["home_address"])
                sent[node].append((a.time, a.fields["periodic"], a.fields["retransmission"]))
    return sent


def test_each_nodes_periodic_advertisements_are_those_it_would_get_alone() -> None:
    # §10.6.2: each home address has its own schedule of unsolicited advertisements (the
    # periodic ones, their retransmissions, cancelled when its binding ends, started again
    # with a new binding): at an agent serving three nodes, each gets what it would get at
    # an agent serving it alone. Node 1's binding expires at 43 s and is registered again
    # at 43.5 s, while a retransmission of its last advertisement was still due (44 s).
    registrations = [(0, 1.0, 600, 1), (1, 3.0, 40, 1), (2, 7.0, 600, 1), (1, 43.5, 600, 2)]
    together = _advertisement_times(registrations, (0, 1, 2), 150.0)
    for node in range(3):
        alone = _advertisement_times(registrations, (node,), 150.0)
        assert together[node] == alone[node]
    # Never acknowledged (no node answers here): RAND_ADV_DELAY (20 s) after the
    # registration, retransmitted PREFIX_ADV_RETRIES times with doubling waits, the next
    # periodic one RAND_ADV_DELAY after the last.
    waits = [PREFIX_ADV_TIMEOUT * 2**i for i in range(PREFIX_ADV_RETRIES)]
    first = [(21.0, True, False)] + [(21.0 + sum(waits[:i + 1]), False, True)
                                     for i in range(PREFIX_ADV_RETRIES)]
    assert together[0][:len(first) + 1] == [*first, (21.0 + sum(waits) + 20.0, True, False)]
    # Nothing for node 1 between the end of its first binding and RAND_ADV_DELAY after the
    # new one: the old binding's timers were cancelled (§10.6.2), the new one got its own.
    assert [t for t, _p, _r in together[1] if 43.0 <= t <= 63.5] == [63.5]


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("nodes", [1, 2])
def test_a_prefix_change_is_advertised_to_every_registered_node(nodes: int,
                                                                 periodic: bool) -> None:
    # §10.6.2: when the home link's prefixes change, an advertisement of the whole new list
    # is scheduled at RAND_ADV_DELAY (20 s here) to every registered mobile node, also with
    # the periodic advertisements off; one already scheduled is kept (and sends the new list).
    agent = home_agent(n_credentials=nodes, dad_duration=0.0,
                       periodic_mobile_prefixes=periodic,
                       min_mobile_prefix_interval=20.0, max_mobile_prefix_interval=20.0)
    for i in range(nodes):
        agent.receive(bu_packet(i, src=source(i), at=1.0 + i), "home", 1.0 + i)
    agent.handle_timer(5.0)
    assert not [a for a in agent.pull_actions()
                if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement"]
    new = PrefixInformation(prefix_length=64, prefix=NEW_PREFIX.network_address)
    agent.change_prefixes((agent.prefixes[0], new), 5.0)
    actions = agent.pull_actions()
    while (deadline := agent.next_deadline()) is not None and deadline <= 25.0:
        agent.handle_timer(deadline)
        actions += agent.pull_actions()
    sent = [(a.time, a.fields["home_address"]) for a in actions
            if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement"
            and not a.fields["retransmission"]]
    assert sent == [(21.0 + i if periodic else 25.0, home(i)) for i in range(nodes)]
    mpas = [a.packet for a in actions if isinstance(a, Transmit)
            and isinstance(a.packet.payload, MobilePrefixAdvertisement)]
    assert {p.dst for p in mpas} == {source(i) for i in range(nodes)}
    assert all([o.prefix for o in p.payload.options] == [agent.prefixes[0].prefix,
                                                          NEW_PREFIX.network_address]
               for p in mpas)


def _unsolicited(agent, until: float) -> list[tuple[float, bool, bool]]:
    # (time, periodic, retransmission) of the agent's unsolicited advertisements up to
    # ``until``, firing its timers in order; the Transmit of each is checked to go with it.
    sent = []
    while (deadline := agent.next_deadline()) is not None and deadline <= until:
        agent.handle_timer(deadline)
        actions = agent.pull_actions()
        events = [a for a in actions
                  if isinstance(a, Event) and a.kind == "mobile_prefix.advertisement"]
        mpas = [a for a in actions if isinstance(a, Transmit)
                and isinstance(a.packet.payload, MobilePrefixAdvertisement)]
        assert len(mpas) == len(events)
        sent += [(round(e.time, 6), e.fields["periodic"], e.fields["retransmission"])
                 for e in events]
    return sent


@pytest.mark.parametrize("interval", [30.0, 60.0, 150.0])
def test_an_unacknowledged_periodic_advertisement_is_retransmitted_at_most_the_retries(
        interval: float) -> None:
    # §10.6.2: an unsolicited advertisement is retransmitted after PREFIX_ADV_TIMEOUT,
    # doubling, at most PREFIX_ADV_RETRIES times; with no answer the next one is the
    # periodic one, RAND_ADV_DELAY (``interval`` here) after the last transmission. With an
    # interval longer than the retransmissions' ceiling a missing limit would show.
    agent = home_agent(dad_duration=0.0, min_mobile_prefix_interval=interval,
                       max_mobile_prefix_interval=interval)
    agent.receive(bu_packet(0, src=source(0), at=1.0, lifetime=1000), "home", 1.0)
    agent.pull_actions()
    waits = [PREFIX_ADV_TIMEOUT * 2**i for i in range(PREFIX_ADV_RETRIES)]
    cycle = interval + sum(waits)
    expected = []
    for k in range(2):
        start = 1.0 + interval + k * cycle
        expected += [(start, True, False)] + [(start + sum(waits[:i + 1]), False, True)
                                              for i in range(PREFIX_ADV_RETRIES)]
    assert _unsolicited(agent, 1.0 + 2 * cycle + interval - 1.0) == [
        (round(t, 6), p, r) for t, p, r in expected]


@pytest.mark.parametrize("ending", ["de-registration", "expiry"])
@pytest.mark.parametrize("periodic", [False, True])
def test_a_binding_ends_the_same_with_periodic_advertisements_on_or_off(
        ending: str, periodic: bool) -> None:
    # §10.6.2 "If a home registration expires, cancel any scheduled advertisements": with the
    # periodic advertisements off none is scheduled, and the binding still ends (its
    # ForgetBinding, the cache), by de-registration (§10.3.2) or expiry (§10.3.1).
    agent = home_agent(dad_duration=0.0, periodic_mobile_prefixes=periodic,
                       min_mobile_prefix_interval=20.0, max_mobile_prefix_interval=20.0)
    agent.receive(bu_packet(0, src=source(0), at=1.0, lifetime=12), "home", 1.0)
    agent.pull_actions()
    if ending == "de-registration":
        agent.receive(bu_packet(0, src=source(0), at=5.0, lifetime=0, sequence=2), "home", 5.0)
    actions = agent.pull_actions()
    while (deadline := agent.next_deadline()) is not None and deadline <= 40.0:
        agent.handle_timer(deadline)
        actions += agent.pull_actions()
    assert {a.home_address for a in actions if isinstance(a, ForgetBinding)} == {home(0)}
    assert agent.cache.lookup(home(0), 40.0) is None
    assert not [a for a in actions if isinstance(a, Event)
                and a.kind == "mobile_prefix.advertisement"]
