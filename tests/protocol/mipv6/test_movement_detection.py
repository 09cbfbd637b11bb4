"""Movement detection without link-layer triggers (RFC 6275 §11.5.1; RFC 4861 §6.3.4-7, §7.3).

The mobile node's interface changes link silently (``Network.connect``: no ``LinkDown`` /
``LinkUp``); it learns of the L3 handover from its default router's Neighbor Unreachability
Detection, from missed Router Advertisements and from the Router Lifetime.
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network
from itertools import pairwise

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.constants import (
    MAX_RTR_SOLICITATIONS,
    MAX_UNICAST_SOLICIT,
    ND_RETRANS_TIMER,
    RTR_SOLICITATION_INTERVAL,
)
from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation, RouterSolicitation
from tests.protocol.scenario import build, care_of

ROUTER = IPv6Address("fe80::1")  # every router's link-local address in the scenario


def kinds(scn, prefix="movement.", after=0.0):
    return [(e.kind, e.fields) for e in scn.net.events
            if e.node == "mn" and e.kind.startswith(prefix) and e.time >= after]


def registered(scn):
    return [e.fields["care_of_address"] for e in scn.net.events_of("home.registered", "mn")]


def silent_move(scn, link, at):
    scn.net.at(at, lambda now: scn.net.connect("mn", "wlan0", link))


def test_a_new_router_is_used_once_nud_finds_the_old_one_unreachable():
    scn = build()
    scn.move("visited1", at=1.0)
    silent_move(scn, "visited2", at=10.0)
    scn.run(25)
    events = kinds(scn, after=10.0)
    names = [k for k, _f in events]
    # The first RA of visited2 (every 3 s, same link-local fe80::1, other MAC and prefix) is
    # held back, the default router probed three times, a second apart (RFC 4861 §7.3.3).
    deferred = scn.net.events_of("movement.ra_deferred", "mn")[0]
    assert names[:MAX_UNICAST_SOLICIT + 1] == ["movement.ra_deferred"] + [
        "movement.probe"] * MAX_UNICAST_SOLICIT
    probes = [e for e in scn.net.events_of("movement.probe", "mn")]
    assert [p.fields["reason"] for p in probes] == ["new_router"] * MAX_UNICAST_SOLICIT
    assert [round(p.time - deferred.time, 3) for p in probes] == [
        i * ND_RETRANS_TIMER for i in range(MAX_UNICAST_SOLICIT)]
    [lost] = scn.net.events_of("movement.router_lost", "mn")
    assert lost.fields == {"router": ROUTER, "reason": "unreachable"}
    assert lost.time == pytest.approx(deferred.time + MAX_UNICAST_SOLICIT * ND_RETRANS_TIMER)
    # Then the held-back RA is processed: movement, new care-of address, registration.
    [detected] = [e for e in scn.net.events_of("movement.detected", "mn") if e.time >= 10]
    assert detected.time == lost.time and detected.fields["prefix"] == IPv6Network(
        "2001:db8:20::/64")
    assert registered(scn) == [care_of("visited1"), care_of("visited2")]
    # The router of visited2 answered the probes for fe80::1 (its own link-local address),
    # with another link-layer address: not taken for the old router (§11.5.1).
    answers = [p for r, p in scn.net.packets(NeighborAdvertisement, sender="ar-visited2")
               if p.payload.solicited]
    assert len(answers) == MAX_UNICAST_SOLICIT
    assert scn.mn.counters["movement.probe_other_router"] == MAX_UNICAST_SOLICIT


def test_a_second_router_on_the_same_link_is_not_movement_while_the_first_answers():
    """§11.5.1: "if the mobile node detects that the currently selected default router on
    the old link is still bidirectionally reachable, it should generally continue to use the
    old router"."""
    scn = build()
    other = AccessRouter("ar-other", random.Random(5), RouterConfig(
        interface="eth0", address=IPv6Address("2001:db8:40::1"),
        prefix=IPv6Network("2001:db8:40::/64"), link_local=IPv6Address("fe80::99"),
        link_layer_address=bytes.fromhex("00005e000199")))
    scn.net.add_node(other, {"eth0": "visited1"})
    scn.net.start(other, at=8.0)
    scn.move("visited1", at=1.0)
    scn.run(30)
    assert registered(scn) == [care_of("visited1")]
    assert scn.mn.care_of_address == care_of("visited1")
    deferred = scn.net.events_of("movement.ra_deferred", "mn")
    reachable = scn.net.events_of("movement.router_reachable", "mn")
    assert deferred and deferred[0].fields["router"] == IPv6Address("fe80::99")
    assert reachable and reachable[0].fields["router"] == ROUTER
    assert not scn.net.events_of("movement.router_lost", "mn")
    # The probe was a unicast NS to the default router, answered with a solicited NA.
    ns = [p for r, p in scn.net.packets(NeighborSolicitation, sender="mn")
          if not p.src.is_unspecified]  # (the DAD probes of its care-of address aside)
    assert ns and all(p.dst == ROUTER and p.payload.target == ROUTER for p in ns)


def test_missed_advertisements_start_nud_and_router_discovery():
    """§11.5.1: the Advertisement Interval option (RFC 6275 §7.3) says when the next RA is
    due; after ``lost_advertisements`` intervals without one the router is probed."""
    scn = build()
    scn.move("visited1", at=1.0)
    silent_move(scn, "visited3", at=10.0)  # a link whose router is switched off
    scn.net.connect("ar-visited3", "eth0", None)
    scn.run(40)
    probes = scn.net.events_of("movement.probe", "mn")
    assert [p.fields["reason"] for p in probes] == ["missed_advertisements"] * 3
    last_ra = max(r.time for r, _p in scn.net.packets(sender="ar-visited1") if r.time < 10.0)
    # 3 intervals of 3 s after the last RA heard (it arrived a few ms after it was sent).
    assert probes[0].time == pytest.approx(last_ra + 3 * 3.0, abs=0.05)
    [lost] = scn.net.events_of("movement.router_lost", "mn")
    assert lost.fields["reason"] == "unreachable"
    # RFC 4861 §6.3.7: up to MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart.
    rs = [r.time for r, _p in scn.net.packets(RouterSolicitation, sender="mn") if r.time > 10]
    assert len(rs) == MAX_RTR_SOLICITATIONS
    assert [round(b - a, 3) for a, b in pairwise(rs)] == [RTR_SOLICITATION_INTERVAL] * 2
    assert scn.mn.default_router is None


def test_router_discovery_finds_the_new_link_after_the_router_is_lost():
    scn = build()
    scn.move("visited1", at=1.0)
    silent_move(scn, "visited3", at=10.0)
    scn.net.connect("ar-visited3", "eth0", None)
    lost_at = 10.0 + 12.0  # probes start before this; the router is lost by then
    silent_move(scn, "visited2", at=lost_at)
    scn.run(lost_at + 10)
    assert registered(scn) == [care_of("visited1"), care_of("visited2")]


@pytest.mark.parametrize("moved", [False, True])
def test_router_lifetime_expiry(moved):
    """RFC 4861 §6.3.5: a router whose lifetime ran out is no default router any more; the
    node solicits (§6.3.7) and takes whatever answers: the same router (no movement) or
    the router of the link it silently moved to."""
    scn = build(visited_router={"router_lifetime": 8, "ra_interval": 100.0},
                mn={"lost_advertisements": 0})
    scn.move("visited1", at=1.0)
    if moved:
        silent_move(scn, "visited2", at=5.0)
    scn.run(16)
    lost = scn.net.events_of("movement.router_lost", "mn")[0]
    assert lost.fields["reason"] == "router_lifetime"
    last_ra = max(r.time for r, _p in scn.net.packets(sender="ar-visited1") if r.time < 5.0)
    assert lost.time == pytest.approx(last_ra + 8, abs=0.05)
    expected = [care_of("visited1"), care_of("visited2")] if moved else [care_of("visited1")]
    assert registered(scn) == expected
    assert scn.mn.default_router == ROUTER


def test_without_confirmation_a_new_router_is_movement_at_once():
    scn = build(mn={"confirm_router_change": False})
    scn.move("visited1", at=1.0)
    silent_move(scn, "visited2", at=10.0)
    scn.run(15)
    assert not scn.net.events_of("movement.probe", "mn")
    assert registered(scn) == [care_of("visited1"), care_of("visited2")]


def test_a_link_layer_attachment_is_trusted():
    """§11.5.1: lower-layer information supplements NUD: after LinkUp the first RA counts."""
    scn = build()
    scn.move("visited1", at=1.0)
    scn.move("visited2", at=10.0)
    scn.run(15)
    assert not scn.net.events_of("movement.ra_deferred", "mn")
    assert not scn.net.events_of("movement.probe", "mn")
    assert registered(scn) == [care_of("visited1"), care_of("visited2")]
