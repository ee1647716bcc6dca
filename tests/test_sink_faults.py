"""The InfluxDB sinks of the real daemon under server faults: a server that answers 503 for a
while (the sender backs off, new data does not wake it), and a VictoriaMetrics frozen by SIGSTOP
(nothing written twice — VictoriaMetrics keeps both copies of a re-sent point — nothing lost)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.store.db import open_engine
from agent.store.samples import read_samples
from tests.helpers import XUNJIAN
from tests.peers import HOST, wait_until

pytestmark = pytest.mark.peers


class Refuser:
    """An HTTP server on loopback standing in for an InfluxDB that is down behind its proxy: it
    answers every write with `status` (503) and notes when each one came."""

    def __init__(self) -> None:
        self.status = 503
        self.times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                self.rfile.read(n)
                outer.times.append(time.monotonic())
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def refuser() -> Iterator[Refuser]:
    r = Refuser()
    yield r
    r.close()


def _daemon(tmp_path: Path, sink: dict[str, object], devices: int = 3) -> subprocess.Popen[bytes]:
    (tmp_path / "inventory.yaml").write_text("devices:\n" + "".join(
        f"  - {{name: d{i}, collectors: [local], interval: 1}}\n" for i in range(devices)))
    (tmp_path / "xunjian.yaml").write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml", "daemon": {"listen": "off"},
        "sinks": {"influxdb": [sink]}}))
    log = (tmp_path / "daemon.log").open("w")
    return subprocess.Popen([XUNJIAN, "run", "-c", str(tmp_path / "xunjian.yaml")], cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={"XJ_TEST_TOKEN": "t0ken", "PATH": "/usr/bin:/bin"})


def _stop(proc: subprocess.Popen[bytes], tmp_path: Path) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return (tmp_path / "daemon.log").read_text()


def test_server_away_sender_backs_off_not_once_per_collection(tmp_path: Path, refuser: Refuser) -> None:
    proc = _daemon(tmp_path, {"name": "down", "version": 1, "url": refuser.url, "database": "x"})
    try:
        wait_until(lambda: len(refuser.times) >= 1, timeout=30, what="a first write attempt")
        first = refuser.times[0]
        window = 16.0
        # the daemon writes 3 collections a second meanwhile; poll until the window is over
        wait_until(lambda: time.monotonic() - first > window, timeout=window + 5, interval=0.5)
        attempts = [t - first for t in refuser.times if t - first <= window]
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        # 0.5, 1, 2, 4, 8 s (±25 % jitter) → at most 6 attempts in 16 s; once per collection was 50
        assert len(attempts) <= 6, f"{len(attempts)} attempts in {window:.0f} s: {attempts}"
        assert len(attempts) >= 4, attempts
        for k, gap in enumerate(gaps):  # the documented schedule, with room for a busy machine
            nominal = min(30.0, 0.5 * 2**k)
            assert 0.75 * nominal - 0.05 <= gap <= 1.25 * nominal + 1.0, f"gap {k}: {gaps}"
        spool = tmp_path / "var" / "spool" / "down"
        assert list(spool.glob("*.lp")), "the batches wait in the spool meanwhile"
        # the server comes back: the next attempt (at most ~30 s later) drains the spool
        refuser.status = 204
        wait_until(lambda: not list(spool.glob("*.lp")), timeout=45, what="the spool drained")
    finally:
        out = _stop(proc, tmp_path)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    assert out.count("HTTP 503") == 1, out  # said once, not per attempt


@pytest.mark.timeout(240)
def test_frozen_victoriametrics_gets_every_point_once(tmp_path: Path, make_vm_peer) -> None:  # type: ignore[no-untyped-def]
    vm = make_vm_peer()
    proc = _daemon(tmp_path, {"name": "vm", "version": 2, "url": vm.url, "org": "ops",
                              "bucket": "xunjian", "token": "${XJ_TEST_TOKEN}", "timeout": 2},
                   devices=2)
    engine = open_engine(tmp_path / "var")

    def stored() -> list[int]:
        return sorted(s.time for s in read_samples(engine, measurement="system"))

    try:
        def first_points() -> bool:
            vm.flush()
            return vm.series_points("system_load1") >= 2

        wait_until(first_points, timeout=30, what="first samples in VictoriaMetrics")
        os.kill(vm.pid, signal.SIGSTOP)  # hung: connections are accepted by the kernel, never answered
        try:
            before = len(stored())
            # 12 s frozen, six times the write timeout; 2 devices × 1 s
            wait_until(lambda: len(stored()) >= before + 24, timeout=40, what="collections while frozen")
        finally:
            os.kill(vm.pid, signal.SIGCONT)
        spool = tmp_path / "var" / "spool" / "vm"
        wait_until(lambda: not list(spool.glob("*.lp")), timeout=60, what="the spool drained")
    finally:
        out = _stop(proc, tmp_path)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "t0ken" not in out
    times = stored()
    by_host: dict[str, list[int]] = {}
    for s in read_samples(engine, measurement="system"):
        by_host.setdefault(s.tags["host"], []).append(s.time // 10**6)

    def vm_complete() -> bool:
        vm.flush()
        return vm.series_points("system_load1") >= len(times)

    wait_until(vm_complete, timeout=15, what="VictoriaMetrics to show every point")
    got = {s["metric"]["host"]: s["timestamps"] for s in vm.export("system_load1")}
    dups = sum(len(ts) - len(set(ts)) for ts in got.values())
    assert dups == 0, f"{dups} duplicate samples in VictoriaMetrics for {len(times)} collected"
    assert {h: sorted(ts) for h, ts in got.items()} == {h: sorted(ts) for h, ts in by_host.items()}


def test_stop_while_frozen_is_bounded_and_the_batch_is_not_stored_twice(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                       make_vm_peer, caplog) -> None:
    """A stop while the server holds an unanswered request: the stop keeps its deadline, the batch
    stays spooled and marked; at the next start the server is asked whether it stored it (it did,
    once it woke): it is not sent again."""
    from agent.sinks.influx import InfluxSinkWriter
    from core.model import Sample
    from tests.test_influx_sinks import sink_config

    vm = make_vm_peer()
    cfg = sink_config(vm.url, 2, timeout=1.0)
    base = (int(time.time()) - 600) * 10**9
    sink = InfluxSinkWriter(cfg, tmp_path / "spool")
    sink.write([Sample("probe", {"host": "h"}, {"n": 0}, base)])
    assert sink.flush(15), sink.last_error
    os.kill(vm.pid, signal.SIGSTOP)
    try:
        sink.write([Sample("probe", {"host": "h"}, {"n": i}, base + i * 10**9) for i in range(1, 4)])
        wait_until(lambda: sink.status()["unanswered_for"], timeout=15, what="a request left unanswered")
        t0 = time.monotonic()
        sink.close(timeout=2.0)
        assert time.monotonic() - t0 < 5.0
        assert sink.spool.pending == 1 and (tmp_path / "spool" / "t" / "unanswered").exists()
    finally:
        os.kill(vm.pid, signal.SIGCONT)

    def woke_and_stored() -> bool:  # the frozen server processes the request it held
        vm.flush()
        return vm.series_points("probe_n") >= 4

    wait_until(woke_and_stored, timeout=15, what="the held request processed after SIGCONT")
    again = InfluxSinkWriter(cfg, tmp_path / "spool")
    assert again.flush(15), again.last_error
    again.close()
    assert again.recognised == 3 and again.unanswered == 0
    assert not (tmp_path / "spool" / "t" / "unanswered").exists()
    vm.flush()
    (series,) = vm.export("probe_n")
    assert series["values"] == [0, 1, 2, 3]  # each once
