"""Configuration of the FMIPv6 components (RFC 5568 §9 parameters, neighbourhood, keys).

Frozen keyword-only dataclasses, validated when built, like :mod:`.config`. The access-router
side is :class:`FastHandoverRouterConfig` (given to :class:`~.access_router.AccessRouter`);
the mobile-node side is :class:`FastHandoverClientConfig`.

Security (design.md "Security stance"): the MN-PAR handover key that keys the BADF option
(RFC 5568 §6.4.5) is configured on both sides; RFC 5269 key distribution is out of scope.
PAR-NAR signalling (HI/HAck) is accepted only from configured neighbour routers, standing in
for the IPsec security association RFC 5568 §6.2.1.1 and §10 require.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from .constants import (
    FBU_RETRIES,
    HI_RETRIES,
    MAX_RTSOLPR_RATE,
    PROXY_ND_LIFETIME,
    RTSOLPR_RETRIES,
)

#: [choice] FBU lifetime the mobile node asks for: RFC 5568 §5.6 wants temporary tunnels of
#: "the order of tens of seconds", long enough to update every binding. 40 s = 10 units of 4 s.
DEFAULT_FBU_LIFETIME = 40
#: [choice] Largest forwarding-tunnel lifetime a PAR grants (RFC 5568 §5.6: tens of seconds).
DEFAULT_MAX_TUNNEL_LIFETIME = 120
#: [choice] NAR handover buffer size per mobile node, in packets (RFC 5568 §5.4: local policy,
#: MUST be bounded). 64 packets hold 1.28 s of a 20 ms voice stream.
DEFAULT_BUFFER_PACKETS = 64


def _check_mac(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or not 1 <= len(value) <= 16:
        raise ValueError(f"{name} must be a link-layer address of 1..16 octets")


@dataclass(frozen=True, kw_only=True, slots=True)
class HandoverKey:
    """An MN-PAR handover key (RFC 5568 §6.4.5): the BADF SPI and the HMAC key.

    SPI 0 is reserved for SEND-based handover keys (RFC 5269) and refused here. At a PAR,
    ``previous_care_of_address`` (if set) is the only PCoA this key may bind: the FBU "MUST be
    protected so that the PAR is able to determine that [it] is sent by an MN that
    legitimately owns the PCoA" (§6.2.2).
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
class FastHandoverRouterConfig:
    """An access router's FMIPv6 function, both as PAR and as NAR (RFC 5568 §4, §6.2).

    As PAR:

    * ``neighbors``: the neighbourhood table; ``local_access_points``: BSSIDs on this
      router's own interface (PrRtAdv option-code 5);
    * ``handover_keys``: MN-PAR keys that verify the FBU's BADF (§6.4.5);
    * ``request_buffering`` / ``request_assigned_address``: the U and S flags of HI Code 0;
    * ``hi_retries`` and ``rtt``: HI retransmission (§6.2.1.1: 2 x RTT, or 100 ms unknown);
    * ``max_tunnel_lifetime``: ceiling of the granted FBU lifetime (§5.6).

    As NAR:

    * ``addresses_in_use``: addresses its DAD finds taken on the link (§4 step 1; DAD is
      modelled as this set, i.e. DupAddrDetectTransmits = 0 and an address register);
    * ``address_pool``: addresses it may assign (HAck Code 2, NAACK status 2; §5.5);
    * ``support_previous_care_of_address``: when no NCoA can be used, offer a host route for the
      PCoA and a reverse tunnel (HAck Code 3, NAACK status 4);
    * ``naack_use_router_address``: with no usable NCoA and no pool, NAACK status 3 instead
      of 1;
    * ``unrecognized_link_layer_addresses``: MN addresses not valid on this link (NAACK 128);
    * ``buffer_packets``: per-MN buffer bound (§5.4); ``proxy_lifetime``: PROXY_ND_LIFETIME;
    * ``accept_handovers`` False refuses every HI (HAck 129); ``max_handovers`` bounds the
      handovers in progress (HAck 130 beyond it).
    """

    neighbors: tuple[NeighborRouter, ...] = ()
    local_access_points: tuple[bytes, ...] = ()
    handover_keys: tuple[HandoverKey, ...] = ()
    request_buffering: bool = True
    request_assigned_address: bool = False
    hi_retries: int = HI_RETRIES
    rtt: float | None = None
    max_tunnel_lifetime: int = DEFAULT_MAX_TUNNEL_LIFETIME
    addresses_in_use: frozenset[IPv6Address] = frozenset()
    address_pool: tuple[IPv6Address, ...] = ()
    support_previous_care_of_address: bool = False
    naack_use_router_address: bool = False
    unrecognized_link_layer_addresses: frozenset[bytes] = frozenset()
    buffer_packets: int = DEFAULT_BUFFER_PACKETS
    proxy_lifetime: float = PROXY_ND_LIFETIME
    accept_handovers: bool = True
    max_handovers: int | None = None

    def __post_init__(self) -> None:
        if self.hi_retries < 0 or self.buffer_packets < 0:
            raise ValueError("hi_retries and buffer_packets must be >= 0")
        if self.rtt is not None and not self.rtt > 0:
            raise ValueError("rtt must be positive")
        if self.max_tunnel_lifetime % 4 or not 0 < self.max_tunnel_lifetime <= 0xFFFF * 4:
            raise ValueError("max_tunnel_lifetime must be a positive multiple of 4 s")
        if not self.proxy_lifetime > 0:
            raise ValueError("proxy_lifetime must be positive")
        spis = [k.spi for k in self.handover_keys]
        if len(spis) != len(set(spis)):
            raise ValueError("handover key SPIs must be unique")

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

    def key(self, spi: int) -> HandoverKey | None:
        """The handover key with ``spi``, or None."""
        for key in self.handover_keys:
            if key.spi == spi:
                return key
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class FastHandoverClientConfig:
    """The mobile node's fast handover client (RFC 5568 §4, §5.1, §6.1.1, §6.2.2).

    * ``key``: the MN-PAR handover key (BADF SPI and HMAC key, §6.4.5);
    * ``fbu_lifetime``: lifetime asked in the FBU (seconds, a multiple of 4: the wire unit
      of mipshop's FBU is 4 s, digest §10 item 1);
    * ``rtsolpr_retries``, ``max_rtsolpr_rate``, ``fbu_retries``, ``rtt``: §9 parameters and
      the 2 x RTT / 100 ms initial timeout (§6.1.1), doubled per retransmission; the FBU
      uses the same schedule ([choice], digest §10 item 7; :data:`.constants.FBU_INITIAL_TIMEOUT`);
    * ``una_to_router``: send the UNA to the NAR's address instead of all-nodes (§6.3).
    """

    key: HandoverKey
    fbu_lifetime: int = DEFAULT_FBU_LIFETIME
    rtsolpr_retries: int = RTSOLPR_RETRIES
    max_rtsolpr_rate: int = MAX_RTSOLPR_RATE
    fbu_retries: int = FBU_RETRIES
    rtt: float | None = None
    una_to_router: bool = False

    def __post_init__(self) -> None:
        if self.fbu_lifetime % 4 or not 0 < self.fbu_lifetime <= 0xFFFF * 4:
            raise ValueError("fbu_lifetime must be a positive multiple of 4 s")
        if min(self.rtsolpr_retries, self.fbu_retries) < 0 or self.max_rtsolpr_rate < 1:
            raise ValueError("retries must be >= 0 and max_rtsolpr_rate >= 1")
        if self.rtt is not None and not self.rtt > 0:
            raise ValueError("rtt must be positive")
