"""One HTTP client for every HTTP channel: TLS verified (optional CA file), timeouts, auth, errors as
Outcomes. URLs may carry tokens (DingTalk, WeCom): they never appear in errors or logs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

from agent.hooks.channels.base import Outcome
from agent.hooks.settings import ChannelSettings
from core.redaction import basic_auth

RETRYABLE = {408, 425, 429}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def failure(self, what: str) -> Outcome:
        """A non-2xx answer: 5xx, 408, 425 and 429 are retried; other 4xx give up at once."""
        text = self.body[:300].decode("utf-8", "replace").strip()
        return Outcome(False, f"{what}: HTTP {self.status} {text}".strip(),
                       permanent=400 <= self.status < 500 and self.status not in RETRYABLE)


class Http:
    def __init__(self, settings: ChannelSettings) -> None:
        m = settings.model
        self.timeout = float(m.timeout)
        ca = settings.path(getattr(m, "ca_file", None))
        verify = getattr(m, "verify_tls", True)
        self.pool = urllib3.PoolManager(
            num_pools=4, maxsize=m.concurrency, retries=False,
            cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=str(ca) if ca else None)
        self.auth_headers = auth_headers(settings)
        # headers given as secret references (`X-Api-Key: ${secret:KEY}`), resolved
        self.secret_headers = {k.removeprefix("headers."): v.get_secret_value()
                               for k, v in settings.secrets.items() if k.startswith("headers.")}

    def request(self, method: str, url: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, fields: dict[str, str] | None = None) -> Response:
        """Raises urllib3.exceptions.HTTPError on connection problems (callers turn them into Outcomes)."""
        h = {"User-Agent": "xunjian", **self.auth_headers, **(headers or {}), **self.secret_headers}
        r = self.pool.request(method, url, body=body, headers=h, fields=fields,
                              timeout=urllib3.Timeout(total=self.timeout), redirect=False)
        return Response(r.status, r.data, {k.lower(): v for k, v in r.headers.items()})

    def json(self, method: str, url: str, doc: Any, headers: dict[str, str] | None = None) -> Response:
        return self.request(method, url, json.dumps(doc, ensure_ascii=False).encode(),
                            {"Content-Type": "application/json", "Accept": "application/json",
                             **(headers or {})})


def auth_headers(settings: ChannelSettings) -> dict[str, str]:
    s = settings.secrets
    if "auth.bearer" in s:
        return {"Authorization": f"Bearer {s['auth.bearer'].get_secret_value()}"}
    if "auth.basic.password" in s:
        user = settings.model.auth.basic.username
        token = basic_auth(user, s['auth.basic.password'].get_secret_value())
        return {"Authorization": f"Basic {token}"}
    return {}


def unreachable(what: str, e: Exception) -> Outcome:
    """A connection error, named by its class and reason only (the URL may hold a token)."""
    reason = getattr(e, "reason", None) or e
    return Outcome(False, f"{what}: {type(e).__name__}: {type(reason).__name__}")


def dig(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc
