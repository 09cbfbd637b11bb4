"""Real packets: the protocol entities over Linux TUN devices, raw sockets and netlink.

docs/architecture.md, "The real-packet runtime": the kernel here has no
CONFIG_IPV6_MIP6 and no ip6_tunnel, so it drops packets carrying a Home Address option or a
Type 2 Routing Header addressed to one of its own addresses. Each daemon therefore owns the
addresses it serves in user space: they are routed into a TUN device (and answered for on
their link by proxy NDP), whole IPv6 packets are read there and handed to the unchanged
sans-IO entity, and what the entity transmits leaves through a raw ``IPPROTO_RAW`` socket.

Modules:

* :mod:`.errors`: :class:`NetError` and the preconditions (root, ``/dev/net/tun``);
* :mod:`.tun`: :class:`TunDevice` (``IFF_TUN | IFF_NO_PI``, non-blocking, asyncio reader);
* :mod:`.sockets`: the raw ``IPPROTO_RAW`` sender and the ``AF_PACKET`` listener;
* :mod:`.netlink`: :class:`Netlink` (pyroute2): addresses, routes, rules, proxy neighbours,
  sysctls;
* :mod:`.config`: the daemons' TOML configuration, turned into entity configurations;
* :mod:`.runtime`: :class:`Runtime`, which drives one entity with ``time.monotonic()``;
* :mod:`.collector`: the garbage collector's setting of a daemon;
* :mod:`.daemon`: ``python -m mipshop.net.daemon ROLE --config FILE.toml``;
* :mod:`.capture`: an ``AF_PACKET`` capture written as pcap;
* :mod:`.traffic`: real applications (UDP echo and CBR probe, TCP serve/fetch with SHA-256);
* :mod:`.delay`: a userspace delay element for the core router (path delays without netem);
* :mod:`.testbed`: the reference topology in network namespaces (:class:`Testbed`);
* :mod:`.experiment`: ``mipshop testbed``, a result row in the ``mipshop compare`` schema.
"""

from .errors import NetError

__all__ = ["NetError"]
