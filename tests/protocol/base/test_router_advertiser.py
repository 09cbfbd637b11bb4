"""A router answers Neighbor Solicitations for its own addresses (RFC 4861 §7.2.4), as the
mobile nodes' Neighbor Unreachability Detection of their default router needs (RFC 6275
§11.5.1)."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.config import RouterConfig
from mipshop.wire.icmpv6 import NeighborAdvertisement, NeighborSolicitation
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.nd_options import TargetLinkLayerAddress

MAC = bytes.fromhex("00005e000102")
CONFIG = RouterConfig(interface="eth0", address=IPv6Address("2001:db8:10::1"),
                      prefix=IPv6Network("2001:db8:10::/64"), link_layer_address=MAC)
HOST = IPv6Address("fe80::5")


def answers(src: IPv6Address, target: IPv6Address, hop_limit: int = 255):
    router = AccessRouter("ar", random.Random(1), CONFIG)
    router.receive(IPv6Packet(src=src, dst=target, hop_limit=hop_limit,
                              payload=NeighborSolicitation(target=target)), "eth0", 1.0)
    return router, [a.packet for a in router.pull_actions() if isinstance(a, Transmit)]


@pytest.mark.parametrize("target", [CONFIG.link_local, CONFIG.address])
def test_solicited_advertisement_for_own_addresses(target):
    _router, [reply] = answers(HOST, target)
    na = reply.payload
    assert isinstance(na, NeighborAdvertisement)
    assert (reply.src, reply.dst, reply.hop_limit) == (target, HOST, 255)
    assert na.router and na.solicited and na.override and na.target == target
    assert na.options == (TargetLinkLayerAddress(address=MAC),)


def test_duplicate_address_detection_is_answered_to_all_nodes_unsolicited():
    _router, [reply] = answers(IPv6Address("::"), CONFIG.address)
    assert reply.dst == IPv6Address("ff02::1") and not reply.payload.solicited


def test_other_targets_and_bad_hop_limits_get_no_answer():
    router, sent = answers(HOST, IPv6Address("2001:db8:10::77"))
    assert sent == [] and router.counters["drop.unhandled"] == 1
    router, sent = answers(HOST, CONFIG.address, hop_limit=64)  # RFC 4861 §7.1.1
    assert sent == [] and router.counters["drop.invalid_nd"] == 1
