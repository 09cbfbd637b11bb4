"""The analytic model: expected disruption and loss of each protocol from a scenario's numbers.

Independent of the simulator (no entity runs here): it follows each downlink CBR packet along
the paths the scenario's topology implies and asks, packet by packet, whether it reaches the
mobile node over the old link, is lost, or comes over the new one, given the instant at which
the protocol's **anchor** redirects traffic. Delays are propagation plus store-and-forward
serialization per hop (:meth:`~.scenario.LinkParams.one_way`); data packets are the CBR packet
plus 40 bytes per IPv6-in-IPv6 tunnel (RFC 2473), signalling packets
:data:`~.scenario.SIGNAL_BYTES`.

Notation, for a handover whose link switch starts at ``t_s``: ``L2`` the radio outage (steps 2-5
of RFC 4260 §4, plus the scan when it is not done in the background and the protocol does not
anticipate), ``t_up = t_s + L2``; ``w``, ``a``, ``m``, ``h``, ``x`` the one-way times of the
wireless, AR-MAP, MAP-core, core-HA and AR-AR links.

* **MIPv6** (RFC 6275 §11.5, §11.7): after link-up the node solicits a Router Advertisement
  (movement detection, ``MD = 2w``, RFC 4861 §6.3.7), forms a care-of address and waits for
  DAD (``AC`` = RetransTimer x DupAddrDetectTransmits, RFC 4862 §5.4; 0 with optimistic DAD,
  RFC 4429; on DHCPv6 links the two exchanges with the access router, ``AC = 4w``, RFC 8415
  §18), then sends the BU; the home agent redirects at
  ``T = t_up + MD + AC + (w + a + m + h)``; the registration round trip is the MN-HA RTT.
* **HMIPv6** (RFC 5380 §6.1): the same up to the BU, which goes to the MAP only (the RCoA does
  not change inside the domain): ``T = t_up + MD + AC + (w + a)``; registration = MN-MAP RTT.
* **Predictive FMIPv6** (RFC 5568 §3.2, RFC 4260 §7.1): the FBU leaves the old link at
  LinkGoingDown, ``lead`` before ``t_s``; the PAR starts tunnelling to the NCoA when the HAck
  arrives: ``T = t_s - lead + w + 2x``. Packets tunnelled before link-up wait in the NAR's buffer
  and are flushed when the UNA arrives (``t_up + w``), reaching the node at ``t_up + 2w``: the
  disruption is at most ``L2 + MN-NAR RTT`` plus the CBR gap before the last packet on the old
  link (at most one interval). Nothing is lost as long as ``T + w <= t_s`` (the lead is long
  enough) and the buffer holds what arrives.
* **Reactive FMIPv6** (RFC 5568 §3.2 case 2, RFC 4260 §7.2): at link-up the UNA and the FBU
  leave from the NCoA; the FBU reaches the PAR through the NAR (``w + x``), HI and HAck follow
  (``2x``): ``T = t_up + w + 3x``. Packets reaching the PAR between the radio leaving and ``T``
  are lost (they were sent during the switch and the FBU exchange); later ones are tunnelled to
  the NCoA and forwarded at once.
* **F-HMIPv6** (fast handover anchored at the MAP, RFC 4140 Appendix A): as predictive
  FMIPv6 with the MAP as the anchor: the FBU goes to the MAP (``w + a``), HI and HAck run
  between the MAP and the NAR (``2a``): ``T = t_s - lead + w + 3a``; the MAP then tunnels the
  RCoA's packets to the NCoA, which the NAR buffers until the UNA.

A packet reaching the anchor before ``T`` follows the old path and is received iff it reaches
the node before ``t_s``; one reaching it at or after ``T`` follows the new path. The disruption
is the arrival of the first packet on the new link minus that of the last on the old one; the
loss counts the packets that took the old path too late (and buffer overflow). For ping-pong
movement the model uses the scenario's exact CBR and handover times (so the packet phase is
that of the simulation); for random movement it averages over :data:`PHASES` uniformly spaced
phases of the CBR relative to the handover. Not modelled: losses on lossy links, queueing behind
other mobile nodes, AP power-save buffering, the pre-handover scan outage of predictive FMIPv6
without background scanning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .scenario import (
    SIGNAL_BYTES,
    TUNNEL_HEADER,
    LinkParams,
    Scenario,
    handover_schedule,
    lead_time,
    path_one_way,
)

#: CBR phases averaged over when the handover times are not known in advance.
PHASES = 20
#: Packets of a NAR's buffer sent back to back before pacing (RFC 5568 §5.4; fmip_buffer).
BURST = 5


@dataclass(frozen=True, kw_only=True)
class AnalyticEstimate:
    """The model's expectation for one protocol on one scenario.

    ``disruption_ms``: mean over handovers; ``packets_lost``: total over the scenario's
    handovers (ping-pong), or the per-handover expectation when the handovers are random;
    ``packets_lost_per_handover``; ``redirect_ms``: mean time from the start of the switch to
    the anchor's redirection; ``phases_ms``: the model's phase durations.
    """

    disruption_ms: float | None
    packets_lost: float
    packets_lost_per_handover: float | None = None
    handovers: int | None = None
    redirect_ms: float | None = None
    phases_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Paths:
    """Per-protocol path times (seconds) of a downlink packet."""

    to_anchor: float  # CN -> anchor
    anchor_to_mn_old: float  # anchor -> node over the old link
    anchor_to_mn_new: float  # anchor -> node over the new link (not FMIPv6)
    anchor_to_nar: float  # FMIPv6: PAR -> NAR through the tunnel
    nar_to_mn: float  # FMIPv6: NAR -> node (tunnelled packet)
    nar_serialization: float  # FMIPv6: one tunnelled packet on the air


def _paths(scenario: Scenario, protocol: str) -> _Paths:
    links, size = scenario.links, scenario.traffic.packet_bytes
    t = TUNNEL_HEADER
    cn_ha = path_one_way((links.core_cn, links.core_ha), size)
    if protocol == "mipv6":
        tail = path_one_way((links.core_ha, links.map_core, links.ar_map, links.wireless),
                            size + t)
        return _Paths(cn_ha, tail, tail, 0.0, 0.0, 0.0)
    if protocol == "hmipv6":
        to_map = cn_ha + path_one_way((links.core_ha, links.map_core), size + t)
        tail = path_one_way((links.ar_map, links.wireless), size + 2 * t)
        return _Paths(to_map, tail, tail, 0.0, 0.0, 0.0)
    if protocol == "fhmipv6":
        # The MAP is the anchor: MAP -> NCoA replaces MAP -> LCoA (same size).
        to_map = cn_ha + path_one_way((links.core_ha, links.map_core), size + t)
        old = path_one_way((links.ar_map, links.wireless), size + 2 * t)
        return _Paths(to_map, old, old, links.ar_map.one_way(size + 2 * t),
                      links.wireless.one_way(size + 2 * t),
                      links.wireless.serialization(size + 2 * t))
    to_par = cn_ha + path_one_way((links.core_ha, links.map_core, links.ar_map), size + t)
    old = links.wireless.one_way(size + t)
    forwarded = size + 2 * t  # HA tunnel + the PAR -> NCoA tunnel
    return _Paths(to_par, old, old, links.ar_ar.one_way(forwarded),
                  links.wireless.one_way(forwarded), links.wireless.serialization(forwarded))


def l2_outage(scenario: Scenario, protocol: str) -> float:
    """The radio outage of one handoff (seconds): steps 2-5, plus the scan when it is neither
    done in the background nor before an anticipated (predictive) handover."""
    wifi = scenario.wifi
    outage = wifi.switch_ms / 1000
    if not wifi.background_scan and protocol in ("mipv6", "hmipv6", "fmipv6-reactive"):
        outage += wifi.scan_ms / 1000
    return outage


def _redirect(scenario: Scenario, protocol: str, switch: float) -> tuple[float, dict[str, float]]:
    """When the anchor redirects (absolute time) and the model's phases (ms)."""
    links = scenario.links
    w, a, m, h, x = (links.wireless, links.ar_map, links.map_core, links.core_ha, links.ar_ar)

    def one(*hops: LinkParams) -> float:
        return path_one_way(hops, SIGNAL_BYTES)

    l2 = l2_outage(scenario, protocol)
    up = switch + l2
    phases = {"l2": l2 * 1000}
    if protocol in ("mipv6", "hmipv6"):
        md = 2 * one(w)
        ac = 0.0 if scenario.address.optimistic_dad else scenario.address.dad_delay_ms / 1000
        if scenario.address.dhcpv6:
            # RFC 8415 §18: Solicit/Advertise and Request/Reply with the access router.
            ac = 4 * one(w)
        to_anchor = one(w, a, m, h) if protocol == "mipv6" else one(w, a)
        registration = 2 * to_anchor
        phases.update(movement_detection=md * 1000, address_configuration=ac * 1000,
                      registration=registration * 1000)
        return up + md + ac + to_anchor, phases
    if protocol == "fmipv6-reactive":
        fast = one(w) + 3 * one(x)
        phases.update(movement_detection=0.0, address_configuration=0.0,
                      fast_handover=(fast + one(x) + one(w)) * 1000)
        return up + fast, phases
    lead = lead_time(scenario, protocol)
    fast = one(w, a) + 2 * one(a) if protocol == "fhmipv6" else one(w) + 2 * one(x)
    phases.update(movement_detection=0.0, address_configuration=0.0,
                  fast_handover=(fast + (one(a, w) if protocol == "fhmipv6" else one(w)))
                  * 1000)
    return switch - lead + fast, phases


def _one_handover(scenario: Scenario, protocol: str, switch: float, start: float,
                  stop: float) -> tuple[float | None, int, float]:
    """(disruption s, packets lost, redirect time - switch) of one handover at ``switch``."""
    interval = scenario.traffic.interval_ms / 1000
    paths = _paths(scenario, protocol)
    redirect, _phases = _redirect(scenario, protocol, switch)
    up = switch + l2_outage(scenario, protocol)
    fmip = protocol in ("fmipv6", "fmipv6-reactive", "fhmipv6")
    predictive = protocol in ("fmipv6", "fhmipv6")
    una = up + path_one_way((scenario.links.wireless,), SIGNAL_BYTES)
    first_n = max(0, math.ceil((switch - 2.0 - paths.to_anchor - start) / interval))
    last_old: float | None = None
    first_new: float | None = None
    lost = 0
    buffered = 0
    n = first_n
    while True:
        sent = start + n * interval
        if sent > stop:
            break
        at_anchor = sent + paths.to_anchor
        if at_anchor >= redirect + 2 * interval and first_new is not None:
            break
        n += 1
        if at_anchor < redirect:
            arrival = at_anchor + paths.anchor_to_mn_old
            if arrival < switch:
                last_old = arrival if last_old is None else max(last_old, arrival)
            else:
                lost += 1
            continue
        if not fmip:
            arrival = at_anchor + paths.anchor_to_mn_new
        else:
            at_nar = at_anchor + paths.anchor_to_nar
            if predictive and at_nar < una:
                if buffered >= scenario.fmipv6.buffer_packets:
                    lost += 1
                    continue
                # Flushed when the UNA arrives: a burst, then paced at the arrival interval.
                slot = buffered
                buffered += 1
                if slot < BURST:
                    arrival = una + paths.nar_to_mn + slot * paths.nar_serialization
                else:
                    arrival = una + paths.nar_to_mn + (slot - BURST + 1) * interval
            else:
                arrival = at_nar + paths.nar_to_mn
        first_new = arrival if first_new is None else min(first_new, arrival)
    disruption = None
    if last_old is not None and first_new is not None:
        disruption = first_new - last_old
    return disruption, lost, redirect - switch


def expected(scenario: Scenario, protocol: str) -> AnalyticEstimate:
    """The model's disruption and loss for ``protocol`` on ``scenario`` (module docstring)."""
    t = scenario.traffic
    interval = t.interval_ms / 1000
    if scenario.movement.model == "ping_pong":
        switches = [s for i in range(scenario.mobile_nodes)
                    for s in handover_schedule(scenario, i)]
        stop = scenario.duration
        start_of = [t.start_s] * len(switches)
    else:
        base = t.start_s + 10.0
        switches = [base + k * interval / PHASES for k in range(PHASES)]
        stop = math.inf
        start_of = [t.start_s] * len(switches)
    results = [_one_handover(scenario, protocol, s, start, stop)
               for s, start in zip(switches, start_of, strict=True)]
    disruptions = [d for d, _l, _r in results if d is not None]
    lost = sum(lost for _d, lost, _r in results)
    per = lost / len(results) if results else None
    _redirect_at, phases = _redirect(scenario, protocol, 0.0)
    return AnalyticEstimate(
        disruption_ms=(math.fsum(disruptions) / len(disruptions) * 1000) if disruptions else None,
        packets_lost=float(lost) if scenario.movement.model == "ping_pong" else (per or 0.0),
        packets_lost_per_handover=per,
        handovers=len(results) if scenario.movement.model == "ping_pong" else None,
        redirect_ms=math.fsum(r for _d, _l, r in results) / len(results) * 1000
        if results else None,
        phases_ms=phases,
    )


__all__ = ["AnalyticEstimate", "expected", "l2_outage"]
