"""Rule evaluation: samples (and overrides) in, verdicts out. Pure: no I/O, no clock.

`evaluate` judges each sample on its own (no hysteresis, `for:` or flapping): for an ad hoc
look. `evaluate_cycle` (checks.stateful) carries state between a collector's cycles: the
daemon's way. Both select samples the same way and word their verdicts the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from checks.compiled import OK, CompiledRule, compiled, with_overrides
from checks.detail import render
from checks.rules import Rule, RuleSet
from checks.stateful import DeviceInfo, _verdict, evaluate_cycle
from core.model import Result, Sample, Status, Verdict


class ThresholdOverride(Protocol):
    warn: float | None
    crit: float | None


def evaluate(samples: Iterable[Sample], device: str | DeviceInfo, ruleset: RuleSet,
             overrides: Mapping[str, ThresholdOverride] | None = None) -> list[Verdict]:
    """One verdict per sample × rule that selects it. With a plain device name, rules limited
    to device kinds or groups are not filtered (nothing to filter on)."""
    if isinstance(device, DeviceInfo):
        index = compiled(ruleset).index(device.kind, frozenset(device.groups))
        name = device.name
    else:
        index = compiled(ruleset).index(None, None)
        name = device
    index = with_overrides(index, overrides)
    verdicts = []
    for s in samples:
        for cr in index.get(s.measurement, ()):
            verdict = _judge(cr, name, s)
            if verdict is not None:
                verdicts.append(verdict)
    return verdicts


def _judge(cr: CompiledRule, device: str, s: Sample) -> Verdict | None:
    value = s.fields.get(cr.field)
    if value is None or (cr.matchers and not cr.selects(s.tags)):
        return None
    if cr.states is not None:
        value, status = str(value), cr.judge_text(str(value))
    elif value.__class__ is bool or not isinstance(value, (int, float)):
        return None
    else:
        status = cr.judge(value, OK)
    t = s.time / 1e9
    inst = s.tags.get(cr.instance_tag, "") if cr.instance_tag else ""
    v = _verdict(device, cr, inst, value, t, status, {"st": status, "out": status, "os": t})
    v.since = None  # unknown without history
    v.evidence = s.excerpt
    if cr.detail and (more := render(cr.detail, s.tags, s.fields)):
        v.message += " — " + more
    return v


def judge(rule: Rule, device: str, sample: Sample, value: float,
          override: ThresholdOverride | None) -> Verdict:
    """One number judged by one rule (no history)."""
    cr = CompiledRule(rule)
    if override is not None:
        cr = cr.with_override(override)
    v = _judge(cr, device, Sample(sample.measurement, sample.tags, {**sample.fields, cr.field: value},
                                  sample.time))
    assert v is not None
    return v


def judge_state(rule: Rule, device: str, sample: Sample, value: str) -> Verdict:
    """A text field judged by the rule's `states` table (no history)."""
    cr = CompiledRule(rule)
    v = _judge(cr, device, Sample(sample.measurement, sample.tags, {**sample.fields, cr.field: value},
                                  sample.time))
    assert v is not None
    return v


DEVICE_CHECK = "collect.device"  # the device's connection: one case for the device, not per collector


def device_verdict(result: Result, ruleset: RuleSet, level: int | None = None) -> Verdict | None:
    """The device's own verdict when the collector connected to it (SSH): reachable, or not —
    unreachable, host key changed, login refused — at `level` (the device's criticality; else
    the collection level). None for a collector that opens no connection of its own."""
    if not result.connect:
        return None
    if result.connect == "ok":
        return Verdict(device=result.device, check=DEVICE_CHECK, status=Status.OK,
                       message="connected", collected_at=result.started_at,
                       evidence=f"SSH connection made for the {result.collector} collector")
    return Verdict(device=result.device, check=DEVICE_CHECK, status=Status.UNKNOWN,
                   message=f"no connection: {result.connect}", collected_at=result.started_at,
                   level=level or ruleset.collection.level, evidence=result.connect)


def collection_verdict(result: Result, ruleset: RuleSet, outage_level: int | None = None) -> Verdict:
    """Every collection yields a verdict: OK with a count, or UNKNOWN with the reason. (When the
    device could not be connected to, its DEVICE_CHECK verdict holds the case: the case engine
    links this one to it.) `outage_level`: the device's criticality, for a collector whose
    failure is the device not answering (SNMP, the switch CLI)."""
    check = f"collect.{result.collector}"
    if result.collected:
        return Verdict(device=result.device, check=check, status=Status.OK,
                       message=f"{len(result.samples)} samples in {result.duration:.2f} s",
                       collected_at=result.started_at)
    return Verdict(device=result.device, check=check, status=Status.UNKNOWN,
                   message=f"not collected: {result.reason}", collected_at=result.started_at,
                   level=outage_level or ruleset.collection.level)


__all__ = ["DEVICE_CHECK", "DeviceInfo", "ThresholdOverride", "collection_verdict", "device_verdict",
           "evaluate", "evaluate_cycle", "judge", "judge_state"]
