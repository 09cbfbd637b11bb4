"""``docs/charter.py``, which writes the tables of the charter documents (security, localized
mobility requirements, FMIPv6 over 802.11): it runs on a quick configuration, every table it
makes is in its document with the same columns, and its checks catch what they should."""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mipshop.sim.compare import run_protocol
from mipshop.sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("charter", ROOT / "docs" / "charter.py")
assert _spec is not None and _spec.loader is not None
charter = importlib.util.module_from_spec(_spec)
sys.modules["charter"] = charter
_spec.loader.exec_module(charter)

BLOCK = re.compile(r"<!-- charter:([a-z0-9-]+) -->\n(.*?)\n<!-- /charter:\1 -->", re.S)


@pytest.fixture(scope="module")
def quick_output() -> dict[str, str]:
    """Every table of a quick run (two handovers, one seed, the ends of each grid)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert charter.main(["--quick"]) == 0
    return dict(BLOCK.findall(out.getvalue()))


def _tables(text: str) -> list[list[str]]:
    """The markdown tables of a block, each as its lines."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_the_quick_run_makes_every_table_with_rows(quick_output: dict[str, str]) -> None:
    assert list(quick_output) == list(charter.TABLES)
    for name, text in quick_output.items():
        tables = _tables(text)
        assert tables, name
        for lines in tables:
            assert len(lines) >= 3, (name, lines)  # header, separator, at least one row
            width = lines[0].count("|")
            assert all(line.count("|") == width for line in lines), name
        # The first line says how the table was made.
        assert text.splitlines()[0].startswith("`python "), name


def test_every_document_holds_every_table_with_the_scripts_columns(
        quick_output: dict[str, str]) -> None:
    for doc, path in charter.DOCS.items():
        blocks = dict(BLOCK.findall(path.read_text()))
        expected = [name for name, (where, _make) in charter.TABLES.items() if where == doc]
        assert sorted(blocks) == sorted(expected), path.name
        for name in expected:
            ours = [t[0] for t in _tables(quick_output[name])]
            theirs = [t[0] for t in _tables(blocks[name])]
            assert theirs == ours, (path.name, name)


def test_the_documents_do_not_hold_quick_figures() -> None:
    for path in charter.DOCS.values():
        text = path.read_text()
        assert "--quick" not in text, path.name
        assert "--messages 2000" not in text and "--sizes 300 " not in text, path.name


def test_scenarios_are_the_example_files_with_the_dotted_keys_set() -> None:
    assert charter.scenario("reference.toml", {}) == load_scenario(
        ROOT / "examples" / "reference.toml")
    lossy = charter.scenario("lossy-wifi.toml", {"links.wireless.loss": 0.05,
                                                 "fmipv6.lead_ms": 10})
    base = load_scenario(ROOT / "examples" / "lossy-wifi.toml")
    assert lossy.links.wireless.loss == 0.05 and base.links.wireless.loss == 0.02
    assert lossy.fmipv6.lead_ms == 10
    assert lossy.movement == base.movement


def test_pooling_refuses_windows_that_do_not_give_the_runs_mean() -> None:
    scen = charter.scenario("reference.toml", {"movement.handovers": 2})
    result = run_protocol(scen, "fmipv6", seed=1)
    pooled = charter.Pooled()
    pooled.add(result)
    assert pooled.handovers == 2 and len(pooled.disruptions or []) == 2
    assert pooled.mean == pytest.approx(result.disruption_ms["mean"])
    wrong = replace(result, disruption_ms={**result.disruption_ms,
                                           "mean": result.disruption_ms["mean"] + 5.0})
    with pytest.raises(RuntimeError, match="windows"):
        charter.Pooled().add(wrong)


def test_regions_of_the_reference_links() -> None:
    assert charter._region("bss0") == charter.RADIO
    assert charter._region("ar1-map") == charter.INSIDE
    assert charter._region("ar0-ar1") == charter.INSIDE
    for link in ("map-core", "core-ha", "core-cn", "home"):
        assert charter._region(link) == charter.OUTSIDE


def test_replace_block_replaces_only_its_block() -> None:
    text = "a\n<!-- charter:x -->\nold\n<!-- /charter:x -->\nb\n<!-- charter:y -->\nz\n" \
           "<!-- /charter:y -->\n"
    new = charter.replace_block(text, "x", charter.block("x", ["new"]))
    assert new == text.replace("old", "new")
    with pytest.raises(ValueError):
        charter.replace_block(text, "w", "")


@pytest.mark.parametrize("argv", [["--only", "nope"], ["--write", "--quick"]])
def test_bad_arguments_exit_2_with_one_line(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert charter.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("docs/charter.py: error: ")


def _named_tests(text: str) -> list[tuple[str, str | None]]:
    """(file, test name or None) for every test the text names in backticks: a path
    (``tests/x.py`` or ``tests/x.py::test_y``), then ``::test_z`` or ``test_z`` of that file."""
    named: list[tuple[str, str | None]] = []
    current: str | None = None
    for token in re.findall(r"`([^`\n]+)`", text):
        if token.startswith("tests/"):
            path, _, name = token.partition("::")
            if not path.endswith(".py"):
                continue  # a directory
            current = path
            named.append((path, name or None))
        elif current is not None and re.fullmatch(r"(::)?test_\w+", token):
            named.append((current, token.removeprefix("::")))
    return named


@pytest.mark.parametrize("path", list(charter.DOCS.values()), ids=lambda p: p.name)
def test_every_test_a_document_names_exists(path: Path) -> None:
    named = _named_tests(path.read_text())
    assert named or path.name == "lmm-requirements.md"
    for file, name in named:
        if "*" in file:
            assert list(ROOT.glob(file)), (path.name, file)
            continue
        source = ROOT / file
        assert source.is_file(), (path.name, file)
        if name is not None:
            assert re.search(rf"^def {name}\(", source.read_text(), re.M), (path.name, file, name)


def test_the_named_test_parser() -> None:
    text = ("`tests/a.py::test_b`, `::test_c`; `tests/d.py`: `test_e`, `test_f`; "
            "`tests/protocol/` and `mipshop.x`")
    assert _named_tests(text) == [("tests/a.py", "test_b"), ("tests/a.py", "test_c"),
                                  ("tests/d.py", None), ("tests/d.py", "test_e"),
                                  ("tests/d.py", "test_f")]


def test_a_table_run_is_what_mipshop_simulate_gives(tmp_path: Path) -> None:
    """The tables' runs are ``mipshop simulate`` of the example with the dotted keys set:
    the same figures from the command, for a file that sets the same keys."""
    import json
    import subprocess

    from mipshop.sim.compare import results_to_dict

    overrides = {"movement.handovers": 2, "fmipv6.lead_ms": 10, "links.wireless.loss": 0.02}
    scenario_file = tmp_path / "s.toml"
    scenario_file.write_text("[movement]\nhandovers = 2\n[fmipv6]\nlead_ms = 10\n"
                             "[links.wireless]\nloss = 0.02\n")
    out = tmp_path / "out.json"
    subprocess.run([sys.executable, "-m", "mipshop.cli.main", "simulate", str(scenario_file),
                    "--protocols", "fmipv6", "--seed", "3", "--json", str(out)],
                   check=True, capture_output=True)
    ours = results_to_dict(charter.scenario("reference.toml", overrides),
                           [charter.run("reference.toml", overrides, "fmipv6", 3)], seed=3)
    theirs = json.loads(out.read_text())
    assert theirs["results"] == json.loads(json.dumps(ours["results"]))
    assert theirs["scenario"]["links"]["wireless"]["loss"] == 0.02
