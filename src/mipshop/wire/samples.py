"""One packet of every message mipshop speaks, addressed as in a real MIPv6/HMIPv6/FMIPv6 network.

``examples/captures/all-messages.pcap`` is written from :func:`all_message_packets` (a test
regenerates it and fails if the committed file differs), ``make run`` dissects it until the
simulator lands, and the tshark interop tests check every packet in it. Run
``python -m mipshop.wire.samples OUT.pcap`` to write it again.
"""

from __future__ import annotations

import sys
from ipaddress import IPv6Address

from .ext_headers import DestinationOptions, HomeAddressOption, RoutingHeaderType2
from .icmpv6 import (
    EchoRequest,
    HomeAgentAddressDiscoveryReply,
    HomeAgentAddressDiscoveryRequest,
    IcmpHandoverAcknowledge,
    IcmpHandoverInitiate,
    MobilePrefixAdvertisement,
    MobilePrefixSolicitation,
    NeighborAdvertisement,
    NeighborSolicitation,
    ParameterProblem,
    ProxyRouterAdvertisement,
    RouterAdvertisement,
    RouterSolicitation,
    RouterSolicitationForProxy,
)
from .ipv6 import IPv6Packet, UDPDatagram, encapsulate, encode_packet
from .mh import (
    BindingAcknowledgement,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareOfTest,
    CareOfTestInit,
    FastBindingAcknowledgement,
    FastBindingUpdate,
    FastNeighborAdvertisement,
    HandoverAcknowledge,
    HandoverInitiate,
    HomeTest,
    HomeTestInit,
)
from .mh_options import (
    AlternateCareOfAddress,
    BindingAuthorizationData,
    BindingRefreshAdvice,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MobileNodeIdentifier,
    MobilityMessageAuthentication,
    NonceIndices,
    ReplayProtection,
)
from .nd_options import (
    AdvertisementInterval,
    HomeAgentInformation,
    IPAddressPrefix,
    LinkLayerAddress,
    MAPOption,
    MTUOption,
    NeighborAdvertisementAcknowledgment,
    PrefixInformation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
)
from .pcap import CapturedPacket, write_pcap

_A = IPv6Address
HOME_AGENT = _A("2001:db8:1::1")
HOME_ADDRESS = _A("2001:db8:1::200")
CORRESPONDENT = _A("2001:db8:99::5")
MAP = _A("2001:db8:40::1")
RCOA = _A("2001:db8:40::200")
PAR = _A("2001:db8:41::1")
NAR = _A("2001:db8:42::1")
PCOA = _A("2001:db8:41::200")
NCOA = _A("2001:db8:42::200")
MN_LINK_LOCAL = _A("fe80::200")
PAR_LINK_LOCAL = _A("fe80::41")
ALL_NODES = _A("ff02::1")
ALL_ROUTERS = _A("ff02::2")
MN_MAC = bytes.fromhex("020000000200")
PAR_MAC = bytes.fromhex("020000004101")
NAR_MAC = bytes.fromhex("020000004201")
NEW_AP_BSSID = bytes.fromhex("02000000a002")
HA_ANYCAST = _A("2001:db8:1:0:fdff:ffff:ffff:fffe")  # RFC 2526 subnet anycast, ID 0x7E


def _hao(address: IPv6Address) -> tuple[DestinationOptions]:
    return (DestinationOptions(options=(HomeAddressOption(home_address=address),)),)


def _rh2(address: IPv6Address) -> tuple[RoutingHeaderType2]:
    return (RoutingHeaderType2(home_address=address),)


def _mn_ha_auth() -> tuple[MobileNodeIdentifier, ReplayProtection, MobilityMessageAuthentication]:
    """RFC 4285 options as the home registration carries them (authenticator value fixed)."""
    return (
        MobileNodeIdentifier(subtype=1, identifier=b"mn@example.net"),
        ReplayProtection(timestamp=0xEA8B_0C00_0000_0001),
        MobilityMessageAuthentication(subtype=1, spi=0x100, authenticator=bytes(range(12))),
    )


def _mobility_header_packets() -> list[IPv6Packet]:
    """Mobility Header types 0-10, 14 and 15 (RFC 6275 §6.1, RFC 5380 §4, RFC 5568 §6.2)."""
    return [
        IPv6Packet(
            src=CORRESPONDENT,
            dst=PCOA,
            extension_headers=_rh2(HOME_ADDRESS),
            payload=BindingRefreshRequest(),
        ),
        IPv6Packet(
            src=HOME_ADDRESS,
            dst=CORRESPONDENT,
            payload=HomeTestInit(cookie=bytes.fromhex("0102030405060708")),
        ),
        IPv6Packet(
            src=PCOA,
            dst=CORRESPONDENT,
            payload=CareOfTestInit(cookie=bytes.fromhex("1112131415161718")),
        ),
        IPv6Packet(
            src=CORRESPONDENT,
            dst=HOME_ADDRESS,
            payload=HomeTest(
                home_nonce_index=3,
                cookie=bytes.fromhex("0102030405060708"),
                keygen_token=bytes.fromhex("a1a2a3a4a5a6a7a8"),
            ),
        ),
        IPv6Packet(
            src=CORRESPONDENT,
            dst=PCOA,
            payload=CareOfTest(
                care_of_nonce_index=4,
                cookie=bytes.fromhex("1112131415161718"),
                keygen_token=bytes.fromhex("b1b2b3b4b5b6b7b8"),
            ),
        ),
        # Home registration (RFC 6275 §11.7.1) authenticated per RFC 4285.
        IPv6Packet(
            src=PCOA,
            dst=HOME_AGENT,
            extension_headers=_hao(HOME_ADDRESS),
            payload=BindingUpdate(
                sequence=1000,
                lifetime=400,
                ack=True,
                home_registration=True,
                key_management=False,
                options=(AlternateCareOfAddress(address=PCOA), *_mn_ha_auth()),
            ),
        ),
        IPv6Packet(
            src=HOME_AGENT,
            dst=PCOA,
            extension_headers=_rh2(HOME_ADDRESS),
            payload=BindingAcknowledgement(
                status=0,
                sequence=1000,
                lifetime=400,
                options=(BindingRefreshAdvice(refresh_interval=320),),
            ),
        ),
        # Correspondent registration (RFC 6275 §6.1.7, §5.2.6).
        IPv6Packet(
            src=PCOA,
            dst=CORRESPONDENT,
            extension_headers=_hao(HOME_ADDRESS),
            payload=BindingUpdate(
                sequence=7,
                lifetime=420,
                ack=True,
                options=(
                    NonceIndices(home_nonce_index=3, care_of_nonce_index=4),
                    BindingAuthorizationData(authenticator=bytes(range(12, 24))),
                ),
            ),
        ),
        IPv6Packet(
            src=CORRESPONDENT,
            dst=PCOA,
            extension_headers=_rh2(HOME_ADDRESS),
            payload=BindingAcknowledgement(
                status=0,
                sequence=7,
                lifetime=420,
                options=(BindingAuthorizationData(authenticator=bytes(range(24, 36))),),
            ),
        ),
        IPv6Packet(
            src=CORRESPONDENT, dst=PCOA, payload=BindingError(status=1, home_address=HOME_ADDRESS)
        ),
        # HMIPv6 local BU to the MAP: src LCoA, HAO RCoA, M and A set (RFC 5380 §6.1).
        IPv6Packet(
            src=PCOA,
            dst=MAP,
            extension_headers=_hao(RCOA),
            payload=BindingUpdate(sequence=20, lifetime=600, ack=True, map_registration=True),
        ),
        IPv6Packet(
            src=MAP,
            dst=PCOA,
            extension_headers=_rh2(RCOA),
            payload=BindingAcknowledgement(status=0, sequence=20, lifetime=600),
        ),
        # FMIPv6 (RFC 5568 §6.2): FBU from the PAR's link, FBack, the deprecated FNA, HI, HAck.
        IPv6Packet(
            src=PCOA,
            dst=PAR,
            extension_headers=_hao(PCOA),
            payload=FastBindingUpdate(
                sequence=30,
                lifetime=8,
                ack=True,
                home_registration=True,
                options=(
                    AlternateCareOfAddress(address=NCOA),
                    FastBindingAuthorizationData(spi=0x200, authenticator=bytes(range(40, 52))),
                ),
            ),
        ),
        IPv6Packet(
            src=PAR,
            dst=NCOA,
            payload=FastBindingAcknowledgement(
                status=0,
                sequence=30,
                lifetime=8,
                options=(
                    FastBindingAuthorizationData(spi=0x200, authenticator=bytes(range(52, 64))),
                ),
            ),
        ),
        IPv6Packet(
            src=NCOA,
            dst=NAR,
            payload=FastNeighborAdvertisement(
                options=(MHLinkLayerAddress(option_code=2, address=MN_MAC),)
            ),
        ),
        IPv6Packet(
            src=PAR,
            dst=NAR,
            payload=HandoverInitiate(
                sequence=40,
                assigned_address=False,
                buffer=True,
                code=0,
                options=(
                    IPv6AddressPrefixOption(option_code=1, prefix_length=128, address=PCOA),
                    IPv6AddressPrefixOption(option_code=2, prefix_length=128, address=NCOA),
                    MHLinkLayerAddress(option_code=2, address=MN_MAC),
                ),
            ),
        ),
        IPv6Packet(
            src=NAR,
            dst=PAR,
            payload=HandoverAcknowledge(
                sequence=40,
                code=0,
                options=(IPv6AddressPrefixOption(option_code=2, prefix_length=128, address=NCOA),),
            ),
        ),
    ]


def _icmpv6_packets() -> list[IPv6Packet]:
    """ICMPv6 and ND (RFC 4861, RFC 6275 §6.5-§7, RFC 5380 §5, RFC 5568 §6.1/§6.4)."""
    return [
        IPv6Packet(
            src=MN_LINK_LOCAL,
            dst=ALL_ROUTERS,
            hop_limit=255,
            payload=RouterSolicitation(options=(SourceLinkLayerAddress(address=MN_MAC),)),
        ),
        # An access router's RA: H flag (it is also a home agent), Prefix Information with R,
        # Advertisement Interval, Home Agent Information and two MAP options.
        IPv6Packet(
            src=PAR_LINK_LOCAL,
            dst=ALL_NODES,
            hop_limit=255,
            payload=RouterAdvertisement(
                cur_hop_limit=64,
                home_agent=True,
                router_lifetime=1800,
                reachable_time=30.0,
                retrans_timer=1.0,
                options=(
                    SourceLinkLayerAddress(address=PAR_MAC),
                    MTUOption(mtu=1500),
                    PrefixInformation(
                        prefix_length=64,
                        on_link=True,
                        autonomous=True,
                        router_address=True,
                        valid_lifetime=86400,
                        preferred_lifetime=14400,
                        prefix=PAR,
                    ),
                    AdvertisementInterval(interval=1.5),
                    HomeAgentInformation(preference=10, lifetime=1800),
                    MAPOption(
                        distance=2, preference=10, r_flag=False, valid_lifetime=3600, address=MAP
                    ),
                    MAPOption(distance=1, preference=0, r_flag=True, valid_lifetime=0, address=PAR),
                ),
            ),
        ),
        IPv6Packet(
            src=PCOA,
            dst=_A("ff02::1:ff00:1"),
            hop_limit=255,
            payload=NeighborSolicitation(
                target=PAR, options=(SourceLinkLayerAddress(address=MN_MAC),)
            ),
        ),
        IPv6Packet(
            src=PAR,
            dst=PCOA,
            hop_limit=255,
            payload=NeighborAdvertisement(
                router=True,
                solicited=True,
                override=True,
                target=PAR,
                options=(TargetLinkLayerAddress(address=PAR_MAC),),
            ),
        ),
        # The FMIPv6 UNA (RFC 5568 §6.3): R=S=O=0, from and for the NCoA.
        IPv6Packet(
            src=NCOA,
            dst=ALL_NODES,
            hop_limit=255,
            payload=NeighborAdvertisement(
                target=NCOA, options=(TargetLinkLayerAddress(address=MN_MAC),)
            ),
        ),
        IPv6Packet(
            src=PCOA, dst=HA_ANYCAST, payload=HomeAgentAddressDiscoveryRequest(identifier=0x1234)
        ),
        IPv6Packet(
            src=HOME_AGENT,
            dst=PCOA,
            payload=HomeAgentAddressDiscoveryReply(
                identifier=0x1234, home_agents=(HOME_AGENT, _A("2001:db8:1::2"))
            ),
        ),
        IPv6Packet(
            src=PCOA,
            dst=HOME_AGENT,
            extension_headers=_hao(HOME_ADDRESS),
            payload=MobilePrefixSolicitation(identifier=0x4321),
        ),
        IPv6Packet(
            src=HOME_AGENT,
            dst=PCOA,
            extension_headers=_rh2(HOME_ADDRESS),
            payload=MobilePrefixAdvertisement(
                identifier=0x4321,
                options=(
                    PrefixInformation(
                        prefix_length=64,
                        router_address=True,
                        valid_lifetime=86400,
                        preferred_lifetime=14400,
                        prefix=HOME_AGENT,
                    ),
                ),
            ),
        ),
        # FMIPv6 type 154: RtSolPr naming a new AP, PrRtAdv code 0 with the NAR's AR-Info.
        IPv6Packet(
            src=PCOA,
            dst=PAR,
            hop_limit=255,
            payload=RouterSolicitationForProxy(
                identifier=77,
                options=(
                    LinkLayerAddress(option_code=4, address=MN_MAC),
                    LinkLayerAddress(option_code=1, address=NEW_AP_BSSID),
                ),
            ),
        ),
        IPv6Packet(
            src=PAR_LINK_LOCAL,
            dst=PCOA,
            hop_limit=255,
            payload=ProxyRouterAdvertisement(
                code=0,
                identifier=77,
                options=(
                    LinkLayerAddress(option_code=4, address=PAR_MAC),
                    LinkLayerAddress(option_code=1, address=NEW_AP_BSSID),
                    LinkLayerAddress(option_code=3, address=NAR_MAC),
                    IPAddressPrefix(option_code=3, prefix_length=128, address=NAR),
                    IPAddressPrefix(option_code=4, prefix_length=64, address=_A("2001:db8:42::")),
                ),
            ),
        ),
        # An RA carrying a NAACK that hands the MN another NCoA (RFC 5568 §6.4.5, status 2).
        IPv6Packet(
            src=_A("fe80::42"),
            dst=NCOA,
            hop_limit=255,
            payload=RouterAdvertisement(
                router_lifetime=1800,
                options=(
                    SourceLinkLayerAddress(address=NAR_MAC),
                    NeighborAdvertisementAcknowledgment(
                        status=2, new_care_of_address=_A("2001:db8:42::201")
                    ),
                ),
            ),
        ),
        # The deprecated ICMPv6 HI/HAck of RFC 5268 (subtypes 4 and 5).
        IPv6Packet(
            src=PAR,
            dst=NAR,
            payload=IcmpHandoverInitiate(
                code=0,
                identifier=9,
                assigned_address=True,
                buffer=True,
                options=(
                    IPAddressPrefix(option_code=1, prefix_length=128, address=PCOA),
                    IPAddressPrefix(option_code=2, prefix_length=128, address=NCOA),
                    LinkLayerAddress(option_code=2, address=MN_MAC),
                ),
            ),
        ),
        IPv6Packet(
            src=NAR,
            dst=PAR,
            payload=IcmpHandoverAcknowledge(
                code=2,
                identifier=9,
                options=(IPAddressPrefix(option_code=2, prefix_length=128, address=NCOA),),
            ),
        ),
        IPv6Packet(
            src=CORRESPONDENT,
            dst=PCOA,
            payload=ParameterProblem(
                code=0, pointer=40, invoking_packet=bytes.fromhex("6000000000103a40") + bytes(32)
            ),
        ),
    ]


def _data_packets() -> list[IPv6Packet]:
    """Data-plane forms: HAO route-optimised data, RH2 data, the reverse and forward tunnels."""
    udp = UDPDatagram(src_port=5004, dst_port=5004, data=b"voice frame 0001")
    from_home = IPv6Packet(src=HOME_ADDRESS, dst=CORRESPONDENT, payload=udp)
    to_home = IPv6Packet(src=CORRESPONDENT, dst=HOME_ADDRESS, payload=udp)
    return [
        IPv6Packet(src=PCOA, dst=CORRESPONDENT, extension_headers=_hao(HOME_ADDRESS), payload=udp),
        IPv6Packet(src=CORRESPONDENT, dst=PCOA, extension_headers=_rh2(HOME_ADDRESS), payload=udp),
        encapsulate(from_home, src=PCOA, dst=HOME_AGENT),  # reverse tunnel (RFC 6275 §11.3.1)
        encapsulate(to_home, src=HOME_AGENT, dst=PCOA),  # HA to CoA (RFC 6275 §10.4.1)
        encapsulate(to_home, src=PAR, dst=NCOA),  # FMIPv6 PAR-to-NCoA forwarding
        IPv6Packet(
            src=CORRESPONDENT,
            dst=HOME_ADDRESS,
            payload=EchoRequest(identifier=1, sequence=1, data=b"mipshop"),
        ),
    ]


def all_message_packets() -> list[IPv6Packet]:
    """Every sample packet, Mobility Header first, then ICMPv6/ND, then data."""
    return _mobility_header_packets() + _icmpv6_packets() + _data_packets()


def all_message_capture() -> list[CapturedPacket]:
    """The sample packets as capture records, 10 ms apart from t = 0."""
    return [
        CapturedPacket(timestamp=index * 0.01, data=encode_packet(packet))
        for index, packet in enumerate(all_message_packets())
    ]


def main(argv: list[str]) -> int:
    """Write the sample capture to the path given as the only argument."""
    if len(argv) != 1:
        print("usage: python -m mipshop.wire.samples OUT.pcap", file=sys.stderr)
        return 2
    count = write_pcap(argv[0], all_message_capture())
    print(f"wrote {count} packets to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
