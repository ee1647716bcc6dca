"""Level schemes per contract: three levels (一级/二级/三级) by default, four or five (A 紧急 …
E 轻微) per SLA policy, renamed in both languages if the contract says so; what is wrong is
named; the CLI and the fault report show the scheme's names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.cases.queries import get_case
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from reports.fault import render_fault_report
from tests.helpers import cli
from tests.test_case_engine import Clock, t

LIMIT = {"response": "30m", "repair": "4h"}
FIVE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "sla": {"county": {"scheme": "five", "names": {5: {"zh-CN": "E 提示", "en": "E notice"}},
                       "levels": {lv: LIMIT for lv in range(1, 6)}}},
    "cases": {"policy": "county"},
}


def test_a_five_level_policy_escalates_and_reports_in_its_names(store: str) -> None:
    policy = load_case_policy(FIVE, "xunjian.yaml")
    sla = policy.sla("county")
    assert [sla.level_name(lv) for lv in range(1, 6)] == ["A 紧急", "B 严重", "C 较重", "D 一般", "E 提示"]
    assert sla.level_name(2, "en") == "B critical"
    clock = Clock("2026-11-23 09:00")
    ce = CaseEngine(open_engine(store), policy, {}, clock)
    (_, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=5)])
    assert case.level == 5
    clock.at("2026-11-23 10:05")  # 09:30 missed → D from 09:30, 10:00 missed → C from 10:00
    assert [k for k, _ in ce.tick()] == ["breach", "escalate", "breach", "escalate"]
    c = get_case(ce.engine, case.number)
    assert c is not None and c.level == 3 and c.response_due == t("2026-11-23 10:30")
    raw = render_fault_report(ce.engine, policy, case.number, "md", "zh-CN", now=clock())
    assert raw is not None
    zh = raw.decode()
    assert "| 故障等级 | C 较重 |" in zh and "| 初始等级 | E 提示 |" in zh and "D 一般" in zh, zh
    raw = render_fault_report(ce.engine, policy, case.number, "html", "en", now=clock())
    assert raw is not None and "C major" in raw.decode() and "E notice" in raw.decode()


@pytest.mark.parametrize(("policy", "place", "expected"), [
    ({"scheme": "five", "levels": {lv: LIMIT for lv in range(1, 5)}}, "sla.county.levels",
     "level 5 missing (a policy sets every level of its scheme; scheme five has levels 1 to 5: A 紧急 … E 轻微)"),
    ({"scheme": "four", "levels": {lv: LIMIT for lv in range(1, 6)}}, "sla.county.levels[5]",
     "level 5 is not in the policy's scheme (scheme four has levels 1 to 4"),
    ({"scheme": "six", "levels": {1: LIMIT}}, "sla.county.scheme", "'three', 'four' or 'five'"),
    ({"names": {2: {"zh-CN": "乙"}}, "levels": {lv: LIMIT for lv in range(1, 4)}}, "sla.county.names[2].en",
     "required"),
    ({"names": {4: {"zh-CN": "丁", "en": "D"}}, "levels": {lv: LIMIT for lv in range(1, 4)}},
     "sla.county.names[4]", "level 4 is not in the policy's scheme"),
    ({"scheme": "four", "escalate_step": 4, "levels": {lv: LIMIT for lv in range(1, 5)}},
     "sla.county.escalate_step", "at most 3 with 4 levels (scheme four)"),
])
def test_a_bad_scheme_is_named(policy: dict[str, Any], place: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_case_policy({**FIVE, "sla": {"county": policy}}, "xunjian.yaml")
    problems = [(p.place, p.expected) for p in e.value.problems]
    assert any(p == place and expected in w for p, w in problems), problems


def test_the_cli_shows_the_schemes_names(tmp_path: Path) -> None:
    cfg = {**FIVE, "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = cli("cases", "open", "--reporter", "Li", "-m", "no picture", "--level", "2", "-d", "enc-07",
            "-c", "xunjian.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "B 严重" in r.stdout, r.stdout + r.stderr
    r = cli("cases", "list", "-c", "xunjian.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "B 严重" in r.stdout, r.stdout
    r = cli("cases", "list", "--level", "5", "-c", "xunjian.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "no open cases" in r.stdout, r.stdout + r.stderr
