"""The command's help: every option explained, every daemon role listed, one vocabulary."""

from __future__ import annotations

import argparse

import pytest

from mipshop.cli.main import DAEMON_ROLES, build_parser, main
from mipshop.net.config import ROLES
from mipshop.sim.compare import PROTOCOLS


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_command_has_help() -> None:
    parsers = {"mipshop": build_parser(), **_commands()}
    assert set(parsers) == {"mipshop", "dissect", "compare", "simulate", "sweep", "testbed",
                            "daemon"}
    for name, parser in parsers.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_the_daemon_help_lists_every_role_the_daemon_accepts(capsys) -> None:
    assert tuple(sorted(DAEMON_ROLES)) == tuple(sorted(ROLES))
    with pytest.raises(SystemExit):
        main(["daemon", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for role in ROLES:
        assert f"{role}: " in text


@pytest.mark.parametrize("command", ["compare", "simulate", "testbed"])
def test_protocols_is_one_option_with_one_meaning(command: str) -> None:
    parser = _commands()[command]
    (action,) = [a for a in parser._actions if a.dest == "protocols"]
    assert "--protocols" in action.option_strings
    assert action.type("all") == PROTOCOLS
    assert action.type("fhmipv6,mipv6") == ("fhmipv6", "mipv6")
