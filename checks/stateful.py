"""Stateful rule evaluation: samples + previous state in → verdicts + new state out.

Pure: no I/O, no clock (`now` is passed in); the input state is never mutated. The state is
JSON-serialisable and belongs to one device + collector; the caller stores it between cycles.

State shape (version 1)::

    {"v": 1,
     "sel": {rule: selector-hash},            # a changed selector drops unseen series at once
     "series": {rule: {instance: {
         "st": 1,        "since": 1.8e9,      # confirmed status (after for:, with hysteresis), since
         "out": 1,       "os": 1.8e9,         # reported status (flapping holds the worst), since
         "seen": 1.8e9,                       # `now` of the cycle that last had a sample
         "p": [[n, t] | null, ×3],            # for: streaks of ≥warn, ≥unknown, ≥crit (n samples since t)
         "fc": [[t, from, to], …], "fl": true,  # flapping: status changes in the window; flapping now
         "ms": 1.8e9}}}}                      # missing since (UNKNOWN "not collected" reported)

Statuses are core.model.Status values (0 ok, 1 warn, 2 crit, 3 unknown).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from checks.compiled import (
    BY_RANK,
    CRIT,
    LABEL,
    OK,
    RANK,
    UNKNOWN,
    WARN,
    CompiledRule,
    compiled,
    with_overrides,
)
from checks.detail import render
from checks.durations import format_duration
from checks.rules import RuleSet
from core.model import Sample, Status, Verdict

VERSION = 1
_STATUS = (Status.OK, Status.WARN, Status.CRIT, Status.UNKNOWN)
_CHECK = attrgetter("check")


_MESSAGE = Verdict.__dict__["message"]  # the slot under Verdict.message
_FIELDS = attrgetter(*(f.name for f in fields(Verdict)))
_new = object.__new__


class OkVerdict(Verdict):
    """An OK verdict whose message is formatted when it is first read.

    Most verdicts are OK and nobody reads their text (the daemon stores it only for a case or
    a recorded inspection), while formatting the number is a tenth of the evaluator's time.
    Otherwise a Verdict like any other: equal to one with the same fields, the same repr.
    """

    __slots__ = ("_args", "_fmt")
    __qualname__ = "Verdict"

    @property  # type: ignore[override]
    def message(self) -> str:
        fmt = self._fmt
        if fmt is not None:
            _MESSAGE.__set__(self, fmt % self._args)
            self._fmt = None
        return _MESSAGE.__get__(self)  # type: ignore[no-any-return]

    @message.setter
    def message(self, value: str) -> None:
        _MESSAGE.__set__(self, value)
        self._fmt = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Verdict):
            return _FIELDS(self) == _FIELDS(other)  # type: ignore[no-any-return]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Verdict's

    def __reduce__(self) -> tuple[type[Verdict], tuple[Any, ...]]:
        return Verdict, _FIELDS(self)  # pickled and copied as the plain Verdict it equals


def _ok(device: str, cr: CompiledRule, inst: str, number: float, t: float,
        since: float) -> OkVerdict:
    # Built slot by slot, not through Verdict.__init__: it would set `message` through the
    # property above, and one __init__ serving two classes loses CPython's attribute caches.
    v = _new(OkVerdict)
    v.device, v.check, v.status, v.instance, v.value = device, cr.name, Status.OK, inst, number
    v.unit, v.threshold, v.collected_at, v.level, v.flapping, v.since = \
        cr.unit, cr.threshold, t, None, False, since
    v.evidence = ""
    if -1e6 < number < 1e6:
        v._fmt, v._args = (cr.ok_inst, (inst, number)) if inst else (cr.ok, number)
    else:
        v._fmt, v._args = (cr.ok_inst_big, (inst, number)) if inst else (cr.ok_big, number)
    return v


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What rules select on and how often a device's collector runs (seconds; 0: unknown)."""

    name: str
    kind: str = ""
    groups: tuple[str, ...] = ()
    interval: float = 0.0


def evaluate_cycle(samples: Iterable[Sample], device: DeviceInfo, ruleset: RuleSet,
                   state: Mapping[str, Any] | None, now: float, collector: str = "",
                   overrides: Mapping[str, Any] | None = None, collected: bool = True,
                   ) -> tuple[list[Verdict], dict[str, Any]]:
    """One collector cycle on one device: verdicts (one per series sampled, missing or dropped)
    and the new state.

    `state` is what the previous call returned for this device + collector (None or {} at
    first). `overrides` maps rule name → an object with optional warn/crit (and clear_warn/
    clear_crit). `collected=False` (the collection failed; its own verdict says so) keeps
    series from turning UNKNOWN for missing samples, but they are still forgotten in time.
    `collector` names the state's owner; it does not change the result.
    """
    c = compiled(ruleset)
    groups = frozenset(device.groups)
    base = c.index(device.kind, groups)
    index = with_overrides(base, overrides)
    prev_series: Mapping[str, Mapping[str, Any]] = {}
    prev_sel: Mapping[str, str] = {}
    if state and state.get("v") == VERSION:
        prev_series = state.get("series") or {}
        prev_sel = state.get("sel") or {}
    series: dict[str, dict[str, Any]] = {r: dict(insts) for r, insts in prev_series.items()}
    verdicts: list[Verdict] = []
    name = device.name
    status_ok = Status.OK

    # The loop below is the hot path (every sample × every rule that selects it): the common
    # case — a known series, OK before and now, nothing pending — is written out inline;
    # anything else goes through _advance and _verdict.
    for s in samples:
        rules = index.get(s.measurement)
        if rules is None:
            continue
        fields, tags, t = s.fields, s.tags, s.time / 1e9
        for cr in rules:
            value = fields.get(cr.field)
            if value is None or (cr.matchers and not cr.selects(tags)):
                continue
            text = cr.states is not None
            if text:
                value = str(value)
            elif value.__class__ is bool or not isinstance(value, (int, float)):
                continue
            inst = tags.get(cr.instance_tag, "") if cr.instance_tag else ""
            rule_name = cr.name
            insts = series.get(rule_name)
            if insts is None:
                insts = series[rule_name] = {}
            e = insts.get(inst)
            if e is None:
                again = False
                raw = cr.judge_text(value) if text else cr.judge(value, OK)
                if raw == OK and not text:  # a new series, OK: what _advance would make of it
                    insts[inst] = {"st": OK, "since": t, "out": OK, "os": t, "seen": now}
                    v = _ok(name, cr, inst, float(value), t, t)
                else:
                    e = insts[inst] = _advance(cr, None, OK, raw, t, now)
                    v = _verdict(name, cr, inst, value, t, raw, e)
            else:
                again = e["seen"] == now  # sampled earlier in this cycle (or a cycle at the same now)
                held = e["st"]
                if text:
                    raw = cr.judge_text(value)
                elif held == OK and cr.above:  # CompiledRule.judge without hysteresis, inline
                    limit = cr.crit
                    if limit is not None and value >= limit:
                        raw = CRIT
                    else:
                        limit = cr.warn
                        raw = WARN if limit is not None and value >= limit else OK
                else:
                    raw = cr.judge(value, held)
                # nothing new: st, since, out, os, seen only (no for: streak, flapping or
                # missing mark: a streak matters only for a status worse than the one held)
                if raw == held and len(e) == 5 and e["out"] == raw:
                    osince = e["os"]
                    e = insts[inst] = {"st": raw, "since": e["since"], "out": raw, "os": osince,
                                       "seen": now}
                    if raw == OK and not text:
                        number = float(value)
                        v = _new(OkVerdict)
                        v.device = name
                        v.check = rule_name
                        v.status = status_ok
                        v.instance = inst
                        v.value = number
                        v.unit = cr.unit
                        v.threshold = cr.threshold
                        v.collected_at = t
                        v.level = None
                        v.flapping = False
                        v.since = osince
                        v.evidence = ""
                        if -1e6 < number < 1e6:
                            if inst:
                                v._fmt = cr.ok_inst
                                v._args = (inst, number)
                            else:
                                v._fmt = cr.ok
                                v._args = number
                        else:
                            v._fmt = cr.ok_inst_big if inst else cr.ok_big
                            v._args = (inst, number) if inst else number
                    else:
                        v = _verdict(name, cr, inst, value, t, raw, e)
                else:
                    e = insts[inst] = _advance(cr, e, held, raw, t, now)
                    v = _verdict(name, cr, inst, value, t, raw, e)
            if s.excerpt:
                v.evidence = s.excerpt  # the raw output this verdict was judged on
            if cr.detail and (more := render(cr.detail, tags, fields)):
                v.message += " — " + more
            if again:
                _replace(verdicts, v)
            else:
                verdicts.append(v)

    # Series not sampled this cycle: missing, forgotten, or no longer checked.
    by_name = c.by_name_for(device.kind, groups) if index is base else \
        {cr.name: cr for rules in index.values() for cr in rules}
    sampled = Counter(map(_CHECK, verdicts))  # series sampled per rule, one verdict each
    touched: dict[str, set[str]] | None = None
    interval = device.interval
    for rule_name, insts in list(series.items()):
        cr = by_name.get(rule_name)
        changed = cr is not None and rule_name in prev_sel and prev_sel[rule_name] != cr.selector
        if not changed and cr is not None and sampled.get(rule_name) == len(insts):
            continue  # every series of this rule was sampled (the usual cycle)
        if touched is None:
            touched = {}
            for v in verdicts[:sum(sampled.values())]:
                touched.setdefault(v.check, set()).add(v.instance)
        seen = touched.get(rule_name, ())
        for inst, e in list(insts.items()):
            if e["seen"] == now and inst in seen:
                continue
            if cr is None or (changed and collected):
                del insts[inst]
                verdicts.append(_gone(name, rule_name, cr, inst, now,
                                      "no longer checked (rule removed, disabled or changed)"))
                continue
            gap = now - e["seen"]
            if gap >= cr.forget:
                del insts[inst]
                verdicts.append(_gone(name, rule_name, cr, inst, now,
                                      f"no longer reported (no sample for {format_duration(gap)})"))
            elif collected and cr.missing_n and interval > 0 and \
                    gap >= (cr.missing_n - 0.5) * interval:
                ms = e.get("ms")
                if ms is None:
                    ms = min(now, e["seen"] + cr.missing_n * interval)
                    insts[inst] = {**e, "ms": ms}
                verdicts.append(_missing(name, cr, inst, now, gap, ms))
        if not insts:
            del series[rule_name]
    sel = {r: by_name[r].selector for r in series if r in by_name}
    return verdicts, {"v": VERSION, "sel": sel, "series": series}


def _replace(verdicts: list[Verdict], v: Verdict) -> None:
    """A series sampled twice in one cycle keeps its last verdict, in the place of the first."""
    for i in range(len(verdicts) - 1, -1, -1):
        old = verdicts[i]
        if old.check == v.check and old.instance == v.instance:
            verdicts[i] = v
            return
    verdicts.append(v)


def _advance(cr: CompiledRule, e: Mapping[str, Any] | None, prev: int, raw: int, t: float,
             now: float) -> dict[str, Any]:
    """A series' next state after one sample judged `raw` (hysteresis already applied).

    The common case — nothing new — is handled inline by evaluate_cycle before this."""
    if e is None:
        since, out0, osince = t, OK, t
        e = {}
    else:
        since, out0, osince = e["since"], e["out"], e["os"]
        if "ms" in e:
            out0 = UNKNOWN  # it was reported missing: whatever comes now is a new status
    new: dict[str, Any] = {}
    st = raw
    if cr.for_n or cr.for_s:
        r = RANK[raw]
        old = e.get("p") or (None, None, None)
        p = [None if k > r else ([old[k - 1][0] + 1, old[k - 1][1]] if old[k - 1] else [1, t])
             for k in (1, 2, 3)]
        if r > RANK[prev]:
            st = prev
            for k in range(r, RANK[prev], -1):  # the worst status whose streak is long enough
                n, start = p[k - 1]
                if (cr.for_n and n >= cr.for_n) or (cr.for_s and t - start >= cr.for_s):
                    st, since = BY_RANK[k], start
                    break
        elif st != prev:
            since = t
        if r > RANK[st]:  # still waiting
            new["p"] = p
    elif st != prev:
        since = t
    out = st
    if cr.flap_k:
        lo = t - cr.flap_window
        fc = [c for c in e.get("fc", ()) if c[0] > lo]
        if st != prev and e:  # a new series' first status is no change
            fc.append([t, prev, st])
        n = len(fc)
        flapping = n > cr.flap_k / 2 if e.get("fl") else n > cr.flap_k
        if flapping:
            worst = RANK[st]
            for c in fc:
                worst = max(worst, RANK[c[1]], RANK[c[2]])
            out = BY_RANK[worst]
            new["fl"] = True
        if fc:
            new["fc"] = fc
    if out != out0:
        osince = since if out == st and "ms" not in e else t
    new.update(st=st, since=since, out=out, os=osince, seen=now)
    return new


def _verdict(device: str, cr: CompiledRule, inst: str, value: Any, t: float, raw: int,
             e: Mapping[str, Any]) -> Verdict:
    out = e["out"]
    if out == OK and raw == OK and cr.states is None:  # the common case
        return _ok(device, cr, inst, float(value), t, e["os"])
    notes = []
    if cr.states is not None:
        message = f"{cr.subject} {inst}: {value}" if inst else f"{cr.subject}: {value}"
        if out != OK and cr.expected:
            notes.append(f"expected {' or '.join(cr.expected)}")
        number = None
    else:
        number = float(value)
        if -1e6 < number < 1e6:  # the OK message's text, then the notes
            message = cr.ok_inst % (inst, number) if inst else cr.ok % number
        else:
            message = cr.ok_inst_big % (inst, number) if inst else cr.ok_big % number
        if out in (WARN, CRIT):
            limit = cr.crit if out == CRIT else cr.warn
            if limit is not None and (number >= limit if cr.above else number <= limit):
                notes.append(cr.beyond[out])
            elif not e.get("fl") and e["st"] == out and cr.held[out] is not None:
                notes.append(cr.held[out])
    if e.get("fl"):
        notes.append(f"flapping: {len(e['fc'])} status changes in "
                     f"{format_duration(cr.flap_window)}, holding {LABEL[out]}")
    if RANK[raw] > RANK[e["st"]] and "p" in e:  # a worse status waiting for its `for:`
        n, start = e["p"][RANK[raw] - 1]
        wait = (f"{n} of {cr.for_n} samples" if cr.for_n else
                f"{format_duration(t - start)} of {format_duration(cr.for_s)}")
        notes.append(f"{LABEL[raw]} for {wait}")
    if notes:
        message += f" ({'; '.join(notes)})"
    return Verdict(device, cr.name, _STATUS[out], inst, number, "" if number is None else cr.unit,
                   cr.threshold, message, t, cr.levels[out], bool(e.get("fl")), e["os"])


def _missing(device: str, cr: CompiledRule, inst: str, now: float, gap: float,
             since: float) -> Verdict:
    subject = f"{cr.subject} {inst}" if inst else cr.subject
    return Verdict(device=device, check=cr.name, status=Status.UNKNOWN, instance=inst,
                   unit=cr.unit, threshold=cr.threshold,
                   message=f"{subject}: not collected: no sample for {format_duration(gap)}",
                   collected_at=now, level=cr.levels[UNKNOWN], since=since)


def _gone(device: str, rule_name: str, cr: CompiledRule | None, inst: str, now: float,
          why: str) -> Verdict:
    subject = cr.subject if cr is not None else rule_name
    subject = f"{subject} {inst}" if inst else subject
    return Verdict(device=device, check=rule_name, status=Status.OK, instance=inst,
                   message=f"{subject}: {why}", collected_at=now, since=now)


__all__ = ["DeviceInfo", "evaluate_cycle"]
