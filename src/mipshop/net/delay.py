"""A userspace delay element for a router: path delays without netem.

``python -m mipshop.net.delay --tun dly0 --link PREFIX=SECONDS ...`` runs in a router's
namespace (the testbed's core router). It creates the TUN device ``dly0``; the router's policy
rules send every packet it would forward into that device (``iif <link> lookup <table>``,
whose default route is ``dly0``: :meth:`mipshop.net.testbed.Testbed` sets them), the element
holds each packet for its delay and writes it back, and the kernel then forwards it by the
main table (the rules do not match ``iif dly0``). Packets to the router itself stay in the
``local`` table, which comes first.

The element cannot see which link a packet came in on, so each link behind the router is
named by the prefixes of the nodes on it (``--link 2001:db8:1::/64=0.02``: the home link,
20 ms one way). A packet crossing the router crosses two of its links, the one of its source
and the one of its destination: it is held for the sum of their delays, which is what two
point-to-point links with those propagation delays give (the simulator's ``links`` table).
Addresses under no prefix add nothing. The delay of a pair of links is constant, so the
element never reorders a flow.

It prints ``ready`` once the device is up; SIGTERM stops it, and the device (with the route
into it) goes with it: packets then follow the main table undelayed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from ipaddress import IPv6Address, IPv6Network

from .errors import NetError
from .netlink import Netlink
from .tun import TunDevice


def parse_link(text: str) -> tuple[IPv6Network, float]:
    """``PREFIX=SECONDS`` -> (prefix, one-way delay)."""
    prefix, _, seconds = text.partition("=")
    try:
        delay = float(seconds)
        network = IPv6Network(prefix)
    except ValueError as exc:
        raise NetError(f"mipshop: --link {text!r}: expected PREFIX=SECONDS ({exc})") from exc
    if delay < 0:
        raise NetError(f"mipshop: --link {text!r}: a delay cannot be negative")
    return network, delay


class DelayElement:
    """Holds each packet for the one-way delays of its source's and destination's links."""

    def __init__(self, links: list[tuple[IPv6Network, float]]) -> None:
        # Longest prefix first, so that a more specific link wins.
        self.links = sorted(links, key=lambda item: item[0].prefixlen, reverse=True)
        self.held = 0

    def link_delay(self, address: bytes) -> float:
        """The one-way delay of the link ``address`` (16 bytes) is behind; 0 if unknown."""
        value = IPv6Address(address)
        for network, delay in self.links:
            if value in network:
                return delay
        return 0.0

    def delay(self, packet: bytes) -> float:
        """How long ``packet`` (a whole IPv6 packet) is held."""
        if len(packet) < 40:
            return 0.0
        return self.link_delay(packet[8:24]) + self.link_delay(packet[24:40])


async def _run(tun: TunDevice, element: DelayElement) -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)

    def release(packet: bytes) -> None:
        element.held -= 1
        with contextlib.suppress(OSError):
            tun.write(packet)

    def arrived(packet: bytes) -> None:
        delay = element.delay(packet)
        if delay <= 0:
            with contextlib.suppress(OSError):
                tun.write(packet)
            return
        element.held += 1
        loop.call_later(delay, release, packet)

    tun.attach(loop, arrived)
    print("ready", flush=True)
    await stopped.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mipshop.net.delay``."""
    parser = argparse.ArgumentParser(prog="python -m mipshop.net.delay")
    parser.add_argument("--tun", default="dly0")
    parser.add_argument("--mtu", type=int, default=1500)
    parser.add_argument("--link", action="append", default=[], metavar="PREFIX=SECONDS")
    args = parser.parse_args(argv)
    try:
        element = DelayElement([parse_link(text) for text in args.link])
        with TunDevice(args.tun) as tun:
            netlink = Netlink()
            try:
                netlink.set_up(tun.name, mtu=args.mtu)
            finally:
                netlink.close()
            asyncio.run(_run(tun, element))
    except NetError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
