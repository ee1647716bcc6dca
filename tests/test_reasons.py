"""A failed connection or command is one short reason on the verdict, in the same words on
every transport (SSH, switch CLI, SNMP, WebLogic REST): refused, timed out, name not
resolved, no route, no SSH banner, closed before the banner, a named command timed out.
Never a traceback on stderr, never the generated shell script in the reason."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import re
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from agent.connections.paramiko_log import LOGGER
from agent.connections.reasons import LABEL_CHARS, command_label, network_reason
from agent.connections.ssh import SshConnection
from agent.inventory import load_inventory
from collectors.common.batch import Batch
from collectors.snmp import SnmpCollector, SnmpSettings
from collectors.snmp_walk import bulk_walk
from collectors.weblogic.rest import RestClient, WeblogicRestSettings
from core.model import CollectionError, Target
from tests.helpers import XUNJIAN, cli
from tests.peers import HOST, SshPeer, free_port, mute_server, wait_until

pytestmark = pytest.mark.peers

NO_SUCH_HOST = "nohost.invalid"  # RFC 6761: never resolves


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: the kernel drops new SYNs, so a TCP connect to it
    times out (a firewall that drops, on loopback)."""
    srv = socket.socket()
    srv.bind((HOST, 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    held = [socket.create_connection((HOST, port), timeout=2)]  # fills the queue
    try:
        yield port
    finally:
        for s in held:
            s.close()
        srv.close()


def ssh_device(name: str, peer: SshPeer, port: int, address: str = HOST, key: Path | None = None,
               collectors: tuple[str, ...] = ("linux",), **settings: Any) -> dict[str, Any]:
    return {"name": name, "kind": "server", "address": address, "port": port,
            "collectors": list(collectors), "settings": settings,
            "ssh": {"user": peer.user, "key_file": str(key or peer.client_key),
                    "known_hosts": str(peer.known_hosts), "connect_timeout": 1, "command_timeout": 1,
                    "max_sessions": len(collectors)}}


def cli_device(name: str, port: int, known_hosts: Path) -> dict[str, Any]:
    return {"name": name, "kind": "switch", "address": HOST, "collectors": ["cli"],
            "settings": {"cli": {"platform": "huawei", "port": port, "username": "inspector",
                                 "password": "${XJ_CLI_PASS}", "known_hosts": str(known_hosts),
                                 "conn_timeout": 1}}}


def inspect(tmp_path: Path, devices: list[dict[str, Any]]) -> tuple[subprocess.CompletedProcess[str],
                                                                     dict[str, str]]:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": devices}))
    r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json",
            env={"XJ_CLI_PASS": "pw-for-the-switch"}, timeout=120)
    doc = json.loads(r.stdout)
    messages = {f"{x['device']} {x['check']}": x["message"] for x in doc["results"]}
    return r, messages


def test_inspect_says_why_a_connection_failed_in_one_line(tmp_path: Path, ssh_peer: SshPeer,
                                                          full_backlog: int) -> None:
    """Banner-less and closing SSH servers, a closed port, a dropped SYN and an unknown name,
    over SSH (paramiko) and the switch CLI (netmiko): each one short reason, exit 3, and not
    one traceback (paramiko's transport thread logs each banner failure with 20 lines)."""
    known = tmp_path / "known_hosts"
    known.write_text("")
    closed = free_port()
    with mute_server() as (mute, _), mute_server(close=True) as (closer, _):
        r, got = inspect(tmp_path, [
            ssh_device("ssh-mute", ssh_peer, mute), ssh_device("ssh-closer", ssh_peer, closer),
            ssh_device("ssh-closed", ssh_peer, closed), ssh_device("ssh-dropped", ssh_peer, full_backlog),
            ssh_device("ssh-unknown", ssh_peer, 22, address=NO_SUCH_HOST),
            cli_device("cli-mute", mute, known), cli_device("cli-closer", closer, known),
            cli_device("cli-closed", closed, known), cli_device("cli-dropped", full_backlog, known),
        ])
    assert "Traceback" not in r.stderr and " ERROR " not in r.stderr, r.stderr
    assert r.returncode == 3, (r.returncode, r.stderr)
    nc = "not collected: "
    assert got["ssh-mute collect.linux"] == f"{nc}no SSH banner from {HOST}:{mute} within 1 s"
    assert got["ssh-closer collect.linux"].startswith(
        f"{nc}{HOST}:{closer} closed the connection before the SSH banner ("), got
    assert got["ssh-closed collect.linux"] == f"{nc}connection refused by {HOST}:{closed}"
    assert got["ssh-dropped collect.linux"] == f"{nc}connection to {HOST}:{full_backlog} timed out after 1 s"
    assert got["ssh-unknown collect.linux"].startswith(f"{nc}host name '{NO_SUCH_HOST}' not resolved (")
    assert got["cli-mute collect.cli"] == f"{nc}no SSH banner from {HOST}:{mute} within 1 s"
    assert got["cli-closer collect.cli"] == f"{nc}{HOST}:{closer} closed the connection before the SSH banner"
    assert got["cli-closed collect.cli"] == f"{nc}connection refused by {HOST}:{closed}"
    assert got["cli-dropped collect.cli"] == f"{nc}connection to {HOST}:{full_backlog} timed out after 1.5 s"


def test_a_hung_command_is_named_not_quoted(tmp_path: Path, ssh_peer: SshPeer) -> None:
    """A real sshd whose every command hangs (a forced `sleep`): each SSH collector's reason
    names its command in a few words; the batch script (markers, quoting) appears nowhere."""
    with ssh_peer.forced_command_key(tmp_path / "hang_key", "exec sleep 8") as key:
        r, got = inspect(tmp_path, [ssh_device(
            "hung", ssh_peer, ssh_peer.port, key=key,
            collectors=("linux", "config", "logs", "oracle", "weblogic"),
            config={"files": ["/etc/hostname"]},
            logs={"sources": [{"name": "app", "path": "/var/log/app.log", "sets": ["syslog"]}]},
            oracle={"oracle_home": "/u01/app/oracle", "sid": "ORCL"},
            weblogic={"domain_home": "/u01/domains/base", "servers": [{"name": "ms1"}]})])
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert got == {
        "hung collect.device": "connected",  # the device answered; its commands hung
        "hung collect.linux": "not collected: linux health batch timed out after 1 s",
        "hung collect.config": "not collected: config file batch timed out after 1 s",
        "hung collect.logs": "not collected: log listing batch timed out after 1 s",
        "hung collect.oracle": "not collected: sqlplus timed out after 1 s",
        "hung collect.weblogic": "not collected: weblogic batch timed out after 1 s",
    }, got
    assert "@@xj" not in r.stdout + r.stderr and "LC_ALL" not in r.stdout + r.stderr


def test_paramiko_banner_traceback_is_lowered_not_everything(tmp_path: Path, ssh_peer: SshPeer) -> None:
    """The transport thread's exception and traceback become DEBUG records (seen when that
    logger is at DEBUG); what paramiko logs elsewhere keeps its level."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(LOGGER)
    handler, old_level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        inv = tmp_path / "inventory.yaml"
        with mute_server(close=True) as (port, _):
            inv.write_text(json.dumps({"devices": [ssh_device("closer", ssh_peer, port)]}))
            dev = load_inventory(inv).devices["closer"]
            with pytest.raises(CollectionError, match="closed the connection before the SSH banner"), \
                    SshConnection(dev):
                pass
        logger.error("Exception (client): logged outside a transport thread")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    texts = [(r.levelno, r.getMessage()) for r in records]
    assert (logging.DEBUG, "Exception (client): Error reading SSH protocol banner") in texts, texts
    assert any(level == logging.DEBUG and m.startswith("Traceback") for level, m in texts)
    assert [m for level, m in texts if level >= logging.WARNING] == [
        "Exception (client): logged outside a transport thread"]


def test_unresolvable_names_on_snmp_and_weblogic_rest() -> None:
    """Both failed with a library's error text (SNMP even as an internal error)."""
    with pytest.raises(CollectionError) as snmp:
        SnmpCollector().collect(Target("sw", "switch", NO_SUCH_HOST, settings=SnmpSettings(
            version="2c", community="public", timeout=0.5, retries=0)), None)
    assert str(snmp.value).startswith(f"host name '{NO_SUCH_HOST}' not resolved ("), snmp.value
    rest = RestClient(WeblogicRestSettings(url=f"https://{NO_SUCH_HOST}:7002", user="monitor",
                                           password="pw", domain="base", servers=["ms1"]))
    with pytest.raises(CollectionError) as web:
        rest.request("GET", "/management/weblogic/latest/domainRuntime/serverRuntimes")
    assert f": host name '{NO_SUCH_HOST}' not resolved (" in str(web.value), web.value


def test_snmp_walk_to_a_closed_udp_port_is_refused() -> None:
    """The lean walk's connected UDP socket hears the ICMP port-unreachable: refused, at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]  # closed again when the walk starts
    r = asyncio.run(bulk_walk(HOST, port, b"public", "1.3.6.1.2.1.2.2.1.8", max_repetitions=10,
                              timeout=2, retries=0))
    assert r.problem == f"walk 1.3.6.1.2.1.2.2.1.8: connection refused by {HOST}:{port}", r.problem


def test_weblogic_rest_connect_timeout_is_a_timeout(full_backlog: int) -> None:
    rest = RestClient(WeblogicRestSettings(url=f"https://{HOST}:{full_backlog}", user="monitor",
                                           password="pw", domain="base", servers=["ms1"], timeout=0.5))
    with pytest.raises(CollectionError) as e:
        rest.request("GET", "/x")
    assert str(e.value) == f"GET /x on {HOST}:{full_backlog}: connection to {HOST}:{full_backlog} timed out after 0.5 s"


@pytest.mark.parametrize(("error", "reason"), [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused by h:22"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host h:22 (host unreachable)"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "no route to h:22 (network unreachable)"),
    (TimeoutError("timed out"), "connection to h:22 timed out after 3 s"),
    (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
     "host name 'h' not resolved (Temporary failure in name resolution)"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "connection reset by h:22"),
    # paramiko raises this for refused *and* unreachable: it was all "refused" before
    (paramiko.ssh_exception.NoValidConnectionsError(
        {("h", 22): OSError(errno.EHOSTUNREACH, "No route to host")}), "no route to host h:22 (host unreachable)"),
    (ValueError("not a network error"), None),
])
def test_network_reasons(error: BaseException, reason: str | None) -> None:
    assert network_reason(error, "h", 22, 3) == reason


def test_network_reason_looks_into_what_a_library_raised_from() -> None:
    def netmiko_like() -> None:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        except OSError:
            raise RuntimeError("TCP connection to device failed. Common causes…")  # noqa: B904

    with pytest.raises(RuntimeError) as e:
        netmiko_like()
    assert network_reason(e.value, "h", 22, 3) == "connection refused by h:22"


def test_command_labels_are_short() -> None:
    b = Batch()
    b.add("stat", "cat /proc/stat")
    assert command_label(b.command()) == "command batch"
    assert command_label(b.command(), "linux health batch") == "linux health batch"
    assert command_label("df  -P\n -k") == "'df -P -k'"
    long = command_label("find " + "/very/long/path " * 20)
    assert long.startswith("'find /very/long/path") and long.endswith("…'")
    assert len(long) == LABEL_CHARS + 2



def test_daemon_log_has_no_banner_traceback(tmp_path: Path) -> None:
    """`xunjian run` against a banner-less and a closing server, cycle after cycle: the
    reasons are counted, and the log holds no paramiko traceback (20 lines a cycle before)."""
    listen = free_port()
    ssh = {"user": "x", "connect_timeout": 1}
    with mute_server() as (mute, _), mute_server(close=True) as (closer, _):
        (tmp_path / "inventory.yaml").write_text(json.dumps({"devices": [
            {"name": "mute", "address": HOST, "port": mute, "interval": 1, "ssh": ssh},
            {"name": "closer", "address": HOST, "port": closer, "interval": 1, "ssh": ssh}]}))
        (tmp_path / "xunjian.yaml").write_text(json.dumps({
            "data_dir": "var", "inventory": "inventory.yaml",
            "daemon": {"listen": f"{HOST}:{listen}", "backoff_after": 100}}))
        with (tmp_path / "daemon.log").open("w") as log:
            proc = subprocess.Popen([XUNJIAN, "run", "-c", str(tmp_path / "xunjian.yaml")],
                                    cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: banner_errors(listen) >= 6, timeout=60,
                           what="six banner failures counted in /metrics")
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    text = (tmp_path / "daemon.log").read_text()
    assert "Traceback" not in text and "paramiko" not in text, text[-3000:]
    assert f"not collected: no SSH banner from {HOST}:{mute} within 1 s" in text
    assert f"not collected: {HOST}:{closer} closed the connection before the SSH banner (" in text


def banner_errors(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
    except OSError:
        return 0
    found = re.search(r'^xunjian_collection_errors_total\{collector="linux",reason="banner"\} (\d+)',
                      metrics, re.M)
    return int(found.group(1)) if found else 0
