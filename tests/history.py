"""Half a year of realistic history through the real pipeline on a shifted clock: servers whose
filesystems fill, a switch, an encoder behind it that drops out, breaches that open cases
answered in time and late, engineers closing them, and a recorded inspection every working day.
Used by the report tests (and usable by hand: python -m tests.history DIR)."""

from __future__ import annotations

import contextlib
import math
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import collectors
from agent.app import App, build_pipeline, load_app
from agent.cases.engine import CaseError
from agent.inspection import inspect_devices, record
from agent.model import CollectionError, Sample, Target

TZ = ZoneInfo("Asia/Shanghai")
START = date(2026, 1, 1)
DAYS = 181  # 2026H1

INVENTORY = """\
defaults: {collectors: [synthetic], interval: 86400}
devices:
  - {name: db01, kind: server, labels: {site: hq, room: A1}}
  - {name: app01, kind: server, labels: {site: hq, room: A1}}
  - {name: sw-core-1, kind: switch, labels: {site: hq}}
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
    """Samples of day `DAY[0]`: growing filesystems, a daily CPU/memory cycle, failures."""

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
                 "app01": {"/": 30 + 10 * math.sin(day / 9), "/var/log": 20 + (day % 30) * 2.4}}
        for path, pct in disks.get(name, {}).items():
            out.append(Sample("disk", {"host": name, "path": path, "fstype": "ext4"},
                              {"used_percent": round(min(pct, 99.5), 2), "total": 10**11}, t))
            target.evidence.append(f"/dev/sd{path[-1]} ext4 100000000 {int(pct * 1e6)} 0 {path}")
        load = 35 + 30 * math.sin(day / 5 + len(name))
        out.append(Sample("cpu", {"host": name, "cpu": "cpu-total"}, {"usage_active": round(load, 1)}, t))
        out.append(Sample("mem", {"host": name}, {"used_percent": round(50 + day * 0.05, 1)}, t))
        if target.kind == "switch":  # the core switch's firmware is upgraded on day 100
            out.append(Sample("asset", {"host": name}, {
                "model": "S12704", "serial": "2102351931P0K8000123", "hardware_rev": "VER.B",
                "firmware_rev": "V200R019C10SPC500" if day < 100 else "V200R021C00SPC100"}, t))
        return out


def register() -> None:
    collectors.COLLECTORS["synthetic"] = collectors.CollectorSpec("synthetic", "local", "history", Synthetic)


def build(directory: Path, days: int = DAYS) -> App:
    register()
    (directory / "inventory.yaml").write_text(INVENTORY)
    (directory / "xunjian.yaml").write_text(CONFIG)
    app = load_app(directory / "xunjian.yaml")
    now = [0.0]
    pipeline = build_pipeline(app, influx=False, clock=lambda: now[0])
    assert pipeline.cases is not None
    engine = pipeline.cases
    office = app.config.cases.calendars["office"]
    devices = list(app.inventory.devices.values())
    for day in range(days):
        d = START + timedelta(days=day)
        Synthetic.DAY[0] = day
        now[0] = datetime(d.year, d.month, d.day, 9, 0, tzinfo=TZ).timestamp()
        Synthetic.NOW[0] = now[0]
        run = inspect_devices(pipeline, devices, workers=4)
        if office.is_working_day(d):
            record(pipeline, run, devices, "schedule", "daily", {"devices": [], "groups": []})
        # engineers: answer open cases, quickly on even days, late on odd ones; close resolved ones
        for c in _cases(app, "open"):
            now[0] += 1800 if day % 2 == 0 else 3 * 3600
            pipeline.tick()
            _act(engine, c, "ack", "zhang.wei")
        now[0] = datetime(d.year, d.month, d.day, 17, 0, tzinfo=TZ).timestamp()
        pipeline.tick()
        for c in _cases(app, "resolved"):
            _act(engine, c, "close", "li.na", cause="日志增长过快 / logs grew too fast",
                 handling="清理并调整轮转 / cleaned up, rotation adjusted", fault_type="software")
    pipeline.close()
    # The CLI that renders the reports does not know the test-only collector: give it an
    # inventory of the same devices with a real one.
    (directory / "inventory.yaml").write_text(INVENTORY.replace("[synthetic]", "[local]"))
    return app


def _cases(app: App, status: str) -> list[str]:
    from agent.cases.queries import list_cases

    return [c.number for c in list_cases(app.engine, status)]


def _act(engine: Any, number: str, action: str, actor: str, **kw: str) -> None:
    with contextlib.suppress(CaseError):  # e.g. already acknowledged by an earlier pass
        engine.act(number, action, actor, **kw)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    build(out)
    print(f"history in {out}")
