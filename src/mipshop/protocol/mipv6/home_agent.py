"""The home agent (RFC 6275 §10), with RFC 4285 MN-HA authentication.

Control plane: home registrations and de-registrations with the Binding Acknowledgement status of
every failure (§9.5.1, §10.3.1, §10.3.2; RFC 4285 §5.1.1, §6), Duplicate Address Detection on a new
home address (§10.3.1, modelled as a delay and a configured set of addresses in use), proxy ND for
registered home addresses (a :class:`~mipshop.protocol.base.actions.Claim` on the home link,
§10.4.1), Router Advertisements with the H flag (§7), DHAAD replies (§10.5), Mobile Prefix
Advertisements (§10.6).

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
* DAD on a new home address is a delay (``dad_duration``) and a configured set of addresses
  in use; a BU arriving during DAD replaces the waiting one.
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
  address of a mobile node registered with the L bit, discarded with an ICMP Destination
  Unreachable Code 3 (§10.4.2)

Commands: :meth:`HomeAgent.start`, :meth:`HomeAgent.advertise_prefixes`,
:meth:`HomeAgent.change_prefixes`.
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

from ...wire.ext_headers import RoutingHeaderType2
from ...wire.icmpv6 import (
    DestinationUnreachable,
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    RouterSolicitation,
)
from ...wire.ipv6 import IPv6Packet, encode_packet
from ...wire.mh import BindingAckStatus, BindingUpdate
from ...wire.nd_options import HomeAgentInformation, PrefixInformation
from ..base.actions import Claim, ConfigureAddress, Transmit
from ..base.addressing import home_agents_anycast, interface_identifier, link_local_address
from ..base.backoff import RateLimiter, RetransmissionTimer
from ..base.constants import PREFIX_ADV_RETRIES, PREFIX_ADV_TIMEOUT
from ..base.entity import Timer
from ..base.icmp_errors import MINIMUM_MTU, IcmpErrorLimiter
from ..base.router_advertiser import RouterAdvertiser
from .binding_agent import BindingAgent, Registration
from .binding_cache import BindingCacheEntry
from .config import HomeAgentConfig

S = BindingAckStatus


class HomeAgent(BindingAgent):
    """A home agent on one home link (RFC 6275 §10). Commands: :meth:`start`.

    ``cache`` is the Binding Cache (home registrations only). Inputs go through
    :meth:`~mipshop.protocol.base.entity.Entity.receive` on the home interface
    (``config.router.interface``).
    """

    def __init__(self, name: str, rng: random.Random, config: HomeAgentConfig) -> None:
        super().__init__(name, rng, config, address=config.address,
                         interface=config.router.interface)
        self.config = config
        self.anycast = home_agents_anycast(config.home_prefix)
        self._prefix_rate = RateLimiter(rate=1, window=config.mobile_prefix_rate_interval)
        self._unsolicited: dict[IPv6Address, Timer] = {}
        #: The next periodic unsolicited Mobile Prefix Advertisement of each home address.
        self._periodic: dict[IPv6Address, Timer] = {}
        self._icmp_errors = IcmpErrorLimiter()
        router = config.router
        #: The prefixes of the home link as Mobile Prefix Advertisements carry them (§10.6.3);
        #: :meth:`change_prefixes` replaces them (renumbering, lifetimes reconfigured).
        self.prefixes: tuple[PrefixInformation, ...] = (PrefixInformation(
            prefix_length=router.prefix.prefixlen, router_address=True,
            valid_lifetime=router.valid_lifetime, preferred_lifetime=router.preferred_lifetime,
            prefix=router.address),)
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
            if entry.home_registration and entry.home_address not in self._periodic:
                self._schedule_periodic(entry.home_address)

    def _rand_adv_delay(self) -> float:
        """§10.6.2: MinMobPfxAdvInterval + rand() % |MaxScheduleDelay - Min|, where
        MaxScheduleDelay = min(MaxMobPfxAdvInterval, Preferred Lifetime)."""
        low = self.config.min_mobile_prefix_interval
        preferred = min((p.preferred_lifetime for p in self.prefixes), default=0)
        spread = abs(min(self.config.max_mobile_prefix_interval, preferred) - low)
        return low + (self.rng.uniform(0.0, spread) if spread > 0 else 0.0)

    def _schedule_periodic(self, hoa: IPv6Address) -> None:
        """Ensure an unsolicited advertisement to ``hoa`` is scheduled (§10.6.2)."""
        previous = self._periodic.pop(hoa, None)
        if previous is not None:
            previous.cancel()
        self._periodic[hoa] = self.schedule(self._rand_adv_delay(),
                                            lambda now: self._periodic_due(hoa))

    def _periodic_due(self, hoa: IPv6Address) -> None:
        self._periodic.pop(hoa, None)
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

    def _is_local(self, address: IPv6Address) -> bool:
        return address in (self.address, self.anycast, self.config.router.link_local)

    def _local_other(self, packet: IPv6Packet) -> None:
        payload = packet.payload
        if isinstance(payload, HomeAgentAddressDiscoveryRequest):
            self._dhaad(packet, payload)
        elif isinstance(payload, MobilePrefixSolicitation):
            self._mobile_prefix(packet, payload)
        else:
            self.counters["drop.unhandled"] += 1

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
        if named is not None and reg.home_address != named and (
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
        if existing is None and self.config.periodic_mobile_prefixes and (
                reg.home_address not in self._periodic):
            self._schedule_periodic(reg.home_address)

    def _released(self, home_address: IPv6Address) -> None:
        # §10.6.2: "If a home registration expires, cancel any scheduled advertisements".
        for timers in (self._periodic, self._unsolicited):
            timer = timers.pop(home_address, None)
            if timer is not None:
                timer.cancel()

    def _lifetime_ceiling(self) -> float:
        return self.config.router.valid_lifetime

    def _accepted_status(self, granted: int) -> int:
        # §10.3.1: status 1 when the home prefix would be deprecated during the binding; the
        # mobile node then sends a Mobile Prefix Solicitation (§11.4.2).
        if self.config.router.preferred_lifetime < granted:
            return S.ACCEPTED_PREFIX_DISCOVERY_NECESSARY
        return S.ACCEPTED

    def _new_entry(self, reg: Registration, granted: int) -> BindingCacheEntry:
        return BindingCacheEntry(
            home_address=reg.home_address, care_of_address=reg.care_of_address,
            lifetime=granted, registered_at=self.now, sequence=reg.update.sequence,
            home_registration=True, link_local_compat=reg.update.link_local_compat,
        )

    def _defended(self, home_address: IPv6Address, link_local_compat: bool
                  ) -> tuple[IPv6Address, ...]:
        # §10.3.1: with L = 1 also "the derived link-local", the home address's interface
        # identifier under fe80::/64.
        if not link_local_compat:
            return (home_address,)
        return (home_address, link_local_address(interface_identifier(home_address)))

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Dispatch one decoded packet (RS, control messages, tunnels, intercepted traffic)."""
        if isinstance(packet.payload, RouterSolicitation):
            self.advertiser.handle_solicitation(packet)
        elif self.advertiser.answer_neighbor_solicitation(packet):
            return
        elif packet.dst.is_link_local and packet.dst in self._defended_link_locals():
            self._link_local_for_mobile(packet)
        else:
            super().on_packet(packet, interface)

    def _defended_link_locals(self) -> set[IPv6Address]:
        return {link_local_address(interface_identifier(e.home_address))
                for e in self.cache.entries(self.now) if e.link_local_compat}

    def _link_local_for_mobile(self, packet: IPv6Packet) -> None:
        """§10.4.2: packets for a mobile node's link-local address MUST NOT be tunnelled;
        discard them and SHOULD answer Destination Unreachable, Code 3 (address unreachable)."""
        self.counters["drop.link_local_for_mobile"] += 1
        if packet.src.is_multicast or packet.src.is_unspecified or getattr(
                packet.payload, "ICMP_TYPE", 255) < 128:
            return  # RFC 4443 §2.4 (e): no error to a multicast source, nor about an error
        if not self._icmp_errors.allow(self.now):
            self.counters["icmp.error_rate_limited"] += 1
            return
        error = DestinationUnreachable(
            code=3, invoking_packet=encode_packet(packet)[:MINIMUM_MTU - 48])
        self.act(Transmit(packet=IPv6Packet(src=self.config.router.link_local, dst=packet.src,
                                            payload=error), interface=self.interface))
        self.emit("ha.link_local_unreachable", destination=packet.dst, source=packet.src)

    # -- DHAAD and mobile prefixes (RFC 6275 §10.5, §10.6) ---------------------------------

    def _dhaad(self, packet: IPv6Packet, request: HomeAgentAddressDiscoveryRequest) -> None:
        agents = sorted(
            [(self.config.preference, self.address), *(
                (pref, addr) for addr, pref in self.config.other_home_agents)],
            key=lambda item: -item[0],
        )
        reply = HomeAgentAddressDiscoveryReply(
            identifier=request.identifier, home_agents=tuple(addr for _pref, addr in agents)
        )
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
        for option in self.prefixes:
            if option.valid_lifetime > 0 and address in IPv6Network(
                    (option.prefix, option.prefix_length), strict=False):
                return option
        return None
