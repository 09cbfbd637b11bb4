"""Sweeps: the file's rules, the runs a grid makes, one row per run, confidence intervals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mipshop.sim.compare import results_to_dict, run_protocol
from mipshop.sim.scenario import scenario_from_dict
from mipshop.sim.sweep import SweepError, load_sweep, mean_ci, run_task, sweep_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAD = {"fmipv6.lead_ms": [5, 20]}


@pytest.mark.parametrize(("data", "message"), [
    ({"grid": {"fmipv6.lead_ms": [5, -1]}}, "grid.fmipv6.lead_ms: must be a number"),
    ({"grid": {"fmipv6.lead": [5]}}, "grid.fmipv6.lead: unknown key"),
    ({"grid": {"links.core_ha.delay_ms": ["x"]}}, "grid.links.core_ha.delay_ms: must be a"),
    ({"grid": {"fmipv6.lead_ms": []}}, "grid.fmipv6.lead_ms: must be a non-empty array"),
    ({"grid": {"fmipv6.lead_ms": [1, 1]}}, "grid.fmipv6.lead_ms: a value is listed twice"),
    ({"grid": {}}, "grid: must be a table"),
    ({"grod": {}}, "grod: unknown key"),
    ({"seeds": 0, "grid": LEAD}, "seeds: a count must be 1..10000"),
    ({"seeds": [1, 1], "grid": LEAD}, "seeds: a seed is listed twice"),
    ({"protocols": ["mipv7"], "grid": LEAD}, "protocols: unknown protocol 'mipv7'"),
    ({"set": {"mobile_nodes": 0}, "grid": LEAD}, "set.mobile_nodes: must be an integer"),
    ({"grid": {"traffic.start_s": [1, 100]}}, "grid.traffic.start_s: must be before"),
    ({"grid": {"movement.handovers": list(range(1, 2001))}, "seeds": 100},
     "grid: 1000000 runs"),
])
def test_a_bad_sweep_names_the_key(data: dict, message: str) -> None:
    with pytest.raises(SweepError) as error:
        sweep_from_dict(data)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_a_base_scenario_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('scenario = "missing.toml"\n[grid]\n"seeds" = [1]\n')
    with pytest.raises(SweepError, match=r"scenario: .*missing\.toml: cannot read"):
        load_sweep(tmp_path / "s.toml")


def test_every_combination_protocol_and_seed_is_one_run() -> None:
    sweep = sweep_from_dict({
        "protocols": ["hmipv6", "fmipv6"], "seeds": 3,
        "set": {"movement": {"handovers": 1}},
        "grid": {"fmipv6": {"lead_ms": [5, 20]}, "links.core_ha.delay_ms": [10, 50, 90]},
    })
    tasks = sweep.tasks()
    assert len(tasks) == 2 * 3 * 2 * 3
    assert sweep.parameters == ("fmipv6.lead_ms", "links.core_ha.delay_ms")
    assert tasks[0].parameters == {"fmipv6.lead_ms": 5, "links.core_ha.delay_ms": 10,
                                   "protocol": "hmipv6", "seed": 1}
    assert tasks[-1].parameters == {"fmipv6.lead_ms": 20, "links.core_ha.delay_ms": 90,
                                    "protocol": "fmipv6", "seed": 3}
    assert len({t.key for t in tasks}) == len(tasks)
    scenario = scenario_from_dict(tasks[-1].scenario)
    assert scenario.fmipv6.lead_ms == 20 and scenario.links.core_ha.delay_ms == 90
    assert scenario.movement.handovers == 1  # [set] applies to every run


def test_a_row_is_the_run_done_directly_with_its_parameters_as_columns() -> None:
    sweep = sweep_from_dict({"protocols": ["fhmipv6"], "seeds": [7],
                             "set": {"movement": {"handovers": 2}, "links": {"wireless": {
                                 "loss": 0.05}}},
                             "grid": {"fmipv6.lead_ms": [12]}})
    (task,) = sweep.tasks()
    row = run_task(task)
    scenario = scenario_from_dict(task.scenario)
    direct = results_to_dict(scenario, [run_protocol(scenario, "fhmipv6", seed=7)],
                             seed=7)["results"][0]
    assert row["fmipv6.lead_ms"] == 12 and row["protocol"] == "fhmipv6" and row["seed"] == 7
    assert row["handovers"] == direct["handovers"] == 2
    assert row["disruption_ms_p95"] == direct["disruption_ms"]["p95"]
    assert row["packets_lost"] == direct["packets_lost"]
    assert row["uplink_lost"] == direct["uplink"]["lost"]
    assert row["signalling_messages_per_handover"] == (
        direct["signalling"]["messages_per_handover"])
    assert all(not isinstance(v, list | dict) for v in row.values())
    assert row["wall_s"] > 0


def test_the_example_sweeps_load() -> None:
    for path in sorted((EXAMPLES / "sweeps").glob("*.toml")):
        sweep = load_sweep(path)
        assert sweep.tasks() and sweep.name == path.stem


def test_mean_and_95_percent_interval_over_seeds() -> None:
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 / math.sqrt(3))
    assert mean_ci([5.0]) == (5.0, 0.0)
    assert all(math.isnan(x) for x in mean_ci([]))
    assert mean_ci([2.0, None, 4.0])[0] == 3.0  # type: ignore[list-item]
