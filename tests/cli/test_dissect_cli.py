"""``mipshop dissect``: text and JSON output, and what it does with bad input."""

from __future__ import annotations

import json
from pathlib import Path

from mipshop.cli.main import main
from mipshop.wire.pcap import CapturedPacket, read_pcap, write_pcap

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


def test_json_uses_digest_names_flag_letters_and_seconds(capsys) -> None:
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


def test_files_that_are_not_captures(tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a capture file at all\n")
    assert main(["dissect", str(text)]) == 2
    assert "not a usable pcap file" in capsys.readouterr().err
    assert main(["dissect", str(tmp_path / "missing.pcap")]) == 2
    assert "no such file" in capsys.readouterr().err
