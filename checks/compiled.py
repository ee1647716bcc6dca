"""Rules turned into plain, fast objects for evaluation: no pydantic or regex work per sample.

A RuleSet is compiled once (cached on the RuleSet); the rules that apply to a device kind and
its groups are indexed by measurement (cached per kind + groups); a device's threshold
overrides make per-call copies of the few rules they touch.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from checks.durations import parse_duration
from checks.rules import Rule, RuleSet

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3  # core.model.Status values
LABEL = ("ok", "warn", "crit", "unknown")
# Severity order for "worse": ok < warn < unknown < crit (a known critical outranks unknown).
RANK = (0, 1, 3, 2)
BY_RANK = (OK, WARN, UNKNOWN, CRIT)
_STATUS = {"ok": OK, "warn": WARN, "crit": CRIT, "unknown": UNKNOWN}
_GLOB_CHARS = re.compile(r"[*?\[]")


def _predicate(globs: str | list[str]) -> Callable[[str], Any]:
    """Any of the globs matches and none of the "!glob" ones (fnmatch, case-sensitive).

    One C call per tag: a set lookup for exact names, else one regular expression.
    """
    items = [globs] if isinstance(globs, str) else list(globs)
    yes = [g for g in items if not g.startswith("!")]
    no = [g[1:] for g in items if g.startswith("!")]
    if not no and not any(_GLOB_CHARS.search(g) for g in yes):
        return frozenset(yes).__contains__

    def alt(patterns: list[str]) -> str:
        return "|".join(fnmatch.translate(p) if _GLOB_CHARS.search(p) else re.escape(p) + r"\Z"
                        for p in patterns)

    rx = (f"(?!{alt(no)})" if no else "") + (f"(?:{alt(yes)})" if yes else "")
    return re.compile(rx).match


def _num(v: float) -> str:
    return f"{v:g}" if -1e6 < v < 1e6 else f"{v:.0f}"


class CompiledRule:
    __slots__ = (
        "above",
        "beyond",
        "clear_crit",
        "clear_warn",
        "crit",
        "detail",
        "expected",
        "field",
        "flap_k",
        "flap_window",
        "for_n",
        "for_s",
        "forget",
        "groups",
        "held",
        "instance_tag",
        "kinds",
        "levels",
        "matchers",
        "measurement",
        "missing_n",
        "name",
        "ok",
        "ok_big",
        "ok_inst",
        "ok_inst_big",
        "other",
        "rule",
        "selector",
        "sign",
        "states",
        "subject",
        "threshold",
        "unit",
        "warn",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.name
        self.measurement = rule.measurement
        self.field = rule.field
        self.instance_tag = rule.instance_tag
        self.unit = rule.unit
        self.above = rule.direction == "above"
        self.sign = ">=" if self.above else "<="
        self.states = ({k: _STATUS[v] for k, v in rule.states.items()}
                       if rule.states is not None else None)
        self.other = _STATUS[rule.other]
        self.expected = [k for k, v in (rule.states or {}).items() if v == "ok"]
        lv = rule.levels
        self.levels = (None, lv.warn, lv.crit, lv.unknown)  # indexed by status
        self.for_n = rule.for_samples
        self.for_s = rule.for_seconds
        self.flap_k = rule.flapping.changes if rule.flapping else 0
        self.flap_window = parse_duration(rule.flapping.window) if rule.flapping else 0.0
        self.missing_n = rule.missing.intervals
        self.forget = parse_duration(rule.missing.forget)
        self.matchers = tuple((tag, _predicate(g)) for tag, g in rule.match.items())
        self.kinds = frozenset(rule.kinds)
        self.groups = frozenset(rule.groups)
        self.subject = rule.subject or rule.description or rule.name
        self.detail = rule.detail
        # An OK verdict's message, formatted once per verdict: %g is _num's f"{v:g}" (the same
        # C formatting), %.0f its form for |v| ≥ 1e6; the subject and unit are escaped for %.
        subject, unit = self.subject.replace("%", "%%"), self.unit.replace("%", "%%")
        self.ok, self.ok_big = f"{subject}: %g{unit}", f"{subject}: %.0f{unit}"
        self.ok_inst, self.ok_inst_big = f"{subject} %s: %g{unit}", f"{subject} %s: %.0f{unit}"
        sel = [rule.measurement, rule.field, rule.instance_tag, sorted(rule.match.items())]
        self.selector = hashlib.sha256(repr(sel).encode()).hexdigest()[:12]
        clear = rule.clear
        self._set(rule.warn, rule.crit, clear.warn if clear else None, clear.crit if clear else None)

    def _set(self, warn: float | None, crit: float | None, clear_warn: float | None,
             clear_crit: float | None) -> None:
        self.warn, self.crit = warn, crit
        self.clear_warn = self._clear(warn, clear_warn)
        self.clear_crit = self._clear(crit, clear_crit)
        self.threshold = ", ".join(f"{k} {self.sign} {_num(t)}{self.unit}"
                                   for k, t in (("warn", warn), ("crit", crit)) if t is not None)
        if self.states is not None:
            self.threshold = f"expected {' or '.join(self.expected)}" if self.expected else ""
        # a warn/crit verdict's note, indexed by status: past the threshold, or held by the
        # clear level (hysteresis)
        side = "below" if self.above else "above"
        self.beyond = (None, *(None if t is None else f"beyond {LABEL[k]} {self.sign} {_num(t)}{self.unit}"
                               for k, t in ((WARN, warn), (CRIT, crit))), None)
        self.held = (None, *(None if c is None else f"{LABEL[k]} held until {side} {_num(c)}{self.unit}"
                             for k, c in ((WARN, self.clear_warn), (CRIT, self.clear_crit))), None)

    def _clear(self, limit: float | None, clear: float | None) -> float | None:
        """The clear level in force: at the threshold when unset or on the wrong side."""
        if limit is None:
            return None
        if clear is None or (clear > limit if self.above else clear < limit):
            return limit
        return clear

    def with_override(self, override: Any) -> CompiledRule:
        """A copy with a device's thresholds (any object with warn/crit[/clear_warn/clear_crit]).

        A new threshold without its own clear level keeps the rule's hysteresis band width.
        """
        new = object.__new__(CompiledRule)
        for slot in CompiledRule.__slots__:
            setattr(new, slot, getattr(self, slot))
        rule = self.rule
        warn, crit = getattr(override, "warn", None), getattr(override, "crit", None)
        cw, cc = getattr(override, "clear_warn", None), getattr(override, "clear_crit", None)
        out = []
        for limit, clear, base, base_clear in ((warn, cw, rule.warn, self.clear_warn),
                                               (crit, cc, rule.crit, self.clear_crit)):
            if limit is None:
                limit, clear = base, clear if clear is not None else base_clear
            elif clear is None and base is not None and base_clear is not None:
                clear = limit - (base - base_clear)
            out.append((limit, clear))
        new._set(out[0][0], out[1][0], out[0][1], out[1][1])
        return new

    def applies(self, kind: str | None, groups: frozenset[str] | None) -> bool:
        if self.kinds and kind is not None and kind not in self.kinds:
            return False
        return not (self.groups and groups is not None and not (self.groups & groups))

    def selects(self, tags: Mapping[str, str]) -> bool:
        for tag, pred in self.matchers:  # noqa: SIM110 (a loop is faster than all() here)
            if not pred(tags.get(tag, "")):
                return False
        return True

    def judge(self, value: float, held: int) -> int:
        """The status of a number, with hysteresis around the `held` status."""
        crit, warn = self.crit, self.warn
        if self.above:
            if crit is not None and (value >= crit or (held == CRIT and value >= self.clear_crit)):
                return CRIT
            if warn is not None and (value >= warn or (
                    (held in (WARN, CRIT)) and value >= self.clear_warn)):
                return WARN
            return OK
        if crit is not None and (value <= crit or (held == CRIT and value <= self.clear_crit)):
            return CRIT
        if warn is not None and (value <= warn or (
                (held in (WARN, CRIT)) and value <= self.clear_warn)):
            return WARN
        return OK

    def judge_text(self, value: str) -> int:
        states = self.states
        return states.get(value, self.other) if states is not None else self.other


class Compiled:
    """A RuleSet's rules, compiled, and per-device indexes by measurement."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = [CompiledRule(r) for r in ruleset.rules if r.enabled]
        self.by_name = {r.name: r for r in self.rules}
        self._index: dict[tuple[str | None, frozenset[str] | None], dict[str, list[CompiledRule]]] = {}
        self._names: dict[tuple[str | None, frozenset[str] | None], dict[str, CompiledRule]] = {}

    def index(self, kind: str | None, groups: frozenset[str] | None) -> dict[str, list[CompiledRule]]:
        key = (kind, groups)
        idx = self._index.get(key)
        if idx is None:
            idx = {}
            for r in self.rules:
                if r.applies(kind, groups):
                    idx.setdefault(r.measurement, []).append(r)
            self._index[key] = idx
        return idx

    def by_name_for(self, kind: str | None, groups: frozenset[str] | None) -> dict[str, CompiledRule]:
        """The rules of index(kind, groups) by name (cached likewise)."""
        key = (kind, groups)
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = {r.name: r for rules in self.index(kind, groups).values()
                                        for r in rules}
        return names


def compiled(ruleset: RuleSet) -> Compiled:
    c = ruleset._compiled
    if c is None:
        c = ruleset._compiled = Compiled(ruleset)
    return c


def with_overrides(index: dict[str, list[CompiledRule]],
                   overrides: Mapping[str, Any] | None) -> dict[str, list[CompiledRule]]:
    """The index with the device's overrides applied (a copy only if one applies)."""
    if not overrides:
        return index
    out = None
    for m, rules in index.items():
        if any(r.name in overrides for r in rules):
            if out is None:
                out = dict(index)
            out[m] = [r.with_override(overrides[r.name]) if r.name in overrides else r
                      for r in rules]
    return out if out is not None else index
