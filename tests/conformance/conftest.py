"""The conformance tests need root (namespaces, raw sockets); they are skipped otherwise.

Each module shares one node under test (a module-scoped fixture); at the end of the session no
namespace of this process may be left behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mipshop.net.testbed import NS_PREFIX, list_namespaces

ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def _needs_root(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("netns") is not None and not ROOT:
        pytest.skip("needs root (CAP_NET_ADMIN) for network namespaces; CI runs as root")


@pytest.fixture(autouse=True, scope="session")
def _no_namespace_left() -> Iterator[None]:
    yield
    if ROOT:
        left = [n for n in list_namespaces() if n.startswith(f"{NS_PREFIX}{os.getpid()}x")
                and n.endswith(("-dut", "-tester"))]
        assert left == [], f"namespaces left behind: {left}"
