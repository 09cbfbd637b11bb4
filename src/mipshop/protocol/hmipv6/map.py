"""The HMIPv6 Mobility Anchor Point (RFC 5380 §6.2, §8, §10): a local home agent.

The MAP binds a mobile node's regional care-of address (RCoA, on the MAP's link) to its on-link
care-of address (LCoA). It shares the registration checks, the Binding Cache, proxy ND and the
tunnels with the home agent (:class:`~mipshop.protocol.mipv6.binding_agent.BindingAgent`), so a
local BU is validated exactly like a home registration, with the same BA statuses (RFC 5380 §6.2:
"No new error codes are introduced for HMIPv6"). What is the MAP's own:

* only local BUs (M flag, RFC 5380 §4) create bindings; a home registration (H without M)
  gets 131 (home registration not supported), a BU with neither flag is ignored, and a BU of
  the other kind for an existing binding gets 139 (RFC 6275 §9.5.1);
* the BA carries a Type 2 Routing Header with the RCoA (RFC 5380 §6.2 MUST), sent to the
  LCoA and authenticated with the MN-MAP security association over (LCoA, RCoA);
* an LCoA outside ``allowed_lcoa_prefixes`` gets 129 (RFC 5380 §6.2, §8);
* every MN-MAP security association names the one RCoA it may register: a BU for another
  gets 129 (as at a home agent, RFC 6275 §10.3.1); an RCoA outside the MAP's prefix gets 132
  (as a home address outside the home subnet), and an RCoA already bound for another node 134
  (duplicate address) [choice], as does the MAP's own address (DAD would find it in use,
  RFC 6275 §10.3.1); with ``allocate_rcoa`` (what the MAP option's R flag
  announces) the MAP assigns the SA's RCoA instead and returns it in the BA's Type 2 Routing
  Header (RFC 5380 §5; the RFC 4877 §9 IKEv2 allocation it refers to is out of scope,
  docs/decisions.md D8, but like it the address is tied to the SA);
* packets for a registered RCoA are intercepted (a :class:`~mipshop.protocol.base.actions.Claim`
  with proxy ND on the MAP's link; when the MAP starts serving an RCoA it multicasts an
  unsolicited Neighbor Advertisement for it with its own link-layer address, RFC 5380 §6.2
  "identical to that of the HA", RFC 6275 §10.4.1) and tunnelled to the LCoA;
  reverse-tunnelled packets from the LCoA are decapsulated and forwarded (RFC 5380 §6.2 MUST).
  The MAP never learns the home address: nothing here reads the inner packets' Home Address
  options.

A MAP that also anchors FMIPv6 handovers between the access routers below it (F-HMIPv6,
RFC 4140 Appendix A, Figure A.2) is :class:`~mipshop.protocol.fmipv6.map_anchor.FastHandoverMap`,
a subclass in :mod:`mipshop.protocol.fmipv6` that overrides the registration hooks: HMIPv6 itself
knows nothing of FMIPv6.

Events: ``map.start``, ``map.warning`` (``reason``), ``map.rcoa_assigned`` (``proposed``,
``assigned``), and the :mod:`mipshop.protocol.mipv6.binding_agent` events, whose ``home_address``
field holds the RCoA and ``care_of_address`` the LCoA.

Commands: :meth:`MobilityAnchorPoint.start`.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from dataclasses import replace
from ipaddress import IPv6Address

from ...wire.mh import BindingAckStatus, BindingUpdate
from ..base.actions import BindingRecord, ConfigureAddress
from ..base.addressing import address_from_prefix
from ..mipv6.binding_agent import BindingAgent, Registration
from ..mipv6.binding_cache import BindingCacheEntry
from .config import MapConfig

S = BindingAckStatus

#: [choice] Random interface identifiers tried before an RCoA allocation gives up (130).
ALLOCATION_ATTEMPTS = 16


class MobilityAnchorPoint(BindingAgent):
    """A MAP on one link (RFC 5380 §6.2). Commands: :meth:`start`.

    ``cache`` is its Binding Cache, keyed by RCoA. Inputs go through
    :meth:`~mipshop.protocol.base.entity.Entity.receive` on ``config.interface``.
    """

    def __init__(self, name: str, rng: random.Random, config: MapConfig) -> None:
        super().__init__(name, rng, config, address=config.address, interface=config.interface)
        self.config = config
        #: RCoA -> the identity (MN-ID of the SA; None when unauthenticated) that bound it.
        self._owners: dict[IPv6Address, Hashable] = {}

    def start(self, now: float) -> None:
        """Configure the MAP's address."""
        self.now = now
        self.act(ConfigureAddress(interface=self.interface, address=self.address))
        self.emit("map.start", address=self.address)
        if self.config.accept_unauthenticated:
            self.emit("map.warning", reason="accept_unauthenticated")

    # -- registration hooks (RFC 5380 §6.2) ----------------------------------------------

    def _serves(self, bu: BindingUpdate) -> bool:
        return bu.map_registration

    def _same_kind(self, entry: BindingCacheEntry) -> bool:
        return entry.map_registration

    def _unserved(self, reg: Registration) -> None:
        if reg.update.home_registration:
            # RFC 6275 §6.1.8 status 131: this node is no home agent.
            self._reject(reg, S.HOME_REGISTRATION_NOT_SUPPORTED)
        else:
            super()._unserved(reg)

    def _intercepting(self, addresses: tuple[IPv6Address, ...]) -> None:
        """RFC 5380 §6.2: the MAP intercepts an RCoA "identical[ly]" to a home agent, and RFC
        6275 §10.4.1 has that agent, when it begins serving, multicast to all nodes a
        Neighbor Advertisement for the address with its own link-layer address (Target
        Link-Layer Address option, R = 0, S = 0, O = 1), so that a neighbour with a cached
        entry for the RCoA (a MAP that held it before a restart or a failover, RFC 5380 §10)
        switches to this one. From the MAP's address (its configuration has no link-local
        address), on its interface."""
        mac = self.config.link_layer_address
        if mac is not None:
            self._announce(addresses, self.address, mac)

    def _admit(self, reg: Registration) -> Registration | None:
        rcoa = reg.home_address
        creds = reg.credentials
        if creds is not None:
            if (self.config.allocate_rcoa and reg.update.lifetime > 0
                    and creds.home_address is not None and rcoa != creds.home_address):
                # RFC 5380 §5: the MAP allocates the RCoA; it assigns the one the node's SA
                # names (as an RFC 4877 configuration payload ties it to the SA).
                return self._assigned(reg, creds.home_address)
            admitted = super()._admit(reg)  # the SA's RCoA only (129 otherwise)
            if admitted is None:
                return None
        identity = creds.identifier if creds is not None else None
        entry = self.cache.lookup(rcoa, self.now)
        owner = self._owners.get(rcoa) if entry is not None else None
        taken = entry is not None and owner != identity
        if creds is None and reg.update.lifetime > 0 and self.config.allocate_rcoa:
            in_use = entry is None and (rcoa in self.config.addresses_in_use
                                        or self._is_local(rcoa))
            if taken or in_use or rcoa not in self.config.rcoa_prefix:
                return self._assign(reg)
            return reg
        if taken:
            # Another node's RCoA [choice]: 133 to a de-registration, 134 (duplicate address,
            # as DAD at a home agent would find) to a registration.
            self._reject(reg, S.NOT_HOME_AGENT_FOR_THIS_MOBILE_NODE if reg.update.lifetime == 0
                         else S.DUPLICATE_ADDRESS_DETECTION_FAILED)
            return None
        return reg

    def _assign(self, reg: Registration) -> Registration | None:
        """Give an unauthenticated ``reg`` a random free RCoA from the MAP prefix."""
        prefix = self.config.rcoa_prefix
        for _ in range(ALLOCATION_ATTEMPTS):
            candidate = address_from_prefix(prefix, self.rng.getrandbits(64))
            if (candidate != self.address and candidate not in self.config.addresses_in_use
                    and candidate not in self._owners
                    and self.cache.lookup(candidate, self.now) is None):
                return self._assigned(reg, candidate)
        self._reject(reg, S.INSUFFICIENT_RESOURCES)
        return None

    def _assigned(self, reg: Registration, rcoa: IPv6Address) -> Registration:
        self.emit("map.rcoa_assigned", proposed=reg.home_address, assigned=rcoa)
        return replace(reg, home_address=rcoa)

    def _registration_status(self, reg: Registration) -> int | None:
        if reg.home_address not in self.config.rcoa_prefix:
            return S.NOT_HOME_SUBNET  # the RCoA is not on the MAP's subnet
        allowed = self.config.allowed_lcoa_prefixes
        if allowed and not any(reg.care_of_address in prefix for prefix in allowed):
            return S.ADMINISTRATIVELY_PROHIBITED  # RFC 5380 §6.2, §8
        return None

    def _lifetime_ceiling(self) -> float:
        # RFC 5380 §5: the MAP option's Valid Lifetime bounds the RCoA's validity.
        return float(self.config.valid_lifetime)

    def _new_entry(self, reg: Registration, granted: int) -> BindingCacheEntry:
        return BindingCacheEntry(
            home_address=reg.home_address, care_of_address=reg.care_of_address,
            lifetime=granted, registered_at=self.now, sequence=reg.update.sequence,
            map_registration=True,
        )

    def _accept(self, reg: Registration, existing: BindingCacheEntry | None) -> None:
        self._owners[reg.home_address] = (
            reg.credentials.identifier if reg.credentials is not None else None)
        super()._accept(reg, existing)

    def _released(self, home_address: IPv6Address) -> None:
        self._owners.pop(home_address, None)

    def _restorable(self, entry: BindingCacheEntry, record: BindingRecord) -> bool:
        # The checks a local BU for this RCoA and LCoA would pass now (RFC 5380 §6.2, §8).
        allowed = self.config.allowed_lcoa_prefixes
        if entry.home_address not in self.config.rcoa_prefix or (
                allowed and not any(entry.care_of_address in p for p in allowed)):
            return False
        return super()._restorable(entry, record)

    def _restored(self, entry: BindingCacheEntry, record: BindingRecord) -> None:
        # The RCoA stays its owner's: another node cannot take it over after a restart.
        self._owners[entry.home_address] = record.owner
