"""An outage longer than the contract allows raises the case (one contract: an interruption of
over 1 h is level 1): `outage: [{after: …, level: …}]` on an SLA policy."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.cases.queries import case_history, get_case
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from tests.test_case_engine import CONFIG, Clock, t


def config(outage: list[dict[str, Any]]) -> dict[str, Any]:
    cfg = copy.deepcopy(CONFIG)
    cfg["sla"]["contract"]["outage"] = outage
    return cfg


def test_a_long_outage_is_raised_and_its_clocks_restart_when_the_step_passed(store: str) -> None:
    clock = Clock("2026-11-23 10:00")
    policy = load_case_policy(config([{"after": "30m", "level": 2}, {"after": "1h", "level": 1}]), "x.yaml")
    ce = CaseEngine(open_engine(store), policy, {}, clock)
    (_, case), = ce.apply([Verdict("enc-07", "collect.device", Status.UNKNOWN, "", None, "", "", "timed out",
                                   level=3)])
    (_, disk), = ce.apply([Verdict("db01", "disk_used_percent", Status.CRIT, "/u01", 97.0, level=3)])
    clock.at("2026-11-23 10:20")
    ce.act(case.number, "ack", "zhang.wei")
    clock.at("2026-11-23 11:05")  # a late check: both steps passed; the longest wins, from 11:00
    ce.tick()
    now = get_case(ce.engine, case.number)
    assert now is not None and now.level == 1 and now.opened_level == 3
    assert now.repair_due == t("2026-11-23 17:00")  # level 1: 6 h round the clock, from 11:00
    (raised,) = [e for e in case_history(ce.engine, case.number) if e["kind"] == "escalate"]
    assert raised["detail"]["reason"] == "outage longer than 1h" and raised["detail"]["clocks_from"] == t(
        "2026-11-23 11:00")
    other = get_case(ce.engine, disk.number)  # not an outage: its level stands (its own clocks aside)
    assert other is not None and other.level >= 2
    clock.at("2026-11-23 12:00")
    ce.tick()
    assert [e["kind"] for e in case_history(ce.engine, case.number)].count("escalate") == 1


def test_outage_steps_are_validated() -> None:
    with pytest.raises(ConfigError) as e:
        load_case_policy(config([{"after": "soon", "level": 1}, {"after": "1h", "level": 4}]), "x.yaml")
    text = str(e.value)
    assert "sla.contract.outage[0].after" in text and "expected a duration" in text
    assert "sla.contract.outage[1].level" in text and "not in the policy's scheme" in text
