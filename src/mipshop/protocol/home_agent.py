"""The home agent (RFC 6275 §10), with RFC 4285 MN-HA authentication.

Control plane: home registrations and de-registrations with the Binding Acknowledgement status
of every failure (§9.5.1, §10.3.1, §10.3.2; RFC 4285 §5.1.1, §6), Duplicate Address Detection
on a new home address (§10.3.1, modelled as a delay and a configured set of addresses in use),
proxy ND for registered home addresses (a :class:`~.actions.Claim` on the home link, §10.4.1),
Router Advertisements with the H flag (§7), DHAAD replies (§10.5), Mobile Prefix
Advertisements (§10.6).

Data plane: packets for a registered home address are intercepted and tunnelled (IPv6-in-IPv6,
RFC 2473) to the care-of address (§10.4.1, §10.4.2); reverse-tunnelled packets from a
registered care-of address are decapsulated and forwarded (§10.4.5).

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
  on answers to solicitations.

Events (``kind``: fields):

* ``ha.start``; ``ha.warning`` (``reason="accept_unauthenticated"``)
* ``binding.registered`` / ``binding.refreshed`` / ``binding.deregistered`` /
  ``binding.expired``: ``home_address``, ``care_of_address``, ``lifetime``, ``sequence``
* ``binding.rejected``: ``home_address``, ``status``, ``sequence``
* ``auth.failed`` (``reason``, ``home_address``), ``auth.replay`` (``verdict``, ...)
* ``dhaad.reply``, ``mobile_prefix.advertisement`` (``home_address``, ``solicited``)

Commands: :meth:`HomeAgent.start`, :meth:`HomeAgent.advertise_prefixes`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from ipaddress import IPv6Address

from ..wire.ext_headers import ExtensionHeader, RoutingHeaderType2
from ..wire.icmpv6 import (
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    ICMPv6Message,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    RouterSolicitation,
)
from ..wire.ipv6 import IPv6Packet, encapsulate
from ..wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingErrorStatus,
    BindingUpdate,
    MobilityMessage,
    UnknownMobilityMessage,
)
from ..wire.mh_options import BindingRefreshAdvice, MobilityOption
from ..wire.nd_options import HomeAgentInformation, PrefixInformation
from .access_router import RouterAdvertiser
from .actions import Claim, ConfigureAddress, Transmit
from .addressing import home_agents_anycast
from .backoff import RateLimiter, RetransmissionTimer
from .binding_cache import BindingCache, BindingCacheEntry
from .config import HomeAgentConfig, MobilityCredentials
from .constants import PREFIX_ADV_RETRIES, PREFIX_ADV_TIMEOUT
from .entity import Entity, Timer
from .mn_ha_auth import ReplayChecker, ReplayVerdict
from .sequence import seq_newer
from .signalling import binding_care_of_address, protect_mn_ha, read_mn_ha, verify_mn_ha
from .signalling import wire_lifetime as _wire_lifetime

S = BindingAckStatus


@dataclass(frozen=True, slots=True)
class _Registration:
    """A Binding Update that passed authentication, with what its answer needs."""

    packet: IPv6Packet
    update: BindingUpdate
    home_address: IPv6Address
    care_of_address: IPv6Address
    credentials: MobilityCredentials | None
    timestamp: int | None


class HomeAgent(Entity):
    """A home agent on one home link (RFC 6275 §10). Commands: :meth:`start`.

    ``cache`` is the Binding Cache (home registrations only). Inputs go through
    :meth:`~.entity.Entity.receive` on the home interface (``config.router.interface``).
    """

    def __init__(self, name: str, rng: random.Random, config: HomeAgentConfig) -> None:
        super().__init__(name, rng)
        self.config = config
        self.interface = config.router.interface
        self.address = config.address
        self.anycast = home_agents_anycast(config.home_prefix)
        self.cache = BindingCache(max_entries=config.max_bindings)
        self.replay = ReplayChecker(wall_clock_offset=config.wall_clock_offset)
        self._by_spi = {c.security_association.spi: c for c in config.credentials}
        self._expiry: dict[IPv6Address, Timer] = {}
        self._dad: dict[IPv6Address, tuple[Timer, _Registration, float]] = {}
        self._prefix_rate = RateLimiter(rate=1, window=config.mobile_prefix_rate_interval)
        self._unsolicited: dict[IPv6Address, Timer] = {}
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

    def _unsolicited_advertisement(self, hoa: IPv6Address, backoff: RetransmissionTimer) -> None:
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
                  destination=entry.care_of_address, solicited=False)
        timeout = backoff.next_timeout()
        if not backoff.exhausted:
            self._unsolicited[hoa] = self.schedule(
                timeout, lambda now: self._unsolicited_advertisement(hoa, backoff))

    # -- input dispatch ------------------------------------------------------------------

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Dispatch one decoded packet (control messages, tunnels, intercepted traffic)."""
        payload = packet.payload
        if isinstance(payload, RouterSolicitation):
            self.advertiser.handle_solicitation(packet)
        elif packet.dst in (self.address, self.anycast, self.config.router.link_local):
            self._local(packet)
        elif self.cache.lookup(packet.dst, self.now) is not None:
            self._tunnel_to_mobile(packet)
        else:
            self.counters["drop.not_for_us"] += 1

    def _local(self, packet: IPv6Packet) -> None:
        payload = packet.payload
        if isinstance(payload, BindingUpdate):
            self._binding_update(packet, payload)
        elif isinstance(payload, IPv6Packet):
            self._reverse_tunnel(packet, payload)
        elif isinstance(payload, HomeAgentAddressDiscoveryRequest):
            self._dhaad(packet, payload)
        elif isinstance(payload, MobilePrefixSolicitation):
            self._mobile_prefix(packet, payload)
        elif isinstance(payload, UnknownMobilityMessage):
            # RFC 6275 §9.2 / §9.3.3: unknown MH Type -> Binding Error status 2.
            self._send(packet.src, BindingError(
                status=BindingErrorStatus.UNRECOGNIZED_MH_TYPE,
                home_address=packet.home_address or IPv6Address("::"),
            ))
        else:
            self.counters["drop.unhandled"] += 1

    # -- home registration (RFC 6275 §10.3.1, §10.3.2; RFC 4285 §5.1.1, §6) --------------

    def _binding_update(self, packet: IPv6Packet, bu: BindingUpdate) -> None:
        hoa = packet.home_address or packet.src
        coa = binding_care_of_address(packet, bu)
        reg = self._authenticate(packet, bu, hoa, coa)
        if reg is None:
            return
        pending = self._dad.get(hoa)
        if pending is not None:
            if not seq_newer(bu.sequence, pending[1].update.sequence):
                self.counters["drop.older_than_pending"] += 1
                return
            # A newer BU (a retransmission, another care-of address, a de-registration)
            # supersedes the one waiting for DAD: only the latest is answered.
            pending[0].cancel()
            del self._dad[hoa]
        dad_started = pending[2] if pending is not None else self.now
        existing = self.cache.lookup(hoa, self.now)
        if not bu.home_registration:
            if existing is not None and existing.home_registration:
                # §9.5.1: the H flag differs from the existing entry's -> 139.
                self._reject(reg, S.REGISTRATION_TYPE_CHANGE_DISALLOWED)
            else:
                # This node offers no correspondent service (no RR): nothing to register.
                self.counters["drop.not_home_registration"] += 1
                self.emit("bu.ignored", home_address=hoa, reason="not_home_registration")
            return
        if existing is not None and not seq_newer(bu.sequence, existing.sequence):
            # §9.5.1: not newer than the entry's -> 135, carrying the last accepted number.
            self._reject(reg, S.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=existing.sequence)
            return
        if bu.lifetime == 0 or coa == hoa:
            self._deregister(reg, existing)
            return
        if hoa not in self.config.home_prefix:
            self._reject(reg, S.NOT_HOME_SUBNET)  # §10.3.1
            return
        if existing is None and not self.cache.has_room_for(hoa, self.now):
            self._reject(reg, S.INSUFFICIENT_RESOURCES)  # §10.3.1, §9.5.2
            return
        if existing is None and self.config.dad_duration > 0:
            # §10.3.1: DAD on the home address before the first BA (a superseding BU keeps
            # the DAD already running).
            remaining = max(dad_started + self.config.dad_duration - self.now, 0.0)
            timer = self.schedule(remaining, lambda now: self._dad_done(hoa))
            self._dad[hoa] = (timer, reg, dad_started)
            if pending is None:
                self.emit("dad.started", home_address=hoa)
            return
        self._accept(reg, existing)

    def _dad_done(self, hoa: IPv6Address) -> None:
        _timer, reg, _started = self._dad.pop(hoa)
        existing = self.cache.lookup(hoa, self.now)
        if existing is None and hoa in self.config.addresses_in_use:
            self._reject(reg, S.DUPLICATE_ADDRESS_DETECTION_FAILED)  # §10.3.1
        elif existing is None and not self.cache.has_room_for(hoa, self.now):
            self._reject(reg, S.INSUFFICIENT_RESOURCES)
        else:
            self._accept(reg, existing)

    def _authenticate(
        self, packet: IPv6Packet, bu: BindingUpdate, hoa: IPv6Address, coa: IPv6Address
    ) -> _Registration | None:
        """RFC 4285 checks; None if the BU must not be processed further (no state changed)."""
        protection = read_mn_ha(bu)
        if not protection.present:
            if self.config.accept_unauthenticated:
                return _Registration(packet, bu, hoa, coa, None, None)
            # RFC 4285 §5.1.1: no shared-key SA for this BU -> discard.
            return self._auth_failure("unauthenticated", hoa)
        assert protection.authentication is not None
        creds = self._by_spi.get(protection.authentication.spi)
        if creds is None:
            return self._auth_failure("unknown_spi", hoa)
        reg = _Registration(packet, bu, hoa, coa, creds, protection.timestamp)
        if protection.identifier != creds.identifier or not verify_mn_ha(
            bu, creds, care_of_address=coa, home_address=hoa
        ):
            self._auth_failure("bad_authenticator", hoa)
            self._reject(reg, S.MIPV6_AUTH_FAIL)  # RFC 4285 §5.1.1: MUST send BA 146
            return None
        if protection.timestamp is None:
            self._auth_failure("no_timestamp", hoa)
            self._reject(reg, S.MIPV6_MESG_ID_REQD)  # RFC 4285 §6, §8
            return None
        sa = creds.security_association
        verdict = self.replay.accept(
            creds.identifier, protection.timestamp, self.now, window=sa.replay_window
        )
        if verdict is not ReplayVerdict.ACCEPTED:
            # RFC 4285 §6: authenticated but the timestamp is invalid -> 144, no binding; the
            # BA's timestamp carries the HA's time of day in its high-order 32 bits.
            self.counters["auth.replay"] += 1
            self.emit("auth.replay", home_address=hoa, verdict=verdict.value)
            stamp = self.replay.reply_timestamp(protection.timestamp, verdict, self.now)
            self._reject(replace(reg, timestamp=stamp), S.MIPV6_ID_MISMATCH)
            return None
        if creds.home_address is not None and creds.home_address != hoa:
            self._reject(reg, S.ADMINISTRATIVELY_PROHIBITED)
            return None
        return reg

    def _auth_failure(self, reason: str, hoa: IPv6Address) -> None:
        self.counters[f"auth.{reason}"] += 1
        self.emit("auth.failed", reason=reason, home_address=hoa)

    def _deregister(self, reg: _Registration, existing: BindingCacheEntry | None) -> None:
        if existing is None or not existing.home_registration:
            self._reject(reg, S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE)  # §10.3.2
            return
        self._remove(reg.home_address)
        self.emit("binding.deregistered", home_address=reg.home_address,
                  care_of_address=existing.care_of_address, sequence=reg.update.sequence)
        self._acknowledge(reg, S.ACCEPTED, lifetime=0)

    def _accept(self, reg: _Registration, existing: BindingCacheEntry | None) -> None:
        bu, hoa = reg.update, reg.home_address
        # §10.3.1: the granted lifetime may be reduced; never beyond the prefix's lifetime.
        granted = _wire_lifetime(min(
            bu.lifetime, self.config.max_binding_lifetime, self.config.router.valid_lifetime
        ))
        entry = BindingCacheEntry(
            home_address=hoa, care_of_address=reg.care_of_address, lifetime=granted,
            registered_at=self.now, sequence=bu.sequence, home_registration=True,
        )
        self.cache.update(entry, self.now)
        if existing is None:
            # §10.4.1: intercept the home address with proxy Neighbor Discovery.
            self.act(Claim(address=hoa, proxy_interface=self.interface))
        timer = self._expiry.pop(hoa, None)
        if timer is not None:
            timer.cancel()
        self._expiry[hoa] = self.schedule(granted, lambda now: self._expire(hoa))
        kind = "binding.registered" if existing is None or (
            existing.care_of_address != reg.care_of_address) else "binding.refreshed"
        self.emit(kind, home_address=hoa, care_of_address=reg.care_of_address,
                  lifetime=granted, sequence=bu.sequence)
        refresh = self.config.refresh_interval
        options: tuple[MobilityOption, ...] = ()
        if refresh is not None and 0 < refresh < granted:
            options = (BindingRefreshAdvice(refresh_interval=int(refresh)),)  # §10.3.1
        # §10.3.1: status 1 when the home prefix would be deprecated during the binding; the
        # mobile node then sends a Mobile Prefix Solicitation (§11.4.2).
        status = (S.ACCEPTED_PREFIX_DISCOVERY_NECESSARY
                  if self.config.router.preferred_lifetime < granted else S.ACCEPTED)
        self._acknowledge(reg, status, lifetime=granted, options=options)

    def _expire(self, hoa: IPv6Address) -> None:
        entry = self.cache.get(hoa)
        if entry is None or not entry.expired(self.now):
            return
        self._remove(hoa)
        self.emit("binding.expired", home_address=hoa, care_of_address=entry.care_of_address,
                  sequence=entry.sequence)

    def _remove(self, hoa: IPv6Address) -> None:
        self.cache.remove(hoa)
        timer = self._expiry.pop(hoa, None)
        if timer is not None:
            timer.cancel()
        self.act(Claim(address=hoa, active=False, proxy_interface=self.interface))

    def _reject(
        self, reg: _Registration, status: int, *, sequence: int | None = None
    ) -> None:
        self.counters[f"ba.status.{int(status)}"] += 1
        self.emit("binding.rejected", home_address=reg.home_address, status=int(status),
                  sequence=reg.update.sequence)
        self._acknowledge(reg, status, lifetime=0, sequence=sequence)

    def _acknowledge(
        self,
        reg: _Registration,
        status: int,
        *,
        lifetime: int,
        sequence: int | None = None,
        options: tuple[MobilityOption, ...] = (),
    ) -> None:
        """Send the BA for ``reg`` (§10.3.1: always, whatever the A flag says)."""
        ba = BindingAcknowledgement(
            status=int(status),
            sequence=reg.update.sequence if sequence is None else sequence,
            lifetime=lifetime,
            options=options,
        )
        if reg.credentials is not None and reg.timestamp is not None:
            # RFC 4285 §5.1.1: the BA carries the option when the BU did.
            ba = protect_mn_ha(
                ba, reg.credentials, timestamp=reg.timestamp,
                care_of_address=reg.care_of_address, home_address=reg.home_address,
            )
        # §6.1.8 / §9.5.4: to the BU's source; a Type 2 Routing Header carries the home address
        # unless the BA goes to the home address itself (de-registration from home).
        destination = reg.packet.src
        headers = () if destination == reg.home_address else (
            RoutingHeaderType2(home_address=reg.home_address),)
        self._send(destination, ba, headers)

    # -- data plane (RFC 6275 §10.4) -------------------------------------------------------

    def _tunnel_to_mobile(self, packet: IPv6Packet) -> None:
        entry = self.cache.lookup(packet.dst, self.now)
        assert entry is not None
        if packet.hop_limit <= 1:
            self.counters["drop.hop_limit"] += 1
            return
        entry.touch(self.now)
        inner = replace(packet, hop_limit=packet.hop_limit - 1)
        # §10.4.2 / RFC 2473 §3: outer source = HA address, outer destination = care-of address.
        outer = encapsulate(inner, src=self.address, dst=entry.care_of_address)
        self.counters["tunnel.encapsulated"] += 1
        self.act(Transmit(packet=outer, interface=self.interface))

    def _reverse_tunnel(self, outer: IPv6Packet, inner: IPv6Packet) -> None:
        entry = self.cache.lookup(inner.src, self.now)
        # §10.4.5: the outer source must be the registered care-of address of the inner source.
        if entry is None or entry.care_of_address != outer.src:
            self.counters["drop.reverse_tunnel_unbound"] += 1
            return
        self.counters["tunnel.decapsulated"] += 1
        if inner.dst in (self.address, self.anycast):
            self._local(inner)
        elif self.cache.lookup(inner.dst, self.now) is not None:
            self._tunnel_to_mobile(inner)
        elif inner.hop_limit > 1:
            self.act(Transmit(packet=replace(inner, hop_limit=inner.hop_limit - 1),
                              interface=self.interface))
        else:
            self.counters["drop.hop_limit"] += 1

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
                  solicited=True)

    def _prefix_advertisement(self, identifier: int) -> MobilePrefixAdvertisement:
        router = self.config.router
        return MobilePrefixAdvertisement(
            identifier=identifier,
            options=(PrefixInformation(
                prefix_length=router.prefix.prefixlen, router_address=True,
                valid_lifetime=router.valid_lifetime,
                preferred_lifetime=router.preferred_lifetime, prefix=router.address,
            ),),
        )

    def _send(
        self,
        destination: IPv6Address,
        payload: MobilityMessage | ICMPv6Message,
        headers: tuple[ExtensionHeader, ...] = (),
    ) -> None:
        packet = IPv6Packet(src=self.address, dst=destination, payload=payload,
                            extension_headers=headers)
        self.act(Transmit(packet=packet, interface=self.interface))
