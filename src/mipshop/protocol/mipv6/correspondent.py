"""The correspondent node: return routability and route-optimised bindings (RFC 6275 §9).

* Home Test Init / Care-of Test Init are answered with a Home Test / Care-of Test carrying a
  nonce index and a keygen token built on the current nonce (§5.2.5, §9.4); nonces rotate every
  30 s and are accepted for MAX_NONCE_LIFETIME (:class:`~.return_routability.NonceTable`).
  One that carries a Home Address option is silently ignored (§9.4.1, §9.4.2).
* A Binding Update must carry Nonce Indices and Binding Authorization Data (§9.5.1): unknown or
  expired nonce indices give status 136/137/138 (a BA without authorization data); a wrong
  authenticator is silently dropped; then the sequence number (135), registration type (139),
  home registration to a non-HA (131) and cache room (130) are checked. Lifetimes are capped at
  MAX_RR_BINDING_LIFETIME (420 s, §5.2.6). The authenticator of a de-registration (lifetime 0,
  or the home address as care-of address), and of the BA answering it, is computed with the
  home address in place of the care-of address (§6.2.7); every BA other than 136-138 carries
  Binding Authorization Data when Kbm is known, 131 included (§9.5.4). A BU whose home or
  care-of address is not unicast routable is silently discarded (§6.1.7, §9.5.1).
* Replays (§5.2.8, §9.5.3): when a binding authorised by return routability is deleted
  (de-registration or expiry), its sequence number is retained as an *inactive* entry for as
  long as any nonce that authorised it (or the de-registration) is still accepted; a BU that is
  not newer meanwhile gets 135, so a captured BU replayed later cannot recreate the binding.
  Inactive entries count against ``max_bindings``.
* Data plane: packets to a bound home address go to the care-of address with a Type 2 Routing
  Header (§9.3.2); received packets with a Home Address option need a binding whose care-of
  address is the source, else Binding Error status 1 (§9.3.1, §9.3.3); an unknown MH Type gets
  Binding Error status 2. Before a recently used entry expires a Binding Refresh Request is
  sent to the home address (§9.5.5). While a binding exists the node intercepts its home
  address (:class:`~mipshop.protocol.base.actions.Intercept`): a runtime passes the node's own
  packets for it through :meth:`CorrespondentNode.send_packet`, which adds the Type 2
  Routing Header.
* A Mobility Header with a wrong Payload Proto or a short Header Len gets an ICMPv6 Parameter
  Problem (§9.2).

Resolved ambiguities ([choice]): the 420 s cap applies to bindings authorised by return
routability (an ``accept_unauthenticated`` binding keeps the requested lifetime); rejections
131 and 139 are answered with a BA (authenticated when Kbm is known) even without the A flag;
the Binding Refresh Request goes out ``refresh_request_lead`` seconds before expiry, only for
an entry used in the last BRR_RECENT_USE_THRESHOLD (60 s, UMIP's value), and is not
retransmitted.

Events: ``cn.start``, ``cn.warning`` (``reason``), ``rr.home_test`` / ``rr.care_of_test``
(``address``, ``nonce_index``), ``binding.registered`` / ``binding.refreshed`` /
``binding.deregistered`` / ``binding.expired`` (``home_address``, ``care_of_address``,
``lifetime``, ``sequence``), ``binding.rejected`` (``home_address``, ``status``),
``auth.failed`` (``reason``), ``binding_error.sent`` (``status``, ``home_address``),
``brr.sent`` (``home_address``).
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address

from ...wire.errors import MalformedPacket
from ...wire.ext_headers import DestinationOptions, ExtensionHeader, RoutingHeaderType2
from ...wire.icmpv6 import ICMPv6Message
from ...wire.ipv6 import IPv6Packet
from ...wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingError,
    BindingErrorStatus,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    HomeTest,
    HomeTestInit,
    MobilityMessage,
    UnknownMobilityMessage,
)
from ...wire.mh_options import BindingAuthorizationData, NonceIndices
from ..base.actions import ConfigureAddress, Deliver, Intercept, Transmit
from ..base.constants import MAX_RR_BINDING_LIFETIME
from ..base.entity import Entity, Timer
from ..base.icmp_errors import IcmpErrorLimiter, mobility_header_parameter_problem
from ..base.sequence import seq_newer
from ..base.tables import ReplyLimiter
from .binding_cache import BindingCache, BindingCacheEntry
from .config import CorrespondentConfig
from .return_routability import NonceTable, binding_management_key
from .signalling import (
    binding_care_of_address,
    find_option,
    sign_binding_authorization,
    verify_binding_authorization,
    wire_lifetime,
)

S = BindingAckStatus


class CorrespondentNode(Entity):
    """A correspondent node with route optimization support (RFC 6275 §9).

    Commands: :meth:`start`, :meth:`send_packet`. ``cache`` is the Binding Cache and
    ``nonces`` the nonce table.
    """

    def __init__(self, name: str, rng: random.Random, config: CorrespondentConfig) -> None:
        super().__init__(name, rng)
        self.config = config
        self.address = config.address
        self.interface = config.interface
        self.cache = BindingCache(max_entries=config.max_bindings)
        self.nonces = NonceTable(
            rng, rotate_node_key=config.rotate_node_key,
            regeneration_interval=config.nonce_regeneration_interval,
            nonce_lifetime=config.nonce_lifetime,
        )
        self._entry_timers: dict[IPv6Address, list[Timer]] = {}
        #: Inactive entries (§5.2.8): home address -> (last accepted sequence, retained until).
        self.retired: dict[IPv6Address, tuple[int, float]] = {}
        #: Binding Errors per destination and in total (§9.3.3), in a bounded table: spoofed
        #: sources neither make the node a reflector nor grow its memory.
        self.error_replies = ReplyLimiter(per_source=1, window=config.binding_error_interval)
        self._icmp_errors = IcmpErrorLimiter()

    # -- commands ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Configure the node's address."""
        self.now = now
        self.act(ConfigureAddress(interface=self.interface, address=self.address))
        self.emit("cn.start", address=self.address)
        if self.config.accept_unauthenticated:
            self.emit("cn.warning", reason="accept_unauthenticated")

    def send_packet(self, packet: IPv6Packet, now: float) -> None:
        """Send an upper-layer packet, route-optimised when a binding exists (§9.3.2)."""
        self.now = now
        entry = self.cache.lookup(packet.dst, now)
        if entry is not None:
            entry.touch(now)
            self.counters["ro.data_sent"] += 1
            packet = replace(packet, dst=entry.care_of_address, extension_headers=(
                *packet.extension_headers, RoutingHeaderType2(home_address=entry.home_address)))
        self.act(Transmit(packet=packet, interface=self.interface))

    # -- input -------------------------------------------------------------------------------

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Handle one decoded packet addressed to this node."""
        if packet.dst != self.address:
            self.counters["drop.not_for_us"] += 1
            return
        payload = packet.payload
        if isinstance(payload, HomeTestInit | CareOfTestInit) and (
                packet.home_address is not None):
            # §9.4.1, §9.4.2: the packet MUST NOT include a Home Address option; one that does
            # is silently ignored.
            self.counters["drop.test_init_with_home_address_option"] += 1
        elif isinstance(payload, HomeTestInit):
            self._home_test_init(packet, payload)
        elif isinstance(payload, CareOfTestInit):
            self._care_of_test_init(packet, payload)
        elif isinstance(payload, BindingUpdate):
            self._binding_update(packet, payload)
        elif isinstance(payload, UnknownMobilityMessage):
            self._binding_error(packet, BindingErrorStatus.UNRECOGNIZED_MH_TYPE)
        elif hasattr(payload, "MH_TYPE"):
            self.counters["drop.unhandled"] += 1
        elif packet.home_address is not None:
            self._home_address_option(packet)
        else:
            self.act(Deliver(packet=packet))

    def on_malformed(self, raw: bytes, error: MalformedPacket, interface: str) -> None:
        """RFC 6275 §9.2: a bad Payload Proto or Header Len gets an ICMPv6 Parameter Problem,
        sent directly to the packet's source (rate-limited, RFC 4443 §2.4 (f))."""
        problem = mobility_header_parameter_problem(raw, error)
        if problem is None or problem.src != self.address:
            return
        self._icmp_errors.send(self, problem, error, self.interface)

    def _home_address_option(self, packet: IPv6Packet) -> None:
        hoa = packet.home_address
        assert hoa is not None
        entry = self.cache.lookup(hoa, self.now)
        # §9.3.1: a Home Address option needs a binding whose care-of address is the source.
        if entry is None or entry.care_of_address != packet.src:
            self.counters["drop.hao_without_binding"] += 1
            self._binding_error(packet, BindingErrorStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION)
            return
        entry.touch(self.now)
        self.counters["ro.data_received"] += 1
        headers = tuple(h for h in packet.extension_headers if not (
            isinstance(h, DestinationOptions) and h.home_address is not None))
        # §9.3.1: the home address replaces the source before upper-layer processing.
        self.act(Deliver(packet=replace(packet, src=hoa, extension_headers=headers)))

    def _binding_error(self, packet: IPv6Packet, status: int) -> None:
        # §9.3.3: to the offending packet's source, rate-limited like ICMP errors.
        if packet.src.is_multicast or not self.error_replies.allow(packet.src, self.now):
            self.counters["binding_error.rate_limited"] += 1
            return
        hoa = packet.home_address or IPv6Address("::")
        self._send(packet.src, BindingError(status=int(status), home_address=hoa))
        self.emit("binding_error.sent", status=int(status), home_address=hoa,
                  destination=packet.src)

    # -- return routability (§9.4) -----------------------------------------------------------

    def _home_test_init(self, packet: IPv6Packet, init: HomeTestInit) -> None:
        nonce = self.nonces.current(self.now)
        self._send(packet.src, HomeTest(
            home_nonce_index=nonce.index, cookie=init.cookie,
            keygen_token=nonce.home_token(packet.src),
        ))
        self.emit("rr.home_test", address=packet.src, nonce_index=nonce.index)

    def _care_of_test_init(self, packet: IPv6Packet, init: CareOfTestInit) -> None:
        nonce = self.nonces.current(self.now)
        self._send(packet.src, CareOfTest(
            care_of_nonce_index=nonce.index, cookie=init.cookie,
            keygen_token=nonce.care_of_token(packet.src),
        ))
        self.emit("rr.care_of_test", address=packet.src, nonce_index=nonce.index)

    # -- Binding Updates (§9.5) --------------------------------------------------------------

    def _binding_update(self, packet: IPv6Packet, bu: BindingUpdate) -> None:
        hoa = packet.home_address or packet.src
        coa = binding_care_of_address(packet, bu)
        if not (_unicast_routable(hoa) and _unicast_routable(coa)):
            # §9.5.1: a unicast routable home address; §6.1.7: a BU for a care-of address
            # that is not unicast routable MUST be silently discarded.
            self.counters["drop.not_unicast_routable"] += 1
            return
        deregistration = bu.lifetime == 0 or coa == hoa
        # §6.2.7: the authenticator covers the care-of address that will be registered, or
        # the home address when the BU de-registers.
        signed = hoa if deregistration else coa
        indices = find_option(bu, NonceIndices)
        authorized = bu.options and isinstance(bu.options[-1], BindingAuthorizationData)
        if bu.home_registration:
            # §10.3.1 / §9.5.1: this node is not a home agent -> 131; §9.5.4: with Binding
            # Authorization Data when the BU brought a key (it should carry no Nonce Indices).
            kbm = self._home_registration_key(bu, indices, hoa, coa, signed, deregistration)
            self._answer(packet, bu, hoa, signed, kbm, S.HOME_REGISTRATION_NOT_SUPPORTED)
            return
        kbm: bytes | None = None  # type: ignore[no-redef]  # the branch above returned
        if indices is None or not authorized:
            if not self.config.accept_unauthenticated:
                # §9.5.1: a BU without the mandatory options is silently discarded.
                self.refuse("auth.unauthenticated", "auth.failed", reason="unauthenticated",
                            home_address=hoa)
                return
        else:
            home_token = self.nonces.home_token(indices.home_nonce_index, hoa, self.now)
            care_of_token = None if deregistration else self.nonces.care_of_token(
                indices.care_of_nonce_index, coa, self.now)
            expired_care_of = not deregistration and care_of_token is None
            if home_token is None or expired_care_of:
                status = (S.EXPIRED_NONCES if home_token is None and expired_care_of
                          else S.EXPIRED_HOME_NONCE_INDEX if home_token is None
                          else S.EXPIRED_CARE_OF_NONCE_INDEX)
                # §9.5.1: answered without Binding Authorization Data.
                self._answer(packet, bu, hoa, signed, None, status)
                return
            kbm = binding_management_key(home_token, care_of_token)
            if not verify_binding_authorization(bu, kbm, care_of_address=signed,
                                                correspondent=self.address,
                                                encoded=self.received_mobility_header):
                self.refuse("auth.bad_authenticator", "auth.failed", reason="bad_authenticator",
                            home_address=hoa)
                return
        existing = self.cache.lookup(hoa, self.now)
        if existing is not None and existing.home_registration != bu.home_registration:
            self._answer(packet, bu, hoa, signed, kbm, S.REGISTRATION_TYPE_CHANGE_DISALLOWED)
            return
        last = existing.sequence if existing is not None else self._retired_sequence(hoa)
        if last is not None and not seq_newer(bu.sequence, last):
            # §9.5.1 (and §5.2.8 for an inactive entry): not newer -> 135.
            self._answer(packet, bu, hoa, signed, kbm, S.SEQUENCE_NUMBER_OUT_OF_WINDOW,
                         sequence=last)
            return
        if deregistration:
            removed = self._remove(hoa)
            if removed is not None:
                self.emit("binding.deregistered", home_address=hoa,
                          care_of_address=removed.care_of_address, sequence=bu.sequence)
            home_index = indices.home_nonce_index if indices is not None else None
            self._retire(hoa, bu.sequence, removed, home_index)
            if bu.ack:
                self._answer(packet, bu, hoa, signed, kbm, S.ACCEPTED)
            return
        if existing is None and not self._has_room(hoa):
            self._answer(packet, bu, hoa, signed, kbm, S.INSUFFICIENT_RESOURCES)
            return
        cap = MAX_RR_BINDING_LIFETIME if kbm is not None else bu.lifetime
        lifetime = wire_lifetime(min(bu.lifetime, cap))  # §5.2.6
        entry = BindingCacheEntry(
            home_address=hoa, care_of_address=coa, lifetime=lifetime, registered_at=self.now,
            sequence=bu.sequence,
            nonce_indices=(indices.home_nonce_index, indices.care_of_nonce_index)
            if indices is not None else None,
        )
        self._forget(hoa)  # a live entry carries the sequence from now on
        self.cache.update(entry, self.now)
        if existing is None:
            # §9.3.2: the node's own packets for the home address now pass through it.
            self.act(Intercept(address=hoa))
        self._arm(entry)
        kind = "binding.registered" if existing is None or (
            existing.care_of_address != coa) else "binding.refreshed"
        self.emit(kind, home_address=hoa, care_of_address=coa, lifetime=lifetime,
                  sequence=bu.sequence)
        if bu.ack:
            self._answer(packet, bu, hoa, signed, kbm, S.ACCEPTED, lifetime=lifetime)

    def _answer(
        self,
        packet: IPv6Packet,
        bu: BindingUpdate,
        hoa: IPv6Address,
        coa: IPv6Address,
        kbm: bytes | None,
        status: int,
        *,
        lifetime: int = 0,
        sequence: int | None = None,
    ) -> None:
        """Send a BA (§9.5.4), with Binding Authorization Data when ``kbm`` is known;
        ``coa`` is the address the authenticator covers (§6.2.7)."""
        if status >= 128:
            self.counters[f"ba.status.{int(status)}"] += 1
            self.emit("binding.rejected", home_address=hoa, status=int(status),
                      sequence=bu.sequence)
        ba = BindingAcknowledgement(status=int(status), lifetime=lifetime,
                                    sequence=bu.sequence if sequence is None else sequence)
        if kbm is not None:
            ba = sign_binding_authorization(ba, kbm, care_of_address=coa,
                                            correspondent=self.address)
        headers = () if packet.src == hoa else (RoutingHeaderType2(home_address=hoa),)
        self._send(packet.src, ba, headers)

    # -- entry timers: Binding Refresh Request and expiry (§9.5.5, §9.6) ---------------------

    def _arm(self, entry: BindingCacheEntry) -> None:
        hoa = entry.home_address
        for timer in self._entry_timers.pop(hoa, []):
            timer.cancel()
        timers = [self.schedule(entry.lifetime, lambda now: self._expire(hoa))]
        lead = self.config.refresh_request_lead
        if 0 < lead < entry.lifetime:
            timers.append(self.schedule(entry.lifetime - lead, lambda now: self._refresh(hoa)))
        self._entry_timers[hoa] = timers

    def _refresh(self, hoa: IPv6Address) -> None:
        entry = self.cache.lookup(hoa, self.now)
        if entry is None or not entry.recently_used(self.now):
            return
        # §9.5.5: always sent to the home address (no Binding Cache use for MH messages).
        self._send(hoa, BindingRefreshRequest())
        self.emit("brr.sent", home_address=hoa)

    def _expire(self, hoa: IPv6Address) -> None:
        entry = self.cache.get(hoa)
        if entry is None or not entry.expired(self.now):
            return
        self._remove(hoa)
        self._retire(hoa, entry.sequence, entry, None)
        self.emit("binding.expired", home_address=hoa, care_of_address=entry.care_of_address,
                  sequence=entry.sequence)

    # -- inactive entries (§5.2.8, §9.5.3) ---------------------------------------------------

    def _retire(self, hoa: IPv6Address, sequence: int, entry: BindingCacheEntry | None,
                home_index: int | None) -> None:
        """Keep ``sequence`` for ``hoa`` while a nonce that authorised it is still accepted.

        §5.2.8: "Correspondent nodes must retain bindings and the associated sequence number
        information at least as long as the nonces used in the authorization of the binding
        are still valid": the nonces of the deleted binding (its stored ``nonce_indices``) and
        the home nonce of the de-registration that deleted it.
        """
        indices = list(entry.nonce_indices) if entry is not None and (
            entry.nonce_indices is not None) else []
        if home_index is not None:
            indices.append(home_index)
        previous = self.retired.pop(hoa, None)  # its timers went with the entry's
        times = [self.nonces.valid_until(i, self.now) for i in indices]
        if previous is not None:
            times.append(previous[1])  # what it protected stays protected
        until = max((t for t in times if t is not None), default=None)
        if until is None or until <= self.now:
            return  # no nonce left that could authorise a replay
        self.retired[hoa] = (sequence, until)
        self._entry_timers[hoa] = [self.schedule(until - self.now,
                                                 lambda now: self._forget(hoa))]
        self.counters["binding.retired"] += 1

    def _retired_sequence(self, hoa: IPv6Address) -> int | None:
        """The sequence number of an inactive entry still retained for ``hoa``, or None."""
        retired = self.retired.get(hoa)
        return retired[0] if retired is not None and self.now < retired[1] else None

    def _forget(self, hoa: IPv6Address) -> None:
        """End the inactive entry of ``hoa`` (its nonces expired, or a new binding)."""
        if self.retired.pop(hoa, None) is not None:
            for timer in self._entry_timers.pop(hoa, []):
                timer.cancel()

    def _has_room(self, hoa: IPv6Address) -> bool:
        """Room for a new binding (O(1)): inactive entries count against ``max_bindings``
        (§5.2.8); an entry counts until its expiry timer removes it."""
        inactive = len(self.retired) - (hoa in self.retired)
        return len(self.cache) + inactive < self.config.max_bindings

    def table_sizes(self) -> dict[str, int]:
        """Binding Cache, inactive entries, nonces and the Binding Error limiter."""
        return {**super().table_sizes(), "binding_cache": len(self.cache),
                "inactive_bindings": len(self.retired), "nonces": len(self.nonces),
                "binding_error_sources": len(self.error_replies)}

    def _remove(self, hoa: IPv6Address) -> BindingCacheEntry | None:
        for timer in self._entry_timers.pop(hoa, []):
            timer.cancel()
        removed = self.cache.remove(hoa)
        if removed is not None:
            self.act(Intercept(address=hoa, active=False))
        return removed

    def _home_registration_key(self, bu: BindingUpdate, indices: NonceIndices | None,
                               hoa: IPv6Address, coa: IPv6Address, signed: IPv6Address,
                               deregistration: bool) -> bytes | None:
        """Kbm for answering a home registration sent here, if the BU carries valid return
        routability authorization (§9.5.4: every BA but 136-138 carries the option when a
        key is known); None otherwise."""
        if indices is None or not (bu.options and isinstance(bu.options[-1],
                                                             BindingAuthorizationData)):
            return None
        home_token = self.nonces.home_token(indices.home_nonce_index, hoa, self.now)
        care_of_token = None if deregistration else self.nonces.care_of_token(
            indices.care_of_nonce_index, coa, self.now)
        if home_token is None or (care_of_token is None and not deregistration):
            return None
        kbm = binding_management_key(home_token, care_of_token)
        if not verify_binding_authorization(bu, kbm, care_of_address=signed,
                                            correspondent=self.address,
                                            encoded=self.received_mobility_header):
            return None
        return kbm

    def _send(
        self,
        destination: IPv6Address,
        payload: MobilityMessage | ICMPv6Message,
        headers: tuple[ExtensionHeader, ...] = (),
    ) -> None:
        self.act(Transmit(packet=IPv6Packet(
            src=self.address, dst=destination, payload=payload,
            extension_headers=headers,
        ), interface=self.interface))


def _unicast_routable(address: IPv6Address) -> bool:
    """RFC 6275 §2: an address that can carry a binding (not unspecified, loopback,
    multicast or link-local)."""
    return not (address.is_unspecified or address.is_loopback or address.is_multicast
                or address.is_link_local)
