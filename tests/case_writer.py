"""Writes cases and people's actions on them, as fast as it can, beside another writer (used by
test_store_concurrency.py). Prints what it wrote, as JSON, when done.

python -m tests.case_writer STORE NAME SEED COUNT
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.queries import list_cases
from agent.store.db import open_engine
from core.model import Status, Verdict

KEYS = [("db01", "disk_used_percent", "/"), ("sw1", "collect.snmp", "")]  # few: the writers collide


def main() -> None:
    where, name, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    ce = CaseEngine(open_engine(where))
    done: Counter[str] = Counter()
    for _ in range(count):
        device, check, instance = rnd.choice(KEYS)
        roll = rnd.random()
        if roll < 0.4:
            status = Status.OK if roll < 0.1 else rnd.choice((Status.WARN, Status.CRIT))
            ce.apply([Verdict(device, check, status, instance, rnd.random() * 100, level=2)])
            continue
        open_ = list_cases(ce.engine, "open")
        if not open_:
            continue
        case = rnd.choice(open_)
        action = "ack" if roll < 0.6 else "note"
        try:
            ce.act(case.number, action, name, note=f"{name} {done[action]}")
        except CaseError:
            continue  # acknowledged or resolved by the other writer meanwhile: nothing written
        done[action] += 1
    print(json.dumps(done))


if __name__ == "__main__":
    main()
