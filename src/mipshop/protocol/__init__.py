"""Sans-IO Mobile IPv6 / HMIPv6 / FMIPv6 protocol core, one subpackage per RFC.

Nothing in this package reads a clock, draws from module-level randomness or touches a socket:
time arrives as ``now: float`` (seconds) and randomness as an injected ``random.Random``.

* :mod:`.base`: the entity contract, actions, timers, addressing, constants, sequence
  arithmetic, backoff, link events and Router Advertisements;
* :mod:`.mipv6`: Mobile IPv6 (RFC 6275) and RFC 4285 authentication: mobile node, home agent,
  correspondent node and their building blocks;
* :mod:`.hmipv6`: Hierarchical Mobile IPv6 (RFC 5380): the MAP and the MAP client;
* :mod:`.fmipv6`: Fast Handovers (RFC 5568) and the MAP-anchored variant (RFC 4140 App. A);
* :mod:`.access_router`: the access router, which composes base Router Advertisements, the
  HMIPv6 MAP options and the FMIPv6 PAR/NAR function.

Imports run one way: ``base`` <- ``mipv6`` <- ``hmipv6`` <- ``fmipv6`` (the last only in
:mod:`.fmipv6.map_anchor` and :mod:`.fmipv6.placement`), and ``access_router`` over them.

The names below were importable from ``mipshop.protocol`` before the subpackages existed and
stay importable from here; new code should import from the subpackage that defines them.
"""

from .access_router import AccessRouter
from .base.config import RouterConfig
from .base.link_events import LinkDown, LinkEvent, LinkGoingDown, LinkUp, ScanCompleted
from .fmipv6.client import FastHandoverClient
from .fmipv6.config import (
    AnchorPlacement,
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
)
from .fmipv6.map_anchor import FastHandoverMap
from .hmipv6.client import MapClient
from .hmipv6.config import MapClientConfig, MapConfig
from .hmipv6.map import MobilityAnchorPoint
from .mipv6.config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
)
from .mipv6.correspondent import CorrespondentNode
from .mipv6.home_agent import HomeAgent
from .mipv6.mobile_node import MobileNode
from .mipv6.mobility_client import MobilityClient

__all__ = [
    "AccessRouter",
    "AnchorPlacement",
    "CorrespondentConfig",
    "CorrespondentNode",
    "FastHandoverAnchorConfig",
    "FastHandoverClient",
    "FastHandoverClientConfig",
    "FastHandoverMap",
    "FastHandoverRouterConfig",
    "HandoverKey",
    "HomeAgent",
    "HomeAgentConfig",
    "LinkDown",
    "LinkEvent",
    "LinkGoingDown",
    "LinkUp",
    "MapClient",
    "MapClientConfig",
    "MapConfig",
    "MobileNode",
    "MobileNodeConfig",
    "MobilityAnchorPoint",
    "MobilityClient",
    "MobilityCredentials",
    "NeighborRouter",
    "RouteOptimizationConfig",
    "RouterConfig",
    "ScanCompleted",
]
