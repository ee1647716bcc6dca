"""The daemon watched and steered: /metrics, /healthz, `xunjian status`, per-device backoff,
`xunjian reload` (good and broken configs), JSON logs, the pid file."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from tests.helpers import XUNJIAN, cli
from tests.peers import free_port, wait_until


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def test_metrics_status_backoff_reload(tmp_path: Path) -> None:
    port = free_port()
    dead = closed_port()
    inv = tmp_path / "inventory.yaml"
    good = ("devices:\n  - {name: here, collectors: [local], interval: 1}\n"
            f"  - {{name: gone, address: 127.0.0.1, port: {dead}, interval: 1, ssh: {{user: x, "
            f"connect_timeout: 1}}}}\n")
    inv.write_text(good)
    (tmp_path / "xunjian.yaml").write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml",
        "daemon": {"listen": f"127.0.0.1:{port}", "backoff_after": 2, "log_format": "json"}}))
    cfg = ["-c", str(tmp_path / "xunjian.yaml")]
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen([XUNJIAN, "run", *cfg], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def status() -> dict:  # type: ignore[type-arg]
        r = cli("status", "-f", "json", *cfg)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    try:
        wait_until(lambda: 'xunjian_collections_total{collector="local",outcome="ok"}' in get(
            base + "/metrics")[1], timeout=30, what="a local collection counted in /metrics")
        assert get(base + "/healthz") == (200, "ok\n")
        wait_until(lambda: "gone" in status().get("backoff", {}), timeout=30, what="gone in backoff")
        doc = status()
        assert doc["devices"] == 2 and doc["jobs"] == 2 and doc["backoff"]["gone"]["failures"] >= 2
        metrics = get(base + "/metrics")[1]
        assert 'xunjian_collection_errors_total{collector="linux",reason="refused"}' in metrics
        assert "xunjian_devices_in_backoff 1" in metrics and 'xunjian_open_cases{level="3"}' in metrics
        assert re.search(r'xunjian_build_info\{sink_c_loop="yes",version="[^"]+"\} 1\n', metrics)
        assert doc["sink_c_loop"] is True
        table = cli("status", *cfg)
        assert table.returncode == 0 and "gone:" in table.stdout and "devices in backoff" in table.stdout

        # a broken inventory is refused; the old one keeps running
        inv.write_text("devices:\n  - {name: here, collectors: [local], interval: 0}\n")
        assert cli("reload", *cfg).returncode == 0
        wait_until(lambda: "reload refused" in (tmp_path / "daemon.log").read_text(), timeout=15,
                   what="the refused reload logged")
        assert status()["jobs"] == 2 and status()["reloads"] == 0
        # a good one: a device removed, one added
        inv.write_text("devices:\n  - {name: here, collectors: [local], interval: 1}\n"
                       "  - {name: also, collectors: [local], interval: 2}\n")
        assert cli("reload", *cfg).returncode == 0
        wait_until(lambda: status().get("reloads") == 1, timeout=15, what="the reload applied")
        doc = status()
        assert doc["devices"] == 2 and doc["jobs"] == 2 and "gone" not in json.dumps(doc["backoff"])
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert rc == 0, text
    lines = [json.loads(ln) for ln in text.splitlines() if ln.startswith("{")]
    assert any("reloaded: 1 jobs added, 1 removed" in ln["message"] for ln in lines)
    assert not (tmp_path / "var" / "xunjian.pid").exists()
    r = cli("status", *cfg)
    assert r.returncode == 3 and "no daemon answering" in r.stderr
    r = cli("reload", *cfg)
    assert r.returncode == 3 and "no daemon pid" in r.stderr
