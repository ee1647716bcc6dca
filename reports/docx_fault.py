"""The fault report (故障处理报告) of one case as DOCX, for signing."""

from __future__ import annotations

from typing import Any

from reports.docx import new_document, sign_off, table, to_bytes
from reports.i18n import duration_text, labels_for


def fault_report_docx(data: dict[str, Any], lang: str) -> bytes:
    t = labels_for(data, lang)
    case = data["case"]

    def who(actor: str | None) -> str:
        return t["system"] if actor == "system" else (actor or "—")

    title = f"{t['title']} · {case['number']}"
    doc = new_document(data, lang, title)
    doc.add_heading(title, level=0)
    recovery = duration_text(data["recovery_seconds"], lang) if data["recovery_seconds"] is not None \
        else t["not_yet"]
    table(doc, None, [
        [t["case"], case["number"]], [t["device"], case["device"]],
        [t["check"], f"{case['check']} {case['instance']}".strip()], [t["message"], case["message"]],
        [t["level"], t["levels"][case["level"]]], [t["opened_level"], t["levels"][case["opened_level"]]],
        [t["status"], t["states"][case["status"]]], [t["fault_type"], case["fault_type"] or "—"],
        [t["began"], data["began"]], [t["responded"], data["responded"]],
        [t["repaired"], f"{data['repaired']} ({t['resolved_by']}: {who(case['resolved_by'])})"],
        [t["closed"], data["closed"]], [t["recovery"], recovery],
        *([[t["visit"], visit_text(data["visit"], who)]] if data.get("visit") else []),
    ])
    doc.add_heading(f"{t['sla']} ({t['policy']}: {case['policy']})", level=1)
    table(doc, None, [[t["response_sla"], data["response_due"], t["sla_state"][data["response_sla"]]],
                      [t["repair_sla"], data["repair_due"], t["sla_state"][data["repair_sla"]]]])
    table(doc, [t["level"], t["clock_name"], t["clock_start"], t["due"], ""], [
        [t["levels"].get(d["level"], d["level"]), t["clock"].get(d["clock"], d["clock"]),
         d["start"], d["due"],
         t["sla_state"].get(d["state"], "")] for d in data.get("deadlines", [])], size=8)
    for key in ("cause", "handling", "loss"):
        doc.add_heading(t[key], level=1)
        doc.add_paragraph(case[key] or (t["none"] if key == "loss" else "—"))
    doc.add_heading(t["timeline"], level=1)
    table(doc, ["#", t["at"], t["event"], t["level"], t["actor"], t["note"]], [
        [e["seq"], e["at"], t["events"].get(e["kind"], e["kind"]), t["levels"].get(e["level"], ""),
         who(e["actor"]), said(e, t)] for e in data["timeline"]], size=8)
    sign_off(doc, t["sign"], t["provider"], t["customer"], t["date"], data["generated"], t["generated"])
    return to_bytes(doc)


def visit_text(v: dict[str, Any], who: Any) -> str:
    """A return visit (回访): "4/5 comment (by, when)"."""
    return f"{v['rating']}/5 {v['comment']} ({who(v['by'])}, {v['visited_at']})".replace("  ", " ")


def said(e: dict[str, Any], t: dict[str, Any]) -> str:
    if e["kind"] == "breach":
        due = f" ({t['due']} {e['due']})" if e.get("due") else ""
        return f"{t['clock'].get(e.get('clock') or 'response', e.get('clock'))} {t['missed']}{due}"
    if e["kind"] == "close":
        return f"{t['cause']}: {e.get('cause')}; {t['handling']}: {e.get('handling')}"
    if e["kind"] == "suppress":
        return f"{t['parent']} {e.get('parent')}"
    return str(e.get("said") or "")
