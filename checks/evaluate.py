"""Rule evaluation: samples (and overrides) in, verdicts out. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from agent.model import Result, Sample, Status, Verdict
from checks.rules import Rule, RuleSet


class ThresholdOverride(Protocol):
    warn: float | None
    crit: float | None


def evaluate(samples: Iterable[Sample], device: str, ruleset: RuleSet,
             overrides: Mapping[str, ThresholdOverride] | None = None) -> list[Verdict]:
    overrides = overrides or {}
    verdicts = []
    for s in samples:
        for rule in ruleset.rules:
            if s.measurement != rule.measurement or rule.field not in s.fields:
                continue
            value = s.fields[rule.field]
            if rule.states is not None:
                verdicts.append(judge_state(rule, device, s, str(value)))
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            verdicts.append(judge(rule, device, s, float(value), overrides.get(rule.name)))
    return verdicts


def judge(rule: Rule, device: str, sample: Sample, value: float,
          override: ThresholdOverride | None) -> Verdict:
    warn = override.warn if override and override.warn is not None else rule.warn
    crit = override.crit if override and override.crit is not None else rule.crit
    beyond = (lambda v, t: v >= t) if rule.direction == "above" else (lambda v, t: v <= t)
    status = Status.OK
    if crit is not None and beyond(value, crit):
        status = Status.CRIT
    elif warn is not None and beyond(value, warn):
        status = Status.WARN
    instance = sample.tags.get(rule.instance_tag, "") if rule.instance_tag else ""
    sign = ">=" if rule.direction == "above" else "<="
    threshold = ", ".join(f"{k} {sign} {_num(t)}{rule.unit}"
                          for k, t in (("warn", warn), ("crit", crit)) if t is not None)
    subject = f"{rule.description or rule.name}{' ' + instance if instance else ''}"
    message = f"{subject}: {_num(value)}{rule.unit}"
    if status is not Status.OK:
        limit = crit if status is Status.CRIT else warn
        message += f" (beyond {status.label} {sign} {_num(limit)}{rule.unit})"
    level = None if status is Status.OK else (
        rule.levels.crit if status is Status.CRIT else rule.levels.warn)
    return Verdict(device=device, check=rule.name, status=status, instance=instance, value=value,
                   unit=rule.unit, threshold=threshold, message=message,
                   collected_at=sample.time / 1e9, level=level)


def judge_state(rule: Rule, device: str, sample: Sample, value: str) -> Verdict:
    """A text field judged by the rule's `states` table."""
    status = Status.parse(rule.states.get(value, rule.other) if rule.states else rule.other)
    instance = sample.tags.get(rule.instance_tag, "") if rule.instance_tag else ""
    subject = f"{rule.description or rule.name}{' ' + instance if instance else ''}"
    expected = [k for k, v in (rule.states or {}).items() if v == "ok"]
    message = f"{subject}: {value}"
    if status is not Status.OK and expected:
        message += f" (expected {' or '.join(expected)})"
    level = {Status.OK: None, Status.WARN: rule.levels.warn, Status.CRIT: rule.levels.crit,
             Status.UNKNOWN: rule.levels.unknown}[status]
    return Verdict(device=device, check=rule.name, status=status, instance=instance, value=None,
                   unit="", threshold=f"expected {' or '.join(expected)}" if expected else "",
                   message=message, collected_at=sample.time / 1e9, level=level)


def collection_verdict(result: Result, ruleset: RuleSet) -> Verdict:
    """Every collection yields a verdict: OK with a count, or UNKNOWN with the reason."""
    check = f"collect.{result.collector}"
    if result.collected:
        return Verdict(device=result.device, check=check, status=Status.OK,
                       message=f"{len(result.samples)} samples in {result.duration:.2f} s",
                       collected_at=result.started_at)
    return Verdict(device=result.device, check=check, status=Status.UNKNOWN,
                   message=f"not collected: {result.reason}", collected_at=result.started_at,
                   level=ruleset.collection.level)


def _num(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.0f}"
