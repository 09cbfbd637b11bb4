"""Fast handovers anchored at the MAP (F-HMIPv6, RFC 4140 Appendix A, Figure A.2).

RFC 4140 Appendix A describes two ways to combine FMIPv6 with HMIPv6. In the first the access
routers anchor the fast handover (RFC 5568 unchanged, the MAP hears only the local BU that
follows). In the second "the MAP [is placed] in an aggregation router above the ARs": the FBU
and FBack run between the mobile node and the MAP, HI and HAck between the MAP and the NAR,
"the same functionality of the Fast Handover procedure is kept, but the anchor point is moved
from the PAR to the MAP", which "avoids sending traffic over the MAP-PAR link twice".

:class:`FastHandoverMap` is a MAP in that second placement: a
:class:`~mipshop.protocol.hmipv6.map.MobilityAnchorPoint` composing :class:`MapFastHandover`, the
MAP's :class:`~.par.AnchorHost` running the unchanged PAR role (:class:`~.par.PreviousRouterRole`).
This module and :mod:`.placement` are the two places where FMIPv6 builds on HMIPv6; HMIPv6 never
imports FMIPv6. What the MAP makes of it (resolved ambiguities, [choice]; RFC 4140 gives no message
details):

* **The FBU's Home Address is the RCoA** whose binding the MAP moves. RFC 5568 §6.2.2 puts in
  the Home Address option the address whose traffic the anchor redirects (the PCoA at a PAR);
  at a MAP that address is the RCoA, which is also what the local BU carries there (RFC 5380
  §6.1), so the FBU looks like a local BU: source the LCoA (PCoA) in predictive mode, or the
  NCoA in reactive mode, destination the MAP, Home Address option the RCoA, Alternate CoA the
  NCoA. An FBU for an address with no local binding at this MAP is refused ("no_binding").
* **The PCoA is the registered LCoA**: the HI's PCoA option carries the LCoA the RCoA is
  bound to (omitted when that already is the NCoA: a local BU overtook a reactive FBU), and
  an FBU from that LCoA is predictive (HI Code 0, S/U flags), any other reactive (Code 1).
* **The redirection**: after an accepting HAck, packets for the RCoA are tunnelled MAP ->
  NCoA instead of MAP -> LCoA (the NAR proxies and buffers them until the UNA), and
  reverse-tunnelled packets from the NCoA are accepted. No address is claimed: the MAP already
  intercepts the RCoA (RFC 5380 §6.2). Packets sent to the PCoA itself do not pass the MAP
  and are not forwarded (under HMIPv6 correspondents use the RCoA).
* **The end**: the local BU the node sends from the new link (RCoA -> NCoA) supersedes the
  fast binding (state ``FORWARDING`` -> ``NONE``, ``fmip.tunnel_down`` reason
  ``superseded``); otherwise it ends with the FBU lifetime, or a lifetime-0 FBU (§5.6).
* The FBack to the PCoA is routed to the old link (the MAP is not on it).
* HAck Code 3 ("use PCoA"): the NAR will serve the node's old LCoA on its link (a host route,
  NAACK status 4). The MAP keeps its RCoA -> old LCoA tunnel and wraps each tunnelled packet
  once more to the NAR, which delivers the inner one on its link; its own packets to that LCoA
  (a BA) go the same way. The FBack has status 1 with the old LCoA as Alternate CoA: the node
  keeps its LCoA on the new link and sends no local BU for the NCoA [choice] (docs/decisions.md
  D16).

The BADF is keyed with an MN-MAP handover key (``FastHandoverAnchorConfig.handover_keys``)
with the MAP's address as the "PAR address" (RFC 5568 §6.4.5). Events are the PAR role's,
emitted by the MAP.
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address

from ...wire.ipv6 import IPv6Packet, encapsulate
from ...wire.mh import FastBindingUpdate, HandoverAcknowledge
from ..base.actions import Action, Transmit
from ..hmipv6.config import MapConfig
from ..hmipv6.map import MobilityAnchorPoint
from ..mipv6.binding_agent import Registration
from ..mipv6.binding_cache import BindingCacheEntry
from .config import FastHandoverAnchorConfig
from .par import PreviousRouterRole
from .security import RouterAuthenticator


class MapFastHandover:
    """The fast-handover anchor function of a MAP (module docstring); an AnchorHost."""

    def __init__(self, anchor: MobilityAnchorPoint, config: FastHandoverAnchorConfig) -> None:
        self.router = anchor
        self.anchor = anchor
        self._config = config
        #: The MAP hears no RtSolPr: link-layer addresses come from the FBU's MH-LLA option.
        self.link_layer_addresses: dict[IPv6Address, bytes] = {}
        self.tunnels_to_nar = False
        #: HI/HAck authentication with the NARs (RFC 5568 §10).
        self.router_auth = RouterAuthenticator(config.router_keys,
                                               wall_clock_offset=config.wall_clock_offset)
        self.role = PreviousRouterRole(self)

    @property
    def config(self) -> FastHandoverAnchorConfig:
        """The MAP's fast-handover configuration (NARs, MN-MAP handover keys)."""
        return self._config

    @property
    def address(self) -> IPv6Address:
        """The MAP's address: FBU destination, HI/FBack source, tunnel source."""
        return self.anchor.address

    # -- AnchorHost ------------------------------------------------------------------------

    def refuse_home_address(self, address: IPv6Address) -> str | None:
        """Only an RCoA with a local binding here may be fast-bound."""
        entry = self.anchor.cache.lookup(address, self.anchor.now)
        return None if entry is not None and entry.map_registration else "no_binding"

    def previous_care_of_address(self, address: IPv6Address, ncoa: IPv6Address
                                 ) -> IPv6Address | None:
        """The LCoA the RCoA is registered with, unless that is already the NCoA."""
        entry = self.anchor.cache.lookup(address, self.anchor.now)
        if entry is None or entry.care_of_address == ncoa:
            return None
        return entry.care_of_address

    def deliver_on_old_link(self, packet: IPv6Packet, link_layer_address: bytes | None) -> None:
        """Routed to the PCoA: the MAP is not on the old link."""
        self.anchor.act(Transmit(packet=packet, interface=self.anchor.interface))

    def deliver_previous(self, packet: IPv6Packet, previous: IPv6Address,
                         link_layer_address: bytes | None) -> None:
        """A copy through the MAP's tunnel to the old LCoA (simultaneous bindings)."""
        self.anchor.act(Transmit(packet=encapsulate(packet, src=self.anchor.address,
                                                    dst=previous),
                                 interface=self.anchor.interface))

    def intercept(self, address: IPv6Address, active: bool) -> None:
        """Nothing to do: the MAP intercepts the RCoA already (RFC 5380 §6.2)."""

    # -- hooks of the MAP ------------------------------------------------------------------

    def handle(self, packet: IPv6Packet) -> bool:
        """FBU and HAck addressed to the MAP; True if consumed."""
        payload = packet.payload
        if isinstance(payload, FastBindingUpdate):
            self.role.fast_binding_update(packet, payload)
            return True
        if isinstance(payload, HandoverAcknowledge):
            self.role.handover_acknowledge(packet, payload)
            return True
        return False

    def forward(self, packet: IPv6Packet) -> bool:
        """Tunnel a packet for a fast-bound RCoA to the NCoA; True if it was one."""
        return self.role.forward(packet)

    def reverse_source(self, rcoa: IPv6Address) -> IPv6Address | None:
        """The NCoA that may reverse-tunnel for ``rcoa`` before its local BU, or None."""
        return self.role.bound_care_of_address(rcoa)

    def registered(self, rcoa: IPv6Address, lcoa: IPv6Address) -> None:
        """A local BU bound ``rcoa`` to ``lcoa``: it supersedes a fast binding elsewhere."""
        self.role.superseded(rcoa, lcoa)


class FastHandoverMap(MobilityAnchorPoint):
    """A MAP that anchors fast handovers below it (RFC 4140 Appendix A; module docstring).

    ``fast_handover`` names the NARs, the MN-MAP handover keys and the HI parameters. Events:
    the MAP's, and the ``fmip.*`` events of the PAR role (:mod:`.par`).
    """

    def __init__(self, name: str, rng: random.Random, config: MapConfig, *,
                 fast_handover: FastHandoverAnchorConfig) -> None:
        super().__init__(name, rng, config)
        #: The fast-handover anchor function (RFC 4140 Appendix A).
        self.fast_handover = MapFastHandover(self, fast_handover)

    def table_sizes(self) -> dict[str, int]:
        """The MAP's tables and the fast-handover anchor's."""
        return {**super().table_sizes(), **self.fast_handover.role.table_sizes()}

    def _accept(self, reg: Registration, existing: BindingCacheEntry | None) -> None:
        super()._accept(reg, existing)
        self.fast_handover.registered(reg.home_address, reg.care_of_address)

    def _local_other(self, packet: IPv6Packet) -> None:
        if not self.fast_handover.handle(packet):
            super()._local_other(packet)

    def _tunnel_to_mobile(self, packet: IPv6Packet) -> None:
        # A fast binding redirects the RCoA to the NCoA until the local BU supersedes it.
        if not self.fast_handover.forward(packet):
            super()._tunnel_to_mobile(packet)

    def act(self, action: Action) -> None:
        """Queue an action; a packet of this MAP for an old LCoA a NAR serves (HAck Code 3)
        goes to that NAR in a tunnel, as the tunnelled traffic does."""
        if isinstance(action, Transmit):
            via = self.fast_handover.role.via(action.packet.dst)
            if via is not None:
                action = replace(action, packet=encapsulate(action.packet, src=self.address,
                                                            dst=via))
        super().act(action)

    def _reverse_tunnel_source(self, entry: BindingCacheEntry, source: IPv6Address) -> bool:
        # RFC 5568 §4 at the anchor: the NCoA of a secure fast binding may reverse-tunnel.
        return super()._reverse_tunnel_source(entry, source) or (
            self.fast_handover.reverse_source(entry.home_address) == source)
