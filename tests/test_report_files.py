"""Report files that stand as evidence: PDF (CJK text, page numbers, the content hash on every
page) and HTML carry their data; `xunjian report verify` passes on the original and fails on
an edited copy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


def setup(tmp_path: Path) -> list[str]:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - name: here\n    collectors: [local]\n"
        "    thresholds: {disk_used_percent: {warn: 0.001}}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\ntimezone: UTC\n")
    cfg = ["-c", str(tmp_path / "xunjian.yaml")]
    assert cli("inspect", "--record", "--as", "张伟", *cfg).returncode == 1
    return cfg


def pdf_text(path: Path) -> str:
    """The PDF's text without whitespace: table cells wrap CJK text at any character."""
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def test_fault_report_pdf_verifies_and_an_edit_is_caught(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    number = json.loads(cli("cases", "list", "-f", "json", *cfg).stdout)["cases"][0]["number"]
    pdf = tmp_path / "fault.pdf"
    r = cli("cases", "report", number, "-f", "pdf", "-o", str(pdf), *cfg)
    assert r.returncode == 0, r.stderr
    text = pdf_text(pdf)
    assert "故障处理报告" in text and number in text and "三级（次要）" in text
    assert "第1页/共" in text and "sha256" in text
    # pages render to images with ink on them (no blank or broken pages)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 2000 for p in pages)

    ok = cli("report", "verify", str(pdf))
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stdout + ok.stderr

    # the same report with one word of its data changed: same layout, wrong hash
    html = tmp_path / "fault.html"
    assert cli("cases", "report", number, "-f", "html", "-o", str(html), *cfg).returncode == 0
    assert cli("report", "verify", str(html)).returncode == 0
    page = html.read_text()
    edited = tmp_path / "edited.html"
    edited.write_text(page.replace("here", "there", 1))  # the visible device name
    r = cli("report", "verify", str(edited))
    assert r.returncode == 1 and "visible text differs" in r.stdout, r.stdout
    tampered = tmp_path / "tampered.html"
    tampered.write_text(page.replace('"device":"here"', '"device":"there"'))  # the embedded data
    r = cli("report", "verify", str(tampered))
    assert r.returncode == 1 and "does not match the printed hash" in r.stdout, r.stdout
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4 not really")
    r = cli("report", "verify", str(other))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_ledger_pdf_in_both_languages(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    for lang, words in (("zh-CN", ("日常巡检记录", "张伟", "告警")), ("en", ("Dailyinspectionledger", "warn"))):
        pdf = tmp_path / f"ledger-{lang}.pdf"
        r = cli("report", "ledger", "-f", "pdf", "--lang", lang, "-o", str(pdf), *cfg)
        assert r.returncode == 0, r.stderr
        text = pdf_text(pdf)
        for w in words:
            assert w in text, (lang, w)
        assert cli("report", "verify", str(pdf)).returncode == 0


def test_fault_report_docx_for_signing(tmp_path: Path) -> None:
    from docx import Document

    cfg = setup(tmp_path)
    number = json.loads(cli("cases", "list", "-f", "json", *cfg).stdout)["cases"][0]["number"]
    out = tmp_path / "fault.docx"
    r = cli("cases", "report", number, "-f", "docx", "-o", str(out), *cfg)
    assert r.returncode == 0, r.stderr
    doc = Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert f"故障处理报告 · {number}" in text and "签字确认" in text
    assert "三级（次要）" in cells and "here" in cells and "开单" in cells
    footer = doc.sections[0].footer.paragraphs[0].text
    html = tmp_path / "fault.html"
    cli("cases", "report", number, "-f", "html", "-o", str(html), *cfg)
    assert footer.startswith("sha256 ") and footer.split()[1] in html.read_text()  # same data, same hash
