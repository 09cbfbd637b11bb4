"""The binding agents' SQLite state file and the commit-before-answer rule."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from mipshop.cli.main import main
from mipshop.net.errors import NetError
from mipshop.net.persistence import Journal, StateStore
from mipshop.net.testbed import to_toml
from mipshop.protocol.base.actions import (
    Action,
    BindingRecord,
    Claim,
    ForgetBinding,
    PersistBinding,
    PersistReplay,
    Transmit,
)
from mipshop.wire.mh import BindingAcknowledgement
from tests.protocol.mipv6.test_registration_checks import crafted_bu
from tests.protocol.mipv6.test_restore import SHIFT, home_agent
from tests.protocol.scenario import CREDENTIALS, HOME_ADDRESS, WALL_CLOCK

RECORD = BindingRecord(home_address=HOME_ADDRESS,
                       care_of_address=IPv6Address("2001:db8:10::ff:fe00:1"), sequence=65535,
                       lifetime=600.0, registered_at=WALL_CLOCK + 0.25, home_registration=True,
                       link_local_compat=True, owner=CREDENTIALS.identifier, spi=1000)
#: An RFC 4285 NTP timestamp of today: above 2**63, SQLite's INTEGER limit.
STAMP = 0xE9A1_0000_8000_0001


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ha.sqlite"
    other = replace(RECORD, home_address=IPv6Address("2001:db8:1::200"), owner=None,
                    spi=None, sequence=0, link_local_compat=False, deregistered=True)
    with StateStore(path, role="ha") as store:
        assert store.journal() == ("wal", 1)  # WAL, synchronous=NORMAL
        for action in (PersistBinding(binding=RECORD), PersistBinding(binding=other),
                       PersistReplay(identity=CREDENTIALS.identifier, spi=1000, timestamp=STAMP),
                       PersistReplay(identity=b"mn2", spi=1001, timestamp=1)):
            store.apply(action)
        store.commit()
    with StateStore(path, role="ha", synchronous="full") as store:
        assert store.journal() == ("wal", 2)
        assert store.load() == ([RECORD, other], [(CREDENTIALS.identifier, 1000, STAMP),
                                                  (b"mn2", 1001, 1)])
        # A newer binding replaces the old row; a forgotten one is gone.
        store.apply(PersistBinding(binding=replace(RECORD, sequence=3)))
        store.apply(ForgetBinding(home_address=other.home_address))
        store.apply(PersistReplay(identity=b"mn2", spi=1001, timestamp=2))
        store.commit()
    with StateStore(path, role="ha") as store:
        assert store.load() == ([replace(RECORD, sequence=3)],
                                [(CREDENTIALS.identifier, 1000, STAMP), (b"mn2", 1001, 2)])


def test_uncommitted_writes_are_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "ha.sqlite"
    store = StateStore(path, role="ha")
    store.apply(PersistBinding(binding=RECORD))
    assert store.pending
    store.rollback()
    store.close()
    with StateStore(path, role="ha") as again:
        assert again.load() == ([], [])


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ha.sqlite"
    garbage = b"not a database, an operator's notes\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(NetError, match=r"^mipshop: state file .* is not a usable SQLite "
                                       r"database \(file is not a database\); move it away"):
        StateStore(path, role="ha")
    assert path.read_bytes() == garbage
    # And the lock was released: once moved away, the daemon starts.
    path.unlink()
    StateStore(path, role="ha").close()


def test_damaged_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ha.sqlite"
    with StateStore(path, role="ha") as store:
        for i in range(300):
            store.apply(PersistBinding(binding=replace(
                RECORD, home_address=IPv6Address(int(HOME_ADDRESS) + i), owner=b"x" * 40)))
        store.commit()
    data = bytearray(path.read_bytes())
    assert len(data) > 6 * 4096
    data[3 * 4096:3 * 4096 + 512] = bytes(range(256)) * 2
    path.write_bytes(bytes(data))
    with pytest.raises(NetError, match=r"^mipshop: state file .*(malformed|damaged)"):
        StateStore(path, role="ha").load()


def test_an_index_that_disagrees_with_its_table_is_refused(tmp_path: Path) -> None:
    """The rows read back fine, but the UNIQUE index on the home address is wrong: writes
    would then duplicate bindings. SQLite's integrity check at start-up finds it."""
    path = tmp_path / "ha.sqlite"
    with StateStore(path, role="ha") as store:
        for i in range(5):
            store.apply(PersistBinding(binding=replace(
                RECORD, home_address=IPv6Address(int(HOME_ADDRESS) + i))))
        store.commit()
    db = sqlite3.connect(path)
    root, size = db.execute("SELECT rootpage FROM sqlite_master WHERE name = "
                            "'sqlite_autoindex_bindings_1'").fetchone()[0], db.execute(
        "PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    key = str(HOME_ADDRESS).encode()
    at = (root - 1) * size + bytes(data[(root - 1) * size:root * size]).index(key)
    data[at:at + len(key)] = key[:-3] + b"zzz"
    path.write_bytes(bytes(data))
    with pytest.raises(NetError, match=r"^mipshop: state file .* is damaged \(row \d+ missing "
                                       r"from index"):
        StateStore(path, role="ha")


@pytest.mark.parametrize(("prepare", "message"), [
    (lambda db: db.execute("CREATE TABLE notes (x)"), "not a mipshop state file"),
    (lambda db: db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'"),
     "has schema '99'"),
    (lambda db: db.execute("UPDATE meta SET value = 'map' WHERE key = 'role'"),
     "holds the state of a map daemon, not of this ha"),
    (lambda db: db.execute("UPDATE bindings SET sequence = 70000"), "bad binding row"),
    (lambda db: db.execute("UPDATE bindings SET home_address = 'home'"), "bad binding row"),
    (lambda db: db.execute("UPDATE replay SET timestamp = x'01'"), "bad replay row"),
    (lambda db: db.execute("UPDATE bindings SET spi = NULL"), "bad binding row"),
])
def test_foreign_or_inconsistent_contents_are_refused(tmp_path: Path, prepare, message
                                                      ) -> None:
    path = tmp_path / "ha.sqlite"
    if message != "not a mipshop state file":
        with StateStore(path, role="ha") as store:
            store.apply(PersistBinding(binding=RECORD))
            store.apply(PersistReplay(identity=b"mn", spi=1000, timestamp=STAMP))
            store.commit()
    db = sqlite3.connect(path)
    prepare(db)
    db.commit()
    db.close()
    with pytest.raises(NetError, match=message):
        StateStore(path, role="ha").load()


def test_two_daemons_cannot_share_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ha.sqlite"
    first = StateStore(path, role="ha")
    with pytest.raises(NetError, match="is in use by another daemon"):
        StateStore(path, role="ha")
    first.close()
    StateStore(path, role="ha").close()


class Recorder:
    """A store whose calls are logged next to what the runtime performs."""

    def __init__(self, store: StateStore, log: list[str], *, crash_on_commit: bool = False
                 ) -> None:
        self.store, self.log, self.crash_on_commit = store, log, crash_on_commit

    @property
    def pending(self) -> bool:
        return self.store.pending

    def apply(self, action) -> None:
        self.log.append(f"write {type(action).__name__}")
        self.store.apply(action)

    def commit(self) -> None:
        if self.crash_on_commit:
            raise Killed
        self.log.append("commit")
        self.store.commit()

    def rollback(self) -> None:
        self.store.rollback()


class Killed(BaseException):
    """The process dies here (SIGKILL): nothing after this point happens."""


def _performed(log: list[str]):
    def perform(action: Action) -> None:
        if isinstance(action, Transmit) and isinstance(action.packet.payload,
                                                       BindingAcknowledgement):
            log.append("send BA")
        else:
            log.append(f"do {type(action).__name__}")
    return perform


def _accepting_actions() -> list[Action]:
    agent = home_agent()
    agent.receive(crafted_bu(at=1.0, sequence=100), "home", 1.0)
    return agent.pull_actions()


def test_the_ba_leaves_after_the_commit(tmp_path: Path) -> None:
    log: list[str] = []
    with StateStore(tmp_path / "ha.sqlite", role="ha") as store:
        Journal(Recorder(store, log), _performed(log),  # type: ignore[arg-type]
                lambda what, exc: log.append(f"error {what}")).run(_accepting_actions())
    assert log.index("commit") < log.index("send BA")
    assert log[:3] == ["write PersistReplay", "write PersistBinding", "commit"]
    assert "error" not in " ".join(log)


def test_a_bu_accepted_but_killed_before_the_commit_is_not_acknowledged(tmp_path: Path
                                                                        ) -> None:
    path, log = tmp_path / "ha.sqlite", []
    store = StateStore(path, role="ha")
    journal = Journal(Recorder(store, log, crash_on_commit=True),  # type: ignore[arg-type]
                      _performed(log), lambda what, exc: log.append(f"error {what}"))
    with pytest.raises(Killed):
        journal.run(_accepting_actions())
    # The connection goes away without a commit, as with kill -9.
    store._db.close()  # type: ignore[union-attr]
    store._db = None
    store.close()
    assert "send BA" not in log and not any(line.startswith("do ") for line in log)
    with StateStore(path, role="ha") as after:
        bindings, replay = after.load()
    assert bindings == [] and replay == []
    # So the restarted agent has nothing to answer for: the mobile node's retransmission
    # (RFC 6275 §11.8: a new sequence number and timestamp) registers afresh.
    agent = home_agent(shift=SHIFT)
    assert agent.restore(bindings, replay, 2.0 + SHIFT) == 0
    agent.receive(crafted_bu(at=2.0, sequence=101), "home", 2.0 + SHIFT)
    (ba,) = [a.packet.payload for a in agent.pull_actions() if isinstance(a, Transmit)
             and isinstance(a.packet.payload, BindingAcknowledgement)]
    assert ba.status == 0


def test_a_failed_write_withholds_the_answer(tmp_path: Path) -> None:
    log: list[str] = []
    reports: list[str] = []
    with StateStore(tmp_path / "ha.sqlite", role="ha") as store:
        store._require().execute("DROP TABLE bindings")  # every binding write now fails
        Journal(store, _performed(log), lambda what, exc: reports.append(what)).run(
            _accepting_actions())
        assert "send BA" not in log
        assert "do Claim" in log  # the binding lives on in memory
        assert reports[0] == "PersistBinding" and set(reports[1:]) == {"withheld.Transmit"}
        # The timestamp written before the failure was rolled back with it.
        assert store._require().execute("SELECT count(*) FROM replay").fetchone() == (0,)


def test_agent_to_file_to_restarted_agent(tmp_path: Path) -> None:
    """The real store between the agent that stored and the one that restores."""
    path = tmp_path / "ha.sqlite"
    original = home_agent()
    with StateStore(path, role="ha") as store:
        journal = Journal(store, lambda action: None, lambda what, exc: None)
        for at, sequence in ((1.0, 100), (2.0, 101)):
            original.receive(crafted_bu(at=at, sequence=sequence), "home", at)
            journal.run(original.pull_actions())
    with StateStore(path, role="ha") as store:
        bindings, replay = store.load()
    restarted = home_agent(shift=SHIFT)
    assert restarted.restore(bindings, replay, 3.0 + SHIFT) == 1
    assert Claim(address=HOME_ADDRESS, proxy_interface="home") in restarted.pull_actions()
    before, after = original.cache.lookup(HOME_ADDRESS, 3.0), restarted.cache.lookup(
        HOME_ADDRESS, 3.0 + SHIFT)
    assert before is not None and after is not None
    assert (after.care_of_address, after.sequence) == (before.care_of_address, 101)
    assert after.remaining(3.0 + SHIFT) == pytest.approx(before.remaining(3.0))
    assert restarted.replay.last_accepted(CREDENTIALS.identifier) == (
        original.replay.last_accepted(CREDENTIALS.identifier))


# -- the daemon's configuration --------------------------------------------------------------

def _daemon_config(tmp_path: Path, role: str, **daemon) -> Path:
    tables = {
        "ha": {"home_agent": {"interface": "eth0", "address": "2001:db8:1::1",
                              "prefix": "2001:db8:1::/64"}},
        "map": {"mobility_anchor_point": {"address": "2001:db8:a1::1"}},
        "ar": {"access_router": {"interface": "eth0", "address": "2001:db8:10::1",
                                 "prefix": "2001:db8:10::/64"}},
    }
    path = tmp_path / f"{role}.toml"
    path.write_text(to_toml({"daemon": {"name": role, **daemon}, **tables[role]}))
    return path


@pytest.mark.parametrize(("role", "daemon", "message"), [
    ("ha", {}, "state_file is required for role ha"),
    ("map", {}, "state_file is required for role map"),
    ("ha", {"state_file": "/nonexistent/dir/ha.sqlite"}, "no directory /nonexistent/dir"),
    ("ha", {"state_file": "{tmp}"}, "is not a regular file"),
    ("ha", {"state_file": ""}, "state_file must be a file path"),
    ("ha", {"state_file": "{tmp}/ha.sqlite", "state_synchronous": "off"},
     "state_synchronous 'off'"),
    ("ar", {"state_file": "{tmp}/ar.sqlite"}, "state_file is only for the roles ha and map"),
    ("ha", {"state_file": "{tmp}/garbage.sqlite"}, "is not a usable SQLite database"),
])
def test_daemon_refuses_bad_state_files_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        role: str, daemon: dict[str, str], message: str) -> None:
    import mipshop.net.runtime as runtime

    def no_daemon_here() -> None:
        # Should a check be missing, the daemon must not start in this namespace.
        raise NetError("mipshop: the state file was accepted")

    monkeypatch.setattr(runtime, "require_root", no_daemon_here)
    (tmp_path / "garbage.sqlite").write_bytes(b"\x00garbage" * 100)
    daemon = {k: v.replace("{tmp}", str(tmp_path)) for k, v in daemon.items()}
    assert main(["daemon", role, "--config", str(_daemon_config(tmp_path, role, **daemon))]
                ) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
