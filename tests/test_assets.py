"""The asset register through the real pipeline: first record, a firmware change as history,
`xunjian assets list|history` in table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import ClassVar

import pytest

import collectors
from agent.app import App, build_pipeline, load_app
from agent.cases.queries import list_cases
from agent.executor import Executor
from agent.pipeline import Pipeline
from agent.scheduler import run_once
from agent.store.assets import asset_history, asset_sources, list_assets
from core.model import Job, Result, Sample, Status, Target, Verdict
from tests.helpers import cli


class Chassis:
    FIRMWARE: ClassVar[list[str]] = []

    def collect(self, target: Target, conn: object) -> list[Sample]:
        return [Sample("asset", {"host": target.name}, {
            "model": "S12704", "serial": "2102351931P0K8000123", "firmware_rev": Chassis.FIRMWARE.pop(0),
            "software_rev": "V200R019C10", "entity_mib": 1}, 1)]


@pytest.fixture
def chassis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(collectors.COLLECTORS, "chassis",
                        collectors.CollectorSpec("chassis", "local", "test", Chassis))


def test_asset_record_and_firmware_change(tmp_path: Path, chassis: None) -> None:
    (tmp_path / "inventory.yaml").write_text("devices:\n  - {name: sw-core-1, kind: switch, collectors: [chassis]}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app, influx=False)
    Chassis.FIRMWARE = ["V200R019C10SPC500", "V200R019C10SPC500", "V200R021C00SPC100"]
    for _ in range(3):
        run_once(app.inventory, pipeline)
    pipeline.close()
    cfg = ["-c", str(tmp_path / "xunjian.yaml")]
    (asset,) = json.loads(cli("assets", "list", "-f", "json", *cfg).stdout)["assets"]
    assert (asset["device"], asset["model"], asset["firmware_rev"]) == ("sw-core-1", "S12704", "V200R021C00SPC100")
    assert "entity_mib" not in asset
    rows = list(csv.DictReader(io.StringIO(cli("assets", "list", "-f", "csv", *cfg).stdout)))
    assert rows[0]["serial"] == "2102351931P0K8000123"
    (change,) = json.loads(cli("assets", "history", "sw-core-1", "-f", "json", *cfg).stdout)["changes"]
    assert (change["field"], change["old"], change["new"]) == ("firmware_rev", "V200R019C10SPC500",
                                                               "V200R021C00SPC100")
    table = cli("assets", "history", *cfg)
    assert table.returncode == 0 and "firmware_rev: V200R019C10SPC500 → V200R021C00SPC100 (chassis)" in table.stdout
    listed = cli("assets", "list", *cfg).stdout
    assert "firmware_rev" in listed and "V200R021C00SPC100" in listed and "oracle_version" not in listed


# -- per-source records, changes as events, --no-store ------------------------------------

class Feed:
    """What each test collector reports next (one dict per cycle; popped)."""

    NEXT: ClassVar[dict[str, list[dict[str, str]]]] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    def collect(self, target: Target, conn: object) -> list[Sample]:
        return [Sample("asset", {"host": target.name}, dict(Feed.NEXT[self.name].pop(0)), 1)]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two_feeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[App, Clock]:
    for name in ("feed_a", "feed_b"):
        monkeypatch.setitem(collectors.COLLECTORS, name, collectors.CollectorSpec(
            name, "local", "test", lambda name=name: Feed(name)))  # type: ignore[misc]
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - {name: db01, kind: server, collectors: [feed_a, feed_b]}\n")
    (tmp_path / "xunjian.yaml").write_text("data_dir: var\ninventory: inventory.yaml\n")
    return load_app(tmp_path / "xunjian.yaml"), Clock()


def cycle(app: App, pipeline: Pipeline, collector: str, clock: Clock) -> tuple[Result, list[Verdict]]:
    clock.now += 300
    result = Executor(pipeline.load_state).run(Job("db01", collector), app.inventory.devices["db01"])
    return result, pipeline.handle(result)


def test_two_collectors_on_one_device_do_not_flap_each_other(two_feeds: tuple[App, Clock]) -> None:
    app, clock = two_feeds
    pipeline = build_pipeline(app, influx=False, clock=clock)
    a = {"os": "Rocky Linux 8.9", "kernel": "4.18.0-513.el8.x86_64", "serial": "CZ1234"}
    b = {"oracle_version": "19.22.0.0.0", "serial": "other spelling"}  # serial: feed_a's wins
    Feed.NEXT = {"feed_a": [a, a, {k: v for k, v in a.items() if k != "serial"}], "feed_b": [b, b, b]}
    for _ in range(2):
        for name in ("feed_a", "feed_b"):
            _, verdicts = cycle(app, pipeline, name, clock)
            assert not [v for v in verdicts if v.check == "asset_changed"]
    assert [{k: v for k, v in c.items() if k != "at"} for c in asset_history(app.engine)] == [
        {"device": "db01", "field": "oracle_version", "old": None, "new": "19.22.0.0.0",
         "source": "feed_b"}]  # feed_b's first report on a known device: new, not changed
    (rec,) = list_assets(app.engine)
    assert (rec["serial"], rec["oracle_version"], rec["kernel"]) == ("CZ1234", "19.22.0.0.0", a["kernel"])
    assert asset_sources(app.engine, "db01") == {"feed_a": a, "feed_b": b}
    # feed_a stops reporting serial: feed_b still does, so the register falls back to it
    result, verdicts = cycle(app, pipeline, "feed_a", clock)
    (ev,) = [s for s in result.samples if s.measurement == "event"]
    assert (ev.tags["kind"], ev.tags["source"], ev.tags["instance"]) == ("asset_change", "feed_a", "serial")
    assert (ev.fields["old"], ev.fields["new"]) == ("CZ1234", "other spelling")
    assert list_assets(app.engine)[0]["serial"] == "other spelling"
    _, verdicts = cycle(app, pipeline, "feed_b", clock)  # feed_b's unchanged cycle changes nothing
    assert not [v for v in verdicts if v.check == "asset_changed"]
    assert [c["field"] for c in asset_history(app.engine, "db01")] == ["oracle_version", "serial"]
    pipeline.close()


def test_asset_change_is_an_event_a_warn_and_a_case(two_feeds: tuple[App, Clock]) -> None:
    app, clock = two_feeds
    seen: list[Sample] = []

    class Keep:
        name = "keep"

        def write(self, samples: list[Sample]) -> None:
            seen.extend(samples)

        def close(self, timeout: float = 10.0) -> None:
            return None

    pipeline = build_pipeline(app, influx=False, clock=clock)
    pipeline.sinks.append(Keep())
    v1, v2 = {"oracle_version": "19.21.0.0.0"}, {"oracle_version": "19.22.0.0.0"}
    Feed.NEXT = {"feed_b": [v1, v1, v2, v2]}
    for _ in range(2):  # first sight, then the same: no event
        result, verdicts = cycle(app, pipeline, "feed_b", clock)
        assert not [s for s in result.samples if s.measurement == "event"]
        assert not [v for v in verdicts if v.check == "asset_changed"]

    # --no-store sees the change against the register, and writes nothing
    look = build_pipeline(app, influx=False, record=False, clock=clock)
    Feed.NEXT["feed_b"].insert(0, v2)
    result, verdicts = cycle(app, look, "feed_b", clock)
    assert [v.status for v in verdicts if v.check == "asset_changed"] == [Status.WARN]
    assert list_assets(app.engine)[0]["oracle_version"] == "19.21.0.0.0"
    assert asset_history(app.engine) == [] and list_cases(app.engine, "all") == []

    result, verdicts = cycle(app, pipeline, "feed_b", clock)
    (ev,) = [s for s in result.samples if s.measurement == "event"]
    assert ev in seen  # the sinks had it
    assert ev.fields["message"] == "oracle_version changed: 19.21.0.0.0 → 19.22.0.0.0"
    (v,) = [v for v in verdicts if v.check == "asset_changed"]
    assert (v.status, v.instance, v.level) == (Status.WARN, "oracle_version", 3)
    assert "19.21.0.0.0 → 19.22.0.0.0" in v.message
    (case,) = list_cases(app.engine)
    assert (case.device, case.check, case.instance, case.severity) == ("db01", "asset_changed",
                                                                       "oracle_version", "warn")
    (change,) = asset_history(app.engine)
    assert (change["field"], change["old"], change["new"], change["source"]) == (
        "oracle_version", "19.21.0.0.0", "19.22.0.0.0", "feed_b")
    # like a reboot: the next cycle clears it; the case stays in the ledger, resolved
    _, verdicts = cycle(app, pipeline, "feed_b", clock)
    assert [v.status for v in verdicts if v.check == "asset_changed"] == [Status.OK]
    assert list_cases(app.engine) == [] and len(list_cases(app.engine, "resolved")) == 1
    pipeline.close()


def test_a_field_its_collector_stops_reporting_is_a_change(two_feeds: tuple[App, Clock]) -> None:
    app, clock = two_feeds
    pipeline = build_pipeline(app, influx=False, clock=clock)
    Feed.NEXT = {"feed_a": [{"os": "Kylin V10", "serial": "CZ1"}, {"os": "Kylin V10"}]}
    cycle(app, pipeline, "feed_a", clock)
    result, verdicts = cycle(app, pipeline, "feed_a", clock)
    (ev,) = [s for s in result.samples if s.measurement == "event"]
    assert (ev.fields["old"], ev.fields["new"], ev.fields["change"]) == ("CZ1", "", "CZ1 → (no longer reported)")
    assert [v.status for v in verdicts if v.check == "asset_changed"] == [Status.WARN]
    assert "serial" not in list_assets(app.engine)[0]
    assert [(c["old"], c["new"]) for c in asset_history(app.engine)] == [("CZ1", None)]
    pipeline.close()


def test_a_new_collectors_versions_show_in_the_register_without_a_change_to_it(
        two_feeds: tuple[App, Clock], tmp_path: Path) -> None:
    """A collector for a database the register has never heard of: its `<product>_version`
    and `_patches` fields are columns of `assets list` as they are."""
    app, clock = two_feeds
    pipeline = build_pipeline(app, influx=False, clock=clock)
    Feed.NEXT = {"feed_a": [{"os": "Kylin V10", "serial": "K1"}],
                 "feed_b": [{"dameng_version": "DM8 8.1.3.62", "dameng_patches": "P2024Q3", "note": "x"}]}
    for name in ("feed_a", "feed_b"):
        cycle(app, pipeline, name, clock)
    pipeline.close()
    listed = cli("assets", "list", "-c", str(tmp_path / "xunjian.yaml")).stdout
    assert "dameng_version" in listed and "DM8 8.1.3.62" in listed and "dameng_patches" in listed
    assert "note" not in listed  # not a version: the table keeps to what it is about (CSV/JSON carry it)
