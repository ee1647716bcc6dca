"""Fault cases (故障单): verdicts in, cases opened, updated and resolved, every change an event.

Each verdict is applied in its own transaction together with its event, so a case
and its history never disagree, even after a kill -9.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from agent.model import Case, Status, Verdict
from agent.store.schema import case_events, cases

OPEN_STATES = ("open", "acknowledged")
SYSTEM = "system"


class CaseEngine:
    def __init__(self, engine: Engine, clock: Any = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def apply(self, verdicts: list[Verdict]) -> list[tuple[str, Case]]:
        """Apply verdicts; return the (event kind, case) pairs that changed something."""
        changes = []
        for v in verdicts:
            with self.engine.begin() as conn:
                change = self._apply_one(conn, v)
            if change:
                changes.append(change)
        return changes

    def _apply_one(self, conn: Connection, v: Verdict) -> tuple[str, Case] | None:
        row = conn.execute(select(cases).where(
            cases.c.device == v.device, cases.c.check_name == v.check,
            cases.c.instance == v.instance, cases.c.status.in_(OPEN_STATES),
        )).first()
        now = self.clock()
        if v.status is Status.OK:
            if row is None:
                return None
            conn.execute(update(cases).where(cases.c.id == row.id).values(
                status="resolved", resolved_at=now, resolved_by=SYSTEM, updated_at=now,
                last_value=v.value, message=v.message))
            self._event(conn, row.id, now, "resolve", {"value": v.value, "message": v.message,
                                                        "by": "recovery"})
            return "resolve", self._get(conn, row.id)
        level = v.level or 3
        if row is None:
            number = self._next_number(conn, now)
            case_id = conn.execute(insert(cases).values(
                number=number, device=v.device, check_name=v.check, instance=v.instance,
                level=level, status="open", severity=v.status.label, opened_at=now,
                updated_at=now, last_value=v.value, threshold=v.threshold, message=v.message,
            )).inserted_primary_key[0]
            self._event(conn, case_id, now, "open", {
                "level": level, "severity": v.status.label, "value": v.value,
                "threshold": v.threshold, "message": v.message})
            return "open", self._get(conn, case_id)
        values: dict[str, Any] = {"updated_at": now, "last_value": v.value, "message": v.message,
                                  "threshold": v.threshold}
        kind = None
        if v.status.label != row.severity:
            values["severity"] = v.status.label
            kind = "update"
        if level < row.level:  # a worse verdict raises the level (1 is the most severe)
            values["level"] = level
            kind = "update"
        conn.execute(update(cases).where(cases.c.id == row.id).values(**values))
        if kind:
            self._event(conn, row.id, now, kind, {"severity": v.status.label, "level":
                                                  values.get("level", row.level),
                                                  "value": v.value, "message": v.message})
            return kind, self._get(conn, row.id)
        return None

    def _event(self, conn: Connection, case_id: int, at: float, kind: str,
               detail: dict[str, Any], actor: str = SYSTEM) -> None:
        seq = conn.execute(select(func.coalesce(func.max(case_events.c.seq), 0))
                           .where(case_events.c.case_id == case_id)).scalar_one() + 1
        conn.execute(insert(case_events).values(case_id=case_id, seq=seq, at=at, kind=kind,
                                                actor=actor, detail=json.dumps(detail)))

    def _next_number(self, conn: Connection, now: float) -> str:
        prefix = f"F-{datetime.fromtimestamp(now).strftime('%Y%m%d')}-"
        last = conn.execute(select(func.max(cases.c.number))
                            .where(cases.c.number.like(f"{prefix}%"))).scalar_one()
        n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
        return f"{prefix}{n:04d}"

    def _get(self, conn: Connection, case_id: int) -> Case:
        return _case(conn.execute(select(cases).where(cases.c.id == case_id)).one())


def _case(r: Any) -> Case:
    return Case(id=r.id, number=r.number, device=r.device, check=r.check_name,
                instance=r.instance, level=r.level, status=r.status, severity=r.severity,
                opened_at=r.opened_at, updated_at=r.updated_at, resolved_at=r.resolved_at,
                resolved_by=r.resolved_by, last_value=r.last_value, threshold=r.threshold,
                message=r.message)


def list_cases(engine: Engine, status: str = "open") -> list[Case]:
    """status: open (open + acknowledged), resolved, closed, or all."""
    q = select(cases).order_by(cases.c.opened_at, cases.c.id)
    if status == "open":
        q = q.where(cases.c.status.in_(OPEN_STATES))
    elif status != "all":
        q = q.where(cases.c.status == status)
    with engine.connect() as conn:
        return [_case(r) for r in conn.execute(q)]


def case_history(engine: Engine, number: str) -> list[dict[str, Any]]:
    q = (select(case_events).join(cases, cases.c.id == case_events.c.case_id)
         .where(cases.c.number == number).order_by(case_events.c.seq))
    with engine.connect() as conn:
        return [{"seq": r.seq, "at": r.at, "kind": r.kind, "actor": r.actor,
                 "detail": json.loads(r.detail)} for r in conn.execute(q)]
