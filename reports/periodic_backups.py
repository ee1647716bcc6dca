"""The periodic report's "备份检查 / Backup checks": one row per backup (an RMAN backup type of
a database, a file backup), from the period's recorded inspections: its worst latest verdict
over the backup_* checks, the hours since it was last taken, its size change, and the
verdicts' words where something is not a pass."""

from __future__ import annotations

from typing import Any

WORST = ("fail", "not collected", "warn", "pass")


def backup_rows(matrix: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows sorted worst first, then by device and backup."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for device, cells in matrix.items():
        for c in cells:
            check, _, backup = c["check"].partition(" ")
            if not check.startswith("backup_"):
                continue
            last = c.get("last", "not collected")
            row = rows.setdefault((device, backup), {"device": device, "backup": backup, "last": "pass",
                                                     "age_hours": None, "growth_percent": None,
                                                     "notes": [], "at": c.get("at", "")})
            if WORST.index(last) < WORST.index(row["last"]):
                row["last"] = last
            if check.startswith("backup_age_"):
                row["age_hours"] = c.get("value")
            elif check == "backup_shrank":
                row["growth_percent"] = c.get("value")
            if last != "pass" and c.get("message"):
                row["notes"].append(c["message"])
    out = [{**r, "notes": "; ".join(r["notes"])[:300]} for r in rows.values()]
    return sorted(out, key=lambda r: (WORST.index(r["last"]), r["device"], r["backup"]))


def backup_row(r: dict[str, Any], verdicts: dict[str, str]) -> list[Any]:
    """One row as the text tables show it (device, backup, verdict, age h, change %, notes)."""
    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:g}"
    verdict = f"{verdicts.get(r['last'], r['last'])} ({r['at']})"
    return [r["device"], r["backup"], verdict, num(r["age_hours"]), num(r["growth_percent"]),
            r["notes"] or "—"]
