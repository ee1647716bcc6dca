"""A daemon whose collection pool is saturated: the case clocks still tick on time, and the
start lateness it reports includes the wait for a free worker."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent.scheduler as scheduler_mod
from agent.app import build_pipeline, load_app
from agent.config import DaemonModel
from agent.scheduler import Daemon
from tests.peers import HOST, mute_server, wait_until


@pytest.fixture
def mute_ssh() -> Iterator[int]:
    """A TCP port that accepts and never says a word: an SSH banner timeout every time."""
    with mute_server() as (port, _accepted):
        yield port


def test_saturated_pool_does_not_starve_the_case_clock(tmp_path: Path, mute_ssh: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_mod, "TICK_SECONDS", 1)
    ssh = {"user": "x", "connect_timeout": 2}
    (tmp_path / "inventory.yaml").write_text(json.dumps({"devices": [
        {"name": f"mute-{i}", "address": HOST, "port": mute_ssh, "interval": 1, "ssh": ssh}
        for i in range(3)]}))
    (tmp_path / "xunjian.yaml").write_text(json.dumps({"data_dir": str(tmp_path / "var"),
                                                       "inventory": str(tmp_path / "inventory.yaml")}))
    app = load_app(tmp_path / "xunjian.yaml")
    pipeline = build_pipeline(app)
    # one worker for three devices whose every collection takes ≥ 2 s: a queue forms
    daemon = Daemon(app.inventory, pipeline, workers=1,
                    settings=DaemonModel(listen="off", backoff_after=100))
    ticks: list[float] = []
    real_tick = daemon._tick

    def counted() -> None:
        real_tick()
        ticks.append(time.monotonic())

    monkeypatch.setattr(daemon, "_tick", counted)
    daemon.start()
    try:
        wait_until(lambda: daemon.metrics.jobs["run"] >= 3, timeout=30, what="three collections")
        wait_until(lambda: len(ticks) >= 6, timeout=15, what="the case clock ticking every second")
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert max(gaps) < 1.9, gaps  # never stuck behind a 2-s collection
        wait_until(lambda: daemon.metrics.jobs["skipped_late"] >= 1, timeout=15,
                   what="runs that waited past their grace counted as skipped_late")
        late = sorted(daemon.metrics.lateness)
        assert late and late[-1] > 1.0, late  # waiting for the worker counts as late
    finally:
        daemon.scheduler.shutdown(wait=False)
