"""Configuration problems, gathered and reported all at once.

A user who fixes one typo should not have to run the tool again to learn of the
next: loaders collect every problem they find and raise one ConfigError.

Every YAML file the agent reads (inventory, secrets, config, rules, profiles, playbooks,
report wording) goes through parse_yaml / load_yaml_file, which refuse what no configuration
needs and a hostile file uses: a document over MAX_YAML_BYTES, aliases that expand it by more
than MAX_ALIAS_EXPANSION nodes ("billion laughs"), recursive aliases, and duplicate keys
(which YAML loaders otherwise resolve silently, last one wins).
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_YAML_BYTES = 32 * 1024 * 1024
# What aliases (and `<<` merges) may add to a document, in nodes, a scalar counting one more per
# 64 characters: generous for anchors shared by thousands of devices, far below what hurts.
MAX_ALIAS_EXPANSION = 1_000_000
MAX_PRINTED_PROBLEMS = 50
_MERGE = "tag:yaml.org,2002:merge"
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def shorten(value: Any, limit: int = 80) -> str:
    """repr(value) of about `limit` characters: a value echoed into a message stays readable
    however large the file made it ('abc…' (30,000,000 characters))."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = _REPR.repr(value)
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "…"


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class YamlProblems(yaml.MarkedYAMLError):
    """What the guarded loader refused, each with where (the first is the exception's mark)."""

    def __init__(self, found: list[tuple[Mark | None, str]]) -> None:
        super().__init__(problem=found[0][1], problem_mark=found[0][0])
        self.found = found


_construct_object = yaml.constructor.BaseConstructor.construct_object


class _Guarded:
    """Mixed into a SafeLoader (libyaml's or PyYAML's): counts what aliases and merges add,
    refuses recursive ones, and notes duplicate keys with both lines. A document without
    aliases pays one membership test per node and one set per mapping."""

    constructed_objects: dict[Node, Any]

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self._expanded = 0
        self._sizes: dict[Node, int] = {}
        self._flattened: set[Node] = set()
        self._flattening: set[Node] = set()
        self._found: list[tuple[Mark | None, str]] = []

    def get_single_data(self) -> Any:
        data = super().get_single_data()  # type: ignore[misc]
        if self._found:
            raise YamlProblems(self._found)
        return data

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:  # the same node again: an alias, or a merged key
            self._charge(self._size(node), node)
        return _construct_object(self, node, deep)

    def flatten_mapping(self, node: MappingNode) -> None:
        if node not in self._flattened:  # first sight: only its own keys are in node.value yet
            self._flattened.add(node)
            try:  # the common case, fast: keys of distinct text, no `<<`
                keys = {k.value for k, _v in node.value}
                plain = len(keys) == len(node.value) and "<<" not in keys
            except TypeError:  # a key that is itself a mapping or a list: look closer
                plain = False
            if not plain:
                self._duplicates(node)
                self._merges(node)
        super().flatten_mapping(node)  # type: ignore[misc]

    def _merges(self, node: MappingNode) -> None:
        """Charge what `<<` brings in, flattening the merged mappings first (as PyYAML will)."""
        merged = 0
        self._flattening.add(node)
        try:
            for key_node, value_node in node.value:
                if key_node.tag != _MERGE:
                    continue
                subs = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for sub in subs:
                    if sub in self._flattening:
                        raise YamlProblems([(sub.start_mark, "a mapping merges itself ('<<' through "
                                                             "its own alias)")])
                    if isinstance(sub, MappingNode):
                        self.flatten_mapping(sub)
                        merged += len(sub.value)
        finally:
            self._flattening.discard(node)
        if merged:
            self._charge(merged, node)

    def _duplicates(self, node: MappingNode) -> None:
        seen: dict[tuple[str, str], Node] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                continue
            key = (key_node.tag, key_node.value)
            first = seen.setdefault(key, key_node)
            if first is not key_node:
                self._found.append((key_node.start_mark, f"duplicate key {shorten(key_node.value)} "
                                    f"(first at line {first.start_mark.line + 1}); a key may appear once "
                                    "in a mapping"))

    def _charge(self, nodes: int, node: Node) -> None:
        self._expanded += nodes
        if self._expanded > MAX_ALIAS_EXPANSION:
            raise YamlProblems([(node.start_mark, f"aliases expand this document by more than "
                                 f"{MAX_ALIAS_EXPANSION:,} nodes (an alias bomb?); refused")])

    def _size(self, root: Node) -> int:
        """Nodes under `root` with every alias expanded (memoised; a cycle is refused)."""
        sizes = self._sizes
        if root in sizes:
            return sizes[root]
        active: set[Node] = set()
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                active.discard(node)
                if isinstance(node, ScalarNode):
                    sizes[node] = 1 + len(node.value) // 64
                else:
                    sizes[node] = 1 + sum(sizes[c] for c in _children(node))
                continue
            if node in sizes:
                continue
            if node in active:
                raise YamlProblems([(node.start_mark, "a recursive alias (a node that contains itself)")])
            active.add(node)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node))
        return sizes[root]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class GuardedSafeLoader(_Guarded, yaml.SafeLoader):
    """The pure-Python parser, guarded (the fallback, and the benchmark's comparison)."""


class GuardedCSafeLoader(_Guarded, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML was built with it (Debian's and the wheels are): the same
    documents and error marks, an inventory loads ~4× faster (bench/bench_inventory.py)."""


PURE_LOADER: type[yaml.SafeLoader] = GuardedSafeLoader
_LOADER: type[yaml.SafeLoader] = GuardedCSafeLoader


def parse_yaml(text: str) -> Any:
    """yaml.safe_load, guarded (see the module's docstring); raises yaml.YAMLError."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlProblems([(None, f"larger than {MAX_YAML_BYTES // 2**20} MiB; no configuration "
                             "file needs that much (truncated or the wrong file?)")])
    return yaml.load(text, Loader=_LOADER)


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    place: str
    expected: str

    def __post_init__(self) -> None:
        # A message echoes what the file said: bound it however large that was.
        object.__setattr__(self, "place", clip(self.place, 200))
        object.__setattr__(self, "expected", clip(self.expected, 1000))

    def __str__(self) -> str:
        where = f"{self.file}: {self.place}" if self.place else self.file
        return f"{where}: {self.expected}"


class ConfigError(Exception):
    """One or more problems in a file the user wrote. Exit code 2, no traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self, limit: int = MAX_PRINTED_PROBLEMS) -> list[str]:
        """The first `limit` problems, then how many more there are: a file with 300,000 unknown
        keys gets a screenful, not 33 MB."""
        shown = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"… and {len(self.problems) - limit:,} more problems")
        return shown


def place(loc: tuple[Any, ...] | list[Any]) -> str:
    """`('devices', 3, 'address')` → `devices[3].address`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = clip(str(part), 80)
            out += f".{text}" if out else text
    return out


def pydantic_problems(file: str, prefix: tuple[Any, ...], exc: Any) -> list[Problem]:
    """Turn a pydantic ValidationError into Problems, one per error."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
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


def read_config_text(path: Path, what: str) -> str:
    """A configuration file's text, at most MAX_YAML_BYTES of it, or ConfigError."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            raise ConfigError([Problem(str(path), "", f"{what} is larger than {MAX_YAML_BYTES // 2**20} "
                                       "MiB; no configuration file needs that much (the wrong file?)")])
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "", f"{what} not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(str(path), "", f"{what} expected, this is a directory")]) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ConfigError([Problem(str(path), "", f"{what} unreadable: {reason}")]) from None


def yaml_problems(file: str, e: yaml.YAMLError) -> list[Problem]:
    """A YAML error as Problems: each with its line and column when the parser knows them."""
    if isinstance(e, YamlProblems):
        return [Problem(file, _where(mark), detail) for mark, detail in e.found]
    detail = getattr(e, "problem", None) or "syntax error"
    return [Problem(file, _where(getattr(e, "problem_mark", None)), f"not valid YAML ({detail})")]


def _where(mark: Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def load_yaml_file(path: Path, what: str) -> Any:
    """Read a YAML file or raise ConfigError naming the file and the line."""
    text = read_config_text(path, what)
    try:
        return parse_yaml(text)
    except yaml.YAMLError as e:
        raise ConfigError(yaml_problems(str(path), e)) from None
