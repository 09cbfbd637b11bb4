"""Stable storage of a home agent's or a MAP's bindings: one SQLite database per daemon.

The protocol entities never touch storage: a binding agent asks for it with the actions
:class:`~mipshop.protocol.base.actions.PersistBinding`,
:class:`~mipshop.protocol.base.actions.ForgetBinding` and
:class:`~mipshop.protocol.base.actions.PersistReplay`, placed before the Transmit of the
Binding Acknowledgement they concern, and resumes with
:meth:`~mipshop.protocol.mipv6.binding_agent.BindingAgent.restore` at start. This module
carries them out:

* :class:`StateStore` is the database: WAL journal, ``synchronous=NORMAL`` by default
  (a commit survives the process being killed, SIGKILL included; ``full`` also survives a
  power cut, at one fsync per commit), tables ``bindings`` (one row per registered address,
  times in Unix seconds; a de-registered entry kept inactive too) and ``replay`` (the newest
  RFC 4285 §6 timestamp accepted per mobile node identity, with its SPI), and ``meta``
  (schema version and the role that owns the file). The file is locked (``flock``) while a
  daemon uses it, so two daemons cannot share one.
* :class:`Journal` runs an entity's action list: it writes the persistence actions, and
  commits them before it carries out the next action of any other kind (and at the end of
  the list). So a BA never leaves before the binding it acknowledges is on disk; if a write
  or the commit fails, the packets that follow in that list are not sent (the mobile node
  retransmits its BU, RFC 6275 §11.8) and the failure is reported.

Both tables are bounded by what feeds them: a binding row exists only while its binding
lives in the Binding Cache (``max_bindings``), a replay row only for a configured security
association. Expired bindings are deleted when they expire and, after a restart, when they
are found expired on loading.

A file that is not a SQLite database, fails SQLite's ``integrity_check``, holds another role's
state or rows that do not parse is refused with :class:`~.errors.NetError` (one line, exit
status 2 from the daemon) rather than overwritten: the operator decides whether to move it
away and start with an empty binding cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterable
from ipaddress import IPv6Address
from pathlib import Path

from ..protocol.base.actions import (
    Action,
    BindingRecord,
    ForgetBinding,
    PersistBinding,
    PersistReplay,
    Transmit,
)
from .config import STATEFUL_ROLES, DaemonConfig
from .errors import NetError

SCHEMA_VERSION = 1
#: ``state_synchronous`` values: SQLite's ``synchronous`` levels allowed with WAL.
SYNCHRONOUS = ("normal", "full", "extra")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bindings ("
    " home_address TEXT PRIMARY KEY, care_of_address TEXT NOT NULL,"
    " sequence INTEGER NOT NULL, lifetime REAL NOT NULL, registered_at REAL NOT NULL,"
    " home_registration INTEGER NOT NULL, map_registration INTEGER NOT NULL,"
    " link_local_compat INTEGER NOT NULL, owner BLOB, spi INTEGER,"
    " deregistered INTEGER NOT NULL)",
    # The 64-bit NTP timestamp does not fit SQLite's signed INTEGER: 8 octets, big-endian.
    "CREATE TABLE IF NOT EXISTS replay (identity BLOB PRIMARY KEY, spi INTEGER NOT NULL,"
    " timestamp BLOB NOT NULL)",
)


class StateStore:
    """The SQLite database of one binding agent (see the module docstring).

    ``role`` (``ha`` or ``map``) is written into a new file and checked in an existing one.
    Raises :class:`NetError` with one line naming the file and the problem.
    """

    def __init__(self, path: str | Path, *, role: str, synchronous: str = "normal") -> None:
        if synchronous not in SYNCHRONOUS:
            raise NetError(f"mipshop: state_synchronous {synchronous!r}: expected one of "
                           f"{', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        self.role = role
        self._pending = False
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self._lock()
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._open(synchronous)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise NetError(f"mipshop: state file {self.path} is not a usable SQLite database "
                           f"({exc}); move it away to start with an empty binding cache"
                           ) from exc
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise NetError(f"mipshop: state file {self.path}: {exc.strerror}") from exc
        self._lock_fd = fd
        try:
            # flock, not fcntl locks: SQLite's own POSIX locks on the file are not disturbed.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise NetError(f"mipshop: state file {self.path} is in use by another daemon"
                           ) from exc

    def _open(self, synchronous: str) -> None:
        db = self._require()
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise NetError(f"mipshop: state file {self.path}: cannot use a WAL journal "
                           f"(got {mode})")
        db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        # integrity_check, not quick_check: it also finds an index that disagrees with its
        # table (a UNIQUE home address that no longer is), at start-up only.
        check = db.execute("PRAGMA integrity_check(1)").fetchone()[0]
        if check != "ok":
            raise NetError(f"mipshop: state file {self.path} is damaged ({check}); move it "
                           "away to start with an empty binding cache")
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            raise NetError(f"mipshop: state file {self.path} is a SQLite database but not a "
                           "mipshop state file; refusing to change it")
        db.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            db.execute(statement)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [("schema", str(SCHEMA_VERSION)), ("role", self.role)])
        db.execute("COMMIT")
        if meta and meta.get("schema") != str(SCHEMA_VERSION):
            raise NetError(f"mipshop: state file {self.path} has schema "
                           f"{meta.get('schema')!r}; this mipshop reads {SCHEMA_VERSION}")
        if meta and meta.get("role") != self.role:
            raise NetError(f"mipshop: state file {self.path} holds the state of a "
                           f"{meta.get('role')} daemon, not of this {self.role}")

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise NetError(f"mipshop: state file {self.path} is closed")
        return self._db

    # -- reading -----------------------------------------------------------------------------

    def journal(self) -> tuple[str, int]:
        """SQLite's ``journal_mode`` and ``synchronous`` (1 NORMAL, 2 FULL, 3 EXTRA) in use."""
        db = self._require()
        return (db.execute("PRAGMA journal_mode").fetchone()[0],
                db.execute("PRAGMA synchronous").fetchone()[0])

    def load(self) -> tuple[list[BindingRecord], list[tuple[bytes, int, int]]]:
        """Every stored binding, and the replay rows as (identity, SPI, timestamp); a row
        that does not parse is a NetError."""
        try:
            return self._load()
        except sqlite3.DatabaseError as exc:
            raise NetError(f"mipshop: state file {self.path} cannot be read ({exc}); move it "
                           "away to start with an empty binding cache") from exc

    def _load(self) -> tuple[list[BindingRecord], list[tuple[bytes, int, int]]]:
        db = self._require()
        bindings = []
        for row in db.execute("SELECT home_address, care_of_address, sequence, lifetime, "
                              "registered_at, home_registration, map_registration, "
                              "link_local_compat, owner, spi, deregistered FROM bindings "
                              "ORDER BY rowid"):
            try:
                (hoa, coa, sequence, lifetime, registered_at, home, local, l_bit, owner, spi,
                 deregistered) = row
                if not (isinstance(sequence, int) and 0 <= sequence <= 0xFFFF):
                    raise ValueError(f"sequence {sequence!r}")
                if not (isinstance(lifetime, int | float) and lifetime >= 0
                        and isinstance(registered_at, int | float)):
                    raise ValueError(f"lifetime {lifetime!r} registered at {registered_at!r}")
                if (owner is None) != (spi is None) or (owner is not None and not (
                        isinstance(owner, bytes) and isinstance(spi, int))):
                    raise ValueError(f"owner {owner!r} with SPI {spi!r}")
                bindings.append(BindingRecord(
                    home_address=IPv6Address(hoa), care_of_address=IPv6Address(coa),
                    sequence=sequence, lifetime=float(lifetime),
                    registered_at=float(registered_at), home_registration=bool(home),
                    map_registration=bool(local), link_local_compat=bool(l_bit),
                    owner=owner, spi=spi, deregistered=bool(deregistered)))
            except (ValueError, TypeError) as exc:
                raise NetError(f"mipshop: state file {self.path}: bad binding row {row!r} "
                               f"({exc})") from exc
        replay = []
        for identity, spi, stamp in db.execute(
                "SELECT identity, spi, timestamp FROM replay ORDER BY rowid"):
            if not isinstance(identity, bytes) or not isinstance(spi, int) or not isinstance(
                    stamp, bytes) or len(stamp) != 8:
                raise NetError(f"mipshop: state file {self.path}: bad replay row "
                               f"{(identity, spi, stamp)!r}")
            replay.append((identity, spi, int.from_bytes(stamp, "big")))
        return bindings, replay

    # -- writing -----------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True while writes wait for :meth:`commit`."""
        return self._pending

    def apply(self, action: PersistBinding | ForgetBinding | PersistReplay) -> None:
        """Write one persistence action inside the open transaction (begun if needed)."""
        db = self._require()
        if not self._pending:
            db.execute("BEGIN IMMEDIATE")
            self._pending = True
        if isinstance(action, PersistBinding):
            b = action.binding
            db.execute("INSERT OR REPLACE INTO bindings VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (str(b.home_address), str(b.care_of_address), b.sequence, b.lifetime,
                        b.registered_at, int(b.home_registration), int(b.map_registration),
                        int(b.link_local_compat), b.owner, b.spi, int(b.deregistered)))
        elif isinstance(action, ForgetBinding):
            db.execute("DELETE FROM bindings WHERE home_address = ?",
                       (str(action.home_address),))
        else:
            db.execute("INSERT OR REPLACE INTO replay VALUES (?, ?, ?)",
                       (action.identity, action.spi, action.timestamp.to_bytes(8, "big")))

    def commit(self) -> None:
        """Make every write since the last commit durable."""
        if self._pending:
            self._pending = False
            self._require().execute("COMMIT")

    def rollback(self) -> None:
        """Drop the writes since the last commit (after a failed one)."""
        if self._pending:
            self._pending = False
            with contextlib.suppress(sqlite3.Error):
                self._require().execute("ROLLBACK")

    def close(self) -> None:
        """Commit what is pending and release the database and its lock."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.commit()
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_state_store(config: DaemonConfig) -> StateStore | None:
    """The state file of a home agent or MAP daemon (None for the other roles)."""
    settings = config.settings
    if config.role not in STATEFUL_ROLES or settings.state_file is None:
        return None
    return StateStore(settings.state_file, role=config.role,
                      synchronous=settings.state_synchronous)


_PERSISTENCE = (PersistBinding, ForgetBinding, PersistReplay)


class Journal:
    """Carries out an action list with the rule "commit, then anything else" (module doc).

    ``perform`` carries out one non-persistence action; ``report(what, error)`` is told of
    each failure: ``what`` is the action's type name, ``commit`` for a failed commit, or
    ``withheld.Transmit`` for a packet not sent because a write before it failed.
    """

    def __init__(self, store: StateStore | None, perform: Callable[[Action], None],
                 report: Callable[[str, Exception], None]) -> None:
        self.store = store
        self.perform = perform
        self.report = report

    def _commit(self) -> Exception | None:
        store = self.store
        if store is None or not store.pending:
            return None
        try:
            store.commit()
        except (sqlite3.Error, NetError) as exc:
            store.rollback()
            self.report("commit", exc)
            return exc
        return None

    def run(self, actions: Iterable[Action]) -> None:
        """Carry out ``actions`` in order; writes are committed before what follows them."""
        store = self.store
        failed: Exception | None = None
        for action in actions:
            if isinstance(action, _PERSISTENCE):
                if store is None or failed is not None:
                    continue
                try:
                    store.apply(action)
                except (sqlite3.Error, NetError) as exc:
                    failed = exc
                    store.rollback()
                    self.report(type(action).__name__, exc)
                continue
            failed = self._commit() or failed
            if failed is not None and isinstance(action, Transmit):
                # Never acknowledge what is not on disk: the mobile node retransmits its BU.
                self.report("withheld.Transmit", failed)
                continue
            self.perform(action)
        self._commit()
