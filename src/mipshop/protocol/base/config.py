"""Configuration shared by every router entity, and the checks every configuration uses.

Frozen, keyword-only dataclasses in seconds and addresses, validated when built, so an entity
never starts with a value the wire cannot carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from ...wire.nd_options import MAPOption
from .constants import LIFETIME_UNIT, MAX_BINDING_LIFETIME, MAX_RA_DELAY_TIME

#: [choice] Default MaxRtrAdvInterval of the routers here (RFC 4861 §6.2.1 allows 4..1800 s;
#: RFC 6275 §7.5 lets mobility links go far lower). 3 s keeps simulated movement detection
#: quick without flooding the link.
DEFAULT_RA_INTERVAL = 3.0


#: [choice] The routers' link-local address unless configured otherwise.
DEFAULT_ROUTER_LINK_LOCAL = IPv6Address("fe80::1")


def check_lifetime(name: str, value: float) -> None:
    """Refuse a lifetime the Mobility Header cannot carry (4-second units, RFC 6275 §6.1.7)."""
    if not 0 <= value <= MAX_BINDING_LIFETIME or value % LIFETIME_UNIT:
        raise ValueError(
            f"{name} must be a multiple of {LIFETIME_UNIT:g} s in 0..{MAX_BINDING_LIFETIME:g}, "
            f"got {value}"
        )


def check_mac(name: str, value: bytes) -> None:
    """Refuse a link-layer address that is not a 6-octet MAC (RFC 2464 §4)."""
    if len(value) != 6:
        raise ValueError(f"{name} must be a 6-octet MAC address")


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterConfig:
    """A router's Router Advertisement parameters on one link (RFC 4861 §6.2.1, §4.6.2).

    ``address`` is the router's global address on the link, ``prefix`` the on-link prefix it
    advertises for SLAAC. ``ra_interval`` is MaxRtrAdvInterval; unsolicited RAs are sent every
    ``ra_interval`` seconds (no jitter: the simulator wants determinism; [choice]).
    ``map_options``: the HMIPv6 MAP options (ND type 23) every RA carries; RFC 5380 §7 has
    them configured by hand in each access router (Dist, Pref, R, Valid Lifetime, address).
    ``managed`` sets the RA's M flag (addresses come from DHCPv6, RFC 4861 §4.2) and
    ``autonomous`` the prefix's A flag (stateless autoconfiguration, RFC 4862 §5.5.3): a
    DHCPv6-managed link advertises M = 1 and A = 0.
    ``max_ra_delay``: an RA answering a Router Solicitation waits a random time in
    ``[0, max_ra_delay]`` (RFC 4861 §6.2.6 MUST, MAX_RA_DELAY_TIME by default); 0 answers at
    once, the faster behaviour a mobility-aware router may choose at the cost of RFC 4861's
    rule (it spreads the answers of several routers to one solicitation; docs/decisions.md
    D26).
    """

    interface: str = "eth0"
    link_local: IPv6Address = DEFAULT_ROUTER_LINK_LOCAL
    address: IPv6Address
    prefix: IPv6Network
    link_layer_address: bytes = bytes.fromhex("00005e000101")
    ra_interval: float = DEFAULT_RA_INTERVAL
    router_lifetime: int = 1800
    valid_lifetime: int = 86_400
    preferred_lifetime: int = 14_400
    map_options: tuple[MAPOption, ...] = ()
    managed: bool = False
    autonomous: bool = True
    max_ra_delay: float = MAX_RA_DELAY_TIME

    def __post_init__(self) -> None:
        check_mac("link_layer_address", self.link_layer_address)
        if not 0 <= self.max_ra_delay <= self.ra_interval:
            raise ValueError("max_ra_delay must be in 0..ra_interval seconds")
        if self.address not in self.prefix:
            raise ValueError("the router address must be inside the advertised prefix")
        if not self.ra_interval > 0:
            raise ValueError("ra_interval must be positive")
