"""E-mail over SMTP (STARTTLS, SSL or plain on a trusted relay): text + HTML, zh-CN or en.

Recipients: the channel's `to` plus the route's recipients and those of the case's
escalation tier. The idempotency key goes into Message-ID and X-Xunjian-Idempotency-Key.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome
from agent.hooks.settings import ChannelSettings


class EmailChannel(ChannelBase):
    type = "email"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.password = settings.secrets.get("password")
        self.ca_file = settings.path(self.m.ca_file)

    def recipients(self, d: Delivery) -> list[str]:
        out = list(self.m.to)
        for g in d.group or [d.payload]:
            out += [r for r in g.get("recipients", []) if r not in out]
        return [r for r in out if "@" in r]

    def message(self, d: Delivery) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = render.title(d)
        msg["From"] = self.m.sender
        msg["To"] = ", ".join(self.recipients(d))
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(idstring=d.key.replace("#", "."), domain="xunjian")
        msg["X-Xunjian-Idempotency-Key"] = d.key
        msg.set_content(render.render("message.md", d))
        msg.add_alternative(render.render("email.html", d), subtype="html")
        return msg

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if not self.m.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def send(self, d: Delivery) -> Outcome:
        to = self.recipients(d)
        if not to:
            return Outcome(False, f"{self.name}: no recipients (channel `to` or the route's)", permanent=True)
        return self.transmit(self.message(d), to)

    def transmit(self, msg: EmailMessage, to: list[str]) -> Outcome:
        """Hand one message to the channel's SMTP server (also the mail intake's acknowledgements)."""
        port = self.m.port or {"ssl": 465, "starttls": 587, "none": 25}[self.m.security]
        try:
            if self.m.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.m.host, port, timeout=self.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(self.m.host, port, timeout=self.timeout)
            with smtp:
                if self.m.security == "starttls":
                    smtp.starttls(context=self._context())
                if self.m.username and self.password is not None:
                    smtp.login(self.m.username, self.password.get_secret_value())
                refused = smtp.send_message(msg, to_addrs=to)
        except smtplib.SMTPAuthenticationError as e:
            return Outcome(False, f"{self.name}: SMTP login refused ({e.smtp_code})", permanent=True)
        except smtplib.SMTPResponseException as e:
            return Outcome(False, f"{self.name}: SMTP {e.smtp_code}", permanent=500 <= e.smtp_code < 600)
        except (smtplib.SMTPException, OSError) as e:
            return Outcome(False, f"{self.name}: {type(e).__name__}: {e}")
        if refused:
            return Outcome(False, f"{self.name}: refused recipients {sorted(refused)}")
        return Outcome(True)
