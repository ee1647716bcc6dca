"""The inventory's `remediation:` section: what playbooks may touch on a device.

    remediation:
      allowed_roots: [/u01/app/logs, /var/log/myapp]
      commands:
        flush-cache:
          argv: [/opt/app/bin/flush, --region, "{region}"]
          params: {region: {type: choice, choices: [east, west]}}
          timeout: 60
      weblogic:
        domains:
          base_domain:
            home: /u01/domains/base_domain
            start: ["{home}/bin/startManagedWebLogic.sh", "{server}", "t3://adm:7001"]
            stop: ["{home}/bin/stopManagedWebLogic.sh", "{server}", "t3://adm:7001"]
            servers:
              ms1: {log: "{home}/servers/ms1/logs/ms1.log", health_url: "http://127.0.0.1:7003/"}

Nothing here runs a shell: commands are argv lists whose `{param}` placeholders are
filled with typed, validated values, and every argument is quoted when sent.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.problems import shorten

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
SIZE = re.compile(r"^(\d+)\s*([KMGT]?)i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_size(value: Any) -> int:
    """`500M`, `2G`, `1024` → bytes."""
    if isinstance(value, bool):
        raise ValueError("a size like 100M or 2G expected")
    if isinstance(value, int):
        return value
    m = SIZE.match(str(value).strip())
    if not m:
        raise ValueError(f"a size like 100M or 2G expected, got {shorten(value)}")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def human_bytes(n: int) -> str:
    """6727 → "6.6 KiB": a size as people read it (the inverse of parse_size, for notes and
    reports; an XLSX keeps the exact number)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class ParamSpec(_Strict):
    """A typed parameter (of a playbook or an allow-listed command)."""

    type: Literal["str", "int", "bool", "size", "path", "choice", "list"] = "str"
    description: str = ""
    default: Any = None
    required: bool = False
    choices: list[str] = []
    pattern: str | None = None  # for str: the whole value must match
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _shape(self) -> ParamSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice parameter needs choices")
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.default is not None:
            self.coerce(self.default)
        return self

    def coerce(self, value: Any) -> Any:
        """The value as its type, or ValueError saying what was expected."""
        t = self.type
        if t == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError(f"true or false expected, got {shorten(value)}")
        if t in ("int", "size"):
            try:
                n = parse_size(value) if t == "size" else int(str(value).strip())
            except ValueError:
                raise ValueError(f"{'a size like 100M' if t == 'size' else 'an integer'} expected, "
                                 f"got {shorten(value)}") from None
            if self.min is not None and n < self.min:
                raise ValueError(f"at least {self.min} expected, got {n}")
            if self.max is not None and n > self.max:
                raise ValueError(f"at most {self.max} expected, got {n}")
            return n
        if t == "list":
            items = value if isinstance(value, list) else [x for x in str(value).split(",") if x.strip()]
            return [self._text(str(x).strip()) for x in items]
        return self._text(str(value))

    def _text(self, text: str) -> str:
        if "\x00" in text or "\n" in text:
            raise ValueError("no NUL or newline characters allowed")
        if self.type == "choice" and text not in self.choices:
            raise ValueError(f"one of {', '.join(self.choices)} expected, got {shorten(text)}")
        if self.type == "path" and not text.startswith("/"):
            raise ValueError(f"an absolute path expected, got {shorten(text)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ValueError(f"a value matching {self.pattern} expected, got {shorten(text)}")
        if self.pattern is None and self.type in ("str", "list") and text.startswith("-"):
            # an argument must not turn into an option of the program it is passed to
            raise ValueError(f"a value starting with '-' is refused unless the parameter's pattern "
                             f"allows it, got {shorten(text)}")
        return text


def fill(template: str, values: dict[str, Any]) -> str:
    """Replace `{name}` placeholders; an unknown name is a ValueError."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise ValueError(f"unknown placeholder {{{m.group(1)}}}")
        return str(values[m.group(1)])

    return PLACEHOLDER.sub(one, template)


class AllowedCommand(_Strict):
    argv: list[str] = Field(min_length=1)
    params: dict[str, ParamSpec] = {}
    description: str = ""
    timeout: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _placeholders(self) -> AllowedCommand:
        if not self.argv[0].startswith("/"):
            raise ValueError(f"argv[0] must be an absolute program path, got {shorten(self.argv[0])}")
        for arg in self.argv:
            for name in PLACEHOLDER.findall(arg):
                if name not in self.params:
                    raise ValueError(f"argv uses {{{name}}} but params has no {name!r}")
        if PLACEHOLDER.search(self.argv[0]):
            raise ValueError("argv[0] must be a fixed program, not a placeholder")
        return self


class WeblogicServer(_Strict):
    log: str  # the server's .log, where BEA-000360 appears
    health_url: str | None = Field(default=None, pattern=r"^https?://")


class WeblogicDomain(_Strict):
    home: str = Field(pattern=r"^/")
    start: list[str] = Field(min_length=1)  # argv; {home} and {server} are filled in
    stop: list[str] = Field(min_length=1)
    servers: dict[str, WeblogicServer] = Field(min_length=1)
    allow_kill: bool = False  # a forced kill needs the playbook's consent *and* this

    @field_validator("start", "stop")
    @classmethod
    def _argv(cls, v: list[str]) -> list[str]:
        for arg in v:
            for name in PLACEHOLDER.findall(arg):
                if name not in ("home", "server"):
                    raise ValueError(f"only {{home}} and {{server}} may be used, not {{{name}}}")
        return v


class WeblogicSection(_Strict):
    domains: dict[str, WeblogicDomain] = {}


class Remediation(_Strict):
    """What playbooks may do on a device: effective value after defaults ← groups ← device."""

    allowed_roots: list[str] = []
    commands: dict[str, AllowedCommand] = {}
    weblogic: WeblogicSection = WeblogicSection()

    @field_validator("allowed_roots")
    @classmethod
    def _roots(cls, v: list[str]) -> list[str]:
        for root in v:
            if not root.startswith("/") or root.rstrip("/") == "" or any(c in root for c in "*?[\n\x00"):
                raise ValueError(f"an absolute directory other than / and without globs, got {shorten(root)}")
            if any(part in ("", ".", "..") for part in root.rstrip("/").split("/")[1:]):
                # `<home>/logs/../..` is the home directory: say the directory itself
                raise ValueError(f"a normalised path (no '.', '..' or '//'), got {shorten(root)}")
        return v

    @field_validator("commands")
    @classmethod
    def _names(cls, v: dict[str, AllowedCommand]) -> dict[str, AllowedCommand]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
                raise ValueError(f"command names are letters, digits, _ . -; got {shorten(name)}")
        return v
