"""Opening the store: one SQLite file under the data directory, WAL, foreign keys on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text

from agent.problems import ConfigError, Problem
from agent.store.schema import metadata

# Raise when a table changes shape; there are no migrations before the first release.
SCHEMA_VERSION = 7


def open_engine(data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{data_dir / 'xunjian.db'}",
                           connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the daemon's writes
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL survives kill -9
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: two processes numbering cases at once
        # wait for each other instead of failing on a stale snapshot.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    _check_schema(engine, data_dir)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT OR IGNORE INTO state (key, value) VALUES ('schema_version', :v)"),
                     {"v": str(SCHEMA_VERSION)})
    return engine


def _check_schema(engine: Engine, data_dir: Path) -> None:
    """A store written by another version is refused with a clear message, not a traceback later."""
    tables = inspect(engine).get_table_names()
    if "state" not in tables:
        return
    with engine.connect() as conn:
        row = conn.execute(text("SELECT value FROM state WHERE key = 'schema_version'")).first()
    found = int(row[0]) if row else 1
    if found != SCHEMA_VERSION:
        raise ConfigError([Problem(str(data_dir / "xunjian.db"), "",
                                   f"a store of schema version {found}; this xunjian needs version "
                                   f"{SCHEMA_VERSION}: move the data directory aside and start afresh")])
