"""The daemon's schedule: one APScheduler job per (device, collector).

Start times are spread over the interval by a stable offset so that a thousand
devices do not all fire at :00. A device's SSH collectors share one offset: they start
together and share the device's one SSH connection (agent.connections.pool). A job
never overlaps itself (max_instances=1) and missed runs are coalesced into one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED
from apscheduler.executors.pool import ThreadPoolExecutor as ApsThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from agent import __version__
from agent.background import Background
from agent.backoff import Backoff
from agent.cases.calendar import ALWAYS, AlwaysCalendar
from agent.cases.calendar_gaps import missing_years
from agent.cases.policy import default_case_policy
from agent.cases.queries import open_case_counts
from agent.config import DaemonModel, InspectionSchedule
from agent.connections.pool import POOL
from agent.executor import Executor
from agent.inspection import inspect_devices, record
from agent.inventory import Inventory
from agent.losses import is_disk_full
from agent.pipeline import Pipeline
from agent.runner import collect_and_handle, run_all
from agent.selfmon import Metrics, MetricsServer
from agent.signals import SignalInbox
from agent.sinks.lineproto import NATIVE
from collectors import COLLECTORS
from core.model import Job
from core.problems import ConfigError

if TYPE_CHECKING:
    from agent.app import App

log = logging.getLogger(__name__)


def offset(job: Job, interval: int) -> float:
    """A stable offset in [0, interval): the same job starts at the same phase every time; the
    SSH jobs of a device (same interval) at the same phase, so they meet on one connection."""
    spec = COLLECTORS.get(job.collector)
    phase = "ssh" if spec is not None and spec.transport == "ssh" else job.collector
    h = hashlib.sha256(f"{job.device}/{phase}".encode()).digest()
    return int.from_bytes(h[:8], "big") % (interval * 1000) / 1000.0


def jobs(inventory: Inventory) -> list[tuple[Job, int]]:
    return [(Job(d.name, c), d.interval) for d in inventory.devices.values() for c in d.collectors]


def run_once(inventory: Inventory, pipeline: Pipeline, workers: int = 16,
             executor: Executor | None = None) -> int:
    """One cycle of every job, now, in parallel. Returns how many jobs ran."""
    return run_all(pipeline, [(job, inventory.devices[job.device]) for job, _ in jobs(inventory)],
                   workers, executor=executor)


TICK_SECONDS = 30


class Daemon:
    """The scheduler plus what keeps it honest: metrics, per-device backoff, reload."""

    def __init__(self, inventory: Inventory, pipeline: Pipeline, workers: int = 16,
                 inspections: list[InspectionSchedule] | None = None,
                 settings: DaemonModel | None = None, pid_file: Path | None = None,
                 loader: Callable[[], App] | None = None, hooks: Background | None = None) -> None:
        self.inventory = inventory
        self.inspections = inspections or []
        self.workers = workers
        self.pipeline = pipeline
        self.settings = settings or DaemonModel()
        self.pid_file = pid_file
        self.loader = loader  # builds a fresh App for reload
        self.hooks = hooks
        self.executor = Executor(pipeline.load_state)
        self.scheduler = BackgroundScheduler(
            # the case clocks and the scheduled inspections get their own threads: behind a
            # queue of collections (a busy pool) escalations would wait, and be skipped as overruns
            executors={"default": ApsThreadPool(max_workers=workers),
                       "clock": ApsThreadPool(max_workers=1),
                       "inspections": ApsThreadPool(max_workers=1)},
            job_defaults={"max_instances": 1, "coalesce": True},
        )
        self.metrics = Metrics()
        self.backoff = Backoff(self.settings.backoff_after, self.settings.backoff_max_seconds)
        self.server: MetricsServer | None = None
        self.reloads = 0
        self._due: dict[str, float] = {}  # job id → when its submitted run was due

    @property
    def skipped(self) -> int:
        return self.metrics.jobs["skipped_overrun"]

    def start(self) -> None:
        now = datetime.now().astimezone()
        for job, interval in jobs(self.inventory):
            self._add(job, interval, now)
        # Case clocks: escalation needs no sample to arrive, so it has its own job.
        self.scheduler.add_job(self._tick, "interval", seconds=TICK_SECONDS, id="case-clocks",
                               name="case clocks", next_run_time=now, misfire_grace_time=TICK_SECONDS,
                               executor="clock")
        self._schedule_inspections()
        self.scheduler.add_listener(self._missed, mask=EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._submitted, mask=EVENT_JOB_SUBMITTED)
        self.scheduler.add_listener(self._late, mask=EVENT_JOB_MISSED)
        self._gauges()
        if self.settings.listen != "off":
            host, _, port = self.settings.listen.rpartition(":")
            try:
                self.server = MetricsServer(self.metrics, host.strip("[]"), int(port), self.status,
                                            self.healthy)
            except OSError as e:  # collecting matters more than being watched: say so, go on
                log.error("self-monitoring endpoint %s not started: %s", self.settings.listen,
                          e.strerror or e)
            else:
                self.server.start()
                log.info("self-monitoring on http://%s:%d/metrics", host, self.server.port)
        if self.pid_file:
            self.pid_file.write_text(f"{os.getpid()}\n")
        self.scheduler.start()
        if self.hooks is not None:
            self.hooks.start()
        log.info("scheduled %d jobs for %d devices", len(self._collection_jobs()),
                 len(self.inventory.devices))

    def _add(self, job: Job, interval: int, now: datetime) -> None:
        first = now + timedelta(seconds=offset(job, interval))
        self.scheduler.add_job(
            self._run, "interval", seconds=interval, next_run_time=first, args=(job,),
            id=f"{job.device}/{job.collector}", name=f"{job.device}/{job.collector}",
            misfire_grace_time=max(1, interval // 2), replace_existing=True,
        )

    def _collection_jobs(self) -> list[Any]:
        return [j for j in self.scheduler.get_jobs() if "/" in j.id and not j.id.startswith("inspection/")]

    def _schedule_inspections(self) -> None:
        tz = self.pipeline.cases.policy.tz if self.pipeline.cases else None
        for spec in self.inspections:
            hour, minute = (int(x) for x in spec.at.split(":"))
            trigger = CronTrigger(hour=hour, minute=minute, timezone=tz)
            self.scheduler.add_job(self.scheduled_inspection, trigger, args=(spec,),
                                   id=f"inspection/{spec.name}", name=f"inspection {spec.name}",
                                   misfire_grace_time=3600, replace_existing=True,
                                   executor="inspections")

    def _run(self, job: Job) -> None:
        device = self.inventory.devices.get(job.device)
        if device is None:
            return  # removed by a reload a moment ago
        now = time.time()
        # lateness at the real start, after any wait for a free worker (not at submission)
        due = self._due.pop(f"{job.device}/{job.collector}", None)
        lateness = now - due if due is not None else None
        if not self.backoff.allow(job.device, now):
            self.metrics.job("skipped_backoff", lateness)
            return
        self.metrics.job("run", lateness)
        result, _ = collect_and_handle(self.executor, self.pipeline, replace(job, tick=due or now), device)
        self.metrics.collection(job.collector, result.collected, result.duration, result.reason)
        self.backoff.record(job.device, result.collected, device.interval, time.time())

    def _tick(self) -> None:
        try:
            self.pipeline.tick()
        except Exception as e:
            if not is_disk_full(e):
                raise
            self.pipeline.losses.record("store", 0, e)  # the clocks run again at the next tick
        self.metrics.last_tick = time.time()

    def _submitted(self, event: Any) -> None:
        times = getattr(event, "scheduled_run_times", None) or []
        job_id = str(getattr(event, "job_id", ""))
        if times and "/" in job_id:
            self._due[job_id] = times[-1].timestamp()  # coalesced: the latest missed time

    def _gauges(self) -> None:
        def spool() -> dict[tuple[tuple[str, str], ...], float]:
            return {(("sink", s.name),): float(s.spool.pending)
                    for s in self.pipeline.sinks if hasattr(s, "spool")}

        def sink_points() -> dict[tuple[tuple[str, str], ...], float]:
            rows: dict[tuple[tuple[str, str], ...], float] = {}
            for s in self.pipeline.sinks:
                ser = getattr(s, "serializer", None)
                if ser is None:
                    continue
                rows[(("sink", s.name), ("outcome", "sent"))] = float(s.sent)
                rows[(("sink", s.name), ("outcome", "rejected"))] = float(s.rejected)
                rows[(("sink", s.name), ("outcome", "resent_unknown"))] = float(s.unanswered)
                rows[(("sink", s.name), ("outcome", "not_resent_stored"))] = float(s.recognised)
                rows[(("sink", s.name), ("outcome", "dropped_point"))] = float(ser.dropped_points)
                rows[(("sink", s.name), ("outcome", "dropped_field"))] = float(ser.dropped_fields)
            return rows

        def samples_lost() -> dict[tuple[tuple[str, str], ...], float]:
            lost = self.pipeline.losses.lost
            places = ["store", *(f"spool {s.name.removeprefix('influx:')}" for s in self.pipeline.sinks
                                 if hasattr(s, "spool"))]
            return {(("place", place),): float(lost[place]) for place in places}

        def open_cases() -> dict[tuple[tuple[str, str], ...], float]:
            counts = open_case_counts(self.pipeline.engine)
            return {(("level", str(lv)),): float(counts.get(lv, 0)) for lv in (1, 2, 3)}

        def backoff() -> dict[tuple[tuple[str, str], ...], float]:
            return {(): float(len(self.backoff.state(time.time())))}

        def build_info() -> dict[tuple[tuple[str, str], ...], float]:
            # the Prometheus convention: constant 1, the facts in labels
            return {(("version", __version__), ("sink_c_loop", "yes" if NATIVE else "no")): 1.0}

        self.metrics.gauge("build_info", build_info)
        self.metrics.gauge("spool_batches", spool)
        self.metrics.gauge("sink_points", sink_points)
        self.metrics.gauge("samples_lost", samples_lost)
        self.metrics.gauge("open_cases", open_cases)
        self.metrics.gauge("devices_in_backoff", backoff)

    def status(self) -> dict[str, Any]:
        now = time.time()
        policy = self.pipeline.cases.policy if self.pipeline.cases else default_case_policy("UTC")
        return {
            "xunjian": __version__, "sink_c_loop": NATIVE, "pid": os.getpid(),
            "devices": len(self.inventory.devices),
            "jobs": len(self._collection_jobs()), "reloads": self.reloads,
            "backoff": self.backoff.state(now),
            "health": self.healthy()[1],
            "samples_lost": dict(self.pipeline.losses.lost),
            "sinks": {s.name: s.status() for s in self.pipeline.sinks if hasattr(s, "status")},
            "last_tick_age": round(now - self.metrics.last_tick, 1) if self.metrics.last_tick else None,
            "calendar_warnings": [g.message for g in missing_years(
                policy.calendars, datetime.fromtimestamp(now, policy.tz).date())],
        }

    def healthy(self) -> tuple[bool, str]:
        if not self.scheduler.running:
            return False, "scheduler not running"
        if self.metrics.last_tick and time.time() - self.metrics.last_tick > 3 * TICK_SECONDS:
            return False, "case clocks late"
        problems = self.pipeline.losses.problems()
        if problems:  # e.g. a full disk: samples are being lost, not just delayed
            return False, "; ".join(problems)
        return True, "ok"

    def reload(self) -> bool:
        """Re-read config, inventory and rules; keep running on the old ones if they are wrong.
        Jobs that did not change keep their schedule; collector memory is in the store."""
        if self.loader is None:
            return False
        try:
            app = self.loader()
        except ConfigError as e:
            for line in e.lines():  # the first 50, then how many more
                log.error("reload refused: %s", line)
            log.error("reload refused: %d problems; still running the previous configuration",
                      len(e.problems))
            return False
        old = {f"{j.device}/{j.collector}": i for j, i in jobs(self.inventory)}
        new = {f"{j.device}/{j.collector}": (j, i) for j, i in jobs(app.inventory)}
        self.pipeline.reconfigure(app.inventory, app.rules, app.config.cases)
        self.inventory = app.inventory
        POOL.close_all()  # addresses, users or keys may have changed: next cycles connect anew
        self.inspections = app.config.inspections
        self.backoff.keep_only(set(app.inventory.devices))
        now = datetime.now().astimezone()
        for job_id in old.keys() - new.keys():
            self.scheduler.remove_job(job_id)
        added = changed = 0
        for job_id, (job, interval) in new.items():
            if job_id not in old:
                added += 1
                self._add(job, interval, now)
            elif old[job_id] != interval:
                changed += 1
                self._add(job, interval, now)
        for j in self.scheduler.get_jobs():
            if j.id.startswith("inspection/"):
                j.remove()
        self._schedule_inspections()
        self.reloads += 1
        log.info("reloaded: %d jobs added, %d removed, %d rescheduled, %d unchanged", added,
                 len(old.keys() - new.keys()), changed, len(new) - added - changed)
        return True

    def scheduled_inspection(self, spec: InspectionSchedule, now: float | None = None) -> int | None:
        """Run and record the inspection if today is a working day on its calendar."""
        policy = self.pipeline.cases.policy if self.pipeline.cases else default_case_policy()
        calendar = {ALWAYS: AlwaysCalendar(), **policy.calendars}[spec.calendar]
        moment = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
        if not calendar.is_working_day(moment.astimezone(policy.tz).date()):
            log.info("inspection %s: not a working day on calendar %s, skipped", spec.name, spec.calendar)
            return None
        devices = self.inventory.select(spec.devices or None, spec.groups or None)
        run = inspect_devices(self.pipeline, devices, self.workers)
        run_id = record(self.pipeline, run, devices, "schedule", spec.name,
                        {"devices": spec.devices, "groups": spec.groups})
        log.info("inspection %s: run %d, %d devices, %s", spec.name, run_id, len(devices),
                 run.status.label)
        return run_id

    def _missed(self, event: object) -> None:
        self.metrics.job("skipped_overrun")
        log.warning("job %s still running at its next start: skipped (%d so far)",
                    getattr(event, "job_id", "?"), self.skipped)

    def _late(self, event: object) -> None:
        """A run that waited for a worker past its misfire grace: APScheduler drops it; we count
        it (and its lateness) so a saturated pool shows instead of silently polling less."""
        due = getattr(event, "scheduled_run_time", None)
        lateness = time.time() - due.timestamp() if due is not None else None
        job_id = str(getattr(event, "job_id", ""))
        self.metrics.job("skipped_late", lateness if "/" in job_id else None)
        log.warning("job %s could not start within its grace time (all %d workers busy): skipped",
                    job_id, self.workers)

    def wait(self, signals: SignalInbox) -> None:
        """The main loop: wakes at once on a signal (the handlers only note it), reloads on
        SIGHUP, returns on SIGTERM / SIGINT."""
        while not signals.stopping:
            signals.wait(0.5)
            if signals.take_reload() and not signals.stopping:
                log.info("received SIGHUP: reloading")
                self.reload()
        log.info("received %s: stopping", signals.stop_name)

    def stop(self, timeout: float = 15.0) -> None:
        t0 = time.monotonic()
        self.scheduler.shutdown(wait=True)
        POOL.close_all()
        if self.server:
            self.server.stop()
        if self.hooks is not None:  # what it has not sent stays in the outbox for the next start
            self.hooks.stop(timeout=max(1.0, timeout / 3))
        self.pipeline.close(timeout=max(1.0, timeout - (time.monotonic() - t0)))
        if self.pid_file:
            self.pid_file.unlink(missing_ok=True)

