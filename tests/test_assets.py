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
from agent.app import build_pipeline, load_app
from agent.model import Sample, Target
from agent.scheduler import run_once
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
    assert table.returncode == 0 and "firmware_rev: V200R019C10SPC500 → V200R021C00SPC100" in table.stdout
