"""Home agent guards the mutation run found unchecked by the protocol tests, one test each.

Each test fails when its guard is removed or inverted (docs/mutation.md lists the mutants
these tests kill): the Home Address option backed by a binding (RFC 6275 §9.3.1), Parameter
Problem for a bad Mobility Header (§9.2, RFC 4443 §2.2, §2.4), Duplicate Address Detection
by Neighbor Advertisement (§10.3.1, RFC 4861 §7.1.2), the sequence number kept by a
retransmitted de-registration (§10.3.2), tunnelling with one hop less and never Neighbor
Discovery (§10.4.1, RFC 2473 §3), reverse-tunnelled packets for the agent or another mobile
node (§10.4.5), and the link-local destination rule with the RFC 4443 §2.4 (e) exceptions
(§10.4.2).
"""

from __future__ import annotations

import random
import struct
from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import ForgetBinding, PersistBinding, Transmit
from mipshop.protocol.base.addressing import solicited_node_address
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.icmp_errors import ICMP_ERROR_RATE
from mipshop.protocol.mipv6.binding_agent import MAX_DELETE_BCE_TIMEOUT
from mipshop.protocol.mipv6.signalling import read_mn_ha
from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption, RoutingHeaderType2
from mipshop.wire.icmpv6 import (
    DestinationUnreachable,
    EchoReply,
    EchoRequest,
    HomeAgentAddressDiscoveryRequest,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    ParameterProblem,
    RouterAdvertisement,
    UnknownICMPv6,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encapsulate
from mipshop.wire.mh import BindingAckStatus, BindingError, BindingErrorStatus, BindingUpdate
from mipshop.wire.mh_options import AlternateCareOfAddress, BindingRefreshAdvice
from mipshop.wire.nd_options import (
    HomeAgentInformation,
    PrefixInformation,
    TargetLinkLayerAddress,
)
from tests.protocol.mipv6.test_floods import HA, PREFIX, bu_packet, home, home_agent, source

S = BindingAckStatus
CN = IPv6Address("2001:db8:100::10")
HA_LINK_LOCAL = IPv6Address("fe80::1")


def _sent(agent, packet, now, interface="home"):
    agent.receive(packet, interface, now)
    return [a.packet for a in agent.pull_actions() if isinstance(a, Transmit)]


def _registered(n: int = 1, **options):
    agent = home_agent(n_credentials=n, dad_duration=0.0, **options)
    for i in range(n):
        _sent(agent, bu_packet(i, src=source(i), at=1.0), 1.0)
    assert len(agent.cache) == n
    return agent


def _mobility(packets):
    return [p for p in packets if hasattr(p.payload, "MH_TYPE")]


# -- §9.3.1: a Home Address option needs a binding with the packet's source as care-of address


def _echo_with_hao(src: IPv6Address) -> IPv6Packet:
    return IPv6Packet(src=src, dst=HA, payload=EchoRequest(identifier=7, sequence=1, data=b"p"),
                      extension_headers=(DestinationOptions(
                          options=(HomeAddressOption(home_address=home(0)),)),))


def test_home_address_option_from_the_bound_care_of_address_is_answered_through_it():
    agent = _registered()
    (reply,) = _sent(agent, _echo_with_hao(source(0)), 2.0)
    assert reply.payload == EchoReply(identifier=7, sequence=1, data=b"p")
    assert (reply.src, reply.dst) == (HA, source(0))
    assert reply.extension_headers == (RoutingHeaderType2(home_address=home(0)),)
    # Without the option: an ordinary Echo Reply (RFC 4443 §4.2).
    plain = IPv6Packet(src=CN, dst=HA, payload=EchoRequest(identifier=3, sequence=4, data=b"q"))
    (reply,) = _sent(agent, plain, 2.1)
    assert (reply.src, reply.dst, reply.extension_headers) == (HA, CN, ())
    assert reply.payload == EchoReply(identifier=3, sequence=4, data=b"q")


@pytest.mark.parametrize("src", [source(5), IPv6Address("ff0e::5")])
def test_home_address_option_from_another_source_gets_binding_error_1(src):
    agent = _registered()
    answers = _sent(agent, _echo_with_hao(src), 2.0)
    assert not [p for p in answers if isinstance(p.payload, EchoReply)]
    assert agent.counters["drop.hao_without_binding"] == 1
    if src.is_multicast:
        assert answers == []  # RFC 4443 §2.4 (e) applies to Binding Errors as well
        return
    (error,) = answers
    assert (error.src, error.dst) == (HA, src)
    assert error.payload == BindingError(
        status=BindingErrorStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION, home_address=home(0))


# -- §9.2: a bad Mobility Header gets an ICMP Parameter Problem --------------------------------


def _raw_bad_mh(*, src: IPv6Address, dst: IPv6Address, payload_proto: int = 6) -> bytes:
    """IPv6 header + a Binding Refresh Request with a wrong Payload Proto (RFC 6275 §6.1.1)."""
    mh = bytearray(struct.pack("!BBBBHH", payload_proto, 0, 0, 0, 0, 0))
    mh[4:6] = upper_layer_checksum(src, dst, 135, bytes(mh)).to_bytes(2, "big")
    return struct.pack("!IHBB", 6 << 28, len(mh), 135, 64) + src.packed + dst.packed + bytes(mh)


def _anycast() -> IPv6Address:
    # RFC 2526: the Home-Agents anycast address of the home prefix (interface id ...fdff:...fe).
    return IPv6Address(int(PREFIX.network_address) | 0xFDFF_FFFF_FFFF_FFFE)


@pytest.mark.parametrize(("dst", "answered_from"), [
    (HA, HA),
    (HA_LINK_LOCAL, HA_LINK_LOCAL),
    ("anycast", HA),  # RFC 4443 §2.2: from a unicast address of ours
    (IPv6Address("2001:db8:1::77"), None),  # not ours (nor bound): not the agent's to answer
])
def test_bad_mobility_header_gets_a_parameter_problem_from_a_unicast_address(dst, answered_from):
    agent = home_agent()
    assert agent.anycast == _anycast()
    dst = agent.anycast if dst == "anycast" else dst
    answers = _sent(agent, _raw_bad_mh(src=source(1), dst=dst), 1.0)
    if answered_from is None:
        assert answers == []
        return
    (problem,) = answers
    assert isinstance(problem.payload, ParameterProblem)
    assert (problem.src, problem.dst, problem.payload.pointer) == (answered_from, source(1), 40)


def test_parameter_problems_are_rate_limited():
    # RFC 4443 §2.4 (f): at most ICMP_ERROR_RATE errors a second.
    agent = home_agent()
    sent = []
    for i in range(ICMP_ERROR_RATE + 3):
        sent += _sent(agent, _raw_bad_mh(src=source(i), dst=HA), 1.0 + i * 0.01)
    assert len(sent) == ICMP_ERROR_RATE
    assert agent.counters["icmp.error_rate_limited"] == 3
    assert _sent(agent, _raw_bad_mh(src=source(99), dst=HA), 2.5) != []


# -- §10.3.1: DAD by Neighbor Advertisement -----------------------------------------------------


def _na(target: IPv6Address, hop_limit: int = 255) -> IPv6Packet:
    return IPv6Packet(src=IPv6Address("fe80::99"), dst=IPv6Address("ff02::1"),
                      hop_limit=hop_limit, payload=NeighborAdvertisement(target=target,
                                                                         override=True))


def _waiting_for_dad():
    agent = home_agent(dad_duration=1.0)
    sent = _sent(agent, bu_packet(0, src=source(0), at=1.0), 1.0)
    (probe,) = [p for p in sent if isinstance(p.payload, NeighborSolicitation)]
    assert probe.payload.target == home(0) and probe.src == IPv6Address("::")
    assert _mobility(sent) == []
    return agent


def test_a_neighbor_advertisement_for_the_probed_home_address_ends_with_134():
    agent = _waiting_for_dad()
    (ba,) = _mobility(_sent(agent, _na(home(0)), 1.5))
    assert ba.payload.status == S.DUPLICATE_ADDRESS_DETECTION_FAILED
    assert len(agent.cache) == 0


@pytest.mark.parametrize("na", [
    _na(home(0), hop_limit=64),  # RFC 4861 §7.1.2: hop limit not 255, not from the link
    _na(home(1)),  # another address
])
def test_other_neighbor_advertisements_do_not_end_the_dad(na):
    agent = _waiting_for_dad()
    assert _mobility(_sent(agent, na, 1.5)) == []
    agent.handle_timer(2.1)
    (ba,) = [a.packet for a in agent.pull_actions() if isinstance(a, Transmit)
             and hasattr(a.packet.payload, "MH_TYPE")]
    assert ba.payload.status == S.ACCEPTED


def test_a_newer_bu_superseding_one_waiting_for_dad_keeps_the_probe_listening():
    # The retransmission takes over the waiting registration; the DAD it inherits must still
    # notice a Neighbor Advertisement for the address (§10.3.1: 134).
    agent = _waiting_for_dad()
    assert _mobility(_sent(agent, bu_packet(0, src=source(0), at=1.2, sequence=2), 1.2)) == []
    (ba,) = _mobility(_sent(agent, _na(home(0)), 1.5))
    assert (ba.payload.status, ba.payload.sequence) == (
        S.DUPLICATE_ADDRESS_DETECTION_FAILED, 2)
    assert len(agent.cache) == 0


def _solicit(i: int) -> IPv6Packet:
    return IPv6Packet(src=source(i), dst=HA, payload=MobilePrefixSolicitation(identifier=i),
                      extension_headers=(DestinationOptions(
                          options=(HomeAddressOption(home_address=home(i)),)),))


def test_mobile_prefix_solicitations_are_limited_per_mobile_node():
    # §10.6.2-§10.6.3: each registered node's solicitation is answered (one a second per
    # node); another node's solicitation in the same second is not held back.
    agent = _registered(2)
    answers = []
    for at, i in ((2.0, 0), (2.1, 1), (2.2, 0)):
        answers += [(p.dst, p.extension_headers) for p in _sent(agent, _solicit(i), at)
                    if isinstance(p.payload, MobilePrefixAdvertisement)]
    assert answers == [(source(i), (RoutingHeaderType2(home_address=home(i)),)) for i in (0, 1)]
    assert agent.counters["drop.mobile_prefix_rate"] == 1


# -- §10.3.2: a retransmitted de-registration keeps its (newer) sequence number ---------------


def test_a_retransmitted_deregistration_raises_the_kept_sequence_number():
    agent = _registered()
    for at, sequence in ((2.0, 2), (3.0, 5)):  # de-registration, then a retransmitted newer one
        agent.receive(bu_packet(0, src=source(0), at=at, sequence=sequence, lifetime=0),
                      "home", at)
        actions = agent.pull_actions()
        (ba,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
                 and hasattr(a.packet.payload, "MH_TYPE")]
        assert (ba.status, ba.sequence) == (S.ACCEPTED, sequence)
        (stored,) = [a.binding for a in actions if isinstance(a, PersistBinding)]
        assert (stored.deregistered, stored.sequence) == (True, sequence)
    assert len(agent.cache) == 0
    # A delayed BU numbered below the retransmission cannot recreate the binding (135).
    (ba,) = _mobility(_sent(agent, bu_packet(0, src=source(3), at=4.0, sequence=4), 4.0))
    assert ba.payload.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert ba.payload.sequence == 5
    assert len(agent.cache) == 0 and MAX_DELETE_BCE_TIMEOUT > 2.0


# -- §10.4.1, §10.4.5: tunnels ------------------------------------------------------------------


def _udp(src, dst, hops=64, size=1):
    return IPv6Packet(src=src, dst=dst, hop_limit=hops,
                      payload=UDPDatagram(src_port=1, dst_port=2, data=bytes(size)))


def test_intercepted_packets_are_tunnelled_with_one_hop_less_and_dropped_at_one():
    agent = _registered()
    (outer,) = _sent(agent, _udp(CN, home(0), hops=2), 2.0)
    assert (outer.src, outer.dst) == (HA, source(0))
    assert outer.payload == _udp(CN, home(0), hops=1)
    assert _sent(agent, _udp(CN, home(0), hops=1), 2.1) == []
    assert agent.counters["drop.hop_limit"] == 1


@pytest.mark.parametrize(("icmp_type", "tunnelled"), [
    (137, False),  # a Redirect (RFC 4861 §4.5): Neighbor Discovery stays on the home link
    (133, False),
    (132, True),  # the types either side of Neighbor Discovery's 133-137
    (138, True),
])
def test_neighbor_discovery_for_a_home_address_is_never_tunnelled(icmp_type, tunnelled):
    agent = _registered()
    message = UnknownICMPv6(icmp_type=icmp_type, code=0, body=bytes(4))
    packet = IPv6Packet(src=IPv6Address("fe80::99"), dst=home(0), hop_limit=255,
                        payload=message)
    sent = [p for p in _sent(agent, packet, 2.0) if p.dst == source(0)]
    assert len(sent) == int(tunnelled)
    assert agent.counters["drop.nd_not_tunnelled"] == int(not tunnelled)


def test_reverse_tunnelled_packets_for_another_mobile_node_go_through_its_tunnel():
    agent = _registered(2)
    inner = _udp(home(0), home(1), hops=10)
    (outer,) = _sent(agent, encapsulate(inner, src=source(0), dst=HA), 2.0)
    assert (outer.src, outer.dst) == (HA, source(1))
    assert outer.payload == _udp(home(0), home(1), hops=9)


def test_reverse_tunnelled_packets_for_the_agent_are_its_own():
    agent = _registered()
    inner = IPv6Packet(src=home(0), dst=HA, payload=EchoRequest(identifier=1, sequence=2))
    (reply,) = _sent(agent, encapsulate(inner, src=source(0), dst=HA), 2.0)
    assert isinstance(reply.payload, EchoReply) and reply.dst == home(0)


# -- §10.4.2: a mobile node's link-local address ------------------------------------------------


def _link_local_of(i: int) -> IPv6Address:
    return IPv6Address(int(IPv6Address("fe80::")) | (int(home(i)) & (2**64 - 1)))


@pytest.mark.parametrize(("src", "answered_from"), [
    (CN, HA),
    (IPv6Address("fe80::99"), HA_LINK_LOCAL),  # RFC 4443 §2.2: same scope as the source
])
def test_a_packet_for_a_mobile_nodes_link_local_address_gets_destination_unreachable(
        src, answered_from):
    agent = _registered()
    packet = _udp(src, _link_local_of(0), size=1400)
    (error,) = _sent(agent, packet, 2.0)
    assert (error.src, error.dst) == (answered_from, src)
    assert isinstance(error.payload, DestinationUnreachable) and error.payload.code == 3
    # RFC 4443 §2.4 (c): as much of the invoking packet as fits in the minimum MTU.
    assert len(error.payload.invoking_packet) == 1280 - 48


@pytest.mark.parametrize("packet", [
    _udp(IPv6Address("ff0e::1"), _link_local_of(0)),  # a multicast source
    _udp(IPv6Address("::"), _link_local_of(0)),  # the unspecified source
    IPv6Packet(src=CN, dst=_link_local_of(0),  # an ICMPv6 error message
               payload=DestinationUnreachable(code=1, invoking_packet=bytes(40))),
])
def test_no_destination_unreachable_to_multicast_sources_or_about_errors(packet):
    # RFC 4443 §2.4 (e): no ICMPv6 error in answer to an error message or to a packet from
    # a multicast (or unspecified) source; the packet is still not tunnelled.
    agent = _registered()
    assert _sent(agent, packet, 2.0) == []
    assert agent.counters["drop.link_local_for_mobile"] == 1


def test_destination_unreachable_is_rate_limited():
    agent = _registered()
    sent = []
    for i in range(ICMP_ERROR_RATE + 2):
        sent += _sent(agent, _udp(source(10 + i), _link_local_of(0)), 2.0 + i * 0.01)
    assert len(sent) == ICMP_ERROR_RATE
    assert agent.counters["icmp.error_rate_limited"] == 2


# -- §10.4.1, RFC 4861 §7.2.4: Neighbor Solicitations for the addresses the agent defends -----


NEIGHBOR = IPv6Address("fe80::99")


def _ns(target, *, src=NEIGHBOR, dst=None, hop_limit=255):
    return IPv6Packet(src=src, dst=solicited_node_address(target) if dst is None else dst,
                      hop_limit=hop_limit, payload=NeighborSolicitation(target=target))


@pytest.mark.parametrize(("case", "packet", "answer"), [
    # (destination, R, S) of the Neighbor Advertisement, or None for no answer.
    ("proxy", _ns(home(0)), (NEIGHBOR, False, True)),
    ("someone's DAD", _ns(home(0), src=IPv6Address("::")), (IPv6Address("ff02::1"), False,
                                                             False)),
    ("anycast", _ns(_anycast()), (NEIGHBOR, True, True)),
    ("hop limit", _ns(home(0), hop_limit=64), None),  # RFC 4861 §7.1.1
    ("multicast target", _ns(IPv6Address("ff02::1")), None),
    ("DAD not to the solicited-node group", _ns(home(0), src=IPv6Address("::"),
                                                dst=IPv6Address("ff02::1")), None),
    ("unbound address", _ns(home(1)), None),
])
def test_neighbor_solicitations_for_defended_addresses(case, packet, answer):
    agent = _registered()
    sent = [p for p in _sent(agent, packet, 2.0) if isinstance(p.payload, NeighborAdvertisement)]
    if answer is None:
        assert sent == [], case
        return
    (na,) = sent
    destination, router, solicited = answer
    assert (na.src, na.dst, na.hop_limit) == (HA_LINK_LOCAL, destination, 255), case
    assert (na.payload.router, na.payload.solicited, na.payload.override) == (
        router, solicited, False), case
    assert na.payload.target == packet.payload.target
    assert na.payload.options == (TargetLinkLayerAddress(address=agent.link_layer_address),)


def test_another_nodes_dad_for_the_probed_home_address_ends_with_134():
    # RFC 4862 §5.4.3: a DAD Neighbor Solicitation for the tentative address from another node.
    agent = _waiting_for_dad()
    (ba,) = _mobility(_sent(agent, _ns(home(0), src=IPv6Address("::")), 1.5))
    assert ba.payload.status == S.DUPLICATE_ADDRESS_DETECTION_FAILED
    # A solicitation from an address (address resolution, not DAD) is no conflict.
    agent = _waiting_for_dad()
    assert _mobility(_sent(agent, _ns(home(0)), 1.5)) == []


# -- §10.5.1: the Home Agents List from the other home agents' Router Advertisements -----------


OTHER_HA = IPv6Address("2001:db8:1::2")
OTHER_HA_LINK_LOCAL = IPv6Address("fe80::2")


def _ra(*, src=OTHER_HA_LINK_LOCAL, hop_limit=255, home_agent=True, info=(20, 100),
        router_lifetime=1800):
    options = [PrefixInformation(prefix_length=64, router_address=True, prefix=OTHER_HA)]
    if info is not None:
        options.append(HomeAgentInformation(preference=info[0], lifetime=info[1]))
    return IPv6Packet(src=src, dst=IPv6Address("ff02::1"), hop_limit=hop_limit,
                      payload=RouterAdvertisement(home_agent=home_agent,
                                                  router_lifetime=router_lifetime,
                                                  options=tuple(options)))


def _dhaad(agent, at):
    request = IPv6Packet(src=source(3), dst=agent.anycast,
                         payload=HomeAgentAddressDiscoveryRequest(identifier=9))
    (reply,) = _sent(agent, request, at)
    assert (reply.src, reply.dst, reply.payload.identifier) == (HA, source(3), 9)
    return list(reply.payload.home_agents)


@pytest.mark.parametrize(("case", "ras", "listed"), [
    ("preferred other", [_ra()], [OTHER_HA, HA]),
    ("less preferred other", [_ra(info=(5, 100))], [HA, OTHER_HA]),
    ("no information option: preference 0", [_ra(info=None)], [HA, OTHER_HA]),
    ("hop limit", [_ra(hop_limit=64)], [HA]),  # RFC 4861 §6.1.2
    ("global source", [_ra(src=OTHER_HA)], [HA]),
    ("not a home agent", [_ra(home_agent=False)], [HA]),
    ("withdrawn by H = 0", [_ra(), _ra(home_agent=False)], [HA]),
    ("withdrawn by lifetime 0", [_ra(), _ra(info=(20, 0))], [HA]),
])
def test_home_agents_list_from_router_advertisements(case, ras, listed):
    agent = _registered(preference=10)
    for k, ra in enumerate(ras):
        _sent(agent, ra, 2.0 + k * 0.1)
    assert _dhaad(agent, 3.0) == listed, case


def test_a_home_agent_entry_expires_with_its_lifetime():
    # The Home Agent Information option's lifetime, or else the Router Lifetime.
    for ra in (_ra(info=(20, 5)), _ra(info=None, router_lifetime=5)):
        agent = _registered(preference=10)
        _sent(agent, ra, 2.0)
        assert OTHER_HA in _dhaad(agent, 6.0)
        assert _dhaad(agent, 7.5) == [HA]


def test_binding_errors_for_unbacked_home_address_options_are_rate_limited():
    # §9.3.3: "rate limited like ICMP errors" (one budget with them, RFC 4443 §2.4 (f)).
    agent = _registered()
    sent = []
    for i in range(ICMP_ERROR_RATE + 2):
        sent += _sent(agent, _echo_with_hao(source(10 + i)), 2.0 + i * 0.01)
    assert len(sent) == ICMP_ERROR_RATE
    assert all(isinstance(p.payload, BindingError) for p in sent)


def test_the_link_local_address_of_an_l_bit_binding_is_defended():
    # §10.4.1: with L = 1 the home agent also defends the link-local address with the home
    # address's interface identifier (a proxy answer: R = 0); with L = 0 it does not.
    from mipshop.protocol.mipv6.mn_ha_auth import unix_to_ntp
    from mipshop.protocol.mipv6.signalling import protect_mn_ha
    from mipshop.wire.mh import BindingUpdate
    from mipshop.wire.mh_options import AlternateCareOfAddress
    from tests.protocol.mipv6.test_floods import WALL, creds

    for l_bit in (True, False):
        agent = home_agent(dad_duration=0.0)
        bu = BindingUpdate(sequence=1, lifetime=600, ack=True, home_registration=True,
                           link_local_compat=l_bit,
                           options=(AlternateCareOfAddress(address=source(0)),))
        bu = protect_mn_ha(bu, creds(0), timestamp=unix_to_ntp(WALL + 1.0),
                           care_of_address=source(0), home_address=home(0))
        _sent(agent, IPv6Packet(src=source(0), dst=HA, payload=bu, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),)), 1.0)
        sent = [p for p in _sent(agent, _ns(_link_local_of(0)), 2.0)
                if isinstance(p.payload, NeighborAdvertisement)]
        if not l_bit:
            assert sent == []
            continue
        (na,) = sent
        assert (na.dst, na.payload.target) == (NEIGHBOR, _link_local_of(0))
        assert (na.payload.router, na.payload.solicited, na.payload.override) == (
            False, True, False)


def test_a_router_advertisement_without_home_agent_information_has_preference_0():
    # §10.5.1: preference 0 without the option: always after an agent of preference 1.
    agent = _registered(preference=1)
    _sent(agent, _ra(info=None), 2.0)
    assert [_dhaad(agent, 3.0 + k * 0.1) for k in range(8)] == [[HA, OTHER_HA]] * 8


def test_each_home_agent_on_the_link_has_its_own_entry():
    # §10.5.1: the list is keyed by each home agent's link-local address.
    third = IPv6Address("2001:db8:1::3")
    agent = _registered(preference=10)
    _sent(agent, _ra(info=(30, 100)), 2.0)
    ra = _ra(src=IPv6Address("fe80::3"), info=(20, 100))
    ra = replace(ra, payload=replace(ra.payload, options=(
        PrefixInformation(prefix_length=64, router_address=True, prefix=third),
        HomeAgentInformation(preference=20, lifetime=100))))
    _sent(agent, ra, 2.1)
    assert _dhaad(agent, 3.0) == [OTHER_HA, third, HA]


def test_bus_without_authentication_or_with_an_unknown_spi_are_dropped_and_counted():
    # RFC 4285 §5.1.1, RFC 6275 §10.3.1: a BU the home agent cannot authenticate is discarded
    # (no answer: nothing proves who asked); the refusal is counted by reason.
    from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
    from mipshop.wire.mh import BindingUpdate
    from mipshop.wire.mh_options import AlternateCareOfAddress
    from tests.protocol.mipv6.test_floods import creds

    agent = home_agent(dad_duration=0.0)
    bare = BindingUpdate(sequence=1, lifetime=600, ack=True, home_registration=True,
                         options=(AlternateCareOfAddress(address=source(0)),))
    packet = IPv6Packet(src=source(0), dst=HA, payload=bare, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),))
    assert _mobility(_sent(agent, packet, 1.0)) == []
    assert agent.counters["auth.unauthenticated"] == 1
    stranger = replace(creds(0), security_association=SecurityAssociation(spi=9999,
                                                                          key=bytes(16)))
    assert _mobility(_sent(agent, bu_packet(0, src=source(0), at=2.0,
                                            credentials=stranger), 2.0)) == []
    assert agent.counters["auth.unknown_spi"] == 1
    assert len(agent.cache) == 0


def test_an_authenticated_bu_without_a_timestamp_gets_145():
    # RFC 4285 §6: a BU with the MN-HA authentication option but no Replay Protection option
    # is refused with MIPV6-MESG-ID-REQD, and no binding is made.
    from mipshop.protocol.base.constants import MN_HA_AUTHENTICATOR_LENGTH
    from mipshop.wire.mh import (
        BindingUpdate,
        encode_mh,
        mh_authenticator_input,
        sign_last_option,
        with_options,
    )
    from mipshop.wire.mh_options import (
        AlternateCareOfAddress,
        MobileNodeIdentifier,
        MobilityMessageAuthentication,
        MobilityMessageAuthenticationSubtype,
        with_authenticator,
    )
    from tests.protocol.mipv6.test_floods import creds

    agent = home_agent(dad_duration=0.0)
    sa = creds(0).security_association
    placeholder = MobilityMessageAuthentication(
        subtype=MobilityMessageAuthenticationSubtype.MN_HA, spi=sa.spi,
        authenticator=bytes(MN_HA_AUTHENTICATOR_LENGTH))
    draft = with_options(BindingUpdate(sequence=1, lifetime=600, ack=True,
                                       home_registration=True), (
        AlternateCareOfAddress(address=source(0)),
        MobileNodeIdentifier(identifier=creds(0).identifier), placeholder))
    encoded = encode_mh(draft)
    authenticator = sa.authenticator(source(0), home(0), mh_authenticator_input(
        encoded, MN_HA_AUTHENTICATOR_LENGTH))
    bu = sign_last_option(draft, encoded, with_authenticator(placeholder, authenticator))
    packet = IPv6Packet(src=source(0), dst=HA, payload=bu, extension_headers=(
        DestinationOptions(options=(HomeAddressOption(home_address=home(0)),)),))
    (ba,) = _mobility(_sent(agent, packet, 1.0))
    assert ba.payload.status == S.MIPV6_MESG_ID_REQD
    assert agent.counters["auth.no_timestamp"] == 1 and len(agent.cache) == 0
    # RFC 4285 §5.1.1: the agent "MUST include this option in the BA if it received this
    # option in the corresponding BU" and has the SA: the 145 BA is signed (MN-ID, then the
    # authentication option last), with no timestamp to echo (§6). It was sent unsigned.
    from mipshop.protocol.mipv6.signalling import read_mn_ha

    protection = read_mn_ha(ba.payload)
    assert protection.authentication is not None and protection.timestamp is None
    assert protection.identifier == creds(0).identifier
    assert protection.authentication.spi == sa.spi
    assert protection.authentication.authenticator == sa.authenticator(
        source(0), home(0), mh_authenticator_input(encode_mh(ba.payload),
                                                   MN_HA_AUTHENTICATOR_LENGTH))


@pytest.mark.parametrize(("window", "offset", "accepted"), [
    (10.0, 5.0, True),  # inside the SA's own (wider) window
    (2.0, 5.0, False),  # outside the SA's own (narrower) window
])
def test_each_security_association_has_its_own_replay_window(window, offset, accepted):
    # RFC 4285 §6: the timestamp must be within the window the SA sets (not a global one);
    # a refusal (144) carries the home agent's time of day in the high-order 32 bits of its
    # timestamp, the BU's low-order bits in the rest, so that the node can resynchronise.
    from mipshop.protocol.mipv6.config import HomeAgentConfig
    from mipshop.protocol.mipv6.home_agent import HomeAgent
    from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
    from mipshop.protocol.mipv6.signalling import read_mn_ha
    from tests.protocol.mipv6.test_floods import WALL, creds

    own = replace(creds(0), security_association=SecurityAssociation(
        spi=1000, key=(0).to_bytes(16, "big"), replay_window=window))
    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX), credentials=(own,),
        wall_clock_offset=WALL, dad_duration=0.0))
    agent.start(0.0)
    agent.pull_actions()
    packet = bu_packet(0, src=source(0), at=1.0 + offset, credentials=own)
    (ba,) = _mobility(_sent(agent, packet, 1.0))
    if accepted:
        assert ba.payload.status == S.ACCEPTED
        return
    assert ba.payload.status == S.MIPV6_ID_MISMATCH
    sent_stamp = read_mn_ha(packet.payload).timestamp
    answer = read_mn_ha(ba.payload).timestamp
    assert answer >> 32 == unix_to_ntp(WALL + 1.0) >> 32
    assert answer & 0xFFFFFFFF == sent_stamp & 0xFFFFFFFF


# -- §10.3.1, §6.2.4: the Binding Refresh Advice, with and without RFC 4285 authentication


@pytest.mark.parametrize("authenticated", [True, False], ids=["rfc4285", "unauthenticated"])
def test_an_accepted_ba_carries_the_binding_refresh_advice(authenticated):
    # RFC 6275 §10.3.1: an agent with a refresh interval sends it in a Binding Refresh Advice
    # (§6.2.4) of every accepted BA, whether the BU came with the RFC 4285 options or was
    # accepted without them (``accept_unauthenticated``, IPsec assumed, RFC 6275 §5.1).
    agent = home_agent(n_credentials=1, dad_duration=0.0, refresh_interval=300.0,
                       accept_unauthenticated=not authenticated)
    packet = bu_packet(0, src=source(0), at=1.0)
    if not authenticated:
        bu = BindingUpdate(sequence=1, lifetime=600, ack=True, home_registration=True,
                           options=(AlternateCareOfAddress(address=source(0)),))
        packet = replace(packet, payload=bu)
    (ba,) = _mobility(_sent(agent, packet, 1.0))
    assert ba.payload.status == S.ACCEPTED and ba.payload.lifetime > 0
    advice = [o for o in ba.payload.options if isinstance(o, BindingRefreshAdvice)]
    assert [o.refresh_interval for o in advice] == [300]
    assert read_mn_ha(ba.payload).present is authenticated  # RFC 4285 §5.1.1


def test_an_unauthenticated_deregistration_is_kept_inactive_and_stored_without_an_owner():
    # RFC 6275 §10.3.2: a de-registration is acknowledged and the entry kept inactive, and
    # stored as such before the BA (a restart must still refuse a delayed older BU, 135);
    # accepted without the RFC 4285 options (``accept_unauthenticated``), it has no owner.
    agent = home_agent(n_credentials=0, dad_duration=0.0, accept_unauthenticated=True)
    stored = []
    for at, sequence, lifetime in ((1.0, 1, 600), (2.0, 2, 0)):
        bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True,
                           home_registration=True,
                           options=(AlternateCareOfAddress(address=source(0)),))
        agent.receive(replace(bu_packet(0, src=source(0), at=at), payload=bu), "home", at)
        actions = agent.pull_actions()
        (ba,) = _mobility([a.packet for a in actions if isinstance(a, Transmit)])
        assert ba.payload.status == S.ACCEPTED and ba.payload.sequence == sequence
        stored += [a.binding for a in actions if isinstance(a, PersistBinding)]
    assert [(r.home_address, r.sequence, r.deregistered, r.owner, r.spi) for r in stored] == [
        (home(0), 1, False, None, None), (home(0), 2, True, None, None)]
    assert len(agent.cache) == 0


# -- §10.5, §7.4, §10.6.3: what the home agent announces from its configuration ---------------


def test_the_home_agent_announces_its_configuration():
    # §10.5: the Home-Agents anycast address is claimed with proxy ND on the home link (the
    # link's other routers reach it there); §7.4: the Router Advertisements carry the Home
    # Agent Information option with the configured preference and lifetime; §10.6.3: a Mobile
    # Prefix Advertisement carries the home prefix with R set (RFC 6275 §7.2: the prefix
    # field is the agent's full address) and the link's lifetimes.
    from mipshop.protocol.base.actions import Claim
    from mipshop.protocol.mipv6.config import HomeAgentConfig
    from mipshop.protocol.mipv6.home_agent import HomeAgent
    from tests.protocol.mipv6.test_floods import WALL, creds

    agent = HomeAgent("ha", random.Random(1), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA, prefix=PREFIX, valid_lifetime=7200,
                            preferred_lifetime=3600),
        credentials=(creds(0),), wall_clock_offset=WALL, dad_duration=0.0, preference=7,
        home_agent_lifetime=900))
    agent.start(0.0)
    actions = agent.pull_actions()
    assert [(a.address, a.proxy_interface) for a in actions if isinstance(a, Claim)] == [
        (agent.anycast, "home")]
    (ra,) = [a.packet.payload for a in actions if isinstance(a, Transmit)
             and isinstance(a.packet.payload, RouterAdvertisement)]
    assert [(o.preference, o.lifetime) for o in ra.options
            if isinstance(o, HomeAgentInformation)] == [(7, 900)]
    _sent(agent, bu_packet(0, src=source(0), at=1.0), 1.0)
    (mpa,) = [p.payload for p in _sent(agent, _solicit(0), 2.0)
              if isinstance(p.payload, MobilePrefixAdvertisement)]
    assert [(o.prefix, o.prefix_length, o.router_address, o.valid_lifetime,
             o.preferred_lifetime) for o in mpa.options if isinstance(o, PrefixInformation)] == [
        (HA, 64, True, 7200, 3600)]


@pytest.mark.parametrize(("interval", "answered"), [(1.0, 2), (5.0, 1)])
def test_mobile_prefix_answers_follow_the_configured_rate_interval(interval, answered):
    # §10.6.3 [choice]: one answer per node per ``mobile_prefix_rate_interval``: with 5 s,
    # a solicitation 2 s after the last answered one is dropped; with 1 s it is answered.
    agent = _registered(mobile_prefix_rate_interval=interval)
    answers = [p for at in (2.0, 4.0) for p in _sent(agent, _solicit(0), at)
               if isinstance(p.payload, MobilePrefixAdvertisement)]
    assert len(answers) == answered
    assert agent.counters["drop.mobile_prefix_rate"] == 2 - answered


@pytest.mark.parametrize("lifetimes", [(8, 600), (600, 8), (8, 8), (8, 12)])
def test_each_binding_expires_at_its_own_lifetime(lifetimes: tuple[int, int]) -> None:
    # RFC 6275 §9.6, §10.3.1: a binding is deleted when its lifetime runs out, whatever other
    # mobile nodes register meanwhile: each binding has its own expiry timer, not one that the
    # next registration of another home address replaces.
    agent = home_agent(n_credentials=2, dad_duration=0.0)
    for i, lifetime in enumerate(lifetimes):
        _sent(agent, bu_packet(i, src=source(i), at=1.0 + i, lifetime=lifetime), 1.0 + i)
    assert len(agent.cache) == 2
    end = 15.0
    agent.handle_timer(end)
    actions = agent.pull_actions()
    gone = [home(i) for i, lifetime in enumerate(lifetimes) if 1.0 + i + lifetime <= end]
    assert [a.fields["home_address"] for a in actions
            if getattr(a, "kind", None) == "binding.expired"] == gone
    assert [a.home_address for a in actions if isinstance(a, ForgetBinding)] == gone
    assert [e.home_address for e in agent.cache] == [
        home(i) for i in range(2) if home(i) not in gone]
