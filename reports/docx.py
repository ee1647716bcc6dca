"""Shared DOCX pieces (python-docx) for reports people sign: A4, the CJK font, a cover, tables
whose header row repeats on every page, the content hash and page numbers in every page's
footer, the sign-off block, and the report's data embedded (a package part) so that
`xunjian report verify` can recompute the hash and re-render the text."""

from __future__ import annotations

import html
import re
import zipfile
from io import BytesIO
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from reports.render import ATTACHMENT, canonical, content_hash
from reports.templating import logo

FONT = "Noto Sans CJK SC"
MONO = "Noto Sans Mono CJK SC"
DATA_PART = f"/customXml/{ATTACHMENT}"
DATA_REL = "https://xunjian.invalid/relationships/report-data"


def new_document(data: dict[str, Any], lang: str, title: str) -> Any:
    """A4 document with the data embedded and the hash + page x of y in the footer."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin, section.bottom_margin = Cm(1.8), Cm(2.0)
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3"):
        style = doc.styles[name]
        style.font.name = FONT
        # CJK text takes the east-Asian font, not the Latin one
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.styles["Normal"].font.size = Pt(9.5)
    doc.core_properties.title = title
    doc.core_properties.author = "xunjian"
    _footer(section.footer.paragraphs[0], content_hash(data), lang)
    _logo_header(section.header.paragraphs[0])
    envelope = {"report": data["report"], "lang": lang, "data": data}
    part = Part(PackURI(DATA_PART), "application/json", canonical(envelope).encode("utf-8"), doc.part.package)
    doc.part.package.relate_to(part, DATA_REL)
    return doc


def _logo_header(paragraph: Any) -> None:
    """The contractor's logo (report: logo: in the config) at the top right of every page."""
    mine = logo()
    picture = mine.raster() if mine else None
    if picture:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.add_run().add_picture(BytesIO(picture), height=Cm(1.2))


def _footer(paragraph: Any, digest: str, lang: str) -> None:
    run = paragraph.add_run(f"sha256 {digest}    ")
    run.font.size = Pt(6.5)
    before, middle, after = ("第 ", " 页 / 共 ", " 页") if lang == "zh-CN" else ("page ", " of ", "")
    for text, field in ((before, "PAGE"), (middle, "NUMPAGES"), (after, None)):
        if text:
            paragraph.add_run(text).font.size = Pt(8)
        if field:
            fld = OxmlElement("w:fldSimple")
            fld.set(qn("w:instr"), field)
            r = OxmlElement("w:r")
            t = OxmlElement("w:t")
            t.text = "1"  # Word recomputes it; the shown text is not part of what verify compares
            r.append(t)
            fld.append(r)
            paragraph._p.append(fld)


def table(doc: Any, header: list[str] | None, rows: list[list[Any]], size: float | None = None) -> Any:
    cols = len(header) if header else (len(rows[0]) if rows else 1)
    tbl = doc.add_table(rows=0, cols=cols)
    tbl.style = "Table Grid"
    if header:
        cells = tbl.add_row().cells
        for cell, text in zip(cells, header, strict=True):
            cell.text = str(text)
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
        el = OxmlElement("w:tblHeader")  # repeat the header row on every page
        el.set(qn("w:val"), "true")
        tbl.rows[0]._tr.get_or_add_trPr().append(el)
    for row in rows:
        cells = tbl.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = "" if value is None else str(value)
            if size:
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(size)
    return tbl


def cover(doc: Any, title: str, rows: list[list[str]]) -> None:
    """Title page: the report's name and who/what/when it is about, then a page break."""
    for _ in range(6):
        doc.add_paragraph()
    doc.add_heading(title, level=0)
    table(doc, None, rows)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def calendar_notes(doc: Any, data: dict[str, Any], t: dict[str, Any]) -> None:
    """The warning that a year of the period was counted without its official holiday arrangement."""
    for g in data.get("calendar_warnings") or []:
        run = doc.add_paragraph().add_run(t["calendar_gap"].format(calendar=g["calendar"], year=g["year"]))
        run.bold = True
        run.font.color.rgb = RGBColor(0x99, 0, 0)


def cover_rows(cover_data: dict[str, Any] | None, period: str, p: dict[str, str]) -> list[list[str]]:
    c = cover_data or {}
    return [[p["customer"], c.get("customer") or "—"], [p["contractor"], c.get("contractor") or "—"],
            [p["system"], c.get("system") or "—"], [p["period"], period],
            [p["number"], c.get("number") or "—"], [p["version"], c.get("version") or "1.0"]]


def sign_off(doc: Any, heading: str, provider: str, customer: str, date_label: str, generated: str,
             generated_label: str) -> None:
    doc.add_heading(heading, level=1)
    tbl = table(doc, None, [[provider, "", customer, ""], [date_label, "", date_label, ""]])
    for row in tbl.rows:
        row.height = Cm(1.6)
    doc.add_paragraph(f"{generated_label}: {generated}")


def mono(doc: Any, text: str, size: float = 7.0) -> None:
    """Monospace lines (the verdict matrix): one paragraph, a line break per line."""
    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(2)
    for i, line in enumerate(text.split("\n")):
        run = para.add_run(line)
        run.font.name = MONO
        run.font.size = Pt(size)
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), MONO)
        if i < text.count("\n"):
            run.add_break()


def to_bytes(doc: Any) -> bytes:
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_parts(blob: bytes) -> tuple[str, str]:
    """(embedded data, visible text of body and footers) of a DOCX, for verify."""
    from reports.render import VerifyError

    try:
        with zipfile.ZipFile(BytesIO(blob)) as z:
            names = z.namelist()
            if DATA_PART.lstrip("/") not in names:
                raise VerifyError("no report data embedded in this DOCX (not written by xunjian?)")
            embedded = z.read(DATA_PART.lstrip("/")).decode("utf-8")
            footers = sorted(n for n in names if re.fullmatch(r"word/footer\d*\.xml", n))
            parts = ["word/document.xml", *footers]
            xml = [z.read(n).decode("utf-8") for n in parts]
    except (zipfile.BadZipFile, KeyError) as e:
        raise VerifyError(f"not a readable DOCX: {e}") from None
    text = []
    for x in xml:
        x = re.sub(r"<w:fldSimple\b.*?</w:fldSimple>", " ", x, flags=re.S)  # page numbers
        # runs join without a space (an editor may split a word into runs), paragraphs with one
        for t, end in re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|(</w:p>|<w:br/>)", x):
            text.append(t if not end else "\n")
    return embedded, html.unescape("".join(text))
