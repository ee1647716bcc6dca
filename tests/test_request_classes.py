"""Request classes with their own clocks and the named clocks a contract counts (arrival on
site, diagnosis report, workaround, fault report submitted after repair), each with its start
and stop, on its own calendar; breaches recorded once; the fault report lists them."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.intake import Intake, IntakeError
from agent.cases.policy import load_case_policy
from agent.cases.queries import case_history, get_case, named_clocks
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from reports.fault import render_fault_report
from tests.helpers import user_docs
from tests.test_case_engine import Clock, t

OFFICE = {"timezone": "Asia/Shanghai", "hours": ["08:30-12:00", "13:30-17:30"],
          "holidays": ["2026-10-01..2026-10-08"], "workdays": ["2026-10-10"]}
CONFIG: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "calendars": {"office": OFFICE},
    "sla": {"hotline": {
        "levels": {1: {"response": "30m", "repair": "4h"}, 2: {"response": "1h", "repair": "8h"},
                   3: {"response": "2h", "repair": "24h"}},
        "classes": {"consultation": {"response": "1h", "repair": "4h"},
                    "suggestion": {"response": "4h", "repair": "24h", "calendar": "office"},
                    "change": {"repair": "5d", "calendar": "office"}},
        "clocks": {"arrival": {"start": "open", "stop": "arrival", "limits": {1: "2h", 2: "4h"}},
                   "diagnosis": {"start": "open", "stop": "diagnosis", "limit": "4h"},
                   "fault_report": {"start": "resolve", "stop": "fault_report", "limit": "24h"}},
    }},
    "cases": {"policy": "hotline"},
}


def engine(store: str, start: str) -> tuple[CaseEngine, Clock]:
    clock = Clock(start)
    return CaseEngine(open_engine(store), load_case_policy(CONFIG, "xunjian.yaml"), {}, clock), clock


def asked(klass: str, at: str, **kw: Any) -> Intake:
    return Intake(channel="web", reporter="Li Na", description="how do I export the recordings?",
                  reported_at=t(at), request_class=klass, **kw)


def test_a_consultation_has_its_own_clocks_and_does_not_escalate(store: str) -> None:
    ce, clock = engine(store, "2026-11-23 09:00")
    (_, case), = ce.report(asked("consultation", "2026-11-23 09:00"), "desk.wang")
    assert case.request_class == "consultation" and case.level == 3
    assert (case.response_due, case.repair_due) == (t("2026-11-23 10:00"), t("2026-11-23 13:00"))
    clock.at("2026-11-23 13:30")
    assert [k for k, _ in ce.tick()] == ["breach", "breach"]  # answered late, solved late: no level to climb
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 3 and c.response_breached and c.repair_breached
    assert ce.tick() == []


def test_a_suggestion_counts_working_hours_across_a_holiday(store: str) -> None:
    ce, _ = engine(store, "2026-09-30 16:00")
    (_, case), = ce.report(asked("suggestion", "2026-09-30 16:00"), "desk.wang")
    # 4 working hours: 1.5 on Sep 30, the holiday, 2.5 on Fri Oct 9 → 11:00
    assert case.response_due == t("2026-10-09 11:00")
    # 24 working hours: 1.5 + 7.5 (Oct 9) + 7.5 (make-up Sat Oct 10) + 7.5 (Mon Oct 12) = 24
    assert case.repair_due == t("2026-10-12 17:30")
    (_, change), = ce.report(asked("change", "2026-09-30 16:00"), "desk.wang")
    assert change.response_due is None  # the contract counts no response time for changes
    with pytest.raises(IntakeError, match="class 'complaint': the policy's classes are fault, consultation"):
        ce.report(asked("complaint", "2026-09-30 16:00"), "desk.wang")


def test_named_clocks_start_and_stop_on_events_and_milestones(store: str) -> None:
    ce, clock = engine(store, "2026-11-23 09:00")
    (_, case), = ce.apply([Verdict("enc-07", "collect.snmp", Status.CRIT, "", None, level=2)])
    running = {c["name"]: c for c in named_clocks(ce.engine, case.number)}
    assert set(running) == {"arrival", "diagnosis"}  # fault_report starts at the repair
    assert running["arrival"]["due"] == t("2026-11-23 13:00") and running["diagnosis"]["due"] == t("2026-11-23 13:00")
    clock.at("2026-11-23 09:10")
    ce.act(case.number, "ack", "zhang.wei")
    clock.at("2026-11-23 10:40")
    ce.act(case.number, "mark", "zhang.wei", milestone="arrival", note="on site")
    clock.at("2026-11-23 13:05")
    changes = ce.tick()
    assert [(k, c.number) for k, c in changes] == [("breach", case.number)]  # the diagnosis, once
    assert [e["detail"]["clock"] for e in case_history(ce.engine, case.number) if e["kind"] == "breach"] == \
        ["diagnosis"]
    assert ce.tick() == []
    ce.act(case.number, "resolve", "zhang.wei")
    clock.at("2026-11-24 12:00")
    ce.act(case.number, "mark", "zhang.wei", milestone="fault_report")
    by = {c["name"]: c for c in named_clocks(ce.engine, case.number)}
    assert by["fault_report"]["due"] == t("2026-11-24 13:05") and by["fault_report"]["stopped_at"] == t("2026-11-24 12:00")
    assert by["arrival"]["stopped_at"] == t("2026-11-23 10:40") and not by["arrival"]["breached"]
    raw = render_fault_report(ce.engine, ce.policy, case.number, "md", "en", now=clock())
    assert raw is not None
    text = raw.decode()
    for row in ("| arrival on site | 2026-11-23 09:00:00 | 2026-11-23 13:00:00 | met |",
                "| diagnosis report | 2026-11-23 09:00:00 | 2026-11-23 13:00:00 | MISSED |",
                "| fault report | 2026-11-23 13:05:00 | 2026-11-24 13:05:00 | met |"):
        assert row in text, text
    with pytest.raises(CaseError, match="a milestone name"):
        ce.act(case.number, "mark", "zhang.wei", milestone="resolve")


@pytest.mark.parametrize(("patch", "place", "expected"), [
    ({"classes": {"fault": {"repair": "1h"}}}, "sla.hotline.classes.fault", "faults are counted by the levels"),
    ({"classes": {"consultation": {"repair": "1h", "calendar": "ofice"}}},
     "sla.hotline.classes.consultation.calendar", "unknown calendar 'ofice'"),
    ({"clocks": {"arrival": {"start": "open", "stop": "arrival"}}}, "sla.hotline.clocks.arrival",
     "a limit (for every level) or limits"),
    ({"clocks": {"arrival": {"start": "open", "stop": "arrival", "limits": {"complaint": "1h"}}}},
     "sla.hotline.clocks.arrival.limits.complaint", "a level number or a class of this policy"),
    ({"classes": {"consultation": {"response": "1h"}}}, "sla.hotline.classes.consultation.repair", "required"),
])
def test_a_bad_class_or_clock_is_named(patch: dict[str, Any], place: str, expected: str) -> None:
    policy = {**CONFIG["sla"]["hotline"], **patch}
    with pytest.raises(ConfigError) as e:
        load_case_policy({**CONFIG, "sla": {"hotline": policy}}, "xunjian.yaml")
    problems = [(p.place, p.expected) for p in e.value.problems]
    assert any(p == place and expected in w for p, w in problems), problems


def test_the_readmes_example_policies_load_and_count_as_they_say() -> None:
    import re

    import yaml

    readme = user_docs()
    block = re.search(r"```yaml\n(# service-desk example\n.*?)```", readme, re.S)
    assert block is not None
    policy = load_case_policy(yaml.safe_load(block.group(1)), "README.md")
    assert set(policy.policies) >= {"video-network", "county-five", "software-maintenance", "hotline"}
    five = policy.sla("county-five")
    assert five.level_name(5) == "E 轻微" and [c.name for c in five.clocks] == [
        "arrival", "diagnosis", "workaround", "fault_report"]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from agent.cases.sla import deadlines

    tz = ZoneInfo("Asia/Shanghai")
    # routine: 2 working days = 15 working hours from Monday 09:00: 3 + 4 on Monday, 7.5 on
    # Tuesday, 0.5 on Wednesday → Wednesday 09:00
    d = deadlines(policy.sla("software-maintenance"), 3, datetime(2026, 11, 23, 9, 0, tzinfo=tz), klass="routine")
    assert d.response_due is None and d.repair_due == datetime(2026, 11, 25, 9, 0, tzinfo=tz)
    # a suggestion made on 30 September at 20:00: 4 h that evening, then National Day is skipped
    d = deadlines(policy.sla("hotline"), 3, datetime(2026, 9, 30, 20, 0, tzinfo=tz), klass="suggestion")
    assert d.response_due == datetime(2026, 10, 1, 0, 0, tzinfo=tz)
    assert d.repair_due == datetime(2026, 10, 8, 20, 0, tzinfo=tz)


def test_named_clocks_restart_at_the_raised_level(store: str) -> None:
    """A level-2 fault opened 09:00 (arrival 4 h: 13:00). Its response (1 h) is missed at 10:00
    and it is raised to level 1: arrival restarts at level 1's 2 h from 10:00, 12:00. The
    diagnosis limit is the same at every level: its 13:00 stands (a raise never gives more time)."""
    ce, clock = engine(store, "2026-11-23 09:00")
    (_, case), = ce.apply([Verdict("enc-07", "collect.snmp", Status.CRIT, "", None, level=2)])
    clock.at("2026-11-23 10:05")
    ce.tick()
    now = get_case(ce.engine, case.number)
    assert now is not None and now.level == 1
    by = {c["name"]: c for c in named_clocks(ce.engine, case.number)}
    assert by["arrival"]["due"] == t("2026-11-23 12:00") and by["arrival"]["level"] == 1
    assert by["diagnosis"]["due"] == t("2026-11-23 13:00")
    clock.at("2026-11-23 12:10")
    ce.tick()
    breaches = [e["detail"]["clock"] for e in case_history(ce.engine, case.number) if e["kind"] == "breach"]
    assert "arrival" in breaches and "diagnosis" not in breaches
