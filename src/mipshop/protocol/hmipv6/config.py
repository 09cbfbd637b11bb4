"""Configuration of the HMIPv6 entities (RFC 5380): the MAP and the mobile node's MAP client.

Frozen keyword-only dataclasses in seconds and addresses, validated when built, like
:mod:`mipshop.protocol.mipv6.config` (which holds the MIPv6 ones and, in
``RouterConfig.map_options``, the MAP options an access router advertises).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from ..base.config import check_lifetime, check_mac
from ..base.constants import (
    INITIAL_BINDACK_TIMEOUT,
    INITIAL_BINDACK_TIMEOUT_FIRST_REG,
    MAX_BINDACK_TIMEOUT,
    MAX_UPDATE_RATE,
)
from ..mipv6.config import (
    DEFAULT_MAX_BINDINGS,
    DEFAULT_MAX_PENDING_DAD,
    AgentCredentials,
    MobilityCredentials,
    check_agent_credentials,
    check_binding_agent_limits,
)
from .selection import RCOA_PREFIX_LENGTH


@dataclass(frozen=True, kw_only=True, slots=True)
class MapConfig:
    """A Mobility Anchor Point (RFC 5380 §6.2), a "local home agent" on one link.

    * ``address``: the MAP's global address (the one access routers advertise); RCoAs come
      from its /64 (:attr:`rcoa_prefix`), and the MAP intercepts them on ``interface`` with
      proxy ND.
    * ``credentials`` / ``accept_unauthenticated``: the MN-MAP security associations (RFC 4285
      instead of IKEv2; docs/architecture.md, "Security stance"), looked up by SPI (a tuple, or
      a mapping from SPI, :data:`~mipshop.protocol.mipv6.config.AgentCredentials`); each
      names the one RCoA (in :attr:`rcoa_prefix`) it may register.
    * ``allowed_lcoa_prefixes``: RFC 5380 §6.2 "valid on-link prefixes" for LCoAs; a local BU
      with an LCoA outside them is rejected with 129. Empty: any LCoA. RFC 5380 §8 recommends
      including the neighbouring domains' prefixes, so that a node leaving the domain can
      have its in-flight packets forwarded.
    * ``allocate_rcoa``: the MAP assigns RCoAs (what the MAP option's R flag announces, RFC
      5380 §5). The node proposes its stateless RCoA; the MAP assigns the RCoA its security
      association names (as an RFC 4877 IKEv2 configuration payload ties the address to the
      SA), returned in the BA's Type 2 Routing Header when it differs from the proposal; a
      node without an SA (``accept_unauthenticated``) keeps its proposal when it is inside
      :attr:`rcoa_prefix` and free, and otherwise gets a random free one. Without
      ``allocate_rcoa`` a BU for an RCoA other than the SA's gets 129, an RCoA outside the
      prefix 132 and one bound to another node, or the MAP's own address, 134 (with it, the
      MAP's own address is never kept as a proposal nor assigned).
    * ``valid_lifetime``: the Valid Lifetime of the MAP's prefixes (RFC 5380 §5); no binding is
      granted beyond it. ``max_binding_lifetime``, ``refresh_interval``, ``max_bindings``,
      ``max_pending_dad``, ``registration_rate``, ``addresses_in_use``, ``dad_duration``: as
      for the home agent
      (:class:`~mipshop.protocol.mipv6.config.HomeAgentConfig`). [choice] ``dad_duration`` defaults
      to 0: RFC 5380 asks for no DAD on an RCoA, and the MAP checks uniqueness in its own Binding
      Cache.
    * ``wall_clock_offset``: added to ``now`` to get Unix time for RFC 4285 timestamps.
    * ``link_layer_address``: the MAC of ``interface``, which the unsolicited Neighbor
      Advertisement for a newly served RCoA carries (RFC 5380 §6.2 "identical to that of the
      HA": RFC 6275 §10.4.1); the daemon takes it from the interface. None sends none.
    """

    address: IPv6Address
    interface: str = "eth0"
    link_layer_address: bytes | None = None
    credentials: AgentCredentials = ()
    accept_unauthenticated: bool = False
    allowed_lcoa_prefixes: tuple[IPv6Network, ...] = ()
    allocate_rcoa: bool = False
    valid_lifetime: int = 86_400
    max_binding_lifetime: float = 3600.0
    refresh_interval: float | None = None
    max_bindings: int = DEFAULT_MAX_BINDINGS
    max_pending_dad: int = DEFAULT_MAX_PENDING_DAD
    registration_rate: int = MAX_UPDATE_RATE
    addresses_in_use: frozenset[IPv6Address] = frozenset()
    dad_duration: float = 0.0
    wall_clock_offset: float = 0.0

    def __post_init__(self) -> None:
        check_binding_agent_limits(
            max_binding_lifetime=self.max_binding_lifetime,
            refresh_interval=self.refresh_interval,
            max_bindings=self.max_bindings,
            dad_duration=self.dad_duration,
            max_pending_dad=self.max_pending_dad,
            registration_rate=self.registration_rate,
        )
        check_agent_credentials(self.credentials, self.rcoa_prefix, "RCoA")
        if self.link_layer_address is not None:
            check_mac("link_layer_address", self.link_layer_address)
        if not 0 < self.valid_lifetime <= 0xFFFFFFFF:
            raise ValueError("valid_lifetime must be 1..2**32-1 s")

    @property
    def rcoa_prefix(self) -> IPv6Network:
        """The prefix RCoAs are formed from: the /64 of the MAP address (RFC 5380 §6)."""
        return IPv6Network((self.address, RCOA_PREFIX_LENGTH), strict=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class MapClientConfig:
    """The mobile node's HMIPv6 client (RFC 5380 §6.1, §7.1, §8, §9, §10).

    * ``credentials``: the MN-MAP security association used with every MAP (RFC 4285 in place
      of IKEv2), unless ``map_credentials`` names one for that MAP address. None sends
      unprotected local BUs (only a MAP with ``accept_unauthenticated`` takes them).
    * ``lifetime``: lifetime asked of the MAP (a multiple of 4 s); the home and correspondent
      registrations of the RCoA are capped by what the MAP grants (RFC 5380 §6.1).
    * ``update_previous_map`` / ``previous_map_lifetime``: on entering a new MAP domain, send
      the previous MAP a local BU binding the old RCoA to the new LCoA (RFC 5380 §6.1, §8:
      SHOULD), asking this lifetime [choice: 60 s, long enough for the HA and correspondents to
      learn the new RCoA; the binding is not refreshed, "lazy" release, §9].
    * ``first_registration_timeout`` / ``bindack_timeout`` / ``max_bindack_timeout``: the
      RFC 6275 §11.8 retransmission schedule of the local BU; after ``max_retries``
      unanswered retransmissions the MAP counts as unreachable and the next one is selected
      (None: retransmit for ever, as §11.8 allows) [choice: 4, about 45 s].
    * ``wall_clock_offset``: added to ``now`` to get Unix time for RFC 4285 timestamps.
    * ``additional_maps``: register with up to this many MAPs besides the selected one (RFC
      5380 §3.1, §7.1, §9.1: a mobile node "MAY choose to register with more than one MAP
      simultaneously"), the next ones in §9.1 order among those the current link advertises;
      ``correspondent_maps``: (correspondent prefix, MAP address) pairs: the correspondents of
      a prefix are given the RCoA of that MAP (registered too, when advertised) instead of the
      selected MAP's ("to use each MAP address for a specific group of correspondent
      nodes", §3.1; "each MAP is used for communication to a certain set of CNs", §9.1);
      ``correspondents_on_lcoa``: correspondent prefixes given the LCoA itself ("use both the
      RCoA and its LCoA as care-of addresses simultaneously with different correspondent
      nodes", §7.1). The home agent always gets the selected MAP's RCoA.
    """

    credentials: MobilityCredentials | None = None
    map_credentials: tuple[tuple[IPv6Address, MobilityCredentials], ...] = ()
    lifetime: float = 600.0
    update_previous_map: bool = True
    previous_map_lifetime: float = 60.0
    first_registration_timeout: float = INITIAL_BINDACK_TIMEOUT_FIRST_REG
    bindack_timeout: float = INITIAL_BINDACK_TIMEOUT
    max_bindack_timeout: float = MAX_BINDACK_TIMEOUT
    max_retries: int | None = 4
    wall_clock_offset: float = 0.0
    additional_maps: int = 0
    correspondent_maps: tuple[tuple[IPv6Network, IPv6Address], ...] = ()
    correspondents_on_lcoa: tuple[IPv6Network, ...] = ()

    def __post_init__(self) -> None:
        if self.additional_maps < 0:
            raise ValueError("additional_maps must be >= 0")
        check_lifetime("lifetime", self.lifetime)
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        check_lifetime("previous_map_lifetime", self.previous_map_lifetime)
        if self.lifetime == 0 or self.previous_map_lifetime == 0:
            raise ValueError("MAP binding lifetimes must be positive")

    def credentials_for(self, map_address: IPv6Address) -> MobilityCredentials | None:
        """The MN-MAP credentials to use with ``map_address``."""
        for address, credentials in self.map_credentials:
            if address == map_address:
                return credentials
        return self.credentials
