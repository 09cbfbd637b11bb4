"""The daemon's configuration file (``mipshop.net.config``): every value of the wrong type or
out of range is a :class:`NetError` naming its key (exit status 2, one line), never a
traceback from deeper down; and any damage to a valid configuration is refused or builds."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mipshop.net.config import load_config, parse_config, require_state_file
from mipshop.net.errors import NetError
from mipshop.net.testbed import Testbed, TestbedOptions, to_toml

ROLES = {"ha": "ha", "ar1": "ar", "ar2": "ar", "mn": "mn", "cn": "cn", "map": "map"}
WORKDIR = Path(tempfile.gettempdir())


def _configs() -> list[tuple[str, dict[str, Any]]]:
    """The configurations the testbed writes for its daemons, F-HMIPv6 and MIPv6."""
    found = []
    for protocol in ("fhmipv6", "mipv6"):
        bed = Testbed(TestbedOptions(protocol=protocol))
        bed.workdir = WORKDIR
        for node in (*bed.NODES, *bed.map_nodes):
            if node in ROLES:
                found.append((ROLES[node], bed._config(node, ROLES[node])))
    return found


CONFIGS = _configs()
HA = next(c for r, c in CONFIGS if r == "ha")
MN = next(c for r, c in CONFIGS if r == "mn")


def _with(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


# (role, base, path to the value, bad value, what the one line must say)
CASES = [
    ("ha", HA, ("daemon",), 5, "[daemon]: must be a table, got 5"),
    ("ha", HA, ("home_agent",), [1], "[home_agent]: must be a table"),
    ("ha", HA, ("daemon", "interfaces"), 7, "[daemon].interfaces: expected an array"),
    ("ha", HA, ("daemon", "interfaces"), ["eth0", 5], "expected an array of strings"),
    ("ha", HA, ("daemon", "seed"), "x", "[daemon].seed: expected int"),
    ("ha", HA, ("daemon", "tun_mtu"), 1000, "tun_mtu must be from 1280 to 65535, got 1000"),
    ("ha", HA, ("daemon", "application_mtu"), 1600, "application_mtu must be from 1280 to "
                                                    "tun_mtu (1500), got 1600"),
    ("ha", HA, ("daemon", "name"), "", "name must not be empty"),
    ("ha", HA, ("home_agent", "credentials"), 3, "credentials: must be an array of tables"),
    ("ha", HA, ("home_agent", "credentials", 0), "mn", "credentials[0]: must be a table"),
    ("ha", HA, ("home_agent", "credentials", 0, "spi"), float("inf"),
     "credentials.spi: must be an integer, got inf"),
    ("ha", HA, ("home_agent", "credentials", 0, "spi"), 3.5, "must be an integer, got 3.5"),
    ("ha", HA, ("home_agent", "credentials", 0, "key"), ["00"], "key: must be a string of hex"),
    ("ha", HA, ("home_agent", "credentials", 0, "key"), "zz", "key: not hex digits: 'zz'"),
    ("ha", HA, ("home_agent", "credentials", 0, "identifier"), 7,
     "identifier: must be a string, got 7"),
    ("ha", HA, ("home_agent", "link_layer_address"), [2, 0], "expected a MAC address as a string"),
    ("ha", HA, ("home_agent", "ra_interval"), float("nan"), "must be a finite number, got nan"),
    ("ha", HA, ("home_agent", "ra_interval"), "600", "expected a number, got '600'"),
    ("ha", HA, ("home_agent", "ra_interval"), True, "expected a number, got True"),
    ("ha", HA, ("home_agent", "prefix"), True, "expected an address as a string, got True"),
    ("ha", HA, ("home_agent", "address"), 1, "expected an address as a string, got 1"),
    ("mn", MN, ("mobile_node", "fast_handover"), "yes", "fast_handover: must be a table"),
    ("mn", MN, ("mobile_node", "map_client"), [], "map_client: must be a table"),
]


@pytest.mark.parametrize(("role", "base", "path", "value", "message"), CASES,
                         ids=[f"{'.'.join(map(str, c[2]))}={c[3]!r}" for c in CASES])
def test_a_bad_value_is_one_error_naming_its_key(
        tmp_path: Path, role: str, base: dict[str, Any], path: tuple[Any, ...], value: Any,
        message: str) -> None:
    data = _with(base, path, value)
    file = tmp_path / "node.toml"
    # Through TOML, as a user writes it: a key of the top level holding no table is written
    # before the tables, as TOML requires.
    plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
    head = "".join(f"{k} = {json.dumps(v)}\n" for k, v in plain.items())
    file.write_text(head + to_toml({k: v for k, v in data.items() if k not in plain}))
    with pytest.raises(NetError) as error:
        config = load_config(role, file)
        config.build(wall_clock_offset=1.7e9)
    text = str(error.value)
    assert text.startswith("mipshop: config ") and "\n" not in text
    assert message in text, text


def test_every_testbed_configuration_builds() -> None:
    assert len(CONFIGS) == 11
    for role, data in CONFIGS:
        config = parse_config(role, copy.deepcopy(data), "testbed")
        require_state_file(config)
        config.build(wall_clock_offset=1.7e9)


_JUNK = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.booleans(),
    st.text(max_size=12), st.sampled_from(["::1", "2001:db8::/64", "02:00:00:00:00:01", "00"]),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.lists(st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), max_size=2))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


@pytest.mark.filterwarnings("error")  # e.g. ipaddress taking a boolean for an integer
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damage_to_a_valid_configuration_is_refused_or_builds(data: st.DataObject) -> None:
    role, base = data.draw(st.sampled_from(CONFIGS))
    damaged = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(damaged)))
        damaged = _with(damaged, path, data.draw(_JUNK))
    try:
        config = parse_config(role, damaged, "damaged")
        require_state_file(config)
        config.build(wall_clock_offset=1.7e9)
    except NetError as error:
        assert str(error).startswith("mipshop: ") and "\n" not in str(error)


def test_a_nar_can_be_told_the_link_layer_addresses_it_does_not_recognise(tmp_path: Path) -> None:
    """RFC 5568 §6.4.6 NAACK status 128 ("Link Layer Address unrecognized"): the daemon's
    fast_handover table sets ``unrecognized_link_layer_addresses`` as MAC strings."""
    ar = next(c for r, c in CONFIGS if r == "ar" and "fast_handover" in c["access_router"])
    data = _with(ar, ("access_router", "fast_handover", "unrecognized_link_layer_addresses"),
                 ["02:00:00:00:00:09", "0200000000aa"])
    router = parse_config("ar", data, "test").build(wall_clock_offset=1.7e9)
    assert router.fast_handover.config.unrecognized_link_layer_addresses == frozenset(
        {bytes.fromhex("020000000009"), bytes.fromhex("0200000000aa")})
    bad = _with(ar, ("access_router", "fast_handover", "unrecognized_link_layer_addresses"),
                ["02:00"])
    with pytest.raises(NetError, match="unrecognized_link_layer_addresses: not a 6-octet MAC"):
        parse_config("ar", bad, "test").build(wall_clock_offset=1.7e9)
