"""Half a year of history through the real pipeline, then every report in every format and
language: content, every device and check, numbers that match the store, verify, pages."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cases.queries import list_cases
from agent.store.runs import list_runs
from tests import history
from tests.helpers import cli

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


def run(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    r = cli(*args, "-c", str(d / "xunjian.yaml"), env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    assert r.returncode == 0, r.stderr
    return r


def text_of(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def test_periodic_report_every_format_and_language(half_year: Path) -> None:
    d = half_year
    app = history.load_app(d / "xunjian.yaml")
    cases = [c for c in list_cases(app.engine, "all") if not c.suppressed_by]
    assert len(cases) >= 3 and any(c.response_breached for c in cases) and any(not c.response_breached for c in cases)
    runs = list_runs(app.engine, 0, 4e9)
    for lang in ("zh-CN", "en"):
        pdf = d / f"periodic-{lang}.pdf"
        run(d, "report", "periodic", "--period", "2026H1", "--lang", lang, "-o", str(pdf))
        text = text_of(pdf)
        for device in ("db01", "app01", "sw-core-1", "enc-01", "br-01"):
            assert device in text, (lang, device)
        for check in ("disk_used_percent/u01", "collect.synthetic"):
            assert check in text, (lang, check)
        for number in (c.number for c in cases):
            assert number in text, (lang, number)
        assert ("定期巡检报告" if lang == "zh-CN" else "Periodicinspectionreport") in text
        assert ("某市公安局" in text) and ("第1页/共" in text if lang == "zh-CN" else "page1of" in text)
        assert cli("report", "verify", str(pdf)).returncode == 0
        subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(d / f"p-{lang}")], check=True)
        pages = sorted(d.glob(f"p-{lang}*.png"))
        assert len(pages) >= 4 and all(p.stat().st_size > 1500 for p in pages), [p.stat().st_size for p in pages]

    md = run(d, "report", "periodic", "--period", "2026H1", "-f", "md", "--lang", "en").stdout
    assert f"| Inspection runs | {len(runs)} | 0 |" in md  # the numbers are the store's
    assert f"| Fault cases | {len(cases)} | 0 |" in md
    # db01 /u01 grows 0.21 %/day from 55 %: a recommendation, with the projection
    assert "/u01 on db01 will be full in about" in md
    assert "- sw-core-1: S12704 2102351931P0K8000123 Firmware V200R021C00SPC100" in md  # the asset register
    assert "- 2026-04-11 09:00 sw-core-1 firmware_rev: V200R019C10SPC500 → V200R021C00SPC100" in md
    html = d / "periodic.html"
    run(d, "report", "periodic", "--period", "2026H1", "-f", "html", "-o", str(html))
    page = html.read_text()
    assert page.count('src="data:image/png;base64,') >= 3  # trend charts embedded
    assert cli("report", "verify", str(html)).returncode == 0
    annex = d / "periodic.xlsx"
    run(d, "report", "periodic", "--period", "2026H1", "-f", "xlsx", "-o", str(annex))
    book = load_workbook(annex)
    matrix = list(book["设备检查结果"].iter_rows(values_only=True))
    assert {r[0] for r in matrix[1:]} == {"db01", "app01", "sw-core-1", "enc-01", "br-01"}
    assert len(list(book["故障处理情况"].iter_rows(values_only=True))) == len(cases) + 1
    edited = d / "edited.html"
    edited.write_text(page.replace("某市公安局", "某县公安局"))
    assert cli("report", "verify", str(edited)).returncode == 1


def test_ledger_monthly_and_fault_reports_from_history(half_year: Path) -> None:
    d = half_year
    xlsx = d / "ledger.xlsx"
    run(d, "report", "ledger", "--month", "2026-03", "-f", "xlsx", "-o", str(xlsx))
    rows = list(load_workbook(xlsx)["巡检记录"].iter_rows(values_only=True))[3:]
    app = history.load_app(d / "xunjian.yaml")
    march = [r for r in list_runs(app.engine, 0, 4e9) if r["started_at"] and "2026-03" in str(r)]
    assert len(rows) >= 20  # one per working day of March
    monthly = run(d, "report", "monthly", "--month", "2026-03", "-f", "md", "--lang", "en").stdout
    assert "Working days inspected" in monthly and "Working days without inspection: none" in monthly
    assert march is not None
    number = json.loads(run(d, "cases", "list", "--status", "all", "-f", "json").stdout)["cases"][0]["number"]
    for fmt in ("pdf", "docx"):
        out = d / f"fault.{fmt}"
        run(d, "cases", "report", number, "-f", fmt, "-o", str(out))
        assert out.stat().st_size > 5000
    assert number in text_of(d / "fault.pdf")


DEVICES = ("db01", "app01", "sw-core-1", "enc-01", "br-01")


def docx_text(path: Path) -> str:
    """Body, tables and footers of a DOCX as python-docx reads them, without whitespace."""
    from docx import Document

    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    parts += [p.text for s in doc.sections for p in s.footer.paragraphs]
    return "".join("".join(parts).split())


def xlsx_cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets
            if ws.sheet_state == "visible"}


def edited_docx(src: Path, dst: Path, old: str, new: str, part: str = "word/document.xml") -> None:
    """A copy with one string changed in one part, as an editor (or a forger) would."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            blob = zin.read(item.filename)
            if item.filename == part:
                text = blob.decode("utf-8")
                assert old in text, (part, old)
                blob = text.replace(old, new, 1).encode("utf-8")
            zout.writestr(item, blob)


def test_every_report_in_docx_and_xlsx_both_languages(half_year: Path) -> None:
    """The ledger, the monthly summary, the periodic report and a fault report, each in DOCX
    and XLSX and both languages, re-read: devices, checks and the store's numbers are there,
    the hash is printed, and verify passes on each original."""
    from docx import Document

    from agent.cases.queries import case_history
    from reports.render import verify_file

    d = half_year
    app = history.load_app(d / "xunjian.yaml")
    cases = [c for c in list_cases(app.engine, "all") if not c.suppressed_by]
    runs = list_runs(app.engine, 0, 4e9)
    def month(ts: float) -> str:
        return datetime.fromtimestamp(ts, history.TZ).strftime("%Y-%m")

    march = [r for r in runs if month(r["started_at"]) == "2026-03"]
    march_cases = [c for c in cases if month(c.opened_at) == "2026-03"]
    number = cases[0].number
    reports = {"periodic": ("--period", "2026H1"), "ledger": ("--month", "2026-03"),
               "monthly": ("--month", "2026-03")}
    hashes: dict[str, set[str]] = {}
    for lang in ("zh-CN", "en"):
        for fmt in ("docx", "xlsx"):
            files = {}
            for kind, args in reports.items():
                files[kind] = d / f"{kind}-{lang}.{fmt}"
                run(d, "report", kind, *args, "-f", fmt, "--lang", lang, "-o", str(files[kind]))
            files["fault"] = d / f"fault-{lang}.{fmt}"
            run(d, "cases", "report", number, "-f", fmt, "--lang", lang, "-o", str(files["fault"]))
            for kind, path in files.items():
                v = verify_file(path.read_bytes(), path.name)
                assert v.ok, (path.name, v.reason)
                hashes.setdefault(kind, set()).add(v.recomputed)
            if fmt == "docx":
                text = {k: docx_text(p) for k, p in files.items()}
                for k, p in files.items():
                    doc = Document(str(p))
                    footer = "".join(q.text for q in doc.sections[0].footer.paragraphs)
                    assert f"sha256{next(iter(hashes[k]))}" in "".join(footer.split()), k
                    section = doc.sections[0]
                    assert abs(section.page_width.mm - 210) < 1 and abs(section.page_height.mm - 297) < 1
                    assert 'w:eastAsia="Noto Sans CJK SC"' in doc.styles.element.xml
                    assert "<w:tblHeader" in doc.element.xml or k == "monthly"
                periodic = text["periodic"]
                assert ("定期巡检报告" if lang == "zh-CN" else "Periodicinspectionreport") in periodic
                assert "某市公安局" in periodic and "XJ-20260101-20260630" in periodic
                for device in DEVICES:
                    assert device in periodic, (lang, device)
                for check in ("disk_used_percent/u01", "collect.synthetic"):
                    assert check in periodic, (lang, check)
                for c in cases:
                    assert c.number in periodic, (lang, c.number)
                summary_row = [row for t in Document(str(files["periodic"])).tables for row in t.rows
                               if row.cells[0].text in ("巡检次数", "Inspection runs")]
                assert summary_row and summary_row[0].cells[1].text == str(len(runs))  # the store's count
                assert len(Document(str(files["periodic"])).inline_shapes) >= 3  # trend charts
                for r in march:
                    assert f"{r['id']}" in text["ledger"]
                assert all(device in text["ledger"] for device in DEVICES)
                assert all(c.number in text["monthly"] for c in march_cases if c.response_breached)
                assert number in text["fault"] and cases[0].device in text["fault"]
            else:
                sheets = {k: xlsx_cells(p) for k, p in files.items()}
                matrix = next(iter(sheets["periodic"].values()))
                assert {r[0] for r in matrix[1:]} == set(DEVICES)
                assert all(f"sha256 {next(iter(hashes[k]))}" in str(s["sha256"]) for k, s in sheets.items())
                monthly = next(iter(sheets["monthly"].values()))
                assert monthly[1][1] == len(march_cases), monthly  # cases in March, as in the store
                timeline = list(sheets["fault"].values())[1]
                assert len(timeline) == len(case_history(app.engine, number)) + 1
                assert next(iter(sheets["fault"].values()))[0][:2] == (LABELS_CASE[lang], number)
    # the same data gives the same hash in every format and language
    assert all(len(h) == 1 for h in hashes.values()), hashes


LABELS_CASE = {"zh-CN": "故障单号", "en": "Case"}


def test_edited_docx_and_xlsx_fail_verify(half_year: Path) -> None:
    from openpyxl import load_workbook as load

    d = half_year
    docx = d / "ledger-check.docx"
    run(d, "report", "ledger", "--month", "2026-03", "-f", "docx", "-o", str(docx))
    assert cli("report", "verify", str(docx)).returncode == 0
    text_edit = d / "ledger-text-edit.docx"
    edited_docx(docx, text_edit, ">enc-01<", ">enc-02<")  # one visible device name
    r = cli("report", "verify", str(text_edit))
    assert r.returncode == 1 and "visible text differs" in r.stdout, r.stdout
    data_edit = d / "ledger-data-edit.docx"
    edited_docx(docx, data_edit, '"device":"enc-01"', '"device":"enc-02"', "customXml/xunjian-data.json")
    r = cli("report", "verify", str(data_edit))
    assert r.returncode == 1 and "does not match the printed hash" in r.stdout, r.stdout

    xlsx = d / "monthly-check.xlsx"
    run(d, "report", "monthly", "--month", "2026-03", "-f", "xlsx", "-o", str(xlsx))
    assert cli("report", "verify", str(xlsx)).returncode == 0
    book = load(xlsx)
    first = book.worksheets[0]
    first["B2"] = int(first["B2"].value) + 1  # one more case than the store has
    edited = d / "monthly-edited.xlsx"
    book.save(edited)
    r = cli("report", "verify", str(edited))
    assert r.returncode == 1 and "visible text differs" in r.stdout, r.stdout
    plain = d / "plain.xlsx"
    from openpyxl import Workbook

    Workbook().save(plain)
    r = cli("report", "verify", str(plain))
    assert r.returncode == 2 and "not written by xunjian" in r.stderr and "Traceback" not in r.stderr
