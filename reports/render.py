"""Turning a report's HTML into files that stand as evidence: PDF with page numbers and the
content hash on every page, and the report's data embedded so that `xunjian report verify`
can recompute the hash and detect an edit.

The content hash is SHA-256 over the canonical JSON of the report's data (not its wording
or layout): the same data gives the same hash in every language and format.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from core.redaction import redact_deep

DATA_ID = "xunjian-data"
ATTACHMENT = "xunjian-data.json"


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(data: Any) -> str:
    """Over the data, not when it was rendered: the same data always gives the same hash."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "generated"}
    return hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()


# kind -> format -> "module:function"; imported lazily (no import cycles, a fast CLI)
RENDERERS: dict[str, dict[str, str]] = {
    "fault": {"html": "reports.fault:fault_report_html", "docx": "reports.docx_fault:fault_report_docx",
              "xlsx": "reports.fault:fault_report_xlsx"},
    "ledger": {"html": "reports.ledger:ledger_html", "xlsx": "reports.ledger:ledger_xlsx",
               "docx": "reports.docx_ledger:ledger_docx"},
    "monthly": {"html": "reports.monthly:monthly_html", "xlsx": "reports.monthly:monthly_xlsx",
                "docx": "reports.docx_monthly:monthly_docx"},
    "periodic": {"html": "reports.periodic:periodic_html", "xlsx": "reports.periodic:periodic_xlsx",
                 "docx": "reports.docx_periodic:periodic_docx"},
}
FORMATS = ("pdf", "html", "md", "docx", "xlsx")


def _function(kind: str, fmt: str) -> Any:
    import importlib

    target = RENDERERS[kind].get(fmt)
    if target is None:
        raise ValueError(f"the {kind} report has no {fmt} format")
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def render(kind: str, data: dict[str, Any], fmt: str, lang: str) -> bytes:
    """One report in one format: md, html, pdf, docx or xlsx. Every format but md carries the
    data and prints its hash."""
    data = redact_deep(data)  # what the store holds is redacted already; a report never adds a secret
    if fmt in ("xlsx", "docx"):
        return _function(kind, fmt)(data, lang)  # type: ignore[no-any-return]
    if fmt == "md":
        return _function(kind, "html")(data, lang, "md").encode("utf-8")  # type: ignore[no-any-return]
    page = _function(kind, "html")(data, lang, "html")
    envelope = {"report": kind, "lang": lang, "data": data}
    if fmt == "pdf":
        return html_to_pdf(page, envelope, lang)
    return embed_data(page, envelope).encode("utf-8")


def embed_data(page: str, envelope: dict[str, Any]) -> str:
    """Put the data and its hash into the HTML, before </body>, where verify finds them."""
    blob = html.escape(canonical(envelope), quote=False)
    tag = (f'<p class="content-hash">sha256 {content_hash(envelope["data"])}</p>\n'
           f'<script type="application/json" id="{DATA_ID}">{blob}</script>')
    return page.replace("</body>", tag + "\n</body>", 1) if "</body>" in page else page + tag


def page_css(digest: str, lang: str) -> str:
    """A4, page numbers, the hash in every page's footer, table headers repeated."""
    pages = '"第 " counter(page) " 页 / 共 " counter(pages) " 页"' if lang == "zh-CN" else \
        '"page " counter(page) " of " counter(pages)'
    return f"""
@page {{ size: A4; margin: 18mm 15mm 20mm 15mm;
  @bottom-left {{ content: "sha256 {digest}"; font-size: 6.5pt; color: #555; }}
  @bottom-right {{ content: {pages}; font-size: 8pt; color: #555; }} }}
thead {{ display: table-header-group; }}
tr, img {{ page-break-inside: avoid; }}
body, pre, td, th {{ font-family: "Noto Sans CJK SC", sans-serif; }}
table {{ width: 100%; table-layout: fixed; overflow-wrap: anywhere; }}  /* auto: 2× slower */
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; font-size: 7pt; }}
"""


def html_to_pdf(page: str, envelope: dict[str, Any], lang: str) -> bytes:
    from weasyprint import CSS, HTML, Attachment  # heavy: only when a PDF is asked for

    from reports.fonts import require_chinese_font

    require_chinese_font(page, lang)
    digest = content_hash(envelope["data"])
    out = io.BytesIO()
    HTML(string=page).write_pdf(out, stylesheets=[CSS(string=page_css(digest, lang))],
                                attachments=[Attachment(string=canonical(envelope), name=ATTACHMENT,
                                                        description="xunjian report data")])
    return out.getvalue()


class VerifyError(Exception):
    """The file cannot be verified (not ours, or the data is missing)."""


@dataclass
class Verdict:
    ok: bool
    printed: str
    recomputed: str
    reason: str


def verify_file(data: bytes, name: str) -> Verdict:
    """Recompute the content hash from the embedded data, check it against every hash printed
    in the file, and re-render the report from that data to check that the visible text was
    not edited either."""
    fmt = name.rsplit(".", 1)[-1]
    fmt = "html" if fmt == "htm" else fmt
    if fmt not in ("pdf", "html", "docx", "xlsx"):
        raise VerifyError("verify reads .pdf, .html, .docx and .xlsx reports")
    embedded, text = _parts(fmt, data)
    printed = re.findall(r"sha256 ([0-9a-f]{64})", text)
    if not printed:
        raise VerifyError("no content hash printed in this file")
    try:
        envelope = json.loads(embedded)
        recomputed = content_hash(envelope["data"])
        kind, lang = envelope["report"], envelope["lang"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return Verdict(False, printed[0], "", "the embedded data is unreadable")
    if any(p != recomputed for p in printed):
        return Verdict(False, printed[0], recomputed, "the data does not match the printed hash")
    if kind not in RENDERERS:
        return Verdict(False, printed[0], recomputed, f"unknown report kind {kind!r} in the data")
    again = render(kind, envelope["data"], fmt, lang)
    if _words(_parts(fmt, again)[1]) != _words(text):
        return Verdict(False, printed[0], recomputed, "the visible text differs from the data")
    return Verdict(True, printed[0], recomputed, "the data and the text are as written")


def _parts(fmt: str, data: bytes) -> tuple[str, str]:
    """(embedded data, visible text) of a report file."""
    if fmt == "pdf":
        return _pdf_parts(data)
    if fmt == "docx":
        from reports.docx import docx_parts

        return docx_parts(data)
    if fmt == "xlsx":
        from reports.xlsx import xlsx_parts

        return xlsx_parts(data)
    page = data.decode("utf-8", "replace")
    m = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', page, re.S)
    if m is None:
        raise VerifyError("no report data embedded in this HTML (not written by xunjian?)")
    return html.unescape(m.group(1)), _strip_tags(page)


def _words(text: str) -> list[str]:
    return text.split()


def _strip_tags(page: str) -> str:
    page = re.sub(rf'<script type="application/json" id="{DATA_ID}">.*?</script>', "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _pdf_parts(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        files = reader.attachments
        text = "\n".join(p.extract_text() or "" for p in reader.pages)
    except PdfReadError as e:
        raise VerifyError(f"not a readable PDF: {e}") from None
    if ATTACHMENT not in files:
        raise VerifyError("no report data attached to this PDF (not written by xunjian?)")
    return files[ATTACHMENT][0].decode("utf-8"), text
