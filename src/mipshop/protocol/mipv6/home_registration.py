"""The mobile node's home registration client (RFC 6275 §11.7.1, §11.5.5, §11.8; RFC 4285).

One Binding Update List entry towards the home agent: registration of each new care-of address
(with the Alternate Care-of Address option, §11.7.1), refresh before expiry (at the Binding
Refresh Advice interval or 80% of the granted lifetime), de-registration on return home,
retransmission with exponential back-off (InitialBindackTimeoutFirstReg 1.5 s for the first
registration, INITIAL_BINDACK_TIMEOUT 1 s otherwise, doubling to MAX_BINDACK_TIMEOUT 32 s),
at most MAX_UPDATE_RATE BUs per second, and RFC 4285 protection of every BU and check of
every BA.

Resolved ambiguities ([choice]): a BU that MAX_UPDATE_RATE holds back is delayed, not
dropped; after a rejection the next registration (on the next movement) starts a new entry
whose sequence numbers carry on; status 135 and RFC 4285 status 144 (after the timestamp is
resynchronised) are answered at once with a new BU.

Events: ``home.bu_sent`` (``sequence``, ``care_of_address``, ``lifetime``, ``retransmission``,
``timeout``), ``home.registered`` (``care_of_address``, ``lifetime``, ``status``),
``home.deregistered``, ``home.rejected`` (``status``), ``home.binding_expired``,
``auth.failed`` (``reason``), ``auth.replay`` (``reason``), ``auth.resync``.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.ext_headers import DestinationOptions, HomeAddressOption
from ...wire.ipv6 import IPv6Packet
from ...wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from ...wire.mh_options import AlternateCareOfAddress, BindingRefreshAdvice, MobilityOption
from ..base.actions import Transmit
from ..base.addressing import interface_identifier
from ..base.backoff import RateLimiter, RetransmissionTimer, bu_backoff
from ..base.constants import LIFETIME_UNIT
from ..base.entity import Timer
from ..base.sequence import initial_sequence
from .binding_update_list import (
    OUTSTANDING_STATES,
    BindingEvent,
    BindingState,
    BindingUpdateListEntry,
)
from .mn_ha_auth import TimestampSource
from .signalling import find_option, protect_mn_ha, read_mn_ha, verify_mn_ha, wire_lifetime

if TYPE_CHECKING:
    from .mobile_node import MobileNode

S = BindingAckStatus


class HomeRegistration:
    """Home registration of one mobile node with its home agent (RFC 6275 §11.7.1).

    The mobile node calls :meth:`register` with each new care-of address, :meth:`deregister`
    on return home and :meth:`handle` with every packet; :attr:`registered` tells whether the
    home agent holds a binding for the current care-of address (reverse tunnelling works).
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_rate", "_sent_timestamp", "_timer", "config", "entry", "home_address_unusable", "node",
        "sent_care_of_address", "timestamps")

    def __init__(self, node: MobileNode) -> None:
        self.node = node
        config = node.config
        self.config = config
        self.entry: BindingUpdateListEntry | None = None
        self.timestamps = TimestampSource(config.wall_clock_offset)
        self._timer: Timer | None = None
        self._sent_timestamp: int | None = None
        self._rate = RateLimiter()
        #: The home address is unusable (the HA's DAD failed, status 134, §11.7.3).
        self.home_address_unusable = False
        #: The care-of address of the last registration BU sent to the current home agent
        #: (not a de-registration), or None: what reverse tunnelling follows.
        self.sent_care_of_address: IPv6Address | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        """True if the home agent holds a live binding for the current care-of address."""
        return self.entry is not None and self.entry.binding_active(self.node.now)

    @property
    def registered_care_of_address(self) -> IPv6Address | None:
        """The care-of address the home agent holds a live binding for, or None."""
        return self.entry.care_of_address if self.registered and self.entry else None

    @property
    def tunnel_care_of_address(self) -> IPv6Address | None:
        """The care-of address to reverse-tunnel from (§11.3.1): the one of the last
        registration BU sent, even before its BA, else the registered one.

        A packet sent after the BU follows it along the same path to the home agent, which by
        then holds the new care-of address as primary and accepts it (§10.4.5); one sent from
        the old care-of address would arrive after that and be refused. [choice] Waiting for
        the BA instead would lose everything sent in the BU's round trip; a lost BU loses what
        follows it until the retransmission (§11.8). docs/decisions.md D24.
        """
        entry = self.entry
        sent = self.sent_care_of_address
        if entry is not None and sent is not None and entry.destination == self.node.home_agent \
                and entry.state in (BindingState.WAITING_ACK, BindingState.REFRESHING,
                                    BindingState.BOUND):
            return sent
        return self.registered_care_of_address

    @property
    def link_local_compat(self) -> bool:
        """True when the node's link-local address and its home address share the interface
        identifier (§11.7.1: the L bit, and the home agent defends the link-local address)."""
        node = self.node
        return interface_identifier(node.link_local) == interface_identifier(node.home_address)

    def covers(self, care_of_address: IPv6Address) -> bool:
        """True if ``care_of_address`` is registered with the current home agent, or its
        registration is under way (nothing to send for it)."""
        entry, node = self.entry, self.node
        if entry is None or entry.destination != node.home_agent or (
                entry.care_of_address != care_of_address):
            return False
        if entry.state in (BindingState.WAITING_ACK, BindingState.REFRESHING):
            return True
        return entry.state is BindingState.BOUND and entry.binding_active(node.now)

    def remaining_lifetime(self) -> float:
        """Seconds left of the confirmed home binding (0 without one)."""
        entry = self.entry
        if entry is None or entry.binding_expires_at is None:
            return 0.0
        return max(entry.binding_expires_at - self.node.now, 0.0)

    # -- commands from the mobile node -----------------------------------------------------

    def register(self, care_of_address: IPv6Address) -> None:
        """Register (or refresh) ``care_of_address`` with the home agent (§11.7.1)."""
        node = self.node
        if node.home_agent is None or self.home_address_unusable:
            return
        entry = self.entry
        if entry is None or entry.destination != node.home_agent or entry.state in (
            BindingState.FAILED, BindingState.DELETED
        ):
            # A new entry; after a failure the sequence numbers carry on (§11.8).
            sequence = initial_sequence(node.rng) if entry is None else entry.sequence
            entry = BindingUpdateListEntry(
                destination=node.home_agent, home_address=self.node.home_address,
                care_of_address=care_of_address, sequence=sequence, home_registration=True,
            )
            self.entry = entry
        refresh = entry.binding_active(node.now) and entry.care_of_address == care_of_address
        # §11.8: "first registration" = no live binding at the HA (never made, or expired).
        first = entry.binding_expires_at is None or node.now >= entry.binding_expires_at
        entry.care_of_address = care_of_address
        entry.backoff = bu_backoff(
            first, first_reg_timeout=self.config.first_registration_timeout,
            ceiling=self.config.max_bindack_timeout,
        ) if first else _backoff(self.config.bindack_timeout, self.config.max_bindack_timeout)
        if refresh and entry.state is BindingState.BOUND:
            entry.transition(BindingEvent.SEND_REFRESH)
        else:
            entry.transition(BindingEvent.SEND_BU)
        self._send(retransmission=False)

    def renumbered(self) -> None:
        """The home address changed (§11.4.3): the binding of the old one is left to lapse
        and the next :meth:`register` starts an entry for the new one; sequence numbers
        carry on."""
        entry = self.entry
        self._forget()
        if entry is not None:
            fresh = BindingUpdateListEntry(
                destination=entry.destination, home_address=self.node.home_address,
                care_of_address=entry.care_of_address, sequence=entry.sequence,
                home_registration=True)
            self.entry = fresh
        self.home_address_unusable = False

    def deregister(self) -> None:
        """Send the de-registration BU from the home link (§11.5.5): lifetime 0, CoA = HoA."""
        entry = self.entry
        if entry is None or entry.state in (BindingState.DELETED, BindingState.FAILED):
            self._forget()
            return
        entry.care_of_address = self.node.home_address
        entry.backoff = _backoff(self.config.bindack_timeout, self.config.max_bindack_timeout)
        entry.transition(BindingEvent.SEND_DEREG)
        self._send(retransmission=False)

    # -- sending ---------------------------------------------------------------------------

    def _send(self, *, retransmission: bool) -> None:
        node, entry = self.node, self.entry
        assert entry is not None and entry.backoff is not None
        key = (entry.destination, BindingUpdate.MH_TYPE)
        if not self._rate.allowed(key, node.now):
            # §11.8 MAX_UPDATE_RATE: wait for the window instead of sending.
            self._arm(self._rate.next_allowed(key, node.now),
                      lambda now: self._send(retransmission=retransmission))
            return
        self._rate.record(key, node.now)
        hoa = self.node.home_address
        deregistration = entry.state is BindingState.DEREGISTERING
        coa = hoa if deregistration else entry.care_of_address
        lifetime = 0 if deregistration else self._lifetime()
        sequence = entry.next_sequence()
        entry.record_sent(sequence, lifetime, node.now, care_of_address=coa)
        timeout = entry.backoff.next_timeout()
        entry.backoff.deadline = node.now + timeout
        self._arm_call(entry.backoff.deadline, _expired_timeout)
        options: tuple[MobilityOption, ...] = ()
        if not deregistration:
            # §11.7.1: the home registration BU MUST carry the Alternate Care-of Address option.
            options = (AlternateCareOfAddress(address=coa),)
        # §11.7.1: L when the link-local address has the home address's interface identifier
        # (the home agent then defends that link-local address on the home link, §10.3.1).
        bu = BindingUpdate(
            sequence=sequence, lifetime=lifetime, ack=True, home_registration=True,
            link_local_compat=not deregistration and self.link_local_compat,
            options=options,
        )
        credentials = self.config.credentials
        if credentials is not None:
            self._sent_timestamp = self.timestamps.next(node.now)
            bu = protect_mn_ha(bu, credentials, timestamp=self._sent_timestamp,
                               care_of_address=coa, home_address=hoa)
        source = hoa if deregistration else node.registration_care_of_address or coa
        headers = () if source == hoa else (
            DestinationOptions(options=(HomeAddressOption(home_address=hoa),)),)
        packet = IPv6Packet(src=source, dst=entry.destination, payload=bu,
                            extension_headers=headers)
        node.act(Transmit(packet=packet, interface=node.interface))
        self.sent_care_of_address = None if deregistration else coa
        node.emit("home.bu_sent", sequence=sequence, care_of_address=coa, lifetime=lifetime,
                  retransmission=retransmission, timeout=timeout)

    def _lifetime(self) -> int:
        """The lifetime to ask: the configured one, capped by the node's clients.

        RFC 5380 §6.1: a binding to the RCoA MUST NOT outlive the MAP binding. [choice] The
        cap never goes below one lifetime unit: a zero Lifetime would be a de-registration.
        """
        lifetime = wire_lifetime(self.config.home_binding_lifetime)
        limit = self.node.registration_lifetime_limit()
        if limit is not None:
            lifetime = min(lifetime, max(wire_lifetime(limit), int(LIFETIME_UNIT)))
        return lifetime

    def _arm(self, when: float, callback: Callable[[float], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.node.schedule(max(when - self.node.now, 0.0), callback)

    def _arm_call(self, when: float, function: Callable[[HomeRegistration], None]) -> None:
        """:meth:`_arm` for a module function of this registration (no bound method made
        for each armed timer: a mobile node keeps its refresh timer armed all run)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.node.schedule_call(max(when - self.node.now, 0.0), function, self)

    def _expired_timeout(self, now: float) -> None:
        entry = self.entry
        if entry is None or entry.state not in OUTSTANDING_STATES:
            return
        if entry.state is BindingState.WAITING_ACK and (
                self.node.registration_care_of_address is None):
            # No usable care-of address any more (RFC 4862 §5.4.5: a duplicate one is given
            # up): nothing to retransmit from; the next address registers afresh.
            self.node.counters["home.bu_suspended"] += 1
            return
        backoff = entry.backoff
        if (entry.state is BindingState.WAITING_ACK and backoff is not None
                and backoff.current is not None and backoff.current >= backoff.ceiling
                and self.node.switch_home_agent()):
            # §11.8: at MAX_BINDACK_TIMEOUT, try the next home agent DHAAD returned.
            return
        # §11.8: retransmit with a new sequence number, doubling the timeout.
        entry.transition(BindingEvent.RETRANSMIT)
        self._send(retransmission=True)

    def _refresh_due(self, now: float) -> None:
        entry = self.entry
        if entry is None or entry.state is not BindingState.BOUND or self.node.at_home:
            return
        coa = self.node.registration_care_of_address
        if coa is not None and coa == entry.care_of_address:
            self.register(coa)
        # A different address to register (a new MAP domain) is registered by the node's
        # update_registrations() once it is ready.

    def _binding_lifetime_over(self, now: float) -> None:
        entry = self.entry
        if entry is None or entry.state is not BindingState.BOUND or entry.binding_active(now):
            return
        self.node.emit("home.binding_expired", care_of_address=entry.bound_care_of_address)
        self.node.update_registrations()

    def _forget(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self.entry = None
        self.sent_care_of_address = None

    # -- receiving -------------------------------------------------------------------------

    def handle(self, packet: IPv6Packet) -> bool:
        """Process ``packet`` if it is a Binding Acknowledgement from the home agent."""
        ba = packet.payload
        if not isinstance(ba, BindingAcknowledgement) or packet.src != self.node.home_agent:
            return False
        self._acknowledgement(ba)
        return True

    def _acknowledgement(self, ba: BindingAcknowledgement) -> None:
        node, entry = self.node, self.entry
        if entry is None:
            node.counters["drop.ba_unexpected"] += 1
            return
        if not self._authentic(ba, entry):
            return
        if entry.state not in OUTSTANDING_STATES:
            node.counters["drop.ba_unexpected"] += 1
            return
        if ba.status != S.SEQUENCE_NUMBER_OUT_OF_WINDOW and ba.sequence != entry.sequence:
            node.counters["drop.ba_sequence_mismatch"] += 1  # §11.7.3
            return
        if ba.status == S.MIPV6_ID_MISMATCH:
            # RFC 4285 §6: resynchronise the timestamp from the authenticated BA and resend.
            stamp = read_mn_ha(ba).timestamp
            if stamp is not None:
                self.timestamps.adjust(stamp, node.now)
            node.emit("auth.resync")
            entry.transition(BindingEvent.BA_SEQUENCE_RESYNC)
            self._send(retransmission=True)
            return
        if ba.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            # §11.7.3: adopt the HA's last accepted number and send a new BU.
            entry.resync_sequence(ba.sequence)
            entry.transition(BindingEvent.BA_SEQUENCE_RESYNC)
            entry.backoff = _backoff(self.config.bindack_timeout, self.config.max_bindack_timeout)
            self._send(retransmission=True)
            return
        if self._timer is not None:
            self._timer.cancel()
        if self._sent_timestamp is not None:
            self.timestamps.confirm(self._sent_timestamp)
        if ba.status >= 128:
            entry.transition(BindingEvent.BA_REJECTED)
            if ba.status == S.DUPLICATE_ADDRESS_DETECTION_FAILED:
                self.home_address_unusable = True  # §11.7.3: MUST NOT use this home address
            node.emit("home.rejected", status=ba.status, sequence=ba.sequence)
            if entry.state is BindingState.DELETED:
                self._forget()
            return
        advice = find_option(ba, BindingRefreshAdvice)
        entry.apply_ack(float(ba.lifetime), node.now,
                        refresh_interval=float(advice.refresh_interval) if advice else None)
        entry.transition(BindingEvent.BA_ACCEPTED)
        if entry.state is BindingState.DELETED:
            self._forget()
            node.emit("home.deregistered", sequence=ba.sequence)
            node.home_deregistered()
            return
        node.emit("home.registered", care_of_address=entry.care_of_address,
                  lifetime=ba.lifetime, status=ba.status, sequence=ba.sequence)
        if entry.refresh_at is not None:
            self._arm_call(entry.refresh_at, _refresh_due)
        if entry.binding_expires_at is not None:
            node.schedule_call(max(entry.binding_expires_at - node.now, 0.0),
                               _binding_lifetime_over, self)
        node.home_registered(ba.status)

    def _authentic(self, ba: BindingAcknowledgement, entry: BindingUpdateListEntry) -> bool:
        """RFC 4285 §5.1.1, §6: check the BA's authentication and echoed timestamp."""
        credentials = self.config.credentials
        if credentials is None:
            return True
        node = self.node
        protection = read_mn_ha(ba)
        if not protection.present or not verify_mn_ha(
            ba, credentials, care_of_address=entry.care_of_address,
            home_address=self.node.home_address,
            encoded=self.node.received_mobility_header,
        ):
            node.counters["auth.ba_failed"] += 1
            node.emit("auth.failed", reason="bad_ba_authenticator", sequence=ba.sequence)
            return False
        if ba.status != S.MIPV6_ID_MISMATCH and protection.timestamp != self._sent_timestamp:
            # RFC 4285 §6: not the timestamp of the BU just sent (a replay, or a late answer
            # to an earlier transmission): silently discarded, but counted.
            node.counters["auth.ba_replay"] += 1
            node.emit("auth.replay", reason="ba_timestamp_mismatch", sequence=ba.sequence)
            return False
        return True


def _backoff(initial: float, ceiling: float) -> RetransmissionTimer:
    """A BU back-off starting at ``initial`` (INITIAL_BINDACK_TIMEOUT, §11.8)."""
    return RetransmissionTimer(initial=initial, ceiling=max(ceiling, initial))


# Timer callbacks of a registration (Entity.schedule_call with the registration as the
# argument): a timer then holds the registration itself, where a bound method would be an
# object of 64 bytes per armed timer, and a city holds two such timers per mobile node all
# run. The node's clock is the timer's time when they run (Entity.handle_timer sets it).


def _expired_timeout(registration: HomeRegistration) -> None:
    registration._expired_timeout(registration.node.now)


def _refresh_due(registration: HomeRegistration) -> None:
    registration._refresh_due(registration.node.now)


def _binding_lifetime_over(registration: HomeRegistration) -> None:
    registration._binding_lifetime_over(registration.node.now)
