"""What our SSH client costs the server, through the real sshd: one key offered and accepted
once, AES-GCM negotiated, the private key parsed once per process (an encrypted
one too), and a command's stdout and stderr both read however much each side prints."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent.connections.ssh import KEYS, SshConnection
from agent.inventory import Device, load_inventory
from core.model import CollectionError

pytestmark = pytest.mark.peers


def device(tmp_path: Path, peer, key: Path | None = None, passphrase: str | None = None,  # type: ignore[no-untyped-def]
           **ssh: object) -> Device:
    settings: dict[str, object] = {"user": peer.user, "key_file": str(key or peer.client_key),
                                   "known_hosts": str(peer.known_hosts), "connect_timeout": 5, **ssh}
    doc: dict[str, object] = {"devices": [{"name": "testhost", "address": peer.host, "port": peer.port,
                                           "collectors": ["linux"], "ssh": settings}]}
    if passphrase is not None:
        settings["key_passphrase"] = "${secret:key_pw}"
        sf = tmp_path / "secrets.yaml"
        sf.write_text(json.dumps({"key_pw": passphrase}))
        sf.chmod(0o600)
        doc["secrets_file"] = str(sf)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps(doc))
    return load_inventory(inv).devices["testhost"]


def log_lines(peer, since: int) -> list[str]:  # type: ignore[no-untyped-def]
    return peer.sshd_log.read_text(errors="replace").splitlines()[since:]


def test_one_key_one_signature_aes_gcm(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    dev = device(tmp_path, ssh_peer)
    before = len(log_lines(ssh_peer, 0))
    for _ in range(2):
        with SshConnection(dev) as conn:
            t = conn.client.get_transport()  # type: ignore[union-attr]
            assert t.local_cipher == t.remote_cipher == "aes128-gcm@openssh.com"
            assert t.host_key_type == "ssh-ed25519"
            assert conn.run("echo hi").stdout == "hi\n"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # sshd writes its log as sessions end
        lines = log_lines(ssh_peer, before)
        if sum("Accepted publickey" in ln for ln in lines) >= 2:
            break
        time.sleep(0.05)
    assert sum("Accepted publickey" in ln for ln in lines) == 2
    assert not [ln for ln in lines if "Failed" in ln or "Postponed" in ln]
    # the key was parsed once for both connections
    assert KEYS.get(ssh_peer.client_key, None) is KEYS.get(ssh_peer.client_key, None)


def test_encrypted_key_with_passphrase(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "enc_ed25519"
    shutil.copy(ssh_peer.client_key, key)
    key.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "k3y-pass", "-f", str(key)], check=True,
                   capture_output=True)
    assert KEYS.get(key, "k3y-pass") is not None and KEYS.get(key, "wrong") is None
    with SshConnection(device(tmp_path, ssh_peer, key=key, passphrase="k3y-pass")) as conn:
        assert conn.run("echo ok").stdout == "ok\n"
    with pytest.raises(CollectionError) as e, SshConnection(device(tmp_path, ssh_peer, key=key, passphrase="nope")):
        pass
    assert "nope" not in str(e.value)


def test_large_stdout_and_stderr_both_read(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with SshConnection(device(tmp_path, ssh_peer, command_timeout=20)) as conn:
        t0 = time.monotonic()
        out = conn.run("head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o; "
                       "echo; echo done >&2")
        assert out.exit_status == 0 and len(out.stderr) == 3_000_005 and out.stderr.endswith("done\n")
        assert len(out.stdout) == 3_000_001 and set(out.stdout.strip()) == {"o"}
        assert time.monotonic() - t0 < 15
        out = conn.run("exit 0")  # nothing printed at all: ends on the exit status
        assert (out.stdout, out.stderr, out.exit_status) == ("", "", 0)


def test_command_that_exits_without_reading_stdin(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    # More input than the channel window (2 MiB) to a command that never reads it: the server
    # closes the channel while we are still writing; the exit status and output must survive.
    with SshConnection(device(tmp_path, ssh_peer, command_timeout=10)) as conn:
        out = conn.run("echo gone >&2; exit 127", input="x" * 5_000_000)
        assert (out.exit_status, out.stderr) == (127, "gone\n")
        assert conn.run("cat", input="pw\n").stdout == "pw\n"  # stdin still reaches a reader


def test_timed_out_commands_leak_no_descriptors(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with SshConnection(device(tmp_path, ssh_peer, command_timeout=0.3)) as conn:
        conn.run("true")
        before = len(list(Path("/proc/self/fd").iterdir()))
        for _ in range(5):
            with pytest.raises(CollectionError, match="timed out"):
                conn.run("sleep 5")
        assert len(list(Path("/proc/self/fd").iterdir())) <= before
        assert conn.run("echo still").stdout == "still\n"  # the connection is still usable


def test_known_hosts_parsed_once_per_file_version(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    from agent.connections.ssh import KNOWN_HOSTS

    kh = tmp_path / "known_hosts"
    kh.write_text(ssh_peer.known_hosts.read_text())
    dev = device(tmp_path, ssh_peer, known_hosts=str(kh))
    with SshConnection(dev) as conn:
        assert conn.run("true").exit_status == 0
    first = KNOWN_HOSTS.get(kh)
    assert KNOWN_HOSTS.get(kh) is first
    # the file changes (the host key is now another one): read again, and the change is refused
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kh.write_text(f"[{ssh_peer.host}]:{ssh_peer.port} " + " ".join(Path(f"{other}.pub").read_text().split()[:2]) + "\n")
    assert KNOWN_HOSTS.get(kh) is not first
    with pytest.raises(CollectionError, match="CHANGED"), SshConnection(dev):
        pass
