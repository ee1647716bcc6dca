"""Oracle: the rules on the samples of recorded outputs, the parser against garbage, then the
collector through the real sshd with a fake sqlplus that records what it was given. What the
parser makes of each recorded output is data: collectors/oracle/testdata/ (parse_output,
samples), run by tests/test_parser_data.py."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inventory import load_inventory
from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.oracle.collector import samples_of
from collectors.oracle.sql import parse_output, script
from core.model import CollectionError, Status
from core.problems import ConfigError
from tests.sshdev import Cycles, by, give, one, write_inventory

# The recorded sqlplus outputs are the parsers' test data (collectors/oracle/testdata/<parser>/).
FIX = Path(__file__).resolve().parents[1] / "collectors" / "oracle" / "testdata"


def fx(name: str) -> str:
    found = sorted(FIX.glob(f"*/{name}"))
    assert len(found) == 1, f"{name}: {len(found)} files in {FIX}/*/"
    return found[0].read_text()


def test_12c_cdb_per_pdb_and_rule() -> None:
    out = samples_of(fx("12c_cdb.txt"), host="db01", sid="CDB1")
    verdicts = {(v.check, v.instance): v for v in evaluate(out, "db01", load_rules())}
    assert verdicts[("oracle_tablespace_used_percent", "PDB1/USERS")].status is Status.CRIT  # 95 %
    assert verdicts[("oracle_tablespace_used_percent", "PDB1/TEMP")].status is Status.CRIT  # 98.44 %, no autoextend
    assert verdicts[("oracle_tablespace_used_percent", "PDB2/USERS")].status is Status.OK  # 25 % of 2 GB max
    assert verdicts[("oracle_instance_status", "CDB1")].status is Status.OK
    # a tablespace verdict names the tablespace and what is left, with its own sqlplus record
    users = verdicts[("oracle_tablespace_used_percent", "PDB1/USERS")]
    assert "left in tablespace USERS (max " in users.message
    assert users.evidence.splitlines()[-1].startswith("TS|PDB1|USERS|")


@pytest.mark.parametrize("name", ["ora_01034.txt", "ora_1034_unpadded.txt"])
def test_instance_down_is_its_own_verdict_at_level_1(name: str) -> None:
    out = samples_of(fx(name), 1, host="db", sid="ORCL")  # one oracle_instance (testdata/samples/)
    verdicts = evaluate(out, "db", load_rules())
    assert [(v.check, v.instance, v.status, v.level) for v in verdicts] == [
        ("oracle_instance_status", "ORCL", Status.CRIT, 1)]
    assert verdicts[0].message.startswith("Oracle instance ORCL: DOWN")
    assert verdicts[0].message.endswith(("— ORA-01034: ORACLE not available (also ORA-27101)",
                                         "— ORA-1034: ORACLE not available (also ORA-27101)"))  # as printed
    assert "ORA-27101: shared memory realm does not exist" in verdicts[0].evidence


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("TSINF|-0123456789ORA\nYESVPCHrad ")), max_size=300))
def test_parser_never_raises_on_garbage(text: str) -> None:
    with contextlib.suppress(CollectionError):
        parse_output(text, 0)


def test_script_lines_fit_sqlplus() -> None:
    s = script("CONNECT / AS SYSDBA", True)
    assert max(len(line) for line in s.splitlines()) < 2499
    assert "cdb_data_files" in s and "dba_data_files" in s and "v$recovery_file_dest" in s
    assert "dba_registry_sqlpatch" in s and "dba_registry_history" in s and "SQLCODE = -942" in s
    assert "version_full" in s and "-904" in s


# -- through the real sshd with a fake sqlplus ------------------------------------------

FAKE_SQLPLUS = """#!/bin/sh
# A stand-in for sqlplus: records its argv, environment and stdin, prints a recorded answer.
here="$ORACLE_HOME"
printf '%s\\n' "$@" > "$here/argv"
printf '%s|%s|%s\\n' "$ORACLE_SID" "$LANG" "$NLS_LANG" > "$here/env"
cat > "$here/stdin"
cat "$here/answer"
exit "$(cat "$here/status")"
"""


@pytest.fixture
def oracle_home(remote_dir: Path, ssh_peer) -> Path:  # type: ignore[no-untyped-def]
    home = remote_dir / "oracle home"  # a space: the path must be quoted on the remote side
    (home / "bin").mkdir(parents=True)
    give(home, ssh_peer, 0o755)
    give(home / "bin", ssh_peer, 0o755)
    (home / "bin" / "sqlplus").write_text(FAKE_SQLPLUS)
    give(home / "bin" / "sqlplus", ssh_peer, 0o755)
    return home


def answer(home: Path, ssh_peer, fixture: str, status: int = 0) -> None:  # type: ignore[no-untyped-def]
    (home / "answer").write_text(fx(fixture))
    (home / "status").write_text(str(status))
    give(home / "answer", ssh_peer)
    give(home / "status", ssh_peer)


@pytest.mark.peers
def test_sysdba_over_ssh(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]
    answer(oracle_home, ssh_peer, "12c_cdb.txt")
    inv = write_inventory(tmp_path, ssh_peer, ["oracle"],
                          {"oracle": {"oracle_home": str(oracle_home), "sid": "CDB1"}})
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle").run()
    assert r.status is Status.OK, r.reason
    assert one(r.samples, "oracle_tablespace", instance="PDB1/USERS").fields["used_percent"] == 95.0
    assert one(r.samples, "oracle_instance").fields["status"] == "OPEN"
    assert (oracle_home / "argv").read_text().split("\n")[:3] == ["-S", "-L", "/nolog"]
    assert (oracle_home / "env").read_text().strip() == "CDB1|C|AMERICAN_AMERICA.AL32UTF8"
    assert "CONNECT / AS SYSDBA" in (oracle_home / "stdin").read_text()


@pytest.mark.peers
def test_password_goes_over_stdin_only(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]
    answer(oracle_home, ssh_peer, "11g_noncdb.txt")
    inv = write_inventory(tmp_path, ssh_peer, ["oracle"], {"oracle": {
        "oracle_home": str(oracle_home), "sid": "ORCL", "user": "xj_monitor",
        "password": "${secret:ora_pw}"}}, secrets={"ora_pw": "S3cr3t-pw!"})
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle").run()
    assert r.status is Status.OK, r.reason
    assert 'CONNECT xj_monitor/"S3cr3t-pw!"' in (oracle_home / "stdin").read_text()
    assert "S3cr3t-pw!" not in (oracle_home / "argv").read_text()
    assert "S3cr3t-pw!" not in json.dumps([s.to_dict() for s in r.samples])
    # and the CLI's effective settings never show it
    from tests.helpers import cli
    shown = cli("inventory", "check", "-i", str(inv), "--format", "json")
    assert "S3cr3t-pw!" not in shown.stdout + shown.stderr


@pytest.mark.peers
def test_ora_error_over_ssh_is_not_collected(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]
    answer(oracle_home, ssh_peer, "ora_01017.txt", status=1)
    inv = write_inventory(tmp_path, ssh_peer, ["oracle"],
                          {"oracle": {"oracle_home": str(oracle_home), "sid": "ORCL"}})
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle").run()
    assert r.status is Status.UNKNOWN and r.reason.count("ORA-01017") == 1 and not r.samples


@pytest.mark.peers
def test_instance_down_over_ssh_is_one_level_1_case(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]
    from agent.app import build_pipeline, load_app
    from agent.cases.queries import list_cases
    from agent.executor import Executor
    from core.model import Job

    answer(oracle_home, ssh_peer, "19c_autoextend.txt")
    write_inventory(tmp_path, ssh_peer, ["oracle"], {"oracle": {"oracle_home": str(oracle_home), "sid": "PROD"}})
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    device = app.inventory.devices["testhost"]
    before: set[str] = set()
    for fixture, status in (("19c_autoextend.txt", 0), ("ora_01034.txt", 1), ("ora_01034.txt", 1)):
        answer(oracle_home, ssh_peer, fixture, status)
        r = Executor(pipeline.load_state).run(Job("testhost", "oracle"), device)
        verdicts = pipeline.handle(r)
        before = before or {c.number for c in list_cases(app.engine)}  # APP_IDX at 90 %: a real one
    assert r.status is Status.OK, r.reason  # collected: the instance answered that it is down
    bad = [v for v in verdicts if v.status is not Status.OK]
    assert [(v.check, v.instance, v.level) for v in bad] == [("oracle_instance_status", "PROD", 1)]
    cases = [c for c in list_cases(app.engine) if c.is_open and c.number not in before]
    assert [(c.check, c.instance, c.level) for c in cases] == [("oracle_instance_status", "PROD", 1)]
    assert "PROD: DOWN" in cases[0].message and "ORA-01034: ORACLE not available" in cases[0].message
    from agent.cases.queries import case_history
    opened = next(e for e in case_history(app.engine, cases[0].number) if e["kind"] == "open")
    assert "ORA-27101: shared memory realm does not exist" in opened["detail"]["evidence"]  # into the ticket
    pipeline.close()


@pytest.mark.peers
def test_missing_sqlplus_is_not_collected(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    inv = write_inventory(tmp_path, ssh_peer, ["oracle"],
                          {"oracle": {"oracle_home": str(remote_dir / "nohome"), "sid": "ORCL"}})
    r = Cycles(load_inventory(inv).devices["testhost"], "oracle").run()
    assert r.status is Status.UNKNOWN and "exited 127" in r.reason
    assert "NLS_LANG" not in r.reason and "export" not in r.reason  # never the command line


def test_settings_validation_names_the_place(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    inv = write_inventory(tmp_path, ssh_peer, ["oracle"], {"oracle": {
        "oracle_home": "relative/path", "sid": "ORCL", "user": "u", "password": "literal"}})
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    text = str(e.value) + " ".join(str(p) for p in getattr(e.value, "problems", []))
    assert "settings.oracle.password" in text


def test_family_readme_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "collectors" / "oracle" / "README.md").read_text()
    block = readme.split("## Settings", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: db01\n    address: 10.1.2.11\n    ssh: {user: oracle}\n" + block)
    dev = load_inventory(inv).devices["db01"]
    assert dev.settings["oracle"].sid == "ORCL" and dev.settings["oracle"].user is None
    assert dev.settings["oracle_backup"].expect == ["full", "incremental", "archivelog"]
    assert [(q.name, q.expect) for q in dev.settings["sqlplus_probe"].queries] == [("orders", "3")]


def test_mounted_standby_reports_instance_and_says_partial() -> None:
    out = samples_of(fx("mounted_standby.txt"), host="db", sid="STBY")  # samples: testdata/samples/
    verdicts = {(v.check, v.instance): v.status for v in evaluate(out, "db", load_rules())}
    # a physical standby is mounted by design: not a fault; its unread tablespaces are said
    assert verdicts[("oracle_instance_status", "STBY")] is Status.OK
    assert verdicts[("oracle_tablespaces_collected", "STBY")] is Status.UNKNOWN
    primary = samples_of(fx("mounted_standby.txt").replace("PHYSICAL STANDBY", "PRIMARY"), sid="X")
    assert {v.check: v.status for v in evaluate(primary, "db", load_rules())}["oracle_instance_status"] is Status.CRIT
    assert verdicts[("oracle_fra_used_percent", "/u01/app/oracle/fast_recovery_area")] is Status.OK


@pytest.mark.peers
def test_a_new_patch_over_ssh_is_an_asset_change_case(tmp_path: Path, ssh_peer, oracle_home: Path) -> None:  # type: ignore[no-untyped-def]
    from agent.app import build_pipeline, load_app
    from agent.cases.queries import list_cases
    from agent.executor import Executor
    from agent.store.assets import asset_history, list_assets
    from core.model import Job

    write_inventory(tmp_path, ssh_peer, ["oracle"], {"oracle": {"oracle_home": str(oracle_home), "sid": "PROD"}})
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    device = app.inventory.devices["testhost"]

    def run() -> tuple:  # type: ignore[type-arg]
        r = Executor(pipeline.load_state).run(Job("testhost", "oracle"), device)
        assert r.status is Status.OK, r.reason
        return r, pipeline.handle(r)

    answer(oracle_home, ssh_peer, "19c_autoextend.txt")
    run()
    assert list_assets(app.engine)[0]["oracle_patches"].startswith("35943157 ")
    (oracle_home / "answer").write_text(fx("19c_autoextend.txt").replace("19.22.0.0.0", "19.23.0.0.0").replace(
        "35943157|APPLY|Database Release Update : 19.22.0.0.240116 (35943157)",
        "36233263|APPLY|Database Release Update : 19.23.0.0.240416 (36233263)"))
    r, verdicts = run()
    assert {e.tags["instance"] for e in by(r.samples, "event", kind="asset_change")} == {"oracle_version",
                                                                                         "oracle_patches"}
    assert {v.instance: v.status for v in verdicts if v.check == "asset_changed"} == {
        "oracle_version": Status.WARN, "oracle_patches": Status.WARN}
    assert {c.instance for c in list_cases(app.engine) if c.check == "asset_changed"} == {"oracle_version",
                                                                                          "oracle_patches"}
    assert {(c["field"], c["new"], c["source"]) for c in asset_history(app.engine, "testhost")} == {
        ("oracle_version", "19.23.0.0.0", "oracle"),
        ("oracle_patches", "36233263 Database Release Update : 19.23.0.0.240416 (36233263)", "oracle")}
    pipeline.close()
