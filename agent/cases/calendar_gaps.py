"""Which years a `statutory: cn` calendar will count without their official holiday arrangement:
said by `xunjian status`, `xunjian sla`, the monthly and periodic reports and a self-check case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from agent.cases.calendar import Calendar, WorkingHoursCalendar
from agent.cases.holidays import package_years


@dataclass(frozen=True)
class CalendarGap:
    """A year a `statutory: cn` calendar will count without its official arrangement."""

    calendar: str
    year: int

    @property
    def message(self) -> str:
        return (f"calendar {self.calendar!r}: no holiday arrangement for {self.year} (chinesecalendar "
                f"knows {package_years()}): SLA clocks count only 元旦, 劳动节 and 国庆节 as holidays in "
                f"{self.year}, not the Spring Festival or the other lunar holidays, nor the make-up "
                f"working days; add {self.year}'s arrangement file (calendars.{self.calendar}.arrangements)")

    @property
    def message_zh(self) -> str:
        return (f"日历 {self.calendar}：缺少 {self.year} 年节假日安排"
                f"（chinesecalendar 仅含 {package_years()}），"
                f"SLA 时钟只按元旦、劳动节、国庆节放假计算，春节等农历节日及调休上班日均未计入；"
                f"请添加 {self.year} 年的节假日安排文件")


WARN_DAYS = 45  # a year's arrangement is published in the autumn before: warn from mid-November


def missing_years(calendars: dict[str, Calendar], today: date, days: int = WARN_DAYS) -> list[CalendarGap]:
    """The calendars and years, from today to `days` ahead, with no official arrangement."""
    return gaps_between(calendars, today, today + timedelta(days=days))


def gaps_between(calendars: dict[str, Calendar], first: date, last: date) -> list[CalendarGap]:
    """The calendars and years between two days (a report's period) with no official arrangement."""
    return [CalendarGap(name, year) for name, cal in sorted(calendars.items())
            if isinstance(cal, WorkingHoursCalendar) for year in cal.unarranged_years(first, last)]
