"""The playbook file format: parameters, windows, and a closed set of step types.

A string value may hold `{param}` placeholders; a value that is exactly `"{param}"`
takes the parameter's typed value (a list, an int, a bool). Steps are validated
again after the parameters are filled in, so a bad value is refused before anything runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from agent.cases.windows import WindowSpec
from agent.remediation import ParamSpec, parse_size
from core.problems import shorten


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    title: str = ""
    when: bool = True  # a parameter may switch a step off
    timeout: float = Field(default=60.0, gt=0, le=7200)


class FindFiles(_Step):
    """Files under allowed roots, matching file-name globs, old and/or large; keep the newest K."""

    type: Literal["find_files"]
    roots: list[str] = []  # empty: every allowed root of the device
    patterns: list[str] = Field(min_length=1)
    older_than_days: int | None = Field(default=None, ge=0)
    larger_than: int | None = Field(default=None, ge=0)
    combine: Literal["and", "or"] = "and"
    keep_newest: int = Field(default=0, ge=0)

    @field_validator("patterns")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for p in v:
            if "/" in p or p in (".", "..") or not p or "\x00" in p:
                raise ValueError(f"a file-name glob without '/' expected, got {shorten(p)}")
        return v

    @field_validator("larger_than", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int | None:
        return None if v is None or v == "" else parse_size(v)


class Compress(_Step):
    """gzip the uncompressed files a find_files step selected (they leave the selection)."""

    type: Literal["compress"]
    files: str  # the id of a find_files step


class Delete(_Step):
    """Delete what is left of a find_files step's selection."""

    type: Literal["delete"]
    files: str


class Command(_Step):
    """One command the device's inventory allow-lists, with typed arguments."""

    type: Literal["command"]
    name: str
    args: dict[str, Any] = {}

    @field_validator("args", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out: dict[str, Any] = {}
        for item in v:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise ValueError(f"name=value expected, got {shorten(item)}")
            out[key.strip()] = value
        return out


class Service(_Step):
    """Start or stop a WebLogic server with its domain's configured script."""

    type: Literal["service"]
    server: str  # domain/server
    action: Literal["start", "stop"]
    only_if_gone: bool = False  # start only when the JVM is not running (recovery)
    tolerate_timeout: bool = False  # a stop that hangs is noted, and the next step decides


class WaitProcess(_Step):
    """Wait until the server's JVM runs (or is gone); optionally kill it when it will not go."""

    type: Literal["wait_process"]
    server: str
    state: Literal["running", "gone"]
    kill_on_timeout: bool = False


class WaitLog(_Step):
    """Wait for a text in the server's log, written after the run began."""

    type: Literal["wait_log"]
    server: str
    text: str = Field(min_length=1)
    fail_text: str | None = None  # e.g. BEA-000362 (FAILED): stop waiting at once


class WaitHttp(_Step):
    """Wait for an HTTP status from a URL, fetched on the device (curl)."""

    type: Literal["wait_http"]
    server: str | None = None  # take the server's health_url
    url: str | None = None
    status: int = Field(default=200, ge=100, le=599)


class WaitPort(_Step):
    """Wait until a TCP port on the device listens (or no longer does)."""

    type: Literal["wait_port"]
    port: int = Field(ge=1, le=65535)
    state: Literal["open", "closed"] = "open"


Step = Annotated[FindFiles | Compress | Delete | Command | Service | WaitProcess | WaitLog | WaitHttp
                 | WaitPort, Field(discriminator="type")]
STEP = TypeAdapter(Step)
STEP_TYPES = ("find_files", "compress", "delete", "command", "service", "wait_process", "wait_log",
              "wait_http", "wait_port")
PHASES = ("pre_checks", "steps", "post_checks", "recovery")


class PlaybookFile(BaseModel):
    """The YAML as written: steps stay raw until the parameters are known."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    description: str = Field(min_length=1)
    kinds: list[str] = ["server"]
    parameters: dict[str, ParamSpec] = {}
    windows: list[WindowSpec] = []  # when it may run; empty: any time
    pre_checks: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = Field(min_length=1)
    post_checks: list[dict[str, Any]] = []
    recovery: list[dict[str, Any]] = []

    @field_validator("pre_checks", "steps", "post_checks", "recovery")
    @classmethod
    def _types(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, raw in enumerate(v):
            if not isinstance(raw, dict) or raw.get("type") not in STEP_TYPES:
                raise ValueError(f"[{i}]: type must be one of {', '.join(STEP_TYPES)}")
        return v
