"""pcap and pcapng read/write: link types, byte orders, interfaces, timestamps, truncation."""

import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.pcap import (
    MAX_RECORD,
    CapturedPacket,
    CaptureReader,
    iter_pcap,
    read_pcap,
    write_pcap,
    write_pcapng,
)

IPV6_BYTES = bytes([0x60]) + bytes(39)


@given(
    st.lists(
        st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 999_999), st.binary(min_size=1)),
        max_size=8,
    )
)
def test_write_then_read_keeps_data_and_microsecond_timestamps(records) -> None:
    packets = [
        CapturedPacket(timestamp=s + us / 1e6, data=bytes([0x60]) + data) for s, us, data in records
    ]
    buffer = io.BytesIO()
    assert write_pcap(buffer, packets) == len(packets)
    back = read_pcap(io.BytesIO(buffer.getvalue()))
    assert [p.data for p in back] == [p.data for p in packets]
    for (s, us, _), packet in zip(records, back, strict=True):
        assert round(packet.timestamp * 1e6) == s * 1_000_000 + us


def test_header_is_linktype_ipv6_little_endian() -> None:
    buffer = io.BytesIO()
    write_pcap(buffer, [])
    assert struct.unpack("<IHHiIII", buffer.getvalue()) == (0xA1B2C3D4, 2, 4, 0, 0, 262144, 229)


def _pcap(linktype: int, frames: list[bytes], order: str = "<", magic: int = 0xA1B2C3D4) -> bytes:
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for index, frame in enumerate(frames):
        out += struct.pack(order + "IIII", 10, index * 1000, len(frame), len(frame)) + frame
    return out


@pytest.mark.parametrize(
    ("linktype", "frame", "expected"),
    [
        (1, bytes(12) + b"\x86\xdd" + IPV6_BYTES, IPV6_BYTES),  # Ethernet carrying IPv6
        (1, bytes(12) + b"\x08\x00" + bytes(20), None),  # Ethernet carrying IPv4: skipped
        (113, bytes(14) + b"\x86\xdd" + IPV6_BYTES, IPV6_BYTES),  # Linux cooked capture
        (101, IPV6_BYTES, IPV6_BYTES),
        (101, bytes([0x45]) + bytes(19), None),  # raw IPv4: skipped
        (229, IPV6_BYTES, IPV6_BYTES),
    ],
)
def test_link_types(linktype: int, frame: bytes, expected: bytes | None) -> None:
    packets = list(iter_pcap(_pcap(linktype, [frame])))
    assert [p.data for p in packets] == ([expected] if expected else [])


def test_big_endian_and_nanosecond_files() -> None:
    data = _pcap(229, [IPV6_BYTES, IPV6_BYTES], order=">", magic=0xA1B23C4D)
    first, second = iter_pcap(data)
    assert first.timestamp == 10.0
    assert second.timestamp == pytest.approx(10.000001)  # 1000 ns


def test_every_truncation_raises_malformed_packet_only() -> None:
    data = _pcap(229, [IPV6_BYTES, IPV6_BYTES])
    whole = list(iter_pcap(data))
    boundaries = {24: 0, 24 + 16 + 40: 1}
    for cut in range(len(data)):
        if cut in boundaries:  # a file cut between records is a shorter valid file
            assert list(iter_pcap(data[:cut])) == whole[: boundaries[cut]]
        else:
            with pytest.raises(MalformedPacket):
                list(iter_pcap(data[:cut]))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng section header: bad byte-order magic"),
        (_pcap(147, []), "link type 147"),
        (b"short", "not a pcap or pcapng file"),
        (b"abc", "shorter than any header"),
        (b"\xd4\xc3\xb2\xa1" + bytes(8), "pcap global header truncated"),
    ],
)
def test_unreadable_files_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket, match=reason):
        list(iter_pcap(data))


def _collect(data: bytes) -> tuple[list[CapturedPacket], MalformedPacket | None]:
    """What a streaming reader yields before it raises, and what it raises."""
    got: list[CapturedPacket] = []
    try:
        for packet in CaptureReader(io.BytesIO(data)):
            got.append(packet)
    except MalformedPacket as exc:
        return got, exc
    return got, None


def test_a_truncated_pcap_yields_every_complete_record_before_the_error() -> None:
    frames = [IPV6_BYTES + bytes([k]) for k in range(3)]
    data = _pcap(229, frames)
    ends = [24 + sum(16 + len(f) for f in frames[: k + 1]) for k in range(3)]
    for cut in range(24, len(data)):
        got, error = _collect(data[:cut])
        complete = sum(1 for end in ends if end <= cut)
        assert [p.data for p in got] == frames[:complete], cut
        assert (error is None) == (cut in (24, *ends)), cut
        if error is not None:
            assert "cut short" in error.reason and error.offset >= 24


def test_a_record_longer_than_any_packet_is_corrupt_and_not_read() -> None:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 229)
    data = header + struct.pack("<IIII", 0, 0, 0xFFFFFFF0, 0xFFFFFFF0)
    with pytest.raises(MalformedPacket, match=f"more than {MAX_RECORD}: corrupt"):
        list(iter_pcap(data))


# -- pcapng, laid out by hand from the pcapng specification --------------------------------------


def _block(order: str, kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack(order + "II", kind, 12 + len(body)) + body + struct.pack(
        order + "I", 12 + len(body))


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def _shb(order: str) -> bytes:
    return _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def _idb(order: str, linktype: int, name: bytes | None = None, tsresol: int | None = None,
         tsoffset: int | None = None) -> bytes:
    options = b""
    if name is not None:
        options += _option(order, 2, name)
    if tsresol is not None:
        options += _option(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        options += _option(order, 14, struct.pack(order + "q", tsoffset))
    if options:
        options += struct.pack(order + "HH", 0, 0)
    return _block(order, 1, struct.pack(order + "HHI", linktype, 0, 0) + options)


def _epb(order: str, interface: int, ticks: int, frame: bytes) -> bytes:
    return _block(order, 6, struct.pack(order + "IIIII", interface, ticks >> 32,
                                        ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame)


ETHERNET_IPV6 = bytes(12) + b"\x86\xdd" + IPV6_BYTES


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_link_types_names_and_resolutions(order: str) -> None:
    other = IPV6_BYTES[:-1] + b"\x07"
    data = (
        _shb(order)
        + _idb(order, 1, b"eth0")  # Ethernet, microseconds (the default)
        + _idb(order, 229, b"bss1", tsresol=9, tsoffset=100)  # raw IPv6, nanoseconds
        + _idb(order, 229, None, tsresol=0x80 | 10)  # 2^-10 s ticks, no name
        + _idb(order, 187)  # Bluetooth HCI: not read
        + _block(order, 4, bytes(8))  # name resolution block: skipped
        + _epb(order, 0, 1_500_000, ETHERNET_IPV6)
        + _epb(order, 1, 2_000_000_000, other)
        + _epb(order, 2, 3 * 1024, IPV6_BYTES)
        + _epb(order, 3, 0, b"\x01\x02\x03")
        + _epb(order, 0, 0, bytes(12) + b"\x08\x00" + bytes(20))  # IPv4: skipped
        + _block(order, 5, bytes(12))  # interface statistics: skipped
    )
    reader = CaptureReader(io.BytesIO(data))
    packets = list(reader)
    assert reader.format == "pcapng" and reader.skipped == 2
    assert [(p.interface, p.data, p.timestamp) for p in packets] == [
        ("eth0", IPV6_BYTES, 1.5),
        ("bss1", other, 102.0),
        (None, IPV6_BYTES, 3.0),
    ]


def test_pcapng_simple_and_obsolete_packet_blocks_and_a_second_section() -> None:
    spb = _block(">", 3, struct.pack(">I", len(IPV6_BYTES)) + IPV6_BYTES)
    opb = _block(">", 2, struct.pack(">HHIIII", 0, 0, 0, 5_000_000, 40, 40) + IPV6_BYTES)
    data = (_shb(">") + _idb(">", 101, b"a") + spb + opb
            + _shb("<") + _idb("<", 229, b"b") + _epb("<", 0, 0, IPV6_BYTES))
    packets = read_pcap(io.BytesIO(data))
    assert [(p.interface, p.timestamp) for p in packets] == [("a", 0.0), ("a", 5.0), ("b", 0.0)]


@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        (_idb("<", 229) + _epb("<", 1, 0, IPV6_BYTES), "interface 1, which is not described"),
        (_block("<", 3, struct.pack("<I", 40) + IPV6_BYTES), "before any interface"),
        (_idb("<", 229) + struct.pack("<II", 6, 30) + bytes(24), "block length 30"),
        (_idb("<", 229) + struct.pack("<II", 6, 1 << 30), "more than"),
        (_idb("<", 229) + _block("<", 6, struct.pack("<IIIII", 0, 0, 0, 99, 99)),
         "do not fit its block"),
    ],
)
def test_corrupt_pcapng_says_why(blocks: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket, match=reason):
        read_pcap(io.BytesIO(_shb("<") + blocks))


def test_a_truncated_pcapng_yields_every_complete_packet_before_the_error() -> None:
    head = _shb(">") + _idb(">", 229, b"l")
    packets = [_epb(">", 0, k, IPV6_BYTES + bytes([k])) for k in range(3)]
    data = head + b"".join(packets)
    ends = [len(head) + sum(len(p) for p in packets[: k + 1]) for k in range(3)]
    for cut in range(len(head), len(data)):
        got, error = _collect(data[:cut])
        assert len(got) == sum(1 for end in ends if end <= cut), cut
        assert (error is None) == (cut in (len(head), *ends)), cut


@given(
    st.lists(
        st.tuples(st.integers(0, 2**40), st.sampled_from(["l1", "l2", "ap-ar1"]),
                  st.binary(max_size=70)),
        max_size=8,
    )
)
def test_write_pcapng_then_read_keeps_interfaces_data_and_timestamps(records) -> None:
    packets = [CapturedPacket(timestamp=micros / 1e6, data=bytes([0x60]) + data, interface=name)
               for micros, name, data in records]
    buffer = io.BytesIO()
    assert write_pcapng(buffer, packets, interfaces=["l1", "l2", "ap-ar1"]) == len(packets)
    back = read_pcap(io.BytesIO(buffer.getvalue()))
    assert [(p.interface, p.data) for p in back] == [(p.interface, p.data) for p in packets]
    for (micros, _name, _data), packet in zip(records, back, strict=True):
        assert round(packet.timestamp * 1e6) == micros


SAMPLE = Path(__file__).parents[2] / "examples" / "captures" / "all-messages.pcap"


@pytest.mark.tshark
def test_a_pcapng_written_by_editcap_reads_as_the_pcap_did(tmp_path: Path) -> None:
    """editcap (Wireshark) writes the pcapng: packets mipshop did not lay out."""
    editcap = shutil.which("editcap")
    assert editcap, "editcap (Wireshark) is needed"
    converted = tmp_path / "sample.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(SAMPLE), str(converted)], check=True)
    assert converted.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    original, again = read_pcap(SAMPLE), read_pcap(converted)
    assert [p.data for p in again] == [p.data for p in original]
    assert [round(p.timestamp, 6) for p in again] == [round(p.timestamp, 6) for p in original]


class _CountingStream(io.RawIOBase):
    """An endless capture: a pcap header, then the same record forever; counts bytes read."""

    def __init__(self, record: bytes) -> None:
        self.header = _pcap(229, [])
        self.record = record
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = len(buffer)
        out = bytearray()
        while len(out) < size:
            at = self.position + len(out)
            if at < len(self.header):
                out += self.header[at:at + size - len(out)]
            else:
                offset = (at - len(self.header)) % len(self.record)
                out += self.record[offset:offset + size - len(out)]
        buffer[:size] = out
        self.position += size
        return size


def test_the_reader_streams_it_reads_only_what_it_yields() -> None:
    """Memory stays bounded whatever the size of the file: each packet is read when it is
    yielded, never the whole file (this stream never ends)."""
    record = struct.pack("<IIII", 1, 0, 40, 40) + IPV6_BYTES
    stream = _CountingStream(record)
    reader = iter(CaptureReader(stream))  # unbuffered: every byte read is counted
    for count in range(1, 1001):
        packet = next(reader)
        assert packet.data == IPV6_BYTES
        assert stream.position == 24 + count * len(record)
