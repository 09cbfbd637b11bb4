"""A Linux TUN device carrying whole IPv6 packets (``IFF_TUN | IFF_NO_PI``).

Opened with the ``TUNSETIFF`` ioctl on ``/dev/net/tun`` (linux/if_tun.h). With ``IFF_NO_PI``
every ``read`` returns exactly one IP packet and every ``write`` injects one, as if it had
arrived on the TUN interface: the kernel then delivers it locally or, with IPv6 forwarding on,
routes it out by its destination, even when its source belongs to another node
(docs/architecture.md, "The real-packet runtime"). The device is non-blocking;
:meth:`TunDevice.attach` registers an asyncio reader.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
from collections.abc import Callable

from .errors import TUN_PATH, NetError, require_tun

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFNAMSIZ = 16
#: The largest packet we read: the TUN MTU is far below it.
MAX_PACKET = 65_535


class TunDevice:
    """An open TUN interface named ``name``; closing the descriptor removes the interface."""

    def __init__(self, name: str) -> None:
        if not name or len(name.encode()) >= IFNAMSIZ:
            raise NetError(f"mipshop: bad TUN interface name {name!r} (1..15 bytes)")
        require_tun()
        try:
            fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as exc:
            raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc
        try:
            request = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
            result = fcntl.ioctl(fd, TUNSETIFF, request)
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EPERM:
                raise NetError("mipshop: the testbed needs root (CAP_NET_ADMIN)") from exc
            if exc.errno == errno.EBUSY:
                raise NetError(f"mipshop: interface {name} is already in use") from exc
            raise NetError(f"mipshop: cannot create TUN device {name}: {exc}") from exc
        self.fd = fd
        self.name = result[:IFNAMSIZ].rstrip(b"\0").decode()
        self._loop: asyncio.AbstractEventLoop | None = None

    def read(self) -> bytes | None:
        """One whole IPv6 packet, or None when none is waiting."""
        try:
            return os.read(self.fd, MAX_PACKET)
        except BlockingIOError:
            return None

    def write(self, packet: bytes) -> None:
        """Inject one whole IPv6 packet into the kernel (as received on this interface).

        A packet the kernel refuses (no route, interface down) is lost, as on a wire; the
        error is raised so that the caller can count it.
        """
        os.write(self.fd, packet)

    def attach(self, loop: asyncio.AbstractEventLoop, callback: Callable[[bytes], None]) -> None:
        """Call ``callback(packet)`` from ``loop`` for every packet read from the device."""

        def readable() -> None:
            while (packet := self.read()) is not None:
                callback(packet)

        loop.add_reader(self.fd, readable)
        self._loop = loop

    def close(self) -> None:
        """Stop reading and close the device (the kernel removes the interface)."""
        if self.fd < 0:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> TunDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
