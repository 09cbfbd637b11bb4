"""The DHCPv6 server (RFC 8415 §18.3) on a bare router entity, message by message: a Request
it cannot serve, a Release, and whom it tells of a new lease."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.dhcpv6 import Dhcpv6Server, Dhcpv6ServerConfig
from mipshop.protocol.base.entity import Entity
from mipshop.wire.dhcpv6 import (
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    CLIENT_PORT,
    IANA,
    SERVER_PORT,
    ClientIdentifier,
    DhcpMessageType,
    DhcpStatus,
    Dhcpv6Message,
    ServerIdentifier,
    decode_dhcpv6,
    duid_ll,
    encode_dhcpv6,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram

M = DhcpMessageType
POOL = IPv6Address("2001:db8:40::1:0")
CLIENT_1 = duid_ll(bytes.fromhex("020000000001"))
CLIENT_2 = duid_ll(bytes.fromhex("020000000002"))


class Router(Entity):
    """A router holding one DHCPv6 server with a pool of ``pool_size`` addresses."""

    def __init__(self, pool_size: int = 1) -> None:
        super().__init__("ar", random.Random(1))
        self.leased: list[IPv6Address] = []
        self.server = Dhcpv6Server(
            self, Dhcpv6ServerConfig(pool_start=POOL, pool_size=pool_size), interface="eth0",
            source=IPv6Address("fe80::1"), mac=bytes.fromhex("00005e000140"),
            on_lease=self.leased.append)

    def ask(self, msg_type: int, client: bytes, *, to_us: bool = True) -> Dhcpv6Message | None:
        """Send one client message; the server's answer, if any."""
        options: list = [ClientIdentifier(duid=client), IANA(iaid=1)]
        if msg_type != M.SOLICIT and to_us:
            options.append(ServerIdentifier(duid=self.server.duid))
        message = Dhcpv6Message(msg_type=msg_type, transaction_id=7, options=tuple(options))
        self.server.handle(IPv6Packet(
            src=IPv6Address("fe80::2"), dst=ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            payload=UDPDatagram(src_port=CLIENT_PORT, dst_port=SERVER_PORT,
                                data=encode_dhcpv6(message))))
        answers = [decode_dhcpv6(a.packet.payload.data) for a in self.pull_actions()
                   if isinstance(a, Transmit)]
        assert len(answers) <= 1
        return answers[0] if answers else None


def _ia(answer: Dhcpv6Message | None) -> IANA:
    assert answer is not None and answer.msg_type == M.REPLY
    ia = answer.option(IANA)
    assert ia is not None and ia.iaid == 1
    return ia


def test_a_request_with_the_pool_used_up_gets_no_addrs_avail():
    # §18.3.2: a Request the server cannot assign an address for is answered with a Reply
    # whose IA carries NoAddrsAvail, to that client, in its transaction.
    router = Router(pool_size=1)
    assert _ia(router.ask(M.REQUEST, CLIENT_1)).addresses[0].address == POOL
    answer = router.ask(M.REQUEST, CLIENT_2)
    ia = _ia(answer)
    assert ia.addresses == () and ia.status is not None
    assert ia.status.code == DhcpStatus.NO_ADDRS_AVAIL
    assert answer.transaction_id == 7 and answer.option(ClientIdentifier).duid == CLIENT_2
    assert answer.option(ServerIdentifier).duid == router.server.duid
    assert router.leased == [POOL]  # only the lease actually made is reported


def test_a_release_frees_the_address_for_another_client():
    # §18.3.7: the server frees the released address and answers Success.
    router = Router(pool_size=1)
    _ia(router.ask(M.REQUEST, CLIENT_1))
    ia = _ia(router.ask(M.RELEASE, CLIENT_1))
    assert ia.status is not None and ia.status.code == DhcpStatus.SUCCESS
    assert POOL not in router.server.by_address
    assert _ia(router.ask(M.REQUEST, CLIENT_2)).addresses[0].address == POOL
    assert router.leased == [POOL, POOL]


def test_a_release_for_another_server_frees_nothing():
    router = Router(pool_size=1)
    _ia(router.ask(M.REQUEST, CLIENT_1))
    assert router.ask(M.RELEASE, CLIENT_1, to_us=False) is None  # §16.11
    assert router.server.by_address[POOL].client == (CLIENT_1, 1)


def test_a_renewal_is_not_reported_as_a_new_lease():
    # The router is told of a client arriving (on_lease: the FMIPv6 PAR and NAR stop
    # forwarding or serving that address, RFC 5568 §5.6), not of each Renew.
    router = Router(pool_size=2)
    _ia(router.ask(M.REQUEST, CLIENT_1))
    _ia(router.ask(M.RENEW, CLIENT_1))
    assert router.leased == [POOL]


def test_a_client_renewing_in_a_loop_keeps_the_expiry_heap_bounded():
    # Each Renew extends the lease and pushes its new expiry; the old entries are dropped by
    # rebuilding the heap from the live leases (O(1) amortised), so 10,000 Renews from one
    # client leave at most twice the leases plus 64 entries, and the lease still expires
    # exactly valid_lifetime after the last one (§18.3.4).
    router = Router(pool_size=1)
    server = router.server
    assert _ia(router.ask(M.REQUEST, CLIENT_1)).addresses[0].address == POOL
    for k in range(10_000):
        router.now = k * 0.1
        assert _ia(router.ask(M.RENEW, CLIENT_1)).addresses[0].address == POOL
        assert server.pending_expiries <= 2 * 1 + 64 + 1
    last = router.now
    assert router.counters["dhcp.expiries_compacted"] > 100
    valid = server.config.valid_lifetime
    router.now = last + valid - 0.001  # still the client's: another gets NoAddrsAvail
    assert _ia(router.ask(M.REQUEST, CLIENT_2)).status.code == DhcpStatus.NO_ADDRS_AVAIL
    router.now = last + valid  # expired: the address is free again
    assert _ia(router.ask(M.REQUEST, CLIENT_2)).addresses[0].address == POOL
