"""Correspondent rules checked entity by entity (RFC 6275 §6.2.7, §9.2, §9.3.2, §9.4, §9.5.4).

The correspondent is driven directly with encoded packets; the same behaviours are checked
against packets built independently (scapy) in ``tests/conformance/test_correspondent.py``.
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Intercept, Transmit
from mipshop.protocol.mipv6.config import CorrespondentConfig
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.return_routability import binding_management_key
from mipshop.protocol.mipv6.signalling import (
    sign_binding_authorization,
    verify_binding_authorization,
)
from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.icmpv6 import ParameterProblem
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    HomeTest,
    HomeTestInit,
)
from mipshop.wire.mh_options import BindingAuthorizationData, NonceIndices

CN = IPv6Address("2001:db8:100::10")
HOA = IPv6Address("2001:db8:1::100")
COA = IPv6Address("2001:db8:10::100")
HAO = (DestinationOptions(options=(HomeAddressOption(home_address=HOA),)),)


def node() -> CorrespondentNode:
    cn = CorrespondentNode("cn", random.Random(1), CorrespondentConfig(address=CN))
    cn.start(0.0)
    cn.pull_actions()
    return cn


def sent(cn: CorrespondentNode) -> list[IPv6Packet]:
    return [a.packet for a in cn.pull_actions() if isinstance(a, Transmit)]


def tokens(cn: CorrespondentNode, at: float = 1.0) -> tuple[HomeTest, CareOfTest]:
    cn.receive(encode_packet(IPv6Packet(src=HOA, dst=CN, payload=HomeTestInit(
        cookie=b"h" * 8))), "eth0", at)
    cn.receive(encode_packet(IPv6Packet(src=COA, dst=CN, payload=CareOfTestInit(
        cookie=b"c" * 8))), "eth0", at)
    hot, cot = (p.payload for p in sent(cn))
    assert isinstance(hot, HomeTest) and isinstance(cot, CareOfTest)
    return hot, cot


def authorized_update(hot: HomeTest, cot: CareOfTest) -> BindingUpdate:
    """A BU (sequence 1, lifetime 40) with the Nonce Indices of ``hot`` and ``cot``, signed
    with their Kbm over the care-of address (§5.2.6)."""
    kbm = binding_management_key(hot.keygen_token, cot.keygen_token)
    return sign_binding_authorization(BindingUpdate(sequence=1, lifetime=40, ack=True, options=(
        NonceIndices(home_nonce_index=hot.home_nonce_index,
                     care_of_nonce_index=cot.care_of_nonce_index),)), kbm,
        care_of_address=COA, correspondent=CN)


def bu(cn: CorrespondentNode, *, sequence: int, lifetime: int, home: bool = False
       ) -> tuple[list[IPv6Packet], bytes]:
    hot, cot = tokens(cn)
    dereg = lifetime == 0
    kbm = binding_management_key(hot.keygen_token, None if dereg else cot.keygen_token)
    message = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True,
                            home_registration=home, options=(NonceIndices(
                                home_nonce_index=hot.home_nonce_index,
                                care_of_nonce_index=0 if dereg else cot.care_of_nonce_index),))
    signed = HOA if dereg else COA
    message = sign_binding_authorization(message, kbm, care_of_address=signed, correspondent=CN)
    cn.receive(encode_packet(IPv6Packet(src=COA, dst=CN, payload=message,
                                        extension_headers=HAO)), "eth0", 2.0)
    return [a.packet for a in cn.pull_actions() if isinstance(a, Transmit)], kbm


def test_a_deregistration_from_the_care_of_address_is_authorised_over_the_home_address():
    cn = node()
    (ba_packet,), _kbm = bu(cn, sequence=1, lifetime=40)
    assert ba_packet.payload.status == 0
    (ba_packet,), kbm = bu(cn, sequence=2, lifetime=0)  # from the care-of address
    ba = ba_packet.payload
    assert isinstance(ba, BindingAcknowledgement) and ba.status == 0
    # §6.2.7: "the home address of the mobile node if this option is used in de-registration"
    assert verify_binding_authorization(ba, kbm, care_of_address=HOA, correspondent=CN)
    assert cn.cache.lookup(HOA, 2.0) is None


def test_131_carries_binding_authorization_data_when_the_bu_brought_a_key():
    cn = node()
    (ba_packet,), kbm = bu(cn, sequence=5, lifetime=40, home=True)
    ba = ba_packet.payload
    assert ba.status == 131 and isinstance(ba.options[-1], BindingAuthorizationData)
    assert verify_binding_authorization(ba, kbm, care_of_address=COA, correspondent=CN)


@pytest.mark.parametrize("init", [HomeTestInit(cookie=b"x" * 8), CareOfTestInit(cookie=b"y" * 8)])
def test_a_test_init_with_a_home_address_option_is_ignored(init):
    cn = node()
    cn.receive(encode_packet(IPv6Packet(src=COA, dst=CN, payload=init,
                                        extension_headers=HAO)), "eth0", 1.0)
    assert sent(cn) == []
    assert cn.counters["drop.test_init_with_home_address_option"] == 1


def test_a_binding_intercepts_the_home_address_while_it_lives():
    cn = node()
    hot, cot = tokens(cn)
    cn.receive(encode_packet(IPv6Packet(src=COA, dst=CN, payload=authorized_update(hot, cot),
                                        extension_headers=HAO)), "eth0", 2.0)
    assert Intercept(address=HOA) in cn.pull_actions()  # §9.3.2: its packets get the RH2
    cn.handle_timer(2.0 + 40.0)  # the binding expires
    assert Intercept(address=HOA, active=False) in cn.pull_actions()


def test_a_bad_payload_proto_gets_a_parameter_problem_from_the_correspondent():
    cn = node()
    raw = bytearray(encode_packet(IPv6Packet(src=HOA, dst=CN, payload=HomeTestInit(
        cookie=b"z" * 8))))
    raw[40] = 6  # Payload Proto: TCP; the checksum is recomputed (§9.2 checks it first)
    raw[44:46] = b"\x00\x00"
    raw[44:46] = upper_layer_checksum(HOA, CN, 135, bytes(raw[40:])).to_bytes(2, "big")
    cn.receive(bytes(raw), "eth0", 1.0)
    (problem,) = sent(cn)
    assert isinstance(problem.payload, ParameterProblem)
    assert (problem.src, problem.dst, problem.payload.code, problem.payload.pointer) == (
        CN, HOA, 0, 40)
