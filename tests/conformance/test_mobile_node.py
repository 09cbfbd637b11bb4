"""`mipshop daemon mn` against an independent tester (RFC 6275 §11, RFC 4861/4862).

The tester plays every other node: the access routers of the visited links (their Router
Advertisements), the home link's router and home agent (2001:db8:1::1: it checks the Binding
Update's RFC 4285 authenticator and answers with its own), and a correspondent
(2001:db8:100::10) whose return routability tokens and Binding Authorization Data it computes
itself. Every packet is built with scapy from the RFC text; the mobile node's applications
are plain sockets on its home address. The module's tests share one mobile node and run in
order: start, movement, registration, tunnelled and route-optimised traffic, return home.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv6Address
from typing import Any

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BRR,
    MIP6MH_BU,
    UDP,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6HAADReply,
    ICMPv6HAADRequest,
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
    IPv6ExtHdrRouting,
    MIP6MH_CoT,
    MIP6MH_CoTI,
    MIP6MH_HoT,
    MIP6MH_HoTI,
    MIP6OptAltCoA,
    MIP6OptBindingAuthData,
    MIP6OptMNID,
    MIP6OptMsgAuth,
    MIP6OptNonceIndices,
    MIP6OptReplayProtection,
)

from tests.conformance.tester import (
    NodeUnderTest,
    binding_authorization,
    dissection_problems,
    management_key,
    mh_offset,
    neighbor_advertisement,
    neighbor_solicitation,
    node_under_test,
    ns_for,
    sign_mn_ha,
    solicited_node,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

MN_MAC = "02:00:00:00:00:01"
HOA = "2001:db8:1::100"
HOME_PREFIX = "2001:db8:1::/64"
HA = "2001:db8:1::1"
HA_LL = "fe80::1"
HA_MAC = "00:00:5e:00:01:01"
ANYCAST = "2001:db8:1:0:fdff:ffff:ffff:fffe"
CN = "2001:db8:100::10"
AR = {"ar1": ("fe80::a1", "00:00:5e:00:01:02", "2001:db8:10::"),
      "ar2": ("fe80::a2", "00:00:5e:00:01:03", "2001:db8:20::"),
      "ar3": ("fe80::a3", "00:00:5e:00:01:04", "2001:db8:30::")}
#: Modified EUI-64 of MN_MAC (RFC 4291 App. A).
IID = "ff:fe00:1"
NAI, SPI, KEY = "mn1@example.com", 1000, bytes(range(16))
DAD = 0.5
ECHO_PORT = 7
ECHO_SERVER = (
    "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
    f"s.bind(('{HOA}', {ECHO_PORT})); print('ready', flush=True)\n"
    "while True:\n data, peer = s.recvfrom(2048); s.sendto(data, peer)")


def care_of(router: str) -> str:
    return AR[router][2] + IID


def mn_config(**changes: Any) -> dict[str, Any]:
    table = {"interface": "eth0", "home_address": HOA, "home_prefix": HOME_PREFIX,
             "home_agent": HA, "dad_delay": DAD, "optimistic_dad": False,
             "home_binding_lifetime": 60.0, "confirm_router_change": False,
             "credentials": {"identifier": NAI, "spi": SPI, "key": KEY.hex()},
             "route_optimization": {"correspondents": [CN]}}
    table.update(changes)
    return {"mobile_node": {k: v for k, v in table.items() if v is not None}}


@contextmanager
def start(config: dict[str, Any]) -> Iterator[NodeUnderTest]:
    """The mobile node for the ``with`` block; the tester answers Neighbor Solicitations for
    the access routers and the home agent's link-local address, each with its own MAC."""
    with node_under_test("mn", config, dut_mac=MN_MAC) as node:
        for link_local, mac, _prefix in AR.values():
            node.tester.own(link_local, mac)
        node.tester.own(HA_LL, HA_MAC)
        yield node


def router_advertisement(router: str) -> IPv6:
    """A visited link's RA (RFC 4861 §4.2): one autonomous /64, Source Link-Layer Address."""
    link_local, mac, prefix = AR[router]
    return (IPv6(src=link_local, dst="ff02::1", hlim=255)
            / ICMPv6ND_RA(routerlifetime=1800, prf=0)
            / ICMPv6NDOptSrcLLAddr(lladdr=mac)
            / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, prefix=prefix,
                                    validlifetime=86400, preferredlifetime=14400))


def advertise(node: NodeUnderTest, router: str) -> None:
    node.tester.send(router_advertisement(router), src_mac=AR[router][1])


def is_home_bu(p) -> bool:
    return p.haslayer(MIP6MH_BU) and p[IPv6].dst == HA


def verify_mn_ha(bu_packet, care_of_address: str, home_address: str) -> bool:
    """RFC 4285 §5.1: recompute the authenticator of a received BU with the shared key."""
    raw = bytes(bu_packet[IPv6])
    mh = bytearray(raw[mh_offset(raw):])
    mh[4:6] = b"\x00\x00"
    auth = bu_packet[MIP6OptMsgAuth]
    message = (IPv6Address(care_of_address).packed + IPv6Address(home_address).packed
               + bytes(mh[:-12]))
    return hmac.new(KEY, message, hashlib.sha1).digest()[:12] == bytes(auth.authdata)


def home_ba(bu_packet, *, status: int = 0, lifetime: float | None = None) -> IPv6:
    """The home agent's answer (RFC 6275 §10.3.1, RFC 4285 §5.1.1, §6): to the BU's source,
    Type 2 Routing Header with the home address (none when the BU came from it), the BU's
    timestamp echoed, MN-HA authenticator."""
    bu = bu_packet[MIP6MH_BU]
    source = bu_packet[IPv6].src
    coa = bu[MIP6OptAltCoA].acoa if bu.haslayer(MIP6OptAltCoA) else source
    granted = bu.mhtime if lifetime is None else int(lifetime // 4)
    options = [MIP6OptMNID(subtype=1, id=NAI.encode()),
               MIP6OptReplayProtection(timestamp=bu[MIP6OptReplayProtection].timestamp),
               MIP6OptMsgAuth(subtype=1, mspi=SPI, authdata=b"\x00" * 12)]
    ba = MIP6MH_BA(status=status, seq=bu.seq, mhtime=granted, options=options)
    if source == HOA:
        packet = IPv6(src=HA, dst=HOA) / ba
        care = HOA
    else:
        packet = IPv6(src=HA, dst=source) / IPv6ExtHdrRouting(type=2, segleft=1,
                                                               addresses=[HOA]) / ba
        care = coa
    signed = sign_mn_ha(packet, KEY, care_of=care, home=HOA)
    return IPv6(with_mh_checksum(bytes(signed), src=HA, dst=HOA))


def tunnelled(inner: IPv6, care_of_address: str) -> IPv6:
    """RFC 2473 / RFC 6275 §10.4.2: the home agent's tunnel to the care-of address."""
    return IPv6(src=HA, dst=care_of_address, hlim=64) / inner


@pytest.fixture(scope="module")
def mn() -> Iterator[NodeUnderTest]:
    with start(mn_config()) as node:
        server = node.spawn([sys.executable, "-c", ECHO_SERVER])
        assert server.stdout is not None and "ready" in server.stdout.readline()
        yield node


_state: dict[str, Any] = {}


# -- start, movement, Duplicate Address Detection (RFC 4861 §6.3.7, RFC 4862 §5.4) -------------

def test_a_router_solicitation_at_start_without_any_link_layer_trigger(mn):
    rs = mn.tester.expect(lambda p: p.haslayer(ICMPv6ND_RS), since=0, what="RS")
    assert rs[IPv6].dst == "ff02::2" and rs[IPv6].hlim == 255


def test_a_router_advertisement_gives_a_care_of_address_after_dad(mn):
    mark = mn.tester.mark()
    advertise(mn, "ar1")
    coa = care_of("ar1")
    # RFC 4862 §5.4.2: NS from ::, to the solicited-node group, hop limit 255, no options.
    ns = mn.tester.expect(lambda p: ns_for(p, coa), since=mark, what="DAD NS")
    assert ns[IPv6].src == "::" and ns[IPv6].dst == solicited_node(coa)
    assert ns[IPv6].hlim == 255 and not ns.haslayer(ICMPv6NDOptSrcLLAddr)
    # §11.5.1 / §11.7.1: movement detected, the new care-of address registered at home,
    # but not before DAD (RetransTimer) is over.
    bu = mn.tester.expect(is_home_bu, since=mark, timeout=DAD + 3, what="home BU")
    assert bu.time - ns.time >= DAD - 0.05
    _state["bu"] = bu


def test_the_home_registration_binding_update(mn):
    bu = _state["bu"]
    coa = care_of("ar1")
    fields = bu[MIP6MH_BU]
    # §11.7.1: from the care-of address, Home Address option, A and H set, lifetime > 0,
    # the Alternate Care-of Address option; RFC 4285: authenticated with the MN-HA key.
    assert bu[IPv6].src == coa and bu[HAO].hoa == HOA
    assert "A" in str(fields.flags) and "H" in str(fields.flags) and fields.mhtime > 0
    assert bu[MIP6OptAltCoA].acoa == coa and bu[MIP6OptMNID].id == NAI.encode()
    assert bu[MIP6OptMsgAuth].mspi == SPI and verify_mn_ha(bu, coa, HOA)


def test_the_binding_acknowledgement_registers_the_binding(mn):
    mn.tester.send(home_ba(_state["bu"]))
    deadline = time.monotonic() + 3
    while mn.state()["mobile_node"]["registered_care_of_address"] != care_of("ar1"):
        assert time.monotonic() < deadline, mn.state()["mobile_node"]
        time.sleep(0.05)


def test_the_mobile_node_answers_neighbor_solicitations_for_its_care_of_address(mn):
    coa = care_of("ar1")
    link_local, mac, _prefix = AR["ar1"]
    mark = mn.tester.mark()
    mn.tester.send(neighbor_solicitation(coa, source=link_local, mac=mac), src_mac=mac)
    na = mn.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == coa,
                          since=mark, what="NA")
    assert na[ICMPv6ND_NA].S == 1 and na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].O == 1
    assert na[ICMPv6NDOptDstLLAddr].lladdr == MN_MAC and na[IPv6].dst == link_local


# -- traffic through the home agent (§11.3.1, §11.3.3) --------------------------------------------

def test_an_echo_request_tunnelled_to_the_home_address_is_answered_through_the_tunnel(mn):
    coa = care_of("ar1")
    mark = mn.tester.mark()
    mn.tester.send(tunnelled(IPv6(src=CN, dst=HOA, hlim=60)
                             / ICMPv6EchoRequest(id=7, seq=1, data=b"away"), coa))
    # §11.3.3: decapsulated and delivered, ICMPv6 included; §11.3.1: the answer is reverse
    # tunnelled (no binding with the correspondent yet): outer care-of address -> HA.
    reply = mn.tester.expect(lambda p: p[IPv6].nh == 41 and p.haslayer(ICMPv6EchoReply),
                             since=mark, what="reverse-tunnelled Echo Reply")
    assert reply[IPv6].src == coa and reply[IPv6].dst == HA
    inner = IPv6(bytes(reply[IPv6].payload))
    assert inner.src == HOA and inner.dst == CN and inner[ICMPv6EchoReply].data == b"away"


def test_a_tunnelled_datagram_reaches_an_application_on_the_home_address(mn):
    coa = care_of("ar1")
    mark = mn.tester.mark()
    mn.tester.send(tunnelled(IPv6(src=CN, dst=HOA) / UDP(sport=4000, dport=ECHO_PORT)
                             / b"tunnelled", coa))
    reply = mn.tester.expect(lambda p: p[IPv6].nh == 41 and p.haslayer(UDP)
                             and p[UDP].sport == ECHO_PORT, since=mark, what="echoed datagram")
    inner = IPv6(bytes(reply[IPv6].payload))
    assert (inner.src, inner.dst, bytes(inner[UDP].payload)) == (HOA, CN, b"tunnelled")


def test_a_tunnel_from_anyone_but_the_home_agent_is_discarded(mn):
    coa = care_of("ar1")
    mark = mn.tester.mark()
    mn.tester.send(IPv6(src="2001:db8:66::6", dst=coa) / IPv6(src=CN, dst=HOA)
                   / UDP(sport=4001, dport=ECHO_PORT) / b"forged")
    # The home agent's own tunnel, right behind it, the same way in: once its datagram is
    # echoed, the forged one has been dealt with too.
    mn.tester.send(tunnelled(IPv6(src=CN, dst=HOA) / UDP(sport=4003, dport=ECHO_PORT)
                             / b"genuine", coa))
    mn.tester.expect(lambda p: p.haslayer(UDP) and p[UDP].dport == 4003, since=mark,
                     what="the genuine datagram's echo")
    # §11.3.3: the tunnel's source MUST be the home agent's address.
    mn.tester.absent(lambda p: p.haslayer(UDP) and p[UDP].dport == 4001, since=mark,
                     wait=0.3)


# -- return routability and route optimization (§11.6, §11.7.2, §11.3.1) -------------------------

def test_return_routability_starts_after_the_home_registration(mn):
    coa = care_of("ar1")
    since = 0
    hoti = mn.tester.expect(lambda p: p[IPv6].nh == 41 and p.haslayer(MIP6MH_HoTI),
                            since=since, timeout=4, what="reverse-tunnelled HoTI")
    coti = mn.tester.expect(lambda p: p.haslayer(MIP6MH_CoTI), since=since, timeout=4,
                            what="CoTI")
    # §11.6.1: HoTI from the home address through the home agent, CoTI from the care-of
    # address, directly.
    inner = IPv6(bytes(hoti[IPv6].payload))
    assert (hoti[IPv6].src, hoti[IPv6].dst) == (coa, HA)
    assert (inner.src, inner.dst) == (HOA, CN)
    assert (coti[IPv6].src, coti[IPv6].dst) == (coa, CN) and not coti.haslayer(HAO)


def _latest_cookies(mn) -> tuple[bytes, bytes]:
    """The cookies of the latest HoTI (reverse-tunnelled) and CoTI the node sent."""
    sent = mn.tester.since(0)
    hoti = [p for p in sent if p[IPv6].nh == 41 and p.haslayer(MIP6MH_HoTI)][-1]
    coti = [p for p in sent if p.haslayer(MIP6MH_CoTI)][-1]
    return IPv6(bytes(hoti[IPv6].payload))[MIP6MH_HoTI].cookie, coti[MIP6MH_CoTI].cookie


def test_the_correspondent_registration_is_authorised_by_the_keygen_tokens(mn):
    coa = care_of("ar1")
    home_token, care_of_token = b"H" * 8, b"C" * 8
    # §11.8: a retransmitted HoTI or CoTI carries a new cookie, and a Test answering an older
    # one is ignored. On a loaded machine the node may retransmit between the previous test
    # and this one, or while this one answers: answer the latest Test Inits, and once more if
    # they were superseded meanwhile.
    for attempt in range(3):
        home_cookie, care_of_cookie = _latest_cookies(mn)
        mark = mn.tester.mark()
        # The correspondent's answers: HoT to the home address (tunnelled by the home agent),
        # CoT to the care-of address (§9.4.3, §9.4.4).
        mn.tester.send(tunnelled(IPv6(src=CN, dst=HOA) / MIP6MH_HoT(
            index=11, cookie=home_cookie, token=home_token), coa))
        mn.tester.send(IPv6(src=CN, dst=coa) / MIP6MH_CoT(index=12, cookie=care_of_cookie,
                                                           token=care_of_token))
        try:
            bu = mn.tester.expect(lambda p: p.haslayer(MIP6MH_BU) and p[IPv6].dst == CN,
                                  since=mark, timeout=4, what="BU to the correspondent")
            break
        except AssertionError:
            if attempt == 2 or _latest_cookies(mn) == (home_cookie, care_of_cookie):
                raise  # no newer Test Init: the node ignored a valid answer
    # §11.7.2: from the care-of address, Home Address option, Nonce Indices, and Binding
    # Authorization Data (last) under Kbm = SHA1(home token | care-of token).
    assert bu[IPv6].src == coa and bu[HAO].hoa == HOA
    assert (bu[MIP6OptNonceIndices].hni, bu[MIP6OptNonceIndices].coni) == (11, 12)
    assert "H" not in str(bu[MIP6MH_BU].flags)
    kbm = management_key(home_token, care_of_token)
    raw = bytes(bu[IPv6])
    mh = raw[mh_offset(raw):]
    assert mh[-14:-12] == b"\x05\x0c" and mh[-12:] == binding_authorization(kbm, coa, CN, mh)
    _state["kbm"] = kbm
    _state["ro_bu"] = bu


def test_route_optimised_traffic_flows_directly_both_ways(mn):
    coa = care_of("ar1")
    bu = _state["ro_bu"]
    ba = MIP6MH_BA(status=0, seq=bu[MIP6MH_BU].seq, mhtime=bu[MIP6MH_BU].mhtime, options=[
        MIP6OptBindingAuthData(olen=12, authenticator=0)])
    raw = bytes(IPv6(src=CN, dst=coa) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA])
                / ba)
    auth = binding_authorization(_state["kbm"], coa, CN, raw[mh_offset(raw):])
    ba[MIP6OptBindingAuthData].authenticator = int.from_bytes(auth, "big")
    packet = IPv6(src=CN, dst=coa) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA]) / ba
    bound = len(mn.events("ro.bound"))
    mn.tester.send(IPv6(with_mh_checksum(bytes(packet), src=CN, dst=HOA)))
    deadline = time.monotonic() + 5
    while len(mn.events("ro.bound")) == bound:  # the node has taken the BA
        assert time.monotonic() < deadline, "the correspondent's BA was not taken"
        time.sleep(0.02)
    mark = mn.tester.mark()
    # §9.3.2: the correspondent sends to the care-of address with a Type 2 Routing Header;
    # §11.3.3: the node delivers it to the home address; §11.3.1: its answer goes directly,
    # from the care-of address with a Home Address option.
    mn.tester.send(IPv6(src=CN, dst=coa) / IPv6ExtHdrRouting(type=2, segleft=1,
                                                               addresses=[HOA])
                   / UDP(sport=4002, dport=ECHO_PORT) / b"optimised")
    reply = mn.tester.expect(lambda p: p.haslayer(UDP) and p[UDP].sport == ECHO_PORT,
                             since=mark, what="route-optimised answer")
    assert reply[IPv6].src == coa and reply[IPv6].dst == CN and reply[HAO].hoa == HOA
    assert reply[IPv6].nh == 60 and bytes(reply[UDP].payload) == b"optimised"


def test_a_binding_refresh_request_starts_a_new_correspondent_registration(mn):
    coa = care_of("ar1")
    mark = mn.tester.mark()
    # §9.5.5: sent to the home address (so through the home agent's tunnel).
    mn.tester.send(tunnelled(IPv6(src=CN, dst=HOA) / MIP6MH_BRR(), coa))
    # §11.7.4: the node answers with a new return routability run or Binding Update.
    mn.tester.expect(lambda p: p.haslayer(MIP6MH_HoTI) or p.haslayer(MIP6MH_CoTI)
                     or (p.haslayer(MIP6MH_BU) and p[IPv6].dst == CN), since=mark,
                     timeout=3, what="a new correspondent registration")


def test_payload_proto_other_than_59_gets_parameter_problem(mn):
    coa = care_of("ar1")
    raw = bytearray(bytes(IPv6(src=CN, dst=coa) / MIP6MH_CoT(index=13, cookie=b"proto!!!",
                                                            token=b"T" * 8)))
    raw[mh_offset(bytes(raw))] = 17  # Payload Proto: UDP instead of IPPROTO_NONE (59)
    mark = mn.tester.mark()
    mn.tester.send(IPv6(with_mh_checksum(bytes(raw), src=CN, dst=coa)))
    problem = mn.tester.expect(lambda p: p.haslayer(ICMPv6ParamProblem), since=mark,
                               what="Parameter Problem")
    # §9.2: code 0, the Pointer at Payload Proto (the Mobility Header's first octet, right
    # after the 40-octet IPv6 header), directly to the packet's source.
    assert problem[ICMPv6ParamProblem].code == 0 and problem[ICMPv6ParamProblem].ptr == 40
    assert problem[IPv6].src == coa and problem[IPv6].dst == CN


# -- a host (RFC 4861 §8.2) ------------------------------------------------------------------------

def test_the_mobile_node_forwards_nothing_and_sends_no_redirect(mn):
    link_local, mac, prefix = AR["ar1"]
    mark = mn.tester.mark()
    # A router's packets for other nodes, sent to the node's MAC (a stale neighbour entry).
    mn.tester.send(IPv6(src=link_local, dst=prefix + "99", hlim=255)
                   / ICMPv6ND_NA(R=1, S=1, O=1, tgt=link_local), src_mac=mac)
    mn.tester.send(IPv6(src=CN, dst=prefix + "98") / UDP(sport=1, dport=2), src_mac=mac)
    mn.tester.absent(lambda p: p.haslayer(ICMPv6ND_Redirect)
                     or p[IPv6].dst in (prefix + "99", prefix + "98"), since=mark, wait=0.8)


# -- movement and return home (§11.5.1, §11.5.5) ---------------------------------------------------

def test_a_new_link_is_a_new_care_of_address_and_a_new_registration(mn):
    mark = mn.tester.mark()
    advertise(mn, "ar2")
    bu = mn.tester.expect(lambda p: is_home_bu(p) and p[IPv6].src == care_of("ar2"),
                          since=mark, timeout=DAD + 3, what="BU from the new link")
    assert bu[MIP6OptAltCoA].acoa == care_of("ar2")
    assert bu[MIP6MH_BU].seq != _state["bu"][MIP6MH_BU].seq
    mn.tester.send(home_ba(bu))


def test_returning_home_deregisters_and_advertises_the_home_address(mn):
    mark = mn.tester.mark()
    # The home link's RA: the home agent's (H bit, the Prefix Information option with R and
    # its full address, RFC 6275 §7.1, §7.2).
    mn.tester.send(IPv6(src=HA_LL, dst="ff02::1", hlim=255)
                   / ICMPv6ND_RA(H=1, routerlifetime=1800, prf=0)
                   / ICMPv6NDOptSrcLLAddr(lladdr=HA_MAC)
                   / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, R=1, prefix=HA,
                                           validlifetime=86400, preferredlifetime=14400)
                   / ICMPv6NDOptHAInfo(pref=0, lifetime=1800), src_mac=HA_MAC)
    bu = mn.tester.expect(lambda p: is_home_bu(p) and p[MIP6MH_BU].mhtime == 0, since=mark,
                          timeout=3, what="de-registration")
    # §11.5.5: A and H set, lifetime 0, from the home address (no Home Address option).
    assert bu[IPv6].src == HOA and not bu.haslayer(HAO)
    assert "A" in str(bu[MIP6MH_BU].flags) and "H" in str(bu[MIP6MH_BU].flags)
    mark = mn.tester.mark()
    mn.tester.send(home_ba(bu, lifetime=0), src_mac=HA_MAC)
    # §11.5.5: after the BA, an NA to all-nodes for the home address, O = 1, the node's MAC.
    na = mn.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == HOA
                          and p[IPv6].dst == "ff02::1", since=mark, what="NA for the HoA")
    assert na[ICMPv6ND_NA].O == 1 and na[ICMPv6ND_NA].S == 0
    assert na[ICMPv6NDOptDstLLAddr].lladdr == MN_MAC


# -- what the mobile node sent, as Wireshark reads it ----------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_mobile_node_sent_without_complaint(mn):
    # Everything of the tests above: RS, DAD probes, NAs, home BUs with the Home Address
    # option and the MN-HA authenticator, reverse-tunnelled Echo Replies and HoTIs, CoTIs,
    # the correspondent BU and the route-optimised datagrams with their Home Address option.
    stacks, complaints = dissection_problems(mn.tester)
    assert any("mipv6" in stack for stack in stacks), set(stacks)
    assert complaints == [], complaints


# -- DHAAD and a duplicate care-of address (separate mobile nodes) --------------------------------

def test_dynamic_home_agent_address_discovery():
    with start(mn_config(home_agent=None, route_optimization=None)) as node:
        mark = node.tester.mark()
        advertise(node, "ar3")
        coa = care_of("ar3")
        request = node.tester.expect(lambda p: p.haslayer(ICMPv6HAADRequest), since=mark,
                                     timeout=DAD + 3, what="DHAAD request")
        # §11.4.1: from the care-of address to the Home-Agents anycast address.
        assert request[IPv6].src == coa and request[IPv6].dst == ANYCAST
        node.tester.send(IPv6(src=HA, dst=coa) / ICMPv6HAADReply(
            id=request[ICMPv6HAADRequest].id, addresses=["2001:db8:1::5", HA]))
        # The first address of the reply is tried first.
        bu = node.tester.expect(lambda p: p.haslayer(MIP6MH_BU), since=mark, timeout=3,
                                what="BU after DHAAD")
        assert bu[IPv6].dst == "2001:db8:1::5"


@pytest.mark.parametrize("answer", ["advertisement", "probe"])
def test_a_duplicate_care_of_address_is_not_used(answer):
    with start(mn_config(route_optimization=None)) as node:
        coa = care_of("ar1")
        # As the probe arrives, another node answers for the address (RFC 4862 §5.4.4), or
        # probes it too (§5.4.3): either way it is a duplicate.
        node.tester.contest(coa, neighbor_advertisement(coa, mac="02:00:00:00:66:66")
                            if answer == "advertisement"
                            else neighbor_solicitation(coa, source="::"),
                            src_mac="02:00:00:00:66:66")
        mark = node.tester.mark()
        advertise(node, "ar1")
        node.tester.expect(lambda p: ns_for(p, coa), since=mark, what="DAD NS")
        node.tester.absent(lambda p: p[IPv6].src == coa, since=mark, wait=DAD + 1.5)
        assert [e for e in node.events("dad.failed") if e["fields"]["address"] == coa]
        mark = node.tester.mark()
        node.tester.send(neighbor_solicitation(coa, source=AR["ar1"][0], mac=AR["ar1"][1]),
                         src_mac=AR["ar1"][1])
        node.tester.absent(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == coa,
                           since=mark, wait=0.5)


def test_an_optimistic_care_of_address_is_used_at_once_and_given_up_when_duplicate():
    dad = 2.0  # long enough to tell "at once" from "after DAD" on a loaded machine
    with start(mn_config(optimistic_dad=True, route_optimization=None, dad_delay=dad)) as node:
        mark = node.tester.mark()
        advertise(node, "ar1")
        coa = care_of("ar1")
        # RFC 4429: the BU leaves at once, with DAD going on (the NS from :: still sent).
        bu = node.tester.expect(is_home_bu, since=mark, timeout=dad + 3, what="optimistic BU")
        ns = node.tester.expect(lambda p: ns_for(p, coa) and p[IPv6].src == "::", since=mark,
                                what="DAD NS")
        assert bu[IPv6].src == coa and bu.time - ns.time < dad - 0.5
        node.tester.send(neighbor_advertisement(coa, mac="02:00:00:00:66:66"),
                         src_mac="02:00:00:00:66:66")
        deadline = time.monotonic() + 5
        while not node.events("dad.failed"):
            assert time.monotonic() < deadline, "the duplicate went unnoticed"
            time.sleep(0.02)
        # RFC 4429 §3.3: the duplicate address is given up: no retransmission from it.
        mark = node.tester.mark()
        node.tester.absent(lambda p: p[IPv6].src == coa, since=mark, wait=2.0)

