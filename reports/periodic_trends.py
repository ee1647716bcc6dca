"""Trends of the periodic report from the daily rollups, each beside the previous period:
capacity growth with days-until-full projections, CPU/memory peaks of servers and network
devices, and the ports with the most errors and discards. Aggregated in SQL: half a year of
500 devices is hundreds of thousands of rollup rows."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, text

from agent.store.schema import rollups
from agent.store.sql import at_max, days_between

# (measurement, field, unit, limit): metrics whose growth is projected to a limit
GROWTH = (("disk", "used_percent", "%", 100.0), ("oracle_tablespace", "used_percent", "%", 100.0))
# (measurement, field, unit, what): servers (telegraf-style), switches over the CLI (cli_*)
# and SNMP device profiles (device_health per board, Cisco memory pools)
PEAKS = (("cpu", "usage_active", "%", "cpu"), ("mem", "used_percent", "%", "memory"),
         ("system", "load1", "", "load"),
         ("cli_cpu", "usage_percent", "%", "cpu"), ("cli_memory", "used_percent", "%", "memory"),
         ("device_health", "cpu_percent", "%", "cpu"), ("device_health", "mem_percent", "%", "memory"),
         ("memory_pool", "used_percent", "%", "memory"))
# interface counters (cumulative): what a port lost in the period is the sum of their daily increases
PORT_COUNTERS = ("in_errors", "out_errors", "in_discards", "out_discards")
CHARTS = 8  # charts for the fastest-growing series; the rest are in tables
PORTS_PER_DEVICE = 5
RISING_DAYS = 30  # "rising": more errors in the period's last 30 days than in the 30 before
RISING_MIN = 10


def instance(tags: dict[str, str]) -> str:
    """What a series is about, for people: a filesystem's path, a tablespace's name…"""
    for key in ("path", "tablespace", "name", "interface", "port", "ifName"):
        if key in tags:
            return f"{tags['con_name']} {tags[key]}" if tags.get("con_name") else tags[key]
    return " ".join(str(v) for v in tags.values())


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _any(pairs: list[tuple[str, str]]) -> Any:
    """(measurement, field) is one of these."""
    ro = rollups
    return or_(*[and_(ro.c.measurement == m, ro.c.field == f) for m, f in pairs])


def _in(first: date, last: date) -> tuple[Any, Any]:
    return rollups.c.day >= first.isoformat(), rollups.c.day <= last.isoformat()


def growth(engine: Engine, first: date, last: date, prev: tuple[date, date]) -> list[dict[str, Any]]:
    """Per series: last value, peak, least-squares growth per day over the period's last 30
    days, days until full; the previous period's last value and peak beside them. Three
    scans of the rollups (the key leads with the day: each query reads every measurement's
    rows of its days, so they are few). The days and daily maxima are kept for the charted
    series only."""
    days = _days(first, last)
    recent = days[max(0, len(days) - 30)]
    ro = rollups
    x = days_between(days[0], ro.c.day)  # day index in the period
    y = ro.c.max
    kind = _any([(m, f) for m, f, _, _ in GROWTH])
    limits = {(m, f): (unit, limit) for m, f, unit, limit in GROWTH}
    key = (ro.c.device, ro.c.measurement, ro.c.field, ro.c.series)
    fit = ro.c.day >= recent

    def when(cond: Any, v: Any) -> Any:
        return case((cond, v), else_=None)  # NULLs: not counted, not summed

    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        latest = at_max(ro.c.max, ro.c.day)  # the value of the last day
        lasts = {tuple(k): v for *k, _, v in conn.execute(
            select(*key, func.max(ro.c.day), latest).where(kind, *_in(first, last)).group_by(*key))}
        prev_lasts = {tuple(k): v for *k, _, v in conn.execute(
            select(*key, func.max(ro.c.day), latest).where(kind, *_in(*prev)).group_by(*key))}
        now = ro.c.day >= first.isoformat()
        stats = {tuple(k): rest for *k, rest in (
            (*row[:4], row[4:]) for row in conn.execute(
                select(*key, func.max(when(now, y)), func.max(when(~now, y)), func.count(when(fit, 1)),
                       func.sum(when(fit, x)), func.sum(when(fit, y)), func.sum(when(fit, x * x)),
                       func.sum(when(fit, x * y)))
                .where(kind, *_in(min(first, prev[0]), max(last, prev[1]))).group_by(*key)))}
        for k, last_value in sorted(lasts.items(), key=lambda kv: (kv[0][0], kv[0][3], kv[0][1])):
            device, measurement, field, tags = k
            top, prev_top, *sums = stats[k]
            slope = _slope(*sums)
            unit, limit = limits[(measurement, field)]
            name = instance(json.loads(tags))
            until_full = round((limit - last_value) / slope, 1) if slope and slope > 0 else None
            prev_last = prev_lasts.get(k)
            out.append({
                "device": device, "measurement": measurement, "series": name, "unit": unit,
                "limit": limit, "label": f"{device} {name}", "key": [measurement, field, tags],
                "last": last_value, "peak": top,
                "growth_per_day": round(slope, 4) if slope is not None else None,
                "days_until_full": until_full,
                "prev_last": prev_last, "prev_peak": prev_top if prev_last is not None else None,
                "change": None if prev_last is None else round(last_value - prev_last, 2)})
        out.sort(key=lambda g: (g["days_until_full"] is None, g["days_until_full"] or 0, g["label"]))
        charted = {(g["device"], *g.pop("key")): g for g in out[:CHARTS]}
        for g in out[CHARTS:]:
            del g["key"]
        by_day: dict[tuple[str, ...], dict[str, float]] = {k: {} for k in charted}
        if charted:  # one scan for all of them
            for *k, day, v in conn.execute(select(*key, ro.c.day, ro.c.max).where(
                    or_(*[and_(ro.c.device == d, ro.c.measurement == m, ro.c.field == f, ro.c.series == se)
                          for d, m, f, se in charted]), *_in(first, last))):
                by_day[tuple(k)][day] = v
        for k, g in charted.items():
            g.update(days=days, max=[by_day[k].get(d) for d in days])
    return out


def _slope(n: int, sx: float, sy: float, sxx: float, sxy: float) -> float | None:
    """Least-squares growth per day from the sums."""
    if n < 3:
        return None
    den = n * sxx - sx * sx
    return (n * sxy - sx * sy) / den if den else None


def peaks(engine: Engine, first: date, last: date, prev: tuple[date, date]) -> list[dict[str, Any]]:
    """Per device and metric: the period's peak (over every series, e.g. a switch's boards),
    its day and the average, with the previous period's peak beside it (two scans)."""
    ro = rollups
    kind = _any([(m, f) for m, f, _, _ in PEAKS])
    about = {(m, f): (unit, what) for m, f, unit, what in PEAKS}
    key = (ro.c.device, ro.c.measurement, ro.c.field)
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        before = {tuple(k): v for *k, v in conn.execute(
            select(*key, func.max(ro.c.max)).where(kind, *_in(*prev)).group_by(*key))}
        q = (select(*key, func.max(ro.c.max), at_max(ro.c.day, ro.c.max), func.sum(ro.c.sum),
                    func.sum(ro.c.count))
             .where(kind, *_in(first, last)).group_by(*key).order_by(*key))
        for device, measurement, field, peak, day, total, count in conn.execute(q):
            p = before.get((device, measurement, field))
            unit, what = about[(measurement, field)]
            out.append({"device": device, "metric": f"{measurement}.{field}", "what": what, "unit": unit,
                        "peak": round(peak, 2), "peak_day": day, "average": round(total / count, 2),
                        "prev_peak": None if p is None else round(p, 2)})
    out.sort(key=lambda k: -k["peak"])
    return out


# Daily increase of a port's lost frames: the four counters summed per day (a reboot resets
# them together), today's total minus the previous day's (the whole total after a reset, when
# it went down). The window reaches one day before the previous period so that its first
# day has a base. Summing first halves the rows the window sorts.
_PORT_SQL = text(f"""
WITH s AS (
  SELECT device, series, day, sum(last) AS total FROM rollups
  WHERE measurement = 'interface' AND field IN ({", ".join(f"'{f}'" for f in PORT_COUNTERS)})
    AND day >= :base AND day <= :last
  GROUP BY device, series, day
), d AS (
  SELECT device, series, day, total,
         lag(total) OVER (PARTITION BY device, series ORDER BY day) AS before
  FROM s
), inc AS (
  SELECT device, series, day,
         CASE WHEN before IS NULL THEN 0 WHEN total >= before THEN total - before ELSE total END AS n
  FROM d
)
SELECT device, series,
       sum(CASE WHEN day >= :first THEN n ELSE 0 END),
       sum(CASE WHEN day >= :prev_first AND day <= :prev_last THEN n ELSE 0 END),
       sum(CASE WHEN day >= :recent THEN n ELSE 0 END),
       sum(CASE WHEN day >= :earlier AND day < :recent THEN n ELSE 0 END)
FROM inc GROUP BY device, series
""")


def port_errors(engine: Engine, first: date, last: date, prev: tuple[date, date]) -> list[dict[str, Any]]:
    """Per device the ports that lost most frames (errors + discards, in and out) in the period,
    with the previous period's count and whether they are rising (more in the last 30 days
    than in the 30 before, at least 10)."""
    recent = last - timedelta(days=RISING_DAYS - 1)
    params = {"base": (min(prev[0], first) - timedelta(days=1)).isoformat(), "last": last.isoformat(),
              "first": first.isoformat(), "prev_first": prev[0].isoformat(),
              "prev_last": prev[1].isoformat(), "recent": recent.isoformat(),
              "earlier": (recent - timedelta(days=RISING_DAYS)).isoformat()}
    with engine.connect() as conn:
        rows = list(conn.execute(_PORT_SQL, params))
    by_device: dict[str, list[dict[str, Any]]] = {}
    for device, tags, now, then, lately, before in rows:
        if not now and not then:
            continue
        by_device.setdefault(device, []).append({
            "device": device, "port": instance(json.loads(tags)), "errors": int(now or 0),
            "prev_errors": int(then or 0), "last_30": int(lately or 0), "before_30": int(before or 0),
            "rising": (lately or 0) >= RISING_MIN and (lately or 0) > (before or 0)})
    out = []
    for ports in by_device.values():
        ports.sort(key=lambda p: (-p["errors"], p["port"]))
        out += ports[:PORTS_PER_DEVICE]
    out.sort(key=lambda p: (-p["errors"], p["device"], p["port"]))
    return out
