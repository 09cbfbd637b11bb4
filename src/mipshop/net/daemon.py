"""``python -m mipshop.net.daemon ROLE --config FILE.toml``: run one node on real packets.

Roles: ``ha`` (home agent), ``ar`` (access router), ``mn`` (mobile node), ``map`` (Mobility
Anchor Point), ``cn`` (correspondent node: an ordinary host with route optimization, RFC 6275
§9); see :mod:`.config`.
The daemon runs in the network namespace it is started in (``ip netns exec NS ...``), creates
its TUN device and sockets (:class:`~.runtime.Runtime`), prints one JSON line
``{"ready": true, ...}`` on standard output once started, and serves JSON-lines commands on the
Unix socket named by ``[daemon] control``, one answer line per command:

* ``{"cmd": "state"}``: counters (refusals included), table sizes, binding cache, mobile node
  state, proxy entries;
* ``{"cmd": "events", "since": N}``: the events recorded from index N on (counted from the
  daemon's first event; it holds the latest 10,000: ``first`` is the index of the earliest
  it returns when older ones are gone, ``next`` the index the next event will get);
* ``{"cmd": "l2", "event": "link_up" | "link_down" | "link_going_down" | "scan",
  "ap": HEX, "target_ap": HEX, "access_points": [HEX, ...]}``: a link-layer trigger for the
  mobile node (RFC 4260; :mod:`mipshop.protocol.link_events`);
* ``{"cmd": "handover", "mobile": ADDRESS, "target_ap": HEX, "link_layer_address": HEX,
  "new_care_of_address": ADDRESS}`` (the last two optional): a network-initiated handover at
  an access router with FMIPv6, an unsolicited PrRtAdv Code 1 to ``mobile`` (RFC 5568 §3.3,
  :meth:`~mipshop.protocol.fmipv6.router.FastHandoverRouter.trigger_handover`); answered
  ``{"ok": true, "sent": false}`` when ``target_ap`` is not a neighbour's with FMIPv6;
* ``{"cmd": "neighbourhood", "destination": ADDRESS}``: unsolicited neighbourhood
  information, PrRtAdv Code 4, from such a router (§6.1.2, not a handover trigger);
* ``{"cmd": "stop"}``: stop the daemon.

The socket is created mode 0600 (its owner only, whatever the umask). Anything else on a line
(not JSON, not an object, an unknown command, a bad argument) is answered
``{"ok": false, "error": ...}`` and the connection goes on; a line over 64 KiB is answered so
and the connection closed.

SIGTERM and SIGINT stop it too; the TUN device and everything routed through it go with it.
A home agent or a MAP keeps its bindings in the SQLite database named by ``[daemon]
state_file`` (required for those roles): each accepted BU is committed before its BA leaves,
and a daemon started again, even after SIGKILL, reloads the live bindings, their sequence
numbers and replay timestamps, and claims their addresses again (:mod:`.persistence`).
Exit status: 0 after a clean stop, 2 for a configuration or environment error, a state file
that is not a usable mipshop database included (message on standard error).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from ..protocol.access_router import AccessRouter
from ..protocol.base.link_events import LinkDown, LinkEvent, LinkGoingDown, LinkUp, ScanCompleted
from ..protocol.mipv6.mobile_node import MobileNode
from .collector import tune_collector
from .config import (
    ROLES,
    InterfaceFacts,
    complete_from_interface,
    load_config,
    require_state_file,
)
from .errors import NetError, require_root
from .netlink import Netlink
from .persistence import StateStore, open_state_store
from .runtime import Runtime


def link_event(command: dict[str, Any]) -> LinkEvent:
    """The :mod:`~mipshop.protocol.link_events` value a control command names."""
    kind = command.get("event")
    if kind == "link_up":
        ap = command.get("ap")
        return LinkUp(ap=_link_layer_address(ap, "ap") if ap else None)
    if kind == "link_down":
        return LinkDown()
    if kind == "link_going_down":
        if "target_ap" not in command:
            raise ValueError("link_going_down needs target_ap")
        return LinkGoingDown(target_ap=_link_layer_address(command["target_ap"], "target_ap"))
    if kind == "scan":
        access_points = command.get("access_points", [])
        if not isinstance(access_points, list):
            raise TypeError(f"access_points must be a list, got {access_points!r}")
        return ScanCompleted(access_points=tuple(
            _link_layer_address(a, "access_points") for a in access_points))
    raise ValueError(f"unknown link event {kind!r}")


def _link_layer_address(value: Any, name: str) -> bytes:
    """A link-layer address given as hex, with or without colons."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a hex string, got {value!r}")
    try:
        return bytes.fromhex(value.replace(":", ""))
    except ValueError:
        raise ValueError(f"{name} must be a hex string, got {value!r}") from None


def _address(value: Any, name: str) -> IPv6Address:
    """An IPv6 address given as a string (a JSON number is not one)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an IPv6 address string, got {value!r}")
    return IPv6Address(value)


class Daemon:
    """A :class:`Runtime` plus its control socket."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.stopped = asyncio.Event()

    def handle(self, command: Any) -> dict[str, Any]:
        """Answer one control command (a JSON object; anything else is answered with an
        error, as is an unknown command or a bad argument)."""
        if not isinstance(command, dict):
            return {"ok": False, "error": 'a command is a JSON object, e.g. {"cmd": "state"}'}
        cmd = command.get("cmd")
        runtime = self.runtime
        if cmd == "state":
            return {"ok": True, "state": runtime.state()}
        if cmd == "events":
            since = command.get("since", 0)
            if isinstance(since, bool) or not isinstance(since, int) or since < 0:
                return {"ok": False, "error": f"since must be a whole number >= 0, got {since!r}"}
            # ``since`` counts from the first event ever recorded; the runtime holds the
            # latest 10,000, the first of them numbered ``first``.
            first = runtime.events_recorded - len(runtime.events)
            return {"ok": True, "first": first, "next": runtime.events_recorded,
                    "events": list(runtime.events)[max(since - first, 0):]}
        if cmd == "l2":
            entity = runtime.entity
            if not isinstance(entity, MobileNode):
                return {"ok": False, "error": "l2 triggers go to a mobile node"}
            event = link_event(command)
            runtime.command(lambda now: entity.l2_trigger(event, now))
            return {"ok": True}
        if cmd in ("handover", "neighbourhood"):
            return self._fast_handover_command(command)
        if cmd == "stop":
            self.stopped.set()
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _fast_handover_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """``handover`` (PrRtAdv Code 1) and ``neighbourhood`` (Code 4) at an access router."""
        runtime = self.runtime
        entity = runtime.entity
        if not isinstance(entity, AccessRouter) or entity.fast_handover is None:
            return {"ok": False, "error": "unsolicited PrRtAdvs come from an access router "
                                          "with fast_handover"}
        fmip = entity.fast_handover
        if command["cmd"] == "neighbourhood":
            destination = _address(command["destination"], "destination")
            runtime.command(lambda now: fmip.advertise_neighbourhood(destination, now))
            return {"ok": True}
        mobile = _address(command["mobile"], "mobile")
        target_ap = _link_layer_address(command["target_ap"], "target_ap")
        lla = command.get("link_layer_address")
        ncoa = command.get("new_care_of_address")
        mac = None if lla is None else _link_layer_address(lla, "link_layer_address")
        new = None if ncoa is None else _address(ncoa, "new_care_of_address")
        sent = runtime.command(lambda now: fmip.trigger_handover(
            mobile, target_ap, now, mobile_link_layer_address=mac, new_care_of_address=new))
        return {"ok": True, "sent": bool(sent)}

    async def serve_client(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        """Serve one control connection (JSON lines both ways)."""
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    # Longer than the stream's limit (asyncio's 64 KiB): answered, and the
                    # connection closed (the rest of that line cannot be told from a command).
                    writer.write(b'{"ok": false, "error": "a command longer than the limit '
                                 b'(64 KiB)"}\n')
                    await writer.drain()
                    break
                if not line:
                    break
                try:
                    answer = self.handle(json.loads(line))
                except (ValueError, KeyError, TypeError, NetError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                writer.write((json.dumps(answer) + "\n").encode())
                await writer.drain()
        except ConnectionError:
            pass  # the client went away before its answer: nothing to answer
        finally:
            writer.close()

    async def run(self) -> None:
        """Run until stopped by a command or a signal."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopped.set)
        self.runtime.attach(loop)
        server = None
        control = self.runtime.settings.control
        if control:
            with contextlib.suppress(FileNotFoundError):
                Path(control).unlink()
            # Whoever can connect can stop the daemon or move a mobile node: the socket is its
            # owner's only (0600), from the moment it exists, whatever the umask.
            umask = os.umask(0o177)
            try:
                server = await asyncio.start_unix_server(self.serve_client, path=control)
            finally:
                os.umask(umask)
        print(json.dumps({"ready": True, "name": self.runtime.entity.name}), flush=True)
        try:
            await self.stopped.wait()
        finally:
            if server is not None:
                server.close()
                with contextlib.suppress(FileNotFoundError):
                    Path(control).unlink()  # type: ignore[arg-type]


def interface_facts(names: tuple[str, ...]) -> dict[str, InterfaceFacts]:
    """The MAC and IPv6 addresses of each of ``names`` in this network namespace."""
    require_root()
    netlink = Netlink()
    try:
        facts = {}
        for name in names:
            netlink.ifindex(name)  # NetError naming the interface if it is missing
            facts[name] = InterfaceFacts(link_layer_address=netlink.link_layer_address(name),
                                         addresses=tuple(netlink.addresses(name)))
        return facts
    finally:
        netlink.close()


def serve(role: str, config_path: str) -> int:
    """Run the daemon of ``role`` configured by ``config_path`` until it is stopped; returns
    the exit status (2 and one line on standard error for a configuration or environment
    error)."""
    runtime: Runtime | None = None
    store: StateStore | None = None
    try:
        config = load_config(role, config_path)
        require_state_file(config)
        # Opened (and checked) before anything else is looked at or created.
        store = open_state_store(config)
        complete_from_interface(config, interface_facts(config.settings.interfaces))
        runtime = Runtime(config.build(), config.settings, store=store)
        runtime.open()
        tune_collector()  # a long-running process: fewer collections (collector.py)
        asyncio.run(Daemon(runtime).run())
    except NetError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        if runtime is not None:
            runtime.close()
        elif store is not None:
            store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mipshop.net.daemon`` (the testbed starts its daemons so;
    ``mipshop daemon`` parses the same arguments in :mod:`mipshop.cli.main`)."""
    parser = argparse.ArgumentParser(prog="python -m mipshop.net.daemon",
                                     description="run one mipshop node on real packets")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--config", required=True, help="TOML configuration file")
    args = parser.parse_args(argv)
    return serve(args.role, args.config)


if __name__ == "__main__":
    sys.exit(main())
