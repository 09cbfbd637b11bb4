"""Fixtures of the real-packet tests: root or skip, and a leak check around every test.

These tests build network namespaces (``mipshop-<pid>x<n>-*``); each must leave none behind,
nor any process, whether it passes or fails. CI runs them as root.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from mipshop.net.testbed import NS_PREFIX, list_namespaces

ROOT = os.geteuid() == 0


def ours() -> list[str]:
    """This process's namespaces."""
    return [n for n in list_namespaces() if n.startswith(f"{NS_PREFIX}{os.getpid()}x")]


def our_links() -> list[str]:
    """Root-namespace links a testbed could have leaked (veths are created in namespaces)."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "mip0" in line or "p-mn" in line]


@pytest.fixture(autouse=True)
def _root_and_no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("netns") is None:
        yield
        return
    if not ROOT:
        pytest.skip("needs root (CAP_NET_ADMIN) for network namespaces; CI runs as root")
    before_links = our_links()
    yield
    assert ours() == [], f"namespaces left behind: {ours()}"
    assert our_links() == before_links
