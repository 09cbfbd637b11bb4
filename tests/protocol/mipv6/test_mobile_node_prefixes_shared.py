"""What a mobile node keeps, kept small: shared prefixes, its configured addresses."""

from __future__ import annotations

import functools
from ipaddress import IPv6Address, IPv6Network
from typing import Any

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


def test_configured_addresses_are_a_flat_tuple_with_the_dictionary_s_answers() -> None:
    # A node configures one or two addresses at a time (a dictionary is 224 bytes, the flat
    # tuple of one 56): the tuple answers as the dictionary did, address -> optimistic.
    from types import SimpleNamespace

    from mipshop.protocol.mipv6.mobile_node import MobileNode

    node: Any = SimpleNamespace(_configured=())
    state = functools.partial(MobileNode._optimistic_state, node)
    put = functools.partial(MobileNode._set_configured, node)
    reference: dict[IPv6Address, bool] = {}
    a, b, c = (IPv6Address(f"2001:db8::{k}") for k in (1, 2, 3))
    for address, optimistic in [(a, True), (b, False), (a, False), (c, None), (b, None),
                                (c, True), (a, None), (c, False), (a, True)]:
        put(address, optimistic)
        if optimistic is None:
            reference.pop(address, None)
        else:
            reference[address] = optimistic
        assert type(node._configured) is tuple
        assert {x: state(x) for x in (a, b, c) if state(x) is not None} == reference
