"""SNMP device profiles: YAML data naming the OIDs to read from a kind of device.

Shipped profiles live in collectors/profiles/*.yaml; user profiles in the directory named
by `settings.snmp.profiles_dir` (a user profile with a shipped profile's name replaces it).
A device uses the profile named in `settings.snmp.profile`, else the profile whose `match`
prefix is the longest prefix of its sysObjectID, else none. Their default rules are rule
data in checks/network.yaml (the rules layer does not import collectors).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.problems import (
    ConfigError,
    Problem,
    parse_yaml,
    pydantic_problems,
    read_config_text,
    shorten,
    yaml_problems,
)

OID = r"^[0-2](\.\d+)+$"
NAME = r"^[a-z][a-z0-9_]*$"


class FieldSpec(BaseModel):
    """One value: gauge (number as is × scale), counter (raw + `<name>_per_s` from the
    second cycle), enum (text from `values` + `<name>_code`), string."""

    model_config = ConfigDict(extra="forbid")
    oid: str = Field(pattern=OID)
    type: Literal["gauge", "counter", "enum", "string"] = "gauge"
    scale: float = 1.0
    values: dict[int, str] = {}

    @model_validator(mode="after")
    def _enum(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum needs `values:` (code: text)")
        return self


class Percent(BaseModel):
    """A derived used_percent: used / total, or used / (used + free)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="used_percent", pattern=NAME)
    used: str
    total: str | None = None
    free: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Percent:
        if (self.total is None) == (self.free is None):
            raise ValueError("give exactly one of `total` or `free`")
        return self


class MetricGroup(BaseModel):
    """One measurement: scalars (OIDs ending .0, fetched by GET) or table columns (walked;
    one sample per row, tagged with `index_tag` and the `tags` columns)."""

    model_config = ConfigDict(extra="forbid")
    measurement: str = Field(pattern=NAME)
    table: bool = False
    index_tag: str = "index"
    tags: dict[str, str] = {}  # tag name -> column OID (tables only)
    fields: dict[str, FieldSpec] = Field(min_length=1)
    percent: Percent | None = None
    skip_zero_rows: bool = False  # boards without sensors report 0 for everything

    @field_validator("fields")
    @classmethod
    def _names(cls, v: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in v:
            if not re.match(NAME, name):
                raise ValueError(f"field name {shorten(name)}: lower-case letters, digits and _ expected")
        return v

    @field_validator("tags")
    @classmethod
    def _tag_oids(cls, v: dict[str, str]) -> dict[str, str]:
        for tag, oid in v.items():
            if not re.match(OID, oid):
                raise ValueError(f"tags.{tag}: a numeric OID expected (e.g. 1.3.6.1.2.1.47.1.1.1.1.7)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> MetricGroup:
        if self.tags and not self.table:
            raise ValueError("`tags` are for tables (table: true)")
        if not self.table:
            for name, f in self.fields.items():
                if not f.oid.endswith(".0"):
                    raise ValueError(f"fields.{name}.oid: a scalar OID ends in .0 "
                                     "(or set table: true)")
        if self.percent:
            for k in (self.percent.used, self.percent.total, self.percent.free):
                if k is not None and k not in self.fields:
                    raise ValueError(f"percent: {shorten(k)} is not one of this group's fields")
        return self


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-_]*$")
    description: str = ""
    match: list[str] = []  # sysObjectID prefixes
    template: bool = False  # a starting point to copy: never chosen automatically
    metrics: list[MetricGroup] = Field(min_length=1)

    @field_validator("match")
    @classmethod
    def _prefixes(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.match(OID, p.lstrip(".")):
                raise ValueError(f"{shorten(p)}: a numeric sysObjectID prefix expected")
        return [p.lstrip(".") for p in v]


def _load(name: str, text: str) -> Profile:
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as e:
        raise ConfigError(yaml_problems(name, e)) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(name, "", "a mapping with name, match, metrics expected")])
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise ConfigError(pydantic_problems(name, (), e)) from None


@lru_cache(maxsize=1)  # every device's settings load them: parse the package files once
def shipped_profiles() -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    folder = resources.files("collectors") / "profiles"
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if f.name.endswith(".yaml"):
            p = _load(f"collectors/profiles/{f.name}", f.read_text(encoding="utf-8"))
            out[p.name] = p
    return out


def load_profiles(user_dir: str | Path | None = None) -> dict[str, Profile]:
    """Shipped profiles, then the user's (*.yaml in user_dir) replacing them by name.
    Every mistake raises ConfigError naming the file and key."""
    out = dict(shipped_profiles())
    if user_dir:
        d = Path(user_dir)
        if not d.is_dir():
            raise ConfigError([Problem(str(d), "", "profiles directory not found")])
        out.update(_user_profiles(str(d), tuple(
            (f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(d.glob("*.yaml")))))
    return out


@lru_cache(maxsize=64)  # keyed by the files' names, mtimes and sizes: edits are seen
def _user_profiles(folder: str, _stamp: tuple[tuple[str, int, int], ...]) -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    d = Path(folder)
    problems: list[Problem] = []
    for f in sorted(d.glob("*.yaml")):
        try:
            p = _load(str(f), read_config_text(f, "SNMP profile"))
        except ConfigError as e:
            problems.extend(e.problems)
            continue
        except OSError as e:
            problems.append(Problem(str(f), "", f"unreadable: {e.strerror or e}"))
            continue
        out[p.name] = p
    if problems:
        raise ConfigError(problems)
    return out


def select(profiles: dict[str, Profile], sys_object_id: str, named: str | None = None
           ) -> Profile | None:
    """The named profile, else the longest `match` prefix of sysObjectID (whole arcs)."""
    if named:
        return profiles.get(named)
    oid = sys_object_id.lstrip(".")
    best: tuple[int, Profile] | None = None
    for p in profiles.values():
        if p.template:
            continue
        for prefix in p.match:
            if (oid == prefix or oid.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[0]):
                best = (len(prefix), p)
    return best[1] if best else None


Value = float | int | str | bool


def _field_values(name: str, spec: FieldSpec, raw: object, prev: dict[str, object],
                  counters: dict[str, int], dt: float | None) -> dict[str, Value]:
    """The sample fields of one read value (raw None → nothing)."""
    if raw is None:
        return {}
    if spec.type == "string":
        return {name: str(raw)}
    try:
        num = int(raw) if not isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        return {}  # an OctetString where a number was expected: not a number to judge
    if spec.type == "enum":
        return {name: spec.values.get(int(num), f"code {int(num)}"), f"{name}_code": int(num)}
    if spec.type == "counter":
        counters[name] = int(num)
        out: dict[str, Value] = {name: int(num)}
        p = prev.get(name)
        if isinstance(p, int) and dt and dt > 0 and num >= p:  # lower: wrapped or reset
            out[f"{name}_per_s"] = round((num - p) / dt, 4)
        return out
    v = num * spec.scale
    return {name: round(v, 6) if spec.scale != 1.0 else v}


def group_rows(group: MetricGroup, scalars: dict[str, object],
               columns: dict[str, dict[int, object]], prev: dict[str, dict[str, object]],
               dt: float | None) -> tuple[list[tuple[dict[str, str], dict[str, Value]]],
                                          dict[str, dict[str, int]]]:
    """Pure: one group's rows as (tags, fields), and counter state for the next cycle.

    scalars: {oid: value}; columns: {column oid: {index: value}}; prev: {row key: counters}.
    """
    rows: list[tuple[dict[str, str], dict[str, Value]]] = []
    state: dict[str, dict[str, int]] = {}
    if group.table:
        indices = sorted({i for f in group.fields.values() for i in columns.get(f.oid, {})})
        keyed = [(str(i), {n: columns.get(f.oid, {}).get(i) for n, f in group.fields.items()})
                 for i in indices]
    else:
        keyed = [("0", {n: scalars.get(f.oid) for n, f in group.fields.items()})]
    for key, raw in keyed:
        if all(v is None for v in raw.values()):
            continue  # noSuchObject for every field: no sample (the caller reports it)
        counters: dict[str, int] = {}
        fields: dict[str, Value] = {}
        for name, spec in group.fields.items():
            fields.update(_field_values(name, spec, raw[name], prev.get(key, {}), counters, dt))
        numbers = [v for n, v in fields.items() if group.fields.get(n) and
                   group.fields[n].type in ("gauge", "counter")]
        if group.skip_zero_rows and numbers and not any(numbers):
            continue
        if group.percent:
            pc = group.percent
            used = fields.get(pc.used)
            whole = fields.get(pc.total) if pc.total else (
                None if fields.get(pc.free) is None or used is None
                else float(used) + float(fields[pc.free]))  # type: ignore[arg-type]
            if isinstance(used, int | float) and isinstance(whole, int | float) and whole > 0:
                fields[pc.name] = round(100 * float(used) / float(whole), 3)
        tags: dict[str, str] = {}
        if group.table:
            tags[group.index_tag] = key
            for tag, oid in group.tags.items():
                v = columns.get(oid, {}).get(int(key))
                if v not in (None, ""):
                    tags[tag] = str(v)
        rows.append((tags, fields))
        if counters:
            state[key] = counters
    return rows, state


def oids_to_read(profile: Profile) -> tuple[list[str], list[str]]:
    """(scalar OIDs to GET, column OIDs to walk) for a profile."""
    scalars: list[str] = []
    cols: list[str] = []
    for g in profile.metrics:
        for f in g.fields.values():
            (cols if g.table else scalars).append(f.oid)
        cols.extend(g.tags.values())
    return list(dict.fromkeys(scalars)), list(dict.fromkeys(cols))
