"""RFC 5380 §9.1 MAP selection, option merging and RCoA formation (pure functions)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.hmipv6 import selection
from mipshop.protocol.hmipv6.selection import (
    map_prefix,
    merge_map_options,
    regional_care_of_address,
    reselect,
    select_map,
    selection_order,
    shared_options,
    usable,
)
from mipshop.wire.nd_options import MAPOption


def opt(n: int, dist: int, pref: int = 10, lifetime: int = 3600, r: bool = False) -> MAPOption:
    """MAP option for MAP number ``n`` (address 2001:db8:a<n>::1)."""
    return MAPOption(address=IPv6Address(f"2001:db8:a{n}::1"), distance=dist, preference=pref,
                     valid_lifetime=lifetime, r_flag=r)


#: (description, options heard, the MAP number chosen or None)
CASES = [
    ("single usable", [opt(1, 1)], 1),
    ("furthest wins over nearer", [opt(1, 1), opt(2, 3), opt(3, 2)], 2),
    ("furthest wins even with lower preference", [opt(1, 1, pref=15), opt(2, 2, pref=1)], 2),
    ("pref 0 skipped: next furthest", [opt(1, 3, pref=0), opt(2, 2), opt(3, 1)], 2),
    ("lifetime 0 skipped: next furthest", [opt(1, 3, lifetime=0), opt(2, 2), opt(3, 1)], 2),
    ("both skipped", [opt(1, 3, pref=0), opt(2, 2, lifetime=0), opt(3, 1)], 3),
    ("equal Dist: highest Pref", [opt(1, 2, pref=5), opt(2, 2, pref=9), opt(3, 1, pref=15)], 2),
    ("equal Dist and Pref: lowest address", [opt(2, 2), opt(1, 2), opt(3, 2)], 1),
    ("equal Dist: higher Pref but lifetime 0", [opt(1, 2, pref=15, lifetime=0), opt(2, 2, 1)], 2),
    ("none usable", [opt(1, 2, pref=0), opt(2, 1, lifetime=0)], None),
    ("no options", [], None),
]


@pytest.mark.parametrize(("options", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_select_map(options, expected):
    chosen = select_map(options)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is not None and chosen.address == IPv6Address(f"2001:db8:a{expected}::1")
    # The order options arrive in never matters.
    assert select_map(list(reversed(options))) == chosen


def test_selection_order_and_usable():
    order = selection_order([opt(1, 1), opt(2, 3, pref=0), opt(3, 2)])
    assert [o.distance for o in order] == [3, 2, 1]
    assert not usable(order[0]) and usable(order[1])


def test_reselect_keeps_a_pref_zero_map_only_while_nothing_else_is_usable():
    current = IPv6Address("2001:db8:a1::1")
    # RFC 5380 §7.1: preference 0 still allows refreshing the existing binding.
    assert reselect([opt(1, 2, pref=0)], current).address == current
    assert reselect([opt(1, 2, pref=0)], None) is None
    # Another usable MAP is preferred ("eager"), and lifetime 0 (failure) is never kept.
    assert reselect([opt(1, 2, pref=0), opt(2, 1)], current).address == opt(2, 1).address
    assert reselect([opt(1, 2, lifetime=0)], current) is None
    # A current MAP no longer advertised is not kept.
    assert reselect([], current) is None


def test_merge_keeps_the_nearest_copy_of_each_map():
    merged = merge_map_options([opt(1, 3), opt(2, 1), opt(1, 2, pref=4), opt(1, 5)])
    assert set(merged) == {opt(1, 1).address, opt(2, 1).address}
    assert merged[opt(1, 1).address].distance == 2
    assert merged[opt(1, 1).address].preference == 4


def test_equal_options_share_one_read_only_mapping_from_a_bounded_table(monkeypatch):
    heard = (opt(1, 3), opt(2, 1), opt(1, 2, pref=4))
    shared = shared_options(heard)
    assert dict(shared) == merge_map_options(heard)
    # An equal tuple built anew gets the same mapping: thousands of nodes, one copy.
    assert shared_options(tuple(list(heard))) is shared
    with pytest.raises(TypeError):
        shared[opt(3, 1).address] = opt(3, 1)  # type: ignore[index]
    # The table is bounded: full, it starts afresh; what was handed out stays as it was.
    monkeypatch.setattr(selection, "_shared_options", {})
    monkeypatch.setattr(selection, "_SHARED_OPTIONS_MAX", 4)
    first = shared_options((opt(1, 1),))
    for lifetime in range(1, 10):
        shared_options((opt(2, 1, lifetime=lifetime),))
        assert len(selection._shared_options) <= 4
    assert dict(first) == {opt(1, 1).address: opt(1, 1)}
    assert shared_options((opt(1, 1),)) is not first  # no longer shared, still equal
    assert shared_options((opt(1, 1),)) == first


def test_rcoa_is_the_map_prefix_plus_the_interface_identifier():
    option = opt(1, 2)
    assert map_prefix(option) == IPv6Network("2001:db8:a1::/64")
    assert regional_care_of_address(option, 0x0000_00FF_FE00_0001) == IPv6Address(
        "2001:db8:a1::ff:fe00:1")
