"""Parameter sweeps: a scenario over a grid of parameter values, one run per grid point,
protocol and seed, and the tidy table of their results.

A sweep file (TOML) names a base scenario, the values each swept parameter takes, the
protocols and the seeds::

    name = "lead-time"
    description = "FMIPv6 anticipation lead on a lossy radio"
    scenario = "../lossy-wifi.toml"     # optional, relative to this file; default: reference
    protocols = ["fmipv6", "fhmipv6"]   # optional; default: all five
    seeds = [1, 2, 3, 4, 5]             # or a count: seeds = 5 means 1..5

    [set]                               # optional: fixed overrides of the base scenario
    mobile_nodes = 1

    [grid]                              # dotted key paths into the scenario's TOML
    "fmipv6.lead_ms" = [0, 5, 10, 20]
    "links.core_ha.delay_ms" = [10, 50]

A parameter is any key of a scenario file, written as its path (``links.core_ha.delay_ms``,
``routers.ra_interval_s``, ``fmipv6.lead_ms``): the mapping is generic, so a key a scenario
gains is sweepable at once. Every value is checked against the scenario's own rules before
any run starts (:func:`load_sweep` raises :class:`SweepError` naming the key).

A task (:class:`Task`) is one whole run, :func:`mipshop.sim.compare.run_protocol` on one grid
point with one protocol and one seed; :func:`run_task` turns it into one :func:`row`: every
parameter a column, then ``protocol``, ``seed`` and the run's figures flattened
(``disruption_ms_p95``, ``uplink_lost``, ...). Runs are independent and deterministic, so
where they run (a process, a Dask worker) does not change a digit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import PROTOCOLS, results_to_dict, run_protocol
from .scenario import Scenario, ScenarioError, scenario_from_dict, toml_text

_TOP_LEVEL = ("name", "description", "scenario", "protocols", "seeds", "set", "grid")
#: Most runs one sweep may ask for (a typo in a grid should not start a million runs).
MAX_RUNS = 100_000


class SweepError(ValueError):
    """A sweep file is wrong; the message names the key and the problem."""


@dataclass(frozen=True)
class Task:
    """One run: a grid point (parameter path -> value), a protocol and a seed."""

    point: tuple[tuple[str, Any], ...]
    protocol: str
    seed: int
    scenario: dict[str, Any] = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        """A stable identifier of the run (its parameters, protocol and seed)."""
        return json.dumps([list(self.point), self.protocol, self.seed], sort_keys=True)

    @property
    def parameters(self) -> dict[str, Any]:
        """The grid point, protocol and seed, as table columns (a table value, such as a
        lead-time distribution, as its JSON text)."""
        point = {path: value if isinstance(value, bool | int | float | str)
                 else json.dumps(value, sort_keys=True) for path, value in self.point}
        return {**point, "protocol": self.protocol, "seed": self.seed}


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: its name, the base scenario (as TOML data), the grid, and the runs."""

    name: str
    description: str
    base: dict[str, Any]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    protocols: tuple[str, ...]
    seeds: tuple[int, ...]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The swept parameters' paths, in file order."""
        return tuple(path for path, _values in self.grid)

    @property
    def digest(self) -> str:
        """A digest of the base scenario: rows of another base are not reused on resume."""
        return hashlib.sha256(json.dumps(self.base, sort_keys=True).encode()).hexdigest()[:16]

    def tasks(self) -> list[Task]:
        """Every run, grid point by grid point (the first parameter varies slowest), then by
        protocol, then by seed."""
        tasks = []
        values = [v for _path, v in self.grid]
        for combination in itertools.product(*values):
            point = tuple(zip(self.parameters, combination, strict=True))
            scenario = _merged(self.base, dict(point))
            for protocol in self.protocols:
                for seed in self.seeds:
                    tasks.append(Task(point, protocol, seed, scenario))
        return tasks


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file (see the module docstring): unknown keys, wrong types, an
    unknown parameter path and any value the scenario refuses raise :class:`SweepError`
    naming the key, before anything runs."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise SweepError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = toml_text(raw, "sweep")
    except ValueError as exc:
        raise SweepError(f"{source}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{source}: TOML syntax error: {exc}") from exc
    return sweep_from_dict(data, origin=source)


def sweep_from_dict(data: dict[str, Any], *, origin: Path | None = None) -> Sweep:
    """:func:`load_sweep` on parsed TOML (``origin``: the file, for the base scenario's
    relative path)."""
    for key in data:
        if key not in _TOP_LEVEL:
            raise SweepError(f"{key}: unknown key (expected one of: {', '.join(_TOP_LEVEL)})")
    name = _string(data, "name", origin.stem if origin is not None else "sweep")
    description = _string(data, "description", "")
    base: dict[str, Any] = {}
    if "scenario" in data:
        raw = data["scenario"]
        if not isinstance(raw, str) or not raw:
            raise SweepError(f"scenario: must be the path of a scenario file, got {raw!r}")
        file = Path(raw) if origin is None else origin.parent / raw
        try:
            base = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SweepError(f"scenario: {file}: cannot read: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SweepError(f"scenario: {file}: TOML syntax error: {exc}") from exc
    fixed = data.get("set", {})
    if not isinstance(fixed, dict):
        raise SweepError("set: must be a table of scenario keys")
    base = _merged(base, _flatten(fixed))
    _scenario(base, "set." if fixed else "scenario: ")
    protocols = data.get("protocols", list(PROTOCOLS))
    if (not isinstance(protocols, list) or not protocols
            or not all(isinstance(p, str) for p in protocols)):
        raise SweepError(f"protocols: must be a non-empty array of names, got {protocols!r}")
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise SweepError(f"protocols: unknown protocol {protocol!r} "
                             f"(expected some of {', '.join(PROTOCOLS)})")
    if len(set(protocols)) != len(protocols):
        raise SweepError("protocols: a protocol is listed twice")
    seeds = _seeds(data.get("seeds", 1))
    grid_data = data.get("grid")
    if not isinstance(grid_data, dict) or not grid_data:
        raise SweepError("grid: must be a table of at least one parameter path and its values")
    grid = []
    for path, values in _flatten_grid(grid_data):
        if not isinstance(values, list) or not values:
            raise SweepError(f"grid.{path}: must be a non-empty array of values, got "
                             f"{values!r}")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise SweepError(f"grid.{path}: a value is listed twice")
        if path in ("protocol", "seed"):
            raise SweepError(f"grid.{path}: give protocols and seeds at the top level")
        for value in values:
            _scenario(_merged(base, {path: value}), "grid.")
        grid.append((path, tuple(values)))
    runs = math.prod(len(v) for _p, v in grid) * len(protocols) * len(seeds)
    if runs > MAX_RUNS:
        raise SweepError(f"grid: {runs} runs, more than the {MAX_RUNS} a sweep may ask for")
    sweep = Sweep(name, description, base, tuple(grid), tuple(protocols), seeds)
    # Parameters check one by one; their combinations may break a rule that spans two keys.
    for task in sweep.tasks()[:: len(protocols) * len(seeds)]:
        _scenario(task.scenario, "grid ("
                  + ", ".join(f"{p} = {json.dumps(v)}" for p, v in task.point) + "): ")
    return sweep


def _string(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SweepError(f"{key}: must be a string, got {value!r}")
    return value


def _seeds(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, bool):
        raise SweepError(f"seeds: must be a count or an array of seeds, got {raw!r}")
    if isinstance(raw, int):
        if not 1 <= raw <= 10_000:
            raise SweepError(f"seeds: a count must be 1..10000, got {raw}")
        return tuple(range(1, raw + 1))
    if (isinstance(raw, list) and raw and all(isinstance(s, int) and not isinstance(s, bool)
                                              and 0 <= s < 2**63 for s in raw)):
        if len(set(raw)) != len(raw):
            raise SweepError("seeds: a seed is listed twice")
        return tuple(raw)
    raise SweepError(f"seeds: must be a count or an array of seeds 0..2**63-1, got {raw!r}")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted paths (``{"links": {"ar_map": {"delay_ms": 5}}}`` ->
    ``{"links.ar_map.delay_ms": 5}``)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _flatten_grid(table: dict[str, Any]) -> list[tuple[str, Any]]:
    """``[grid]`` entries as (path, values), whether written ``"a.b" = [...]`` or as
    nested tables ``[grid.a] b = [...]``."""
    return list(_flatten(table).items())


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` (nested TOML data) with each dotted path of ``overrides`` set."""
    merged = json.loads(json.dumps(base))
    for path, value in overrides.items():
        parts = path.split(".")
        table = merged
        for part in parts[:-1]:
            child = table.get(part)
            if not isinstance(child, dict):
                child = table[part] = {}
            table = child
        table[parts[-1]] = value
    return merged


def _scenario(data: dict[str, Any], where: str) -> Scenario:
    """The scenario of ``data``; its error (which names the scenario key) prefixed with the
    part of the sweep that set it (``set.``, ``grid.``)."""
    try:
        return scenario_from_dict(data)
    except ScenarioError as exc:
        raise SweepError(f"{where}{exc}") from None


# -- running --------------------------------------------------------------------------------


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its table row (parameters, then figures, then ``wall_s``)."""
    scenario = scenario_from_dict(task.scenario)
    start = time.perf_counter()
    result = run_protocol(scenario, task.protocol, seed=task.seed)
    wall = time.perf_counter() - start
    figures = results_to_dict(scenario, [result], seed=task.seed)["results"][0]
    return row(task, figures, wall)


#: Result fields that are not one number per run (kept out of the table).
_SKIPPED = frozenset({"protocol", "handover_times", "signalling_by_type", "trace_packets"})


def row(task: Task, figures: dict[str, Any], wall: float) -> dict[str, Any]:
    """A table row: the task's parameters, then the run's figures flattened with ``_``
    (``disruption_ms`` -> ``disruption_ms_mean``, ...), then ``wall_s``."""
    out: dict[str, Any] = dict(task.parameters)
    for name, value in _flatten(figures).items():
        column = name.replace(".", "_")
        if column in _SKIPPED or column.startswith("signalling_by_type"):
            continue
        if isinstance(value, list | tuple):
            continue
        out[column] = value
    out["wall_s"] = round(wall, 6)
    return out


def columns(rows: Iterable[dict[str, Any]], sweep: Sweep) -> list[str]:
    """The table's columns: the parameters, ``protocol``, ``seed``, then every figure in the
    order the rows first give it."""
    names = [*sweep.parameters, "protocol", "seed"]
    seen = set(names)
    for entry in rows:
        for key in entry:
            if key not in seen:
                seen.add(key)
                names.append(key)
    return names


# -- summaries for the plots ------------------------------------------------------------------

#: Two-sided 95 % Student t quantiles by degrees of freedom (1..30); beyond, the normal's.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t over the values; 0 for
    one value, NaN for none)."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return math.nan, math.nan
    mean = math.fsum(clean) / len(clean)
    if len(clean) == 1:
        return mean, 0.0
    variance = math.fsum((v - mean) ** 2 for v in clean) / (len(clean) - 1)
    dof = len(clean) - 1
    t = _T95[dof - 1] if dof <= len(_T95) else 1.960
    return mean, t * math.sqrt(variance / len(clean))


__all__ = [
    "MAX_RUNS",
    "Sweep",
    "SweepError",
    "Task",
    "columns",
    "load_sweep",
    "mean_ci",
    "row",
    "run_task",
    "sweep_from_dict",
]
