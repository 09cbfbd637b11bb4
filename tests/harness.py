"""An in-memory network that moves packets between sans-IO entities on virtual time.

Like aioquic's tests pairing a client and a server, but for any number of entities on a few
named links (reused by the MIPv6, HMIPv6 and FMIPv6 scenario tests and by the simulator tests):

* **Links** (:meth:`Network.add_link`) have a one-way delay. Each entity interface is
  connected to at most one link at a time (:meth:`Network.connect`, :meth:`Network.move`).
* **A tiny router model.** A unicast packet is delivered on-link when an interface on the
  sender's link owns the destination (a configured address, or a :class:`Claim`); otherwise
  the router looks the destination up in its longest-prefix routes (:meth:`Network.add_route`)
  and delivers it to the owner on that link, after the sender's link delay, ``router_delay``
  and the destination link's delay. A ``Claim`` beats a configured address on the same link
  (proxy ND: the home agent defends a home address), except for the claimant's own packets.
  Multicast goes to every other interface
  on the sender's link; link-local destinations never leave the link.
* **Every packet crosses the wire codec**: a ``Transmit`` is encoded with
  :func:`mipshop.wire.ipv6.encode_packet`, logged, and the receiver gets the *bytes*
  (``Entity.receive`` decodes them).
* **Time** is a heap of ``(time, seq, callback)``; :meth:`Network.run_until` pops events in
  order; entity timers are driven through ``next_deadline`` / ``handle_timer``; commands are
  scheduled with :meth:`Network.at`.
* **Records**: :attr:`Network.log` (every transmitted packet: time, link, sender, bytes),
  :attr:`Network.events` (every structured ``Event``), :attr:`Network.delivered` (``Deliver``
  actions) and :attr:`Network.drops` (packets the network did not deliver, with a reason).
  Loss is injected with :meth:`Network.drop_if`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from mipshop.protocol.base.actions import (
    Claim,
    ConfigureAddress,
    ConfigureRoute,
    Deliver,
    Event,
    HostAddress,
    Transmit,
)
from mipshop.protocol.base.entity import Entity
from mipshop.wire.ipv6 import IPv6Packet, decode_packet, encode_packet
from mipshop.wire.pcap import CapturedPacket, write_pcap


@dataclass(frozen=True, slots=True)
class Link:
    """A named link with a one-way delay in seconds."""

    name: str
    delay: float = 0.001


@dataclass(frozen=True, slots=True)
class LoggedPacket:
    """One transmitted packet: when, on which link, by whom, and its encoded bytes."""

    time: float
    link: str | None
    sender: str
    data: bytes

    def decode(self) -> IPv6Packet:
        """The packet as the wire layer decodes it."""
        return decode_packet(self.data)


@dataclass(frozen=True, slots=True)
class Drop:
    """A packet the network did not deliver."""

    time: float
    sender: str
    reason: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Delivered:
    """A packet an entity handed to its upper layer."""

    time: float
    node: str
    packet: IPv6Packet


def innermost(packet: IPv6Packet) -> IPv6Packet:
    """The innermost packet of an IPv6-in-IPv6 tunnel (the packet itself if not tunnelled)."""
    while isinstance(packet.payload, IPv6Packet):
        packet = packet.payload
    return packet


class Network:
    """Entities, links, a router and a virtual clock (see the module docstring)."""

    def __init__(self, *, router_delay: float = 0.0) -> None:
        self.router_delay = router_delay
        self.now = 0.0
        self.links: dict[str, Link] = {}
        self.nodes: dict[str, Entity] = {}
        self.log: list[LoggedPacket] = []
        self.events: list[Event] = []
        self.delivered: list[Delivered] = []
        self.drops: list[Drop] = []
        self.routes_configured: list[tuple[str, ConfigureRoute]] = []
        #: (time, node, action) of every HostAddress action, in order.
        self.hosted: list[tuple[float, str, HostAddress]] = []
        self._routes: list[tuple[IPv6Network, str]] = []
        self._interfaces: dict[tuple[str, str], str | None] = {}
        self._addresses: dict[tuple[str, str], set[IPv6Address]] = {}
        self._claims: dict[IPv6Address, tuple[str, str]] = {}
        self._filters: list[Callable[[IPv6Packet, LoggedPacket], bool]] = []
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._armed: dict[str, set[float]] = {}

    # -- topology --------------------------------------------------------------------------

    def add_link(self, name: str, delay: float = 0.001) -> Link:
        """Create a link with a one-way ``delay``."""
        link = Link(name, delay)
        self.links[name] = link
        return link

    def add_route(self, prefix: IPv6Network | str, link: str) -> None:
        """Tell the router that ``prefix`` lives on ``link`` (longest prefix wins)."""
        self._routes.append((IPv6Network(prefix), link))
        self._routes.sort(key=lambda item: -item[0].prefixlen)

    def add_node(self, entity: Entity, interfaces: dict[str, str | None]) -> Entity:
        """Add ``entity`` with its interfaces, each connected to a link name or to None."""
        self.nodes[entity.name] = entity
        for interface, link in interfaces.items():
            self._interfaces[(entity.name, interface)] = link
            self._addresses[(entity.name, interface)] = set()
        return entity

    def connect(self, node: str, interface: str, link: str | None) -> None:
        """Connect (or with None disconnect) an interface, now."""
        self._interfaces[(node, interface)] = link

    def link_of(self, node: str, interface: str) -> str | None:
        """The link an interface is connected to."""
        return self._interfaces.get((node, interface))

    def addresses(self, node: str, interface: str) -> set[IPv6Address]:
        """Addresses currently configured on an interface."""
        return set(self._addresses[(node, interface)])

    def claims(self) -> dict[IPv6Address, tuple[str, str]]:
        """Active claims: address -> (node, interface)."""
        return dict(self._claims)

    # -- scheduling ------------------------------------------------------------------------

    def at(self, time: float, command: Callable[[float], Any]) -> None:
        """Run ``command(now)`` at ``time`` (e.g. ``lambda now: mn.attach(now)``)."""
        self._push(time, lambda: self._run_command(command))

    def start(self, entity: Entity, at: float = 0.0) -> None:
        """Call ``entity.start(now)`` at time ``at``."""
        self.at(at, entity.start)  # type: ignore[attr-defined]

    def move(self, node: str, interface: str, link: str, *, at: float,
             link_down: float = 0.0) -> None:
        """Handover: at ``at`` the interface leaves its link (``detach``), and ``link_down``
        seconds later joins ``link`` (``attach``); the entity's methods are called if present.
        """
        entity = self.nodes[node]

        def leave(now: float) -> None:
            self.connect(node, interface, None)
            if hasattr(entity, "detach"):
                entity.detach(now)

        def join(now: float) -> None:
            self.connect(node, interface, link)
            if hasattr(entity, "attach"):
                entity.attach(now)

        self.at(at, leave)
        self.at(at + link_down, join)

    def drop_if(self, predicate: Callable[[IPv6Packet, LoggedPacket], bool]) -> Callable[[], None]:
        """Lose every transmitted packet for which ``predicate`` is true; returns an undo."""
        self._filters.append(predicate)
        return lambda: self._filters.remove(predicate)

    def inject(self, data: bytes, node: str, interface: str, *, at: float | None = None) -> None:
        """Hand raw bytes to an entity's interface (an attacker, a replay)."""
        entity = self.nodes[node]
        self._push(self.now if at is None else at,
                   lambda: self._receive(entity, interface, data))

    def run_until(self, until: float) -> None:
        """Process every event up to and including time ``until``."""
        while self._queue and self._queue[0][0] <= until:
            time, _seq, callback = heapq.heappop(self._queue)
            self.now = max(self.now, time)
            callback()
        self.now = max(self.now, until)

    def _push(self, time: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (time, next(self._seq), callback))

    def _run_command(self, command: Callable[[float], Any]) -> None:
        command(self.now)
        for entity in self.nodes.values():
            self._flush(entity)

    def _receive(self, entity: Entity, interface: str, data: bytes) -> None:
        entity.receive(data, interface, self.now)
        self._flush(entity)

    def _timer(self, entity: Entity, when: float) -> None:
        self._armed[entity.name].discard(when)
        deadline = entity.next_deadline()
        if deadline is not None and deadline <= self.now:
            entity.handle_timer(self.now)
        self._flush(entity)

    # -- actions ---------------------------------------------------------------------------

    def _flush(self, entity: Entity) -> None:
        for action in entity.pull_actions():
            if isinstance(action, Transmit):
                self._transmit(entity.name, action)
            elif isinstance(action, Event):
                self.events.append(action)
            elif isinstance(action, Deliver):
                self.delivered.append(Delivered(self.now, entity.name, action.packet))
            elif isinstance(action, ConfigureAddress):
                addresses = self._addresses[(entity.name, action.interface)]
                if action.active:
                    addresses.add(action.address)
                else:
                    addresses.discard(action.address)
            elif isinstance(action, Claim):
                self._claim(entity.name, action)
            elif isinstance(action, ConfigureRoute):
                self.routes_configured.append((entity.name, action))
            elif isinstance(action, HostAddress):
                self.hosted.append((self.now, entity.name, action))
        deadline = entity.next_deadline()
        armed = self._armed.setdefault(entity.name, set())
        if deadline is not None:
            when = max(deadline, self.now)
            if when not in armed:
                armed.add(when)
                self._push(when, lambda: self._timer(entity, when))

    def _claim(self, node: str, claim: Claim) -> None:
        if not claim.active:
            if self._claims.get(claim.address, ("", ""))[0] == node:
                del self._claims[claim.address]
            return
        interface = claim.proxy_interface or next(
            i for (n, i) in self._interfaces if n == node)
        self._claims[claim.address] = (node, interface)

    def _transmit(self, sender: str, action: Transmit) -> None:
        interface = action.interface or next(i for (n, i) in self._interfaces if n == sender)
        link = self._interfaces.get((sender, interface))
        data = encode_packet(action.packet)
        record = LoggedPacket(self.now, link, sender, data)
        self.log.append(record)
        if link is None:
            self.drops.append(Drop(self.now, sender, "no link", data))
            return
        packet = decode_packet(data)
        if any(f(packet, record) for f in self._filters):
            self.drops.append(Drop(self.now, sender, "lost", data))
            return
        delay = self.links[link].delay
        if packet.dst.is_multicast:
            for (node, iface), on in self._interfaces.items():
                if on == link and (node, iface) != (sender, interface):
                    self._deliver_later(node, iface, link, data, delay)
            return
        target = self._owner(packet.dst, link, sender)
        if target is None and not packet.dst.is_link_local:
            routed = self._route(packet.dst)
            if routed is not None:
                target = self._owner(packet.dst, routed, sender)
                delay += self.router_delay + self.links[routed].delay
        if target is None:
            self.drops.append(Drop(self.now, sender, "unreachable", data))
            return
        node, iface = target
        self._deliver_later(node, iface, self._interfaces[target], data, delay)

    def _owner(self, address: IPv6Address, link: str, sender: str | None = None
               ) -> tuple[str, str] | None:
        claim = self._claims.get(address)
        # A claim diverts other nodes' packets; the claimant's own packets for the address
        # (an FMIPv6 router delivering what it buffered) go to the address's owner on the link.
        if claim is not None and claim[0] != sender and self._interfaces.get(claim) == link:
            return claim
        for key, addresses in self._addresses.items():
            if address in addresses and self._interfaces.get(key) == link:
                return key
        return None

    def _route(self, address: IPv6Address) -> str | None:
        for prefix, link in self._routes:
            if address in prefix:
                return link
        return None

    def _deliver_later(self, node: str, interface: str, link: str | None, data: bytes,
                       delay: float) -> None:
        entity = self.nodes[node]

        def arrive() -> None:
            if self._interfaces.get((node, interface)) != link:
                self.drops.append(Drop(self.now, node, "receiver left the link", data))
                return
            self._receive(entity, interface, data)

        self._push(self.now + delay, arrive)

    # -- queries ---------------------------------------------------------------------------

    def events_of(self, kind: str, node: str | None = None) -> list[Event]:
        """Events of ``kind`` (optionally from ``node``), in order."""
        return [e for e in self.events if e.kind == kind and (node is None or e.node == node)]

    def packets(self, payload_type: type | None = None, *, sender: str | None = None
                ) -> Iterator[tuple[LoggedPacket, IPv6Packet]]:
        """Logged packets (decoded) whose innermost payload is a ``payload_type``."""
        for record in self.log:
            if sender is not None and record.sender != sender:
                continue
            packet = record.decode()
            if payload_type is None or isinstance(innermost(packet).payload, payload_type):
                yield record, packet

    def messages(self, payload_type: type, *, sender: str | None = None) -> list[Any]:
        """The innermost payloads of type ``payload_type`` of every logged packet."""
        return [innermost(p).payload for _r, p in self.packets(payload_type, sender=sender)]

    def write_pcap(self, path: Path) -> int:
        """Write every logged packet to a pcap file (link type raw IPv6)."""
        return write_pcap(path, [CapturedPacket(timestamp=r.time, data=r.data)
                                 for r in self.log])
