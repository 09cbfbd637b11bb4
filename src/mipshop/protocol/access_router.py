"""The access router: where the three RFCs meet on a visited link.

An :class:`AccessRouter` advertises its prefix (RFC 4861 §6.2, through
:class:`~.base.router_advertiser.RouterAdvertiser`), carries the HMIPv6 MAP options it is
configured with (RFC 5380 §7), and, when configured, composes the FMIPv6 PAR/NAR function
(:class:`~.fmipv6.router.FastHandoverRouter`, RFC 5568). It lives at the top of
``mipshop.protocol`` because it is a composition of the subpackages, not part of any one RFC.
Forwarding itself is the runtime's job (the simulator's router, the kernel), not this entity's.

Events: ``router.advertisement`` (``solicited``: bool), and the ``fmip.*`` events of
:mod:`.fmipv6`.
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from ..wire.icmpv6 import RouterSolicitation
from ..wire.ipv6 import IPv6Packet
from ..wire.nd_options import MAPOption
from .base.actions import ConfigureAddress
from .base.config import RouterConfig
from .base.dhcpv6 import Dhcpv6Server, Dhcpv6ServerConfig
from .base.entity import Entity
from .base.router_advertiser import RouterAdvertiser
from .fmipv6.router import FastHandoverRouter

if TYPE_CHECKING:
    from .fmipv6.config import FastHandoverRouterConfig


class AccessRouter(Entity):
    """A router on a visited link that only advertises its prefix (RFC 4861 §6.2).

    Commands: :meth:`start`, :meth:`set_map_options`, :meth:`trigger_handover`. It answers Router
    Solicitations and Neighbor Solicitations for its own addresses; everything else is
    dropped. Its RAs carry the configured HMIPv6 MAP options (RFC
    5380 §7). With ``fast_handover`` it composes a :class:`~.fmipv6.router.FastHandoverRouter` (RFC
    5568 PAR and NAR; FMIPv6 packets and the packets it tunnels or buffers go there); with
    ``dhcp`` a DHCPv6 server (RFC 8415, :mod:`.base.dhcpv6`) assigns the link's addresses.
    """

    def __init__(self, name: str, rng: random.Random, config: RouterConfig, *,
                 fast_handover: FastHandoverRouterConfig | None = None,
                 dhcp: Dhcpv6ServerConfig | None = None) -> None:
        super().__init__(name, rng)
        self.config = config
        self.advertiser = RouterAdvertiser(self, config)
        #: The link's DHCPv6 server (RFC 8415), when addresses here are assigned statefully.
        self.dhcp: Dhcpv6Server | None = None
        if dhcp is not None:
            self.dhcp = Dhcpv6Server(self, dhcp, interface=config.interface,
                                     source=config.link_local, mac=config.link_layer_address,
                                     on_lease=self._leased)
        #: The FMIPv6 PAR/NAR function (RFC 5568), composed in when configured.
        self.fast_handover: FastHandoverRouter | None = None
        if fast_handover is not None:
            self.fast_handover = FastHandoverRouter(self, fast_handover)
            self.advertiser.advertise_router_address = True

    def _leased(self, address: IPv6Address) -> None:
        """DHCPv6 gave ``address`` to a node on this link: it is here, so this router no longer
        forwards that address away as a PAR, nor serves it as another router's PCoA (RFC 5568
        §5.6: the node came back; its address may be a PCoA it left with)."""
        if self.fast_handover is not None:
            self.fast_handover.par.returning(address)
            self.fast_handover.nar.end_service(address)

    def start(self, now: float) -> None:
        """Configure the router's addresses and start advertising."""
        self.now = now
        for address in (self.config.link_local, self.config.address):
            self.act(ConfigureAddress(interface=self.config.interface, address=address))
        self.advertiser.start()

    def set_map_options(self, options: tuple[MAPOption, ...], now: float) -> None:
        """Command: advertise other HMIPv6 MAP options from ``now`` (RFC 5380 §7, §10).

        E.g. the same option with Valid Lifetime 0 when the MAP has failed.
        """
        self.now = now
        self.advertiser.set_map_options(options)

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        """Answer Router and Neighbor Solicitations; FMIPv6 gets the rest; count what is left
        as unhandled."""
        if isinstance(packet.payload, RouterSolicitation):
            self.advertiser.handle_solicitation(packet)
            return
        if self.advertiser.answer_neighbor_solicitation(packet):
            return
        if self.dhcp is not None and self.dhcp.handle(packet):
            return
        fast = self.fast_handover
        if fast is None or not fast.handle(packet, interface):
            self.counters["drop.unhandled"] += 1

    def table_sizes(self) -> dict[str, int]:
        """The timers, the DHCPv6 server's leases and expiry heap, and the FMIPv6 function's
        tables, when configured."""
        sizes = super().table_sizes()
        if self.dhcp is not None:
            sizes["dhcp.leases"] = len(self.dhcp.by_address)
            sizes["dhcp.expiries"] = self.dhcp.pending_expiries
        if self.fast_handover is not None:
            sizes.update(self.fast_handover.table_sizes())
        return sizes

    def trigger_handover(self, mobile: IPv6Address, target_ap: bytes, now: float, **kwargs: Any
                         ) -> bool:
        """Command: network-initiated handover of ``mobile`` to ``target_ap`` (RFC 5568 §3.3).

        Sends an unsolicited PrRtAdv Code 1 (see
        :meth:`~.fmipv6.router.FastHandoverRouter.trigger_handover`); False without FMIPv6 or when
        the AP is not a fast-handover neighbour.
        """
        self.now = now
        if self.fast_handover is None:
            return False
        return self.fast_handover.trigger_handover(mobile, target_ap, now, **kwargs)
