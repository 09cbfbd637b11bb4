"""``mipshop sweep SWEEP.toml``: a scenario over a grid of parameters, run on Dask.

Every run (a grid point, a protocol, a seed: :class:`mipshop.sim.sweep.Task`) is one Dask task,
on a local cluster of one single-threaded worker process per core by default (``--workers``),
or on an existing cluster (``--scheduler tcp://host:8786``, whose workers have mipshop
installed). Results stream back as runs finish, behind a progress bar on stderr, and each is
appended at once to ``DIR/NAME.runs.jsonl`` (``--out DIR``, default the current directory;
``NAME`` the sweep's name); a run that fails (an exception, or a worker that died under it, and
again when the run was tried alone) is reported on stderr with its parameters, and the others
go on. Run the same command again and the runs already in that journal (for the same base
scenario) are not run again: an interrupted sweep resumes.

At the end the table of every run of the grid, one row per run and protocol, every parameter
a column (:func:`mipshop.sim.sweep.row`), is written to ``DIR/NAME.parquet`` and
``DIR/NAME.csv``, and one figure per swept parameter to ``DIR/NAME-<parameter>.png``:
disruption and loss (per handover), downlink and uplink, against the parameter, one line per
protocol, the mean over seeds with its 95 % confidence interval, the other parameters held at
their first value. Files are replaced atomically.

Exit status: 0, 1 when a run failed (the table holds the others), 2 for a bad sweep file or
output directory (one line naming the problem, before anything runs), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sim.sweep import Sweep, SweepError, Task, columns, load_sweep, mean_ci, run_task
from .errors import UsageError
from .files import refused_input, replace_atomically

#: The figures plotted against each parameter: (column or ratio, title).
_PANELS = (
    ("disruption_ms_mean", "disruption, downlink (ms)"),
    (("packets_lost", "handovers"), "loss, downlink (packets per handover)"),
    ("uplink_disruption_ms_mean", "disruption, uplink (ms)"),
    (("uplink_lost", "handovers"), "loss, uplink (packets per handover)"),
)


#: Dask settings while a sweep runs (they must hold for the cluster's whole life: Dask reads
#: them when a worker is lost). A local cluster's nanny starts a new worker process when one
#: dies (a run that crashes it), but Dask's ``SpecCluster`` also closes that nanny for good
#: when, ``lost-worker-timeout`` (15 s) after the death, no worker of its name is registered:
#: the new one still starting (a loaded machine) or dead again (a run that kills every worker
#: it lands on). The cluster lost a worker each time, and with none left the sweep waited
#: forever (seen in tests/cli/test_sweep.py). A nanny that cannot start its worker closes
#: itself; the timeout is only this race, hence a billion seconds.
LOCAL_CLUSTER_CONFIG = {"distributed.deploy.lost-worker-timeout": 10**9}


@dataclass
class Outcome:
    """What :func:`execute` did: rows reused from an earlier run, runs made, runs failed."""

    reused: int = 0
    ran: int = 0
    failed: list[tuple[Task, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def run_sweep(args: argparse.Namespace, console: Any) -> int:
    """``mipshop sweep`` once :func:`mipshop.cli.main._check` has loaded the sweep
    (``args.loaded``) and checked ``--out``."""
    import dask

    sweep: Sweep = args.loaded
    out: Path = args.out
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        try:
            client, cluster = _connect(args.scheduler, args.workers)
        except (OSError, ValueError, TypeError) as exc:
            # Dask refuses an address it cannot parse ("nonsense": no port) with ValueError.
            if args.scheduler is None:
                raise UsageError(f"cannot start a local Dask cluster: {exc}") from None
            raise UsageError(f"--scheduler {args.scheduler}: cannot connect: {exc}") from None
        try:
            outcome = execute(sweep, out, client, console=console)
        except KeyboardInterrupt:
            console.print(f"interrupted: the runs done are in {journal_path(sweep, out)}; the "
                          "same command resumes")
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    parquet, comma = write_table(sweep, outcome.rows, out)
    if not args.no_plots:
        write_plots(sweep, outcome.rows, out)
    total = len(sweep.tasks())
    console.print(f"{len(outcome.rows)} of {total} runs in {parquet} and {comma} "
                  f"({outcome.ran} run now, {outcome.reused} already done, "
                  f"{len(outcome.failed)} failed)")
    return 1 if outcome.failed else 0


def load(path: Path) -> Sweep:
    """The sweep of ``path``, or a :class:`UsageError` naming the key at fault."""
    try:
        return load_sweep(path)
    except SweepError as exc:
        raise refused_input("sweep", path, exc) from None


def journal_path(sweep: Sweep, out: Path) -> Path:
    """Where the rows are appended as runs finish."""
    return out / f"{sweep.name}.runs.jsonl"


def _connect(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A Dask client: on ``scheduler``, or on a new local cluster of single-threaded worker
    processes (one per core unless ``workers``)."""
    if scheduler is not None:
        return _client(scheduler, timeout="10s"), None
    cluster = local_cluster(workers or os.cpu_count() or 1)
    return _client(cluster), cluster


def local_cluster(workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes, without a
    dashboard. Its scheduler's HTTP server (always started) listens on a free port: left to
    Dask it takes 8787, or warns ("Port 8787 is already in use") and takes another when a
    second cluster runs on the machine (one under ``-W error`` did not start)."""
    from dask.distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})


def _client(address: Any, **options: Any) -> Any:
    """A Dask ``Client`` of ``address`` that is closed at once when it cannot connect.

    Dask's ``Client`` starts its IO-loop thread and registers itself as the default client
    before it connects, and does not close itself when connecting raises in its constructor:
    the half-made client would be closed only by its ``__del__``, in whichever thread and at
    whichever moment a garbage collection finds it. There, ``close`` takes the class-wide
    lock of Dask's ``LoopRunner``: a collection that comes while that thread holds the lock
    (starting a ``LocalCluster``, in the sweep tests) deadlocks, and one in the loop thread
    that a ``LocalCluster`` is starting makes it give up after 10 s (``assert loop is not
    None``).
    """
    from dask.distributed import Client

    class _ClosedOnFailure(Client):
        def start(self, **kwargs: Any) -> None:
            try:
                super().start(**kwargs)
            except BaseException:
                self.close()
                raise

    return _ClosedOnFailure(address, **options)


def _stored(sweep: Sweep, out: Path) -> dict[str, dict[str, Any]]:
    """Rows of ``out/runs.jsonl`` written for this sweep's base scenario, by task key."""
    path = journal_path(sweep, out)
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    with open(path, "rb") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                # A line cut by an interruption (or not UTF-8, or not JSON at all): that run
                # is done again.
                continue
            if (isinstance(entry, dict) and entry.get("digest") == sweep.digest
                    and isinstance(entry.get("key"), str) and isinstance(entry.get("row"), dict)):
                rows[entry["key"]] = entry["row"]
    return rows


def execute(
    sweep: Sweep,
    out: Path,
    client: Any,
    *,
    run: Callable[[Task], dict[str, Any]] = run_task,
    console: Any = None,
) -> Outcome:
    """Run the sweep's tasks not yet in its journal (:func:`journal_path`) on ``client``
    (one Dask task per run), appending each row as it comes; returns the rows of every task
    in grid order."""
    from dask.distributed import KilledWorker, as_completed

    tasks = sweep.tasks()
    stored = _stored(sweep, out)
    outcome = Outcome(reused=sum(1 for t in tasks if t.key in stored))
    todo = [t for t in tasks if t.key not in stored]
    progress = _progress(console, len(tasks), outcome.reused)
    with open(journal_path(sweep, out), "a", encoding="utf-8") as journal, progress:
        bar = progress.add_task(sweep.name, total=len(tasks), completed=outcome.reused)

        def settle(future: Any, task: Task, *, final: bool) -> bool:
            """Journal the run's row or report its failure; False when the run's worker died
            and ``final`` is off (the run is tried again, alone)."""
            try:
                result = future.result()
            except KilledWorker as exc:
                if not final:
                    return False
                _report(outcome, task, exc, console)
            except Exception as exc:  # the run's own error
                _report(outcome, task, exc, console)
            else:
                stored[task.key] = result
                journal.write(json.dumps({"digest": sweep.digest, "key": task.key,
                                          "row": result}) + "\n")
                journal.flush()
                outcome.ran += 1
            finally:
                future.release()
            progress.update(bar, advance=1)
            return True

        by_key: dict[str, Task] = {}
        futures = []
        # Keys of this call only: a second call on the same client (the tests make four) had
        # the same keys whenever its journal held as many rows, and a key still held by the
        # client (releases are processed later, on its loop) would be answered with the
        # earlier call's future instead of being run again.
        call = uuid.uuid4().hex[:12]
        for index, task in enumerate(todo):
            future = client.submit(run, task, key=f"run-{sweep.digest}-{call}-{index}",
                                   pure=False)
            by_key[future.key] = task
            futures.append(future)
        # A worker that dies takes down whatever else it was running, and the scheduler
        # counts that against every run it held: with several runs in flight an innocent run
        # can exhaust its retries beside one that kills every worker it lands on. Runs lost
        # to dead workers are therefore tried once more, one at a time, and only a run that
        # kills its worker when it runs alone is reported.
        # (On this client's loop, not on that of whichever client was made last.)
        suspects = [by_key[f.key] for f in as_completed(futures, loop=client.loop)
                    if not settle(f, by_key[f.key], final=False)]
        for index, task in enumerate(suspects):
            future = client.submit(run, task, pure=False,
                                   key=f"alone-{sweep.digest}-{call}-{index}")
            settle(future, task, final=True)
    outcome.rows = [stored[t.key] for t in tasks if t.key in stored]
    return outcome


def _report(outcome: Outcome, task: Task, exc: BaseException, console: Any) -> None:
    """Record a failed run and say so, with its parameters, on stderr."""
    reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    outcome.failed.append((task, reason))
    parameters = ", ".join(f"{k} = {v}" for k, v in task.parameters.items())
    message = f"run failed ({parameters}): {reason}"
    if console is not None:
        console.print(message, markup=False, highlight=False)
    else:
        print(message, file=sys.stderr)


def _progress(console: Any, total: int, done: int) -> Any:
    """A rich progress bar on ``console`` (or a silent stand-in without one)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    disable=console is None)


# -- outputs ------------------------------------------------------------------------------


def write_table(sweep: Sweep, rows: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """``NAME.parquet`` and ``NAME.csv`` in ``out``: one row per run, every parameter a
    column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = columns(rows, sweep)
    table = pa.table({name: pa.array([r.get(name) for r in rows]) for name in names})
    parquet = out / f"{sweep.name}.parquet"
    with replace_atomically(parquet, "--out") as temporary:
        pq.write_table(table, temporary)
    comma = out / f"{sweep.name}.csv"
    with replace_atomically(comma, "--out") as temporary, open(
            temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for entry in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in entry.items()})
    return parquet, comma


def _value(entry: dict[str, Any], what: Any) -> float:
    if isinstance(what, tuple):
        top, bottom = (entry.get(w) for w in what)
        if top is None or not bottom:
            return math.nan
        return top / bottom
    value = entry.get(what)
    return math.nan if value is None else float(value)


def write_plots(sweep: Sweep, rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """One figure per swept parameter (module docstring); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    firsts = {path: values[0] for path, values in sweep.grid}
    for path, values in sweep.grid:
        others = {p: v for p, v in firsts.items() if p != path}
        chosen = [r for r in rows if all(r.get(p) == _column_value(v) for p, v in others.items())]
        panels = [(what, title) for what, title in _PANELS
                  if any(not math.isnan(_value(r, what)) for r in chosen)]
        if not panels:
            continue
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        positions = list(values) if numeric else list(range(len(values)))
        figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4),
                                    squeeze=False)
        for axis, (what, title) in zip(axes[0], panels, strict=True):
            for protocol in sweep.protocols:
                means, errors = [], []
                for value in values:
                    sample = [_value(r, what) for r in chosen if r.get("protocol") == protocol
                              and r.get(path) == _column_value(value)]
                    mean, half = mean_ci(sample)
                    means.append(mean)
                    errors.append(half)
                axis.errorbar(positions, means, yerr=errors, marker="o", markersize=3,
                              capsize=3, label=protocol)
            axis.set_title(title, fontsize=9)
            axis.set_xlabel(path, fontsize=8)
            if not numeric:
                axis.set_xticks(positions, [str(v) for v in values], fontsize=7)
            axis.tick_params(labelsize=7)
            axis.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        held = ", ".join(f"{p} = {v}" for p, v in others.items())
        figure.suptitle(f"{sweep.name}: mean and 95 % CI over {len(sweep.seeds)} seeds"
                        + (f" ({held})" if held else ""), fontsize=9)
        figure.tight_layout()
        target = out / f"{sweep.name}-{path}.png"
        with replace_atomically(target, "--out") as temporary:
            figure.savefig(temporary, dpi=110, format="png")
        plt.close(figure)
        written.append(target)
    return written


def _column_value(value: Any) -> Any:
    """A grid value as the table holds it (a table value as its JSON text)."""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


__all__ = ["LOCAL_CLUSTER_CONFIG", "Outcome", "execute", "journal_path", "load", "local_cluster",
           "run_sweep", "write_plots", "write_table"]
