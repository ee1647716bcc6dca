"""Daily rollups kept as samples are written: min/avg/max/last per metric, series and day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agent.store.db import open_engine
from agent.store.rollups import daily
from agent.store.samples import write_samples
from core.model import Sample

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1e9)


def disk(path: str, pct: float, when: str) -> Sample:
    return Sample("disk", {"host": "db01", "path": path}, {"used_percent": pct, "fstype": "ext4"}, at(when))


def test_rollups_per_local_day_series_and_field(store: str) -> None:
    engine = open_engine(store)
    write_samples(engine, [disk("/", 50, "2026-11-20 00:30"), disk("/", 70, "2026-11-20 12:00"),
                           disk("/u01", 10, "2026-11-20 12:00")], TZ)
    # a later batch: out of order within the day, and the next local day just after midnight
    write_samples(engine, [disk("/", 40, "2026-11-20 23:59"), disk("/", 90, "2026-11-20 06:00"),
                           disk("/", 55, "2026-11-21 00:01")], TZ)
    rows = [r for r in daily(engine, "db01", "disk", "used_percent") if r["series"] == {"path": "/"}]
    assert [(r["day"], r["min"], r["max"], r["count"], r["last"]) for r in rows] == [
        ("2026-11-20", 40, 90, 4, 40), ("2026-11-21", 55, 55, 1, 55)]
    assert rows[0]["avg"] == (50 + 70 + 40 + 90) / 4
    assert daily(engine, "db01", "disk", "fstype") == []  # text fields are not rolled up
    u01 = [r for r in daily(engine, "db01", "disk", "used_percent") if r["series"] == {"path": "/u01"}]
    assert [(r["day"], r["last"]) for r in u01] == [("2026-11-20", 10)]
