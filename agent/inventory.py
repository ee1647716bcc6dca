"""Load and validate inventory.yaml: defaults ← groups ← device, secrets by reference.

Every problem in the file is reported at once, each naming the file, the place
(`devices[3].address`) and what was expected. Inherited values that are wrong are
reported on the device, with the layer they came from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agent.connections.endpoint import SshSettings
from agent.remediation import Remediation
from agent.secrets import REF_HELP, Secrets, is_reference
from collectors import COLLECTORS
from collectors.contract import settings_required
from core.problems import ConfigError, Problem, clip, load_yaml_file, place, pydantic_problems, shorten

KINDS = (
    "server", "switch", "router", "firewall", "encoder", "bearer",
    "storage", "ups", "camera", "appliance", "service", "other",
)
SECRET_FIELDS = {("ssh", "password"), ("ssh", "key_passphrase")}
HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Threshold(_Strict):
    """Per group/device override of a rule's levels (the rule's other fields stay)."""

    warn: float | None = None
    crit: float | None = None
    clear_warn: float | None = None  # hysteresis: see the rule's `clear`
    clear_crit: float | None = None


class SshLayer(_Strict):
    user: str | None = None
    password: str | None = None
    key_file: str | None = None
    key_passphrase: str | None = None
    known_hosts: str | None = None
    host_key_policy: Literal["reject", "accept-new"] | None = None
    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    command_timeout: float | None = Field(default=None, gt=0, le=3600)
    max_sessions: int | None = Field(default=None, ge=1, le=16)  # at once to this device
    idle_ttl: float | None = Field(default=None, ge=0, le=3600)  # keep an idle connection open

    @field_validator("password", "key_passphrase")
    @classmethod
    def _reference(cls, v: str | None) -> str | None:
        if v is not None and not is_reference(v):
            raise ValueError(REF_HELP)
        return v


class Layer(_Strict):
    """What defaults, a group or a device may set. Everything optional here."""

    kind: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    collectors: list[str] | None = None
    interval: int | None = Field(default=None, ge=1, le=86400)
    timeout: float | None = Field(default=None, gt=0, le=3600)
    ssh: SshLayer | None = None
    labels: dict[str, str] | None = None
    thresholds: dict[str, Threshold] | None = None
    # Per-collector settings, validated by each collector's own model in _effective.
    settings: dict[str, dict[str, Any]] | None = None
    # What playbooks may touch (agent.remediation); merged like the rest, validated in _effective.
    remediation: dict[str, Any] | None = None

    @field_validator("settings")
    @classmethod
    def _settings(cls, v: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        for name in v or {}:
            if name not in COLLECTORS:
                raise ValueError(f"settings for unknown collector {shorten(name)}; known: "
                                 f"{', '.join(sorted(COLLECTORS))}")
        return v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        if v is not None and v not in KINDS:
            raise ValueError(f"one of {', '.join(KINDS)}")
        return v

    @field_validator("collectors")
    @classmethod
    def _collectors(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if name not in COLLECTORS:
                raise ValueError(f"unknown collector {shorten(name)}; known: {', '.join(sorted(COLLECTORS))}")
        return v


class DeviceEntry(Layer):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    address: str | None = None
    groups: list[str] = []

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ipaddress.ip_address(v)
        except ValueError:
            if not HOSTNAME.match(v):
                raise ValueError("an IPv4/IPv6 address or a host name") from None
        return v


class InventoryFile(_Strict):
    secrets_file: str | None = None
    defaults: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    devices: list[dict[str, Any]] = []


# `labels.criticality`: the fault level (1 most severe) a device outage opens its case at.
CRITICALITY = {"1": 1, "2": 2, "3": 3, "major": 1, "main": 2, "minor": 3}


def criticality_level(labels: dict[str, str]) -> int | None:
    """The level of `labels.criticality` (validated at load), None when not given."""
    return CRITICALITY.get(str(labels.get("criticality", "")).strip().lower())


@dataclass(frozen=True, slots=True)
class Device:
    """A device with its effective settings (defaults ← groups ← device)."""

    name: str
    kind: str
    address: str
    port: int
    groups: tuple[str, ...]
    collectors: tuple[str, ...]
    interval: int
    timeout: float
    ssh: SshSettings
    labels: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # collector -> validated model
    remediation: Remediation = field(default_factory=Remediation)
    # The `ssh:` and `settings:` sections as loaded (secrets as references): what a job sent
    # to another process carries (agent/jobs.py).
    source: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def public(self) -> dict[str, Any]:
        """Effective settings for people and JSON; secrets shown as ***."""
        ssh = {
            "user": self.ssh.user,
            "password": "***" if self.ssh.password else None,
            "key_file": str(self.ssh.key_file) if self.ssh.key_file else None,
            "key_passphrase": "***" if self.ssh.key_passphrase else None,
            "known_hosts": str(self.ssh.known_hosts),
            "host_key_policy": self.ssh.host_key_policy,
            "connect_timeout": self.ssh.connect_timeout,
            "command_timeout": self.ssh.command_timeout,
            "max_sessions": self.ssh.max_sessions,
            "idle_ttl": self.ssh.idle_ttl,
        }
        return {
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "port": self.port,
            "groups": list(self.groups),
            "collectors": list(self.collectors),
            "interval": self.interval,
            "timeout": self.timeout,
            "ssh": ssh,
            "labels": dict(self.labels),
            "thresholds": {k: v.model_dump(exclude_none=True) for k, v in self.thresholds.items()},
            "settings": {k: _public_settings(v) for k, v in self.settings.items()},
            "remediation": self.remediation.model_dump(exclude_defaults=True),
        }


@dataclass(frozen=True, slots=True)
class Inventory:
    path: Path
    devices: dict[str, Device]

    def select(self, names: list[str] | None = None, groups: list[str] | None = None) -> list[Device]:
        """Devices by name and/or group; unknown names are a ConfigError."""
        unknown = [n for n in names or [] if n not in self.devices]
        known_groups = {g for d in self.devices.values() for g in d.groups}
        unknown += [f"group {g}" for g in groups or [] if g not in known_groups]
        if unknown:
            raise ConfigError([Problem(str(self.path), "", f"no such device or group: {', '.join(unknown)}")])
        if not names and not groups:
            return list(self.devices.values())
        return [d for d in self.devices.values()
                if d.name in (names or []) or set(d.groups) & set(groups or [])]


EMPTY = ("no devices: an empty or truncated file? (--allow-empty accepts an inventory without "
         "devices)")


def require_devices(inv: Inventory) -> None:
    """Refuse an inventory without devices where it would pass silently: a truncated file must
    not make a green inspection or a daemon that watches nothing."""
    if not inv.devices:
        raise ConfigError([Problem(str(inv.path), "devices", EMPTY)])


BUILTIN_DEFAULTS: dict[str, Any] = {
    "kind": "server",
    "port": 22,
    "collectors": ["linux"],
    "interval": 60,
    "timeout": 60.0,
    "ssh": {"host_key_policy": "reject", "connect_timeout": 10.0, "command_timeout": 30.0, "max_sessions": 2,
            "idle_ttl": 10.0, "known_hosts": "~/.ssh/known_hosts"},
    "labels": {},
    "thresholds": {},
}


def load_inventory(path: Path, secrets_file: Path | None = None,
                   env: dict[str, str] | None = None) -> Inventory:
    path = Path(path)
    raw = load_yaml_file(path, "inventory file")
    file = str(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([Problem(file, "", "a mapping with defaults, groups and devices expected")])
    try:
        top = InventoryFile.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(pydantic_problems(file, (), e)) from None

    problems: list[Problem] = []
    base = path.parent
    sfile = secrets_file or (_resolve_path(base, top.secrets_file) if top.secrets_file else None)
    secrets = Secrets(sfile, env)
    if secrets.load_problem:
        problems.append(secrets.load_problem)

    layers: dict[str, dict[str, Any]] = {}
    for name, data in [("defaults", top.defaults)] + [(f"groups.{g}", d) for g, d in top.groups.items()]:
        if not _check_layer(file, name, data, Layer, problems):
            data = {}
        layers[name] = data or {}

    devices: dict[str, Device] = {}
    seen: dict[str, int] = {}
    parents: list[tuple[int, str]] = []
    for i, entry in enumerate(top.devices):
        where = f"devices[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(file, where, "a mapping with name, kind, address… expected"))
            continue
        name = entry.get("name")
        if isinstance(name, str) and name in seen:
            first = f"devices[{seen[name]}]"
            problems.append(Problem(file, f"{where}.name",
                                    f"duplicate device name {shorten(name)} (first at {first})"))
            continue
        if isinstance(name, str):
            seen[name] = i
        if not _check_layer(file, where, entry, DeviceEntry, problems):
            continue
        dev = DeviceEntry.model_validate(entry)
        for j, g in enumerate(dev.groups):
            if f"groups.{g}" not in layers:
                known = ", ".join(sorted(top.groups)) or "none defined"
                problems.append(Problem(file, f"{where}.groups[{j}]",
                                        f"unknown group {shorten(g)} (groups: {clip(known, 200)})"))
        stack = [("built-in defaults", BUILTIN_DEFAULTS), ("defaults", layers["defaults"])]
        stack += [(f"groups.{g}", layers.get(f"groups.{g}", {})) for g in dev.groups]
        own = {k: v for k, v in entry.items() if k not in ("name", "address", "groups")}
        stack.append((where, own))
        merged, origin = _merge(stack)
        device = _effective(file, where, dev, merged, origin, base, secrets, problems)
        if device is not None:
            devices[dev.name] = device
            if device.labels.get("parent"):
                parents.append((i, device.labels["parent"]))
            if "criticality" in device.labels and criticality_level(device.labels) is None:
                problems.append(Problem(file, f"{where}.labels.criticality", (
                    f"'{device.labels['criticality']}' is not a criticality: 1, 2 or 3 (or major, "
                    "main, minor), the level a device outage opens its case at")))

    for i, parent in parents:
        if parent not in seen:
            problems.append(Problem(file, f"devices[{i}].labels.parent", f"unknown device {shorten(parent)}"))
    if problems:
        raise ConfigError(problems)
    return Inventory(path=path, devices=devices)


def _check_layer(file: str, where: str, data: Any, model: type[BaseModel],
                 problems: list[Problem]) -> bool:
    if not isinstance(data, dict):
        problems.append(Problem(file, where, "a mapping expected"))
        return False
    try:
        model.model_validate(data)
    except ValidationError as e:
        problems.extend(pydantic_problems(file, tuple(_split(where)), e))
        return False
    return True


def _split(where: str) -> list[Any]:
    out: list[Any] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


def _merge(stack: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Deep-merge layers in order; remember which layer set each dotted key last."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def into(dst: dict[str, Any], src: dict[str, Any], prefix: str, layer: str) -> None:
        for k, v in src.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict) and isinstance(dst.get(k), dict):
                into(dst[k], v, f"{key}.", layer)
            else:
                dst[k] = _copy(v)
                origin[key] = layer
                if isinstance(v, dict):
                    for sub in v:
                        origin[f"{key}.{sub}"] = layer

    for layer, data in stack:
        into(merged, data, "", layer)
    return merged, origin


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return list(v)
    return v


def _effective(file: str, where: str, dev: DeviceEntry, merged: dict[str, Any],
               origin: dict[str, str], base: Path, secrets: Secrets,
               problems: list[Problem]) -> Device | None:
    before = len(problems)

    def report(key: str, expected: str) -> None:
        src = origin.get(key, where)
        note = "" if src == where else f" (inherited from {src})"
        problems.append(Problem(file, f"{where}.{key}", expected + note))

    ssh = merged.get("ssh", {})
    collectors = merged["collectors"]
    remote = [c for c in collectors if COLLECTORS[c].transport != "local"]
    if dev.address is None and remote:
        problems.append(Problem(file, f"{where}.address",
                                f"required for collectors {', '.join(remote)}"))
    over_ssh = [c for c in collectors if COLLECTORS[c].transport == "ssh"]
    if over_ssh and not ssh.get("user"):
        report("ssh.user", f"required for the {', '.join(over_ssh)} collector"
               f"{'s' if len(over_ssh) > 1 else ''}")
    ssh_settings = build_ssh(ssh, base, secrets, report)
    settings = collector_settings(merged.get("settings") or {}, report, secrets)
    for c in collectors:  # a section with required fields is found missing now, not every cycle
        model = COLLECTORS[c].settings_model()
        if c not in (merged.get("settings") or {}) and settings_required(model):
            assert model is not None
            needed = ", ".join(k for k, f in model.model_fields.items() if f.is_required())
            report(f"settings.{c}", f"required for the {c} collector ({needed})")
    remediation = _remediation(merged.get("remediation") or {}, report)
    if len(problems) > before:
        return None
    return Device(
        name=dev.name,
        kind=merged["kind"],
        address=dev.address or "127.0.0.1",
        port=merged["port"],
        groups=tuple(dev.groups),
        collectors=tuple(collectors),
        interval=merged["interval"],
        timeout=float(merged["timeout"]),
        ssh=ssh_settings,
        labels=dict(merged.get("labels") or {}),
        thresholds={k: Threshold.model_validate(v) for k, v in (merged.get("thresholds") or {}).items()},
        settings=settings,
        remediation=remediation or Remediation(),
        source={"ssh": _source_ssh(ssh, base), "settings": _copy(merged.get("settings") or {})},
    )


def build_ssh(ssh: dict[str, Any], base: Path, secrets: Secrets,
              report: Callable[[str, str], None]) -> SshSettings:
    """The SSH connection settings of an effective `ssh:` section, its secrets resolved."""
    resolved: dict[str, SecretStr | None] = {}
    for section, key in SECRET_FIELDS:
        ref = ssh.get(key) if section == "ssh" else None
        resolved[key] = None
        if ref is not None:
            value, err = secrets.resolve(ref)
            if err:
                report(f"{section}.{key}", err)
            resolved[key] = value
    return SshSettings(
        user=ssh.get("user"),
        password=resolved["password"],
        key_file=_resolve_path(base, ssh["key_file"]) if ssh.get("key_file") else None,
        key_passphrase=resolved["key_passphrase"],
        known_hosts=_resolve_path(base, ssh["known_hosts"]),
        host_key_policy=ssh["host_key_policy"],
        connect_timeout=float(ssh["connect_timeout"]),
        command_timeout=float(ssh["command_timeout"]),
        max_sessions=int(ssh["max_sessions"]),
        idle_ttl=float(ssh["idle_ttl"]),
    )


def _source_ssh(ssh: dict[str, Any], base: Path) -> dict[str, Any]:
    """The `ssh:` section as data for a job: secrets stay references, paths absolute."""
    out = _copy(ssh)
    for key in ("key_file", "known_hosts"):
        if out.get(key):
            out[key] = str(_resolve_path(base, out[key]))
    return out


def _remediation(raw: dict[str, Any], report: Callable[[str, str], None]) -> Remediation | None:
    try:
        return Remediation.model_validate(raw)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (see the README, section Playbooks)"
            report(f"remediation.{loc}" if loc else "remediation", msg)
        return None


def collector_settings(raw: dict[str, Any], report: Callable[[str, str], None],
                        secrets: Secrets) -> dict[str, Any]:
    """Validate `settings.<collector>` with the collector's model; resolve its secrets."""
    out: dict[str, Any] = {}
    for name, data in raw.items():
        model = COLLECTORS[name].settings_model()
        if model is None:
            report(f"settings.{name}", f"the {name} collector takes no settings")
            continue
        data = dict(data or {})
        bad = False
        for key, info in model.model_fields.items():
            if key not in data or "SecretStr" not in str(info.annotation):
                continue
            if not isinstance(data[key], str) or not is_reference(data[key]):
                report(f"settings.{name}.{key}", REF_HELP)
                bad = True
                continue
            value, err = secrets.resolve(data[key])
            if err:
                report(f"settings.{name}.{key}", err)
                bad = True
            else:
                data[key] = value
        try:
            validated = model.model_validate(data)
        except ValidationError as e:
            for err in e.errors():
                loc = ".".join(str(x) for x in err["loc"])
                report(f"settings.{name}.{loc}" if loc else f"settings.{name}", err["msg"])
            continue
        if not bad:
            out[name] = validated
    return out


def _public_settings(model: BaseModel) -> dict[str, Any]:
    return {k: ("***" if isinstance(v, SecretStr) else v)
            for k, v in model.model_dump(mode="python").items()}


def _resolve_path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


__all__ = ["KINDS", "Device", "Inventory", "SshSettings", "Threshold", "load_inventory", "place",
           "require_devices"]
