"""The linux collector through a real OpenSSH sshd on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.connections.ssh import SshConnection
from agent.executor import Executor
from agent.inventory import Device, load_inventory
from collectors.linux import DF_BLOCKS, DF_INODES, checked
from collectors.linux_parse import filesystems
from core.model import CollectionError, Job, Status
from tests.helpers import cli
from tests.peers import mute_server

pytestmark = pytest.mark.peers


def device_for(tmp_path: Path, peer, **ssh: object) -> Device:  # type: ignore[no-untyped-def]
    settings = {"user": peer.user, "key_file": str(peer.client_key),
                "known_hosts": str(peer.known_hosts), "connect_timeout": 5, **ssh}
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{
        "name": "testhost", "kind": "server", "address": peer.host, "port": peer.port,
        "collectors": ["linux"], "ssh": settings}]}))
    return load_inventory(inv).devices["testhost"]


def collect(device: Device):  # type: ignore[no-untyped-def]
    return Executor().run(Job(device.name, "linux"), device)


def test_disk_over_ssh_matches_local_df(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    result = collect(device_for(tmp_path, ssh_peer))
    assert result.status is Status.OK, result.reason
    remote = {s.tags["path"]: s.fields for s in result.samples if s.measurement == "disk"}
    local_out = [subprocess.run(c, shell=True, capture_output=True, text=True, check=True).stdout
                 for c in (DF_BLOCKS, DF_INODES)]
    local = {f.path: f for f in filesystems(*local_out)}
    assert set(remote) == set(local) and "/" in remote
    for path, f in local.items():
        assert remote[path]["total"] == f.total
        assert abs(remote[path]["used"] - f.used) <= max(64 * 2**20, f.total // 100)
    system = [s for s in result.samples if s.measurement == "system"]
    assert system and system[0].fields["n_cpus"] >= 1


def test_cli_inspects_over_ssh(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    device_for(tmp_path, ssh_peer)
    r = cli("inspect", "-i", str(tmp_path / "inventory.yaml"), "--data-dir", str(tmp_path / "var"),
            "-f", "json")
    doc = json.loads(r.stdout)
    checks = {(x["check"], x["instance"]): x["status"] for x in doc["results"]}
    assert checks[("collect.linux", "")] == "ok"
    assert ("disk_used_percent", "/") in checks


def other_key_line(tmp_path: Path) -> str:
    """A real, different host key: what a replaced server (or an impostor) would offer."""
    key = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def test_changed_host_key_is_refused(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[{ssh_peer.host}]:{ssh_peer.port} {other_key_line(tmp_path)}\n")
    result = collect(device_for(tmp_path, ssh_peer, known_hosts=str(kh)))
    assert result.status is Status.UNKNOWN and not result.samples
    assert "CHANGED" in result.reason and "man-in-the-middle" in result.reason
    # even accept-new never accepts a changed key
    result = collect(device_for(tmp_path, ssh_peer, known_hosts=str(kh),
                                host_key_policy="accept-new"))
    assert result.status is Status.UNKNOWN and "CHANGED" in result.reason


def test_unknown_host_rejected_unless_accept_new(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    kh = tmp_path / "empty_known_hosts"
    result = collect(device_for(tmp_path, ssh_peer, known_hosts=str(kh)))
    assert result.status is Status.UNKNOWN and "unknown" in result.reason
    assert not kh.exists()
    result = collect(device_for(tmp_path, ssh_peer, known_hosts=str(kh),
                                host_key_policy="accept-new"))
    assert result.status is Status.OK, result.reason
    assert ssh_peer.host_key_line in kh.read_text()
    # learnt once, it is now pinned: the default policy accepts it
    assert collect(device_for(tmp_path, ssh_peer, known_hosts=str(kh))).status is Status.OK


def test_wrong_user_is_unknown(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    result = collect(device_for(tmp_path, ssh_peer, user="nosuchuser"))
    assert result.status is Status.UNKNOWN
    assert "authentication failed for user 'nosuchuser'" in result.reason


def test_closed_port_is_unknown_quickly(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dev = device_for(tmp_path, ssh_peer)
    dev = Device(**{**{f: getattr(dev, f) for f in dev.__slots__}, "port": port})
    t0 = time.monotonic()
    result = collect(dev)
    assert result.status is Status.UNKNOWN and "refused" in result.reason
    assert time.monotonic() - t0 < dev.ssh.connect_timeout


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung sshd)."""
    with mute_server() as (port, _accepted):
        yield port


def test_silent_server_times_out(tmp_path: Path, ssh_peer, silent_listener: int) -> None:  # type: ignore[no-untyped-def]
    dev = device_for(tmp_path, ssh_peer, connect_timeout=1.5)
    dev = Device(**{**{f: getattr(dev, f) for f in dev.__slots__}, "port": silent_listener})
    t0 = time.monotonic()
    result = collect(dev)
    elapsed = time.monotonic() - t0
    assert result.status is Status.UNKNOWN, result.reason
    assert "banner" in result.reason or "timed out" in result.reason
    assert elapsed < 1.5 * 2 + 2  # one retry of the banner at most


def test_command_timeout_and_exit_status(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    dev = device_for(tmp_path, ssh_peer, command_timeout=1)
    with SshConnection(dev) as conn:
        out = conn.run("echo out; echo err >&2; exit 3")
        assert (out.exit_status, out.stdout, out.stderr) == (3, "out\n", "err\n")
        with pytest.raises(CollectionError, match="exited 3: err"):
            checked(out)
        t0 = time.monotonic()
        with pytest.raises(CollectionError, match="timed out after 1 s"):
            conn.run("sleep 10")
        assert time.monotonic() - t0 < 3


def test_session_caps_per_device_and_for_the_agent(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    from agent.connections.ssh import SessionSlots

    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{
        "name": "capped", "kind": "server", "address": ssh_peer.host, "port": ssh_peer.port,
        "collectors": ["linux"], "ssh": {"user": ssh_peer.user, "key_file": str(ssh_peer.client_key),
                                         "known_hosts": str(ssh_peer.known_hosts), "connect_timeout": 1,
                                         "max_sessions": 1}}]}))
    dev = load_inventory(inv).devices["capped"]
    assert dev.ssh.max_sessions == 1
    with SshConnection(dev) as first:
        assert first.run("echo one").stdout == "one\n"
        t0 = time.monotonic()
        with pytest.raises(CollectionError, match="at most 1 at once to this device"), SshConnection(dev):
            pass
        assert 0.9 < time.monotonic() - t0 < 3  # waited for the slot, within the connect timeout
    with SshConnection(dev) as again:  # released on exit, also after the failure above
        assert again.run("echo two").stdout == "two\n"
    slots = SessionSlots(total=1)
    held = slots.acquire(dev, 1)
    other = dataclasses.replace(dev, name="another")
    with pytest.raises(CollectionError, match="the agent's cap on connections at once is reached"):
        slots.acquire(other, 0.2)
    for sem in held:
        sem.release()
    assert slots.acquire(other, 0.2)
