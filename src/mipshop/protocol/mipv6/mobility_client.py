"""The hooks a mobile node offers the protocol clients it composes (docs/architecture.md).

Route optimization (RFC 6275 §11.6), and later the HMIPv6 MAP client (RFC 5380) and the
FMIPv6 client (RFC 5568), are :class:`MobilityClient` objects in ``MobileNode.clients`` rather
than role flags on one class.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.ipv6 import IPv6Packet

if TYPE_CHECKING:
    from ..base.link_events import LinkEvent


class MobilityClient:
    """A protocol client a :class:`MobileNode` composes (route optimization, MAP, FMIPv6).

    Every hook is a no-op here; a client overrides those it needs. :meth:`handle` returns True
    when it consumed the packet. :meth:`route` may return the packet to transmit instead of
    the default path (reverse tunnel), e.g. route-optimised.
    """

    def handle(self, packet: IPv6Packet) -> bool:
        """Offer a received (decapsulated, RH2-processed) packet; True if consumed."""
        return False

    def received(self, packet: IPv6Packet) -> None:
        """A packet arrived for the node: the outer packet as received, then each packet
        found inside it (tunnels), before any processing. Observes only."""

    def link_up(self) -> None:
        """Link-layer trigger: the interface is attached to a link (maybe a new one)."""

    def link_down(self) -> None:
        """Link-layer trigger: the interface lost its link."""

    def care_of_address_changed(self, care_of_address: IPv6Address) -> None:
        """A new care-of address is usable."""

    def duplicate_address_detection_completed(self, address: IPv6Address) -> None:
        """DAD for ``address``, used optimistically meanwhile (RFC 4429), found no other user:
        it is preferred now."""

    def home_registered(self) -> None:
        """The home agent accepted a registration of the current care-of address."""

    def care_of_address_registered(self, care_of_address: IPv6Address) -> None:
        """A MAP accepted ``care_of_address`` as the node's LCoA (RFC 5380 §6.1).

        Under HMIPv6 a move inside the domain ends with this, not with a home registration.
        """

    def returned_home(self) -> None:
        """The mobile node is on its home link again."""

    def correspondent_care_of_address(self, correspondent: IPv6Address) -> IPv6Address | None:
        """The care-of address to register with ``correspondent`` (RFC 5380 §7.1: another
        MAP's RCoA, or the LCoA, for some correspondents), or None: no opinion."""
        return None

    def correspondent_lifetime_limit(self, correspondent: IPv6Address) -> float | None:
        """Longest lifetime a BU to ``correspondent`` may ask, or None."""
        return None

    def correspondent_address_changed(self) -> None:
        """The care-of address some correspondent gets may have changed."""

    def holds_care_of_address(self) -> bool:
        """True while a Router Advertisement with a new prefix must not replace the care-of
        address (an FMIPv6 NAR serving the PCoA, RFC 5568 §6.4.6)."""
        return False

    def home_address_changed(self, previous: IPv6Address) -> None:
        """The home address was renumbered (RFC 6275 §11.4.3); ``previous`` is the old one."""

    def route(self, packet: IPv6Packet) -> IPv6Packet | None:
        """The packet to send for an upper-layer ``packet`` (None: not this client's)."""
        return None

    def l2_event(self, event: LinkEvent) -> None:
        """A link-layer trigger other than link up/down (RFC 4260: scan result, going down)."""

    def router_advertisement(self, packet: IPv6Packet) -> None:
        """A valid Router Advertisement arrived (before the node's own processing of it)."""

    def decapsulate(self, packet: IPv6Packet) -> IPv6Packet | None:
        """Unwrap a tunnel this client terminates (e.g. the FMIPv6 PAR tunnel, RFC 5568 §4).

        Return the packet to process instead of ``packet`` (as if it had just arrived), or
        None when ``packet`` is not this client's.
        """
        return None

    # -- the care-of address registered beyond the local link (RFC 5380 §6.1) ----------------

    def registration_care_of_address(self) -> IPv6Address | None:
        """The care-of address to register with the home agent and correspondents.

        None: no opinion (the node registers its on-link care-of address). The HMIPv6 MAP
        client answers with the RCoA while the node uses a MAP.
        """
        return None

    def registration_ready(self) -> bool:
        """False while this client holds the home and correspondent registrations back.

        RFC 5380 §6.1: the node SHOULD wait for the MAP's acknowledgement before registering
        the RCoA with its home agent and correspondents.
        """
        return True

    def registration_lifetime_limit(self) -> float | None:
        """Longest lifetime (seconds) the home and correspondent BUs may ask, or None.

        RFC 5380 §6.1: a binding to the RCoA MUST NOT outlive the MAP binding.
        """
        return None

    def owns_address(self, address: IPv6Address) -> bool:
        """True if ``address`` is an address of the node this client manages (an RCoA).

        Such an address is accepted like the care-of address: as the destination of the home
        agent's tunnel and of packets with a Type 2 Routing Header, and (RFC 5380 §6.2: a
        MAP's BA carries the RCoA) in a Type 2 Routing Header.
        """
        return False

    def outbound(self, packet: IPv6Packet) -> IPv6Packet:
        """Rewrite a packet about to leave the interface (the MAP reverse tunnel, RFC 5380).

        Every packet the node transmits passes through each client's hook in turn; return
        ``packet`` itself to leave it alone.
        """
        return packet
