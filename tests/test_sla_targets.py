"""The contract's targets compared (`targets:` on a policy): the handling rate, on-time response
and repair per level, on-time changes — each shortfall named with its cases, in `xunjian sla`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cases.engine import CaseEngine
from agent.cases.intake import Intake
from agent.cases.policy import load_case_policy
from agent.cases.queries import list_cases
from agent.cases.targets import compare
from agent.store.db import open_engine
from core.problems import ConfigError
from tests.helpers import cli
from tests.test_case_engine import CONFIG, Clock, fault, t

TARGETS = {"handling_rate": "100%", "response": {1: "95%", 3: "90%"}, "repair": {3: 0.9},
           "classes": {"change": "85%"}}


def config(targets: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(CONFIG)
    cfg["sla"]["contract"]["targets"] = targets
    cfg["sla"]["contract"]["classes"] = {"change": {"repair": "5d"}}
    return cfg


def month(store: str) -> tuple[CaseEngine, list[str]]:
    """November: three L3 faults (one answered late, one never resolved) and a change request
    done in time."""
    clock = Clock("2026-11-02 09:00")
    ce = CaseEngine(open_engine(store), load_case_policy(config(TARGETS), "x.yaml"), {}, clock)
    numbers = []
    for i, dev in enumerate(("db01", "db02", "db03")):
        clock.at(f"2026-11-0{2 + i} 09:00")
        (_, c), = ce.apply([fault(dev)])
        numbers.append(c.number)
    clock.at("2026-11-02 10:00")
    ce.act(numbers[0], "ack", "zhang.wei")
    clock.at("2026-11-03 12:00")  # 3 h: response (2 h) missed
    ce.act(numbers[1], "ack", "zhang.wei")
    clock.at("2026-11-04 09:30")
    ce.act(numbers[2], "ack", "zhang.wei")
    clock.at("2026-11-05 10:00")
    ce.act(numbers[0], "resolve", "zhang.wei")
    ce.act(numbers[1], "resolve", "zhang.wei")
    clock.at("2026-11-10 09:00")
    (_, change), = ce.report(Intake(channel="phone", reporter="li.na", description="add a VLAN",
                                    reported_at=clock(), request_class="change"), "desk.wang")
    clock.at("2026-11-11 09:00")
    ce.act(change.number, "resolve", "zhang.wei")
    return ce, [*numbers, change.number]


def test_targets_compared_with_every_shortfall_named(store: str) -> None:
    ce, (_, late, unhandled, _) = month(store)
    found = list_cases(ce.engine, "all", since=t("2026-11-01 00:00"), until=t("2026-12-01 00:00"))
    rows = {r["target"]: r for r in compare(ce.policy, found, t("2026-12-01 00:00"), t("2026-12-02 00:00"))}
    assert rows["handling rate"] == {"policy": "contract", "target": "handling rate", "wanted": 1.0,
                                     "actual": 0.75, "counted": 4, "met": False, "short": [unhandled]}
    assert (rows["response L3"]["actual"], rows["response L3"]["met"], rows["response L3"]["short"]) == (
        round(2 / 3, 4), False, [late])
    assert rows["response L1"]["met"] is None and rows["response L1"]["counted"] == 0  # no such cases
    assert rows["on-time change"]["met"] is True and rows["on-time change"]["actual"] == 1.0
    assert set(rows) == {"handling rate", "response L1", "response L3", "repair L3", "on-time change"}


def test_sla_prints_the_targets_and_the_definition(tmp_path: Path) -> None:
    data = tmp_path / "var"
    month(str(data))
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump({**config(TARGETS), "data_dir": str(data)}),
                                           encoding="utf-8")
    base = ["-c", str(tmp_path / "xunjian.yaml")]
    r = cli("sla", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [x["target"] for x in doc["targets"] if x["met"] is False] == ["handling rate", "response L3", "repair L3"]
    assert "resolved or closed" in doc["handling_rate_definition"]
    r = cli("sla", "--from", "2026-11-01", "--to", "2026-11-30", *base, cwd=tmp_path)
    assert "target handling rate ≥ 100% (contract): 75% of 4, MISSED — short:" in r.stdout, r.stdout
    assert "handling rate = cases of the period resolved or closed" in r.stdout


@pytest.mark.parametrize(("targets", "where", "said"), [
    ({"handling_rate": "lots"}, "sla.contract.targets.handling_rate", "a percentage like 95%"),
    ({"response": {1: "120%"}}, "sla.contract.targets.response[1]", "between 0% and 100%"),
    ({"repair": {9: "90%"}}, "sla.contract.targets.repair", "unknown level 9"),
])
def test_targets_are_validated(targets: dict[str, Any], where: str, said: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_case_policy(config(targets), "x.yaml")
    assert where in str(e.value) and said in str(e.value), str(e.value)
