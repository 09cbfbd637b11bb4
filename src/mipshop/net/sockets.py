"""The other ways in and out of a daemon: a raw ``IPPROTO_RAW`` sender and a packet listener.

* :class:`RawSender`: ``socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)`` implies ``IPV6_HDRINCL``, so
  the kernel sends our whole packet as written, Home Address option and Type 2 Routing Header
  included, and does not check that its source is one of its addresses
  (docs/architecture.md). One socket per interface, bound with ``SO_BINDTODEVICE``, sends on
  that interface; an unbound one routes by destination.
* :class:`PacketListener`: an ``AF_PACKET``/``SOCK_DGRAM`` socket on one interface, returning
  whole IPv6 packets without their link-layer header. It hears what the kernel would not hand
  over: Router Solicitations and Advertisements and other link-local or multicast traffic,
  mobility signalling to one of the kernel's own addresses, and ICMPv6 with hop limit 255 (the
  kernel would decrement it when forwarding into the TUN device, and RFC 5568 §6.1 receivers
  check it). A classic BPF filter keeps every
  other packet (bulk data) in the kernel.
"""

from __future__ import annotations

import asyncio
import ctypes
import socket
import struct
from collections.abc import Callable
from ipaddress import IPv6Address

from .errors import NetError

ETH_P_IPV6 = 0x86DD
SO_ATTACH_FILTER = 26
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4
#: Next Header values the BPF filter lets through whatever the destination: the Mobility
#: Header (135), Destination Options (60, a Home Address option) and Routing (43).
_SIGNALLING_HEADERS = (135, 60, 43)


def _bpf_program() -> bytes:
    """cBPF: accept ff00::/8 and fe80::/10 destinations and the signalling Next Headers.

    Offsets are from the IPv6 header (``SOCK_DGRAM`` packet sockets): byte 6 is Next Header,
    bytes 24..39 the destination (RFC 8200 §3).
    """
    ld_b, jeq, and_k, ret = 0x30, 0x15, 0x54, 0x06
    accept = 14
    program = [
        (ld_b, 0, 0, 24),
        (jeq, accept - 1 - 1, 0, 0xFF),
        (jeq, 0, 6 - 2 - 1, 0xFE),
        (ld_b, 0, 0, 25),
        (and_k, 0, 0, 0xC0),
        (jeq, accept - 5 - 1, 0, 0x80),
        (ld_b, 0, 0, 6),
        (jeq, accept - 7 - 1, 0, _SIGNALLING_HEADERS[0]),
        (jeq, accept - 8 - 1, 0, _SIGNALLING_HEADERS[1]),
        (jeq, accept - 9 - 1, 0, _SIGNALLING_HEADERS[2]),
        # ICMPv6 with hop limit 255: ND-style messages (FMIPv6 RtSolPr/PrRtAdv, RFC 5568
        # §6.1) that the kernel would forward into the TUN device with hop limit 254.
        (jeq, 0, 13 - 10 - 1, 58),
        (ld_b, 0, 0, 7),
        (jeq, accept - 12 - 1, 0, 255),
        (ret, 0, 0, 0),
        (ret, 0, 0, 0x40000),
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


class RawSender:
    """Sends whole IPv6 packets; ``interface`` None routes by destination."""

    def __init__(self, interface: str | None, ifindex: int = 0) -> None:
        self.interface = interface
        self.ifindex = ifindex
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sock.setblocking(False)
        if interface is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())

    def send(self, packet: bytes) -> None:
        """Send one packet to the destination in its header (scoped to the interface)."""
        dst = IPv6Address(packet[24:40])
        scope = self.ifindex if (dst.is_link_local or dst.is_multicast) else 0
        self.sock.sendto(packet, (str(dst), 0, 0, scope))

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class PacketListener:
    """Whole IPv6 packets arriving on ``interface`` (filtered as described above)."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                      socket.htons(ETH_P_IPV6))
        except PermissionError as exc:
            raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc
        program = _bpf_program()
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self.sock.bind((interface, ETH_P_IPV6))
        self.sock.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, callback: Callable[[bytes], None]) -> None:
        """Call ``callback(packet)`` for every IPv6 packet received for this host: not one
        it sent, nor a unicast frame for another link-layer address (which a bridge floods
        to every port until it learns where that address is)."""

        def readable() -> None:
            while True:
                try:
                    data, address = self.sock.recvfrom(65_535)
                except BlockingIOError:
                    return
                if address[2] not in (PACKET_OUTGOING, PACKET_OTHERHOST):
                    callback(data)

        loop.add_reader(self.sock.fileno(), readable)
        self._loop = loop

    def send_to(self, packet: bytes, link_layer_address: bytes) -> None:
        """Send one IPv6 packet on the interface to ``link_layer_address``, without Neighbor
        Discovery (an entity that knows the neighbour's link-layer address, RFC 5568 §6.3:
        the NAR answers a UNA at the link-layer address it came from)."""
        self.sock.sendto(packet, (self.interface, ETH_P_IPV6, 0, 0, link_layer_address))

    def close(self) -> None:
        """Stop listening."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
