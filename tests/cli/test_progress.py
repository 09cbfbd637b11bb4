"""Progress on standard error: plain lines where no live display can be drawn."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mipshop.cli import progress as progress_module
from mipshop.cli.progress import RunProgress


def _plain() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200), buffer


def test_plain_lines_for_steps_quarters_and_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "QUIET_SECONDS", 0.0)
    console, buffer = _plain()
    with RunProgress(console, "mipshop testbed") as progress:
        progress.start("mipv6", 4, "building the testbed")
        progress.update("mipv6", 0, "handover 1/4 to ar2")
        progress.update("mipv6", 1)
        progress.update("mipv6", 1)  # no news: no line
        progress.update("mipv6", 2, "handover 3/4 to ar2")
        progress.finish("mipv6", "measured")
    lines = buffer.getvalue().splitlines()
    assert lines[:3] == ["mipshop testbed: mipv6: handover 1/4 to ar2",
                         "mipshop testbed: mipv6: 25%",
                         "mipshop testbed: mipv6: handover 3/4 to ar2"]
    assert lines[3].startswith("mipshop testbed: mipv6: measured in ") and len(lines) == 4


def test_a_short_task_prints_only_its_end() -> None:
    console, buffer = _plain()
    with RunProgress(console, "mipshop compare") as progress:
        progress.start("fmipv6", 1.0, "simulating")
        for k in range(1, 101):
            progress.update("fmipv6", k / 100)
        progress.finish("fmipv6", "4 handovers")
    (line,) = buffer.getvalue().splitlines()
    assert line.startswith("mipshop compare: fmipv6: 4 handovers in ")


def test_a_terminal_gets_a_live_display_that_leaves_only_the_ends() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    with RunProgress(console, "mipshop simulate") as progress:
        assert progress.live
        progress.start("mipv6", 1.0, "simulating")
        progress.update("mipv6", 0.5)
        progress.finish("mipv6", "done")
    assert "mipv6: done in" in buffer.getvalue()
