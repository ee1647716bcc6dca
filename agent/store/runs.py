"""Inspection runs and their per device × check results (the daily ledger's source)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, insert, select

from agent.store.schema import inspection_results, inspection_runs
from core.model import Result, Status, Verdict, worst

VERDICT_WORDS = {Status.OK: "pass", Status.WARN: "warn", Status.CRIT: "fail", Status.UNKNOWN: "not collected"}
EVIDENCE_CHARS = 8000  # a verdict's excerpt in the record: a few whole log entries


def evidence_for(v: Verdict, results: dict[tuple[str, str], Result]) -> str:
    """The raw output this verdict was judged on: its own excerpt (the df row, the sqlplus
    record, the log entries) when its collector gives one; for a collection verdict the
    collector's excerpt or the reason; else the collector's lines naming the instance (a
    port, a filesystem) — never another check's output."""
    if v.evidence:
        return v.evidence[:EVIDENCE_CHARS]
    collector = v.check.removeprefix("collect.") if v.check.startswith("collect.") else None
    candidates = [r for (dev, col), r in results.items()
                  if dev == v.device and (collector is None or col == collector)]
    text = "\n".join(r.evidence for r in candidates if r.evidence)
    if collector is not None:
        if not text or v.status is not Status.OK:
            text = "\n".join(r.reason for r in candidates if r.reason) or text
        return text[:EVIDENCE_CHARS]
    if not v.instance:
        return ""
    lines = [ln for ln in text.splitlines() if v.instance in ln.split()]
    return "\n".join(lines)[:EVIDENCE_CHARS]


def record_run(engine: Engine, *, started_at: float, finished_at: float, trigger: str, started_by: str,
               scope: dict[str, Any], devices: int, verdicts: list[Verdict], results: list[Result],
               rule_versions: dict[str, str]) -> int:
    """One transaction: the run and all its results, or nothing."""
    by_job = {(r.device, r.collector): r for r in results}
    status = worst([v.status for v in verdicts])
    with engine.begin() as conn:
        run_id = int(conn.execute(insert(inspection_runs).values(
            started_at=started_at, finished_at=finished_at, trigger=trigger, started_by=started_by,
            scope=json.dumps(scope, ensure_ascii=False), devices=devices, status=status.label,
        )).inserted_primary_key[0])
        rows = [{
            "run_id": run_id, "device": v.device, "check_name": v.check, "instance": v.instance,
            "verdict": VERDICT_WORDS[v.status], "value": v.value, "unit": v.unit,
            "threshold": v.threshold, "rule_version": rule_versions.get(v.check, ""),
            "message": v.message, "evidence": evidence_for(v, by_job), "collected_at": v.collected_at,
        } for v in verdicts]
        if rows:
            conn.execute(insert(inspection_results), rows)
    return run_id


def list_runs(engine: Engine, since: float, until: float) -> list[dict[str, Any]]:
    q = (select(inspection_runs).where(inspection_runs.c.started_at >= since,
                                       inspection_runs.c.started_at < until)
         .order_by(inspection_runs.c.started_at))
    with engine.connect() as conn:
        return [{**r._asdict(), "scope": json.loads(r.scope)} for r in conn.execute(q)]


def run_results(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    q = (select(inspection_results).where(inspection_results.c.run_id == run_id)
         .order_by(inspection_results.c.device, inspection_results.c.check_name,
                   inspection_results.c.instance))
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(q)]
