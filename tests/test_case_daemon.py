"""End to end through the daemon's path: a sample stream breaches → a case opens → time passes →
it escalates → the value recovers → the case resolves itself → an engineer closes it with the
cause (CLI, --as) → the fault report (CLI) tells it all."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest

import collectors
from agent.app import build_pipeline, load_app
from agent.cases.queries import list_cases
from agent.scheduler import run_once
from core.model import Sample, Target
from tests.helpers import cli

TZ = ZoneInfo("Asia/Shanghai")


class Scripted:
    """Reports the next value of `VALUES` as the used % of /u01 each cycle."""

    VALUES: ClassVar[list[float]] = []

    def collect(self, target: Target, conn: object) -> list[Sample]:
        value = Scripted.VALUES.pop(0)
        return [Sample("disk", {"host": target.name, "path": "/u01", "fstype": "ext4"},
                       {"used_percent": value}, 1)]


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(collectors.COLLECTORS, "scripted",
                        collectors.CollectorSpec("scripted", "local", "test", Scripted))


def t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def test_breach_escalate_recover_close_report(tmp_path: Path, scripted: None) -> None:
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: db01, collectors: [scripted]}\n")
    (tmp_path / "xunjian.yaml").write_text(
        "data_dir: var\ninventory: inventory.yaml\ntimezone: Asia/Shanghai\n"
        "sla:\n  contract:\n    levels:\n"
        "      1: {response: 1h, repair: 6h}\n      2: {response: 1h, repair: 6h}\n"
        "      3: {response: 2h, repair: 12h}\n"
        "cases: {policy: contract}\n")
    app = load_app(tmp_path / "xunjian.yaml")
    now = [t("2026-11-16 09:00")]
    pipeline = build_pipeline(app, influx=False)
    pipeline.clock = lambda: now[0]
    assert pipeline.cases is not None
    pipeline.cases.clock = pipeline.clock
    Scripted.VALUES = [50.0, 91.0, 92.0, 40.0]

    run_once(app.inventory, pipeline)  # 50 %: nothing
    assert cli("cases", "list", "-c", str(tmp_path / "xunjian.yaml"), "-f", "json").stdout.count('"number"') == 0
    now[0] = t("2026-11-16 09:05")
    run_once(app.inventory, pipeline)  # 91 %: WARN → L3 case, response due 11:05
    now[0] = t("2026-11-16 11:05")
    run_once(app.inventory, pipeline)  # still 92 %, response deadline passed: escalates to L2
    now[0] = t("2026-11-16 11:20")
    run_once(app.inventory, pipeline)  # 40 %: recovered → resolved by the system
    pipeline.close()

    cfg = ["-c", str(tmp_path / "xunjian.yaml")]
    listed = json.loads(cli("cases", "list", "--status", "all", "-f", "json", *cfg).stdout)["cases"]
    assert len(listed) == 1
    case = listed[0]
    assert (case["status"], case["resolved_by"], case["opened_level"], case["level"]) == \
        ("resolved", "system", 3, 2)
    assert case["response_breached"] is True
    number = case["number"]
    assert number == "F-20261116-0001"

    r = cli("cases", "close", number, *cfg)
    assert r.returncode == 2 and "needs the cause and the handling" in r.stderr
    r = cli("cases", "close", number, "--as", "wang.fang", "--type", "software",
            "--cause", "RMAN 归档日志未清理", "--handling", "清理归档并调整保留策略", "--loss", "无", *cfg)
    assert r.returncode == 0, r.stderr
    shown = json.loads(cli("cases", "show", number, "-f", "json", *cfg).stdout)
    assert shown["case"]["closed_by"] == "wang.fang"
    assert [e["kind"] for e in shown["events"]] == ["open", "breach", "escalate", "resolve", "close"]

    report = cli("cases", "report", number, *cfg)
    assert report.returncode == 0, report.stderr
    for text in (number, "db01", "disk_used_percent /u01", "三级（次要）", "二级（主要）",
                 "2026-11-16 09:05:00", "2026-11-16 11:20:00", "2小时15分钟", "RMAN 归档日志未清理",
                 "清理归档并调整保留策略", "wang.fang", "超时", "升级"):
        assert text in report.stdout, text
    out = tmp_path / "r.html"
    r = cli("cases", "report", number, "--format", "html", "--lang", "en", "-o", str(out), *cfg)
    assert r.returncode == 0 and "Level 3 (minor)" in out.read_text()

    sla = json.loads(cli("sla", "--from", "2026-11-01", "--to", "2026-11-30", "-f", "json", *cfg).stdout)
    level3 = sla["levels"][2]
    assert level3["cases"] == 1 and level3["response"]["missed"] == 1 and level3["repair"]["met"] == 1
    assert [b["case"] for b in sla["breaches"]] == [number]

    summary = cli("report", "monthly", "--month", "2026-11", "-f", "md", "--lang", "en", *cfg)
    assert summary.returncode == 0, summary.stderr
    assert "Cases: 1; Handled: 1; Handling rate: 100.0%" in summary.stdout
    assert "| Level 3 (minor) | 1 | 1 | 1 | 0.0% | 100.0% |" in summary.stdout
    assert f"- {number} db01 disk_used_percent /u01: Response MISSED, Repair met" in summary.stdout


def test_case_actions_from_the_cli(tmp_path: Path, scripted: None) -> None:
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: db01, collectors: [scripted]}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    Scripted.VALUES = [97.0]
    run_once(app.inventory, pipeline)
    pipeline.close()
    cfg = ["-c", str(tmp_path / "xunjian.yaml")]
    (case,) = json.loads(cli("cases", "list", "-f", "json", *cfg).stdout)["cases"]
    n = case["number"]
    assert case["level"] == 2 and case["severity"] == "crit"
    for args in (["ack", n, "--as", "li", "-m", "on my way"], ["assign", n, "dba-team"],
                 ["note", n, "ordered a disk"], ["pause", n, "-m", "vendor"], ["resume", n],
                 ["resolve", n, "--as", "li"]):
        r = cli("cases", *args, *cfg)
        assert r.returncode == 0, (args, r.stderr)
    r = cli("cases", "ack", n, *cfg)
    assert r.returncode == 2 and "is resolved; ack needs it open" in r.stderr
    r = cli("cases", "show", "F-00000000-0000", *cfg)
    assert r.returncode == 2 and "no case" in r.stderr
    shown = json.loads(cli("cases", "show", n, "-f", "json", *cfg).stdout)
    assert shown["case"]["assignee"] == "dba-team" and shown["case"]["acknowledged_by"] == "li"
    assert [(e["kind"], e["actor"]) for e in shown["events"]][1:3] == [("ack", "li"), ("assign", shown[
        "events"][2]["actor"])]
    assert shown["events"][2]["actor"] not in ("", "li", "system")  # the OS user by default
    none = json.loads(cli("cases", "list", "--level", "1", "--status", "all", "-f", "json", *cfg).stdout)
    assert none["cases"] == []
    assert "ordered a disk" in cli("cases", "show", n, *cfg).stdout


def test_stateful_rules_in_the_pipeline(tmp_path: Path, scripted: None) -> None:
    """for: 2 samples, then hysteresis (clear at 80) decide when the case opens and resolves."""
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: db01, collectors: [scripted]}\n")
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: disk_used_percent\n    clear: {warn: 80}\n    for: {samples: 2}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\nrules: rules.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    now = [t("2026-11-16 09:00")]
    pipeline = build_pipeline(app, influx=False, clock=lambda: now[0])
    Scripted.VALUES = [90.0, 91.0, 84.0, 81.0, 79.0]
    opened = []
    for _ in range(5):
        run_once(app.inventory, pipeline)
        now[0] += 60
        opened.append([c.status for c in list_cases(app.engine, "all")])
    pipeline.close()
    assert opened == [[], ["open"], ["open"], ["open"], ["resolved"]]


def test_inventory_override_with_clear_level(tmp_path: Path, scripted: None) -> None:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - name: db01\n    collectors: [scripted]\n"
        "    thresholds: {disk_used_percent: {warn: 70, clear_warn: 60}}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    Scripted.VALUES = [72.0, 65.0, 59.0]
    states = []
    for _ in range(3):
        run_once(app.inventory, pipeline)
        states.append([c.status for c in list_cases(app.engine, "all")])
    pipeline.close()
    assert states == [["open"], ["open"], ["resolved"]]
