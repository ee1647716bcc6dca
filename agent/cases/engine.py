"""Fault cases (故障单): verdicts in, cases opened, escalated and resolved; people act on them.

Every change is an event in `case_events`, written in the same transaction as the
change itself (one transaction per verdict or action), so a case and its history
never disagree, even after a kill -9; the database allows one open case per
device + check + instance.

Clocks: a case gets the response and repair deadlines of its SLA policy and level
when it opens. When a deadline passes, the breach is recorded and the case escalates
one level (as the policy says); the clocks still running restart at the new level's
limits from that deadline. A check made late (daemon down, cron-driven inspect) walks
through every deadline missed since, in order, as timely checks would have. A pause stops
the repair clock; the paused time (counted on the repair calendar) pushes the repair deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from agent.cases.duty import on_duty, people_on_duty
from agent.cases.intake import REPORTED, SOURCE_PERSON, Intake, IntakeError
from agent.cases.policy import CasePolicy, default_case_policy
from agent.cases.sla import FAULT, MILESTONES, deadlines
from agent.cases.windows import DeviceLike
from agent.store.db import serialize
from agent.store.schema import case_clocks, case_events, case_reports, cases, held
from checks.durations import format_duration
from core.model import Case, Status, Verdict
from core.redaction import redact, redact_deep

OPEN_STATES = ("open", "acknowledged")
SYSTEM = "system"
VISIT_RATINGS = range(1, 6)  # a return visit's rating: 1 (poor) … 5 (very satisfied)
ROUNDS = 16  # deadlines one late check can act on: two clocks per level, five levels at most
Change = tuple[str, Case]
Within = Callable[[Connection, Case], None]  # more writes in a case action's own transaction


class EventSink(Protocol):
    """Takes each case event inside its transaction (the hooks' outbox)."""

    def enqueue(self, conn: Connection, case: Any, event: dict[str, Any], device: Any) -> None: ...


class CaseError(Exception):
    """An action that cannot be done to this case now (the message says why)."""


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def unreachable(check: str) -> bool:
    return check.startswith("collect.")


# The device's connection fault (checks.evaluate.DEVICE_CHECK): one case per device, and the
# collectors' "not collected" while it is open are linked to it rather than opening their own.
DEVICE_CASE = "collect.device"
EVIDENCE_CHARS = 4000  # of a verdict's evidence kept in its case's open event


class CaseEngine:
    def __init__(self, engine: Engine, policy: CasePolicy | None = None,
                 devices: Mapping[str, DeviceLike] | None = None,
                 clock: Callable[[], float] = time.time, outbox: EventSink | None = None) -> None:
        self.engine = engine
        self.outbox = outbox  # None: no hooks
        self.policy = policy or default_case_policy()
        self.devices: Mapping[str, DeviceLike] = devices or {}
        self.clock = clock

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One write transaction, case writers one at a time (case numbers and event seqs are
        read, then written), on SQLite and on PostgreSQL, across processes and hosts."""
        with self.engine.begin() as conn:
            serialize(conn, "cases")
            yield conn

    # -- verdicts ---------------------------------------------------------------------------

    def apply(self, verdicts: list[Verdict]) -> list[Change]:
        """Apply verdicts; return the (event kind, case) pairs that changed something."""
        changes: list[Change] = []
        for v in verdicts:
            v.message = redact(v.message)  # a case's message and events hold no secret
            with self._tx() as conn:
                changes += self._apply_one(conn, v, self.clock())
        return changes

    def _apply_one(self, conn: Connection, v: Verdict, now: float) -> list[Change]:
        row = self._open_row(conn, v.device, v.check, v.instance)
        if v.status is Status.OK:
            conn.execute(delete(held).where(held.c.device == v.device, held.c.check_name == v.check,
                                            held.c.instance == v.instance))
            if row is None or (row.source == SOURCE_PERSON and row.severity == REPORTED):
                return []  # a reported fault the rule never saw failing is not its to resolve
            return self._resolve(conn, row, now, SYSTEM, {"by": "recovery", "value": v.value,
                                                          "message": v.message})
        if row is not None:
            return self._update(conn, row, v, now)
        if v.check != DEVICE_CASE and unreachable(v.check) and self._device_fault(conn, v.device):
            return []  # the collector failed for the device's fault: the device's case covers it
        if self.policy.in_maintenance(self.devices.get(v.device), v.device, now) is not None:
            self._hold(conn, v, now)
            return []
        return self._open(conn, v, now, {})

    def _device_fault(self, conn: Connection, device: str) -> bool:
        """The device's connection fault has its case open, or held by a maintenance window."""
        if self._open_row(conn, device, DEVICE_CASE, "") is not None:
            return True
        row = conn.execute(select(held.c.since).where(
            held.c.device == device, held.c.check_name == DEVICE_CASE, held.c.instance == "")).first()
        return row is not None

    def _hold(self, conn: Connection, v: Verdict, now: float) -> None:
        key = (held.c.device == v.device, held.c.check_name == v.check, held.c.instance == v.instance)
        doc = json.dumps(_verdict_doc(v))
        if conn.execute(select(held.c.since).where(*key)).first():
            conn.execute(update(held).where(*key).values(verdict=doc))
        else:
            conn.execute(insert(held).values(device=v.device, check_name=v.check, instance=v.instance,
                                             since=now, verdict=doc))

    def _open(self, conn: Connection, v: Verdict, now: float, extra: dict[str, Any]) -> list[Change]:
        level = v.level or 3
        recent = conn.execute(select(cases).where(
            cases.c.device == v.device, cases.c.check_name == v.check, cases.c.instance == v.instance,
            cases.c.status == "resolved",
            cases.c.resolved_at >= now - self.policy.reopen_window.total_seconds(),
        ).order_by(cases.c.resolved_at.desc())).first()
        if recent is not None:
            changes = self._reopen(conn, recent, now, SYSTEM, {"by": "recurrence", "message": v.message})
            return changes + self._update(conn, self._row(conn, recent.id), v, now)
        device = self.devices.get(v.device)
        policy = self.policy.policy_for(device, v.device, now)
        response_due, repair_due = self._dues(policy, level, now)
        number = self._next_number(conn, now)
        case_id = conn.execute(insert(cases).values(
            number=number, device=v.device, check_name=v.check, instance=v.instance,
            level=level, opened_level=level, status="open", severity=v.status.label,
            opened_at=now, updated_at=now, policy=policy, response_due=response_due,
            repair_due=repair_due, flapping=int(v.flapping), last_value=v.value,
            threshold=v.threshold, message=v.message,
        )).inserted_primary_key[0]
        self._event(conn, case_id, now, "open", {
            "level": level, "severity": v.status.label, "value": v.value, "threshold": v.threshold,
            "message": v.message, "policy": policy, "since": v.since, "response_due": response_due,
            "repair_due": repair_due,
            # what the fault was seen in (the log entries, the df row): into the ticket too
            **({"evidence": v.evidence[:EVIDENCE_CHARS]} if v.evidence else {}), **extra})
        changes: list[Change] = [("open", self._get(conn, case_id))]
        changes += self._assign_on_duty(conn, case_id, now, now)
        changes += self._link_reported(conn, case_id, number, v, now)
        if unreachable(v.check):
            changes += self._suppress_under_parent(conn, case_id, v.device, now)
            changes += self._suppress_children(conn, number, v.device, now)
        return changes

    def _update(self, conn: Connection, row: Any, v: Verdict, now: float) -> list[Change]:
        values: dict[str, Any] = {"updated_at": now, "last_value": v.value, "message": v.message,
                                  "threshold": v.threshold}
        if row.source == SOURCE_PERSON:
            del values["message"]  # the reporter's description stays the case's symptom
        detail: dict[str, Any] = {}
        if v.status.label != row.severity:
            values["severity"] = detail["severity"] = v.status.label
        if bool(v.flapping) != bool(row.flapping):
            values["flapping"] = int(v.flapping)
            detail["flapping"] = v.flapping
        level = v.level or 3
        conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
        if row.source == SOURCE_PERSON and row.severity == REPORTED:  # a rule now sees it too
            self._event(conn, row.id, now, "link", {**detail, "by": "rule", "check": v.check,
                                                    "value": v.value, "message": v.message})
            linked: list[Change] = [("link", self._get(conn, row.id))]
            if level >= row.level:
                return linked
            return linked + self._set_level(conn, self._row(conn, row.id), level, now, "update",
                                            {"reason": "worse verdict", "value": v.value,
                                             "message": v.message})
        if level < row.level:  # a worse verdict raises the level (1 is the most severe)
            return self._set_level(conn, self._row(conn, row.id), level, now, "update",
                                   {**detail, "reason": "worse verdict", "value": v.value,
                                    "message": v.message})
        if detail:
            self._event(conn, row.id, now, "update", {**detail, "value": v.value, "message": v.message})
            return [("update", self._get(conn, row.id))]
        return []

    # -- reported by a person ---------------------------------------------------------------

    def report(self, intake: Intake, actor: str, within: Within | None = None) -> list[Change]:
        """Open a case for a fault or request reported by a person; its clocks start when it was
        reported (deadlines already passed are acted on at once, as a late check would).
        `within(conn, case)` writes in the same transaction (mail intake: the message's record)."""
        now = self.clock()
        policy = intake.policy or self.policy.policy
        if intake.policy and intake.policy not in self.policy.policies:
            raise IntakeError(f"no SLA policy {intake.policy!r} (known: "
                              f"{', '.join(sorted(self.policy.policies))})")
        sla = self.policy.sla(policy)
        found = intake.problems(now, tuple(sla.levels), (FAULT, *sla.classes))
        if found:
            raise IntakeError("; ".join(found))
        at = intake.reported_at
        description = redact(intake.description)
        with self._tx() as conn:
            number = self._next_number(conn, at)
            device = intake.devices[0] if intake.devices else intake.service
            check, instance = (intake.check, intake.instance) if intake.check else (REPORTED, number)
            if intake.check and (other := self._open_row(conn, device, check, instance)) is not None:
                raise CaseError(f"case {other.number} is already open for {device} {check}; "
                                "add a note to it instead")
            response_due, repair_due = self._dues(policy, intake.level, at, intake.request_class)
            case_id = conn.execute(insert(cases).values(
                number=number, device=device, check_name=check, instance=instance,
                level=intake.level, opened_level=intake.level, status="open", severity=REPORTED,
                opened_at=at, updated_at=now, policy=policy, response_due=response_due,
                repair_due=repair_due, message=description, source=SOURCE_PERSON,
                category=intake.category, request_class=intake.request_class,
            )).inserted_primary_key[0]
            conn.execute(insert(case_reports).values(
                case_id=case_id, channel=intake.channel, reporter=intake.reporter, unit=intake.unit,
                contact=intake.contact, reported_at=at, entered_at=now, entered_by=actor,
                description=description, affected=json.dumps(intake.affected, ensure_ascii=False)))
            self._event(conn, case_id, now, "open", {
                "level": intake.level, "by": "report", "channel": intake.channel,
                "reporter": intake.reporter, "unit": intake.unit, "reported_at": at,
                "category": intake.category, "class": intake.request_class,
                "affected": intake.affected, "message": description,
                "policy": policy, "response_due": response_due, "repair_due": repair_due}, actor)
            changes: list[Change] = [("open", self._get(conn, case_id))]
            changes += self._assign_on_duty(conn, case_id, at, now)
            changes += self._check_clocks(conn, self._row(conn, case_id), now)
            if within is not None:
                within(conn, self._get(conn, case_id))
        return changes

    def _assign_on_duty(self, conn: Connection, case_id: int, opened: float, now: float) -> list[Change]:
        """A new case without an assignee goes to the first person on duty when it opened."""
        shifts = on_duty(conn, opened)
        if not shifts:
            return []
        to, shift = shifts[0].people[0], shifts[0]
        conn.execute(update(cases).where(cases.c.id == case_id, cases.c.assignee.is_(None))
                     .values(assignee=to))
        self._event(conn, case_id, now, "assign", {
            "to": to, "by": "duty", "shift": shift.name, "watch": shift.watch,
            "note": f"on duty ({shift.name}{', heightened watch' if shift.watch else ''})"})
        return [("assign", self._get(conn, case_id))]

    def _link_reported(self, conn: Connection, case_id: int, number: str, v: Verdict,
                       now: float) -> list[Change]:
        """A rule opened a case on a device that open reported cases name without a check: each
        side gets a `link` event naming the other (the reporter's case is not merged: it may be
        about something else on that device)."""
        named = json.dumps(v.device, ensure_ascii=False)
        rows = conn.execute(select(cases.c.id, cases.c.number).join(
            case_reports, case_reports.c.case_id == cases.c.id).where(
            cases.c.status.in_(OPEN_STATES), cases.c.check_name == REPORTED,
            case_reports.c.affected.contains(named, autoescape=True)).order_by(cases.c.id)).all()
        changes: list[Change] = []
        for r in rows:
            self._event(conn, r.id, now, "link", {"case": number, "by": "rule", "device": v.device,
                                                  "check": v.check, "message": v.message})
            changes.append(("link", self._get(conn, r.id)))
        if rows:
            numbers = [r.number for r in rows]
            self._event(conn, case_id, now, "link", {"cases": numbers,
                                                     "message": "reported: " + ", ".join(numbers)})
        return changes

    # -- clocks -----------------------------------------------------------------------------

    def tick(self) -> list[Change]:
        """Escalate cases whose deadlines passed; raise faults held through a window that ended."""
        now = self.clock()
        changes: list[Change] = []
        with self.engine.connect() as c:
            holds = c.execute(select(held)).all()
        for h in holds:
            if self.policy.in_maintenance(self.devices.get(h.device), h.device, now) is not None:
                continue
            with self._tx() as conn:
                key = (held.c.device == h.device, held.c.check_name == h.check_name,
                       held.c.instance == h.instance)
                if conn.execute(delete(held).where(*key)).rowcount == 0:
                    continue  # someone else raised it
                if self._open_row(conn, h.device, h.check_name, h.instance) is None:
                    changes += self._open(conn, _verdict(json.loads(h.verdict)), now,
                                          {"held_since": h.since, "by": "maintenance window ended"})
        with self.engine.connect() as c:
            due = c.execute(select(cases.c.id).where(cases.c.status.in_(OPEN_STATES),
                                                     cases.c.suppressed_by.is_(None))).scalars().all()
        for case_id in due:
            with self._tx() as conn:
                changes += self._check_clocks(conn, self._row(conn, case_id), now)
                changes += self._raise_long_outage(conn, self._row(conn, case_id), now)
                changes += self._remind(conn, self._row(conn, case_id), now)
        changes += self._tick_named(now)
        return changes

    def _check_clocks(self, conn: Connection, row: Any, now: float) -> list[Change]:
        """Every deadline missed by `now`, in the order they fell due: each is recorded as a breach
        and escalates as the policy says, the new level's clocks starting at the deadline that was
        missed (not at this check), so a late check ends where timely ones would have."""
        if row is None or row.status not in OPEN_STATES or row.suppressed_by:
            return []
        if self.policy.in_maintenance(self.devices.get(row.device), row.device, now) is not None:
            return []  # no escalation inside a window; it happens when the window ends
        changes: list[Change] = []
        for _ in range(ROUNDS):  # each round acts on a new deadline
            missed = _missed(row, now)
            if not missed:
                break
            at = min(due for _, due in missed)
            missed = [(clock, due) for clock, due in missed if due == at]  # the earliest, together
            values: dict[str, Any] = {"updated_at": now}
            for clock, due in missed:
                values[f"{clock}_breached"] = 1
                values[f"{clock}_alarmed"] = due
                self._event(conn, row.id, now, "breach", {"clock": clock, "due": due, "level": row.level})
            conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
            changes.append(("breach", self._get(conn, row.id)))
            names = [clock for clock, _ in missed]
            # a request class has its own clocks, not levels to climb: its breaches are recorded
            new = self.policy.sla(row.policy).escalate(row.level, names) \
                if row.request_class == FAULT else row.level
            if new < row.level:
                changes += self._set_level(conn, self._row(conn, row.id), new, now, "escalate",
                                           {"reason": f"{' and '.join(names)} deadline passed"},
                                           start=self._escalation_start(row.device, at, now))
            row = self._row(conn, row.id)
        return changes

    def _raise_long_outage(self, conn: Connection, row: Any, now: float) -> list[Change]:
        """An outage open longer than the policy's `outage` steps is raised to their level, its
        clocks starting when the step was passed (a late check ends where a timely one would)."""
        if row.request_class != FAULT:
            return []
        for step in reversed(self.policy.sla(row.policy).outage):  # the longest passed wins
            passed = row.opened_at + step.after.total_seconds()
            if now >= passed and step.level < row.level and step.applies(row.check_name):
                longer = format_duration(step.after.total_seconds())
                return self._set_level(conn, row, step.level, now, "escalate",
                                       {"reason": f"outage longer than {longer}"}, start=passed)
        return []

    # -- reminders before a deadline ----------------------------------------------------------

    def _remind(self, conn: Connection, row: Any, now: float) -> list[Change]:
        """A `reminder` event when a running clock has used a `remind_at` share of its limit
        (counted on its calendar, pauses excluded), once per clock, deadline and share; a late
        check sends only the highest share reached. Its hooks go to the assignee and the next tier."""
        sla = self.policy.sla(row.policy)
        if not sla.remind_at or row.status not in OPEN_STATES or row.suppressed_by:
            return []
        lim = sla.limits(row.level, row.request_class)
        running = [("response", row.response_due, lim.response)] if row.status == "open" else []
        if row.paused_at is None:
            running.append(("repair", row.repair_due, lim.repair))
        sent = [json.loads(d) for d in conn.execute(select(case_events.c.detail).where(
            case_events.c.case_id == row.id, case_events.c.kind == "reminder")).scalars()]
        changes: list[Change] = []
        for clock, due, limit in running:
            if due is None or limit is None or now >= due:
                continue
            left = limit.calendar.elapsed(_utc(now), _utc(due)).total_seconds()
            used = 100 * (1 - left / limit.duration.total_seconds())
            reached = [p for p in sla.remind_at if used >= p]
            if not reached or any(d.get("clock") == clock and d.get("due") == due
                                  and d.get("percent", 0) >= reached[-1] for d in sent):
                continue
            self._event(conn, row.id, now, "reminder", {
                "clock": clock, "due": due, "percent": reached[-1], "assignee": row.assignee,
                "next_level": max(1, row.level - 1),
                **({"on_duty": duty} if (duty := people_on_duty(conn, now)) else {}),
                "message": f"{clock} due in {_left_text(left)} ({reached[-1]}% of the limit used)"})
            changes.append(("reminder", self._get(conn, row.id)))
        return changes

    # -- named clocks (arrival, diagnosis, workaround, fault report submitted…) -----------------

    def _named_clocks(self, conn: Connection, row: Any, kind: str, detail: dict[str, Any],
                      at: float) -> None:
        """Start and stop the policy's named clocks on this event (a milestone by its name)."""
        sla = self.policy.sla(row.policy)
        if not sla.clocks or kind == "breach":
            return
        what = detail.get("milestone") if kind == "milestone" else kind
        for clock in sla.clocks:
            key = (case_clocks.c.case_id == row.id, case_clocks.c.name == clock.name)
            if clock.stop == what:
                conn.execute(update(case_clocks).where(*key, case_clocks.c.stopped_at.is_(None))
                             .values(stopped_at=at))
            limit = clock.limit(row.level, row.request_class)
            if clock.start == what and limit is not None \
                    and conn.execute(select(case_clocks.c.name).where(*key)).first() is None:
                start = row.opened_at if what == "open" else at  # a reported case: when reported
                due = limit.calendar.add(_utc(start), limit.duration).timestamp()
                conn.execute(insert(case_clocks).values(case_id=row.id, name=clock.name, level=row.level,
                                                        started_at=start, due=due))

    def _restart_named(self, conn: Connection, row: Any, level: int, begin: float) -> None:
        """A new level: the named clocks still running (not stopped, not yet missed) restart at
        its limits from `begin`, as response and repair do — but a raised level never gives
        more time than was left (a limit the same for every level keeps its deadline). A clock
        the new level has no limit for keeps running at the old one."""
        by_name = {c.name: c for c in self.policy.sla(row.policy).clocks}
        running = conn.execute(select(case_clocks.c.name, case_clocks.c.due).where(
            case_clocks.c.case_id == row.id, case_clocks.c.stopped_at.is_(None),
            case_clocks.c.breached == 0)).all()
        for name, old_due in running:
            clock = by_name.get(name)
            limit = clock.limit(level, row.request_class) if clock else None
            if limit is None:
                continue
            due = limit.calendar.add(_utc(begin), limit.duration).timestamp()
            if level < row.level:
                due = min(due, old_due)
            conn.execute(update(case_clocks).where(case_clocks.c.case_id == row.id,
                                                   case_clocks.c.name == name)
                         .values(level=level, due=due))

    def _tick_named(self, now: float) -> list[Change]:
        """Named clocks past their limit: each breach recorded once (no escalation: the contracts
        raise levels on response and repair)."""
        with self.engine.connect() as c:
            late = c.execute(select(case_clocks.c.case_id, case_clocks.c.name).where(
                case_clocks.c.stopped_at.is_(None), case_clocks.c.breached == 0,
                case_clocks.c.due <= now)).all()
        changes: list[Change] = []
        for case_id, name in late:
            with self._tx() as conn:
                key = (case_clocks.c.case_id == case_id, case_clocks.c.name == name)
                due = conn.execute(select(case_clocks.c.due)
                                   .where(*key, case_clocks.c.breached == 0)).scalar()
                if due is None:
                    continue  # someone else recorded it
                conn.execute(update(case_clocks).where(*key).values(breached=1))
                self._event(conn, case_id, now, "breach", {"clock": name, "due": due})
                changes.append(("breach", self._get(conn, case_id)))
        return changes

    def _escalation_start(self, device: str, due: float, now: float) -> float:
        """The deadline missed; if it fell inside a maintenance window, that window's end (no
        escalation inside a window: it happens when the window ends)."""
        end = self.policy.in_maintenance(self.devices.get(device), device, due)
        return due if end is None else min(max(due, end), now)

    def _set_level(self, conn: Connection, row: Any, level: int, now: float, kind: str,
                   detail: dict[str, Any], start: float | None = None) -> list[Change]:
        """A new level: the clocks still running restart at its limits from `start` (the missed
        deadline that raised it; now, for a worse verdict)."""
        begin = now if start is None else start
        response_due, repair_due = self._dues(row.policy, level, begin, row.request_class)
        values: dict[str, Any] = {"level": level, "updated_at": now}
        if row.status == "open":
            values["response_due"] = response_due
        if row.paused_at is None:
            values["repair_due"] = repair_due
        conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
        self._restart_named(conn, row, level, begin)
        self._event(conn, row.id, now, kind, {"from": row.level, "level": level, **detail,
                                              "clocks_from": begin,
                                              "response_due": values.get("response_due", row.response_due),
                                              "repair_due": values.get("repair_due", row.repair_due)})
        return [(kind, self._get(conn, row.id))]

    def _dues(self, policy: str, level: int, start: float,
              klass: str = FAULT) -> tuple[float | None, float]:
        d = deadlines(self.policy.sla(policy), level, _utc(start), klass=klass)
        return (None if d.response_due is None else d.response_due.timestamp()), d.repair_due.timestamp()

    def _repair_calendar_elapsed(self, row: Any, start: float, end: float) -> float:
        cal = self.policy.sla(row.policy).limits(row.level, row.request_class).repair.calendar
        return cal.elapsed(_utc(start), _utc(end)).total_seconds()

    def _push_repair(self, row: Any, seconds: float) -> float | None:
        if row.repair_due is None or seconds <= 0:
            return row.repair_due  # type: ignore[no-any-return]
        cal = self.policy.sla(row.policy).limits(row.level, row.request_class).repair.calendar
        return cal.add(_utc(row.repair_due), timedelta(seconds=seconds)).timestamp()

    # -- parents ----------------------------------------------------------------------------

    def _suppress_under_parent(self, conn: Connection, case_id: int, device: str,
                               now: float) -> list[Change]:
        dev = self.devices.get(device)
        parent = dev.labels.get("parent") if dev else None
        if not parent:
            return []
        p = conn.execute(select(cases.c.number).where(
            cases.c.device == parent, cases.c.check_name.like("collect.%"),
            cases.c.status.in_(OPEN_STATES))).first()
        if p is None:
            return []
        return self._suppress(conn, case_id, p.number, now)

    def _suppress_children(self, conn: Connection, number: str, device: str, now: float) -> list[Change]:
        children = [n for n, d in self.devices.items() if d.labels.get("parent") == device]
        if not children:
            return []
        rows = conn.execute(select(cases.c.id).where(
            cases.c.device.in_(children), cases.c.check_name.like("collect.%"),
            cases.c.status == "open", cases.c.suppressed_by.is_(None))).scalars().all()
        changes: list[Change] = []
        for cid in rows:
            changes += self._suppress(conn, cid, number, now)
        return changes

    def _suppress(self, conn: Connection, case_id: int, parent_number: str, now: float) -> list[Change]:
        conn.execute(update(cases).where(cases.c.id == case_id).values(suppressed_by=parent_number,
                                                                      updated_at=now))
        self._event(conn, case_id, now, "suppress", {"parent": parent_number,
                                                     "message": f"parent unreachable: {parent_number}"})
        return [("suppress", self._get(conn, case_id))]

    # -- people -----------------------------------------------------------------------------

    def act(self, number: str, action: str, actor: str, within: Within | None = None,
            **kw: Any) -> list[Change]:
        """ack | assign | note | mark | pause | resume | resolve | close | reopen | visit, in one
        transaction (with `within(conn, case)`, if given, after the action)."""
        now = self.clock()
        with self._tx() as conn:
            row = conn.execute(select(cases).where(cases.c.number == number)).first()
            if row is None:
                raise CaseError(f"no case {number}")
            changes: list[Change] = getattr(self, f"_do_{action}")(conn, row, now, actor, **kw)
            if within is not None:
                within(conn, self._get(conn, row.id))
            return changes

    def remediation(self, number: str, actor: str, detail: dict[str, Any]) -> list[Change]:
        """A playbook run on this case (playbook, parameters, before/after values, result)."""
        now = self.clock()
        with self._tx() as conn:
            row = conn.execute(select(cases).where(cases.c.number == number)).first()
            if row is None:
                raise CaseError(f"no case {number}")
            conn.execute(update(cases).where(cases.c.id == row.id).values(updated_at=now))
            self._event(conn, row.id, now, "remediation", detail, actor)
            return [("remediation", self._get(conn, row.id))]

    def _need(self, row: Any, states: tuple[str, ...], action: str) -> None:
        if row.status not in states:
            raise CaseError(f"case {row.number} is {row.status}; {action} needs it "
                            f"{' or '.join(states)}")

    def _do_ack(self, conn: Connection, row: Any, now: float, actor: str, note: str = "") -> list[Change]:
        self._need(row, ("open",), "ack")
        values: dict[str, Any] = {"status": "acknowledged", "acknowledged_at": now,
                                  "acknowledged_by": actor, "updated_at": now}
        late = bool(row.response_due and now > row.response_due)
        if late:
            values["response_breached"] = 1
        conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
        self._event(conn, row.id, now, "ack", {"note": note, "late": late}, actor)
        return [("ack", self._get(conn, row.id))]

    def _do_assign(self, conn: Connection, row: Any, now: float, actor: str, to: str = "",
                   note: str = "") -> list[Change]:
        if not to:
            raise CaseError("assign needs a name")
        conn.execute(update(cases).where(cases.c.id == row.id).values(assignee=to, updated_at=now))
        self._event(conn, row.id, now, "assign", {"to": to, "note": note}, actor)
        return [("assign", self._get(conn, row.id))]

    def _do_note(self, conn: Connection, row: Any, now: float, actor: str, note: str = "") -> list[Change]:
        if not note.strip():
            raise CaseError("a note needs text")
        conn.execute(update(cases).where(cases.c.id == row.id).values(updated_at=now))
        self._event(conn, row.id, now, "note", {"note": note}, actor)
        return [("note", self._get(conn, row.id))]

    def _do_mark(self, conn: Connection, row: Any, now: float, actor: str, milestone: str = "",
                 note: str = "") -> list[Change]:
        """A milestone the contract's clocks name: arrival on site, diagnosis report, workaround…"""
        plain = milestone.replace("_", "").replace("-", "")
        if not plain.isalnum() or milestone in MILESTONES:
            raise CaseError(f"a milestone name like arrival, diagnosis, workaround or fault_report "
                            f"(not {milestone!r})")
        conn.execute(update(cases).where(cases.c.id == row.id).values(updated_at=now))
        self._event(conn, row.id, now, "milestone", {"milestone": milestone, "note": note}, actor)
        return [("milestone", self._get(conn, row.id))]

    def _do_pause(self, conn: Connection, row: Any, now: float, actor: str, note: str = "") -> list[Change]:
        self._need(row, OPEN_STATES, "pause")
        if row.paused_at is not None:
            raise CaseError(f"case {row.number} is already paused")
        conn.execute(update(cases).where(cases.c.id == row.id).values(paused_at=now, updated_at=now))
        self._event(conn, row.id, now, "pause", {"note": note}, actor)
        return [("pause", self._get(conn, row.id))]

    def _do_resume(self, conn: Connection, row: Any, now: float, actor: str, note: str = "") -> list[Change]:
        if row.paused_at is None:
            raise CaseError(f"case {row.number} is not paused")
        due = self._unpause(conn, row, now)
        # The pushed deadline goes into the event: `--as-of` replays the clock from the events.
        self._event(conn, row.id, now, "resume", {"note": note, "repair_due": due}, actor)
        return [("resume", self._get(conn, row.id))]

    def _unpause(self, conn: Connection, row: Any, now: float) -> float | None:
        counted = self._repair_calendar_elapsed(row, row.paused_at, now)
        due = self._push_repair(row, counted)
        conn.execute(update(cases).where(cases.c.id == row.id).values(
            paused_at=None, paused_seconds=row.paused_seconds + counted,
            repair_due=due, updated_at=now))
        return due

    def _do_resolve(self, conn: Connection, row: Any, now: float, actor: str, note: str = "",
                    cause: str = "", handling: str = "") -> list[Change]:
        self._need(row, OPEN_STATES, "resolve")
        return self._resolve(conn, row, now, actor, {"by": "engineer", "note": note},
                             cause=cause, handling=handling)

    def _resolve(self, conn: Connection, row: Any, now: float, actor: str, detail: dict[str, Any],
                 **fields: str) -> list[Change]:
        if row.paused_at is not None:
            self._unpause(conn, row, now)
            row = self._row(conn, row.id)
        values: dict[str, Any] = {"status": "resolved", "resolved_at": now, "resolved_by": actor,
                                  "updated_at": now, **{k: v for k, v in fields.items() if v}}
        if "value" in detail and detail["value"] is not None:
            values["last_value"] = detail["value"]
        late = bool(row.repair_due and now > row.repair_due)
        if late:
            values["repair_breached"] = 1
        conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
        self._event(conn, row.id, now, "resolve", {**detail, "late": late}, actor)
        changes: list[Change] = [("resolve", self._get(conn, row.id))]
        for child in conn.execute(select(cases).where(cases.c.suppressed_by == row.number,
                                                      cases.c.status.in_(OPEN_STATES))).all():
            changes += self._resolve(conn, child, now, SYSTEM, {"by": "parent", "parent": row.number})
        return changes

    def _do_close(self, conn: Connection, row: Any, now: float, actor: str, cause: str = "",
                  handling: str = "", loss: str = "", fault_type: str = "", note: str = "") -> list[Change]:
        self._need(row, ("resolved",), "close")
        cause, handling = cause or row.cause, handling or row.handling
        if not cause.strip() or not handling.strip():
            raise CaseError(f"closing {row.number} needs the cause and the handling "
                            "(--cause, --handling): they go into the fault report")
        conn.execute(update(cases).where(cases.c.id == row.id).values(
            status="closed", closed_at=now, closed_by=actor, cause=cause, handling=handling,
            loss=loss or row.loss, fault_type=fault_type or row.fault_type, updated_at=now))
        self._event(conn, row.id, now, "close", {"cause": cause, "handling": handling, "loss": loss,
                                                 "fault_type": fault_type, "note": note}, actor)
        return [("close", self._get(conn, row.id))]

    def _do_visit(self, conn: Connection, row: Any, now: float, actor: str, rating: int = 0,
                  comment: str = "", at: float | None = None, replace: bool = False) -> list[Change]:
        """A return visit (回访) after closing: the customer's rating (1-5) and comment. One per
        case; a second one replaces the first only when asked (the latest counts)."""
        self._need(row, ("closed",), "a return visit")
        if rating not in VISIT_RATINGS:
            raise CaseError(f"a rating from 1 to 5 (not {rating})")
        visited = now if at is None else at
        if visited > now + 60 or visited < row.closed_at:
            raise CaseError(f"the visit must be between the closing of {row.number} and now")
        before = conn.execute(select(case_events.c.seq).where(
            case_events.c.case_id == row.id, case_events.c.kind == "visit")
            .order_by(case_events.c.seq.desc())).first()
        if before is not None and not replace:
            raise CaseError(f"case {row.number} already has a return visit (#{before.seq}); "
                            "--replace records a new one in its place")
        conn.execute(update(cases).where(cases.c.id == row.id).values(updated_at=now))
        self._event(conn, row.id, now, "visit", {
            "rating": rating, "comment": comment, "visited_at": visited,
            "note": f"{rating}/5 {comment}".strip(),
            **({"replaces": before.seq} if before is not None else {})}, actor)
        return [("visit", self._get(conn, row.id))]

    def _do_reopen(self, conn: Connection, row: Any, now: float, actor: str, note: str = "") -> list[Change]:
        self._need(row, ("resolved", "closed"), "reopen")
        return self._reopen(conn, row, now, actor, {"by": "engineer", "note": note})

    def _reopen(self, conn: Connection, row: Any, now: float, actor: str,
                detail: dict[str, Any]) -> list[Change]:
        other = self._open_row(conn, row.device, row.check_name, row.instance)
        if other is not None:
            raise CaseError(f"case {other.number} is already open for this fault")
        # The time it stayed resolved does not count against the repair clock.
        gap = self._repair_calendar_elapsed(row, row.resolved_at or now, now)
        due = self._push_repair(row, gap)
        conn.execute(update(cases).where(cases.c.id == row.id).values(
            status="acknowledged" if row.acknowledged_at else "open", resolved_at=None,
            resolved_by=None, closed_at=None, closed_by=None, updated_at=now,
            paused_seconds=row.paused_seconds + gap, repair_due=due))
        self._event(conn, row.id, now, "reopen", {**detail, "repair_due": due}, actor)
        return [("reopen", self._get(conn, row.id))]

    # -- rows and events ----------------------------------------------------------------------

    def _open_row(self, conn: Connection, device: str, check: str, instance: str) -> Any:
        return conn.execute(select(cases).where(
            cases.c.device == device, cases.c.check_name == check, cases.c.instance == instance,
            cases.c.status.in_(OPEN_STATES))).first()

    def _row(self, conn: Connection, case_id: int) -> Any:
        return conn.execute(select(cases).where(cases.c.id == case_id)).one()

    def _event(self, conn: Connection, case_id: int, at: float, kind: str,
               detail: dict[str, Any], actor: str = SYSTEM) -> None:
        seq = conn.execute(select(func.coalesce(func.max(case_events.c.seq), 0))
                           .where(case_events.c.case_id == case_id)).scalar_one() + 1
        row = self._row(conn, case_id)
        full = redact_deep({"level": row.level, **detail})
        conn.execute(insert(case_events).values(
            case_id=case_id, seq=seq, at=at, kind=kind, actor=actor,
            detail=json.dumps(full, ensure_ascii=False)))
        self._named_clocks(conn, row, kind, detail, at)
        if self.outbox is not None:  # same transaction: the event and its deliveries, or neither
            self.outbox.enqueue(conn, row, {"seq": seq, "at": at, "kind": kind, "actor": actor,
                                            "detail": full}, self.devices.get(row.device))

    def _next_number(self, conn: Connection, now: float) -> str:
        day = _utc(now).astimezone(self.policy.tz).strftime("%Y%m%d")
        prefix = f"F-{day}-"
        last = conn.execute(select(func.max(cases.c.number))
                            .where(cases.c.number.like(f"{prefix}%"))).scalar_one()
        n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
        return f"{prefix}{n:04d}"

    def _get(self, conn: Connection, case_id: int) -> Case:
        return to_case(self._row(conn, case_id))


def _left_text(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _missed(row: Any, now: float) -> list[tuple[str, float]]:
    """The running clocks whose deadline passed by `now` and has not been acted on."""
    out = []
    if row.status == "open" and row.response_due and now >= row.response_due \
            and row.response_alarmed != row.response_due:
        out.append(("response", row.response_due))
    if row.paused_at is None and row.repair_due and now >= row.repair_due \
            and row.repair_alarmed != row.repair_due:
        out.append(("repair", row.repair_due))
    return out


def _verdict_doc(v: Verdict) -> dict[str, Any]:
    return {"device": v.device, "check": v.check, "status": v.status.label, "instance": v.instance,
            "value": v.value, "unit": v.unit, "threshold": v.threshold, "message": v.message,
            "collected_at": v.collected_at, "level": v.level, "flapping": v.flapping, "since": v.since}


def _verdict(d: dict[str, Any]) -> Verdict:
    return Verdict(**{**d, "status": Status.parse(d["status"])})


def to_case(r: Any) -> Case:
    return Case(
        id=r.id, number=r.number, device=r.device, check=r.check_name, instance=r.instance,
        level=r.level, opened_level=r.opened_level, status=r.status, severity=r.severity,
        opened_at=r.opened_at, updated_at=r.updated_at, policy=r.policy,
        response_due=r.response_due, repair_due=r.repair_due, acknowledged_at=r.acknowledged_at,
        acknowledged_by=r.acknowledged_by, response_breached=bool(r.response_breached),
        repair_breached=bool(r.repair_breached), paused_at=r.paused_at,
        paused_seconds=r.paused_seconds, resolved_at=r.resolved_at, resolved_by=r.resolved_by,
        closed_at=r.closed_at, closed_by=r.closed_by, assignee=r.assignee,
        flapping=bool(r.flapping), suppressed_by=r.suppressed_by, fault_type=r.fault_type,
        cause=r.cause, handling=r.handling, loss=r.loss, last_value=r.last_value,
        threshold=r.threshold, message=r.message, source=r.source, category=r.category,
        request_class=r.request_class)
