"""Every bad input to every command: exit status 2, exactly one line on standard error naming
the option and the problem, no traceback, nothing on standard output and no output file.

The cases are refused before any work starts: were a check missing, the command would run (and
the assertion on the exit status fail), so each row also proves its check is there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mipshop.cli.main import main

EXAMPLES = Path(__file__).parents[2] / "examples"

# (argv with {tmp} for the test's directory, text the one line must contain)
CASES: list[tuple[list[str], str]] = [
    # -- no command, or an unknown one
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    # -- compare / simulate: outputs
    (["compare", "--plot", "{tmp}/figure.txt"],
     "--plot {tmp}/figure.txt: unsupported format ('.txt')"),
    (["compare", "--plot", "{tmp}/figure"], "--plot {tmp}/figure: unsupported format (no suffix)"),
    (["compare", "--plot", "{tmp}"], "--plot {tmp}: is a directory"),
    (["compare", "--json", "/dev/full"], "--json /dev/full: not a regular file"),
    (["compare", "--json", "/proc/version"], "--json /proc/version: cannot write"),
    (["compare", "--json", "{tmp}/missing/out.json"], "directory {tmp}/missing does not exist"),
    (["compare", "--json", "{tmp}"], "--json {tmp}: is a directory"),
    (["compare", "--json", "{tmp}/notes.txt/out.json"], "{tmp}/notes.txt is not a directory"),
    (["compare", "--pcap", "{tmp}/missing"], "--pcap {tmp}/missing: directory does not exist"),
    (["compare", "--pcap", "{tmp}/notes.txt"], "--pcap {tmp}/notes.txt: not a directory"),
    (["compare", "--json", "{tmp}/a.svg", "--plot", "{tmp}/a.svg"], "the same file as --json"),
    (["simulate", "{tmp}/reference.toml", "--plot", "{tmp}/reference.toml"],
     "unsupported format ('.toml')"),
    # -- compare / simulate: values
    (["compare", "--protocols", "mipv6,mipv6"], "--protocols: mipv6 given more than once"),
    (["compare", "--protocols", "mipv7"], "--protocols: unknown protocol mipv7"),
    (["compare", "--protocols", ""], "--protocols: empty protocol name"),
    (["compare", "--protocols", "mipv6,,hmipv6"], "--protocols: empty protocol name"),
    (["compare", "--protocols", "all,mipv6"], "--protocols: unknown protocol all"),
    (["compare", "--seed", "x"], "--seed: must be a whole number, got 'x'"),
    (["compare", "--seed", "-1"], "--seed: must be from 0 to"),
    (["compare", "--seed", str(2**63)], "--seed: must be from 0 to"),
    (["compare", "--bogus"], "unrecognized arguments: --bogus"),
    # -- simulate: the scenario file
    (["simulate"], "required: SCENARIO"),
    (["simulate", "{tmp}/missing.toml"], "scenario {tmp}/missing.toml: no such file"),
    (["simulate", "{tmp}"], "scenario {tmp}: is a directory"),
    (["simulate", "/dev/null"], "scenario /dev/null: not a regular file"),
    (["simulate", "{tmp}/empty.toml"], "scenario {tmp}/empty.toml: empty (it sets nothing)"),
    (["simulate", "{tmp}/comments.toml"], "scenario {tmp}/comments.toml: empty"),
    (["simulate", "{tmp}/binary.toml"], "scenario {tmp}/binary.toml: not UTF-8 text (byte 0x89"),
    (["simulate", "{tmp}/latin1.toml"], "not UTF-8 text (byte 0xe9 at offset 11)"),
    (["simulate", "{tmp}/huge.toml"], "larger than 1024 KiB"),
    (["simulate", "{tmp}/syntax.toml"], "TOML syntax error"),
    (["simulate", "{tmp}/bogus-key.toml"], "bogus"),
    (["simulate", "{tmp}/bad-value.toml"], "links.core_ha.delay_ms: must be a number >= 0"),
    (["simulate", "{tmp}/too-many-calls.toml"],
     "traffic.call_every: 45537 mobile nodes with a call on every 1 make 45537 calls, more than "
     "the correspondent's 45536 uplink ports"),
    # -- testbed (refused before it checks for root or builds anything)
    (["testbed", "--handovers", "-2"], "--handovers: must be from 1 to 1,000 handovers, got -2"),
    (["testbed", "--handovers", "0"], "--handovers: must be from 1"),
    (["testbed", "--handovers", "2.5"], "--handovers: must be a whole number of handovers"),
    (["testbed", "--link-down", "-1"], "--link-down: must be from 0 to 60 seconds, got -1"),
    (["testbed", "--link-down", "nan"], "--link-down: must be from 0 to 60 seconds, got nan"),
    (["testbed", "--link-down", "inf"], "--link-down: must be from 0 to 60 seconds"),
    (["testbed", "--link-down", "fast"], "--link-down: must be a number of seconds"),
    (["testbed", "--tcp-bytes", "-5"], "--tcp-bytes: must be from 0 to 10,000,000,000 bytes"),
    (["testbed", "--tcp-bytes", "1e6"], "--tcp-bytes: must be a whole number of bytes"),
    (["testbed", "--delay", "home=-5"], "--delay: home=-5: the delay must be from 0 to 10000 ms, "
                                        "got -5 ms"),
    (["testbed", "--delay", "home=x"], "--delay: home=x: the delay must be a number of "
                                       "milliseconds"),
    (["testbed", "--delay", "home"], "--delay: expected LINK=MS"),
    (["testbed", "--delay", "moon=5"], "--delay: moon=5: unknown link 'moon'"),
    (["testbed", "--delay", "home=1", "--delay", "home=2"], "--delay: home given more than once"),
    (["testbed", "--protocol", "nope"], "unknown protocol nope"),
    (["testbed", "--protocols", "fmipv6,fmipv6"], "fmipv6 given more than once"),
    (["testbed", "--json", "{tmp}/missing/rows.json"], "directory {tmp}/missing does not exist"),
    (["testbed", "--json", "/dev/full"], "--json /dev/full: not a regular file"),
    (["testbed", "--pcap", "{tmp}/missing"], "--pcap {tmp}/missing: directory does not exist"),
    (["testbed", "--pcap", "{tmp}/notes.txt"], "--pcap {tmp}/notes.txt: not a directory"),
    (["testbed", "--restart", "cn"], "--restart: invalid choice: 'cn'"),
    (["testbed", "--restart", "map"], "--restart map: mipv6 run(s) no MAP"),
    (["testbed", "--protocols", "hmipv6,fmipv6", "--restart", "map"],
     "--restart map: fmipv6 run(s) no MAP"),
    # -- dissect
    (["dissect"], "required: CAPTURE"),
    (["dissect", "{tmp}/missing.pcap"], "capture {tmp}/missing.pcap: no such file"),
    (["dissect", "{tmp}"], "capture {tmp}: is a directory"),
    (["dissect", "/dev/null"], "capture /dev/null: not a regular file"),
    (["dissect", "{tmp}/notes.txt"], "{tmp}/notes.txt: not a pcap or pcapng file"),
    (["dissect", "{tmp}/empty.toml"], "{tmp}/empty.toml: not a capture file"),
    (["dissect", "--fbu-lifetime-unit", "3", "x"], "--fbu-lifetime-unit: must be 4"),
    # -- daemon
    (["daemon", "moon", "--config", "{tmp}/notes.txt"], "ROLE: invalid choice: 'moon'"),
    (["daemon", "ha"], "required: --config"),
    (["daemon", "ha", "--config", "{tmp}/missing.toml"], "--config {tmp}/missing.toml: no such"),
    (["daemon", "ha", "--config", "{tmp}"], "--config {tmp}: is a directory"),
]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """The files the cases name."""
    reference = (EXAMPLES / "reference.toml").read_text()
    (tmp_path / "reference.toml").write_text(reference)
    (tmp_path / "notes.txt").write_text("hello, this is not a capture file at all\n")
    (tmp_path / "empty.toml").write_bytes(b"")
    (tmp_path / "comments.toml").write_text("# nothing but a comment\n\n   # another\n")
    (tmp_path / "binary.toml").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "latin1.toml").write_bytes('name = "café"\n'.encode("latin-1"))
    (tmp_path / "huge.toml").write_text("# padding\n" * 110_000)
    (tmp_path / "syntax.toml").write_text("name = \n")
    (tmp_path / "bogus-key.toml").write_text(reference + "\n[bogus]\nkey = 1\n")
    (tmp_path / "bad-value.toml").write_text('[links.core_ha]\ndelay_ms = "x"\n')
    (tmp_path / "too-many-calls.toml").write_text("mobile_nodes = 45537\n")
    return tmp_path


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str, inputs: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in inputs.iterdir())
    words = [word.replace("{tmp}", str(inputs)) for word in argv]
    try:
        status = main(words)
    except SystemExit as exc:  # the parser's own refusals
        status = exc.code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("mipshop"), lines[0]
    assert ": error: " in lines[0]
    assert expected.replace("{tmp}", str(inputs)) in lines[0]
    assert "Traceback" not in err
    assert out == ""
    # No output file, not even a partial one.
    assert sorted(p.name for p in inputs.iterdir()) == before
