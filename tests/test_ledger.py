"""`xunjian inspect --record` keeps a run with evidence; `xunjian report ledger` shows it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psutil
from openpyxl import load_workbook

from tests.helpers import cli


def setup(tmp_path: Path) -> list[str]:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - name: here\n    collectors: [local]\n"
        "    thresholds: {disk_used_percent: {warn: 0.001}}\n")  # every filesystem warns
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\ntimezone: UTC\n")
    return ["-c", str(tmp_path / "xunjian.yaml")]


def test_recorded_run_with_evidence_in_every_ledger_format(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    r = cli("inspect", "--record", "--as", "zhang.wei", "-f", "json", *cfg)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc["run_id"], int)
    root = next(x for x in doc["results"] if x["instance"] == "/" and x["check"] == "disk_used_percent")
    cli("inspect", *cfg)  # not recorded
    day = datetime.now(UTC).strftime("%Y-%m-%d")

    md = cli("report", "ledger", "--day", day, "-f", "md", "--lang", "en", *cfg)
    assert md.returncode == 0, md.stderr
    assert md.stdout.count("| zhang.wei | by hand |") == 1  # one recorded run, not two
    assert "Filesystem space used /:" in md.stdout and "case" not in md.stdout.lower().split("what was done")[0]
    assert "opened" in md.stdout.split("What was done")[1]  # the case the warning opened

    out = tmp_path / "ledger.html"
    r = cli("report", "ledger", "--day", day, "-o", str(out), *cfg)
    html = out.read_text()
    assert r.returncode == 0 and "日常巡检记录" in html and "zhang.wei" in html and "告警" in html
    mount = psutil.disk_usage("/")
    assert f"{mount.total // 1024} " in html  # the df-like evidence line of /

    xlsx = tmp_path / "ledger.xlsx"
    r = cli("report", "ledger", "--month", day[:7], "-f", "xlsx", "-o", str(xlsx), *cfg)
    assert r.returncode == 0, r.stderr
    wb = load_workbook(xlsx)
    rows = list(wb["检查明细"].iter_rows(values_only=True))
    assert rows[0][:4] == ("巡检编号", "设备", "检查项", "结论")
    row = next(x for x in rows[1:] if x[2] == "disk_used_percent /")
    assert row[3] == "告警" and abs(row[4] - root["value"]) < 1e-9 and row[8] and row[9].endswith(" /")


def test_ledger_bad_input_is_one_clear_message(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    for args, text in ((["--month", "2026/11"], "a month like 2026-11"),
                       (["--day", "yesterday"], "a date like 2026-11-22"),
                       (["-f", "xlsx"], "give --output FILE")):
        r = cli("report", "ledger", *args, *cfg)
        assert r.returncode == 2 and text in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = cli("report", "ledger", "--day", "2020-01-01", "-f", "md", *cfg)
    assert r.returncode == 0 and "本期无巡检记录" in r.stdout


def test_scheduled_inspection_only_on_working_days(tmp_path: Path) -> None:
    from agent.app import build_pipeline, load_app
    from agent.scheduler import Daemon
    from agent.store.runs import list_runs

    setup(tmp_path)
    with (tmp_path / "xunjian.yaml").open("a") as f:
        f.write("calendars:\n  office: {timezone: Asia/Shanghai, hours: ['08:30-17:30'], "
                "holidays: ['2026-10-01..2026-10-07'], workdays: ['2026-10-10']}\n"
                "inspections:\n  - {name: daily, at: '09:00', calendar: office}\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    daemon = Daemon(app.inventory, pipeline, 2, app.config.inspections)
    (spec,) = app.config.inspections

    def at(text: str) -> float:
        return datetime.fromisoformat(text + "+08:00").timestamp()

    assert daemon.scheduled_inspection(spec, at("2026-10-05 09:00")) is None  # holiday
    assert daemon.scheduled_inspection(spec, at("2026-10-11 09:00")) is None  # Sunday
    run_id = daemon.scheduled_inspection(spec, at("2026-10-10 09:00"))  # make-up Saturday
    pipeline.close()
    assert run_id is not None
    (run,) = list_runs(app.engine, 0, 4e9)
    assert (run["id"], run["trigger"], run["started_by"], run["devices"]) == (run_id, "schedule", "daily", 1)


def test_bad_inspection_schedule(tmp_path: Path) -> None:
    cfg = setup(tmp_path)
    base = (tmp_path / "xunjian.yaml").read_text()
    for line, where, text in (("{name: daily, at: '9am'}", "inspections[0].at", "a time of day like 09:00"),
                              ("{name: daily, at: '09:00', calendar: nope}", "inspections[0].calendar",
                               "a calendar defined under calendars")):
        (tmp_path / "xunjian.yaml").write_text(base + f"inspections:\n  - {line}\n")
        r = cli("report", "ledger", *cfg)
        assert r.returncode == 2 and f"{where}: {text}" in r.stderr, r.stderr
