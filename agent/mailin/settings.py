"""The `intake.mail:` section of xunjian.yaml: the mailbox polled for reported faults.

IMAP over TLS only (implicit TLS, or STARTTLS), the server's certificate always verified (the
system's CAs or `ca_file`); the password is a secret reference. The acknowledgement goes out
through an e-mail channel of `hooks.channels` (its SMTP server, login, TLS and From), so SMTP
is configured once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agent.cases.policy import CasePolicy
from agent.cases.sla import FAULT
from agent.hooks.settings import ChannelSettings, HooksConfig, _ref, _seconds
from agent.secrets import Secrets
from core.problems import ConfigError, Problem, pydantic_problems

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

# The acknowledgement, Chinese first and English beside it. Variables: number, subject, level
# (its name in both languages), response_due and repair_due (local time with the zone, or ""),
# reporter, reported_at.
ACK_SUBJECT = "[{{ number }}] 已受理 / Received: {{ subject }}"
ACK_BODY = """\
您好，

您的报障/请求已受理，受理编号 {{ number }}。回复本邮件（请保留主题中的编号）即可补充情况。
Your report has been received as case {{ number }}. Reply to this mail (keep the number in the
subject) to add to it.

主题 / Subject:  {{ subject }}
级别 / Level:    {{ level }}
报告时间 / Reported:  {{ reported_at }}
{% if response_due %}
响应时限 / Response due:  {{ response_due }}
{% endif %}
{% if repair_due %}
修复时限 / Repair due:    {{ repair_due }}
{% endif %}

此邮件由系统自动发送。/ This message was sent automatically.
"""



@cache
def templates() -> SandboxedEnvironment:
    """The acknowledgement's Jinja2 (sandboxed: the templates come from the config file);
    imported on first use, not by every command that reads the config."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                undefined=StrictUndefined, keep_trailing_newline=True)


ACK_VARIABLES = {"number": "F-20261201-0001", "subject": "s", "level": "三级 / L3",
                 "response_due": "", "repair_due": "", "reporter": "r", "reported_at": "t"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class AckModel(_Strict):
    channel: str  # an e-mail channel under hooks.channels
    subject: str = ACK_SUBJECT  # Jinja2
    body: str = ACK_BODY
    give_up_after: Any = "24h"  # an acknowledgement not sent by then is given up (and said)

    _d = field_validator("give_up_after")(classmethod(lambda cls, v: _seconds(v)))

    @field_validator("subject", "body")
    @classmethod
    def _template(cls, v: str) -> str:
        from jinja2 import TemplateSyntaxError

        try:
            templates().from_string(v).render(ACK_VARIABLES)
        except TemplateSyntaxError as e:
            raise ValueError(f"a Jinja2 template: line {e.lineno}: {e.message}") from None
        except Exception as e:  # an unknown variable (StrictUndefined) or a sandbox refusal
            raise ValueError(f"a Jinja2 template over {', '.join(ACK_VARIABLES)}: {e}") from None
        return v


class MailIntakeModel(_Strict):
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 993 (implicit), 143 (starttls)
    tls: Literal["implicit", "starttls"] = "implicit"
    ca_file: str | None = None  # the CA that signed the server's certificate, if not a system one
    user: str = Field(min_length=1)
    password: str
    mailbox: str = "INBOX"
    interval: Any = "1m"
    timeout: float = Field(default=30.0, gt=0, le=300)
    processed: Literal["move", "seen", "keep"] = "move"  # move: flag \\Seen and move to `move_to`
    move_to: str = "xunjian/processed"
    allowed_domains: list[str] = Field(min_length=1)  # ["*"]: any sender
    level: int = Field(default=3, ge=1, le=5)
    request_class: str = "fault"
    category: str = ""
    policy: str = ""  # empty: cases.policy
    ack: AckModel | None = None

    _p = field_validator("password")(classmethod(lambda cls, v: _ref(v)))
    _i = field_validator("interval")(classmethod(lambda cls, v: max(5.0, _seconds(v))))

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = [d.strip().lower().lstrip("@") for d in v]
        for d in out:
            if d != "*" and ("." not in d or " " in d or "@" in d):
                raise ValueError(f"a mail domain like example.cn, or \"*\" for any sender; got {d!r}")
        return out


class IntakeModel(_Strict):
    mail: MailIntakeModel | None = None


@dataclass(frozen=True, slots=True)
class MailIntake:
    """One validated mailbox; `password` resolved (SecretStr), `ack_channel` the e-mail channel."""

    model: MailIntakeModel
    password: SecretStr
    ca_file: Path | None
    ack_channel: ChannelSettings | None

    @property
    def port(self) -> int:
        return self.model.port or (993 if self.model.tls == "implicit" else 143)

    @property
    def key(self) -> str:
        """Names the mailbox in the store, logs and the self-check case (never the password)."""
        return f"{self.model.user}@{self.model.host}:{self.port}/{self.model.mailbox}"

    def policy_problems(self, cases: CasePolicy, file: str) -> list[Problem]:
        m, place = self.model, "intake.mail"
        if m.policy and m.policy not in cases.policies:
            return [Problem(file, f"{place}.policy", f"an SLA policy defined under sla: "
                            f"({', '.join(sorted(cases.policies))}), got {m.policy!r}")]
        sla = cases.sla(m.policy or cases.policy)
        out = []
        if m.level not in sla.levels:
            out.append(Problem(file, f"{place}.level", f"a level of the policy "
                               f"({', '.join(map(str, sla.levels))}), got {m.level}"))
        if m.request_class != FAULT and m.request_class not in sla.classes:
            out.append(Problem(file, f"{place}.request_class", f"fault or a class of the policy "
                               f"({', '.join(sla.classes) or 'none defined'}), got {m.request_class!r}"))
        if m.processed == "move" and m.move_to.strip("/").lower() == m.mailbox.strip("/").lower():
            out.append(Problem(file, f"{place}.move_to", "a folder other than the mailbox polled"))
        return out

    def allowed(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return any(d == "*" or domain == d or domain.endswith("." + d) for d in self.model.allowed_domains)


def load_mail_intake(raw: Any, file: str, base: Path, secrets: Secrets,
                     hooks: HooksConfig) -> MailIntake | None:
    """Validate `intake:`; every problem at once as a ConfigError; None without `intake.mail`."""
    if raw is None:
        return None
    try:
        m = IntakeModel.model_validate(raw).mail
    except ValidationError as e:
        raise ConfigError(pydantic_problems(file, ("intake",), e)) from None
    if m is None:
        return None
    problems: list[Problem] = []
    password, err = secrets.resolve(m.password)
    if err:
        problems.append(Problem(file, "intake.mail.password", err))
    ca_file = None
    if m.ca_file is not None:
        ca_file = Path(m.ca_file).expanduser()
        ca_file = ca_file if ca_file.is_absolute() else base / ca_file
        if not ca_file.is_file():
            problems.append(Problem(file, "intake.mail.ca_file", f"a readable PEM file, {ca_file} not found"))
    channel = None
    if m.ack is not None:
        channel = hooks.channels.get(m.ack.channel)
        if channel is None or channel.model.type != "email":
            emails = sorted(n for n, c in hooks.channels.items() if c.model.type == "email")
            problems.append(Problem(file, "intake.mail.ack.channel",
                                    "an e-mail channel defined under hooks.channels "
                                    f"({', '.join(emails) or 'none defined'}), got {m.ack.channel!r}"))
    if problems:
        raise ConfigError(problems)
    assert password is not None
    return MailIntake(m, password, ca_file, channel)
