"""Nodes, interfaces, IPv6 forwarding and entity hosting on the discrete-event kernel.

A :class:`Network` owns a :class:`~.kernel.Kernel`, the nodes and the links
(:mod:`.links`). Links carry :class:`~.frame.Frame`\\ s: real packets that travel as decoded
objects and are encoded only where bytes are used (a capture, a drop log), or, with
``Network(wire_bytes=True)``, as the bytes the wire layer produced, which every receiving
entity and application decodes again (:mod:`.frame`). A node reads only what a forwarding
decision needs, the destination address and the hop limit (RFC 8200 §3).

Receiving (:meth:`Node.receive`), per RFC 8200 / RFC 4291:

* link-scope multicast is taken by the node's entities on that interface: ``ff02::1`` always,
  ``ff02::2`` only on routers, a solicited-node group (RFC 4291 §2.7.1) only when the interface
  has, or proxies, an address with those low 24 bits; other multicast groups go to every node
  on the link. Multicast is never forwarded.
* a unicast destination the node owns (any interface: the weak host model of RFC 1122 §3.3.4.2)
  or that one of its entities ``Claim``\\ed is delivered locally: to the claiming entity, else a
  UDP datagram to a bound port (:meth:`Node.bind_udp`) goes to that application, else to every
  entity hosted on the interface.
* anything else is forwarded by a router (hop limit decremented; a packet whose hop limit would
  reach 0 is dropped: RFC 8200 §3 [simplification: no ICMPv6 Time Exceeded is generated]) or
  dropped by a host.

Sending: a route lookup is longest prefix match over the node's routes (added by the scenario
with :meth:`Node.add_route`, by ``ConfigureRoute`` actions, and a connected route for each
``ConfigureAddress`` prefix, as Linux does). The next hop (the route's ``via`` or the
destination itself) is resolved on the outgoing link by the link's address oracle
(:meth:`.links.Link.resolve`); a *host* with nothing resolvable sends to a router on the link
(its default router, RFC 4861 §6.3.6), a router drops ("address unresolved"). An entity's
``Transmit`` names an interface; on a router, an off-link destination that its routing table
sends out of another interface follows the routing table instead.

Entities (:mod:`mipshop.protocol.entity`) are hosted with :meth:`Node.host`; after every input
(packet, timer, command through :meth:`Node.call`) the node performs the entity's actions and
re-arms one kernel timer at ``entity.next_deadline()``. A node's ``processing`` (seconds, 0 by
default) delays every signalling message (a Mobility Header or ICMPv6 message, innermost in a
tunnel) handed to its entities by that much: the time a real daemon takes to read, handle and
answer a message (the scenario's ``processing`` table), one at a time in arrival order. Data
packets take no time of their own (a daemon forwards them in well under a millisecond) but
wait behind a message being handled. A node's ``configure_time`` (seconds, 0 by default) is
what configuring an address costs it: when an entity configures one, the packets it sends in
the same step leave that much later (as on the testbed, whose runtime configures an address
through netlink before it sends anything else).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from ..protocol.base.actions import (
    CaptureSource,
    Claim,
    ConfigureAddress,
    ConfigureRoute,
    Deliver,
    Event,
    ForgetBinding,
    HostAddress,
    Intercept,
    PersistBinding,
    PersistReplay,
    Transmit,
)
from ..protocol.base.entity import Entity
from ..protocol.base.tables import EMPTY
from ..wire.errors import MalformedPacket
from ..wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet
from ..wire.pcap import CapturedPacket, write_pcap, write_pcapng
from .frame import Frame
from .kernel import Kernel, Timer
from .links import Link, PointToPointLink, SharedLink

_ALL_NODES = IPv6Address("ff02::1").packed
_ALL_ROUTERS = IPv6Address("ff02::2").packed
_SOLICITED_PREFIX = IPv6Address("ff02::1:ff00:0").packed[:13]
_PROTO_UDP = 17
_NONE: frozenset[bytes] = frozenset()


#: Handler of an application bound to a UDP port: ``(packet, now, link_name)``.
UDPHandler = Callable[[IPv6Packet, float, "str | None"], None]
#: Observer of every frame put on a link: ``(start of serialization, link name, frame)``.
Tap = Callable[[float, str, Frame], None]


def _packed(address: IPv6Address | str | bytes) -> bytes:
    if isinstance(address, bytes):
        return address
    return IPv6Address(address).packed


@dataclass(frozen=True, slots=True)
class Route:
    """A forwarding entry: ``prefix`` out of ``interface``, via ``via`` (None: on-link)."""

    prefix: IPv6Network
    interface: str
    via: IPv6Address | None = None
    connected: bool = False
    #: ``via`` packed (None: on-link), made once: what forwarding resolves on the link.
    via_packed: bytes | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.via is not None:
            object.__setattr__(self, "via_packed", self.via.packed)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An entity's :class:`~mipshop.protocol.actions.Event` as logged by its node."""

    time: float
    node: str
    event: Event

    @property
    def kind(self) -> str:
        """The event's kind (``binding.registered``, ``wifi.LinkUp``, ...)."""
        return self.event.kind


@dataclass(frozen=True, slots=True)
class DropRecord:
    """A frame or packet the network did not deliver, and why."""

    time: float
    where: str
    reason: str
    data: bytes


class Capture:
    """Records ``(time, link, bytes)`` of every frame put on a link, for pcap files per link or
    per run. Create with :meth:`Network.capture`.

    The time is the start of the frame's serialization (where a sniffer at the sender would see
    it); frames lost on the wire are included, frames refused by a full queue are not.
    """

    def __init__(self, links: Iterable[str] | None = None) -> None:
        self.links = None if links is None else frozenset(links)
        self.records: list[tuple[float, str, bytes]] = []

    def record(self, time: float, link: str, data: bytes) -> None:
        """Store one frame (called by the links)."""
        if self.links is None or link in self.links:
            self.records.append((time, link, data))

    def packets(self, link: str | None = None) -> list[CapturedPacket]:
        """The captured frames (of one link, or all), in time order, each naming its link."""
        chosen = [r for r in self.records if link is None or r[1] == link]
        chosen.sort(key=lambda r: r[0])
        return [CapturedPacket(timestamp=t, data=d, interface=name) for t, name, d in chosen]

    def write_pcapng(self, path: str | Path) -> int:
        """Write one pcapng of the whole run with one interface per link, named after it, so
        that a packet crossing three links shows three times, each copy with its link (Wireshark:
        ``frame.interface_name``). Returns the number of frames written."""
        links = sorted({r[1] for r in self.records})
        return write_pcapng(path, self.packets(), interfaces=links)

    def write_pcap(self, path: str | Path, link: str | None = None) -> int:
        """Write one pcap (raw IPv6, link type 229) of one link or of the whole run."""
        return write_pcap(path, self.packets(link))

    def write_per_link(self, directory: str | Path) -> dict[str, Path]:
        """Write ``<directory>/<link>.pcap`` for every link seen; returns link -> path."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for link in sorted({r[1] for r in self.records}):
            paths[link] = folder / f"{link}.pcap"
            self.write_pcap(paths[link], link)
        return paths


class Interface:
    """A node's named interface: link-layer address, IPv6 addresses, the link it is on.

    ``up`` is False while a radio is switching (:mod:`.wifi`): frames arriving then go to
    ``down_handler`` if set (an access point's buffer) or are dropped as "radio off", and frames
    sent are dropped.
    """

    __slots__ = (
        "_lengths",
        "down_handler",
        "link",
        "link_address",
        "name",
        "node",
        "packed",
        "proxied",
        "up",
    )

    def __init__(self, node: Node, name: str, link_address: bytes) -> None:
        self.node = node
        self.name = name
        self.link_address = link_address
        # An interface holds a few addresses of its own (a mobile node two or three, and it
        # replaces its care-of address at every handover; what a router answers for in
        # numbers is in ``proxied``), so tuples, replaced whole, not a dictionary and a set:
        # those are 232 and 216 bytes for two entries and keep the room of every address
        # deleted from them, these 56 and 72 bytes.
        #: The packed addresses (what frames carry) the interface answers for, in the order
        #: they were added.
        self.packed: tuple[bytes, ...] = ()
        #: Each address and its prefix length, flat: ``(address, length, address, ...)``.
        self._lengths: tuple[IPv6Address | int, ...] = ()
        #: Addresses proxied here (an empty frozenset until the first: most have none).
        self.proxied: set[bytes] | frozenset[bytes] = _NONE
        self.link: Link | None = None
        self.up = True
        self.down_handler: Callable[[Interface, Frame], None] | None = None

    def __repr__(self) -> str:
        return f"<Interface {self.node.name}.{self.name}>"

    @property
    def addresses(self) -> dict[IPv6Address, int]:
        """The interface's addresses and their prefix lengths, in the order they were added
        (a new dictionary at each use)."""
        flat = self._lengths
        return dict(zip(flat[::2], flat[1::2], strict=True))  # type: ignore[arg-type]

    def _set_packed(self, packed: tuple[bytes, ...]) -> None:
        node = self.node
        if len(node.interfaces) == 1:
            node._local = packed  # the node's addresses are its one interface's
        self.packed = packed

    def add_address(self, address: IPv6Address | str, prefix_length: int | None = None) -> None:
        """Configure an address (``"2001:db8::1/64"`` or address + length; default /64)."""
        if type(address) is IPv6Address:
            # The caller's (immutable) object, not a copy made from its text: an entity's
            # ConfigureAddress hands over an address the entity keeps too (100 bytes each).
            addr = address
        else:
            text = str(address)
            if "/" in text:
                text, length = text.split("/")
                prefix_length = int(length)
            addr = IPv6Address(text)
        length_ = 64 if prefix_length is None else prefix_length
        packed = addr.packed
        flat = self._lengths
        if packed in self.packed:
            # Configured again: the new prefix length replaces the old, in its place.
            at = 2 * self.packed.index(packed) + 1
            self._lengths = (*flat[:at], length_, *flat[at + 1:])
        else:
            self._lengths = (*flat, addr, length_)
            self._set_packed((*self.packed, packed))
            if len(self.node.interfaces) > 1:
                self.node._local.add(packed)  # type: ignore[union-attr]
        if self.link is not None:
            self.link.register(packed, self, proxy=False)
        if length_ < 128 and not addr.is_link_local:
            self.node._add_route(self.node.network.connected_route(addr, length_, self.name))

    def remove_address(self, address: IPv6Address | str) -> None:
        """Remove an address (and its connected route when no other address needs it)."""
        addr = IPv6Address(str(address).split("/")[0])
        packed = addr.packed
        if packed not in self.packed:
            return
        at = self.packed.index(packed)
        flat = self._lengths
        length = flat[2 * at + 1]
        assert isinstance(length, int)
        self._lengths = (*flat[:2 * at], *flat[2 * at + 2:])
        self._set_packed((*self.packed[:at], *self.packed[at + 1:]))
        node = self.node
        if len(node.interfaces) > 1 and not any(
                packed in i.packed for i in node.interfaces.values()):
            node._local.discard(packed)  # type: ignore[union-attr]
        if self.link is not None:
            self.link.unregister(packed, self)
        if length < 128 and not addr.is_link_local:
            prefix = IPv6Network((addr, length), strict=False)
            if not any(a in prefix for a in self._lengths[::2]):
                self.node.remove_route(prefix, self.name, connected=True)

    def answers(self, address: bytes) -> bool:
        """True if the interface owns or proxies ``address`` (packed)."""
        return address in self.packed or address in self.proxied


class _Hosted:
    """Bookkeeping of one entity on a node: its interfaces and its armed kernel timer."""

    __slots__ = ("deadline", "entity", "interfaces", "node", "timer")

    def __init__(self, node: Node, entity: Entity, interfaces: frozenset[str] | None) -> None:
        self.node = node
        self.entity = entity
        self.interfaces = interfaces
        self.timer: Timer | None = None
        self.deadline: float | None = None


def _entity_timer(hosted: _Hosted) -> None:
    """The kernel timer of a hosted entity fired (:meth:`Node._entity_timer`)."""
    hosted.node._entity_timer(hosted)


class RoutingTable:
    """Longest-prefix match in O(number of distinct prefix lengths): one dict per prefix
    length, from the prefix's leading bits to the routes for it in the order they were added
    (the earliest wins among equal prefixes). No per-destination cache, so the table's size is
    the routes' count however many addresses packets are sent to.

    A table of at most :attr:`FEW` routes (a host's: a connected route per address and a
    default route) is one tuple of ``(length, key, route)`` in the order the dicts would give,
    scanned in turn: the dicts, their lists and the sorted lengths cost a host about 500 bytes
    for a single route (a city of mobile nodes holds one table each). The first route past
    :attr:`FEW` moves the table to the dicts for good; the answers are the same either way.
    """

    __slots__ = ("_by_length", "_few", "_lengths")

    #: Routes kept in the scanned tuple before the table moves to the dicts.
    FEW = 4

    def __init__(self) -> None:
        self._few: tuple[tuple[int, bytes | int, Route], ...] | None = ()
        # The dicts are made when the table outgrows the tuple (unset slots hold nothing).
        self._by_length: dict[int, dict[bytes | int, list[Route]]]
        self._lengths: list[int]

    @staticmethod
    def _key(packed: bytes, length: int) -> bytes | int:
        if length & 7 == 0:
            return packed[: length >> 3]
        return int.from_bytes(packed, "big") >> (128 - length)

    def add(self, route: Route) -> bool:
        """Add ``route``; False if the very same route is already there."""
        length = route.prefix.prefixlen
        key = self._key(route.prefix.network_address.packed, length)
        few = self._few
        if few is not None:
            if any(entry[2] == route for entry in few):
                return False
            if len(few) < self.FEW:
                # Where the dicts would list it: after the routes of its prefix if any, else
                # after every route of its length (a new key goes last in its length's dict).
                same = [k for k, entry in enumerate(few) if entry[0] == length and entry[1] == key]
                at = same[-1] + 1 if same else sum(1 for entry in few if entry[0] >= length)
                self._few = (*few[:at], (length, key, route), *few[at:])
                return True
            self._few = None
            self._by_length, self._lengths = {}, []
            for entry in few:
                self._insert(entry[0], entry[1], entry[2])
        return self._insert(length, key, route)

    def _insert(self, length: int, key: bytes | int, route: Route) -> bool:
        table = self._by_length.get(length)
        if table is None:
            table = self._by_length[length] = {}
            self._lengths = sorted(self._by_length, reverse=True)
        entries = table.setdefault(key, [])
        if route in entries:
            return False
        entries.append(route)
        return True

    def remove(self, prefix: IPv6Network, interface: str, connected: bool | None) -> None:
        """Remove the routes for ``prefix`` out of ``interface`` (with ``connected`` set, only
        the connected, or only the other, ones)."""
        few = self._few
        if few is not None:
            self._few = tuple(
                entry for entry in few
                if not (entry[2].prefix == prefix and entry[2].interface == interface
                        and (connected is None or entry[2].connected == connected)))
            return
        length = prefix.prefixlen
        table = self._by_length.get(length)
        if table is None:
            return
        key = self._key(prefix.network_address.packed, length)
        entries = table.get(key)
        if not entries:
            return
        kept = [r for r in entries
                if not (r.prefix == prefix and r.interface == interface
                        and (connected is None or r.connected == connected))]
        if kept:
            table[key] = kept
            return
        del table[key]
        if not table:
            del self._by_length[length]
            self._lengths = sorted(self._by_length, reverse=True)

    def lookup(self, packed: bytes) -> Route | None:
        """The route for a destination address (packed), or None."""
        few = self._few
        if few is not None:
            for length, key, route in few:
                if length & 7 == 0:
                    if packed[: length >> 3] == key:
                        return route
                elif int.from_bytes(packed, "big") >> (128 - length) == key:
                    return route
            return None
        by_length = self._by_length
        for length in self._lengths:
            if length & 7 == 0:
                entries = by_length[length].get(packed[: length >> 3])
            else:
                entries = by_length[length].get(int.from_bytes(packed, "big") >> (128 - length))
            if entries:
                return entries[0]
        return None

    def routes(self) -> list[Route]:
        """Every route, longest prefix first (equal prefixes in the order they were added)."""
        if self._few is not None:
            return [entry[2] for entry in self._few]
        return [route for length in self._lengths
                for entries in self._by_length[length].values() for route in entries]


def _signalling(frame: Frame) -> bool:
    """True for a Mobility Header or ICMPv6 message, possibly inside tunnels (a frame that
    does not decode is handed on at once: its entity drops it)."""
    try:
        packet = frame.decoded()
    except MalformedPacket:
        return False
    while isinstance(packet.payload, IPv6Packet):
        packet = packet.payload
    payload = packet.payload
    return hasattr(payload, "MH_TYPE") or hasattr(payload, "ICMP_TYPE")


class Node:
    """A host or router (``forwarding=True``) with interfaces, routes, entities and sockets."""

    __slots__ = ("_arrival_link", "_backlog", "_claims", "_counters", "_hold_until", "_local",
                 "_table", "_udp", "configure_time", "entities", "forwarding", "interfaces",
                 "kernel", "name", "network", "processing")

    def __init__(self, network: Network, name: str, *, forwarding: bool = False) -> None:
        self.network = network
        self.kernel = network.kernel
        self.name = name
        self.forwarding = forwarding
        self.interfaces: dict[str, Interface] = {}
        #: (None until :attr:`counters` is first used: most mobile nodes' stay empty.)
        self._counters: Counter[str] | None = None
        self.entities: list[_Hosted] = []
        #: The packed addresses of the node's interfaces: while it has one interface (every
        #: mobile node) that interface's own tuple, then a set of them all.
        self._local: tuple[bytes, ...] | set[bytes] = ()
        #: The shared read-only empty mapping until the first claim or binding (replaced
        #: then; most mobile nodes have neither, and a write to it fails instead of reaching
        #: every node).
        self._claims: Mapping[bytes, _Hosted] = EMPTY
        self._udp: Mapping[int, UDPHandler] = EMPTY
        self._table = RoutingTable()
        self._arrival_link: str | None = None
        #: Seconds each packet waits before a hosted entity handles it (module docstring).
        self.processing = 0.0
        #: Seconds an address configuration holds up what is sent with it (module docstring).
        self.configure_time = 0.0
        #: Until when the entities' packets are held by an address configuration.
        self._hold_until = 0.0
        #: When the entities will have handled what is waiting (processing > 0).
        self._backlog = 0.0

    def __repr__(self) -> str:
        return f"<Node {self.name}>"

    @property
    def counters(self) -> Counter[str]:
        """What the node counted (ignored multicasts, UDP received, forwarded, ...): made at
        its first use, an empty ``Counter`` is 88 bytes and a city's nodes mostly keep none."""
        counters = self._counters
        if counters is None:
            counters = self._counters = Counter()
        return counters

    # -- configuration -----

    def add_interface(self, name: str, link_address: bytes | None = None) -> Interface:
        """Create an interface (a locally administered MAC is made up when none is given)."""
        if name in self.interfaces:
            raise ValueError(f"{self.name} already has an interface {name}")
        if link_address is None:
            link_address = self.network.next_link_address()
        interface = Interface(self, name, link_address)
        if not self.interfaces:
            # A node with one interface (every mobile node) has the interface's addresses as
            # its own: one tuple for both, not two equal ones. With a second interface the
            # node's are a set, the union of its interfaces'.
            self._local = interface.packed
        elif len(self.interfaces) == 1:
            self._local = set(self._local)
        self.interfaces[name] = interface
        return interface

    def add_route(
        self,
        prefix: IPv6Network | str,
        interface: str,
        via: IPv6Address | str | None = None,
    ) -> None:
        """Add a route (``"::/0"`` is the default route); longest prefix wins."""
        self._add_route(Route(
            IPv6Network(prefix), interface, None if via is None else IPv6Address(via)))

    def remove_route(
        self, prefix: IPv6Network | str, interface: str, *, connected: bool | None = None
    ) -> None:
        """Remove the routes for ``prefix`` out of ``interface``."""
        self._table.remove(IPv6Network(prefix), interface, connected)

    def _add_route(self, route: Route) -> None:
        if route.interface not in self.interfaces:
            raise ValueError(f"{self.name} has no interface {route.interface}")
        self._table.add(route)

    @property
    def routes(self) -> list[Route]:
        """The routes, longest prefix first (among equal prefixes, the earliest added)."""
        return self._table.routes()

    def lookup(self, destination: IPv6Address | bytes) -> Route | None:
        """Longest-prefix-match route for ``destination``."""
        return self._table.lookup(_packed(destination))

    def bind_udp(self, port: int, handler: UDPHandler) -> None:
        """Deliver UDP datagrams for ``port`` addressed to this node to ``handler``."""
        if self._udp is EMPTY:
            self._udp = {}
        self._udp[port] = handler  # type: ignore[index]

    # -- entities -----

    def host(self, entity: Entity, interfaces: Iterable[str] | None = None) -> Entity:
        """Run ``entity`` on this node (on ``interfaces``, default all of them); entity names
        are unique in the network."""
        if entity.name in self.network.entity_nodes:
            raise ValueError(f"an entity named {entity.name} is already hosted")
        chosen = None if interfaces is None else frozenset(interfaces)
        self.entities.append(_Hosted(self, entity, chosen))
        self.network.entity_nodes[entity.name] = self
        return entity

    def _hosted(self, entity: Entity) -> _Hosted:
        for hosted in self.entities:
            if hosted.entity is entity:
                return hosted
        raise ValueError(f"{entity.name} is not hosted on {self.name}")

    def call(self, entity: Entity, command: Callable[..., Any], *args: Any) -> Any:
        """Run a command now, ``command(*args, now)``, then perform the entity's actions."""
        result = command(*args, self.kernel.now)
        self.flush(self._hosted(entity))
        return result

    def flush(self, hosted: _Hosted) -> None:
        """Perform every pending action of ``hosted`` and re-arm its timer."""
        entity = hosted.entity
        actions = entity.pull_actions()
        while actions:
            if self.configure_time > 0 and any(
                    isinstance(a, ConfigureAddress) and a.active
                    and not a.address.is_link_local for a in actions):
                # An address configuration (module docstring): what is sent waits for it.
                self._hold_until = max(self._hold_until, self.kernel.now + self.configure_time)
            for action in actions:
                if action.__class__ is Transmit and self._hold_until <= self.kernel.now:
                    self._transmit(action)  # most actions: not through _perform's tests
                elif isinstance(action, Transmit) and self._hold_until > self.kernel.now:
                    self.kernel.schedule_at(self._hold_until, self._perform, hosted, action)
                else:
                    self._perform(hosted, action)
            actions = entity.pull_actions()
        deadline = entity.next_deadline()
        if deadline == hosted.deadline:
            return
        if hosted.timer is not None:
            self.kernel.cancel(hosted.timer)
            hosted.timer = None
        hosted.deadline = deadline
        if deadline is not None:
            now = self.kernel.now
            # A module function and the hosted entity, not a bound method made at every
            # re-arm: a mobile node's entity has a kernel timer armed all run.
            hosted.timer = self.kernel.call_at(
                deadline if deadline > now else now, _entity_timer, hosted)

    def _entity_timer(self, hosted: _Hosted) -> None:
        hosted.timer = None
        hosted.deadline = None
        self._arrival_link = None
        hosted.entity.handle_timer(self.kernel.now)
        self.flush(hosted)

    def _transmit(self, action: Transmit) -> None:
        frame = Frame.of(action.packet, encode=self.network.wire_bytes)
        if action.interface is None:
            self.send_routed(frame)
        else:
            self.send_on(self.interfaces[action.interface], frame, action.link_destination)

    def _perform(self, hosted: _Hosted, action: object) -> None:
        if isinstance(action, Transmit):
            self._transmit(action)
        elif isinstance(action, Event):
            network = self.network
            if network.record_events or action.kind in network.subscribers:
                network.record(EventRecord(self.kernel.now, self.name, action))
        elif isinstance(action, Deliver):
            self.deliver_to_application(action.packet)
        elif isinstance(action, ConfigureAddress):
            interface = self.interfaces[action.interface]
            if action.active:
                interface.add_address(action.address, action.prefix_length)
            else:
                interface.remove_address(action.address)
        elif isinstance(action, ConfigureRoute):
            if action.active:
                self._add_route(Route(action.prefix, action.interface, action.via))
            else:
                self.remove_route(action.prefix, action.interface, connected=False)
        elif isinstance(action, Claim):
            self._claim(hosted, action)
        elif isinstance(action, Intercept | HostAddress | CaptureSource):
            # The simulator's applications hand their packets to send_packet already, and
            # its routers show what they forward to their entity first.
            pass
        elif isinstance(action, PersistBinding | ForgetBinding | PersistReplay):
            pass  # nothing crashes in the simulator: the entity's memory is its state
        else:
            raise TypeError(f"unknown action {action!r}")

    def _claim(self, hosted: _Hosted, claim: Claim) -> None:
        packed = claim.address.packed
        if claim.active:
            if self._claims is EMPTY:
                self._claims = {}
            self._claims[packed] = hosted  # type: ignore[index]
            if claim.proxy_interface is not None:
                interface = self.interfaces[claim.proxy_interface]
                if not interface.proxied:
                    interface.proxied = set()
                interface.proxied.add(packed)  # type: ignore[union-attr]
                if interface.link is not None:
                    interface.link.register(packed, interface, proxy=True)
            return
        if self._claims.get(packed) is hosted:
            del self._claims[packed]  # type: ignore[attr-defined]
        for interface in self.interfaces.values():
            if packed in interface.proxied:
                interface.proxied.discard(packed)  # type: ignore[union-attr]
                if interface.link is not None:
                    interface.link.unregister(packed, interface)

    # -- receiving -----

    def receive(self, interface: Interface, frame: Frame) -> None:
        """Take a frame that arrived on ``interface`` (called by the link)."""
        destination = frame.dst
        link = interface.link
        self._arrival_link = link.name if link is not None else None
        if destination[0] == 0xFF:
            if self._wants_multicast(interface, destination):
                self._to_entities(interface, frame, None)
            else:
                self.counters["multicast.ignored"] += 1
            return
        if destination in self._local or destination in self._claims:
            self._local_delivery(interface, frame, destination)
            return
        if self.forwarding:
            self.forward(frame, destination)
            return
        self.network.drop("not for this host", self.name, frame)

    def _wants_multicast(self, interface: Interface, group: bytes) -> bool:
        if group == _ALL_NODES:
            return True
        if group == _ALL_ROUTERS:
            return self.forwarding
        if group[:13] == _SOLICITED_PREFIX:
            tail = group[13:]
            # Without the union of the two sets (a new set per frame and station).
            return (any(a[13:] == tail for a in interface.packed)
                    or any(a[13:] == tail for a in interface.proxied))
        return True

    def _local_delivery(self, interface: Interface, frame: Frame, destination: bytes) -> None:
        claimant = self._claims.get(destination)
        if claimant is not None:
            self._to_entity(claimant, interface, frame)
            return
        if self._udp:
            port = _udp_port(frame)
            handler = None if port is None else self._udp.get(port)
            if handler is not None:
                try:
                    packet = (decode_packet(frame.data) if self.network.wire_bytes
                              else frame.decoded())
                except MalformedPacket:
                    self.network.drop("malformed", self.name, frame)
                    return
                self.counters["udp.received"] += 1
                handler(packet, self.kernel.now, self._arrival_link)
                return
        self._to_entities(interface, frame, "no listener")

    def _to_entities(self, interface: Interface, frame: Frame, unheard: str | None) -> None:
        taken = False
        for hosted in self.entities:
            if hosted.interfaces is None or interface.name in hosted.interfaces:
                self._to_entity(hosted, interface, frame)
                taken = True
        if not taken and unheard is not None:
            self.network.drop(unheard, self.name, frame)

    def _to_entity(self, hosted: _Hosted, interface: Interface, frame: Frame) -> None:
        if self.processing > 0:
            # The entity's processing time (module docstring): one packet at a time, in the
            # order they came, so a data packet waits behind a message being handled.
            now = self.kernel.now
            start = max(now, self._backlog)
            done = start + self.processing if _signalling(frame) else start
            if done > now:
                self._backlog = done
                self.kernel.schedule_at(done, self._processed, hosted, interface, frame,
                                        self._arrival_link)
                return
        self._handle(hosted, interface, frame)

    def _processed(self, hosted: _Hosted, interface: Interface, frame: Frame,
                   link: str | None) -> None:
        self._arrival_link = link
        self._handle(hosted, interface, frame)

    def _handle(self, hosted: _Hosted, interface: Interface, frame: Frame) -> None:
        # An entity decodes bytes itself (and verifies authenticators over them); an object
        # arrives with the hop limit this copy reached.
        if self.network.wire_bytes or frame.packet is None:
            hosted.entity.receive(frame.data, interface.name, self.kernel.now)
        else:
            hosted.entity.receive(frame.decoded(), interface.name, self.kernel.now)
        self.flush(hosted)

    def deliver_to_application(self, packet: IPv6Packet) -> None:
        """A ``Deliver`` action: the packet goes to a bound UDP port, or is counted."""
        payload = packet.payload
        if isinstance(payload, UDPDatagram):
            handler = self._udp.get(payload.dst_port)
            if handler is not None:
                self.counters["udp.received"] += 1
                handler(packet, self.kernel.now, self._arrival_link)
                return
        self.counters["delivered.unbound"] += 1

    # -- sending -----

    def send(self, packet: IPv6Packet) -> None:
        """Send an application packet from this node, routed by its destination."""
        self.send_routed(Frame.of(packet, encode=self.network.wire_bytes))

    def forward(self, frame: Frame, destination: bytes | None = None) -> None:
        """Forward a transit packet: decrement the hop limit and route it (RFC 8200 §3)."""
        if frame.hop_limit <= 1:
            self.network.drop("hop limit exceeded", self.name, frame)
            return
        self.counters["forwarded"] += 1
        # send_routed(frame.forwarded()), without its checks of what it was handed.
        self._route_out(frame.forwarded(), destination)

    def send_routed(self, frame: Frame | IPv6Packet | bytes,
                    destination: bytes | None = None) -> None:
        """Send a frame (or a packet, or raw bytes) out of the interface the longest-prefix
        route for its destination names."""
        self._route_out(self._frame(frame), destination)

    def _route_out(self, frame: Frame, destination: bytes | None) -> None:
        """Send ``frame`` out of the interface its longest-prefix route names, to the route's
        next hop (``destination``, packed, defaults to the frame's own)."""
        if destination is None:
            destination = frame.dst
        route = self._table.lookup(destination)
        if route is None:
            self.network.drop("no route", self.name, frame)
            return
        via = route.via_packed
        self._emit(self.interfaces[route.interface], frame,
                   destination if via is None else via, None)

    def send_on(
        self, interface: Interface, frame: Frame | IPv6Packet | bytes,
        link_destination: bytes | None = None,
    ) -> None:
        """Send a frame (or a packet, or raw bytes) on ``interface`` (an entity's ``Transmit``
        with an interface)."""
        frame = self._frame(frame)
        destination = frame.dst
        next_hop = destination
        # Multicast and link-local (fe80::/10) destinations are on-link by definition.
        if (destination[0] != 0xFF and link_destination is None
                and not (destination[0] == 0xFE and destination[1] & 0xC0 == 0x80)):
            route = self._table.lookup(destination)
            if route is not None and route.interface == interface.name and route.via is not None:
                next_hop = route.via_packed  # type: ignore[assignment]
            elif (self.forwarding and route is not None and route.interface != interface.name
                  and interface.link is not None and interface.link.resolve(destination) is None):
                # A router's entity named an interface the destination is not on: the routing
                # table knows better (a home agent tunnelling to a care-of address): what
                # send_routed(frame, destination) does, with the route just found.
                via = route.via_packed
                self._emit(self.interfaces[route.interface], frame,
                           destination if via is None else via, None)
                return
        self._emit(interface, frame, next_hop, link_destination)

    def _frame(self, item: Frame | IPv6Packet | bytes) -> Frame:
        if isinstance(item, Frame):
            return item
        if isinstance(item, IPv6Packet):
            return Frame.of(item, encode=self.network.wire_bytes)
        return Frame.from_bytes(bytes(item))

    def _emit(
        self,
        interface: Interface,
        frame: Frame,
        next_hop: bytes,
        link_destination: bytes | None,
    ) -> None:
        link = interface.link
        if link is None:
            self.network.drop("no link", self.name, frame)
            return
        if not interface.up:
            self.network.drop("radio off", self.name, frame)
            return
        if next_hop[0] == 0xFF:
            link.transmit(interface, frame, None)
            return
        if link_destination is not None:
            receiver = link.by_link_address(link_destination)
        else:
            receiver = link.resolve(next_hop)
            if receiver is None and not self.forwarding:
                receiver = link.default_router(interface)
        if receiver is None or receiver is interface:
            self.network.drop("address unresolved", self.name, frame)
            return
        link.transmit(interface, frame, receiver)


def _udp_port(frame: Frame) -> int | None:
    """The destination port of a UDP datagram right after the IPv6 header (no extension
    header, no tunnel), or None: what the node's sockets can take without an entity."""
    packet = frame.packet
    if packet is None:
        data = frame.data
        if len(data) >= 44 and data[6] == _PROTO_UDP:
            return int.from_bytes(data[42:44], "big")
        return None
    payload = packet.payload
    if type(payload) is UDPDatagram and not packet.extension_headers:
        return payload.dst_port
    return None


class Network:
    """The simulated network: kernel, nodes, links, event log, drops and captures."""

    def __init__(self, seed: int = 0, *, kernel: Kernel | None = None,
                 record_drops: bool = False, wire_bytes: bool = False,
                 record_events: bool = True) -> None:
        self.kernel = kernel if kernel is not None else Kernel(seed)
        #: Frames carry encoded bytes that every receiver decodes (:mod:`.frame`).
        self.wire_bytes = wire_bytes
        self.nodes: dict[str, Node] = {}
        self.links: dict[str, Link] = {}
        #: Every event, in order, when ``record_events`` (a long run would rather
        #: :meth:`subscribe` to the kinds it measures: nothing is then kept).
        self.events: list[EventRecord] = []
        self.record_events = record_events
        #: Handlers of events by kind (:meth:`subscribe`).
        self.subscribers: dict[str, list[Callable[[EventRecord], None]]] = {}
        self.entity_nodes: dict[str, Node] = {}
        self.captures: list[Capture] = []
        #: Observers of every frame put on a link, given the frame itself (no encoding).
        self.taps: list[Tap] = []
        self.drops: Counter[str] = Counter()
        self.drop_log: list[DropRecord] | None = [] if record_drops else None
        self._mac = itertools.count(1)
        self._connected: dict[tuple[int, int, str], Route] = {}

    def connected_route(self, address: IPv6Address, length: int, interface: str) -> Route:
        """The connected route of ``address``/``length`` out of an interface named
        ``interface``: one frozen object for every node that configures an address in that
        prefix (thousands of mobile nodes on 200 access links would otherwise each hold a
        route, a network and its attribute dict: about 300 bytes)."""
        key = (int(address) >> (128 - length), length, interface)
        route = self._connected.get(key)
        if route is None:
            route = self._connected[key] = Route(
                IPv6Network((address, length), strict=False), interface, None, connected=True)
        return route

    @property
    def now(self) -> float:
        """The kernel's virtual time."""
        return self.kernel.now

    def next_link_address(self) -> bytes:
        """A fresh locally administered unicast MAC (02:00:00:00:00:01, ...)."""
        return b"\x02\x00" + next(self._mac).to_bytes(4, "big")

    def add_node(self, name: str, *, forwarding: bool = False) -> Node:
        """Create a host (or a router with ``forwarding=True``)."""
        if name in self.nodes:
            raise ValueError(f"duplicate node {name}")
        node = self.nodes[name] = Node(self, name, forwarding=forwarding)
        return node

    def add_router(self, name: str) -> Node:
        """Create a forwarding node."""
        return self.add_node(name, forwarding=True)

    def _add_link(self, link: Link, ends: Iterable[Interface]) -> Link:
        if link.name in self.links:
            raise ValueError(f"duplicate link {link.name}")
        self.links[link.name] = link
        for interface in ends:
            link.attach(interface)
        return link

    def point_to_point(
        self, name: str, a: Interface, b: Interface, *, delay: float = 0.0,
        bandwidth: float | None = None, queue_limit: int | None = None, loss: float = 0.0,
    ) -> PointToPointLink:
        """Connect two interfaces with a full-duplex link."""
        link = PointToPointLink(self, name, delay=delay, bandwidth=bandwidth,
                                queue_limit=queue_limit, loss=loss)
        self._add_link(link, (a, b))
        return link

    def shared_link(
        self, name: str, interfaces: Iterable[Interface] = (), *, delay: float = 0.0,
        bandwidth: float | None = None, queue_limit: int | None = None, loss: float = 0.0,
    ) -> SharedLink:
        """Create a broadcast medium and attach ``interfaces`` to it."""
        link = SharedLink(self, name, delay=delay, bandwidth=bandwidth,
                          queue_limit=queue_limit, loss=loss)
        self._add_link(link, interfaces)
        return link

    def capture(self, links: Iterable[str] | None = None) -> Capture:
        """Start recording frames (on ``links``, default all) from now on."""
        capture = Capture(links)
        self.captures.append(capture)
        return capture

    def drop(self, reason: str, where: str, frame: Frame) -> None:
        """Count (and with ``record_drops`` log, as bytes) an undelivered frame."""
        self.drops[reason] += 1
        if self.drop_log is not None:
            self.drop_log.append(DropRecord(self.kernel.now, where, reason, frame.data))

    def node_of(self, entity: Entity) -> Node:
        """The node hosting ``entity``."""
        return self.entity_nodes[entity.name]

    def at(self, time: float, entity: Entity, command: Callable[..., Any], *args: Any) -> Timer:
        """At ``time`` run ``command(*args, now)`` on ``entity`` and perform its actions."""
        node = self.node_of(entity)
        return self.kernel.schedule_at(time, node.call, entity, command, *args)

    def events_of(self, kind: str, node: str | None = None) -> list[EventRecord]:
        """Logged events of ``kind`` (optionally from ``node``), in order."""
        return [e for e in self.events if e.event.kind == kind and (node is None or e.node == node)]

    def subscribe(self, kind: str, handler: Callable[[EventRecord], None]) -> None:
        """Call ``handler(record)`` for every event of ``kind`` from now on."""
        self.subscribers.setdefault(kind, []).append(handler)

    def record(self, record: EventRecord) -> None:
        """Log an event (when recording) and hand it to the subscribers of its kind."""
        if self.record_events:
            self.events.append(record)
        handlers = self.subscribers.get(record.event.kind)
        if handlers is not None:
            for handler in handlers:
                handler(record)

    def log_event(self, node: str, kind: str, **fields: Any) -> None:
        """Log an event produced by the simulator itself (802.11, movement, traffic)."""
        if not self.record_events and kind not in self.subscribers:
            return
        now = self.kernel.now
        self.record(EventRecord(now, node, Event(time=now, node=node, kind=kind,
                                                 fields=dict(fields))))

    def run(self, until: float | None = None, max_events: int | None = None) -> int:
        """Run the kernel (see :meth:`.kernel.Kernel.run`)."""
        return self.kernel.run(until=until, max_events=max_events)


__all__ = [
    "Capture",
    "DropRecord",
    "EventRecord",
    "Frame",
    "Interface",
    "Network",
    "Node",
    "Route",
]
