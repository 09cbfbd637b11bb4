"""An HMIPv6 topology on the test harness: the MIPv6 scenario plus two MAP domains.

On top of :func:`tests.protocol.scenario.build` (home agent on ``home``, correspondents on
``cn1``/``cn2``, plain access routers on ``visited1..3``) this adds:

* ``map1`` and ``map2``: the links of two MAPs (``2001:db8:a1::1``, ``2001:db8:a2::1``);
* domain 1: access routers on ``d1a`` (``2001:db8:11::/64``) and ``d1b`` (``2001:db8:12::/64``)
  advertising MAP1 (Dist 2, Pref 10);
* domain 2: an access router on ``d2a`` (``2001:db8:21::/64``) advertising MAP2.

The harness router is flat (every link one hop from every other), which is enough to check who
sends what to whom. MAP1 allows LCoAs of both domains (RFC 5380 §8 recommends forwarding to
neighbouring domains), MAP2 those of domain 2. The mobile node gains a MAP client with an
MN-MAP security association shared with both MAPs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.hmipv6.client import MapClient
from mipshop.protocol.hmipv6.config import MapClientConfig, MapConfig
from mipshop.protocol.hmipv6.map import MobilityAnchorPoint
from mipshop.protocol.mipv6.config import MobilityCredentials
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.protocol.mipv6.signalling import protect_mn_ha
from mipshop.wire.ext_headers import DestinationOptions, HomeAddressOption
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.nd_options import MAPOption
from tests.harness import Network
from tests.protocol.scenario import ROUTER_RA_DELAY, WALL_CLOCK, Scenario, build

MAP_ADDRESSES = {"map1": IPv6Address("2001:db8:a1::1"), "map2": IPv6Address("2001:db8:a2::1")}
MAP_PREFIXES = {"map1": IPv6Network("2001:db8:a1::/64"), "map2": IPv6Network("2001:db8:a2::/64")}
#: Access-router links of each MAP domain.
DOMAIN_LINKS = {
    "d1a": (IPv6Network("2001:db8:11::/64"), "map1"),
    "d1b": (IPv6Network("2001:db8:12::/64"), "map1"),
    "d2a": (IPv6Network("2001:db8:21::/64"), "map2"),
}
DOMAIN1 = (DOMAIN_LINKS["d1a"][0], DOMAIN_LINKS["d1b"][0])
DOMAIN2 = (DOMAIN_LINKS["d2a"][0],)
MAP_CREDENTIALS = MobilityCredentials(
    identifier=b"mn1@example.com",
    security_association=SecurityAssociation(spi=2000, key=bytes(range(100, 116))),
)
#: SLAAC interface identifier of the scenario MAC (modified EUI-64).
IID = 0x0000_00FF_FE00_0001


def on(prefix: IPv6Network) -> IPv6Address:
    """The mobile node's address on ``prefix`` (an LCoA, or an RCoA from a MAP prefix)."""
    return IPv6Address(int(prefix.network_address) | IID)


def lcoa(link: str) -> IPv6Address:
    """The LCoA the mobile node forms on a domain link."""
    return on(DOMAIN_LINKS[link][0])


def rcoa(map_name: str) -> IPv6Address:
    """The stateless RCoA the mobile node forms from a MAP's prefix."""
    return on(MAP_PREFIXES[map_name])


def map_option(map_name: str, **fields: Any) -> MAPOption:
    """The MAP option access routers advertise for ``map_name`` (Dist 2, Pref 10 default)."""
    values: dict[str, Any] = {"distance": 2, "preference": 10, "valid_lifetime": 3600}
    values.update(fields)
    return MAPOption(address=MAP_ADDRESSES[map_name], **values)


def local_bu(
    *,
    at: float,
    sequence: int,
    rcoa: IPv6Address | None = None,
    lcoa: IPv6Address | None = None,
    lifetime: int = 600,
    credentials: MobilityCredentials | None = MAP_CREDENTIALS,
    map_registration: bool = True,
    home_registration: bool = False,
) -> bytes:
    """A local BU to MAP1 as a mobile node at ``lcoa`` would send it at time ``at``.

    Defaults: the RCoA from MAP1 and the LCoA on ``d1a`` (RFC 5380 §6.1 layout).
    """
    rcoa = rcoa if rcoa is not None else on(MAP_PREFIXES["map1"])
    lcoa = lcoa if lcoa is not None else on(DOMAIN_LINKS["d1a"][0])
    bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True,
                       map_registration=map_registration, home_registration=home_registration)
    if credentials is not None:
        bu = protect_mn_ha(bu, credentials, timestamp=unix_to_ntp(WALL_CLOCK + at),
                           care_of_address=lcoa, home_address=rcoa)
    return encode_packet(IPv6Packet(
        src=lcoa, dst=MAP_ADDRESSES["map1"], payload=bu,
        extension_headers=(DestinationOptions(options=(HomeAddressOption(home_address=rcoa),)),)))


@dataclass
class HmipScenario:
    """The MIPv6 scenario, its MAPs, its domain access routers and the MAP client."""

    base: Scenario
    client: MapClient
    maps: dict[str, MobilityAnchorPoint] = field(default_factory=dict)
    domain_routers: dict[str, AccessRouter] = field(default_factory=dict)

    @property
    def net(self) -> Network:
        """The harness network."""
        return self.base.net

    @property
    def mn(self) -> MobileNode:
        """The mobile node."""
        return self.base.mn

    @property
    def ha(self) -> HomeAgent:
        """The home agent."""
        return self.base.ha

    @property
    def cns(self) -> dict[str, CorrespondentNode]:
        """The correspondents by name."""
        return self.base.cns

    def move(self, link: str, *, at: float, link_down: float = 0.0) -> None:
        """Move the mobile node to ``link`` at time ``at``."""
        self.base.move(link, at=at, link_down=link_down)

    def run(self, until: float) -> None:
        """Run the network until ``until``."""
        self.net.run_until(until)


def build_hmip(
    *,
    client: dict[str, Any] | None = None,
    maps: dict[str, dict[str, Any]] | None = None,
    advertised: dict[str, tuple[MAPOption, ...]] | None = None,
    **base: Any,
) -> HmipScenario:
    """Build the topology; ``client``/``maps`` override the MAP client's and MAPs' configs,
    ``advertised`` the MAP options of a domain link; ``base`` goes to :func:`build`."""
    scn = build(**base)
    net = scn.net
    rng = random.Random(99)
    maps_built = {}
    allowed = {"map1": DOMAIN1 + DOMAIN2, "map2": DOMAIN2}
    for name, address in MAP_ADDRESSES.items():
        net.add_link(name, 0.002)
        net.add_route(MAP_PREFIXES[name], name)
        options: dict[str, Any] = {
            "credentials": (replace(MAP_CREDENTIALS, home_address=rcoa(name)),),
            "wall_clock_offset": WALL_CLOCK,
            "allowed_lcoa_prefixes": allowed[name]}
        options.update((maps or {}).get(name, {}))
        anchor = MobilityAnchorPoint(name, random.Random(rng.random()),
                                     MapConfig(address=address, **options))
        net.add_node(anchor, {"eth0": name})
        net.start(anchor)
        maps_built[name] = anchor
    routers = {}
    for index, (link, (prefix, map_name)) in enumerate(DOMAIN_LINKS.items()):
        net.add_link(link, 0.002)
        net.add_route(prefix, link)
        router = AccessRouter(f"ar-{link}", random.Random(rng.random()), RouterConfig(
            interface="eth0", address=IPv6Address(int(prefix.network_address) | 1),
            prefix=prefix, link_layer_address=bytes.fromhex(f"00005e0002{index + 1:02x}"),
            map_options=(advertised or {}).get(link, (map_option(map_name),)),
            max_ra_delay=ROUTER_RA_DELAY,
        ))
        net.add_node(router, {"eth0": link})
        net.start(router)
        routers[link] = router
    client_options: dict[str, Any] = {"credentials": MAP_CREDENTIALS,
                                      "wall_clock_offset": WALL_CLOCK}
    client_options.update(client or {})
    map_client = MapClient.install(scn.mn, MapClientConfig(**client_options))
    return HmipScenario(base=scn, client=map_client, maps=maps_built, domain_routers=routers)
