"""No secret leaves the process: a distinctive secret in every credential field of every collector,
sink and hook channel, every error path fired against real peers on 127.0.0.1, then every planted
secret (and the forms it travels in: URL-encoded, JSON-escaped, HTTP basic auth) grepped for in
the CLI's output, the daemon's log, every file under the data dir (store, spool, outbox), the
inspection ledger and reports rendered from that store.

The peers are hostile on purpose: sshd refuses the password, the SSH key's passphrase is wrong,
sqlplus echoes its stdin (`CONNECT user/"<password>"`), an HTTP(S) receiver answers 401 and echoes
the request's query and headers (WebLogic REST, InfluxDB 1.x, webhooks, robots, Jira, ServiceNow,
Alertmanager), snmpd is asked with a wrong community and wrong v3 keys, the SMTP server refuses the
login, a second InfluxDB is not there at all (retry warnings)."""

from __future__ import annotations

import base64
import json
import logging
import secrets as pysecrets
import signal
import sqlite3
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import XUNJIAN, cli
from tests.hook_peers import TlsSmtpPeer, self_signed
from tests.peers import HOST, free_port, wait_until

FIELDS = ("ssh_password", "ssh_passphrase", "oracle_password", "wls_password", "snmp_community",
          "snmp_auth", "snmp_priv", "cli_password", "cli_secret", "influx_password", "influx_token",
          "webhook_bearer", "webhook_header", "alertmanager_password", "jira_password",
          "servicenow_bearer", "dingtalk_token", "dingtalk_secret", "wecom_key", "smtp_password")
USERS = {"wls_password": "weblogic", "influx_password": "xjinflux", "alertmanager_password": "am",
         "jira_password": "jira@example.com"}  # basic auth: user:password travels base64'd


logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the receivers' own request log


def planted() -> dict[str, str]:
    tag = pysecrets.token_hex(4)
    # some with characters that change when URL-encoded or JSON-escaped
    odd = {"dingtalk_token", "wecom_key", "webhook_bearer", "jira_password", "smtp_password"}
    return {f: f"XJSECRET-{f}-{tag}" + ("+/=x" if f in odd else "") for f in FIELDS}


def forms(name: str, value: str) -> set[str]:
    out = {value, urllib.parse.quote(value), urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
           json.dumps(value)[1:-1]}
    if name in USERS:
        out.add(base64.b64encode(f"{USERS[name]}:{value}".encode()).decode())
    return out


# -- a receiver that refuses everything and echoes what it was sent --------------------------------

class EchoReceiver:
    """401 to every request, the body echoing the query string and every header first (a receiver
    or proxy that quotes the request in its error is how tokens end up in error messages)."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.seen: list[str] = []
        ctx = None
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*tls)
        self.server = make_server(HOST, self.port, self._app, threaded=True, ssl_context=ctx)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        req.get_data()
        echo = " ".join([req.query_string.decode()] + [f"{k}: {v}" for k, v in req.headers.items()
                                                         if k.lower() not in ("host", "content-length")])
        self.seen.append(echo)
        return Response(f"denied {echo}", status=401)(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[tuple[EchoReceiver, EchoReceiver]]:
    (tmp_path / "echo-tls").mkdir()
    http, https = EchoReceiver(), EchoReceiver(self_signed(tmp_path / "echo-tls"))
    yield http, https
    http.stop()
    https.stop()


# -- the files -----------------------------------------------------------------------------------

def fake_sqlplus(home: Path, user: str) -> None:
    """sqlplus that echoes its stdin (the script, CONNECT line first) and prints no record."""
    import os
    import pwd

    entry = pwd.getpwnam(user)
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "sqlplus").write_text("#!/bin/sh\ncat\nexit 0\n")
    for p in (home.parent, home, home / "bin", home / "bin" / "sqlplus"):
        os.chown(p, entry.pw_uid, entry.pw_gid)
        p.chmod(0o755)


def write_files(tmp: Path, s: dict[str, str], ssh: Any, snmpd: Any, http: EchoReceiver,
                https: EchoReceiver, smtp: TlsSmtpPeer, ca: str, ora_home: Path) -> Path:
    sf = tmp / "secrets.yaml"
    sf.write_text(json.dumps(s))
    sf.chmod(0o600)
    locked_key = tmp / "locked_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "the-right-one", "-f", str(locked_key)],
                   check=True)

    def ref(f: str) -> str:
        return "${secret:" + f + "}"

    base = {"address": HOST, "interval": 2}
    ssh_ok = {"user": ssh.user, "key_file": str(ssh.client_key), "known_hosts": str(ssh.known_hosts),
              "connect_timeout": 3, "command_timeout": 10}
    snmp = {"port": snmpd.port, "timeout": 0.5, "retries": 0, "entity": False, "host_resources": False}
    devices = [
        {"name": "here", "kind": "server", "collectors": ["local"]},  # samples for the sinks
        {"name": "ssh-pw", "kind": "server", "port": ssh.port, "collectors": ["linux"],
         "ssh": {"user": ssh.user, "password": ref("ssh_password"), "known_hosts": str(ssh.known_hosts),
                 "connect_timeout": 3}},
        {"name": "ssh-key", "kind": "server", "port": ssh.port, "collectors": ["linux"],
         "ssh": {"user": ssh.user, "key_file": str(locked_key), "key_passphrase": ref("ssh_passphrase"),
                 "known_hosts": str(ssh.known_hosts), "connect_timeout": 3}},
        {"name": "ora", "kind": "server", "port": ssh.port, "collectors": ["oracle"], "ssh": ssh_ok,
         "settings": {"oracle": {"oracle_home": str(ora_home), "sid": "ORCL", "user": "xj_monitor",
                                 "password": ref("oracle_password")}}},
        {"name": "wls", "kind": "server", "collectors": ["weblogic_rest"],
         "settings": {"weblogic_rest": {"url": f"https://{HOST}:{https.port}", "user": USERS["wls_password"],
                                        "password": ref("wls_password"), "domain": "base_domain",
                                        "servers": ["ms1"], "verify": False, "timeout": 3}}},
        {"name": "snmp-v2", "kind": "switch", "collectors": ["snmp"],
         "settings": {"snmp": {**snmp, "version": "2c", "community": ref("snmp_community")}}},
        {"name": "snmp-v3", "kind": "switch", "collectors": ["snmp"],
         "settings": {"snmp": {**snmp, "version": "3", "user": snmpd.v3_user, "auth_protocol": "SHA",
                               "auth_key": ref("snmp_auth"), "priv_protocol": "AES",
                               "priv_key": ref("snmp_priv")}}},
        {"name": "sw", "kind": "switch", "collectors": ["cli"],
         "settings": {"cli": {"platform": "huawei", "port": ssh.port, "username": ssh.user,
                              "password": ref("cli_password"), "secret": ref("cli_secret"),
                              "known_hosts": str(ssh.known_hosts), "conn_timeout": 3,
                              "auth_timeout": 3, "read_timeout": 3}}},
    ]
    (tmp / "inventory.yaml").write_text(json.dumps(
        {"secrets_file": str(sf), "devices": [{**base, **d} for d in devices]}))
    channels = {
        "webhook": {"type": "webhook", "url": f"{http.url}/hook", "auth": {"bearer": ref("webhook_bearer")},
                    "headers": {"X-Api-Key": ref("webhook_header")}},
        "am": {"type": "alertmanager", "url": http.url, "auth": {"basic": {
            "username": USERS["alertmanager_password"], "password": ref("alertmanager_password")}}},
        "jira": {"type": "jira", "url": http.url, "project": "OPS", "auth": {"basic": {
            "username": USERS["jira_password"], "password": ref("jira_password")}}},
        "snow": {"type": "servicenow", "url": http.url, "auth": {"bearer": ref("servicenow_bearer")}},
        "ding": {"type": "dingtalk", "url": f"{http.url}/robot/send", "access_token": ref("dingtalk_token"),
                 "secret": ref("dingtalk_secret")},
        "wecom": {"type": "wecom", "url": f"{http.url}/cgi-bin/webhook/send", "key": ref("wecom_key")},
        "mail": {"type": "email", "host": HOST, "port": smtp.port, "security": "starttls",
                 "username": "xunjian", "password": ref("smtp_password"), "from": "xunjian@example.com",
                 "to": ["ops@example.com"], "ca_file": ca},
    }
    cfg = tmp / "xunjian.yaml"
    cfg.write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml", "secrets_file": str(sf), "workers": 8,
        "daemon": {"listen": "off"},
        "sinks": {"influxdb": [
            {"name": "refusing", "version": 1, "url": http.url, "database": "xj",
             "username": USERS["influx_password"], "password": ref("influx_password"), "timeout": 2},
            {"name": "away", "version": 2, "url": f"http://xjsink@{HOST}:{free_port()}", "org": "ops",
             "bucket": "xj", "token": ref("influx_token"), "timeout": 2},
        ]},
        "hooks": {"interval": "1s", "retry": {"initial": "1s", "max": "2s"}, "lang": "en",
                  "channels": channels,
                  "routes": [{"channels": list(channels), "match": {"events": ["open"]}}]},
    }))
    return cfg


def leaks(text: str, s: dict[str, str]) -> list[str]:
    return [f"{name} ({form!r})" for name, value in s.items() for form in forms(name, value) if form in text]


def store_rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    db = next(data_dir.glob("*.db"))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.peers
def test_no_planted_secret_is_written_anywhere(tmp_path: Path, ssh_peer, snmpd_peer,  # type: ignore[no-untyped-def]
                                               echo, remote_dir: Path) -> None:
    http, https = echo
    s = planted()
    cert, key = self_signed(tmp_path)
    ora_home = remote_dir / "ora"
    fake_sqlplus(ora_home, ssh_peer.user)
    with TlsSmtpPeer(cert, key, "xunjian", "not-the-planted-one") as smtp:
        cfg = write_files(tmp_path, s, ssh_peer, snmpd_peer, http, https, smtp, cert, ora_home)
        shown: list[str] = []

        def run(*commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
            """The commands side by side (each is a second or more of start-up)."""
            with ThreadPoolExecutor(4) as pool:
                done = list(pool.map(lambda args: cli(*args, "-c", str(cfg), cwd=tmp_path, timeout=60),
                                     commands))
            shown.extend(f"$ xunjian {' '.join(r.args[1:])}\n{r.stdout}\n{r.stderr}" for r in done)
            return done

        # 1. the engineer's inspection, recorded: every collector's error path, once; and the table
        r, table = run(("inspect", "--record", "--as", "tester", "--format", "json"), ("inspect", "--no-store"))
        assert r.returncode == 3 and table.returncode == 3, r.stdout + r.stderr + table.stderr
        results = {x["device"]: x for x in json.loads(r.stdout)["results"] if x["check"].startswith("collect.")}
        assert set(results) == {"here", "ssh-pw", "ssh-key", "ora", "wls", "snmp-v2", "snmp-v3", "sw"}
        assert all(x["status"] == "unknown" for d, x in results.items() if d != "here"), results

        # 2. the daemon: the same collections, the sinks (refused, away) and every hook channel
        daemon_log = tmp_path / "daemon.log"
        with daemon_log.open("w") as log:
            proc = subprocess.Popen([XUNJIAN, "run", "-c", str(cfg)], cwd=tmp_path, stdout=log,
                                    stderr=subprocess.STDOUT)
        data = tmp_path / "var"
        try:
            def fired() -> bool:
                text = daemon_log.read_text()
                tried = store_rows(data, "SELECT channel FROM outbox WHERE attempts > 0")
                per_device = store_rows(data, "SELECT device, count(*) FROM collections GROUP BY device")
                return ({c for (c,) in tried} >= {"webhook", "am", "jira", "snow", "ding", "wecom", "mail"}
                        and len(per_device) == 8 and all(n >= 2 for _, n in per_device)
                        and "sink away:" in text and "sink refusing rejected" in text)

            wait_until(fired, timeout=30, interval=0.2, what="every error path in the daemon")
            proc.send_signal(signal.SIGTERM)  # it flushes the sinks (one is away) while we read

            # 3. what people read afterwards: cases, the outbox, the ledger and the reports
            readers = run(("cases", "list", "--status", "all", "--format", "json"),
                          ("hooks", "list", "--format", "json"), ("report", "ledger", "--format", "md"),
                          ("report", "monthly", "--format", "md"), ("report", "ledger", "--format", "html"),
                          ("status",), ("inventory", "check"), ("inventory", "check", "--format", "json"))
            assert all(r.returncode in (0, 1, 3) for r in readers), [r.stderr for r in readers]
            # `hooks test` prints the channel's error
            tests = run(*(("hooks", "test", ch) for ch in ("webhook", "jira", "ding", "mail")))
            assert all(r.returncode == 1 and "not delivered" in r.stderr for r in tests), [r.stderr for r in tests]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # written nowhere: output, log, every file under the data dir, the ledger and reports
    found: dict[str, list[str]] = {}
    for i, text in enumerate(shown):
        found[f"cli output {i}: {text.splitlines()[0]}"] = leaks(text, s)
    log_text = daemon_log.read_text()
    found["daemon log"] = leaks(log_text, s)
    for p in sorted(data.rglob("*")):
        if p.is_file():
            found[str(p.relative_to(tmp_path))] = leaks(p.read_bytes().decode("utf-8", "replace"), s)
    leaked = {k: v for k, v in found.items() if v}
    assert not leaked, "planted secrets found in:\n" + "\n".join(f"{k}: {', '.join(v)}" for k, v in leaked.items())
    assert "xjsink@" not in log_text  # URLs are logged without their userinfo
    assert len(found) > 10 and any(p.suffix == ".db" for p in data.rglob("*"))

    # ... though every error path fired, and the secrets really reached peers that echo them back
    sent = "\n".join(http.seen + https.seen)
    for f in ("influx_password", "webhook_bearer", "webhook_header", "jira_password", "servicenow_bearer",
              "dingtalk_token", "wecom_key", "alertmanager_password", "wls_password"):
        assert any(form in sent for form in forms(f, s[f])), f"{f} never reached the receiver"
    assert ("xunjian", False) in smtp.logins  # the SMTP login with the planted password was refused
    reasons = {d: x["message"] for d, x in results.items()}
    assert "no instance record" in reasons["ora"] and "CONNECT xj_monitor/" in reasons["ora"], reasons
    hook_errors = dict(store_rows(data, "SELECT channel, last_error FROM outbox WHERE attempts > 0"))
    assert "HTTP 401 denied" in hook_errors["webhook"] and "SMTP login refused" in hook_errors["mail"]


def test_a_password_in_a_sink_or_hook_url_is_refused_and_not_echoed(tmp_path: Path) -> None:
    pw = f"XJSECRET-url-{pysecrets.token_hex(4)}"
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: here, collectors: [local]}\n")
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text(json.dumps({"inventory": "inventory.yaml", "sinks": {"influxdb": [
        {"name": "v1", "version": 1, "url": f"http://xj:{pw}@{HOST}:8086", "database": "xj"},
        {"name": "v2", "version": 2, "url": f"http://xj:{pw}@{HOST}:8428", "org": "o", "bucket": "b"}]}}))
    r = cli("inspect", "-c", str(cfg), cwd=tmp_path, env={"COLUMNS": "400"})
    assert r.returncode == 2 and pw not in r.stdout + r.stderr, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert any("sinks.influxdb[0]" in ln and "password: ${secret:KEY}" in ln for ln in lines), r.stderr
    assert any("sinks.influxdb[1]" in ln and "token: ${secret:KEY}" in ln for ln in lines), r.stderr

    cfg.write_text(json.dumps({"inventory": "inventory.yaml", "hooks": {
        "channels": {"ops": {"type": "webhook", "url": f"https://ops:{pw}@{HOST}/hook"}},
        "routes": [{"channels": ["ops"]}]}}))
    r = cli("inspect", "-c", str(cfg), cwd=tmp_path, env={"COLUMNS": "400"})
    assert r.returncode == 2 and pw not in r.stdout + r.stderr, r.stdout + r.stderr
    assert "hooks.channels.ops.url: a password in the URL is not accepted" in r.stderr, r.stderr
    assert "password: ${secret:KEY}" in r.stderr


# -- the redactor itself ---------------------------------------------------------------------------

@pytest.fixture
def redactor() -> Iterator[Any]:
    from core.redaction import REDACTOR

    REDACTOR.clear()
    yield REDACTOR
    REDACTOR.clear()


def test_a_registered_secret_is_masked_in_the_forms_it_travels_in(redactor: Any) -> None:
    from core.redaction import basic_auth, redact, register

    pw = 'pa"ss w/rd+1'
    register(pw)
    token = basic_auth("admin", pw)
    text = f'CONNECT u/"{pw}" {json.dumps({"p": pw})} ?k={urllib.parse.quote(pw, safe="")} Basic {token}'
    out = redact(text)
    assert "pa" not in out.replace("***", "") and token not in out, out
    assert out.count("***") == 4


def test_short_secrets_are_not_masked_by_value_and_say_so(redactor: Any, caplog: pytest.LogCaptureFixture) -> None:
    from core.redaction import redact, register

    with caplog.at_level(logging.WARNING, logger="core.redaction"):
        register("123", "${secret:pin}")
        register("123", "${secret:pin}")
    assert redact("took 123 ms, 1234 samples") == "took 123 ms, 1234 samples"
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "${secret:pin}" in warned[0] and "123" not in warned[0]


def test_the_log_filter_masks_messages_arguments_and_tracebacks(redactor: Any) -> None:
    import io

    from agent.cli.common import JsonLines
    from core.redaction import RedactingFilter, register

    register("hunter2-secret")
    out = io.StringIO()
    for fmt in (logging.Formatter("%(message)s"), JsonLines()):
        handler = logging.StreamHandler(out)
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        logger = logging.getLogger("xj-test-redaction")
        logger.addHandler(handler)
        try:
            logger.warning("retrying http://user:pw@host:8086/write with %s", "hunter2-secret")
            try:
                raise ValueError("bad hunter2-secret")
            except ValueError:
                logger.exception("failed")
        finally:
            logger.removeHandler(handler)
    text = out.getvalue()
    assert "hunter2" not in text and "user:pw@" not in text and "http://host:8086/write" in text
    assert text.count("ValueError: bad ***") == 2, text


def test_a_crashing_thread_is_logged_through_the_filter() -> None:
    import sys

    code = ("import logging, threading\n"
            "from agent.cli.common import setup_logging\n"
            "from core.redaction import register\n"
            "register('hunter2-secret')\n"
            "setup_logging(logging.INFO)\n"
            "def crash():\n"
            "    raise RuntimeError('boom hunter2-secret')\n"
            "t = threading.Thread(target=crash, name='sender')\n"
            "t.start()\n"
            "t.join()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert "uncaught exception in thread sender" in r.stderr and "RuntimeError: boom ***" in r.stderr, r.stderr
    assert "hunter2" not in r.stderr + r.stdout


def test_a_credential_header_must_be_a_reference() -> None:
    from agent.hooks.settings import load_hooks
    from agent.secrets import Secrets
    from core.problems import ConfigError

    def channels(headers: dict[str, str]) -> dict[str, Any]:
        return {"channels": {"w": {"type": "webhook", "url": "http://127.0.0.1/h", "headers": headers}}}

    with pytest.raises(ConfigError) as e:
        load_hooks(channels({"X-Source": "xunjian", "Authorization": "Bearer XJSECRET-h"}), "x.yaml", Path("."),
                   Secrets(None, {}))
    assert "hooks.channels.w.headers: header Authorization: a reference" in str(e.value)
    assert "XJSECRET" not in str(e.value)
    ok = load_hooks(channels({"X-Source": "xunjian", "X-Api-Key": "${XJ_KEY}"}), "x.yaml", Path("."),
                    Secrets(None, {"XJ_KEY": "k-value-1"}))
    assert ok.channels["w"].secrets["headers.X-Api-Key"].get_secret_value() == "k-value-1"
