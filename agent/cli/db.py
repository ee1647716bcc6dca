"""`xunjian db …`: the store's schema (upgrade, current, history) and moving a store (copy)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import ConfigOpt, DataDirOpt, err, out

if TYPE_CHECKING:
    from agent.store.db import Store

app = typer.Typer(help="The store: upgrade its schema, show its revision and the migrations, "
                  "copy it between SQLite and PostgreSQL.", no_args_is_help=True)


def _store(config: Path | None, data_dir: Path | None) -> Store:
    from agent.config import load_config
    from agent.store.db import configured_store

    return configured_store(load_config(config), data_dir)


@app.command("upgrade")
def upgrade(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Bring the store's schema to this xunjian's revision, in one transaction.

    A SQLite store is first copied with SQLite's backup API into backups/ beside it (the path
    is printed). For PostgreSQL take a pg_dump first. A new store is created.

    Examples:

      xunjian db upgrade

      xunjian db upgrade --data-dir /var/lib/xunjian
    """
    from sqlalchemy.exc import OperationalError

    from agent.store.db import make_engine, unreachable
    from agent.store.migrate import upgrade as run_upgrade

    store = _store(config, data_dir)
    engine = make_engine(store)
    try:
        done = run_upgrade(engine, store)
    except OperationalError as e:
        raise unreachable(store, e) from None
    finally:
        engine.dispose()
    out.print(f"store: {store.shown()}", markup=False)
    if done.backup is not None:
        out.print(f"backup: {done.backup}", markup=False)
    elif not store.sqlite and done.before.state == "behind":
        out.print("backup: none taken by xunjian for a PostgreSQL server (the README says: pg_dump "
                  "before `db upgrade`)", markup=False)
    before = done.before
    if before.state == "current":
        out.print(f"already at revision {done.after} (head): nothing to do", markup=False)
    elif before.state == "new":
        out.print(f"created at revision {done.after}", markup=False)
    else:
        out.print(f"upgraded from revision {before.revision or 'none (before migrations)'} "
                  f"to {done.after}", markup=False)


@app.command("current")
def current(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the store's schema revision and whether this xunjian can use it.

    Exit code 0 when it is at this xunjian's revision, 1 otherwise (new, behind or ahead).
    """
    from sqlalchemy.exc import OperationalError

    from agent.store.db import make_engine, unreachable
    from agent.store.migrate import revision

    store = _store(config, data_dir)
    engine = make_engine(store)
    try:
        with engine.connect() as conn:
            rev = revision(conn)
    except OperationalError as e:
        raise unreachable(store, e) from None
    finally:
        engine.dispose()
    out.print(f"store: {store.shown()}", markup=False)
    out.print(f"{rev.state}: {rev.describe()}", markup=False)
    if rev.state == "behind":
        err.print("xunjian: run `xunjian db upgrade`", markup=False)
    if rev.state != "current":
        raise typer.Exit(1)


@app.command("history")
def history() -> None:
    """List the schema revisions this xunjian knows, newest first."""
    from agent.store.migrate import head
    from agent.store.migrate import history as revisions

    h = head()
    for s in revisions():
        title = (s.doc or "").strip().splitlines()[0] if s.doc else ""
        mark = " (head)" if s.revision == h else ""
        out.print(f"{s.revision}{mark}  {title}", markup=False)


@app.command("copy")
def copy(
    source: Annotated[str, typer.Option("--from", help="The store to read: a data directory "
                                        "(SQLite in it) or a URL.", show_default=False)],
    target: Annotated[str, typer.Option("--to", help="The store to write, empty or new: a data "
                                        "directory or a URL.", show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Copy every row of one store into another (SQLite → PostgreSQL, or back), then check
    row counts per table and the case/event invariants on the copy.

    A password in a URL is given by reference, ${ENV_VAR} or ${secret:key} (the config's
    secrets file), or left out (libpq's PGPASSWORD or ~/.pgpass then apply).

    Examples:

      xunjian db copy --from var --to 'postgresql+psycopg://xunjian@db1:5432/xunjian'

      XJ_PG=… xunjian db copy --from 'postgresql+psycopg://xunjian:${XJ_PG}@db1/xunjian' --to /srv/xj-var
    """
    from agent.config import load_config
    from agent.store.copy import copy_store, resolve_store

    cfg = load_config(config)
    src = resolve_store(source, cfg, "--from")
    dst = resolve_store(target, cfg, "--to")
    report = copy_store(src, dst, progress=lambda table, n: err.print(f"  {table}: {n} rows",
                                                                     markup=False))
    out.print(f"copied {src.shown()} → {dst.shown()}: {report.rows} rows in {len(report.counts)} "
              f"tables, {report.cases} cases, {report.events} case events; counts and invariants "
              "checked", markup=False)
