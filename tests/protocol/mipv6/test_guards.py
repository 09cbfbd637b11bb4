"""Guards of RFC 6275 MUSTs that mutation testing found unchecked, one test each.

Each test fails when its guard is deleted (checked with mutmut, README "Mutation testing").
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address

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
