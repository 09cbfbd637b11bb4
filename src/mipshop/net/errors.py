"""Errors of the real-packet layer, with messages a user can act on."""

from __future__ import annotations

import os


class NetError(RuntimeError):
    """A precondition of the real-packet runtime or testbed is not met (root, TUN, names)."""


ROOT_MESSAGE = "mipshop: the testbed needs root (CAP_NET_ADMIN)"
TUN_PATH = "/dev/net/tun"


def require_root() -> None:
    """Raise :class:`NetError` unless this process can administer the network (root)."""
    if os.geteuid() != 0:
        raise NetError(ROOT_MESSAGE)


def require_tun() -> None:
    """Raise :class:`NetError` when the TUN/TAP driver's device node is missing."""
    if not os.path.exists(TUN_PATH):
        raise NetError(
            f"mipshop: {TUN_PATH} is missing (load the tun module or create the node: "
            "mknod /dev/net/tun c 10 200)"
        )
