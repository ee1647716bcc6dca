"""The store's schema on both backends (SQLite and a private PostgreSQL): created at the head
revision, the migrations build exactly schema.py, a store behind or ahead is refused with one
clear message, one open case per fault is the database's rule, times, 64-bit numbers and JSON
come back exactly as written, and the PostgreSQL password is never printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from agent.store.db import make_engine, open_engine, store_of
from agent.store.migrate import config, head, revision
from agent.store.schema import assets, cases, metadata, outbox, playbook_runs, samples
from core.problems import ConfigError
from tests.helpers import cli
from tests.pg_peer import PASSWORD


def store_args(tmp_path: Path, store: str) -> tuple[list[str], dict[str, str]]:
    """CLI arguments and environment naming `store` as a user would: --data-dir for SQLite;
    for PostgreSQL store.url in xunjian.yaml with the password by reference."""
    if "://" not in store:
        return ["--data-dir", store], {}
    url = store.replace(f":{PASSWORD}@", "@")
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"store": {"url": url, "password": "${XJ_PG_PW}"}}))
    return ["-c", str(tmp_path / "xunjian.yaml")], {"XJ_PG_PW": PASSWORD}


def said(text_: str) -> str:
    return " ".join(text_.split())


def test_the_migrations_alone_build_what_schema_py_says(store: str) -> None:
    engine = make_engine(store_of(store))
    with engine.begin() as conn:
        command.upgrade(config(conn), "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []
        assert revision(conn).state == "current"
    engine.dispose()
    open_engine(store).dispose()  # and the store opens


def test_a_new_store_is_created_at_head(store: str) -> None:
    engine = open_engine(store)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
        assert conn.execute(text("SELECT value FROM state WHERE key = 'schema_version'")).scalar() == "8"
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []
    engine.dispose()
    open_engine(store).dispose()  # opens again as it is


def test_a_store_written_by_a_newer_xunjian_is_refused_with_one_message(store: str, tmp_path: Path) -> None:
    """(A store behind: tests/test_migrations.py, from a real older store.)"""
    engine = open_engine(store)
    args, env = store_args(tmp_path, store)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    expected = "a newer xunjian wrote it"
    with pytest.raises(ConfigError, match=expected):
        open_engine(store)
    for cmd in (("cases", "list"), ("db", "upgrade")):
        r = cli(*cmd, *args, env=env)
        assert r.returncode == 2 and expected in said(r.stderr) and "Traceback" not in r.stderr
        assert PASSWORD not in r.stdout + r.stderr
    r = cli("db", "current", *args, env=env)
    assert r.returncode == 1 and "ahead" in r.stdout and PASSWORD not in r.stdout + r.stderr
    engine.dispose()


def test_one_open_case_per_fault_is_the_databases_rule(store: str) -> None:
    engine = open_engine(store)
    row = {"device": "db01", "check_name": "disk_used_percent", "instance": "/", "level": 2,
           "opened_level": 2, "severity": "crit", "opened_at": 1.0, "updated_at": 1.0}
    with engine.begin() as conn:
        conn.execute(insert(cases).values(number="F-1", status="resolved", **row))
        conn.execute(insert(cases).values(number="F-2", status="open", **row))
        conn.execute(insert(cases).values(number="F-3", status="closed", **row))
    for status in ("open", "acknowledged"):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(cases).values(number="F-4", status=status, **row))
    with engine.begin() as conn:  # another instance of the check is another fault
        conn.execute(insert(cases).values(number="F-5", status="open", **{**row, "instance": "/u01"}))
    engine.dispose()


def test_times_big_numbers_and_json_come_back_exactly(store: str) -> None:
    engine = open_engine(store)
    when = 1_800_000_000.123456  # epoch seconds, UTC: microseconds kept
    ns = 1_800_000_000_123_456_789  # a sample's time in ns: beyond 32 bits
    doc = '{"z": 1, "a": {"磁盘": "/u01", "b": [1.5, null]}}'  # key order and text kept verbatim
    with engine.begin() as conn:
        conn.execute(insert(samples).values(time=ns, device="db01", measurement="disk", tags=doc, fields="{}"))
        conn.execute(insert(assets).values(device="db01", record="{}", sources=doc, first_seen=when,
                                           updated_at=when))
        conn.execute(insert(playbook_runs).values(
            started_at=when, finished_at=when + 1, actor="li.na", device="db01", playbook="clean-logs",
            mode="apply", params="{}", plan="{}", result="ok", bytes_freed=5 * 2**40, duration=1.0))
    with engine.connect() as conn:
        assert conn.execute(select(samples.c.time, samples.c.tags)).one() == (ns, doc)
        assert conn.execute(select(assets.c.first_seen, assets.c.sources)).one() == (when, doc)
        assert conn.execute(select(playbook_runs.c.bytes_freed)).scalar() == 5 * 2**40
    engine.dispose()


def test_an_unreachable_postgresql_is_one_message_without_the_password(tmp_path: Path) -> None:
    from tests.peers import free_port

    url = f"postgresql+psycopg://xunjian@127.0.0.1:{free_port()}/xunjian"
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"store": {"url": url, "password": "${XJ_PG_PW}"}}))
    r = cli("cases", "list", "-c", str(tmp_path / "xunjian.yaml"), env={"XJ_PG_PW": "s3cret-Pw"})
    assert r.returncode == 2 and "cannot open the store" in said(r.stderr), r.stderr
    assert "s3cret-Pw" not in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert "xunjian:***@127.0.0.1" in r.stderr
    # a literal password in the config is refused before anything connects
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"store": {"url": url.replace("xunjian@", "xunjian:pw@")}}))
    r = cli("cases", "list", "-c", str(tmp_path / "xunjian.yaml"))
    assert r.returncode == 2 and "no password in the URL" in said(r.stderr) and ":pw@" not in r.stderr


def test_the_daemon_runs_a_cycle_on_either_backend(store: str, tmp_path: Path) -> None:
    """`xunjian run --once` with the store named as a user names it: samples, their rollups
    (an upsert), collector state (an upsert) and the collection records written."""
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: here, collectors: [local], interval: 60}\n")
    args, env = store_args(tmp_path, store)
    cfg = tmp_path / "xunjian.yaml"
    doc = json.loads(cfg.read_text()) if cfg.exists() else {}
    cfg.write_text(json.dumps({**doc, "data_dir": "var", "inventory": "inventory.yaml",
                               "daemon": {"listen": "off"}}))
    for _ in range(2):  # the second cycle merges into the first one's rollups
        r = cli("run", "--once", *(["-c", str(cfg)] if args[0] == "-c" else ["-c", str(cfg), *args]),
                cwd=tmp_path, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        assert PASSWORD not in r.stdout + r.stderr
        # the store names itself (the log filter takes any user:password@ out of a URL)
        assert (re.search(r"store: postgresql\+psycopg://(xunjian:\*\*\*@)?127\.0\.0\.1", r.stderr)
                if "://" in store else f"store: {store}/xunjian.db" in r.stderr), r.stderr
    engine = open_engine(store)
    with engine.connect() as conn:
        n = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("samples", "rollups", "collections")}
        counts = conn.execute(text("SELECT max(count) FROM rollups")).scalar()
        keys = conn.execute(text("SELECT count(*) FROM state WHERE key LIKE 'eval:here:%'")).scalar()
    engine.dispose()
    assert n["samples"] > 0 and n["rollups"] > 0 and n["collections"] == 2 and counts == 2 and keys == 1, n


def test_retention_prunes_delivered_outbox_items_only(store: str) -> None:
    from agent.hooks.outbox import prune

    engine = open_engine(store)
    row = {"device": "db01", "check_name": "c", "instance": "", "level": 2, "opened_level": 2,
           "severity": "crit", "opened_at": 1.0, "updated_at": 1.0, "status": "open", "number": "F-1"}
    with engine.begin() as conn:
        case_id = conn.execute(insert(cases).values(**row)).inserted_primary_key[0]
        for i, (status, done_at, created) in enumerate((("done", 100.0, 50.0), ("done", 900.0, 50.0),
                                                        ("cancelled", None, 50.0), ("dead", None, 50.0),
                                                        ("pending", None, 50.0))):
            conn.execute(insert(outbox).values(
                case_id=case_id, case_number="F-1", seq=i + 1, kind="open", channel="hook", key=f"F-1#{i + 1}",
                payload="{}", status=status, created_at=created, next_at=created, done_at=done_at))
    assert prune(engine, before=500.0) == 2  # the old delivery and the cancelled one
    with engine.connect() as conn:
        assert sorted(conn.execute(select(outbox.c.status)).scalars()) == ["dead", "done", "pending"]
    engine.dispose()


@pytest.mark.parametrize(("store_doc", "expected"), [
    ({"url": "mysql://xunjian@db1/xunjian"}, "a URL for sqlite or postgresql+psycopg"),
    ({"url": "postgresql://xunjian@db1/xunjian"}, "psycopg 3: postgresql+psycopg://"),
    ({"url": "postgresql+psycopg://xunjian:hunter2@db1/xunjian"}, "no password in the URL"),
    ({"url": "postgresql+psycopg://xunjian@db1/xunjian", "password": "hunter2"}, "a reference"),
    ({"url": "postgresql+psycopg://xunjian@db1/xunjian", "password": "${XJ_UNSET_PW}"},
     "environment variable XJ_UNSET_PW is not set"),
    ({"uri": "postgresql+psycopg://db1/x"}, "uri"),
])
def test_a_bad_store_setting_is_one_message_naming_the_place(tmp_path: Path, store_doc: dict[str, str],
                                                             expected: str) -> None:
    from agent.config import load_config

    (tmp_path / "xunjian.yaml").write_text(json.dumps({"store": store_doc}))
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "xunjian.yaml", env={})
    text_ = " ".join(str(p) for p in e.value.problems)
    assert "store" in text_ and expected in text_ and "hunter2" not in text_, text_
