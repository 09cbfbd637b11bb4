"""Hierarchical Mobile IPv6 (RFC 5380): the Mobility Anchor Point and the mobile node's MAP client.

The :class:`~.map.MobilityAnchorPoint` is a local home agent for regional care-of addresses
(RCoAs): it reuses :class:`~mipshop.protocol.mipv6.binding_agent.BindingAgent` for the
registration checks and tunnels (RFC 5380 §6.2, "no new error codes"). The
:class:`~.client.MapClient` attaches to a :class:`~mipshop.protocol.mipv6.mobile_node.MobileNode`:
it selects a MAP from the access routers' MAP options (:mod:`.selection`, §9.1), forms the RCoA
and keeps the local binding (:mod:`.local_binding`, §6.1), and moves the home registration and
route optimization onto the RCoA.

Imports: :mod:`mipshop.wire`, :mod:`~mipshop.protocol.base` and :mod:`~mipshop.protocol.mipv6`.
HMIPv6 never imports FMIPv6: a MAP that anchors fast handovers (F-HMIPv6) is a subclass that
lives in :mod:`mipshop.protocol.fmipv6.map_anchor`.
"""
