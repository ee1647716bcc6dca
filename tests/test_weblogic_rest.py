"""WebLogic REST management API: the parsers against garbage (their cases on real-shaped JSON are
data: collectors/weblogic/testdata/server_runtimes, heaps), then the collector against a
fake admin server over HTTPS on 127.0.0.1 — state, health, heap, a restart (new activation
time), a server gone ADMIN or missing, and every way the request can fail (401, 500, non-JSON,
an untrusted certificate, a hung server)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.inventory import load_inventory
from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.weblogic.rest_parse import parse_heaps, parse_server_runtimes
from core.model import CollectionError, Status
from core.problems import ConfigError
from tests.helpers import user_docs
from tests.sshdev import Cycles, by, one
from tests.wls_peer import RUNTIMES, AdminServer

GiB = 2**30


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                           max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["items", "serverRuntimes", "name"]), json_values, max_size=2))
def test_parsers_never_raise_on_garbage(doc: dict[str, Any]) -> None:
    for parse in (parse_server_runtimes, parse_heaps):
        with contextlib.suppress(CollectionError):
            parse(doc)


# ---- against a fake admin server over HTTPS ----

@pytest.fixture
def admin(tmp_path: Path) -> Iterator[AdminServer]:
    srv = AdminServer(tmp_path / "tls")
    srv.workdir.mkdir()
    srv.servers = {
        "AdminServer": {"state": "RUNNING", "activationTime": 1763773200123, "openSocketsCurrentCount": 4,
                        "healthState": {"state": "ok", "subsystemName": None, "symptoms": []},
                        "heap": (GiB // 2, GiB // 4, GiB)},
        "ms1": {"state": "RUNNING", "activationTime": 1763773300001, "openSocketsCurrentCount": 9,
                "healthState": {"state": "ok", "subsystemName": None, "symptoms": []},
                "heap": (2 * GiB, GiB, 4 * GiB)},
    }
    with srv:
        yield srv


def rest_device(tmp_path: Path, admin: AdminServer, password: str | None = None, **extra: Any) -> Any:
    rest = {"url": admin.url, "user": admin.user, "password": "${secret:wls_pw}", "domain": "base_domain",
            "servers": ["AdminServer", "ms1", "ms2"], "ca_file": admin.cert, "timeout": 3, **extra}
    if rest["ca_file"] is None:
        del rest["ca_file"]
    sf = tmp_path / "secrets.yaml"
    sf.write_text(json.dumps({"wls_pw": password or admin.password}))
    sf.chmod(0o600)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"secrets_file": str(sf), "devices": [{
        "name": "adm01", "kind": "server", "address": "127.0.0.1", "collectors": ["weblogic_rest"],
        "settings": {"weblogic_rest": rest}}]}))
    return load_inventory(inv).devices["adm01"]


def verdicts(samples: list[Any]) -> dict[tuple[str, str], Status]:
    return {(v.check, v.instance): v.status for v in evaluate(samples, "adm01", load_rules())}


def test_states_health_heap_restart(tmp_path: Path, admin: AdminServer) -> None:
    cycles = Cycles(rest_device(tmp_path, admin), "weblogic_rest")
    r = cycles.run()
    assert r.status is Status.OK, r.reason
    ms1 = one(r.samples, "weblogic", server="ms1")
    assert ms1.tags["domain"] == "base_domain"
    assert ms1.fields["state"] == "RUNNING" and ms1.fields["running"] == 1 and ms1.fields["restarts"] == 0
    assert ms1.fields["started_at"] == 1763773300 and ms1.fields["health"] == "ok"
    assert ms1.fields["heap_used_bytes"] == GiB and ms1.fields["heap_max_bytes"] == 4 * GiB
    ms2 = one(r.samples, "weblogic", server="ms2")  # listed, not running: absent from the answer
    assert ms2.fields["state"] == "NOT_RUNNING" and ms2.fields["running"] == 0
    assert by(r.samples, "event") == []
    v = verdicts(r.samples)
    assert v[("weblogic_state", "ms1")] is Status.OK and v[("weblogic_state", "ms2")] is Status.CRIT
    # what went over the wire: the documented headers, basic auth, the narrow field list
    req = admin.requests[0]
    assert req.path == RUNTIMES and req.args["links"] == "none" and "activationTime" in req.args["fields"]
    assert req.headers["X-Requested-By"] and req.headers["Accept"] == "application/json"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"monitor:W3blogic-pw!").decode()

    # ms1 restarted (new activation time) and came back in ADMIN; its health went warn
    admin.servers["ms1"].update(state="ADMIN", activationTime=1763780000555,
                                healthState={"state": "warn", "subsystemName": "ThreadPool",
                                             "symptoms": [{"severity": "MEDIUM", "symptomType": "STUCK_THREADS",
                                                           "info": "1 stuck thread"}]})
    r2 = cycles.run()
    assert r2.status is Status.OK, r2.reason
    ms1 = one(r2.samples, "weblogic", server="ms1")
    assert ms1.fields["restarts"] == 1 and ms1.fields["state"] == "ADMIN"
    assert one(r2.samples, "weblogic", server="AdminServer").fields["restarts"] == 0
    ev = one(r2.samples, "event", server="ms1")
    assert ev.tags["kind"] == "restart" and "1763780000555" in str(ev.fields["message"])
    v = verdicts(r2.samples)
    assert v[("weblogic_restarts", "ms1")] is Status.WARN and v[("weblogic_state", "ms1")] is Status.WARN
    assert v[("weblogic_health", "ms1")] is Status.WARN and v[("weblogic_health", "AdminServer")] is Status.OK

    # same activation time again: no second restart; FAILED is critical
    admin.servers["ms1"]["state"] = "FAILED"
    r3 = cycles.run()
    ms1 = one(r3.samples, "weblogic", server="ms1")
    assert ms1.fields["restarts"] == 0 and by(r3.samples, "event") == []
    assert verdicts(r3.samples)[("weblogic_state", "ms1")] is Status.CRIT


def test_wrong_password_is_unknown_and_never_shown(tmp_path: Path, admin: AdminServer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = Cycles(rest_device(tmp_path, admin, password="not-the-pw-123"), "weblogic_rest").run()
    assert r.status is Status.UNKNOWN and "HTTP 401" in r.reason and "monitor" in r.reason
    assert "not-the-pw-123" not in r.reason + caplog.text
    assert r.samples == []


def test_untrusted_certificate_then_ca_file(tmp_path: Path, admin: AdminServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    r = Cycles(rest_device(tmp_path, admin, ca_file=None), "weblogic_rest").run()
    assert r.status is Status.UNKNOWN and "TLS certificate not trusted" in r.reason, r.reason
    assert admin.requests == []  # nothing (no password) was sent to an unverified server
    ok = Cycles(rest_device(tmp_path, admin), "weblogic_rest").run()
    assert ok.status is Status.OK, ok.reason
    # verify: false works, and says so
    caplog.set_level(logging.WARNING)
    r = Cycles(rest_device(tmp_path, admin, ca_file=None, verify=False), "weblogic_rest").run()
    assert r.status is Status.OK, r.reason
    assert "verify is false" in caplog.text


@pytest.mark.parametrize(("status", "body", "expected"), [
    (500, b"<html>Internal Server Error</html>", "HTTP 500"),
    (503, None, "HTTP 503"),
    (None, b"<html>login page</html>", "not JSON"),
])
def test_server_errors_are_unknown(tmp_path: Path, admin: AdminServer, status: int | None,
                                   body: bytes | None, expected: str) -> None:
    admin.status, admin.body = status, body
    r = Cycles(rest_device(tmp_path, admin), "weblogic_rest").run()
    assert r.status is Status.UNKNOWN and expected in r.reason, r.reason


def test_hung_server_times_out(tmp_path: Path, admin: AdminServer) -> None:
    admin.hold = threading.Event()
    r = Cycles(rest_device(tmp_path, admin, timeout=0.5), "weblogic_rest").run()
    admin.hold.set()
    assert r.status is Status.UNKNOWN and "no answer within 0.5 s" in r.reason, r.reason
    assert r.duration < 5


def test_refused_is_unknown(tmp_path: Path, admin: AdminServer) -> None:
    device = rest_device(tmp_path, admin)
    admin.stop()
    r = Cycles(device, "weblogic_rest").run()
    assert r.status is Status.UNKNOWN and "refused" in r.reason, r.reason


def test_heap_search_failing_keeps_state(tmp_path: Path, admin: AdminServer) -> None:
    admin.search_status = 404
    r = Cycles(rest_device(tmp_path, admin), "weblogic_rest").run()
    assert r.status is Status.OK, r.reason
    ms1 = one(r.samples, "weblogic", server="ms1")
    assert ms1.fields["state"] == "RUNNING" and "HTTP 404" in str(ms1.fields["heap_error"])
    assert "heap_used_bytes" not in ms1.fields


@pytest.mark.parametrize(("change", "where"), [
    ({"url": "http://127.0.0.1:7001"}, "settings.weblogic_rest.url"),
    ({"password": "plain-text"}, "settings.weblogic_rest.password"),
    ({"ca_file": "certs/ca.pem"}, "settings.weblogic_rest.ca_file"),
    ({"servers": []}, "settings.weblogic_rest.servers"),
])
def test_bad_settings_name_the_place(tmp_path: Path, admin: AdminServer, change: dict[str, Any],
                                     where: str) -> None:
    rest = {"url": admin.url, "user": "monitor", "password": "${secret:wls_pw}", "domain": "d",
            "servers": ["ms1"], **change}
    sf = tmp_path / "secrets.yaml"
    sf.write_text(json.dumps({"wls_pw": "x"}))
    sf.chmod(0o600)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"secrets_file": str(sf), "devices": [{
        "name": "adm01", "address": "127.0.0.1", "collectors": ["weblogic_rest"],
        "settings": {"weblogic_rest": rest}}]}))
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    assert where in str(e.value) and "plain-text" not in str(e.value)


def test_readme_oracle_weblogic_example_loads(tmp_path: Path) -> None:
    readme = user_docs()
    block = readme.split("An Oracle + WebLogic host:", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    sf = tmp_path / "secrets.yaml"
    sf.write_text(json.dumps({"wls_monitor": "Wls-s3cret-9"}))
    sf.chmod(0o600)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(f"secrets_file: {sf}\ndefaults: {{ssh: {{user: oracle}}}}\n" + block)
    dev = load_inventory(inv).devices["app01"]
    rest = dev.settings["weblogic_rest"]
    assert "weblogic_rest" in dev.collectors and rest.domain == "base_domain"
    assert rest.verify and rest.ca_file == "/etc/xunjian/wls-ca.pem" and rest.servers[-1] == "ms2"
    assert rest.password.get_secret_value() == "Wls-s3cret-9"
    from tests.helpers import cli
    shown = cli("inventory", "check", "-i", str(inv), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert "Wls-s3cret-9" not in shown.stdout + shown.stderr and "weblogic_rest" in shown.stdout


def test_stopped_then_started_is_one_restart(tmp_path: Path, admin: AdminServer) -> None:
    cycles = Cycles(rest_device(tmp_path, admin), "weblogic_rest")
    assert cycles.run().status is Status.OK
    ms1 = admin.servers.pop("ms1")  # stopped: the admin server no longer lists it
    r = cycles.run()
    assert one(r.samples, "weblogic", server="ms1").fields["state"] == "NOT_RUNNING"
    assert verdicts(r.samples)[("weblogic_state", "ms1")] is Status.CRIT
    admin.servers["ms1"] = {**ms1, "activationTime": ms1["activationTime"] + 600_000}
    admin.servers["ms2"] = {"state": "RUNNING", "activationTime": 1763773999000}  # first seen: no restart
    r = cycles.run()
    assert one(r.samples, "weblogic", server="ms1").fields["restarts"] == 1
    assert one(r.samples, "weblogic", server="ms2").fields["restarts"] == 0
    assert [e.tags["server"] for e in by(r.samples, "event")] == ["ms1"]


def test_cli_inspect_judges_rest_servers(tmp_path: Path, admin: AdminServer) -> None:
    from tests.helpers import cli

    rest_device(tmp_path, admin)
    r = cli("inspect", "-i", str(tmp_path / "inventory.yaml"), "--data-dir", str(tmp_path / "var"), "-f", "json")
    doc = json.loads(r.stdout)
    checks = {(x["check"], x["instance"]): x["status"] for x in doc["results"]}
    assert checks[("collect.weblogic_rest", "")] == "ok"
    assert checks[("weblogic_state", "ms1")] == "ok" and checks[("weblogic_state", "ms2")] == "crit"
    assert checks[("weblogic_health", "AdminServer")] == "ok"
    assert r.returncode == 2  # Nagios: CRIT
