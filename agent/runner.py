"""The one run loop: collect, then judge and record. The daemon's scheduled jobs, its
scheduled inspections, `xunjian inspect` and `run --once` all go through here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from agent.connections.pool import POOL
from agent.executor import Executor, RunTarget
from agent.pipeline import Pipeline
from core.model import Job, Result, Verdict

log = logging.getLogger(__name__)


def collect_and_handle(executor: Executor, pipeline: Pipeline, job: Job,
                       device: RunTarget) -> tuple[Result, list[Verdict]]:
    """One job: its result, and the verdicts the pipeline judged on it."""
    result = executor.run(job, device)
    if not result.collected:
        log.warning("%s/%s not collected: %s", job.device, job.collector, result.reason)
    return result, pipeline.handle(result)


def run_all(pipeline: Pipeline, todo: Iterable[tuple[Job, RunTarget]], workers: int,
            on_result: Callable[[Result, list[Verdict]], None] | None = None,
            executor: Executor | None = None) -> int:
    """Every job now, `workers` at a time; then idle connections are closed (nothing else comes
    for them) and the case clocks tick. Returns how many jobs ran."""
    executor = executor or Executor(pipeline.load_state)
    todo = list(todo)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
            futures = [pool.submit(collect_and_handle, executor, pipeline, job, dev) for job, dev in todo]
            for fut in as_completed(futures):
                result, verdicts = fut.result()
                if on_result:
                    on_result(result, verdicts)
    finally:
        POOL.close_all()
    pipeline.tick()  # case clocks: escalate what is overdue, raise what a window held
    return len(todo)
