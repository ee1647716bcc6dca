"""Times for people are in the configured time zone with the zone shown, whatever the host's zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.store.db import open_engine
from core.model import Status, Verdict
from tests.helpers import cli


def test_cases_list_and_show_use_the_configured_zone(tmp_path: Path) -> None:
    cfg = {"timezone": "Asia/Shanghai", "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    opened = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp()  # 07:30 on 1 Dec in Shanghai
    engine = CaseEngine(open_engine(tmp_path / "var"), load_case_policy(cfg, "xunjian.yaml"), {}, lambda: opened)
    (_, case), = engine.apply([Verdict("db01", "disk_used_percent", Status.CRIT, "/u01", 97.0, "%",
                                       "crit >= 95%", "/u01 97%", level=2)])
    env = {"TZ": "America/New_York"}  # the host's zone must not matter
    r = cli("cases", "list", "-c", "xunjian.yaml", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "2026-12-01 07:30 CST" in r.stdout, r.stdout
    r = cli("cases", "show", case.number, "-c", "xunjian.yaml", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "2026-12-01 07:30:00 CST" in r.stdout and "2026-11-30" not in r.stdout, r.stdout
