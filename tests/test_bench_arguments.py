"""The benchmarks refuse a bad count with exit status 2 and a line naming the option, its
unit and its range, before any work starts (bench/sim.py and bench/scale.py parse their
counts with :func:`mipshop.cli.args.whole`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

CASES = [
    ("sim.py", ["--events", "0"], "--events: must be from 1 to 10,000,000,000 events, got 0"),
    ("sim.py", ["--events", "x"], "--events: must be a whole number of events, got 'x'"),
    ("sim.py", ["--repeats", "-3"], "--repeats: must be from 1 to 1,000 repeats, got -3"),
    ("sim.py", ["--processes", "2.5"],
     "--processes: must be a whole number of processes, got '2.5'"),
    ("scale.py", ["--json", "--mobile-nodes", "0"],
     "--mobile-nodes: must be from 1 to 100,000,000 mobile nodes, got 0"),
    ("scale.py", ["--json", "--mobile-nodes", "ten"],
     "--mobile-nodes: must be a whole number of mobile nodes, got 'ten'"),
    ("agent_time.py", ["--passes", "0"], "--passes: must be from 1 to 10,000 passes, got 0"),
    ("agent_time.py", ["--rate", "fast"],
     "--rate: must be a whole number of samples a second, got 'fast'"),
]


@pytest.mark.parametrize(("script", "arguments", "message"), CASES)
def test_a_bad_count_exits_2_naming_the_option(script: str, arguments: list[str],
                                               message: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *arguments],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
