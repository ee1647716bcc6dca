"""Auto-remediation, opt-in per rule: disk over the threshold → clean-logs with fixed
parameters, at most once per window per device, recorded on the case, case kept open."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.cases.queries import case_history, list_cases
from agent.inventory import load_inventory
from agent.pipeline import Pipeline
from agent.playbook.audit import history
from agent.playbook.auto import AutoRemediator, check_rules
from agent.playbook.catalog import load_catalog
from agent.store.db import open_engine
from checks.rules import RuleSet
from core.model import Result, Sample, Status, now_ns
from core.problems import ConfigError
from tests.playbook_env import give, inventory, listing, workspace, write_file

pytestmark = pytest.mark.peers


def rules(remediate: dict[str, object] | None) -> RuleSet:
    return RuleSet.model_validate({"rules": [{
        "name": "disk_used_percent", "measurement": "disk", "field": "used_percent",
        "instance_tag": "path", "unit": "%", "warn": 85, "crit": 95, "remediate": remediate}]})


def disk(used: float) -> Result:
    return Result("testhost", "linux", Status.OK,
                  [Sample("disk", {"path": "/"}, {"used_percent": used}, now_ns())], started_at=time.time())


def test_disk_breach_runs_clean_logs_once_per_window(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        now = time.time()
        for i in range(4):
            write_file(ws / "logs" / f"app.log.{i}", 100, 10 + i, now)
        give(ws, ssh_peer.user)
        inv = load_inventory(inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]}))
        engine = open_engine(tmp_path / "var")
        ruleset = rules({"playbook": "clean-logs", "params": {"older_than_days": 7, "keep_newest": 1},
                         "at_most_every": "1h"})
        auto = AutoRemediator(engine, tmp_path / "var", ZoneInfo("UTC"), poll_interval=0.1)
        pipe = Pipeline(engine, inv, ruleset, [], after_cases=auto)

        pipe.handle(disk(90.0))  # warn only: not this rule's trigger (crit)
        assert history(engine) == []
        pipe.handle(disk(97.0))
        runs = history(engine)
        assert [(r["mode"], r["result"], r["actor"]) for r in runs] == [("apply", "ok", "auto:disk_used_percent")]
        assert set(listing(ws)) == {"logs", "logs/app.log.0"}
        (case,) = list_cases(engine, "open")
        assert runs[0]["case_number"] == case.number
        events = [e for e in case_history(engine, case.number) if e["kind"] == "remediation"]
        assert len(events) == 1 and events[0]["detail"]["bytes_freed"] == 300

        pipe.handle(disk(97.0))  # still over: the case stays open, no second run inside the window
        assert len(history(engine)) == 1
        assert [c.number for c in list_cases(engine, "open")] == [case.number]


def test_remediate_must_name_a_known_playbook_and_its_parameters() -> None:
    with pytest.raises(ConfigError) as e:
        check_rules(rules({"playbook": "clean-everything"}), load_catalog(), "rules.yaml")
    assert "rules.yaml: rules[0].remediate.playbook: no playbook 'clean-everything'" in str(e.value)
    with pytest.raises(ConfigError, match="clean-logs takes no colour"):
        check_rules(rules({"playbook": "clean-logs", "params": {"colour": "red"}}), load_catalog())
