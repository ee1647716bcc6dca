"""The monthly service summary (月度服务报告): cases handled per level, handling and on-time
rates, top devices and checks, inspection completion on working days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from agent.cases.calendar import Calendar
from agent.cases.queries import list_cases
from agent.store.runs import list_runs
from reports.i18n import LABELS
from reports.ledger import period_bounds
from reports.remediations import OUTCOMES, applied, by_playbook, human_bytes, outcome_text
from reports.sla import sla_summary
from reports.templating import ENV


def monthly_data(engine: Engine, month: date, tz: Any, calendar: Calendar,
                 now: float | None = None) -> dict[str, Any]:
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    since, until = period_bounds(first, last, tz)
    now = now if now is not None else datetime.now(UTC).timestamp()
    sla = sla_summary(engine, since, until, now)
    cases = [c for c in list_cases(engine, "all", since=since, until=until) if not c.suppressed_by]
    handled = [c for c in cases if c.status in ("resolved", "closed")]
    per_level = []
    for row in sla["levels"]:
        mine = [c for c in cases if c.opened_level == row["level"]]
        per_level.append({**row, "handled": sum(c.status in ("resolved", "closed") for c in mine),
                          "closed": sum(c.status == "closed" for c in mine)})
    runs = list_runs(engine, since, until)
    run_days = {datetime.fromtimestamp(r["started_at"], UTC).astimezone(tz).date() for r in runs}
    today = datetime.fromtimestamp(now, UTC).astimezone(tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    working = [d for d in days if calendar.is_working_day(d) and d <= today]
    missed = [d.isoformat() for d in working if d not in run_days]
    fixes = applied(engine, since, until, tz)
    return {
        "report": "monthly", "month": f"{first:%Y-%m}", "timezone": str(tz), "calendar": calendar.name,
        "cases": len(cases), "handled": len(handled),
        "handling_rate": round(len(handled) / len(cases), 4) if cases else None,
        "levels": per_level, "breaches": sla["breaches"],
        "top_devices": Counter(c.device for c in cases).most_common(10),
        "top_checks": Counter(c.check for c in cases).most_common(10),
        "inspections": {"runs": len(runs), "working_days": len(working),
                        "days_inspected": len([d for d in working if d in run_days]), "missed_days": missed},
        "remediations": {"count": len(fixes), "bytes_freed": sum(r["bytes_freed"] for r in fixes),
                         "by_playbook": by_playbook(fixes), "runs": fixes},
        "generated": datetime.fromtimestamp(now, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    }


def monthly_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    t = LABELS[lang]
    m = t["monthly"]
    return ENV.get_template(f"monthly.{fmt}.j2").render(**data, t=t, m=m, lang=lang, size=human_bytes,
                                                        outcomes=lambda o: outcome_text(o, m["results"]))


def monthly_xlsx(data: dict[str, Any], lang: str) -> bytes:
    from openpyxl import Workbook

    from reports.docx_monthly import on_time, rate
    from reports.xlsx import finish, sheet

    t = LABELS[lang]
    m = t["monthly"]
    wb = Workbook()
    i = data["inspections"]
    sheet(wb, m["title"], [m["month"], data["month"]], [
        [m["cases"], data["cases"]], [m["handled"], data["handled"]],
        [m["handling_rate"], rate(data["handling_rate"])], [m["runs"], i["runs"]],
        [f"{m['working_days']} ({m['calendar']} {data['calendar']})", i["working_days"]],
        [m["days_inspected"], i["days_inspected"]],
        [m["missed_days"], ", ".join(i["missed_days"]) or m["none"]]],
        first=True)
    sheet(wb, m["per_level"], [m["level"], m["cases"], m["handled"], m["closed"], m["response_on_time"],
                               m["repair_on_time"]],
          [[t["levels"][lv["level"]], lv["cases"], lv["handled"], lv["closed"], on_time(lv["response"]),
            on_time(lv["repair"])] for lv in data["levels"]])
    sheet(wb, m["breaches"], [t["case"], t["device"], t["check"], t["response_sla"], t["repair_sla"]],
          [[b["case"], b["device"], f"{b['check']} {b['instance']}".strip(), t["sla_state"][b["response"]],
            t["sla_state"][b["repair"]]] for b in data["breaches"]])
    sheet(wb, m["top_devices"], [t["device"], m["count"]], [list(x) for x in data["top_devices"]])
    sheet(wb, m["top_checks"], [t["check"], m["count"]], [list(x) for x in data["top_checks"]])
    fixes = data["remediations"]
    sheet(wb, m["remediations"], [m["playbook"], m["runs_of"], *[m["results"][o] for o in OUTCOMES],
                                  f"{m['freed']} (B)"],
          [[b["playbook"], b["runs"], *[b["outcomes"][o] for o in OUTCOMES], b["bytes_freed"]]
           for b in fixes["by_playbook"]])
    sheet(wb, f"{m['remediations']} ({m['what']})",
          [m["at"], t["device"], m["playbook"], m["actor"], m["outcomes"], f"{m['freed']} (B)", m["what"],
           t["case"]],
          [[r["at"], r["device"], r["playbook"], r["actor"], m["results"].get(r["result"], r["result"]),
            r["bytes_freed"], r["message"], r["case"]] for r in fixes["runs"]])
    return finish(wb, data, lang)
