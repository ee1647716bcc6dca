"""Half a year of history through the real pipeline, then every report in every format and
language: content, every device and check, numbers that match the store, verify, pages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cases.queries import list_cases
from agent.store.runs import list_runs
from tests import history
from tests.helpers import cli

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


@pytest.fixture(scope="module")
def half_year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("history")
    history.build(d)
    return d


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
