"""Frames: packets as objects, bytes only where used, and identical runs either way."""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.sim.compare import compare, results_to_dict
from mipshop.sim.frame import Frame, with_hop_limit
from mipshop.sim.scenario import load_scenario, reference_scenario, scenario_from_dict
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet, encode_packet
from mipshop.wire.pcap import read_pcap
from tests.wire.test_ipv6 import packets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SRC, DST = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")


def _udp(hop_limit: int = 64) -> IPv6Packet:
    return IPv6Packet(src=SRC, dst=DST, hop_limit=hop_limit,
                      payload=UDPDatagram(src_port=1, dst_port=2, data=b"x" * 20))


@settings(max_examples=200)
@given(packets(), st.integers(1, 255))
def test_a_frame_is_its_packet_at_any_hop_limit(packet: IPv6Packet, hop_limit: int) -> None:
    frame = Frame(packet, hop_limit, packet.dst.packed)
    expected = dataclasses.replace(packet, hop_limit=hop_limit)
    assert frame.size == len(encode_packet(packet))
    assert frame.data == encode_packet(expected)
    assert frame.decoded() == expected
    assert with_hop_limit(packet, hop_limit) == expected


def test_forwarded_copies_share_one_encoding_and_lower_the_hop_limit() -> None:
    frame = Frame.of(_udp())
    assert frame._encoded is None  # nothing encoded until someone asks
    first = frame.data
    copy = frame.forwarded().forwarded()
    assert copy._encoded is first and copy.hop_limit == 62 and copy.data[7] == 62
    assert decode_packet(copy.data) == copy.decoded() == _udp(62)
    assert frame.data[7] == 64 and frame.decoded() is frame.packet


def test_bytes_mode_encodes_at_the_sender() -> None:
    frame = Frame.of(_udp(), encode=True)
    assert frame._encoded == encode_packet(_udp()) and frame.size == len(frame._encoded)


def test_raw_bytes_travel_without_an_object() -> None:
    data = encode_packet(_udp(9))
    frame = Frame.from_bytes(data)
    assert frame.packet is None and frame.dst == DST.packed and frame.hop_limit == 9
    assert frame.forwarded().data == encode_packet(_udp(8))
    assert frame.decoded() == _udp(9)


def _small_campus() -> object:
    return scenario_from_dict({
        "mobile_nodes": 6,
        "movement": {"model": "random_waypoint", "grid_columns": 3, "grid_rows": 2,
                     "cell_m": 20.0, "speed_min_mps": 2.0, "speed_max_mps": 4.0,
                     "duration_s": 12.0},
        "address": {"optimistic_dad": True},
    })


CASES = {
    "reference": (lambda: reference_scenario(), 1),
    "lossy-wifi": (lambda: load_scenario(EXAMPLES / "lossy-wifi.toml"), 3),
    "slow-scan": (lambda: load_scenario(EXAMPLES / "slow-scan.toml"), 1),
    "small-campus": (_small_campus, 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_objects_and_bytes_on_every_link_give_identical_json(name: str) -> None:
    make, seed = CASES[name]
    scenario = make()
    runs = []
    for wire_bytes in (False, True):
        results = compare(scenario, seed=seed, wire_bytes=wire_bytes)  # type: ignore[arg-type]
        data = results_to_dict(scenario, results, seed=seed)  # type: ignore[arg-type]
        data["traces"] = [list(r.trace) for r in results]
        runs.append(json.dumps(data, sort_keys=True))
    assert runs[0] == runs[1]
    assert '"handovers": 0' not in runs[0]


def test_captures_are_the_same_bytes_either_way(tmp_path: Path) -> None:
    scenario = reference_scenario()
    files = []
    for wire_bytes in (False, True):
        folder = tmp_path / str(wire_bytes)
        folder.mkdir()  # the capture directory must exist (run_protocol creates none)
        compare(scenario, seed=1, protocols=("fhmipv6",), capture_dir=folder,
                wire_bytes=wire_bytes)
        files.append(sorted(folder.iterdir()))
    assert [f.name for f in files[0]] == [f.name for f in files[1]]
    for a, b in zip(files[0], files[1], strict=True):
        first, second = read_pcap(a), read_pcap(b)
        assert len(first) > 1000 and [p.data for p in first] == [p.data for p in second]
        assert [p.interface for p in first] == [p.interface for p in second]
