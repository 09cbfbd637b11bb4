"""A prefix a mobile node keeps (its current prefix) is one object for every node and RA."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from mipshop.protocol.mipv6.mobile_node import _network
from mipshop.wire.nd_options import PrefixInformation


def _option(prefix: str, *, router_address: bool = False) -> PrefixInformation:
    return PrefixInformation(prefix_length=64, on_link=True, autonomous=True,
                             router_address=router_address, valid_lifetime=86_400,
                             preferred_lifetime=14_400, prefix=IPv6Address(prefix))


def test_equal_prefixes_from_different_advertisements_are_one_object() -> None:
    # Each of thousands of nodes keeps its current prefix all run (260 bytes an IPv6Network
    # with its dictionary and network address): the same prefix heard in two RAs, by two
    # nodes, is the same object.
    first, second = _network(_option("2001:db8:2:7::")), _network(_option("2001:db8:2:7::"))
    assert first == IPv6Network("2001:db8:2:7::/64") and first is second
    # An R-flag option (the router's full address) still gives the prefix's value.
    assert _network(_option("2001:db8:2:7::1", router_address=True)) == first
    assert _network(_option("2001:db8:2:8::")) != first
