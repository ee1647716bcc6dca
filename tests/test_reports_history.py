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
from reports.i18n import LABELS
from tests import history
from tests.helpers import cli

DEVICES = ("db01", "app01", "sw-core-1", "sw-core-2", "enc-01", "br-01")
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


def run(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    r = cli(*args, "-c", str(d / "xunjian.yaml"), env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    assert r.returncode == 0, r.stderr
    return r


def text_of(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


H1 = (datetime(2026, 1, 1, tzinfo=history.TZ).timestamp(), datetime(2026, 7, 1, tzinfo=history.TZ).timestamp())
H2_2025 = (datetime(2025, 7, 1, tzinfo=history.TZ).timestamp(), H1[0])


def period_cases(app: history.App, bounds: tuple[float, float] = H1) -> list:  # type: ignore[type-arg]
    return [c for c in list_cases(app.engine, "all") if not c.suppressed_by and bounds[0] <= c.opened_at < bounds[1]]


def test_periodic_report_every_format_and_language(half_year: Path) -> None:
    d = half_year
    app = history.load_app(d / "xunjian.yaml")
    cases = period_cases(app)
    assert len(cases) >= 3 and any(c.response_breached for c in cases) and any(not c.response_breached for c in cases)
    runs = list_runs(app.engine, *H1)
    before = list_runs(app.engine, *H2_2025)
    assert before, "the history has inspections in the previous half-year"
    for lang in ("zh-CN", "en"):
        pdf = d / f"periodic-{lang}.pdf"
        run(d, "report", "periodic", "--period", "2026H1", "--lang", lang, "-o", str(pdf))
        text = text_of(pdf)
        for device in DEVICES:
            assert device in text, (lang, device)
        p = LABELS[lang]["periodic"]
        for heading in ("changes", "ports", "prev_peak", "before_after", "asset_kind", "changes_cleared"):
            assert "".join(p[heading].split()) in text, (lang, heading)
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
    assert f"| Inspection runs | {len(runs)} | {len(before)} |" in md  # the numbers are the store's
    assert f"| Fault cases | {len(cases)} | {len(period_cases(app, H2_2025))} |" in md
    # db01 /u01 grows 0.21 %/day from 55 %: a recommendation, with the projection
    assert "/u01 on db01 will be full in about" in md
    assert ("- sw-core-1: Kind switch; Model S12704; Serial 2102351931P0K8000123; Hardware VER.B; "
            "Firmware V200R021C00SPC100") in md  # the asset register
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
    assert {r[0] for r in matrix[1:]} == set(DEVICES)
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
    runs = list_runs(app.engine, *H1)
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
                for c in period_cases(app):
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
                timeline = sheets["fault"][LABELS[lang]["timeline"]]  # beside it: every deadline
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


def report_data(d: Path, *args: str) -> dict:  # type: ignore[type-arg]
    """The data a periodic report was rendered from, as embedded in its HTML."""
    import html as html_lib
    import re

    out = d / "data.html"
    run(d, "report", "periodic", *args, "-f", "html", "-o", str(out))
    blob = re.search(r'<script type="application/json" id="xunjian-data">(.*?)</script>', out.read_text(), re.S)
    assert blob is not None
    return json.loads(html_lib.unescape(blob.group(1)))["data"]  # type: ignore[no-any-return]


def latest_in(app: history.App, bounds: tuple[float, float], device: str, check: str, instance: str = "") -> str:
    """The latest verdict of a device's check among the recorded runs in bounds, from the store."""
    from sqlalchemy import select

    from agent.store.schema import inspection_results as r
    from agent.store.schema import inspection_runs as runs

    with app.engine.connect() as conn:
        return conn.execute(select(r.c.verdict).join(runs, runs.c.id == r.c.run_id).where(
            r.c.device == device, r.c.check_name == check, r.c.instance == instance, runs.c.started_at >= bounds[0],
            runs.c.started_at < bounds[1]).order_by(runs.c.started_at.desc()).limit(1)).scalar_one()


def test_matrix_reads_back_one_line_per_device_from_html_and_pdf(half_year: Path) -> None:
    """The devices × checks matrix: one line per device, every device, in the HTML's <pre> and in
    the PDF's text, each line the glyphs of that device's latest verdicts (pass and "no such
    check" different, both in the legend)."""
    import html as html_lib
    import re

    from reports.periodic import NO_CHECK, SYMBOLS

    d = half_year
    data = report_data(d, "--period", "2026H1")
    expected = {}
    for kind, cols in data["columns"].items():
        for dev in (x["name"] for x in data["devices"] if x["kind"] == kind):
            row = data["grid"].get(dev, {})
            expected[dev] = "".join(SYMBOLS[row[c]] if c in row else NO_CHECK for c in cols)
    assert set(expected) == set(DEVICES)
    assert SYMBOLS["pass"] != NO_CHECK and len(set(SYMBOLS.values()) | {NO_CHECK}) == 5
    # from the store: db01's /u01 is a warn at the end of the half-year; app01 has no Oracle check
    app = history.load_app(d / "xunjian.yaml")
    assert latest_in(app, H1, "db01", "disk_used_percent", "/u01") == "warn"
    servers = data["columns"]["server"]
    assert expected["db01"][servers.index("disk_used_percent")] == SYMBOLS["warn"]
    assert expected["app01"][servers.index("oracle_tablespace_used_percent")] == NO_CHECK

    glyphs = re.escape("".join(SYMBOLS.values()) + NO_CHECK)
    line = re.compile(rf"^\s*(\S+)\s+([{glyphs}]+)\s*$")

    def rows(text: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for ln in text.splitlines():
            m = line.match(ln)
            if m and m.group(1) in expected:
                found.setdefault(m.group(1), []).append(m.group(2))
        return found

    page = (d / "data.html").read_text()
    blocks = re.findall(r'<pre class="matrix">(.*?)</pre>', page, re.S)
    from_html = rows(html_lib.unescape("\n".join(blocks[:len(data["columns"])])))
    assert from_html == {dev: [g] for dev, g in expected.items()}
    for lang in ("zh-CN", "en"):
        pdf = d / f"matrix-{lang}.pdf"
        run(d, "report", "periodic", "--period", "2026H1", "--lang", lang, "-o", str(pdf))
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert rows(text) == {dev: [g] for dev, g in expected.items()}, lang
        legend = LABELS[lang]["periodic"]["no_check"]
        assert f"{NO_CHECK} {legend}" in " ".join(text.split()), lang
        assert f"{SYMBOLS['pass']} {LABELS[lang]['ledger']['verdicts']['pass']}" in " ".join(text.split())


def test_previous_period_is_the_calendar_period_before(half_year: Path) -> None:
    d = half_year
    app = history.load_app(d / "xunjian.yaml")
    data = report_data(d, "--period", "2026H1")
    assert data["previous_period"] == {"from": "2025-07-01", "to": "2025-12-31"}
    before = list_runs(app.engine, *H2_2025)
    assert before and data["previous"]["runs"] == len(before)  # non-empty, and the store's count
    assert data["previous"]["checks"] > 0
    # --from/--to: the same number of days before
    same = report_data(d, "--from", "2026-01-01", "--to", "2026-06-30")
    assert same["previous_period"] == {"from": "2025-07-04", "to": "2025-12-31"}
    assert "calendar period" in cli("report", "periodic", "--help").stdout


def test_changes_trends_remediations_and_recommendations(half_year: Path) -> None:
    d = half_year
    app = history.load_app(d / "xunjian.yaml")
    data = report_data(d, "--period", "2026H1")
    end_2025 = (H1[0] - 30 * 86400, H1[0])
    # what changed: each new and cleared exception as the store has it
    new = {(c["device"], c["check"]) for c in data["changes"]["new"]}
    cleared = {(c["device"], c["check"]) for c in data["changes"]["cleared"]}
    # boards are named by entPhysicalName (checks/network.yaml)
    assert ("db01", "disk_used_percent /u01") in new and ("br-01", "device_mem_percent board 1") in cleared
    assert latest_in(app, end_2025, "br-01", "device_mem_percent", "board 1") == "warn"
    assert latest_in(app, H1, "br-01", "device_mem_percent", "board 1") == "pass"
    assert not new & cleared
    assert data["summary"]["asset_changes"] == 1 and data["previous"]["asset_changes"] == 0
    # peaks: network devices too, each beside the previous period
    peaks = {(k["device"], k["metric"]): k for k in data["peaks"]}
    for key in (("sw-core-1", "cli_cpu.usage_percent"), ("sw-core-1", "cli_memory.used_percent"),
                ("enc-01", "device_health.cpu_percent"), ("db01", "cpu.usage_active")):
        assert key in peaks and peaks[key]["prev_peak"] is not None, key
    # port errors: the counter's increase over the half-year, from the last sample before it
    last_before = (history.previous_days()[-1] - history.START).days
    ports = {(x["device"], x["port"]): x for x in data["ports"]}
    rising = ports[("sw-core-1", "GE1/0/2")]
    assert rising["errors"] == (history.port_errors_total("sw-core-1", "GE1/0/2", history.DAYS - 1)
                                - history.port_errors_total("sw-core-1", "GE1/0/2", last_before))
    assert rising["rising"] and not ports[("sw-core-1", "GE1/0/1")]["rising"]
    assert ports[("sw-core-1", "GE1/0/1")]["prev_errors"] > 0
    # recommendations from the data
    kinds = {(r["kind"], r["device"], r["subject"]) for r in data["recommendations"]}
    assert ("port_rising", "sw-core-1", "GE1/0/2") in kinds
    assert ("version_drift", "sw-core-2", "firmware_rev") in kinds
    drift = next(r for r in data["recommendations"] if r["kind"] == "version_drift")
    assert drift["newest"] == "V200R021C00SPC100" and drift["old"] == "V200R019C10SPC500"
    users = next(g for g in data["growth"] if g["device"] == "db01" and g["series"] == "USERS")
    assert users["days_until_full"] is not None and 55 <= users["days_until_full"] <= 65  # 85 % + 0.25 %/day
    assert ("full_soon", "db01", "USERS") in kinds
    # remediations: the real playbook runs, with the check before and after
    rem = data["remediations"]
    assert len(rem) >= 2
    for r in rem:
        assert r["playbook"] == "clean-logs" and r["result"] == "ok" and r["bytes_freed"] > 0 and r["case"]
        assert r["check"] == "disk_used_percent /var/log"
        assert r["check_before"]["verdict"] != "pass" and r["check_after"]["verdict"] == "pass"
        assert r["check_after"]["value"] < r["check_before"]["value"]
        assert r["facts"] and all(f["before"] is not None and f["after"] is not None for f in r["facts"])
    annex = d / "trends.xlsx"  # the annex has every row of the new sections
    run(d, "report", "periodic", "--period", "2026H1", "-f", "xlsx", "--lang", "en", "-o", str(annex))
    sheets = xlsx_cells(annex)
    port_rows = {(r[0], r[1]): r for r in sheets["Port errors"][1:]}
    assert port_rows[("sw-core-1", "GE1/0/2")][2] == rising["errors"]
    assert {(r[1], r[2]) for r in sheets["Changes"][1:]} == new | cleared
    assert len(sheets["Remediations"]) == len(rem) + 1
    assert all("→ pass" in r[7] for r in sheets["Remediations"][1:])
    md = run(d, "report", "periodic", "--period", "2026H1", "-f", "md", "--lang", "en").stdout
    first = rem[0]
    assert f"disk_used_percent /var/log: warn {first['check_before']['value']:g}%" in md
    assert "Errors and discards on port GE1/0/2 of sw-core-1 are rising" in md
    assert "Firmware differs across switch devices of model S12704" in md


def test_asset_register_renders_every_field(half_year: Path) -> None:
    """Fields the collectors add (server os, kernel, oracle_version…) become columns, with the
    inventory's kind, in every format, without code naming them."""
    from docx import Document

    from reports.periodic import asset_columns
    from reports.render import render

    d = half_year
    data = report_data(d, "--period", "2026H1")
    assert all(a["kind"] == "switch" for a in data["assets"])
    data["assets"].append({"device": "db01", "kind": "server", "model": "R740", "oracle_version": "19.21.0.0",
                           "kernel": "5.4.17-2136"})
    data["asset_columns"] = asset_columns(data["assets"])
    assert data["asset_columns"][0] == "kind" and {"oracle_version", "kernel"} <= set(data["asset_columns"])
    page = render("periodic", data, "html", "en").decode()
    assert "<th>oracle_version</th>" in page and "<td>19.21.0.0</td>" in page and "<th>Kind</th>" in page
    (d / "assets.docx").write_bytes(render("periodic", data, "docx", "en"))
    cells = {c.text for t in Document(str(d / "assets.docx")).tables for row in t.rows for c in row.cells}
    assert {"oracle_version", "19.21.0.0", "kernel", "5.4.17-2136"} <= cells
    (d / "assets.xlsx").write_bytes(render("periodic", data, "xlsx", "en"))
    rows = xlsx_cells(d / "assets.xlsx")["Asset register"]
    header = rows[0]
    db01 = next(r for r in rows if r[0] == "db01")
    assert db01[header.index("oracle_version")] == "19.21.0.0" and db01[header.index("Kind")] == "server"
