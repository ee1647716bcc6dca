"""SLA figures for a period: cases per level, on-time response and repair, breaches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from agent.cases.queries import histories, list_cases, visit_of
from reports.fault import sla_state


def sla_summary(engine: Engine, since: float, until: float, now: float,
                as_of: float | None = None) -> dict[str, Any]:
    """Cases opened in [since, until); suppressed cases (under a parent) are not counted.
    `as_of`: as the cases stood then (replayed from their events), judged then."""
    if as_of is not None:
        from agent.cases.queries import cases_as_of

        cases, now = cases_as_of(engine, as_of, "all", since=since, until=until), as_of
    else:
        cases = list_cases(engine, "all", since=since, until=until)
    found = [c for c in cases if not c.suppressed_by]
    levels = []
    for level in sorted({1, 2, 3} | {c.opened_level for c in found}):
        mine = [c for c in found if c.opened_level == level]
        row: dict[str, Any] = {"level": level, "cases": len(mine)}
        for clock in ("response", "repair"):
            states = [sla_state(c, clock, now) for c in mine]
            met, missed = states.count("met"), states.count("missed")
            row[clock] = {"met": met, "missed": missed, "running": states.count("running"),
                          "on_time_rate": round(met / (met + missed), 4) if met + missed else None}
        levels.append(row)
    breaches = [{"case": c.number, "device": c.device, "check": c.check, "instance": c.instance,
                 "opened_level": c.opened_level, "level": c.level,
                 "response": sla_state(c, "response", now), "repair": sla_state(c, "repair", now)}
                for c in found if "missed" in (sla_state(c, "response", now), sla_state(c, "repair", now))]
    return {"since": since, "until": until, "cases": len(found), "levels": levels, "breaches": breaches,
            "satisfaction": satisfaction(engine, found, now)}


def satisfaction(engine: Engine, found: list[Any], now: float) -> dict[str, Any]:
    """Return visits (回访) of the period's closed cases: how many were visited, their average
    rating (1-5) and the share of closed cases visited (a visit entered after `now` not counted)."""
    closed = [c for c in found if c.status == "closed"]
    events = histories(engine, [c.number for c in closed])
    ratings = [v["rating"] for c in closed if (v := visit_of(events[c.number], now)) is not None]
    return {"closed": len(closed), "visits": len(ratings),
            "average_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "visited_share": round(len(ratings) / len(closed), 4) if closed else None,
            "ratings": {str(r): ratings.count(r) for r in range(1, 6)}}
