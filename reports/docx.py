"""DOCX versions of reports, for signing (python-docx): the same data as the HTML/PDF, the
content hash in every page's footer."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from reports.i18n import LABELS, duration_text
from reports.render import content_hash

FONT = "Noto Sans CJK SC"


def _base(title: str, digest: str) -> Any:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)  # CJK text takes the east-Asian font
    doc.add_heading(title, level=0)
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = f"sha256 {digest}"
    footer.alignment = WD_ALIGN_PARAGRAPH.LEFT
    footer.runs[0].font.size = Pt(6.5)
    return doc


def _table(doc: Any, header: list[str] | None, rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=0, cols=len(rows[0]) if rows else len(header or []))
    table.style = "Table Grid"
    if header:
        cells = table.add_row().cells
        for cell, text in zip(cells, header, strict=True):
            cell.text = str(text)
            cell.paragraphs[0].runs[0].font.bold = True
        # repeat the header row on every page
        trpr = table.rows[0]._tr.get_or_add_trPr()
        el = OxmlElement("w:tblHeader")
        el.set(qn("w:val"), "true")
        trpr.append(el)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = "" if value is None else str(value)


def fault_report_docx(data: dict[str, Any], lang: str) -> bytes:
    t = LABELS[lang]
    case = data["case"]

    def who(actor: str | None) -> str:
        return t["system"] if actor == "system" else (actor or "—")

    doc = _base(f"{t['title']} · {case['number']}", content_hash(data))
    recovery = duration_text(data["recovery_seconds"], lang) if data["recovery_seconds"] is not None \
        else t["not_yet"]
    _table(doc, None, [
        [t["case"], case["number"]], [t["device"], case["device"]],
        [t["check"], f"{case['check']} {case['instance']}".strip()], [t["message"], case["message"]],
        [t["level"], t["levels"][case["level"]]], [t["opened_level"], t["levels"][case["opened_level"]]],
        [t["status"], t["states"][case["status"]]], [t["fault_type"], case["fault_type"] or "—"],
        [t["began"], data["began"]], [t["responded"], data["responded"]],
        [t["repaired"], f"{data['repaired']} ({t['resolved_by']}: {who(case['resolved_by'])})"],
        [t["closed"], data["closed"]], [t["recovery"], recovery],
    ])
    doc.add_heading(f"{t['sla']} ({t['policy']}: {case['policy']})", level=1)
    _table(doc, None, [[t["response_sla"], data["response_due"], t["sla_state"][data["response_sla"]]],
                       [t["repair_sla"], data["repair_due"], t["sla_state"][data["repair_sla"]]]])
    for key in ("cause", "handling", "loss"):
        doc.add_heading(t[key], level=1)
        doc.add_paragraph(case[key] or (t["none"] if key == "loss" else "—"))
    doc.add_heading(t["timeline"], level=1)
    _table(doc, ["#", t["at"], t["event"], t["level"], t["actor"], t["note"]], [
        [e["seq"], e["at"], t["events"].get(e["kind"], e["kind"]), t["levels"].get(e["level"], ""),
         who(e["actor"]), _said(e, t)] for e in data["timeline"]])
    doc.add_heading(t["sign"], level=1)
    _table(doc, None, [[t["provider"], "", t["customer"], ""], [t["date"], "", t["date"], ""]])
    doc.add_paragraph(f"{t['generated']}: {data['generated']}")
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _said(e: dict[str, Any], t: dict[str, Any]) -> str:
    if e["kind"] == "breach":
        return f"{t['clock'][e.get('clock') or 'response']} {t['missed']}"
    if e["kind"] == "close":
        return f"{t['cause']}: {e.get('cause')}; {t['handling']}: {e.get('handling')}"
    if e["kind"] == "suppress":
        return f"{t['parent']} {e.get('parent')}"
    return str(e.get("said") or "")
