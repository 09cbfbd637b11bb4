"""Stateful address configuration with DHCPv6 (RFC 8415): a client and a server, sans-IO.

The :class:`Dhcpv6Client` belongs to a host entity (the mobile node: a link whose Router
Advertisements set the M flag, RFC 4861 §4.2, and an FMIPv6 NAR announced with PrRtAdv Code 5,
RFC 5568 §6.1.2). It obtains one non-temporary address (IA_NA) with the four-message exchange
of RFC 8415 §18: Solicit to All_DHCP_Relay_Agents_and_Servers from the link-local address,
Advertise, Request, Reply; then Renew at T1. Retransmissions follow §15 (RT = IRT, then
2 x RT, each with a random factor of +-10 %, up to MRT / MRC); Advertises are collected for the
first RT unless one carries Preference 255 (§18.2.1, §18.2.9), and the highest preference wins.

The :class:`Dhcpv6Server` belongs to a router (an :class:`~mipshop.protocol.access_router.
AccessRouter` configured with a :class:`Dhcpv6ServerConfig`): it hands out addresses of a
configured pool, one per (DUID, IAID), answering Solicit with Advertise (the address held for
the client for ``offer_hold`` seconds), Request and Renew with Reply (the binding committed or
extended), Release with Reply (the address freed); bindings expire with their valid lifetime.
The table is bounded by the pool. Server and client ignore what RFC 8415 §16 says to discard
(a Solicit with a Server Identifier, a Request for another server, no Client Identifier, ...)
and count it.

Resolved ambiguities ([choice], docs/decisions.md D18): the first Solicit is not delayed
(``solicit_delay``, 0 by default; RFC 8415 §18.2.1 says SHOULD delay up to SOL_MAX_DELAY = 1 s,
which would add to every handover); a server's Preference defaults to 255 so that its client
need not wait for others; the client starts over (a new Solicit) when its link changes, instead
of Confirm/Rebind (§18.2.12), since a mobile node's new link is a new subnet; no Rebind (a Renew
left unanswered until the valid lifetime ends loses the address), no Decline, no relay agents.

Events: client ``dhcp.solicit`` (``transaction``, ``attempt``), ``dhcp.advertise``
(``server``, ``address``, ``preference``), ``dhcp.request`` (``address``, ``attempt``),
``dhcp.bound`` (``address``, ``preferred``, ``valid``, ``t1``, ``t2``), ``dhcp.renew``,
``dhcp.renewed``, ``dhcp.failed`` (``reason``), ``dhcp.lost`` (``address``); server
``dhcp.offered`` (``address``, ``client``), ``dhcp.leased`` (``address``, ``client``,
``renewal``), ``dhcp.refused`` (``status``, ``client``), ``dhcp.released`` (``address``).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Protocol

from ...wire.dhcpv6 import (
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    CLIENT_PORT,
    IANA,
    INFINITY,
    SERVER_PORT,
    ClientIdentifier,
    DhcpMessageType,
    DhcpOption,
    DhcpStatus,
    Dhcpv6Message,
    ElapsedTime,
    IAAddress,
    Preference,
    ServerIdentifier,
    StatusCode,
    decode_dhcpv6,
    duid_ll,
    encode_dhcpv6,
)
from ...wire.errors import MalformedPacket
from ...wire.ipv6 import IPv6Packet, UDPDatagram
from .actions import Transmit

if TYPE_CHECKING:
    from .entity import Entity, Timer

M = DhcpMessageType

#: RFC 8415 §7.6 transmission and retransmission parameters (seconds; MRC counts).
SOL_MAX_DELAY = 1.0
SOL_TIMEOUT = 1.0
SOL_MAX_RT = 3600.0
REQ_TIMEOUT = 1.0
REQ_MAX_RT = 30.0
REQ_MAX_RC = 10
REN_TIMEOUT = 10.0
REN_MAX_RT = 600.0


class Dhcpv6Owner(Protocol):
    """What a :class:`Dhcpv6Client` tells the host that owns it."""

    def dhcp_bound(self, address: IPv6Address, valid_lifetime: int) -> None:
        """The server assigned ``address`` (a Reply to Request, or a Renew that changed it)."""

    def dhcp_lost(self, address: IPv6Address) -> None:
        """The lease of ``address`` ran out without a renewal."""


# -- the client ------------------------------------------------------------------------------


@dataclass
class _Exchange:
    """One message being (re)transmitted: RFC 8415 §15."""

    msg_type: int
    transaction_id: int
    started: float
    irt: float
    mrt: float
    mrc: int | None
    attempts: int = 0
    rt: float = 0.0


class Dhcpv6Client:
    """The DHCPv6 client of one interface of ``node`` (module docstring).

    ``node`` is the host entity (it acts, emits, schedules, has ``rng``, ``now``,
    ``interface``, ``link_local`` and ``config.link_layer_address``); ``owner`` gets the
    results (by default the node itself).
    """

    #: One per mobile node, thousands in a city: slots, not an instance dictionary.
    __slots__ = (
        "_exchange", "_lease_timer", "_offer", "_renew_timer", "_timer", "address", "duid",
        "iaid", "node", "owner", "server", "solicit_delay", "state")

    def __init__(self, node: Entity, owner: Dhcpv6Owner, *, mac: bytes, iaid: int = 1,
                 solicit_delay: float = 0.0) -> None:
        self.node = node
        self.owner = owner
        self.duid = duid_ll(mac)
        self.iaid = iaid
        self.solicit_delay = solicit_delay
        #: ``idle``, ``soliciting``, ``requesting``, ``bound``, ``renewing``.
        self.state = "idle"
        self.address: IPv6Address | None = None
        self.server: bytes | None = None
        self._exchange: _Exchange | None = None
        self._timer: Timer | None = None
        self._lease_timer: Timer | None = None
        self._renew_timer: Timer | None = None
        #: The best Advertise heard during the first RT: (preference, server DUID, address).
        self._offer: tuple[int, bytes, IPv6Address] | None = None

    # -- commands -----------------------------------------------------------------------

    def start(self) -> None:
        """Obtain an address (nothing to do while an exchange runs or a lease is held)."""
        if self.state != "idle":
            return
        self.state = "soliciting"
        self._offer = None
        if self.solicit_delay > 0:
            delay = self.node.rng.uniform(0.0, self.solicit_delay)
            self._timer = self.node.schedule(delay, lambda now: self._begin(M.SOLICIT))
        else:
            self._begin(M.SOLICIT)

    def stop(self) -> None:
        """Forget everything (a new link: the next :meth:`start` solicits again)."""
        for name in ("_timer", "_lease_timer", "_renew_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        self.state, self.address, self.server, self._exchange = "idle", None, None, None

    # -- sending -------------------------------------------------------------------------

    def _begin(self, msg_type: int) -> None:
        timing: dict[int, tuple[float, float, int | None]] = {
            M.SOLICIT: (SOL_TIMEOUT, SOL_MAX_RT, None),
            M.REQUEST: (REQ_TIMEOUT, REQ_MAX_RT, REQ_MAX_RC),
            M.RENEW: (REN_TIMEOUT, REN_MAX_RT, None),
        }
        irt, mrt, mrc = timing[msg_type]
        self._exchange = _Exchange(msg_type=msg_type,
                                   transaction_id=self.node.rng.getrandbits(24),
                                   started=self.node.now, irt=irt, mrt=mrt, mrc=mrc)
        self._transmit()

    def _transmit(self) -> None:
        node, exchange = self.node, self._exchange
        assert exchange is not None
        if exchange.mrc is not None and exchange.attempts >= exchange.mrc:
            self._failed("no_reply")
            return
        exchange.attempts += 1
        # §15: RT = IRT + RAND*IRT, then 2*RTprev + RAND*RTprev (capped at MRT + RAND*MRT);
        # the first Solicit's RAND is strictly positive (§18.2.1).
        rand = node.rng.uniform(-0.1, 0.1)
        if exchange.msg_type == M.SOLICIT and exchange.attempts == 1:
            rand = node.rng.uniform(0.0001, 0.1)
        exchange.rt = (exchange.irt + rand * exchange.irt if exchange.attempts == 1
                       else 2 * exchange.rt + rand * exchange.rt)
        if exchange.rt > exchange.mrt:
            exchange.rt = exchange.mrt + rand * exchange.mrt
        options: list[DhcpOption] = [ClientIdentifier(duid=self.duid)]
        if exchange.msg_type != M.SOLICIT:
            assert self.server is not None
            options.append(ServerIdentifier(duid=self.server))
        ia_options: tuple[DhcpOption, ...] = ()
        if exchange.msg_type != M.SOLICIT and self.address is not None:
            ia_options = (IAAddress(address=self.address, preferred_lifetime=0,
                                    valid_lifetime=0),)
        options.append(IANA(iaid=self.iaid, options=ia_options))
        options.append(ElapsedTime(seconds=node.now - exchange.started))
        message = Dhcpv6Message(msg_type=exchange.msg_type,
                                transaction_id=exchange.transaction_id, options=tuple(options))
        node.act(Transmit(packet=IPv6Packet(
            src=node.link_local, dst=ALL_DHCP_RELAY_AGENTS_AND_SERVERS,  # type: ignore[attr-defined]
            payload=UDPDatagram(src_port=CLIENT_PORT, dst_port=SERVER_PORT,
                                data=encode_dhcpv6(message))),
            interface=node.interface))  # type: ignore[attr-defined]
        name: dict[int, str] = {M.SOLICIT: "dhcp.solicit", M.REQUEST: "dhcp.request",
                                M.RENEW: "dhcp.renew"}
        node.emit(name[exchange.msg_type], transaction=exchange.transaction_id,
                  attempt=exchange.attempts, address=self.address)
        self._timer = node.schedule(exchange.rt, lambda now: self._timeout())

    def _timeout(self) -> None:
        self._timer = None
        exchange = self._exchange
        if exchange is None:
            return
        if exchange.msg_type == M.SOLICIT and self._offer is not None:
            self._request_best()  # §18.2.1: the first RT is over, take the best Advertise
            return
        self._transmit()

    def _failed(self, reason: str) -> None:
        self.node.emit("dhcp.failed", reason=reason)
        self.node.counters[f"dhcp.failed.{reason}"] += 1
        address = self.address if self.state in ("bound", "renewing") else None
        self.stop()
        if address is not None:
            self.owner.dhcp_lost(address)
        self.start()  # §18.2.10: start over with a Solicit

    # -- receiving -----------------------------------------------------------------------

    def handle(self, packet: IPv6Packet) -> bool:
        """Take a datagram for the client port; True if it was one."""
        udp = packet.payload
        if not isinstance(udp, UDPDatagram) or udp.dst_port != CLIENT_PORT:
            return False
        node = self.node
        try:
            message = decode_dhcpv6(udp.data)
        except MalformedPacket:
            node.counters["drop.dhcp_malformed"] += 1
            return True
        exchange = self._exchange
        client = message.option(ClientIdentifier)
        server = message.option(ServerIdentifier)
        # §16: a reply must name this client and a server, and answer the transaction.
        if (exchange is None or message.transaction_id != exchange.transaction_id
                or client is None or client.duid != self.duid or server is None):
            node.counters["drop.dhcp_unexpected"] += 1
            return True
        if message.msg_type == M.ADVERTISE and exchange.msg_type == M.SOLICIT:
            self._advertise(message, server.duid)
        elif message.msg_type == M.REPLY and exchange.msg_type in (M.REQUEST, M.RENEW):
            self._reply(message, server.duid)
        else:
            node.counters["drop.dhcp_unexpected"] += 1
        return True

    def _ia(self, message: Dhcpv6Message) -> tuple[IANA | None, IAAddress | None, int]:
        """Our IA_NA in ``message``, its first usable address and its status code."""
        ia = next((o for o in message.options if isinstance(o, IANA) and o.iaid == self.iaid),
                  None)
        top = message.option(StatusCode)
        status = top.code if top is not None else DhcpStatus.SUCCESS
        if ia is not None and ia.status is not None:
            status = ia.status.code
        address = next((a for a in ia.addresses if a.valid_lifetime > 0), None) if ia else None
        return ia, address, status

    def _advertise(self, message: Dhcpv6Message, server: bytes) -> None:
        _ia, address, status = self._ia(message)
        if address is None or status != DhcpStatus.SUCCESS:
            # §18.2.9: an Advertise without addresses is not one to request from.
            self.node.counters["drop.dhcp_advertise_no_address"] += 1
            return
        preference = message.option(Preference)
        value = preference.value if preference is not None else 0
        self.node.counters["dhcp.advertise"] += 1
        if self._offer is not None and value <= self._offer[0]:
            return  # not better than the offer held: no event, nothing kept
        # §18.2.9: the client requests from the highest preference, the first heard among
        # equals; only that offer is kept, so a flood of Advertises holds one entry.
        self.node.emit("dhcp.advertise", server=server, address=address.address,
                       preference=value)
        self._offer = (value, server, address.address)
        if value == 255:
            self._request_best()  # §18.2.1: no need to wait for others

    def _request_best(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        assert self._offer is not None
        _value, server, address = self._offer
        self._offer = None
        self.server, self.address, self.state = server, address, "requesting"
        self._begin(M.REQUEST)

    def _reply(self, message: Dhcpv6Message, server: bytes) -> None:
        node = self.node
        if server != self.server:
            node.counters["drop.dhcp_other_server"] += 1
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ia, address, status = self._ia(message)
        if ia is None or address is None or status != DhcpStatus.SUCCESS:
            self._failed(f"status_{status}")
            return
        renewal = self.state == "renewing"
        self._exchange = None
        changed = address.address != self.address or not renewal
        self.address, self.state = address.address, "bound"
        preferred, valid = address.preferred_lifetime, address.valid_lifetime
        # §21.4: T1/T2 of 0 leave the times to the client: 0.5 and 0.8 x preferred lifetime.
        t1 = ia.t1 if ia.t1 else preferred // 2
        t2 = ia.t2 if ia.t2 else preferred * 4 // 5
        node.emit("dhcp.renewed" if renewal else "dhcp.bound", address=self.address,
                  preferred=preferred, valid=valid, t1=t1, t2=t2)
        for name in ("_lease_timer", "_renew_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
        if valid != INFINITY:
            self._lease_timer = node.schedule(float(valid), lambda now: self._expired())
        if t1 not in (0, INFINITY):
            self._renew_timer = node.schedule(float(t1), lambda now: self._renew())
        if changed:
            self.owner.dhcp_bound(self.address, valid)

    def _renew(self) -> None:
        self._renew_timer = None
        if self.state == "bound":
            self.state = "renewing"
            self._begin(M.RENEW)

    def _expired(self) -> None:
        self._lease_timer = None
        address = self.address
        self.node.emit("dhcp.lost", address=address)
        self.stop()
        if address is not None:
            self.owner.dhcp_lost(address)


# -- the server ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Dhcpv6ServerConfig:
    """A DHCPv6 server on one link (RFC 8415 §18.3).

    ``pool_start`` and ``pool_size``: the addresses it assigns, consecutive from the first.
    ``preferred_lifetime``/``valid_lifetime``: of every address; ``t1``/``t2``: the IA_NA's
    renewal times (0: the client chooses, §21.4). ``preference`` (§21.8; 255: "take me at
    once"). ``offer_hold``: how long an address offered in an Advertise is kept for that
    client [choice]. ``duid``: the server's DUID (default: a DUID-LL of the router's MAC).
    ``reservations``: (client DUID, address) pairs: that client always gets that address
    (a host reservation; the address need not be in the pool).
    """

    pool_start: IPv6Address
    pool_size: int = 256
    preferred_lifetime: int = 3600
    valid_lifetime: int = 7200
    t1: int = 0
    t2: int = 0
    preference: int = 255
    offer_hold: float = 10.0
    duid: bytes | None = None
    reservations: tuple[tuple[bytes, IPv6Address], ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.pool_size <= 1 << 16:
            raise ValueError("pool_size must be 1..65536")
        if not 0 < self.preferred_lifetime <= self.valid_lifetime <= INFINITY:
            raise ValueError("need 0 < preferred_lifetime <= valid_lifetime")
        if not 0 <= self.preference <= 255 or self.offer_hold <= 0:
            raise ValueError("preference must be 0..255 and offer_hold positive")

    def pool(self) -> range:
        """The pool as integers."""
        start = int(self.pool_start)
        if start + self.pool_size - 1 > (1 << 128) - 1:
            raise ValueError("the pool runs past the end of the address space")
        return range(start, start + self.pool_size)


@dataclass
class Lease:
    """One binding of the server: an address for a (DUID, IAID), committed or offered."""

    address: IPv6Address
    client: tuple[bytes, int]
    expires: float
    committed: bool = False


#: Superseded expiry entries a server keeps beyond twice its leases before rebuilding the heap.
_SPARE_EXPIRIES = 64


class Dhcpv6Server:
    """The DHCPv6 server of a router (module docstring).

    Allocation is O(log n) per message: never-used addresses come from a cursor over the
    pool, freed ones from a queue, and expired leases are reclaimed from a heap of expiry
    times (an entry whose lease has been extended or removed since is skipped).
    """

    def __init__(self, router: Entity, config: Dhcpv6ServerConfig, *, interface: str,
                 source: IPv6Address, mac: bytes,
                 on_lease: Callable[[IPv6Address], None] | None = None) -> None:
        self.router = router
        #: Told of every address committed to a client here (the client is on this link).
        self.on_lease = on_lease
        self.config = config
        self.interface = interface
        self.source = source
        self.mac = mac
        self.by_client: dict[tuple[bytes, int], Lease] = {}
        self.by_address: dict[IPv6Address, Lease] = {}
        pool = config.pool()
        self._cursor, self._end = pool.start, pool.stop
        self._returned: deque[IPv6Address] = deque()
        self._expiries: list[tuple[float, int, Lease]] = []
        self._order = itertools.count()
        self._reserved: dict[bytes, IPv6Address] = dict(config.reservations)
        self._reserved_addresses = frozenset(self._reserved.values())

    @property
    def duid(self) -> bytes:
        """The server's DUID."""
        return self.config.duid or duid_ll(self.mac)

    def handle(self, packet: IPv6Packet) -> bool:
        """Take a datagram for the server port; True if it was one."""
        udp = packet.payload
        if not isinstance(udp, UDPDatagram) or udp.dst_port != SERVER_PORT:
            return False
        router = self.router
        try:
            message = decode_dhcpv6(udp.data)
        except MalformedPacket:
            router.counters["drop.dhcp_malformed"] += 1
            return True
        client = message.option(ClientIdentifier)
        server = message.option(ServerIdentifier)
        handlers: dict[int, Callable[[Dhcpv6Message, bytes], Dhcpv6Message | None]] = {
            M.SOLICIT: self._solicit, M.REQUEST: self._request, M.RENEW: self._request,
            M.RELEASE: self._release,
        }
        handler = handlers.get(message.msg_type)
        # §16.2-16.5, §16.11: Solicit without a Server Identifier, the others naming us, and
        # all with a Client Identifier.
        wrong_server = (server is not None) if message.msg_type == M.SOLICIT else (
            server is None or server.duid != self.duid)
        if handler is None or client is None or wrong_server:
            router.counters["drop.dhcp_not_for_us"] += 1
            return True
        answer = handler(message, client.duid)
        if answer is not None:
            router.act(Transmit(packet=IPv6Packet(
                src=self.source, dst=packet.src,
                payload=UDPDatagram(src_port=SERVER_PORT, dst_port=CLIENT_PORT,
                                    data=encode_dhcpv6(answer))), interface=self.interface))
        return True

    # -- the pool --------------------------------------------------------------------------

    def _hold(self, lease: Lease, until: float) -> None:
        lease.expires = until
        expiries = self._expiries
        heapq.heappush(expiries, (until, next(self._order), lease))
        if len(expiries) > 2 * len(self.by_address) + _SPARE_EXPIRIES:
            # Each Request or Renew of a held lease pushes its new expiry and leaves the old
            # entry until its time (a client renewing in a loop would grow the heap without
            # bound): rebuilt from the live leases, one entry each, after as many pushes as
            # it holds, so O(1) amortised per message.
            self._expiries = [(held.expires, next(self._order), held)
                              for held in self.by_address.values()]
            heapq.heapify(self._expiries)
            self.router.counters["dhcp.expiries_compacted"] += 1

    @property
    def pending_expiries(self) -> int:
        """Entries in the expiry heap, superseded ones not yet dropped included (at most
        twice the leases, plus a few)."""
        return len(self._expiries)

    def _reclaim(self) -> None:
        """Free the leases whose time is over (each heap entry once)."""
        now = self.router.now
        while self._expiries and self._expiries[0][0] <= now:
            until, _order, lease = heapq.heappop(self._expiries)
            if lease.expires == until and self.by_address.get(lease.address) is lease:
                self._forget(lease)

    def _lease_for(self, key: tuple[bytes, int]) -> Lease | None:
        """The client's live lease, or a free address held for it (None: the pool is used
        up)."""
        self._reclaim()
        lease = self.by_client.get(key)
        if lease is not None:
            return lease
        reserved = self._reserved.get(key[0])
        if reserved is not None:
            if reserved in self.by_address:
                return None  # held by another client (a reservation never moves)
            address: IPv6Address | None = reserved
        else:
            address = self._free_address()
        if address is None:
            return None
        lease = Lease(address=address, client=key, expires=0.0)
        self.by_client[key] = lease
        self.by_address[address] = lease
        self._hold(lease, self.router.now + self.config.offer_hold)
        return lease

    def _free_address(self) -> IPv6Address | None:
        """A pool address nobody holds and nobody has reserved, or None."""
        while self._returned:
            address = self._returned.popleft()
            if address not in self.by_address:
                return address
        while self._cursor < self._end:
            address = IPv6Address(self._cursor)
            self._cursor += 1
            if address not in self._reserved_addresses and address not in self.by_address:
                return address
        return None

    def _forget(self, lease: Lease) -> None:
        if self.by_client.get(lease.client) is lease:
            del self.by_client[lease.client]
        if self.by_address.get(lease.address) is lease:
            del self.by_address[lease.address]
            if lease.address not in self._reserved_addresses:
                self._returned.append(lease.address)

    def _answer(self, msg_type: int, request: Dhcpv6Message, client: bytes,
                ia_options: tuple[DhcpOption, ...], iaid: int) -> Dhcpv6Message:
        cfg = self.config
        options: list[DhcpOption] = [ServerIdentifier(duid=self.duid),
                                     ClientIdentifier(duid=client),
                                     IANA(iaid=iaid, t1=cfg.t1, t2=cfg.t2, options=ia_options)]
        if msg_type == M.ADVERTISE:
            options.append(Preference(value=cfg.preference))
        return Dhcpv6Message(msg_type=msg_type, transaction_id=request.transaction_id,
                             options=tuple(options))

    def _iaid(self, message: Dhcpv6Message) -> int:
        ia = message.option(IANA)
        return 0 if ia is None else ia.iaid

    def _solicit(self, message: Dhcpv6Message, client: bytes) -> Dhcpv6Message | None:
        iaid = self._iaid(message)
        lease = self._lease_for((client, iaid))
        if lease is None:
            return self._refuse(M.ADVERTISE, message, client, iaid, DhcpStatus.NO_ADDRS_AVAIL)
        self.router.emit("dhcp.offered", address=lease.address, client=client)
        return self._answer(M.ADVERTISE, message, client, (self._ia_address(lease.address),),
                            iaid)

    def _request(self, message: Dhcpv6Message, client: bytes) -> Dhcpv6Message | None:
        iaid = self._iaid(message)
        key = (client, iaid)
        renewal = message.msg_type == M.RENEW
        self._reclaim()
        existing = self.by_client.get(key)
        if renewal and (existing is None or not existing.committed):
            return self._refuse(M.REPLY, message, client, iaid, DhcpStatus.NO_BINDING)
        lease = self._lease_for(key)
        if lease is None:
            return self._refuse(M.REPLY, message, client, iaid, DhcpStatus.NO_ADDRS_AVAIL)
        lease.committed = True
        self._hold(lease, self.router.now + self.config.valid_lifetime)
        self.router.counters["dhcp.leased"] += 1
        self.router.emit("dhcp.leased", address=lease.address, client=client, renewal=renewal)
        if self.on_lease is not None and not renewal:
            self.on_lease(lease.address)
        return self._answer(M.REPLY, message, client, (self._ia_address(lease.address),), iaid)

    def _release(self, message: Dhcpv6Message, client: bytes) -> Dhcpv6Message | None:
        iaid = self._iaid(message)
        lease = self.by_client.get((client, iaid))
        if lease is not None:
            self._forget(lease)
            self.router.emit("dhcp.released", address=lease.address)
        return self._answer(M.REPLY, message, client, (StatusCode(code=DhcpStatus.SUCCESS),),
                            iaid)

    def _refuse(self, msg_type: int, message: Dhcpv6Message, client: bytes, iaid: int,
                status: int) -> Dhcpv6Message:
        self.router.counters[f"dhcp.status.{status}"] += 1
        self.router.emit("dhcp.refused", status=status, client=client)
        return self._answer(msg_type, message, client, (StatusCode(code=status),), iaid)

    def _ia_address(self, address: IPv6Address) -> IAAddress:
        return IAAddress(address=address, preferred_lifetime=self.config.preferred_lifetime,
                         valid_lifetime=self.config.valid_lifetime)
