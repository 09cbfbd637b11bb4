"""An independent conformance tester: raw Ethernet on one veth, packets built with scapy.

The node under test (``mipshop daemon ha|cn|mn``) runs alone in a namespace (``dut``), its
``eth0`` joined by one veth to the tester's namespace (``tester``). The tester's kernel has
IPv6 disabled on its end, so nothing but this module speaks there: it sends the frames the
tests build (every packet from the RFC text with scapy, never with mipshop's encoders) and
records every frame that arrives, on an ``AF_PACKET`` socket opened inside the tester's
namespace. It plays every other node of the link and beyond: routers, the mobile node at its
care-of address, correspondents, other hosts of the home link. For the addresses it plays
on the link it answers Neighbor Solicitations itself (:meth:`Tester.own`).

The daemon reads a TOML file written from a dict and is driven over its control socket;
namespaces are named like the testbed's (``mipshop-<pid>x<n>-...``) so that a crashed run's
leftovers are recognised and removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netns import popns, pushns
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BU,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    MIP6OptAltCoA,
    MIP6OptMNID,
    MIP6OptMsgAuth,
    MIP6OptReplayProtection,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from mipshop.net.testbed import NS_PREFIX, remove_stale_namespaces, run, to_toml

ROOT = Path(__file__).resolve().parents[2]
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
#: <asm-generic/socket.h>: receive timestamps in nanoseconds (SCM_TIMESTAMPNS has the same value).
SO_TIMESTAMPNS = 35
_serial = iter(range(1, 1 << 30))

TESTER_MAC = "02:00:00:00:99:01"
DUT_MAC = "00:00:5e:00:01:01"


def solicited_node(address: IPv6Address | str) -> str:
    """ff02::1:ffXX:XXXX for ``address`` (RFC 4291 §2.7.1)."""
    low = int(IPv6Address(address)) & 0xFFFFFF
    return str(IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | low))


def multicast_mac(address: IPv6Address | str) -> str:
    """33:33 + the low 32 bits of a multicast address (RFC 2464 §7)."""
    low = IPv6Address(address).packed[-4:]
    return "33:33:" + ":".join(f"{b:02x}" for b in low)


def mac_bytes(mac: str) -> bytes:
    """``"02:00:..."`` -> 6 bytes."""
    return bytes.fromhex(mac.replace(":", ""))


def link_local_of(address: IPv6Address | str) -> IPv6Address:
    """fe80:: + the interface identifier of ``address`` (RFC 4291 §2.5.6)."""
    return IPv6Address(int(IPv6Address("fe80::")) | (int(IPv6Address(address)) & (2**64 - 1)))


def ntp_timestamp(unix: float) -> int:
    """RFC 4285 §6 / RFC 1305: 32 bits of seconds since 1900, 32 bits of fraction."""
    seconds = int(unix) + 2_208_988_800
    fraction = int((unix - int(unix)) * (1 << 32))
    return (seconds << 32) | fraction


# -- packets, from the RFC text ------------------------------------------------------------------

def mh_offset(raw: bytes) -> int:
    """Where the Mobility Header starts in raw IPv6 bytes (walking Destination Options and
    Routing headers, RFC 8200 §4)."""
    next_header, offset = raw[6], 40
    while next_header in (0, 43, 60):
        next_header, offset = raw[offset], offset + (raw[offset + 1] + 1) * 8
    assert next_header == 135, f"no Mobility Header (next header {next_header})"
    return offset


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's complement sum, complemented."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_mh_checksum(raw: bytes, *, src: str, dst: str) -> bytes:
    """``raw`` with its Mobility Header checksum computed over the RFC 8200 §8.1
    pseudo-header (``src``: the home address when a Home Address option is present, RFC 6275
    §6.1.1) and the whole Mobility Header."""
    start = mh_offset(raw)
    mh = bytearray(raw[start:])
    mh[4:6] = b"\x00\x00"
    pseudo = (IPv6Address(src).packed + IPv6Address(dst).packed
              + struct.pack("!I3xB", len(mh), 135))
    mh[4:6] = struct.pack("!H", internet_checksum(pseudo + bytes(mh)))
    return raw[:start] + bytes(mh)


def sign_mn_ha(packet: Packet, key: bytes, *, care_of: str, home: str) -> Packet:
    """Fill in the MN-HA authenticator of the last option of a BU or BA (RFC 4285 §5.1).

    Authenticator = First(96, HMAC_SHA1(key, care-of address | home address | MH Data)),
    MH Data being the Mobility Header up to and including the SPI of this option, with the
    Checksum field zero.
    """
    raw = bytearray(bytes(packet))
    start = mh_offset(bytes(raw))
    mh = bytearray(raw[start:])
    mh[4:6] = b"\x00\x00"
    # The option is the last one: its 12-octet authenticator ends the used part of the MH;
    # walk the options to find it (the message data of a BU is 6 octets after the header).
    at = 12
    while at < len(mh):
        if mh[at] == 0:
            at += 1
            continue
        if mh[at] == 9:
            break
        at += 2 + mh[at + 1]
    assert at < len(mh) and mh[at] == 9, "no Mobility Message Authentication option"
    data = IPv6Address(care_of).packed + IPv6Address(home).packed + bytes(mh[: at + 7])
    authenticator = hmac.new(key, data, hashlib.sha1).digest()[:12]
    from scapy.layers.inet6 import MIP6MH_BA

    mh_layer = packet.getlayer(MIP6MH_BU) or packet.getlayer(MIP6MH_BA)
    option = mh_layer.options[-1]
    assert isinstance(option, MIP6OptMsgAuth)
    option.authdata = authenticator
    mh_layer.cksum = None
    return IPv6(bytes(packet))


@dataclass(frozen=True)
class MobileIdentity:
    """One mobile node's identity at the home agent (RFC 4283 NAI, RFC 4285 SA)."""

    nai: str
    spi: int
    key: bytes
    home_address: str

    def table(self) -> dict[str, Any]:
        """The home agent's ``[[home_agent.credentials]]`` entry."""
        return {"identifier": self.nai, "spi": self.spi, "key": self.key.hex(),
                "home_address": self.home_address}


def home_bu(identity: MobileIdentity, *, care_of: str, ha: str, sequence: int,
            lifetime: float = 60.0, flags: str = "AH", hoa: str | None = None,
            alternate: bool = True, stamp: float | None = None, sign: bool = True,
            source: str | None = None) -> Packet:
    """A home registration Binding Update as RFC 6275 §11.7.1 and RFC 4285 lay it out.

    From the care-of address (or ``source``) to the home agent, Home Address option, A and H
    set, Alternate Care-of Address, Mobile Node Identifier, timestamp, MN-HA authenticator.
    """
    home = hoa or identity.home_address
    options: list[Packet] = []
    if alternate:
        options.append(MIP6OptAltCoA(acoa=care_of))
    options += [MIP6OptMNID(subtype=1, id=identity.nai.encode()),
                MIP6OptReplayProtection(timestamp=ntp_timestamp(stamp or time.time())),
                MIP6OptMsgAuth(subtype=1, mspi=identity.spi, authdata=b"\x00" * 12)]
    packet = (IPv6(src=source or care_of, dst=ha, hlim=64)
              / IPv6ExtHdrDestOpt(options=[HAO(hoa=home)])
              / MIP6MH_BU(seq=sequence, flags=flags, mhtime=int(lifetime // 4),
                          options=options))
    if not sign:
        return IPv6(bytes(packet))
    return sign_mn_ha(packet, identity.key, care_of=care_of, home=home)


def binding_authorization(kbm: bytes, address: str, correspondent: str, mh: bytes) -> bytes:
    """RFC 6275 §6.2.7: First(96, HMAC_SHA1(Kbm, care-of address | correspondent | MH Data)),
    MH Data being the Mobility Header without the authenticator (the option's last 12
    octets), Checksum zero. ``address`` is the home address for a de-registration."""
    data = bytearray(mh[:-12])
    data[4:6] = b"\x00\x00"
    message = IPv6Address(address).packed + IPv6Address(correspondent).packed + bytes(data)
    return hmac.new(kbm, message, hashlib.sha1).digest()[:12]


def management_key(home_token: bytes, care_of_token: bytes | None) -> bytes:
    """RFC 6275 §5.2.5: Kbm = SHA1(home keygen token | care-of keygen token), the home token
    alone for a de-registration."""
    return hashlib.sha1(home_token + (care_of_token or b"")).digest()


def correspondent_bu(*, hoa: str, coa: str, cn: str, sequence: int, lifetime: float,
                     home_index: int, care_of_index: int, kbm: bytes, flags: str = "A",
                     home_address_option: bool = True, signed_address: str | None = None
                     ) -> Packet:
    """A correspondent registration as RFC 6275 §11.7.2 lays it out: from the care-of
    address (or the home address), Home Address option, Nonce Indices (Length 4), Binding
    Authorization Data last (Length 12) over ``signed_address`` (the care-of address, or
    the home address when de-registering, §6.2.7)."""
    from scapy.layers.inet6 import MIP6OptBindingAuthData, MIP6OptNonceIndices

    def build(authenticator: bytes) -> Packet:
        bu = MIP6MH_BU(seq=sequence, flags=flags, mhtime=int(lifetime // 4), options=[
            MIP6OptNonceIndices(olen=4, hni=home_index, coni=care_of_index),
            MIP6OptBindingAuthData(olen=12, authenticator=int.from_bytes(authenticator,
                                                                           "big"))])
        if home_address_option:
            return IPv6(src=coa, dst=cn) / IPv6ExtHdrDestOpt(options=[HAO(hoa=hoa)]) / bu
        return IPv6(src=hoa, dst=cn) / bu

    raw = bytes(build(b"\x00" * 12))
    mh = raw[mh_offset(raw):]
    assert mh[-14:-12] == b"\x05\x0c", "BAD must be the last option, with no padding after"
    authenticator = binding_authorization(kbm, signed_address or coa, cn, mh)
    return IPv6(bytes(build(authenticator)))


def routing_header_type2(home: str) -> IPv6ExtHdrRouting:
    """RFC 6275 §6.4: Routing Type 2, Segments Left 1, the home address."""
    return IPv6ExtHdrRouting(type=2, segleft=1, addresses=[home])


# -- the link ------------------------------------------------------------------------------------

@dataclass
class Frame:
    """One frame the tester received, with the kernel's receive timestamp (wall clock, taken
    when the frame reached the tester's interface: a reader thread scheduled late on a loaded
    machine does not move it)."""

    time: float
    data: bytes

    @property
    def packet(self) -> Packet:
        """The frame decoded by scapy; its ``time`` is the frame's arrival time."""
        packet = Ether(self.data)
        packet.time = self.time
        return packet


@dataclass
class Tester:
    """The tester's end of the link (see the module docstring)."""

    namespace: str
    mac: str = TESTER_MAC
    frames: list[Frame] = field(default_factory=list)
    #: Addresses the tester answers Neighbor Solicitations for, with the MAC it gives.
    owned: dict[IPv6Address, str] = field(default_factory=dict)
    peer_mac: str = DUT_MAC
    #: Frames sent once, from the reader thread, when a DAD probe for the address arrives.
    contested: dict[IPv6Address, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pushns(self.namespace)
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind(("eth0", ETH_P_ALL))
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        finally:
            popns()
        self.sock.settimeout(0.05)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _flags, address = self.sock.recvmsg(
                    65_535, socket.CMSG_SPACE(16))
            except (TimeoutError, OSError):
                continue
            if address[2] == PACKET_OUTGOING:
                continue
            stamp = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    stamp = seconds + nanoseconds / 1e9
            with self._lock:
                self.frames.append(Frame(stamp, data))
            self._answer_solicitation(data)

    def _answer_solicitation(self, data: bytes) -> None:
        """RFC 4861 §7.2.4: answer an NS for an address the tester plays."""
        if len(data) < 14 + 40 + 24 or data[12:14] != b"\x86\xdd" or data[14 + 6] != 58:
            return
        if data[54] != 135:
            return
        target = IPv6Address(data[54 + 8:54 + 24])
        source = IPv6Address(data[14 + 8:14 + 24])
        if source == IPv6Address("::"):
            # Someone's DAD: answered only where a test contests the address (at once, from
            # this thread, well within the prober's RetransTimer however loaded the machine).
            with self._lock:
                answer = self.contested.pop(target, None)
            if answer is not None:
                self.sock.send(answer)
            return
        mac = self.owned.get(target)
        if mac is None:
            return
        na = (IPv6(src=str(target), dst=str(source), hlim=255)
              / ICMPv6ND_NA(R=int(target.is_link_local), S=1, O=1, tgt=str(target))
              / ICMPv6NDOptDstLLAddr(lladdr=mac))
        self.send(na, src_mac=mac, dst_mac=":".join(f"{b:02x}" for b in data[6:12]))

    def own(self, address: IPv6Address | str, mac: str | None = None) -> None:
        """Answer NS for ``address`` (with ``mac``, the tester's by default)."""
        self.owned[IPv6Address(address)] = mac or self.mac

    def contest(self, address: IPv6Address | str, answer: Packet, *, src_mac: str) -> None:
        """Send ``answer`` (an NA for ``address``, or this tester's own DAD probe for it) from
        ``src_mac`` as soon as the next Duplicate Address Detection probe for ``address``
        arrives (RFC 4862 §5.4.3, §5.4.4), once."""
        raw = bytes(answer)
        destination = IPv6Address(raw[24:40])
        dst_mac = multicast_mac(destination) if destination.is_multicast else self.peer_mac
        frame = bytes(Ether(src=src_mac, dst=dst_mac, type=0x86DD) / IPv6(raw))
        with self._lock:
            self.contested[IPv6Address(address)] = frame

    # -- sending -------------------------------------------------------------------------------

    def send(self, packet: Packet, *, src_mac: str | None = None,
             dst_mac: str | None = None) -> None:
        """Send one IPv6 packet (scapy) in an Ethernet frame: to the node under test's MAC,
        or to the group MAC of a multicast destination."""
        raw = bytes(packet)
        destination = IPv6Address(raw[24:40])
        if dst_mac is None:
            dst_mac = multicast_mac(destination) if destination.is_multicast else self.peer_mac
        frame = Ether(src=src_mac or self.mac, dst=dst_mac, type=0x86DD) / IPv6(raw)
        self.sock.send(bytes(frame))

    # -- receiving -----------------------------------------------------------------------------

    def mark(self) -> int:
        """An index into :attr:`frames`: "from now on"."""
        with self._lock:
            return len(self.frames)

    def since(self, mark: int) -> list[Packet]:
        """IPv6 packets received since ``mark``, decoded by scapy."""
        with self._lock:
            frames = self.frames[mark:]
        return [p for f in frames if (p := f.packet).haslayer(IPv6)]

    def expect(self, match: Callable[[Packet], bool], *, since: int, timeout: float = 3.0,
               what: str = "packet") -> Packet:
        """The first IPv6 packet since ``since`` that ``match`` accepts; AssertionError
        (listing what did arrive) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for packet in self.since(since):
                with contextlib.suppress(AttributeError, IndexError, TypeError):
                    if match(packet):
                        return packet
            if time.monotonic() > deadline:
                seen = "\n  ".join(p.summary() for p in self.since(since)[-15:])
                raise AssertionError(f"no {what} within {timeout} s; received:\n  {seen}")
            time.sleep(0.01)

    def absent(self, match: Callable[[Packet], bool], *, since: int, wait: float) -> None:
        """Assert that no packet ``match`` accepts arrives within ``wait`` seconds."""
        time.sleep(wait)
        for packet in self.since(since):
            with contextlib.suppress(AttributeError, IndexError, TypeError):
                assert not match(packet), f"unexpected: {packet.summary()}"


_settle_sources = iter(range(0xF000, 0x10000))


def settle(tester: Tester, *, node: str, prefix: str, timeout: float = 10.0) -> None:
    """Wait until the node under test at ``node`` has handled every Mobility Header the
    tester sent it before: send one it must answer, an unknown MH Type (RFC 6275 §9.2:
    Binding Error, status 2), which reaches it the same way, and wait for the answer. The
    source is new each time (``prefix`` + a fresh interface identifier), the node limiting
    its replies per source. After it, a "nothing came back" check is no longer a matter of
    how fast the loaded machine ran the node."""
    from scapy.layers.inet6 import MIP6MH_BE, MIP6MH_Generic

    source = f"{prefix}{next(_settle_sources):x}"
    mark = tester.mark()
    tester.send(IPv6(src=source, dst=node) / MIP6MH_Generic(mhtype=42, msg=b"\x00" * 4))
    tester.expect(lambda p: p.haslayer(MIP6MH_BE) and p[IPv6].dst == source
                  and p[MIP6MH_BE].status == 2, since=mark, timeout=timeout,
                  what="Binding Error 2 (settling)")


def ns_for(packet: Packet, target: str) -> bool:
    """Is ``packet`` a Neighbor Solicitation for ``target``?"""
    return packet.haslayer(ICMPv6ND_NS) and packet[ICMPv6ND_NS].tgt == target


def neighbor_advertisement(target: str, *, mac: str, solicited: bool = False,
                           destination: str = "ff02::1", router: bool = False) -> Packet:
    """An NA for ``target`` with its Target Link-Layer Address (RFC 4861 §4.4)."""
    return (IPv6(src=target if not IPv6Address(target).is_multicast else "::",
                 dst=destination, hlim=255)
            / ICMPv6ND_NA(R=int(router), S=int(solicited), O=1, tgt=target)
            / ICMPv6NDOptDstLLAddr(lladdr=mac))


def neighbor_solicitation(target: str, *, source: str, mac: str | None = None,
                          destination: str | None = None) -> Packet:
    """An NS for ``target`` (to its solicited-node group unless ``destination``); with a
    Source Link-Layer Address option unless the source is unspecified (RFC 4861 §4.3)."""
    packet = (IPv6(src=source, dst=destination or solicited_node(target), hlim=255)
              / ICMPv6ND_NS(tgt=target))
    if source != "::" and mac is not None:
        packet = packet / ICMPv6NDOptSrcLLAddr(lladdr=mac)
    return packet


# -- the node under test -------------------------------------------------------------------------

class NodeUnderTest:
    """Two namespaces, one veth, and one mipshop daemon in the ``dut`` namespace.

    ``setup`` runs shell-free ``ip`` commands in the node's namespace before the daemon starts
    (addresses, routes, neighbours); ``config`` is the daemon's TOML as a dict, completed
    with the ``[daemon]`` table.
    """

    def __init__(self, role: str, config: dict[str, Any], *,
                 setup: Callable[[NodeUnderTest], None] | None = None,
                 dut_mac: str = DUT_MAC) -> None:
        self.role = role
        self.tag = f"{os.getpid()}x{next(_serial)}c"
        self.ns = f"{NS_PREFIX}{self.tag}-dut"
        self.tester_ns = f"{NS_PREFIX}{self.tag}-tester"
        self.workdir = Path(tempfile.mkdtemp(prefix="mipshop-conformance-"))
        self.dut_mac = dut_mac
        self.process: subprocess.Popen[str] | None = None
        self.helpers: list[subprocess.Popen[str]] = []
        self.created: list[str] = []
        self.tester: Tester | None = None
        try:
            remove_stale_namespaces()
            for name in (self.ns, self.tester_ns):
                run(["ip", "netns", "add", name])
                self.created.append(name)
                run(["ip", "-n", name, "link", "set", "lo", "up"])
            for key in ("accept_dad", "accept_ra", "autoconf"):
                for scope in ("all", "default"):
                    self.sysctl(f"net.ipv6.conf.{scope}.{key}", 0)
            run(["ip", "-n", self.ns, "link", "add", "eth0", "address", dut_mac, "type", "veth",
                 "peer", "name", "eth0", "netns", self.tester_ns])
            run(["ip", "netns", "exec", self.tester_ns, "sysctl", "-q", "-w",
                 "net.ipv6.conf.eth0.disable_ipv6=1"])
            run(["ip", "-n", self.tester_ns, "link", "set", "eth0", "address", TESTER_MAC])
            run(["ip", "-n", self.tester_ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", self.ns, "link", "set", "eth0", "up"])
            if setup is not None:
                setup(self)
            self.tester = Tester(self.tester_ns, peer_mac=dut_mac)
            self._start(config)
        except BaseException:
            self.close()
            raise

    def ip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``ip -n <dut> ARGS``."""
        return run(["ip", "-n", self.ns, *args])

    def sysctl(self, key: str, value: int | str) -> None:
        """Set a sysctl in the node's namespace."""
        run(["ip", "netns", "exec", self.ns, "sysctl", "-q", "-w", f"{key}={value}"])

    def spawn(self, argv: list[str]) -> subprocess.Popen[str]:
        """Start ``argv`` in the node's namespace (stopped at :meth:`close`)."""
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        self.helpers.append(process)
        return process

    def exec(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the node's namespace."""
        return subprocess.run(["ip", "netns", "exec", self.ns, *argv], capture_output=True,
                              text=True, check=False, **kwargs)

    @property
    def log(self) -> str:
        """The daemon's standard output and error so far."""
        path = self.workdir / "daemon.log"
        return path.read_text() if path.exists() else ""

    def _start(self, config: dict[str, Any]) -> None:
        daemon = {"name": self.role, "interfaces": ["eth0"], "tun": "mip0",
                  "control": str(self.workdir / "control.sock"),
                  "event_log": str(self.workdir / "events.jsonl")}
        if self.role in ("ha", "map"):
            daemon["state_file"] = str(self.workdir / "state.sqlite")  # the binding cache
        daemon.update(config.pop("daemon", {}))
        path = self.workdir / f"{self.role}.toml"
        path.write_text(to_toml({"daemon": daemon, **config}))
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
        with open(self.workdir / "daemon.log", "w") as log:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, sys.executable, "-m", "mipshop.net.daemon",
                 self.role, "--config", str(path)], stdout=log, stderr=log,
                stdin=subprocess.DEVNULL, text=True, start_new_session=True, env=env)
        deadline = time.monotonic() + 15
        while "ready" not in self.log:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon {self.role} died at start:\n{self.log[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"daemon {self.role} did not start:\n{self.log[-3000:]}")
            time.sleep(0.02)

    def control(self, command: dict[str, Any]) -> dict[str, Any]:
        """One JSON command on the daemon's control socket."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.workdir / "control.sock"))
            sock.sendall((json.dumps(command) + "\n").encode())
            buffer = b""
            while not buffer.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                buffer += chunk
        answer: dict[str, Any] = json.loads(buffer)
        assert answer.get("ok"), answer
        return answer

    def state(self) -> dict[str, Any]:
        """The daemon's state dump."""
        state: dict[str, Any] = self.control({"cmd": "state"})["state"]
        return state

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The daemon's events (of ``kind``)."""
        events: list[dict[str, Any]] = self.control({"cmd": "events"})["events"]
        return [e for e in events if kind is None or e["kind"] == kind]

    def alive(self) -> bool:
        """True while the daemon runs."""
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        """Stop the daemon and the tester; delete both namespaces."""
        if self.tester is not None:
            self.tester.close()
        for helper in self.helpers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(helper.pid, 9)
            helper.wait(5)
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait(5)
        for name in reversed(self.created):
            pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            run(["ip", "netns", "del", name], check=False)
        self.created.clear()
        with contextlib.suppress(OSError):
            for path in self.workdir.iterdir():
                path.unlink()
            self.workdir.rmdir()


#: Why a conformance test does not run off root. CI runs as root, where none is skipped.
NEEDS_ROOT = "needs root (CAP_NET_ADMIN) for network namespaces; CI runs as root"


def require_root() -> None:
    """Skip the calling test or fixture unless this process is root: the only case where a
    conformance test is skipped (CI runs as root and must run every one)."""
    if os.geteuid() != 0:
        pytest.skip(NEEDS_ROOT)


@contextlib.contextmanager
def node_under_test(role: str, config: dict[str, Any], *, own: Iterable[str] = (),
                    **kwargs: Any) -> Iterator[NodeUnderTest]:
    """A :class:`NodeUnderTest` (``kwargs`` are its own) for the ``with`` block, closed
    after it whatever happened; the tester answers Neighbor Solicitations for the addresses
    in ``own`` (with its MAC) from the start. Skipped off root (:func:`require_root`)."""
    require_root()
    node = NodeUnderTest(role, config, **kwargs)
    try:
        for address in own:
            node.tester.own(address)
        yield node
    finally:
        node.close()


def dissection_problems(tester: Tester) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Wireshark's verdict on every frame the node under test sent so far.

    The frames are written as they arrived (Ethernet, scapy's pcap writer) and read back by
    tshark; returns the protocol stack of each frame (``frame.protocols``) and, for each frame
    tshark marks malformed or flags with an expert message of warning or error severity, its
    index and those complaints; a wrong Mobility Header checksum (which tshark does not
    check) is one.
    """
    from scapy.utils import PcapWriter

    from tests.tshark_support import dissect_file, fields, problems

    with tester._lock:
        frames = list(tester.frames)
    with tempfile.TemporaryDirectory(prefix="mipshop-conformance-") as tmp:
        path = Path(tmp) / "sent.pcap"
        writer = PcapWriter(str(path), linktype=1, sync=True)
        for frame in frames:
            writer.write(Ether(frame.data))
        writer.close()
        # UDP checksums are not checked by default; ICMPv6 ones always are.
        layers = dissect_file(path, extra=["-o", "udp.check_checksum:TRUE"])
    stacks = [" ".join(fields(packet, "frame.protocols")) for packet in layers]
    assert len(layers) == len(frames), "tshark read fewer frames than were written"
    complaints = []
    for n, (frame, packet) in enumerate(zip(frames, layers, strict=True)):
        found = problems(packet)
        if frame.data[12:14] == b"\x86\xdd" and not all(
                mobility_header_checksums(frame.data[14:])):
            found.append("Mobility Header checksum wrong")
        if found:
            complaints.append((n, found))
    return stacks, complaints


def mobility_header_checksums(raw: bytes) -> list[bool]:
    """For each Mobility Header in the IPv6 packet ``raw`` (and in a packet it tunnels),
    whether its Checksum is right (RFC 6275 §6.1.1): over the RFC 8200 §8.1 pseudo-header
    with the home address of a Home Address option as source and the last address of a
    Type 2 Routing Header as destination. Wireshark does not check it."""
    source, destination = raw[8:24], raw[24:40]
    next_header, offset = raw[6], 40
    while next_header in (0, 43, 60):
        length = (raw[offset + 1] + 1) * 8
        if next_header == 60:
            at = offset + 2
            while at < offset + length:
                if raw[at] == 0:
                    at += 1
                    continue
                if raw[at] == 0xC9:  # Home Address option (§6.3)
                    source = raw[at + 2:at + 18]
                at += 2 + raw[at + 1]
        if next_header == 43 and raw[offset + 2] == 2:  # Type 2 Routing Header (§6.4)
            destination = raw[offset + 8:offset + 24]
        next_header, offset = raw[offset], offset + length
    if next_header == 41:
        return mobility_header_checksums(raw[offset:])
    if next_header != 135:
        return []
    mh = raw[offset:offset + (raw[offset + 1] + 1) * 8]
    pseudo = source + destination + struct.pack("!I3xB", len(mh), 135)
    return [internet_checksum(pseudo + mh) == 0]


def unpack_bytes(fmt: str, data: bytes, offset: int) -> tuple[Any, ...]:
    """``struct.unpack_from`` (for hand-read fields)."""
    return struct.unpack_from(fmt, data, offset)


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
