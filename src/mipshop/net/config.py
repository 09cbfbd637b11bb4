"""The daemons' TOML configuration, checked key by key and turned into entities.

A file has a ``[daemon]`` table (how the runtime runs: TUN name, the links it uses, the event
log, the control socket, the seed, and for a home agent or a MAP the ``state_file`` that keeps
its bindings across restarts) and one table for the role's entity, whose keys are the
fields of the protocol configuration dataclasses (:mod:`mipshop.protocol.config`) in TOML
types: addresses and prefixes as strings, link-layer addresses as ``"02:00:00:00:00:01"``,
keys as hex. An unknown key is an error naming the known ones. Example (home agent)::

    [daemon]
    name = "ha"
    interfaces = ["eth0"]
    event_log = "/tmp/ha.jsonl"
    control = "/tmp/ha.sock"
    state_file = "/var/lib/mipshop/ha.sqlite"

    [home_agent]
    interface = "eth0"
    address = "2001:db8:1::1"
    prefix = "2001:db8:1::/64"

    [[home_agent.credentials]]
    identifier = "mn1@example.com"
    spi = 1000
    key = "000102030405060708090a0b0c0d0e0f"
    home_address = "2001:db8:1::100"

A home agent's or MAP's ``credentials`` must each name the one address (home address, RCoA)
they may register (RFC 6275 §10.3.1); a mobile node's need not.

Roles: ``ha`` (``[home_agent]``: the :class:`~mipshop.protocol.config.RouterConfig` keys plus
the :class:`~mipshop.protocol.config.HomeAgentConfig` ones), ``ar`` (``[access_router]``:
:class:`RouterConfig`, and an optional ``[access_router.fast_handover]`` table: the RFC 5568
PAR/NAR configuration with ``[[...neighbors]]`` and ``[[...handover_keys]]``, each key with
``spi``, ``key`` and the ``previous_care_of_address`` of its owner, RFC 5568 §10, and
``[[...router_keys]]``, one ``peer``/``spi``/``key`` per neighbour or MAP anchor: HI and HAck
are authenticated per router pair), ``mn``
(``[mobile_node]``: :class:`MobileNodeConfig`, with a ``[mobile_node.credentials]`` table and
an optional ``[mobile_node.route_optimization]`` table (``correspondents``, a list of
addresses, and the other :class:`~mipshop.protocol.mipv6.config.RouteOptimizationConfig`
fields), an optional ``[mobile_node.fast_handover]`` table, the MN-PAR key ``spi``/``key`` and the
:class:`~mipshop.protocol.fmip_config.FastHandoverClientConfig` fields, and an optional
``[mobile_node.map_client]`` table for HMIPv6), ``map`` (``[mobility_anchor_point]``:
:class:`~mipshop.protocol.map_config.MapConfig`, with an optional
``[mobility_anchor_point.fast_handover]`` table for F-HMIPv6: ``neighbors`` and
``handover_keys`` as for an access router). Under F-HMIPv6 an access router's
``fast_handover`` table also takes ``map_anchor`` (a MAP option table) and ``anchors``.
An access router's ``map_options`` is an array of tables (``address``, ``distance``,
``preference``, ``valid_lifetime``, ``r_flag``). ``cn`` (``[correspondent]``:
:class:`~mipshop.protocol.mipv6.config.CorrespondentConfig`): a correspondent node with route
optimization (RFC 6275 §9); its ``address`` must be an address of its ``interface`` already.

A home agent's or access router's ``link_local`` and ``link_layer_address``, and a mobile
node's ``link_layer_address``, default to the interface's own; one the
interface does not have is refused (:func:`complete_from_interface`).
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from ..protocol.access_router import AccessRouter
from ..protocol.base.config import RouterConfig
from ..protocol.base.dhcpv6 import Dhcpv6ServerConfig
from ..protocol.base.entity import Entity
from ..protocol.fmipv6.client import FastHandoverClient
from ..protocol.fmipv6.config import (
    FastHandoverAnchorConfig,
    FastHandoverClientConfig,
    FastHandoverRouterConfig,
    HandoverKey,
    NeighborRouter,
    RouterKey,
)
from ..protocol.fmipv6.map_anchor import FastHandoverMap
from ..protocol.hmipv6.client import MapClient
from ..protocol.hmipv6.config import MapClientConfig, MapConfig
from ..protocol.hmipv6.map import MobilityAnchorPoint
from ..protocol.mipv6.config import (
    CorrespondentConfig,
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
)
from ..protocol.mipv6.correspondent import CorrespondentNode
from ..protocol.mipv6.home_agent import HomeAgent
from ..protocol.mipv6.mn_ha_auth import SecurityAssociation
from ..protocol.mipv6.mobile_node import MobileNode
from ..wire.nd_options import MAPOption
from .errors import NetError

ROLES = ("ha", "ar", "mn", "map", "cn")
_SECTIONS = {"ha": "home_agent", "ar": "access_router", "mn": "mobile_node", "cn": "correspondent",
             "map": "mobility_anchor_point"}


@dataclass(frozen=True, kw_only=True, slots=True)
class DaemonSettings:
    """How the runtime runs one entity (the ``[daemon]`` table).

    * ``name``: the entity's name in events; ``seed``: its random generator's seed.
    * ``tun``: the TUN device that carries the addresses the daemon owns in user space.
    * ``interfaces``: the links the entity sends and listens on (raw sender, packet listener,
      proxy NDP); routers also get IPv6 forwarding.
    * ``event_log``: JSON-lines file of the entity's events; ``control``: a Unix socket taking
      JSON-lines commands (see :mod:`.daemon`).
    * ``tun_mtu``: the TUN MTU. It bounds what the kernel forwards into the device, so it
      must hold a whole tunnelled packet: the links' 1500.
    * ``application_mtu``: the path MTU of the mobile node's applications (the route from the
      home address into the TUN device); 1400 leaves room for the IPv6-in-IPv6 header the
      daemon adds (RFC 2473 §6.7) on 1500-octet links.
    * ``state_file`` (required for ``ha`` and ``map``, refused for the other roles): the
      SQLite database holding the binding cache and the RFC 4285 replay state
      (:mod:`.persistence`), reloaded at start; its directory must exist and be writable.
      ``state_synchronous``: SQLite's ``synchronous`` level, ``normal`` (a commit survives
      the daemon being killed) or ``full`` / ``extra`` (also a power cut).
    """

    name: str
    tun: str = "mip0"
    interfaces: tuple[str, ...] = ()
    event_log: str | None = None
    control: str | None = None
    seed: int = 1
    tun_mtu: int = 1500
    application_mtu: int = 1400
    state_file: str | None = None
    state_synchronous: str = "normal"


def parse_mac(text: str) -> bytes:
    """``"02:00:00:00:00:01"`` (or plain hex) -> 6 bytes."""
    if not isinstance(text, str):
        raise TypeError(f"expected a MAC address as a string, got {text!r}")
    value = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(value) != 6:
        raise ValueError(f"not a 6-octet MAC address: {text!r}")
    return value


# -- strict readers of TOML values: a value of the wrong type is a NetError naming its key,
# never a TypeError or AttributeError from deeper down (a traceback instead of exit 2).


def _table(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a TOML table (a copy)."""
    if not isinstance(value, dict):
        raise NetError(f"mipshop: config {where}: must be a table, got {value!r}")
    return dict(value)


def _tables(value: Any, where: str) -> list[dict[str, Any]]:
    """``value`` as an array of tables (copies)."""
    if not isinstance(value, list):
        raise NetError(f"mipshop: config {where}: must be an array of tables, got {value!r}")
    return [_table(entry, f"{where}[{i}]") for i, entry in enumerate(value)]


def _integer(value: Any, where: str) -> int:
    """``value`` as a TOML integer (not a float, a string or a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NetError(f"mipshop: config {where}: must be an integer, got {value!r}")
    return value


def _hex(value: Any, where: str) -> bytes:
    """``value``, a string of hexadecimal digits, as bytes."""
    if not isinstance(value, str):
        raise NetError(f"mipshop: config {where}: must be a string of hex digits, got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise NetError(f"mipshop: config {where}: not hex digits: {value!r}") from None


def _hex_list(value: Any, where: str) -> tuple[bytes, ...]:
    """``value``, an array of hex strings, as bytes each."""
    if not isinstance(value, list | tuple):
        raise NetError(f"mipshop: config {where}: must be an array of hex strings, got "
                       f"{value!r}")
    return tuple(_hex(v, f"{where}[{i}]") for i, v in enumerate(value))


def _convert(annotation: str, value: Any, where: str) -> Any:
    """Convert a TOML value to the dataclass field type named by ``annotation``."""
    kind = annotation.replace(" ", "").removesuffix("|None")
    try:
        if kind in ("IPv6Address", "IPv6Network") and not isinstance(value, str):
            # ipaddress also takes integers (and so booleans): a TOML address is a string.
            raise TypeError(f"expected an address as a string, got {value!r}")
        if kind == "IPv6Address":
            return IPv6Address(value)
        if kind == "IPv6Network":
            return IPv6Network(value)
        if kind == "bytes":
            return parse_mac(value)
        if kind == "float":
            # A TOML integer or float (not a string, a boolean, inf or nan).
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"expected a number, got {value!r}")
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"must be a finite number, got {value!r}")
            return float(value)
        if kind in ("int", "bool", "str"):
            expected = {"int": int, "bool": bool, "str": str}[kind]
            if not isinstance(value, expected):
                raise TypeError(f"expected {kind}")
            return value
        if kind in ("frozenset[IPv6Address]", "tuple[IPv6Network,...]",
                    "tuple[IPv6Address,...]", "tuple[str,...]", "frozenset[bytes]"):
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {value!r}")
            if kind == "frozenset[bytes]":
                return frozenset(parse_mac(v) for v in value)  # MAC addresses
            if not all(isinstance(v, str) for v in value):
                raise TypeError(f"expected an array of strings, got {value!r}")
            if kind == "frozenset[IPv6Address]":
                return frozenset(IPv6Address(v) for v in value)
            if kind == "tuple[IPv6Network,...]":
                return tuple(IPv6Network(v) for v in value)
            if kind == "tuple[IPv6Address,...]":
                return tuple(IPv6Address(v) for v in value)
            return tuple(value)
    except (ValueError, TypeError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc
    raise NetError(f"mipshop: config {where}: cannot be set from a TOML file")


def _fields(cls: type, table: dict[str, Any], where: str, *, skip: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    known = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in skip:
            continue
        if key not in known:
            names = ", ".join(sorted(k for k in known if k not in skip))
            raise NetError(f"mipshop: config {where}: unknown key {key!r} (known: {names})")
        out[key] = _convert(str(known[key].type), value, f"{where}.{key}")
    return out


def _keyed_table(table: Any, where: str, *, extra: frozenset[str] = frozenset(),
                 required: dict[str, str] | None = None) -> tuple[dict[str, Any], int, bytes]:
    """Check a key table's names and read its ``spi`` and ``key``.

    ``extra`` are the optional names besides ``spi`` and ``key``; ``required`` maps each name
    that must also be present to the reason given when it is not. Returns the table, the SPI
    and the key bytes.
    """
    table = _table(table, where)
    required = required or {}
    allowed = {"spi", "key"} | extra | set(required)
    unknown = set(table) - allowed
    if unknown:
        raise NetError(f"mipshop: config {where}: unknown key(s) {sorted(unknown)} "
                       f"(known: {', '.join(sorted(allowed))})")
    for name, reason in required.items():
        if name not in table:
            raise NetError(f"mipshop: config {where}: {name} is required ({reason})")
    missing = {"spi", "key"} - set(table)
    if missing:
        raise NetError(f"mipshop: config {where}: missing key(s) {sorted(missing)}")
    return table, _integer(table["spi"], f"{where}.spi"), _hex(table["key"], f"{where}.key")


def _credentials(table: dict[str, Any], where: str, *, agent: bool = False
                 ) -> MobilityCredentials:
    """One security association table; at an agent (``agent``) it must name its address."""
    # RFC 6275 §10.3.1: the address identifies the SA; a key for any address is a takeover.
    required = {"identifier": "the mobile node's identifier"}
    if agent:
        required["home_address"] = "the one address this security association may register"
    table, spi, key = _keyed_table(table, where, extra=frozenset({"home_address"}),
                                   required=required)
    identifier = table["identifier"]
    if not isinstance(identifier, str):
        raise NetError(f"mipshop: config {where}.identifier: must be a string, got "
                       f"{identifier!r}")
    try:
        return MobilityCredentials(
            identifier=identifier.encode(),
            security_association=SecurityAssociation(spi=spi, key=key),
            home_address=IPv6Address(table["home_address"]) if "home_address" in table
            else None,
        )
    except (TypeError, ValueError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


def _handover_key(table: dict[str, Any], where: str, *, anchor: bool = False) -> HandoverKey:
    """A handover key table; at an anchor (``anchor``) it must name its owner's PCoA."""
    # RFC 5568 §10: the PAR must know that the FBU comes from the owner of the PCoA.
    table, spi, key = _keyed_table(
        table, where, required={"previous_care_of_address": "the one address, PCoA or RCoA, "
                                "its owner may redirect"} if anchor else None)
    try:
        pcoa = table.get("previous_care_of_address")
        return HandoverKey(spi=spi, key=key,
                           previous_care_of_address=None if pcoa is None else IPv6Address(pcoa))
    except (ValueError, TypeError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


def _router_key(table: dict[str, Any], where: str) -> RouterKey:
    """A ``router_keys`` table: ``peer``, ``spi``, ``key`` (RFC 5568 §10 stand-in)."""
    table, spi, key = _keyed_table(table, where,
                                   required={"peer": "the router this key is shared with"})
    try:
        return RouterKey(peer=IPv6Address(table["peer"]), security_association=(
            SecurityAssociation(spi=spi, key=key)))
    except (ValueError, TypeError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


def _neighbors_and_keys(table: dict[str, Any], where: str
                        ) -> tuple[tuple[NeighborRouter, ...], tuple[HandoverKey, ...]]:
    """Pop ``neighbors``, ``handover_keys`` and ``router_keys`` (arrays of tables) from
    ``table``; the router keys are put back parsed."""
    neighbors = []
    for entry in _tables(table.pop("neighbors", []), f"{where}.neighbors"):
        aps = _hex_list(entry.pop("access_points", []), f"{where}.neighbors.access_points")
        fields = _fields(NeighborRouter, entry, f"{where}.neighbors",
                         skip=("access_points",))
        neighbors.append(NeighborRouter(access_points=aps, **fields))
    keys = tuple(_handover_key(k, f"{where}.handover_keys", anchor=True)
                 for k in _tables(table.pop("handover_keys", []), f"{where}.handover_keys"))
    table["router_keys"] = tuple(_router_key(k, f"{where}.router_keys")
                                 for k in _tables(table.pop("router_keys", []),
                                                  f"{where}.router_keys"))
    return tuple(neighbors), keys


def _fast_handover_router(table: dict[str, Any], where: str, offset: float
                          ) -> FastHandoverRouterConfig:
    """``[access_router.fast_handover]``: RFC 5568 PAR/NAR configuration; under F-HMIPv6
    (RFC 4140 Appendix A) also ``map_anchor`` (a MAP option table: the MAP named in this
    router's PrRtAdvs) and ``anchors`` (the MAP addresses whose HI it accepts)."""
    table = _table(table, where)
    neighbors, keys = _neighbors_and_keys(table, where)
    local = _hex_list(table.pop("local_access_points", []), f"{where}.local_access_points")
    anchor = table.pop("map_anchor", None)
    router_keys = table.pop("router_keys")
    fields = _fields(FastHandoverRouterConfig, table, where,
                     skip=("neighbors", "handover_keys", "local_access_points", "map_anchor"))
    fields.setdefault("wall_clock_offset", offset)
    return FastHandoverRouterConfig(
        router_keys=router_keys,
        neighbors=neighbors, handover_keys=keys, local_access_points=local,
        map_anchor=None if anchor is None else _map_option(anchor, f"{where}.map_anchor"),
        **fields)


def _fast_handover_anchor(table: dict[str, Any], where: str, offset: float
                          ) -> FastHandoverAnchorConfig:
    """``[mobility_anchor_point.fast_handover]``: the MAP anchors fast handovers between the
    access routers below it (RFC 4140 Appendix A): ``neighbors`` (the NARs),
    ``handover_keys`` (MN-MAP handover keys) and the HI parameters."""
    table = _table(table, where)
    neighbors, keys = _neighbors_and_keys(table, where)
    router_keys = table.pop("router_keys")
    fields = _fields(FastHandoverAnchorConfig, table, where,
                     skip=("neighbors", "handover_keys"))
    fields.setdefault("wall_clock_offset", offset)
    return FastHandoverAnchorConfig(neighbors=neighbors, handover_keys=keys,
                                    router_keys=router_keys, **fields)


def _map_client(table: dict[str, Any], where: str, offset: float) -> MapClientConfig:
    """``[mobile_node.map_client]``: the MN-MAP ``credentials`` table and the
    :class:`~mipshop.protocol.map_config.MapClientConfig` fields."""
    table = _table(table, where)
    creds = table.pop("credentials", None)
    fields = _fields(MapClientConfig, table, where, skip=("credentials", "map_credentials"))
    fields.setdefault("wall_clock_offset", offset)
    return MapClientConfig(
        credentials=None if creds is None else _credentials(creds, f"{where}.credentials"),
        **fields)


def _fast_handover_client(table: dict[str, Any], where: str) -> FastHandoverClientConfig:
    """``[mobile_node.fast_handover]``: ``spi`` and ``key`` (the MN-PAR handover key) and
    the :class:`FastHandoverClientConfig` fields."""
    table = _table(table, where)
    key = _handover_key({"spi": table.pop("spi", None), "key": table.pop("key", "")}, where)
    fields = _fields(FastHandoverClientConfig, table, where, skip=("key", "placement"))
    return FastHandoverClientConfig(key=key, **fields)


def _dhcp_server(table: dict[str, Any], where: str) -> Dhcpv6ServerConfig:
    """``[access_router.dhcp]``: the link's DHCPv6 server (RFC 8415): ``pool_start``,
    ``pool_size``, lifetimes, ``t1``/``t2``, ``preference``, ``offer_hold``."""
    try:
        return Dhcpv6ServerConfig(**_fields(Dhcpv6ServerConfig, _table(table, where), where,
                                            skip=("duid",)))
    except (TypeError, ValueError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


def _map_option(table: dict[str, Any], where: str) -> MAPOption:
    """One RFC 5380 §4 MAP option an access router advertises (``map_options`` entries)."""
    try:
        return MAPOption(**_fields(MAPOption, _table(table, where), where))
    except (TypeError, ValueError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


def _router(table: dict[str, Any], where: str) -> RouterConfig:
    table = _table(table, where)
    options = tuple(_map_option(o, f"{where}.map_options")
                    for o in _tables(table.pop("map_options", []), f"{where}.map_options"))
    try:
        return RouterConfig(map_options=options,
                            **_fields(RouterConfig, table, where, skip=("map_options",)))
    except (TypeError, ValueError) as exc:
        raise NetError(f"mipshop: config {where}: {exc}") from exc


@dataclass(slots=True)
class DaemonConfig:
    """A parsed configuration file: the runtime settings and the role's entity table."""

    role: str
    settings: DaemonSettings
    entity: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    def build(self, *, wall_clock_offset: float | None = None) -> Entity:
        """The protocol entity this file describes.

        ``wall_clock_offset`` (Unix time minus ``time.monotonic()``) is what RFC 4285
        timestamps need, since the runtime's ``now`` is the monotonic clock.
        """
        offset = time.time() - time.monotonic() if wall_clock_offset is None else (
            wall_clock_offset)
        rng = random.Random(self.settings.seed)
        where = f"{self.source} [{_SECTIONS[self.role]}]"
        table = dict(self.entity)
        try:
            if self.role == "ar":
                fast = table.pop("fast_handover", None)
                dhcp = table.pop("dhcp", None)
                return AccessRouter(self.settings.name, rng, _router(table, where),
                                    fast_handover=None if fast is None else _fast_handover_router(
                                        fast, f"{where}.fast_handover", offset),
                                    dhcp=None if dhcp is None else _dhcp_server(
                                        dhcp, f"{where}.dhcp"))
            if self.role == "ha":
                creds = tuple(_credentials(c, f"{where}.credentials", agent=True)
                              for c in _tables(table.pop("credentials", []),
                                               f"{where}.credentials"))
                ha_keys = {f.name for f in dataclasses.fields(HomeAgentConfig)} - {"router"}
                ha_table = {k: table.pop(k) for k in list(table) if k in ha_keys}
                ha_fields = _fields(HomeAgentConfig, ha_table, where, skip=("credentials",))
                ha_fields.setdefault("wall_clock_offset", offset)
                return HomeAgent(self.settings.name, rng, HomeAgentConfig(
                    router=_router(table, where), credentials=creds, **ha_fields))
            if self.role == "map":
                creds = tuple(_credentials(c, f"{where}.credentials", agent=True)
                              for c in _tables(table.pop("credentials", []),
                                               f"{where}.credentials"))
                fast = table.pop("fast_handover", None)
                map_fields = _fields(MapConfig, table, where,
                                     skip=("credentials", "fast_handover"))
                map_fields.setdefault("wall_clock_offset", offset)
                map_config = MapConfig(credentials=creds, **map_fields)
                if fast is None:
                    return MobilityAnchorPoint(self.settings.name, rng, map_config)
                return FastHandoverMap(self.settings.name, rng, map_config, fast_handover=(
                    _fast_handover_anchor(fast, f"{where}.fast_handover", offset)))
            if self.role == "mn":
                creds_table = table.pop("credentials", None)
                fast_table = table.pop("fast_handover", None)
                map_table = table.pop("map_client", None)
                ro_table = table.pop("route_optimization", None)
                mn_fields = _fields(MobileNodeConfig, table, where,
                                    skip=("credentials", "route_optimization"))
                if ro_table is not None:
                    # RFC 6275 §11.6, §11.7.2: the correspondents to optimise routes with.
                    mn_fields["route_optimization"] = RouteOptimizationConfig(**_fields(
                        RouteOptimizationConfig, _table(ro_table, f"{where}.route_optimization"),
                        f"{where}.route_optimization"))
                mn_fields.setdefault("wall_clock_offset", offset)
                credentials = None if creds_table is None else _credentials(
                    creds_table, f"{where}.credentials")
                mobile = MobileNode(self.settings.name, rng, MobileNodeConfig(
                    credentials=credentials, **mn_fields))
                if map_table is not None:
                    # RFC 5380: the MAP client composes into the mobile node.
                    MapClient.install(mobile, _map_client(map_table, f"{where}.map_client",
                                                          offset))
                if fast_table is not None:
                    # RFC 5568: the fast handover client composes into the mobile node.
                    mobile.add_client(FastHandoverClient(mobile, _fast_handover_client(
                        fast_table, f"{where}.fast_handover")))
                return mobile
            if self.role == "cn":
                return CorrespondentNode(self.settings.name, rng, CorrespondentConfig(
                    **_fields(CorrespondentConfig, table, where)))
        except (TypeError, ValueError) as exc:
            raise NetError(f"mipshop: config {where}: {exc}") from exc
        raise NetError(f"mipshop: unknown role {self.role!r} (known: {', '.join(ROLES)})")


@dataclass(frozen=True, slots=True)
class InterfaceFacts:
    """What an interface really has: its MAC and its IPv6 addresses."""

    link_layer_address: bytes
    addresses: tuple[IPv6Address, ...] = ()


#: The entity-table key naming the interface whose facts apply, and its default.
_INTERFACE_KEY = {"ha": ("interface", RouterConfig), "ar": ("interface", RouterConfig),
                  "mn": ("interface", MobileNodeConfig), "map": ("interface", MapConfig)}


def _default(cls: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def complete_from_interface(config: DaemonConfig, facts: dict[str, InterfaceFacts]) -> None:
    """Take the link-layer and link-local addresses the file leaves out from the interface,
    and refuse those it gives that the interface does not have.

    The Router and Neighbor Advertisements of a home agent or an access router carry its
    link-local address (their source) and its MAC (Source or Target Link-Layer Address
    option), and a mobile node's interface identifier comes from its MAC: an address the
    interface does not have would send the link's traffic nowhere (RFC 4861 §4.2, §4.4).
    """
    where = f"{config.source} [{_SECTIONS[config.role]}]"
    if config.role == "cn":
        # The correspondent is an ordinary host: its address is the kernel's, on the link.
        name = config.entity.get("interface", _default(CorrespondentConfig, "interface"))
        if name not in facts:
            raise NetError(f"mipshop: config {where}.interface: no interface {name!r} here")
        address = _convert("IPv6Address", config.entity.get("address"), f"{where}.address")
        if address not in facts[name].addresses:
            raise NetError(f"mipshop: config {where}.address: {address} is not an address of "
                           f"{name}")
        return
    if config.role not in _INTERFACE_KEY:
        return
    key, cls = _INTERFACE_KEY[config.role]
    table = config.entity
    name = table.get(key, _default(cls, key))
    fact = facts.get(name)
    if fact is None:
        raise NetError(f"mipshop: config {where}.{key}: no interface {name!r} here")
    actual = fact.link_layer_address.hex(":")
    if "link_layer_address" in table:
        configured = _convert("bytes", table["link_layer_address"], f"{where}.link_layer_address")
        if configured != fact.link_layer_address:
            raise NetError(f"mipshop: config {where}.link_layer_address: "
                           f"{configured.hex(':')} is not the MAC of {name} ({actual})")
    else:
        table["link_layer_address"] = actual
    if config.role in ("mn", "map"):
        return  # no link-local address in their configuration
    link_locals = [a for a in fact.addresses if a.is_link_local]
    if "link_local" in table:
        configured_ll = _convert("IPv6Address", table["link_local"], f"{where}.link_local")
        if configured_ll not in link_locals:
            have = ", ".join(map(str, link_locals)) or "none"
            raise NetError(f"mipshop: config {where}.link_local: {configured_ll} is not an "
                           f"address of {name} (its link-local addresses: {have})")
    elif link_locals:
        table["link_local"] = str(link_locals[0])
    else:
        raise NetError(f"mipshop: config {where}: {name} has no link-local address")


#: The roles whose binding cache is kept in a ``state_file``.
STATEFUL_ROLES = ("ha", "map")


def require_state_file(config: DaemonConfig) -> None:
    """A home agent or MAP daemon must name its ``state_file`` (NetError, one line).

    Checked when a daemon starts, not by :func:`parse_config`, so that a configuration can be
    parsed and built without one (tests, the simulator's tools).
    """
    if config.role in STATEFUL_ROLES and config.settings.state_file is None:
        raise NetError(f"mipshop: config {config.source} [daemon]: state_file is required for "
                       f"role {config.role} (the SQLite database of its binding cache, e.g. "
                       f"\"/var/lib/mipshop/{config.settings.name}.sqlite\")")


def _check_state_file(role: str, settings: DaemonSettings, where: str) -> None:
    """``state_file``: only for a binding agent, a path a database can be written at."""
    path = settings.state_file
    if role not in STATEFUL_ROLES:
        if path is not None:
            raise NetError(f"mipshop: config {where}: state_file is only for the roles "
                           f"{' and '.join(STATEFUL_ROLES)}")
        return
    if path is None:
        return
    if not isinstance(path, str) or not path.strip():
        raise NetError(f"mipshop: config {where}: state_file must be a file path")
    if settings.state_synchronous not in ("normal", "full", "extra"):
        raise NetError(f"mipshop: config {where}: state_synchronous "
                       f"{settings.state_synchronous!r}: expected normal, full or extra")
    target = Path(path)
    parent = target.parent
    if target.exists() and not target.is_file():
        raise NetError(f"mipshop: config {where}: state_file {path} is not a regular file")
    if not parent.is_dir():
        raise NetError(f"mipshop: config {where}: state_file {path}: no directory {parent}")
    # SQLite writes the -wal and -shm files next to the database.
    if not os.access(parent, os.W_OK | os.X_OK) or (
            target.exists() and not os.access(target, os.R_OK | os.W_OK)):
        raise NetError(f"mipshop: config {where}: state_file {path} is not writable")


def parse_config(role: str, data: dict[str, Any], source: str = "<memory>") -> DaemonConfig:
    """Check a TOML document (already parsed) for ``role``."""
    if role not in ROLES:
        raise NetError(f"mipshop: unknown role {role!r} (known: {', '.join(ROLES)})")
    section = _SECTIONS[role]
    unknown = set(data) - {"daemon", section}
    if unknown:
        raise NetError(f"mipshop: config {source}: unknown table(s) {sorted(unknown)} for role "
                       f"{role} (known: daemon, {section})")
    daemon = _table(data.get("daemon", {}), f"{source} [daemon]")
    entity = _table(data.get(section, {}), f"{source} [{section}]")
    daemon.setdefault("name", role)
    known = {f.name for f in dataclasses.fields(DaemonSettings)}
    bad = set(daemon) - known
    if bad:
        raise NetError(f"mipshop: config {source} [daemon]: unknown key(s) {sorted(bad)} "
                       f"(known: {', '.join(sorted(known))})")
    settings = DaemonSettings(**_fields(DaemonSettings, daemon, f"{source} [daemon]"))
    _check_settings(settings, f"{source} [daemon]")
    _check_state_file(role, settings, f"{source} [daemon]")
    return DaemonConfig(role=role, settings=settings, entity=entity, source=source)


#: RFC 8200 §5: every IPv6 link carries 1,280 octets; a TUN device's MTU is at most 65,535.
_MIN_MTU, _MAX_MTU = 1280, 65535


def _check_settings(settings: DaemonSettings, where: str) -> None:
    """The values of ``[daemon]`` a type alone does not check."""
    if not settings.name:
        raise NetError(f"mipshop: config {where}: name must not be empty")
    if not _MIN_MTU <= settings.tun_mtu <= _MAX_MTU:
        raise NetError(f"mipshop: config {where}: tun_mtu must be from {_MIN_MTU} to "
                       f"{_MAX_MTU}, got {settings.tun_mtu}")
    if not _MIN_MTU <= settings.application_mtu <= settings.tun_mtu:
        raise NetError(f"mipshop: config {where}: application_mtu must be from {_MIN_MTU} to "
                       f"tun_mtu ({settings.tun_mtu}), got {settings.application_mtu}")


def load_config(role: str, path: str | Path) -> DaemonConfig:
    """Read and check the TOML file ``path`` for ``role``."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise NetError(f"mipshop: no configuration file {path}") from exc
    except OSError as exc:
        raise NetError(f"mipshop: config {path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise NetError(f"mipshop: config {path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                       f"at offset {exc.start}); a configuration is a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise NetError(f"mipshop: config {path}: {exc}") from exc
    return parse_config(role, data, str(path))
