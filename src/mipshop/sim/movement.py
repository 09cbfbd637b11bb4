"""Movement: scripted paths and random waypoint, turned into handoff decisions.

A :class:`HandoffDecision` says *when* the link switch to *which* AP starts, and when the
"link going down" warning comes (:class:`~.triggers.LinkGoingDown`).
:meth:`.wifi.Station.follow` schedules them.

* :func:`ping_pong`: back and forth between two APs with a dwell time (the ping-pong case of
  RFC 5568 §5.5 / digest §7.5).
* :class:`Trajectory` (piecewise-linear waypoints) built by :func:`line` (a straight line
  through many cells) or :func:`random_waypoint` (Johnson and Maltz's model, "Dynamic Source
  Routing in Ad Hoc Wireless Networks", 1996: pick a destination uniformly, move at a uniform
  random speed, pause, repeat; here destinations are the centres of a grid of cells).
* :func:`handoffs_along`: sample a trajectory, compute each AP's received signal strength with
  the log-distance path-loss model (Rappaport, *Wireless Communications*, §4.9:
  ``P(d) = P(d0) - 10 n log10(d / d0)``), switch when another AP is stronger than the current
  one by ``hysteresis_db``; warn either ``lead`` seconds before the switch, or, with
  ``warning_margin_db``, when another AP first comes within that margin of the switching
  condition (a signal-strength threshold trigger).

Everything is a pure function of its arguments (random waypoint takes a seeded
``random.Random``), so a seed fixes the movement.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class HandoffDecision:
    """Switch to AP ``target`` at ``time``; warn (LinkGoingDown) at ``warning`` (None: no
    warning)."""

    time: float
    target: str
    warning: float | None = None


def ping_pong(
    first: str,
    second: str,
    *,
    dwell: float,
    count: int,
    start: float = 0.0,
    lead: float | None = 0.0,
) -> list[HandoffDecision]:
    """``count`` handoffs alternating to ``second`` and ``first``, one every ``dwell`` seconds
    from ``start + dwell`` (the station is assumed on ``first`` at ``start``)."""
    decisions = []
    for index in range(count):
        time = start + (index + 1) * dwell
        target = second if index % 2 == 0 else first
        decisions.append(HandoffDecision(time, target, None if lead is None else time - lead))
    return decisions


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Piecewise-linear movement: ``(time, x, y)`` waypoints in increasing time."""

    waypoints: tuple[tuple[float, float, float], ...]

    def __post_init__(self) -> None:
        times = [w[0] for w in self.waypoints]
        if not times or times != sorted(times):
            raise ValueError("waypoints need increasing times")

    @property
    def start(self) -> float:
        """Time of the first waypoint."""
        return self.waypoints[0][0]

    @property
    def end(self) -> float:
        """Time of the last waypoint."""
        return self.waypoints[-1][0]

    def position(self, time: float) -> Point:
        """Where the node is at ``time`` (clamped to the first/last waypoint)."""
        points = self.waypoints
        if time <= points[0][0]:
            return points[0][1], points[0][2]
        if time >= points[-1][0]:
            return points[-1][1], points[-1][2]
        index = bisect.bisect_right([p[0] for p in points], time)
        t0, x0, y0 = points[index - 1]
        t1, x1, y1 = points[index]
        if t1 == t0:
            return x1, y1
        f = (time - t0) / (t1 - t0)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)


def line(start: Point, end: Point, speed: float, t0: float = 0.0) -> Trajectory:
    """A straight line from ``start`` to ``end`` at ``speed`` (m/s), leaving at ``t0``."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    distance = math.dist(start, end)
    return Trajectory(((t0, *start), (t0 + distance / speed, *end)))


def grid(columns: int, rows: int, spacing: float) -> list[Point]:
    """Centres of a ``columns`` x ``rows`` grid of square cells of side ``spacing``."""
    return [((c + 0.5) * spacing, (r + 0.5) * spacing) for r in range(rows) for c in range(columns)]


def random_waypoint(
    rng: random.Random,
    cells: Sequence[Point],
    *,
    duration: float,
    speed: tuple[float, float] = (1.0, 1.5),
    pause: float = 0.0,
    start: Point | None = None,
    t0: float = 0.0,
) -> Trajectory:
    """Random waypoint over ``cells``: go to a random cell centre at a uniform random speed in
    ``speed`` (m/s), pause, repeat until ``duration`` seconds have passed."""
    low, high = speed
    if low <= 0 or high < low:
        raise ValueError("speed range must be positive and ordered")
    here = start if start is not None else rng.choice(cells)
    time = t0
    points = [(time, *here)]
    while time < t0 + duration:
        target = rng.choice(cells)
        if target == here:
            continue
        time += math.dist(here, target) / rng.uniform(low, high)
        points.append((time, *target))
        here = target
        if pause:
            time += pause
            points.append((time, *here))
    return Trajectory(tuple(points))


def received_power(
    distance: float, *, reference_dbm: float = -40.0, exponent: float = 3.0,
    reference_distance: float = 1.0,
) -> float:
    """Log-distance path loss: ``reference_dbm - 10 exponent log10(d / d0)``, d clamped to d0."""
    d = max(distance, reference_distance)
    return reference_dbm - 10.0 * exponent * math.log10(d / reference_distance)


def handoffs_along(
    trajectory: Trajectory,
    access_points: Mapping[str, Point],
    *,
    step: float = 0.01,
    hysteresis_db: float = 3.0,
    lead: float = 0.0,
    warning_margin_db: float | None = None,
    exponent: float = 3.0,
) -> tuple[str, list[HandoffDecision]]:
    """The AP serving the start of ``trajectory`` and the handoffs along it.

    Sampling every ``step`` seconds, the station switches when some AP's power exceeds the
    current AP's by ``hysteresis_db``. The warning is ``lead`` seconds before the switch
    (not before the previous switch), or, with ``warning_margin_db``, the first sample after
    the previous switch where that AP was within ``warning_margin_db`` of the switching
    condition.
    """
    names = sorted(access_points)
    if not names:
        raise ValueError("no access points")

    def powers(time: float) -> dict[str, float]:
        here = trajectory.position(time)
        return {n: received_power(math.dist(here, access_points[n]), exponent=exponent)
                for n in names}

    first = powers(trajectory.start)
    current = max(names, key=lambda n: (first[n], n))
    decisions: list[HandoffDecision] = []
    last_switch = trajectory.start
    early: dict[str, float] = {}
    samples = math.floor((trajectory.end - trajectory.start) / step + 1e-9)
    for index in range(1, samples + 1):
        time = trajectory.start + index * step
        power = powers(time)
        best = max((n for n in names if n != current), key=lambda n: (power[n], n), default=None)
        if best is None:
            continue
        gap = power[best] - power[current]
        if warning_margin_db is not None and gap >= hysteresis_db - warning_margin_db:
            early.setdefault(best, time)
        if gap >= hysteresis_db:
            if warning_margin_db is not None:
                warning = early.get(best, time)
            else:
                warning = max(time - lead, last_switch)
            decisions.append(HandoffDecision(round(time, 9), best, round(warning, 9)))
            current = best
            last_switch = time
            early.clear()
    return max(names, key=lambda n: (first[n], n)), decisions
