"""The runtime over a real TUN device: one entity, one namespace, UDP echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from mipshop.net.config import load_config, parse_config
from mipshop.net.errors import NetError
from mipshop.net.testbed import NS_PREFIX, run, to_toml
from mipshop.protocol.mipv6.home_agent import HomeAgent

ROOT_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.netns
def test_tun_runtime_echoes_udp_through_an_entity() -> None:
    namespace = f"{NS_PREFIX}{os.getpid()}x0-echo"
    run(["ip", "netns", "add", namespace])
    try:
        env = dict(os.environ, PYTHONPATH=f"{ROOT_DIR}/src{os.pathsep}{ROOT_DIR}")
        result = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.net.echo_helper",
             "20"], capture_output=True, text=True, timeout=30, env=env, cwd=ROOT_DIR)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
    finally:
        run(["ip", "netns", "del", namespace], check=False)
    assert report["received"] == 20
    assert report["max_rtt"] < 0.5
    assert report["events"].count("echo.reply") == 20
    assert report["state"]["runtime_counters"]["transmit"] == 20


def test_config_round_trip_and_unknown_keys(tmp_path: Path) -> None:
    text = to_toml({"daemon": {"name": "ha", "interfaces": ["eth0"]}, "home_agent": {
        "interface": "eth0", "address": "2001:db8:1::1", "prefix": "2001:db8:1::/64",
        "link_layer_address": "00:00:5e:00:01:01", "ra_interval": 1.0,
        "credentials": [{"identifier": "mn1@example.com", "spi": 1000,
                         "key": "00" * 16, "home_address": "2001:db8:1::100"}]}})
    path = tmp_path / "ha.toml"
    path.write_text(text)
    entity = load_config("ha", path).build()
    assert isinstance(entity, HomeAgent)
    assert str(entity.address) == "2001:db8:1::1"
    assert entity.config.credentials[0].security_association.spi == 1000
    with pytest.raises(NetError, match="unknown key 'adress'"):
        parse_config("ha", {"home_agent": {"adress": "x"}}).build()
    with pytest.raises(NetError, match="unknown table"):
        parse_config("mn", {"mobile_nod": {}})
    with pytest.raises(NetError, match="unknown role"):
        parse_config("xx", {})
    with pytest.raises(NetError, match="no configuration file"):
        load_config("ha", tmp_path / "missing.toml")


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text (byte 0x89 at offset 0)"),
    ('[daemon]\nname = "café"\n'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 20)"),
    (b"[daemon\n", "Expected ']'"),
])
def test_a_configuration_that_is_not_toml_is_one_clear_error(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "ha.toml"
    path.write_bytes(content)
    with pytest.raises(NetError) as error:
        load_config("ha", path)
    assert str(error.value).startswith(f"mipshop: config {path}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import mipshop.net.errors as errors
    from mipshop.net.testbed import Testbed

    monkeypatch.setattr(errors.os, "geteuid", lambda: 1000)
    bed = Testbed()
    with pytest.raises(NetError, match=r"^mipshop: the testbed needs root \(CAP_NET_ADMIN\)$"):
        bed.__enter__()
    assert not bed.workdir.exists()


def test_cli_hands_over_to_the_real_packet_commands() -> None:
    from mipshop.cli.main import main

    assert main(["daemon", "ha", "--config", "/nonexistent/ha.toml"]) == 2
    with pytest.raises(SystemExit):
        main(["testbed", "--protocol", "nope"])


@pytest.mark.parametrize("role", ["ha", "map"])
def test_agent_credentials_without_an_address_are_refused(role: str) -> None:
    # RFC 6275 §10.3.1: a key that names no address could register any address of the prefix.
    section = {"ha": {"address": "2001:db8:1::1", "prefix": "2001:db8:1::/64"},
               "map": {"address": "2001:db8:a1::1"}}[role]
    table = {**section, "credentials": [{"identifier": "mn1@example.com", "spi": 1000,
                                         "key": "00" * 16}]}
    name = {"ha": "home_agent", "map": "mobility_anchor_point"}[role]
    with pytest.raises(NetError, match=r"credentials: home_address is required"):
        parse_config(role, {name: table}).build()
    address = "2001:db8:1::100" if role == "ha" else "2001:db8:a1::100"
    table["credentials"][0]["home_address"] = address
    entity = parse_config(role, {name: table}).build()
    assert str(entity.config.credentials[0].home_address) == address


@pytest.mark.parametrize("role", ["ar", "map"])
def test_anchor_handover_keys_must_name_their_owner(role: str) -> None:
    # RFC 5568 §10: a key not bound to its owner's PCoA (RCoA at a MAP) redirects anybody's.
    section, table = {
        "ar": ("access_router", {"address": "2001:db8:10::1", "prefix": "2001:db8:10::/64"}),
        "map": ("mobility_anchor_point", {"address": "2001:db8:a1::1"}),
    }[role]
    key = {"spi": 7777, "key": "00" * 20}
    table = {**table, "fast_handover": {"handover_keys": [key]}}
    with pytest.raises(NetError, match="previous_care_of_address is required"):
        parse_config(role, {section: table}).build()
    key["previous_care_of_address"] = "2001:db8:10::ff:fe00:1"
    entity = parse_config(role, {section: table}).build()
    fast = entity.fast_handover
    config = fast.config
    assert str(config.handover_keys[0].previous_care_of_address) == "2001:db8:10::ff:fe00:1"
    key["pcoa"] = "x"
    with pytest.raises(NetError, match=r"unknown key\(s\) \['pcoa'\]"):
        parse_config(role, {section: table}).build()


def test_router_keys_are_required_for_every_fast_handover_neighbour() -> None:
    # RFC 5568 §10: HI/HAck with a neighbour are authenticated with the pair's key.
    neighbour = {"access_points": ["00005e00aa03"], "link_layer_address": "00:00:5e:00:01:03",
                 "address": "2001:db8:20::1", "prefix": "2001:db8:20::/64"}
    table = {"address": "2001:db8:10::1", "prefix": "2001:db8:10::/64",
             "fast_handover": {"neighbors": [neighbour]}}
    with pytest.raises(NetError, match="has no router key"):
        parse_config("ar", {"access_router": table}).build()
    key = {"peer": "2001:db8:20::1", "spi": 300, "key": "11" * 16}
    table["fast_handover"]["router_keys"] = [key]
    entity = parse_config("ar", {"access_router": table}).build(wall_clock_offset=5.0)
    config = entity.fast_handover.config
    assert config.router_keys[0].security_association.spi == 300
    assert config.wall_clock_offset == 5.0
    del key["spi"]
    with pytest.raises(NetError, match=r"missing key\(s\) \[.spi.\]"):
        parse_config("ar", {"access_router": table}).build()


def test_state_reports_refusals_and_table_sizes() -> None:
    # What the control socket's "state" command returns (Runtime.state), after a flood.
    from mipshop.net.runtime import Runtime
    from mipshop.wire.ipv6 import IPv6Packet
    from mipshop.wire.mh import UnknownMobilityMessage

    config = parse_config("ha", {"daemon": {"name": "ha", "interfaces": ["eth0"]}, "home_agent": {
        "interface": "eth0", "address": "2001:db8:1::1", "prefix": "2001:db8:1::/64"}})
    entity = config.build(wall_clock_offset=0.0)
    runtime = Runtime(entity, config.settings)
    ha = IPv6Address("2001:db8:1::1")
    for i in range(5000):
        entity.receive(IPv6Packet(src=IPv6Address(f"2001:db8:2::{i + 1:x}"), dst=ha,
                                  payload=UnknownMobilityMessage(mh_type=99, data=bytes(10))),
                       "eth0", 1.0 + i * 1e-4)
        entity.pull_actions()
    state = json.loads(json.dumps(runtime.state()))
    assert state["entity_counters"]["drop.reply_rate"] == 5000 - 100
    assert state["tables"]["reply_sources"] == 100
    assert state["tables"]["binding_cache"] == 0 and state["tables"]["pending_dad"] == 0


def test_a_mobile_node_drops_link_local_sourced_packets_off_the_forwarding_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A router's unicast NS, PrRtAdv or NAACK RA from its link-local address to a care-of
    # address reaches the entity from the packet listener; the kernel, which cannot forward a
    # link-local source into the TUN device, would answer it with Destination Unreachable
    # code 2 (tests/conformance/test_mobile_node_clients.py). A blackhole rule for those
    # sources must come before the rule that passes claimed /128s into the TUN device.
    from ipaddress import IPv6Network

    from mipshop.net import runtime as runtime_module
    from mipshop.net.runtime import MN_CLAIMED_RULE_PRIORITY, Runtime

    config = parse_config("mn", {"daemon": {"name": "mn", "interfaces": ["eth0"]},
                                 "mobile_node": {"interface": "eth0",
                                                 "home_address": "2001:db8:1::100",
                                                 "home_prefix": "2001:db8:1::/64",
                                                 "home_agent": "2001:db8:1::1"}})
    entity = config.build(wall_clock_offset=0.0)
    runtime = Runtime(entity, config.settings)
    rules: list[tuple[str, dict[str, object]]] = []

    class FakeNetlink:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return lambda *args, **kwargs: rules.append((name, {"args": args, **kwargs}))

    class FakeTun:
        name = "mip0"

    monkeypatch.setattr(runtime_module, "set_sysctl", lambda *args: None)
    runtime.netlink = FakeNetlink()  # type: ignore[assignment]
    runtime.tun = FakeTun()  # type: ignore[assignment]
    runtime._mobile_node_applications(entity)  # type: ignore[arg-type]
    dropped = [kwargs for name, kwargs in rules if name == "rule_blackhole"
               and kwargs.get("source") == IPv6Network("fe80::/10")]
    assert [d["iif"] for d in dropped] == ["eth0"]
    assert dropped[0]["args"] == (IPv6Network("::/0"),)
    claimed = [kwargs["priority"] for name, kwargs in rules if name == "rule_specific_routes"]
    assert dropped[0]["priority"] < min(claimed) == MN_CLAIMED_RULE_PRIORITY  # type: ignore[operator]
