"""The mobile node as a host on its link (RFC 4861 §7.2, RFC 4862 §5.4, RFC 4429, RFC 6275
§11.3.3), driven entity by entity; the same behaviours are checked against an independent
tester in ``tests/conformance/test_mobile_node.py``."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.base.actions import ConfigureAddress, Deliver, Transmit
from mipshop.protocol.mipv6.config import MobileNodeConfig
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.icmpv6 import (
    EchoRequest,
    NeighborAdvertisement,
    NeighborSolicitation,
    RouterAdvertisement,
)
from mipshop.wire.ipv6 import IPv6Packet, encapsulate, encode_packet
from mipshop.wire.nd_options import PrefixInformation, TargetLinkLayerAddress

HOA = IPv6Address("2001:db8:1::100")
HA = IPv6Address("2001:db8:1::1")
ROUTER = IPv6Address("fe80::a1")
PREFIX = IPv6Network("2001:db8:10::/64")
COA = IPv6Address("2001:db8:10::ff:fe00:1")


def node(**options: object) -> MobileNode:
    mn = MobileNode("mn", random.Random(1), MobileNodeConfig(
        home_address=HOA, home_prefix=IPv6Network("2001:db8:1::/64"), home_agent=HA,
        interface="wlan0", dad_delay=1.0, **options))  # type: ignore[arg-type]
    mn.start(0.0)
    mn.attach(0.0)
    mn.pull_actions()
    ra = RouterAdvertisement(options=(PrefixInformation(
        prefix_length=64, valid_lifetime=3600, preferred_lifetime=1800,
        prefix=PREFIX.network_address),))
    mn.receive(encode_packet(IPv6Packet(src=ROUTER, dst=IPv6Address("ff02::1"), hop_limit=255,
                                        payload=ra)), "wlan0", 0.1)
    return mn


def transmitted(mn: MobileNode) -> list[IPv6Packet]:
    return [a.packet for a in mn.pull_actions() if isinstance(a, Transmit)]


def test_dad_probes_the_care_of_address_before_using_it():
    mn = node()
    (probe,) = [p for p in transmitted(mn) if isinstance(p.payload, NeighborSolicitation)]
    assert probe.src == IPv6Address("::") and probe.hop_limit == 255
    assert probe.dst == IPv6Address("ff02::1:ff00:1") and probe.payload.target == COA
    assert probe.payload.options == () and mn.care_of_address is None
    mn.handle_timer(1.1)
    assert mn.care_of_address == COA


def test_a_neighbor_advertisement_for_the_tentative_address_makes_it_unusable():
    mn = node()
    mn.pull_actions()
    na = NeighborAdvertisement(override=True, target=COA, options=(
        TargetLinkLayerAddress(address=bytes.fromhex("020000006666")),))
    mn.receive(encode_packet(IPv6Packet(src=COA, dst=IPv6Address("ff02::1"), hop_limit=255,
                                        payload=na)), "wlan0", 0.5)
    mn.handle_timer(2.0)
    assert mn.care_of_address is None and mn.counters["dad.duplicate"] == 1
    assert not [a for a in mn.pull_actions() if isinstance(a, ConfigureAddress) and a.active]


def test_an_optimistic_address_is_answered_with_override_clear_until_dad_completes():
    mn = node(optimistic_dad=True)
    assert mn.care_of_address == COA
    mn.pull_actions()
    ns = NeighborSolicitation(target=COA)
    raw = encode_packet(IPv6Packet(src=ROUTER, dst=IPv6Address("ff02::1:ff00:1"),
                                   hop_limit=255, payload=ns))
    mn.receive(raw, "wlan0", 0.2)
    (na,) = transmitted(mn)
    assert na.dst == ROUTER and na.payload.solicited and not na.payload.override  # RFC 4429
    mn.handle_timer(1.2)  # DAD over: preferred
    mn.receive(raw, "wlan0", 1.3)
    (na,) = transmitted(mn)
    assert na.payload.override and not na.payload.router


@pytest.mark.parametrize(("how", "dad_delay"), [("a client confirmed it", 1.0),
                                               ("no DAD configured", 0.0)])
def test_an_address_used_without_dad_is_answered_with_override_set(how, dad_delay):
    """With optimistic DAD on, an address no DAD runs for (one a client confirmed, an FMIPv6
    NCoA the NAR accepted; or DupAddrDetectTransmits 0) is preferred at once, not optimistic:
    answered with O = 1 from the start (RFC 4429 §3.3 keeps O = 0 only until DAD completes;
    RFC 4862 §5.4)."""
    mn = MobileNode("mn", random.Random(1), MobileNodeConfig(
        home_address=HOA, home_prefix=IPv6Network("2001:db8:1::/64"), home_agent=HA,
        interface="wlan0", dad_delay=dad_delay, optimistic_dad=True))
    mn.start(0.0)
    mn.attach(0.0)
    mn.now = 0.1
    if how == "a client confirmed it":
        mn.adopt_care_of_address(COA)
    else:
        ra = RouterAdvertisement(options=(PrefixInformation(
            prefix_length=64, valid_lifetime=3600, preferred_lifetime=1800,
            prefix=PREFIX.network_address),))
        mn.receive(encode_packet(IPv6Packet(src=ROUTER, dst=IPv6Address("ff02::1"),
                                            hop_limit=255, payload=ra)), "wlan0", 0.1)
    assert mn.care_of_address == COA
    assert [a.fields["optimistic"] for a in mn.pull_actions()
            if getattr(a, "kind", None) == "coa.configured"] == [False]
    ns = NeighborSolicitation(target=COA)
    mn.receive(encode_packet(IPv6Packet(src=ROUTER, dst=IPv6Address("ff02::1:ff00:1"),
                                        hop_limit=255, payload=ns)), "wlan0", 0.2)
    (na,) = transmitted(mn)
    assert na.dst == ROUTER and na.payload.solicited and na.payload.override


def test_a_tunnelled_echo_request_is_delivered_to_the_stack():
    mn = node(optimistic_dad=True)
    mn.pull_actions()
    echo = IPv6Packet(src=IPv6Address("2001:db8:100::10"), dst=HOA,
                      payload=EchoRequest(identifier=1, sequence=2, data=b"ping"))
    mn.receive(encode_packet(encapsulate(echo, src=HA, dst=COA)), "wlan0", 0.3)
    delivered = [a.packet for a in mn.pull_actions() if isinstance(a, Deliver)]
    assert [p.payload for p in delivered] == [echo.payload]  # §11.3.3
