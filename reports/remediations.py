"""Remediations of a period for the reports: the playbooks applied (plans are not
remediations), each with its outcome, what it did and what it freed, and a per-playbook tally."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from agent.store.schema import playbook_runs

OUTCOMES = ("ok", "failed", "aborted", "refused", "busy")


def applied(engine: Engine, since: float, until: float, tz: Any) -> list[dict[str, Any]]:
    q = (select(playbook_runs).where(playbook_runs.c.started_at >= since, playbook_runs.c.started_at < until,
                                     playbook_runs.c.mode == "apply")
         .order_by(playbook_runs.c.started_at))
    with engine.connect() as conn:
        return [{"at": datetime.fromtimestamp(r.started_at, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                 "device": r.device, "playbook": r.playbook, "actor": r.actor, "result": r.result,
                 "bytes_freed": r.bytes_freed, "case": r.case_number or "", "message": r.message[:200]}
                for r in conn.execute(q)]


def by_playbook(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per playbook: runs, how many ended in each outcome, bytes freed; most used first."""
    out = []
    for name, n in Counter(r["playbook"] for r in runs).most_common():
        mine = [r for r in runs if r["playbook"] == name]
        results = Counter(r["result"] for r in mine)
        out.append({"playbook": name, "runs": n, "outcomes": {o: results.get(o, 0) for o in OUTCOMES},
                    "bytes_freed": sum(r["bytes_freed"] for r in mine)})
    return out


def human_bytes(n: int) -> str:
    """6727 → "6.6 KiB": bytes freed as people read them (the XLSX keeps the exact number)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def outcome_text(outcomes: dict[str, int], words: dict[str, str]) -> str:
    """{"ok": 3, "failed": 1, …} → "ok 3, failed 1" (only the outcomes that happened)."""
    return ", ".join(f"{words.get(o, o)} {n}" for o, n in outcomes.items() if n)
