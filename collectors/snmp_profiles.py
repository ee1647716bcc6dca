"""SNMP device profiles: YAML data naming the OIDs to read from a kind of device.

Shipped profiles live in collectors/profiles/*.yaml; user profiles in the directory named
by `settings.snmp.profiles_dir` (a user profile with a shipped profile's name replaces it).
A device uses the profile named in `settings.snmp.profile`, else the profile whose `match`
prefix is the longest prefix of its sysObjectID, else none. Their default rules are rule
data in checks/network.yaml (the rules layer does not import collectors).

"No value" sentinels (`sentinels:` on a field, a group or the whole profile: 65535, -1,
2147483647 …) are not data: the field is left out of the sample, so no rule judges it, and
a row left with nothing but sentinels gives no sample at all. Table indexes may have several
parts (`index:` — an ifIndex and an IPv4 address, a MAC address …); a tag may be read from
another table at the index another tag names (`index_from:`). `identity:` says where the
device's model and version are (sysDescr / sysName patterns, scalar OIDs) for the asset
register.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.problems import (
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


Sentinel = int | float | str


class FieldSpec(BaseModel):
    """One value: gauge (number as is × scale), counter (raw + `<name>_per_s` from the
    second cycle), enum (text from `values` + `<name>_code`), string. A raw value equal to
    one of `sentinels` (or the group's or profile's) means "no value": no field."""

    model_config = ConfigDict(extra="forbid")
    oid: str = Field(pattern=OID)
    type: Literal["gauge", "counter", "enum", "string"] = "gauge"
    scale: float = 1.0
    values: dict[int, str] = {}
    sentinels: list[Sentinel] = []

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


class TagSpec(BaseModel):
    """A tag read from a column at another tag's value (`index_from`), e.g. a CPU row's
    entPhysicalIndex → entPhysicalName; `fallback` ("CPU {index}") when there is none."""

    model_config = ConfigDict(extra="forbid")
    oid: str = Field(pattern=OID)
    index_from: str | None = None
    fallback: str | None = None


class IndexPart(BaseModel):
    """One part of a multi-part table index, in order: int (1 arc), ipv4 (4 arcs), mac
    (6 arcs), string (a length arc then that many octets), rest (all remaining arcs)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    type: Literal["int", "ipv4", "mac", "string", "rest"] = "int"


class MetricGroup(BaseModel):
    """One measurement: scalars (OIDs ending .0, fetched by GET) or table columns (walked;
    one sample per row, tagged with `index_tag` (the whole index, dotted), the `index`
    parts and the `tags` columns)."""

    model_config = ConfigDict(extra="forbid")
    measurement: str = Field(pattern=NAME)
    table: bool = False
    index_tag: str = "index"
    index: list[IndexPart] = []  # a multi-part index's parts, each its own tag
    tags: dict[str, str | TagSpec] = {}  # tag name -> column OID (tables only)
    fields: dict[str, FieldSpec] = Field(min_length=1)
    percent: Percent | None = None
    skip_zero_rows: bool = False  # boards without sensors report 0 for everything
    sentinels: list[Sentinel] = []  # "no value" for every field of the group

    @field_validator("fields")
    @classmethod
    def _names(cls, v: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in v:
            if not re.match(NAME, name):
                raise ValueError(f"field name {shorten(name)}: lower-case letters, digits and _ expected")
        return v

    @field_validator("tags")
    @classmethod
    def _tag_oids(cls, v: dict[str, str | TagSpec]) -> dict[str, str | TagSpec]:
        for tag, oid in v.items():
            if isinstance(oid, str) and not re.match(OID, oid):
                raise ValueError(f"tags.{tag}: a numeric OID expected (e.g. 1.3.6.1.2.1.47.1.1.1.1.7)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> MetricGroup:
        if (self.tags or self.index) and not self.table:
            raise ValueError("`tags` and `index` are for tables (table: true)")
        for tag, spec in self.tags.items():
            if isinstance(spec, TagSpec) and spec.index_from and spec.index_from not in (
                    {self.index_tag} | {p.name for p in self.index}
                    | {t for t, o in self.tags.items() if isinstance(o, str)}):
                raise ValueError(f"tags.{tag}.index_from: {spec.index_from!r} is not the index "
                                 "or a plain column tag of this group")
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


ASSET_FIELDS = ("vendor", "model", "software_rev", "firmware_rev", "hardware_rev", "serial")


class Identity(BaseModel):
    """Where the asset register finds the model and version when ENTITY-MIB has none:
    regular expressions on sysDescr / sysName with named groups (model, version — stored
    as software_rev —, vendor, serial…; the first pattern that matches wins), scalar OIDs
    (`oids: {model: 1.3.6.1.2.1.33.1.1.2.0}`), a fixed `vendor`."""

    model_config = ConfigDict(extra="forbid")
    vendor: str | None = None
    sysdescr: list[str] = []
    sysname: list[str] = []
    oids: dict[str, str] = {}

    @field_validator("sysdescr", "sysname")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                rx = re.compile(p)
            except re.error as e:
                raise ValueError(f"{p!r}: not a regular expression ({e})") from None
            if not set(rx.groupindex) & {*ASSET_FIELDS, "version"}:
                raise ValueError(f"{p!r}: name a group (?P<model>…) or (?P<version>…)")
        return v

    @field_validator("oids")
    @classmethod
    def _oids(cls, v: dict[str, str]) -> dict[str, str]:
        for k, oid in v.items():
            if k not in ASSET_FIELDS:
                raise ValueError(f"oids.{k}: one of {', '.join(ASSET_FIELDS)} expected")
            if not re.match(OID, oid) or not oid.endswith(".0"):
                raise ValueError(f"oids.{k}: a scalar OID ending in .0 expected")
        return v


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-_]*$")
    description: str = ""
    match: list[str] = []  # sysObjectID prefixes
    template: bool = False  # a starting point to copy: never chosen automatically
    sentinels: list[Sentinel] = []  # "no value" for every field of every group
    identity: Identity | None = None
    metrics: list[MetricGroup] = []

    @model_validator(mode="after")
    def _something(self) -> Profile:
        if not self.metrics and self.identity is None:
            raise ValueError("a profile needs `metrics` or `identity`")
        return self

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
Index = str  # a table row's index below the column OID, dotted ("5", "1.10.0.0.1")


def is_sentinel(raw: object, sentinels: list[Sentinel] | tuple[Sentinel, ...]) -> bool:
    """The raw value is one of the declared "no value" markers (numbers compared as numbers,
    so 65535 matches a Gauge32 65535 and the text "65535")."""
    if not sentinels or raw is None:
        return False
    for s in sentinels:
        if isinstance(s, str) and not isinstance(raw, int | float):
            if str(raw).strip() == s:
                return True
            continue
        try:
            if float(raw) == float(s):  # type: ignore[arg-type]
                return True
        except (TypeError, ValueError):
            continue
    return False


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


def index_key(index: Index) -> tuple[int, ...]:
    """Rows in numeric order (10 after 9; 1.10.0.0.2 after 1.9.0.0.1)."""
    return tuple(int(a) for a in index.split(".") if a.isdigit())


def index_tags(parts: list[IndexPart], index: Index) -> dict[str, str]:
    """A multi-part index's parts as tags; {} when the index does not have that shape."""
    arcs = [int(a) for a in index.split(".")]
    out: dict[str, str] = {}
    for p in parts:
        if p.type == "rest":
            out[p.name], arcs = ".".join(map(str, arcs)), []
            continue
        if p.type == "string":
            if not arcs or len(arcs) < 1 + arcs[0]:
                return {}
            n = arcs[0]
            out[p.name] = bytes(a & 0xFF for a in arcs[1:1 + n]).decode("utf-8", "replace")
            arcs = arcs[1 + n:]
            continue
        width = {"int": 1, "ipv4": 4, "mac": 6}[p.type]
        if len(arcs) < width or (any(a > 255 for a in arcs[:width]) and p.type != "int"):
            return {}
        got, arcs = arcs[:width], arcs[width:]
        out[p.name] = (str(got[0]) if p.type == "int" else ".".join(map(str, got))
                       if p.type == "ipv4" else ":".join(f"{a:02x}" for a in got))
    return out


class _Known(dict[str, str]):
    """A fallback's {placeholders}: a tag the row lacks stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def group_rows(group: MetricGroup, scalars: dict[str, object],
               columns: dict[str, dict[Index, object]], prev: dict[str, dict[str, object]],
               dt: float | None, sentinels: list[Sentinel] | tuple[Sentinel, ...] = ()
               ) -> tuple[list[tuple[dict[str, str], dict[str, Value]]],
                          dict[str, dict[str, int]], int]:
    """Pure: one group's rows as (tags, fields), counter state for the next cycle, and how
    many sentinel values were left out.

    scalars: {oid: value}; columns: {column oid: {index: value}}; prev: {row key: counters};
    sentinels: the profile's "no value" markers (the group's and each field's add to them).
    """
    rows: list[tuple[dict[str, str], dict[str, Value]]] = []
    state: dict[str, dict[str, int]] = {}
    if any(not isinstance(k, str) for vals in columns.values() for k in vals):
        columns = {oid: {str(k): v for k, v in vals.items()} for oid, vals in columns.items()}
    if group.table:
        indices = sorted({str(i) for f in group.fields.values() for i in columns.get(f.oid, {})},
                         key=index_key)
        keyed = [(i, {n: columns.get(f.oid, {}).get(i) for n, f in group.fields.items()})
                 for i in indices]
    else:
        keyed = [("0", {n: scalars.get(f.oid) for n, f in group.fields.items()})]
    base = [*sentinels, *group.sentinels]
    dropped = 0
    for key, raw in keyed:
        if all(v is None for v in raw.values()):
            continue  # noSuchObject for every field: no sample (the caller reports it)
        counters: dict[str, int] = {}
        fields: dict[str, Value] = {}
        for name, spec in group.fields.items():
            if is_sentinel(raw[name], [*base, *spec.sentinels]):
                dropped += 1
                continue  # "no value": not data, so nothing to judge
            fields.update(_field_values(name, spec, raw[name], prev.get(key, {}), counters, dt))
        if not fields:
            continue  # only sentinels: an entity without this sensor
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
            tags.update(index_tags(group.index, key) if group.index else {})
            for tag, spec in group.tags.items():
                if isinstance(spec, str):
                    v = columns.get(spec, {}).get(key)
                    if v not in (None, ""):
                        tags[tag] = str(v)
            for tag, spec in group.tags.items():
                if isinstance(spec, TagSpec):
                    at = tags.get(spec.index_from) if spec.index_from else key
                    v = columns.get(spec.oid, {}).get(at) if at else None
                    if v not in (None, ""):
                        tags[tag] = str(v)
                    elif spec.fallback:
                        tags[tag] = spec.fallback.format_map(_Known({**tags, "index": key}))
        rows.append((tags, fields))
        if counters:
            state[key] = counters
    return rows, state, dropped


def oids_to_read(profile: Profile) -> tuple[list[str], list[str]]:
    """(scalar OIDs to GET, column OIDs to walk) for a profile's metrics."""
    scalars: list[str] = []
    cols: list[str] = []
    for g in profile.metrics:
        for f in g.fields.values():
            (cols if g.table else scalars).append(f.oid)
        cols.extend(t if isinstance(t, str) else t.oid for t in g.tags.values())
    return list(dict.fromkeys(scalars)), list(dict.fromkeys(cols))


def identity(profile: Profile | None, sys_descr: str, sys_name: str,
             got: dict[str, object]) -> dict[str, str]:
    """Asset fields from the profile's identity: the scalar OIDs read (`got`: {oid: value}),
    else the first sysDescr / sysName pattern that matches; empty and sentinel-like values
    ("", "None", "Unknown") left out."""
    if profile is None or profile.identity is None:
        return {}
    ident = profile.identity
    out: dict[str, str] = {}
    for k, oid in ident.oids.items():
        v = got.get(oid)
        if v is not None and str(v).strip() not in ("", "None", "Unknown", "Unknow"):
            out[k] = str(v).strip()
    for text, patterns in ((sys_descr, ident.sysdescr), (sys_name, ident.sysname)):
        for p in patterns:
            m = re.search(p, text)
            if m is None:
                continue
            for k, v in m.groupdict().items():
                key = "software_rev" if k == "version" else k
                if v and key in ASSET_FIELDS:
                    out.setdefault(key, v.strip())
            break
    if ident.vendor:
        out.setdefault("vendor", ident.vendor)
    return out
