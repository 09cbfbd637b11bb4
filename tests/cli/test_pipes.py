"""The command as a process: a reader that stops reading ends it quietly, with status 0, as
Unix tools do (``mipshop dissect F | head``, ``mipshop compare | head -1``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mipshop.sim.compare import run_protocol
from mipshop.sim.scenario import reference_scenario

MIPSHOP = [sys.executable, "-m", "mipshop.cli.main"]
BASH = shutil.which("bash")


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture whose dissection is far larger than a pipe's buffer (megabytes of text)."""
    path = tmp_path_factory.mktemp("pipes") / "mipv6.pcapng"
    run_protocol(reference_scenario(), "mipv6", seed=1, capture=path)
    return path


def _pipeline(command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in bash with pipefail: the pipeline fails if mipshop does."""
    assert BASH is not None
    return subprocess.run([BASH, "-c", f"set -o pipefail; {command}"], capture_output=True,
                          text=True, timeout=60)


def _mipshop() -> str:
    return " ".join(MIPSHOP)


def test_dissect_into_head_ends_quietly(big_capture: Path) -> None:
    result = _pipeline(f"{_mipshop()} dissect {big_capture} | head -3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 3 and result.stdout.startswith("#1 ")


def test_dissect_json_into_head_ends_quietly(big_capture: Path) -> None:
    result = _pipeline(f"{_mipshop()} dissect --json {big_capture} | head -1")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_compare_into_head_ends_quietly() -> None:
    result = _pipeline(f"{_mipshop()} compare | head -1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mipshop compare: reference")
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_compare_whose_reader_is_gone_before_it_writes() -> None:
    """The reader closes before the first byte is written: every write fails (EPIPE)."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([*MIPSHOP, "compare", "--protocols", "mipv6"], stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_version() -> None:
    from mipshop import __version__

    result = subprocess.run([*MIPSHOP, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout == f"mipshop {__version__}\n"
