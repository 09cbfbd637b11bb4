"""A bulk download beside the call, through the NAR's buffer (RFC 5568 §5.4; docs/decisions.md
D28): on the testbed's conditions (100 ms outage, voice every 10 ms) with the download paced at
3.4 MB/s, as ``mipshop testbed --tcp-bytes 20000000`` paces its TCP sender, the buffer fills
at every predictive handover. Shared by flow, the call loses nothing and the download takes
every drop; with tail drop the call loses the packets that come once the buffer is full."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mipshop.sim.compare import BULK_PORT, DOWNLINK_PORT, results_to_dict, run_protocol
from mipshop.sim.scenario import Scenario, load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _scenario(fair: bool) -> Scenario:
    base = load_scenario(EXAMPLES / "testbed.toml")
    return replace(base, movement=replace(base.movement, handovers=3),
                   traffic=replace(base.traffic, bulk_bytes_per_s=3.4e6),
                   fmipv6=replace(base.fmipv6, buffer_fairness=fair))


def _drops(drops: dict[str, int], port: int) -> int:
    return sum(n for flow, n in drops.items() if f"]:{port} proto 17" in flow)


@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_the_call_survives_a_bulk_download_and_tail_drop_costs_it(protocol: str) -> None:
    fair = run_protocol(_scenario(True), protocol, seed=1)
    assert fair.handovers == 3
    assert fair.packets_lost == 0 and fair.uplink["lost"] == 0
    # The buffer filled: every packet the download lost, the buffer dropped, and nothing else.
    assert fair.bulk["lost"] > 0
    assert fair.buffer_drops == {next(iter(fair.buffer_drops)): fair.bulk["lost"]}
    assert _drops(fair.buffer_drops, BULK_PORT) == fair.bulk["lost"]
    assert _drops(fair.buffer_drops, DOWNLINK_PORT) == 0

    tail = run_protocol(_scenario(False), protocol, seed=1)
    assert tail.packets_lost > 0
    assert _drops(tail.buffer_drops, DOWNLINK_PORT) == tail.packets_lost
    assert _drops(tail.buffer_drops, BULK_PORT) == tail.bulk["lost"]


def test_bulk_and_buffer_drops_are_in_the_json() -> None:
    scenario = _scenario(True)
    result = run_protocol(scenario, "fmipv6", seed=1)
    row = json.loads(json.dumps(results_to_dict(scenario, [result], seed=1)))["results"][0]
    assert row["bulk"] == result.bulk and row["bulk"]["sent"] > 0
    assert row["buffer_drops"] == result.buffer_drops
