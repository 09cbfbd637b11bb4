"""Netlink (pyroute2) and sysctl operations a daemon needs, in its own network namespace.

Everything a daemon does to the kernel goes through :class:`Netlink`: the addresses the kernel
owns (link-locals, the mobile node's home address on its TUN device), the routes that carry the
addresses the daemon owns in user space into its TUN device (docs/architecture.md), proxy neighbour
entries that answer Neighbor Solicitations for those addresses on a link (RFC 4861 §7.2.8,
RFC 6275 §10.4.1), policy rules, and the ``forwarding`` / ``proxy_ndp`` / ``accept_ra``
sysctls (which are per network namespace under ``/proc/sys/net``).
"""

from __future__ import annotations

import errno
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from .errors import NetError

IFA_F_NODAD = 0x02
NTF_PROXY = 0x08
NUD_REACHABLE = 0x02
RTNH_F_ONLINK = 0x04
RT_TABLE_MAIN = 254


def set_sysctl(path: str, value: str | int) -> None:
    """Write ``value`` to ``/proc/sys/<path>`` (dots or slashes as separators)."""
    target = Path("/proc/sys") / path.replace(".", "/")
    try:
        target.write_text(f"{value}\n")
    except PermissionError as exc:
        raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc
    except OSError as exc:
        raise NetError(f"mipshop: cannot set {path}={value}: {exc}") from exc


def get_sysctl(path: str) -> str:
    """Read ``/proc/sys/<path>``."""
    return (Path("/proc/sys") / path.replace(".", "/")).read_text().strip()


class Netlink:
    """pyroute2 ``IPRoute`` with the few operations of this package and readable errors.

    Idempotent where the runtime needs it: adding what exists or deleting what is gone is not
    an error (an entity may claim an address twice, the kernel may have dropped a route with
    its interface).
    """

    def __init__(self) -> None:
        # pyroute2 0.9's synchronous API runs an asyncio loop of its own, which cannot run
        # inside the daemon's loop: every call goes to one worker thread and is waited for
        # (netlink answers in microseconds).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink")
        try:
            self.ipr = self._worker.submit(IPRoute).result()
        except PermissionError as exc:
            raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc

    def _in_worker(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        return self._worker.submit(function, *args, **kwargs).result()

    def close(self) -> None:
        """Close the netlink socket."""
        self._in_worker(self.ipr.close)
        self._worker.shutdown()

    def ifindex(self, name: str) -> int:
        """The index of interface ``name``; :class:`NetError` if there is none."""
        found = self._in_worker(self.ipr.link_lookup, ifname=name)
        if not found:
            raise NetError(f"mipshop: no interface named {name!r} in this namespace")
        return int(found[0])

    def _call(self, what: str, method: Any, command: str, ok: tuple[int, ...],
              **kwargs: Any) -> None:
        try:
            self._in_worker(method, command, **kwargs)
        except NetlinkError as exc:
            if exc.code in ok:
                return
            if exc.code == errno.EPERM:
                raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc
            raise NetError(f"mipshop: netlink {what} {command} {kwargs}: {exc}") from exc

    def set_up(self, name: str, *, mtu: int | None = None) -> None:
        """Bring interface ``name`` up (optionally setting its MTU)."""
        extra = {} if mtu is None else {"mtu": mtu}
        self._call("link", self.ipr.link, "set", (), index=self.ifindex(name), state="up",
                   **extra)

    def address(self, name: str, address: IPv6Address, prefix_length: int, *,
                active: bool = True) -> None:
        """Add (without DAD: the testbed's addresses are unique) or remove an address."""
        command, ok = ("add", (errno.EEXIST,)) if active else (
            "del", (errno.EADDRNOTAVAIL, errno.ENODEV))
        self._call("address", self.ipr.addr, command, ok, index=self.ifindex(name),
                   address=str(address), prefixlen=prefix_length, family=socket.AF_INET6,
                   flags=IFA_F_NODAD)

    def route(self, prefix: IPv6Network, name: str, *, via: IPv6Address | None = None,
              table: int = RT_TABLE_MAIN, metric: int = 1024, mtu: int | None = None,
              onlink: bool = False, active: bool = True) -> None:
        """Replace (or delete) the route for ``prefix`` out of ``name``, optionally via a
        router; ``mtu`` sets the route's path MTU (and so the TCP MSS of local sockets)."""
        kwargs: dict[str, Any] = {
            "dst": str(prefix), "family": socket.AF_INET6,
            "oif": self.ifindex(name), "table": table, "priority": metric,
        }
        if mtu is not None:
            kwargs["metrics"] = {"mtu": mtu}
        if onlink:
            kwargs["flags"] = RTNH_F_ONLINK  # the gateway is on the link, whatever the prefixes
        if via is not None:
            kwargs["gateway"] = str(via)
        if active:
            self._call("route", self.ipr.route, "replace", (), **kwargs)
        else:
            self._call("route", self.ipr.route, "del", (errno.ESRCH, errno.ENOENT), **kwargs)

    def rule_from(self, source: IPv6Network, table: int, *, priority: int,
                  iif: str | None = None, active: bool = True) -> None:
        """Policy rule: packets from ``source`` (arriving on ``iif``; ``lo`` = local) use
        ``table`` (``active=False`` removes the rule)."""
        kwargs: dict[str, Any] = {
            "family": socket.AF_INET6, "src": str(source.network_address),
            "src_len": source.prefixlen, "table": table, "priority": priority,
        }
        if iif is not None:
            kwargs["iifname"] = iif
        if active:
            self._call("rule", self.ipr.rule, "add", (errno.EEXIST,), **kwargs)
        else:
            self._call("rule", self.ipr.rule, "del", (errno.ENOENT, errno.ESRCH), **kwargs)

    def rule_specific_routes(self, *, iif: str, priority: int, longer_than: int) -> None:
        """Policy rule: packets arriving on ``iif`` look up the main table, but only routes
        more specific than ``/longer_than`` count (``suppress_prefixlength``)."""
        self._call("rule", self.ipr.rule, "add", (errno.EEXIST,), family=socket.AF_INET6,
                   iifname=iif, priority=priority, table=RT_TABLE_MAIN,
                   suppress_prefixlen=longer_than)

    def carrier(self, name: str) -> bool:
        """True when interface ``name`` is up with its carrier (``LOWER_UP``)."""
        (link,) = self._in_worker(self.ipr.get_links, self.ifindex(name))
        return bool(link["flags"] & 0x10000)  # IFF_LOWER_UP

    def rule_blackhole(self, destination: IPv6Network, *, iif: str, priority: int,
                       source: IPv6Network | None = None) -> None:
        """Policy rule: packets to ``destination`` (and from ``source``, if given) arriving on
        ``iif`` that are not for this host (the local table's rule comes first) are dropped,
        silently, instead of forwarded."""
        kwargs: dict[str, Any] = {}
        if source is not None:
            kwargs = {"src": str(source.network_address), "src_len": source.prefixlen}
        self._call("rule", self.ipr.rule, "add", (errno.EEXIST,), family=socket.AF_INET6,
                   dst=str(destination.network_address), dst_len=destination.prefixlen,
                   iifname=iif, priority=priority, action="FR_ACT_BLACKHOLE", **kwargs)

    def addresses(self, name: str) -> list[IPv6Address]:
        """The IPv6 addresses of interface ``name``."""
        found = self._in_worker(self.ipr.get_addr, family=socket.AF_INET6,
                                index=self.ifindex(name))
        return [IPv6Address(a.get_attr("IFA_ADDRESS")) for a in found]

    def link_layer_address(self, name: str) -> bytes:
        """The MAC address of interface ``name``."""
        (link,) = self._in_worker(self.ipr.get_links, self.ifindex(name))
        return bytes.fromhex(link.get_attr("IFLA_ADDRESS").replace(":", ""))

    def neighbour(self, address: IPv6Address, lladdr: bytes, name: str) -> None:
        """Install (replace) a reachable neighbour entry: ``address`` is at ``lladdr``."""
        self._call("neighbour", self.ipr.neigh, "replace", (), dst=str(address),
                   lladdr=lladdr.hex(":"), ifindex=self.ifindex(name), state=NUD_REACHABLE,
                   family=socket.AF_INET6)

    def proxy(self, address: IPv6Address, name: str, *, active: bool = True) -> None:
        """Add (or remove) a proxy neighbour entry: answer NS for ``address`` on ``name``."""
        command, ok = ("add", (errno.EEXIST,)) if active else ("del", (errno.ENOENT,))
        self._call("proxy neighbour", self.ipr.neigh, command, ok, dst=str(address),
                   ifindex=self.ifindex(name), flags=NTF_PROXY, family=socket.AF_INET6)

    def proxies(self) -> list[str]:
        """The proxy neighbour entries (addresses as text), for tests and dumps."""
        # pyroute2's neighbour dump does not ask for proxy entries (NTF_PROXY in the request
        # header); iproute2 does.
        out = subprocess.run(["ip", "-6", "neigh", "show", "proxy"], capture_output=True,
                             text=True, check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    # -- sysctls -----------------------------------------------------------------------------

    @staticmethod
    def forwarding(enabled: bool = True) -> None:
        """IPv6 forwarding on every interface (``conf/all`` also sets the existing ones)."""
        set_sysctl("net/ipv6/conf/all/forwarding", int(enabled))
        set_sysctl("net/ipv6/conf/default/forwarding", int(enabled))

    @staticmethod
    def prepare_interface(name: str, *, proxy_ndp: bool = True, accept_ra: int = 0) -> None:
        """Per-interface sysctls for a daemon's link.

        ``proxy_ndp`` answers NS for proxy entries; ``proxy_delay`` 0 answers at once (the
        kernel otherwise delays a proxied answer to a multicast NS by up to 0.8 s, RFC 4861
        §7.2.8's MAX_ANYCAST_DELAY_TIME); ``accept_ra`` 0 leaves Router Advertisements to the
        entity, and ``autoconf`` 0 keeps the kernel from forming addresses of its own.
        """
        set_sysctl(f"net/ipv6/conf/{name}/proxy_ndp", int(proxy_ndp))
        if proxy_ndp:
            # A unicast NS for a proxied address (Neighbour Unreachability Detection) is
            # taken off the forwarding path and answered only with conf/all set too: with the
            # interface's alone it was forwarded into the TUN device and never answered.
            set_sysctl("net/ipv6/conf/all/proxy_ndp", 1)
        set_sysctl(f"net/ipv6/conf/{name}/accept_ra", accept_ra)
        set_sysctl(f"net/ipv6/conf/{name}/autoconf", 0)
        set_sysctl(f"net/ipv6/conf/{name}/accept_dad", 0)
        set_sysctl(f"net/ipv6/neigh/{name}/proxy_delay", 0)
