"""`mipshop daemon mn` with its HMIPv6 and FMIPv6 clients against an independent tester
(RFC 5380 §4, §6.1, §7.1, §9.1; RFC 5568 §5, §6.1, §6.2.2, §6.3, §6.4; RFC 4260 triggers).

The tester plays every other node on the mobile node's link and beyond:

* the access routers of the visited links (their Router Advertisements, with RFC 5380 §7
  MAP options built by scapy's ``ICMPv6NDOptMAP``), answering Neighbor Solicitations for
  their link-local addresses;
* the Mobility Anchor Points (it checks the local Binding Update's bytes against RFC 5380
  Figure 2 and §6.1, and the RFC 4285 MN-MAP authenticator with its own HMAC, and answers
  with Binding Acknowledgements it signs itself, a Type 2 Routing Header carrying the RCoA);
* the home agent (2001:db8:1::1), whose registrations arrive through the MAP's tunnel;
* the FMIPv6 previous and new access routers: PrRtAdv, FBack and the NAACK are laid out by
  hand from RFC 5568's figures (scapy has no FMIPv6), and the RtSolPr, FBU and UNA the node
  sends are read back by hand, the BADF checked with hmac.

Two fields follow mipshop's documented reading where RFC 5568's text and Wireshark differ
(docs/decisions.md): the FBU/FBack Lifetime in 4-second units (D1; §6.2.2 says seconds) and
the BADF Option Length 16, SPI + authenticator (D4; §6.4.5 says the authenticator's length).
RFC 5380 says nothing of H in the local BU: only M and A are asserted.

Nothing here calls mipshop's encoders or authenticators. Each part shares one mobile node
(module-scoped fixtures) and runs in order.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv6Address
from typing import Any

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BU,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMAP,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrRouting,
    MIP6OptAltCoA,
    MIP6OptMNID,
    MIP6OptMsgAuth,
    MIP6OptReplayProtection,
)
from scapy.packet import Packet, Raw

from tests.conformance.tester import (
    NodeUnderTest,
    dissection_problems,
    internet_checksum,
    mh_offset,
    mh_options,
    mobility_header_checksums,
    node_under_test,
    ntp_timestamp,
    sign_mn_ha,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

MN_MAC = "02:00:00:00:00:01"
#: Modified EUI-64 of MN_MAC (RFC 4291 App. A).
IID = "ff:fe00:1"
HOA = "2001:db8:1::100"
HOME_PREFIX = "2001:db8:1::/64"
HA = "2001:db8:1::1"
CN = "2001:db8:100::10"
NAI, SPI, KEY = "mn1@example.com", 1000, bytes(range(16))
#: The MN-MAP security association (RFC 4285, in place of IKEv2).
MAP_NAI, MAP_SPI, MAP_KEY = "mn1@map.example.com", 2000, bytes(range(100, 116))
DAD = 0.3
#: The lifetime the node asks of a MAP; the tester grants less (MAP_GRANTED) so that the
#: RFC 5380 §6.1 cap on the home registration shows.
MAP_LIFETIME = 120
MAP_GRANTED = 40
HOME_LIFETIME = 60
AR = {"ar1": ("fe80::a1", "00:00:5e:00:01:02", "2001:db8:10::"),
      "ar2": ("fe80::a2", "00:00:5e:00:01:03", "2001:db8:20::"),
      "ar3": ("fe80::a3", "00:00:5e:00:01:04", "2001:db8:30::")}
#: MAPs (address, on the MAP's own /64): "near" dist 1 pref 15, "far" dist 2 pref 1 (RFC
#: 5380 §9.1 picks the furthest), "farthest_off" dist 3 pref 0 (not for new bindings, §7.1).
MAP_NEAR = "2001:db8:a1::1"
MAP_FAR = "2001:db8:a2::1"
MAP_OFF = "2001:db8:a3::1"
MAP_D = "2001:db8:a4::1"
MAP_E = "2001:db8:a5::1"


def care_of(router: str) -> str:
    return AR[router][2] + IID


def rcoa(map_address: str) -> str:
    """RFC 5380 §6: the MAP's /64 and the node's interface identifier."""
    return str(IPv6Address(int(IPv6Address(map_address)) & ~(2**64 - 1)
                           | int(IPv6Address("::" + IID))))


def map_option(address: str, *, dist: int, pref: int, lifetime: int = 3600,
               r_flag: int = 0) -> ICMPv6NDOptMAP:
    """RFC 5380 §7 Figure 1 (Type 23, Length 3)."""
    return ICMPv6NDOptMAP(dist=dist, pref=pref, R=r_flag, validlifetime=lifetime,
                          addr=address)


def router_advertisement(router: str, *maps: Packet) -> Packet:
    """A visited link's RA (RFC 4861 §4.2): one autonomous /64, SLLA, the MAP options."""
    link_local, mac, prefix = AR[router]
    packet = (IPv6(src=link_local, dst="ff02::1", hlim=255)
              / ICMPv6ND_RA(routerlifetime=1800, prf=0)
              / ICMPv6NDOptSrcLLAddr(lladdr=mac)
              / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, prefix=prefix,
                                      validlifetime=86400, preferredlifetime=14400))
    for option in maps:
        packet = packet / option
    return packet


def advertise(node: NodeUnderTest, router: str, *maps: Packet) -> None:
    node.tester.send(router_advertisement(router, *maps), src_mac=AR[router][1])


@contextmanager
def start(config: dict[str, Any]) -> Iterator[NodeUnderTest]:
    """The mobile node for the ``with`` block; the tester answers Neighbor Solicitations for
    the access routers' link-local addresses, each with its router's MAC."""
    with node_under_test("mn", config, dut_mac=MN_MAC) as node:
        for link_local, mac, _prefix in AR.values():
            node.tester.own(link_local, mac)
        yield node


def mn_config(**changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "interface": "eth0", "home_address": HOA, "home_prefix": HOME_PREFIX,
        "home_agent": HA, "dad_delay": DAD, "optimistic_dad": False,
        "home_binding_lifetime": float(HOME_LIFETIME), "confirm_router_change": False,
        "credentials": {"identifier": NAI, "spi": SPI, "key": KEY.hex()}}
    table.update(changes)
    return {"mobile_node": {k: v for k, v in table.items() if v is not None}}


# -- reading what the node sent -------------------------------------------------------------------

def inner(packet: Packet) -> Packet:
    """The packet an IPv6-in-IPv6 packet carries (RFC 2473)."""
    return IPv6(bytes(packet[IPv6].payload))


def mh_bytes(raw: bytes) -> bytes:
    """The Mobility Header of the IPv6 packet ``raw`` (its Header Len octets)."""
    start = mh_offset(raw)
    return raw[start:start + (raw[start + 1] + 1) * 8]


def rfc4285_authenticator(key: bytes, care_of_address: str, home_address: str,
                          mh: bytes) -> bytes:
    """RFC 4285 §5.1: First(96, HMAC_SHA1(key, care-of | home | MH Data)), MH Data the
    Mobility Header up to and including the SPI, Checksum zero."""
    data = mh[:4] + b"\x00\x00" + mh[6:-12]
    message = IPv6Address(care_of_address).packed + IPv6Address(home_address).packed + data
    return hmac.new(key, message, hashlib.sha1).digest()[:12]


def check_rfc4285(mh: bytes, *, key: bytes, spi: int, nai: str, care_of_address: str,
                  home_address: str, sent_at: float) -> None:
    """The BU carries MN-ID (RFC 4283, subtype 1, the NAI), Replay Protection (RFC 4285 §6,
    8n+2, a timestamp of the sending time) and, last and ending the header, the Mobility
    Message Authentication option (§5, 4n+1, subtype 1 MN-HA, the SPI, the authenticator
    over (care-of address, home address))."""
    options = mh_options(mh, 12)
    kinds = [kind for _at, kind, _data in options]
    assert kinds[-3:] == [8, 10, 9], kinds
    _at, _kind, mnid = options[-3]
    assert mnid[0] == 1 and mnid[1:] == nai.encode()
    stamp_at, _kind, stamp = options[-2]
    assert stamp_at % 8 == 2 and len(stamp) == 8
    assert abs(struct.unpack("!Q", stamp)[0] / 2**32 - ntp_timestamp(sent_at) / 2**32) < 7
    at, _kind, auth = options[-1]
    assert at % 4 == 1 and len(auth) == 17 and at + 19 == len(mh), (at, len(auth), len(mh))
    assert auth[0] == 1 and struct.unpack("!I", auth[1:5])[0] == spi
    assert auth[5:] == rfc4285_authenticator(key, care_of_address, home_address, mh)


def bu_fields(mh: bytes) -> tuple[int, int, int]:
    """(Sequence #, flags octet, Lifetime) of a BU (RFC 6275 §6.1.7; RFC 5380 Figure 2:
    A 0x80, H 0x40, L 0x20, K 0x10, M 0x08 of the first flags octet)."""
    assert mh[2] == 5, f"MH Type {mh[2]}, not a Binding Update"
    sequence, flags, lifetime = struct.unpack_from("!HHH", mh, 6)
    return sequence, flags >> 8, lifetime


A_FLAG, H_FLAG, M_FLAG = 0x80, 0x40, 0x08


def is_local_bu(map_address: str, lcoa: str | None = None):
    def match(p: Packet) -> bool:
        return (p[IPv6].nh != 41 and p.haslayer(MIP6MH_BU) and p[IPv6].dst == map_address
                and (lcoa is None or p[IPv6].src == lcoa))
    return match


def is_tunnelled_home_bu(p: Packet) -> bool:
    return p[IPv6].nh == 41 and p.haslayer(MIP6MH_BU) and inner(p).dst == HA


def map_ba(bu: Packet, *, status: int = 0, lifetime: int = MAP_GRANTED,
           routing_header: bool = True, sequence: int | None = None,
           key: bytes = MAP_KEY, signed_home: str | None = None) -> Packet:
    """The MAP's answer (RFC 5380 §6.2, RFC 6275 §6.1.8): to the LCoA, Type 2 Routing Header
    with the RCoA (unless ``routing_header`` is False), the BU's timestamp echoed, MN-ID and
    the MN-MAP authenticator over (LCoA, RCoA) (RFC 4285 §5.1.1, §6)."""
    fields = bu[MIP6MH_BU]
    lcoa, map_address, regional = bu[IPv6].src, bu[IPv6].dst, bu[HAO].hoa
    ba = MIP6MH_BA(status=status, seq=fields.seq if sequence is None else sequence,
                   mhtime=lifetime // 4, options=[
                       MIP6OptMNID(subtype=1, id=MAP_NAI.encode()),
                       MIP6OptReplayProtection(
                           timestamp=fields[MIP6OptReplayProtection].timestamp),
                       MIP6OptMsgAuth(subtype=1, mspi=MAP_SPI, authdata=b"\x00" * 12)])
    if routing_header:
        packet = IPv6(src=map_address, dst=lcoa) / IPv6ExtHdrRouting(
            type=2, segleft=1, addresses=[regional]) / ba
    else:
        packet = IPv6(src=map_address, dst=lcoa) / ba
    signed = sign_mn_ha(packet, key, care_of=lcoa, home=signed_home or regional)
    return IPv6(with_mh_checksum(bytes(signed), src=map_address,
                                 dst=regional if routing_header else lcoa))


def home_ba_through_map(bu: Packet, map_address: str, lcoa: str, *, status: int = 0
                        ) -> Packet:
    """The home agent's BA to the RCoA (RFC 6275 §10.3.1: to the BU's source, Type 2 Routing
    Header with the home address), as the MAP tunnels it to the LCoA (RFC 5380 §6.2)."""
    home = inner(bu)
    fields = home[MIP6MH_BU]
    regional = home.src
    ba = MIP6MH_BA(status=status, seq=fields.seq, mhtime=fields.mhtime, options=[
        MIP6OptMNID(subtype=1, id=NAI.encode()),
        MIP6OptReplayProtection(timestamp=fields[MIP6OptReplayProtection].timestamp),
        MIP6OptMsgAuth(subtype=1, mspi=SPI, authdata=b"\x00" * 12)])
    packet = IPv6(src=HA, dst=regional) / IPv6ExtHdrRouting(type=2, segleft=1,
                                                            addresses=[HOA]) / ba
    signed = IPv6(with_mh_checksum(bytes(sign_mn_ha(packet, KEY, care_of=regional, home=HOA)),
                                   src=HA, dst=HOA))
    return IPv6(src=map_address, dst=lcoa, hlim=64) / signed


def wait_event(node: NodeUnderTest, kind: str, count: int, *, timeout: float = 5.0
               ) -> list[dict[str, Any]]:
    """The node's events of ``kind`` once there are more than ``count``."""
    deadline = time.monotonic() + timeout
    while len(events := node.events(kind)) <= count:
        assert time.monotonic() < deadline, f"no new {kind} event"
        time.sleep(0.02)
    return events


# == HMIPv6: the MAP client (RFC 5380) ============================================================

def hmip_config() -> dict[str, Any]:
    config = mn_config()
    # The first-registration and retransmission timers long enough that no retransmission
    # (a new sequence number, RFC 6275 §11.8) crosses a test on a loaded machine.
    config["mobile_node"]["map_client"] = {
        "credentials": {"identifier": MAP_NAI, "spi": MAP_SPI, "key": MAP_KEY.hex()},
        "lifetime": float(MAP_LIFETIME), "first_registration_timeout": 8.0,
        "bindack_timeout": 8.0, "max_bindack_timeout": 32.0}
    return config


@pytest.fixture(scope="module")
def hmn() -> Iterator[NodeUnderTest]:
    with start(hmip_config()) as node:
        yield node


_hmip: dict[str, Any] = {}
#: The first domain's MAP options: RFC 5380 §9.1 orders them furthest first and skips a
#: preference of 0, so MAP_FAR (Dist 2, Pref 1) is chosen over MAP_NEAR (Dist 1, Pref 15)
#: and MAP_OFF (Dist 3, Pref 0).
DOMAIN = (map_option(MAP_NEAR, dist=1, pref=15), map_option(MAP_FAR, dist=2, pref=1),
          map_option(MAP_OFF, dist=3, pref=0))


def test_hmip_a_map_option_gives_a_local_bu_to_the_selected_map(hmn):
    mark = hmn.tester.mark()
    advertise(hmn, "ar1", *DOMAIN)
    bu = hmn.tester.expect(lambda p: p.haslayer(MIP6MH_BU), since=mark, timeout=DAD + 5,
                           what="local BU")
    # §9.1: the furthest MAP with a non-zero preference; §7.1: Pref 0 not for new bindings.
    assert bu[IPv6].dst == MAP_FAR, bu[IPv6].dst
    _hmip["bu"] = bu


def test_hmip_the_local_binding_update_is_laid_out_as_rfc_5380_says(hmn):
    bu = _hmip["bu"]
    lcoa, regional = care_of("ar1"), rcoa(MAP_FAR)
    raw = bytes(bu[IPv6])
    # §6.1: the LCoA as source; the RCoA (from the MAP's prefix, §6) in the Home Address
    # option; §4 Figure 2: M and A set; RFC 6275 §6.1.7: Lifetime in 4 s units.
    assert bu[IPv6].src == lcoa and bu[IPv6].dst == MAP_FAR
    assert bu[IPv6].nh == 60 and bu[HAO].hoa == regional
    mh = mh_bytes(raw)
    sequence, flags, lifetime = bu_fields(mh)
    assert flags & A_FLAG and flags & M_FLAG, hex(flags)
    assert lifetime == MAP_LIFETIME // 4
    # RFC 4285 with the MN-MAP SA: (LCoA, RCoA) in place of (care-of, home address).
    check_rfc4285(mh, key=MAP_KEY, spi=MAP_SPI, nai=MAP_NAI, care_of_address=lcoa,
                  home_address=regional, sent_at=float(bu.time))
    # RFC 6275 §6.1.1: the checksum over the pseudo-header with the RCoA as source.
    assert mobility_header_checksums(raw) == [True]
    _hmip["sequence"] = sequence


def test_hmip_no_home_registration_before_the_maps_acknowledgement(hmn):
    # §6.1: the node SHOULD wait for the MAP's BA before registering the RCoA elsewhere.
    hmn.tester.absent(lambda p: p.haslayer(MIP6MH_BU) and (
        p[IPv6].dst == HA or is_tunnelled_home_bu(p)), since=0, wait=1.0)


def test_hmip_a_binding_acknowledgement_without_the_rcoa_routing_header_is_ignored(hmn):
    bu = _hmip["bu"]
    ignored = len(hmn.events("map.ba_ignored"))
    mark = hmn.tester.mark()
    # §6.1: MUST silently ignore a BA without a Type 2 Routing Header holding the RCoA,
    # whatever its authenticator covers: (LCoA, RCoA), or (LCoA, LCoA), the address the BA
    # was sent to (which a node reading the RCoA from the BA's destination would accept).
    hmn.tester.send(map_ba(bu, routing_header=False))
    hmn.tester.send(map_ba(bu, routing_header=False, signed_home=bu[IPv6].src))
    wait_event(hmn, "map.ba_ignored", ignored + 1)
    hmn.tester.absent(is_tunnelled_home_bu, since=mark, wait=1.0)
    assert not hmn.events("map.registered")


def test_hmip_after_the_maps_ba_the_rcoa_is_registered_at_home_through_the_map(hmn):
    bu = _hmip["bu"]
    lcoa, regional = care_of("ar1"), rcoa(MAP_FAR)
    mark = hmn.tester.mark()
    hmn.tester.send(map_ba(bu))
    home = hmn.tester.expect(is_tunnelled_home_bu, since=mark, timeout=4,
                             what="home BU through the MAP")
    # §6.1: every packet the node sends is tunnelled to the MAP, LCoA -> MAP outside; the
    # BU binds (RCoA, home address): RCoA as source, the home address in the Home Address
    # option (RFC 6275 §11.7.1: A and H set, and not M: it is no MAP registration).
    assert (home[IPv6].src, home[IPv6].dst) == (lcoa, MAP_FAR)
    packet = inner(home)
    assert packet.src == regional and packet.dst == HA and packet[HAO].hoa == HOA
    raw = bytes(packet)
    mh = mh_bytes(raw)
    _sequence, flags, lifetime = bu_fields(mh)
    assert flags & A_FLAG and flags & H_FLAG and not flags & M_FLAG, hex(flags)
    # §6.1: the home binding's lifetime MUST NOT exceed the MAP binding's (40 s granted).
    assert 0 < lifetime <= MAP_GRANTED // 4, lifetime
    if packet.haslayer(MIP6OptAltCoA):
        assert packet[MIP6OptAltCoA].acoa == regional
    check_rfc4285(mh, key=KEY, spi=SPI, nai=NAI, care_of_address=regional, home_address=HOA,
                  sent_at=float(home.time))
    assert mobility_header_checksums(raw) == [True]
    hmn.tester.send(home_ba_through_map(home, MAP_FAR, lcoa))
    deadline = time.monotonic() + 4
    while hmn.state()["mobile_node"]["registered_care_of_address"] != regional:
        assert time.monotonic() < deadline, hmn.state()["mobile_node"]
        time.sleep(0.05)


def test_hmip_traffic_is_reverse_tunnelled_from_the_lcoa_to_the_map(hmn):
    lcoa, regional = care_of("ar1"), rcoa(MAP_FAR)
    mark = hmn.tester.mark()
    # The correspondent -> home agent -> RCoA (tunnel) -> MAP -> LCoA (tunnel).
    request = IPv6(src=CN, dst=HOA, hlim=60) / ICMPv6EchoRequest(id=9, seq=1, data=b"hmip")
    hmn.tester.send(IPv6(src=MAP_FAR, dst=lcoa) / IPv6(src=HA, dst=regional) / request)
    reply = hmn.tester.expect(lambda p: p[IPv6].nh == 41 and p.haslayer(ICMPv6EchoReply),
                              since=mark, what="reverse-tunnelled Echo Reply")
    # §6.1: outer LCoA -> MAP; inside, the home agent's reverse tunnel from the RCoA
    # (RFC 6275 §11.3.1), then the answer from the home address.
    assert (reply[IPv6].src, reply[IPv6].dst) == (lcoa, MAP_FAR)
    middle = inner(reply)
    assert (middle.src, middle.dst, middle.nh) == (regional, HA, 41)
    answer = IPv6(bytes(middle.payload))
    assert (answer.src, answer.dst) == (HOA, CN) and answer[ICMPv6EchoReply].data == b"hmip"


def test_hmip_a_new_lcoa_in_the_same_domain_is_registered_only_with_the_map(hmn):
    mark = hmn.tester.mark()
    advertise(hmn, "ar2", *DOMAIN)
    lcoa = care_of("ar2")
    bu = hmn.tester.expect(is_local_bu(MAP_FAR, lcoa), since=mark, timeout=DAD + 5,
                           what="local BU from the new LCoA")
    assert bu[HAO].hoa == rcoa(MAP_FAR)
    mh = mh_bytes(bytes(bu[IPv6]))
    sequence, flags, _lifetime = bu_fields(mh)
    # RFC 6275 §11.7.1: a sequence number greater (modulo 2**16) than the previous BU's.
    assert 0 < (sequence - _hmip["sequence"]) % 65536 < 32768, (sequence, _hmip["sequence"])
    assert flags & A_FLAG and flags & M_FLAG
    check_rfc4285(mh, key=MAP_KEY, spi=MAP_SPI, nai=MAP_NAI, care_of_address=lcoa,
                  home_address=rcoa(MAP_FAR), sent_at=float(bu.time))
    mark = hmn.tester.mark()
    hmn.tester.send(map_ba(bu))
    # §6.1: "it should only register its new LCoA with its MAP": the RCoA is unchanged.
    hmn.tester.absent(lambda p: is_tunnelled_home_bu(p) or (
        p.haslayer(MIP6MH_BU) and p[IPv6].dst == HA), since=mark, wait=1.5)
    _hmip["bu2"] = bu


def test_hmip_a_map_with_valid_lifetime_zero_is_left_for_another(hmn):
    lcoa = care_of("ar2")
    mark = hmn.tester.mark()
    # §7.1, §10: Valid Lifetime 0 is a MAP failure: the node MUST choose another MAP and
    # create new bindings.
    advertise(hmn, "ar2", map_option(MAP_NEAR, dist=1, pref=15),
              map_option(MAP_FAR, dist=2, pref=1, lifetime=0))
    bu = hmn.tester.expect(is_local_bu(MAP_NEAR, lcoa), since=mark, timeout=4,
                           what="local BU to the other MAP")
    assert bu[HAO].hoa == rcoa(MAP_NEAR)
    check_rfc4285(mh_bytes(bytes(bu[IPv6])), key=MAP_KEY, spi=MAP_SPI, nai=MAP_NAI,
                  care_of_address=lcoa, home_address=rcoa(MAP_NEAR), sent_at=float(bu.time))
    # The new RCoA goes to the home agent once this MAP accepts it (§6.1).
    mark = hmn.tester.mark()
    hmn.tester.send(map_ba(bu))
    home = hmn.tester.expect(is_tunnelled_home_bu, since=mark, timeout=4,
                             what="home BU with the new RCoA")
    assert (home[IPv6].src, home[IPv6].dst) == (lcoa, MAP_NEAR)
    assert inner(home).src == rcoa(MAP_NEAR)
    hmn.tester.send(home_ba_through_map(home, MAP_NEAR, lcoa))


def test_hmip_status_135_resynchronises_the_sequence_number(hmn):
    mark = hmn.tester.mark()
    _hmip["new_domain"] = mark
    # A new domain (ar3): MAP_D and MAP_E at the same distance, MAP_D preferred (§7.1).
    advertise(hmn, "ar3", map_option(MAP_D, dist=1, pref=10), map_option(MAP_E, dist=1,
                                                                         pref=5))
    lcoa = care_of("ar3")
    bu = hmn.tester.expect(is_local_bu(MAP_D, lcoa), since=mark, timeout=DAD + 5,
                           what="local BU to MAP_D")
    sequence, _flags, _lifetime = bu_fields(mh_bytes(bytes(bu[IPv6])))
    last_accepted = (sequence + 5000) % 65536
    mark = hmn.tester.mark()
    # RFC 6275 §11.7.3 (RFC 5380 §6.1: no new codes): 135 carries the last accepted number;
    # the next BU must be newer than it.
    hmn.tester.send(map_ba(bu, status=135, sequence=last_accepted, lifetime=0))
    again = hmn.tester.expect(is_local_bu(MAP_D, lcoa), since=mark, timeout=4,
                              what="local BU after 135")
    resent, _flags, _lifetime = bu_fields(mh_bytes(bytes(again[IPv6])))
    assert 0 < (resent - last_accepted) % 65536 < 32768, (resent, last_accepted)
    _hmip["bu_d"] = again


def test_hmip_a_refused_local_bu_gives_no_home_registration_of_that_rcoa(hmn):
    bu = _hmip["bu_d"]
    lcoa = care_of("ar3")
    mark = hmn.tester.mark()
    # 129 (administratively prohibited): the MAP has no binding; the node must not give the
    # home agent an RCoA nobody forwards (§6.1: registered after the MAP's acceptance).
    hmn.tester.send(map_ba(bu, status=129, lifetime=0))
    wait_event(hmn, "map.rejected", 0)
    following = hmn.tester.expect(lambda p: p.haslayer(MIP6MH_BU) and p[IPv6].dst != MAP_D
                                  and p[IPv6].src == lcoa, since=mark, timeout=4,
                                  what="the node's next registration")
    assert not (is_tunnelled_home_bu(following) and inner(following).src == rcoa(MAP_D))
    hmn.tester.absent(lambda p: is_tunnelled_home_bu(p) and inner(p).src == rcoa(MAP_D),
                      since=mark, wait=0.5)
    # [mipshop's choice, RFC 5380 leaves it open] the next MAP in §9.1 order is tried.
    assert is_local_bu(MAP_E, lcoa)(following), following.summary()


def test_hmip_entering_a_new_domain_updates_the_previous_map(hmn):
    lcoa, previous = care_of("ar3"), rcoa(MAP_NEAR)
    # §6.1: "a mobile node SHOULD send a local BU to its previous MAP, specifying its new
    # LCoA": the previous RCoA in the Home Address option, from the new LCoA, M and A set,
    # MN-MAP authenticated over (new LCoA, previous RCoA).
    bu = hmn.tester.expect(is_local_bu(MAP_NEAR, lcoa), since=_hmip["new_domain"],
                           what="local BU to the previous MAP")
    assert bu[HAO].hoa == previous
    mh = mh_bytes(bytes(bu[IPv6]))
    _sequence, flags, lifetime = bu_fields(mh)
    assert flags & A_FLAG and flags & M_FLAG and lifetime > 0
    check_rfc4285(mh, key=MAP_KEY, spi=MAP_SPI, nai=MAP_NAI, care_of_address=lcoa,
                  home_address=previous, sent_at=float(bu.time))


def test_hmip_no_icmpv6_error_answered_anything_the_tester_sent(hmn):
    # Every BA and tunnelled packet above was for the node and taken (RFC 4443 §3.1).
    errors = [p.summary() for p in hmn.tester.since(0)
              if (m := icmpv6_message(p)) is not None and m[0] < 128]
    assert errors == []


@pytest.mark.tshark
def test_hmip_wireshark_dissects_every_frame_the_mobile_node_sent(hmn):
    stacks, complaints = dissection_problems(hmn.tester)
    assert any("mipv6" in stack for stack in stacks), set(stacks)
    assert complaints == [], complaints


# == FMIPv6: the fast handover client (RFC 5568, RFC 4260 triggers) ================================

#: The PAR (ar1: its global address in the RA's Prefix Information option with R set, RFC
#: 6275 §7.2) and the NAR (ar2), each with one access point.
PAR = "2001:db8:10::1"
NAR = "2001:db8:20::1"
PAR_AP = "00005e00aa01"
NAR_AP = "00005e00aa02"
#: The MN-PAR handover key (RFC 5568 §6.4.5, §10).
HANDOVER_SPI, HANDOVER_KEY = 3000, hashlib.sha1(b"mn-par handover key").digest()
#: Asked in the FBU, in seconds; 4-second units on the wire (docs/decisions.md D1).
FBU_LIFETIME = 40
#: The access link's round-trip time: FBU and RtSolPr retransmissions every 2 x RTT,
#: doubling (§6.1.1, docs/decisions.md D7): 2 s, then 4 s, then 8 s; nothing crosses a test.
RTT = 1.0


def fmip_config() -> dict[str, Any]:
    config = mn_config()
    config["mobile_node"]["fast_handover"] = {
        "spi": HANDOVER_SPI, "key": HANDOVER_KEY.hex(), "fbu_lifetime": FBU_LIFETIME,
        "rtt": RTT}
    return config


def access_router_advertisement(router: str, address: str) -> Packet:
    """An access router's RA with its global address in a Prefix Information option with
    the R flag (RFC 6275 §7.2), as the mobile node learns the PAR's address."""
    link_local, mac, _prefix = AR[router]
    return (IPv6(src=link_local, dst="ff02::1", hlim=255)
            / ICMPv6ND_RA(routerlifetime=1800, prf=0)
            / ICMPv6NDOptSrcLLAddr(lladdr=mac)
            / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, prefix=address,
                                    validlifetime=86400, preferredlifetime=14400))


def home_ba(bu: Packet, *, status: int = 0) -> Packet:
    """The home agent's BA to a home BU sent from a care-of address (RFC 6275 §10.3.1,
    RFC 4285 §5.1.1, §6): Type 2 Routing Header with the home address, MN-HA signed."""
    fields = bu[MIP6MH_BU]
    source = bu[IPv6].src
    coa = fields[MIP6OptAltCoA].acoa if fields.haslayer(MIP6OptAltCoA) else source
    ba = MIP6MH_BA(status=status, seq=fields.seq, mhtime=fields.mhtime, options=[
        MIP6OptMNID(subtype=1, id=NAI.encode()),
        MIP6OptReplayProtection(timestamp=fields[MIP6OptReplayProtection].timestamp),
        MIP6OptMsgAuth(subtype=1, mspi=SPI, authdata=b"\x00" * 12)])
    packet = IPv6(src=HA, dst=source) / IPv6ExtHdrRouting(type=2, segleft=1,
                                                          addresses=[HOA]) / ba
    signed = sign_mn_ha(packet, KEY, care_of=coa, home=HOA)
    return IPv6(with_mh_checksum(bytes(signed), src=HA, dst=HOA))


def is_home_bu_from(source: str):
    def match(p: Packet) -> bool:
        return (p[IPv6].nh != 41 and p.haslayer(MIP6MH_BU) and p[IPv6].dst == HA
                and p[IPv6].src == source)
    return match


def icmpv6_message(p: Packet) -> bytes | None:
    """The ICMPv6 message of ``p`` (no extension headers), or None."""
    raw = bytes(p[IPv6])
    return raw[40:] if raw[6] == 58 else None


def icmpv6_checksum_ok(p: Packet) -> bool:
    raw = bytes(p[IPv6])
    message = raw[40:]
    pseudo = raw[8:40] + struct.pack("!I3xB", len(message), 58)
    return internet_checksum(pseudo + message) == 0


def nd_options(data: bytes) -> list[bytes]:
    """Each ND option (RFC 4861 §4.6: Length in 8 octets) of ``data``, whole."""
    options, at = [], 0
    while at + 2 <= len(data):
        assert data[at + 1], f"ND option of Length 0 at {at}"
        options.append(data[at:at + data[at + 1] * 8])
        at += data[at + 1] * 8
    assert at == len(data), "ND options overrun the message"
    return options


def is_rtsolpr(p: Packet) -> bool:
    message = icmpv6_message(p)
    return message is not None and message[0] == 154 and message[4] == 2


def is_fbu(p: Packet) -> bool:
    try:
        raw = bytes(p[IPv6])
        return raw[6] != 41 and mh_bytes(raw)[2] == 8
    except AssertionError:
        return False


def is_una(ncoa: str):
    """An NA for ``ncoa`` with O clear (§2: the UNA; the NA with O set is another one)."""
    def match(p: Packet) -> bool:
        message = icmpv6_message(p)
        return (message is not None and message[0] == 136 and not message[4] & 0x20
                and IPv6Address(message[8:24]) == IPv6Address(ncoa))
    return match


def lla_option(code: int, mac: str) -> bytes:
    """LLA option (Type 19, §6.4.3): Length in 8 octets (2 for a MAC, docs/decisions.md
    D10), Option-Code, the address, zero padding."""
    data = bytes([19, 2, code]) + bytes.fromhex(mac.replace(":", ""))
    return data + bytes(16 - len(data))


def address_option(code: int, address: str, prefix_length: int) -> bytes:
    """IP Address/Prefix option (Type 17, §6.4.1, Figure 11): Length 3, Option-Code,
    Prefix Length, Reserved (4), the address."""
    return bytes([17, 3, code, prefix_length]) + bytes(4) + IPv6Address(address).packed


def icmpv6(src: str, dst: str, message: bytes) -> Packet:
    """An ICMPv6 message with its checksum (RFC 4443 §2.3), hop limit 255."""
    pseudo = (IPv6Address(src).packed + IPv6Address(dst).packed
              + struct.pack("!I3xB", len(message), 58))
    checksum = internet_checksum(pseudo + message[:2] + b"\x00\x00" + message[4:])
    message = message[:2] + struct.pack("!H", checksum) + message[4:]
    return IPv6(src=src, dst=dst, nh=58, hlim=255) / Raw(message)


def prrtadv(identifier: int, destination: str, *, code: int = 0) -> Packet:
    """PrRtAdv (Type 154, Subtype 3, §6.1.2 Figure 5) from the PAR's link-local address: the
    PAR's LLA (Option-Code 4), then the [AP-ID, AR-Info] tuple: the NAR's AP (1), the NAR's
    LLA (3), its IP address (IP Address option Code 3) and its prefix (Code 4)."""
    par_ll, par_mac, _prefix = AR["ar1"]
    _nar_ll, nar_mac, nar_prefix = AR["ar2"]
    options = (lla_option(4, par_mac) + lla_option(1, NAR_AP) + lla_option(3, nar_mac)
               + address_option(3, NAR, 128) + address_option(4, nar_prefix, 64))
    return icmpv6(par_ll, destination, struct.pack("!BBHBBH", 154, code, 0, 3, 0, identifier)
                  + options)


def badf(key: bytes, care_of_address: str, par: str, mh: bytes) -> bytes:
    """RFC 5568 §6.4.5 with RFC 6275 §6.2.7: First(96, HMAC_SHA1(key, care-of address | PAR
    | MH Data)), MH Data the Mobility Header without the authenticator, Checksum zero; the
    care-of address being the one the message binds (docs/decisions.md D5)."""
    data = mh[:4] + b"\x00\x00" + mh[6:-12]
    message = IPv6Address(care_of_address).packed + IPv6Address(par).packed + data
    return hmac.new(key, message, hashlib.sha1).digest()[:12]


def fback(fbu: Packet, *, status: int = 0, lifetime: int = FBU_LIFETIME,
          alternate: str | None = None, destination: str | None = None) -> Packet:
    """FBack (MH Type 9, §6.2.3 Figure 9) from the PAR: Status, K|Reserved, the FBU's
    Sequence #, Lifetime (4 s units, D1), an Alternate CoA when ``alternate`` (8n+6), the
    BADF last (8n+6, Length 16 = SPI + authenticator, D4) over the NCoA it binds."""
    raw = bytes(fbu[IPv6])
    mh = mh_bytes(raw)
    sequence = struct.unpack_from("!H", mh, 6)[0]
    fbu_options = {kind: data for _at, kind, data in mh_options(mh, 12)}
    ncoa = alternate or (str(IPv6Address(fbu_options[3])) if 3 in fbu_options
                         else fbu[IPv6].src)
    body = struct.pack("!BBHH", status, 0, sequence, lifetime // 4)
    options = b""
    if alternate is not None:
        options += b"\x01\x00" + bytes([3, 16]) + IPv6Address(alternate).packed  # PadN 2: 16
    # BADF at 8n+6: the body ends at 12 (or 12 + 20 = 32 after an Alternate CoA).
    at = 12 + len(options)
    pad = (6 - at) % 8
    options += (b"\x01" + bytes([pad - 2]) + bytes(pad - 2)) if pad > 1 else bytes(pad)
    options += bytes([21, 16]) + struct.pack("!I", HANDOVER_SPI) + bytes(12)
    message = bytes([59, 0, 9, 0, 0, 0]) + body + options
    assert len(message) % 8 == 0, len(message)
    message = message[:1] + bytes([len(message) // 8 - 1]) + message[2:]
    message = message[:-12] + badf(HANDOVER_KEY, ncoa, PAR, message)
    to = destination or fbu[IPv6].src
    return IPv6(with_mh_checksum(bytes(IPv6(src=PAR, dst=to, nh=135, hlim=64) / Raw(message)),
                                 src=PAR, dst=to))


def check_fbu(fbu: Packet, *, source: str, pcoa: str, ncoa: str, alternate: bool) -> int:
    """An FBU as RFC 5568 §6.2.2 (Figure 8) lays it out; returns its Sequence #.

    From ``source`` (PCoA on the PAR's link, NCoA on the NAR's) to the PAR, the Home Address
    option = PCoA; MH Type 8; A and H set, L, K and every other flag clear; Lifetime in 4 s
    units (docs/decisions.md D1); the Alternate CoA = NCoA when sent from the PAR's link
    (``alternate``); an MH-LLA (§6.4.4, Type 7, Option-Code 2, the MN's MAC) if present;
    the BADF (§6.4.5) last, ending the header, Length 16 (SPI + authenticator, D4), the
    handover key's SPI, the authenticator over (NCoA, PAR, MH Data).
    """
    raw = bytes(fbu[IPv6])
    assert fbu[IPv6].src == source and fbu[IPv6].dst == PAR
    assert fbu[IPv6].nh == 60 and fbu[HAO].hoa == pcoa
    mh = mh_bytes(raw)
    assert mh[0] == 59 and mh[2] == 8, (mh[0], mh[2])
    sequence, flags, lifetime = struct.unpack_from("!HHH", mh, 6)
    assert flags == 0xC000, hex(flags)  # A, H; "additional flags ... MUST be set to zero"
    assert lifetime == FBU_LIFETIME // 4, lifetime
    options = mh_options(mh, 12)
    kinds = [kind for _at, kind, _data in options]
    assert kinds[-1] == 21, kinds
    found = {kind: data for _at, kind, data in options}
    if alternate:
        acoa_at = next(at for at, kind, _data in options if kind == 3)
        assert acoa_at % 8 == 6 and IPv6Address(found[3]) == IPv6Address(ncoa)
    if 7 in found:
        assert found[7] == b"\x02" + bytes.fromhex(MN_MAC.replace(":", ""))
    at, _kind, data = options[-1]
    assert len(data) == 16 and at + 18 == len(mh), (len(data), at, len(mh))
    assert struct.unpack("!I", data[:4])[0] == HANDOVER_SPI
    assert data[4:] == badf(HANDOVER_KEY, ncoa, PAR, mh)
    # RFC 6275 §6.1.1: the checksum with the home address (the PCoA) as source.
    assert mobility_header_checksums(raw) == [True]
    return sequence


def check_una(una: Packet, ncoa: str) -> None:
    """RFC 5568 §6.3: the RFC 4861 NA with R = S = O = 0, from the NCoA, to all-nodes (or
    the NAR), hop limit 255, Target = NCoA, a Target Link-layer Address option (RFC 4861
    §4.6.1: Type 2, Length 1) with the MN's MAC."""
    message = icmpv6_message(una)
    assert message is not None and message[0] == 136 and message[1] == 0
    assert icmpv6_checksum_ok(una)
    assert una[IPv6].src == ncoa and una[IPv6].dst in ("ff02::1", NAR)
    assert una[IPv6].hlim == 255
    assert message[4] & 0xE0 == 0, hex(message[4])  # R, S, O all zero
    assert IPv6Address(message[8:24]) == IPv6Address(ncoa)
    options = nd_options(message[24:])
    assert [o[:2] for o in options] == [b"\x02\x01"], options
    assert options[0][2:8] == bytes.fromhex(MN_MAC.replace(":", ""))


def l2(node: NodeUnderTest, event: str, **fields: Any) -> None:
    """An RFC 4260 link-layer trigger on the daemon's control socket."""
    node.control({"cmd": "l2", "event": event, **fields})


def attach(node: NodeUnderTest) -> str:
    """The node on the PAR's link (ar1, its AP): the PCoA after DAD, registered at home.
    The tester answers Neighbor Solicitations for the PAR's and the NAR's global addresses
    (on-link prefixes) with their MACs."""
    node.tester.own(PAR, AR["ar1"][1])
    node.tester.own(NAR, AR["ar2"][1])
    l2(node, "link_up", ap=PAR_AP)
    mark = node.tester.mark()
    node.tester.send(access_router_advertisement("ar1", PAR), src_mac=AR["ar1"][1])
    pcoa = care_of("ar1")
    bu = node.tester.expect(is_home_bu_from(pcoa), since=mark, timeout=DAD + 5,
                            what="home BU from the PCoA")
    node.tester.send(home_ba(bu))
    deadline = time.monotonic() + 4
    while node.state()["mobile_node"]["registered_care_of_address"] != pcoa:
        assert time.monotonic() < deadline, node.state()["mobile_node"]
        time.sleep(0.05)
    return pcoa


def solicit(node: NodeUnderTest) -> Packet:
    """scan -> RtSolPr; answered with a PrRtAdv Code 0 for the NAR's AP."""
    mark = node.tester.mark()
    l2(node, "scan", access_points=[NAR_AP])
    request = node.tester.expect(is_rtsolpr, since=mark, what="RtSolPr")
    message = icmpv6_message(request)
    assert message is not None
    identifier = struct.unpack_from("!H", message, 6)[0]
    seen = len(node.events("fmip.prrtadv"))
    node.tester.send(prrtadv(identifier, request[IPv6].src), src_mac=AR["ar1"][1])
    wait_event(node, "fmip.prrtadv", seen)
    return request


@pytest.fixture(scope="module")
def fmn() -> Iterator[NodeUnderTest]:
    with start(fmip_config()) as node:
        _fmip["pcoa"] = attach(node)
        yield node


_fmip: dict[str, Any] = {}


def test_fmip_a_scan_sends_a_router_solicitation_for_proxy_advertisement(fmn):
    request = solicit(fmn)
    message = icmpv6_message(request)
    assert message is not None
    # §6.1.1 Figure 4: Type 154, Code 0, Subtype 2, Reserved 0, an Identifier; hop limit 255;
    # from an address of the interface, to the access router or all-routers.
    assert (message[0], message[1], message[4], message[5]) == (154, 0, 2, 0)
    assert icmpv6_checksum_ok(request) and request[IPv6].hlim == 255
    assert request[IPv6].src in (_fmip["pcoa"], "fe80::ff:fe00:1")
    assert request[IPv6].dst in ("ff02::2", AR["ar1"][0], PAR)
    options = nd_options(message[8:])
    # §6.4.3: LLA options (Type 19, Length 2 for a MAC, D10); the sender's (Option-Code 4,
    # SHOULD), and the New Access Point's (Option-Code 1, MUST), no wildcard with it.
    assert all(o[0] == 19 and o[1] == 2 for o in options), options
    codes = {o[2]: o[3:9] for o in options}
    assert codes.get(1) == bytes.fromhex(NAR_AP), codes
    assert codes.get(4, bytes.fromhex(MN_MAC.replace(":", ""))) == bytes.fromhex(
        MN_MAC.replace(":", ""))
    assert 0 not in codes
    assert all(o[9:] == bytes(7) for o in options)  # padding zero


def test_fmip_link_going_down_sends_the_predictive_fbu_from_the_pcoa(fmn):
    mark = fmn.tester.mark()
    l2(fmn, "link_going_down", target_ap=NAR_AP)
    fbu = fmn.tester.expect(is_fbu, since=mark, what="predictive FBU")
    pcoa, ncoa = _fmip["pcoa"], care_of("ar2")
    # §6.2.2: from the PAR's link the source is the PCoA and the Alternate CoA the NCoA
    # (formed from the NAR's prefix in the PrRtAdv, §5.2).
    _fmip["sequence"] = check_fbu(fbu, source=pcoa, pcoa=pcoa, ncoa=ncoa, alternate=True)
    _fmip["fbu"] = fbu


def test_fmip_a_tampered_fback_is_ignored_and_the_genuine_one_taken(fmn):
    fbu = _fmip["fbu"]
    genuine = bytes(fback(fbu))
    tampered = bytearray(genuine)
    tampered[-1] ^= 1  # the authenticator's last octet
    mark = fmn.tester.mark()
    fmn.tester.send(IPv6(with_mh_checksum(bytes(tampered), src=PAR, dst=_fmip["pcoa"])))
    fmn.tester.send(IPv6(with_mh_checksum(bytes(tampered), src=PAR, dst=_fmip["pcoa"])))
    time.sleep(0.3)
    assert not fmn.events("fmip.fback")
    fmn.tester.send(IPv6(genuine))
    events = wait_event(fmn, "fmip.fback", 0)
    assert events[-1]["fields"]["status"] == 0
    # The FBack stops the FBU's retransmission (2 x RTT = 2 s here).
    fmn.tester.absent(is_fbu, since=mark, wait=2.5)


def test_fmip_on_the_new_link_an_una_then_the_home_registration_of_the_ncoa(fmn):
    ncoa = care_of("ar2")
    l2(fmn, "link_down")
    mark = fmn.tester.mark()
    l2(fmn, "link_up", ap=NAR_AP)
    una = fmn.tester.expect(is_una(ncoa), since=mark, what="UNA")
    check_una(una, ncoa)
    bu = fmn.tester.expect(is_home_bu_from(ncoa), since=mark, timeout=DAD + 5,
                           what="home BU from the NCoA")
    assert bu.time >= una.time  # §4: the UNA "as soon as it regains connectivity"
    assert bu[MIP6OptAltCoA].acoa == ncoa and bu[HAO].hoa == HOA
    check_rfc4285(mh_bytes(bytes(bu[IPv6])), key=KEY, spi=SPI, nai=NAI, care_of_address=ncoa,
                  home_address=HOA, sent_at=float(bu.time))
    # The FBack came: no reactive FBU from the NCoA (§3.2 case 2 is for a missing FBack).
    fmn.tester.absent(is_fbu, since=mark, wait=0.5)
    fmn.tester.send(home_ba(bu))
    _fmip["una"], _fmip["arrived"] = una, mark


def is_override_na(target: str):
    """A Neighbor Advertisement for ``target`` with the Override flag set."""
    def match(p: Packet) -> bool:
        message = icmpv6_message(p)
        return (message is not None and message[0] == 136 and bool(message[4] & 0x20)
                and IPv6Address(message[8:24]) == IPv6Address(target))
    return match


def test_fmip_once_the_ncoa_is_confirmed_a_neighbor_advertisement_with_o_set(fmn):
    """RFC 5568 §4: "Once the MN has confirmed its NCoA (either through DAD or when provided
    for by the NAR), it SHOULD send a Neighbor Advertisement message with the 'O' bit set, to
    the all-nodes multicast address." Here the FBack (status 0) came on the old link and the
    home agent's BA to the NCoA is the first packet delivered to it on the new link: the
    NCoA is confirmed (docs/decisions.md D30). The frame as RFC 4861 §4.4 lays out an NA
    (§7.2.6: unsolicited, S = 0, with a Target Link-Layer Address option), octet by octet,
    after the UNA (§6.3: O clear), once."""
    ncoa, una = care_of("ar2"), _fmip["una"]
    na = fmn.tester.expect(is_override_na(ncoa), since=_fmip["arrived"],
                           what="Neighbor Advertisement with O set")
    assert float(na.time) >= float(una.time)
    mac = bytes.fromhex(MN_MAC.replace(":", ""))
    frame = bytes(na)
    # Ethernet (RFC 2464 §7): to 33:33 + the group's last 32 bits, from the node's MAC.
    assert frame[:14] == bytes.fromhex("333300000001") + mac + b"\x86\xdd", frame[:14].hex()
    ip = frame[14:]
    # IPv6 header: version 6, traffic class and flow label zero, Payload Length 32, Next
    # Header 58, Hop Limit 255 (RFC 4861 §7.1.2), from the NCoA to ff02::1.
    assert ip[:4] == bytes([0x60, 0, 0, 0]), ip[:4].hex()
    assert struct.unpack("!H", ip[4:6])[0] == 32 == len(ip) - 40
    assert (ip[6], ip[7]) == (58, 255)
    assert ip[8:24] == IPv6Address(ncoa).packed
    assert ip[24:40] == IPv6Address("ff02::1").packed
    message = ip[40:]
    # §4.4: Type 136, Code 0, the checksum (RFC 4443 §2.3), R = 0 (a host), S = 0
    # (unsolicited, and to a multicast address §7.1.2 requires it), O = 1, the 29 Reserved
    # bits zero, Target Address = the NCoA.
    assert (message[0], message[1]) == (136, 0)
    assert icmpv6_checksum_ok(na)
    assert message[4:8] == bytes([0x20, 0, 0, 0]), message[4:8].hex()
    assert message[8:24] == IPv6Address(ncoa).packed
    # The Target Link-Layer Address option (§4.6.1: Type 2, Length 1 in 8 octets, the MAC),
    # the only option (§7.2.6: "the Target Link-Layer Address option SHOULD be included").
    assert message[24:] == bytes([2, 1]) + mac, message[24:].hex()
    # scapy reads it the same way.
    assert (na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (0, 0, 1)
    assert na[ICMPv6ND_NA].tgt == ncoa and na[ICMPv6NDOptDstLLAddr].lladdr == MN_MAC
    # Once for this NCoA, however many packets reach it after.
    fmn.tester.send(home_ba(fmn.tester.expect(is_home_bu_from(ncoa), since=_fmip["arrived"],
                                              what="home BU")))
    time.sleep(0.5)
    sent = [p for p in fmn.tester.since(_fmip["arrived"]) if is_override_na(ncoa)(p)]
    assert len(sent) == 1, [p.summary() for p in sent]
    events = [e["fields"] for e in fmn.events("fmip.override_sent")]
    assert events == [{"ncoa": ncoa, "by": "fback"}], events
    _fmip["override"] = na


@pytest.mark.tshark
def test_fmip_wireshark_reads_the_neighbor_advertisement_with_o_set(fmn):
    from tests.tshark_support import dissect, fields, problems

    ncoa = care_of("ar2")
    (layers,) = dissect([bytes(_fmip["override"][IPv6])])
    assert problems(layers) == []
    assert fields(layers, "icmpv6.type") == ["136"]
    assert [fields(layers, f"icmpv6.nd.na.flag.{flag}") for flag in "rso"] == [
        ["0"], ["0"], ["1"]], layers
    assert fields(layers, "icmpv6.nd.na.target_address") == [ncoa]
    assert fields(layers, "icmpv6.opt.type") == ["2"]
    assert fields(layers, "icmpv6.opt.linkaddr") == [MN_MAC]


def naack_advertisement(destination: str, status: int, address: str | None = None) -> Packet:
    """An RA from the NAR with a NAACK option (Type 20, §6.4.6 Figure 16): Option-Code 0,
    Status, Reserved (4), and for a supplied NCoA the 16-octet address right after it,
    Length 3 (docs/decisions.md D6); to the UNA's source (§6.4.6 MUST)."""
    link_local, mac, _prefix = AR["ar2"]
    option = bytes([20, 1 if address is None else 3, 0, status]) + bytes(4)
    if address is not None:
        option += IPv6Address(address).packed
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    ra += bytes([1, 1]) + bytes.fromhex(mac.replace(":", ""))  # SLLA (RFC 4861 §4.6.1)
    return icmpv6(link_local, destination, ra + option)


def test_fmip_a_naack_with_a_supplied_ncoa_makes_the_node_use_it(fmn):
    ncoa, supplied = care_of("ar2"), "2001:db8:20::beef"
    mark = fmn.tester.mark()
    fmn.tester.send(naack_advertisement(ncoa, 2, supplied), src_mac=AR["ar2"][1])
    # §6.4.6: "The MN MUST use the NCoA if it is supplied with the NAACK option": a UNA for
    # it, the FBU from it (the NAR's link: no Alternate CoA), the home registration of it.
    una = fmn.tester.expect(is_una(supplied), since=mark, what="UNA for the supplied NCoA")
    check_una(una, supplied)
    fbu = fmn.tester.expect(is_fbu, since=mark, what="FBU from the supplied NCoA")
    check_fbu(fbu, source=supplied, pcoa=_fmip["pcoa"], ncoa=supplied, alternate=False)
    bu = fmn.tester.expect(is_home_bu_from(supplied), since=mark, timeout=DAD + 5,
                           what="home BU from the supplied NCoA")
    assert bu[MIP6OptAltCoA].acoa == supplied
    fmn.tester.send(fback(fbu))
    fmn.tester.send(home_ba(bu))


def is_icmpv6_error(p: Packet) -> bool:
    message = icmpv6_message(p)
    return message is not None and message[0] < 128


def test_fmip_a_unicast_neighbor_solicitation_from_the_routers_link_local_is_answered(fmn):
    ncoa = "2001:db8:20::beef"
    link_local, mac, _prefix = AR["ar2"]
    mark = fmn.tester.mark()
    # RFC 4861 §7.2.4 / §7.3.3: the NAR's Neighbor Unreachability Detection probe, unicast
    # from its link-local address to the care-of address: an NA (S = 1) and nothing else.
    fmn.tester.send(IPv6(src=link_local, dst=ncoa, hlim=255) / ICMPv6ND_NS(tgt=ncoa)
                    / ICMPv6NDOptSrcLLAddr(lladdr=mac), src_mac=mac)
    na = fmn.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == ncoa
                           and p[IPv6].dst == link_local, since=mark, what="NA")
    assert na[ICMPv6ND_NA].S == 1 and na[ICMPv6ND_NA].R == 0
    fmn.tester.absent(is_icmpv6_error, since=mark, wait=0.5)


def test_fmip_no_icmpv6_error_answered_any_of_the_routers_messages(fmn):
    # The PrRtAdv (to the PCoA), the NAACK Router Advertisement (to the NCoA), both from a
    # router's link-local address (§6.1.2, §6.4.6 MUST) and both processed by the node: a
    # host that took a packet sends no Destination Unreachable for it (RFC 4443 §3.1: for a
    # packet that "cannot be delivered"; code 2 is a forwarding router's, RFC 4861 §8.2: the
    # node forwards nothing).
    errors = [p.summary() for p in fmn.tester.since(0) if is_icmpv6_error(p)]
    assert errors == []


@pytest.mark.tshark
def test_fmip_wireshark_dissects_every_frame_the_mobile_node_sent(fmn):
    # RtSolPr, FBUs (BADF, MH-LLA), UNAs, home BUs, DAD probes. Wireshark does not know the
    # RtSolPr subtype's options beyond their Type; it must still find nothing malformed.
    stacks, complaints = dissection_problems(fmn.tester)
    assert any("mipv6" in stack for stack in stacks), set(stacks)
    assert complaints == [], complaints


def test_fmip_reactive_fbu_from_the_ncoa_without_an_fback_and_a_refusal_stops_it():
    with start(fmip_config()) as node:
        pcoa, ncoa = attach(node), care_of("ar2")
        solicit(node)
        mark = node.tester.mark()
        l2(node, "link_going_down", target_ap=NAR_AP)
        predictive = node.tester.expect(is_fbu, since=mark, what="predictive FBU")
        first = check_fbu(predictive, source=pcoa, pcoa=pcoa, ncoa=ncoa, alternate=True)
        # No FBack: the node leaves; on the NAR's link (§3.2 case 2, §6.2.2) the UNA and the
        # FBU from the NCoA, its Home Address option still the PCoA, no Alternate CoA needed
        # (the source is the care-of address bound), the BADF over (NCoA, PAR).
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=NAR_AP)
        check_una(node.tester.expect(is_una(ncoa), since=mark, what="UNA"), ncoa)
        reactive = node.tester.expect(lambda p: is_fbu(p) and p[IPv6].src == ncoa,
                                      since=mark, what="reactive FBU")
        sequence = check_fbu(reactive, source=ncoa, pcoa=pcoa, ncoa=ncoa, alternate=False)
        # RFC 6275 §11.7.1 (the FBU is a BU, §6.2.2): a newer sequence number.
        assert 0 < (sequence - first) % 65536 < 32768, (sequence, first)
        # §6.2.3: status 128 refuses it; the node sends no more FBUs for this handover
        # (the next retransmission would be due 2 x RTT = 2 s later).
        mark = node.tester.mark()
        node.tester.send(fback(reactive, status=128, lifetime=0, destination=ncoa))
        events = wait_event(node, "fmip.fback", 0)
        assert events[-1]["fields"]["status"] == 128
        node.tester.absent(is_fbu, since=mark, wait=2.5)
        assert node.events("fmip.stopped")
        # The NCoA was never confirmed (no FBack accepted it): no NA with O set for it (§4).
        assert not any(is_override_na(ncoa)(p) for p in node.tester.since(0))


def predictive_handover(node: NodeUnderTest) -> tuple[str, Packet]:
    """attach, scan, PrRtAdv, link_going_down: the predictive FBU (checked) and the PCoA."""
    pcoa = attach(node)
    solicit(node)
    mark = node.tester.mark()
    l2(node, "link_going_down", target_ap=NAR_AP)
    fbu = node.tester.expect(is_fbu, since=mark, what="predictive FBU")
    check_fbu(fbu, source=pcoa, pcoa=pcoa, ncoa=care_of("ar2"), alternate=True)
    return pcoa, fbu


def test_fmip_an_fback_with_status_1_supplies_the_ncoa_used_on_the_new_link():
    supplied = "2001:db8:20::cafe"
    with start(fmip_config()) as node:
        _pcoa, fbu = predictive_handover(node)
        # §6.2.3: status 1, "NCoA is invalid. Use NCoA supplied in 'alternate' CoA"; the
        # FBack's BADF is over the NCoA it binds (the supplied one, docs/decisions.md D5).
        node.tester.send(fback(fbu, status=1, alternate=supplied))
        events = wait_event(node, "fmip.fback", 0)
        assert events[-1]["fields"]["status"] == 1
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=NAR_AP)
        check_una(node.tester.expect(is_una(supplied), since=mark, what="UNA"), supplied)
        bu = node.tester.expect(lambda p: p.haslayer(MIP6MH_BU) and p[IPv6].dst == HA,
                                since=mark, timeout=DAD + 5, what="home BU")
        assert bu[IPv6].src == supplied and bu[MIP6OptAltCoA].acoa == supplied
        node.tester.absent(lambda p: p[IPv6].src == care_of("ar2"), since=mark, wait=0.3)


def test_fmip_a_naack_with_status_3_sends_the_fbu_naming_the_nars_address():
    with start(fmip_config()) as node:
        pcoa, fbu = predictive_handover(node)
        node.tester.send(fback(fbu))
        wait_event(node, "fmip.fback", 0)
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=NAR_AP)
        node.tester.expect(is_una(care_of("ar2")), since=mark, what="UNA")
        mark = node.tester.mark()
        node.tester.send(naack_advertisement(care_of("ar2"), 3), src_mac=AR["ar2"][1])
        # §6.4.6 status 3: "use NAR's IP address as NCoA in FBU" (the address the PrRtAdv
        # gave, IP Address option Code 3): an FBU whose Alternate CoA is the NAR's address,
        # the BADF over it.
        again = node.tester.expect(is_fbu, since=mark, what="FBU after NAACK 3")
        found = {kind: data for _at, kind, data in mh_options(mh_bytes(bytes(again[IPv6])), 12)}
        assert IPv6Address(found[3]) == IPv6Address(NAR)
        check_fbu(again, source=again[IPv6].src, pcoa=pcoa, ncoa=NAR, alternate=True)


def test_fmip_moving_without_a_prrtadv_sends_the_fbu_once_the_ncoa_is_configured():
    with start(fmip_config()) as node:
        pcoa = attach(node)
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=NAR_AP)
        node.tester.send(access_router_advertisement("ar2", NAR), src_mac=AR["ar2"][1])
        ncoa = care_of("ar2")
        # §6.2.2: "If the MN moves prior to receiving a PrRtAdv message, it SHOULD send an FBU
        # to the PAR after configuring the NCoA on the NAR according to Neighbor Discovery
        # and IPv6 Address Configuration" (so after DAD, RFC 4862 §5.4), from the NCoA; "it
        # cannot transmit an UNA message".
        probe = node.tester.expect(lambda p: p.haslayer(ICMPv6ND_NS)
                                   and p[ICMPv6ND_NS].tgt == ncoa and p[IPv6].src == "::",
                                   since=mark, timeout=3, what="DAD NS for the NCoA")
        fbu = node.tester.expect(is_fbu, since=mark, timeout=DAD + 5, what="FBU")
        assert fbu.time - probe.time >= DAD - 0.05
        check_fbu(fbu, source=ncoa, pcoa=pcoa, ncoa=ncoa, alternate=False)
        assert not any(is_una(ncoa)(p) for p in node.tester.since(mark))
        # §4: the NCoA confirmed "through DAD": the Neighbor Advertisement with O set, once
        # DAD completed (docs/decisions.md D30).
        na = node.tester.expect(is_override_na(ncoa), since=mark, what="NA with O set")
        assert na.time - probe.time >= DAD - 0.05
        assert (na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (0, 0, 1)
        assert na[IPv6].dst == "ff02::1" and na[IPv6].src == ncoa


# -- FMIPv6: retransmissions (RFC 5568 §6.1.1, §6.2.2, §9) --------------------------------

#: A short access-link RTT, so that the whole back-off shows: 2 x RTT = 0.5 s, then 1 s, 2 s.
RETRY_RTT = 0.25
#: RFC 5568 §9 (defaults, not configured here).
RTSOLPR_RETRIES = FBU_RETRIES = 3
#: How late the daemon may send a message after its due time on a loaded machine.
LATE = 3.0
#: How early a timer may fire (the daemon's event loop rounds to its clock resolution).
EARLY = 0.02


def retry_config() -> dict[str, Any]:
    config = fmip_config()
    config["mobile_node"]["fast_handover"]["rtt"] = RETRY_RTT
    return config


def check_backoff(sent: list[Packet], triggered: float) -> None:
    """The i-th transmission (0 = the first) is due ``sum(2 x RTT x 2**k, k < i)`` after the
    trigger (RFC 5568 §6.1.1: "MUST use an exponential backoff", 2 x RTT first; D7 for the
    FBU): it arrives no earlier (timers run late, never early) and, however loaded the
    machine, no later than LATE after it. ``triggered`` is the tester's clock before the
    trigger; the arrival times are the kernel's receive stamps on the same clock."""
    due = 0.0
    for i, packet in enumerate(sent):
        arrived = float(packet.time) - triggered
        assert due - EARLY <= arrived <= due + LATE, (i, round(arrived, 3), due)
        due += 2 * RETRY_RTT * 2 ** i


def test_fmip_an_unanswered_rtsolpr_is_retransmitted_with_backoff_then_fmip_stops():
    """RFC 5568 §6.1.1: with no PrRtAdv "it SHOULD resend the RtSolPr message. Subsequent
    retransmissions can be up to RTSOLPR_RETRIES, but MUST use an exponential backoff in
    which the timeout period (i.e., 2xRTT ...) is doubled prior to each instance of
    retransmission" (rtt configured 0.25 s: 0.5, 1, 2 s); each one an RtSolPr as Figure 4
    (Type 154, Code 0, Subtype 2, hop limit 255, the New AP's LLA). §5.1: with no PrRtAdv
    "even after RTSOLPR_RETRIES, it must assume that the PAR does not support the fast
    handover protocol and stop sending any more RtSolPr messages": no fifth one, not even
    for a later link-going-down trigger towards an AP it knows nothing of."""
    with start(retry_config()) as node:
        attach(node)
        mark = node.tester.mark()
        triggered = time.time()
        l2(node, "scan", access_points=[NAR_AP])
        deadline = time.monotonic() + 3.5 + 2 * LATE
        while len(sent := [p for p in node.tester.since(mark) if is_rtsolpr(p)]) \
                < 1 + RTSOLPR_RETRIES:
            assert time.monotonic() < deadline, [p.summary() for p in sent]
            time.sleep(0.02)
        for packet in sent:
            message = icmpv6_message(packet)
            assert message is not None and (message[0], message[1], message[4]) == (154, 0, 2)
            assert icmpv6_checksum_ok(packet) and packet[IPv6].hlim == 255
            assert bytes.fromhex(NAR_AP) in [o[3:9] for o in nd_options(message[8:])
                                             if o[2] == 1]
        check_backoff(sent, triggered)
        # The fourth timer (4 s) runs out: FMIPv6 stops, nothing more is sent.
        wait_event(node, "fmip.stopped", 0, timeout=4.0 + 2 * LATE)
        mark = node.tester.mark()
        l2(node, "link_going_down", target_ap=NAR_AP)
        node.tester.absent(is_rtsolpr, since=mark, wait=1.5)
        assert len([p for p in node.tester.since(0) if is_rtsolpr(p)]) == 1 + RTSOLPR_RETRIES


def test_fmip_an_unanswered_fbu_is_retransmitted_with_backoff_and_new_sequence_numbers():
    """RFC 5568 §6.2.2 (FBU_RETRIES, §9: 3) on the RtSolPr's schedule (docs/decisions.md D7:
    2 x RTT, doubling): the predictive FBU, unanswered, goes out 1 + FBU_RETRIES times, each
    laid out as §6.2.2 wants (from the PCoA, Alternate CoA = NCoA, BADF); RFC 6275 §11.8 (the
    FBU is a BU, §6.2.2): "Retransmitted Binding Updates MUST use a Sequence Number value
    greater than that used for the previous transmission". §4: "If the MN does not receive
    an FBack message even after retransmitting the FBU for FBU_RETRIES, it must assume that
    fast handover support is not available and stop the protocol operation": no fifth FBU."""
    with start(retry_config()) as node:
        pcoa, ncoa = attach(node), care_of("ar2")
        solicit(node)
        mark = node.tester.mark()
        triggered = time.time()
        l2(node, "link_going_down", target_ap=NAR_AP)
        deadline = time.monotonic() + 3.5 + 2 * LATE
        while len(sent := [p for p in node.tester.since(mark) if is_fbu(p)]) < 1 + FBU_RETRIES:
            assert time.monotonic() < deadline, [p.summary() for p in sent]
            time.sleep(0.02)
        sequences = [check_fbu(p, source=pcoa, pcoa=pcoa, ncoa=ncoa, alternate=True)
                     for p in sent]
        assert all(0 < (b - a) % 65536 < 32768 for a, b in itertools.pairwise(sequences)), \
            sequences
        check_backoff(sent, triggered)
        # The fourth timer (4 s) runs out: the protocol stops, no fifth FBU.
        wait_event(node, "fmip.stopped", 0, timeout=4.0 + 2 * LATE)
        time.sleep(0.5)  # what the daemon might still send after the event
        assert len([p for p in node.tester.since(mark) if is_fbu(p)]) == 1 + FBU_RETRIES


# -- FMIPv6: back on the PAR's link (RFC 5568 §5.6) ------------------------------------------------

def test_fmip_back_on_the_pars_link_before_the_bindings_moved_sends_an_fbu_with_lifetime_0():
    """RFC 5568 §5.6: "An MN returning to the PAR before updating the necessary bindings when
    present on the NAR MUST send a Fast Binding Update with the Home Address equal to the
    MN's PCoA and a lifetime of zero to the PAR." Predictive handover, FBack, the node on the
    NAR's link (UNA) with its home registration of the NCoA unanswered, then back on the
    PAR's AP: an FBU from the PCoA to the PAR, Home Address option = PCoA, A and H set,
    Lifetime 0, the BADF (§6.4.5) last over (PCoA, PAR) under the handover key; its FBack
    ends the FBU's retransmission."""
    with start(fmip_config()) as node:
        pcoa, fbu = predictive_handover(node)
        node.tester.send(fback(fbu))
        wait_event(node, "fmip.fback", 0)
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=NAR_AP)
        node.tester.expect(is_una(care_of("ar2")), since=mark, what="UNA")
        l2(node, "link_down")
        mark = node.tester.mark()
        l2(node, "link_up", ap=PAR_AP)
        back = node.tester.expect(lambda p: is_fbu(p) and p[IPv6].src == pcoa, since=mark,
                                  what="FBU with lifetime 0")
        raw = bytes(back[IPv6])
        assert back[IPv6].dst == PAR and back[IPv6].nh == 60 and back[HAO].hoa == pcoa
        mh = mh_bytes(raw)
        sequence, flags, lifetime = struct.unpack_from("!HHH", mh, 6)
        assert (flags, lifetime) == (0xC000, 0), (hex(flags), lifetime)
        first = struct.unpack_from("!H", mh_bytes(bytes(fbu[IPv6])), 6)[0]
        assert 0 < (sequence - first) % 65536 < 32768, (sequence, first)
        options = mh_options(mh, 12)
        found = {kind: data for _at, kind, data in options}
        # The care-of address bound is the PCoA, the source: an Alternate CoA, if any, is it.
        if 3 in found:
            assert IPv6Address(found[3]) == IPv6Address(pcoa)
        at, kind, data = options[-1]
        assert kind == 21 and len(data) == 16 and at + 18 == len(mh) and at % 8 == 6
        assert struct.unpack("!I", data[:4])[0] == HANDOVER_SPI
        assert data[4:] == badf(HANDOVER_KEY, pcoa, PAR, mh)
        assert mobility_header_checksums(raw) == [True]
        # The PAR's FBack for it ends the retransmissions (the next due 2 x RTT = 2 s on).
        mark = node.tester.mark()
        node.tester.send(fback(back, lifetime=0))
        wait_event(node, "fmip.fback", 1)
        node.tester.absent(is_fbu, since=mark, wait=2.5)


# -- HMIPv6: a MAP's refusals 130 and 133 (RFC 5380 §6.1, RFC 6275 §11.7.3) -----------------

@pytest.mark.parametrize("status", [130, 133])
def test_hmip_a_map_refusing_with_130_or_133_is_left_for_the_next_map(status):
    """RFC 6275 §11.7.3 (RFC 5380 §6.1 adds no codes): a BA with status >= 128 (130
    "Insufficient resources", 133 "Not home agent for this mobile node") refuses the local
    BU; the node "SHOULD record ... that future Binding Updates SHOULD NOT be sent to this
    destination": no more local BUs to that MAP from this LCoA, even when the MAP option is
    advertised again. The refused RCoA is never registered at home (RFC 5380 §6.1: only
    after the MAP's acceptance); [mipshop's choice] the next MAP in §9.1 order is tried, and
    its RCoA registered at home through it once it accepts."""
    with start(hmip_config()) as node:
        maps = (map_option(MAP_D, dist=1, pref=10), map_option(MAP_E, dist=1, pref=5))
        lcoa = care_of("ar1")
        mark = node.tester.mark()
        advertise(node, "ar1", *maps)
        bu = node.tester.expect(is_local_bu(MAP_D, lcoa), since=mark, timeout=DAD + 5,
                                what="local BU to MAP_D")
        assert bu[HAO].hoa == rcoa(MAP_D)
        mark = node.tester.mark()
        node.tester.send(map_ba(bu, status=status, lifetime=0))
        following = node.tester.expect(is_local_bu(MAP_E, lcoa), since=mark, timeout=4,
                                       what="local BU to the next MAP")
        assert following[HAO].hoa == rcoa(MAP_E)
        mh = mh_bytes(bytes(following[IPv6]))
        _sequence, flags, _lifetime = bu_fields(mh)
        assert flags & A_FLAG and flags & M_FLAG
        check_rfc4285(mh, key=MAP_KEY, spi=MAP_SPI, nai=MAP_NAI, care_of_address=lcoa,
                      home_address=rcoa(MAP_E), sent_at=float(following.time))
        node.tester.send(map_ba(following))
        home = node.tester.expect(is_tunnelled_home_bu, since=mark, timeout=4,
                                  what="home BU through the next MAP")
        assert (home[IPv6].dst, inner(home).src) == (MAP_E, rcoa(MAP_E))
        node.tester.send(home_ba_through_map(home, MAP_E, lcoa))
        advertise(node, "ar1", *maps)
        node.tester.absent(lambda p: is_local_bu(MAP_D)(p) or (
            is_tunnelled_home_bu(p) and inner(p).src == rcoa(MAP_D)), since=mark, wait=1.5)
