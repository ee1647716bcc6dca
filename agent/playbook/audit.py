"""The playbook audit trail in the store: one row per plan, apply or refusal."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from agent.store.schema import playbook_runs


@dataclass(frozen=True)
class AuditRecord:
    started_at: float
    finished_at: float
    actor: str
    device: str
    playbook: str
    mode: str
    params: dict[str, Any]
    plan: list[dict[str, Any]]
    outputs: dict[str, Any]
    result: str
    message: str = ""
    bytes_freed: int = 0
    case_number: str | None = None
    forced_reason: str | None = None


def record(engine: Engine, r: AuditRecord) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(playbook_runs).values(
            started_at=r.started_at, finished_at=r.finished_at, actor=r.actor, device=r.device,
            playbook=r.playbook, mode=r.mode, params=json.dumps(r.params, ensure_ascii=False, default=str),
            plan=json.dumps(r.plan, ensure_ascii=False), outputs=json.dumps(r.outputs, ensure_ascii=False),
            result=r.result, message=r.message, bytes_freed=r.bytes_freed,
            duration=round(r.finished_at - r.started_at, 3), case_number=r.case_number,
            forced_reason=r.forced_reason)).inserted_primary_key[0])


def refusal(engine: Engine, actor: str, device: str, playbook: str, mode: str, params: dict[str, Any],
            message: str, case_number: str | None = None) -> int:
    """A run refused before it could be planned (unknown playbook or device, a bad parameter,
    a wrong --plan or --case): recorded like any other refusal, with what was asked for."""
    now = time.time()
    return record(engine, AuditRecord(started_at=now, finished_at=now, actor=actor, device=device,
                                      playbook=playbook, mode=mode, params=params, plan=[], outputs={},
                                      result="refused", message=message, case_number=case_number))


def history(engine: Engine, device: str | None = None, playbook: str | None = None,
            limit: int = 50, run_id: int | None = None) -> list[dict[str, Any]]:
    q = select(playbook_runs).order_by(playbook_runs.c.id.desc()).limit(limit)
    if run_id is not None:
        q = q.where(playbook_runs.c.id == run_id)
    if device:
        q = q.where(playbook_runs.c.device == device)
    if playbook:
        q = q.where(playbook_runs.c.playbook == playbook)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        doc = dict(r._mapping)
        for key in ("params", "plan", "outputs"):
            doc[key] = json.loads(doc[key])
        out.append(doc)
    return out
