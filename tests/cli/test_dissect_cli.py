"""``mipshop dissect``: text and JSON output, and what it does with bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mipshop.cli.main import main
from mipshop.wire.pcap import CapturedPacket, read_pcap, write_pcap, write_pcapng

SAMPLE = Path(__file__).parents[2] / "examples" / "captures" / "all-messages.pcap"


def test_text_output_names_every_layer(capsys) -> None:
    assert main(["dissect", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    for name in (
        "binding_update",
        "fast_binding_update",
        "handover_initiate",
        "router_solicitation_for_proxy",
        "map_option",
        "home_address_option",
    ):
        assert name in out


def test_json_uses_rfc_field_names_flag_letters_and_seconds(capsys) -> None:
    assert main(["dissect", "--json", str(SAMPLE)]) == 0
    packets = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(packets) == len(read_pcap(SAMPLE))
    assert all(p["checksum_ok"] for p in packets)
    home_bu = next(
        layer
        for p in packets
        for layer in p["layers"]
        if layer["name"] == "binding_update" and layer["sequence"] == 1000
    )
    assert home_bu["flags"]["A"] is True and home_bu["flags"]["H"] is True
    assert home_bu["flags"]["M"] is False
    assert home_bu["lifetime"] == 400  # seconds (100 units of 4 s on the wire)
    assert home_bu["options"][0] == {
        "name": "alternate_care_of_address",
        "option_type": 3,
        "address": "2001:db8:41::200",
    }


def test_a_malformed_packet_is_reported_and_the_rest_dissected(tmp_path: Path, capsys) -> None:
    good = read_pcap(SAMPLE)[0]
    capture = tmp_path / "mixed.pcap"
    write_pcap(capture, [CapturedPacket(timestamp=0.0, data=good.data[:45]), good])
    assert main(["dissect", "--json", str(capture)]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["error"].startswith("payload length") and first["error_offset"] == 4
    assert second["layers"][0]["name"] == "ipv6"


def test_a_bad_checksum_is_flagged_not_fatal(tmp_path: Path, capsys) -> None:
    good = read_pcap(SAMPLE)[5].data
    broken = good[:-1] + bytes([good[-1] ^ 0xFF])
    capture = tmp_path / "bad-checksum.pcap"
    write_pcap(capture, [CapturedPacket(timestamp=0.0, data=broken)])
    assert main(["dissect", str(capture)]) == 0
    assert "[bad checksum]" in capsys.readouterr().out


def test_a_capture_cut_short_prints_every_complete_packet_then_the_error(
        tmp_path: Path, capsys) -> None:
    """As tshark does: the packets before the cut, then one line saying where it was cut."""
    packets = read_pcap(SAMPLE)[:3]
    whole = tmp_path / "whole.pcap"
    write_pcap(whole, packets)
    data = whole.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - len(packets[2].data) // 2])  # mid-way through the third
    assert main(["dissect", "--json", str(cut)]) == 2
    out, err = capsys.readouterr()
    printed = [json.loads(line) for line in out.splitlines()]
    assert [p["number"] for p in printed] == [1, 2]
    assert all("layers" in p for p in printed)
    assert err.count("\n") == 1
    assert "file cut short in the middle of record 3" in err and str(cut) in err
    # The text output too, and a cut inside a record header.
    cut.write_bytes(data[: 24 + 16 + len(packets[0].data) + 7])
    assert main(["dissect", str(cut)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("#1 ") and "#2 " not in out
    assert "cut short in the header of record 2: 7 of 16 bytes" in err


def test_pcapng_shows_the_interface_each_copy_crossed(tmp_path: Path, capsys) -> None:
    packets = read_pcap(SAMPLE)[:2]
    capture = tmp_path / "links.pcapng"
    write_pcapng(capture, [CapturedPacket(timestamp=1.0, data=packets[0].data, interface="bss1"),
                           CapturedPacket(timestamp=1.5, data=packets[0].data,
                                          interface="ar1-map"),
                           CapturedPacket(timestamp=2.0, data=packets[1].data)],
                 interfaces=["bss1", "ar1-map"])
    assert main(["dissect", str(capture)]) == 0
    heads = [line for line in capsys.readouterr().out.splitlines() if line.startswith("#")]
    assert heads == ["#1 t=1.000000 on bss1", "#2 t=1.500000 on ar1-map",
                     "#3 t=2.000000 on bss1"]
    assert main(["dissect", "--json", str(capture)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["interface"] for row in rows] == ["bss1", "ar1-map", "bss1"]


@pytest.mark.tshark
def test_a_pcapng_from_editcap_dissects_like_the_pcap(tmp_path: Path, capsys) -> None:
    converted = tmp_path / "sample.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(SAMPLE), str(converted)], check=True)
    assert main(["dissect", "--json", str(SAMPLE)]) == 0
    original = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["dissect", "--json", str(converted)]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # editcap names no interface; everything else is the same.
    assert again == original


def _ethernet_pcap(frames: list[bytes]) -> bytes:
    """A classic microsecond pcap of Ethernet frames (link type 1), laid out by hand."""
    import struct

    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for k, frame in enumerate(frames):
        out += struct.pack("<IIII", k, 0, len(frame), len(frame)) + frame
    return out


def test_packets_keep_their_frame_numbers_and_the_others_are_counted(tmp_path: Path,
                                                                     capsys) -> None:
    # Frames without IPv6 (ARP, IPv4) are not shown, but the packets keep the numbers they
    # have in the file, as Wireshark shows them, and the text says how many were left out.
    ipv6 = read_pcap(SAMPLE)[0].data
    macs = bytes.fromhex("ffffffffffff020000000001")
    frames = [macs + b"\x08\x06" + bytes(28), macs + b"\x86\xdd" + ipv6,
              macs + b"\x08\x00" + bytes.fromhex("4500001c") + bytes(16), macs + b"\x86\xdd" + ipv6]
    capture = tmp_path / "mixed.pcap"
    capture.write_bytes(_ethernet_pcap(frames))
    assert main(["dissect", "--json", str(capture)]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["number"] for e in entries] == [2, 4]
    assert main(["dissect", str(capture)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("#")] == ["#2", "#4"]
    assert out.splitlines()[-1] == "(2 frames without an IPv6 packet not shown)"
