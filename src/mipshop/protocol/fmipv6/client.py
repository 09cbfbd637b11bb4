"""The mobile node's fast handover client (RFC 5568 §3.2-§5.6; RFC 4260 triggers).

A :class:`~mipshop.protocol.mipv6.mobility_client.MobilityClient`: append one to
``MobileNode.clients`` (docs/architecture.md: "a mobile node gains ... a fast-handover client"). It
is driven by link-layer triggers (:mod:`mipshop.protocol.base.link_events`, through
:meth:`MobileNode.l2_trigger`):

* :class:`ScanCompleted` -> **RtSolPr** with the scanned APs (New-AP LLA options) or a wildcard
  (§6.1.1), retransmitted after 2 x RTT (or 100 ms), doubling, RTSOLPR_RETRIES times, at most
  MAX_RTSOLPR_RATE per second; no answer -> FMIPv6 stops (§5.1).
* **PrRtAdv** -> the [AP-ID, AR-Info] tuples (:mod:`.neighbourhood`) and the prospective
  NCoA (prefix + interface identifier, or the NCoA supplied, which MUST be used, §5.2). Code 1
  is a network-initiated trigger: the FBU goes at once (§3.3). Code 2/3 with option-code 7
  for the target AP stops FMIPv6 (§6.1.2).
* :class:`LinkGoingDown` -> **predictive** FBU from the old link: source PCoA, Home Address
  option PCoA, Alternate CoA NCoA, MH-LLA, BADF last (§6.2.2), retransmitted FBU_RETRIES times
  on the 2 x RTT / 100 ms schedule ([choice] docs/decisions.md D7); unknown target AP -> RtSolPr
  first, FBU on the answer. An FBack (status 1: use the NCoA it carries) completes the
  predictive part.
* :class:`LinkUp` on the target -> **UNA** from the NCoA (§6.3; repeated every 2 x RTT of the
  access link, measured by the last RtSolPr/PrRtAdv exchange (a first transmission only, as
  Karn's rule has it), or 100 ms when none was measured, up to ``una_transmissions`` times in
  all, until a packet for the NCoA arrives, which
  shows that the NAR has it: a lost UNA would otherwise leave the NAR proxying the NCoA and
  holding its traffic for PROXY_ND_LIFETIME), the NCoA becomes the care-of
  address at once (:meth:`MobileNode.adopt_care_of_address`, so the home and correspondent
  registrations run, or under HMIPv6 only the MAP registration), and without an FBack the
  **reactive** FBU follows from the NCoA (§3.2 case 2). On an unexpected known AP the same
  happens with that AP's NCoA (the new FBU supersedes the binding, §5.6); on an unknown AP
  the FBU is sent once ordinary configuration gives a new care-of address (§6.2.2). Back on
  the PAR's AP: an FBU with lifetime 0 (ping-pong, §5.6).
* A **NAACK** in a Router Advertisement (§6.4.6): 2 -> use the supplied NCoA (UNA + FBU with
  it); 3 -> FBU from the PCoA naming the NAR's address as NCoA; 4 -> the NAR serves the
  PCoA, no more FBUs; after 3 and 4 the PCoA is the care-of address again while the PAR
  forwards it (a new prefix in the NAR's RAs does not replace it), then ordinary address
  configuration runs; 1 and 128 -> FMIPv6 stops and ordinary address configuration runs.
* Once the NCoA is **confirmed** (§4: an FBack with status 0 or 1 and a packet the NAR
  delivered to the NCoA, a NAACK status 2 supplying it, or DAD of an address from ordinary
  configuration without AR-Info; never after NAACK 3 or 4;
  :meth:`FastHandoverClient._confirmed`) and is the care-of address: one
  **Neighbor Advertisement with O set** (S = R = 0, Target Link-Layer Address) from the NCoA
  to all-nodes, after the UNA, so that neighbours holding an entry for the NCoA update it
  (RFC 4861 §7.2.5, §7.2.6; docs/decisions.md D30).
* **PrRtAdv Code 5** (the NAR's link uses DHCPv6, §5.2, §6.1.2): the NCoA formed from the
  PrRtAdv is used for the FBU and the UNA only; on the new link the node keeps its PCoA, which
  the PAR and the NAR forward (HAck Code 3), and runs DHCPv6 (RFC 8415,
  :mod:`..base.dhcpv6`); the address it obtains becomes the care-of address.
* **Placement** (RFC 4140 Appendix A; :mod:`.placement`): the FBU goes to the PAR with
  the PCoA as Home Address, or, MAP-anchored (configured, or a PrRtAdv carrying the MAP
  option), to the MAP with the RCoA as Home Address; the FBack then comes from the MAP, whose
  tunnel the MAP client strips, and the handover completes when the MAP (not the home agent)
  accepts the NCoA as LCoA (:meth:`FastHandoverClient.care_of_address_registered`).
* Until the home agent accepts the NCoA, packets from the home address are reverse-tunnelled
  to the PAR (outer NCoA -> PAR, inner: the home agent tunnel from the PCoA, §4), and the
  PAR's tunnel (PAR -> NCoA) and the home agent's tunnel to the PCoA are accepted.

Resolved ambiguities ([choice]): the FBU lifetime is in seconds in the model and 4-second units
on the wire (docs/decisions.md D1); the FBU timer is not restarted by a retransmission while the
node is between links, and the reactive FBU starts a fresh FBU_RETRIES budget; FMIPv6 that
stopped (no PrRtAdv, code 7, FBU unanswered, NAACK 1/128) resumes at the next access router.

Events: ``fmip.rtsolpr_sent`` (``identifier``, ``access_points``, ``retransmission``),
``fmip.prrtadv`` (``code``, ``identifier``, ``access_points``, ``resolved``), ``fmip.fbu_sent``
(``sequence``, ``mode``, ``source``, ``pcoa``, ``ncoa``, ``lifetime``, ``retransmission``,
``anchor``: the FBU's destination, ``home_address``: its Home Address), ``fmip.fback`` (``status``,
``sequence``, ``ncoa``, ``lifetime``, ``on_new_link``), ``fmip.una_sent`` (``ncoa``,
``destination``, ``retransmission``), ``fmip.una_confirmed`` (``ncoa``, ``transmissions``),
``fmip.override_sent`` (``ncoa``, ``by``: the Neighbor Advertisement with O set once the NCoA is
confirmed, §4),
``fmip.reactive`` (``reason``), ``fmip.naack`` (``status``, ``new_care_of_address``),
``fmip.returned``, ``fmip.stopped`` (``reason``), ``fmip.handover_complete`` (``pcoa``, ``ncoa``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from ...wire.ext_headers import DestinationOptions, HomeAddressOption
from ...wire.icmpv6 import (
    NeighborAdvertisement,
    ProxyRouterAdvertisement,
    RouterAdvertisement,
    RouterSolicitationForProxy,
)
from ...wire.ipv6 import IPv6Packet, encapsulate
from ...wire.mh import FastBindingAcknowledgement, FastBindingUpdate
from ...wire.mh_options import (
    AlternateCareOfAddress,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobilityOption,
)
from ...wire.nd_options import (
    LinkLayerAddress,
    MAPOption,
    NAACKStatus,
    NDOption,
    NeighborAdvertisementAcknowledgment,
    PrefixInformation,
    TargetLinkLayerAddress,
)
from ...wire.nd_options import LLAOptionCode as L
from ..base.actions import ConfigureAddress, Transmit
from ..base.addressing import ALL_NODES, ALL_ROUTERS, ND_HOP_LIMIT
from ..base.backoff import RateLimiter, RetransmissionTimer, fmip_backoff, fmip_initial_timeout
from ..base.entity import Timer
from ..base.link_events import LinkEvent, LinkGoingDown, ScanCompleted
from ..base.sequence import initial_sequence, seq_next
from ..mipv6.mobility_client import MobilityClient
from ..mipv6.signalling import find_option
from .config import FastHandoverClientConfig
from .neighbourhood import AccessPointInfo, parse_prrtadv
from .placement import choose_anchor
from .security import sign_badf, verify_badf

if TYPE_CHECKING:
    from ..mipv6.mobile_node import MobileNode


@dataclass
class FastHandover:
    """One fast handover of the mobile node: from ``pcoa`` at ``par`` towards ``ncoa``.

    ``par`` is the anchor the FBU goes to (the PAR, or the MAP when ``home_address`` is the
    RCoA, RFC 4140 Appendix A); ``home_address`` is the FBU's Home Address (None: the PCoA).

    ``phase``: ``prepared`` (FBU sent from the old link), ``acknowledged`` (FBack received
    there), ``moved`` (on the new link, UNA sent), ``complete`` (home agent updated),
    ``pcoa`` (NAACK 4: the NAR serves the PCoA), ``awaiting_coa`` (arrived without AR-Info),
    ``returned`` (back on the PAR's link, lifetime-0 FBU).
    """

    par: IPv6Address
    pcoa: IPv6Address
    old_ap: bytes | None
    target_ap: bytes | None
    ncoa: IPv6Address | None
    phase: str = "prepared"
    fback: bool = False
    tunnel_until: float = 0.0
    sequences: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    fbu_backoff: RetransmissionTimer | None = None
    fbu_timer: Timer | None = None
    fbu_lifetime: int = 0
    fbu_source: IPv6Address | None = None
    fbu_alternate: IPv6Address | None = None
    no_more_fbus: bool = False
    home_address: IPv6Address | None = None
    #: The NCoA configured for signalling only (PrRtAdv Code 5, §5.2), while it is.
    signalling_address: IPv6Address | None = None
    #: Whether a packet other than a Router Advertisement reached the NCoA on the new link
    #: since its UNA: the NAR delivers to it, so it took the UNA and no NAACK refused it.
    delivered: bool = False
    #: The NCoA the Neighbor Advertisement with O set was sent for (§4), once it was.
    announced: IPv6Address | None = None
    #: The NAR refused the NCoA with NAACK 3 or 4 (§6.4.6) and served the PCoA: no address
    #: of this handover gets the NA with O set (docs/decisions.md D30), not even the same
    #: address formed again by ordinary configuration once that forwarding ended.
    refused: bool = False


#: :attr:`FastHandoverClient.unsupported` of every client that met no such access point.
_NO_ACCESS_POINTS: frozenset[bytes] = frozenset()


class FastHandoverClient(MobilityClient):
    """FMIPv6 on the mobile node (module docstring). Command: :meth:`solicit`."""

    def __init__(self, node: MobileNode, config: FastHandoverClientConfig) -> None:
        self.node = node
        self.config = config
        #: AR-Info per AP from PrRtAdvs (§6.1.2), and APs whose NAR lacks FMIPv6 (code 7).
        self.access_points: dict[bytes, AccessPointInfo] = {}
        #: (Frozen, replaced on change, and the shared _NO_ACCESS_POINTS while empty: most
        #: nodes never meet such an AP, and an empty set is 216 bytes a node.)
        self.unsupported: frozenset[bytes] = _NO_ACCESS_POINTS
        self.handover: FastHandover | None = None
        self.stopped: str | None = None
        #: The current router's global address (RA Prefix Information with the R flag).
        self.router_address: IPv6Address | None = None
        #: The MAP a PrRtAdv named (RFC 4140 Appendix A: MAP-anchored placement), or None.
        self.advertised_map: IPv6Address | None = None
        self._sequence = initial_sequence(node.rng)
        self._rtsolpr: tuple[int, RetransmissionTimer, tuple[bytes, ...]] | None = None
        self._rtsolpr_timer: Timer | None = None
        self._pending_target: bytes | None = None
        self._rate = RateLimiter(rate=config.max_rtsolpr_rate, window=1.0)
        #: The UNA being repeated: its NCoA, transmissions so far and the next one's timer.
        self._una: tuple[IPv6Address, int, Timer] | None = None
        #: Round trip of the access link, from the last RtSolPr answered at its first
        #: transmission (seconds), or None; and when that transmission left.
        self.access_rtt: float | None = None
        self._rtsolpr_sent_at: float | None = None
        #: The AP of the link last left (for a reactive handover's return, §5.6).
        self._left_ap: bytes | None = None

    # -- RtSolPr (§6.1.1) ------------------------------------------------------------------

    def solicit(self, access_points: tuple[bytes, ...] = ()) -> bool:
        """Send an RtSolPr for ``access_points`` (a wildcard when empty); False if stopped."""
        if self.stopped is not None or self.node.care_of_address is None:
            return False
        if self._rtsolpr_timer is not None:
            self._rtsolpr_timer.cancel()
        backoff = fmip_backoff(self.config.rtsolpr_retries, self.config.rtt)
        self._rtsolpr = (self.node.rng.randrange(1, 1 << 16), backoff, tuple(access_points))
        self._send_rtsolpr(retransmission=False)
        return True

    def _send_rtsolpr(self, *, retransmission: bool) -> None:
        node = self.node
        assert self._rtsolpr is not None
        identifier, backoff, aps = self._rtsolpr
        if not self._rate.allowed("rtsolpr", node.now):
            # §6.1.1: at most MAX_RTSOLPR_RATE per second: wait for the window.
            delay = self._rate.next_allowed("rtsolpr", node.now) - node.now
            self._rtsolpr_timer = node.schedule(
                delay, lambda now: self._send_rtsolpr(retransmission=retransmission))
            return
        self._rate.record("rtsolpr", node.now)
        # Karn's rule: an answer to a retransmitted RtSolPr gives no round-trip sample.
        self._rtsolpr_sent_at = None if retransmission else node.now
        options: list[NDOption] = [
            LinkLayerAddress(option_code=L.SOURCE, address=node.config.link_layer_address)]
        if aps:
            options += [LinkLayerAddress(option_code=L.NEW_ACCESS_POINT, address=ap)
                        for ap in aps]
        else:
            options.append(LinkLayerAddress(option_code=L.WILDCARD, address=bytes(6)))
        source = node.care_of_address or node.link_local
        destination = node.default_router or ALL_ROUTERS
        node.act(Transmit(packet=IPv6Packet(
            src=source, dst=destination, hop_limit=ND_HOP_LIMIT,
            payload=RouterSolicitationForProxy(identifier=identifier, options=tuple(options)),
        ), interface=node.interface))
        timeout = backoff.next_timeout()
        self._rtsolpr_timer = node.schedule(timeout, lambda now: self._rtsolpr_timeout())
        node.emit("fmip.rtsolpr_sent", identifier=identifier, access_points=aps,
                  retransmission=retransmission, timeout=timeout)

    def _rtsolpr_timeout(self) -> None:
        self._rtsolpr_timer = None
        if self._rtsolpr is None:
            return
        if self._rtsolpr[1].exhausted or not self.node.attached:
            self._rtsolpr = None
            self._stop("no_prrtadv")  # §5.1: assume the PAR lacks FMIPv6
            return
        self._send_rtsolpr(retransmission=True)

    # -- PrRtAdv (§6.1.2) ------------------------------------------------------------------

    def _prrtadv(self, packet: IPv6Packet, message: ProxyRouterAdvertisement) -> None:
        node = self.node
        solicited = self._rtsolpr is not None and message.identifier == self._rtsolpr[0]
        unsolicited = message.identifier == 0 and message.code in (1, 4)
        if packet.hop_limit != ND_HOP_LIMIT or not packet.src.is_link_local or not (
                solicited or unsolicited):
            node.counters["drop.fmip_prrtadv_unexpected"] += 1
            return
        if solicited:
            if self._rtsolpr_sent_at is not None:
                self.access_rtt = node.now - self._rtsolpr_sent_at
                self._rtsolpr_sent_at = None
            self._rtsolpr = None
            if self._rtsolpr_timer is not None:
                self._rtsolpr_timer.cancel()
                self._rtsolpr_timer = None
        infos = parse_prrtadv(message)
        self.advertised_map = next(
            (o.address for o in message.options if isinstance(o, MAPOption)), None)
        for info in infos:
            if info.outcome == L.NO_FAST_HANDOVER_SUPPORT:
                self.unsupported |= {info.access_point}
            elif info.resolved:
                self.access_points[info.access_point] = info
                if info.access_point in self.unsupported:
                    self.unsupported = (self.unsupported - {info.access_point}
                                        or _NO_ACCESS_POINTS)
        node.emit("fmip.prrtadv", code=message.code, identifier=message.identifier,
                  access_points=tuple(i.access_point for i in infos),
                  resolved=tuple(i.access_point for i in infos if i.resolved))
        no_support = [i for i in infos if i.outcome == L.NO_FAST_HANDOVER_SUPPORT]
        if (message.code == 2 and no_support) or (
                message.code == 3 and self._pending_target in self.unsupported):
            self._stop("nar_without_fmip")  # §6.1.2 option-code 7: MUST stop
            return
        if message.code == 1:
            # §3.3 / §6.1.2: network-initiated trigger; the FBU MUST go at once.
            target = next((i for i in infos if i.resolved), None)
            if target is not None:
                self.stopped = None
                self._start(target.access_point)
            return
        pending, self._pending_target = self._pending_target, None
        if pending is not None and pending in self.access_points:
            self._start(pending)

    # -- link-layer triggers (RFC 4260) ----------------------------------------------------

    def l2_event(self, event: LinkEvent) -> None:
        """Scan results ask for AR-Info; an imminent link change sends the predictive FBU."""
        if isinstance(event, ScanCompleted):
            self.solicit(event.access_points)
        elif isinstance(event, LinkGoingDown):
            if self.stopped is not None or event.target_ap in self.unsupported:
                return
            if event.target_ap in self.access_points:
                self._start(event.target_ap)
            elif self.solicit((event.target_ap,)):
                self._pending_target = event.target_ap

    def _start(self, target_ap: bytes) -> None:
        """Begin a predictive handover to ``target_ap`` from the current link (§3.2)."""
        node, info = self.node, self.access_points[target_ap]
        handover = self._new_handover(old_ap=node.access_point, target_ap=target_ap,
                                      ncoa=info.care_of_address(node.interface_identifier))
        if handover is None:
            return
        self._cancel_fbu()
        self.handover = handover
        self._begin_fbu(source=handover.pcoa, alternate=handover.ncoa,
                        lifetime=self.config.fbu_lifetime)

    def link_down(self) -> None:
        """Leaving the link: FBU and UNA retransmissions from it are pointless now."""
        self._cancel_una()
        self._left_ap = self.node.access_point
        h = self.handover
        if h is not None and h.fbu_timer is not None and h.fbu_source == h.pcoa:
            h.fbu_timer.cancel()
            h.fbu_timer = None

    def link_up(self) -> None:
        """Attached (§4 "as soon as the MN establishes link connectivity with the NAR")."""
        node, h, ap = self.node, self.handover, self.node.access_point
        if h is not None and ap is not None and ap == h.old_ap and (
                h.phase in ("prepared", "acknowledged") or (h.fback
                and node.now < h.tunnel_until and h.phase in ("moved", "pcoa"))):
            # §5.6: back "before updating the necessary bindings" (the home or MAP
            # registration of the NCoA is not confirmed): a lifetime-0 FBU ends the tunnel.
            # Once they are updated ("complete"), going back is a handover like any other
            # (docs/decisions.md D27).
            self._returned(h)
            return
        if self.stopped is not None:
            return
        if h is not None and h.phase in ("prepared", "acknowledged"):
            if ap is not None and ap != h.target_ap:
                if ap not in self.access_points:
                    h.phase = "awaiting_coa"  # unexpected, unknown AP: §6.2.2
                    return
                h.target_ap = ap  # §5.6 erroneous movement: a new FBU supersedes
                h.ncoa = self.access_points[ap].care_of_address(node.interface_identifier)
                h.fback = False
            self._arrive(h)
            return
        if h is not None and h.phase not in ("complete", "returned") and not (
                h.fback and h.phase in ("moved", "pcoa")):
            # [choice] One fast handover at a time while its FBU is unanswered. Once the FBack
            # came, the fast handover is done even if the home BA is still awaited (it may be
            # lost): a further move starts the next one.
            return
        # No prepared handover: reactive with the AR-Info learnt earlier, else once ordinary
        # configuration gives an address (§3.2 case 2, §6.2.2). The AP left is remembered,
        # so that coming back to it within the tunnel's lifetime is a return (§5.6).
        info = self.access_points.get(ap) if ap is not None else None
        ncoa = info.care_of_address(node.interface_identifier) if info is not None else None
        handover = self._new_handover(old_ap=self._left_ap, target_ap=ap, ncoa=ncoa)
        if handover is None:
            return
        self.handover = handover
        if ncoa is None:
            self.handover.phase = "awaiting_coa"
        else:
            self._arrive(self.handover)

    def _new_handover(self, *, old_ap: bytes | None, target_ap: bytes | None,
                      ncoa: IPv6Address | None) -> FastHandover | None:
        """A handover from the current care-of address, at its anchor (PAR or MAP)."""
        node = self.node
        anchor = choose_anchor(node, self.config.placement, router_address=self.router_address,
                               advertised_map=self.advertised_map)
        if anchor is None or node.at_home or node.care_of_address is None:
            return None
        return FastHandover(par=anchor.address, pcoa=node.care_of_address, old_ap=old_ap,
                            target_ap=target_ap, ncoa=ncoa, home_address=anchor.home_address)

    def _arrive(self, h: FastHandover) -> None:
        """UNA, the NCoA as care-of address, and the reactive FBU if no FBack came (§4).

        On a NAR announced with PrRtAdv Code 5 (DHCPv6, §5.2, §6.1.2) the NCoA serves the
        FBU and the UNA only: "it MUST NOT send data packets using the NCoA". The node keeps
        its PCoA (which the PAR and NAR forward) and obtains its new care-of address with
        DHCPv6; that address ends the fast handover (:meth:`care_of_address_changed`).
        """
        assert h.ncoa is not None
        node = self.node
        info = self.access_points.get(h.target_ap) if h.target_ap is not None else None
        if info is not None and info.router_address is not None:
            # §6.1.2: the AR-Info names the NAR's address, the next handover's PAR; an RA may
            # be lost on the air, and the previous router's address must not stay behind.
            self.router_address = info.router_address
        dhcp = info is not None and info.dhcp
        if dhcp:
            # The NCoA receives signalling only (the NAACK, the FBack of a reactive FBU).
            node.act(ConfigureAddress(interface=node.interface, address=h.ncoa,
                                      prefix_length=128))
            h.signalling_address = h.ncoa
        # Repeated only if an FBU left the old link: only then may the NAR be proxying.
        h.delivered = False
        self._send_una(h.ncoa, repeat=h.fbu_source is not None and h.fbu_source == h.pcoa)
        if dhcp:
            self._use_pcoa(h)
            node.emit("fmip.stateful", ncoa=h.ncoa, pcoa=h.pcoa)
            node.start_dhcp()
        else:
            h.phase = "moved"
            node.adopt_care_of_address(h.ncoa)
        if not h.fback and not h.no_more_fbus:
            node.emit("fmip.reactive", reason="no_fback", ncoa=h.ncoa)
            self._begin_fbu(source=h.ncoa, alternate=None, lifetime=self.config.fbu_lifetime)

    def _returned(self, h: FastHandover) -> None:
        """Back on the PAR's link before the bindings moved: lifetime-0 FBU (§5.6)."""
        self._cancel_fbu()
        h.phase = "returned"
        if h.home_address in (None, h.pcoa):
            self.router_address = h.par  # back on the PAR's link
        self.node.adopt_care_of_address(h.pcoa)
        self.node.emit("fmip.returned", pcoa=h.pcoa, par=h.par)
        self._begin_fbu(source=h.pcoa, alternate=None, lifetime=0)

    def care_of_address_changed(self, care_of_address: IPv6Address) -> None:
        """An address from ordinary configuration: send the pending reactive FBU with it.
        The NCoA becoming the care-of address may also let the NA with O set go
        (:meth:`_confirmed`), if it was confirmed while it was not."""
        h = self.handover
        if h is not None and h.phase == "awaiting_coa" and care_of_address != h.pcoa:
            h.ncoa, h.phase = care_of_address, "moved"
            self.node.emit("fmip.reactive", reason="no_ar_info", ncoa=care_of_address)
            self._confirmed(h, by="dad")  # ordinary configuration: DAD done (RFC 4862)
            self._begin_fbu(source=care_of_address, alternate=None,
                            lifetime=self.config.fbu_lifetime)
        elif h is not None and h.phase == "pcoa" and care_of_address != h.pcoa:
            # The address the PCoA stood in for (DHCPv6 on a Code 5 NAR, or ordinary
            # configuration after the forwarding): the handover completes when it is
            # registered (:meth:`home_registered`).
            h.ncoa, h.phase = care_of_address, "moved"
            if h.fbu_timer is None:
                self._forget_signalling_address(h)  # else once the FBack has come
            self._keep_pcoa(h)
        elif h is None or h.phase in ("complete", "returned"):
            self.stopped = None  # a new router: FMIPv6 gets a new chance
        if h is not None:
            # D30: a confirmation that came while the NCoA was not the care-of address (a
            # packet the NAR delivered to it meanwhile) holds: the NA goes now that it is.
            self._confirmed(h)

    def duplicate_address_detection_completed(self, address: IPv6Address) -> None:
        """An optimistic NCoA from ordinary configuration is no longer optimistic: its DAD
        confirmed it (§4), so the NA with O set goes now if it has not yet."""
        h = self.handover
        if h is not None and h.ncoa == address:
            self._confirmed(h, by="dad")

    def _keep_pcoa(self, h: FastHandover) -> None:
        """The NAR still delivers the PAR's forwarding to the PCoA on this link: keep the
        address configured (as a /128) while that forwarding lives (the FBack lifetime, or
        the FBU's when no FBack came yet), so nothing in flight is refused."""
        node = self.node
        until = h.tunnel_until if h.fback else node.now + h.fbu_lifetime
        if until <= node.now:
            return
        node.act(ConfigureAddress(interface=node.interface, address=h.pcoa, prefix_length=128))
        pcoa = h.pcoa

        def release(now: float) -> None:
            if node.care_of_address != pcoa:
                node.act(ConfigureAddress(interface=node.interface, address=pcoa,
                                          prefix_length=128, active=False))

        node.schedule(until - node.now, release)

    def _forget_signalling_address(self, h: FastHandover) -> None:
        address, h.signalling_address = h.signalling_address, None
        node = self.node
        if address is not None and address != node.care_of_address:
            node.act(ConfigureAddress(interface=node.interface, address=address,
                                      prefix_length=128, active=False))

    def _send_una(self, ncoa: IPv6Address, *, repeat: bool = False,
                  transmission: int = 1) -> None:
        """Send the UNA (§6.3); with ``repeat``, below ``una_transmissions``, schedule its
        repetition."""
        node, h = self.node, self.handover
        self._cancel_una()
        una = NeighborAdvertisement.unsolicited(target=ncoa,
                                                link_layer_address=node.config.link_layer_address)
        info = self.access_points.get(h.target_ap) if h and h.target_ap else None
        destination = ALL_NODES
        if self.config.una_to_router and info is not None and info.router_address is not None:
            destination = info.router_address
        node.act(Transmit(packet=IPv6Packet(src=ncoa, dst=destination, hop_limit=ND_HOP_LIMIT,
                                            payload=una), interface=node.interface))
        node.emit("fmip.una_sent", ncoa=ncoa, destination=destination,
                  retransmission=transmission > 1)
        if repeat and transmission < self.config.una_transmissions:
            # RFC 5568 §6.3: "MAY retransmit UNAs subject to [RFC 4861 §7.2.6] while noting
            # that the default RetransTimer value is large for handover purposes": [choice]
            # the FMIPv6 timer instead (docs/decisions.md D13).
            rtt = self.config.rtt if self.config.rtt is not None else self.access_rtt
            timer = node.schedule(fmip_initial_timeout(rtt or None),
                                  lambda now: self._repeat_una(ncoa, transmission + 1))
            self._una = (ncoa, transmission, timer)

    def _confirmed(self, h: FastHandover, *, by: str = "fback") -> None:
        """§4: "Once the MN has confirmed its NCoA (either through DAD or when provided for
        by the NAR), it SHOULD send a Neighbor Advertisement message with the 'O' bit set, to
        the all-nodes multicast address", so that its neighbours update their entries.

        When the NCoA counts as confirmed (``by``; docs/decisions.md D30):

        * ``fback``: an FBack with status 0 or 1 for it (the NAR's HAck accepted the NCoA
          after its uniqueness check, §4 step 1, or assigned it, step 2; for a reactive FBU
          HI Code 1 validated the entry the NAR made from the UNA), *and* the NAR delivered a
          packet other than a Router Advertisement to it on the new link (it took the UNA as
          §4 says, rather than answering with a NAACK, §6.4.6: an FBack status 0 also
          answers a HAck Code 3, after which the NAR refuses the NCoA). A reactive FBack on
          the new link is itself such a packet;
        * ``naack``: a NAACK status 2 with the address the NAR supplies (§6.4.6, §5.5);
        * ``dad``: an address from ordinary configuration (no AR-Info, §6.2.2), whose DAD
          completed (RFC 4862 §5.4) before the node used it.

        Sent once per NCoA, after its UNA (O clear, §6.3), and only while the NCoA is the
        care-of address on the new link (a confirmation that came while it was not is kept:
        :meth:`care_of_address_changed` calls this again); an optimistic address (RFC 4429
        §3.3: no O set until DAD completes) waits for its DAD
        (:meth:`duplicate_address_detection_completed`).
        Never in a handover whose NCoA the NAR refused with NAACK 3 or 4 (``refused``): the
        address ordinary configuration forms once the PCoA's forwarding ends, even the same
        one, was named in no FBU the NAR accepted; it is RFC 4862's, as after NAACK 1 or
        FBack 128, where FMIPv6 stops and the same address formed again gets no NA either.
        """
        node, ncoa = self.node, h.ncoa
        if (ncoa is None or h.announced == ncoa or h.refused
                or h.phase not in ("moved", "complete")
                or not node.attached or node.care_of_address != ncoa
                or node.optimistic(ncoa) or (by == "fback" and not (h.fback and h.delivered))):
            return
        h.announced = ncoa
        # RFC 4861 §4.4, §7.2.6: unsolicited (S = 0), from a host (R = 0), with the Target
        # Link-Layer Address option, hop limit 255.
        na = NeighborAdvertisement(
            router=False, solicited=False, override=True, target=ncoa,
            options=(TargetLinkLayerAddress(address=node.config.link_layer_address),))
        node.act(Transmit(packet=IPv6Packet(src=ncoa, dst=ALL_NODES, hop_limit=ND_HOP_LIMIT,
                                            payload=na), interface=node.interface))
        node.emit("fmip.override_sent", ncoa=ncoa, by=by)

    def _repeat_una(self, ncoa: IPv6Address, transmission: int) -> None:
        self._una = None
        h = self.handover
        if h is None or h.ncoa != ncoa or not self.node.attached or h.phase not in (
                "moved", "complete"):
            return
        self._send_una(ncoa, repeat=True, transmission=transmission)

    def _cancel_una(self) -> None:
        if self._una is not None:
            self._una[2].cancel()
            self._una = None

    def received(self, packet: IPv6Packet) -> None:
        """A packet for the NCoA: the NAR forwards to it (§6.3), so it has our UNA."""
        if self._una is not None and packet.dst == self._una[0]:
            ncoa, transmissions, _timer = self._una
            self._cancel_una()
            self.node.emit("fmip.una_confirmed", ncoa=ncoa, transmissions=transmissions)
        h = self.handover
        if (h is not None and not h.delivered and packet.dst == h.ncoa
                and h.phase in ("moved", "complete")
                and not isinstance(packet.payload, RouterAdvertisement)):
            h.delivered = True  # not a NAACK: the NAR delivers to the NCoA
            self._confirmed(h)

    # -- FBU (§6.2.2) and FBack (§6.2.3) ---------------------------------------------------

    def _begin_fbu(self, *, source: IPv6Address, alternate: IPv6Address | None,
                   lifetime: int) -> None:
        h = self.handover
        assert h is not None
        self._cancel_fbu()
        h.fbu_source, h.fbu_alternate, h.fbu_lifetime = source, alternate, lifetime
        h.fbu_backoff = fmip_backoff(self.config.fbu_retries, self.config.rtt)
        self._send_fbu(retransmission=False)

    def _send_fbu(self, *, retransmission: bool) -> None:
        node, h = self.node, self.handover
        assert h is not None and h.fbu_source is not None and h.fbu_backoff is not None
        self._sequence = seq_next(self._sequence)
        options: list[MobilityOption] = []
        if h.fbu_alternate is not None:
            options.append(AlternateCareOfAddress(address=h.fbu_alternate))
        options.append(MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                          address=node.config.link_layer_address))
        fbu = FastBindingUpdate(sequence=self._sequence, lifetime=h.fbu_lifetime, ack=True,
                                home_registration=True, options=tuple(options))
        fbu = sign_badf(fbu, self.config.key, care_of_address=h.fbu_alternate or h.fbu_source,
                        par_address=h.par)
        # §6.2.2: the Home Address option carries the PCoA (the RCoA when the MAP anchors the
        # handover, RFC 4140 Appendix A); source PCoA or NCoA.
        home = h.home_address or h.pcoa
        node.act(Transmit(packet=IPv6Packet(
            src=h.fbu_source, dst=h.par, payload=fbu, extension_headers=(
                DestinationOptions(options=(HomeAddressOption(home_address=home),)),),
        ), interface=node.interface))
        h.sequences.add(self._sequence)
        timeout = h.fbu_backoff.next_timeout()
        h.fbu_timer = node.schedule(timeout, lambda now: self._fbu_timeout(h))
        mode = "predictive" if h.fbu_source == h.pcoa and h.fbu_lifetime else (
            "delete" if not h.fbu_lifetime else "reactive")
        node.emit("fmip.fbu_sent", sequence=self._sequence, mode=mode, source=h.fbu_source,
                  pcoa=h.pcoa, ncoa=h.fbu_alternate or h.fbu_source, lifetime=h.fbu_lifetime,
                  retransmission=retransmission, timeout=timeout, anchor=h.par,
                  home_address=home)

    def _fbu_timeout(self, h: FastHandover) -> None:
        h.fbu_timer = None
        if h is not self.handover or (h.fback and h.fbu_lifetime):
            return
        assert h.fbu_backoff is not None
        if h.fbu_backoff.exhausted:
            # §4: no FBack after FBU_RETRIES: assume no fast handover support.
            self._stop("no_fback")
            return
        if self.node.attached:
            self._send_fbu(retransmission=True)

    def _cancel_fbu(self) -> None:
        h = self.handover
        if h is not None and h.fbu_timer is not None:
            h.fbu_timer.cancel()
            h.fbu_timer = None

    def _fback(self, packet: IPv6Packet, fback: FastBindingAcknowledgement) -> None:
        node, h = self.node, self.handover
        if h is None or packet.src != h.par or fback.sequence not in h.sequences:
            node.counters["drop.fmip_fback_unexpected"] += 1
            return
        alternate = find_option(fback, AlternateCareOfAddress)
        asked = h.fbu_alternate or h.fbu_source
        assert asked is not None
        coa = alternate.address if alternate is not None else asked
        if not verify_badf(fback, self.config.key, care_of_address=coa, par_address=h.par,
                           encoded=node.received_mobility_header):
            node.counters["drop.fmip_fback_unauthentic"] += 1
            return
        if fback.sequence in h.answered:
            node.counters["fmip.fback_duplicate"] += 1  # e.g. the copy sent to the NCoA
            return
        h.answered.add(fback.sequence)
        self._cancel_fbu()
        if h.signalling_address is not None and h.phase != "pcoa":
            self._forget_signalling_address(h)  # the FBU exchange it served is over
        on_new_link = node.care_of_address != h.pcoa
        node.emit("fmip.fback", status=fback.status, sequence=fback.sequence, ncoa=coa,
                  lifetime=fback.lifetime, on_new_link=on_new_link)
        if h.phase == "returned":
            h.fbu_backoff = None
            self.handover = None  # §5.6: the PAR delivers directly again
            return
        if fback.status >= 128:
            self._stop(f"fback_status_{fback.status}")
            return
        h.fback, h.tunnel_until = True, node.now + fback.lifetime
        if alternate is not None and alternate.address != h.ncoa:
            # §4: the NAR assigned the NCoA; the MN MUST use it.
            h.ncoa = alternate.address
            if h.phase == "moved":
                h.delivered = False
                self._send_una(h.ncoa, repeat=True)  # the NAR proxies the NCoA it assigned
                node.adopt_care_of_address(h.ncoa)
        if h.phase == "prepared":
            h.phase = "acknowledged"
        self._confirmed(h)

    # -- NAACK (§6.4.6) --------------------------------------------------------------------

    def _naack(self, packet: IPv6Packet, naack: NeighborAdvertisementAcknowledgment) -> None:
        node, h = self.node, self.handover
        # "complete" too: the node takes the NCoA on arrival and may have registered it at home
        # before the NAR's answer to its UNA comes; a NAACK still says the NCoA is invalid.
        if h is None or h.phase not in ("moved", "acknowledged", "prepared", "complete"):
            node.counters["drop.fmip_naack_unexpected"] += 1
            return
        node.emit("fmip.naack", status=naack.status, address=packet.dst,
                  new_care_of_address=naack.new_care_of_address)
        status = naack.status
        if status == NAACKStatus.NCOA_INVALID_USE_SUPPLIED and naack.new_care_of_address:
            h.ncoa, h.fback = naack.new_care_of_address, False
            self._send_una(h.ncoa)
            node.adopt_care_of_address(h.ncoa)
            self._confirmed(h, by="naack")  # §4: an NCoA "provided for by the NAR"
            self._begin_fbu(source=h.ncoa, alternate=None, lifetime=self.config.fbu_lifetime)
        elif status == NAACKStatus.NCOA_INVALID_USE_NAR_ADDRESS:
            # "use NAR's IP address as NCoA in FBU": the PAR then tunnels the PCoA's packets to
            # the NAR, which serves the PCoA on its link. The NCoA is invalid, so the node keeps
            # its PCoA (and sends the FBU from it) while that tunnel lasts.
            info = self.access_points.get(h.target_ap) if h.target_ap else None
            nar = info.router_address if info is not None and info.router_address else (
                self.router_address)
            if nar is None:
                self._stop("naack_3_without_nar_address")
                node.restart_address_configuration()
                return
            h.refused = True
            self._use_pcoa(h)
            h.fback = False
            self._begin_fbu(source=h.pcoa, alternate=nar, lifetime=self.config.fbu_lifetime)
        elif status == NAACKStatus.PCOA_SUPPLIED_NO_FBU:
            # The NAR forwards for the PCoA (host route): keep it, send no more FBUs.
            self._cancel_fbu()
            h.no_more_fbus, h.refused = True, True
            self._use_pcoa(h)
        else:
            # 1: configure another address; 128: neither NCoA nor PCoA may be used.
            self._stop(f"naack_{status}")
            node.restart_address_configuration()

    def _use_pcoa(self, h: FastHandover) -> None:
        """The NAR serves the PCoA on its link (NAACK 3 or 4, §6.4.6): it is the care-of
        address again, and stays so while the PAR forwards it (:meth:`holds_care_of_address`);
        then ordinary address configuration takes over."""
        h.phase = "pcoa"
        node = self.node
        if node.care_of_address != h.pcoa:
            node.adopt_care_of_address(h.pcoa, prefix_length=128)
        node.emit("fmip.pcoa_kept", pcoa=h.pcoa)

    def holds_care_of_address(self) -> bool:
        """While the NAR serves the PCoA (its forwarding lives: no FBack yet, or within the
        FBack lifetime), a Router Advertisement of the NAR's prefix is no reason to form a
        new care-of address: the NCoA was refused (§6.4.6)."""
        h = self.handover
        if h is None or h.phase != "pcoa":
            return False
        if h.fback and self.node.now >= h.tunnel_until:
            h.phase = "complete"  # the forwarding is over: ordinary configuration runs
            return False
        return True

    # -- hooks from the mobile node --------------------------------------------------------

    def handle(self, packet: IPv6Packet) -> bool:
        """PrRtAdv and FBack are this client's."""
        payload = packet.payload
        if isinstance(payload, ProxyRouterAdvertisement):
            self._prrtadv(packet, payload)
            return True
        if isinstance(payload, FastBindingAcknowledgement):
            self._fback(packet, payload)
            return True
        return False

    def router_advertisement(self, packet: IPv6Packet) -> None:
        """Learn the router's address (R flag, RFC 6275 §7.2); act on a NAACK (§6.4.6)."""
        ra = packet.payload
        assert isinstance(ra, RouterAdvertisement)
        for option in ra.options:
            if isinstance(option, PrefixInformation) and option.router_address:
                self.router_address = option.prefix
            elif isinstance(option, NeighborAdvertisementAcknowledgment):
                self._naack(packet, option)

    def home_registered(self) -> None:
        """The home agent now holds the NCoA: the fast handover is over (§4, §5.6)."""
        h, node = self.handover, self.node
        if h is not None and h.phase == "moved" and node.care_of_address == h.ncoa:
            h.phase = "complete"
            node.emit("fmip.handover_complete", pcoa=h.pcoa, ncoa=h.ncoa)

    def care_of_address_registered(self, care_of_address: IPv6Address) -> None:
        """The MAP holds the NCoA as LCoA: under HMIPv6 the fast handover is over (§4)."""
        self.home_registered()

    def returned_home(self) -> None:
        """At home: no fast handover state is kept."""
        self._cancel_fbu()
        self._cancel_una()
        self.handover = None

    def owns_address(self, address: IPv6Address) -> bool:
        """The PCoA stays ours while the PAR (or a Code 3 NAR) forwards it (§4)."""
        h = self.handover
        return h is not None and address == h.pcoa and h.phase in ("moved", "pcoa", "complete")

    def decapsulate(self, packet: IPv6Packet) -> IPv6Packet | None:
        """Strip the PAR's tunnel (PAR -> NCoA, §4)."""
        h = self.handover
        if h is not None and h.home_address not in (None, h.pcoa):
            return None  # MAP-anchored: the MAP client strips the MAP's tunnel
        if (h is None or packet.src != h.par or not isinstance(packet.payload, IPv6Packet)
                or packet.dst not in (h.ncoa, self.node.care_of_address)):
            return None
        self.node.counters["fmip.decapsulated"] += 1
        return packet.payload

    def route(self, packet: IPv6Packet) -> IPv6Packet | None:
        """Reverse-tunnel to the PAR while the home agent may still hold the PCoA (§3.2, §4).

        Once the BU for the NCoA has left, a packet sent now follows it and finds the new
        binding if that BU arrives (RFC 6275 §10.4.5), or the PCoA if it is lost; until the
        BA says which, [choice] the packet goes both ways: from the NCoA straight to the home
        agent, and through the PAR from the PCoA. The home agent's source check lets exactly
        one through (docs/decisions.md D24), and a lost BU costs the uplink nothing.
        """
        h, node = self.handover, self.node
        if (h is None or h.phase != "moved" or not h.fback or node.home_agent is None
                or h.ncoa is None or node.care_of_address != h.ncoa
                or node.now >= h.tunnel_until):
            return None
        entry = node.home.entry
        if entry is None or entry.bound_care_of_address != h.pcoa:
            # The home agent's binding is not the PCoA (already the NCoA, or an HMIPv6
            # RCoA): an inner packet from the PCoA would be refused there.
            return None
        if node.home.tunnel_care_of_address == h.ncoa:
            # The BU for the NCoA is on its way (no BA yet): the copy that follows it.
            node.act(Transmit(packet=encapsulate(packet, src=h.ncoa, dst=node.home_agent),
                              interface=node.interface))
            node.counters["fmip.uplink_both_ways"] += 1
        inner = encapsulate(packet, src=h.pcoa, dst=node.home_agent)
        node.counters["fmip.reverse_tunnelled"] += 1
        return encapsulate(inner, src=h.ncoa, dst=h.par)

    def _stop(self, reason: str) -> None:
        """Give FMIPv6 up for this handover; it resumes with the next care-of address."""
        self._cancel_fbu()
        self._cancel_una()
        if self.handover is not None:
            self._forget_signalling_address(self.handover)
        self.stopped = reason
        self._pending_target = None
        self.handover = None
        self.node.emit("fmip.stopped", reason=reason)
