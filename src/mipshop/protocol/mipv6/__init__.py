"""Mobile IPv6 (RFC 6275), with RFC 4285 authentication: the base the two MIPSHOP protocols extend.

Entities: the :class:`~.mobile_node.MobileNode` (movement detection, care-of address
formation, home registration through :mod:`.home_registration`, route optimization through
:mod:`.route_optimization`; HMIPv6 and FMIPv6 attach to it as
:class:`~.mobility_client.MobilityClient`
objects, not as role flags), the :class:`~.home_agent.HomeAgent` (RFC 6275 §10; it shares its
registration checks, Binding Cache, proxy ND and tunnels with HMIPv6's MAP through
:class:`~.binding_agent.BindingAgent`) and the :class:`~.correspondent.CorrespondentNode`
(RFC 6275 §9). Building blocks: the Binding Cache and Binding Update List (§9.1, §11.1), return
routability (§5.2), MN-HA authentication and replay protection (RFC 4285), the signalling
helpers that protect and check Mobility Header messages, and the entities' configuration.

Imports: :mod:`mipshop.wire` and :mod:`~mipshop.protocol.base` only. The mobile node's
references to its clients are type-only (``TYPE_CHECKING``), so every import is one-way at run
time.
"""
