"""InfluxDB sink throughput: our sink (Sample → line protocol → spool → sender → HTTP) vs the
raw influxdb-client synchronous path with pre-serialised line protocol, both into a real
VictoriaMetrics on 127.0.0.1, in one run. Prints a RESULTS.md section.

    .venv/bin/python -m bench.bench_sink [POINTS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from pydantic import SecretStr

from agent.config import InfluxSink
from agent.sinks.influx import InfluxSinkWriter
from agent.sinks.lineproto import NATIVE, LineSerializer
from bench.common import section, timed
from core.model import Sample
from tests.peers import VictoriaMetricsPeer
from tests.test_lineproto import library_line  # influxdb-client's Point, the reference


def samples(n: int, base: int) -> list[Sample]:
    return [Sample("disk", {"host": f"h{i % 500}", "path": f"/fs{i % 20}", "fstype": "ext4"},
                   {"used_percent": (i % 1000) / 10.0, "free": i * 1024, "inodes_used": i},
                   base + i * 1000) for i in range(n)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    base = (int(time.time()) - 3600) * 10**9
    batch = samples(n, base)
    with tempfile.TemporaryDirectory() as tmp, VictoriaMetricsPeer(Path(tmp) / "vm") as vm:
        cfg = InfluxSink(name="bench", version=2, url=vm.url, database=None, retention_policy=None,
                         username=None, password=None, token=SecretStr("t"), org="o", bucket="b",
                         batch_size=5000, timeout=30, gzip=True, verify_tls=True, ca_file=None,
                         spool_max_bytes=2**31)
        with timed() as ser:
            native_bytes = LineSerializer().encode(batch)[0]
        with timed() as py:
            lines = LineSerializer().lines(batch)
        assert native_bytes == ("\n".join(lines) + "\n").encode()
        with timed() as lib:
            lib_lines = [library_line(s) for s in batch]
        assert lib_lines == lines  # the same bytes, so the comparison is fair
        sink = InfluxSinkWriter(cfg, Path(tmp) / "spool")
        with timed() as ours:
            for i in range(0, n, 5000):
                sink.write(batch[i:i + 5000])
            assert sink.flush(300), sink.last_error
        sink.close()
        client = InfluxDBClient(url=vm.url, token="t", org="o")
        api = client.write_api(write_options=SYNCHRONOUS)
        with timed() as raw:
            for i in range(0, n, 5000):
                api.write("b", "o", "\n".join(lines[i:i + 5000]))
        client.close()
    ours_rate, raw_rate, ser_rate, lib_rate = n / ours.cpu, n / raw.cpu, n / ser.cpu, n / lib.cpu
    loop = "C loop, agent/sinks/_lineproto.c" if NATIVE else "C loop NOT BUILT: the Python path"
    print(section("InfluxDB sink → VictoriaMetrics", [
        f"{n:,} points (3 fields each), batches of 5,000, gzip on for ours.", "",
        "| path | wall s | CPU s | points/s per CPU-second |", "|---|---|---|---|",
        f"| xunjian sink (serialise + spool + send) | {ours.wall:.2f} | {ours.cpu:.2f} | {ours_rate:,.0f} |",
        f"| influxdb-client sync, pre-serialised lines | {raw.wall:.2f} | {raw.cpu:.2f} | {raw_rate:,.0f} |",
        f"| of which: Sample → line protocol ({loop}) | | {ser.cpu:.2f} | {ser_rate:,.0f} |",
        f"| for comparison: our pure-Python path (lineproto.py, used without a compiler) | | {py.cpu:.2f} | {n / py.cpu:,.0f} |",
        f"| for comparison: influxdb-client `Point.to_line_protocol` | | {lib.cpu:.2f} | {lib_rate:,.0f} |",
        "", f"Ratio ours / raw: {ours_rate / raw_rate:.2f} (the raw path skips serialising, the spool and gzip). "
        f"Target ≥ 300k points/s per core: {'met' if ours_rate >= 300_000 else 'NOT met'} ({ours_rate:,.0f}).",
    ]))


if __name__ == "__main__":
    main()
