"""Working-hours calendars and SLA clocks: every expected moment below was worked out by hand.

The office calendar: Mon–Fri, 08:30-12:00 and 13:30-17:30 (7.5 h a day), Asia/Shanghai.
March 2026: Fri 6, Sat 7, Sun 8, Mon 9, Tue 10. Spring Festival 2026 (chinesecalendar 1.11):
Sun 2-15 … Mon 2-23 off, Sat 2-14 and Sat 2-28 are make-up working days.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.cases.calendar import AlwaysCalendar, Calendar, WorkingHoursCalendar, load_calendars
from agent.cases.sla import (
    Clock,
    Deadlines,
    SlaPolicy,
    breached,
    deadlines,
    default_policy,
    load_policies,
    parse_duration,
)
from core.problems import ConfigError

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)
HOURS = [(time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))]
FILE = "xunjian.yaml"


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def office(statutory: str | None = "cn", holidays: set[date] | None = None,
           workdays: set[date] | None = None) -> WorkingHoursCalendar:
    return WorkingHoursCalendar("office", "Asia/Shanghai", {0, 1, 2, 3, 4}, HOURS,
                                holidays or set(), workdays or set(), statutory)


def load(text: str) -> dict[str, Calendar]:
    return load_calendars(yaml.safe_load(text), FILE)


OFFICE_YAML = """
calendars:
  office:
    timezone: Asia/Shanghai
    weekdays: [mon, tue, wed, thu, fri]
    hours: ["08:30-12:00", "13:30-17:30"]
    statutory: cn
    holidays: [2026-10-01, "2026-10-02..2026-10-08"]
    workdays: [2026-10-10]
"""


# -- working hours: adding ------------------------------------------------------------------


@pytest.mark.parametrize(("start", "duration", "due"), [
    # Fri 16:00-17:30 is 1.5 h; Mon 08:30-12:00 3.5 h; the last hour after lunch
    (sh(2026, 3, 6, 16), 6 * H, sh(2026, 3, 9, 14, 30)),
    # a start on a weekend begins counting on Monday morning
    (sh(2026, 3, 7, 10), 2 * H, sh(2026, 3, 9, 10, 30)),
    (sh(2026, 3, 8, 23, 59, 59), timedelta(seconds=1), sh(2026, 3, 9, 8, 30, 1)),
    # a start before the morning range
    (sh(2026, 3, 9, 6, 0), 30 * M, sh(2026, 3, 9, 9, 0)),
    # a start in the lunch break, or exactly at its beginning, counts from 13:30
    (sh(2026, 3, 9, 12, 15), H, sh(2026, 3, 9, 14, 30)),
    (sh(2026, 3, 9, 12, 0), H, sh(2026, 3, 9, 14, 30)),
    (sh(2026, 3, 9, 11, 0), 1.5 * H, sh(2026, 3, 9, 14, 0)),
    # deadlines exactly at the end of a range stay there
    (sh(2026, 3, 9, 11, 0), H, sh(2026, 3, 9, 12, 0)),
    (sh(2026, 3, 9, 8, 30), 3.5 * H, sh(2026, 3, 9, 12, 0)),
    (sh(2026, 3, 9, 8, 30), 7.5 * H, sh(2026, 3, 9, 17, 30)),
    (sh(2026, 3, 6, 16, 0), 1.5 * H, sh(2026, 3, 6, 17, 30)),
    # ...and one second more goes to the next range
    (sh(2026, 3, 9, 8, 30), 3.5 * H + timedelta(seconds=1), sh(2026, 3, 9, 13, 30, 1)),
    (sh(2026, 3, 9, 17, 30), M, sh(2026, 3, 10, 8, 31)),
    (sh(2026, 3, 6, 17, 30), M, sh(2026, 3, 9, 8, 31)),
    # a whole week: 5 × 7.5 h from Monday morning ends Friday 17:30, not the next Monday
    (sh(2026, 3, 9, 8, 30), 37.5 * H, sh(2026, 3, 13, 17, 30)),
    # microseconds are kept
    (sh(2026, 3, 9, 11, 59, 59, 999_999), timedelta(microseconds=2), sh(2026, 3, 9, 13, 30, 0, 1)),
])
def test_add_working_hours(start: datetime, duration: timedelta, due: datetime) -> None:
    got = office(statutory=None).add(start, duration)
    assert got == due
    assert got.tzinfo is SH


def test_zero_duration_is_the_start_itself() -> None:
    cal = office()
    assert cal.add(sh(2026, 3, 7, 3), timedelta(0)) == sh(2026, 3, 7, 3)


def test_is_working_boundaries_are_half_open() -> None:
    cal = office(statutory=None)
    assert cal.is_working(sh(2026, 3, 9, 8, 30))
    assert not cal.is_working(sh(2026, 3, 9, 8, 29, 59, 999_999))
    assert cal.is_working(sh(2026, 3, 9, 11, 59, 59, 999_999))
    assert not cal.is_working(sh(2026, 3, 9, 12, 0))
    assert cal.is_working(sh(2026, 3, 9, 13, 30))
    assert not cal.is_working(sh(2026, 3, 9, 17, 30))
    assert not cal.is_working(sh(2026, 3, 7, 10, 0))  # Saturday
    # 02:00 UTC is 10:00 in Shanghai
    assert cal.is_working(datetime(2026, 3, 9, 2, 0, tzinfo=UTC))


# -- elapsed --------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "counted"), [
    (sh(2026, 3, 6, 16), sh(2026, 3, 9, 14, 30), 6 * H),
    (sh(2026, 3, 9, 12, 0), sh(2026, 3, 9, 13, 30), timedelta(0)),  # the lunch break
    (sh(2026, 3, 7, 0), sh(2026, 3, 9, 0), timedelta(0)),  # a weekend
    (sh(2026, 3, 9, 0), sh(2026, 3, 16, 0), 37.5 * H),  # a week
    (sh(2026, 3, 9, 11, 0), sh(2026, 3, 9, 14, 0), 1.5 * H),
    (sh(2026, 3, 9, 14, 0), sh(2026, 3, 9, 11, 0), timedelta(0)),  # end before start
    (sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 10, 0), timedelta(0)),
])
def test_elapsed(start: datetime, end: datetime, counted: timedelta) -> None:
    assert office(statutory=None).elapsed(start, end) == counted


def test_elapsed_accepts_mixed_zones() -> None:
    # 08:00 UTC = 16:00 Shanghai on Friday
    assert office().elapsed(datetime(2026, 3, 6, 8, 0, tzinfo=UTC), sh(2026, 3, 9, 14, 30)) == 6 * H


# -- Spring Festival 2026 and the statutory calendar ----------------------------------------


def test_spring_festival_2026_working_days() -> None:
    cal = office()
    working = [d for d in range(1, 29) if cal.is_working_day(date(2026, 2, d))]
    assert working == [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 24, 25, 26, 27, 28]
    assert cal.is_working_day(date(2026, 1, 4))  # Sunday, make-up day for New Year
    assert not cal.is_working_day(date(2026, 1, 1)) and not cal.is_working_day(date(2026, 1, 2))


@pytest.mark.parametrize(("start", "duration", "due"), [
    # Fri 1.5 h, then the make-up Saturday 2-14 counts: 3.5 h in the morning, 1 h after lunch
    (sh(2026, 2, 13, 16), 6 * H, sh(2026, 2, 14, 14, 30)),
    # Sat 2-14 17:00-17:30, then nine days off, then Tue 2-24: 3.5 h + 2 h
    (sh(2026, 2, 14, 17), 6 * H, sh(2026, 2, 24, 15, 30)),
    # a start inside the holiday waits for Tue 2-24
    (sh(2026, 2, 18, 10), H, sh(2026, 2, 24, 9, 30)),
    # Fri 2-27 17:00-17:30, then the make-up Saturday 2-28
    (sh(2026, 2, 27, 17), H, sh(2026, 2, 28, 9, 0)),
    # level-3 repair (12 working hours) opened Fri 2-13 15:00: 2.5 + 7.5 (Sat) + 2 (Tue)
    (sh(2026, 2, 13, 15), 12 * H, sh(2026, 2, 24, 10, 30)),
])
def test_spring_festival_2026(start: datetime, duration: timedelta, due: datetime) -> None:
    assert office().add(start, duration) == due


def test_without_statutory_the_festival_is_ordinary_weekdays() -> None:
    assert office(statutory=None).add(sh(2026, 2, 13, 16), 6 * H) == sh(2026, 2, 16, 14, 30)


def test_elapsed_over_the_festival_counts_only_the_make_up_saturday() -> None:
    assert office().elapsed(sh(2026, 2, 14, 0), sh(2026, 2, 24, 0)) == 7.5 * H


def test_explicit_holiday_beats_the_package_make_up_day() -> None:
    cal = office(holidays={date(2026, 2, 14)})
    # Fri 1.5 h, Sat 2-14 now off, Tue 2-24: 3.5 h + 1 h
    assert cal.add(sh(2026, 2, 13, 16), 6 * H) == sh(2026, 2, 24, 14, 30)


def test_explicit_workday_beats_the_package_holiday() -> None:
    cal = office(workdays={date(2026, 2, 16)})
    # Sat 2-14 17:00-17:30, Mon 2-16 made a working day: 3.5 h + 2 h
    assert cal.add(sh(2026, 2, 14, 17), 6 * H) == sh(2026, 2, 16, 15, 30)


def test_explicit_holiday_on_an_ordinary_weekday() -> None:
    cal = office(statutory=None, holidays={date(2026, 3, 9)})
    assert cal.add(sh(2026, 3, 6, 16), 6 * H) == sh(2026, 3, 10, 14, 30)


def test_configured_office_with_national_day_override() -> None:
    cal = load(OFFICE_YAML)["office"]
    # the package makes Thu 10-08 a working day; the explicit range 10-02..10-08 takes it off
    assert cal.add(sh(2026, 9, 30, 17), H) == sh(2026, 10, 9, 9, 0)
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday, make-up day (listed and in the package)
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday, make-up day from the package only
    plain = office()
    assert plain.add(sh(2026, 9, 30, 17), H) == sh(2026, 10, 8, 9, 0)


def test_a_mon_to_sat_calendar_keeps_ordinary_saturdays_but_not_holidays() -> None:
    cal = WorkingHoursCalendar("shop", "Asia/Shanghai", range(6), HOURS, statutory="cn")
    assert cal.is_working_day(date(2026, 3, 7))  # ordinary Saturday
    assert not cal.is_working_day(date(2026, 2, 21))  # Saturday inside the Spring Festival
    assert not cal.is_working_day(date(2026, 3, 8))  # Sunday


# -- years the package does not know ---------------------------------------------------------


def test_year_outside_the_package_falls_back_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = office()
    with caplog.at_level(logging.WARNING, logger="agent.cases.calendar"):
        # no data for 2027: Fri 2027-01-01 (元旦) is still a holiday, being a fixed-date one, so
        # six working hours start on Monday 08:30: 3.5 h to noon, 2.5 h from 13:30 → 16:00
        assert cal.add(sh(2027, 1, 1, 16), 6 * H) == sh(2027, 1, 4, 16, 0)
        assert cal.add(sh(2027, 1, 1, 16), 6 * H) == sh(2027, 1, 4, 16, 0)
        assert not cal.is_working_day(date(2027, 5, 2)) and not cal.is_working_day(date(2027, 10, 1))
        assert cal.is_working_day(date(2027, 2, 8))  # the Spring Festival needs the arrangement
        assert cal.elapsed(sh(2027, 1, 1), sh(2027, 2, 1)) > timedelta(0)
        assert cal.is_working(sh(2027, 6, 1, 10))
        # 2003: 劳动节 was 1–3 May (a fixed-date holiday then), Sunday the 4th: Monday the 5th
        assert cal.add(sh(2003, 5, 1, 16), H) == sh(2003, 5, 5, 9, 30)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "2027" in warnings[0].getMessage() and "office" in warnings[0].getMessage()
    assert "arrangement" in warnings[0].getMessage()
    assert "2003" in warnings[1].getMessage()


def test_crossing_into_an_unknown_year(caplog: pytest.LogCaptureFixture) -> None:
    # New Year's Day is known for any year: the hour left on 31 December runs on Monday 4 January
    with caplog.at_level(logging.WARNING, logger="agent.cases.calendar"):
        assert office().add(sh(2026, 12, 31, 17), H) == sh(2027, 1, 4, 9, 0)


def test_explicit_holidays_patch_an_unknown_year(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent.cases.calendar"):
        cal = office(holidays={date(2027, 1, 1)})
        assert cal.add(sh(2027, 1, 1, 10), H) == sh(2027, 1, 4, 9, 30)


# -- efficiency and empty calendars ----------------------------------------------------------


def test_a_three_week_holiday_is_skipped_day_by_day(monkeypatch: pytest.MonkeyPatch) -> None:
    cal = office(statutory=None, holidays={date(2026, 7, 1) + timedelta(days=i) for i in range(21)})
    calls = []
    real = cal._day_spans

    def spy(day: date) -> tuple[tuple[datetime, datetime], ...]:
        calls.append(day)
        return real(day)

    monkeypatch.setattr(cal, "_day_spans", spy)
    # Tue 6-30 17:00-17:30, 21 days off (7-01 … 7-21), Wed 7-22 08:30 + 0.5 h
    assert cal.add(sh(2026, 6, 30, 17), H) == sh(2026, 7, 22, 9, 0)
    assert len(calls) == 23  # one visit per day, never per minute


def test_long_durations_stay_exact() -> None:
    cal = office()
    start = sh(2026, 1, 5, 9, 17, 3)
    due = cal.add(start, 1000 * H)
    assert cal.elapsed(start, due) == 1000 * H


def test_a_calendar_without_working_time_raises_instead_of_looping() -> None:
    cal = WorkingHoursCalendar("never", "Asia/Shanghai", set(), HOURS)
    with pytest.raises(ValueError, match="no working time"):
        cal.add(sh(2026, 3, 9), H)


# -- inverse property --------------------------------------------------------------------------


ZONES = [SH, UTC, timezone(timedelta(hours=8)), ZoneInfo("America/New_York")]


@pytest.mark.parametrize("statutory", [None, "cn"])
def test_elapsed_is_the_inverse_of_add(statutory: str | None, caplog: pytest.LogCaptureFixture) -> None:
    """Seeded random starts and durations (hypothesis is not installed): 1500 cases per variant."""
    cal = office(statutory=statutory, holidays={date(2026, 5, 6)}, workdays={date(2026, 5, 10)})
    rng = random.Random(20260214)
    base = datetime(2025, 12, 1, tzinfo=UTC)
    with caplog.at_level(logging.ERROR):  # 2027 is outside the package's data: a warning, not a failure
        for _ in range(1500):
            start = (base + timedelta(seconds=rng.randrange(0, 460 * 86400))).astimezone(rng.choice(ZONES))
            if rng.random() < 0.3:  # land on range boundaries often
                duration = timedelta(minutes=30 * rng.randrange(0, 100))
            else:
                duration = timedelta(seconds=rng.randrange(0, 60 * 3600), microseconds=rng.randrange(10**6))
            due = cal.add(start, duration)
            assert due.utcoffset() == due.astimezone(start.tzinfo).utcoffset()
            assert due.tzinfo is start.tzinfo
            assert cal.elapsed(start, due) == duration
            if duration:
                # the deadline is the earliest such moment: just before it, the clock was running
                assert cal.is_working(due.astimezone(UTC) - timedelta(microseconds=1))
                assert cal.add(start, duration - timedelta(microseconds=1)) < due
            end = start + timedelta(seconds=rng.randrange(0, 30 * 86400))
            counted = cal.elapsed(start, end)
            back = cal.add(start, counted)
            assert back <= end
            assert cal.elapsed(start, back) == counted
            assert cal.elapsed(back, end) == timedelta(0)


# -- 24x7 and timezones ------------------------------------------------------------------------


def test_always_calendar_in_shanghai() -> None:
    cal = AlwaysCalendar()
    assert cal.name == "24x7"
    got = cal.add(sh(2026, 3, 6, 23), 2 * H)
    assert got == sh(2026, 3, 7, 1) and got.tzinfo is SH
    assert cal.elapsed(sh(2026, 3, 6, 23), sh(2026, 3, 7, 1)) == 2 * H
    assert cal.elapsed(sh(2026, 3, 7, 1), sh(2026, 3, 6, 23)) == timedelta(0)
    assert cal.is_working(sh(2026, 3, 7, 3)) and cal.is_working_day(date(2026, 2, 17))


def test_always_calendar_with_utc_input_and_mixed_zones() -> None:
    cal = AlwaysCalendar()
    start = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    got = cal.add(start, H)
    assert got == datetime(2026, 3, 6, 16, 30, tzinfo=UTC) and got.tzinfo is UTC
    assert got == sh(2026, 3, 7, 0, 30)
    assert cal.elapsed(start, sh(2026, 3, 7, 0, 30)) == H


def test_always_calendar_counts_real_time_across_dst() -> None:
    # Europe/Berlin moves to summer time on 2026-03-29: that day has 23 hours
    cal = AlwaysCalendar()
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert cal.add(start, 24 * H) == datetime(2026, 3, 29, 13, tzinfo=BERLIN)
    assert cal.elapsed(start, datetime(2026, 3, 29, 12, tzinfo=BERLIN)) == 23 * H


def test_working_hours_in_a_dst_zone_and_midnight_end() -> None:
    cal = load("""
calendars:
  allday:
    timezone: Europe/Berlin
    weekdays: [mon, tue, wed, thu, fri, sat, sun]
    hours: ["00:00-24:00"]
""")["allday"]
    day = datetime(2026, 3, 29, tzinfo=BERLIN)
    assert cal.elapsed(day, datetime(2026, 3, 30, tzinfo=BERLIN)) == 23 * H
    assert cal.add(day, 23 * H) == datetime(2026, 3, 30, tzinfo=BERLIN)
    late = load("""
calendars:
  late:
    hours: ["20:00-24:00"]
""")["late"]
    assert late.add(sh(2026, 3, 9, 23), H) == sh(2026, 3, 10, 0, 0)
    assert late.add(sh(2026, 3, 9, 23), 2 * H) == sh(2026, 3, 10, 21, 0)


@pytest.mark.parametrize("cal", [AlwaysCalendar(), office()], ids=["24x7", "office"])
def test_naive_datetimes_are_refused(cal: Calendar) -> None:
    naive = datetime(2026, 3, 9, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add(naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.elapsed(naive, sh(2026, 3, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.elapsed(sh(2026, 3, 8), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.is_working(naive)
    with pytest.raises(ValueError, match="negative"):
        cal.add(sh(2026, 3, 9), -H)


def test_constructor_refuses_bad_hours() -> None:
    with pytest.raises(ValueError, match="overlap"):
        WorkingHoursCalendar("x", "UTC", {0}, [(time(8), time(12)), (time(11), time(13))])
    with pytest.raises(ValueError, match="does not end after"):
        WorkingHoursCalendar("x", "UTC", {0}, [(time(12), time(8))])
    with pytest.raises(ValueError, match="at least one"):
        WorkingHoursCalendar("x", "UTC", {0}, [])
    with pytest.raises(ValueError, match="statutory"):
        WorkingHoursCalendar("x", "UTC", {0}, HOURS, statutory="us")


# -- configuration -----------------------------------------------------------------------------


def test_load_calendars_builds_the_example() -> None:
    cals = load(OFFICE_YAML)
    assert set(cals) == {"24x7", "office"}
    assert isinstance(cals["24x7"], AlwaysCalendar)
    cal = cals["office"]
    assert isinstance(cal, WorkingHoursCalendar)
    assert cal.weekdays == {0, 1, 2, 3, 4} and cal.statutory == "cn" and cal.tz.key == "Asia/Shanghai"
    assert cal.hours == (tuple(HOURS[0]), tuple(HOURS[1]))
    assert cal.holidays == {date(2026, 10, d) for d in range(1, 9)}
    assert cal.workdays == {date(2026, 10, 10)}


def test_load_calendars_defaults_and_absent_section() -> None:
    assert set(load_calendars({}, FILE)) == {"24x7"}
    assert set(load_calendars({"calendars": None}, FILE)) == {"24x7"}
    cal = load('calendars: {desk: {hours: ["09:00-18:00"], weekdays: [Monday, SAT]}}')["desk"]
    assert isinstance(cal, WorkingHoursCalendar)
    assert cal.tz.key == "Asia/Shanghai" and cal.weekdays == {0, 5} and cal.statutory is None


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        data = yaml.safe_load(text)
        cals = load_calendars(data, FILE)
        load_policies(data, cals, FILE)
    assert all(p.file == FILE for p in info.value.problems)
    return [(p.place, p.expected) for p in info.value.problems]


def _calendar(**fields: str) -> str:
    body = {"hours": '["08:30-12:00", "13:30-17:30"]', **fields}
    return "calendars:\n  office:\n" + "".join(f"    {k}: {v}\n" for k, v in body.items())


@pytest.mark.parametrize(("text", "place", "words"), [
    (_calendar(hours='["08:30-12:00", "8:30-noon"]'), "calendars.office.hours[1]", "like 08:30-12:00"),
    (_calendar(hours='["25:00-26:00"]'), "calendars.office.hours[0]", "00:00 to 24:00"),
    (_calendar(hours='["17:30-08:30"]'), "calendars.office.hours[0]", "ends before it starts"),
    (_calendar(hours='["08:30-12:00", "11:00-13:00"]'), "calendars.office.hours[1]", "overlap"),
    (_calendar(hours="[]"), "calendars.office.hours", "at least one range"),
    (_calendar(hours='"08:30-12:00"'), "calendars.office.hours", "list"),
    ("calendars:\n  office:\n    timezone: UTC\n", "calendars.office.hours", "required"),
    (_calendar(weekdays="[mon, funday]"), "calendars.office.weekdays[1]", "unknown weekday 'funday'"),
    (_calendar(weekdays="[]"), "calendars.office.weekdays", "at least one weekday"),
    (_calendar(timezone="Asia/Beijing"), "calendars.office.timezone", "unknown timezone 'Asia/Beijing'"),
    (_calendar(statutory="us"), "calendars.office.statutory", "unknown statutory"),
    (_calendar(holidays='["2026-02-30"]'), "calendars.office.holidays[0]", "2026-02-30"),
    (_calendar(holidays='[2026-10-01, "2026-10-08..2026-10-01"]'), "calendars.office.holidays[1]",
     "ends before it starts"),
    (_calendar(holidays='["2026-01-01..2027-06-01"]'), "calendars.office.holidays[0]", "longer than a year"),
    (_calendar(holidays="[2026-10-01 08:00:00]"), "calendars.office.holidays[0]", "without a time"),
    (_calendar(workdays="[20261010]"), "calendars.office.workdays[0]", "like 2026-10-01"),
    (_calendar(holidays='["2026-10-01..2026-10-07"]', workdays="[2026-10-03]"),
     "calendars.office.workdays[0]", "also listed under holidays"),
    (_calendar(hour='["08:30-12:00"]'), "calendars.office.hour", "unknown key"),
    ('calendars:\n  24x7: {hours: ["00:00-24:00"]}\n', "calendars.24x7", "built in"),
    ("calendars:\n  office: yes\n", "calendars.office", "a mapping"),
    ("calendars: [office]\n", "calendars", "a mapping"),
])
def test_each_calendar_problem_is_reported_once_with_its_place(text: str, place: str, words: str) -> None:
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0][0] == place
    assert words in problems[0][1]


def test_every_calendar_problem_is_reported_at_once() -> None:
    problems = _problems("""
calendars:
  office:
    timezone: Mars/Olympus
    weekdays: [mon, someday]
    hours: ["08:30-12:00", "11:00-13:00"]
    statutory: jp
    holidays: [nonsense]
  night:
    hours: ["22:00-06:00"]
sla:
  default:
    levels:
      1: {response: soon, repair: 6h}
      2: {response: 1h, repair: 6h}
""")
    assert [p for p, _ in problems] == [
        "calendars.office.timezone", "calendars.office.weekdays[1]", "calendars.office.statutory",
        "calendars.office.holidays[0]", "calendars.night.hours[0]",
    ]  # overlap is judged once the ranges parse; SLA problems once the calendars load


SLA_BASE = """
calendars:
  office:
    hours: ["08:30-12:00", "13:30-17:30"]
    statutory: cn
sla:
  default:
    levels:
"""


def _sla(one: str = "{response: 1h, repair: 6h}", two: str = "{response: 1h, repair: 6h, repair_calendar: office}",
         three: str | None = "{response: 2h, repair: 12h, repair_calendar: office}", extra: str = "") -> str:
    text = SLA_BASE + f"      1: {one}\n      2: {two}\n"
    if three is not None:
        text += f"      3: {three}\n"
    return text + extra


@pytest.mark.parametrize(("text", "place", "words"), [
    (_sla(two="{response: 1h, repair: 6h, repair_calendar: ofice}"), "sla.default.levels[2].repair_calendar",
     "unknown calendar 'ofice' (known: 24x7, office)"),
    (_sla(one="{response: 1h, repair: 6h, response_calendar: shop}"),
     "sla.default.levels[1].response_calendar", "unknown calendar 'shop'"),
    (_sla(one="{response: 1x, repair: 6h}"), "sla.default.levels[1].response", "expected a duration"),
    (_sla(one="{response: 60, repair: 6h}"), "sla.default.levels[1].response", "got 60"),
    (_sla(one="{response: 1h, repair: 0m}"), "sla.default.levels[1].repair", "longer than zero"),
    (_sla(one="{response: 1h}"), "sla.default.levels[1].repair", "required"),
    (_sla(one="{response: 1h, repair: 6h, respond: 2h}"), "sla.default.levels[1].respond", "unknown key"),
    (_sla(three=None), "sla.default.levels", "level 3 missing"),
    (_sla(extra="      4: {response: 1h, repair: 6h}\n"), "sla.default.levels[4]",
     "level 4 is not in the policy's scheme (scheme three has levels 1 to 3"),
    (_sla(extra="    escalate_on: [resolve]\n"), "sla.default.escalate_on[0]", "'response' or 'repair'"),
    (_sla(extra="    escalate_step: 3\n"), "sla.default.escalate_step", "at most 2 with 3 levels"),
    (_sla(extra="    escalate: true\n"), "sla.default.escalate", "unknown key"),
    ("sla:\n  default: 1h\n", "sla.default", "a mapping"),
    ("sla: [default]\n", "sla", "a mapping"),
])
def test_each_sla_problem_is_reported_once_with_its_place(text: str, place: str, words: str) -> None:
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0][0] == place
    assert words in problems[0][1]


def test_every_sla_problem_is_reported_at_once() -> None:
    problems = _problems(SLA_BASE + """\
      1: {response: 1x, repair: 6h}
      2: {response: 1h, repair: 6h, repair_calendar: ofice}
  night:
    levels:
      1: {response: 1h, repair: 6h}
""")
    assert sorted(p for p, _ in problems) == [
        "sla.default.levels", "sla.default.levels[1].response", "sla.default.levels[2].repair_calendar",
        "sla.night.levels",
    ]


# -- SLA policies -------------------------------------------------------------------------------


def _policies(text: str = _sla()) -> dict[str, SlaPolicy]:
    data = yaml.safe_load(text)
    return load_policies(data, load_calendars(data, FILE), FILE)


def test_builtin_default_policy_without_office_is_all_24x7() -> None:
    pol = load_policies({}, load_calendars({}, FILE), FILE)["default"]
    assert [(lv, p.response.duration, p.response.calendar.name, p.repair.duration, p.repair.calendar.name)
            for lv, p in sorted(pol.levels.items())] == [
        (1, H, "24x7", 6 * H, "24x7"), (2, H, "24x7", 6 * H, "24x7"), (3, 2 * H, "24x7", 12 * H, "24x7"),
    ]
    assert pol.escalate_on == {"response", "repair"} and pol.escalate_step == 1
    assert deadlines(pol, 2, sh(2026, 3, 6, 16)) == Deadlines(sh(2026, 3, 6, 17), sh(2026, 3, 6, 22))


def test_builtin_default_policy_uses_office_when_defined() -> None:
    pols = load_policies(yaml.safe_load(OFFICE_YAML), load(OFFICE_YAML), FILE)
    assert set(pols) == {"default"}
    pol = pols["default"]
    assert [(lv, p.repair.calendar.name) for lv, p in sorted(pol.levels.items())] == [
        (1, "24x7"), (2, "office"), (3, "office")]
    opened = sh(2026, 3, 6, 16)
    assert deadlines(pol, 1, opened) == Deadlines(sh(2026, 3, 6, 17), sh(2026, 3, 6, 22))
    assert deadlines(pol, 2, opened) == Deadlines(sh(2026, 3, 6, 17), sh(2026, 3, 9, 14, 30))
    # 12 working hours: Fri 1.5, Mon 7.5, Tue 08:30 + 3
    assert deadlines(pol, 3, opened) == Deadlines(sh(2026, 3, 6, 18), sh(2026, 3, 10, 11, 30))
    assert default_policy(load(OFFICE_YAML)).levels[3].repair.calendar.name == "office"


def test_loaded_policies_keep_the_builtin_default_unless_overridden() -> None:
    text = SLA_BASE.replace("  default:", "  strict:") + """\
      1: {response: 15m, repair: 4h}
      2: {response: 30m, repair: 4h, response_calendar: office, repair_calendar: office}
      "3": {response: 1h, repair: 1d}
    escalate_on: [repair]
    escalate_step: 2
"""
    pols = _policies(text)
    assert set(pols) == {"strict", "default"}
    strict = pols["strict"]
    assert strict.levels[3].repair.duration == 24 * H
    # response on office hours: Fri 17:20 + 30 working minutes = Mon 08:50
    assert deadlines(strict, 2, sh(2026, 3, 6, 17, 20)).response_due == sh(2026, 3, 9, 8, 50)
    assert strict.escalate(3, ["repair"]) == 1
    assert strict.escalate(3, ["response"]) == 3
    assert _policies()["default"].levels[2].repair.calendar.name == "office"


def test_escalation_steps_and_never_above_one() -> None:
    pol = _policies()["default"]
    assert pol.escalate(3, ["repair"]) == 2
    assert pol.escalate(2, ["response"]) == 1
    assert pol.escalate(1, ["response", "repair"]) == 1
    assert pol.escalate(3, []) == 3
    with pytest.raises(ValueError, match="no level 4"):
        pol.escalate(4, ["repair"])


def test_unknown_level_is_refused() -> None:
    pol = _policies()["default"]
    with pytest.raises(ValueError, match="no level 0"):
        deadlines(pol, 0, sh(2026, 3, 9))
    with pytest.raises(ValueError, match="negative"):
        deadlines(pol, 1, sh(2026, 3, 9), paused=-H)


def test_paused_time_pushes_the_repair_deadline_in_counted_time() -> None:
    pol = _policies()["default"]
    opened = sh(2026, 3, 6, 16)
    assert deadlines(pol, 2, opened, paused=2 * H) == Deadlines(sh(2026, 3, 6, 17), sh(2026, 3, 9, 16, 30))
    assert deadlines(pol, 2, opened, paused=3 * H).repair_due == sh(2026, 3, 9, 17, 30)  # end of range
    assert deadlines(pol, 2, opened, paused=3 * H + M).repair_due == sh(2026, 3, 10, 8, 31)
    assert deadlines(pol, 1, opened, paused=3 * H).repair_due == sh(2026, 3, 7, 1)  # 24x7


def test_deadlines_over_the_spring_festival() -> None:
    pol = _policies()["default"]
    got = deadlines(pol, 2, sh(2026, 2, 14, 17))
    assert got == Deadlines(sh(2026, 2, 14, 18), sh(2026, 2, 24, 15, 30))


# -- breached --------------------------------------------------------------------------------------


def _states(clocks: dict[str, Clock]) -> dict[str, tuple[str, timedelta, timedelta]]:
    return {k: (c.state, c.used, c.overrun) for k, c in clocks.items()}


def test_breached_running_met_and_missed() -> None:
    pol = _policies()["default"]
    opened = sh(2026, 3, 6, 16)  # level 2: respond by Fri 17:00, repair by Mon 14:30
    zero = timedelta(0)
    assert _states(breached(pol, 2, opened, now=sh(2026, 3, 6, 16, 30))) == {
        "response": ("running", 30 * M, zero), "repair": ("running", 30 * M, zero)}
    got = breached(pol, 2, opened, now=sh(2026, 3, 6, 17, 30))
    assert _states(got) == {"response": ("missed", 90 * M, 30 * M), "repair": ("running", 90 * M, zero)}
    assert got["response"].due == sh(2026, 3, 6, 17) and got["repair"].due == sh(2026, 3, 9, 14, 30)
    # responded exactly on time; the repair clock does not move over the weekend
    got = breached(pol, 2, opened, now=sh(2026, 3, 8, 12), responded_at=sh(2026, 3, 6, 17))
    assert _states(got) == {"response": ("met", H, zero), "repair": ("running", 1.5 * H, zero)}
    # exactly at the repair deadline: still running; 30 minutes later: missed by 30 working minutes
    assert breached(pol, 2, opened, now=sh(2026, 3, 9, 14, 30))["repair"].state == "running"
    got = breached(pol, 2, opened, now=sh(2026, 3, 9, 15), responded_at=sh(2026, 3, 6, 16, 5))
    assert _states(got)["repair"] == ("missed", 6.5 * H, 30 * M)
    assert _states(got)["response"] == ("met", 5 * M, zero)
    # repaired in time / late
    got = breached(pol, 2, opened, now=sh(2026, 3, 20), repaired_at=sh(2026, 3, 9, 14))
    assert _states(got)["repair"] == ("met", 5.5 * H, zero)
    got = breached(pol, 2, opened, now=sh(2026, 3, 20), repaired_at=sh(2026, 3, 9, 16))
    assert _states(got)["repair"] == ("missed", 7.5 * H, 1.5 * H)


def test_breached_counts_working_time_not_wall_time() -> None:
    pol = _policies()["default"]
    opened = sh(2026, 3, 9, 10)  # level 2 repair: Mon 10:00-12:00 + 13:30-17:30 = 6 h, due Mon 17:30
    assert deadlines(pol, 2, opened).repair_due == sh(2026, 3, 9, 17, 30)
    # repaired Monday evening: no working time passed after the deadline, so the limit was kept
    got = breached(pol, 2, opened, now=sh(2026, 3, 10), repaired_at=sh(2026, 3, 9, 20))
    assert _states(got)["repair"] == ("met", 6 * H, timedelta(0))
    assert breached(pol, 2, opened, now=sh(2026, 3, 10, 8, 30))["repair"].state == "running"
    assert _states(breached(pol, 2, opened, now=sh(2026, 3, 10, 8, 45)))["repair"] == (
        "missed", 6.25 * H, 15 * M)


def test_breached_subtracts_paused_time_from_the_repair_clock_only() -> None:
    pol = _policies()["default"]
    opened = sh(2026, 3, 9, 10)
    got = breached(pol, 2, opened, now=sh(2026, 3, 10, 9), responded_at=sh(2026, 3, 9, 11, 30),
                   repaired_at=sh(2026, 3, 10, 9), paused=H)
    # repair: 6 h Monday + 0.5 h Tuesday - 1 h paused; due Tue 09:30
    assert _states(got) == {"response": ("missed", 1.5 * H, 30 * M), "repair": ("met", 5.5 * H, timedelta(0))}
    assert got["repair"].due == sh(2026, 3, 10, 9, 30)


def test_breached_before_opening_uses_nothing() -> None:
    pol = _policies()["default"]
    got = breached(pol, 1, sh(2026, 3, 9, 10), now=sh(2026, 3, 9, 9))
    assert _states(got) == {"response": ("running", timedelta(0), timedelta(0)),
                            "repair": ("running", timedelta(0), timedelta(0))}


# -- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1h", H), ("30m", 30 * M), ("45s", timedelta(seconds=45)), ("2d", timedelta(days=2)),
    ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    (" 1h 30m ", timedelta(hours=1, minutes=30)), ("6H", 6 * H), ("90m", 90 * M), ("0s", timedelta(0)),
])
def test_parse_duration(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", " ", "h", "1", "1x", "1.5h", "-1h", "1h1h", "30m1h", "1 hour", "1hm",
                                  "h1", "1h-", "PT1H", None, 3600])
def test_parse_duration_refuses_garbage(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)  # type: ignore[arg-type]
