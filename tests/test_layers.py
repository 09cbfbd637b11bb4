"""The layer rules of docs/architecture.md, checked on every module's run-time imports.

An import under ``if TYPE_CHECKING:`` is a type-only back-reference and does not count; every
other import (module level or inside a function) does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "mipshop"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(path: Path) -> set[str]:
    """The ``mipshop`` modules ``path`` imports at run time (absolute names)."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    name = ".".join(base + ([child.module] if child.module else []))
                else:
                    name = child.module or ""
                if name.startswith("mipshop"):
                    found.add(name)
                    # ``from . import x`` imports the submodule x
                    found.update(f"{name}.{alias.name}" for alias in child.names
                                 if (PACKAGE.parent / name.replace(".", "/") / alias.name).exists()
                                 or (PACKAGE.parent / f"{name.replace('.', '/')}/{alias.name}.py"
                                     ).exists())
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("mipshop"))
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


MODULES = {_module_name(p): _runtime_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, *prefixes: str) -> bool:
    """``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _allowed(module: str, target: str) -> bool:
    if target == "mipshop":
        return True
    if within(module, "mipshop.wire"):
        return within(target, "mipshop.wire")
    if module == "mipshop.measure":
        return within(target, "mipshop.wire")
    if module == "mipshop.model":
        # The analytic model is derived independently: the RFCs' constants and the
        # scenario as plain data, nothing of the simulator (nor of any runtime).
        return target == "mipshop.protocol.base.constants"
    if within(module, "mipshop.protocol.base"):
        return within(target, "mipshop.wire", "mipshop.protocol.base")
    if within(module, "mipshop.protocol.mipv6"):
        return within(target, "mipshop.wire", "mipshop.protocol.base", "mipshop.protocol.mipv6")
    if within(module, "mipshop.protocol.hmipv6"):
        return within(target, "mipshop.wire", "mipshop.protocol.base", "mipshop.protocol.mipv6",
                      "mipshop.protocol.hmipv6")
    if within(module, "mipshop.protocol.fmipv6"):
        # F-HMIPv6 composes the two in exactly these modules (docs/architecture.md).
        hmip = module in ("mipshop.protocol.fmipv6.map_anchor",
                          "mipshop.protocol.fmipv6.placement")
        return within(target, "mipshop.wire", "mipshop.protocol.base", "mipshop.protocol.mipv6",
                      "mipshop.protocol.fmipv6") or (hmip and within(target,
                                                                      "mipshop.protocol.hmipv6"))
    if within(module, "mipshop.protocol"):
        return within(target, "mipshop.wire", "mipshop.protocol")
    if within(module, "mipshop.sim"):
        return within(target, "mipshop.wire", "mipshop.protocol", "mipshop.measure",
                      "mipshop.model", "mipshop.sim")
    if within(module, "mipshop.net"):
        return within(target, "mipshop.wire", "mipshop.protocol", "mipshop.measure",
                      "mipshop.net")
    return True  # mipshop.cli and the package itself may import anything


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module: str) -> None:
    bad = sorted(t for t in MODULES[module] if not _allowed(module, t))
    assert not bad, f"{module} imports {bad}"


def test_the_checker_sees_a_violation() -> None:
    # The rules above would accept everything if the import scan found nothing.
    assert "mipshop.protocol.hmipv6.map" in MODULES["mipshop.protocol.fmipv6.map_anchor"]
    assert not _allowed("mipshop.protocol.hmipv6.map", "mipshop.protocol.fmipv6.map_anchor")
    assert not _allowed("mipshop.net.experiment", "mipshop.sim.compare")
    assert not _allowed("mipshop.protocol.mipv6.home_agent", "mipshop.protocol.hmipv6.map")
    assert not _allowed("mipshop.model", "mipshop.sim.scenario")
    assert not _allowed("mipshop.model", "mipshop.protocol.fmipv6.buffer")


def test_the_model_imports_nothing_of_the_simulator() -> None:
    """The analytic model must not borrow the simulator's timeline: its only mipshop import
    is the RFC constants (it is handed the scenario as plain data)."""
    assert MODULES["mipshop.model"] == {"mipshop.protocol.base.constants"}
    assert not any(within(t, "mipshop.sim") for t in MODULES["mipshop.model"])
