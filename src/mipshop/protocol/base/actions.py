"""What a sans-IO entity asks its runtime to do (docs/architecture.md, "The entity contract").

Entities never touch a socket, a routing table or a clock. They return these actions, which
the simulator and the real-packet daemons carry out the same way, so the two cannot disagree
about protocol behaviour. Packets are :class:`~mipshop.wire.ipv6.IPv6Packet` values; the runtime
encodes them with the wire layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from ...wire.ipv6 import IPv6Packet


@dataclass(frozen=True, kw_only=True, slots=True)
class Transmit:
    """Send ``packet``.

    ``interface`` names the node's interface to send it on; ``None`` lets the runtime route it
    by destination (routers). ``link_destination`` is the link-layer address to send to when
    the entity knows it without Neighbor Discovery (RFC 5568 §6.3: an RA carrying a NAACK goes
    to the L2 address seen in the UNA).
    """

    packet: IPv6Packet
    interface: str | None = None
    link_destination: bytes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Deliver:
    """Hand ``packet`` to this node's own upper layers (after decapsulation or HAO processing)."""

    packet: IPv6Packet


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """Route packets for ``address`` to this entity (``active=False`` releases it).

    A home agent claims the home addresses it serves, a MAP the RCoAs, a PAR a PCoA it forwards,
    a NAR an NCoA it buffers for. With ``proxy_interface`` set the runtime also answers Neighbor
    Solicitations for the address on that link (proxy ND, RFC 6275 §10.4.1).
    """

    address: IPv6Address
    active: bool = True
    proxy_interface: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Intercept:
    """Pass this node's own outgoing packets for ``address`` through the entity (its
    ``send_packet`` command) instead of sending them as they are (``active=False`` stops).

    A correspondent node intercepts the home address of every binding it holds, so that its
    applications' packets get the Type 2 Routing Header (RFC 6275 §9.3.2). The simulator's
    applications call ``send_packet`` already; a real-packet runtime routes the node's own
    packets for the address into its TUN device.
    """

    address: IPv6Address
    active: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class HostAddress:
    """This node's own upper layers may use ``address`` as a source (``active=False`` stops):
    packets to it that the entity delivers are theirs, and packets they send from it go to
    the entity's ``send_packet`` command.

    A mobile node's home address is one from the start; an HMIPv6 RCoA becomes one once its
    MAP has accepted it (RFC 5380 §6.1: the RCoA as the source of traffic that needs no home
    address). The simulator's applications call ``send_packet`` already; a real-packet
    runtime makes the address local and routes what is sent from it into its TUN device.
    """

    address: IPv6Address
    active: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigureAddress:
    """Add (or with ``active=False`` remove) an address on one of the node's interfaces."""

    interface: str
    address: IPv6Address
    prefix_length: int = 64
    active: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigureRoute:
    """Add (or remove) a route for ``prefix`` through ``interface`` (optionally via a router)."""

    prefix: IPv6Network
    interface: str
    via: IPv6Address | None = None
    active: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Something a test, a metric or a log wants to know about, as structured data.

    ``kind`` is a short dotted name (``binding.registered``, ``fmip.fbu_sent``); ``fields`` holds
    its details as plain values. Tests and the simulator's metrics read these, never log text.
    """

    time: float
    node: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


Action = (Transmit | Deliver | Claim | Intercept | HostAddress | ConfigureAddress | ConfigureRoute
          | Event)
