"""One SSH connection per device per cycle, through the real sshd: connections are counted
on both sides — the pool's counter and sshd's own log ("Accepted publickey" per login)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from agent.app import build_pipeline, load_app
from agent.config import DaemonModel
from agent.connections.pool import POOL, ConnectionPool
from agent.connections.ssh import SessionSlots
from agent.executor import Executor
from agent.inventory import Device
from agent.scheduler import Daemon, offset
from core.model import CollectionError, Job, Status
from tests.helpers import cli
from tests.peers import mute_server, wait_until
from tests.sshdev import device_for, give, write_inventory

pytestmark = pytest.mark.peers

THREE = ["linux", "config", "logs"]


def logins(peer: Any) -> int:
    return peer.sshd_log.read_text(errors="replace").count("Accepted publickey for")


def settings_for(remote_dir: Path, peer: Any) -> dict[str, Any]:
    conf = remote_dir / "app.conf"
    conf.write_text("a = 1\n")
    give(conf, peer)
    log = remote_dir / "app.log"
    log.write_text("ERROR one\n")
    give(log, peer)
    return {"config": {"files": [str(conf)]},
            "logs": {"sources": [{"name": "app", "path": str(log),
                                  "patterns": [{"name": "error", "regex": "ERROR"}]}],
                     "start_at": "beginning"}}


def server_side(peer: Any) -> list[psutil.Process]:
    """The sshd processes holding an established connection to the test sshd's port."""
    pids = {c.pid for c in psutil.net_connections(kind="tcp")
            if c.pid and c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == peer.port}
    return [psutil.Process(p) for p in pids if p != os.getpid()]


def client_side(peer: Any) -> list[Any]:
    """Our own sockets to the test sshd (paramiko closes its socket once it sees the close)."""
    return [c for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == peer.port]


def test_inspect_uses_one_connection_for_all_ssh_collectors(tmp_path: Path, ssh_peer: Any,
                                                            remote_dir: Path) -> None:
    inv = write_inventory(tmp_path, ssh_peer, THREE, settings_for(remote_dir, ssh_peer))
    before = logins(ssh_peer)
    r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json")
    doc = json.loads(r.stdout)
    collected = {x["check"] for x in doc["results"] if x["check"].startswith("collect.")}
    assert collected == {f"collect.{c}" for c in THREE} | {"collect.device"}, doc["results"]
    assert all(x["status"] == "ok" for x in doc["results"] if x["check"].startswith("collect.")), r.stdout
    wait_until(lambda: logins(ssh_peer) >= before + 1, timeout=5, what="sshd logging the login")
    assert logins(ssh_peer) == before + 1  # three collectors, one login


def test_concurrent_leases_share_one_connection(tmp_path: Path, ssh_peer: Any) -> None:
    dev = device_for(tmp_path, ssh_peer, ["linux"])
    before, opened = logins(ssh_peer), POOL.opened
    outputs: list[str] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with POOL.lease(dev) as conn:
                for j in range(3):
                    outputs.append(conn.run(f"echo {i}-{j}").stdout)
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(outputs) == sorted(f"{i}-{j}\n" for i in range(6) for j in range(3))
    assert POOL.opened == opened + 1
    assert logins(ssh_peer) == before + 1


def test_connection_killed_server_side_is_replaced(tmp_path: Path, ssh_peer: Any,
                                                   remote_dir: Path) -> None:
    dev = device_for(tmp_path, ssh_peer, THREE, settings_for(remote_dir, ssh_peer))
    ex = Executor()
    before, opened = logins(ssh_peer), POOL.opened
    first = ex.run(Job(dev.name, "linux"), dev)
    assert first.status is Status.OK, first.reason
    assert POOL.open_connections() == 1  # kept for the next collector
    # Kill the session's sshd processes, as an admin or an sshd restart would, and go on at
    # once: the dead connection is found dead on lease or when its channel will not open.
    procs = server_side(ssh_peer)
    assert procs
    for p in procs:
        p.send_signal(signal.SIGKILL)
    second = ex.run(Job(dev.name, "config"), dev)
    assert second.status is Status.OK, second.reason
    # and once more, the other path: after the client has seen the connection close
    for p in server_side(ssh_peer):
        p.send_signal(signal.SIGKILL)
    wait_until(lambda: not client_side(ssh_peer), timeout=5, what="the client seeing the close")
    third = ex.run(Job(dev.name, "logs"), dev)
    assert third.status is Status.OK, third.reason
    assert POOL.opened == opened + 3
    wait_until(lambda: logins(ssh_peer) >= before + 3, timeout=5, what="sshd logging the logins")
    assert logins(ssh_peer) == before + 3


def test_stopped_server_side_channel_refusal_reconnects_once(tmp_path: Path, ssh_peer: Any) -> None:
    """A connection whose far end hangs (SIGSTOP: TCP open, nothing answers): the channel does
    not open within the command timeout, nothing ran, so the lease reconnects and runs it."""
    dev = device_for(tmp_path, ssh_peer, ["linux"])
    dev = dataclasses.replace(dev, ssh=dataclasses.replace(dev.ssh, command_timeout=1.5))
    opened = POOL.opened
    with POOL.lease(dev) as conn:
        assert conn.run("echo one").stdout == "one\n"
    procs = server_side(ssh_peer)
    for p in procs:
        p.send_signal(signal.SIGSTOP)
    try:
        with POOL.lease(dev) as conn:
            assert conn.run("echo two").stdout == "two\n"
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.send_signal(signal.SIGCONT)
    assert POOL.opened == opened + 2


def test_idle_connection_closes_after_its_ttl_and_broken_ones_are_not_reused(
        tmp_path: Path, ssh_peer: Any) -> None:
    dev = device_for(tmp_path, ssh_peer, ["linux"])
    dev = dataclasses.replace(dev, ssh=dataclasses.replace(dev.ssh, idle_ttl=0.5, command_timeout=1))
    opened = POOL.opened
    with POOL.lease(dev) as conn:
        conn.run("true")
    assert POOL.open_connections() == 1 and server_side(ssh_peer)
    t0 = time.monotonic()
    wait_until(lambda: POOL.open_connections() == 0 and not server_side(ssh_peer), timeout=5,
               what="the idle connection closed")
    assert time.monotonic() - t0 > 0.3  # not before its TTL
    with POOL.lease(dev) as conn, pytest.raises(CollectionError, match="timed out"):
        conn.run("sleep 5")
    assert POOL.open_connections() == 0  # a timed-out connection is not kept
    with POOL.lease(dev) as conn:
        assert conn.run("echo fresh").stdout == "fresh\n"
    assert POOL.opened == opened + 3


def test_agent_cap_closes_an_idle_connection_to_make_room(tmp_path: Path, ssh_peer: Any) -> None:
    pool = ConnectionPool(SessionSlots(total=1))
    a = device_for(tmp_path, ssh_peer, ["linux"])
    b = dataclasses.replace(a, name="other")
    try:
        with pool.lease(a) as conn:
            conn.run("true")
        assert pool.open_connections() == 1  # idle, holding the agent's one slot
        with pool.lease(b) as conn:
            assert conn.run("echo b").stdout == "b\n"
            assert pool.open_connections() == 1  # a's was closed for it
            with pytest.raises(CollectionError, match="cap on connections at once"), pool.lease(
                    dataclasses.replace(a, ssh=dataclasses.replace(a.ssh, connect_timeout=0.3))):
                pass  # b is in use: nothing to evict
    finally:
        pool.close_all()


def test_daemon_gives_a_device_one_connection_per_cycle(tmp_path: Path, ssh_peer: Any,
                                                        remote_dir: Path) -> None:
    inv = write_inventory(tmp_path, ssh_peer, THREE, settings_for(remote_dir, ssh_peer))
    doc = json.loads(inv.read_text())
    # idle_ttl well under the interval: the connection must close between cycles, so the
    # three jobs share it only if they really start together
    doc["devices"][0].update(interval=3)
    doc["devices"][0]["ssh"]["idle_ttl"] = 1
    inv.write_text(json.dumps(doc))
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"data_dir": str(tmp_path / "var"),
                                                       "inventory": str(inv)}))
    app = load_app(tmp_path / "xunjian.yaml")
    assert len({offset(Job("testhost", c), 3) for c in THREE}) == 1
    daemon = Daemon(app.inventory, build_pipeline(app, influx=False), workers=4,
                    settings=DaemonModel(listen="off"))
    before = logins(ssh_peer)
    daemon.start()
    try:
        wait_until(lambda: sum(daemon.metrics.collections.values()) >= 6, timeout=30,
                   what="two cycles of three collectors")
    finally:
        daemon.stop()
    assert daemon.metrics.collections[("linux", "ok")] >= 2, daemon.metrics.collections
    assert not any(k[1] == "failed" for k in daemon.metrics.collections), daemon.metrics.errors
    cycles = daemon.metrics.collections[("linux", "ok")]
    wait_until(lambda: logins(ssh_peer) >= before + cycles, timeout=5, what="sshd logging the logins")
    assert logins(ssh_peer) == before + cycles  # one connection per cycle, not one per job


def test_close_all_closes_idle_connections(tmp_path: Path, ssh_peer: Any) -> None:
    """What reload, shutdown and the end of `xunjian inspect` call."""
    dev: Device = device_for(tmp_path, ssh_peer, ["linux"])
    with POOL.lease(dev) as conn:
        conn.run("true")
    assert POOL.open_connections() == 1
    POOL.close_all()
    assert POOL.open_connections() == 0
    # at once, although paramiko's reader thread now polls its socket only every IDLE_POLL s
    wait_until(lambda: not server_side(ssh_peer) and not client_side(ssh_peer), timeout=1,
               what="the session closed on both sides")


def test_collectors_waiting_for_a_failing_connect_get_its_answer(tmp_path: Path, ssh_peer: Any) -> None:
    """A hung server: one connect attempt for the device, not one per collector in turn."""
    reasons: list[str] = []
    with mute_server() as (port, accepted):
        dev = device_for(tmp_path, ssh_peer, ["linux"])
        # its own name: a device's session cap is fixed when the agent first sees it
        dev = dataclasses.replace(dev, name="hung", port=port, ssh=dataclasses.replace(
            dev.ssh, connect_timeout=1, max_sessions=3))

        def lease() -> None:
            try:
                with POOL.lease(dev):
                    reasons.append("connected?!")
            except CollectionError as e:
                reasons.append(str(e))

        t0 = time.monotonic()
        threads = [threading.Thread(target=lease) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        connects = len(accepted)
    assert len(reasons) == 3 and all("no SSH banner from 127.0.0.1:" in r and r.endswith(" within 1 s") for r in reasons), reasons
    assert connects == 1
    assert time.monotonic() - t0 < 2.5  # not three connect timeouts one after the other


def test_daemon_reload_and_stop_close_idle_connections(tmp_path: Path, ssh_peer: Any) -> None:
    inv = write_inventory(tmp_path, ssh_peer, ["linux"])
    doc = json.loads(inv.read_text())
    doc["devices"][0]["ssh"]["idle_ttl"] = 600
    inv.write_text(json.dumps(doc))
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"data_dir": str(tmp_path / "var"),
                                                       "inventory": str(inv)}))
    app = load_app(tmp_path / "xunjian.yaml")
    daemon = Daemon(app.inventory, build_pipeline(app, influx=False), workers=2,
                    settings=DaemonModel(listen="off"),
                    loader=lambda: load_app(tmp_path / "xunjian.yaml", engine=app.engine))
    dev = app.inventory.devices["testhost"]
    for stop in (False, True):
        with POOL.lease(dev) as conn:
            conn.run("true")
        assert POOL.open_connections() == 1  # idle, 600 s to go
        if stop:
            daemon.scheduler.start(paused=True)
            daemon.stop()
        else:
            assert daemon.reload()
        assert POOL.open_connections() == 0
        wait_until(lambda: not server_side(ssh_peer), timeout=2, what="the session closed")
