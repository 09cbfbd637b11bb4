"""The FMIPv6 function of an access router (RFC 5568), composed into :class:`AccessRouter`.

One :class:`FastHandoverRouter` per access router plays both roles, because every access router
is a PAR for the mobile nodes leaving it and a NAR for those arriving:

* neighbourhood discovery, here: RtSolPr -> PrRtAdv (§6.1.1, §6.1.2, §4 cases 1-4), the
  network-initiated trigger (PrRtAdv Code 1, §3.3, :meth:`FastHandoverRouter.trigger_handover`) and
  unsolicited neighbourhood information (Code 4,
  :meth:`FastHandoverRouter.advertise_neighbourhood`);
* the PAR role (:mod:`.par`): FBU, HI/HAck as initiator, FBack, forwarding tunnel; this
  class is its :class:`~.par.AnchorHost` (the FBU's Home Address must be on this link,
  the PCoA is claimed with proxy ND, the FBack reaches the old link at the MN's LLA);
* the NAR role (:mod:`.nar`): HI/HAck as responder, proxying, buffering, UNA, NAACK.

PrRtAdv Codes (§6.1.2), decided per RtSolPr from the outcome for each requested AP:
every AP resolved (option-code 1) -> Code 0 (Code 5 when a resolved neighbour uses DHCP; a
wildcard gets Code 5 when every neighbour listed does);
none resolved -> Code 2; some -> Code 3. Unresolved APs are echoed with option-code 5 (on
this router's own interface), 6 (unknown: "no prefix information") or 7 (neighbour without
FMIPv6). A wildcard gets every tuple of the neighbourhood (§4 case 4), or Code 2 with
option-code 6 when there is none. [choice] The New Router Prefix option is always included,
even when it could be deduced from the NAR's address.

MAP-anchored placement (RFC 4140 Appendix A): with ``config.map_anchor`` every PrRtAdv, the
network-initiated one included ("the layer-2 triggers at the PAR will cause the PAR to send
a Proxy Router Advertisement to the mobile node with the MAP option"), carries that MAP
option, [choice] after the AR-Info tuples; mobile nodes then send their FBU to the MAP.
This router still answers RtSolPrs with the AR-Info and serves as NAR for HIs from the MAP.

Events: ``fmip.prrtadv_sent`` (``code``, ``destination``, ``solicited``, ``access_points``).
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.icmpv6 import (
    NeighborAdvertisement,
    ProxyRouterAdvertisement,
    PrRtAdvCode,
    RouterSolicitationForProxy,
)
from ...wire.ipv6 import IPv6Packet
from ...wire.mh import FastBindingUpdate, HandoverAcknowledge, HandoverInitiate
from ...wire.nd_options import IPAddressOptionCode, IPAddressPrefix, LinkLayerAddress, NDOption
from ...wire.nd_options import LLAOptionCode as L
from ..base.actions import Claim, Transmit
from ..base.addressing import ND_HOP_LIMIT, address_from_prefix, interface_identifier_from_mac
from ..base.tables import BoundedTable
from .config import FastHandoverRouterConfig, NeighborRouter
from .nar import NewRouterRole
from .par import PreviousRouterRole
from .security import RouterAuthenticator

if TYPE_CHECKING:
    from ..access_router import AccessRouter


class FastHandoverRouter:
    """The FMIPv6 component of one access router (PAR and NAR roles, module docstring).

    The router offers it every packet through :meth:`handle`; commands are
    :meth:`trigger_handover` and :meth:`advertise_neighbourhood`.
    """

    def __init__(self, router: AccessRouter, config: FastHandoverRouterConfig) -> None:
        self.router = router
        self.config = config
        #: Link-layer addresses learnt from RtSolPr source LLA options (RFC 5568 §6.1.1); any
        #: host on the link can send RtSolPrs, so the table is bounded (oldest forgotten).
        self.link_layer_addresses: BoundedTable[IPv6Address, bytes] = BoundedTable(
            config.rtsolpr_entries, clock=lambda: router.now)
        #: An access router tunnels to the NAR for HAck Code 3 (RFC 5568 §6.2.1.2).
        self.tunnels_to_nar = True
        #: HI/HAck authentication with the peer routers (RFC 5568 §10), both roles.
        self.router_auth = RouterAuthenticator(config.router_keys,
                                               wall_clock_offset=config.wall_clock_offset)
        self.par = PreviousRouterRole(self)
        self.nar = NewRouterRole(self)

    @property
    def address(self) -> IPv6Address:
        """The router's global address on the MN's link (FBU destination, tunnel end, §4)."""
        return self.router.config.address

    @property
    def stateful(self) -> bool:
        """True when this router's link assigns addresses with DHCPv6 (RFC 5568 §5.2: as NAR
        it then forwards for the PCoA only)."""
        return self.router.dhcp is not None

    @property
    def interface(self) -> str:
        """The interface towards the mobile nodes."""
        return self.router.config.interface

    def table_sizes(self) -> dict[str, int]:
        """The PAR and NAR roles' tables and the RtSolPr link-layer addresses."""
        return {**self.par.table_sizes(), **self.nar.table_sizes(),
                "rtsolpr_addresses": len(self.link_layer_addresses)}

    # -- AnchorHost (the PAR role, :mod:`.par`) -----------------------------------------

    def refuse_home_address(self, address: IPv6Address) -> str | None:
        """[choice] Only addresses of this router's link may be fast-bound (§6.2.2)."""
        return None if address in self.router.config.prefix else "pcoa_not_on_link"

    def previous_care_of_address(self, address: IPv6Address, ncoa: IPv6Address
                                 ) -> IPv6Address | None:
        """At a PAR the FBU's Home Address is the PCoA itself (§6.2.2)."""
        return address

    def deliver_on_old_link(self, packet: IPv6Packet, link_layer_address: bytes | None) -> None:
        """On this router's interface, at the MN's link-layer address (§6.2.3)."""
        self.router.act(Transmit(packet=packet, interface=self.interface,
                                 link_destination=link_layer_address))

    def deliver_previous(self, packet: IPv6Packet, previous: IPv6Address,
                         link_layer_address: bytes | None) -> None:
        """A copy on the old link, at the node's link-layer address (simultaneous bindings)."""
        self.router.act(Transmit(packet=packet, interface=self.interface,
                                 link_destination=link_layer_address))

    def intercept(self, address: IPv6Address, active: bool) -> None:
        """Claim (or release) the PCoA with proxy ND on the MN's old link (§4)."""
        if active:
            self.nar.departed(address)  # it left: a later HI for it is not a late one
        self.router.act(Claim(address=address, active=active, proxy_interface=self.interface))

    # -- packets ---------------------------------------------------------------------------

    def handle(self, packet: IPv6Packet, interface: str) -> bool:
        """Process ``packet`` if it is FMIPv6 signalling or FMIPv6 data-plane traffic."""
        payload = packet.payload
        own = packet.dst == self.address
        if isinstance(payload, RouterSolicitationForProxy):
            self._rtsolpr(packet, payload)
            return True
        if isinstance(payload, FastBindingUpdate) and own:
            self.par.fast_binding_update(packet, payload)
            return True
        if isinstance(payload, HandoverAcknowledge) and own:
            self.par.handover_acknowledge(packet, payload)
            return True
        if isinstance(payload, HandoverInitiate) and own:
            self.nar.handover_initiate(packet, payload)
            return True
        if isinstance(payload, NeighborAdvertisement):
            if payload.is_una:
                return self.nar.unsolicited_neighbor_advertisement(packet, payload)
            return self.nar.neighbor_advertisement(packet, payload)
        if own and isinstance(payload, IPv6Packet):
            return self.par.reverse_tunnel(packet, payload) or self.nar.tunnelled(packet, payload)
        return (self.par.forward(packet) or self.nar.intercept(packet)
                or self.nar.from_mobile(packet))

    # -- PrRtAdv (RFC 5568 §6.1.2) ---------------------------------------------------------

    def _rtsolpr(self, packet: IPv6Packet, message: RouterSolicitationForProxy) -> None:
        router = self.router
        if packet.hop_limit != ND_HOP_LIMIT or message.code != 0:
            router.counters["drop.invalid_nd"] += 1  # RFC 4861 §6.1.1 checks apply
            return
        requested: list[bytes] = []
        wildcard = False
        for option in message.options:
            if not isinstance(option, LinkLayerAddress):
                continue
            if option.option_code == L.SOURCE:
                self.link_layer_addresses[packet.src] = option.address
            elif option.option_code == L.WILDCARD:
                wildcard = True
            elif option.option_code == L.NEW_ACCESS_POINT:
                requested.append(option.address)
        if wildcard or not requested:
            code, options = self._neighbourhood()
        else:
            code, options = self._resolve(requested)
        self._send(packet.src, code, message.identifier, options, solicited=True,
                   access_points=tuple(requested))

    def _neighbourhood(self) -> tuple[int, list[NDOption]]:
        options: list[NDOption] = []
        for neighbor in self.config.neighbors:
            if neighbor.fast_handover:
                for ap in neighbor.access_points:
                    options += self._tuple(ap, neighbor)
        if not options:
            return PrRtAdvCode.NO_NEW_ROUTER_INFO, [
                LinkLayerAddress(option_code=L.NO_PREFIX_INFORMATION, address=bytes(6))]
        listed = [n for n in self.config.neighbors if n.fast_handover and n.access_points]
        if all(n.dhcp for n in listed):
            return PrRtAdvCode.DHCP, options  # [choice] Code 5 holds for the whole message
        return PrRtAdvCode.TUPLES, options

    def _resolve(self, requested: list[bytes]) -> tuple[int, list[NDOption]]:
        options: list[NDOption] = []
        resolved = dhcp = 0
        for ap in requested:
            outcome, neighbor = self._outcome(ap)
            if neighbor is not None:
                resolved += 1
                dhcp += neighbor.dhcp
                options += self._tuple(ap, neighbor)
            else:
                options.append(LinkLayerAddress(option_code=outcome, address=ap))
        if resolved == len(requested):
            code = PrRtAdvCode.DHCP if dhcp else PrRtAdvCode.TUPLES
        else:
            code = PrRtAdvCode.PARTIAL if resolved else PrRtAdvCode.NO_NEW_ROUTER_INFO
        return code, options

    def _outcome(self, ap: bytes) -> tuple[int, NeighborRouter | None]:
        """The New-AP LLA option-code for ``ap`` (§6.1.2, §4 cases 1-3) and its neighbour."""
        if ap in self.config.local_access_points:
            return L.AP_ON_CURRENT_INTERFACE, None
        neighbor = self.config.neighbor_by_ap(ap)
        if neighbor is None:
            return L.NO_PREFIX_INFORMATION, None
        if not neighbor.fast_handover:
            return L.NO_FAST_HANDOVER_SUPPORT, None
        return L.NEW_ACCESS_POINT, neighbor

    @staticmethod
    def _tuple(ap: bytes, neighbor: NeighborRouter,
               new_care_of_address: IPv6Address | None = None) -> list[NDOption]:
        """The [AP-ID, AR-Info] options of one AP, in the §6.1.2 order."""
        options: list[NDOption] = [
            LinkLayerAddress(option_code=L.NEW_ACCESS_POINT, address=ap),
            LinkLayerAddress(option_code=L.NEW_ACCESS_ROUTER, address=neighbor.link_layer_address),
            IPAddressPrefix(option_code=IPAddressOptionCode.NAR_IP_ADDRESS, prefix_length=128,
                            address=neighbor.address),
            IPAddressPrefix(option_code=IPAddressOptionCode.NAR_PREFIX,
                            prefix_length=neighbor.prefix.prefixlen,
                            address=neighbor.prefix.network_address),
        ]
        if new_care_of_address is not None:
            options.append(IPAddressPrefix(option_code=IPAddressOptionCode.NEW_CARE_OF_ADDRESS,
                                           prefix_length=128, address=new_care_of_address))
        return options

    def _send(self, destination: IPv6Address, code: int, identifier: int,
              options: list[NDOption], *, solicited: bool,
              access_points: tuple[bytes, ...]) -> None:
        cfg = self.router.config
        source = LinkLayerAddress(option_code=L.SOURCE, address=cfg.link_layer_address)
        if self.config.map_anchor is not None:
            options = [*options, self.config.map_anchor]  # RFC 4140 Appendix A
        message = ProxyRouterAdvertisement(code=code, identifier=identifier,
                                           options=(source, *options))
        packet = IPv6Packet(src=cfg.link_local, dst=destination, hop_limit=ND_HOP_LIMIT,
                            payload=message)
        self.router.act(Transmit(packet=packet, interface=cfg.interface,
                                 link_destination=self.link_layer_addresses.get(destination)))
        self.router.emit("fmip.prrtadv_sent", code=code, destination=destination,
                         solicited=solicited, access_points=access_points)

    # -- commands --------------------------------------------------------------------------

    def trigger_handover(self, mobile: IPv6Address, target_ap: bytes, now: float, *,
                         mobile_link_layer_address: bytes | None = None,
                         new_care_of_address: IPv6Address | None = None) -> bool:
        """Network-initiated handover: unsolicited PrRtAdv Code 1 to ``mobile`` (§3.3).

        The NCoA option is included when given, or computed from the NAR prefix and the MN's
        link-layer address (given, or learnt from its RtSolPr), as §6.1.2 allows. Returns
        False (nothing sent) when ``target_ap`` is not a neighbour with FMIPv6.
        """
        self.router.now = now
        _outcome, neighbor = self._outcome(target_ap)
        if neighbor is None:
            return False
        mac = mobile_link_layer_address or self.link_layer_addresses.get(mobile)
        ncoa = new_care_of_address
        if ncoa is None and mac is not None and neighbor.prefix.prefixlen == 64:
            ncoa = address_from_prefix(neighbor.prefix, interface_identifier_from_mac(mac))
        self._send(mobile, PrRtAdvCode.NETWORK_INITIATED, 0,
                   self._tuple(target_ap, neighbor, ncoa), solicited=False,
                   access_points=(target_ap,))
        return True

    def advertise_neighbourhood(self, destination: IPv6Address, now: float) -> None:
        """Unsolicited neighbourhood information, PrRtAdv Code 4 (§6.1.2): not a trigger."""
        self.router.now = now
        code, options = self._neighbourhood()
        if code == PrRtAdvCode.TUPLES:
            code = PrRtAdvCode.UNSOLICITED_INFO
        self._send(destination, code, 0, options, solicited=False, access_points=())
