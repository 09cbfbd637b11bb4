"""What a home agent and a MAP share: registrations, the binding cache and the tunnel.

RFC 5380 §6.2 makes the Mobility Anchor Point "a local home agent": it validates a local Binding
Update exactly as a home agent validates a home registration (RFC 6275 §10.3.1, the same BA
status codes: "No new error codes are introduced for HMIPv6"), answers with a BA carrying a
Type 2 Routing Header, intercepts packets for the registered address with proxy Neighbor
Discovery and tunnels them to the care-of address, and accepts reverse-tunnelled packets
(RFC 6275 §10.4). :class:`BindingAgent` is that common core; :class:`~.home_agent.HomeAgent`
and :class:`~mipshop.protocol.hmipv6.map.MobilityAnchorPoint` differ only through the hooks listed
on the class.

The registered address is called the *home address* throughout (it is the RCoA at a MAP: the
local BU's Home Address option carries it, RFC 5380 §4, §6.1) and the binding's destination the
*care-of address* (the LCoA at a MAP).

Order of checks (RFC 6275 §9.5.1, §10.3.1; RFC 4285 §5.1.1, §6), with [choice] where the RFCs
give none: authentication (a BU without the option, unless ``accept_unauthenticated``, or
with an unknown SPI is discarded; a wrong authenticator gets 146, a missing timestamp 145, a
stale or repeated one 144 with the agent's time of day), then the agent's admission rule
(:meth:`BindingAgent._admit`), then 139 (a BU of the other registration kind for an existing
entry), 135 (sequence), de-registration (133 without an entry), the agent's own checks
(:meth:`BindingAgent._registration_status`), 130 (binding cache full), Duplicate Address
Detection (134), acceptance. Every BU gets a BA whatever its A flag (§10.3.1). Before all of
them, a BU whose home or care-of address is not a unicast routable address is silently
discarded (§6.1.7, §9.5.1).

Duplicate Address Detection (§10.3.1) runs for ``dad_duration`` (RetransTimer x
DupAddrDetectTransmits) before a new binding is accepted: :meth:`BindingAgent._probe` sends the
probes (the home agent's Neighbor Solicitations), and :meth:`BindingAgent._dad_conflict` ends
it with 134 when the link answers. An address in ``addresses_in_use`` counts as answered.

De-registration (§10.3.2): the entry stops intercepting at once, but its sequence number is
kept, inactive, for MAX_DELETE_BCE_TIMEOUT: a delayed older BU is then refused with 135
instead of creating the binding again, and a retransmitted de-registration is acknowledged.

Persistence (the runtime's stable storage, never touched here): what a BA acknowledges is
asked for before the BA in the action list (:class:`~mipshop.protocol.base.actions.
PersistReplay` for the RFC 4285 timestamp of an authenticated BU, :class:`~mipshop.protocol.
base.actions.PersistBinding` for an accepted binding or a de-registered one kept inactive,
:class:`~mipshop.protocol.base.actions.ForgetBinding` when one goes), and
:meth:`BindingAgent.restore` resumes from it after a restart.

A Mobility Header whose Payload Proto is not 59, or whose Header Len is below its type's
minimum, is answered with an ICMPv6 Parameter Problem (code 0) pointing at the field (§9.2).

Events (``kind``: fields): ``binding.registered`` / ``binding.refreshed`` /
``binding.deregistered`` / ``binding.expired`` (``home_address``, ``care_of_address``,
``lifetime``, ``sequence``), ``binding.rejected`` (``home_address``, ``status``,
``sequence``), ``auth.failed`` (``reason``, ``home_address``), ``auth.replay``,
``dad.started``, ``dad.failed`` (``home_address``, ``address``), ``bu.ignored`` (``reason``),
``icmp.parameter_problem`` (``destination``, ``pointer``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import Any, Protocol

from ...wire.errors import MalformedPacket
from ...wire.ext_headers import ExtensionHeader, new_routing_header_type2
from ...wire.icmpv6 import (
    ICMPv6Message,
    new_neighbor_advertisement,
)
from ...wire.ipv6 import IPv6Packet, new_packet
from ...wire.ipv6 import encapsulate as _encapsulate
from ...wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingErrorStatus,
    BindingUpdate,
    MobilityMessage,
    UnknownMobilityMessage,
    new_binding_acknowledgement,
)
from ...wire.mh_options import BindingRefreshAdvice, MobilityOption, _fast_new
from ...wire.nd_options import TargetLinkLayerAddress, address_key, address_value, same_address
from ..base.actions import (
    BindingRecord,
    Claim,
    ForgetBinding,
    PersistBinding,
    new_binding_record,
    new_claim,
    new_persist_binding,
    new_persist_replay,
    new_transmit,
)
from ..base.addressing import ALL_NODES, ND_HOP_LIMIT
from ..base.constants import MAX_DELETE_BCE_TIMEOUT
from ..base.entity import Entity, Timer
from ..base.icmp_errors import IcmpErrorLimiter, mobility_header_parameter_problem
from ..base.sequence import seq_newer
from ..base.tables import ReplyLimiter
from .binding_cache import BindingCache, BindingCacheEntry
from .config import AgentCredentials, MobilityCredentials
from .mn_ha_auth import ReplayChecker, ReplayVerdict
from .signalling import (
    binding_care_of_address,
    protect_mn_ha,
    protected_acknowledgement,
    read_mn_ha,
    verify_mn_ha,
)
from .signalling import wire_lifetime as _wire_lifetime

S = BindingAckStatus
#: Enum members read on every registration, bound once: on Python 3.11 an attribute of an
#: Enum class goes through ``EnumType.__getattr__``'s hook (about 900 instructions).
_VERDICT_ACCEPTED = ReplayVerdict.ACCEPTED


class AgentConfig(Protocol):
    """The configuration fields :class:`BindingAgent` reads (HomeAgentConfig, MapConfig)."""

    @property
    def credentials(self) -> AgentCredentials:
        """The mobile nodes' security associations, looked up by SPI (RFC 4285)."""
        ...

    @property
    def accept_unauthenticated(self) -> bool:
        """Also accept BUs without the Mobility Message Authentication option."""
        ...

    @property
    def max_bindings(self) -> int:
        """Binding Cache limit, pending DAD included (status 130 beyond it)."""
        ...

    @property
    def max_pending_dad(self) -> int:
        """Registrations waiting for DAD at once (status 130 beyond it)."""
        ...

    @property
    def registration_rate(self) -> int:
        """Authenticated BUs accepted per second per mobile node (more are dropped)."""
        ...

    @property
    def addresses_in_use(self) -> frozenset[IPv6Address]:
        """Addresses DAD finds in use on the agent's link (status 134)."""
        ...

    @property
    def dad_duration(self) -> float:
        """Duration of DAD on a new registered address before the first BA (0: none)."""
        ...

    @property
    def max_binding_lifetime(self) -> float:
        """Ceiling of a granted lifetime."""
        ...

    @property
    def refresh_interval(self) -> float | None:
        """Binding Refresh Advice interval sent in accepted BAs (RFC 6275 §6.2.4)."""
        ...

    @property
    def wall_clock_offset(self) -> float:
        """Added to ``now`` to get Unix time for RFC 4285 timestamps."""
        ...


@dataclass(frozen=True, slots=True)
class Registration:
    """A Binding Update that passed authentication, with what its answer needs.

    ``home_address`` is the registered address (the RCoA at a MAP), ``care_of_address`` the
    address it is bound to (the LCoA at a MAP).
    """

    packet: IPv6Packet
    update: BindingUpdate
    home_address: IPv6Address
    care_of_address: IPv6Address
    credentials: MobilityCredentials | None
    timestamp: int | None


#: ``Registration(...)`` positionally, without the frozen ``__init__`` (one per BU; its
#: fields are not checked by the constructor either).
_new_registration = _fast_new(Registration)


class BindingAgent(Entity):
    """The registration and tunnelling core of a home agent or a MAP (see module docstring).

    Subclass hooks: :meth:`_serves` / :meth:`_same_kind` (which BUs and entries are this
    agent's: H flag at an HA, M flag at a MAP), :meth:`_unserved`, :meth:`_admit`,
    :meth:`_registration_status`, :meth:`_lifetime_ceiling`, :meth:`_accepted_status`,
    :meth:`_new_entry`, :meth:`_is_local`, :meth:`_local_other`, :meth:`_released`,
    :meth:`_reverse_tunnel_source`.
    """

    def __init__(
        self,
        name: str,
        rng: random.Random,
        config: AgentConfig,
        *,
        address: IPv6Address,
        interface: str,
    ) -> None:
        super().__init__(name, rng)
        self.agent_config = config
        self.interface = interface
        self.address = address
        self.cache = BindingCache(max_entries=config.max_bindings)
        self.replay = ReplayChecker(wall_clock_offset=config.wall_clock_offset)
        credentials = config.credentials
        # A mapping by SPI is used as it is (looked up per BU); a tuple is indexed once.
        self._by_spi: Mapping[int, MobilityCredentials] = (
            credentials if isinstance(credentials, Mapping)
            else {c.security_association.spi: c for c in credentials})
        #: Each binding's expiry timer, keyed by the home address's
        #: :func:`~mipshop.wire.nd_options.address_key` (its integer: ``IPv6Address.__hash__``
        #: is a Python method, and a registration re-arms the timer).
        self._expiry: dict[object, Timer] = {}
        self._dad: dict[IPv6Address, tuple[Timer, Registration, float]] = {}
        #: De-registered entries kept inactive (§10.3.2): home address -> (last sequence,
        #: removal timer). At most one per entry the cache held, so bounded like the cache.
        self._inactive: dict[IPv6Address, tuple[int, Timer]] = {}
        self._icmp_errors = IcmpErrorLimiter()
        #: Answers to BUs that failed authentication and to unknown MH types, per source and
        #: in total (a forged BU with a real SPI must not make the agent a reflector).
        self.replies = ReplyLimiter()
        #: Authenticated BUs per mobile node per second (RFC 6275 §11.8 MAX_UPDATE_RATE is
        #: what a mobile node may send; more is a misbehaving or compromised node).
        self._registrations = ReplyLimiter(per_source=config.registration_rate, total=None)
        #: Bound once, shared by every expiry timer (:meth:`schedule_call`).
        self._expire_due = self._expire
        #: The link-layer address :meth:`_announce` last advertised, and the options of its
        #: Neighbor Advertisements.
        self._announced_with: tuple[bytes, tuple[TargetLinkLayerAddress]] | None = None

    # -- hooks ---------------------------------------------------------------------------

    def _serves(self, bu: BindingUpdate) -> bool:
        """True if ``bu`` is the kind of registration this agent accepts."""
        raise NotImplementedError

    def _same_kind(self, entry: BindingCacheEntry) -> bool:
        """True if ``entry`` was created by a registration of this agent's kind."""
        raise NotImplementedError

    def _unserved(self, reg: Registration) -> None:
        """A BU of another kind with no entry of ours: drop it, with an event."""
        self.counters["drop.unserved_registration"] += 1
        self.emit("bu.ignored", home_address=reg.home_address, reason="not_served")

    def _admit(self, reg: Registration) -> Registration | None:
        """Authorisation after authentication; None if rejected (the hook sent the BA).

        RFC 6275 §10.3.1: "only the right node can control a particular home address": an SA
        registers the one address it names (:class:`~.config.MobilityCredentials`), anything
        else gets 129 [choice: administratively prohibited].
        """
        creds = reg.credentials
        if creds is not None and not same_address(creds.home_address, reg.home_address):
            self.counters["auth.address_not_in_sa"] += 1
            self._reject(reg, S.ADMINISTRATIVELY_PROHIBITED)
            return None
        return reg

    def _registration_status(self, reg: Registration) -> int | None:
        """A rejection status for a (non de-registration) BU, or None to go on."""
        return None

    def _lifetime_ceiling(self) -> float:
        """Longest lifetime the agent grants besides ``max_binding_lifetime``."""
        return self.agent_config.max_binding_lifetime

    def _accepted_status(self, granted: int) -> int:
        """Status of the BA accepting a binding of ``granted`` seconds."""
        return S.ACCEPTED

    def _new_entry(self, reg: Registration, granted: int) -> BindingCacheEntry:
        """The Binding Cache entry an accepted registration creates."""
        raise NotImplementedError

    def _is_local(self, address: IPv6Address) -> bool:
        """True if ``address`` is one of this agent's own addresses."""
        return same_address(address, self.address)

    def _local_other(self, packet: IPv6Packet) -> None:
        """A packet for the agent that is neither a BU nor a tunnel."""
        self.counters["drop.unhandled"] += 1

    def _released(self, home_address: IPv6Address) -> None:
        """The entry for ``home_address`` was removed (de-registered or expired)."""

    def _defended(self, home_address: IPv6Address, link_local_compat: bool
                  ) -> tuple[IPv6Address, ...]:
        """The addresses a binding makes this agent check and defend (§10.3.1)."""
        return (home_address,)

    def _reverse_tunnel_source(self, entry: BindingCacheEntry, source: IPv6Address) -> bool:
        """True if ``source`` may reverse-tunnel for ``entry`` (§10.4.5: its care-of address)."""
        return same_address(entry.care_of_address, source)

    def _probe(self, reg: Registration) -> None:
        """Duplicate Address Detection for ``reg`` starts: send its probes (none here)."""

    def _dad_cleared(self, home_address: IPv6Address) -> None:
        """Duplicate Address Detection for ``home_address`` is over (whatever its outcome)."""

    def _intercepting(self, addresses: tuple[IPv6Address, ...]) -> None:
        """An accepted registration made the agent intercept ``addresses`` (a new binding's
        home address, and its link-local address with the L flag)."""

    def _announce(self, addresses: tuple[IPv6Address, ...], source: IPv6Address,
                  link_layer_address: bytes) -> None:
        """RFC 6275 §10.4.1: multicast to all nodes an unsolicited Neighbor Advertisement for
        each address the agent now intercepts, with its own link-layer address (Target
        Link-Layer Address option, R = 0, S = 0, O = 1), so that neighbours that cached
        another one for it switch to the agent's."""
        announced = self._announced_with
        if announced is None or announced[0] != link_layer_address:
            # Built once per link-layer address, not per binding (the option is immutable).
            announced = self._announced_with = (
                link_layer_address, (TargetLinkLayerAddress(address=link_layer_address),))
        options = announced[1]
        for target in addresses:
            self.act(new_transmit(new_packet(
                source, ALL_NODES, new_neighbor_advertisement(False, False, True, target, options),
                (), ND_HOP_LIMIT), self.interface, None))
            self.emit_fields("nd.proxy_advertisement", {"target": target, "solicited": False})

    def _restorable(self, entry: BindingCacheEntry, record: BindingRecord) -> bool:
        """True if a stored binding is one this agent, as configured now, would accept.

        A binding registered under a security association that is no longer configured (a
        revoked key) or no longer names its address (RFC 6275 §10.3.1), or without one when
        unauthenticated BUs are no longer accepted, is not restored: its mobile node could
        neither refresh nor de-register it. The SA is looked up by its SPI (O(1), also with
        a key server) and must still belong to the identity that registered.
        """
        if not self._same_kind(entry):
            return False
        if record.owner is None or record.spi is None:
            return self.agent_config.accept_unauthenticated
        creds = self._by_spi.get(record.spi)
        return creds is not None and creds.identifier == record.owner and (
            creds.home_address == entry.home_address)

    def _restored(self, entry: BindingCacheEntry, record: BindingRecord) -> None:
        """A stored binding was put back into the cache (subclasses restore their own state)."""

    # -- persistence (commands) ----------------------------------------------------------

    @staticmethod
    def _owner(credentials: MobilityCredentials | None) -> dict[str, Any]:
        if credentials is None:
            return {"owner": None, "spi": None}
        return {"owner": credentials.identifier, "spi": credentials.security_association.spi}

    def _record(
        self, entry: BindingCacheEntry, credentials: MobilityCredentials | None
    ) -> BindingRecord:
        """The stored form of ``entry``: times in Unix seconds, as a restart needs them."""
        owner, spi = (None, None) if credentials is None else (
            credentials.identifier, credentials.security_association.spi)
        # BindingRecord(...) of the entry's fields (new_binding_record: no keyword __init__).
        return new_binding_record(
            entry.home_address, entry.care_of_address, entry.sequence, entry.lifetime,
            entry.registered_at + self.agent_config.wall_clock_offset,
            entry.home_registration, entry.map_registration, entry.link_local_compat,
            owner, spi, False)

    def restore(
        self,
        bindings: Iterable[BindingRecord],
        replay: Iterable[tuple[bytes, int, int]],
        now: float,
    ) -> int:
        """Resume from stored state after a restart; returns the number of bindings restored.

        ``replay`` holds (identity, SPI, timestamp): the newest RFC 4285 §6 timestamp
        accepted from each mobile node, so that a replay of any BU answered before the crash
        is still refused (an identity whose SPI no longer names it is skipped). Each binding
        still alive at ``now`` (its stored Unix expiry compared with this agent's time of
        day) goes back into the cache with its sequence number (the §9.5.1 check goes on
        where it stopped), its expiry timer, and the
        :class:`~mipshop.protocol.base.actions.Claim` of each address it defends, which
        re-establishes proxy ND and the route into the tunnel (RFC 6275 §10.4.1); the agent
        announces them as after a registration (:meth:`_intercepting`). A de-registered entry
        kept inactive (§10.3.2) comes back inactive for the rest of its time. An expired
        binding, or one this agent would no longer accept, is not restored and is forgotten
        (a :class:`~mipshop.protocol.base.actions.ForgetBinding`). Events:
        ``binding.restored`` (``home_address``, ``care_of_address``, ``sequence``,
        ``remaining``, ``inactive``), ``binding.not_restored`` (``home_address``, ``reason``).
        """
        self.now = now
        for identity, spi, timestamp in replay:
            creds = self._by_spi.get(spi)
            if creds is not None and creds.identifier == identity:
                self.replay.restore(identity, timestamp)
        offset = self.agent_config.wall_clock_offset
        restored = 0
        for record in bindings:
            entry = BindingCacheEntry(
                home_address=record.home_address, care_of_address=record.care_of_address,
                lifetime=record.lifetime, registered_at=record.registered_at - offset,
                sequence=record.sequence, home_registration=record.home_registration,
                map_registration=record.map_registration,
                link_local_compat=record.link_local_compat,
            )
            hoa = entry.home_address
            reason = None
            if entry.expired(now):
                reason = "expired"
            elif not self._restorable(entry, record):
                reason = "not_served"
            elif not record.deregistered and not self.cache.has_room_for(hoa, now):
                reason = "cache_full"
            if reason is not None:
                self.counters[f"restore.{reason}"] += 1
                self.emit("binding.not_restored", home_address=hoa, reason=reason)
                self.act(ForgetBinding(home_address=hoa))
                continue
            restored += 1
            self.counters["restore.bindings"] += 1
            self.emit("binding.restored", home_address=hoa,
                      care_of_address=entry.care_of_address, sequence=entry.sequence,
                      remaining=entry.remaining(now), inactive=record.deregistered)
            if record.deregistered:
                self._keep_inactive(hoa, entry.sequence, None, keep=entry.remaining(now))
                continue
            if self.cache.get(hoa) is None:
                defended = self._defended(hoa, entry.link_local_compat)
                for address in defended:
                    self.act(Claim(address=address, proxy_interface=self.interface))
                self._intercepting(defended)
            self.cache.update(entry, now)
            self.reschedule_call(self._expiry, address_key(hoa), entry.remaining(now),
                                 self._expire_due, hoa)
            self._restored(entry, record)
        return restored

    # -- input dispatch ------------------------------------------------------------------

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Dispatch one decoded packet (signalling, reverse tunnel, intercepted traffic)."""
        if self._is_local(packet.dst):
            self._local(packet)
        elif self.cache.lookup(packet.dst, self.now) is not None:
            self._tunnel_to_mobile(packet)
        else:
            self.counters["drop.not_for_us"] += 1

    def on_malformed(self, raw: bytes, error: MalformedPacket, interface: str) -> None:
        """RFC 6275 §9.2: a Mobility Header with a wrong Payload Proto or a short Header Len
        is discarded and answered with ICMPv6 Parameter Problem, code 0, pointing at the field,
        sent directly to the packet's source (rate-limited, RFC 4443 §2.4 (f))."""
        problem = mobility_header_parameter_problem(raw, error)
        if problem is None or not self._is_local(problem.src):
            return
        if not problem.src.is_link_local and problem.src != self.address:
            # RFC 4443 §2.2: from a unicast address of ours (the packet may have gone to an
            # anycast address).
            problem = replace(problem, src=self.address)
        self._icmp_errors.send(self, problem, error, self.interface)

    def _local(self, packet: IPv6Packet) -> None:
        payload = packet.payload
        if isinstance(payload, BindingUpdate):
            self._binding_update(packet, payload)
        elif isinstance(payload, IPv6Packet):
            self._reverse_tunnel(packet, payload)
        elif isinstance(payload, UnknownMobilityMessage):
            # RFC 6275 §9.2 / §9.3.3: unknown MH Type -> Binding Error status 2, rate-limited
            # ("the rate ... SHOULD be limited", §9.3.3) per source and in total.
            if not self.replies.allow(packet.src, self.now):
                self.counters["drop.reply_rate"] += 1
                return
            self._send(packet.src, BindingError(
                status=BindingErrorStatus.UNRECOGNIZED_MH_TYPE,
                home_address=packet.home_address or IPv6Address("::"),
            ))
        else:
            self._local_other(packet)

    # -- registration (RFC 6275 §10.3.1, §10.3.2; RFC 4285 §5.1.1, §6) -------------------

    def _binding_update(self, packet: IPv6Packet, bu: BindingUpdate) -> None:
        hoa = packet.home_address or packet.src
        coa = binding_care_of_address(packet, bu)
        if not (_unicast_routable(hoa) and _unicast_routable(coa)):
            # §9.5.1: a unicast routable home address; §6.1.7: a BU for a care-of address
            # that is not unicast routable MUST be silently discarded.
            self.counters["drop.not_unicast_routable"] += 1
            return
        authenticated = self._authenticate(packet, bu, hoa, coa)
        if authenticated is None:
            return
        creds = authenticated.credentials
        if not self._registrations.allow(creds.identifier if creds is not None else hoa,
                                         self.now):
            # More than ``registration_rate`` fresh BUs a second from one node: dropped
            # (it retransmits, RFC 6275 §11.8), so one node cannot monopolise the agent.
            self.counters["drop.registration_rate"] += 1
            return
        reg = self._admit(authenticated)
        if reg is None:
            return
        hoa = reg.home_address
        # (An empty table is not looked up: hashing an IPv6Address is a Python call.)
        pending = self._dad.get(hoa) if self._dad else None
        if pending is not None:
            if not seq_newer(bu.sequence, pending[1].update.sequence):
                self.counters["drop.older_than_pending"] += 1
                return
            # A newer BU (a retransmission, another care-of address, a de-registration)
            # supersedes the one waiting for DAD: only the latest is answered.
            self._pop_dad(hoa, keep_probing=True)
        dad_started = pending[2] if pending is not None else self.now
        existing = self.cache.lookup(hoa, self.now)
        if not self._serves(bu):
            if pending is not None:
                self._dad_cleared(hoa)
            if existing is not None and self._same_kind(existing):
                # §9.5.1: the registration type differs from the existing entry's -> 139.
                self._reject(reg, S.REGISTRATION_TYPE_CHANGE_DISALLOWED)
            else:
                self._unserved(reg)
            return
        # §10.3.2: a de-registered entry, kept inactive, still holds its sequence number.
        last = existing.sequence if existing is not None else self._inactive_sequence(hoa)
        if last is not None and not seq_newer(bu.sequence, last):
            if pending is not None:
                self._dad_cleared(hoa)
            # §9.5.1: not newer than the entry's -> 135, carrying the last accepted number.
            self._reject(reg, S.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=last)
            return
        if bu.lifetime == 0 or same_address(reg.care_of_address, hoa):
            if pending is not None:
                self._dad_cleared(hoa)
            self._deregister(reg, existing)
            return
        status = self._registration_status(reg)
        if status is not None:
            if pending is not None:
                self._dad_cleared(hoa)
            self._reject(reg, status)
            return
        if existing is None and not self._has_room(hoa):
            if pending is not None:
                self._dad_cleared(hoa)
            self._reject(reg, S.INSUFFICIENT_RESOURCES)  # §10.3.1, §9.5.2
            return
        if existing is None and self.agent_config.dad_duration > 0:
            # §10.3.1: DAD on the registered address before the first BA (a superseding BU
            # keeps the DAD already running).
            if pending is None and len(self._dad) >= self.agent_config.max_pending_dad:
                self._reject(reg, S.INSUFFICIENT_RESOURCES)  # too many DADs at once
                return
            remaining = max(dad_started + self.agent_config.dad_duration - self.now, 0.0)
            timer = self.schedule(remaining, lambda now: self._dad_done(hoa))
            self._dad[hoa] = (timer, reg, dad_started)
            if pending is None:
                self.emit("dad.started", home_address=hoa)
                self._probe(reg)
            return
        if pending is not None:
            self._dad_cleared(hoa)
        if existing is None and self._duplicate(reg):
            self._reject(reg, S.DUPLICATE_ADDRESS_DETECTION_FAILED)  # no DAD delay configured
            return
        self._accept(reg, existing)

    def _duplicate(self, reg: Registration) -> bool:
        """§10.3.1: DAD fails "for the given home address or an associated link local
        address" (DAD is modelled by ``addresses_in_use``), and always for an address of
        the agent's own (:meth:`_is_local`), which the agent holds on the link."""
        in_use = self.agent_config.addresses_in_use
        for address in self._defended(reg.home_address, reg.update.link_local_compat):
            # (An empty set is not looked up: hashing an IPv6Address is a Python call.)
            if self._is_local(address) or (in_use and address in in_use):
                return True
        return False

    def _pop_dad(self, hoa: IPv6Address, *, keep_probing: bool = False
                 ) -> tuple[Timer, Registration, float] | None:
        """End the DAD waiting for ``hoa`` (its timer cancelled); returns what waited."""
        pending = self._dad.pop(hoa, None)
        if pending is not None:
            pending[0].cancel()
            if not keep_probing:
                self._dad_cleared(hoa)
        return pending

    def _dad_conflict(self, hoa: IPv6Address, address: IPv6Address) -> None:
        """The link answered a DAD probe for ``address`` (``hoa`` or its link-local address):
        the registration waiting for it fails with 134 (§10.3.1)."""
        pending = self._pop_dad(hoa)
        if pending is None:
            return
        self.emit("dad.failed", home_address=hoa, address=address)
        self._reject(pending[1], S.DUPLICATE_ADDRESS_DETECTION_FAILED)

    def _dad_done(self, hoa: IPv6Address) -> None:
        _timer, reg, _started = self._dad.pop(hoa)
        self._dad_cleared(hoa)
        existing = self.cache.lookup(hoa, self.now)
        if existing is None and self._duplicate(reg):
            self._reject(reg, S.DUPLICATE_ADDRESS_DETECTION_FAILED)  # §10.3.1
        elif existing is None and not self._has_room(hoa):
            self._reject(reg, S.INSUFFICIENT_RESOURCES)
        else:
            self._accept(reg, existing)

    def _has_room(self, hoa: IPv6Address) -> bool:
        """Room for a binding of ``hoa`` (O(1)): the Binding Cache and the registrations
        waiting for DAD together stay within ``max_bindings`` (§9.5.2, §10.3.1: 130)."""
        waiting = len(self._dad) - (hoa in self._dad) if self._dad else 0
        # The count first: below the limit (the usual case) the address is not hashed again.
        return (len(self.cache) + waiting < self.agent_config.max_bindings
                or self.cache.get(hoa) is not None)  # replaces its own entry

    def table_sizes(self) -> dict[str, int]:
        """Binding Cache, pending DAD, replay state and reply limiters, besides the timers."""
        return {**super().table_sizes(), "binding_cache": len(self.cache),
                "pending_dad": len(self._dad), "inactive_bindings": len(self._inactive),
                "replay": len(self.replay),
                "reply_sources": len(self.replies),
                "registration_sources": len(self._registrations)}

    def _authenticate(
        self, packet: IPv6Packet, bu: BindingUpdate, hoa: IPv6Address, coa: IPv6Address
    ) -> Registration | None:
        """RFC 4285 checks; None if the BU must not be processed further (no state changed)."""
        protection = read_mn_ha(bu)
        if not protection.present:
            if self.agent_config.accept_unauthenticated:
                return Registration(packet, bu, hoa, coa, None, None)
            # RFC 4285 §5.1.1: no shared-key SA for this BU -> discard.
            return self._auth_failure("unauthenticated", hoa)  # type: ignore[func-returns-value]
        assert protection.authentication is not None
        creds = self._by_spi.get(protection.authentication.spi)
        if creds is None:
            return self._auth_failure("unknown_spi", hoa)  # type: ignore[func-returns-value]
        reg = _new_registration(packet, bu, hoa, coa, creds, protection.timestamp)
        if protection.identifier != creds.identifier or not verify_mn_ha(
            bu, creds, care_of_address=coa, home_address=hoa,
            encoded=self.received_mobility_header, protection=protection,
        ):
            self._auth_failure("bad_authenticator", hoa)
            self._reject_untrusted(reg, S.MIPV6_AUTH_FAIL)  # RFC 4285 §5.1.1: MUST send 146
            return None
        if protection.timestamp is None:
            self._auth_failure("no_timestamp", hoa)
            self._reject_untrusted(reg, S.MIPV6_MESG_ID_REQD)  # RFC 4285 §6, §8
            return None
        sa = creds.security_association
        verdict = self.replay.accept(
            creds.identifier, protection.timestamp, self.now, window=sa.replay_window
        )
        if verdict is not _VERDICT_ACCEPTED:
            # RFC 4285 §6: authenticated but the timestamp is invalid -> 144, no binding; the
            # BA's timestamp carries the agent's time of day in its high-order 32 bits.
            self.refuse("auth.replay", "auth.replay", home_address=hoa, verdict=verdict.value)
            stamp = self.replay.reply_timestamp(protection.timestamp, verdict, self.now)
            self._reject_untrusted(replace(reg, timestamp=stamp), S.MIPV6_ID_MISMATCH)
            return None
        # Stored before any answer leaves: after a restart a replay of this BU must still be
        # refused (RFC 4285 §6), with the same status as before the crash.
        self.act(new_persist_replay(creds.identifier, sa.spi, protection.timestamp))
        return reg

    def _auth_failure(self, reason: str, hoa: IPv6Address) -> None:
        self.refuse(f"auth.{reason}", "auth.failed", reason=reason, home_address=hoa)

    def _reject_untrusted(self, reg: Registration, status: int) -> None:
        """Answer a BU that failed authentication or replay protection (144-146).

        Anyone can send such a BU from any source with a real SPI, and the answer is signed
        and about its size: answers are rate-limited per source and in total (a reflector
        otherwise), and logged as counters beyond a few events a second.
        """
        if not self.replies.allow(reg.packet.src, self.now):
            self.counters["drop.reply_rate"] += 1
            return
        self._reject(reg, status, untrusted=True)

    def _deregister(self, reg: Registration, existing: BindingCacheEntry | None) -> None:
        hoa = reg.home_address
        if existing is None and hoa in self._inactive:
            # §10.3.2: a retransmitted (newer) de-registration of an inactive entry: still
            # de-registered, acknowledged again.
            self._keep_inactive(hoa, reg.update.sequence, reg)
            self._acknowledge(reg, S.ACCEPTED, lifetime=0)
            return
        if existing is None or not self._same_kind(existing):
            self._reject(reg, S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE)  # §10.3.2
            return
        self._remove(hoa)
        # §10.3.2: the entry stops intercepting at once but is kept (inactive) for
        # MAX_DELETE_BCE_TIMEOUT, so that a delayed older BU cannot recreate the binding.
        self._keep_inactive(hoa, reg.update.sequence, reg)
        self.emit("binding.deregistered", home_address=hoa,
                  care_of_address=existing.care_of_address, sequence=reg.update.sequence)
        self._acknowledge(reg, S.ACCEPTED, lifetime=0)

    def _keep_inactive(self, hoa: IPv6Address, sequence: int, reg: Registration | None,
                       keep: float = MAX_DELETE_BCE_TIMEOUT) -> None:
        previous = self._inactive.pop(hoa, None)
        if previous is not None:
            previous[1].cancel()
        timer = self.schedule(keep, lambda now: self._forget_inactive(hoa))
        self._inactive[hoa] = (sequence, timer)
        if reg is not None:
            # Stored before the BA: a restart within MAX_DELETE_BCE_TIMEOUT still refuses
            # a delayed older BU (135).
            self.act(PersistBinding(binding=BindingRecord(
                home_address=hoa, care_of_address=reg.care_of_address, sequence=sequence,
                lifetime=keep, registered_at=self.now + self.agent_config.wall_clock_offset,
                home_registration=reg.update.home_registration,
                map_registration=reg.update.map_registration, deregistered=True,
                **self._owner(reg.credentials))))

    def _forget_inactive(self, hoa: IPv6Address) -> None:
        if self._inactive.pop(hoa, None) is not None:
            self.act(ForgetBinding(home_address=hoa))

    def _inactive_sequence(self, hoa: IPv6Address) -> int | None:
        """The sequence number of the de-registered entry kept for ``hoa``, if any."""
        kept = self._inactive.get(hoa) if self._inactive else None
        return None if kept is None else kept[0]

    def _accept(self, reg: Registration, existing: BindingCacheEntry | None) -> None:
        bu, hoa = reg.update, reg.home_address
        # §10.3.1: the granted lifetime may be reduced; never beyond the prefix's lifetime.
        granted = _wire_lifetime(min(
            bu.lifetime, self.agent_config.max_binding_lifetime, self._lifetime_ceiling()))
        entry = self._new_entry(reg, granted)
        self.cache.update(entry, self.now)
        # Committed by the runtime before the BA below leaves: an acknowledged binding
        # survives a crash of the agent.
        self.act(new_persist_binding(self._record(entry, reg.credentials)))
        inactive = self._inactive.pop(hoa, None) if self._inactive else None
        if inactive is not None:
            inactive[1].cancel()  # §10.3.2: a new registration replaces the inactive entry
        # §10.4.1 (RFC 5380 §6.2 for a MAP): intercept the address with proxy ND, and with the
        # L bit the derived link-local address too (a refresh may change L).
        after = self._defended(hoa, entry.link_local_compat)
        if existing is None:
            before: tuple[IPv6Address, ...] = ()
            started = after
        else:
            before = self._defended(hoa, existing.link_local_compat)
            started = tuple(address for address in after if address not in before)
        for address in started:
            self.act(new_claim(address, True, self.interface))
        for address in before:
            if address not in after:
                self.act(new_claim(address, False, self.interface))
        if started:
            self._intercepting(started)
        # The previous expiry timer, if any, cancelled (one hash of a new binding's address).
        self.reschedule_call(self._expiry, address_key(hoa), granted, self._expire_due, hoa)
        kind = "binding.registered" if existing is None or not same_address(
            existing.care_of_address, reg.care_of_address) else "binding.refreshed"
        self.emit_fields(kind, {"home_address": hoa, "care_of_address": reg.care_of_address,
                                "lifetime": granted, "sequence": bu.sequence})
        refresh = self.agent_config.refresh_interval
        options: tuple[MobilityOption, ...] = ()
        if refresh is not None and 0 < refresh < granted:
            options = (BindingRefreshAdvice(refresh_interval=int(refresh)),)  # §10.3.1
        self._acknowledge(reg, self._accepted_status(granted), lifetime=granted,
                          options=options)

    def _expire(self, hoa: IPv6Address) -> None:
        entry = self.cache.get(hoa)
        if entry is None or not entry.expired(self.now):
            return
        self._remove(hoa)
        self.emit("binding.expired", home_address=hoa, care_of_address=entry.care_of_address,
                  sequence=entry.sequence)

    def _remove(self, hoa: IPv6Address) -> None:
        entry = self.cache.get(hoa)
        self.cache.remove(hoa)
        self.act(ForgetBinding(home_address=hoa))
        timer = self._expiry.pop(address_key(hoa), None)
        if timer is not None:
            timer.cancel()
        for address in self._defended(hoa, entry is not None and entry.link_local_compat):
            self.act(Claim(address=address, active=False, proxy_interface=self.interface))
        self._released(hoa)

    def _reject(
        self, reg: Registration, status: int, *, sequence: int | None = None,
        untrusted: bool = False,
    ) -> None:
        fields = {"home_address": reg.home_address, "status": int(status),
                  "sequence": reg.update.sequence}
        if untrusted:
            self.refuse(f"ba.status.{int(status)}", "binding.rejected", **fields)
        else:
            self.counters[f"ba.status.{int(status)}"] += 1
            self.emit("binding.rejected", **fields)
        self._acknowledge(reg, status, lifetime=0, sequence=sequence)

    def _acknowledge(
        self,
        reg: Registration,
        status: int,
        *,
        lifetime: int,
        sequence: int | None = None,
        options: tuple[MobilityOption, ...] = (),
    ) -> None:
        """Send the BA for ``reg`` (§10.3.1: always, whatever the A flag says)."""
        number = reg.update.sequence if sequence is None else sequence
        ba: BindingAcknowledgement
        if reg.credentials is not None and reg.timestamp is not None:
            # RFC 4285 §5.1.1: the BA carries the option when the BU did.
            if options:
                ba = protect_mn_ha(
                    new_binding_acknowledgement(int(status), number, lifetime, options),
                    reg.credentials, timestamp=reg.timestamp,
                    care_of_address=reg.care_of_address, home_address=reg.home_address,
                )
            else:
                # The usual answer (no Binding Refresh Advice): built from the BA template.
                ba = protected_acknowledgement(
                    int(status), number, lifetime, reg.credentials, timestamp=reg.timestamp,
                    care_of_address=reg.care_of_address, home_address=reg.home_address)
        elif reg.credentials is not None:
            # RFC 4285 §5.1.1: an authenticated BU without a timestamp (145, §6): the BA
            # still carries the MN-ID and authentication options, with no timestamp.
            ba = protect_mn_ha(
                new_binding_acknowledgement(int(status), number, lifetime, options),
                reg.credentials, timestamp=None,
                care_of_address=reg.care_of_address, home_address=reg.home_address)
        else:
            # Built with the constructor's checks inline (one per BU).
            ba = new_binding_acknowledgement(int(status), number, lifetime, options)
        # RFC 6275 §6.1.8 / §9.5.4: to the BU's source; a Type 2 Routing Header carries the
        # home address unless the BA goes to the home address itself (de-registration from
        # home). RFC 5380 §6.2: a MAP's BA MUST carry the RCoA in a Type 2 Routing Header.
        destination = reg.packet.src
        headers = () if same_address(destination, reg.home_address) else (
            new_routing_header_type2(reg.home_address),)
        self._send(destination, ba, headers)

    # -- data plane (RFC 6275 §10.4; RFC 5380 §6.2) ----------------------------------------

    def _tunnel_to_mobile(self, packet: IPv6Packet) -> None:
        entry = self.cache.lookup(packet.dst, self.now)
        assert entry is not None
        inner = self.one_hop_less(packet)
        if inner is None:
            return
        if _is_neighbor_discovery(packet.payload):
            # §10.4.1: Neighbor Discovery addressed to the home link stays on it (the agent
            # answers for the address itself); it is never tunnelled to the mobile node.
            self.counters["drop.nd_not_tunnelled"] += 1
            return
        entry.touch(self.now)
        # §10.4.2 / RFC 2473 §3: outer source = agent address, outer destination = CoA.
        outer = _encapsulate(inner, src=self.address, dst=entry.care_of_address)
        self.counters["tunnel.encapsulated"] += 1
        self.act(new_transmit(outer, self.interface, None))

    def _reverse_tunnel(self, outer: IPv6Packet, inner: IPv6Packet) -> None:
        entry = self.cache.lookup(inner.src, self.now)
        # §10.4.5: the outer source must be the registered care-of address of the inner source.
        if entry is None or not self._reverse_tunnel_source(entry, outer.src):
            self.counters["drop.reverse_tunnel_unbound"] += 1
            return
        self.counters["tunnel.decapsulated"] += 1
        if self._is_local(inner.dst):
            self._local(inner)
        elif self.cache.lookup(inner.dst, self.now) is not None:
            self._tunnel_to_mobile(inner)
        else:
            forwarded = self.one_hop_less(inner)
            if forwarded is not None:
                self.act(new_transmit(forwarded, self.interface, None))

    def _send(
        self,
        destination: IPv6Address,
        payload: MobilityMessage | ICMPv6Message,
        headers: tuple[ExtensionHeader, ...] = (),
    ) -> None:
        self.act(new_transmit(new_packet(self.address, destination, payload, headers),
                              self.interface, None))


def _is_neighbor_discovery(payload: object) -> bool:
    """RFC 4861 §4: Router/Neighbor Solicitation and Advertisement, Redirect (133-137)."""
    kind = getattr(payload, "ICMP_TYPE", None)
    if kind is None:
        kind = getattr(payload, "icmp_type", None)
    return kind is not None and 133 <= kind <= 137


def _unicast_routable(address: IPv6Address) -> bool:
    """RFC 6275 §2: an address that can carry a binding (not unspecified, loopback,
    multicast or link-local)."""
    # The ipaddress properties, on the integer: :: and ::1, ff00::/8, fe80::/10.
    value = address_value(address)
    return value > 1 and value >> 120 != 0xFF and value >> 118 != 0x3FA
