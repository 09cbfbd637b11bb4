"""pcap read/write: link types, byte orders, timestamps, truncation."""

import io
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.pcap import CapturedPacket, iter_pcap, read_pcap, write_pcap

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
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng"),
        (_pcap(147, []), "link type 147"),
        (b"short", "truncated"),
    ],
)
def test_unreadable_files_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket, match=reason):
        list(iter_pcap(data))
