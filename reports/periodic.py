"""The periodic inspection report (定期巡检报告), e.g. every half year: cover, summary with the
previous period beside it and what changed since, asset register, per-device check matrix
with evidence, trends (periodic_trends), fault cases with SLA, remediations with
before/after, recommendations (periodic_changes) and a sign-off block. The data is gathered
here, language-free and JSON-able (it is hashed and embedded); templates lay it out."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select

from agent.cases.queries import list_cases
from agent.store.assets import asset_history, list_assets
from agent.store.schema import cases as cases_table
from agent.store.schema import inspection_results, inspection_runs
from reports import periodic_trends as trends
from reports.fault import sla_state
from reports.i18n import LABELS
from reports.ledger import period_bounds
from reports.periodic_backups import backup_row, backup_rows
from reports.periodic_changes import (
    end_of,
    exception_changes,
    latest_verdicts,
    recommendations,
    run_ids,
    version_drift,
)
from reports.remediations import applied_query, run_row
from reports.templating import ENV

_env = ENV  # the contractor's override directory first, the package's templates second


def _num(v: float | str | None, unit: str = "", fmt: str = "{:.1f}") -> str:
    if isinstance(v, str):
        return v
    return "-" if v is None else fmt.format(v) + unit


def growth_row(g: dict[str, Any]) -> list[Any]:
    u = g["unit"]
    return [g["device"], g["series"], _num(g["last"], u), _num(g["peak"], u),
            None if g["growth_per_day"] is None else f"{g['growth_per_day']:+.3f}", g["days_until_full"],
            _num(g.get("prev_peak"), u), _num(g.get("change"), u, "{:+.1f}")]


def peak_row(k: dict[str, Any]) -> list[Any]:
    return [k["device"], k["metric"], f"{k['peak']}{k['unit']}", k["peak_day"], f"{k['average']}{k['unit']}",
            _num(k.get("prev_peak"), k["unit"], "{}")]


def port_row(p: dict[str, Any]) -> list[Any]:
    return [p["device"], p["port"], p["errors"], p["prev_errors"], f"{p['before_30']} → {p['last_30']}",
            "↑" if p["rising"] else ""]


def remediation_change(r: dict[str, Any], verdicts: dict[str, str]) -> str:
    """The check before → after (verdict and value), then the facts the playbook recorded."""
    parts = []
    if r["check"]:
        def one(x: dict[str, Any] | None) -> str:
            if not x:
                return "-"
            value = "" if x["value"] is None else f" {x['value']:g}{x['unit']}"
            return f"{verdicts.get(x['verdict'], x['verdict'])}{value}"
        parts.append(f"{r['check']}: {one(r['check_before'])} → {one(r['check_after'])}")
    for f in r["facts"]:
        before, after = _num(f["before"], f["unit"], "{:g}"), _num(f["after"], f["unit"], "{:g}")
        parts.append(f"{f['what']}: {before} → {after}")
    return "; ".join(parts)


_env.filters["growth_row"] = growth_row
_env.filters["peak_row"] = peak_row
_env.filters["port_row"] = port_row

VERDICTS = ("pass", "warn", "fail", "not collected")
WORST = ("fail", "not collected", "warn", "pass")
# ASCII: the matrix is monospace text, where ✓/✗ may take two columns in a CJK font; a pass
# and "no such check" must not look alike ('.' and '·' did).
SYMBOLS = {"pass": "+", "warn": "!", "fail": "X", "not collected": "?"}
NO_CHECK = "-"
SHOWN = 100  # rows of a long table in the PDF/HTML/DOCX, most urgent first; everything is in the XLSX
CHARTS = trends.CHARTS
PEAK_CHART = 10  # devices in each CPU / memory peak chart
# asset fields shown first, in this order; every other field follows, sorted
ASSET_ORDER = ("kind", "model", "serial", "hardware_rev", "firmware_rev", "software_rev")


def parse_period(text: str) -> tuple[date, date]:
    """2026H1, 2026H2, 2026Q3, 2026-11, or 2026 → first and last day."""
    first, months = _period_start(text)
    return first, _add_months(first, months) - timedelta(days=1)


def previous_period(text: str) -> tuple[date, date]:
    """The calendar period before: 2026H1 → 2025H2, 2026Q1 → 2025Q4, 2026-03 → 2026-02."""
    first, months = _period_start(text)
    return _add_months(first, -months), first - timedelta(days=1)


def _add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def _period_start(text: str) -> tuple[date, int]:
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
    return date(year, first_month, 1), months


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
        ids = run_ids(conn, since, until)
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
                                    evidence=(row.evidence or "")[:300], rule_version=row.rule_version, at=at,
                                    message=(row.message or "")[:300])
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (device, _, _), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[1]["check"])):
        out[device].append(cell)
    return dict(out)


def _remediations(engine: Engine, since: float, until: float, tz: Any) -> list[dict[str, Any]]:
    """Playbooks applied in the period (plans are not remediations), each with what changed:
    the case's check at the last inspection before the run and the first one after it
    (verdict and value), and the facts the playbook recorded before and after (disk use of
    the roots it cleaned, bytes freed)."""
    out = []
    with engine.connect() as conn:
        for r in conn.execute(applied_query(since, until)).all():
            check = None
            if r.case_number:
                check = conn.execute(select(cases_table.c.check_name, cases_table.c.instance)
                                     .where(cases_table.c.number == r.case_number)).first()
            outputs = json.loads(r.outputs or "{}")
            before, after = outputs.get("before") or {}, outputs.get("after") or {}
            facts = [_fact(name, before.get(name) or {}, after.get(name) or {})
                     for name in sorted(set(before) | set(after)) if name.startswith(("disk ", "jvm "))]
            out.append({
                **run_row(r, tz),
                "check": f"{check[0]} {check[1]}".strip() if check else "",
                "check_before": check and _result_at(conn, r.device, check, r.started_at, before=True),
                "check_after": check and _result_at(conn, r.device, check, r.finished_at, before=False),
                "facts": facts})
    return out


def _fact(name: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """One before/after fact of a playbook run: a root's disk use, or a JVM's process ids
    (a restart changes them)."""
    if name.startswith("disk "):
        return {"what": f"{name} used", "unit": "%", "before": before.get("used_percent"),
                "after": after.get("used_percent")}
    def pids(x: dict[str, Any]) -> str | None:
        return x.get("error") or " ".join(str(p) for p in x.get("pids") or []) or None
    return {"what": f"{name} pids", "unit": "", "before": pids(before), "after": pids(after)}


def _result_at(conn: Any, device: str, check: Any, at: float, before: bool) -> dict[str, Any] | None:
    """The check's result at the last inspection before `at`, or the first one after it
    (among the nearest 10 runs: by run, which the results' index serves)."""
    r, runs = inspection_results, inspection_runs
    near = runs.c.started_at <= at if before else runs.c.started_at >= at
    ids = list(conn.execute(select(runs.c.id).where(near).limit(10)
                            .order_by(runs.c.started_at.desc() if before else runs.c.started_at)).scalars())
    rows = {row.run_id: row for row in conn.execute(
        select(r.c.run_id, r.c.verdict, r.c.value, r.c.unit).where(
            r.c.run_id.in_(ids), r.c.device == device, r.c.check_name == check[0], r.c.instance == check[1]))}
    row = next((rows[i] for i in ids if i in rows), None)
    return {"verdict": row.verdict, "value": row.value, "unit": row.unit} if row else None


def periodic_data(engine: Engine, first: date, last: date, tz: Any, devices: list[dict[str, Any]],
                  cover: dict[str, str], now: float | None = None,
                  previous: tuple[date, date] | None = None) -> dict[str, Any]:
    """Everything the report shows. `previous` is the period compared with: the calendar period
    before for --period (previous_period), else the same number of days before."""
    now = now if now is not None else datetime.now(UTC).timestamp()
    since, until = period_bounds(first, last, tz)
    length = last - first + timedelta(days=1)
    prev_first, prev_last = previous or (first - length, first - timedelta(days=1))
    p_since, p_until = period_bounds(prev_first, prev_last, tz)
    prev = (prev_first, prev_last)
    matrix = _matrix(engine, since, until, tz)
    summary = _summary(engine, since, until, now, matrix)
    previous_summary = _summary(engine, p_since, p_until, now)
    growth = trends.growth(engine, first, last, prev)
    peaks = trends.peaks(engine, first, last, prev)
    ports = trends.port_errors(engine, first, last, prev)

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"

    cases = [{"number": c.number, "device": c.device, "check": f"{c.check} {c.instance}".strip(),
              "opened_level": c.opened_level, "level": c.level, "status": c.status,
              "opened": when(c.opened_at), "responded": when(c.acknowledged_at),
              "repaired": when(c.resolved_at), "response_sla": sla_state(c, "response", now),
              "repair_sla": sla_state(c, "repair", now), "cause": c.cause, "handling": c.handling}
             for c in list_cases(engine, "all", since=since, until=until) if not c.suppressed_by]
    kinds = Counter(d["kind"] for d in devices)
    kind_of = {d["name"]: d["kind"] for d in devices}
    # The matrix people read: devices × checks, the worst latest verdict over a check's
    # instances; details only where something is not a pass (the rest is in the XLSX).
    grid: dict[str, dict[str, str]] = {}
    columns: dict[str, set[str]] = defaultdict(set)
    exceptions = []
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
    then = latest_verdicts(engine, *period_bounds(*end_of(prev_first, prev_last), tz))
    new, cleared = exception_changes(matrix, then)
    assets = [{"device": a["device"], "kind": kind_of[a["device"]],
               **{k: v for k, v in a.items() if k not in ("device", "kind", "first_seen", "updated_at")}}
              for a in list_assets(engine) if a["device"] in kind_of]
    asset_changes = [{**c, "at": when(c["at"])} for c in asset_history(engine, None, since, until)]
    drift = version_drift(assets)
    summary["asset_changes"] = len(asset_changes)
    previous_summary["asset_changes"] = len(asset_history(engine, None, p_since, p_until))
    return {
        "report": "periodic", "timezone": str(tz), "cover": cover,
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "previous_period": {"from": prev_first.isoformat(), "to": prev_last.isoformat()},
        "devices_by_kind": dict(sorted(kinds.items())), "devices": devices,
        "summary": summary, "previous": previous_summary,
        "changes": {"new": new, "cleared": cleared},
        "matrix": matrix, "grid": grid,
        "columns": {k: sorted(v) for k, v in sorted(columns.items())}, "exceptions": exceptions,
        "growth": growth, "charts": [g["label"] for g in growth[:CHARTS]], "peaks": peaks,
        "ports": ports, "cases": cases,
        "recommendations": recommendations(growth, matrix, ports, drift),
        "remediations": _remediations(engine, since, until, tz),
        "assets": assets, "asset_columns": asset_columns(assets), "version_drift": drift,
        "asset_changes": asset_changes, "backups": backup_rows(matrix),
        "generated": when(now),
    }


def asset_columns(assets: list[dict[str, Any]]) -> list[str]:
    """Every field any asset has (collectors add fields; none is hard-coded here), the usual ones first."""
    keys = {k for a in assets for k in a} - {"device"}
    return [k for k in ASSET_ORDER if k in keys] + sorted(keys - set(ASSET_ORDER))


def asset_label(p: dict[str, str], key: str) -> str:
    return p.get(f"asset_{key}", key)


def advice(r: dict[str, Any], p: dict[str, str]) -> str:
    """A recommendation in words (an asset field by its label)."""
    if r["kind"] == "version_drift":
        r = {**r, "subject": asset_label(p, r["subject"])}
    return p[r["kind"]].format(**r)


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
        (p["growth"], [p["device"], p["series"], p["last_value"], p["peak"], p["per_day"], p["until_full"],
                       p["prev_peak"], p["change"]],
         [[g["device"], g["series"], g["last"], g["peak"], g["growth_per_day"], g["days_until_full"],
           g.get("prev_peak"), g.get("change")] for g in data["growth"]]),
        (p["peaks"], [p["device"], p["metric"], p["peak"], p["peak_day"], p["average"], p["prev_peak"]],
         [[k["device"], k["metric"], k["peak"], k["peak_day"], k["average"], k.get("prev_peak")]
          for k in data["peaks"]]),
        (p["ports"], [p["device"], p["port"], p["port_errors"], p["prev_errors"], p["before_30"],
                      p["recent_30"], p["rising"]],
         [[x["device"], x["port"], x["errors"], x["prev_errors"], x["before_30"], x["last_30"],
           "↑" if x["rising"] else ""] for x in data["ports"]]),
        (p["changes_sheet"], [p["changes"], p["device"], p["check"], p["previous_period"], p["this_period"]],
         [[p[f"{part}_short"], c["device"], c["check"],
           verdicts.get(c["then"], p["not_checked"]), verdicts[c["now"]]]
          for part in ("new", "cleared") for c in data["changes"][part]]),
        (p["fault_cases"], [t["case"], t["device"], t["check"], t["opened_level"], t["level"], t["began"],
                            t["responded"], t["repaired"], t["response_sla"], t["repair_sla"], t["cause"],
                            t["handling"]],
         [[c["number"], c["device"], c["check"], c["opened_level"], c["level"], c["opened"], c["responded"],
           c["repaired"], t["sla_state"][c["response_sla"]], t["sla_state"][c["repair_sla"]], c["cause"],
           c["handling"]] for c in data["cases"]]),
        (p["remediations"], [p["at"], p["device"], p["playbook"], p["actor"], p["result"], p["freed"],
                             t["case"], p["before_after"]],
         [[r["at"], r["device"], r["playbook"], r["actor"], r["result"], r["bytes_freed"], r["case"],
           remediation_change(r, verdicts)] for r in data["remediations"]]),
        (p["recommendations"], [p["recommendations"]],
         [[advice(r, p)] for r in data["recommendations"]]),
    ]
    keys = data.get("asset_columns") or asset_columns(data["assets"])
    sheets.append((p["assets"], [p["device"], *[asset_label(p, k) for k in keys]],
                   [[a["device"], *[a.get(k, "") for k in keys]] for a in data["assets"]]))
    sheets.append((p["asset_changes"], [p["at"], p["device"], "field", "old", "new"],
                   [[c["at"], c["device"], c["field"], c["old"], c["new"]] for c in data["asset_changes"]]))
    if data.get("backups"):
        sheets.append((p["backups"], [p["device"], p["backup"], p["last"], p["backup_age"],
                                      p["backup_change"], p["backup_notes"]],
                       [backup_row(r, verdicts) for r in data["backups"]]))
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


def matrix_text(data: dict[str, Any], kind: str, cols: list[str]) -> str:
    """One line per device, one character per check, a line of column numbers every 50 devices:
    built here, not in the template, where trim_blocks ate the newlines inside the <pre>."""
    names = [d["name"] for d in data["devices"] if d["kind"] == kind]
    width = max(len(n) for n in names) + 2
    lines = []
    for i, name in enumerate(names):
        if i % 50 == 0:
            lines.append(" " * width + "".join(str((j + 1) % 10) for j in range(len(cols))))
        row = data["grid"].get(name, {})
        lines.append(name.ljust(width) + "".join(SYMBOLS[row[c]] if row.get(c) else NO_CHECK for c in cols))
    return "\n".join(lines)


def summary_charts(data: dict[str, Any], lang: str) -> list[tuple[str, bytes]]:
    """CPU and memory peaks (the highest devices) and the ports with most errors, each beside
    the previous period."""
    from reports.charts import bars_png

    p = LABELS[lang]["periodic"]
    legend = (p["this_period"], p["previous_period"])
    out = []
    for what in ("cpu", "memory"):
        top: dict[str, dict[str, Any]] = {}
        for k in data["peaks"]:  # sorted highest first: the first per device is its peak
            if k["what"] == what and k["device"] not in top:
                top[k["device"]] = k
        rows = list(top.values())[:PEAK_CHART]
        if rows:
            out.append((p[f"{what}_peaks"], bars_png(p[f"{what}_peaks"], [k["device"] for k in rows], {
                legend[0]: [k["peak"] for k in rows], legend[1]: [k["prev_peak"] for k in rows]}, "%")))
    ports = data["ports"][:PEAK_CHART]
    if ports:
        out.append((p["ports"], bars_png(p["ports"], [f"{x['device']} {x['port']}" for x in ports], {
            legend[0]: [x["errors"] for x in ports], legend[1]: [x["prev_errors"] for x in ports]}, "")))
    return out


def periodic_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    from reports.charts import chart_for, data_uri

    t = LABELS[lang]
    charts, bars = {}, []
    if fmt == "html":
        by_label = {g["label"]: g for g in data["growth"]}
        charts = {label: data_uri(chart_for(by_label[label], lang)) for label in data["charts"]}
        bars = [(title, data_uri(png)) for title, png in summary_charts(data, lang)]
    return _env.get_template(f"periodic.{fmt}.j2").render(
        **data, t=t, p=t["periodic"], lang=lang, chart_images=charts, bar_images=bars, shown=SHOWN,
        text_table=text_table, symbols=SYMBOLS, no_check=NO_CHECK,
        backup_table=[backup_row(r, t["ledger"]["verdicts"]) for r in data.get("backups", [])],
        matrix_text=lambda kind, cols: matrix_text(data, kind, cols), asset_label=asset_label,
        advice=lambda r: advice(r, t["periodic"]),
        asset_text=lambda a: "; ".join(f"{asset_label(t['periodic'], k)} {a[k]}"
                                       for k in data["asset_columns"] if a.get(k) not in (None, "")),
        change=lambda r: remediation_change(r, t["ledger"]["verdicts"]))
