"""Real servers on 127.0.0.1 for tests: OpenSSH, InfluxDB 1.x and VictoriaMetrics.

Every peer runs as a subprocess in its own directory, on its own free port, and is
stopped by PID (SIGTERM, then SIGKILL after a deadline). Readiness is polled with a
deadline, never slept for. A missing binary raises RuntimeError naming the Debian package.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import urllib3

HOST = "127.0.0.1"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mute_server(greeting: bytes = b"", close: bool = False) -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port on 127.0.0.1 that accepts every connection, sends `greeting` (an SSH banner,
    say) and then never another byte: a hung server; with `close`, it closes each connection
    right after the greeting instead. Yields the port and the connections accepted so far
    (closed on exit)."""
    srv = socket.socket()
    srv.bind((HOST, 0))
    srv.listen(64)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn = srv.accept()[0]
            except OSError:
                return  # the listening socket was closed
            accepted.append(conn)
            if greeting:
                with contextlib.suppress(OSError):
                    conn.sendall(greeting)
            if close:
                conn.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield srv.getsockname()[1], accepted
    finally:
        srv.close()
        for conn in accepted:
            conn.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05,
               what: str = "") -> None:
    """Poll `predicate` until it returns true; exceptions it raises propagate."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def find_binary(name: str, package: str) -> str:
    """Absolute path of `name`, or RuntimeError telling which Debian package provides it."""
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{_SBIN_PATH}")
    if found is None:
        raise RuntimeError(f"{name} not found: install the Debian package {package!r} "
                           f"(apt-get install -y {package})")
    return found


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file ('' if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _tcp_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


_running: set[_Peer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for peer in list(_running):
        peer.stop()


class _Peer:
    """One server subprocess: start, readiness polling, stop by PID, log tail on failure."""

    name = "peer"
    start_timeout = START_TIMEOUT

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.log_file = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- to be provided by subclasses -------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Create files the server needs; called before every start."""

    def _log_files(self) -> list[Path]:
        return [self.log_file]

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _after_stop(self) -> None:
        """Clean-up after the process is gone."""

    # -- lifecycle --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def logs(self, lines: int = 40) -> str:
        parts = [f"--- {p} ---\n{tail(p, lines)}" for p in self._log_files() if p.exists()]
        return "\n".join(parts) or "(no log output)"

    def start(self) -> Self:
        if self.running:
            return self
        self._prepare()
        cmd = self._command()
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(cmd, cwd=self.workdir, env=self._env(),
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)
        _running.add(self)
        try:
            wait_until(self._ready_or_dead, timeout=self.start_timeout,
                       what=f"{self.name} on {self.host}:{self.port}")
        except (TimeoutError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"{self.name} did not start ({exc}); command: {' '.join(cmd)}\n"
                               f"{self.logs()}") from exc
        return self

    def _ready_or_dead(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self._proc.returncode}")
        return self._ready()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        self._after_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state} in {self.workdir}>"


class _HttpPeer(_Peer):
    """A peer spoken to over HTTP with urllib3."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.url = f"http://{self.host}:{self.port}"
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=30.0),
                                         retries=False)

    def _request(self, method: str, path: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        return self._http.request(method, self.url + path, **kwargs)

    def _status_is(self, path: str, *statuses: int) -> bool:
        try:
            resp = self._request("GET", path, timeout=urllib3.Timeout(connect=0.5, read=0.5))
        except urllib3.exceptions.HTTPError:
            return False
        return resp.status in statuses

    def _env(self) -> dict[str, str]:
        # nothing from the caller's environment may redirect the server elsewhere
        return {k: v for k, v in os.environ.items() if not k.startswith(("INFLUXDB_", "VM_"))}

    def _after_stop(self) -> None:
        self._http.clear()


# -- OpenSSH -------------------------------------------------------------------------


def ensure_test_user(user: str) -> pwd.struct_passwd:
    """Create `user` if missing and unlock it for key logins (sshd with UsePAM no refuses '!')."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run([find_binary("useradd", "passwd"), "-m", "-s", "/bin/bash", user],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(user)
    shadow = subprocess.run(["getent", "shadow", user], capture_output=True, text=True,
                            check=False).stdout.split(":")
    if len(shadow) < 2 or shadow[1] != "*":
        subprocess.run([find_binary("usermod", "passwd"), "-p", "*", user], check=True,
                       capture_output=True)
    home = Path(entry.pw_dir)
    if not home.is_dir():
        home.mkdir(mode=0o755, parents=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(home.stat().st_mode & 0o755)  # StrictModes: not group/world writable
    return entry


def _keygen(path: Path, comment: str) -> None:
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    subprocess.run([find_binary("ssh-keygen", "openssh-client"), "-q", "-t", "ed25519", "-N", "",
                    "-C", comment, "-f", str(path)], check=True, capture_output=True)
    path.chmod(0o600)


class SshPeer(_Peer):
    """sshd -D on 127.0.0.1:port, accepting only `user` with `client_key`."""

    name = "sshd"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.user = "xjtest"
        self.sshd = find_binary("sshd", "openssh-server")
        find_binary("ssh-keygen", "openssh-client")
        self.host_key = self.workdir / "ssh_host_ed25519_key"
        self.client_key = self.workdir / "client_ed25519"
        self.known_hosts = self.workdir / "known_hosts"
        self.config = self.workdir / "sshd_config"
        self.sshd_log = self.workdir / "sshd-events.log"
        self._tag = f"xunjian-test-peer-{self.port}-{os.getpid()}"
        _keygen(self.host_key, "xunjian-test-host")
        _keygen(self.client_key, self._tag)
        self.host_key_line = " ".join(
            self.host_key.with_name(self.host_key.name + ".pub").read_text().split()[:2])
        self.client_key_line = " ".join(
            self.client_key.with_name(self.client_key.name + ".pub").read_text().split()[:2])
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {self.host_key_line}\n")

    @property
    def authorized_keys(self) -> Path:
        return Path(pwd.getpwnam(self.user).pw_dir) / ".ssh" / "authorized_keys"

    def _prepare(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        self._authorize()
        self.config.write_text("\n".join([
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin no",
            f"AllowUsers {self.user}",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "StrictModes yes",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "LoginGraceTime 30",
            "X11Forwarding no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
            "",
        ]))

    def _authorize(self) -> None:
        """Add this peer's client key to the user's authorized_keys (kept until stop)."""
        entry = ensure_test_user(self.user)
        ssh_dir = Path(entry.pw_dir) / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = self.authorized_keys
        lines = keys.read_text().splitlines() if keys.exists() else []
        if not any(self._tag in line for line in lines):
            lines.append(f"{self.client_key_line} {self._tag}")
        self._write_keys(lines)

    def _write_keys(self, lines: list[str]) -> None:
        entry = pwd.getpwnam(self.user)
        ssh_dir = self.authorized_keys.parent
        tmp = ssh_dir / f".authorized_keys.{os.getpid()}.tmp"
        tmp.write_text("".join(f"{line}\n" for line in lines))
        for p in (ssh_dir, tmp):
            os.chown(p, entry.pw_uid, entry.pw_gid)
        ssh_dir.chmod(0o700)
        tmp.chmod(0o600)
        tmp.replace(self.authorized_keys)

    @contextlib.contextmanager
    def forced_command_key(self, path: Path, command: str) -> Iterator[Path]:
        """A second client key at `path` whose logins run `command` whatever the client asks
        (authorized_keys `command="…"`, no double quotes in it): a server whose commands hang,
        say. Removed on exit."""
        tag = f"{self._tag}-forced-{path.name}"
        _keygen(path, tag)
        line = " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])
        keys = self.authorized_keys
        self._write_keys([*keys.read_text().splitlines(), f'command="{command}" {line} {tag}'])
        try:
            yield path
        finally:
            self._write_keys([x for x in keys.read_text().splitlines() if tag not in x])

    def _after_stop(self) -> None:
        with contextlib.suppress(FileNotFoundError, KeyError):
            keys = self.authorized_keys
            lines = keys.read_text().splitlines()
            self._write_keys([line for line in lines if self._tag not in line])

    def _command(self) -> list[str]:
        return [self.sshd, "-D", "-f", str(self.config), "-E", str(self.sshd_log)]

    def _log_files(self) -> list[Path]:
        return [self.log_file, self.sshd_log]

    def _ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                s.settimeout(2.0)
                return s.recv(256).startswith(b"SSH-")
        except OSError:
            return False


# -- InfluxDB 1.x ---------------------------------------------------------------------


class InfluxV1Peer(_HttpPeer):
    """influxd (1.x) with HTTP on 127.0.0.1:port; data kept across stop/start."""

    name = "influxd"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.influxd = find_binary("influxd", "influxdb")
        self.rpc_port = free_port()
        self.config = self.workdir / "influxdb.conf"

    def _prepare(self) -> None:
        d = self.workdir
        self.config.write_text(f"""\
reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{d / 'meta'}"

[data]
  dir = "{d / 'data'}"
  wal-dir = "{d / 'wal'}"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  auth-enabled = false
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
""")

    def _command(self) -> list[str]:
        return [self.influxd, "run", "-config", str(self.config)]

    def _ready(self) -> bool:
        return self._status_is("/ping", 204)

    def query(self, db: str, q: str, epoch: str | None = "ns") -> dict[str, Any]:
        """POST /query (InfluxQL); the parsed JSON. HTTP errors raise RuntimeError.

        Times come back as integers in `epoch` units (ns by default); epoch=None gives RFC 3339.
        """
        fields = {"db": db, "q": q} if epoch is None else {"db": db, "q": q, "epoch": epoch}
        resp = self._request("POST", "/query", fields=fields, encode_multipart=False)
        body = resp.data.decode()
        if resp.status != 200:
            raise RuntimeError(f"InfluxDB /query {q!r} -> HTTP {resp.status}: {body}")
        result: dict[str, Any] = json.loads(body)
        return result

    def create_database(self, db: str) -> None:
        res = self.query(db, f'CREATE DATABASE "{db}"')
        errors = [r["error"] for r in res.get("results", []) if "error" in r]
        if errors:
            raise RuntimeError(f"CREATE DATABASE {db}: {errors}")

    def count(self, db: str, measurement: str, field: str) -> int:
        """SELECT count(field) FROM measurement; 0 if there is no such series."""
        res = self.query(db, f'SELECT count("{field}") FROM "{measurement}"')
        (first,) = res["results"]
        if "error" in first:
            raise RuntimeError(f"count {measurement}.{field} in {db}: {first['error']}")
        series = first.get("series") or []
        return sum(int(row[1]) for s in series for row in s["values"])


# -- VictoriaMetrics --------------------------------------------------------------------


class VictoriaMetricsPeer(_HttpPeer):
    """victoria-metrics single node on 127.0.0.1:port; data kept across stop/start."""

    name = "victoria-metrics"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = find_binary("victoria-metrics", "victoria-metrics")
        self.data_dir = self.workdir / "data"

    def _command(self) -> list[str]:
        return [self.binary, f"-httpListenAddr={self.host}:{self.port}",
                f"-storageDataPath={self.data_dir}", "-search.latencyOffset=0s",
                "-retentionPeriod=100y", "-loggerLevel=INFO"]

    def _ready(self) -> bool:
        return self._status_is("/health", 200)

    def flush(self) -> None:
        resp = self._request("GET", "/internal/force_flush")
        if resp.status != 200:
            raise RuntimeError(f"force_flush -> HTTP {resp.status}: {resp.data.decode()}")

    def export(self, match: str, start: str | None = None,
               end: str | None = None) -> list[dict[str, Any]]:
        """Series of /api/v1/export?match[]=match, one dict per JSON line.

        VictoriaMetrics' default `end` is the current second, which hides points written
        moments ago with a sub-second (or slightly future) timestamp; so unless told
        otherwise the range ends at now + 2 days, the newest timestamp VictoriaMetrics accepts.
        """
        fields = {"match[]": match, "end": end or str(int(time.time()) + 2 * 86400)}
        if start is not None:
            fields["start"] = start
        resp = self._request("GET", "/api/v1/export", fields=fields)
        body = resp.data.decode()
        if resp.status != 200:
            raise RuntimeError(f"export {match!r} -> HTTP {resp.status}: {body}")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def series_points(self, match: str) -> int:
        """Total number of points over all series matching `match`."""
        return sum(len(s["timestamps"]) for s in self.export(match))


# -- net-snmp snmpd ------------------------------------------------------------------


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class SnmpdPeer(_Peer):
    """net-snmp snmpd on udp:127.0.0.1:port with a v1/v2c community and v3 users:
    authPriv (SHA/AES, SHA-256/AES-256), authNoPriv (SHA) and noAuthNoPriv.

    The host's real interfaces (lo, eth0…) are its IF-MIB rows. `snmp(tool, *args)` runs
    the net-snmp command-line tools (Debian package `snmp`) against it, for comparisons.
    """

    name = "snmpd"
    community = "xj-test-community"
    v3_user = "xjv3"
    v3_auth = "xj-auth-pass-1"
    v3_priv = "xj-priv-pass-1"
    v3_user256 = "xjv3sha256"
    v3_user_auth = "xjv3auth"  # authNoPriv (SHA)
    v3_user_none = "xjv3none"  # noAuthNoPriv

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = free_udp_port()
        self.snmpd = find_binary("snmpd", "snmpd")
        self.snmpget = find_binary("snmpget", "snmp")
        self.conf = self.workdir / "snmpd.conf"

    def _prepare(self) -> None:
        (self.workdir / "persist").mkdir(exist_ok=True)
        self.conf.write_text(
            f"agentAddress udp:{HOST}:{self.port}\n"
            f"rocommunity {self.community} {HOST}\n"
            f'createUser {self.v3_user} SHA "{self.v3_auth}" AES "{self.v3_priv}"\n'
            f"rouser {self.v3_user} authpriv\n"
            f'createUser {self.v3_user256} SHA-256 "{self.v3_auth}" AES-256 "{self.v3_priv}"\n'
            f"rouser {self.v3_user256} authpriv\n"
            f'createUser {self.v3_user_auth} SHA "{self.v3_auth}"\n'
            f"rouser {self.v3_user_auth} auth\n"
            f"createUser {self.v3_user_none}\n"
            f"rouser {self.v3_user_none} noauth\n"
            "sysName xj-snmpd\nsysLocation loopback\n")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNMP")}
        env.update(SNMP_PERSISTENT_DIR=str(self.workdir / "persist"), MIBS="")
        return env

    def _command(self) -> list[str]:
        return [self.snmpd, "-f", "-I", "-smux", "-C", "-c", str(self.conf),
                "-Lf", str(self.log_file)]

    def _ready(self) -> bool:
        return self.snmp("snmpget", "1.3.6.1.2.1.1.3.0", check=False).returncode == 0

    def snmp(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a net-snmp tool (v2c, numeric output) against this agent."""
        cmd = [find_binary(tool, "snmp"), "-v2c", "-c", self.community, "-On", "-t", "0.5",
               "-r", "0", f"udp:{HOST}:{self.port}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30,
                              env={**self._env(), "MIBS": ""})
