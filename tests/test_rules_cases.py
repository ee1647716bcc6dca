"""Rule evaluation (pure) and the case engine (transactions on SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from agent.cases.engine import CaseEngine
from agent.cases.queries import case_history, list_cases
from agent.inventory import Threshold
from agent.store.db import open_engine
from agent.store.schema import cases
from checks.evaluate import collection_verdict, evaluate
from checks.rules import load_rules
from core.model import Result, Sample, Status
from core.problems import ConfigError

RULES = load_rules()


def disk(path: str, pct: float, host: str = "db01") -> Sample:
    return Sample("disk", {"host": host, "path": path}, {"used_percent": pct, "total": 100}, 10**18)


@pytest.mark.parametrize(("pct", "status"), [(84.99, Status.OK), (85, Status.WARN),
                                            (94.9, Status.WARN), (95, Status.CRIT)])
def test_default_disk_thresholds(pct: float, status: Status) -> None:
    (v,) = evaluate([disk("/", pct)], "db01", RULES)
    assert v.status is status and v.instance == "/" and v.value == pct
    assert v.threshold == "warn >= 85%, crit >= 95%"
    assert v.level == {Status.OK: None, Status.WARN: 3, Status.CRIT: 2}[status]


def test_override_per_device() -> None:
    over = {"disk_used_percent": Threshold(warn=70, crit=80)}
    (v,) = evaluate([disk("/u01", 75)], "db01", RULES, over)
    assert v.status is Status.WARN and "warn >= 70%" in v.threshold
    (v,) = evaluate([disk("/u01", 75)], "db01", RULES, {"disk_used_percent": Threshold(crit=75)})
    assert v.status is Status.CRIT and "warn >= 85%, crit >= 75%" in v.threshold


def test_other_measurements_ignored() -> None:
    assert evaluate([Sample("net", {"host": "a"}, {"used_percent": 99.0}, 1)], "a", RULES) == []


def test_failed_collection_is_unknown_never_ok() -> None:
    r = Result("db01", "linux", Status.UNKNOWN, reason="connection refused by 1.2.3.4:22")
    v = collection_verdict(r, RULES)
    assert v.status is Status.UNKNOWN and "connection refused" in v.message
    assert v.check == "collect.linux" and v.level == 3


def test_rules_file_mistake_named(tmp_path: Path) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text("rules:\n  - name: disk\n    measurement: disk\n    field: used_percent\n"
                 "    warn: 90\n    crit: 80\n    levles: {warn: 3}\n")
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    text = str(e.value)
    assert "rules.0.levles" in text.replace("[0]", ".0") or "rules[0].levles" in text


def test_case_opens_updates_resolves(tmp_path: Path) -> None:
    engine = open_engine(tmp_path)
    clock = iter(range(1_800_000_000, 1_800_000_100)).__next__
    ce = CaseEngine(engine, clock=lambda: float(clock()))
    (kind, case), = ce.apply(evaluate([disk("/", 90)], "db01", RULES))
    assert kind == "open" and case.status == "open" and case.level == 3
    assert case.number.startswith("F-") and case.number.endswith("-0001")
    assert ce.apply(evaluate([disk("/", 91)], "db01", RULES)) == []  # same severity: no event
    (kind, case), = ce.apply(evaluate([disk("/", 96)], "db01", RULES))
    assert kind == "update" and case.level == 2 and case.severity == "crit"
    assert len(list_cases(engine)) == 1  # still one case for db01 + disk /
    ce.apply(evaluate([disk("/var", 99)], "db01", RULES))  # another instance, another case
    assert len(list_cases(engine)) == 2
    (kind, case), = ce.apply(evaluate([disk("/", 10)], "db01", RULES))
    assert kind == "resolve" and case.resolved_by == "system" and case.status == "resolved"
    assert [c.instance for c in list_cases(engine)] == ["/var"]
    kinds = [e["kind"] for e in case_history(engine, case.number)]
    assert kinds == ["open", "update", "resolve"]
    # the same fault again within the reopen window reopens the same case
    changes = ce.apply(evaluate([disk("/", 90)], "db01", RULES))
    assert [k for k, _ in changes] == ["reopen", "update"]
    assert {c.number for _, c in changes} == {case.number} and changes[-1][1].status == "open"


def test_database_refuses_a_second_open_case(tmp_path: Path) -> None:
    engine = open_engine(tmp_path)
    CaseEngine(engine).apply(evaluate([disk("/", 90)], "db01", RULES))
    with engine.begin() as conn:
        row = conn.execute(select(cases)).one()._asdict()
    row.pop("id")
    row["number"] = "F-dup"
    with pytest.raises(Exception, match="UNIQUE"), engine.begin() as conn:
        conn.execute(cases.insert().values(**row))


def test_state_rule_maps_text_values() -> None:
    from checks.rules import RuleSet

    rs = RuleSet.model_validate({"rules": [{
        "name": "wls_state", "description": "WebLogic server", "measurement": "weblogic",
        "field": "state", "instance_tag": "server",
        "states": {"RUNNING": "ok", "ADMIN": "warn", "FAILED": "crit"},
        "levels": {"warn": 3, "crit": 1, "unknown": 2}}]})

    def judge(state: str) -> tuple[Status, int | None, str]:
        (v,) = evaluate([Sample("weblogic", {"server": "AdminServer"}, {"state": state}, 10**18)],
                        "app01", rs)
        return v.status, v.level, v.message

    assert judge("RUNNING")[:2] == (Status.OK, None)
    assert judge("ADMIN")[:2] == (Status.WARN, 3)
    status, level, message = judge("FAILED")
    assert (status, level) == (Status.CRIT, 1)
    assert message == "WebLogic server AdminServer: FAILED (expected RUNNING)"
    assert judge("SHUTDOWN")[:2] == (Status.UNKNOWN, 2)  # not listed: `other`
