"""Remediations of a period for the reports: the playbooks applied (plans are not
remediations), each with its outcome, what it did and what it freed, and a per-playbook tally."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, select

from agent.remediation import human_bytes
from agent.store.schema import playbook_runs

__all__ = ["OUTCOMES", "applied", "applied_query", "by_playbook", "human_bytes", "outcome_text",
           "run_row"]

OUTCOMES = ("ok", "failed", "aborted", "refused", "busy")


def applied_query(since: float, until: float) -> Select[Any]:
    """The playbook runs applied in [since, until), oldest first."""
    runs = playbook_runs
    return (select(runs).where(runs.c.started_at >= since, runs.c.started_at < until, runs.c.mode == "apply")
            .order_by(runs.c.started_at))


def run_row(r: Any, tz: Any) -> dict[str, Any]:
    """One run as the reports list it."""
    return {"at": datetime.fromtimestamp(r.started_at, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "device": r.device, "playbook": r.playbook, "actor": r.actor, "result": r.result,
            "bytes_freed": r.bytes_freed, "case": r.case_number or "", "message": r.message[:200]}


def applied(engine: Engine, since: float, until: float, tz: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [run_row(r, tz) for r in conn.execute(applied_query(since, until))]


def by_playbook(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per playbook: runs, how many ended in each outcome, bytes freed; most used first."""
    out = []
    for name, n in Counter(r["playbook"] for r in runs).most_common():
        mine = [r for r in runs if r["playbook"] == name]
        results = Counter(r["result"] for r in mine)
        out.append({"playbook": name, "runs": n, "outcomes": {o: results.get(o, 0) for o in OUTCOMES},
                    "bytes_freed": sum(r["bytes_freed"] for r in mine)})
    return out


def outcome_text(outcomes: dict[str, int], words: dict[str, str]) -> str:
    """{"ok": 3, "failed": 1, …} → "ok 3, failed 1" (only the outcomes that happened)."""
    return ", ".join(f"{words.get(o, o)} {n}" for o, n in outcomes.items() if n)
