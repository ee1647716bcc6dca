"""The delivery worker: due outbox items → channels, with backoff, jitter, give-up and order.

Per case and channel only the oldest pending item may be sent, so events arrive in order.
Items are claimed (host:pid plus a lease) before sending, so a second worker (the daemon
and `xunjian hooks deliver`) does not send them too; a claim by a process that died on this
host is void at once. A kill between the send and the commit leaves the item pending: the
retry carries the same idempotency key and the receiver (or the preset's look-up before
create) deduplicates it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select, update

from agent.hooks.channels.base import Channel, Delivery, Outcome, Ticket
from agent.hooks.outbox import prune, worker_id
from agent.hooks.settings import HooksConfig
from agent.store.db import serialize
from agent.store.schema import case_tickets, outbox
from core.redaction import redact

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600.0


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    grouped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.grouped += other.grouped
        self.errors += other.errors


@dataclass
class _Job:
    channel: str
    rows: list[Any]  # one item, or every member of a storm group
    storm: bool = False


def _owner_dead(claimed_by: str | None) -> bool:
    if not claimed_by:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Worker:
    def __init__(self, engine: Engine, config: HooksConfig, channels: dict[str, Channel],
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random) -> None:
        self.engine = engine
        self.config = config
        self.channels = channels
        self.clock = clock
        self.rng = rng
        self.me = worker_id()
        self._limits = {n: threading.Semaphore(c.concurrency) for n, c in channels.items()}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ---------------------------------------------------------------------------

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with full jitter in [½, 1] of the step (never a thundering herd)."""
        step = min(self.config.max_backoff, self.config.initial_backoff * 2 ** max(0, attempts - 1))
        return step * (0.5 + 0.5 * self.rng())

    def deliver_once(self) -> Stats:
        """Send every item due now (one per case and channel); return what happened."""
        now = self.clock()
        jobs = self._claim(now)
        stats = Stats()
        if not jobs:
            return stats
        workers = max(1, min(len(jobs), sum(c.concurrency for c in self.channels.values())))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hooks") as pool:
            for s in pool.map(self._run, jobs):
                stats.add(s)
        return stats

    def drain(self, max_passes: int = 1000) -> Stats:
        """Passes until nothing more is due now (for `hooks deliver` and tests)."""
        total = Stats()
        for _ in range(max_passes):
            s = self.deliver_once()
            total.add(s)
            if s.sent + s.failed + s.dead + s.grouped == 0:
                break
        return total

    def _claim(self, now: float) -> list[_Job]:
        with self.engine.begin() as conn:
            serialize(conn, "outbox")  # two workers never claim one row (PostgreSQL: READ COMMITTED)
            pending = conn.execute(select(outbox).where(outbox.c.status == "pending")
                                   .order_by(outbox.c.id)).all()
            heads: dict[tuple[int, str], Any] = {}
            for r in pending:
                heads.setdefault((r.case_id, r.channel), r)
            free = [r for r in heads.values()
                    if r.channel in self.channels and r.next_at <= now
                    and (r.claimed_until is None or r.claimed_until < now or r.claimed_by == self.me
                         or _owner_dead(r.claimed_by))]
            jobs: list[_Job] = []
            taken: set[int] = set()
            for r in free:
                if r.id in taken:
                    continue
                job = _Job(r.channel, [r])
                if r.storm_key:
                    members = [m for m in pending if m.storm_key == r.storm_key and m.id not in taken]
                    threshold = json.loads(r.payload)["storm"]["threshold"]
                    if len(members) > threshold:
                        job = _Job(r.channel, members, storm=True)
                jobs.append(job)
                taken.update(m.id for m in job.rows)
            lease = now + max(60.0, 3 * max((getattr(c, "timeout", 10.0) for c in self.channels.values()),
                                            default=10.0))
            if taken:
                conn.execute(update(outbox).where(outbox.c.id.in_(taken))
                             .values(claimed_by=self.me, claimed_until=lease))
        return jobs

    def _run(self, job: _Job) -> Stats:
        channel = self.channels[job.channel]
        first = job.rows[0]
        payload = json.loads(first.payload)
        ticket = self._ticket(first.case_id, job.channel) if not job.storm else None
        delivery = Delivery(
            key=f"storm:{first.key}" if job.storm else first.key, kind="storm" if job.storm else first.kind,
            payload=payload, lang=getattr(channel, "lang", self.config.lang), ticket=ticket,
            group=[json.loads(r.payload) for r in job.rows] if job.storm else [])
        with self._limits[job.channel]:
            try:
                outcome = channel.send(delivery)
            except Exception as e:  # a channel bug is a failed attempt, not a dead worker
                log.exception("hook %s: %s for %s failed", job.channel, delivery.kind, delivery.key)
                outcome = Outcome(False, f"{type(e).__name__}: {e}")
        return self._record(job, delivery, outcome)

    def _ticket(self, case_id: int, channel: str) -> Ticket | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(case_tickets).where(case_tickets.c.case_id == case_id,
                                                        case_tickets.c.channel == channel)).first()
        return Ticket(r.ticket_id, r.url) if r else None

    def _record(self, job: _Job, delivery: Delivery, outcome: Outcome) -> Stats:
        now = self.clock()
        # a receiver may echo what it was sent (a token, a header): not into the outbox
        outcome = Outcome(outcome.ok, redact(outcome.error), outcome.permanent, outcome.ticket)
        ids = [r.id for r in job.rows]
        stats = Stats()
        with self.engine.begin() as conn:
            if outcome.ok:
                conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(
                    status="done", done_at=now, claimed_by=None, claimed_until=None, last_error="",
                    attempts=outbox.c.attempts + 1, grouped_in=delivery.key if job.storm else None))
                if outcome.ticket is not None and not job.storm:
                    self._save_ticket(conn, job.rows[0].case_id, job.channel, outcome.ticket, now)
                stats.sent, stats.grouped = 1, len(ids) if job.storm else 0
                log.info("hook %s: %s %s delivered%s", job.channel, delivery.kind, delivery.key,
                         f" (ticket {outcome.ticket.id})" if outcome.ticket else "")
                return stats
            for r in job.rows:
                attempts = r.attempts + 1
                give_up = outcome.permanent or now - r.created_at >= self.config.give_up_after
                conn.execute(update(outbox).where(outbox.c.id == r.id).values(
                    status="dead" if give_up else "pending", attempts=attempts,
                    next_at=now if give_up else now + self.backoff(attempts),
                    claimed_by=None, claimed_until=None, last_error=outcome.error[:2000]))
                if give_up:
                    stats.dead += 1
                else:
                    stats.failed += 1
            stats.errors.append(f"{job.channel} {delivery.key}: {outcome.error}")
        log.warning("hook %s: %s %s not delivered: %s", job.channel, delivery.kind, delivery.key,
                    outcome.error)
        return stats

    @staticmethod
    def _save_ticket(conn: Any, case_id: int, channel: str, ticket: Ticket, now: float) -> None:
        have = conn.execute(select(case_tickets.c.ticket_id).where(
            case_tickets.c.case_id == case_id, case_tickets.c.channel == channel)).first()
        if have is None:
            conn.execute(insert(case_tickets).values(case_id=case_id, channel=channel, ticket_id=ticket.id,
                                                     url=ticket.url, created_at=now))
        elif have.ticket_id != ticket.id or ticket.url:
            conn.execute(update(case_tickets).where(case_tickets.c.case_id == case_id,
                                                    case_tickets.c.channel == channel)
                         .values(ticket_id=ticket.id, url=ticket.url))

    # -- in the daemon ----------------------------------------------------------------------

    def wake(self) -> None:
        """New items may be waiting: look now rather than at the next interval."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hooks-worker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        pruned_at = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.drain(max_passes=100)
                now = self.clock()
                if now - pruned_at >= PRUNE_EVERY:
                    pruned_at = now
                    n = prune(self.engine, now - self.config.keep)
                    if n:
                        log.info("hooks: deleted %d delivered items older than %g days", n,
                                 self.config.keep / 86400)
            except Exception:  # the store was busy or broken: log it, try again next round
                log.exception("hook delivery pass failed")
            self._wake.wait(self.config.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
