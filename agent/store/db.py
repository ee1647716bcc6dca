"""Opening the store: one SQLite file under the data directory, WAL, foreign keys on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from agent.store.schema import metadata


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

    metadata.create_all(engine)
    return engine
