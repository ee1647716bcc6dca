"""paramiko's transport, tuned for many short connections.

An inspection cycle opens one connection per server, runs one batch and closes it: what
paramiko spends per connection beyond the cryptography is the client CPU of a cycle. Each
change here keeps paramiko's behaviour and removes a cost measured in bench/bench_ssh.py
(figures in bench/RESULTS.md).
"""

from __future__ import annotations

import socket
import time
from typing import Any

import paramiko
from paramiko.common import DEBUG

READ_AHEAD = 65536  # bytes asked of the kernel per socket read (0: paramiko's exact reads)


class ReadAheadSocket:
    """A socket whose recv() reads ahead. paramiko's packetizer asks for a packet's first
    block, then for the rest: two system calls (and two GIL hand-offs in its reader thread)
    per packet, where one read usually holds the whole packet and often the next ones too
    (35 reads per host become 12). Everything else is the socket's own."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        if self._pos >= len(self._data):
            data = self._sock.recv(max(n, READ_AHEAD))
            if len(data) <= n:
                return data
            self._data, self._pos = data, 0
        start = self._pos
        self._pos = min(start + n, len(self._data))
        return self._data[start:self._pos]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlinePacketizer(paramiko.Packetizer):
    """The handshake timeout as a deadline checked where paramiko checks its flag, instead of
    a threading.Timer started and cancelled on every connection (a thread: ~0.14 ms CPU)."""

    _deadline: float | None = None
    _done = False

    def start_handshake(self, timeout: float) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        return self._deadline is not None and not self._done and time.monotonic() >= self._deadline

    def complete_handshake(self) -> None:
        if self._deadline is not None:
            self._done = True


class FastTransport(paramiko.Transport):
    """paramiko's Transport with AES-GCM preferred to AES-CTR + HMAC-SHA2: one AEAD pass per
    packet instead of a cipher and a MAC, on both ends (OpenSSH ≥ 6.2 offers it; older
    servers still get CTR); the order is paramiko's otherwise. Its socket reads ahead, its
    handshake timeout needs no thread, and the server's debug messages (sshd sends the
    authorized_keys options on every login) are escaped only when someone logs them."""

    _preferred_ciphers = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                          *(c for c in paramiko.Transport._preferred_ciphers if "gcm" not in c))

    def __init__(self, sock: socket.socket, **kwargs: Any) -> None:
        kwargs.setdefault("packetizer_class", DeadlinePacketizer)
        super().__init__(ReadAheadSocket(sock) if READ_AHEAD else sock, **kwargs)

    def _parse_debug(self, m: paramiko.Message) -> None:
        m.get_boolean()  # always_display
        msg = m.get_string()
        m.get_string()  # language
        if self.logger.isEnabledFor(DEBUG):
            self._log(DEBUG, f"Debug msg: {paramiko.util.safe_string(msg)!r}")
