"""`mipshop daemon ar` with a ``fast_handover`` table against an independent tester (RFC 5568:
the PAR side, §4, §5.2 (predictive and reactive FBUs), §6.1, §6.2 (with HI retransmission,
§6.2.1.1), §6.3, and the NAR side, §4 (with the reverse tunnel of a served PCoA, step 3),
§5.5 (its address pool), §6.2.1 (HI Codes 0 and 1), §6.3, §6.4.6 (NAACK)).

A second router, ``ar_short_rtt``, identical but for ``rtt`` 0.25 s, shows its HI
retransmissions; the first keeps ``rtt`` 2 s so that none crosses another test. Two more,
``nar_serving_pcoa`` and ``nar_with_pool``, are NARs configured to serve PCoAs (HAck Code 3,
NAACK 3 and 4) and to assign addresses from a pool (HAck Code 2, NAACK 2).

The access router under test serves 2001:db8:1::/64 at 2001:db8:1::1. The tester plays, on the
same veth:

* the mobile nodes on the router's link, at their PCoAs 2001:db8:1::1xx (MAC ``MN_MAC``);
* the neighbouring access router ``NAR`` (2001:db8:2::1, prefix 2001:db8:2::/64) and a second
  neighbour ``OTHER`` (2001:db8:3::1), both reached through the default router ``fe80::fffe``
  the tester answers for; when the router under test is the NAR, ``NAR`` plays its PAR;
* correspondents (2001:db8:100::/64, behind the same default router).

scapy has no FMIPv6 classes: every FMIPv6 message is laid out here by hand from the figures of
RFC 5568 (RtSolPr and PrRtAdv §6.1, HI and HAck §6.2.1, FBU and FBack §6.2.2-§6.2.3, options
§6.4) and read back by hand; scapy only wraps them in IPv6 and Ethernet headers. The
authenticators are computed here with hmac/hashlib, never with mipshop's code:

* BADF (§6.4.5, docs/decisions.md D4, D5): Length = SPI + authenticator (16),
  ``First(96, HMAC_SHA1(handover key, care-of address | PAR address | MH Data))``, the care-of
  address being the one the message binds (the FBU's Alternate CoA, the FBack's NCoA);
* the router-pair authenticator of HI and HAck (mipshop's stand-in for the IPsec SA of §10,
  docs/security.md): an RFC 4285 Replay Protection option (type 10, NTP timestamp) and, last, a
  Mobility Message Authentication option (type 9) of subtype 128 with the pair's SPI and
  ``First(96, HMAC_SHA1(pair key, source | destination | MH Data))``.

MH Data is the Mobility Header up to and including the SPI, Checksum zero.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

import pytest
from scapy.layers.inet6 import (
    HAO,
    UDP,
    ICMPv6ND_NA,
    ICMPv6NDOptDstLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from tests.conformance.tester import (
    DUT_MAC,
    NodeUnderTest,
    dissection_problems,
    internet_checksum,
    mac_bytes,
    mh_options,
    mobility_header_checksums,
    neighbor_solicitation,
    ntp_timestamp,
    with_mh_checksum,
)

pytestmark = pytest.mark.netns

AR = "2001:db8:1::1"
AR_LL = "fe80::1"
PREFIX = "2001:db8:1::/64"
ROUTER_LL = "fe80::fffe"
NAR = "2001:db8:2::1"
NAR_PREFIX = "2001:db8:2::"
NAR_MAC = "02:00:00:00:22:01"
OTHER = "2001:db8:3::1"
OTHER_MAC = "02:00:00:00:33:01"
STRANGER = "2001:db8:9::1"  # a router the access router has no key for
CN = "2001:db8:100::10"
MN_MAC = "02:00:00:00:55:01"
HOST_MAC = "02:00:00:00:77:01"
#: A mobile node's link-layer address the router is configured not to recognise on its link
#: (``unrecognized_link_layer_addresses``: NAACK status 128, RFC 5568 §6.4.6).
UNRECOGNIZED_MAC = "02:00:00:00:88:80"
LOCAL_AP = bytes.fromhex("00005e00aa01")
NAR_AP = bytes.fromhex("00005e00aa02")
OTHER_AP = bytes.fromhex("00005e00aa03")
#: The router pairs' SPIs and keys (configured on both sides of a pair, RFC 5568 §10 stand-in).
PAIR_KEYS = {NAR: (0x1201, bytes(range(16, 32))), OTHER: (0x1301, bytes(range(32, 48)))}
#: The HI retransmission timer is 2 x rtt (§6.2.1.1): 4 s, so that no retransmission crosses
#: a test on a loaded machine.
RTT = 2.0


@dataclass(frozen=True)
class Mobile:
    """One mobile node of the router's link: its PCoA and its handover key (bound to it)."""

    n: int

    @property
    def pcoa(self) -> str:
        return f"2001:db8:1::{0x100 + self.n:x}"

    @property
    def ncoa(self) -> str:
        return f"{NAR_PREFIX}{0x100 + self.n:x}"

    @property
    def spi(self) -> int:
        return 5000 + self.n

    @property
    def key(self) -> bytes:
        return hashlib.sha1(f"handover key {self.n}".encode()).digest()

    def table(self) -> dict[str, object]:
        """The ``[[access_router.fast_handover.handover_keys]]`` entry."""
        return {"spi": self.spi, "key": self.key.hex(), "previous_care_of_address": self.pcoa}


MOBILES = [Mobile(n) for n in range(1, 81)]
_next_mobile = iter(MOBILES[1:])
#: Sends the tester's probes (MOBILES[0], see :func:`probe`).
PROBE = MOBILES[0]
_probe_sequence = itertools.count(1000)


def fresh() -> Mobile:
    """A mobile node no other test has used."""
    return next(_next_mobile)


# -- laying out Mobility Headers and options (RFC 6275 §6.1.1, §6.2.1; RFC 5568 §6.4) ----------

def _pad(n: int) -> bytes:
    """Pad1 or PadN (RFC 6275 §6.2.2, §6.2.3)."""
    if n == 0:
        return b""
    if n == 1:
        return b"\x00"
    return bytes([1, n - 2]) + bytes(n - 2)


def options_area(start: int, options: list[tuple[int, bytes, int, int]]) -> bytes:
    """Mobility options ``(type, data, x, y)`` each at its alignment ``xn+y``, from offset
    ``start`` of the Mobility Header, padded to a multiple of 8 octets."""
    out, at = b"", start
    for kind, data, x, y in options:
        gap = (y - at) % x
        out, at = out + _pad(gap) + bytes([kind, len(data)]) + data, at + gap + 2 + len(data)
    return out + _pad(-at % 8)


def mobility_header(mh_type: int, body: bytes, options: list[tuple[int, bytes, int, int]]
                    ) -> bytes:
    """Payload Proto 59, Header Len, MH Type, Reserved, Checksum 0, then ``body`` and
    ``options`` (RFC 6275 §6.1.1)."""
    rest = body + options_area(6 + len(body), options)
    length = 6 + len(rest)
    assert length % 8 == 0
    return bytes([59, length // 8 - 1, mh_type, 0, 0, 0]) + rest


def mh_link_layer_address(mac: str) -> tuple[int, bytes, int, int]:
    """MH-LLA option (type 7), Option-Code 2 (the MN), no alignment (§6.4.4)."""
    return (7, b"\x02" + mac_bytes(mac), 1, 0)


def mh_address(code: int, address: str) -> tuple[int, bytes, int, int]:
    """MH IPv6 Address/Prefix option (type 34, docs/decisions.md D2), 8n+4 (§6.4.2)."""
    return (34, bytes([code, 128]) + IPv6Address(address).packed, 8, 4)


def first_96(key: bytes, first: str, second: str, data: bytes) -> bytes:
    """First(96, HMAC_SHA1(key, first | second | data))."""
    message = IPv6Address(first).packed + IPv6Address(second).packed + data
    return hmac.new(key, message, hashlib.sha1).digest()[:12]


def mh_data(mh: bytes) -> bytes:
    """The MH without its last 12 octets (an authenticator that ends it), Checksum zero."""
    return mh[:4] + b"\x00\x00" + mh[6:-12]


_last_stamp = 0


def timestamp() -> int:
    """An RFC 4285 §6 NTP timestamp of now, strictly increasing across the tester's messages
    (the router keeps the newest it accepted per peer)."""
    global _last_stamp
    _last_stamp = max(ntp_timestamp(time.time()), _last_stamp + 1)
    return _last_stamp


def router_signed(mh_type: int, body: bytes, options: list[tuple[int, bytes, int, int]], *,
                  src: str, dst: str, pair: str | None = None, stamp: int | None = None,
                  spi: int | None = None, tamper: bool = False) -> bytes:
    """An HI or HAck ending with the router-pair authentication of ``pair`` (default: the peer
    among ``src``/``dst``): Replay Protection (8n+2, RFC 4285 §6), then the Mobility Message
    Authentication option (4n+1, RFC 4285 §5), subtype 128, which ends the header."""
    peer = pair or (src if src in PAIR_KEYS else dst)
    pair_spi, key = PAIR_KEYS[peer]
    auth = (9, bytes([128]) + struct.pack("!I", spi or pair_spi) + bytes(12), 4, 1)
    mh = mobility_header(mh_type, body, [*options,
                                         (10, struct.pack("!Q", stamp or timestamp()), 8, 2),
                                         auth])
    assert mh[-19:-17] == bytes([9, 17]), "the authentication option must end the header"
    authenticator = first_96(key, src, dst, mh_data(mh))
    if tamper:
        authenticator = bytes([authenticator[0] ^ 1]) + authenticator[1:]
    return mh[:-12] + authenticator


def handover_acknowledge(sequence: int, code: int = 0, *, src: str = NAR, dst: str = AR,
                         sign: bool = True, **kwargs: object) -> Packet:
    """A HAck (MH Type 15, §6.2.1.2): Sequence #, Reserved, Code, then the authentication."""
    body = struct.pack("!HBB", sequence, 0, code)
    if sign:
        mh = router_signed(15, body, [], src=src, dst=dst, **kwargs)  # type: ignore[arg-type]
    else:
        mh = mobility_header(15, body, [])
    return mh_packet(mh, src=src, dst=dst)


def handover_initiate(sequence: int, *, pcoa: str, ncoa: str, mac: str = MN_MAC, code: int = 0,
                      s_flag: bool = False, u_flag: bool = True, src: str = NAR, dst: str = AR,
                      sign: bool = True, **kwargs: object) -> Packet:
    """An HI (MH Type 14, §6.2.1.1): Sequence #, S|U|Reserved, Code, MH-LLA of the MN, PCoA
    (Option-Code 1) and NCoA (Option-Code 2), then the authentication."""
    body = struct.pack("!HBB", sequence, (0x80 if s_flag else 0) | (0x40 if u_flag else 0),
                       code)
    options = [mh_link_layer_address(mac), mh_address(1, pcoa), mh_address(2, ncoa)]
    if sign:
        mh = router_signed(14, body, options, src=src, dst=dst, **kwargs)  # type: ignore[arg-type]
    else:
        mh = mobility_header(14, body, options)
    return mh_packet(mh, src=src, dst=dst)


def fast_binding_update(mn: Mobile, sequence: int, *, lifetime: int = 40, ncoa: str | None = None,
                        flags: int = 0xC000, key: Mobile | None = None, pcoa: str | None = None,
                        badf: bool = True, tamper: bool = False, lla: bool = True,
                        reactive: bool = False) -> Packet:
    """A predictive FBU (MH Type 8, §6.2.2) from the PCoA to the PAR: Home Address option =
    PCoA, A and H set, Lifetime in 4 s units (docs/decisions.md D1), Alternate CoA = NCoA
    (8n+6), MH-LLA, BADF last (8n+6, §6.4.5) under ``key``'s handover key (``mn``'s).
    ``reactive``: sent from the NAR's link (§5.2), source = NCoA, no Alternate CoA (§6.2.2
    requires it only from the PAR's link: the source is the care-of address bound)."""
    pcoa = pcoa or mn.pcoa
    ncoa = ncoa if ncoa is not None else mn.ncoa
    source = ncoa if reactive else pcoa
    signer = key or mn
    body = struct.pack("!HHH", sequence, flags, lifetime // 4)
    options = []
    if ncoa != source:
        options.append((3, IPv6Address(ncoa).packed, 8, 6))
    if lla:
        options.append(mh_link_layer_address(MN_MAC))
    if badf:
        options.append((21, struct.pack("!I", signer.spi) + bytes(12), 8, 6))
    mh = mobility_header(8, body, options)
    if badf:
        assert mh[-18:-16] == bytes([21, 16]), "the BADF must end the header"
        authenticator = first_96(signer.key, ncoa, AR, mh_data(mh))
        if tamper:
            authenticator = bytes([authenticator[0] ^ 1]) + authenticator[1:]
        mh = mh[:-12] + authenticator
    packet = (IPv6(src=source, dst=AR, hlim=64)
              / IPv6ExtHdrDestOpt(nh=135, options=[HAO(hoa=pcoa)]) / Raw(mh))
    return IPv6(with_mh_checksum(bytes(packet), src=pcoa, dst=AR))


def mh_packet(mh: bytes, *, src: str, dst: str) -> Packet:
    """``mh`` in an IPv6 packet, its checksum computed."""
    raw = bytes(IPv6(src=src, dst=dst, nh=135, hlim=64) / Raw(mh))
    return IPv6(with_mh_checksum(raw, src=src, dst=dst))


# -- reading what the router sent ----------------------------------------------------------------

@dataclass
class Message:
    """One Mobility Header the router sent: its packet, the MH octets and options."""

    packet: Packet
    mh: bytes
    options: list[tuple[int, int, bytes]]  # (offset, type, data), padding left out

    @property
    def mh_type(self) -> int:
        return self.mh[2]

    def option(self, kind: int, code: int | None = None) -> bytes | None:
        for _at, found, data in self.options:
            if found == kind and (code is None or data[0] == code):
                return data
        return None


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


def is_mh(mh_type: int, *, dst: str | None = None, sequence: int | None = None):
    """A matcher: the router's MH of ``mh_type`` (to ``dst``, with ``sequence``: for an FBack
    the octets 8-9, for the others 6-7)."""
    def match(packet: Packet) -> bool:
        message = read_mh(packet)
        if message is None or message.mh_type != mh_type or packet[IPv6].src not in (AR,):
            return False
        if dst is not None and packet[IPv6].dst != dst:
            return False
        at = 8 if mh_type == 9 else 6
        return sequence is None or struct.unpack_from("!H", message.mh, at)[0] == sequence
    return match


def tunnelled_to(outer_dst: str, inner_dst: str):
    """A matcher: IPv6-in-IPv6 from the router to ``outer_dst`` carrying a packet for
    ``inner_dst`` (RFC 2473)."""
    def match(packet: Packet) -> bool:
        return (packet[IPv6].src == AR and packet[IPv6].dst == outer_dst
                and packet[IPv6].nh == 41 and IPv6(bytes(packet[IPv6].payload)).dst == inner_dst)
    return match


def verify_router_pair(message: Message, pair: str) -> None:
    """The message ends with a valid router-pair authentication for ``pair`` (docstring)."""
    spi, key = PAIR_KEYS[pair]
    kinds = [kind for _at, kind, _data in message.options]
    assert kinds[-2:] == [10, 9], kinds  # Replay Protection, then the authentication, last
    at, _kind, auth = message.options[-1]
    assert at % 4 == 1, at  # RFC 4285 §5: 4n+1
    assert auth[0] == 128 and struct.unpack("!I", auth[1:5])[0] == spi and len(auth) == 17
    assert at + 19 == len(message.mh)  # it ends the header: MH Data is all but the last 12
    packet = message.packet[IPv6]
    assert auth[5:] == first_96(key, packet.src, packet.dst, mh_data(message.mh))
    stamp_at, _kind, stamp = message.options[-2]
    assert stamp_at % 8 == 2 and len(stamp) == 8  # RFC 4285 §6: 8n+2
    # A timestamp of the router's clock (the host's here), within the 7 s window of the
    # frame's arrival.
    sent = struct.unpack("!Q", stamp)[0] / 2**32
    assert abs(sent - ntp_timestamp(float(message.packet.time)) / 2**32) < 7


def verify_badf(message: Message, mn: Mobile, care_of: str) -> None:
    """The FBack ends with a BADF (§6.4.5) under ``mn``'s key over ``care_of`` and the PAR."""
    at, kind, badf = message.options[-1]
    assert kind == 21 and len(badf) == 16 and at + 18 == len(message.mh)
    assert struct.unpack("!I", badf[:4])[0] == mn.spi
    assert badf[4:] == first_96(mn.key, care_of, AR, mh_data(message.mh))


# -- ICMPv6 154 (§6.1) ------------------------------------------------------------------------

def icmpv6(src: str, dst: str, message: bytes, *, hlim: int = 255) -> Packet:
    """An ICMPv6 message with its checksum (RFC 4443 §2.3)."""
    pseudo = (IPv6Address(src).packed + IPv6Address(dst).packed
              + struct.pack("!I3xB", len(message), 58))
    checksum = internet_checksum(pseudo + message)
    message = message[:2] + struct.pack("!H", checksum) + message[4:]
    return IPv6(src=src, dst=dst, nh=58, hlim=hlim) / Raw(message)


def lla_option(code: int, mac: bytes) -> bytes:
    """LLA option (type 19, §6.4.3), Length in 8 octets (docs/decisions.md D10)."""
    data = bytes([19, 0, code]) + mac
    data += bytes(-len(data) % 8)
    return data[:1] + bytes([len(data) // 8]) + data[2:]


def rtsolpr(identifier: int, *access_points: bytes, source: str) -> Packet:
    """RtSolPr (Type 154, Code 0, Subtype 2, §6.1.1) to all-routers: the sender's LLA (Option-
    Code 4) and one New Access Point LLA (Option-Code 1) per AP."""
    options = lla_option(4, mac_bytes(MN_MAC)) + b"".join(lla_option(1, ap)
                                                          for ap in access_points)
    return icmpv6(source, "ff02::2", struct.pack("!BBHBBH", 154, 0, 0, 2, 0, identifier)
                  + options)


def nd_options(data: bytes) -> list[tuple[int, bytes]]:
    """(type, option octets) of the ND options in ``data`` (RFC 4861 §4.6)."""
    options, at = [], 0
    while at + 2 <= len(data) and data[at + 1]:
        options.append((data[at], data[at:at + data[at + 1] * 8]))
        at += data[at + 1] * 8
    return options


def prrtadv_with(identifier: int):
    def match(packet: Packet) -> bool:
        raw = bytes(packet[IPv6])
        return (raw[6] == 58 and raw[40] == 154 and raw[44] == 3
                and struct.unpack_from("!H", raw, 46)[0] == identifier)
    return match


# -- the node under test ---------------------------------------------------------------------------

def _setup(node: NodeUnderTest) -> None:
    node.ip("addr", "add", f"{AR_LL}/64", "dev", "eth0", "nodad")
    node.ip("-6", "route", "add", "default", "via", ROUTER_LL, "dev", "eth0")


def _neighbour(address: str, prefix: str, ap: bytes, mac: str) -> dict[str, object]:
    return {"access_points": [ap.hex()], "link_layer_address": mac, "address": address,
            "prefix": prefix}


@pytest.fixture(scope="module")
def ar() -> Iterator[NodeUnderTest]:
    yield from _access_router(RTT, unrecognized_link_layer_addresses=[UNRECOGNIZED_MAC])


#: A NAR that may serve a PCoA instead of an unusable NCoA (HAck Code 3, NAACK status 4) and
#: tells a node with an unusable NCoA to name its address instead (NAACK status 3); DAD finds
#: :data:`IN_USE` taken (the ``addresses_in_use`` register).
IN_USE = "2001:db8:1::4e0"


@pytest.fixture(scope="module")
def nar_serving_pcoa() -> Iterator[NodeUnderTest]:
    """The same router as NAR, configured for HAck Code 3 and NAACK statuses 3 and 4."""
    yield from _access_router(RTT, support_previous_care_of_address=True,
                              naack_use_router_address=True, addresses_in_use=[IN_USE])


#: The second router's RTT: HIs 2 x 0.25 s apart, doubling (§6.2.1.1), HI_RETRIES = 3 times.
SHORT_RTT = 0.25
HI_RETRIES = 3


@pytest.fixture(scope="module")
def ar_short_rtt() -> Iterator[NodeUnderTest]:
    """The same router with a short RTT, so that its HI retransmissions can be watched."""
    yield from _access_router(SHORT_RTT, hi_retries=HI_RETRIES)


def _access_router(rtt: float, **fast_handover: object) -> Iterator[NodeUnderTest]:
    from tests.conformance.conftest import ROOT

    if not ROOT:
        pytest.skip("needs root (CAP_NET_ADMIN) for network namespaces; CI runs as root")
    config = {"access_router": {
        "interface": "eth0", "address": AR, "prefix": PREFIX, "link_local": AR_LL,
        "ra_interval": 30.0, "max_ra_delay": 0.0,
        "fast_handover": {
            "local_access_points": [LOCAL_AP.hex()],
            "neighbors": [_neighbour(NAR, f"{NAR_PREFIX}/64", NAR_AP, NAR_MAC),
                          _neighbour(OTHER, "2001:db8:3::/64", OTHER_AP, OTHER_MAC)],
            "handover_keys": [m.table() for m in MOBILES],
            "router_keys": [{"peer": peer, "spi": spi, "key": key.hex()}
                            for peer, (spi, key) in PAIR_KEYS.items()],
            "rtt": rtt,
            **fast_handover,
        },
    }}
    node = NodeUnderTest("ar", config, setup=_setup)
    # What the router must send is waited for up to 10 s (a loaded machine runs it late); a
    # match ends the wait at once.
    expect = node.tester.expect

    def patient(match, *, since, timeout=10.0, what="packet"):  # type: ignore[no-untyped-def]
        return expect(match, since=since, timeout=timeout, what=what)

    node.tester.expect = patient  # type: ignore[method-assign]
    node.tester.own(ROUTER_LL)
    for mn in MOBILES:
        node.tester.own(mn.pcoa, MN_MAC)
    try:
        yield node
    finally:
        node.close()


def probe(ar: NodeUnderTest) -> None:
    """Wait until the router has handled what the tester sent it before through its forwarding
    path (the TUN device: FBUs, HIs, HAcks, data): a de-registration FBU (lifetime 0, §5.6)
    from :data:`PROBE`, which the router must answer with an FBack. After it a "nothing came
    back" check no longer depends on how fast the loaded machine ran the router."""
    sequence = next(_probe_sequence)
    mark = ar.tester.mark()
    ar.tester.send(fast_binding_update(PROBE, sequence, lifetime=0, ncoa=PROBE.pcoa),
                   src_mac=MN_MAC)
    ar.tester.expect(is_mh(9, dst=PROBE.pcoa, sequence=sequence), since=mark, timeout=10,
                     what="FBack to the probe")


def probe_link(ar: NodeUnderTest) -> None:
    """The same for what the router reads from the link (ND, RtSolPr, UNA): an RtSolPr it
    must answer with a PrRtAdv."""
    identifier = 0xF000 + next(_probe_sequence)
    mark = ar.tester.mark()
    ar.tester.send(rtsolpr(identifier, NAR_AP, source=PROBE.pcoa), src_mac=MN_MAC)
    ar.tester.expect(prrtadv_with(identifier), since=mark, timeout=10,
                     what="PrRtAdv to the probe")


def send_fbu(ar: NodeUnderTest, mn: Mobile, sequence: int, **kwargs: object) -> int:
    mark = ar.tester.mark()
    ar.tester.send(fast_binding_update(mn, sequence, **kwargs), src_mac=MN_MAC)
    return mark


def expect_hi(ar: NodeUnderTest, mn: Mobile, mark: int) -> Message:
    """The HI the FBU of ``mn`` led to (its NCoA option names ``mn.ncoa``)."""
    ncoa = IPv6Address(mn.ncoa).packed
    packet = ar.tester.expect(
        lambda p: is_mh(14, dst=NAR)(p) and read_mh(p).option(34, 2)[2:] == ncoa,
        since=mark, timeout=10, what="HI")
    message = read_mh(packet)
    assert message is not None
    return message


# -- PAR: RtSolPr -> PrRtAdv (§6.1) ----------------------------------------------------------

def test_rtsolpr_for_a_neighbours_access_point_gets_a_prrtadv_with_its_prefix(ar):
    """RFC 5568 §6.1.2, §4 case 3: Code 0, the identifier copied, from the link-local address
    with hop limit 255, to the RtSolPr's source; options in order: source LLA, the AP (Option-
    Code 1), the NAR's LLA (Option-Code 3), its IP address (Option-Code 3) and prefix (4)."""
    mn = fresh()
    mark = ar.tester.mark()
    ar.tester.send(rtsolpr(0x1234, NAR_AP, source=mn.pcoa), src_mac=MN_MAC)
    packet = ar.tester.expect(prrtadv_with(0x1234), since=mark, what="PrRtAdv")
    assert packet[IPv6].src == AR_LL and packet[IPv6].dst == mn.pcoa
    assert packet[IPv6].hlim == 255 and packet[Ether].dst == MN_MAC
    raw = bytes(packet[IPv6])
    message = raw[40:]
    assert internet_checksum(IPv6Address(AR_LL).packed + IPv6Address(mn.pcoa).packed
                             + struct.pack("!I3xB", len(message), 58) + message) == 0
    kind, code, _checksum, subtype, reserved, identifier = struct.unpack_from("!BBHBBH",
                                                                              message)
    assert (kind, code, subtype, reserved, identifier) == (154, 0, 3, 0, 0x1234)
    options = nd_options(message[8:])
    assert [kind for kind, _ in options] == [19, 19, 19, 17, 17]
    (_, source), (_, ap), (_, router), (_, address), (_, prefix) = options
    assert source[2] == 4 and source[3:9] == mac_bytes(DUT_MAC)
    assert ap[2] == 1 and ap[3:9] == NAR_AP
    assert router[2] == 3 and router[3:9] == mac_bytes(NAR_MAC)
    # §6.4.1: Type 17, Length 3, Option-Code, Prefix Length, Reserved, the address.
    assert address[1:4] == bytes([3, 3, 128]) and address[8:24] == IPv6Address(NAR).packed
    assert prefix[1:4] == bytes([3, 4, 64]) and prefix[8:24] == IPv6Address(NAR_PREFIX).packed


def test_rtsolpr_for_an_unknown_and_a_local_access_point(ar):
    """RFC 5568 §6.1.2, §4 cases 1-2: no router information (Code 2), each AP echoed with
    Option-Code 6 (unknown) or 5 (on the router's own interface), no AR-Info."""
    mark = ar.tester.mark()
    unknown = bytes.fromhex("00005e00ffff")
    ar.tester.send(rtsolpr(0x2345, unknown, LOCAL_AP, source=fresh().pcoa), src_mac=MN_MAC)
    packet = ar.tester.expect(prrtadv_with(0x2345), since=mark, what="PrRtAdv")
    message = bytes(packet[IPv6])[40:]
    assert message[1] == 2
    options = nd_options(message[8:])
    assert [(kind, data[2], data[3:9]) for kind, data in options[1:]] == [
        (19, 6, unknown), (19, 5, LOCAL_AP)]


# -- PAR: FBU -> HI -> HAck -> FBack, tunnel (§4, §6.2) -------------------------------------

def test_authenticated_fbu_leads_to_hi_hack_fback_and_a_tunnel(ar):
    """RFC 5568 §4, §6.2.1.1 (HI: PAR to NAR, Code 0 for an FBU from the PCoA, U set, the MN's
    LLA, PCoA and NCoA), §6.2.1.2 (HAck matched on the sequence number), §6.2.3 (FBack after
    the HAck, to the NCoA and on the old link to the PCoA, the FBU's sequence, BADF), §4 (the
    PAR tunnels packets for the PCoA to the NCoA, RFC 2473)."""
    mn = fresh()
    mark = send_fbu(ar, mn, 100)
    hi = expect_hi(ar, mn, mark)
    packet = hi.packet[IPv6]
    assert packet.src == AR and packet.dst == NAR
    sequence, flags, code = struct.unpack_from("!HBB", hi.mh, 6)
    assert code == 0 and flags == 0x40  # S = 0 (not configured), U = 1, Reserved 0
    assert hi.option(34, 1) == bytes([1, 128]) + IPv6Address(mn.pcoa).packed
    assert hi.option(34, 2) == bytes([2, 128]) + IPv6Address(mn.ncoa).packed
    assert hi.option(7) == b"\x02" + mac_bytes(MN_MAC)
    for at, kind, _data in hi.options:
        if kind == 34:
            assert at % 8 == 4  # §6.4.2: 8n+4
    verify_router_pair(hi, NAR)
    assert mobility_header_checksums(bytes(packet)) == [True]
    # §6.2.3: no FBack before the HAck.
    assert not [p for p in ar.tester.since(mark) if is_mh(9)(p)]
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa), since=mark, what="FBack (NCoA)"))
    old = read_mh(ar.tester.expect(is_mh(9, dst=mn.pcoa), since=mark, what="FBack (PCoA)"))
    assert old.packet[Ether].dst == MN_MAC  # on the old link, at the MN's address
    for message in (fback, old):
        status, flags, fbu_sequence, lifetime = struct.unpack_from("!BBHH", message.mh, 6)
        assert (status, flags, fbu_sequence) == (0, 0, 100)
        assert 0 < lifetime * 4 <= 40  # the granted lifetime (4 s units, decisions.md D1)
        assert message.packet[IPv6].src == AR
        verify_badf(message, mn, mn.ncoa)
    # §4: packets for the PCoA are tunnelled to the NCoA from the PAR's address.
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa, hlim=60) / UDP(sport=7, dport=9) / b"to the pcoa")
    outer = ar.tester.expect(tunnelled_to(mn.ncoa, mn.pcoa), since=mark, what="tunnel")
    inner = IPv6(bytes(outer[IPv6].payload))
    assert inner.src == CN and inner.hlim == 59 and bytes(inner[UDP].payload) == b"to the pcoa"


def _par_state_counter(ar: NodeUnderTest, name: str) -> int:
    return ar.state()["entity_counters"].get(name, 0)


@pytest.mark.parametrize("forgery", ["another_nodes_key", "wrong_authenticator", "no_badf",
                                     "no_a_flag"])
def test_an_fbu_not_authenticated_for_its_pcoa_gets_no_hi(ar, forgery):
    """RFC 5568 §6.2.2, §10: the FBU "MUST be protected so that the PAR is able to determine
    that [it] is sent by an MN that legitimately owns the PCoA", with the BADF (§6.4.5) and
    A and H set. A handover key of another node (bound to its own PCoA), a wrong
    authenticator, no BADF, or A = 0: no HI, no tunnel, and no FBack either: the router drops
    such an FBU silently (mipshop.protocol.fmipv6.par ``_reject``: an event and a counter,
    ``fmip.fbu_rejected.<reason>``; RFC 5568 defines no FBack status for it)."""
    mn, owner = fresh(), fresh()
    kwargs: dict[str, object] = {
        "another_nodes_key": {"key": owner}, "wrong_authenticator": {"tamper": True},
        "no_badf": {"badf": False}, "no_a_flag": {"flags": 0x4000}}[forgery]
    reason = {"another_nodes_key": "key_not_for_pcoa", "wrong_authenticator":
              "bad_authenticator", "no_badf": "no_badf", "no_a_flag": "flags"}[forgery]
    before = _par_state_counter(ar, f"fmip.fbu_rejected.{reason}")
    mark = send_fbu(ar, mn, 200, **kwargs)
    probe(ar)
    assert not [p for p in ar.tester.since(mark)
                if is_mh(14)(p) and read_mh(p).option(34, 2)[2:] == IPv6Address(mn.ncoa).packed]
    assert not [p for p in ar.tester.since(mark) if is_mh(9, sequence=200)(p)
                and p[IPv6].dst in (mn.pcoa, mn.ncoa)]
    assert _par_state_counter(ar, f"fmip.fbu_rejected.{reason}") == before + 1
    # Nothing was bound: a packet for the PCoA is not tunnelled (delivered on the link).
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"still here")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC, since=mark, what="native delivery")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if p[IPv6].nh == 41]


@pytest.mark.parametrize("fault", ["unauthenticated", "wrong_authenticator", "another_router",
                                   "unknown_router", "wrong_sequence", "replayed_timestamp"])
def test_a_hack_that_is_not_the_nars_answer_is_refused(ar, fault):
    """RFC 5568 §6.2.1.2: the HAck's Sequence # lets the PAR "match this HAck message with an
    outstanding HI"; §10: HI and HAck are protected by the routers' security association
    (mipshop's router-pair authenticator: its absence, a wrong one, a router without a key, a
    timestamp not newer than the last one accepted from the NAR). Another router's HAck, even
    authentic, answers no HI it was sent. None of these gives an FBack or a tunnel; the NAR's
    own HAck afterwards still does."""
    mn = fresh()
    mark = send_fbu(ar, mn, 300)
    sequence = struct.unpack_from("!H", expect_hi(ar, mn, mark).mh, 6)[0]
    stale = timestamp()  # older than the HAck below
    if fault == "replayed_timestamp":
        # A HAck the NAR sent with this timestamp already came (for another HI): the same
        # timestamp again is a replay (RFC 4285 §6).
        probe_hack = handover_acknowledge(0xFFFF ^ sequence, 0, stamp=stale)
        ar.tester.send(probe_hack)
    bad = {
        "unauthenticated": lambda: handover_acknowledge(sequence, 0, sign=False),
        "wrong_authenticator": lambda: handover_acknowledge(sequence, 0, tamper=True),
        "another_router": lambda: handover_acknowledge(sequence, 0, src=OTHER),
        "unknown_router": lambda: handover_acknowledge(sequence, 0, src=STRANGER, pair=NAR),
        "wrong_sequence": lambda: handover_acknowledge((sequence + 1) & 0xFFFF, 0),
        "replayed_timestamp": lambda: handover_acknowledge(sequence, 0, stamp=stale),
    }[fault]()
    mark = ar.tester.mark()
    ar.tester.send(bad)
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"not yet")
    probe(ar)
    assert not [p for p in ar.tester.since(mark)
                if is_mh(9, sequence=300)(p) or tunnelled_to(mn.ncoa, mn.pcoa)(p)]
    # The HI is still outstanding: the NAR's authentic HAck completes the handover.
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=300), since=mark,
                                     what="FBack"))
    assert fback.mh[6] == 0


def handover(ar: NodeUnderTest, mn: Mobile, sequence: int, code: int = 0) -> Message:
    """FBU (``sequence``) -> HI -> the NAR's HAck (``code``) -> the FBack to the NCoA."""
    mark = send_fbu(ar, mn, sequence)
    hi_sequence = struct.unpack_from("!H", expect_hi(ar, mn, mark).mh, 6)[0]
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(hi_sequence, code))
    packet = ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=sequence), since=mark,
                              what="FBack")
    message = read_mh(packet)
    assert message is not None
    return message


def test_the_par_forwards_what_the_mn_reverse_tunnels_from_its_ncoa(ar):
    """RFC 5568 §4 (last paragraph), §3.1: the PAR decapsulates the packets the MN tunnels
    from the NCoA with the PCoA as inner source and "MUST forward the inner packet in the
    tunnel to its destination", after verifying "if a secure binding exists" for them: from
    any other outer source it does not."""
    mn = fresh()
    handover(ar, mn, 500)
    inner = IPv6(src=mn.pcoa, dst=CN, hlim=64) / UDP(sport=9, dport=7) / b"uplink"
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=mn.ncoa, dst=AR) / inner)
    out = ar.tester.expect(lambda p: p[IPv6].src == mn.pcoa and p[IPv6].dst == CN
                           and p[IPv6].nh != 41, since=mark, what="decapsulated packet")
    assert out[IPv6].hlim == 63 and bytes(out[UDP].payload) == b"uplink"
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=f"{NAR_PREFIX}bad", dst=AR) / inner)
    probe(ar)
    assert not [p for p in ar.tester.since(mark)
                if p[IPv6].src == mn.pcoa and p[IPv6].dst == CN]


def test_an_fbu_with_lifetime_zero_ends_the_tunnel(ar):
    """RFC 5568 §5.6: an MN back on the PAR's link sends an FBU with lifetime zero; the PAR
    "SHOULD terminate that tunnel", i.e. start delivering packets directly to the node.
    The FBack (§6.2.3) acknowledges it with status 0 and lifetime 0."""
    mn = fresh()
    handover(ar, mn, 600)
    mark = send_fbu(ar, mn, 601, lifetime=0, ncoa=mn.pcoa)
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.pcoa, sequence=601), since=mark,
                                     what="FBack"))
    status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert (status, lifetime) == (0, 0)
    verify_badf(fback, mn, mn.pcoa)  # D5: the PCoA, as the home address of a de-registration
    # The router sends this FBack before it stops intercepting the PCoA (par.py ``_delete``:
    # the FBack, then the teardown): what it has done once the probe is answered.
    probe(ar)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"home again")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC and p[IPv6].nh == 17, since=mark,
                     what="direct delivery")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if tunnelled_to(mn.ncoa, mn.pcoa)(p)]


@pytest.mark.parametrize("code", [1, 128, 129, 130])
def test_a_nar_refusal_gives_a_refusing_fback_and_no_tunnel(ar, code):
    """RFC 5568 §6.2.1.2: the NAR "can always refuse handover" with a reason code; the FBack
    (§6.2.3) then refuses the FBU: status 128 for HAck 1 ("NCoA not valid", no other NCoA) and
    128, 129 ("Administratively prohibited") and 130 ("Insufficient resources") copied from
    HAck 128-130 (mipshop.protocol.fmipv6.par, [choice]), lifetime 0; nothing is
    tunnelled."""
    mn = fresh()
    fback = handover(ar, mn, 700, code=code)
    status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert (status, lifetime) == ({1: 128, 128: 128, 129: 129, 130: 130}[code], 0)
    verify_badf(fback, mn, mn.ncoa)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"not moved")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if tunnelled_to(mn.ncoa, mn.pcoa)(p)]


def test_a_reactive_fbu_from_the_ncoa_gets_an_hi_code_1_and_a_tunnel(ar):
    """RFC 5568 §3.2, §5.2: a node that moved before sending the FBU sends it from the NAR's
    link, its source the NCoA (§6.2.2: "The PCoA or NCoA"; the Alternate CoA is required only
    from the PAR's link), routed to the PAR like any packet. §4: "When the source IP address
    of the FBU is not PCoA ... the HI message MUST have a Code value of 1"; §6.2.1.1: S "MUST
    be 0 when Code = 1", U "SHOULD be set to 0 when Code = 1". §6.2.3: the FBack goes to the
    NCoA (the node is no longer on the old link: none to the PCoA); §4: the PAR tunnels the
    PCoA's packets to the NCoA."""
    mn = fresh()
    mark = ar.tester.mark()
    ar.tester.send(fast_binding_update(mn, 800, reactive=True))  # from the default router
    hi = expect_hi(ar, mn, mark)
    sequence, flags, code = struct.unpack_from("!HBB", hi.mh, 6)
    assert (code, flags) == (1, 0)
    assert hi.option(34, 1) == bytes([1, 128]) + IPv6Address(mn.pcoa).packed
    assert hi.option(7) == b"\x02" + mac_bytes(MN_MAC)
    verify_router_pair(hi, NAR)
    assert not [p for p in ar.tester.since(mark) if is_mh(9)(p)]
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=800), since=mark,
                                     what="FBack (NCoA)"))
    status, flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert (status, flags) == (0, 0) and 0 < lifetime * 4 <= 40
    verify_badf(fback, mn, mn.ncoa)
    mark_tunnel = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa, hlim=60) / UDP(sport=7, dport=9) / b"moved")
    outer = ar.tester.expect(tunnelled_to(mn.ncoa, mn.pcoa), since=mark_tunnel, what="tunnel")
    assert bytes(IPv6(bytes(outer[IPv6].payload))[UDP].payload) == b"moved"
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(9, dst=mn.pcoa, sequence=800)(p)]


# -- NAR: HI -> HAck, proxy and buffer, UNA (§4, §6.2.1, §6.3) --------------------------------

def _hi_answered(ar: NodeUnderTest, **hi: Any) -> Message:
    """Send an authenticated HI (the next sequence number, ``hi`` as
    :func:`handover_initiate` takes them) and return the HAck that answers it."""
    sequence = next(_nar_sequence)
    mark = ar.tester.mark()
    ar.tester.send(handover_initiate(sequence, **hi))
    return read_mh(ar.tester.expect(is_mh(15, dst=NAR, sequence=sequence), since=mark,
                                    what="HAck"))


def _nar_mobile(n: int) -> tuple[str, str, str]:
    """(PCoA on the tester's PAR link, NCoA on the router's link, MAC) of an arriving node."""
    return (f"{NAR_PREFIX}{0x200 + n:x}", f"2001:db8:1::{0x200 + n:x}",
            f"02:00:00:00:66:{n:02x}")


_nar_sequence = itertools.count(0x4000)


def _proxied(ar: NodeUnderTest, ncoa: str, timeout: float) -> Packet | None:
    """Ask, as another host of the link, who has ``ncoa``; the router's NA if it answers
    within ``timeout``."""
    host = "2001:db8:1::77"
    ar.tester.own(host, HOST_MAC)
    mark = ar.tester.mark()
    ar.tester.send(neighbor_solicitation(ncoa, source=host, mac=HOST_MAC), src_mac=HOST_MAC)
    try:
        return ar.tester.expect(lambda p: p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == ncoa,
                                since=mark, timeout=timeout, what="NA")
    except AssertionError:
        return None


def test_nar_answers_an_authenticated_hi_and_buffers_until_the_una(ar):
    """RFC 5568 §6.2.1.2: the NAR MUST answer an HI with a HAck, addresses swapped, the
    Sequence # copied, Code 0 for a valid NCoA (not S); §4: it proxies the NCoA (answers
    Neighbor Solicitations for it) and, U being set, buffers what arrives for it (§5.4),
    directly or through the PAR's tunnel; §6.3: the UNA from the NCoA (target = NCoA, the
    MN's LLA, O = 0) ends the proxying and the buffered packets are delivered to the MN."""
    pcoa, ncoa, mac = _nar_mobile(1)
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=ncoa, mac=mac)
    assert hack.packet[IPv6].src == AR
    reserved, code = hack.mh[8], hack.mh[9]
    assert (reserved, code) == (0, 0)
    verify_router_pair(hack, NAR)
    assert mobility_header_checksums(bytes(hack.packet[IPv6])) == [True]
    na = _proxied(ar, ncoa, 10.0)
    assert na is not None, "the NAR does not proxy the NCoA"
    assert na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC
    # Packets for the NCoA: one through the PAR's tunnel, one directly.
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=NAR, dst=AR) / IPv6(src=CN, dst=ncoa, hlim=50)
                   / UDP(sport=7, dport=9) / b"first, tunnelled")
    ar.tester.send(IPv6(src=CN, dst=ncoa, hlim=50) / UDP(sport=7, dport=9) / b"second, direct")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if p.haslayer(UDP) and p[IPv6].dst == ncoa]
    # §6.3: the UNA, from the NCoA to all-nodes, hop limit 255.
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=ncoa, dst="ff02::1", hlim=255)
                   / ICMPv6ND_NA(R=0, S=0, O=0, tgt=ncoa) / ICMPv6NDOptDstLLAddr(lladdr=mac),
                   src_mac=mac)
    deadline = time.monotonic() + 10
    while len(delivered := [p for p in ar.tester.since(mark) if p.haslayer(UDP)
                            and p[IPv6].dst == ncoa]) < 2:
        assert time.monotonic() < deadline, [p.summary() for p in ar.tester.since(mark)]
        time.sleep(0.02)
    assert [bytes(p[UDP].payload) for p in delivered] == [b"first, tunnelled", b"second, direct"]
    assert all(p[Ether].dst == mac and p[Ether].src == DUT_MAC for p in delivered)
    # RFC 8200 §3: the NAR forwards them, decrementing the hop limit once.
    assert [p[IPv6].hlim for p in delivered] == [49, 49]


def test_nar_assigns_the_ncoa_when_asked_and_repeats_its_answer(ar):
    """RFC 5568 §6.2.1.2: with S set the HAck "MUST" carry the New Care-of Address option
    (MH IPv6 Address/Prefix, Option-Code 2); mipshop answers Code 2, "NCoA assigned", from
    the code table (docs/decisions.md D3; the body's "Code 3" is RFC 4068's). §6.2.1.1: a
    retransmitted HI has the same Sequence #, and gets the same answer."""
    pcoa, ncoa, mac = _nar_mobile(5)
    sequence = next(_nar_sequence)
    hacks = []
    for _ in range(2):
        mark = ar.tester.mark()
        ar.tester.send(handover_initiate(sequence, pcoa=pcoa, ncoa=ncoa, mac=mac, s_flag=True))
        hacks.append(read_mh(ar.tester.expect(is_mh(15, dst=NAR, sequence=sequence), since=mark,
                                              what="HAck")))
    for hack in hacks:
        assert hack.mh[9] == 2
        assert hack.option(34, 2) == bytes([2, 128]) + IPv6Address(ncoa).packed
        verify_router_pair(hack, NAR)
    # The same answer, signed anew (another timestamp, another authenticator).
    first, again = ([(kind, data) for _at, kind, data in h.options if kind not in (9, 10)]
                    for h in hacks)
    assert hacks[0].mh[6:10] == hacks[1].mh[6:10] and first == again


def test_nar_answers_an_hi_code_1_and_prepares_nothing(ar):
    """RFC 5568 §6.2.1.1: Code 1, "the FBU is not sent from the PAR's link" (S = U = 0): the
    node is on the NAR's link already. §6.2.1.2: the NAR MUST answer with a HAck, Code 0;
    §4: "Sending an HI message with Code 1 allows the NAR to validate the neighbor cache
    entry it creates for the MN during UNA processing": no proxying of the NCoA (the node
    answers for it itself) and no buffering: a packet for the NCoA is delivered at once,
    without any UNA."""
    pcoa, ncoa, mac = _nar_mobile(6)
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=ncoa, mac=mac, code=1, u_flag=False)
    assert (hack.mh[8], hack.mh[9]) == (0, 0)
    verify_router_pair(hack, NAR)
    assert _proxied(ar, ncoa, 1.0) is None  # the kernel answers a proxied address at once
    ar.tester.own(ncoa, mac)  # the node, on the link, answers for its NCoA
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=ncoa, hlim=50) / UDP(sport=7, dport=9) / b"at once")
    delivered = ar.tester.expect(lambda p: p.haslayer(UDP) and p[IPv6].dst == ncoa,
                                 since=mark, what="direct delivery")
    assert delivered[Ether].dst == mac and delivered[IPv6].hlim == 49


def test_nar_takes_a_neighbor_advertisement_with_o_set_as_no_una(ar):
    """RFC 5568 §2, §6.3: the UNA is the Neighbor Advertisement with O clear. The one with O
    set that a mobile node sends once its NCoA is confirmed (§4) is processed as RFC 4861
    §7.2.5 says, not as an arrival (docs/decisions.md D30): before the UNA the NCoA stays
    proxied and its packets held; the UNA delivers them; the same NA after it delivers
    nothing a second time."""
    pcoa, ncoa, mac = _nar_mobile(30)
    _hi_answered(ar, pcoa=pcoa, ncoa=ncoa, mac=mac)
    assert _proxied(ar, ncoa, 10.0) is not None, "the NAR does not proxy the NCoA"
    override = (IPv6(src=ncoa, dst="ff02::1", hlim=255)
                / ICMPv6ND_NA(R=0, S=0, O=1, tgt=ncoa) / ICMPv6NDOptDstLLAddr(lladdr=mac))
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=ncoa, hlim=50) / UDP(sport=7, dport=9) / b"held")
    ar.tester.send(override, src_mac=mac)
    probe_link(ar)
    probe(ar)

    def delivered() -> list[Packet]:
        return [p for p in ar.tester.since(mark) if p.haslayer(UDP) and p[IPv6].dst == ncoa]

    assert delivered() == []
    assert _proxied(ar, ncoa, 10.0) is not None, "the NA with O set ended the proxying"
    ar.tester.send(_una(ncoa, mac), src_mac=mac)
    deadline = time.monotonic() + 10
    while not delivered():
        assert time.monotonic() < deadline, [p.summary() for p in ar.tester.since(mark)]
        time.sleep(0.02)
    ar.tester.send(override, src_mac=mac)
    probe_link(ar)
    probe(ar)
    assert [bytes(p[UDP].payload) for p in delivered()] == [b"held"]


def _una(address: str, mac: str) -> Packet:
    """A UNA (§6.3): from ``address`` to all-nodes, target = source, the sender's LLA, O = 0,
    hop limit 255."""
    return (IPv6(src=address, dst="ff02::1", hlim=255)
            / ICMPv6ND_NA(R=0, S=0, O=0, tgt=address) / ICMPv6NDOptDstLLAddr(lladdr=mac))


def _naack_to(address: str):
    """A matcher: a Router Advertisement to ``address`` with a NAACK option (ND type 20)."""
    def match(packet: Packet) -> bool:
        raw = bytes(packet[IPv6])
        return (packet[IPv6].dst == address and raw[6] == 58 and raw[40] == 134
                and any(kind == 20 for kind, _ in nd_options(raw[56:])))
    return match


@pytest.mark.parametrize("case", ["in_use_by_another_host", "outside_the_prefix"])
def test_a_una_for_an_ncoa_the_nar_cannot_accept_gets_a_naack(ar, case):
    """RFC 5568 §6.3, §6.4.6: the NAR answers a UNA whose NCoA it cannot accept with a Router
    Advertisement carrying a NAACK option (Type 20, Length 1, Option-Code 0, the Status,
    Reserved 0): status 1, "NCoA is invalid, perform address configuration" (this router has
    no address pool and does not offer its own address). The RA "MUST use the source IP
    address in the UNA message as the destination address, and use the L2 address present in
    UNA": for an address another host holds, not that host's link-layer address. RFC 4861
    §6.1.2: from the link-local address, hop limit 255."""
    mac = "02:00:00:00:88:01" if case == "in_use_by_another_host" else "02:00:00:00:88:02"
    if case == "in_use_by_another_host":
        address, owner_mac = "2001:db8:1::301", "02:00:00:00:78:01"
        # The host that holds the address announced it first (§6.3: an accepted UNA).
        ar.tester.send(_una(address, owner_mac), src_mac=owner_mac)
        ar.tester.own(address, owner_mac)
        probe_link(ar)
    else:
        address = "2001:db8:5::302"
    mark = ar.tester.mark()
    ar.tester.send(_una(address, mac), src_mac=mac)
    ra = ar.tester.expect(_naack_to(address), since=mark, what="RA with a NAACK")
    assert ra[Ether].dst == mac and ra[Ether].src == DUT_MAC
    assert ra[IPv6].src == AR_LL and ra[IPv6].hlim == 255
    raw = bytes(ra[IPv6])
    assert raw[41] == 0  # ICMPv6 Code 0 (RFC 4861 §4.2)
    [naack] = [data for kind, data in nd_options(raw[56:]) if kind == 20]
    assert naack == bytes([20, 1, 0, 1, 0, 0, 0, 0])
    if case == "in_use_by_another_host":
        assert not [p for p in ar.tester.since(mark) if _naack_to(address)(p)
                    and p[Ether].dst != mac]


@pytest.mark.parametrize("fault", ["unauthenticated", "wrong_authenticator", "unknown_router"])
def test_nar_refuses_an_hi_not_authenticated_by_a_neighbour(ar, fault):
    """RFC 5568 §10: HI "MUST be protected" by the routers' security association (mipshop's
    router-pair authenticator): without it, with a wrong one, or from a router without a
    key, no HAck, and the NCoA is neither proxied nor buffered for."""
    n = {"unauthenticated": 2, "wrong_authenticator": 3, "unknown_router": 4}[fault]
    pcoa, ncoa, mac = _nar_mobile(n)
    sequence = next(_nar_sequence)
    hi = {"unauthenticated": lambda: handover_initiate(sequence, pcoa=pcoa, ncoa=ncoa, mac=mac,
                                                       sign=False),
          "wrong_authenticator": lambda: handover_initiate(sequence, pcoa=pcoa, ncoa=ncoa,
                                                           mac=mac, tamper=True),
          "unknown_router": lambda: handover_initiate(sequence, pcoa=pcoa, ncoa=ncoa, mac=mac,
                                                      src=STRANGER, pair=NAR)}[fault]()
    mark = ar.tester.mark()
    ar.tester.send(hi)
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(15, sequence=sequence)(p)]
    assert _proxied(ar, ncoa, 1.0) is None  # the kernel answers a proxied address at once


# -- PAR: HI retransmission (§6.2.1.1) -----------------------------------------------------------

def test_an_unanswered_hi_is_retransmitted_with_backoff_then_the_fbu_is_refused(ar_short_rtt):
    """RFC 5568 §6.2.1.1: without a HAck "in a short time period (no less than twice the
    typical round trip time (RTT) ...)" the HI "SHOULD be resent"; retransmissions "can be up
    to HI_RETRIES, but MUST use exponential backoff in which the timeout period ... is doubled
    during each instance of retransmission", with the same Sequence # ("so replies can be
    matched"). This router: rtt 0.25 s, hi_retries 3: HIs at 0, 0.5, 1.5 and 3.5 s, each
    signed anew. Then it gives up ([choice] mipshop.protocol.fmipv6.par, module docstring: "an
    HI that is never answered give[s] FBack status 128 and no tunnel"; ``_hi_timeout``) after
    the last timeout, 4 s more: FBack status 128 (Reason unspecified, §6.2.3), lifetime 0,
    to the NCoA and, the FBU having come from the PCoA, to the PCoA; nothing is tunnelled,
    and a HAck arriving after that is no longer matched to anything."""
    ar = ar_short_rtt
    mn = fresh()
    # The kernel stamps received frames with CLOCK_REALTIME (SO_TIMESTAMPNS): time.time()
    # before the FBU leaves is a bound no HI can precede, whatever the load.
    start = time.time()
    mark = send_fbu(ar, mn, 900)
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=900), since=mark,
                                     timeout=30, what="FBack after the last HI"))
    his = [read_mh(p) for p in ar.tester.since(mark) if is_mh(14, dst=NAR)(p)
           and read_mh(p).option(34, 2)[2:] == IPv6Address(mn.ncoa).packed]
    assert len(his) == 1 + HI_RETRIES, [float(h.packet.time) for h in his]
    assert len({h.mh[6:10] for h in his}) == 1  # same Sequence #, flags and Code
    assert len({h.mh[-12:] for h in his}) == 1 + HI_RETRIES  # signed anew each time
    for hi in his:
        verify_router_pair(hi, NAR)
    sent = [float(h.packet.time) for h in his] + [float(fback.packet.time)]
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    nominal = [2 * SHORT_RTT * 2**i for i in range(1 + HI_RETRIES)]  # 0.5, 1, 2, 4
    # Never early: the k-th timeout cannot expire before the sum of the earlier ones has passed
    # since the FBU was sent (a gap between two frames on the wire can look short when the
    # earlier HI left late on a loaded machine, so the lower bound is counted from the FBU).
    # Without doubling the third HI would leave 1 s after the FBU, not 1.5 s. Each gap is
    # late by at most what a loaded machine delays a timer.
    elapsed = [t - start for t in sent]
    for k, at in enumerate(elapsed):
        assert at >= sum(nominal[:k]) - 0.01, (elapsed, nominal)
    for gap, expected in zip(gaps, nominal, strict=True):
        assert gap <= expected + 1.0, (gaps, nominal)
    status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert (status, lifetime) == (128, 0)
    verify_badf(fback, mn, mn.ncoa)
    old = read_mh(ar.tester.expect(is_mh(9, dst=mn.pcoa, sequence=900), since=mark,
                                   what="FBack (PCoA)"))
    assert old.mh[6] == 128 and old.packet[Ether].dst == MN_MAC
    # A HAck now answers nothing: no other FBack, no tunnel.
    sequence = struct.unpack_from("!H", his[0].mh, 6)[0]
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"still here")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC and p[IPv6].nh == 17, since=mark,
                     what="native delivery")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(9, sequence=900)(p)
                or tunnelled_to(mn.ncoa, mn.pcoa)(p)
                or (is_mh(14, dst=NAR)(p) and p.time > fback.packet.time)]


# -- PAR: network-initiated handover and unsolicited neighbourhood information (§3.3, §6.1.2) ----

def modified_eui64(mac: str) -> bytes:
    """RFC 4291 Appendix A (RFC 2464 §4): ff:fe in the middle, the universal/local bit
    inverted."""
    octets = mac_bytes(mac)
    return bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:]


def unsolicited_prrtadv(destination: str, code: int):
    """A matcher: a PrRtAdv (154/3) with ``code`` to ``destination``."""
    def match(packet: Packet) -> bool:
        raw = bytes(packet[IPv6])
        return (raw[6] == 58 and raw[40] == 154 and raw[41] == code and raw[44] == 3
                and packet[IPv6].dst == destination)
    return match


def checked_prrtadv(packet: Packet, destination: str, code: int) -> list[tuple[int, bytes]]:
    """RFC 5568 §6.1.2, Figure 5, for an unsolicited PrRtAdv: from the link-local address,
    hop limit 255, to ``destination``, ICMPv6 type 154, ``code``, a right checksum, Subtype 3,
    Reserved 0, Identifier 0 ("set to zero if unsolicited"); its ND options."""
    assert packet[IPv6].src == AR_LL and packet[IPv6].dst == destination
    assert packet[IPv6].hlim == 255 and packet[Ether].src == DUT_MAC
    message = bytes(packet[IPv6])[40:]
    assert internet_checksum(IPv6Address(AR_LL).packed + IPv6Address(destination).packed
                             + struct.pack("!I3xB", len(message), 58) + message) == 0
    kind, found, _checksum, subtype, reserved, identifier = struct.unpack_from("!BBHBBH",
                                                                               message)
    assert (kind, found, subtype, reserved, identifier) == (154, code, 3, 0, 0)
    options = nd_options(message[8:])
    assert sum(len(data) for _kind, data in options) == len(message) - 8  # nothing left over
    return options


def ar_info(ap: bytes, mac: str, address: str, prefix: str, length: int) -> list[bytes]:
    """The [AP-ID, AR-Info] options of one AP as §6.1.2 and §6.4.1, §6.4.3 lay them out:
    New AP LLA (19, Option-Code 1), New Router's LLA (19, 3), its IP address (17, 3, /128),
    its prefix (17, 4)."""
    def lla(code: int, octets: bytes) -> bytes:
        return bytes([19, 2, code]) + octets + bytes(7)

    def ip(code: int, plen: int, value: str) -> bytes:
        return bytes([17, 3, code, plen]) + bytes(4) + IPv6Address(value).packed

    return [lla(1, ap), lla(3, mac_bytes(mac)), ip(3, 128, address), ip(4, length, prefix)]


@pytest.mark.parametrize("known", ["link_layer_address_given", "ncoa_given", "nothing"])
def test_a_network_initiated_handover_sends_an_unsolicited_prrtadv_code_1(ar, known):
    """RFC 5568 §3.3: the PAR "can send an unsolicited PrRtAdv containing the link-layer
    address, IP address, and subnet prefix of the NAR when the network decides that a
    handover is imminent" (daemon command ``handover``). §6.1.2: Code 1 ("sent unsolicited
    ... a network-initiated handover trigger"), Identifier 0, to "the address of the node the
    access router is instructing to handover", the New AP LLA with Option-Code 1, then the
    New Router's LLA, IP address and prefix (MUST for Code 1); the New CoA option (17,
    Option-Code 2) MAY follow the prefix: the PAR "MAY compute a new CoA using the NAR's
    prefix information and the MN's L2 address" (RFC 4291 modified EUI-64 here) "or by any
    other means" (the one given). Without either, none. §3.3: "the PAR MUST continue to forward
    packets to the MN on its current link until the FBU is received"; the FBU naming that NCoA
    then starts the predictive handover (HI Code 0 with it)."""
    mn = fresh()
    command: dict[str, object] = {"cmd": "handover", "mobile": mn.pcoa,
                                  "target_ap": NAR_AP.hex()}
    ncoa: str | None = None
    if known == "link_layer_address_given":
        command["link_layer_address"] = MN_MAC
        ncoa = str(IPv6Address(IPv6Address(NAR_PREFIX).packed[:8] + modified_eui64(MN_MAC)))
    elif known == "ncoa_given":
        ncoa = f"{NAR_PREFIX}{0x700 + mn.n:x}"
        command["new_care_of_address"] = ncoa
    mark = ar.tester.mark()
    assert ar.control(command)["sent"] is True
    packet = ar.tester.expect(unsolicited_prrtadv(mn.pcoa, 1), since=mark, what="PrRtAdv 1")
    assert packet[Ether].dst == MN_MAC
    options = checked_prrtadv(packet, mn.pcoa, 1)
    expected = [bytes([19, 2, 4]) + mac_bytes(DUT_MAC) + bytes(7),
                *ar_info(NAR_AP, NAR_MAC, NAR, NAR_PREFIX, 64)]
    if ncoa is not None:
        expected.append(bytes([17, 3, 2, 128]) + bytes(4) + IPv6Address(ncoa).packed)
    assert [data for _kind, data in options] == expected
    # §3.3: delivered on the current link, not tunnelled, until the FBU.
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"still here")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC and p[IPv6].nh == 17, since=mark,
                     what="native delivery")
    if ncoa is None:
        return
    mark = ar.tester.mark()
    ar.tester.send(fast_binding_update(mn, 1500, ncoa=ncoa), src_mac=MN_MAC)
    hi = read_mh(ar.tester.expect(
        lambda p: is_mh(14, dst=NAR)(p)
        and read_mh(p).option(34, 2)[2:] == IPv6Address(ncoa).packed, since=mark, what="HI"))
    assert hi.mh[9] == 0 and hi.option(34, 1)[2:] == IPv6Address(mn.pcoa).packed
    verify_router_pair(hi, NAR)
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(struct.unpack_from("!H", hi.mh, 6)[0], 0))
    ar.tester.expect(is_mh(9, dst=ncoa, sequence=1500), since=mark, what="FBack")


@pytest.mark.parametrize("target", ["unknown_access_point", "local_access_point"])
def test_no_network_initiated_handover_to_an_access_point_of_no_neighbour(ar, target):
    """RFC 5568 §3.3, §6.1.2: the Code 1 trigger names the NAR's LLA, address and prefix,
    which the PAR has only for a neighbour's AP; for an AP it does not know, or one on its
    own interface (no change of CoA, Option-Code 5), it sends none (the command answers
    ``sent`` false)."""
    mn = fresh()
    ap = {"unknown_access_point": bytes.fromhex("00005e00ffee"),
          "local_access_point": LOCAL_AP}[target]
    mark = ar.tester.mark()
    assert ar.control({"cmd": "handover", "mobile": mn.pcoa, "target_ap": ap.hex(),
                       "link_layer_address": MN_MAC})["sent"] is False
    probe_link(ar)
    assert not [p for p in ar.tester.since(mark) if unsolicited_prrtadv(mn.pcoa, 1)(p)]


def test_unsolicited_neighbourhood_information_is_a_prrtadv_code_4(ar):
    """RFC 5568 §3.3, §6.1.2: "the subnet information regarding neighboring access points is
    sent unsolicited, but the message is not a handover trigger": Code 4, Identifier 0,
    "Multiple tuples may be present": one [AP-ID, AR-Info] tuple per neighbour AP (daemon
    command ``neighbourhood``), no New CoA option. Nothing is set up: a packet for the node
    is still delivered on the link."""
    mn = fresh()
    mark = ar.tester.mark()
    ar.control({"cmd": "neighbourhood", "destination": mn.pcoa})
    packet = ar.tester.expect(unsolicited_prrtadv(mn.pcoa, 4), since=mark, what="PrRtAdv 4")
    options = checked_prrtadv(packet, mn.pcoa, 4)
    assert [data for _kind, data in options] == [
        bytes([19, 2, 4]) + mac_bytes(DUT_MAC) + bytes(7),
        *ar_info(NAR_AP, NAR_MAC, NAR, NAR_PREFIX, 64),
        *ar_info(OTHER_AP, OTHER_MAC, OTHER, "2001:db8:3::", 64)]
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"no trigger")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC and p[IPv6].nh == 17, since=mark,
                     what="native delivery")


# -- PAR: the other HAck codes (§6.2.1.2, §6.2.3) -----------------------------------------------

def hack_with(sequence: int, code: int, options: list[tuple[int, bytes, int, int]], *,
              src: str = NAR) -> Packet:
    """A HAck (§6.2.1.2) from ``src`` with mobility ``options`` before its authentication."""
    mh = router_signed(15, struct.pack("!HBB", sequence, 0, code), options, src=src, dst=AR)
    return mh_packet(mh, src=src, dst=AR)


def outstanding_hi(ar: NodeUnderTest, mn: Mobile, sequence: int) -> tuple[int, int]:
    """Send ``mn``'s FBU (``sequence``); (the HI's sequence number, a mark after it)."""
    mark = send_fbu(ar, mn, sequence)
    hi_sequence = struct.unpack_from("!H", expect_hi(ar, mn, mark).mh, 6)[0]
    return hi_sequence, ar.tester.mark()


@pytest.mark.parametrize("assigned", ["another_address", "the_proposed_one", "none"])
def test_a_hack_code_2_gives_the_assigned_ncoa_to_the_mn(ar, assigned):
    """RFC 5568 §6.2.1.2: Code 2, "Handover Accepted, NCoA assigned", with the New Care-of
    Address option (MH IPv6 Address/Prefix, Option-Code 2). §4: "If [the HAck] contains an
    assigned NCoA, the FBack is sent ... and MUST carry the assigned NCoA": FBack status 1
    ("Fast Binding Update accepted but NCoA is invalid. Use NCoA supplied in 'alternate'
    CoA", §6.2.3) with an Alternate Care-of Address option (type 3, 8n+6, RFC 6275 §6.2.5),
    sent to that address and on the old link, the BADF over it, and the PCoA's packets
    tunnelled to it. When the NAR assigns the proposed NCoA, or names none, nothing changes:
    status 0, no Alternate CoA, the tunnel to the NCoA."""
    mn = fresh()
    address = {"another_address": f"{NAR_PREFIX}{0x900 + mn.n:x}",
               "the_proposed_one": mn.ncoa, "none": None}[assigned]
    hi_sequence, mark = outstanding_hi(ar, mn, 1600)
    options = [] if address is None else [mh_address(2, address)]
    ar.tester.send(hack_with(hi_sequence, 2, options))
    care_of = address or mn.ncoa
    fback = read_mh(ar.tester.expect(is_mh(9, dst=care_of, sequence=1600), since=mark,
                                     what="FBack"))
    old = read_mh(ar.tester.expect(is_mh(9, dst=mn.pcoa, sequence=1600), since=mark,
                                   what="FBack (PCoA)"))
    assert old.packet[Ether].dst == MN_MAC
    moved = assigned == "another_address"
    for message in (fback, old):
        status, flags, _sequence, lifetime = struct.unpack_from("!BBHH", message.mh, 6)
        assert (status, flags) == (1 if moved else 0, 0) and 0 < lifetime * 4 <= 40
        kinds = [kind for _at, kind, _data in message.options]
        if moved:
            assert kinds == [3, 21]
            at, _kind, data = message.options[0]
            assert at % 8 == 6 and data == IPv6Address(address).packed
        else:
            assert kinds == [21]
        verify_badf(message, mn, care_of)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa, hlim=60) / UDP(sport=7, dport=9) / b"assigned")
    ar.tester.expect(tunnelled_to(care_of, mn.pcoa), since=mark, what="tunnel")
    if moved:
        probe(ar)
        assert not [p for p in ar.tester.since(mark) if tunnelled_to(mn.ncoa, mn.pcoa)(p)]


def test_a_hack_code_3_has_the_par_tunnel_to_the_nar(ar):
    """RFC 5568 §6.2.1.2: Code 3, "Handover Accepted, use PCoA": the NAR serves the PCoA on
    its link; "Subsequently, the PAR establishes a tunnel to the NAR in order to forward
    packets arriving for the PCoA" (§4: "the PAR ... tunnels packets to the NAR"): the
    handover is accepted (FBack status 0, §6.2.3) and packets for the PCoA are tunnelled from
    the PAR to the NAR's address, not to the NCoA."""
    mn = fresh()
    hi_sequence, mark = outstanding_hi(ar, mn, 1700)
    ar.tester.send(handover_acknowledge(hi_sequence, 3))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=1700), since=mark,
                                     what="FBack"))
    status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert status == 0 and 0 < lifetime * 4 <= 40
    verify_badf(fback, mn, mn.ncoa)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa, hlim=60) / UDP(sport=7, dport=9) / b"use pcoa")
    outer = ar.tester.expect(tunnelled_to(NAR, mn.pcoa), since=mark, what="tunnel to the NAR")
    inner = IPv6(bytes(outer[IPv6].payload))
    assert inner.src == CN and inner.hlim == 59 and bytes(inner[UDP].payload) == b"use pcoa"
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if tunnelled_to(mn.ncoa, mn.pcoa)(p)]


def test_a_hack_code_4_answers_no_hi(ar):
    """RFC 5568 §6.2.1.2: Code 4, "Message sent unsolicited, usually to trigger an HI
    message", is no answer to an HI even with its Sequence #: no FBack, no tunnel (counted,
    ``drop.fmip_hack_unsolicited``: it names no node forwarded to that NAR); the HI stays
    outstanding and the NAR's answer completes the handover."""
    mn = fresh()
    hi_sequence, mark = outstanding_hi(ar, mn, 1800)
    before = _par_state_counter(ar, "drop.fmip_hack_unsolicited")
    ar.tester.send(handover_acknowledge(hi_sequence, 4))
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"not yet")
    probe(ar)
    assert not [p for p in ar.tester.since(mark)
                if is_mh(9, sequence=1800)(p) or tunnelled_to(mn.ncoa, mn.pcoa)(p)]
    assert _par_state_counter(ar, "drop.fmip_hack_unsolicited") == before + 1
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(hi_sequence, 0))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=1800), since=mark,
                                     what="FBack"))
    assert fback.mh[6] == 0


def _context_request(mn: Mobile, *, mac: str = MN_MAC, src: str = NAR) -> Packet:
    """The NAR's unsolicited HAck Code 4 naming ``mn``: MH-LLA, PCoA, NCoA (docs/decisions.md
    D14)."""
    return hack_with(0x7700 + mn.n, 4, [mh_link_layer_address(mac), mh_address(1, mn.pcoa),
                                        mh_address(2, mn.ncoa)], src=src)


def test_an_unsolicited_hack_code_4_from_the_nar_triggers_an_hi_code_1(ar):
    """RFC 5568 §6.2.1.2: a HAck Code 4 is "sent unsolicited, usually to trigger an HI
    message"; from the NAR a fast binding forwards to, naming that node (its LLA and PCoA,
    docs/decisions.md D14), the PAR sends that NAR an HI: Code 1, the node being on the NAR's
    link already (§4: "Sending an HI message with Code 1 allows the NAR to validate the
    neighbor cache entry it creates for the MN during UNA processing"), S = 0 ("MUST be 0
    when Code = 1"), U = 0 (SHOULD), the LLA, PCoA and NCoA, authenticated. Its HAck changes
    nothing: no FBack, the tunnel to the NCoA stays."""
    mn = fresh()
    handover(ar, mn, 1900)
    mark = ar.tester.mark()
    ar.tester.send(_context_request(mn))
    hi = expect_hi(ar, mn, mark)
    sequence, flags, code = struct.unpack_from("!HBB", hi.mh, 6)
    assert (code, flags) == (1, 0)
    assert hi.option(34, 1) == bytes([1, 128]) + IPv6Address(mn.pcoa).packed
    assert hi.option(7) == b"\x02" + mac_bytes(MN_MAC)
    verify_router_pair(hi, NAR)
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"unchanged")
    ar.tester.expect(tunnelled_to(mn.ncoa, mn.pcoa), since=mark, what="tunnel")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(9, dst=mn.ncoa)(p)
                or is_mh(9, dst=mn.pcoa)(p)]


@pytest.mark.parametrize("fault", ["from_another_router", "another_node", "no_binding"])
def test_an_unsolicited_hack_code_4_that_names_no_binding_of_its_sender_is_dropped(ar, fault):
    """RFC 5568 §6.2.1.2, §10: the HI a Code 4 triggers goes to the NAR, about a node it
    forwards there: an authentic Code 4 from another neighbour, one naming another
    link-layer address, or one for a PCoA with no fast binding gets no HI (counted)."""
    mn = fresh()
    if fault != "no_binding":
        handover(ar, mn, 2000)
    before = _par_state_counter(ar, "drop.fmip_hack_unsolicited")
    mark = ar.tester.mark()
    ar.tester.send({"from_another_router": lambda: _context_request(mn, src=OTHER),
                    "another_node": lambda: _context_request(mn, mac="02:00:00:00:55:99"),
                    "no_binding": lambda: _context_request(mn)}[fault]())
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(14)(p)
                and read_mh(p).option(34, 1)[2:] == IPv6Address(mn.pcoa).packed]
    assert _par_state_counter(ar, "drop.fmip_hack_unsolicited") == before + 1


@pytest.mark.parametrize("code", [5, 127, 131])
def test_a_hack_with_an_unassigned_code_is_a_refusal(ar, code):
    """RFC 5568 §6.2.1.2 defines HAck Codes 0-4 and 128-130; "the New Access Router can
    always refuse handover, in which case it MUST indicate the reason in one of the available
    Code values". A code the PAR does not know says nothing it can act on: it answers as for
    codes 128 and above, FBack status 128 ("Reason unspecified", §6.2.3), lifetime 0, and
    tunnels nothing; the HI is answered (no retransmission)."""
    mn = fresh()
    hi_sequence, mark = outstanding_hi(ar, mn, 2100)
    ar.tester.send(handover_acknowledge(hi_sequence, code))
    fback = read_mh(ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=2100), since=mark,
                                     what="FBack"))
    status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
    assert (status, lifetime) == (128, 0)
    verify_badf(fback, mn, mn.ncoa)
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"refused")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if tunnelled_to(mn.ncoa, mn.pcoa)(p)
                or is_mh(14, dst=NAR, sequence=hi_sequence)(p)]


# -- PAR: reactive FBUs it must refuse (§5.2, §6.2.2, §10) -------------------------------------

STRANGER_PREFIX = "2001:db8:9::"


@pytest.mark.parametrize("fault", ["another_nodes_key", "wrong_authenticator", "unknown_spi",
                                   "pcoa_not_on_link", "replayed", "ncoa_of_no_neighbour"])
def test_a_reactive_fbu_the_par_cannot_accept(ar, fault):
    """RFC 5568 §5.2, §6.2.2, §10: an FBU sent from the NAR's link (source = NCoA, routed to
    the PAR) is checked as one from the PCoA: signed with the handover key of the node that
    owns the PCoA (not another node's, not an unknown SPI, not a wrong authenticator), for a
    PCoA of the PAR's link, with a Sequence # newer than the last accepted (a replay of an
    accepted reactive FBU is not). None of these gets an HI, an FBack or a tunnel (silently
    dropped and counted, ``fmip.fbu_rejected.<reason>``). An authentic FBU whose NCoA no
    neighbour serves has nobody to hand over to: FBack status 128 ("Reason unspecified",
    §6.2.3), lifetime 0, to that NCoA, the BADF over it, and no HI."""
    mn = fresh()
    stranger = Mobile(99)  # a handover key the router does not hold
    ncoa = f"{STRANGER_PREFIX}{0x100 + mn.n:x}" if fault == "ncoa_of_no_neighbour" else mn.ncoa
    kwargs: dict[str, object] = {
        "another_nodes_key": {"key": fresh()}, "wrong_authenticator": {"tamper": True},
        "unknown_spi": {"key": stranger}, "pcoa_not_on_link": {"pcoa": "2001:db8:7::5"},
        "replayed": {}, "ncoa_of_no_neighbour": {"ncoa": ncoa}}[fault]
    reason = {"another_nodes_key": "key_not_for_pcoa", "wrong_authenticator":
              "bad_authenticator", "unknown_spi": "unknown_spi", "pcoa_not_on_link":
              "pcoa_not_on_link", "replayed": "sequence", "ncoa_of_no_neighbour": None}[fault]
    fbu = fast_binding_update(mn, 2200, reactive=True, **kwargs)  # type: ignore[arg-type]
    if fault == "replayed":
        mark = ar.tester.mark()
        ar.tester.send(fbu)
        hi_sequence = struct.unpack_from("!H", expect_hi(ar, mn, mark).mh, 6)[0]
        ar.tester.send(handover_acknowledge(hi_sequence, 0))
        ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=2200), since=mark, what="FBack")
    before = _par_state_counter(ar, f"fmip.fbu_rejected.{reason}") if reason else 0
    mark = ar.tester.mark()
    ar.tester.send(fbu)
    if reason is None:
        fback = read_mh(ar.tester.expect(is_mh(9, dst=ncoa, sequence=2200), since=mark,
                                         what="FBack"))
        status, _flags, _sequence, lifetime = struct.unpack_from("!BBHH", fback.mh, 6)
        assert (status, lifetime) == (128, 0)
        verify_badf(fback, mn, ncoa)
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if is_mh(14)(p)
                and read_mh(p).option(34, 2)[2:] == IPv6Address(ncoa).packed]
    if reason is not None:
        assert not [p for p in ar.tester.since(mark) if is_mh(9, sequence=2200)(p)]
        assert _par_state_counter(ar, f"fmip.fbu_rejected.{reason}") == before + 1
    if fault == "replayed":
        return  # the first, accepted, FBU's tunnel is up
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=CN, dst=mn.pcoa) / UDP(sport=7, dport=9) / b"still here")
    ar.tester.expect(lambda p: p[IPv6].dst == mn.pcoa and p.haslayer(UDP)
                     and p[Ether].dst == MN_MAC and p[IPv6].nh == 17, since=mark,
                     what="native delivery")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if p[IPv6].nh == 41]


# -- NAR: the NAACK statuses (§6.3, §6.4.6) -----------------------------------------------------

def naack_in(ra: Packet, address: str, mac: str) -> bytes:
    """The NAACK option of the Router Advertisement ``ra``, after checking the RA as §6.3 and
    RFC 4861 §4.2, §6.1.2 want it: to the UNA's source at the UNA's link-layer address, from
    the link-local address, hop limit 255, ICMPv6 134 Code 0, a right checksum, one NAACK."""
    assert ra[Ether].dst == mac and ra[Ether].src == DUT_MAC
    assert ra[IPv6].src == AR_LL and ra[IPv6].dst == address and ra[IPv6].hlim == 255
    message = bytes(ra[IPv6])[40:]
    assert message[:2] == bytes([134, 0])
    assert internet_checksum(IPv6Address(AR_LL).packed + IPv6Address(address).packed
                             + struct.pack("!I3xB", len(message), 58) + message) == 0
    [naack] = [data for kind, data in nd_options(message[16:]) if kind == 20]
    return naack


def test_a_una_from_an_unrecognised_link_layer_address_gets_naack_128(ar):
    """RFC 5568 §6.4.6: status 128, "Link-Layer Address unrecognized" (the router is
    configured not to recognise this MAC on its link): Type 20, Length 1, Option-Code 0,
    Status 128, Reserved 0, in an RA to the UNA's source at that MAC (§6.3). §6.3 "the MN
    MUST NOT use the NCoA": the address is not taken for that node, so another node may then
    announce it without a NAACK."""
    address = "2001:db8:1::310"
    mark = ar.tester.mark()
    ar.tester.send(_una(address, UNRECOGNIZED_MAC), src_mac=UNRECOGNIZED_MAC)
    ra = ar.tester.expect(_naack_to(address), since=mark, what="RA with a NAACK")
    assert naack_in(ra, address, UNRECOGNIZED_MAC) == bytes([20, 1, 0, 128, 0, 0, 0, 0])
    mark = ar.tester.mark()
    ar.tester.send(_una(address, "02:00:00:00:88:81"), src_mac="02:00:00:00:88:81")
    probe_link(ar)
    assert not [p for p in ar.tester.since(mark) if _naack_to(address)(p)]


def test_a_una_from_another_address_than_the_prepared_ncoa_gets_naack_2(ar):
    """RFC 5568 §6.4.6: status 2, "NCoA is invalid, use the NCoA supplied in the option",
    which "MUST be present" (Length 3: the address follows Reserved, docs/decisions.md,
    spec digest §10 item 6): a node whose handover the NAR prepared for one NCoA (HI, HAck
    Code 0, proxied) announces another address with its LLA; the NAR gives it the prepared
    NCoA back. Announcing that one then gets no NAACK."""
    pcoa, ncoa, mac = _nar_mobile(10)
    other = "2001:db8:1::2a0"
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=ncoa, mac=mac)
    assert hack.mh[9] == 0
    mark = ar.tester.mark()
    ar.tester.send(_una(other, mac), src_mac=mac)
    ra = ar.tester.expect(_naack_to(other), since=mark, what="RA with a NAACK")
    assert naack_in(ra, other, mac) == bytes([20, 3, 0, 2, 0, 0, 0, 0]) + IPv6Address(
        ncoa).packed
    mark = ar.tester.mark()
    ar.tester.send(_una(ncoa, mac), src_mac=mac)
    probe_link(ar)
    assert not [p for p in ar.tester.since(mark) if _naack_to(ncoa)(p)]


def test_nar_serves_the_pcoa_with_hack_code_3_and_naack_4(nar_serving_pcoa):
    """RFC 5568 §4 step 3, §6.2.1.2: when the NCoA cannot be used (DAD finds it taken), the
    NAR "MAY provide support for the PCoA", "indicates forwarding support for the PCoA using
    Code value 3" (no New CoA option; S was 0); it buffers what the PAR tunnels for the PCoA
    (U set). §6.4.6 status 4, "PCoA supplied, do not send FBU" (Length 1): the node's UNA from
    the unusable NCoA gets it, at its LLA, and the PCoA's packets are delivered to it."""
    ar = nar_serving_pcoa
    pcoa, _ncoa, mac = _nar_mobile(20)
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=IN_USE, mac=mac)
    assert (hack.mh[8], hack.mh[9]) == (0, 3)
    assert hack.option(34, 2) is None
    verify_router_pair(hack, NAR)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=NAR, dst=AR) / IPv6(src=CN, dst=pcoa, hlim=50)
                   / UDP(sport=7, dport=9) / b"for the pcoa")
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if p.haslayer(UDP) and p[IPv6].dst == pcoa]
    mark = ar.tester.mark()
    ar.tester.send(_una(IN_USE, mac), src_mac=mac)
    ra = ar.tester.expect(_naack_to(IN_USE), since=mark, what="RA with a NAACK")
    assert naack_in(ra, IN_USE, mac) == bytes([20, 1, 0, 4, 0, 0, 0, 0])
    delivered = ar.tester.expect(lambda p: p.haslayer(UDP) and p[IPv6].dst == pcoa,
                                 since=mark, what="the PCoA's packet")
    assert delivered[Ether].dst == mac and bytes(delivered[UDP].payload) == b"for the pcoa"


@pytest.mark.parametrize("case", ["outside_the_prefix", "in_use"])
def test_nar_answers_an_unusable_ncoa_with_naack_3_and_serves_the_pcoa(nar_serving_pcoa, case):
    """RFC 5568 §6.4.6: status 3, "NCoA is invalid, use NAR's IP address as NCoA in FBU"
    (Length 1), to a node announcing an address it cannot use (not on the link, or taken),
    with no handover prepared. The node then sends its FBU with the NAR's address as NCoA; its
    PAR's HI (Code 1: sent from the NAR's link) names it, and the NAR accepts (HAck Code 0)
    and delivers the PCoA's packets the PAR tunnels to it (docs/decisions.md D15)."""
    ar = nar_serving_pcoa
    n = {"outside_the_prefix": 21, "in_use": 22}[case]
    pcoa, _ncoa, mac = _nar_mobile(n)
    address = {"outside_the_prefix": "2001:db8:5::3a0", "in_use": IN_USE}[case]
    mark = ar.tester.mark()
    ar.tester.send(_una(address, mac), src_mac=mac)
    ra = ar.tester.expect(_naack_to(address), since=mark, what="RA with a NAACK")
    assert naack_in(ra, address, mac) == bytes([20, 1, 0, 3, 0, 0, 0, 0])
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=AR, mac=mac, code=1, u_flag=False)
    assert (hack.mh[8], hack.mh[9]) == (0, 0)
    verify_router_pair(hack, NAR)
    mark = ar.tester.mark()
    ar.tester.send(IPv6(src=NAR, dst=AR) / IPv6(src=CN, dst=pcoa, hlim=50)
                   / UDP(sport=7, dport=9) / b"served")
    delivered = ar.tester.expect(lambda p: p.haslayer(UDP) and p[IPv6].dst == pcoa,
                                 since=mark, what="the PCoA's packet")
    assert delivered[Ether].dst == mac and bytes(delivered[UDP].payload) == b"served"


@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_nar_serving_pcoas_sent_without_complaint(
        nar_serving_pcoa):
    """As below, for the second router (HAck Code 3, RAs with NAACK statuses 3 and 4)."""
    probe_link(nar_serving_pcoa)
    stacks, complaints = dissection_problems(nar_serving_pcoa.tester)
    assert any("icmpv6" in stack for stack in stacks), set(stacks)
    assert without_naack_misreading(nar_serving_pcoa, complaints) == [], complaints


#: What Wireshark 4.0 says of a NAACK carrying an NCoA (docs/decisions.md D6): it reads the
#: address right after Status, not after Reserved where RFC 5568 §6.4.6 ("immediately
#: following the Reserved field", Length 3) puts it, and finds 4 octets left over.
NAACK_MISREADING = ("Unknown Data (not interpreted)", "malformed")


def without_naack_misreading(ar: NodeUnderTest, complaints: list[tuple[int, list[str]]]
                             ) -> list[tuple[int, list[str]]]:
    """``complaints`` less those that are only Wireshark's misreading of a NAACK of Length 3
    in a Router Advertisement (tests/wire/test_tshark.py checks what it reads instead)."""
    def naack_with_address(data: bytes) -> bool:
        raw = data[14:]
        return (data[12:14] == b"\x86\xdd" and raw[6] == 58 and raw[40] == 134
                and any(kind == 20 and option[1] == 3 for kind, option in nd_options(raw[56:])))

    with ar.tester._lock:
        frames = list(ar.tester.frames)
    return [(n, found) for n, found in complaints
            if not (naack_with_address(frames[n].data)
                    and all(f.startswith(NAACK_MISREADING) for f in found))]


# -- what the router sent, as Wireshark reads it ----------------------------------------------

@pytest.mark.tshark
def test_wireshark_dissects_every_frame_the_access_router_sent_without_complaint(ar):
    """Every frame the router sent in this module (PrRtAdvs, HIs, HAcks, FBacks, tunnelled
    packets, NAs, RAs) read by tshark's own dissectors (Wireshark knows ICMPv6 154 and the
    FMIPv6 Mobility Header types), with no malformed frame and no warning, and every Mobility
    Header checksum right (RFC 6275 §6.1.1, which Wireshark does not check)."""
    mn = fresh()
    mark = send_fbu(ar, mn, 400)
    sequence = struct.unpack_from("!H", expect_hi(ar, mn, mark).mh, 6)[0]
    mark = ar.tester.mark()
    ar.tester.send(handover_acknowledge(sequence, 0))
    ar.tester.expect(is_mh(9, dst=mn.ncoa, sequence=400), since=mark, what="FBack")
    probe_link(ar)
    stacks, complaints = dissection_problems(ar.tester)
    for protocol in ("mipv6", "icmpv6", "ipv6:ipv6"):
        assert any(protocol in stack for stack in stacks), (protocol, set(stacks))
    assert without_naack_misreading(ar, complaints) == [], complaints


# -- NAR: the reverse tunnel of a served PCoA (§4 step 3, §6.2.1.2) ----------------------------

def test_nar_reverse_tunnels_what_the_served_pcoa_sends_to_the_par(nar_serving_pcoa):
    """RFC 5568 §4 step 3, §6.2.1.2: a NAR that answers HAck Code 3 sets up "a tunnel to the
    PAR to forward the MN's packets sent with the PCoA as a source IP address". Once the node
    is on the link (its UNA), a packet it sends from the PCoA to a correspondent goes out
    IPv6-in-IPv6 (RFC 2473) from the NAR's address to the PAR's, the inner packet unchanged
    but for its hop limit (RFC 2473 §3.1: decremented once by the entry point); not natively
    to the correspondent. The node's Neighbor Advertisements for its PCoA, to the router's
    link-local address, are not forwarded (RFC 4291 §2.5.6; mipshop tunnelled them to the PAR
    until this test)."""
    ar = nar_serving_pcoa
    pcoa, _ncoa, mac = _nar_mobile(23)
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=IN_USE, mac=mac)
    assert hack.mh[9] == 3
    mark = ar.tester.mark()
    ar.tester.send(_una(IN_USE, mac), src_mac=mac)
    ar.tester.expect(_naack_to(IN_USE), since=mark, what="RA with a NAACK 4")
    ar.tester.own(pcoa, mac)
    mark = ar.tester.mark()
    # The node's Neighbor Advertisement for its PCoA to the router (RFC 4861 §7.2.4), then
    # a packet for a correspondent.
    ar.tester.send(IPv6(src=pcoa, dst=AR_LL, hlim=255) / ICMPv6ND_NA(R=0, S=1, O=1, tgt=pcoa)
                   / ICMPv6NDOptDstLLAddr(lladdr=mac), src_mac=mac)
    ar.tester.send(IPv6(src=pcoa, dst=CN, hlim=40) / UDP(sport=9, dport=7) / b"from the pcoa",
                   src_mac=mac)
    outer = ar.tester.expect(lambda p: p[IPv6].nh == 41 and p[IPv6].dst == NAR
                             and IPv6(bytes(p[IPv6].payload)).dst == CN,
                             since=mark, what="the reverse tunnel to the PAR")
    assert outer[IPv6].src == AR and outer[Ether].src == DUT_MAC
    inner = IPv6(bytes(outer[IPv6].payload))
    assert (inner.src, inner.dst, inner.hlim) == (pcoa, CN, 39)
    assert bytes(inner[UDP].payload) == b"from the pcoa"
    probe(ar)
    assert not [p for p in ar.tester.since(mark) if p[IPv6].nh != 41 and p.haslayer(UDP)
                and p[IPv6].src == pcoa and p[IPv6].dst == CN]
    # RFC 4291 §2.5.6: what the node sends the router on the link (its Neighbor
    # Advertisements for the PCoA, to the router's link-local address) is not forwarded.
    probe(ar)
    assert [IPv6(bytes(p[IPv6].payload)).dst for p in ar.tester.since(0)
            if p[IPv6].nh == 41 and p[IPv6].dst == NAR
            and IPv6(bytes(p[IPv6].payload)).src == pcoa] == [CN]


# -- NAR: the address pool (§5.5, §6.2.1.2, §6.4.6) -------------------------------------------

#: The pool of the third router (``nar_with_pool``): on its link, assigned in this order.
POOL = [f"2001:db8:1::5a{n}" for n in range(6)]


@pytest.fixture(scope="module")
def nar_with_pool() -> Iterator[NodeUnderTest]:
    """The router as NAR with an ``address_pool`` (assigned addressing, §5.5): an unusable NCoA
    is replaced by a pool address (HAck Code 2, NAACK status 2)."""
    yield from _access_router(RTT, address_pool=POOL, addresses_in_use=[IN_USE])


_pool_given: list[str] = []


def _from_pool(address: bytes) -> str:
    """``address`` (16 octets) is a pool address not given before; returned as text."""
    text = str(IPv6Address(address))
    assert text in POOL and text not in _pool_given, (text, _pool_given)
    _pool_given.append(text)
    return text


@pytest.mark.parametrize("case", ["outside_the_prefix", "in_use"])
def test_nar_assigns_a_pool_address_for_an_unusable_ncoa_with_hack_code_2(nar_with_pool, case):
    """RFC 5568 §6.2.1.2: Code 2, "Handover Accepted, NCoA assigned", with the New Care-of
    Address option (MH IPv6 Address/Prefix, Option-Code 2, 8n+4, prefix length 128) naming an
    address of the pool instead of the proposed NCoA (off the link, or taken, S = 0); the NAR
    then proxies the assigned address (§4)."""
    ar = nar_with_pool
    pcoa, _ncoa, mac = _nar_mobile({"outside_the_prefix": 30, "in_use": 31}[case])
    proposed = {"outside_the_prefix": "2001:db8:5::3b0", "in_use": IN_USE}[case]
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=proposed, mac=mac)
    assert (hack.mh[8], hack.mh[9]) == (0, 2)
    option = hack.option(34, 2)
    assert option is not None and option[:2] == bytes([2, 128])
    assigned = _from_pool(option[2:])
    assert [at % 8 for at, kind, _ in hack.options if kind == 34] == [4]
    verify_router_pair(hack, NAR)
    na = _proxied(ar, assigned, 10.0)
    assert na is not None and na[ICMPv6NDOptDstLLAddr].lladdr == DUT_MAC


def test_a_una_from_an_unusable_address_gets_naack_2_with_a_pool_address(nar_with_pool):
    """RFC 5568 §6.4.6: status 2, "NCoA is invalid, use the NCoA supplied in the option" (Length
    3, the address after Reserved, spec digest §10 item 6): a node with no prepared handover
    announces an address off the link; the NAR supplies one of its pool, at the node's LLA."""
    ar = nar_with_pool
    address, mac = "2001:db8:5::3c0", "02:00:00:00:66:32"
    mark = ar.tester.mark()
    ar.tester.send(_una(address, mac), src_mac=mac)
    ra = ar.tester.expect(_naack_to(address), since=mark, what="RA with a NAACK")
    naack = naack_in(ra, address, mac)
    assert naack[:8] == bytes([20, 3, 0, 2, 0, 0, 0, 0]) and len(naack) == 24
    _from_pool(naack[8:])


# -- NAR: an HI Code 1 is never answered with HAck Code 1, 2 or 4 (§6.2.1.2) -------------------

@pytest.mark.parametrize("case", ["s_flag", "outside_the_prefix", "in_use",
                                  "router_address_untold"])
def test_an_hi_code_1_gets_no_hack_code_1_2_or_4(nar_with_pool, nar_serving_pcoa, case):
    """RFC 5568 §6.2.1.2: "When responding to an HI message containing a Code value 1, the Code
    values 1, 2, and 4 in the HAck message are not relevant" (spec digest §1). The HIs Code 1
    (S = U = 0 but for ``s_flag``) that, as Code 0, would get Code 2 (S set; the NCoA off the
    link or taken, with a pool to assign from) or Code 1 (the NAR's own address proposed by
    a node it never told to use it, NAACK 3): the NAR answers with none of 1, 2 and 4."""
    ar = nar_serving_pcoa if case == "router_address_untold" else nar_with_pool
    pcoa, ncoa, mac = _nar_mobile({"s_flag": 40, "outside_the_prefix": 41, "in_use": 42,
                                   "router_address_untold": 44}[case])
    proposed = {"outside_the_prefix": "2001:db8:5::3d0", "in_use": IN_USE,
                "router_address_untold": AR}.get(case, ncoa)
    hack = _hi_answered(ar, pcoa=pcoa, ncoa=proposed, mac=mac, code=1, u_flag=False,
                        s_flag=case == "s_flag")
    verify_router_pair(hack, NAR)
    assert hack.mh[8] == 0
    assert hack.mh[9] not in (1, 2, 4), hack.mh[9]
    # Nothing assigned from the pool.
    assert hack.option(34, 2) is None or str(IPv6Address(hack.option(34, 2)[2:])) not in POOL
