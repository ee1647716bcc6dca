"""Planned work (计划性工作): the contract's scheduled inspections made as plans once per period,
on working days; approval, notice, completion and the report-delivery clock; every lapse a case on
the device xunjian that resolves when the step is done; `xunjian plans` on the command line."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cases.engine import CaseEngine
from agent.cases.plans import CHECK, SELF, PlanChecks, PlanError, Plans
from agent.cases.policy import load_case_policy
from agent.cases.queries import list_cases
from agent.store.db import open_engine
from core.problems import ConfigError
from tests.helpers import cli
from tests.test_case_engine import CONFIG, Clock

PLANS = {
    "monthly": {"title": "月度巡检 {period} / monthly visit", "every": "month", "day": 1, "calendar": "office",
                "report_within": 3},
    "quarterly": {"title": "季度巡检 {period} / quarterly inspection", "every": "quarter", "day": 15,
                  "calendar": "office", "approval": True, "notify_sites": True, "remind_before": 5,
                  "groups": ["core"]},
}


def config(plans: dict[str, Any] = PLANS) -> dict[str, Any]:
    cfg = copy.deepcopy(CONFIG)
    cfg["plans"] = plans
    return cfg


def desk(store: str, start: str) -> tuple[CaseEngine, Plans, Clock]:
    clock = Clock(start)
    policy = load_case_policy(config(), "x.yaml")
    ce = CaseEngine(open_engine(store), policy, {}, clock)
    return ce, Plans(ce.engine, policy.plans, policy.tz), clock


def test_schedules_make_each_period_once_on_a_working_day(store: str) -> None:
    _, plans, clock = desk(store, "2026-09-20 09:00")
    made = plans.generate(clock())
    assert plans.generate(clock()) == []  # once per schedule and period
    by = {(p.schedule, p.period): p for p in made}
    # October 1st-8th are holidays on "office": the monthly visit moves to the 9th
    assert by[("monthly", "2026-10")].planned_for == "2026-10-09"
    assert by[("monthly", "2026-11")].planned_for == "2026-11-02"  # the 1st is a Sunday
    assert by[("monthly", "2026-10")].title == "月度巡检 2026-10 / monthly visit"
    assert by[("quarterly", "2026Q4")].planned_for == "2026-10-15"
    assert not [p for p in made if p.planned_for < "2026-09-20"]  # not planned after the fact
    assert by[("quarterly", "2026Q4")].scope == {"devices": [], "groups": ["core"]}
    assert len({p.number for p in made}) == len(made)


def test_every_lapse_is_a_case_that_the_step_resolves(store: str) -> None:
    ce, plans, clock = desk(store, "2026-10-01 09:00")
    checks = PlanChecks()

    def tick(of: str = "2026Q4") -> list[Any]:
        ce.apply(checks.due(ce.engine, plans.schedules, plans.tz, clock()))
        mine = {p.number for p in plans.between(date(2026, 10, 1), date(2026, 12, 31)) if p.period == of}
        return [c for c in list_cases(ce.engine, "open")
                if c.device == SELF and c.check == CHECK and c.instance in mine]

    assert tick() == []  # the quarter's inspection (10-15) is more than 5 working days away
    q4 = next(p for p in plans.between(date(2026, 10, 1), date(2026, 12, 31)) if p.period == "2026Q4")
    clock.at("2026-10-09 09:00")  # 5 working days before the 15th (the 10th is a make-up Saturday)
    (case,) = tick()
    assert case.instance == q4.number and "not approved" in case.message and case.level == 3
    plans.act(q4.number, "approve", "customer.zhao", clock())
    (case,) = tick()
    assert "sites not told" in case.message  # the same case, its next lapse
    plans.act(q4.number, "notify", "li.na", clock())
    assert tick() == []  # resolved
    with pytest.raises(PlanError, match="the report follows the work"):
        plans.act(q4.number, "reported", "li.na", clock(), report="XJ-R-2026-0007")
    clock.at("2026-10-16 09:00")
    (case,) = tick()
    assert "not done" in case.message
    (monthly,) = tick("2026-10")  # the monthly visit of the 9th was not done either
    assert "monthly visit" in monthly.message and "planned 2026-10-09" in monthly.message
    clock.at("2026-10-16 16:00")
    done = plans.act(q4.number, "done", "zhang.wei", clock())
    assert done.report_due == "2026-10-21"  # three working days after the 16th (a Friday)
    assert tick() == []
    clock.at("2026-10-22 09:00")
    (case,) = tick()
    assert "report not delivered" in case.message and "2026-10-21" in case.message
    plans.act(q4.number, "reported", "zhang.wei", clock(), report="XJ-R-2026-0007")
    assert tick() == []


def test_plans_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "var"
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump({**config({}), "data_dir": str(data)}),
                                           encoding="utf-8")
    base = ["-c", str(tmp_path / "xunjian.yaml")]
    r = cli("plans", "add", "--title", "春节前专项巡检", "--on", "2027-02-01", "--approval", "--format", "json",
            *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    number = json.loads(r.stdout)["plan"]["number"]
    assert number == "P-202702-001"
    r = cli("plans", "done", number, *base, cwd=tmp_path)
    assert r.returncode == 2 and "not approved yet" in r.stderr and "Traceback" not in r.stderr
    assert cli("plans", "approve", number, "--as", "customer.zhao", *base, cwd=tmp_path).returncode == 0
    r = cli("plans", "done", number, *base, cwd=tmp_path)
    assert r.returncode == 0 and f"{number}: done → done, report due" in r.stdout, r.stderr
    r = cli("plans", "list", "--from", "2027-01-01", "--to", "2027-03-01", "--format", "json", *base, cwd=tmp_path)
    (plan,) = json.loads(r.stdout)["plans"]
    assert plan["status"] == "done" and plan["approved_by"] == "customer.zhao" and plan["lapse"] == ""
    r = cli("plans", "cancel", number, "--note", "", *base, cwd=tmp_path)
    assert r.returncode == 2 and "say why" in r.stderr
    r = cli("plans", "approve", "P-000000-999", *base, cwd=tmp_path)
    assert r.returncode == 2 and "no plan P-000000-999" in r.stderr


@pytest.mark.parametrize(("plans", "where", "said"), [
    ({"q": {"title": "x", "every": "fortnight"}}, "plans.q.every", "month"),
    ({"q": {"title": "x", "every": "month", "calendar": "nope"}}, "plans.q.calendar", "a calendar defined"),
    ({"q": {"every": "month"}}, "plans.q.title", "required key is missing"),
])
def test_schedules_are_validated(plans: dict[str, Any], where: str, said: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_case_policy(config(plans), "x.yaml")
    assert where in str(e.value) and said in str(e.value), str(e.value)


def test_the_documented_schedules_load() -> None:
    from tests.helpers import user_docs

    text = user_docs()
    start = text.index("plans:                               # planned work")
    block = text[start:text.index("```", start)]
    policy = load_case_policy({**CONFIG, **yaml.safe_load(block)}, "docs/cases.md")
    assert set(policy.plans) == {"monthly", "quarterly"} and policy.plans["quarterly"].spec.approval
