"""Configuration problems, gathered and reported all at once.

A user who fixes one typo should not have to run the tool again to learn of the
next: loaders collect every problem they find and raise one ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (Debian's and the wheels are): the same
# documents and error marks, an inventory loads ~4× faster (bench/bench_inventory.py).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """yaml.safe_load with libyaml's parser when there is one; raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LOADER)


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    place: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.place}" if self.place else self.file
        return f"{where}: {self.expected}"


class ConfigError(Exception):
    """One or more problems in a file the user wrote. Exit code 2, no traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def place(loc: tuple[Any, ...] | list[Any]) -> str:
    """`('devices', 3, 'address')` → `devices[3].address`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_problems(file: str, prefix: tuple[Any, ...], exc: Any) -> list[Problem]:
    """Turn a pydantic ValidationError into Problems, one per error."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the README for the keys allowed here)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")  # our validators' own words
        problems.append(Problem(file, place(prefix + loc), msg))
    return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the tried type's name to loc for unions ("function-after[...]", "str")
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float"})


def load_yaml_file(path: Path, what: str) -> Any:
    """Read a YAML file or raise ConfigError naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "", f"{what} not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ConfigError([Problem(str(path), "", f"{what} unreadable: {reason}")]) from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = getattr(e, "problem", None) or "syntax error"
        raise ConfigError([Problem(str(path), where, f"not valid YAML ({detail})")]) from None
