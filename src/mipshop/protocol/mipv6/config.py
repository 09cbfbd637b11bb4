"""Configuration of each entity: frozen, keyword-only dataclasses in seconds and addresses.

Defaults are the RFC 6275 §12/§13 values (see :mod:`mipshop.protocol.base.constants`) or, where no
RFC gives one, a documented choice. A configuration is validated when it is built, so an entity
never starts with a value the wire cannot carry (lifetimes are whole multiples of the 4-second
unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from ..base.config import RouterConfig, check_lifetime, check_mac
from ..base.constants import (
    DHAAD_RETRIES,
    INITIAL_BINDACK_TIMEOUT,
    INITIAL_BINDACK_TIMEOUT_FIRST_REG,
    INITIAL_DHAAD_TIMEOUT,
    INITIAL_SOLICIT_TIMER,
    MAX_BINDACK_TIMEOUT,
    MAX_MOB_PFX_ADV_INTERVAL,
    MAX_NONCE_LIFETIME,
    MAX_RO_FAILURE,
    MAX_RR_BINDING_LIFETIME,
    MAX_UPDATE_RATE,
    MIN_MOB_PFX_ADV_INTERVAL,
    ND_RETRANS_TIMER,
    NONCE_REGENERATION_INTERVAL,
)
from .mn_ha_auth import SecurityAssociation

#: [choice] Default Binding Cache limit of a home agent, MAP or correspondent (RFC 6275 §9.6:
#: "by necessity, a finite size"); about 40 MB of bindings at the measured bytes per binding.
DEFAULT_MAX_BINDINGS = 100_000
#: [choice] Registrations a binding agent lets wait for DAD at once (status 130 beyond).
DEFAULT_MAX_PENDING_DAD = 1024


def check_binding_agent_limits(
    *,
    max_binding_lifetime: float,
    refresh_interval: float | None,
    max_bindings: int,
    dad_duration: float,
    max_pending_dad: int = DEFAULT_MAX_PENDING_DAD,
    registration_rate: int = MAX_UPDATE_RATE,
) -> None:
    """The checks every binding agent's configuration (home agent, MAP) shares."""
    check_lifetime("max_binding_lifetime", max_binding_lifetime)
    if refresh_interval is not None:
        check_lifetime("refresh_interval", refresh_interval)
    if max_bindings < 0:
        raise ValueError("max_bindings must be >= 0 (finite: RFC 6275 §9.6)")
    if dad_duration < 0:
        raise ValueError("dad_duration must be >= 0")
    if max_pending_dad < 1 or registration_rate < 1:
        raise ValueError("max_pending_dad and registration_rate must be >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class MobilityCredentials:
    """What a mobile node and its home agent (or MAP) share (RFC 4285 §3.1, RFC 4283 §3).

    ``identifier`` is the MN-NAI carried in the Mobile Node Identifier option;
    ``security_association`` the shared-key SA (SPI, key, replay window). ``home_address`` is
    the only address this SA may register: the home address at a home agent, the RCoA at a
    MAP. An agent refuses a configuration with an SA that names none
    (:func:`check_agent_credentials`): a key valid for any address of the prefix would let its
    holder redirect every other node's traffic. A mobile node may leave it unset (its own
    configuration names its home address).
    """

    identifier: bytes
    security_association: SecurityAssociation
    home_address: IPv6Address | None = None


#: An agent's security associations: listed, or a mapping from SPI to credentials that is
#: looked up as BUs come (a key server standing in for the AAA or IKEv2 exchange that would
#: set the SA up, so that an agent serving a city's mobile nodes holds none in advance).
AgentCredentials = tuple[MobilityCredentials, ...] | Mapping[int, MobilityCredentials]


def check_agent_credentials(
    credentials: AgentCredentials, prefix: IPv6Network, what: str
) -> None:
    """Refuse an agent's security associations that do not each name one address of ``prefix``.

    Every MN-HA (and MN-MAP) SA names the address it may register: RFC 6275 §10.3.1 ("only
    the right node can control a particular home address ... the home address unequivocally
    identifying the security association") and §15.3 ("a policy entry needs to be configured
    for each home address"). SPIs are unique, since they select the SA (RFC 4285 §5.1).
    A mapping by SPI is not enumerated: the agent checks the address each SA names against
    every BU it authenticates (:meth:`~.binding_agent.BindingAgent`).
    """
    if isinstance(credentials, Mapping):
        return
    spis: set[int] = set()
    for creds in credentials:
        name = creds.identifier.decode(errors="replace")
        if creds.home_address is None:
            raise ValueError(
                f"credentials {name!r} name no {what}: every security association must name "
                f"the one address it may register")
        if creds.home_address not in prefix:
            raise ValueError(
                f"credentials {name!r}: {what} {creds.home_address} is outside {prefix}")
        spi = creds.security_association.spi
        if spi in spis:
            raise ValueError(f"credentials {name!r}: SPI {spi} is used twice")
        spis.add(spi)


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeAgentConfig:
    """A home agent serving one home link (RFC 6275 §10, §7; RFC 4285 for authentication).

    * ``router``: the RA parameters of the home link; ``router.address`` is the home agent
      address, ``router.prefix`` the home subnet prefix.
    * ``credentials``: the mobile nodes it authenticates (looked up by SPI), each naming the
      one home address it may register (in the home prefix). ``accept_unauthenticated``
      also accepts Binding Updates without the Mobility Message Authentication option (a
      warning event is emitted at start).
    * ``max_bindings``: Binding Cache limit, registrations waiting for DAD included (status
      130 beyond it); ``max_pending_dad``: registrations waiting for DAD at once (130
      beyond); ``registration_rate``: authenticated BUs accepted per second from one mobile
      node (RFC 6275 §11.8 MAX_UPDATE_RATE by default; more are dropped and counted).
    * ``addresses_in_use``: addresses the HA's Duplicate Address Detection finds in use on the
      home link (status 134); ``dad_duration`` is how long that DAD takes before the first
      BA (RetransTimer x DupAddrDetectTransmits, RFC 6275 §10.3.1 and §13).
    * ``max_binding_lifetime``: ceiling of a granted lifetime (§10.3.1 lets the HA reduce it);
      ``refresh_interval``: Binding Refresh Advice interval sent in accepted BAs (§6.2.4),
      None for none.
    * ``preference`` / ``home_agent_lifetime``: the Home Agent Information option (§7.4);
      ``other_home_agents``: (address, preference) of other HAs on the link, listed in DHAAD
      replies (§10.5.1) besides those learnt from their Router Advertisements; at most
      ``max_home_agents`` are learnt (the Home Agents List is bounded).
    * ``wall_clock_offset``: added to ``now`` to get Unix time for RFC 4285 timestamps.
    """

    router: RouterConfig
    credentials: AgentCredentials = ()
    accept_unauthenticated: bool = False
    max_bindings: int = DEFAULT_MAX_BINDINGS
    max_pending_dad: int = DEFAULT_MAX_PENDING_DAD
    registration_rate: int = MAX_UPDATE_RATE
    addresses_in_use: frozenset[IPv6Address] = frozenset()
    dad_duration: float = ND_RETRANS_TIMER
    max_binding_lifetime: float = 3600.0
    refresh_interval: float | None = None
    preference: int = 0
    home_agent_lifetime: int = 1800
    other_home_agents: tuple[tuple[IPv6Address, int], ...] = ()
    max_home_agents: int = 64
    wall_clock_offset: float = 0.0
    mobile_prefix_rate_interval: float = 1.0
    #: RFC 6275 §10.6.2, §13: unsolicited Mobile Prefix Advertisements to every registered
    #: mobile node, at a random delay in [min, min(max, preferred lifetime)) after the last
    #: one (MinMobPfxAdvInterval, MaxMobPfxAdvInterval); ``periodic_mobile_prefixes`` False
    #: sends them only when commanded.
    periodic_mobile_prefixes: bool = True
    min_mobile_prefix_interval: float = MIN_MOB_PFX_ADV_INTERVAL
    max_mobile_prefix_interval: float = MAX_MOB_PFX_ADV_INTERVAL

    def __post_init__(self) -> None:
        if not 0 < self.min_mobile_prefix_interval <= self.max_mobile_prefix_interval:
            raise ValueError("mobile prefix intervals must satisfy 0 < min <= max")
        check_binding_agent_limits(
            max_binding_lifetime=self.max_binding_lifetime,
            refresh_interval=self.refresh_interval,
            max_bindings=self.max_bindings,
            dad_duration=self.dad_duration,
            max_pending_dad=self.max_pending_dad,
            registration_rate=self.registration_rate,
        )
        check_agent_credentials(self.credentials, self.router.prefix, "home_address")
        if self.max_home_agents < 0:
            raise ValueError("max_home_agents must be >= 0")
        if not 0 < self.home_agent_lifetime <= 0xFFFF:
            raise ValueError("home_agent_lifetime must be 1..65535 s (RFC 6275 §7.4)")

    @property
    def address(self) -> IPv6Address:
        """The home agent address (its global address on the home link)."""
        return self.router.address

    @property
    def home_prefix(self) -> IPv6Network:
        """The home subnet prefix."""
        return self.router.prefix


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteOptimizationConfig:
    """The mobile node's route optimization client (RFC 6275 §5.2, §11.6, §11.7.2).

    ``correspondents`` are the CNs to optimise routes with once the home binding is in place.
    ``lifetime`` is the lifetime asked of each CN (capped at MAX_RR_BINDING_LIFETIME, §5.2.6,
    and at the home binding's remaining lifetime, §11.7.2). ``initial_timeout`` is the first
    HoTI/CoTI and BU retransmission timeout (§11.8: INITIAL_BINDACK_TIMEOUT), doubling up to
    ``max_timeout``; after ``max_ro_failure`` failed attempts the client falls back to the
    home agent tunnel (§5.2.9).
    """

    correspondents: tuple[IPv6Address, ...] = ()
    lifetime: float = MAX_RR_BINDING_LIFETIME
    initial_timeout: float = INITIAL_BINDACK_TIMEOUT
    max_timeout: float = MAX_BINDACK_TIMEOUT
    max_ro_failure: int = MAX_RO_FAILURE
    #: Test inits sent per attempt before it counts as failed (original + retransmissions).
    attempt_transmissions: int = 3
    #: Reuse keygen tokens younger than MAX_TOKEN_LIFETIME across attempts (§5.2.7, §11.6.1).
    reuse_tokens: bool = True

    def __post_init__(self) -> None:
        check_lifetime("lifetime", self.lifetime)
        if self.max_ro_failure < 1 or self.attempt_transmissions < 1:
            raise ValueError("max_ro_failure and attempt_transmissions must be >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class MobileNodeConfig:
    """A mobile node with one home address and one interface (RFC 6275 §11).

    * ``home_address`` in ``home_prefix``; ``home_agent`` None means "find it with DHAAD"
      (§11.4.1).
    * ``link_layer_address``: the interface MAC; its modified EUI-64 identifier forms the
      care-of addresses (RFC 4862 SLAAC) unless ``interface_identifier`` is given.
    * ``optimistic_dad``: use a new care-of address at once (RFC 4429); otherwise wait
      ``dad_delay`` seconds (RetransTimer x DupAddrDetectTransmits) before using it.
    * ``credentials``: the MN-HA security association (RFC 4285); None sends unprotected BUs
      (only an HA with ``accept_unauthenticated`` accepts them).
    * ``home_binding_lifetime``: lifetime asked of the HA (a multiple of 4 s).
    * ``first_registration_timeout`` / ``bindack_timeout`` / ``max_bindack_timeout``: the
      §11.8 retransmission schedule.
    * ``lost_advertisements``: after this many Advertisement Intervals (RFC 6275 §7.3)
      without an RA from the default router, check it with Neighbor Unreachability
      Detection (§11.5.1: "its own policy to determine how many lost Advertisements ...
      constitute an L3 handover indication"; [choice] 3; 0 never); ``confirm_router_change``:
      hold back an RA from another router (other prefixes, no link-layer hint) until NUD
      finds the default router unreachable (§11.5.1; :mod:`.movement_detection`).
    """

    home_address: IPv6Address
    home_prefix: IPv6Network
    home_agent: IPv6Address | None = None
    interface: str = "wlan0"
    link_layer_address: bytes = bytes.fromhex("020000000001")
    interface_identifier: int | None = None
    credentials: MobilityCredentials | None = None
    home_binding_lifetime: float = 600.0
    optimistic_dad: bool = False
    dad_delay: float = ND_RETRANS_TIMER
    first_registration_timeout: float = INITIAL_BINDACK_TIMEOUT_FIRST_REG
    bindack_timeout: float = INITIAL_BINDACK_TIMEOUT
    max_bindack_timeout: float = MAX_BINDACK_TIMEOUT
    initial_dhaad_timeout: float = INITIAL_DHAAD_TIMEOUT
    dhaad_retries: int = DHAAD_RETRIES
    initial_solicit_timeout: float = INITIAL_SOLICIT_TIMER
    mobile_prefix_retries: int = 3
    wall_clock_offset: float = 0.0
    route_optimization: RouteOptimizationConfig = field(default_factory=RouteOptimizationConfig)
    lost_advertisements: int = 3
    confirm_router_change: bool = True

    def __post_init__(self) -> None:
        check_mac("link_layer_address", self.link_layer_address)
        check_lifetime("home_binding_lifetime", self.home_binding_lifetime)
        if self.home_address not in self.home_prefix:
            raise ValueError("home_address must be inside home_prefix")
        named = self.credentials.home_address if self.credentials is not None else None
        if named is not None and named != self.home_address:
            raise ValueError("the credentials name another home address")
        if self.dad_delay < 0:
            raise ValueError("dad_delay must be >= 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class CorrespondentConfig:
    """A correspondent node supporting route optimization (RFC 6275 §9).

    * ``accept_unauthenticated``: accept Binding Updates without return routability
      authorization (Nonce Indices + Binding Authorization Data); a warning event is emitted
      at start.
    * ``max_bindings``: Binding Cache limit, inactive entries included (status 130 beyond it;
      finite, RFC 6275 §9.6).
    * ``nonce_regeneration_interval`` / ``nonce_lifetime``: the §5.2.7 nonce schedule.
    * ``refresh_request_lead``: send a Binding Refresh Request this many seconds before a
      recently used entry expires (§9.5.5; the RFC leaves the time open) [choice].
    * ``binding_error_interval``: at most one Binding Error per this many seconds per
      destination, and REPLIES_TOTAL in all (§9.3.3: rate limited like ICMP errors), the
      destinations remembered in a bounded table [choice].
    """

    address: IPv6Address
    interface: str = "eth0"
    accept_unauthenticated: bool = False
    max_bindings: int = DEFAULT_MAX_BINDINGS
    nonce_regeneration_interval: float = NONCE_REGENERATION_INTERVAL
    nonce_lifetime: float = MAX_NONCE_LIFETIME
    rotate_node_key: bool = False
    refresh_request_lead: float = 20.0
    binding_error_interval: float = 1.0

    def __post_init__(self) -> None:
        # Refused where the configuration is written, with the rules the correspondent's
        # tables apply when it is built (BindingCache, NonceTable: RFC 6275 §5.2.7, §9.6).
        if self.max_bindings < 0:
            raise ValueError("max_bindings must be >= 0")
        if not 0 < self.nonce_regeneration_interval <= self.nonce_lifetime:
            raise ValueError("need 0 < nonce_regeneration_interval <= nonce_lifetime")
        # 0 turns the Binding Refresh Requests off (§9.5.5); a negative lead would also send
        # none, silently, so it is refused as the mistake it is (as is NaN).
        if not self.refresh_request_lead >= 0:
            raise ValueError("refresh_request_lead must be >= 0")
        if not self.binding_error_interval > 0:
            raise ValueError("binding_error_interval must be > 0")
