"""Drive one unchanged protocol entity on real packets with the monotonic clock.

The runtime is the real-packet twin of :class:`mipshop.sim.network.Node`: it moves bytes and
time, and carries out the entity's actions (docs/architecture.md, "The entity contract"):

===================  ======================================================================
input / action       what the runtime does (docs/architecture.md)
===================  ======================================================================
TUN packet           ``entity.receive(bytes, interface, now)``; at a mobile node, a packet
                     its own applications sent from the home address goes to
                     ``send_packet`` instead (reverse tunnelling, RFC 6275 §11.3.1)
packet listener      link-local and multicast packets (RS, RA, NS, ...) and signalling to
                     an address the kernel owns (``AF_PACKET``; see :mod:`.sockets`)
timer                one asyncio timer armed at ``entity.next_deadline()``
``Transmit``         the encoded packet leaves through a raw ``IPPROTO_RAW`` socket: bound to
                     the named interface for link-scope destinations and addresses the
                     daemon claims, routed by destination otherwise (as a router forwards);
                     with ``link_destination``, straight to that link-layer address on the
                     named interface (a packet socket: no Neighbor Discovery first)
``Deliver``          the inner packet is written into the TUN device: the kernel delivers it
                     to its sockets (the mobile node's home address lives on the TUN device)
``Claim``            ``address/128`` is routed into the TUN device, with a proxy neighbour
                     entry on ``proxy_interface`` (RFC 6275 §10.4.1) unless the entity
                     answers Neighbor Solicitations itself (the home agent)
``ConfigureAddress`` a link-local address is given to the kernel; any other address is owned
                     in user space like a claim (TUN route + proxy NDP) plus its on-link prefix
                     route, because the kernel would drop the Home Address options and Type 2
                     Routing Headers addressed to it; the mobile node's home address only
                     gains (or loses) its proxy entry on the home link
``ConfigureRoute``   a netlink route
``Event``            a JSON line in the event log (and a bounded in-memory list)
``PersistBinding``,  written to the home agent's or MAP's SQLite database (``state_file``,
``ForgetBinding``,   :mod:`.persistence`) and committed before the next action of another
``PersistReplay``    kind is carried out: the BA after them leaves once they are on disk
===================  ======================================================================

A home agent or a MAP with a ``state_file`` reloads it at start: the entity's
``restore`` puts back the live bindings, their sequence numbers and the RFC 4285 replay
timestamps, and claims the registered addresses again (proxy ND, the route into the TUN
device), so that traffic flows again without waiting for the next Binding Update.

A mobile node's applications reach the network through its home address, an address of the
TUN device: a policy rule sends every locally generated packet from the home address to a
routing table whose default route is the TUN device (path MTU ``application_mtu``, so that
the tunnel header fits), so that the daemon sees it. The mobile node's default route follows
the entity's default router, or right after a fast handover the NAR named in the PrRtAdv.

Kernel behaviours this relies on or works around (found on this kernel, 6.x, no MIP6):

* the TUN MTU bounds what the kernel forwards *into* the device: it must hold a whole
  tunnelled packet (1500), while applications get 1400 from their route;
* forwarding into the TUN device decrements the hop limit, so ICMPv6 sent with hop limit 255
  (FMIPv6 RtSolPr/PrRtAdv) is taken from the packet listener instead, and every other packet
  read from the TUN device gets its hop limit back before the entity sees it (the entity
  is the router that forwards it, and decrements it itself);
* proxy NDP answers only on forwarding interfaces, and delays answers to multicast NS by up
  to ``proxy_delay`` (set to 0);
* an unanswered NS is retried after RetransTimer (1 s): a mobile node configures (and
  proxies) a new address before it sends anything from it;
* a router forwards a packet for a link-local address it does not own back onto the link it
  came from, with an ICMPv6 Redirect: a home agent's links get a policy rule that drops
  such packets in the kernel (the entity sees them on the packet listener and answers as
  RFC 6275 §10.4.2 says).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from ipaddress import IPv6Address, IPv6Network
from typing import IO, Any

from ..protocol.base.actions import (
    Action,
    BindingRecord,
    CaptureSource,
    Claim,
    ConfigureAddress,
    ConfigureRoute,
    Deliver,
    Event,
    HostAddress,
    Intercept,
    Transmit,
)
from ..protocol.base.entity import Entity
from ..protocol.mipv6.binding_agent import BindingAgent
from ..protocol.mipv6.correspondent import CorrespondentNode
from ..protocol.mipv6.home_agent import HomeAgent
from ..protocol.mipv6.mobile_node import MobileNode
from ..wire.dhcpv6 import CLIENT_PORT as DHCP_CLIENT_PORT
from ..wire.errors import MalformedPacket
from ..wire.ipv6 import decode_packet, encode_packet
from .config import DaemonSettings
from .errors import NetError, require_root, require_tun
from .netlink import Netlink, set_sysctl
from .persistence import Journal, StateStore
from .sockets import PacketListener, RawSender
from .tun import TunDevice

#: Routing table of the mobile node's applications (policy rule "from HoA iif lo").
MN_APPLICATION_TABLE = 100
MN_RULE_PRIORITY = 100
_ICMPV6 = 58
#: Metric of routes into the TUN device.
TUN_METRIC = 64
#: A NAR's reverse tunnel for a PCoA it serves (``CaptureSource``): the policy rules "from
#: PCoA iif <link>" look this table up, whose default route is the TUN device; after the local
#: table's rule (packets for the router itself stay its own) and the link-local blackhole.
SOURCE_CAPTURE_TABLE = 101
SOURCE_CAPTURE_PRIORITY = 110
#: Priority of the rule dropping forwarded link-local destinations (after the local table's).
LINK_LOCAL_RULE_PRIORITY = 90
#: A mobile node's host rules (see ``_mobile_node_applications``): what its link brings from a
#: link-local source for another address is dropped; what it brings for an address it owns in
#: user space (a /128 into the TUN device) goes there; the rest is dropped.
MN_LINK_LOCAL_SOURCE_PRIORITY = 93
MN_CLAIMED_RULE_PRIORITY = 94
HOST_BLACKHOLE_PRIORITY = 95
#: Next Header values a correspondent's ingress filter diverts (see ``_correspondent_host``).
_DESTINATION_OPTIONS = 60
_MOBILITY_HEADER = 135


def json_value(value: Any) -> Any:
    """A JSON-friendly form of an event field (addresses as text, bytes as hex)."""
    if isinstance(value, IPv6Address | IPv6Network):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return value.value if isinstance(value.value, int | str) else value.name
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def event_record(event: Event) -> dict[str, Any]:
    """One event as a JSON object: ``time`` (monotonic), ``wall``, ``node``, ``kind``,
    ``fields``."""
    return {"time": event.time, "wall": time.time(), "node": event.node, "kind": event.kind,
            "fields": json_value(event.fields)}


class Runtime:
    """Hosts ``entity`` in this process's network namespace.

    Use :meth:`open` (creates the TUN device, sockets, routes and sysctls, starts the entity)
    then :meth:`attach` to an asyncio loop, and :meth:`close` at the end. ``now`` is
    ``time.monotonic()``, which is also asyncio's clock, so deadlines are armed with
    ``loop.call_at`` directly.
    """

    def __init__(self, entity: Entity, settings: DaemonSettings, *,
                 store: StateStore | None = None) -> None:
        self.entity = entity
        self.settings = settings
        self.netlink: Netlink | None = None
        self.tun: TunDevice | None = None
        self.senders: dict[str | None, RawSender] = {}
        self.listeners: list[PacketListener] = []
        self._listener: dict[str, PacketListener] = {}
        self._dhcp_socket: socket.socket | None = None
        #: Addresses (packed) of a mobile node's applications (:class:`HostAddress`).
        self._host_addresses: set[bytes] = set()
        self.counters: dict[str, int] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=10_000)
        #: Events recorded since the start: the index the next one gets (the control socket's
        #: ``since`` counts from the start, whatever fell out of ``events``).
        self.events_recorded = 0
        self.event_hooks: list[Callable[[dict[str, Any]], None]] = []
        self._log: IO[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        #: Addresses the kernel owns (link-locals, the MN's home address): signalling to them
        #: comes from the packet listener; all others come through the TUN device.
        self.kernel_addresses: set[IPv6Address] = set()
        self._claimed: set[IPv6Address] = set()
        #: Addresses whose locally generated packets are routed into the TUN device.
        self._intercepted: set[IPv6Address] = set()
        #: Whether SOURCE_CAPTURE_TABLE has its route into the TUN device yet.
        self._source_table = False
        self._ingress_qdisc: str | None = None
        #: Packets read from the TUN device were forwarded into it by the kernel (which
        #: decremented their hop limit); a correspondent's come from an ingress filter.
        self._forwarded_into_tun = not isinstance(entity, CorrespondentNode)
        self._prefix_users: dict[tuple[str, IPv6Network], int] = {}
        self._default_router: IPv6Address | None = None
        self._attached = False
        #: The RA-learnt router that was current when the route went via the NAR.
        self._via_nar: IPv6Address | None = None
        self.main_interface = settings.interfaces[0] if settings.interfaces else settings.tun
        #: The entity answers Neighbor Solicitations for what it claims (no kernel proxy).
        self.answers_solicitations = entity.answers_neighbor_solicitations
        #: The binding agent's database: ``store``, or ``settings.state_file`` opened by
        #: :meth:`open`.
        self.store = store
        self._journal = Journal(store, self._perform_reported, self._persistence_failed)

    # -- set-up and tear-down ------------------------------------------------------------------

    def open(self) -> None:
        """Create the TUN device, sockets and kernel state, then start the entity."""
        entity = self.entity
        stored: tuple[list[BindingRecord], list[tuple[bytes, int, int]]] | None = None
        if isinstance(entity, BindingAgent):
            if self.store is None and self.settings.state_file:
                # Before anything is created: a bad state file stops the daemon, one line.
                self.store = StateStore(self.settings.state_file,
                                        role="ha" if isinstance(entity, HomeAgent) else "map",
                                        synchronous=self.settings.state_synchronous)
            self._journal.store = self.store
            if self.store is not None:
                stored = self.store.load()
        require_root()
        require_tun()
        if self.settings.event_log:
            self._log = open(self.settings.event_log, "a", buffering=1)  # noqa: SIM115
        self.netlink = nl = Netlink()
        self.tun = TunDevice(self.settings.tun)
        nl.set_up("lo")
        nl.set_up(self.tun.name, mtu=self.settings.tun_mtu)
        # Forwarding carries packets between the links and the TUN device, and proxy NDP only
        # answers on forwarding interfaces (the kernel's rule). A correspondent is a host.
        nl.forwarding(not isinstance(self.entity, CorrespondentNode))
        nl.prepare_interface(self.tun.name, proxy_ndp=False)
        self.senders[None] = RawSender(None)
        for name in self.settings.interfaces:
            nl.prepare_interface(name, proxy_ndp=not self.answers_solicitations)
            nl.set_up(name)
            if self.answers_solicitations:
                # RFC 6275 §10.4.2: packets for a mobile node's link-local address are not
                # forwarded; the entity discards them (Destination Unreachable, code 3).
                nl.rule_blackhole(IPv6Network("fe80::/10"), iif=name,
                                  priority=LINK_LOCAL_RULE_PRIORITY)
            self.senders[name] = RawSender(name, nl.ifindex(name))
            self.listeners.append(PacketListener(name))
            self._listener[name] = self.listeners[-1]
        if isinstance(entity, MobileNode):
            self._mobile_node_applications(entity)
            # The DHCPv6 client (RFC 8415) is the entity's: its messages reach it from the
            # packet listener (link-local destination). A socket on the client port only keeps
            # the kernel from answering each with an ICMPv6 Port Unreachable; it is drained.
            self._dhcp_socket = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self._dhcp_socket.setblocking(False)
            self._dhcp_socket.bind(("::", DHCP_CLIENT_PORT))
        if isinstance(entity, CorrespondentNode):
            self._correspondent_host(entity)
        start = getattr(entity, "start", None)
        if start is not None:
            start(time.monotonic())
        if stored is not None and isinstance(entity, BindingAgent):
            bindings, replay = stored
            entity.restore(bindings, replay, time.monotonic())
        if isinstance(entity, MobileNode) and nl.carrier(entity.interface):
            # A host on a link from the start (RFC 4861 §6.3.7): it solicits and hears
            # Router Advertisements without waiting for a link-layer trigger.
            entity.attach(time.monotonic())
        self._after_input()

    def _mobile_node_applications(self, mn: MobileNode) -> None:
        """Home address on the TUN device; applications' packets from it go to the daemon.

        The mobile node is a host (RFC 4861 §8.2: it sends no Redirect and forwards
        nothing): its interface has ``forwarding`` 0, and of what arrives there for other
        addresses only the ones it owns in user space (its care-of addresses, /128 routes
        into the TUN device) are passed on; everything else is dropped, silently. The entity
        answers Neighbor Solicitations for its addresses itself (no kernel proxy entries).

        A packet from a link-local source for a care-of address (a router's unicast Neighbor
        Solicitation, PrRtAdv or NAACK Router Advertisement, RFC 4861 §7.2.4, RFC 5568
        §6.1.2, §6.4.6) reaches the entity from the packet listener (ICMPv6, hop limit 255);
        the kernel cannot pass it into the TUN device (the source's scope ends at the link)
        and would answer it with a Destination Unreachable, code 2, for a packet the node
        took: such packets are dropped from the forwarding path first, silently."""
        assert self.netlink is not None and self.tun is not None
        for name in self.settings.interfaces:
            set_sysctl(f"net/ipv6/conf/{name}/forwarding", 0)
            self.netlink.rule_blackhole(IPv6Network("::/0"), iif=name,
                                        source=IPv6Network("fe80::/10"),
                                        priority=MN_LINK_LOCAL_SOURCE_PRIORITY)
            self.netlink.rule_specific_routes(iif=name, priority=MN_CLAIMED_RULE_PRIORITY,
                                              longer_than=64)
            self.netlink.rule_blackhole(IPv6Network("::/0"), iif=name,
                                        priority=HOST_BLACKHOLE_PRIORITY)
        self.netlink.route(IPv6Network("::/0"), self.tun.name, table=MN_APPLICATION_TABLE,
                           mtu=self.settings.application_mtu)
        self._host_address(mn.home_address, True)

    def _host_address(self, address: IPv6Address, active: bool) -> None:
        """An address the mobile node's applications use (the home address, an RCoA): local
        on the TUN device, and what is sent from it goes to the daemon (policy rule)."""
        assert self.netlink is not None and self.tun is not None
        self.netlink.address(self.tun.name, address, 128, active=active)
        (self.kernel_addresses.add if active else self.kernel_addresses.discard)(address)
        (self._host_addresses.add if active else self._host_addresses.discard)(address.packed)
        self.netlink.rule_from(IPv6Network((address, 128)), MN_APPLICATION_TABLE,
                               priority=MN_RULE_PRIORITY, iif="lo", active=active)

    def _correspondent_host(self, cn: CorrespondentNode) -> None:
        """A correspondent node is a host whose address the kernel owns (its applications
        use ordinary sockets), but the kernel has no Mobile IPv6: it would drop a packet with
        a Home Address option (answering an ICMPv6 Parameter Problem) and knows no Mobility
        Header. So the packets for that address whose first extension header is Destination
        Options (a Home Address option) or that carry a Mobility Header are taken off the
        link before the IP stack sees them (a ``tc`` ingress filter redirecting them into
        the TUN device, unchanged); the entity handles them and hands the rest back
        (``Deliver``, written into the TUN device, is delivered locally). Everything else
        (Neighbor Discovery, plain TCP, UDP, ICMPv6) is the kernel's, as for any host; and
        the host forwards nothing."""
        assert self.tun is not None
        name = cn.interface
        self._tc(["qdisc", "add", "dev", name, "ingress"])
        self._ingress_qdisc = name
        for protocol in (_DESTINATION_OPTIONS, _MOBILITY_HEADER):
            self._tc(["filter", "add", "dev", name, "parent", "ffff:", "protocol", "ipv6",
                      "prio", str(protocol), "u32", "match", "ip6", "dst", f"{cn.address}/128",
                      "match", "ip6", "protocol", str(protocol), "0xff", "action", "mirred",
                      "egress", "redirect", "dev", self.tun.name])

    @staticmethod
    def _tc(args: list[str]) -> None:
        try:
            result = subprocess.run(["tc", *args], capture_output=True, text=True, timeout=10,
                                    check=False)
        except FileNotFoundError as exc:
            raise NetError("mipshop: tc is not installed (iproute2 is needed)") from exc
        if result.returncode != 0:
            raise NetError(f"mipshop: tc {' '.join(args)} failed: {result.stderr.strip()}")

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading the TUN device and listeners from ``loop``; arm the entity's timer."""
        assert self.tun is not None
        self._loop = loop
        self.tun.attach(loop, self._from_tun)
        for listener in self.listeners:
            listener.attach(loop, functools.partial(self._from_link,
                                                    interface=listener.interface))
        if self._dhcp_socket is not None:
            loop.add_reader(self._dhcp_socket.fileno(), self._drain_dhcp_socket)
        self._arm()

    def _drain_dhcp_socket(self) -> None:
        assert self._dhcp_socket is not None
        with contextlib.suppress(BlockingIOError, OSError):
            while True:
                self._dhcp_socket.recv(2048)

    def close(self) -> None:
        """Stop everything; the TUN device (and the routes through it) disappear with it."""
        if self._timer is not None:
            self._timer.cancel()
        for listener in self.listeners:
            listener.close()
        for sender in self.senders.values():
            sender.close()
        if self.tun is not None:
            self.tun.close()
        if self.netlink is not None:
            self.netlink.close()
        if self._ingress_qdisc is not None:
            with contextlib.suppress(NetError):
                self._tc(["qdisc", "del", "dev", self._ingress_qdisc, "ingress"])
            self._ingress_qdisc = None
        if self._log is not None:
            self._log.close()
        if self.store is not None:
            self.store.close()
        self.listeners.clear()
        self._listener.clear()
        if self._dhcp_socket is not None:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._dhcp_socket.fileno())
            self._dhcp_socket.close()
            self._dhcp_socket = None
        self.senders.clear()

    # -- inputs ----------------------------------------------------------------------------------

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    def _from_tun(self, data: bytes) -> None:
        if len(data) < 40 or data[24] == 0xFF or (data[24] == 0xFE and data[25] & 0xC0 == 0x80):
            # The kernel's own link-scope chatter on the TUN device (MLD reports, ...).
            self._count("tun.ignored")
            return
        if data[6] == _ICMPV6 and data[7] == 254 and self.listeners:
            # Sent with hop limit 255 on a link, forwarded into the TUN device by the kernel:
            # the packet listener has handed it over already, hop limit intact.
            self._count("tun.ignored_nd")
            return
        now = time.monotonic()
        entity = self.entity
        if isinstance(entity, MobileNode) and data[8:24] in self._host_addresses and (
                data[24:40] not in self._host_addresses):
            # An application's packet from the home address (policy rule): RFC 6275 §11.3.1;
            # or from an RCoA (RFC 5380 §6.1), for the MAP's tunnel.
            try:
                packet = decode_packet(data)
            except MalformedPacket:
                self._count("drop.application_malformed")
                return
            self._count("application.sent")
            entity.send_packet(packet, now)
        elif isinstance(entity, CorrespondentNode) and data[8:24] == entity.address.packed and (
                data[24:40] != entity.address.packed):
            # An application's packet for an intercepted home address (RFC 6275 §9.3.2).
            try:
                packet = decode_packet(data)
            except MalformedPacket:
                self._count("drop.application_malformed")
                return
            self._count("application.sent")
            entity.send_packet(packet, now)
        else:
            self._count("tun.received")
            if data[7] < 255 and self._forwarded_into_tun:
                # The kernel decremented the hop limit forwarding the packet from a link into
                # the TUN device; the entity is the router that forwards it (and decrements
                # it once, RFC 8200 §3, RFC 2473 §3.1), so it gets the hop limit as received.
                data = data[:7] + bytes((data[7] + 1,)) + data[8:]
            entity.receive(data, self.main_interface, now)
        self._after_input()

    def _from_link(self, data: bytes, interface: str) -> None:
        if len(data) < 40:
            return
        dst = data[24:40]
        link_scope = dst[0] == 0xFF or (dst[0] == 0xFE and dst[1] & 0xC0 == 0x80)
        address = IPv6Address(dst)
        nd_style = data[6] == _ICMPV6 and data[7] == 255 and address in self._claimed
        if not (link_scope or nd_style or address in self.kernel_addresses):
            return  # reaches the TUN device through the kernel, or is forwarded
        self._count("link.received")
        self.entity.receive(data, interface, time.monotonic())
        self._after_input()

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.entity.handle_timer(time.monotonic())
        self._after_input()

    def command(self, call: Callable[[float], Any]) -> Any:
        """Run a command on the entity (``call(now)``) and carry out what it asks."""
        result = call(time.monotonic())
        self._after_input()
        return result

    # -- actions ---------------------------------------------------------------------------------

    def _first_hop(self, mn: MobileNode) -> None:
        """Keep the mobile node's default route on its current link.

        The entity follows Router Advertisements (RFC 4861 §6.3.4) and the kernel's
        ``accept_ra`` is off, so the default route follows the entity. Right after a fast
        handover the new link's RA has not come yet, but the PrRtAdv named the NAR's address
        and link-layer address (RFC 5568 §6.1.2: so that the MN can send at once on the new
        link): the route goes via the NAR until the RA arrives.
        """
        assert self.netlink is not None
        if not mn.attached:
            self._attached = False
            return
        if not self._attached:
            self._attached = True
            self._default_router = None
            for client in mn.clients:
                handover = getattr(client, "handover", None)
                points = getattr(client, "access_points", {})
                if handover is None or handover.target_ap != mn.access_point:
                    continue
                info = points.get(handover.target_ap)
                if info is not None and info.router_address and info.router_link_layer_address:
                    self.netlink.neighbour(info.router_address, info.router_link_layer_address,
                                           mn.interface)
                    self.netlink.route(IPv6Network("::/0"), mn.interface,
                                       via=info.router_address, onlink=True)
                    self._via_nar = mn.default_router
                    return
        if mn.default_router and mn.default_router != self._default_router and (
                self._via_nar is None or mn.default_router != self._via_nar):
            self.netlink.route(IPv6Network("::/0"), mn.interface, via=mn.default_router)
            self._default_router = mn.default_router
            self._via_nar = None

    def _after_input(self) -> None:
        entity = self.entity
        if isinstance(entity, MobileNode):
            try:
                self._first_hop(entity)
            except NetError as exc:
                self._count("error.first_hop")
                self._record({"time": time.monotonic(), "wall": time.time(),
                              "node": entity.name, "kind": "runtime.error",
                              "fields": {"action": "default_route", "error": str(exc)}})
        actions = entity.pull_actions()
        if isinstance(entity, MobileNode):
            # A host configures an address before it uses it: the NAR answers the UNA at once
            # (RFC 5568 §6.4.6) and its Neighbor Solicitation for the NCoA must find the proxy
            # entry in place, or the kernel waits RetransTimer (1 s) before asking again.
            actions.sort(key=lambda a: not isinstance(a, ConfigureAddress))
        self._journal.run(actions)
        if self._loop is not None:
            self._arm()

    def _perform_reported(self, action: Action) -> None:
        try:
            self._perform(action)
        except OSError as exc:
            self._runtime_error(type(action).__name__, exc)

    def _persistence_failed(self, what: str, exc: Exception) -> None:
        self._runtime_error(f"persist.{what}", exc)

    def _runtime_error(self, what: str, exc: Exception) -> None:
        self._count(f"error.{what}")
        self._record({"time": time.monotonic(), "wall": time.time(),
                      "node": self.entity.name, "kind": "runtime.error",
                      "fields": {"action": what, "error": str(exc)}})

    def _arm(self) -> None:
        assert self._loop is not None
        deadline = self.entity.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._fire)

    def _perform(self, action: Action) -> None:
        if isinstance(action, Transmit):
            data = encode_packet(action.packet)
            dst = action.packet.dst
            # Link-scope destinations, and addresses this daemon claims (a NAR's flush to the
            # NCoA it stops proxying), leave by the named interface; anything else follows the
            # routing table, as a router forwards an off-link destination (sim/network.py).
            if action.link_destination is not None and action.interface is not None:
                listener = self._listener.get(action.interface)
                if listener is not None:
                    # The entity knows the neighbour's link-layer address (RFC 5568 §6.3,
                    # §6.4.6): no Neighbor Discovery first, as the simulator's links do.
                    listener.send_to(data, action.link_destination)
                    self._count("transmit")
                    return
            bound = dst.is_link_local or dst.is_multicast or dst in self._claimed or (
                dst in self._intercepted)
            sender = (self.senders.get(action.interface) if bound else None) or (
                self.senders[None])
            sender.send(data)
            self._count("transmit")
        elif isinstance(action, Deliver):
            assert self.tun is not None
            self.tun.write(encode_packet(action.packet))
            self._count("deliver")
        elif isinstance(action, Claim):
            self._claim(action.address, action.proxy_interface, action.active)
        elif isinstance(action, Intercept):
            assert self.netlink is not None and self.tun is not None
            self.netlink.route(IPv6Network((action.address, 128)), self.tun.name,
                               metric=TUN_METRIC, active=action.active,
                               mtu=self.settings.application_mtu)
            (self._intercepted.add if action.active else self._intercepted.discard)(
                action.address)
        elif isinstance(action, CaptureSource):
            assert self.netlink is not None and self.tun is not None
            if action.active and not self._source_table:
                self.netlink.route(IPv6Network("::/0"), self.tun.name,
                                   table=SOURCE_CAPTURE_TABLE)
                self._source_table = True
            self.netlink.rule_from(IPv6Network((action.address, 128)), SOURCE_CAPTURE_TABLE,
                                   priority=SOURCE_CAPTURE_PRIORITY, iif=action.interface,
                                   active=action.active)
        elif isinstance(action, HostAddress):
            self._host_address(action.address, action.active)
        elif isinstance(action, ConfigureAddress):
            self._configure_address(action)
        elif isinstance(action, ConfigureRoute):
            assert self.netlink is not None
            self.netlink.route(action.prefix, action.interface, via=action.via,
                               active=action.active)
        elif isinstance(action, Event):
            self._record(event_record(action))

    def _record(self, record: dict[str, Any]) -> None:
        self.events.append(record)
        self.events_recorded += 1
        if self._log is not None:
            self._log.write(json.dumps(record) + "\n")
        for hook in self.event_hooks:
            hook(record)

    def _claim(self, address: IPv6Address, proxy_interface: str | None, active: bool) -> None:
        """Own ``address`` in user space: route it into the TUN device (+ proxy NDP)."""
        assert self.netlink is not None and self.tun is not None
        if not address.is_link_local:
            # A link-local address defended for another node (a home agent's, RFC 6275
            # §10.3.1) gets no route: the kernel looks link-local destinations up on the
            # arrival interface only. Proxy NDP answers for it and the packet listener hands
            # its packets over (the kernel, forwarding, also sends the sender a Redirect and
            # then fails to resolve the address: nothing reaches the mobile node).
            self.netlink.route(IPv6Network((address, 128)), self.tun.name,
                               metric=TUN_METRIC, active=active)
        (self._claimed.add if active else self._claimed.discard)(address)
        if proxy_interface is not None and proxy_interface in self.senders and (
                not self.answers_solicitations):
            self.netlink.proxy(address, proxy_interface, active=active)

    def _configure_address(self, action: ConfigureAddress) -> None:
        assert self.netlink is not None
        address, interface = action.address, action.interface
        if isinstance(self.entity, CorrespondentNode) and address == self.entity.address:
            return  # the host's own address, on its interface already (checked at start)
        if address.is_link_local:
            self.netlink.address(interface, address, 64, active=action.active)
            (self.kernel_addresses.add if action.active else self.kernel_addresses.discard)(
                address)
            return
        entity = self.entity
        if isinstance(entity, MobileNode) and address == entity.home_address:
            # At home (RFC 6275 §11.5.5): the entity answers for the home address on the home
            # link; the address itself stays on the TUN device for the applications.
            if not self.answers_solicitations:
                self.netlink.proxy(address, interface, active=action.active)
            return
        self._claim(address, interface, action.active)
        if action.prefix_length < 128:
            prefix = IPv6Network((address, action.prefix_length), strict=False)
            key = (interface, prefix)
            users = self._prefix_users.get(key, 0) + (1 if action.active else -1)
            self._prefix_users[key] = max(users, 0)
            if action.active and users == 1:
                self.netlink.route(prefix, interface)
            elif not action.active and users <= 0:
                self.netlink.route(prefix, interface, active=False)

    # -- state for the control socket and tests --------------------------------------------------

    def state(self) -> dict[str, Any]:
        """A JSON-friendly dump: counters (what the entity refused is counted there, under
        ``drop.*``, ``auth.*``, ``fmip.*_refused.*`` ...), the size of every table a peer can
        grow (``tables``), binding cache, mobile node state."""
        entity = self.entity
        now = time.monotonic()
        out: dict[str, Any] = {
            "name": entity.name, "now": now,
            "entity_counters": dict(entity.counters), "runtime_counters": dict(self.counters),
            "tables": entity.table_sizes(),
        }
        if isinstance(entity, BindingAgent):
            out["binding_cache"] = [
                {"home_address": str(e.home_address), "care_of_address": str(e.care_of_address),
                 "lifetime": e.lifetime, "remaining": e.remaining(now), "sequence": e.sequence,
                 "home_registration": e.home_registration}
                for e in entity.cache.entries(now)]
        if isinstance(entity, MobileNode):
            out["mobile_node"] = json_value({
                "home_address": entity.home_address, "at_home": entity.at_home,
                "attached": entity.attached, "care_of_address": entity.care_of_address,
                "registered_care_of_address": entity.home.registered_care_of_address,
                "default_router": entity.default_router, "home_agent": entity.home_agent,
            })
        out["claimed"] = sorted(str(address) for address in self._claimed)
        if self.netlink is not None:
            with contextlib.suppress(OSError):
                out["proxies"] = self.netlink.proxies()
        return out
