"""Samples to InfluxDB 1.x (v1 /write) and VictoriaMetrics (v2 write API), through real servers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.config import InfluxSink
from agent.sinks.influx import InfluxSinkWriter
from collectors.local import LocalCollector
from core.model import Sample, Target
from tests.peers import wait_until

pytestmark = pytest.mark.peers


def sink_config(url: str, version: int, name: str = "t", **kw: object) -> InfluxSink:
    base: dict[str, object] = dict(
        name=name, version=version, url=url, database="xunjian" if version == 1 else None,
        retention_policy=None, username=None, password=None,
        token=SecretStr("any") if version == 2 else None, org="ops" if version == 2 else None,
        bucket="xunjian" if version == 2 else None, batch_size=1000, timeout=5.0, gzip=True,
        verify_tls=True, ca_file=None, spool_max_bytes=10 * 2**20)
    base.update(kw)
    return InfluxSink(**base)  # type: ignore[arg-type]


def local_samples() -> list[Sample]:
    return LocalCollector().collect(Target("here", "server", "127.0.0.1"))


def test_influxdb1_receives_what_was_collected(tmp_path: Path, influx_peer) -> None:  # type: ignore[no-untyped-def]
    influx_peer.create_database("xunjian")
    samples = local_samples()
    sink = InfluxSinkWriter(sink_config(influx_peer.url, 1), tmp_path / "spool")
    sink.write(samples)
    assert sink.flush(15), sink.last_error
    sink.close()
    disks = [s for s in samples if s.measurement == "disk"]
    res = influx_peer.query("xunjian", 'SELECT "used_percent", "total" FROM "disk" '
                            "WHERE \"host\" = 'here' GROUP BY \"path\"")
    series = {s["tags"]["path"]: s["values"] for s in res["results"][0]["series"]}
    assert set(series) == {s.tags["path"] for s in disks}
    for s in disks:
        (row,) = series[s.tags["path"]]
        assert row[1] == pytest.approx(s.fields["used_percent"]) and row[2] == s.fields["total"]
    mem = influx_peer.query("xunjian", 'SELECT "available" FROM "mem"')["results"][0]["series"]
    assert mem[0]["values"][0][1] == next(s for s in samples if s.measurement == "mem").fields["available"]


def test_victoriametrics_receives_what_was_collected(tmp_path: Path, vm_peer) -> None:  # type: ignore[no-untyped-def]
    samples = [s for s in local_samples() if s.measurement in ("disk", "system")]
    sink = InfluxSinkWriter(sink_config(vm_peer.url, 2), tmp_path / "spool")
    sink.write(samples)
    assert sink.flush(15), sink.last_error
    sink.close()
    disks = {s.tags["path"]: s.fields["used_percent"] for s in samples if s.measurement == "disk"}

    def arrived() -> bool:
        vm_peer.flush()
        return vm_peer.series_points('disk_used_percent{host="here"}') == len(disks)

    wait_until(arrived, timeout=10, what="disk samples in VictoriaMetrics")
    got = {r["metric"]["path"]: r["values"][0] for r in vm_peer.export('disk_used_percent{host="here"}')}
    assert got == pytest.approx(disks)
    load = vm_peer.export('system_load1{host="here"}')
    assert load[0]["values"][0] == pytest.approx(next(
        s.fields["load1"] for s in samples if s.measurement == "system"))


def test_unreachable_server_spools_then_delivers_once(tmp_path: Path, make_vm_peer) -> None:  # type: ignore[no-untyped-def]
    vm = make_vm_peer()
    vm.stop()
    sink = InfluxSinkWriter(sink_config(vm.url, 2), tmp_path / "spool")
    base = (int(time.time()) - 600) * 10**9
    for i in range(5):
        sink.write([Sample("probe", {"host": "h"}, {"n": i}, base + i * 10**9)])
    assert not sink.flush(1.0) and sink.spool.pending == 5 and sink.last_error
    vm.start()
    assert sink.flush(30), sink.last_error
    sink.close()

    def all_there() -> bool:
        vm.flush()
        return vm.series_points("probe_n") >= 5

    wait_until(all_there, timeout=10, what="spooled samples delivered")
    (series,) = vm.export("probe_n")
    assert series["values"] == [0, 1, 2, 3, 4]  # in order, none twice


def test_rejected_batch_is_set_aside_not_retried_forever(tmp_path: Path, influx_peer) -> None:  # type: ignore[no-untyped-def]
    influx_peer.create_database("xunjian")
    sink = InfluxSinkWriter(sink_config(influx_peer.url, 1), tmp_path / "spool")
    base = (int(time.time()) - 600) * 10**9
    sink.write([Sample("conflict", {"host": "h"}, {"v": 1.5}, base)])
    assert sink.flush(10)
    sink.write([Sample("conflict", {"host": "h"}, {"v": "text"}, base + 10**9)])  # type clash
    sink.write([Sample("conflict", {"host": "h"}, {"v": 2.5}, base + 2 * 10**9)])
    assert sink.flush(10), "a rejected batch must not block the ones behind it"
    sink.close()
    assert sink.rejected == 1
    assert list((tmp_path / "spool" / "t" / "rejected").glob("*.lp"))
    assert influx_peer.count("xunjian", "conflict", "v") == 2
