"""The mobile node's HMIPv6 client (RFC 5380 §6.1, §7.1, §8, §9, §10).

A :class:`MapClient` is a :class:`~mipshop.protocol.mipv6.mobility_client.MobilityClient` composed
into a :class:`~mipshop.protocol.mipv6.mobile_node.MobileNode` (:meth:`MapClient.install`); the
Mobile IPv6 core is not switched by a flag. It

* keeps every MAP option of the latest Router Advertisement (RFC 5380 §7.1: stored for
  movement detection) and runs the RFC 5380 §9.1 selection on each (:mod:`.selection`:
  furthest first, Pref 0 and Valid Lifetime 0 skipped, ties to the highest Pref, then the
  lowest address);
* forms the RCoA statelessly from the MAP prefix and the interface identifier (RFC 5380 §6);
  the LCoA is the core's on-link care-of address;
* registers RCoA -> LCoA with the MAP (:mod:`.local_binding`: the local BU, RFC 5380 §4),
  and then, through the core's hooks, has the home agent and the correspondents bind the
  home address to the RCoA (:meth:`registration_care_of_address`), only once the MAP has
  accepted it (:meth:`registration_ready`, RFC 5380 §6.1 SHOULD) and never for longer than
  the MAP binding (:meth:`registration_lifetime_limit`, §6.1 MUST);
* reverse-tunnels every packet sourced from an RCoA to that RCoA's MAP, from the LCoA
  (:meth:`outbound`: the HA's BU and tunnel, return routability, route-optimised traffic;
  with a home agent this is the double encapsulation of RFC 5380 §6.1 and §11), and
  decapsulates what the MAP tunnels to the LCoA (:meth:`decapsulate`);
* on movement inside the domain (same MAP selected) sends only the local BU: the RCoA is
  unchanged, so the core sends nothing to the HA or the correspondents (RFC 5380 §6.1);
* on entering another domain forms the new RCoA, registers with the new MAP, then the HA
  and correspondents, and sends the previous MAP a local BU binding the old RCoA to the new
  LCoA so that in-flight packets follow (RFC 5380 §6.1, §8);
* on a MAP option with Valid Lifetime 0 (MAP failure, RFC 5380 §7.1, §10) forgets that
  binding, selects another MAP and registers again; with no usable MAP the node runs plain
  Mobile IPv6 on its LCoA.

Resolved ambiguities ([choice]):

* **The R flag** (docs/decisions.md D8): RFC 5380 §5 says the MAP allocates the RCoA through
  IKEv2 (RFC 4877 §9), which is out of scope. The closest thing done here: with R=1 the node
  still proposes its stateless RCoA in the local BU, and accepts the RCoA the MAP returns in
  the BA's Type 2 Routing Header (any address of the MAP's prefix, until the first accepted
  BA), adopting it for the home and correspondent registrations. With R=0 a BA must carry
  the proposed RCoA. Either way the RCoA goes in the Home Address option (§7.1 MUST).
* **No usable MAP**, or a MAP that rejects the local BU (e.g. 129 for a foreign LCoA) or does
  not answer it (the RFC 6275 §11.8 back-off runs out): the next MAP in §9.1 order is tried,
  and when none is left the node registers its LCoA as in plain Mobile IPv6 (§7.1 MUST NOT
  use HMIPv6 then). A refusal holds for that MAP and LCoA only.
* A MAP whose preference fell to 0 is kept while no other is usable (:func:`.reselect`).
* **Lazy release** (§9): bindings are not de-registered. The previous MAP's forwarding
  binding (§8) is not refreshed and is forgotten when it expires; leaving a domain for a link
  without a MAP also updates the previous MAP. Returning home forgets every local binding.

Events (all from the mobile node): ``map.options`` (``maps``), ``map.selected`` (``map``,
``rcoa``, ``distance``, ``preference``, ``r_flag``), ``map.bu_sent`` (``map``, ``rcoa``,
``lcoa``, ``sequence``, ``lifetime``, ``retransmission``, ``previous``), ``map.registered`` /
``map.refreshed`` (``map``, ``rcoa``, ``lcoa``, ``lifetime``, ``previous``), ``map.rejected``
(``map``, ``status``, ``previous``), ``map.ba_ignored`` (``map``, ``reason``),
``map.rcoa_assigned`` (``map``, ``proposed``, ``assigned``), ``map.domain_changed``
(``previous_map``, ``map``, ``previous_rcoa``, ``rcoa``; ``map`` None when no MAP is usable),
``map.failed`` (``map``, ``rcoa``), ``map.unavailable``, ``map.binding_lost`` (``map``,
``reason``, ``previous``), ``map.released`` (``map``, ``rcoa``).
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from ...wire.icmpv6 import RouterAdvertisement
from ...wire.ipv6 import IPv6Packet, encapsulate
from ...wire.mh import BindingAcknowledgement
from ...wire.nd_options import MAPOption, PrefixInformation, same_address
from ..base.actions import HostAddress
from ..base.tables import EMPTY as _EMPTY
from ..mipv6.mn_ha_auth import TimestampSource
from ..mipv6.mobility_client import MobilityClient
from .config import MapClientConfig
from .local_binding import LocalBinding
from .selection import (
    regional_care_of_address,
    reselect,
    selection_order,
    shared_options,
    usable,
)

if TYPE_CHECKING:
    from ..mipv6.mobile_node import MobileNode

#: [choice] Retransmissions of the BU to the previous MAP (RFC 5380 §8 is best effort).
PREVIOUS_MAP_RETRIES = 2


class MapClient(MobilityClient):
    """HMIPv6 for one mobile node (see the module docstring).

    State: :attr:`options` (the MAP options of the latest RA by address, compared RA to RA
    for movement detection), :attr:`heard` (every MAP heard since leaving home, its latest
    option, in address order; both read-only mappings shared between nodes),
    :attr:`selected` (the MAP the §9.1 algorithm chose, None: plain MIPv6),
    :attr:`current` (the local binding with the selected MAP) and :attr:`bindings` (every
    local binding, the previous MAP's included).
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_refused", "bindings", "config", "current", "heard", "hosted", "node", "options",
        "secondary", "selected", "timestamps")

    def __init__(self, node: MobileNode, config: MapClientConfig) -> None:
        self.node = node
        self.config = config
        #: Read-only mappings shared between nodes (selection.shared_options).
        self.options: Mapping[IPv6Address, MAPOption] = _EMPTY
        #: Every MAP heard since leaving home, its latest option (RFC 5380 §7.1: stored), in
        #: address order.
        self.heard: Mapping[IPv6Address, MAPOption] = _EMPTY
        self.selected: MAPOption | None = None
        self.current: LocalBinding | None = None
        self.bindings: dict[IPv6Address, LocalBinding] = {}
        #: Local bindings with MAPs besides the selected one (``additional_maps``,
        #: ``correspondent_maps``), by MAP address.
        self.secondary: dict[IPv6Address, LocalBinding] = _EMPTY
        self.timestamps = TimestampSource(config.wall_clock_offset)
        #: MAP address -> the LCoA it refused (or did not answer) a local BU from.
        self._refused: dict[IPv6Address, IPv6Address | None] = _EMPTY
        #: RCoAs given to the node's applications (HostAddress): a tuple, most often of one
        #: (a set of one is 216 bytes, the tuple 48).
        self.hosted: tuple[IPv6Address, ...] = ()

    @classmethod
    def install(cls, node: MobileNode, config: MapClientConfig) -> MapClient:
        """Compose a MAP client into ``node`` (docs/architecture.md: a mobile node gains a MAP
        client)."""
        client = cls(node, config)
        node.add_client(client)
        return client

    # -- MAP discovery and selection (RFC 5380 §7.1, §9, §10) -------------------------------

    def router_advertisement(self, packet: IPv6Packet) -> None:
        """Store the RA's MAP options and re-run the selection (called before movement)."""
        ra = packet.payload
        if not isinstance(ra, RouterAdvertisement):
            return
        prefixes = [IPv6Network((o.prefix, o.prefix_length), strict=False)
                    for o in ra.options if isinstance(o, PrefixInformation)]
        if self.node.home_prefix in prefixes:
            return  # the home link: returned_home() follows
        options = shared_options(tuple(o for o in ra.options if isinstance(o, MAPOption)))
        if options != self.options:
            self.node.emit("map.options", maps=tuple(options))
        self.options = options
        heard = self.heard
        # What heard.update(options) would hold, without changing a mapping in place: when
        # every MAP heard before is in this RA, the same entries as the RA's own options, so
        # the one mapping serves as both (a node hears one MAP at a time). Otherwise the
        # merged options in address order, shared with every node that heard the same
        # (RFC 5380 §7.1 asks for them to be stored, not for the order they came in).
        if not heard.keys() <= options.keys():
            merged = {**heard, **options}
            options = shared_options(tuple(merged[address] for address in sorted(merged)))
        self.heard = options
        lcoa = self.node.care_of_address
        # Same link (the RA's prefix holds the LCoA, or it shows no prefix at all): act now;
        # otherwise the node is moving and care_of_address_changed() acts once the new LCoA
        # is usable.
        same_link = lcoa is not None and not self.node.at_home and (
            not prefixes or any(lcoa in prefix for prefix in prefixes))
        self._reselect(immediate=same_link)

    def _reselect(self, *, immediate: bool) -> None:
        for binding in list(self.bindings.values()):
            heard = self.options.get(binding.map_address)
            if heard is not None and heard.valid_lifetime == 0:
                self._map_failed(binding)  # the current MAP's or a previous one's
        lcoa = self.node.care_of_address
        candidates = [o for o in self.options.values()
                      if o.address not in self._refused or self._refused[o.address] != lcoa]
        keep = self.current.map_address if self.current is not None else None
        chosen = reselect(candidates, keep)
        had = self.selected is not None
        self.selected = chosen
        if chosen is None:
            if had:
                self.node.emit("map.unavailable")
            if immediate:
                self._leave_domain()
            return
        if self.current is not None and self.current.map_address == chosen.address:
            self.current.option = chosen  # same domain: newer Pref / lifetime
        elif immediate:
            self._enter(chosen)
        self._sync_secondaries(register=immediate)

    def care_of_address_changed(self, care_of_address: IPv6Address) -> None:
        """A new LCoA: local BU to the selected MAP (and the previous one), or plain MIPv6;
        and to every other MAP the node registers with."""
        if self.selected is None:
            self._leave_domain()
        else:
            self._enter(self.selected)
        self._sync_secondaries(register=True)

    # -- several MAPs at once (RFC 5380 §3.1, §7.1, §9.1; [choice] docs/decisions.md D21) ------

    def _wanted_secondaries(self) -> dict[IPv6Address, MAPOption]:
        """The MAPs to register with besides the selected one: those ``correspondent_maps``
        names, and ``additional_maps`` more in §9.1 order, among the usable MAPs the current
        link advertises (none without a selected MAP: §7.1, no HMIPv6 then)."""
        primary = self.selected
        if primary is None:
            return {}
        lcoa = self.node.care_of_address
        candidates = [o for o in selection_order(self.options.values())
                      if usable(o) and o.address != primary.address
                      and self._refused.get(o.address, "") != lcoa]
        named = {address for _prefix, address in self.config.correspondent_maps}
        wanted = {o.address: o for o in candidates if o.address in named}
        extra = [o for o in candidates if o.address not in named]
        wanted.update((o.address, o) for o in extra[:self.config.additional_maps])
        return wanted

    def _sync_secondaries(self, *, register: bool) -> None:
        """Release the secondary bindings no longer wanted; with ``register``, bind the
        current LCoA at every wanted one (a new link, or a newly advertised MAP)."""
        wanted = self._wanted_secondaries()
        for address, binding in list(self.secondary.items()):
            if address not in wanted or binding is self.current:
                del self.secondary[address]
                if binding is not self.current:
                    self._release(binding)  # [choice] lazy: no de-registration (§9)
        lcoa = self.node.care_of_address
        if not register or lcoa is None:
            return
        for address, option in wanted.items():
            binding = self.bindings.get(address)  # type: ignore[assignment]
            if binding is None:
                rcoa = regional_care_of_address(option, self.node.interface_identifier)
                binding = LocalBinding(self, self.node, self.config, option, rcoa,
                                       self.timestamps)
                self.bindings[address] = binding
            elif binding.previous:
                continue  # forwarding for the previous domain (§8); not used as a secondary
            binding.option = option
            if address not in self.secondary:
                if self.secondary is _EMPTY:
                    self.secondary = {}
                self.secondary[address] = binding
                self.node.emit("map.secondary", map=address, rcoa=binding.rcoa)
            if binding.lcoa != lcoa or not binding.entry.binding_active(self.node.now):
                binding.register(lcoa, lifetime=self.config.lifetime,
                                 max_retries=self.config.max_retries)

    def correspondent_care_of_address(self, correspondent: IPv6Address) -> IPv6Address | None:
        """The RCoA of the MAP ``correspondent_maps`` gives ``correspondent``'s prefix (or the
        LCoA, ``correspondents_on_lcoa``), once that MAP has accepted it; None: the node's
        registered care-of address (the selected MAP's RCoA)."""
        if any(correspondent in prefix for prefix in self.config.correspondents_on_lcoa):
            return self.node.care_of_address
        for prefix, address in self.config.correspondent_maps:
            if correspondent in prefix:
                binding = self.secondary.get(address)
                if binding is None and self.current is not None and (
                        self.current.map_address == address):
                    binding = self.current
                if binding is not None and binding.confirmed and binding.lcoa == (
                        self.node.care_of_address):
                    return binding.rcoa
        return None

    def correspondent_lifetime_limit(self, correspondent: IPv6Address) -> float | None:
        """What is left of the binding whose RCoA ``correspondent`` gets (§6.1 MUST NOT
        exceed it), or None."""
        address = self.correspondent_care_of_address(correspondent)
        for binding in self.bindings.values():
            if binding.rcoa == address and binding.confirmed:
                return binding.remaining()
        return None

    def _enter(self, option: MAPOption) -> None:
        """Register the current LCoA with the MAP of ``option`` (a new domain or not)."""
        node = self.node
        lcoa = node.care_of_address
        if lcoa is None:
            return
        previous = self.current
        binding = self.bindings.get(option.address)
        if binding is None:
            rcoa = regional_care_of_address(option, node.interface_identifier)  # RFC 5380 §6
            binding = LocalBinding(self, node, self.config, option, rcoa, self.timestamps)
            self.bindings[option.address] = binding
        binding.option = option
        if option.address in self.secondary:  # a secondary MAP may become the selected one
            del self.secondary[option.address]
        if previous is not binding:
            binding.previous = False
            binding.confirmed = False  # the HA and CNs wait for this MAP's BA (§6.1)
            self.current = binding
            node.emit("map.selected", map=option.address, rcoa=binding.rcoa,
                      distance=option.distance, preference=option.preference,
                      r_flag=option.r_flag)
            if previous is not None:
                # RFC 5380 §6.1 / §3.1: a new MAP address means a new domain.
                node.emit("map.domain_changed", previous_map=previous.map_address,
                          map=option.address, previous_rcoa=previous.rcoa, rcoa=binding.rcoa)
                self._forward_from(previous, lcoa)
        binding.register(lcoa, lifetime=self.config.lifetime,
                         max_retries=self.config.max_retries)
        node.update_registrations()

    def _leave_domain(self) -> None:
        """No usable MAP on this link: plain Mobile IPv6 on the LCoA (RFC 5380 §7.1)."""
        node = self.node
        previous, self.current = self.current, None
        if previous is not None:
            node.emit("map.domain_changed", previous_map=previous.map_address, map=None,
                      previous_rcoa=previous.rcoa, rcoa=None)
            lcoa = node.care_of_address
            if lcoa is not None and lcoa != previous.lcoa:
                self._forward_from(previous, lcoa)
            else:
                previous.previous = True
        node.update_registrations()

    def _forward_from(self, previous: LocalBinding, lcoa: IPv6Address) -> None:
        """RFC 5380 §8: bind the previous RCoA to the new LCoA at the previous MAP."""
        if not self.config.update_previous_map or not previous.confirmed:
            self._release(previous)
            return
        previous.previous = True
        previous.register(lcoa, lifetime=self.config.previous_map_lifetime,
                          max_retries=PREVIOUS_MAP_RETRIES)

    def _map_failed(self, binding: LocalBinding) -> None:
        """RFC 5380 §7.1, §10: Valid Lifetime 0; the binding can be assumed lost."""
        self.node.emit("map.failed", map=binding.map_address, rcoa=binding.rcoa)
        if self.current is binding:
            self.current = None
        self._release(binding)

    def _host(self, rcoa: IPv6Address, active: bool) -> None:
        """RFC 5380 §6.1: an accepted RCoA may be the source of traffic that needs no home
        address (:class:`~..base.actions.HostAddress`), until its binding goes."""
        hosted = self.hosted
        if active == (rcoa in hosted):
            return
        self.hosted = (*hosted, rcoa) if active else tuple(a for a in hosted if a != rcoa)
        self.node.act(HostAddress(address=rcoa, active=active))

    def _release(self, binding: LocalBinding) -> None:
        binding.cancel()
        self._host(binding.rcoa, False)
        if self.secondary.get(binding.map_address) is binding:
            del self.secondary[binding.map_address]
            self.node.correspondent_addresses_changed()
        if self.bindings.get(binding.map_address) is binding:
            del self.bindings[binding.map_address]
        if self.current is binding:
            self.current = None
        self.node.emit("map.released", map=binding.map_address, rcoa=binding.rcoa)

    # -- outcomes of the local bindings (LocalBindingOwner) ---------------------------------

    def binding_accepted(self, binding: LocalBinding, *, refresh: bool) -> None:
        """The MAP accepted: the HA and CNs may now be told about the RCoA (§6.1), and the
        node's applications may use it as a source (§6.1)."""
        self.node.emit("map.refreshed" if refresh else "map.registered",
                       map=binding.map_address, rcoa=binding.rcoa, lcoa=binding.lcoa,
                       lifetime=binding.entry.granted_lifetime, previous=binding.previous)
        self._host(binding.rcoa, True)
        if self.secondary.get(binding.map_address) is binding:
            self.node.correspondent_addresses_changed()
        if binding is self.current:
            for client in self.node.clients:
                # A binding reported registered has its LCoA (LocalBinding.lcoa).
                client.care_of_address_registered(binding.lcoa)  # type: ignore[arg-type]
            self.node.update_registrations()

    def binding_rejected(self, binding: LocalBinding, status: int) -> None:
        """The MAP refused: try the next MAP (or plain MIPv6) for this LCoA."""
        self.node.emit("map.rejected", map=binding.map_address, status=status,
                       previous=binding.previous)
        self._give_up(binding)

    def binding_lost(self, binding: LocalBinding, reason: str) -> None:
        """Expired: register again (current) or forget (previous); unanswered: next MAP."""
        self.node.emit("map.binding_lost", map=binding.map_address, reason=reason,
                       previous=binding.previous)
        lcoa = self.node.care_of_address
        secondary = self.secondary.get(binding.map_address) is binding
        if (binding is self.current or secondary) and reason == "expired" and lcoa is not None:
            binding.confirmed = False
            binding.register(lcoa, max_retries=self.config.max_retries)
            self.node.update_registrations()
        else:
            self._give_up(binding)

    def _refuse(self, binding: LocalBinding) -> None:
        """Record that ``binding``'s MAP refused (or did not answer) its latest LCoA."""
        if self._refused is _EMPTY:
            self._refused = {}
        self._refused[binding.map_address] = binding.lcoa

    def _give_up(self, binding: LocalBinding) -> None:
        if binding is not self.current:
            if self.secondary.get(binding.map_address) is binding:
                # Failure handling per MAP: this one is not tried again from this LCoA; the
                # selected MAP and the others are unaffected.
                self._refuse(binding)
            self._release(binding)
            return
        self._refuse(binding)
        self._release(binding)
        self._reselect(immediate=self.node.care_of_address is not None)

    def ba_ignored(self, binding: LocalBinding, reason: str) -> None:
        """Count and report a dropped BA."""
        self.node.counters[f"map.ba_ignored.{reason}"] += 1
        self.node.emit("map.ba_ignored", map=binding.map_address, reason=reason)

    # -- hooks of the Mobile IPv6 core ------------------------------------------------------

    def registration_care_of_address(self) -> IPv6Address | None:
        """The RCoA of the selected MAP (None: no MAP, the core registers the LCoA)."""
        if self.selected is None:
            return None
        binding = self.bindings.get(self.selected.address)
        if binding is not None:
            return binding.rcoa
        return regional_care_of_address(self.selected, self.node.interface_identifier)

    def registration_ready(self) -> bool:
        """False until the selected MAP has accepted the RCoA (RFC 5380 §6.1 SHOULD wait)."""
        if self.selected is None:
            return True
        current = self.current
        return (current is not None and current.map_address == self.selected.address
                and current.confirmed)

    def registration_lifetime_limit(self) -> float | None:
        """What is left of the MAP binding (RFC 5380 §6.1 MUST NOT exceed it)."""
        current = self.current
        if self.selected is None or current is None or not current.confirmed:
            return None
        return current.remaining()

    def owns_address(self, address: IPv6Address) -> bool:
        """True for the RCoA of any local binding (the previous MAP's included)."""
        return any(binding.owns(address) for binding in self.bindings.values())

    def outbound(self, packet: IPv6Packet) -> IPv6Packet:
        """Reverse-tunnel a packet from an RCoA: LCoA -> MAP (RFC 5380 §6.1)."""
        lcoa = self.node.care_of_address
        if lcoa is None:
            return packet
        for binding in self.bindings.values():
            if same_address(packet.src, binding.rcoa) and same_address(binding.lcoa, lcoa):
                self.node.counters["map.tunnel.encapsulated"] += 1
                return encapsulate(packet, src=lcoa, dst=binding.map_address)
        return packet

    def decapsulate(self, packet: IPv6Packet) -> IPv6Packet | None:
        """Unwrap the MAP -> LCoA tunnel (RFC 5380 §6.1); the inner packet is for an RCoA.

        The outer destination may be a previous LCoA the node still owns: during an FMIPv6
        handover the PAR forwards MAP -> PCoA packets to the NCoA (RFC 4140 Appendix A).
        """
        inner = packet.payload
        if (isinstance(inner, IPv6Packet) and packet.src in self.bindings
                and self.node.owns_care_of_address(packet.dst)):
            self.node.counters["map.tunnel.decapsulated"] += 1
            return inner
        return None

    def handle(self, packet: IPv6Packet) -> bool:
        """Consume a BA from a MAP we have a binding with."""
        binding = self.bindings.get(packet.src)
        if binding is None or not isinstance(packet.payload, BindingAcknowledgement):
            return False
        binding.acknowledge(packet, packet.payload)
        return True

    def returned_home(self) -> None:
        """At home no local binding is used: forget them all (lazy release, §9)."""
        for binding in list(self.bindings.values()):
            self._release(binding)
        self.secondary = _EMPTY
        self.current = self.selected = None
        self.options = _EMPTY
        self.heard = _EMPTY
        self._refused = _EMPTY
