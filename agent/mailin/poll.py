"""One poll of the service desk's mailbox: new mail becomes a case, a reply a note on its case.

- **A new message** → a case through the same intake as `xunjian cases open`: channel `mail`,
  reporter = the sender's name and address, reported at the Date header (bounded: never in
  the future, never before the mailbox was first polled), description = the subject and the
  plain-text body, the attachments named (not kept). An acknowledgement goes back with the
  case number, level and deadlines (through an e-mail channel of `hooks`).
- **A reply** (a case number like F-20261201-0001 in the subject, or In-Reply-To / References
  naming our acknowledgement or a message already taken) → a note on that case, by the
  sender, the quoted earlier mail left out. A reply to a resolved or closed case is a note
  too, and does **not** reopen it: "thanks, it works" is the common reply to a closed case,
  and reopening restarts clocks the contract counts; an engineer reopens with
  `xunjian cases reopen` when the note says the fault is back (the note's hooks tell them).
- **Ignored** (recorded, logged once, left in the mailbox): senders outside
  `allowed_domains`, automatic mail (auto-replies, bounces, lists: answering them loops).

Never twice: each message is recorded by UIDVALIDITY + UID in the same transaction as the
case event it causes; only then is it flagged and moved. A crash in between leaves a message
the next poll finds recorded: it is moved, nothing else. The same Message-ID delivered twice
opens one case. A mailbox that cannot be read (unreachable, TLS, login refused) is the agent's
self-check case (device `xunjian`, check `selfcheck.mail_intake`), resolved by the next good
poll; never a traceback, never the password.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.intake import Intake, IntakeError
from agent.cases.selfcheck import SELF
from agent.mailin.imap import Mailbox, MailboxError
from agent.mailin.message import Mail, compose, parse, reply_text
from agent.mailin.settings import MailIntake, templates
from agent.store.schema import cases, mail_messages, state
from core.model import Case, Status, Verdict
from core.redaction import redact

log = logging.getLogger(__name__)

MAIL_CHECK = "selfcheck.mail_intake"
ACTOR = "mail-intake"  # who entered a mailed case (its reporter is the sender)
TAKEN = ("case", "note", "duplicate")  # actions after which the message is flagged / moved
SELF_LEVEL = 2  # reports are not being taken: more than a minor fault


@dataclass
class Taken:
    """What one poll did with one message (a row of `xunjian cases fetch-mail`)."""

    uid: int
    sender: str
    subject: str
    action: str  # case | note | ignored | duplicate | failed
    case: str = ""
    detail: str = ""


@dataclass
class PollResult:
    mailbox: str
    messages: list[Taken] = field(default_factory=list)
    acks: list[dict[str, str]] = field(default_factory=list)  # number, to, result
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "error": self.error,
                "messages": [asdict(t) for t in self.messages], "acks": self.acks}


class MailPoller:
    def __init__(self, engine: Engine, settings: MailIntake, cases: CaseEngine,
                 clock: Callable[[], float] = time.time, lang: str = "zh-CN") -> None:
        self.engine = engine
        self.s = settings
        self.m = settings.model
        self.cases = cases
        self.clock = clock
        self.lang = lang

    # -- one poll -------------------------------------------------------------------------------

    def poll(self) -> PollResult:
        result = PollResult(self.s.key)
        try:
            with Mailbox(self.s) as box:
                self._take_all(box, result)
        except MailboxError as e:
            result.error = redact(str(e))
        if result.error:
            log.error("mail intake %s: %s", self.s.key, result.error)
            self._self_check(Status.WARN, result.error)
        else:
            self._self_check(Status.OK, f"mailbox {self.s.key} read")
        result.acks = self.send_acks()
        return result

    def _self_check(self, status: Status, message: str) -> None:
        self.cases.apply([Verdict(SELF, MAIL_CHECK, status, instance=self.s.key, level=SELF_LEVEL,
                                  message=f"邮件受理 / mail intake: {message}", collected_at=self.clock())])

    def _take_all(self, box: Mailbox, result: PollResult) -> None:
        since = self._since()
        uids = box.search("ALL")
        with self.engine.connect() as c:
            done = dict(c.execute(select(mail_messages.c.uid, mail_messages.c.action).where(
                mail_messages.c.mailbox == self.s.key, mail_messages.c.uidvalidity == box.uidvalidity)).all())
        for uid in uids:
            if uid in done:
                continue
            raw, arrived = box.fetch(uid)
            taken = self._take(box.uidvalidity, uid, parse(raw), arrived, since)
            done[uid] = taken.action
            result.messages.append(taken)
        finished = [u for u in uids if done.get(u) in TAKEN]
        if self.m.processed == "move":
            box.move(finished, self.m.move_to)
        elif self.m.processed == "seen" and finished:
            unseen = set(box.search("UNSEEN"))
            box.mark_seen([u for u in finished if u in unseen])

    def _since(self) -> float:
        """When this mailbox was first polled: no mailed case is reported before it."""
        key = f"mail_intake:{self.s.key}"
        with self.engine.begin() as c:
            value = c.execute(select(state.c.value).where(state.c.key == key)).scalar()
            if value is not None:
                return float(json.loads(value)["since"])
            now = self.clock()
            c.execute(insert(state).values(key=key, value=json.dumps({"since": now})))
            return now

    # -- one message ----------------------------------------------------------------------------

    def _take(self, uidvalidity: int, uid: int, mail: Mail, arrived: float | None, since: float) -> Taken:
        row = {"mailbox": self.s.key, "uidvalidity": uidvalidity, "uid": uid, "message_id": mail.message_id,
               "sender": mail.sender, "subject": mail.subject[:500]}
        taken = Taken(uid, mail.reporter, mail.subject, "ignored")
        if mail.automatic:
            taken.detail = f"automatic mail ({mail.automatic}): not answered, no case"
        elif not mail.sender:
            taken.detail = "no sender address"
        elif not self.s.allowed(mail.sender):
            taken.detail = (f"sender domain {mail.sender.rpartition('@')[2]!r} not in "
                            "intake.mail.allowed_domains")
        if taken.detail:
            log.warning("mail intake %s: UID %d from %s ignored: %s", self.s.key, uid, mail.sender or "?",
                        taken.detail)
            self._record(row, taken)
            return taken
        try:
            first = self._already(mail.message_id)
            if first is not None:
                taken.action, taken.case = "duplicate", first
                taken.detail = f"Message-ID {mail.message_id} was taken before"
                self._record(row, taken)
                return taken
            number = self._thread_case(mail)
            if number is not None:
                return self._note(row, taken, mail, number)
            return self._open(row, taken, mail, arrived, since)
        except (IntakeError, CaseError) as e:
            taken.action, taken.detail = "failed", str(e)
            log.error("mail intake %s: UID %d from %s not taken: %s", self.s.key, uid, mail.sender, e)
            self._record(row, taken)
            return taken

    def _record(self, row: dict[str, Any], taken: Taken, conn: Connection | None = None,
                case: Case | None = None, **extra: Any) -> None:
        values = {**row, "at": self.clock(), "action": taken.action, "reason": taken.detail,
                  "case_id": case.id if case is not None else None, **extra}
        if conn is not None:
            conn.execute(insert(mail_messages).values(**values))
            return
        with self.engine.begin() as c:
            c.execute(insert(mail_messages).values(**values))

    def _already(self, message_id: str) -> str | None:
        """The case a message with this Message-ID opened or noted already (delivered twice)."""
        if not message_id:
            return None
        with self.engine.connect() as c:
            return c.execute(select(cases.c.number).join(mail_messages, mail_messages.c.case_id == cases.c.id)
                             .where(mail_messages.c.message_id == message_id,
                                    mail_messages.c.action.in_(("case", "note")))).scalar()

    def _thread_case(self, mail: Mail) -> str | None:
        """The case a reply belongs to: a case number in the subject, else the thread headers
        naming our acknowledgement or a message already taken."""
        with self.engine.connect() as c:
            number = mail.case_number
            if number is not None and c.execute(select(cases.c.id).where(cases.c.number == number)).first():
                return number
            if not mail.in_reply_to:
                return None
            refs = list(mail.in_reply_to)
            found: str | None = c.execute(
                select(cases.c.number).join(mail_messages, mail_messages.c.case_id == cases.c.id)
                .where(mail_messages.c.ack_id.in_(refs) | mail_messages.c.message_id.in_(refs))
                .order_by(mail_messages.c.id.desc())).scalar()
            return found

    def _open(self, row: dict[str, Any], taken: Taken, mail: Mail, arrived: float | None,
              since: float) -> Taken:
        now = self.clock()
        said = mail.date if mail.date is not None else arrived if arrived is not None else now
        reported = min(max(said, since), now)
        parts = [mail.subject, mail.body, mail.attachment_text()]
        description = "\n\n".join(p for p in parts if p.strip()) or "(空邮件 / an empty mail)"
        intake = Intake(channel="mail", reporter=mail.reporter, contact=mail.sender, description=description,
                        reported_at=reported, level=self.m.level, category=self.m.category,
                        policy=self.m.policy, request_class=self.m.request_class)
        ack_id = self._ack_id(row) if self.s.ack_channel is not None else None
        taken.action = "case"

        def record(conn: Connection, case: Case) -> None:
            self._record(row, taken, conn, case, ack_id=ack_id, ack_to=mail.reply_to if ack_id else None)

        changes = self.cases.report(intake, ACTOR, within=record)
        case = changes[0][1]
        taken.case = case.number
        taken.detail = f"opened, {self.cases.policy.sla(case.policy).level_name(case.level, 'en')}"
        if said != reported:
            bound = "the first poll" if said < since else "now"
            taken.detail += f"; reported at {bound} (the Date header is out of range)"
        log.info("mail intake %s: UID %d from %s → case %s", self.s.key, row["uid"], mail.sender, case.number)
        return taken

    def _note(self, row: dict[str, Any], taken: Taken, mail: Mail, number: str) -> Taken:
        text = reply_text(mail.body) or mail.subject or "(空回复 / an empty reply)"
        text = "\n\n".join(p for p in (f"邮件回复 / mail reply: {mail.subject}", text,
                                        mail.attachment_text()) if p)
        taken.action, taken.case = "note", number

        def record(conn: Connection, case: Case) -> None:
            self._record(row, taken, conn, case)

        changes = self.cases.act(number, "note", mail.reporter, within=record, note=text)
        case = changes[0][1]
        taken.detail = "noted"
        if case.status in ("resolved", "closed"):
            taken.detail = (f"noted on a {case.status} case, not reopened "
                            f"(xunjian cases reopen {number} if the fault is back)")
        log.info("mail intake %s: UID %d from %s → note on %s", self.s.key, row["uid"], mail.sender, number)
        return taken

    def _ack_id(self, row: dict[str, Any]) -> str:
        assert self.s.ack_channel is not None
        domain = str(self.s.ack_channel.model.sender).rpartition("@")[2].strip(" >") or "xunjian"
        return f"<xunjian.ack.{row['uidvalidity']}.{row['uid']}.{int(self.clock() * 1000)}@{domain}>"

    # -- acknowledgements -------------------------------------------------------------------------

    def send_acks(self) -> list[dict[str, str]]:
        """Send the acknowledgements not sent yet (this poll's, and those a crash or an SMTP
        outage left); one given up after `ack.give_up_after` is logged as an error, once."""
        if self.s.ack_channel is None or self.m.ack is None:
            return []
        from agent.hooks.channels.email import EmailChannel

        now = self.clock()
        with self.engine.connect() as c:
            m = mail_messages.c
            rows = c.execute(select(mail_messages, cases.c.number).join(cases, cases.c.id == m.case_id)
                             .where(m.mailbox == self.s.key, m.ack_id.is_not(None), m.ack_sent_at.is_(None),
                                    m.ack_attempts >= 0).order_by(m.id)).all()
        channel = EmailChannel(self.s.ack_channel, self.lang)
        out = []
        for r in rows:
            key = mail_messages.c.id == r.id
            if now - r.at > self.m.ack.give_up_after:
                log.error("mail intake %s: acknowledgement of %s to %s given up after %d attempts: %s",
                          self.s.key, r.number, r.ack_to, r.ack_attempts, r.ack_error)
                with self.engine.begin() as c:
                    c.execute(update(mail_messages).where(key).values(ack_attempts=-1))
                out.append({"case": r.number, "to": r.ack_to, "result": f"given up: {r.ack_error}"})
                continue
            case = self.cases_get(r.number)
            if case is None:
                continue
            subject, body = self.ack_text(case, r.subject, r.sender)
            msg = compose(str(self.s.ack_channel.model.sender), r.ack_to, subject, body, r.ack_id,
                          in_reply_to=r.message_id or "")
            sent = channel.transmit(msg, [r.ack_to])
            with self.engine.begin() as c:
                if sent.ok:
                    c.execute(update(mail_messages).where(key).values(ack_sent_at=self.clock(),
                                                                      ack_attempts=r.ack_attempts + 1))
                else:
                    c.execute(update(mail_messages).where(key).values(ack_attempts=r.ack_attempts + 1,
                                                                      ack_error=redact(sent.error or "")))
            if not sent.ok:
                log.warning("mail intake %s: acknowledgement of %s to %s not sent (retried at the next "
                            "poll): %s", self.s.key, r.number, r.ack_to, redact(sent.error or ""))
            out.append({"case": r.number, "to": r.ack_to,
                        "result": "sent" if sent.ok else f"not sent: {redact(sent.error or '')}"})
        return out

    def cases_get(self, number: str) -> Case | None:
        from agent.cases.queries import get_case

        return get_case(self.engine, number)

    def ack_text(self, case: Case, subject: str, sender: str) -> tuple[str, str]:
        assert self.m.ack is not None
        from datetime import datetime

        tz = self.cases.policy.tz
        sla = self.cases.policy.sla(case.policy)

        def when(ts: float | None) -> str:
            return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z") if ts else ""

        values = {"number": case.number, "subject": subject or "(无主题 / no subject)",
                  "level": f"{sla.level_name(case.level, 'zh-CN')} / {sla.level_name(case.level, 'en')}",
                  "response_due": when(case.response_due), "repair_due": when(case.repair_due),
                  "reporter": sender, "reported_at": when(case.opened_at)}
        title = " ".join(templates().from_string(self.m.ack.subject).render(values).split())
        return title, templates().from_string(self.m.ack.body).render(values)
