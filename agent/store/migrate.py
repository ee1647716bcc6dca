"""The store's schema revision, with Alembic configured in code (the migrations ship in the
package, agent/store/migrations/; there is no alembic.ini).

A store is one of: new (no tables: created at head without asking), current, behind (written
by an older xunjian, or before migrations: `xunjian db upgrade`), or ahead (written by a newer
xunjian). Before a SQLite store is upgraded, a consistent copy is taken with SQLite's backup API.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, select, text

from agent.store.engines import Store, serialize
from agent.store.schema import metadata, state
from core.problems import ConfigError, Problem

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema of the last release before migrations
LEGACY_VERSION = 7  # state.schema_version written by that release
# Written into state.schema_version of every migrated store: a release from before migrations
# then refuses it ("a store of schema version 8") instead of writing into a schema it does not know.
MIGRATED_MARK = "8"
UPGRADE = "run `xunjian db upgrade` (a SQLite store is backed up first)"


@dataclass(frozen=True, slots=True)
class Revision:
    state: str  # new | current | behind | ahead | foreign
    revision: str | None  # the store's (None: new, or written before migrations)
    head: str

    def describe(self) -> str:
        rev = self.revision or f"none (schema_version {LEGACY_VERSION}, before migrations)"
        return {"new": "empty: it will be created at revision " + self.head,
                "current": f"at revision {self.revision} (head)",
                "behind": f"at revision {rev}; this xunjian needs {self.head}",
                "ahead": f"at revision {self.revision}, which this xunjian does not know (its head is "
                         f"{self.head}): a newer xunjian wrote it",
                "foreign": f"not a xunjian store this version can use ({self.revision})"}[self.state]


def config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    h = scripts().get_current_head()
    assert h is not None
    return h


def history() -> list[Script]:
    """Every revision, newest first."""
    return list(scripts().walk_revisions())


def revision(conn: Connection) -> Revision:
    """Where the store's schema stands (reads only)."""
    h = head()
    insp = inspect(conn)
    if insp.has_table("alembic_version"):
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if rev is None:
            return Revision("foreign", "an empty alembic_version table", h)
        if rev == h:
            return Revision("current", rev, h)
        try:
            known = scripts().get_revision(rev) is not None
        except CommandError:
            known = False
        return Revision("behind" if known else "ahead", rev, h)
    ours = set(metadata.tables) & set(insp.get_table_names())
    if not ours:
        return Revision("new", None, h)
    if "state" in ours:
        found = conn.execute(select(state.c.value).where(state.c.key == "schema_version")).scalar()
        if found == str(LEGACY_VERSION):
            return Revision("behind", None, h)
        return Revision("foreign", f"schema_version {found or 'unknown'}", h)
    return Revision("foreign", "some tables, no schema version", h)


def _create(conn: Connection) -> None:
    """A new store at head: the tables as schema.py says (the migrations agree: tested)."""
    metadata.create_all(conn)
    conn.execute(state.insert().values(key="schema_version", value=MIGRATED_MARK))
    command.stamp(config(conn), "head")


def refusal(store: Store, rev: Revision) -> ConfigError:
    if rev.state == "behind":
        what = f"the store is {rev.describe()}: {UPGRADE}"
    elif rev.state == "ahead":
        what = (f"the store is {rev.describe()}; upgrade xunjian, or restore the backup taken "
                "before that upgrade")
    else:
        what = (f"the store is {rev.describe()}; move it aside (a store from before the first "
                "release cannot be upgraded)")
    return ConfigError([Problem(store.shown(), "", what)])


def ensure_current(engine: Engine, store: Store) -> None:
    """Create a new store at head; refuse one that is behind, ahead or foreign."""
    with engine.connect() as conn:
        rev = revision(conn)
    if rev.state == "current":
        return
    if rev.state != "new":
        raise refusal(store, rev)
    with engine.begin() as conn:
        serialize(conn, "schema")
        rev = revision(conn)  # another process may have created it meanwhile
        if rev.state == "new":
            _create(conn)
        elif rev.state != "current":
            raise refusal(store, rev)


def backup_sqlite(path: Path, rev: str | None) -> Path:
    """A consistent copy of a SQLite store (the backup API: pages copied under a read lock,
    WAL included), next to it in backups/; returns its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = path.parent / "backups" / f"{path.stem}-{rev or 'v' + str(LEGACY_VERSION)}-{stamp}.db"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".db.part")
    src = sqlite3.connect(path)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    part.replace(dest)
    return dest


@dataclass(frozen=True, slots=True)
class Upgraded:
    before: Revision
    after: str
    backup: Path | None


def upgrade(engine: Engine, store: Store) -> Upgraded:
    """Bring the store to head in one transaction (a failure leaves it as it was)."""
    with engine.connect() as conn:
        before = revision(conn)
    if before.state in ("ahead", "foreign"):
        raise refusal(store, before)
    if before.state == "current":
        return Upgraded(before, before.head, None)
    backup = None
    if before.state == "behind" and store.path is not None:
        backup = backup_sqlite(store.path, before.revision)
    with engine.begin() as conn:
        serialize(conn, "schema")
        now = revision(conn)
        if now.state == "new":
            _create(conn)
        elif now.state == "behind":
            if now.revision is None:  # written before migrations: it is the baseline
                command.stamp(config(conn), BASELINE)
                conn.execute(state.update().where(state.c.key == "schema_version")
                             .values(value=MIGRATED_MARK))
            command.upgrade(config(conn), "head")
        elif now.state != "current":
            raise refusal(store, now)
    return Upgraded(before, head(), backup)


def draft(message: str) -> Path:
    """For developers: a new revision drafted from the difference between schema.py and the
    migrations so far (applied to a scratch SQLite store). Review it, then test it."""
    import tempfile

    from agent.store.engines import make_engine, sqlite_store

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(sqlite_store(Path(tmp)))
        with engine.begin() as conn:
            command.upgrade(config(conn), "head")
            script = command.revision(config(conn), message, autogenerate=True,
                                      rev_id=f"{int(head()) + 1:04d}")
        engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


if __name__ == "__main__":  # python -m agent.store.migrate "what changed"
    import sys

    print(draft(" ".join(sys.argv[1:]) or "schema change"))
