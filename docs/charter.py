"""Regenerate every table of the charter documents from mipshop runs.

The documents ``docs/security.md``, ``docs/lmm-requirements.md`` and ``docs/fmipv6-80211.md``
quote this script's output verbatim: each table sits between ``<!-- charter:NAME -->`` and
``<!-- /charter:NAME -->``, and its first line says how it was produced.

- The simulator tables run the scenario files of ``examples/`` through
  :func:`mipshop.sim.compare.run_protocol`, the function behind ``mipshop simulate`` (the same
  file and seed give the same figures, byte for byte, as ``mipshop simulate FILE --seed S
  --json OUT``); a table that varies a scenario key gives it in the dotted form
  ``mipshop sweep`` takes (``links.wireless.loss``, ``fmipv6.lead_ms``, ...).
- The signalling and location-privacy tables read the per-link captures those runs write
  (``--pcap``) with the wire layer, and check that the per-link counts add up to the
  simulator's own signalling figure.
- The flood and capacity tables run ``bench/flood.py --json`` and ``bench/agent.py --json``
  and print the load average they ran under.

Usage::

    python docs/charter.py                      # print every table
    python docs/charter.py --only lmm-disruption,wifi-lead
    python docs/charter.py --write              # replace the blocks in the three documents
    python docs/charter.py --quick              # small runs (the test's configuration)

A table name that does not exist, or ``--write`` with ``--quick`` (quick figures must never
replace the documents'), exits with status 2 and one line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from mipshop.measure import message_type, signalling_load
from mipshop.protocol.base.addressing import interface_identifier_from_mac
from mipshop.sim.compare import AR_AGGREGATE, ProtocolResult, mn_mac, run_protocol
from mipshop.sim.scenario import Scenario, round_trips_ms, scenario_from_dict
from mipshop.wire.pcap import read_pcap

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOCS = {"security": ROOT / "docs" / "security.md",
        "lmm": ROOT / "docs" / "lmm-requirements.md",
        "80211": ROOT / "docs" / "fmipv6-80211.md"}
#: RFC 4831 §3.1: the whole handover, layer 2 and IP, within 40-70 ms for voice.
VOICE_BUDGET_MS = 70.0
#: The reference topology's links, by where they are: the radio, the wired part of the MAP
#: domain (access routers to the MAP, access router to access router), and beyond the MAP.
RADIO = "radio"
INSIDE = "inside the domain (wired)"
OUTSIDE = "outside the domain"
ALL_PROTOCOLS = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
#: The RFC 4260 §7 scenario each protocol runs at the station (mipshop.sim.wifi.Scenario).
RFC4260 = {"mipv6": "123456abcdefg (no FMIPv6)", "hmipv6": "123456abcdefg (no FMIPv6)",
           "fmipv6": "1abcdef23456g predictive", "fhmipv6": "1abcdef23456g predictive",
           "fmipv6-reactive": "ab123456cdefg reactive"}


@dataclass(frozen=True)
class Config:
    """How big the runs are: the documents' figures, or the test's quick ones."""

    quick: bool

    def seeds(self, n: int) -> tuple[int, ...]:
        """Seeds 1..n, or only seed 1 when quick."""
        return (1,) if self.quick else tuple(range(1, n + 1))

    def grid(self, values: Sequence[Any]) -> list[Any]:
        """Every value, or the first and the last when quick."""
        return [values[0], values[-1]] if self.quick else list(values)

    def handovers(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Quick runs make two handovers (the figures' definitions are unchanged)."""
        return {**overrides, "movement.handovers": 2} if self.quick else overrides


# -- running the simulator -----------------------------------------------------------------


def scenario(base: str, overrides: dict[str, Any]) -> Scenario:
    """``examples/<base>`` with the dotted ``overrides`` set, as ``mipshop sweep`` sets them."""
    data = tomllib.loads((EXAMPLES / base).read_text())
    for dotted, value in overrides.items():
        table = data
        *path, last = dotted.split(".")
        for key in path:
            table = table.setdefault(key, {})
        table[last] = value
    return scenario_from_dict(data)


_RUNS: dict[tuple[Any, ...], ProtocolResult] = {}


def run(base: str, overrides: dict[str, Any], protocol: str, seed: int) -> ProtocolResult:
    """One protocol on one scenario and seed (remembered: tables share runs)."""
    key = (base, tuple(sorted(overrides.items(), key=lambda kv: kv[0])), protocol, seed)
    if key not in _RUNS:
        _RUNS[key] = run_protocol(scenario(base, overrides), protocol, seed=seed)
    return _RUNS[key]


@dataclass
class Pooled:
    """One protocol's figures pooled over seeds: every handover of every run counts once."""

    handovers: int = 0
    disruptions: list[float] | None = None
    sent: int = 0
    lost: int = 0
    up_sent: int = 0
    up_lost: int = 0
    up_disruption_sum: float = 0.0
    up_count: int = 0
    buffered: int = 0
    l2_sum: float = 0.0

    def add(self, result: ProtocolResult) -> None:
        """Add one run (its handovers' disruptions from the traced node's windows, which are
        every handover when a scenario has one mobile node; checked against the mean)."""
        windows = [w for w in result.disruption_windows if w is not None]
        ms = [(end - start) * 1000.0 for start, end in windows]
        mean = result.disruption_ms.get("mean")
        if ms and mean is not None and not math.isclose(sum(ms) / len(ms), mean,
                                                         rel_tol=1e-9, abs_tol=1e-6):
            raise RuntimeError(f"{result.protocol}: the per-handover windows do not give the "
                               f"run's mean disruption ({sum(ms) / len(ms)} != {mean})")
        self.disruptions = (self.disruptions or []) + ms
        self.handovers += result.handovers
        self.sent += result.packets_sent
        self.lost += result.packets_lost
        self.buffered += result.packets_buffered
        self.up_sent += int(result.uplink.get("sent", 0))
        self.up_lost += int(result.uplink.get("lost", 0))
        up_mean = result.uplink.get("disruption_ms", {}).get("mean")
        if up_mean is not None:
            self.up_disruption_sum += up_mean
            self.up_count += 1
        l2 = result.phases_ms.get("l2")
        if l2 is not None:
            self.l2_sum += l2 * result.handovers

    @property
    def mean(self) -> float | None:
        """Mean disruption over every handover, ms."""
        d = self.disruptions or []
        return sum(d) / len(d) if d else None

    @property
    def max(self) -> float | None:
        """Largest disruption, ms."""
        return max(self.disruptions) if self.disruptions else None

    def within(self, budget: float) -> str:
        """How many handovers stayed within ``budget`` ms, as "k/n"."""
        d = self.disruptions or []
        return f"{sum(1 for x in d if x <= budget)}/{len(d)}"

    @property
    def up_mean(self) -> float | None:
        """Mean of the runs' mean uplink disruptions, ms."""
        return self.up_disruption_sum / self.up_count if self.up_count else None

    @property
    def l2(self) -> float | None:
        """Mean radio outage (LinkDown to LinkUp), ms."""
        return self.l2_sum / self.handovers if self.handovers else None


def pooled(base: str, overrides: dict[str, Any], protocol: str,
           seeds: Sequence[int]) -> Pooled:
    """``protocol`` over ``seeds``, pooled."""
    out = Pooled()
    for seed in seeds:
        out.add(run(base, overrides, protocol, seed))
    return out


def ms(value: float | None) -> str:
    """A duration in ms with one decimal, or "-"."""
    return "-" if value is None else f"{value:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def seeds_text(seeds: Sequence[int]) -> str:
    """"seed 1" or "seeds 1-5"."""
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"


def settings(overrides: dict[str, Any]) -> str:
    """The dotted keys a table sets, for its caption."""
    return ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in overrides.items()) or "nothing"


# -- localized mobility management (RFC 4830, RFC 4831) ------------------------------------------

TUNED = {"routers.max_ra_delay_ms": 0.0, "address.optimistic_dad": True}


def lmm_disruption(cfg: Config) -> list[str]:
    """Disruption and loss of every protocol on the reference scenario against 70 ms, with
    RFC 4861 routers and DAD, and with routers that answer at once and optimistic DAD."""
    seeds = cfg.seeds(5)
    rows = []
    conditions = (("RFC 4861 RA delay, DAD 1 s", {}), ("RA at once, optimistic DAD", TUNED))
    for label, extra in conditions:
        overrides = cfg.handovers(extra)
        for protocol in ALL_PROTOCOLS:
            p = pooled("reference.toml", overrides, protocol, seeds)
            rows.append((label, protocol, p.handovers, ms(p.mean), ms(p.max),
                         p.within(VOICE_BUDGET_MS), f"{p.lost}/{p.sent}", ms(p.up_mean),
                         f"{p.up_lost}/{p.up_sent}", p.buffered))
    caption = (f"`python docs/charter.py --only lmm-disruption`: `examples/reference.toml`, "
               f"{seeds_text(seeds)} pooled (each run is `mipshop compare --seed S`); the second "
               f"condition sets {settings(TUNED)}.")
    header = (
        "routers and DAD", "protocol", "handovers", "disruption mean ms", "max ms",
        f"within {VOICE_BUDGET_MS:.0f} ms", "downlink lost", "uplink disruption mean ms",
        "uplink lost", "buffered")
    return [caption, "", *table(header, rows)]


def lmm_campus(cfg: Config) -> list[str]:
    """RFC 4830 §3.1's large campus: many nodes, random movement, every handover of every
    node (the run's own distribution: the per-handover windows are only the first node's)."""
    overrides = {"mobile_nodes": 5} if cfg.quick else {}
    rows = []
    for protocol in ALL_PROTOCOLS:
        r = run("campus-random-waypoint.toml", overrides, protocol, 1)
        d = r.disruption_ms
        rows.append((protocol, r.handovers, ms(d.get("mean")), ms(d.get("p95")),
                     ms(d.get("max")), f"{r.packets_lost}/{r.packets_sent}",
                     f"{r.uplink.get('lost', 0)}/{r.uplink.get('sent', 0)}",
                     f"{r.signalling['messages_per_handover']:.1f} / "
                     f"{r.signalling['bytes_per_handover']:.0f}"))
    caption = ("`python docs/charter.py --only lmm-campus`: `mipshop simulate "
               "examples/campus-random-waypoint.toml` (seed 1: 100 nodes in random waypoint over "
               "16 cells of 30 m, one access router each under one MAP, optimistic DAD, RFC 4861 "
               "RA delay, a call on every node).")
    header = ("protocol", "handovers", "disruption mean ms", "p95 ms", "max ms", "downlink lost",
              "uplink lost", "signalling link crossings / bytes per handover")
    return [caption, "", *table(header, rows)]


def _region(link: str) -> str:
    if link.startswith("bss"):
        return RADIO
    if link.endswith("-map") or ("-" in link and all(p.startswith("ar") for p in link.split("-"))):
        return INSIDE
    return OUTSIDE


_ALL_NODES = IPv6Address("ff02::1").packed


_CAPTURES: dict[tuple[bool, str], tuple[ProtocolResult, list[Any], Scenario]] = {}


def captured(cfg: Config, protocol: str) -> tuple[ProtocolResult, list[Any], Scenario]:
    """The reference run of ``protocol`` (seed 1) with its per-link capture, read back."""
    key = (cfg.quick, protocol)
    if key not in _CAPTURES:
        overrides = cfg.handovers({})
        with tempfile.TemporaryDirectory(prefix="charter-") as tmp:
            path = Path(tmp) / f"{protocol}.pcapng"
            result = run_protocol(scenario("reference.toml", overrides), protocol, seed=1,
                                  capture=path)
            packets = read_pcap(path)
        _CAPTURES[key] = (result, packets, scenario("reference.toml", overrides))
    return _CAPTURES[key]


def _signalling_records(packets: list[Any], since: float) -> list[tuple[float, str, bytes]]:
    # The simulator's own count (mipshop.sim.compare): from the start of the traffic, without
    # the periodic multicast Router Advertisements no handover causes.
    return [(p.timestamp, p.interface or "", p.data) for p in packets
            if p.timestamp >= since and not (
                p.data[6] == 58 and p.data[24:40] == _ALL_NODES and p.data[40] == 134)]


def lmm_signalling(cfg: Config) -> list[str]:
    """Signalling per handover on the radio, inside the MAP domain and outside it, and what
    the mobile node itself sends over the air (RFC 4831 §3.2, §3.4; RFC 4830 §2 problem 2)."""
    rows = []
    for protocol in ALL_PROTOCOLS:
        result, packets, scen = captured(cfg, protocol)
        records = _signalling_records(packets, scen.traffic.start_s)
        links = sorted({link for _t, link, _d in records})
        per = max(result.handovers, 1)
        cells: list[str] = []
        total_messages = total_bytes = 0
        for region in (RADIO, INSIDE, OUTSIDE):
            counts = signalling_load(records, links=[lk for lk in links if _region(lk) == region])
            m = sum(c.messages for c in counts.values())
            b = sum(c.bytes for c in counts.values())
            total_messages += m
            total_bytes += b
            cells.append(f"{m / per:.1f} / {b / per:.0f}")
        expected = result.signalling["messages_per_handover"] * per
        if total_messages != round(expected):
            raise RuntimeError(f"{protocol}: captured signalling {total_messages} != the "
                               f"simulator's {expected}")
        iid = interface_identifier_from_mac(mn_mac(0))
        own = [r for r in records if _region(r[1]) == RADIO and (
            int.from_bytes(r[2][8:24], "big") & ((1 << 64) - 1) == iid
            or r[2][8:24] == bytes(16))]
        mine = signalling_load(own)
        sent_m = sum(c.messages for c in mine.values())
        sent_b = sum(c.bytes for c in mine.values())
        kinds = ", ".join(f"{name} {c.messages / per:g}" for name, c in mine.items())
        rows.append((protocol, *cells, f"{total_messages / per:.1f} / {total_bytes / per:.0f}",
                     f"{sent_m / per:.1f} / {sent_b / per:.0f}", kinds))
    caption = ("`python docs/charter.py --only lmm-signalling`: `examples/reference.toml`, seed "
               "1, captured per link (`mipshop compare --pcap DIR`); link crossings / bytes per "
               "handover, every Mobility Header and ICMPv6 message from the start of the "
               "traffic, periodic multicast RAs left out; the total is the simulator's "
               "`signalling` figure (checked).")
    header = (
        "protocol", "radio", INSIDE, OUTSIDE, "total", "sent by the mobile node",
        "mobile node's messages per handover")
    return [caption, "", *table(header, rows)]


def lmm_privacy(cfg: Config) -> list[str]:
    """What is seen of the mobile node's location beyond the MAP: access-router prefixes (any
    octets of the access routers' /48, in any header or option) in packets on the links to the
    home agent and to the correspondent (RFC 4831 §3.3; RFC 4830 §2 problem 3; RFC 5380
    §6.6)."""
    rows = []
    prefix = AR_AGGREGATE.network_address.packed[:6]
    for protocol in ALL_PROTOCOLS:
        result, packets, _scen = captured(cfg, protocol)
        per = max(result.handovers, 1)
        cells: list[object] = []
        for link in ("core-ha", "core-cn"):
            seen: set[bytes] = set()
            exposing = total = updates = 0
            for p in packets:
                if p.interface != link:
                    continue
                total += 1
                at = p.data.find(prefix)
                if at < 0:
                    continue
                exposing += 1
                seen.add(p.data[at:at + 8])
                if p.data[6] != 17 and message_type(p.data) == "binding_update":
                    updates += 1
            cells += [f"{exposing}/{total}", len(seen), f"{updates / per:g}"]
        rows.append((protocol, result.handovers, *cells))
    caption = ("`python docs/charter.py --only lmm-privacy`: the runs and captures of the "
               "signalling table; a packet exposes the location when an access router's "
               "prefix (2001:db8:2:k::/64) appears anywhere in it (outer or inner header, "
               "option, payload); a BU naming one carries the access router's address (the "
               "care-of address) beyond the MAP.")
    header = (
        "protocol", "handovers", "home agent link: packets exposing", "prefixes seen",
        "BUs naming one per handover", "correspondent link: packets exposing", "prefixes seen",
        "BUs naming one per handover")
    return [caption, "", *table(header, rows)]


def _headers_of_data(data: bytes) -> int | None:
    """The number of IPv6 headers of a packet whose innermost payload is UDP (data), or None."""
    offset, headers = 0, 1
    while data[offset + 6] == 41 and len(data) >= offset + 80:  # IPv6-in-IPv6
        offset += 40
        headers += 1
    return headers if data[offset + 6] == 17 else None


def lmm_overhead(cfg: Config) -> list[str]:
    """Bytes per voice packet (160 bytes of payload) where it travels: the tunnels' cost on the
    radio and in the domain (RFC 4831 §3.4)."""
    rows = []
    for protocol in ALL_PROTOCOLS:
        _result, packets, _scen = captured(cfg, protocol)
        cells = []
        for region in (RADIO, INSIDE, OUTSIDE):
            sizes = [(len(p.data), h) for p in packets if _region(p.interface or "") == region
                     and (h := _headers_of_data(p.data)) is not None]
            if not sizes:
                cells.append("-")
                continue
            mean = sum(size for size, _h in sizes) / len(sizes)
            headers = sum(h for _s, h in sizes) / len(sizes)
            cells.append(f"{mean:.1f} ({headers:.2f})")
        rows.append((protocol, *cells))
    caption = ("`python docs/charter.py --only lmm-overhead`: the runs and captures of the "
               "signalling table; mean IPv6 packet size in bytes of the voice packets (both "
               "directions, 160 bytes of payload, 208 bytes untunnelled) on each part of the "
               "path, and in brackets the mean number of IPv6 headers (2: one tunnel, 3: two).")
    header = ("protocol", "radio", INSIDE, OUTSIDE)
    return [caption, "", *table(header, rows)]


def lmm_distance(cfg: Config) -> list[str]:
    """RFC 4830 §2 problem 1: the update latency grows with the home agent's distance unless
    the binding is local (RFC 5380) or prepared (RFC 5568)."""
    seeds = cfg.seeds(3)
    protocols = ("mipv6", "hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")
    rows = []
    for delay in cfg.grid([5, 25, 50, 100, 200]):
        overrides = cfg.handovers({**TUNED, "links.core_ha.delay_ms": delay})
        rtt = scenario("reference.toml", overrides)
        cells = []
        for protocol in protocols:
            p = pooled("reference.toml", overrides, protocol, seeds)
            cells.append(f"{ms(p.mean)} ({p.within(VOICE_BUDGET_MS)})")
        rows.append((delay, ms(round_trips_ms(rtt)["mn_ha"]), *cells))
    caption = (f"`python docs/charter.py --only lmm-distance`: `examples/reference.toml` with "
               f"{settings(TUNED)} and `links.core_ha.delay_ms` as given, {seeds_text(seeds)} "
               f"pooled; mean disruption in ms (handovers within {VOICE_BUDGET_MS:.0f} ms).")
    header = (
        "core-home agent one-way ms", "MN-HA round trip ms", *protocols)
    return [caption, "", *table(header, rows)]


# -- FMIPv6 over 802.11 (RFC 4260) ------------------------------------------------------------


def wifi_scenarios(cfg: Config) -> list[str]:
    """Each protocol's RFC 4260 §7 scenario, with the scan in the background (the reference)
    and inside the handoff (``examples/slow-scan.toml``)."""
    seeds = cfg.seeds(5)
    rows = []
    for base, label in (("reference.toml", "background (reference)"),
                        ("slow-scan.toml", "no background scan (slow-scan)")):
        overrides = cfg.handovers({})
        for protocol in ALL_PROTOCOLS:
            p = pooled(base, overrides, protocol, seeds)
            rows.append((label, protocol, RFC4260[protocol], ms(p.l2), ms(p.mean), ms(p.max),
                         p.within(VOICE_BUDGET_MS), f"{p.lost}/{p.sent}",
                         f"{p.up_lost}/{p.up_sent}", p.buffered))
    caption = (f"`python docs/charter.py --only wifi-scenarios`: `examples/reference.toml` and "
               f"`examples/slow-scan.toml`, {seeds_text(seeds)} pooled (each run is `mipshop "
               f"simulate FILE --seed S`).")
    header = (
        "scan", "protocol", "RFC 4260 §7 scenario", "radio outage ms", "disruption mean ms",
        "max ms", f"within {VOICE_BUDGET_MS:.0f} ms", "downlink lost", "uplink lost", "buffered")
    return [caption, "", *table(header, rows)]


@dataclass(frozen=True)
class SweepTable:
    """A table of one scenario key's values (rows) against protocols (columns): each cell the
    mean and largest disruption and the packets lost each way, pooled over the seeds."""

    name: str
    base: str
    key: str
    values: tuple[Any, ...]
    protocols: tuple[str, ...]
    seeds: int
    column: str
    label: Callable[[Any], object] = str
    given: str = ""
    after: str = ""

    def __call__(self, cfg: Config) -> list[str]:
        """The caption and the table."""
        seeds = cfg.seeds(self.seeds)
        rows = []
        for value in cfg.grid(self.values):
            overrides = cfg.handovers({self.key: value})
            cells = []
            for protocol in self.protocols:
                p = pooled(self.base, overrides, protocol, seeds)
                cells.append(f"{ms(p.mean)} / {ms(p.max)} / {p.lost} / {p.up_lost}")
            rows.append((self.label(value), *cells))
        caption = (f"`python docs/charter.py --only {self.name}`: `examples/{self.base}` with "
                   f"`{self.key}` as given{self.given}, {seeds_text(seeds)} pooled; each cell: "
                   f"disruption mean ms / max ms / downlink / uplink packets lost.{self.after}")
        return [caption, "", *table((self.column, *self.protocols), rows)]


_PER_CHANNEL_MS = 2000 / 33  # mac80211: probe delay + channel time, HZ / 33 each
_MAIN = ("hmipv6", "fmipv6", "fmipv6-reactive", "fhmipv6")

#: Disruption against the scan time, with the scan inside the handoff (no background scanning;
#: the AP holds up to 64 frames while a predictive node scans).
wifi_scan = SweepTable(
    "wifi-scan", "slow-scan.toml", "wifi.channels", (1, 2, 3, 6, 11), _MAIN, 3,
    "channels scanned (scan time)", lambda n: f"{n} ({n * _PER_CHANNEL_MS:.0f} ms)",
    given=" (mac80211 timing, 60.6 ms a channel)")
#: Disruption against the trigger's lead (LinkGoingDown to the link switch), fixed.
wifi_lead = SweepTable(
    "wifi-lead", "reference.toml", "fmipv6.lead_ms", (0, 5, 10, 15, 20, 25, 30, 40, 50),
    ("fmipv6", "fhmipv6", "fmipv6-reactive"), 3, "lead ms", given=" (fixed)",
    after=" fmipv6-reactive gets no LinkGoingDown: its column is the baseline.")
#: Disruption and loss against the 802.11 frame loss rate (802.11b at 11 Mb/s).
wifi_loss = SweepTable(
    "wifi-loss", "lossy-wifi.toml", "links.wireless.loss", (0.0, 0.01, 0.02, 0.05), _MAIN, 5,
    "frame loss", lambda v: f"{v:.0%}", after=" Random losses on the air are included.")
#: Disruption against an 802.1X/EAP exchange after reassociation (RFC 4260 §8).
wifi_eap = SweepTable(
    "wifi-eap", "reference.toml", "wifi.eap_ms", (0.0, 19.0, 330.0), _MAIN, 3, "802.1X/EAP ms",
    given=" (19 and 330 ms: the fastest and slowest 802.11i handovers in `mipshop.sim.wifi`'s "
          "sources)")


# -- security: floods and capacity -----------------------------------------------------------------


def _bench(script: str, args: Sequence[str]) -> tuple[dict[str, Any], str]:
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"bench/{script} failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout), f"load average {load:.1f} before the run"


def security_floods(cfg: Config) -> list[str]:
    """bench/flood.py: what a flood from distinct sources leaves and earns."""
    messages = 2000 if cfg.quick else 100_000
    data, load = _bench("flood.py", ["--json", "--messages", str(messages)])
    rows = []
    for name, row in data.items():
        if name == "nar_scaling" or not isinstance(row, dict) or "answers" not in row:
            continue
        rows.append((name, f"{row.get('memory_kb', '-'):,}", f"{row['answers']:,}",
                     row.get("us_per_message", "-")))
    lines = [f"`python bench/flood.py --json --messages {messages}` ({messages:,} messages "
             f"per flood from distinct sources, 1 ms of virtual time apart; {load}, 2 shared "
             f"cores).", ""]
    lines += table(("flood", "memory kept KB", "answers sent", "µs per message"), rows)
    scaling = data.get("nar_scaling", {})
    if scaling:
        lines += ["", "A NAR with N handovers in progress (same run):", ""]
        lines += table(("handovers in progress", "µs per HI", "µs per data packet"),
                       [(f"{int(n):,}", v.get("hi_us", "-"), v.get("data_packet_us", "-"))
                        for n, v in scaling.items()])
    return lines


def security_capacity(cfg: Config) -> list[str]:
    """bench/agent.py: authenticated messages per second an agent absorbs."""
    sizes = "300" if cfg.quick else "1000,10000"
    repeats = "1" if cfg.quick else "3"
    data, load = _bench("agent.py", ["--json", "--sizes", sizes, "--repeats", repeats])
    rows = []
    for agent, by_n in data.items():
        for n, row in by_n.items():
            rows.append((agent, f"{int(n):,}", f"{row['agent']:,}", f"{row['codec']:,}",
                         f"{row['agent'] / row['codec']:.2f}",
                         f"{row.get('bytes_per_binding', '-'):,}"))
    lines = [f"`python bench/agent.py --json --sizes {sizes} --repeats {repeats}` (best of "
             f"{repeats}; {load}, 2 shared cores).", ""]
    return lines + table(("agent", "nodes", "messages/s", "codec floor/s", "agent/codec",
                          "bytes per node"), rows)


TABLES: dict[str, tuple[str, Callable[[Config], list[str]]]] = {
    "security-floods": ("security", security_floods),
    "security-capacity": ("security", security_capacity),
    "lmm-disruption": ("lmm", lmm_disruption),
    "lmm-signalling": ("lmm", lmm_signalling),
    "lmm-privacy": ("lmm", lmm_privacy),
    "lmm-overhead": ("lmm", lmm_overhead),
    "lmm-distance": ("lmm", lmm_distance),
    "lmm-campus": ("lmm", lmm_campus),
    "wifi-scenarios": ("80211", wifi_scenarios),
    "wifi-scan": ("80211", wifi_scan),
    "wifi-lead": ("80211", wifi_lead),
    "wifi-loss": ("80211", wifi_loss),
    "wifi-eap": ("80211", wifi_eap),
}


def block(name: str, lines: list[str]) -> str:
    """A table with its markers, as the documents hold it."""
    return "\n".join([f"<!-- charter:{name} -->", *lines, f"<!-- /charter:{name} -->"])


def replace_block(text: str, name: str, new: str) -> str:
    """``text`` with the block ``name`` replaced by ``new`` (ValueError if it is missing)."""
    start = text.find(f"<!-- charter:{name} -->")
    end_marker = f"<!-- /charter:{name} -->"
    end = text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"no block {name!r}")
    return text[:start] + new + text[end + len(end_marker):]


def main(argv: list[str] | None = None) -> int:
    """Print (or ``--write``) the tables asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated table names")
    parser.add_argument("--quick", action="store_true", help="small runs (for the test)")
    parser.add_argument("--write", action="store_true",
                        help="replace the tables' blocks in the documents")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(TABLES)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        print(f"docs/charter.py: error: --only: unknown table {unknown[0]!r}; the tables are "
              f"{', '.join(TABLES)}", file=sys.stderr)
        return 2
    if args.write and args.quick:
        print("docs/charter.py: error: --write with --quick: quick figures never replace the "
              "documents'", file=sys.stderr)
        return 2
    cfg = Config(quick=args.quick)
    for name in names:
        doc, make = TABLES[name]
        text = block(name, make(cfg))
        if args.write:
            path = DOCS[doc]
            path.write_text(replace_block(path.read_text(), name, text))
            print(f"{path.relative_to(ROOT)}: {name}", file=sys.stderr)
        else:
            print(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
