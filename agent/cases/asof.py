"""A case as it stood at a past moment, replayed from its events (`--as-of`): what the desk
knew then, judged then. A case entered after that moment did not exist yet."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.model import Case

STATUS_AFTER = {"open": "open", "ack": "acknowledged", "resolve": "resolved", "close": "closed"}


def case_as_of(case: Case, events: list[dict[str, Any]], at: float) -> Case | None:
    """`events`: the case's history in order (case_history). None: not entered yet at `at`."""
    seen = [e for e in events if e["at"] <= at]
    if not seen:
        return None
    v: dict[str, Any] = {"status": "open", "acknowledged_at": None, "acknowledged_by": None,
                         "resolved_at": None, "resolved_by": None, "closed_at": None, "closed_by": None,
                         "response_breached": False, "repair_breached": False, "assignee": None,
                         "paused_at": None, "updated_at": seen[-1]["at"]}
    for e in seen:
        d, kind = e["detail"], e["kind"]
        if "level" in d:
            v["level"] = d["level"]
        if "response_due" in d and kind in ("open", "escalate", "update"):
            v["response_due"], v["repair_due"] = d["response_due"], d["repair_due"]
        elif "repair_due" in d and kind in ("resume", "reopen"):  # pushed by the time not counted
            v["repair_due"] = d["repair_due"]
        if kind in STATUS_AFTER:
            v["status"] = STATUS_AFTER[kind]
        if kind == "ack":
            v["acknowledged_at"], v["acknowledged_by"] = e["at"], e["actor"]
            v["response_breached"] |= bool(d.get("late"))
        elif kind == "resolve":
            v["resolved_at"], v["resolved_by"] = e["at"], e["actor"]
            v["repair_breached"] |= bool(d.get("late"))
            v["paused_at"] = None
        elif kind == "close":
            v["closed_at"], v["closed_by"] = e["at"], e["actor"]
        elif kind == "reopen":
            v["status"] = "acknowledged" if v["acknowledged_at"] else "open"
            v["resolved_at"] = v["resolved_by"] = v["closed_at"] = v["closed_by"] = None
        elif kind == "breach" and d.get("clock") in ("response", "repair"):
            v[f"{d['clock']}_breached"] = True
        elif kind == "assign":
            v["assignee"] = d.get("to")
        elif kind == "pause":
            v["paused_at"] = e["at"]
        elif kind == "resume":
            v["paused_at"] = None
    # judged then: a clock running past its deadline at `at` was missed, recorded or not
    if v["status"] == "open" and v.get("response_due", case.response_due) and \
            at >= v.get("response_due", case.response_due):
        v["response_breached"] = True
    if v["status"] in ("open", "acknowledged") and v["paused_at"] is None and \
            v.get("repair_due", case.repair_due) and at >= v.get("repair_due", case.repair_due):
        v["repair_breached"] = True
    return replace(case, **v)
