"""SSH with paramiko: known_hosts verified, timeouts everywhere, failures as reasons.

One SshConnection is one SSH connection; agent.connections.pool shares it between a
device's collectors, and agent.connections.ssh_transport is paramiko's transport tuned for
many short connections. Every failure becomes a CollectionError whose message says what
happened in an engineer's words — never a secret, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from agent.connections.endpoint import SshEndpoint
from agent.connections.paramiko_log import lower_transport_errors
from agent.connections.reasons import command_label, network_reason
from agent.connections.ssh_transport import FastTransport
from core.model import CollectionError, CommandOutput

log = logging.getLogger(__name__)
lower_transport_errors()  # a failed handshake is a reason on the verdict, not an ERROR traceback
MAX_OUTPUT = 16 * 1024 * 1024  # bytes per command; a collector never needs more
# A server at its MaxStartups limit closes new connections before its banner: try again after
# BANNER_PAUSE, then twice that (each × 0.5–1 jitter, so dropped clients do not return in step),
# at most BANNER_ATTEMPTS times and never past the connect timeout.
BANNER_ATTEMPTS = 3
BANNER_PAUSE = 0.3


class ConnectFailed(CollectionError):
    """No connection to the device (unreachable, host key, login, key file): every collector of
    the device fails the same way — one fault of the device."""


class SessionLost(CollectionError):
    """The connection broke under a command: it is not reused."""


class ChannelRefused(SessionLost):
    """No session channel could be opened: nothing ran, so the command may be retried on a
    new connection."""


class CommandTimeout(CollectionError):
    """The command ran past its timeout (the connection may be stuck: it is not reused)."""


class OutputTooLarge(CollectionError):
    """The command printed more than MAX_OUTPUT: its channel is closed, the connection stays."""


class _KeyCache:
    """Private keys loaded once per (path, mtime, size): paramiko's key_filename tries each key
    class in turn on every connection, which costs more than the signature itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, int, int, str], paramiko.PKey] = {}

    def load(self, path: Path, passphrase: str | None) -> paramiko.PKey:
        """The key, or CollectionError saying why not — before any connection, so a key that
        cannot be used never costs the server a failed login: a wrong passphrase says so and
        names the file."""
        pkey = self.get(path, passphrase)
        if pkey is not None:
            return pkey
        try:
            path.stat()
            with path.open("rb"):
                pass
        except OSError as e:
            raise CollectionError(f"SSH key file {path} unreadable: {e.strerror or e}") from None
        try:
            paramiko.PKey.from_path(path, None)
            encrypted = False
        except (TypeError, paramiko.PasswordRequiredException):
            encrypted = True
        except (paramiko.SSHException, OSError, ValueError):
            encrypted = False
        if encrypted and passphrase:
            raise CollectionError(f"wrong passphrase for SSH key file {path} (ssh.key_passphrase "
                                  "does not decrypt it)")
        if encrypted:
            raise CollectionError(f"SSH key file {path} is encrypted: give ssh.key_passphrase "
                                  "(a secret reference)")
        raise CollectionError(f"SSH key file {path} is not a private key xunjian can read "
                              "(OpenSSH or PEM format expected)")

    def get(self, path: Path, passphrase: str | None) -> paramiko.PKey | None:
        try:
            st = path.stat()
        except OSError:
            return None  # paramiko's own attempt reports it
        key = (str(path), st.st_mtime_ns, st.st_size, passphrase or "")
        with self._lock:
            found = self._keys.get(key)
        if found is not None:
            return found
        try:
            pkey = paramiko.PKey.from_path(path, passphrase.encode() if passphrase else None)
        except (paramiko.SSHException, OSError, ValueError, TypeError):
            return None  # unreadable or unknown: let paramiko's key_filename path say why
        with self._lock:
            self._keys = {k: v for k, v in self._keys.items() if k[0] != key[0]}
            self._keys[key] = pkey
        return pkey


KEYS = _KeyCache()


class _KnownHostsCache:
    """known_hosts parsed once per file version: paramiko re-reads and re-parses the whole file
    (every key object) on every connection, which grows with the number of devices."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, tuple[tuple[int, int, int], paramiko.HostKeys]] = {}

    def get(self, path: Path) -> paramiko.HostKeys:
        st = path.stat()
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._files.get(str(path))
        if hit is not None and hit[0] == version:
            return hit[1]
        keys = paramiko.HostKeys(str(path))  # OSError / SSHException: the caller says which file
        with self._lock:
            self._files[str(path)] = (version, keys)
        return keys


KNOWN_HOSTS = _KnownHostsCache()


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """OpenSSH's `StrictHostKeyChecking=accept-new`: learn unknown hosts, never changed ones.

    paramiko itself raises BadHostKeyException for a changed key before a policy is asked,
    so this only ever sees hosts that are not in known_hosts at all.
    """

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        with self.known_hosts.open("a", encoding="ascii") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        log.warning("accepted new host key for %s (%s %s) into %s", hostname, key.get_name(),
                    _fingerprint(key), self.known_hosts)


class SessionSlots:
    """Caps on SSH use. Per device: sessions (commands) at once — a real server drops handshakes
    beyond its MaxStartups, and a switch allows only a few VTY sessions. For the whole agent:
    connections open at once; when that cap is reached, `evict` (the pool's) may close an
    idle connection to make room."""

    def __init__(self, total: int = 64) -> None:
        self._lock = threading.Lock()
        self._total = threading.BoundedSemaphore(total)
        self._per_device: dict[str, threading.BoundedSemaphore] = {}
        self.evict: Callable[[], bool] | None = None

    def set_total(self, total: int) -> None:
        with self._lock:
            self._total = threading.BoundedSemaphore(total)

    def session(self, device: SshEndpoint, timeout: float) -> threading.BoundedSemaphore:
        """One of the device's `max_sessions` slots, waited for at most `timeout` seconds."""
        with self._lock:
            mine = self._per_device.get(device.name)
            if mine is None:  # the cap a device starts with stays until restart
                mine = self._per_device[device.name] = threading.BoundedSemaphore(device.ssh.max_sessions)
        if not mine.acquire(timeout=timeout):
            raise CollectionError(f"no SSH session slot for {device.name} within {timeout:g} s "
                                  f"(at most {device.ssh.max_sessions} at once to this device)")
        return mine

    def connection(self, timeout: float) -> threading.BoundedSemaphore:
        """One of the agent's connection slots; idle pooled connections give theirs up first."""
        with self._lock:
            total = self._total
        deadline = time.monotonic() + timeout
        while True:
            if total.acquire(blocking=False):
                return total
            if self.evict is not None and self.evict():
                continue  # an idle connection gave its slot back
            left = deadline - time.monotonic()
            if left <= 0:
                raise CollectionError(f"no SSH connection slot within {timeout:g} s (the agent's cap "
                                      "on connections at once is reached: raise daemon.ssh_sessions)")
            # a short wait, then look again for an idle connection to close
            if total.acquire(timeout=min(left, 0.1)):
                return total

    def acquire(self, device: SshEndpoint, timeout: float) -> tuple[threading.BoundedSemaphore, ...]:
        """A session and a connection slot, for a connection of its own (playbooks)."""
        deadline = time.monotonic() + timeout
        mine = self.session(device, timeout)
        try:
            return (mine, self.connection(max(0.0, deadline - time.monotonic())))
        except CollectionError:
            mine.release()
            raise


SLOTS = SessionSlots()


class SshConnection:
    """A live SSH session to one device. Use as a context manager."""

    def __init__(self, device: SshEndpoint) -> None:
        self.device = device
        self.client: paramiko.SSHClient | None = None
        self._slots: tuple[threading.BoundedSemaphore, ...] = ()

    def __enter__(self) -> SshConnection:
        # Waiting for a slot counts against the connect timeout: a job never hangs on a queue.
        self._slots = SLOTS.acquire(self.device, self.device.ssh.connect_timeout)
        try:
            self.open()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            self._release()

    def _release(self) -> None:
        for sem in self._slots:
            sem.release()
        self._slots = ()

    def open(self) -> None:
        """Connect and log in; ConnectFailed with the reason when that cannot be done."""
        try:
            self._open()
        except ConnectFailed:
            raise
        except CollectionError as e:
            raise ConnectFailed(str(e)) from None

    def _open(self) -> None:
        d, s = self.device, self.device.ssh
        kwargs: dict[str, object] = {
            "hostname": d.address, "port": d.port, "username": s.user, "allow_agent": False,
            "look_for_keys": s.key_file is None and s.password is None,
        }
        if s.key_file is not None:
            # one signature with the one key: nothing else is offered
            kwargs["pkey"] = KEYS.load(s.key_file, s.key_passphrase.get_secret_value()
                                       if s.key_passphrase else None)
        elif s.key_passphrase is not None:
            kwargs["passphrase"] = s.key_passphrase.get_secret_value()
        if s.password is not None:
            kwargs["password"] = s.password.get_secret_value()
        where = f"{d.address}:{d.port}"
        # All attempts share one connect_timeout budget. Each attempt gets a fresh client: a
        # failed paramiko client keeps half-torn transport state.
        deadline = time.monotonic() + s.connect_timeout
        drops = 0
        for attempt in range(1, BANNER_ATTEMPTS + 1):
            left = deadline - time.monotonic()
            client = self._new_client()
            t0 = time.monotonic()
            try:
                client.connect(**kwargs, timeout=left, banner_timeout=left, auth_timeout=left,  # type: ignore[arg-type]
                               transport_factory=FastTransport)
                self.client = client
                _quiet_reader(client)
                return
            except paramiko.SSHException as e:
                err: paramiko.SSHException = e
                transport = client.get_transport()
                no_banner = transport is not None and not transport.remote_version
                stalled = (not no_banner and transport is not None and not transport.initial_kex_done
                           and time.monotonic() - t0 >= left - 0.05)  # not a refused algorithm
                client.close()
                if stalled:  # paramiko says "No existing session" once its wait has run out
                    raise CollectionError(f"{where} sent its SSH banner but did not complete the key "
                                          f"exchange within {s.connect_timeout:g} s") from None
                # paramiko sometimes surfaces a banner problem as "No existing session".
                if not (no_banner or "banner" in str(err).lower()):
                    raise CollectionError(_reason(err, where, d, s.known_hosts)) from None
                if time.monotonic() - t0 >= left - 0.05:  # silent until the end: a hung server
                    raise CollectionError(f"no SSH banner from {where} within "
                                          f"{s.connect_timeout:g} s") from None
                drops += 1  # closed before its banner: MaxStartups (or a full accept queue)
                pause = BANNER_PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
                if attempt == BANNER_ATTEMPTS or time.monotonic() + pause + 0.1 >= deadline:
                    break
                log.info("%s closed the connection before the SSH banner (attempt %d); retrying "
                         "in %.2f s", where, attempt, pause)
                time.sleep(pause)
            except (OSError, EOFError) as e:
                client.close()
                raise CollectionError(_reason(e, where, d, s.known_hosts)) from None
        raise CollectionError(f"{where} closed the connection before the SSH banner ({drops} times "
                              f"within {s.connect_timeout:g} s: server at its MaxStartups limit?)")

    def _new_client(self) -> paramiko.SSHClient:
        s = self.device.ssh
        client = paramiko.SSHClient()
        if s.known_hosts.exists():
            try:
                # Shared, read-only: paramiko only reads its "system" host keys (it consults them
                # first, and never saves them); accept-new adds to the client's own set and file.
                client._system_host_keys = KNOWN_HOSTS.get(s.known_hosts)
            except (OSError, paramiko.SSHException) as e:
                raise CollectionError(f"known_hosts file {s.known_hosts} unreadable: {e}") from None
        if s.host_key_policy == "accept-new":
            client.set_missing_host_key_policy(AcceptNewPolicy(s.known_hosts))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return client

    def run(self, command: str, input: str | None = None, timeout: float | None = None,
            what: str | None = None) -> CommandOutput:
        """Run `command`; `input`, when given, is written to its stdin and then closed (the way
        to hand a program a password without putting it on any command line); `timeout`
        (seconds) overrides the device's command_timeout; `what` names the command in a
        reason ("linux health batch"), which otherwise quotes its first words."""
        transport = self.client.get_transport() if self.client is not None else None
        if transport is None or not transport.is_active():
            raise ChannelRefused("SSH connection is not open")
        timeout = timeout or self.device.ssh.command_timeout
        label = command_label(command, what)  # never the whole command: it may be a long script
        chan: paramiko.Channel | None = None
        try:
            try:
                chan = transport.open_session(timeout=timeout)
            except (paramiko.SSHException, OSError, EOFError) as e:
                raise ChannelRefused(f"{label} not run: no SSH session channel ({e or 'closed'})") \
                    from None
            chan.settimeout(timeout)
            chan.exec_command(command)
            if input is not None:
                try:
                    chan.sendall(input.encode())
                    chan.shutdown_write()
                except OSError:
                    # A command that exits without reading stdin (sqlplus not installed: exit
                    # 127) closes the channel under the write; its output and status still count.
                    # The server sent EOF before closing; a dead transport sends nothing.
                    if not (chan.closed and chan.eof_received):
                        raise
            deadline = time.monotonic() + timeout
            out, err = bytearray(), bytearray()
            ready = chan.fileno()  # readable when stdout or stderr data, EOF or close arrives
            while True:
                # Read both streams as they come: a chatty stderr must not block stdout.
                got = False
                while chan.recv_ready():
                    out += chan.recv(65536)
                    got = True
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                    got = True
                if len(out) + len(err) > MAX_OUTPUT:
                    raise OutputTooLarge(f"{label}: output too large (more than "
                                         f"{_size(MAX_OUTPUT)}); cut off")
                if chan.eof_received and chan.exit_status_ready() and not got:
                    out += _drain(chan.recv)
                    err += _drain(chan.recv_stderr)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if got:
                    continue
                if chan.eof_received:  # the pipe stays readable after EOF: wait for the status
                    chan.status_event.wait(min(left, 0.05))
                else:  # data, EOF or close wakes us; the 50 ms cap is a safety net
                    select.select([ready], [], [], min(left, 0.05))
            status = chan.recv_exit_status()
        except TimeoutError:
            raise CommandTimeout(f"{label} timed out after {timeout:g} s") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise SessionLost(f"{label} failed: SSH session lost ({e or type(e).__name__})") from None
        finally:
            if chan is not None:  # also frees the pipe behind fileno(), on every path
                with contextlib.suppress(Exception):
                    # paramiko closes the fileno() pipe without unhooking it from the channel's
                    # buffers: data still arriving (output cut off at the cap) makes the transport
                    # thread write to the closed pipe (EPIPE/EBADF), which kills the whole
                    # connection. Swap in plain events first, under the buffers' own locks.
                    chan.in_buffer.set_event(threading.Event())
                    chan.in_stderr_buffer.set_event(threading.Event())
                with contextlib.suppress(Exception):
                    chan.close()
        return CommandOutput(command, status, out.decode("utf-8", "replace"),
                             err.decode("utf-8", "replace"))

    def alive(self) -> bool:
        transport = self.client.get_transport() if self.client is not None else None
        return transport is not None and transport.is_active()

    def close(self) -> None:
        if self.client is not None:
            transport = self.client.get_transport()
            if transport is not None:  # wakes paramiko's reader thread now (see _quiet_reader)
                with contextlib.suppress(OSError):
                    transport.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
            self.client.close()
            self.client = None


IDLE_POLL = 5.0  # seconds: how often paramiko's reader thread wakes on a quiet connection


def _quiet_reader(client: paramiko.SSHClient) -> None:
    """paramiko's reader thread polls its socket every 0.1 s, for nothing but to notice a close;
    on a pooled connection waiting idle that cost ~0.4 ms CPU per connection per second (60
    idle connections: 26 ms/s). After the handshake (whose timeouts need the short poll), poll
    every IDLE_POLL s; close() shuts the socket down, which wakes the thread at once."""
    transport = client.get_transport()
    if transport is not None:
        with contextlib.suppress(OSError):
            transport.sock.settimeout(IDLE_POLL)  # type: ignore[union-attr]


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n} bytes"


def _drain(recv: object) -> bytes:
    buf = bytearray()
    while True:
        chunk = recv(65536)  # type: ignore[operator]
        if not chunk:
            return bytes(buf)
        buf += chunk


def _fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_fingerprint().hex()


def _reason(e: BaseException, where: str, d: SshEndpoint, known_hosts: Path) -> str:
    if isinstance(e, paramiko.BadHostKeyException):
        return (f"host key for {where} has CHANGED (offered {e.key.get_name()} "
                f"{_fingerprint(e.key)}, known_hosts {known_hosts} has "
                f"{_fingerprint(e.expected_key)}): possible man-in-the-middle; verify the "
                f"server and update known_hosts")
    if isinstance(e, paramiko.AuthenticationException):
        return f"authentication failed for user '{d.ssh.user}' on {where}"
    if isinstance(e, OSError):  # refused, timed out, name not resolved, no route…
        found = network_reason(e, d.address, d.port, d.ssh.connect_timeout)
        if found is not None:
            return found
    if isinstance(e, paramiko.SSHException):
        text = str(e)
        if "not found in known_hosts" in text:
            return (f"host key for {where} is unknown (not in {known_hosts}); add it with "
                    f"ssh-keyscan, or set ssh.host_key_policy: accept-new for this device")
        if "banner" in text.lower():
            return f"no SSH banner from {where} within {d.ssh.connect_timeout:g} s"
        if text in ("Invalid key", "Unable to parse key file") or "decrypt" in text.lower():
            # the user's default keys (no key_file): paramiko names no file
            return ("a default SSH key (~/.ssh/id_*) could not be decrypted: wrong "
                    "ssh.key_passphrase? (or give ssh.key_file)")
        return f"SSH error from {where}: {text}"
    if isinstance(e, OSError):
        return f"cannot connect to {where}: {e.strerror or e}"
    return f"SSH connection to {where} closed unexpectedly"
