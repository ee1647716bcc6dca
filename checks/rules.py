"""The rule model and loading. A rule is data; evaluation lives in checks.evaluate / checks.stateful.

Files: the shipped rules (checks/defaults.yaml, then every other checks/*.yaml by name) and
optionally one user rules file that overrides shipped rules by name, key by key, and adds
new ones. Every mistake is reported as a Problem naming the file and the key.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from checks.durations import parse_duration
from core.problems import (
    ConfigError,
    Problem,
    load_yaml_file,
    parse_yaml,
    place,
    pydantic_problems,
    shorten,
)

StatusName = Literal["ok", "warn", "crit", "unknown"]


def _duration(v: Any) -> str:
    parse_duration(v)  # raises ValueError with the words to show
    return str(v).strip().lower()


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


class Clear(BaseModel):
    """Hysteresis: a status is kept while the value stays beyond its clear level."""

    model_config = ConfigDict(extra="forbid")
    warn: float | None = None
    crit: float | None = None


class Flapping(BaseModel):
    """More than `changes` status changes within `window` → flapping (holds the worst status)."""

    model_config = ConfigDict(extra="forbid")
    changes: int = Field(ge=1)
    window: str

    _w = field_validator("window", mode="before")(classmethod(lambda cls, v: _duration(v)))


class Missing(BaseModel):
    """No sample for `intervals` collection intervals → UNKNOWN; none for `forget` → dropped."""

    model_config = ConfigDict(extra="forbid")
    intervals: int = Field(default=3, ge=0)  # 0: never UNKNOWN for missing samples
    forget: str = "1d"

    _f = field_validator("forget", mode="before")(classmethod(lambda cls, v: _duration(v)))


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    enabled: bool = True
    description: str = ""
    # what the verdict message names (a noun: "Port", "Board temperature"); default: the
    # description. A description that states the fault would word an OK verdict as a fault.
    subject: str = ""
    # selector
    measurement: str = Field(min_length=1)
    field: str = Field(min_length=1)
    match: dict[str, str | list[str]] = {}  # sample tag -> glob (or globs; "!glob" excludes)
    kinds: list[str] = []  # device kinds; empty: all
    groups: list[str] = []  # device groups; empty: all
    instance_tag: str | None = None
    unit: str = ""
    # numeric judgement
    direction: Literal["above", "below"] = "above"
    warn: float | None = None
    crit: float | None = None
    clear: Clear | None = None
    # For text fields (a WebLogic server state, a port's oper status): value -> status.
    # Values not listed get `other` (UNKNOWN unless said).
    states: dict[str, StatusName] | None = None
    other: StatusName = "unknown"
    # time
    for_: dict[str, int] | str | None = Field(default=None, alias="for")
    flapping: Flapping | None = None
    missing: Missing = Missing()
    levels: Levels = Levels()
    remediate: Remediate | None = None  # off unless a rule says so
    # What the message adds after the value, from the sample: `{tag}` or `{field}`, `{field|bytes}`
    # for a size ("{free|bytes} free on {device}"). A name the sample lacks shows as "?".
    detail: str = ""

    @field_validator("match")
    @classmethod
    def _globs(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for tag, globs in v.items():
            if not tag or (isinstance(globs, list) and not globs) or (
                    any(not g or g == "!" for g in ([globs] if isinstance(globs, str) else globs))):
                raise ValueError(f"match.{tag}: a tag name and one or more non-empty globs expected")
        return v

    @field_validator("detail")
    @classmethod
    def _detail(cls, v: str) -> str:
        from checks.detail import check_template

        return check_template(v)

    @field_validator("for_", mode="before")
    @classmethod
    def _for(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, dict) and set(v) == {"samples"} and isinstance(v["samples"], int) \
                and not isinstance(v["samples"], bool) and v["samples"] >= 1:
            return {"samples": v["samples"]}
        if isinstance(v, str):
            return _duration(v)
        raise ValueError(f"expected {{samples: N}} (N ≥ 1) or a duration like 5m, got {shorten(v)}")

    @field_validator("clear")
    @classmethod
    def _clear(cls, v: Clear | None, info: ValidationInfo) -> Clear | None:
        if v is None:
            return v
        above = info.data.get("direction", "above") == "above"
        for key in ("warn", "crit"):
            level, limit = getattr(v, key), info.data.get(key)
            if level is None:
                continue
            if limit is None:
                raise ValueError(f"clear.{key} given but the rule has no {key} threshold")
            if (level > limit) if above else (level < limit):
                side = "at or below" if above else "at or above"
                raise ValueError(f"clear.{key} ({level:g}) must be {side} {key} ({limit:g}) "
                                 f"for direction '{'above' if above else 'below'}'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.warn is not None and self.crit is not None:
            bad = self.crit < self.warn if self.direction == "above" else self.crit > self.warn
            if bad:
                raise ValueError(f"crit ({self.crit:g}) must be beyond warn ({self.warn:g}) "
                                 f"for direction '{self.direction}'")
        if self.states is not None and (self.warn is not None or self.crit is not None
                                        or self.clear is not None):
            raise ValueError("a rule judges either numbers (warn/crit/clear) or text (states), "
                             "not both")
        return self

    @property
    def for_samples(self) -> int:
        return self.for_["samples"] if isinstance(self.for_, dict) else 0

    @property
    def for_seconds(self) -> float:
        return parse_duration(self.for_) if isinstance(self.for_, str) else 0.0


class Collection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(default=3, ge=1, le=3)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = []
    collection: Collection = Collection()
    _compiled: Any = PrivateAttr(default=None)  # checks.compiled.Compiled, built on first use

    @field_validator("rules")
    @classmethod
    def _unique(cls, v: list[Rule]) -> list[Rule]:
        seen: dict[str, int] = {}
        for i, r in enumerate(v):
            if r.name in seen:
                raise ValueError(f"rule '{r.name}' is defined twice (rules[{seen[r.name]}] "
                                 f"and rules[{i}])")
            seen[r.name] = i
        return v

    def by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}

    @property
    def active(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]


# -- loading ---------------------------------------------------------------------------------

_TOP = {"rules", "collection"}
_MERGED = {"levels", "clear", "flapping", "missing"}  # mappings merged key by key on override


def _shipped_files() -> list[tuple[str, Any]]:
    folder = resources.files("checks")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")),
                   key=lambda f: (f.name != "defaults.yaml", f.name))
    out = []
    for f in files:
        name = f"checks/{f.name}"
        try:
            out.append((name, parse_yaml(f.read_text(encoding="utf-8")) or {}))
        except yaml.YAMLError as e:
            raise ConfigError([Problem(name, "", f"not valid YAML ({e})")]) from None
    return out


def _raw_rules(file: str, data: Any, problems: list[Problem]) -> tuple[list[Any], Any]:
    """The `rules` list and `collection` of one file's data, reporting its shape's mistakes."""
    if not isinstance(data, dict):
        problems.append(Problem(file, "", "a mapping with `rules:` expected"))
        return [], None
    for key in data:
        if key not in _TOP:
            problems.append(Problem(file, str(key), "unknown key (expected rules, collection)"))
    rules = data.get("rules") or []
    if not isinstance(rules, list):
        problems.append(Problem(file, "rules", "a list of rules expected"))
        return [], data.get("collection")
    return rules, data.get("collection")


def _validate_rule(file: str, i: int, raw: Any, problems: list[Problem],
                   note: str = "") -> Rule | None:
    try:
        return Rule.model_validate(raw)
    except ValidationError as e:
        for p in pydantic_problems(file, ("rules", i), e):
            problems.append(Problem(p.file, p.place, p.expected + note))
        return None


def shipped_rules() -> RuleSet:
    """checks/defaults.yaml plus every other checks/*.yaml (one per domain), by file name."""
    return _shipped()[0]


def _shipped() -> tuple[RuleSet, dict[str, dict[str, Any]]]:
    problems: list[Problem] = []
    rules: list[Rule] = []
    raw_by_name: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    collection: dict[str, Any] = {}
    for file, data in _shipped_files():
        items, coll = _raw_rules(file, data, problems)
        if isinstance(coll, dict):
            collection.update(coll)
        for i, raw in enumerate(items):
            rule = _validate_rule(file, i, raw, problems)
            if rule is None:
                continue
            if rule.name in where:
                problems.append(Problem(file, f"rules[{i}].name",
                                        f"rule '{rule.name}' is already defined in {where[rule.name]}"))
                continue
            where[rule.name] = file
            raw_by_name[rule.name] = raw
            rules.append(rule)
    if problems:
        raise ConfigError(problems)
    try:
        return RuleSet(rules=rules, collection=Collection.model_validate(collection)), raw_by_name
    except ValidationError as e:
        raise ConfigError(pydantic_problems("checks/defaults.yaml", ("collection",), e)) from None


def _override(shipped: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    merged = dict(shipped)
    for key, value in user.items():
        if key in _MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_rules(path: Path | None = None) -> RuleSet:
    """The shipped rules, overridden and extended by a user's rules file (same shape).

    A user rule whose name is shipped overrides it key by key (levels, clear, flapping and
    missing are merged key by key; other keys are replaced whole); `enabled: false` turns a
    rule off. Other user rules are added after the shipped ones. Disabled rules are left out.
    """
    shipped, raw_by_name = _shipped()
    if path is None:
        return shipped
    file = str(path)
    data = load_yaml_file(path, "rules file")
    problems: list[Problem] = []
    items, coll = _raw_rules(file, data if data is not None else {}, problems)
    overridden: dict[str, Rule] = {}
    added: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            problems.append(Problem(file, place(("rules", i)), "a mapping (one rule) expected"))
            continue
        name = raw.get("name")
        if not isinstance(name, str):
            problems.append(Problem(file, place(("rules", i, "name")),
                                    "required key is missing (every rule has a name)"))
            continue
        if name in seen:
            problems.append(Problem(file, place(("rules", i, "name")),
                                    f"rule '{name}' is given twice (also rules[{seen[name]}])"))
            continue
        seen[name] = i
        if name in raw_by_name:
            rule = _validate_rule(file, i, _override(raw_by_name[name], raw), problems,
                                  f" (merged with the shipped rule '{name}')")
            if rule is not None:
                overridden[name] = rule
        elif set(raw) <= {"name", "enabled"}:
            problems.append(Problem(file, place(("rules", i, "name")),
                                    f"no shipped rule named '{name}' to change; known: "
                                    f"{', '.join(sorted(raw_by_name)) or 'none'}"))
        else:
            rule = _validate_rule(file, i, raw, problems)
            if rule is not None:
                added.append(rule)
    collection = shipped.collection
    if coll is not None:
        try:
            collection = Collection.model_validate(
                {**shipped.collection.model_dump(), **coll} if isinstance(coll, dict) else coll)
        except ValidationError as e:
            problems += pydantic_problems(file, ("collection",), e)
    if problems:
        raise ConfigError(problems)
    rules = [overridden.get(r.name, r) for r in shipped.rules] + added
    return RuleSet(rules=[r for r in rules if r.enabled], collection=collection)
