"""Run Wireshark's dissectors (tshark) over packets we encoded, for the interop tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from mipshop.wire.pcap import CapturedPacket, write_pcap

#: Wireshark expert-info severities (epan/proto.h): PI_WARN and PI_ERROR.
SEVERITY_WARNING = 0x00600000
SEVERITY_ERROR = 0x00800000


def require_tshark() -> str:
    """Path of tshark; fails (not skips) the test when missing, since CI installs it."""
    path = shutil.which("tshark")
    if path is None:
        pytest.fail("tshark is not installed (make test installs it with apt-get when root)")
    return path


def dissect(packets: Sequence[bytes], *, extra: Sequence[str] = ()) -> list[dict]:
    """Dissect ``packets`` (raw IPv6) with tshark and return each packet's ``layers`` tree."""
    tshark = require_tshark()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.pcap"
        write_pcap(
            path, [CapturedPacket(timestamp=float(i), data=p) for i, p in enumerate(packets)]
        )
        return dissect_file(path, tshark=tshark, extra=extra)


def dissect_file(path: Path, *, tshark: str | None = None, extra: Sequence[str] = ()) -> list[dict]:
    """Dissect a capture file with tshark; returns each packet's ``layers`` tree."""
    tshark = tshark or require_tshark()
    result = subprocess.run(
        [tshark, "-r", str(path), "-T", "json", "--no-duplicate-keys", *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return [entry["_source"]["layers"] for entry in json.loads(result.stdout)]


def walk(tree: object) -> Iterator[tuple[str, object]]:
    """Every (field name, value) pair anywhere in a tshark JSON tree, lists expanded."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if isinstance(value, list):
                for item in value:
                    yield key, item
                    yield from walk(item)
            else:
                yield key, value
                yield from walk(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from walk(item)


def fields(tree: object, name: str) -> list[str]:
    """All string values of the field ``name`` in a packet's tree, in document order."""
    return [value for key, value in walk(tree) if key == name and isinstance(value, str)]


def problems(tree: object) -> list[str]:
    """Malformed markers and expert messages of warning or error severity in a packet."""
    found = []
    for key, value in walk(tree):
        if key == "_ws.malformed" and isinstance(value, str):
            found.append("malformed")
        if key == "_ws.expert" and isinstance(value, dict):
            severity = int(value.get("_ws.expert.severity", "0"))
            if severity >= SEVERITY_WARNING:
                found.append(f"{value.get('_ws.expert.message')} (severity {severity:#x})")
    return found
