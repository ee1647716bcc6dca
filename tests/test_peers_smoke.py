"""The test peers themselves work: sshd, InfluxDB 1.x and VictoriaMetrics on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest
import urllib3
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from tests.peers import InfluxV1Peer, SshPeer, VictoriaMetricsPeer, wait_until

pytestmark = pytest.mark.peers


def ssh_client(peer: SshPeer, known_hosts: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(peer.host, port=peer.port, username=peer.user, key_filename=str(peer.client_key),
                   look_for_keys=False, allow_agent=False, timeout=5, auth_timeout=5,
                   banner_timeout=5)
    return client


def test_ssh_peer_runs_a_command(ssh_peer: SshPeer) -> None:
    assert ssh_peer.known_hosts.read_text() == \
        f"[127.0.0.1]:{ssh_peer.port} {ssh_peer.host_key_line}\n"
    client = ssh_client(ssh_peer, ssh_peer.known_hosts)
    try:
        _, stdout, _ = client.exec_command("echo hello", timeout=10)
        out = stdout.read().decode()
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()
    assert out.strip() == "hello"


def test_ssh_peer_unknown_host_key_is_rejected(ssh_peer: SshPeer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        ssh_client(ssh_peer, empty)


def test_influx_peer_keeps_data_across_restart(
        make_influx_peer: Callable[[], InfluxV1Peer]) -> None:
    influx = make_influx_peer()
    influx.create_database("smoke")
    now = time.time_ns()
    lines = "\n".join(f"cpu,host=h{i} usage={i}.5 {now + i}" for i in range(3))
    resp = urllib3.request("POST", f"{influx.url}/write?db=smoke&precision=ns",
                           body=lines.encode(), retries=False)
    assert resp.status == 204, resp.data
    assert influx.count("smoke", "cpu", "usage") == 3
    assert influx.count("smoke", "nothing_here", "usage") == 0
    port = influx.port
    influx.stop()
    assert not influx.running
    influx.start()
    assert influx.running and influx.port == port
    assert influx.count("smoke", "cpu", "usage") == 3


def test_vm_peer_accepts_influx_v2_writes(vm_peer: VictoriaMetricsPeer) -> None:
    now = time.time_ns()
    points = [Point("smoke").tag("host", "h").field("v", float(i)).time(now + i * 10**9,
                                                                       WritePrecision.NS)
              for i in range(3)]
    with InfluxDBClient(url=vm_peer.url, token="x", org="x") as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket="b", record=points)

    def arrived() -> bool:
        vm_peer.flush()
        return vm_peer.series_points('smoke_v{host="h"}') == 3

    wait_until(arrived, timeout=5, what="3 points in VictoriaMetrics")
    (series,) = vm_peer.export('smoke_v{host="h"}')
    assert series["metric"]["__name__"] == "smoke_v"
    assert series["values"] == [0.0, 1.0, 2.0]
    assert series["timestamps"] == [(now + i * 10**9) // 10**6 for i in range(3)]


def test_vm_peer_keeps_data_across_restart(
        make_vm_peer: Callable[[], VictoriaMetricsPeer]) -> None:
    vm = make_vm_peer()
    now = time.time_ns()
    body = "\n".join(f"restart,host=h v={i} {now - (3 - i) * 10**9}" for i in range(3))
    resp = urllib3.request("POST", f"{vm.url}/api/v2/write?org=x&bucket=b", body=body.encode(),
                           retries=False)
    assert resp.status == 204, resp.data
    vm.stop()
    assert not vm.running
    vm.start()
    assert vm.series_points("restart_v") == 3


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    peer = InfluxV1Peer(tmp_path)
    with socket.socket() as squatter:
        squatter.bind((peer.host, peer.port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="address already in use"):
            peer.start()
    assert not peer.running
