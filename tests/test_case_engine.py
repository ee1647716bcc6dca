"""The case engine with an injectable clock: deadlines on working-hour calendars, escalation,
pause/resume, reopen, maintenance windows, watch periods, parent suppression, fault reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.policy import CasePolicy, load_case_policy
from agent.cases.queries import case_history, get_case, list_cases
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from reports.fault import render_fault_report
from reports.sla import sla_summary

TZ = ZoneInfo("Asia/Shanghai")

# Office hours with the 2026 National Day holiday and a make-up Saturday written out, so the
# test does not depend on the statutory data package.
CONFIG: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "calendars": {"office": {
        "timezone": "Asia/Shanghai", "hours": ["08:30-12:00", "13:30-17:30"],
        "holidays": ["2026-10-01..2026-10-08"], "workdays": ["2026-10-10"]}},
    "sla": {
        "contract": {"levels": {
            1: {"response": "1h", "repair": "6h"},
            2: {"response": "1h", "repair": "6h", "repair_calendar": "office"},
            3: {"response": "2h", "repair": "12h", "repair_calendar": "office"}}},
        "strict": {"levels": {
            1: {"response": "15m", "repair": "2h"},
            2: {"response": "30m", "repair": "4h"},
            3: {"response": "1h", "repair": "8h"}}},
    },
    "cases": {
        "policy": "contract",
        "reopen_window": "1h",
        "maintenance": [
            {"name": "patching", "start": "2026-11-24 22:00", "end": "2026-11-25 02:00", "devices": ["db01"]},
            {"name": "weekly-backup", "every": "weekly", "days": ["sun"], "at": "02:00",
             "duration": "2h", "groups": ["backup"]},
        ],
        "watch": [{"name": "spring-festival", "start": "2027-02-05 00:00", "end": "2027-02-13 00:00",
                   "policy": "strict"}],
    },
}


def t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


@dataclass
class Dev:
    name: str
    groups: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


class Clock:
    def __init__(self, start: str) -> None:
        self.now = t(start)

    def __call__(self) -> float:
        return self.now

    def at(self, text: str) -> None:
        self.now = t(text)


def setup(store: str, start: str, devices: list[Dev] | None = None) -> tuple[CaseEngine, Clock]:
    clock = Clock(start)
    policy = load_case_policy(CONFIG, "xunjian.yaml")
    devs = {d.name: d for d in devices or [Dev("db01")]}
    return CaseEngine(open_engine(store), policy, devs, clock), clock


def fault(device: str = "db01", check: str = "disk_used_percent", instance: str = "/u01",
          status: Status = Status.WARN, level: int = 3, value: float = 90.0) -> Verdict:
    return Verdict(device, check, status, instance, value, "%", "warn >= 85%", f"{instance}: {value}%",
                   level=None if status is Status.OK else level)


def ok(**kw: Any) -> Verdict:
    return fault(status=Status.OK, value=10.0, **kw)


def kinds(ce: CaseEngine, number: str) -> list[str]:
    return [e["kind"] for e in case_history(ce.engine, number)]


def test_repair_deadline_across_holiday_weekend_and_make_up_day(store: str) -> None:
    ce, clock = setup(store, "2026-09-30 16:00")
    (_, case), = ce.apply([fault()])
    assert case.number == "F-20260930-0001" and case.level == 3 and case.policy == "contract"
    assert case.response_due == t("2026-09-30 18:00")  # 2 h, 24x7
    # 12 working hours: 1.5 on Sep 30, Oct 1-8 holiday, 7.5 on Fri Oct 9, 3 on make-up Sat Oct 10
    assert case.repair_due == t("2026-10-10 11:30")
    clock.at("2026-09-30 16:30")
    ce.act(case.number, "ack", "zhang.wei", note="on it")
    clock.at("2026-10-10 11:29:59")
    assert ce.tick() == []
    clock.at("2026-10-10 11:30")
    changes = ce.tick()
    assert [k for k, _ in changes] == ["breach", "escalate"]
    now = changes[-1][1]
    assert now.level == 2 and now.repair_breached and not now.response_breached
    # the new level's 6 working hours from 11:30 Sat: 0.5 + 4 that day, Sunday off, 1.5 Monday
    assert now.repair_due == t("2026-10-12 10:00")
    assert ce.tick() == []  # the same deadline is never acted on twice
    assert kinds(ce, case.number) == ["open", "ack", "breach", "escalate"]


def test_unanswered_case_escalates_to_level_one_and_no_further(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")
    (_, case), = ce.apply([fault(level=2, status=Status.CRIT)])
    assert case.response_due == t("2026-11-23 10:00")
    clock.at("2026-11-23 10:00")
    assert [k for k, _ in ce.tick()] == ["breach", "escalate"]
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 1 and c.response_due == t("2026-11-23 11:00")
    clock.at("2026-11-23 11:00")
    assert [k for k, _ in ce.tick()] == ["breach"]  # already level 1: recorded, not raised
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 1 and c.opened_level == 2
    assert ce.tick() == []


def test_pause_stops_the_repair_clock(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")  # Monday
    (_, case), = ce.apply([fault(level=2)])
    assert case.repair_due == t("2026-11-23 16:30")  # 6 working hours
    clock.at("2026-11-23 09:10")
    ce.act(case.number, "ack", "li")
    clock.at("2026-11-23 10:00")
    ce.act(case.number, "pause", "li", note="waiting for the vendor")
    with pytest.raises(CaseError, match="already paused"):
        ce.act(case.number, "pause", "li")
    clock.at("2026-11-23 17:00")  # past the old deadline, but paused
    assert ce.tick() == []
    clock.at("2026-11-24 09:00")  # paused 10:00-12:00 + 13:30-17:30 + 08:30-09:00 = 6.5 working h
    (_, resumed), = ce.act(case.number, "resume", "li")
    assert resumed.paused_seconds == 6.5 * 3600
    assert resumed.repair_due == t("2026-11-24 15:30")
    clock.at("2026-11-24 15:00")
    (_, done), = ce.act(case.number, "resolve", "li", cause="disk", handling="cleaned")
    assert done.status == "resolved" and not done.repair_breached


def test_reopen_within_window_and_new_case_after(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")
    (_, case), = ce.apply([fault()])
    clock.at("2026-11-23 09:20")
    (kind, c), = ce.apply([ok()])
    assert kind == "resolve" and c.resolved_by == "system"
    clock.at("2026-11-23 10:10")  # 50 min later: the same fault again
    assert [k for k, _ in ce.apply([fault()])] == ["reopen"]
    assert [c.number for c in list_cases(ce.engine)] == [case.number]
    clock.at("2026-11-23 10:15")
    ce.apply([ok()])
    clock.at("2026-11-23 11:30")  # 75 min after: a new case
    (kind, new), = ce.apply([fault()])
    assert kind == "open" and new.number.endswith("-0002")
    assert kinds(ce, case.number) == ["open", "resolve", "reopen", "resolve"]


def test_close_needs_cause_and_handling_and_reopen_after_close(store: str) -> None:
    ce, _clock = setup(store, "2026-11-23 09:00")
    (_, case), = ce.apply([fault()])
    with pytest.raises(CaseError, match="is open; close needs it resolved"):
        ce.act(case.number, "close", "li", cause="x", handling="y")
    ce.apply([ok()])
    with pytest.raises(CaseError, match="needs the cause and the handling"):
        ce.act(case.number, "close", "li", cause="disk full")
    (_, closed), = ce.act(case.number, "close", "li", cause="disk full", handling="cleaned",
                          fault_type="software")
    assert closed.status == "closed" and closed.closed_by == "li"
    (_, back), = ce.act(case.number, "reopen", "li", note="came back")
    assert back.status == "open" and back.closed_at is None
    with pytest.raises(CaseError, match="no case F-nope"):
        ce.act("F-nope", "ack", "li")


def test_maintenance_window_holds_faults_and_raises_them_at_its_end(store: str) -> None:
    ce, clock = setup(store, "2026-11-24 22:30", [Dev("db01"), Dev("bk1", ("backup",))])
    assert ce.apply([fault()]) == []  # inside the one-off window: no case
    assert list_cases(ce.engine, "all") == []
    clock.at("2026-11-25 01:00")
    assert ce.apply([fault(instance="/tmp")]) == []
    assert ce.apply([ok(instance="/tmp")]) == []  # recovered inside: never a case
    clock.at("2026-11-25 01:59")
    assert ce.tick() == []
    clock.at("2026-11-25 02:00")
    (kind, case), = ce.tick()
    assert kind == "open" and case.instance == "/u01" and case.opened_at == t("2026-11-25 02:00")
    assert case_history(ce.engine, case.number)[0]["detail"]["held_since"] == t("2026-11-24 22:30")
    # a recurring window: Sundays 02:00-04:00 for the backup group only
    clock.at("2026-11-29 03:00")
    assert ce.apply([fault("bk1")]) == []
    assert [k for k, _ in ce.apply([fault("db01", instance="/x")])] == ["open"]
    clock.at("2026-11-29 04:00")
    assert [c.device for k, c in ce.tick() if k == "open"] == ["bk1"]


def test_open_case_does_not_escalate_inside_a_window_but_at_its_end(store: str) -> None:
    ce, clock = setup(store, "2026-11-24 21:00")
    (_, _case), = ce.apply([fault()])  # response due 23:00, window 22:00-02:00
    clock.at("2026-11-24 23:30")
    assert ce.tick() == []
    clock.at("2026-11-25 02:00")
    assert [k for k, _ in ce.tick()] == ["breach", "escalate"]


def test_watch_period_sets_the_stricter_policy(store: str) -> None:
    ce, _ = setup(store, "2027-02-06 10:00")
    (_, case), = ce.apply([fault()])
    assert case.policy == "strict" and case.response_due == t("2027-02-06 11:00")


def test_parent_unreachable_suppresses_children_and_resolves_them(store: str) -> None:
    devs = [Dev("sw1"), Dev("enc1", labels={"parent": "sw1"}), Dev("enc2", labels={"parent": "sw1"})]
    ce, clock = setup(store, "2026-11-23 09:00", devs)
    down = {"check": "collect.snmp", "instance": "", "status": Status.UNKNOWN}
    (_, early), = ce.apply([fault("enc1", **down)])  # the child noticed first
    changes = ce.apply([fault("sw1", **down)])
    parent = changes[0][1]
    assert [k for k, _ in changes] == ["open", "suppress"] and changes[1][1].number == early.number
    (_kind, late), = [(k, c) for k, c in ce.apply([fault("enc2", **down)]) if c.device == "enc2"][:1]
    assert get_case(ce.engine, late.number).suppressed_by == parent.number  # type: ignore[union-attr]
    clock.at("2026-11-23 12:00")  # past every response deadline
    assert {c.device for _, c in ce.tick()} == {"sw1"}  # suppressed children do not escalate
    clock.at("2026-11-23 12:05")
    resolved = ce.apply([ok(device="sw1", check="collect.snmp", instance="")])
    assert sorted(c.device for k, c in resolved if k == "resolve") == ["enc1", "enc2", "sw1"]
    child = case_history(ce.engine, early.number)[-1]
    assert child["detail"]["by"] == "parent" and child["detail"]["parent"] == parent.number
    summary = sla_summary(ce.engine, t("2026-11-01 00:00"), t("2026-12-01 00:00"), clock())
    assert summary["cases"] == 1  # the children are not counted against the SLA


def test_flapping_and_severity_updates_are_events(store: str) -> None:
    ce, _ = setup(store, "2026-11-23 09:00")
    (_, _case), = ce.apply([fault()])
    v = fault()
    v.flapping = True
    (kind, c), = ce.apply([v])
    assert kind == "update" and c.flapping
    (kind, c), = ce.apply([fault(status=Status.CRIT, level=2)])
    assert kind == "update" and c.level == 2 and c.severity == "crit"
    assert c.response_due == t("2026-11-23 10:00")  # the new level's clock, from now


def test_fault_report_in_both_languages(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")
    (_, case), = ce.apply([fault(level=2, status=Status.CRIT)])
    clock.at("2026-11-23 10:30")
    ce.tick()  # response missed → L1
    ce.act(case.number, "ack", "zhang.wei")
    clock.at("2026-11-23 11:15")
    ce.apply([ok()])
    ce.act(case.number, "close", "zhang.wei", cause="归档日志占满 /u01", handling="清理归档日志 <rm>",
           loss="无", fault_type="software")
    raw = render_fault_report(ce.engine, ce.policy, case.number, "md", "zh-CN", now=clock())
    assert raw is not None
    zh = raw.decode()
    for text in ("故障处理报告", case.number, "一级（重大）", "二级（主要）", "归档日志占满 /u01",
                 "2026-11-23 09:00:00", "2026-11-23 11:15:00", "2小时15分钟", "超时", "升级", "签字确认"):
        assert text in zh, text
    raw = render_fault_report(ce.engine, ce.policy, case.number, "html", "en", now=clock())
    assert raw is not None
    en = raw.decode()
    for text in ("Fault report", "Level 1 (major)", "Opened at level", "2 h 15 min", "MISSED",
                 "&lt;rm&gt;", "escalated", "zhang.wei"):
        assert text in en, text
    assert "<rm>" not in en  # escaped
    assert render_fault_report(ce.engine, ce.policy, "F-none", "md", "en") is None


@pytest.mark.parametrize(("patch", "where", "expected"), [
    ({"cases": {"policy": "nope"}}, "cases.policy", "an SLA policy defined under sla"),
    ({"cases": {"reopen_window": "soon"}}, "cases.reopen_window", "not a duration"),
    ({"cases": {"maintenance": [{"name": "x", "start": "2026-01-02 00:00"}]}}, "cases.maintenance[0]",
     "needs start and end"),
    ({"cases": {"maintenance": [{"name": "x", "every": "weekly", "at": "02:00", "duration": "1h",
                                 "days": ["sonday"]}]}}, "cases.maintenance[0]", "weekly days are mon"),
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA time zone"),
    ({"cases": {"watch": [{"name": "w", "start": "2027-01-01 00:00", "end": "2027-01-02 00:00",
                           "policy": "nope"}]}}, "cases.watch[0].policy", "an SLA policy"),
])
def test_bad_case_config_names_the_place(patch: dict[str, Any], where: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_case_policy({**CONFIG, **patch}, "xunjian.yaml")
    text = "\n".join(str(p) for p in e.value.problems)
    assert where in text and expected in text, text


def test_default_policy_without_config() -> None:
    p: CasePolicy = load_case_policy({}, "xunjian.yaml")
    assert p.policy == "default" and p.sla("default").limits(1).repair.duration.total_seconds() == 6 * 3600


def test_a_late_check_escalates_through_every_missed_deadline_from_the_deadline(store: str) -> None:
    """Checked only at 15:00, a level-3 case opened at 10:00 ends where hourly checks would
    have left it: raised at 12:00 and again at 13:00, each level's clocks counted from the
    deadline that was missed, every breach recorded, and the fault report lists them all."""
    ce, clock = setup(store, "2026-11-23 10:00")  # a Monday
    (_, case), = ce.apply([fault(level=3)])
    clock.at("2026-11-23 15:00")
    changes = ce.tick()
    assert [k for k, _ in changes] == ["breach", "escalate", "breach", "escalate", "breach"]
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 1 and c.opened_level == 3 and c.response_breached
    # L1 from 13:00 (the L2 response deadline): response 1 h, repair 6 h, both 24x7
    assert (c.response_due, c.repair_due) == (t("2026-11-23 14:00"), t("2026-11-23 19:00"))
    history = case_history(ce.engine, case.number)
    assert [(e["detail"]["clock"], e["detail"]["due"]) for e in history if e["kind"] == "breach"] == [
        ("response", t("2026-11-23 12:00")), ("response", t("2026-11-23 13:00")),
        ("response", t("2026-11-23 14:00"))]
    escalations = [e["detail"] for e in history if e["kind"] == "escalate"]
    assert [(d["level"], d["clocks_from"]) for d in escalations] == [
        (2, t("2026-11-23 12:00")), (1, t("2026-11-23 13:00"))]
    # L2 repair: 6 office hours from 12:00 → 13:30-17:30, then 08:30-10:30 the next day
    assert escalations[0]["repair_due"] == t("2026-11-24 10:30")
    assert ce.tick() == []

    # the same case ticked on time ends in the same state
    ce2, clock2 = setup(store, "2026-11-23 10:00", [Dev("db02")])
    (_, other), = ce2.apply([fault(device="db02", level=3)])
    for hour in ("12:00", "13:00", "14:00", "15:00"):
        clock2.at(f"2026-11-23 {hour}")
        ce2.tick()
    o = get_case(ce2.engine, other.number)
    assert o is not None and (o.level, o.response_due, o.repair_due) == (c.level, c.response_due, c.repair_due)

    clock.at("2026-11-23 15:30")
    ce.act(case.number, "ack", "zhang.wei")
    raw = render_fault_report(ce.engine, ce.policy, case.number, "md", "en", now=clock())
    assert raw is not None
    rows = [ln for ln in raw.decode().splitlines() if ln.startswith("| Level ") and "| Clock |" not in ln
            and not ln.startswith("| Level | ")]
    assert rows == [
        "| Level 3 (minor) | response | 2026-11-23 10:00:00 | 2026-11-23 12:00:00 | MISSED |",
        "| Level 3 (minor) | repair | 2026-11-23 10:00:00 | 2026-11-24 16:00:00 | replaced by the next level's |",
        "| Level 2 (main) | response | 2026-11-23 12:00:00 | 2026-11-23 13:00:00 | MISSED |",
        "| Level 2 (main) | repair | 2026-11-23 12:00:00 | 2026-11-24 10:30:00 | replaced by the next level's |",
        "| Level 1 (major) | response | 2026-11-23 13:00:00 | 2026-11-23 14:00:00 | MISSED |",
        "| Level 1 (major) | repair | 2026-11-23 13:00:00 | 2026-11-23 19:00:00 | running |",
    ], raw.decode()
    assert "response missed (Due 2026-11-23 12:00:00)" in raw.decode()
    import io

    from openpyxl import load_workbook

    xlsx = render_fault_report(ce.engine, ce.policy, case.number, "xlsx", "en", now=clock())
    assert xlsx is not None
    ws = load_workbook(io.BytesIO(xlsx))["Every contractual deadline"]
    assert [c.value for c in ws[2]] == ["Level 3 (minor)", "response", "2026-11-23 10:00:00",
                                        "2026-11-23 12:00:00", "MISSED"]
    assert ws.max_row == 7
