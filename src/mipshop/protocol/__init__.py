"""Sans-IO Mobile IPv6 / HMIPv6 / FMIPv6 protocol core.

Nothing in this package reads a clock, draws from module-level randomness or touches a socket:
time arrives as ``now: float`` (seconds) and randomness as an injected ``random.Random``
(design.md, "The entity contract").

Modules:

* entities: :mod:`.home_agent` (:class:`HomeAgent`), :mod:`.mobile_node` (:class:`MobileNode`,
  composing :mod:`.home_registration` and :mod:`.route_optimization` through
  :mod:`.mobility_client`), :mod:`.correspondent` (:class:`CorrespondentNode`),
  :mod:`.access_router` (:class:`AccessRouter`, and the RA builder the HA shares);
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
from .home_agent import HomeAgent
from .mobile_node import MobileNode
from .mobility_client import MobilityClient

__all__ = [
    "AccessRouter",
    "CorrespondentConfig",
    "CorrespondentNode",
    "HomeAgent",
    "HomeAgentConfig",
    "MobileNode",
    "MobileNodeConfig",
    "MobilityClient",
    "MobilityCredentials",
    "RouteOptimizationConfig",
    "RouterConfig",
]
