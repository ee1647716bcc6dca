"""Half a year of realistic history through the real pipeline on a shifted clock: servers whose
filesystems fill, an Oracle host (db01) whose tablespace grows, two switches of one model (one
upgraded, one not — the second inspected weekly) with a port whose errors rise, an encoder behind them that drops out,
breaches that open cases answered in time and late, engineers closing them, log clean-ups
through the real playbook engine (on this machine, over a local shell) and a recorded
inspection every working day. The previous half-year (2025H2) has a day every eight weeks, so that
reports can compare with it. Used by the report tests (and usable by hand:
python -m tests.history DIR)."""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import collectors
from agent.app import App, build_pipeline, load_app
from agent.cases.engine import CaseError
from agent.inspection import inspect_devices, record
from core.model import CollectionError, CommandOutput, Sample, Target

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 1, 1)
DAYS = 181  # 2026H1
PREVIOUS_START = date(2025, 7, 1)  # 2025H2: a day every eight weeks (every day would double the build time)
PREVIOUS_EVERY = 56
CLEANUP_EVERY = 30  # app01's /var/log peaks every 30 days (day 29, 59…): the logs are cleaned at
CLEANED = 2 * CLEANUP_EVERY  # every other peak (29, 89, 149); the others pass by themselves
WEEKLY = {"sw-core-2"}  # inspected once a week only: it is there for its asset record (build time)

INVENTORY = """\
defaults: {collectors: [synthetic], interval: 86400}
devices:
  - {name: db01, kind: server, labels: {site: hq, room: A1}}
  - {name: app01, kind: server, labels: {site: hq, room: A1}}
  - {name: sw-core-1, kind: switch, labels: {site: hq}}
  - {name: sw-core-2, kind: switch, labels: {site: hq}}
  - {name: enc-01, kind: encoder, labels: {site: county-a, parent: sw-core-1}}
  - {name: br-01, kind: bearer, labels: {site: county-a}}
"""

CONFIG = """\
data_dir: var
inventory: inventory.yaml
timezone: Asia/Shanghai
report: {customer: 某市公安局, contractor: 某某科技有限公司, system: 视频专网运维, number_prefix: XJ}
calendars:
  office: {timezone: Asia/Shanghai, hours: ["08:30-12:00", "13:30-17:30"], statutory: cn}
sla:
  contract:
    levels:
      1: {response: 1h, repair: 6h}
      2: {response: 1h, repair: 6h, repair_calendar: office}
      3: {response: 2h, repair: 12h, repair_calendar: office}
cases: {policy: contract, reopen_window: 1h}
inspections:
  - {name: daily, at: "09:00", calendar: office}
"""


class Synthetic:
    """Samples of day `DAY[0]` (days from START; negative in the previous half-year): growing
    filesystems and a tablespace, a daily CPU/memory cycle, port counters, failures."""

    DAY: ClassVar[list[int]] = [0]
    NOW: ClassVar[list[float]] = [0.0]

    def collect(self, target: Target, conn: object) -> list[Sample]:
        day = Synthetic.DAY[0]
        name = target.name
        if name == "enc-01" and 60 <= day < 63:
            raise CollectionError(f"connection to {target.address}:161 timed out after 5 s")
        t = int(Synthetic.NOW[0] * 1e9)
        out = []
        disks = {"db01": {"/": 40 + day * 0.02, "/u01": 55 + day * 0.21},
                 "app01": {"/": 30 + 10 * math.sin(day / 9), "/var/log": 20 + (day % CLEANUP_EVERY) * 2.4}}
        for path, pct in disks.get(name, {}).items():
            out.append(Sample("disk", {"host": name, "path": path, "fstype": "ext4"},
                              {"used_percent": round(min(pct, 99.5), 2), "total": 10**11}, t))
            target.evidence.append(f"/dev/sd{path[-1]} ext4 100000000 {int(pct * 1e6)} 0 {path}")
        if name == "db01":  # the Oracle host: USERS grows 0.25 %/day, full two months after the half-year
            for ts, pct in (("USERS", 40 + day * 0.25),):
                out.append(Sample("oracle_tablespace", {"host": name, "sid": "ORCL", "tablespace": ts,
                                                        "contents": "PERMANENT", "instance": ts},
                                  {"used_percent": round(min(max(pct, 1.0), 99.5), 2)}, t))
                target.evidence.append(f"{ts} PERMANENT {pct:.2f}")
        load = 35 + 30 * math.sin(day / 5 + len(name))
        mem = 50 + day * 0.05
        if target.kind == "switch":  # network devices: the cli collector's measurements
            # the second switch is there for its asset record: fewer samples keep the build quick
            if name == "sw-core-1":
                out.append(Sample("cli_cpu", {"host": name}, {"usage_percent": round(load / 2, 1)}, t))
                out.append(Sample("cli_memory", {"host": name}, {"used_percent": round(mem - 10, 1)}, t))
                out += _ports(name, day, t)
            # both run the same model; only sw-core-1 is upgraded (day 100): a version drift
            firmware = "V200R021C00SPC100" if name == "sw-core-1" and day >= 100 else "V200R019C10SPC500"
            out.append(Sample("asset", {"host": name}, {
                "model": "S12704", "serial": f"2102351931P0K8000{123 + (name == 'sw-core-2')}",
                "hardware_rev": "VER.B", "firmware_rev": firmware}, t))
        elif target.kind in ("encoder", "bearer"):  # an SNMP device profile's measurement
            # the bearer's memory was high last half-year and is fine since: a cleared exception
            used = 88.0 if name == "br-01" and day < 0 else round(mem - 20, 1)
            out.append(Sample("device_health", {"host": name, "entPhysicalName": "board 1"},
                              {"cpu_percent": round(load / 3, 1), "mem_percent": used}, t))
        else:
            out.append(Sample("cpu", {"host": name, "cpu": "cpu-total"}, {"usage_active": round(load, 1)}, t))
            out.append(Sample("mem", {"host": name}, {"used_percent": round(mem, 1)}, t))
        return out


def port_errors_total(name: str, port: str, day: int) -> int:
    """A port's cumulative input errors at day `day`: sw-core-1 GE1/0/2 gains more every day
    (day // 10 a day from day 0: rising), GE1/0/1 a steady 3 a day."""
    if name == "sw-core-1" and port == "GE1/0/2":
        return sum(d // 10 for d in range(max(day, 0) + 1))
    return 3 * (day + 200) if port == "GE1/0/1" else 0


def _ports(name: str, day: int, t: int) -> list[Sample]:
    out = []
    for i, port in enumerate(("GE1/0/1", "GE1/0/2"), 1):
        errors = port_errors_total(name, port, day)
        out.append(Sample("interface", {"host": name, "ifIndex": str(i), "ifName": port, "port": port}, {
            "in_errors": errors,
            "out_errors": 0, "in_discards": 0, "out_discards": 0,
            "in_errors_per_s": round((errors - port_errors_total(name, port, day - 1)) / 86400, 6)}, t))
    return out


class LocalShell:
    """The playbook engine's door to a device, as a local shell: the history's "app01" is this
    machine (the playbook tests use a real sshd; the history only needs real runs)."""

    def __enter__(self) -> LocalShell:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, command: str, timeout: float | None = None) -> CommandOutput:
        r = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=timeout)
        return CommandOutput(command, r.returncode, r.stdout, r.stderr)


def register() -> None:
    collectors.COLLECTORS["synthetic"] = collectors.CollectorSpec("synthetic", "local", "history", Synthetic)


def inventory_text(directory: Path, collector: str = "synthetic") -> str:
    """INVENTORY with app01's remediation roots (its log directory in `directory`)."""
    logs = directory / "app01-logs"
    return INVENTORY.replace("[synthetic]", f"[{collector}]").replace(
        "{name: app01, kind: server, labels: {site: hq, room: A1}}",
        f"{{name: app01, kind: server, labels: {{site: hq, room: A1}}, "
        f"remediation: {{allowed_roots: ['{logs}']}}}}")


def previous_days() -> list[date]:
    """The simulated days of the previous half-year."""
    return [PREVIOUS_START + timedelta(days=i) for i in range(0, (START - PREVIOUS_START).days, PREVIOUS_EVERY)]


def build(directory: Path, days: int = DAYS) -> App:
    register()
    (directory / "app01-logs").mkdir(exist_ok=True)
    (directory / "inventory.yaml").write_text(inventory_text(directory))
    (directory / "xunjian.yaml").write_text(CONFIG)
    app = load_app(directory / "xunjian.yaml")
    now = [0.0]
    pipeline = build_pipeline(app, influx=False, clock=lambda: now[0])
    assert pipeline.cases is not None
    engine = pipeline.cases
    office = app.config.cases.calendars["office"]
    devices = list(app.inventory.devices.values())
    for d in previous_days() + [START + timedelta(days=i) for i in range(days)]:
        day = (d - START).days
        Synthetic.DAY[0] = day
        now[0] = datetime(d.year, d.month, d.day, 9, 0, tzinfo=TZ).timestamp()
        Synthetic.NOW[0] = now[0]
        today = [dv for dv in devices if dv.name not in WEEKLY or day % 7 == 0]
        run = inspect_devices(pipeline, today, workers=4)
        if office.is_working_day(d):
            record(pipeline, run, today, "schedule", "daily", {"devices": [], "groups": []})
        # engineers: answer open cases, quickly on even days, late on odd ones; close resolved ones
        for c in _cases(app, "open"):
            now[0] += 1800 if day % 2 == 0 else 3 * 3600
            pipeline.tick()
            _act(engine, c, "ack", "zhang.wei")
        if day >= 0 and day % CLEANED == CLEANUP_EVERY - 1:
            now[0] += 600
            clean_logs(app, directory, now)
        now[0] = datetime(d.year, d.month, d.day, 17, 0, tzinfo=TZ).timestamp()
        pipeline.tick()
        for c in _cases(app, "resolved"):
            _act(engine, c, "close", "li.na", cause="日志增长过快 / logs grew too fast",
                 handling="清理并调整轮转 / cleaned up, rotation adjusted", fault_type="software")
    pipeline.close()
    # The CLI that renders the reports does not know the test-only collector: give it an
    # inventory of the same devices with a real one.
    (directory / "inventory.yaml").write_text(inventory_text(directory, "local"))
    return app


def clean_logs(app: App, directory: Path, now: list[float]) -> Any:
    """app01's /var/log is nearly full: an engineer applies the clean-logs playbook for the open
    case through the real engine (plan, lock, apply, post facts, audit record). The old
    rotated logs are real files here, 60 days old by the real clock the engine's `find` uses."""
    from agent.cases.queries import list_cases
    from agent.playbook.catalog import bind, load_catalog
    from agent.playbook.runner import Request, Runner

    logs = directory / "app01-logs"
    real = time.time()
    for i in range(1, 6):
        f = logs / f"app.log.{i}"
        f.write_bytes(b"x" * (200_000 + i))
        os.utime(f, (real - 60 * 86400, real - 60 * 86400))
    case = next((c.number for c in list_cases(app.engine, "all") if c.device == "app01"
                 and c.instance == "/var/log" and c.status in ("open", "acknowledged")), None)
    runner = Runner(app.engine, app.config.data_dir, TZ, connect=lambda _dev: LocalShell(),
                    clock=lambda: now[0], poll_interval=0.1)
    req = Request(bind(load_catalog()["clean-logs"], {"older_than_days": "30", "keep_newest": "0"}),
                  app.inventory.devices["app01"], "li.na", case=case)
    res = runner.apply(req, lambda _res: True)
    assert res.result == "ok", res.message
    return res


def _cases(app: App, status: str) -> list[str]:
    from agent.cases.queries import list_cases

    return [c.number for c in list_cases(app.engine, status)]


def _act(engine: Any, number: str, action: str, actor: str, **kw: str) -> None:
    with contextlib.suppress(CaseError):  # e.g. already acknowledged by an earlier pass
        engine.act(number, action, actor, **kw)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tests.history",
                                 description="Build half a year of synthetic history (a store, the "
                                             "config and inventory) into DIR, for trying the reports.")
    ap.add_argument("dir", metavar="DIR", help="where to write it (created if missing)")
    out = Path(ap.parse_args().dir)
    out.mkdir(parents=True, exist_ok=True)
    build(out)
    print(f"history in {out}")
