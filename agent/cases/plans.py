"""Planned work (计划性工作): the inspections a contract schedules — a monthly visit, a quarterly
inspection whose plan the customer approves and the sites are told of, a half-yearly
comprehensive one — as planned activities with their date, approval, completion and the
report-delivery clock ("the inspection report within 3 working days").

    plans:
      quarterly:
        title: 季度巡检 / quarterly inspection
        every: quarter              # month | quarter | half-year | year
        day: 15                     # of the period's first month; a non-working day → the next working day
        calendar: office            # whose working days (default: every day)
        approval: true              # the customer approves the plan before the date
        notify_sites: true          # the sites are told before the date
        remind_before: 5            # working days before the date: approval or notice missing is a case
        report_within: 3            # working days after completion to deliver the report
        groups: [core]              # the scope (devices / groups), for the record

Instances are made for the periods planned from today to `LOOKAHEAD_DAYS` ahead (once each:
a schedule and its period are unique; a day already past is not planned after the fact), and
by hand (`xunjian plans add`). What lapses —
approval or notice missing `remind_before` working days ahead, not done by the end of its
day, report not delivered in time — is a case on the device `xunjian` (check `plan`, the
plan's number as instance) through the same lifecycle, hooks and reports as any fault; it
resolves when the step is done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from agent.cases.calendar import AlwaysCalendar
from agent.cases.plan_schedules import Schedule, ScheduleSpec
from agent.store.db import serialize
from agent.store.schema import cases, plan_events, plans
from core.model import Status, Verdict

SELF = "xunjian"
CHECK = "plan"
LOOKAHEAD_DAYS = 62
STATES = ("planned", "done", "reported", "cancelled")


class PlanError(ValueError):
    """A plan action that cannot be done as asked (the message says why)."""


@dataclass(frozen=True)
class Plan:
    id: int
    number: str
    schedule: str
    period: str
    title: str
    planned_for: str  # YYYY-MM-DD, local
    status: str
    approval: bool
    notify_sites: bool
    approved_at: float | None = None
    approved_by: str | None = None
    notified_at: float | None = None
    done_at: float | None = None
    done_by: str | None = None
    report_due: str | None = None  # YYYY-MM-DD, local
    reported_at: float | None = None
    report: str = ""
    scope: dict[str, Any] = field(default_factory=dict)
    level: int = 3
    remind_before: int = 3
    report_within: int = 3
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "id"}


def _plan(r: Any) -> Plan:
    return Plan(id=r.id, number=r.number, schedule=r.schedule, period=r.period, title=r.title,
                planned_for=r.planned_for, status=r.status, approval=bool(r.approval),
                notify_sites=bool(r.notify_sites), approved_at=r.approved_at, approved_by=r.approved_by,
                notified_at=r.notified_at, done_at=r.done_at, done_by=r.done_by, report_due=r.report_due,
                reported_at=r.reported_at, report=r.report or "", scope=json.loads(r.scope or "{}"),
                level=r.level, remind_before=r.remind_before, report_within=r.report_within,
                note=r.note or "")


class Plans:
    """The planned activities in the store, and what their dates say now."""

    def __init__(self, engine: Engine, schedules: dict[str, Schedule], tz: ZoneInfo) -> None:
        self.engine, self.schedules, self.tz = engine, schedules, tz

    # -- making them ------------------------------------------------------------------------

    def generate(self, now: float, actor: str = "system") -> list[Plan]:
        """Instances of every schedule planned from today to LOOKAHEAD_DAYS ahead (once each). A
        day already past when the schedule first meets it is not planned after the fact."""
        today = datetime.fromtimestamp(now, self.tz).date()
        made = []
        for s in self.schedules.values():
            for period, day in s.periods(today.replace(day=1), today + timedelta(days=LOOKAHEAD_DAYS)):
                if day < today:
                    continue
                plan = self._make(s.name, period, s.spec.title, day, s.spec.approval, s.spec.notify_sites,
                                  {"devices": s.spec.devices, "groups": s.spec.groups}, s.spec.level,
                                  s.spec.remind_before, s.spec.report_within, now, actor)
                if plan is not None:
                    made.append(plan)
        return made

    def add(self, title: str, day: date, now: float, actor: str, approval: bool = False,
            notify_sites: bool = False, level: int = 3, report_within: int = 3, remind_before: int = 3,
            scope: dict[str, Any] | None = None, note: str = "") -> Plan:
        """A planned activity outside any schedule (a special inspection before a holiday…)."""
        if not title.strip():
            raise PlanError("a plan needs a title (--title)")
        key = f"{day:%Y-%m-%d}#{int(now * 1000)}"
        plan = self._make("", key, title.strip(), day, approval, notify_sites, scope or {}, level,
                          remind_before, report_within, now, actor, note)
        assert plan is not None
        return plan

    def _make(self, schedule: str, period: str, title: str, day: date, approval: bool, notify: bool,
              scope: dict[str, Any], level: int, remind_before: int, report_within: int, now: float,
              actor: str, note: str = "") -> Plan | None:
        with self.engine.begin() as conn:
            serialize(conn, "cases")
            if schedule and conn.execute(select(plans.c.id).where(plans.c.schedule == schedule,
                                                                  plans.c.period == period)).first():
                return None
            number = self._number(conn, day)
            new_id = conn.execute(insert(plans).values(
                number=number, schedule=schedule, period=period, title=title.replace("{period}", period),
                planned_for=day.isoformat(), status="planned", approval=int(approval),
                notify_sites=int(notify), scope=json.dumps(scope, ensure_ascii=False), level=level,
                remind_before=remind_before, report_within=report_within, note=note,
                created_at=now, created_by=actor)).inserted_primary_key[0]
            self._event(conn, new_id, now, "plan", actor, {"planned_for": day.isoformat()})
            return _plan(conn.execute(select(plans).where(plans.c.id == new_id)).one())

    def _number(self, conn: Connection, day: date) -> str:
        prefix = f"P-{day:%Y%m}-"
        n = conn.execute(select(func.count()).select_from(plans)
                         .where(plans.c.number.like(prefix + "%"))).scalar_one()
        return f"{prefix}{n + 1:03d}"

    # -- acting on them ---------------------------------------------------------------------

    def act(self, number: str, action: str, actor: str, now: float, report: str = "",
            note: str = "") -> Plan:
        """approve | notify | done | reported | cancel."""
        with self.engine.begin() as conn:
            row = conn.execute(select(plans).where(plans.c.number == number)).first()
            if row is None:
                raise PlanError(f"no plan {number}")
            p = _plan(row)
            values: dict[str, Any] = {}
            if p.status == "cancelled":
                raise PlanError(f"plan {number} was cancelled")
            if action == "approve":
                if not p.approval:
                    raise PlanError(f"plan {number} needs no approval")
                values = {"approved_at": now, "approved_by": actor}
            elif action == "notify":
                values = {"notified_at": now}
            elif action == "done":
                if p.status != "planned":
                    raise PlanError(f"plan {number} is already {p.status}")
                if p.approval and p.approved_at is None:
                    raise PlanError(f"plan {number} is not approved yet (xunjian plans approve {number})")
                day = datetime.fromtimestamp(now, self.tz).date()
                due = self._calendar(p).working_days_after(day, p.report_within)
                values = {"status": "done", "done_at": now, "done_by": actor, "report_due": due.isoformat()}
            elif action == "reported":
                if p.status != "done":
                    raise PlanError(f"plan {number} is {p.status}: the report follows the work (done first)")
                if not report.strip():
                    raise PlanError("say which report was delivered (--report: its number or file)")
                values = {"status": "reported", "reported_at": now, "report": report.strip()}
            elif action == "cancel":
                if not note.strip():
                    raise PlanError("say why the plan is cancelled (--note)")
                values = {"status": "cancelled"}
            else:
                raise PlanError(f"unknown action {action!r}")
            conn.execute(update(plans).where(plans.c.id == p.id).values(**values))
            detail = {k: v for k, v in (("note", note), ("report", report)) if v}
            self._event(conn, p.id, now, action, actor, detail)
            return _plan(conn.execute(select(plans).where(plans.c.id == p.id)).one())

    def _event(self, conn: Connection, plan_id: int, at: float, kind: str, actor: str,
               detail: dict[str, Any]) -> None:
        conn.execute(insert(plan_events).values(plan_id=plan_id, at=at, kind=kind, actor=actor,
                                                detail=json.dumps(detail, ensure_ascii=False)))

    def _calendar(self, p: Plan) -> Schedule:
        s = self.schedules.get(p.schedule)
        # a plan by hand, or one whose schedule left the config: every day counts
        return s if s is not None else Schedule("", ScheduleSpec(title=p.title, every="year"),
                                                AlwaysCalendar())

    # -- reading and judging ----------------------------------------------------------------

    def between(self, first: date, last: date) -> list[Plan]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(plans).where(plans.c.planned_for >= first.isoformat(),
                                                    plans.c.planned_for <= last.isoformat())
                                .order_by(plans.c.planned_for, plans.c.id)).all()
        return [_plan(r) for r in rows]

    def verdicts(self, now: float) -> list[Verdict]:
        """WARN for every step that lapsed (a case); OK for a plan whose lapse is an open case
        and is no more (it resolves the case)."""
        today = datetime.fromtimestamp(now, self.tz).date()
        with self.engine.connect() as conn:
            lapsed = set(conn.execute(select(cases.c.instance).where(
                cases.c.device == SELF, cases.c.check_name == CHECK,
                cases.c.status.in_(("open", "acknowledged")))).scalars())
            rows = conn.execute(select(plans).where(or_(plans.c.status.in_(("planned", "done")),
                                                        plans.c.number.in_(lapsed)))).all()
        out = []
        for p in map(_plan, rows):
            lapse = self.lapse(p, today) if p.status in ("planned", "done") else ""
            if lapse:
                out.append(Verdict(SELF, CHECK, Status.WARN, instance=p.number, level=p.level,
                                   collected_at=now, message=lapse))
            elif p.number in lapsed:
                out.append(Verdict(SELF, CHECK, Status.OK, instance=p.number, collected_at=now,
                                   message=f"{p.title}: {p.status}"))
        return out

    def lapse(self, p: Plan, today: date) -> str:
        """What is late about a plan today, in both languages, or ""."""
        day = date.fromisoformat(p.planned_for)
        cal = self._calendar(p)
        if p.status == "planned":
            if today > day:
                return f"计划工作未按期完成 / planned work not done: {p.title} ({p.number}, planned {day})"
            ahead = cal.working_days_before(day, p.remind_before)
            if today >= ahead and p.approval and p.approved_at is None:
                return f"计划未获批准 / plan not approved yet: {p.title} ({p.number}, planned {day})"
            if today >= ahead and p.notify_sites and p.notified_at is None:
                return f"未通知站点 / sites not told yet: {p.title} ({p.number}, planned {day})"
        if p.status == "done" and p.report_due and today > date.fromisoformat(p.report_due):
            return (f"巡检报告未按期提交 / inspection report not delivered: {p.title} ({p.number}, "
                    f"due {p.report_due})")
        return ""



class PlanChecks:
    """What the case clocks' tick asks of planned work: the schedules' instances made once a
    local day, the lapses judged every tick (so that a step done resolves its case at once)."""

    def __init__(self) -> None:
        self._day: date | None = None

    def due(self, engine: Engine, schedules: dict[str, Schedule], tz: ZoneInfo, now: float) -> list[Verdict]:
        work = Plans(engine, schedules, tz)
        today = datetime.fromtimestamp(now, tz).date()
        if schedules and today != self._day:
            work.generate(now)
            self._day = today
        return work.verdicts(now)
