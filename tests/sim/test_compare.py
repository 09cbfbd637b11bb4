"""``compare`` on the reference scenario: measured against the physics, against each other
and against the analytic model; both directions; the NAR buffer's worth; determinism,
captures, many nodes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mipshop.sim.compare import (
    PROTOCOLS,
    ProtocolResult,
    compare,
    results_to_dict,
    run_protocol,
)
from mipshop.sim.scenario import (
    LeadTime,
    Movement,
    load_scenario,
    reference_scenario,
    round_trips_ms,
    scenario_from_dict,
)
from mipshop.wire.ipv6 import decode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.pcap import read_pcap
from tests.tshark_support import dissect_file, problems, require_tshark

REFERENCE = reference_scenario()
RTT = round_trips_ms(REFERENCE)
INTERVAL_MS = REFERENCE.traffic.interval_ms
L2_MS = REFERENCE.wifi.switch_ms
assert isinstance(REFERENCE.fmipv6.lead_ms, LeadTime)
LEAD_MAX_MS = REFERENCE.fmipv6.lead_ms.high_ms
MAX_RA_DELAY_MS = REFERENCE.routers.max_ra_delay_ms
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: [choice] Tolerance on a registration phase against the propagation round trip: the
#: serialization of a BU and a BA on the 54 Mb/s air link and 1 Gb/s wires (~0.06 ms).
PHASE_TOLERANCE_MS = 0.5


@pytest.fixture(scope="module")
def results() -> dict[str, ProtocolResult]:
    return {r.protocol: r for r in compare(REFERENCE, seed=1)}


def test_every_protocol_runs_every_handover(results: dict[str, ProtocolResult]) -> None:
    assert list(results) == list(PROTOCOLS)
    for result in results.values():
        assert result.handovers == REFERENCE.movement.handovers == 8
        assert result.packets_sent == 1303  # 3.0 s .. 29.04 s every 20 ms
        assert result.uplink["sent"] == 1302  # from 3.01 s
        assert result.phases_ms["l2"] == pytest.approx(L2_MS)
        assert len(result.handover_times) == 8
        assert result.trace and all(s <= a for _q, s, a in result.trace)


def test_predictive_fast_handovers_lose_nothing_either_way(
        results: dict[str, ProtocolResult]) -> None:
    """The lead (25-50 ms) covers FBU + HI/HAck: nothing is lost in either direction, and the
    disruption is bounded by the lead, the radio switch, the UNA and one packet interval."""
    bound = LEAD_MAX_MS + L2_MS + RTT["mn_nar"] + INTERVAL_MS + 1
    for protocol in ("fmipv6", "fhmipv6"):
        result = results[protocol]
        assert result.packets_lost == 0 and result.uplink["lost"] == 0
        assert result.disruption_ms["max"] <= bound
        assert result.uplink["disruption_ms"]["max"] <= INTERVAL_MS + L2_MS + 1
        assert result.phases_ms["movement_detection"] == 0
        assert result.phases_ms["address_configuration"] == 0
    assert results["fmipv6-reactive"].uplink["lost"] == 0  # the tunnel follows the BU


def test_the_reference_puts_data_in_the_nar_buffer(results: dict[str, ProtocolResult]) -> None:
    """Packets are on their way to the old link during the switch: the NAR buffers data
    (``packets_buffered`` counts data packets only, no FBack copy)."""
    for protocol in ("fmipv6", "fhmipv6"):
        assert results[protocol].packets_buffered > 0
    for protocol in ("mipv6", "hmipv6", "fmipv6-reactive"):
        assert results[protocol].packets_buffered == 0


@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_removing_the_buffer_costs_packets(protocol: str,
                                           results: dict[str, ProtocolResult]) -> None:
    unbuffered = replace(REFERENCE, fmipv6=replace(REFERENCE.fmipv6, buffer_packets=0))
    without = run_protocol(unbuffered, protocol, seed=1)
    assert without.packets_buffered == 0
    assert without.packets_lost >= results[protocol].packets_buffered > 0
    assert results[protocol].packets_lost == 0


def test_registration_is_the_round_trip_to_the_map_or_the_home_agent(
        results: dict[str, ProtocolResult]) -> None:
    assert results["hmipv6"].phases_ms["registration"] == pytest.approx(
        RTT["mn_map"], abs=PHASE_TOLERANCE_MS)
    assert results["mipv6"].phases_ms["registration"] == pytest.approx(
        RTT["mn_ha"], abs=PHASE_TOLERANCE_MS)
    assert results["fhmipv6"].binding_update_latency_ms == pytest.approx(
        RTT["mn_map"], abs=PHASE_TOLERANCE_MS)
    for protocol in ("mipv6", "hmipv6"):
        phases = results[protocol].phases_ms
        # RS/RA round trip plus the RFC 4861 §6.2.6 random delay of the answer.
        detection = phases["movement_detection"]
        assert RTT["mn_ar"] < detection <= RTT["mn_ar"] + MAX_RA_DELAY_MS + PHASE_TOLERANCE_MS
        assert phases["address_configuration"] == pytest.approx(1000.0)


def test_disruption_orders_the_protocols(results: dict[str, ProtocolResult]) -> None:
    d = {p: r.disruption_ms["mean"] for p, r in results.items()}
    assert d["fhmipv6"] <= d["fmipv6"] < d["hmipv6"] < d["mipv6"]
    assert d["fmipv6-reactive"] < d["mipv6"]


def test_reactive_loses_only_what_was_sent_during_the_switch(
        results: dict[str, ProtocolResult]) -> None:
    reactive = results["fmipv6-reactive"]
    # The PAR redirects L2 + FBU (MN -> NAR -> PAR) + HI/HAck after the switch begins.
    window_ms = L2_MS + RTT["mn_ar"] / 2 + 3 * RTT["par_nar"] / 2
    assert 0 < reactive.packets_lost <= reactive.handovers * (window_ms / INTERVAL_MS + 1)
    assert reactive.packets_lost < results["mipv6"].packets_lost
    assert reactive.phases_ms["fast_handover"] > 0


def test_the_simulator_and_the_analytic_model_agree(results: dict[str, ProtocolResult]) -> None:
    """The model gives expectations; 8 handovers sample the random lead and RA delay. The
    deterministic reactive handover agrees exactly; the others within 10 % here, and within
    5 % over many handovers (tests/sim/test_model_agreement.py)."""
    reactive = results["fmipv6-reactive"]
    assert reactive.disruption_ms["mean"] == pytest.approx(reactive.analytic_disruption_ms,
                                                           rel=1e-3)
    assert reactive.packets_lost == pytest.approx(reactive.analytic_packets_lost, abs=0.01)
    for result in results.values():
        assert result.disruption_ms["mean"] == pytest.approx(
            result.analytic_disruption_ms, rel=0.10), result.protocol
        if result.analytic_packets_lost:
            assert result.packets_lost == pytest.approx(result.analytic_packets_lost,
                                                        rel=0.10), result.protocol
        else:
            assert result.packets_lost == 0, result.protocol


def test_signalling_counts_the_mobility_messages(results: dict[str, ProtocolResult]) -> None:
    for result in results.values():
        assert result.signalling["messages_per_handover"] > 0
        by_type = result.signalling["by_type"]
        assert "binding_update" in by_type and "binding_acknowledgement" in by_type
    for protocol in ("fmipv6", "fmipv6-reactive", "fhmipv6"):
        by_type = results[protocol].signalling["by_type"]
        assert {"fast_binding_update", "handover_initiate", "handover_acknowledge",
                "fast_binding_acknowledgment"} <= set(by_type)
    # The local BU/BA crosses 2 links, the home one 4.
    assert (results["hmipv6"].signalling["bytes_per_handover"]
            < results["mipv6"].signalling["bytes_per_handover"])


def test_same_seed_same_json_byte_for_byte() -> None:
    scenario = replace(REFERENCE, movement=replace(REFERENCE.movement, handovers=2))
    first = json.dumps(results_to_dict(scenario, compare(scenario, seed=5), seed=5),
                       sort_keys=True)
    again = json.dumps(results_to_dict(scenario, compare(scenario, seed=5), seed=5),
                       sort_keys=True)
    assert first == again
    data = json.loads(first)
    assert data["seed"] == 5 and data["scenario"]["rtt_ms"]["mn_ha"] == 154.0
    assert [r["protocol"] for r in data["results"]] == list(PROTOCOLS)
    for row in data["results"]:
        # Both directions: the downlink at the top level, the uplink beside it.
        assert set(row["uplink"]) == {"sent", "lost", "disruption_ms"}
        assert set(row["uplink"]["disruption_ms"]) == {"mean", "p50", "p95", "max"}
        assert set(row["disruption_ms"]) == {"mean", "p50", "p95", "max"}
    assert "trace" not in data["results"][0] and len(first) < 20_000


_CITY_RUN = """
import dataclasses, json, sys
from mipshop.sim.compare import compare, results_to_dict
from mipshop.sim.scenario import load_scenario
city = load_scenario(sys.argv[1])
city = dataclasses.replace(city, mobile_nodes=200,
                           movement=dataclasses.replace(city.movement, duration_s=150.0))
print(json.dumps(results_to_dict(city, compare(city, seed=3), seed=3), sort_keys=True))
"""


def test_a_city_gives_the_same_json_in_processes_with_other_hash_seeds() -> None:
    # Same seed, same JSON at size: 200 nodes over the city's 200 access routers and 10 MAPs
    # with calls on 1 % of them, every protocol, in two interpreters whose str/bytes hashes
    # (and so any set or dict built from them) differ.
    runs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", _CITY_RUN, str(EXAMPLES / "city.toml")],
                              check=True, capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed})
        runs.append(done.stdout)
    assert runs[0] == runs[1]
    results = json.loads(runs[0])["results"]
    assert [r["protocol"] for r in results] == list(PROTOCOLS)
    assert all(r["handovers"] >= 10 and r["packets_sent"] > 0 for r in results)


def test_different_seeds_with_random_loss_differ() -> None:
    lossy = load_scenario(EXAMPLES / "lossy-wifi.toml")
    runs = [json.dumps(results_to_dict(lossy, [run_protocol(lossy, "hmipv6", seed=seed)],
                                       seed=0), sort_keys=True) for seed in (1, 2)]
    assert runs[0] != runs[1]


def test_progress_reports_fractions_of_simulated_time() -> None:
    seen: list[float] = []
    scenario = replace(REFERENCE, movement=replace(REFERENCE.movement, handovers=1))
    run_protocol(scenario, "hmipv6", seed=1, progress=seen.append)
    assert 1 <= len(seen) <= 101
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    calls: list[tuple[str, float]] = []
    compare(scenario, seed=1, protocols=("mipv6", "fmipv6"),
            progress=lambda p, f: calls.append((p, f)))
    assert {p for p, _f in calls} == {"mipv6", "fmipv6"}


def test_watch_sees_the_network_before_the_first_event_and_adds_none() -> None:
    """``watch`` (bench/scale.py's progress thread reads the clock through it) is called once,
    before any event ran, and leaves the run's events and results as they were."""
    scenario = replace(REFERENCE, movement=replace(REFERENCE.movement, handovers=1))
    seen: list[tuple[float, int]] = []
    plain: dict[str, float] = {}
    watched: dict[str, float] = {}
    first = run_protocol(scenario, "hmipv6", seed=1, stats=plain)
    second = run_protocol(scenario, "hmipv6", seed=1, stats=watched, watch=lambda net: seen.append(
        (net.now, net.kernel.events_processed)))
    assert seen == [(0.0, 0)]
    assert watched["events"] == plain["events"]
    assert (json.dumps(results_to_dict(scenario, [second], seed=1), sort_keys=True)
            == json.dumps(results_to_dict(scenario, [first], seed=1), sort_keys=True))


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        run_protocol(REFERENCE, "mobile-ipv4", seed=1)


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("captures")
    # Two handovers (there and back), voice from 4.5 s: every kind of message, few packets.
    scenario = replace(REFERENCE, movement=replace(REFERENCE.movement, handovers=2),
                       traffic=replace(REFERENCE.traffic, start_s=4.5))
    compare(scenario, seed=1, capture_dir=folder)
    return {p: folder / f"{p}.pcapng" for p in PROTOCOLS}


def test_captures_decode_with_the_wire_layer(captures: dict[str, Path]) -> None:
    for protocol, path in captures.items():
        records = read_pcap(path)
        assert records, protocol
        for record in records:
            decode_packet(record.data)


@pytest.mark.tshark
def test_captures_dissect_in_tshark_without_errors(captures: dict[str, Path]) -> None:
    for protocol, path in captures.items():
        # Only signalling and tunnels matter to the dissectors; skip the plain UDP voice.
        packets = dissect_file(path, extra=("-Y", "not (udp and not ipv6.nxt == 41)"))
        assert packets, protocol
        for tree in packets:
            assert problems(tree) == [], (protocol, tree.get("frame", {}).get("frame.number"))


def test_captures_name_the_link_of_every_copy(captures: dict[str, Path]) -> None:
    """One interface per link: the home BU of plain MIPv6 shows once on each link of its path,
    from the mobile node's radio cell up to the home agent, in that order."""
    copies: dict[int, list[str | None]] = {}
    for record in read_pcap(captures["mipv6"]):
        packet = decode_packet(record.data)
        if isinstance(packet.payload, BindingUpdate):
            copies.setdefault(packet.payload.sequence, []).append(record.interface)
    assert len(copies) == 3  # the first registration and the two handovers
    paths = list(copies.values())
    assert paths[1] == ["bss1", "ar1-map", "map-core", "core-ha"]
    assert paths[2] == ["bss0", "ar0-map", "map-core", "core-ha"]


@pytest.mark.tshark
def test_tshark_shows_the_link_names_of_the_simulator_captures(
        captures: dict[str, Path]) -> None:
    result = subprocess.run(
        [require_tshark(), "-r", str(captures["mipv6"]), "-Y", "mip6.mhtype == 5", "-T",
         "fields", "-e", "frame.interface_name", "-e", "mip6.bu.seqnr"],
        capture_output=True, text=True, check=True, timeout=120)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    ours = [(r.interface, str(decode_packet(r.data).payload.sequence))
            for r in read_pcap(captures["mipv6"])
            if isinstance(decode_packet(r.data).payload, BindingUpdate)]
    assert [tuple(row) for row in rows] == ours
    assert {name for name, _seq in ours} == {"bss0", "bss1", "ar0-map", "ar1-map", "map-core",
                                             "core-ha"}


def test_a_hundred_mobile_nodes_walking_report_distributions() -> None:
    scenario = scenario_from_dict({
        "name": "crowd", "mobile_nodes": 100,
        "movement": {"model": "random_waypoint", "grid_columns": 3, "grid_rows": 3,
                     "cell_m": 20.0, "speed_min_mps": 8.0, "speed_max_mps": 15.0,
                     "duration_s": 4.5},
        "traffic": {"start_s": 3.0}})
    result = run_protocol(scenario, "fmipv6", seed=3)
    assert result.handovers >= 30
    d = result.disruption_ms
    assert d["p50"] is not None and d["p50"] <= d["p95"] <= d["max"]
    assert d["p95"] <= LEAD_MAX_MS + L2_MS + RTT["mn_nar"] + INTERVAL_MS + 2
    assert result.packets_lost == 0
    assert result.analytic_disruption_ms is not None


@pytest.mark.parametrize("name", ["reference", "lossy-wifi", "slow-scan", "dhcpv6",
                                  "campus-random-waypoint", "city"])
def test_each_example_runs(name: str) -> None:
    scenario = load_scenario(EXAMPLES / f"{name}.toml")
    if scenario.movement.model == "ping_pong":
        scenario = replace(scenario, movement=replace(scenario.movement, handovers=1))
    else:
        scenario = replace(scenario, mobile_nodes=4,
                           movement=replace(scenario.movement, duration_s=7.0))
    results = compare(scenario, seed=1)
    assert [r.protocol for r in results] == list(PROTOCOLS)
    assert all(r.packets_sent > 0 for r in results)
    json.dumps(results_to_dict(scenario, results, seed=1))


def test_movement_model_is_part_of_the_scenario() -> None:
    assert isinstance(REFERENCE.movement, Movement) and REFERENCE.movement.model == "ping_pong"


def _two_domains(**traffic: object) -> Any:
    from mipshop.sim.scenario import scenario_from_dict

    return scenario_from_dict({
        "mobile_nodes": 6,
        "movement": {"model": "random_waypoint", "grid_columns": 4, "grid_rows": 1,
                     "cell_m": 40.0, "speed_min_mps": 8.0, "speed_max_mps": 12.0,
                     "duration_s": 40.0},
        "topology": {"maps": 2, "ar_links": "none"},
        "address": {"optimistic_dad": True},
        "traffic": {"call_every": 3, **traffic},
    })


def test_crossing_into_another_map_domain_registers_the_new_rcoa_with_the_home_agent() -> None:
    from mipshop.sim import compare as run

    scenario = _two_domains()
    world = run._build(scenario, "hmipv6", 2, False, keep_history=True)
    world.network.run(until=scenario.duration + run.DRAIN)
    net = world.network
    assert sorted(net.nodes) == sorted(["core", "cn", "ha", "map0", "map1", "mn0", "mn1",
                                        "mn2", "mn3", "mn4", "mn5", "ar0", "ar1", "ar2",
                                        "ar3"])
    assert not any(name.startswith("ar0-ar") for name in net.links)  # ar_links = "none"
    crossed = 0
    for mobile in world.mobiles:
        name = mobile.node.name
        maps = [e.event.fields["map"] for e in net.events_of("map.registered", name)
                if not e.event.fields.get("previous")]
        homes = [e.event.fields.get("care_of_address") for e in
                 net.events_of("home.registered", name)]
        changes = sum(1 for a, b in itertools.pairwise(maps) if a != b)
        crossed += changes
        # RFC 5380 §6.1: a new MAP means a new RCoA, which the home agent must learn.
        assert len(net.events_of("home.bu_sent", name)) >= changes + 1
        assert homes or not maps
    assert crossed > 0
    result = run._measure(world)
    assert result.handovers > 0 and result.packets_sent > 0


def test_calls_ride_on_every_kth_node_only() -> None:
    every = run_protocol(_two_domains(call_every=1), "hmipv6", seed=2)
    some = run_protocol(_two_domains(), "hmipv6", seed=2)
    # Nodes 0 and 3 of six carry the call, each way, each as many packets as any call.
    assert every.packets_sent > 0 and some.packets_sent * 3 == every.packets_sent
    assert some.uplink["sent"] * 3 == every.uplink["sent"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mobile_nodes_keep_their_state_in_slots(protocol: str) -> None:
    # A city holds one entity per pedestrian: each attribute the mobile node sets during a run
    # (its clients' handovers included) is one of its slots, none spills into an instance
    # dictionary (1.6 KB a node past 30 attributes).
    from mipshop.sim import compare as run

    scenario = _two_domains()
    world = run._build(scenario, protocol, 2, False)
    world.network.run(until=scenario.duration + run.DRAIN)
    assert run._measure(world).handovers > 0
    assert [vars(mobile.entity) for mobile in world.mobiles] == [{}] * len(world.mobiles)
    # So for the clients with slots of their own (route optimization, the MAP client).
    slotted = [client for mobile in world.mobiles for client in mobile.entity.clients
               if "__slots__" in type(client).__dict__]
    assert slotted and all(vars(client) == {} for client in slotted)
    # Sets most nodes never fill (route optimization is off here, the calls ride on a few
    # nodes) are the one shared empty frozenset, not an empty set (216 bytes) each.
    from mipshop.protocol.fmipv6 import client as fast_client
    from mipshop.protocol.mipv6 import route_optimization

    empty = route_optimization._NO_ADDRESSES
    for mobile in world.mobiles:
        client = mobile.entity.route_optimization
        assert client._deregistering is empty and client._unsupported is empty
        fast = [c for c in mobile.entity.clients if hasattr(c, "unsupported")]
        assert all(c.unsupported is fast_client._NO_ACCESS_POINTS for c in fast)
        assert len(fast) == (protocol in ("fmipv6", "fmipv6-reactive", "fhmipv6"))
    assert {type(m.up_new) for m in world.recorder.mobiles.values()} == {frozenset, set}
    # Tables, clients and states most nodes never use are made at their first use (or are one
    # shared empty mapping until then): no DHCPv6 client on stateless links, no ICMPv6 error
    # limiter before an error, no return routability state on a home or MAP binding, no route
    # optimization tables, no secondary or refused MAPs, an unused rate limiter without a
    # dictionary.
    from mipshop.protocol.base.tables import EMPTY

    for mobile in world.mobiles:
        entity = mobile.entity
        assert entity._dhcp is None and entity._icmp_errors is None
        assert entity.route_optimization.entries is EMPTY
        assert entity.route_optimization._rate._others is None
        if entity.home.entry is not None:
            assert entity.home.entry._rr is None
        for client in entity.clients:
            if hasattr(client, "secondary"):
                assert client.secondary is EMPTY and client._refused is EMPTY
                assert all(b.entry._rr is None for b in client.bindings.values())
    # The list of clients holds no spare room (appended to, a list of two has room for eight).
    import sys

    for mobile in world.mobiles:
        clients = mobile.entity.clients
        assert sys.getsizeof(clients) <= sys.getsizeof(list(tuple(clients)))
