"""Configuration of the FMIPv6 components (RFC 5568 §9 parameters, neighbourhood, keys).

Frozen keyword-only dataclasses, validated when built, like :mod:`mipshop.protocol.mipv6.config`.
The access-router side is :class:`FastHandoverRouterConfig` (given to
:class:`~mipshop.protocol.access_router.AccessRouter`); its PAR-role part,
:class:`FastHandoverAnchorConfig`, is also what a MAP anchoring fast handovers gets (RFC 4140
Appendix A, ``MapConfig.fast_handover``); the mobile-node side is :class:`FastHandoverClientConfig`,
whose :class:`AnchorPlacement` says where the FBU goes.

Security (docs/architecture.md, "Security stance"): the MN-PAR handover key that keys the BADF
option (RFC 5568 §6.4.5) is configured on both sides, bound at the anchor to its owner's PCoA;
RFC 5269 key distribution is out of scope. PAR-NAR (and MAP-NAR) signalling, HI and HAck, is
authenticated with a shared key per router pair (:class:`RouterKey`, :mod:`.security`), standing
in for the IPsec security association RFC 5568 §10 requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv6Address, IPv6Network

from ...wire.nd_options import MAPOption
from ..base.constants import (
    FBU_RETRIES,
    HI_RETRIES,
    MAX_NEIGHBOR_ADVERTISEMENT,
    MAX_RTSOLPR_RATE,
    PROXY_ND_LIFETIME,
    RTSOLPR_RETRIES,
)
from ..mipv6.mn_ha_auth import SecurityAssociation

#: [choice] FBU lifetime the mobile node asks for: RFC 5568 §5.6 wants temporary tunnels of
#: "the order of tens of seconds", long enough to update every binding. 40 s = 10 units of 4 s.
DEFAULT_FBU_LIFETIME = 40
#: [choice] Largest forwarding-tunnel lifetime a PAR grants (RFC 5568 §5.6: tens of seconds).
DEFAULT_MAX_TUNNEL_LIFETIME = 120
#: [choice] NAR handover buffer size per mobile node, in packets (RFC 5568 §5.4: local policy,
#: MUST be bounded). 64 packets hold 1.28 s of a 20 ms voice stream.
DEFAULT_BUFFER_PACKETS = 64
#: [choice] Packets all of a NAR's handover buffers hold together (RFC 5568 §10: buffering
#: "could create resource exhaustion concerns"): 16,384, about 24 MB of 1500-octet packets.
DEFAULT_BUFFERED_PACKETS_TOTAL = 16_384
#: [choice] Handovers a NAR prepares at once (HAck 130 beyond), and HIs a PAR (or MAP anchor)
#: awaits answers to at once (FBack 130 beyond; below 2**16, the HI sequence space of one NAR,
#: so the default never runs out of sequence numbers).
DEFAULT_MAX_HANDOVERS = 4096
#: [choice] Link-layer addresses a PAR remembers from RtSolPrs (the oldest forgotten beyond).
DEFAULT_RTSOLPR_ENTRIES = 4096
#: [choice] Neighbour entries a NAR makes from UNAs, and how long each lasts: RFC 4861 leaves
#: the garbage collection of STALE entries to the implementation; they serve the handover
#: only (forwarding what was claimed before the UNA, NCoA uniqueness).
DEFAULT_NEIGHBOR_ENTRIES = 4096
DEFAULT_NEIGHBOR_LIFETIME = 60.0


def _check_mac(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or not 1 <= len(value) <= 16:
        raise ValueError(f"{name} must be a link-layer address of 1..16 octets")


@dataclass(frozen=True, kw_only=True, slots=True)
class HandoverKey:
    """An MN-PAR handover key (RFC 5568 §6.4.5): the BADF SPI and the HMAC key.

    SPI 0 is reserved for SEND-based handover keys (RFC 5269) and refused here.
    ``previous_care_of_address`` is the only address whose traffic this key may redirect: the
    owner's PCoA on the PAR's link (the FBU's Home Address; at a MAP anchor the owner's RCoA,
    RFC 4140 Appendix A). The FBU "MUST be protected so that the PAR is able to determine that
    [it] is sent by an MN that legitimately owns the PCoA" (§6.2.2, §10): an anchor refuses a
    key that names none (:class:`FastHandoverAnchorConfig`); a mobile node's own key needs none.
    """

    spi: int
    key: bytes
    previous_care_of_address: IPv6Address | None = None

    def __post_init__(self) -> None:
        if not 0 < self.spi <= 0xFFFFFFFF:
            raise ValueError("spi must be 1..2**32-1 (0 is reserved for SEND, RFC 5568 §6.4.5)")
        if not self.key:
            raise ValueError("the handover key must not be empty")


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterKey:
    """The security association this router shares with one peer router (RFC 5568 §10).

    RFC 5568 §10: HI and HAck "MUST be protected using end-to-end security association(s)
    offering integrity and data origin authentication" (IPsec ESP). This stand-in keys an
    RFC 4285-style authenticator on every HI and HAck exchanged with ``peer`` (a neighbour
    access router, a MAP anchor or, at a MAP, a NAR) under ``security_association`` (SPI,
    HMAC-SHA1 key, replay window); the format is :mod:`.security`'s. Both routers of a pair
    configure the same SPI and key, each naming the other as ``peer``.
    """

    peer: IPv6Address
    security_association: SecurityAssociation


@dataclass(frozen=True, kw_only=True, slots=True)
class NeighborRouter:
    """One entry of a PAR's neighbourhood table: AP-IDs -> AR-Info (RFC 5568 §2, §6.1.2).

    ``access_points`` are the BSSIDs on that router's interface; ``link_layer_address``,
    ``address`` and ``prefix`` are the AR-Info tuple. ``fast_handover`` False means the router
    does not support FMIPv6 (PrRtAdv option-code 7); ``dhcp`` that addresses on its link come
    from DHCP (PrRtAdv Code 5, §5.2).
    """

    access_points: tuple[bytes, ...]
    link_layer_address: bytes
    address: IPv6Address
    prefix: IPv6Network
    fast_handover: bool = True
    dhcp: bool = False

    def __post_init__(self) -> None:
        for ap in self.access_points:
            _check_mac("access point", ap)
        _check_mac("link_layer_address", self.link_layer_address)
        if self.address not in self.prefix:
            raise ValueError("the neighbour router's address must be inside its prefix")


@dataclass(frozen=True, kw_only=True, slots=True)
class FastHandoverAnchorConfig:
    """The PAR role of FMIPv6 (RFC 5568 §4, §6.2), wherever it runs: the anchor of a handover.

    An access router anchors its own mobile nodes' fast handovers (RFC 5568; the subclass
    :class:`FastHandoverRouterConfig`); a MAP in an aggregation router above the access
    routers anchors them instead when configured with one of these (RFC 4140 Appendix A,
    Figure A.2: "the anchor point is moved from the PAR to the MAP"; ``MapConfig.fast_handover``).

    * ``neighbors``: the access routers a handover may go to (HI/HAck peers; at an access
      router also the neighbourhood table of its PrRtAdvs);
    * ``handover_keys``: keys that verify the FBU's BADF (§6.4.5: MN-PAR keys, MN-MAP keys at a
      MAP), each bound to its owner's PCoA (RCoA at a MAP); an FBU naming another address is
      refused (§10). A tuple is checked here; a mapping from SPI (a key server standing in for
      the SEND or AAA exchange that would set the key up) is looked up per FBU, where the
      same binding is checked;
    * ``router_keys``: one :class:`RouterKey` per peer router that HI/HAck are exchanged with;
      every neighbour with FMIPv6 (and, at an access router, every MAP anchor) must have one;
      ``wall_clock_offset`` turns ``now`` into the Unix time of their timestamps;
    * ``request_buffering`` / ``request_assigned_address``: the U and S flags of HI Code 0;
    * ``hi_retries`` and ``rtt``: HI retransmission (§6.2.1.1: 2 x RTT, or 100 ms unknown);
    * ``max_pending_handovers``: HIs awaiting a HAck at once (an FBU beyond gets FBack 130);
    * ``max_tunnel_lifetime``: ceiling of the granted FBU lifetime (§5.6);
    * ``simultaneous_binding``: seconds during which, after a predictive FBU is accepted, the
      anchor delivers the PCoA's (RCoA's) packets the old way as well as through the tunnel
      (:mod:`.par`, "simultaneous bindings"); 0 (default) switches at once.
    """

    neighbors: tuple[NeighborRouter, ...] = ()
    handover_keys: tuple[HandoverKey, ...] | Mapping[int, HandoverKey] = ()
    router_keys: tuple[RouterKey, ...] = ()
    wall_clock_offset: float = 0.0
    request_buffering: bool = True
    request_assigned_address: bool = False
    hi_retries: int = HI_RETRIES
    rtt: float | None = None
    max_tunnel_lifetime: int = DEFAULT_MAX_TUNNEL_LIFETIME
    simultaneous_binding: float = 0.0
    max_pending_handovers: int = DEFAULT_MAX_HANDOVERS

    def __post_init__(self) -> None:
        if self.hi_retries < 0:
            raise ValueError("hi_retries and buffer_packets must be >= 0")
        if not 0 <= self.simultaneous_binding <= self.max_tunnel_lifetime:
            raise ValueError("simultaneous_binding must be 0..max_tunnel_lifetime s")
        if self.max_pending_handovers < 1:
            raise ValueError("max_pending_handovers must be >= 1")
        if self.rtt is not None and not self.rtt > 0:
            raise ValueError("rtt must be positive")
        if self.max_tunnel_lifetime % 4 or not 0 < self.max_tunnel_lifetime <= 0xFFFF * 4:
            raise ValueError("max_tunnel_lifetime must be a positive multiple of 4 s")
        if not isinstance(self.handover_keys, Mapping):
            spis = [k.spi for k in self.handover_keys]
            if len(spis) != len(set(spis)):
                raise ValueError("handover key SPIs must be unique")
            unbound = [k.spi for k in self.handover_keys if k.previous_care_of_address is None]
            if unbound:
                # RFC 5568 §10: the anchor must know which PCoA each key's owner has.
                raise ValueError(f"handover key SPI {unbound[0]} names no "
                                 "previous_care_of_address (the one address its owner may "
                                 "redirect)")
        peers = [k.peer for k in self.router_keys]
        if len(peers) != len(set(peers)):
            raise ValueError("router keys: at most one per peer router")
        self._check_router_keys(n.address for n in self.neighbors if n.fast_handover)

    def _check_router_keys(self, peers: Iterable[IPv6Address]) -> None:
        """Refuse a peer without a router key: its HI/HAck could not be authenticated (§10)."""
        keyed = {k.peer for k in self.router_keys}
        for peer in peers:
            if peer not in keyed:
                raise ValueError(f"peer router {peer} has no router key (HI and HAck are "
                                 "authenticated per router pair, RFC 5568 §10)")

    def neighbor_for(self, address: IPv6Address) -> NeighborRouter | None:
        """The neighbour whose prefix matches ``address`` longest (RFC 5568 §4), or None."""
        best: NeighborRouter | None = None
        for neighbor in self.neighbors:
            if address in neighbor.prefix and (
                best is None or neighbor.prefix.prefixlen > best.prefix.prefixlen
            ):
                best = neighbor
        return best

    def neighbor_by_ap(self, ap: bytes) -> NeighborRouter | None:
        """The neighbour router serving access point ``ap``, or None."""
        for neighbor in self.neighbors:
            if ap in neighbor.access_points:
                return neighbor
        return None

    def neighbor_by_address(self, address: IPv6Address) -> NeighborRouter | None:
        """The neighbour router whose address is ``address`` (a HI/HAck peer), or None."""
        for neighbor in self.neighbors:
            if neighbor.address == address:
                return neighbor
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class FastHandoverRouterConfig(FastHandoverAnchorConfig):
    """An access router's FMIPv6 function, both as PAR and as NAR (RFC 5568 §4, §6.2).

    As PAR, the :class:`FastHandoverAnchorConfig` fields, and ``local_access_points``: BSSIDs
    on this router's own interface (PrRtAdv option-code 5).

    MAP-anchored placement (RFC 4140 Appendix A): ``map_anchor`` is the MAP option this router
    adds to every PrRtAdv ("the PAR to send a Proxy Router Advertisement to the mobile node
    with the MAP option"), telling mobile nodes to send their FBU to that MAP, which then
    runs HI/HAck with the NAR; ``anchors`` are the MAPs whose HI this router accepts as NAR
    (each with a :class:`RouterKey`, as the neighbours have).

    As NAR:

    * ``addresses_in_use``: addresses its DAD finds taken on the link (§4 step 1; DAD is
      modelled as this set, i.e. DupAddrDetectTransmits = 0 and an address register);
    * ``address_pool``: addresses it may assign (HAck Code 2, NAACK status 2; §5.5);
    * ``support_previous_care_of_address``: when no NCoA can be used, offer a host route for the
      PCoA and a reverse tunnel (HAck Code 3, NAACK status 4);
    * ``naack_use_router_address``: with no usable NCoA and no pool, NAACK status 3 instead
      of 1;
    * ``unrecognized_link_layer_addresses``: MN addresses not valid on this link (NAACK 128);
    * ``buffer_packets``: per-MN buffer bound (§5.4); ``buffered_packets_total``: what all
      buffers hold together (a packet beyond either bound is dropped and counted);
      ``buffer_fairness``: a full buffer drops from its longest flow (True, the default;
      :mod:`.buffer`, docs/decisions.md D28) or the arrival (False: tail drop);
      ``proxy_lifetime``: PROXY_ND_LIFETIME;
    * ``pcoa_service_lifetime``: how long a PCoA served here (HAck Code 3, NAACK status 3 or
      4) keeps its host route and tunnel [choice: the longest forwarding tunnel a PAR grants
      by default, DEFAULT_MAX_TUNNEL_LIFETIME];
    * ``accept_handovers`` False refuses every HI (HAck 129); ``max_handovers`` bounds the
      handovers in progress (HAck 130 beyond it);
    * ``rtsolpr_entries``: link-layer addresses remembered from RtSolPrs (as PAR);
      ``neighbor_entries`` / ``neighbor_lifetime``: the neighbour entries made from UNAs.

    Every bound has a finite default (the ``DEFAULT_*`` constants of this module).
    """

    local_access_points: tuple[bytes, ...] = ()
    map_anchor: MAPOption | None = None
    anchors: tuple[IPv6Address, ...] = ()
    addresses_in_use: frozenset[IPv6Address] = frozenset()
    address_pool: tuple[IPv6Address, ...] = ()
    support_previous_care_of_address: bool = False
    naack_use_router_address: bool = False
    unrecognized_link_layer_addresses: frozenset[bytes] = frozenset()
    buffer_packets: int = DEFAULT_BUFFER_PACKETS
    buffered_packets_total: int = DEFAULT_BUFFERED_PACKETS_TOTAL
    buffer_fairness: bool = True
    proxy_lifetime: float = PROXY_ND_LIFETIME
    pcoa_service_lifetime: float = DEFAULT_MAX_TUNNEL_LIFETIME
    accept_handovers: bool = True
    max_handovers: int = DEFAULT_MAX_HANDOVERS
    rtsolpr_entries: int = DEFAULT_RTSOLPR_ENTRIES
    neighbor_entries: int = DEFAULT_NEIGHBOR_ENTRIES
    neighbor_lifetime: float = DEFAULT_NEIGHBOR_LIFETIME

    def __post_init__(self) -> None:
        # dataclass(slots=True) makes a new class: zero-argument super() cannot be used here.
        FastHandoverAnchorConfig.__post_init__(self)
        if self.buffer_packets < 0 or self.buffered_packets_total < 0 or self.max_handovers < 0:
            raise ValueError("buffer_packets, buffered_packets_total and max_handovers must "
                             "be >= 0")
        if self.rtsolpr_entries < 1 or self.neighbor_entries < 1 or not (
                self.neighbor_lifetime > 0):
            raise ValueError("rtsolpr_entries, neighbor_entries and neighbor_lifetime must be "
                             "positive")
        if not (self.proxy_lifetime > 0 and self.pcoa_service_lifetime > 0):
            raise ValueError("proxy_lifetime and pcoa_service_lifetime must be positive")
        if self.map_anchor is not None and self.map_anchor.address not in self.anchors:
            raise ValueError("a map_anchor must also be one of the anchors (its HI is accepted)")
        self._check_router_keys(self.anchors)


class AnchorPlacement(Enum):
    """Where the mobile node sends its FBU (RFC 5568; RFC 4140 Appendix A).

    ``ACCESS_ROUTER``: to the PAR (RFC 5568 §6.2.2). ``MAP``: to the MAP of the node's current
    local binding (RFC 4140 Figure A.2), with the RCoA as the Home Address. ``AUTO`` (default):
    to the MAP when the PrRtAdv carries that MAP's option (the network is configured
    MAP-anchored, ``FastHandoverRouterConfig.map_anchor``), else to the PAR.
    """

    AUTO = "auto"
    ACCESS_ROUTER = "access_router"
    MAP = "map"


@dataclass(frozen=True, kw_only=True, slots=True)
class FastHandoverClientConfig:
    """The mobile node's fast handover client (RFC 5568 §4, §5.1, §6.1.1, §6.2.2).

    * ``key``: the MN-PAR handover key (BADF SPI and HMAC key, §6.4.5);
    * ``fbu_lifetime``: lifetime asked in the FBU (seconds, a multiple of 4: the wire unit
      of mipshop's FBU is 4 s, docs/decisions.md D1);
    * ``rtsolpr_retries``, ``max_rtsolpr_rate``, ``fbu_retries``, ``rtt``: §9 parameters and the 2 x
      RTT / 100 ms initial timeout (§6.1.1), doubled per retransmission; the FBU uses the same
      schedule ([choice], docs/decisions.md D7;
      :data:`mipshop.protocol.base.constants.FBU_INITIAL_TIMEOUT`);
    * ``una_to_router``: send the UNA to the NAR's address instead of all-nodes (§6.3);
    * ``una_transmissions``: UNAs sent per arrival (§6.3 allows retransmitting them under
      RFC 4861 §7.2.6, at most MAX_NEIGHBOR_ADVERTISEMENT), every 2 x RTT (``rtt``, else the
      access link's, measured by the RtSolPr/PrRtAdv exchange) or 100 ms ([choice]
      docs/decisions.md D13), until a packet for the NCoA shows that the NAR has one;
    * ``placement``: where the FBU goes (:class:`AnchorPlacement`; RFC 4140 Appendix A). The
      ``key`` is then the MN-MAP handover key when the FBU goes to a MAP.
    """

    key: HandoverKey
    fbu_lifetime: int = DEFAULT_FBU_LIFETIME
    rtsolpr_retries: int = RTSOLPR_RETRIES
    max_rtsolpr_rate: int = MAX_RTSOLPR_RATE
    fbu_retries: int = FBU_RETRIES
    rtt: float | None = None
    una_to_router: bool = False
    una_transmissions: int = MAX_NEIGHBOR_ADVERTISEMENT
    placement: AnchorPlacement = AnchorPlacement.AUTO

    def __post_init__(self) -> None:
        if self.fbu_lifetime % 4 or not 0 < self.fbu_lifetime <= 0xFFFF * 4:
            raise ValueError("fbu_lifetime must be a positive multiple of 4 s")
        if min(self.rtsolpr_retries, self.fbu_retries) < 0 or self.max_rtsolpr_rate < 1:
            raise ValueError("retries must be >= 0 and max_rtsolpr_rate >= 1")
        if self.rtt is not None and not self.rtt > 0:
            raise ValueError("rtt must be positive")
        if not 1 <= self.una_transmissions <= MAX_NEIGHBOR_ADVERTISEMENT:
            raise ValueError("una_transmissions must be 1..MAX_NEIGHBOR_ADVERTISEMENT "
                             "(RFC 4861 §7.2.6)")
