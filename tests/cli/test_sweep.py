"""mipshop sweep: bad files refused up front, runs on a two-worker Dask cluster equal to the
same runs one by one, lost workers retried or reported, interrupted sweeps resumed."""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# dask.distributed is imported here, at collection, not first inside a test: its log
# handler writes to the sys.stderr of its import, and a capsys test's is closed when that
# test ends (every later Dask log record was a '--- Logging error ---' traceback instead).
import dask
import pytest
from dask.distributed import Client

from mipshop.cli.main import main
from mipshop.cli.sweep import (
    LOCAL_CLUSTER_CONFIG,
    _stored,
    execute,
    journal_path,
    local_cluster,
    write_plots,
    write_table,
)
from mipshop.sim.sweep import run_task, sweep_from_dict

from .sweep_runs import MARKERS, always_die, die_once, refuse_lead_20

SMALL = {
    "name": "small",
    "protocols": ["hmipv6", "fmipv6"],
    "seeds": [1, 2],
    "set": {"movement": {"handovers": 2}, "links": {"wireless": {"loss": 0.02}}},
    "grid": {"fmipv6.lead_ms": [5, 20]},
}


@pytest.mark.parametrize(("content", "message"), [
    (b'[grid]\n"links.core_ha.delay_ms" = [10, -5]\n',
     "links.core_ha.delay_ms: must be a number >= 0, got -5"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text (byte 0x89 at offset 0)"),
    ('name = "café"\n'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 11)"),
    (b"[grid\n", "TOML syntax error"),
])
def test_a_bad_sweep_file_is_one_line_and_exit_2_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    assert main(["sweep", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert err.count(str(bad)) == 1  # the file is named once
    assert list(tmp_path.iterdir()) == [bad]  # nothing ran, nothing written


def test_a_damaged_journal_line_is_run_again_not_a_crash(tmp_path: Path) -> None:
    """Resuming reads only whole rows of this sweep; a line cut by an interruption, bytes that
    are not UTF-8 or not JSON, and JSON of another shape are skipped (their runs are done
    again) instead of stopping the sweep."""
    sweep = sweep_from_dict(SMALL)
    good = {"digest": sweep.digest, "key": "k1", "row": {"lost": 0}}
    lines = [
        json.dumps(good).encode(),
        json.dumps({"digest": sweep.digest, "key": "k2", "row": {"lost": 1}}).encode()[:30],
        b"\xff\xfe not text at all",
        b"[1, 2, 3]",
        json.dumps({"digest": sweep.digest, "key": 7, "row": {}}).encode(),
        json.dumps({"digest": sweep.digest, "key": "k3", "row": "not a row"}).encode(),
        json.dumps({"digest": "another sweep", "key": "k4", "row": {}}).encode(),
    ]
    journal_path(sweep, tmp_path).write_bytes(b"\n".join(lines) + b"\n")
    assert _stored(sweep, tmp_path) == {"k1": {"lost": 0}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--out", "/nonexistent/dir"], "--out /nonexistent/dir: directory does not exist"),
    (["--workers", "0"], "--workers"),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers: the workers of"),
    (["--scheduler", "nonsense"], "--scheduler nonsense: cannot connect: missing port number"),
])
def test_bad_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 argv: list[str], message: str) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[grid]\n"fmipv6.lead_ms" = [5]\n')
    try:
        status = main(["sweep", str(good), *argv])
    except SystemExit as exit_:  # argparse refuses a malformed value itself
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_scheduler_that_cannot_be_reached_leaves_no_client_behind(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The half-made Dask client is closed at once, its IO-loop thread stopped: left to the
    garbage collector, its ``__del__`` closed it wherever a collection came, and one inside
    the start of the next test's ``LocalCluster`` deadlocked on Dask's ``LoopRunner`` lock
    (or made the start give up after 10 s)."""
    good = tmp_path / "good.toml"
    good.write_text('[grid]\n"fmipv6.lead_ms" = [5]\n')

    def loops() -> int:
        return sum(thread.name == "IO loop" for thread in threading.enumerate())

    before = loops()
    assert main(["sweep", str(good), "--scheduler", "nonsense"]) == 2
    assert "cannot connect" in capsys.readouterr().err
    assert loops() == before


@pytest.fixture(scope="module")
def cluster_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local cluster of two single-threaded worker processes, with the settings of
    ``mipshop sweep`` (its nannies are not closed when a killed worker is slow to come back);
    a task whose worker dies is tried once more (allowed-failures 1) before it is reported."""
    os.environ[MARKERS] = str(tmp_path_factory.mktemp("markers"))  # before the workers start
    try:
        with dask.config.set({**LOCAL_CLUSTER_CONFIG,
                              "distributed.scheduler.allowed-failures": 1}):
            cluster = local_cluster(2)
            try:
                with Client(cluster) as dask_client:
                    yield dask_client
            finally:
                cluster.close()
    finally:
        del os.environ[MARKERS]


@pytest.fixture
def client(cluster_client: Any) -> Any:
    """The module's client once both workers run: those a test killed are back (their new
    processes take seconds to start on a loaded machine), whatever test ran before."""
    cluster_client.wait_for_workers(2, timeout=120)
    return cluster_client


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "wall_s"}


def test_two_workers_give_the_runs_done_one_by_one(client: Any, tmp_path: Path) -> None:
    sweep = sweep_from_dict(SMALL)
    outcome = execute(sweep, tmp_path, client)
    assert (outcome.ran, outcome.reused, outcome.failed) == (8, 0, [])
    assert len(client.scheduler_info()["workers"]) == 2
    alone = [run_task(task) for task in sweep.tasks()]
    assert [_figures(r) for r in outcome.rows] == [_figures(r) for r in alone]
    parquet, comma = write_table(sweep, outcome.rows, tmp_path)
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    assert len(table) == 8
    for stored, run in zip(table, alone, strict=True):
        # Every row has every column: a figure a protocol lacks (hmipv6 has no fast
        # handover phase) is null.
        assert {k: stored[k] for k in _figures(run)} == _figures(run)
        assert all(stored[k] is None for k in stored.keys() - run.keys())
    with open(comma, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["fmipv6.lead_ms", "protocol", "seed"]
    assert len(rows) == 8 and {r["protocol"] for r in rows} == {"hmipv6", "fmipv6"}
    (figure,) = write_plots(sweep, outcome.rows, tmp_path)
    assert figure.name == "small-fmipv6.lead_ms.png" and figure.stat().st_size > 10_000


def test_a_run_whose_worker_dies_once_is_run_again(client: Any, tmp_path: Path) -> None:
    died = Path(os.environ[MARKERS]) / "died"
    died.unlink(missing_ok=True)  # a death of this test's (were it run twice)
    sweep = sweep_from_dict(SMALL)
    outcome = execute(sweep, tmp_path, client, run=die_once)
    assert died.exists()  # a worker did die
    assert outcome.failed == [] and len(outcome.rows) == 8
    alone = [run_task(task) for task in sweep.tasks()]
    assert [_figures(r) for r in outcome.rows] == [_figures(r) for r in alone]


def test_a_run_that_keeps_killing_workers_is_reported_and_the_others_kept(
        client: Any, tmp_path: Path) -> None:
    sweep = sweep_from_dict(SMALL)
    outcome = execute(sweep, tmp_path, client, run=always_die)
    ((task, reason),) = outcome.failed
    assert task.parameters == {"fmipv6.lead_ms": 20, "protocol": "fmipv6", "seed": 2}
    assert "KilledWorker" in reason
    assert len(outcome.rows) == 7
    assert task.key not in {json.loads(line)["key"] for line in
                            journal_path(sweep, tmp_path).read_text().splitlines()}


def test_an_interrupted_sweep_resumes_from_the_runs_written(
        client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = sweep_from_dict(SMALL)
    first = execute(sweep, tmp_path, client, run=refuse_lead_20)
    assert first.ran == 4 and len(first.failed) == 4
    err = capsys.readouterr().err
    assert "run failed (fmipv6.lead_ms = 20, protocol = hmipv6, seed = 1): RuntimeError" in err
    second = execute(sweep, tmp_path, client)
    assert (second.reused, second.ran, second.failed) == (4, 4, [])
    assert [_figures(r) for r in second.rows] == [
        _figures(run_task(t)) for t in sweep.tasks()]
    # Another base scenario: nothing is reused.
    other = sweep_from_dict({**SMALL, "set": {"movement": {"handovers": 1}}})
    third = execute(other, tmp_path, client)
    assert third.reused == 0 and third.ran == 8
