"""Movement detection beyond link-layer triggers (RFC 6275 §11.5.1, RFC 4861 §6.3.7, §7.3).

A :class:`MovementDetector` belongs to a :class:`~.mobile_node.MobileNode` and watches its
default router, so that a node learns of an L3 handover that no link-layer trigger announced:

* **Router lifetime** (RFC 4861 §6.3.4-5): each Router Advertisement from the default router
  restarts a timer of its Router Lifetime; when it runs out the router is gone.
* **Missed advertisements** (§11.5.1): an RA carrying the Advertisement Interval option
  (RFC 6275 §7.3) promises the next within that interval; after ``lost_advertisements``
  intervals without one, the node checks the router with Neighbor Unreachability Detection.
* **Neighbor Unreachability Detection** (§11.5.1, RFC 4861 §7.3): a unicast Neighbor
  Solicitation to the default router, repeated every RETRANS_TIMER up to MAX_UNICAST_SOLICIT
  times; a solicited Neighbor Advertisement from it means the router is still reachable,
  silence means it is not.
* **A new router** (§11.5.1: "if the mobile node detects that the currently selected default
  router on the old link is still bidirectionally reachable, it should generally continue to
  use the old router"): without a fresh link-layer attachment, a Router Advertisement from
  another router whose prefixes do not hold the care-of address is held back while the
  current default router is probed; it is processed only if that router turns out to be
  unreachable.

When the router is lost (its lifetime ran out, or NUD failed) the node forgets it and runs
Router Discovery (RFC 4861 §6.3.7: up to MAX_RTR_SOLICITATIONS Router Solicitations,
RTR_SOLICITATION_INTERVAL apart, until an RA arrives); a held-back RA is processed at once.
The RA that follows is handled as usual: a new prefix is movement (§11.5.3), the same one is
not ([choice] docs/decisions.md D19). A link-layer attachment (``LinkUp``) is trusted as
movement information (§11.5.1: the
node "should supplement this method with [lower-layer] information"): the first RA after it
is processed at once, and a detach stops every probe.

Events (from the mobile node): ``movement.probe`` (``router``, ``reason``: ``missed_advertisements``
or ``new_router``, ``attempt``), ``movement.router_reachable`` (``router``),
``movement.router_lost`` (``router``, ``reason``: ``router_lifetime`` or ``unreachable``),
``movement.ra_deferred`` (``router``, ``current``), ``movement.router_solicitation``
(``attempt``).
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from ...wire.icmpv6 import (
    NeighborAdvertisement,
    NeighborSolicitation,
    RouterAdvertisement,
    RouterSolicitation,
)
from ...wire.ipv6 import IPv6Packet
from ...wire.nd_options import (
    AdvertisementInterval,
    PrefixInformation,
    SourceLinkLayerAddress,
)
from ..base.actions import Transmit
from ..base.addressing import ALL_ROUTERS, ND_HOP_LIMIT
from ..base.constants import (
    MAX_RTR_SOLICITATIONS,
    MAX_UNICAST_SOLICIT,
    ND_RETRANS_TIMER,
    RTR_SOLICITATION_INTERVAL,
)
from ..base.entity import Timer

if TYPE_CHECKING:
    from .mobile_node import MobileNode


class MovementDetector:
    """The default router's reachability, seen from one mobile node (module docstring)."""

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_lifetime_timer", "_missed_timer", "_probe_timer", "_probes", "_solicit_timer", "fresh",
        "node", "pending", "probing", "router_mac")

    def __init__(self, node: MobileNode) -> None:
        self.node = node
        #: True between a link-layer attachment and the first RA it brings.
        self.fresh = False
        #: The default router's link-layer address (from its RAs), if it sent one.
        self.router_mac: bytes | None = None
        #: The router being probed, and the reason.
        self.probing: tuple[IPv6Address, str] | None = None
        #: A Router Advertisement from another router, held back while the current default
        #: router is probed.
        self.pending: IPv6Packet | None = None
        self._probe_timer: Timer | None = None
        self._probes = 0
        self._lifetime_timer: Timer | None = None
        self._missed_timer: Timer | None = None
        self._solicit_timer: Timer | None = None

    # -- link-layer triggers -----------------------------------------------------------------

    def attached(self) -> None:
        """A link-layer attachment: trust the next RA, solicit one (RFC 4861 §6.3.7)."""
        self._stop_all()
        self.fresh = True
        self.solicit()

    def detached(self) -> None:
        """The link is down: nothing can be probed or solicited until it is back."""
        self._stop_all()
        self.fresh = False

    # -- Router Discovery (RFC 4861 §6.3.7) --------------------------------------------------

    def solicit(self) -> None:
        """Send Router Solicitations until an RA arrives (at most MAX_RTR_SOLICITATIONS)."""
        self._cancel("_solicit_timer")
        self._send_rs(1)

    def _send_rs(self, attempt: int) -> None:
        node = self.node
        if not node.attached:
            return
        node.act(Transmit(packet=IPv6Packet(
            src=node.link_local, dst=ALL_ROUTERS, hop_limit=ND_HOP_LIMIT,
            payload=RouterSolicitation(options=(
                SourceLinkLayerAddress(address=node.config.link_layer_address),)),
        ), interface=node.interface))
        if attempt > 1:
            node.emit("movement.router_solicitation", attempt=attempt)
        if attempt < MAX_RTR_SOLICITATIONS:
            self._solicit_timer = node.schedule(RTR_SOLICITATION_INTERVAL,
                                                lambda now: self._send_rs(attempt + 1))
        else:
            self._solicit_timer = None

    # -- Router Advertisements ---------------------------------------------------------------

    def router_advertisement(self, packet: IPv6Packet, ra: RouterAdvertisement) -> bool:
        """A valid RA arrived: True to process it now, False if it is held back (§11.5.1).

        The default router is known by its link-local address and its link-layer address
        (the RA's Source Link-Layer Address option): routers of different links may share a
        link-local address (§11.5.1), not an interface.
        """
        node = self.node
        router, current = packet.src, node.default_router
        mac = _source_mac(ra)
        same_router = router == current and (
            mac is None or self.router_mac is None or mac == self.router_mac)
        if not (self.fresh or current is None or same_router
                or self._same_link(ra) or not node.config.confirm_router_change):
            # Another router with other prefixes, and no link-layer hint: is ours still there?
            self.pending = packet
            node.emit("movement.ra_deferred", router=router, current=current)
            self._probe(current, "new_router")
            return False
        self.fresh = False
        self._cancel("_solicit_timer")
        if not same_router and self.probing is not None:
            self._stop_probe()  # a new default router: the old one no longer matters
            self.pending = None
        self.router_mac = mac
        self._arm(ra)
        return True

    def _same_link(self, ra: RouterAdvertisement) -> bool:
        """True when an RA's prefixes hold the care-of address (or, at home, the home address):
        another router of the same link (§11.5.1: hearing a new router is not movement)."""
        node = self.node
        address = node.home_address if node.at_home else node.care_of_address
        prefixes = [IPv6Network((o.prefix, o.prefix_length), strict=False)
                    for o in ra.options if isinstance(o, PrefixInformation)]
        return address is not None and any(address in p for p in prefixes)

    def _arm(self, ra: RouterAdvertisement) -> None:
        """Restart the router-lifetime and missed-advertisement timers of the default router."""
        node = self.node
        self._cancel("_lifetime_timer")
        self._cancel("_missed_timer")
        if ra.router_lifetime > 0:
            # RFC 4861 §6.3.4: the Router Lifetime restarts with every RA; at 0 the router
            # leaves the Default Router List (§6.3.5).
            # Module functions of the detector, not closures or bound methods: these two
            # timers are re-armed by every RA of every node and held all run (a bound method
            # is 64 bytes, a closure with its cells twice that, thousands of nodes).
            self._lifetime_timer = node.schedule_call(
                float(ra.router_lifetime), _router_lifetime_over, self)
        interval = next((o.interval for o in ra.options
                         if isinstance(o, AdvertisementInterval)), None)
        lost = node.config.lost_advertisements
        if interval and lost:
            self._missed_timer = node.schedule_call(
                interval * lost, _advertisements_missed, self)

    def _missed(self, reason: str) -> None:
        """RFC 6275 §11.5.1: advertisements stopped coming; probe the router we have now."""
        self._probe(self.node.default_router, reason)

    # -- Neighbor Unreachability Detection (RFC 4861 §7.3) -----------------------------------

    def _probe(self, router: IPv6Address | None, reason: str) -> None:
        if router is None or self.probing is not None or not self.node.attached:
            return
        self.probing = (router, reason)
        self._probes = 0
        self._send_ns()

    def _send_ns(self) -> None:
        node = self.node
        assert self.probing is not None
        router, reason = self.probing
        if self._probes >= MAX_UNICAST_SOLICIT:
            self._lost("unreachable")
            return
        self._probes += 1
        node.act(Transmit(packet=IPv6Packet(
            src=node.link_local, dst=router, hop_limit=ND_HOP_LIMIT,
            payload=NeighborSolicitation(target=router, options=(
                SourceLinkLayerAddress(address=node.config.link_layer_address),)),
        ), interface=node.interface))
        node.emit("movement.probe", router=router, reason=reason, attempt=self._probes)
        self._probe_timer = node.schedule(ND_RETRANS_TIMER, lambda now: self._send_ns())

    def neighbor_advertisement(self, packet: IPv6Packet, na: NeighborAdvertisement) -> bool:
        """A solicited NA for the probed router confirms it is reachable; True if consumed."""
        if self.probing is None or not na.solicited or na.target != self.probing[0]:
            return False
        mac = na.target_link_layer_address
        if self.router_mac is not None and mac not in (None, self.router_mac):
            # Another interface answering for the same link-local address: a router of the
            # link the node moved to, not the default router (§11.5.1).
            self.node.counters["movement.probe_other_router"] += 1
            return True
        router = self.probing[0]
        self._stop_probe()
        self.pending = None  # §11.5.1: keep the old router while it is reachable
        self.node.emit("movement.router_reachable", router=router)
        return True

    def _lost(self, reason: str) -> None:
        """The default router is gone: forget it, then process the held-back RA or solicit."""
        node = self.node
        router = node.default_router
        self._stop_probe()
        self._cancel("_lifetime_timer")
        self._cancel("_missed_timer")
        if router is None:
            return
        node.default_router = None
        self.router_mac = None
        node.emit("movement.router_lost", router=router, reason=reason)
        pending, self.pending = self.pending, None
        if pending is not None:
            node.receive(pending, node.interface, node.now)
        else:
            self.solicit()

    # -- timers ---------------------------------------------------------------------------

    def _stop_probe(self) -> None:
        self._cancel("_probe_timer")
        self.probing = None

    def _stop_all(self) -> None:
        for name in ("_probe_timer", "_lifetime_timer", "_missed_timer", "_solicit_timer"):
            self._cancel(name)
        self.probing = None
        self.pending = None

    def _cancel(self, name: str) -> None:
        timer: Timer | None = getattr(self, name)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)


def _source_mac(ra: RouterAdvertisement) -> bytes | None:
    """The link-layer address in an RA's Source Link-Layer Address option, if any."""
    return next((o.address for o in ra.options if isinstance(o, SourceLinkLayerAddress)), None)


def _router_lifetime_over(detector: MovementDetector) -> None:
    """The default router's lifetime ran out (a timer's callback, :meth:`MovementDetector.
    router_advertisement`)."""
    detector._lost("router_lifetime")


def _advertisements_missed(detector: MovementDetector) -> None:
    """Advertisements stopped coming (a timer's callback, :meth:`MovementDetector.
    router_advertisement`)."""
    detector._missed("missed_advertisements")
