"""The DHCPv6 codec (RFC 8415 §8, §21): round trips, refusals, and interoperability with scapy
(both ways) and with Wireshark's dissector."""

from __future__ import annotations

import contextlib
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_Advertise,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIAAddress,
    DHCP6OptPref,
    DHCP6OptServerId,
    DHCP6OptStatusCode,
)

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
    OptionRequest,
    Preference,
    RapidCommit,
    ServerIdentifier,
    StatusCode,
    UnknownDhcpOption,
    decode_dhcpv6,
    duid_ll,
    encode_dhcpv6,
)
from mipshop.wire.errors import MalformedPacket
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
from tests.tshark_support import dissect, problems

MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("00005e000103")
ADDRESS = IPv6Address("2001:db8:20::1:5")


def solicit() -> Dhcpv6Message:
    return Dhcpv6Message(msg_type=DhcpMessageType.SOLICIT, transaction_id=0xABCDEF, options=(
        ClientIdentifier(duid=duid_ll(MAC)), IANA(iaid=1), ElapsedTime(seconds=0.0),
        OptionRequest(codes=(23, 24))))


def reply() -> Dhcpv6Message:
    return Dhcpv6Message(msg_type=DhcpMessageType.REPLY, transaction_id=0x123456, options=(
        ServerIdentifier(duid=duid_ll(SERVER_MAC)), ClientIdentifier(duid=duid_ll(MAC)),
        IANA(iaid=1, t1=1800, t2=2880, options=(IAAddress(
            address=ADDRESS, preferred_lifetime=3600, valid_lifetime=7200),)),
        Preference(value=255), StatusCode(code=0, message="ok"), RapidCommit(),
        UnknownDhcpOption(code=999, data=b"\x01\x02")))


@pytest.mark.parametrize("message", [solicit(), reply()])
def test_round_trip(message):
    assert decode_dhcpv6(encode_dhcpv6(message)) == message


def test_layout_by_hand():
    """RFC 8415 §8 and §21.1: msg-type, 24-bit transaction-id, then code | len | data."""
    data = encode_dhcpv6(Dhcpv6Message(msg_type=1, transaction_id=0x010203, options=(
        ElapsedTime(seconds=1.5),)))
    assert data == bytes.fromhex("01010203" "0008" "0002" "0096")


@pytest.mark.parametrize(("data", "offset"), [
    (b"\x01\x00", 2),                            # shorter than the header
    (bytes.fromhex("0c000000"), 0),              # a relay message
    (bytes.fromhex("01000000" "0001"), 4),       # option header truncated
    (bytes.fromhex("01000000" "0001" "0005" "00"), 6),  # option longer than the message
    (bytes.fromhex("01000000" "0003" "0004" "00000001"), 8),  # IA_NA shorter than 12
    (bytes.fromhex("01000000" "0008" "0001" "00"), 8),        # Elapsed Time not 2 octets
])
def test_malformed(data, offset):
    with pytest.raises(MalformedPacket) as caught:
        decode_dhcpv6(data)
    assert caught.value.offset == offset


@given(st.binary(max_size=64))
def test_decoder_raises_only_malformed_packet(data):
    with contextlib.suppress(MalformedPacket):
        decode_dhcpv6(data)


# -- scapy, both ways ----------------------------------------------------------------------


def test_scapy_reads_our_messages():
    ours = encode_dhcpv6(solicit())
    theirs = DHCP6_Solicit(ours)
    assert theirs.trid == 0xABCDEF
    assert theirs[DHCP6OptClientId].duid.lladdr == "02:00:00:00:00:01"
    assert theirs[DHCP6OptIA_NA].iaid == 1
    assert theirs[DHCP6OptElapsedTime].elapsedtime == 0
    answer = DHCP6_Reply(encode_dhcpv6(reply()))
    assert answer[DHCP6OptIAAddress].addr == str(ADDRESS)
    assert answer[DHCP6OptIAAddress].validlft == 7200
    assert answer[DHCP6OptIA_NA].T1 == 1800 and answer[DHCP6OptPref].prefval == 255


def test_we_read_scapys_messages():
    duid = DUID_LL(lladdr="00:00:5e:00:01:03")
    advertise = DHCP6_Advertise(trid=0x4242) / DHCP6OptServerId(duid=duid) / DHCP6OptClientId(
        duid=DUID_LL(lladdr="02:00:00:00:00:01")) / DHCP6OptIA_NA(iaid=1, T1=0, T2=0, ianaopts=[
            DHCP6OptIAAddress(addr=str(ADDRESS), preflft=300, validlft=600)]) / DHCP6OptPref(
        prefval=7)
    message = decode_dhcpv6(bytes(advertise))
    assert message.msg_type == DhcpMessageType.ADVERTISE and message.transaction_id == 0x4242
    assert message.option(ServerIdentifier).duid == duid_ll(SERVER_MAC)
    assert message.option(IANA).addresses[0] == IAAddress(
        address=ADDRESS, preferred_lifetime=300, valid_lifetime=600)
    assert message.option(Preference).value == 7
    request = DHCP6_Request(trid=7) / DHCP6OptStatusCode(statuscode=2, statusmsg="none")
    assert decode_dhcpv6(bytes(request)).option(StatusCode) == StatusCode(code=2,
                                                                         message="none")


# -- Wireshark -------------------------------------------------------------------------------


def test_tshark_dissects_our_exchange():
    packets = [encode_packet(IPv6Packet(
        src=IPv6Address("fe80::ff:fe00:1"), dst=ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        payload=UDPDatagram(src_port=CLIENT_PORT, dst_port=SERVER_PORT,
                            data=encode_dhcpv6(solicit())))),
        encode_packet(IPv6Packet(
            src=IPv6Address("fe80::1"), dst=IPv6Address("fe80::ff:fe00:1"),
            payload=UDPDatagram(src_port=SERVER_PORT, dst_port=CLIENT_PORT,
                                data=encode_dhcpv6(reply()))))]
    layers = dissect(packets)
    for packet in layers:
        assert not problems(packet)
    assert layers[0]["dhcpv6"]["dhcpv6.msgtype"] == "1"
    assert int(layers[0]["dhcpv6"]["dhcpv6.xid"], 16) == 0xABCDEF
    text = str(layers[1]["dhcpv6"])
    assert layers[1]["dhcpv6"]["dhcpv6.msgtype"] == "7"
    assert str(ADDRESS) in text and "'dhcpv6.iaaddr.valid_lifetime': '7200'" in text
