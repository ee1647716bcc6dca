"""Faults and requests reported by a person (`xunjian cases open`): a case like a rule-opened
one, with its clocks from the time reported; a rule's later verdict joins it (same device and
check) or is linked to it (the device only); bad input is one message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agent.cases.engine import CaseError
from agent.cases.intake import Intake, IntakeError
from agent.cases.queries import case_history, case_report, get_case
from core.model import Status
from reports.fault import render_fault_report
from tests.helpers import cli
from tests.test_case_engine import CONFIG, fault, kinds, setup, t


def phoned(**kw: object) -> Intake:
    base: dict[str, object] = {"channel": "phone", "reporter": "Li Na", "unit": "county A",
                               "contact": "0571-8888", "description": "encoder 7 shows no picture",
                               "reported_at": t("2026-11-23 09:10"), "level": 2, "devices": ("db01",),
                               "category": "hardware"}
    return Intake(**{**base, **kw})  # type: ignore[arg-type]


def test_a_phoned_fault_is_a_case_with_clocks_from_the_time_reported(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:40")  # entered half an hour after the call
    (kind, case), = ce.report(phoned(), "desk.wang")
    assert kind == "open" and case.number == "F-20261123-0001" and case.source == "person"
    assert case.level == 2 and case.category == "hardware" and case.policy == "contract"
    assert case.opened_at == t("2026-11-23 09:10") and case.response_due == t("2026-11-23 10:10")
    assert case.message == "encoder 7 shows no picture" and case.severity == "reported"
    rep = case_report(ce.engine, case.number)
    assert rep is not None and (rep["channel"], rep["reporter"], rep["unit"], rep["contact"]) == (
        "phone", "Li Na", "county A", "0571-8888")
    assert (rep["reported_at"], rep["entered_at"], rep["entered_by"]) == (
        t("2026-11-23 09:10"), t("2026-11-23 09:40"), "desk.wang")
    assert rep["affected"] == ["db01"]
    # the same clocks as any case: unanswered by 10:10 it escalates, from 10:10
    clock.at("2026-11-23 10:30")
    assert [k for k, _ in ce.tick()] == ["breach", "escalate"]
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 1 and c.response_due == t("2026-11-23 11:10")
    ce.act(case.number, "ack", "zhang.wei")
    ce.act(case.number, "resolve", "zhang.wei")
    ce.act(case.number, "close", "zhang.wei", cause="loose cable", handling="reseated the cable")
    assert kinds(ce, case.number) == ["open", "breach", "escalate", "ack", "resolve", "close"]
    md = render_fault_report(ce.engine, ce.policy, case.number, "md", "en", now=clock())
    assert md is not None
    text = md.decode()
    for said in ("| Reported by | Li Na, county A (0571-8888) — phone |",
                 "| Reported at | 2026-11-23 09:10:00 (entered 2026-11-23 09:40:00, desk.wang) |",
                 "| Began | 2026-11-23 09:10:00 |"):
        assert said in text, text


def test_a_report_entered_late_escalates_through_the_deadlines_already_passed(store: str) -> None:
    ce, _ = setup(store, "2026-11-23 12:30")
    changes = ce.report(phoned(level=3, reported_at=t("2026-11-23 09:00")), "desk.wang")
    # L3 response 2 h → 11:00 missed → L2 from 11:00 (response 12:00) missed → L1 from 12:00
    assert [k for k, _ in changes] == ["open", "breach", "escalate", "breach", "escalate"]
    assert changes[-1][1].level == 1 and changes[-1][1].response_due == t("2026-11-23 13:00")


def test_a_rule_verdict_on_the_named_device_and_check_joins_the_reported_case(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:40")
    (_, case), = ce.report(phoned(level=3, check="disk_used_percent", instance="/u01"), "desk.wang")
    assert ce.apply([fault(status=Status.OK, value=10.0)]) == []  # the rule has not seen it fail: kept
    clock.at("2026-11-23 09:45")
    changes = ce.apply([fault(level=2, status=Status.CRIT)])
    assert [k for k, _ in changes] == ["link", "update"]
    assert {c.number for _, c in changes} == {case.number}
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 2 and c.severity == "crit" and c.source == "person"
    assert c.message == "encoder 7 shows no picture"  # the reporter's words stay the symptom
    assert ce.apply([fault(level=2, status=Status.CRIT)]) == []  # joined once
    ce.apply([fault(status=Status.OK, value=10.0)])  # the rule's recovery resolves it
    c = get_case(ce.engine, case.number)
    assert c is not None and c.status == "resolved" and c.resolved_by == "system"
    clock.at("2026-11-23 09:50")
    ce.report(phoned(check="disk_used_percent", instance="/u01"), "desk.wang")
    with pytest.raises(CaseError, match="already open"):
        ce.report(phoned(check="disk_used_percent", instance="/u01"), "desk.wang")


def test_a_rule_verdict_on_a_named_device_without_a_check_opens_its_own_case_linked(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:40")
    (_, reported), = ce.report(phoned(devices=("db01", "db02")), "desk.wang")
    clock.at("2026-11-23 09:45")
    changes = ce.apply([fault(device="db02")])
    assert [k for k, _ in changes] == ["open", "link"]
    rule_case = changes[0][1]
    assert rule_case.number != reported.number and rule_case.source == "rule"
    link = [e for e in case_history(ce.engine, reported.number) if e["kind"] == "link"]
    assert [e["detail"]["case"] for e in link] == [rule_case.number]
    mine = [e for e in case_history(ce.engine, rule_case.number) if e["kind"] == "link"]
    assert mine[0]["detail"]["cases"] == [reported.number]
    assert [k for k, _ in ce.apply([fault(device="db03")])] == ["open"]  # a device it does not name


@pytest.mark.parametrize(("change", "expected"), [
    ({"channel": "fax"}, "channel 'fax': one of phone, mail, web, onsite, other"),
    ({"reporter": " "}, "the reporter's name is needed"),
    ({"level": 4}, "level 4: the policy's levels are 1, 2, 3"),
    ({"check": "disk_used_percent", "devices": ()}, "give exactly one --device"),
    ({"reported_at": t("2026-11-23 12:00")}, "in the future"),
    ({"policy": "nope"}, "no SLA policy 'nope'"),
])
def test_a_bad_report_is_refused_with_what_is_wrong(store: str, change: dict[str, object],
                                                   expected: str) -> None:
    ce, _ = setup(store, "2026-11-23 09:40")
    with pytest.raises(IntakeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        ce.report(phoned(**change), "desk.wang")
    assert get_case(ce.engine, "F-20261123-0001") is None


def test_cases_open_from_the_command_line(tmp_path: Path) -> None:
    cfg = {**CONFIG, "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    base = ("-c", "xunjian.yaml")
    r = cli("cases", "open", "--channel", "phone", "--reporter", "李娜", "--unit", "A县", "--contact",
            "0571-8888", "-d", "enc-07", "--level", "2", "--reported-at", "2026-11-23 09:10",
            "--category", "hardware", "-m", "7号编码器无图像", "--as", "desk.wang", "--format", "json",
            *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    case = json.loads(r.stdout)["changes"][0]["case"]
    number = case["number"]
    assert number == "F-20261123-0001" and case["source"] == "person" and case["device"] == "enc-07"
    assert case["opened_at"] == "2026-11-23T01:10:00Z"
    r = cli("cases", "show", number, *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "李娜, A县, 0571-8888 by phone at 2026-11-23 09:10 CST" in " ".join(r.stdout.split()), r.stdout
    r = cli("cases", "list", "--status", "all", *base, cwd=tmp_path)
    assert r.returncode == 0 and number in r.stdout
    r = cli("cases", "open", "--channel", "fax", "--reporter", "x", "-m", "y", *base, cwd=tmp_path)
    assert r.returncode == 2 and "fax" in r.stderr and "Traceback" not in r.stderr
    r = cli("cases", "open", "--reporter", "x", "-m", "y", "--reported-at", "yesterday", *base, cwd=tmp_path)
    assert r.returncode == 2 and "a time like 2026-12-01 09:30" in " ".join(r.stderr.split())
    r = cli("cases", "open", "--reporter", "x", "-m", "y", "--level", "7", *base, cwd=tmp_path)
    assert r.returncode == 2 and "level 7: the policy's levels are 1, 2, 3" in r.stderr
    assert "Traceback" not in r.stderr
