"""What changed since the last period (new and cleared exceptions), version drift inside a
group of like devices, and the recommendations the periodic report generates from its data."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from agent.store.schema import inspection_results, inspection_runs
from agent.store.sql import at_max

FULL_WITHIN_DAYS = 90
OFTEN_FAILING = 0.2  # fail or not collected in at least this share of a check's results
END_DAYS = 30  # "the end of the previous period": its last 30 days of inspections
# asset fields compared inside a group of devices of one kind and model
VERSION_FIELDS = re.compile(r"firmware_rev|software_rev|.+_version")


def run_ids(conn: Connection, since: float, until: float) -> list[int]:
    """The inspection runs started in [since, until)."""
    runs = inspection_runs
    return list(conn.execute(select(runs.c.id).where(runs.c.started_at >= since,
                                                     runs.c.started_at < until)).scalars())


def latest_verdicts(engine: Engine, since: float, until: float) -> dict[tuple[str, str], str]:
    """(device, "check instance") → the latest verdict among the runs in [since, until)."""
    r = inspection_results
    with engine.connect() as conn:
        ids = run_ids(conn, since, until)
        if not ids:
            return {}
        q = (select(r.c.device, r.c.check_name, r.c.instance, at_max(r.c.verdict, r.c.run_id),
                    func.max(r.c.run_id))
             .where(r.c.run_id.between(min(ids), max(ids)), r.c.run_id.in_(ids))
             .group_by(r.c.device, r.c.check_name, r.c.instance))
        return {(d, f"{c} {i}".strip()): v for d, c, i, v, _ in conn.execute(q)}


def exception_changes(matrix: dict[str, list[dict[str, Any]]],
                      then: dict[tuple[str, str], str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """New: not a pass now, a pass (or not checked) at the end of the previous period.
    Cleared: not a pass at the end of the previous period, a pass now."""
    new, cleared = [], []
    for device, cells in matrix.items():
        for cell in cells:
            now, before = cell.get("last", "not collected"), then.get((device, cell["check"]))
            if now != "pass" and before in (None, "pass"):
                new.append({"device": device, "check": cell["check"], "now": now, "then": before or ""})
            elif now == "pass" and before not in (None, "pass"):
                cleared.append({"device": device, "check": cell["check"], "now": now, "then": before})
    return new, cleared


def end_of(first: date, last: date) -> tuple[date, date]:
    """The last END_DAYS days of a period (all of it when shorter)."""
    return max(first, last - timedelta(days=END_DAYS - 1)), last


def version_key(v: str) -> list[tuple[int, Any]]:
    """Natural order: V200R021C00 after V200R019C10, 19.21 after 19.3."""
    return [(1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", v) if p]


def version_drift(assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Devices of one kind and model that run different versions: those behind the newest."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in assets:
        if a.get("model"):
            groups[(a.get("kind") or "", str(a["model"]))].append(a)
    out = []
    for (kind, model), members in sorted(groups.items()):
        fields = sorted({k for a in members for k in a if VERSION_FIELDS.fullmatch(k)})
        for field in fields:
            versions = {str(a[field]) for a in members if a.get(field)}
            if len(versions) < 2:
                continue
            newest = max(versions, key=version_key)
            behind = sorted(a["device"] for a in members if a.get(field) and str(a[field]) != newest)
            out.append({"kind": kind, "model": model, "field": field, "newest": newest,
                        "devices": behind, "versions": sorted(versions - {newest}, key=version_key)})
    return out


def recommendations(growth: list[dict[str, Any]], matrix: dict[str, list[dict[str, Any]]],
                    ports: list[dict[str, Any]], drift: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for g in growth:
        if g["days_until_full"] is not None and g["days_until_full"] <= FULL_WITHIN_DAYS:
            out.append({"kind": "full_soon", "device": g["device"], "subject": g["series"],
                        "days": g["days_until_full"], "growth": g["growth_per_day"]})
    for p in ports:
        if p["rising"]:
            out.append({"kind": "port_rising", "device": p["device"], "subject": p["port"],
                        "recent": p["last_30"], "before": p["before_30"]})
    for d in drift:
        out.append({"kind": "version_drift", "device": ", ".join(d["devices"]), "subject": d["field"],
                    "model": d["model"], "group": d["kind"], "newest": d["newest"],
                    "old": ", ".join(d["versions"])})
    for device, cells in matrix.items():
        for cell in cells:
            bad = cell["counts"]["fail"] + cell["counts"]["not collected"]
            if bad and bad >= OFTEN_FAILING * sum(cell["counts"].values()):
                out.append({"kind": "often_failing", "device": device, "subject": cell["check"],
                            "count": bad, "of": sum(cell["counts"].values())})
    return out
