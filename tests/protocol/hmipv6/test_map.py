"""The MAP as a local home agent (RFC 5380 §6.2): crafted local BUs and their answers."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.constants import MN_HA_AUTHENTICATOR_LENGTH
from mipshop.protocol.mipv6.config import MobilityCredentials
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.protocol.mipv6.signalling import verify_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encapsulate, encode_packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingUpdate,
    encode_mh,
    mh_authenticator_input,
)
from mipshop.wire.mh_options import (
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    MobilityMessageAuthenticationSubtype,
)
from tests.harness import innermost
from tests.protocol.hmip_scenario import (
    MAP_ADDRESSES,
    MAP_CREDENTIALS,
    build_hmip,
    lcoa,
    local_bu,
    rcoa,
)
from tests.protocol.scenario import CN_ADDRESSES

S = BindingAckStatus
MAP1 = MAP_ADDRESSES["map1"]
RCOA = rcoa("map1")
LCOA = lcoa("d1a")
OTHER = MobilityCredentials(
    identifier=b"mn2@example.com",
    security_association=SecurityAssociation(spi=2001, key=bytes(range(50, 66))),
)


def answers(scn):
    return [p for _r, p in scn.net.packets(BindingAcknowledgement, sender="map1")]


def inject(scn, data, at):
    scn.net.inject(data, "map1", "eth0", at=at)
    scn.run(at + 0.5)


def test_accepted_local_bu_gets_a_ba_with_the_rcoa_in_a_type_2_routing_header():
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=7), 1.0)
    (ba_packet,) = answers(scn)
    ba = ba_packet.payload
    assert ba.status == S.ACCEPTED and ba.sequence == 7 and ba.lifetime == 600
    # RFC 5380 §6.2: to the LCoA, with an RH2 carrying the RCoA; authenticated (RFC 4285).
    assert ba_packet.src == MAP1 and ba_packet.dst == LCOA
    assert ba_packet.routing_home_address == RCOA
    assert verify_mn_ha(ba, MAP_CREDENTIALS, care_of_address=LCOA, home_address=RCOA)
    entry = scn.maps["map1"].cache.lookup(RCOA, scn.net.now)
    assert entry.care_of_address == LCOA and entry.map_registration and not (
        entry.home_registration)
    # Proxy ND on the MAP's link intercepts the RCoA (RFC 5380 §6.2).
    assert scn.net.claims()[RCOA] == ("map1", "eth0")


OTHER_RCOA = IPv6Address("2001:db8:a1::2:2")


def _second_identity(scn, address=OTHER_RCOA):
    # Give the MAP a second MN-MAP SA (the scenario MAP knows only mn1's), naming ``address``.
    anchor = scn.maps["map1"]
    anchor._by_spi[OTHER.security_association.spi] = dataclasses.replace(
        OTHER, home_address=address)


def case_129(scn):
    return local_bu(at=1.0, sequence=1, lcoa=IPv6Address("2001:db8:99::ff:fe00:1"))


def case_131(scn):
    return local_bu(at=1.0, sequence=1, map_registration=False, home_registration=True)


def case_132(scn):
    # An SA names an RCoA of the MAP's prefix: only an unauthenticated BU can propose another.
    return local_bu(at=1.0, sequence=1, rcoa=IPv6Address("2001:db8:a2::ff:fe00:1"),
                    credentials=None)


def case_133(scn):
    return local_bu(at=1.0, sequence=1, lifetime=0)


def case_145(scn):
    # Authenticated (MN-ID and authenticator) but without the Replay Protection option.
    bu = BindingUpdate(sequence=1, lifetime=600, ack=True, map_registration=True, options=(
        MobileNodeIdentifier(identifier=MAP_CREDENTIALS.identifier),))
    sa = MAP_CREDENTIALS.security_association

    def with_auth(authenticator):
        return dataclasses.replace(bu, options=(*bu.options, MobilityMessageAuthentication(
            subtype=MobilityMessageAuthenticationSubtype.MN_HA, spi=sa.spi,
            authenticator=authenticator)))

    draft = with_auth(bytes(MN_HA_AUTHENTICATOR_LENGTH))
    data = mh_authenticator_input(encode_mh(draft), MN_HA_AUTHENTICATOR_LENGTH)
    return encode_packet(IPv6Packet(
        src=LCOA, dst=MAP1, payload=with_auth(sa.authenticator(LCOA, RCOA, data)),
        extension_headers=(DestinationOptions(options=(HomeAddressOption(home_address=RCOA),)),)))


def case_146(scn):
    forged = dataclasses.replace(MAP_CREDENTIALS, security_association=SecurityAssociation(
        spi=MAP_CREDENTIALS.security_association.spi, key=b"not the right key"))
    return local_bu(at=1.0, sequence=1, credentials=forged)


@pytest.mark.parametrize(("status", "case", "map_config"), [
    (S.ADMINISTRATIVELY_PROHIBITED, case_129, {}),
    (S.HOME_REGISTRATION_NOT_SUPPORTED, case_131, {}),
    (S.NOT_HOME_SUBNET, case_132, {"accept_unauthenticated": True}),
    (S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE, case_133, {}),
    (S.INSUFFICIENT_RESOURCES, lambda scn: local_bu(at=1.0, sequence=1), {"max_bindings": 0}),
    (S.DUPLICATE_ADDRESS_DETECTION_FAILED, lambda scn: local_bu(at=1.0, sequence=1),
     {"addresses_in_use": frozenset({RCOA})}),
    (S.MIPV6_MESG_ID_REQD, case_145, {}),
    (S.MIPV6_AUTH_FAIL, case_146, {}),
], ids=["129-foreign-lcoa", "131-home-registration", "132-rcoa-off-prefix", "133-no-binding",
        "130-cache-full", "134-in-use", "145-no-timestamp", "146-forged"])
def test_rejection_status(status, case, map_config):
    scn = build_hmip(maps={"map1": map_config})
    inject(scn, case(scn), 1.0)
    (ba_packet,) = answers(scn)
    assert ba_packet.payload.status == status
    assert ba_packet.payload.lifetime == 0
    assert len(scn.maps["map1"].cache) == 0
    assert RCOA not in scn.net.claims()


def test_forged_local_bu_leaves_the_binding_cache_unchanged():
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=10), 1.0)
    before = [dataclasses.astuple(e) for e in scn.maps["map1"].cache]
    # A forged BU moving the RCoA to another LCoA: 146 and nothing changes.
    forged = dataclasses.replace(MAP_CREDENTIALS, security_association=SecurityAssociation(
        spi=MAP_CREDENTIALS.security_association.spi, key=b"not the right key"))
    inject(scn, local_bu(at=3.0, sequence=11, lcoa=lcoa("d1b"), credentials=forged), 3.0)
    assert [dataclasses.astuple(e) for e in scn.maps["map1"].cache] == before
    assert [p.payload.status for p in answers(scn)][-1] == S.MIPV6_AUTH_FAIL
    assert scn.net.events_of("auth.failed", "map1")[-1].fields["reason"] == "bad_authenticator"
    # Unknown SPI or no authentication at all: silently discarded (RFC 4285 §5.1.1).
    count = len(answers(scn))
    inject(scn, local_bu(at=4.0, sequence=12, credentials=OTHER), 4.0)
    inject(scn, local_bu(at=5.0, sequence=13, credentials=None), 5.0)
    assert len(answers(scn)) == count
    assert [dataclasses.astuple(e) for e in scn.maps["map1"].cache] == before


def test_sequence_type_change_and_deregistration():
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=100), 1.0)
    inject(scn, local_bu(at=2.0, sequence=100), 2.0)  # not newer -> 135 with the last one
    inject(scn, local_bu(at=3.0, sequence=101, map_registration=False), 3.0)  # -> 139
    inject(scn, local_bu(at=4.0, sequence=102, lifetime=0), 4.0)  # de-registration
    statuses = [(p.payload.status, p.payload.sequence) for p in answers(scn)]
    assert statuses == [(0, 100), (S.SEQUENCE_NUMBER_OUT_OF_WINDOW, 100),
                        (S.REGISTRATION_TYPE_CHANGE_DISALLOWED, 101), (0, 102)]
    assert len(scn.maps["map1"].cache) == 0 and RCOA not in scn.net.claims()
    assert scn.net.events_of("binding.deregistered", "map1")


def test_an_sa_registers_only_the_rcoa_it_names():
    # RFC 6275 §10.3.1 at a MAP: mn2's SA names OTHER_RCOA; it cannot register or delete mn1's.
    scn = build_hmip()
    _second_identity(scn)
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    inject(scn, local_bu(at=2.0, sequence=2, lcoa=lcoa("d1b"), credentials=OTHER), 2.0)
    inject(scn, local_bu(at=3.0, sequence=3, lifetime=0, credentials=OTHER), 3.0)
    inject(scn, local_bu(at=4.0, sequence=4, rcoa=IPv6Address("2001:db8:a1::99"),
                         credentials=MAP_CREDENTIALS), 4.0)
    statuses = [p.payload.status for p in answers(scn)]
    assert statuses == [0] + [S.ADMINISTRATIVELY_PROHIBITED] * 3
    assert scn.maps["map1"].cache.lookup(RCOA, scn.net.now).care_of_address == LCOA
    assert len(scn.maps["map1"].cache) == 1
    assert scn.maps["map1"].counters["auth.address_not_in_sa"] == 3


def test_another_node_cannot_take_a_bound_rcoa():
    # Two identities whose SAs name the same RCoA: the first to bind it keeps it.
    scn = build_hmip()
    _second_identity(scn, RCOA)
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    inject(scn, local_bu(at=2.0, sequence=2, lcoa=lcoa("d1b"), credentials=OTHER), 2.0)
    inject(scn, local_bu(at=3.0, sequence=3, lifetime=0, credentials=OTHER), 3.0)
    statuses = [p.payload.status for p in answers(scn)]
    assert statuses == [0, S.DUPLICATE_ADDRESS_DETECTION_FAILED,
                        S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE]
    assert scn.maps["map1"].cache.lookup(RCOA, scn.net.now).care_of_address == LCOA


def test_allocating_map_assigns_the_rcoa_of_the_sa_in_the_routing_header():
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True}})
    _second_identity(scn)
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)  # the SA's own RCoA: the proposal is kept
    inject(scn, local_bu(at=2.0, sequence=1, lcoa=lcoa("d1b"), credentials=OTHER), 2.0)
    first, second = answers(scn)
    assert first.routing_home_address == RCOA
    assigned = second.routing_home_address
    assert second.payload.status == 0 and assigned == OTHER_RCOA
    assert verify_mn_ha(second.payload, OTHER, care_of_address=lcoa("d1b"),
                        home_address=assigned)
    (event,) = scn.net.events_of("map.rcoa_assigned", "map1")
    assert event.fields == {"proposed": RCOA, "assigned": assigned}
    assert scn.maps["map1"].cache.lookup(assigned, scn.net.now).care_of_address == lcoa("d1b")


def test_map_tunnels_intercepted_packets_and_accepts_the_reverse_tunnel():
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    cn = CN_ADDRESSES["cn1"]
    down = IPv6Packet(src=cn, dst=RCOA, payload=UDPDatagram(src_port=1, dst_port=2, data=b"d"))
    scn.net.inject(encode_packet(down), "map1", "eth0", at=2.0)
    up = IPv6Packet(src=RCOA, dst=cn, payload=UDPDatagram(src_port=2, dst_port=1, data=b"u"))
    scn.net.inject(encode_packet(encapsulate(up, src=LCOA, dst=MAP1)), "map1", "eth0", at=2.1)
    # From an LCoA that is not the bound one: dropped (RFC 6275 §10.4.5).
    scn.net.inject(encode_packet(encapsulate(up, src=lcoa("d1b"), dst=MAP1)), "map1", "eth0",
                   at=2.2)
    scn.run(3)
    sent = [p for _r, p in scn.net.packets(UDPDatagram, sender="map1")]
    assert [(p.src, p.dst, innermost(p).dst) for p in sent] == [(MAP1, LCOA, RCOA),
                                                               (RCOA, cn, cn)]
    (at_cn,) = [d for d in scn.net.delivered if d.node == "cn1"]
    assert at_cn.packet.src == RCOA
    assert scn.maps["map1"].counters["drop.reverse_tunnel_unbound"] == 1


def test_bu_with_neither_m_nor_h_is_ignored():
    scn = build_hmip()
    inject(scn, local_bu(at=1.0, sequence=1, map_registration=False), 1.0)
    assert answers(scn) == []
    (ignored,) = scn.net.events_of("bu.ignored", "map1")
    assert ignored.fields["reason"] == "not_served"


def test_allocating_map_refuses_a_deregistration_of_another_rcoa():
    # The SA's RCoA is assigned only to registrations: a de-registration naming another
    # address is refused (129) and the node's own binding stays.
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True}})
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    inject(scn, local_bu(at=2.0, sequence=2, lifetime=0,
                         rcoa=IPv6Address("2001:db8:a1::42")), 2.0)
    assert [p.payload.status for p in answers(scn)] == [0, S.ADMINISTRATIVELY_PROHIBITED]
    assert scn.maps["map1"].cache.lookup(RCOA, scn.net.now).care_of_address == LCOA


@pytest.mark.parametrize(("proposal", "kept"), [
    (IPv6Address("2001:db8:a1::5"), True),  # free, in the prefix: kept
    (IPv6Address("2001:db8:a1::6"), False),  # in use on the link: another one
    (IPv6Address("2001:db8:a2::5"), False),  # outside the MAP's prefix: another one
])
def test_allocating_map_without_an_sa_keeps_a_free_proposal_or_assigns_one(proposal, kept):
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True, "accept_unauthenticated": True,
                                    "addresses_in_use": frozenset(
                                        {IPv6Address("2001:db8:a1::6")})}})
    inject(scn, local_bu(at=1.0, sequence=1, rcoa=proposal, credentials=None), 1.0)
    (ba,) = answers(scn)
    assert ba.payload.status == 0
    assigned = ba.routing_home_address
    assert (assigned == proposal) is kept
    assert assigned in scn.maps["map1"].config.rcoa_prefix
    assert assigned != IPv6Address("2001:db8:a1::6")


def test_allocating_map_without_an_sa_does_not_hand_out_a_bound_rcoa():
    scn = build_hmip(maps={"map1": {"allocate_rcoa": True, "accept_unauthenticated": True}})
    inject(scn, local_bu(at=1.0, sequence=1), 1.0)  # mn1's SA binds RCOA
    inject(scn, local_bu(at=2.0, sequence=1, lcoa=lcoa("d1b"), credentials=None), 2.0)
    first, second = answers(scn)
    assert first.routing_home_address == RCOA
    assert second.payload.status == 0 and second.routing_home_address != RCOA
    assert scn.maps["map1"].cache.lookup(RCOA, scn.net.now).care_of_address == LCOA


MAP_MAC = bytes.fromhex("02000000a101")


@pytest.mark.parametrize("mac", [MAP_MAC, None], ids=["mac", "no-mac"])
def test_a_newly_served_rcoa_gets_one_unsolicited_neighbor_advertisement(mac):
    # RFC 5380 §6.2: the MAP intercepts the RCoA "using proxy Neighbour Advertisement ...
    # identical to that of the HA"; RFC 6275 §10.4.1: when it begins serving it MUST
    # multicast an NA for the address to all nodes, Target Link-Layer Address its own MAC,
    # R = 0, S = 0, O = 1 (hop limit 255, RFC 4861 §7.1.2). Once per start of service: not
    # for a refresh, again after a de-registration and a new registration. Without a MAC
    # configured (a MapConfig built by hand) none is sent.
    from mipshop.wire.icmpv6 import NeighborAdvertisement
    from mipshop.wire.nd_options import TargetLinkLayerAddress

    scn = build_hmip(maps={"map1": {"link_layer_address": mac}})

    def advertised():
        return [p for _r, p in scn.net.packets(NeighborAdvertisement, sender="map1")]

    inject(scn, local_bu(at=1.0, sequence=1), 1.0)
    inject(scn, local_bu(at=2.0, sequence=2), 2.0)  # a refresh: no new NA
    if mac is None:
        assert advertised() == []
        return
    (na_packet,) = advertised()
    na = na_packet.payload
    assert na_packet.dst == IPv6Address("ff02::1") and na_packet.hop_limit == 255
    assert na_packet.src == MAP1
    assert na.target == RCOA and not na.router and not na.solicited and na.override
    assert [o.address for o in na.options if isinstance(o, TargetLinkLayerAddress)] == [MAP_MAC]
    inject(scn, local_bu(at=3.0, sequence=3, lifetime=0), 3.0)
    assert len(advertised()) == 1
    inject(scn, local_bu(at=4.0, sequence=4), 4.0)
    assert [p.payload.target for p in advertised()] == [RCOA, RCOA]
