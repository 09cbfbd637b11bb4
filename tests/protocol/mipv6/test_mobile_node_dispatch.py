"""Two of the mobile node's decisions on a packet that reached it, handed to it directly:
what it delivers to its own stack (RFC 6275 §11.3.3: packets for its home address) and which
prefixes of a Router Advertisement it forms a care-of address from (RFC 4862 §5.5.3: not one
whose Valid Lifetime is 0)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Deliver
from mipshop.wire.icmpv6 import EchoRequest, RouterAdvertisement
from mipshop.wire.ipv6 import IPv6Packet
from mipshop.wire.nd_options import PrefixInformation
from tests.protocol.scenario import HA_ADDRESS, HOME_ADDRESS, HOME_PREFIX, build, care_of

CN = IPv6Address("2001:db8:100::10")


def _away():
    scn = build()
    scn.move("visited1", at=1.0)
    scn.run(5)
    scn.mn.pull_actions()
    return scn


@pytest.mark.parametrize(("case", "dst", "delivered"), [
    ("to the home address", HOME_ADDRESS, True),
    ("to another node", IPv6Address("2001:db8:1::77"), False),
])
def test_only_icmpv6_for_the_home_address_is_delivered(case, dst, delivered):
    scn = _away()
    scn.mn._dispatch(IPv6Packet(src=CN, dst=dst, payload=EchoRequest(identifier=1)))
    delivers = [a for a in scn.mn.pull_actions() if isinstance(a, Deliver)]
    assert bool(delivers) is delivered
    assert scn.mn.counters["drop.not_for_us"] == (0 if delivered else 1)


@pytest.mark.parametrize(("valid", "moved"), [(0, False), (1, True), (600, True)])
def test_a_prefix_with_valid_lifetime_0_gives_no_care_of_address(valid, moved):
    scn = _away()
    prefix = IPv6Address("2001:db8:77::")
    ra = RouterAdvertisement(options=(PrefixInformation(
        prefix=prefix, prefix_length=64, valid_lifetime=valid,
        preferred_lifetime=min(valid, 300)),))
    packet = IPv6Packet(src=IPv6Address("fe80::1"), dst=IPv6Address("ff02::1"), hop_limit=255,
                        payload=ra)
    scn.mn._router_advertisement(packet, ra)
    assert (scn.mn.current_prefix is not None
            and scn.mn.current_prefix.network_address == prefix) is moved
    assert scn.mn.care_of_address == care_of("visited1") or moved


OTHER_ROUTER = IPv6Address("2001:db8:1::99")


@pytest.mark.parametrize(("case", "configured", "h_flag", "r_flag", "learnt"), [
    ("H and R, no home agent known", None, True, True, OTHER_ROUTER),
    ("H without R: no full address", None, True, False, None),
    ("R without H: not a home agent", None, False, True, None),
    ("neither", None, False, False, None),
    ("H and R, a home agent configured", HA_ADDRESS, True, True, HA_ADDRESS),
])
def test_a_home_agent_is_learnt_only_from_a_home_ra_with_h_and_r(case, configured, h_flag,
                                                                 r_flag, learnt):
    """RFC 6275 §7.1, §7.2: on its home link the node may learn its home agent from a Router
    Advertisement with the Home Agent (H) bit whose home prefix carries the router's full
    address (R bit); a router without H is no home agent, a prefix without R no address. A
    home agent the node already has (configured, with its security association) is kept."""
    scn = build(mn={"home_agent": configured})
    scn.net.drop_if(lambda p, r: isinstance(p.payload, RouterAdvertisement))
    scn.move("home", at=0.1)
    scn.run(0.5)
    assert scn.mn.attached and scn.mn.home_agent == configured
    ra = RouterAdvertisement(home_agent=h_flag, options=(PrefixInformation(
        prefix=OTHER_ROUTER if r_flag else HOME_PREFIX.network_address, prefix_length=64,
        router_address=r_flag),))
    packet = IPv6Packet(src=IPv6Address("fe80::99"), dst=IPv6Address("ff02::1"),
                        hop_limit=255, payload=ra)
    scn.mn._router_advertisement(packet, ra)
    assert scn.mn.home_agent == learnt
