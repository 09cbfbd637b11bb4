"""``docs/mutation_subset.py``, which runs chosen mutmut mutants against chosen test files in
one process: a passing run is a survivor (0), a failing one a kill (1), and one the alarm
stops is a timeout (36) even when the alarm fires inside a test, where pytest reports it as
that test's failure."""

from __future__ import annotations

import importlib.util
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("mutation_subset", ROOT / "docs" /
                                               "mutation_subset.py")
assert _spec is not None and _spec.loader is not None
subset = importlib.util.module_from_spec(_spec)
sys.modules["mutation_subset"] = subset
_spec.loader.exec_module(subset)

BODIES = {
    "passes": "def test_it():\n    assert True\n",
    "fails": "def test_it():\n    assert False\n",
    "hangs": "import time\n\ndef test_it():\n    time.sleep(30)\n",
}


# A run that ends gets a minute (a nested pytest session took over a second at load 12);
# the one that hangs sleeps 30 s, far past its 1 s alarm.
@pytest.mark.parametrize(("body", "verdict", "timeout"),
                         [("passes", 0, 60.0), ("fails", 1, 60.0), ("hangs", 36, 1.0)])
def test_each_verdict(tmp_path: Path, body: str, verdict: int, timeout: float,
                      capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", "")  # run() sets it: restored after the test
    test_file = tmp_path / f"test_{body}.py"
    test_file.write_text(BODIES[body])
    previous = signal.getsignal(signal.SIGALRM)
    try:
        verdicts = subset.run(["m.x__mutmut_1"], [str(test_file)], timeout=timeout)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert verdicts == {"m.x__mutmut_1": verdict}
    assert f"VERDICT m.x__mutmut_1 {verdict}" in capsys.readouterr().out
