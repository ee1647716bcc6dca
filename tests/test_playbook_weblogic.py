"""restart-weblogic against a fake WebLogic server on the test host (a long-lived process
with a WebLogic command line writing BEA lines; start/stop scripts that really start and
stop it), through the real sshd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.connections.ssh import SshConnection
from agent.playbook.steps import start_command
from agent.playbook.weblogic import target
from tests.peers import wait_until
from tests.playbook_env import (
    device,
    fake_domain,
    kill_servers,
    request,
    runner,
    server_pids,
    weblogic_remediation,
    workspace,
    yes,
)

pytestmark = pytest.mark.peers
PARAMS = {"domain": "base_domain", "server": "ms1", "stop_timeout": "3", "start_timeout": "5"}


@pytest.fixture
def domain(ssh_peer) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        home = fake_domain(ws, ssh_peer.user)
        try:
            yield home
        finally:
            kill_servers(home)


def log_of(home: Path) -> str:
    path = home / "servers" / "ms1" / "logs" / "ms1.log"
    return path.read_text() if path.exists() else ""


def start_server(tmp_path: Path, peer, home: Path, allow_kill: bool = False,  # type: ignore[no-untyped-def]
                 health_port: int | None = None):
    dev = device(tmp_path, peer, weblogic_remediation(home, allow_kill, health_port))
    with SshConnection(dev) as conn:
        assert conn.run(start_command(target(dev.remediation, "base_domain/ms1"))).exit_status == 0
    wait_until(lambda: log_of(home).count("BEA-000360") == 1, timeout=10, what="fake server RUNNING")
    return dev


def test_restart_works(tmp_path: Path, ssh_peer, domain: Path) -> None:  # type: ignore[no-untyped-def]
    dev = start_server(tmp_path, ssh_peer, domain)
    (old,) = server_pids(domain)
    r = runner(tmp_path)
    plan = r.plan(request(dev, "restart-weblogic", PARAMS))
    assert plan.result == "planned", plan.message
    assert server_pids(domain) == [old]  # planning changed nothing
    stop = next(p for p in plan.planned if p.phase == "steps" and p.index == 0)
    assert stop.commands == [f"cd {domain} && timeout -k 5 3 {domain}/bin/stopManagedWebLogic.sh ms1"]

    res = r.apply(request(dev, "restart-weblogic", PARAMS), yes)
    assert res.result == "ok", (res.message, res.outcomes)
    (new,) = server_pids(domain)
    assert new != old
    assert log_of(domain).count("BEA-000360") == 2 and "SHUTTING_DOWN" in log_of(domain)
    assert res.facts_before["jvm base_domain/ms1"]["pids"] == [old]
    assert res.facts_after["jvm base_domain/ms1"]["pids"] == [new]


def test_start_that_never_reaches_running_fails_the_post_check(tmp_path: Path, ssh_peer,  # type: ignore[no-untyped-def]
                                                             domain: Path) -> None:
    dev = start_server(tmp_path, ssh_peer, domain)
    (domain / "mode-never-running").touch()
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", {**PARAMS, "start_timeout": "2"}), yes)
    assert res.result == "failed"
    assert res.message.startswith("post-check failed: post_checks[0]")
    assert "timed out after 2 s waiting for 'BEA-000360'" in res.message
    assert len(server_pids(domain)) == 1  # started, just never RUNNING


def test_hung_stop_hits_the_timeout_and_nothing_is_killed(tmp_path: Path, ssh_peer,  # type: ignore[no-untyped-def]
                                                          domain: Path) -> None:
    (domain / "mode-hang").touch()
    dev = start_server(tmp_path, ssh_peer, domain, allow_kill=True)
    (old,) = server_pids(domain)
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", {**PARAMS, "stop_timeout": "1"}), yes)
    assert res.result == "failed"
    assert "did not finish within 1 s" in res.message and "recovery ran" in res.message
    assert server_pids(domain) == [old]  # force_kill not asked for: still the same JVM
    assert "is running" in res.outcomes[-1]["message"]  # recovery saw it up and did not start another


def test_hung_stop_with_forced_kill_allowed_restarts(tmp_path: Path, ssh_peer, domain: Path) -> None:  # type: ignore[no-untyped-def]
    (domain / "mode-hang").touch()
    dev = start_server(tmp_path, ssh_peer, domain, allow_kill=True)
    (old,) = server_pids(domain)
    (domain / "mode-hang").unlink()  # the new one behaves
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", {**PARAMS, "stop_timeout": "1",
                                                                    "force_kill": "true"}), yes)
    assert res.result == "ok", (res.message, res.outcomes)
    assert any("killed pid" in o["message"] for o in res.outcomes)
    (new,) = server_pids(domain)
    assert new != old


def test_forced_kill_needs_the_inventory_too(tmp_path: Path, ssh_peer, domain: Path) -> None:  # type: ignore[no-untyped-def]
    (domain / "mode-hang").touch()
    dev = start_server(tmp_path, ssh_peer, domain, allow_kill=False)
    (old,) = server_pids(domain)
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", {**PARAMS, "stop_timeout": "1",
                                                                    "force_kill": "true"}), yes)
    assert res.result == "failed" and "timed out after 1 s waiting for the JVM" in res.message
    assert server_pids(domain) == [old]


def test_not_running_server_is_refused(tmp_path: Path, ssh_peer, domain: Path) -> None:  # type: ignore[no-untyped-def]
    dev = device(tmp_path, ssh_peer, weblogic_remediation(domain))
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", PARAMS), yes)
    assert res.result == "refused" and "pre-check failed" in res.message
    assert not res.outcomes and server_pids(domain) == []


def test_restart_waits_for_the_health_url(tmp_path: Path, ssh_peer, domain: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.peers import free_port

    port = free_port()
    (domain / "http-port").write_text(str(port))
    dev = start_server(tmp_path, ssh_peer, domain, health_port=port)
    res = runner(tmp_path).apply(request(dev, "restart-weblogic", {**PARAMS, "check_health": "true"}), yes)
    assert res.result == "ok", (res.message, res.outcomes)
    assert res.outcomes[-1]["message"] == "HTTP 200"
    assert any(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://127.0.0.1:{port}/health"
               == c["command"] for c in res.transcript)
