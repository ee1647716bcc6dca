"""Two processes writing cases and people's actions into one store at once (PostgreSQL, where
the writers really run side by side, and SQLite): never two
open cases for one fault, no event lost (every action a writer saw succeed is in the history),
every case's events numbered 1, 2, 3… with no gap or repeat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from agent.store.db import open_engine
from tests.test_case_crash import check_invariants

ROOT = Path(__file__).resolve().parent.parent


def test_two_writers_at_once(store: str) -> None:
    url = store
    engine = open_engine(url)  # created before the writers start: they race on cases, not on DDL
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {name: subprocess.Popen([sys.executable, "-m", "tests.case_writer", url, name, str(seed), "800"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, seed in (("alice", 1), ("bob", 2))}
    done = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        done[name] = Counter(json.loads(out))
    assert all(d["note"] > 20 for d in done.values()) and sum(d["ack"] for d in done.values()) > 0, done
    with engine.connect() as conn:
        written = Counter({(actor, kind): n for actor, kind, n in conn.execute(text(
            "SELECT actor, kind, count(*) FROM case_events WHERE kind IN ('ack', 'note') GROUP BY 1, 2"))})
    assert written == Counter({(name, kind): n for name, d in done.items() for kind, n in d.items()})
    assert check_invariants(engine) > 1
    engine.dispose()
