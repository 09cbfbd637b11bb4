"""Sans-IO Mobile IPv6 / HMIPv6 / FMIPv6 protocol core.

Nothing in this package reads a clock, draws from module-level randomness or touches a socket:
time arrives as ``now: float`` (seconds) and randomness as an injected ``random.Random``
(design.md, "The entity contract").

Modules:

* entities: :mod:`.home_agent` (:class:`HomeAgent`), :mod:`.mobile_node` (:class:`MobileNode`,
  composing :mod:`.home_registration` and :mod:`.route_optimization` through
  :mod:`.mobility_client`), :mod:`.correspondent` (:class:`CorrespondentNode`),
  :mod:`.access_router` (:class:`AccessRouter`, and the RA builder the HA shares);
* HMIPv6 (RFC 5380): :mod:`.map` (:class:`MobilityAnchorPoint`, sharing
  :mod:`.binding_agent` with the home agent), :mod:`.map_client` (:class:`MapClient`, a
  mobile node client, with :mod:`.local_binding` and the pure :mod:`.map_selection`),
  :mod:`.map_config`;
* FMIPv6 (RFC 5568, RFC 4260 triggers): :mod:`.fast_handover_client`
  (:class:`FastHandoverClient`, a mobile node client, with the pure :mod:`.fmip_neighbourhood`),
  :mod:`.fast_handover_router` (composed into :class:`AccessRouter`: :mod:`.fmip_par`,
  :mod:`.fmip_nar`, :mod:`.fmip_buffer`), :mod:`.fmip_security` (BADF), :mod:`.fmip_config`,
  :mod:`.link_events` (:class:`LinkGoingDown`, :class:`LinkDown`, :class:`LinkUp`,
  :class:`ScanCompleted`);
* F-HMIPv6 with the MAP as anchor (RFC 4140 Appendix A): :mod:`.fmip_map` (the PAR role of
  :mod:`.fmip_par` hosted by a :class:`MobilityAnchorPoint` configured with a
  :class:`FastHandoverAnchorConfig`), :mod:`.fmip_placement` (the mobile node's choice of
  anchor, :class:`AnchorPlacement`);
* configuration: :mod:`.config` (frozen keyword-only dataclasses);
* shared machinery: :mod:`.entity`, :mod:`.actions`, :mod:`.addressing`, :mod:`.signalling`
  (RFC 4285 and Binding Authorization Data protection), :mod:`.binding_cache`,
  :mod:`.binding_update_list`, :mod:`.return_routability`, :mod:`.mn_ha_auth`,
  :mod:`.sequence`, :mod:`.backoff`, :mod:`.constants`.
"""

from .access_router import AccessRouter
from .config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
    RouterConfig,
)
from .correspondent import CorrespondentNode
from .fast_handover_client import FastHandoverClient
from .fmip_config import (
    AnchorPlacement,
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
)
from .home_agent import HomeAgent
from .link_events import LinkDown, LinkEvent, LinkGoingDown, LinkUp, ScanCompleted
from .map import MobilityAnchorPoint
from .map_client import MapClient
from .map_config import MapClientConfig, MapConfig
from .mobile_node import MobileNode
from .mobility_client import MobilityClient

__all__ = [
    "AccessRouter",
    "AnchorPlacement",
    "CorrespondentConfig",
    "CorrespondentNode",
    "FastHandoverAnchorConfig",
    "FastHandoverClient",
    "FastHandoverClientConfig",
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
