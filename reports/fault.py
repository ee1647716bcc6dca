"""The fault report (故障处理报告) of one case: Markdown or HTML, zh-CN or en.

The report model is gathered from the store here; the templates only lay it out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from agent.cases.policy import CasePolicy
from agent.cases.queries import case_history, case_tickets, get_case
from agent.model import Case
from reports.i18n import LABELS, duration_text
from reports.render import render
from reports.templating import ENV


def sla_state(case: Case, clock: str, now: float) -> str:
    """met | missed | running for the response or repair clock of a case."""
    breached = case.response_breached if clock == "response" else case.repair_breached
    due = case.response_due if clock == "response" else case.repair_due
    stopped = (case.acknowledged_at or case.resolved_at) if clock == "response" else case.resolved_at
    if breached:
        return "missed"
    if stopped is not None:
        return "missed" if due is not None and stopped > due else "met"
    if case.paused_at is None and due is not None and now > due:
        return "missed"
    return "running"


def fault_report_data(engine: Engine, policy: CasePolicy, number: str,
                      now: float | None = None) -> dict[str, Any] | None:
    """The fault report's data: language-free and JSON-able (it is hashed and embedded)."""
    case = get_case(engine, number)
    if case is None:
        return None
    now = now if now is not None else datetime.now(UTC).timestamp()
    events = case_history(engine, number)

    def when(ts: float | None) -> str:
        if not ts:
            return "—"
        return datetime.fromtimestamp(ts, UTC).astimezone(policy.tz).strftime("%Y-%m-%d %H:%M:%S")

    levels = []
    for e in events:
        lv = e["detail"].get("level")
        if e["kind"] in ("open", "escalate", "update") and (not levels or levels[-1]["level"] != lv):
            levels.append({"level": lv, "at": when(e["at"]), "why": e["kind"]})
    timeline = []
    for e in events:
        d = e["detail"]
        timeline.append({"seq": e["seq"], "at": when(e["at"]), "kind": e["kind"], "actor": e["actor"],
                         "level": d.get("level"), "clock": d.get("clock"), "parent": d.get("parent"),
                         "cause": d.get("cause"), "handling": d.get("handling"),
                         "said": d.get("note") or d.get("message") or d.get("reason") or ""})
    recovery = (case.resolved_at - case.opened_at) if case.resolved_at else None
    return {
        "report": "fault", "timezone": str(policy.tz), "generated": when(now),
        "case": case.to_dict(), "levels": levels, "timeline": timeline,
        "began": when(case.opened_at), "responded": when(case.acknowledged_at),
        "repaired": when(case.resolved_at), "closed": when(case.closed_at),
        "recovery_seconds": recovery, "paused_seconds": case.paused_seconds,
        "response_due": when(case.response_due), "repair_due": when(case.repair_due),
        "response_sla": sla_state(case, "response", now), "repair_sla": sla_state(case, "repair", now),
        "tickets": case_tickets(engine, number),
    }


def fault_report_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    t = LABELS[lang]
    extra = {
        "t": t, "lang": lang,
        "recovery": duration_text(data["recovery_seconds"], lang) if data["recovery_seconds"] is not None
        else t["not_yet"],
        "paused": duration_text(data["paused_seconds"], lang) if data["paused_seconds"] else "",
    }
    return ENV.get_template(f"fault_report.{fmt}.j2").render(**data, **extra)


def render_fault_report(engine: Engine, policy: CasePolicy, number: str, fmt: str = "md",
                        lang: str = "zh-CN", now: float | None = None) -> bytes | None:
    data = fault_report_data(engine, policy, number, now)
    if data is None:
        return None
    return render("fault", data, fmt, lang)


def fault_report_xlsx(data: dict[str, Any], lang: str) -> bytes:
    from openpyxl import Workbook

    from reports.docx_fault import said
    from reports.xlsx import finish, sheet

    t = LABELS[lang]
    case = data["case"]
    wb = Workbook()
    sheet(wb, case["number"], [t["case"], case["number"]], [
        [t["device"], case["device"]], [t["check"], f"{case['check']} {case['instance']}".strip()],
        [t["message"], case["message"]], [t["level"], t["levels"][case["level"]]],
        [t["opened_level"], t["levels"][case["opened_level"]]], [t["status"], t["states"][case["status"]]],
        [t["fault_type"], case["fault_type"] or "—"], [t["began"], data["began"]],
        [t["responded"], data["responded"]], [t["repaired"], data["repaired"]], [t["closed"], data["closed"]],
        [t["recovery"], duration_text(data["recovery_seconds"], lang) if data["recovery_seconds"] is not None
         else t["not_yet"]],
        [t["response_sla"], data["response_due"], t["sla_state"][data["response_sla"]]],
        [t["repair_sla"], data["repair_due"], t["sla_state"][data["repair_sla"]]],
        [t["cause"], case["cause"] or "—"], [t["handling"], case["handling"] or "—"],
        [t["loss"], case["loss"] or t["none"]]], first=True)
    sheet(wb, t["timeline"], ["#", t["at"], t["event"], t["level"], t["actor"], t["note"]],
          [[e["seq"], e["at"], t["events"].get(e["kind"], e["kind"]), t["levels"].get(e["level"], ""),
            t["system"] if e["actor"] == "system" else (e["actor"] or "—"), said(e, t)]
           for e in data["timeline"]])
    return finish(wb, data, lang)
