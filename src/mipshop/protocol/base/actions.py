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
from ...wire.mh_options import _fast_new


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
class CaptureSource:
    """Pass what arrives on ``interface`` from ``address`` for another node through the entity
    instead of forwarding it as it is (``active=False`` stops).

    A NAR serving a PCoA (RFC 5568 §4 step 3, §6.2.1.2 HAck Code 3, §6.4.6) tunnels "the MN's
    packets sent with the PCoA as a source IP address" to the PAR. The simulator's routers
    show every packet to their entity already; a real-packet runtime routes what comes from
    the address into its TUN device (a policy rule on the source).
    """

    address: IPv6Address
    interface: str
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


@dataclass(frozen=True, kw_only=True, slots=True)
class BindingRecord:
    """What a home agent or a MAP needs to resume one binding after a restart.

    Times are Unix seconds (the agent's ``now`` plus its wall-clock offset), because a
    restarted process starts a new monotonic clock. ``link_local_compat`` is the BU's L bit
    (RFC 6275 §10.3.1: the derived link-local address is defended too). ``owner`` and ``spi``
    are the identity (MN-ID) and the SPI of the security association that registered it,
    None when the BU was unauthenticated. A ``deregistered`` record is an entry kept
    inactive after its de-registration (§10.3.2): only its sequence number matters, for
    ``lifetime`` seconds from ``registered_at`` (the de-registration).
    """

    home_address: IPv6Address
    care_of_address: IPv6Address
    sequence: int
    lifetime: float
    registered_at: float
    home_registration: bool = False
    map_registration: bool = False
    link_local_compat: bool = False
    owner: bytes | None = None
    spi: int | None = None
    deregistered: bool = False

    @property
    def expires_at(self) -> float:
        """Unix time at which the binding expires (RFC 6275 §9.5.2)."""
        return self.registered_at + self.lifetime


@dataclass(frozen=True, kw_only=True, slots=True)
class PersistBinding:
    """Store ``binding`` durably, replacing any record for its home address.

    The runtime MUST have committed it before it carries out any later action of the same
    list: an agent emits it before the Transmit of the Binding Acknowledgement, so that no
    mobile node is told of a binding a crash could lose. The simulator, which never crashes,
    ignores it.
    """

    binding: BindingRecord


@dataclass(frozen=True, kw_only=True, slots=True)
class ForgetBinding:
    """Delete the stored binding of ``home_address`` (de-registered, expired, not restored)."""

    home_address: IPv6Address


@dataclass(frozen=True, kw_only=True, slots=True)
class PersistReplay:
    """Store the newest RFC 4285 §6 timestamp accepted from mobile node ``identity``
    (under the security association ``spi``).

    Committed before any later action, like :class:`PersistBinding`: a restarted agent must
    still refuse a replay of every BU it answered.
    """

    identity: bytes
    spi: int
    timestamp: int


Persistence = PersistBinding | ForgetBinding | PersistReplay
"""The actions that change stored state; a runtime commits them before what follows."""

Action = (Transmit | Deliver | Claim | Intercept | CaptureSource | HostAddress | ConfigureAddress
          | ConfigureRoute | Event | Persistence)


# Builders for the actions an entity queues on every message (one registration queues about
# ten): the same objects as the constructors make, without the keyword ``__init__`` and its
# ``object.__setattr__`` per field (mipshop.wire.mh_options._fast_new). Their fields are
# unchecked by the constructors too, so nothing is skipped.
new_event = _fast_new(Event)
"""``new_event(time, node, kind, fields)``: ``Event(time=..., node=..., kind=..., fields=...)``."""
new_transmit = _fast_new(Transmit)
"""``new_transmit(packet, interface, link_destination)``: a :class:`Transmit`."""
new_binding_record = _fast_new(BindingRecord)
"""``new_binding_record(home_address, care_of_address, sequence, lifetime, registered_at,
home_registration, map_registration, link_local_compat, owner, spi, deregistered)``."""
new_claim = _fast_new(Claim)
"""``new_claim(address, active, proxy_interface)``: a :class:`Claim`."""
new_persist_binding = _fast_new(PersistBinding)
"""``new_persist_binding(binding)``: a :class:`PersistBinding`."""
new_persist_replay = _fast_new(PersistReplay)
"""``new_persist_replay(identity, spi, timestamp)``: a :class:`PersistReplay`."""
