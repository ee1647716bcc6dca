"""One fault, one case; one failed login per device per cycle — through the real sshd.

A device whose host key changed, whose login is refused or that cannot be reached opens one
case (`collect.device`) at the level of its criticality, whatever the number of its
collectors; their "not collected" verdicts are linked to it. A key that cannot be used (wrong
passphrase) is said, with the file, before the server is asked anything."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.app import build_pipeline, load_app
from agent.cases.queries import list_cases
from agent.connections.pool import POOL
from agent.inspection import inspect_devices
from agent.inventory import load_inventory
from core.problems import ConfigError
from tests.helpers import cli
from tests.peers import wait_until
from tests.sshdev import write_inventory

COLLECTORS = ["linux", "logs", "oracle"]
SETTINGS = {"oracle": {"oracle_home": "/nonexistent-xj", "sid": "PROD"},
            "logs": {"sources": [{"name": "a", "path": "/nonexistent-xj/x.log", "sets": ["syslog"]}]}}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def inventory(tmp_path: Path, peer: Any, **ssh: Any) -> Path:
    inv = write_inventory(tmp_path, peer, COLLECTORS, SETTINGS)
    doc = json.loads(inv.read_text())
    doc["devices"][0]["ssh"].update(ssh)
    inv.write_text(json.dumps(doc))
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\ntimezone: UTC\n")
    return inv


def keygen(path: Path, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
    return path


def sshd_lines(peer: Any, since: int) -> list[str]:
    return peer.sshd_log.read_text(errors="replace").splitlines()[since:]


@pytest.mark.peers
def test_a_refused_login_costs_one_attempt_per_cycle(tmp_path: Path, ssh_peer: Any) -> None:
    inventory(tmp_path, ssh_peer, key_file=str(keygen(tmp_path / "not_authorized")))
    before = len(sshd_lines(ssh_peer, 0))
    r = cli("inspect", "-f", "json", "-c", str(tmp_path / "xunjian.yaml"))
    assert r.returncode == 3, r.stderr
    wait_until(lambda: any("Connection closed by authenticating user" in ln
                           for ln in sshd_lines(ssh_peer, before)), timeout=5, what="sshd logged the login")
    lines = sshd_lines(ssh_peer, before)
    assert sum("Failed publickey" in ln for ln in lines) == 1, lines  # three collectors, one attempt
    assert sum(ln.startswith("Connection from") for ln in lines) == 1, lines
    results = json.loads(r.stdout)["results"]
    device = [x for x in results if x["check"] == "collect.device"]
    assert len(device) == 1 and device[0]["message"] == (
        f"no connection: authentication failed for user '{ssh_peer.user}' on {ssh_peer.host}:{ssh_peer.port}")


@pytest.mark.peers
def test_a_wrong_key_passphrase_says_so_and_names_the_key_file(tmp_path: Path, ssh_peer: Any) -> None:
    key = keygen(tmp_path / "enc_key", "the-right-one")
    sf = tmp_path / "secrets.yaml"
    sf.write_text(json.dumps({"pw": "not-the-passphrase"}))
    sf.chmod(0o600)
    inv = inventory(tmp_path, ssh_peer, key_file=str(key), key_passphrase="${secret:pw}")
    doc = json.loads(inv.read_text())
    doc["secrets_file"] = str(sf)
    inv.write_text(json.dumps(doc))
    before = len(sshd_lines(ssh_peer, 0))
    r = cli("inspect", "-f", "json", "-c", str(tmp_path / "xunjian.yaml"))
    device = [x for x in json.loads(r.stdout)["results"] if x["check"] == "collect.device"]
    assert device[0]["message"] == f"no connection: wrong passphrase for SSH key file {key} " \
                                   "(ssh.key_passphrase does not decrypt it)"
    assert "not-the-passphrase" not in r.stdout + r.stderr
    assert not [ln for ln in sshd_lines(ssh_peer, before) if "Failed" in ln]  # the server was not asked
    # without a passphrase: the key is encrypted, said so
    del doc["devices"][0]["ssh"]["key_passphrase"]
    inv.write_text(json.dumps(doc))
    r = cli("inspect", "-f", "json", "-c", str(tmp_path / "xunjian.yaml"))
    device = [x for x in json.loads(r.stdout)["results"] if x["check"] == "collect.device"]
    assert device[0]["message"] == f"no connection: SSH key file {key} is encrypted: give " \
                                   "ssh.key_passphrase (a secret reference)"


@pytest.mark.peers
def test_one_case_per_device_fault_at_its_criticality(tmp_path: Path, ssh_peer: Any) -> None:
    inv = inventory(tmp_path, ssh_peer)
    doc = json.loads(inv.read_text())
    core = doc["devices"][0]
    core["labels"] = {"criticality": "1"}  # a core server: its outage is a level-1 fault
    doc["groups"] = {"branch": {"labels": {"criticality": "main"}}}
    doc["devices"].append({**core, "name": "branch01", "port": closed_port(), "groups": ["branch"],
                           "labels": {}})
    doc["devices"].append({**core, "name": "plain01", "port": closed_port(), "labels": {}})
    inv.write_text(json.dumps(doc))
    # the host key changed: known_hosts holds another key for the core server
    other = keygen(tmp_path / "other_host_key")
    good = ssh_peer.known_hosts.read_text()
    bad = tmp_path / "known_hosts_changed"
    bad.write_text(f"[{ssh_peer.host}]:{ssh_peer.port} " + " ".join(
        Path(f"{other}.pub").read_text().split()[:2]) + "\n")
    core["ssh"]["known_hosts"] = str(bad)
    inv.write_text(json.dumps(doc))

    def cycle() -> list[Any]:
        app = load_app(tmp_path / "xunjian.yaml")
        pipeline = build_pipeline(app, influx=False)
        try:
            run = inspect_devices(pipeline, list(app.inventory.devices.values()), workers=6)
        finally:
            pipeline.close()
            POOL.close_all()  # as `xunjian inspect` does when it ends
        assert [(v.device, v.check) for v in run.verdicts if v.check == "collect.device"] == [
            ("branch01", "collect.device"), ("plain01", "collect.device"), ("testhost", "collect.device")]
        # the collectors' own failures (no sqlplus in /nonexistent-xj) are cases of their own
        return [c for c in list_cases(app.engine) if c.is_open and c.check == "collect.device"]

    for _ in range(2):  # and again: the same cases, nothing new
        cases = cycle()
        app = load_app(tmp_path / "xunjian.yaml")
        assert not [c for c in list_cases(app.engine, "all") if c.check != "collect.device"]  # none per collector
        assert sorted((c.device, c.check, c.level) for c in cases) == [
            ("branch01", "collect.device", 2), ("plain01", "collect.device", 3), ("testhost", "collect.device", 1)]
    core_case = next(c for c in cases if c.device == "testhost")
    assert "host key for" in core_case.message and "has CHANGED" in core_case.message

    # known_hosts fixed: the core server's case resolves; the others stay
    core["ssh"]["known_hosts"] = str(ssh_peer.known_hosts)
    inv.write_text(json.dumps(doc))
    assert good == ssh_peer.known_hosts.read_text()
    cases = cycle()
    assert sorted(c.device for c in cases) == ["branch01", "plain01"]
    app = load_app(tmp_path / "xunjian.yaml")
    assert next(c for c in list_cases(app.engine, "all") if c.number == core_case.number).status == "resolved"


def test_criticality_is_validated(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    dev = {"name": "sw1", "address": "10.0.0.1", "collectors": ["linux"], "ssh": {"user": "u"}}
    inv.write_text(json.dumps({"devices": [{**dev, "labels": {"criticality": "urgent"}}]}))
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    text = " ".join(str(p) for p in e.value.problems)
    assert "devices[0].labels.criticality" in text and "'urgent' is not a criticality: 1, 2 or 3" in text
    inv.write_text(json.dumps({"devices": [{**dev, "labels": {"criticality": "Major"}}]}))
    assert load_inventory(inv).devices["sw1"].labels["criticality"] == "Major"


def test_a_core_switch_down_is_a_level_1_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a switch's CLI the collector's own connection failing is the outage: its level is
    the switch's criticality (a closed port: refused at once)."""
    monkeypatch.setenv("XJ_CLI_PASS", "pw-for-the-switch")
    known = tmp_path / "known_hosts"
    known.write_text("")
    cli_settings = {"platform": "huawei", "port": closed_port(), "username": "inspector",
                    "password": "${XJ_CLI_PASS}", "known_hosts": str(known), "conn_timeout": 1}
    doc = {"groups": {"core": {"labels": {"criticality": "1"}}},
           "devices": [{"name": "sw-core-1", "kind": "switch", "address": "127.0.0.1", "groups": ["core"],
                        "collectors": ["cli"], "settings": {"cli": cli_settings}},
                       {"name": "sw-floor-3", "kind": "switch", "address": "127.0.0.1",
                        "collectors": ["cli"], "settings": {"cli": cli_settings}}]}
    (tmp_path / "inventory.yaml").write_text(json.dumps(doc))
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\ntimezone: UTC\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    try:
        inspect_devices(pipeline, list(app.inventory.devices.values()), workers=2)
    finally:
        pipeline.close()
    assert sorted((c.device, c.check, c.level) for c in list_cases(app.engine)) == [
        ("sw-core-1", "collect.cli", 1), ("sw-floor-3", "collect.cli", 3)]


def test_default_keys_that_cannot_be_decrypted_are_said(tmp_path: Path) -> None:
    import paramiko

    from agent.connections.ssh import _reason

    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{"name": "h", "address": "10.0.0.1", "collectors": ["linux"],
                                            "ssh": {"user": "u"}}]}))
    dev = load_inventory(inv).devices["h"]
    said = _reason(paramiko.SSHException("Invalid key"), "10.0.0.1:22", dev, tmp_path / "kh")
    assert said.startswith("a default SSH key (~/.ssh/id_*) could not be decrypted: wrong ssh.key_passphrase?")


def test_collectors_unknowns_are_linked_to_the_device_case_even_in_a_window(tmp_path: Path) -> None:
    """The engine alone: the device's case covers its collectors' UNKNOWNs, and a window that
    held the device's fault held theirs with it (one case when it ends, not four)."""
    from agent.cases.engine import CaseEngine
    from agent.cases.policy import load_case_policy
    from agent.store.db import open_engine
    from core.model import Status, Verdict
    from tests.test_case_engine import CONFIG, Clock, Dev

    def down(check: str, level: int | None) -> Verdict:
        return Verdict("db01", check, Status.UNKNOWN, "", message="no connection: refused", level=level)

    clock = Clock("2026-11-24 21:00")
    ce = CaseEngine(open_engine(tmp_path), load_case_policy(CONFIG, "xunjian.yaml"), {"db01": Dev("db01")}, clock)
    cycle = [down("collect.device", 1), *(down(f"collect.{c}", 3) for c in ("linux", "logs", "oracle"))]
    assert [(k, c.check, c.level) for k, c in ce.apply(cycle)] == [("open", "collect.device", 1)]
    assert ce.apply(cycle) == []
    (case,) = list_cases(ce.engine)
    ce.act(case.number, "resolve", "zhang.wei", note="test")
    ce.act(case.number, "close", "zhang.wei", cause="c", handling="h")
    clock.at("2026-11-24 22:30")  # inside db01's maintenance window (22:00-02:00)
    assert ce.apply(cycle) == [] and ce.apply(cycle) == []
    clock.at("2026-11-25 02:00")
    assert [(k, c.check) for k, c in ce.tick() if k == "open"] == [("open", "collect.device")]
