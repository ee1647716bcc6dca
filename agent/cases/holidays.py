"""China's public holidays for working-hour calendars (`statutory: cn`): where each year's days
come from, and which years are not really known.

The State Council publishes each year's arrangement (国务院办公厅关于部分节假日安排的通知:
the lunar holidays, the bridged days and the make-up working days 调休上班日) in the autumn
before; the chinesecalendar package ships it some weeks later. A day is decided by the first
of these that knows its year:

1. an arrangement file the site keeps (`calendars.<name>.arrangements`), one per year;
2. the chinesecalendar package;
3. only the fixed-date statutory holidays of 《全国年节及纪念日放假办法》 (元旦 1 January,
   劳动节 1–2 May, 国庆节 1–3 October), which are known for any year. The lunar holidays
   (春节, 清明, 端午, 中秋) and the make-up days are then missing: `missing_years` names such
   years so that the status, `xunjian sla`, the reports and a self-check case warn before
   the year starts.

An arrangement file (YAML):

    year: 2027
    source: 国办发明电〔2026〕N号        # optional: where it was published
    holidays:                          # name: a date, an inclusive range, or a list of them
      元旦: 2027-01-01..2027-01-03
      春节: 2027-02-05..2027-02-11
    workdays:                          # make-up working days (调休上班)
      春节: [2027-02-14, 2027-02-20]
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar

from core.problems import ConfigError, Problem, load_yaml_file

# 《全国年节及纪念日放假办法》: the holidays with a fixed Gregorian date, as in force each year
# (劳动节 was three days until 2007, one from 2008, two from 2025)
_NEW_YEAR = {(1, 1): "元旦"}
_NATIONAL = {(10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}


def fixed(year: int) -> dict[tuple[int, int], str]:
    """(month, day) → name of the fixed-date statutory holidays of `year`."""
    labour = 3 if year < 2008 else 1 if year < 2025 else 2
    return {**_NEW_YEAR, **{(5, d): "劳动节" for d in range(1, labour + 1)}, **_NATIONAL}

FILE, PACKAGE, FIXED_ONLY = "file", "package", "fixed"


@functools.cache
def package_knows(year: int) -> bool:
    """Whether the installed chinesecalendar has the official arrangement of `year`."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def package_years() -> str:
    """The years the installed chinesecalendar knows, as text for messages ("2004–2026")."""
    known = [y for y in range(2000, 2101) if package_knows(y)]
    return f"{known[0]}–{known[-1]}" if known else "none"


@dataclass(frozen=True)
class Arrangement:
    """One year's official arrangement, as the site entered it."""

    year: int
    file: str
    source: str = ""
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)


class CnHolidays:
    """The official status of a day: a make-up working day, a holiday, or an ordinary day."""

    def __init__(self, arrangements: Iterable[Arrangement] = ()) -> None:
        self.arrangements = {a.year: a for a in arrangements}
        self._days: dict[date, bool] = {}
        for a in self.arrangements.values():
            self._days.update(dict.fromkeys(a.holidays, False))
            self._days.update(dict.fromkeys(a.workdays, True))

    def source(self, year: int) -> str:
        if year in self.arrangements:
            return FILE
        return PACKAGE if package_knows(year) else FIXED_ONLY

    def day(self, day: date) -> bool | None:
        """True on a make-up working day, False on a holiday, None on an ordinary day."""
        if day in self._days:  # a file's make-up day may lie in the year before its own
            return self._days[day]
        source = self.source(day.year)
        if source == FILE:
            return None
        if source == PACKAGE:
            off, holiday = chinese_calendar.get_holiday_detail(day)
            return None if holiday is None else not off
        return False if (day.month, day.day) in fixed(day.year) else None


# -- arrangement files ----------------------------------------------------------------------


def _dates(value: Any, parse: Any) -> list[tuple[date, date]]:
    items = value if isinstance(value, list) else [value]
    return [parse(v) for v in items]


def load_arrangements(paths: list[str], base: Path, file: str, where: str) -> list[Arrangement]:
    """Arrangement files (or directories of `*.yaml`) named in the config, relative to `base`.

    Every problem in every file is raised at once."""
    from agent.cases.dates import date_range_or_fail  # the calendar's own date syntax

    files: list[Path] = []
    problems: list[Problem] = []
    for i, raw in enumerate(paths):
        path = Path(raw) if Path(raw).is_absolute() else base / raw
        if path.is_dir():  # may be empty until a year needs a file
            files += sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(file, f"{where}[{i}]", f"{path} not found (a file or a directory "
                                    "of one YAML file per year)"))
    out: dict[int, Arrangement] = {}
    for path in files:
        try:
            arrangement = _load_one(path, date_range_or_fail)
        except ConfigError as e:
            problems += e.problems
            continue
        if arrangement.year in out:
            problems.append(Problem(str(path), "year", f"{arrangement.year} is also arranged in "
                                    f"{out[arrangement.year].file}: keep one file per year"))
            continue
        out[arrangement.year] = arrangement
    if problems:
        raise ConfigError(problems)
    return [out[y] for y in sorted(out)]


def _load_one(path: Path, parse: Any) -> Arrangement:
    doc = load_yaml_file(path, "holiday arrangement")
    file = str(path)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(file, "", "a mapping with year, holidays and workdays")])
    problems: list[Problem] = []
    unknown = set(doc) - {"year", "source", "holidays", "workdays"}
    problems += [Problem(file, str(k), "unknown key (expected year, source, holidays, workdays)")
                 for k in sorted(unknown, key=str)]
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2200:
        raise ConfigError([*problems, Problem(file, "year", f"the year this arrangement is for, like 2027, "
                                              f"got {year!r}")])
    lo, hi = date(year - 1, 12, 1), date(year + 1, 1, 31)  # make-up days may sit just outside
    days: dict[str, dict[date, str]] = {"holidays": {}, "workdays": {}}
    for key in ("holidays", "workdays"):
        section = doc.get(key) or {}
        if not isinstance(section, dict):
            problems.append(Problem(file, key, "a mapping of name (元旦, 春节…) to a date, a range "
                                    "like 2027-02-05..2027-02-11, or a list of them"))
            continue
        for name, value in section.items():
            try:
                ranges = _dates(value, parse)
            except ValueError as e:
                problems.append(Problem(file, f"{key}.{name}", str(e)))
                continue
            for first, last in ranges:
                if first < lo or last > hi:
                    problems.append(Problem(file, f"{key}.{name}",
                                            f"{first}..{last} is not in or next to {year}"))
                    continue
                d = first
                while d <= last:
                    days[key][d] = str(name)
                    d += timedelta(days=1)
    both = sorted(set(days["holidays"]) & set(days["workdays"]))
    if both:
        problems.append(Problem(file, "workdays", f"{both[0]} is also a holiday; list it in one of them"))
    for (month, day), name in fixed(year).items():
        if date(year, month, day) not in days["holidays"]:
            problems.append(Problem(file, "holidays", f"{date(year, month, day)} ({name}) is a statutory "
                                    "holiday: it must be listed (a typo in the year?)"))
    if problems:
        raise ConfigError(problems)
    return Arrangement(year=year, file=file, source=str(doc.get("source") or ""),
                       holidays=days["holidays"], workdays=days["workdays"])
