"""The `hooks:` section of xunjian.yaml: channels, routes, storm control, retry policy.

Validated like the rest of the config (one Problem per mistake, with its place); secrets
are references resolved here into SecretStr and never leave the channel objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agent.cases.sla import parse_duration
from agent.secrets import REF_HELP, Secrets, is_reference, url_has_password
from core.problems import ConfigError, Problem, pydantic_problems

EVENTS = ("open", "update", "breach", "escalate", "ack", "assign", "note", "pause", "resume",
          "resolve", "close", "reopen", "suppress", "link", "reminder",
          "milestone")
LANGS = ("zh-CN", "en")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _seconds(v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        if v < 0:
            raise ValueError("a duration of 0 or more")
        return float(v)
    return parse_duration(v).total_seconds()


def _ref(v: str | None) -> str | None:
    if v is not None and not is_reference(v):
        raise ValueError(REF_HELP)
    return v


class _ChannelBase(_Strict):
    concurrency: int = Field(default=4, ge=1, le=64)
    timeout: float = Field(default=10.0, gt=0, le=300)
    lang: Literal["zh-CN", "en"] | None = None


class _HttpBase(_ChannelBase):
    verify_tls: bool = True
    ca_file: str | None = None

    @field_validator("url", check_fields=False)
    @classmethod
    def _no_password(cls, v: str) -> str:
        if url_has_password(v):  # it would travel into errors and logs with the URL
            raise ValueError("a password in the URL is not accepted; give auth: {basic: {username: NAME, "
                             "password: ${secret:KEY}}} or auth: {bearer: ${secret:KEY}} (or ${ENV_VAR}) "
                             "instead")
        return v


class BasicAuthModel(_Strict):
    username: str
    password: str

    _p = field_validator("password")(classmethod(lambda cls, v: _ref(v)))


class AuthModel(_Strict):
    bearer: str | None = None
    basic: BasicAuthModel | None = None

    _b = field_validator("bearer")(classmethod(lambda cls, v: _ref(v)))


_CREDENTIAL_HEADER = re.compile(r"(?i)authorization|cookie|token|secret|password|passwd|api[-_]?key|"
                                r"access[-_]?key|^x-.*-key$|signature")


def _headers(v: dict[str, str]) -> dict[str, str]:
    """A header that carries a credential is a secret reference, like every other secret."""
    for name, value in v.items():
        if _CREDENTIAL_HEADER.search(name) and not is_reference(value):
            raise ValueError(f"header {name}: {REF_HELP}")
    return v


class WebhookModel(_HttpBase):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = {}
    auth: AuthModel | None = None
    template: str | None = None  # inline Jinja2 body; default: the built-in JSON document
    template_file: str | None = None
    ticket_id: str | None = None  # a field of the JSON response holding the ticket id ("id", "data.id")
    ticket_url: str | None = None

    _h = field_validator("headers")(classmethod(lambda cls, v: _headers(v)))


class AlertmanagerModel(_HttpBase):
    type: Literal["alertmanager"]
    url: str = Field(pattern=r"^https?://")
    headers: dict[str, str] = {}
    auth: AuthModel | None = None
    receiver: str = "xunjian"
    external_url: str = ""

    _h = field_validator("headers")(classmethod(lambda cls, v: _headers(v)))


class EmailModel(_ChannelBase):
    type: Literal["email"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    to: list[str] = []
    ca_file: str | None = None
    verify_tls: bool = True

    _p = field_validator("password")(classmethod(lambda cls, v: _ref(v)))


class ScriptModel(_ChannelBase):
    type: Literal["script"]
    argv: list[str] = Field(min_length=1)


class DingTalkModel(_HttpBase):
    type: Literal["dingtalk"]
    url: str = Field(default="https://oapi.dingtalk.com/robot/send", pattern=r"^https?://")
    access_token: str
    secret: str | None = None  # the robot's signing secret (加签)
    at_mobiles: list[str] = []
    at_all: bool = False

    _t = field_validator("access_token", "secret")(classmethod(lambda cls, v: _ref(v)))


class WeComModel(_HttpBase):
    type: Literal["wecom"]
    url: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/webhook/send", pattern=r"^https?://")
    key: str

    _k = field_validator("key")(classmethod(lambda cls, v: _ref(v)))


class JiraModel(_HttpBase):
    type: Literal["jira"]
    url: str = Field(pattern=r"^https?://")
    project: str
    issue_type: str = "Task"
    auth: AuthModel
    resolve_transition: str = "Done"
    reopen_transition: str | None = None
    label_prefix: str = "xunjian-"


class ServiceNowModel(_HttpBase):
    type: Literal["servicenow"]
    url: str = Field(pattern=r"^https?://")
    table: str = "incident"
    auth: AuthModel
    caller_id: str | None = None
    assignment_group: str | None = None
    resolved_state: str = "6"
    close_code: str = "Solved (Permanently)"


ChannelModel = Annotated[
    WebhookModel | AlertmanagerModel | EmailModel | ScriptModel | DingTalkModel | WeComModel
    | JiraModel | ServiceNowModel, Field(discriminator="type")]


class MatchModel(_Strict):
    events: list[Literal[EVENTS]] = ["open", "escalate", "resolve", "reopen"]  # type: ignore[valid-type]
    levels: list[Literal[1, 2, 3, 4, 5]] | None = None
    kinds: list[str] | None = None
    groups: list[str] | None = None
    sites: list[str] | None = None


class StormModel(_Strict):
    threshold: int = Field(default=10, ge=1)  # more than this many opens in the window → one message
    window: Any = "2m"
    by: list[Literal["parent", "site"]] = ["parent", "site"]

    _w = field_validator("window")(classmethod(lambda cls, v: _seconds(v)))


class RouteModel(_Strict):
    name: str | None = None
    match: MatchModel = MatchModel()
    channels: list[str] = Field(min_length=1)
    recipients: list[str] = []
    tiers: dict[Literal[1, 2, 3, 4, 5], list[str]] = {}  # extra recipients when the case is at this level
    storm: StormModel | None = None
    stop: bool = False  # later routes are not tried when this one matched


class RetryModel(_Strict):
    initial: Any = "5s"
    max: Any = "10m"
    give_up_after: Any = "24h"

    _d = field_validator("initial", "max", "give_up_after")(classmethod(lambda cls, v: _seconds(v)))


class HooksModel(_Strict):
    lang: Literal["zh-CN", "en"] = "zh-CN"
    retry: RetryModel = RetryModel()
    interval: Any = "2s"  # how often the daemon's worker looks for due items
    keep: Any = "30d"  # delivered and cancelled items are deleted after this long
    channels: dict[str, ChannelModel] = {}
    routes: list[RouteModel] = []

    _i = field_validator("interval", "keep")(classmethod(lambda cls, v: _seconds(v)))


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    events: tuple[str, ...]
    levels: tuple[int, ...] | None
    kinds: tuple[str, ...] | None
    groups: tuple[str, ...] | None
    sites: tuple[str, ...] | None
    channels: tuple[str, ...]
    recipients: tuple[str, ...]
    tiers: dict[int, tuple[str, ...]]
    storm: StormModel | None
    stop: bool


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """One validated channel; `secrets` holds its resolved references (SecretStr)."""

    name: str
    model: Any
    secrets: dict[str, SecretStr]
    base: Path  # for relative paths (ca_file, template_file)

    def path(self, p: str | None) -> Path | None:
        if p is None:
            return None
        q = Path(p).expanduser()
        return q if q.is_absolute() else self.base / q


@dataclass(frozen=True, slots=True)
class HooksConfig:
    lang: str = "zh-CN"
    initial_backoff: float = 5.0
    max_backoff: float = 600.0
    give_up_after: float = 86400.0
    interval: float = 2.0
    keep: float = 30 * 86400.0
    channels: dict[str, ChannelSettings] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.routes and self.channels)


# Where each channel type keeps secret references (dotted paths in the model).
SECRET_FIELDS = {
    "webhook": ("auth.bearer", "auth.basic.password"),
    "alertmanager": ("auth.bearer", "auth.basic.password"),
    "jira": ("auth.bearer", "auth.basic.password"),
    "servicenow": ("auth.bearer", "auth.basic.password"),
    "email": ("password",),
    "dingtalk": ("access_token", "secret"),
    "wecom": ("key",),
    "script": (),
}


def _get(model: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        model = getattr(model, part, None)
        if model is None:
            return None
    return model


_TAG = re.compile(r"^(hooks\.channels\.[^.]+)\.(?:" + "|".join(SECRET_FIELDS) + r")(?=\.|$)")


def _untag(p: Problem) -> Problem:
    """pydantic names the union member it tried (`channels.x.webhook.url`): drop it."""
    return Problem(p.file, _TAG.sub(r"\1", p.place), p.expected)


def load_hooks(raw: Any, file: str, base: Path, secrets: Secrets) -> HooksConfig:
    """Validate `hooks:`; every problem reported at once as a ConfigError."""
    if raw is None:
        return HooksConfig()
    try:
        m = HooksModel.model_validate(raw)
    except ValidationError as e:
        raise ConfigError([_untag(p) for p in pydantic_problems(file, ("hooks",), e)]) from None
    problems: list[Problem] = []
    channels: dict[str, ChannelSettings] = {}
    for name, ch in m.channels.items():
        resolved: dict[str, SecretStr] = {}
        for dotted in SECRET_FIELDS[ch.type]:
            ref = _get(ch, dotted)
            if ref is None:
                continue
            value, err = secrets.resolve(ref)
            if err:
                problems.append(Problem(file, f"hooks.channels.{name}.{dotted}", err))
            elif value is not None:
                resolved[dotted] = value
        for header, ref in (getattr(ch, "headers", None) or {}).items():
            if not is_reference(ref):
                continue  # a literal header (X-Source: xunjian); a token is given as a reference
            value, err = secrets.resolve(ref)
            if err:
                problems.append(Problem(file, f"hooks.channels.{name}.headers.{header}", err))
            elif value is not None:
                resolved[f"headers.{header}"] = value
        auth = getattr(ch, "auth", None)
        if ch.type in ("jira", "servicenow") and auth is not None and not (auth.bearer or auth.basic):
            problems.append(Problem(file, f"hooks.channels.{name}.auth", "bearer or basic"))
        if ch.type == "webhook" and ch.template and ch.template_file:
            problems.append(Problem(file, f"hooks.channels.{name}", "template or template_file, not both"))
        settings = ChannelSettings(name, ch, resolved, base)
        for key in ("ca_file", "template_file"):
            p = settings.path(getattr(ch, key, None))
            if p is not None and not p.is_file():
                problems.append(Problem(file, f"hooks.channels.{name}.{key}",
                                        f"a readable file, {p} not found"))
        channels[name] = settings
    routes = []
    for i, r in enumerate(m.routes):
        for j, c in enumerate(r.channels):
            if c not in m.channels:
                known = ", ".join(sorted(m.channels)) or "none defined"
                problems.append(Problem(file, f"hooks.routes[{i}].channels[{j}]",
                                        f"a channel defined under hooks.channels ({known}), got {c!r}"))
        routes.append(Route(
            name=r.name or f"route{i + 1}", events=tuple(r.match.events),
            levels=tuple(r.match.levels) if r.match.levels else None,
            kinds=tuple(r.match.kinds) if r.match.kinds else None,
            groups=tuple(r.match.groups) if r.match.groups else None,
            sites=tuple(r.match.sites) if r.match.sites else None,
            channels=tuple(r.channels), recipients=tuple(r.recipients),
            tiers={k: tuple(v) for k, v in r.tiers.items()}, storm=r.storm, stop=r.stop))
    if m.retry.initial > m.retry.max:
        problems.append(Problem(file, "hooks.retry.initial", "at most hooks.retry.max"))
    if problems:
        raise ConfigError(problems)
    return HooksConfig(lang=m.lang, initial_backoff=max(0.01, m.retry.initial),
                       max_backoff=max(0.01, m.retry.max), give_up_after=m.retry.give_up_after,
                       interval=max(0.05, m.interval), keep=m.keep, channels=channels,
                       routes=tuple(routes))
