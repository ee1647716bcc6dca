"""The stateful evaluator as it was before it was optimised (issue 27), copied whole: one
plain loop, kept only to hold checks.stateful.evaluate_cycle to the same verdicts and state
(tests/test_rules_equivalence.py). Not used by the agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    _num,
    compiled,
    with_overrides,
)
from checks.durations import format_duration
from checks.rules import RuleSet
from checks.stateful import DeviceInfo
from core.model import Sample, Status, Verdict

VERSION = 1
_STATUS = (Status.OK, Status.WARN, Status.CRIT, Status.UNKNOWN)
# an OK verdict's message; %g is checks.compiled._num's f"{v:g}" (same C formatting), faster
_FMT, _FMT_INST, _FMT_BIG, _FMT_INST_BIG = "%s: %g%s", "%s %s: %g%s", "%s: %.0f%s", "%s %s: %.0f%s"


def reference_cycle(samples: Iterable[Sample], device: DeviceInfo, ruleset: RuleSet,
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
    index = with_overrides(c.index(device.kind, groups), overrides)
    prev_series: Mapping[str, Mapping[str, Any]] = {}
    prev_sel: Mapping[str, str] = {}
    if state and state.get("v") == VERSION:
        prev_series = state.get("series") or {}
        prev_sel = state.get("sel") or {}
    series: dict[str, dict[str, Any]] = {r: dict(insts) for r, insts in prev_series.items()}
    # (rule, instance) → its verdict; a series sampled twice in a cycle keeps the last one
    touched: dict[tuple[str, str], Verdict] = {}
    name = device.name

    for s in samples:
        rules = index.get(s.measurement)
        if rules is None:
            continue
        fields, tags, t = s.fields, s.tags, s.time / 1e9
        for cr in rules:
            value = fields.get(cr.field)
            if value is None or (cr.matchers and not cr.selects(tags)):
                continue
            if cr.states is not None:
                value = str(value)
            elif value.__class__ is bool or not isinstance(value, (int, float)):
                continue
            inst = tags.get(cr.instance_tag, "") if cr.instance_tag else ""
            insts = series.get(cr.name)
            if insts is None:
                insts = series[cr.name] = {}
            e = insts.get(inst)
            if e is None:
                raw = cr.judge_text(value) if cr.states is not None else cr.judge(value, OK)
                e = _advance(cr, None, OK, raw, t, now)
            else:
                held = e["st"]
                raw = cr.judge_text(value) if cr.states is not None else cr.judge(value, held)
                if raw == held and e["out"] == raw and "fc" not in e and "ms" not in e:
                    # the common case, inline: nothing new (a `for:` streak matters only for a
                    # status worse than the one held)
                    e = {"st": raw, "since": e["since"], "out": raw, "os": e["os"], "seen": now}
                else:
                    e = _advance(cr, e, held, raw, t, now)
            insts[inst] = e
            touched[(cr.name, inst)] = _verdict(name, cr, inst, value, t, raw, e)

    verdicts = list(touched.values())

    # Series not sampled this cycle: missing, forgotten, or no longer checked.
    by_name = {cr.name: cr for rules in index.values() for cr in rules}
    sampled: dict[str, int] = {}
    for rule_name, _ in touched:
        sampled[rule_name] = sampled.get(rule_name, 0) + 1
    interval = device.interval
    for rule_name, insts in list(series.items()):
        cr = by_name.get(rule_name)
        changed = cr is not None and rule_name in prev_sel and prev_sel[rule_name] != cr.selector
        if not changed and cr is not None and sampled.get(rule_name) == len(insts):
            continue  # every series of this rule was sampled (the usual cycle)
        for inst, e in list(insts.items()):
            if e["seen"] == now and (rule_name, inst) in touched:
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
    if out == OK and raw == OK and cr.states is None:  # the common case, one % format
        number = float(value)
        fmt = (_FMT_INST if inst else _FMT) if -1e6 < number < 1e6 else \
            (_FMT_INST_BIG if inst else _FMT_BIG)
        message = fmt % ((cr.subject, inst, number, cr.unit) if inst else
                         (cr.subject, number, cr.unit))
        return Verdict(device, cr.name, Status.OK, inst, number, cr.unit, cr.threshold,
                       message, t, None, False, e["os"])
    subject = f"{cr.subject} {inst}" if inst else cr.subject
    notes = []
    if cr.states is not None:
        message = f"{subject}: {value}"
        if out != OK and cr.expected:
            notes.append(f"expected {' or '.join(cr.expected)}")
        number = None
    else:
        number = float(value)
        message = f"{subject}: {_num(number)}{cr.unit}"
        if out in (WARN, CRIT):
            limit = cr.crit if out == CRIT else cr.warn
            if limit is not None and (number >= limit if cr.above else number <= limit):
                notes.append(f"beyond {LABEL[out]} {cr.sign} {_num(limit)}{cr.unit}")
            elif not e.get("fl") and e["st"] == out:
                clear = cr.clear_crit if out == CRIT else cr.clear_warn
                notes.append(f"{LABEL[out]} held until {'below' if cr.above else 'above'} "
                             f"{_num(clear)}{cr.unit}")  # type: ignore[arg-type]
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
    return Verdict(device=device, check=cr.name, status=_STATUS[out], instance=inst, value=number,
                   unit="" if number is None else cr.unit, threshold=cr.threshold, message=message,
                   collected_at=t, level=cr.levels[out], flapping=bool(e.get("fl")),
                   since=e["os"])


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
