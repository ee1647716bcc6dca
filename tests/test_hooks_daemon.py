"""The daemon's path: a sample breaches a threshold → a case opens → the delivery worker (woken by
the pipeline, not by its interval) posts it to the webhook; the daemon starts and stops the worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import collectors
from agent.app import build_pipeline, build_worker, load_app
from agent.scheduler import Daemon, run_once
from tests.hook_peers import HookReceiver
from tests.hook_setup import body
from tests.peers import wait_until
from tests.test_case_daemon import Scripted

pytestmark = pytest.mark.peers


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(collectors.COLLECTORS, "scripted",
                        collectors.CollectorSpec("scripted", "local", "test", Scripted))


def write(tmp_path: Path, url: str) -> Path:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - {name: db01, kind: server, interval: 1, collectors: [scripted], labels: {site: county-a}}\n")
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text(
        "data_dir: var\ninventory: inventory.yaml\n"
        "hooks:\n  interval: 1h\n  channels:\n"
        f"    ops: {{type: webhook, url: '{url}/hook'}}\n"
        "  routes:\n    - {channels: [ops], match: {events: [open, resolve]}}\n")
    return cfg


def test_breach_reaches_the_webhook_through_the_running_worker(tmp_path: Path, scripted: None) -> None:
    with HookReceiver() as rx:
        app = load_app(write(tmp_path, rx.url))
        worker = build_worker(app)
        assert worker is not None
        pipeline = build_pipeline(app, influx=False, worker=worker)
        worker.start()
        try:
            Scripted.VALUES = [97.0, 20.0]
            t0 = time.monotonic()
            run_once(app.inventory, pipeline)
            wait_until(lambda: len(rx.hits("/hook")) == 1, timeout=5, what="the open at the webhook")
            assert time.monotonic() - t0 < 3  # woken at once, not after the 1 h interval
            run_once(app.inventory, pipeline)
            wait_until(lambda: len(rx.hits("/hook")) == 2, timeout=5, what="the resolve at the webhook")
        finally:
            worker.stop()
        opened, resolved = (body(s) for s in rx.hits("/hook"))
        assert opened["event"]["kind"] == "open" and opened["case"]["device"] == "db01"
        assert opened["case"]["check"] == "disk_used_percent" and opened["device"]["site"] == "county-a"
        assert resolved["event"]["kind"] == "resolve" and resolved["case"]["number"] == opened["case"]["number"]


def test_daemon_starts_and_stops_the_worker(tmp_path: Path, scripted: None) -> None:
    with HookReceiver() as rx:
        app = load_app(write(tmp_path, rx.url))
        worker = build_worker(app)
        pipeline = build_pipeline(app, influx=False, worker=worker)
        Scripted.VALUES = [97.0] * 50
        daemon = Daemon(app.inventory, pipeline, workers=2, hooks=worker)
        daemon.start()
        try:
            wait_until(lambda: len(rx.hits("/hook")) == 1, timeout=8, what="the daemon's first delivery")
        finally:
            daemon.stop(timeout=5)
        assert worker is not None and worker._thread is not None and not worker._thread.is_alive()


def test_run_once_delivers_what_it_opened(tmp_path: Path) -> None:
    from tests.helpers import cli

    with HookReceiver() as rx:
        cfg = write(tmp_path, rx.url)
        # the local host's disks are surely more than 0.01 % used: a breach on every filesystem
        (tmp_path / "inventory.yaml").write_text(
            "devices:\n  - {name: here, kind: server, collectors: [local],"
            " thresholds: {disk_used_percent: {warn: 0.001, crit: 0.01}}}\n")
        r = cli("run", "--once", "-c", str(cfg))
        assert r.returncode == 0, r.stderr
        hits = rx.hits("/hook")
        assert hits and {body(s)["case"]["check"] for s in hits} >= {"disk_used_percent"}
        assert f"hooks: {len(hits)} sent, 0 to retry, 0 dead" in r.stderr
