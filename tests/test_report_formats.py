"""The report family from the half-year history (tests/history.py, built once per session):
the monthly summary in PDF and HTML with a real playbook run among its remediations, the
ledger PDF, the English fault report PDF, an edited PDF caught by `report verify`, every
PDF page rendered and inked, every device and check of the store listed where a report
claims to list them."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections import Counter
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader, PdfWriter

from agent.cases.queries import list_cases
from agent.playbook.audit import history as playbook_history
from agent.playbook.runner import Runner
from agent.store.db import open_engine
from agent.store.runs import list_runs, run_results
from reports.ledger import period_bounds
from reports.render import ATTACHMENT
from tests import history
from tests.helpers import cli
from tests.playbook_env import device, give, request, workspace, write_file, yes

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils missing")

TZ = history.TZ
MONTH = "2026-03"  # the playbook runs are put in this month of the history
DAY = "2026-03-10"  # a working day (Tuesday) with a recorded inspection


def run(config: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    r = cli(*args, "-c", str(config), env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def flat(text: str) -> str:
    """Text without whitespace: table cells wrap anywhere, and the words must still be found."""
    return "".join(text.split())


def pdf_text(pdf: Path) -> str:
    """In content order (-raw): a cell wrapped over lines stays together, unlike the layout."""
    return subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def assert_pages_inked(pdf: Path) -> int:
    """pdftoppm every page; each must have ink above its footer (the footer alone — hash and
    page number — is what an empty or collapsed page still shows). Returns the page count."""
    out = pdf.parent / f"{pdf.stem}-page"
    subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(pdf), str(out)], check=True)
    pages = sorted(pdf.parent.glob(f"{pdf.stem}-page*.png"))
    assert pages and len(pages) == len(PdfReader(pdf).pages)
    for i, p in enumerate(pages):
        with Image.open(p) as img:
            w, h = img.size
            body = img.crop((0, 0, w, int(h * 0.90)))  # A4 with a 20 mm bottom margin: the footer
            ink = sum(body.histogram()[:200])  # pixels darker than near-white
        # the last page may hold only the end of the report (a heading, a line, "generated")
        assert ink > (0.001 if i == len(pages) - 1 else 0.004) * w * h, (p.name, ink, w * h)
    return len(pages)


def verify(path: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    return cli("report", "verify", str(path), *(["-c", str(config)] if config else []))


@pytest.fixture(scope="module")
def with_playbooks(half_year: Path, ssh_peer: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A copy of the history with real clean-logs runs in MONTH against the test sshd: one
    that cleans (ok, bytes freed) and one refused (a root outside the allowed ones)."""
    d = tmp_path_factory.mktemp("history-playbooks")
    shutil.copytree(half_year, d, dirs_exist_ok=True)
    inv_dir = tmp_path_factory.mktemp("playbook-inventory")
    at = [datetime(2026, 3, 10, 10, 0, tzinfo=TZ).timestamp()]
    runner = Runner(open_engine(d / "var"), d / "var", TZ, clock=lambda: at[0], poll_interval=0.1)
    history_ids = {r["id"] for r in playbook_history(runner.engine)}
    with workspace(ssh_peer) as ws:
        now = time.time()
        for i in range(4):
            write_file(ws / "logs" / f"app.log.{i + 1}", 4000 + i, 10 + i, now)
        give(ws, ssh_peer.user)
        dev = device(inv_dir, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        ok = runner.apply(request(dev, "clean-logs", {"patterns": "*.log.*", "older_than_days": "7",
                                                      "keep_newest": "1"}), yes)
        assert ok.result == "ok" and ok.total_freed == 4001 + 4002 + 4003, ok.message  # keeps app.log.1
        at[0] += 3600
        refused = runner.apply(request(dev, "clean-logs", {"roots": "/etc"}), yes)
        assert refused.result == "refused", refused.message
    applied = [r for r in playbook_history(runner.engine) if r["mode"] == "apply"]
    ours = [r for r in applied if r["id"] not in history_ids]
    assert sorted(r["result"] for r in ours) == ["ok", "refused"]
    since, until = period_bounds(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), TZ)
    # the month's runs: ours and those the history made (it cleans app01's logs on peak days)
    return d, [r for r in applied if since <= r["started_at"] < until]


@pytest.mark.peers
def test_monthly_summary_pdf_html_docx_xlsx_with_remediations(with_playbooks: tuple[Path, list[dict[str, Any]]]) -> None:
    d, applied = with_playbooks
    cfg = d / "xunjian.yaml"
    engine = open_engine(d / "var")
    since, until = period_bounds(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), TZ)
    cases = [c for c in list_cases(engine, "all", since=since, until=until) if not c.suppressed_by]
    assert cases, "the history has cases in March"
    top = Counter(c.device for c in cases).most_common(10) + Counter(c.check for c in cases).most_common(10)
    freed = sum(r["bytes_freed"] for r in applied)
    n_ok = sum(r["result"] == "ok" for r in applied)
    n_refused = sum(r["result"] == "refused" for r in applied)
    assert n_refused == 1 and n_ok >= 1 and n_ok + n_refused == len(applied)
    for lang, words in (("zh-CN", ("月度服务报告", "处置记录", f"成功{n_ok}", "被拒绝1", "11.7KiB")),
                        ("en", ("Monthlyservicesummary", "Remediations", f"ok{n_ok}", "refused1", "11.7KiB"))):
        pdf = d / f"monthly-{lang}.pdf"
        run(cfg, "report", "monthly", "--month", MONTH, "-f", "pdf", "--lang", lang, "-o", str(pdf))
        text = flat(pdf_text(pdf))
        for w in words:
            assert w in text, (lang, w)
        assert "clean-logs" in text and "testhost" in text and "2026-03-1010:00" in text
        assert f"{len(cases)}" in text
        for name, _ in top:  # the devices and checks with most cases, as the store counts them
            assert name in text, (lang, name)
        assert verify(pdf).returncode == 0
        assert assert_pages_inked(pdf) >= 1

        page = d / f"monthly-{lang}.html"
        run(cfg, "report", "monthly", "--month", MONTH, "-f", "html", "--lang", lang, "-o", str(page))
        html = page.read_text()
        assert html.count("<td>clean-logs</td>") == 1 + len(applied)  # the tally, then a row per run
        assert verify(page).returncode == 0

    data = json.loads(PdfReader(d / "monthly-en.pdf").attachments[ATTACHMENT][0])["data"]
    fixes = data["remediations"]
    assert fixes["count"] == len(applied) and fixes["bytes_freed"] == freed
    assert fixes["by_playbook"] == [{"playbook": "clean-logs", "runs": len(applied), "bytes_freed": freed,
                                     "outcomes": {"ok": n_ok, "failed": 0, "aborted": 0, "refused": 1,
                                                  "busy": 0}}]
    assert data["cases"] == len(cases)

    docx = d / "monthly.docx"
    run(cfg, "report", "monthly", "--month", MONTH, "-f", "docx", "--lang", "en", "-o", str(docx))
    cells = [c.text for t in Document(str(docx)).tables for row in t.rows for c in row.cells]
    assert "clean-logs" in cells and f"ok {n_ok}, refused 1" in cells and "11.7 KiB" in cells
    book = d / "monthly.xlsx"
    run(cfg, "report", "monthly", "--month", MONTH, "-f", "xlsx", "--lang", "zh-CN", "-o", str(book))
    rows = list(load_workbook(book)["处置记录"].iter_rows(values_only=True))
    assert rows[1] == ("clean-logs", len(applied), n_ok, 0, 0, 1, 0, freed)  # exact bytes in the XLSX
    assert verify(book).returncode == 0

    # a month without playbook runs says so
    feb = run(cfg, "report", "monthly", "--month", "2026-02", "-f", "md", "--lang", "en").stdout
    assert "No remediation this month" in feb


def test_ledger_pdf_lists_every_device_and_check_of_the_day(half_year: Path) -> None:
    d, cfg = half_year, half_year / "xunjian.yaml"
    engine = open_engine(d / "var")
    since, until = period_bounds(datetime.fromisoformat(DAY).date(), datetime.fromisoformat(DAY).date(), TZ)
    runs = list_runs(engine, since, until)
    assert len(runs) == 1
    results = run_results(engine, runs[0]["id"])
    devices = {r["device"] for r in results}
    checks = {flat(f"{r['check_name']} {r['instance']}") for r in results}
    assert len(devices) == 5 and {"disk_used_percent/u01", "collect.synthetic"} <= checks
    for lang, scope in (("zh-CN", "全部设备"), ("en", "alldevices")):
        pdf = d / f"ledger-{DAY}-{lang}.pdf"
        run(cfg, "report", "ledger", "--day", DAY, "-f", "pdf", "--lang", lang, "-o", str(pdf))
        text = flat(pdf_text(pdf))
        assert scope in text  # the run's scope (the whole inventory)
        assert all(name in text for name in devices), devices
        missing = [c for c in checks if c not in text]
        assert not missing, missing
        assert verify(pdf).returncode == 0
        assert assert_pages_inked(pdf) >= 2

    # the month's XLSX has every result row: every device and check of every run of the month
    book = d / "ledger-month.xlsx"
    run(cfg, "report", "ledger", "--month", MONTH, "-f", "xlsx", "--lang", "en", "-o", str(book))
    sheet = list(load_workbook(book)["Results"].iter_rows(values_only=True))[1:]
    month = period_bounds(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), TZ)
    stored = [(r["id"], x["device"], f"{x['check_name']} {x['instance']}".strip())
              for r in list_runs(engine, *month) for x in run_results(engine, r["id"])]
    assert sorted((row[0], row[1], row[2]) for row in sheet) == sorted(stored)


def test_english_fault_report_pdf(half_year: Path) -> None:
    d, cfg = half_year, half_year / "xunjian.yaml"
    engine = open_engine(d / "var")
    cases = [c for c in list_cases(engine, "all") if not c.suppressed_by]
    late = next(c for c in cases if c.response_breached)
    in_time = next(c for c in cases if not (c.response_breached or c.repair_breached) and c.status == "closed")
    for case, missed in ((late, True), (in_time, False)):
        pdf = d / f"fault-{case.number}-en.pdf"
        run(cfg, "cases", "report", case.number, "-f", "pdf", "--lang", "en", "-o", str(pdf))
        text = flat(pdf_text(pdf))
        for w in ("Faultreport", case.number, case.device, flat(case.check), "Timeline", "Sign-off", "page1of"):
            assert w in text, (case.number, w)
        assert ("MISSED" in text) is missed
        assert "故障处理报告" not in text and "签字" not in text
        assert verify(pdf).returncode == 0
        assert_pages_inked(pdf)


def test_an_edited_pdf_fails_verify_and_the_original_passes(half_year: Path, tmp_path: Path) -> None:
    cfg = half_year / "xunjian.yaml"
    pdf = tmp_path / "ledger.pdf"
    run(cfg, "report", "ledger", "--day", DAY, "-f", "pdf", "--lang", "en", "-o", str(pdf))
    assert verify(pdf).returncode == 0
    assert_pages_inked(pdf)
    reader = PdfReader(pdf)

    # a number edited in the attached data (one more pass), the pages kept as they were
    envelope = json.loads(reader.attachments[ATTACHMENT][0])
    envelope["data"]["runs"][0]["counts"]["pass"] += 1
    writer = PdfWriter()
    writer.append(reader)
    writer.add_attachment(ATTACHMENT, json.dumps(envelope, ensure_ascii=False).encode("utf-8"))
    edited = tmp_path / "edited.pdf"
    with edited.open("wb") as f:
        writer.write(f)
    assert json.loads(PdfReader(edited).attachments[ATTACHMENT][0]) == envelope
    r = verify(edited)
    assert r.returncode == 1 and "the data does not match the printed hash" in r.stdout, r.stdout

    # the data intact but a page of visible text taken out: the re-rendered text differs
    writer = PdfWriter(clone_from=reader)
    assert len(writer.pages) >= 2
    writer.remove_page(len(writer.pages) - 1)
    cut = tmp_path / "cut.pdf"
    with cut.open("wb") as f:
        writer.write(f)
    assert ATTACHMENT in PdfReader(cut).attachments
    r = verify(cut)
    assert r.returncode == 1 and "the visible text differs from the data" in r.stdout, r.stdout
    assert verify(pdf).returncode == 0  # the original still passes


def _png(path: Path) -> bytes:
    img = Image.new("RGB", (120, 40), (200, 30, 30))
    buf = BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _look_config(half_year: Path, tmp_path: Path) -> Path:
    """The history's config, with data and inventory where they are, and the contractor's
    template directory and logo (paths relative to the config)."""
    text = (half_year / "xunjian.yaml").read_text()
    text = text.replace("data_dir: var", f"data_dir: {half_year / 'var'}")
    text = text.replace("inventory: inventory.yaml", f"inventory: {half_year / 'inventory.yaml'}")
    text = text.replace("number_prefix: XJ}", "number_prefix: XJ, templates: look, logo: look/logo.png}")
    assert "templates: look" in text
    (tmp_path / "look").mkdir()
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text(text)
    return cfg


def test_contractor_template_wording_and_logo(half_year: Path, tmp_path: Path) -> None:
    cfg = _look_config(half_year, tmp_path)
    look = tmp_path / "look"
    logo = _png(look / "logo.png")
    # a replaced template: the ledger's HTML, laid out by the contractor
    (look / "ledger.html.j2").write_text(
        '<html><body>{% include "_logo.html.j2" %}<h1>承包商巡检台账 {{ period }}</h1>'
        "{% for r in runs %}<p>{{ r.id }} {{ r.devices }}</p>{% endfor %}</body></html>")
    (look / "i18n.yaml").write_text("en:\n  monthly: {title: Service summary of the month}\n")

    page = tmp_path / "ledger.html"
    run(cfg, "report", "ledger", "--day", DAY, "-f", "html", "-o", str(page))
    html = page.read_text()
    assert f"承包商巡检台账 {DAY}" in html and "日常巡检记录" not in html
    assert '<img class="logo" src="data:image/png;base64,' in html
    assert base64.b64encode(logo).decode() in html
    assert verify(page, cfg).returncode == 0  # verified with the same templates
    assert verify(page).returncode == 1  # with the built-in ones the text differs: said in the README

    pdf = tmp_path / "ledger.pdf"
    run(cfg, "report", "ledger", "--day", DAY, "-f", "pdf", "-o", str(pdf))
    assert f"承包商巡检台账{DAY}" in flat(pdf_text(pdf))
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert any(line.split()[3:5] == ["120", "40"] for line in images.splitlines()[2:]), images
    assert_pages_inked(pdf)

    # wording: the English monthly title from i18n.yaml; the Chinese one untouched
    md = run(cfg, "report", "monthly", "--month", MONTH, "-f", "md", "--lang", "en").stdout
    assert md.startswith("# Service summary of the month · 2026-03")
    assert run(cfg, "report", "monthly", "--month", MONTH, "-f", "md").stdout.startswith("# 月度服务报告")

    # the logo in the DOCX: an inline picture in the page header, the same bytes
    docx = tmp_path / "monthly.docx"
    run(cfg, "report", "monthly", "--month", MONTH, "-f", "docx", "-o", str(docx))
    doc = Document(str(docx))
    header = doc.sections[0].header
    blips = header._element.xpath(".//a:blip/@r:embed")
    assert len(blips) == 1
    assert header.part.related_parts[blips[0]].blob == logo
    assert verify(docx, cfg).returncode == 0


@pytest.mark.parametrize(("template", "where"), [
    ("<html><body>{% for r in runs %}{{ r.id }}</body></html>", "line 1"),  # for without endfor
    ("<html><body>\n\n{{ runs[0].nope.deeper }}</body></html>", "line 3"),  # fails while rendering
])
def test_broken_override_template_is_one_clear_message(half_year: Path, tmp_path: Path, template: str,
                                                       where: str) -> None:
    cfg = _look_config(half_year, tmp_path)
    _png(tmp_path / "look" / "logo.png")
    broken = tmp_path / "look" / "ledger.html.j2"
    broken.write_text(template)
    r = run(cfg, "report", "ledger", "--day", DAY, "-f", "html", ok=False)
    assert r.returncode == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert str(broken) in first and where in first, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_bad_wording_and_missing_logo_are_clear(half_year: Path, tmp_path: Path) -> None:
    cfg = _look_config(half_year, tmp_path)
    _png(tmp_path / "look" / "logo.png")
    (tmp_path / "look" / "i18n.yaml").write_text("en:\n  monthly: {titel: typo}\n")
    r = run(cfg, "report", "monthly", "--month", MONTH, "-f", "md", ok=False)
    assert r.returncode == 2 and "i18n.yaml: en.monthly.titel: not a word the reports use" in r.stderr, r.stderr
    (tmp_path / "look" / "i18n.yaml").unlink()
    (tmp_path / "look" / "logo.png").unlink()
    r = run(cfg, "report", "monthly", "--month", MONTH, "-f", "md", ok=False)
    assert r.returncode == 2 and "report.logo" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_an_svg_logo_needs_a_png_beside_it_for_docx(tmp_path: Path) -> None:
    from reports.templating import Logo, configure, logo

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    (tmp_path / "logo.svg").write_bytes(svg)
    try:
        configure(None, tmp_path / "logo.svg")
        mine = logo()
        assert isinstance(mine, Logo) and mine.data_uri().startswith("data:image/svg+xml;base64,")
        assert mine.raster() is None  # Word cannot show it: no logo rather than a broken picture
        png = _png(tmp_path / "logo.png")
        assert mine.raster() == png
    finally:
        configure(None, None)
    assert logo() is None
