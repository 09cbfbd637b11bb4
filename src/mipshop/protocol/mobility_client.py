"""The hooks a mobile node offers the protocol clients it composes (design.md: composition).

Route optimization (RFC 6275 §11.6), and later the HMIPv6 MAP client (RFC 5380) and the
FMIPv6 client (RFC 5568), are :class:`MobilityClient` objects in ``MobileNode.clients`` rather
than role flags on one class.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from ..wire.ipv6 import IPv6Packet


class MobilityClient:
    """A protocol client a :class:`MobileNode` composes (route optimization, MAP, FMIPv6).

    Every hook is a no-op here; a client overrides those it needs. :meth:`handle` returns True
    when it consumed the packet. :meth:`route` may return the packet to transmit instead of
    the default path (reverse tunnel), e.g. route-optimised.
    """

    def handle(self, packet: IPv6Packet) -> bool:
        """Offer a received (decapsulated, RH2-processed) packet; True if consumed."""
        return False

    def link_up(self) -> None:
        """Link-layer trigger: the interface is attached to a link (maybe a new one)."""

    def link_down(self) -> None:
        """Link-layer trigger: the interface lost its link."""

    def care_of_address_changed(self, care_of_address: IPv6Address) -> None:
        """A new care-of address is usable."""

    def home_registered(self) -> None:
        """The home agent accepted a registration of the current care-of address."""

    def returned_home(self) -> None:
        """The mobile node is on its home link again."""

    def route(self, packet: IPv6Packet) -> IPv6Packet | None:
        """The packet to send for an upper-layer ``packet`` (None: not this client's)."""
        return None
