"""Availability and downtime per device (`xunjian availability`): minutes down while a device-outage
case (`collect.*`) is open, overlapping outages counted once, downtime inside a maintenance window
planned and left out of the period, the target "zero unplanned downtime" met or not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.cases.availability import availability
from core.model import Status, Verdict
from tests.helpers import cli
from tests.test_case_engine import CONFIG, Dev, fault, setup, t


def down(device: str, check: str = "collect.device") -> Verdict:
    return Verdict(device, check, Status.UNKNOWN, "", None, "", "", "no connection: timed out", level=2)


def test_downtime_planned_and_unplanned_and_the_zero_unplanned_target(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:30", [Dev("db01"), Dev("bk1", ("backup",)), Dev("sw1")])
    (_, linux), = ce.apply([down("db01", "collect.linux")])  # a collector first…
    clock.at("2026-11-23 10:00")
    (_, dev), = ce.apply([down("db01")])  # …then the connection: overlapping, counted once
    ce.apply([fault()])  # a disk case is no outage
    clock.at("2026-11-23 11:00")
    ce.act(linux.number, "resolve", "zhang.wei")
    clock.at("2026-11-23 11:30")
    ce.act(dev.number, "resolve", "zhang.wei")
    # in the patching window (22:00-02:00): held, opened at its end, resolved at 02:30
    clock.at("2026-11-24 23:00")
    assert ce.apply([down("db01")]) == []
    clock.at("2026-11-25 02:00")
    held = next(c for k, c in ce.tick() if k == "open")
    clock.at("2026-11-25 02:30")
    ce.act(held.number, "resolve", "zhang.wei")
    clock.at("2026-11-25 02:40")
    (_, bk), = ce.apply([down("bk1")])  # still open at 03:00: counted until then
    now = t("2026-11-25 03:00")
    doc = availability(ce.engine, ce.policy, t("2026-11-23 00:00"), t("2026-11-26 00:00"), now, ce.devices)
    assert doc["period_minutes"] == 3060 and doc["counted_until"] == now  # 2 days and 3 hours
    by = {d["device"]: d for d in doc["devices"]}
    assert by["db01"] == {"device": "db01", "down_minutes": 330.0, "planned_minutes": 180.0,
                          "unplanned_minutes": 150.0, "available_percent": round(100 * (1 - 150 / 2880), 3),
                          "cases": [linux.number, dev.number, held.number]}
    assert (by["bk1"]["down_minutes"], by["bk1"]["unplanned_minutes"], by["bk1"]["cases"]) == (
        20.0, 20.0, [bk.number])
    assert by["sw1"] == {"device": "sw1", "down_minutes": 0.0, "planned_minutes": 0.0,
                         "unplanned_minutes": 0.0, "available_percent": 100.0, "cases": []}
    assert doc["target"] == {"name": "zero unplanned downtime", "met": False,
                             "missed_by": ["bk1", "db01"], "unplanned_minutes": 170.0}
    # only planned downtime in a period: the target is met
    doc = availability(ce.engine, ce.policy, t("2026-11-24 22:00"), t("2026-11-25 02:00"), now,
                       ce.devices, only=["db01"])
    assert [d["device"] for d in doc["devices"]] == ["db01"]
    assert (doc["devices"][0]["planned_minutes"], doc["devices"][0]["available_percent"]) == (180.0, 100.0)
    assert doc["target"]["met"] is True and doc["target"]["missed_by"] == []
    # a period that clips an outage counts only its part
    doc = availability(ce.engine, ce.policy, t("2026-11-23 11:00"), t("2026-11-23 12:00"), now,
                       ce.devices, only=["db01"])
    assert doc["devices"][0]["unplanned_minutes"] == 30.0


def test_availability_from_the_command_line(tmp_path: Path) -> None:
    cfg = {**CONFIG, "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    base = ("-c", "xunjian.yaml")
    r = cli("availability", "--from", "2026-11-01", "--to", "2026-11-30", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "target zero unplanned downtime: met" in r.stdout
    r = cli("cases", "open", "--reporter", "x", "-d", "enc-07", "--check", "collect.device", "-m", "down",
            "--reported-at", "2026-11-30 10:00", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli("availability", "--from", "2026-11-30", "--to", "2026-11-30", "--format", "json", *base,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (enc,) = doc["devices"]
    assert enc["device"] == "enc-07" and enc["unplanned_minutes"] == 840.0  # 10:00 to midnight
    assert doc["target"]["met"] is False and doc["since"] == "2026-11-29T16:00:00Z"
    r = cli("availability", "--from", "2026-11-30", "--to", "2026-11-30", "-d", "enc-07", *base, cwd=tmp_path)
    assert "MISSED (840 min, enc-07)" in " ".join(r.stdout.split()), r.stdout
    r = cli("availability", "--from", "2026-12-02", "--to", "2026-12-01", *base, cwd=tmp_path)
    assert r.returncode == 2 and "before --from" in r.stderr and "Traceback" not in r.stderr


@dataclass(frozen=True)
class Svc:
    name: str
    kind: str = "service"
    groups: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


def test_a_service_is_down_while_its_probes_find_it_down(store: str) -> None:
    """社保业务 (kind service, probed over HTTP and SQL): down 10:00-10:40 (the portal) and
    10:30-11:00 (the database query), counted once; a probe that could not run is not downtime;
    its devices' own outages do not make it down (measured end to end, not inferred)."""
    ce, clock = setup(store, "2026-11-23 10:00", [Dev("db01")])
    ce.devices["shebao"] = Svc("shebao")  # type: ignore[assignment]
    (_, portal), = ce.apply([Verdict("shebao", "probe_down", Status.CRIT, "portal", 0.0, level=2)])
    clock.at("2026-11-23 10:30")
    (_, sql), = ce.apply([Verdict("shebao", "probe_down_major", Status.CRIT, "sb-query", 0.0, level=1)])
    ce.apply([Verdict("shebao", "probe_not_run", Status.UNKNOWN, "sb-report", None, level=3)])
    (_, db), = ce.apply([down("db01")])
    clock.at("2026-11-23 10:40")
    ce.act(portal.number, "resolve", "zhang.wei")
    clock.at("2026-11-23 11:00")
    ce.act(sql.number, "resolve", "zhang.wei")
    ce.act(db.number, "resolve", "zhang.wei")
    doc = availability(ce.engine, ce.policy, t("2026-11-23 00:00"), t("2026-11-24 00:00"),
                       t("2026-11-24 00:00"), ce.devices)
    (svc,) = doc["services"]
    assert svc == {"service": "shebao", "down_minutes": 60.0, "planned_minutes": 0.0, "unplanned_minutes": 60.0,
                   "available_percent": round(100 * (1 - 60 / 1440), 3), "cases": [portal.number, sql.number]}
    by = {d["device"]: d for d in doc["devices"]}
    assert by["db01"]["down_minutes"] == 30.0 and by["shebao"]["down_minutes"] == 0.0
    assert doc["target"]["missed_by"] == ["db01", "shebao"] and doc["target"]["unplanned_minutes"] == 90.0
