"""Schema migrations: a store written before migrations (tests/fixtures/store_v7.sql, made by the
release at commit 004dfc8) upgrades in place with every row kept and a backup taken first; a
store behind or ahead is refused by the CLI and the daemon; the migrations build exactly the
schema that schema.py describes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from agent.store.db import make_engine, open_engine, store_of
from agent.store.migrate import MIGRATED_MARK, head, revision
from agent.store.schema import metadata
from core.problems import ConfigError
from tests.helpers import cli

V7 = Path(__file__).parent / "fixtures" / "store_v7.sql"
ADDED = {"case_reports", "case_clocks", "duty_shifts", "plans", "plan_events", "mail_messages"}  # tables added by revisions after the baseline


def v7_store(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "xunjian.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(V7.read_text())
    conn.close()
    return db


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of today's release, in a stable order."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT IN ('alembic_version')")]
        out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    conn.close()
    return out


def said(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_a_store_from_before_migrations_upgrades_in_place_and_keeps_every_row(tmp_path: Path) -> None:
    db = v7_store(tmp_path / "var")
    before = dump(db)
    assert set(before) == set(metadata.tables) - ADDED and all(before.values()), "a row in every table"

    r = cli("cases", "list", "--data-dir", str(tmp_path / "var"))
    assert r.returncode == 2 and "xunjian db upgrade" in said(r.stderr) and "Traceback" not in r.stderr
    assert dump(db) == before  # refused: nothing written
    r = cli("db", "current", "--data-dir", str(tmp_path / "var"))
    assert r.returncode == 1 and "behind" in r.stdout

    r = cli("db", "upgrade", "--data-dir", str(tmp_path / "var"))
    assert r.returncode == 0, r.stderr
    backup = Path(next(ln for ln in r.stdout.splitlines() if ln.startswith("backup: "))[8:])
    assert backup.parent == tmp_path / "var" / "backups" and backup.exists()
    assert dump(backup) == before  # a consistent copy of the store as it was
    assert f"to {head()}" in r.stdout

    after = dump(db)
    state = dict(after.pop("state"))
    assert state.pop("schema_version") == MIGRATED_MARK
    assert {t: after.pop(t) for t in ADDED} == {t: [] for t in ADDED}
    # 0002: every case of the old store was opened by a rule, in no category
    assert after.pop("cases") == sorted([(*r, "rule", "", "fault") for r in before["cases"]], key=repr)
    assert after == {t: rows for t, rows in before.items() if t not in ("state", "cases")}
    assert state == {k: v for k, v in before["state"] if k != "schema_version"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head(),)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    r = cli("cases", "list", "--status", "all", "--format", "json", "--data-dir", str(tmp_path / "var"))
    assert r.returncode == 0 and "F-20251021-0001" in r.stdout
    assert cli("db", "current", "--data-dir", str(tmp_path / "var")).returncode == 0
    r = cli("db", "upgrade", "--data-dir", str(tmp_path / "var"))
    assert r.returncode == 0 and "nothing to do" in r.stdout and "backup" not in r.stdout


def test_a_store_written_by_a_newer_xunjian_is_refused_by_the_cli_and_the_daemon(tmp_path: Path) -> None:
    data = tmp_path / "var"
    engine = open_engine(data)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    engine.dispose()
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: here, collectors: [local], interval: 1}\n")
    for args in (("cases", "list"), ("run",), ("db", "upgrade")):
        r = cli(*args, "--data-dir", str(data), cwd=tmp_path, timeout=60)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "f00dcafe" in r.stderr and "a newer xunjian wrote it" in said(r.stderr), args
        assert "Traceback" not in r.stderr
    with pytest.raises(ConfigError, match="newer xunjian"):
        open_engine(data)


def test_a_store_older_than_the_first_release_is_refused(tmp_path: Path) -> None:
    db = v7_store(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE state SET value = '5' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(ConfigError, match="schema_version 5"):
        open_engine(tmp_path)
    r = cli("db", "upgrade", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "move it aside" in said(r.stderr) and not (tmp_path / "backups").exists()


NEXT = '''"""a later change (test only): cases get a note column, filled from their number"""

import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as b:
        b.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.execute("UPDATE cases SET note = 'was ' || number")
    FAIL


def downgrade() -> None:
    pass
'''


def next_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, base: str) -> None:
    """This xunjian's migrations plus a revision 9002 after its head (one that fails halfway when
    `fail`)."""
    import shutil

    from agent.store import migrate

    d = tmp_path / f"migrations-{fail}"
    shutil.copytree(migrate.MIGRATIONS, d, ignore=shutil.ignore_patterns("__pycache__"))
    (d / "versions" / "9002_note.py").write_text(NEXT.replace('"HEAD"', repr(base)).replace("    FAIL\n", "    op.execute('SELECT * FROM no_such_table')\n"
                                                              if fail else ""))
    monkeypatch.setattr(migrate, "MIGRATIONS", d)
    migrate.scripts.cache_clear()  # and again when the test ends


def test_a_later_revision_upgrades_a_store_in_one_transaction_on_either_backend(
        store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cases.engine import CaseEngine
    from agent.store import migrate
    from core.model import Status, Verdict

    engine = open_engine(store)  # at this xunjian's head
    base = head()
    CaseEngine(engine).apply([Verdict("db01", "disk_used_percent", Status.CRIT, "/", 97.0, level=2)])
    with engine.connect() as conn:
        before = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in metadata.tables}
    s = store_of(store)
    try:
        next_revision(tmp_path, monkeypatch, fail=True, base=base)
        with pytest.raises(ConfigError, match=f"at revision {base}; this xunjian needs 9002"):
            open_engine(store)
        with pytest.raises(Exception, match="no_such_table"):
            migrate.upgrade(make_engine(s), s)
        with engine.connect() as conn:  # rolled back: still at base, no new column
            assert revision(conn).revision == base
            assert "note" not in {c["name"] for c in inspect(conn).get_columns("cases")}

        next_revision(tmp_path, monkeypatch, fail=False, base=base)
        done = migrate.upgrade(make_engine(s), s)
        assert (done.before.revision, done.after) == (base, "9002")
        assert (done.backup is not None) == s.sqlite  # SQLite: a copy at base first
        with engine.connect() as conn:
            assert revision(conn).state == "current"
            assert conn.execute(text("SELECT note FROM cases")).scalars().all() == \
                [f"was {n}" for n in conn.execute(text("SELECT number FROM cases")).scalars()]
            assert {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in metadata.tables} == before
        if done.backup is not None:
            with sqlite3.connect(done.backup) as b:
                assert b.execute("SELECT version_num FROM alembic_version").fetchall() == [(base,)]
            b.close()
        open_engine(store).dispose()
    finally:
        engine.dispose()
        monkeypatch.undo()
        migrate.scripts.cache_clear()


def test_0002_keeps_the_cases_of_a_store_at_0001_on_either_backend(store: str) -> None:
    """A store written at revision 0001 (one case, its events) upgrades to head: every value
    kept, the case marked rule-opened, and the engine goes on with it."""
    from alembic import command

    from agent.cases.engine import CaseEngine
    from agent.store import migrate
    from core.model import Status, Verdict

    s = store_of(store)
    engine = make_engine(s)
    with engine.begin() as conn:
        command.upgrade(migrate.config(conn), "0001")
        conn.execute(text(
            "INSERT INTO cases (id, number, device, check_name, instance, level, opened_level, status, "
            "severity, opened_at, updated_at, policy, response_due, repair_due, response_breached, "
            "repair_breached, paused_seconds, flapping, fault_type, cause, handling, loss, threshold, "
            "message) VALUES (1, 'F-20261201-0001', 'db01', 'disk_used_percent', '/u01', 2, 3, 'open', "
            "'crit', 1764550800.25, 1764550800.25, 'default', 1764554400.0, 1764572400.0, 1, 0, 0.0, "
            "0, '', '', '', '', 'crit >= 95%', '/u01: 97%')"))
        conn.execute(text("INSERT INTO case_events (case_id, seq, at, kind, actor, detail) "
                          "VALUES (1, 1, 1764550800.25, 'open', 'system', '{\"level\": 3}')"))
    with engine.connect() as conn:
        assert revision(conn).state == "behind"
        before = conn.execute(text("SELECT * FROM cases")).mappings().one()
    done = migrate.upgrade(engine, s)
    assert (done.before.revision, done.after) == ("0001", head())
    with engine.connect() as conn:
        after = dict(conn.execute(text("SELECT * FROM cases")).mappings().one())
        assert conn.execute(text("SELECT count(*) FROM case_events")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM case_reports")).scalar() == 0
    assert (after.pop("source"), after.pop("category"), after.pop("request_class")) == ("rule", "", "fault")
    assert after == dict(before)
    ce = CaseEngine(open_engine(store), clock=lambda: 1764551000.0)
    (kind, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.CRIT, "/u01", 99.0, level=1)])
    assert kind == "update" and case.number == "F-20261201-0001" and case.source == "rule"
    assert case.level == 1 and case.severity == "crit"
    ce.engine.dispose()
    engine.dispose()


def test_0003_adds_an_empty_duty_roster_to_a_store_at_0002_on_either_backend(store: str) -> None:
    """A store at revision 0002 (one reported case) upgrades to head: the case kept, the roster
    empty, and a shift added after it assigns the next new case."""
    from alembic import command

    from agent.cases.duty import add_shift
    from agent.cases.engine import CaseEngine
    from agent.store import migrate
    from core.model import Status, Verdict

    s = store_of(store)
    engine = make_engine(s)
    with engine.begin() as conn:
        command.upgrade(migrate.config(conn), "0002")
        conn.execute(text(
            "INSERT INTO cases (number, device, check_name, instance, level, opened_level, status, "
            "severity, opened_at, updated_at, policy, response_due, repair_due, response_breached, "
            "repair_breached, paused_seconds, flapping, fault_type, cause, handling, loss, threshold, "
            "message, source, category, request_class) VALUES ('F-20261201-0001', 'enc-07', "
            "'reported', 'F-20261201-0001', 2, 2, 'open', 'reported', 1764550800.25, 1764550800.25, "
            "'default', 1764554400.0, 1764572400.0, 0, 0, 0.0, 0, '', '', '', '', '', 'no picture', "
            "'person', 'hardware', 'fault')"))
    with engine.connect() as conn:
        assert revision(conn).revision == "0002"
        before = dict(conn.execute(text("SELECT * FROM cases")).mappings().one())
    done = migrate.upgrade(engine, s)
    assert (done.before.revision, done.after) == ("0002", head())
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT * FROM cases")).mappings().one()) == before
        assert conn.execute(text("SELECT count(*) FROM duty_shifts")).scalar() == 0
    ce = CaseEngine(open_engine(store), clock=lambda: 1764551000.0)
    add_shift(ce.engine, "day", 1764550000.0, 1764560000.0, ["li.na"], False, "desk", 1764550000.0)
    changes = ce.apply([Verdict("db01", "disk_used_percent", Status.CRIT, "/u01", 99.0, level=1)])
    assert [k for k, _ in changes] == ["open", "assign"] and changes[-1][1].assignee == "li.na"
    ce.engine.dispose()
    engine.dispose()


def test_0004_adds_planned_work_to_a_store_at_0003_on_either_backend(store: str) -> None:
    """A store at revision 0003 (a shift on the roster) upgrades to head: the shift kept, no
    plans yet, and a plan made after it is numbered and judged."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from alembic import command

    from agent.cases.plans import Plans
    from agent.store import migrate

    s = store_of(store)
    engine = make_engine(s)
    with engine.begin() as conn:
        command.upgrade(migrate.config(conn), "0003")
        conn.execute(text("INSERT INTO duty_shifts (name, starts_at, ends_at, people, watch, created_at, "
                          "created_by) VALUES ('day', 1764550000.0, 1764560000.0, '[\"li.na\"]', 0, "
                          "1764550000.0, 'desk')"))
    with engine.connect() as conn:
        before = [dict(r) for r in conn.execute(text("SELECT * FROM duty_shifts")).mappings()]
    done = migrate.upgrade(engine, s)
    assert (done.before.revision, done.after) == ("0003", head())
    with engine.connect() as conn:
        assert [dict(r) for r in conn.execute(text("SELECT * FROM duty_shifts")).mappings()] == before
        assert conn.execute(text("SELECT count(*) FROM plans")).scalar() == 0
    plans = Plans(open_engine(store), {}, ZoneInfo("Asia/Shanghai"))
    p = plans.add("专项巡检", date(2026, 12, 20), 1765000000.0, "desk")
    assert p.number == "P-202612-001" and plans.lapse(p, date(2026, 12, 21)).startswith("计划工作未按期完成")
    plans.engine.dispose()
    engine.dispose()


def test_0005_adds_an_empty_mail_record_to_a_store_at_0004_on_either_backend(store: str) -> None:
    """A store at revision 0004 (one reported case) upgrades to head: the case kept, no mail
    taken yet, and a message recorded with a case after it is found by its UID."""
    from alembic import command
    from sqlalchemy import insert, select

    from agent.store import migrate
    from agent.store.schema import mail_messages

    s = store_of(store)
    engine = make_engine(s)
    with engine.begin() as conn:
        command.upgrade(migrate.config(conn), "0004")
        conn.execute(text(
            "INSERT INTO cases (number, device, check_name, instance, level, opened_level, status, "
            "severity, opened_at, updated_at, policy, response_due, repair_due, response_breached, "
            "repair_breached, paused_seconds, flapping, fault_type, cause, handling, loss, threshold, "
            "message, source, category, request_class) VALUES ('F-20261201-0001', '', "
            "'reported', 'F-20261201-0001', 2, 2, 'open', 'reported', 1764550800.25, 1764550800.25, "
            "'default', 1764554400.0, 1764572400.0, 0, 0, 0.0, 0, '', '', '', '', '', 'mailed', "
            "'person', 'mail', 'fault')"))
    with engine.connect() as conn:
        assert revision(conn).revision == "0004"
        before = dict(conn.execute(text("SELECT * FROM cases")).mappings().one())
    done = migrate.upgrade(engine, s)
    assert (done.before.revision, done.after) == ("0004", head())
    with engine.begin() as conn:
        assert dict(conn.execute(text("SELECT * FROM cases")).mappings().one()) == before
        assert conn.execute(text("SELECT count(*) FROM mail_messages")).scalar() == 0
        conn.execute(insert(mail_messages).values(
            mailbox="desk@imap:993/INBOX", uidvalidity=1733600000, uid=7, message_id="<a@b>", at=1.0,
            action="case", case_id=before["id"], sender="a@b", subject="s", reason="", ack_id="<ack@x>",
            ack_attempts=0, ack_error=""))
        row = conn.execute(select(mail_messages).where(mail_messages.c.uid == 7)).one()
    assert (row.uidvalidity, row.case_id, row.ack_sent_at) == (1733600000, before["id"], None)
    engine.dispose()
