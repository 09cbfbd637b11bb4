"""A city's calls at any size: each call's uplink has its own port at the correspondent
(numbered by call, not by node), and a run with more calls than ports is refused up front,
by the scenario loader, by ``run_protocol`` and by ``bench/scale.py`` (issue 15)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.sim.compare import _build, _Mobile, _traffic, run_protocol, uplink_port
from mipshop.sim.scenario import (
    MAX_CALLS,
    UPLINK_BASE_PORT,
    ScenarioError,
    check_calls,
    load_scenario,
    scenario_from_dict,
)

ROOT = Path(__file__).parents[2]
CITY = load_scenario(ROOT / "examples" / "city.toml")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scale_bench", ROOT / "bench" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_bench"] = module
    spec.loader.exec_module(module)
    return module


# (node index, call_every, its uplink's port at the correspondent)
PORTS = [
    (0, 1, 20_000),
    (1, 1, 20_001),
    (45_535, 1, 65_535),
    (0, 100, 20_000),
    (100, 100, 20_001),
    # The node whose call failed the 100,000-node city (20,000 + 45,600 > 65,535).
    (45_600, 100, 20_456),
    (99_900, 100, 20_999),
    (4_553_500, 100, 65_535),
    (21, 3, 20_007),
]


@pytest.mark.parametrize(("index", "every", "port"), PORTS)
def test_each_call_has_its_port(index: int, every: int, port: int) -> None:
    assert uplink_port(index, every) == port


@pytest.mark.parametrize(("index", "every"), [(45_536, 1), (4_553_600, 100), (150, 100),
                                              (1, 2)])
def test_no_port_for_a_node_without_a_call_or_past_the_last(index: int, every: int) -> None:
    with pytest.raises(ValueError, match=f"mobile node {index} carries no call"):
        uplink_port(index, every)


@settings(max_examples=60, deadline=None)
@given(every=st.integers(1, 1_000), calls=st.integers(1, MAX_CALLS))
def test_the_calls_of_an_accepted_run_have_distinct_ports(every: int, calls: int) -> None:
    nodes = calls * every
    check_calls(replace(CITY, mobile_nodes=nodes,
                        traffic=replace(CITY.traffic, call_every=every)))
    ports = [uplink_port(i, every) for i in range(0, nodes, every)]
    assert len(set(ports)) == len(ports) == calls
    assert min(ports) == UPLINK_BASE_PORT and max(ports) <= 0xFFFF


def test_a_call_numbered_past_the_old_rule_gets_a_port_it_can_send_from() -> None:
    """Node 45,600 of a city calls (one node in a hundred); 20,000 + 45,600 is no port."""
    world = _build(replace(CITY, mobile_nodes=1), "hmipv6", 1, capture=False)
    first = world.mobiles[0]
    cn = next(n for n in world.network.nodes.values() if n.name == "cn")
    far = _Mobile(45_600, first.node, first.entity, first.station)
    _traffic(world.scenario, world.network, far, cn, cn.send, world.recorder, False)
    assert far.uplink is not None and far.up_receiver is not None
    assert far.uplink.dst_port == far.uplink.src_port == far.up_receiver.port == 20_456
    assert first.uplink is not None and first.uplink.dst_port == 20_000
    far.uplink._emit()  # builds the datagram: a port past 65535 raises here
    assert far.uplink.sent == 1


# (mobile nodes, call_every, uplink, refused)
CALLS = [
    (45_536, 1, True, False),
    (45_537, 1, True, True),
    (45_537, 1, False, False),
    (100_000, 100, True, False),
    (100_000, 2, True, True),
    (100_000, 3, True, False),
    (1_000_000, 22, True, False),
    (1_000_000, 21, True, True),
]


@pytest.mark.parametrize(("nodes", "every", "uplink", "refused"), CALLS)
def test_the_loader_refuses_more_calls_than_ports(nodes: int, every: int, uplink: bool,
                                                 refused: bool) -> None:
    data = {"mobile_nodes": nodes, "traffic": {"call_every": every, "uplink": uplink}}
    if not refused:
        assert scenario_from_dict(data).calls == -(-nodes // every)
        return
    with pytest.raises(ScenarioError, match=(
            f"traffic.call_every: {nodes} mobile nodes with a call on every {every} make "
            f"{-(-nodes // every)} calls, more than the correspondent's {MAX_CALLS} uplink "
            f"ports")):
        scenario_from_dict(data)


def test_run_protocol_refuses_before_building() -> None:
    """A scenario sized after loading (``dataclasses.replace``) skips the loader's check:
    ``run_protocol`` makes it before building 45,537 nodes."""
    many = replace(CITY, mobile_nodes=45_537, traffic=replace(CITY.traffic, call_every=1))
    with pytest.raises(ScenarioError, match="45537 calls"):
        run_protocol(many, "hmipv6", seed=1)


def test_the_bench_exits_2_before_running(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    every_other = tmp_path / "every-other.toml"
    every_other.write_text((ROOT / "examples" / "city.toml").read_text().replace(
        "call_every = 100", "call_every = 2"))
    status = bench.main(["--json", "--mobile-nodes", "100000", "--protocols", "hmipv6",
                         "--scenario", str(every_other)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        "scale.py: error: traffic.call_every: 100000 mobile nodes with a call on every 2 make "
        f"50000 calls, more than the correspondent's {MAX_CALLS} uplink ports "
        "(20000..65535); set traffic.call_every to at least 3, fewer mobile nodes, or "
        "traffic.uplink = false"]
    # The city itself at 100,000 nodes (1,000 calls) passes the same check.
    assert bench.sized(ROOT / "examples" / "city.toml", 100_000, 60.0).calls == 1_000


def test_the_bench_prints_progress_on_stderr_and_its_json_on_stdout() -> None:
    """A long run shows progress (a line per ``--progress-every`` seconds, passed on from the
    child process) while standard output stays one JSON object; bad values exit 2."""
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--json", "--mobile-nodes",
               "200", "--protocols", "hmipv6", "--duration", "30", "--progress-every", "0.05"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["results"]
    assert row["protocol"] == "hmipv6" and row["mobile_nodes"] == 200
    progress = done.stderr.splitlines()
    assert progress and all(re.fullmatch(
        r"scale\.py: hmipv6: simulated [\d,]+ of 31 s, [\d,]+ s wall, [\d,]+ s CPU, "
        r"RSS [\d,]+ MiB", line) for line in progress), progress
    for bad in ("-1", "nan", "inf", "soon"):
        refused = subprocess.run([*command[:-1], bad], capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode == 2
        assert "--progress-every" in refused.stderr and "Traceback" not in refused.stderr
