"""The monthly service summary (月度服务报告) as DOCX, for signing: the same model as the HTML."""

from __future__ import annotations

from typing import Any

from reports.docx import calendar_notes, cover, cover_rows, new_document, sign_off, table, to_bytes
from reports.i18n import LABELS
from reports.remediations import human_bytes, outcome_text


def rate(r: float | None) -> str:
    return "—" if r is None else f"{r * 100:.1f}%"


def on_time(clock: dict[str, Any]) -> str:
    return f"{rate(clock['on_time_rate'])} ({clock['met']}/{clock['met'] + clock['missed']})"


def monthly_docx(data: dict[str, Any], lang: str) -> bytes:
    t = LABELS[lang]
    m, p = t["monthly"], t["periodic"]
    doc = new_document(data, lang, f"{m['title']} {data['month']}")
    cover(doc, m["title"], cover_rows(data.get("cover"), data["month"], p))
    calendar_notes(doc, data, t)
    table(doc, None, [[m["cases"], data["cases"]], [m["handled"], data["handled"]],
                      [m["handling_rate"], rate(data["handling_rate"])]])
    doc.add_heading(m["per_level"], level=1)
    table(doc, [m["level"], m["cases"], m["handled"], m["closed"], m["response_on_time"],
                m["repair_on_time"]],
          [[t["levels"][lv["level"]], lv["cases"], lv["handled"], lv["closed"], on_time(lv["response"]),
            on_time(lv["repair"])] for lv in data["levels"]])
    doc.add_heading(m["breaches"], level=1)
    if data["breaches"]:
        table(doc, [t["case"], t["device"], t["check"], t["response_sla"], t["repair_sla"]],
              [[b["case"], b["device"], f"{b['check']} {b['instance']}".strip(),
                t["sla_state"][b["response"]], t["sla_state"][b["repair"]]] for b in data["breaches"]])
    else:
        doc.add_paragraph(m["none"])
    doc.add_heading(m["top_devices"], level=1)
    table(doc, [t["device"], m["count"]], [list(x) for x in data["top_devices"]])
    doc.add_heading(m["top_checks"], level=1)
    table(doc, [t["check"], m["count"]], [list(x) for x in data["top_checks"]])
    doc.add_heading(m["remediations"], level=1)
    fixes = data["remediations"]
    if fixes["runs"]:
        doc.add_paragraph(f"{m['remediation_count']}: {fixes['count']}; {m['freed']}: "
                          f"{human_bytes(fixes['bytes_freed'])}")
        table(doc, [m["playbook"], m["runs_of"], m["outcomes"], m["freed"]],
              [[b["playbook"], b["runs"], outcome_text(b["outcomes"], m["results"]),
                human_bytes(b["bytes_freed"])] for b in fixes["by_playbook"]])
        table(doc, [m["at"], t["device"], m["playbook"], m["actor"], m["outcomes"], m["freed"], m["what"],
                    t["case"]],
              [[r["at"], r["device"], r["playbook"], r["actor"], m["results"].get(r["result"], r["result"]),
                human_bytes(r["bytes_freed"]), r["message"], r["case"]] for r in fixes["runs"]], size=8)
    else:
        doc.add_paragraph(m["no_remediations"])
    doc.add_heading(m["inspections"], level=1)
    i = data["inspections"]
    table(doc, None, [[m["runs"], i["runs"]],
                      [f"{m['working_days']} ({m['calendar']} {data['calendar']})", i["working_days"]],
                      [m["days_inspected"], i["days_inspected"]],
                      [m["missed_days"], ", ".join(i["missed_days"]) or m["none"]]])
    sign_off(doc, p["sign"], p["provider"], p["customer_sign"], p["date"], data["generated"], t["generated"])
    return to_bytes(doc)
