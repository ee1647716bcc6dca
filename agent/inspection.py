"""One inspection run: collect every selected device now, judge, feed the cases, and (when
asked) record the run with its evidence. Shared by `xunjian inspect` and the daemon's
scheduled inspections."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.inventory import Device
from agent.pipeline import Pipeline
from agent.runner import run_all
from agent.store.runs import record_run
from checks.evaluate import DEVICE_CHECK
from checks.rules import RuleSet
from collectors import COLLECTORS
from core.model import Job, Result, Status, Verdict, worst


@dataclass
class InspectionRun:
    started_at: float
    finished_at: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    run_id: int | None = None

    @property
    def status(self) -> Status:
        return worst([v.status for v in self.verdicts])


def rule_versions(rules: RuleSet) -> dict[str, str]:
    """A short hash of each rule's definition: the evidence says which thresholds judged it."""
    out = {r.name: hashlib.sha256(r.model_dump_json().encode()).hexdigest()[:12] for r in rules.rules}
    out.update({f"collect.{c}": "builtin" for c in COLLECTORS})
    out[DEVICE_CHECK] = "builtin"
    return out


def record(pipeline: Pipeline, run: InspectionRun, devices: list[Device], trigger: str,
           started_by: str, scope: dict[str, list[str]]) -> int:
    run.run_id = record_run(
        pipeline.engine, started_at=run.started_at, finished_at=run.finished_at, trigger=trigger,
        started_by=started_by, scope=scope, devices=len(devices), verdicts=run.verdicts,
        results=run.results, rule_versions=rule_versions(pipeline.rules))
    return run.run_id


def _one_device_verdict(verdicts: list[Verdict]) -> list[Verdict]:
    """Each SSH collector reports the device's connection; the run shows it once per device
    (the worst)."""
    best: dict[str, Verdict] = {}
    for v in verdicts:
        if v.check == DEVICE_CHECK and (v.device not in best or v.status > best[v.device].status):
            best[v.device] = v
    return [v for v in verdicts if v.check != DEVICE_CHECK or best[v.device] is v]


def inspect_devices(pipeline: Pipeline, devices: list[Device], workers: int,
                    on_result: Callable[[Result], None] | None = None) -> InspectionRun:
    """Collect every (device, collector) in parallel; verdicts in a stable order."""
    run = InspectionRun(started_at=pipeline.clock())
    def done(result: Result, verdicts: list[Verdict]) -> None:
        run.results.append(result)
        run.verdicts += verdicts
        if on_result:
            on_result(result)

    run_all(pipeline, [(Job(d.name, c), d) for d in devices for c in d.collectors], workers, done)
    run.verdicts = _one_device_verdict(run.verdicts)
    run.verdicts.sort(key=lambda v: (v.device, not v.check.startswith("collect."), v.check, v.instance))
    run.finished_at = pipeline.clock()
    return run
