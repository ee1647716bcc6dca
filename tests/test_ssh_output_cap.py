"""Huge output through the real sshd: cut off at the cap, UNKNOWN with the reason, and the
device's connection goes on serving its other commands and collectors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import agent.connections.ssh as ssh_mod
from agent.connections.pool import POOL
from agent.executor import Executor
from core.model import CollectionError, Job, Status
from tests.sshdev import device_for, give

pytestmark = pytest.mark.peers


def test_output_over_the_16_mib_cap_is_cut_off_and_the_connection_stays(tmp_path: Path,
                                                                         ssh_peer: Any) -> None:
    assert ssh_mod.MAX_OUTPUT == 16 * 2**20
    # a name of its own: another test's idle connection to the test host is not this one's
    dev = device_for(tmp_path, ssh_peer, ["linux"], name="capped-output")
    opened = POOL.opened_for[dev.name]
    with POOL.lease(dev) as conn:
        t0 = time.monotonic()
        with pytest.raises(CollectionError, match=r"output too large \(more than 16 MiB\)"):
            conn.run("head -c 40000000 /dev/zero")  # 40 MB: more than twice the cap
        assert time.monotonic() - t0 < dev.ssh.command_timeout  # cut off, not read to the end
        assert conn.run("echo still here").stdout == "still here\n"
    with POOL.lease(dev) as conn:
        assert conn.run("echo and again").stdout == "and again\n"
    assert POOL.opened_for[dev.name] == opened + 1  # the same connection all along


def test_collector_with_too_much_output_is_unknown_and_the_next_collector_runs(
        tmp_path: Path, ssh_peer: Any, remote_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The logs collector reads up to max_bytes (4 MiB) of new log as base64 in one exec; with the
    # cap at 1 MiB, a 2 MiB log is too much output.
    monkeypatch.setattr(ssh_mod, "MAX_OUTPUT", 2**20)
    log = remote_dir / "big.log"
    log.write_text("ERROR something went wrong\n" * 80_000)  # ~2 MiB
    give(log, ssh_peer)
    conf = remote_dir / "app.conf"
    conf.write_text("a = 1\n")
    give(conf, ssh_peer)
    dev = device_for(tmp_path, ssh_peer, ["logs", "config"], {
        "logs": {"sources": [{"name": "big", "path": str(log),
                              "patterns": [{"name": "error", "regex": "ERROR"}]}], "start_at": "beginning"},
        "config": {"files": [str(conf)]}}, name="capped-collector")
    ex = Executor()
    opened = POOL.opened_for[dev.name]
    big = ex.run(Job(dev.name, "logs"), dev)
    assert big.status is Status.UNKNOWN
    assert "output too large (more than 1 MiB)" in big.reason, big.reason
    after = ex.run(Job(dev.name, "config"), dev)
    assert after.status is Status.OK, after.reason
    assert POOL.opened_for[dev.name] == opened + 1  # the config collector reused the connection
