"""Guard rails through the real sshd: allow-listed commands with typed parameters, the
per-device lock (also across processes), windows, the confirmation prompt, the audit
record and the case event."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from agent.cases.engine import CaseEngine
from agent.cases.queries import case_history
from agent.playbook.catalog import bind, load_catalog
from agent.playbook.lock import DeviceLock
from agent.playbook.runner import Request
from agent.store.db import open_engine
from core.model import Status, Verdict
from core.problems import ConfigError
from tests.helpers import XUNJIAN
from tests.playbook_env import (
    device,
    give,
    inventory,
    listing,
    request,
    runner,
    workspace,
    write_file,
    yes,
)

pytestmark = pytest.mark.peers


def commands(ws: Path) -> dict[str, object]:
    return {
        "hello": {"argv": ["/bin/echo", "hello", "{who}"], "params": {"who": {"type": "str"}}},
        "touch-n": {"argv": ["/usr/bin/touch", str(ws / "made-{n}")],
                    "params": {"n": {"type": "int", "min": 1, "max": 5}}},
        "fails": {"argv": ["/bin/false"]},
        "slow": {"argv": ["/bin/sleep", "{s}"], "params": {"s": {"type": "int"}}, "timeout": 1},
    }


def test_run_command_quotes_typed_parameters(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        give(ws, ssh_peer.user)
        dev = device(tmp_path, ssh_peer, {"commands": commands(ws)})
        r = runner(tmp_path)
        evil = f"$(touch {ws}/pwned); touch {ws}/pwned2"
        res = r.apply(request(dev, "run-command", {"command": "hello", "args": [f"who={evil}"]}), yes)
        assert res.result == "ok", res.message
        assert res.transcript[0]["stdout"] == f"hello {evil}\n"
        assert not (ws / "pwned").exists() and not (ws / "pwned2").exists()

        res = r.apply(request(dev, "run-command", {"command": "touch-n", "args": ["n=3"]}), yes)
        assert res.result == "ok" and (ws / "made-3").exists()
        for args, why in ((["n=9"], "at most 5"), (["n=x"], "an integer"), (["m=1"], "no parameter 'm'"),
                          ([], "needs n")):
            res = r.apply(request(dev, "run-command", {"command": "touch-n", "args": args}), yes)
            assert res.result == "refused" and why in res.message, (args, res.message)
        res = r.plan(request(dev, "run-command", {"command": "rm-everything"}))
        assert res.result == "refused" and "not allow-listed" in res.message
        res = r.apply(request(dev, "run-command", {"command": "fails"}), yes)
        assert res.result == "failed" and "exit status 1" in res.message
        started = time.monotonic()
        res = r.apply(request(dev, "run-command", {"command": "slow", "args": ["s=30"]}), yes)
        assert res.result == "failed" and "timed out after 1 s" in res.message
        assert time.monotonic() - started < 15


def test_lock_contention_in_process(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    dev = device(tmp_path, ssh_peer, {"commands": {"hello": {"argv": ["/bin/echo", "hi"]}}})
    r = runner(tmp_path)
    with DeviceLock(tmp_path / "var", "testhost", "clean-logs", "alice"):
        res = r.apply(request(dev, "run-command", {"command": "hello"}), yes)
        assert res.result == "busy"
        assert res.message.startswith("device busy: playbook clean-logs by alice since ")
        assert not res.outcomes
    assert r.apply(request(dev, "run-command", {"command": "hello"}), yes).result == "ok"


def cli(tmp_path: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XUNJIAN, "playbook", *args, "-i", str(tmp_path / "inventory.yaml"),
                           "--data-dir", str(tmp_path / "var"), "--as", "zhang.wei"],
                          cwd=tmp_path, input=input, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_lock_contention_across_processes(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    inventory(tmp_path, ssh_peer, {"commands": {"hello": {"argv": ["/bin/echo", "hi"]}}})
    with DeviceLock(tmp_path / "var", "testhost", "restart-weblogic", "li.na"):
        r = cli(tmp_path, "apply", "run-command", "-d", "testhost", "-p", "command=hello", "--yes")
        assert r.returncode == 2, r.stdout + r.stderr
        assert "device busy: playbook restart-weblogic by li.na since" in r.stdout
    r = cli(tmp_path, "apply", "run-command", "-d", "testhost", "-p", "command=hello", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr


def test_window_refuses_unless_forced_with_a_reason(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "night-hello.yaml").write_text(json.dumps({
        "name": "night-hello", "description": "say hello, at night only",
        "windows": [{"name": "new-year-night", "start": "2020-01-01 00:00", "end": "2020-01-01 04:00"}],
        "steps": [{"type": "command", "name": "hello"}]}))
    pb = load_catalog(user)["night-hello"]
    dev = device(tmp_path, ssh_peer, {"commands": {"hello": {"argv": ["/bin/echo", "hi"]}}})
    r = runner(tmp_path)
    res = r.apply(Request(bind(pb, {}), dev, "tester"), yes)
    assert res.result == "refused" and "outside the windows" in res.message and "--force" in res.message
    res = r.apply(Request(bind(pb, {}), dev, "tester", force=True), yes)
    assert res.result == "refused" and "needs --reason" in res.message
    res = r.apply(Request(bind(pb, {}), dev, "tester", force=True, reason="disk 99%, customer asked"), yes)
    assert res.result == "ok", res.message
    row = open_engine(tmp_path / "var").connect().exec_driver_sql(
        "SELECT result, forced_reason FROM playbook_runs ORDER BY id DESC LIMIT 1").one()
    assert tuple(row) == ("ok", "disk 99%, customer asked")


def small_tree(ws: Path, user: str) -> None:
    now = time.time()
    for i in range(3):
        write_file(ws / "logs" / f"a.log.{i}", 100, 30 + i, now)
    give(ws, user)


def test_confirmation_prompt_audit_and_case_event(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        engine = open_engine(tmp_path / "var")
        (change,) = CaseEngine(engine).apply([Verdict("testhost", "disk_used_percent", Status.CRIT,
                                                      instance="/", value=97.0, level=2)])
        number = change[1].number
        before = listing(ws)
        args = ("apply", "clean-logs", "-d", "testhost", "-p", "keep_newest=1", "-p", "older_than_days=7",
                "--case", number)

        r = cli(tmp_path, *args, input="n\n")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Apply this plan to testhost?" in r.stderr and "ABORTED" in r.stdout
        assert "a.log.2" in r.stdout and "rm -f --" in r.stdout  # the plan was shown first
        assert ":100:" in r.stdout and "\U0001f4af" not in r.stdout  # inode:size:mtime, not an emoji
        assert listing(ws) == before

        r = cli(tmp_path, *args, input="y\n")
        assert r.returncode == 0, r.stdout + r.stderr
        assert set(before) - set(listing(ws)) == {"logs/a.log.1", "logs/a.log.2"}
        assert "OK:" in r.stdout and "freed in" in r.stdout

        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "--case", "F-19990101-0001", "--yes")
        assert r.returncode == 2 and "no such case" in r.stderr

        h = subprocess.run([XUNJIAN, "playbook", "history", "--data-dir", str(tmp_path / "var"),
                            "--format", "json"], capture_output=True, text=True, check=True, cwd=tmp_path)
        runs = json.loads(h.stdout)["runs"]
        assert [x["result"] for x in runs] == ["refused", "ok", "aborted"]  # every refusal is recorded
        assert runs[0]["case_number"] == "F-19990101-0001" and "no such case" in runs[0]["message"]
        ok = runs[1]
        assert ok["actor"] == "zhang.wei" and ok["device"] == "testhost" and ok["playbook"] == "clean-logs"
        assert ok["case_number"] == number and ok["bytes_freed"] == 200 and ok["duration"] >= 0
        assert ok["params"]["keep_newest"] == 1
        assert [f["path"] for s in ok["plan"] if s["type"] == "delete" for f in s["files"]] == [
            str(ws / "logs" / "a.log.1"), str(ws / "logs" / "a.log.2")]
        assert ok["outputs"]["steps"][-1]["message"].startswith("2 deleted")

        events = [e for e in case_history(engine, number) if e["kind"] == "remediation"]
        assert len(events) == 1
        d = events[0]["detail"]
        assert events[0]["actor"] == "zhang.wei" and d["playbook"] == "clean-logs" and d["result"] == "ok"
        assert d["bytes_freed"] == 200 and d["audit_id"] == ok["id"]
        key = f"disk {ws / 'logs'}"
        assert "used_percent" in d["before"][key] and "used_percent" in d["after"][key]

        text = subprocess.run([XUNJIAN, "playbook", "history", "--data-dir", str(tmp_path / "var")],
                              capture_output=True, text=True, check=True, cwd=tmp_path).stdout
        assert "apply clean-logs on testhost by zhang.wei: ok" in text and f"case {number}" in text


def test_plan_cli_output_and_bad_parameters(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        r = cli(tmp_path, "plan", "clean-logs", "-d", "testhost", "-p", "older_than_days=7")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "PLAN clean-logs on testhost" in r.stdout and "nothing has been changed" in r.stdout
        r = cli(tmp_path, "plan", "clean-logs", "-d", "testhost", "-p", "older_than_days=soon",
                "-p", "colour=red")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "--param older_than_days: an integer expected" in r.stderr and "colour" in r.stderr


def test_bad_remediation_section_is_one_clear_message(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as e:
        device(tmp_path, ssh_peer, {"allowed_roots": ["relative/path", "/"],
                                    "commands": {"x": {"argv": ["rm", "{what}"]}}})
    text = str(e.value)
    assert "devices[0].remediation.allowed_roots" in text and "absolute directory" in text
    assert "devices[0].remediation.commands.x" in text and "absolute program path" in text


def test_apply_a_signed_off_plan_or_refuse_if_the_device_changed(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        r = cli(tmp_path, "plan", "clean-logs", "-d", "testhost", "-p", "older_than_days=7",
                "-p", "keep_newest=1", "-f", "json")
        first = json.loads(r.stdout)["audit_id"]
        write_file(ws / "logs" / "a.log.9", 100, 99, time.time())  # appears after the plan
        give(ws, ssh_peer.user)
        before = listing(ws)
        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "--plan", str(first), "--yes")
        assert r.returncode == 2 and "changed since the plan" in r.stdout and "a.log.9" in r.stdout
        assert listing(ws) == before
        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "--plan", str(first), "-p", "gzip=1")
        assert r.returncode == 2 and "give no --param" in r.stderr

        r = cli(tmp_path, "plan", "clean-logs", "-d", "testhost", "-p", "older_than_days=7",
                "-p", "keep_newest=1")
        second = r.stdout.rsplit("audit #", 1)[1].split(")")[0]
        assert f"--plan {second}" in r.stdout
        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "--plan", second, "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert set(before) - set(listing(ws)) == {"logs/a.log.1", "logs/a.log.2", "logs/a.log.9"}


def history_json(tmp_path: Path) -> list[dict[str, object]]:
    h = subprocess.run([XUNJIAN, "playbook", "history", "--data-dir", str(tmp_path / "var"), "--format", "json"],
                       capture_output=True, text=True, check=True, cwd=tmp_path)
    return list(json.loads(h.stdout)["runs"])


def test_every_refusal_is_recorded_also_before_a_plan(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        before = listing(ws)
        asked = [
            (("apply", "clean-logs", "-d", "testhost", "-p", "older_than_days=soon", "--yes"),
             "apply", "clean-logs", "testhost", "--param older_than_days: an integer expected"),
            (("plan", "clean-logs", "-d", "testhost", "-p", "colour=red"),
             "plan", "clean-logs", "testhost", "--param colour: unknown parameter"),
            (("apply", "no-such-book", "-d", "testhost", "--yes"),
             "apply", "no-such-book", "testhost", "no such playbook"),
            (("apply", "clean-logs", "-d", "ghost", "--yes"),
             "apply", "clean-logs", "ghost", "no such device or group: ghost"),
            (("apply", "clean-logs", "-d", "testhost", "--plan", "999", "--yes"),
             "apply", "clean-logs", "testhost", "no such successful plan"),
        ]
        for args, mode, playbook, dev, why in asked:
            r = cli(tmp_path, *args)
            assert r.returncode == 2 and why in r.stderr, (args, r.stdout + r.stderr)
            assert f"{mode} refused (audit #" in r.stderr
            row = history_json(tmp_path)[0]
            assert (row["mode"], row["playbook"], row["device"], row["result"], row["actor"]) == (
                mode, playbook, dev, "refused", "zhang.wei"), row
            assert why in str(row["message"]) and row["params"]["param"] == [
                a for i, a in enumerate(args) if i and args[i - 1] == "-p"]
        assert len(history_json(tmp_path)) == len(asked) and listing(ws) == before


def test_a_relative_root_is_refused_not_resolved_against_the_login_directory(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        before = listing(ws)
        relative = f"{ws.name}/logs"  # the workspace is in the login (home) directory
        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "-p", f"roots={relative}",
                "-p", "older_than_days=7", "-p", "keep_newest=0", "--yes")
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"root {relative}: a relative root is refused" in r.stdout
        assert listing(ws) == before
        assert history_json(tmp_path)[0]["result"] == "refused"


def test_an_allowed_root_that_is_a_symlink_is_refused_not_followed(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        small_tree(ws, ssh_peer.user)
        now = time.time()
        for i in range(3):  # what the link really leads to: not the logs the inventory meant
            write_file(ws / "precious" / f"data.log.{i}", 100, 30 + i, now)
        (ws / "app-logs").symlink_to(ws / "precious")  # the login user can re-point this at will
        give(ws, ssh_peer.user)
        inventory(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "app-logs")]})
        before = listing(ws)
        r = cli(tmp_path, "apply", "clean-logs", "-d", "testhost", "-p", "older_than_days=7",
                "-p", "keep_newest=0", "--yes")
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"allowed root {ws / 'app-logs'} is a symlink or passes through one (it resolves to " \
            f"{ws / 'precious'})" in r.stdout
        assert listing(ws) == before
        assert history_json(tmp_path)[0]["result"] == "refused"


def test_allowed_roots_with_dot_segments_are_refused_by_the_inventory(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    for root in ("/home/ops/logs/../..", "/var/log/./app", "/var//log"):
        inventory(tmp_path, ssh_peer, {"allowed_roots": [root]})
        r = subprocess.run([XUNJIAN, "inventory", "check", "-i", str(tmp_path / "inventory.yaml")],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert r.returncode == 2, (root, r.stdout + r.stderr)
        assert "devices[0].remediation.allowed_roots" in r.stderr and "a normalised path" in r.stderr
