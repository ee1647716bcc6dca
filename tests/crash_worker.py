"""Writes case events as fast as it can until killed (used by test_case_crash.py).

python -m tests.crash_worker STORE SEED      (STORE: a data directory, or a PostgreSQL URL)
"""

from __future__ import annotations

import contextlib
import random
import sys

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.policy import load_case_policy
from agent.store.db import open_engine
from core.model import Status, Verdict

KEYS = [("db01", "disk_used_percent", p) for p in ("/", "/u01", "/var")] + [("sw1", "collect.snmp", "")]


def main() -> None:
    where, seed = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(seed)
    now = [1_800_000_000.0 + seed * 86400]

    def clock() -> float:
        now[0] += rnd.choice((1, 30, 600, 3600))
        return now[0]

    policy = load_case_policy({"cases": {"reopen_window": "2h"}}, "test")
    ce = CaseEngine(open_engine(where), policy, {}, clock)
    while True:
        device, check, instance = rnd.choice(KEYS)
        roll = rnd.random()
        if roll < 0.5:
            status = rnd.choice((Status.OK, Status.WARN, Status.CRIT, Status.UNKNOWN))
            ce.apply([Verdict(device, check, status, instance, rnd.random() * 100,
                              level=None if status is Status.OK else rnd.choice((1, 2, 3)))])
        elif roll < 0.6:
            ce.tick()
        else:
            with ce.engine.connect() as conn:
                numbers = [r[0] for r in conn.exec_driver_sql("SELECT number FROM cases")]
            if numbers:
                action = rnd.choice(("ack", "note", "pause", "resume", "resolve", "close", "reopen"))
                kw = {"cause": "c", "handling": "h"} if action == "close" else {}
                # Not allowed in its current state (CaseError): fine, nothing is written.
                with contextlib.suppress(CaseError):
                    ce.act(rnd.choice(numbers), action, "crash", note="n", **kw)


if __name__ == "__main__":
    main()
