"""`mipshop daemon cn` against an independent tester (RFC 6275 §9, §5.2, §6.2.7).

The correspondent is an ordinary host (its address on its interface, applications on plain
sockets) with route optimization. The tester is its link's router (``fe80::fffe``) and,
behind it, mobile nodes: their home addresses (2001:db8:1::/64, whose traffic would come
through their home agent) and care-of addresses (2001:db8:10::/64). Every packet is built
with scapy from the RFC text, return routability included (keygen tokens, Kbm and the
authenticators computed here); every assertion is on what the tester captured.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BE,
    MIP6MH_BRR,
    MIP6MH_BU,
    UDP,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_Redirect,
    ICMPv6NDOptDstLLAddr,
    ICMPv6ParamProblem,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6MH_CoT,
    MIP6MH_CoTI,
    MIP6MH_Generic,
    MIP6MH_HoT,
    MIP6MH_HoTI,
    MIP6OptAltCoA,
    MIP6OptBindingAuthData,
    MIP6OptNonceIndices,
)

from tests.conformance.tester import (
    NodeUnderTest,
    binding_authorization,
    correspondent_bu,
    dissection_problems,
    management_key,
    mh_offset,
    neighbor_solicitation,
    node_under_test,
    settle,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

CN = "2001:db8:100::10"
ROUTER_LL = "fe80::fffe"
CN_MAC = "02:00:00:00:10:10"
ECHO_PORT = 7
#: Sources of the settling probes (:func:`tests.conformance.tester.settle`).
SETTLE_PREFIX = "2001:db8:10::"
_serial = itertools.count(1)

#: A UDP echo server on a plain socket (an unmodified application of the correspondent).
ECHO_SERVER = (
    "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
    f"s.bind(('::', {ECHO_PORT})); print('ready', flush=True)\n"
    "while True:\n data, peer = s.recvfrom(2048); s.sendto(data, peer)")


def mobile() -> tuple[str, str]:
    """A fresh (home address, care-of address) pair."""
    n = next(_serial)
    return f"2001:db8:1::{0x200 + n:x}", f"2001:db8:10::{0x200 + n:x}"


def _setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{CN}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


@pytest.fixture(scope="module")
def cn() -> Iterator[NodeUnderTest]:
    with node_under_test("cn", {"correspondent": {
            "interface": "eth0", "address": CN, "refresh_request_lead": 6.0}},
            setup=_setup, dut_mac=CN_MAC, own=[ROUTER_LL]) as node:
        server = node.spawn([sys.executable, "-c", ECHO_SERVER])
        assert server.stdout is not None and "ready" in server.stdout.readline()
        yield node


def return_routability(cn: NodeUnderTest, hoa: str, coa: str) -> tuple[int, bytes, int, bytes]:
    """RFC 6275 §5.2.5: HoTI from the home address, CoTI from the care-of address; returns
    (home nonce index, home keygen token, care-of nonce index, care-of keygen token)."""
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=hoa, dst=CN) / MIP6MH_HoTI(cookie=b"homecook"))
    cn.tester.send(IPv6(src=coa, dst=CN) / MIP6MH_CoTI(cookie=b"carecook"))
    hot = cn.tester.expect(lambda p: p.haslayer(MIP6MH_HoT) and p[IPv6].dst == hoa,
                           since=mark, what="Home Test")
    cot = cn.tester.expect(lambda p: p.haslayer(MIP6MH_CoT) and p[IPv6].dst == coa,
                           since=mark, what="Care-of Test")
    return (hot[MIP6MH_HoT].index, hot[MIP6MH_HoT].token, cot[MIP6MH_CoT].index,
            cot[MIP6MH_CoT].token)


def bind(cn: NodeUnderTest, hoa: str, coa: str, *, sequence: int = 1, lifetime: float = 60.0):
    """Return routability then a Binding Update with A set; returns (BA, Kbm, tokens)."""
    rr = return_routability(cn, hoa, coa)
    kbm = management_key(rr[1], rr[3])
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(hoa=hoa, coa=coa, cn=CN, sequence=sequence,
                                    lifetime=lifetime, home_index=rr[0], care_of_index=rr[2],
                                    kbm=kbm))
    ba = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    return ba, kbm, rr


def ba_authenticator_ok(ba, kbm: bytes, address: str) -> bool:
    """The BA's Binding Authorization Data checked as §6.2.7 says."""
    raw = bytes(ba[IPv6])
    mh = raw[mh_offset(raw):]
    return mh[-12:] == binding_authorization(kbm, address, CN, mh)


# -- return routability (§9.4) ------------------------------------------------------------------

def test_home_test_init_is_answered_at_the_home_address(cn):
    hoa, _coa = mobile()
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=hoa, dst=CN) / MIP6MH_HoTI(cookie=b"12345678"))
    hot = cn.tester.expect(lambda p: p.haslayer(MIP6MH_HoT), since=mark, what="Home Test")
    # §9.4.3: to the source of the HoTI, cookie copied, nonce index and keygen token.
    assert hot[IPv6].src == CN and hot[IPv6].dst == hoa
    assert hot[MIP6MH_HoT].cookie == b"12345678" and len(hot[MIP6MH_HoT].token) == 8
    assert not hot.haslayer(IPv6ExtHdrRouting)


def test_care_of_test_init_is_answered_at_the_care_of_address(cn):
    _hoa, coa = mobile()
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / MIP6MH_CoTI(cookie=b"abcdefgh"))
    cot = cn.tester.expect(lambda p: p.haslayer(MIP6MH_CoT), since=mark, what="Care-of Test")
    assert cot[IPv6].dst == coa and cot[MIP6MH_CoT].cookie == b"abcdefgh"


@pytest.mark.parametrize("message", [MIP6MH_HoTI, MIP6MH_CoTI])
def test_a_test_init_with_a_home_address_option_is_silently_ignored(cn, message):
    hoa, coa = mobile()
    mark = cn.tester.mark()
    # §9.4.1, §9.4.2: the packet MUST NOT include a Home Address destination option.
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / message(cookie=b"withhao!"))
    settle(cn.tester, node=CN, prefix=SETTLE_PREFIX)
    cn.tester.absent(lambda p: p.haslayer(MIP6MH_HoT) or p.haslayer(MIP6MH_CoT)
                     or (p.haslayer(MIP6MH_BE) and p[IPv6].dst in (hoa, coa))
                     or p.haslayer(ICMPv6ParamProblem), since=mark, wait=0.6)


# -- Binding Updates (§9.5) -----------------------------------------------------------------------

def test_binding_update_with_return_routability_is_accepted(cn):
    hoa, coa = mobile()
    ba, kbm, _rr = bind(cn, hoa, coa, sequence=10, lifetime=60)
    assert ba[MIP6MH_BA].status == 0 and ba[MIP6MH_BA].seq == 10
    # §9.5.4: to the BU's source with a Type 2 Routing Header; §5.2.6: at most 420 s.
    assert ba[IPv6].dst == coa and ba[IPv6ExtHdrRouting].addresses == [hoa]
    assert 0 < ba[MIP6MH_BA].mhtime * 4 <= 60
    assert ba.haslayer(MIP6OptBindingAuthData) and ba_authenticator_ok(ba, kbm, coa)


def test_the_binding_carries_the_correspondents_own_traffic_both_ways(cn):
    hoa, coa = mobile()
    bind(cn, hoa, coa)
    mark = cn.tester.mark()
    # §9.3.1: from the care-of address with a Home Address option; the echo server (a plain
    # socket) sees the home address and answers it; §9.3.2: the answer goes to the care-of
    # address with a Type 2 Routing Header.
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / UDP(sport=5555, dport=ECHO_PORT) / b"optimised")
    reply = cn.tester.expect(lambda p: p.haslayer(UDP) and p[UDP].sport == ECHO_PORT,
                             since=mark, what="echoed datagram")
    assert reply[IPv6].src == CN and reply[IPv6].dst == coa
    assert reply[IPv6ExtHdrRouting].type == 2 and reply[IPv6ExtHdrRouting].addresses == [hoa]
    assert reply[UDP].dport == 5555 and bytes(reply[UDP].payload) == b"optimised"


def test_echo_request_with_a_home_address_option_is_answered_through_the_binding(cn):
    hoa, coa = mobile()
    bind(cn, hoa, coa)
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / ICMPv6EchoRequest(id=3, seq=4, data=b"ro-ping"))
    reply = cn.tester.expect(lambda p: p.haslayer(ICMPv6EchoReply), since=mark, what="reply")
    assert reply[IPv6].dst == coa and reply[IPv6ExtHdrRouting].addresses == [hoa]
    assert reply[ICMPv6EchoReply].data == b"ro-ping"
    assert not [p for p in cn.tester.since(mark) if p.haslayer(ICMPv6ParamProblem)]


def test_deregistration_from_a_foreign_link_uses_the_home_address_in_the_authenticator(cn):
    hoa, coa = mobile()
    _ba, _kbm, rr = bind(cn, hoa, coa, sequence=20)
    # §6.2.7: a de-registration's authenticator covers the home address instead of the
    # care-of address; §5.2.5: Kbm from the home keygen token alone, care-of index ignored.
    kbm = management_key(rr[1], None)
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(hoa=hoa, coa=coa, cn=CN, sequence=21, lifetime=0,
                                    home_index=rr[0], care_of_index=0, kbm=kbm,
                                    signed_address=hoa))
    ba = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 0 and ba[MIP6MH_BA].seq == 21
    assert ba_authenticator_ok(ba, kbm, hoa)  # the BA's too
    # The binding is gone: a Home Address option now gets Binding Error 1 (§9.3.1).
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / UDP(sport=1, dport=ECHO_PORT) / b"x")
    be = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BE), since=mark, what="Binding Error")
    assert be[MIP6MH_BE].status == 1


def test_home_registration_sent_to_a_correspondent_gets_131_with_authorization_data(cn):
    hoa, coa = mobile()
    rr = return_routability(cn, hoa, coa)
    kbm = management_key(rr[1], rr[3])
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(hoa=hoa, coa=coa, cn=CN, sequence=30, lifetime=60,
                                    home_index=rr[0], care_of_index=rr[2], kbm=kbm,
                                    flags="AH"))
    ba = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    # §10.3.1: 131; §9.5.4: with Binding Authorization Data (a key is known).
    assert ba[MIP6MH_BA].status == 131
    assert ba.haslayer(MIP6OptBindingAuthData) and ba_authenticator_ok(ba, kbm, coa)


@pytest.mark.parametrize(("home_ok", "care_of_ok", "status"),
                         [(False, True, 136), (True, False, 137), (False, False, 138)])
def test_unknown_nonce_indices_get_136_137_138_without_authorization_data(
        cn, home_ok, care_of_ok, status):
    hoa, coa = mobile()
    rr = return_routability(cn, hoa, coa)
    kbm = management_key(rr[1], rr[3])
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(
        hoa=hoa, coa=coa, cn=CN, sequence=40, lifetime=60, kbm=kbm,
        home_index=rr[0] if home_ok else (rr[0] + 5000) & 0xFFFF,
        care_of_index=rr[2] if care_of_ok else (rr[2] + 5000) & 0xFFFF))
    ba = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    # §9.5.1 / §9.5.4: sent even... and MUST NOT include Binding Authorization Data.
    assert ba[MIP6MH_BA].status == status and not ba.haslayer(MIP6OptBindingAuthData)


def test_sequence_number_not_newer_gets_135(cn):
    hoa, coa = mobile()
    _ba, kbm, rr = bind(cn, hoa, coa, sequence=500)
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(hoa=hoa, coa=coa, cn=CN, sequence=499, lifetime=60,
                                    home_index=rr[0], care_of_index=rr[2], kbm=kbm))
    ba = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BA), since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 135 and ba[MIP6MH_BA].seq == 500
    assert ba_authenticator_ok(ba, kbm, coa)


def test_a_wrong_authenticator_is_silently_discarded(cn):
    hoa, coa = mobile()
    rr = return_routability(cn, hoa, coa)
    mark = cn.tester.mark()
    cn.tester.send(correspondent_bu(hoa=hoa, coa=coa, cn=CN, sequence=50, lifetime=60,
                                    home_index=rr[0], care_of_index=rr[2],
                                    kbm=b"\x00" * 20))
    settle(cn.tester, node=CN, prefix=SETTLE_PREFIX)
    cn.tester.absent(lambda p: p.haslayer(MIP6MH_BA), since=mark, wait=0.6)


def test_a_care_of_address_that_is_not_unicast_routable_is_silently_discarded(cn):
    hoa, coa = mobile()
    care_of_address = "fe80::5"
    cn.tester.own(care_of_address)
    # Return routability with the link-local address as care-of address: the CN answers it.
    rr = return_routability(cn, hoa, care_of_address)
    kbm = management_key(rr[1], rr[3])

    # §6.1.7: the care-of address (here in an Alternate Care-of Address option) MUST be
    # unicast routable; the authenticator is computed over it (§6.2.7), so the BU is
    # otherwise valid.
    def build(authenticator: bytes) -> IPv6:
        return IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)]) / MIP6MH_BU(
            seq=60, flags="A", mhtime=15, options=[
                MIP6OptAltCoA(acoa=care_of_address),
                MIP6OptNonceIndices(olen=4, hni=rr[0], coni=rr[2]),
                MIP6OptBindingAuthData(olen=12, authenticator=int.from_bytes(authenticator,
                                                                               "big"))])

    raw = bytes(build(b"\x00" * 12))
    auth = binding_authorization(kbm, care_of_address, CN, raw[mh_offset(raw):])
    mark = cn.tester.mark()
    cn.tester.send(IPv6(bytes(build(auth))))
    settle(cn.tester, node=CN, prefix=SETTLE_PREFIX)
    cn.tester.absent(lambda p: p.haslayer(MIP6MH_BA), since=mark, wait=0.6)


def test_binding_refresh_request_before_a_used_binding_expires(cn):
    hoa, coa = mobile()
    ba, _kbm, _rr = bind(cn, hoa, coa, sequence=70, lifetime=12)
    assert ba[MIP6MH_BA].mhtime * 4 == 12
    mark = cn.tester.mark()
    # The binding is in use (§9.5.5: "recently used": this datagram, sent well before the
    # request is due 12 - 6 s after the BA, the fixture's lead being 6 s).
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / UDP(sport=2, dport=ECHO_PORT) / b"in use")
    brr = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BRR), since=mark, timeout=9,
                           what="Binding Refresh Request")
    assert brr.time - ba.time >= 12 - 6 - 0.1  # not before the lead
    # §9.5.5: to the home address, with no Binding Cache use (no routing header).
    assert brr[IPv6].src == CN and brr[IPv6].dst == hoa and not brr.haslayer(IPv6ExtHdrRouting)


# -- errors (§9.2, §9.3.3) -------------------------------------------------------------------------

def test_home_address_option_without_a_binding_gets_binding_error_1(cn):
    hoa, coa = mobile()
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / UDP(sport=3, dport=ECHO_PORT) / b"unbound")
    be = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BE), since=mark, what="Binding Error")
    assert be[MIP6MH_BE].status == 1 and be[MIP6MH_BE].ha == hoa and be[IPv6].dst == coa
    cn.tester.absent(lambda p: p.haslayer(UDP) and p[UDP].sport == ECHO_PORT,
                     since=mark, wait=0.3)


def test_unknown_mh_type_gets_binding_error_2(cn):
    _hoa, coa = mobile()
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / MIP6MH_Generic(mhtype=42, msg=b"\x00" * 4))
    be = cn.tester.expect(lambda p: p.haslayer(MIP6MH_BE), since=mark, what="Binding Error")
    assert be[MIP6MH_BE].status == 2 and be[MIP6MH_BE].ha == "::"


@pytest.mark.parametrize("with_hao", [False, True])
def test_payload_proto_other_than_59_gets_parameter_problem(cn, with_hao):
    hoa, coa = mobile()
    if with_hao:
        packet = IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
    else:
        packet = IPv6(src=coa, dst=CN)
    raw = bytearray(bytes(packet / MIP6MH_HoTI(cookie=b"proto!!!")))
    raw[mh_offset(bytes(raw))] = 6  # Payload Proto: TCP
    # §6.1.1: the checksum's pseudo-header has the home address when the option is present.
    packet = IPv6(with_mh_checksum(bytes(raw), src=hoa if with_hao else coa, dst=CN))
    mark = cn.tester.mark()
    cn.tester.send(packet)
    problem = cn.tester.expect(lambda p: p.haslayer(ICMPv6ParamProblem), since=mark,
                               what="Parameter Problem")
    # §9.2: code 0, the Pointer at Payload Proto counted from the start of the IPv6 header
    # (after the 24-octet Destination Options header when it is there).
    assert problem[ICMPv6ParamProblem].code == 0
    assert problem[ICMPv6ParamProblem].ptr == (64 if with_hao else 40)
    assert problem[IPv6].dst == coa and problem[IPv6].src == CN
    assert not [p for p in cn.tester.since(mark) if p.haslayer(MIP6MH_HoT)]


def test_bad_checksum_is_silently_discarded(cn):
    hoa, _coa = mobile()
    raw = bytearray(bytes(IPv6(src=hoa, dst=CN) / MIP6MH_HoTI(cookie=b"checksum")))
    raw[mh_offset(bytes(raw)) + 4] ^= 0xFF
    mark = cn.tester.mark()
    cn.tester.send(IPv6(bytes(raw)))
    settle(cn.tester, node=CN, prefix=SETTLE_PREFIX)
    cn.tester.absent(lambda p: p.haslayer(MIP6MH_HoT) or p.haslayer(ICMPv6ParamProblem),
                     since=mark, wait=0.6)


# -- an ordinary host ------------------------------------------------------------------------------

def test_the_correspondent_answers_for_its_address_and_forwards_nothing(cn):
    cn.tester.own("2001:db8:100::77", "02:00:00:00:77:01")
    mark = cn.tester.mark()
    # Neighbour Unreachability Detection: unicast to the address.
    cn.tester.send(neighbor_solicitation(CN, source="2001:db8:100::77", mac="02:00:00:00:77:01",
                                         destination=CN), src_mac="02:00:00:00:77:01")
    na = cn.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == CN,
                          since=mark, what="NA")
    assert na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].S == 1 and na.src == CN_MAC
    # RFC 4861 §7.2.4: the Target Link-Layer Address may be left out of an answer to a
    # unicast solicitation.
    assert not na.haslayer(ICMPv6NDOptDstLLAddr) or na[ICMPv6NDOptDstLLAddr].lladdr == CN_MAC
    # A host forwards nothing (RFC 4861 §8.2): a packet for someone else is not sent on,
    # and no Redirect comes back.
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src="2001:db8:100::77", dst="2001:db8:200::1") / UDP(sport=1, dport=2),
                   src_mac="02:00:00:00:77:01")
    cn.tester.absent(lambda p: p.haslayer(ICMPv6ND_Redirect)
                     or (p.haslayer(UDP) and p[IPv6].dst == "2001:db8:200::1"),
                     since=mark, wait=0.6)


# -- what the correspondent sent, as Wireshark reads it --------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_correspondent_sent_without_complaint(cn):
    hoa, coa = mobile()
    bind(cn, hoa, coa, sequence=90)  # HoT, CoT, BA with Binding Authorization Data
    mark = cn.tester.mark()
    cn.tester.send(IPv6(src=coa, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)])
                   / UDP(sport=5556, dport=ECHO_PORT) / b"for tshark")
    cn.tester.expect(lambda p: p.haslayer(UDP) and p[UDP].sport == ECHO_PORT, since=mark,
                     what="route-optimised datagram (Type 2 Routing Header)")
    stacks, complaints = dissection_problems(cn.tester)
    for protocol in ("mipv6", "ipv6.routing", "udp"):
        assert any(protocol in stack for stack in stacks), (protocol, set(stacks))
    assert complaints == [], complaints
