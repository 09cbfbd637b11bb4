"""The reference topology in network namespaces, with the daemons running in it.

::

      cn ── core ──┬── ar1 ══ br-ar1 ┐
        (dly0)     ├── ar2 ══ br-ar2 ├── (mn moves between the bridges)
                   ├── br-home ══ ha ┘
                   └── map             (hmipv6, fhmipv6)

* one namespace per node (``mipshop-<pid>x<n>-<node>``): ``cn`` (correspondent, a plain
  Linux host; with ``options.route_optimization`` it also runs ``mipshop daemon cn``, RFC
  6275 §9, and the mobile node does return routability with it), ``core`` (a plain Linux
  router with static routes), ``ha``, ``ar1``, ``ar2``
  (daemons), ``mn`` (the mobile node's daemon; its applications use the home address) and
  ``sw``, holding the three Linux bridges (``br-home``, ``br-ar1``, ``br-ar2``) that stand for
  the home link and the two access links;
* a handover (:meth:`Testbed.move`) takes the mobile node's bridge port out of one bridge,
  keeps it down for the link-down time, and puts it into another, telling the mobile node's
  daemon ``LinkDown`` and ``LinkUp`` (RFC 4260's 802.11 steps 2 and 4-6) through its control
  socket; this stands in for an 802.11 handoff (docs/architecture.md);
* addresses follow ``tests/protocol/scenario.py``: home 2001:db8:1::/64 (HA ::1, home
  address ::100), access links 2001:db8:10::/64 and 2001:db8:20::/64, correspondent
  2001:db8:100::10; router links use link-local next hops (core fe80::fffe).

``options.protocol``:

* ``mipv6`` (the base);
* ``hmipv6``: a ``map`` namespace behind the core router holds the MAP daemon (RFC 5380), its
  prefix 2001:db8:a1::/64 holding the RCoAs; the access routers advertise the MAP option;
* ``fmipv6``: the access routers are each other's FMIPv6 neighbours (PAR/NAR, RFC 5568) with
  a shared MN-PAR handover key, and the mobile node has a fast handover client. With
  ``options.predictive`` a handover first gives the mobile node ``LinkGoingDown`` (RFC 4260
  step 0) and waits for the FBack before the L2 handoff; without it (reactive) the mobile
  node first learns the AR-Info with a wildcard RtSolPr (RFC 4260 §7.2 steps a-b, as the
  simulator does), so that it sends the UNA at LinkUp, then the FBU from the new link;
* ``fhmipv6``: both, MAP-anchored (RFC 4140 Appendix A, as the simulator runs it): the access
  routers name the MAP in their PrRtAdvs (``map_anchor``) and accept its HIs (``anchors``),
  the MAP daemon anchors the fast handovers (``[mobility_anchor_point.fast_handover]``: the
  two access routers as NARs, the handover key). The FBU goes to the MAP with the RCoA as
  home address, HI/HAck run between the MAP and the NAR, the MAP tunnels the RCoA's packets
  to the NCoA; the home agent hears nothing after the first registration. [choice] MAP-
  rather than AR-anchored: the MAP already owns the RCoA's traffic, so redirecting it there
  needs no forwarding of an LCoA between access routers, and the configuration is the MAP's
  one table plus two keys per access router.

``options.delays``: one-way delays of the core router's links, from a userspace delay element
(:mod:`.delay`) that the core router's policy rules route forwarded packets through (the
kernel has no netem). Without it links have the veths' own sub-millisecond delay, so the
figures measured are the protocols' processing and signalling, not path delays.

:class:`Testbed` is a context manager that always removes what it created: it stops every
process it started (daemons, captures, applications) by process group, then deletes its
namespaces (their veths and bridges go with them), on a normal exit, an exception or Ctrl-C.
Before building it removes namespaces left by dead mipshop processes and refuses to start if
it cannot.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from ..protocol.base.constants import MAX_RA_DELAY_TIME
from .errors import NetError, require_root, require_tun

NS_PREFIX = "mipshop-"
_serial = itertools.count(1)

HOME_PREFIX = IPv6Network("2001:db8:1::/64")
HA_ADDRESS = IPv6Address("2001:db8:1::1")
HOME_ADDRESS = IPv6Address("2001:db8:1::100")
CN_ADDRESS = IPv6Address("2001:db8:100::10")
CN_PREFIX = IPv6Network("2001:db8:100::/64")
ACCESS_PREFIXES = {"ar1": IPv6Network("2001:db8:10::/64"),
                   "ar2": IPv6Network("2001:db8:20::/64")}
MN_MAC = "02:00:00:00:00:01"
HA_MAC = "00:00:5e:00:01:01"
AR_MACS = {"ar1": "00:00:5e:00:01:02", "ar2": "00:00:5e:00:01:03"}
AR_LINK_LOCALS = {"ar1": IPv6Address("fe80::a1"), "ar2": IPv6Address("fe80::a2")}
HA_LINK_LOCAL = IPv6Address("fe80::1")
CORE_LINK_LOCAL = IPv6Address("fe80::fffe")
FAR_LINK_LOCAL = IPv6Address("fe80::2")
MN_ID = "mn1@example.com"
MN_SPI = 1000
MN_KEY = bytes(range(16)).hex()
#: HMIPv6 (RFC 5380): the MAP, its RCoA prefix and the MN-MAP security association.
MAP_ADDRESS = IPv6Address("2001:db8:a1::1")
MAP_PREFIX = IPv6Network("2001:db8:a1::/64")
#: A second MAP (``TestbedOptions.maps`` = 2): RFC 5380 §7.1, §9.1, several MAPs at once.
MAP2_ADDRESS = IPv6Address("2001:db8:a2::1")
MAP2_PREFIX = IPv6Network("2001:db8:a2::/64")
MAP_SPI = 2000
MAP_KEY = bytes(range(100, 116)).hex()
#: The MN-PAR handover key (RFC 5568 §6.4.5), configured in both access routers.
HANDOVER_SPI = 7777
HANDOVER_KEY = bytes(range(20)).hex()
#: The core router's delay element: its TUN device and the routing table that leads into it.
DELAY_TUN = "dly0"
DELAY_TABLE = 200
#: Which bridge each attachment point is.
BRIDGES = {"home": "br-home", "ar1": "br-ar1", "ar2": "br-ar2"}
#: Access point identifiers (BSSIDs) given to the mobile node in LinkUp triggers.
ACCESS_POINTS = {"home": "00005e00aa01", "ar1": "00005e00aa02", "ar2": "00005e00aa03"}


def _router_address(router: str) -> IPv6Address:
    return IPv6Address(int(ACCESS_PREFIXES[router].network_address) | 1)


def _neighbor(router: str) -> dict[str, Any]:
    """Access router ``router`` as an FMIPv6 neighbour (a NAR) in a configuration table."""
    return {"access_points": [ACCESS_POINTS[router]], "link_layer_address": AR_MACS[router],
            "address": str(_router_address(router)), "prefix": str(ACCESS_PREFIXES[router])}


def _router_keys(own: IPv6Address, peers: Sequence[IPv6Address]) -> list[dict[str, Any]]:
    """``router_keys`` tables of ``own`` for ``peers``: one shared SA per router pair, the
    stand-in for the IPsec SA that protects HI/HAck (RFC 5568 §10)."""
    tables = []
    for peer in peers:
        digest = hashlib.sha1(b"".join(sorted((own.packed, peer.packed)))).digest()
        tables.append({"peer": str(peer), "spi": 256 + int.from_bytes(digest[:2], "big"),
                       "key": digest[2:18].hex()})
    return tables


def dhcp_address(attachment: str) -> IPv6Address:
    """The first address the DHCPv6 server of ``ar1`` or ``ar2`` assigns (``dhcp_links``)."""
    return IPv6Address(int(ACCESS_PREFIXES[attachment].network_address) | 0x1_0000)


def regional_care_of_address(map_node: str = "map") -> IPv6Address:
    """The RCoA the mobile node forms from a MAP's prefix (RFC 5380 §6.1)."""
    prefix = MAP2_PREFIX if map_node == "map2" else MAP_PREFIX
    return IPv6Address(int(prefix.network_address) | 0x0000_00FF_FE00_0001)


def care_of_address(attachment: str) -> IPv6Address:
    """The care-of address the mobile node forms on ``ar1`` or ``ar2`` (SLAAC from MN_MAC)."""
    prefix = ACCESS_PREFIXES[attachment]
    return IPv6Address(int(prefix.network_address) | 0x0000_00FF_FE00_0001)


def run(args: Sequence[str], *, check: bool = True, timeout: float = 20.0
        ) -> subprocess.CompletedProcess[str]:
    """Run a command (no shell); a failure raises :class:`NetError` with its stderr."""
    try:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                                check=False)
    except FileNotFoundError as exc:
        raise NetError(f"mipshop: {args[0]} is not installed (iproute2 is needed)") from exc
    if check and result.returncode != 0:
        raise NetError(f"mipshop: {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def list_namespaces() -> list[str]:
    """Names of the network namespaces (``ip netns list``)."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _owner_pid(namespace: str) -> int | None:
    rest = namespace[len(NS_PREFIX):]
    head = rest.split("x", 1)[0].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_namespace_processes(namespace: str) -> None:
    pids = run(["ip", "netns", "pids", namespace], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


#: Seconds a helper process (daemon, delay element, capture) may take to report ready. A dead
#: process fails at once; a live one may be slow to import on a loaded machine (seen: more than
#: 10 s at a load average of 6 on 2 cores), which is no fault of the testbed.
STARTUP_TIMEOUT = 60.0


def remove_stale_namespaces() -> list[str]:
    """Delete ``mipshop-*`` namespaces whose creating process is dead; returns their names.

    Raises :class:`NetError` when one of them cannot be removed (the testbed then refuses to
    start over it).
    """
    removed = []
    for name in list_namespaces():
        if not name.startswith(NS_PREFIX):
            continue
        pid = _owner_pid(name)
        if pid is not None and _alive(pid):
            continue  # another live testbed's
        _kill_namespace_processes(name)
        result = run(["ip", "netns", "del", name], check=False)
        if result.returncode != 0 and name in list_namespaces():
            raise NetError(f"mipshop: leftover namespace {name} cannot be removed "
                           f"({result.stderr.strip()}); refusing to start")
        removed.append(name)
    return removed


@dataclass
class Process:
    """A process the testbed started in one of its namespaces."""

    name: str
    namespace: str
    popen: subprocess.Popen[str]
    log: Path

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM its process group, then SIGKILL after ``timeout``."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)
        # Children that outlived the leader (none expected): the group is ours.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


@dataclass
class TestbedOptions:
    """What to build: ``ra_interval`` of the access routers and the home agent (seconds) and
    ``max_ra_delay``, the longest random wait of an RA answering an RS (RFC 4861 §6.2.6;
    MAX_RA_DELAY_TIME, or 0 to answer at once), the first attachment of the mobile node, and
    its binding lifetime."""

    __test__ = False  # not a pytest test class

    #: ``mipv6``, ``hmipv6``, ``fmipv6`` or ``fhmipv6`` (module docstring).
    protocol: str = "mipv6"
    #: FMIPv6 only: False leaves out the LinkGoingDown trigger, so the client goes reactive
    #: (FBU from the new link after the UNA, RFC 5568 §3.3); the AR-Info is learnt first.
    predictive: bool = True
    ra_interval: float = 1.0
    max_ra_delay: float = MAX_RA_DELAY_TIME
    start_at: str = "ar1"
    home_binding_lifetime: float = 60.0
    workdir: str | None = None
    keep_workdir: bool = False
    #: FMIPv6: how long a handover waits for the FBack before leaving the link.
    fback_wait: float = 1.0
    #: FMIPv6 predictive: how long the node stays on the old link after the FBack (a late
    #: link-layer switch), 0: it leaves at once.
    linger: float = 0.0
    #: Capture (pcapng, raw IPv6, one interface per port) on these switch ports from before the
    #: daemons start.
    pcap: str | None = None
    capture_ports: tuple[str, ...] = ("p-mn",)
    extra_daemon_settings: dict[str, Any] = field(default_factory=dict)
    #: HMIPv6: 2 adds a second MAP (``map2``, 2001:db8:a2::1, advertised with a lower
    #: preference) for RFC 5380's several MAPs at once (the mobile node registers with it
    #: when its ``map_client`` asks for ``additional_maps``).
    maps: int = 1
    #: Access links (``ar1``, ``ar2``) whose addresses come from DHCPv6 (RFC 8415): the
    #: router runs a DHCPv6 server and advertises M = 1, A = 0; under FMIPv6 the other
    #: router announces it with PrRtAdv Code 5 (RFC 5568 §5.2).
    dhcp_links: tuple[str, ...] = ()
    #: Extra keys of each node's entity table (``mn``: ``[mobile_node]``, ``ha``, ``ar1``, ...),
    #: merged into its sub-tables (``{"fast_handover": {...}}`` adds to that table).
    extra_entity_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: One-way delays (seconds) of the core router's links, by the node behind them
    #: (``cn``, ``home``, ``ar1``, ``ar2``, ``map``), from a userspace delay element on the
    #: core router (:mod:`.delay`; the kernel has no netem). Empty: no delay element.
    delays: dict[str, float] = field(default_factory=dict)
    #: Route optimization (RFC 6275 §5.2, §9, §11.6): the correspondent runs ``mipshop daemon
    #: cn`` and the mobile node does return routability with it.
    route_optimization: bool = False


class Testbed:
    """The reference topology with its daemons; use as a context manager.

    Public: :attr:`ns` (node -> namespace name), :meth:`exec` and :meth:`spawn` (run a
    command in a node's namespace), :meth:`control` (a daemon command), :meth:`state`,
    :meth:`events`, :meth:`wait_for`, :meth:`move`, :meth:`capture`, :meth:`check_daemons`,
    :meth:`restart` (kill -9 a daemon and start it again), :attr:`attachment` (where the
    mobile node is).
    """

    __test__ = False
    NODES = ("sw", "cn", "core", "ha", "ar1", "ar2", "mn")
    DAEMONS = (("ha", "ha"), ("ar1", "ar"), ("ar2", "ar"), ("mn", "mn"))

    def __init__(self, options: TestbedOptions | None = None) -> None:
        self.options = options or TestbedOptions()
        self.tag = f"{os.getpid()}x{next(_serial)}"
        self.hierarchical = self.options.protocol in ("hmipv6", "fhmipv6")
        #: FMIPv6 clients and PAR/NAR routers: AR-anchored (``fmipv6``) or MAP-anchored
        #: (``fhmipv6``, RFC 4140 Appendix A).
        self.fast = self.options.protocol in ("fmipv6", "fhmipv6")
        #: The MAP namespaces: ``map``, and ``map2`` with ``options.maps`` = 2.
        self.map_nodes: tuple[str, ...] = ()
        if self.hierarchical:
            self.map_nodes = ("map", "map2") if self.options.maps == 2 else ("map",)
        nodes = (*self.NODES, *self.map_nodes)
        self.ns = {node: f"{NS_PREFIX}{self.tag}-{node}" for node in nodes}
        self.daemon_roles = (*self.DAEMONS, *((m, "map") for m in self.map_nodes))
        if self.options.route_optimization:
            self.daemon_roles = (("cn", "cn"), *self.daemon_roles)
        self.created: list[str] = []
        self.processes: list[Process] = []
        self.daemons: dict[str, Process] = {}
        self.attachment: str | None = None
        self.capture_process: Process | None = None
        #: (wall-clock link down, wall-clock link up, new attachment) of every :meth:`move`.
        self.handovers: list[tuple[float, float, str]] = []
        self.workdir = Path(self.options.workdir or tempfile.mkdtemp(prefix="mipshop-testbed-"))
        self.workdir.mkdir(parents=True, exist_ok=True)

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> Testbed:
        try:
            require_root()
            require_tun()
            remove_stale_namespaces()
            self._build()
            if any(self.options.delays.values()):
                self._start_delay_element()
            if self.options.pcap:
                self.capture_process = self.capture(self.options.pcap,
                                                    self.options.capture_ports)
            self._start_daemons()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process and delete every namespace this testbed created."""
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        errors = []
        for namespace in reversed(self.created):
            _kill_namespace_processes(namespace)
            result = run(["ip", "netns", "del", namespace], check=False)
            if result.returncode != 0 and namespace in list_namespaces():
                errors.append(f"{namespace}: {result.stderr.strip()}")
        self.created.clear()
        if not self.options.keep_workdir and self.options.workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise NetError("mipshop: could not remove " + "; ".join(errors))

    # -- building ----------------------------------------------------------------------------------

    def ip(self, node: str, *args: str) -> None:
        """``ip -n <namespace of node> ARGS``."""
        run(["ip", "-n", self.ns[node], *args])

    def sysctl(self, node: str, key: str, value: str | int) -> None:
        """Set a sysctl inside ``node``'s namespace."""
        run(["ip", "netns", "exec", self.ns[node], "sysctl", "-q", "-w", f"{key}={value}"])

    def _veth(self, a: str, a_if: str, b: str, b_if: str, *, a_mac: str | None = None) -> None:
        args = ["ip", "-n", self.ns[a], "link", "add", a_if]
        if a_mac:
            args += ["address", a_mac]
        run([*args, "type", "veth", "peer", "name", b_if, "netns", self.ns[b]])
        self.ip(a, "link", "set", a_if, "up")
        self.ip(b, "link", "set", b_if, "up")

    def _build(self) -> None:
        taken = set(list_namespaces())
        for node, namespace in self.ns.items():
            if namespace in taken:
                raise NetError(f"mipshop: namespace name {namespace} is already taken")
            run(["ip", "netns", "add", namespace])
            self.created.append(namespace)
            self.ip(node, "link", "set", "lo", "up")
            # Routers and hosts alike: no kernel autoconfiguration, no DAD delays.
            for scope in ("all", "default"):
                self.sysctl(node, f"net.ipv6.conf.{scope}.accept_dad", 0)
                self.sysctl(node, f"net.ipv6.conf.{scope}.accept_ra", 0)
                self.sysctl(node, f"net.ipv6.conf.{scope}.autoconf", 0)
        for node in ("core", "ha", "ar1", "ar2", "mn", *self.map_nodes):
            self.sysctl(node, "net.ipv6.conf.all.forwarding", 1)
        # The switch: one bridge per link, STP off, no forwarding delay.
        for bridge in BRIDGES.values():
            self.ip("sw", "link", "add", bridge, "type", "bridge", "forward_delay", "0",
                    "stp_state", "0")
            self.ip("sw", "link", "set", bridge, "up")
        # cn <-> core
        self._veth("cn", "eth0", "core", "c-cn")
        self.ip("cn", "addr", "add", f"{CN_ADDRESS}/64", "dev", "eth0", "nodad")
        self.ip("core", "addr", "add", "2001:db8:100::1/64", "dev", "c-cn", "nodad")
        self.ip("core", "addr", "add", f"{CORE_LINK_LOCAL}/64", "dev", "c-cn", "nodad")
        self.ip("cn", "-6", "route", "add", "default", "via", str(CORE_LINK_LOCAL), "dev", "eth0")
        # home link: core and ha on br-home
        self._veth("core", "c-home", "sw", "p-core")
        self.ip("sw", "link", "set", "p-core", "master", "br-home")
        self.ip("core", "addr", "add", "2001:db8:1::fffe/64", "dev", "c-home", "nodad")
        self.ip("core", "addr", "add", f"{CORE_LINK_LOCAL}/64", "dev", "c-home", "nodad")
        self._veth("ha", "eth0", "sw", "p-ha", a_mac=HA_MAC)
        self.ip("ha", "addr", "add", f"{HA_LINK_LOCAL}/64", "dev", "eth0", "nodad")
        self.ip("sw", "link", "set", "p-ha", "master", "br-home")
        self.ip("ha", "-6", "route", "add", "default", "via", str(CORE_LINK_LOCAL), "dev", "eth0")
        # access routers: uplink to core, access link on their bridge
        for ar, prefix in ACCESS_PREFIXES.items():
            self._veth("core", f"c-{ar}", ar, "up0")
            self.ip("core", "addr", "add", f"{CORE_LINK_LOCAL}/64", "dev", f"c-{ar}", "nodad")
            self.ip(ar, "addr", "add", f"{FAR_LINK_LOCAL}/64", "dev", "up0", "nodad")
            self.ip("core", "-6", "route", "add", str(prefix), "via", str(FAR_LINK_LOCAL),
                    "dev", f"c-{ar}")
            self.ip(ar, "-6", "route", "add", "default", "via", str(CORE_LINK_LOCAL),
                    "dev", "up0")
            self._veth(ar, "eth0", "sw", f"p-{ar}", a_mac=AR_MACS[ar])
            self.ip(ar, "addr", "add", f"{AR_LINK_LOCALS[ar]}/64", "dev", "eth0", "nodad")
            self.ip("sw", "link", "set", f"p-{ar}", "master", BRIDGES[ar])
        for map_node in self.map_nodes:
            # The MAP (RFC 5380) on a link of its own behind the core; its prefix holds the
            # RCoAs.
            prefix = MAP2_PREFIX if map_node == "map2" else MAP_PREFIX
            self._veth("core", f"c-{map_node}", map_node, "eth0")
            self.ip("core", "addr", "add", f"{CORE_LINK_LOCAL}/64", "dev", f"c-{map_node}",
                    "nodad")
            self.ip(map_node, "addr", "add", f"{FAR_LINK_LOCAL}/64", "dev", "eth0", "nodad")
            self.ip("core", "-6", "route", "add", str(prefix), "via", str(FAR_LINK_LOCAL),
                    "dev", f"c-{map_node}")
            self.ip(map_node, "-6", "route", "add", "default", "via", str(CORE_LINK_LOCAL),
                    "dev", "eth0")
        # the mobile node: wlan0, its port p-mn on the first bridge
        self._veth("mn", "wlan0", "sw", "p-mn", a_mac=MN_MAC)
        self.ip("sw", "link", "set", "p-mn", "master", BRIDGES[self.options.start_at])
        self.attachment = self.options.start_at

    # -- the delay element ---------------------------------------------------------------------

    def link_prefixes(self) -> dict[str, IPv6Network]:
        """The prefix of the nodes behind each of the core router's links."""
        prefixes = {"cn": CN_PREFIX, "home": HOME_PREFIX, **ACCESS_PREFIXES}
        if self.hierarchical:
            prefixes["map"] = MAP_PREFIX
        if "map2" in self.map_nodes:
            prefixes["map2"] = MAP2_PREFIX
        return prefixes

    def _start_delay_element(self) -> None:
        """Run :mod:`.delay` on the core router and route what it forwards through it."""
        prefixes = self.link_prefixes()
        unknown = set(self.options.delays) - {*prefixes, "map"}
        if unknown:
            raise NetError(f"mipshop: no core link {sorted(unknown)} to delay (known: "
                           "cn, home, ar1, ar2, map)")
        # (``map`` is ignored when the protocol has no MAP.)
        links = [f"{prefixes[name]}={delay}" for name, delay in self.options.delays.items()
                 if name in prefixes]
        process = self.spawn("core", [sys.executable, "-m", "mipshop.net.delay", "--tun",
                                      DELAY_TUN, *(a for link in links for a in ("--link", link))],
                             name="delay")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "ready" not in process.log.read_text():
            if not process.alive() or time.monotonic() > deadline:
                raise NetError("mipshop: the delay element did not start:\n"
                               + process.log.read_text())
            time.sleep(0.02)
        self.sysctl("core", f"net.ipv6.conf.{DELAY_TUN}.forwarding", 1)
        self.ip("core", "-6", "route", "add", "default", "dev", DELAY_TUN, "table",
                str(DELAY_TABLE))
        for name in prefixes:
            # What comes in from a link and is forwarded goes through the element first;
            # what it writes back (iif dly0) is forwarded by the main table.
            self.ip("core", "-6", "rule", "add", "iif", f"c-{name}", "lookup",
                    str(DELAY_TABLE), "pref", "100")

    # -- daemons -----------------------------------------------------------------------------------

    def _config(self, node: str, role: str) -> dict[str, Any]:
        opts = self.options
        daemon: dict[str, Any] = {
            "name": node, "event_log": str(self.workdir / f"{node}.events.jsonl"),
            "control": str(self.workdir / f"{node}.sock"), "tun": "mip0",
        }
        daemon.update(opts.extra_daemon_settings.get(node, {}))
        if role in ("ha", "map"):
            # The binding cache survives a restart (:meth:`restart`) in this database.
            daemon.setdefault("state_file", str(self.workdir / f"{node}.sqlite"))
        if role == "ha":
            daemon["interfaces"] = ["eth0"]
            return {"daemon": daemon, "home_agent": {
                "interface": "eth0", "address": str(HA_ADDRESS), "prefix": str(HOME_PREFIX),
                "link_local": str(HA_LINK_LOCAL), "link_layer_address": HA_MAC,
                "ra_interval": opts.ra_interval, "max_ra_delay": opts.max_ra_delay,
                # RFC 6275 §10.3.1: real DAD on the home link before the first BA, for the
                # configuration's default RetransTimer (RFC 4861 §10: 1 s, one probe).
                "credentials": [{"identifier": MN_ID, "spi": MN_SPI, "key": MN_KEY,
                                 "home_address": str(HOME_ADDRESS)}],
            }}
        if role == "ar":
            daemon["interfaces"] = ["eth0"]
            prefix = ACCESS_PREFIXES[node]
            router: dict[str, Any] = {
                "interface": "eth0", "address": str(_router_address(node)),
                "prefix": str(prefix), "link_local": str(AR_LINK_LOCALS[node]),
                "link_layer_address": AR_MACS[node], "ra_interval": opts.ra_interval,
                "max_ra_delay": opts.max_ra_delay,
            }
            if self.hierarchical:
                # RFC 5380 §7: the MAP option is configured by hand in each access router.
                router["map_options"] = [{"address": str(MAP_ADDRESS), "distance": 1,
                                          "preference": 10, "valid_lifetime": 3600}]
                if "map2" in self.map_nodes:
                    # Same distance, lower preference: MAP1 stays the selected one (§9.1).
                    router["map_options"].append({"address": str(MAP2_ADDRESS),
                                                  "distance": 1, "preference": 5,
                                                  "valid_lifetime": 3600})
            if node in opts.dhcp_links:
                # RFC 8415 on this link: RAs with M = 1 and A = 0, the router's DHCPv6 server.
                router.update(managed=True, autonomous=False)
                router["dhcp"] = {"pool_start": str(dhcp_address(node)), "pool_size": 16}
            if self.fast:
                other = "ar2" if node == "ar1" else "ar1"
                neighbour = _neighbor(other)
                if other in opts.dhcp_links:
                    neighbour["dhcp"] = True  # RFC 5568 §5.2: PrRtAdv Code 5 for it
                router["fast_handover"] = {
                    "local_access_points": [ACCESS_POINTS[node]],
                    "neighbors": [neighbour],
                    # RFC 5568 §10: the key redirects its owner's address on this link only.
                    "handover_keys": [{"spi": HANDOVER_SPI, "key": HANDOVER_KEY,
                                       "previous_care_of_address": str(care_of_address(node))}],
                    "router_keys": _router_keys(_router_address(node), [
                        _router_address(other),
                        *([MAP_ADDRESS] if opts.protocol == "fhmipv6" else [])]),
                }
                if opts.protocol == "fhmipv6":
                    # RFC 4140 Appendix A: the PrRtAdv names the MAP, which anchors the
                    # handover (FBU to the MAP, HI/HAck between the MAP and the NAR).
                    router["fast_handover"]["map_anchor"] = router["map_options"][0]
                    router["fast_handover"]["anchors"] = [str(MAP_ADDRESS)]
            return {"daemon": daemon, "access_router": router}
        if role == "map":
            daemon["interfaces"] = ["eth0"]
            anchor: dict[str, Any] = {
                "address": str(MAP2_ADDRESS if node == "map2" else MAP_ADDRESS),
                "interface": "eth0",
                "allowed_lcoa_prefixes": [str(p) for p in ACCESS_PREFIXES.values()],
                "credentials": [{"identifier": MN_ID, "spi": MAP_SPI, "key": MAP_KEY,
                                 "home_address": str(regional_care_of_address(node))}],
            }
            if opts.protocol == "fhmipv6" and node == "map":
                anchor["fast_handover"] = {
                    "neighbors": [_neighbor(ar) for ar in ACCESS_PREFIXES],
                    "handover_keys": [{"spi": HANDOVER_SPI, "key": HANDOVER_KEY,
                                       "previous_care_of_address":
                                           str(regional_care_of_address())}],
                    "router_keys": _router_keys(MAP_ADDRESS, [
                        _router_address(ar) for ar in ACCESS_PREFIXES]),
                }
            return {"daemon": daemon, "mobility_anchor_point": anchor}
        if role == "cn":
            daemon["interfaces"] = ["eth0"]
            return {"daemon": daemon, "correspondent": {"interface": "eth0",
                                                        "address": str(CN_ADDRESS)}}
        daemon["interfaces"] = ["wlan0"]
        return {"daemon": daemon, "mobile_node": {
            "interface": "wlan0", "home_address": str(HOME_ADDRESS),
            "home_prefix": str(HOME_PREFIX), "home_agent": str(HA_ADDRESS),
            "link_layer_address": MN_MAC, "optimistic_dad": True,
            "home_binding_lifetime": opts.home_binding_lifetime,
            "credentials": {"identifier": MN_ID, "spi": MN_SPI, "key": MN_KEY},
            **({"fast_handover": {"spi": HANDOVER_SPI, "key": HANDOVER_KEY}}
               if self.fast else {}),
            **({"map_client": {"credentials": {"identifier": MN_ID, "spi": MAP_SPI,
                                               "key": MAP_KEY}}}
               if self.hierarchical else {}),
            **({"route_optimization": {"correspondents": [str(CN_ADDRESS)]}}
               if opts.route_optimization else {}),
        }}

    def _spawn_daemon(self, node: str, role: str, *, generation: int = 0) -> Process:
        path = self.workdir / f"{node}.toml"
        if generation == 0:
            config = self._config(node, role)
            entity = next(key for key in config if key != "daemon")
            _merge(config[entity], self.options.extra_entity_settings.get(node, {}))
            path.write_text(to_toml(config))
        name = f"daemon-{node}" if generation == 0 else f"daemon-{node}-{generation}"
        process = self.spawn(node, [sys.executable, "-m", "mipshop.net.daemon", role,
                                    "--config", str(path)], name=name)
        self.daemons[node] = process
        return process

    def _wait_ready(self, node: str, timeout: float = STARTUP_TIMEOUT, poll: float = 0.02
                    ) -> None:
        """Wait until ``node``'s daemon listens on its control socket: the socket file
        exists from its bind, but connections are refused until the daemon has printed its
        ready line (the server listens then)."""
        process = self.daemons[node]
        sock = self.workdir / f"{node}.sock"
        deadline = time.monotonic() + timeout
        while not (sock.exists() and '"ready"' in process.log.read_text()):
            if not process.alive():
                raise NetError(f"mipshop: daemon {node} died at start:\n"
                               + process.log.read_text()[-2000:])
            if time.monotonic() > deadline:
                raise NetError(f"mipshop: daemon {node} did not start in {timeout:g} s")
            time.sleep(poll)

    def _start_daemons(self) -> None:
        # The network first, then the mobile node: it registers as soon as its link is up
        # (it finds the link itself, RFC 4861 §6.3.7), so every agent must be running by then.
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for phase in ([n for n in self.daemon_roles if n[0] != "mn"],
                      [n for n in self.daemon_roles if n[0] == "mn"]):
            for node, role in phase:
                self._spawn_daemon(node, role)
            for node, _role in phase:
                self._wait_ready(node, timeout=max(deadline - time.monotonic(), 0.1))
        # The mobile node is on its first link from the start (RFC 4260 step 4-6: LinkUp).
        self.control("mn", {"cmd": "l2", "event": "link_up",
                            "ap": ACCESS_POINTS[self.options.start_at]})

    def restart(self, node: str) -> tuple[float, float]:
        """Kill ``node``'s daemon with SIGKILL and start it again on the same configuration.

        Nothing is flushed or closed by the daemon: what it had committed to its
        ``state_file`` is all the new process finds. Returns the wall-clock times of the kill
        and of the new daemon's control socket appearing (it has then restored its state).
        """
        roles = dict(self.daemon_roles)
        if node not in roles or node not in self.daemons:
            raise NetError(f"mipshop: no daemon {node!r} to restart (running: "
                           f"{', '.join(self.daemons)})")
        old = self.daemons[node]
        sock = self.workdir / f"{node}.sock"
        killed = time.time()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(old.popen.pid, signal.SIGKILL)
        old.popen.wait(5)
        self.processes.remove(old)
        # The killed daemon could not remove its socket; the new one must be waited for.
        sock.unlink(missing_ok=True)
        generation = sum(1 for p in self.processes if p.name.startswith(f"daemon-{node}-")) + 1
        self._spawn_daemon(node, roles[node], generation=generation)
        self._wait_ready(node, poll=0.002)
        return killed, time.time()

    # -- processes ---------------------------------------------------------------------------------

    def spawn(self, node: str, argv: Sequence[str], *, name: str | None = None,
              stdout: int | None = None) -> Process:
        """Start ``argv`` in ``node``'s namespace in its own process group (stopped at close).

        Output goes to ``<workdir>/<name>.log`` unless ``stdout`` is ``subprocess.PIPE``.
        """
        label = name or f"{node}-{len(self.processes)}"
        log = self.workdir / f"{label}.log"
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        with open(log, "w") as handle:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", self.ns[node], *argv],
                stdout=handle if stdout is None else stdout, stderr=handle,
                stdin=subprocess.DEVNULL, text=True, start_new_session=True, env=env,
            )
        process = Process(label, self.ns[node], popen, log)
        self.processes.append(process)
        return process

    def exec(self, node: str, argv: Sequence[str], *, timeout: float = 30.0,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to completion in ``node``'s namespace."""
        return run(["ip", "netns", "exec", self.ns[node], *argv], timeout=timeout, check=check)

    def check_daemons(self) -> None:
        """Raise :class:`NetError` if a daemon has died (with the end of its log)."""
        for node, process in self.daemons.items():
            if not process.alive():
                raise NetError(f"mipshop: daemon {node} died (status "
                               f"{process.popen.returncode}):\n{process.log.read_text()[-2000:]}")

    # -- control -------------------------------------------------------------------------------

    def control(self, node: str, command: dict[str, Any], timeout: float = 5.0
                ) -> dict[str, Any]:
        """Send one JSON command to ``node``'s daemon and return its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.workdir / f"{node}.sock"))
            sock.sendall((json.dumps(command) + "\n").encode())
            buffer = b""
            while not buffer.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                buffer += chunk
        answer: dict[str, Any] = json.loads(buffer)
        if not answer.get("ok"):
            raise NetError(f"mipshop: {node} refused {command}: {answer.get('error')}")
        return answer

    def state(self, node: str) -> dict[str, Any]:
        """The daemon's state dump (binding cache, mobile node state, counters)."""
        state: dict[str, Any] = self.control(node, {"cmd": "state"})["state"]
        return state

    def events(self, node: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The daemon's events so far (optionally only those of ``kind``)."""
        events: list[dict[str, Any]] = self.control(node, {"cmd": "events"})["events"]
        return [e for e in events if kind is None or e["kind"] == kind]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0,
                 what: str = "condition", poll: float = 0.02) -> Any:
        """Poll ``condition`` every ``poll`` seconds (20 ms) until it is truthy; NetError
        after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_daemons()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise NetError(f"mipshop: timed out after {timeout} s waiting for {what}")
            time.sleep(poll)

    # -- movement ------------------------------------------------------------------------------

    def move(self, to: str, *, link_down: float = 0.1, silent: bool = False) -> float:
        """Hand the mobile node over to ``to`` (``home``, ``ar1``, ``ar2``).

        The bridge port goes down and leaves its bridge (LinkDown to the daemon), stays down
        ``link_down`` seconds, then joins the other bridge and comes up (LinkUp). Returns
        the wall-clock time of the LinkUp. ``silent``: the daemon gets no trigger at all (a
        link layer that reports nothing; RFC 6275 §11.5.1 movement detection must notice).
        """
        if to not in BRIDGES:
            raise ValueError(f"unknown attachment {to!r} (known: {', '.join(BRIDGES)})")
        if silent:
            self.ip("sw", "link", "set", "p-mn", "nomaster")
            time.sleep(link_down)
            self.ip("sw", "link", "set", "p-mn", "master", BRIDGES[to])
            up = time.time()
            self.handovers.append((up - link_down, up, to))
            self.attachment = to
            return up
        if self.fast and self.options.predictive and (
                to != "home" and self.attachment not in (None, "home", to)):
            # RFC 4260 step 0 / RFC 5568 §3.2: the link is going down towards the target AP;
            # the client asks for AR-Info if needed and sends the FBU from the PAR's link.
            # The L2 handoff waits for the FBack (predictive mode), at most fback_wait.
            seen = len(self.events("mn", "fmip.fback"))
            self.control("mn", {"cmd": "l2", "event": "link_going_down",
                                "target_ap": ACCESS_POINTS[to]})
            with contextlib.suppress(NetError):
                self.wait_for(lambda: len(self.events("mn", "fmip.fback")) > seen,
                              timeout=self.options.fback_wait, what="FBack", poll=0.002)
            time.sleep(self.options.linger)
        elif self.fast and to != "home" and self.attachment not in (None, "home", to):
            # Reactive (RFC 4260 §7.2 "ab123456cdefg", as the simulator runs it): the AR-Info
            # is learnt beforehand (steps a-b: a wildcard RtSolPr after a background scan,
            # RFC 5568 §4 case 4), so that at LinkUp the mobile node knows its NCoA and sends
            # the UNA at once. Without it the client waits for ordinary configuration and
            # sends no UNA (§3.2), and a router the mobile node returns to keeps tunnelling
            # the returning address to the other router (its PAR forwarding) until the HI
            # that the FBU triggers: the BA of the home registration, racing the FBU, goes
            # back into that tunnel and is lost (a 1 s BU retransmission, traffic looping
            # between the two routers' tunnels). The UNA ends that forwarding first
            # (fmip_nar: ``par.returning``, §5.6).
            seen = len(self.events("mn", "fmip.prrtadv"))
            self.control("mn", {"cmd": "l2", "event": "scan", "access_points": []})
            with contextlib.suppress(NetError):
                self.wait_for(lambda: len(self.events("mn", "fmip.prrtadv")) > seen,
                              timeout=self.options.fback_wait, what="PrRtAdv", poll=0.002)
        down = time.time()
        self.control("mn", {"cmd": "l2", "event": "link_down"})
        self.ip("sw", "link", "set", "p-mn", "down")
        self.ip("sw", "link", "set", "p-mn", "nomaster")
        time.sleep(link_down)
        self.ip("sw", "link", "set", "p-mn", "master", BRIDGES[to])
        self.ip("sw", "link", "set", "p-mn", "up")
        up = time.time()
        self.control("mn", {"cmd": "l2", "event": "link_up", "ap": ACCESS_POINTS[to]})
        self.handovers.append((down, up, to))
        self.attachment = to
        return up

    def stop_capture(self) -> None:
        """Stop the capture started by ``options.pcap`` (its file is then complete)."""
        if self.capture_process is not None:
            self.capture_process.stop()

    def capture(self, path: str | Path, ports: Sequence[str] = ("p-mn",), *,
                node: str = "sw", signalling: bool = False, udp: bool = False) -> Process:
        """Start a pcapng capture (raw IPv6) on interfaces of ``node``'s namespace (by default
        bridge ports of the switch); ``signalling`` leaves out UDP and TCP packets, ``udp``
        keeps only UDP."""
        process = self.spawn(node, [sys.executable, "-m", "mipshop.net.capture",
                                    *(["--signalling"] if signalling else []),
                                    *(["--udp"] if udp else []), str(path),
                                    *ports], name=f"capture-{len(self.processes)}")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "ready" not in process.log.read_text():
            if not process.alive() or time.monotonic() > deadline:
                raise NetError("mipshop: the capture did not start:\n" + process.log.read_text())
            time.sleep(0.02)
        return process


def _merge(table: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add ``extra`` to ``table``, merging sub-tables key by key."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(table.get(key), dict):
            _merge(table[key], value)
        else:
            table[key] = value


def to_toml(data: dict[str, Any]) -> str:
    """A minimal TOML writer for the daemons' configuration (tables, arrays of tables)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"cannot write {v!r} as TOML")

    def table(name: str, body: dict[str, Any], header: str) -> None:
        lines.append(header)
        subtables = []
        for key, v in body.items():
            if isinstance(v, dict):
                subtables.append((f"{name}.{key}", v, f"[{name}.{key}]"))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                subtables.extend((f"{name}.{key}", x, f"[[{name}.{key}]]") for x in v)
            else:
                lines.append(f"{key} = {value(v)}")
        lines.append("")
        for sub in subtables:
            table(*sub)

    for name, body in data.items():
        table(name, body, f"[{name}]")
    return "\n".join(lines)
