"""WebLogic through the REST management API of the admin server (HTTPS, basic auth): per
listed server its state, health, activation time (→ restarts), open sockets and heap.

It reports into the same `weblogic` measurement (tags domain, server) and fields as the SSH
collector, so the same rules (weblogic_state, weblogic_restarts) judge both: a listed server
the admin server does not list is NOT_RUNNING, a new activation time is a restart.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from agent.connections.reasons import network_reason
from collectors.contract import Collected, Collector, Context
from collectors.linux import event
from collectors.weblogic.parse import remembered
from collectors.weblogic.rest_parse import (
    Fields,
    RestServer,
    heaps,
    load_json,
    parse_heaps,
    parse_server_runtimes,
    server_runtimes,
)
from core.model import CollectionError, Sample, now_ns
from core.redaction import basic_auth

log = logging.getLogger(__name__)
MAX_BODY = 8 * 2**20  # bytes; a domain's serverRuntimes is a few KB
RUNTIMES_PATH = "/management/weblogic/latest/domainRuntime/serverRuntimes"
RUNTIME_FIELDS = "name,state,healthState,activationTime,openSocketsCurrentCount"
HEAP_QUERY = {"fields": [], "links": [], "children": {"serverRuntimes": {
    "fields": ["name"], "links": [], "children": {"JVMRuntime": {
        "fields": ["heapSizeCurrent", "heapFreeCurrent", "heapSizeMax"], "links": []}}}}}


class WeblogicRestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str  # the admin server, e.g. https://adm01:7002
    user: str
    password: SecretStr  # a secret reference in the inventory
    domain: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")  # the `domain` tag: the domain home's name
    servers: list[str] = Field(min_length=1)
    verify: bool = True  # check the server certificate (false: warned about every cycle)
    ca_file: str | None = None  # PEM bundle that signed the admin server's certificate
    timeout: float = Field(default=10.0, gt=0, le=300)
    heap: bool = True  # one more request: JVMRuntime heap of each server

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urllib.parse.urlsplit(v)
        if u.scheme != "https" or not u.hostname or u.query or u.fragment or u.username:
            raise ValueError("an https:// URL of the admin server, e.g. https://adm01:7002 (no user, "
                             "query or fragment; plain HTTP would expose the password)")
        return v.rstrip("/")

    @field_validator("ca_file")
    @classmethod
    def _abs(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("an absolute path to a PEM CA bundle")
        return v

    @field_validator("servers")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for n in v:
            if not n or any(c.isspace() or c in "/?#&" for c in n):
                raise ValueError(f"server names without spaces or /?#&, not {n!r}")
        return v


class RestClient:
    """One admin server: GET/POST JSON with basic auth; every failure is a CollectionError."""

    def __init__(self, s: WeblogicRestSettings) -> None:
        self.s = s
        u = urllib.parse.urlsplit(s.url)
        self.host, self.port, self.base = u.hostname or "", u.port or 443, u.path
        self.where = f"{self.host}:{self.port}"
        self.context = self._context()
        token = basic_auth(s.user, s.password.get_secret_value())
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json",
                         "X-Requested-By": "xunjian"}

    def _context(self) -> ssl.SSLContext:
        if not self.s.verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if self.s.ca_file is not None and not Path(self.s.ca_file).is_file():
            raise CollectionError(f"weblogic_rest ca_file {self.s.ca_file} does not exist")
        try:
            return ssl.create_default_context(cafile=self.s.ca_file)
        except (ssl.SSLError, OSError) as e:
            raise CollectionError(f"weblogic_rest ca_file {self.s.ca_file} unusable: {e}") from None

    def request(self, method: str, path: str, body: object = None) -> object:
        what = f"{method} {path.split('?')[0]} on {self.where}"
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.s.timeout,
                                           context=self.context)
        deadline = time.monotonic() + self.s.timeout
        try:
            try:  # TCP and TLS first: refused, timed out, name not resolved, no route
                conn.connect()
            except OSError as e:
                if isinstance(e, ssl.SSLError):
                    raise
                reason = network_reason(e, self.host, self.port, self.s.timeout)
                raise CollectionError(f"{what}: {reason or type(e).__name__}") from None
            conn.request(method, self.base + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read(MAX_BODY + 1)
            if time.monotonic() > deadline:
                raise TimeoutError
        except ssl.SSLCertVerificationError as e:
            raise CollectionError(f"{what}: TLS certificate not trusted ({e.verify_message}); "
                                  "give settings.weblogic_rest.ca_file") from None
        except ssl.SSLError as e:
            raise CollectionError(f"{what}: TLS handshake failed ({e.reason or e})") from None
        except TimeoutError:  # socket.timeout is TimeoutError
            raise CollectionError(f"{what}: no answer within {self.s.timeout:g} s") from None
        except ConnectionRefusedError:
            raise CollectionError(f"{what}: connection refused") from None
        except (OSError, http.client.HTTPException) as e:
            reason = network_reason(e, self.host, self.port, self.s.timeout)  # a reset, say
            raise CollectionError(f"{what}: {reason or f'{type(e).__name__}: {e}'}") from None
        finally:
            conn.close()
        if resp.status in (401, 403):
            raise CollectionError(f"{what}: HTTP {resp.status} — user '{self.s.user}' was refused "
                                  "(wrong password, or not in the Monitor role)")
        if resp.status != 200:
            raise CollectionError(f"{what}: HTTP {resp.status} {resp.reason}")
        if len(raw) > MAX_BODY:
            raise CollectionError(f"{what}: answer larger than {MAX_BODY} bytes")
        return load_json(raw, what)


class WeblogicRestCollector(Collector[WeblogicRestSettings, None]):
    settings_model: ClassVar = WeblogicRestSettings

    def collect(self, ctx: Context[WeblogicRestSettings], conn: None) -> Collected:
        s = ctx.settings
        if not s.verify:
            log.warning("%s: weblogic_rest verify is false: the admin server's certificate is not "
                        "checked", ctx.device)
        client = RestClient(s)
        running = parse_server_runtimes(client.request(
            "GET", f"{RUNTIMES_PATH}?links=none&fields={RUNTIME_FIELDS}"))
        heap: dict[str, Fields] = {}
        heap_error = ""
        if s.heap and any(n in running for n in s.servers):
            try:
                heap = parse_heaps(client.request("POST", "/management/weblogic/latest/domainRuntime/search",
                                                   HEAP_QUERY))
            except CollectionError as e:  # heap is extra: state and restarts still stand
                heap_error = str(e)[:200]
        out, memory = samples(ctx.device, s.domain, s.servers, running, heap, heap_error, ctx.state,
                              now_ns())
        evidence = [f"{s.url}: running {', '.join(sorted(running)) or 'none'}"]
        return Collected(out, evidence, {**ctx.state, "servers": memory})


def samples(host: str, domain: str, servers: Sequence[str], running: Mapping[str, RestServer],
            heaps: Mapping[str, Fields], heap_error: str, state: Mapping[str, Any],
            t: int) -> tuple[list[Sample], dict[str, dict[str, Any]]]:
    """One cycle's samples from the admin server's answers, and the new per-server memory
    (`activation_ms`: another one next cycle is a restart). `state` is the last cycle's."""
    now_s = t // 1_000_000_000
    memory = remembered(state)  # a new dict: the last cycle's is not changed
    out: list[Sample] = []
    for name in servers:
        m = memory.setdefault(name, {})
        srv = running.get(name)
        fields: Fields = {"restarts": 0}
        if srv is None:  # the domain runtime lists running servers only
            fields.update(state="NOT_RUNNING", running=0)
        else:
            fields.update(srv.fields, state=srv.state, running=1)
            if srv.activation_ms is not None:
                started = srv.activation_ms // 1000
                fields.update(started_at=started, uptime=max(now_s - started, 0))
                if "activation_ms" in m and m["activation_ms"] != srv.activation_ms:
                    fields["restarts"] = 1
                    out.append(event(host, "weblogic", "restart", t,
                                     f"{name} restarted (activation time {srv.activation_ms} ms, "
                                     f"was {m['activation_ms']})", server=name))
                m["activation_ms"] = srv.activation_ms
            if name in heaps:
                fields.update(heaps[name])
            elif heap_error:
                fields["heap_error"] = heap_error
        out.append(Sample("weblogic", {"host": host, "domain": domain, "server": name}, fields, t))
    return out, memory


def samples_of(runtimes: str, heap_search: str | None = None, *, servers: Sequence[str], host: str = "adm01",
               domain: str = "base_domain", state: Mapping[str, Any] | None = None,
               t: int = 1_763_780_000_000_000_000) -> tuple[list[Sample], dict[str, dict[str, Any]]]:
    """`samples` from the answers' text (serverRuntimes, and the heap search when there is one)."""
    heap = {} if heap_search is None else heaps(heap_search)
    return samples(host, domain, servers, server_runtimes(runtimes), heap, "", state or {}, t)
