"""The previous access router's side of FMIPv6 (RFC 5568 §3.2, §4, §5.6, §6.2): the anchor.

:class:`PreviousRouterRole` runs wherever the fast handover is anchored, behind an
:class:`AnchorHost`: an access router (:class:`~.router.FastHandoverRouter`, RFC 5568) or a MAP in
an aggregation router above the access routers (:class:`~.map_anchor.MapFastHandover`, RFC 4140
Appendix A, Figure A.2: "the HI/HAck messages now occur between the MAP and NAR ... the anchor point
is moved from the PAR to the MAP"). What differs is the host's: the FBU's destination
(:attr:`AnchorHost.address`, also the HI and FBack source, the BADF's "PAR address" and the tunnel
source), which Home Address an FBU may name (:meth:`AnchorHost.refuse_home_address`: a PCoA on the
PAR's link, an RCoA bound at the MAP), the care-of address the node is leaving
(:meth:`AnchorHost.previous_care_of_address`: the PCoA itself at a PAR, the RCoA's registered LCoA
at a MAP), how the FBack reaches the old link, and how the redirected address is intercepted (the
PAR claims the PCoA with proxy ND; the MAP already intercepts the RCoA, RFC 5380 §6.2). Below,
"PCoA" is the FBU's Home Address.

On a Fast Binding Update (§6.2.2) the anchor

1. checks it: a Home Address option the host accepts, A = H = 1, BADF last and valid under
   the configured handover key (§6.4.5, :mod:`.security`), a newer sequence number;
   anything else is dropped with an event and changes nothing (no tunnel, no HI);
2. picks the NAR by longest prefix match of the NCoA (§4) and sends it a Handover Initiate:
   Code 0 when the FBU came from the care-of address being left (predictive, with the S and
   U flags of the configuration) or Code 1 otherwise (reactive, S = U = 0, §6.2.1.1), with
   the MN's link-layer address, that care-of address and the NCoA; the HI is retransmitted
   with the same sequence number after 2 x RTT (or 100 ms), doubling, up to HI_RETRIES times;
3. on the HAck (§6.2.1.2) sends the FBack (§6.2.3) to the NCoA and, in predictive mode,
   also to the previous care-of address on the old link, then intercepts the PCoA and
   tunnels packets for it to the NCoA (to the NAR for HAck Code 3, at a PAR), for the granted
   lifetime (§5.6: the FBU's lifetime, capped by ``max_tunnel_lifetime``);
4. decapsulates the MN's reverse-tunnelled packets (outer source = the bound NCoA, inner
   source = the PCoA) after checking that binding (§4, last paragraph) and forwards them.

Simultaneous bindings ([choice] docs/decisions.md D17, ``simultaneous_binding`` seconds, 0 =
off): RFC 5568 leaves the moment of the switch to the link layer, and asks the PAR to keep
delivering on the current link until the FBU (§3.3) and, when it buffers, to "continue
forwarding the packets to the PCoA (i.e., buffer and forward)" (§4); RFC 4140 Appendix A cites
"simultaneous bindings" (traffic sent to both the PAR and the NAR for a while) against handover
timing, ping-pong and failed link-layer handovers. With the option, after accepting a predictive
FBU the anchor delivers each packet for the PCoA (the RCoA at a MAP) both through the tunnel and
the old way (on the old link, or tunnelled to the old LCoA) for that time. The FBU has no flag
for it (the draft that defined one never became an RFC): it is the anchor's configuration. The
node may receive copies twice.

An FBU with lifetime 0 (ping-pong, §5.6) tears the tunnel down; an FBU for a PCoA that is
already bound (the MN arrived at an unexpected router, §5.6) starts a new HI and replaces the
binding when its HAck arrives, forwarding to the old NCoA meanwhile.

Resolved ambiguities ([choice]): an FBU for whose node the anchor knows no link-layer address
(no MH-LLA option, a "MAY" of §6.2.2, and no RtSolPr from it, which a MAP never hears) gets
FBack status 128 and no HI, since the HI's Link-Layer Address of MN option "MUST be included"
(§6.2.1.1); the address of an earlier FBU of the same fast binding serves a later one. HAck
Code 1 ("NCoA not valid", no alternative offered) and an HI that is never answered give FBack
status 128 and no tunnel: a tunnel to an address the NAR refused would be a black hole. HAck
Code 2 gives FBack status 1 with the assigned NCoA in an Alternate Care-of Address option
(§6.2.3 status 1). HAck codes 128-130 are copied into the FBack status; a code RFC 5568 does
not define (5-127, 131-255) gives status 128: the HI is answered, but with nothing the PAR can
act on. The FBack is sent after the HAck in reactive mode too (§6.2.3 allows sending it at
once). The FBack lifetime is the granted one, 0 when rejected.

State machine of one fast binding (:data:`PAR_TRANSITIONS`): ``NONE`` -FBU-> ``AWAITING_HACK``
-HAck accepted-> ``FORWARDING`` -FBU-> ``REBINDING`` -HAck accepted-> ``FORWARDING``; a
rejection, HI exhaustion, lifetime 0 or expiry lead back (to ``FORWARDING`` while an old tunnel
exists, else ``NONE``); at a MAP, ``FORWARDING`` -superseded-> ``NONE`` when a local BU
registers the new LCoA (the regular binding then carries the traffic).

Events: ``fmip.fbu_received`` (``pcoa``, ``ncoa``, ``mode``, ``sequence``, ``lifetime``),
``fmip.fbu_rejected`` (``reason``), ``fmip.hi_sent`` (``nar``, ``code``, ``sequence``,
``assigned_address``, ``buffer``, ``retransmission``), ``fmip.hi_failed``, ``fmip.hack``
(``code``, ``nar``, ``sequence``), ``fmip.fback_sent`` (``status``, ``destinations``),
``fmip.tunnel_up`` (``pcoa``, ``endpoint``, ``lifetime``), ``fmip.tunnel_down`` (``pcoa``,
``reason``), ``fmip.forwarded`` (``pcoa``, ``endpoint``), ``fmip.reverse_tunnelled`` (``pcoa``,
``destination``), ``fmip.reverse_tunnel_rejected`` (``pcoa``, ``source``).

HAck Code 3 at a MAP (:attr:`AnchorHost.tunnels_to_nar` False): the NAR serves the node's old
LCoA on its link, so the MAP keeps tunnelling the RCoA to that LCoA, each packet wrapped once
more to the NAR (which delivers the inner tunnel on its link), and answers the node with FBack
status 1 naming the old LCoA as Alternate CoA ("use NCoA supplied": keep it), [choice]
docs/decisions.md D16.

HAck Code 4 (unsolicited, "usually to trigger an HI", §6.2.1.2) from the NAR a fast binding
forwards to, naming that node, triggers an HI Code 1 for it (:meth:`PreviousRouterRole.
_unsolicited_hack`); its HAck changes nothing else. Every HAck code thus reaches the mobile
node as an FBack status (0, 2 -> 1 with the NCoA, 3 -> 0 and a tunnel to the NAR, whose NAACK
status 4 then tells the node to keep its PCoA; 1, 128-130 and the undefined codes -> a
refusal) or not at all (4).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv6Address
from typing import Protocol

from ...wire.ipv6 import IPv6Packet, encapsulate, new_packet
from ...wire.mh import (
    FastBindingAcknowledgement,
    FastBindingAckStatus,
    FastBindingUpdate,
    HandoverAckCode,
    HandoverAcknowledge,
    HandoverInitiate,
)
from ...wire.mh_options import (
    AlternateCareOfAddress,
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobilityOption,
)
from ..base.actions import Transmit, new_transmit
from ..base.backoff import RetransmissionTimer, fmip_backoff
from ..base.entity import Entity, Timer
from ..base.sequence import seq_newer
from ..mipv6.signalling import binding_care_of_address, find_option
from .config import FastHandoverAnchorConfig, HandoverKey, NeighborRouter
from .security import RouterAuthenticator, badf_of, sign_badf, verify_badf


class _AddressLookup(Protocol):
    """What the PAR role reads of a link-layer address table: ``get``."""

    def get(self, address: IPv6Address, /) -> bytes | None:
        """The link-layer address learnt for ``address``, if any."""
        ...


class AnchorHost(Protocol):
    """Where :class:`PreviousRouterRole` runs: an access router or a MAP (module docstring)."""

    #: HI/HAck authentication with the peer routers (RFC 5568 §10).
    router_auth: RouterAuthenticator

    @property
    def link_layer_addresses(self) -> _AddressLookup:
        """MN link-layer addresses learnt from RtSolPrs (RFC 5568 §6.1.1), keyed by address
        (a bounded table at an access router); read only here."""
        ...

    @property
    def router(self) -> Entity:
        """The entity that acts, emits, schedules and counts (the router or the MAP)."""
        ...

    @property
    def tunnels_to_nar(self) -> bool:
        """For HAck Code 3 ("use PCoA"): True, tunnel to the NAR (an access router's PCoA is
        the FBU's Home Address); False, keep tunnelling to the previous care-of address, through
        the NAR, and tell the node to keep it (a MAP: the RCoA's old LCoA)."""
        ...

    @property
    def config(self) -> FastHandoverAnchorConfig:
        """The PAR-role configuration (neighbours, keys, HI parameters)."""
        ...

    @property
    def address(self) -> IPv6Address:
        """FBU destination, HI and FBack source, BADF "PAR address", tunnel source."""
        ...

    def refuse_home_address(self, address: IPv6Address) -> str | None:
        """Why an FBU naming ``address`` in its Home Address option is refused, or None."""
        ...

    def previous_care_of_address(self, address: IPv6Address, ncoa: IPv6Address
                                 ) -> IPv6Address | None:
        """The care-of address the node leaves (the HI's PCoA option), None if unknown."""
        ...

    def deliver_on_old_link(self, packet: IPv6Packet, link_layer_address: bytes | None) -> None:
        """Send ``packet`` (an FBack) to the node on the link it is leaving (§6.2.3)."""
        ...

    def deliver_previous(self, packet: IPv6Packet, previous: IPv6Address,
                         link_layer_address: bytes | None) -> None:
        """Deliver a packet for the redirected address the way it went before the fast
        binding (simultaneous bindings): on the old link at a PAR, tunnelled to the
        ``previous`` care-of address at a MAP."""
        ...

    def intercept(self, address: IPv6Address, active: bool) -> None:
        """Start (or stop) receiving packets for the redirected ``address``."""
        ...


class ParState(Enum):
    """State of one fast binding at the PAR."""

    NONE = "none"
    AWAITING_HACK = "awaiting_hack"
    FORWARDING = "forwarding"
    REBINDING = "rebinding"


class ParInput(Enum):
    """What happens to a fast binding at the PAR."""

    FBU = "fbu"  # an authentic FBU with a lifetime
    HACK_ACCEPTED = "hack_accepted"
    HACK_REJECTED = "hack_rejected"
    HI_EXHAUSTED = "hi_exhausted"
    DELETE = "delete"  # FBU with lifetime 0 (§5.6)
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # (at a MAP) a local BU registered another LCoA


P, E = ParState, ParInput
#: (state, input) -> next state; a pair missing here is a no-op the PAR ignores.
PAR_TRANSITIONS: dict[tuple[ParState, ParInput], ParState] = {
    (P.NONE, E.FBU): P.AWAITING_HACK,
    (P.AWAITING_HACK, E.FBU): P.AWAITING_HACK,
    (P.FORWARDING, E.FBU): P.REBINDING,
    (P.REBINDING, E.FBU): P.REBINDING,
    (P.AWAITING_HACK, E.HACK_ACCEPTED): P.FORWARDING,
    (P.REBINDING, E.HACK_ACCEPTED): P.FORWARDING,
    (P.AWAITING_HACK, E.HACK_REJECTED): P.NONE,
    (P.REBINDING, E.HACK_REJECTED): P.FORWARDING,
    (P.AWAITING_HACK, E.HI_EXHAUSTED): P.NONE,
    (P.REBINDING, E.HI_EXHAUSTED): P.FORWARDING,
    (P.NONE, E.DELETE): P.NONE,
    (P.AWAITING_HACK, E.DELETE): P.NONE,
    (P.FORWARDING, E.DELETE): P.NONE,
    (P.REBINDING, E.DELETE): P.NONE,
    (P.FORWARDING, E.EXPIRED): P.NONE,
    (P.REBINDING, E.EXPIRED): P.NONE,
    (P.FORWARDING, E.SUPERSEDED): P.NONE,
}

#: HAck code -> FBack status for the codes that refuse the handover ([choice], docstring).
_REFUSED = {
    HandoverAckCode.ACCEPTED_NCOA_NOT_VALID: FastBindingAckStatus.REASON_UNSPECIFIED,
    HandoverAckCode.NOT_ACCEPTED: FastBindingAckStatus.REASON_UNSPECIFIED,
    HandoverAckCode.ADMINISTRATIVELY_PROHIBITED: FastBindingAckStatus.ADMINISTRATIVELY_PROHIBITED,
    HandoverAckCode.INSUFFICIENT_RESOURCES: FastBindingAckStatus.INSUFFICIENT_RESOURCES,
}


#: [choice] States remembered in a record's ``history``.
HISTORY_KEPT = 16

_ACCEPTED = frozenset({HandoverAckCode.ACCEPTED_NCOA_VALID, HandoverAckCode.ACCEPTED_NCOA_ASSIGNED,
                       HandoverAckCode.ACCEPTED_USE_PCOA})


@dataclass
class FastBinding:
    """The anchor's record of one mobile node's fast handover, keyed by the FBU's Home Address
    (the PCoA at a PAR, the RCoA at a MAP)."""

    pcoa: IPv6Address
    key: HandoverKey
    state: ParState = ParState.NONE
    #: The care-of address being left (the PCoA at a PAR, the old LCoA at a MAP).
    previous_care_of_address: IPv6Address | None = None
    last_sequence: int | None = None
    #: The FBU being served: its sequence, lifetime, source, NCoA, LLA, mode.
    fbu_sequence: int = 0
    fbu_lifetime: int = 0
    fbu_source: IPv6Address | None = None
    ncoa: IPv6Address | None = None
    link_layer_address: bytes | None = None
    predictive: bool = True
    nar: NeighborRouter | None = None
    hi_sequence: int = 0
    hi_backoff: RetransmissionTimer | None = None
    hi_timer: Timer | None = None
    #: The live tunnel: where packets for the PCoA go, and the NCoA that may reverse-tunnel.
    endpoint: IPv6Address | None = None
    bound_ncoa: IPv6Address | None = None
    expiry: Timer | None = None
    claimed: bool = False
    #: The outstanding HI answers a NAR's HAck Code 4 (no FBack, the tunnel unchanged).
    context_request: bool = False
    #: Until then packets are also delivered the old way (simultaneous bindings).
    bicast_until: float = 0.0
    #: HAck Code 3 at a MAP: the NAR the tunnel to the old LCoA goes through.
    via: IPv6Address | None = None
    #: The last states, for tests and debugging (bounded: a node may send FBUs forever).
    history: deque[ParState] = field(default_factory=lambda: deque(maxlen=HISTORY_KEPT))

    def transition(self, event: ParInput) -> ParState:
        """Apply ``event`` with :data:`PAR_TRANSITIONS` (unknown pairs leave the state)."""
        self.history.append(self.state)
        self.state = PAR_TRANSITIONS.get((self.state, event), self.state)
        return self.state


class PreviousRouterRole:
    """The PAR role (module docstring), run by an access router or a MAP (:class:`AnchorHost`).
    """

    def __init__(self, fmip: AnchorHost) -> None:
        self.fmip = fmip
        self.router = fmip.router
        #: Fast bindings in progress or forwarding, by PCoA (RCoA at a MAP); a record goes
        #: when its binding ends (state NONE).
        self.bindings: dict[IPv6Address, FastBinding] = {}
        #: The last FBU sequence number accepted per PCoA, kept after the record goes: the BADF
        #: carries no timestamp, so only this stops a captured FBU from being replayed. Only an
        #: authentic FBU writes it and each key is bound to one PCoA, so it holds at most one
        #: number per handover key.
        self.sequences: dict[IPv6Address, int] = {}
        #: The handover keys by SPI: one dictionary probe per FBU, whatever their number.
        keys = fmip.config.handover_keys
        self.keys: Mapping[int, HandoverKey] = (
            keys if isinstance(keys, Mapping) else {k.spi: k for k in keys})
        #: HAck Code 3 at a MAP: LCoAs a NAR serves -> that NAR (see :meth:`via`).
        self.served_via: dict[IPv6Address, IPv6Address] = {}
        #: Fast bindings waiting for a HAck, by (NAR address, HI sequence number): a HAck is
        #: matched with one probe; no two outstanding HIs to one NAR share a number.
        self.awaiting: dict[tuple[IPv6Address, int], FastBinding] = {}
        self._hi_sequence = fmip.router.rng.randrange(1 << 16)

    def table_sizes(self) -> dict[str, int]:
        """Fast bindings, retained sequence numbers, HIs awaiting a HAck."""
        return {"par_bindings": len(self.bindings), "par_sequences": len(self.sequences),
                "par_awaiting": len(self.awaiting)}

    def binding(self, pcoa: IPv6Address) -> FastBinding | None:
        """The fast binding of ``pcoa`` if one exists."""
        return self.bindings.get(pcoa)

    # -- FBU (§6.2.2) ----------------------------------------------------------------------

    def fast_binding_update(self, packet: IPv6Packet, fbu: FastBindingUpdate) -> None:
        """Check an FBU and start (or tear down) the fast binding it asks for."""
        pcoa = packet.home_address
        if pcoa is None:
            self._reject("no_home_address_option", packet)
            return
        refused = self.fmip.refuse_home_address(pcoa)
        if refused is not None:
            self._reject(refused, packet)
            return
        badf = badf_of(fbu)
        key = self.keys.get(badf.spi) if badf is not None else None
        if badf is None or key is None:
            self._reject("no_badf" if badf is None else "unknown_spi", packet)
            return
        if key.previous_care_of_address != pcoa:
            # §6.2.2, §10: the FBU must come from the node that owns the PCoA; a key redirects
            # its owner's address only.
            self._reject("key_not_for_pcoa", packet)
            return
        ncoa = binding_care_of_address(packet, fbu)
        if not verify_badf(fbu, key, care_of_address=ncoa, par_address=packet.dst,
                           encoded=self.fmip.router.received_mobility_header):
            self._reject("bad_authenticator", packet)
            return
        if not (fbu.ack and fbu.home_registration):
            self._reject("flags", packet)  # §6.2.2: A and H MUST be 1
            return
        last = self.sequences.get(pcoa)
        if last is not None and not seq_newer(fbu.sequence, last):
            self._reject("sequence", packet)
            return
        self.sequences[pcoa] = fbu.sequence
        record = self.bindings.get(pcoa)
        if record is None:
            record = FastBinding(pcoa=pcoa, key=key)
            self.bindings[pcoa] = record
        record.key = key
        record.last_sequence = fbu.sequence
        previous = self.fmip.previous_care_of_address(pcoa, ncoa)
        record.previous_care_of_address = previous
        nar = self.fmip.config.neighbor_for(ncoa)
        # §4: an FBU from the PCoA is predictive (HI Code 0); from elsewhere reactive (Code 1).
        # An NCoA that is the NAR's own address comes from a node the NAR answered with NAACK
        # status 3 (§6.4.6): on the NAR's link already, still sending from its PCoA: reactive.
        at_nar = nar is not None and ncoa == nar.address
        mode = "predictive" if packet.src == previous and not at_nar else "reactive"
        self.router.emit("fmip.fbu_received", pcoa=pcoa, ncoa=ncoa, mode=mode,
                         sequence=fbu.sequence, lifetime=fbu.lifetime, source=packet.src)
        if fbu.lifetime == 0:
            self._delete(record, packet, fbu)
            return
        lla = find_option(fbu, MHLinkLayerAddress)
        # An FBU retransmission: the HI under way serves it (the FBack echoes the newest).
        retransmission = (record.state in (ParState.AWAITING_HACK, ParState.REBINDING)
                          and record.ncoa == ncoa and record.nar == nar
                          and record.hi_timer is not None)
        record.fbu_sequence, record.fbu_lifetime = fbu.sequence, fbu.lifetime
        record.fbu_source, record.ncoa = packet.src, ncoa
        record.predictive = mode == "predictive"
        # The MN's link-layer address: the FBU's MH-LLA (optional, §6.2.2 "MAY"), else the one
        # its RtSolPr gave (§6.1.1), else the one its previous FBU to this anchor named.
        record.link_layer_address = (lla.address if lla is not None else
                                     self.fmip.link_layer_addresses.get(pcoa)
                                     or record.link_layer_address)
        if nar is None or not nar.fast_handover:
            # No neighbour serves the NCoA: nothing to hand over to.
            self.router.emit("fmip.fbu_rejected", reason="no_nar", source=packet.src)
            self._fback(record, FastBindingAckStatus.REASON_UNSPECIFIED, lifetime=0)
            if record.state is ParState.NONE:
                self._forget(record)
            return
        if record.link_layer_address is None:
            # §6.2.1.1: the HI's Link-Layer Address of MN option "MUST be included so that the
            # destination can recognize the MN", and this anchor knows none: no MH-LLA in the
            # FBU and no RtSolPr from the node (a MAP hears none, RFC 4140 Appendix A). No HI
            # it could send would be valid: the FBU is refused (FBack 128), nothing started.
            self.router.refuse("fmip.fbu_rejected.no_link_layer_address", "fmip.fbu_rejected",
                               reason="no_link_layer_address", source=packet.src)
            self._fback(record, FastBindingAckStatus.REASON_UNSPECIFIED, lifetime=0)
            if record.state is ParState.NONE:
                self._forget(record)
            return
        if retransmission:
            return
        waiting = record.nar is not None and (
            (record.nar.address, record.hi_sequence) in self.awaiting)
        if not waiting and len(self.awaiting) >= self.fmip.config.max_pending_handovers:
            # Too many handovers waiting for a HAck at once: refused, nothing started.
            self.router.counters["fmip.fbu_refused.pending_handovers"] += 1
            self._fback(record, FastBindingAckStatus.INSUFFICIENT_RESOURCES, lifetime=0)
            if record.state is ParState.NONE:
                self._forget(record)
            return
        sequence = self._next_hi_sequence(nar.address)
        if sequence is None:
            self.router.counters["fmip.fbu_refused.hi_sequences"] += 1
            self._fback(record, FastBindingAckStatus.INSUFFICIENT_RESOURCES, lifetime=0)
            if record.state is ParState.NONE:
                self._forget(record)
            return
        self._cancel_hi(record)  # before ``nar`` changes: it indexes the awaited HAck
        record.nar = nar
        record.transition(ParInput.FBU)
        record.hi_sequence = sequence
        self.awaiting[(nar.address, record.hi_sequence)] = record
        record.hi_backoff = fmip_backoff(self.fmip.config.hi_retries, self.fmip.config.rtt)
        self._send_hi(record, retransmission=False)

    def _reject(self, reason: str, packet: IPv6Packet) -> None:
        # A flood of forged FBUs is counted; only a few events a second are logged.
        self.router.refuse(f"fmip.fbu_rejected.{reason}", "fmip.fbu_rejected", reason=reason,
                           source=packet.src)

    def _forget(self, record: FastBinding) -> None:
        """Drop an ended record (its PCoA's last sequence number stays in ``sequences``)."""
        if self.bindings.get(record.pcoa) is record:
            del self.bindings[record.pcoa]

    def _delete(self, record: FastBinding, packet: IPv6Packet, fbu: FastBindingUpdate) -> None:
        """Lifetime 0 (§5.6): end the temporary tunnel and deliver directly again."""
        self._cancel_hi(record)
        record.fbu_sequence, record.fbu_source = fbu.sequence, packet.src
        record.ncoa = binding_care_of_address(packet, fbu)
        # The interception and the tunnel end before the FBack leaves: a packet the node
        # sends once it has the FBack must not find the PCoA still intercepted here (a real
        # router would take it off its link and drop it).
        self._teardown(record, "fbu_lifetime_zero", ParInput.DELETE)
        self._fback(record, FastBindingAckStatus.ACCEPTED, lifetime=0)

    # -- HI / HAck (§6.2.1) ----------------------------------------------------------------

    def _next_hi_sequence(self, nar: IPv6Address) -> int | None:
        """The next HI sequence number not outstanding towards ``nar`` (§6.2.1.1: "so replies
        can be matched"), or None when all 2**16 are (only with ``max_pending_handovers``
        raised beyond its default)."""
        for _ in range(1 << 16):
            self._hi_sequence = (self._hi_sequence + 1) & 0xFFFF
            if (nar, self._hi_sequence) not in self.awaiting:
                return self._hi_sequence
        return None

    def _send_hi(self, record: FastBinding, *, retransmission: bool) -> None:
        cfg, nar, backoff = self.fmip.config, record.nar, record.hi_backoff
        assert nar is not None and backoff is not None and record.ncoa is not None
        code = 0 if record.predictive else 1
        options: list[MobilityOption] = []
        if record.previous_care_of_address is not None:  # §6.2.1.1: SHOULD
            options.append(IPv6AddressPrefixOption(
                option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS, prefix_length=128,
                address=record.previous_care_of_address))
        options.append(IPv6AddressPrefixOption(
            option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS, prefix_length=128,
            address=record.ncoa))
        if record.link_layer_address is not None:
            options.append(MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                                              address=record.link_layer_address))
        # §6.2.1.1: S MAY be set only with Code 0; U is used with Code 0.
        hi = HandoverInitiate(
            sequence=record.hi_sequence, code=code, options=tuple(options),
            assigned_address=cfg.request_assigned_address and code == 0,
            buffer=cfg.request_buffering and code == 0,
        )
        # §10: authenticated for the router pair, signed anew (a fresh timestamp) each time.
        signed = self.fmip.router_auth.sign(hi, source=self.fmip.address, destination=nar.address,
                                            now=self.router.now)
        self.router.act(new_transmit(new_packet(self.fmip.address, nar.address, signed), None,
                                     None))
        timeout = backoff.next_timeout()
        record.hi_timer = self.router.schedule(timeout, lambda now: self._hi_timeout(record))
        self.router.emit("fmip.hi_sent", nar=nar.address, code=code, sequence=hi.sequence,
                         assigned_address=hi.assigned_address, buffer=hi.buffer,
                         retransmission=retransmission, timeout=timeout)

    def _hi_timeout(self, record: FastBinding) -> None:
        record.hi_timer = None
        if record.state not in (ParState.AWAITING_HACK, ParState.REBINDING):
            return
        assert record.hi_backoff is not None
        if not record.hi_backoff.exhausted:
            self._send_hi(record, retransmission=True)  # §6.2.1.1, same sequence number
            return
        self._cancel_hi(record)  # no HAck is awaited any more
        self.router.emit("fmip.hi_failed", pcoa=record.pcoa, nar=record.nar and record.nar.address)
        self._fback(record, FastBindingAckStatus.REASON_UNSPECIFIED, lifetime=0)
        self._after_refusal(record, ParInput.HI_EXHAUSTED)

    def _cancel_hi(self, record: FastBinding) -> None:
        if record.hi_timer is not None:
            record.hi_timer.cancel()
            record.hi_timer = None
        if record.nar is not None:
            key = (record.nar.address, record.hi_sequence)
            if self.awaiting.get(key) is record:
                del self.awaiting[key]

    def handover_acknowledge(self, packet: IPv6Packet, hack: HandoverAcknowledge) -> None:
        """Match a HAck to its HI and answer the MN with the FBack (§6.2.1.2, §6.2.3).

        Only a HAck authenticated by the NAR (§10, :class:`~.security.RouterAuthenticator`)
        counts; it is matched on (NAR, sequence number) and, when it names the mobile node
        with its link-layer address (as this implementation's NAR does), on that node too.
        """
        refused = self.fmip.router_auth.verify(
            packet, hack, self.router.now, encoded=self.router.received_mobility_header)
        if refused is not None:
            self.router.counters[f"drop.fmip_hack.{refused}"] += 1
            return
        if hack.code == HandoverAckCode.UNSOLICITED:
            self._unsolicited_hack(packet, hack)
            return
        record = self.awaiting.get((packet.src, hack.sequence))
        lla = find_option(hack, MHLinkLayerAddress)
        if record is None or (lla is not None and lla.address != record.link_layer_address):
            self.router.counters["drop.fmip_hack_unexpected"] += 1
            return
        self._cancel_hi(record)
        self.router.emit("fmip.hack", code=hack.code, nar=packet.src, sequence=hack.sequence,
                         pcoa=record.pcoa)
        assert record.ncoa is not None and record.nar is not None
        if record.context_request:
            # The answer to an HI a HAck Code 4 asked for: the NAR has the context now; the
            # tunnel, its lifetime and the node's FBack stay as they were.
            record.context_request = False
            record.transition(ParInput.HACK_ACCEPTED if hack.code in _ACCEPTED
                              else ParInput.HACK_REJECTED)
            self.router.emit("fmip.context_sent", pcoa=record.pcoa, nar=packet.src,
                             code=hack.code)
            return
        use_pcoa = hack.code == HandoverAckCode.ACCEPTED_USE_PCOA
        no_tunnel = use_pcoa and not self.fmip.tunnels_to_nar and (
            record.previous_care_of_address is None)
        if hack.code not in _ACCEPTED or no_tunnel:
            # A refusal (1, 128-130) or a code RFC 5568 does not define (5-127, 131-255):
            # nothing to tunnel on. (Code 4 was handled above.)
            status = _REFUSED.get(hack.code,  # type: ignore[call-overload]
                                  FastBindingAckStatus.REASON_UNSPECIFIED)
            self._fback(record, status, lifetime=0)
            self._after_refusal(record, ParInput.HACK_REJECTED)
            return
        status, alternate, endpoint = FastBindingAckStatus.ACCEPTED, None, record.ncoa
        if hack.code == HandoverAckCode.ACCEPTED_NCOA_ASSIGNED:
            assigned = next((o.address for o in hack.options
                             if isinstance(o, IPv6AddressPrefixOption)
                             and o.option_code == IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS), None)
            if assigned is not None and assigned != record.ncoa:
                # §4: the FBack MUST carry the assigned NCoA; status 1 + Alternate CoA.
                status, alternate, endpoint = (FastBindingAckStatus.ACCEPTED_NCOA_INVALID,
                                               assigned, assigned)
        elif use_pcoa and self.fmip.tunnels_to_nar:
            endpoint = record.nar.address  # §6.2.1.2: tunnel to the NAR
        elif use_pcoa:
            # At a MAP (RFC 4140 Appendix A): the NAR serves the old LCoA on its link, so the
            # MAP's tunnel keeps going to that LCoA, through the NAR; the node is told to keep
            # it with FBack status 1 and the LCoA as Alternate CoA (§6.2.3).
            assert record.previous_care_of_address is not None
            endpoint = record.previous_care_of_address
            status = FastBindingAckStatus.ACCEPTED_NCOA_INVALID
            alternate = record.previous_care_of_address
        lifetime = min(record.fbu_lifetime, self.fmip.config.max_tunnel_lifetime)
        old_endpoint = record.endpoint
        record.ncoa = alternate or record.ncoa
        if not record.claimed:
            # Intercept the PCoA on the MN's old link (proxy ND) from now on, before the
            # FBack: in predictive mode the FBack lets the MN leave, and whatever arrives for
            # the PCoA once it has gone must already be tunnelled, not delivered on the old
            # link (actions take effect in order: on real packets the interception is a
            # route that the kernel must hold before the MN gets the FBack).
            self.fmip.intercept(record.pcoa, True)
            record.claimed = True
        self._fback(record, status, lifetime=lifetime, alternate=alternate)
        record.transition(ParInput.HACK_ACCEPTED)
        record.endpoint, record.bound_ncoa = endpoint, record.ncoa
        record.via = record.nar.address if use_pcoa and not self.fmip.tunnels_to_nar else None
        if record.via is not None:
            self.served_via[endpoint] = record.via
        window = self.fmip.config.simultaneous_binding
        if window > 0 and record.predictive:
            # The node may still be on the old link for a while (it leaves when its link
            # layer does, RFC 5568 §3.3, §5.4; RFC 4140 Appendix A "simultaneous bindings").
            record.bicast_until = self.router.now + window
        if record.expiry is not None:
            record.expiry.cancel()
        record.expiry = self.router.schedule(
            lifetime, lambda now: self._teardown(record, "expired", ParInput.EXPIRED))
        self.router.emit("fmip.tunnel_up", pcoa=record.pcoa, endpoint=endpoint,
                         ncoa=record.ncoa, lifetime=lifetime, replaced=old_endpoint)
        if record.ncoa != record.previous_care_of_address and (
                self.fmip.previous_care_of_address(record.pcoa, record.ncoa) is None):
            # (At a MAP) the local BU from the new link registered the NCoA before this HAck
            # came (a late trigger): the regular binding carries the traffic already, and a
            # fast binding left behind would outlive it and misdirect the next handover.
            self._teardown(record, "superseded", ParInput.SUPERSEDED)

    def _unsolicited_hack(self, packet: IPv6Packet, hack: HandoverAcknowledge) -> None:
        """HAck Code 4, "sent unsolicited, usually to trigger an HI message" (§6.2.1.2).

        A NAR sends it when a mobile node it had prepared for arrives after that preparation
        expired (:mod:`.nar`); it names the node (MH-LLA) and its PCoA. If this anchor still
        forwards that PCoA to that NAR, it sends an HI again, Code 1 (the node is on the NAR's
        link, §4), so that the NAR validates the node's neighbour entry; nothing else changes.
        """
        lla = find_option(hack, MHLinkLayerAddress)
        pcoa = next((o.address for o in hack.options if isinstance(o, IPv6AddressPrefixOption)
                     and o.option_code == IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS), None)
        record = self.bindings.get(pcoa) if pcoa is not None else None
        if (record is None or record.state is not ParState.FORWARDING or record.nar is None
                or record.nar.address != packet.src or lla is None
                or lla.address != record.link_layer_address):
            self.router.counters["drop.fmip_hack_unsolicited"] += 1
            return
        self.router.emit("fmip.hack", code=hack.code, nar=packet.src, sequence=hack.sequence,
                         pcoa=record.pcoa)
        sequence = self._next_hi_sequence(record.nar.address)
        if sequence is None:
            self.router.counters["drop.fmip_hack_unsolicited"] += 1
            return
        record.transition(ParInput.FBU)  # FORWARDING -> REBINDING: an HI is outstanding
        record.context_request, record.predictive = True, False
        record.hi_sequence = sequence
        self.awaiting[(record.nar.address, record.hi_sequence)] = record
        record.hi_backoff = fmip_backoff(self.fmip.config.hi_retries, self.fmip.config.rtt)
        self._send_hi(record, retransmission=False)

    def _after_refusal(self, record: FastBinding, event: ParInput) -> None:
        if record.transition(event) is ParState.NONE:
            self._teardown(record, "refused", None)

    def _fback(self, record: FastBinding, status: int, *, lifetime: int,
               alternate: IPv6Address | None = None) -> None:
        """Send the FBack to the NCoA and, predictive, to the PCoA on the old link (§6.2.3)."""
        options: tuple[MobilityOption, ...] = ()
        if alternate is not None:
            options = (AlternateCareOfAddress(address=alternate),)
        message = FastBindingAcknowledgement(status=status, sequence=record.fbu_sequence,
                                             lifetime=lifetime, options=options)
        assert record.ncoa is not None
        message = sign_badf(message, record.key, care_of_address=alternate or record.ncoa,
                            par_address=self.fmip.address)
        destinations: list[IPv6Address] = []
        old = record.previous_care_of_address
        target = alternate or record.ncoa
        if record.nar is not None and target == record.nar.address and old is not None:
            # NCoA = the NAR's address (NAACK status 3, §6.4.6): the node keeps its PCoA on
            # the NAR's link; the FBack goes there through the tunnel to the NAR.
            packet = IPv6Packet(src=self.fmip.address, dst=old, payload=message)
            self.router.act(Transmit(packet=encapsulate(packet, src=self.fmip.address,
                                                        dst=target)))
            self.router.emit("fmip.fback_sent", status=status, sequence=record.fbu_sequence,
                             lifetime=lifetime, destinations=(old,), pcoa=record.pcoa)
            return
        if old is not None and record.fbu_source == old and record.predictive:
            # The MN may still be on the old link: deliver there at its link-layer address.
            destinations.append(old)
            self.fmip.deliver_on_old_link(
                IPv6Packet(src=self.fmip.address, dst=old, payload=message),
                record.link_layer_address)
        if target not in destinations:
            destinations.append(target)
            self.router.act(Transmit(packet=IPv6Packet(src=self.fmip.address, dst=target,
                                                       payload=message)))
        self.router.emit("fmip.fback_sent", status=status, sequence=record.fbu_sequence,
                         lifetime=lifetime, destinations=tuple(destinations), pcoa=record.pcoa)

    def _teardown(self, record: FastBinding, reason: str, event: ParInput | None) -> None:
        if event is not None:
            record.transition(event)
        if record.state is not ParState.NONE:
            return
        self._cancel_hi(record)
        if record.expiry is not None:
            record.expiry.cancel()
            record.expiry = None
        if record.claimed:
            self.fmip.intercept(record.pcoa, False)
            record.claimed = False
        had_tunnel = record.endpoint is not None
        if record.via is not None and record.endpoint is not None:
            self.served_via.pop(record.endpoint, None)
        record.endpoint = record.bound_ncoa = record.via = None
        if had_tunnel:
            self.router.emit("fmip.tunnel_down", pcoa=record.pcoa, reason=reason)
        # The record goes; its last sequence number stays: replayed FBUs remain stale.
        self._forget(record)

    def superseded(self, address: IPv6Address, care_of_address: IPv6Address) -> None:
        """A regular binding moved ``address`` to ``care_of_address`` (a MAP's local BU).

        RFC 4140 Appendix A: the FBU anticipates the local BU; once the MAP registers a care-of
        address other than the one the fast binding redirects from, the redirection ends and
        the ordinary MAP tunnel carries the traffic.
        """
        record = self.bindings.get(address)
        if record is None or care_of_address == record.previous_care_of_address:
            return
        if record.state is ParState.FORWARDING:
            self._teardown(record, "superseded", ParInput.SUPERSEDED)
        elif record.state is ParState.REBINDING and record.endpoint is not None:
            # A new handover is under way while the previous fast binding still forwards:
            # that older tunnel must not override the newer regular binding (it would send
            # the node's packets to a care-of address it has left); the HI goes on.
            if record.expiry is not None:
                record.expiry.cancel()
                record.expiry = None
            record.endpoint = record.bound_ncoa = None
            self.router.emit("fmip.tunnel_down", pcoa=record.pcoa, reason="superseded")

    def via(self, address: IPv6Address) -> IPv6Address | None:
        """The NAR that serves ``address`` (an old LCoA, HAck Code 3 at a MAP), or None."""
        return self.served_via.get(address)

    def bound_care_of_address(self, address: IPv6Address) -> IPv6Address | None:
        """The NCoA a live fast binding of ``address`` forwards to (may reverse-tunnel), or None."""
        record = self.bindings.get(address)
        return record.bound_ncoa if record is not None and record.endpoint is not None else None

    def returning(self, address: IPv6Address | None) -> bool:
        """The mobile node is coming back with ``address``, a PCoA this anchor still forwards
        (RFC 5568 §5.6 ping-pong: a new handover towards this router, announced by an HI):
        stop forwarding it away. True if a fast binding ended."""
        record = self.bindings.get(address) if address is not None else None
        if record is None or record.state is ParState.NONE:
            return False
        self._cancel_hi(record)
        self._teardown(record, "returned", ParInput.DELETE)
        return True

    # -- data plane (§4: forwarding and reverse tunnel) -------------------------------------

    def forward(self, packet: IPv6Packet) -> bool:
        """Tunnel a packet for a bound PCoA to its NCoA (or NAR); True if it was one."""
        record = self.bindings.get(packet.dst)
        if record is None or record.endpoint is None:
            return False
        inner = self.router.one_hop_less(packet)
        if inner is None:
            return True
        # §4: the tunnel source is the PAR's global address on the MN's old interface.
        outer = encapsulate(inner, src=self.fmip.address, dst=record.endpoint)
        if record.via is not None:
            outer = encapsulate(outer, src=self.fmip.address, dst=record.via)  # HAck 3 at a MAP
        self.router.act(Transmit(packet=outer))
        self.router.counters["fmip.forwarded"] += 1
        self.router.emit("fmip.forwarded", pcoa=record.pcoa, endpoint=record.endpoint)
        previous = record.previous_care_of_address
        if self.router.now < record.bicast_until and previous is not None:
            # Simultaneous bindings (module docstring): a copy the old way too.
            self.fmip.deliver_previous(inner, previous, record.link_layer_address)
            self.router.counters["fmip.bicast"] += 1
        return True

    def reverse_tunnel(self, outer: IPv6Packet, inner: IPv6Packet) -> bool:
        """Forward a packet the MN reverse-tunnelled from its NCoA (§4); True if handled."""
        record = self.bindings.get(inner.src)
        if record is None:
            return False
        nar = record.nar.address if record.nar is not None else None
        if record.endpoint is None or outer.src not in (record.bound_ncoa, nar):
            # §4: "it must verify if a secure binding exists ... before forwarding".
            self.router.refuse("drop.fmip_reverse_unbound", "fmip.reverse_tunnel_rejected",
                               pcoa=inner.src, source=outer.src)
            return True
        forwarded = self.router.one_hop_less(inner)
        if forwarded is None:
            return True
        self.router.act(Transmit(packet=forwarded))
        self.router.counters["fmip.reverse_tunnelled"] += 1
        self.router.emit("fmip.reverse_tunnelled", pcoa=inner.src, destination=inner.dst)
        return True
