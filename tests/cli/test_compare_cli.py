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
    for protocol in PROTOCOLS:
        records = read_pcap(captures / f"{protocol}.pcapng")
        assert records
        for record in records:
            decode_packet(record.data)


def test_same_seed_same_json_byte_for_byte(tmp_path: Path) -> None:
    first, second, other = (tmp_path / name for name in ("a.json", "b.json", "c.json"))
    args = ["compare", "--protocols", "mipv6,fmipv6"]
    assert main([*args, "--seed", "7", "--json", str(first)]) == 0
    assert main([*args, "--seed", "7", "--json", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert main([*args, "--seed", "8", "--json", str(other)]) == 0
    assert json.loads(other.read_text())["seed"] == 8


# The campus example (many mobile nodes, random waypoint) takes minutes as written; tests/sim
# runs it with a shortened duration.
@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.glob("*.toml") if not p.name.startswith("campus"))
)
def test_simulate_runs_each_small_example(example: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(["simulate", str(EXAMPLES / example), "--protocols", "fmipv6", "--json", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["results"][0]["protocol"] == "fmipv6"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "/nonexistent/scenario.toml"], "no such file"),
        (["compare", "--json", "/nonexistent/dir/out.json"], "does not exist"),
        (["compare", "--plot", "/"], "is a directory"),
    ],
)
def test_bad_paths_give_a_clear_error_and_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_scenario_file_names_the_key(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(EXAMPLES / "reference.toml").read_text() + "\n[bogus]\nkey = 1\n")
    assert main(["simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err and str(bad) in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--seed", "x"], "--seed: must be a whole number"),
        (["compare", "--seed", "-1"], "--seed: must be from 0"),
        (["compare", "--protocols", "mipv7"], "unknown protocol mipv7"),
    ],
)
def test_bad_values_are_refused_by_the_parser(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
