"""Finding playbooks (built-ins from the `playbooks` package, then a user directory) and
binding one to parameters: typed values in, validated steps out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.playbook.model import PHASES, STEP, PlaybookFile, Step
from core.problems import ConfigError, Problem, load_yaml_file, parse_yaml, pydantic_problems, shorten

WHOLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
PART = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Playbook:
    spec: PlaybookFile
    source: str  # "built-in" or the file's path

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Bound:
    """A playbook with its parameters filled in: what a plan is made of."""

    playbook: Playbook
    params: dict[str, Any]
    phases: dict[str, list[Step]]


def _load(text_source: str, raw: Any) -> Playbook:
    if not isinstance(raw, dict):
        raise ConfigError([Problem(text_source, "", "a playbook mapping (name, description, steps…) "
                                                    "expected")])
    try:
        spec = PlaybookFile.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(pydantic_problems(text_source, (), e)) from None
    pb = Playbook(spec, text_source)
    bind(pb, {}, check_only=True)  # every step must validate with the defaults
    return pb


def load_catalog(user_dir: Path | None = None) -> dict[str, Playbook]:
    """Built-ins first; a user playbook of the same name is refused (no silent override)."""

    found: dict[str, Playbook] = {}
    for entry in sorted(resources.files("playbooks").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            pb = _load(f"built-in {entry.name}", parse_yaml(entry.read_text(encoding="utf-8")))
            pb = Playbook(pb.spec, "built-in")
            found[pb.name] = pb
    if user_dir is not None:
        if not user_dir.is_dir():  # a mistyped directory must not quietly mean "no playbooks of mine"
            what = "is not a directory" if user_dir.exists() else "does not exist"
            raise ConfigError([Problem(str(user_dir), "", f"the directory of your playbooks "
                                       f"(--playbooks or $XUNJIAN_PLAYBOOKS) {what}")])
        problems: list[Problem] = []
        for path in sorted(user_dir.glob("*.yaml")):
            try:
                pb = _load(str(path), load_yaml_file(path, "playbook"))
            except ConfigError as e:
                problems += e.problems
                continue
            if pb.name in found:
                problems.append(Problem(str(path), "name", f"'{pb.name}' is already defined "
                                                           f"({found[pb.name].source}); choose another name"))
                continue
            found[pb.name] = pb
        if problems:
            raise ConfigError(problems)
    return found


def get(catalog: dict[str, Playbook], name: str) -> Playbook:
    if name not in catalog:
        known = ", ".join(sorted(catalog))
        raise ConfigError([Problem("playbook", name, f"no such playbook; known: {known}")])
    return catalog[name]


def bind(pb: Playbook, given: dict[str, str], check_only: bool = False) -> Bound:
    """Typed parameter values and validated steps; every problem at once as a ConfigError."""
    spec, where = pb.spec, f"playbook {pb.name}"
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in given:
        if key not in spec.parameters:
            problems.append(Problem(where, f"--param {key}", f"unknown parameter; known: "
                                                             f"{', '.join(spec.parameters) or 'none'}"))
    for key, p in spec.parameters.items():
        raw = given.get(key, p.default)
        if raw is None:
            if p.required and not check_only:
                problems.append(Problem(where, f"--param {key}", f"required ({p.type}): {p.description}"))
            values[key] = _placeholder_value(p.type) if check_only and p.required else None
            continue
        try:
            values[key] = p.coerce(raw)
        except ValueError as e:
            problems.append(Problem(where, f"--param {key}", str(e)))
    phases: dict[str, list[Step]] = {}
    if not problems:
        for phase in PHASES:
            phases[phase] = []
            for i, raw_step in enumerate(getattr(spec, phase)):
                try:
                    filled = _fill(raw_step, values)
                    phases[phase].append(STEP.validate_python(filled))
                except ValueError as e:  # ValidationError is a ValueError
                    if isinstance(e, ValidationError):
                        problems += pydantic_problems(where if not check_only else pb.source,
                                                      (phase, i), e)
                    else:
                        problems.append(Problem(pb.source, f"{phase}[{i}]", str(e)))
        ids = [s.id for steps in phases.values() for s in steps if s.id]
        for phase, steps in phases.items():
            for i, s in enumerate(steps):
                ref = getattr(s, "files", None)
                if ref is not None and ref not in ids:
                    problems.append(Problem(pb.source, f"{phase}[{i}].files",
                                            f"no step with id {shorten(ref)}"))
    if problems:
        raise ConfigError(problems)
    return Bound(pb, values, phases)


def _placeholder_value(kind: str) -> Any:
    return {"int": 1, "size": 1, "bool": False, "list": [], "path": "/x"}.get(kind, "x")


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            filled = _fill(v, values)
            # "{roots}" inside a list splices the parameter's list in
            if isinstance(v, str) and WHOLE.match(v) and isinstance(filled, list):
                out += filled
            else:
                out.append(filled)
        return out
    if isinstance(value, str):
        m = WHOLE.match(value)
        if m:
            if m.group(1) not in values:
                raise ValueError(f"unknown parameter {{{m.group(1)}}}")
            return values[m.group(1)]

        def one(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise ValueError(f"unknown parameter {{{m.group(1)}}}")
            return "" if values[m.group(1)] is None else str(values[m.group(1)])

        return PART.sub(one, value)
    return value
