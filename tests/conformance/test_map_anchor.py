"""Fast handovers anchored at the MAP (F-HMIPv6: RFC 4140 Appendix A, Figure A.2, with the
messages of RFC 5568 and the MAP option of RFC 5380 §5) against an independent tester.

RFC 4140 Appendix A, Figure A.2: "the HI/HAck messages now occur between the MAP and NAR ...
the same functionality of the Fast Handover procedure is kept, but the anchor point is moved
from the PAR to the MAP": the FBU goes "from mobile node to MAP", the FBack "from MAP to mobile
node", and "the layer-2 triggers at the PAR will cause the PAR to send a Proxy Router
Advertisement to the mobile node with the MAP option". What mipshop makes of the details RFC
4140 does not give (mipshop.protocol.fmipv6.map_anchor, [choice]): the FBU's Home Address is the
RCoA, its source the LCoA (predictive) or the NCoA (reactive); the HI's PCoA option is the LCoA
the RCoA is registered with; the BADF is keyed with an MN-MAP handover key bound to the RCoA,
the MAP's address as "PAR address"; after an accepting HAck the MAP tunnels the RCoA's packets
to the NCoA, until the local BU from the new link supersedes that; HAck Code 3 keeps the old
LCoA, tunnelled through the NAR (docs/decisions.md D16).

Nodes under test, each alone on its veth:

* ``fh_map``: ``mipshop daemon map`` with a ``[mobility_anchor_point.fast_handover]`` table
  (``neighbors`` PAR 2001:db8:10::1 and NAR 2001:db8:20::1, MN-MAP ``handover_keys`` bound to
  the RCoAs, ``router_keys`` for both, ``rtt`` 2 s so that no HI retransmission crosses a
  test). The tester plays the MAP link's router ``fe80::fffe`` (through which the access
  links and correspondents are reached), the mobile nodes at their LCoAs and NCoAs, the NAR
  and the PAR, and correspondents. Two more MAPs, started per test, differ only in their
  ``rtt`` (unset: 100 ms; 0.35 s) to time the HI retransmissions with another round-trip
  time than the access router's test (0.25 s).
* ``anchored_ar``: ``mipshop daemon ar`` whose ``fast_handover`` table names the MAP in
  ``map_anchor`` (its PrRtAdvs carry that MAP option) and in ``anchors`` (it accepts the MAP's
  HIs, keyed for the MAP), with no ``rtt`` (its own HIs as PAR use 100 ms). The tester plays
  the MAP, the NAR, the mobile nodes on the router's link and correspondents.
* for one more retransmission timing with another round-trip time, a mobile node (``mipshop
  daemon mn``, with test_mobile_node_clients.py's configuration and helpers) with no ``rtt``
  configured: its RtSolPr and FBU retransmissions start at 100 ms (that module times them with
  0.25 s).

Every FMIPv6 message is laid out here by hand from the figures of RFC 5568 (§6.1 PrRtAdv,
§6.2.1 HI and HAck, §6.2.2 FBU, §6.2.3 FBack, §6.4 options) and RFC 5380 §5 Figure 3 (the MAP
option), read back by hand; scapy builds the IPv6 headers and the local BU (RFC 5380 §4). The
authenticators are computed here with hmac: the BADF ``First(96, HMAC_SHA1(handover key, NCoA |
MAP | MH Data))`` (RFC 5568 §6.4.5 with the MAP as "PAR", docs/decisions.md D4, D5), the
router-pair authenticator of HI and HAck (mipshop's stand-in for the IPsec SA of RFC 5568 §10:
Replay Protection, then a Mobility Message Authentication option of subtype 128,
``First(96, HMAC_SHA1(pair key, source | destination | MH Data))``) and the MN-MAP
authenticator of the local BU (RFC 4285 §5.1).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BU,
    UDP,
    ICMPv6ND_NA,
    ICMPv6NDOptDstLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    MIP6OptMNID,
    MIP6OptMsgAuth,
    MIP6OptReplayProtection,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from tests.conformance.tester import (
    DUT_MAC,
    NodeUnderTest,
    dissection_problems,
    internet_checksum,
    mac_bytes,
    mh_offset,
    mh_options,
    mobility_header_checksums,
    neighbor_solicitation,
    ntp_timestamp,
    require_root,
    settle,
    sign_mn_ha,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

MAP = "2001:db8:a1::1"
MAP_LL = "fe80::1"
ROUTER_LL = "fe80::fffe"
PAR = "2001:db8:10::1"
PAR_PREFIX = "2001:db8:10::"
PAR_MAC = "02:00:00:00:11:01"
PAR_AP = bytes.fromhex("00005e00bb01")
NAR = "2001:db8:20::1"
NAR_PREFIX = "2001:db8:20::"
NAR_MAC = "02:00:00:00:22:01"
NAR_AP = bytes.fromhex("00005e00bb02")
STRANGER = "2001:db8:9::1"  # a router nobody has a key for
CN = "2001:db8:100::10"
MN_MAC = "02:00:00:00:55:01"
HOST_MAC = "02:00:00:00:77:01"
#: The router pairs' SPIs and keys (each configured on both routers of its pair): the MAP's
#: with the NAR and the PAR; the anchored access router's (at the PAR's address) with the NAR
#: and the MAP.
PAIR_KEYS = {"map-nar": (0x2201, bytes(range(64, 80))), "map-par": (0x2101, bytes(range(80, 96))),
             "ar-nar": (0x2401, bytes(range(96, 112))), "ar-map": (0x2301, bytes(range(112, 128)))}
#: ``fh_map``'s RTT: its first HI timeout is 2 x 2 s, longer than any test waits for an answer.
RTT = 2.0
#: Every answer is waited for up to this long (a loaded machine runs the daemons late); a
#: match ends the wait at once.
WAIT = 10.0


@dataclass(frozen=True)
class Mobile:
    """One mobile node of the MAP's domain: its MN-MAP security association (local BU,
    RFC 4285), its RCoA, its LCoA on the PAR's link, its NCoA on the NAR's, and its MN-MAP
    handover key (BADF), bound at the MAP to its RCoA."""

    n: int

    @property
    def nai(self) -> str:
        return f"fmn{self.n}@map.example.com"

    @property
    def spi(self) -> int:
        return 4000 + self.n

    @property
    def key(self) -> bytes:
        return bytes([0x40 + self.n]) * 16

    @property
    def rcoa(self) -> str:
        return f"2001:db8:a1::{0x200 + self.n:x}"

    @property
    def lcoa(self) -> str:
        return f"{PAR_PREFIX}{0x200 + self.n:x}"

    @property
    def ncoa(self) -> str:
        return f"{NAR_PREFIX}{0x200 + self.n:x}"

    @property
    def handover_spi(self) -> int:
        return 7000 + self.n

    @property
    def handover_key(self) -> bytes:
        return hashlib.sha1(f"mn-map handover key {self.n}".encode()).digest()

    def credentials(self) -> dict[str, object]:
        """The MAP's ``[[mobility_anchor_point.credentials]]`` entry (RFC 4285 MN-MAP SA)."""
        return {"identifier": self.nai, "spi": self.spi, "key": self.key.hex(),
                "home_address": self.rcoa}

    def handover_key_table(self) -> dict[str, object]:
        """The ``[[mobility_anchor_point.fast_handover.handover_keys]]`` entry."""
        return {"spi": self.handover_spi, "key": self.handover_key.hex(),
                "previous_care_of_address": self.rcoa}


MOBILES = [Mobile(n) for n in range(1, 61)]
_next_mobile = iter(MOBILES)


def fresh() -> Mobile:
    """A mobile node no other test has used."""
    return next(_next_mobile)


# -- laying out Mobility Headers (RFC 6275 §6.1.1, §6.2; RFC 5568 §6.2, §6.4) ---------------

def _pad(n: int) -> bytes:
    """Pad1 or PadN (RFC 6275 §6.2.2, §6.2.3)."""
    return b"" if n == 0 else b"\x00" if n == 1 else bytes([1, n - 2]) + bytes(n - 2)


def mobility_header(mh_type: int, body: bytes, options: list[tuple[int, bytes, int, int]]
                    ) -> bytes:
    """Payload Proto 59, Header Len, MH Type, Reserved, Checksum 0, ``body``, then the
    options ``(type, data, x, y)``, each at its alignment ``xn+y``, padded to 8 octets."""
    out, at = b"", 6 + len(body)
    for kind, data, x, y in options:
        gap = (y - at) % x
        out, at = out + _pad(gap) + bytes([kind, len(data)]) + data, at + gap + 2 + len(data)
    rest = body + out + _pad(-at % 8)
    return bytes([59, (6 + len(rest)) // 8 - 1, mh_type, 0, 0, 0]) + rest


def first_96(key: bytes, first: str, second: str, data: bytes) -> bytes:
    """First(96, HMAC_SHA1(key, first | second | data))."""
    message = IPv6Address(first).packed + IPv6Address(second).packed + data
    return hmac.new(key, message, hashlib.sha1).digest()[:12]


def mh_data(mh: bytes) -> bytes:
    """The MH without its last 12 octets (the authenticator that ends it), Checksum zero."""
    return mh[:4] + b"\x00\x00" + mh[6:-12]


def mh_lla(mac: str) -> tuple[int, bytes, int, int]:
    """MH Link-Layer Address option (type 7), Option-Code 2, the MN's (RFC 5568 §6.4.4)."""
    return (7, b"\x02" + mac_bytes(mac), 1, 0)


def mh_address(code: int, address: str) -> tuple[int, bytes, int, int]:
    """MH IPv6 Address/Prefix option (type 34, docs/decisions.md D2), 8n+4 (§6.4.2)."""
    return (34, bytes([code, 128]) + IPv6Address(address).packed, 8, 4)


def mh_packet(mh: bytes, *, src: str, dst: str) -> Packet:
    """``mh`` in an IPv6 packet, its checksum computed."""
    raw = bytes(IPv6(src=src, dst=dst, nh=135, hlim=64) / Raw(mh))
    return IPv6(with_mh_checksum(raw, src=src, dst=dst))


_last_stamp = 0


def timestamp() -> int:
    """An RFC 4285 §6 NTP timestamp of now, strictly increasing across the tester's messages."""
    global _last_stamp
    _last_stamp = max(ntp_timestamp(time.time()), _last_stamp + 1)
    return _last_stamp


def router_signed(mh_type: int, body: bytes, options: list[tuple[int, bytes, int, int]], *,
                  src: str, dst: str, pair: str, stamp: int | None = None,
                  tamper: bool = False) -> bytes:
    """An HI or HAck ending with the router-pair authentication under ``pair``'s key:
    Replay Protection (8n+2, RFC 4285 §6), then the Mobility Message Authentication option
    (4n+1, RFC 4285 §5), subtype 128, which ends the header."""
    spi, key = PAIR_KEYS[pair]
    mh = mobility_header(mh_type, body, [
        *options, (10, struct.pack("!Q", stamp or timestamp()), 8, 2),
        (9, bytes([128]) + struct.pack("!I", spi) + bytes(12), 4, 1)])
    assert mh[-19:-17] == bytes([9, 17]), "the authentication option must end the header"
    authenticator = first_96(key, src, dst, mh_data(mh))
    if tamper:
        authenticator = bytes([authenticator[0] ^ 1]) + authenticator[1:]
    return mh[:-12] + authenticator


def hack(sequence: int, code: int = 0, *, src: str = NAR, dst: str = MAP, pair: str = "map-nar",
         sign: bool = True, options: tuple[tuple[int, bytes, int, int], ...] = (),
         **kwargs: Any) -> Packet:
    """A HAck (MH Type 15, RFC 5568 §6.2.1.2): Sequence #, Reserved, Code, ``options``, then
    the router-pair authentication (of ``pair``, by default the NAR's with the MAP)."""
    body = struct.pack("!HBB", sequence, 0, code)
    if sign:
        mh = router_signed(15, body, list(options), src=src, dst=dst, pair=pair, **kwargs)
    else:
        mh = mobility_header(15, body, list(options))
    return mh_packet(mh, src=src, dst=dst)


def fbu(mn: Mobile, sequence: int, *, source: str | None = None, ncoa: str | None = None,
        rcoa: str | None = None, lifetime: int = 40, flags: int = 0xC000,
        signer: Mobile | None = None, badf: bool = True, tamper: bool = False,
        lla: bool = True) -> Packet:
    """An FBU to the MAP (MH Type 8, RFC 5568 §6.2.2; RFC 4140 Figure A.2 "from mobile node to
    MAP"): from ``source`` (the LCoA: predictive; the NCoA: reactive), the Home Address option
    carrying the RCoA, A and H set, Lifetime in 4 s units (docs/decisions.md D1), the Alternate
    CoA (8n+6) = NCoA unless sent from it, the MN's MH-LLA (unless ``lla`` is False), then the
    BADF (8n+6, §6.4.5) under ``signer``'s handover key over (NCoA, MAP, MH Data), last."""
    source = source or mn.lcoa
    ncoa = ncoa or mn.ncoa
    home = rcoa or mn.rcoa
    signer = signer or mn
    options = []
    if ncoa != source:
        options.append((3, IPv6Address(ncoa).packed, 8, 6))
    if lla:
        options.append(mh_lla(MN_MAC))
    if badf:
        options.append((21, struct.pack("!I", signer.handover_spi) + bytes(12), 8, 6))
    mh = mobility_header(8, struct.pack("!HHH", sequence, flags, lifetime // 4), options)
    if badf:
        assert mh[-18:-16] == bytes([21, 16]), "the BADF must end the header"
        authenticator = first_96(signer.handover_key, ncoa, MAP, mh_data(mh))
        if tamper:
            authenticator = bytes([authenticator[0] ^ 1]) + authenticator[1:]
        mh = mh[:-12] + authenticator
    packet = (IPv6(src=source, dst=MAP, hlim=64)
              / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=home)]) / Raw(mh))
    return IPv6(with_mh_checksum(bytes(packet), src=home, dst=MAP))


def local_bu(mn: Mobile, *, care_of: str, sequence: int, lifetime: float = 120.0) -> Packet:
    """A local Binding Update (RFC 5380 §4, §6.1; RFC 4285 §5, §6): from the LCoA to the MAP,
    Home Address option = RCoA, A and M set, Mobile Node Identifier, Replay Protection, then
    the MN-HA authentication option (subtype 1) under the MN-MAP SA."""
    packet = (IPv6(src=care_of, dst=MAP, hlim=64)
              / IPv6ExtHdrDestOpt(options=[HAO(hoa=mn.rcoa)])
              / MIP6MH_BU(seq=sequence, flags="AM", mhtime=int(lifetime // 4), options=[
                  MIP6OptMNID(subtype=1, id=mn.nai.encode()),
                  MIP6OptReplayProtection(timestamp=ntp_timestamp(time.time())),
                  MIP6OptMsgAuth(subtype=1, mspi=mn.spi, authdata=b"\x00" * 12)]))
    return sign_mn_ha(packet, mn.key, care_of=care_of, home=mn.rcoa)


# -- reading what the daemon sent ------------------------------------------------------------------

@dataclass
class Message:
    """One Mobility Header the daemon sent: its packet, the MH octets and options."""

    packet: Packet
    mh: bytes
    options: list[tuple[int, int, bytes]]  # (offset, type, data), padding left out

    def option(self, kind: int, code: int | None = None) -> bytes | None:
        for _at, found, data in self.options:
            if found == kind and (code is None or data[0] == code):
                return data
        return None

    @property
    def sequence(self) -> int:
        """The Sequence #: octets 8-9 of an FBack (§6.2.3), 6-7 of the others."""
        return int(struct.unpack_from("!H", self.mh, 8 if self.mh[2] == 9 else 6)[0])


def read_mh(packet: Packet) -> Message | None:
    """The Mobility Header of ``packet`` (not tunnelled), or None."""
    if not packet.haslayer(IPv6):
        return None
    raw = bytes(packet[IPv6])
    next_header, offset = raw[6], 40
    while next_header in (0, 43, 60):
        next_header, offset = raw[offset], offset + (raw[offset + 1] + 1) * 8
    if next_header != 135:
        return None
    mh = raw[offset:offset + (raw[offset + 1] + 1) * 8]
    start = {8: 12, 9: 12, 14: 10, 15: 10}.get(mh[2], len(mh))
    return Message(packet, mh, mh_options(mh, start))


def is_mh(mh_type: int, *, src: str = MAP, dst: str | None = None,
          sequence: int | None = None) -> Callable[[Packet], bool]:
    """A matcher: an MH of ``mh_type`` from ``src`` (to ``dst``, with ``sequence``)."""
    def match(packet: Packet) -> bool:
        message = read_mh(packet)
        return (message is not None and message.mh[2] == mh_type and packet[IPv6].src == src
                and (dst is None or packet[IPv6].dst == dst)
                and (sequence is None or message.sequence == sequence))
    return match


def hi_for(mn: Mobile, ncoa: str | None = None) -> Callable[[Packet], bool]:
    """A matcher: the MAP's HI to the NAR whose NCoA option names ``mn``'s NCoA."""
    wanted = IPv6Address(ncoa or mn.ncoa).packed
    return lambda p: is_mh(14, dst=NAR)(p) and read_mh(p).option(34, 2)[2:] == wanted


def tunnelled(outer_src: str, outer_dst: str, inner_dst: str) -> Callable[[Packet], bool]:
    """A matcher: IPv6-in-IPv6 (RFC 2473) from ``outer_src`` to ``outer_dst`` carrying a
    packet for ``inner_dst``."""
    def match(packet: Packet) -> bool:
        return (packet[IPv6].src == outer_src and packet[IPv6].dst == outer_dst
                and packet[IPv6].nh == 41
                and IPv6(bytes(packet[IPv6].payload)).dst == inner_dst)
    return match


def verify_router_pair(message: Message, pair: str) -> None:
    """The message ends with a valid router-pair authentication of ``pair``'s key (module
    docstring): Replay Protection at 8n+2 with a timestamp of now, then the authentication
    option at 4n+1, subtype 128, the pair's SPI, over (source, destination, MH Data)."""
    spi, key = PAIR_KEYS[pair]
    kinds = [kind for _at, kind, _data in message.options]
    assert kinds[-2:] == [10, 9], kinds
    at, _kind, auth = message.options[-1]
    assert at % 4 == 1 and at + 19 == len(message.mh), at
    assert auth[0] == 128 and struct.unpack("!I", auth[1:5])[0] == spi and len(auth) == 17
    packet = message.packet[IPv6]
    assert auth[5:] == first_96(key, packet.src, packet.dst, mh_data(message.mh))
    stamp_at, _kind, stamp = message.options[-2]
    assert stamp_at % 8 == 2 and len(stamp) == 8
    sent = struct.unpack("!Q", stamp)[0] / 2**32
    assert abs(sent - ntp_timestamp(float(message.packet.time)) / 2**32) < 7


def verify_fback(message: Message, mn: Mobile, *, status: int, sequence: int,
                 care_of: str, lifetime: tuple[int, int] = (4, 40)) -> None:
    """An FBack (RFC 5568 §6.2.3, Figure 8) from the MAP: ``status``, K and Reserved zero,
    the FBU's ``sequence``, a lifetime (4 s units) within ``lifetime``, and the BADF last
    (§6.4.5: Length 16, ``mn``'s handover SPI, ``First(96, HMAC_SHA1(key, care_of | MAP |
    MH Data))``, ``care_of`` the address the FBack binds, D5)."""
    assert message.packet[IPv6].src == MAP
    got_status, flags, got_sequence, units = struct.unpack_from("!BBHH", message.mh, 6)
    assert (got_status, flags, got_sequence) == (status, 0, sequence)
    assert lifetime[0] <= units * 4 <= lifetime[1], units
    at, kind, badf = message.options[-1]
    assert kind == 21 and len(badf) == 16 and at + 18 == len(message.mh) and at % 8 == 6
    assert struct.unpack("!I", badf[:4])[0] == mn.handover_spi
    assert badf[4:] == first_96(mn.handover_key, care_of, MAP, mh_data(message.mh))
    assert mobility_header_checksums(bytes(message.packet[IPv6])) == [True]


# -- the MAP under test ---------------------------------------------------------------------

def router_key(peer: str, pair: str) -> dict[str, object]:
    """A ``router_keys`` entry: the key of ``pair`` shared with ``peer``."""
    return {"peer": peer, "spi": PAIR_KEYS[pair][0], "key": PAIR_KEYS[pair][1].hex()}


def _neighbour(address: str, prefix: str, ap: bytes, mac: str) -> dict[str, object]:
    return {"access_points": [ap.hex()], "link_layer_address": mac, "address": address,
            "prefix": f"{prefix}/64"}


def _map_setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{MAP_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


def _patient(node: NodeUnderTest) -> None:
    """The node's tester waits up to WAIT for what the node must send."""
    expect = node.tester.expect

    def patient(match, *, since, timeout=WAIT, what="packet"):  # type: ignore[no-untyped-def]
        return expect(match, since=since, timeout=timeout, what=what)

    node.tester.expect = patient  # type: ignore[method-assign]


def start_map(**fast_handover: object) -> NodeUnderTest:
    """``mipshop daemon map`` anchoring fast handovers (module docstring), with the
    ``[mobility_anchor_point.fast_handover]`` keys ``fast_handover`` added."""
    require_root()
    config = {"mobility_anchor_point": {
        "address": MAP, "interface": "eth0",
        "allowed_lcoa_prefixes": [f"{PAR_PREFIX}/64", f"{NAR_PREFIX}/64"],
        "credentials": [m.credentials() for m in MOBILES],
        "fast_handover": {
            "neighbors": [_neighbour(PAR, PAR_PREFIX, PAR_AP, PAR_MAC),
                          _neighbour(NAR, NAR_PREFIX, NAR_AP, NAR_MAC)],
            "handover_keys": [m.handover_key_table() for m in MOBILES],
            "router_keys": [router_key(PAR, "map-par"), router_key(NAR, "map-nar")],
            **fast_handover,
        }}}
    node = NodeUnderTest("map", config, setup=_map_setup)
    node.tester.own(ROUTER_LL)
    _patient(node)
    return node


@pytest.fixture(scope="module")
def fh_map() -> Iterator[NodeUnderTest]:
    node = start_map(rtt=RTT)
    try:
        yield node
    finally:
        node.close()


def quiet(node: NodeUnderTest) -> None:
    """Wait until the MAP has handled every Mobility Header the tester sent it before
    (tester.settle: an unknown MH Type it answers with a Binding Error)."""
    settle(node.tester, node=MAP, prefix=PAR_PREFIX)


def register(node: NodeUnderTest, mn: Mobile, *, care_of: str | None = None,
             sequence: int = 1) -> None:
    """``mn``'s local BU from ``care_of`` (its LCoA), accepted (BA status 0)."""
    address = care_of or mn.lcoa
    mark = node.tester.mark()
    node.tester.send(local_bu(mn, care_of=address, sequence=sequence))
    ba = node.tester.expect(lambda p: p.haslayer(MIP6MH_BA) and p[MIP6MH_BA].seq == sequence
                            and p[IPv6].dst == address, since=mark, what="BA")
    assert ba[MIP6MH_BA].status == 0, ba[MIP6MH_BA].status


def send_fbu(node: NodeUnderTest, packet: Packet) -> int:
    mark = node.tester.mark()
    node.tester.send(packet)
    return mark


def expect_hi(node: NodeUnderTest, mn: Mobile, mark: int, ncoa: str | None = None) -> Message:
    message = read_mh(node.tester.expect(hi_for(mn, ncoa), since=mark, what="HI"))
    assert message is not None
    return message


def to_rcoa(node: NodeUnderTest, mn: Mobile, payload: bytes) -> int:
    """A correspondent's packet for the RCoA (through the MAP link's router); a mark."""
    mark = node.tester.mark()
    node.tester.send(IPv6(src=CN, dst=mn.rcoa, hlim=60) / UDP(sport=7, dport=9) / payload)
    return mark


def tunnelled_payload(packet: Packet) -> bytes:
    return bytes(IPv6(bytes(packet[IPv6].payload))[UDP].payload)


def handover(node: NodeUnderTest, mn: Mobile, sequence: int, code: int = 0,
             options: tuple[tuple[int, bytes, int, int], ...] = (), *,
             to: str | None = None) -> Message:
    """Register ``mn`` at its LCoA, FBU (``sequence``) -> the MAP's HI -> the NAR's HAck
    (``code``, ``options``) -> the MAP's FBack to ``to`` (default: the NCoA); returned."""
    register(node, mn)
    hi = expect_hi(node, mn, send_fbu(node, fbu(mn, sequence)))
    mark = node.tester.mark()
    node.tester.send(hack(hi.sequence, code, options=options))
    packet = node.tester.expect(is_mh(9, dst=to or mn.ncoa, sequence=sequence), since=mark,
                                what="FBack")
    message = read_mh(packet)
    assert message is not None
    return message


# -- FBU -> HI -> HAck -> FBack, and the redirection (RFC 4140 Figure A.2; RFC 5568 §4, §6.2) ----

def test_a_predictive_fbu_to_the_map_leads_to_hi_hack_fback_and_the_rcoa_tunnelled_to_the_ncoa(
        fh_map):
    """RFC 4140 Appendix A, Figure A.2, with RFC 5568 §4, §6.2: the FBU from the LCoA (the
    care-of address the RCoA is registered with: predictive) to the MAP, Home Address = RCoA,
    Alternate CoA = NCoA, BADF under the MN-MAP handover key, makes the MAP (not the PAR) send
    the NAR an HI (§6.2.1.1, Figure 6): from the MAP's address to the NAR's, Code 0 ("MUST"
    for an FBU from the PCoA, §4), S = 0, U = 1, Reserved 0, the Previous CoA option (Option-
    Code 1) naming the LCoA, the New CoA option (Option-Code 2) the FBU's NCoA (§5.2 "MUST use
    the NCoA present in the FBU"), both 8n+4 with prefix length 128, the MN's MH-LLA, ending
    with the router-pair authentication for the NAR (§10), checksum right. No FBack before
    the HAck (§6.2.3 "SHOULD NOT"). The NAR's HAck (Code 0, the HI's sequence) gets the FBack
    (Figure 8: status 0, the FBU's sequence, lifetime at most the one asked, BADF over (NCoA,
    MAP)) from the MAP to the NCoA and, predictive, to the LCoA. Then the RCoA's packets
    are tunnelled by the MAP to the NCoA (RFC 2473: outer source the MAP, inner intact but
    its hop limit, decremented once), no longer to the LCoA; the PAR is sent nothing."""
    mn = fresh()
    register(fh_map, mn)
    before = to_rcoa(fh_map, mn, b"before")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=before, what="MAP tunnel")
    packet = fbu(mn, 100)
    raw = bytes(packet)
    assert raw[mh_offset(raw) + 8] == 0xC0  # A, H (RFC 5568 §6.2.2: MUST be 1)
    mark = send_fbu(fh_map, packet)
    hi = expect_hi(fh_map, mn, mark)
    assert (hi.packet[IPv6].src, hi.packet[IPv6].dst) == (MAP, NAR)
    assert hi.mh[2] == 14 and hi.mh[3] == 0
    _sequence, flags, code = struct.unpack_from("!HBB", hi.mh, 6)
    assert (code, flags) == (0, 0x40)  # Code 0; S = 0, U = 1, Reserved 0
    assert hi.option(34, 1) == bytes([1, 128]) + IPv6Address(mn.lcoa).packed
    assert hi.option(34, 2) == bytes([2, 128]) + IPv6Address(mn.ncoa).packed
    assert hi.option(7) == b"\x02" + mac_bytes(MN_MAC)
    assert [at % 8 for at, kind, _data in hi.options if kind == 34] == [4, 4]
    verify_router_pair(hi, "map-nar")
    assert mobility_header_checksums(bytes(hi.packet[IPv6])) == [True]
    assert not [p for p in fh_map.tester.since(mark) if is_mh(9)(p) or p[IPv6].dst == PAR]
    mark = fh_map.tester.mark()
    fh_map.tester.send(hack(hi.sequence, 0))
    fback = read_mh(fh_map.tester.expect(is_mh(9, dst=mn.ncoa, sequence=100), since=mark,
                                         what="FBack (NCoA)"))
    old = read_mh(fh_map.tester.expect(is_mh(9, dst=mn.lcoa, sequence=100), since=mark,
                                       what="FBack (LCoA)"))
    for message in (fback, old):
        verify_fback(message, mn, status=0, sequence=100, care_of=mn.ncoa)
    mark = to_rcoa(fh_map, mn, b"after the fback")
    outer = fh_map.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=mark, what="tunnel")
    inner = IPv6(bytes(outer[IPv6].payload))
    assert (inner.src, inner.hlim) == (CN, 59)
    assert bytes(inner[UDP].payload) == b"after the fback"
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark)
                if tunnelled(MAP, mn.lcoa, mn.rcoa)(p) or p[IPv6].dst == PAR]


def test_a_reactive_fbu_from_the_ncoa_gets_an_hi_code_1_naming_the_registered_lcoa(fh_map):
    """RFC 5568 §4: "When the source IP address of the FBU is not PCoA, i.e., the FBU is sent
    from the NAR's link, the HI message MUST have a Code value of 1"; §6.2.1.1: S "MUST be 0
    when Code = 1", U "SHOULD be set to 0". At the MAP the PCoA is the LCoA the RCoA is bound
    to: the FBU from the NCoA (no Alternate CoA: the source is the care-of address bound,
    §6.2.2) gets an HI Code 1 naming that LCoA and the NCoA; the FBack after the HAck goes to
    the NCoA only (the node has left the old link), BADF over (NCoA, MAP); the RCoA's packets
    then go to the NCoA."""
    mn = fresh()
    register(fh_map, mn)
    mark = send_fbu(fh_map, fbu(mn, 200, source=mn.ncoa))
    hi = expect_hi(fh_map, mn, mark)
    _sequence, flags, code = struct.unpack_from("!HBB", hi.mh, 6)
    assert (code, flags) == (1, 0)
    assert hi.option(34, 1) == bytes([1, 128]) + IPv6Address(mn.lcoa).packed
    assert hi.option(7) == b"\x02" + mac_bytes(MN_MAC)
    verify_router_pair(hi, "map-nar")
    mark = fh_map.tester.mark()
    fh_map.tester.send(hack(hi.sequence, 0))
    fback = read_mh(fh_map.tester.expect(is_mh(9, dst=mn.ncoa, sequence=200), since=mark,
                                         what="FBack"))
    verify_fback(fback, mn, status=0, sequence=200, care_of=mn.ncoa)
    data = to_rcoa(fh_map, mn, b"reactive")
    fh_map.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=data, what="tunnel")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if is_mh(9, dst=mn.lcoa)(p)]


#: (the fault, the FBU's keyword arguments, whether the node registered first).
FORGERIES = ["no_local_binding", "another_nodes_key", "wrong_authenticator", "no_badf",
             "no_a_flag", "no_h_flag", "replayed_sequence"]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_an_fbu_the_map_cannot_accept_for_the_rcoa_gets_no_hi(fh_map, forgery):
    """RFC 5568 §6.2.2, §10: the FBU "MUST be protected so that the PAR [here the MAP] is able
    to determine that [it] is sent by an MN that legitimately owns the PCoA [the RCoA whose
    binding moves]", with the BADF (§6.4.5, MUST be present and last) and A and H "MUST be set
    to one". Refused, silently (no FBack: RFC 5568 defines no status for it; no HI, the RCoA
    still tunnelled to the LCoA): an RCoA with no local binding at this MAP (mipshop: the MAP
    can only redirect an RCoA it has bound), a handover key of another node (bound to its own
    RCoA), a wrong authenticator, no BADF, A = 0, H = 0, and a replay of an accepted FBU (its
    sequence number not newer, RFC 6275 §9.5.1: the BADF carries no timestamp)."""
    mn, other = fresh(), fresh()
    if forgery != "no_local_binding":
        register(fh_map, mn)
    if forgery == "replayed_sequence":
        accepted = fbu(mn, 310)
        hi = expect_hi(fh_map, mn, send_fbu(fh_map, accepted))
        mark = fh_map.tester.mark()
        fh_map.tester.send(hack(hi.sequence, 1))  # refused by the NAR: FBack 128, no binding
        fh_map.tester.expect(is_mh(9, dst=mn.ncoa, sequence=310), since=mark, what="FBack")
    kwargs: dict[str, Any] = {
        "no_local_binding": {}, "another_nodes_key": {"signer": other},
        "wrong_authenticator": {"tamper": True}, "no_badf": {"badf": False},
        "no_a_flag": {"flags": 0x4000}, "no_h_flag": {"flags": 0x8000},
        "replayed_sequence": {}}[forgery]
    packet = accepted if forgery == "replayed_sequence" else fbu(mn, 300, **kwargs)
    mark = send_fbu(fh_map, packet)
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if hi_for(mn)(p) or is_mh(9)(p)]
    if forgery == "no_local_binding":
        return
    data = to_rcoa(fh_map, mn, b"not moved")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=data, what="tunnel to the LCoA")
    assert not [p for p in fh_map.tester.since(mark) if tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]


@pytest.mark.parametrize("case", ["ncoa_of_no_neighbour", "no_mh_lla"])
def test_an_fbu_the_map_cannot_hand_over_gets_fback_128_and_no_hi(fh_map, case):
    """An authentic FBU for which no valid HI can be sent is refused with an FBack (RFC 5568
    §6.2.3: status 128, "Reason unspecified", lifetime 0, BADF over the NCoA and the MAP) to
    the NCoA and the LCoA; no HI, and the RCoA's packets keep going to the LCoA:

    * ``ncoa_of_no_neighbour``: §10, "the PAR [the anchor] MUST verify that the NCoA to which
      the PCoA is being bound actually belongs to the NAR's prefix": the NCoA (Alternate CoA)
      is of no access router the MAP hands over to (2001:db8:30::/64);
    * ``no_mh_lla``: the FBU carries no MH-LLA option (§6.2.2: "MAY"), and the MAP, which hears
      no RtSolPr (RFC 4140 Appendix A), has no other source for the node's link-layer address,
      which the HI "MUST" include "so that the destination can recognize the MN" (§6.2.1.1).
      (The MAP sent an HI without it until this test.)"""
    mn = fresh()
    register(fh_map, mn)
    ncoa = f"2001:db8:30::{0x200 + mn.n:x}" if case == "ncoa_of_no_neighbour" else mn.ncoa
    mark = send_fbu(fh_map, fbu(mn, 1400, ncoa=ncoa, lla=case != "no_mh_lla"))
    for destination in (ncoa, mn.lcoa):
        fback = read_mh(fh_map.tester.expect(is_mh(9, dst=destination, sequence=1400),
                                             since=mark, what="FBack"))
        verify_fback(fback, mn, status=128, sequence=1400, care_of=ncoa, lifetime=(0, 0))
    data = to_rcoa(fh_map, mn, b"nowhere to go")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=data, what="tunnel to the LCoA")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if is_mh(14)(p)
                or tunnelled(MAP, ncoa, mn.rcoa)(p)]


@pytest.mark.parametrize("fault", ["unauthenticated", "wrong_authenticator", "another_router",
                                   "unknown_router", "pair_key_of_another_router",
                                   "wrong_sequence", "replayed_timestamp"])
def test_a_hack_that_is_not_the_nars_answer_is_refused_by_the_map(fh_map, fault):
    """RFC 5568 §6.2.1.2: the HAck's Sequence # lets the anchor "match this HAck message with
    an outstanding HI"; §10: HI and HAck "MUST be protected" by the routers' security
    association (mipshop's router-pair authenticator, here MAP-NAR): a HAck without it, with a
    wrong authenticator, from another router that has a key (the PAR: no HI was sent to it),
    from a router without a key, signed with another pair's key, answering another sequence
    number, or with a timestamp not newer than the last accepted from the NAR (RFC 4285 §6)
    gives no FBack and no redirection; the NAR's own HAck afterwards still does."""
    mn = fresh()
    register(fh_map, mn)
    hi = expect_hi(fh_map, mn, send_fbu(fh_map, fbu(mn, 400)))
    stale = timestamp()  # older than what the NAR sends below
    if fault == "replayed_timestamp":
        # A HAck for another HI came with this timestamp (answering nothing, but accepted
        # as authentic and fresh): the same timestamp again is a replay.
        fh_map.tester.send(hack(hi.sequence ^ 0x8000, 0, stamp=stale))
    bad = {
        "unauthenticated": lambda: hack(hi.sequence, 0, sign=False),
        "wrong_authenticator": lambda: hack(hi.sequence, 0, tamper=True),
        "another_router": lambda: hack(hi.sequence, 0, src=PAR, pair="map-par"),
        "unknown_router": lambda: hack(hi.sequence, 0, src=STRANGER),
        "pair_key_of_another_router": lambda: hack(hi.sequence, 0, pair="map-par"),
        "wrong_sequence": lambda: hack((hi.sequence + 1) & 0xFFFF, 0),
        "replayed_timestamp": lambda: hack(hi.sequence, 0, stamp=stale),
    }[fault]()
    mark = fh_map.tester.mark()
    fh_map.tester.send(bad)
    quiet(fh_map)
    data = to_rcoa(fh_map, mn, b"not yet")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=data, what="tunnel to the LCoA")
    assert not [p for p in fh_map.tester.since(mark)
                if is_mh(9, sequence=400)(p) or tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]
    mark = fh_map.tester.mark()
    fh_map.tester.send(hack(hi.sequence, 0))
    fback = read_mh(fh_map.tester.expect(is_mh(9, dst=mn.ncoa, sequence=400), since=mark,
                                         what="FBack"))
    verify_fback(fback, mn, status=0, sequence=400, care_of=mn.ncoa)


@pytest.mark.parametrize("code", [1, 128, 129, 130])
def test_a_nar_refusal_gives_a_refusing_fback_and_the_rcoa_stays_with_the_lcoa(fh_map, code):
    """RFC 5568 §6.2.1.2: the NAR "can always refuse handover"; the FBack (§6.2.3) then
    refuses the FBU: status 128 for HAck 1 ("NCoA not valid", none offered) and 128, 129, 130
    copied from HAck 128-130 [mipshop's choice, mipshop.protocol.fmipv6.par], lifetime 0,
    BADF over (NCoA, MAP), to the NCoA and (predictive) the LCoA. Nothing is redirected: the
    RCoA's packets still go to the LCoA."""
    mn = fresh()
    fback = handover(fh_map, mn, 500 + code, code)
    verify_fback(fback, mn, status={1: 128}.get(code, code), sequence=500 + code,
                 care_of=mn.ncoa, lifetime=(0, 0))
    mark = to_rcoa(fh_map, mn, b"refused")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=mark, what="tunnel to the LCoA")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]


def test_a_hack_code_2_gives_the_assigned_ncoa_in_the_fback_and_the_tunnel(fh_map):
    """RFC 5568 §6.2.1.2 Code 2 ("Handover Accepted, NCoA assigned") with the New CoA option;
    §4 / §5.2: "If HAck contains an assigned NCoA, the FBack MUST include it" and "the PAR
    [the MAP] MUST include it in the FBack": status 1 ("use NCoA supplied", §6.2.3) with the
    assigned address in an Alternate CoA option (8n+6), BADF over (assigned address, MAP); the
    RCoA's packets are tunnelled to the assigned address, not the proposed NCoA."""
    mn = fresh()
    assigned = f"{NAR_PREFIX}a55:{mn.n:x}"
    fback = handover(fh_map, mn, 600, 2, options=(mh_address(2, assigned),), to=assigned)
    verify_fback(fback, mn, status=1, sequence=600, care_of=assigned)
    assert fback.option(3) == IPv6Address(assigned).packed
    assert [at % 8 for at, kind, _ in fback.options if kind == 3] == [6]
    mark = to_rcoa(fh_map, mn, b"assigned")
    fh_map.tester.expect(tunnelled(MAP, assigned, mn.rcoa), since=mark, what="tunnel")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]


def test_a_hack_code_3_keeps_the_lcoa_tunnelled_through_the_nar(fh_map):
    """RFC 5568 §6.2.1.2 Code 3 ("Handover Accepted, use PCoA"); RFC 4140 Appendix A step 3:
    the anchor forwards to the "old CoA tunnelled to NAR" when the new one is not applicable.
    At the MAP the old CoA is the LCoA (docs/decisions.md D16, [choice]): the FBack has status
    1 with the LCoA as Alternate CoA (keep it) and BADF over (LCoA, MAP); the RCoA's packets
    are tunnelled to the LCoA as before, and that tunnel is wrapped once more, MAP -> NAR
    (RFC 2473), for the NAR to deliver on its link; so is the MAP's own packet for the LCoA,
    the BA answering the node's local BU refresh from it (RFC 5380 §6.2), not sent directly."""
    mn = fresh()
    fback = handover(fh_map, mn, 700, 3, to=mn.lcoa)
    verify_fback(fback, mn, status=1, sequence=700, care_of=mn.lcoa)
    assert fback.option(3) == IPv6Address(mn.lcoa).packed
    mark = to_rcoa(fh_map, mn, b"old coa")
    outer = fh_map.tester.expect(tunnelled(MAP, NAR, mn.lcoa), since=mark, what="tunnel to NAR")
    middle = IPv6(bytes(outer[IPv6].payload))
    assert (middle.src, middle.dst, middle.nh) == (MAP, mn.lcoa, 41)
    inner = IPv6(bytes(middle.payload))
    assert (inner.src, inner.dst, inner.hlim) == (CN, mn.rcoa, 59)
    assert bytes(inner[UDP].payload) == b"old coa"
    mark = fh_map.tester.mark()
    fh_map.tester.send(local_bu(mn, care_of=mn.lcoa, sequence=2))
    outer = fh_map.tester.expect(
        lambda p: p[IPv6].src == MAP and p[IPv6].dst == NAR and p[IPv6].nh == 41
        and IPv6(bytes(p[IPv6].payload)).haslayer(MIP6MH_BA), since=mark, what="BA via NAR")
    ba = IPv6(bytes(outer[IPv6].payload))
    assert (ba.src, ba.dst, ba[MIP6MH_BA].seq, ba[MIP6MH_BA].status) == (MAP, mn.lcoa, 2, 0)
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if p.haslayer(MIP6MH_BA)
                and p[IPv6].dst == mn.lcoa]


def test_an_fbu_with_lifetime_zero_returns_the_rcoa_to_the_lcoa(fh_map):
    """RFC 5568 §5.6: a node back on the old link before updating its bindings sends an FBU
    with lifetime zero; the anchor "SHOULD terminate that tunnel; i.e., start delivering
    packets directly". At the MAP: the FBack (status 0, lifetime 0, BADF over the LCoA, the
    address bound, D5) and the RCoA's packets tunnelled to the LCoA again, not the NCoA."""
    mn = fresh()
    handover(fh_map, mn, 800)
    mark = to_rcoa(fh_map, mn, b"moved")
    fh_map.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=mark, what="tunnel to NCoA")
    mark = send_fbu(fh_map, fbu(mn, 801, lifetime=0, ncoa=mn.lcoa))
    fback = read_mh(fh_map.tester.expect(is_mh(9, dst=mn.lcoa, sequence=801), since=mark,
                                         what="FBack"))
    verify_fback(fback, mn, status=0, sequence=801, care_of=mn.lcoa, lifetime=(0, 0))
    assert not [p for p in fh_map.tester.since(mark) if hi_for(mn)(p)]
    mark = to_rcoa(fh_map, mn, b"back")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=mark, what="tunnel to LCoA")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]


def test_the_map_forwards_what_the_mn_reverse_tunnels_from_the_ncoa_of_its_fast_binding(fh_map):
    """RFC 5568 §4 (last paragraph), §3.1 at the anchor: packets the node tunnels from the
    NCoA with its RCoA as inner source before its local BU are decapsulated and the inner
    packet forwarded ("MUST forward the inner packet in the tunnel to its destination"),
    after checking "if a secure binding exists" (RFC 5380 §6.2: the MAP accepts the reverse
    tunnel of the registered LCoA): the same from the NCoA while the HI is still unanswered
    (no fast binding yet), or from an address of no binding, is dropped."""
    mn = fresh()
    register(fh_map, mn)
    hi = expect_hi(fh_map, mn, send_fbu(fh_map, fbu(mn, 900)))
    inner = IPv6(src=mn.rcoa, dst=CN, hlim=64) / UDP(sport=9, dport=7) / b"uplink"

    def forwarded(p: Packet) -> bool:
        return p[IPv6].src == mn.rcoa and p[IPv6].dst == CN and p[IPv6].nh == 17

    mark = fh_map.tester.mark()
    fh_map.tester.send(IPv6(src=mn.ncoa, dst=MAP) / inner)
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if forwarded(p)]
    mark = fh_map.tester.mark()
    fh_map.tester.send(hack(hi.sequence, 0))
    fh_map.tester.expect(is_mh(9, dst=mn.ncoa, sequence=900), since=mark, what="FBack")
    mark = fh_map.tester.mark()
    fh_map.tester.send(IPv6(src=mn.ncoa, dst=MAP) / inner)
    out = fh_map.tester.expect(forwarded, since=mark, what="decapsulated packet")
    assert out[IPv6].hlim == 63 and bytes(out[UDP].payload) == b"uplink"
    mark = fh_map.tester.mark()
    fh_map.tester.send(IPv6(src=f"{NAR_PREFIX}bad", dst=MAP) / inner)
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if forwarded(p)]


def test_the_local_bu_from_the_ncoa_supersedes_the_fast_binding(fh_map):
    """RFC 4140 Appendix A: the fast binding anticipates the local BU the node sends from the
    new link (RFC 5380 §6.1: RCoA -> NCoA); once the MAP has registered it, the redirection has
    done its work and the regular binding carries the traffic ([choice] map_anchor: state
    FORWARDING -> NONE, "superseded"). Seen on the wire: after the local BU from the NCoA, a
    local BU from the LCoA again (the node came back, within the FBU lifetime) has the RCoA
    tunnelled to the LCoA, not still redirected to the NCoA by a fast binding left behind."""
    mn = fresh()
    handover(fh_map, mn, 1000)
    register(fh_map, mn, care_of=mn.ncoa, sequence=2)
    mark = to_rcoa(fh_map, mn, b"registered")
    fh_map.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=mark, what="tunnel to NCoA")
    register(fh_map, mn, care_of=mn.lcoa, sequence=3)
    mark = to_rcoa(fh_map, mn, b"back again")
    fh_map.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=mark, what="tunnel to LCoA")
    quiet(fh_map)
    assert not [p for p in fh_map.tester.since(mark) if tunnelled(MAP, mn.ncoa, mn.rcoa)(p)]


#: The simultaneous-binding window of the MAP that bicasts (seconds): long enough that the
#: tester's packet sent on the FBack reaches the daemon inside it on a loaded machine.
WINDOW = 3.0


def test_with_simultaneous_bindings_the_map_also_tunnels_to_the_old_lcoa_for_a_while():
    """RFC 4140 Appendix A cites "simultaneous bindings" (traffic sent both ways for a while
    against handover timing and failed link-layer handovers); RFC 5568 §3.3 and §5.4 leave the
    node on the old link until its link layer moves. [choice] docs/decisions.md D17: an anchor
    with ``simultaneous_binding`` seconds, after accepting a *predictive* FBU (from the LCoA),
    tunnels each packet for the RCoA to the NCoA and a copy to the old LCoA for that long, both
    IPv6-in-IPv6 from the MAP (RFC 2473) with the inner packet intact but its hop limit. After
    the window only the NCoA gets it. A *reactive* FBU (from the NCoA: the node has left the
    old link) gets no copy at all."""
    node = start_map(rtt=RTT, simultaneous_binding=WINDOW)
    try:
        mn = fresh()
        handover(node, mn, 1200)
        accepted = time.monotonic()
        mark = to_rcoa(node, mn, b"during the window")
        for care_of in (mn.ncoa, mn.lcoa):
            packet = node.tester.expect(tunnelled(MAP, care_of, mn.rcoa), since=mark,
                                        what=f"tunnel to {care_of}")
            inner = IPv6(bytes(packet[IPv6].payload))
            assert (inner.src, inner.hlim) == (CN, 59)
            assert bytes(inner[UDP].payload) == b"during the window"
        reactive = fresh()
        register(node, reactive)
        hi = expect_hi(node, reactive, send_fbu(node, fbu(reactive, 1300,
                                                          source=reactive.ncoa)))
        fback_mark = node.tester.mark()
        node.tester.send(hack(hi.sequence, 0))
        node.tester.expect(is_mh(9, dst=reactive.ncoa, sequence=1300), since=fback_mark,
                           what="FBack (reactive)")
        reactive_mark = to_rcoa(node, reactive, b"reactive")
        node.tester.expect(tunnelled(MAP, reactive.ncoa, reactive.rcoa), since=reactive_mark,
                           what="tunnel to the reactive NCoA")
        time.sleep(max(0.0, accepted + WINDOW + 0.5 - time.monotonic()))
        after = to_rcoa(node, mn, b"after the window")
        node.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=after,
                           what="tunnel to the NCoA after the window")
        quiet(node)
        assert not [p for p in node.tester.since(reactive_mark)
                    if tunnelled(MAP, reactive.lcoa, reactive.rcoa)(p)]
        assert not [p for p in node.tester.since(after)
                    if tunnelled(MAP, mn.lcoa, mn.rcoa)(p)]
    finally:
        node.close()


# -- HI retransmission at the MAP, with other round-trip times (RFC 5568 §6.2.1.1) -------------

#: (the MAP's ``rtt`` (None: not configured), its ``hi_retries``, the first timeout).
RETRANSMISSIONS = [(None, 3, 0.1), (0.35, 2, 0.7)]
#: How late the daemon may send a message after its due time on a loaded machine (cumulated
#: over the schedule), and how early (its event loop rounds to its clock's resolution).
LATE = 3.0
EARLY = 0.02


@pytest.mark.parametrize(("rtt", "retries", "first"), RETRANSMISSIONS,
                         ids=["rtt_unknown_100ms", "rtt_0.35s"])
def test_the_maps_unanswered_hi_is_retransmitted_after_twice_its_rtt_doubling(rtt, retries,
                                                                                first):
    """RFC 5568 §6.2.1.1: without a HAck "in a short time period (no less than twice the
    typical round trip time (RTT) between source and destination, or 100 milliseconds if RTT
    is not known), the Handover Initiate SHOULD be resent"; "Subsequent retransmissions can be
    up to HI_RETRIES, but MUST use exponential backoff in which the timeout period (i.e., 2xRTT
    or 100 milliseconds) is doubled during each instance of retransmission", the Sequence #
    unchanged. At a MAP anchor (RFC 4140 Figure A.2), with round-trip times other than the
    access router test's 0.25 s: none configured (100 ms: HIs at 0, 0.1, 0.3, 0.7 s; HI_RETRIES
    3, RFC 5568 §9) and 0.35 s with ``hi_retries`` 2 (0, 0.7, 2.1 s). The k-th message is due
    ``sum(first x 2**i, i < k)`` after the FBU, never earlier and at most LATE later; each HI
    signed anew (another timestamp). After the last timeout the MAP gives up ([choice] par.py:
    FBack status 128, lifetime 0, to the NCoA and the LCoA) and the RCoA stays with the LCoA."""
    node = start_map(rtt=rtt, hi_retries=retries) if rtt else start_map(hi_retries=retries)
    try:
        mn = fresh()
        register(node, mn)
        start = time.time()  # the kernel's receive stamps use this clock (CLOCK_REALTIME)
        mark = send_fbu(node, fbu(mn, 1100))
        fback = read_mh(node.tester.expect(is_mh(9, dst=mn.ncoa, sequence=1100), since=mark,
                                           timeout=first * 2 ** (retries + 1) + 2 * LATE,
                                           what="FBack after the last HI"))
        his = [read_mh(p) for p in node.tester.since(mark) if hi_for(mn)(p)]
        assert len(his) == 1 + retries, [float(h.packet.time) - start for h in his]
        assert len({h.mh[6:10] for h in his}) == 1  # same Sequence #, flags, Code
        assert len({h.mh[-12:] for h in his}) == 1 + retries  # signed anew
        for hi in his:
            verify_router_pair(hi, "map-nar")
        elapsed = [float(m.packet.time) - start for m in (*his, fback)]
        due = [first * (2 ** k - 1) for k in range(len(elapsed))]
        for k, (at, when) in enumerate(zip(elapsed, due, strict=True)):
            assert when - EARLY <= at <= when + LATE, (k, [round(e, 3) for e in elapsed], due)
        verify_fback(fback, mn, status=128, sequence=1100, care_of=mn.ncoa, lifetime=(0, 0))
        old = read_mh(node.tester.expect(is_mh(9, dst=mn.lcoa, sequence=1100), since=mark,
                                         what="FBack (LCoA)"))
        assert old.mh[6] == 128
        data = to_rcoa(node, mn, b"no handover")
        node.tester.expect(tunnelled(MAP, mn.lcoa, mn.rcoa), since=data, what="tunnel (LCoA)")
    finally:
        node.close()


# -- the mobile node's RtSolPr and FBU retransmissions with no RTT known (RFC 5568 §6.1.1) -------

@pytest.mark.parametrize("message", ["rtsolpr", "fbu"])
def test_the_mobile_nodes_retransmissions_use_100_ms_when_no_rtt_is_known(message):
    """RFC 5568 §6.1.1: the RtSolPr is resent when no PrRtAdv comes "in a timely manner (no
    less than twice the typical round trip time (RTT) over the access link, or 100
    milliseconds if RTT is not known)", up to RTSOLPR_RETRIES (3, §9), the timeout "doubled
    prior to each instance of retransmission"; the FBU on the same schedule (FBU_RETRIES 3,
    [choice] docs/decisions.md D7). The other round-trip time than test_mobile_node_clients'
    0.25 s: none configured (``[mobile_node.fast_handover]`` without ``rtt``): transmissions
    at 0, 0.1, 0.3 and 0.7 s after the trigger (never earlier, at most LATE later), and, the
    last timeout over at 1.5 s, the protocol stops (§5.1 for the RtSolPr, §4 for the FBU:
    event ``fmip.stopped``) within LATE of it; no fifth message."""
    from tests.conformance import test_mobile_node_clients as mnc

    config = mnc.fmip_config()
    del config["mobile_node"]["fast_handover"]["rtt"]
    with mnc.start(config) as node:
        mnc.attach(node)
        if message == "fbu":
            mnc.solicit(node)
        match = mnc.is_rtsolpr if message == "rtsolpr" else mnc.is_fbu
        mark = node.tester.mark()
        triggered = time.time()  # the kernel's receive stamps and the events use this clock
        if message == "rtsolpr":
            mnc.l2(node, "scan", access_points=[mnc.NAR_AP])
        else:
            mnc.l2(node, "link_going_down", target_ap=mnc.NAR_AP)
        (stopped, *_) = mnc.wait_event(node, "fmip.stopped", 0, timeout=1.5 + LATE + 1)
        time.sleep(0.3)  # what the daemon might still send after the event
        sent = [p for p in node.tester.since(mark) if match(p)]
        elapsed = [float(p.time) - triggered for p in sent]
        due = [0.1 * (2 ** k - 1) for k in range(4)]
        assert len(sent) == 4, [round(e, 3) for e in elapsed]
        for k, (at, when) in enumerate(zip(elapsed, due, strict=True)):
            assert when - EARLY <= at <= when + LATE, (k, [round(e, 3) for e in elapsed])
        assert 1.5 - EARLY <= stopped["wall"] - triggered <= 1.5 + LATE, stopped["wall"] - triggered


# -- what the MAP sent, as Wireshark reads it -------------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_anchoring_map_sent_without_complaint(fh_map):
    """Every frame the MAP sent in this module (BAs, HIs, FBacks of every status, Binding
    Errors, tunnelled packets, two levels deep for HAck Code 3) read by tshark's dissectors:
    no malformed frame, no expert warning or error, and every Mobility Header checksum right
    (RFC 6275 §6.1.1, which tshark does not check)."""
    mn = fresh()
    handover(fh_map, mn, 1200)
    mark = to_rcoa(fh_map, mn, b"x")
    fh_map.tester.expect(tunnelled(MAP, mn.ncoa, mn.rcoa), since=mark, what="tunnel")
    stacks, complaints = dissection_problems(fh_map.tester)
    for protocol in ("mipv6", "ipv6:ipv6"):
        assert any(protocol in stack for stack in stacks), (protocol, set(stacks))
    assert complaints == [], complaints


# -- the access router of a MAP-anchored domain (RFC 4140 Appendix A; RFC 5380 §5) -------------

AR = PAR
AR_LL = "fe80::10"
#: The MAP option the router names in its PrRtAdvs (``map_anchor``): this MAP, two hops away,
#: preference 9, R set, valid 3600 s.
ANCHOR_OPTION = {"address": MAP, "distance": 2, "preference": 9, "valid_lifetime": 3600,
                 "r_flag": True}


def map_option_bytes(option: dict[str, Any]) -> bytes:
    """RFC 5380 §5 Figure 3, laid out by hand: Type 23, Length 3, Dist (4 bits) | Pref (4
    bits), R then 7 reserved bits, zero, Valid Lifetime, the MAP's global address."""
    return (struct.pack("!BBBBI", 23, 3, (option["distance"] << 4) | option["preference"],
                        0x80 if option["r_flag"] else 0, option["valid_lifetime"])
            + IPv6Address(option["address"]).packed)


def _ar_setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{AR_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


#: An address of the anchored router's link that its DAD finds taken (``addresses_in_use``).
IN_USE = f"{PAR_PREFIX}4e0"


@dataclass(frozen=True)
class Visitor:
    """A mobile node arriving at the anchored router from the NAR's link (the router is its
    NAR here): its old LCoA there, its NCoA on the router's link, its MAC."""

    n: int

    @property
    def lcoa(self) -> str:
        return f"{NAR_PREFIX}{0x300 + self.n:x}"

    @property
    def ncoa(self) -> str:
        return f"{PAR_PREFIX}{0x300 + self.n:x}"

    @property
    def rcoa(self) -> str:
        return f"2001:db8:a1::{0x300 + self.n:x}"

    @property
    def mac(self) -> str:
        return f"02:00:00:00:66:{self.n:02x}"


@pytest.fixture(scope="module")
def anchored_ar() -> Iterator[NodeUnderTest]:
    """``mipshop daemon ar`` on 2001:db8:10::/64 with ``map_anchor`` and ``anchors`` (module
    docstring); a neighbour, the NAR; router keys for the NAR and the MAP; no ``rtt``."""
    require_root()
    config = {"access_router": {
        "interface": "eth0", "address": AR, "prefix": f"{PAR_PREFIX}/64", "link_local": AR_LL,
        "ra_interval": 30.0, "max_ra_delay": 0.0, "map_options": [ANCHOR_OPTION],
        "fast_handover": {
            "local_access_points": [PAR_AP.hex()],
            "neighbors": [_neighbour(NAR, NAR_PREFIX, NAR_AP, NAR_MAC)],
            "handover_keys": [{"spi": m.handover_spi, "key": m.handover_key.hex(),
                               "previous_care_of_address": m.lcoa} for m in MOBILES],
            "router_keys": [router_key(NAR, "ar-nar"), router_key(MAP, "ar-map")],
            "map_anchor": ANCHOR_OPTION,
            "anchors": [MAP],
            "support_previous_care_of_address": True,
            "addresses_in_use": [IN_USE],
        }}}
    node = NodeUnderTest("ar", config, setup=_ar_setup)
    try:
        node.tester.own(ROUTER_LL)
        for mn in MOBILES:
            node.tester.own(mn.lcoa, MN_MAC)
        _patient(node)
        yield node
    finally:
        node.close()


def icmpv6(src: str, dst: str, message: bytes) -> Packet:
    """An ICMPv6 message with its checksum (RFC 4443 §2.3), hop limit 255."""
    pseudo = (IPv6Address(src).packed + IPv6Address(dst).packed
              + struct.pack("!I3xB", len(message), 58))
    message = message[:2] + struct.pack("!H", internet_checksum(pseudo + message)) + message[4:]
    return IPv6(src=src, dst=dst, nh=58, hlim=255) / Raw(message)


def lla_option(code: int, mac: bytes) -> bytes:
    """LLA option (type 19, §6.4.3), Length in 8 octets (docs/decisions.md D10)."""
    data = bytes([19, 0, code]) + mac
    data += bytes(-len(data) % 8)
    return data[:1] + bytes([len(data) // 8]) + data[2:]


def nd_options(data: bytes) -> list[tuple[int, bytes]]:
    """(type, option octets) of the ND options in ``data`` (RFC 4861 §4.6), all of it."""
    options, at = [], 0
    while at < len(data):
        assert data[at + 1], "an option of Length 0"
        options.append((data[at], data[at:at + data[at + 1] * 8]))
        at += data[at + 1] * 8
    assert at == len(data), "the options overrun the message"
    return options


def prrtadv_to(destination: str, code: int, identifier: int) -> Callable[[Packet], bool]:
    def match(packet: Packet) -> bool:
        raw = bytes(packet[IPv6])
        return (raw[6] == 58 and raw[40] == 154 and raw[41] == code and raw[44] == 3
                and packet[IPv6].dst == destination
                and struct.unpack_from("!H", raw, 46)[0] == identifier)
    return match


def ar_info(ap: bytes, mac: str, address: str, prefix: str) -> list[bytes]:
    """[AP-ID, AR-Info] (RFC 5568 §6.1.2, §6.4.1, §6.4.3): New AP LLA (19, Option-Code 1), the
    New Router's LLA (19, 3), its IP address (17, 3, /128), its prefix (17, 4, /64)."""
    def lla(code: int, octets: bytes) -> bytes:
        return bytes([19, 2, code]) + octets + bytes(7)

    def ip(code: int, plen: int, value: str) -> bytes:
        return bytes([17, 3, code, plen]) + bytes(4) + IPv6Address(value).packed

    return [lla(1, ap), lla(3, mac_bytes(mac)), ip(3, 128, address), ip(4, 64, prefix)]


_identifiers = itertools.count(0x5100)


@pytest.mark.parametrize("trigger", ["rtsolpr", "network_initiated"])
def test_a_map_anchored_routers_prrtadv_carries_the_map_option(anchored_ar, trigger):
    """RFC 4140 Appendix A: "in the network-determined case the layer-2 triggers at the PAR
    will cause the PAR to send a Proxy Router Advertisement to the mobile node with the MAP
    option. In the mobile-determined case, this is preceded by a Proxy Router Solicitation":
    the PrRtAdv answering an RtSolPr (Code 0, its Identifier) and the unsolicited one of a
    network-initiated handover (Code 1, Identifier 0, daemon command ``handover``) both carry,
    after the source LLA and the [AP-ID, AR-Info] tuple of the NAR (RFC 5568 §6.1.2), the MAP
    option as RFC 5380 §5 Figure 3 lays it out (the ``map_anchor`` table: Type 23, Length 3,
    Dist 2, Pref 9, R, Reserved 0, Valid Lifetime 3600, the MAP's address), once, last
    [mipshop's order]; from the link-local address, hop limit 255, checksum right."""
    mn = MOBILES[0]
    mark = anchored_ar.tester.mark()
    if trigger == "rtsolpr":
        identifier, code = next(_identifiers), 0
        options = lla_option(4, mac_bytes(MN_MAC)) + lla_option(1, NAR_AP)
        anchored_ar.tester.send(icmpv6(mn.lcoa, "ff02::2", struct.pack(
            "!BBHBBH", 154, 0, 0, 2, 0, identifier) + options), src_mac=MN_MAC)
    else:
        identifier, code = 0, 1
        assert anchored_ar.control({"cmd": "handover", "mobile": mn.lcoa,
                                    "target_ap": NAR_AP.hex(),
                                    "new_care_of_address": mn.ncoa})["sent"] is True
    packet = anchored_ar.tester.expect(prrtadv_to(mn.lcoa, code, identifier), since=mark,
                                       what="PrRtAdv")
    assert packet[IPv6].src == AR_LL and packet[IPv6].hlim == 255
    assert packet[Ether].src == DUT_MAC
    message = bytes(packet[IPv6])[40:]
    assert internet_checksum(IPv6Address(AR_LL).packed + IPv6Address(mn.lcoa).packed
                             + struct.pack("!I3xB", len(message), 58) + message) == 0
    assert message[4:6] == bytes([3, 0])  # Subtype 3, Reserved 0
    expected = [bytes([19, 2, 4]) + mac_bytes(DUT_MAC) + bytes(7),
                *ar_info(NAR_AP, NAR_MAC, NAR, NAR_PREFIX)]
    if trigger == "network_initiated":
        expected.append(bytes([17, 3, 2, 128]) + bytes(4) + IPv6Address(mn.ncoa).packed)
    expected.append(map_option_bytes(ANCHOR_OPTION))
    assert [data for _kind, data in nd_options(message[8:])] == expected
    assert map_option_bytes(ANCHOR_OPTION).hex() == (
        "1703298000000e10" + IPv6Address(MAP).packed.hex())


def anchor_hi(sequence: int, visitor: Visitor, *, pair: str = "ar-map", src: str = MAP,
              tamper: bool = False, code: int = 0, ncoa: str | None = None) -> Packet:
    """The MAP's HI to the router as NAR (RFC 4140 Figure A.2 "1a. HI"; RFC 5568 §6.2.1.1):
    Code 0, U set (buffer) (or Code 1, S = U = 0), the MN's MH-LLA, the Previous CoA (its old
    LCoA) and the New CoA (``ncoa``, by default the visitor's) options, authenticated for the
    MAP-router pair."""
    body = struct.pack("!HBB", sequence, 0x40 if code == 0 else 0, code)
    options = [mh_lla(visitor.mac), mh_address(1, visitor.lcoa),
               mh_address(2, ncoa or visitor.ncoa)]
    mh = router_signed(14, body, options, src=src, dst=AR, pair=pair, tamper=tamper)
    return mh_packet(mh, src=src, dst=AR)


_visitors = iter(Visitor(n) for n in range(1, 40))
_hi_sequences = itertools.count(0x6100)


def test_the_anchored_router_answers_the_maps_hi_and_delivers_the_maps_tunnel_after_the_una(
        anchored_ar):
    """RFC 4140 Appendix A, Figure A.2: "the HI/HAck messages now occur between the MAP and
    NAR"; RFC 5568 §6.2.1.2: the NAR "MUST respond with a Handover Acknowledge", the Sequence
    # copied, Code 0 (a valid NCoA, S = 0), to the MAP (the HI's source), authenticated for
    the MAP-router pair (§10; the key of ``anchors``' MAP); §4: it proxies the NCoA and, U
    set, buffers what arrives for it: here the MAP's tunnel (MAP -> NCoA, the RCoA's packet
    inside) until the UNA from the NCoA (§6.3), then delivers it to the node's LLA as it came
    (the node decapsulates), the hop limit of the outer header decremented once."""
    ar = anchored_ar
    visitor = next(_visitors)
    sequence = next(_hi_sequences)
    mark = ar.tester.mark()
    ar.tester.send(anchor_hi(sequence, visitor))
    answer = read_mh(ar.tester.expect(is_mh(15, src=AR, dst=MAP, sequence=sequence), since=mark,
                                      what="HAck"))
    assert (answer.mh[8], answer.mh[9]) == (0, 0)
    verify_router_pair(answer, "ar-map")
    assert mobility_header_checksums(bytes(answer.packet[IPv6])) == [True]
    ar.tester.own("2001:db8:10::77", HOST_MAC)
    mark = ar.tester.mark()
    ar.tester.send(neighbor_solicitation(visitor.ncoa, source="2001:db8:10::77", mac=HOST_MAC),
                   src_mac=HOST_MAC)
    na = ar.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt
                          == visitor.ncoa, since=mark, what="proxy NA for the NCoA")
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=MAP, dst=visitor.ncoa, hlim=50)
                   / IPv6(src=CN, dst=visitor.rcoa, hlim=40) / UDP(sport=7, dport=9)
                   / b"from the map")
    probe_ar(ar)
    assert not [p for p in ar.tester.since(mark) if p[IPv6].dst == visitor.ncoa
                and p[IPv6].nh == 41]
    mark = ar.tester.mark()
    ar.tester.send(una(visitor.ncoa, visitor.mac), src_mac=visitor.mac)
    delivered = ar.tester.expect(tunnelled(MAP, visitor.ncoa, visitor.rcoa), since=mark,
                                 what="the buffered tunnel")
    assert delivered[Ether].dst == visitor.mac and delivered[IPv6].hlim == 49
    assert tunnelled_payload(delivered) == b"from the map"


def una(address: str, mac: str) -> Packet:
    """A UNA (RFC 5568 §6.3): from ``address`` to all-nodes, target = source, the sender's
    LLA, O = 0, hop limit 255."""
    return (IPv6(src=address, dst="ff02::1", hlim=255)
            / ICMPv6ND_NA(R=0, S=0, O=0, tgt=address) / ICMPv6NDOptDstLLAddr(lladdr=mac))


def test_the_anchored_router_serves_the_old_lcoa_the_map_tunnels_through_it(anchored_ar):
    """RFC 5568 §6.2.1.2, §4 step 3 with the MAP as the anchor (RFC 4140 Appendix A, step 3:
    "old CoA tunnelled to NAR"; docs/decisions.md D15, D16): to the MAP's HI whose NCoA its
    DAD finds taken, the router (configured to support the PCoA) answers HAck Code 3 ("use
    PCoA", no New CoA option), authenticated for the MAP; it then holds what the MAP tunnels
    to it (MAP -> router [MAP -> old LCoA [the RCoA's packet]]) until the node arrives: its UNA
    from the unusable NCoA gets a NAACK status 4 ("PCoA supplied, do not send FBU", RFC 5568
    §6.4.6: Type 20, Length 1, Option-Code 0, Reserved 0) in a Router Advertisement to that
    address at the node's LLA, and the held packet, the MAP's tunnel to the old LCoA,
    decapsulated once, is delivered at that LLA, its hop limit decremented. The same tunnel
    from another source than the MAP is not delivered."""
    ar = anchored_ar
    visitor = next(_visitors)
    sequence = next(_hi_sequences)
    mark = ar.tester.mark()
    ar.tester.send(anchor_hi(sequence, visitor, ncoa=IN_USE))
    answer = read_mh(ar.tester.expect(is_mh(15, src=AR, dst=MAP, sequence=sequence), since=mark,
                                      what="HAck"))
    assert (answer.mh[8], answer.mh[9]) == (0, 3) and answer.option(34, 2) is None
    verify_router_pair(answer, "ar-map")

    def wrapped(source: str, payload: bytes) -> Packet:
        return (IPv6(src=source, dst=AR, hlim=60) / IPv6(src=MAP, dst=visitor.lcoa, hlim=50)
                / IPv6(src=CN, dst=visitor.rcoa, hlim=40) / UDP(sport=7, dport=9) / payload)

    mark = ar.tester.mark()
    ar.tester.send(wrapped(STRANGER, b"not from the map"))
    ar.tester.send(wrapped(MAP, b"old lcoa"))
    probe_ar(ar)
    assert not [p for p in ar.tester.since(mark) if p[IPv6].dst == visitor.lcoa]
    mark = ar.tester.mark()
    ar.tester.send(una(IN_USE, visitor.mac), src_mac=visitor.mac)
    ra = ar.tester.expect(lambda p: p[IPv6].dst == IN_USE and bytes(p[IPv6])[40] == 134,
                          since=mark, what="RA with a NAACK")
    assert ra[Ether].dst == visitor.mac and ra[IPv6].src == AR_LL and ra[IPv6].hlim == 255
    message = bytes(ra[IPv6])[40:]
    assert internet_checksum(IPv6Address(AR_LL).packed + IPv6Address(IN_USE).packed
                             + struct.pack("!I3xB", len(message), 58) + message) == 0
    assert [data for kind, data in nd_options(message[16:]) if kind == 20] == [
        bytes([20, 1, 0, 4, 0, 0, 0, 0])]
    delivered = ar.tester.expect(tunnelled(MAP, visitor.lcoa, visitor.rcoa), since=mark,
                                 what="the MAP's tunnel to the old LCoA")
    assert delivered[Ether].dst == visitor.mac and delivered[IPv6].hlim == 49
    assert tunnelled_payload(delivered) == b"old lcoa"
    probe_ar(ar)
    assert [tunnelled_payload(p) for p in ar.tester.since(0)
            if tunnelled(MAP, visitor.lcoa, visitor.rcoa)(p)] == [b"old lcoa"]


def probe_ar(ar: NodeUnderTest) -> None:
    """Wait until the router has handled what the tester sent it before through its
    forwarding path: an HI of the MAP it must answer (a Code 1 HI prepares nothing)."""
    sequence = next(_hi_sequences)
    mark = ar.tester.mark()
    ar.tester.send(anchor_hi(sequence, next(_visitors), code=1))
    ar.tester.expect(is_mh(15, src=AR, dst=MAP, sequence=sequence), since=mark,
                     what="HAck to the probe")


@pytest.mark.parametrize("fault", ["wrong_authenticator", "key_of_another_pair",
                                   "a_map_without_a_key"])
def test_the_anchored_router_refuses_an_hi_not_authenticated_by_its_map(anchored_ar, fault):
    """RFC 5568 §10: HI "MUST be protected" by the routers' security association (here the
    MAP-router pair's; mipshop: an ``anchors`` MAP needs a router key): a wrong authenticator,
    the NAR's key instead of the MAP's, or another MAP without a key: no HAck, the NCoA not
    proxied."""
    ar = anchored_ar
    visitor = next(_visitors)
    sequence = next(_hi_sequences)
    packet = {"wrong_authenticator": lambda: anchor_hi(sequence, visitor, tamper=True),
              "key_of_another_pair": lambda: anchor_hi(sequence, visitor, pair="ar-nar"),
              "a_map_without_a_key": lambda: anchor_hi(sequence, visitor,
                                                       src="2001:db8:a2::1")}[fault]()
    mark = ar.tester.mark()
    ar.tester.send(packet)
    probe_ar(ar)
    assert not [p for p in ar.tester.since(mark) if read_mh(p) is not None
                and read_mh(p).mh[2] == 15 and read_mh(p).sequence == sequence]
    mark = ar.tester.mark()
    ar.tester.own("2001:db8:10::78", HOST_MAC)
    ar.tester.send(neighbor_solicitation(visitor.ncoa, source="2001:db8:10::78", mac=HOST_MAC),
                   src_mac=HOST_MAC)
    ar.tester.absent(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == visitor.ncoa,
                     since=mark, wait=1.0)


def test_the_anchored_routers_own_unanswered_hi_uses_100_ms_doubling(anchored_ar):
    """RFC 5568 §6.2.1.1 at an access router with no RTT configured ("or 100 milliseconds if
    RTT is not known"), another round-trip time than the access router test's 0.25 s: a node
    of its link whose FBU comes to it (plain RFC 5568, whatever PrRtAdvs say) gets HIs to the
    NAR at 0, 0.1, 0.3 and 0.7 s (HI_RETRIES 3, doubling, same Sequence #), then, after the
    last timeout (0.8 s more), FBack status 128, lifetime 0 (par.py, [choice])."""
    ar = anchored_ar
    mn = MOBILES[1]
    ncoa = f"{NAR_PREFIX}{0x400 + mn.n:x}"
    options = [(3, IPv6Address(ncoa).packed, 8, 6), mh_lla(MN_MAC),
               (21, struct.pack("!I", mn.handover_spi) + bytes(12), 8, 6)]
    mh = mobility_header(8, struct.pack("!HHH", 1300, 0xC000, 10), options)
    mh = mh[:-12] + first_96(mn.handover_key, ncoa, AR, mh_data(mh))
    packet = IPv6(with_mh_checksum(bytes(
        IPv6(src=mn.lcoa, dst=AR, hlim=64) / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=mn.lcoa)])
        / Raw(mh)), src=mn.lcoa, dst=AR))
    start = time.time()
    mark = ar.tester.mark()
    ar.tester.send(packet, src_mac=MN_MAC)
    fback = read_mh(ar.tester.expect(is_mh(9, src=AR, dst=ncoa, sequence=1300), since=mark,
                                     timeout=1.5 + 2 * LATE, what="FBack after the last HI"))
    wanted = IPv6Address(ncoa).packed
    his = [read_mh(p) for p in ar.tester.since(mark) if is_mh(14, src=AR, dst=NAR)(p)
           and read_mh(p).option(34, 2)[2:] == wanted]
    assert len(his) == 4 and len({h.mh[6:10] for h in his}) == 1
    for hi in his:
        verify_router_pair(hi, "ar-nar")
    elapsed = [float(m.packet.time) - start for m in (*his, fback)]
    due = [0.1 * (2 ** k - 1) for k in range(5)]
    for k, (at, when) in enumerate(zip(elapsed, due, strict=True)):
        assert when - EARLY <= at <= when + LATE, (k, [round(e, 3) for e in elapsed], due)
    assert struct.unpack_from("!BBHH", fback.mh, 6)[0::3] == (128, 0)


@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_anchored_router_sent_without_complaint(anchored_ar):
    """Every frame the router sent in this module (PrRtAdvs with the MAP option, HAcks to the
    MAP, HIs and FBacks of its own, proxy NAs, the delivered tunnel) read by tshark: no
    malformed frame, no expert warning or error, Mobility Header checksums right."""
    probe_ar(anchored_ar)
    stacks, complaints = dissection_problems(anchored_ar.tester)
    assert any("mipv6" in stack for stack in stacks), set(stacks)
    assert complaints == [], complaints
