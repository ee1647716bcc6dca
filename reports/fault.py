"""The fault report (故障处理报告) of one case: Markdown or HTML, zh-CN or en.

The report model is gathered from the store here; the templates only lay it out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from agent.cases.policy import CasePolicy
from agent.cases.queries import case_history, case_tickets, get_case
from agent.model import Case
from reports.i18n import LABELS, duration_text

_env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html.j2"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


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


def fault_report_model(engine: Engine, policy: CasePolicy, number: str, lang: str,
                       now: float | None = None) -> dict[str, Any] | None:
    case = get_case(engine, number)
    if case is None:
        return None
    now = now if now is not None else datetime.now(UTC).timestamp()
    events = case_history(engine, number)
    t = LABELS[lang]

    def when(ts: float | None) -> str:
        if not ts:
            return "—"
        return datetime.fromtimestamp(ts, UTC).astimezone(policy.tz).strftime("%Y-%m-%d %H:%M:%S")

    levels = []
    for e in events:
        lv = e["detail"].get("level")
        if e["kind"] in ("open", "escalate", "update") and (not levels or levels[-1]["level"] != lv):
            levels.append({"level": lv, "name": t["levels"].get(lv, str(lv)), "at": when(e["at"]),
                           "why": t["events"].get(e["kind"], e["kind"])})
    responded = case.acknowledged_at
    recovery = (case.resolved_at - case.opened_at) if case.resolved_at else None
    timeline = []
    for e in events:
        d = e["detail"]
        said = d.get("note") or d.get("message") or d.get("reason") or ""
        if e["kind"] == "breach":
            said = t["clock"][d.get("clock", "response")] + " " + t["missed"]
        if e["kind"] == "close":
            said = f"{t['cause']}: {d.get('cause', '')}; {t['handling']}: {d.get('handling', '')}"
        if e["kind"] == "suppress":
            said = f"{t['parent']} {d.get('parent', '')}"
        timeline.append({"seq": e["seq"], "at": when(e["at"]), "kind": t["events"].get(e["kind"], e["kind"]),
                         "actor": t["system"] if e["actor"] == "system" else e["actor"],
                         "level": t["levels"].get(d.get("level"), ""), "said": said})
    return {
        "t": t,
        "lang": lang,
        "case": case,
        "check": f"{case.check} {case.instance}".strip(),
        "level_name": t["levels"].get(case.level, str(case.level)),
        "opened_level_name": t["levels"].get(case.opened_level, str(case.opened_level)),
        "status": t["states"].get(case.status, case.status),
        "levels": levels,
        "began": when(case.opened_at),
        "responded": when(responded),
        "repaired": when(case.resolved_at),
        "closed": when(case.closed_at),
        "resolved_by": (t["system"] if case.resolved_by == "system" else case.resolved_by) or "—",
        "recovery": duration_text(recovery, lang) if recovery is not None else t["not_yet"],
        "paused": duration_text(case.paused_seconds, lang) if case.paused_seconds else "",
        "response_due": when(case.response_due),
        "repair_due": when(case.repair_due),
        "response_sla": t["sla_state"][sla_state(case, "response", now)],
        "repair_sla": t["sla_state"][sla_state(case, "repair", now)],
        "timeline": timeline,
        "tickets": case_tickets(engine, number),
        "generated": when(now),
    }


def render_fault_report(engine: Engine, policy: CasePolicy, number: str, fmt: str = "md",
                        lang: str = "zh-CN", now: float | None = None) -> str | None:
    model = fault_report_model(engine, policy, number, lang, now)
    if model is None:
        return None
    return _env.get_template(f"fault_report.{fmt}.j2").render(**model)
