"""Movement: scripted paths and random waypoint, turned into handoff decisions.

A :class:`HandoffDecision` says *when* the link switch to *which* AP starts, and when the
"link going down" warning comes (:class:`~.triggers.LinkGoingDown`).
:meth:`.wifi.Station.follow` schedules them.

* :func:`ping_pong`: back and forth between two APs with a dwell time (the ping-pong case of
  RFC 5568 §5.5).
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
import functools
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    legs = random_waypoint_legs(rng, cells, speed=speed, pause=pause, start=start, t0=t0)
    points = [next(legs)]
    while points[-1][0] < t0 + duration:
        points.extend(next(legs))
    return Trajectory(tuple(points))


Waypoint = tuple[float, float, float]


def random_waypoint_legs(
    rng: random.Random,
    cells: Sequence[Point],
    *,
    speed: tuple[float, float] = (1.0, 1.5),
    pause: float = 0.0,
    start: Point | None = None,
    t0: float = 0.0,
) -> Iterator[Any]:
    """:func:`random_waypoint` drawn lazily, with no end: the start ``(t0, x, y)`` first, then
    each leg as a tuple of its waypoints (the destination, and the end of the pause there).
    Nothing is checked or drawn before the first ``next`` (as a generator would)."""
    return _Legs(rng, cells, speed, pause, start, t0)


class _Legs:
    """The iterator of :func:`random_waypoint_legs`: a class with slots rather than a
    generator, whose frame (200 bytes) every mobile node of a city keeps all run."""

    __slots__ = ("cells", "here", "pause", "rng", "speed", "started", "time")

    def __init__(self, rng: random.Random, cells: Sequence[Point], speed: tuple[float, float],
                 pause: float, start: Point | None, t0: float) -> None:
        self.rng = rng
        self.cells = cells
        self.speed = speed
        self.pause = pause
        self.here = start
        self.time = t0
        self.started = False

    def __iter__(self) -> _Legs:
        return self

    def __next__(self) -> Any:
        low, high = self.speed
        if not self.started:
            if low <= 0 or high < low:
                raise ValueError("speed range must be positive and ordered")
            self.started = True
            if self.here is None:
                self.here = self.rng.choice(self.cells)
            return (self.time, *self.here)
        rng, here = self.rng, self.here
        while True:
            target = rng.choice(self.cells)
            if target == here:
                continue
            self.time += math.dist(here, target) / rng.uniform(low, high)  # type: ignore[arg-type]
            arrival = (self.time, *target)
            self.here = target
            if self.pause:
                self.time += self.pause
                return (arrival, (self.time, *target))
            return (arrival,)


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
    exact: bool = False,
) -> tuple[str, list[HandoffDecision]]:
    """The AP serving the start of ``trajectory`` and the handoffs along it.

    Sampling every ``step`` seconds, the station switches when some AP's power exceeds the
    current AP's by ``hysteresis_db``. The warning is ``lead`` seconds before the switch
    (not before the previous switch), or, with ``warning_margin_db``, the first sample after
    the previous switch where that AP was within ``warning_margin_db`` of the switching
    condition.

    Without ``warning_margin_db`` the samples where the condition may hold are found from the
    geometry first (:class:`HandoffFinder`), and only those are evaluated; the decisions are
    those of evaluating every sample.

    With ``exact`` the switch happens when the power gap reaches ``hysteresis_db`` (bisected
    between the sample that sees it and the one before, to 1 µs) rather than at that sample:
    handoff instants then fall anywhere, not on the ``step`` grid (which would put every
    handoff at the same few points of a periodic flow's cycle).
    """
    if warning_margin_db is None and HandoffFinder.applies(access_points, hysteresis_db,
                                                             exponent):
        finder = HandoffFinder(access_points, step=step, hysteresis_db=hysteresis_db, lead=lead,
                               exponent=exponent, exact=exact)
        samples = math.floor((trajectory.end - trajectory.start) / step + 1e-9)
        points = trajectory.waypoints
        first, found = finder.decisions(iter(points), last_sample=samples)
        return first, list(found)
    return _sampled_handoffs(trajectory, access_points, step=step, hysteresis_db=hysteresis_db,
                             lead=lead, warning_margin_db=warning_margin_db, exponent=exponent,
                             exact=exact)


def _sampled_handoffs(
    trajectory: Trajectory,
    access_points: Mapping[str, Point],
    *,
    step: float,
    hysteresis_db: float,
    lead: float,
    warning_margin_db: float | None,
    exponent: float,
    exact: bool = False,
) -> tuple[str, list[HandoffDecision]]:
    """:func:`handoffs_along` evaluating the condition at every sample."""
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
            if exact:
                def gap_at(when: float, best: str = best, current: str = current) -> float:
                    here = trajectory.position(when)
                    return (received_power(math.dist(here, access_points[best]),
                                           exponent=exponent)
                            - received_power(math.dist(here, access_points[current]),
                                             exponent=exponent))
                time = crossing(gap_at, hysteresis_db, time - step, time)
            if warning_margin_db is not None:
                warning = early.get(best, time)
            else:
                warning = max(time - lead, last_switch)
            decisions.append(HandoffDecision(round(time, 9), best, round(warning, 9)))
            current = best
            last_switch = time
            early.clear()
    return max(names, key=lambda n: (first[n], n)), decisions


class _Grid:
    """Access points in square buckets, for the ones within a distance of a point."""

    def __init__(self, positions: Sequence[Point]) -> None:
        xs = [p[0] for p in positions]
        ys = [p[1] for p in positions]
        self.x0, self.y0 = min(xs), min(ys)
        span = max(max(xs) - self.x0, max(ys) - self.y0)
        self.size = max(span / max(1, math.isqrt(len(positions))), 1e-6)
        self.positions = positions
        self.buckets: dict[tuple[int, int], list[int]] = {}
        for index, (x, y) in enumerate(positions):
            key = (int((x - self.x0) // self.size), int((y - self.y0) // self.size))
            self.buckets.setdefault(key, []).append(index)

    def within(self, x: float, y: float, radius: float) -> list[int]:
        """Indices of the access points at most ``radius`` from ``(x, y)``, in index order."""
        size, x0, y0 = self.size, self.x0, self.y0
        low_i, high_i = int((x - radius - x0) // size), int((x + radius - x0) // size)
        low_j, high_j = int((y - radius - y0) // size), int((y + radius - y0) // size)
        found: list[int] = []
        buckets = self.buckets
        if (high_i - low_i + 1) * (high_j - low_j + 1) > len(buckets):
            candidates: Iterable[list[int]] = buckets.values()
        else:
            candidates = (buckets[key] for i in range(low_i, high_i + 1)
                          for j in range(low_j, high_j + 1) if (key := (i, j)) in buckets)
        positions = self.positions
        for bucket in candidates:
            for index in bucket:
                px, py = positions[index]
                if math.hypot(px - x, py - y) <= radius:
                    found.append(index)
        found.sort()
        return found


class HandoffFinder:
    """:func:`handoffs_along` without evaluating every sample, over a trajectory given lazily.

    With the log-distance model, AP ``b`` beats the current AP ``c`` by ``h`` dB where
    ``|p - c| >= r |p - b|``, ``r = 10 ** (h / 10 n)``: outside ``c``'s side of an Apollonius
    circle. Along a straight piece of the path, ``|p(s) - c|^2 - r^2 |p(s) - b|^2`` is a
    quadratic in time, so the times where ``b`` may win are an interval found in closed form;
    only the samples in (or one step around) such an interval are evaluated, by the same
    computation as every sample would be (:func:`received_power` of each AP near the point),
    so the decisions are identical. Pieces are at most one AP spacing long, and only APs
    close enough to win anywhere on the piece (``|b - c| <= (1 + 1/r) max |p - c|``) are
    solved for. The distance clamp of :func:`received_power` (the reference distance) plays no
    part when APs stand further apart than :meth:`applies` asks.
    """

    def __init__(self, access_points: Mapping[str, Point], *, step: float,
                 hysteresis_db: float, lead: float, exponent: float = 3.0,
                 exact: bool = False) -> None:
        #: Bisect each switch to the instant the gap reaches the hysteresis (handoffs_along).
        self.exact = exact
        self.names = sorted(access_points)
        self.positions = [access_points[n] for n in self.names]
        self.index = _Grid(self.positions)
        self.step = step
        self.hysteresis = hysteresis_db
        self.lead = lead
        self.exponent = exponent
        self.ratio = 10 ** (hysteresis_db / (10.0 * exponent))
        self.piece = max(self.index.size, 1.0)

    @staticmethod
    def applies(access_points: Mapping[str, Point], hysteresis_db: float,
                exponent: float) -> bool:
        """True when no two APs are within a few reference distances (1 m) of each other, so
        the closed form describes the model exactly (up to rounding, which the exact
        evaluation of the candidate samples settles)."""
        if len(access_points) < 2 or hysteresis_db < 0 or exponent <= 0:
            return False
        positions = list(access_points.values())
        grid = _Grid(positions)
        for index, (x, y) in enumerate(positions):
            if any(other != index for other in grid.within(x, y, 4.0)):
                return False
        return True

    # -- the exact evaluation of one sample -------------------------------------------------

    def _power(self, here: Point, index: int) -> float:
        return received_power(math.dist(here, self.positions[index]), exponent=self.exponent)

    def _best(self, here: Point) -> int:
        """The AP serving ``here``: the strongest, the greatest name among equals."""
        radius = self.index.size
        while True:
            near = self.index.within(here[0], here[1], radius)
            if near:
                closest = min(math.dist(here, self.positions[i]) for i in near)
                if closest <= radius:
                    break
            radius *= 2
        chosen = self.index.within(here[0], here[1], max(closest, 1.0) * (1 + 1e-9) + 1e-9)
        return max(chosen, key=lambda i: (self._power(here, i), self.names[i]))

    def _switch(self, here: Point, current: int) -> int | None:
        """The AP to switch to at ``here``, or None (the sampled rule)."""
        own = self._power(here, current)
        reach = max(math.dist(here, self.positions[current]), 1.0) * (1 + 1e-9) + 1e-9
        best = -1
        best_power = -math.inf
        for index in self.index.within(here[0], here[1], reach):
            if index == current:
                continue
            power = self._power(here, index)
            if power > best_power or (power == best_power
                                      and self.names[index] > self.names[best]):
                best, best_power = index, power
        if best >= 0 and best_power - own >= self.hysteresis:
            return best
        return None

    def _gap(self, here_of: Callable[[float], Point], target: int, current: int,
             time: float) -> float:
        """How much ``target`` beats ``current`` (dB) at ``time``."""
        here = here_of(time)
        return self._power(here, target) - self._power(here, current)

    # -- the candidate samples of a straight piece ------------------------------------------

    def _intervals(self, ax: float, ay: float, ux: float, uy: float, s0: float, s1: float,
                   current: int) -> list[tuple[float, float]]:
        """Sub-intervals of ``[s0, s1]`` (time since the piece's start) where some AP may beat
        ``current``, for the path ``a + u s``."""
        cx, cy = self.positions[current]
        r2 = self.ratio * self.ratio
        reach = (1.0 + 1.0 / self.ratio) * max(
            math.hypot(ax + ux * s0 - cx, ay + uy * s0 - cy),
            math.hypot(ax + ux * s1 - cx, ay + uy * s1 - cy)) * (1 + 1e-9) + 1e-6
        uu = ux * ux + uy * uy
        a1x, a1y = ax - cx, ay - cy
        c1 = a1x * ux + a1y * uy
        g1 = a1x * a1x + a1y * a1y
        found = []
        for index in self.index.within(cx, cy, reach):
            if index == current:
                continue
            bx, by = self.positions[index]
            a2x, a2y = ax - bx, ay - by
            alpha = (1.0 - r2) * uu
            beta = c1 - r2 * (a2x * ux + a2y * uy)
            gamma = g1 - r2 * (a2x * a2x + a2y * a2y)
            scale = abs(beta) * abs(beta) + abs(alpha * gamma) + 1e-300
            if alpha == 0.0:
                if beta == 0.0:
                    if gamma >= -1e-9 * (abs(g1) + 1.0):
                        found.append((s0, s1))
                    continue
                root = -gamma / (2 * beta)
                low, high = (root, s1) if beta > 0 else (s0, root)
            else:
                # alpha < 0: f >= 0 between the roots.
                disc = beta * beta - alpha * gamma
                if disc < -1e-9 * scale:
                    continue
                width = math.sqrt(max(disc, 0.0))
                r_a, r_b = (-beta + width) / alpha, (-beta - width) / alpha
                low, high = min(r_a, r_b), max(r_a, r_b)
            if high < s0 or low > s1:
                continue
            found.append((max(low, s0), min(high, s1)))
        return found

    # -- the walk -------------------------------------------------------------------------

    def decisions(self, points: Iterator[Waypoint], *,
                  last_sample: int | None = None) -> tuple[str, Iterator[HandoffDecision]]:
        """The AP serving the first waypoint, and the handoffs along the waypoints (a lazy
        generator; with ``last_sample`` the samples stop there and the path holds still
        after its last waypoint, as :meth:`Trajectory.position` clamps)."""
        first_point = next(points)
        start = first_point[0]
        current = self._best((first_point[1], first_point[2]))
        return self.names[current], _Walk(self, points, first_point, start, current,
                                          last_sample)

    def _next_switch(self, k_low: int, k_high: int, start: float, t0: float, x0: float,
                     y0: float, t1: float, x1: float, y1: float,
                     current: int) -> tuple[int, int | None]:
        """The first sample in ``[k_low, k_high]`` of the moving segment where the station
        switches, and the AP it switches to (None: no switch on the segment)."""
        step = self.step
        span = t1 - t0
        ux, uy = (x1 - x0) / span, (y1 - y0) / span
        speed = math.hypot(ux, uy)
        # Pieces of at most one AP spacing, in samples.
        per_piece = max(1, int(self.piece / (speed * step)) if speed > 0 else k_high - k_low + 1)
        piece_low = k_low
        while piece_low <= k_high:
            piece_high = min(k_high, piece_low + per_piece - 1)
            s0 = max(start + piece_low * step - t0, 0.0)
            s1 = min(start + piece_high * step - t0, span)
            candidates: set[int] = set()
            for low, high in self._intervals(x0, y0, ux, uy, s0, s1, current):
                first = math.ceil((t0 + low - start) / step) - 1
                last = math.floor((t0 + high - start) / step) + 1
                candidates.update(range(max(first, piece_low), min(last, piece_high) + 1))
            for sample in sorted(candidates):
                here = _at(start + sample * step, t0, x0, y0, t1, x1, y1)
                target = self._switch(here, current)
                if target is not None:
                    return sample, target
            piece_low = piece_high + 1
        return k_high, None


#: :attr:`_Walk.following` between two segments: the next one is still to be taken.
_NEXT_SEGMENT: Any = object()


class _Walk:
    """The handoffs of :meth:`HandoffFinder.decisions` along the waypoints, one per ``next``.

    An iterator with slots rather than a generator: every mobile node of a city keeps its walk
    for the whole run, and a generator's frame (the loop's every local) was 470 bytes. The
    state kept between two handoffs is the segment being walked (from ``(t0, x0, y0)`` to
    ``(t1, x1, y1)``, its last sample ``high``, whether it moves), the next sample ``k``, the
    serving AP and the time of the last switch.
    """

    __slots__ = ("current", "finder", "following", "high", "k", "last_sample", "last_switch",
                 "moving", "segments", "start", "t0", "t1", "x0", "x1", "y0", "y1")

    def __init__(self, finder: HandoffFinder, points: Iterator[Waypoint], first_point: Waypoint,
                 start: float, current: int, last_sample: int | None) -> None:
        self.finder = finder
        self.segments: _Segments | None = _Segments(points)
        self.start = start
        self.current = current
        self.last_sample = last_sample
        self.last_switch = start
        self.k = 1  # the next sample to look at
        self.t0, self.x0, self.y0 = first_point
        self.t1, self.x1, self.y1 = first_point
        self.following: Any = _NEXT_SEGMENT
        self.high: int | None = None
        self.moving = False

    def __iter__(self) -> _Walk:
        return self

    def _end(self) -> StopIteration:
        self.segments = None  # let go of the walk (a generator's return would)
        return StopIteration()

    def __next__(self) -> HandoffDecision:
        finder = self.finder
        segments = self.segments
        if segments is None:
            raise StopIteration
        step, start, last_sample = finder.step, self.start, self.last_sample
        while True:
            if self.following is _NEXT_SEGMENT:
                following = self.following = next(segments)
                x0, y0 = self.x0, self.y0
                t1, x1, y1 = following if following is not None else (math.inf, x0, y0)
                # The samples whose time falls in [t0, t1): a sample exactly at a waypoint is
                # on the segment the waypoint starts (Trajectory.position bisects to the right).
                high: int | None = None if t1 == math.inf else _last_before(start, step, t1)
                if last_sample is not None:
                    high = last_sample if high is None else min(high, last_sample)
                self.t1, self.x1, self.y1, self.high = t1, x1, y1, high
                self.moving = t1 != math.inf and (x0 != x1 or y0 != y1)
            high, moving, k, current = self.high, self.moving, self.k, self.current
            t0, x0, y0, t1, x1, y1 = self.t0, self.x0, self.y0, self.t1, self.x1, self.y1
            while high is None or k <= high:
                if moving:
                    assert high is not None
                    chosen, target = finder._next_switch(k, high, start, t0, x0, y0, t1, x1,
                                                         y1, current)
                else:
                    # Standing still: every sample sees the same point.
                    chosen, target = k, finder._switch((x0, y0), current)
                    if target is None and high is None:
                        raise self._end()
                if target is None:
                    k = high + 1  # type: ignore[operator]
                    break
                time = start + chosen * step
                if finder.exact and moving:
                    low = max(t0, time - step, self.last_switch)
                    time = crossing(
                        functools.partial(finder._gap, functools.partial(
                            _at, t0=t0, x0=x0, y0=y0, t1=t1, x1=x1, y1=y1), target, current),
                        finder.hysteresis, low, time)
                warning = max(time - finder.lead, self.last_switch)
                self.current = target
                self.last_switch = time
                self.k = chosen + 1
                return HandoffDecision(round(time, 9), finder.names[target], round(warning, 9))
            self.k = k
            if self.following is None or (last_sample is not None and k > last_sample):
                raise self._end()
            self.t0, self.x0, self.y0 = t1, x1, y1
            self.following = _NEXT_SEGMENT


def crossing(gap: Callable[[float], float], threshold: float, low: float, high: float) -> float:
    """The instant in ``(low, high]`` where ``gap`` reaches ``threshold`` (bisection to 1 µs;
    ``gap`` is below it at ``low``, or ``low`` itself is returned, and reaches it at
    ``high``)."""
    if gap(low) >= threshold:
        return low
    while high - low > 1e-6:
        middle = (low + high) / 2
        if gap(middle) >= threshold:
            high = middle
        else:
            low = middle
    return high


class _Segments:
    """The waypoints after the first, one at a time (a leg's tuple of waypoints flattened),
    then None (the path holds still): an iterator with slots, not a generator (whose frame a
    city's every mobile node would keep all run)."""

    __slots__ = ("done", "index", "leg", "points")

    def __init__(self, points: Iterator[Any]) -> None:
        self.points = points
        self.leg: tuple[Waypoint, ...] = ()
        self.index = 0
        self.done = False

    def __iter__(self) -> _Segments:
        return self

    def __next__(self) -> Waypoint | None:
        leg = self.leg
        if self.index < len(leg):
            self.index += 1
            return leg[self.index - 1]
        if self.done:
            raise StopIteration
        for item in self.points:
            if item and isinstance(item[0], tuple):
                self.leg, self.index = item, 1
                return item[0]
            return item
        self.done = True
        self.leg, self.index = (), 0
        return None


def _last_before(start: float, step: float, end: float) -> int:
    """The largest k with ``start + k * step < end`` (computed as the samples are)."""
    k = math.floor((end - start) / step)
    while start + k * step >= end:
        k -= 1
    while start + (k + 1) * step < end:
        k += 1
    return k


def _at(time: float, t0: float, x0: float, y0: float, t1: float, x1: float,
        y1: float) -> Point:
    """:meth:`Trajectory.position` on the segment ``(t0, x0, y0)`` - ``(t1, x1, y1)``."""
    if t1 == t0:
        return x1, y1
    f = (time - t0) / (t1 - t0)
    return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
