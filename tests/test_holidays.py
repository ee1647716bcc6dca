"""Calendars that never go silent: China's fixed-date holidays for any year, each year's official
arrangement from a file the site keeps, and a loud warning (status, `sla`, reports, a
self-check case) for a year counted without its arrangement.

The 2027 arrangement below is a test fixture shaped like the State Council's notices, not the
official text: 元旦 1–3 January, 春节 5–11 February with make-up working Sundays 14 February.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from agent.cases.calendar import WorkingHoursCalendar, load_calendars
from agent.cases.calendar_gaps import gaps_between, missing_years
from agent.cases.engine import CaseEngine
from agent.cases.holidays import fixed, package_knows
from agent.cases.policy import load_case_policy
from agent.cases.selfcheck import CALENDAR_CHECK, SELF, SelfChecks, calendar_verdicts
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from tests.helpers import cli

TZ = ZoneInfo("Asia/Shanghai")
ARRANGEMENT_2027 = """\
year: 2027
source: test fixture (not the official notice)
holidays:
  元旦: 2027-01-01..2027-01-03
  劳动节: 2027-05-01..2027-05-05
  春节: 2027-02-05..2027-02-11
  国庆节: ["2027-10-01..2027-10-07"]
workdays:
  春节: [2027-02-14]
"""


def t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def config(tmp_path: Path, arranged: bool, years: tuple[int, ...] = (2027,)) -> dict[str, Any]:
    office: dict[str, Any] = {"timezone": "Asia/Shanghai", "hours": ["08:30-12:00", "13:30-17:30"],
                              "statutory": "cn"}
    if arranged:
        (tmp_path / "holidays").mkdir(parents=True, exist_ok=True)
        for year in years:  # the fixture's dates moved to another year (weekdays aside)
            (tmp_path / "holidays" / f"cn-{year}.yaml").write_text(ARRANGEMENT_2027.replace("2027", str(year)),
                                                                   encoding="utf-8")
        office["arrangements"] = ["holidays"]  # relative to the config file's directory
    return {"timezone": "Asia/Shanghai", "calendars": {"office": office},
            "sla": {"contract": {"levels": {
                1: {"response": "1h", "repair": "6h", "repair_calendar": "office"},
                2: {"response": "1h", "repair": "6h", "repair_calendar": "office"},
                3: {"response": "2h", "repair": "6h", "repair_calendar": "office"}}}},
            "cases": {"policy": "contract"}}


def office(tmp_path: Path, arranged: bool) -> WorkingHoursCalendar:
    cal = load_calendars(config(tmp_path, arranged), str(tmp_path / "xunjian.yaml"))["office"]
    assert isinstance(cal, WorkingHoursCalendar)
    return cal


def due(cal: WorkingHoursCalendar, start: str, hours: float) -> datetime:
    return cal.add(datetime.fromisoformat(start).replace(tzinfo=TZ), timedelta(hours=hours))


def test_the_fixed_date_holidays_are_known_for_any_year() -> None:
    assert set(fixed(2099)) == {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
    assert (5, 2) not in fixed(2015) and (5, 3) in fixed(2005)  # 劳动节: 1 day 2008–2024, 3 before
    cal = WorkingHoursCalendar("office", "Asia/Shanghai", range(5), [(datetime.min.time(), datetime.min.time())],
                               statutory="cn")
    for d in (date(2099, 1, 1), date(2099, 5, 1), date(2099, 10, 1), date(2099, 10, 2)):  # Thu–Fri
        assert not cal.is_working_day(d), d
    assert cal.is_working_day(date(2099, 5, 4)) and cal.is_working_day(date(2099, 10, 5))


def test_the_case_of_31_december_is_due_after_new_years_day(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Thu 31 Dec 16:00 + 6 working hours: 1.5 h that day; 1–3 January off (元旦, then a
    # weekend); Monday 4 January 08:30–12:00 and 13:30–14:30
    for arranged in (True, False):
        assert due(office(tmp_path / str(arranged), arranged), "2026-12-31 16:00", 6) == \
            datetime(2027, 1, 4, 14, 30, tzinfo=TZ)
    # without the arrangement it is said, once, naming the year and what is missing
    warned = [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]
    assert len(warned) == 1 and "arrangement" in warned[0] and "Spring Festival" in warned[0]


def test_the_spring_festival_and_its_make_up_day_come_from_the_arrangement(tmp_path: Path) -> None:
    arranged, bare = office(tmp_path / "a", True), office(tmp_path / "b", False)
    # Thu 4 Feb 16:00 + 6 h: 1.5 h, then 5–11 February off, Friday 12th 08:30–14:30
    assert due(arranged, "2027-02-04 16:00", 6) == datetime(2027, 2, 12, 14, 30, tzinfo=TZ)
    assert due(bare, "2027-02-04 16:00", 6) == datetime(2027, 2, 5, 14, 30, tzinfo=TZ)  # too early
    # Fri 12 Feb 16:00 + 6 h: 1.5 h, Saturday off, Sunday 14th is a make-up working day
    assert due(arranged, "2027-02-12 16:00", 6) == datetime(2027, 2, 14, 14, 30, tzinfo=TZ)
    assert arranged.official.source(2027) == "file"
    if not package_knows(2027):
        assert bare.official.source(2027) == "fixed"


def test_missing_years_are_named_weeks_before_the_year_starts(tmp_path: Path) -> None:
    bare = {"office": office(tmp_path / "b", False)}
    arranged = {"office": office(tmp_path / "a", True)}
    if not package_knows(2027):
        assert [(g.calendar, g.year) for g in missing_years(bare, date(2026, 12, 7))] == [("office", 2027)]
    assert missing_years(bare, date(2026, 10, 1)) == []  # more than 45 days before: quiet
    assert missing_years(arranged, date(2026, 12, 7)) == []
    assert [g.year for g in gaps_between(bare, date(2099, 1, 1), date(2099, 3, 31))] == [2099]
    gap = gaps_between(bare, date(2099, 1, 1), date(2099, 1, 1))[0]
    assert "2099" in gap.message and "calendars.office.arrangements" in gap.message
    assert "2099" in gap.message_zh and "春节" in gap.message_zh


def test_a_self_check_case_opens_before_the_year_and_resolves_once_arranged(tmp_path: Path) -> None:
    now = t("2098-12-01 09:00")  # 2098 arranged, 2099 not yet
    policy = load_case_policy(config(tmp_path, True, (2098,)), str(tmp_path / "xunjian.yaml"))
    engine = CaseEngine(open_engine(tmp_path / "var"), policy, {}, lambda: now)
    checks = SelfChecks()
    changes = engine.apply(checks.due(policy, now))
    assert [(k, c.device, c.check, c.instance, c.level) for k, c in changes] == \
        [("open", SELF, CALENDAR_CHECK, "office:2099", 3)]
    assert "2099" in changes[0][1].message
    assert checks.due(policy, now + 3600) == []  # once a day
    again = checks.due(policy, now + 86400)  # the next day: judged again, the case stays open
    assert [v.instance for v in again if v.status is Status.WARN] == ["office:2099"]
    assert [k for k, _ in engine.apply(again)] in ([], ["update"])
    # the site adds the 2099 arrangement and reloads: the next round resolves the case
    engine.policy = load_case_policy(config(tmp_path, True, (2098, 2099)), str(tmp_path / "xunjian.yaml"))
    resolved = engine.apply(calendar_verdicts(engine.policy, date(2098, 12, 3), now))
    assert [(k, c.instance) for k, c in resolved] == [("resolve", "office:2099")]


ARRANGEMENT_PROBLEMS = [
    ("year: 27\nholidays: {}\n", "year", "like 2027"),
    (ARRANGEMENT_2027.replace("元旦: 2027-01-01..2027-01-03", "元旦: 2027-01-02..2027-01-03"),
     "holidays", "2027-01-01 (元旦) is a statutory holiday"),
    (ARRANGEMENT_2027 + "  国庆节: [2027-10-07]\n", "workdays", "also a holiday"),
    (ARRANGEMENT_2027.replace("春节: [2027-02-14]", "春节: [2028-06-14]"), "workdays.春节", "not in or next to 2027"),
    (ARRANGEMENT_2027.replace("春节: 2027-02-05..2027-02-11", "春节: 2027-02-11..2027-02-05"),
     "holidays.春节", "ends before it starts"),
    (ARRANGEMENT_2027 + "note: hi\n", "note", "unknown key"),
]


@pytest.mark.parametrize(("text", "place", "expected"), ARRANGEMENT_PROBLEMS)
def test_a_mistaken_arrangement_file_is_one_clear_problem(tmp_path: Path, text: str, place: str,
                                                         expected: str) -> None:
    (tmp_path / "cn-2027.yaml").write_text(text, encoding="utf-8")
    cfg = config(tmp_path, False)
    cfg["calendars"]["office"]["arrangements"] = ["cn-2027.yaml"]
    with pytest.raises(ConfigError) as e:
        load_calendars(cfg, str(tmp_path / "xunjian.yaml"))
    assert [(p.file, p.place) for p in e.value.problems] == [(str(tmp_path / "cn-2027.yaml"), place)]
    assert expected in e.value.problems[0].expected


def test_missing_and_duplicate_arrangement_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_text(ARRANGEMENT_2027, encoding="utf-8")
    (tmp_path / "a" / "y.yaml").write_text(ARRANGEMENT_2027, encoding="utf-8")
    cfg = config(tmp_path, False)
    cfg["calendars"]["office"]["arrangements"] = ["a", "nowhere"]
    with pytest.raises(ConfigError) as e:
        load_calendars(cfg, str(tmp_path / "xunjian.yaml"))
    text = [str(p) for p in e.value.problems]
    assert any("calendars.office.arrangements[1]" in p and "not found" in p for p in text), text
    assert any("keep one file per year" in p for p in text), text


def test_sla_and_the_monthly_report_say_it_loudly(tmp_path: Path) -> None:
    cfg = config(tmp_path, False)
    cfg["data_dir"] = str(tmp_path / "var")
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = cli("sla", "--from", "2099-01-01", "--to", "2099-01-31", "-c", "xunjian.yaml", "--format", "json",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no holiday arrangement for 2099" in r.stderr
    assert {"calendar": "office", "year": 2099} in [
        {k: w[k] for k in ("calendar", "year")} for w in json.loads(r.stdout)["calendar_warnings"]]
    r = cli("report", "monthly", "--month", "2099-01", "-f", "md", "-c", "xunjian.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "缺少 2099 年国务院节假日安排" in r.stdout
    r = cli("report", "monthly", "--month", "2099-01", "-f", "md", "--lang", "en", "-c", "xunjian.yaml",
            cwd=tmp_path)
    assert "no official holiday arrangement for 2099" in r.stdout
    # an arranged year is quiet
    r = cli("sla", "--from", "2026-03-01", "--to", "2026-03-31", "-c", "xunjian.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "arrangement for 2026" not in r.stderr


def test_the_self_check_verdicts_are_plain_verdicts(tmp_path: Path) -> None:
    policy = load_case_policy(config(tmp_path, True, (2098,)), str(tmp_path / "xunjian.yaml"))
    verdicts = calendar_verdicts(policy, date(2098, 12, 1), 0.0)
    assert [(v.status, v.instance) for v in verdicts if v.status is not Status.OK] == [(Status.WARN, "office:2099")]
    assert all(isinstance(v, Verdict) and v.device == SELF for v in verdicts)


def test_the_shipped_service_config_counts_repair_in_working_hours(tmp_path: Path) -> None:
    import shutil

    from agent.config import load_config

    root = Path(__file__).resolve().parent.parent
    shutil.copy(root / "packaging" / "xunjian.yaml", tmp_path / "xunjian.yaml")
    (tmp_path / "holidays").mkdir()  # install-service.sh makes /etc/xunjian/holidays (empty)
    cfg = load_config(tmp_path / "xunjian.yaml")
    office = cfg.cases.calendars["office"]
    assert isinstance(office, WorkingHoursCalendar) and office.statutory == "cn"
    limits = cfg.cases.sla("default").levels
    assert limits[2].repair.calendar is office and limits[3].repair.calendar is office
    assert cfg.inspections[0].calendar == "office"
    # a year's file dropped into the directory is taken
    (tmp_path / "holidays" / "cn-2099.yaml").write_text(ARRANGEMENT_2027.replace("2027", "2099"),
                                                        encoding="utf-8")
    office = load_config(tmp_path / "xunjian.yaml").cases.calendars["office"]
    assert isinstance(office, WorkingHoursCalendar) and office.official.source(2099) == "file"
