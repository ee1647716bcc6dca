"""All five server collectors in one `xunjian inspect`, twice, through the real sshd: the
second run remembers the first through the store (log positions, checksums, boot time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.sshdev import give, write_inventory
from tests.test_oracle import FAKE_SQLPLUS

ORACLE = Path(__file__).resolve().parents[1] / "collectors" / "oracle" / "testdata" / "parse_output"
pytestmark = pytest.mark.peers


def rows(tmp_path: Path, inv: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json")
    doc = json.loads(r.stdout)
    return {(x["check"], x["instance"]): x for x in doc["results"]}


def test_inspect_with_every_server_collector(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    home = remote_dir / "oh"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "sqlplus").write_text(FAKE_SQLPLUS)
    (home / "answer").write_text((ORACLE / "12c_cdb.txt").read_text())
    (home / "status").write_text("0")
    for p, mode in ((home, 0o755), (home / "bin", 0o755), (home / "bin" / "sqlplus", 0o755),
                    (home / "answer", 0o644), (home / "status", 0o644)):
        give(p, ssh_peer, mode)
    alert = remote_dir / "alert_CDB1.log"
    alert.write_text("Starting ORACLE instance\n")
    hosts = remote_dir / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    for p in (alert, hosts):
        give(p, ssh_peer)
    inv = write_inventory(tmp_path, ssh_peer, ["linux", "logs", "oracle", "weblogic", "config"], {
        "linux": {"processes": [{"name": "no-such-daemon-xj"}]},
        "logs": {"sources": [{"name": "alert", "path": str(alert), "sets": ["oracle_alert"]}]},
        "oracle": {"oracle_home": str(home), "sid": "CDB1"},
        "weblogic": {"domain_home": str(remote_dir / "nodomain"), "servers": [{"name": "ms1"}]},
        "config": {"files": [str(hosts)]},
    })
    first = rows(tmp_path, inv)
    for c in ("linux", "logs", "oracle", "weblogic", "config"):
        assert first[(f"collect.{c}", "")]["status"] == "ok", first[(f"collect.{c}", "")]
    assert first[("process_missing", "no-such-daemon-xj")]["status"] == "crit"
    assert first[("oracle_tablespace_used_percent", "PDB1/USERS")]["status"] == "crit"
    assert first[("oracle_tablespace_used_percent", "PDB2/USERS")]["status"] == "ok"
    assert first[("weblogic_state", "ms1")]["status"] == "crit"  # no JVM: NOT_RUNNING
    assert first[("log_matches_crit", "alert/ora_internal")]["status"] == "ok"
    assert first[("config_changed", str(hosts))]["status"] == "ok"
    assert first[("system_rebooted", "")]["status"] == "ok"

    # Between the runs: an ORA-00600 in the alert log and an edited hosts file.
    with alert.open("a") as f:
        f.write("ORA-00600: internal error code, arguments: [kcbz], [], []\n")
    hosts.write_text("127.0.0.1 localhost\n10.0.0.9 db-new\n")
    second = rows(tmp_path, inv)
    assert second[("log_matches_crit", "alert/ora_internal")]["status"] == "crit"
    # one line, one verdict at its highest severity: not also a warn for "any ORA- error"
    assert second[("log_matches_warn", "alert/ora_error")]["status"] == "ok"
    assert "ORA-00600: internal error code" in second[("log_matches_crit", "alert/ora_internal")]["evidence"]
    assert second[("config_changed", str(hosts))]["status"] == "warn"
    assert second[("system_rebooted", "")]["status"] == "ok"  # same boot as the first run

    third = rows(tmp_path, inv)  # nothing new: the log line is not counted again
    assert third[("log_matches_crit", "alert/ora_internal")]["status"] == "ok"
    assert third[("config_changed", str(hosts))]["status"] == "ok"
