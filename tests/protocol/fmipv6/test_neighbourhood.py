"""What a mobile node learns from a PrRtAdv (RFC 5568 §6.1.2), for tuples never seen before.

:func:`parse_prrtadv` shares equal tuples through a memo, so a tuple met once is never built
again in that process: these properties draw fresh access points, router addresses and
prefixes, so that each example builds its tuple (and a change to how a tuple is built cannot
hide behind one built earlier)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.protocol.fmipv6.neighbourhood import parse_prrtadv
from mipshop.wire.icmpv6 import ProxyRouterAdvertisement
from mipshop.wire.nd_options import IPAddressPrefix, LinkLayerAddress

#: Global unicast addresses (2000::/3) with a nonzero interface identifier.
_addresses = st.builds(lambda upper, host: IPv6Address((upper << 64) | host),
                       st.integers(min_value=1 << 61, max_value=(1 << 62) - 1),
                       st.integers(min_value=1, max_value=(1 << 64) - 1))


@settings(max_examples=60, deadline=None)
@given(ap=st.binary(min_size=6, max_size=6), router_mac=st.binary(min_size=6, max_size=6),
       router=_addresses, code=st.sampled_from([0, 3, 5]),
       prefix_length=st.one_of(st.none(), st.integers(min_value=16, max_value=64)),
       ncoa=st.one_of(st.none(), _addresses))
def test_a_tuple_gives_the_nar_prefix_address_and_ncoa_it_carries(
        ap, router_mac, router, code, prefix_length, ncoa):
    """The NAR prefix option gives the prefix (and its length); without it, the /64 of the
    NAR's address (§6.1.2: "the prefix may be left out" when the address carries it); the
    NAR's addresses and a supplied NCoA are kept; Code 5 marks a DHCPv6 link."""
    options: list[object] = [LinkLayerAddress(option_code=1, address=ap),
                             LinkLayerAddress(option_code=3, address=router_mac),
                             IPAddressPrefix(option_code=3, address=router)]
    if prefix_length is not None:
        options.append(IPAddressPrefix(option_code=4, address=router,
                                       prefix_length=prefix_length))
    if ncoa is not None:
        options.append(IPAddressPrefix(option_code=2, address=ncoa))
    [info] = parse_prrtadv(ProxyRouterAdvertisement(code=code, identifier=1,
                                                    options=tuple(options)))
    expected = IPv6Network((router, prefix_length or 64), strict=False)
    assert (info.access_point, info.outcome) == (ap, 1)
    assert info.router_link_layer_address == router_mac and info.router_address == router
    assert info.prefix == expected and info.new_care_of_address == ncoa
    assert info.dhcp is (code == 5)
    assert info.resolved
    assert info.care_of_address(0x1234) == (ncoa if ncoa is not None else IPv6Address(
        int(expected.network_address) | 0x1234))
