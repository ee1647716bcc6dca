"""How cases are run, from the agent config: time zone, calendars, SLA policies, the reopen
window, maintenance windows and heightened-watch periods.

    timezone: Asia/Shanghai
    calendars: {office: {timezone: Asia/Shanghai, hours: ["08:30-12:00", "13:30-17:30"], statutory: cn}}
    sla:
      default: {levels: {1: {response: 1h, repair: 6h}, 2: {…}, 3: {…}}}
      strict:  {levels: …}
    cases:
      policy: default          # the SLA policy a new case gets
      reopen_window: 1h        # the same fault again within this → the old case reopens
      maintenance: [{name, start, end | every, days, at, duration, devices, groups, sites}]
      watch: [{name, …same…, policy: strict}]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agent.cases.calendar import Calendar, load_calendars
from agent.cases.plan_schedules import Schedule, load_schedules
from agent.cases.sla import DEFAULT, SlaPolicy, default_policy, load_policies, parse_duration
from agent.cases.windows import DeviceLike, Watch, WatchSpec, Window, WindowSpec
from core.problems import ConfigError, Problem, pydantic_problems, shorten


class CasesSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = DEFAULT
    reopen_window: str = "1h"
    maintenance: list[WindowSpec] = []
    watch: list[WatchSpec] = []

    @field_validator("reopen_window")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


@dataclass(frozen=True)
class CasePolicy:
    tz: ZoneInfo
    policies: dict[str, SlaPolicy]
    policy: str = DEFAULT
    reopen_window: timedelta = timedelta(hours=1)
    maintenance: tuple[Window, ...] = ()
    watch: tuple[Watch, ...] = ()
    calendars: dict[str, Calendar] = field(default_factory=dict)
    plans: dict[str, Schedule] = field(default_factory=dict)  # planned work (agent.cases.plans)

    def sla(self, name: str) -> SlaPolicy:
        return self.policies.get(name) or self.policies[DEFAULT]

    def in_maintenance(self, device: DeviceLike | None, name: str, now: float) -> float | None:
        """The end of the maintenance window the device is in now (latest of several), or None."""
        ends = [e for w in self.maintenance if w.covers(device, name)
                if (e := w.active_until(now)) is not None]
        return max(ends) if ends else None

    def policy_for(self, device: DeviceLike | None, name: str, now: float) -> str:
        """A heightened-watch period in force for this device sets a stricter policy."""
        for w in self.watch:
            if w.covers(device, name) and w.active_until(now) is not None:
                return w.policy
        return self.policy


def default_case_policy(tz: str | None = None) -> CasePolicy:
    zone = ZoneInfo(tz) if tz else _local_zone()
    return CasePolicy(tz=zone, policies={DEFAULT: default_policy({})})


def _local_zone() -> ZoneInfo:
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            return ZoneInfo(f.read().strip())
    except (OSError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def load_case_policy(raw: dict[str, Any], file: str) -> CasePolicy:
    """From the whole config mapping; every problem in these sections raised at once."""
    problems: list[Problem] = []
    tz_name = raw.get("timezone")
    try:
        tz = ZoneInfo(tz_name) if tz_name else _local_zone()
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(file, "timezone",
                                f"an IANA time zone like Asia/Shanghai, got {shorten(tz_name)}"))
        tz = ZoneInfo("UTC")
    calendars: dict[str, Calendar] = {}
    policies: dict[str, SlaPolicy] = {}
    try:
        calendars = load_calendars(raw, file)
    except ConfigError as e:
        problems += e.problems
    try:
        policies = load_policies(raw, calendars, file)
    except ConfigError as e:
        problems += e.problems
    section = CasesSection()
    try:
        section = CasesSection.model_validate(raw.get("cases") or {})
    except ValidationError as e:
        problems += pydantic_problems(file, ("cases",), e)
    if policies:
        if section.policy not in policies:
            problems.append(Problem(file, "cases.policy", f"an SLA policy defined under sla: "
                                    f"({', '.join(sorted(policies))}), got {shorten(section.policy)}"))
        for i, w in enumerate(section.watch):
            if w.policy not in policies:
                problems.append(Problem(file, f"cases.watch[{i}].policy",
                                        f"an SLA policy defined under sla: ({', '.join(sorted(policies))})"))
    schedules: dict[str, Schedule] = {}
    try:
        schedules = load_schedules(raw, calendars, file)
    except ConfigError as e:
        problems += e.problems
    if problems:
        raise ConfigError(problems)
    return CasePolicy(
        tz=tz, policies=policies, policy=section.policy,
        reopen_window=parse_duration(section.reopen_window),
        maintenance=tuple(Window(w, tz) for w in section.maintenance),
        watch=tuple(Watch(w, tz) for w in section.watch),
        calendars=calendars, plans=schedules,
    )
