"""The new access router's side of FMIPv6 (RFC 5568 §4, §5.4, §6.2.1, §6.3, §6.4.6).

Handover Initiate (§6.2.1.1), accepted only when authenticated by a peer router (a neighbour
PAR, or a MAP anchor under RFC 4140 Appendix A) with the key of that router pair
(:class:`~.security.RouterAuthenticator`, standing in for the IPsec SA of §10); the HAck is
authenticated alike and echoes the HI's Mobile Node link-layer address option [choice], so the
PAR matches it on (router, sequence, mobile node):

* Code 0 (predictive): the NCoA is checked for uniqueness (DAD, modelled by the configured
  ``addresses_in_use`` and the addresses this router already serves for another MN) and for
  belonging to the link's prefix; the decision is :func:`decide_handover` (HAck Code 0 valid, 2
  assigned, 3 use PCoA, 1 not valid, 129/130 refused). For 0 and 2 the NAR proxies the NCoA (a
  :class:`~mipshop.protocol.base.actions.Claim` with ``proxy_interface``) for PROXY_ND_LIFETIME; for
  3 it installs a host route for the PCoA (§4 step 3); with U set it buffers (:mod:`.buffer`).
* Code 1 (reactive): the DAD, proxy and assignment steps are skipped (§4) and the MN's
  neighbour entry (from its UNA) is validated; HAck Code 0.
* A retransmitted HI (same PAR and sequence number) gets the same HAck again.
* A late HI Code 0 (the trigger came too late: the mobile node attached and sent its UNA
  before the HI arrived) names an NCoA this router already serves as a neighbour: the mobile
  node announced itself (§6.3) from that NCoA with the HI's link-layer address, with no
  handover prepared, within PROXY_ND_LIFETIME. Proxying and buffering it now would hold its
  traffic for a node that will send no further UNA: the HI gets the HAck it would have got
  (Code 0, or 2 with the NCoA when S is set) and nothing is proxied or buffered, so what the
  PAR tunnels is delivered at once (the handover degrades to the reactive case, §3.2).

Unsolicited Neighbor Advertisement (§6.3), from the NCoA with the MN's link-layer address:
a proxied NCoA becomes a STALE neighbour entry and the buffer drains (at most 5 packets back to
back, then at the metered arrival rate, §5.4) before the claim is released; an NCoA the NAR
cannot accept gets a Router Advertisement with a NAACK option (§6.4.6), sent to the UNA's
source at the link-layer address of the UNA: status 2 with the address the NAR assigned (or
one from its pool), 4 when it serves the PCoA instead (HAck Code 3), 3 or 1 when it has no
address to offer, 128 when the link-layer address is not valid on this link.

Resolved ambiguities ([choice]): the HAck answering an HI with S set carries Code 2 (the code
table; docs/decisions.md D3) even when the proposed NCoA is the one assigned; without S an
unusable NCoA is replaced from the pool (Code 2, §5.3 per-mobile addressing) before falling
back to Code 3 or 1; a proxied NCoA nobody claims within PROXY_ND_LIFETIME is released and
its buffer discarded (counted); after the UNA the proxy claim is released at once, so packets
arriving while the buffer drains are forwarded as usual ("forwards arriving and buffered
packets", §4) and may overtake buffered ones: queueing them behind the buffer would add the
buffer's delay to the whole stream, since it drains at the arrival rate. An unprepared
UNA is remembered as an arrival for PROXY_ND_LIFETIME (the time the NAR would hold a prepared
handover), bounded in number; a late HI must fall inside it, and the PAR role forgets it when
the mobile node leaves with an FBU for that address; a UNA repeated within it (§6.3
retransmissions) is not a new arrival.

State machine of one handover at the NAR (:data:`NAR_TRANSITIONS`): ``NONE`` -HI accepted->
``PROXYING`` (or ``HOST_ROUTE`` for Code 3) -UNA-> ``DRAINING`` -drained-> ``ATTACHED`` (the
record is then dropped: the neighbour entry remains); ``PROXYING``/``HOST_ROUTE`` -proxy
timeout-> ``NONE``. An HI Code 1 creates no record (nothing is prepared, §4).

HAck Code 4 (§6.2.1.2, "sent unsolicited, usually to trigger an HI message"; [choice]
docs/decisions.md D14): a node whose
prepared handover expired (PROXY_ND_LIFETIME) before it came announces itself with a UNA;
the NAR makes its neighbour entry as for any UNA and sends that handover's PAR an unsolicited
HAck Code 4 naming the node (MH-LLA, PCoA, NCoA), whose HI Code 1 then validates the entry
(§4). A PCoA served here (HAck Code 3, NAACK 3 or 4) keeps a host route and the PAR's tunnel
is delivered to the node for ``pcoa_service_lifetime``, after the buffer has drained (NAACK
status 3: docs/decisions.md D15; a DHCPv6 link answers every HI with Code 3: D18).

Events: ``fmip.hi_received`` (``code``, ``par``, ``ncoa``), ``fmip.hack_sent`` (``code``, ``ncoa``,
``unsolicited`` for Code 4), ``fmip.pcoa_served`` (``pcoa``, ``par``),
``fmip.pcoa_service_ended`` (``pcoa``, ``reason``),
``fmip.hi_late`` (``address``, ``since``: seconds since the UNA),
``fmip.buffered`` (``address``, ``queued``, ``data``: False for signalling, e.g. the FBack copy
sent to the NCoA), ``fmip.buffer_overflow`` (``address``, ``dropped``: the buffer's drops so far,
``flow``: the flow that lost a packet, ``flow_dropped``: its drops so far, ``evicted``: a queued
packet of that flow made room for another flow's arrival; :mod:`.buffer`),
``fmip.una`` (``address``, ``link_layer_address``, ``proxied``), ``fmip.naack_sent`` (``status``,
``address``, ``new_care_of_address``), ``fmip.drained`` (``address``, ``index``: one buffered packet
sent), ``fmip.flushed`` (``address``, ``packets``, ``overflow``, ``dropped_by_flow``,
``duration``),
``fmip.proxy_expired``.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from ...wire.icmpv6 import NeighborAdvertisement
from ...wire.ipv6 import IPv6Packet, encapsulate, new_packet
from ...wire.mh import HandoverAckCode, HandoverAcknowledge, HandoverInitiate
from ...wire.mh_options import (
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobilityOption,
)
from ...wire.nd_options import (
    NAACKStatus,
    NeighborAdvertisementAcknowledgment,
)
from ..base.actions import CaptureSource, Claim, ConfigureRoute, Transmit, new_transmit
from ..base.entity import Timer
from ..base.tables import BoundedTable
from .buffer import BufferBudget, HandoverBuffer
from .config import FastHandoverRouterConfig

if TYPE_CHECKING:
    from .router import FastHandoverRouter

C = HandoverAckCode
#: [choice] How many HAcks are remembered for retransmitted HIs.
_ANSWERS_KEPT = 256
#: [choice] How many recent arrivals (UNAs, module docstring) are remembered for late HIs.
ARRIVALS_KEPT = 256
#: [choice] How many PCoAs a NAR serves at once (HAck Code 3, NAACK 3); the oldest goes first.
SERVED_KEPT = 256
#: [choice] States remembered in a record's ``history``.
HISTORY_KEPT = 16


class NarState(Enum):
    """State of one mobile node's handover at the NAR."""

    NONE = "none"
    PROXYING = "proxying"
    HOST_ROUTE = "host_route"
    DRAINING = "draining"
    ATTACHED = "attached"


class NarInput(Enum):
    """What happens to a handover at the NAR."""

    HI_PROXY = "hi_proxy"  # HI Code 0 answered with HAck 0 or 2
    HI_PCOA = "hi_pcoa"  # HI Code 0 answered with HAck 3
    UNA = "una"
    DRAINED = "drained"
    PROXY_TIMEOUT = "proxy_timeout"


N, E = NarState, NarInput
#: (state, input) -> next state; a pair missing here leaves the state unchanged.
NAR_TRANSITIONS: dict[tuple[NarState, NarInput], NarState] = {
    (N.NONE, E.HI_PROXY): N.PROXYING,
    (N.NONE, E.HI_PCOA): N.HOST_ROUTE,
    (N.PROXYING, E.HI_PROXY): N.PROXYING,
    (N.PROXYING, E.UNA): N.DRAINING,
    (N.HOST_ROUTE, E.UNA): N.DRAINING,
    (N.DRAINING, E.DRAINED): N.ATTACHED,
    (N.PROXYING, E.PROXY_TIMEOUT): N.NONE,
    (N.HOST_ROUTE, E.PROXY_TIMEOUT): N.NONE,
}


def decide_handover(
    *, usable: bool, assigned_requested: bool, pool_address: IPv6Address | None,
    pcoa_supported: bool,
) -> tuple[int, bool]:
    """HAck Code for an HI Code 0 (§4 steps 1-4, §6.2.1.2), and whether the pool is used.

    ``usable``: the proposed NCoA is on this link and unique; ``pool_address``: an address
    the NAR could assign; ``pcoa_supported``: it may serve the PCoA instead (Code 3).
    """
    if usable:
        return (C.ACCEPTED_NCOA_ASSIGNED if assigned_requested else C.ACCEPTED_NCOA_VALID), False
    if pool_address is not None:
        return C.ACCEPTED_NCOA_ASSIGNED, True
    if pcoa_supported:
        return C.ACCEPTED_USE_PCOA, False
    return C.ACCEPTED_NCOA_NOT_VALID, False


@dataclass
class NarHandover:
    """The NAR's record of one mobile node arriving, keyed by its link-layer address."""

    link_layer_address: bytes
    par: IPv6Address
    state: NarState = NarState.NONE
    pcoa: IPv6Address | None = None
    #: The address the NAR serves for the MN: the (assigned) NCoA, or the PCoA for Code 3.
    address: IPv6Address | None = None
    buffer: HandoverBuffer | None = None
    timer: Timer | None = None
    drain_started: float = 0.0
    drained: int = 0
    claimed: bool = False
    host_route: bool = False
    #: The last states, for tests and debugging (bounded).
    history: deque[NarState] = field(default_factory=lambda: deque(maxlen=HISTORY_KEPT))

    def transition(self, event: NarInput) -> NarState:
        """Apply ``event`` with :data:`NAR_TRANSITIONS`."""
        self.history.append(self.state)
        self.state = NAR_TRANSITIONS.get((self.state, event), self.state)
        return self.state


@dataclass(frozen=True)
class Arrival:
    """A mobile node's announcement on this link (its first UNA from ``address``)."""

    link_layer_address: bytes
    at: float
    #: A handover was prepared for it (an HI came first), so a later HI is a new handover.
    prepared: bool


@dataclass
class PcoaService:
    """This router serves a mobile node's PCoA on its link (HAck Code 3, NAACK status 3 or 4):
    a host route to the node's link-layer address, packets from the PAR's tunnel delivered
    there, packets from the PCoA tunnelled back to the PAR (§4 step 3, §6.2.1.2, §6.4.6)."""

    pcoa: IPv6Address
    par: IPv6Address
    link_layer_address: bytes
    timer: Timer | None = None


class NewRouterRole:
    """The NAR half of :class:`~.router.FastHandoverRouter` (module docstring)."""

    def __init__(self, fmip: FastHandoverRouter) -> None:
        self.fmip = fmip
        self.router = fmip.router
        self.config: FastHandoverRouterConfig = fmip.config
        #: Handovers in progress by the MN's link-layer address (at most ``max_handovers``).
        self.handovers: dict[bytes, NarHandover] = {}
        #: The same records by the address they serve: one probe per packet, whatever their
        #: number.
        self.serving: dict[IPv6Address, NarHandover] = {}
        #: Neighbour cache entries made from UNAs (STALE, RFC 4861): address -> LLA; any host
        #: on the link can send UNAs, so the table is bounded and its entries expire.
        self.neighbors: BoundedTable[IPv6Address, bytes] = BoundedTable(
            self.config.neighbor_entries, lifetime=self.config.neighbor_lifetime,
            clock=lambda: self.router.now)
        #: Packets every buffer of this router holds together (RFC 5568 §5.4, §10).
        self.budget = BufferBudget(self.config.buffered_packets_total)
        #: HAcks sent, to answer a retransmitted HI alike (the last ``_ANSWERS_KEPT``).
        self._answered: OrderedDict[tuple[IPv6Address, int], HandoverAcknowledge] = (
            OrderedDict())
        #: Assignable addresses not yet handed out (ordered; removal is O(1)).
        self._pool = dict.fromkeys(a for a in self.config.address_pool
                                   if a not in self.config.addresses_in_use)
        #: Recent arrivals by address (module docstring), oldest first, at most ARRIVALS_KEPT.
        self.arrivals: OrderedDict[IPv6Address, Arrival] = OrderedDict()
        #: PCoAs served on this link, oldest first, at most SERVED_KEPT (module docstring).
        self.served: OrderedDict[IPv6Address, PcoaService] = OrderedDict()
        #: The same services by the node's link-layer address (the PCoA), as many as ``served``:
        #: a repeated UNA from the refused NCoA gets the same answer (§6.3, §6.4.6).
        self._served_by_lla: dict[bytes, IPv6Address] = {}
        #: Handovers whose preparation expired before the node came (PROXY_ND_LIFETIME), by
        #: link-layer address, with the time: a late UNA asks their PAR for an HI (HAck Code
        #: 4). Oldest first, at most ARRIVALS_KEPT.
        self._expired: OrderedDict[bytes, tuple[NarHandover, float]] = OrderedDict()
        #: Mobile nodes told to name this router's address as their NCoA (NAACK status 3),
        #: by link-layer address: when, oldest first, at most ARRIVALS_KEPT.
        self._told_router_address: OrderedDict[bytes, float] = OrderedDict()

    @property
    def prefix(self) -> IPv6Network:
        """The on-link prefix NCoAs must come from."""
        return self.router.config.prefix

    def by_address(self, address: IPv6Address) -> NarHandover | None:
        """The handover whose served address is ``address`` (O(1))."""
        return self.serving.get(address)

    def _usable(self, address: IPv6Address | None, lla: bytes) -> bool:
        if address is None or address not in self.prefix or address in self.config.addresses_in_use:
            return False
        owner = self.neighbors.get(address)
        served = self.by_address(address)
        return (owner in (None, lla)) and (served is None or served.link_layer_address == lla)

    def _pool_address(self, lla: bytes) -> IPv6Address | None:
        # Addresses leave the pool when assigned or taken by a neighbour, so the first one is
        # normally usable: the scan stops at once.
        for address in self._pool:
            if self._usable(address, lla):
                return address
        return None

    def _learn(self, address: IPv6Address, lla: bytes) -> None:
        """A neighbour entry from a UNA; an address in the pool is no longer assignable."""
        self.neighbors[address] = lla
        self._pool.pop(address, None)

    def table_sizes(self) -> dict[str, int]:
        """Handovers, neighbour entries, buffered packets, remembered answers, arrivals, served
        PCoAs, expired preparations and nodes told to use this router's address."""
        return {"nar_handovers": len(self.handovers), "nar_neighbors": len(self.neighbors),
                "nar_buffered": self.budget.used, "nar_answers": len(self._answered),
                "nar_arrivals": len(self.arrivals), "nar_served": len(self.served),
                "nar_served_by_lla": len(self._served_by_lla),
                "nar_expired": len(self._expired),
                "nar_told_router_address": len(self._told_router_address)}

    # -- HI (§6.2.1.1) -> HAck (§6.2.1.2) --------------------------------------------------

    def handover_initiate(self, packet: IPv6Packet, hi: HandoverInitiate) -> None:
        """Answer an HI from a neighbour PAR with a HAck, preparing for the MN."""
        router = self.router
        refused = self.fmip.router_auth.verify(packet, hi, router.now,
                                               encoded=router.received_mobility_header)
        if refused is not None:
            # RFC 5568 §10: only an HI authenticated by a peer router (a neighbour PAR, or a
            # MAP anchor under RFC 4140 Appendix A) prepares anything; a spoofed one would
            # have this router proxy a live host and discard its traffic.
            router.counters[f"drop.fmip_hi.{refused}"] += 1
            return
        cached = self._answered.get((packet.src, hi.sequence))
        if cached is not None:
            self._send_hack(packet, cached)  # a retransmitted HI gets the same answer
            return
        lla_option = next((o for o in hi.options if isinstance(o, MHLinkLayerAddress)), None)
        pcoa = _address_option(hi.options, IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS)
        ncoa = _address_option(hi.options, IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS)
        router.emit("fmip.hi_received", code=hi.code, par=packet.src, ncoa=ncoa, pcoa=pcoa,
                    sequence=hi.sequence, buffer=hi.buffer, assigned_address=hi.assigned_address)
        # RFC 5568 §5.6 ping-pong: the MN may come back with the PCoA this router still
        # forwards as its PAR; that forwarding ends first (before any claim of the address),
        # or the two routers would tunnel the address to each other.
        self.fmip.par.returning(ncoa)
        code, address = self._admit(packet.src, hi, lla_option, pcoa, ncoa)
        options: tuple[MobilityOption, ...] = ()
        if code == C.ACCEPTED_NCOA_ASSIGNED and address is not None:
            options = (IPv6AddressPrefixOption(
                option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS, prefix_length=128,
                address=address),)
        if lla_option is not None:
            # [choice] The MN's link-layer address is echoed (RFC 5568 §6.2.1.1 names the MN by
            # it) so that the PAR matches the HAck on router, sequence and mobile node.
            options = (*options, lla_option)
        hack = HandoverAcknowledge(sequence=hi.sequence, code=code, options=options)
        self._answered[(packet.src, hi.sequence)] = hack
        while len(self._answered) > _ANSWERS_KEPT:
            self._answered.popitem(last=False)
        self._send_hack(packet, hack)

    def _admit(self, par: IPv6Address, hi: HandoverInitiate, lla_option: MHLinkLayerAddress | None,
               pcoa: IPv6Address | None, ncoa: IPv6Address | None
               ) -> tuple[int, IPv6Address | None]:
        cfg = self.config
        if not cfg.accept_handovers:
            return C.ADMINISTRATIVELY_PROHIBITED, None
        if lla_option is None:
            return C.NOT_ACCEPTED, None  # §6.2.1.1: the MN's LLA MUST be included
        lla = lla_option.address
        if ncoa == self.fmip.address:
            # §6.4.6 status 3: a mobile node this router told to "use NAR's IP address as NCoA
            # in FBU". The PAR tunnels the PCoA's packets here; the node, already on this link,
            # keeps its PCoA, which this router now serves (NAACK status 3 -> tunnel to us).
            told = self._told_router_address.get(lla)
            if pcoa is None or told is None or self.router.now - told >= cfg.proxy_lifetime:
                # §6.2.1.2: "When responding to an HI message containing a Code value 1, the
                # Code values 1, 2, and 4 in the HAck message are not relevant": an HI Code 1
                # (the node on this link) naming this router's address is refused instead.
                if hi.code == 1:
                    return C.NOT_ACCEPTED, None
                return C.ACCEPTED_NCOA_NOT_VALID, None
            del self._told_router_address[lla]
            self._serve_pcoa(pcoa, par, lla)
            return C.ACCEPTED_NCOA_VALID, None
        stateful = self.fmip.stateful
        if hi.code == 1:
            if stateful and pcoa is not None:
                # §5.2, §6.1.2 Code 5: on a DHCPv6 link "the PAR and NAR will forward packets
                # to the PCoA"; the node is here (it sent the FBU from the new link).
                self._serve_pcoa(pcoa, par, lla)
                return C.ACCEPTED_USE_PCOA, None
            # §4: Code 1 skips DAD, proxying and assignment: the neighbour entry the UNA made
            # (or will make) is validated by the PAR's trust in the MN. Nothing is kept.
            return C.ACCEPTED_NCOA_VALID, None
        if self._already_here(ncoa, lla):
            # A late HI (module docstring): answer as for a valid NCoA, prepare nothing.
            code, _from_pool = decide_handover(
                usable=True, assigned_requested=hi.assigned_address, pool_address=None,
                pcoa_supported=False)
            return code, ncoa
        existing = self.handovers.get(lla)
        if existing is None and len(self.handovers) >= cfg.max_handovers:
            self.router.counters["fmip.hi_refused.max_handovers"] += 1
            return C.INSUFFICIENT_RESOURCES, None
        if existing is not None:
            # A new handover of the same MN: what is still buffered for it goes out now.
            while existing.state is NarState.DRAINING and existing.buffer is not None and (
                    (packet := existing.buffer.pop()) is not None):
                self._send_buffered(existing, packet)
            self._release(existing)
        if pcoa is not None and pcoa in self.served:
            # The node's PCoA is served here since an earlier visit, and a new handover of it
            # is being prepared: it went away in between, so that service is over (else this
            # router would deliver the tunnelled packets to a link the node is not on yet).
            self._end_service(pcoa, "left")
        record = NarHandover(link_layer_address=lla, par=par, pcoa=pcoa)
        pool = self._pool_address(lla)
        # §5.2: with DHCPv6 here the NCoA is never used for forwarding: the PCoA is served.
        code, from_pool = decide_handover(
            usable=self._usable(ncoa, lla) and not stateful,
            assigned_requested=hi.assigned_address,
            pool_address=None if stateful else pool,
            pcoa_supported=(cfg.support_previous_care_of_address or stateful)
            and pcoa is not None)
        if code == C.ACCEPTED_NCOA_NOT_VALID:
            return code, None
        if hi.buffer:
            record.buffer = HandoverBuffer(cfg.buffer_packets, budget=self.budget,
                                           fair=cfg.buffer_fairness)
        self.handovers[lla] = record
        if code == C.ACCEPTED_USE_PCOA:
            assert pcoa is not None
            record.address = pcoa
            record.transition(NarInput.HI_PCOA)
            # §4 step 3: a host route for the PCoA on the MN's interface; packets for it
            # reach this entity (no ND before the MN shows up).
            self.router.act(ConfigureRoute(prefix=IPv6Network(pcoa), interface=self.fmip.interface))
            record.host_route = True
        else:
            record.address = ncoa
            if from_pool and pool is not None:
                record.address = pool
                del self._pool[pool]
            record.transition(NarInput.HI_PROXY)
        assert record.address is not None
        self.serving[record.address] = record
        self.router.act(Claim(address=record.address, proxy_interface=self.fmip.interface))
        record.claimed = True
        record.timer = self.router.schedule(cfg.proxy_lifetime,
                                            lambda now: self._proxy_timeout(record))
        return code, record.address

    def _already_here(self, ncoa: IPv6Address | None, lla: bytes) -> bool:
        """True if ``ncoa`` announced itself with ``lla`` recently, with nothing prepared."""
        arrival = self.arrivals.get(ncoa) if ncoa is not None else None
        if arrival is None or arrival.prepared or arrival.link_layer_address != lla:
            return False
        since = self.router.now - arrival.at
        # (``ncoa`` is not None here: an arrival was found for it.)
        if since >= self.config.proxy_lifetime or (
                self.neighbors.get(ncoa) != lla):  # type: ignore[arg-type]
            return False
        self.router.emit("fmip.hi_late", address=ncoa, since=since)
        self.router.counters["fmip.hi_late"] += 1
        return True

    def _note_arrival(self, address: IPv6Address, lla: bytes, *, prepared: bool) -> None:
        """Remember a UNA as an arrival unless it repeats a recent one (module docstring)."""
        now = self.router.now
        previous = self.arrivals.get(address)
        if previous is not None and previous.link_layer_address == lla and (
                now - previous.at < self.config.proxy_lifetime):
            return
        self.arrivals.pop(address, None)
        self.arrivals[address] = Arrival(link_layer_address=lla, at=now, prepared=prepared)
        while len(self.arrivals) > ARRIVALS_KEPT:
            self.arrivals.popitem(last=False)

    def departed(self, address: IPv6Address) -> None:
        """The mobile node leaves ``address`` (an FBU for it, as PAR): no longer an arrival."""
        self.arrivals.pop(address, None)

    def _send_hack(self, hi_packet: IPv6Packet, hack: HandoverAcknowledge) -> None:
        # §6.2.1.2: addresses copied from the HI, swapped; §10: authenticated for the pair
        # (signed on every send, so a repeated answer carries a fresh timestamp).
        signed = self.fmip.router_auth.sign(hack, source=hi_packet.dst,
                                            destination=hi_packet.src, now=self.router.now)
        self.router.act(new_transmit(new_packet(hi_packet.dst, hi_packet.src, signed), None,
                                     None))
        self.router.emit("fmip.hack_sent", code=hack.code, sequence=hack.sequence,
                         par=hi_packet.src,
                         ncoa=_address_option(hack.options,
                                              IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS))

    def _proxy_timeout(self, record: NarHandover) -> None:
        record.timer = None
        if record.transition(NarInput.PROXY_TIMEOUT) is not NarState.NONE:
            return
        discarded = record.buffer.clear() if record.buffer is not None else 0
        self.router.emit("fmip.proxy_expired", address=record.address, discarded=discarded)
        if record.pcoa is not None:
            # If the node still comes, its PAR is asked for the context again (HAck Code 4).
            self._expired.pop(record.link_layer_address, None)
            self._expired[record.link_layer_address] = (record, self.router.now)
            while len(self._expired) > ARRIVALS_KEPT:
                self._expired.popitem(last=False)
        self._release(record)

    def _release(self, record: NarHandover) -> None:
        if record.timer is not None:
            record.timer.cancel()
            record.timer = None
        if record.claimed and record.address is not None:
            self.router.act(Claim(address=record.address, active=False))
            record.claimed = False
        if record.host_route and record.pcoa is not None and record.state is NarState.NONE:
            # The MN never came: the host route goes too (after a UNA it stays, as the
            # MN keeps using its PCoA here, NAACK status 4).
            self.router.act(ConfigureRoute(prefix=IPv6Network(record.pcoa),
                                           interface=self.fmip.interface, active=False))
            record.host_route = False
        if record.buffer is not None and len(record.buffer):
            # Whatever is still held goes (its share of the router's budget comes back).
            self.router.counters["fmip.buffer_discarded"] += record.buffer.clear()
        if self.handovers.get(record.link_layer_address) is record:
            del self.handovers[record.link_layer_address]
        if record.address is not None and self.serving.get(record.address) is record:
            del self.serving[record.address]

    # -- data plane: buffering (§5.4) ------------------------------------------------------

    def intercept(self, packet: IPv6Packet) -> bool:
        """Buffer (or drop) a packet for an address this NAR proxies; True if it was one."""
        record = self.by_address(packet.dst)
        if record is not None and record.state in (NarState.PROXYING, NarState.HOST_ROUTE):
            self._hold(record, packet)
            return True
        if packet.dst in self.neighbors:
            # Claimed before the UNA, arriving after it: forward to the neighbour entry.
            self._deliver(packet)
            return True
        return False

    def tunnelled(self, outer: IPv6Packet, inner: IPv6Packet) -> bool:
        """A PAR's tunnel to this NAR (HAck Code 3, NAACK 3): the inner packet is for a PCoA."""
        service = self.served.get(inner.dst)
        if service is not None and outer.src == service.par:
            self._deliver(inner)  # to the node's link-layer address (the neighbour entry)
            self.router.counters["fmip.pcoa_delivered"] += 1
            return True
        record = self.by_address(inner.dst)
        if record is None or outer.src != record.par:
            return False
        if record.state in (NarState.PROXYING, NarState.HOST_ROUTE):
            self._hold(record, inner)
        else:
            self._deliver(inner)
        return True

    def _hold(self, record: NarHandover, packet: IPv6Packet) -> None:
        buffer = record.buffer
        if buffer is None:
            self.router.counters["drop.fmip_not_buffered"] += 1
            return
        admission = buffer.push(packet, self.router.now)
        if admission.accepted:
            self.router.emit("fmip.buffered", address=record.address, queued=len(buffer),
                             data=not _signalling(packet))
        if admission.dropped is not None:
            # The buffer is full: the flow that pays is named (module docstring of .buffer).
            flow = admission.dropped
            self.router.counters["fmip.buffer_overflow"] += 1
            if admission.evicted:
                self.router.counters["fmip.buffer_evicted"] += 1
            self.router.emit("fmip.buffer_overflow", address=record.address,
                             dropped=buffer.overflow, flow=str(flow),
                             flow_dropped=buffer.drops.get(flow, 0),
                             evicted=admission.evicted)

    def _deliver(self, packet: IPv6Packet) -> None:
        # The NAR forwards the packet onto its link (from the PAR's tunnel, its buffer or its
        # proxy): RFC 8200 §3 and RFC 2473 §4.1.3, the hop limit goes down by one.
        forwarded = self.router.one_hop_less(packet)
        if forwarded is None:
            return
        self.router.act(Transmit(packet=forwarded, interface=self.fmip.interface,
                                 link_destination=self.neighbors.get(packet.dst)))

    # -- UNA (§6.3) and NAACK (§6.4.6) -----------------------------------------------------

    def unsolicited_neighbor_advertisement(self, packet: IPv6Packet,
                                           na: NeighborAdvertisement) -> bool:
        """Process a UNA from an arriving MN; True if it was one (a target = source NA)."""
        lla = na.target_link_layer_address
        if lla is None or packet.src != na.target or packet.hop_limit != 255:
            return False
        address = packet.src
        self.fmip.par.returning(address)  # §5.6: back here, no more forwarding it away
        if lla in self.config.unrecognized_link_layer_addresses:
            self._naack(packet, lla, NAACKStatus.LLA_UNRECOGNIZED)
            return True
        record = self.handovers.get(lla)
        served = self._served_by_lla.get(lla)
        if served is not None and served != address and (record is None
                                                         or record.address == served):
            # The node's PCoA is served here already and it repeats its UNA from the NCoA
            # (§6.3: UNAs may be retransmitted): the answer it may not have had yet, again.
            self._naack(packet, lla, NAACKStatus.PCOA_SUPPLIED_NO_FBU)
            return True
        if record is not None and record.state is NarState.HOST_ROUTE:
            # HAck Code 3: the NAR serves the PCoA; "PCoA supplied, do not send FBU". The
            # service outlives the record (which goes once the buffer is drained).
            assert record.address is not None
            record.host_route = False  # the service owns the host route from now on
            self._serve_pcoa(record.address, record.par, lla, routed=True)
            self._note_arrival(record.address, lla, prepared=True)
            self._naack(packet, lla, NAACKStatus.PCOA_SUPPLIED_NO_FBU)
            self._attached(record, address)
            return True
        if record is not None and record.state in (NarState.PROXYING, NarState.DRAINING):
            if record.address not in (None, address):
                # The NAR assigned another NCoA (HAck Code 2) the MN has not taken up.
                self._naack(packet, lla, NAACKStatus.NCOA_INVALID_USE_SUPPLIED,
                            record.address)
                return True
            self._learn(address, lla)
            self._note_arrival(address, lla, prepared=True)
            self._attached(record, address)
            return True
        if self._usable(address, lla):
            self._learn(address, lla)  # RFC 4861: a STALE entry, nothing proxied
            self._note_arrival(address, lla, prepared=False)
            self.router.emit("fmip.una", address=address, link_layer_address=lla,
                             proxied=False)
            self._request_context(lla, address)
            return True
        pool = self._pool_address(lla)
        if pool is not None:
            del self._pool[pool]
            self._naack(packet, lla, NAACKStatus.NCOA_INVALID_USE_SUPPLIED, pool)
        elif self.config.naack_use_router_address:
            self._told_router_address.pop(lla, None)
            self._told_router_address[lla] = self.router.now
            while len(self._told_router_address) > ARRIVALS_KEPT:
                self._told_router_address.popitem(last=False)
            self._naack(packet, lla, NAACKStatus.NCOA_INVALID_USE_NAR_ADDRESS)
        else:
            self._naack(packet, lla, NAACKStatus.NCOA_INVALID_CONFIGURE)
        return True

    def neighbor_advertisement(self, packet: IPv6Packet, na: NeighborAdvertisement) -> bool:
        """RFC 4861 §7.2.5 for a Neighbor Advertisement that is not a UNA (R, S or O set):
        e.g. the one with O set a mobile node sends once its NCoA is confirmed (RFC 5568
        §4). It is no arrival: a proxied NCoA stays proxied and its buffer held until the
        UNA, and nothing is drained again. An existing neighbour entry takes the Target
        Link-Layer Address when O is set (or the address is the same); without an entry
        the advertisement is discarded. Always consumed (True)."""
        if packet.hop_limit != 255 or (na.solicited and packet.dst.is_multicast):
            self.router.counters["drop.invalid_nd"] += 1  # RFC 4861 §7.1.2
            return True
        known = self.neighbors.get(na.target)
        if known is None:
            # "If no entry exists, the advertisement SHOULD be silently discarded."
            self.router.counters["nd.na_discarded"] += 1
            return True
        lla = na.target_link_layer_address
        if lla is not None and lla != known and na.override:
            self._learn(na.target, lla)  # the entry STALE with the advertised address
            self.router.counters["nd.na_overridden"] += 1
        else:
            self.router.counters["nd.na_unchanged"] += 1
        return True

    def _request_context(self, lla: bytes, address: IPv6Address) -> None:
        """A node arrives whose prepared handover expired: send its PAR an unsolicited HAck
        Code 4 (§6.2.1.2: "usually to trigger an HI message"), naming the node (MH-LLA) and
        its PCoA and NCoA, so that the PAR's HI validates the neighbour entry just made
        (§4: "Sending an HI message with Code 1 allows the NAR to validate the neighbor
        cache entry it creates for the MN during UNA processing"). [choice] Within the
        longest forwarding tunnel a PAR grants (``pcoa_service_lifetime``) of the expiry."""
        expired = self._expired.pop(lla, None)
        if expired is None:
            return
        record, at = expired
        if self.router.now - at >= self.config.pcoa_service_lifetime or record.pcoa is None:
            return
        options: tuple[MobilityOption, ...] = (
            IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS,
                                    prefix_length=128, address=record.pcoa),
            IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                    prefix_length=128, address=address),
            MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=lla))
        hack = HandoverAcknowledge(sequence=self.router.rng.randrange(1 << 16),
                                   code=C.UNSOLICITED, options=options)
        signed = self.fmip.router_auth.sign(hack, source=self.fmip.address,
                                            destination=record.par, now=self.router.now)
        self.router.act(Transmit(packet=IPv6Packet(src=self.fmip.address, dst=record.par,
                                                   payload=signed)))
        self.router.counters["fmip.hack_unsolicited"] += 1
        self.router.emit("fmip.hack_sent", code=hack.code, sequence=hack.sequence,
                         par=record.par, ncoa=address, unsolicited=True)

    def _attached(self, record: NarHandover, una_source: IPv6Address) -> None:
        """The MN is here: stop proxying, make a neighbour entry, drain the buffer (§4)."""
        proxied = record.state in (NarState.PROXYING, NarState.HOST_ROUTE)
        self.router.emit("fmip.una", address=una_source, proxied=proxied,
                         link_layer_address=record.link_layer_address, served=record.address)
        if not proxied:
            return  # a repeated UNA while draining
        if record.timer is not None:
            record.timer.cancel()
            record.timer = None
        record.transition(NarInput.UNA)
        assert record.address is not None
        if record.claimed:
            # §4: the proxy entry goes; arriving packets are forwarded as usual from now on.
            self.router.act(Claim(address=record.address, active=False))
            record.claimed = False
        record.drain_started, record.drained = self.router.now, 0
        buffer = record.buffer
        if buffer is not None:
            for packet in buffer.drain_burst():
                self._send_buffered(record, packet)
        self._drain_step(record)

    def _send_buffered(self, record: NarHandover, packet: IPv6Packet) -> None:
        record.drained += 1
        self._deliver(packet)
        self.router.emit("fmip.drained", address=record.address, index=record.drained)

    def _drain_step(self, record: NarHandover) -> None:
        buffer = record.buffer
        if buffer is not None and len(buffer):
            interval = buffer.interval or 0.0
            record.timer = self.router.schedule(interval, lambda now: self._paced(record))
            return
        record.timer = None
        record.transition(NarInput.DRAINED)
        self._release(record)
        if buffer is not None:
            self.router.emit("fmip.flushed", address=record.address, packets=record.drained,
                             overflow=buffer.overflow,
                             dropped_by_flow={str(f) if f is not None else "other": n
                                              for f, n in buffer.drops.items()},
                             duration=self.router.now - record.drain_started)

    def _paced(self, record: NarHandover) -> None:
        assert record.buffer is not None
        packet = record.buffer.pop()
        if packet is not None:
            self._send_buffered(record, packet)
        self._drain_step(record)

    def _naack(self, una: IPv6Packet, lla: bytes, status: int,
               address: IPv6Address | None = None) -> None:
        """RA with a NAACK to the UNA's source at the UNA's link-layer address (§6.4.6)."""
        naack = NeighborAdvertisementAcknowledgment(status=status, new_care_of_address=address)
        ra = self.router.advertiser.advertisement()
        ra = replace(ra, options=(*ra.options, naack))
        cfg = self.router.config
        self.router.act(Transmit(
            packet=IPv6Packet(src=cfg.link_local, dst=una.src, hop_limit=255, payload=ra),
            interface=cfg.interface, link_destination=lla))
        # Counted; as events at most REFUSAL_EVENTS_PER_SECOND a second (a UNA flood from
        # unusable NCoAs is logged as a counter, not one line per packet).
        self.router.refuse(f"fmip.naack.{int(status)}", "fmip.naack_sent", status=status,
                           address=una.src, new_care_of_address=address,
                           link_layer_address=lla)

    # -- reverse direction for HAck Code 3 (§4 step 3) -------------------------------------

    def from_mobile(self, packet: IPv6Packet) -> bool:
        """Tunnel a PCoA-sourced packet of a node whose PCoA is served here back to its PAR
        (§4 step 3: "a reverse tunnel to the PAR")."""
        service = self.served.get(packet.src)
        if service is None:
            return False
        destination = packet.dst
        if (destination.is_link_local or destination.is_multicast
                or destination == self.fmip.address):
            # Not for forwarding: RFC 4291 §2.5.6, routers "must not forward any packets with
            # Link-Local source or destination addresses to other links" (the node's Neighbor
            # Advertisements and Solicitations to this router), nor what is for this router.
            return False
        # RFC 2473 §3.1: a tunnel entry point that forwards the packet decrements its hop
        # limit before encapsulating it.
        inner = self.router.one_hop_less(packet)
        if inner is None:
            return True
        if destination == service.par:
            # For the PAR itself (a MAP anchoring the handover, RFC 4140 Appendix A: the
            # node's reverse tunnel to the MAP): forwarded as it is, as tunnelling it there
            # would be the same path, and the PAR forwards what it decapsulates onwards.
            self.router.act(Transmit(packet=inner))
            return True
        self.router.act(Transmit(packet=encapsulate(inner, src=self.fmip.address,
                                                    dst=service.par)))
        return True

    # -- serving a PCoA (§4 step 3, §6.2.1.2, §6.4.6 status 3 and 4) ----------------------

    def _serve_pcoa(self, pcoa: IPv6Address, par: IPv6Address, lla: bytes, *,
                    routed: bool = False) -> None:
        """Serve ``pcoa`` for the node at ``lla`` from now on, for ``pcoa_service_lifetime``
        (``routed``: the host route exists already, a Code 3 handover's)."""
        service = self.served.pop(pcoa, None)
        if service is None and not routed:
            # §4 step 3: a host route for the PCoA on the interface the node is on.
            self.router.act(ConfigureRoute(prefix=IPv6Network(pcoa),
                                           interface=self.fmip.interface))
        if service is not None:
            if service.timer is not None:
                service.timer.cancel()
            if self._served_by_lla.get(service.link_layer_address) == pcoa:
                del self._served_by_lla[service.link_layer_address]
        else:
            # §4 step 3: "a tunnel to the PAR to forward the MN's packets sent with the PCoA
            # as a source IP address" (:meth:`from_mobile`).
            self.router.act(CaptureSource(address=pcoa, interface=self.fmip.interface))
        service = PcoaService(pcoa=pcoa, par=par, link_layer_address=lla)
        self.served[pcoa] = service
        self._served_by_lla[lla] = pcoa
        self.neighbors[pcoa] = lla
        service.timer = self.router.schedule(self.config.pcoa_service_lifetime,
                                             lambda now: self._end_service(pcoa, "expired"))
        self.router.emit("fmip.pcoa_served", pcoa=pcoa, par=par, link_layer_address=lla)
        while len(self.served) > SERVED_KEPT:
            oldest = next(iter(self.served))
            self.router.counters["fmip.pcoa_service_evicted"] += 1
            self._end_service(oldest, "evicted")

    def end_service(self, address: IPv6Address) -> None:
        """``address`` belongs to a node of this link now: stop serving it as a PCoA."""
        self._end_service(address, "address_taken")

    def _end_service(self, pcoa: IPv6Address, reason: str) -> None:
        service = self.served.pop(pcoa, None)
        if service is None:
            return
        if service.timer is not None:
            service.timer.cancel()
        if self.neighbors.get(pcoa) == service.link_layer_address:
            del self.neighbors[pcoa]
        if self._served_by_lla.get(service.link_layer_address) == pcoa:
            del self._served_by_lla[service.link_layer_address]
        self.router.act(ConfigureRoute(prefix=IPv6Network(pcoa), interface=self.fmip.interface,
                                       active=False))
        self.router.act(CaptureSource(address=pcoa, interface=self.fmip.interface,
                                      active=False))
        self.router.emit("fmip.pcoa_service_ended", pcoa=pcoa, reason=reason)


def _signalling(packet: IPv6Packet) -> bool:
    """True if the innermost packet carries a Mobility Header or ICMPv6 message."""
    payload: object = packet
    while isinstance(payload, IPv6Packet):
        payload = payload.payload
    return hasattr(payload, "MH_TYPE") or hasattr(payload, "ICMP_TYPE")


def _address_option(options: tuple[MobilityOption, ...], code: int) -> IPv6Address | None:
    for option in options:
        if isinstance(option, IPv6AddressPrefixOption) and option.option_code == code:
            return option.address
    return None
