"""Scheduler: 20,000 jobs per 10-second cycle, spread by the daemon's stable offsets, on the
daemon's APScheduler settings. Measures start lateness (p50/p99) and scheduler CPU.

    .venv/bin/python -m bench.bench_scheduler [JOBS] [CYCLES]
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as ApsThreadPool
from apscheduler.schedulers.background import BackgroundScheduler

from agent.scheduler import offset
from bench.common import section, timed
from core.model import Job

INTERVAL = 10


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    late: list[float] = []
    lock = threading.Lock()
    sched = BackgroundScheduler(executors={"default": ApsThreadPool(max_workers=16)},
                                job_defaults={"max_instances": 1, "coalesce": True})
    start = datetime.now().astimezone() + timedelta(seconds=2)

    def tick(due: list[float]) -> None:
        now = time.time()
        with lock:
            late.append(now - due[0])
        due[0] += INTERVAL

    for i in range(n):
        job = Job(f"dev{i}", "snmp")
        first = start + timedelta(seconds=offset(job, INTERVAL))
        sched.add_job(tick, "interval", seconds=INTERVAL, next_run_time=first, args=([first.timestamp()],),
                      id=f"{job.device}/{job.collector}", misfire_grace_time=INTERVAL // 2)
    with timed() as t:
        sched.start()
        deadline = time.time() + 2 + INTERVAL * cycles
        while time.time() < deadline:
            time.sleep(0.2)
        sched.shutdown(wait=True)
    ordered = sorted(late)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    expected = n * cycles
    print(section("Scheduler", [
        f"{n:,} jobs every {INTERVAL} s, {cycles} cycles, 16 worker threads, no-op jobs.", "",
        "| runs | of expected | start lateness p50 | p99 | scheduler CPU per cycle |", "|---|---|---|---|---|",
        f"| {len(late):,} | {len(late) / expected:.1%} | {p50:.1f} ms | {p99:.1f} ms | "
        f"{t.cpu / cycles:.2f} s |", "",
        f"Target: p99 < 50 ms — {'met' if p99 < 50 else 'NOT met'}.",
    ]))


if __name__ == "__main__":
    main()
