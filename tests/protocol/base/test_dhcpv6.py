"""Stateful address configuration (RFC 8415): the mobile node's DHCPv6 client and a router's
DHCPv6 server on the harness, on a link whose Router Advertisements set M and clear A."""

from __future__ import annotations

import random
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.access_router import AccessRouter
from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.base.dhcpv6 import Dhcpv6ServerConfig
from mipshop.wire.dhcpv6 import (
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    CLIENT_PORT,
    IANA,
    SERVER_PORT,
    ClientIdentifier,
    DhcpMessageType,
    Dhcpv6Message,
    ElapsedTime,
    IAAddress,
    ServerIdentifier,
    decode_dhcpv6,
    duid_ll,
    encode_dhcpv6,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from tests.protocol.scenario import HOME_ADDRESS, build

M = DhcpMessageType
PREFIX = IPv6Network("2001:db8:40::/64")
POOL = IPv6Address("2001:db8:40::1:0")
MAC = bytes.fromhex("020000000001")


def managed(*, pool_size=4, **server):
    scn = build()
    scn.net.add_link("managed", 0.002)
    scn.net.add_route(PREFIX, "managed")
    options = {"pool_start": POOL, "pool_size": pool_size, "preferred_lifetime": 60,
               "valid_lifetime": 120}
    options.update(server)
    router = AccessRouter("ar-managed", random.Random(7), RouterConfig(
        interface="eth0", address=IPv6Address("2001:db8:40::1"), prefix=PREFIX,
        link_layer_address=bytes.fromhex("00005e000140"), managed=True, autonomous=False),
        dhcp=Dhcpv6ServerConfig(**options))
    scn.net.add_node(router, {"eth0": "managed"})
    scn.net.start(router)
    scn.routers["managed"] = router
    return scn


def dhcp(scn, sender=None):
    """(time, sender, message) of every DHCPv6 message on the wire."""
    out = []
    for record, packet in scn.net.packets(UDPDatagram):
        if packet.payload.dst_port in (CLIENT_PORT, SERVER_PORT) and (
                sender is None or record.sender == sender):
            out.append((record.time, record.sender, decode_dhcpv6(packet.payload.data)))
    return out


def test_a_managed_link_gives_the_care_of_address_by_solicit_advertise_request_reply():
    scn = managed()
    scn.move("managed", at=1.0)
    scn.run(6)
    exchange = dhcp(scn)
    assert [m.msg_type for _t, _s, m in exchange] == [M.SOLICIT, M.ADVERTISE, M.REQUEST,
                                                      M.REPLY]
    assert [s for _t, s, _m in exchange] == ["mn", "ar-managed", "mn", "ar-managed"]
    solicit, advertise, request, reply = (m for _t, _s, m in exchange)
    assert solicit.option(ClientIdentifier).duid == duid_ll(MAC)
    assert advertise.transaction_id == solicit.transaction_id
    assert request.transaction_id == reply.transaction_id != solicit.transaction_id
    assert request.option(ServerIdentifier) == advertise.option(ServerIdentifier)
    assert reply.option(IANA).addresses[0].address == POOL
    # The Solicit went from the link-local address to All_DHCP_Relay_Agents_and_Servers.
    [(_r, first)] = [(r, p) for r, p in scn.net.packets(UDPDatagram, sender="mn")][:1]
    assert first.src.is_link_local and first.dst == ALL_DHCP_RELAY_AGENTS_AND_SERVERS
    # No stateless address: the DHCPv6 one is the care-of address, registered at home.
    assert scn.mn.care_of_address == POOL
    [bound] = scn.net.events_of("coa.dhcp", "mn")
    assert bound.fields["address"] == POOL
    assert scn.ha.cache.lookup(HOME_ADDRESS, 6).care_of_address == POOL
    assert [e.fields["address"] for e in scn.net.events_of("coa.configured", "mn")] == [POOL]


def test_the_lease_is_renewed_at_t1():
    scn = managed()
    scn.move("managed", at=1.0)
    scn.run(45)
    renewals = [(t, m) for t, s, m in dhcp(scn, "mn") if m.msg_type == M.RENEW]
    bound = scn.net.events_of("dhcp.bound", "mn")[0]
    assert renewals and renewals[0][0] == pytest.approx(bound.time + 30)  # T1 = 0.5 x 60 s
    assert scn.net.events_of("dhcp.renewed", "mn")
    assert scn.net.events_of("dhcp.leased", "ar-managed")[-1].fields["renewal"]
    assert scn.mn.care_of_address == POOL


def test_advertises_are_collected_for_the_first_rt_unless_preference_255():
    """RFC 8415 §18.2.1: with Preference 0 the client waits out the first RT (about 1 s)."""
    fast, slow = managed(), managed(preference=0)
    for scn in (fast, slow):
        scn.move("managed", at=1.0)
        scn.run(6)
    times = {}
    for name, scn in (("fast", fast), ("slow", slow)):
        sent = [t for t, s, m in dhcp(scn, "mn")]
        times[name] = sent[1] - sent[0]  # Solicit -> Request
    assert times["fast"] < 0.05 and 1.0 < times["slow"] <= 1.1


def test_a_flood_of_advertises_keeps_one_offer_and_the_first_best_wins():
    """§18.2.9: the client requests from the highest preference, the first heard among equals.
    1,000 Advertises in its transaction (an on-link host sees the Solicit) with the same
    preference as the router's, heard after it, are counted and dropped: the client holds
    one offer, not one each, and requests the router's address."""
    scn = managed(preference=0)
    scn.move("managed", at=1.0)
    scn.run(1.5)  # the Solicit is out, the router's Advertise in; the first RT runs to ~2 s
    client = scn.mn.dhcp
    exchange = client._exchange
    assert exchange is not None and exchange.msg_type == M.SOLICIT
    offer = client._offer  # the router's, the one offer held
    assert offer is not None and offer[2] == POOL
    for k in range(1000):
        rogue = duid_ll(bytes.fromhex(f"0200{k:08x}"))
        advertise = Dhcpv6Message(msg_type=M.ADVERTISE, transaction_id=exchange.transaction_id,
                                  options=(ServerIdentifier(duid=rogue),
                                           ClientIdentifier(duid=client.duid),
                                           IANA(iaid=client.iaid, options=(IAAddress(
                                               address=IPv6Address(f"2001:db8:66::{k + 1:x}"),
                                               preferred_lifetime=60, valid_lifetime=120),))))
        assert client.handle(IPv6Packet(
            src=IPv6Address(f"fe80::66:{k + 1:x}"), dst=IPv6Address("fe80::1"),
            payload=UDPDatagram(src_port=SERVER_PORT, dst_port=CLIENT_PORT,
                                data=encode_dhcpv6(advertise))))
        assert client._offer == offer
    assert scn.mn.counters["dhcp.advertise"] == 1001
    assert len(scn.net.events_of("dhcp.advertise", "mn")) == 1  # only the offer kept
    scn.run(6)
    assert client.state == "bound" and client.address == POOL
    assert scn.mn.care_of_address == POOL


def test_an_exhausted_pool_answers_no_addrs_avail_and_the_client_keeps_soliciting():
    scn = managed(pool_size=1)
    # Another client takes the only address first.
    other = Dhcpv6Message(msg_type=M.SOLICIT, transaction_id=1, options=(
        ClientIdentifier(duid=duid_ll(bytes.fromhex("02000000aaaa"))), IANA(iaid=1),
        ElapsedTime()))
    scn.net.inject(encode_packet(IPv6Packet(
        src=IPv6Address("fe80::aaaa"), dst=ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        payload=UDPDatagram(src_port=CLIENT_PORT, dst_port=SERVER_PORT,
                            data=encode_dhcpv6(other)))), "ar-managed", "eth0", at=0.5)
    scn.move("managed", at=1.0)
    scn.run(4)
    assert scn.net.events_of("dhcp.refused", "ar-managed")
    assert scn.routers["managed"].counters["dhcp.status.2"] >= 1
    assert scn.mn.care_of_address is None
    assert len([m for _t, _s, m in dhcp(scn, "mn") if m.msg_type == M.SOLICIT]) >= 2
    # The offer was only held (offer_hold, 10 s): then the node gets the address.
    scn.run(20)
    assert scn.mn.care_of_address == POOL


@pytest.mark.parametrize("case", ["solicit_with_server_id", "request_for_another_server",
                                  "no_client_id", "renew_without_binding"])
def test_the_server_discards_or_refuses_what_rfc_8415_says(case):
    scn = managed()
    scn.run(0.5)
    client = ClientIdentifier(duid=duid_ll(bytes.fromhex("02000000bbbb")))
    server = scn.routers["managed"].dhcp
    assert server is not None
    options = {
        "solicit_with_server_id": (M.SOLICIT, (client, ServerIdentifier(duid=server.duid))),
        "request_for_another_server": (M.REQUEST, (client, ServerIdentifier(duid=b"\x00\x01"))),
        "no_client_id": (M.SOLICIT, (IANA(iaid=1),)),
        "renew_without_binding": (M.RENEW, (client, ServerIdentifier(duid=server.duid),
                                            IANA(iaid=1))),
    }[case]
    message = Dhcpv6Message(msg_type=options[0], transaction_id=5, options=options[1])
    scn.net.inject(encode_packet(IPv6Packet(
        src=IPv6Address("fe80::bbbb"), dst=ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        payload=UDPDatagram(src_port=CLIENT_PORT, dst_port=SERVER_PORT,
                            data=encode_dhcpv6(message)))), "ar-managed", "eth0", at=0.6)
    scn.run(1)
    answers = dhcp(scn, "ar-managed")
    if case == "renew_without_binding":
        [(_t, _s, reply)] = answers
        assert reply.option(IANA).status.code == 3  # NoBinding (§18.3.4)
    else:
        assert answers == [] and server.router.counters["drop.dhcp_not_for_us"] == 1


def test_expired_leases_return_to_the_pool():
    scn = managed(pool_size=1, valid_lifetime=120, preferred_lifetime=60)
    scn.move("managed", at=1.0)
    scn.run(3)
    server = scn.routers["managed"].dhcp
    assert server is not None and server.by_address[POOL].committed
    scn.net.at(3.0, lambda now: scn.net.connect("mn", "wlan0", None))  # the node vanishes
    scn.run(200)
    server._reclaim()
    assert POOL not in server.by_address and list(server._returned) == [POOL]
