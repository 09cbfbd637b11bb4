"""Movement: scripted paths, random waypoint determinism, signal-strength handoff decisions."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.sim.movement import (
    HandoffDecision,
    Trajectory,
    grid,
    handoffs_along,
    line,
    ping_pong,
    random_waypoint,
    received_power,
)

APS = {"ap0": (0.0, 0.0), "ap1": (100.0, 0.0), "ap2": (200.0, 0.0)}


def test_ping_pong_alternates_with_dwell_and_lead() -> None:
    assert ping_pong("a", "b", dwell=2.0, count=3, start=1.0, lead=0.25) == [
        HandoffDecision(3.0, "b", 2.75),
        HandoffDecision(5.0, "a", 4.75),
        HandoffDecision(7.0, "b", 6.75),
    ]
    assert ping_pong("a", "b", dwell=1.0, count=1, lead=None) == [HandoffDecision(1.0, "b")]


def test_trajectory_interpolates_and_clamps() -> None:
    path = Trajectory(((0.0, 0.0, 0.0), (10.0, 100.0, 0.0), (20.0, 100.0, 50.0)))
    assert path.position(-1) == (0.0, 0.0)
    assert path.position(5.0) == (50.0, 0.0)
    assert path.position(15.0) == (100.0, 25.0)
    assert path.position(99.0) == (100.0, 50.0)
    with pytest.raises(ValueError):
        Trajectory(((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)))


def test_log_distance_path_loss() -> None:
    assert received_power(1.0) == -40.0
    assert received_power(0.1) == -40.0  # clamped to the reference distance
    assert received_power(10.0) == pytest.approx(-70.0)  # n = 3: 30 dB per decade
    assert received_power(100.0, exponent=2.0) == pytest.approx(-80.0)


def test_line_through_cells_switches_past_the_hysteresis_point() -> None:
    # 30 log10(d_old / d_new) >= 3 dB  <=>  d_old / d_new >= 10 ** 0.1, i.e. x = 55.73 m past
    # each AP at 10 m/s; sampled every 10 ms, so the switch is at the next multiple of 10 ms.
    ratio = 10 ** 0.1
    crossing = 100 * ratio / (1 + ratio) / 10.0
    first, decisions = handoffs_along(line((0.0, 0.0), (200.0, 0.0), 10.0), APS, lead=0.5)
    assert first == "ap0"
    expected = [math.ceil(crossing * 100) / 100, math.ceil((10 + crossing) * 100) / 100]
    assert [d.target for d in decisions] == ["ap1", "ap2"]
    assert [d.time for d in decisions] == pytest.approx(expected)
    assert [d.warning for d in decisions] == pytest.approx([t - 0.5 for t in expected])


def test_signal_threshold_warning() -> None:
    ratio = 10 ** (2 / 30)  # within 1 dB of the 3 dB hysteresis
    early = 100 * ratio / (1 + ratio) / 10.0
    _first, decisions = handoffs_along(line((0.0, 0.0), (100.0, 0.0), 10.0), APS,
                                       warning_margin_db=1.0)
    assert len(decisions) == 1
    assert decisions[0].warning == pytest.approx(math.ceil(early * 100) / 100)
    assert decisions[0].warning < decisions[0].time


def test_no_handoff_without_moving_out_of_the_cell() -> None:
    assert handoffs_along(line((0.0, 0.0), (40.0, 0.0), 5.0), APS) == ("ap0", [])


def test_grid_cells() -> None:
    assert grid(2, 2, 10.0) == [(5.0, 5.0), (15.0, 5.0), (5.0, 15.0), (15.0, 15.0)]


@given(st.integers(0, 10_000))
def test_random_waypoint_is_fixed_by_its_seed(seed: int) -> None:
    cells = grid(4, 4, 50.0)
    one = random_waypoint(random.Random(seed), cells, duration=300.0, pause=2.0)
    two = random_waypoint(random.Random(seed), cells, duration=300.0, pause=2.0)
    assert one == two
    assert one.end >= 300.0
    for _t, x, y in one.waypoints:
        assert (x, y) in cells
    speeds = [
        math.dist(a[1:], b[1:]) / (b[0] - a[0])
        for a, b in zip(one.waypoints, one.waypoints[1:], strict=False)
        if b[0] > a[0] and a[1:] != b[1:]
    ]
    assert all(1.0 - 1e-9 <= s <= 1.5 + 1e-9 for s in speeds)


def test_random_waypoint_handoffs_repeat_for_a_seed() -> None:
    cells = grid(3, 3, 60.0)
    aps = {f"ap{i}": c for i, c in enumerate(cells)}

    def decisions(seed: int) -> list[HandoffDecision]:
        path = random_waypoint(random.Random(seed), cells, duration=600.0, speed=(5.0, 10.0))
        return handoffs_along(path, aps, step=0.05, lead=0.2)[1]

    assert decisions(1) == decisions(1)
    assert decisions(1) != decisions(2)
    assert len(decisions(1)) > 3


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 5), st.integers(1, 4),
       st.sampled_from([7.3, 20.0, 50.0, 150.0]), st.sampled_from([0.0, 1.0, 3.0, 6.0]),
       st.sampled_from([0.01, 0.05]), st.sampled_from([0.0, 2.0]))
def test_the_geometric_search_decides_as_evaluating_every_sample(
    seed: int, columns: int, rows: int, cell: float, hysteresis: float, step: float,
    pause: float,
) -> None:
    from mipshop.sim.movement import _sampled_handoffs

    cells = grid(max(columns, 2), rows, cell)
    aps = {f"bss{k}": p for k, p in enumerate(cells)}
    path = random_waypoint(random.Random(seed), cells, duration=60.0, speed=(1.0, 12.0),
                           pause=pause, t0=3.0)
    fast = handoffs_along(path, aps, step=step, hysteresis_db=hysteresis, lead=0.1)
    every = _sampled_handoffs(path, aps, step=step, hysteresis_db=hysteresis, lead=0.1,
                              warning_margin_db=None, exponent=3.0)
    assert fast == every


def test_random_waypoint_legs_are_the_trajectory_drawn_lazily() -> None:
    from mipshop.sim.movement import random_waypoint_legs

    cells = grid(4, 3, 30.0)
    path = random_waypoint(random.Random(5), cells, duration=300.0, pause=2.0, t0=1.0)
    legs = random_waypoint_legs(random.Random(5), cells, pause=2.0, t0=1.0)
    points = [next(legs)]
    while len(points) < len(path.waypoints):
        points.extend(next(legs))
    assert tuple(points) == path.waypoints


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([0.0, 1.0, 3.0, 6.0, 12.0, 20.0]),
       st.sampled_from([0.0, 2.0, 30.0]))
def test_a_handoff_never_goes_further_than_the_neighbourhood(seed: int, hysteresis: float,
                                                             pause: float) -> None:
    # The simulator's neighbourhood tables hold the access routers within that many cells.
    ratio = 10 ** (hysteresis / 30.0)
    reach = max(2, math.ceil(ratio / math.sqrt(2) + 0.5))
    columns, rows, cell = 12, 10, 50.0
    cells = grid(columns, rows, cell)
    aps = {f"bss{k}": p for k, p in enumerate(cells)}
    path = random_waypoint(random.Random(seed), cells, duration=900.0, speed=(0.5, 15.0),
                           pause=pause)
    first, decisions = handoffs_along(path, aps, step=0.05, hysteresis_db=hysteresis)
    current = int(first.removeprefix("bss"))
    for decision in decisions:
        target = int(decision.target.removeprefix("bss"))
        assert max(abs(target % columns - current % columns),
                   abs(target // columns - current // columns)) <= reach
        current = target
