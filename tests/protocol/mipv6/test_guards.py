"""Guards of RFC 6275 MUSTs that mutation testing found unchecked, one test each.

Each test fails when its guard is deleted (checked with mutmut, README "Mutation testing").
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Deliver, Transmit
from mipshop.protocol.mipv6.config import CorrespondentConfig
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.mn_ha_auth import unix_to_ntp
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingErrorStatus,
    BindingUpdate,
)
from mipshop.wire.mh_options import AlternateCareOfAddress
from tests.protocol.mipv6.test_floods import HA, WALL, creds, home, home_agent, source

S = BindingAckStatus
CN = IPv6Address("2001:db8:100::10")


def _answers(entity, packet, now):
    entity.receive(packet, "home", now)
    return [a.packet for a in entity.pull_actions() if isinstance(a, Transmit)
            and hasattr(a.packet.payload, "MH_TYPE")]


def test_home_agent_answers_a_home_registration_whatever_the_a_flag():
    # RFC 6275 §10.3.1: the home agent "MUST" return a Binding Acknowledgement for a home
    # registration (the A flag does not matter to it), rejections included.
    agent = home_agent(dad_duration=0.0)
    coa = source(1)
    for sequence in (1, 1):  # accepted, then 135
        bu = BindingUpdate(sequence=sequence, lifetime=600, ack=False, home_registration=True,
                           options=(AlternateCareOfAddress(address=coa),))
        bu = protect_mn_ha(bu, creds(0), timestamp=unix_to_ntp(WALL + sequence + 0.5 * len(
            agent.cache)), care_of_address=coa, home_address=home(0))
        (ba,) = _answers(agent, IPv6Packet(src=coa, dst=HA, payload=bu, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),)),
            1.0 + len(agent.cache))
        assert isinstance(ba.payload, BindingAcknowledgement)
    assert ba.payload.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW


def _cn() -> CorrespondentNode:
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(
        address=CN, accept_unauthenticated=True))
    cn.start(0.0)
    cn.pull_actions()
    return cn


def _bind(cn, *, sequence: int, coa: IPv6Address, at: float):
    bu = BindingUpdate(sequence=sequence, lifetime=100, ack=True)
    packet = IPv6Packet(src=coa, dst=CN, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),))
    cn.receive(packet, "eth0", at)
    return [a.packet.payload for a in cn.pull_actions() if isinstance(a, Transmit)]


def test_correspondent_refuses_a_bu_that_is_not_newer():
    # RFC 6275 §9.5.1: a Sequence Number not greater than the last one accepted -> 135; the
    # binding is unchanged.
    cn = _cn()
    (first,) = _bind(cn, sequence=10, coa=source(1), at=1.0)
    (second,) = _bind(cn, sequence=10, coa=source(2), at=2.0)
    (third,) = _bind(cn, sequence=9, coa=source(2), at=3.0)
    assert first.status == S.ACCEPTED
    assert second.status == third.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert second.sequence == 10
    assert cn.cache.lookup(home(0), 3.0).care_of_address == source(1)


def test_correspondent_checks_the_home_address_option_against_the_binding():
    # RFC 6275 §9.3.1: a packet with a Home Address option is accepted only if a binding
    # exists for that home address with the packet's source as its care-of address;
    # otherwise Binding Error status 1 and no delivery.
    cn = _cn()
    _bind(cn, sequence=1, coa=source(1), at=1.0)

    def data(src):
        return IPv6Packet(src=src, dst=CN, payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"),
                          extension_headers=(DestinationOptions(
                              options=(HomeAddressOption(home_address=home(0)),)),))

    cn.receive(data(source(1)), "eth0", 2.0)
    (delivered,) = [a.packet for a in cn.pull_actions() if isinstance(a, Deliver)]
    assert delivered.src == home(0)
    cn.receive(data(source(2)), "eth0", 3.0)  # another source, same home address
    actions = cn.pull_actions()
    assert not [a for a in actions if isinstance(a, Deliver)]
    (error,) = [a.packet for a in actions if isinstance(a, Transmit)]
    assert isinstance(error.payload, BindingError) and error.dst == source(2)
    assert error.payload.status == BindingErrorStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION


# -- the mobile node (RFC 6275 §11.7.3, §10.4.5) -----------------------------------------------


def _mn_ba(scn, *, status: int, sequence: int) -> bytes:
    """A BA from the home agent, authenticated for the BU the mobile node sent last."""
    from mipshop.protocol.mipv6.signalling import read_mn_ha
    from mipshop.wire.ext_headers import RoutingHeaderType2
    from mipshop.wire.ipv6 import encode_packet
    from tests.protocol.scenario import CREDENTIALS, HA_ADDRESS, HOME_ADDRESS

    bu_packet = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn")
                 if p.dst == HA_ADDRESS][-1]
    coa = bu_packet.src
    stamp = read_mn_ha(bu_packet.payload).timestamp
    ba = protect_mn_ha(BindingAcknowledgement(status=status, sequence=sequence, lifetime=0),
                       CREDENTIALS, timestamp=stamp, care_of_address=coa,
                       home_address=HOME_ADDRESS)
    return encode_packet(IPv6Packet(src=HA_ADDRESS, dst=coa, payload=ba, extension_headers=(
        RoutingHeaderType2(home_address=HOME_ADDRESS),)))


def _scenario_waiting_for_the_ba():
    from tests.protocol.scenario import build

    scn = build()
    scn.net.drop_if(lambda p, r: isinstance(p.payload, BindingAcknowledgement))
    scn.move("visited1", at=1.0)
    scn.run(2.9)
    assert scn.mn.home.entry is not None  # the BU is out, its BA held back
    return scn


def test_mobile_node_ignores_a_ba_with_another_sequence_number():
    # RFC 6275 §11.7.3: a BA whose Sequence Number does not match the BU's is ignored
    # (except status 135, which carries the home agent's number).
    scn = _scenario_waiting_for_the_ba()
    entry = scn.mn.home.entry
    wrong = (entry.sequence + 5) & 0xFFFF
    scn.net.inject(_mn_ba(scn, status=S.ACCEPTED, sequence=wrong), "mn", "wlan0",
                   at=3.0)
    scn.run(3.1)
    assert scn.mn.counters["drop.ba_sequence_mismatch"] == 1
    assert not scn.net.events_of("home.registered", "mn")


def test_mobile_node_resynchronises_its_sequence_number_on_135():
    # §11.7.3: status 135 carries the last number the home agent accepted; the node sends a
    # new BU with a number greater than that.
    scn = _scenario_waiting_for_the_ba()
    their = (scn.mn.home.entry.sequence + 1000) & 0xFFFF
    scn.net.inject(_mn_ba(scn, status=S.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=their),
                   "mn", "wlan0", at=3.0)
    scn.run(3.1)
    from tests.protocol.scenario import HA_ADDRESS

    last = [p.payload.sequence for _r, p in scn.net.packets(BindingUpdate, sender="mn")
            if p.dst == HA_ADDRESS][-1]
    assert last == (their + 1) & 0xFFFF


def test_mobile_node_stops_using_a_home_address_the_home_agent_found_in_use():
    # §11.7.3: after status 134 "the mobile node MUST NOT use" that home address: no BU again.
    from tests.protocol.scenario import HA_ADDRESS

    scn = _scenario_waiting_for_the_ba()
    sequence = scn.mn.home.entry.sequence
    ba = _mn_ba(scn, status=S.DUPLICATE_ADDRESS_DETECTION_FAILED, sequence=sequence)
    scn.net.inject(ba, "mn", "wlan0", at=3.0)
    scn.run(3.1)
    sent = len([1 for _r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == HA_ADDRESS])
    scn.move("visited2", at=5.0)
    scn.run(20)
    assert scn.mn.home.home_address_unusable
    assert len([1 for _r, p in scn.net.packets(BindingUpdate, sender="mn")
                if p.dst == HA_ADDRESS]) == sent


def test_mobile_node_takes_tunnelled_packets_from_its_home_agent_only():
    # RFC 6275 §10.4.5/§11.3.2 (the reverse of the home agent's check): a tunnelled packet to
    # the care-of address is decapsulated only when the home agent sent it.
    from mipshop.wire.ipv6 import encapsulate, encode_packet
    from tests.protocol.scenario import HA_ADDRESS, HOME_ADDRESS, build, care_of

    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    inner = IPv6Packet(src=CN, dst=HOME_ADDRESS,
                       payload=UDPDatagram(src_port=1, dst_port=2, data=b"in"))
    coa = care_of("visited1")
    for at, src in ((6.0, HA_ADDRESS), (7.0, IPv6Address("2001:db8:66::1"))):
        scn.net.inject(encode_packet(encapsulate(inner, src=src, dst=coa)), "mn", "wlan0", at=at)
    scn.run(8)
    delivered = [d for d in scn.net.delivered if d.node == "mn"
                 and isinstance(d.packet.payload, UDPDatagram)]
    assert [d.time for d in delivered] == [6.0]
    assert scn.mn.counters["drop.tunnel_not_from_home_agent"] == 1


# -- more guards mutation testing found unchecked ----------------------------------------------


def _bu(i, *, src, at, sequence=1, creds_=None, lifetime=600, options=None):
    from tests.protocol.mipv6.test_floods import bu_packet

    packet = bu_packet(i, src=src, at=at, sequence=sequence, credentials=creds_,
                       lifetime=lifetime)
    return packet


def test_home_agent_discards_a_bu_for_a_care_of_address_that_is_not_unicast_routable():
    # RFC 6275 §6.1.7: such a BU "MUST be silently discarded" (here a link-local CoA, with a
    # valid home address).
    agent = home_agent(dad_duration=0.0)
    bad = _bu(0, src=IPv6Address("fe80::99"), at=1.0)
    assert _answers(agent, bad, 1.0) == []
    assert agent.counters["drop.not_unicast_routable"] == 1 and len(agent.cache) == 0
    (ba,) = _answers(agent, _bu(0, src=source(1), at=2.0, sequence=2), 2.0)
    assert ba.payload.status == S.ACCEPTED


def test_home_agent_binding_errors_are_limited_per_source_not_overall():
    # Each source gets its own Binding Error within the same second (RFC 6275 §9.3.3 limits
    # the rate per destination; an overall cap is separate).
    from mipshop.wire.mh import UnknownMobilityMessage

    agent = home_agent()
    errors = []
    for i in range(3):
        packet = IPv6Packet(src=source(i), dst=HA,
                            payload=UnknownMobilityMessage(mh_type=200, data=bytes(10)))
        errors += _answers(agent, packet, 1.0 + i * 0.01)
    assert [p.dst for p in errors] == [source(0), source(1), source(2)]


def test_unauthenticated_registration_binds_the_care_of_address_it_names():
    agent = home_agent(accept_unauthenticated=True, dad_duration=0.0)
    bu = BindingUpdate(sequence=1, lifetime=600, ack=True, home_registration=True,
                       options=(AlternateCareOfAddress(address=source(7)),))
    packet = IPv6Packet(src=source(8), dst=HA, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),))
    (ba,) = _answers(agent, packet, 1.0)
    assert ba.payload.status == S.ACCEPTED
    assert agent.cache.lookup(home(0), 1.0).care_of_address == source(7)


def test_reverse_tunnelled_packets_are_forwarded_with_one_hop_less():
    # RFC 8200 §3 / RFC 2473 §3: the decapsulated packet is forwarded, its Hop Limit
    # decremented by one; a packet whose Hop Limit would reach 0 is dropped.
    from mipshop.wire.ipv6 import encapsulate

    agent = home_agent(dad_duration=0.0)
    _answers(agent, _bu(0, src=source(1), at=1.0), 1.0)
    sent = []
    for at, hops in ((2.0, 2), (3.0, 1)):
        inner = IPv6Packet(src=home(0), dst=CN, hop_limit=hops,
                           payload=UDPDatagram(src_port=1, dst_port=2, data=b"up"))
        agent.receive(encapsulate(inner, src=source(1), dst=HA), "home", at)
        sent += [a.packet for a in agent.pull_actions() if isinstance(a, Transmit)
                 and isinstance(a.packet.payload, UDPDatagram)]
    assert [(p.dst, p.hop_limit) for p in sent] == [(CN, 1)]
    assert agent.counters["drop.hop_limit"] == 1


def test_correspondent_enforces_its_binding_limit():
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(
        address=CN, accept_unauthenticated=True, max_bindings=1))
    cn.start(0.0)
    cn.pull_actions()
    answers = []
    for i in range(2):
        bu = BindingUpdate(sequence=1, lifetime=100, ack=True)
        cn.receive(IPv6Packet(src=source(i), dst=CN, payload=bu, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=home(i)),)),)),
            "eth0", 1.0 + i)
        answers += [a.packet.payload.status for a in cn.pull_actions()
                    if isinstance(a, Transmit)]
    assert answers == [S.ACCEPTED, S.INSUFFICIENT_RESOURCES]
    assert len(cn.cache) == 1


def test_correspondent_binding_errors_are_limited_per_source_not_overall():
    cn = _cn()
    errors = []
    for i in range(3):
        cn.receive(IPv6Packet(src=source(i), dst=CN, payload=None, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=home(i)),)),)),
            "eth0", 1.0 + i * 0.01)
        errors += [a.packet.dst for a in cn.pull_actions() if isinstance(a, Transmit)]
    assert errors == [source(0), source(1), source(2)]


def test_correspondent_drops_authorization_data_without_nonce_indices():
    # RFC 6275 §9.5.1: both options are needed; either alone is silently discarded.
    from mipshop.wire.mh_options import BindingAuthorizationData

    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(address=CN))
    bu = BindingUpdate(sequence=1, lifetime=100, ack=True, options=(
        BindingAuthorizationData(authenticator=bytes(12)),))
    cn.receive(IPv6Packet(src=source(1), dst=CN, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),)), "eth0", 1.0)
    assert not [a for a in cn.pull_actions() if isinstance(a, Transmit)]
    assert cn.counters["auth.unauthenticated"] == 1 and len(cn.cache) == 0


def test_unauthenticated_correspondent_binding_deleted_leaves_nothing_behind():
    # Without nonces nothing can replay it: no inactive entry (and no crash).
    cn = _cn()
    _bind(cn, sequence=1, coa=source(1), at=1.0)
    bu = BindingUpdate(sequence=2, lifetime=0, ack=True)
    cn.receive(IPv6Packet(src=source(1), dst=CN, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),)), "eth0", 2.0)
    (ba,) = [a.packet.payload for a in cn.pull_actions() if isinstance(a, Transmit)]
    assert ba.status == S.ACCEPTED and len(cn.cache) == 0 and cn.retired == {}


def test_verifiers_refuse_a_message_without_their_option_or_with_another_spi():
    import dataclasses as dc

    from mipshop.protocol.mipv6.signalling import (
        sign_binding_authorization,
        verify_binding_authorization,
        verify_mn_ha,
    )

    bu = BindingUpdate(sequence=1, lifetime=600, home_registration=True)
    assert not verify_mn_ha(bu, creds(0), care_of_address=source(1), home_address=home(0))
    signed = protect_mn_ha(bu, creds(0), timestamp=5, care_of_address=source(1),
                           home_address=home(0))
    assert verify_mn_ha(signed, creds(0), care_of_address=source(1), home_address=home(0))
    other_spi = dc.replace(creds(0), security_association=dc.replace(
        creds(0).security_association, spi=4321))
    assert not verify_mn_ha(signed, other_spi, care_of_address=source(1),
                            home_address=home(0))
    kbm = bytes(range(20))
    assert not verify_binding_authorization(bu, kbm, care_of_address=source(1),
                                            correspondent=CN)
    bare = BindingUpdate(sequence=1, lifetime=4)
    assert not verify_binding_authorization(bare, kbm, care_of_address=source(1),
                                            correspondent=CN)
    ok = sign_binding_authorization(bare, kbm, care_of_address=source(1), correspondent=CN)
    assert verify_binding_authorization(ok, kbm, care_of_address=source(1), correspondent=CN)


def test_mobile_node_treats_status_128_as_a_rejection():
    # RFC 6275 §6.1.8: values of 128 and above are rejections (128: reason unspecified).
    scn = _scenario_waiting_for_the_ba()
    sequence = scn.mn.home.entry.sequence
    scn.net.inject(_mn_ba(scn, status=128, sequence=sequence), "mn", "wlan0", at=3.0)
    scn.run(3.1)
    (rejected,) = scn.net.events_of("home.rejected", "mn")
    assert rejected.fields["status"] == 128
    assert not scn.net.events_of("home.registered", "mn")


def test_mobile_node_stops_retransmitting_once_the_ba_arrives():
    from tests.protocol.scenario import HA_ADDRESS, build

    scn = build(mn={"home_binding_lifetime": 600.0})
    scn.move("visited1", at=1.0)
    scn.run(60)
    bus = [r.time for r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == HA_ADDRESS]
    assert len(bus) == 1 and scn.net.events_of("home.registered", "mn")


def test_mobile_node_ignores_a_late_ba_for_an_earlier_transmission():
    # RFC 4285 §6: the BA must echo the timestamp of the BU just sent; one echoing an earlier
    # transmission's is discarded.
    from mipshop.protocol.mipv6.signalling import read_mn_ha
    from mipshop.wire.ext_headers import RoutingHeaderType2
    from mipshop.wire.ipv6 import encode_packet
    from tests.protocol.scenario import CREDENTIALS, HA_ADDRESS, HOME_ADDRESS

    scn = _scenario_waiting_for_the_ba()
    scn.run(6.0)  # the BU is retransmitted (a new timestamp)
    sent = [p for _r, p in scn.net.packets(BindingUpdate, sender="mn") if p.dst == HA_ADDRESS]
    assert len(sent) >= 2
    first = sent[0]
    # Authentic, for the sequence number awaited now, but echoing the first BU's timestamp.
    ba = protect_mn_ha(BindingAcknowledgement(status=0, sequence=sent[-1].payload.sequence,
                                              lifetime=600), CREDENTIALS,
                       timestamp=read_mn_ha(first.payload).timestamp,
                       care_of_address=sent[-1].src, home_address=HOME_ADDRESS)
    scn.net.inject(encode_packet(IPv6Packet(src=HA_ADDRESS, dst=sent[-1].src, payload=ba,
                                            extension_headers=(RoutingHeaderType2(
                                                home_address=HOME_ADDRESS),))),
                   "mn", "wlan0", at=6.1)
    scn.run(6.2)
    assert scn.mn.counters["auth.ba_replay"] == 1
    assert not scn.net.events_of("home.registered", "mn")


#: (the home prefix's valid lifetime, the lifetime the BU asks, the lifetime granted)
PREFIX_LIFETIMES = [(300, 600, 300), (3_000, 600, 600), (86_400, 7_200, 3_600)]


@pytest.mark.parametrize(("valid", "asked", "granted"), PREFIX_LIFETIMES)
def test_home_agent_grants_no_longer_than_the_home_prefix_is_valid(valid, asked, granted):
    # RFC 6275 §10.3.1: the Binding Cache entry's lifetime "MUST NOT be greater than the
    # remaining valid lifetime for the subnet prefix in the mobile node's home address"
    # (and here never beyond max_binding_lifetime, 3,600 s).
    from mipshop.protocol.base.config import RouterConfig
    from mipshop.protocol.mipv6.config import HomeAgentConfig
    from mipshop.protocol.mipv6.home_agent import HomeAgent
    from tests.protocol.mipv6.test_floods import PREFIX

    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX, valid_lifetime=valid,
                            preferred_lifetime=min(valid, 14_400)),
        credentials=(creds(0),), wall_clock_offset=WALL, dad_duration=0.0))
    agent.start(0.0)
    agent.pull_actions()
    (ba,) = _answers(agent, _bu(0, src=source(1), at=1.0, lifetime=asked), 1.0)
    assert ba.payload.status in (S.ACCEPTED, S.ACCEPTED_PREFIX_DISCOVERY_NECESSARY)
    assert ba.payload.lifetime == granted
    assert agent.cache.lookup(home(0), 1.0).lifetime == granted


def test_home_agent_limits_registrations_per_mobile_node_not_overall():
    # The registration rate (registration_rate BUs a second) is per mobile node, so that one
    # node cannot monopolise the agent (RFC 6275 §11.8: the node retransmits): a burst of
    # another node's BUs must not starve the others, and the limit does hold for that node.
    agent = home_agent(n_credentials=8, dad_duration=0.0)
    rate = agent.agent_config.registration_rate
    answered = [[ba.payload.status for ba in _answers(
        agent, _bu(0, src=source(1), at=1.0 + s / 100, sequence=s, creds_=creds(0)),
        1.0 + s / 100)] for s in range(1, rate + 3)]
    assert answered == [[S.ACCEPTED]] * rate + [[], []]
    others = [[ba.payload.status for ba in _answers(
        agent, _bu(i, src=source(i + 1), at=1.1 + i / 100, creds_=creds(i)), 1.1 + i / 100)]
        for i in range(1, 8)]
    assert others == [[S.ACCEPTED]] * 7
    assert agent.counters["drop.registration_rate"] == 2


def _ra(src: IPv6Address, hop_limit: int) -> bytes:
    """An RA of another router for a prefix the node has never seen."""
    from mipshop.wire.icmpv6 import RouterAdvertisement
    from mipshop.wire.ipv6 import encode_packet
    from mipshop.wire.nd_options import PrefixInformation

    prefix = IPv6Address("2001:db8:77::")
    return encode_packet(IPv6Packet(
        src=src, dst=IPv6Address("ff02::1"), hop_limit=hop_limit,
        payload=RouterAdvertisement(router_lifetime=1800, options=(PrefixInformation(
            prefix_length=64, on_link=True, autonomous=True, valid_lifetime=86_400,
            preferred_lifetime=14_400, prefix=prefix),))))


INVALID_RAS = [("hop limit below 255", IPv6Address("fe80::77"), 64),
               ("global source", IPv6Address("2001:db8:77::1"), 255)]


@pytest.mark.parametrize(("src", "hop_limit"), [c[1:] for c in INVALID_RAS],
                         ids=[c[0] for c in INVALID_RAS])
def test_mobile_node_takes_no_movement_hint_from_an_invalid_router_advertisement(src, hop_limit):
    # RFC 4861 §6.1.2: an RA whose Hop Limit is not 255 or whose source is not link-local
    # MUST be silently discarded: not only for addresses, also for movement detection
    # (RFC 6275 §11.5.1) and the mobility clients (an FMIPv6 NAACK rides in an RA), or a
    # host off the link could make the node probe its router or leave it.
    from tests.protocol.scenario import build, care_of

    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    router = scn.mn.default_router
    scn.net.inject(_ra(src, hop_limit), "mn", "wlan0", at=6.0)
    scn.run(12)
    assert scn.mn.counters["drop.invalid_ra"] == 1
    assert not scn.net.events_of("movement.ra_deferred", "mn")
    assert scn.mn.default_router == router and scn.mn.care_of_address == care_of("visited1")
