"""The line-protocol serialiser: byte-equal to influxdb-client's Point where that is right,
never failing a batch, and read back as written by a real InfluxDB 1.x and VictoriaMetrics."""

from __future__ import annotations

import math
import random
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from agent.sinks.influx import InfluxSinkWriter
from agent.sinks.lineproto import NATIVE, LineSerializer
from core.model import Sample, Status
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


def test_the_c_loop_is_built() -> None:
    # setup.py compiles agent/sinks/_lineproto.c when a C compiler and the Python headers are
    # there (the test set-up has both); without it the sink is ~2x slower, not wrong.
    assert NATIVE, "agent/sinks/_lineproto.c is not compiled: reinstall with gcc and python3-dev"


any_text = st.text(st.characters(codec="utf-8"), max_size=6) | st.text(max_size=6)  # lone surrogates too
odd_values = st.one_of(
    st.none(), st.floats(), st.integers(min_value=-(2**70), max_value=2**70), any_text, st.booleans(),
    st.binary(max_size=3), st.sampled_from([Status.CRIT, Status.OK]))
odd_samples = st.builds(
    Sample, any_text, st.dictionaries(any_text, any_text, max_size=3),
    st.dictionaries(any_text, odd_values, max_size=4),
    st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.just(1.5)))


def both_ways(batches: list[list[Sample]]) -> list[tuple[bytes, int, int, int]]:
    """Each batch through one serializer (caches warm from the earlier batches), C and Python."""
    got = []
    for native in (True, False):
        ser, out = LineSerializer(), []
        for batch in batches:
            out.append(ser.encode(batch, native=native))
        got.append((b"".join(d for d, _ in out), sum(n for _, n in out), ser.dropped_fields,
                    ser.dropped_points))
    return got


@pytest.mark.skipif(not NATIVE, reason="the C loop is not built")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(odd_samples | samples, max_size=12), max_size=3))
def test_c_loop_writes_what_the_python_path_writes(batches: list[list[Sample]]) -> None:
    native, python = both_ways(batches)
    assert native == python
    data, n = native[0], native[1]
    assert data.count(b"\n") == n and (not data or data.endswith(b"\n"))
    data.decode("utf-8")  # a lone surrogate became '?', never invalid UTF-8 in the spool


@pytest.mark.skipif(not NATIVE, reason="the C loop is not built")
def test_c_loop_reuses_shapes_without_mixing_them_up() -> None:
    # the same field names as equal but distinct str objects, then a new shape, then back
    a, b = "".join(["fr", "ee"]), "".join(["fr", "ee"])
    assert a == b and a is not b
    batch = [Sample("m", {"h": "x"}, {a: 1, "u": 0.5}, 1), Sample("m", {"h": "x"}, {b: 2, "u": 1.0}, 2),
             Sample("m", {"h": "y"}, {"u": 3.25, b: 3}, 3), Sample("m", {}, {"u": math.nan}, 4),
             Sample("m", {"h": "y"}, {a: 4, "u": 7.0}, 5), Sample("m", {"h": "y"}, {"s": "q\"\n"}, 6)]
    ser = LineSerializer()
    data, n = ser.encode(batch)
    assert data.decode().splitlines() == ["m,h=x free=1i,u=0.5 1", "m,h=x free=2i,u=1 2", "m,h=y free=3i,u=3.25 3",
                                          "m,h=y free=4i,u=7 5", 'm,h=y s="q\\"\\n" 6']
    assert (n, ser.dropped_fields, ser.dropped_points) == (5, 1, 1)


@pytest.mark.skipif(not NATIVE, reason="the C loop is not built")
def test_c_floats_are_python_repr() -> None:
    # The C loop writes short decimals itself (and the rest through CPython's dtoa): every
    # family of double, the edges of that fast path included, must come out as repr() does.
    rnd, vals = random.Random(7), []
    edges = [2.0**51, 2.0**51 - 1, 2.0**51 + 2, 2.0**52 - 0.5, 2.0**53, 1e15, 1e16, 9.999e15,
             0.0001, 0.00009999, 0.00011, 1e-4 * (1 + 2**-52), -0.0, 0.0, 0.1 + 0.2, 1 / 3, 5e-324]
    for i in range(120_000):
        family = i % 7
        if family == 0:
            v = round(rnd.uniform(-1e6, 1e6), rnd.randrange(9))
        elif family == 1:
            v = rnd.randrange(-10**9, 10**9) / 10 ** rnd.randrange(8)
        elif family == 2:  # any bit pattern
            v = struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
        elif family == 3:
            v = rnd.choice(edges) * rnd.choice([1, -1])
        elif family == 4:
            v = rnd.random() * 10 ** rnd.randrange(-6, 17)
        elif family == 5:
            v = rnd.randrange(0, 2**52) / 2 ** rnd.randrange(0, 60)
        else:
            v = float(rnd.randrange(-2**53, 2**53))
        if math.isfinite(v):
            vals.append(v)
    batch = [Sample("m", {}, {"v": v}, 1) for v in vals]
    got = LineSerializer().encode(batch)[0].decode().splitlines()
    want = [f"m v={r[:-2] if (r := repr(v)).endswith('.0') else r} 1" for v in vals]
    assert got == want


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
