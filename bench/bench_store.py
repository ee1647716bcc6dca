"""The store on its two backends, side by side in one run: case-event writes per second (one
writer, then two processes at once) and the periodic report's gather time over half a year of
history. SQLite is the embedded file (WAL, synchronous=NORMAL); PostgreSQL is a private server
on 127.0.0.1 (tests/pg_peer.py) with its default durability (fsync on, synchronous_commit on).

    .venv/bin/python -m bench.bench_store [CASES] [NOTES_PER_CASE] [DEVICES] [DAYS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from agent.cases.engine import CaseEngine
from agent.store.db import open_engine
from agent.store.schema import case_events
from bench.bench_report import SWITCH_EVERY, TZ, fill
from bench.common import section, timed
from core.model import Status, Verdict
from reports.periodic import periodic_data
from tests.pg_peer import PostgresPeer

ROOT = Path(__file__).resolve().parent.parent


def events(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(case_events)).scalar_one())


def case_writes(where: str, cases: int, notes: int) -> tuple[int, float]:
    """One writer: open `cases` cases (one verdict each), then `notes` notes on each."""
    engine = open_engine(where)
    ce = CaseEngine(engine)
    before = events(engine)
    with timed() as t:
        numbers = []
        for i in range(cases):
            (_, case), = ce.apply([Verdict(f"dev{i:04d}", "disk_used_percent", Status.CRIT, "/", 97.0, level=2)])
            numbers.append(case.number)
        for n in range(notes):
            for number in numbers:
                ce.act(number, "note", "bench", note=f"note {n}")
    written = events(engine) - before
    engine.dispose()
    return written, t.wall


def two_writers(where: str, ops: int) -> tuple[int, float]:
    """Two processes (tests/case_writer.py) writing cases and actions on the same faults."""
    engine = open_engine(where)
    before = events(engine)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.case_writer", where, name, str(seed), str(ops)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
             for name, seed in (("a", 1), ("b", 2))]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("a case writer failed")
    wall = time.perf_counter() - t0
    written = events(engine) - before
    engine.dispose()
    return written, wall


def gather(where: str, devices: int, checks: int, days: int) -> tuple[float, float]:
    first = date(2026, 1, 1)
    last = first + timedelta(days=days - 1)
    engine = open_engine(where)
    t0 = time.perf_counter()
    fill(engine, devices, checks, days, first)
    fill_s = time.perf_counter() - t0
    inv = [{"name": f"dev{i:04d}", "kind": "switch" if i % SWITCH_EVERY == 0 else "server",
            "address": "10.0.0.1", "groups": [], "site": ""} for i in range(devices)]
    with timed() as t:
        periodic_data(engine, first, last, TZ, inv, {"customer": "bench", "number": "XJ-1"})
    engine.dispose()
    return fill_s, t.wall


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    notes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    devices = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    days = int(sys.argv[4]) if len(sys.argv) > 4 else 182
    checks = 30
    rows: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp, PostgresPeer(durable=True) as pg:
        for name, store in (("SQLite", lambda sub: str(Path(tmp) / sub)), ("PostgreSQL", lambda _: pg.database())):
            n1, w1 = case_writes(store("writes"), cases, notes)
            n2, w2 = two_writers(store("two"), 600)
            fill_s, g = gather(store("report"), devices, checks, days)
            rows[name] = [f"{n1 / w1:,.0f}", f"{n2 / w2:,.0f}", f"{g:.1f}", f"{fill_s:.0f}"]
    print(section("Store: SQLite beside PostgreSQL (`bench/bench_store.py`)", [
        f"Case events: one writer opens {cases} cases and writes {notes} notes on each ({cases * (notes + 1):,} "
        "events, one transaction each); then two processes (tests/case_writer.py) write verdicts, "
        "acknowledgements and notes on the same two faults at once (600 operations each; wall time "
        "includes their start-up). Periodic report gather: "
        f"{devices} devices × {checks} checks × {days} days ({devices * checks * days:,} results) "
        "written straight into each store, then `periodic_data` timed. PostgreSQL "
        f"{pg.bin.parent.name} on 127.0.0.1 with fsync on (the default durability); SQLite in WAL, "
        "synchronous=NORMAL.", "",
        "| backend | case events/s, one writer | case events/s, two processes | periodic gather s | history written in s (not timed) |",
        "|---|---:|---:|---:|---:|",
        *[f"| {name} | {' | '.join(r)} |" for name, r in rows.items()],
    ]))


if __name__ == "__main__":
    main()
