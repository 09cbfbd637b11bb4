"""Scenarios: the reference values, the derived round trips, TOML loading and its errors."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from mipshop.sim.scenario import (
    Fmipv6,
    LeadTime,
    Scenario,
    ScenarioError,
    auto_lead,
    draw_lead,
    handover_schedule,
    lead_bounds,
    lead_time,
    load_scenario,
    ping_pong_targets,
    reference_scenario,
    scenario_from_toml,
    scenario_to_dict,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_reference_round_trips_make_the_home_agent_far_and_the_map_near() -> None:
    data = scenario_to_dict(reference_scenario())
    assert data["rtt_ms"]["mn_ar"] == 4.0
    assert data["rtt_ms"]["mn_map"] == 14.0
    assert data["rtt_ms"]["mn_ha"] == 154.0
    assert data["rtt_ms"]["mn_cn"] == 114.0
    assert data["rtt_ms"]["mn_ha"] > 10 * data["rtt_ms"]["mn_map"]
    assert data["cbr_interval_ms"] == 20.0
    assert data["l2_handoff_ms"] == 4.0
    assert data["duration_s"] == pytest.approx(5.0 + 8 * 3.005)
    assert data["lead"]["fmipv6"] == {"mean_ms": 37.5, "min_ms": 25.0, "max_ms": 50.0}
    assert data["routers"] == {"max_ra_delay_ms": 500.0, "ra_interval_s": 3.0}
    json.dumps(data, sort_keys=True)  # JSON-ready


def test_examples_reference_spells_out_the_built_in_scenario() -> None:
    assert load_scenario(EXAMPLES / "reference.toml") == reference_scenario()


def test_a_file_overrides_only_the_keys_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[links.core_ha]\ndelay_ms = 80\n[fmipv6]\nlead_ms = 30\n')
    scenario = load_scenario(path)
    reference = reference_scenario()
    assert scenario.links.core_ha.delay_ms == 80.0
    assert scenario.links.core_ha.rate_mbps == reference.links.core_ha.rate_mbps
    assert scenario.links.core_cn == reference.links.core_cn
    assert scenario.fmipv6.lead_ms == 30.0
    assert scenario_to_dict(scenario)["rtt_ms"]["mn_ha"] == 214.0
    assert replace(scenario, name="reference", links=reference.links,
                   fmipv6=reference.fmipv6) == reference


def test_auto_lead_covers_fbu_hi_hack_and_the_last_packet() -> None:
    scenario = reference_scenario()
    # 2 ms FBU + 2 x 5 ms HI/HAck + 2 ms last packet + 0.5 ms margin (+ serialization).
    assert auto_lead(scenario) == pytest.approx(0.0145, abs=1e-4)
    # MAP-anchored: FBU to the MAP (7 ms), HI/HAck over MAP-AR (10 ms), MAP -> MN (7 ms).
    assert auto_lead(scenario, "fhmipv6") == pytest.approx(0.0245, abs=1e-4)


def test_ping_pong_schedule() -> None:
    assert ping_pong_targets(2, 4) == [1, 0, 1, 0]
    assert ping_pong_targets(3, 6) == [1, 2, 1, 0, 1, 2]
    assert handover_schedule(reference_scenario()) == pytest.approx(
        [5.0 + 3.005 * k for k in range(8)])


BAD = [
    ('[links.core_ha]\ndelay_ms = "x"\n',
     'links.core_ha.delay_ms: must be a number >= 0, got "x"'),
    ("[links.core_ha]\ndelay_ms = -1\n", "links.core_ha.delay_ms: must be a number >= 0, got -1"),
    ("[links.wireless]\nrate_mbps = 0\n", "links.wireless.rate_mbps: must be a number > 0"),
    ("[links.wireless]\nloss = 1.5\n", "links.wireless.loss: must be a number >= 0 and <= 1"),
    ("[links.satellite]\ndelay_ms = 1\n", "links.satellite: unknown key"),
    ("colour = 1\n", "colour: unknown key"),
    ("[wifi]\nchannels = 2.5\n", "wifi.channels: must be an integer"),
    ("[wifi]\nbackground_scan = 1\n", "wifi.background_scan: must be true or false, got 1"),
    ('[movement]\nmodel = "teleport"\n', 'movement.model: must be one of "ping_pong"'),
    ("[movement]\nhandovers = 0\n", "movement.handovers: must be an integer >= 1"),
    ("[movement]\nspeed_min_mps = 3.0\nspeed_max_mps = 2.0\n",
     "movement.speed_max_mps: must be >= movement.speed_min_mps"),
    ("[traffic]\ninterval_ms = 0\n", "traffic.interval_ms: must be a number > 0, got 0"),
    ("[traffic]\nstart_s = 100\n", "traffic.start_s: must be before the end of the run"),
    ('[fmipv6]\nlead_ms = "soon"\n',
     'fmipv6.lead_ms: must be a number >= 0, "auto" or a table, got "soon"'),
    ("[fmipv6]\nlead_ms = -1\n", "fmipv6.lead_ms: must be a number >= 0"),
    ('[fmipv6]\nlead_ms = { distribution = "cauchy" }\n',
     'fmipv6.lead_ms.distribution: must be one of "uniform", "normal"'),
    ("[fmipv6]\nlead_ms = { low_ms = 30, high_ms = 10 }\n",
     "fmipv6.lead_ms.high_ms: must be >= fmipv6.lead_ms.low_ms (30), got 10"),
    ("[fmipv6]\nlead_ms = { sd = 3 }\n", "fmipv6.lead_ms.sd: unknown key"),
    ("[routers]\nmax_ra_delay_ms = -5\n", "routers.max_ra_delay_ms: must be a number >= 0"),
    ("[routers]\nra_interval_s = 0.1\nmax_ra_delay_ms = 500\n",
     "routers.max_ra_delay_ms: must be <= routers.ra_interval_s (0.1 s), got 500"),
    ("mobile_nodes = true\n", "mobile_nodes: must be an integer >= 1"),
    ("links = 3\n", "links: must be a table, got 3"),
    ('name = 3\n', "name: must be a string, got 3"),
    ("[links.core_ha\ndelay_ms = 1\n", "TOML syntax error"),
    ("[traffic]\ninterval_ms = 20\ninterval_ms = 30\n", "line 3"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_files_name_the_key_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_syntax_errors_give_the_line() -> None:
    with pytest.raises(ScenarioError, match=r"line 2"):
        scenario_from_toml('name = "a"\nmobile_nodes = = 3\n')


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nowhere.toml")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem


def test_map_domains_are_the_squarest_blocks_of_the_grid() -> None:
    from mipshop.sim.scenario import map_domains, scenario_from_dict

    city = scenario_from_dict({"movement": {"model": "random_waypoint", "grid_columns": 20,
                                            "grid_rows": 10}, "topology": {"maps": 10}})
    domains = map_domains(city)
    blocks = {d: [(k % 20, k // 20) for k, dd in enumerate(domains) if dd == d]
              for d in range(10)}
    for cells in blocks.values():
        columns = {c for c, _r in cells}
        rows = {r for _c, r in cells}
        assert len(cells) == 20 and len(columns) == 4 and len(rows) == 5
    # 7 domains do not tile a 4 x 4 grid: consecutive runs in row order instead.
    odd = scenario_from_dict({"movement": {"model": "random_waypoint", "grid_columns": 4,
                                           "grid_rows": 4}, "topology": {"maps": 7}})
    assert map_domains(odd) == [k * 7 // 16 for k in range(16)]
    assert map_domains(scenario_from_dict({"topology": {"maps": 2}})) == [0, 1]


@pytest.mark.parametrize(("text", "message"), [
    ("[topology]\nmaps = 3", "topology.maps: must be at most the number of access points (2)"),
    ('[topology]\nar_links = "ring"', 'topology.ar_links: must be one of "mesh", "none"'),
    ("[routers]\nra_interval_s = 0", "routers.ra_interval_s: must be a number > 0"),
    ("[traffic]\ncall_every = 0", "traffic.call_every: must be an integer >= 1"),
])
def test_topology_routers_and_calls_are_checked(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scenario_from_toml(text)


def test_the_lead_is_a_number_auto_or_a_distribution() -> None:
    fixed = scenario_from_toml("[fmipv6]\nlead_ms = 30\n")
    assert fixed.fmipv6.lead_ms == 30.0
    assert lead_bounds(fixed) == (0.03, 0.03) and lead_time(fixed) == 0.03
    auto = scenario_from_toml('[fmipv6]\nlead_ms = "auto"\n')
    assert auto.fmipv6.lead_ms is None
    assert lead_time(auto, "fhmipv6") == auto_lead(auto, "fhmipv6")
    normal = scenario_from_toml(
        '[fmipv6]\nlead_ms = { distribution = "normal", mean_ms = 20, sd_ms = 10 }\n')
    assert isinstance(normal.fmipv6.lead_ms, LeadTime)
    assert lead_bounds(normal) == pytest.approx((0.0, 0.06))
    # Truncated at 0: the mean moves up a little from 20 ms.
    assert 0.020 < lead_time(normal) < 0.0215


@pytest.mark.parametrize("shape", [
    LeadTime(distribution="uniform", low_ms=25.0, high_ms=50.0),
    LeadTime(distribution="normal", mean_ms=20.0, sd_ms=10.0),
    LeadTime(distribution="normal", mean_ms=5.0, sd_ms=0.0),
])
def test_drawn_leads_stay_in_bounds_and_average_to_the_mean(shape: LeadTime) -> None:
    scenario = replace(reference_scenario(), fmipv6=Fmipv6(lead_ms=shape))
    rng = random.Random(7)
    draws = [draw_lead(scenario, "fmipv6", rng) for _ in range(4000)]
    low, high = lead_bounds(scenario)
    assert all(low <= d <= high for d in draws)
    assert sum(draws) / len(draws) == pytest.approx(lead_time(scenario), rel=0.03)
    again = random.Random(7)
    assert draws[:5] == [draw_lead(scenario, "fmipv6", again) for _ in range(5)]
