"""Oracle: the parser on recorded outputs (11g, 12c CDB, 19c autoextend, errors), then the
collector through the real sshd with a fake sqlplus that records what it was given."""

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
from collectors.oracle.collector import samples
from collectors.oracle.sql import parse_output, script
from core.model import CollectionError, Status
from core.problems import ConfigError
from tests.sshdev import Cycles, by, give, one, write_inventory

FIX = Path(__file__).parent / "fixtures" / "oracle"


def fx(name: str) -> str:
    return (FIX / name).read_text()


def test_11g_noncdb_autoextend_counts_to_max() -> None:
    facts = parse_output(fx("11g_noncdb.txt"), 0)
    assert facts.instance.status == "OPEN" and not facts.instance.cdb
    ts = {t.name: t for t in facts.tablespaces}
    assert set(ts) == {"SYSTEM", "SYSAUX", "UNDOTBS1", "USERS", "TEMP"}
    # SYSTEM is 99 % of its current size but autoextends to 32 GB: 2.42 % of max, not 99 %
    assert ts["SYSTEM"].used_percent == round(100 * 832569344 / 34359721984, 2)
    assert ts["USERS"].used_percent == 95.0 and not ts["USERS"].autoextensible
    assert ts["TEMP"].contents == "TEMPORARY"
    assert facts.fra[0].used_percent == round(100 * (3946630348 - 1073741824) / 4385144832, 2)


def test_12c_cdb_per_pdb_and_rule() -> None:
    facts = parse_output(fx("12c_cdb.txt"), 0)
    assert facts.instance.cdb
    out = samples("db01", "CDB1", facts, 1)
    users = [s for s in out if s.measurement == "oracle_tablespace" and s.tags["tablespace"] == "USERS"]
    assert {s.tags["con_name"] for s in users} == {"CDB$ROOT", "PDB1", "PDB2"}
    verdicts = {(v.check, v.instance): v for v in evaluate(out, "db01", load_rules())}
    assert verdicts[("oracle_tablespace_used_percent", "PDB1/USERS")].status is Status.CRIT  # 95 %
    assert verdicts[("oracle_tablespace_used_percent", "PDB1/TEMP")].status is Status.CRIT  # 98.44 %, no autoextend
    assert verdicts[("oracle_tablespace_used_percent", "PDB2/USERS")].status is Status.OK  # 25 % of 2 GB max
    assert verdicts[("oracle_instance_status", "CDB1")].status is Status.OK
    # a tablespace verdict names the tablespace and what is left, with its own sqlplus record
    users = verdicts[("oracle_tablespace_used_percent", "PDB1/USERS")]
    assert "left in tablespace USERS (max " in users.message
    assert users.evidence.splitlines()[-1].startswith("TS|PDB1|USERS|")


def test_19c_noncdb_instance_tag_is_tablespace() -> None:
    out = samples("db", "PROD", parse_output(fx("19c_autoextend.txt"), 0), 1)
    ts = {s.tags["instance"]: s.fields for s in out if s.measurement == "oracle_tablespace"}
    assert ts["APP_DATA"]["used_percent"] == round(100 * 31138512896 / 68719476736, 2)
    assert ts["APP_DATA"]["used_percent_of_size"] == round(100 * 31138512896 / 32212254720, 2)
    assert ts["APP_IDX"]["used_percent"] == 90.0 and ts["APP_IDX"]["autoextensible"] is False


@pytest.mark.parametrize("name,code", [("ora_01017.txt", "ORA-01017"),
                                       ("sp2_0310.txt", "SP2-0310"), ("mounted.txt", "ORA-01219")])
def test_errors_are_not_collected_with_the_code(name: str, code: str) -> None:
    with pytest.raises(CollectionError, match=code) as e:
        parse_output(fx(name), 1)
    assert str(e.value).count(code) == 1  # said once


def test_sp2_0306_is_said_once() -> None:
    text = ("SP2-0306: Invalid option.\nUsage: CONN[ECT] [{logon|/|proxy} [AS {SYSDBA|SYSOPER|SYSASM}] "
            "[edition=value]]\nwhere <logon> ::= <username>[/<password>][@<connect_identifier>]\n")
    with pytest.raises(CollectionError) as e:
        parse_output(text, 1)
    assert str(e.value) == "sqlplus: SP2-0306: Invalid option."
    with pytest.raises(CollectionError) as e:
        parse_output(fx("mounted.txt"), 1)
    assert str(e.value).startswith("sqlplus: ORA-01219: database or pluggable database not open")
    assert str(e.value).endswith("(also ORA-06512)")


@pytest.mark.parametrize("text", [fx("ora_01034.txt"), "Connected to an idle instance.\nDECLARE\n*\n"
                                  "ERROR at line 1:\nORA-1034: ORACLE not available\nORA-27101: shared memory "
                                  "realm does not exist\nLinux-x86_64 Error: 2: No such file or directory\n"])
def test_instance_down_is_its_own_verdict_at_level_1(text: str) -> None:
    facts = parse_output(text, 1)
    assert facts.instance.status == "DOWN"
    out = samples("db", "ORCL", facts, 1)
    assert [s.measurement for s in out] == ["oracle_instance"]  # no tablespace figures claimed
    verdicts = evaluate(out, "db", load_rules())
    assert [(v.check, v.instance, v.status, v.level) for v in verdicts] == [
        ("oracle_instance_status", "ORCL", Status.CRIT, 1)]
    assert verdicts[0].message.startswith("Oracle instance ORCL: DOWN")
    assert verdicts[0].message.endswith(("— ORA-01034: ORACLE not available (also ORA-27101)",
                                         "— ORA-1034: ORACLE not available (also ORA-27101)"))  # as printed
    assert "ORA-27101: shared memory realm does not exist" in verdicts[0].evidence


def test_empty_or_strange_output_is_not_a_pass() -> None:
    with pytest.raises(CollectionError, match="no instance"):
        parse_output("", 0)
    with pytest.raises(CollectionError, match="no tablespace"):
        parse_output("INST|X|OPEN|ACTIVE|19.0|READ WRITE|NO|PRIMARY\n", 0)
    with pytest.raises(CollectionError, match="exited 3"):
        parse_output(fx("19c_autoextend.txt"), 3)
    with pytest.raises(CollectionError, match="not understood"):
        parse_output("INST|X|OPEN|ACTIVE|19.0|READ WRITE|NO|PRIMARY\nTS|-|A|PERMANENT|x|1|2|NO\n", 0)


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


def asset_of(out: list) -> dict:  # type: ignore[type-arg]
    return one(out, "asset").fields


def test_asset_version_and_latest_patch() -> None:
    out = samples("db", "PROD", parse_output(fx("19c_autoextend.txt"), 0), 1)
    assert asset_of(out) == {"oracle_version": "19.22.0.0.0",
                             "oracle_patches": "35943157 Database Release Update : 19.22.0.0.240116 (35943157)"}
    assert one(out, "oracle_instance").fields["patches_status"] == "ok"
    # 11g: no version_full (INST's version), the PSU from dba_registry_history
    assert asset_of(samples("db", "ORCL", parse_output(fx("11g_noncdb.txt"), 0), 1)) == {
        "oracle_version": "11.2.0.4.0", "oracle_patches": "161018 PSU 11.2.0.4.161018"}
    # read, and nothing applied
    assert asset_of(samples("db", "CDB1", parse_output(fx("12c_cdb.txt"), 0), 1))["oracle_patches"] == "none"
    rolled = fx("19c_autoextend.txt").replace("|APPLY|", "|ROLLBACK|")
    assert asset_of(samples("db", "P", parse_output(rolled, 0), 1))["oracle_patches"].startswith("ROLLBACK 35943157 ")


@pytest.mark.parametrize("name", ["11g_monitor_no_grant.txt", "mounted_standby.txt"])
def test_unreadable_patches_leave_the_health_and_send_no_asset(name: str) -> None:
    out = samples("db", "X", parse_output(fx(name), 0), 1)
    assert not by(out, "asset")  # a half-read asset would be a false change
    status = one(out, "oracle_instance").fields["patches_status"]
    assert str(status).startswith(("ORA-00942", "ORA-01219"))
    if name.startswith("11g"):
        assert by(out, "oracle_tablespace")


def test_an_ora_code_inside_a_patch_description_is_not_an_error() -> None:
    text = fx("19c_autoextend.txt").replace("(35943157)", "(fixes ORA-00600 in kcbgtcr)")
    assert parse_output(text, 0).patches == "35943157 Database Release Update : 19.22.0.0.240116 (fixes ORA-00600 in kcbgtcr)"


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


def test_mounted_standby_reports_instance_and_says_partial() -> None:
    facts = parse_output(fx("mounted_standby.txt"), 0)
    assert facts.instance.status == "MOUNTED" and facts.instance.role == "PHYSICAL STANDBY"
    assert not facts.tablespaces and facts.errors["tablespaces"].startswith("ORA-01219")
    out = samples("db", "STBY", facts, 1)
    inst = one(out, "oracle_instance")
    assert str(inst.fields["tablespaces_status"]).startswith("ORA-01219") and inst.fields["fra_status"] == "ok"
    verdicts = {(v.check, v.instance): v.status for v in evaluate(out, "db", load_rules())}
    # a physical standby is mounted by design: not a fault; its unread tablespaces are said
    assert inst.fields["state"] == "MOUNTED_STANDBY"
    assert verdicts[("oracle_instance_status", "STBY")] is Status.OK
    assert verdicts[("oracle_tablespaces_collected", "STBY")] is Status.UNKNOWN
    primary = samples("db", "X", parse_output(fx("mounted_standby.txt").replace("PHYSICAL STANDBY", "PRIMARY"), 0), 1)
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
