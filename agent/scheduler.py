"""The daemon's schedule: one APScheduler job per (device, collector).

Start times are spread over the interval by a stable per-job offset so that a
thousand devices do not all fire at :00; a job never overlaps itself
(max_instances=1) and missed runs are coalesced into one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.pool import ThreadPoolExecutor as ApsThreadPool
from apscheduler.schedulers.background import BackgroundScheduler

from agent.executor import Executor
from agent.inventory import Inventory
from agent.model import Job
from agent.pipeline import Pipeline

log = logging.getLogger(__name__)


def offset(job: Job, interval: int) -> float:
    """A stable offset in [0, interval): the same job starts at the same phase every time."""
    h = hashlib.sha256(f"{job.device}/{job.collector}".encode()).digest()
    return int.from_bytes(h[:8], "big") % (interval * 1000) / 1000.0


def jobs(inventory: Inventory) -> list[tuple[Job, int]]:
    return [(Job(d.name, c), d.interval) for d in inventory.devices.values() for c in d.collectors]


def run_once(inventory: Inventory, pipeline: Pipeline, workers: int = 16,
             executor: Executor | None = None) -> int:
    """One cycle of every job, now, in parallel. Returns how many jobs ran."""
    executor = executor or Executor(pipeline.load_state)
    todo = jobs(inventory)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
        for _ in pool.map(lambda ji: _run(executor, pipeline, inventory, ji[0]), todo):
            pass
    pipeline.tick()
    return len(todo)


def _run(executor: Executor, pipeline: Pipeline, inventory: Inventory, job: Job) -> None:
    device = inventory.devices[job.device]
    result = executor.run(job, device)
    if not result.collected:
        log.warning("%s/%s not collected: %s", job.device, job.collector, result.reason)
    pipeline.handle(result)


TICK_SECONDS = 30


class Background(Protocol):
    """A helper thread the daemon starts and stops with it (the hooks' delivery worker)."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...


class Daemon:
    def __init__(self, inventory: Inventory, pipeline: Pipeline, workers: int = 16,
                 hooks: Background | None = None) -> None:
        self.inventory = inventory
        self.pipeline = pipeline
        self.hooks = hooks
        self.executor = Executor(pipeline.load_state)
        self.scheduler = BackgroundScheduler(
            executors={"default": ApsThreadPool(max_workers=workers)},
            job_defaults={"max_instances": 1, "coalesce": True},
        )
        self.stopping = threading.Event()
        self.skipped = 0

    def start(self) -> None:
        now = datetime.now().astimezone()
        for job, interval in jobs(self.inventory):
            first = now + timedelta(seconds=offset(job, interval))
            self.scheduler.add_job(
                _run, "interval", seconds=interval, next_run_time=first,
                args=(self.executor, self.pipeline, self.inventory, job),
                id=f"{job.device}/{job.collector}", name=f"{job.device}/{job.collector}",
                misfire_grace_time=max(1, interval // 2),
            )
        # Case clocks: escalation needs no sample to arrive, so it has its own job.
        self.scheduler.add_job(self.pipeline.tick, "interval", seconds=TICK_SECONDS, id="case-clocks",
                               name="case clocks", next_run_time=now, misfire_grace_time=TICK_SECONDS)
        self.scheduler.add_listener(self._missed, mask=EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()
        if self.hooks is not None:
            self.hooks.start()
        log.info("scheduled %d jobs for %d devices", len(self.scheduler.get_jobs()) - 1,
                 len(self.inventory.devices))

    def _missed(self, event: object) -> None:
        self.skipped += 1
        log.warning("job %s still running at its next start: skipped (%d so far)",
                    getattr(event, "job_id", "?"), self.skipped)

    def wait(self) -> None:
        while not self.stopping.wait(0.5):
            pass

    def stop(self, timeout: float = 15.0) -> None:
        t0 = time.monotonic()
        self.scheduler.shutdown(wait=True)
        if self.hooks is not None:  # what it has not sent stays in the outbox for the next start
            self.hooks.stop(timeout=max(1.0, timeout / 3))
        self.pipeline.close(timeout=max(1.0, timeout - (time.monotonic() - t0)))

