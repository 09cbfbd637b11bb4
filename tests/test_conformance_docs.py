"""The conformance matrices (``docs/conformance/rfc*.md``): well formed, honest references,
the README's counts up to date, and the requirement extractor on RFC-formatted text."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "conformance"

_spec = importlib.util.spec_from_file_location("conformance_requirements",
                                               DOCS / "requirements.py")
assert _spec is not None and _spec.loader is not None
requirements = importlib.util.module_from_spec(_spec)
sys.modules["conformance_requirements"] = requirements
_spec.loader.exec_module(requirements)

MATRICES = sorted(DOCS.glob("rfc*.md"))


def rows(path: Path) -> list[list[str]]:
    return [cells for line in path.read_text().splitlines()
            if (cells := requirements.parse_row(line)) is not None]


def test_there_are_three_matrices() -> None:
    assert [p.name for p in MATRICES] == ["rfc5380.md", "rfc5568.md", "rfc6275.md"]


def _references(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]\s+", cell) if part.strip()]


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
def test_rows_are_numbered_and_have_a_known_status(path: Path) -> None:
    table = rows(path)
    assert table, f"{path.name} has no rows"
    assert [int(r[0]) for r in table] == list(range(1, len(table) + 1))
    for number, _section, level, text, status, _where, _test in table:
        assert requirements.KEYWORDS.search(text), (number, text)
        assert level in text, (number, level)
        kind, _, reason = status.partition(":")
        assert kind in requirements.STATUSES, (number, status)
        if kind in ("partial", "not implemented", "not applicable"):
            assert reason.strip(), f"row {number}: {kind} needs a reason"


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
def test_implemented_rows_name_existing_code_and_tests(path: Path) -> None:
    for number, _s, _l, _t, status, where, test in rows(path):
        if not status.startswith(("implemented", "partial")):
            continue
        assert where, f"{path.name} row {number}: where is it implemented?"
        for reference in _references(where):
            module = reference.split("::")[0].split(":")[0]
            assert (ROOT / "src" / "mipshop" / module).exists(), (
                f"{path.name} row {number}: no src/mipshop/{module}")
        if status.startswith("implemented"):
            assert test, f"{path.name} row {number}: which test fails without it?"
        for reference in _references(test):
            file, _, function = reference.partition("::")
            source = ROOT / "tests" / file
            assert source.is_file(), f"{path.name} row {number}: no tests/{file}"
            assert re.search(rf"def {re.escape(function.split('[')[0])}\b",
                             source.read_text()), (
                f"{path.name} row {number}: no test {function} in tests/{file}")


def test_readme_counts_are_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert requirements.summary() in readme, (
        "README's conformance table is stale: paste the output of "
        "`python docs/conformance/requirements.py --summary`")


RFC_TEXT = """\
RFC 9999                  A Test Document                  July 2011


1.  Introduction

   Nothing here is a requirement (it MUST be ignored: section 1 is not kept).

9.  Correspondent Node Operation

9.1.  Conceptual Data Structures

   A node MUST keep a cache, e.g. a table.  It MAY do more.  The cache
   SHOULD NOT be emptied.

   o  The Payload Proto field MUST be 59.

   A sentence that runs over a page break MUST be one row: it goes on



Perkins, et al.              Standards Track                   [Page 76]
\f
RFC 9999                  A Test Document                  July 2011


   after the break.  Another paragraph SHOULD follow.
"""


def test_extractor_keeps_sentences_across_page_breaks_and_drops_bullets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(requirements.DOCUMENTS, 9999, ("A Test Document", ("9",)))
    found = requirements.extract(9999, RFC_TEXT)
    assert [(r.section, r.level, r.text) for r in found] == [
        ("9.1", "MUST", "A node MUST keep a cache, e.g. a table."),
        ("9.1", "SHOULD NOT", "The cache SHOULD NOT be emptied."),
        ("9.1", "MUST", "The Payload Proto field MUST be 59."),
        ("9.1", "MUST", "A sentence that runs over a page break MUST be one row: it goes on "
                        "after the break."),
        ("9.1", "SHOULD", "Another paragraph SHOULD follow."),
    ]


def test_regeneration_keeps_the_filled_cells(tmp_path: Path) -> None:
    requirement = requirements.Requirement(6275, "9.2", "MUST", "A | B MUST hold.")
    text = requirements.render(6275, [requirement], {
        ("9.2", "A | B MUST hold."): ("implemented", "x.py", "y.py::test_z")}, "# T\n")
    path = tmp_path / "m.md"
    path.write_text(text)
    assert requirements.read_rows(path) == {
        ("9.2", "A | B MUST hold."): ("implemented", "x.py", "y.py::test_z")}
