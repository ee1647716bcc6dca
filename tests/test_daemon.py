"""`xunjian run` as a process: schedule, sinks through an outage, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from agent.store.db import open_engine
from agent.store.samples import read_samples
from tests.helpers import XUNJIAN
from tests.peers import wait_until

pytestmark = pytest.mark.peers


def test_outage_every_sample_arrives_exactly_once(tmp_path: Path, make_influx_peer,  # type: ignore[no-untyped-def]
                                                 make_vm_peer) -> None:
    influx, vm = make_influx_peer(), make_vm_peer()
    influx.create_database("xunjian")
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - {name: here, collectors: [local], interval: 1}\n")
    (tmp_path / "xunjian.yaml").write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml",
        "sinks": {"influxdb": [
            {"name": "influx1", "version": 1, "url": influx.url, "database": "xunjian"},
            {"name": "vm", "version": 2, "url": vm.url, "org": "ops", "bucket": "xunjian",
             "token": "${XJ_TEST_TOKEN}"},
        ]}}))
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen([XUNJIAN, "run", "-c", str(tmp_path / "xunjian.yaml")], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={"XJ_TEST_TOKEN": "t0ken", "PATH": "/usr/bin:/bin"})
    engine = open_engine(tmp_path / "var")

    def stored() -> int:
        return len(read_samples(engine, device="here", measurement="system"))

    try:
        wait_until(lambda: influx.count("xunjian", "system", "load1") >= 2, timeout=30,
                   what="first samples in InfluxDB")
        influx.stop()
        vm.stop()
        before = stored()
        wait_until(lambda: stored() >= before + 3, timeout=30, what="collection during the outage")
        spool = tmp_path / "var" / "spool"
        assert list((spool / "influx1").glob("*.lp")) and list((spool / "vm").glob("*.lp"))
        influx.start()
        vm.start()
        wait_until(lambda: not list((spool / "influx1").glob("*.lp"))
                   and not list((spool / "vm").glob("*.lp")), timeout=60, what="spool drained")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        log.close()
    output = (tmp_path / "daemon.log").read_text()
    assert rc == 0, output
    assert "Traceback" not in output and "t0ken" not in output
    times = sorted(s.time for s in read_samples(engine, device="here", measurement="system"))
    # SIGTERM flushed everything: the store and both servers hold the same points
    res = influx.query("xunjian", 'SELECT "load1" FROM "system"')
    influx_times = [v[0] for v in res["results"][0]["series"][0]["values"]]
    assert len(influx_times) == len(times)

    def vm_complete() -> bool:
        vm.flush()
        return vm.series_points("system_load1") >= len(times)

    wait_until(vm_complete, timeout=10, what="VictoriaMetrics to show every point")
    (series,) = vm.export("system_load1")
    assert len(series["timestamps"]) == len(times)  # VictoriaMetrics keeps duplicates: none
    assert series["timestamps"] == [t // 10**6 for t in times]


def test_sigterm_stops_cleanly_with_nothing_to_flush(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - {name: here, collectors: [local], interval: 1}\n")
    proc = subprocess.Popen([XUNJIAN, "run", "-i", "inventory.yaml", "--data-dir", "var"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    engine_dir = tmp_path / "var"
    wait_until(lambda: (engine_dir / "xunjian.db").exists()
               and len(read_samples(open_engine(engine_dir), measurement="mem")) >= 2,
               timeout=30, what="two cycles")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "scheduled 1 jobs for 1 devices" in out and "stopped" in out
