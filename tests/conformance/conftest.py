"""The conformance tests need root (namespaces, raw sockets); they are skipped otherwise.

Each module shares one node under test (a module-scoped fixture); every node is started with
``tester.node_under_test``, which skips off root (``tester.require_root``, the one root check,
also applied here to every test marked ``netns``). At the end of the session no namespace of
this process may be left behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mipshop.net.testbed import NS_PREFIX, list_namespaces
from tests.conformance.tester import require_root

ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def _needs_root(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("netns") is not None:
        require_root()


@pytest.fixture(autouse=True, scope="session")
def _no_namespace_left() -> Iterator[None]:
    yield
    if ROOT:
        left = [n for n in list_namespaces() if n.startswith(f"{NS_PREFIX}{os.getpid()}x")
                and n.endswith(("-dut", "-tester"))]
        assert left == [], f"namespaces left behind: {left}"
