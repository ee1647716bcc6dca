"""`xunjian hooks …` and `cases show` as a user runs them; a delivery killed between the send and the
commit is retried with the same key, and the receiver (or the Jira preset's look-up) makes no
second ticket; the hooks: section is validated with one clear message per mistake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cases.engine import CaseEngine
from agent.config import load_config
from agent.hooks.channels import build_channels
from agent.hooks.outbox import Outbox, list_items
from agent.hooks.worker import Worker
from agent.store.db import open_engine
from tests.helpers import XUNJIAN, cli
from tests.hook_peers import HookReceiver, Seen
from tests.hook_setup import ENV, fault

pytestmark = pytest.mark.peers


def write_config(tmp_path: Path, hooks: dict[str, Any]) -> Path:
    path = tmp_path / "xunjian.yaml"
    path.write_text(yaml.safe_dump({"data_dir": "data", "hooks": hooks}, allow_unicode=True), encoding="utf-8")
    return path


def open_cases(cfg_path: Path, n: int = 1) -> list[str]:
    cfg = load_config(cfg_path, env=ENV)
    ce = CaseEngine(open_engine(cfg.data_dir), cfg.cases, {}, outbox=Outbox(cfg.hooks))
    return [c.number for _, c in ce.apply([fault(instance=f"/u{i}") for i in range(n)])]


def kill_on_first(rx: HookReceiver, path: str) -> list[subprocess.Popen[str]]:
    """The receiver handles the first request on `path`, then SIGKILLs the agent before it answers."""
    procs: list[subprocess.Popen[str]] = []
    done: list[bool] = []

    def hook(seen: Seen) -> None:
        if seen.path == path and not done:
            done.append(True)
            os.kill(procs[0].pid, signal.SIGKILL)
    rx.on_request = hook
    return procs


def deliver(cfg: Path, procs: list[subprocess.Popen[str]]) -> subprocess.CompletedProcess[str]:
    p = subprocess.Popen([XUNJIAN, "hooks", "deliver", "-c", str(cfg)], env={**os.environ, **ENV},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def test_killed_between_send_and_commit_webhook_retry_has_the_same_key(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        cfg = write_config(tmp_path, {"channels": {"ops": {"type": "webhook", "url": f"{rx.url}/hook"}},
                                      "routes": [{"channels": ["ops"]}]})
        (number,) = open_cases(cfg)
        procs = kill_on_first(rx, "/hook")
        r = deliver(cfg, procs)
        assert r.returncode == -signal.SIGKILL
        key = f"{number}#1"
        assert rx.requests[key] == 1 and rx.creates[key] == 1
        items = list_items(open_engine(tmp_path / "data"))
        assert [i.status for i in items] == ["pending"]  # the send was not recorded: it must go again
        rx.on_request = None
        r = deliver(cfg, [])
        assert r.returncode == 0, r.stderr
        assert "1 sent" in r.stdout
        assert rx.requests[key] == 2 and rx.creates[key] == 1  # sent twice, same key: one ticket
        assert [i.status for i in list_items(open_engine(tmp_path / "data"))] == ["done"]


def test_killed_between_create_and_commit_jira_makes_no_second_issue(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        cfg = write_config(tmp_path, {"channels": {"jira": {
            "type": "jira", "url": rx.url, "project": "OPS",
            "auth": {"basic": {"username": "xunjian@example.com", "password": "${JIRA_TOKEN}"}}}},
            "routes": [{"channels": ["jira"]}]})
        (number,) = open_cases(cfg)
        procs = kill_on_first(rx, "/rest/api/2/issue")
        assert deliver(cfg, procs).returncode == -signal.SIGKILL
        assert rx.creates[f"xunjian-{number}"] == 1
        rx.on_request = None
        r = deliver(cfg, [])
        assert r.returncode == 0, r.stderr
        assert rx.creates[f"xunjian-{number}"] == 1  # found by its label, not created again
        assert len(rx.hits("/rest/api/2/search")) == 2 and len(rx.jira_issues) == 1
        shown = json.loads(cli("cases", "show", number, "-c", str(cfg), "-f", "json", env=ENV).stdout)
        assert shown["tickets"] == [{"channel": "jira", "ticket_id": "OPS-1", "url": f"{rx.url}/browse/OPS-1"}]
        text = cli("cases", "show", number, "-c", str(cfg), env=ENV).stdout
        assert f"jira: OPS-1 {rx.url}/browse/OPS-1" in text


def dead_hook_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, {"channels": {"ops": {"type": "webhook", "url": f"{url}/hook"}},
                                   "routes": [{"channels": ["ops"], "match": {"events": ["open", "ack"]}}]})


def test_hooks_deliver_and_list_dead(tmp_path: Path) -> None:
    with HookReceiver(status=404) as rx:
        cfg = dead_hook_config(tmp_path, rx.url)
        (number,) = open_cases(cfg)
        r = cli("hooks", "deliver", "-c", str(cfg), env=ENV)
        assert r.returncode == 1 and "0 sent" in r.stdout and "1 dead" in r.stdout and "HTTP 404" in r.stderr
        dead = json.loads(cli("hooks", "list", "--dead", "-c", str(cfg), "-f", "json").stdout)["items"]
        assert [(d["case_number"], d["kind"], d["status"]) for d in dead] == [(number, "open", "dead")]
        table = cli("hooks", "list", "--dead", "-c", str(cfg)).stdout
        assert number in table and "HTTP 404" in table
        assert cli("hooks", "retry", "999", "-c", str(cfg)).returncode == 2


def test_hooks_retry_and_case_actions_reach_the_outbox(tmp_path: Path) -> None:
    with HookReceiver(status=404) as rx:
        cfg = dead_hook_config(tmp_path, rx.url)
        (number,) = open_cases(cfg)
        conf = load_config(cfg, env=ENV)
        engine = open_engine(conf.data_dir)
        assert Worker(engine, conf.hooks, build_channels(conf.hooks)).drain().dead == 1
        (dead,) = list_items(engine, "dead")
        r = cli("hooks", "retry", str(dead.id), "-c", str(cfg))
        assert r.returncode == 0 and "pending" in r.stdout
        rx.status = 200
        # an engineer's ack from the CLI goes through the outbox too
        assert cli("cases", "ack", number, "--as", "zhang.wei", "-c", str(cfg), env=ENV).returncode == 0
        r = cli("hooks", "deliver", "-c", str(cfg), env=ENV)
        assert r.returncode == 0 and "2 sent" in r.stdout, r.stdout + r.stderr
        assert [s.headers["X-Xunjian-Event"] for s in rx.hits("/hook")][-2:] == ["open", "ack"]
        assert list_items(engine, "dead") == [] and {i.status for i in list_items(engine)} == {"done"}


def test_hooks_test_reports_the_outcome(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        cfg = write_config(tmp_path, {"lang": "en", "channels": {
            "ops": {"type": "webhook", "url": f"{rx.url}/hook"},
            "dt": {"type": "dingtalk", "url": f"{rx.url}/robot/send", "access_token": "${DT_TOKEN}",
                   "secret": "${DT_SECRET}"},
            "bad": {"type": "wecom", "url": f"{rx.url}/cgi-bin/webhook/send", "key": "${SMTP_PASS}"}},
            "routes": [{"channels": ["ops"]}]})
        rx.dingtalk_secret = ENV["DT_SECRET"]
        r = cli("hooks", "test", "ops", "-c", str(cfg), env=ENV)
        assert r.returncode == 0 and "ops: delivered" in r.stdout
        assert body_of(rx.hits("/hook")[0])["kind"] == "test"
        r = cli("hooks", "test", "dt", "-c", str(cfg), env=ENV)
        assert r.returncode == 0, r.stderr
        r = cli("hooks", "test", "bad", "-c", str(cfg), env=ENV)
        assert r.returncode == 1 and "errcode 93000" in r.stderr
        assert ENV["SMTP_PASS"] not in r.stderr + r.stdout  # the key in the URL is never shown
        r = cli("hooks", "test", "nope", "-c", str(cfg), env=ENV)
        assert r.returncode == 2 and "channels: bad, dt, ops" in r.stderr


def body_of(seen: Seen) -> dict[str, Any]:
    return json.loads(seen.body)  # type: ignore[no-any-return]


BAD = {
    "channels": {
        "ops": {"type": "webhook", "url": "ftp://x", "auth": {"bearer": "plain-token"}},
        "mail": {"type": "email", "host": "smtp", "to": ["a@b"]},
        "dt": {"type": "dingtalk", "access_token": "${NOT_SET_ANYWHERE}"},
        "x": {"type": "pager"},
        "s": {"type": "script", "argv": []},
    },
    "routes": [{"channels": ["ops", "nope"], "match": {"events": ["opened"], "levels": [0]},
                "storm": {"window": "soon"}}],
    "retry": {"give_up_after": "forever"},
}


def test_bad_hooks_config_one_message_per_mistake(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, BAD)
    r = cli("hooks", "list", "-c", str(cfg), env=ENV)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    f = str(cfg)
    want = [
        f"{f}: hooks.retry.give_up_after: not a duration: 'forever'",
        f"{f}: hooks.channels.ops.url: String should match pattern '^https?://'",
        f"{f}: hooks.channels.ops.auth.bearer: a reference: ${{ENV_VAR}} or ${{secret:key}}",
        f"{f}: hooks.channels.mail.from: required key is missing",
        f"{f}: hooks.channels.x: Input tag 'pager' found using 'type' does not match",
        f"{f}: hooks.channels.s.argv: List should have at least 1 item",
        f"{f}: hooks.routes[0].match.events[0]: Input should be 'open'",
        f"{f}: hooks.routes[0].match.levels[0]: Input should be 1, 2, 3, 4 or 5",
        f"{f}: hooks.routes[0].storm.window: not a duration: 'soon'",
    ]
    for w in want:
        assert any(line.startswith("xunjian: " + w) for line in lines), (w, r.stderr)
    assert lines[-1] == f"xunjian: {len(want)} problems found"


def test_second_pass_names_unknown_channels_and_unset_secrets(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {
        "channels": {"dt": {"type": "dingtalk", "access_token": "${NOT_SET_ANYWHERE}"},
                     "w": {"type": "webhook", "url": "https://x", "ca_file": "missing-ca.pem"}},
        "routes": [{"channels": ["dt", "jira"]}]})
    r = cli("hooks", "list", "-c", str(cfg), env=ENV)
    assert r.returncode == 2
    f = str(cfg)
    assert f"xunjian: {f}: hooks.channels.dt.access_token: environment variable NOT_SET_ANYWHERE is not set" in r.stderr
    assert f"xunjian: {f}: hooks.channels.w.ca_file: a readable file" in r.stderr
    assert f"xunjian: {f}: hooks.routes[0].channels[1]: a channel defined under hooks.channels (dt, w), got 'jira'" \
        in r.stderr
    assert "3 problems found" in r.stderr
