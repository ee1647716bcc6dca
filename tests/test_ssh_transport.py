"""paramiko tuned for short connections (agent.connections.ssh_transport): the read-ahead
socket keeps recv()'s meaning, the handshake deadline needs no timer thread and still
times a stalled key exchange out, and through the real sshd a login reads the socket far
fewer times than paramiko asks for data."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from agent.connections import ssh_transport
from agent.connections.ssh import SshConnection
from agent.connections.ssh_transport import DeadlinePacketizer, ReadAheadSocket
from agent.executor import Executor
from agent.inventory import Device
from core.model import Job, Status
from tests.peers import mute_server, wait_until
from tests.test_ssh_linux import device_for


def test_read_ahead_keeps_recv_semantics() -> None:
    a, b = socket.socketpair()
    with a, b:
        r = ReadAheadSocket(a)
        b.sendall(b"0123456789abcdef")
        assert r.recv(4) == b"0123"  # one kernel read took all 16 bytes
        assert r.recv(8) == b"456789ab"
        assert r.recv(100) == b"cdef"  # a short read: what is buffered, without blocking
        b.sendall(b"xyz")
        assert r.recv(3) == b"xyz"  # nothing buffered: straight from the socket
        r.settimeout(0.05)  # everything else is the socket's
        with pytest.raises(TimeoutError):
            r.recv(1)
        b.close()
        r.settimeout(1)
        assert r.recv(1) == b""  # EOF still reads as b""


def test_handshake_deadline_without_a_thread() -> None:
    a, b = socket.socketpair()
    with a, b:
        p = DeadlinePacketizer(a)
        threads = threading.active_count()
        assert not p.handshake_timed_out()  # not started
        p.start_handshake(0.1)
        assert threading.active_count() == threads
        assert not p.handshake_timed_out()
        wait_until(p.handshake_timed_out, timeout=2)
        p.complete_handshake()
        assert not p.handshake_timed_out()


@pytest.fixture
def stalling_server() -> Iterator[int]:
    """Sends an SSH banner, then never a byte more: a server hung in its key exchange."""
    with mute_server(b"SSH-2.0-OpenSSH_9.2p1 stalled\r\n") as (port, _accepted):
        yield port


@pytest.mark.peers
def test_stalled_key_exchange_is_unknown_within_the_connect_timeout(
        tmp_path: Path, ssh_peer, stalling_server: int) -> None:  # type: ignore[no-untyped-def]
    dev = device_for(tmp_path, ssh_peer, connect_timeout=1.5)
    dev = Device(**{**{f: getattr(dev, f) for f in dev.__slots__}, "port": stalling_server})
    t0 = time.monotonic()
    result = Executor(lambda d, c: None).run(Job(dev.name, "linux"), dev)
    assert result.status is Status.UNKNOWN
    assert "sent its SSH banner but did not complete the key exchange within 1.5 s" in result.reason
    assert time.monotonic() - t0 < 1.5 + 1.5


@pytest.mark.peers
def test_login_reads_ahead_and_starts_no_timer(tmp_path: Path, ssh_peer,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    kernel_reads: list[int] = []
    asked: list[int] = []

    class Counting:
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def recv(self, n: int) -> bytes:
            kernel_reads.append(n)
            return self._sock.recv(n)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._sock, name)

    init, recv = ReadAheadSocket.__init__, ReadAheadSocket.recv
    monkeypatch.setattr(ReadAheadSocket, "__init__", lambda self, s: init(self, Counting(s)))  # type: ignore[misc]
    monkeypatch.setattr(ReadAheadSocket, "recv", lambda self, n: (asked.append(n), recv(self, n))[1])
    timers: list[object] = []
    real_timer = threading.Timer
    monkeypatch.setattr(paramiko.packet.threading, "Timer",  # type: ignore[attr-defined]
                        lambda *a, **k: timers.append(a) or real_timer(*a, **k))
    with SshConnection(device_for(tmp_path, ssh_peer)) as conn:
        assert conn.run("echo one; echo two >&2").stdout == "one\n"
        assert isinstance(conn.client.get_transport().packetizer, DeadlinePacketizer)  # type: ignore[union-attr]
    assert timers == []
    assert len(asked) >= 20  # paramiko asks per block and per packet…
    # …the kernel far less often: at worst once per packet (packets that arrive one by one),
    # usually several packets at once (35 asks, 12 reads); without read-ahead, as often
    assert len(kernel_reads) <= 0.6 * len(asked)
    assert ssh_transport.READ_AHEAD in kernel_reads
