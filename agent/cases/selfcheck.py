"""Checks of xunjian itself that become cases like any fault, on the device `xunjian`.

Today one: a working-hour calendar about to count a year without that year's official holiday
arrangement (agent.cases.holidays). Judged once per local day by the case clocks' tick, from
WARN_DAYS before the year starts, so the case is open weeks before a deadline would be wrong.
"""

from __future__ import annotations

from datetime import date, datetime

from agent.cases.calendar import WorkingHoursCalendar
from agent.cases.calendar_gaps import WARN_DAYS, missing_years
from agent.cases.policy import CasePolicy
from core.model import Status, Verdict

SELF = "xunjian"
CALENDAR_CHECK = "selfcheck.calendar_arrangement"


class SelfChecks:
    """Verdicts about xunjian itself; at most one round per local day."""

    def __init__(self) -> None:
        self._day: date | None = None

    def due(self, policy: CasePolicy, now: float) -> list[Verdict]:
        today = datetime.fromtimestamp(now, policy.tz).date()
        if today == self._day:
            return []
        self._day = today
        return calendar_verdicts(policy, today, now)


def calendar_verdicts(policy: CasePolicy, today: date, now: float) -> list[Verdict]:
    """WARN for each calendar and year in the warning horizon without an arrangement; OK for the
    calendars' other years around today (which resolves a case once the file is added)."""
    gaps = {(g.calendar, g.year): g for g in missing_years(policy.calendars, today, WARN_DAYS)}
    out = [Verdict(SELF, CALENDAR_CHECK, Status.WARN, instance=f"{name}:{year}", level=3,
                   message=f"{g.message_zh} / {g.message}", collected_at=now)
           for (name, year), g in sorted(gaps.items())]
    for name, cal in sorted(policy.calendars.items()):
        if isinstance(cal, WorkingHoursCalendar) and cal.statutory == "cn":
            out += [Verdict(SELF, CALENDAR_CHECK, Status.OK, instance=f"{name}:{year}", collected_at=now,
                            message=f"calendar {name!r}: {year} arranged")
                    for year in (today.year, today.year + 1) if (name, year) not in gaps]
    return out
