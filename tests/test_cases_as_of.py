"""`--as-of TIME` on `cases list`, `cases show` and `sla`: the cases as they stood then,
replayed from their events and judged then (through the installed command)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from agent.cases.asof import case_as_of
from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.cases.queries import case_history, cases_as_of, get_case
from agent.store.db import open_engine
from core.model import Status, Verdict
from tests.helpers import cli
from tests.test_case_engine import CONFIG, Clock, t


def history(store: str) -> tuple[CaseEngine, str, str]:
    """db01 L3 opened Mon 10:00, escalated at 12:00 (response missed), acked 12:30, resolved
    14:00; db02 opened 13:00."""
    clock = Clock("2026-11-23 10:00")
    ce = CaseEngine(open_engine(store), load_case_policy(CONFIG, "xunjian.yaml"), {}, clock)
    (_, one), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
    clock.at("2026-11-23 12:00")
    ce.tick()
    clock.at("2026-11-23 12:30")
    ce.act(one.number, "ack", "zhang.wei")
    clock.at("2026-11-23 13:00")
    (_, two), = ce.apply([Verdict("db02", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
    clock.at("2026-11-23 14:00")
    ce.act(one.number, "resolve", "zhang.wei")
    return ce, one.number, two.number


def test_a_case_replayed_at_past_moments(store: str) -> None:
    ce, one, two = history(store)
    case = get_case(ce.engine, one)
    assert case is not None
    events = case_history(ce.engine, one)
    assert case_as_of(case, events, t("2026-11-23 09:59")) is None
    at11 = case_as_of(case, events, t("2026-11-23 11:00"))
    assert at11 is not None and (at11.status, at11.level, at11.response_breached) == ("open", 3, False)
    # 12:10: the tick had raised it; 12:00 judged then, the response was already missed
    at1210 = case_as_of(case, events, t("2026-11-23 12:10"))
    assert at1210 is not None and (at1210.status, at1210.level, at1210.response_breached) == ("open", 2, True)
    assert at1210.response_due == t("2026-11-23 13:00")
    at13 = case_as_of(case, events, t("2026-11-23 13:30"))
    assert at13 is not None and at13.status == "acknowledged" and at13.acknowledged_by == "zhang.wei"
    assert [c.number for c in cases_as_of(ce.engine, t("2026-11-23 12:45"))] == [one]
    assert [c.number for c in cases_as_of(ce.engine, t("2026-11-23 13:30"))] == [one, two]
    assert [c.number for c in cases_as_of(ce.engine, t("2026-11-23 14:30"))] == [two]


def test_as_of_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "var"
    _, one, two = history(str(data))
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump({**CONFIG, "data_dir": str(data)}), encoding="utf-8")
    base = ("-c", "xunjian.yaml")
    r = cli("cases", "list", "--as-of", "2026-11-23 12:45", "--format", "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)["cases"]
    assert [(c["number"], c["status"], c["level"]) for c in got] == [(one, "acknowledged", 2)]
    r = cli("cases", "list", *base, cwd=tmp_path)  # today: only db02 is open
    assert r.returncode == 0 and two in r.stdout and one not in r.stdout
    r = cli("cases", "show", one, "--as-of", "2026-11-23 12:45", *base, cwd=tmp_path)
    assert r.returncode == 0 and "resolve" not in r.stdout and "escalate" in r.stdout, r.stdout
    r = cli("cases", "show", two, "--as-of", "2026-11-23 12:45", *base, cwd=tmp_path)
    assert r.returncode == 2 and "entered after 2026-11-23 12:45" in r.stderr
    r = cli("sla", "--from", "2026-11-23", "--to", "2026-11-23", "--as-of", "2026-11-23 12:45",
            "--format", "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["cases"] == 1 and [b["case"] for b in doc["breaches"]] == [one]
    r = cli("sla", "--from", "2026-11-23", "--to", "2026-11-23", "--format", "json", *base, cwd=tmp_path)
    assert json.loads(r.stdout)["cases"] == 2
    r = cli("cases", "list", "--as-of", "noonish", *base, cwd=tmp_path)
    assert r.returncode == 2 and "a time like" in r.stderr and "Traceback" not in r.stderr


def test_as_of_counts_a_pause_as_the_engine_did(store: str) -> None:
    """L1 (6 h round the clock) opened 10:00, paused 11:00-13:00: repaired by 18:00, not 16:00.
    At 17:00 the case was on time, as the engine saw it then."""
    clock = Clock("2026-11-23 10:00")
    ce = CaseEngine(open_engine(store), load_case_policy(CONFIG, "xunjian.yaml"), {}, clock)
    (_, case), = ce.apply([Verdict("db01", "oracle_instance", Status.CRIT, "ORCL", level=1)])
    clock.at("2026-11-23 10:20")
    ce.act(case.number, "ack", "zhang.wei")
    clock.at("2026-11-23 11:00")
    ce.act(case.number, "pause", "zhang.wei", note="waiting for the vendor's part")
    clock.at("2026-11-23 13:00")
    ce.act(case.number, "resume", "zhang.wei")
    clock.at("2026-11-23 17:00")
    ce.tick()
    now = get_case(ce.engine, case.number)
    assert now is not None and now.repair_due == t("2026-11-23 18:00") and not now.repair_breached
    events = case_history(ce.engine, case.number)
    paused = case_as_of(now, events, t("2026-11-23 12:00"))
    assert paused is not None and paused.paused_at == t("2026-11-23 11:00") and not paused.repair_breached
    at17 = case_as_of(now, events, t("2026-11-23 17:00"))
    assert at17 is not None and at17.repair_due == t("2026-11-23 18:00") and not at17.repair_breached
    at19 = case_as_of(now, events, t("2026-11-23 19:00"))
    assert at19 is not None and at19.repair_breached  # judged then: past the pushed deadline
