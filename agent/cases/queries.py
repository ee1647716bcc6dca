"""Reading cases and their events (for the CLI, reports and hooks). No writes here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, or_, select

from agent.cases.engine import OPEN_STATES, to_case
from agent.store.schema import case_clocks, case_events, case_reports, cases
from agent.store.schema import case_tickets as tickets_table
from core.model import Case

STATES = ("open", "acknowledged", "resolved", "closed")


def list_cases(engine: Engine, status: str = "open", *, level: int | None = None,
               devices: Iterable[str] | None = None, breached: bool = False,
               since: float | None = None, until: float | None = None) -> list[Case]:
    """status: open (open + acknowledged), one of STATES, or all; `since`/`until` on opened_at."""
    q = select(cases).order_by(cases.c.opened_at, cases.c.id)
    if status == "open":
        q = q.where(cases.c.status.in_(OPEN_STATES))
    elif status != "all":
        q = q.where(cases.c.status == status)
    if level is not None:
        q = q.where(cases.c.level == level)
    if devices is not None:
        q = q.where(cases.c.device.in_(list(devices)))
    if breached:
        q = q.where(or_(cases.c.response_breached == 1, cases.c.repair_breached == 1))
    if since is not None:
        q = q.where(cases.c.opened_at >= since)
    if until is not None:
        q = q.where(cases.c.opened_at < until)
    with engine.connect() as conn:
        return [to_case(r) for r in conn.execute(q)]


def get_case(engine: Engine, number: str) -> Case | None:
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.number == number)).first()
    return to_case(row) if row else None


def case_history(engine: Engine, number: str) -> list[dict[str, Any]]:
    q = (select(case_events).join(cases, cases.c.id == case_events.c.case_id)
         .where(cases.c.number == number).order_by(case_events.c.seq))
    with engine.connect() as conn:
        return [{"seq": r.seq, "at": r.at, "kind": r.kind, "actor": r.actor,
                 "detail": json.loads(r.detail)} for r in conn.execute(q)]


def events_between(engine: Engine, since: float, until: float) -> list[dict[str, Any]]:
    q = (select(case_events, cases.c.number).join(cases, cases.c.id == case_events.c.case_id)
         .where(case_events.c.at >= since, case_events.c.at < until).order_by(case_events.c.at))
    with engine.connect() as conn:
        return [{"case": r.number, "seq": r.seq, "at": r.at, "kind": r.kind, "actor": r.actor,
                 "detail": json.loads(r.detail)} for r in conn.execute(q)]


def open_case_counts(engine: Engine) -> dict[int, int]:
    """Open (and acknowledged) cases per level."""
    q = (select(cases.c.level, func.count()).where(cases.c.status.in_(OPEN_STATES))
         .group_by(cases.c.level))
    with engine.connect() as conn:
        return {int(level): int(n) for level, n in conn.execute(q)}


def case_tickets(engine: Engine, number: str) -> list[dict[str, Any]]:
    """The tickets hooks made for a case (Jira issue, ServiceNow incident…), by channel."""
    q = (select(tickets_table).join(cases, cases.c.id == tickets_table.c.case_id)
         .where(cases.c.number == number).order_by(tickets_table.c.channel))
    with engine.connect() as conn:
        return [{"channel": r.channel, "ticket_id": r.ticket_id, "url": r.url} for r in conn.execute(q)]


def case_report(engine: Engine, number: str) -> dict[str, Any] | None:
    """Who reported a case, how and when (None: a rule opened it)."""
    q = (select(case_reports).join(cases, cases.c.id == case_reports.c.case_id)
         .where(cases.c.number == number))
    with engine.connect() as conn:
        r = conn.execute(q).first()
    if r is None:
        return None
    return {"channel": r.channel, "reporter": r.reporter, "unit": r.unit, "contact": r.contact,
            "reported_at": r.reported_at, "entered_at": r.entered_at, "entered_by": r.entered_by,
            "description": r.description, "affected": json.loads(r.affected)}


def named_clocks(engine: Engine, number: str) -> list[dict[str, Any]]:
    """The named clocks a case started (arrival, diagnosis, fault report…), in start order."""
    q = (select(case_clocks).join(cases, cases.c.id == case_clocks.c.case_id)
         .where(cases.c.number == number).order_by(case_clocks.c.started_at, case_clocks.c.name))
    with engine.connect() as conn:
        return [{"name": r.name, "level": r.level, "started_at": r.started_at, "due": r.due,
                 "stopped_at": r.stopped_at, "breached": bool(r.breached)} for r in conn.execute(q)]


def histories(engine: Engine, numbers: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every event of these cases, by case number, in order."""
    wanted = list(numbers)
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in wanted}
    if not wanted:
        return out
    q = (select(case_events, cases.c.number).join(cases, cases.c.id == case_events.c.case_id)
         .where(cases.c.number.in_(wanted)).order_by(case_events.c.case_id, case_events.c.seq))
    with engine.connect() as conn:
        for r in conn.execute(q):
            out[r.number].append({"seq": r.seq, "at": r.at, "kind": r.kind, "actor": r.actor,
                                  "detail": json.loads(r.detail)})
    return out


def cases_as_of(engine: Engine, at: float, status: str = "open", **kw: Any) -> list[Case]:
    """list_cases as the cases stood at `at` (replayed from their events)."""
    from agent.cases.asof import case_as_of

    found = list_cases(engine, "all", **{k: v for k, v in kw.items() if k not in ("level", "breached")})
    events = histories(engine, [c.number for c in found])
    out = []
    for c in found:
        then = case_as_of(c, events[c.number], at)
        if then is None or (status == "open" and not then.is_open) or \
                (status not in ("open", "all") and then.status != status):
            continue
        if kw.get("level") is not None and then.level != kw["level"]:
            continue
        if kw.get("breached") and not (then.response_breached or then.repair_breached):
            continue
        out.append(then)
    return out


def visit_of(events: Iterable[dict[str, Any]], until: float | None = None) -> dict[str, Any] | None:
    """A case's return visit (the latest `visit` event, entered before `until`), or None."""
    found = [e for e in events if e["kind"] == "visit" and (until is None or e["at"] <= until)]
    if not found:
        return None
    e = found[-1]
    d = e["detail"]
    return {"rating": d["rating"], "comment": d.get("comment", ""), "by": e["actor"],
            "visited_at": d.get("visited_at", e["at"]), "entered_at": e["at"], "seq": e["seq"]}
