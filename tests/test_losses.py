"""agent/losses.py: what a full disk kept the agent from writing — counted, said at most once per
interval, recognised through SQLite and SQLAlchemy as well as from the OS."""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent.losses import Losses, is_disk_full
from tests.peers import wait_until


def test_said_once_per_interval_counted_and_cleared(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agent.losses")
    losses = Losses(every=0.3)
    full = OSError(errno.ENOSPC, "No space left on device", "/var/x")
    t0 = time.monotonic()
    for _ in range(50):
        losses.record("store", 3, full)
    assert [r.getMessage() for r in caplog.records] == [
        "store cannot be written (No space left on device: /var/x): 3 samples lost since the last "
        "message, 3 in all; said again at most once a minute"]
    assert losses.problems() == ["store: No space left on device: /var/x (150 samples lost)"]
    wait_until(lambda: time.monotonic() - t0 > 0.3, timeout=5)
    losses.record("store", 3, full)
    assert len(caplog.records) == 2 and "150 samples lost since the last message, 153 in all" in \
        caplog.records[1].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    losses.ok("store")
    losses.ok("store")
    assert losses.problems() == [] and losses.lost["store"] == 153
    assert caplog.records[-1].getMessage() == "store is written again (0 samples lost since the last " \
        "message, 153 in all)" and len(caplog.records) == 3


def test_disk_full_recognised_through_the_store_layers(tmp_path: Path) -> None:
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v)")
    with pytest.raises(sa.exc.OperationalError) as info, engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO nope VALUES (1)")
    assert not is_disk_full(info.value)
    wrapped = sa.exc.OperationalError("INSERT …", {}, Exception("database or disk is full"))
    assert is_disk_full(wrapped)
