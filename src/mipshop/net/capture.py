"""``python -m mipshop.net.capture OUT.pcapng IFACE...``: capture IPv6 on interfaces as pcapng.

A packet socket (``AF_PACKET``/``SOCK_DGRAM``, both directions) per interface; each packet is
appended at once to ``OUT.pcapng`` (one pcapng interface per captured interface, named after it,
link type 229, raw IPv6: :mod:`mipshop.wire.pcap`), so that Wireshark and ``mipshop dissect``
show which link each copy crossed, the file is readable while the capture runs, and it is
complete when the capture is stopped (SIGTERM/SIGINT).
It prints ``ready`` once every socket is bound; ``--signalling`` leaves out UDP and TCP
(the testbed's signalling count), ``--udp`` keeps only UDP (which path each datagram took,
tunnel or route-optimised). Run it in the namespace of the interfaces
(the testbed captures on the bridge ports of the mobile node and the home agent).
"""

from __future__ import annotations

import errno
import selectors
import signal
import socket
import sys
import time

from ..wire.pcap import pcapng_header, pcapng_packet
from .sockets import ETH_P_IPV6

ETH_P_ALL = 0x0003


def is_data(data: bytes) -> bool:
    """True for a UDP or TCP packet, possibly inside IPv6-in-IPv6 tunnels (its innermost
    header's Next Header is 6 or 17): what a signalling-only capture leaves out."""
    offset = 0
    while len(data) >= offset + 80 and data[offset + 6] == 41:
        offset += 40
    return len(data) >= offset + 40 and data[offset + 6] in (6, 17)


def upper_protocol(data: bytes) -> int | None:
    """The Next Header of the innermost packet's upper layer, past IPv6-in-IPv6 tunnels and
    Hop-by-Hop, Routing (a Type 2 Routing Header) and Destination Options (a Home Address
    option) headers; None for a truncated packet."""
    offset = 0
    while len(data) >= offset + 40:
        next_header, offset = data[offset + 6], offset + 40
        while next_header in (0, 43, 60):
            if len(data) < offset + 2:
                return None
            next_header, offset = data[offset], offset + (data[offset + 1] + 1) * 8
        if next_header != 41:
            return next_header
    return None


def capture(path: str, interfaces: list[str], *, signalling: bool = False,
            udp: bool = False) -> int:
    """Capture until SIGTERM/SIGINT; returns the number of packets written.

    With ``signalling``, UDP and TCP packets (tunnelled or not) are left out, so that a long
    capture of a data transfer keeps only what :func:`mipshop.measure.message_type` can
    name (Mobility Header and ICMPv6 messages).
    """
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    selector = selectors.DefaultSelector()
    sockets = []
    interface_id: dict[socket.socket, int] = {}
    for number, name in enumerate(interfaces):
        # ETH_P_ALL: a bridge port's frames are taken by the bridge before protocol-specific
        # packet sockets see them; "all" taps see them first. IPv6 is kept below.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        sock.bind((name, ETH_P_ALL))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        sockets.append(sock)
        interface_id[sock] = number
    count = 0
    with open(path, "wb", buffering=0) as out:
        out.write(pcapng_header(interfaces))
        print("ready", flush=True)
        while not stop:
            for key, _events in selector.select(timeout=0.2):
                sock = key.fileobj  # type: ignore[assignment]
                assert isinstance(sock, socket.socket)
                while True:
                    try:
                        data, address = sock.recvfrom(65_535)
                    except BlockingIOError:
                        break
                    except OSError as exc:
                        # ENETDOWN once when the port goes down (a handover); the socket
                        # resumes when it comes back up.
                        if exc.errno != errno.ENETDOWN:
                            raise
                        break
                    if address[1] != ETH_P_IPV6 or (signalling and is_data(data)) or (
                            udp and upper_protocol(data) != 17):
                        continue
                    out.write(pcapng_packet(interface_id[sock], time.time(), data))
                    count += 1
    for sock in sockets:
        sock.close()
    return count


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``[--signalling | --udp] OUT.pcapng IFACE...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    flags = {flag: flag in args for flag in ("--signalling", "--udp")}
    args = [a for a in args if a not in flags]
    if len(args) < 2:
        print("usage: python -m mipshop.net.capture [--signalling | --udp] OUT.pcapng "
              "IFACE...", file=sys.stderr)
        return 2
    capture(args[0], args[1:], signalling=flags["--signalling"], udp=flags["--udp"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
