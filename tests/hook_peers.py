"""Hook receivers on 127.0.0.1: one HTTP server playing a generic webhook receiver, Jira, ServiceNow,
DingTalk and WeCom robots (it counts ticket creates per idempotency key), and aiosmtpd for e-mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiosmtpd.controller import Controller
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.peers import HOST, free_port


@dataclass
class Seen:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HookReceiver:
    """Start/stop on a fixed port (so a refused connection, then 500s, then 200s can be played)."""

    port: int = field(default_factory=free_port)
    status: int = 200  # what the generic webhook answers
    seen: list[Seen] = field(default_factory=list)
    # tickets made per idempotency key (webhook: a key seen again gets the same ticket), Jira label,
    # ServiceNow correlation id; `requests` counts every 2xx webhook request per key
    creates: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    on_request: Callable[[Seen], None] | None = None  # called after the request was handled
    dingtalk_secret: str = ""
    jira_issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    snow: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Self:
        self._server = make_server(HOST, self.port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hits(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    # -- the app ----------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        seen = Seen(req.method, req.path, dict(req.args), dict(req.headers), req.get_data())
        with self.lock:
            self.seen.append(seen)
            resp = self._route(seen)
        if self.on_request is not None:
            self.on_request(seen)
        return resp(environ, start_response)

    def _json(self, doc: Any, status: int = 200) -> Response:
        return Response(json.dumps(doc), status=status, content_type="application/json")

    def _route(self, s: Seen) -> Response:
        p = s.path
        if p == "/hook":
            if self.status >= 300:
                return Response("down", status=self.status)
            key = s.headers.get("Idempotency-Key", "")
            self.requests[key] += 1
            if self.requests[key] == 1:
                self.creates[key] += 1
            return self._json({"id": f"T-{key}", "url": f"{self.url}/t/{key}",
                               "duplicate": self.requests[key] > 1})
        if p == "/robot/send":
            return self._dingtalk(s)
        if p == "/cgi-bin/webhook/send":
            ok = s.args.get("key") == "wecom-key"
            return self._json({"errcode": 0 if ok else 93000, "errmsg": "ok" if ok else "invalid key"})
        if p.startswith("/rest/api/2/"):
            return self._jira(s, p.removeprefix("/rest/api/2/"))
        if p.startswith("/api/now/table/incident"):
            return self._servicenow(s, p.removeprefix("/api/now/table/incident").strip("/"))
        return Response("no such path", status=404)

    def _dingtalk(self, s: Seen) -> Response:
        if s.args.get("access_token") != "dt-token":
            return self._json({"errcode": 300001, "errmsg": "token is not exist"})
        if self.dingtalk_secret:
            ts = s.args.get("timestamp", "0")
            want = base64.b64encode(hmac.new(self.dingtalk_secret.encode(), f"{ts}\n{self.dingtalk_secret}".encode(),
                                             hashlib.sha256).digest()).decode()
            # werkzeug already url-decoded the query; the client must have url-encoded it
            if s.args.get("sign") != want or abs(int(ts) - time.time() * 1000) > 3_600_000:
                return self._json({"errcode": 310000, "errmsg": "sign not match"})
        return self._json({"errcode": 0, "errmsg": "ok"})

    def _jira(self, s: Seen, p: str) -> Response:
        if p == "search":
            jql = s.args.get("jql", "")
            label = jql.split('"')[1] if '"' in jql else ""
            found = [{"key": k} for k, i in self.jira_issues.items() if label in i["labels"]]
            return self._json({"issues": found[:1], "total": len(found)})
        if p == "issue" and s.method == "POST":
            fields = s.json()["fields"]
            key = f"{fields['project']['key']}-{next(self._ids)}"
            self.jira_issues[key] = {"labels": fields["labels"], "summary": fields["summary"],
                                     "status": "Open", "comments": []}
            for label in fields["labels"]:
                self.creates[label] += 1
            return self._json({"id": "1000", "key": key, "self": f"{self.url}/rest/api/2/issue/{key}"}, 201)
        parts = p.split("/")  # issue/KEY/comment | issue/KEY/transitions
        issue = self.jira_issues.get(parts[1]) if len(parts) == 3 else None
        if issue is None:
            return self._json({"errorMessages": ["Issue does not exist"]}, 404)
        if parts[2] == "comment":
            if s.method == "GET":
                return self._json({"comments": [{"body": b} for b in issue["comments"]]})
            issue["comments"].append(s.json()["body"])
            return self._json({"id": "1"}, 201)
        if s.method == "GET":
            avail = [{"id": "31", "name": "Done"}] if issue["status"] != "Done" else [{"id": "11", "name": "Reopen"}]
            return self._json({"transitions": avail})
        body = s.json()
        issue["status"] = "Done" if body["transition"]["id"] == "31" else "Open"
        issue["comments"] += [c["add"]["body"] for c in body.get("update", {}).get("comment", [])]
        return Response(status=204)

    def _servicenow(self, s: Seen, sys_id: str) -> Response:
        if s.method == "GET":
            q = urllib.parse.unquote(s.args.get("sysparm_query", ""))
            corr = q.removeprefix("correlation_id=")
            return self._json({"result": [{"sys_id": k, "number": v["number"]} for k, v in self.snow.items()
                                          if v["correlation_id"] == corr][:1]})
        if s.method == "POST":
            doc = s.json()
            new = f"sys{next(self._ids):04d}"
            self.snow[new] = {**doc, "number": f"INC{len(self.snow) + 1:07d}", "notes": []}
            self.creates[doc["correlation_id"]] += 1
            return self._json({"result": {"sys_id": new, "number": self.snow[new]["number"]}}, 201)
        inc = self.snow.get(sys_id)
        if inc is None:
            return self._json({"error": {"message": "No Record found"}}, 404)
        doc = s.json()
        inc["notes"].append(doc.pop("work_notes", ""))
        inc.update(doc)
        return self._json({"result": {"sys_id": sys_id}})


class Mailbox:
    """aiosmtpd handler that keeps every message it received."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class SmtpPeer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname=HOST, port=self.port)

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def self_signed(dirpath: Any, days: float = 1) -> tuple[str, str]:
    """A certificate for 127.0.0.1 valid for `days` and its key (PEM files); the certificate
    is its own CA."""
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    d = Path(dirpath)
    cert_file, key_file = d / "cert.pem", d / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class TlsSmtpPeer(SmtpPeer):
    """STARTTLS required, AUTH LOGIN/PLAIN checked against one user and password."""

    def __init__(self, cert: str, key: str, user: str, password: str) -> None:
        import ssl

        from aiosmtpd.smtp import AuthResult

        self.mailbox = Mailbox()
        self.port = free_port()
        self.logins: list[tuple[str, bool]] = []
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            good = data.login.decode() == user and data.password.decode() == password
            self.logins.append((data.login.decode(), good))
            return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd answers 535

        self.controller = Controller(self.mailbox, hostname=HOST, port=self.port, tls_context=ctx,
                                     require_starttls=True, authenticator=authenticator, auth_required=True)
