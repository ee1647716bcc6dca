"""The daily inspection ledger (日常巡检记录) for a day or a month: every recorded run,
every device, verdicts, the exceptions and what was done about them (case events)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import Engine

from agent.cases.queries import events_between
from agent.store.runs import list_runs, run_results
from reports.i18n import LABELS
from reports.templating import ENV

VERDICTS = ("pass", "warn", "fail", "not collected")


def period_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[float, float]:
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    end = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
    return start.timestamp(), end.timestamp()


def ledger_data(engine: Engine, first: date, last: date, tz: ZoneInfo) -> dict[str, Any]:
    """The ledger's data: language-free and JSON-able (it is hashed and embedded)."""
    since, until = period_bounds(first, last, tz)

    def when(ts: float | None) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"

    runs = []
    for r in list_runs(engine, since, until):
        results = [{"device": x["device"], "check": f"{x['check_name']} {x['instance']}".strip(),
                    "verdict": x["verdict"], "value": x["value"], "unit": x["unit"],
                    "threshold": x["threshold"], "message": x["message"], "evidence": x["evidence"],
                    "rule_version": x["rule_version"], "collected": when(x["collected_at"])}
                   for x in run_results(engine, r["id"])]
        counts = Counter(x["verdict"] for x in results)
        runs.append({"id": r["id"], "started": when(r["started_at"]), "finished": when(r["finished_at"]),
                     "by": r["started_by"], "trigger": r["trigger"], "devices": r["devices"],
                     "scope": {"devices": list(r["scope"].get("devices") or []),
                               "groups": list(r["scope"].get("groups") or [])},
                     "checks": len(results), "counts": {v: counts.get(v, 0) for v in VERDICTS},
                     "results": results})
    actions = [{"case": e["case"], "at": when(e["at"]), "kind": e["kind"], "actor": e["actor"],
                "said": _said(e["detail"])}
               for e in events_between(engine, since, until)
               if e["kind"] in ("open", "ack", "assign", "note", "resolve", "close", "escalate", "reopen")]
    period = f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} … {last:%Y-%m-%d}"
    return {"report": "ledger", "period": period, "timezone": str(tz), "runs": runs, "actions": actions,
            "generated": when(datetime.now(UTC).timestamp())}


def scope_text(scope: dict[str, list[str]], lt: dict[str, Any]) -> str:
    """What a run covered: the groups and devices it was started on, or the whole inventory."""
    parts = [f"{lt[word]}: {', '.join(scope[k])}"
             for k, word in (("groups", "groups"), ("devices", "devices_in_scope")) if scope.get(k)]
    return "; ".join(parts) or lt["all_devices"]


def _said(d: dict[str, Any]) -> str:
    return str(d.get("note") or d.get("cause") or d.get("message") or "")


def ledger_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    t = LABELS[lang]
    lt = t["ledger"]
    return ENV.get_template(f"ledger.{fmt}.j2").render(**data, t=t, l=lt, lang=lang,
                                                       scope_text=lambda s: scope_text(s, lt))


def ledger_xlsx(data: dict[str, Any], lang: str) -> bytes:
    from reports.xlsx import finish

    return finish(_workbook(data, LABELS[lang]), data, lang)


def _workbook(model: dict[str, Any], t: dict[str, Any]) -> Workbook:
    lt = t["ledger"]
    wb = Workbook()
    ws = wb.active
    ws.title = lt["sheet_runs"]
    bold = Font(bold=True)
    ws.append([lt["title"], model["period"]])
    ws["A1"].font = bold
    ws.append([])
    ws.append([lt["run"], lt["started"], lt["by"], lt["trigger"], lt["scope"], lt["devices"], lt["checks"],
               *[lt["verdicts"][v] for v in VERDICTS]])
    for cell in ws[3]:
        cell.font = bold
    for r in model["runs"]:
        ws.append([r["id"], r["started"], r["by"], lt["triggers"].get(r["trigger"], r["trigger"]),
                   scope_text(r["scope"], lt), r["devices"], r["checks"],
                   *[r["counts"][v] for v in VERDICTS]])
    detail = wb.create_sheet(lt["sheet_results"])
    detail.append([lt["run"], lt["device"], lt["check"], lt["verdict"], lt["value"], lt["threshold"],
                   lt["message"], lt["collected"], lt["rule_version"], lt["evidence"]])
    for cell in detail[1]:
        cell.font = bold
    colour = {"warn": "FFF2CC", "fail": "F4CCCC", "not collected": "E6D9F2"}
    for r in model["runs"]:
        for x in r["results"]:
            detail.append([r["id"], x["device"], x["check"], lt["verdicts"][x["verdict"]], x["value"],
                           x["threshold"],
                           x["message"], x["collected"], x["rule_version"], x["evidence"]])
            if x["verdict"] in colour:
                detail.cell(detail.max_row, 4).fill = PatternFill("solid", fgColor=colour[x["verdict"]])
    detail.freeze_panes = "A2"
    return wb
