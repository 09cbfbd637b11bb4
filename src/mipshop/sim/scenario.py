"""Scenarios: every parameter of a comparison run, the built-in reference, and TOML files.

A :class:`Scenario` is a frozen tree of small frozen dataclasses (links, 802.11 timings,
movement, traffic, address configuration, FMIPv6 knobs). :func:`reference_scenario` is the
built-in one; :func:`load_scenario` reads a TOML file (:mod:`tomllib`) whose tables override the
reference values key by key, and rejects unknown keys, wrong types and out-of-range values with a
:class:`ScenarioError` naming the key (``links.core_ha.delay_ms: must be a number >= 0, got
"x"``); :func:`scenario_to_dict` gives the full parameters as JSON-ready data, with the round
trips the topology implies.

The reference topology (RFC 4260 Fig. 2: each access router integrates its 802.11 AP; RFC 5380
Fig. 1: a MAP above the access routers)::

    CN ---30 ms--- core ---50 ms--- HA (home link)
                    |
                  20 ms
                    |
                   MAP  (aggregation router; hosts the HMIPv6 MAP when the protocol uses one)
                  /    \\
               5 ms    5 ms
               AR0 -5 ms- AR1      (AR-AR link: FMIPv6 HI/HAck and the PAR->NAR tunnel)
               ((bss0))  ((bss1))  802.11 BSS, 2 ms, 54 Mb/s
                    MN  (ping-pong between the two APs every 3.005 s)

One-way delays [choice, documented]: 2 ms on the air (802.11 frame exchange and AP queueing at
low load), 5 ms access router to MAP (a metro aggregation hop), 20 ms MAP to the core, 50 ms core
to a *distant* home agent (another continent: RFC 5380 §1 motivates HMIPv6 by exactly this
distance), 30 ms core to the correspondent, 5 ms between neighbouring access routers. Round trips
therefore are MN-AR 4 ms, MN-MAP 14 ms, MN-HA 154 ms, MN-CN 114 ms (propagation only;
serialization adds microseconds at these rates). Rates: 54 Mb/s on the air (802.11g), 1 Gb/s
wired.

802.11 handoff (:class:`~.wifi.HandoffTiming` defaults, sources in :mod:`.wifi`): 11 channels of
2/33 s (Linux mac80211 software scan) = 667 ms of scan, 2 ms authentication, 2 ms
reassociation, no 802.1X. With ``wifi.background_scan`` (reference: true) the scan is done
beforehand, as RFC 4260 §7.1 allows ("steps 1ab may be executed far in advance") and as
stations scan in the background while associated; the link-layer outage of every protocol is
then join + authentication + reassociation = 4 ms. Without it, the scan is part of the outage
for MIPv6, HMIPv6 and reactive FMIPv6 (RFC 4260 "123456..." / "ab123456cdefg"), and predictive
FMIPv6 scans with its radio away from the old AP just before the handover decision.

Traffic: a G.711 call, 160-byte payloads every 20 ms in each direction (RFC 3551 §4.5.14).
Movement: 8 handovers 3.005 s apart from 5 s, so that they fall at four points of the 20 ms
voice cycle (0, 5, 10 and 15 ms), two each: at some of them a packet is on its way to the old
link while the radio switches, which only a NAR buffer saves. Address configuration: RFC 4862
DAD, RetransTimer x DupAddrDetectTransmits = 1 s, not optimistic (RFC 4429 is a knob). Routers
answer a Router Solicitation after a random 0-500 ms (RFC 4861 §6.2.6 MAX_RA_DELAY_TIME) and
advertise every 3 s. FMIPv6: a 64-packet NAR buffer (1.28 s of voice), and the predictive
anticipation lead (LinkGoingDown to the switch) drawn uniformly in 25-50 ms for each handover:
always long enough for FBU, HI, HAck and the last packet on the old link (see
:func:`auto_lead`: 14.6 ms at a PAR, 24.6 ms at the MAP), so a late trigger is not part of the
reference (``examples/late-trigger.toml`` is one).
"""

from __future__ import annotations

import dataclasses
import math
import random
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..protocol.base.constants import MAX_RA_DELAY_TIME

#: Bytes of one CBR packet's IPv6 + UDP headers (RFC 8200 §3, RFC 768).
IP_UDP_HEADERS = 48
#: Bytes an IPv6-in-IPv6 encapsulation adds (RFC 2473).
TUNNEL_HEADER = 40
#: [choice] Approximate size of one mobility signalling packet (BU, FBU, HI, HAck, RS, RA,
#: UNA: 56-160 bytes on the wire); only used for serialization times, which are microseconds.
SIGNAL_BYTES = 150
#: [choice] Safety margin added to the automatic FMIPv6 anticipation lead, seconds.
LEAD_MARGIN = 0.0005


#: The largest scenario file read (a scenario is a few hundred bytes of TOML).
MAX_SCENARIO_BYTES = 1024 * 1024
#: [choice] The correspondent's UDP port for the uplink of the first call; call ``c`` (the
#: ``c``-th calling node, see :attr:`Traffic.call_every`) sends to this plus ``c``.
UPLINK_BASE_PORT = 20_000
#: Calls with an uplink a run can hold: one correspondent port each, up to 65535 (RFC 768).
MAX_CALLS = 0x1_0000 - UPLINK_BASE_PORT


class ScenarioError(ValueError):
    """A scenario file or value is wrong; the message names the key and the problem."""


def _spec(*, minimum: float | None = None, maximum: float | None = None,
          exclusive_minimum: bool = False, doc: str = "") -> dict[str, Any]:
    return {"min": minimum, "max": maximum, "exclusive": exclusive_minimum, "doc": doc}


def _f(default: Any, **spec: Any) -> Any:
    return field(default=default, metadata=_spec(**spec))


@dataclass(frozen=True, kw_only=True)
class LinkParams:
    """One link: one-way propagation delay, rate and loss probability."""

    delay_ms: float = _f(1.0, minimum=0.0)
    rate_mbps: float = _f(1000.0, minimum=0.0, exclusive_minimum=True)
    loss: float = _f(0.0, minimum=0.0, maximum=1.0)

    @property
    def delay(self) -> float:
        """One-way delay in seconds."""
        return self.delay_ms / 1000.0

    @property
    def bandwidth(self) -> float:
        """Rate in bit/s."""
        return self.rate_mbps * 1e6

    def serialization(self, size: int) -> float:
        """Seconds to put ``size`` bytes on this link."""
        return size * 8 / self.bandwidth

    def one_way(self, size: int) -> float:
        """Seconds from the first bit sent to the packet received: delay + serialization."""
        return self.delay + self.serialization(size)


@dataclass(frozen=True, kw_only=True)
class Links:
    """The topology's links (see the module docstring for the picture)."""

    wireless: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=2.0, rate_mbps=54.0))
    ar_map: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=5.0))
    map_core: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=20.0))
    core_ha: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=50.0))
    core_cn: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=30.0))
    ar_ar: LinkParams = field(default_factory=lambda: LinkParams(delay_ms=5.0))


@dataclass(frozen=True, kw_only=True)
class Wifi:
    """802.11 handoff timings (:class:`~.wifi.HandoffTiming`, in ms) and scanning policy."""

    channels: int = _f(11, minimum=0, maximum=64)
    probe_delay_ms: float = _f(1000 / 33, minimum=0.0)
    channel_time_ms: float = _f(1000 / 33, minimum=0.0)
    join_ms: float = _f(0.0, minimum=0.0)
    authentication_ms: float = _f(2.0, minimum=0.0)
    association_ms: float = _f(2.0, minimum=0.0)
    eap_ms: float = _f(0.0, minimum=0.0)
    #: The scan is done beforehand (RFC 4260 §7.1), not inside the handoff outage.
    background_scan: bool = True
    #: Frames an AP holds for a station whose radio is away (power-save buffering, RFC 4260 §4).
    ap_buffer_packets: int = _f(0, minimum=0)

    @property
    def scan_ms(self) -> float:
        """Step 1: ``channels * (probe_delay + channel_time)``."""
        return self.channels * (self.probe_delay_ms + self.channel_time_ms)

    @property
    def switch_ms(self) -> float:
        """Steps 2-5: join + authentication + (re)association + 802.1X."""
        return self.join_ms + self.authentication_ms + self.association_ms + self.eap_ms


@dataclass(frozen=True, kw_only=True)
class Movement:
    """How the mobile nodes move.

    ``ping_pong``: along a line of ``access_points`` APs and back (0, 1, ..., n-1, n-2, ...),
    one handoff every ``dwell_s`` from ``first_handover_s``, ``handovers`` in all.
    ``random_waypoint``: over a ``grid_columns`` x ``grid_rows`` grid of ``cell_m`` cells, one
    AP per cell centre, from ``traffic.start_s`` to ``duration_s``; handoffs where the
    log-distance signal of another AP exceeds the current one by ``hysteresis_db``
    (:func:`~.movement.handoffs_along`).
    """

    model: Literal["ping_pong", "random_waypoint"] = "ping_pong"
    access_points: int = _f(2, minimum=2, maximum=64)
    handovers: int = _f(8, minimum=1, maximum=100_000)
    dwell_s: float = _f(3.005, minimum=0.0, exclusive_minimum=True)
    first_handover_s: float = _f(5.0, minimum=0.0, exclusive_minimum=True)
    grid_columns: int = _f(3, minimum=1, maximum=32)
    grid_rows: int = _f(3, minimum=1, maximum=32)
    cell_m: float = _f(50.0, minimum=0.0, exclusive_minimum=True)
    speed_min_mps: float = _f(1.0, minimum=0.0, exclusive_minimum=True)
    speed_max_mps: float = _f(1.5, minimum=0.0, exclusive_minimum=True)
    pause_s: float = _f(0.0, minimum=0.0)
    hysteresis_db: float = _f(3.0, minimum=0.0)
    duration_s: float = _f(60.0, minimum=0.0, exclusive_minimum=True)


@dataclass(frozen=True, kw_only=True)
class Traffic:
    """Constant bit rate in both directions (G.711 by default, RFC 3551 §4.5.14).

    ``bulk_bytes_per_s``: beside the call, a bulk download from the correspondent to each
    calling mobile node, paced at that many payload bytes per second in datagrams of
    ``bulk_payload_bytes`` (0: none). It stands for a paced TCP transfer (the testbed's
    ``--tcp-bytes`` sender) without congestion control: a load on the links and on the NAR's
    buffer, counted in the result's ``bulk``.
    """

    interval_ms: float = _f(20.0, minimum=0.0, exclusive_minimum=True)
    payload_bytes: int = _f(160, minimum=16, maximum=1400)
    start_s: float = _f(3.0, minimum=0.0)
    downlink: bool = True
    uplink: bool = True
    #: Every that many mobile nodes carry the call (nodes 0, k, 2k, ...); 1: all of them.
    call_every: int = _f(1, minimum=1, maximum=1_000_000)
    bulk_bytes_per_s: float = _f(0.0, minimum=0.0, maximum=1e9)
    bulk_payload_bytes: int = _f(1200, minimum=16, maximum=1400)

    @property
    def packet_bytes(self) -> int:
        """One CBR packet on the wire, IPv6 and UDP headers included."""
        return self.payload_bytes + IP_UDP_HEADERS


@dataclass(frozen=True, kw_only=True)
class Address:
    """Care-of address configuration: RFC 4862 DAD or RFC 4429 optimistic DAD; or, with
    ``dhcpv6``, stateful configuration on every access link (RFC 8415: each access router
    runs a DHCPv6 server and advertises M = 1, A = 0; under FMIPv6 the PAR announces the NAR
    with PrRtAdv Code 5, RFC 5568 §5.2)."""

    dad_delay_ms: float = _f(1000.0, minimum=0.0)
    optimistic_dad: bool = False
    dhcpv6: bool = False


@dataclass(frozen=True, kw_only=True)
class LeadTime:
    """The anticipation lead (LinkGoingDown to the switch) as a random variable, in ms.

    ``uniform``: on ``[low_ms, high_ms]``; ``normal``: mean ``mean_ms``, standard deviation
    ``sd_ms``, truncated to ``[max(0, mean_ms - 4 sd_ms), mean_ms + 4 sd_ms]`` (drawn again
    outside). Each handover of each mobile node draws its own lead from a generator of the
    run's seed.
    """

    distribution: Literal["uniform", "normal"] = "uniform"
    low_ms: float = _f(0.0, minimum=0.0)
    high_ms: float = _f(0.0, minimum=0.0)
    mean_ms: float = _f(0.0, minimum=0.0)
    sd_ms: float = _f(0.0, minimum=0.0)

    @property
    def bounds_ms(self) -> tuple[float, float]:
        """The smallest and largest lead that can be drawn."""
        if self.distribution == "uniform":
            return self.low_ms, self.high_ms
        return max(0.0, self.mean_ms - 4 * self.sd_ms), self.mean_ms + 4 * self.sd_ms

    def draw(self, rng: random.Random) -> float:
        """One lead, in seconds."""
        if self.distribution == "uniform":
            return rng.uniform(self.low_ms, self.high_ms) / 1000.0
        low, high = self.bounds_ms
        while True:
            value = rng.gauss(self.mean_ms, self.sd_ms) if self.sd_ms > 0 else self.mean_ms
            if low <= value <= high:
                return value / 1000.0


@dataclass(frozen=True, kw_only=True)
class Fmipv6:
    """FMIPv6 knobs: the NAR buffer (RFC 5568 §5.4; ``buffer_fairness``: a full buffer drops
    from its longest flow, docs/decisions.md D28, or, False, the arrival) and the predictive
    anticipation lead (time from LinkGoingDown to the switch): a fixed number of ms, a
    :class:`LeadTime` distribution, or None ("auto": :func:`auto_lead`)."""

    buffer_packets: int = _f(64, minimum=0, maximum=100_000)
    buffer_fairness: bool = True
    lead_ms: float | LeadTime | None = field(
        default=LeadTime(distribution="uniform", low_ms=25.0, high_ms=50.0),
        metadata=_spec(minimum=0.0))


@dataclass(frozen=True, kw_only=True)
class Routers:
    """What every access router does beyond forwarding.

    ``max_ra_delay_ms``: a Router Advertisement answering a Router Solicitation waits a random
    time in ``[0, max_ra_delay_ms]`` (RFC 4861 §6.2.6, MAX_RA_DELAY_TIME = 500 ms, the
    default); 0 is the faster behaviour a mobility-aware router may choose, answering at once.
    ``ra_interval_s``: one unsolicited Router Advertisement every that many seconds from the
    router's start (MaxRtrAdvInterval, RFC 4861 §6.2.1: 4-1800 s, 600 s by default; RFC 6275
    §7.5 lets mobility links go lower, and 3 s keeps movement detection without link-layer
    triggers quick); at least ``max_ra_delay_ms``. Each one reaches every mobile node on the
    link: it is what an idle node costs.
    """

    max_ra_delay_ms: float = _f(MAX_RA_DELAY_TIME * 1000.0, minimum=0.0, maximum=3000.0)
    ra_interval_s: float = _f(3.0, minimum=0.0, exclusive_minimum=True, maximum=1800.0)


@dataclass(frozen=True, kw_only=True)
class Processing:
    """Processing time, in ms (the simulator charges nothing by default). ``agents_ms``: the
    time the home agent, the MAP and the access routers take to handle each signalling
    message, one at a time (a data packet that arrives meanwhile waits behind it).
    ``mobile_node_ms``: the time the mobile node takes to configure a new address; what it
    sends with the configuration (the BU after an RA, the UNA and FBU at link-up) leaves that
    much later, as on the testbed, whose runtime configures the address through netlink
    before anything else (docs/decisions.md D29). The testbed's daemons take milliseconds
    (``examples/testbed.toml`` gives the figures measured there, and how)."""

    agents_ms: float = _f(0.0, minimum=0.0, maximum=1000.0)
    mobile_node_ms: float = _f(0.0, minimum=0.0, maximum=1000.0)


@dataclass(frozen=True, kw_only=True)
class Topology:
    """How the access routers hang together.

    ``maps``: MAP domains (RFC 5380 §1: a MAP serves a region of access routers). Each domain
    has its own aggregation router under the core, hosting its MAP when the protocol uses one;
    a grid's access routers are split into ``maps`` rectangular blocks (as square as the grid
    allows, else consecutive runs in row order), a line's into consecutive runs.
    ``ar_links``: ``mesh`` links every two access routers (FMIPv6's HI/HAck and PAR->NAR
    tunnel take it); ``none`` leaves that traffic to the aggregation routers (and to the core
    between domains).
    """

    maps: int = _f(1, minimum=1, maximum=64)
    ar_links: Literal["mesh", "none"] = "mesh"


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """The full parameters of a comparison run (see the module docstring)."""

    name: str = "reference"
    description: str = ""
    mobile_nodes: int = _f(1, minimum=1, maximum=1_000_000)
    links: Links = field(default_factory=Links)
    wifi: Wifi = field(default_factory=Wifi)
    movement: Movement = field(default_factory=Movement)
    traffic: Traffic = field(default_factory=Traffic)
    address: Address = field(default_factory=Address)
    fmipv6: Fmipv6 = field(default_factory=Fmipv6)
    topology: Topology = field(default_factory=Topology)
    routers: Routers = field(default_factory=Routers)
    processing: Processing = field(default_factory=Processing)

    @property
    def calls(self) -> int:
        """Mobile nodes that carry a call: nodes 0, k, 2k, ... below :attr:`mobile_nodes`."""
        return -(-self.mobile_nodes // self.traffic.call_every)

    @property
    def duration(self) -> float:
        """Simulated seconds of traffic and movement (the run lasts a little longer, to let
        the last packets arrive)."""
        m = self.movement
        if m.model == "ping_pong":
            return m.first_handover_s + m.handovers * m.dwell_s
        return m.duration_s

    @property
    def access_point_count(self) -> int:
        """How many APs (and access routers) the topology has."""
        m = self.movement
        return m.access_points if m.model == "ping_pong" else m.grid_columns * m.grid_rows


def reference_scenario() -> Scenario:
    """The built-in reference scenario (module docstring)."""
    return Scenario(
        name="reference",
        description=(
            "A correspondent, a distant home agent, a MAP above two access routers with "
            "integrated 802.11 APs (RFC 4260 Fig. 2); one mobile node moving back and forth "
            "every 3 s; a G.711 call in both directions; LinkGoingDown 25-50 ms before each "
            "switch; RAs answer solicitations after 0-500 ms (RFC 4861)."),
    )


# -- derived figures ---------------------------------------------------------------------------


def path_one_way(hops: typing.Iterable[LinkParams], size: int) -> float:
    """Store-and-forward one-way time of a ``size``-byte packet over ``hops`` (seconds)."""
    return sum(hop.one_way(size) for hop in hops)


def round_trips_ms(scenario: Scenario) -> dict[str, float]:
    """Propagation round trips between the mobile node and each party (ms)."""
    links = scenario.links
    w, a, m = links.wireless.delay_ms, links.ar_map.delay_ms, links.map_core.delay_ms
    return {
        "mn_ar": 2 * w,
        "mn_nar": 2 * w,
        "mn_map": 2 * (w + a),
        "mn_ha": 2 * (w + a + m + links.core_ha.delay_ms),
        "mn_cn": 2 * (w + a + m + links.core_cn.delay_ms),
        "par_nar": 2 * links.ar_ar.delay_ms,
    }


def auto_lead(scenario: Scenario, protocol: str = "fmipv6") -> float:
    """The predictive anticipation lead, seconds: the FBU reaches the anchor, HI and HAck run
    between the anchor and the NAR, then the last packet the anchor sent towards the old link
    must reach the mobile node before its radio leaves (RFC 5568 §3.2: the anchor redirects
    from the HAck on), plus :data:`LEAD_MARGIN`. The anchor is the PAR (``fmipv6``: FBU over
    the air, HI/HAck over the AR-AR link) or, for ``fhmipv6``, the MAP (RFC 4140 Appendix A:
    FBU to the MAP, HI/HAck over the MAP-AR links), each of FBU, HI and HAck also waiting the
    agents' processing time (``processing.agents_ms``). Shorter, and the FBack misses the old
    link (the handover turns reactive); longer, and packets wait in the NAR's buffer while the
    node could still have received them."""
    handling = 3 * scenario.processing.agents_ms / 1000.0
    links = scenario.links
    w, a, x = links.wireless, links.ar_map, links.ar_ar
    data = scenario.traffic.packet_bytes + TUNNEL_HEADER
    if protocol == "fhmipv6":
        data += TUNNEL_HEADER  # HA and MAP tunnels
        return (w.one_way(SIGNAL_BYTES) + 3 * a.one_way(SIGNAL_BYTES) + a.one_way(data)
                + w.one_way(data) + LEAD_MARGIN + handling)
    return (w.one_way(SIGNAL_BYTES) + 2 * x.one_way(SIGNAL_BYTES) + w.one_way(data) + LEAD_MARGIN
            + handling)


def lead_time(scenario: Scenario, protocol: str = "fmipv6") -> float:
    """The anticipation lead in use, seconds: the configured one, its mean when it is a
    distribution (:class:`LeadTime`), or :func:`auto_lead`."""
    lead = scenario.fmipv6.lead_ms
    if isinstance(lead, LeadTime):
        if lead.distribution == "uniform":
            return (lead.low_ms + lead.high_ms) / 2000.0
        return _truncated_normal_mean(lead) / 1000.0
    return lead_bounds(scenario, protocol)[0]


def lead_bounds(scenario: Scenario, protocol: str = "fmipv6") -> tuple[float, float]:
    """The smallest and largest anticipation lead of the scenario, seconds."""
    lead = scenario.fmipv6.lead_ms
    if lead is None:
        auto = auto_lead(scenario, protocol)
        return auto, auto
    if isinstance(lead, LeadTime):
        low, high = lead.bounds_ms
        return low / 1000.0, high / 1000.0
    return lead / 1000.0, lead / 1000.0


def draw_lead(scenario: Scenario, protocol: str, rng: random.Random) -> float:
    """One handover's anticipation lead, seconds (fixed, auto, or drawn from ``rng``)."""
    lead = scenario.fmipv6.lead_ms
    if isinstance(lead, LeadTime):
        return lead.draw(rng)
    return lead_bounds(scenario, protocol)[0]


def _truncated_normal_mean(lead: LeadTime) -> float:
    """Mean (ms) of the normal :class:`LeadTime` truncated to its bounds."""
    if lead.sd_ms == 0:
        return lead.mean_ms
    low, high = lead.bounds_ms
    a, b = (low - lead.mean_ms) / lead.sd_ms, (high - lead.mean_ms) / lead.sd_ms

    def pdf(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    return lead.mean_ms + lead.sd_ms * (pdf(a) - pdf(b)) / (cdf(b) - cdf(a))


def map_domains(scenario: Scenario) -> list[int]:
    """The MAP domain of each access point, in order (:class:`Topology`)."""
    count, maps = scenario.access_point_count, scenario.topology.maps
    m = scenario.movement
    if m.model == "random_waypoint":
        columns, rows = m.grid_columns, m.grid_rows
        shapes = [(across, maps // across) for across in range(1, maps + 1)
                  if maps % across == 0 and across <= columns and maps // across <= rows]
        if shapes:
            # The squarest blocks: cells per block across and down as close as they can be.
            across, down = min(shapes, key=lambda s: (abs(columns / s[0] - rows / s[1]), s))
            return [(k % columns) * across // columns + across * ((k // columns) * down // rows)
                    for k in range(count)]
    return [k * maps // count for k in range(count)]


def ping_pong_targets(access_points: int, handovers: int) -> list[int]:
    """APs visited along a line and back: 1, 2, ..., n-1, n-2, ..., 0, 1, ... (from AP 0)."""
    cycle = list(range(1, access_points)) + list(range(access_points - 2, -1, -1))
    return [cycle[k % len(cycle)] for k in range(handovers)]


def handover_schedule(scenario: Scenario, index: int = 0) -> list[float]:
    """Switch times of mobile node ``index`` under ping-pong movement (seconds)."""
    m = scenario.movement
    offset = (index * m.dwell_s / scenario.mobile_nodes) if scenario.mobile_nodes > 1 else 0.0
    return [m.first_handover_s + offset + k * m.dwell_s for k in range(m.handovers)]



def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The full parameters as JSON-ready data, plus derived figures: ``rtt_ms`` (round trips
    ``mn_ar``, ``mn_map``, ``mn_ha``, ``mn_cn``, and ``mn_nar``, ``par_nar``),
    ``cbr_interval_ms``, ``l2_handoff_ms``, ``scan_ms``, ``lead`` (by protocol: ``mean_ms``,
    ``min_ms``, ``max_ms`` of the anticipation lead in use) and ``duration_s``."""
    data = dataclasses.asdict(scenario)
    data["rtt_ms"] = round_trips_ms(scenario)
    data["cbr_interval_ms"] = scenario.traffic.interval_ms
    data["scan_ms"] = scenario.wifi.scan_ms
    data["l2_handoff_ms"] = scenario.wifi.switch_ms + (
        0.0 if scenario.wifi.background_scan else scenario.wifi.scan_ms)
    data["lead"] = {p: {"mean_ms": lead_time(scenario, p) * 1000.0,
                        "min_ms": lead_bounds(scenario, p)[0] * 1000.0,
                        "max_ms": lead_bounds(scenario, p)[1] * 1000.0}
                    for p in ("fmipv6", "fhmipv6")}
    data["duration_s"] = scenario.duration
    return data


# -- loading ---------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read a TOML scenario: the reference values, overridden by the keys the file gives.

    Raises :class:`ScenarioError` (a ``ValueError``) naming the key for unknown keys, wrong
    types and out-of-range values, and with the line for TOML syntax errors.
    """
    source = Path(path)
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{source}: larger than {MAX_SCENARIO_BYTES // 1024} KiB: not a "
                            "scenario file")
    try:
        text = toml_text(raw, "scenario")
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    if not _sets_something(text):
        raise ScenarioError(f"{source}: empty (it sets nothing); a scenario file overrides "
                            "the reference scenario's values, which `mipshop compare` runs")
    return scenario_from_toml(text, origin=str(source))


def toml_text(raw: bytes, kind: str) -> str:
    """The text of a TOML file of ``kind`` (scenario, sweep) read as ``raw``; ValueError
    naming the first byte that is not UTF-8 (TOML text is UTF-8)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                         f"{exc.start}); a {kind} is a TOML file") from None


def _sets_something(text: str) -> bool:
    """True when ``text`` holds anything but blank lines and comments (a file that sets
    nothing would run the reference scenario under another name)."""
    return any(line.strip() and not line.strip().startswith("#")
               for line in text.splitlines())


def scenario_from_toml(text: str, *, origin: str = "<string>") -> Scenario:
    """:func:`load_scenario` on TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line N, column M)".
        raise ScenarioError(f"{origin}: TOML syntax error: {exc}") from exc
    return scenario_from_dict(data)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """The reference scenario overridden by ``data`` (nested tables as dicts)."""
    scenario = _override(reference_scenario(), data, "")
    _check_consistency(scenario)
    return scenario


def _override(value: Any, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{prefix.rstrip('.') or 'scenario'}: must be a table, got "
                            f"{_show(data)}")
    cls = type(value)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, raw in data.items():
        name = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ScenarioError(f"{name}: unknown key (expected one of: {known})")
        current = getattr(value, key)
        table_type = _table_type(hints[key])
        if dataclasses.is_dataclass(current) and (table_type is None or isinstance(raw, dict)):
            changes[key] = _override(current, raw, f"{name}.")
            continue
        if table_type is not None and isinstance(raw, dict):
            # A key that takes a number or a table (fmipv6.lead_ms: a LeadTime).
            changes[key] = _override(table_type(), raw, f"{name}.")
            continue
        changes[key] = _convert(name, raw, hints[key], fields[key].metadata)
    return dataclasses.replace(value, **changes)


def _table_type(hint: Any) -> Any:
    """The dataclass a union-typed key also accepts as a table, or None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def _show(raw: Any) -> str:
    if isinstance(raw, str):
        return f'"{raw}"'
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict):
        return "a table"
    if isinstance(raw, list):
        return "an array"
    return str(raw)


def _convert(name: str, raw: Any, hint: Any, meta: Any) -> Any:
    optional = False
    table = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        table = any(dataclasses.is_dataclass(a) for a in args)
        hint = args[0]
    if optional and raw == "auto":
        return None
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if raw not in choices:
            listed = ", ".join(f'"{c}"' for c in choices)
            raise ScenarioError(f"{name}: must be one of {listed}, got {_show(raw)}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise ScenarioError(f"{name}: must be true or false, got {_show(raw)}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ScenarioError(f"{name}: must be a string, got {_show(raw)}")
        return raw
    if hint is int:
        ok = isinstance(raw, int) and not isinstance(raw, bool)
        return _ranged(name, raw, meta, ok, "an integer", int(raw) if ok else 0)
    if hint is float:
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
        kind = 'a number or "auto"' if optional else "a number"
        if table and not (ok and float(raw) >= (meta.get("min") or 0.0)):
            raise ScenarioError(f'{name}: must be a number >= {meta.get("min") or 0:g}, '
                                f'"auto" or a table, got {_show(raw)}')
        return _ranged(name, raw, meta, ok, kind, float(raw) if ok else 0.0)
    raise ScenarioError(f"{name}: unsupported parameter type")  # pragma: no cover


def _ranged(name: str, raw: Any, meta: Any, ok: bool, kind: str, value: float) -> Any:
    low, high, exclusive = meta.get("min"), meta.get("max"), meta.get("exclusive")
    bounds = []
    if low is not None:
        bounds.append(f"> {low:g}" if exclusive else f">= {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    wanted = f"must be {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
    if not ok:
        raise ScenarioError(f"{name}: {wanted}, got {_show(raw)}")
    if low is not None and (value < low or (exclusive and value == low)):
        raise ScenarioError(f"{name}: {wanted}, got {_show(raw)}")
    if high is not None and value > high:
        raise ScenarioError(f"{name}: {wanted}, got {_show(raw)}")
    return value


def _check_consistency(scenario: Scenario) -> None:
    """Checks that involve two keys; the message names the second one."""
    m, t = scenario.movement, scenario.traffic
    if m.speed_max_mps < m.speed_min_mps:
        raise ScenarioError(
            f"movement.speed_max_mps: must be >= movement.speed_min_mps ({m.speed_min_mps:g}), "
            f"got {m.speed_max_mps:g}")
    if t.start_s >= scenario.duration:
        raise ScenarioError(
            f"traffic.start_s: must be before the end of the run ({scenario.duration:g} s), "
            f"got {t.start_s:g}")
    if scenario.topology.maps > scenario.access_point_count:
        raise ScenarioError(
            f"topology.maps: must be at most the number of access points "
            f"({scenario.access_point_count}), got {scenario.topology.maps}")
    routers = scenario.routers
    if routers.max_ra_delay_ms > routers.ra_interval_s * 1000.0:
        raise ScenarioError(
            f"routers.max_ra_delay_ms: must be <= routers.ra_interval_s "
            f"({routers.ra_interval_s:g} s), got {routers.max_ra_delay_ms:g}")
    lead = scenario.fmipv6.lead_ms
    if isinstance(lead, LeadTime) and lead.distribution == "uniform" and (
            lead.high_ms < lead.low_ms):
        raise ScenarioError(
            f"fmipv6.lead_ms.high_ms: must be >= fmipv6.lead_ms.low_ms ({lead.low_ms:g}), "
            f"got {lead.high_ms:g}")
    check_calls(scenario)
    if m.model == "ping_pong" and m.first_handover_s <= t.start_s:
        raise ScenarioError(
            f"movement.first_handover_s: must be after traffic.start_s ({t.start_s:g} s), "
            f"got {m.first_handover_s:g}")


def check_calls(scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` when the calls need more uplink ports at the
    correspondent than there are (:data:`MAX_CALLS`): checked before anything is built, for
    a scenario whose node count is set after loading too (``bench/scale.py``)."""
    t = scenario.traffic
    if t.uplink and scenario.calls > MAX_CALLS:
        least = -(-scenario.mobile_nodes // MAX_CALLS)
        raise ScenarioError(
            f"traffic.call_every: {scenario.mobile_nodes} mobile nodes with a call on every "
            f"{t.call_every} make {scenario.calls} calls, more than the correspondent's "
            f"{MAX_CALLS} uplink ports ({UPLINK_BASE_PORT}..65535); set traffic.call_every "
            f"to at least {least}, fewer mobile nodes, or traffic.uplink = false")


__all__ = [
    "MAX_CALLS",
    "UPLINK_BASE_PORT",
    "Address",
    "Fmipv6",
    "LeadTime",
    "LinkParams",
    "Links",
    "Movement",
    "Routers",
    "Scenario",
    "ScenarioError",
    "Topology",
    "Traffic",
    "Wifi",
    "auto_lead",
    "check_calls",
    "draw_lead",
    "handover_schedule",
    "lead_bounds",
    "lead_time",
    "load_scenario",
    "map_domains",
    "path_one_way",
    "ping_pong_targets",
    "reference_scenario",
    "round_trips_ms",
    "scenario_from_dict",
    "scenario_from_toml",
    "scenario_to_dict",
]
