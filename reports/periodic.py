"""The periodic inspection report (定期巡检报告), e.g. every half year: cover, summary with the
previous period beside it, per-device check matrix with evidence, trends with projections,
fault cases with SLA, recommendations and a sign-off block. The data is gathered here,
language-free and JSON-able (it is hashed and embedded); templates lay it out."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, case, func, select

from agent.cases.queries import list_cases
from agent.store.assets import asset_history, list_assets
from agent.store.schema import inspection_results, inspection_runs, playbook_runs, rollups
from reports.fault import sla_state
from reports.i18n import LABELS
from reports.ledger import period_bounds

_env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html.j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_env.filters["growth_row"] = lambda g: [
    g["device"], g["series"], f"{g['last']:.1f}{g['unit']}", f"{g['peak']:.1f}{g['unit']}",
    None if g["growth_per_day"] is None else f"{g['growth_per_day']:+.3f}", g["days_until_full"]]
_env.filters["peak_row"] = lambda k: [k["device"], k["metric"], f"{k['peak']}{k['unit']}", k["peak_day"],
                                      f"{k['average']}{k['unit']}"]

VERDICTS = ("pass", "warn", "fail", "not collected")
WORST = ("fail", "not collected", "warn", "pass")
# ASCII: the matrix is monospace text, where ✓/✗ may take two columns in a CJK font.
SYMBOLS = {"pass": ".", "warn": "!", "fail": "X", "not collected": "?"}
SHOWN = 100  # rows of a long table in the PDF/HTML/DOCX, most urgent first; everything is in the XLSX
# (measurement, field, unit, limit): metrics whose growth is projected to a limit
GROWTH = (("disk", "used_percent", "%", 100.0), ("oracle_tablespace", "used_percent", "%", 100.0))
PEAKS = (("cpu", "usage_active", "%"), ("mem", "used_percent", "%"), ("system", "load1", ""))
FULL_WITHIN_DAYS = 90
CHARTS = 8  # charts for the fastest-growing series; the rest are in tables


def parse_period(text: str) -> tuple[date, date]:
    """2026H1, 2026H2, 2026Q3, 2026-11, or 2026 → first and last day."""
    m = re.fullmatch(r"(\d{4})(?:(H[12])|(Q[1-4])|-(\d{2}))?", text.strip())
    if m is None:
        raise ValueError(f"a period like 2026H1, 2026Q3, 2026-11 or 2026, got {text!r}")
    year = int(m.group(1))
    if m.group(2):
        first_month, months = (1 if m.group(2) == "H1" else 7), 6
    elif m.group(3):
        first_month, months = 3 * (int(m.group(3)[1]) - 1) + 1, 3
    elif m.group(4):
        first_month, months = int(m.group(4)), 1
        if not 1 <= first_month <= 12:
            raise ValueError(f"no month {first_month} in {text!r}")
    else:
        first_month, months = 1, 12
    first = date(year, first_month, 1)
    end_month = first_month + months
    nxt = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _summary(engine: Engine, since: float, until: float, now: float,
             matrix: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The period's totals; the verdicts from the matrix when it was gathered already (one scan
    of the results, not two)."""
    with engine.connect() as conn:
        runs = conn.execute(select(inspection_runs.c.id).where(
            inspection_runs.c.started_at >= since, inspection_runs.c.started_at < until)).scalars().all()
        # counted in SQL: half a year is millions of rows, not to be fetched one by one
        verdicts = Counter({v: sum(c["counts"][v] for cells in matrix.values() for c in cells)
                            for v in VERDICTS}) if matrix is not None else Counter(dict(conn.execute(
            select(inspection_results.c.verdict, func.count())
            .where(_in_runs(inspection_results.c.run_id, runs))
            .group_by(inspection_results.c.verdict)).all())) if runs else Counter()
    cases = [c for c in list_cases(engine, "all", since=since, until=until) if not c.suppressed_by]
    total = sum(verdicts.values())
    on_time = {}
    for clock in ("response", "repair"):
        states = [sla_state(c, clock, now) for c in cases]
        met, missed = states.count("met"), states.count("missed")
        on_time[clock] = round(met / (met + missed), 4) if met + missed else None
    return {"runs": len(runs), "checks": total, "verdicts": {v: verdicts.get(v, 0) for v in VERDICTS},
            "pass_rate": round(verdicts.get("pass", 0) / total, 4) if total else None,
            "cases": len(cases), "cases_by_level": {str(lv): sum(c.opened_level == lv for c in cases)
                                                    for lv in (1, 2, 3)},
            "response_on_time": on_time["response"], "repair_on_time": on_time["repair"]}


def _in_runs(column: Any, ids: list[int]) -> Any:
    """run_id in these runs: a range (the index's first column) when they are consecutive."""
    lo, hi = min(ids), max(ids)
    return column.between(lo, hi) if hi - lo + 1 == len(ids) else column.in_(ids)


def _matrix(engine: Engine, since: float, until: float, tz: Any) -> dict[str, list[dict[str, Any]]]:
    """Per device: every check (and instance) with its verdict counts over the period and the
    latest result with its evidence. One aggregating pass in SQL (half a year is millions of
    rows), then the latest rows fetched run by run."""
    r, runs = inspection_results, inspection_runs
    with engine.connect() as conn:
        ids = list(conn.execute(select(runs.c.id).where(runs.c.started_at >= since,
                                                        runs.c.started_at < until)).scalars())
        if not ids:
            return {}
        key = (r.c.device, r.c.check_name, r.c.instance)
        tally = (select(*key, *[func.sum(case((r.c.verdict == v, 1), else_=0)) for v in VERDICTS],
                        func.max(r.c.run_id))
                 .where(_in_runs(r.c.run_id, ids)).group_by(*key))
        cells: dict[tuple[str, str, str], dict[str, Any]] = {}
        wanted: dict[int, set[tuple[str, str, str]]] = defaultdict(set)
        for device, check, instance, *counts, latest in conn.execute(tally):
            cells[(device, check, instance)] = {"check": f"{check} {instance}".strip(),
                                                "counts": dict(zip(VERDICTS, counts, strict=True))}
            wanted[latest].add((device, check, instance))
        started = dict(conn.execute(select(runs.c.id, runs.c.started_at)
                                    .where(runs.c.id.in_(list(wanted)))).all())
        for run_id, keys in wanted.items():
            at = datetime.fromtimestamp(started[run_id], UTC).astimezone(tz).strftime("%Y-%m-%d")
            for row in conn.execute(select(r).where(r.c.run_id == run_id)):
                k = (row.device, row.check_name, row.instance)
                if k in keys:
                    cells[k].update(last=row.verdict, value=row.value, unit=row.unit, threshold=row.threshold,
                                    evidence=(row.evidence or "")[:300], rule_version=row.rule_version, at=at)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (device, _, _), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[1]["check"])):
        out[device].append(cell)
    return dict(out)


def _instance(tags: dict[str, str]) -> str:
    """What a series is about, for people: a filesystem's path, a tablespace's name…"""
    for key in ("path", "tablespace", "name", "interface"):
        if key in tags:
            return f"{tags['con_name']} {tags[key]}" if tags.get("con_name") else tags[key]
    return " ".join(str(v) for v in tags.values())


def _trends(engine: Engine, first: date, last: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Growth (last value, peak, least-squares growth per day over the period's last 30 days,
    days until full) and peaks per device, aggregated in SQL over the daily rollups: half a
    year of 500 devices is hundreds of thousands of rows. The days of the period and the
    daily maxima are kept for the charted series only."""
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    recent = days[max(0, len(days) - 30)]
    ro = rollups
    x = func.julianday(ro.c.day) - func.julianday(days[0])  # day index in the period
    growth: list[dict[str, Any]] = []
    peaks: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for measurement, field, unit, limit in GROWTH:
            where = (ro.c.measurement == measurement, ro.c.field == field, ro.c.day >= days[0],
                     ro.c.day <= days[-1])
            key = (ro.c.device, ro.c.series)
            # SQLite: a bare column beside max() comes from the row holding the maximum
            lasts = {(d, se): v for d, se, _, v in conn.execute(
                select(*key, func.max(ro.c.day), ro.c.max).where(*where).group_by(*key))}
            top = dict(((d, se), v) for d, se, v in conn.execute(
                select(*key, func.max(ro.c.max)).where(*where).group_by(*key)))
            fits = {(d, se): rest for d, se, *rest in conn.execute(
                select(*key, func.count(), func.sum(x), func.sum(ro.c.max), func.sum(x * x),
                       func.sum(x * ro.c.max)).where(*where, ro.c.day >= recent).group_by(*key))}
            for (device, tags), last_value in sorted(lasts.items()):
                slope = _slope(*fits.get((device, tags), (0, 0, 0, 0, 0)))
                instance = _instance(json.loads(tags))
                until_full = round((limit - last_value) / slope, 1) if slope and slope > 0 else None
                growth.append({
                    "device": device, "measurement": measurement, "series": instance, "unit": unit,
                    "limit": limit, "label": f"{device} {instance}", "key": [measurement, field, tags],
                    "last": last_value, "peak": top[(device, tags)],
                    "growth_per_day": round(slope, 4) if slope is not None else None,
                    "days_until_full": until_full})
        for measurement, field, unit in PEAKS:
            q = (select(ro.c.device, func.max(ro.c.max), ro.c.day, func.sum(ro.c.sum), func.sum(ro.c.count))
                 .where(ro.c.measurement == measurement, ro.c.field == field, ro.c.day >= days[0],
                        ro.c.day <= days[-1]).group_by(ro.c.device).order_by(ro.c.device))
            for device, peak, day, total, count in conn.execute(q):
                peaks.append({"device": device, "metric": f"{measurement}.{field}", "unit": unit,
                              "peak": round(peak, 2), "peak_day": day, "average": round(total / count, 2)})
        growth.sort(key=lambda g: (g["days_until_full"] is None, g["days_until_full"] or 0, g["label"]))
        for g in growth[:CHARTS]:
            measurement, field, tags = g.pop("key")
            by_day = dict(conn.execute(select(ro.c.day, ro.c.max).where(
                ro.c.device == g["device"], ro.c.measurement == measurement, ro.c.field == field,
                ro.c.series == tags, ro.c.day >= days[0], ro.c.day <= days[-1])).all())
            g.update(days=days, max=[by_day.get(d) for d in days])
        for g in growth[CHARTS:]:
            del g["key"]
    return growth, peaks


def _slope(n: int, sx: float, sy: float, sxx: float, sxy: float) -> float | None:
    """Least-squares growth per day from the sums."""
    if n < 3:
        return None
    den = n * sxx - sx * sx
    return (n * sxy - sx * sy) / den if den else None


def _remediations(engine: Engine, since: float, until: float, tz: Any) -> list[dict[str, Any]]:
    """Playbooks applied in the period (plans are not remediations), with what they freed."""
    q = (select(playbook_runs).where(playbook_runs.c.started_at >= since, playbook_runs.c.started_at < until,
                                     playbook_runs.c.mode == "apply")
         .order_by(playbook_runs.c.started_at))
    with engine.connect() as conn:
        return [{"at": datetime.fromtimestamp(r.started_at, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                 "device": r.device, "playbook": r.playbook, "actor": r.actor, "result": r.result,
                 "bytes_freed": r.bytes_freed, "case": r.case_number or "", "message": r.message[:200]}
                for r in conn.execute(q)]


def periodic_data(engine: Engine, first: date, last: date, tz: Any, devices: list[dict[str, Any]],
                  cover: dict[str, str], now: float | None = None) -> dict[str, Any]:
    now = now if now is not None else datetime.now(UTC).timestamp()
    since, until = period_bounds(first, last, tz)
    length = last - first + timedelta(days=1)
    prev_first, prev_last = first - length, first - timedelta(days=1)
    p_since, p_until = period_bounds(prev_first, prev_last, tz)
    matrix = _matrix(engine, since, until, tz)
    summary = _summary(engine, since, until, now, matrix)
    previous = _summary(engine, p_since, p_until, now)
    growth, peaks = _trends(engine, first, last)

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"

    cases = [{"number": c.number, "device": c.device, "check": f"{c.check} {c.instance}".strip(),
              "opened_level": c.opened_level, "level": c.level, "status": c.status,
              "opened": when(c.opened_at), "responded": when(c.acknowledged_at),
              "repaired": when(c.resolved_at), "response_sla": sla_state(c, "response", now),
              "repair_sla": sla_state(c, "repair", now), "cause": c.cause, "handling": c.handling}
             for c in list_cases(engine, "all", since=since, until=until) if not c.suppressed_by]
    recommendations = []
    for g in growth:
        if g["days_until_full"] is not None and g["days_until_full"] <= FULL_WITHIN_DAYS:
            recommendations.append({"kind": "full_soon", "device": g["device"], "subject": g["series"],
                                    "days": g["days_until_full"], "growth": g["growth_per_day"]})
    for device, cells in matrix.items():
        for cell in cells:
            bad = cell["counts"]["fail"] + cell["counts"]["not collected"]
            if bad and bad >= 0.2 * sum(cell["counts"].values()):
                recommendations.append({"kind": "often_failing", "device": device, "subject": cell["check"],
                                        "count": bad, "of": sum(cell["counts"].values())})
    kinds = Counter(d["kind"] for d in devices)
    # The matrix people read: devices × checks, the worst latest verdict over a check's
    # instances; details only where something is not a pass (the rest is in the XLSX).
    grid: dict[str, dict[str, str]] = {}
    columns: dict[str, set[str]] = defaultdict(set)
    exceptions = []
    kind_of = {d["name"]: d["kind"] for d in devices}
    for device, cells in matrix.items():
        row: dict[str, str] = {}
        for cell in cells:
            base = cell["check"].split(" ", 1)[0]
            columns[kind_of.get(device, "")].add(base)
            latest = cell.get("last", "not collected")
            if base not in row or WORST.index(latest) < WORST.index(row[base]):
                row[base] = latest
            if latest != "pass":
                exceptions.append({"device": device, **cell})
        grid[device] = row
    exceptions.sort(key=lambda e: WORST.index(e.get("last", "not collected")))  # the worst first: capped
    peaks.sort(key=lambda k: -k["peak"])
    return {
        "report": "periodic", "timezone": str(tz), "cover": cover,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "previous_period": {"from": prev_first.isoformat(), "to": prev_last.isoformat()},
        "devices_by_kind": dict(sorted(kinds.items())), "devices": devices,
        "summary": summary, "previous": previous, "matrix": matrix, "grid": grid,
        "columns": {k: sorted(v) for k, v in sorted(columns.items())}, "exceptions": exceptions,
        "growth": growth, "charts": [g["label"] for g in growth[:CHARTS]], "peaks": peaks,
        "cases": cases, "recommendations": recommendations,
        "remediations": _remediations(engine, since, until, tz),
        "assets": [{k: v for k, v in a.items() if k not in ("first_seen", "updated_at")}
                   for a in list_assets(engine) if a["device"] in {d["name"] for d in devices}],
        "asset_changes": [{**c, "at": when(c["at"])} for c in asset_history(engine, None, since, until)],
        "generated": when(now),
    }


def periodic_xlsx(data: dict[str, Any], lang: str) -> bytes:
    """The annex: every device × check with its evidence, every growth series, every case."""
    from openpyxl import Workbook

    from reports.xlsx import finish, sheet

    t = LABELS[lang]
    p, verdicts = t["periodic"], t["ledger"]["verdicts"]
    wb = Workbook()
    sheets = [
        (p["matrix"], [p["device"], p["check"], p["last"], "pass", "warn", "fail", "not collected",
                       p["value"], p["threshold"], p["evidence"]],
         [[device, c["check"], verdicts.get(c.get("last", ""), ""), *[c["counts"][v] for v in VERDICTS],
           c.get("value"), c.get("threshold", ""), c.get("evidence", "")]
          for device, cells in data["matrix"].items() for c in cells]),
        (p["growth"], [p["device"], p["series"], p["last_value"], p["peak"], p["per_day"], p["until_full"]],
         [[g["device"], g["series"], g["last"], g["peak"], g["growth_per_day"], g["days_until_full"]]
          for g in data["growth"]]),
        (p["peaks"], [p["device"], p["metric"], p["peak"], p["peak_day"], p["average"]],
         [[k["device"], k["metric"], k["peak"], k["peak_day"], k["average"]] for k in data["peaks"]]),
        (p["fault_cases"], [t["case"], t["device"], t["check"], t["opened_level"], t["level"], t["began"],
                            t["responded"], t["repaired"], t["response_sla"], t["repair_sla"], t["cause"],
                            t["handling"]],
         [[c["number"], c["device"], c["check"], c["opened_level"], c["level"], c["opened"], c["responded"],
           c["repaired"], t["sla_state"][c["response_sla"]], t["sla_state"][c["repair_sla"]], c["cause"],
           c["handling"]] for c in data["cases"]]),
        (p["remediations"], [p["at"], p["device"], p["playbook"], p["actor"], p["result"], p["freed"],
                             t["case"]],
         [[r["at"], r["device"], r["playbook"], r["actor"], r["result"], r["bytes_freed"], r["case"]]
          for r in data["remediations"]]),
        (p["recommendations"], [p["recommendations"]],
         [[p[r["kind"]].format(**r)] for r in data["recommendations"]]),
    ]
    keys = ["device", *sorted({k for a in data["assets"] for k in a} - {"device"})]
    sheets.append((p["assets"], keys, [[a.get(k, "") for k in keys] for a in data["assets"]]))
    sheets.append((p["asset_changes"], [p["at"], p["device"], "field", "old", "new"],
                   [[c["at"], c["device"], c["field"], c["old"], c["new"]] for c in data["asset_changes"]]))
    for i, (title, header, rows) in enumerate(sheets):
        sheet(wb, title, header, rows, first=i == 0)
    return finish(wb, data, lang)


def _width(text: str) -> int:
    """Columns in a monospace CJK font: wide and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_table(header: list[str], rows: list[list[Any]]) -> str:
    """A table as aligned monospace lines: one text block lays out far faster in WeasyPrint than
    hundreds of table cells (see bench/bench_report.py)."""
    cells = [[str(c) for c in header]] + [["-" if c in (None, "—") else str(c) for c in r] for r in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)


def periodic_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    from reports.charts import chart_for, data_uri

    t = LABELS[lang]
    charts = {}
    if fmt == "html":
        by_label = {g["label"]: g for g in data["growth"]}
        charts = {label: data_uri(chart_for(by_label[label], lang)) for label in data["charts"]}
    return _env.get_template(f"periodic.{fmt}.j2").render(**data, t=t, p=t["periodic"], lang=lang,
                                                          chart_images=charts, shown=SHOWN,
                                                          text_table=text_table,
                                                          symbols=SYMBOLS)
