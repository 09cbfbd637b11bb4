"""Address arithmetic: modified EUI-64, SLAAC, solicited-node, HA anycast (RFC 2526)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.protocol.base.addressing import (
    address_from_prefix,
    home_agents_anycast,
    interface_identifier_from_mac,
    is_link_local,
    link_local_address,
    solicited_node_address,
)


def test_modified_eui64_flips_the_universal_local_bit():
    iid = interface_identifier_from_mac(bytes.fromhex("00005e0001fe"))
    assert iid == 0x0200_5EFF_FE00_01FE
    assert link_local_address(iid) == IPv6Address("fe80::200:5eff:fe00:1fe")


def test_slaac_address_from_a_prefix():
    prefix = IPv6Network("2001:db8:10::/64")
    iid = interface_identifier_from_mac(bytes.fromhex("020000000001"))
    assert address_from_prefix(prefix, iid) == IPv6Address("2001:db8:10::ff:fe00:1")


def test_solicited_node_multicast():
    assert solicited_node_address(IPv6Address("2001:db8::abcd:1234:5678")) == IPv6Address(
        "ff02::1:ff34:5678")


def test_home_agents_subnet_anycast_rfc2526():
    # 57 one-bits with the u/l bit cleared, then the anycast ID 0x7E.
    assert home_agents_anycast(IPv6Network("2001:db8:1::/64")) == IPv6Address(
        "2001:db8:1:0:fdff:ffff:ffff:fffe")
    with pytest.raises(ValueError):
        home_agents_anycast(IPv6Network("2001:db8::/48"))


@given(st.one_of(st.integers(0, (1 << 128) - 1),
                 st.integers(0xFE7F << 112, (0xFEC1 << 112) - 1)))  # around fe80::/10
def test_is_link_local_is_the_ipaddress_property(value: int) -> None:
    address = IPv6Address(value)
    assert is_link_local(address) == address.is_link_local
