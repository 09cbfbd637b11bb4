"""`mipshop daemon ha` against an independent tester on its home link (RFC 6275 §10, §9.2,
§9.3, with RFC 4861/4862 on the home link and RFC 4285 authentication).

The tester plays the home link's default router (``fe80::fffe``), through which everything
off-link goes, the mobile nodes at their care-of addresses (2001:db8:10::/64, behind that
router), correspondents, and other hosts and home agents of the home link. Every packet is
built here with scapy from the RFC text; every assertion is on what the tester captured.
Each test uses its own mobile node identity, so the tests share one daemon.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BU,
    UDP,
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6HAADReply,
    ICMPv6HAADRequest,
    ICMPv6MPAdv,
    ICMPv6MPSol,
    ICMPv6ND_NA,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptHAInfo,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6ParamProblem,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6MH_Generic,
    MIP6OptMsgAuth,
)

from tests.conformance.tester import (
    DUT_MAC,
    MobileIdentity,
    NodeUnderTest,
    dissection_problems,
    home_bu,
    link_local_of,
    mh_offset,
    neighbor_advertisement,
    neighbor_solicitation,
    node_under_test,
    ns_for,
    settle,
    solicited_node,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

HA = "2001:db8:1::1"
HA_LL = "fe80::1"
ROUTER_LL = "fe80::fffe"
PREFIX = "2001:db8:1::/64"
ANYCAST = "2001:db8:1:0:fdff:ffff:ffff:fffe"
CN = "2001:db8:100::10"
HOST_MAC = "02:00:00:00:77:01"
MN_MAC = "02:00:00:00:55:01"
DAD = 0.5


def identity(n: int) -> MobileIdentity:
    """Mobile node ``n``: its own NAI, SPI, key and home address."""
    return MobileIdentity(nai=f"mn{n}@example.com", spi=1000 + n, key=bytes([n]) * 16,
                          home_address=f"2001:db8:1::{0x100 + n:x}")


IDENTITIES = [identity(n) for n in range(1, 81)]
_next = iter(IDENTITIES)


def care_of(mn: MobileIdentity) -> str:
    """The mobile node's care-of address on the visited link 2001:db8:10::/64."""
    return f"2001:db8:10::{mn.spi:x}"


def _setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{HA_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


@pytest.fixture(scope="module")
def ha() -> Iterator[NodeUnderTest]:
    config = {"home_agent": {
        "interface": "eth0", "address": HA, "prefix": PREFIX, "link_local": HA_LL,
        "ra_interval": 30.0, "dad_duration": DAD, "preference": 10,
        "credentials": [m.table() for m in IDENTITIES],
    }}
    with node_under_test("ha", config, setup=_setup, own=[ROUTER_LL]) as node:
        yield node


def fresh() -> MobileIdentity:
    """A mobile node identity no other test has used."""
    return next(_next)


def is_ba(sequence: int) -> object:
    return lambda p: p.haslayer(MIP6MH_BA) and p[MIP6MH_BA].seq == sequence


def register(ha: NodeUnderTest, mn: MobileIdentity, *, sequence: int = 10,
             flags: str = "AH", lifetime: float = 60.0):
    """Send a home registration and return the BA."""
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=sequence, flags=flags,
                           lifetime=lifetime))
    return ha.tester.expect(is_ba(sequence), since=mark, timeout=DAD + 3, what="BA")


# -- registration (§10.3.1) ----------------------------------------------------------------------

def test_home_registration_is_accepted_with_a_ba_to_the_care_of_address(ha):
    mn = fresh()
    ba = register(ha, mn, sequence=500, lifetime=60)
    assert ba[MIP6MH_BA].status == 0
    assert ba[IPv6].src == HA and ba[IPv6].dst == care_of(mn)
    # §6.1.8 / §9.5.4: a Type 2 Routing Header carries the home address.
    rh = ba[IPv6ExtHdrRouting]
    assert rh.type == 2 and rh.segleft == 1 and rh.addresses == [mn.home_address]
    assert ba[MIP6MH_BA].mhtime * 4 <= 60
    # RFC 4285 §5.1.1: the BA is authenticated under the mobile node's SA.
    assert ba.haslayer(MIP6OptMsgAuth) and ba[MIP6OptMsgAuth].mspi == mn.spi


def test_dad_probes_the_home_address_before_the_first_ba(ha):
    mn = fresh()
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=7))
    # §10.3.1 / RFC 4862 §5.4.2: NS from ::, to the solicited-node group, hop limit 255,
    # target = the home address, no Source Link-Layer Address option.
    ns = ha.tester.expect(lambda p: ns_for(p, mn.home_address), since=mark, what="DAD NS")
    assert ns[IPv6].src == "::" and ns[IPv6].dst == solicited_node(mn.home_address)
    assert ns[IPv6].hlim == 255 and not ns.haslayer(ICMPv6NDOptSrcLLAddr)
    ba = ha.tester.expect(is_ba(7), since=mark, timeout=DAD + 3, what="BA")
    assert ba[MIP6MH_BA].status == 0
    assert ba.time - ns.time >= DAD - 0.05  # the BA waits for DAD to complete


def test_dad_answered_by_a_neighbour_gives_134(ha):
    mn = fresh()
    # RFC 4862 §5.4.4: a node using the address answers (to all-nodes, the NS being from ::).
    ha.tester.contest(mn.home_address, neighbor_advertisement(mn.home_address, mac=HOST_MAC),
                      src_mac=HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=21))
    ns = ha.tester.expect(lambda p: ns_for(p, mn.home_address), since=mark, what="DAD NS")
    ba = ha.tester.expect(is_ba(21), since=mark, timeout=DAD + 3, what="BA")
    assert ba.time - ns.time < DAD  # it was the answer, not the end of DAD, that decided
    assert ba[MIP6MH_BA].status == 134
    assert ba[IPv6].dst == care_of(mn) and ba[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert not [e for e in ha.state()["binding_cache"] if e["home_address"] == mn.home_address]


def test_dad_with_the_l_flag_also_probes_the_link_local_address(ha):
    mn = fresh()
    link_local = str(link_local_of(mn.home_address))
    ha.tester.contest(link_local, neighbor_advertisement(link_local, mac=HOST_MAC),
                      src_mac=HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=31, flags="AHL"))
    ns = ha.tester.expect(lambda p: ns_for(p, link_local), since=mark, what="DAD NS (LL)")
    assert ns[IPv6].src == "::" and ns[IPv6].dst == solicited_node(link_local)
    assert ns[IPv6].hlim == 255
    # The link-local address is in use (answered as its probe arrived): the whole
    # registration fails (§10.3.1).
    ba = ha.tester.expect(is_ba(31), since=mark, timeout=DAD + 3, what="BA")
    assert ba[MIP6MH_BA].status == 134 and ba.time - ns.time < DAD


def _unsolicited_nas(packets, target):
    return [p for p in packets if p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == target
            and p[IPv6].dst == "ff02::1"]


def test_acceptance_multicasts_unsolicited_neighbor_advertisements(ha):
    mn = fresh()
    mark = ha.tester.mark()
    register(ha, mn, sequence=41, flags="AHL")
    link_local = str(link_local_of(mn.home_address))
    for target in (mn.home_address, link_local):
        na = ha.tester.expect(lambda p, t=target: bool(_unsolicited_nas([p], t)), since=mark,
                              what=f"unsolicited NA for {target}")
        # §10.4.1: R = 0, S = 0, O = 1, hop limit 255, Target Link-Layer Address = the home
        # agent's own MAC, from an address of the home agent's interface.
        fields = na[ICMPv6ND_NA]
        assert (fields.R, fields.S, fields.O) == (0, 0, 1)
        assert na[IPv6].hlim == 255 and na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
        assert na[IPv6].src in (HA, HA_LL)


def test_without_the_l_flag_only_the_home_address_is_advertised(ha):
    mn = fresh()
    mark = ha.tester.mark()
    register(ha, mn, sequence=45)
    ha.tester.expect(lambda p: bool(_unsolicited_nas([p], mn.home_address)), since=mark,
                     what="unsolicited NA")
    assert not _unsolicited_nas(ha.tester.since(mark), str(link_local_of(mn.home_address)))


HOST = "2001:db8:1::77"


def test_multicast_neighbor_solicitation_for_a_home_address_gets_a_proxy_na(ha):
    mn = fresh()
    register(ha, mn, sequence=51)
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(neighbor_solicitation(mn.home_address, source=HOST, mac=HOST_MAC),
                   src_mac=HOST_MAC)
    na = ha.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == HOST
                          and p[ICMPv6ND_NA].tgt == mn.home_address, since=mark,
                          what="proxy NA")
    # §10.4.1: the home agent's own link-layer address for the target, R = 0; S = 1.
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    assert na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].S == 1 and na[IPv6].hlim == 255


def test_unicast_neighbor_solicitation_is_answered_and_not_tunnelled(ha):
    mn = fresh()
    register(ha, mn, sequence=55)
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    # Neighbour Unreachability Detection: unicast to the address, to the cached MAC.
    ha.tester.send(neighbor_solicitation(mn.home_address, source=HOST, mac=HOST_MAC,
                                         destination=mn.home_address), src_mac=HOST_MAC)
    na = ha.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == HOST
                          and p[ICMPv6ND_NA].tgt == mn.home_address, since=mark,
                          what="proxy NA to a unicast NS")
    assert na[ICMPv6ND_NA].R == 0 and na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    # A Neighbor Advertisement or a Redirect for the home address is home-link business too.
    ha.tester.send(IPv6(src=HOST, dst=mn.home_address, hlim=255)
                   / ICMPv6ND_NA(R=0, S=0, O=0, tgt=HOST), src_mac=HOST_MAC)
    ha.tester.send(IPv6(src=ROUTER_LL, dst=mn.home_address, hlim=255)
                   / ICMPv6ND_Redirect(tgt=ROUTER_LL, dst=CN))
    # §10.4.1: ND addressed to the home link is never tunnelled to the mobile node.
    ha.tester.absent(lambda p: p[IPv6].dst == care_of(mn) and p[IPv6].nh == 41,
                     since=mark, wait=0.5)


@pytest.mark.parametrize("unicast", [False, True])
def test_neighbor_solicitation_for_the_link_local_address_with_l_flag(ha, unicast):
    mn = fresh()
    register(ha, mn, sequence=57, flags="AHL")
    link_local = str(link_local_of(mn.home_address))
    ha.tester.own("fe80::77", HOST_MAC)
    mark = ha.tester.mark()
    # §10.4.1: every Neighbor Solicitation for a proxied address, multicast (address
    # resolution) or unicast (Neighbour Unreachability Detection).
    ha.tester.send(neighbor_solicitation(link_local, source="fe80::77", mac=HOST_MAC,
                                         destination=link_local if unicast else None),
                   src_mac=HOST_MAC)
    na = ha.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == link_local
                          and p[IPv6].dst == "fe80::77", since=mark, what="proxy NA (LL)")
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC and na[ICMPv6ND_NA].R == 0


def test_a_dad_probe_for_a_bound_home_address_is_defended(ha):
    mn = fresh()
    register(ha, mn, sequence=58)
    mark = ha.tester.mark()
    # RFC 4862 §5.4.2: another node probes the home address (NS from ::); §10.4.1: the home
    # agent replies to any Neighbor Solicitation for it; RFC 4861 §7.2.4: to all-nodes, the
    # solicitation's source being unspecified, S = 0.
    ha.tester.send(neighbor_solicitation(mn.home_address, source="::"), src_mac=HOST_MAC)
    na = ha.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[IPv6].dst == "ff02::1"
                          and p[ICMPv6ND_NA].tgt == mn.home_address, since=mark,
                          what="NA defending the home address")
    assert na[ICMPv6ND_NA].S == 0 and na[ICMPv6ND_NA].R == 0 and na[IPv6].hlim == 255
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC


def test_another_nodes_dad_probe_for_the_home_address_gives_134(ha):
    mn = fresh()
    # RFC 4862 §5.4.3: an NS from :: for the tentative address is another node's DAD for
    # it: the address is a duplicate, and §10.3.1 ends the registration with 134.
    ha.tester.contest(mn.home_address, neighbor_solicitation(mn.home_address, source="::"),
                      src_mac=HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=22))
    ns = ha.tester.expect(lambda p: ns_for(p, mn.home_address), since=mark, what="DAD NS")
    ba = ha.tester.expect(is_ba(22), since=mark, timeout=DAD + 3, what="BA")
    assert ba[MIP6MH_BA].status == 134 and ba.time - ns.time < DAD
    assert not [p for p in ha.tester.since(mark) if p.haslayer(ICMPv6ND_NA)
                and p[ICMPv6ND_NA].tgt == mn.home_address]


def test_neighbor_solicitation_for_the_home_agent_address(ha):
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(neighbor_solicitation(HA, source=HOST, mac=HOST_MAC), src_mac=HOST_MAC)
    na = ha.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == HA,
                          since=mark, what="NA for the home agent's address")
    assert na[ICMPv6ND_NA].R == 1 and na[ICMPv6ND_NA].O == 1 and na[ICMPv6ND_NA].S == 1
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC


@pytest.mark.parametrize("source", [HOST, "fe80::77"])
@pytest.mark.parametrize("flags", ["AH", "AHL"])
def test_packets_for_a_mobile_nodes_link_local_address_are_refused(ha, source, flags):
    mn = fresh()
    register(ha, mn, sequence=61, flags=flags)
    ha.tester.own(HOST, HOST_MAC)
    ha.tester.own("fe80::77", HOST_MAC)
    link_local = str(link_local_of(mn.home_address))
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=source, dst=link_local, hlim=64) / UDP(sport=4000, dport=5000)
                   / b"to the link-local address", src_mac=HOST_MAC)
    # §10.4.2: not tunnelled; discarded with Destination Unreachable, code 3.
    du = ha.tester.expect(lambda p: p.haslayer(ICMPv6DestUnreach) and p[IPv6].dst == source,
                          since=mark, what="Destination Unreachable")
    assert du[ICMPv6DestUnreach].code == 3
    assert du[IPv6].src == (HA_LL if source.startswith("fe80") else HA)
    # Not forwarded either: no Redirect, no resolution of the address, no copy on the link.
    ha.tester.absent(lambda p: p.haslayer(ICMPv6ND_Redirect) or ns_for(p, link_local)
                     or (p.haslayer(UDP) and p[IPv6].dst == link_local)
                     or p[IPv6].dst == care_of(mn), since=mark, wait=0.5)


# -- the home agent as a host ----------------------------------------------------------------

def test_echo_request_to_the_home_agent_address_is_answered(ha):
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=HOST, dst=HA) / ICMPv6EchoRequest(id=0x1234, seq=7, data=b"ping"),
                   src_mac=HOST_MAC)
    reply = ha.tester.expect(lambda p: p.haslayer(ICMPv6EchoReply), since=mark, what="reply")
    assert reply[IPv6].src == HA and reply[IPv6].dst == HOST
    echo = reply[ICMPv6EchoReply]
    assert (echo.id, echo.seq, echo.data) == (0x1234, 7, b"ping")


def test_echo_request_with_a_home_address_option_is_answered_at_the_care_of_address(ha):
    mn = fresh()
    register(ha, mn, sequence=71)
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=care_of(mn), dst=HA) / IPv6ExtHdrDestOpt(
        options=[HAO(hoa=mn.home_address)]) / ICMPv6EchoRequest(id=9, seq=1, data=b"away"))
    reply = ha.tester.expect(lambda p: p.haslayer(ICMPv6EchoReply), since=mark, what="reply")
    # §9.3.2: to the care-of address, with a Type 2 Routing Header naming the home address.
    assert reply[IPv6].src == HA and reply[IPv6].dst == care_of(mn)
    rh = reply[IPv6ExtHdrRouting]
    assert rh.type == 2 and rh.segleft == 1 and rh.addresses == [mn.home_address]
    assert reply[ICMPv6EchoReply].data == b"away"


def test_home_address_option_without_a_binding_gets_binding_error_1(ha):
    mn = fresh()
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=care_of(mn), dst=HA) / IPv6ExtHdrDestOpt(
        options=[HAO(hoa=mn.home_address)]) / ICMPv6EchoRequest(id=9, seq=2))
    be = ha.tester.expect(lambda p: p.haslayer(MIP6MH_BE), since=mark, what="Binding Error")
    # §9.3.1, §9.3.3: status 1, Home Address copied from the option, to the source.
    assert be[MIP6MH_BE].status == 1 and be[MIP6MH_BE].ha == mn.home_address
    assert be[IPv6].dst == care_of(mn)
    assert not [p for p in ha.tester.since(mark) if p.haslayer(ICMPv6EchoReply)]


# -- Mobility Header processing (§9.2) --------------------------------------------------------

@pytest.mark.parametrize("with_hao", [False, True])
def test_payload_proto_other_than_59_gets_parameter_problem(ha, with_hao):
    mn = fresh()
    bu = home_bu(mn, care_of=care_of(mn), ha=HA, sequence=81)
    if not with_hao:
        bu = IPv6(src=care_of(mn), dst=HA) / bu[MIP6MH_BU]
    raw = bytearray(bytes(bu))
    raw[mh_offset(bytes(raw))] = 17  # Payload Proto: UDP instead of IPPROTO_NONE (59)
    # The checksum stays right (§9.2 checks it first): the pseudo-header carries the home
    # address when the Home Address option is present (§6.1.1).
    packet = IPv6(with_mh_checksum(bytes(raw), src=mn.home_address if with_hao
                                   else care_of(mn), dst=HA))
    expected_pointer = mh_offset(bytes(packet))  # Payload Proto is the MH's first octet
    assert expected_pointer == (64 if with_hao else 40)
    mark = ha.tester.mark()
    ha.tester.send(packet)
    problem = ha.tester.expect(lambda p: p.haslayer(ICMPv6ParamProblem), since=mark,
                               what="Parameter Problem")
    # §9.2: code 0, Pointer at the Payload Proto field, directly to the packet's source.
    assert problem[ICMPv6ParamProblem].code == 0
    assert problem[ICMPv6ParamProblem].ptr == expected_pointer
    assert problem[IPv6].dst == care_of(mn) and problem[IPv6].src == HA
    assert not [p for p in ha.tester.since(mark) if p.haslayer(MIP6MH_BA)]


def test_header_len_below_the_minimum_gets_parameter_problem_at_header_len(ha):
    mn = fresh()
    # A Binding Update needs Header Len >= 1 (§6.1.7); 0 is too short.
    mh = MIP6MH_Generic(mhtype=5, len=0, msg=b"\x00\x07\x80\x00")
    packet = IPv6(bytes(IPv6(src=care_of(mn), dst=HA) / mh))
    mark = ha.tester.mark()
    ha.tester.send(packet)
    problem = ha.tester.expect(lambda p: p.haslayer(ICMPv6ParamProblem), since=mark,
                               what="Parameter Problem")
    assert problem[ICMPv6ParamProblem].code == 0 and problem[ICMPv6ParamProblem].ptr == 41


def test_bad_checksum_is_silently_discarded(ha):
    mn = fresh()
    bu = home_bu(mn, care_of=care_of(mn), ha=HA, sequence=91)
    raw = bytearray(bytes(bu))
    at = mh_offset(bytes(raw)) + 4
    raw[at] ^= 0xFF
    mark = ha.tester.mark()
    ha.tester.send(IPv6(bytes(raw)))
    settle(ha.tester, node=HA, prefix="2001:db8:10::")
    ha.tester.absent(lambda p: p.haslayer(MIP6MH_BA) or p.haslayer(ICMPv6ParamProblem)
                     or ns_for(p, mn.home_address), since=mark, wait=DAD + 0.5)


def test_unknown_mh_type_gets_binding_error_2(ha):
    mn = fresh()
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=care_of(mn), dst=HA) / MIP6MH_Generic(mhtype=42, msg=b"\x00" * 4))
    be = ha.tester.expect(lambda p: p.haslayer(MIP6MH_BE), since=mark, what="Binding Error")
    assert be[MIP6MH_BE].status == 2 and be[IPv6].dst == care_of(mn)


# -- rejections and de-registration (§10.3.1, §10.3.2) ---------------------------------------

def test_home_address_of_another_identity_gets_129(ha):
    mn, other = fresh(), fresh()
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=100,
                           hoa=other.home_address))
    ba = ha.tester.expect(is_ba(100), since=mark, timeout=DAD + 3, what="BA")
    assert ba[MIP6MH_BA].status == 129


def test_home_address_outside_the_home_prefix_gets_132():
    # Every security association names a home address inside the prefix: only a home agent
    # that also takes unauthenticated Binding Updates can be asked for another prefix.
    with node_under_test("ha", {"home_agent": {
            "interface": "eth0", "address": HA, "prefix": PREFIX, "link_local": HA_LL,
            "ra_interval": 30.0, "dad_duration": DAD, "accept_unauthenticated": True}},
            setup=_setup, own=[ROUTER_LL]) as node:
        mark = node.tester.mark()
        node.tester.send(IPv6(src="2001:db8:10::999", dst=HA)
                         / IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:99::1")])
                         / MIP6MH_BU(seq=101, flags="AH", mhtime=15))
        ba = node.tester.expect(is_ba(101), since=mark, timeout=DAD + 3, what="BA")
        assert ba[MIP6MH_BA].status == 132


def test_a_full_binding_cache_gets_130():
    first, second = identity(90), identity(91)
    with node_under_test("ha", {"home_agent": {
            "interface": "eth0", "address": HA, "prefix": PREFIX, "link_local": HA_LL,
            "ra_interval": 30.0, "dad_duration": DAD, "max_bindings": 1,
            "credentials": [first.table(), second.table()]}},
            setup=_setup, own=[ROUTER_LL]) as node:
        assert register(node, first, sequence=1)[MIP6MH_BA].status == 0
        # §6.1.8 / §10.3.1: no room for another binding: 130 (Insufficient resources),
        # at once, without probing the address.
        mark = node.tester.mark()
        node.tester.send(home_bu(second, care_of=care_of(second), ha=HA, sequence=1))
        ba = node.tester.expect(is_ba(1), since=mark, what="BA")
        assert ba[MIP6MH_BA].status == 130 and ba[IPv6].dst == care_of(second)
        assert not [p for p in node.tester.since(mark) if ns_for(p, second.home_address)]
        # The binding already there is still refreshed.
        assert register(node, first, sequence=2)[MIP6MH_BA].status == 0


def test_deregistration_without_a_binding_gets_133(ha):
    mn = fresh()
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=102, lifetime=0))
    ba = ha.tester.expect(is_ba(102), since=mark, timeout=3, what="BA")
    assert ba[MIP6MH_BA].status == 133


def test_sequence_number_not_newer_gets_135_with_the_last_accepted_number(ha):
    mn = fresh()
    register(ha, mn, sequence=0xFFFE)
    # §9.5.1: modulo 2**16, 0xFFFE is newer than 0x7FFF... and 3 is newer than 0xFFFE.
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=0xFFF0))
    ba = ha.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 135 and ba[MIP6MH_BA].seq == 0xFFFE
    ba = register(ha, mn, sequence=3)  # wraps around: newer
    assert ba[MIP6MH_BA].status == 0


def test_correspondent_registration_for_a_home_entry_gets_139(ha):
    mn = fresh()
    register(ha, mn, sequence=110)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=111, flags="A"))
    ba = ha.tester.expect(is_ba(111), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 139


def test_bad_authenticator_gets_146_and_no_binding(ha):
    mn = fresh()
    forged = MobileIdentity(nai=mn.nai, spi=mn.spi, key=b"\x00" * 16,
                            home_address=mn.home_address)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(forged, care_of=care_of(mn), ha=HA, sequence=120))
    ba = ha.tester.expect(is_ba(120), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 146  # RFC 4285 §5.1.1 MIPV6-AUTH-FAIL
    assert not ns_for(ba, mn.home_address)
    assert not [e for e in ha.state()["binding_cache"] if e["home_address"] == mn.home_address]


def test_deregistration_is_accepted_and_stops_interception(ha):
    mn = fresh()
    register(ha, mn, sequence=130)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=mn.home_address, ha=HA, sequence=131, lifetime=0,
                           source=care_of(mn)))
    ba = ha.tester.expect(is_ba(131), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 0 and ba[MIP6MH_BA].mhtime == 0
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    ha.tester.send(neighbor_solicitation(mn.home_address, source=HOST, mac=HOST_MAC),
                   src_mac=HOST_MAC)
    ha.tester.absent(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == mn.home_address,
                     since=mark, wait=0.5)


def test_a_delayed_older_bu_cannot_recreate_a_deregistered_binding(ha):
    mn = fresh()
    register(ha, mn, sequence=140)
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=mn.home_address, ha=HA, sequence=142, lifetime=0,
                           source=care_of(mn)))
    ha.tester.expect(is_ba(142), since=mark, what="BA of the de-registration")
    # §10.3.2: the entry is kept inactive for MAX_DELETE_BCE_TIMEOUT; a BU sent before the
    # de-registration and delayed in the network arrives now.
    mark = ha.tester.mark()
    ha.tester.send(home_bu(mn, care_of=care_of(mn), ha=HA, sequence=141))
    ba = ha.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, timeout=DAD + 3,
                          what="BA")
    assert ba[MIP6MH_BA].status == 135 and ba[MIP6MH_BA].seq == 142
    assert not [e for e in ha.state()["binding_cache"] if e["home_address"] == mn.home_address]


# -- data plane (§10.4) ------------------------------------------------------------------------

def test_intercepted_packets_are_tunnelled_to_the_care_of_address(ha):
    mn = fresh()
    register(ha, mn, sequence=150)
    mark = ha.tester.mark()
    # A correspondent's packet, arriving through the home link's router.
    ha.tester.send(IPv6(src=CN, dst=mn.home_address, hlim=60) / UDP(sport=7, dport=9)
                   / b"for the mobile node")
    outer = ha.tester.expect(lambda p: p[IPv6].dst == care_of(mn) and p[IPv6].nh == 41,
                             since=mark, what="tunnelled packet")
    # §10.4.2 / RFC 2473: outer source = home agent, inner packet intact but its hop limit.
    assert outer[IPv6].src == HA
    inner = IPv6(bytes(outer[IPv6].payload))
    assert inner.src == CN and inner.dst == mn.home_address and inner.hlim == 59
    assert bytes(inner[UDP].payload) == b"for the mobile node"


def test_reverse_tunnelled_packets_are_forwarded_from_the_registered_care_of_address(ha):
    mn = fresh()
    register(ha, mn, sequence=160)
    inner = IPv6(src=mn.home_address, dst=CN, hlim=64) / UDP(sport=9, dport=7) / b"uplink"
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=care_of(mn), dst=HA) / inner)
    out = ha.tester.expect(lambda p: p[IPv6].src == mn.home_address and p[IPv6].dst == CN,
                           since=mark, what="decapsulated packet")
    assert out[IPv6].hlim == 63 and bytes(out[UDP].payload) == b"uplink"
    # §10.4.5: from any other outer source the packet is dropped.
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src="2001:db8:10::bad", dst=HA) / inner)
    ha.tester.absent(lambda p: p[IPv6].src == mn.home_address and p[IPv6].dst == CN,
                     since=mark, wait=0.5)


# -- DHAAD, the Home Agents List, mobile prefixes (§10.5, §10.6) -------------------------------

def test_dhaad_request_to_the_anycast_address_is_answered(ha):
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src="2001:db8:10::d", dst=ANYCAST) / ICMPv6HAADRequest(id=0x4242))
    reply = ha.tester.expect(lambda p: p.haslayer(ICMPv6HAADReply), since=mark, what="reply")
    # §10.5.1: from one of the home agent's global unicast addresses, to the requester.
    assert reply[IPv6].src == HA and reply[IPv6].dst == "2001:db8:10::d"
    assert reply[ICMPv6HAADReply].id == 0x4242 and HA in reply[ICMPv6HAADReply].addresses


def test_mobile_prefix_solicitation_is_answered_with_a_routing_header(ha):
    mn = fresh()
    register(ha, mn, sequence=170)
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src=care_of(mn), dst=HA) / IPv6ExtHdrDestOpt(
        options=[HAO(hoa=mn.home_address)]) / ICMPv6MPSol(id=0x77))
    adv = ha.tester.expect(lambda p: p.haslayer(ICMPv6MPAdv), since=mark, what="MPA")
    # §10.6.3 / §6.8: to the solicitation's source, Type 2 Routing Header, identifier echoed.
    assert adv[IPv6].src == HA and adv[IPv6].dst == care_of(mn)
    assert adv[IPv6ExtHdrRouting].addresses == [mn.home_address]
    assert adv[ICMPv6MPAdv].id == 0x77
    assert adv[ICMPv6NDOptPrefixInfo].prefix == "2001:db8:1::1"


def _home_agent_ra(source: str, address: str, *, preference: int | None, lifetime: int,
                   h_bit: bool = True) -> IPv6:
    """A Router Advertisement of another home agent of the link (RFC 6275 §7.1, §7.2, §7.4):
    H bit, the Home Agent Information option, a Prefix Information option with R set and the
    home agent's full address."""
    ra = (IPv6(src=source, dst="ff02::1", hlim=255)
          / ICMPv6ND_RA(H=int(h_bit), routerlifetime=1800, prf=0)
          / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, prefix=address,
                                  validlifetime=86400, preferredlifetime=14400))
    if preference is not None:
        ra = ra / ICMPv6NDOptHAInfo(pref=preference, lifetime=lifetime)
    return ra


#: What the home agent counts for every valid Router Advertisement it applies to its list.
_RA_OUTCOMES = tuple(f"home_agents.{outcome}"
                     for outcome in ("created", "updated", "deleted", "ignored", "full"))


def _ras_applied(ha: NodeUnderTest) -> int:
    counters = ha.state()["entity_counters"]
    return sum(counters.get(key, 0) for key in _RA_OUTCOMES)


def _advertise(ha: NodeUnderTest, *ras: tuple[IPv6, str]) -> None:
    """Send Router Advertisements ``(packet, source MAC)`` and wait until the home agent has
    applied them all: they reach it on another path than the DHAAD requests that follow
    (link-scope packets are read from the link, the anycast address from the TUN device), so
    a fixed sleep would race them on a loaded machine."""
    before = _ras_applied(ha)
    for ra, mac in ras:
        ha.tester.send(ra, src_mac=mac)
    deadline = time.monotonic() + 10
    while _ras_applied(ha) < before + len(ras):
        assert time.monotonic() < deadline, "the home agent did not apply the RAs"
        time.sleep(0.02)


def _dhaad(ha: NodeUnderTest, identifier: int) -> list[str]:
    mark = ha.tester.mark()
    ha.tester.send(IPv6(src="2001:db8:10::d", dst=ANYCAST) / ICMPv6HAADRequest(id=identifier))
    reply = ha.tester.expect(lambda p: p.haslayer(ICMPv6HAADReply)
                             and p[ICMPv6HAADReply].id == identifier, since=mark, what="reply")
    return list(reply[ICMPv6HAADReply].addresses)


def test_home_agents_list_is_learnt_from_router_advertisements(ha):
    agents = {"fe80::2": ("2001:db8:1::2", 20), "fe80::3": ("2001:db8:1::3", 5),
              "fe80::4": ("2001:db8:1::4", 10)}  # this home agent's preference is 10 too
    _advertise(ha, *[(_home_agent_ra(source, address, preference=preference, lifetime=100),
                      f"02:00:00:00:44:0{n}")
                     for n, (source, (address, preference)) in enumerate(agents.items())])
    orders = set()
    for identifier in range(20):
        listed = _dhaad(ha, 0x5000 + identifier)
        # §10.5.1: every home agent, in decreasing preference; equal preferences shuffled
        # for every reply.
        assert listed[0] == "2001:db8:1::2" and listed[-1] == "2001:db8:1::3"
        assert set(listed[1:3]) == {HA, "2001:db8:1::4"} and len(listed) == 4
        orders.add(tuple(listed[1:3]))
    assert len(orders) == 2
    # §10.5.1: a zero lifetime deletes the entry; so does an RA without the H bit.
    _advertise(ha, (_home_agent_ra("fe80::2", "2001:db8:1::2", preference=20, lifetime=0),
                    "02:00:00:00:44:00"),
               (_home_agent_ra("fe80::3", "2001:db8:1::3", preference=None, lifetime=0,
                               h_bit=False), "02:00:00:00:44:01"))
    assert sorted(_dhaad(ha, 0x5100)) == sorted([HA, "2001:db8:1::4"])
    # Without a Home Agent Information option: preference 0, the Router Lifetime.
    _advertise(ha, (_home_agent_ra("fe80::4", "2001:db8:1::4", preference=None, lifetime=0),
                    "02:00:00:00:44:02"))
    assert _dhaad(ha, 0x5200) == [HA, "2001:db8:1::4"]
    _advertise(ha, (_home_agent_ra("fe80::4", "2001:db8:1::4", preference=10, lifetime=0),
                    "02:00:00:00:44:02"))


def test_a_home_agents_list_entry_expires_with_its_lifetime(ha):
    _advertise(ha, (_home_agent_ra("fe80::5", "2001:db8:1::5", preference=30, lifetime=4),
                    "02:00:00:00:44:05"))
    applied = time.monotonic()
    listed = _dhaad(ha, 0x5300)
    if time.monotonic() - applied < 3.0:  # the reply left well within the lifetime
        assert listed[0] == "2001:db8:1::5"
    # §10.5.1: the entry lives for the Home Agent Lifetime of the option (4 s here), then
    # it is deleted; the home agent's own entry stays.
    time.sleep(max(4.5 - (time.monotonic() - applied), 0))
    assert _dhaad(ha, 0x5301) == [HA]


# -- the interface's own addresses -----------------------------------------------------------

def _refused(ha: NodeUnderTest, change: dict[str, object]) -> str:
    """Start a second daemon in the node's namespace with ``change`` applied to a valid
    configuration; it must refuse to start (exit 2, one line) before touching anything."""
    from mipshop.net.testbed import to_toml

    table = {"interface": "eth0", "address": HA, "prefix": PREFIX, **change}
    path = ha.workdir / "refused.toml"
    path.write_text(to_toml({"daemon": {"name": "refused", "interfaces": ["eth0"],
                                        "tun": "mip9",
                                        "state_file": str(ha.workdir / "refused.sqlite")},
                             "home_agent": table}))
    import os
    import sys

    from tests.conformance.tester import ROOT as SOURCE

    env = dict(os.environ, PYTHONPATH=f"{SOURCE / 'src'}")
    result = ha.exec([sys.executable, "-m", "mipshop.net.daemon", "ha", "--config", str(path)],
                     env=env, timeout=20)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_mac_the_interface_does_not_have_is_refused(ha):
    line = _refused(ha, {"link_local": HA_LL, "link_layer_address": "02:00:00:00:00:99"})
    assert "link_layer_address" in line and "02:00:00:00:00:99" in line and DUT_MAC in line


def test_a_link_local_address_the_interface_does_not_have_is_refused(ha):
    line = _refused(ha, {"link_local": "fe80::99"})
    assert "link_local" in line and "fe80::99" in line


def test_the_interfaces_link_local_address_and_mac_are_the_defaults():
    config = {"home_agent": {"interface": "eth0", "address": HA, "prefix": PREFIX,
                             "ra_interval": 30.0}}
    mac = "02:00:00:00:ab:01"  # not the configuration's default MAC
    with node_under_test("ha", config, dut_mac=mac) as node:
        # The kernel's own link-local address: modified EUI-64 of the MAC (RFC 4291 App. A).
        kernel_ll = "fe80::ff:fe00:ab01"
        mark = node.tester.mark()
        node.tester.send(IPv6(src="fe80::77", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
                         / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC), src_mac=HOST_MAC)
        ra = node.tester.expect(lambda p: p.haslayer(ICMPv6ND_RA), since=mark, what="RA")
        assert ra[IPv6].src == kernel_ll
        assert ra[ICMPv6NDOptSrcLLAddr].lladdr == mac
        # And for Neighbor Advertisements (the defaults are not the configuration's own).
        node.tester.own(HOST, HOST_MAC)
        mark = node.tester.mark()
        node.tester.send(neighbor_solicitation(HA, source=HOST, mac=HOST_MAC), src_mac=HOST_MAC)
        na = node.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == HA,
                                since=mark, what="NA for the home agent's address")
        assert na[ICMPv6NDOptDstLLAddr].lladdr == mac and na.src == mac
        assert na[IPv6].src in (kernel_ll, HA)


def test_a_frame_for_another_link_layer_address_is_not_the_home_agents_business(ha):
    mn = fresh()
    register(ha, mn, sequence=180)
    ha.tester.own(HOST, HOST_MAC)
    mark = ha.tester.mark()
    # A bridge floods unicast frames for an unknown MAC to every port: this one is for
    # another host, whatever its IPv6 destination.
    ha.tester.send(IPv6(src=HOST, dst=str(link_local_of(mn.home_address)))
                   / UDP(sport=1, dport=2), src_mac=HOST_MAC, dst_mac="02:00:00:00:55:55")
    ha.tester.absent(lambda p: p.haslayer(ICMPv6DestUnreach), since=mark, wait=0.5)


@pytest.mark.parametrize("care_of_address", ["fe80::5", "ff0e::5", "::"])
def test_a_care_of_address_that_is_not_unicast_routable_is_silently_discarded(
        ha, care_of_address):
    mn = fresh()
    mark = ha.tester.mark()
    # §6.1.7: the Alternate Care-of Address names a link-local, multicast or unspecified
    # address.
    bu = home_bu(mn, care_of=care_of_address, ha=HA, sequence=190, source=care_of(mn))
    ha.tester.send(bu)
    settle(ha.tester, node=HA, prefix="2001:db8:10::")
    ha.tester.absent(lambda p: p.haslayer(MIP6MH_BA) or ns_for(p, mn.home_address),
                     since=mark, wait=DAD + 0.5)


# -- what the home agent sent, as Wireshark reads it ----------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_home_agent_sent_without_complaint(ha):
    mn = fresh()
    register(ha, mn, sequence=200, flags="AHL")  # DAD, BA, unsolicited NAs
    _dhaad(ha, 0x5400)
    stacks, complaints = dissection_problems(ha.tester)
    # Everything the home agent sent in this module (RAs, DAD and proxy NAs, BAs, Binding
    # Errors, Parameter Problems, tunnelled packets, DHAAD and prefix advertisements, Echo
    # Replies, Destination Unreachables), read by tshark's own dissectors.
    for protocol in ("mipv6", "icmpv6", "ipv6:ipv6"):
        assert any(protocol in stack for stack in stacks), protocol
    assert complaints == [], complaints
