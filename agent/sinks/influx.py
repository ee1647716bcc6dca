"""InfluxDB sinks: v1 `/write` (InfluxDB 1.x) and the v2 write API (InfluxDB 2.x, VictoriaMetrics).

Samples are serialised once into line protocol, spooled to disk, and a sender thread
drains the spool oldest first, in batches, gzip'd, one request at a time. While the server
is away the sender backs off (0.5 s doubling to 30 s, with jitter); new samples are spooled
and do not wake it. A batch the server rejects as malformed (4xx) is set aside, not retried
forever. A request that is not answered in time is waited for, not sent again (HttpWriter).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import random
import re
import select
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from agent.config import InfluxSink
from agent.losses import Losses, is_disk_full
from agent.sinks.lineproto import LineSerializer
from agent.sinks.spool import Spool
from agent.sinks.stored import already_stored
from core.model import Sample
from core.redaction import basic_auth, redact

log = logging.getLogger(__name__)


# Level 1 costs a ninth of the CPU of influxdb-client's level 9 (0.05 vs 0.45 s for 10 MB of
# line protocol here) for a body about a fifth larger: the agent's CPU is the scarcer resource.
GZIP_LEVEL = 1
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


class Retry(Exception):
    """The server is unreachable or failing: keep the batch, try later."""


class Rejected(Exception):
    """The server refused the batch as such: retrying will not help."""


class Unanswered(Retry):
    """The connection ended after the batch was sent, before an answer: it goes out again, and
    the server may have stored it already."""


class Abandoned(Exception):
    """The sink was closed while a request was still unanswered: the batch stays spooled."""


def _classify(status: int, body: str) -> Exception:
    body = redact(body)  # a server or proxy may echo the request's credentials
    if status in (408, 429) or status >= 500:
        return Retry(f"HTTP {status}: {body[:200]}")
    return Rejected(f"HTTP {status}: {body[:500]}")


def _reason(e: BaseException) -> str:
    """"Connection refused", "timed out"…: the OS's words, also under urllib3's wrapper."""
    for err in (e, e.__cause__, e.__context__):
        if isinstance(err, OSError) and err.strerror:
            return err.strerror
    if isinstance(e, urllib3.exceptions.ConnectTimeoutError | TimeoutError):
        return "timed out"
    return type(e).__name__


def _keepalive(timeout: float) -> list[tuple[int, int, int]]:
    """TCP keepalive tells a dead peer or path (no ACKs) from a frozen or slow server (its
    kernel still ACKs): the first ends the wait for an answer, the second does not."""
    opts = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    if hasattr(socket, "TCP_KEEPIDLE"):
        opts += [(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(timeout))),
                 (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 5), (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)]
    return opts


class HttpWriter:
    """POSTs a batch, one request at a time, each on its own connection.

    A request that gets no answer within `timeout` is not sent again: the server may be hung
    (frozen, a stalled disk) with the request in its socket buffer, and it processes every
    such copy when it wakes — InfluxDB overwrites identical points, VictoriaMetrics keeps each
    copy (measured: 42,112 duplicates on 12,118 samples after a 60 s freeze). So the writer
    says so once and keeps waiting for that answer on the same connection for as long as the
    connection lives. Only a connection that dies unanswered (keepalive, reset) or a stop makes
    the batch go out again later; `unanswered` counts those lines, which may be stored twice.
    """

    def __init__(self, cfg: InfluxSink) -> None:
        self.cfg = cfg
        u = urlsplit(cfg.url)
        self.where = f"{u.scheme}://{u.hostname}:{u.port or (443 if u.scheme == 'https' else 80)}"
        self._host, self._port, self._tls = u.hostname or "", u.port, u.scheme == "https"
        prefix = u.path.rstrip("/")
        self.headers = {"Content-Type": "text/plain; charset=utf-8"}
        if cfg.gzip:
            self.headers["Content-Encoding"] = "gzip"
        if cfg.version == 1:
            params = {"db": cfg.database or "", "precision": "ns"}
            if cfg.retention_policy:
                params["rp"] = cfg.retention_policy
            self.path = f"{prefix}/write?{urlencode(params)}"
            if cfg.username:
                pw = cfg.password.get_secret_value() if cfg.password else ""
                token = basic_auth(cfg.username, pw)  # the header is a secret too
                self.headers["Authorization"] = f"Basic {token}"
        else:
            params = {"org": cfg.org or "", "bucket": cfg.bucket or "", "precision": "ns"}
            self.path = f"{prefix}/api/v2/write?{urlencode(params)}"
            self.headers["Authorization"] = f"Token {cfg.token.get_secret_value() if cfg.token else ''}"
        self.base_url = f"{u.scheme}://{u.netloc.rpartition('@')[2]}{prefix}"
        self.stalled_since = 0.0  # monotonic time of the unanswered request, 0 when none
        self._check = urllib3.PoolManager(  # for already_stored(): reads only, rare
            cert_reqs="CERT_REQUIRED" if cfg.verify_tls else "CERT_NONE",
            ca_certs=str(cfg.ca_file) if cfg.ca_file else None, retries=False)
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> HTTPConnection:
        opts = _keepalive(self.cfg.timeout)
        if self._tls:
            return HTTPSConnection(self._host, self._port, timeout=self.cfg.timeout, socket_options=opts,
                                   cert_reqs="CERT_REQUIRED" if self.cfg.verify_tls else "CERT_NONE",
                                   ca_certs=str(self.cfg.ca_file) if self.cfg.ca_file else None)
        return HTTPConnection(self._host, self._port, timeout=self.cfg.timeout, socket_options=opts)

    def send(self, body: bytes, abort: threading.Event) -> None:
        data = gzip.compress(body, compresslevel=GZIP_LEVEL) if self.cfg.gzip else body
        conn = self._connection()
        with self._lock:
            self._conn = conn
        try:
            try:
                conn.connect()
            except (OSError, urllib3.exceptions.HTTPError) as e:  # nothing sent: safe to retry
                raise Retry(f"{self.where}: {_reason(e)}") from None
            conn.timeout = None  # from here on the server has the batch, or part of it: be patient
            try:
                conn.request("POST", self.path, body=data, headers=self.headers)
                self._await_answer(conn, abort)
                if self.stalled_since:
                    log.warning("sink %s: %s answered after %.0f s", self.cfg.name, self.where,
                                time.monotonic() - self.stalled_since)
                conn.timeout = self.cfg.timeout
                resp = conn.getresponse()
                status, text = resp.status, resp.data.decode("utf-8", "replace")
            except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as e:
                if abort.is_set():
                    raise Abandoned() from None
                raise Unanswered(f"{self.where}: connection lost before an answer ({_reason(e)})") from None
        finally:
            self.stalled_since = 0.0
            with self._lock:
                self._conn = None
            conn.close()
        if status not in (200, 204):
            raise _classify(status, text)

    def _await_answer(self, conn: HTTPConnection, abort: threading.Event) -> None:
        sent = time.monotonic()
        while True:
            if abort.is_set():
                raise Abandoned()
            sock = conn.sock
            if sock is None:
                raise Retry(f"{self.where}: connection closed")
            readable, _, _ = select.select([sock], [], [], 0.5)
            if readable:  # an answer, or the connection's end
                return
            if not self.stalled_since and time.monotonic() - sent >= self.cfg.timeout:
                self.stalled_since = sent
                log.warning("sink %s: no answer from %s within %g s; waiting for it on the same "
                            "connection (sending the batch again could store it twice)",
                            self.cfg.name, self.where, self.cfg.timeout)

    def already_stored(self, body: bytes) -> bool | None:
        return already_stored(self._check, self.base_url, self.headers, body, self.cfg.timeout)

    def abort(self) -> None:
        """From another thread, at the stop deadline: break a send blocked on a full socket."""
        with self._lock:
            conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.abort()
        self._check.clear()


def rejected_count(message: str, lines: int) -> int:
    """InfluxDB 1.x keeps the good points of a 'partial write' and says how many it dropped."""
    m = re.search(r"partial write.*dropped=(\d+)", message)
    return min(int(m.group(1)), lines) if m else lines


class InfluxSinkWriter:
    """The sink the pipeline writes to: spool first, a background sender drains."""

    def __init__(self, cfg: InfluxSink, spool_root: Path, losses: Losses | None = None) -> None:
        self.cfg = cfg
        self.name = f"influx:{cfg.name}"
        self.spool = Spool(spool_root / cfg.name, cfg.spool_max_bytes)
        self.writer = HttpWriter(cfg)
        self.losses = losses or Losses()
        self.sent = 0
        self.rejected = 0
        self.unanswered = 0  # lines sent again with no telling whether the server had them
        self.recognised = 0  # lines not sent again: the server had stored them already
        self._uncertain: set[str] = set()  # batches whose last request went unanswered
        self.attempts = 0
        self.failures = 0
        self.serializer = LineSerializer()  # its dropped_fields / dropped_points are reported
        self.last_error = ""
        self.retry_at = 0.0  # monotonic; while in the future the sender is backing off
        self._wake = threading.Event()  # new data (ignored while backing off)
        self._kick = threading.Event()  # flush / close: try now, backoff or not
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._note_unanswered()
        self._thread = threading.Thread(target=self._run, name=f"sink-{cfg.name}", daemon=True)
        self._thread.start()

    def write(self, samples: list[Sample]) -> None:
        data, lines = self.serializer.encode(samples)
        try:
            self.spool.append_bytes(data, lines)
        except OSError as e:
            if not is_disk_full(e):
                raise
            self.losses.record(f"spool {self.cfg.name}", lines, e)
            return
        self.losses.ok(f"spool {self.cfg.name}")
        self._idle.clear()
        self._wake.set()

    def _note_unanswered(self) -> None:
        """A previous run stopped while a request was unanswered: that batch is checked first."""
        marker = self.spool.dir / "unanswered"
        if marker.exists():
            self._uncertain = set(marker.read_text().split()) & {f.name for f in self.spool.files()}
            if not self._uncertain:  # dropped by the spool's bound meanwhile
                marker.unlink(missing_ok=True)
                return
            log.warning("sink %s: the last run stopped before %s answered batch %s",
                        self.cfg.name, self.writer.where, " ".join(sorted(self._uncertain)))

    def _resolve_uncertain(self, files: list[Path]) -> tuple[list[Path], bytes] | None:
        """The batch whose request went unanswered, exactly as it was sent — unless the server
        stored it already (then it is done with, and None is returned)."""
        files = [f for f in files if f.name in self._uncertain]
        body = b"".join(f.read_bytes() for f in files)
        lines = body.count(b"\n")
        stored = self.writer.already_stored(body)
        if stored:
            log.warning("sink %s: %s had stored the %d samples of the unanswered request; not sent "
                        "again", self.cfg.name, self.writer.where, lines)
            self.recognised += lines
            self.sent += lines
            self.spool.remove(files)
            self._forget_uncertain()
            return None
        if stored is None:  # cannot tell (InfluxDB: it overwrites the same points anyway)
            self.unanswered += lines
        self._forget_uncertain()
        return files, body

    def _mark_uncertain(self, files: list[Path]) -> None:
        """Kept in the spool too: a stop, even a kill, must not forget it."""
        self._uncertain = {f.name for f in files}
        with contextlib.suppress(OSError):
            (self.spool.dir / "unanswered").write_text(" ".join(sorted(self._uncertain)) + "\n")

    def _forget_uncertain(self) -> None:
        self._uncertain = set()
        (self.spool.dir / "unanswered").unlink(missing_ok=True)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            files, body = self.spool.take(self.cfg.batch_size)
            if not files:
                self._idle.set()
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            if self._uncertain and files[0].name in self._uncertain:
                batch = self._resolve_uncertain(files)
                if batch is None:
                    continue
                files, body = batch
            self.attempts += 1
            try:
                self.writer.send(body, self._abort)
            except Abandoned:
                self._mark_uncertain(files)
                return
            except Retry as e:
                self.failures += 1
                if isinstance(e, Unanswered):  # asked about before it goes out again
                    self._mark_uncertain(files)
                if self.last_error != str(e):
                    log.warning("sink %s: %s; %d batches spooled, retrying with backoff", self.cfg.name,
                                e, self.spool.pending)
                self.last_error = str(e)
                backoff = min(BACKOFF_MAX, backoff * 2 or BACKOFF_FIRST)
                delay = backoff * (0.75 + random.random() / 2)  # jitter: senders do not march together
                self.retry_at = time.monotonic() + delay
                self._kick.wait(delay)  # not _wake: new samples are spooled, they do not hurry us
                self._kick.clear()
                self.retry_at = 0.0
                continue
            except Rejected as e:
                lost = rejected_count(str(e), body.count(b"\n"))
                self.rejected += lost
                self.sent += body.count(b"\n") - lost
                log.error("sink %s rejected %d samples; the batch is set aside in %s/rejected: %s",
                          self.cfg.name, lost, self.spool.dir, e)
                self.spool.set_aside(files, str(e))
                continue
            if self.last_error:
                log.warning("sink %s: delivering again", self.cfg.name)
            self.last_error = ""
            backoff = 0.0
            self.sent += body.count(b"\n")
            self.spool.remove(files)

    def status(self) -> dict[str, object]:
        now = time.monotonic()
        return {"pending_batches": self.spool.pending, "sent": self.sent, "rejected": self.rejected,
                "attempts": self.attempts, "failed_attempts": self.failures,
                "not_resent_stored": self.recognised, "resent_unknown": self.unanswered,
                "retry_in": round(max(0.0, self.retry_at - now), 1) if self.retry_at else 0.0,
                "unanswered_for": round(now - self.writer.stalled_since, 1) if self.writer.stalled_since
                else 0.0, "last_error": self.last_error}

    def flush(self, timeout: float = 30.0) -> bool:
        """Try now (backoff or not) until the spool is empty; False at the deadline or as soon
        as an attempt fails (the server is still away: no point hammering it)."""
        deadline = time.monotonic() + timeout
        failures = self.failures
        self._kick.set()
        self._wake.set()
        while time.monotonic() < deadline:
            if self.spool.pending == 0:
                return True
            if self.failures > failures or not self._thread.is_alive():
                return False
            time.sleep(0.05)
        return self.spool.pending == 0

    def close(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        if not self.flush(timeout):
            log.warning("sink %s: %d batches stay spooled in %s for the next start",
                        self.cfg.name, self.spool.pending, self.spool.dir)
        self._stop.set()
        self._kick.set()
        self._wake.set()
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():  # a request still unanswered: give it up, it stays spooled
            self._abort.set()
            self.writer.abort()
            self._thread.join(timeout=2.0)
        self.writer.close()
