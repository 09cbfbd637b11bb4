"""Extract the requirement sentences of RFC 6275 §9-§11, RFC 5380 and RFC 5568 into the
conformance matrices of this directory, keeping what was filled in by hand.

Usage: ``python docs/conformance/requirements.py RFC_DIR`` where ``RFC_DIR`` holds the plain
text RFCs as the RFC Editor publishes them (``rfc6275.txt``, ``rfc5380.txt``,
``rfc5568.txt``; https://www.rfc-editor.org/rfc/rfcNNNN.txt). ``--check`` exits 1 (naming
the rows) when a matrix lacks a requirement of the text or holds one the text does not have;
``--summary`` (or no argument) prints the README's table of rows by status.

A requirement is a sentence holding an RFC 2119 keyword of obligation (MUST, MUST NOT,
REQUIRED, SHALL, SHALL NOT, SHOULD, SHOULD NOT, RECOMMENDED); MAY and OPTIONAL are left
out. Each becomes one row, keyed by its section and the sentence itself: regenerating
keeps the ``status``, ``where`` and ``test`` cells of every row whose key is unchanged, and
new rows start as ``unreviewed``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: RFC number -> (title, sections kept: a predicate on the section number's first part).
DOCUMENTS: dict[int, tuple[str, tuple[str, ...]]] = {
    # RFC 6275: the correspondent node, home agent and mobile node chapters.
    6275: ("Mobility Support in IPv6", ("9", "10", "11")),
    # RFC 5380: the protocol chapters (not the introduction, terminology, IANA, references).
    5380: ("Hierarchical Mobile IPv6 (HMIPv6) Mobility Management",
           ("3", "4", "5", "6", "7", "8", "9", "10", "11", "12")),
    # RFC 5568: the same.
    5568: ("Mobile IPv6 Fast Handovers", ("3", "4", "5", "6", "7", "8", "9", "10")),
}

KEYWORDS = re.compile(r"\b(MUST NOT|MUST|REQUIRED|SHALL NOT|SHALL|SHOULD NOT|SHOULD|"
                      r"RECOMMENDED|NOT RECOMMENDED)\b")
_PAGE_FOOTER = re.compile(r"^\S.*\[Page \d+\]\s*$")
_PAGE_HEADER = re.compile(r"^RFC \d{4}\s{2,}.*\s{2,}\w+ \d{4}\s*$")
_SECTION = re.compile(r"^(\d+(?:\.\d+)*)\.?\s{1,3}(\S.*)$")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "et al.", "Sec.", "vs.")


@dataclass(frozen=True)
class Requirement:
    """One requirement sentence of one section."""

    rfc: int
    section: str
    level: str
    text: str

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the row across regenerations."""
        return (self.section, self.text)


def clean_lines(text: str) -> list[str]:
    """The RFC's lines without page headers, footers and form feeds.

    A paragraph that runs on over a page break is joined again: the blank lines around the
    break are dropped unless the text before it ends a sentence.
    """
    out: list[str] = []
    skipping_blanks = False
    for line in text.replace("\f", "\n").splitlines():
        line = line.rstrip()
        if _PAGE_FOOTER.match(line):
            while out and not out[-1]:
                out.pop()
            if out and out[-1].endswith((".", ":")):
                out.append("")
            skipping_blanks = True
            continue
        if _PAGE_HEADER.match(line):
            skipping_blanks = True
            continue
        if skipping_blanks and not line:
            continue
        skipping_blanks = False
        out.append(line)
    return out


def sections(lines: list[str]) -> list[tuple[str, str, list[str]]]:
    """(number, title, paragraphs) for every numbered section after the table of contents."""
    result: list[tuple[str, str, list[str]]] = []
    current: tuple[str, str, list[str]] | None = None
    paragraph: list[str] = []
    seen_body = False

    def flush() -> None:
        if current is not None and paragraph:
            current[2].append(" ".join(paragraph))
        paragraph.clear()

    for line in lines:
        match = _SECTION.match(line)
        if match and not line.startswith(" "):
            number, title = match.groups()
            if "...." in title:
                continue  # table of contents
            if number == "1":
                seen_body = True
            if not seen_body:
                continue
            flush()
            current = (number, title.strip(), [])
            result.append(current)
            continue
        if not line.strip():
            flush()
            continue
        paragraph.append(line.strip())
    flush()
    return result


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph (a period, ? or ! followed by two spaces or the end)."""
    text = re.sub(r"\s+", " ", paragraph).strip()
    protected = text
    for abbreviation in _ABBREVIATIONS:
        protected = protected.replace(abbreviation, abbreviation.replace(".", "\0"))
    parts = re.split(r"(?<=[.!?:])\s+(?=[A-Z(\"o])", protected)
    sentences = [p.replace("\0", ".").strip() for p in parts if p.strip()]
    # A list item's bullet ("o  ") is not part of its sentence.
    return [s[2:].strip() if s.startswith("o ") else s for s in sentences]


def extract(rfc: int, text: str) -> list[Requirement]:
    """Every requirement sentence of the kept sections of ``rfc``."""
    kept = DOCUMENTS[rfc][1]
    found: list[Requirement] = []
    seen: set[tuple[str, str]] = set()
    for number, _title, paragraphs in sections(clean_lines(text)):
        if number.split(".")[0] not in kept:
            continue
        for paragraph in paragraphs:
            if paragraph.startswith("+") or paragraph.startswith("|"):
                continue  # figures
            for sentence in split_sentences(paragraph):
                levels = KEYWORDS.findall(sentence)
                if not levels:
                    continue
                requirement = Requirement(rfc, number, _strongest(levels), sentence)
                if requirement.key not in seen:
                    seen.add(requirement.key)
                    found.append(requirement)
    return found


def _strongest(levels: list[str]) -> str:
    order = ["MUST NOT", "MUST", "REQUIRED", "SHALL NOT", "SHALL", "SHOULD NOT", "SHOULD",
             "NOT RECOMMENDED", "RECOMMENDED"]
    return min(levels, key=order.index)


# -- the matrix files ----------------------------------------------------------------------------

HEADER = ("| # | § | level | requirement | status | where | test |\n"
          "|---|---|---|---|---|---|---|\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _uncell(text: str) -> str:
    return text.replace("\\|", "|").strip()


def read_rows(path: Path) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(section, sentence) -> (status, where, test) of an existing matrix."""
    rows: dict[tuple[str, str], tuple[str, str, str]] = {}
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        cells = parse_row(line)
        if cells is None:
            continue
        _n, section, _level, text, status, where, test = cells
        rows[(section, text)] = (status, where, test)
    return rows


def parse_row(line: str) -> list[str] | None:
    """The seven cells of a matrix row, or None for any other line."""
    if not line.startswith("| ") or line.startswith("| # ") or line.startswith("|---"):
        return None
    cells = [_uncell(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    return cells if len(cells) == 7 and cells[0].isdigit() else None


def render(rfc: int, requirements: list[Requirement],
           filled: dict[tuple[str, str], tuple[str, str, str]], preamble: str) -> str:
    """The matrix file: the preamble (kept from the existing file) and one row each."""
    lines = [preamble.rstrip() + "\n\n", HEADER]
    for number, requirement in enumerate(requirements, 1):
        status, where, test = filled.get(requirement.key, ("unreviewed", "", ""))
        lines.append(f"| {number} | {requirement.section} | {requirement.level} | "
                     f"{_cell(requirement.text)} | {_cell(status)} | {_cell(where)} | "
                     f"{_cell(test)} |\n")
    return "".join(lines)


def preamble_of(path: Path, rfc: int) -> str:
    """The text above the table (kept), or a default title."""
    if path.exists():
        text = path.read_text()
        head = text.split("\n| # |", 1)[0]
        if head.strip():
            return head
    return f"# RFC {rfc} ({DOCUMENTS[rfc][0]}): conformance matrix\n"


STATUSES = ("implemented", "partial", "not implemented", "not applicable", "unreviewed")


def status_counts(path: Path) -> dict[str, int]:
    """Rows of the matrix ``path`` by status (the part before any ``:``)."""
    counts = dict.fromkeys(STATUSES, 0)
    for line in path.read_text().splitlines():
        cells = parse_row(line)
        if cells is not None:
            kind = cells[4].split(":", 1)[0].strip()
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def summary() -> str:
    """The README's table: rows of each matrix by status."""
    lines = ["| matrix | rows | " + " | ".join(STATUSES) + " |",
             "|---|---|" + "---|" * len(STATUSES)]
    for rfc in DOCUMENTS:
        counts = status_counts(HERE / f"rfc{rfc}.md")
        lines.append(f"| `docs/conformance/rfc{rfc}.md` | {sum(counts.values())} | "
                     + " | ".join(str(counts[s]) for s in STATUSES) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or ``--check``) the three matrices from the RFC texts in RFC_DIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rfc_dir", type=Path, nargs="?")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--summary", action="store_true",
                        help="print the README's table of rows by status and stop")
    args = parser.parse_args(argv)
    if args.summary or args.rfc_dir is None:
        print(summary())
        return 0
    problems = []
    for rfc in DOCUMENTS:
        source = args.rfc_dir / f"rfc{rfc}.txt"
        if not source.is_file():
            print(f"requirements.py: no {source}", file=sys.stderr)
            return 2
        requirements = extract(rfc, source.read_text(errors="replace"))
        target = HERE / f"rfc{rfc}.md"
        filled = read_rows(target)
        if args.check:
            wanted = {r.key for r in requirements}
            problems += [f"rfc{rfc}.md lacks §{s}: {t[:60]}" for s, t in wanted - set(filled)]
            problems += [f"rfc{rfc}.md has extra §{s}: {t[:60]}" for s, t in set(filled) - wanted]
            continue
        target.write_text(render(rfc, requirements, filled, preamble_of(target, rfc)))
        print(f"rfc{rfc}.md: {len(requirements)} rows")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
