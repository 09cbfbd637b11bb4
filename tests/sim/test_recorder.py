"""The online recorder gives the figures the whole history gives, and keeps no history."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.measure import (
    Arrival,
    flow_report,
    handover_report,
    handover_windows,
    uplink_handover_report,
)
from mipshop.protocol.base.link_events import LinkGoingDown
from mipshop.sim import compare
from mipshop.sim.recorder import ExactSum, FlowCounter, _since, mobile_index_owner
from mipshop.sim.recorder import _first as _first_in_flat
from mipshop.sim.scenario import load_scenario, reference_scenario, scenario_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@settings(max_examples=200)
@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), max_size=60))
def test_exact_sum_is_fsum_in_any_order(values: list[float]) -> None:
    total = ExactSum()
    for value in values:
        total.add(value)
    assert total.total == math.fsum(values) and total.count == len(values)
    assert total.mean() == (math.fsum(values) / len(values) if values else None)


@settings(max_examples=300)
@given(st.lists(st.integers(0, 40), max_size=80), st.integers(0, 45))
def test_flow_counter_counts_as_flow_report(seqs: list[int], extra: int) -> None:
    counter = FlowCounter()
    for seq in seqs:
        counter.arrived(seq)
    sent = max(seqs, default=-1) + 1 + extra
    report = flow_report([Arrival(s, 0.0, 0.0) for s in seqs], sent)
    assert (counter.lost(sent), counter.duplicates, counter.received) == (
        report.lost, report.duplicates, report.received)


def test_a_flow_counter_keeps_runs_of_missing_numbers() -> None:
    counter = FlowCounter()
    counter.arrived(0)
    counter.arrived(100_001)  # a long outage: one run, however many numbers it holds
    assert counter.runs == 1 and counter.lost(100_002) == 100_000
    assert counter.arrived(500) and counter.runs == 2  # a late copy splits the run
    assert counter.arrived(1) and counter.arrived(100_000) and counter.runs == 2
    assert not counter.arrived(500) and counter.duplicates == 1
    assert counter.lost(100_002) == 99_997 and counter.lost(400) == 398


def test_the_owner_of_an_address_is_read_from_its_interface_identifier() -> None:
    owner = mobile_index_owner(70_000, compare.mn_mac)
    from mipshop.protocol.base.addressing import interface_identifier_from_mac

    for index in (0, 1, 255, 256, 65_535, 69_999):
        assert owner(interface_identifier_from_mac(compare.mn_mac(index))) == index
    assert owner(interface_identifier_from_mac(compare.mn_mac(70_000))) is None
    assert owner(interface_identifier_from_mac(bytes.fromhex("020000000001"))) is None


# -- the oracle: the figures from the whole history, with mipshop.measure ---------------------


def _first(events: list[Any], kind: str, since: float, until: float, **fields: Any) -> float | None:
    for record in events:
        if record.time < since:
            continue
        if record.time >= until:
            return None
        if record.kind == kind and all(record.event.fields.get(k) == v
                                       for k, v in fields.items()):
            return record.time
    return None


def _from_history(world: Any) -> dict[str, Any]:
    protocol, net = world.protocol, world.network
    hier, fmip = protocol in compare._HIER, protocol in compare._FMIP
    ap_links = {ap.name: ap.link.name for ap in world.aps}
    by_node: dict[str, list[Any]] = {}
    for record in net.events:
        by_node.setdefault(record.node, []).append(record)
    phases: dict[str, list[float]] = {"l2": [], "movement_detection": [],
                                      "address_configuration": [], "registration": []}
    if fmip:
        phases["fast_handover"] = []
    disruptions: list[float] = []
    up_disruptions: list[float] = []
    figures = dict.fromkeys(("handovers", "sent", "lost", "duplicated", "up_sent", "up_lost"), 0)
    trace: tuple[Any, ...] = ()
    times: tuple[float, ...] = ()
    for mobile in world.mobiles:
        station = mobile.station
        records = [h for h in station.handoffs if h.down is not None and h.up is not None]
        windows = handover_windows(records, ap_links)
        events = by_node.get(mobile.node.name, [])
        arrivals = mobile.down_receiver.arrivals if mobile.down_receiver else []
        for k, (record, window) in enumerate(zip(records, windows, strict=True)):
            following = records[k + 1].down if k + 1 < len(records) else math.inf
            figures["handovers"] += 1
            if mobile.down_receiver is not None:
                report = handover_report(arrivals, window, horizon=following)
                if report.disruption is not None:
                    disruptions.append(report.disruption)
            if mobile.up_receiver is not None:
                up = uplink_handover_report(mobile.up_receiver.arrivals, window,
                                            horizon=following)
                if up.disruption is not None:
                    up_disruptions.append(up.disruption)
            down, up = record.down, record.up
            phases["l2"].append(up - down)
            detected = _first(events, "movement.detected", up, following)
            if detected is not None:
                phases["movement_detection"].append(detected - up)
                configured = _first(events, "coa.configured", detected, following)
                if configured is not None:
                    phases["address_configuration"].append(configured - detected)
                    sent_kind, done_kind = (("map.bu_sent", "map.registered") if hier
                                            else ("home.bu_sent", "home.registered"))
                    bu = _first(events, sent_kind, configured, following)
                    if bu is not None:
                        extra = {"previous": False} if hier else {}
                        done = _first(events, done_kind, bu, following, **extra)
                        if done is not None:
                            phases["registration"].append(done - bu)
            if fmip:
                start = up
                if protocol in compare._PREDICTIVE:
                    warned = [t for t, trigger in station.triggers
                              if isinstance(trigger, LinkGoingDown) and t <= down]
                    start = warned[-1] if warned else None
                if start is not None:
                    fback = _first(events, "fmip.fback", start, following)
                    if fback is not None:
                        phases["fast_handover"].append(fback - start)
        if mobile.downlink is not None:
            flow = flow_report(arrivals, mobile.downlink.sent)
            figures["sent"] += flow.sent
            figures["lost"] += flow.lost
            figures["duplicated"] += flow.duplicates
        if mobile.uplink is not None:
            flow = flow_report(mobile.up_receiver.arrivals, mobile.uplink.sent)
            figures["up_sent"] += flow.sent
            figures["up_lost"] += flow.lost
        if mobile.index == 0:
            times = tuple(r.down for r in records)
            if times:
                low, high = times[0] - compare.TRACE_BEFORE, times[0] + compare.TRACE_AFTER
                trace = tuple((a.seq, a.sent, a.arrived) for a in arrivals
                              if low <= a.arrived <= high)
    figures["disruptions"] = sorted(disruptions)
    figures["up_disruptions"] = compare._distribution(up_disruptions)
    figures["phases"] = {name: (math.fsum(v) / len(v) * 1000.0 if v else None)
                         for name, v in phases.items()}
    figures["trace"] = trace
    figures["times"] = times
    return figures


def _small_campus() -> Any:
    return scenario_from_dict({
        "mobile_nodes": 8,
        "movement": {"model": "random_waypoint", "grid_columns": 3, "grid_rows": 3,
                     "cell_m": 20.0, "speed_min_mps": 3.0, "speed_max_mps": 6.0,
                     "duration_s": 15.0},
    })


CASES = [
    ("reference", reference_scenario, 1, compare.PROTOCOLS),
    ("lossy-wifi", lambda: load_scenario(EXAMPLES / "lossy-wifi.toml"), 3, compare.PROTOCOLS),
    ("slow-scan", lambda: load_scenario(EXAMPLES / "slow-scan.toml"), 1, compare.PROTOCOLS),
    ("small-campus", _small_campus, 4, ("hmipv6", "fmipv6", "fhmipv6")),
]


@pytest.mark.parametrize(("name", "make", "seed", "protocols"), CASES, ids=[c[0] for c in CASES])
def test_online_figures_equal_the_figures_of_the_whole_history(
    name: str, make: Any, seed: int, protocols: tuple[str, ...]
) -> None:
    scenario = make()
    for protocol in protocols:
        world = compare._build(scenario, protocol, seed, False, keep_history=True)
        world.network.run(until=scenario.duration + compare.DRAIN)
        expected = _from_history(world)
        result = compare._measure(world)
        assert expected["handovers"] > 0
        assert result.handovers == expected["handovers"]
        assert sorted(world.recorder.disruptions) == expected["disruptions"]
        assert result.phases_ms == expected["phases"]
        assert (result.packets_sent, result.packets_lost, result.packets_duplicated) == (
            expected["sent"], expected["lost"], expected["duplicated"])
        assert result.uplink == {"sent": expected["up_sent"], "lost": expected["up_lost"],
                                 "disruption_ms": expected["up_disruptions"]}
        assert result.trace == expected["trace"] and result.handover_times == expected["times"]


def test_a_run_keeps_no_history() -> None:
    scenario = _small_campus()
    world = compare._build(scenario, "fhmipv6", 4, False)
    world.network.run(until=scenario.duration + compare.DRAIN)
    assert world.network.events == []
    for mobile in world.mobiles:
        assert not mobile.station.handoffs and not mobile.station.triggers
        assert mobile.down_receiver.arrivals == [] and mobile.up_receiver.arrivals == []
        tracked = world.recorder.mobiles[mobile.node.name]
        # At most the handover in progress and the one before it (pending holds one), kept
        # flat (time, kind, previous, time, ...): no tuple an event.
        assert len(tracked.events) < 3 * 20 and len(tracked.events) % 3 == 0
        assert not any(isinstance(item, tuple) for item in tracked.events)
    assert compare._measure(world).handovers > 0


def test_only_nodes_with_an_uplink_keep_their_handover_times() -> None:
    """The uplink's disruption needs each completed handover's LinkDown time; a node without
    a call keeps none (they grew by 32 bytes a handover on every node of a city), and its
    figures are those of the whole history all the same."""
    campus = _small_campus()
    scenario = replace(campus, traffic=replace(campus.traffic, call_every=3))
    world = compare._build(scenario, "hmipv6", 4, False, keep_history=True)
    world.network.run(until=scenario.duration + compare.DRAIN)
    moved = {True: 0, False: 0}
    for mobile in world.mobiles:
        tracked = world.recorder.mobiles[mobile.node.name]
        calling = mobile.index % 3 == 0
        moved[calling] += tracked.count
        if calling:
            assert tracked.up_downs is not None and len(tracked.up_downs) == tracked.count
        else:
            assert tracked.up_downs is None and tracked.uplink_disruptions() == []
            with pytest.raises(ValueError, match="without uplink"):
                world.recorder.uplink_arrival(tracked, 0, 0.0, 0.0, None)
    assert moved[True] > 0 and moved[False] > 0
    expected = _from_history(world)
    assert compare._measure(world).uplink == {
        "sent": expected["up_sent"], "lost": expected["up_lost"],
        "disruption_ms": expected["up_disruptions"]}


def test_a_late_warning_at_the_switch_still_starts_the_fast_handover() -> None:
    # lead 0 without a prescan: the LinkGoingDown comes at the very instant of LinkDown,
    # after it (scheduled at the end of the scan).
    scenario = scenario_from_dict({"fmipv6": {"lead_ms": 0.0},
                                   "wifi": {"background_scan": False}})
    world = compare._build(scenario, "fmipv6", 1, False, keep_history=True)
    world.network.run(until=scenario.duration + compare.DRAIN)
    expected = _from_history(world)
    assert compare._measure(world).phases_ms == expected["phases"]


def _event(time: float, kind: str, **fields: Any) -> Any:
    from mipshop.protocol.base.actions import Event
    from mipshop.sim.network import EventRecord

    return EventRecord(time, "mn0", Event(time=time, node="mn0", kind=kind, fields=fields))


def test_the_last_packet_on_the_old_link_is_strictly_before_the_first_on_the_new() -> None:
    from mipshop.protocol.base.link_events import LinkUp
    from mipshop.sim.recorder import RunRecorder

    recorder = RunRecorder(ap_links={b"A" * 6: "a", b"B" * 6: "b"}, hierarchical=False,
                           fast=False, predictive=False, trace_window=(0.2, 1.8),
                           owner_of=lambda iid: None)
    mobile = recorder.add_mobile("mn0", 0, flow=True, trace=False, uplink=False)
    recorder._link_up(_event(0.0, "wifi.LinkUp", trigger=LinkUp(ap=b"A" * 6)))
    recorder.arrival(mobile, 0, 0.9, 1.0, "a")
    recorder._link_down(_event(1.5, "wifi.LinkDown"))
    recorder._link_up(_event(1.6, "wifi.LinkUp", trigger=LinkUp(ap=b"B" * 6)))
    recorder.arrival(mobile, 1, 1.9, 2.0, "a")  # an old-link copy at the same instant ...
    recorder.arrival(mobile, 2, 1.95, 2.0, "b")  # ... as the first packet on the new link
    recorder.finish()
    assert recorder.handovers == 1 and recorder.disruptions == [1.0]
    assert mobile.flow.lost(3) == 0


def test_a_nodes_phase_events_are_read_and_trimmed_from_their_flat_list() -> None:
    events = [1.0, "movement.detected", None, 2.0, "map.registered", True,
              2.5, "map.registered", False, 3.0, "coa.configured", None]
    assert _first_in_flat(events, "map.registered", 1.5, 9.0) == 2.0
    assert _first_in_flat(events, "map.registered", 1.5, 9.0, previous=True) == 2.5
    assert _first_in_flat(events, "coa.configured", 0.0, 3.0) is None
    assert _since(events, 2.5) == events[6:]
    assert _since(events, 4.0) == [] and _since(events, 0.0) == events
