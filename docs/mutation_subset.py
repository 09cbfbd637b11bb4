"""Run mutmut's mutants against a few chosen test files, in one process (``docs/mutation.md``).

mutmut runs, for each mutant, every test that reaches its function. For the functions every
test reaches (the configuration checks, the entity's timers, the bounded tables) that is the
whole protocol suite per mutant, hours on this machine. This script runs them instead against
the test files that check them, as the first run did for the authentication functions: one
pytest session per mutant inside one Python process, the mutant switched by
``MUTANT_UNDER_TEST`` (mutmut's trampolines read it at every call), stopping at the first
failure. A kill here is a kill; a survivor may still be killed by a test outside the files.

Run from mutmut's working copy (``mutants/``, after ``mutmut run`` generated it)::

    cd mutants && python ../docs/mutation_subset.py --out subset.json \\
        --mutants 'mipshop.protocol.base.config.*' \\
        --tests tests/protocol/base/test_config_bounds.py tests/protocol/mipv6/test_config.py

``--merge subset.json`` then writes those verdicts (1 killed, 0 survived, 36 timed out) into
mutmut's ``.meta`` files, where ``docs/mutation.py`` reads them (only with mutmut stopped: it
rewrites them). A mutant still running after ``--timeout`` seconds counts as killed (timed
out), as mutmut counts it.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import signal
import sys
import time
from pathlib import Path

SOURCE = Path("src") / "mipshop" / "protocol"


class _TimedOut(BaseException):
    """Raised by the alarm in a mutant that runs past ``--timeout``."""


#: Set by the alarm: pytest reports an exception raised inside a test as that test's failure
#: (it catches BaseException there), so the verdict reads this flag, not the exception.
_fired = False


def _alarm(_signum: int, _frame: object) -> None:
    global _fired
    _fired = True
    raise _TimedOut


def mutant_names(patterns: list[str]) -> list[str]:
    """Every mutant of mutmut's ``.meta`` files whose name matches one of ``patterns``."""
    names = []
    for meta in sorted(SOURCE.rglob("*.py.meta")):
        for key in json.loads(meta.read_text())["exit_code_by_key"]:
            if any(fnmatch.fnmatchcase(key, p) for p in patterns):
                names.append(key)
    return names


def run(names: list[str], tests: list[str], timeout: float) -> dict[str, int]:
    """Each mutant's verdict: 1 killed, 0 survived, 36 timed out."""
    import pytest

    signal.signal(signal.SIGALRM, _alarm)
    verdicts: dict[str, int] = {}
    global _fired
    for name in names:
        os.environ["MUTANT_UNDER_TEST"] = name
        _fired = False
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "--no-header",
                                "-p", "no:randomly", *tests])
            verdicts[name] = 36 if _fired else 0 if code == 0 else 1
        except _TimedOut:
            verdicts[name] = 36
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"VERDICT {name} {verdicts[name]}", flush=True)
    os.environ["MUTANT_UNDER_TEST"] = ""
    return verdicts


def merge(path: Path) -> int:
    """Write the verdicts of ``path`` into mutmut's ``.meta`` files; how many were written."""
    verdicts = json.loads(path.read_text())
    written = 0
    for meta in sorted(SOURCE.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        mine = {k: v for k, v in verdicts.items() if k in codes}
        if mine:
            codes.update(mine)
            meta.write_text(json.dumps(data))
            written += len(mine)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run or merge; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", nargs="+", default=[], metavar="PATTERN",
                        help="mutant name patterns (fnmatch), as mutmut names them")
    parser.add_argument("--tests", nargs="+", default=[], help="test files or node ids")
    parser.add_argument("--out", type=Path, help="JSON file the verdicts are added to")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a mutant may run (default 60)")
    parser.add_argument("--merge", type=Path, metavar="JSON",
                        help="write these verdicts into mutmut's .meta files and stop")
    args = parser.parse_args(argv)
    if not SOURCE.is_dir():
        print(f"error: no {SOURCE}: run from mutmut's mutants/ directory", file=sys.stderr)
        return 2
    if args.merge is not None:
        print(f"{merge(args.merge)} verdict(s) written")
        return 0
    names = mutant_names(args.mutants)
    if not names or not args.tests or args.out is None:
        print("error: --mutants matched nothing, or --tests or --out is missing",
              file=sys.stderr)
        return 2
    sys.path[:0] = [str(Path("src").resolve()), str(Path().resolve())]
    started = time.time()
    verdicts = run(names, args.tests, args.timeout)
    old = json.loads(args.out.read_text()) if args.out.is_file() else {}
    args.out.write_text(json.dumps({**old, **verdicts}, indent=0))
    killed = sum(1 for v in verdicts.values() if v)
    print(f"{len(verdicts)} mutants, {killed} killed, {len(verdicts) - killed} survived, "
          f"{time.time() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
