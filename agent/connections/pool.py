"""One SSH connection per device, shared by its collectors.

A collector leases the device's connection for its run; leases at the same time share it
(each command is its own session channel, at most `ssh.max_sessions` at once). A returned
connection stays open `ssh.idle_ttl` seconds for the device's next collector of the cycle,
then a reaper thread closes it. A connection that broke (session lost, command timeout) is
never handed out again; one that died while idle (sshd restarted, a firewall dropped it) is
found dead when leased, or when a command cannot open its channel — then the lease connects
once more and runs the command there, since nothing ran on the dead one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from agent.connections.endpoint import SshEndpoint
from agent.connections.ssh import (
    SLOTS,
    ChannelRefused,
    CommandTimeout,
    ConnectFailed,
    SessionLost,
    SessionSlots,
    SshConnection,
)
from core.model import CollectionError, CommandOutput

log = logging.getLogger(__name__)


class _Pooled:
    """A connection with its bookkeeping; all fields are guarded by the pool's lock."""

    __slots__ = ("broken", "conn", "device", "idle_since", "served", "slot", "users")

    def __init__(self, conn: SshConnection, device: SshEndpoint, slot: threading.BoundedSemaphore) -> None:
        self.conn = conn
        self.device = device  # the settings it was opened with
        self.users = 1
        self.idle_since: float | None = None
        self.broken = False
        self.slot: threading.BoundedSemaphore | None = slot  # the agent-wide connection slot
        self.served = 0  # commands that completed on it

    def fits(self, device: SshEndpoint) -> bool:
        """Opened with the settings `device` has now (a reload may have changed them)."""
        d = self.device
        return (d.address, d.port, d.ssh) == (device.address, device.port, device.ssh)


class Lease:
    """What a collector gets: `run` on the device's shared connection."""

    def __init__(self, pool: ConnectionPool, device: SshEndpoint, pooled: _Pooled, opened: bool) -> None:
        self._pool, self.device, self._opened = pool, device, opened
        self._pooled: _Pooled | None = pooled  # None only while a reconnect failed
        self._reconnected = False

    def run(self, command: str, input: str | None = None, timeout: float | None = None,
            what: str | None = None) -> CommandOutput:
        """SshConnection.run on the device's shared connection; `what` names the command in a
        reason (otherwise its first words)."""
        pooled = self._pooled
        if pooled is None:
            raise CollectionError(f"SSH connection to {self.device.name} lost and not reopened")
        try:
            out = pooled.conn.run(command, input, timeout, what)
        except ChannelRefused:
            # Nothing ran. On a connection that worked before, the server side went away in
            # between: connect once more. A fresh connection that refuses is the answer.
            worked = not self._opened or pooled.served > 0
            self._pool._broken(pooled)
            if self._reconnected or not worked:
                raise
            self._reconnected = True
            log.info("SSH connection to %s was closed by the other end; reconnecting", self.device.name)
            self._pooled = None
            self._pool._give_back(pooled)
            pooled, _ = self._pool._take(self.device, time.monotonic() + self.device.ssh.connect_timeout)
            self._pooled, self._opened = pooled, True
            return self.run(command, input, timeout, what)  # a second refusal is reported
        except (SessionLost, CommandTimeout):
            self._pool._broken(pooled)
            raise
        with self._pool._lock:
            pooled.served += 1
        return out

    def _end(self) -> None:
        if self._pooled is not None:
            self._pool._give_back(self._pooled)
            self._pooled = None


class ConnectionPool:
    def __init__(self, slots: SessionSlots = SLOTS) -> None:
        self._slots = slots
        self._lock = threading.Condition()
        self._current: dict[str, _Pooled] = {}  # device name → the connection its leases share
        self._connecting: dict[str, threading.Lock] = {}  # one connect at a time per device
        # device → when its last connect failed, why, with which settings
        self._failed: dict[str, tuple[float, str, object]] = {}
        self._reaper: threading.Thread | None = None
        self.opened = 0  # connections opened since start (tests, the bench)
        self.opened_for: Counter[str] = Counter()  # the same per device name
        slots.evict = self._evict_one

    @contextmanager
    def lease(self, device: SshEndpoint) -> Iterator[Lease]:
        timeout = device.ssh.connect_timeout
        # Waiting for a slot or for another collector's connect counts against the connect
        # timeout: a job never hangs on a queue.
        session = self._slots.session(device, timeout)
        try:
            pooled, opened = self._take(device, time.monotonic() + timeout)
            lease = Lease(self, device, pooled, opened)
            try:
                yield lease
            finally:
                lease._end()
        finally:
            session.release()

    def _take(self, device: SshEndpoint, deadline: float) -> tuple[_Pooled, bool]:
        """The device's live connection (users + 1), or a new one; True when new."""
        asked = time.monotonic()
        with self._lock:
            connecting = self._connecting.setdefault(device.name, threading.Lock())
        # a little past the deadline: the collector connecting now has the same budget, and
        # its answer (below) says more than "waited too long"
        if not connecting.acquire(timeout=max(0.0, deadline - time.monotonic()) + 0.5):
            raise CollectionError(f"no SSH connection to {device.name} within "
                                  f"{device.ssh.connect_timeout:g} s (another collector's connect "
                                  "is still under way)")
        try:
            failed = self._failed.get(device.name)
            if failed is not None and failed[2] == _settings(device) and (
                    failed[0] >= asked or time.monotonic() - failed[0] < failed_hold(device)):
                # The connect this lease waited for, or one of this cycle, has just failed: the
                # same answer, without knocking on the device once per collector (a refused
                # login costs one attempt per cycle: fail2ban counts them).
                raise ConnectFailed(failed[1])
            stale: _Pooled | None = None
            with self._lock:
                cur = self._current.get(device.name)
                if cur is not None:
                    if not cur.broken and cur.fits(device) and cur.conn.alive():
                        cur.users += 1
                        cur.idle_since = None
                        return cur, False
                    stale = self._detach(cur)
            if stale is not None:
                self._close(stale)
            slot = self._slots.connection(max(0.0, deadline - time.monotonic()))
            conn = SshConnection(device)
            try:
                conn.open()
            except BaseException as e:
                slot.release()
                if isinstance(e, ConnectFailed):
                    self._failed[device.name] = (time.monotonic(), str(e), _settings(device))
                raise
            pooled = _Pooled(conn, device, slot)
            with self._lock:
                self._current[device.name] = pooled
                self._failed.pop(device.name, None)
                self.opened += 1
                self.opened_for[device.name] += 1
            return pooled, True
        finally:
            connecting.release()

    def _detach(self, p: _Pooled) -> _Pooled | None:
        """Under the lock: no new lease gets `p`; returns it when nobody uses it (close it)."""
        p.broken = True
        if self._current.get(p.device.name) is p:
            del self._current[p.device.name]
        return p if p.users == 0 else None

    def _broken(self, p: _Pooled) -> None:
        with self._lock:
            p.broken = True
            if self._current.get(p.device.name) is p:
                del self._current[p.device.name]

    def _give_back(self, p: _Pooled) -> None:
        with self._lock:
            p.users -= 1
            if p.users > 0:
                return
            if p.broken or self._current.get(p.device.name) is not p or p.device.ssh.idle_ttl <= 0:
                close = self._detach(p)
            else:
                p.idle_since = time.monotonic()
                close = None
                if self._reaper is None:
                    self._reaper = threading.Thread(target=self._reap, name="ssh-idle-reaper",
                                                    daemon=True)
                    self._reaper.start()
                self._lock.notify_all()
        if close is not None:
            self._close(close)

    def _close(self, p: _Pooled) -> None:
        try:
            p.conn.close()
        finally:
            with self._lock:
                slot, p.slot = p.slot, None
            if slot is not None:
                slot.release()

    def _idle(self) -> list[_Pooled]:
        return [p for p in self._current.values() if p.users == 0 and p.idle_since is not None]

    def _reap(self) -> None:
        """Closes connections idle past their TTL; ends when none is idle."""
        while True:
            with self._lock:
                now = time.monotonic()
                idle = self._idle()
                if not idle:
                    self._reaper = None
                    return
                expired = [p for p in idle if now >= p.idle_since + p.device.ssh.idle_ttl]  # type: ignore[operator]
                closing = [c for c in (self._detach(p) for p in expired) if c is not None]
                if not closing:
                    wake = min(p.idle_since + p.device.ssh.idle_ttl for p in idle)  # type: ignore[operator]
                    self._lock.wait(max(0.01, wake - now))
                    continue
            for p in closing:
                self._close(p)

    def _evict_one(self) -> bool:
        """Close the longest-idle connection to free an agent-wide slot; False when none is idle."""
        with self._lock:
            idle = self._idle()
            if not idle:
                return False
            victim = self._detach(min(idle, key=lambda p: p.idle_since))  # type: ignore[arg-type,return-value]
        if victim is not None:
            self._close(victim)
        return True

    def close_all(self) -> None:
        """Close idle connections now; those in use close when their lease ends (reload,
        shutdown, the end of `xunjian inspect`). Failed connects are forgotten: after a reload
        (a key fixed) the next lease tries again."""
        with self._lock:
            self._failed.clear()
            closing = [c for c in (self._detach(p) for p in list(self._current.values())) if c is not None]
            self._lock.notify_all()
        for p in closing:
            self._close(p)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._current)


FAILED_HOLD_MAX = 60.0  # seconds a failed connect stays the device's answer, at most


def _settings(device: SshEndpoint) -> object:
    """What a connect depends on: other settings (a reload) deserve another attempt."""
    return (device.address, device.port, device.ssh)


def failed_hold(device: SshEndpoint) -> float:
    """How long a failed connect answers the device's other leases: the rest of its cycle
    (half its interval, at most FAILED_HOLD_MAX); the next cycle tries again. (Leases that
    waited for that connect get its answer whatever the time.)"""
    return min(device.interval / 2, FAILED_HOLD_MAX)


POOL = ConnectionPool()
