"""Working-time calendars: when an SLA clock runs.

Contracts count some limits around the clock (24×7) and others in working hours
("repair within 6 working hours"). A calendar answers two questions exactly: when is
`duration` of counted time used up after `start` (a deadline), and how much counted
time lies between two moments.

Chinese public holidays and make-up working days (调休上班日) are published by the
State Council each year and cannot be computed: `statutory: cn` takes them from the
site's arrangement files, else the chinesecalendar package, else only the fixed-date
statutory holidays, loudly (agent.cases.holidays). The explicit `holidays` / `workdays`
lists always win.

Arithmetic is done in UTC on whole working ranges, one local day at a time: exact to
the microsecond, immune to DST, and a three-week holiday costs 21 dictionary lookups.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from agent.cases.dates import date_range_or_fail
from agent.cases.holidays import FIXED_ONLY, CnHolidays, load_arrangements, package_years
from core.problems import ConfigError, Problem, place, pydantic_problems

log = logging.getLogger(__name__)

ALWAYS = "24x7"
STATUTORY = ("cn",)
ZERO = timedelta(0)
_DAY = timedelta(days=1)
_MAX_IDLE_DAYS = 3660  # ten years without working time: the calendar is empty, not slow
_CACHE_DAYS = 4096  # per-day ranges kept; a daemon running for years must not grow without bound


def aware_utc(moment: datetime, what: str = "moment") -> datetime:
    """`moment` in UTC; naive datetimes are refused, since their meaning depends on the host."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")


class Calendar(ABC):
    """Counted time. Every method takes timezone-aware datetimes and answers in the input's zone."""

    name: str

    @abstractmethod
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The first moment at which `duration` of counted time has elapsed after `start`."""

    @abstractmethod
    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Counted time between `start` and `end`; zero if `end <= start`."""

    @abstractmethod
    def is_working(self, moment: datetime) -> bool:
        """Whether the clock runs at `moment` (ranges are half-open: the end is not working)."""

    @abstractmethod
    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a local date of the calendar) has working hours at all."""


class AlwaysCalendar(Calendar):
    """24×7: counted time is elapsed time (absolute, so a DST change does not bend it)."""

    def __init__(self, name: str = ALWAYS) -> None:
        self.name = name

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _check_duration(duration)
        return (aware_utc(start, "start") + duration).astimezone(start.tzinfo)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(ZERO, aware_utc(end, "end") - aware_utc(start, "start"))

    def is_working(self, moment: datetime) -> bool:
        aware_utc(moment)
        return True

    def is_working_day(self, day: date) -> bool:
        return True

    def __repr__(self) -> str:
        return f"AlwaysCalendar({self.name!r})"


Span = tuple[datetime, datetime]  # a working range of one day, both ends in UTC


class WorkingHoursCalendar(Calendar):
    """Working hours on working days in one timezone.

    A day works if it is listed in `workdays`, else not if listed in `holidays`, else
    (with `statutory="cn"`) as chinesecalendar says for official holidays and make-up
    days, else if its weekday is in `weekdays`. An `hours` end of 00:00 means midnight
    at the end of the day (24:00).
    """

    def __init__(
        self,
        name: str,
        tz: str,
        weekdays: Iterable[int],
        hours: Iterable[tuple[time, time]],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        statutory: str | None = None,
        official: CnHolidays | None = None,
    ) -> None:
        self.name = name
        self.tz = ZoneInfo(tz)
        self.weekdays = frozenset(weekdays)
        if not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(self.weekdays)}")
        self.hours = tuple(hours)
        self._offsets = _offsets(self.hours)
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        if statutory is not None and statutory not in STATUTORY:
            raise ValueError(f"unknown statutory calendar {statutory!r} (known: {', '.join(STATUTORY)})")
        self.statutory = statutory
        self.official = official or CnHolidays()
        self._spans: dict[date, tuple[Span, ...]] = {}
        self._warned_years: set[int] = set()

    def __repr__(self) -> str:
        return f"WorkingHoursCalendar({self.name!r}, {self.tz.key!r})"

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if self.statutory == "cn":
            official = self._cn(day)
            if official is not None:
                return official
        return day.weekday() in self.weekdays

    def _cn(self, day: date) -> bool | None:
        """True on a make-up working day, False on an official holiday, None on an ordinary day
        (then our own weekdays decide, e.g. for Mon–Sat shops)."""
        if self.official.source(day.year) == FIXED_ONLY and day.year not in self._warned_years:
            self._warned_years.add(day.year)
            log.warning(
                "calendar %r: no holiday arrangement for %d (chinesecalendar knows %s): only the fixed-date "
                "statutory holidays count (元旦, 劳动节, 国庆节); the Spring Festival, the other lunar "
                "holidays and the make-up working days are missing: add %d's arrangement file",
                self.name, day.year, package_years(), day.year,
            )
        return self.official.day(day)

    def unarranged_years(self, first: date, last: date) -> list[int]:
        """Years between the two days for which only the fixed-date holidays are known."""
        if self.statutory != "cn":
            return []
        return [y for y in range(first.year, last.year + 1) if self.official.source(y) == FIXED_ONLY]

    def _day_spans(self, day: date) -> tuple[Span, ...]:
        spans = self._spans.get(day)
        if spans is None:
            if len(self._spans) >= _CACHE_DAYS:
                self._spans.clear()
            spans = ()
            if self.is_working_day(day):
                midnight = datetime.combine(day, time(0), self.tz)
                # wall-clock offsets from local midnight, then UTC: right on DST days too
                spans = tuple(((midnight + a).astimezone(UTC), (midnight + b).astimezone(UTC))
                              for a, b in self._offsets)
            self._spans[day] = spans
        return spans

    def _local_day(self, utc_moment: datetime) -> date:
        return utc_moment.astimezone(self.tz).date()

    # -- clock --------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _check_duration(duration)
        at = aware_utc(start, "start")
        if not duration:
            return start
        remaining = duration
        day = self._local_day(at)
        idle = 0
        while True:
            spans = self._day_spans(day)
            for a, b in spans:
                if b <= at:
                    continue
                begin = max(a, at)  # a start outside working hours begins at the next range
                if remaining <= b - begin:  # `<=`: a deadline at a range's end stays there
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= b - begin
            idle = 0 if spans else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(f"calendar {self.name!r} has no working time in the ten years after {day}")
            day += _DAY

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        lo, hi = aware_utc(start, "start"), aware_utc(end, "end")
        if hi <= lo:
            return ZERO
        total = ZERO
        day, last = self._local_day(lo), self._local_day(hi)
        while day <= last:
            for a, b in self._day_spans(day):
                overlap = min(b, hi) - max(a, lo)
                if overlap > ZERO:
                    total += overlap
            day += _DAY
        return total

    def is_working(self, moment: datetime) -> bool:
        at = aware_utc(moment)
        return any(a <= at < b for a, b in self._day_spans(self._local_day(at)))


def _offsets(hours: tuple[tuple[time, time], ...]) -> tuple[tuple[timedelta, timedelta], ...]:
    """Hour ranges as offsets from midnight, checked: non-empty, each forward, none overlapping."""
    if not hours:
        raise ValueError("at least one range of working hours is needed")
    out = []
    for start, end in hours:
        a, b = _offset(start), _offset(end) or _DAY
        if b <= a:
            raise ValueError(f"working range {start}-{end} does not end after it starts")
        out.append((a, b))
    out.sort()
    for (_, b1), (a2, _) in pairwise(out):
        if a2 < b1:
            raise ValueError(f"working ranges overlap: {hours}")
    return tuple(out)


def _offset(t: time) -> timedelta:
    if t.tzinfo is not None:
        raise ValueError("working hours are local times of the calendar's timezone, without tzinfo")
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


# -- configuration --------------------------------------------------------------------------

_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {n: i for i, n in enumerate(_WEEKDAY_NAMES)} | {n: i for i, n in enumerate(_WEEKDAY_FULL)}
_RANGE_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


def _fail(kind: str, message: str, **context: Any) -> PydanticCustomError:
    # formatted here: pydantic's own templating knows no {x!r}, and without context it leaves braces alone
    return PydanticCustomError(kind, message.format(**context))


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("timezone", "expected an IANA timezone name such as Asia/Shanghai")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _fail("timezone", "unknown timezone {tz!r} (expected an IANA name such as Asia/Shanghai)",
                    tz=value) from None
    return value


def _weekday(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in _WEEKDAYS:
        return _WEEKDAYS[value.strip().lower()]
    raise _fail("weekday", "unknown weekday {day!r} (expected one of {names})",
                day=value, names=", ".join(_WEEKDAY_NAMES))


def _hours_range(value: Any) -> tuple[time, time]:
    m = _RANGE_RE.fullmatch(value) if isinstance(value, str) else None
    hint = "expected a range of local times like 08:30-12:00"
    if m is None:
        raise _fail("hours", hint + ", got {value!r}", value=value)
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise _fail("hours", hint + " (00:00 to 24:00), got {value!r}", value=value)
    if (h2, m2) != (24, 0) and (h2, m2) != (0, 0) and (h2, m2) <= (h1, m1):
        raise _fail("hours", "range {value!r} ends before it starts (a range cannot cross midnight: "
                    "split it into …-24:00 and 00:00-…)", value=value)
    return time(h1, m1), time(0) if h2 == 24 else time(h2, m2)


def _date_range(value: Any) -> tuple[date, date]:
    try:
        return date_range_or_fail(value)
    except ValueError as e:
        raise _fail("date", "{text}", text=str(e)) from None


def _statutory(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in STATUTORY:
        return value.strip().lower()
    raise _fail("statutory", "unknown statutory holiday calendar {value!r} (expected one of {known}, "
                "or leave it out)", value=value, known=", ".join(STATUTORY))


def _days(ranges: list[tuple[date, date]]) -> set[date]:
    out: set[date] = set()
    for first, last in ranges:
        out.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return out


class CalendarSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, PlainValidator(_timezone)] = "Asia/Shanghai"
    weekdays: list[Annotated[int, PlainValidator(_weekday)]] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    hours: list[Annotated[tuple[time, time], PlainValidator(_hours_range)]]
    statutory: Annotated[str | None, PlainValidator(_statutory)] = None
    holidays: list[Annotated[tuple[date, date], PlainValidator(_date_range)]] = Field(default_factory=list)
    workdays: list[Annotated[tuple[date, date], PlainValidator(_date_range)]] = Field(default_factory=list)
    # the State Council's yearly arrangement, one YAML file per year (or directories of them)
    arrangements: list[str] = Field(default_factory=list)


def _spec_problems(spec: CalendarSpec, file: str, where: tuple[Any, ...]) -> list[Problem]:
    """What one item cannot tell alone: overlaps, empty lists, a date both off and on."""
    problems = []
    if not spec.hours:
        problems.append(Problem(file, place((*where, "hours")), "at least one range like 08:30-17:30"))
    if not spec.weekdays:
        problems.append(Problem(file, place((*where, "weekdays")), "at least one weekday, like [mon, tue]"))
    seen: list[tuple[int, timedelta, timedelta]] = []
    for i, (start, end) in enumerate(spec.hours):
        a, b = _offset(start), _offset(end) or _DAY
        for j, a2, b2 in seen:
            if a < b2 and a2 < b:
                problems.append(Problem(file, place((*where, "hours", i)),
                                        f"overlaps hours[{j}]; working ranges must not overlap"))
                break
        seen.append((i, a, b))
    off = _days(spec.holidays)
    for i, rng in enumerate(spec.workdays):
        both = sorted(_days([rng]) & off)
        if both:
            problems.append(Problem(file, place((*where, "workdays", i)),
                                    f"{both[0]} is also listed under holidays; list it in one of them"))
    return problems


def load_calendars(data: dict[str, Any] | None, file: str) -> dict[str, Calendar]:
    """Calendars from the `calendars:` section of a configuration mapping, plus the built-in 24x7.

    Every problem in the section is gathered and raised as one ConfigError.
    """
    calendars: dict[str, Calendar] = {ALWAYS: AlwaysCalendar()}
    raw = data.get("calendars") if isinstance(data, dict) else None
    if raw is None:
        return calendars
    if not isinstance(raw, dict):
        raise ConfigError([Problem(file, "calendars", "a mapping of calendar name to calendar")])
    problems: list[Problem] = []
    for name, body in raw.items():
        where = ("calendars", name)
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(file, f"calendars.{name}", "a calendar name (text)"))
            continue
        if name == ALWAYS:
            problems.append(Problem(file, f"calendars.{name}", f"{ALWAYS} is built in; choose another name"))
            continue
        if not isinstance(body, dict):
            problems.append(Problem(file, place(where), "a mapping with hours (and optionally timezone, "
                                    "weekdays, statutory, holidays, workdays)"))
            continue
        try:
            spec = CalendarSpec.model_validate(body)
        except ValidationError as e:
            problems += pydantic_problems(file, where, e)
            continue
        found = _spec_problems(spec, file, where)
        if spec.arrangements and spec.statutory != "cn":
            found.append(Problem(file, place((*where, "arrangements")),
                                 "arrangements are for `statutory: cn`"))
        official = None
        try:
            official = CnHolidays(load_arrangements(spec.arrangements, Path(file).parent, file,
                                                    place((*where, "arrangements"))))
        except ConfigError as e:
            found += e.problems
        if found:
            problems += found
            continue
        calendars[name] = WorkingHoursCalendar(
            name, spec.timezone, spec.weekdays, spec.hours,
            holidays=_days(spec.holidays), workdays=_days(spec.workdays), statutory=spec.statutory,
            official=official,
        )
    if problems:
        raise ConfigError(problems)
    return calendars

