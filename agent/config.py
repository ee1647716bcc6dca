"""The agent's own configuration (xunjian.yaml): where data lives, which sinks to feed.

Devices live in the inventory; this file says how the agent runs. Everything has a
default, so the embedded store alone needs no file at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.cases.policy import CasePolicy, default_case_policy, load_case_policy
from agent.hooks.settings import HooksConfig, load_hooks
from agent.mailin.settings import MailIntake, load_mail_intake
from agent.secrets import REF_HELP, Secrets, is_reference, url_has_password
from core.problems import ConfigError, Problem, load_yaml_file, pydantic_problems, shorten

if TYPE_CHECKING:
    from sqlalchemy import URL

ENV_CONFIG = "XUNJIAN_CONFIG"
SYSTEM_CONFIG = Path("/etc/xunjian/xunjian.yaml")  # the service's, when nothing closer is given


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InfluxSinkModel(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: Literal[1, 2]
    url: str = Field(pattern=r"^https?://")
    # InfluxDB 1.x: /write?db=…
    database: str | None = None
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = None
    # InfluxDB 2.x (and VictoriaMetrics): /api/v2/write
    token: str | None = None
    org: str | None = None
    bucket: str | None = None
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    timeout: float = Field(default=10.0, gt=0, le=300)
    gzip: bool = True
    verify_tls: bool = True
    ca_file: str | None = None
    spool_max_mb: float = Field(default=256, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> InfluxSinkModel:
        need = ["database"] if self.version == 1 else ["bucket", "org"]
        missing = [k for k in need if not getattr(self, k)]
        if missing:
            raise ValueError(f"InfluxDB {self.version}.x needs {', '.join(missing)}")
        if url_has_password(self.url):  # it would be in every log line that names the URL
            ref = ("username: NAME and password: ${secret:KEY} (or ${ENV_VAR})" if self.version == 1
                   else "token: ${secret:KEY} (or ${ENV_VAR})")
            raise ValueError(f"url: a password in the URL is not accepted; give {ref} instead")
        for key in ("password", "token"):
            value = getattr(self, key)
            if value is not None and not is_reference(value):
                raise ValueError(f"{key}: {REF_HELP}")
        return self


class StoreModel(_Strict):
    """Where the store is: no url → SQLite in data_dir; or a server (PostgreSQL via psycopg 3)."""

    url: str | None = None  # postgresql+psycopg://USER@HOST:PORT/DB (no password in it)
    password: str | None = None  # a reference: ${ENV_VAR} or ${secret:key}

    @model_validator(mode="after")
    def _shape(self) -> StoreModel:
        if self.url is not None:
            from agent.store.db import parse_url  # only when there is a URL: SQLAlchemy is heavy

            url = parse_url(self.url)
            if url.password is not None:
                raise ValueError("url: no password in the URL; give it as store.password, "
                                 f"{REF_HELP}")
        if self.password is not None and not is_reference(self.password):
            raise ValueError(f"password: {REF_HELP}")
        return self


class SinksModel(_Strict):
    influxdb: list[InfluxSinkModel] = []


class InspectionSchedule(_Strict):
    """A scheduled inspection recorded in the ledger, e.g. every working day at 09:00."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    at: str
    calendar: str = "24x7"  # working days from this calendar (the SLA's calendars)
    devices: list[str] = []
    groups: list[str] = []

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"a time of day like 09:00, got {shorten(v)}")
        return v


class DaemonModel(_Strict):
    """How `xunjian run` watches itself and treats failing devices."""

    listen: str = "127.0.0.1:9108"  # /metrics, /healthz, /status; "off" to disable
    backoff_after: int = Field(default=3, ge=1, le=100)  # consecutive failures before backing off
    backoff_max_seconds: int = Field(default=3600, ge=1)
    ssh_sessions: int = Field(default=64, ge=1, le=4096)  # SSH connections open at once, all devices
    log_format: Literal["text", "json"] = "text"

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        if v != "off" and not re.fullmatch(r"[0-9A-Za-z.\-\[\]:]+:\d{1,5}", v):
            raise ValueError(f"host:port like 127.0.0.1:9108, or off; got {shorten(v)}")
        return v


class ReportCover(_Strict):
    """What the reports' covers say, and the contractor's own templates, wording and logo."""

    customer: str = ""
    contractor: str = ""
    system: str = ""
    number_prefix: str = "XJ"
    version: str = "1.0"
    templates: str | None = None  # a directory of templates (and i18n.yaml) over the built-in ones
    logo: str | None = None  # PNG, JPEG or SVG on the reports' first page / every DOCX page


class ConfigModel(_Strict):
    data_dir: str = "var"
    inventory: str = "inventory.yaml"
    secrets_file: str | None = None
    rules: str | None = None
    workers: int = Field(default=16, ge=1, le=1024)
    sinks: SinksModel = SinksModel()
    store: StoreModel = StoreModel()
    inspections: list[InspectionSchedule] = []
    daemon: DaemonModel = DaemonModel()
    report: ReportCover = ReportCover()
    # Validated by agent.cases.policy (they need each other: policies name calendars).
    timezone: str | None = None
    calendars: dict[str, Any] | None = None
    sla: dict[str, Any] | None = None
    cases: dict[str, Any] | None = None
    # Validated by agent.hooks.settings (channels need the secrets file).
    hooks: dict[str, Any] | None = None
    plans: dict[str, Any] | None = None  # planned work (agent.cases.plans)
    # Validated by agent.mailin.settings (the acknowledgement names a hooks e-mail channel).
    intake: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InfluxSink:
    name: str
    version: int
    url: str
    database: str | None
    retention_policy: str | None
    username: str | None
    password: SecretStr | None
    token: SecretStr | None
    org: str | None
    bucket: str | None
    batch_size: int
    timeout: float
    gzip: bool
    verify_tls: bool
    ca_file: Path | None
    spool_max_bytes: int


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: URL  # without the password
    password: SecretStr | None


@dataclass(frozen=True, slots=True)
class AgentConfig:
    path: Path | None
    data_dir: Path
    inventory: Path
    secrets_file: Path | None
    rules: Path | None
    workers: int
    influx: list[InfluxSink] = field(default_factory=list)
    inspections: list[InspectionSchedule] = field(default_factory=list)
    daemon: DaemonModel = field(default_factory=DaemonModel)
    report: ReportCover = field(default_factory=ReportCover)
    cases: CasePolicy = field(default_factory=default_case_policy)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    store: StoreSettings | None = None  # None: SQLite in data_dir
    mail_intake: MailIntake | None = None  # intake.mail: the mailbox polled for reported faults


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> AgentConfig:
    """Load xunjian.yaml: the given path, else $XUNJIAN_CONFIG, else ./xunjian.yaml, else
    /etc/xunjian/xunjian.yaml, whichever exists first; else built-in defaults."""
    env = dict(os.environ) if env is None else env
    if path is None and env.get(ENV_CONFIG):
        path = Path(env[ENV_CONFIG])
    if path is None and Path("xunjian.yaml").exists():
        path = Path("xunjian.yaml")
    if path is None and SYSTEM_CONFIG.exists():
        path = SYSTEM_CONFIG
    if path is None:
        return _build(ConfigModel(), None, Path.cwd(), env, {})
    raw = load_yaml_file(path, "config file") or {}
    if not isinstance(raw, dict):
        raise ConfigError([Problem(str(path), "", "a mapping expected")])
    try:
        model = ConfigModel.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(pydantic_problems(str(path), (), e)) from None
    return _build(model, path, path.parent, env, raw)


def _build(m: ConfigModel, path: Path | None, base: Path, env: dict[str, str],
           raw: dict[str, Any]) -> AgentConfig:
    def rel(p: str | None) -> Path | None:
        if p is None:
            return None
        q = Path(p).expanduser()
        return q if q.is_absolute() else base / q

    secrets_file = rel(m.secrets_file)
    secrets = Secrets(secrets_file, env) if m.sinks.influxdb or m.hooks or m.store.password or m.intake \
        else None
    problems: list[Problem] = []
    file = str(path) if path else "xunjian.yaml"
    if secrets and secrets.load_problem:
        problems.append(secrets.load_problem)
    sinks = []
    for i, s in enumerate(m.sinks.influxdb):
        resolved: dict[str, SecretStr | None] = {"password": None, "token": None}
        for key in resolved:
            ref = getattr(s, key)
            if ref is not None and secrets is not None:
                resolved[key], err = secrets.resolve(ref)
                if err:
                    problems.append(Problem(file, f"sinks.influxdb[{i}].{key}", err))
        sinks.append(InfluxSink(
            name=s.name, version=s.version, url=s.url.rstrip("/"), database=s.database,
            retention_policy=s.retention_policy, username=s.username,
            password=resolved["password"], token=resolved["token"], org=s.org, bucket=s.bucket,
            batch_size=s.batch_size, timeout=s.timeout, gzip=s.gzip, verify_tls=s.verify_tls,
            ca_file=rel(s.ca_file), spool_max_bytes=int(s.spool_max_mb * 1024 * 1024),
        ))
    store = None
    if m.store.url is not None:
        from sqlalchemy import make_url

        password = None
        if m.store.password is not None and secrets is not None:
            password, err = secrets.resolve(m.store.password)
            if err:
                problems.append(Problem(file, "store.password", err))
        store = StoreSettings(make_url(m.store.url), password)
    case_policy = default_case_policy()
    try:
        case_policy = load_case_policy(raw, file)
    except ConfigError as e:
        problems += e.problems
    known = {"24x7", *case_policy.calendars}
    for i, spec in enumerate(m.inspections):
        if spec.calendar not in known:
            problems.append(Problem(file, f"inspections[{i}].calendar",
                                    f"a calendar defined under calendars: ({', '.join(sorted(known))})"))
    hooks = HooksConfig()
    try:
        hooks = load_hooks(m.hooks, file, base, secrets or Secrets(secrets_file, env))
    except ConfigError as e:
        problems += e.problems
    mail_intake = None
    try:
        mail_intake = load_mail_intake(m.intake, file, base, secrets or Secrets(secrets_file, env), hooks)
    except ConfigError as e:
        problems += e.problems
    if mail_intake is not None:  # what a mailed case opens with must suit its policy, or no mail is taken
        problems += mail_intake.policy_problems(case_policy, file)
    report = m.report.model_copy(update={"templates": _opt(rel(m.report.templates)),
                                         "logo": _opt(rel(m.report.logo))})
    if report.templates and not Path(report.templates).is_dir():
        problems.append(Problem(file, "report.templates", f"a directory of report templates; "
                                f"{report.templates} is not one"))
    if report.logo and not Path(report.logo).is_file():
        problems.append(Problem(file, "report.logo", f"an image file (PNG, JPEG or SVG); {report.logo} "
                                "does not exist"))
    if problems:
        raise ConfigError(problems)
    return AgentConfig(path=path, data_dir=rel(m.data_dir) or Path("var"),
                       inventory=rel(m.inventory) or Path("inventory.yaml"),
                       secrets_file=secrets_file, rules=rel(m.rules), workers=m.workers,
                       influx=sinks, cases=case_policy, inspections=list(m.inspections),
                       daemon=m.daemon, report=report, hooks=hooks, store=store,
                       mail_intake=mail_intake)


def _opt(p: Path | None) -> str | None:
    return None if p is None else str(p)
