"""A private PostgreSQL server on 127.0.0.1 for the store's tests (Debian's `postgresql`).

initdb into a fresh temporary directory, postgres on a free port with its Unix socket in that
directory, run as the unprivileged `postgres` user when the tests run as root (postgres refuses
root), stopped by PID with a fast shutdown (SIGINT) and removed. Each test gets its own
database (`database()`), owned by a login role with a password, reached by a SQLAlchemy URL.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Self

import psycopg

from tests.peers import _Peer, _running, wait_until

ROLE, PASSWORD = "xunjian", "pg-test-pw"
_numbers = itertools.count(1)


def pg_bin() -> Path:
    """The newest installed server's binaries (Debian puts no initdb on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("initdb not found: install the Debian package 'postgresql' "
                           "(apt-get install -y postgresql)")
    return Path(found[-1]).parent


class PostgresPeer(_Peer):
    name = "postgres"

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # False: fsync off, for the tests' speed; True for benchmarks
        self.bin = pg_bin()
        # Not under pytest's 0700 temp root: the postgres user must reach it.
        super().__init__(Path(tempfile.mkdtemp(prefix="xj-pg-")))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.workdir, pw.pw_uid, pw.pw_gid)
            os.chown(self.log_file.parent, pw.pw_uid, pw.pw_gid)
        self.data = self.workdir / "data"

    def _as_user(self) -> dict[str, object]:
        return {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}

    def _prepare(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                       cwd=self.workdir, check=True, capture_output=True, **self._as_user())  # type: ignore[call-overload]

    def _command(self) -> list[str]:
        fast = [] if self.durable else ["-c", "fsync=off", "-c", "full_page_writes=off"]
        return [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.workdir),
                "-c", "listen_addresses=127.0.0.1", *fast, "-c", "wal_level=minimal", "-c", "max_wal_senders=0",
                "-c", "jit=off", "-c", "max_connections=200"]

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                               autocommit=True, connect_timeout=2)

    def _ready(self) -> bool:
        try:
            with self._admin():
                return True
        except psycopg.OperationalError:
            return False

    def start(self) -> Self:
        if self.running:
            return self
        self._prepare()
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(self._command(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, **self._as_user())  # type: ignore[call-overload]
        _running.add(self)
        try:
            wait_until(self._ready_or_dead, timeout=self.start_timeout, what=f"postgres on port {self.port}")
        except (TimeoutError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"postgres did not start ({exc})\n{self.logs()}") from exc
        with self._admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: SIGTERM would wait for clients
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def database(self, name: str | None = None) -> str:
        """A new, empty database owned by the test role: its SQLAlchemy URL."""
        name = name or f"xj{os.getpid()}_{next(_numbers)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url(name)

    def url(self, name: str, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://{ROLE}:{password}@{self.host}:{self.port}/{name}"
