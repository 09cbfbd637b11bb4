"""A standard Mobile IPv6 topology on the test harness, shared by the scenario tests.

Links: ``home`` (home agent), ``visited1..3`` (one access router each), ``cn1``/``cn2`` (one
correspondent each). The mobile node's interface starts disconnected; tests move it with
:meth:`Scenario.move`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.mipv6.config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
)
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.protocol.mipv6.mobile_node import MobileNode
from tests.harness import Network

HOME_PREFIX = IPv6Network("2001:db8:1::/64")
HA_ADDRESS = IPv6Address("2001:db8:1::1")
HOME_ADDRESS = IPv6Address("2001:db8:1::100")
MAC = bytes.fromhex("020000000001")
#: SLAAC interface identifier of MAC (modified EUI-64): 0000:00ff:fe00:0001.
VISITED = {
    "visited1": IPv6Network("2001:db8:10::/64"),
    "visited2": IPv6Network("2001:db8:20::/64"),
    "visited3": IPv6Network("2001:db8:30::/64"),
}
CN_ADDRESSES = {"cn1": IPv6Address("2001:db8:100::10"), "cn2": IPv6Address("2001:db8:200::20")}
CN_PREFIXES = {"cn1": IPv6Network("2001:db8:100::/64"), "cn2": IPv6Network("2001:db8:200::/64")}
WALL_CLOCK = 1_700_000_000.0
#: The harness's routers answer Router Solicitations at once (RouterConfig.max_ra_delay = 0),
#: so that the scenario tests can state exact times; the RFC 4861 §6.2.6 random delay, the
#: default, has its own tests (tests/protocol/base/test_router_advertiser.py).
ROUTER_RA_DELAY = 0.0
CREDENTIALS = MobilityCredentials(
    identifier=b"mn1@example.com",
    security_association=SecurityAssociation(spi=1000, key=bytes(range(16))),
)


def care_of(link: str) -> IPv6Address:
    """The care-of address the mobile node forms on a visited link."""
    return IPv6Address(int(VISITED[link].network_address) | 0x0000_00FF_FE00_0001)


@dataclass
class Scenario:
    """The network and its entities."""

    net: Network
    ha: HomeAgent
    mn: MobileNode
    cns: dict[str, CorrespondentNode] = field(default_factory=dict)
    routers: dict[str, AccessRouter] = field(default_factory=dict)

    def move(self, link: str, *, at: float, link_down: float = 0.0) -> None:
        """Move the mobile node's interface to ``link`` at time ``at``."""
        self.net.move(self.mn.name, self.mn.interface, link, at=at, link_down=link_down)

    def run(self, until: float) -> None:
        """Run the network until ``until``."""
        self.net.run_until(until)


def build(
    *,
    seed: int = 1,
    mn: dict[str, Any] | None = None,
    ha: dict[str, Any] | None = None,
    cn: dict[str, Any] | None = None,
    home_router: dict[str, Any] | None = None,
    visited_router: dict[str, Any] | None = None,
    correspondents: tuple[str, ...] = (),
    link_delay: float = 0.002,
    cn_delay: float = 0.01,
    router_delay: float = 0.01,
) -> Scenario:
    """Build the standard topology; keyword dicts override each entity's configuration."""
    rng = random.Random(seed)
    net = Network(router_delay=router_delay)
    net.add_link("home", link_delay)
    net.add_route(HOME_PREFIX, "home")
    for link, prefix in VISITED.items():
        net.add_link(link, link_delay)
        net.add_route(prefix, link)
    for name, prefix in CN_PREFIXES.items():
        net.add_link(name, cn_delay)
        net.add_route(prefix, name)

    ha_options = dict(ha or {})
    ha_options.setdefault("credentials", (replace(CREDENTIALS, home_address=HOME_ADDRESS),))
    ha_options.setdefault("wall_clock_offset", WALL_CLOCK)
    ha_config = HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX,
                            **{"max_ra_delay": 0.0, **(home_router or {})}),
        **ha_options,
    )
    home_agent = HomeAgent("ha", random.Random(rng.random()), ha_config)
    net.add_node(home_agent, {"home": "home"})
    net.start(home_agent)

    routers = {}
    for link, prefix in VISITED.items():
        router = AccessRouter(f"ar-{link}", random.Random(rng.random()), RouterConfig(
            interface="eth0", address=IPv6Address(int(prefix.network_address) | 1),
            prefix=prefix, link_layer_address=bytes.fromhex(f"00005e0001{len(routers) + 2:02x}"),
            **{"max_ra_delay": ROUTER_RA_DELAY, **(visited_router or {})},
        ))
        net.add_node(router, {"eth0": link})
        net.start(router)
        routers[link] = router

    mn_options = dict(mn or {})
    mn_options.setdefault("route_optimization", RouteOptimizationConfig(
        correspondents=tuple(CN_ADDRESSES[c] for c in correspondents)))
    mn_options.setdefault("home_agent", HA_ADDRESS)
    mn_options.setdefault("credentials", CREDENTIALS)
    mn_options.setdefault("wall_clock_offset", WALL_CLOCK)
    mobile = MobileNode("mn", random.Random(rng.random()), MobileNodeConfig(
        home_address=HOME_ADDRESS, home_prefix=HOME_PREFIX, link_layer_address=MAC,
        **mn_options,
    ))
    net.add_node(mobile, {"wlan0": None})
    net.start(mobile)

    cns = {}
    for name, address in CN_ADDRESSES.items():
        node = CorrespondentNode(name, random.Random(rng.random()),
                                 CorrespondentConfig(address=address, **(cn or {})))
        net.add_node(node, {"eth0": name})
        net.start(node)
        cns[name] = node
    return Scenario(net=net, ha=home_agent, mn=mobile, cns=cns, routers=routers)
