"""One HMIPv6 local binding of a mobile node: its RCoA bound to its LCoA at one MAP.

The local Binding Update (RFC 5380 §4, §6.1): source the LCoA, destination the MAP, Home
Address option the RCoA, flags M and A set; [choice] H is clear (docs/decisions.md D8: RFC 5380
requires only M and A, and M is what tells the MAP it is a local registration). No Alternate
Care-of Address option (RFC 5380 §6.1: "No alternate-CoA option is needed"). It is protected
with the MN-MAP security association the way a home registration is protected with the MN-HA
one (RFC 4285, with (LCoA, RCoA) in the place of (care-of address, home address)).

The exchange reuses the RFC 6275 machinery of a home registration: a Binding Update List entry
(:class:`~mipshop.protocol.mipv6.binding_update_list.BindingUpdateListEntry`, ``map_registration``),
the §11.8 back-off and MAX_UPDATE_RATE, the §11.7.3 BA rules (sequence match, 135 resynchronisation,
the granted lifetime, Binding Refresh Advice), RFC 4285 §6 timestamp checks with 144
resynchronisation, and a refresh at 80% of the granted lifetime.

What is HMIPv6's own: the BA MUST carry a Type 2 Routing Header with the RCoA and is ignored
otherwise (RFC 5380 §6.1); the MN reads it after the node's routing-header processing, so the
BA arrives here with the RCoA as its destination (a BA without one arrives for the LCoA).

:class:`LocalBinding` reports outcomes to its owner (:class:`~.client.MapClient`) through
the :class:`LocalBindingOwner` callbacks; events are emitted by the owner.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Protocol

from ...wire.ext_headers import DestinationOptions, HomeAddressOption
from ...wire.ipv6 import IPv6Packet
from ...wire.mh import BindingAcknowledgement, BindingAckStatus, BindingUpdate
from ...wire.mh_options import BindingRefreshAdvice
from ...wire.nd_options import MAPOption, same_address
from ..base.actions import Transmit
from ..base.backoff import RateLimiter, RetransmissionTimer, bu_backoff
from ..base.entity import Timer
from ..base.sequence import initial_sequence
from ..mipv6.binding_update_list import (
    OUTSTANDING_STATES,
    BindingEvent,
    BindingState,
    BindingUpdateListEntry,
)
from ..mipv6.config import MobilityCredentials
from ..mipv6.mn_ha_auth import TimestampSource
from ..mipv6.signalling import find_option, protect_mn_ha, read_mn_ha, verify_mn_ha, wire_lifetime
from .selection import map_prefix

if TYPE_CHECKING:
    from ..mipv6.mobile_node import MobileNode
    from .config import MapClientConfig

S = BindingAckStatus


class LocalBindingOwner(Protocol):
    """What a :class:`LocalBinding` tells its owner."""

    def binding_accepted(self, binding: LocalBinding, *, refresh: bool) -> None:
        """The MAP accepted the latest BU (status < 128)."""

    def binding_rejected(self, binding: LocalBinding, status: int) -> None:
        """The MAP rejected the latest BU (status >= 128, other than 135 and 144)."""

    def binding_lost(self, binding: LocalBinding, reason: str) -> None:
        """The binding ran out (``expired``) or its BU went unanswered (``no_answer``)."""

    def ba_ignored(self, binding: LocalBinding, reason: str) -> None:
        """A BA from this MAP was dropped (RFC 5380 §6.1, RFC 4285, RFC 6275 §11.7.3)."""


class LocalBinding:
    """The binding of ``rcoa`` at the MAP of ``option`` (RFC 5380 §6.1).

    Commands: :meth:`register` (a new LCoA, or the same one to refresh), :meth:`acknowledge`
    (a BA from the MAP), :meth:`cancel`. ``confirmed`` tells whether the MAP has accepted
    this RCoA at least once; ``previous`` marks a binding kept only to forward in-flight
    packets after the node left the domain (RFC 5380 §8): it is not refreshed.
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_lifetime", "_lifetime_timer", "_rate", "_sent_timestamp", "_timer", "config",
        "confirmed", "credentials", "entry", "node", "option", "owner", "previous", "rcoa",
        "timestamps")

    def __init__(
        self,
        owner: LocalBindingOwner,
        node: MobileNode,
        config: MapClientConfig,
        option: MAPOption,
        rcoa: IPv6Address,
        timestamps: TimestampSource,
    ) -> None:
        self.owner = owner
        self.node = node
        self.config = config
        self.option = option
        self.rcoa = rcoa
        self.credentials: MobilityCredentials | None = config.credentials_for(option.address)
        self.timestamps = timestamps
        self.entry = BindingUpdateListEntry(
            destination=option.address, home_address=rcoa, care_of_address=rcoa,
            sequence=initial_sequence(node.rng), map_registration=True,
        )
        self.confirmed = False
        self.previous = False
        self._lifetime = config.lifetime
        self._timer: Timer | None = None
        self._lifetime_timer: Timer | None = None
        self._sent_timestamp: int | None = None
        self._rate = RateLimiter()

    @property
    def map_address(self) -> IPv6Address:
        """The MAP's address."""
        return self.option.address

    @property
    def lcoa(self) -> IPv6Address | None:
        """The LCoA of the latest BU (None before the first)."""
        return self.entry.care_of_address if self.entry.sent_at is not None else None

    def remaining(self) -> float:
        """Seconds left of the binding the MAP confirmed (0 without one)."""
        expires = self.entry.binding_expires_at
        return 0.0 if expires is None else max(expires - self.node.now, 0.0)

    # -- commands ------------------------------------------------------------------------

    def register(
        self, lcoa: IPv6Address, *, lifetime: float | None = None, max_retries: int | None = None
    ) -> None:
        """Bind the RCoA to ``lcoa`` (a refresh when it is already bound there)."""
        entry, config, now = self.entry, self.config, self.node.now
        if entry.state in (BindingState.FAILED, BindingState.DELETED):
            fresh = BindingUpdateListEntry(
                destination=entry.destination, home_address=self.rcoa, care_of_address=lcoa,
                sequence=entry.sequence, map_registration=True)  # sequence numbers carry on
            fresh.sent_at = entry.sent_at
            self.entry = entry = fresh
        if lifetime is not None:
            self._lifetime = lifetime
        refresh = entry.binding_active(now) and entry.care_of_address == lcoa
        first = entry.binding_expires_at is None or now >= entry.binding_expires_at
        entry.care_of_address = lcoa
        entry.backoff = bu_backoff(
            first, max_retries=max_retries, first_reg_timeout=config.first_registration_timeout,
            ceiling=config.max_bindack_timeout,
        ) if first else RetransmissionTimer(
            initial=config.bindack_timeout,
            ceiling=max(config.max_bindack_timeout, config.bindack_timeout),
            max_retries=max_retries,
        )
        if refresh and entry.state is BindingState.BOUND:
            entry.transition(BindingEvent.SEND_REFRESH)
        else:
            entry.transition(BindingEvent.SEND_BU)
        self._send(retransmission=False)

    def cancel(self) -> None:
        """Stop every timer (the binding is forgotten; the MAP lets it expire)."""
        for timer in (self._timer, self._lifetime_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._lifetime_timer = None

    # -- sending -------------------------------------------------------------------------

    def _send(self, *, retransmission: bool) -> None:
        node, entry = self.node, self.entry
        assert entry.backoff is not None
        key = (entry.destination, BindingUpdate.MH_TYPE)
        if not self._rate.allowed(key, node.now):
            # RFC 6275 §11.8 MAX_UPDATE_RATE: wait for the window instead of sending.
            self._arm(self._rate.next_allowed(key, node.now),
                      lambda now: self._send(retransmission=retransmission))
            return
        self._rate.record(key, node.now)
        lcoa = entry.care_of_address
        lifetime = wire_lifetime(self._lifetime)
        sequence = entry.next_sequence()
        entry.record_sent(sequence, lifetime, node.now, care_of_address=lcoa)
        timeout = entry.backoff.next_timeout()
        entry.backoff.deadline = node.now + timeout
        self._arm_call(entry.backoff.deadline, _timed_out)
        # RFC 5380 §4, §6.1: M and A set; the RCoA in the Home Address option; no ACoA.
        bu = BindingUpdate(sequence=sequence, lifetime=lifetime, ack=True,
                           map_registration=True)
        if self.credentials is not None:
            self._sent_timestamp = self.timestamps.next(node.now)
            bu = protect_mn_ha(bu, self.credentials, timestamp=self._sent_timestamp,
                               care_of_address=lcoa, home_address=self.rcoa)
        packet = IPv6Packet(src=lcoa, dst=self.map_address, payload=bu, extension_headers=(
            DestinationOptions(options=(HomeAddressOption(home_address=self.rcoa),)),))
        node.act(Transmit(packet=packet, interface=node.interface))
        node.emit("map.bu_sent", map=self.map_address, rcoa=self.rcoa, lcoa=lcoa,
                  sequence=sequence, lifetime=lifetime, retransmission=retransmission,
                  previous=self.previous, timeout=timeout)

    def _arm(self, when: float, callback: Callable[[float], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.node.schedule(max(when - self.node.now, 0.0), callback)

    def _arm_call(self, when: float, function: Callable[[LocalBinding], None]) -> None:
        """:meth:`_arm` for a module function of this binding (no bound method made for
        each armed timer: a mobile node keeps its refresh timer armed all run)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.node.schedule_call(max(when - self.node.now, 0.0), function, self)

    def _timed_out(self, now: float) -> None:
        entry = self.entry
        if entry.state not in OUTSTANDING_STATES or entry.backoff is None:
            return
        if entry.backoff.exhausted:
            entry.transition(BindingEvent.GIVE_UP)
            self.owner.binding_lost(self, "no_answer")
            return
        entry.transition(BindingEvent.RETRANSMIT)  # RFC 6275 §11.8: a new sequence number
        self._send(retransmission=True)

    def _refresh_due(self, now: float) -> None:
        entry = self.entry
        if entry.state is BindingState.BOUND and not self.previous:
            self.register(entry.care_of_address, max_retries=self.config.max_retries)

    def _lifetime_over(self, now: float) -> None:
        entry = self.entry
        if entry.binding_active(now) or entry.state in OUTSTANDING_STATES:
            return
        self.owner.binding_lost(self, "expired")

    # -- receiving (RFC 5380 §6.1; RFC 6275 §11.7.3; RFC 4285 §6) ----------------------------

    def acknowledge(self, packet: IPv6Packet, ba: BindingAcknowledgement) -> None:
        """Process a BA from the MAP (its Type 2 Routing Header already applied)."""
        entry = self.entry
        rcoa = packet.dst
        if rcoa == entry.care_of_address or (rcoa != self.rcoa and not self._assignable(rcoa)):
            # RFC 5380 §6.1: MUST silently ignore a BA without an RH2 carrying the RCoA.
            self.owner.ba_ignored(self, "no_rcoa_routing_header")
            return
        if not self._authentic(ba, rcoa):
            return
        if entry.state not in OUTSTANDING_STATES:
            self.owner.ba_ignored(self, "unexpected")
            return
        if ba.status != S.SEQUENCE_NUMBER_OUT_OF_WINDOW and ba.sequence != entry.sequence:
            self.owner.ba_ignored(self, "sequence_mismatch")
            return
        if ba.status == S.MIPV6_ID_MISMATCH:
            stamp = read_mn_ha(ba).timestamp  # RFC 4285 §6: resynchronise and resend
            if stamp is not None:
                self.timestamps.adjust(stamp, self.node.now)
            entry.transition(BindingEvent.BA_SEQUENCE_RESYNC)
            self._send(retransmission=True)
            return
        if ba.status == S.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            entry.resync_sequence(ba.sequence)  # RFC 6275 §11.7.3
            entry.transition(BindingEvent.BA_SEQUENCE_RESYNC)
            self._send(retransmission=True)
            return
        if self._timer is not None:
            self._timer.cancel()
        if self._sent_timestamp is not None:
            self.timestamps.confirm(self._sent_timestamp)
        if ba.status >= 128:
            entry.transition(BindingEvent.BA_REJECTED)
            self.owner.binding_rejected(self, ba.status)
            return
        if rcoa != self.rcoa:
            # The MAP assigned another RCoA (R flag, RFC 5380 §5; see MapClient).
            self.node.emit("map.rcoa_assigned", map=self.map_address, proposed=self.rcoa,
                           assigned=rcoa)
            self.rcoa = entry.home_address = rcoa
        refresh = entry.state is BindingState.REFRESHING
        advice = find_option(ba, BindingRefreshAdvice)
        entry.apply_ack(float(ba.lifetime), self.node.now,
                        refresh_interval=float(advice.refresh_interval) if advice else None)
        entry.transition(BindingEvent.BA_ACCEPTED)
        self.confirmed = True
        if entry.refresh_at is not None and not self.previous:
            self._arm_call(entry.refresh_at, _refresh_due)
        if entry.binding_expires_at is not None:
            if self._lifetime_timer is not None:
                self._lifetime_timer.cancel()
            self._lifetime_timer = self.node.schedule_call(
                max(entry.binding_expires_at - self.node.now, 0.0), _lifetime_over, self)
        self.owner.binding_accepted(self, refresh=refresh)

    def _assignable(self, address: IPv6Address) -> bool:
        """True if the MAP may hand the node ``address`` as its RCoA (see :meth:`owns`)."""
        return self.option.r_flag and not self.confirmed and address in map_prefix(self.option)

    def owns(self, address: IPv6Address) -> bool:
        """True for the RCoA, and while a MAP advertising the R flag has not yet answered,
        for any address of its prefix (the RCoA it assigns, RFC 5380 §5)."""
        return same_address(address, self.rcoa) or self._assignable(address)

    def _authentic(self, ba: BindingAcknowledgement, rcoa: IPv6Address) -> bool:
        """RFC 4285 §5.1.1, §6: the BA's authenticator (LCoA, RCoA) and echoed timestamp."""
        if self.credentials is None:
            return True
        protection = read_mn_ha(ba)
        if not protection.present or not verify_mn_ha(
            ba, self.credentials, care_of_address=self.entry.care_of_address, home_address=rcoa,
            encoded=self.node.received_mobility_header,
        ):
            self.node.counters["auth.map_ba_failed"] += 1
            self.owner.ba_ignored(self, "bad_authenticator")
            return False
        if ba.status != S.MIPV6_ID_MISMATCH and protection.timestamp != self._sent_timestamp:
            self.node.counters["auth.map_ba_replay"] += 1
            self.owner.ba_ignored(self, "timestamp_mismatch")
            return False
        return True


# Timer callbacks of a local binding (Entity.schedule_call with the binding as the argument):
# a timer then holds the binding itself, where a bound method would be an object of 64 bytes
# per armed timer, and a city holds two such timers per mobile node all run. The node's clock
# is the timer's time when they run (Entity.handle_timer sets it).


def _timed_out(binding: LocalBinding) -> None:
    binding._timed_out(binding.node.now)


def _refresh_due(binding: LocalBinding) -> None:
    binding._refresh_due(binding.node.now)


def _lifetime_over(binding: LocalBinding) -> None:
    binding._lifetime_over(binding.node.now)
