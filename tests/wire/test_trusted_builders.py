"""The builders agents use on every message give what the constructors give, and refuse what
the constructors refuse.

``new_binding_acknowledgement``, ``mn_ha_options``, ``append_options``, ``new_packet``,
``encapsulate``, ``with_hop_limit`` and ``new_udp_datagram`` build frozen messages without
``__init__`` (an agent sends one BA per BU, a tunnel end wraps every data packet, a traffic
source makes a datagram per packet); their checks are made
inline instead. Each case compares the result with the constructed object (equality, hash,
repr) and each bad value with the constructor's ``ValueError``.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.wire.ext_headers import RoutingHeaderType2, new_routing_header_type2
from mipshop.wire.icmpv6 import NeighborAdvertisement, new_neighbor_advertisement
from mipshop.wire.ipv6 import (
    IPv6Packet,
    UDPDatagram,
    encapsulate,
    new_packet,
    new_udp_datagram,
    with_hop_limit,
)
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingAckStatus,
    BindingUpdate,
    append_options,
    new_binding_acknowledgement,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    BindingRefreshAdvice,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    MobilityMessageAuthenticationSubtype,
    ReplayProtection,
    authentication_options,
    mn_ha_options,
)
from mipshop.wire.nd_options import TargetLinkLayerAddress

A = IPv6Address("2001:db8::1")
B = IPv6Address("2001:db8::2")


def _same(built: object, constructed: object) -> None:
    assert built == constructed
    assert type(built) is type(constructed)
    assert hash(built) == hash(constructed)
    assert repr(built) == repr(constructed)


@given(status=st.integers(0, 255), sequence=st.integers(0, 0xFFFF),
       lifetime=st.integers(0, 0xFFFF).map(lambda units: units * 4),
       refresh=st.booleans())
def test_new_binding_acknowledgement_is_the_constructed_ba(
        status: int, sequence: int, lifetime: int, refresh: bool) -> None:
    options = (BindingRefreshAdvice(refresh_interval=8),) if refresh else ()
    _same(new_binding_acknowledgement(status, sequence, lifetime, options),
          BindingAcknowledgement(status=status, sequence=sequence, lifetime=lifetime,
                                 options=options))


def test_new_binding_acknowledgement_keeps_an_enum_status() -> None:
    _same(new_binding_acknowledgement(BindingAckStatus.ACCEPTED, 1, 8),
          BindingAcknowledgement(status=BindingAckStatus.ACCEPTED, sequence=1, lifetime=8))


@pytest.mark.parametrize(("status", "sequence", "lifetime", "options"), [
    (256, 1, 4, ()), (-1, 1, 4, ()),  # status is 8 bits
    (0, 0x10000, 4, ()), (0, -1, 4, ()),  # sequence is 16 bits
    (0, 1, 6, ()), (0, 1, -4, ()), (0, 1, 0x10000 * 4, ()),  # 4-second units, 16 bits
    (0, 1, 4, [BindingRefreshAdvice(refresh_interval=4)]),  # a list, not a tuple
    (0, 1, 4, []),
    (0, 1, 4, ("not an option",)),
])
def test_new_binding_acknowledgement_refuses_what_the_constructor_refuses(
        status: int, sequence: int, lifetime: int, options: Any) -> None:
    with pytest.raises(ValueError):
        BindingAcknowledgement(status=status, sequence=sequence, lifetime=lifetime,
                               options=options)
    with pytest.raises(ValueError):
        new_binding_acknowledgement(status, sequence, lifetime, options)


@given(identifier=st.binary(max_size=254), timestamp=st.integers(0, (1 << 64) - 1),
       spi=st.integers(0, (1 << 32) - 1), length=st.integers(0, 250))
def test_mn_ha_options_are_the_constructed_options(
        identifier: bytes, timestamp: int, spi: int, length: int) -> None:
    built = mn_ha_options(identifier, timestamp, spi, length)
    expected = (MobileNodeIdentifier(identifier=identifier),
                ReplayProtection(timestamp=timestamp),
                MobilityMessageAuthentication(
                    subtype=MobilityMessageAuthenticationSubtype.MN_HA, spi=spi,
                    authenticator=bytes(length)))
    for one, other in zip(built, expected, strict=True):
        _same(one, other)


@pytest.mark.parametrize(("identifier", "timestamp", "spi", "length"), [
    (bytes(255), 1, 300, 12),  # RFC 4283: Length is one octet, subtype included
    ("mn@example", 1, 300, 12),  # not bytes
    (b"mn", -1, 300, 12), (b"mn", 1 << 64, 300, 12),  # 64-bit NTP timestamp
    (b"mn", 1, -1, 12), (b"mn", 1, 1 << 32, 12),  # 32-bit SPI
    (b"mn", 1, 300, 251), (b"mn", 1, 300, -1),
])
def test_mn_ha_options_refuse_what_the_constructors_refuse(
        identifier: Any, timestamp: int, spi: int, length: int) -> None:
    with pytest.raises(ValueError):
        mn_ha_options(identifier, timestamp, spi, length)


def test_append_options_is_with_options_of_the_whole_tuple() -> None:
    bu = BindingUpdate(sequence=3, lifetime=40, options=(AlternateCareOfAddress(address=A),))
    extra = mn_ha_options(b"mn@example.com", 7, 4242, 12)
    _same(append_options(bu, extra),
          BindingUpdate(sequence=3, lifetime=40,
                        options=(AlternateCareOfAddress(address=A), *extra)))
    with pytest.raises(ValueError):
        append_options(bu, ("not an option",))  # type: ignore[arg-type]


@pytest.mark.parametrize("hop_limit", [0, 64, 255])
def test_new_packet_is_the_constructed_packet(hop_limit: int) -> None:
    payload = BindingAcknowledgement(status=0, sequence=1, lifetime=8)
    _same(new_packet(A, B, payload, (), hop_limit),
          IPv6Packet(src=A, dst=B, payload=payload, hop_limit=hop_limit))


@pytest.mark.parametrize(("src", "dst", "hop_limit"), [
    (IPv4Address("192.0.2.1"), B, 64), (A, "2001:db8::2", 64), (A, B, 256), (A, B, -1)])
def test_new_packet_refuses_what_the_constructor_refuses(src: Any, dst: Any,
                                                         hop_limit: int) -> None:
    with pytest.raises(ValueError):
        IPv6Packet(src=src, dst=dst, payload=None, hop_limit=hop_limit)
    with pytest.raises(ValueError):
        new_packet(src, dst, None, (), hop_limit)


@given(timestamp=st.integers(0, (1 << 64) - 1), subtype=st.integers(0, 255),
       spi=st.integers(0, (1 << 32) - 1), length=st.integers(0, 250))
def test_authentication_options_are_the_constructed_options(
        timestamp: int, subtype: int, spi: int, length: int) -> None:
    built = authentication_options(timestamp, subtype, spi, length)
    expected = (ReplayProtection(timestamp=timestamp),
                MobilityMessageAuthentication(subtype=subtype, spi=spi,
                                              authenticator=bytes(length)))
    for one, other in zip(built, expected, strict=True):
        _same(one, other)


@pytest.mark.parametrize(("timestamp", "subtype", "spi", "length"), [
    (-1, 128, 300, 12), (1 << 64, 128, 300, 12), (1, 256, 300, 12), (1, -1, 300, 12),
    (1, 128, 1 << 32, 12), (1, 128, 300, 251)])
def test_authentication_options_refuse_what_the_constructors_refuse(
        timestamp: int, subtype: int, spi: int, length: int) -> None:
    with pytest.raises(ValueError):
        authentication_options(timestamp, subtype, spi, length)


@given(router=st.booleans(), solicited=st.booleans(), override=st.booleans(),
       lla=st.booleans())
def test_new_neighbor_advertisement_is_the_constructed_na(
        router: bool, solicited: bool, override: bool, lla: bool) -> None:
    options = (TargetLinkLayerAddress(address=b"\x02\x00\x00\x00\x00\x01"),) if lla else ()
    _same(new_neighbor_advertisement(router, solicited, override, A, options),
          NeighborAdvertisement(router=router, solicited=solicited, override=override,
                                target=A, options=options))
    # A list of options is made a tuple, as the constructor makes it.
    _same(new_neighbor_advertisement(router, solicited, override, A, list(options)),
          NeighborAdvertisement(router=router, solicited=solicited, override=override,
                                target=A, options=list(options)))


@pytest.mark.parametrize("target", [IPv4Address("192.0.2.1"), "2001:db8::1", None])
def test_new_neighbor_advertisement_refuses_what_the_constructor_refuses(target: Any) -> None:
    with pytest.raises(ValueError):
        NeighborAdvertisement(target=target)
    with pytest.raises(ValueError):
        new_neighbor_advertisement(False, False, True, target)


def test_new_routing_header_type2_is_the_constructed_header() -> None:
    _same(new_routing_header_type2(A), RoutingHeaderType2(home_address=A))


@pytest.mark.parametrize("home_address", [IPv4Address("192.0.2.1"), "2001:db8::1", None])
def test_new_routing_header_type2_refuses_what_the_constructor_refuses(
        home_address: Any) -> None:
    with pytest.raises(ValueError):
        RoutingHeaderType2(home_address=home_address)
    with pytest.raises(ValueError):
        new_routing_header_type2(home_address)


@given(hop_limit=st.integers(0, 255), traffic_class=st.integers(0, 255),
       flow_label=st.integers(0, 0xFFFFF), tunnelled=st.booleans())
def test_with_hop_limit_is_the_replaced_packet(hop_limit: int, traffic_class: int,
                                               flow_label: int, tunnelled: bool) -> None:
    inner = IPv6Packet(src=A, dst=B, payload=UDPDatagram(src_port=1, dst_port=2, data=b"x"),
                       hop_limit=9, traffic_class=traffic_class, flow_label=flow_label,
                       extension_headers=(new_routing_header_type2(A),))
    packet = encapsulate(inner, src=B, dst=A) if tunnelled else inner
    _same(with_hop_limit(packet, hop_limit), replace(packet, hop_limit=hop_limit))


@pytest.mark.parametrize("hop_limit", [-1, 256])
def test_with_hop_limit_refuses_what_replace_refuses(hop_limit: int) -> None:
    packet = IPv6Packet(src=A, dst=B, payload=None)
    with pytest.raises(ValueError):
        replace(packet, hop_limit=hop_limit)
    with pytest.raises(ValueError):
        with_hop_limit(packet, hop_limit)


@pytest.mark.parametrize("hop_limit", [0, 64, 255])
def test_encapsulate_is_the_constructed_tunnel_packet(hop_limit: int) -> None:
    inner = IPv6Packet(src=A, dst=B, payload=None)
    _same(encapsulate(inner, src=B, dst=A, hop_limit=hop_limit),
          IPv6Packet(src=B, dst=A, payload=inner, hop_limit=hop_limit))
    with pytest.raises(ValueError):
        encapsulate(inner, src=B, dst=A, hop_limit=256)


@given(src_port=st.integers(0, 0xFFFF), dst_port=st.integers(0, 0xFFFF),
       data=st.binary(max_size=64))
def test_new_udp_datagram_is_the_constructed_datagram(src_port: int, dst_port: int,
                                                      data: bytes) -> None:
    _same(new_udp_datagram(src_port, dst_port, data),
          UDPDatagram(src_port=src_port, dst_port=dst_port, data=data))


@pytest.mark.parametrize(("src_port", "dst_port", "size"), [
    (-1, 2, 0), (0x10000, 2, 0), (1, -1, 0), (1, 0x10000, 0), (1, 2, 0xFFFF - 7)])
def test_new_udp_datagram_refuses_what_the_constructor_refuses(src_port: int, dst_port: int,
                                                               size: int) -> None:
    with pytest.raises(ValueError):
        UDPDatagram(src_port=src_port, dst_port=dst_port, data=bytes(size))
    with pytest.raises(ValueError):
        new_udp_datagram(src_port, dst_port, bytes(size))
