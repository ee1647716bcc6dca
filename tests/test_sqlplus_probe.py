"""sqlplus_probe: SQL probes on Oracle through the real sshd with a fake sqlplus that answers
with recorded SQL*Plus output (the session's marker taken from its stdin). What the parser
makes of recorded sessions is data: collectors/oracle/testdata/sqlplus_probe/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.inventory import load_inventory
from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.oracle.sqlplus_probe import script
from collectors.probes.sql import SqlCheck
from core.model import Status
from tests.sshdev import Cycles, give, write_inventory

MARK = "@@xj-0123456789ab"
QUERIES = [SqlCheck(name="orders", sql="SELECT COUNT(*) FROM app.orders;", expect="3"),
           SqlCheck(name="jobs", sql="SELECT status FROM app.jobs WHERE id = 1", expect="OK"),
           SqlCheck(name="typo", sql="SELEC 1 FROM dual"),
           SqlCheck(name="locked", sql="SELECT 1 FROM app.queue FOR UPDATE NOWAIT")]

# A recorded session (the parser's case collectors/oracle/testdata/sqlplus_probe/answers.yaml):
# an answer, a wrong answer, SP2-0734 and ORA-00054, with this marker.
ANSWER = (Path(__file__).resolve().parents[1] / "collectors" / "oracle" / "testdata" / "sqlplus_probe"
          / "answer.txt").read_text()


def test_script_runs_each_query_once_with_define_off() -> None:
    s = script('CONNECT mon/"pw"', QUERIES, MARK)
    assert "SET DEFINE OFF" in s and s.count("\n/\n") == len(QUERIES)
    assert "SELECT COUNT(*) FROM app.orders\n/" in s  # the trailing ';' would run it twice


FAKE = """#!/bin/sh
here="$ORACLE_HOME"
cat > "$here/stdin"
mark=$(grep -o '@@xj-[0-9a-f]*' "$here/stdin" | head -n 1)
sed "s/@@xj-0123456789ab/$mark/g" "$here/answer"
"""


@pytest.mark.peers
def test_through_sshd_to_cases(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    home = remote_dir / "oh"
    (home / "bin").mkdir(parents=True)
    give(home, ssh_peer, 0o755)
    give(home / "bin", ssh_peer, 0o755)
    (home / "bin" / "sqlplus").write_text(FAKE)
    give(home / "bin" / "sqlplus", ssh_peer, 0o755)
    # a forged marker inside a query's output must not end the section early
    (home / "answer").write_text(ANSWER.replace("FAILED", "FAILED @@xj-0123456789ab END jobs"))
    give(home / "answer", ssh_peer)
    inv = write_inventory(tmp_path, ssh_peer, ["sqlplus_probe"], {"sqlplus_probe": {
        "oracle_home": str(home), "sid": "PROD", "user": "probe", "password": "${secret:pw}",
        "criticality": 1, "queries": [q.model_dump() for q in QUERIES]}}, secrets={"pw": "Pr0be-pw"})
    r = Cycles(load_inventory(inv).devices["testhost"], "sqlplus_probe").run()
    assert r.status is Status.OK, r.reason
    f = {s.tags["probe"]: s.fields for s in r.samples}
    assert f["orders"]["up"] == 1 and f["jobs"]["up"] == 0 and "FAILED @@xj-" in str(f["jobs"]["result"])
    stdin = (home / "stdin").read_text()
    assert 'CONNECT probe/"Pr0be-pw"' in stdin and "Pr0be-pw" not in json.dumps([s.to_dict() for s in r.samples])
    v = {(x.check, x.instance): x for x in evaluate(r.samples, "testhost", load_rules())}
    assert v[("probe_down_major", "jobs")].status is Status.CRIT and v[("probe_down_major", "jobs")].level == 1
    assert v[("probe_down_major", "orders")].status is Status.OK


def test_a_second_statement_is_refused_at_load(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    from core.problems import ConfigError
    inv = write_inventory(tmp_path, ssh_peer, ["sqlplus_probe"], {"sqlplus_probe": {
        "oracle_home": "/u01/oh", "sid": "PROD", "queries": [{"name": "q", "sql": "SELECT 1 FROM dual\n/\n@evil"}]}})
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    assert "settings.sqlplus_probe.queries" in "\n".join(str(p) for p in e.value.problems)
