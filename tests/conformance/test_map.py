"""`mipshop daemon map` against an independent tester on its link (RFC 5380 §4, §6.2, §8 with
RFC 6275 §9.2, §9.5.1, §10.3, §10.4 and RFC 4285 MN-MAP authentication).

The Mobility Anchor Point is "a local home agent" (RFC 5380 §6.2): a mobile node binds its
regional care-of address (RCoA, on the MAP's link, 2001:db8:a1::/64) to its on-link care-of
address (LCoA, on an access link below the MAP: 2001:db8:10::/64 and 2001:db8:20::/64, the
MAP's "valid on-link prefixes") with a local Binding Update (M and A flags, the RCoA in the
Home Address option); the MAP announces a newly served RCoA with an unsolicited Neighbor
Advertisement, intercepts packets for it with proxy Neighbor Advertisements and tunnels them
to the LCoA. RFC 4285 §6 replay protection (144, 145) is checked with timestamps the tester
sets (the MAP's clock is the tester's: one machine).

The tester plays the MAP link's router (``fe80::fffe``), through which the access links and
every correspondent are reached, the mobile nodes at their LCoAs, correspondents, and other
hosts of the MAP's link. Every packet is built here with scapy from the RFC text (the RFC
4285 authenticators computed here with HMAC-SHA1); every assertion is on what the tester
captured. Each test uses its own mobile node identity, so the tests share one daemon; a test
of another configuration starts its own: a MAP that allocates RCoAs (RFC 5380 §5 R flag,
§6.2 with RFC 4877 §9), one with an RCoA in use on its link (RFC 6275 §10.3.1: 134), and an
access router of the MAP's domain (``mipshop daemon ar``) whose Router Advertisements carry
MAP options (RFC 5380 §5 Figure 3, §7), read byte by byte and by tshark.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from ipaddress import IPv6Address

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BU,
    UDP,
    ICMPv6ND_NA,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMAP,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6MH_Generic,
    MIP6OptMNID,
    MIP6OptMsgAuth,
    MIP6OptReplayProtection,
)
from scapy.packet import NoPayload, Packet

from tests.conformance.tester import (
    DUT_MAC,
    MobileIdentity,
    NodeUnderTest,
    dissection_problems,
    mh_offset,
    mobility_header_checksums,
    neighbor_solicitation,
    node_under_test,
    ntp_timestamp,
    settle,
    sign_mn_ha,
)

pytestmark = pytest.mark.netns

MAP = "2001:db8:a1::1"
MAP_LL = "fe80::1"
ROUTER_LL = "fe80::fffe"
ALLOWED = ["2001:db8:10::/64", "2001:db8:20::/64"]
OUTSIDE = "2001:db8:30::"  # an access link of another administrative domain
CN = "2001:db8:100::10"
HOST = "2001:db8:a1::77"  # another host of the MAP's link
HOST_MAC = "02:00:00:00:77:01"
#: Every answer expected from the MAP (no DAD delay: RFC 5380 asks for none on an RCoA).
WAIT = 5.0


def identity(n: int) -> MobileIdentity:
    """Mobile node ``n``: its own NAI, SPI, key and RCoA (the "home address" of its MN-MAP
    security association)."""
    return MobileIdentity(nai=f"mn{n}@map.example.com", spi=3000 + n, key=bytes([n]) * 16,
                          home_address=f"2001:db8:a1::{0x100 + n:x}")


IDENTITIES = [identity(n) for n in range(1, 41)]
_next = iter(IDENTITIES)


def fresh() -> MobileIdentity:
    """A mobile node identity no other test has used."""
    return next(_next)


def lcoa(mn: MobileIdentity, prefix: str = "2001:db8:10::") -> str:
    """The mobile node's on-link care-of address on an access link."""
    return f"{prefix}{mn.spi:x}"


def _setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{MAP_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


def map_node(**table: object) -> AbstractContextManager[NodeUnderTest]:
    """A MAP as net/testbed.py configures one (its address, its interface, the access links'
    prefixes), with the ``[mobility_anchor_point]`` keys in ``table``; the tester plays the
    MAP link's router."""
    config = {"mobility_anchor_point": {
        "address": MAP, "interface": "eth0", "allowed_lcoa_prefixes": ALLOWED, **table}}
    return node_under_test("map", config, setup=_setup, own=[ROUTER_LL])


@pytest.fixture(scope="module")
def anchor() -> Iterator[NodeUnderTest]:
    # One MN-MAP security association per mobile node, naming its RCoA.
    with map_node(credentials=[m.table() for m in IDENTITIES]) as node:
        yield node


# -- the local Binding Update, from the RFC text ----------------------------------------------

def local_bu(mn: MobileIdentity, *, care_of: str, sequence: int, lifetime: float = 60.0,
             flags: str = "AM", rcoa: str | None = None, key: bytes | None = None,
             spi: int | None = None, stamp: float | None = None,
             timestamp: bool = True) -> Packet:
    """A local Binding Update (RFC 5380 §4, §6.1; RFC 6275 §6.1.7; RFC 4285 §5, §6).

    From the LCoA to the MAP; a Destination Options header with the Home Address option
    carrying the RCoA; M and A set; then the Mobile Node Identifier (RFC 4283, subtype 1
    NAI), the Mobility Message Replay Protection option (NTP timestamp) and, last, the
    MN-HA Mobility Message Authentication option (subtype 1) with the MN-MAP SPI and the
    authenticator over (LCoA, RCoA, MH Data). ``timestamp`` False leaves the replay
    protection option out.
    """
    home = rcoa or mn.home_address
    options: list[Packet] = [MIP6OptMNID(subtype=1, id=mn.nai.encode())]
    if timestamp:
        options.append(MIP6OptReplayProtection(timestamp=ntp_timestamp(stamp or time.time())))
    options.append(MIP6OptMsgAuth(subtype=1, mspi=mn.spi if spi is None else spi,
                                  authdata=b"\x00" * 12))
    packet = (IPv6(src=care_of, dst=MAP, hlim=64)
              / IPv6ExtHdrDestOpt(options=[HAO(hoa=home)])
              / MIP6MH_BU(seq=sequence, flags=flags, mhtime=int(lifetime // 4),
                          options=options))
    return sign_mn_ha(packet, mn.key if key is None else key, care_of=care_of, home=home)


def mn_map_authenticator(raw: bytes, key: bytes, *, care_of: str, home: str
                         ) -> tuple[bytes, bytes]:
    """(the authenticator a BA or BU carries, the one RFC 4285 §5.1 asks for), read from
    the raw IPv6 packet: First(96, HMAC_SHA1(key, care-of address | home address | MH Data)),
    MH Data the Mobility Header up to and including the SPI of the authentication option,
    Checksum zero. The options of a BU and of a BA both start 12 octets into the header
    (RFC 6275 §6.1.7, §6.1.8)."""
    mh = bytearray(raw[mh_offset(raw):])
    mh = mh[:(mh[1] + 1) * 8]
    mh[4:6] = b"\x00\x00"
    at = 12
    while at < len(mh) and mh[at] != 9:  # 9: Mobility Message Authentication (RFC 4285 §5)
        at += 1 if mh[at] == 0 else 2 + mh[at + 1]
    assert at < len(mh), "no Mobility Message Authentication option"
    assert mh[at + 1] == 17 and mh[at + 2] == 1, "not an MN-HA option (Length 17, subtype 1)"
    rest = at + 19
    while rest < len(mh):  # RFC 4285 §5.1: the last option (only padding may follow)
        assert mh[rest] in (0, 1), "the authentication option is not the last option"
        rest += 1 if mh[rest] == 0 else 2 + mh[rest + 1]
    message = IPv6Address(care_of).packed + IPv6Address(home).packed + bytes(mh[:at + 7])
    expected = hmac.new(key, message, hashlib.sha1).digest()[:12]
    return bytes(mh[at + 7:at + 19]), expected


def is_ba(sequence: int, destination: str | None = None) -> object:
    return lambda p: p.haslayer(MIP6MH_BA) and p[MIP6MH_BA].seq == sequence and (
        destination is None or p[IPv6].dst == destination)


def register(anchor: NodeUnderTest, mn: MobileIdentity, *, sequence: int = 10,
             lifetime: float = 60.0, care_of: str | None = None) -> Packet:
    """Send a local BU and return the MAP's BA (whatever its status)."""
    address = care_of or lcoa(mn)
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=address, sequence=sequence, lifetime=lifetime))
    return anchor.tester.expect(is_ba(sequence, address), since=mark, timeout=WAIT, what="BA")


def bound(anchor: NodeUnderTest, rcoa: str) -> list[dict[str, object]]:
    """The MAP's Binding Cache entries for ``rcoa``."""
    return [e for e in anchor.state()["binding_cache"] if e["home_address"] == rcoa]


def quiet(anchor: NodeUnderTest, match: object, *, since: int) -> None:
    """Nothing ``match`` accepts came back: first an answer the MAP must give to a
    Mobility Header sent behind the packet under test (``settle``), then a short grace."""
    settle(anchor.tester, node=MAP, prefix="2001:db8:10::")
    anchor.tester.absent(match, since=since, wait=0.3)


def tunnelled_to(address: str) -> object:
    return lambda p: p[IPv6].dst == address and p[IPv6].nh == 41


# -- registration (RFC 5380 §6.2; RFC 6275 §10.3.1; RFC 4285 §5, §6) ---------------------------

def test_local_bu_is_accepted_with_an_authenticated_ba_to_the_lcoa(anchor):
    """RFC 5380 §4, §6.2; RFC 6275 §10.3.1; RFC 4285 §5.1, §6: a local BU (M and A set, the
    RCoA in the Home Address option, from the LCoA, MN-MAP authenticated) is accepted with a
    BA (status 0) to the LCoA carrying a Type 2 Routing Header with the RCoA, authenticated
    by the MAP under the same security association."""
    mn = fresh()
    address = lcoa(mn)
    bu = local_bu(mn, care_of=address, sequence=500, lifetime=120)
    raw = bytes(bu)
    # RFC 5380 §4: the M flag (after K) and the A flag; H clear. RFC 6275 §6.1.7 layout:
    # Sequence (2 octets), then A|H|L|K|M|R|P.
    assert raw[mh_offset(raw) + 8] == 0x88
    sent, expected = mn_map_authenticator(raw, mn.key, care_of=address, home=mn.home_address)
    assert sent == expected  # the tester's own BU is right by its own computation
    mark = anchor.tester.mark()
    anchor.tester.send(bu)
    ba = anchor.tester.expect(is_ba(500), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 0
    assert ba[IPv6].src == MAP and ba[IPv6].dst == address
    # RFC 5380 §6.2: "MUST include a routing header type 2 that contains the mobile node's
    # RCoA" (RFC 6275 §6.4: Segments Left 1, one address).
    rh = ba[IPv6ExtHdrRouting]
    assert rh.type == 2 and rh.segleft == 1 and rh.addresses == [mn.home_address]
    assert 0 < ba[MIP6MH_BA].mhtime * 4 <= 120  # RFC 6275 §10.3.1: at most what was asked
    # RFC 4285 §5.1.1: the BA carries the option under the node's SPI; the authenticator
    # over (care-of address = LCoA, home address = RCoA, the BA's Mobility Header).
    assert ba[MIP6OptMsgAuth].mspi == mn.spi and ba[MIP6OptMsgAuth].subtype == 1
    raw_ba = bytes(ba[IPv6])
    got, expected = mn_map_authenticator(raw_ba, mn.key, care_of=address, home=mn.home_address)
    assert got == expected
    # RFC 4285 §6: the BA MUST carry the replay protection option (the BU's timestamp, by
    # which the node matches it with its BU).
    assert ba[MIP6OptReplayProtection].timestamp == bu[MIP6OptReplayProtection].timestamp
    assert mobility_header_checksums(raw_ba) == [True]  # RFC 6275 §6.1.1
    entries = bound(anchor, mn.home_address)
    assert len(entries) == 1 and entries[0]["care_of_address"] == address


def test_packets_for_the_rcoa_are_tunnelled_to_the_lcoa(anchor):
    """RFC 5380 §6.2: packets addressed to the RCoA are intercepted and encapsulated to the
    LCoA; RFC 6275 §10.4.2 / RFC 2473 §3: outer source the MAP, inner packet intact but its
    hop limit (decremented once, the MAP forwarding it)."""
    mn = fresh()
    assert register(anchor, mn, sequence=510)[MIP6MH_BA].status == 0
    mark = anchor.tester.mark()
    # A correspondent's packet, off-link, arriving through the MAP link's router.
    anchor.tester.send(IPv6(src=CN, dst=mn.home_address, hlim=60) / UDP(sport=7, dport=9)
                       / b"for the mobile node")
    outer = anchor.tester.expect(tunnelled_to(lcoa(mn)), since=mark, timeout=WAIT,
                                 what="tunnelled packet")
    assert outer[IPv6].src == MAP
    inner = IPv6(bytes(outer[IPv6].payload))
    assert inner.src == CN and inner.dst == mn.home_address and inner.hlim == 59
    assert bytes(inner[UDP].payload) == b"for the mobile node"


def _not_proxied(anchor: NodeUnderTest, rcoa: str) -> None:
    """A Neighbor Solicitation for ``rcoa`` gets no answer. The MAP's own address, solicited
    behind it, is answered (the same kernel path): the probe that closes the wait."""
    anchor.tester.own(HOST, HOST_MAC)
    mark = anchor.tester.mark()
    anchor.tester.send(neighbor_solicitation(rcoa, source=HOST, mac=HOST_MAC),
                       src_mac=HOST_MAC)
    anchor.tester.send(neighbor_solicitation(MAP, source=HOST, mac=HOST_MAC), src_mac=HOST_MAC)
    anchor.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == MAP,
                         since=mark, timeout=WAIT, what="NA for the MAP's address")
    anchor.tester.absent(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == rcoa,
                         since=mark, wait=0.3)


@pytest.mark.parametrize("unicast", [False, True])
def test_neighbor_solicitations_for_a_bound_rcoa_get_a_proxy_na(anchor, unicast):
    """RFC 5380 §6.2: packets for the RCoA are intercepted "using proxy Neighbour
    Advertisement", "identical to that of the HA": RFC 6275 §10.4.1, the MAP replies to
    any Neighbor Solicitation for the address (multicast address resolution, unicast
    Neighbour Unreachability Detection) with its own link-layer address, R = 0. (The
    kernel's proxy answers a unicast one only with ``net.ipv6.conf.all.proxy_ndp`` set;
    without it the solicitation was forwarded into the daemon's TUN device and dropped.)"""
    mn = fresh()
    _not_proxied(anchor, mn.home_address)  # before any binding: no address of the MAP's
    assert register(anchor, mn, sequence=520 + unicast)[MIP6MH_BA].status == 0
    mark = anchor.tester.mark()
    anchor.tester.send(neighbor_solicitation(
        mn.home_address, source=HOST, mac=HOST_MAC,
        destination=mn.home_address if unicast else None), src_mac=HOST_MAC)
    na = anchor.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == HOST
                              and p[ICMPv6ND_NA].tgt == mn.home_address, since=mark,
                              timeout=WAIT, what="proxy NA for the RCoA")
    # RFC 6275 §10.4.1: the MAP's own link-layer address for the RCoA, R = 0; RFC 4861
    # §7.2.4: S = 1, and the Target Link-Layer Address option MUST be there for a multicast
    # solicitation (MAY be omitted for a unicast one, the sender's cache being current);
    # O SHOULD be 0 for a proxied address (not asserted).
    assert na.src == DUT_MAC
    if not unicast:
        assert na.haslayer(ICMPv6NDOptDstLLAddr)
    if na.haslayer(ICMPv6NDOptDstLLAddr):
        assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    assert na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].S == 1 and na[IPv6].hlim == 255


def test_a_new_binding_is_announced_with_an_unsolicited_na(anchor):
    """RFC 5380 §6.2: the MAP intercepts "using proxy Neighbour Advertisement", "identical
    to that of the HA": RFC 6275 §10.4.1, when it begins serving it "MUST multicast onto the
    home link a Neighbor Advertisement" for the address, to all-nodes, with a Target
    Link-Layer Address option carrying its own link-layer address, R = 0, S not set, O set
    (RFC 4861 §7.1.2: hop limit 255). One per start of service: a refresh of the binding
    sends none."""
    mn = fresh()

    def announced(p: Packet) -> bool:
        return (p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == mn.home_address
                and p[IPv6].dst == "ff02::1")

    mark = anchor.tester.mark()
    assert register(anchor, mn, sequence=535)[MIP6MH_BA].status == 0
    na = anchor.tester.expect(announced, since=mark, timeout=WAIT, what="unsolicited NA")
    assert na.src == DUT_MAC and na.dst == "33:33:00:00:00:01"
    assert na[IPv6].hlim == 255 and na[IPv6].src == MAP
    assert na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].S == 0 and na[ICMPv6ND_NA].O == 1
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    mark = anchor.tester.mark()
    assert register(anchor, mn, sequence=536)[MIP6MH_BA].status == 0
    quiet(anchor, announced, since=mark)


def test_reverse_tunnel_from_the_lcoa_is_decapsulated_and_forwarded(anchor):
    """RFC 5380 §6.2: the MAP MUST accept packets tunnelled from the mobile node (tunnel
    entry point the LCoA, exit point the MAP) and forwards the inner packet; RFC 6275
    §10.4.5: from any other outer source than the registered care-of address the packet is
    dropped."""
    mn = fresh()
    assert register(anchor, mn, sequence=530)[MIP6MH_BA].status == 0
    inner = IPv6(src=mn.home_address, dst=CN, hlim=64) / UDP(sport=9, dport=7) / b"uplink"

    def forwarded(p: Packet) -> bool:
        return p[IPv6].src == mn.home_address and p[IPv6].dst == CN and p[IPv6].nh == 17

    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src=lcoa(mn), dst=MAP) / inner)
    out = anchor.tester.expect(forwarded, since=mark, timeout=WAIT, what="decapsulated packet")
    assert out[IPv6].hlim == 63 and bytes(out[UDP].payload) == b"uplink"
    # Another node of the access link (or one in no allowed prefix) cannot use the tunnel.
    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src="2001:db8:10::bad", dst=MAP) / inner)
    anchor.tester.send(IPv6(src=f"{OUTSIDE}bad", dst=MAP) / inner)
    quiet(anchor, forwarded, since=mark)


# -- rejections (RFC 6275 §9.5.1, §10.3.1; RFC 4285 §5.1.1; RFC 5380 §4, §6.2) -------------------

def test_wrong_authenticator_gets_146_and_no_binding(anchor):
    """RFC 4285 §5.1.1: the MAP MUST verify the authenticator; on failure it MUST send a
    BA with MIPV6-AUTH-FAIL (146), and creates no binding."""
    mn = fresh()
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=540, key=b"\x00" * 16))
    ba = anchor.tester.expect(is_ba(540), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 146 and ba[IPv6].dst == lcoa(mn)
    assert not bound(anchor, mn.home_address)
    # Nothing is intercepted for the RCoA.
    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src=CN, dst=mn.home_address) / UDP(sport=7, dport=9))
    quiet(anchor, tunnelled_to(lcoa(mn)), since=mark)


def test_unknown_spi_is_silently_discarded(anchor):
    """RFC 4285 §5.1.1: without a shared-key security association for the BU (an SPI the
    MAP does not know) the MAP MUST discard it: no BA, no binding."""
    mn = fresh()
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=550, spi=0x77777))
    quiet(anchor, lambda p: p.haslayer(MIP6MH_BA) and p[IPv6].dst == lcoa(mn), since=mark)
    assert not bound(anchor, mn.home_address)


def test_sequence_number_not_newer_gets_135_with_the_last_accepted_number(anchor):
    """RFC 6275 §9.5.1 (RFC 5380 §6.2: identical to the home agent): a Sequence Number not
    newer than the entry's (modulo 2**16) gets 135, the BA carrying the last accepted
    number; a newer one across the wrap-around is accepted."""
    mn = fresh()
    assert register(anchor, mn, sequence=0xFFFE)[MIP6MH_BA].status == 0
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=0xFFF0))
    ba = anchor.tester.expect(lambda p: p.haslayer(MIP6MH_BA) and p[IPv6].dst == lcoa(mn),
                              since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 135 and ba[MIP6MH_BA].seq == 0xFFFE
    assert ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert [e["sequence"] for e in bound(anchor, mn.home_address)] == [0xFFFE]
    assert register(anchor, mn, sequence=3)[MIP6MH_BA].status == 0  # wraps around: newer


def test_lcoa_outside_the_valid_on_link_prefixes_gets_129(anchor):
    """RFC 5380 §6.2: an LCoA not in the MAP's "valid on-link prefixes" list may be
    rejected "using existing error code 129 (administratively prohibited)"; no binding."""
    mn = fresh()
    outside = lcoa(mn, OUTSIDE)
    ba = register(anchor, mn, sequence=560, care_of=outside)
    assert ba[MIP6MH_BA].status == 129
    assert ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert not bound(anchor, mn.home_address)
    # The same node from an allowed access link is accepted.
    assert register(anchor, mn, sequence=561, care_of=lcoa(mn, "2001:db8:20::"))[
        MIP6MH_BA].status == 0


def test_rcoa_its_security_association_does_not_name_gets_129(anchor):
    """RFC 6275 §10.3.1 (only the right node controls an address; RFC 5380 §6.2: as at a
    home agent): an SA registers the one RCoA it names; another RCoA, of the MAP's prefix
    or not, gets 129 and no binding."""
    mn, other = fresh(), fresh()
    for sequence, rcoa in ((570, other.home_address), (571, "2001:db8:99::1")):
        mark = anchor.tester.mark()
        anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=sequence, rcoa=rcoa))
        ba = anchor.tester.expect(is_ba(sequence), since=mark, timeout=WAIT, what="BA")
        assert ba[MIP6MH_BA].status == 129 and ba[IPv6ExtHdrRouting].addresses == [rcoa]
        assert not bound(anchor, rcoa)


def test_rcoa_outside_the_maps_prefix_gets_132():
    """RFC 5380 §6.2 (the MAP acts as a home agent for the RCoA, "no new error codes") with
    RFC 6275 §10.3.1 / §6.1.8: an RCoA that is not on the MAP's subnet gets 132 (Not home
    subnet), the RCoA in the BA's Type 2 Routing Header; so does one of another /64 of the
    MAP's /48 (RFC 5380 §6: the RCoA is formed from the MAP's subnet prefix, a /64). Every
    security association names an RCoA of the prefix, so only a MAP that also takes
    unauthenticated local BUs can be asked for another one."""
    with map_node(accept_unauthenticated=True) as node:
        mark = node.tester.mark()
        # Each refusal from its own LCoA (answers to refused BUs are rate-limited per source).
        for sequence, rcoa, care_of in ((1, "2001:db8:99::1", "2001:db8:10::999"),
                                        (2, "2001:db8:a1::999", "2001:db8:10::999"),
                                        (3, "2001:db8:a1:1::5", "2001:db8:10::998")):
            node.tester.send(unauthenticated_bu(care_of=care_of, rcoa=rcoa, sequence=sequence))
        for sequence, rcoa in ((1, "2001:db8:99::1"), (3, "2001:db8:a1:1::5")):
            outside = node.tester.expect(is_ba(sequence), since=mark, timeout=WAIT, what="BA")
            assert outside[MIP6MH_BA].status == 132
            assert outside[IPv6ExtHdrRouting].addresses == [rcoa]
            assert not bound(node, rcoa)
        # The same MAP accepts an RCoA of its prefix.
        inside = node.tester.expect(is_ba(2), since=mark, timeout=WAIT, what="BA")
        assert inside[MIP6MH_BA].status == 0


def test_home_registration_without_the_m_flag_gets_131(anchor):
    """RFC 5380 §4: a registration with the MAP has the M flag set; a home registration
    (H set, M clear) asks the MAP to be a home agent: RFC 6275 §6.1.8 status 131 (Home
    registration not supported); no binding."""
    mn = fresh()
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=580, flags="AH"))
    ba = anchor.tester.expect(is_ba(580), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 131 and ba[IPv6].dst == lcoa(mn)
    assert not bound(anchor, mn.home_address)


def test_bu_with_neither_m_nor_h_creates_no_binding(anchor):
    """RFC 5380 §4: "the M and A flags MUST be set to distinguish this registration from a
    BU being sent to the HA or a correspondent node": a BU without M (nor H) is no local
    registration; the MAP, no correspondent node, ignores it [the implementation's choice:
    no BA] and creates no binding."""
    mn = fresh()
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=lcoa(mn), sequence=590, flags="A"))
    quiet(anchor, lambda p: (p.haslayer(MIP6MH_BA) and p[IPv6].dst == lcoa(mn)), since=mark)
    assert not bound(anchor, mn.home_address)


# -- replay protection (RFC 4285 §6; RFC 5380 §6.2) --------------------------------------------

#: RFC 4285 §6 / RFC 1305: 2**32 fractions of a second; NTP seconds count from 1900.
NTP_UNIX = 2_208_988_800


def refused_stamp(ba: Packet, bu: Packet, *, sent_at: float) -> None:
    """RFC 4285 §6: "If the timestamp is not valid, the Home Agent copies only the low-order
    32 bits into the BA, and supplies the high-order 32 bits from its own time of day" (the
    MAP's clock is the tester's: one machine)."""
    got = ba[MIP6OptReplayProtection].timestamp
    assert got & 0xFFFFFFFF == bu[MIP6OptReplayProtection].timestamp & 0xFFFFFFFF
    assert abs((got >> 32) - NTP_UNIX - sent_at) <= 3, (got >> 32) - NTP_UNIX - sent_at


def authenticated_ba(ba: Packet, mn: MobileIdentity, care_of: str) -> None:
    """RFC 4285 §6: the node "MUST authenticate the BA" refusing its timestamp: the MAP signs
    it under the node's SPI (RFC 4285 §5.1.1)."""
    assert ba[MIP6OptMsgAuth].mspi == mn.spi
    got, expected = mn_map_authenticator(bytes(ba[IPv6]), mn.key, care_of=care_of,
                                         home=mn.home_address)
    assert got == expected


@pytest.mark.parametrize("offset", [-60.0, 60.0])
def test_timestamp_outside_the_window_gets_144_and_no_binding(anchor, offset):
    """RFC 4285 §6: after authenticating the BU the MAP (the node's "home agent" for the
    RCoA, RFC 5380 §6.2) "MUST check the Timestamp field for validity": it "MUST be close
    enough" to its time of day (7 s by default, mipshop's default window); an authenticated
    BU whose timestamp is a minute behind or ahead gets MIPV6-ID-MISMATCH (144), with the
    BU's low-order 32 bits and the MAP's own seconds, signed; no binding."""
    mn = fresh()
    address = lcoa(mn)
    now = time.time()
    bu = local_bu(mn, care_of=address, sequence=800, stamp=now + offset)
    mark = anchor.tester.mark()
    anchor.tester.send(bu)
    ba = anchor.tester.expect(is_ba(800, address), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 144
    assert ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    refused_stamp(ba, bu, sent_at=now)
    authenticated_ba(ba, mn, address)
    assert not bound(anchor, mn.home_address)
    # RFC 4285 §6: the node "MUST adjust its timestamp": with its clock right it registers.
    assert register(anchor, mn, sequence=801)[MIP6MH_BA].status == 0


def test_timestamp_not_newer_than_the_last_accepted_gets_144(anchor):
    """RFC 4285 §6: the timestamp "MUST be greater than all previously accepted timestamps
    for the requesting Mobile Node": a BU with a newer Sequence Number but a timestamp
    within the window that is older than, or equal to, the last accepted one gets 144
    (its timestamp refused as in the window case) and leaves the binding as it was; a
    newer timestamp is accepted."""
    mn = fresh()
    now = time.time()
    first = lcoa(mn)
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=first, sequence=810, stamp=now))
    ba = anchor.tester.expect(is_ba(810, first), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 0
    # Each refusal from its own LCoA (answers to refused BUs are rate-limited per source).
    for sequence, stamp, prefix in ((811, now - 0.5, "2001:db8:20::"),
                                    (812, now, "2001:db8:10:0:1::")):
        address = lcoa(mn, prefix)
        bu = local_bu(mn, care_of=address, sequence=sequence, stamp=stamp)
        mark = anchor.tester.mark()
        anchor.tester.send(bu)
        ba = anchor.tester.expect(is_ba(sequence, address), since=mark, timeout=WAIT,
                                  what="BA")
        assert ba[MIP6MH_BA].status == 144, sequence
        refused_stamp(ba, bu, sent_at=time.time())
        authenticated_ba(ba, mn, address)
        entries = bound(anchor, mn.home_address)
        assert [(e["care_of_address"], e["sequence"]) for e in entries] == [(first, 810)]
    assert register(anchor, mn, sequence=813, care_of=lcoa(mn, "2001:db8:20::"))[
        MIP6MH_BA].status == 0


def test_bu_without_a_timestamp_gets_145_and_no_binding(anchor):
    """RFC 4285 §6: when the MAP's policy mandates replay protection by the timestamp (as
    mipshop's does) a BU without the replay protection option is discarded and the BA's
    status is MIPV6-MESG-ID-REQD (145); the BA is signed; no binding."""
    mn = fresh()
    address = lcoa(mn)
    mark = anchor.tester.mark()
    anchor.tester.send(local_bu(mn, care_of=address, sequence=820, timestamp=False))
    ba = anchor.tester.expect(is_ba(820, address), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 145
    authenticated_ba(ba, mn, address)
    assert not bound(anchor, mn.home_address)


# -- de-registration (RFC 6275 §10.3.2) ---------------------------------------------------------

def test_deregistration_is_accepted_and_tunnelling_stops(anchor):
    """RFC 6275 §10.3.2 (RFC 5380 §6.2): a local BU with lifetime 0 removes the binding,
    acknowledged with status 0 and lifetime 0 (Type 2 Routing Header with the RCoA); from
    then on packets for the RCoA are no longer tunnelled and the MAP no longer answers
    Neighbor Solicitations for it."""
    mn = fresh()
    assert register(anchor, mn, sequence=600)[MIP6MH_BA].status == 0
    ba = register(anchor, mn, sequence=601, lifetime=0)
    assert ba[MIP6MH_BA].status == 0 and ba[MIP6MH_BA].mhtime == 0
    assert ba[IPv6].dst == lcoa(mn) and ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert not bound(anchor, mn.home_address)
    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src=CN, dst=mn.home_address) / UDP(sport=7, dport=9) / b"late")
    quiet(anchor, tunnelled_to(lcoa(mn)), since=mark)
    _not_proxied(anchor, mn.home_address)


def test_deregistration_of_an_rcoa_with_no_binding_gets_133(anchor):
    """RFC 6275 §10.3.2 (RFC 5380 §6.2: the MAP processes a local BU as a home agent does):
    a de-registration (lifetime 0) for an address with no Binding Cache entry is rejected
    with 133 (Not home agent for this mobile node), §9.5.1's "no binding for it"; the BA
    goes to the LCoA with the RCoA in its Type 2 Routing Header; nothing is created."""
    mn = fresh()
    ba = register(anchor, mn, sequence=610, lifetime=0)
    assert ba[MIP6MH_BA].status == 133 and ba[IPv6].dst == lcoa(mn)
    assert ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert not bound(anchor, mn.home_address)


def test_full_binding_cache_gets_130():
    """RFC 6275 §10.3.1 / §6.1.8 (RFC 5380 §6.2, "no new error codes"): when the MAP has no
    room for another binding it rejects the BU with 130 (Insufficient resources) and
    creates none; a node already bound still refreshes its entry. A MAP of its own with
    ``max_bindings`` 1."""
    first, second = identity(41), identity(42)
    with map_node(max_bindings=1, credentials=[first.table(), second.table()]) as node:
        assert register(node, first, sequence=1)[MIP6MH_BA].status == 0
        ba = register(node, second, sequence=1)
        assert ba[MIP6MH_BA].status == 130 and ba[IPv6].dst == lcoa(second)
        assert ba[IPv6ExtHdrRouting].addresses == [second.home_address]
        assert not bound(node, second.home_address)
        assert register(node, first, sequence=2)[MIP6MH_BA].status == 0
        assert [e["sequence"] for e in bound(node, first.home_address)] == [2]


# -- RCoA allocation (RFC 5380 §5 R flag, §6, §6.2, §7.1; RFC 4877 §9) ----------------------------

#: Mobile nodes of the allocating MAP, each with an SA naming its RCoA.
ALLOCATED = [identity(n) for n in (50, 51)]


def stateless_rcoa(address: str) -> str:
    """RFC 5380 §6: an RCoA "formed in a stateless manner by combining the mobile node's
    interface identifier and the subnet prefix received in the MAP option" (the /64 of the
    MAP's global address)."""
    low = 2**64 - 1
    return str(IPv6Address((int(IPv6Address(MAP)) & ~low) | (int(IPv6Address(address)) & low)))


def in_map_prefix(address: str) -> bool:
    """Is ``address`` of the MAP's /64, the prefix RCoAs are formed from (RFC 5380 §6)?"""
    return int(IPv6Address(address)) >> 64 == int(IPv6Address(MAP)) >> 64


def unauthenticated_bu(*, care_of: str, rcoa: str, sequence: int, lifetime: float = 60.0
                       ) -> Packet:
    """A local BU (RFC 5380 §4: M and A set, the RCoA in the Home Address option, from the
    LCoA) without the RFC 4285 options, for a MAP that takes unauthenticated ones."""
    return (IPv6(src=care_of, dst=MAP, hlim=64)
            / IPv6ExtHdrDestOpt(options=[HAO(hoa=rcoa)])
            / MIP6MH_BU(seq=sequence, flags="AM", mhtime=int(lifetime // 4)))


@pytest.fixture(scope="module")
def allocating() -> Iterator[NodeUnderTest]:
    """A MAP that allocates RCoAs (``allocate_rcoa``: what an access router's MAP option
    announces with the R flag set, RFC 5380 §5), taking authenticated and unauthenticated
    local BUs; the other host of its link (``HOST``) is in its ``addresses_in_use``."""
    with map_node(allocate_rcoa=True, accept_unauthenticated=True, addresses_in_use=[HOST],
                  credentials=[m.table() for m in ALLOCATED]) as node:
        yield node


def test_an_allocating_map_assigns_the_rcoa_of_the_security_association(allocating):
    """RFC 5380 §6.2: "The MAP employs [RFC4877] Section 9 procedures for the allocation of
    RCoA, and subsequently acts as an HA for the RCoA"; RFC 4877 §9 ties the assigned address
    to the security association [mipshop: an RFC 4285 MN-MAP SA in place of IKEv2, whose
    RCoA is the one assigned]. A node proposing its stateless RCoA (§6) is answered with
    status 0 and a BA whose Type 2 Routing Header carries the assigned RCoA (§6.2: "MUST
    include a routing header type 2 that contains the mobile node's RCoA"), authenticated
    over (LCoA, assigned RCoA) (RFC 4285 §5.1); the MAP then serves the assigned RCoA, not
    the proposed one (§6.2: unsolicited and proxy NAs, tunnel to the LCoA); the node refreshes
    with the assigned RCoA in its Home Address option (§7.1)."""
    mn = ALLOCATED[0]
    address = lcoa(mn)
    proposed = stateless_rcoa(address)
    assert proposed != mn.home_address and in_map_prefix(proposed)
    bu = local_bu(mn, care_of=address, sequence=900, rcoa=proposed)
    mark = allocating.tester.mark()
    allocating.tester.send(bu)
    ba = allocating.tester.expect(is_ba(900, address), since=mark, timeout=WAIT, what="BA")
    assert ba[MIP6MH_BA].status == 0 and ba[IPv6].src == MAP
    rh = ba[IPv6ExtHdrRouting]
    assert rh.type == 2 and rh.segleft == 1 and rh.addresses == [mn.home_address]
    assert ba[MIP6OptMsgAuth].mspi == mn.spi
    got, expected = mn_map_authenticator(bytes(ba[IPv6]), mn.key, care_of=address,
                                         home=mn.home_address)
    assert got == expected
    assert ba[MIP6OptReplayProtection].timestamp == bu[MIP6OptReplayProtection].timestamp
    assert [e["care_of_address"] for e in bound(allocating, mn.home_address)] == [address]
    assert not bound(allocating, proposed)
    announced = allocating.tester.expect(
        lambda p: p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == "ff02::1"
        and p[ICMPv6ND_NA].tgt == mn.home_address, since=mark, timeout=WAIT,
        what="unsolicited NA for the assigned RCoA")
    assert announced[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    assert not [p for p in allocating.tester.since(mark)
                if p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == proposed]
    mark = allocating.tester.mark()
    allocating.tester.send(IPv6(src=CN, dst=mn.home_address) / UDP(sport=7, dport=9) / b"a")
    allocating.tester.expect(tunnelled_to(address), since=mark, timeout=WAIT, what="tunnel")
    _not_proxied(allocating, proposed)
    ba = register(allocating, mn, sequence=901)
    assert ba[MIP6MH_BA].status == 0 and ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert [e["sequence"] for e in bound(allocating, mn.home_address)] == [901]


#: (why, the RCoA an unauthenticated node proposes, whether the MAP keeps it).
PROPOSALS = [
    ("stateless and free", None, True),
    ("outside the MAP's prefix", "2001:db8:99::5", False),
    ("in another /64 of the MAP's /48", "2001:db8:a1:1::5", False),
    ("in use on the MAP's link", HOST, False),
    ("the MAP's own address", MAP, False),
]


@pytest.mark.parametrize(("why", "proposal", "kept"), PROPOSALS,
                         ids=[p[0].replace(" ", "-") for p in PROPOSALS])
def test_an_allocating_map_keeps_a_free_rcoa_of_its_prefix_and_assigns_another_otherwise(
        allocating, why, proposal, kept):
    """RFC 5380 §6: the RCoA is formed from "the subnet prefix received in the MAP option"
    and §6.2 has the MAP allocate it (RFC 4877 §9) [mipshop: a node without an SA keeps its
    proposal when it is of the MAP's /64 and free, and is otherwise given a random free
    address of that /64]: the BA has status 0 and the Type 2 Routing Header of the BA
    carries the RCoA the MAP serves (§6.2), which is of the MAP's /64, neither the MAP's own
    address nor one in use on its link; the binding is that RCoA's, tunnelled to the LCoA."""
    n = next(i for i, p in enumerate(PROPOSALS) if p[0] == why)
    address = f"2001:db8:10::e{n}"
    rcoa = proposal or stateless_rcoa(address)
    sequence = 910 + n
    mark = allocating.tester.mark()
    allocating.tester.send(unauthenticated_bu(care_of=address, rcoa=rcoa, sequence=sequence))
    ba = allocating.tester.expect(is_ba(sequence, address), since=mark, timeout=WAIT,
                                  what="BA")
    assert ba[MIP6MH_BA].status == 0
    (served,) = ba[IPv6ExtHdrRouting].addresses
    if kept:
        assert served == rcoa
    else:
        assert served != rcoa and in_map_prefix(served) and served not in (MAP, HOST)
        assert not bound(allocating, rcoa)
    assert [e["care_of_address"] for e in bound(allocating, served)] == [address]
    mark = allocating.tester.mark()
    allocating.tester.send(IPv6(src=CN, dst=served) / UDP(sport=7, dport=9) / b"u")
    allocating.tester.expect(tunnelled_to(address), since=mark, timeout=WAIT, what="tunnel")


# -- an RCoA in use (RFC 6275 §10.3.1 with RFC 5380 §6.2) ---------------------------------------

#: Two security associations naming the same RCoA, and one naming an RCoA in use on the link.
TWINS = [MobileIdentity(nai=f"twin{n}@map.example.com", spi=3200 + n, key=bytes([0x80 + n]) * 16,
                        home_address="2001:db8:a1::2b") for n in (1, 2)]
SQUATTER = MobileIdentity(nai="squatter@map.example.com", spi=3210, key=b"\x99" * 16,
                          home_address=HOST)
#: The MAP's DAD delay: ``dad_duration`` (RFC 6275 §10.3.1 / RFC 4862 §5.4: RetransTimer x
#: DupAddrDetectTransmits), long enough to tell "after it" from "at once" on a loaded machine.
DAD = 1.5


def test_an_rcoa_in_use_gets_134_and_no_binding():
    """RFC 5380 §6.2: the MAP registers an RCoA "identical to the HA operation"; RFC 6275
    §10.3.1: the home agent "MUST perform Duplicate Address Detection" on the address before
    returning the BA, and rejects with 134 (Duplicate Address Detection failed) when it
    fails. An RCoA another host of the MAP's link holds (the MAP's ``addresses_in_use``)
    gets 134, no sooner than the DAD time, signed, with the RCoA in the Type 2 Routing
    Header; no binding, no Neighbor Advertisement for it. An RCoA already bound for
    another node (another SA naming the same address) gets 134 at once [mipshop's choice,
    as DAD would find it] and its de-registration by that node 133; the binding stays its
    owner's. A refresh is answered without the DAD delay."""
    with map_node(dad_duration=DAD, addresses_in_use=[HOST],
                  credentials=[m.table() for m in (*TWINS, SQUATTER)]) as node:
        address = lcoa(SQUATTER)
        bu = local_bu(SQUATTER, care_of=address, sequence=1)
        mark = node.tester.mark()
        sent = time.time()
        node.tester.send(bu)
        ba = node.tester.expect(is_ba(1, address), since=mark, timeout=DAD + WAIT, what="BA")
        assert ba[MIP6MH_BA].status == 134 and ba.time - sent >= DAD - 0.1
        assert ba[IPv6ExtHdrRouting].addresses == [HOST]
        authenticated_ba(ba, SQUATTER, address)
        assert not bound(node, HOST)
        assert not [p for p in node.tester.since(mark)
                    if p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == HOST]
        owner, other = TWINS
        mark = node.tester.mark()
        sent = time.time()
        ba = register(node, owner, sequence=1)
        assert ba[MIP6MH_BA].status == 0 and ba.time - sent >= DAD - 0.1
        sent = time.time()
        ba = register(node, other, sequence=5)  # newer than the owner's: not refused for it
        assert ba[MIP6MH_BA].status == 134 and ba.time - sent < DAD - 0.1
        assert ba[IPv6ExtHdrRouting].addresses == [owner.home_address]
        authenticated_ba(ba, other, lcoa(other))
        assert register(node, other, sequence=6, lifetime=0)[MIP6MH_BA].status == 133
        assert [e["care_of_address"] for e in bound(node, owner.home_address)] == [lcoa(owner)]
        sent = time.time()
        ba = register(node, owner, sequence=2)
        assert ba[MIP6MH_BA].status == 0 and ba.time - sent < DAD - 0.1


def test_the_maps_own_address_is_no_rcoa():
    """RFC 5380 §6.2 (the MAP registers an RCoA as a home agent a home address) with RFC 6275
    §10.3.1: DAD on the MAP's own address finds it in use (the MAP holds it): a local BU
    naming it, unauthenticated or under an SA that names it, gets 134 with the address in
    the Type 2 Routing Header (the SA's BA signed); the MAP binds nothing for it and sends
    no Neighbor Advertisement announcing it for a mobile node. (Before this was fixed the MAP
    bound its own address, status 0.)"""
    owner = MobileIdentity(nai="self@map.example.com", spi=3220, key=b"\x5a" * 16,
                           home_address=MAP)
    with map_node(accept_unauthenticated=True, credentials=[owner.table()]) as node:
        mark = node.tester.mark()
        node.tester.send(unauthenticated_bu(care_of="2001:db8:10::9a", rcoa=MAP, sequence=1))
        ba = node.tester.expect(is_ba(1, "2001:db8:10::9a"), since=mark, timeout=WAIT,
                                what="BA")
        assert ba[MIP6MH_BA].status == 134 and ba[IPv6ExtHdrRouting].addresses == [MAP]
        ba = register(node, owner, sequence=2)
        assert ba[MIP6MH_BA].status == 134 and ba[IPv6ExtHdrRouting].addresses == [MAP]
        authenticated_ba(ba, owner, lcoa(owner))
        assert not bound(node, MAP)
        assert not [p for p in node.tester.since(mark)
                    if p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == "ff02::1"]

# -- the MAP option in an access router's Router Advertisements (RFC 5380 §5, §7) ----------------

AR = "2001:db8:10::1"
AR_LL = "fe80::10"
OTHER_MAP = "2001:db8:a2::1"
#: What an access router of the MAP's domain is configured with (RFC 5380 §7: "network
#: administrators manually configure the MAP option information in ARs"): this MAP, two hops
#: away, preference 9, allocating RCoAs (R); and a failed MAP (Valid Lifetime 0, §10), on the
#: access link, preference 0, R clear.
MAP_OPTIONS = [
    {"address": MAP, "distance": 2, "preference": 9, "valid_lifetime": 3600, "r_flag": True},
    {"address": OTHER_MAP, "distance": 1, "preference": 0, "valid_lifetime": 0,
     "r_flag": False},
]


def map_option_bytes(option: dict[str, object]) -> bytes:
    """RFC 5380 §5 Figure 3, laid out by hand: Type 23, Length 3 (units of 8 octets), Dist
    (4 bits) and Pref (4 bits), R (the high bit) and 7 reserved bits, zero, Valid Lifetime
    (32 bits), the MAP's global address."""
    first = (int(option["distance"]) << 4) | int(option["preference"])
    flags = 0x80 if option["r_flag"] else 0
    return (struct.pack("!BBBBI", 23, 3, first, flags, int(option["valid_lifetime"]))
            + IPv6Address(str(option["address"])).packed)


def nd_options(raw: bytes, kind: int) -> list[bytes]:
    """The ND options of type ``kind`` in the Router Advertisement ``raw`` (IPv6, no
    extension header), each as its bytes: RFC 4861 §4.2, options after the 16 octets of
    the RA, each Length x 8 octets long (§4.6)."""
    assert raw[6] == 58 and raw[40] == 134, "not a Router Advertisement"
    found, at = [], 40 + 16
    while at < len(raw):
        length = raw[at + 1] * 8
        assert length > 0, "an option of Length 0 (RFC 4861 §4.6: invalid)"
        if raw[at] == kind:
            found.append(raw[at:at + length])
        at += length
    assert at == len(raw), "the options overrun the packet"
    return found


def _ar_setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{AR_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


def access_router(options: list[dict[str, object]]) -> AbstractContextManager[NodeUnderTest]:
    """``mipshop daemon ar`` on the access link 2001:db8:10::/64 with the MAP options
    ``options`` (``[[access_router.map_options]]``)."""
    return node_under_test("ar", {"access_router": {
        "interface": "eth0", "address": AR, "prefix": "2001:db8:10::/64", "link_local": AR_LL,
        "ra_interval": 30.0, "max_ra_delay": 0.0, "map_options": options}},
        setup=_ar_setup, own=[ROUTER_LL])


def is_ra(p: Packet) -> bool:
    return p.haslayer(ICMPv6ND_RA) and p[IPv6].src == AR_LL


@pytest.mark.tshark
def test_an_access_routers_ras_carry_its_map_options_as_figure_3_lays_them_out():
    """RFC 5380 §7: the MAP option information is configured in the access routers, which
    advertise it in their Router Advertisements; §5 Figure 3: Type 23, Length 3, Dist and
    Pref (4 bits each), R then the Reserved bits (zero: RFC 4861 §4.6), Valid Lifetime, the
    MAP's global address. Both options as configured, in order, in the unsolicited RA the
    router sends at start (RFC 4861 §6.2.4) and in the one answering a Router Solicitation;
    tshark's dissector reads the same fields (no complaint)."""
    from tests.tshark_support import dissect, fields, problems

    expected = [map_option_bytes(o) for o in MAP_OPTIONS]
    assert expected[0].hex() == "1703298000000e10" + IPv6Address(MAP).packed.hex()
    with access_router(MAP_OPTIONS) as node:
        unsolicited = node.tester.expect(is_ra, since=0, timeout=WAIT, what="RA at start")
        mark = node.tester.mark()
        node.tester.send(IPv6(src="fe80::77", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
                         / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC), src_mac=HOST_MAC)
        solicited = node.tester.expect(is_ra, since=mark, timeout=WAIT, what="RA")
        for ra in (unsolicited, solicited):
            raw = bytes(ra[IPv6])
            assert nd_options(raw, 23) == expected
            read = [(o.type, o.len, o.dist, o.pref, o.R, o.res, o.validlifetime, o.addr)
                    for o in _scapy_options(ra[ICMPv6ND_RA], ICMPv6NDOptMAP)]
            assert read == [(23, 3, o["distance"], o["preference"], int(bool(o["r_flag"])), 0,
                             o["valid_lifetime"], o["address"]) for o in MAP_OPTIONS]
        trees = dissect([bytes(unsolicited[IPv6]), bytes(solicited[IPv6])])
    for tree in trees:
        assert problems(tree) == []
        assert fields(tree, "icmpv6.opt.map.distance") == ["2", "1"]
        assert fields(tree, "icmpv6.opt.map.preference") == ["9", "0"]
        assert fields(tree, "icmpv6.opt.map.flag.r") == ["1", "0"]
        assert fields(tree, "icmpv6.opt.map.flag.reserved") == ["0", "0"]
        assert fields(tree, "icmpv6.opt.map.valid_lifetime") == ["3600", "0"]
        assert fields(tree, "icmpv6.opt.map.global_address") == [MAP, OTHER_MAP]


def _scapy_options(layer: Packet, kind: type[Packet]) -> list[Packet]:
    """Every ``kind`` layer below ``layer`` (scapy chains the ND options)."""
    found, at = [], layer
    while at is not None and not isinstance(at, NoPayload):
        if isinstance(at, kind):
            found.append(at)
        at = at.payload
    return found


def test_a_map_option_with_distance_0_is_refused_at_start():
    """RFC 5380 §5: "A distance value of zero MUST NOT be used": an access router configured
    with one does not start (and so never advertises it)."""
    bad = [{**MAP_OPTIONS[0], "distance": 0}]
    with pytest.raises(RuntimeError, match="distance"), access_router(bad):
        pass


# -- Mobility Header processing (RFC 6275 §9.2) -------------------------------------------------

def test_unknown_mh_type_gets_binding_error_2(anchor):
    """RFC 6275 §9.2, §9.3.3: a Mobility Header of an unknown MH Type is answered with a
    Binding Error, status 2, to the packet's source, from the MAP."""
    mn = fresh()
    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src=lcoa(mn), dst=MAP)
                       / MIP6MH_Generic(mhtype=42, msg=b"\x00" * 4))
    be = anchor.tester.expect(lambda p: p.haslayer(MIP6MH_BE) and p[IPv6].dst == lcoa(mn),
                              since=mark, timeout=WAIT, what="Binding Error")
    assert be[MIP6MH_BE].status == 2 and be[IPv6].src == MAP
    assert be[MIP6MH_BE].ha == "::"  # no Home Address option in the offending packet
    assert mobility_header_checksums(bytes(be[IPv6])) == [True]


# -- what the MAP sent, as Wireshark reads it ---------------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_map_sent_without_complaint(anchor):
    """Every frame the MAP sent in this module (BAs of every status, Binding Errors, proxy
    NAs, its own NSs, tunnelled and forwarded packets) read by tshark's own dissectors: no
    malformed frame, no expert warning or error, and every Mobility Header checksum right
    (RFC 6275 §6.1.1, which tshark does not check)."""
    mn = fresh()
    assert register(anchor, mn, sequence=700)[MIP6MH_BA].status == 0
    mark = anchor.tester.mark()
    anchor.tester.send(IPv6(src=CN, dst=mn.home_address) / UDP(sport=7, dport=9) / b"x")
    anchor.tester.expect(tunnelled_to(lcoa(mn)), since=mark, timeout=WAIT, what="tunnel")
    stacks, complaints = dissection_problems(anchor.tester)
    for protocol in ("mipv6", "icmpv6", "ipv6:ipv6"):
        assert any(protocol in stack for stack in stacks), protocol
    assert complaints == [], complaints
