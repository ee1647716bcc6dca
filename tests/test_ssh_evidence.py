"""Evidence on every check: `inspect --record` on an SSH host keeps, per verdict, the raw
output that verdict was judged on (the df row, the meminfo lines, the sqlplus record, the log
entry) and its collection time — through the real sshd, sqlplus faked on the host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.app import load_app
from agent.store.runs import run_results
from tests.helpers import cli
from tests.sshdev import give, write_inventory
from tests.test_oracle import FAKE_SQLPLUS, answer


@pytest.mark.peers
def test_record_keeps_each_verdicts_own_excerpt(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    home = remote_dir / "oracle"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "sqlplus").write_text(FAKE_SQLPLUS)
    for p, mode in ((home, 0o755), (home / "bin", 0o755), (home / "bin" / "sqlplus", 0o755)):
        give(p, ssh_peer, mode)
    answer(home, ssh_peer, "19c_autoextend.txt")
    log = remote_dir / "alert_PROD.log"
    log.write_text("Mon Dec 07 03:20:41 2026\nORA-01555 caused by SQL statement below (SQL ID: 4fxtg9qq7nq8v):\n"
                   "SELECT * FROM app.orders\n")
    give(log, ssh_peer)
    write_inventory(tmp_path, ssh_peer, ["linux", "oracle", "logs"], {
        "oracle": {"oracle_home": str(home), "sid": "PROD"},
        "logs": {"sources": [{"name": "alert", "path": str(log), "sets": ["oracle_alert"]}],
                 "start_at": "beginning"}})
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\ntimezone: UTC\n")
    r = cli("inspect", "--record", "-f", "json", "-c", str(tmp_path / "xunjian.yaml"))
    assert r.returncode in (0, 1, 2), r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    rows = run_results(load_app(tmp_path / "xunjian.yaml").engine, run_id)
    got = {(x["check_name"], x["instance"]): x for x in rows}

    root = got[("disk_used_percent", "/")]
    lines = root["evidence"].splitlines()
    assert lines[0].startswith("Filesystem") and lines[1].split()[-1] == "/" and len(lines) == 4  # blocks, inodes
    assert " free of " in root["message"] and " on " in root["message"]  # free space and the device
    mem = got[("mem_used_percent", "")]["evidence"]
    assert "MemTotal:" in mem and "MemAvailable:" in mem and "Filesystem" not in mem  # not the df line
    assert "SwapTotal:" in got[("swap_used_percent", "")]["evidence"]
    assert got[("load_per_cpu", "")]["evidence"].startswith("/proc/loadavg")
    ts = got[("oracle_tablespace_used_percent", "APP_IDX")]["evidence"]
    assert ts.splitlines()[-1].startswith("TS|-|APP_IDX|") and "USERS" not in ts
    assert got[("oracle_instance_status", "PROD")]["evidence"].startswith("INST|PROD|OPEN|")
    snapshot = got[("log_matches_warn", "alert/ora_error")]["evidence"]
    assert "ORA-01555 caused by SQL" in snapshot and "SELECT * FROM app.orders" in snapshot
    assert all(x["collected_at"] > 0 for x in rows)
    assert all(x["evidence"] for x in rows), [k for k, x in got.items() if not x["evidence"]]


def test_rule_detail_words_from_the_sample() -> None:
    from checks.detail import render, size
    from checks.evaluate import evaluate
    from checks.rules import Rule, RuleSet
    from core.model import Sample

    assert (size(512), size(1536), size(12.3 * 2**30)) == ("512 B", "1.5 KiB", "12.3 GiB")
    assert render("{free|bytes} free on {device}", {"device": "/dev/sda1"}, {"free": 2**30}) == \
        "1 GiB free on /dev/sda1"
    assert render("{error}", {}, {}) == ""  # nothing to add
    with pytest.raises(ValueError, match=r"\{name\} or \{name\|bytes\}"):
        Rule(name="x", measurement="disk", field="used_percent", detail="{free|kb} free")
    rules = RuleSet(rules=[Rule(name="d", description="Disk", measurement="disk", field="used_percent",
                                instance_tag="path", unit="%", warn=85, detail="{free|bytes} free on {device}")])
    (v,) = evaluate([Sample("disk", {"path": "/u01", "device": "/dev/vg/u01"},
                            {"used_percent": 91.5, "free": 5 * 2**30}, 1, "df row")], "h", rules)
    assert v.message == "Disk /u01: 91.5% (beyond warn >= 85%) — 5 GiB free on /dev/vg/u01"
    assert v.evidence == "df row"
