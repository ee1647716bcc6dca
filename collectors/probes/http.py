"""HTTP(S) service probes from the agent: status, latency, content, certificate expiry.

Each cycle opens fresh connections (as a user arriving would), follows no redirect (a 302
to a login page is an answer) and reads at most MAX_BODY bytes for the content match. The
server certificate's expiry is read from the connection that carried the request, also
when `verify: false` (a self-signed certificate can still expire).
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import time
import urllib.parse
from typing import ClassVar

import urllib3
import urllib3.connection
from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from collectors.common.redact import redact
from collectors.common.setting_types import Regex
from collectors.contract import Collected, Collector, Context
from collectors.probes.common import NAME, Outcome, ProbeCommon, connect_failure, unique_names
from core.model import now_ns

MAX_BODY = 1 << 20  # bytes read for the content match


class HttpCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    url: str
    method: str = Field(default="GET", pattern=r"^(GET|HEAD)$")
    # Status codes that count as up; default: any answer below 400.
    status: list[int] | None = Field(default=None, min_length=1)
    contains: str | None = Field(default=None, min_length=1)  # text the body must contain
    regex: Regex | None = None  # or a regular expression it must match (re.search)
    verify: bool = True  # check the certificate chain and host name (as a browser does)
    ca_file: str | None = None  # PEM bundle for a private CA
    timeout: float | None = Field(default=None, gt=0, le=300)  # else the collector's

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urllib.parse.urlsplit(v)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("an http:// or https:// URL with a host, e.g. https://shop.example.cn/health")
        if u.username or u.password:
            raise ValueError("no user or password in the URL (probes fetch what an anonymous user sees)")
        try:
            u.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            raise ValueError("the URL's port is not a number from 1 to 65535") from None
        return v


    @field_validator("ca_file")
    @classmethod
    def _abs(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("an absolute path to a PEM file")
        return v

    @model_validator(mode="after")
    def _https_only(self) -> HttpCheck:
        if self.ca_file and not self.url.startswith("https://"):
            raise ValueError("ca_file is for https:// URLs")
        if self.method == "HEAD" and (self.contains or self.regex):
            raise ValueError("a HEAD request has no body to match: use GET with contains/regex")
        return self


class HttpProbeSettings(ProbeCommon):
    probes: list[HttpCheck] = Field(min_length=1)

    @field_validator("probes")
    @classmethod
    def _unique(cls, v: list[HttpCheck]) -> list[HttpCheck]:
        return unique_names(v)


class HttpProbeCollector(Collector[HttpProbeSettings, None]):
    settings_model: ClassVar = HttpProbeSettings

    def collect(self, ctx: Context[HttpProbeSettings], conn: None) -> Collected:
        s = ctx.settings
        t = now_ns()
        return Collected([probe(p, p.timeout or s.timeout).sample(ctx.device, s.criticality, t)
                          for p in s.probes])


def probe(p: HttpCheck, timeout: float) -> Outcome:
    u = urllib.parse.urlsplit(p.url)
    host, port = u.hostname or "", u.port or (443 if u.scheme == "https" else 80)
    shown = urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, "", ""))  # no query: it may carry tokens
    out = Outcome(p.name, "http", shown)
    try:
        pool = _pool(p, timeout)
    except (OSError, ssl.SSLError, ValueError) as e:
        out.error = f"cannot set up TLS for the probe ({p.ca_file or 'the system CA bundle'}): {e}"[:300]
        return out
    t0 = time.monotonic()
    try:
        resp = pool.request(p.method, p.url, preload_content=False, redirect=False, retries=False,
                            headers={"User-Agent": "xunjian-probe"})
        try:
            # the certificate first: a fully read body may hand the connection back to the pool
            der = _peer_cert(resp) if u.scheme == "https" else None
            body = resp.read(MAX_BODY) if p.method == "GET" else b""
        finally:
            resp.release_conn()
        elapsed = time.monotonic() - t0
    except ReadTimeoutError:
        out.reason = f"no answer from {host}:{port} within {timeout:g} s"
        return out
    except (ConnectTimeoutError, NewConnectionError) as e:
        out.reason, down = connect_failure(e, host, port, timeout)
        if not down:
            out.error, out.reason = out.reason, ""
        return out
    except SSLError as e:
        out.reason = f"TLS handshake with {host}:{port} failed: {_ssl_words(e)}"
        return out
    except (ProtocolError, HTTPError, OSError) as e:
        reason, down = connect_failure(e, host, port, timeout)
        if not down:
            out.error = reason
        else:
            out.reason = f"{host}:{port} broke off the answer: {_first_line(e)}"
        return out
    finally:
        pool.clear()
    out.fields["latency_ms"] = round(elapsed * 1000, 1)
    out.fields["status_code"] = resp.status
    if der is not None:
        out.fields["cert_days"] = cert_days(der, time.time())
    out.reason = _judge(p, resp.status, body, resp.headers.get("content-type", ""))
    out.up = not out.reason
    if (p.contains or p.regex) and not out.reason.startswith("HTTP "):  # the content was judged
        out.fields["content_ok"] = int(out.up)
    return out


def _pool(p: HttpCheck, timeout: float) -> urllib3.PoolManager:
    tmo = urllib3.Timeout(connect=timeout, read=timeout)
    if not p.url.startswith("https://"):
        return urllib3.PoolManager(timeout=tmo, num_pools=1, maxsize=1)
    ctx = ssl.create_default_context(cafile=p.ca_file)
    if not p.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    pm = urllib3.PoolManager(timeout=tmo, num_pools=1, maxsize=1, ssl_context=ctx,
                             cert_reqs="CERT_REQUIRED" if p.verify else "CERT_NONE")
    pm.pool_classes_by_scheme = {**pm.pool_classes_by_scheme, "https": _CertKeepingPool}
    return pm


class _CertKeeping(urllib3.connection.HTTPSConnection):
    """Keeps the server's certificate (DER) from the handshake: http.client drops the socket
    when the server closes the connection after its answer."""

    peer_der: bytes | None = None

    def connect(self) -> None:
        super().connect()
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket):
            self.peer_der = sock.getpeercert(binary_form=True)


class _CertKeepingPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _CertKeeping


def _peer_cert(resp: urllib3.BaseHTTPResponse) -> bytes | None:
    return getattr(getattr(resp, "connection", None), "peer_der", None)


def cert_days(der: bytes, now: float) -> float:
    """Days until the certificate expires (negative: expired), one decimal."""
    end = x509.load_der_x509_certificate(der).not_valid_after_utc
    return round((end - dt.datetime.fromtimestamp(now, dt.UTC)).total_seconds() / 86400, 1)


def _judge(p: HttpCheck, status: int, body: bytes, ctype: str) -> str:
    """'' when the answer is what a user expects, else why it is not."""
    if p.status is not None and status not in p.status:
        return f"HTTP {status}, expected {' or '.join(str(s) for s in p.status)}"
    if p.status is None and status >= 400:
        return f"HTTP {status}"
    if p.contains or p.regex:
        m = re.search(r"charset=([\w.-]+)", ctype)
        try:
            text = body.decode(m.group(1) if m else "utf-8", errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        if p.contains and p.contains not in text:
            return f"the page does not contain {p.contains[:60]!r}"
        if p.regex and not re.search(p.regex, text):
            return f"the page does not match /{p.regex[:60]}/"
    return ""


def _ssl_words(e: BaseException) -> str:
    for err in [e, getattr(e, "reason", None), e.__cause__, e.__context__]:
        if isinstance(err, ssl.SSLCertVerificationError):
            return f"certificate not trusted: {err.verify_message}"
    return _first_line(e)


def _first_line(e: BaseException) -> str:
    return redact(str(e).splitlines()[0] if str(e) else type(e).__name__)[:200]
