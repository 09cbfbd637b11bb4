"""The home agent (RFC 6275 §10), with RFC 4285 MN-HA authentication.

Control plane: home registrations and de-registrations with the Binding Acknowledgement status of
every failure (§9.5.1, §10.3.1, §10.3.2; RFC 4285 §5.1.1, §6), Router Advertisements with the H
flag (§7), the Home Agents List learnt from the other home agents' Router Advertisements and
DHAAD replies listing them (§10.5), Mobile Prefix Advertisements (§10.6).

Neighbor Discovery on the home link (RFC 4861, RFC 4862) for the addresses it serves:

* Duplicate Address Detection before accepting a new home registration (§10.3.1, RFC 4862
  §5.4): a Neighbor Solicitation from the unspecified address to the solicited-node group,
  hop limit 255, for the home address and, when the L flag is set, for the link-local address
  with the home address's interface identifier; a Neighbor Advertisement for one of them (or
  another node's DAD Neighbor Solicitation for it) ends the registration with status 134;
* on accepting, unsolicited Neighbor Advertisements to all-nodes for those addresses with
  O = 1, R = 0, S = 0 and the home agent's own link-layer address (§10.4.1);
* answers to every Neighbor Solicitation, multicast or unicast, for a proxied address (a
  proxy NA: R = 0, O = 0 as RFC 4861 §7.2.8 asks of proxies), for its own address and for the
  Home-Agents anycast address (§10.4.1, RFC 4861 §7.2.4), so that the runtime needs no proxy
  entries of the host's kernel; Neighbor Discovery messages for the home link are never
  tunnelled;
* a packet for a mobile node's link-local address (one with the interface identifier of a
  bound home address) is never tunnelled: it is discarded with ICMPv6 Destination
  Unreachable, code 3 (§10.4.2).

The home agent is also a host on its own address (RFC 4443 §4.1): it answers Echo Requests,
and one carrying a Home Address option from a registered mobile node is answered at the
care-of address with a Type 2 Routing Header (§9.3.1, §9.3.2). A packet with a Home Address
option that no binding backs is answered with a Binding Error, status 1 (§9.3.1, §9.3.3).

Data plane: packets for a registered home address are intercepted and tunnelled (IPv6-in-IPv6,
RFC 2473) to the care-of address (§10.4.1, §10.4.2); reverse-tunnelled packets from a
registered care-of address are decapsulated and forwarded (§10.4.5).

The registration checks, the Binding Cache with its expiry and proxy ND claims, and the
tunnels are the :class:`~.binding_agent.BindingAgent` core this class shares with the HMIPv6
MAP (RFC 5380 §6.2: "a local home agent"); this module adds what only a home agent does.

Resolved ambiguities ([choice]):

* The BA goes to the BU's source address, with a Type 2 Routing Header unless that source is
  the home address (§9.5.4, §10.3.1); every home registration gets a BA, whatever A says.
* Order of checks: authentication (RFC 4285), then 139, 135, de-registration (133), 132, 130,
  DAD (134). An authenticated BU with H = 0 gets 139 if a home entry exists; otherwise it is
  dropped with an event: this node offers no correspondent (return routability) service.
* RFC 4285: a BU without the authentication option (unless ``accept_unauthenticated``) or
  with an unknown SPI is discarded; a wrong authenticator gets BA 146 (MIPV6-AUTH-FAIL), a
  missing timestamp 145, a stale or repeated timestamp 144 (MIPV6-ID-MISMATCH) with the HA's
  time of day; these BAs are authenticated under the SPI's SA and echo the BU's timestamp.
  A timestamp is recorded once the BU has authenticated, before the binding checks.
* DAD lasts ``dad_duration`` (RetransTimer x DupAddrDetectTransmits: one probe per address);
  ``addresses_in_use`` also fails it at once; a BU arriving during DAD replaces the waiting
  one. Neighbor Advertisements go out from the home agent's link-local address.
* Status 1 is sent when the home prefix's preferred lifetime is shorter than the granted
  lifetime (the prefix would be deprecated during the binding, §10.3.1).
* Unsolicited Mobile Prefix Advertisements are not counted against the one-per-second limit
  on answers to solicitations. They go to every registered mobile node RAND_ADV_DELAY after
  its registration and after each advertisement it got (§10.6.2, MinMobPfxAdvInterval and
  MaxMobPfxAdvInterval configurable), and when :meth:`HomeAgent.change_prefixes` reports a
  change, to the care-of address with a Type 2 Routing Header; each is retransmitted until a
  Mobile Prefix Solicitation acknowledges it. RAND_ADV_DELAY's "rand() % spread" is a
  uniform draw over the spread.

Events (``kind``: fields):

* ``ha.start``; ``ha.warning`` (``reason="accept_unauthenticated"``)
* ``binding.registered`` / ``binding.refreshed`` / ``binding.deregistered`` /
  ``binding.expired``: ``home_address``, ``care_of_address``, ``lifetime``, ``sequence``
* ``binding.rejected``: ``home_address``, ``status``, ``sequence``
* ``auth.failed`` (``reason``, ``home_address``), ``auth.replay`` (``verdict``, ...)
* ``dhaad.reply``, ``mobile_prefix.advertisement`` (``home_address``, ``destination``,
  ``solicited``, ``periodic``, ``retransmission``), ``ha.prefixes_changed`` (``prefixes``)
* ``ha.link_local_unreachable`` (``destination``, ``source``): a packet for the link-local
  address of a registered mobile node, discarded with an ICMP Destination Unreachable Code 3
  (§10.4.2)
* ``dad.started``, ``dad.failed`` (``home_address``, ``address``), ``nd.proxy_advertisement``
  (``target``, ``solicited``), ``home_agents.update`` (``link_local``, ``outcome``),
  ``echo.reply`` (``destination``), ``binding_error.sent`` (``status``, ``destination``)
"""

from __future__ import annotations

import functools
import random
from ipaddress import IPv6Address, IPv6Network

from ...wire.ext_headers import ExtensionHeader, RoutingHeaderType2
from ...wire.icmpv6 import (
    DestinationUnreachable,
    EchoReply,
    EchoRequest,
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    RouterAdvertisement,
    RouterSolicitation,
)
from ...wire.ipv6 import IPv6Packet, encode_packet, new_packet
from ...wire.mh import BindingAckStatus, BindingError, BindingErrorStatus, BindingUpdate
from ...wire.nd_options import (
    HomeAgentInformation,
    PrefixInformation,
    TargetLinkLayerAddress,
    address_key,
    address_value,
    same_address,
)
from ..base.actions import BindingRecord, Claim, ConfigureAddress, Transmit, new_transmit
from ..base.addressing import (
    ALL_NODES,
    ND_HOP_LIMIT,
    UNSPECIFIED,
    home_agents_anycast,
    interface_identifier,
    is_link_local,
    link_local_address,
    solicited_node_address,
)
from ..base.backoff import RateLimiter, RetransmissionTimer
from ..base.constants import PREFIX_ADV_RETRIES, PREFIX_ADV_TIMEOUT
from ..base.entity import Timer
from ..base.icmp_errors import MINIMUM_MTU
from ..base.router_advertiser import RouterAdvertiser
from .binding_agent import BindingAgent, Registration
from .binding_cache import BindingCacheEntry, new_binding_cache_entry
from .config import HomeAgentConfig
from .home_agents_list import HomeAgentsList

S = BindingAckStatus
#: Enum members read on every registration, bound once: on Python 3.11 an attribute of an
#: Enum class goes through ``EnumType.__getattr__``'s hook (about 900 instructions).
_ACCEPTED = S.ACCEPTED
_ACCEPTED_PREFIX_DISCOVERY_NECESSARY = S.ACCEPTED_PREFIX_DISCOVERY_NECESSARY


class HomeAgent(BindingAgent):
    """A home agent on one home link (RFC 6275 §10). Commands: :meth:`start`.

    ``cache`` is the Binding Cache (home registrations only), ``home_agents`` the Home Agents
    List. Inputs go through :meth:`~mipshop.protocol.base.entity.Entity.receive` on the home
    interface (``config.router.interface``).
    """

    #: The entity answers Neighbor Solicitations for the addresses it claims (a runtime must
    #: not add proxy entries of its own for them).
    answers_neighbor_solicitations = True

    def __init__(self, name: str, rng: random.Random, config: HomeAgentConfig) -> None:
        super().__init__(name, rng, config, address=config.address,
                         interface=config.router.interface)
        self.config = config
        self.anycast = home_agents_anycast(config.home_prefix)
        self._prefix_rate = RateLimiter(rate=1, window=config.mobile_prefix_rate_interval)
        self._unsolicited: dict[IPv6Address, Timer] = {}
        #: The next periodic unsolicited Mobile Prefix Advertisement of each home address,
        #: keyed by its :func:`~mipshop.wire.nd_options.address_key` (its integer: one is
        #: scheduled per registration, and ``IPv6Address.__hash__`` is a Python method).
        self._periodic: dict[object, Timer] = {}
        #: Bound once, shared by every periodic advertisement timer (:meth:`schedule_call`).
        self._periodic_due_bound = self._periodic_due
        router = config.router
        #: The prefixes of the home link as Mobile Prefix Advertisements carry them (§10.6.3);
        #: :meth:`change_prefixes` replaces them (renumbering, lifetimes reconfigured).
        self.prefixes: tuple[PrefixInformation, ...] = (PrefixInformation(
            prefix_length=router.prefix.prefixlen, router_address=True,
            valid_lifetime=router.valid_lifetime, preferred_lifetime=router.preferred_lifetime,
            prefix=router.address),)
        #: :meth:`_prefix_table` for the value of :attr:`prefixes` it was computed from.
        self._prefix_cache: tuple[tuple[PrefixInformation, ...], tuple[
            tuple[tuple[PrefixInformation, int, int], ...], int]] | None = None
        #: :meth:`_rand_adv_delay`'s (prefixes, config, MinMobPfxAdvInterval, spread), for
        #: the values of :attr:`prefixes` and :attr:`config` it was computed from.
        self._delay_range: tuple[tuple[PrefixInformation, ...], HomeAgentConfig, float,
                                 float] | None = None
        self.link_local = config.router.link_local
        self.link_layer_address = config.router.link_layer_address
        #: The options of every Neighbor Advertisement the agent sends (built once).
        self._na_options = (TargetLinkLayerAddress(address=self.link_layer_address),)
        self.home_agents = HomeAgentsList(max_entries=config.max_home_agents)
        #: DAD in progress (§10.3.1): probed address -> the home address it is for.
        self._probing: dict[IPv6Address, IPv6Address] = {}
        self.advertiser = RouterAdvertiser(
            self,
            config.router,
            home_agent=HomeAgentInformation(
                preference=config.preference, lifetime=config.home_agent_lifetime
            ),
        )

    # -- commands ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Configure the HA's addresses, claim the HA anycast address and start RAs."""
        self.now = now
        for address in (self.config.router.link_local, self.address):
            self.act(ConfigureAddress(interface=self.interface, address=address))
        # RFC 6275 §10.5: the HA answers DHAAD requests sent to the subnet anycast address.
        self.act(Claim(address=self.anycast, proxy_interface=self.interface))
        self.emit("ha.start", address=self.address)
        if self.config.accept_unauthenticated:
            self.emit("ha.warning", reason="accept_unauthenticated")
        self.advertiser.start()

    def advertise_prefixes(self, now: float) -> None:
        """Send an unsolicited Mobile Prefix Advertisement to every registered MN (§10.6.2).

        Used when the home prefixes change. Each is retransmitted after PREFIX_ADV_TIMEOUT,
        doubling, up to PREFIX_ADV_RETRIES times, until the mobile node answers with a Mobile
        Prefix Solicitation (§10.6.3).
        """
        self.now = now
        for entry in self.cache.entries(now):
            backoff = RetransmissionTimer(initial=PREFIX_ADV_TIMEOUT,
                                          ceiling=PREFIX_ADV_TIMEOUT * 2**PREFIX_ADV_RETRIES,
                                          max_retries=PREFIX_ADV_RETRIES)
            self._unsolicited_advertisement(entry.home_address, backoff)

    def change_prefixes(self, prefixes: tuple[PrefixInformation, ...], now: float) -> None:
        """Command: the home link's prefixes changed (added, lifetimes or flags reconfigured).

        §10.6.2: a transmission to every registered mobile node is scheduled at
        RAND_ADV_DELAY (one already scheduled is kept, and sends the new list); the list is
        sent in its entirety. A prefix with Valid Lifetime 0 no longer takes new
        registrations (132).
        """
        self.now = now
        self.prefixes = tuple(prefixes)
        self.emit("ha.prefixes_changed", prefixes=tuple(
            IPv6Network((p.prefix, p.prefix_length), strict=False) for p in self.prefixes))
        for entry in self.cache.entries(now):
            if entry.home_registration and address_key(entry.home_address) not in self._periodic:
                self._schedule_periodic(entry.home_address)

    def _rand_adv_delay(self) -> float:
        """§10.6.2: MinMobPfxAdvInterval + rand() % |MaxScheduleDelay - Min|, where
        MaxScheduleDelay = min(MaxMobPfxAdvInterval, Preferred Lifetime)."""
        # (low, spread) depend on the prefixes and the configuration only: computed once per
        # value of them, not per registration.
        cached = self._delay_range
        if cached is None or cached[0] is not self.prefixes or cached[1] is not self.config:
            low = self.config.min_mobile_prefix_interval
            preferred = self._prefix_table()[1]
            spread = abs(min(self.config.max_mobile_prefix_interval, preferred) - low)
            cached = self._delay_range = (self.prefixes, self.config, low, spread)
        low, spread = cached[2], cached[3]
        # spread * random() is what rng.uniform(0.0, spread) computes (0.0 + spread * r), the
        # same value from the same draw, without its Python-level call.
        return low + (spread * self.rng.random() if spread > 0 else 0.0)

    def _schedule_periodic(self, hoa: IPv6Address) -> None:
        """Ensure an unsolicited advertisement to ``hoa`` is scheduled (§10.6.2)."""
        self.reschedule_call(self._periodic, address_key(hoa), self._rand_adv_delay(),
                             self._periodic_due_bound, hoa)

    def _periodic_due(self, hoa: IPv6Address) -> None:
        self._periodic.pop(address_key(hoa), None)
        entry = self.cache.lookup(hoa, self.now)
        if entry is None or not entry.home_registration:
            return
        # §10.6.2: retransmitted after PREFIX_ADV_TIMEOUT, doubling, until a solicitation
        # acknowledges it (at most PREFIX_ADV_RETRIES times).
        backoff = RetransmissionTimer(initial=PREFIX_ADV_TIMEOUT,
                                      ceiling=PREFIX_ADV_TIMEOUT * 2**PREFIX_ADV_RETRIES,
                                      max_retries=PREFIX_ADV_RETRIES)
        self._unsolicited_advertisement(hoa, backoff, periodic=True)

    def _unsolicited_advertisement(self, hoa: IPv6Address, backoff: RetransmissionTimer, *,
                                   periodic: bool = False) -> None:
        previous = self._unsolicited.pop(hoa, None)
        if previous is not None:
            previous.cancel()
        entry = self.cache.lookup(hoa, self.now)
        if entry is None:
            return
        identifier = self.rng.randrange(1 << 16)
        self._send(entry.care_of_address, self._prefix_advertisement(identifier),
                   (RoutingHeaderType2(home_address=hoa),))
        self.emit("mobile_prefix.advertisement", home_address=hoa,
                  destination=entry.care_of_address, solicited=False, periodic=periodic,
                  retransmission=backoff.transmissions > 0)
        self._advertised(hoa)
        timeout = backoff.next_timeout()
        if not backoff.exhausted:
            self._unsolicited[hoa] = self.schedule(
                timeout, lambda now: self._unsolicited_advertisement(hoa, backoff))

    def _advertised(self, hoa: IPv6Address) -> None:
        """An advertisement went to ``hoa``: the next periodic one is due RAND_ADV_DELAY
        later (§10.6.2: none may be missing for MaxMobPfxAdvInterval)."""
        if self.config.periodic_mobile_prefixes:
            self._schedule_periodic(hoa)

    # -- input dispatch ------------------------------------------------------------------

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Dispatch one decoded packet (ND, control messages, tunnels, intercepted traffic)."""
        payload = packet.payload
        # A BU, the common input, is none of the Neighbor Discovery messages: it skips their
        # tests.
        if payload.__class__ is not BindingUpdate and self._neighbor_discovery(packet, payload):
            return
        if is_link_local(packet.dst) and packet.dst != self.link_local:
            self._for_link_local(packet)
        else:
            super().on_packet(packet, interface)

    def _neighbor_discovery(self, packet: IPv6Packet, payload: object) -> bool:
        """Handle ``packet`` if it is Neighbor Discovery for the home agent (RFC 4861; RFC
        6275 §10.4.1 proxy ND); False for anything else."""
        if isinstance(payload, RouterSolicitation):
            self.advertiser.handle_solicitation(packet)
        elif self.advertiser.answer_neighbor_solicitation(packet):
            pass  # RFC 4861 §7.2.4: one of the home agent's own addresses
        elif isinstance(payload, RouterAdvertisement):
            self._router_advertisement(packet, payload)
        elif isinstance(payload, NeighborSolicitation):
            self._neighbor_solicitation(packet, payload)
        elif isinstance(payload, NeighborAdvertisement):
            self._neighbor_advertisement(packet, payload)
        else:
            return False
        return True

    def _is_local(self, address: IPv6Address) -> bool:
        # ``address in (the three)`` without IPv6Address.__eq__ (one per packet).
        return (same_address(address, self.address) or same_address(address, self.anycast)
                or same_address(address, self.config.router.link_local))

    def _local_other(self, packet: IPv6Packet) -> None:
        payload = packet.payload
        if packet.home_address is not None and not self._backed(packet):
            return
        if isinstance(payload, HomeAgentAddressDiscoveryRequest):
            self._dhaad(packet, payload)
        elif isinstance(payload, MobilePrefixSolicitation):
            self._mobile_prefix(packet, payload)
        elif isinstance(payload, EchoRequest):
            self._echo(packet, payload)
        else:
            self.counters["drop.unhandled"] += 1

    def _backed(self, packet: IPv6Packet) -> bool:
        """§9.3.1: a Home Address option needs a binding whose care-of address is the source;
        otherwise the packet is dropped and answered with a Binding Error, status 1."""
        hoa = packet.home_address
        assert hoa is not None
        entry = self.cache.lookup(hoa, self.now)
        if entry is not None and entry.care_of_address == packet.src:
            return True
        self.counters["drop.hao_without_binding"] += 1
        if not (packet.src.is_multicast or packet.dst.is_multicast) and (
                self._icmp_errors.allow(self.now)):
            # §9.3.3: to the packet's source, Home Address field copied from the option;
            # rate-limited like ICMP errors (one budget for both).
            self._send(packet.src, BindingError(
                status=BindingErrorStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION,
                home_address=hoa))
            self.emit("binding_error.sent", status=1, destination=packet.src, home_address=hoa)
        return False

    # -- the home agent as a host (RFC 4443 §4; RFC 6275 §9.3) -----------------------------

    def _echo(self, packet: IPv6Packet, request: EchoRequest) -> None:
        """RFC 4443 §4.2: an Echo Reply with the request's identifier, sequence and data,
        from a unicast address of ours; to a registered mobile node's home address through
        its care-of address with a Type 2 Routing Header (§9.3.2)."""
        reply = EchoReply(identifier=request.identifier, sequence=request.sequence,
                          data=request.data)
        hoa = packet.home_address
        headers: tuple[ExtensionHeader, ...] = ()
        if hoa is not None:
            headers = (RoutingHeaderType2(home_address=hoa),)
        self._send(packet.src, reply, headers)
        self.counters["echo.replied"] += 1
        self.emit("echo.reply", destination=hoa or packet.src)

    # -- Neighbor Discovery on the home link (RFC 4861, RFC 4862; RFC 6275 §10.3.1, §10.4) ---

    def _nd(self, destination: IPv6Address, message: NeighborAdvertisement | NeighborSolicitation,
            source: IPv6Address | None = None) -> None:
        self.act(new_transmit(new_packet(
            self.link_local if source is None else source, destination, message, (),
            ND_HOP_LIMIT), self.interface, None))

    def _probe(self, reg: Registration) -> None:
        """§10.3.1 / RFC 4862 §5.4.2: one Neighbor Solicitation per address, from the
        unspecified address to its solicited-node group, hop limit 255, no options."""
        hoa = reg.home_address
        targets = [hoa]
        if reg.update.link_local_compat:
            targets.append(link_local_address(interface_identifier(hoa)))
        for target in targets:
            self._probing[target] = hoa
            self._nd(solicited_node_address(target), NeighborSolicitation(target=target),
                     source=UNSPECIFIED)

    def _dad_cleared(self, home_address: IPv6Address) -> None:
        for target in (home_address, link_local_address(interface_identifier(home_address))):
            if self._probing.get(target) == home_address:
                del self._probing[target]

    def _bound_to_link_local(self, address: IPv6Address) -> BindingCacheEntry | None:
        """The binding whose home address has the interface identifier of the link-local
        ``address`` (O(1): one cache lookup), if any."""
        home = IPv6Address(int(self.config.home_prefix.network_address)
                           | interface_identifier(address))
        return self.cache.lookup(home, self.now)

    def _intercepting(self, addresses: tuple[IPv6Address, ...]) -> None:
        """§10.4.1: the unsolicited Neighbor Advertisements, from the link-local address."""
        self._announce(addresses, self.link_local, self.link_layer_address)

    def _neighbor_solicitation(self, packet: IPv6Packet, ns: NeighborSolicitation) -> None:
        unspecified = packet.src.is_unspecified
        if packet.hop_limit != ND_HOP_LIMIT or ns.target.is_multicast or (
                unspecified and packet.dst != solicited_node_address(ns.target)):
            self.counters["drop.invalid_ns"] += 1  # RFC 4861 §7.1.1
            return
        target = ns.target
        probed = self._probing.get(target)
        if probed is not None and unspecified:
            # RFC 4862 §5.4.3: another node probes the same tentative address.
            self._dad_conflict(probed, target)
            return
        if target == self.anycast:
            kind = "anycast"
        elif self.cache.lookup(target, self.now) is not None:
            kind = "proxy"
        elif target.is_link_local and (entry := self._bound_to_link_local(target)) is not None \
                and entry.link_local_compat:
            kind = "proxy"  # §10.4.1: the derived link-local address of an L = 1 binding
        else:
            return  # not ours (the router's own addresses were answered before)
        # RFC 4861 §7.2.4: to the solicitation's source, or to all-nodes when it was the
        # unspecified address (someone's DAD: the address is defended). §10.4.1: a proxy
        # answer has R = 0; RFC 4861 §7.2.7/§7.2.8: O = 0 for anycast and proxied addresses,
        # so that the node itself, if present, overrides.
        na = NeighborAdvertisement(
            router=kind != "proxy", solicited=not unspecified, override=False,
            target=target, options=self._na_options)
        self._nd(ALL_NODES if unspecified else packet.src, na)
        self.counters[f"nd.answered.{kind}"] += 1
        if kind == "proxy":
            self.emit("nd.proxy_advertisement", target=target, solicited=not unspecified)

    def _neighbor_advertisement(self, packet: IPv6Packet, na: NeighborAdvertisement) -> None:
        if packet.hop_limit != ND_HOP_LIMIT:
            self.counters["drop.invalid_na"] += 1  # RFC 4861 §7.1.2
            return
        probed = self._probing.get(na.target)
        if probed is not None:
            # RFC 4862 §5.4.4: the address is in use on the home link -> 134 (§10.3.1).
            self._dad_conflict(probed, na.target)

    def _for_link_local(self, packet: IPv6Packet) -> None:
        """§10.4.2: packets for a mobile node's link-local address (the interface identifier
        of a bound home address, whatever its L flag) MUST NOT be tunnelled: they are
        discarded, with a Destination Unreachable, Code 3 (address unreachable), to their
        source."""
        if self._bound_to_link_local(packet.dst) is None:
            self.counters["drop.not_for_us"] += 1
            return
        self.counters["drop.link_local_for_mobile"] += 1
        if packet.src.is_multicast or packet.src.is_unspecified or getattr(
                packet.payload, "ICMP_TYPE", 255) < 128:
            return  # RFC 4443 §2.4 (e): no error to a multicast source, nor about an error
        if not self._icmp_errors.allow(self.now):
            self.counters["icmp.error_rate_limited"] += 1
            return
        raw = self.received_packet or encode_packet(packet)
        error = DestinationUnreachable(code=3, invoking_packet=raw[:MINIMUM_MTU - 48])
        # RFC 4443 §2.2: from the address of ours most helpful to the source (same scope).
        source = self.link_local if packet.src.is_link_local else self.address
        self.act(Transmit(packet=IPv6Packet(src=source, dst=packet.src, payload=error),
                          interface=self.interface))
        self.emit("ha.link_local_unreachable", destination=packet.dst, source=packet.src)

    # -- the Home Agents List (RFC 6275 §10.5.1) -------------------------------------------

    def _router_advertisement(self, packet: IPv6Packet, ra: RouterAdvertisement) -> None:
        if packet.hop_limit != ND_HOP_LIMIT or not packet.src.is_link_local:
            self.counters["drop.invalid_ra"] += 1  # RFC 4861 §6.1.2
            return
        if packet.src == self.link_local:
            return
        info = next((o for o in ra.options if isinstance(o, HomeAgentInformation)), None)
        preference = info.preference if info is not None else 0
        lifetime = info.lifetime if info is not None else ra.router_lifetime
        addresses = [o.prefix for o in ra.options
                     if isinstance(o, PrefixInformation) and o.router_address]
        outcome = self.home_agents.router_advertisement(
            packet.src, home_agent=ra.home_agent, preference=preference, lifetime=lifetime,
            addresses=addresses, now=self.now)
        self.counters[f"home_agents.{outcome}"] += 1
        if outcome != "ignored":
            self.emit("home_agents.update", link_local=packet.src, outcome=outcome,
                      preference=preference, lifetime=lifetime)

    # -- home registration hooks (RFC 6275 §10.3.1) ----------------------------------------

    def _serves(self, bu: BindingUpdate) -> bool:
        return bu.home_registration

    def _same_kind(self, entry: BindingCacheEntry) -> bool:
        return entry.home_registration

    def _unserved(self, reg: Registration) -> None:
        # This node offers no correspondent service (no RR): nothing to register.
        self.counters["drop.not_home_registration"] += 1
        self.emit("bu.ignored", home_address=reg.home_address, reason="not_home_registration")

    def _admit(self, reg: Registration) -> Registration | None:
        # [choice] A security association names one home address; after renumbering
        # (change_prefixes, §10.6.2, §11.4.3: "security associations ... needed for new
        # prefixes have been pre-configured") it authorises that address's interface
        # identifier under every prefix this home agent advertises.
        creds = reg.credentials
        named = creds.home_address if creds is not None else None
        if named is not None and not same_address(reg.home_address, named) and (
                interface_identifier(reg.home_address) == interface_identifier(named)
                and self._home_prefix(reg.home_address) is not None
                and self._home_prefix(named) is not self._home_prefix(reg.home_address)):
            return reg
        return super()._admit(reg)

    def _registration_status(self, reg: Registration) -> int | None:
        if self._home_prefix(reg.home_address) is None:
            return S.NOT_HOME_SUBNET  # §10.3.1 (a withdrawn prefix is no home subnet)
        return None

    def _accept(self, reg: Registration, existing: BindingCacheEntry | None) -> None:
        super()._accept(reg, existing)
        if existing is None and self.config.periodic_mobile_prefixes:
            # Unless one is already scheduled (one hash of the address, not two).
            self.schedule_call_once(self._periodic, address_key(reg.home_address),
                                    self._rand_adv_delay, self._periodic_due_bound,
                                    reg.home_address)

    def _released(self, home_address: IPv6Address) -> None:
        # §10.6.2: "If a home registration expires, cancel any scheduled advertisements".
        for timer in (self._periodic.pop(address_key(home_address), None),
                      self._unsolicited.pop(home_address, None)):
            if timer is not None:
                timer.cancel()

    def _lifetime_ceiling(self) -> float:
        return self.config.router.valid_lifetime

    def _restored(self, entry: BindingCacheEntry, record: BindingRecord) -> None:
        # §10.6.2: a restored registration gets its periodic advertisements, as a new one.
        if self.config.periodic_mobile_prefixes and (
                address_key(entry.home_address) not in self._periodic):
            self._schedule_periodic(entry.home_address)

    def _restorable(self, entry: BindingCacheEntry, record: BindingRecord) -> bool:
        # The checks a registration of this home address would pass now (§10.3.1).
        if entry.home_address not in self.config.home_prefix:
            return False
        return super()._restorable(entry, record)

    def _accepted_status(self, granted: int) -> int:
        # §10.3.1: status 1 when the home prefix would be deprecated during the binding; the
        # mobile node then sends a Mobile Prefix Solicitation (§11.4.2).
        if self.config.router.preferred_lifetime < granted:
            return _ACCEPTED_PREFIX_DISCOVERY_NECESSARY
        return _ACCEPTED

    def _new_entry(self, reg: Registration, granted: int) -> BindingCacheEntry:
        # BindingCacheEntry(...) of these fields (new_binding_cache_entry: no keyword __init__).
        update = reg.update
        return new_binding_cache_entry(
            reg.home_address, reg.care_of_address, granted, self.now, update.sequence, True,
            False, update.link_local_compat)

    def _defended(self, home_address: IPv6Address, link_local_compat: bool
                  ) -> tuple[IPv6Address, ...]:
        # §10.3.1: with L = 1 also "the derived link-local", the home address's interface
        # identifier under fe80::/64.
        if not link_local_compat:
            return (home_address,)
        return (home_address, link_local_address(interface_identifier(home_address)))

    # -- DHAAD and mobile prefixes (RFC 6275 §10.5, §10.6) ---------------------------------

    def _dhaad(self, packet: IPv6Packet, request: HomeAgentAddressDiscoveryRequest) -> None:
        # §10.5.1: every home agent of the list (and the configured ones), in decreasing
        # preference, equal preferences shuffled afresh for every reply.
        agents = self.home_agents.reply((self.config.preference, self.address), self.rng,
                                        self.now, static=self.config.other_home_agents)
        reply = HomeAgentAddressDiscoveryReply(identifier=request.identifier,
                                               home_agents=agents)
        # §10.5.1: source = this HA's address (not the anycast), destination = request source.
        self._send(packet.src, reply)
        self.emit("dhaad.reply", destination=packet.src, identifier=request.identifier)

    def _mobile_prefix(self, packet: IPv6Packet, solicitation: MobilePrefixSolicitation) -> None:
        hoa = packet.home_address
        entry = self.cache.lookup(hoa, self.now) if hoa is not None else None
        # §10.6.2 / §11.4.2: the solicitation carries the home address of a registered MN.
        if hoa is None or entry is None:
            self.counters["drop.mobile_prefix_unbound"] += 1
            return
        pending = self._unsolicited.pop(hoa, None)
        if pending is not None:
            pending.cancel()  # §10.6.3: the solicitation acknowledges an unsolicited MPA
        # [choice] The one-per-second limit applies to answers, not to unsolicited MPAs, so
        # the solicitation that acknowledges one is answered at once.
        if not self._prefix_rate.try_acquire(hoa, self.now):
            self.counters["drop.mobile_prefix_rate"] += 1
            return
        # §6.8: sent to the solicitation's source with a Type 2 Routing Header (home address).
        self._send(packet.src, self._prefix_advertisement(solicitation.identifier),
                   (RoutingHeaderType2(home_address=hoa),))
        self.emit("mobile_prefix.advertisement", home_address=hoa, destination=packet.src,
                  solicited=True, periodic=False, retransmission=False)
        self._advertised(hoa)

    def _prefix_advertisement(self, identifier: int) -> MobilePrefixAdvertisement:
        return MobilePrefixAdvertisement(identifier=identifier, options=self.prefixes)

    def _home_prefix(self, address: IPv6Address) -> PrefixInformation | None:
        """The advertised home prefix holding ``address`` with a non-zero valid lifetime."""
        value = address_value(address)
        for option, network, mask in self._prefix_table()[0]:
            if value & mask == network:
                return option
        return None

    def _prefix_table(self) -> tuple[tuple[tuple[PrefixInformation, int, int], ...], int]:
        """What every registration reads of :attr:`prefixes`, computed once per value of it:
        (option, network as an integer, mask) of each prefix with a non-zero valid lifetime,
        in order, and the shortest preferred lifetime (0 without prefixes)."""
        prefixes = self.prefixes
        cached = self._prefix_cache
        if cached is not None and cached[0] is prefixes:
            return cached[1]
        table = tuple((option, int(net.network_address), int(net.netmask))
                      for option in prefixes if option.valid_lifetime > 0
                      for net in (_network(option),))
        result = (table, min((p.preferred_lifetime for p in prefixes), default=0))
        self._prefix_cache = (prefixes, result)
        return result


@functools.lru_cache(maxsize=64)
def _network(option: PrefixInformation) -> IPv6Network:
    """The prefix an option advertises (memoised: it is checked on every registration)."""
    return IPv6Network((option.prefix, option.prefix_length), strict=False)
