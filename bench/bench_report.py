"""Periodic report time: 500 devices × 30 checks × 182 days of history in the store → the
periodic report as PDF (WeasyPrint), beside a plain Jinja2 → HTML render of the same data.
Every 10th device is a switch with 24 ports of interface counters (the port-errors table)
and cli_cpu/cli_memory instead of cpu/mem. The store holds the period only: the previous
period's queries find nothing.
The history is written straight into the store (the pipeline's path is tested elsewhere);
the timed part is gathering + rendering, as `xunjian report periodic` does it.

    .venv/bin/python -m bench.bench_report [DEVICES] [CHECKS] [DAYS]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from agent.store.db import open_engine
from agent.store.schema import inspection_results, inspection_runs, rollups
from bench.common import section, timed
from reports.periodic import periodic_data, periodic_html
from reports.render import render

TZ = ZoneInfo("Asia/Shanghai")
SWITCH_EVERY = 10  # every 10th device is a switch with PORTS ports (interface rollups)
PORTS = 24


def fill(engine, devices: int, checks: int, days: int, first: date) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    with engine.begin() as conn:
        for day in range(days):
            d = first + timedelta(days=day)
            started = datetime(d.year, d.month, d.day, 9, tzinfo=TZ).timestamp()
            run_id = conn.execute(insert(inspection_runs).values(
                started_at=started, finished_at=started + 120, trigger="schedule", started_by="daily",
                scope="{}", devices=devices, status="warn")).inserted_primary_key[0]
            rows = []
            for i in range(devices):
                for c in range(checks):
                    v = rnd.random() * 100
                    rows.append({"run_id": run_id, "device": f"dev{i:04d}", "check_name": f"check_{c:02d}",
                                 "instance": "", "verdict": "pass" if v < 90 else "warn", "value": v,
                                 "unit": "%", "threshold": "warn >= 90%", "rule_version": "abc",
                                 "message": f"check_{c:02d}: {v:.1f}%", "evidence": f"line {v:.1f}",
                                 "collected_at": started})
            conn.execute(insert(inspection_results), rows)
            roll = []
            for i in range(devices):
                for path in ("/", "/u01", "/var"):
                    pct = 30 + (i % 50) + day * 0.1 * (i % 3)
                    roll.append({"day": d.isoformat(), "device": f"dev{i:04d}", "measurement": "disk",
                                 "field": "used_percent", "series": json.dumps({"fstype": "ext4", "path": path}),
                                 "min": pct, "max": pct, "sum": pct, "count": 1, "last": pct, "last_time": 0})
                switch = i % SWITCH_EVERY == 0
                for m, f in (("cli_cpu", "usage_percent"), ("cli_memory", "used_percent")) if switch else \
                        (("cpu", "usage_active"), ("mem", "used_percent")):
                    v = rnd.random() * 100
                    roll.append({"day": d.isoformat(), "device": f"dev{i:04d}", "measurement": m, "field": f,
                                 "series": "{}", "min": v, "max": v, "sum": v, "count": 1, "last": v,
                                 "last_time": 0})
                if switch:  # interface counters (cumulative) of every port: the port-errors table
                    for port in range(PORTS):
                        series = json.dumps({"ifIndex": str(port + 1), "ifName": f"GE1/0/{port + 1}"})
                        for f in ("in_errors", "out_errors", "in_discards", "out_discards"):
                            v = float(day * (port % 3) * (1 + i % 7))
                            roll.append({"day": d.isoformat(), "device": f"dev{i:04d}", "measurement": "interface",
                                         "field": f, "series": series, "min": v, "max": v, "sum": v, "count": 1,
                                         "last": v, "last_time": 0})
            conn.execute(insert(rollups), roll)


def main() -> None:
    devices = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    checks = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    days = int(sys.argv[3]) if len(sys.argv) > 3 else 182
    first = date(2026, 1, 1)
    last = first + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(Path(tmp))
        t0 = time.perf_counter()
        fill(engine, devices, checks, days, first)
        fill_s = time.perf_counter() - t0
        inv = [{"name": f"dev{i:04d}", "kind": "switch" if i % SWITCH_EVERY == 0 else "server", "address": f"10.0.{i // 250}.{i % 250}",
                "groups": [], "site": ""} for i in range(devices)]
        with timed() as gather:
            data = periodic_data(engine, first, last, TZ, inv, {"customer": "bench", "number": "XJ-1"})
        with timed() as html:
            periodic_html(data, "zh-CN", "html")
        with timed() as pdf:
            out = render("periodic", data, "pdf", "zh-CN")
    print(section("Periodic report", [
        f"{devices} devices × {checks} checks × {days} days ({devices * checks * days:,} recorded results, "
        f"{len(data['growth']):,} growth series, {devices // SWITCH_EVERY} switches × {PORTS} ports of interface "
        f"counters; written in {fill_s:.0f} s, not timed).", "",
        "| step | wall s |", "|---|---|",
        f"| gather the data from the store | {gather.wall:.1f} |",
        f"| plain Jinja2 → HTML (with charts) | {html.wall:.1f} |",
        f"| xunjian PDF (HTML + WeasyPrint, {len(out) / 2**20:.1f} MiB) | {pdf.wall:.1f} |",
        f"| total for the PDF | {gather.wall + pdf.wall:.1f} |", "",
        f"PDF / HTML ratio: {pdf.wall / max(html.wall, 1e-9):.1f}. Target: PDF < 20 s — "
        f"{'met' if gather.wall + pdf.wall < 20 else 'NOT met'}.",
    ]))


if __name__ == "__main__":
    main()
