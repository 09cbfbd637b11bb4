"""Progress of long runs on standard error.

On a terminal, a rich live display: one bar per task (a protocol), with its current step and
the time elapsed. Elsewhere (a log file, CI, a pipe), where a live display would print nothing
until the end, plain lines: at each new step, at every quarter of a task that has run for
:data:`QUIET_SECONDS` or more (a short run stays short), and when a task ends, with its
duration. Standard output keeps only the results.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

#: Plain-line progress reports a task's quarters only once it has run this long.
QUIET_SECONDS = 2.0


class RunProgress:
    """Progress of the tasks of one command (module docstring); use as a context manager."""

    def __init__(self, console: Console, command: str) -> None:
        self.console = console
        self.command = command
        self.live = console.is_terminal
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._state: dict[str, tuple[float, float, str, float]] = {}

    def __enter__(self) -> RunProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("{task.fields[name]:<16}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, value, traceback)

    def start(self, name: str, total: float, step: str = "") -> None:
        """A task begins: ``total`` units of work (1.0 for a fraction)."""
        self._state[name] = (total, 0.0, step, time.monotonic())
        if self._bar is not None:
            self._tasks[name] = self._bar.add_task(step, total=total, name=name)

    def update(self, name: str, completed: float, step: str | None = None) -> None:
        """``completed`` units of ``name`` are done; ``step`` says what it is doing now."""
        total, before, old_step, started = self._state[name]
        step = old_step if step is None else step
        self._state[name] = (total, completed, step, started)
        if self._bar is not None:
            self._bar.update(self._tasks[name], completed=completed, description=step)
            return
        if step != old_step:
            self._line(f"{name}: {step}")
        elif (total and int(4 * completed / total) > int(4 * before / total)
              and time.monotonic() - started >= QUIET_SECONDS):
            self._line(f"{name}: {100 * completed / total:.0f}%")

    def finish(self, name: str, summary: str = "done") -> None:
        """``name`` has ended; ``summary`` is printed with its duration."""
        total, _done, _step, started = self._state.pop(name)
        elapsed = time.monotonic() - started
        if self._bar is not None:
            self._bar.update(self._tasks[name], completed=total)
            self._bar.remove_task(self._tasks.pop(name))
        self._line(f"{name}: {summary} in {elapsed:.1f} s")

    def _line(self, text: str) -> None:
        self.console.print(f"{self.command}: {text}", highlight=False, markup=False,
                           soft_wrap=True)
