"""`xunjian run` with its data dir on a full filesystem (a small tmpfs, filled up): it lives,
/healthz says why it is not ok, the lost samples are counted in /metrics and /status, the log
says it once (not a traceback per write), and all is well again once there is space."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import XUNJIAN
from tests.peers import free_port, wait_until

pytestmark = pytest.mark.peers


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "var"
    mnt.mkdir()
    if os.geteuid() != 0:  # CI and the README's test command run as root: there it must mount
        pytest.skip("a small tmpfs is needed for a full disk: mounting one needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"mounting a tmpfs as root failed: {r.stderr.strip() or r.returncode}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Write until the filesystem says ENOSPC."""
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
        with contextlib.suppress(OSError):  # the last few bytes too
            while f.write(b"\0" * 512):
                pass


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def lost(metrics: str, place: str) -> int:
    m = re.search(rf'^xunjian_samples_lost\{{place="{place}"\}} (\d+)$', metrics, re.M)
    return int(m.group(1)) if m else -1


@pytest.mark.timeout(180)
def test_full_disk_is_unhealthy_counted_and_said_once(tmp_path: Path, small_fs: Path) -> None:
    port = free_port()
    closed = free_port()  # nothing listens: the sink's batches pile up in the spool
    (tmp_path / "inventory.yaml").write_text("devices:\n" + "".join(
        f"  - {{name: d{i}, collectors: [local], interval: 1}}\n" for i in range(2)))
    (tmp_path / "xunjian.yaml").write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml", "daemon": {"listen": f"127.0.0.1:{port}"},
        "sinks": {"influxdb": [{"name": "away", "version": 1, "url": f"http://127.0.0.1:{closed}",
                                "database": "x"}]}}))
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([XUNJIAN, "run", "-c", "xunjian.yaml"], cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
    filler = small_fs / "filler"
    try:
        wait_until(lambda: 'collector="local",outcome="ok"' in get(base + "/metrics")[1], timeout=30,
                   what="a first collection")
        assert get(base + "/healthz") == (200, "ok\n")
        fill(filler)

        def unhealthy() -> bool:
            code, text = get(base + "/healthz")
            return code == 503 and "store" in text and "spool away" in text

        wait_until(unhealthy, timeout=30, what="/healthz to report the full disk")
        _, text = get(base + "/healthz")
        assert "No space left on device" in text or "disk is full" in text, text
        wait_until(lambda: lost(get(base + "/metrics")[1], "store") >= 20
                   and lost(get(base + "/metrics")[1], "spool away") >= 20, timeout=30,
                   what="lost samples counted")
        status = json.loads(get(base + "/status")[1])
        assert status["samples_lost"]["store"] >= 20 and status["health"] != "ok"

        filler.unlink()  # space again: healthy, the count stays
        wait_until(lambda: get(base + "/healthz") == (200, "ok\n"), timeout=30,
                   what="/healthz ok once there is space")
        metrics = get(base + "/metrics")[1]
        assert lost(metrics, "store") >= 20 and lost(metrics, "spool away") >= 20
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        filler.unlink(missing_ok=True)
    out = log_path.read_text()
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    # said once per place in this (sub-minute) spell, and once more when it is over
    assert out.count("store cannot be written") == 1, out[-3000:]
    assert out.count("spool away cannot be written") == 1, out[-3000:]
    assert "store is written again" in out and "spool away is written again" in out
