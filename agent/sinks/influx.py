"""InfluxDB sinks: v1 `/write` (InfluxDB 1.x) and the v2 write API (influxdb-client).

Samples are serialised once into line protocol, spooled to disk, and a sender thread
drains the spool oldest first, in batches, gzip'd, with backoff while the server is
down. A batch the server rejects as malformed (4xx) is set aside, not retried forever.
"""

from __future__ import annotations

import gzip
import logging
import random
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from agent.config import InfluxSink
from agent.model import Sample
from agent.redaction import basic_auth, redact
from agent.sinks.lineproto import LineSerializer
from agent.sinks.spool import Spool

log = logging.getLogger(__name__)


# Level 1 costs a ninth of the CPU of influxdb-client's level 9 (0.05 vs 0.45 s for 10 MB of
# line protocol here) for a body about a fifth larger: the agent's CPU is the scarcer resource.
GZIP_LEVEL = 1


class Retry(Exception):
    """The server is unreachable or failing: keep the batch, try later."""


class Rejected(Exception):
    """The server refused the batch as such: retrying will not help."""


def _classify(status: int, body: str) -> Exception:
    body = redact(body)  # a server or proxy may echo the request's credentials
    if status in (408, 429) or status >= 500:
        return Retry(f"HTTP {status}: {body[:200]}")
    return Rejected(f"HTTP {status}: {body[:500]}")


class V1Writer:
    """InfluxDB 1.x: POST /write?db=…&precision=ns, basic auth, gzip body."""

    def __init__(self, cfg: InfluxSink) -> None:
        self.cfg = cfg
        params = {"db": cfg.database, "precision": "ns"}
        if cfg.retention_policy:
            params["rp"] = cfg.retention_policy
        self.url = f"{cfg.url}/write?{urlencode(params)}"
        self.http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED" if cfg.verify_tls else "CERT_NONE",
            ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
            timeout=urllib3.Timeout(connect=cfg.timeout, read=cfg.timeout), retries=False)
        self.headers = {"Content-Type": "text/plain; charset=utf-8"}
        if cfg.gzip:
            self.headers["Content-Encoding"] = "gzip"
        if cfg.username:
            pw = cfg.password.get_secret_value() if cfg.password else ""
            token = basic_auth(cfg.username, pw)  # the header is a secret too
            self.headers["Authorization"] = f"Basic {token}"

    def send(self, body: bytes) -> None:
        data = gzip.compress(body, compresslevel=GZIP_LEVEL) if self.cfg.gzip else body
        try:
            r = self.http.request("POST", self.url, body=data, headers=self.headers)
        except urllib3.exceptions.HTTPError as e:
            raise Retry(f"{self.cfg.url}: {type(e).__name__}") from None
        if r.status != 204 and r.status != 200:
            raise _classify(r.status, r.data.decode("utf-8", "replace"))

    def close(self) -> None:
        self.http.clear()


class V2Writer:
    """InfluxDB 2.x / VictoriaMetrics: the v2 write API through influxdb-client."""

    def __init__(self, cfg: InfluxSink) -> None:
        self.cfg = cfg
        kwargs: dict[str, object] = {"verify_ssl": cfg.verify_tls}
        if cfg.ca_file:
            kwargs["ssl_ca_cert"] = str(cfg.ca_file)
        self.client = InfluxDBClient(
            url=cfg.url, token=cfg.token.get_secret_value() if cfg.token else "",
            org=cfg.org, timeout=int(cfg.timeout * 1000), enable_gzip=False,
            retries=False, **kwargs)
        # the write service, not write_api: the body is already line protocol, and we gzip it
        # ourselves at GZIP_LEVEL (the client's own gzip is level 9)
        self.service = WriteService(self.client.api_client)

    def send(self, body: bytes) -> None:
        try:
            self.service.post_write(
                org=self.cfg.org, bucket=self.cfg.bucket, precision="ns",
                body=gzip.compress(body, compresslevel=GZIP_LEVEL) if self.cfg.gzip else body,
                content_encoding="gzip" if self.cfg.gzip else "identity",
                content_type="text/plain; charset=utf-8")
        except ApiException as e:
            raise _classify(e.status or 0, str(e.body or e.reason)) from None
        except urllib3.exceptions.HTTPError as e:
            raise Retry(f"{self.cfg.url}: {type(e).__name__}") from None
        except OSError as e:
            raise Retry(f"{self.cfg.url}: {e.strerror or type(e).__name__}") from None

    def close(self) -> None:
        self.client.close()


def rejected_count(message: str, lines: int) -> int:
    """InfluxDB 1.x keeps the good points of a 'partial write' and says how many it dropped."""
    m = re.search(r"partial write.*dropped=(\d+)", message)
    return min(int(m.group(1)), lines) if m else lines


class InfluxSinkWriter:
    """The sink the pipeline writes to: spool first, a background sender drains."""

    def __init__(self, cfg: InfluxSink, spool_root: Path) -> None:
        self.cfg = cfg
        self.name = f"influx:{cfg.name}"
        self.spool = Spool(spool_root / cfg.name, cfg.spool_max_bytes)
        self.writer: V1Writer | V2Writer = V1Writer(cfg) if cfg.version == 1 else V2Writer(cfg)
        self.sent = 0
        self.rejected = 0
        self.serializer = LineSerializer()  # its dropped_fields / dropped_points are reported
        self.last_error = ""
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sink-{cfg.name}", daemon=True)
        self._thread.start()

    def write(self, samples: list[Sample]) -> None:
        self.spool.append_bytes(*self.serializer.encode(samples))
        self._idle.clear()
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            files, body = self.spool.take(self.cfg.batch_size)
            if not files:
                self._idle.set()
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                self.writer.send(body)
            except Retry as e:
                if self.last_error != str(e):
                    log.warning("sink %s: %s; %d batches spooled, retrying", self.cfg.name, e,
                                self.spool.pending)
                self.last_error = str(e)
                backoff = min(30.0, backoff * 2 or 0.5)
                self._wake.wait(backoff * (0.75 + random.random() / 2))  # jitter
                self._wake.clear()
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

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the spool is empty; False if the server is still away at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.spool.pending == 0:
                return True
            self._wake.set()
            time.sleep(0.05)
        return self.spool.pending == 0

    def close(self, timeout: float = 10.0) -> None:
        if not self.flush(timeout):
            log.warning("sink %s: %d batches stay spooled in %s for the next start",
                        self.cfg.name, self.spool.pending, self.spool.dir)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout + 5)
        self.writer.close()
