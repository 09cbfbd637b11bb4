"""The analytic model: expected handover disruption and loss, from the RFCs and a scenario.

This module knows nothing of the simulator: it imports only the protocol constants of the RFCs
(:mod:`mipshop.protocol.base.constants`) and takes a scenario as plain data, the mapping
``mipshop.sim.scenario.scenario_to_dict`` produces (or one written by hand, or read from a
``--json`` file): link delays, rates and losses, 802.11 timings, movement, traffic, address
configuration, FMIPv6 lead and buffer, router timers. From those it rebuilds, for each protocol,
the message sequence the RFCs prescribe and asks when the **anchor** (the node that decides
where a packet for the mobile node goes) starts sending the node's packets towards its new
link; then it follows each downlink packet of the constant-bit-rate flow through the old path,
the new path or a buffer, and computes the expectation of the disruption (the first packet
received on the new link minus the last received on the old one) and of the packets lost.

Notation: the handover's radio switch starts at ``t_s`` and the link is back at
``t_up = t_s + L2`` (802.11 steps 2-5 of RFC 4260 §4, plus the scan when it is not done in the
background and the protocol does not anticipate). ``w``, ``a``, ``m``, ``h``, ``c``, ``x`` are
the one-way times (propagation plus store-and-forward serialization of the packet's size) of
the wireless, AR-MAP, MAP-core, core-HA, core-CN and AR-AR links.

* **MIPv6** (RFC 6275 §11.5.1, §11.7.1; RFC 4861 §6.3.7, §6.2.6; RFC 4862 §5.4): at ``t_up``
  the node solicits a Router Advertisement; the router answers after a random delay in
  ``[0, MAX_RA_DELAY_TIME]`` (the scenario's ``max_ra_delay_ms``), or with its next
  unsolicited RA when that comes first (RFC 4861 §6.2.6); the node detects the new prefix,
  waits for DAD (RetransTimer x DupAddrDetectTransmits; none with optimistic DAD, RFC 4429)
  and sends its BU; the home agent redirects when the BU arrives (``w + a + m + h`` later).
  A lost RS or RA leaves the node waiting for the next unsolicited RA; a lost BU costs
  INITIAL_BINDACK_TIMEOUT (RFC 6275 §11.8).
* **HMIPv6** (RFC 5380 §6.1): the same, with the local BU to the MAP (``w + a``), which
  redirects.
* **Predictive FMIPv6** (RFC 5568 §3.2, §4; RFC 4260 §7.1): LinkGoingDown ``lead`` before
  ``t_s``; the FBU reaches the PAR after ``w``, the HI the NAR after ``x`` more, the HAck the
  PAR after another ``x``: the PAR redirects (tunnels to the NCoA). The NAR proxies the NCoA
  and buffers from the HI (§6.2.1.2, §5.4) until the mobile node's UNA (§6.3), sent at
  ``t_up``: the buffer then drains (BUFFER_BURST_PACKETS back to back, then at the arrival
  rate, §5.4). A UNA lost on the air is repeated every 2 x the access round trip, up to
  MAX_NEIGHBOR_ADVERTISEMENT times (RFC 5568 §6.3 with RFC 4861 §7.2.6, the mobile node's
  choice here). When the HI arrives after the UNA (a late trigger) nothing is buffered and
  the tunnel is delivered at once. A lost FBU is retransmitted after 2 x RTT (100 ms when it
  is unknown, §6.1.1) if the node is still on the old link, else the handover is reactive.
  The home agent's own redirection (the BU sent at ``t_up``) takes over when it comes first.
* **Reactive FMIPv6** (RFC 5568 §3.2 case 2; RFC 4260 §7.2): at ``t_up`` the UNA and the
  FBU; the FBU reaches the PAR through the NAR (``w + x``), then HI and HAck (``2x``): the
  PAR redirects at ``t_up + w + 3x``; nothing is buffered (HI Code 1, §4).
* **F-HMIPv6** (RFC 4140 Appendix A): predictive FMIPv6 with the MAP as anchor: FBU to the MAP
  (``w + a``), HI and HAck over the MAP-AR links (``2a``); the local BU sent at ``t_up``
  supersedes the fast binding (``w + a``), whichever redirects first.

Processing (the scenario's ``processing``): the RS, the BU, the FBU, the HI, the HAck and the UNA
each wait the agents' handling time before the agent or router they reach acts. An agent
handles one packet at a time: a data packet reaching the home agent or the MAP while it handles
the message that redirects waits, and takes the new path. The mobile node's time is its address
configuration: what it sends with a new address (the BU after the RA, the UNA, FBU and BU at
link-up under FMIPv6) leaves that much later.

Expectations: over the lead when it is a distribution, over the RA delay (uniform), over the
outcomes of losing the signalling messages that cross a lossy link (the UNA, the FBU, the RS
and RA, the BU, the HI and HAck), and over the losses of data packets themselves (the last old
and first new arrivals shift by whole packet intervals, geometrically). For ping-pong movement
the handover instants and the CBR phase are the scenario's; for random movement the model
averages over the CBR phase and the unsolicited RA phase, both uniform.

Not modelled (the README lists where the model and the simulator differ): queueing behind
other mobile nodes and behind the other direction of the call, AP power-save buffering, the
pre-handover scan outage of predictive FMIPv6 without background scanning, the exact rate the
NAR meters for a buffer beyond BUFFER_BURST_PACKETS (the model uses the flow's own interval),
second-order effects of losses (a lost FBack, a lost RtSolPr).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .protocol.base.constants import (
    BUFFER_BURST_PACKETS,
    FBU_INITIAL_TIMEOUT,
    FMIP_DEFAULT_INITIAL_TIMEOUT,
    FMIP_RTT_MULTIPLIER,
    INITIAL_BINDACK_TIMEOUT,
    MAX_NEIGHBOR_ADVERTISEMENT,
    PROXY_ND_LIFETIME,
)

PROTOCOLS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
_PREDICTIVE = ("fmipv6", "fhmipv6")

# -- sizes on the wire (bytes), from the RFC formats; they only set serialization times -----

#: RFC 8200 §3 fixed header; RFC 768 UDP header; RFC 2473 encapsulation.
IPV6, UDP, TUNNEL = 40, 8, 40
#: RFC 4861 §4.1 Router Solicitation with a Source Link-Layer Address option (§4.6.1).
RS = IPV6 + 8 + 8
#: RFC 4861 §4.2 RA: SLLA, Prefix Information (§4.6.2), Advertisement Interval (RFC 6275 §7.3).
RA = IPV6 + 16 + 8 + 32 + 8
#: RFC 5380 §4: the MAP option an HMIPv6 access router adds.
MAP_OPTION = 24
#: RFC 4861 §4.4 Neighbor Advertisement with a Target Link-Layer Address option (the UNA).
UNA = IPV6 + 24 + 8
#: RFC 5568 §6.1.1 RtSolPr: header, source LLA and one New-AP (wildcard) LLA (§6.4.3).
RTSOLPR = IPV6 + 8 + 16 + 16
#: RFC 5568 §6.1.2 PrRtAdv: header and source LLA, then per neighbour AP: New-AP and NAR LLAs,
#: NAR address and prefix (§6.4.1, 24 bytes each).
PRRTADV, PRRTADV_PER_AP = IPV6 + 8 + 16, 16 + 16 + 24 + 24
#: RFC 5568 §6.2.2 FBU: Home Address option (RFC 6275 §6.3), Alternate CoA, MH-LLA, BADF.
FBU = IPV6 + 24 + 12 + 20 + 16 + 24
#: RFC 5568 §6.2.1 HI (PCoA and NCoA options, MH-LLA) and HAck.
HI, HACK = IPV6 + 12 + 24 + 24 + 16, IPV6 + 16
#: RFC 8415 §16 Solicit/Request (client and server identifiers, IA_NA, elapsed time) and
#: Advertise/Reply (with the IA Address): UDP port 547/546 messages.
DHCP_CLIENT, DHCP_SERVER = IPV6 + UDP + 4 + 14 + 16 + 6 + 8, IPV6 + UDP + 4 + 14 + 14 + 44
#: RFC 6275 §6.1.7 BU with the Home Address and Alternate CoA options and RFC 4285 options.
BU = IPV6 + 24 + 12 + 20 + 24 + 12 + 20

# -- numerical integration ---------------------------------------------------------------------

#: Points of the midpoint rule over a uniform lead or RA delay.
GRID = 64
#: CBR phases (random movement) averaged over, and unsolicited-RA phases.
PHASES = 48
RA_PHASES = 12
#: Outcomes less likely than this are left out of an expectation.
NEGLIGIBLE = 1e-7


@dataclass(frozen=True)
class Link:
    """One link of the scenario: delay and rate (seconds, bit/s) and frame loss."""

    delay: float
    rate: float
    loss: float

    def time(self, size: int) -> float:
        """Propagation plus serialization of ``size`` bytes."""
        return self.delay + size * 8 / self.rate


def _path(size: int, *links: Link) -> float:
    """Store-and-forward time of ``size`` bytes over ``links``."""
    return math.fsum(link.time(size) for link in links)


def _delivered(*links: Link) -> float:
    """Probability that a frame crosses every one of ``links``."""
    return math.prod(1 - link.loss for link in links)


@dataclass(frozen=True)
class Params:
    """What the model reads from a scenario mapping (``scenario_to_dict``'s keys)."""

    w: Link
    a: Link
    m: Link
    h: Link
    c: Link
    x: Link
    switch: float
    scan: float
    background_scan: bool
    movement: str
    handovers: int
    dwell: float
    first_handover: float
    access_points: int
    mobile_nodes: int
    interval: float
    payload: int
    start: float
    duration: float
    dad: float
    dhcp: bool
    buffer_packets: int
    lead: tuple[str, float, float, float, float]  # (kind, low, high, mean, sd), seconds
    max_ra_delay: float
    ra_interval: float
    #: Time to handle one signalling message: at an agent or router, at the mobile node.
    agents: float = 0.0
    mobile: float = 0.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Params:
        """Read a scenario mapping (``mipshop.sim.scenario.scenario_to_dict``)."""
        links = data["links"]

        def link(name: str) -> Link:
            item = links[name]
            return Link(item["delay_ms"] / 1000, item["rate_mbps"] * 1e6, item["loss"])

        wifi, movement, traffic = data["wifi"], data["movement"], data["traffic"]
        address, fmip = data["address"], data["fmipv6"]
        routers = data.get("routers", {})
        processing = data.get("processing", {})
        channels_time = wifi["channels"] * (wifi["probe_delay_ms"] + wifi["channel_time_ms"])
        switch = wifi["join_ms"] + wifi["authentication_ms"] + wifi["association_ms"] + wifi[
            "eap_ms"]
        lead = fmip.get("lead_ms")
        if isinstance(lead, Mapping):
            kind = lead.get("distribution", "uniform")
            shape = (kind, lead.get("low_ms", 0.0) / 1000, lead.get("high_ms", 0.0) / 1000,
                     lead.get("mean_ms", 0.0) / 1000, lead.get("sd_ms", 0.0) / 1000)
        elif lead is None:
            shape = ("auto", 0.0, 0.0, 0.0, 0.0)
        else:
            shape = ("fixed", lead / 1000, lead / 1000, lead / 1000, 0.0)
        grid = movement["model"] != "ping_pong"
        return cls(
            w=link("wireless"), a=link("ar_map"), m=link("map_core"), h=link("core_ha"),
            c=link("core_cn"), x=link("ar_ar"), switch=switch / 1000,
            scan=channels_time / 1000, background_scan=wifi["background_scan"],
            movement=movement["model"], handovers=movement["handovers"],
            dwell=movement["dwell_s"], first_handover=movement["first_handover_s"],
            access_points=(movement["grid_columns"] * movement["grid_rows"] if grid
                           else movement["access_points"]),
            mobile_nodes=data["mobile_nodes"], interval=traffic["interval_ms"] / 1000,
            payload=traffic["payload_bytes"], start=traffic["start_s"],
            duration=data["duration_s"],
            dad=0.0 if address["optimistic_dad"] else address["dad_delay_ms"] / 1000,
            dhcp=bool(address.get("dhcpv6", False)),
            buffer_packets=fmip["buffer_packets"], lead=shape,
            max_ra_delay=routers.get("max_ra_delay_ms", 0.0) / 1000,
            ra_interval=routers.get("ra_interval_s", 3.0),
            agents=processing.get("agents_ms", 0.0) / 1000,
            mobile=processing.get("mobile_node_ms", 0.0) / 1000)

    @property
    def data(self) -> int:
        """One CBR packet: IPv6 and UDP headers and the payload."""
        return IPV6 + UDP + self.payload


def auto_lead(p: Params, protocol: str) -> float:
    """The shortest lead with which the anchor redirects before the radio leaves and the last
    packet it sent on the old path is received: FBU, HI and HAck (each handled by an agent),
    that packet's last leg."""
    data = p.data + TUNNEL
    handling = 3 * p.agents
    if protocol == "fhmipv6":
        return (p.w.time(FBU) + p.a.time(FBU) + p.a.time(HI) + p.a.time(HACK)
                + _path(data + TUNNEL, p.a, p.w) + handling)
    return p.w.time(FBU) + p.x.time(HI) + p.x.time(HACK) + p.w.time(data) + handling


def _lead_points(p: Params, protocol: str, auto: float | None) -> list[tuple[float, float]]:
    """(weight, lead) pairs integrating the lead's distribution."""
    kind, low, high, mean, sd = p.lead
    if kind == "auto":
        return [(1.0, auto if auto is not None else auto_lead(p, protocol))]
    if kind == "fixed" or (kind == "uniform" and high <= low) or (kind == "normal" and sd == 0):
        return [(1.0, low if kind != "normal" else mean)]
    if kind == "uniform":
        return [(1 / GRID, low + (high - low) * (k + 0.5) / GRID) for k in range(GRID)]
    # Normal, truncated to [max(0, mean - 4 sd), mean + 4 sd]: midpoints weighted by density.
    lo, hi = max(0.0, mean - 4 * sd), mean + 4 * sd
    points = [lo + (hi - lo) * (k + 0.5) / GRID for k in range(GRID)]
    weights = [math.exp(-((v - mean) / sd) ** 2 / 2) for v in points]
    total = math.fsum(weights)
    return [(wgt / total, v) for wgt, v in zip(weights, points, strict=True)]


# -- one handover --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What went wrong with the handover's signalling (counts of lost transmissions)."""

    una: int = 0  # UNAs lost before one arrived (MAX_NEIGHBOR_ADVERTISEMENT: none arrived)
    fbu: int = 0  # FBUs lost
    hi: int = 0  # HI or HAck transmissions lost
    solicitation: bool = False  # the RS or the RA answering it lost
    unsolicited: int = 0  # unsolicited RAs lost after that
    bu: int = 0  # BUs lost


@dataclass
class Timeline:
    """When the anchors redirect, and the NAR's buffering, for one handover."""

    t_s: float
    t_up: float
    #: The anchor that decides first between the old and the new path, and when it switches.
    redirect: float = math.inf
    #: The home agent's (or, under HMIPv6, the MAP's) own redirection by a BU, if later.
    registration: float = math.inf
    #: The NAR buffers packets for the NCoA arriving in [buffer_from, buffer_until).
    buffer_from: float = math.inf
    buffer_until: float = math.inf
    #: True when what the NAR buffered is discarded (no UNA arrived before PROXY_ND_LIFETIME).
    discard: bool = False
    phases: dict[str, float] = field(default_factory=dict)


class Model:
    """The model of one protocol on one scenario (module docstring)."""

    def __init__(self, params: Params, protocol: str, *, auto: float | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.p = params
        self.protocol = protocol
        self.auto = auto
        p = params
        data = p.data
        self.l2 = p.switch + (p.scan if not p.background_scan and protocol in (
            "mipv6", "hmipv6", "fmipv6-reactive") else 0.0)
        # Path times of a downlink packet to the anchor and from it (module docstring).
        cn_ha = _path(data, p.c, p.h)
        if protocol == "mipv6":
            self.to_anchor = cn_ha
            self.old = self.new = _path(data + TUNNEL, p.h, p.m, p.a, p.w)
            self.q_old = self.q_new = 1 - _delivered(p.c, p.h, p.m, p.a, p.w)
        elif protocol in ("hmipv6", "fhmipv6"):
            self.to_anchor = cn_ha + _path(data + TUNNEL, p.h, p.m)
            self.old = self.new = _path(data + 2 * TUNNEL, p.a, p.w)
            self.q_old = self.q_new = 1 - _delivered(p.c, p.h, p.m, p.a, p.w)
        else:  # the PAR anchors; the home agent's tunnel goes on to it
            self.to_anchor = cn_ha + _path(data + TUNNEL, p.h, p.m, p.a)
            self.old = p.w.time(data + TUNNEL)
            self.new = _path(data + 2 * TUNNEL, p.x, p.w)
            self.q_old = 1 - _delivered(p.c, p.h, p.m, p.a, p.w)
            self.q_new = 1 - _delivered(p.c, p.h, p.m, p.a, p.x, p.w)
        # Through the NAR: from the anchor to it, and from it to the node.
        self.to_nar = {"fmipv6": p.x.time(data + 2 * TUNNEL),
                       "fmipv6-reactive": p.x.time(data + 2 * TUNNEL),
                       "fhmipv6": p.a.time(data + 2 * TUNNEL)}.get(protocol, 0.0)
        size = data + 2 * TUNNEL if protocol in ("fmipv6", "fmipv6-reactive", "fhmipv6") else 0
        self.nar_to_mn = p.w.time(size) if size else 0.0
        self.nar_serial = size * 8 / p.w.rate if size else 0.0
        # After the home agent's redirection (FMIPv6 at a PAR): straight to the NCoA.
        self.direct = _path(data + TUNNEL, p.h, p.m, p.a)
        self.direct_last = p.w.time(data + TUNNEL)

    # -- the anchors' instants ------------------------------------------------------------------

    def timeline(self, t_s: float, lead: float, ra_delay: float, ra_phase: float,
                 outcome: Outcome) -> Timeline:
        """The redirections of the handover switching at ``t_s`` (module docstring)."""
        p, protocol = self.p, self.protocol
        t_up = t_s + self.l2
        line = Timeline(t_s=t_s, t_up=t_up, phases={"l2": self.l2 * 1000})
        if protocol in ("mipv6", "hmipv6"):
            detected = self._movement_detected(t_up, ra_delay, ra_phase, outcome)
            # RFC 4862 DAD, or on a DHCPv6-managed link (the RA's M flag) the two exchanges
            # of RFC 8415 §18 with the access router's server, which leases a unique address.
            configure = 2 * (p.w.time(DHCP_CLIENT) + p.w.time(DHCP_SERVER) + p.agents) \
                if p.dhcp else p.dad
            # The BU leaves once the node has configured the address.
            ready = detected + configure + p.mobile
            bu_path = _path(BU, p.w, p.a, p.m, p.h) if protocol == "mipv6" else _path(
                BU, p.w, p.a)
            # The agent redirects once it has handled the BU; the node handles the BA.
            line.redirect = ready + bu_path + p.agents + outcome.bu * INITIAL_BINDACK_TIMEOUT
            line.phases.update(movement_detection=(detected - t_up) * 1000,
                               address_configuration=configure * 1000,
                               registration=(2 * bu_path + p.agents + p.mobile) * 1000)
            return line
        fhmip = protocol == "fhmipv6"
        # The registration sent from the new link at t_up (adopting the NCoA, RFC 5568 §4).
        # At link-up the node configures the NCoA; what it sends then leaves after that.
        line.registration = t_up + p.mobile + (_path(BU, p.w, p.a) if fhmip
                                               else _path(BU, p.w, p.a, p.m, p.h)) + p.agents
        hop = p.a if fhmip else p.x
        hi_retry = sum(FMIP_DEFAULT_INITIAL_TIMEOUT * 2 ** k for k in range(outcome.hi))
        up_leg = p.w.time(FBU) + (p.a.time(FBU) if fhmip else 0.0)
        reactive = protocol == "fmipv6-reactive"
        sent = t_s - lead
        if not reactive and outcome.fbu:
            # A lost FBU goes again after its timeout while the node is still on the old link.
            retry = sent + FBU_INITIAL_TIMEOUT
            reactive = retry >= t_s or outcome.fbu > 1
            sent = retry
        if reactive:
            # From the new link (after the UNA); through the NAR to a PAR.
            sent = t_up + p.mobile + (FBU_INITIAL_TIMEOUT if protocol == "fmipv6-reactive"
                                      and outcome.fbu else 0.0)
            up_leg = p.w.time(FBU) + (p.a.time(FBU) if fhmip else p.x.time(FBU))
        # The anchor handles the FBU, the NAR the HI, the anchor the HAck; the node the FBack.
        hi_at_nar = sent + up_leg + hop.time(HI) + hi_retry + 2 * p.agents
        anchor = hi_at_nar + hop.time(HACK) + p.agents
        line.redirect = anchor
        line.phases.update(movement_detection=0.0, address_configuration=0.0,
                           fast_handover=(anchor + (p.a.time(HACK) + p.w.time(HACK) if fhmip
                                                    else p.w.time(HACK)) - (
                               t_up if reactive else t_s - lead)) * 1000)
        una_at = self._una(t_up, outcome)
        if not reactive and hi_at_nar < una_at:
            line.buffer_from = hi_at_nar
            if una_at == math.inf:
                line.buffer_until, line.discard = hi_at_nar + PROXY_ND_LIFETIME, True
            else:
                line.buffer_until = una_at
        if fhmip:
            # The local BU supersedes the fast binding: whichever redirects first.
            line.redirect = min(line.redirect, line.registration)
        return line

    def _una(self, t_up: float, outcome: Outcome) -> float:
        """When the NAR gets a UNA (inf: never), after ``outcome.una`` losses."""
        if outcome.una >= MAX_NEIGHBOR_ADVERTISEMENT:
            return math.inf
        return (t_up + self.p.mobile + outcome.una * self.una_spacing() + self.p.w.time(UNA)
                + self.p.agents)

    def una_spacing(self) -> float:
        """2 x the access round trip the node measured with RtSolPr/PrRtAdv (RFC 5568 §6.3,
        §6.1.1: the RFC's 2 x RTT)."""
        p = self.p
        neighbours = max(p.access_points - 1, 1)
        answer = PRRTADV + PRRTADV_PER_AP * neighbours + (
            MAP_OPTION if self.protocol == "fhmipv6" else 0)
        return FMIP_RTT_MULTIPLIER * (p.w.time(RTSOLPR) + p.w.time(answer))

    def _movement_detected(self, t_up: float, ra_delay: float, ra_phase: float,
                           outcome: Outcome) -> float:
        """When an RA showing the new prefix reaches the node (RFC 4861 §6.2.6, §6.3.7)."""
        p = self.p
        ra = RA + (MAP_OPTION if self.protocol == "hmipv6" else 0)
        period = p.ra_interval
        # Unsolicited RAs leave the router at ra_phase + k x period.
        first = ra_phase + math.ceil((t_up - ra_phase) / period - 1e-12) * period
        solicited_at = t_up + p.w.time(RS) + p.agents  # the router handles the RS
        answer = solicited_at + ra_delay
        if answer >= first:
            answer = first  # §6.2.6: the scheduled unsolicited RA answers
        if outcome.solicitation:
            answer = first if first > answer else first + period
        answer += outcome.unsolicited * period
        return answer + p.w.time(ra)

    # -- the packets -----------------------------------------------------------------------------

    def packets(self, line: Timeline, start: float, stop: float, first: int
                ) -> tuple[list[float], list[float], int]:
        """Old-link arrivals (latest first), new-link arrivals (earliest first) and packets
        lost, for the CBR packets around ``line``'s handover (``first`` = the first index
        to look at)."""
        old: list[float] = []
        new: list[float] = []
        held: list[float] = []
        lost = 0
        interval = self.p.interval
        settled = max(t for t in (line.redirect, line.registration, line.buffer_until,
                                  line.t_up) if t != math.inf) + 3 * interval
        k = first
        if self.protocol in ("mipv6", "hmipv6"):
            # The same loop with _fate's first branch inline (it runs some seventy times for
            # each of the thousands of handovers expected() averages over); nothing is held.
            to_anchor, to_old, to_new = self.to_anchor, self.old, self.new
            redirect, t_s, t_up = line.redirect, line.t_s, line.t_up
            before = redirect - self.p.agents
            while True:
                sent = start + k * interval
                if sent > stop:
                    break
                at_anchor = sent + to_anchor
                if at_anchor > settled and (new or at_anchor > settled + 60.0):
                    break
                k += 1
                if at_anchor < before:
                    when = at_anchor + to_old
                    if when < t_s:
                        old.append(when)
                    else:
                        lost += 1
                else:
                    when = max(at_anchor, redirect) + to_new
                    if when >= t_up:
                        new.append(when)
                    else:
                        lost += 1
            old.sort(reverse=True)
            new.sort()
            return old, new, lost
        while True:
            sent = start + k * interval
            if sent > stop:
                break
            at_anchor = sent + self.to_anchor
            if at_anchor > settled and (new or held or at_anchor > settled + 60.0):
                break
            k += 1
            fate, when = self._fate(at_anchor, line)
            if fate == "old":
                if when < line.t_s:
                    old.append(when)
                else:
                    lost += 1
            elif fate == "held":
                held.append(when)
            elif fate == "new":
                if when >= line.t_up:
                    new.append(when)
                else:
                    lost += 1
            else:
                lost += 1
        if held:
            if line.discard:
                lost += len(held)
            else:
                kept = held[:self.p.buffer_packets]
                lost += len(held) - len(kept)
                new += self._drain(line.buffer_until, len(kept))
        old.sort(reverse=True)
        new.sort()
        return old, new, lost

    def _fate(self, at_anchor: float, line: Timeline) -> tuple[str, float]:
        """Where one packet goes: ("old", arrival), ("new", arrival), ("held", at NAR)."""
        protocol = self.protocol
        # An agent handles one packet at a time: a packet that reaches the home agent or MAP
        # while it handles the message that redirects waits for it, and takes the new path.
        wait = self.p.agents
        if protocol in ("mipv6", "hmipv6"):
            if at_anchor < line.redirect - wait:
                return "old", at_anchor + self.old
            return "new", max(at_anchor, line.redirect) + self.new
        if protocol == "fhmipv6":
            if at_anchor < line.redirect - wait:
                return "old", at_anchor + self.old
            at_nar = max(at_anchor, line.redirect) + self.to_nar
        else:
            # The home agent's redirection (its BU arrives) bypasses the PAR.
            at_ha = at_anchor - self.direct
            if at_ha >= line.registration - wait:
                at_nar = max(at_ha, line.registration) + self.direct
                if line.buffer_from <= at_nar < line.buffer_until:
                    return "held", at_nar
                return "new", at_nar + self.direct_last
            if at_anchor < line.redirect:
                return "old", at_anchor + self.old
            at_nar = at_anchor + self.to_nar
        if line.buffer_from <= at_nar < line.buffer_until:
            return "held", at_nar
        return "new", at_nar + self.nar_to_mn

    def _drain(self, released: float, count: int) -> list[float]:
        """Arrivals of ``count`` buffered packets released at ``released`` (§5.4): a burst of
        BUFFER_BURST_PACKETS back to back, then one per packet interval."""
        times = []
        for slot in range(count):
            if slot < BUFFER_BURST_PACKETS:
                times.append(released + self.nar_to_mn + slot * self.nar_serial)
            else:
                times.append(released + self.nar_to_mn
                             + (slot - BUFFER_BURST_PACKETS + 1) * self.p.interval)
        return times

    # -- expectations -----------------------------------------------------------------------------

    def outcomes(self) -> Iterator[tuple[float, Outcome]]:
        """Signalling loss outcomes and their probabilities."""
        p, protocol = self.p, self.protocol
        air = p.w.loss
        if protocol in ("mipv6", "hmipv6"):
            bu_loss = 1 - (_delivered(p.w, p.a, p.m, p.h) if protocol == "mipv6"
                           else _delivered(p.w, p.a))
            solicit = 1 - (1 - air) ** 2
            for sol in (False, True):
                p_sol = solicit if sol else 1 - solicit
                for extra in range(3 if sol else 1):
                    p_extra = (air ** extra * (1 - air)) if sol else 1.0
                    for bu in range(3):
                        p_bu = bu_loss ** bu * (1 - bu_loss)
                        weight = p_sol * p_extra * p_bu
                        if weight > NEGLIGIBLE or (not sol and bu == 0):
                            yield weight, Outcome(solicitation=sol, unsolicited=extra, bu=bu)
            return
        hop = p.a if protocol == "fhmipv6" else p.x
        hi_loss = 1 - (1 - hop.loss) ** 2
        fbu_loss = 1 - (_delivered(p.w, p.a) if protocol == "fhmipv6" else (
            _delivered(p.w, p.x) if protocol == "fmipv6-reactive" else _delivered(p.w)))
        una_counts = range(MAX_NEIGHBOR_ADVERTISEMENT + 1) if protocol in _PREDICTIVE else (0,)
        for una in una_counts:
            p_una = air ** una * ((1 - air) if una < MAX_NEIGHBOR_ADVERTISEMENT else 1.0)
            for fbu in range(3):
                p_fbu = fbu_loss ** fbu * (1 - fbu_loss)
                for hi in range(3):
                    p_hi = hi_loss ** hi * (1 - hi_loss)
                    weight = p_una * p_fbu * p_hi
                    if weight > NEGLIGIBLE or (una == fbu == hi == 0):
                        yield weight, Outcome(una=una, fbu=fbu, hi=hi)

    def handover(self, t_s: float, start: float, stop: float, *, ra_phase: float | None = None
                 ) -> tuple[float | None, float, dict[str, float]]:
        """Expected (disruption s, packets lost, phases ms) of the handover switching at
        ``t_s`` for a CBR flow sent from ``start`` to ``stop``; ``ra_phase``: the routers'
        unsolicited RAs leave at ``ra_phase + k x ra_interval`` (default 0: from their
        start at time 0)."""
        p = self.p
        leads = _lead_points(p, self.protocol, self.auto) if self.protocol in _PREDICTIVE \
            else [(1.0, 0.0)]
        delays = ([(1.0, 0.0)] if p.max_ra_delay <= 0 or self.protocol not in (
            "mipv6", "hmipv6") else [(1 / GRID, p.max_ra_delay * (k + 0.5) / GRID)
                                     for k in range(GRID)])
        phase = 0.0 if ra_phase is None else ra_phase
        first = max(0, math.floor((t_s - 1.0 - self.to_anchor - start) / p.interval))
        total_weight = disruption = lost = 0.0
        phases: dict[str, float] = {}
        for w_out, outcome in self.outcomes():
            for w_lead, lead in leads:
                for w_delay, delay in delays:
                    weight = w_out * w_lead * w_delay
                    line = self.timeline(t_s, lead, delay, phase, outcome)
                    old, new, gone = self.packets(line, start, stop, first)
                    expected = self._expected_gap(old, new)
                    if expected is None:
                        continue
                    total_weight += weight
                    disruption += weight * expected
                    lost += weight * gone
                    for name, value in line.phases.items():
                        phases[name] = phases.get(name, 0.0) + weight * value
        if total_weight == 0:
            return None, 0.0, {}
        return (disruption / total_weight, lost / total_weight,
                {k: v / total_weight for k, v in phases.items()})

    def _expected_gap(self, old: list[float], new: list[float]) -> float | None:
        """E[first new - last old] when each data packet is lost independently (q_old, q_new):
        the k-th candidate on either side is the one measured with probability q^k (1-q)."""
        if not old or not new:
            return None
        return _geometric(new, self.q_new) - _geometric(old, self.q_old)


def _geometric(values: list[float], q: float) -> float:
    """Expectation of the first surviving entry of ``values`` (each lost with ``q``)."""
    if q <= 0:
        return values[0]
    total = weight = 0.0
    survive = 1.0
    for value in values:
        total += survive * (1 - q) * value
        weight += survive * (1 - q)
        survive *= q
    return total / weight


# -- the scenario -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """The model's expectation for one protocol on one scenario.

    ``disruption_ms``: mean over handovers; ``packets_lost``: expected total over the run
    (ping-pong), or per handover when handovers are random, including the flow's random
    losses on lossy links; ``packets_lost_per_handover``: the handovers' own losses, per
    handover; ``loss_ratio``: the probability that a data packet is lost on its way outside
    handovers (lossy links); ``phases_ms``: the model's phase durations (means).
    """

    disruption_ms: float | None
    packets_lost: float
    packets_lost_per_handover: float | None = None
    handovers: int | None = None
    loss_ratio: float = 0.0
    phases_ms: dict[str, float] = field(default_factory=dict)


def switch_times(p: Params) -> list[float]:
    """Ping-pong: every mobile node's handover instants (node k starts k / n of a dwell later,
    as the scenario defines them)."""
    times = []
    for index in range(p.mobile_nodes):
        offset = index * p.dwell / p.mobile_nodes if p.mobile_nodes > 1 else 0.0
        times += [p.first_handover + offset + k * p.dwell for k in range(p.handovers)]
    return times


def sent_per_flow(p: Params) -> int:
    """Packets of one CBR flow: from ``start`` every interval while not past the end."""
    return math.floor((p.duration - p.start) / p.interval + 1e-9) + 1


def expected(scenario: Mapping[str, Any], protocol: str) -> Estimate:
    """The model's disruption and loss for ``protocol`` on ``scenario`` (a mapping with the
    keys of ``scenario_to_dict``; module docstring)."""
    p = Params.from_mapping(scenario)
    auto = None
    lead = scenario.get("lead", {}).get(protocol) if protocol in _PREDICTIVE else None
    if p.lead[0] == "auto" and lead is not None:
        auto = lead["mean_ms"] / 1000  # "auto": the scenario states the lead it derived
    model = Model(p, protocol, auto=auto)
    stop = p.start + (sent_per_flow(p) - 1) * p.interval
    results: list[tuple[float | None, float, dict[str, float]]] = []
    if p.movement == "ping_pong":
        for t_s in switch_times(p):
            results.append(model.handover(t_s, p.start, stop))
    else:
        # Random instants: average over the CBR phase and the unsolicited RAs' phase.
        base = p.start + 10.0
        ra_phases = [p.ra_interval * (k + 0.5) / RA_PHASES for k in range(RA_PHASES)] if (
            protocol in ("mipv6", "hmipv6")) else [0.0]
        for k in range(PHASES):
            t_s = base + p.interval * k / PHASES
            for ra_phase in ra_phases:
                results.append(model.handover(t_s, p.start, math.inf, ra_phase=ra_phase))
    measured = [r for r in results if r[0] is not None]
    if not measured:
        return Estimate(disruption_ms=None, packets_lost=0.0)
    disruption = math.fsum(r[0] for r in measured if r[0] is not None) / len(measured)
    per_handover = math.fsum(r[1] for r in results) / len(results)
    phases: dict[str, float] = {}
    for _d, _l, ph in measured:
        for name, value in ph.items():
            phases[name] = phases.get(name, 0.0) + value / len(measured)
    # The flow's own random losses on lossy links, beyond what the handovers lose.
    q = model.q_new
    lost = per_handover
    if p.movement == "ping_pong":
        handover_lost = per_handover * len(results)
        lost = handover_lost + q * (p.mobile_nodes * sent_per_flow(p) - handover_lost)
    return Estimate(disruption_ms=disruption * 1000, packets_lost=lost,
                    packets_lost_per_handover=per_handover,
                    handovers=len(results) if p.movement == "ping_pong" else None,
                    loss_ratio=q, phases_ms=phases)


__all__ = ["PROTOCOLS", "Estimate", "Link", "Model", "Outcome", "Params", "auto_lead",
           "expected", "sent_per_flow", "switch_times"]
