"""Mail intake (intake.mail) against a real dovecot (tests/imap_peer.py) and a real SMTP server
(tests/hook_peers.py): new mail → a case with an acknowledgement, replies → notes, nothing
taken twice, strangers and robots ignored, a mailbox that cannot be read → the self-check
case (never the password), a crash between the case and the move → nothing duplicated."""

from __future__ import annotations

import base64
import itertools
import json
import os
import quopri
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import format_datetime, formatdate, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, insert, select

from agent.app import build_background, load_app
from agent.cases.engine import CaseEngine
from agent.cases.queries import case_history, case_report, get_case
from agent.config import load_config
from agent.mailin.message import html_to_text, parse, reply_text
from agent.mailin.poll import MAIL_CHECK, MailPoller
from agent.store.db import open_engine
from agent.store.schema import cases, mail_messages, state
from core.problems import ConfigError
from tests.helpers import cli, user_docs
from tests.hook_peers import TlsSmtpPeer
from tests.imap_peer import DovecotPeer
from tests.peers import HOST, free_port, wait_until

SMTP_PW = "smtp-secret-4711"
USERS = {f"desk{i}": f"imap-pw-{i}-s3cret" for i in range(1, 13)}
_next_user = itertools.count(1)


@pytest.fixture(scope="module")
def imap() -> Iterator[DovecotPeer]:
    with DovecotPeer(USERS) as peer:
        yield peer


@pytest.fixture
def smtp(imap: DovecotPeer) -> Iterator[TlsSmtpPeer]:
    with TlsSmtpPeer(imap.cert, imap.key, "xunjian", SMTP_PW) as peer:
        yield peer


@pytest.fixture
def user() -> str:
    """A mailbox of its own for each test (a fresh Maildir: UIDs from 1)."""
    return f"desk{next(_next_user)}"


def write_config(tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str,
                 **mail: Any) -> Path:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"imap": mail.pop("password_value", USERS[user]), "smtp": SMTP_PW}))
    secrets.chmod(0o600)
    cfg = {
        "data_dir": str(tmp_path / "var"), "inventory": str(tmp_path / "inventory.yaml"),
        "secrets_file": str(secrets), "timezone": "Asia/Shanghai",
        "hooks": {"channels": {"desk-mail": {
            "type": "email", "host": HOST, "port": smtp.port, "security": "starttls", "ca_file": imap.cert,
            "username": "xunjian", "password": "${secret:smtp}", "from": "服务台 <desk@contractor.cn>"}}},
        "intake": {"mail": {
            "host": HOST, "port": imap.imaps_port, "tls": "implicit", "ca_file": imap.cert, "user": user,
            "password": "${secret:imap}", "allowed_domains": ["customer.cn"], "level": 2,
            "category": "mail", "ack": {"channel": "desk-mail"}, **mail}},
    }
    path = tmp_path / "xunjian.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path


def b64(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def gbk_mail(subject: str, body: str, name: str = "王喆", address: str = "wangzhe@customer.cn",
             date: float | None = None, message_id: str | None = None, extra: str = "",
             attachment: bool = True) -> bytes:
    """As Foxmail and Outlook send Chinese mail: GBK text labelled GB2312 (喆 is GBK only),
    quoted-printable body, RFC 2047 subject and name, a base64 attachment with a Chinese name."""
    text = quopri.encodestring(body.encode("gbk")).decode("ascii")
    head = (f"From: {b64(name, 'gbk')} <{address}>\r\nTo: desk@contractor.cn\r\n"
            f"Subject: {b64(subject, 'gb2312')}\r\n"
            f"Date: {formatdate(date if date is not None else time.time(), localtime=True)}\r\n"
            f"Message-ID: {message_id or make_msgid(domain='customer.cn')}\r\nMIME-Version: 1.0\r\n{extra}")
    if not attachment:
        return (head + "Content-Type: text/plain; charset=gb2312\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + text).encode("ascii")
    png = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(2048)).decode("ascii")
    return (head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"{text}\r\n--b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="{b64("截图.png", "utf-8")}"\r\n\r\n{png}\r\n'
            "--b1--\r\n").encode("ascii")


def reply(subject: str, body: str, in_reply_to: str = "", address: str = "wangzhe@customer.cn") -> bytes:
    refs = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (f"From: =?utf-8?q?=E7=8E=8B=E5=96=86?= <{address}>\r\nTo: desk@contractor.cn\r\n"
            f"Subject: {subject}\r\nDate: {formatdate(localtime=True)}\r\n"
            f"Message-ID: {make_msgid(domain='customer.cn')}\r\n{refs}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{body}\r\n").encode()


def fetch(config: Path) -> tuple[dict[str, Any], Any]:
    r = cli("cases", "fetch-mail", "-c", str(config), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout), r


def store_of(tmp_path: Path) -> Any:
    return open_engine(str(tmp_path / "var"))


def acks_to(smtp: TlsSmtpPeer, number: str) -> list[Any]:
    msgs = [message_from_bytes(raw, policy=policy.default) for _, _, raw in smtp.mailbox.messages]
    return [m for m in msgs if number in str(m["Subject"])]


# -- new mail, replies ------------------------------------------------------------------------


def test_a_new_mail_is_a_case_and_the_sender_gets_an_acknowledgement(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user)
    engine = store_of(tmp_path)
    since = time.time() - 3600  # the mailbox was first polled an hour ago
    with engine.begin() as c:
        c.execute(insert(state).values(key=f"mail_intake:{user}@{HOST}:{imap.imaps_port}/INBOX",
                                       value=json.dumps({"since": since})))
    sent_at = int(time.time()) - 600
    mid = make_msgid(domain="customer.cn")
    imap.deliver(gbk_mail("视频平台无法登录", "各位好：\n3号楼视频平台从9点起无法登录，报错 502。\n王喆", date=sent_at,
                          message_id=mid), user)
    imap.deliver(gbk_mail("旧邮件", "两天前写的", date=time.time() - 2 * 86400, attachment=False,
                          address="li@sub.customer.cn", name="李四"), user)
    imap.deliver(gbk_mail("时钟不准", "日期在将来", date=time.time() + 86400, attachment=False), user)
    doc, r = fetch(config)
    assert r.returncode == 0 and doc["error"] is None, r.stderr
    new, old, future = doc["messages"]
    assert [m["action"] for m in doc["messages"]] == ["case", "case", "case"]
    case = get_case(engine, new["case"])
    assert case is not None and case.source == "person" and case.level == 2 and case.category == "mail"
    assert case.message.startswith("视频平台无法登录\n\n各位好：\n3号楼视频平台从9点起无法登录，报错 502。")
    assert "附件 / Attachments" in case.message and "截图.png (2 KB)" in case.message
    rep = case_report(engine, case.number)
    assert rep is not None
    assert (rep["channel"], rep["reporter"], rep["contact"]) == ("mail", "王喆 <wangzhe@customer.cn>",
                                                                 "wangzhe@customer.cn")
    assert rep["reported_at"] == sent_at and rep["entered_by"] == "mail-intake"
    # the Date header bounded: not before the mailbox was configured, not in the future
    old_case, future_case = get_case(engine, old["case"]), get_case(engine, future["case"])
    assert old_case is not None and old_case.opened_at == pytest.approx(since)
    assert future_case is not None and time.time() - 60 < future_case.opened_at <= time.time()
    assert "out of range" in old["detail"] and "out of range" in future["detail"]
    # processed mail is flagged \Seen and moved out of the inbox
    assert imap.uids("INBOX", user) == []
    assert imap.uids("xunjian/processed", user) == imap.uids("xunjian/processed", user, "SEEN")
    assert len(imap.uids("xunjian/processed", user)) == 3
    # the acknowledgement: to the sender, in the thread, Chinese first and English beside it
    assert {a["case"]: a["result"] for a in doc["acks"]} == {
        new["case"]: "sent", old["case"]: "sent", future["case"]: "sent"}
    (ack,) = acks_to(smtp, case.number)
    assert ack["To"] == "wangzhe@customer.cn" and ack["In-Reply-To"] == mid
    assert ack["Auto-Submitted"] == "auto-replied"
    assert str(ack["Subject"]) == f"[{case.number}] 已受理 / Received: 视频平台无法登录"
    body = ack.get_content()
    assert body.index("受理编号") < body.index("Your report has been received")
    assert "级别 / Level:    二级（主要） / Level 2 (main)" in body
    shanghai = datetime.fromtimestamp(case.response_due or 0, ZoneInfo("Asia/Shanghai"))
    assert f"响应时限 / Response due:  {shanghai.strftime('%Y-%m-%d %H:%M CST')}" in body
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(mail_messages)
                         .where(mail_messages.c.ack_sent_at.is_not(None))).scalar() == 3


def test_replies_by_subject_and_by_thread_headers_are_notes_and_a_closed_case_stays_closed(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user)
    engine = store_of(tmp_path)
    imap.deliver(gbk_mail("打印机卡纸", "二楼打印机卡纸", attachment=False), user)
    doc, _ = fetch(config)
    number = doc["messages"][0]["case"]
    (ack,) = acks_to(smtp, number)
    # by the number in the subject, the quoted earlier mail left out
    imap.deliver(reply(f"Re: [{number}] 已受理 / Received: 打印机卡纸",
                       "换了纸还是卡。\n\n在 2026年12月8日 09:00, 服务台 写道：\n> 您的报障已受理"), user)
    # by In-Reply-To naming our acknowledgement, the number gone from the subject
    imap.deliver(reply("回复: 打印机", "下午两点后有人在。\n-----原始邮件-----\n发件人: 服务台",
                       in_reply_to=str(ack["Message-ID"]), address="boss@customer.cn"), user)
    doc, r = fetch(config)
    assert r.returncode == 0, r.stderr
    assert [(m["action"], m["case"]) for m in doc["messages"]] == [("note", number), ("note", number)]
    assert doc["acks"] == []  # notes are not acknowledged
    notes = [e for e in case_history(engine, number) if e["kind"] == "note"]
    assert [n["actor"] for n in notes] == ["王喆 <wangzhe@customer.cn>", "王喆 <boss@customer.cn>"]
    assert "换了纸还是卡。" in notes[0]["detail"]["note"] and "您的报障已受理" not in notes[0]["detail"]["note"]
    assert "下午两点后有人在。" in notes[1]["detail"]["note"] and "原始邮件" not in notes[1]["detail"]["note"]
    # a reply to a closed case: a note, the case stays closed
    for action, extra in (("resolve", []), ("close", ["--cause", "paper", "--handling", "cleared"])):
        assert cli("cases", action, number, "-c", str(config), *extra).returncode == 0
    imap.deliver(reply(f"Re: [{number}] 打印机卡纸", "谢谢，好了。"), user)
    doc, _ = fetch(config)
    (m,) = doc["messages"]
    assert (m["action"], m["case"]) == ("note", number) and "not reopened" in m["detail"]
    case = get_case(engine, number)
    assert case is not None and case.status == "closed"
    assert [e["kind"] for e in case_history(engine, number)][-1] == "note"


# -- never twice, strangers and robots ---------------------------------------------------------


def test_a_second_poll_takes_nothing_and_a_message_delivered_twice_opens_one_case(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user, processed="keep", tls="starttls", port=imap.port)
    engine = store_of(tmp_path)
    raw = gbk_mail("网络中断", "5楼网络中断", attachment=False)
    imap.deliver(raw, user)
    first, r = fetch(config)
    assert r.returncode == 0 and [m["action"] for m in first["messages"]] == ["case"], r.stderr
    again, _ = fetch(config)
    assert again["messages"] == [] and again["acks"] == []
    imap.deliver(raw, user)  # the same message again (two aliases of the desk, a resend)
    third, _ = fetch(config)
    assert [(m["action"], m["case"]) for m in third["messages"]] == [("duplicate", first["messages"][0]["case"])]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(cases)).scalar() == 1
    assert len(acks_to(smtp, first["messages"][0]["case"])) == 1
    # keep: the messages stay in the inbox, unread (BODY.PEEK)
    assert imap.uids("INBOX", user) == imap.uids("INBOX", user, "UNSEEN") and len(imap.uids("INBOX", user)) == 2


def test_senders_outside_the_allowed_domains_and_automatic_mail_are_ignored_and_logged_once(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user)
    imap.deliver(gbk_mail("中奖通知", "点击领取", address="win@spam.example", attachment=False), user)
    imap.deliver(gbk_mail("外出", "我在休假", attachment=False, extra="Auto-Submitted: auto-replied\r\n"), user)
    r = cli("cases", "fetch-mail", "-c", str(config))
    assert r.returncode == 0, r.stderr
    assert "ignored" in r.stdout and "not in intake.mail.allowed_domains" in r.stdout + r.stderr
    assert "spam.example" in r.stderr and "automatic mail" in r.stderr  # logged
    with store_of(tmp_path).connect() as c:
        assert c.execute(select(func.count()).select_from(cases)).scalar() == 0
        assert sorted(c.execute(select(mail_messages.c.action)).scalars()) == ["ignored", "ignored"]
    assert len(imap.uids("INBOX", user)) == 2  # left for a person to look at
    assert smtp.mailbox.messages == []  # strangers and robots get no answer
    r = cli("cases", "fetch-mail", "-c", str(config))
    assert r.returncode == 0 and "spam.example" not in r.stderr  # not logged again


# -- a mailbox that cannot be read ---------------------------------------------------------------


def self_cases(config: Path) -> list[dict[str, Any]]:
    r = cli("cases", "list", "--status", "all", "-c", str(config), "--format", "json")
    assert r.returncode == 0, r.stderr
    return [c for c in json.loads(r.stdout)["cases"] if c["check"] == MAIL_CHECK]


def no_secret_anywhere(tmp_path: Path, *texts: str) -> None:
    for secret in (*USERS.values(), SMTP_PW, "wrong-pw-8472"):
        for text in texts:
            assert secret not in text
        for p in (tmp_path / "var").rglob("*"):
            if p.is_file():
                assert secret.encode() not in p.read_bytes(), p


def test_a_refused_login_is_a_self_check_case_with_its_reason_and_no_password_anywhere(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user, password_value="wrong-pw-8472")
    imap.deliver(gbk_mail("服务器宕机", "db01 宕机", attachment=False), user)
    r = cli("cases", "fetch-mail", "-c", str(config))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"login refused for {user}" in r.stderr and "AUTHENTICATIONFAILED" in r.stderr
    js = cli("-v", "cases", "fetch-mail", "-c", str(config), "--format", "json")
    assert js.returncode == 1 and "login refused" in json.loads(js.stdout)["error"]
    (case,) = self_cases(config)
    assert case["device"] == "xunjian" and case["status"] == "open" and case["level"] == 2
    assert "login refused" in case["message"] and case["instance"].startswith(f"{user}@127.0.0.1:")
    no_secret_anywhere(tmp_path, r.stdout, r.stderr, js.stdout, js.stderr)
    # the right password: the mail is taken and the self-check case resolves
    write_config(tmp_path, imap, smtp, user)
    doc, r = fetch(config)
    assert r.returncode == 0 and [m["action"] for m in doc["messages"]] == ["case"]
    (case,) = self_cases(config)
    assert case["status"] == "resolved"


def test_an_unreachable_server_and_an_untrusted_certificate_are_self_check_cases(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user, port=free_port())  # nothing listens there
    r = cli("cases", "fetch-mail", "-c", str(config))
    assert r.returncode == 1 and "unreachable" in r.stderr and "Traceback" not in r.stderr
    (case,) = self_cases(config)
    assert "unreachable" in case["message"] and case["status"] == "open"
    # the system's CAs do not know the test CA: refused, not read
    cfg = yaml.safe_load(config.read_text())
    del cfg["intake"]["mail"]["ca_file"]
    cfg["intake"]["mail"]["port"] = imap.imaps_port
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    r = cli("cases", "fetch-mail", "-c", str(config))
    assert r.returncode == 1 and "TLS certificate not trusted" in r.stderr, r.stderr
    tls = [c for c in self_cases(config) if c["instance"].endswith(f":{imap.imaps_port}/INBOX")]
    assert [(c["status"], "TLS certificate not trusted" in c["message"]) for c in tls] == [("open", True)]
    no_secret_anywhere(tmp_path, r.stdout, r.stderr)


# -- crash safety ------------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dying at this point (BaseException: nothing in the poller catches it)."""


def poller(config: Path, engine: Any) -> MailPoller:
    cfg = load_config(config)
    assert cfg.mail_intake is not None
    return MailPoller(engine, cfg.mail_intake, CaseEngine(engine, cfg.cases))


def test_a_crash_between_the_case_and_the_move_takes_nothing_twice(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str, store: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, imap, smtp, user)
    engine = open_engine(store)
    imap.deliver(gbk_mail("录像丢失", "昨晚录像丢失", attachment=False), user)
    imap.deliver(reply("Re: 无关", "另一件事"), user)
    from agent.mailin.imap import Mailbox

    def die(*a: object) -> None:
        raise Crash

    # 1. the case and its record are one transaction: dying inside it leaves neither
    with monkeypatch.context() as m:
        m.setattr(MailPoller, "_record", lambda self, *a, **k: die() if a[2] is not None else None)
        with pytest.raises(Crash):
            poller(config, engine).poll()
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(cases)).scalar() == 0
        assert c.execute(select(func.count()).select_from(mail_messages)).scalar() == 0
    # 2. dying after both cases were committed, before the messages were moved or acknowledged
    with monkeypatch.context() as m:
        m.setattr(Mailbox, "move", die)
        with pytest.raises(Crash):
            poller(config, engine).poll()
    with engine.connect() as c:
        numbers = sorted(c.execute(select(cases.c.number)).scalars())
    assert len(numbers) == 2 and len(imap.uids("INBOX", user)) == 2 and smtp.mailbox.messages == []
    # the next poll: nothing new, the messages moved, each acknowledgement sent once
    result = poller(config, engine).poll()
    assert result.error is None and result.messages == []
    assert sorted(a["case"] for a in result.acks) == numbers and {a["result"] for a in result.acks} == {"sent"}
    assert imap.uids("INBOX", user) == [] and len(imap.uids("xunjian/processed", user)) == 2
    assert poller(config, engine).poll().acks == []
    assert [len(acks_to(smtp, n)) for n in numbers] == [1, 1]
    with engine.connect() as c:
        assert sorted(c.execute(select(cases.c.number)).scalars()) == numbers
    engine.dispose()


KILLED_AFTER_COMMIT = """
import os, signal, sys
from agent.cases.engine import CaseEngine
from agent.config import load_config
from agent.mailin.imap import Mailbox
from agent.mailin.poll import MailPoller
from agent.store.db import configured_store, open_engine

cfg = load_config(__import__("pathlib").Path(sys.argv[1]))
Mailbox.move = lambda self, *a: os.kill(os.getpid(), signal.SIGKILL)  # kill -9 right after the commit
engine = open_engine(configured_store(cfg))
MailPoller(engine, cfg.mail_intake, CaseEngine(engine, cfg.cases)).poll()
"""


def test_a_kill_9_after_the_commit_and_before_the_move_duplicates_nothing(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    import subprocess
    import sys

    config = write_config(tmp_path, imap, smtp, user)
    imap.deliver(gbk_mail("光纤中断", "2号机房光纤中断", attachment=False), user)
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT, str(config)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert killed.returncode == -9, killed.stderr
    engine = store_of(tmp_path)
    with engine.connect() as c:
        (number,) = c.execute(select(cases.c.number)).scalars()
    assert len(imap.uids("INBOX", user)) == 1 and smtp.mailbox.messages == []
    doc, r = fetch(config)
    assert r.returncode == 0 and doc["messages"] == [], r.stderr
    assert doc["acks"] == [{"case": number, "to": "wangzhe@customer.cn", "result": "sent"}]
    assert imap.uids("INBOX", user) == [] and len(imap.uids("xunjian/processed", user)) == 1
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(cases)).scalar() == 1
    assert len(acks_to(smtp, number)) == 1


def test_the_daemons_poller_takes_mail_as_it_arrives(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, user: str) -> None:
    config = write_config(tmp_path, imap, smtp, user)
    (tmp_path / "inventory.yaml").write_text("devices: []\n")
    app = load_app(config)
    background = build_background(app, None)
    assert background is not None
    (mail,) = background.workers
    mail.interval = 0.1  # type: ignore[attr-defined]
    background.start()
    try:
        imap.deliver(gbk_mail("门禁故障", "大门门禁刷卡无反应", attachment=False), user)
        wait_until(lambda: imap.uids("INBOX", user) == [] and len(imap.uids("xunjian/processed", user)) == 1,
                   timeout=15, what="the daemon's poller taking the mail")
    finally:
        background.stop()
    with app.engine.connect() as c:
        (number,) = c.execute(select(cases.c.number)).scalars()
    wait_until(lambda: len(acks_to(smtp, number)) == 1, timeout=5, what="the acknowledgement")


# -- parsing, configuration, docs -----------------------------------------------------------------


def test_mime_as_chinese_mail_clients_send_it_is_read() -> None:
    m = parse(gbk_mail("服务器故障", "喆：磁盘满了", name="王喆"))
    assert (m.subject, m.sender_name, m.sender) == ("服务器故障", "王喆", "wangzhe@customer.cn")
    assert m.body == "喆：磁盘满了" and [a.name for a in m.attachments] == ["截图.png"]
    gb18030 = ("From: x@customer.cn\r\nSubject: =?GB18030?B?" + base64.b64encode("𠀀测试".encode("gb18030")).decode()
               + "?=\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.b64encode("<html><style>p{}</style><p>第一行<br>第二&amp;行</p><div>表</div></html>"
                                  .encode()).decode())
    m = parse(gb18030.encode())
    assert m.subject == "𠀀测试" and m.body == "第一行\n第二&行\n\n表"
    assert html_to_text("<p>a&nbsp;b</p><script>x()</script>") == "a b"
    assert reply_text("ok\n\nOn Mon, 7 Dec 2026 someone wrote:\n> old") == "ok"
    assert parse(b"From: MAILER-DAEMON@customer.cn\r\nSubject: fail\r\n\r\nx").automatic
    date = format_datetime(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert parse(f"From: a@b.cn\r\nDate: {date}\r\n\r\nx".encode()).date == datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("patch", "place", "expected"), [
    ({"password": "plain-text-pw"}, "intake.mail.password", "a reference"),
    ({"ack": {"channel": "nope"}}, "intake.mail.ack.channel", "an e-mail channel defined under hooks.channels"),
    ({"allowed_domains": ["bad domain"]}, "intake.mail.allowed_domains", "a mail domain like example.cn"),
    ({"allowed_domains": []}, "intake.mail.allowed_domains", ""),
    ({"tls": "none"}, "intake.mail.tls", ""),
    ({"ca_file": "/nonexistent/ca.pem"}, "intake.mail.ca_file", "not found"),
    ({"ack": {"channel": "desk-mail", "body": "{{ nope }}"}}, "intake.mail.ack.body", "Jinja2"),
    ({"level": 4}, "intake.mail.level", "a level of the policy (1, 2, 3)"),
    ({"request_class": "consultation"}, "intake.mail.request_class", "fault or a class of the policy"),
    ({"policy": "gold"}, "intake.mail.policy", "an SLA policy defined under sla:"),
    ({"move_to": "INBOX"}, "intake.mail.move_to", "a folder other than the mailbox"),
])
def test_bad_mail_intake_settings_are_named_with_their_place(
        tmp_path: Path, imap: DovecotPeer, smtp: TlsSmtpPeer, patch: dict[str, Any], place: str,
        expected: str) -> None:
    config = write_config(tmp_path, imap, smtp, "desk1", **patch)
    with pytest.raises(ConfigError) as e:
        load_config(config)
    problems = [(p.place, p.expected) for p in e.value.problems]
    assert any(p == place and expected in w for p, w in problems), problems
    if "password" in patch:  # as the user sees it (once: each CLI start costs seconds here)
        r = cli("cases", "fetch-mail", "-c", str(config))
        assert r.returncode == 2 and place in r.stderr and "Traceback" not in r.stderr
        assert "plain-text-pw" not in r.stderr


def test_the_docs_mail_intake_example_loads(tmp_path: Path) -> None:
    import re

    block = re.search(r"```yaml\n(# mail-intake example\n.*?)```", user_docs(), re.S)
    assert block is not None
    raw = yaml.safe_load(block.group(1))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("imap_password: x\nsmtp_password: y\n")
    secrets.chmod(0o600)
    raw["secrets_file"] = str(secrets)
    raw["intake"]["mail"].pop("ca_file", None)
    path = tmp_path / "xunjian.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    cfg = load_config(path, env=dict(os.environ))
    mail = cfg.mail_intake
    assert mail is not None and mail.ack_channel is not None and mail.ack_channel.name == "desk-mail"
    assert mail.port == 993 and mail.model.processed == "move" and mail.allowed("li@county-a.gov.cn")
    assert not mail.allowed("x@gov.cn.evil.example")
