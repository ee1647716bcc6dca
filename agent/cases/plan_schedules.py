"""Planned work's schedules, from the `plans:` section of the agent config (see agent.cases.plans
for what they make). Read with the case policy; no store here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.cases.calendar import AlwaysCalendar, Calendar
from core.problems import ConfigError, Problem, pydantic_problems

EVERY_MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}


class ScheduleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    every: Literal["month", "quarter", "half-year", "year"]
    day: int = Field(default=1, ge=1, le=28)
    calendar: str = "24x7"
    approval: bool = False
    notify_sites: bool = False
    remind_before: int = Field(default=3, ge=0, le=60)
    report_within: int = Field(default=3, ge=0, le=60)
    level: int = Field(default=3, ge=1, le=5)
    devices: list[str] = []
    groups: list[str] = []


@dataclass(frozen=True)
class Schedule:
    name: str
    spec: ScheduleSpec
    calendar: Calendar

    def periods(self, start: date, end: date) -> list[tuple[str, date]]:
        """(period key, planned day) of the periods whose first month falls in [start, end]."""
        months = EVERY_MONTHS[self.spec.every]
        first = date(start.year, ((start.month - 1) // months) * months + 1, 1)
        out = []
        while first <= end:
            out.append((_period_key(first, self.spec.every), self.working_day_from(
                first.replace(day=self.spec.day))))
            m = first.month - 1 + months
            first = date(first.year + m // 12, m % 12 + 1, 1)
        return out

    def working_day_from(self, day: date) -> date:
        for _ in range(60):
            if self.calendar.is_working_day(day):
                return day
            day += timedelta(days=1)
        return day

    def working_days_before(self, day: date, n: int) -> date:
        while n > 0:
            day -= timedelta(days=1)
            if self.calendar.is_working_day(day):
                n -= 1
        return day

    def working_days_after(self, day: date, n: int) -> date:
        while n > 0:
            day += timedelta(days=1)
            if self.calendar.is_working_day(day):
                n -= 1
        return day


def _period_key(first: date, every: str) -> str:
    if every == "month":
        return f"{first:%Y-%m}"
    if every == "quarter":
        return f"{first.year}Q{(first.month - 1) // 3 + 1}"
    if every == "half-year":
        return f"{first.year}H{(first.month - 1) // 6 + 1}"
    return str(first.year)


def load_schedules(raw: dict[str, Any], calendars: dict[str, Calendar], file: str) -> dict[str, Schedule]:
    section = raw.get("plans") or {}
    if not isinstance(section, dict):
        raise ConfigError([Problem(file, "plans", "a mapping of schedule name to schedule")])
    problems: list[Problem] = []
    out: dict[str, Schedule] = {}
    known = {"24x7": AlwaysCalendar(), **calendars}
    for name, body in section.items():
        try:
            spec = ScheduleSpec.model_validate(body if isinstance(body, dict) else {})
        except ValidationError as e:
            problems += pydantic_problems(file, ("plans", name), e)
            continue
        if spec.calendar not in known:
            problems.append(Problem(file, f"plans.{name}.calendar",
                                    f"a calendar defined under calendars: ({', '.join(sorted(known))})"))
            continue
        out[str(name)] = Schedule(str(name), spec, known[spec.calendar])
    if problems:
        raise ConfigError(problems)
    return out
