"""Service probes (http_probe, tcp_probe, sql_probe) against real servers on 127.0.0.1: an
HTTPS server with a self-signed certificate made here, HTTP answers that are slow, 500, wrong
or never come, a closed port, a listener whose queue is full, an SQLite database; then the
whole path through `xunjian inspect` (samples → rules → cases)."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.inventory import load_inventory
from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.contract import Context
from collectors.probes.common import connect_failure
from collectors.probes.http import HttpProbeCollector, HttpProbeSettings
from collectors.probes.sql import SqlProbeCollector, SqlProbeSettings
from collectors.probes.tcp import TcpProbeCollector, TcpProbeSettings
from core.model import Sample, Status
from core.problems import ConfigError
from tests.helpers import cli, user_docs
from tests.hook_peers import self_signed
from tests.peers import HOST

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

PAGE = "<html><body>社保服务 welcome: service OK</body></html>"


class Web:
    """An HTTP(S) server on 127.0.0.1: /ok, /500, /wrong, /slow?ms=N, /hang (never answers
    until the server stops)."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        release = self.release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/hang":
                    release.wait(30)
                    return
                if path == "/slow":
                    time.sleep(int(query.split("=")[1]) / 1000)  # the slowness is what is tested
                status, body = {"/500": (500, "Internal Server Error"),
                                "/wrong": (200, "<html>maintenance page</html>")}.get(path, (200, PAGE))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://{HOST}:{self.port}{path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    w = Web()
    yield w
    w.stop()


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[Web, str]]:
    cert, key = self_signed(tmp_path, days=20)
    w = Web((cert, key))
    yield w, cert
    w.stop()


def closed_port() -> int:
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FullQueue:
    """A listener that never accepts, its queue filled: new connections get no answer."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.held = [socket.create_connection((HOST, self.port), timeout=2)]

    def close(self) -> None:
        for s in [*self.held, self.sock]:
            s.close()


def run_http(probes: list[dict[str, Any]], **kw: Any) -> dict[str, Sample]:
    s = HttpProbeSettings.model_validate({"probes": probes, **kw})
    out = HttpProbeCollector().collect(Context("svc", "service", HOST, settings=s), None).samples
    return {x.tags["probe"]: x for x in out}


def verdicts(samples: list[Sample]) -> dict[tuple[str, str], Any]:
    return {(v.check, v.instance): v for v in evaluate(samples, "svc", load_rules())}


# -- HTTP(S) ----------------------------------------------------------------------------------

def test_https_self_signed_trusted_by_ca_file_counts_certificate_days(https: tuple[Web, str]) -> None:
    w, cert = https
    got = run_http([{"name": "home", "url": w.url("/ok"), "ca_file": cert, "contains": "社保服务"},
                    {"name": "untrusted", "url": w.url("/ok")},
                    {"name": "unverified", "url": w.url("/ok"), "verify": False},
                    {"name": "no-ca", "url": w.url("/ok"), "ca_file": str(Path(cert).parent / "gone.pem")}])
    home = got["home"].fields
    assert home["result"] == "up" and home["up"] == 1 and home["status_code"] == 200
    assert 19.9 <= home["cert_days"] <= 20.0 and home["content_ok"] == 1
    # without the CA the certificate is not trusted: a browser would refuse, so: down
    bad = got["untrusted"].fields
    assert bad["up"] == 0 and "certificate not trusted" in str(bad["result"]) and bad["run"] == "ok"
    # verify: false still reads the expiry
    assert got["unverified"].fields["up"] == 1 and 19.9 <= got["unverified"].fields["cert_days"] <= 20.0
    # a CA file the agent cannot read: the probe did not run (nothing known about the site)
    assert "up" not in got["no-ca"].fields and "cannot set up TLS" in str(got["no-ca"].fields["run"])
    v = verdicts(list(got.values()))
    assert v[("probe_not_run", "no-ca")].status is Status.UNKNOWN
    assert v[("probe_cert_days", "home")].status is Status.WARN  # < 30 days
    assert v[("probe_down", "home")].status is Status.OK
    assert v[("probe_down", "untrusted")].status is Status.CRIT and v[("probe_down", "untrusted")].level == 2


def test_certificate_expiring_within_a_week_is_crit(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, days=5)
    w = Web((cert, key))
    try:
        got = run_http([{"name": "site", "url": w.url("/ok"), "ca_file": cert}])
    finally:
        w.stop()
    assert 4.9 <= got["site"].fields["cert_days"] <= 5.0
    v = verdicts(list(got.values()))[("probe_cert_days", "site")]
    assert v.status is Status.CRIT and "days" in v.message


def test_http_500_wrong_content_slow_and_no_answer(web: Web) -> None:
    got = run_http([{"name": "ok", "url": web.url("/ok"), "contains": "service OK"},
                    {"name": "err", "url": web.url("/500")},
                    {"name": "wrong", "url": web.url("/wrong"), "contains": "service OK"},
                    {"name": "regex", "url": web.url("/ok"), "regex": r"welcome:\s+service"},
                    {"name": "status", "url": web.url("/ok"), "status": [204]},
                    {"name": "slow", "url": web.url("/slow?ms=700"), "timeout": 5},
                    {"name": "hang", "url": web.url("/hang"), "timeout": 0.5}], criticality=1)
    f = {k: s.fields for k, s in got.items()}
    assert f["ok"]["result"] == "up" and f["regex"]["result"] == "up"
    assert f["err"]["result"] == "HTTP 500" and f["err"]["status_code"] == 500
    assert f["wrong"]["result"] == "the page does not contain 'service OK'" and f["wrong"]["content_ok"] == 0
    assert f["status"]["result"] == "HTTP 200, expected 204"
    assert f["slow"]["up"] == 1 and f["slow"]["latency_ms"] >= 700
    assert f["hang"]["up"] == 0 and f["hang"]["result"] == f"no answer from {HOST}:{web.port} within 0.5 s"
    assert "latency_ms" not in f["hang"]
    assert "cert_days" not in f["ok"]  # plain HTTP has no certificate
    closed = closed_port()
    refused = run_http([{"name": "gone", "url": f"http://{HOST}:{closed}/"}])["gone"].fields
    assert refused["result"] == f"connection refused by {HOST}:{closed}" and refused["run"] == "ok"
    v = verdicts(list(got.values()))
    # criticality 1: the major rule judges, at level 1; the default-level rule does not
    assert v[("probe_down_major", "err")].status is Status.CRIT and v[("probe_down_major", "err")].level == 1
    assert "HTTP 500" in v[("probe_down_major", "err")].message
    assert ("probe_down", "err") not in v
    assert v[("probe_down_major", "ok")].status is Status.OK
    # slow against a per-device threshold override
    from checks.evaluate import evaluate as ev

    class Warn:
        warn, crit = 500.0, None

    slow = [x for x in ev([got["slow"]], "svc", load_rules(), {"probe_latency_ms": Warn()})
            if x.check == "probe_latency_ms"]
    assert slow[0].status is Status.WARN


# -- TCP --------------------------------------------------------------------------------------

def test_tcp_open_refused_and_timed_out(web: Web) -> None:
    full = FullQueue()
    closed = closed_port()
    try:
        s = TcpProbeSettings.model_validate({"timeout": 0.5, "probes": [
            {"name": "web", "port": web.port},
            {"name": "closed", "host": HOST, "port": closed},
            {"name": "full", "port": full.port}]})
        out = TcpProbeCollector().collect(Context("svc", "service", HOST, settings=s), None).samples
    finally:
        full.close()
    f = {x.tags["probe"]: x.fields for x in out}
    assert f["web"]["up"] == 1 and f["web"]["latency_ms"] < 500
    assert f["closed"]["result"] == f"connection refused by {HOST}:{closed}"
    assert f["full"]["result"] == f"connection to {HOST}:{full.port} timed out after 0.5 s"
    assert {x.tags["target"] for x in out} == {f"{HOST}:{web.port}", f"{HOST}:{closed}", f"{HOST}:{full.port}"}


def test_a_broken_resolver_is_not_run_but_a_missing_name_is_down() -> None:
    nxdomain = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    broken = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    assert connect_failure(nxdomain, "shop.example", 443, 5) == (
        "host name 'shop.example' does not exist (Name or service not known)", True)
    reason, down = connect_failure(broken, "shop.example", 443, 5)
    assert not down and "resolver failed" in reason
    # as a sample: no `up`, no `result`; the probe_not_run rule says UNKNOWN
    from collectors.probes.common import Outcome
    s = Outcome("shop", "tcp", "shop.example:443", error=reason).sample("svc", 2, 1)
    assert "up" not in s.fields and "result" not in s.fields and s.fields["state"] == "unknown"
    v = verdicts([s])
    assert v[("probe_not_run", "shop")].status is Status.UNKNOWN and ("probe_down", "shop") not in v


# -- SQL --------------------------------------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE orders (id INTEGER, state TEXT)")
        c.executemany("INSERT INTO orders VALUES (?, ?)", [(1, "paid"), (2, "paid"), (3, "open")])
    return path


def run_sql(url: str, queries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    s = SqlProbeSettings.model_validate({"url": url, "queries": queries})
    out = SqlProbeCollector().collect(Context("svc", "service", HOST, settings=s), None).samples
    return {x.tags["probe"]: x.fields for x in out}


def test_sql_expected_answer_wrong_answer_invalid_query(db: Path) -> None:
    f = run_sql(f"sqlite:///{db}", [
        {"name": "paid", "sql": "SELECT COUNT(*) FROM orders WHERE state = 'paid'", "expect": "2"},
        {"name": "open", "sql": "SELECT COUNT(*) FROM orders WHERE state = 'open'", "expect": "0"},
        {"name": "alive", "sql": "SELECT 1"},
        {"name": "typo", "sql": "SELEC 1"},
        {"name": "gone", "sql": "SELECT * FROM invoices", "expect": "1"}])
    assert f["paid"]["result"] == "up" and f["paid"]["latency_ms"] > 0
    assert f["open"]["result"] == "the query returned '1', expected '0'"
    assert f["alive"]["up"] == 1
    # SQLite reports a syntax error as OperationalError: the query failed, down
    assert f["typo"]["up"] == 0 and "syntax error" in f["typo"]["result"]
    assert f["gone"]["up"] == 0 and "no such table: invoices" in f["gone"]["result"]


def test_sql_without_driver_is_not_run_and_unreachable_server_is_down(tmp_path: Path) -> None:
    f = run_sql("nosuchdb+nodriver://probe@127.0.0.1/app", [{"name": "q", "sql": "SELECT 1"}])
    assert "up" not in f["q"] and "no driver" in f["q"]["run"]
    # a database file that cannot be opened (its directory does not exist): cannot connect
    f = run_sql(f"sqlite:///{tmp_path}/missing/dir/app.db", [{"name": "q", "sql": "SELECT 1"}])
    assert f["q"]["up"] == 0 and str(f["q"]["result"]).startswith("cannot connect to sqlite:///")


# -- settings at load -------------------------------------------------------------------------

def write_inv(tmp_path: Path, settings: dict[str, Any], collectors: list[str],
              more: list[dict[str, Any]] | None = None) -> Path:
    doc = {"devices": [{"name": "shop", "kind": "service", "address": HOST, "collectors": collectors,
                        "settings": settings}, *(more or [])]}
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return inv


@pytest.mark.parametrize("settings,place,words", [
    ({"http_probe": {"probes": [{"name": "a", "url": "ftp://x/"}]}}, "settings.http_probe.probes.0.url",
     "http:// or https://"),
    ({"http_probe": {"probes": [{"name": "a", "url": "https://u:p@x/"}]}}, "settings.http_probe.probes.0.url",
     "no user or password"),
    ({"http_probe": {"probes": [{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}]}},
     "settings.http_probe.probes", "given twice"),
    ({"http_probe": {"probes": [{"name": "a", "url": "http://x/", "regex": "("}]}},
     "settings.http_probe.probes.0.regex", "regular expression"),
    ({"http_probe": {"probes": []}}, "settings.http_probe.probes", "at least 1"),
    ({"tcp_probe": {"probes": [{"name": "a", "port": 70000}]}}, "settings.tcp_probe.probes.0.port", "65535"),
    ({"tcp_probe": {"criticality": 4, "probes": [{"name": "a", "port": 1}]}}, "settings.tcp_probe.criticality",
     "3"),
    ({"sql_probe": {"url": "postgresql://u:pw@db/app", "queries": [{"name": "q", "sql": "SELECT 1"}]}},
     "settings.sql_probe.url", "no password in the URL"),
    ({"sql_probe": {"url": "sqlite://", "password": "literal", "queries": [{"name": "q", "sql": "SELECT 1"}]}},
     "settings.sql_probe.password", "reference"),
])
def test_settings_mistakes_name_the_place(tmp_path: Path, settings: dict[str, Any], place: str,
                                          words: str) -> None:
    inv = write_inv(tmp_path, settings, list(settings))
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    text = "\n".join(str(p) for p in e.value.problems)
    assert f"devices[0].{place}" in text and words in text, text


# -- end to end: xunjian inspect → samples → rules → cases -------------------------------------

def test_inspect_a_service_opens_cases_at_its_criticality(tmp_path: Path, web: Web, db: Path) -> None:
    closed = closed_port()
    cert, key = self_signed(tmp_path, days=5)
    secure = Web((cert, key))
    try:
        inv = write_inv(tmp_path, {
            "http_probe": {"criticality": 1, "timeout": 3, "probes": [
                {"name": "home", "url": web.url("/ok"), "contains": "service OK"},
                {"name": "api", "url": web.url("/500")},
                {"name": "login", "url": secure.url("/ok"), "ca_file": cert}]},
            "tcp_probe": {"probes": [{"name": "db-port", "port": closed}]},
            "sql_probe": {"url": f"sqlite:///{db}", "queries": [
                {"name": "orders", "sql": "SELECT COUNT(*) FROM orders", "expect": "3"}]},
        }, ["http_probe", "tcp_probe", "sql_probe"], more=[{
            # a database the agent has no driver for: the probe did not run (UNKNOWN, not down)
            "name": "legacy", "kind": "service", "address": HOST, "collectors": ["sql_probe"],
            "settings": {"sql_probe": {"url": "nosuchdb+nodriver://probe@127.0.0.1/app",
                                       "password": "${XJ_PROBE_DB_PW}",
                                       "queries": [{"name": "alive", "sql": "SELECT 1"}]}}}])
        r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json",
                env={"XJ_PROBE_DB_PW": "pr0be-S3cret"}, timeout=120)
    finally:
        secure.stop()
    doc = json.loads(r.stdout)
    rows = {(x["check"], x["instance"]): x for x in doc["results"] if x["device"] == "shop"}
    legacy = {(x["check"], x["instance"]): x for x in doc["results"] if x["device"] == "legacy"}
    assert legacy[("probe_not_run", "alive")]["status"] == "unknown"
    assert "no driver for nosuchdb+nodriver" in legacy[("probe_not_run", "alive")]["message"]
    assert ("probe_down", "alive") not in legacy
    assert rows[("collect.http_probe", "")]["status"] == "ok", rows
    assert rows[("probe_down_major", "home")]["status"] == "ok"
    assert rows[("probe_down_major", "api")]["status"] == "crit"
    assert rows[("probe_down", "db-port")]["status"] == "crit"
    assert f"connection refused by {HOST}:{closed}" in rows[("probe_down", "db-port")]["message"]
    assert rows[("probe_down", "orders")]["status"] == "ok"
    assert rows[("probe_cert_days", "login")]["status"] == "crit"
    assert r.returncode == 2
    assert "pr0be-S3cret" not in r.stdout + r.stderr
    cases = json.loads(cli("cases", "list", "--data-dir", str(tmp_path / "var"), "-f", "json").stdout)["cases"]
    got = {(c["device"], c["check"], c["instance"]): c["level"] for c in cases}
    assert got == {("shop", "probe_down_major", "api"): 1, ("shop", "probe_down", "db-port"): 2,
                   ("shop", "probe_cert_days", "login"): 2, ("legacy", "probe_not_run", "alive"): 3}
    shown = cli("inventory", "check", "-i", str(inv), "--format", "json", env={"XJ_PROBE_DB_PW": "pr0be-S3cret"})
    assert shown.returncode == 0, shown.stderr
    assert "pr0be-S3cret" not in shown.stdout + shown.stderr


def test_readme_examples_validate(tmp_path: Path) -> None:
    family = (Path(__file__).resolve().parents[1] / "collectors" / "probes" / "README.md").read_text()
    probes = family.split("## Settings", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    part = user_docs().split("### Service probes and backup checks:", 1)[1].split("\n### ", 1)[0]
    backups = part.split("```yaml\n", 1)[1].split("```", 1)[0]
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("probe_db: pw\n")
    secrets.chmod(0o600)
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n" + probes + "  - name: db01\n    address: 10.1.2.11\n    ssh: {user: oracle}\n" + backups)
    inv = load_inventory(tmp_path / "inventory.yaml", secrets_file=secrets)
    web = inv.devices["shebao-web"]
    assert web.kind == "service" and web.settings["http_probe"].criticality == 1
    assert web.settings["sql_probe"].password.get_secret_value() == "pw"
    assert inv.devices["db01"].settings["oracle_backup"].expect == ["incremental", "archivelog"]
    assert inv.devices["db01"].thresholds["backup_age_incremental"].warn == 30


def test_the_daemon_runs_probes_and_stores_availability(tmp_path: Path, web: Web) -> None:
    closed = closed_port()
    inv = write_inv(tmp_path, {"tcp_probe": {"criticality": 3, "timeout": 2, "probes": [
        {"name": "web", "port": web.port}, {"name": "admin", "port": closed}]}}, ["tcp_probe"])
    r = cli("run", "--once", "-i", str(inv), "--data-dir", str(tmp_path / "var"), env={"XUNJIAN_CONFIG": ""})
    assert r.returncode == 0, r.stderr
    from agent.store.db import open_engine
    from agent.store.samples import read_samples

    got = {s.tags["probe"]: s.fields for s in read_samples(open_engine(tmp_path / "var"), device="shop")
           if s.measurement == "probe"}
    assert got["web"]["up"] == 1 and got["admin"]["up"] == 0 and got["admin"]["state"] == "down"
    cases = json.loads(cli("cases", "list", "--data-dir", str(tmp_path / "var"), "-f", "json").stdout)["cases"]
    assert [(c["check"], c["instance"], c["level"]) for c in cases] == [("probe_down_minor", "admin", 3)]
