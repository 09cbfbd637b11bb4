"""pcap files (the classic libpcap format) holding IPv6 packets.

mipshop writes link type 229, LINKTYPE_IPV6 (raw IPv6, no link-layer header), which Wireshark
and tshark read. The reader also accepts LINKTYPE_RAW (101), Ethernet (1) and Linux cooked
capture (113), keeping only the IPv6 packets, so that captures taken on the testbed's veth
links with tshark or a packet socket can be read back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import MalformedPacket

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV6 = 229

_MAGIC_MICRO = 0xA1B2C3D4
_MAGIC_NANO = 0xA1B23C4D
_SNAPLEN = 262144
_ETHERTYPE_IPV6 = 0x86DD


@dataclass(frozen=True, kw_only=True, slots=True)
class CapturedPacket:
    """One record of a capture: its timestamp in seconds and the IPv6 packet's bytes."""

    timestamp: float
    data: bytes


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


def read_pcap(source: str | Path | BinaryIO) -> list[CapturedPacket]:
    """Read every IPv6 packet of a pcap file (link types 1, 101, 113 and 229)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return list(iter_pcap(handle.read()))
    return list(iter_pcap(source.read()))


def iter_pcap(data: bytes) -> Iterator[CapturedPacket]:
    """Yield the IPv6 packets of the pcap held in ``data``; raises :class:`MalformedPacket`."""
    if len(data) < 24:
        raise MalformedPacket("pcap global header truncated", len(data))
    magic_le = struct.unpack_from("<I", data)[0]
    if magic_le in (_MAGIC_MICRO, _MAGIC_NANO):
        order = "<"
        magic = magic_le
    else:
        magic = struct.unpack_from(">I", data)[0]
        if magic not in (_MAGIC_MICRO, _MAGIC_NANO):
            raise MalformedPacket(
                "not a pcap file (pcapng is not supported; convert with editcap -F pcap)", 0
            )
        order = ">"
    divisor = 1_000_000_000 if magic == _MAGIC_NANO else 1_000_000
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_IPV6):
        raise MalformedPacket(f"unsupported pcap link type {linktype}", 20)
    record = struct.Struct(order + "IIII")
    offset = 24
    while offset < len(data):
        if offset + 16 > len(data):
            raise MalformedPacket("pcap record header truncated", offset)
        seconds, fraction, captured, _original = record.unpack_from(data, offset)
        start = offset + 16
        end = start + captured
        if end > len(data):
            raise MalformedPacket("pcap record truncated", offset + 8)
        frame = data[start:end]
        offset = end
        payload = _strip_link_layer(frame, linktype)
        if payload is not None:
            yield CapturedPacket(timestamp=seconds + fraction / divisor, data=payload)


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
    if not frame or frame[0] >> 4 != 6:
        return None  # LINKTYPE_RAW may also carry IPv4
    return frame
