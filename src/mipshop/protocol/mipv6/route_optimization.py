"""The mobile node's route optimization client (RFC 6275 §5.2, §11.6, §11.7.2, §11.3.1).

For each configured correspondent, once the home agent holds a binding for the current
care-of address: return routability (HoTI reverse-tunnelled through the home agent from the
home address, CoTI directly from the care-of address, §11.6.1), then a Binding Update with
Nonce Indices and Binding Authorization Data keyed with Kbm (§11.7.2), then route-optimised
traffic: from the care-of address with a Home Address option (§11.3.1). Refreshes run a new
return routability procedure before the binding expires; a Binding Refresh Request starts one
at once (§11.7.4). Binding Errors (§11.3.6): status 1 restarts the registration, status 2
stops route optimization with that node. After ``max_ro_failure`` failed attempts the client
falls back to the home agent tunnel (§5.2.9). On return home the bindings are deleted with a
home-token-only Kbm (§11.5.5, §5.2.5).

Resolved ambiguities ([choice]):

* Keygen tokens are reused for MAX_TOKEN_LIFETIME after they arrive (§5.2.7, §11.6.1 MAY;
  ``RouteOptimizationConfig.reuse_tokens``): an attempt sends a HoTI only without a usable
  home token and a CoTI only without a usable care-of token for the care-of address being
  registered (none at all when both are usable, e.g. a return home soon after leaving); a BA
  136/137/138 discards the tokens of the expired nonces. Retransmissions ask only for the
  tokens still missing. An attempt
  is ``attempt_transmissions`` (3) sends of the HoTI/CoTI or of the BU with the usual doubling
  timeout, and a failed attempt counts toward MAX_RO_FAILURE.
* After the fallback the entry stays FAILED for that care-of address: data uses the home
  agent tunnel; the next care-of address gives route optimization a new chance (§5.2.9 gives
  no rule for trying again). Binding Error status 2 stops it for good.
* Binding Error status 2 disables route optimization with that correspondent (§11.3.6).
* The refresh runs at 80% of the granted lifetime, counted from when the BU was sent.

Events: ``ro.test_init_sent`` (``correspondent``, ``home``, ``care_of``, ``retransmission``),
``ro.bu_sent`` (``correspondent``, ``sequence``, ``lifetime``), ``ro.bound``
(``correspondent``, ``care_of_address``, ``lifetime``), ``ro.deregistered``, ``ro.rejected``
(``status``), ``ro.nonce_expired`` (``status``), ``ro.attempt_failed`` (``failures``),
``ro.fallback``, ``ro.retry``, ``ro.refresh_requested``, ``ro.binding_error`` (``status``),
``ro.tokens_reused`` (``correspondent``, ``home``, ``care_of``: which tokens an attempt reused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.ext_headers import DestinationOptions, HomeAddressOption
from ...wire.ipv6 import IPv6Packet, encapsulate
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
)
from ...wire.mh_options import NonceIndices
from ..base.actions import Transmit
from ..base.backoff import RateLimiter, RetransmissionTimer
from ..base.constants import LIFETIME_UNIT, MAX_RR_BINDING_LIFETIME
from ..base.entity import Timer
from ..base.sequence import initial_sequence
from ..base.tables import EMPTY
from .binding_update_list import BindingEvent, BindingState, BindingUpdateListEntry
from .config import RouteOptimizationConfig
from .mobility_client import MobilityClient
from .return_routability import generate_cookie
from .signalling import sign_binding_authorization, verify_binding_authorization, wire_lifetime

if TYPE_CHECKING:
    from .mobile_node import MobileNode

S = BindingAckStatus
_EXPIRED_NONCES = (S.EXPIRED_HOME_NONCE_INDEX, S.EXPIRED_CARE_OF_NONCE_INDEX, S.EXPIRED_NONCES)


#: The empty :attr:`RouteOptimizationClient._deregistering` and ``_unsupported`` of every client.
_NO_ADDRESSES: frozenset[IPv6Address] = frozenset()


def _without(addresses: frozenset[IPv6Address], address: IPv6Address) -> frozenset[IPv6Address]:
    """``addresses`` less ``address`` (the shared empty set when nothing is left)."""
    if address not in addresses:
        return addresses
    return addresses - {address} or _NO_ADDRESSES


class RouteOptimizationClient(MobilityClient):
    """Return routability and correspondent registrations of one mobile node (RFC 6275 §11.6).

    :attr:`entries` holds one Binding Update List entry per correspondent.
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_deregistering", "_kbm", "_rate", "_target", "_timers", "_unsupported", "config",
        "entries", "node")

    def __init__(self, node: MobileNode, config: RouteOptimizationConfig) -> None:
        self.node = node
        self.config = config
        # The four tables are the shared empty mapping until the first correspondent is
        # tried (:meth:`_tables`): route optimization is off in most runs (64 bytes each).
        self.entries: dict[IPv6Address, BindingUpdateListEntry] = EMPTY
        self._timers: dict[IPv6Address, Timer] = EMPTY
        self._kbm: dict[IPv6Address, bytes] = EMPTY
        # Frozen sets, replaced on change, and _NO_ADDRESSES while empty: route optimization is
        # off in most runs, and a city holds one client per mobile node (an empty set is 216
        # bytes; so is each frozenset(): CPython shares no empty one).
        self._deregistering: frozenset[IPv6Address] = _NO_ADDRESSES
        #: The care-of address the running (or last) exchange with each CN is for.
        self._target: dict[IPv6Address, IPv6Address] = EMPTY
        #: Correspondents that answered with Binding Error status 2: never tried again.
        self._unsupported: frozenset[IPv6Address] = _NO_ADDRESSES
        self._rate = RateLimiter()

    def _tables(self) -> None:
        """Give the client tables of its own (before anything is written to them)."""
        if self.entries is EMPTY:
            self.entries, self._timers, self._kbm, self._target = {}, {}, {}, {}

    # -- hooks from the mobile node --------------------------------------------------------

    def home_registered(self) -> None:
        """Start (or restart for a new care-of address) RR with every correspondent."""
        for cn in self.config.correspondents:
            coa = self.node.care_of_address_for(cn)
            entry = self.entries.get(cn)
            if entry is not None and entry.state is BindingState.FAILED:
                if cn in self._unsupported or self._target.get(cn) == coa:
                    continue  # §5.2.9: fallen back to the home agent tunnel
                # [choice] A new care-of address gives route optimization a new chance: a
                # fresh entry whose sequence numbers carry on.
                self._fresh_entry(cn, entry)
                self.node.emit("ro.retry", correspondent=cn)
            if entry is not None and cn in self._timers and self._target.get(cn) == coa:
                continue  # an exchange for this care-of address is running (or a refresh armed)
            self.start(cn)

    def correspondent_address_changed(self) -> None:
        """A correspondent's care-of address changed (another MAP's RCoA became usable or
        went, RFC 5380 §7.1): register it, once the home agent holds a binding."""
        if self.node.home.registered and not self.node.at_home:
            self.home_registered()

    def returned_home(self) -> None:
        """Delete every correspondent binding from the home link (§11.5.5)."""
        for cn, entry in list(self.entries.items()):
            if entry.sent_at is None or cn in self._unsupported:
                self._drop(cn)  # never sent a BU there: nothing to delete
                continue
            if entry.state is BindingState.FAILED:
                # The correspondent may still hold an older binding: delete it anyway.
                entry = self._fresh_entry(cn, entry)
            self._deregistering |= {cn}
            self._begin_attempt(cn, entry)

    def home_address_changed(self, previous: IPv6Address) -> None:
        """Renumbered (§11.4.3): bindings and tokens were for the old home address; forget
        them (the correspondents' entries lapse) and start again once the home agent holds
        the new one (:meth:`home_registered`)."""
        for cn in list(self.entries):
            self._drop(cn)

    def _fresh_entry(
        self, cn: IPv6Address, old: BindingUpdateListEntry
    ) -> BindingUpdateListEntry:
        """Replace a FAILED entry; sequence numbers carry on (§11.8)."""
        entry = BindingUpdateListEntry(
            destination=cn, home_address=old.home_address,
            care_of_address=old.care_of_address, sequence=old.sequence)
        entry.sent_at = old.sent_at
        self._tables()
        self.entries[cn] = entry
        return entry

    def route(self, packet: IPv6Packet) -> IPv6Packet | None:
        """Route-optimise ``packet`` if its destination holds a binding for our CoA (§11.3.1)."""
        node = self.node
        entry = self.entries.get(packet.dst)
        coa = node.care_of_address_for(packet.dst)
        if entry is None or coa is None or entry.bound_care_of_address != coa:
            return None
        if entry.state is BindingState.FAILED:
            return None  # fallen back to the home agent tunnel (§5.2.9, §11.3.6)
        if entry.binding_expires_at is None or node.now >= entry.binding_expires_at:
            return None
        node.counters["ro.data_sent"] += 1
        headers = (*packet.extension_headers,
                   DestinationOptions(options=(HomeAddressOption(home_address=packet.src),)))
        return replace(packet, src=coa, extension_headers=headers)

    # -- return routability (§11.6) --------------------------------------------------------

    def start(self, cn: IPv6Address) -> None:
        """Run return routability and register the current care-of address with ``cn``."""
        node = self.node
        care_of_address = node.care_of_address_for(cn)
        if care_of_address is None or node.at_home:
            return
        entry = self.entries.get(cn)
        if entry is None:
            entry = BindingUpdateListEntry(
                destination=cn, home_address=node.home_address,
                care_of_address=care_of_address,
                sequence=initial_sequence(node.rng),
            )
            self._tables()
            self.entries[cn] = entry
        if entry.state is BindingState.FAILED:
            return
        self._deregistering = _without(self._deregistering, cn)
        self._begin_attempt(cn, entry)

    def _begin_attempt(self, cn: IPv6Address, entry: BindingUpdateListEntry) -> None:
        node = self.node
        self._tables()
        self._target[cn] = node.home_address if cn in self._deregistering else (
            node.care_of_address_for(cn) or node.home_address)
        entry.rr.backoff = RetransmissionTimer(
            initial=self.config.initial_timeout, ceiling=self.config.max_timeout,
            max_retries=self.config.attempt_transmissions - 1,
        )
        entry.transition(BindingEvent.START_RR)
        self._send_test_inits(cn, entry, retransmission=False)

    def _send_test_inits(
        self, cn: IPv6Address, entry: BindingUpdateListEntry, *, retransmission: bool
    ) -> None:
        node = self.node
        rr = entry.rr
        dereg = cn in self._deregistering
        if self._suspended(cn, dereg):
            return
        coa = node.care_of_address_for(cn)
        # §11.6.1, §5.2.7: keygen tokens (and their nonce indices) received in the last
        # MAX_TOKEN_LIFETIME seconds MAY be reused: a move needs only a CoTI, a return home
        # (home token only, §5.2.5) or a care-of address visited again may need no test at
        # all. Without reuse every attempt fetches both; a retransmission within an attempt
        # always asks only for the tokens still missing.
        fresh = not retransmission and not self.config.reuse_tokens
        send_home = fresh or not rr.home_token_valid(node.now)
        send_care_of = not dereg and coa is not None and (
            fresh or not rr.care_of_token_valid(node.now, coa))
        if not (send_home or send_care_of):
            node.emit("ro.tokens_reused", correspondent=cn, home=True, care_of=not dereg)
            self._maybe_send_update(cn, entry)
            return
        if send_home and self._rate.try_acquire((cn, HomeTestInit.MH_TYPE), node.now):
            # §11.8: a retransmitted HoTI carries a new cookie.
            rr.home_cookie, rr.home_token, rr.home_token_at = generate_cookie(node.rng), None, None
            inner = IPv6Packet(src=node.home_address, dst=cn,
                               payload=HomeTestInit(cookie=rr.home_cookie))
            if dereg:
                node.act(Transmit(packet=inner, interface=node.interface))
            else:
                assert node.home_agent is not None and coa is not None  # see _suspended
                # §11.6.1: the HoTI is reverse-tunnelled through the home agent, from the
                # care-of address the home agent holds (not a correspondent's other RCoA).
                tunnel = node.home.tunnel_care_of_address or node.registration_care_of_address
                node.act(Transmit(packet=encapsulate(inner, src=tunnel or coa,
                                                     dst=node.home_agent),
                                  interface=node.interface))
        if send_care_of and self._rate.try_acquire((cn, CareOfTestInit.MH_TYPE), node.now):
            assert coa is not None
            rr.care_of_cookie, rr.care_of_token_at = generate_cookie(node.rng), None
            node.act(Transmit(packet=IPv6Packet(src=coa, dst=cn,
                                                payload=CareOfTestInit(cookie=rr.care_of_cookie)),
                              interface=node.interface))
        node.emit("ro.test_init_sent", correspondent=cn, home=send_home, care_of=send_care_of,
                  retransmission=retransmission)
        if not retransmission and not fresh and not (send_home and (send_care_of or dereg)):
            node.emit("ro.tokens_reused", correspondent=cn, home=not send_home,
                      care_of=not dereg and not send_care_of)
        assert rr.backoff is not None
        self._arm(cn, rr.backoff.next_timeout(), self._test_timeout)

    def _test_timeout(self, cn: IPv6Address) -> None:
        entry = self.entries.get(cn)
        if entry is None or entry.state is not BindingState.RR_PENDING:
            return
        assert entry.rr.backoff is not None
        if entry.rr.backoff.exhausted:
            self._attempt_failed(cn, entry)
            return
        entry.transition(BindingEvent.RETRANSMIT)
        self._send_test_inits(cn, entry, retransmission=True)

    def _attempt_failed(self, cn: IPv6Address, entry: BindingUpdateListEntry) -> None:
        node = self.node
        if entry.record_ro_failure(self.config.max_ro_failure):
            # §5.2.9: after MAX_RO_FAILURE attempts, use the home agent tunnel instead.
            entry.transition(BindingEvent.GIVE_UP)
            self._cancel(cn)
            node.emit("ro.fallback", correspondent=cn, failures=entry.ro_failures)
            if cn in self._deregistering:
                self._drop(cn)
            return
        node.emit("ro.attempt_failed", correspondent=cn, failures=entry.ro_failures)
        self._begin_attempt(cn, entry)

    # -- received messages ---------------------------------------------------------------

    def handle(self, packet: IPv6Packet) -> bool:
        """Consume HoT, CoT, BA, BRR and Binding Errors from a known correspondent."""
        payload = packet.payload
        entry = self.entries.get(packet.src)
        if entry is None or not isinstance(payload, (HomeTest, CareOfTest, BindingAcknowledgement,
                                                     BindingRefreshRequest, BindingError)):
            return False
        node, cn = self.node, packet.src
        if isinstance(payload, HomeTest):
            if packet.dst != node.home_address or not entry.rr.accept_home_test(
                payload.cookie, payload.keygen_token, payload.home_nonce_index, node.now
            ):
                node.counters["drop.hot_unmatched"] += 1
            else:
                self._maybe_send_update(cn, entry)
        elif isinstance(payload, CareOfTest):
            coa = node.care_of_address_for(cn)
            if coa is None or packet.dst != coa or not entry.rr.accept_care_of_test(
                payload.cookie, payload.keygen_token, payload.care_of_nonce_index, coa, node.now
            ):
                node.counters["drop.cot_unmatched"] += 1
            else:
                self._maybe_send_update(cn, entry)
        elif isinstance(payload, BindingAcknowledgement):
            self._acknowledgement(cn, entry, payload)
        elif isinstance(payload, BindingRefreshRequest):
            node.emit("ro.refresh_requested", correspondent=cn)  # §11.7.4
            if entry.state is not BindingState.RR_PENDING:
                self.start(cn)
        else:
            self._binding_error(cn, entry, payload)
        return True

    def _maybe_send_update(self, cn: IPv6Address, entry: BindingUpdateListEntry) -> None:
        node = self.node
        if entry.state is not BindingState.RR_PENDING:
            return
        dereg = cn in self._deregistering
        if self._suspended(cn, dereg):
            return
        coa = node.home_address if dereg else node.care_of_address_for(cn)
        assert coa is not None  # see _suspended
        kbm = entry.rr.binding_key(node.now, coa, deregistration=dereg)
        if kbm is None:
            return  # still waiting for the other test
        self._tables()
        self._kbm[cn] = kbm
        entry.backoff = RetransmissionTimer(
            initial=self.config.initial_timeout, ceiling=self.config.max_timeout,
            max_retries=self.config.attempt_transmissions - 1,
        )
        entry.transition(BindingEvent.SEND_DEREG if dereg else BindingEvent.SEND_BU)
        self._send_update(cn, entry, retransmission=False)

    def _send_update(
        self, cn: IPv6Address, entry: BindingUpdateListEntry, *, retransmission: bool
    ) -> None:
        node = self.node
        dereg = entry.state is BindingState.DEREGISTERING
        if self._suspended(cn, dereg):
            return
        coa = node.home_address if dereg else node.care_of_address_for(cn)
        assert coa is not None and entry.backoff is not None  # see _suspended
        rr = entry.rr
        assert rr.home_nonce_index is not None
        if dereg:
            lifetime = 0
        else:
            # §11.7.2: no longer than the home binding; §5.2.6: at most 420 s with RR keys.
            # RFC 5380 §6.1: nor longer than the MAP binding when the CoA is an RCoA.
            limit = node.lifetime_limit_for(cn)
            lifetime = wire_lifetime(min(self.config.lifetime, MAX_RR_BINDING_LIFETIME,
                                         node.home.remaining_lifetime(),
                                         limit if limit is not None else MAX_RR_BINDING_LIFETIME))
        sequence = entry.next_sequence()
        entry.record_sent(sequence, lifetime, node.now, care_of_address=coa)
        # §5.2.6: a de-registration sends care-of nonce index 0 (it is ignored).
        indices = NonceIndices(home_nonce_index=rr.home_nonce_index,
                               care_of_nonce_index=0 if dereg else rr.care_of_nonce_index or 0)
        bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True, options=(indices,))
        bu = sign_binding_authorization(bu, self._kbm[cn], care_of_address=coa, correspondent=cn)
        if coa == node.home_address:
            packet = IPv6Packet(src=coa, dst=cn, payload=bu)
        else:
            packet = IPv6Packet(src=coa, dst=cn, payload=bu, extension_headers=(
                DestinationOptions(options=(HomeAddressOption(home_address=node.home_address),)),))
        self._rate.record((cn, BindingUpdate.MH_TYPE), node.now)
        node.act(Transmit(packet=packet, interface=node.interface))
        node.emit("ro.bu_sent", correspondent=cn, sequence=sequence, lifetime=lifetime,
                  retransmission=retransmission)
        self._arm(cn, entry.backoff.next_timeout(), self._update_timeout)

    def _update_timeout(self, cn: IPv6Address) -> None:
        entry = self.entries.get(cn)
        if entry is None or entry.state not in (BindingState.WAITING_ACK,
                                                BindingState.DEREGISTERING):
            return
        assert entry.backoff is not None
        if entry.backoff.exhausted:
            self._attempt_failed(cn, entry)
            return
        entry.transition(BindingEvent.RETRANSMIT)
        self._send_update(cn, entry, retransmission=True)

    def _acknowledgement(
        self, cn: IPv6Address, entry: BindingUpdateListEntry, ba: BindingAcknowledgement
    ) -> None:
        node = self.node
        if entry.state not in (BindingState.WAITING_ACK, BindingState.DEREGISTERING):
            node.counters["drop.ba_unexpected"] += 1
            return
        if ba.status != S.SEQUENCE_NUMBER_OUT_OF_WINDOW and ba.sequence != entry.sequence:
            node.counters["drop.ba_sequence_mismatch"] += 1
            return
        if ba.status in _EXPIRED_NONCES:
            # §11.7.3: no authorization data; get fresh tokens (a new RR run): the token of
            # each nonce index the correspondent no longer knows is not reused (§5.2.7).
            node.emit("ro.nonce_expired", correspondent=cn, status=ba.status)
            if ba.status in (S.EXPIRED_HOME_NONCE_INDEX, S.EXPIRED_NONCES):
                entry.rr.home_token = entry.rr.home_token_at = None
            if ba.status in (S.EXPIRED_CARE_OF_NONCE_INDEX, S.EXPIRED_NONCES):
                entry.rr.care_of_token = entry.rr.care_of_token_at = None
            self._begin_attempt(cn, entry)
            return
        if not verify_binding_authorization(
            ba, self._kbm[cn], care_of_address=entry.care_of_address, correspondent=cn,
            encoded=node.received_mobility_header,
        ):
            node.counters["auth.ro_ba_failed"] += 1  # §11.7.3: silently discard
            return
        if ba.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            entry.resync_sequence(ba.sequence)
            entry.transition(BindingEvent.BA_SEQUENCE_RESYNC)
            self._send_update(cn, entry, retransmission=True)
            return
        self._cancel(cn)
        if ba.status >= 128:
            entry.transition(BindingEvent.BA_REJECTED)
            node.emit("ro.rejected", correspondent=cn, status=ba.status)
            if entry.state is BindingState.DELETED:
                self._drop(cn)
            return
        entry.apply_ack(float(ba.lifetime), node.now)
        entry.transition(BindingEvent.BA_ACCEPTED)
        entry.reset_ro_failures()
        if entry.state is BindingState.DELETED:
            node.emit("ro.deregistered", correspondent=cn)
            self._drop(cn)
            return
        node.emit("ro.bound", correspondent=cn, care_of_address=entry.care_of_address,
                  lifetime=ba.lifetime, sequence=ba.sequence)
        if entry.refresh_at is not None:
            # Refresh before expiry with a new return routability run (§11.7.2, §5.2.7).
            self._arm(cn, max(entry.refresh_at - node.now, 0.0), self.start)

    def _binding_error(self, cn: IPv6Address, entry: BindingUpdateListEntry,
                       error: BindingError) -> None:
        node = self.node
        node.emit("ro.binding_error", correspondent=cn, status=error.status)
        if error.status == BindingErrorStatus.UNRECOGNIZED_MH_TYPE:
            # §11.3.6: the node does not support route optimization: stop trying.
            self._unsupported |= {cn}
            entry.transition(BindingEvent.DISABLE)
            self._cancel(cn)
            return
        if error.status == BindingErrorStatus.UNKNOWN_BINDING_FOR_HOME_ADDRESS_OPTION:
            if error.home_address != node.home_address:
                node.counters["drop.binding_error_other_home_address"] += 1
                return
            # §11.3.6: the correspondent has no binding: forget ours and register again.
            entry.bound_care_of_address = None
            entry.binding_expires_at = None
            if entry.state is not BindingState.RR_PENDING:
                self.start(cn)

    def _suspended(self, cn: IPv6Address, deregistration: bool) -> bool:
        """True (and the exchange with ``cn`` paused) when it cannot proceed from here.

        A registration needs a usable care-of address, a home agent and a home binding with
        at least one lifetime unit left (the BU lifetime is capped by it, §11.7.2); a
        de-registration needs the home link. A paused exchange resumes when the home
        registration of the next care-of address succeeds (:meth:`home_registered`).
        """
        node = self.node
        if deregistration:
            usable = bool(node.at_home)
        else:
            usable = (node.care_of_address_for(cn) is not None and not node.at_home
                      and node.home_agent is not None
                      and node.home.remaining_lifetime() >= LIFETIME_UNIT)
        if not usable:
            self._cancel(cn)
            self._deregistering = _without(self._deregistering, cn)
            node.counters["ro.suspended"] += 1
        return not usable

    # -- timers ------------------------------------------------------------------------------

    def _arm(self, cn: IPv6Address, delay: float,
             callback: Callable[[IPv6Address], None]) -> None:
        self._tables()
        self._cancel(cn)

        def fire(now: float) -> None:
            del self._timers[cn]  # a fired timer no longer counts as a running exchange
            callback(cn)

        self._timers[cn] = self.node.schedule(delay, fire)

    def _cancel(self, cn: IPv6Address) -> None:
        self._tables()
        timer = self._timers.pop(cn, None)
        if timer is not None:
            timer.cancel()

    def _drop(self, cn: IPv6Address) -> None:
        self._cancel(cn)  # gives the client its tables, too
        self.entries.pop(cn, None)
        self._kbm.pop(cn, None)
        self._target.pop(cn, None)
        self._deregistering = _without(self._deregistering, cn)
