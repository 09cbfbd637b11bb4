"""The DHCPv6 client (RFC 8415) driven message by message on a bare host entity: which
Advertises and Replies it takes, and how long it keeps the address it was given.

The server side is a table of crafted messages here, so that each RFC 8415 rule is met by
exactly the case it is about (the full exchange with mipshop's server is in test_dhcpv6.py).
"""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.actions import Transmit
from mipshop.protocol.base.dhcpv6 import Dhcpv6Client
from mipshop.protocol.base.entity import Entity
from mipshop.wire.dhcpv6 import (
    CLIENT_PORT,
    IANA,
    SERVER_PORT,
    ClientIdentifier,
    DhcpMessageType,
    DhcpStatus,
    Dhcpv6Message,
    IAAddress,
    Preference,
    ServerIdentifier,
    StatusCode,
    decode_dhcpv6,
)
from mipshop.wire.dhcpv6 import encode_dhcpv6 as encode
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram

M = DhcpMessageType
MAC = bytes.fromhex("020000000001")
SERVER_A, SERVER_B = b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\xaa", b"\x00\x03\x00\x01\xbb"
ADDRESS_A, ADDRESS_B = IPv6Address("2001:db8:40::1:1"), IPv6Address("2001:db8:40::1:2")


class Host(Entity):
    """The smallest owner of a DHCPv6 client: it records what the client tells it."""

    def __init__(self) -> None:
        super().__init__("host", random.Random(3))
        self.interface = "wlan0"
        self.link_local = IPv6Address("fe80::1")
        self.bound: list[tuple[IPv6Address, int]] = []
        self.lost: list[IPv6Address] = []
        self.client = Dhcpv6Client(self, self, mac=MAC)

    def dhcp_bound(self, address: IPv6Address, valid_lifetime: int) -> None:
        self.bound.append((address, valid_lifetime))

    def dhcp_lost(self, address: IPv6Address) -> None:
        self.lost.append(address)

    def sent(self) -> list[Dhcpv6Message]:
        """The DHCPv6 messages the client transmitted since the last call."""
        return [decode_dhcpv6(a.packet.payload.data) for a in self.pull_actions()
                if isinstance(a, Transmit)]

    def until(self, when: float) -> None:
        """Fire the timers due up to ``when``."""
        while (deadline := self.next_deadline()) is not None and deadline <= when:
            self.handle_timer(deadline)
        self.now = when

    def answer(self, msg_type: int, *, server: bytes = SERVER_A,
               address: IPv6Address | None = ADDRESS_A, ia_status: int | None = None,
               preference: int | None = 255, valid: int = 120, t1: int = 30,
               transaction: int | None = None) -> None:
        """A server's Advertise or Reply to the client's current transaction."""
        exchange = self.client._exchange
        ia_options: list = []
        if address is not None:
            ia_options.append(IAAddress(address=address, preferred_lifetime=60,
                                        valid_lifetime=valid))
        if ia_status is not None:
            ia_options.append(StatusCode(code=ia_status))
        options: list = [ServerIdentifier(duid=server), ClientIdentifier(duid=self.client.duid),
                         IANA(iaid=self.client.iaid, t1=t1, t2=t1 * 2,
                              options=tuple(ia_options))]
        if preference is not None:
            options.append(Preference(value=preference))
        xid = transaction if transaction is not None else (
            exchange.transaction_id if exchange is not None else 1)
        message = Dhcpv6Message(msg_type=msg_type, transaction_id=xid, options=tuple(options))
        self.client.handle(IPv6Packet(
            src=IPv6Address("fe80::99"), dst=self.link_local,
            payload=UDPDatagram(src_port=SERVER_PORT, dst_port=CLIENT_PORT,
                                data=encode(message))))


def bound_host(*, valid: int = 120, t1: int = 30) -> Host:
    host = Host()
    host.client.start()
    host.answer(M.ADVERTISE)
    host.answer(M.REPLY, valid=valid, t1=t1)
    assert host.client.state == "bound" and host.bound == [(ADDRESS_A, valid)]
    host.sent()
    return host


@pytest.mark.parametrize(("case", "address", "ia_status"), [
    ("an address, success", ADDRESS_A, None),
    ("an address but NoAddrsAvail", ADDRESS_A, DhcpStatus.NO_ADDRS_AVAIL),
    ("no address", None, None),
])
def test_an_advertise_is_requested_from_only_with_an_address_and_success(
        case, address, ia_status):
    # RFC 8415 §18.2.9: an Advertise whose IA carries no address, or a status other than
    # Success, is not one to request an address from.
    host = Host()
    host.client.start()
    host.sent()
    host.answer(M.ADVERTISE, address=address, ia_status=ia_status)
    requests = [m for m in host.sent() if m.msg_type == M.REQUEST]
    if case == "an address, success":
        assert len(requests) == 1 and host.client.state == "requesting"
    else:
        assert requests == [] and host.client.state == "soliciting"
        assert host.counters["drop.dhcp_advertise_no_address"] == 1


def test_without_a_preference_option_an_advertise_counts_as_preference_0():
    # §18.2.9: a missing Preference option is preference 0; after the first RT the client
    # requests from the highest preference, here the server that said 1.
    host = Host()
    host.client.start()
    host.answer(M.ADVERTISE, server=SERVER_A, address=ADDRESS_A, preference=None)
    host.answer(M.ADVERTISE, server=SERVER_B, address=ADDRESS_B, preference=1)
    host.sent()
    host.until(2.0)  # SOL_TIMEOUT is 1 s (+10 % at most)
    [request] = [m for m in host.sent() if m.msg_type == M.REQUEST]
    assert request.option(ServerIdentifier).duid == SERVER_B


@pytest.mark.parametrize(("case", "address", "ia_status"), [
    ("an address but NoAddrsAvail", ADDRESS_A, DhcpStatus.NO_ADDRS_AVAIL),
    ("success without an address", None, None),
])
def test_a_reply_without_a_usable_address_binds_nothing(case, address, ia_status):
    # §18.2.10.1: a Reply whose IA has a failure status, or no address, gives no address: the
    # client starts over with a Solicit.
    host = Host()
    host.client.start()
    host.answer(M.ADVERTISE)
    host.sent()
    host.answer(M.REPLY, address=address, ia_status=ia_status)
    assert host.bound == [] and host.client.state == "soliciting"
    assert [m.msg_type for m in host.sent()] == [M.SOLICIT]


def test_a_second_reply_to_a_finished_exchange_is_dropped():
    host = bound_host()
    host.answer(M.REPLY, transaction=1)
    host.answer(M.REPLY, address=ADDRESS_B)
    assert host.counters["drop.dhcp_unexpected"] == 2
    assert host.client.address == ADDRESS_A and host.bound == [(ADDRESS_A, 120)]
    assert host.sent() == []  # the Request is not retransmitted either


def test_the_address_is_lost_when_its_valid_lifetime_ends_unrenewed():
    # RFC 8415 §18.2.10.1 / RFC 4862 §5.5.4: an address is not used past its valid lifetime;
    # here no server answers the Renew at T1 = 30 s, so the lease ends at 120 s.
    host = bound_host(valid=120, t1=30)
    host.until(119.0)
    assert host.lost == [] and host.client.state == "renewing"
    host.until(121.0)
    assert host.lost == [ADDRESS_A] and host.client.address is None


def test_a_renewed_lease_is_not_lost_at_the_old_valid_lifetime():
    host = bound_host(valid=120, t1=30)
    host.until(31.0)
    [renew] = host.sent()
    assert renew.msg_type == M.RENEW
    host.answer(M.REPLY, valid=120, t1=30)  # renewed at 31 s: valid until 151 s
    host.until(140.0)
    assert host.lost == [] and host.client.address == ADDRESS_A
    assert host.bound == [(ADDRESS_A, 120)]  # the same address: the owner is not told again
