"""The daemon's control socket (``mipshop.net.daemon.Daemon``): every line that is not a
well-formed command gets an error answer and the connection goes on; a line over the limit
is answered and the connection closed; the socket is its owner's only. A stand-in runtime:
no root, no TUN device."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from mipshop.net.daemon import Daemon, link_event
from mipshop.protocol.base.link_events import (
    LinkDown,
    LinkEvent,
    LinkGoingDown,
    LinkUp,
    ScanCompleted,
)


class _Runtime:
    """What :class:`Daemon` uses of a runtime."""

    def __init__(self, control: str) -> None:
        self.events = [{"kind": f"e{i}"} for i in range(5)]
        self.events_recorded = 5
        self.entity = type("Entity", (), {"name": "ha"})()
        self.settings = type("Settings", (), {"control": control})()

    def state(self) -> dict[str, Any]:
        return {"bindings": 3}

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        pass


# (line sent, what the answer's error says; None: an ok answer)
LINES: list[tuple[bytes, str | None]] = [
    (b'{"cmd": "state"}', None),
    (b"[1, 2]", "a command is a JSON object"),
    (b"5", "a command is a JSON object"),
    (b'"state"', "a command is a JSON object"),
    (b"not json", "Expecting value"),
    (b'{"cmd": "\xc3\x28"}', "can't decode"),  # not UTF-8
    (b'{"cmd": "events", "since": 1e400}', "since must be a whole number >= 0, got inf"),
    (b'{"cmd": "events", "since": -2}', "since must be a whole number >= 0, got -2"),
    (b'{"cmd": "events", "since": "3"}', "since must be a whole number >= 0, got '3'"),
    (b'{"cmd": "events", "since": true}', "since must be a whole number >= 0, got True"),
    (b'{"cmd": "l2", "event": "link_up"}', "l2 triggers go to a mobile node"),
    (b'{"cmd": "handover", "mobile": "2001:db8::1", "target_ap": "00005e00aa02"}',
     "unsolicited PrRtAdvs come from an access router with fast_handover"),
    (b'{"cmd": "neighbourhood", "destination": "2001:db8::1"}',
     "unsolicited PrRtAdvs come from an access router with fast_handover"),
    (b'{"cmd": "reboot"}', "unknown command 'reboot'"),
    (b'{"cmd": "events", "since": 3}', None),
]


def test_bad_lines_are_answered_and_the_connection_goes_on(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        daemon = Daemon(_Runtime(str(tmp_path / "control.sock")))  # type: ignore[arg-type]
        server = await asyncio.start_unix_server(daemon.serve_client,
                                                 path=str(tmp_path / "c.sock"))
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
        answers = []
        for line, _ in LINES:
            writer.write(line + b"\n")
            await writer.drain()
            answers.append(json.loads(await reader.readline()))
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)  # the server's side sees the end and returns
        server.close()
        return answers

    answers = asyncio.run(scenario())
    for (line, error), answer in zip(LINES, answers, strict=True):
        if error is None:
            assert answer["ok"] is True, (line, answer)
        else:
            assert answer["ok"] is False and error in answer["error"], (line, answer)
    assert answers[-1]["events"] == [{"kind": "e3"}, {"kind": "e4"}]


def test_a_line_over_the_limit_is_answered_and_the_connection_closed(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[str, Any], bytes]:
        daemon = Daemon(_Runtime(str(tmp_path / "control.sock")))  # type: ignore[arg-type]
        server = await asyncio.start_unix_server(daemon.serve_client,
                                                 path=str(tmp_path / "c.sock"))
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
        writer.write(b'{"cmd": "' + b"x" * 100_000 + b'"}\n{"cmd": "state"}\n')
        await writer.drain()
        answer = json.loads(await reader.readline())
        rest = await reader.read()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
        server.close()
        return answer, rest

    answer, rest = asyncio.run(scenario())
    assert answer == {"ok": False, "error": "a command longer than the limit (64 KiB)"}
    assert rest == b""  # closed: the state command after it is not taken


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_control_socket_is_its_owners_only(tmp_path: Path, umask: int) -> None:
    control = tmp_path / "control.sock"
    daemon = Daemon(_Runtime(str(control)))  # type: ignore[arg-type]

    async def scenario() -> int:
        task = asyncio.create_task(daemon.run())
        while not control.exists():
            await asyncio.sleep(0.01)
        mode = stat.S_IMODE(control.stat().st_mode)
        daemon.stopped.set()
        await task
        return mode

    previous = os.umask(umask)
    try:
        mode = asyncio.run(scenario())
    finally:
        os.umask(previous)
    assert mode == 0o600
    assert os.umask(previous) == previous  # the daemon put the umask back


@pytest.mark.parametrize(("since", "kinds"), [
    (0, ["e5", "e6", "e7", "e8", "e9"]),  # the older ones are gone: from the first held
    (5, ["e5", "e6", "e7", "e8", "e9"]),
    (8, ["e8", "e9"]),
    (10, []),
    (50, []),
])
def test_since_counts_from_the_first_event_ever(since: int, kinds: list[str]) -> None:
    runtime = _Runtime("unused")
    runtime.events = deque(({"kind": f"e{i}"} for i in range(10)), maxlen=5)  # type: ignore[assignment]
    runtime.events_recorded = 10
    answer = Daemon(runtime).handle({"cmd": "events", "since": since})  # type: ignore[arg-type]
    assert answer["ok"] and (answer["first"], answer["next"]) == (5, 10)
    assert [e["kind"] for e in answer["events"]] == kinds


# (the l2 command, the link event it names, or the error it is answered with)
LINK_EVENTS: list[tuple[dict[str, Any], LinkEvent | str]] = [
    ({"event": "link_up"}, LinkUp(ap=None)),
    ({"event": "link_up", "ap": "00:00:5e:00:aa:02"}, LinkUp(ap=bytes.fromhex("00005e00aa02"))),
    ({"event": "link_up", "ap": "00005e00aa02"}, LinkUp(ap=bytes.fromhex("00005e00aa02"))),
    ({"event": "link_up", "ap": 5}, "ap must be a hex string, got 5"),
    ({"event": "link_down"}, LinkDown()),
    ({"event": "link_going_down", "target_ap": "00:00:5e:00:aa:03"},
     LinkGoingDown(target_ap=bytes.fromhex("00005e00aa03"))),
    ({"event": "link_going_down"}, "link_going_down needs target_ap"),
    ({"event": "link_going_down", "target_ap": "zz"}, "target_ap must be a hex string, got 'zz'"),
    ({"event": "scan"}, ScanCompleted(access_points=())),
    ({"event": "scan", "access_points": ["00005e00aa02", "00:00:5e:00:aa:03"]},
     ScanCompleted(access_points=(bytes.fromhex("00005e00aa02"), bytes.fromhex("00005e00aa03")))),
    ({"event": "scan", "access_points": "00005e00aa02"},
     "access_points must be a list, got '00005e00aa02'"),
    ({"event": "scan", "access_points": [None]}, "access_points must be a hex string, got None"),
    ({"event": "reboot"}, "unknown link event 'reboot'"),
]


@pytest.mark.parametrize(("command", "expected"), LINK_EVENTS)
def test_an_l2_command_names_its_link_event_or_the_field_that_is_wrong(
        command: dict[str, Any], expected: LinkEvent | str) -> None:
    if isinstance(expected, str):
        with pytest.raises((ValueError, TypeError), match=re.escape(expected)):
            link_event(command)
    else:
        assert link_event(command) == expected
