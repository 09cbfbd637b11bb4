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

Nothing here calls mipshop's encoders or authenticators. Each part shares one mobile node
(module-scoped fixtures) and runs in order.
"""

from __future__ import annotations

import hashlib
import hmac
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
    ICMPv6ND_RA,
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


def mh_options(mh: bytes, start: int) -> list[tuple[int, int, bytes]]:
    """(offset, type, data) of the mobility options from ``start``, padding left out."""
    options, at = [], start
    while at < len(mh):
        if mh[at] == 0:
            at += 1
            continue
        if mh[at] != 1:
            options.append((at, mh[at], mh[at + 2:at + 2 + mh[at + 1]]))
        at += 2 + mh[at + 1]
    return options


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
           key: bytes = MAP_KEY) -> Packet:
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
    signed = sign_mn_ha(packet, key, care_of=lcoa, home=regional)
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
    hmn.tester.send(map_ba(bu, routing_header=False))
    # §6.1: MUST silently ignore a BA without a Type 2 Routing Header holding the RCoA.
    wait_event(hmn, "map.ba_ignored", ignored)
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


@pytest.mark.tshark
def test_hmip_wireshark_dissects_every_frame_the_mobile_node_sent(hmn):
    stacks, complaints = dissection_problems(hmn.tester)
    assert any("mipv6" in stack for stack in stacks), set(stacks)
    assert complaints == [], complaints
