"""The mobile node's route optimisation MUSTs that mutation testing found unchecked (RFC 6275):
the lifetime a correspondent BU asks (§5.2.6 MAX_RR_BINDING_LIFETIME, §11.7.2 no longer than
the home binding), its retransmission while no BA comes (§11.8), and route-optimised packets
only under a live binding of the current care-of address (§11.3.1)."""

from __future__ import annotations

import itertools

import pytest

from mipshop.protocol.base.constants import MAX_RR_BINDING_LIFETIME
from mipshop.wire.ipv6 import UDPDatagram
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from tests.harness import innermost
from tests.protocol.mipv6.test_route_optimization import CN1, _udp, optimised
from tests.protocol.scenario import HOME_ADDRESS


def _bus_to_cn1(scn):
    return [(r.time, p.payload) for r, p in scn.net.packets(BindingUpdate, sender="mn")
            if p.dst == CN1]


@pytest.mark.parametrize(("case", "asked", "home_lifetime", "ceiling", "floor"), [
    ("what the node asks", 300.0, 600.0, 300, 300),
    ("MAX_RR_BINDING_LIFETIME", 4000.0, 4000.0, MAX_RR_BINDING_LIFETIME,
     MAX_RR_BINDING_LIFETIME),
    ("the home binding's remaining lifetime", 4000.0, 200.0, 200, 180),
])
def test_a_correspondent_bu_asks_no_more_than_the_rfc_allows(case, asked, home_lifetime,
                                                             ceiling, floor):
    scn = optimised(correspondents=("cn1",), ro={"lifetime": asked},
                    mn={"home_binding_lifetime": home_lifetime})
    scn.run(6)
    bus = _bus_to_cn1(scn)
    assert bus
    assert all(floor <= bu.lifetime <= ceiling for _t, bu in bus), [b.lifetime for _t, b in bus]


def test_a_correspondent_bu_is_retransmitted_until_its_ba_comes():
    """§11.8: a BU with the A flag whose BA does not come is sent again, after
    INITIAL_BINDACK_TIMEOUT and then twice as long each time, with the same registration."""
    scn = optimised(correspondents=("cn1",), ro={"initial_timeout": 1.0, "max_timeout": 8.0})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement)
                    and p.src == CN1)
    scn.run(9)
    bus = _bus_to_cn1(scn)
    assert len(bus) >= 3 and all(bu.ack for _t, bu in bus)
    gaps = [round(b[0] - a[0], 1) for a, b in itertools.pairwise(bus)]
    assert gaps[:2] == [1.0, 2.0]
    retransmissions = [e for e in scn.net.events_of("ro.bu_sent", "mn")
                       if e.fields["retransmission"]]
    assert len(retransmissions) == len(bus) - 1


def _sent_to_cn1(scn):
    """How the node's datagrams to cn1 left: route-optimised (straight to cn1, with the Home
    Address option) or not (reverse-tunnelled through the home agent)."""
    out = []
    for _r, p in scn.net.packets(UDPDatagram, sender="mn"):
        if innermost(p).dst == CN1:
            out.append(p.dst == CN1 and p.home_address == HOME_ADDRESS)
    return out


@pytest.mark.parametrize(("case", "when", "optimised_route"), [
    ("while the binding lives", 10.0, True),
    ("once the binding's lifetime is over", 10.0 + MAX_RR_BINDING_LIFETIME, False),
    ("from a new care-of address not yet bound", "moved", False),
])
def test_packets_are_route_optimised_only_under_a_live_binding_of_the_care_of_address(
        case, when, optimised_route):
    # Refresh attempts keep failing without giving up (no fallback to the home agent's
    # tunnel before the binding's lifetime is over): only the lifetime decides.
    scn = optimised(correspondents=("cn1",), ro={"initial_timeout": 1.0,
                                                 "max_ro_failure": 1000})
    scn.run(8)
    entry = scn.mn.route_optimization.entries[CN1]
    assert entry.binding_expires_at is not None
    if when == "moved":
        # Nothing more from the correspondent: the new care-of address stays unbound there.
        scn.net.drop_if(lambda p, r: p.src == CN1 and r.time > 8)
        scn.move("visited2", at=8.5)
        scn.run(12)
        at = 12.0
    else:
        # No refresh either: the binding's lifetime runs out as granted.
        scn.net.drop_if(lambda p, r: p.src == CN1 and r.time > 8)
        at = entry.binding_expires_at if when != 10.0 else 10.0
        scn.run(at - 0.01)
    scn.net.at(at, lambda now: scn.mn.send_packet(_udp(HOME_ADDRESS, CN1, b"x"), now))
    scn.run(at + 0.5)
    assert _sent_to_cn1(scn)[-1:] == [optimised_route]
