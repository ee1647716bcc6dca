"""`xunjian db copy`: a store with history (tests/history.py, two months) moved into PostgreSQL
and back: counts and contents checked by the command, `cases list` and the periodic report
read the same from both, and the round trip gives back every row of the original."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli
from tests.pg_peer import PASSWORD

ENV = {"XJ_PG": PASSWORD}


@pytest.fixture(scope="module")
def two_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests import history

    d = tmp_path_factory.mktemp("history")
    history.build(d, days=60)
    return d


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    conn.close()
    return out


def said(text: str) -> str:
    return " ".join(text.split())


def test_copy_into_postgresql_and_back(two_months: Path, pg_peer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "h"
    shutil.copytree(two_months, d)
    url = pg_peer.database()
    ref = url.replace(f":{PASSWORD}@", ":${XJ_PG}@")  # the password by reference, as a user gives it
    r = cli("db", "copy", "--from", str(d / "var"), "--to", ref, cwd=d, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "counts and invariants checked" in said(r.stdout) and PASSWORD not in r.stdout + r.stderr
    rows = dump(d / "var" / "xunjian.db")
    assert len(rows["cases"]) >= 2 and len(rows["case_events"]) >= 10 and rows["playbook_runs"]
    assert f"{sum(len(v) for k, v in rows.items() if k != 'alembic_version')} rows" in said(r.stdout)

    # the same store, read by the CLI from either backend
    store = {"url": url.replace(f":{PASSWORD}@", "@"), "password": "${XJ_PG}"}
    (d / "xunjian-pg.yaml").write_text((d / "xunjian.yaml").read_text() + f"store: {json.dumps(store)}\n")
    outputs = []
    for args in (("cases", "list", "--status", "all", "-f", "json"),
                 ("report", "periodic", "--period", "2026H1", "-f", "md", "--lang", "en"),
                 ("report", "ledger", "--month", "2026-02", "-f", "md", "--lang", "en")):
        lite = cli(*args, "-c", str(d / "xunjian.yaml"), cwd=d)
        pg = cli(*args, "-c", str(d / "xunjian-pg.yaml"), cwd=d, env=ENV)
        assert lite.returncode == 0 and pg.returncode == 0, (args, lite.stderr, pg.stderr)
        assert pg.stdout == lite.stdout, args
        outputs.append(lite.stdout)
    assert len(json.loads(outputs[0])["cases"]) == len(rows["cases"]) and "## 3 Capacity growth" in outputs[1]

    # and back into a new SQLite store: every row of the original
    r = cli("db", "copy", "--from", ref, "--to", str(tmp_path / "back"), cwd=d, env=ENV)
    assert r.returncode == 0, r.stderr
    assert dump(tmp_path / "back" / "xunjian.db") == rows

    # a target that holds data is refused, and so is a literal password
    r = cli("db", "copy", "--from", str(d / "var"), "--to", ref, cwd=d, env=ENV)
    assert r.returncode == 2 and "not empty" in said(r.stderr) and PASSWORD not in r.stdout + r.stderr
    r = cli("db", "copy", "--from", str(d / "var"), "--to", url, cwd=d)
    assert r.returncode == 2 and "the password: a reference" in said(r.stderr) and PASSWORD not in r.stderr
