"""Run MIPv6, HMIPv6, FMIPv6 (predictive and reactive) and F-HMIPv6 side by side.

:func:`run_protocol` builds the scenario's network (:mod:`.scenario`: CN, core, distant HA, a
MAP router above the access routers, one integrated 802.11 AP per access router, a full mesh of
AR-AR links), hosts the *unchanged* protocol entities of :mod:`mipshop.protocol` on it, moves the
mobile nodes (:mod:`.movement`, :mod:`.wifi`), runs a G.711 call per mobile node
(:mod:`.traffic`) and measures it as it runs (:mod:`.recorder`, which keeps no event log, arrival
list or station history). :func:`compare` does it for every protocol.

Protocols (:data:`PROTOCOLS`):

* ``mipv6``: home registration only (RFC 6275 §11), bidirectional tunnelling through the home
  agent. [choice] Route optimization is off: with it, the correspondent keeps sending to the old
  care-of address until return routability and its BU complete, which adds the MN-CN and MN-HA
  round trips again; tunnel mode is the baseline the HMIPv6 and FMIPv6 papers compare with.
  The correspondent is a plain host.
* ``hmipv6``: a MAP (RFC 5380) on the aggregation router, advertised in the access routers'
  RAs; the mobile node gains a :class:`~mipshop.protocol.map_client.MapClient`.
* ``fmipv6``: predictive FMIPv6 (RFC 5568 §3.2, RFC 4260 §7.1 "1abcdef23456g"): the AR-Info is
  learnt beforehand (a wildcard RtSolPr/PrRtAdv), LinkGoingDown names the target BSSID
  ``lead`` seconds before the switch, the FBU/HI/HAck/FBack exchange completes on the old link,
  the NAR buffers, the UNA at link-up flushes.
* ``fmipv6-reactive``: RFC 4260 §7.2 "ab123456cdefg": AR-Info learnt beforehand, no
  LinkGoingDown; UNA and FBU from the new link.
* ``fhmipv6``: predictive fast handover anchored at the MAP (F-HMIPv6, RFC 4140 Appendix A
  Figure A.2, :mod:`mipshop.protocol.fmip_map`): the access routers put the MAP option in their
  PrRtAdvs, the FBU goes to the MAP (Home Address = the RCoA), HI/HAck run between the MAP and
  the NAR, the MAP tunnels the RCoA's packets to the NCoA (the NAR buffers them), and the local
  BU from the new link supersedes the fast binding. The home agent hears nothing.

Measurements are on both CBR flows: the **downlink** (correspondent -> mobile node, the one
the protocols' buffering protects) in the top-level figures, the **uplink** (mobile node ->
correspondent) in ``uplink``: sent, lost, and its disruption per handover
(:func:`~mipshop.measure.uplink_handover_report`: the longest silence the correspondent hears
around the handover). With ``traffic.bulk_bytes_per_s``, a paced bulk download beside the call
(to port :data:`BULK_PORT`) is counted in ``bulk`` (sent, lost), and ``buffer_drops`` gives what
the NARs' buffers dropped, by flow (``fmip.buffer_overflow`` events; docs/decisions.md D28).

Per handover (from the station's :class:`~.wifi.HandoffRecord` and the entities' structured
events, never log text), the phases (ms):

* ``l2``: LinkDown to LinkUp (the radio outage);
* ``movement_detection``: LinkUp to the mobile node's ``movement.detected`` (the RS/RA round
  trip; 0 under FMIPv6, where the NCoA is known at link-up);
* ``address_configuration``: ``movement.detected`` to ``coa.configured`` (DAD; 0 optimistic or
  under FMIPv6);
* ``registration``: the first BU after the new address (``home.bu_sent``, or ``map.bu_sent``
  under a MAP) to its acceptance (``home.registered`` / ``map.registered``): the binding-update
  latency;
* ``fast_handover`` (FMIPv6 only): predictive, LinkGoingDown to the FBack on the old link;
  reactive, LinkUp to the FBack on the new link.

Disruption: :func:`~mipshop.measure.handover_report`, the last downlink packet received on the old
link to the first received on the new one. Buffered packets: data packets the NAR buffered
(``fmip.buffered`` events with ``data`` set, of the mobile node's addresses; signalling the
NAR held, such as the FBack copy the PAR sends to the NCoA, is not counted). Signalling:
every Mobility Header and
ICMPv6 message on every link from the start of the traffic, each transmission counted (a load
measure), except the periodic multicast Router Advertisements that no handover causes.

Determinism: one :class:`~.kernel.Kernel` per run, seeded; every component draws from its own
named generator (:meth:`~.kernel.Kernel.rng`); nothing iterates over an unordered container.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from .. import model
from ..measure import (
    message_type,
    percentile,
)
from ..protocol.access_router import AccessRouter
from ..protocol.base.addressing import interface_identifier_from_mac
from ..protocol.base.config import RouterConfig
from ..protocol.base.dhcpv6 import Dhcpv6ServerConfig
from ..protocol.base.link_events import ScanCompleted
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
    HomeAgentConfig,
    MobileNodeConfig,
    MobilityCredentials,
    RouteOptimizationConfig,
)
from ..protocol.mipv6.home_agent import HomeAgent
from ..protocol.mipv6.mn_ha_auth import SecurityAssociation
from ..protocol.mipv6.mobile_node import MobileNode
from ..wire.dhcpv6 import duid_ll
from ..wire.icmpv6 import RouterAdvertisement
from ..wire.ipv6 import IPv6Packet, UDPDatagram
from ..wire.nd_options import MAPOption
from .frame import Frame
from .kernel import ReplayRandom
from .movement import (
    HandoffDecision,
    HandoffFinder,
    grid,
    handoffs_along,
    random_waypoint,
    random_waypoint_legs,
)
from .network import Capture, Network, Node
from .recorder import ExactSum, FlowCounter, MobileRecorder, RunRecorder, mobile_index_owner
from .scenario import (
    MAX_CALLS,
    SIGNAL_BYTES,
    UPLINK_BASE_PORT,
    Scenario,
    check_calls,
    draw_lead,
    handover_schedule,
    lead_bounds,
    map_domains,
    ping_pong_targets,
    scenario_to_dict,
)
from .traffic import CBRSource, FlowReceiver, entity_sender
from .wifi import AccessPoint, HandoffTiming, Station, integrated_access_point
from .wifi import Scenario as Rfc4260

#: The protocols :func:`compare` runs, in table order.
PROTOCOLS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
_FMIP = frozenset({"fmipv6", "fmipv6-reactive", "fhmipv6"})
_HIER = frozenset({"hmipv6", "fhmipv6"})
_PREDICTIVE = frozenset({"fmipv6", "fhmipv6"})

# -- addressing plan [choice] ---------------------------------------------------------------
HOME_PREFIX = IPv6Network("2001:db8:1::/64")
HA_ADDRESS = IPv6Address("2001:db8:1::1")
CN_PREFIX = IPv6Network("2001:db8:100::/64")
CN_ADDRESS = IPv6Address("2001:db8:100::10")
MAP_PREFIX = IPv6Network("2001:db8:a1::/64")
MAP_ADDRESS = IPv6Address("2001:db8:a1::1")
#: Access router k serves 2001:db8:2:k::/64 (all inside this /48).
AR_AGGREGATE = IPv6Network("2001:db8:2::/48")
#: Unix time at virtual time 0, for the RFC 4285 timestamps.
WALL_CLOCK = 1_700_000_000.0
#: Downlink CBR port at the mobile node (the uplink's ports at the correspondent:
#: :func:`uplink_port`).
DOWNLINK_PORT = 5004
#: Port of the bulk download beside the call (``traffic.bulk_bytes_per_s``), at the mobile node.
BULK_PORT = 6000
#: Seconds between two samples of the signal strength along a path (movement.handoffs_along).
_SAMPLE_STEP = 0.05
#: Seconds after the end of traffic the run goes on, for packets still in flight.
DRAIN = 1.0
#: Window of the trace around the first handover: from this before it ...
TRACE_BEFORE = 0.2
#: ... to this after it (seconds).
TRACE_AFTER = 1.8
_ALL_NODES = IPv6Address("ff02::1").packed
_ICMPV6, _RA = 58, 134


def ar_prefix(index: int) -> IPv6Network:
    """The prefix of access router ``index``."""
    return IPv6Network(f"2001:db8:2:{index:x}::/64")


def uplink_port(index: int, call_every: int) -> int:
    """The correspondent's UDP port for the uplink of mobile node ``index``'s call (a node
    calls when ``index`` is a multiple of ``call_every``): numbered by call, not by node, so
    that every call of a run with :data:`~.scenario.MAX_CALLS` calls or fewer has its own
    port, however many nodes carry none (node 45,536 of a city has a port)."""
    call, rest = divmod(index, call_every)
    if rest or not 0 <= call < MAX_CALLS:
        raise ValueError(f"mobile node {index} carries no call with a port when every "
                         f"{call_every} calls ({MAX_CALLS} calls at most)")
    return UPLINK_BASE_PORT + call


def mn_mac(index: int) -> bytes:
    """Mobile node ``index``'s MAC (locally administered, distinct from the network's)."""
    return b"\x02\x01" + index.to_bytes(4, "big")


def home_address(index: int) -> IPv6Address:
    """Mobile node ``index``'s home address."""
    return IPv6Address(int(HOME_PREFIX.network_address) | (0x1_0000 + index))


def map_prefix(domain: int) -> IPv6Network:
    """The prefix of the MAP of domain ``domain`` (2001:db8:a1:<domain>::/64)."""
    return IPv6Network(int(MAP_PREFIX.network_address) | (domain << 64)).supernet(64)


def map_address(domain: int) -> IPv6Address:
    """The address of the MAP of domain ``domain`` (``MAP_ADDRESS`` for domain 0)."""
    return IPv6Address(int(MAP_ADDRESS) | (domain << 64))


def regional_care_of_address(index: int, domain: int = 0) -> IPv6Address:
    """Mobile node ``index``'s RCoA at the MAP of ``domain``: the MAP prefix and its SLAAC
    identifier (RFC 5380 §6)."""
    return IPv6Address(int(map_prefix(domain).network_address)
                       | interface_identifier_from_mac(mn_mac(index)))


class _KeyServer(Mapping[int, Any]):
    """An agent's security associations by SPI, made when a BU or FBU asks for one (SPIs
    ``base .. base + count - 1``, one per mobile node, ``make(index)`` each): a city's agents
    hold none in advance. The keys are what :func:`_credentials` and its kin give."""

    __slots__ = ("base", "count", "make")

    def __init__(self, base: int, count: int, make: Callable[[int], Any]) -> None:
        self.base = base
        self.count = count
        self.make = make

    def __getitem__(self, spi: int) -> Any:
        index = spi - self.base
        if not 0 <= index < self.count:
            raise KeyError(spi)
        return self.make(index)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.base, self.base + self.count))

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True, kw_only=True)
class ProtocolResult:
    """What one protocol did on one scenario (module docstring for the definitions).

    ``disruption_ms``: ``mean``, ``p50``, ``p95``, ``max`` (None when no handover completed);
    ``phases_ms``: the mean of each phase over the handovers; ``signalling``:
    ``messages_per_handover``, ``bytes_per_handover``, ``by_type`` {name: {messages, bytes}};
    ``trace``: (sequence number, send time, arrival time) of mobile node 0's downlink packets
    received around its first handover; ``handover_times``: the start (LinkDown) of each of
    mobile node 0's handoffs; ``disruption_windows``: for each of them, the arrival times of
    the last downlink packet on the old link and the first on the new one (the measured
    disruption of :func:`~.metrics.handover_report`), or None when it did not complete.
    """

    protocol: str
    handovers: int
    disruption_ms: dict[str, float | None]
    phases_ms: dict[str, float | None]
    packets_sent: int
    packets_lost: int
    packets_buffered: int
    packets_duplicated: int
    signalling: dict[str, Any]
    binding_update_latency_ms: float | None
    analytic_disruption_ms: float | None
    analytic_packets_lost: float | None
    trace: tuple[tuple[int, float, float], ...] = ()
    handover_times: tuple[float, ...] = ()
    uplink: dict[str, Any] = field(default_factory=dict)
    disruption_windows: tuple[tuple[float, float] | None, ...] = ()
    bulk: dict[str, int] = field(default_factory=dict)
    buffer_drops: dict[str, int] = field(default_factory=dict)


# -- building the network ------------------------------------------------------------------


@dataclass(slots=True)
class _Mobile:
    index: int
    node: Node
    entity: MobileNode
    station: Station
    downlink: CBRSource | None = None
    down_receiver: FlowReceiver | None = None
    uplink: CBRSource | None = None
    up_receiver: FlowReceiver | None = None
    mover: _Mover | None = None
    bulk: CBRSource | None = None
    bulk_counter: FlowCounter | None = None


@dataclass
class _World:
    scenario: Scenario
    protocol: str
    network: Network
    aps: list[AccessPoint]
    mobiles: list[_Mobile]
    signalling: _SignallingTap
    capture: Capture | None
    recorder: RunRecorder
    #: Packets the NARs' buffers dropped, by flow (``fmip.buffer_overflow``).
    buffer_drops: dict[str, int] = field(default_factory=dict)


class _SignallingTap:
    """Counts mobility signalling as it is put on links (a :data:`~.network.Tap`): every
    Mobility Header and ICMPv6 message (innermost in a tunnel) from ``since`` on, each
    transmission with its bytes, except CBR data (UDP, possibly inside tunnels), periodic
    multicast Router Advertisements and echo (module docstring). Nothing is stored but the
    totals. With ``from_bytes`` frames are classified from their encoded bytes by the wire
    layer (as a capture would be); otherwise from the packet objects, identically."""

    def __init__(self, since: float, *, from_bytes: bool = False) -> None:
        self.since = since
        self.from_bytes = from_bytes
        self.totals: dict[str, list[int]] = {}

    def __call__(self, time: float, link: str, frame: Frame) -> None:
        if time < self.since:
            return
        packet = frame.packet
        if packet is None or self.from_bytes:
            name = self._name_from_bytes(frame.data)
        else:
            name = self._name(packet)
        if name is None or name in ("echo_request", "echo_reply"):
            return
        entry = self.totals.get(name)
        if entry is None:
            entry = self.totals[name] = [0, 0]
        entry[0] += 1
        entry[1] += frame.size

    @staticmethod
    def _name_from_bytes(data: bytes) -> str | None:
        offset = 0
        while data[offset + 6] == 41 and len(data) >= offset + 80:  # IPv6-in-IPv6
            offset += 40
        if data[offset + 6] == 17:
            return None
        if data[24:40] == _ALL_NODES and data[6] == _ICMPV6 and data[40] == _RA:
            return None
        return message_type(data)

    @staticmethod
    def _name(packet: IPv6Packet) -> str | None:
        # The same tests as on bytes: a header whose Next Header is 41 or 17 has no extension
        # header; the RA test reads the outer header's Next Header and ICMPv6 type.
        inner = packet
        while not inner.extension_headers and type(inner.payload) is IPv6Packet:
            inner = inner.payload
        if not inner.extension_headers and type(inner.payload) is UDPDatagram:
            return None
        payload = packet.payload
        if (type(payload) is RouterAdvertisement and not packet.extension_headers
                and packet.dst.packed == _ALL_NODES):
            return None
        while type(payload) is IPv6Packet:
            payload = payload.payload
        if payload is None or not (hasattr(payload, "MH_TYPE") or hasattr(payload, "ICMP_TYPE")):
            return None
        return str(payload.NAME)


def _identifier(index: int) -> bytes:
    """Mobile node ``index``'s NAI (RFC 4283) in its MN-HA and MN-MAP credentials."""
    return f"mn{index}@example.com".encode()


def _credentials(index: int, identifier: bytes | None = None) -> MobilityCredentials:
    """Mobile node ``index``'s MN-HA credentials (``identifier``: its :func:`_identifier`,
    when the caller has it already)."""
    key = random.Random(f"mn-ha-key/{index}").randbytes(16)
    return MobilityCredentials(identifier=identifier or _identifier(index),
                               security_association=SecurityAssociation(spi=1000 + index, key=key))


def _map_credentials(index: int, identifier: bytes | None = None) -> MobilityCredentials:
    """Mobile node ``index``'s MN-MAP credentials (``identifier`` as :func:`_credentials`)."""
    key = random.Random(f"mn-map-key/{index}").randbytes(16)
    return MobilityCredentials(identifier=identifier or _identifier(index),
                               security_association=SecurityAssociation(spi=100_000 + index,
                                                                        key=key))


def _router_key(own: IPv6Address, peer: IPv6Address) -> RouterKey:
    """The HI/HAck key of a router pair (RFC 5568 §10): the same SA at both ends."""
    low, high = sorted((own, peer))
    rng = random.Random(f"router-pair/{low}/{high}")
    return RouterKey(peer=peer, security_association=SecurityAssociation(
        spi=rng.randrange(256, 1 << 32), key=rng.randbytes(20)))


def _handover_key(index: int) -> HandoverKey:
    return HandoverKey(spi=_HANDOVER_SPI + index,
                       key=random.Random(f"mn-par-key/{index}").randbytes(20))


#: The first SPI of the MN-HA, MN-MAP and handover keys (one per mobile node, in order).
_HA_SPI, _MAP_SPI, _HANDOVER_SPI = 1000, 100_000, 200_000


def _home_credentials(index: int) -> MobilityCredentials:
    """The home agent's side of mobile node ``index``'s SA: bound to its home address."""
    return replace(_credentials(index), home_address=home_address(index))


def _regional_credentials(index: int, *, domain: int) -> MobilityCredentials:
    """A MAP's side of mobile node ``index``'s SA: bound to its RCoA there."""
    return replace(_map_credentials(index),
                   home_address=regional_care_of_address(index, domain))


def _bound_handover_key(index: int, *, prefix: IPv6Network,
                        reserved: bool = False) -> HandoverKey:
    """An anchor's copy of mobile node ``index``'s handover key, bound to its address in
    ``prefix`` (the PCoA on a PAR's link, the RCoA at a MAP anchor): its SLAAC address, or
    with ``reserved`` its DHCPv6 host reservation there."""
    host = 0x1_0000 + index if reserved else interface_identifier_from_mac(mn_mac(index))
    return replace(_handover_key(index), previous_care_of_address=IPv6Address(
        int(prefix.network_address) | host))


def _neighbourhood(scenario: Scenario, index: int) -> list[int]:
    """The access routers a handoff from access router ``index`` can go to, in order: every
    other one on a line; on a grid those within ``reach`` cells, which keeps each
    neighbourhood table, its router keys and a wildcard PrRtAdv (RFC 5568 §4) the size of a
    street's, not of a city's. A node switches once its AP is ``r = 10 ** (h / 30)`` times
    further than the nearest one (:class:`~.movement.HandoffFinder`), which is at most half a
    cell's diagonal away: a cell ``k`` cells off is only entered unswitched when
    ``k - 1/2 < r / sqrt(2)`` (two cells up to 6 dB of hysteresis; the tests check it)."""
    m = scenario.movement
    count = scenario.access_point_count
    if m.model != "random_waypoint":
        return [j for j in range(count) if j != index]
    ratio = 10 ** (m.hysteresis_db / 30.0)
    reach = max(2, math.ceil(ratio / math.sqrt(2) + 0.5))
    columns = m.grid_columns
    column, row = index % columns, index // columns
    return [j for j in range(count) if j != index
            and max(abs(j % columns - column), abs(j // columns - row)) <= reach]


def _map_name(maps: int, domain: int) -> str:
    """The aggregation router (and MAP entity) of ``domain``: ``map`` when there is one."""
    return "map" if maps == 1 else f"map{domain}"


#: Every mobile node's route optimization settings (off: no correspondents), one frozen object
#: shared by all of them rather than a default made per node.
_NO_ROUTE_OPTIMIZATION = RouteOptimizationConfig()


def _build(scenario: Scenario, protocol: str, seed: int, capture: bool,
           wire_bytes: bool = False, keep_history: bool = False) -> _World:
    """The run's network, entities, movement and traffic. ``keep_history`` also keeps the
    event log, the stations' histories and the arrivals (the recorder needs none of them)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r} (expected one of {', '.join(PROTOCOLS)})")
    # Before anything is built: a scenario made by dataclasses.replace skipped the loader's.
    check_calls(scenario)
    fmip, hier = protocol in _FMIP, protocol in _HIER
    links = scenario.links
    net = Network(seed, wire_bytes=wire_bytes, record_events=keep_history)
    kernel = net.kernel

    def p2p(name: str, a: Any, b: Any, params: Any) -> None:
        net.point_to_point(name, a, b, delay=params.delay, bandwidth=params.bandwidth,
                           loss=params.loss)

    core = net.add_router("core")
    # Correspondent (a plain host: route optimization is off, module docstring).
    cn = net.add_node("cn")
    cn_if, core_cn = cn.add_interface("eth0"), core.add_interface("cn")
    cn_if.add_address(f"{CN_ADDRESS}/64")
    core_cn.add_address("2001:db8:100::1/64")
    cn.add_route("::/0", "eth0", "2001:db8:100::1")
    p2p("core-cn", core_cn, cn_if, links.core_cn)
    # Home agent: a router with the (otherwise empty) home link and a link to the core.
    ha_node = net.add_router("ha")
    net.shared_link("home", (ha_node.add_interface("home"),))
    ha_up, core_ha = ha_node.add_interface("core"), core.add_interface("ha")
    ha_up.add_address("2001:db8:ff01::2/64")
    core_ha.add_address("2001:db8:ff01::1/64")
    p2p("core-ha", core_ha, ha_up, links.core_ha)
    ha_node.add_route("::/0", "core", "2001:db8:ff01::1")
    core.add_route(HOME_PREFIX, "ha", "2001:db8:ff01::2")
    # The aggregation routers (each hosts its domain's MAP), one per MAP domain.
    maps = scenario.topology.maps
    aggs: list[Node] = []
    for m in range(maps):
        name = _map_name(maps, m)
        agg = net.add_router(name)
        agg_up, core_map = agg.add_interface("eth0"), core.add_interface(name)
        agg_up.add_address(f"2001:db8:ff00:{m:x}::2/64")
        core_map.add_address(f"2001:db8:ff00:{m:x}::1/64")
        p2p(f"{name}-core", core_map, agg_up, links.map_core)
        agg.add_route("::/0", "eth0", f"2001:db8:ff00:{m:x}::1")
        core.add_route(map_prefix(m), name, f"2001:db8:ff00:{m:x}::2")
        if maps == 1:
            core.add_route(AR_AGGREGATE, name, f"2001:db8:ff00:{m:x}::2")
        aggs.append(agg)

    count = scenario.access_point_count
    domains = map_domains(scenario)
    positions = _ap_positions(scenario)
    routers: list[Node] = []
    aps: list[AccessPoint] = []
    w = links.wireless
    for k in range(count):
        agg = aggs[domains[k]]
        ar = net.add_router(f"ar{k}")
        up, down = ar.add_interface("up"), agg.add_interface(f"ar{k}")
        up.add_address(f"2001:db8:fe:{k:x}::2/64")
        down.add_address(f"2001:db8:fe:{k:x}::1/64")
        p2p(f"ar{k}-{agg.name}", down, up, links.ar_map)
        ar.add_route("::/0", "up", f"2001:db8:fe:{k:x}::1")
        agg.add_route(ar_prefix(k), f"ar{k}", f"2001:db8:fe:{k:x}::2")
        if maps > 1:
            core.add_route(ar_prefix(k), agg.name, f"2001:db8:ff00:{domains[k]:x}::2")
        aps.append(integrated_access_point(
            net, ar, "wlan", f"bss{k}", position=positions[k],
            buffer_limit=scenario.wifi.ap_buffer_packets, delay=w.delay, bandwidth=w.bandwidth,
            loss=w.loss))
        routers.append(ar)
    # AR-AR links, a full mesh: HI/HAck and the PAR -> NAR tunnel (RFC 5568 §4).
    pair = 0
    for i in range(count if scenario.topology.ar_links == "mesh" else 0):
        for j in range(i + 1, count):
            a, b = routers[i].add_interface(f"peer{j}"), routers[j].add_interface(f"peer{i}")
            a.add_address(f"2001:db8:fd:{pair:x}::1/64")
            b.add_address(f"2001:db8:fd:{pair:x}::2/64")
            p2p(f"ar{i}-ar{j}", a, b, links.ar_ar)
            routers[i].add_route(ar_prefix(j), f"peer{j}", f"2001:db8:fd:{pair:x}::2")
            routers[j].add_route(ar_prefix(i), f"peer{i}", f"2001:db8:fd:{pair:x}::1")
            pair += 1

    n = scenario.mobile_nodes
    # Entities. The agents look each mobile node's keys up by SPI as its BUs and FBUs come.
    ha = HomeAgent("ha", kernel.rng("entity/ha"), HomeAgentConfig(
        router=RouterConfig(interface="home", address=HA_ADDRESS, prefix=HOME_PREFIX),
        credentials=_KeyServer(_HA_SPI, n, _home_credentials),
        wall_clock_offset=WALL_CLOCK))
    ha_node.host(ha)
    agents = scenario.processing.agents_ms / 1000.0
    ha_node.processing = agents
    net.at(0.0, ha, ha.start)
    stateful = scenario.address.dhcpv6
    neighbours = [NeighborRouter(access_points=(ap.bssid,), link_layer_address=ap.bssid,
                                 address=IPv6Address(int(ar_prefix(k).network_address) | 1),
                                 prefix=ar_prefix(k), dhcp=stateful)
                  for k, ap in enumerate(aps)]
    map_anchored = protocol == "fhmipv6"
    anchors = tuple(map_address(m) for m in range(maps)) if map_anchored else ()
    map_options: list[MAPOption] = []
    if hier:
        lcoa_prefixes = tuple(ar_prefix(k) for k in range(count))
        for m in range(maps):
            name, address = _map_name(maps, m), map_address(m)
            map_config = MapConfig(
                address=address, interface="eth0",
                credentials=_KeyServer(_MAP_SPI, n, functools.partial(_regional_credentials,
                                                                      domain=m)),
                allowed_lcoa_prefixes=lcoa_prefixes, wall_clock_offset=WALL_CLOCK,
                link_layer_address=aggs[m].interfaces["eth0"].link_address)
            map_rng = kernel.rng(f"entity/{name}")
            # RFC 5568 §10 at the MAP anchor: each MN-MAP handover key redirects its owner's
            # RCoA.
            anchor = FastHandoverMap(name, map_rng, map_config, fast_handover=(
                FastHandoverAnchorConfig(
                    neighbors=tuple(neighbours),
                    handover_keys=_KeyServer(_HANDOVER_SPI, n, functools.partial(
                        _bound_handover_key, prefix=map_prefix(m))),
                    router_keys=tuple(_router_key(address, nb.address) for nb in neighbours)))
            ) if map_anchored else MobilityAnchorPoint(name, map_rng, map_config)
            aggs[m].host(anchor)
            aggs[m].processing = agents
            net.at(0.0, anchor, anchor.start)
            map_options.append(MAPOption(address=address, distance=2, preference=10,
                                         valid_lifetime=3600))
    for k, (ar, ap) in enumerate(zip(routers, aps, strict=True)):
        prefix = ar_prefix(k)
        own_map = (map_options[domains[k]],) if hier else ()
        fast = None
        # With DHCPv6 each mobile node has a host reservation on every access link (so that
        # its handover key can name the address it will have there).
        reserved = tuple((duid_ll(mn_mac(i)), IPv6Address(
            int(prefix.network_address) | (0x1_0000 + i))) for i in range(n)) if stateful else ()
        if fmip:
            own = neighbours[k].address
            near = [neighbours[j] for j in _neighbourhood(scenario, k)]
            peers = [nb.address for nb in near]
            fast = FastHandoverRouterConfig(
                neighbors=tuple(near),
                local_access_points=(ap.bssid,),
                # RFC 5568 §10: each MN-PAR key redirects its owner's address on this link only.
                handover_keys=_KeyServer(_HANDOVER_SPI, n, functools.partial(
                    _bound_handover_key, prefix=prefix, reserved=stateful)),
                router_keys=tuple(_router_key(own, peer) for peer in (*peers, *anchors)),
                buffer_packets=scenario.fmipv6.buffer_packets,
                buffer_fairness=scenario.fmipv6.buffer_fairness,
                map_anchor=own_map[0] if map_anchored else None,  # type: ignore[misc]
                anchors=anchors)
        router = AccessRouter(f"ar{k}", kernel.rng(f"entity/ar{k}"), RouterConfig(
            interface="wlan", address=IPv6Address(int(prefix.network_address) | 1),
            prefix=prefix, link_layer_address=ap.bssid, map_options=own_map,
            managed=stateful, autonomous=not stateful,
            ra_interval=scenario.routers.ra_interval_s,
            max_ra_delay=scenario.routers.max_ra_delay_ms / 1000.0),
            fast_handover=fast,
            # RFC 8415: the link's DHCPv6 server, one address per mobile node at least.
            dhcp=Dhcpv6ServerConfig(pool_start=IPv6Address(int(prefix.network_address)
                                                           | 0x2_0000),
                                    pool_size=max(16, 2 * n), reservations=reserved)
            if stateful else None)
        ar.host(router)
        ar.processing = agents
        net.at(0.0, router, router.start)

    # Mobile nodes, their stations, movement and traffic.
    timing = _timing(scenario, protocol)
    mode = (Rfc4260.PREDICTIVE if protocol in _PREDICTIVE else
            Rfc4260.REACTIVE if protocol == "fmipv6-reactive" else Rfc4260.FULLY_REACTIVE)
    cn_sender = cn.send
    mobiles: list[_Mobile] = []
    recorder = RunRecorder(
        ap_links={ap.bssid: ap.link.name for ap in aps}, hierarchical=hier, fast=fmip,
        predictive=protocol in _PREDICTIVE, trace_window=(TRACE_BEFORE, TRACE_AFTER),
        owner_of=mobile_index_owner(n, mn_mac))
    recorder.subscribe(net)
    finder = _finder(scenario, protocol, aps)
    by_name = {ap.name: ap for ap in aps}
    # Shared by every node, not a float each (so are, below, each node's name between its
    # node and entity and its NAI between its two credentials).
    dad_delay = scenario.address.dad_delay_ms / 1000.0
    configure_time = scenario.processing.mobile_node_ms / 1000.0
    for i in range(n):
        name = f"mn{i}"
        node = net.add_node(name)
        mac = mn_mac(i)
        node.add_interface("wlan0", mac)
        identifier = _identifier(i)
        entity = MobileNode(name, kernel.sparse_rng(f"entity/mn{i}"), MobileNodeConfig(
            home_address=home_address(i), home_prefix=HOME_PREFIX, home_agent=HA_ADDRESS,
            link_layer_address=mac, credentials=_credentials(i, identifier),
            wall_clock_offset=WALL_CLOCK, optimistic_dad=scenario.address.optimistic_dad,
            dad_delay=dad_delay, route_optimization=_NO_ROUTE_OPTIMIZATION))
        if fmip:
            entity.add_client(FastHandoverClient(
                entity, FastHandoverClientConfig(key=_handover_key(i))))
        if hier:
            MapClient.install(entity, MapClientConfig(
                credentials=_map_credentials(i, identifier), wall_clock_offset=WALL_CLOCK))
        node.host(entity)
        # What the mobile node's address configuration costs it (processing.mobile_node_ms).
        node.configure_time = configure_time
        net.at(0.0, entity, entity.start)
        station = Station(net, node, "wlan0", timing=timing, scenario=mode,
                          keep_history=keep_history)
        mobile = _Mobile(i, node, entity, station)
        first, decisions = _movement(scenario, protocol, i, aps,
                                     kernel.sparse_rng(f"movement/mn{i}"), finder)
        station.associate(aps[first], at=0.1 + 0.001 * (i % 1000))
        mobile.mover = _Mover(scenario, protocol, net, mobile, by_name, decisions)
        _traffic(scenario, net, mobile, cn, cn_sender, recorder, keep_history)
        mobiles.append(mobile)

    signalling = _SignallingTap(scenario.traffic.start_s, from_bytes=wire_bytes)
    net.taps.append(signalling)
    full = net.capture() if capture else None
    world = _World(scenario, protocol, net, aps, mobiles, signalling, full, recorder)
    if fmip:
        drops = world.buffer_drops

        def dropped(record: Any) -> None:
            flow = str(record.event.fields["flow"])
            drops[flow] = drops.get(flow, 0) + 1

        net.subscribe("fmip.buffer_overflow", dropped)
    return world


def _timing(scenario: Scenario, protocol: str) -> HandoffTiming:
    wifi = scenario.wifi
    channels = wifi.channels
    if wifi.background_scan and protocol not in _PREDICTIVE:
        # The scan was done in the background: step 1 takes no time inside the handoff.
        channels = 0
    return HandoffTiming(channels=channels, probe_delay=wifi.probe_delay_ms / 1000,
                         channel_time=wifi.channel_time_ms / 1000, join=wifi.join_ms / 1000,
                         authentication=wifi.authentication_ms / 1000,
                         association=wifi.association_ms / 1000, eap=wifi.eap_ms / 1000)


def _ap_positions(scenario: Scenario) -> list[tuple[float, float]]:
    m = scenario.movement
    if m.model == "ping_pong":
        return [(100.0 * k, 0.0) for k in range(m.access_points)]
    return grid(m.grid_columns, m.grid_rows, m.cell_m)


def _finder(scenario: Scenario, protocol: str,
            aps: list[AccessPoint]) -> HandoffFinder | None:
    """The run's handoff search over its APs (None: ping-pong, or APs too close together for
    the geometric search, :meth:`~.movement.HandoffFinder.applies`)."""
    m = scenario.movement
    positions = {ap.name: ap.position for ap in aps}
    if m.model == "ping_pong" or not HandoffFinder.applies(positions, m.hysteresis_db, 3.0):
        return None
    return HandoffFinder(positions, step=_SAMPLE_STEP, hysteresis_db=m.hysteresis_db,
                         lead=lead_bounds(scenario, protocol)[1], exact=True)


@functools.lru_cache(maxsize=4)
def _cells(columns: int, rows: int, cell: float) -> tuple[tuple[float, float], ...]:
    """The grid's cell centres, one tuple shared by every mobile node's path."""
    return tuple(grid(columns, rows, cell))


def _movement(scenario: Scenario, protocol: str, index: int, aps: list[AccessPoint],
              rng: random.Random,
              finder: HandoffFinder | None) -> tuple[int, Iterator[HandoffDecision]]:
    """The AP a mobile node starts on and its handoffs, drawn lazily as the run goes."""
    m = scenario.movement
    # Each handover draws its own anticipation lead (a fixed one draws nothing), from a
    # generator of its own (the movement's draws do not depend on it).
    seed = f"{scenario.name}/{index}/{rng.getrandbits(64)}/lead"
    longest = lead_bounds(scenario, protocol)[1]
    if m.model == "ping_pong":
        leads = random.Random(seed)
        times = handover_schedule(scenario, index)
        targets = ping_pong_targets(m.access_points, m.handovers)
        return 0, iter([HandoffDecision(t, aps[k].name, t - draw_lead(scenario, protocol, leads))
                        for t, k in zip(times, targets, strict=True)])
    # Drawn one handover at a time while the run goes: the same values as random.Random(seed)
    # without keeping its state for the whole run (a few dozen draws per node and hour).
    replayed: Any = ReplayRandom(seed)
    cells = _cells(m.grid_columns, m.grid_rows, m.cell_m)
    start = scenario.traffic.start_s
    names = [ap.name for ap in aps]
    found: Iterator[HandoffDecision]
    if finder is not None:
        legs = random_waypoint_legs(rng, cells, speed=(m.speed_min_mps, m.speed_max_mps),
                                    pause=m.pause_s, t0=start)
        first, found = finder.decisions(legs)
    else:
        trajectory = random_waypoint(rng, cells, duration=scenario.duration - start,
                                     speed=(m.speed_min_mps, m.speed_max_mps), pause=m.pause_s,
                                     t0=start)
        first, listed = handoffs_along(
            trajectory, {ap.name: ap.position for ap in aps}, step=_SAMPLE_STEP,
            hysteresis_db=m.hysteresis_db, lead=longest, exact=True)
        found = iter(listed)
    return names.index(first), _Kept(scenario.duration, found, first, longest,
                                     functools.partial(draw_lead, scenario, protocol, replayed))


class _Kept:
    """Keep handoffs that leave time for the previous one to finish (no overlapping handoffs)
    and that change the AP (a skipped one may be followed by a move back); warn a drawn
    ``lead()`` before each (at most ``longest``), not before the previous one.

    An iterator with slots rather than a generator: one per mobile node for the whole run, and
    a generator's frame (with the closure its ``lead`` was) cost half a kilobyte more.
    """

    __slots__ = ("current", "decisions", "duration", "last", "lead", "longest")

    def __init__(self, duration: float, decisions: Iterator[HandoffDecision], first: str,
                 longest: float, lead: Callable[[], float]) -> None:
        self.duration = duration
        self.decisions: Iterator[HandoffDecision] | None = decisions
        self.current = first
        self.longest = longest
        self.lead = lead
        self.last = -math.inf

    def __iter__(self) -> _Kept:
        return self

    def __next__(self) -> HandoffDecision:
        if self.decisions is None:
            raise StopIteration
        for decision in self.decisions:
            if decision.time >= self.duration:
                break
            if (decision.time - self.last < 2 * self.longest + 0.05
                    or decision.target == self.current):
                continue
            self.current = decision.target
            warning = max(decision.time - self.lead(), self.last + 0.02)
            self.last = decision.time
            return HandoffDecision(decision.time, decision.target, warning)
        # Done (as the generator's return was): let go of the walk and never resume it.
        self.decisions = None
        raise StopIteration


class _Mover:
    """Schedules one mobile node's handoffs one at a time: each one's events when the previous
    one switches, so a run holds one pending handoff per mobile node, not its whole path."""

    __slots__ = ("aps", "decisions", "mobile", "network", "previous", "protocol", "scenario")

    def __init__(self, scenario: Scenario, protocol: str, net: Network, mobile: _Mobile,
                 aps: dict[str, AccessPoint], decisions: Iterator[HandoffDecision]) -> None:
        self.scenario = scenario
        self.protocol = protocol
        self.network = net
        self.mobile = mobile
        self.aps = aps
        self.decisions = decisions
        self.previous = 0.0
        self.advance()

    def advance(self) -> None:
        """Schedule the next handoff (if any) and the call that schedules the one after."""
        decision = next(self.decisions, None)
        if decision is None:
            self.decisions = iter(())
            return
        self._schedule(decision)
        self.previous = decision.time
        # The class's function with the mover as its argument: no bound method waits in the
        # heap until the handoff (one per mobile node).
        self.network.kernel.call_at(decision.time, _Mover.advance, self)

    def _schedule(self, decision: HandoffDecision) -> None:
        scenario, protocol, net = self.scenario, self.protocol, self.network
        station, node, entity = self.mobile.station, self.mobile.node, self.mobile.entity
        previous = self.previous
        target = self.aps[decision.target]
        warning = decision.warning if decision.warning is not None else decision.time
        background = scenario.wifi.background_scan or protocol not in _PREDICTIVE
        if protocol in _FMIP and background:
            # RFC 4260 steps a-b "far in advance": a wildcard RtSolPr learns the AR-Info of
            # every neighbour (RFC 5568 §4 case 4) before the handover decision. (Predictive
            # without background scanning learns it from its own scan's results instead.)
            discover = warning - 0.25
            if discover > previous + 0.05:
                net.kernel.schedule_at(discover, node.call, entity, entity.l2_trigger,
                                       ScanCompleted(access_points=()))
        if protocol in _PREDICTIVE:
            lead = decision.time - warning
            prescanned = scenario.wifi.background_scan
            # Without background scanning the scan ends early enough for the RtSolPr/PrRtAdv
            # its results trigger (RFC 4260 steps 1, a, b) to complete before LinkGoingDown.
            solicit = 2 * scenario.links.wireless.one_way(SIGNAL_BYTES) + 0.005
            try:
                station.handoff(target, decision.time, lead=lead, prescanned=prescanned,
                                scan_at=None if prescanned else max(
                                    warning - solicit - station.timing.scan, previous + 0.05))
            except ValueError:
                station.handoff(target, decision.time, lead=lead, prescanned=True)
        else:
            station.handoff(target, decision.time)


def _traffic(scenario: Scenario, net: Network, mobile: _Mobile, cn: Node,
             cn_sender: Callable[..., None], recorder: RunRecorder, keep: bool) -> None:
    t = scenario.traffic
    interval = t.interval_ms / 1000
    stop = scenario.duration
    i = mobile.index
    calling = i % t.call_every == 0
    tracked = recorder.add_mobile(mobile.node.name, i, flow=t.downlink and calling,
                                  trace=i == 0, uplink=t.uplink and calling)
    if not calling:
        return
    if t.downlink:
        mobile.down_receiver = FlowReceiver(
            mobile.node, DOWNLINK_PORT, flow=i, keep_arrivals=keep,
            on_arrival=functools.partial(recorder.arrival, tracked))
        mobile.downlink = CBRSource(net, cn_sender, src=CN_ADDRESS, dst=home_address(i),
                                    src_port=DOWNLINK_PORT, dst_port=DOWNLINK_PORT, flow=i,
                                    interval=interval, payload=t.payload_bytes,
                                    start=t.start_s, stop=stop)
    if t.uplink:
        port = uplink_port(i, t.call_every)
        mobile.up_receiver = FlowReceiver(cn, port, flow=i, keep_arrivals=keep,
                                          on_arrival=_counting(FlowCounter(), recorder,
                                                               tracked))
        # Half an interval after the downlink: the two directions of a call are not in phase.
        mobile.uplink = CBRSource(net, entity_sender(mobile.node, mobile.entity),
                                  src=home_address(i), dst=CN_ADDRESS, src_port=port,
                                  dst_port=port, flow=i, interval=interval,
                                  payload=t.payload_bytes, start=t.start_s + interval / 2,
                                  stop=stop)
    if t.bulk_bytes_per_s > 0:
        counter = mobile.bulk_counter = FlowCounter()
        FlowReceiver(mobile.node, BULK_PORT, flow=i, keep_arrivals=False,
                     on_arrival=lambda seq, _sent, _now, _link: (  # type: ignore[arg-type]
                         counter.arrived(seq)))
        # A quarter of the call's interval later: the download's packets are not in phase
        # with the call's.
        mobile.bulk = CBRSource(net, cn_sender, src=CN_ADDRESS, dst=home_address(i),
                                src_port=BULK_PORT, dst_port=BULK_PORT, flow=i,
                                interval=t.bulk_payload_bytes / t.bulk_bytes_per_s,
                                payload=t.bulk_payload_bytes, start=t.start_s + interval / 4,
                                stop=stop)


# -- running and measuring ---------------------------------------------------------------------


def run_protocol(
    scenario: Scenario,
    protocol: str,
    *,
    seed: int,
    capture: Path | None = None,
    progress: Callable[[float], None] | None = None,
    wire_bytes: bool = False,
    stats: dict[str, float] | None = None,
    watch: Callable[[Network], None] | None = None,
) -> ProtocolResult:
    """Run ``protocol`` on ``scenario`` with ``seed`` and measure it (module docstring).

    ``capture``: write a pcapng of every frame on every link of the run there, one interface
    per link (named after it): a packet that crosses three links is there three times, each
    copy with its link. The file's directory must exist.
    ``progress``: called with the fraction of simulated time done (at most ~100 times).
    ``wire_bytes``: carry every packet as bytes that each receiver decodes again
    (:mod:`.frame`); the results are the same, only slower.
    ``stats``: filled with the kernel's ``events`` (callbacks run), ``simulated_s`` and
    ``build_cpu_s`` (this process's CPU time building the world, before the first event).
    ``watch``: called with the run's network once it is built, before the first event (for an
    observer in another thread that reads its clock, as ``bench/scale.py`` prints progress:
    unlike ``progress`` it adds no event).
    """
    built = time.process_time()
    world = _build(scenario, protocol, seed, capture is not None, wire_bytes)
    built = time.process_time() - built
    net = world.network
    if watch is not None:
        watch(net)
    end = scenario.duration + DRAIN
    if progress is not None:
        steps = 100
        for k in range(1, steps + 1):
            net.kernel.schedule_at(end * k / steps, progress, k / steps)
    net.run(until=end)
    if stats is not None:
        stats["events"] = net.kernel.events_processed
        stats["simulated_s"] = net.now
        stats["build_cpu_s"] = built
    if capture is not None and world.capture is not None:
        world.capture.write_pcapng(capture)
    return _measure(world)


def compare(
    scenario: Scenario,
    *,
    seed: int,
    protocols: Sequence[str] = PROTOCOLS,
    capture_dir: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
    wire_bytes: bool = False,
) -> list[ProtocolResult]:
    """:func:`run_protocol` for each of ``protocols`` (captures in
    ``capture_dir / f"{protocol}.pcapng"``; ``progress(protocol, fraction)``)."""
    results = []
    for protocol in protocols:
        path = None if capture_dir is None else Path(capture_dir) / f"{protocol}.pcapng"
        report = None
        if progress is not None:
            report = _bind_progress(progress, protocol)
        results.append(run_protocol(scenario, protocol, seed=seed, capture=path,
                                    progress=report, wire_bytes=wire_bytes))
    return results


def _bind_progress(progress: Callable[[str, float], None],
                   protocol: str) -> Callable[[float], None]:
    def report(fraction: float) -> None:
        progress(protocol, fraction)
    return report


def _counting(counter: FlowCounter, recorder: RunRecorder, tracked: MobileRecorder
              ) -> Callable[[int, float, float, str | None], None]:
    """The uplink's arrivals: counted, and each first copy handed to the recorder."""
    def arrived(seq: int, sent: float, now: float, link: str | None) -> None:
        if counter.arrived(seq):
            recorder.uplink_arrival(tracked, seq, sent, now, link)
    arrived.counter = counter  # type: ignore[attr-defined]
    return arrived


def _measure(world: _World) -> ProtocolResult:
    scenario, protocol = world.scenario, world.protocol
    recorder = world.recorder
    recorder.finish()
    sent = lost = duplicated = 0
    up_sent = up_lost = 0
    bulk_sent = bulk_lost = 0
    up_disruptions: list[float] = []
    buffered = 0
    trace: tuple[tuple[int, float, float], ...] = ()
    handover_times: tuple[float, ...] = ()
    windows_of_first: tuple[tuple[float, float] | None, ...] = ()
    for mobile in world.mobiles:
        tracked = recorder.mobiles[mobile.node.name]
        if mobile.downlink is not None and tracked.flow is not None:
            sent += mobile.downlink.sent
            lost += tracked.flow.lost(mobile.downlink.sent)
            duplicated += tracked.flow.duplicates
        if mobile.uplink is not None and mobile.up_receiver is not None:
            counter = mobile.up_receiver.on_arrival.counter  # type: ignore[union-attr]
            up_sent += mobile.uplink.sent
            up_lost += counter.lost(mobile.uplink.sent)
            up_disruptions += tracked.uplink_disruptions()
        if mobile.bulk is not None and mobile.bulk_counter is not None:
            bulk_sent += mobile.bulk.sent
            bulk_lost += mobile.bulk_counter.lost(mobile.bulk.sent)
        buffered += max(0, tracked.buffered)
        if mobile.index == 0:
            handover_times = tuple(tracked.downs or ())
            windows_of_first = tuple(tracked.disruption_windows())
            if handover_times:
                trace = tuple(tracked.trace or ())
    handovers = recorder.handovers
    # The independent model (mipshop.model) gets the scenario as plain data only.
    estimate = model.expected(scenario_to_dict(scenario), protocol)
    analytic_lost = estimate.packets_lost
    if scenario.movement.model != "ping_pong" and estimate.packets_lost_per_handover is not None:
        own = estimate.packets_lost_per_handover * handovers
        analytic_lost = own + estimate.loss_ratio * max(sent - own, 0)
    registration = recorder.phases["registration"]
    return ProtocolResult(
        protocol=protocol,
        handovers=handovers,
        disruption_ms=_distribution(recorder.disruptions),
        phases_ms={name: _mean_ms(total) for name, total in recorder.phases.items()},
        packets_sent=sent,
        packets_lost=lost,
        packets_buffered=buffered,
        packets_duplicated=duplicated,
        signalling=_signalling(world.signalling, handovers),
        binding_update_latency_ms=_mean_ms(registration),
        analytic_disruption_ms=estimate.disruption_ms,
        analytic_packets_lost=analytic_lost,
        trace=trace,
        handover_times=handover_times,
        uplink={"sent": up_sent, "lost": up_lost,
                "disruption_ms": _distribution(up_disruptions)},
        disruption_windows=tuple(windows_of_first),
        bulk={"sent": bulk_sent, "lost": bulk_lost} if scenario.traffic.bulk_bytes_per_s else {},
        buffer_drops=dict(sorted(world.buffer_drops.items())),
    )


def _signalling(tap: _SignallingTap, handovers: int) -> dict[str, Any]:
    totals = tap.totals
    messages = sum(m for m, _b in totals.values())
    size = sum(b for _m, b in totals.values())
    per = max(handovers, 1)
    return {
        "messages_per_handover": messages / per,
        "bytes_per_handover": size / per,
        "by_type": {name: {"messages": m, "bytes": b}
                    for name, (m, b) in sorted(totals.items())},
    }


def _mean_ms(total: ExactSum) -> float | None:
    mean = total.mean()
    return None if mean is None else mean * 1000.0


def _distribution(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    ms = [v * 1000.0 for v in values]
    return {"mean": math.fsum(ms) / len(ms), "p50": percentile(ms, 50),
            "p95": percentile(ms, 95), "max": max(ms)}


def results_to_dict(scenario: Scenario, results: Sequence[ProtocolResult], *,
                    seed: int) -> dict[str, Any]:
    """``{"scenario": ..., "seed": ..., "results": [...]}`` as JSON-ready data; each trace is
    summarised as its packet count (``trace_packets``) to keep the file small."""
    rows = []
    for result in results:
        rows.append({
            "protocol": result.protocol,
            "handovers": result.handovers,
            "disruption_ms": dict(result.disruption_ms),
            "phases_ms": dict(result.phases_ms),
            "packets_sent": result.packets_sent,
            "packets_lost": result.packets_lost,
            "packets_buffered": result.packets_buffered,
            "packets_duplicated": result.packets_duplicated,
            "signalling": result.signalling,
            "binding_update_latency_ms": result.binding_update_latency_ms,
            "analytic_disruption_ms": result.analytic_disruption_ms,
            "analytic_packets_lost": result.analytic_packets_lost,
            "uplink": {key: dict(value) if isinstance(value, dict) else value
                       for key, value in result.uplink.items()},
            "handover_times": list(result.handover_times),
            "trace_packets": len(result.trace),
            "bulk": dict(result.bulk),
            "buffer_drops": dict(result.buffer_drops),
        })
    return {"scenario": scenario_to_dict(scenario), "seed": seed, "results": rows}


__all__ = [
    "PROTOCOLS",
    "ProtocolResult",
    "compare",
    "results_to_dict",
    "run_protocol",
]
