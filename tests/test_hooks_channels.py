"""Channels against real receivers on 127.0.0.1: e-mail over STARTTLS with login (aiosmtpd),
script, and the presets — Jira, ServiceNow, Alertmanager, DingTalk (signed), WeCom — in zh-CN and en."""

from __future__ import annotations

import email
import email.policy
import json
import stat
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from agent.cases.queries import case_tickets
from agent.hooks.channels.robots import dingtalk_sign
from reports.fault import render_fault_report
from tests.hook_peers import HookReceiver, TlsSmtpPeer, self_signed
from tests.hook_setup import ENV, Dev, body, fault, ok, rig

pytestmark = pytest.mark.peers


def mail_hooks(port: int, ca: str, lang: str) -> dict[str, Any]:
    return {"lang": lang, "channels": {"mail": {
        "type": "email", "host": "127.0.0.1", "port": port, "security": "starttls", "ca_file": ca,
        "username": "xunjian", "password": "${SMTP_PASS}", "from": "xunjian@ops.example", "to": ["noc@ops.example"]}},
        "routes": [{"channels": ["mail"], "recipients": ["experts@ops.example"],
                    "tiers": {1: ["manager@ops.example"]}, "match": {"events": ["open", "escalate"]}}]}


@pytest.mark.parametrize(("lang", "subject", "html_word"), [
    ("zh-CN", "新故障 二级（主要） db01", "检查项"), ("en", "opened L2 main db01", "Check")])
def test_email_starttls_login_text_and_html(tmp_path: Path, lang: str, subject: str, html_word: str) -> None:
    cert, key = self_signed(tmp_path)
    with TlsSmtpPeer(cert, key, "xunjian", ENV["SMTP_PASS"]) as smtp:
        r = rig(tmp_path, mail_hooks(smtp.port, cert, lang))
        (_, case), = r.ce.apply([fault(level=2)])
        assert r.worker.drain().sent == 1
        (sender, rcpts, raw), = smtp.mailbox.messages
        assert smtp.logins == [("xunjian", True)]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert sender == "xunjian@ops.example"
        assert rcpts == ["noc@ops.example", "experts@ops.example"]  # level 2: no manager tier
        assert subject in str(msg["Subject"]) and case.number in str(msg["Subject"])
        assert msg["X-Xunjian-Idempotency-Key"] == f"{case.number}#1"
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert case.number in text and html_word in html and "<table" in html
        # no response within 1 h: escalated to level 1, which reaches the manager tier too
        r.clock.now += 3600
        r.ce.tick()
        r.worker.drain()
        assert "manager@ops.example" in smtp.mailbox.messages[-1][1]


def test_email_wrong_password_is_dead_and_tls_is_verified(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with TlsSmtpPeer(cert, key, "xunjian", "another-password") as smtp:
        r = rig(tmp_path, mail_hooks(smtp.port, cert, "en"))
        r.ce.apply([fault()])
        assert r.worker.drain().dead == 1
        assert "login refused" in r.items()[0].last_error and ENV["SMTP_PASS"] not in r.items()[0].last_error
    (tmp_path / "other").mkdir()
    other, _ = self_signed(tmp_path / "other")  # a CA that did not sign the server's certificate
    with TlsSmtpPeer(cert, key, "xunjian", ENV["SMTP_PASS"]) as smtp:
        r2 = rig(tmp_path / "b", mail_hooks(smtp.port, other, "en"))
        r2.ce.apply([fault()])
        assert r2.worker.drain().failed == 1 and not smtp.mailbox.messages
        assert "CERTIFICATE_VERIFY_FAILED" in r2.items()[0].last_error or "SSL" in r2.items()[0].last_error


def test_script_channel_argv_stdin_json_exit_code_and_ticket(tmp_path: Path) -> None:
    log, flag = tmp_path / "got.jsonl", tmp_path / "fail-once"
    script = tmp_path / "ticket.py"
    script.write_text(
        "import json, os, sys\n"
        f"doc = json.load(sys.stdin)\nflag = {str(flag)!r}\n"
        "if os.path.exists(flag):\n    os.remove(flag); print('busy', file=sys.stderr); sys.exit(3)\n"
        f"open({str(log)!r}, 'a').write(json.dumps([sys.argv[1:], os.environ['XUNJIAN_IDEMPOTENCY_KEY'], doc]) + '\\n')\n"
        "print(json.dumps({'ticket_id': 'RB-' + doc['case']['number']}))\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    flag.touch()
    r = rig(tmp_path, {"channels": {"rb": {"type": "script", "argv": [sys.executable, str(script), "--queue", "ops; rm -rf /"],
                                           "timeout": 10}},
                       "routes": [{"channels": ["rb"]}]})
    (_, case), = r.ce.apply([fault()])
    stats = r.worker.drain()
    assert stats.failed == 1 and "exit 3: busy" in r.items()[0].last_error
    r.clock.now += 60
    assert r.worker.drain().sent == 1
    (argv, key, doc), = [json.loads(line) for line in log.read_text().splitlines()]
    assert argv == ["--queue", "ops; rm -rf /"]  # an argument, never a shell command
    assert key == f"{case.number}#1" and doc["case"]["number"] == case.number and doc["kind"] == "open"
    assert case_tickets(r.engine, case.number)[0]["ticket_id"] == f"RB-{case.number}"


def test_script_timeout_is_a_failed_attempt(tmp_path: Path) -> None:
    r = rig(tmp_path, {"channels": {"slow": {"type": "script", "argv": [sys.executable, "-c", "import time; time.sleep(5)"],
                                             "timeout": 0.3}}, "routes": [{"channels": ["slow"]}]})
    r.ce.apply([fault()])
    assert r.worker.drain().failed == 1 and "timed out after 0.3 s" in r.items()[0].last_error


def test_jira_create_comment_transition_and_ticket_on_the_case(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, {"lang": "en", "channels": {"jira": {
            "type": "jira", "url": rx.url, "project": "OPS",
            "auth": {"basic": {"username": "bot@example.com", "password": "${JIRA_TOKEN}"}}}},
            "routes": [{"channels": ["jira"], "match": {"events": ["open", "escalate", "resolve", "note"]}}]})
        (_, case), = r.ce.apply([fault(level=2)])
        r.worker.drain()
        (key,) = rx.jira_issues
        issue = rx.jira_issues[key]
        assert issue["labels"] == [f"xunjian-{case.number}", "xunjian"] and case.number in issue["summary"]
        create = rx.hits("/rest/api/2/issue")[0]
        assert create.headers["Authorization"].startswith("Basic ") and body(create)["fields"]["project"] == {"key": "OPS"}
        r.ce.act(case.number, "note", "li.na", note="replacing the disk")
        r.worker.drain()
        assert "replacing the disk" in issue["comments"][0] and f"{case.number}#2" in issue["comments"][0]
        r.ce.apply([ok()])
        r.worker.drain()
        assert issue["status"] == "Done" and "resolved" in issue["comments"][-1]
        assert rx.creates[f"xunjian-{case.number}"] == 1
        assert case_tickets(r.engine, case.number) == [{"channel": "jira", "ticket_id": key,
                                                         "url": f"{rx.url}/browse/{key}"}]
        report = render_fault_report(r.engine, r.ce.policy, case.number, "md", "en")
        assert report is not None and f"| Tickets | jira: {key} ({rx.url}/browse/{key}) |" in report.decode()
        html = render_fault_report(r.engine, r.ce.policy, case.number, "html", "zh-CN")
        assert html is not None and f'<a href="{rx.url}/browse/{key}">{key}</a>' in html.decode()


def test_servicenow_incident_create_update_resolve(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, {"channels": {"sn": {"type": "servicenow", "url": rx.url, "assignment_group": "NOC",
                                               "auth": {"basic": {"username": "xj", "password": "${SNOW_PASS}"}}}},
                           "routes": [{"channels": ["sn"], "match": {"events": ["open", "ack", "resolve"]}}]})
        (_, case), = r.ce.apply([fault(level=1)])
        r.worker.drain()
        (sys_id, inc), = rx.snow.items()
        assert inc["correlation_id"] == case.number and inc["impact"] == "1" and inc["assignment_group"] == "NOC"
        r.ce.act(case.number, "ack", "zhang.wei")
        r.ce.apply([ok()])
        r.worker.drain()
        assert inc["state"] == "6" and len(inc["notes"]) == 2
        assert rx.creates[case.number] == 1 and case_tickets(r.engine, case.number)[0]["ticket_id"] == sys_id


def test_alertmanager_payload(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, {"channels": {"am": {"type": "alertmanager", "url": f"{rx.url}/hook", "receiver": "noc"}},
                           "routes": [{"channels": ["am"]}]})
        (_, case), = r.ce.apply([fault(level=1, status=__import__("core.model").model.Status.CRIT)])
        r.ce.apply([ok()])
        r.worker.drain()
        firing, resolved = (body(s) for s in rx.hits("/hook"))
        assert firing["version"] == "4" and firing["status"] == "firing" and firing["receiver"] == "noc"
        (alert,) = firing["alerts"]
        assert alert["labels"]["case"] == case.number and alert["labels"]["severity"] == "crit"
        assert alert["endsAt"] == "0001-01-01T00:00:00Z" and alert["startsAt"].startswith("20")
        assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
        assert set(firing) >= {"groupKey", "truncatedAlerts", "groupLabels", "commonLabels",
                               "commonAnnotations", "externalURL"}


@pytest.mark.parametrize(("lang", "word"), [("zh-CN", "新故障"), ("en", "opened")])
def test_dingtalk_signed_markdown_and_wecom(tmp_path: Path, lang: str, word: str) -> None:
    with HookReceiver(dingtalk_secret=ENV["DT_SECRET"]) as rx:
        r = rig(tmp_path, {"lang": lang, "channels": {
            "dt": {"type": "dingtalk", "url": f"{rx.url}/robot/send", "access_token": "${DT_TOKEN}",
                   "secret": "${DT_SECRET}", "at_mobiles": ["13800000000"]},
            "wx": {"type": "wecom", "url": f"{rx.url}/cgi-bin/webhook/send", "key": "${WECOM_KEY}"}},
            "routes": [{"channels": ["dt", "wx"]}]}, [Dev("db01", labels={"site": "county-a"})])
        (_, case), = r.ce.apply([fault(level=1)])
        assert r.worker.drain().sent == 2 and {i.status for i in r.items()} == {"done"}
        (dt,) = rx.hits("/robot/send")
        doc = body(dt)
        assert doc["msgtype"] == "markdown" and word in doc["markdown"]["title"]
        assert case.number in doc["markdown"]["text"] and "@13800000000" in doc["markdown"]["text"]
        assert doc["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
        (wx,) = rx.hits("/cgi-bin/webhook/send")
        assert word in body(wx)["markdown"]["content"] and "county-a" in body(wx)["markdown"]["content"]


def test_dingtalk_wrong_signing_secret_is_dead(tmp_path: Path) -> None:
    with HookReceiver(dingtalk_secret="SECanother") as rx:
        r = rig(tmp_path, {"channels": {"dt": {"type": "dingtalk", "url": f"{rx.url}/robot/send",
                                               "access_token": "${DT_TOKEN}", "secret": "${DT_SECRET}"}},
                           "routes": [{"channels": ["dt"]}]})
        r.ce.apply([fault()])
        assert r.worker.drain().dead == 1
        err = r.items()[0].last_error
        assert "errcode 310000" in err and "dt-token" not in err and ENV["DT_SECRET"] not in err


def test_dingtalk_sign_matches_the_documented_recipe() -> None:
    # HMAC-SHA256(key=secret, msg="{ts}\n{secret}"), base64, then url-encoded
    import base64
    import hashlib
    import hmac
    ts, secret = 1700000000000, "SECabc"
    raw = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    assert dingtalk_sign(secret, ts) == urllib.parse.quote_plus(raw)
    assert "%" in dingtalk_sign("SECxyz", 1700000000123) or "+" not in raw


def test_email_implicit_tls_without_login(tmp_path: Path) -> None:
    import ssl

    from aiosmtpd.controller import Controller

    from tests.hook_peers import Mailbox
    from tests.peers import free_port

    cert, key = self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=ctx)
    controller.start()
    try:
        raw = mail_hooks(port, cert, "zh-CN")
        del raw["channels"]["mail"]["username"], raw["channels"]["mail"]["password"]
        raw["channels"]["mail"]["security"] = "ssl"
        r = rig(tmp_path, raw)
        (_, case), = r.ce.apply([fault(level=1)])
        assert r.worker.drain().sent == 1
        (_, rcpts, content), = box.messages
        assert rcpts == ["noc@ops.example", "experts@ops.example", "manager@ops.example"]  # level 1 tier
        msg = email.message_from_bytes(content, policy=email.policy.default)
        assert "一级（重大）" in str(msg["Subject"]) and case.number in msg.get_body(("plain",)).get_content()
    finally:
        controller.stop()
