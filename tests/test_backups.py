"""Backup checks: Oracle RMAN through the real sshd with the fake sqlplus (tests/test_oracle.py)
answering the v$rman_backup_job_details query, and file backups in a directory on the test
host; then the whole path through `xunjian inspect` (samples → rules → cases)."""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.inventory import load_inventory
from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.oracle.backup import samples_of, script
from core.model import Status
from core.problems import ConfigError
from tests.helpers import cli
from tests.sshdev import Cycles, give, one, write_inventory
from tests.test_oracle import answer, fx, oracle_home  # noqa: F401 (a fixture)

HOUR = 3600


def judged(out: list) -> dict[tuple[str, str], Any]:  # type: ignore[type-arg]
    return {(v.check, v.instance): v for v in evaluate(out, "db01", load_rules())}


# -- RMAN: the rules on recorded answers (the parser's cases: collectors/oracle/testdata/backup_*) --

def test_rman_all_recent_is_ok() -> None:
    v = judged(samples_of(fx("rman_ok.txt")))
    assert {k: x.status for k, x in v.items()} == {
        (c, f"PROD/{t}"): Status.OK for t in ("full", "incremental", "archivelog")
        for c in ("backup_status", f"backup_age_{t}")}


def test_rman_failed_too_old_warnings_and_missing() -> None:
    v = judged(samples_of(fx("rman_failed.txt")))
    assert v[("backup_status", "PROD/incremental")].status is Status.CRIT  # latest job FAILED
    assert v[("backup_status", "PROD/incremental")].level == 2
    assert "failed" in v[("backup_status", "PROD/incremental")].message
    assert v[("backup_age_incremental", "PROD/incremental")].status is Status.WARN  # 49.5 h
    assert v[("backup_age_full", "PROD/full")].status is Status.CRIT  # 399.75 h > 360
    assert v[("backup_status", "PROD/archivelog")].status is Status.WARN  # COMPLETED WITH WARNINGS
    # nothing in the window: every expected type is missing (CRIT), not "no news"
    none = judged(samples_of(fx("rman_none.txt")))
    assert {k: x.status for k, x in none.items()} == {
        ("backup_status", f"PROD/{t}"): Status.CRIT for t in ("full", "incremental", "archivelog")}


def test_rman_script_fits_sqlplus_and_hides_nothing_on_argv() -> None:
    s = script('CONNECT mon/"pw"', 35)
    assert max(len(line) for line in s.splitlines()) < 2499
    assert "v$rman_backup_job_details" in s and "SYSDATE - 35" in s and "RMAN_READ" in s


# -- through the real sshd ---------------------------------------------------------------------

@pytest.mark.peers
def test_rman_over_ssh_with_password_on_stdin(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    answer(oracle_home, ssh_peer, "rman_failed.txt")
    inv = write_inventory(tmp_path, ssh_peer, ["oracle_backup"], {"oracle_backup": {
        "oracle_home": str(oracle_home), "sid": "PROD", "user": "xj_monitor", "password": "${secret:pw}"}},
        secrets={"pw": "Rm4n-S3cret"})
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle_backup").run()
    assert r.status is Status.OK, r.reason
    assert one(r.samples, "backup", instance="PROD/incremental").fields["status"] == "failed"
    stdin = (oracle_home / "stdin").read_text()
    assert 'CONNECT xj_monitor/"Rm4n-S3cret"' in stdin and "v$rman_backup_job_details" in stdin
    assert "Rm4n-S3cret" not in (oracle_home / "argv").read_text()
    assert "Rm4n-S3cret" not in json.dumps([s.to_dict() for s in r.samples]) + r.evidence
    answer(oracle_home, ssh_peer, "rman_no_grant.txt", status=174)
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle_backup").run()
    assert r.status is Status.UNKNOWN and "ORA-00942" in r.reason


def backup_dir(remote_dir: Path, ssh_peer: Any, files: dict[str, tuple[int, float]]) -> Path:  # type: ignore[no-untyped-def]
    """Files name → (size, age in hours), owned by the sshd user."""
    d = remote_dir / "dumps"
    d.mkdir(exist_ok=True)
    give(d, ssh_peer, 0o755)
    now = time.time()
    for name, (size, age) in files.items():
        f = d / name
        f.write_bytes(b"x" * size)
        give(f, ssh_peer)
        os.utime(f, (now - age * HOUR, now - age * HOUR))
    return d


@pytest.mark.peers
def test_file_backup_newest_age_size_growth_missing_unreadable(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    d = backup_dir(remote_dir, ssh_peer, {"app_20261205.dmp.gz": (1000, 50), "app_20261206.dmp.gz": (1200, 30),
                                          "other.log": (5, 0.1)})
    locked = remote_dir / "locked"
    locked.mkdir()
    locked.chmod(0o000)
    inv = write_inventory(tmp_path, ssh_peer, ["file_backup"], {"file_backup": {"backups": [
        {"name": "app", "glob": f"{d}/app_*.dmp.gz"},
        {"name": "nothing", "glob": f"{d}/none_*.tar"},
        {"name": "nodir", "glob": f"{remote_dir}/gone/*.tar"},
        {"name": "locked", "glob": f"{locked}/*.tar"}]}})
    cycles = Cycles(load_inventory(inv).devices["testhost"], "file_backup")
    r = cycles.run()
    assert r.status is Status.OK, r.reason
    app = one(r.samples, "backup", instance="app").fields
    assert app["newest"] == f"{d}/app_20261206.dmp.gz" and app["size_bytes"] == 1200 and app["files"] == 2
    assert 29.9 <= float(app["age_hours"]) <= 30.1 and "growth_percent" not in app  # nothing before
    assert one(r.samples, "backup", instance="nothing").fields["status"] == "missing"
    assert one(r.samples, "backup", instance="nodir").fields["note"] == f"directory {remote_dir}/gone does not exist"
    assert one(r.samples, "backup", instance="locked").fields["status"] == "unreadable"
    v = judged(r.samples)
    assert v[("backup_age_file", "app")].status is Status.WARN  # 30 h > 26
    assert v[("backup_status", "nothing")].status is Status.CRIT
    assert v[("backup_status", "locked")].status is Status.UNKNOWN
    # the next night's backup is less than half the size: shrank, CRIT
    backup_dir(remote_dir, ssh_peer, {"app_20261207.dmp.gz": (500, 1)})
    app = one(cycles.run().samples, "backup", instance="app").fields
    assert app["growth_percent"] == round(100 * (500 - 1200) / 1200, 2) and app["previous_size_bytes"] == 1200
    # the same file seen again keeps its comparison with the one before it
    r = cycles.run()
    app = one(r.samples, "backup", instance="app").fields
    assert app["previous_size_bytes"] == 1200
    assert judged(r.samples)[("backup_shrank", "app")].status is Status.CRIT
    # a backup that always rewrites one name is compared with its previous version
    backup_dir(remote_dir, ssh_peer, {"app_20261207.dmp.gz": (1100, 0.5)})
    app = one(cycles.run().samples, "backup", instance="app").fields
    assert app["previous_size_bytes"] == 500 and app["growth_percent"] == 120.0


@pytest.mark.parametrize("glob,words", [("relative/*.tar", "absolute path"), ("/backup/*/x.tar", "wildcards only"),
                                        ("/backup/", "absolute path ending in a file name pattern")])
def test_file_backup_settings_name_the_place(tmp_path: Path, ssh_peer, glob: str, words: str) -> None:  # type: ignore[no-untyped-def]
    inv = write_inventory(tmp_path, ssh_peer, ["file_backup"],
                          {"file_backup": {"backups": [{"name": "x", "glob": glob}]}})
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    text = "\n".join(str(p) for p in e.value.problems)
    assert "devices[0].settings.file_backup.backups.0.glob" in text and words in text, text


# -- end to end: xunjian inspect → samples → rules → cases -------------------------------------

@pytest.mark.peers
def test_inspect_backups_opens_cases(tmp_path: Path, ssh_peer, remote_dir: Path, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    answer(oracle_home, ssh_peer, "rman_failed.txt")
    d = backup_dir(remote_dir, ssh_peer, {"full_1.tar.gz": (4000, 60)})
    inv = write_inventory(tmp_path, ssh_peer, ["oracle_backup", "file_backup"], {
        "oracle_backup": {"oracle_home": str(oracle_home), "sid": "PROD"},
        "file_backup": {"backups": [{"name": "etc", "glob": f"{d}/full_*.tar.gz"}]}})

    def inspect() -> dict[tuple[str, str], Any]:
        r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json", "--record",
                timeout=120)
        assert r.returncode == 2, r.stdout + r.stderr
        return {(x["check"], x["instance"]): x for x in json.loads(r.stdout)["results"]}

    rows = inspect()
    assert rows[("collect.oracle_backup", "")]["status"] == "ok"
    assert rows[("backup_status", "PROD/incremental")]["status"] == "crit"
    assert rows[("backup_age_file", "etc")]["status"] == "crit"  # 60 h
    assert rows[("backup_age_file", "etc")]["value"] == pytest.approx(60, abs=0.1)
    backup_dir(remote_dir, ssh_peer, {"full_2.tar.gz": (1000, 0.5)})
    answer(oracle_home, ssh_peer, "rman_ok.txt")
    rows = inspect()
    assert rows[("backup_shrank", "etc")]["status"] == "crit"
    assert rows[("backup_age_file", "etc")]["status"] == "ok"
    assert rows[("backup_status", "PROD/incremental")]["status"] == "ok"
    cases = json.loads(cli("cases", "list", "--data-dir", str(tmp_path / "var"), "--status", "all",
                           "-f", "json").stdout)["cases"]
    got = {(c["check"], c["instance"]): c["status"] for c in cases}
    assert got[("backup_status", "PROD/incremental")] == "resolved"
    assert got[("backup_age_file", "etc")] == "resolved"
    assert got[("backup_shrank", "etc")] == "open"

    # the periodic report's "备份检查 / Backup checks" from the recorded inspections
    today = date.today()
    period = ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)),
              "-i", str(inv), "--data-dir", str(tmp_path / "var")]
    md = cli("report", "periodic", *period, "-f", "md", "--lang", "en")
    assert md.returncode == 0, md.stderr
    section = md.stdout.split("### Backup checks", 1)[1].split("## 3 ", 1)[0]
    lines = {ln.split(":", 1)[0]: ln for ln in section.splitlines() if ln.startswith("- ")}
    assert set(lines) == {"- testhost etc", "- testhost PROD/full", "- testhost PROD/incremental",
                          "- testhost PROD/archivelog"}
    assert "fail" in lines["- testhost etc"] and "Size change (%) -75" in lines["- testhost etc"]
    assert "Hours since 3.15" in lines["- testhost PROD/incremental"]
    assert "### 备份检查" in cli("report", "periodic", *period, "-f", "md").stdout
    from docx import Document
    from openpyxl import load_workbook
    r = cli("report", "periodic", *period, "-f", "docx", "--lang", "en", "-o", str(tmp_path / "p.docx"))
    assert r.returncode == 0, r.stderr
    doc = Document(str(tmp_path / "p.docx"))
    assert "Backup checks" in [x.text for x in doc.paragraphs if x.style.name.startswith("Heading")]
    r = cli("report", "periodic", *period, "-f", "xlsx", "--lang", "en", "-o", str(tmp_path / "p.xlsx"))
    assert r.returncode == 0, r.stderr
    ws = load_workbook(tmp_path / "p.xlsx")["Backup checks"]
    assert {row[1] for row in ws.iter_rows(min_row=2, values_only=True)} == {
        "etc", "PROD/full", "PROD/incremental", "PROD/archivelog"}
