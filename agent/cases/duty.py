"""The duty roster (值班表): shifts with who is on duty, kept in the store (edited by `xunjian duty`).

A new case with no assignee goes to the first person of the shift on duty when it opens (a
heightened-watch shift first, where shifts overlap); reminders name everyone on duty as recipients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from agent.store.schema import duty_shifts


class DutyError(ValueError):
    """A shift that cannot be kept as given (the message says what to change)."""


@dataclass(frozen=True)
class Shift:
    id: int
    name: str
    starts_at: float
    ends_at: float
    people: tuple[str, ...]
    watch: bool = False
    created_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "starts_at": self.starts_at, "ends_at": self.ends_at,
                "people": list(self.people), "watch": self.watch, "created_by": self.created_by}


def _shift(r: Any) -> Shift:
    return Shift(id=r.id, name=r.name, starts_at=r.starts_at, ends_at=r.ends_at,
                 people=tuple(json.loads(r.people)), watch=bool(r.watch), created_by=r.created_by)


def add_shift(engine: Engine, name: str, starts_at: float, ends_at: float, people: list[str],
              watch: bool, by: str, now: float) -> Shift:
    people = [p.strip() for p in people if p.strip()]
    problems = []
    if not name.strip():
        problems.append("a shift needs a name (--name)")
    if ends_at <= starts_at:
        problems.append("the shift must end after it starts (--end after --start)")
    if not people:
        problems.append("a shift needs at least one person on duty (--person)")
    if problems:
        raise DutyError("; ".join(problems))
    with engine.begin() as conn:
        new_id = conn.execute(insert(duty_shifts).values(
            name=name.strip(), starts_at=starts_at, ends_at=ends_at,
            people=json.dumps(people, ensure_ascii=False), watch=int(watch), created_at=now,
            created_by=by)).inserted_primary_key[0]
        return _shift(conn.execute(select(duty_shifts).where(duty_shifts.c.id == new_id)).one())


def remove_shift(engine: Engine, shift_id: int) -> None:
    with engine.begin() as conn:
        if conn.execute(delete(duty_shifts).where(duty_shifts.c.id == shift_id)).rowcount == 0:
            raise DutyError(f"no shift {shift_id} in the duty roster")


def shifts_between(engine: Engine, since: float, until: float) -> list[Shift]:
    """Shifts that overlap [since, until), by start."""
    with engine.connect() as conn:
        rows = conn.execute(select(duty_shifts).where(
            duty_shifts.c.starts_at < until, duty_shifts.c.ends_at > since)
            .order_by(duty_shifts.c.starts_at, duty_shifts.c.id)).all()
    return [_shift(r) for r in rows]


def on_duty(conn: Connection, at: float) -> list[Shift]:
    """The shifts on duty at `at`: heightened-watch ones first, then by start."""
    rows = conn.execute(select(duty_shifts).where(
        duty_shifts.c.starts_at <= at, duty_shifts.c.ends_at > at)
        .order_by(duty_shifts.c.watch.desc(), duty_shifts.c.starts_at, duty_shifts.c.id)).all()
    return [_shift(r) for r in rows]


def people_on_duty(conn: Connection, at: float) -> list[str]:
    out: list[str] = []
    for s in on_duty(conn, at):
        out += [p for p in s.people if p not in out]
    return out
