"""The Link-Local Address Compatibility (L) bit (RFC 6275 §11.7.1, §10.3.1, §10.4.1, §10.4.2,
§11.5.5): link-local address uniqueness at home and its binding.

The scenario's home address is 2001:db8:1::100; a mobile node whose interface identifier is
::100 has the link-local address fe80::100, "the same interface identifier as the home address"
(§11.7.1): it sets L, and its home agent checks and defends fe80::100 on the home link too.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.mipv6.mn_ha_auth import unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import DestinationUnreachable, EchoRequest, NeighborAdvertisement
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress
from tests.protocol.scenario import CREDENTIALS, HOME_ADDRESS, WALL_CLOCK, build, care_of

LINK_LOCAL = IPv6Address("fe80::100")
NEIGHBOUR = IPv6Address("fe80::55")  # another node on the home link


def compatible(**kwargs):
    return build(mn={"interface_identifier": 0x100}, **kwargs)


def home_bus(scn):
    return [p.payload for _r, p in scn.net.packets(BindingUpdate, sender="mn")
            if p.payload.home_registration]


def test_the_mobile_node_sets_l_and_the_home_agent_defends_the_link_local_address():
    scn = compatible()
    scn.move("visited1", at=1.0)
    scn.run(5)
    assert scn.mn.link_local == LINK_LOCAL
    [bu] = home_bus(scn)
    assert bu.link_local_compat and bu.lifetime > 0  # on the wire, decoded
    entry = scn.ha.cache.lookup(HOME_ADDRESS, 5)
    assert entry is not None and entry.link_local_compat
    claims = scn.net.claims()
    assert claims[HOME_ADDRESS] == ("ha", "home") and claims[LINK_LOCAL] == ("ha", "home")


def test_without_a_compatible_identifier_l_is_clear_and_only_the_home_address_is_defended():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    [bu] = home_bus(scn)
    assert not bu.link_local_compat
    assert LINK_LOCAL not in scn.net.claims() and HOME_ADDRESS in scn.net.claims()
    assert not scn.ha.cache.lookup(HOME_ADDRESS, 5).link_local_compat


def test_packets_for_the_link_local_address_are_not_tunnelled():
    """§10.4.2: discarded, and an ICMP Destination Unreachable Code 3 to the source."""
    scn = compatible()
    scn.move("visited1", at=1.0)
    scn.run(5)
    probe = IPv6Packet(src=NEIGHBOUR, dst=LINK_LOCAL, payload=EchoRequest(
        identifier=1, sequence=1, data=b"x"))
    scn.net.inject(encode_packet(probe), "ha", "home", at=5.0)
    scn.run(6)
    [(_r, answer)] = list(scn.net.packets(DestinationUnreachable, sender="ha"))
    assert answer.dst == NEIGHBOUR and answer.payload.code == 3
    assert answer.payload.invoking_packet == encode_packet(probe)
    assert scn.ha.counters["drop.link_local_for_mobile"] == 1
    # Nothing reached the mobile node through the tunnel.
    assert not [d for d in scn.net.delivered if d.node == "mn"]


@pytest.mark.parametrize("dad_duration", [0.0, 1.0])
def test_dad_failure_of_the_link_local_address_refuses_the_binding(dad_duration):
    """§10.3.1: DAD fails "for the given home address or an associated link local address"
    -> 134 (DAD is modelled by ``addresses_in_use``, after ``dad_duration``)."""
    scn = compatible(ha={"addresses_in_use": frozenset({LINK_LOCAL}),
                         "dad_duration": dad_duration})
    scn.move("visited1", at=1.0)
    scn.run(5)
    statuses = [p.payload.status for _r, p in scn.net.packets(BindingAcknowledgement,
                                                              sender="ha")]
    assert statuses == [134]
    assert scn.ha.cache.lookup(HOME_ADDRESS, 5) is None and not scn.net.claims().get(LINK_LOCAL)
    # With L clear the same link-local address is no concern of the home agent.
    scn = build(ha={"addresses_in_use": frozenset({LINK_LOCAL})})
    scn.move("visited1", at=1.0)
    scn.run(5)
    assert scn.ha.cache.lookup(HOME_ADDRESS, 5) is not None


def test_returning_home_releases_and_advertises_the_link_local_address():
    """§11.5.5: after the de-registration the home agent stops defending both addresses and
    the node multicasts a Neighbor Advertisement for each, its link-local address included."""
    scn = compatible()
    scn.move("visited1", at=1.0)
    scn.move("home", at=5.0)
    scn.run(10)
    assert LINK_LOCAL not in scn.net.claims() and HOME_ADDRESS not in scn.net.claims()
    targets = [p.payload.target for r, p in scn.net.packets(NeighborAdvertisement, sender="mn")
               if r.time >= 5.0 and p.payload.override and not p.payload.solicited]
    assert set(targets) >= {HOME_ADDRESS, LINK_LOCAL}


@pytest.mark.parametrize(("first", "second", "claimed"), [
    (True, False, False), (False, True, True), (True, True, True)])
def test_a_refresh_changing_l_changes_what_is_defended(first, second, claimed):
    # A silent mobile node (BUs are injected) and no DAD delay at the home agent.
    scn = build(mn={"home_agent": None}, ha={"dad_duration": 0.0})
    scn.run(1)
    coa = care_of("visited1")

    def bu(sequence: int, l_bit: bool, at: float) -> bytes:
        message = BindingUpdate(sequence=sequence, lifetime=100, ack=True,
                                home_registration=True, link_local_compat=l_bit,
                                options=(AlternateCareOfAddress(address=coa),))
        message = protect_mn_ha(message, replace(CREDENTIALS), timestamp=unix_to_ntp(
            WALL_CLOCK + at), care_of_address=coa, home_address=HOME_ADDRESS)
        return encode_packet(IPv6Packet(src=coa, dst=scn.ha.address, payload=message,
                                        extension_headers=(DestinationOptions(options=(
                                            HomeAddressOption(home_address=HOME_ADDRESS),)),)))

    scn.net.inject(bu(10, first, 1.0), "ha", "home", at=1.0)
    scn.run(1.5)
    assert (LINK_LOCAL in scn.net.claims()) is first
    scn.net.inject(bu(11, second, 2.0), "ha", "home", at=2.0)
    scn.run(2.5)
    assert (LINK_LOCAL in scn.net.claims()) is claimed
    assert scn.ha.cache.lookup(HOME_ADDRESS, 2.5).link_local_compat is second
