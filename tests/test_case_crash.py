"""kill -9 while case events are written, 20 times: no event lost, no case torn, never two
open cases for one fault — on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from agent.store.db import make_engine, store_of
from tests.peers import wait_until

ROOT = Path(__file__).resolve().parent.parent
STATUS_AFTER = {"open": "open", "ack": "acknowledged", "resolve": "resolved", "close": "closed"}


def event_count(engine: Engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM case_events")).scalar_one())
    except DBAPIError:
        return 0  # the schema is not there yet


def check_invariants(engine: Engine) -> int:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        dup = conn.execute(text("SELECT device, check_name, instance, count(*) FROM cases WHERE status "
                                "IN ('open', 'acknowledged') GROUP BY 1, 2, 3 HAVING count(*) > 1"))
        assert dup.fetchall() == []
        cases = conn.execute(text("SELECT id, number, status, acknowledged_at FROM cases")).fetchall()
        for case_id, number, status, _acked in cases:
            events = conn.execute(text("SELECT seq, kind FROM case_events WHERE case_id = :c ORDER BY seq"),
                                  {"c": case_id}).fetchall()
            assert [s for s, _ in events] == list(range(1, len(events) + 1)), number
            assert events[0][1] == "open", number
            expected = None
            for _, kind in events:
                if kind == "reopen":
                    expected = "reopen"
                elif kind in STATUS_AFTER:
                    expected = STATUS_AFTER[kind]
            if expected == "reopen":
                assert status in ("open", "acknowledged"), number
            else:
                assert status == expected, (number, status, [k for _, k in events])
        return len(cases)


def test_kill_minus_nine_twenty_times(store: str) -> None:
    db = make_engine(store_of(store))
    rnd = random.Random(20261122)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(20):
        before = event_count(db)
        proc = subprocess.Popen([sys.executable, "-m", "tests.crash_worker", store, str(round_)],
                                cwd=ROOT, env=env, stderr=subprocess.PIPE)
        target = before + rnd.randint(1, 60)

        def reached(target: int = target, proc: subprocess.Popen[bytes] = proc) -> bool:
            return event_count(db) >= target or proc.poll() is not None

        try:
            wait_until(reached, timeout=60, interval=0.002, what=f"{target} events")
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert event_count(db) >= target
        check_invariants(db)
    assert check_invariants(db) > 0
    db.dispose()
