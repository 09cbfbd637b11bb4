"""Tabulate a mutmut run of the protocol package for ``docs/mutation.md``.

mutmut (3.8.1) keeps its verdicts in ``mutants/**/*.py.meta`` (JSON: an exit code per mutant,
``null`` for a mutant not run). This script reads them, without running anything, and prints:

- the score table, one row per function (``--functions``, default every function with a
  mutant that ran): mutants, run, killed (a test failed or timed out), survived, no test
  reached it, score = killed / run;
- ``--survivors``: each surviving mutant with the line it changes (the mutant's function
  compared with mutmut's copy of the original), the material for judging it;
- ``--check docs/mutation.md``: the survivors that the document neither judges nor lists as
  open, i.e. no list line ``- `module` `function`: n, ...`` (or ``... `function` n: why``)
  names their number. Exit status 1 if there is one.

Usage, from the repository root after ``mutmut run``::

    python docs/mutation.py
    python docs/mutation.py --functions fmipv6.par:fast_binding_update --survivors
    python docs/mutation.py --check docs/mutation.md

A ``--functions`` entry is ``module:function`` with the module relative to
``mipshop.protocol`` (a method by its name only, or ``Class.method`` where two classes of
the module share the name, as everywhere the script names it). A missing ``mutants/``
directory or an unknown function exits with status 2 and one line.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "mipshop.protocol"
#: mutmut's exit codes (mutmut/stats.py): 1 and 3 killed, 0 survived, 5 and 33 no tests,
#: 36, 24, -24, 152 and 255 timeouts (counted as killed, as mutmut does).
KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class Function:
    """The verdicts of the mutants of one function."""

    module: str  # relative to mipshop.protocol, e.g. "fmipv6.par"
    name: str  # the method or function name
    mangled: str  # mutmut's name, e.g. "xǁPreviousRouterRoleǁfast_binding_update"
    source: Path
    codes: dict[int, int | None] = field(default_factory=dict)

    def count(self, codes: set[int]) -> int:
        """How many mutants ended with one of ``codes``."""
        return sum(1 for c in self.codes.values() if c in codes)

    @property
    def run(self) -> int:
        """Mutants that ran (any verdict)."""
        return sum(1 for c in self.codes.values() if c is not None)

    def survivors(self) -> list[int]:
        """The numbers of the surviving mutants, in order."""
        return sorted(n for n, c in self.codes.items() if c in SURVIVED)


def load(root: Path) -> dict[tuple[str, str], Function]:
    """Every function of the protocol package with mutants, keyed by (module, name)."""
    base = root / "src" / "mipshop" / "protocol"
    if not base.is_dir():
        raise FileNotFoundError(f"no {base} (run mutmut first)")
    by_mangled: dict[tuple[str, str], Function] = {}
    for meta in sorted(base.rglob("*.py.meta")):
        source = meta.with_suffix("")
        module = ".".join(source.relative_to(base).with_suffix("").parts)
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for key, code in codes.items():
            mangled, _, number = key.rpartition(".")[2].rpartition("__mutmut_")
            name = mangled.split("ǁ")[-1] if "ǁ" in mangled else mangled.removeprefix("x_")
            entry = by_mangled.setdefault((module, mangled),
                                          Function(module, name, mangled, source))
            entry.codes[int(number)] = code
    # Two classes of one module with a method of the same name (a client's and a server's
    # ``handle``): each is named ``Class.method`` so that their mutant numbers stay apart.
    names = defaultdict(int)
    for f in by_mangled.values():
        names[(f.module, f.name)] += 1
    functions: dict[tuple[str, str], Function] = {}
    for f in by_mangled.values():
        if names[(f.module, f.name)] > 1 and "ǁ" in f.mangled:
            f.name = ".".join(f.mangled.split("ǁ")[1:3])
        functions[(f.module, f.name)] = f
    return functions


def changed_lines(function: Function, numbers: list[int]) -> dict[int, str]:
    """The lines each mutant changes, as ``-old | +new``, from mutmut's generated source."""
    text = function.source.read_text()
    bodies: dict[str, list[str]] = {}
    prefix = function.mangled + "__mutmut_"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
                node.name.startswith(prefix)):
            segment = ast.get_source_segment(text, node) or ""
            bodies[node.name.removeprefix(prefix)] = segment.splitlines()[1:]
    original = bodies.get("orig", [])
    out = {}
    for number in numbers:
        diff = difflib.unified_diff(original, bodies.get(str(number), []), lineterm="", n=0)
        out[number] = " | ".join(line[0] + line[1:].strip() for line in diff
                                 if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    return out


def table(functions: list[Function]) -> str:
    """The Markdown score table of ``functions`` and their total."""
    lines = ["| module | function | mutants | run | killed | survived | no test reached it "
             "| score (run) |", "|---|---|---|---|---|---|---|---|"]
    totals = [0, 0, 0, 0, 0]
    for f in functions:
        row = [len(f.codes), f.run, f.count(KILLED), f.count(SURVIVED), f.count(NO_TESTS)]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        lines.append(f"| `{f.module}` | `{f.name}` | " + " | ".join(f"{v:,}" for v in row)
                     + f" | {_score(row)} |")
    lines.append("| **all** | | " + " | ".join(f"{v:,}" for v in totals)
                 + f" | {_score(totals)} |")
    return "\n".join(lines)


def _score(row: list[int]) -> str:
    return f"{100 * row[2] / row[1]:.1f}%" if row[1] else "not run"


def judged(document: str) -> dict[tuple[str, str], set[int]]:
    """The mutant numbers ``document`` names, per (module, function), from its list lines
    ``- `module` `function`: 1, 2`` and ``- `module` `function` 3, 4: why``."""
    named: dict[tuple[str, str], set[int]] = defaultdict(set)
    pattern = re.compile(r"^- `([\w.]+)` `([\w.]+)`:? ([\d, ]+)")
    for line in document.splitlines():
        match = pattern.match(line)
        if match:
            numbers = {int(n) for n in re.findall(r"\d+", match.group(3))}
            named[(match.group(1), match.group(2))] |= numbers
    return named


def main(argv: list[str] | None = None) -> int:
    """Print the table (and the survivors) or check the document; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"),
                        help="mutmut's working directory (default: mutants)")
    parser.add_argument("--functions", default="",
                        help="comma-separated module:function entries (default: all that ran)")
    parser.add_argument("--survivors", action="store_true",
                        help="list each survivor with the line it changes")
    parser.add_argument("--check", type=Path, metavar="DOC",
                        help="list the survivors DOC does not name; exit 1 if any")
    args = parser.parse_args(argv)
    try:
        functions = load(args.mutants)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.functions:
        chosen = []
        for entry in args.functions.split(","):
            module, _, name = entry.strip().partition(":")
            if (module, name) not in functions:
                print(f"error: no mutants for {entry.strip()!r} in {args.mutants}",
                      file=sys.stderr)
                return 2
            chosen.append(functions[(module, name)])
    else:
        chosen = [f for f in functions.values() if f.run]
    if args.check is not None:
        if not args.check.is_file():
            print(f"error: no such document: {args.check}", file=sys.stderr)
            return 2
        named = judged(args.check.read_text())
        missing = 0
        for f in chosen:
            left = [n for n in f.survivors() if n not in named.get((f.module, f.name), set())]
            for number, line in changed_lines(f, left).items():
                print(f"{f.module} {f.name} {number}: {line}")
            missing += len(left)
        print(f"{missing} survivor(s) not named in {args.check}", file=sys.stderr)
        return 1 if missing else 0
    print(table(chosen))
    if args.survivors:
        for f in chosen:
            for number, line in changed_lines(f, f.survivors()).items():
                print(f"{f.module} {f.name} {number}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
