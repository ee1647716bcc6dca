"""The line-protocol serialiser: byte-equal to influxdb-client's Point where that is right,
never failing a batch, and read back as written by a real InfluxDB 1.x and VictoriaMetrics."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from agent.model import Sample, Status
from agent.sinks.influx import InfluxSinkWriter
from agent.sinks.lineproto import LineSerializer
from tests.peers import wait_until
from tests.test_influx_sinks import sink_config

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
measurements = names.filter(lambda s: not s.startswith("#"))  # a comment line to InfluxDB
field_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s))
samples = st.builds(
    Sample, measurements, st.dictionaries(names, st.text(max_size=10), max_size=4),
    st.dictionaries(names, field_values, min_size=1, max_size=4),
    st.integers(min_value=0, max_value=2**62))


def library_line(s: Sample) -> str:
    p = Point(s.measurement)
    for k, v in s.tags.items():
        p.tag(k, v)
    for k, v in s.fields.items():
        p.field(k, v)
    p.time(s.time, WritePrecision.NS)
    return str(p.to_line_protocol())


@settings(max_examples=400, deadline=None)
@given(samples)
def test_same_bytes_as_influxdb_client(s: Sample) -> None:
    assert LineSerializer().line(s) == library_line(s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(
    Sample, st.text(max_size=5),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(
        st.none(), st.floats(), st.integers(), st.text(), st.booleans(), st.binary(max_size=3)),
        max_size=4),
    st.integers(min_value=0, max_value=2**62)), max_size=20))
def test_never_raises_and_every_line_is_one_line(batch: list[Sample]) -> None:
    ser = LineSerializer()
    lines = ser.lines(batch)
    assert len(lines) + ser.dropped_points == len(batch)
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert line.rsplit(" ", 1)[1].isdigit()


def test_unrepresentable_values_are_dropped_and_counted() -> None:
    ser = LineSerializer()
    lines = ser.lines([
        Sample("m", {"h": "a"}, {"x": math.nan, "y": 1.5, "z": math.inf}, 1),
        Sample("m", {"h": "b"}, {"x": -math.inf}, 2),  # nothing left: the point goes
        Sample("", {}, {"x": 1}, 3),  # no measurement name
        Sample("m", {"h": ""}, {"": 1, "s": Status.CRIT, "b": object()}, 4),  # type: ignore[dict-item]
    ])
    assert lines == ["m,h=a y=1.5 1", "m s=2i 4"]
    assert (ser.dropped_fields, ser.dropped_points) == (5, 2)


def test_newlines_in_strings_stay_on_one_line() -> None:
    line = LineSerializer().line(Sample("snmp", {}, {"sysDescr": 'Cisco IOS\r\nVersion "15"\\'}, 7))
    assert line == 'snmp sysDescr="Cisco IOS\\r\\nVersion \\"15\\"\\\\" 7'


AWKWARD = Sample("disk usage,β", {"mount point": "/data, =x", "quote": 'say "hi"', "path": r"C:\temp",
                                  "unicode": "机房-3", "empty": ""},
                 {"used percent": 81.5, "n=odes": 12, "note": 'a "q" \\ b, c=d', "ok": True},
                 time.time_ns() - 60 * 10**9)


@pytest.mark.peers
def test_awkward_names_round_trip_influxdb1(tmp_path: Path, influx_peer) -> None:  # type: ignore[no-untyped-def]
    influx_peer.create_database("lp")
    sink = InfluxSinkWriter(sink_config(influx_peer.url, 1, database="lp"), tmp_path / "spool")
    sink.write([AWKWARD])
    assert sink.flush(15), sink.last_error
    sink.close()
    res = influx_peer.query("lp", "SELECT * FROM /.*/ GROUP BY *")
    (series,) = res["results"][0]["series"]
    assert series["name"] == AWKWARD.measurement
    assert series["tags"] == {k: v for k, v in AWKWARD.tags.items() if v}
    row = dict(zip(series["columns"], series["values"][0], strict=True))
    assert row.pop("time") == AWKWARD.time
    assert row == AWKWARD.fields


@pytest.mark.peers
def test_awkward_names_round_trip_victoriametrics(tmp_path: Path, vm_peer) -> None:  # type: ignore[no-untyped-def]
    sink = InfluxSinkWriter(sink_config(vm_peer.url, 2), tmp_path / "spool")
    sink.write([AWKWARD])
    assert sink.flush(15), sink.last_error
    sink.close()
    match = '{__name__="disk usage,β_used percent"}'

    def arrived() -> bool:
        vm_peer.flush()
        return vm_peer.series_points(match) == 1

    wait_until(arrived, timeout=10, what="the awkward sample in VictoriaMetrics")
    (got,) = vm_peer.export(match)
    labels = dict(got["metric"])
    labels.pop("__name__")
    assert labels == {k: v for k, v in AWKWARD.tags.items() if v}
    assert got["values"] == [81.5]
    assert got["timestamps"] == [AWKWARD.time // 10**6]
