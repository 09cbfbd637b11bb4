"""``mipshop compare`` / ``mipshop simulate`` from the command line: outputs and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mipshop.cli.main import main
from mipshop.sim.compare import PROTOCOLS
from mipshop.wire.ipv6 import decode_packet
from mipshop.wire.pcap import read_pcap

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_compare_writes_json_plot_and_captures(tmp_path: Path, capsys) -> None:
    out = tmp_path / "results.json"
    plot = tmp_path / "figure.png"
    captures = tmp_path / "captures"
    captures.mkdir()
    assert main(["compare", "--json", str(out), "--plot", str(plot), "--pcap", str(captures)]) == 0
    printed = capsys.readouterr().out
    for protocol in PROTOCOLS:
        assert protocol in printed
    document = json.loads(out.read_text())
    assert [r["protocol"] for r in document["results"]] == list(PROTOCOLS)
    rtt = document["scenario"]["rtt_ms"]
    assert set(rtt) >= {"mn_ar", "mn_map", "mn_ha", "mn_cn"}
    assert document["scenario"]["cbr_interval_ms"] > 0
    for result in document["results"]:
        assert set(result) >= {
            "handovers",
            "disruption_ms",
            "phases_ms",
            "packets_sent",
            "packets_lost",
            "packets_buffered",
            "signalling",
            "analytic_disruption_ms",
            "analytic_packets_lost",
        }
        assert set(result["disruption_ms"]) >= {"mean", "p50", "p95", "max"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in captures.iterdir()) == sorted(f"{p}.pcapng" for p in PROTOCOLS)
    for protocol in PROTOCOLS:
        records = read_pcap(captures / f"{protocol}.pcapng")
        assert records
        for record in records:
            decode_packet(record.data)
    # Outputs are written atomically: no temporary file is left beside them.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captures", "figure.png", "results.json"]


def test_simulate_says_simulate_and_labels_what_the_columns_count(capsys) -> None:
    assert main(["simulate", str(EXAMPLES / "slow-scan.toml"), "--protocols", "hmipv6"]) == 0
    out = capsys.readouterr().out
    assert "mipshop simulate: slow-scan" in out and "mipshop compare" not in out
    assert "link crossings" in out and "downlink" in out and "uplink" in out


def test_the_plot_format_follows_the_suffix(tmp_path: Path) -> None:
    figure = tmp_path / "figure.svg"
    assert main(["compare", "--protocols", "fhmipv6", "--plot", str(figure)]) == 0
    assert figure.read_text().lstrip().startswith("<?xml")


def test_same_seed_same_json_byte_for_byte(tmp_path: Path) -> None:
    first, second, other = (tmp_path / name for name in ("a.json", "b.json", "c.json"))
    args = ["compare", "--protocols", "mipv6,fmipv6"]
    assert main([*args, "--seed", "7", "--json", str(first)]) == 0
    assert main([*args, "--seed", "7", "--json", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert main([*args, "--seed", "8", "--json", str(other)]) == 0
    assert json.loads(other.read_text())["seed"] == 8


# The campus and city examples (many mobile nodes, random waypoint, the city for an hour) take
# minutes as written (the city at 1,000 nodes, about eight of them); tests/sim runs them with a
# shortened duration, and the test after this one runs the city through the CLI shortened.
@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.glob("*.toml")
                      if not p.name.startswith(("campus", "city")))
)
def test_simulate_runs_each_small_example(example: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(["simulate", str(EXAMPLES / example), "--protocols", "fmipv6", "--json", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["results"][0]["protocol"] == "fmipv6"


def test_simulate_runs_the_city_example_shortened(tmp_path: Path) -> None:
    text = (EXAMPLES / "city.toml").read_text()
    for key, short in (("mobile_nodes = 1000", "mobile_nodes = 100"),
                       ("duration_s = 3600.0", "duration_s = 300.0")):
        assert key in text  # the example still says so: the shortening applies
        text = text.replace(key, short)
    scenario, out = tmp_path / "city.toml", tmp_path / "r.json"
    scenario.write_text(text)
    assert main(["simulate", str(scenario), "--protocols", "fmipv6", "--json", str(out)]) == 0
    [result] = json.loads(out.read_text())["results"]
    assert result["protocol"] == "fmipv6" and result["handovers"] > 0
