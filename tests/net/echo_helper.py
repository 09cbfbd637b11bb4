"""Run inside a fresh namespace: a Runtime hosting a UDP echo entity, and a client.

The entity claims ``2001:db8:e::2`` (a route into the TUN device) and answers every UDP
datagram by swapping addresses and ports; the client, bound to ``2001:db8:e::1`` on ``lo``,
sends datagrams and prints one JSON line with what came back.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
import time
from ipaddress import IPv6Address

from mipshop.net.config import DaemonSettings
from mipshop.net.netlink import Netlink
from mipshop.net.runtime import Runtime
from mipshop.protocol.base.actions import Claim, Transmit
from mipshop.protocol.base.entity import Entity
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram

SERVER = IPv6Address("2001:db8:e::2")
CLIENT = IPv6Address("2001:db8:e::1")


class Echo(Entity):
    """Claims SERVER and echoes UDP."""

    def start(self, now: float) -> None:
        self.now = now
        self.act(Claim(address=SERVER))
        self.emit("echo.start")

    def on_packet(self, packet: IPv6Packet, interface: str) -> None:
        payload = packet.payload
        if isinstance(payload, UDPDatagram) and packet.dst == SERVER:
            reply = IPv6Packet(src=packet.dst, dst=packet.src, payload=UDPDatagram(
                src_port=payload.dst_port, dst_port=payload.src_port, data=payload.data))
            self.act(Transmit(packet=reply))
            self.emit("echo.reply", size=len(payload.data))
        else:
            self.counters["drop.unhandled"] += 1


async def main(count: int) -> dict[str, object]:
    nl = Netlink()
    nl.set_up("lo")
    nl.address("lo", CLIENT, 128)
    nl.close()
    runtime = Runtime(Echo("echo", random.Random(1)), DaemonSettings(name="echo", tun="mip0"))
    runtime.open()
    loop = asyncio.get_running_loop()
    runtime.attach(loop)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind((str(CLIENT), 0))
    sock.setblocking(False)
    rtts = []
    received = 0
    try:
        for i in range(count):
            data = f"ping {i}".encode() * 10
            start = time.monotonic()
            await loop.sock_sendto(sock, data, (str(SERVER), 7))
            answer = await asyncio.wait_for(loop.sock_recv(sock, 2048), 2.0)
            rtts.append(time.monotonic() - start)
            received += answer == data
    finally:
        sock.close()
        state = runtime.state()
        runtime.close()
    return {"sent": count, "received": received, "max_rtt": max(rtts),
            "events": [e["kind"] for e in runtime.events], "state": state}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1])))))
