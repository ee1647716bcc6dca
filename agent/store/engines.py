"""Where a store is and how its engine is made: SQLite under the data directory (WAL, foreign
keys on), the embedded default, or PostgreSQL named by `store.url` in the agent config; and the
cross-process write lock. agent/store/db.py opens a store at its schema revision with these."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError

from core.problems import ConfigError, Problem

log = logging.getLogger(__name__)

SQLITE_FILE = "xunjian.db"
DRIVERS = ("sqlite", "postgresql+psycopg")
# Transaction-scoped PostgreSQL advisory locks (any 64-bit keys, unique to xunjian). SQLite needs
# none: every transaction there begins IMMEDIATE, one writer at a time.
LOCKS = {"schema": 0x78756E6A69616E00, "cases": 0x78756E6A69616E01, "outbox": 0x78756E6A69616E02}


@dataclass(frozen=True, slots=True)
class Store:
    """Where a store is: a SQLAlchemy URL (with its password, which `shown` never prints)."""

    url: URL

    @property
    def sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a server)."""
        return Path(self.url.database) if self.sqlite and self.url.database else None

    def shown(self) -> str:
        """For messages and logs: the URL with the password masked, or the SQLite file."""
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)


def sqlite_store(data_dir: Path) -> Store:
    return Store(URL.create("sqlite", database=str(Path(data_dir) / SQLITE_FILE)))


def parse_url(value: str) -> URL:
    """A SQLAlchemy URL of a backend xunjian supports, or ValueError saying what is expected."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError("a SQLAlchemy URL like postgresql+psycopg://xunjian@db-host:5432/xunjian") from None
    if url.drivername not in DRIVERS:
        raise ValueError(f"a URL for {' or '.join(DRIVERS)}; got {url.drivername!r} "
                         "(PostgreSQL goes through psycopg 3: postgresql+psycopg://…)")
    return url


def store_of(where: Store | Path | str | URL) -> Store:
    """A Store from a data directory (SQLite in it), a URL, or a Store."""
    if isinstance(where, Store):
        return where
    if isinstance(where, URL):
        return Store(where)
    if isinstance(where, str) and "://" in where:
        return Store(parse_url(where))
    return sqlite_store(Path(where))


def configured_store(cfg: Any, data_dir: Path | None = None) -> Store:
    """The store an agent config names: `--data-dir` given → SQLite there; else `store.url`
    (its password from the secret reference); else SQLite in the config's data_dir."""
    settings = getattr(cfg, "store", None)
    if data_dir is not None or settings is None:
        return sqlite_store(data_dir or cfg.data_dir)
    url = settings.url
    if settings.password is not None:
        url = url.set(password=settings.password.get_secret_value())
    if url.get_backend_name() == "sqlite" and url.database:
        base = Path(cfg.path).parent if getattr(cfg, "path", None) else Path.cwd()
        url = url.set(database=str(base / url.database))
    return Store(url)


def make_engine(store: Store) -> Engine:
    """An engine on the store, without looking at its schema."""
    if store.sqlite:
        assert store.path is not None
        store.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(store.url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            _wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL survives kill -9
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: two processes numbering cases at once
            # wait for each other instead of failing on a stale snapshot.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # PostgreSQL: READ COMMITTED; the writers that read before they write take an advisory
    # lock (serialize) so that they wait for each other as they do on SQLite.
    return create_engine(store.url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _wal(cur: Any, patience: float = 30.0) -> None:
    """WAL mode (readers never block the daemon's writes). It is kept in the file, so only the
    process that creates the store switches it — and two processes creating one at once
    race for that switch, which needs the file to themselves and does not wait on the busy
    timeout: the loser retries until the winner is done."""
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # back off: the other process holds the file for its switch
            delay = min(delay * 2, 0.5)


def serialize(conn: Connection, what: str) -> None:
    """Inside a write transaction that reads before it writes (numbering cases, event seqs,
    claiming outbox rows): one such transaction per `what` at a time, across processes and
    hosts. SQLite: nothing to do (BEGIN IMMEDIATE); PostgreSQL: an advisory lock held until
    the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCKS[what]})


def unreachable(store: Store, e: Exception) -> ConfigError:
    """A store that cannot be opened: one message, the password masked."""
    reason = str(getattr(e, "orig", e) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if store.url.password:
        reason = reason.replace(str(store.url.password), "***")
    return ConfigError([Problem(store.shown(), "", f"cannot open the store: {reason}")])
