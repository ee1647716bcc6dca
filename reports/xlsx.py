"""Shared XLSX pieces (openpyxl): a sheet with a bold, frozen header; the content hash in the
first sheet and in every sheet's page footer; the report's data in a very hidden sheet so that
`xunjian report verify` can recompute the hash and compare the cells."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from reports.render import canonical, content_hash

DATA_SHEET = "xunjian-data"
CHUNK = 30000  # a cell holds at most 32767 characters


def sheet(wb: Any, title: str, header: list[Any], rows: list[list[Any]], first: bool = False) -> Any:
    from openpyxl.styles import Font

    ws = wb.active if first else wb.create_sheet()
    ws.title = title[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    return ws


def finish(wb: Any, data: dict[str, Any], lang: str) -> bytes:
    """Print the hash, embed the data, and save."""
    digest = content_hash(data)
    for ws in wb.worksheets:
        ws.oddFooter.left.text = f"sha256 {digest}"
        ws.oddFooter.left.size = 6
        ws.oddFooter.right.text = "&P / &N"
    # on a sheet of its own: the data sheets stay plain tables that people sort and filter
    wb.create_sheet("sha256").append([f"sha256 {digest}"])
    blob = canonical({"report": data["report"], "lang": lang, "data": data})
    hidden = wb.create_sheet(DATA_SHEET)
    for i in range(0, len(blob), CHUNK):
        hidden.append([blob[i:i + CHUNK]])
    hidden.sheet_state = "veryHidden"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_parts(blob: bytes) -> tuple[str, str]:
    """(embedded data, every visible cell and footer as text) of an XLSX, for verify."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    from reports.render import VerifyError

    try:
        wb = load_workbook(BytesIO(blob))
    except (BadZipFile, OSError, KeyError, ValueError) as e:
        raise VerifyError(f"not a readable XLSX: {e}") from None
    if DATA_SHEET not in wb.sheetnames:
        raise VerifyError("no report data embedded in this XLSX (not written by xunjian?)")
    embedded = "".join(str(r[0] or "") for r in wb[DATA_SHEET].iter_rows(values_only=True))
    text = []
    for ws in wb.worksheets:
        if ws.title == DATA_SHEET:
            continue
        text.append(f"[{ws.title}] {ws.oddFooter.left.text or ''}")
        for row in ws.iter_rows(values_only=True):
            text.append("\t".join("" if v is None else str(v) for v in row))
    return embedded, "\n".join(text)
