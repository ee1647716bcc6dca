"""Daily rollups: min/avg/max/last per device × measurement × field × series × day, kept as
samples arrive, so half a year of trends needs no InfluxDB."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, case, select

from agent.store.schema import rollups
from agent.store.sql import greater, insert, lesser
from core.model import Sample

Key = tuple[str, str, str, str, str]  # day, device, measurement, field, series


def aggregate(samples: Iterable[Sample], tz: tzinfo) -> dict[Key, dict[str, Any]]:
    """Pure: one batch of samples folded into per-key partial rollups."""
    out: dict[Key, dict[str, Any]] = {}
    for s in samples:
        day = datetime.fromtimestamp(s.time / 1e9, UTC).astimezone(tz).strftime("%Y-%m-%d")
        series = json.dumps({k: v for k, v in s.tags.items() if k != "host"}, sort_keys=True,
                            ensure_ascii=False)
        for name, value in s.fields.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            v = float(value)
            key = (day, s.tags.get("host", ""), s.measurement, name, series)
            agg = out.get(key)
            if agg is None:
                out[key] = {"min": v, "max": v, "sum": v, "count": 1, "last": v, "last_time": s.time}
                continue
            agg["min"] = min(agg["min"], v)
            agg["max"] = max(agg["max"], v)
            agg["sum"] += v
            agg["count"] += 1
            if s.time >= agg["last_time"]:
                agg["last"], agg["last_time"] = v, s.time
    return out


def merge_rollups(conn: Connection, parts: dict[Key, dict[str, Any]]) -> None:
    """Fold partial rollups into the table, inside the caller's transaction."""
    if not parts:
        return
    rows = [{"day": k[0], "device": k[1], "measurement": k[2], "field": k[3], "series": k[4], **v}
            for k, v in parts.items()]
    stmt = insert(conn, rollups)
    ex = stmt.excluded
    c = rollups.c
    newer = ex.last_time >= c.last_time
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[c.day, c.device, c.measurement, c.field, c.series],
        set_={"min": lesser(c.min, ex.min), "max": greater(c.max, ex.max), "sum": c.sum + ex.sum,
              "count": c.count + ex.count, "last": case((newer, ex.last), else_=c.last),
              "last_time": case((newer, ex.last_time), else_=c.last_time)}), rows)


def daily(engine: Engine, device: str, measurement: str, field: str, since: str = "",
          until: str = "9999") -> list[dict[str, Any]]:
    """Rollup rows (with avg) for one metric, ordered by day then series."""
    q = (select(rollups).where(rollups.c.device == device, rollups.c.measurement == measurement,
                               rollups.c.field == field, rollups.c.day >= since, rollups.c.day <= until)
         .order_by(rollups.c.day, rollups.c.series))
    with engine.connect() as conn:
        return [{**r._asdict(), "series": json.loads(r.series), "avg": r.sum / r.count}
                for r in conn.execute(q)]
