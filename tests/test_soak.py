"""Soak: the real daemon polls many simulated devices for a long time — SNMP devices (one
snmpd answering a community per device) and Linux servers over SSH (inventory entries on the
test sshd) — with a VictoriaMetrics sink. Its RSS stays flat, its file descriptors do not
grow, its start lateness does not grow, and nothing is lost: every scheduled collection ran,
every sample of every collection is in the store and in VictoriaMetrics.

Slow, not in the default run:

    XUNJIAN_SOAK_DEVICES=1000 XUNJIAN_SOAK_MINUTES=30 .venv/bin/python -m pytest -m slow tests/test_soak.py -s

XUNJIAN_SOAK_INTERVAL (seconds, default 60) is each device's polling interval; one device in
ten is an SSH device. The test prints a summary table; bench/RESULTS.md records runs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import XUNJIAN
from tests.peers import HOST, SnmpdPeer, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.peers]


DEVICES = int(os.environ.get("XUNJIAN_SOAK_DEVICES", "1000"))
MINUTES = float(os.environ.get("XUNJIAN_SOAK_MINUTES", "30"))
INTERVAL = int(os.environ.get("XUNJIAN_SOAK_INTERVAL", "60"))


class ManyCommunities(SnmpdPeer):
    """snmpd answering `soak-<n>` for every simulated SNMP device."""

    def __init__(self, workdir: Path, n: int) -> None:
        super().__init__(workdir)
        self.n = n

    def _prepare(self) -> None:
        super()._prepare()
        with self.conf.open("a") as f:
            f.writelines(f"rocommunity soak-{i} {HOST}\n" for i in range(self.n))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.mark.timeout(int(MINUTES * 60) + 900)
def test_soak(tmp_path: Path, ssh_peer: Any, vm_peer: Any) -> None:
    n_ssh = max(1, DEVICES // 10)
    n_snmp = DEVICES - n_ssh
    secrets = {f"soak{i}": f"soak-{i}" for i in range(n_snmp)}
    sf = tmp_path / "secrets.yaml"
    sf.write_text(json.dumps(secrets))
    sf.chmod(0o600)
    with ManyCommunities(tmp_path / "snmpd", n_snmp) as snmpd:
        ssh = {"user": ssh_peer.user, "key_file": str(ssh_peer.client_key),
               "known_hosts": str(ssh_peer.known_hosts), "connect_timeout": 10,
               "command_timeout": 30}
        devices: list[dict[str, Any]] = [
            {"name": f"sw-{i:04d}", "kind": "switch", "address": HOST, "collectors": ["snmp"],
             "interval": INTERVAL, "settings": {"snmp": {
                 "version": "2c", "community": f"${{secret:soak{i}}}", "port": snmpd.port,
                 "host_resources": False, "timeout": 5, "retries": 1}}}
            for i in range(n_snmp)]
        devices += [{"name": f"srv-{i:04d}", "kind": "server", "address": ssh_peer.host,
                     "port": ssh_peer.port, "collectors": ["linux"], "interval": INTERVAL, "ssh": ssh}
                    for i in range(n_ssh)]
        (tmp_path / "inventory.yaml").write_text(json.dumps({"secrets_file": str(sf), "devices": devices}))
        port = free_port()
        (tmp_path / "xunjian.yaml").write_text(json.dumps({
            "data_dir": "var", "inventory": "inventory.yaml", "workers": 64,
            "daemon": {"listen": f"{HOST}:{port}", "ssh_sessions": 32},
            "sinks": {"influxdb": [{"name": "vm", "version": 2, "url": vm_peer.url, "org": "ops",
                                    "bucket": "soak", "token": "${SOAK_TOKEN}"}]}}))
        log = (tmp_path / "daemon.log").open("w")
        proc = subprocess.Popen([XUNJIAN, "run", "-c", str(tmp_path / "xunjian.yaml")], cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "SOAK_TOKEN": "any"})
        points: list[dict[str, float]] = []
        started = time.monotonic()
        end = started + MINUTES * 60
        try:
            wait_until(lambda: _ok(port), timeout=60, what="the daemon's /healthz")
            while time.monotonic() < end:
                assert proc.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                m = scrape(port)
                points.append({
                    "t": time.monotonic() - started, "rss": rss_kib(proc.pid), "fds": fds(proc.pid),
                    "p99": m.get('xunjian_job_lateness_seconds{quantile="0.99"}', 0.0),
                    "p50": m.get('xunjian_job_lateness_seconds{quantile="0.5"}', 0.0),
                    "runs": m.get('xunjian_jobs_total{what="run"}', 0.0),
                    "overrun": m.get('xunjian_jobs_total{what="skipped_overrun"}', 0.0),
                    "late": m.get('xunjian_jobs_total{what="skipped_late"}', 0.0),
                    "ok": sum(v for k, v in m.items() if k.startswith("xunjian_collections_total")
                              and 'outcome="ok"' in k),
                    "failed": sum(v for k, v in m.items() if k.startswith("xunjian_collections_total")
                                  and 'outcome="failed"' in k),
                })
                time.sleep(min(10.0, max(0.0, end - time.monotonic())))  # the sampling period
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, (tmp_path / "daemon.log").read_text()[-3000:]
        elapsed = points[-1]["t"]

    store = sqlite3.connect(next((tmp_path / "var").glob("*.db")))
    per_device = dict(store.execute(
        "SELECT device, COUNT(*) FROM collections WHERE status = 'ok' GROUP BY device").fetchall())
    failed = store.execute("SELECT COUNT(*), GROUP_CONCAT(DISTINCT reason) FROM collections "
                           "WHERE status != 'ok'").fetchone()
    claimed = store.execute("SELECT COALESCE(SUM(samples), 0) FROM collections").fetchone()[0]
    stored = store.execute("SELECT COUNT(*) FROM samples WHERE device LIKE 'sw-%' "
                           "OR device LIKE 'srv-%'").fetchone()[0]  # not the agent's own
    snmp_ok = store.execute("SELECT COUNT(*) FROM collections WHERE status = 'ok' "
                            "AND collector = 'snmp'").fetchone()[0]

    warm = [p for p in points if p["t"] >= elapsed / 3] or points[-1:]
    rss = [p["rss"] for p in warm]
    median = statistics.median(rss)
    quarter = max(1, len(warm) // 4)
    summary = {
        "devices": DEVICES, "ssh": n_ssh, "minutes": round(elapsed / 60, 1), "interval_s": INTERVAL,
        "cycles": round(elapsed / INTERVAL, 1), "rss_mib_start": round(points[0]["rss"] / 1024, 1),
        "rss_mib_median_after_warmup": round(median / 1024, 1),
        "rss_mib_max": round(max(p["rss"] for p in points) / 1024, 1),
        "fds_min_max_after_warmup": (min(p["fds"] for p in warm), max(p["fds"] for p in warm)),
        "fds_floor_first_last_quarter": (min(p["fds"] for p in warm[:quarter]),
                                         min(p["fds"] for p in warm[-quarter:])),
        "lateness_p50_p99_last": (round(points[-1]["p50"], 3), round(points[-1]["p99"], 3)),
        "collections_ok": points[-1]["ok"], "collections_failed": points[-1]["failed"],
        "jobs_skipped_overrun": points[-1]["overrun"], "jobs_skipped_late": points[-1]["late"],
        "samples_stored": stored,
    }
    print("\nsoak:", json.dumps(summary, indent=1))

    assert failed[0] == 0, f"{failed[0]} failed collections: {failed[1]}"
    expected = int(elapsed // INTERVAL) - 1
    short = {d: n for d, n in per_device.items() if n < expected}
    assert len(per_device) == DEVICES and not short, f"devices collected < {expected} times: {short}"
    assert stored == claimed, f"{claimed} samples collected, {stored} in the store"
    assert all(abs(r - median) <= 0.10 * median for r in rss), (median, rss)
    # sockets come and go with the walks in flight: a leak shows as a rising floor
    fd_first = min(p["fds"] for p in warm[:quarter])
    fd_last = min(p["fds"] for p in warm[-quarter:])
    assert fd_last <= fd_first + 8, (fd_first, fd_last)
    first = statistics.mean(p["p99"] for p in warm[:quarter])
    last = statistics.mean(p["p99"] for p in warm[-quarter:])
    assert last <= max(2 * first, first + 0.5), (first, last)
    assert points[-1]["overrun"] == 0 and points[-1]["late"] == 0

    def all_in_vm() -> bool:
        vm_peer.flush()
        return vm_peer.series_points('{__name__="snmp_uptime_seconds"}') == snmp_ok

    wait_until(all_in_vm, timeout=60, what=f"{snmp_ok} snmp samples in VictoriaMetrics")


def _ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
