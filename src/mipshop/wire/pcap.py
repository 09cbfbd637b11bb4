"""Capture files holding IPv6 packets: classic pcap and pcapng, read as a stream.

Writing. :func:`write_pcap` writes a classic microsecond pcap with link type 229,
LINKTYPE_IPV6 (raw IPv6, no link-layer header). :func:`write_pcapng` writes pcapng (Wireshark's
own format) with one interface per name, so that a capture taken on several links at once says
which link each copy crossed: Wireshark shows the name as ``frame.interface_name``.

Reading. :class:`CaptureReader` reads either format from a binary file object, one record at
a time, so memory stays bounded whatever the file's size: a record is at most
:data:`MAX_RECORD` bytes (Wireshark's own limit for a packet; a larger length field means a
corrupt file, and reading it must not allocate gigabytes). It accepts link types 229, raw IP
(101), Ethernet (1) and Linux cooked capture (113), keeping only the IPv6 packets, so that
captures taken by tshark, dumpcap or a packet socket can be read back. Of pcapng it reads the
Section Header, Interface Description, Enhanced Packet, Simple Packet and obsolete Packet
blocks, in either byte order, over any number of sections and interfaces, each with its own
link type, name and timestamp resolution; other blocks (name resolution, statistics, ...) are
skipped. Packets read before a truncated or corrupt record are yielded first; the problem is
then raised as :class:`MalformedPacket` with the file offset, as tshark prints every complete
packet before saying that the file was cut short.

This module does no I/O of its own beyond the file object it is given (and ``open`` of a path
in :func:`read_pcap` / the writers, for convenience).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import MalformedPacket

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV6 = 229
#: The link types whose frames the reader unwraps to IPv6.
SUPPORTED_LINKTYPES = frozenset({LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL,
                                 LINKTYPE_IPV6})

#: The largest record the reader accepts (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD), and the
#: largest pcapng block other than a packet block (Wireshark's MAX_BLOCK_SIZE is 16 MiB).
MAX_RECORD = 262_144
MAX_BLOCK = 16 * 1024 * 1024

_MAGIC_MICRO = 0xA1B2C3D4
_MAGIC_NANO = 0xA1B23C4D
_SNAPLEN = 262144
_ETHERTYPE_IPV6 = 0x86DD

# pcapng (draft-ietf-opsawg-pcapng): block types and option codes.
_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_OPB = 0x00000002  # obsolete Packet Block
_SPB = 0x00000003
_EPB = 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END = 0
_IF_NAME = 2
_IF_TSRESOL = 9
_IF_TSOFFSET = 14
#: Packet block types and their smallest valid total length.
_PACKET_BLOCKS = {_EPB: 32, _SPB: 16, _OPB: 32}


@dataclass(frozen=True, kw_only=True, slots=True)
class CapturedPacket:
    """One record of a capture: its timestamp in seconds, the IPv6 packet's bytes, the
    name of the interface (link) it was captured on, when the file says (pcapng), and, when
    read from a file, its ``number`` there: every packet record counts, those without IPv6
    included, from 1, as Wireshark numbers frames."""

    timestamp: float
    data: bytes
    interface: str | None = None
    number: int | None = None


# -- writing -----------------------------------------------------------------------------------


def write_pcap(target: str | Path | BinaryIO, packets: Iterable[CapturedPacket]) -> int:
    """Write ``packets`` as a microsecond pcap with link type 229; returns how many were written."""
    if isinstance(target, str | Path):
        with open(target, "wb") as handle:
            return write_pcap(handle, packets)
    target.write(struct.pack("<IHHiIII", _MAGIC_MICRO, 2, 4, 0, 0, _SNAPLEN, LINKTYPE_IPV6))
    count = 0
    for packet in packets:
        # Round to the microsecond once, so that 0.9999999 s does not become 0 s + 1e6 us.
        micros = round(packet.timestamp * 1_000_000)
        seconds, fraction = divmod(micros, 1_000_000)
        size = len(packet.data)
        target.write(struct.pack("<IIII", seconds, fraction, size, size))
        target.write(packet.data)
        count += 1
    return count


def pcapng_header(interfaces: Sequence[str], linktype: int = LINKTYPE_IPV6) -> bytes:
    """A pcapng Section Header Block and one Interface Description Block per name (interface
    ids 0, 1, ... in this order), little-endian, microsecond timestamps, ``linktype``."""
    shb_body = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1)
    out = [_block(_SHB, shb_body)]
    for name in interfaces:
        options = _option(_IF_NAME, name.encode()) + _option(_IF_TSRESOL, bytes([6]))
        options += struct.pack("<HH", _OPT_END, 0)
        out.append(_block(_IDB, struct.pack("<HHI", linktype, 0, _SNAPLEN) + options))
    return b"".join(out)


def pcapng_packet(interface_id: int, timestamp: float, data: bytes) -> bytes:
    """One Enhanced Packet Block (microsecond timestamp) for :func:`pcapng_header`'s files."""
    micros = round(timestamp * 1_000_000)
    size = len(data)
    body = struct.pack("<IIIII", interface_id, micros >> 32, micros & 0xFFFFFFFF, size, size)
    return _block(_EPB, body + data + bytes(-size % 4))


def write_pcapng(target: str | Path | BinaryIO, packets: Iterable[CapturedPacket], *,
                 interfaces: Sequence[str]) -> int:
    """Write ``packets`` as pcapng with one interface (link type 229) per name of
    ``interfaces``; each packet goes on the interface its ``interface`` names (the first when
    None). Returns how many packets were written."""
    if isinstance(target, str | Path):
        with open(target, "wb") as handle:
            return write_pcapng(handle, packets, interfaces=interfaces)
    names = list(interfaces) or [""]
    index = {name: number for number, name in enumerate(names)}
    target.write(pcapng_header(names))
    count = 0
    for packet in packets:
        number = 0 if packet.interface is None else index.get(packet.interface)
        if number is None:
            raise ValueError(f"packet on interface {packet.interface!r}, not among {names}")
        target.write(pcapng_packet(number, packet.timestamp, packet.data))
        count += 1
    return count


def _block(kind: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


# -- reading -----------------------------------------------------------------------------------


def read_pcap(source: str | Path | BinaryIO) -> list[CapturedPacket]:
    """Every IPv6 packet of a pcap or pcapng file (link types 1, 101, 113 and 229)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return list(CaptureReader(handle))
    return list(CaptureReader(source))


def iter_pcap(data: bytes) -> Iterator[CapturedPacket]:
    """Yield the IPv6 packets of the capture held in ``data``; raises :class:`MalformedPacket`."""
    return iter(CaptureReader(io.BytesIO(data)))


@dataclass(slots=True)
class _Interface:
    linktype: int
    name: str | None
    ticks_per_second: int
    offset: int
    snaplen: int


class CaptureReader:
    """The IPv6 packets of a pcap or pcapng stream, one record at a time (module docstring).

    Iterate over it once. ``format`` is ``"pcap"`` or ``"pcapng"`` once iteration has started;
    ``skipped`` counts the frames that carried no IPv6 packet or came from an interface whose
    link type is not read (an IPv4 frame, a Bluetooth interface ...).
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._offset = 0
        self.format: str | None = None
        self.skipped = 0

    def __iter__(self) -> Iterator[CapturedPacket]:
        head = self._read(4)
        if len(head) < 4:
            raise MalformedPacket("not a capture file: shorter than any header", len(head))
        if struct.unpack("<I", head)[0] == _SHB:
            self.format = "pcapng"
            return self._pcapng(head)
        self.format = "pcap"
        return self._pcap(head)

    # -- low-level reads ------------------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        """Read up to ``size`` bytes; short only at the end of the file."""
        data = self._stream.read(size)
        self._offset += len(data)
        return data

    # -- classic pcap ---------------------------------------------------------------------------

    def _pcap(self, head: bytes) -> Iterator[CapturedPacket]:
        magic_le = struct.unpack("<I", head)[0]
        if magic_le in (_MAGIC_MICRO, _MAGIC_NANO):
            order, magic = "<", magic_le
        else:
            magic = struct.unpack(">I", head)[0]
            if magic not in (_MAGIC_MICRO, _MAGIC_NANO):
                raise MalformedPacket("not a pcap or pcapng file (unknown magic number)", 0)
            order = ">"
        header = self._read(20)
        if len(header) < 20:
            raise MalformedPacket("pcap global header truncated", 4 + len(header))
        divisor = 1_000_000_000 if magic == _MAGIC_NANO else 1_000_000
        linktype = struct.unpack_from(order + "I", header, 16)[0] & 0x0FFFFFFF
        if linktype not in SUPPORTED_LINKTYPES:
            raise MalformedPacket(f"unsupported pcap link type {linktype}", 20)
        record = struct.Struct(order + "IIII")
        number = 0
        while True:
            start = self._offset
            raw = self._read(16)
            if not raw:
                return
            number += 1
            if len(raw) < 16:
                raise MalformedPacket(
                    f"file cut short in the header of record {number}: {len(raw)} of 16 bytes",
                    start)
            seconds, fraction, captured, _original = record.unpack(raw)
            if captured > MAX_RECORD:
                raise MalformedPacket(
                    f"record {number} claims {captured} bytes, more than {MAX_RECORD}: corrupt",
                    start + 8)
            frame = self._read(captured)
            if len(frame) < captured:
                raise MalformedPacket(
                    f"file cut short in the middle of record {number}: "
                    f"{len(frame)} of {captured} bytes", start + 16)
            payload = _strip_link_layer(frame, linktype)
            if payload is None:
                self.skipped += 1
                continue
            yield CapturedPacket(timestamp=seconds + fraction / divisor, data=payload,
                                 number=number)

    # -- pcapng ---------------------------------------------------------------------------------

    def _pcapng(self, first: bytes) -> Iterator[CapturedPacket]:
        order = "<"
        interfaces: list[_Interface] = []
        kind_raw = first
        start = 0
        number = 0
        while True:
            if len(kind_raw) < 4:
                if kind_raw:
                    raise MalformedPacket("file cut short in a block header", start)
                return
            length_raw = self._read(4)
            if len(length_raw) < 4:
                raise MalformedPacket("file cut short in a block header", start)
            if kind_raw == b"\x0a\x0d\x0d\x0a":  # a Section Header Block (a palindrome)
                # A new section: its own byte order and interfaces.
                magic = self._read(4)
                if magic == struct.pack("<I", _BYTE_ORDER_MAGIC):
                    order = "<"
                elif magic == struct.pack(">I", _BYTE_ORDER_MAGIC):
                    order = ">"
                elif len(magic) < 4:
                    raise MalformedPacket("file cut short in a section header", start)
                else:
                    raise MalformedPacket("pcapng section header: bad byte-order magic",
                                          start + 8)
                interfaces = []
                total = struct.unpack(order + "I", length_raw)[0]
                body = magic + self._body(total, 12, start, "a section header", minimum=28)
                major = struct.unpack_from(order + "H", body, 4)[0]
                if major != 1:
                    raise MalformedPacket(f"pcapng version {major} is not read", start + 12)
            else:
                kind = struct.unpack(order + "I", kind_raw)[0]
                total = struct.unpack(order + "I", length_raw)[0]
                if kind in _PACKET_BLOCKS:
                    number += 1
                    body = self._body(total, 8, start, f"packet {number}",
                                      minimum=_PACKET_BLOCKS[kind], limit=MAX_RECORD + 4096)
                    packet = self._packet(kind, body, order, interfaces, start, number)
                    if packet is None:
                        self.skipped += 1
                    else:
                        yield packet
                elif kind == _IDB:
                    body = self._body(total, 8, start, "an interface description", minimum=20)
                    interfaces.append(_interface(body, order, start))
                else:
                    self._body(total, 8, start, "a block", minimum=12)
            start = self._offset
            kind_raw = self._read(4)

    def _body(self, total: int, read: int, start: int, what: str, *, minimum: int,
              limit: int = MAX_BLOCK) -> bytes:
        """The rest of a block of ``total`` bytes whose first ``read`` are read, without its
        trailing length."""
        if total % 4 or total < minimum:
            raise MalformedPacket(f"pcapng block length {total} is not valid", start + 4)
        if total > limit:
            raise MalformedPacket(f"pcapng block of {total} bytes, more than {limit}: corrupt",
                                  start + 4)
        rest = total - read
        data = self._read(rest)
        if len(data) < rest:
            raise MalformedPacket(
                f"file cut short in the middle of {what}: {len(data) + read} of {total} bytes",
                start)
        return data[:-4]

    def _packet(self, kind: int, body: bytes, order: str, interfaces: list[_Interface],
                start: int, number: int) -> CapturedPacket | None:
        if kind == _SPB:
            # A Simple Packet Block belongs to interface 0 and has no timestamp.
            if not interfaces:
                raise MalformedPacket(f"packet {number} before any interface", start)
            interface = interfaces[0]
            (original,) = struct.unpack_from(order + "I", body)
            captured = min(original, len(body) - 4)
            if interface.snaplen:
                captured = min(captured, interface.snaplen)
            frame = body[4:4 + captured]
            ticks = None
        else:
            if kind == _EPB:
                ident, high, low, captured, _orig = struct.unpack_from(order + "IIIII", body)
            else:  # obsolete Packet Block: a 16-bit interface id and a drops count
                ident, _drops, high, low, captured, _orig = struct.unpack_from(
                    order + "HHIIII", body)
            if ident >= len(interfaces):
                raise MalformedPacket(
                    f"packet {number} on interface {ident}, which is not described", start + 8)
            if 20 + captured > len(body):
                raise MalformedPacket(
                    f"packet {number}: {captured} captured bytes do not fit its block", start)
            interface = interfaces[ident]
            frame = body[20:20 + captured]
            ticks = (high << 32) | low
        payload = _strip_link_layer(frame, interface.linktype)
        if payload is None:
            return None
        timestamp = 0.0 if ticks is None else (
            ticks / interface.ticks_per_second + interface.offset)
        return CapturedPacket(timestamp=timestamp, data=payload, interface=interface.name,
                              number=number)


def _interface(body: bytes, order: str, start: int) -> _Interface:
    """An Interface Description Block's link type, name, timestamp resolution and offset."""
    if len(body) < 8:
        raise MalformedPacket("pcapng interface description too short", start)
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body)
    name: str | None = None
    ticks, offset = 1_000_000, 0
    position = 8
    while position + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, position)
        value = body[position + 4:position + 4 + size]
        if len(value) < size:
            raise MalformedPacket("pcapng interface option runs past its block", start)
        position += 4 + size + (-size % 4)
        if code == _OPT_END:
            break
        if code == _IF_NAME:
            name = value.decode("utf-8", "replace").rstrip("\0")
        elif code == _IF_TSRESOL and size >= 1:
            # MSB clear: a negative power of 10; set: a negative power of 2.
            exponent = value[0] & 0x7F
            if exponent > 63:
                raise MalformedPacket(f"pcapng timestamp resolution 2^-{exponent}", start)
            ticks = 2 ** exponent if value[0] & 0x80 else 10 ** min(exponent, 18)
        elif code == _IF_TSOFFSET and size >= 8:
            offset = struct.unpack_from(order + "q", value)[0]
    return _Interface(linktype=linktype,
                      name=name, ticks_per_second=ticks, offset=offset, snaplen=snaplen)


def _strip_link_layer(frame: bytes, linktype: int) -> bytes | None:
    """Return the IPv6 packet inside ``frame``, or None if the frame carries something else."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14 or int.from_bytes(frame[12:14], "big") != _ETHERTYPE_IPV6:
            return None
        return frame[14:]
    if linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16 or int.from_bytes(frame[14:16], "big") != _ETHERTYPE_IPV6:
            return None
        return frame[16:]
    if linktype not in (LINKTYPE_RAW, LINKTYPE_IPV6):
        return None  # an interface whose link type is not read
    if not frame or frame[0] >> 4 != 6:
        return None  # LINKTYPE_RAW may also carry IPv4
    return frame
