"""Run functions for the sweep tests, importable by Dask worker processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mipshop.sim.sweep import Task, run_task

#: Directory of the marker files (set before the cluster starts: its workers inherit it).
MARKERS = "MIPSHOP_SWEEP_TEST_MARKERS"


def die_once(task: Task) -> dict[str, Any]:
    """The first run of the lead-5, seed-1, hmipv6 task kills its worker process; later ones
    run normally (the marker file remembers, across processes)."""
    if task.parameters == {"fmipv6.lead_ms": 5, "protocol": "hmipv6", "seed": 1}:
        marker = Path(os.environ[MARKERS]) / "died"
        if not marker.exists():
            marker.write_text("once")
            os._exit(1)
    return run_task(task)


def always_die(task: Task) -> dict[str, Any]:
    """The seed-2 fmipv6 task with lead 20 kills every worker that runs it."""
    if task.parameters == {"fmipv6.lead_ms": 20, "protocol": "fmipv6", "seed": 2}:
        os._exit(1)
    return run_task(task)


def refuse_lead_20(task: Task) -> dict[str, Any]:
    """Runs raise for lead 20 (a run's own error, the worker survives)."""
    if task.parameters["fmipv6.lead_ms"] == 20:
        raise RuntimeError("refused for the test")
    return run_task(task)
