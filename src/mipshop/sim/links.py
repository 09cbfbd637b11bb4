"""Links: point-to-point and shared (broadcast) media with delay, bandwidth, a queue and loss.

Timing of one frame of ``n`` bytes handed to a link at time ``t`` (the model of ns-2's
``DelayLink`` + ``DropTail`` queue, and of ns-3's ``PointToPointNetDevice`` / ``DropTailQueue``):

* it starts on the wire at ``start = max(t, busy_until)`` (FIFO behind the frames already
  queued on the same transmitter);
* serialization takes ``8 * n / bandwidth`` seconds (``bandwidth=None``: zero);
* it arrives at ``start + 8 * n / bandwidth + delay`` (``delay`` is the propagation delay);
* drop-tail: if it would have to wait (``start > t``) while ``queue_limit`` frames are already
  waiting (the frame being serialized is not counted), it is dropped;
* loss: with probability ``loss`` (drawn from the link's own seeded RNG) the frame is lost on
  the wire; it still occupies the transmitter. On a shared link each receiver of a multicast
  frame draws independently.

A :class:`PointToPointLink` is full duplex: each end has its own transmitter. A
:class:`SharedLink` is one medium (an Ethernet segment, a VLAN, an 802.11 BSS): one transmitter
for all attached interfaces, no collisions (an idealised, FIFO-arbitrated medium).

Address resolution is an oracle standing in for Neighbor Discovery (RFC 4861 §7.2): a link knows
which attached interface answers for each address (configured addresses, and addresses an
entity ``Claim``\\ed with ``proxy_interface`` on it, which take precedence, as proxy ND does for a
home agent defending a home address, RFC 6275 §10.4.1). No NS/NA packets are exchanged.
"""

from __future__ import annotations

import random
from collections import deque
from heapq import heappush as _heappush
from typing import TYPE_CHECKING, Any

#: ff02::2 (RFC 4291 §2.7.1), and the first 13 bytes of every solicited-node group.
_ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")
_SOLICITED_PREFIX = bytes.fromhex("ff0200000000000000000001ff")
#: Departures below which a link never refills its tables (:meth:`Link._refill`).
REFILL_AFTER = 16


def refill(table: dict[Any, Any] | set[Any]) -> None:
    """Empty ``table`` and put its entries back in, in their order: a dict or set keeps the
    room of the entries deleted from it, an emptied one gives it all back, so the table is
    sized for its present entries alone; what it holds is unchanged."""
    entries = list(table.items()) if isinstance(table, dict) else list(table)
    table.clear()
    table.update(entries)

if TYPE_CHECKING:
    from .frame import Frame
    from .network import Interface, Network


#: Every :attr:`_Transmitter.waiting` before its first queued frame.
_NOT_WAITING: Any = ()


class _Transmitter:
    """The FIFO output queue of one sender (or of a whole shared medium)."""

    __slots__ = ("busy_until", "waiting")

    def __init__(self) -> None:
        self.busy_until = 0.0
        #: Start times of frames not yet on the wire: an empty tuple until the first frame
        #: has to wait (a deque is a 600-byte block, and most senders never queue).
        self.waiting: deque[float] = _NOT_WAITING


class Link:
    """Common behaviour of every link; use :class:`PointToPointLink` or :class:`SharedLink`."""

    shared = False

    def __init__(
        self,
        network: Network,
        name: str,
        *,
        delay: float = 0.0,
        bandwidth: float | None = None,
        queue_limit: int | None = None,
        loss: float = 0.0,
    ) -> None:
        if delay < 0 or (bandwidth is not None and bandwidth <= 0):
            raise ValueError("delay must be >= 0 and bandwidth > 0")
        if not 0.0 <= loss <= 1.0:
            raise ValueError("loss is a probability")
        self.network = network
        self.name = name
        self.delay = delay
        self.bandwidth = bandwidth
        self.queue_limit = queue_limit
        self.loss = loss
        self._rng: random.Random | None = None
        #: The kernel's queue and sequence, to schedule arrivals as ``Kernel.schedule_at``
        #: does without its call (``Kernel.queue``: an arrival is never in the past).
        self._heap = network.kernel.queue
        self._sequence = network.kernel.sequence
        #: Attached interfaces, in the order they joined (a dict: O(1) to leave).
        self.interfaces: dict[Interface, int] = {}
        self.sent = 0
        self._joined = 0
        self._owners: dict[bytes, Interface] = {}
        self._proxied: set[bytes] = set()
        #: Every attached interface that has or proxies an address (one, or a list of them).
        self._holders: dict[bytes, Interface | list[Interface]] = {}
        #: The held addresses by their last three bytes (a solicited-node group's, RFC 4291
        #: §2.7.1): who a multicast Neighbor Solicitation can be for, without asking everyone.
        self._tails: dict[bytes, tuple[bytes, ...]] = {}
        self._by_mac: dict[bytes, Interface] = {}
        self._routers: list[Interface] = []
        #: Addresses unregistered since the tables were last refilled (:meth:`_refill`).
        self._departed = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- membership -----

    def attach(self, interface: Interface) -> None:
        """Connect ``interface`` (it answers for its addresses on this link from now on)."""
        if interface.link is not None:
            interface.link.detach(interface)
        self._joined += 1
        self.interfaces[interface] = self._joined
        self._by_mac.setdefault(interface.link_address, interface)
        interface.link = self
        for address in interface.packed:
            self.register(address, interface, proxy=False)
        for address in interface.proxied:
            self.register(address, interface, proxy=True)
        if interface.node.forwarding:
            self._routers.append(interface)

    def detach(self, interface: Interface) -> None:
        """Disconnect ``interface``; frames still in flight to it are dropped on arrival."""
        if interface.link is not self:
            return
        del self.interfaces[interface]
        if self._by_mac.get(interface.link_address) is interface:
            del self._by_mac[interface.link_address]
            for other in self.interfaces:
                if other.link_address == interface.link_address:
                    self._by_mac[other.link_address] = other
                    break
        interface.link = None
        if interface in self._routers:
            self._routers.remove(interface)
        for address in (*interface.packed, *interface.proxied):
            self.unregister(address, interface)

    def _refill(self) -> None:
        """Empty each table of the attached interfaces and their addresses and put its entries
        back, in their order. A dictionary keeps the room of the entries deleted from it: an
        access link that stations keep joining and leaving held its tables at several times the
        size its present stations need (about 400 bytes a mobile node at 1,000 nodes after 900
        simulated seconds), and a MAP's link the room of the RCoAs it proxied. Once as many
        addresses have left as are held, so the cost is a constant per departure; what the
        tables map is unchanged."""
        self._departed = 0
        for table in (self.interfaces, self._by_mac, self._owners, self._holders, self._tails,
                      self._proxied):
            refill(table)

    def register(self, address: bytes, interface: Interface, *, proxy: bool) -> None:
        """Record that ``interface`` answers for ``address`` (packed) on this link."""
        holders = self._holders.get(address)
        if holders is None:
            self._holders[address] = interface
            tail = address[13:]
            self._tails[tail] = (*self._tails.get(tail, ()), address)
        elif isinstance(holders, list):
            if interface not in holders:
                holders.append(interface)
        elif holders is not interface:
            self._holders[address] = [holders, interface]
        if proxy:
            self._owners[address] = interface
            self._proxied.add(address)
        elif address not in self._proxied:
            self._owners.setdefault(address, interface)

    def unregister(self, address: bytes, interface: Interface) -> None:
        """Forget ``interface`` as an answerer for ``address``; another may take over (a
        proxy first, then an interface with the address, earliest joined first)."""
        self._departed += 1
        if self._departed > max(len(self._holders), REFILL_AFTER):
            self._refill()
        holders = self._holders.get(address)
        others: list[Interface] = []
        if holders is interface:
            del self._holders[address]
            tail = address[13:]
            rest = tuple(a for a in self._tails[tail] if a != address)
            if rest:
                self._tails[tail] = rest
            else:
                del self._tails[tail]
        elif isinstance(holders, list):
            if interface in holders:
                holders.remove(interface)
            others = list(holders)
            if len(holders) == 1:
                self._holders[address] = holders[0]
        elif holders is not None:
            others = [holders]
        if self._owners.get(address) is not interface:
            return
        del self._owners[address]
        self._proxied.discard(address)
        if not others:
            return
        joined = self.interfaces
        others = sorted((o for o in others if o in joined), key=joined.__getitem__)
        for other in others:
            if address in other.proxied:
                self.register(address, other, proxy=True)
                return
        for other in others:
            if address in other.packed:
                self.register(address, other, proxy=False)
                return

    def resolve(self, address: bytes) -> Interface | None:
        """The interface that answers for ``address`` on this link (the ND oracle)."""
        return self._owners.get(address)

    def by_link_address(self, link_address: bytes) -> Interface | None:
        """The attached interface with this link-layer address (the earliest joined)."""
        return self._by_mac.get(link_address)

    def default_router(self, exclude: Interface) -> Interface | None:
        """A forwarding node's interface on this link (a host's default router)."""
        for interface in self._routers:
            if interface.node is not exclude.node:
                return interface
        return None

    @property
    def rng(self) -> random.Random:
        """The link's loss draws: the kernel's generator ``link/<name>``, made at the first
        draw (a link without loss never draws, and a generator's state is 2.5 KB)."""
        rng = self._rng
        if rng is None:
            rng = self._rng = self.network.kernel.rng(f"link/{self.name}")
        return rng

    # -- transmission -----

    def _transmitter(self, sender: Interface) -> _Transmitter:
        raise NotImplementedError

    def transmit(self, sender: Interface, frame: Frame, receiver: Interface | None) -> bool:
        """Send one frame to ``receiver`` (None: to every other attached interface).

        Returns False when the drop-tail queue refused it. Arrivals are scheduled on the kernel.
        Captures get the frame's bytes (encoded then, once per packet); taps get the frame.
        """
        network = self.network
        kernel = network.kernel
        now = kernel.now
        tx = self._transmitter(sender)
        busy_until = tx.busy_until
        waiting = tx.waiting
        if waiting:
            while waiting and waiting[0] <= now:
                waiting.popleft()
        if busy_until > now:
            start = busy_until
            if self.queue_limit is not None and len(waiting) >= self.queue_limit:
                network.drop("queue", self.name, frame)
                return False
            if waiting is _NOT_WAITING:
                waiting = tx.waiting = deque()
            waiting.append(start)
        else:
            start = now
        bandwidth = self.bandwidth
        finish = start + frame.size * 8 / bandwidth if bandwidth else start
        tx.busy_until = finish
        self.sent += 1
        if network.captures:
            data = frame.data
            for capture in network.captures:
                capture.record(start, self.name, data)
        if network.taps:
            for tap in network.taps:
                tap(start, self.name, frame)
        arrival = finish + self.delay
        loss = self.loss
        if receiver is not None:
            if loss and self.rng.random() < loss:
                network.drop("loss", self.name, frame)
                return True
            # kernel.schedule_at(arrival, self._arrive, receiver, frame), inlined.
            _heappush(self._heap, [arrival, next(self._sequence), self._arrive,
                                   (receiver, frame)])
            return True
        # One event for every receiver, not one each (see _arrive_all): the receivers are
        # those attached now with their join numbers (their order), each after its loss draw.
        if loss:
            receivers = {}
            for other, joined in self.interfaces.items():
                if other is sender:
                    continue
                if self.rng.random() < loss:
                    network.drop("loss", self.name, frame)
                    continue
                receivers[other] = joined
        else:
            receivers = self.interfaces.copy()
            receivers.pop(sender, None)
        if len(receivers) == 1:
            kernel.schedule_at(arrival, self._arrive, next(iter(receivers)), frame)
        elif receivers:
            kernel.schedule_at(arrival, self._arrive_all, receivers, frame)
        return True

    def _arrive_all(self, receivers: dict[Interface, int], frame: Frame) -> None:
        """:meth:`_arrive` at each of ``receivers`` that can take ``frame``, in the order they
        joined: as the one event each they had before, less the work of the ones that would
        have ignored it.

        A city's access link has hundreds of stations, and each one's Router Solicitation
        (to all routers) and DAD Neighbor Solicitation (to its solicited-node group) reached
        every one of them as an event of its own: the run grew with the square of the nodes.
        The events were consecutive in the heap at one time, so nothing ran between them but
        the earlier receivers, as here. For those two kinds of group only the receivers that
        can take it get :meth:`_arrive`: the routers, or those holding an address with the
        group's last three bytes (RFC 4291 §2.7.1) -- besides every receiver whose radio is
        off (its handler decides: an AP may buffer the frame) or that left the link (a
        drop). The others would only have counted it in their node's
        ``multicast.ignored``, which no longer counts these. Other groups (all nodes) reach
        every receiver."""
        arrive = self._arrive
        destination = frame.dst
        if destination[:13] == _SOLICITED_PREFIX:
            holders = self._holders
            wanted: list[Interface] = []
            for address in self._tails.get(destination[13:], ()):
                held = holders[address]
                if isinstance(held, list):
                    wanted.extend(held)
                else:
                    wanted.append(held)
        elif destination == _ALL_ROUTERS:
            wanted = self._routers
        else:
            for receiver in receivers:
                arrive(receiver, frame)
            return
        chosen = {receiver for receiver in receivers
                  if not receiver.up or receiver.link is not self}
        chosen.update(receiver for receiver in wanted if receiver in receivers)
        for receiver in sorted(chosen, key=receivers.__getitem__):
            arrive(receiver, frame)

    def _arrive(self, receiver: Interface, frame: Frame) -> None:
        if receiver.link is not self:
            self.network.drop("receiver left the link", self.name, frame)
            return
        if not receiver.up:
            handler = receiver.down_handler
            if handler is not None:
                handler(receiver, frame)
            else:
                self.network.drop("radio off", self.name, frame)
            return
        receiver.node.receive(receiver, frame)


class PointToPointLink(Link):
    """A full-duplex link between two interfaces: one transmitter per direction."""

    def __init__(self, network: Network, name: str, **parameters: float | int | None) -> None:
        super().__init__(network, name, **parameters)  # type: ignore[arg-type]
        self._transmitters: dict[Interface, _Transmitter] = {}

    def attach(self, interface: Interface) -> None:
        """Connect one of the (at most two) ends."""
        if len(self.interfaces) >= 2 and interface not in self.interfaces:
            raise ValueError(f"point-to-point link {self.name} already has two ends")
        super().attach(interface)

    def _transmitter(self, sender: Interface) -> _Transmitter:
        tx = self._transmitters.get(sender)
        if tx is None:
            tx = self._transmitters[sender] = _Transmitter()
        return tx


class SharedLink(Link):
    """A broadcast medium shared by any number of interfaces: one transmitter for all."""

    shared = True

    def __init__(self, network: Network, name: str, **parameters: float | int | None) -> None:
        super().__init__(network, name, **parameters)  # type: ignore[arg-type]
        self._medium = _Transmitter()

    def _transmitter(self, sender: Interface) -> _Transmitter:
        return self._medium
