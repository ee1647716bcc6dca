"""The fault report (故障处理报告) of one case: Markdown or HTML, zh-CN or en.

The report model is gathered from the store here; the templates only lay it out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from agent.cases.policy import CasePolicy
from agent.cases.queries import (
    case_history,
    case_report,
    case_tickets,
    get_case,
    named_clocks,
    visit_of,
)
from agent.cases.sla import LANGS
from agent.cases.targets import clock_state as sla_state  # the one judgement of a clock
from core.model import Case
from reports.i18n import duration_text, labels_for
from reports.render import render
from reports.templating import ENV


def _state(case: Case, clock: str, due: float, now: float) -> str:
    """The deadline in force, judged alone (an earlier level's miss is its own row)."""
    stopped = (case.acknowledged_at or case.resolved_at) if clock == "response" else case.resolved_at
    if stopped is not None:
        return "missed" if stopped > due else "met"
    if (clock == "response" or case.paused_at is None) and now > due:
        return "missed"
    return "running"


def _named(engine: Engine, number: str, now: float) -> list[dict[str, Any]]:
    """The named clocks (arrival, diagnosis, workaround, fault report submitted…) as deadline rows."""
    rows = []
    for c in named_clocks(engine, number):
        stopped = c["stopped_at"]
        if c["breached"] or (stopped is not None and stopped > c["due"]):
            state = "missed"
        elif stopped is not None:
            state = "met"
        else:
            state = "missed" if now > c["due"] else "running"
        rows.append({"clock": c["name"], "level": c["level"], "start": c["started_at"], "due": c["due"],
                     "state": state})
    return rows


def contract_deadlines(case: Case, events: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Every deadline the contract set on this case, in order: the ones each level's clocks were
    given (at opening, at each escalation, from the deadline that raised it) with whether each
    was met, missed, is still running, or was replaced by a new level's before it fell due."""
    missed = {(e["detail"].get("clock"), e["detail"].get("due")) for e in events if e["kind"] == "breach"}
    rows: list[dict[str, Any]] = []
    last: dict[str, float | None] = {}
    for e in events:
        d = e["detail"]
        if e["kind"] not in ("open", "escalate", "update") or "response_due" not in d:
            continue
        for clock in ("response", "repair"):
            due = d.get(f"{clock}_due")
            if due is None or last.get(clock) == due:
                continue  # not restarted (answered, or paused)
            last[clock] = due
            rows.append({"clock": clock, "level": d.get("level"), "start": d.get("clocks_from", e["at"]),
                         "due": due, "state": "missed" if (clock, due) in missed else "superseded"})
    if not rows:  # a case from before deadlines were recorded on its events: the ones in force
        rows = [{"clock": c, "level": case.level, "start": case.opened_at, "due": getattr(case, f"{c}_due"),
                 "state": ""} for c in ("response", "repair") if getattr(case, f"{c}_due") is not None]
    for clock in ("response", "repair"):
        current = [r for r in rows if r["clock"] == clock]
        if current and current[-1]["state"] != "missed":
            current[-1]["due"] = getattr(case, f"{clock}_due") or current[-1]["due"]  # pushed by pauses
            current[-1]["state"] = _state(case, clock, current[-1]["due"], now)
    return rows


def fault_report_data(engine: Engine, policy: CasePolicy, number: str,
                      now: float | None = None) -> dict[str, Any] | None:
    """The fault report's data: language-free and JSON-able (it is hashed and embedded)."""
    case = get_case(engine, number)
    if case is None:
        return None
    now = now if now is not None else datetime.now(UTC).timestamp()
    events = case_history(engine, number)
    sla = policy.sla(case.policy)

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
                         "due": when(d["due"]) if e["kind"] == "breach" and d.get("due") else None,
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
        "level_names": {lang: {str(lv): sla.level_name(lv, lang) for lv in sla.names} for lang in LANGS},
        "reported": None if (rep := case_report(engine, number)) is None else {
            **rep, "reported_at": when(rep["reported_at"]), "entered_at": when(rep["entered_at"])},
        "visit": None if (v := visit_of(events, now)) is None else {
            "rating": v["rating"], "comment": v["comment"], "by": v["by"],
            "visited_at": when(v["visited_at"])},
        "deadlines": [{**r, "start": when(r["start"]), "due": when(r["due"])}
                      for r in contract_deadlines(case, events, now) + _named(engine, number, now)],
    }


def fault_report_html(data: dict[str, Any], lang: str, fmt: str = "html") -> str:
    t = labels_for(data, lang)
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

    from reports.docx_fault import said, visit_text
    from reports.xlsx import finish, sheet

    t = labels_for(data, lang)
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
        [t["loss"], case["loss"] or t["none"]],
        *([[t["visit"], visit_text(data["visit"], lambda a: t["system"] if a == "system" else a)]]
          if data.get("visit") else [])], first=True)
    sheet(wb, t["deadlines"], [t["level"], t["clock_name"], t["clock_start"], t["due"], ""],
          [[t["levels"].get(d["level"], d["level"]), t["clock"].get(d["clock"], d["clock"]), d["start"],
            d["due"], t["sla_state"].get(d["state"], "")] for d in data.get("deadlines", [])])
    sheet(wb, t["timeline"], ["#", t["at"], t["event"], t["level"], t["actor"], t["note"]],
          [[e["seq"], e["at"], t["events"].get(e["kind"], e["kind"]), t["levels"].get(e["level"], ""),
            t["system"] if e["actor"] == "system" else (e["actor"] or "—"), said(e, t)]
           for e in data["timeline"]])
    return finish(wb, data, lang)
