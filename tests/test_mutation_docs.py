"""``docs/mutation.py``, which tabulates mutmut's verdicts for ``docs/mutation.md``: on a small
``mutants/`` tree of the shape mutmut 3.8.1 writes, it counts each verdict, shows the line a
survivor changes, finds the survivors a document does not name, and refuses bad input with
status 2."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("mutation_doc", ROOT / "docs" / "mutation.py")
assert _spec is not None and _spec.loader is not None
mutation = importlib.util.module_from_spec(_spec)
sys.modules["mutation_doc"] = mutation
_spec.loader.exec_module(mutation)

SOURCE = '''
def xǁRǁcheck__mutmut_orig(self, a):
    if a > 1:
        return True
    return False

def xǁRǁcheck__mutmut_1(self, a):
    if a >= 1:
        return True
    return False

def xǁRǁcheck__mutmut_2(self, a):
    if a > 2:
        return True
    return False

def xǁRǁcheck__mutmut_3(self, a):
    if a > 1:
        return False
    return False
'''


def _tree(tmp_path: Path) -> Path:
    module = tmp_path / "mutants" / "src" / "mipshop" / "protocol" / "fmipv6"
    module.mkdir(parents=True)
    (module / "par.py").write_text(SOURCE)
    prefix = "mipshop.protocol.fmipv6.par.xǁRǁcheck__mutmut_"
    codes = {prefix + "1": 0, prefix + "2": 0, prefix + "3": 1, prefix + "4": None}
    (module / "par.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    return tmp_path / "mutants"


def test_table_survivors_and_check(tmp_path, capsys):
    root = _tree(tmp_path)
    assert mutation.main(["--mutants", str(root), "--survivors"]) == 0
    out = capsys.readouterr().out
    # 4 mutants, 3 run, 1 killed, 2 survived: 33.3%.
    assert "| `fmipv6.par` | `check` | 4 | 3 | 1 | 2 | 0 | 33.3% |" in out
    assert "fmipv6.par check 1: -if a > 1: | +if a >= 1:" in out
    assert "fmipv6.par check 2: -if a > 1: | +if a > 2:" in out
    document = tmp_path / "doc.md"
    document.write_text("- `fmipv6.par` `check` 1: why\n")
    assert mutation.main(["--mutants", str(root), "--check", str(document)]) == 1
    assert "fmipv6.par check 2:" in capsys.readouterr().out
    document.write_text("- `fmipv6.par` `check`: 1, 2\n")
    assert mutation.main(["--mutants", str(root), "--check", str(document)]) == 0


def test_bad_input_exits_2(tmp_path, capsys):
    root = _tree(tmp_path)
    assert mutation.main(["--mutants", str(tmp_path / "none")]) == 2
    assert mutation.main(["--mutants", str(root), "--functions", "fmipv6.par:nope"]) == 2
    assert mutation.main(["--mutants", str(root), "--check", str(tmp_path / "no.md")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


def test_two_classes_with_one_method_name_are_kept_apart(tmp_path, capsys):
    """A client's and a server's ``handle`` in one module: each keeps its own mutant numbers
    (one would otherwise overwrite the other's verdicts) and is named ``Class.method``."""
    module = tmp_path / "mutants" / "src" / "mipshop" / "protocol" / "base"
    module.mkdir(parents=True)
    source = "".join(
        f"def xǁ{cls}ǁhandle__mutmut_{n}(self, a):\n    return a {op} 1\n\n"
        for cls in ("Client", "Server") for n, op in (("orig", ">"), ("1", ">=")))
    (module / "dhcp.py").write_text(source)
    codes = {"mipshop.protocol.base.dhcp.xǁClientǁhandle__mutmut_1": 0,
             "mipshop.protocol.base.dhcp.xǁServerǁhandle__mutmut_1": 1}
    (module / "dhcp.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    root = tmp_path / "mutants"
    assert mutation.main(["--mutants", str(root), "--survivors"]) == 0
    out = capsys.readouterr().out
    assert "| `base.dhcp` | `Client.handle` | 1 | 1 | 0 | 1 | 0 | 0.0% |" in out
    assert "| `base.dhcp` | `Server.handle` | 1 | 1 | 1 | 0 | 0 | 100.0% |" in out
    assert "base.dhcp Client.handle 1: -return a > 1 | +return a >= 1" in out
    document = tmp_path / "doc.md"
    document.write_text("- `base.dhcp` `Client.handle` 1: why\n")
    assert mutation.main(["--mutants", str(root), "--check", str(document),
                          "--functions", "base.dhcp:Client.handle"]) == 0
