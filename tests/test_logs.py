"""Log scanning: pattern sets and position logic on fixtures, then rotation, truncation,
the byte cap and unreadable files through the real sshd."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.common.redact import redact
from collectors.logs import LogSource, LogsSettings
from collectors.logs_scan import FileInfo, parse_listing, plan_reads, scan_chunk
from core.model import CollectionError, Sample, Status
from tests.sshdev import Cycles, device_for, give, one

FIX = Path(__file__).parent / "fixtures" / "logs"


def counts_for(sets: list[str], fixture: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    src = LogSource(name="x", path="/x", sets=sets)  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    evidence: dict[str, list[str]] = {}
    scan_chunk((FIX / fixture).read_bytes(), src.compiled(), evidence, counts, 5, False, fixture,
               start=src.entry_regex())
    return counts, evidence


def test_oracle_alert_set() -> None:
    counts, evidence = counts_for(["oracle_alert"], "alert_ORCL.log")
    # ORA-1653 is ORA-01653; each line counts once, for its most severe pattern
    assert counts == {"ora_internal": 1, "ora_space": 2, "ora_error": 1}
    # secrets in a matched line never reach the evidence
    assert any("scott/***@ORCL" in line for line in evidence["ora_error"])
    assert not any("tiger" in line for lines in evidence.values() for line in lines)


def test_weblogic_set() -> None:
    counts, evidence = counts_for(["weblogic"], "AdminServer.log")
    # the stuck-thread <Error> line is a stuck thread (crit), not also a plain error
    assert counts == {"bea_error": 1, "stuck_thread": 1, "bea_critical": 1, "out_of_memory": 1}
    assert "welcome1" not in "".join(evidence["bea_error"])
    assert "password=***" in evidence["bea_error"][0]


def test_syslog_set() -> None:
    counts, _ = counts_for(["syslog"], "messages")
    assert counts == {"io_error": 2, "oom_killer": 2, "fs_readonly": 2}


def test_unpadded_ora_codes_match_the_padded_rules() -> None:
    # an 11g alert log as Oracle writes it: space errors in the short form
    counts, evidence = counts_for(["oracle_alert"], "alert_PROD.log")
    assert counts == {"ora_internal": 1, "ora_space": 2, "ora_error": 1}
    assert any("ORA-1653: unable to extend table APP.ORDERS" in e for e in evidence["ora_space"])
    assert any("ORA-1652: unable to extend temp segment" in e for e in evidence["ora_space"])
    custom = LogSource(name="x", path="/x", patterns=[{"name": "snap", "regex": r"ORA-01555\b"},  # type: ignore[list-item]
                                                       {"name": "space", "regex": "ORA-01653"}])
    got: dict[str, int] = {}
    scan_chunk(b"ORA-1555 caused by SQL\nORA-1653: unable\nORA-16530: other\n", custom.compiled(), {}, got,
               5, False, "f")
    assert got == {"snap": 1, "space": 1}


def test_evidence_is_whole_entries() -> None:
    _, evidence = counts_for(["oracle_alert"], "alert_PROD.log")
    snapshot = evidence["ora_error"][0]  # ORA-01555 with the SQL printed after it
    assert snapshot.startswith("alert_PROD.log: Mon Dec 07 03:20:41 2026\nORA-01555 caused by SQL statement")
    assert "SELECT o.order_id" in snapshot and "GROUP BY o.order_id, o.customer_id" in snapshot
    assert "ORA-1652" not in snapshot  # the next entry is not part of it
    internal = evidence["ora_internal"][0]
    assert "Errors in file" in internal and "Incident details in:" in internal
    _, wls = counts_for(["weblogic"], "ManagedServer1.log")
    trace = wls["bea_error"][0]
    assert "java.sql.SQLRecoverableException: IO Error" in trace and "Caused by: java.net.SocketException" in trace
    assert "... 42 more" in trace and "BEA-310002" not in trace
    # a custom source: indented lines and "Caused by:" continue the entry above
    src = LogSource(name="x", path="/x", patterns=[{"name": "exc", "regex": "Exception"}])  # type: ignore[list-item]
    ev: dict[str, list[str]] = {}
    scan_chunk(b"12:00 ERROR boom java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)\n12:01 INFO ok\n",
               src.compiled(), ev, {}, 5, False, "app.log", start=src.entry_regex())
    assert ev["exc"] == ["app.log: 12:00 ERROR boom java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)"]


def test_a_long_entry_is_capped_around_the_match() -> None:
    from collectors.logs_scan import MAX_ENTRY
    body = "".join(f"  parameter_{i} = {'v' * 40}\n" for i in range(400))
    text = f"Mon Dec 07 03:20:41 2026\nStarting ORACLE instance\n{body}ORA-00600: internal error [x]\n" \
           f"{body}Mon Dec 07 03:21:00 2026\nok\n"
    src = LogSource(name="x", path="/x", sets=["oracle_alert"])  # type: ignore[list-item]
    ev: dict[str, list[str]] = {}
    scan_chunk(text.encode(), src.compiled(), ev, {}, 5, False, "alert.log", start=src.entry_regex())
    kept = ev["ora_internal"][0]
    assert len(kept) <= MAX_ENTRY and len(kept) > 1000  # capped by size, not one 300-character line
    assert kept.startswith("alert.log: Mon Dec 07 03:20:41 2026\n…\nORA-00600: internal error [x]")
    assert "more lines)" in kept


def test_one_line_one_verdict_at_its_highest_severity() -> None:
    src = LogSource(name="alert", path="/x", sets=["oracle_alert"])  # type: ignore[list-item]
    counts: dict[str, int] = {}
    scan_chunk(b"ORA-00600: internal error code, arguments: [kdsgrp1]\n", src.compiled(), {}, counts, 5,
               False, "f", start=src.entry_regex())
    samples = [Sample("logs", {"host": "h", "match": f"alert/{p.name}"},
                      {"count": counts.get(p.name, 0), f"matches_{p.severity}": counts.get(p.name, 0)}, 1)
               for p in src.compiled()]
    bad = [(v.check, v.instance) for v in evaluate(samples, "h", load_rules()) if v.status is not Status.OK]
    assert bad == [("log_matches_crit", "alert/ora_internal")]


def test_plan_rotation_truncation_budget() -> None:
    known = {"10": {"offset": 500, "path": "/l/app.log"}, "11": {"offset": 100, "path": "/l/b.log"}}
    files = [FileInfo(10, 800, "/l/app.log.1"),  # renamed by logrotate: keeps its position
             FileInfo(12, 300, "/l/app.log"),  # new file at the old path: from its start
             FileInfo(11, 40, "/l/b.log")]  # same inode, smaller: truncated
    plan = plan_reads(files, known, first_cycle=False, start_at_end=True, budget=10_000)
    assert plan.offsets == {10: 500, 12: 0, 11: 0}
    assert plan.allot == {10: 300, 12: 300, 11: 40}
    assert plan.rotated == ["/l/app.log"] and plan.truncated == ["/l/b.log"] and plan.backlog == 0
    capped = plan_reads(files, known, first_cycle=False, start_at_end=True, budget=400)
    assert capped.allot == {10: 300, 12: 100, 11: 0} and capped.backlog == 240
    first = plan_reads(files, {}, first_cycle=True, start_at_end=True, budget=10_000)
    assert first.offsets == {10: 800, 12: 300, 11: 40} and sum(first.allot.values()) == 0


def test_unfinished_last_line_waits() -> None:
    src = LogSource(name="x", path="/x", patterns=[{"name": "e", "regex": "ERR"}])  # type: ignore[list-item]
    counts: dict[str, int] = {}
    used = scan_chunk(b"ERR one\nERR tw", src.compiled(), {}, counts, 5, False, "f")
    assert used == 8 and counts == {"e": 1}
    # a giant line with no newline, cut by the cap, is consumed (or we would never move on)
    assert scan_chunk(b"x" * 100, src.compiled(), {}, {}, 5, True, "f") == 100


def test_settings_are_strict() -> None:
    with pytest.raises(ValueError, match="file name only"):
        LogSource(name="x", path="/var/*/x.log", sets=["syslog"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sets"):
        LogSource(name="x", path="/var/log/x.log")
    with pytest.raises(ValueError, match="regular expression"):
        LogSource(name="x", path="/x", patterns=[{"name": "a", "regex": "("}])  # type: ignore[list-item]


def test_redaction() -> None:
    assert redact("DB_PASSWORD: 's3cret' x") == "DB_PASSWORD: *** x"
    assert "Zm9v" not in redact("Authorization: Basic Zm9vOmJhcg==")
    assert redact("create user a identified by Hunter2;") == "create user a identified by ***"
    assert redact("url=http://u:pw@h/x") in ("url=***", "url=http://u:***@h/x")
    assert "{AES}***" in redact("<credential-encrypted>{AES}abc+/=</credential-encrypted>") or \
        "abc+/=" not in redact("<credential-encrypted>{AES}abc+/=</credential-encrypted>")


@settings(max_examples=200, deadline=None)
@given(st.binary(), st.text())
def test_garbage_never_crashes(data: bytes, text: str) -> None:
    src = LogSource(name="x", path="/x", sets=["syslog", "weblogic", "oracle_alert"])  # type: ignore[list-item]
    assert 0 <= scan_chunk(data, src.compiled(), {}, {}, 3, True, "f") <= len(data)
    with contextlib.suppress(CollectionError):
        parse_listing(text)
    redact(text)


def test_rules_on_log_samples() -> None:
    rules = load_rules()
    samples = [
        Sample("logs", {"host": "h", "match": "alert/ora_internal"}, {"count": 2, "matches_crit": 2}, 1),
        Sample("logs", {"host": "h", "match": "alert/ora_error"}, {"count": 0, "matches_warn": 0}, 1),
        Sample("logs_source", {"host": "h", "source": "alert"}, {"status": "missing: no such dir"}, 1),
    ]
    got = {(v.check, v.instance): v.status for v in evaluate(samples, "h", rules)}
    assert got[("log_matches_crit", "alert/ora_internal")] is Status.CRIT
    assert got[("log_matches_warn", "alert/ora_error")] is Status.OK
    assert got[("log_source", "alert")] is Status.UNKNOWN


# -- through the real sshd -------------------------------------------------------------



def logs_device(tmp_path: Path, ssh_peer, remote_dir: Path, **extra: object):  # type: ignore[no-untyped-def]
    cfg = {"sources": [{"name": "app", "path": f"{remote_dir}/app.log*",
                        "patterns": [{"name": "error", "regex": r"\bERROR\b", "severity": "crit"}]}],
           "start_at": "beginning", **extra}
    return device_for(tmp_path, ssh_peer, ["logs"], {"logs": cfg})


def count(result, pattern: str = "error") -> int:  # type: ignore[no-untyped-def]
    assert result.status is Status.OK, result.reason
    return int(one(result.samples, "logs", pattern=pattern).fields["count"])


def append(path: Path, text: str | bytes, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with path.open("ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    give(path, ssh_peer)


@pytest.mark.peers
def test_new_lines_rotation_and_truncation(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    log = remote_dir / "app.log"
    append(log, "INFO start\nERROR one password=hunter2\n", ssh_peer)
    cycles = Cycles(logs_device(tmp_path, ssh_peer, remote_dir), "logs")
    r = cycles.run()
    assert count(r) == 1
    lines = str(one(r.samples, "logs", pattern="error").fields["lines"])
    assert "ERROR one" in lines and "hunter2" not in lines
    assert one(r.samples, "logs_source").fields["status"] == "ok"

    assert count(cycles.run()) == 0  # nothing new, nothing counted twice
    append(log, b"ERROR two \xff\xfe not utf-8\nERROR thr", ssh_peer)
    assert count(cycles.run()) == 1  # the unfinished line waits for its end
    append(log, "ee\n", ssh_peer)
    assert count(cycles.run()) == 1

    # logrotate (create): the old file is renamed and gets one more line; a new file appears.
    append(log, "ERROR four\n", ssh_peer)
    log.rename(remote_dir / "app.log.1")
    append(remote_dir / "app.log.1", "ERROR five (late write to the renamed file)\n", ssh_peer)
    append(log, "ERROR six\nINFO ok\n", ssh_peer)
    r = cycles.run()
    assert count(r) == 3
    src = one(r.samples, "logs_source")
    assert src.fields["rotated"] == 1 and "rotated" in str(src.fields["note"])

    # copytruncate: same inode, shorter than our position → from the start.
    log.write_text("ERROR seven\n")
    r = cycles.run()
    assert count(r) == 1 and one(r.samples, "logs_source").fields["truncated"] == 1
    assert count(cycles.run()) == 0


def copytruncate(log: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    """What logrotate's copytruncate does: older copies move up, the log is copied to .1
    (a new inode), then truncated in place."""
    for n in range(8, 0, -1):
        older = log.with_name(f"{log.name}.{n}")
        if older.exists():
            older.rename(log.with_name(f"{log.name}.{n + 1}"))
    shutil.copyfile(log, log.with_name(f"{log.name}.1"))
    give(log.with_name(f"{log.name}.1"), ssh_peer)
    with log.open("r+b") as f:
        f.truncate(0)


@pytest.mark.peers
def test_copytruncate_with_a_glob_counts_nothing_twice(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    log = remote_dir / "app.log"
    append(log, "ERROR 1\nERROR 2\nERROR 3\n", ssh_peer)
    cycles = Cycles(logs_device(tmp_path, ssh_peer, remote_dir), "logs")  # path: …/app.log*
    assert count(cycles.run()) == 3

    # a small log: its copy app.log.1 is recognised by its head, only the two new lines count
    copytruncate(log, ssh_peer)
    append(log, "ERROR 4\nERROR 5\n", ssh_peer)
    r = cycles.run()
    assert count(r) == 2
    src = one(r.samples, "logs_source")
    assert src.fields["copies"] == 1 and src.fields["truncated"] == 1 and "rotated copy" in str(src.fields["note"])
    assert count(cycles.run()) == 0

    # a line written after our read but before the copy is read from the copy, once; the log
    # truncated and written past our old position is read from its start (its head changed)
    append(log, "ERROR 6 late\n", ssh_peer)
    copytruncate(log, ssh_peer)
    append(log, "".join(f"ERROR {i} {'x' * 60}\n" for i in range(7, 37)), ssh_peer)  # > 1 kB
    assert count(cycles.run()) == 1 + 30
    assert count(cycles.run()) == 0

    # the same with a log longer than the fingerprint (1 kB): rotated twice, nothing twice
    for _ in range(2):
        copytruncate(log, ssh_peer)
        append(log, "ERROR new\n", ssh_peer)
        assert count(cycles.run()) == 1
    assert count(cycles.run()) == 0

    # rename/create rotation still keeps positions by inode
    append(log, "ERROR before rename\n", ssh_peer)
    log.rename(remote_dir / "app.log.0")
    append(log, "ERROR after\n", ssh_peer)
    assert count(cycles.run()) == 2


@pytest.mark.peers
def test_byte_cap_leaves_the_rest_for_next_cycle(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    log = remote_dir / "app.log"
    append(log, "".join(f"ERROR line {i:04d} {'x' * 40}\n" for i in range(100)), ssh_peer)  # ~5.6 kB
    cycles = Cycles(logs_device(tmp_path, ssh_peer, remote_dir, max_bytes=2048, max_evidence=3), "logs")
    seen, partial_cycles = 0, 0
    for _ in range(10):
        r = cycles.run()
        seen += count(r)
        src = one(r.samples, "logs_source")
        assert len(str(one(r.samples, "logs", pattern="error").fields.get("lines", "")).splitlines()) <= 3
        assert int(src.fields["bytes_read"]) <= 2048
        if src.fields["partial"]:
            partial_cycles += 1
            assert "partial" in str(src.fields["note"]) and int(src.fields["backlog_bytes"]) > 0
        else:
            break
    assert seen == 100 and partial_cycles >= 2


@pytest.mark.peers
def test_missing_unreadable_and_quoted(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    secret = remote_dir / "secret.log"
    secret.write_text("ERROR root only\n")
    os.chown(secret, 0, 0)
    secret.chmod(0o600)
    marker = remote_dir / "pwned"
    cfg = {"sources": [
        {"name": "gone", "path": "/nonexistent-xj/dir/app.log", "sets": ["syslog"]},
        {"name": "secret", "path": str(secret), "patterns": [{"name": "error", "regex": "ERROR"}]},
        {"name": "evil", "path": f"{remote_dir}/$(touch {marker})';touch {marker};'*",
         "patterns": [{"name": "error", "regex": "ERROR"}]},
    ], "start_at": "beginning"}
    r = Cycles(device_for(tmp_path, ssh_peer, ["logs"], {"logs": cfg}), "logs").run()
    assert r.status is Status.OK, r.reason
    assert str(one(r.samples, "logs_source", source="gone").fields["status"]).startswith("missing")
    assert one(r.samples, "logs_source", source="secret").fields["status"] == "unreadable"
    assert one(r.samples, "logs", source="secret").fields["count"] == 0
    assert str(one(r.samples, "logs_source", source="evil").fields["status"]).startswith("missing")
    assert not marker.exists()
    verdicts = {(v.check, v.instance): v.status for v in evaluate(r.samples, "testhost", load_rules())}
    assert verdicts[("log_source", "gone")] is Status.UNKNOWN
    assert verdicts[("log_source", "secret")] is Status.UNKNOWN


@pytest.mark.peers
def test_first_cycle_starts_at_end_by_default(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    log = remote_dir / "app.log"
    append(log, "ERROR old history\n", ssh_peer)
    cfg = LogsSettings.model_validate({"sources": [{"name": "app", "path": str(log),
                                                    "patterns": [{"name": "error", "regex": "ERROR"}]}]})
    assert cfg.start_at == "end"
    cycles = Cycles(device_for(tmp_path, ssh_peer, ["logs"], {"logs": cfg.model_dump()}), "logs")
    assert count(cycles.run()) == 0
    append(log, "ERROR new\n", ssh_peer)
    assert count(cycles.run()) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 10_000)), max_size=6, unique_by=lambda t: t[0]),
       st.dictionaries(st.integers(1, 50), st.integers(0, 10_000), max_size=6),
       st.booleans(), st.integers(0, 20_000))
def test_plan_invariants(files: list[tuple[int, int]], known: dict[int, int], first: bool, budget: int) -> None:
    infos = [FileInfo(i, size, f"/l/{i}") for i, size in files]
    plan = plan_reads(infos, {str(k): {"offset": o, "path": f"/l/{k}"} for k, o in known.items()},
                      first, True, budget)
    assert sum(plan.allot.values()) <= budget
    for f in infos:
        assert 0 <= plan.offsets[f.inode] <= f.size  # never past the end, never negative
        assert plan.offsets[f.inode] + plan.allot[f.inode] <= f.size
    pending = sum(f.size - plan.offsets[f.inode] for f in infos)
    assert pending == sum(plan.allot.values()) + plan.backlog  # nothing forgotten
