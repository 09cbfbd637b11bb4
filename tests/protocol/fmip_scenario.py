"""An FMIPv6 topology on the test harness: CN, HA, PAR and NAR on separate links.

Links: ``home`` (home agent), ``par`` / ``nar`` (access routers with the FMIPv6 function,
neighbours of each other), ``ar3`` (a third FMIPv6 router, for erroneous movement), ``cn1``
(correspondent). Each access router has one access point (BSSID) on its link. The mobile node
(with a :class:`FastHandoverClient`) starts on the PAR's link; movement is driven with
link-layer triggers (:meth:`FmipScenario.move`), as the simulator's 802.11 model does.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.dhcpv6 import Dhcpv6ServerConfig
from mipshop.protocol.base.link_events import LinkDown, LinkEvent, LinkUp
from mipshop.protocol.fmipv6.client import FastHandoverClient
from mipshop.protocol.fmipv6.config import (
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
    RouterKey,
)
from mipshop.protocol.fmipv6.map_anchor import FastHandoverMap
from mipshop.protocol.hmipv6.client import MapClient
from mipshop.protocol.hmipv6.config import MapClientConfig, MapConfig
from mipshop.protocol.hmipv6.map import MobilityAnchorPoint
from mipshop.protocol.mipv6.config import CorrespondentConfig, HomeAgentConfig, MobileNodeConfig
from mipshop.protocol.mipv6.correspondent import CorrespondentNode
from mipshop.protocol.mipv6.home_agent import HomeAgent
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation
from mipshop.protocol.mipv6.mobile_node import MobileNode
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from mipshop.wire.nd_options import MAPOption
from tests.harness import Network
from tests.protocol.hmip_scenario import MAP_CREDENTIALS
from tests.protocol.scenario import (
    CN_ADDRESSES,
    CN_PREFIXES,
    CREDENTIALS,
    HA_ADDRESS,
    HOME_ADDRESS,
    HOME_PREFIX,
    MAC,
    ROUTER_RA_DELAY,
    WALL_CLOCK,
)

PREFIXES = {
    "par": IPv6Network("2001:db8:10::/64"),
    "nar": IPv6Network("2001:db8:20::/64"),
    "ar3": IPv6Network("2001:db8:30::/64"),
}
ROUTER_MACS = {name: bytes.fromhex(f"00005e0001{i + 2:02x}") for i, name in enumerate(PREFIXES)}
APS = {name: bytes.fromhex(f"02a{i}00000001") for i, name in enumerate(PREFIXES)}
KEY = HandoverKey(spi=7777, key=bytes(range(20)))
CN1 = CN_ADDRESSES["cn1"]
IID = 0x0000_00FF_FE00_0001  # modified EUI-64 of MAC
MAP_ADDRESS = IPv6Address("2001:db8:a1::1")
MAP_PREFIX = IPv6Network("2001:db8:a1::/64")
RCOA = IPv6Address(int(MAP_PREFIX.network_address) | IID)


def router_address(link: str) -> IPv6Address:
    """The access router's global address."""
    return IPv6Address(int(PREFIXES[link].network_address) | 1)


def coa(link: str) -> IPv6Address:
    """The care-of address the mobile node forms on ``link``."""
    return IPv6Address(int(PREFIXES[link].network_address) | IID)


def neighbor(link: str, **overrides: Any) -> NeighborRouter:
    """``link``'s router as a neighbourhood-table entry."""
    return NeighborRouter(access_points=(APS[link],), link_layer_address=ROUTER_MACS[link],
                          address=router_address(link), prefix=PREFIXES[link], **overrides)


def pair_key(own: IPv6Address, peer: IPv6Address) -> RouterKey:
    """The HI/HAck key ``own`` shares with ``peer`` (RFC 5568 §10): the same SA at both ends."""
    digest = hashlib.sha1(b"".join(sorted((own.packed, peer.packed)))).digest()
    return RouterKey(peer=peer, security_association=SecurityAssociation(
        spi=256 + int.from_bytes(digest[:2], "big"), key=digest[2:18]))


def peer_keys(own: IPv6Address) -> tuple[RouterKey, ...]:
    """``own``'s keys for every other router of the scenario and the MAP."""
    routers = [router_address(link) for link in PREFIXES] + [MAP_ADDRESS]
    return tuple(pair_key(own, peer) for peer in routers if peer != own)


@dataclass
class FmipScenario:
    """The network, its entities and the CBR bookkeeping."""

    net: Network
    ha: HomeAgent
    mn: MobileNode
    fmip: FastHandoverClient
    cn: CorrespondentNode
    routers: dict[str, AccessRouter]
    sent: list[int] = field(default_factory=list)
    #: With ``hmip``: the MAP (``map1``) and the mobile node's MAP client.
    map: MobilityAnchorPoint | None = None
    map_client: MapClient | None = None

    def trigger(self, event: LinkEvent, *, at: float) -> None:
        """Deliver a link-layer trigger to the mobile node at ``at``."""
        self.net.at(at, lambda now: self.mn.l2_trigger(event, now))

    def move(self, link: str, *, at: float, link_down: float = 0.05,
             ap: bytes | None = None, up_at: float | None = None) -> None:
        """L2 handover: LinkDown at ``at``, LinkUp on ``link``'s AP ``link_down`` later (or at
        exactly ``up_at``: ``at + link_down`` need not be that float)."""
        mn = self.mn

        def leave(now: float) -> None:
            self.net.connect(mn.name, mn.interface, None)
            mn.l2_trigger(LinkDown(), now)

        def join(now: float) -> None:
            self.net.connect(mn.name, mn.interface, link)
            mn.l2_trigger(LinkUp(ap=APS[link] if ap is None else ap), now)

        self.net.at(at, leave)
        self.net.at(at + link_down if up_at is None else up_at, join)

    def cbr(self, *, start: float, stop: float, interval: float = 0.02) -> None:
        """A constant-bit-rate stream CN -> home address, sequence numbers in the payload."""
        count = round((stop - start) / interval)
        for i in range(count):
            self.net.at(start + i * interval, self._sender(i))

    def _sender(self, seq: int) -> Callable[[float], None]:
        def send(now: float) -> None:
            self.sent.append(seq)
            self.cn.send_packet(IPv6Packet(src=CN1, dst=HOME_ADDRESS, payload=UDPDatagram(
                src_port=5004, dst_port=5004, data=seq.to_bytes(4, "big"))), now)
        return send

    def received(self) -> list[int]:
        """CBR sequence numbers the mobile node delivered to its upper layer, in order."""
        return [int.from_bytes(d.packet.payload.data, "big") for d in self.net.delivered
                if d.node == "mn" and isinstance(d.packet.payload, UDPDatagram)
                and d.packet.payload.dst_port == 5004]

    def run(self, until: float) -> None:
        """Run the network until ``until``."""
        self.net.run_until(until)

    def kinds(self, node: str | None = None) -> list[str]:
        """The kinds of every fmip.* event, in order."""
        return [e.kind for e in self.net.events
                if e.kind.startswith("fmip.") and (node is None or e.node == node)]


def build(*, seed: int = 1, par: dict[str, Any] | None = None,
          nar: dict[str, Any] | None = None, client: dict[str, Any] | None = None,
          nar_neighbor: dict[str, Any] | None = None, mn: dict[str, Any] | None = None,
          link_delay: float = 0.002, router_delay: float = 0.01,
          hmip: bool = False, map_anchored: bool = False,
          map_fast: dict[str, Any] | None = None,
          nar_dhcp: dict[str, Any] | None = None) -> FmipScenario:
    """Build the topology; the MN attaches to the PAR's link at t = 1 s.

    With ``hmip`` a MAP (``2001:db8:a1::1`` on link ``map1``) serves the three access routers'
    links, which advertise it, and the mobile node gains a MAP client as well. With
    ``map_anchored`` too, the network anchors fast handovers at the MAP (RFC 4140 Appendix A):
    the MAP gets a fast-handover configuration (the three routers as NARs, the handover key;
    ``map_fast`` overrides), and the routers put its MAP option in their PrRtAdvs and accept
    its HIs. The mobile node's configuration is the same either way. With ``nar_dhcp`` the
    NAR's link assigns addresses with DHCPv6 (a :class:`Dhcpv6ServerConfig` from those
    fields; RAs with M = 1, A = 0) and the PAR's neighbourhood entry for it says so (PrRtAdv
    Code 5, RFC 5568 §5.2).
    """
    rng = random.Random(seed)
    net = Network(router_delay=router_delay)
    net.add_link("home", link_delay)
    net.add_route(HOME_PREFIX, "home")
    for link, prefix in PREFIXES.items():
        net.add_link(link, link_delay)
        net.add_route(prefix, link)
    net.add_link("cn1", 0.01)
    net.add_route(CN_PREFIXES["cn1"], "cn1")

    ha = HomeAgent("ha", random.Random(rng.random()), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX,
                            max_ra_delay=ROUTER_RA_DELAY),
        credentials=(replace(CREDENTIALS, home_address=HOME_ADDRESS),),
        wall_clock_offset=WALL_CLOCK))
    net.add_node(ha, {"home": "home"})
    net.start(ha)

    nar_entry = dict(nar_neighbor or {})
    if nar_dhcp is not None:
        nar_entry.setdefault("dhcp", True)
    neighbours = {
        "par": (neighbor("nar", **nar_entry), neighbor("ar3")),
        "nar": (neighbor("par"), neighbor("ar3")),
        "ar3": (neighbor("par"), neighbor("nar")),
    }
    overrides = {"par": par or {}, "nar": nar or {}, "ar3": {}}
    map_options: tuple[MAPOption, ...] = ()
    anchor: MobilityAnchorPoint | None = None
    if hmip:
        net.add_link("map1", link_delay)
        net.add_route(MAP_PREFIX, "map1")
        fast = FastHandoverAnchorConfig(**{
            "neighbors": tuple(neighbor(link) for link in PREFIXES),
            "handover_keys": (replace(KEY, previous_care_of_address=RCOA),),
            "router_keys": peer_keys(MAP_ADDRESS),
            **(map_fast or {})}) if map_anchored else None
        map_config = MapConfig(
            address=MAP_ADDRESS, credentials=(replace(MAP_CREDENTIALS, home_address=RCOA),),
            wall_clock_offset=WALL_CLOCK,
            allowed_lcoa_prefixes=tuple(PREFIXES.values()))
        map_rng = random.Random(rng.random())
        anchor = MobilityAnchorPoint("map1", map_rng, map_config) if fast is None else (
            FastHandoverMap("map1", map_rng, map_config, fast_handover=fast))
        net.add_node(anchor, {"eth0": "map1"})
        net.start(anchor)
        map_options = (MAPOption(address=MAP_ADDRESS, distance=2, preference=10,
                                 valid_lifetime=3600),)
    routers = {}
    for link, prefix in PREFIXES.items():
        anchored = {"map_anchor": map_options[0], "anchors": (MAP_ADDRESS,)} if (
            map_anchored) else {}
        # RFC 5568 §10: each router binds the key to the node's address on its own link.
        bound = replace(KEY, previous_care_of_address=IPv6Address(
            int(prefix.network_address) | IID))
        options = {"neighbors": neighbours[link], "handover_keys": (bound,),
                   "router_keys": peer_keys(router_address(link)), **anchored,
                   **overrides[link]}
        stateful = link == "nar" and nar_dhcp is not None
        router = AccessRouter(
            link, random.Random(rng.random()),
            RouterConfig(interface="eth0", address=router_address(link), prefix=prefix,
                         link_layer_address=ROUTER_MACS[link], map_options=map_options,
                         managed=stateful, autonomous=not stateful,
                         max_ra_delay=ROUTER_RA_DELAY),
            fast_handover=FastHandoverRouterConfig(**options),
            dhcp=Dhcpv6ServerConfig(**{"pool_start": IPv6Address(
                int(prefix.network_address) | 0x1_0000), **(nar_dhcp or {})})
            if stateful else None)
        net.add_node(router, {"eth0": link})
        net.start(router)
        routers[link] = router

    mobile = MobileNode("mn", random.Random(rng.random()), MobileNodeConfig(
        home_address=HOME_ADDRESS, home_prefix=HOME_PREFIX, link_layer_address=MAC,
        home_agent=HA_ADDRESS, credentials=CREDENTIALS, wall_clock_offset=WALL_CLOCK,
        **(mn or {})))
    fmip = FastHandoverClient(mobile, FastHandoverClientConfig(key=KEY, **(client or {})))
    mobile.clients.append(fmip)
    map_client = None
    if hmip:
        map_client = MapClient.install(mobile, MapClientConfig(credentials=MAP_CREDENTIALS,
                                                               wall_clock_offset=WALL_CLOCK))
    net.add_node(mobile, {"wlan0": None})
    net.start(mobile)

    cn = CorrespondentNode("cn1", random.Random(rng.random()), CorrespondentConfig(address=CN1))
    net.add_node(cn, {"eth0": "cn1"})
    net.start(cn)
    scn = FmipScenario(net=net, ha=ha, mn=mobile, fmip=fmip, cn=cn, routers=routers,
                       map=anchor, map_client=map_client)

    def attach(now: float) -> None:
        net.connect("mn", "wlan0", "par")
        mobile.l2_trigger(LinkUp(ap=APS["par"]), now)

    net.at(1.0, attach)
    return scn
