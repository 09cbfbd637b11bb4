"""The mobile node (RFC 6275 §11): movement, care-of addresses, home registration, data plane.

The :class:`MobileNode` entity owns the interface and the addresses and composes clients:

* :class:`~.home_registration.HomeRegistration`: the BU/BA exchange with the home agent;
* :class:`~.route_optimization.RouteOptimizationClient`: return routability and correspondent
  registrations;
* any further :class:`MobilityClient` (HMIPv6 MAP client, FMIPv6 client), appended to
  :attr:`MobileNode.clients`; each is offered every packet and told about movement.

Movement detection (§11.5): a link-layer attach sends a Router Solicitation; without one, the
default router's lifetime, missed advertisements and Neighbor Unreachability Detection tell
that it is gone (§11.5.1, :mod:`.movement_detection`). A Router
Advertisement whose autonomous prefix is the home prefix means "at home" (§11.5.5), any other
new prefix means movement: a care-of address is formed from that prefix and the interface
identifier (RFC 4862 SLAAC), usable at once with optimistic DAD (RFC 4429) or after
``dad_delay``. The home agent address comes from configuration, from the home link's RA (the
Prefix Information option with the R flag, §7.2) or from DHAAD (§11.4.1).

Data plane (§11.3.1): packets from the upper layer (source = home address) go directly at home,
route-optimised with a Home Address option to a correspondent holding a binding, or else
reverse-tunnelled to the home agent. [choice] While the link is down between two links, the
node holds them (at most :data:`HELD_PACKETS`, counter ``drop.held_overflow`` beyond) and
routes them when it attaches, after the clients' link-up work (an FMIPv6 UNA and BU): what a
driver's transmit queue would keep, but routed afresh for the new link (docs/decisions.md
D25). Tunnelled packets from the home agent and packets with a Type 2 Routing Header for the
home address are delivered (§11.3.3).

What clients change (hooks of :class:`MobilityClient`): the care-of address registered with the home
agent and correspondents (:attr:`MobileNode.registration_care_of_address`: the on-link one unless a
client names another, the HMIPv6 RCoA), when it may be registered and for how long
(:meth:`MobileNode.update_registrations`, :meth:`MobileNode.registration_lifetime_limit`), which
addresses count as ours for tunnels and Type 2 Routing Headers
(:meth:`MobileNode.owns_care_of_address`), and every transmitted packet (the ``outbound`` hooks,
applied in :meth:`MobileNode.act`: the HMIPv6 LCoA -> MAP reverse tunnel).

Resolved ambiguities ([choice]): movement is detected when an RA's autonomous /64 prefix
differs from the current one, from the default router or once that router is found gone
(:mod:`.movement_detection`); the care-of address survives a
link-layer blip on the same link; DHAAD timeouts double with no ceiling (§11.4.1 names none);
after MAX_BINDACK_TIMEOUT the next home agent of the DHAAD list is tried (§11.8); an
unsolicited Mobile Prefix Advertisement is discarded and answered with a solicitation
(§11.4.3), whose answer may renumber the home address (:meth:`MobileNode._home_prefixes_changed`).

Events: ``mn.start``, ``movement.link_up``, ``movement.link_down``, ``movement.detected``
(``prefix``, ``previous_care_of_address``), ``movement.home``, ``coa.configured``
(``address``, ``optimistic``), ``dhaad.request``, ``dhaad.completed`` (``home_agents``),
``dhaad.failed``, ``mobile_prefix.solicitation``, ``mobile_prefix.received`` (``prefixes``),
``mobile_prefix.failed``, ``home.renumbered`` (``previous_home_address``, ``home_address``,
``prefix``), ``home.prefix_lost`` (``prefix``), ``coa.dhcp`` (``address``, ``valid_lifetime``:
a care-of address from DHCPv6 on a link whose RAs set M, RFC 8415, and the ``dhcp.*`` events of
:mod:`..base.dhcpv6`), ``icmp.parameter_problem``
(``destination``, ``pointer``: a bad Payload Proto or Header Len answered as RFC 6275 §9.2
says), plus those of the clients.
"""

from __future__ import annotations

import functools
import random
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from ...wire.dhcpv6 import CLIENT_PORT
from ...wire.errors import MalformedPacket
from ...wire.ext_headers import DestinationOptions, HomeAddressOption, RoutingHeaderType2
from ...wire.icmpv6 import (
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    RouterAdvertisement,
)
from ...wire.ipv6 import IPv6Packet, UDPDatagram, encapsulate
from ...wire.nd_options import PrefixInformation, TargetLinkLayerAddress, same_address
from ..base.actions import Action, ConfigureAddress, Deliver, Transmit, new_transmit
from ..base.addressing import (
    ALL_NODES,
    ND_HOP_LIMIT,
    UNSPECIFIED,
    address_from_prefix,
    home_agents_anycast,
    interface_identifier,
    interface_identifier_from_mac,
    link_local_address,
    solicited_node_address,
)
from ..base.backoff import RetransmissionTimer
from ..base.dhcpv6 import Dhcpv6Client
from ..base.entity import Entity, Timer
from ..base.icmp_errors import IcmpErrorLimiter, mobility_header_parameter_problem
from ..base.link_events import LinkDown, LinkEvent, LinkUp
from .config import MobileNodeConfig
from .home_registration import HomeRegistration
from .mobility_client import MobilityClient
from .movement_detection import MovementDetector
from .route_optimization import RouteOptimizationClient

#: [choice] Upper-layer packets held while the link is down (module docstring).
HELD_PACKETS = 64


class MobileNode(Entity):
    """A Mobile IPv6 mobile node with one home address on one interface (RFC 6275 §11).

    Commands: :meth:`start`, :meth:`attach`, :meth:`detach`, :meth:`l2_trigger`,
    :meth:`send_packet`, :meth:`solicit_mobile_prefix`; from clients, :meth:`adopt_care_of_address`
    and :meth:`restart_address_configuration`.
    """

    #: A host answers Neighbor Solicitations for its own addresses (RFC 4861 §7.2.4): a
    #: runtime adds no proxy entries for the care-of or home addresses it configures.
    answers_neighbor_solicitations = True

    # Slots for the node's own state and the entity's: a city holds one node per pedestrian,
    # and past 30 attributes an instance dictionary stops sharing its keys (1.6 KB a node
    # instead of a slot each). Entity has none, so a __dict__ remains for anything else.
    __slots__ = (
        "_actions", "_clean_at", "_compact_at", "_configured", "_dad_timer", "_dhaad", "_dhcp",
        "_held", "_icmp_errors", "_mps", "_received_packet", "_received_raw", "_refusal_window",
        "_timer_order", "_timers", "access_point", "at_home", "attached", "care_of_address",
        "clients", "config", "counters", "current_prefix", "default_router", "dhcp_prefixes",
        "home", "home_address", "home_agent", "home_agents", "home_prefix", "interface",
        "interface_identifier", "link_local", "mobile_prefixes", "movement", "name", "now",
        "rng", "route_optimization", "tentative_address")

    def __init__(self, name: str, rng: random.Random, config: MobileNodeConfig) -> None:
        super().__init__(name, rng)
        self.config = config
        self.interface = config.interface
        self.home_address = config.home_address
        #: The home subnet prefix (changed by a renumbering Mobile Prefix Advertisement).
        self.home_prefix = config.home_prefix
        iid = config.interface_identifier
        self.interface_identifier = (
            iid if iid is not None else interface_identifier_from_mac(config.link_layer_address)
        )
        self.link_local = link_local_address(self.interface_identifier)
        self.home_agent: IPv6Address | None = config.home_agent
        self.home_agents: tuple[IPv6Address, ...] = ()
        self.attached = False
        #: None until the first Router Advertisement tells where we are.
        self.at_home: bool | None = None
        self.current_prefix: IPv6Network | None = None
        #: Link-local address of the router whose RA was seen last (RFC 4861 §6.3.4).
        self.default_router: IPv6Address | None = None
        self.care_of_address: IPv6Address | None = None
        self.mobile_prefixes: tuple[IPv6Network, ...] = ()
        #: The access point (BSSID) of the current attachment, from :class:`LinkUp`.
        self.access_point: bytes | None = None
        self._dad_timer: Timer | None = None
        #: The address Duplicate Address Detection runs for (RFC 4862 §5.4), if any.
        self.tentative_address: IPv6Address | None = None
        #: Global addresses configured on the interface, which the node answers Neighbor
        #: Solicitations for (the kernel's link-local address is the kernel's business), and
        #: whether each is still optimistic (RFC 4429 §3.3: O = 0 until DAD completes).
        #: The addresses configured besides link-local ones, each followed by True while it
        #: is optimistic (RFC 4429): ``(address, optimistic, address, ...)``, a flat tuple
        #: (one or two addresses: a dictionary is 224 bytes, the tuple of one 56).
        self._configured: tuple[Any, ...] = ()
        self._dhaad: tuple[int, RetransmissionTimer, Timer] | None = None
        self._mps: tuple[int, RetransmissionTimer, Timer] | None = None
        self.home = HomeRegistration(self)
        #: The default router's reachability (RFC 6275 §11.5.1, :mod:`.movement_detection`).
        self.movement = MovementDetector(self)
        self.route_optimization = RouteOptimizationClient(self, config.route_optimization)
        self.clients: list[MobilityClient] = [self.route_optimization]
        #: Upper-layer packets sent while the link was down, for the next link.
        #: (A list: nothing is taken from its front, and an empty deque is a 600-byte block.)
        self._held: list[IPv6Packet] = []
        #: The ICMPv6 error rate limit (RFC 4443 §2.4 (f)), made with the first error.
        self._icmp_errors: IcmpErrorLimiter | None = None
        #: Stateful address configuration on links that ask for it (RFC 8415): made at its
        #: first use (:attr:`dhcp`); most runs configure addresses statelessly.
        self._dhcp: Dhcpv6Client | None = None
        #: On-link prefixes of the latest RA of a DHCPv6-managed link.
        self.dhcp_prefixes: tuple[IPv6Network, ...] = ()

    @property
    def dhcp(self) -> Dhcpv6Client:
        """The DHCPv6 client (RFC 8415) of stateful address configuration."""
        dhcp = self._dhcp
        if dhcp is None:
            dhcp = self._dhcp = Dhcpv6Client(self, self, mac=self.config.link_layer_address)
        return dhcp

    def _stop_dhcp(self) -> None:
        # A client never made has nothing to forget (stop() on a new one changes nothing).
        if self._dhcp is not None:
            self._dhcp.stop()

    # -- commands ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Configure the link-local address (the node is not attached to any link yet)."""
        self.now = now
        self.act(ConfigureAddress(interface=self.interface, address=self.link_local))
        self.emit("mn.start", home_address=self.home_address)

    def add_client(self, client: MobilityClient) -> None:
        """Compose ``client`` into the node, offered packets and movement after the others.

        The list is made anew at its exact size: appended to, a list of one grows room for
        eight (120 bytes a node, against 72 for two clients)."""
        self.clients = list((*self.clients, client))

    def attach(self, now: float, *, access_point: bytes | None = None) -> None:
        """Link-layer trigger: the interface is up on a (possibly new) link (§11.5.1).

        ``access_point`` names the AP (BSSID) when the link layer knows it (:class:`LinkUp`).
        """
        self.now = now
        if self.attached and self.access_point is None and access_point is not None:
            # Up on this link already (found at start, RFC 4861 §6.3.7): the link layer only
            # names the access point now.
            self.access_point = access_point
            return
        self.attached = True
        self.access_point = access_point
        self.emit("movement.link_up")
        for client in self.clients:
            client.link_up()
        # RFC 4861 §6.3.7: solicit a Router Advertisement to learn the link's prefix at once.
        self.movement.attached()
        held, self._held = self._held, []
        for packet in held:
            self.send_packet(packet, now)

    def detach(self, now: float) -> None:
        """Link-layer trigger: the interface lost its link (addresses are kept until an RA)."""
        self.now = now
        self.attached = False
        # The care-of address stays until a Router Advertisement shows another prefix: coming
        # back to the same link after a link-layer blip needs no new registration.
        self.emit("movement.link_down")
        self.movement.detached()
        self._stop_dhcp()  # [choice] a new link is a new subnet: solicit again there
        for client in self.clients:
            client.link_down()

    def l2_trigger(self, event: LinkEvent, now: float) -> None:
        """Take a link-layer trigger (RFC 4260; :mod:`mipshop.protocol.base.link_events`).

        :class:`LinkUp` is :meth:`attach` (remembering the AP), :class:`LinkDown` is
        :meth:`detach`; the others go to every client's ``l2_event`` hook.
        """
        self.now = now
        if isinstance(event, LinkUp):
            self.attach(now, access_point=event.ap)
        elif isinstance(event, LinkDown):
            self.detach(now)
        else:
            for client in self.clients:
                client.l2_event(event)

    def adopt_care_of_address(self, address: IPv6Address, prefix_length: int = 64) -> None:
        """Use ``address``, confirmed by a client, as the care-of address at once.

        A fast handover client (RFC 5568 §4: the NCoA is known before the RA and confirmed by
        the NAR) calls this on the new link; movement is then handled as if an RA had shown
        the new prefix, without waiting for DAD, so that the home (and, under HMIPv6, the MAP)
        registration starts at once. A later RA with the same prefix changes nothing.
        """
        prefix = _prefix(IPv6Network((address, prefix_length), strict=False).network_address,
                         prefix_length)
        if address == self.care_of_address and self.at_home is False:
            if prefix != self.current_prefix:
                # The same address under another prefix: back on the PAR's link with the
                # PCoA the NAR served as a /128 (RFC 5568 §5.6, §6.4.6). The address and its
                # bindings stay; only the prefix changes, so that the PAR's next RA is no
                # movement (a new configuration and DAD would leave the node without a
                # care-of address for the DAD's time).
                self.current_prefix = prefix
                self.act(ConfigureAddress(interface=self.interface, address=address,
                                          prefix_length=prefix_length))
            return
        self._moved(prefix, address=address)

    def restart_address_configuration(self) -> None:
        """Forget the current care-of address and solicit a Router Advertisement.

        Used when a client learns the address is unusable (an FMIPv6 NAACK, RFC 5568 §6.4.6):
        ordinary stateless configuration then runs on the next RA.
        """
        if self.care_of_address is not None:
            self.act(ConfigureAddress(interface=self.interface, address=self.care_of_address,
                                      active=False))
        self.care_of_address = None
        self.current_prefix = None
        self.at_home = None
        self._stop_dhcp()
        if self.attached:
            self.movement.fresh = True  # whichever router answers, its RA is taken
            self.movement.solicit()

    def send_packet(self, packet: IPv6Packet, now: float) -> None:
        """Send an upper-layer packet whose source is the home address (§11.3.1), or a
        care-of address of the node's (RFC 5380 §6.1: "traffic that does not need the home
        address", from the RCoA; the MAP client's outbound hook tunnels it to its MAP)."""
        self.now = now
        if not self.attached and self.at_home is not None:
            # Between two links: hold it for the next one (module docstring).
            if len(self._held) >= HELD_PACKETS:
                self.counters["drop.held_overflow"] += 1
                return
            self._held.append(packet)
            self.counters["held"] += 1
            return
        if self.at_home:
            self.act(Transmit(packet=packet, interface=self.interface))
            return
        if not same_address(packet.src, self.home_address) and self.owns_care_of_address(
                packet.src):
            self.counters["local.sent"] += 1
            self.act(Transmit(packet=packet, interface=self.interface))
            return
        for client in self.clients:
            routed = client.route(packet)
            if routed is not None:
                self.act(Transmit(packet=routed, interface=self.interface))
                return
        registered = self.home.tunnel_care_of_address
        if registered is not None and self.care_of_address is not None and (
                self.owns_care_of_address(registered)):
            assert self.home_agent is not None
            # §11.3.1: reverse tunnelling, outer source = the care-of address of the last BU
            # (HomeRegistration.tunnel_care_of_address: it follows its BU; the RCoA under
            # HMIPv6, which the MAP client's outbound hook tunnels on), destination = HA.
            outer = encapsulate(packet, src=registered, dst=self.home_agent)
            self.counters["tunnel.encapsulated"] += 1
            self.act(Transmit(packet=outer, interface=self.interface))
            return
        self.counters["drop.no_binding"] += 1

    def solicit_mobile_prefix(self, now: float | None = None) -> None:
        """Send a Mobile Prefix Solicitation to the home agent (§11.4.2)."""
        if now is not None:
            self.now = now
        if self.home_agent is None or self.care_of_address is None or self.at_home:
            return
        if self._mps is not None:
            self._mps[2].cancel()
        identifier = self.rng.randrange(1 << 16)
        backoff = RetransmissionTimer(
            initial=self.config.initial_solicit_timeout,
            max_retries=self.config.mobile_prefix_retries,
        )
        self._mps = (identifier, backoff, self._send_mps(identifier, backoff))

    # -- movement (RFC 6275 §11.5) ----------------------------------------------------------

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Handle one decoded packet arriving on the interface."""
        for client in self.clients:
            client.received(packet)
        payload = packet.payload
        if isinstance(payload, RouterAdvertisement):
            if packet.hop_limit == ND_HOP_LIMIT and packet.src.is_link_local and self.attached:
                if not self.movement.router_advertisement(packet, payload):
                    return  # held back while the default router is probed (§11.5.1)
                for client in self.clients:
                    client.router_advertisement(packet)
            self._router_advertisement(packet, payload)
            return
        if isinstance(payload, NeighborAdvertisement) and packet.hop_limit == ND_HOP_LIMIT and (
                payload.target == self.tentative_address and payload.target is not None):
            self._duplicate(payload.target)  # RFC 4862 §5.4.4: the address is in use
            return
        if isinstance(payload, NeighborAdvertisement) and packet.hop_limit == ND_HOP_LIMIT and (
                self.movement.neighbor_advertisement(packet, payload)):
            return
        if isinstance(payload, NeighborSolicitation) and self._neighbor_solicitation(
                packet, payload):
            return
        if isinstance(payload, IPv6Packet):
            for client in self.clients:
                inner = client.decapsulate(packet)
                if inner is not None:
                    self.on_packet(inner, interface)
                    return
        if isinstance(payload, IPv6Packet) and self.owns_care_of_address(packet.dst):
            if not same_address(packet.src, self.home_agent):
                self.counters["drop.tunnel_not_from_home_agent"] += 1
                return
            self.counters["tunnel.decapsulated"] += 1
            self._dispatch(payload)
            return
        routed_home = packet.routing_home_address
        if routed_home is not None:
            # §11.3.3: the Type 2 Routing Header must name our home address and arrive at the
            # current care-of address; the packet is then for the home address. A client's
            # address (RFC 5380 §6.2: the RCoA in a MAP's BA) counts as one of ours.
            if not (routed_home == self.home_address or self._client_owns(routed_home)) or (
                    not self.owns_care_of_address(packet.dst)):
                self.counters["drop.bad_routing_header"] += 1
                return
            headers = tuple(h for h in packet.extension_headers
                            if not isinstance(h, RoutingHeaderType2))
            packet = replace(packet, dst=routed_home, extension_headers=headers)
        self._dispatch(packet)

    def _router_advertisement(self, packet: IPv6Packet, ra: RouterAdvertisement) -> None:
        if packet.hop_limit != ND_HOP_LIMIT or not packet.src.is_link_local or not self.attached:
            self.counters["drop.invalid_ra"] += 1  # RFC 4861 §6.1.2
            return
        self.default_router = packet.src
        prefixes = [o for o in ra.options if isinstance(o, PrefixInformation)]
        home = [o for o in prefixes if _network(o) == self.home_prefix]
        if home:
            if ra.home_agent and home[0].router_address and self.home_agent is None:
                self.home_agent = home[0].prefix  # §7.2: R flag, the HA's full address
            if self.at_home is not True:
                self._returned_home()
            return
        usable = [o for o in prefixes if o.autonomous and o.prefix_length == 64
                  and o.valid_lifetime > 0]
        if not usable:
            if ra.managed:
                self._managed_link([_network(o) for o in prefixes
                                    if o.on_link and o.valid_lifetime > 0])
            return
        prefix = _network(usable[0])
        if self.at_home is False and prefix == self.current_prefix:
            return
        if self.at_home is False and any(c.holds_care_of_address() for c in self.clients):
            self.counters["movement.held_by_client"] += 1
            return
        self._moved(prefix)

    # -- stateful address configuration (RFC 8415; RFC 4861 §4.2 M flag) ---------------------

    def _managed_link(self, on_link: list[IPv6Network]) -> None:
        """An RA with M set and no prefix for stateless configuration: unless the care-of
        address is on this link already, ask DHCPv6 for one (:mod:`..base.dhcpv6`)."""
        self.dhcp_prefixes = tuple(on_link)
        coa = self.care_of_address
        if coa is not None and any(coa in prefix for prefix in on_link) and (
                self.at_home is False):
            return
        if any(c.holds_care_of_address() for c in self.clients):
            self.counters["movement.held_by_client"] += 1
            return
        self.start_dhcp()

    def start_dhcp(self) -> None:
        """Obtain a care-of address with DHCPv6 on the current link (RFC 8415 §18)."""
        if self.attached:
            self.dhcp.start()

    def dhcp_bound(self, address: IPv6Address, valid_lifetime: int) -> None:
        """DHCPv6 assigned ``address``: it is the care-of address, with the on-link prefix
        that holds it (RFC 4861 Prefix Information with L), else as a /128 (RFC 8415 §21.6)."""
        prefix = next((p for p in self.dhcp_prefixes if address in p), None)
        self.emit("coa.dhcp", address=address, valid_lifetime=valid_lifetime)
        self.adopt_care_of_address(address, prefix.prefixlen if prefix else 128)

    def dhcp_lost(self, address: IPv6Address) -> None:
        """The DHCPv6 lease ran out: configure again, if it was the care-of address."""
        if address == self.care_of_address:
            self.restart_address_configuration()

    def _moved(self, prefix: IPv6Network, *, address: IPv6Address | None = None) -> None:
        previous = self.care_of_address
        if self.at_home:
            self.act(ConfigureAddress(interface=self.interface, address=self.home_address,
                                      active=False))
        self.at_home = False
        self.current_prefix = prefix
        if previous is not None:
            self.act(ConfigureAddress(interface=self.interface, address=previous, active=False))
        self.care_of_address = None
        if self._dad_timer is not None:
            self._dad_timer.cancel()
        self.emit("movement.detected", prefix=prefix, previous_care_of_address=previous)
        confirmed = address is not None  # supplied by a client (adopt_care_of_address)
        if address is None:
            address = address_from_prefix(prefix, self.interface_identifier)
        self.tentative_address = None
        if confirmed or self.config.dad_delay == 0:
            # No DAD runs, so none is pending: the address is preferred at once (RFC 4862
            # §5.4 with DupAddrDetectTransmits 0; a client's address was confirmed by its
            # router, RFC 5568 §6.2.1.2 HAck Code 0), not optimistic (RFC 4429 §3.3: O = 0
            # only until DAD completes, which here would be never).
            self._care_of_address_ready(address, optimistic=False,
                                        prefix_length=prefix.prefixlen)
            return
        # RFC 4862 §5.4: Duplicate Address Detection for the new address; RFC 4429: an
        # optimistic address is used at once meanwhile, and given up if DAD fails.
        optimistic = self.config.optimistic_dad
        self._probe(address)
        if optimistic:
            self._care_of_address_ready(address, optimistic=True,
                                        prefix_length=prefix.prefixlen)
        self._dad_timer = self.schedule(
            self.config.dad_delay,
            lambda now: self._dad_complete(address, optimistic, prefix.prefixlen))

    def _probe(self, address: IPv6Address) -> None:
        """RFC 4862 §5.4.2: a Neighbor Solicitation for the tentative address, from the
        unspecified address to its solicited-node group, hop limit 255, no options
        (DupAddrDetectTransmits = 1, answered within RetransTimer = ``dad_delay``)."""
        self.tentative_address = address
        self.act(Transmit(packet=IPv6Packet(
            src=UNSPECIFIED, dst=solicited_node_address(address), hop_limit=ND_HOP_LIMIT,
            payload=NeighborSolicitation(target=address)), interface=self.interface))
        self.emit("dad.started", address=address)

    def _dad_complete(self, address: IPv6Address, optimistic: bool, prefix_length: int) -> None:
        self._dad_timer = None
        if self.tentative_address != address:
            return
        self.tentative_address = None
        if optimistic:
            if self._optimistic_state(address) is not None:
                self._set_configured(address, False)  # RFC 4429 §3.3: preferred now
            self.emit("dad.completed", address=address)
            for client in self.clients:
                client.duplicate_address_detection_completed(address)
        else:
            self._care_of_address_ready(address, optimistic=False, prefix_length=prefix_length)

    def _duplicate(self, address: IPv6Address) -> None:
        """RFC 4862 §5.4.5: the tentative address is in use: it MUST NOT be used (RFC 4429
        §3.3: an optimistic one is given up at once)."""
        if self._dad_timer is not None:
            self._dad_timer.cancel()
            self._dad_timer = None
        self.tentative_address = None
        self.counters["dad.duplicate"] += 1
        self.emit("dad.failed", address=address)
        if address == self.care_of_address:
            self.act(ConfigureAddress(interface=self.interface, address=address,
                                      active=False))
            self.care_of_address = None

    def _care_of_address_ready(self, address: IPv6Address, *, optimistic: bool,
                               prefix_length: int = 64) -> None:
        self._dad_timer = None
        self.care_of_address = address
        # The on-link prefix (a /128 for an address that is not on this link's prefix: a
        # PCoA an FMIPv6 NAR serves, RFC 5568 §6.4.6).
        self.act(ConfigureAddress(interface=self.interface, address=address,
                                  prefix_length=prefix_length))
        if optimistic:
            self._set_configured(address, True)  # RFC 4429 §3.3: answered with O = 0 for now
        self.emit("coa.configured", address=address, optimistic=optimistic)
        self.update_registrations()
        for client in self.clients:
            client.care_of_address_changed(address)

    def _returned_home(self) -> None:
        previous = self.care_of_address
        if previous is not None:
            self.act(ConfigureAddress(interface=self.interface, address=previous, active=False))
        if self._dad_timer is not None:
            self._dad_timer.cancel()
        self.care_of_address = None
        self.current_prefix = self.home_prefix
        self.at_home = True
        self._stop_dhcp()
        # §11.5.5: no DAD on the home address while the HA may still defend it.
        self.act(ConfigureAddress(interface=self.interface, address=self.home_address,
                                  prefix_length=self.home_prefix.prefixlen))
        self.emit("movement.home", previous_care_of_address=previous)
        self.home.deregister()
        for client in self.clients:
            client.returned_home()

    # -- registrations beyond the local link (clients: RFC 5380 §6.1) -------------------------

    @property
    def registration_care_of_address(self) -> IPv6Address | None:
        """The care-of address registered with the home agent and correspondents.

        The on-link care-of address, unless a client says otherwise (the HMIPv6 MAP client:
        the RCoA, RFC 5380 §6.1). None while the node has no usable on-link address.
        """
        if self.care_of_address is None:
            return None
        for client in self.clients:
            address = client.registration_care_of_address()
            if address is not None:
                return address
        return self.care_of_address

    def care_of_address_for(self, correspondent: IPv6Address) -> IPv6Address | None:
        """The care-of address to register with ``correspondent``: a client's choice (RFC
        5380 §7.1: another MAP's RCoA, or the LCoA), else :attr:`registration_care_of_address`."""
        if self.care_of_address is None:
            return None
        for client in self.clients:
            address = client.correspondent_care_of_address(correspondent)
            if address is not None:
                return address
        return self.registration_care_of_address

    def lifetime_limit_for(self, correspondent: IPv6Address) -> float | None:
        """The longest lifetime a BU to ``correspondent`` may ask (RFC 5380 §6.1), or None."""
        if self.care_of_address_for(correspondent) != self.registration_care_of_address:
            limits = [limit for client in self.clients if (
                limit := client.correspondent_lifetime_limit(correspondent)) is not None]
            return min(limits) if limits else None
        return self.registration_lifetime_limit()

    def correspondent_addresses_changed(self) -> None:
        """A client changed the care-of address some correspondent gets: tell the others."""
        for client in self.clients:
            client.correspondent_address_changed()

    def owns_care_of_address(self, address: IPv6Address) -> bool:
        """True for the on-link care-of address and any address a client owns (an RCoA)."""
        return same_address(address, self.care_of_address) or self._client_owns(address)

    def _client_owns(self, address: IPv6Address) -> bool:
        return any(client.owns_address(address) for client in self.clients)

    def registration_lifetime_limit(self) -> float | None:
        """The longest lifetime home and correspondent BUs may ask (RFC 5380 §6.1), or None."""
        limits = [limit for client in self.clients
                  if (limit := client.registration_lifetime_limit()) is not None]
        return min(limits) if limits else None

    def update_registrations(self) -> None:
        """Register :attr:`registration_care_of_address` with the home agent if needed.

        Called on every new on-link care-of address, and by clients when the address to
        register (or their readiness, :meth:`MobilityClient.registration_ready`) changes.
        Nothing is sent when that address is already registered or being registered: under
        HMIPv6 a move inside a MAP domain changes only the LCoA (RFC 5380 §6.1). Without a
        known home agent, DHAAD runs first (§11.4.1).
        """
        coa = self.registration_care_of_address
        if self.at_home or coa is None:
            return
        if not all(client.registration_ready() for client in self.clients):
            return
        if self.home_agent is None:
            self._discover_home_agent()
        elif not self.home.covers(coa):
            self.home.register(coa)

    def act(self, action: Action) -> None:
        """Queue an action; a packet leaving the interface first passes the clients'
        :meth:`~MobilityClient.outbound` hooks (RFC 5380 §6.1: the MAP reverse tunnel)."""
        if isinstance(action, Transmit) and action.interface == self.interface:
            packet = action.packet
            for client in self.clients:
                packet = client.outbound(packet)
            if packet is not action.packet:
                # replace(action, packet=packet), without __init__ (every packet sent).
                action = new_transmit(packet, action.interface, action.link_destination)
        elif isinstance(action, ConfigureAddress) and not action.address.is_link_local:
            if action.active:
                if self._optimistic_state(action.address) is None:
                    self._set_configured(action.address, False)
            else:
                self._set_configured(action.address, None)
        super().act(action)

    def optimistic(self, address: IPv6Address) -> bool:
        """True while ``address`` is an optimistic address whose DAD runs (RFC 4429 §3.3:
        no Neighbor Advertisement with O set for it until DAD completes)."""
        return self._optimistic_state(address) is True

    def _optimistic_state(self, address: IPv6Address) -> bool | None:
        """True if ``address`` is configured and optimistic, False if configured and not,
        None if not configured (link-local addresses aside)."""
        configured = self._configured
        for index in range(0, len(configured), 2):
            if configured[index] == address:
                return bool(configured[index + 1])
        return None

    def _set_configured(self, address: IPv6Address, optimistic: bool | None) -> None:
        """Record ``address`` as configured (optimistic or not), or as gone (None)."""
        configured = self._configured
        for index in range(0, len(configured), 2):
            if configured[index] == address:
                rest = configured[index + 2:]
                self._configured = (configured[:index] + rest if optimistic is None
                                    else (*configured[:index + 1], optimistic, *rest))
                return
        if optimistic is not None:
            self._configured = (*configured, address, optimistic)

    def _neighbor_solicitation(self, packet: IPv6Packet, ns: NeighborSolicitation) -> bool:
        """RFC 4861 §7.2.3-4, RFC 4862 §5.4.3: answer a Neighbor Solicitation for one of the
        node's addresses, or see another node's DAD for the tentative one; True if it was
        about one of them."""
        target = ns.target
        if packet.hop_limit != ND_HOP_LIMIT:
            return False
        unspecified = packet.src.is_unspecified
        if target == self.tentative_address and unspecified:
            self._duplicate(target)  # another node probes the same address
            return True
        optimistic = self._optimistic_state(target)
        if target == self.tentative_address and optimistic is None:
            return True  # RFC 4862 §5.4.3: a tentative address is not answered for
        if optimistic is None:
            return False
        # To the solicitation's source, or to all-nodes when it was DAD (the address is
        # defended); R = 0 (a host); O = 1 unless the address is still optimistic.
        na = NeighborAdvertisement(
            router=False, solicited=not unspecified, override=not optimistic, target=target,
            options=(TargetLinkLayerAddress(address=self.config.link_layer_address),))
        self.act(Transmit(packet=IPv6Packet(
            src=target, dst=ALL_NODES if unspecified else packet.src, hop_limit=ND_HOP_LIMIT,
            payload=na), interface=self.interface))
        self.counters["nd.answered"] += 1
        return True

    # -- hooks called by the home registration client ---------------------------------------

    def home_registered(self, status: int) -> None:
        """The home agent accepted our care-of address (status < 128)."""
        if status == 1:
            # §11.7.3: status 1, prefix discovery necessary -> Mobile Prefix Solicitation.
            self.solicit_mobile_prefix()
        for client in self.clients:
            client.home_registered()

    def switch_home_agent(self) -> bool:
        """Move to the next home agent of the DHAAD list (§11.8); False if there is none."""
        if self.home_agent not in self.home_agents or len(self.home_agents) < 2:
            return False
        index = self.home_agents.index(self.home_agent)
        self.home_agent = self.home_agents[(index + 1) % len(self.home_agents)]
        self.emit("home_agent.switched", home_agent=self.home_agent)
        self.update_registrations()
        return True

    def home_deregistered(self) -> None:
        """The de-registration was acknowledged: advertise our home address (§11.5.5), and
        our link-local address when the home agent defended it too (the L bit, §10.4.1)."""
        targets = [self.home_address]
        if self.home.link_local_compat:
            targets.append(self.link_local)
        for target in targets:
            na = NeighborAdvertisement(override=True, target=target, options=(
                TargetLinkLayerAddress(address=self.config.link_layer_address),))
            self.act(Transmit(packet=IPv6Packet(src=target, dst=ALL_NODES,
                                                hop_limit=ND_HOP_LIMIT, payload=na),
                              interface=self.interface))

    def on_malformed(self, raw: bytes, error: MalformedPacket, interface: str) -> None:
        """RFC 6275 §9.2: a bad Payload Proto or Header Len gets an ICMP Parameter Problem,
        sent directly to the packet's source (rate-limited, RFC 4443 §2.4 (f))."""
        problem = mobility_header_parameter_problem(raw, error)
        if problem is None:
            return
        if self._icmp_errors is None:
            self._icmp_errors = IcmpErrorLimiter()
        self._icmp_errors.send(self, problem, error, self.interface)

    # -- dispatch of packets for us ---------------------------------------------------------

    def _dispatch(self, packet: IPv6Packet) -> None:
        if same_address(packet.dst, self.link_local) and (
                self._dhcp is not None or _for_dhcp_client(packet)) and self.dhcp.handle(packet):
            return
        if self.home.handle(packet):
            return
        for client in self.clients:
            if client.handle(packet):
                return
        payload = packet.payload
        if isinstance(payload, HomeAgentAddressDiscoveryReply):
            self._dhaad_reply(payload)
        elif isinstance(payload, MobilePrefixAdvertisement):
            self._mobile_prefix_advertisement(packet, payload)
        elif same_address(packet.dst, self.home_address) and _upper_layer_icmp(payload):
            # §11.3.3: what is tunnelled (or routed) to the home address is delivered to the
            # node's own stack, ICMPv6 included (an Echo Request from a correspondent).
            self.counters["icmp.delivered"] += 1
            self.act(Deliver(packet=packet))
        elif (same_address(packet.dst, self.home_address)
              or same_address(packet.dst, self.link_local)
              or self.owns_care_of_address(packet.dst)):
            if hasattr(packet.payload, "MH_TYPE") or hasattr(packet.payload, "ICMP_TYPE"):
                self.counters["drop.unhandled"] += 1
            else:
                self.act(Deliver(packet=packet))
        else:
            self.counters["drop.not_for_us"] += 1

    # -- DHAAD (RFC 6275 §11.4.1) and mobile prefixes (§11.4.2, §11.4.3) ---------------------

    def _discover_home_agent(self) -> None:
        if self._dhaad is not None or self.care_of_address is None:
            return
        identifier = self.rng.randrange(1 << 16)
        initial, retries = self.config.initial_dhaad_timeout, self.config.dhaad_retries
        # §11.4.1: the timeout doubles on every retransmission; no ceiling is given.
        backoff = RetransmissionTimer(initial=initial, ceiling=initial * 2**retries,
                                      max_retries=retries)
        self._dhaad = (identifier, backoff, self._send_dhaad(identifier, backoff))

    def _send_dhaad(self, identifier: int, backoff: RetransmissionTimer) -> Timer:
        source = self.registration_care_of_address
        assert source is not None
        self.act(Transmit(packet=IPv6Packet(
            src=source, dst=home_agents_anycast(self.home_prefix),
            payload=HomeAgentAddressDiscoveryRequest(identifier=identifier),
        ), interface=self.interface))
        self.emit("dhaad.request", identifier=identifier, attempt=backoff.transmissions + 1)
        return self.schedule(backoff.next_timeout(), lambda now: self._dhaad_timeout())

    def _dhaad_timeout(self) -> None:
        if self._dhaad is None:
            return
        identifier, backoff, _timer = self._dhaad
        if backoff.exhausted or self.care_of_address is None:
            self._dhaad = None
            self.emit("dhaad.failed")
            return
        self._dhaad = (identifier, backoff, self._send_dhaad(identifier, backoff))

    def _dhaad_reply(self, reply: HomeAgentAddressDiscoveryReply) -> None:
        if self._dhaad is None or reply.identifier != self._dhaad[0] or not reply.home_agents:
            self.counters["drop.dhaad_unexpected"] += 1
            return
        self._dhaad[2].cancel()
        self._dhaad = None
        self.home_agents = reply.home_agents
        self.home_agent = reply.home_agents[0]  # §11.4.1: in decreasing preference
        self.emit("dhaad.completed", home_agents=reply.home_agents)
        self.update_registrations()

    def _send_mps(self, identifier: int, backoff: RetransmissionTimer) -> Timer:
        source = self.registration_care_of_address
        assert source is not None and self.home_agent is not None
        # §11.4.2: from the care-of address to the HA, with the Home Address option.
        self.act(Transmit(packet=IPv6Packet(
            src=source, dst=self.home_agent,
            extension_headers=(DestinationOptions(
                options=(HomeAddressOption(home_address=self.home_address),)),),
            payload=MobilePrefixSolicitation(identifier=identifier),
        ), interface=self.interface))
        self.emit("mobile_prefix.solicitation", identifier=identifier)
        return self.schedule(backoff.next_timeout(), lambda now: self._mps_timeout())

    def _mps_timeout(self) -> None:
        if self._mps is None:
            return
        identifier, backoff, _timer = self._mps
        if backoff.exhausted or self.care_of_address is None or self.at_home:
            self._mps = None
            self.emit("mobile_prefix.failed")
            return
        self._mps = (identifier, backoff, self._send_mps(identifier, backoff))

    def _mobile_prefix_advertisement(
        self, packet: IPv6Packet, advertisement: MobilePrefixAdvertisement
    ) -> None:
        if packet.src != self.home_agent:
            self.counters["drop.mpa_not_from_home_agent"] += 1
            return
        if packet.dst != self.home_address:
            # §11.4.3: it MUST come with a Type 2 Routing Header, processed by now (dst = HoA).
            self.counters["drop.mpa_without_routing_header"] += 1
            return
        if self._mps is None or advertisement.identifier != self._mps[0]:
            # §11.4.3: an unsolicited advertisement is discarded and answered with a
            # solicitation, whose answer is then accepted.
            self.counters["drop.mpa_unsolicited"] += 1
            self.solicit_mobile_prefix()
            return
        self._mps[2].cancel()
        self._mps = None
        options = [o for o in advertisement.options if isinstance(o, PrefixInformation)]
        self.mobile_prefixes = tuple(_network(o) for o in options)
        self.emit("mobile_prefix.received", prefixes=self.mobile_prefixes)
        self._home_prefixes_changed(options)

    def _home_prefixes_changed(self, options: list[PrefixInformation]) -> None:
        """§11.4.3: process the Prefix Information options "as if they arrived in a Router
        Advertisement on the home link", which "may result in the mobile node configuring a
        new home address".

        [choice] (docs/decisions.md D20) The node keeps one home address: while its prefix is
        advertised and preferred nothing changes; when it is withdrawn (absent, or Valid
        Lifetime 0) or deprecated (Preferred Lifetime 0) and another autonomous /64 with
        non-zero lifetimes is offered, the node forms the new home address from that prefix and
        its home address's interface identifier (RFC 4862 §5.5.3), registers it with the home
        agent, and lets the old bindings lapse (their lifetimes are bounded by the old prefix's,
        §10.3.1, §10.6.4).
        """
        current = [o for o in options if _network(o) == self.home_prefix]
        if current and current[0].valid_lifetime > 0 and current[0].preferred_lifetime > 0:
            return
        offered = [o for o in options if _network(o) != self.home_prefix and o.autonomous
                   and o.prefix_length == 64 and o.valid_lifetime > 0
                   and o.preferred_lifetime > 0]
        if not offered:
            self.emit("home.prefix_lost", prefix=self.home_prefix)
            return
        prefix = _network(offered[0])
        previous = self.home_address
        self.home_prefix = prefix
        self.home_address = address_from_prefix(prefix, interface_identifier(previous))
        self.emit("home.renumbered", previous_home_address=previous,
                  home_address=self.home_address, prefix=prefix)
        for client in self.clients:
            client.home_address_changed(previous)
        self.home.renumbered()
        self.update_registrations()


def _upper_layer_icmp(payload: object) -> bool:
    """ICMPv6 that the node's stack handles: anything but Neighbor Discovery (133-137,
    link-local business that is never tunnelled) and what the entity itself consumes."""
    kind = getattr(payload, "ICMP_TYPE", None)
    if kind is None:
        kind = getattr(payload, "icmp_type", None)
    return kind is not None and not 133 <= kind <= 137


def _network(option: PrefixInformation) -> IPv6Network:
    """The prefix a Prefix Information option announces (R flag: the address's first bits)."""
    return _prefix(option.prefix, option.prefix_length)


@functools.lru_cache(maxsize=1024)
def _prefix(prefix: IPv6Address, length: int) -> IPv6Network:
    """The network of ``length`` bits that holds ``prefix``, one object for every node and
    every Router Advertisement that announces it: a node keeps its current prefix all run
    (an ``IPv6Network``, its attribute dictionary and its network address: 260 bytes), and
    reads the prefixes of every advertisement it hears. (Bounded: a prefix announced once
    by a stranger is dropped when 1,024 newer ones were asked for.)"""
    return IPv6Network((prefix, length), strict=False)


def _for_dhcp_client(packet: IPv6Packet) -> bool:
    """True if ``packet`` is a datagram to the DHCPv6 client port (the only packets
    :meth:`Dhcpv6Client.handle` takes: a node without a client needs one made for them)."""
    udp = packet.payload
    return isinstance(udp, UDPDatagram) and udp.dst_port == CLIENT_PORT
