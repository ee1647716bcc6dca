"""The rule model and loading. A rule is data; evaluation lives in checks.evaluate."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.problems import ConfigError, Problem, load_yaml_file, pydantic_problems


class Levels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warn: int = Field(default=3, ge=1, le=3)
    crit: int = Field(default=2, ge=1, le=3)
    unknown: int = Field(default=3, ge=1, le=3)


class Remediate(BaseModel):
    """Opt-in auto-remediation for one rule: run a playbook with fixed parameters while the
    rule is breached, at most once per `at_most_every` per device. `{instance}` in a
    parameter value is the verdict's instance (e.g. the filesystem)."""

    model_config = ConfigDict(extra="forbid")
    playbook: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    params: dict[str, str | int | float | bool | list[str]] = {}
    on: list[Literal["warn", "crit"]] = ["crit"]
    at_most_every: str = Field(default="6h", pattern=r"^\d+[smhd]$")

    @property
    def seconds(self) -> int:
        return int(self.at_most_every[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[self.at_most_every[-1]]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    description: str = ""
    measurement: str
    field: str
    instance_tag: str | None = None
    unit: str = ""
    direction: Literal["above", "below"] = "above"
    warn: float | None = None
    crit: float | None = None
    # For text fields (a WebLogic server state, a port's oper status): value -> status.
    # Values not listed get `other` (UNKNOWN unless said).
    states: dict[str, Literal["ok", "warn", "crit", "unknown"]] | None = None
    other: Literal["ok", "warn", "crit", "unknown"] = "unknown"
    levels: Levels = Levels()
    remediate: Remediate | None = None  # off unless a rule says so

    @model_validator(mode="after")
    def _ordered(self) -> Rule:
        if self.warn is not None and self.crit is not None:
            bad = self.crit < self.warn if self.direction == "above" else self.crit > self.warn
            if bad:
                raise ValueError(f"crit ({self.crit}) must be beyond warn ({self.warn}) "
                                 f"for direction '{self.direction}'")
        return self


class Collection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(default=3, ge=1, le=3)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = []
    collection: Collection = Collection()

    def by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}


def shipped_rules() -> RuleSet:
    """checks/defaults.yaml plus every other checks/*.yaml (one per domain), by file name."""
    folder = resources.files("checks")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")),
                   key=lambda f: (f.name != "defaults.yaml", f.name))
    merged: dict[str, object] = {"rules": []}
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        merged["rules"] += data.pop("rules", [])  # type: ignore[operator]
        merged.update(data)
    return RuleSet.model_validate(merged)


def load_rules(path: Path | None = None) -> RuleSet:
    """The shipped rules, or a user's rules file (same shape)."""
    if path is None:
        return shipped_rules()
    data = load_yaml_file(path, "rules file")
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), "", "a mapping with `rules:` expected")])
    try:
        return RuleSet.model_validate(data)
    except ValidationError as e:
        raise ConfigError(pydantic_problems(str(path), (), e)) from None
