"""The on-disk spool: ordered, bounded, drops counted and never silent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.sinks.spool import Spool


def test_batches_come_back_oldest_first_and_whole(tmp_path: Path) -> None:
    s = Spool(tmp_path, 10_000)
    s.append_bytes(b"a 1\na 2\n")
    s.append_bytes(b"b 1\n")
    s.append_bytes(b"c 1\nc 2\nc 3\n")
    files, body = s.take(max_lines=3)
    assert body == b"a 1\na 2\nb 1\n" and len(files) == 2
    s.remove(files)
    files, body = s.take(max_lines=1)  # a batch is never split, even over the limit
    assert body == b"c 1\nc 2\nc 3\n"
    s.remove(files)
    assert s.take(10) == ([], b"") and s.size == 0


def test_survives_restart(tmp_path: Path) -> None:
    Spool(tmp_path, 10_000).append_bytes(b"x 1\n")
    s = Spool(tmp_path, 10_000)
    s.append_bytes(b"y 1\n")
    assert s.take(10)[1] == b"x 1\ny 1\n"


def test_bound_drops_oldest_counted_and_logged(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    s = Spool(tmp_path, max_bytes=40)
    with caplog.at_level(logging.ERROR):
        for i in range(10):
            s.append_bytes(f"m{i} v=1\n".encode())  # 8 bytes each
    assert s.size <= 40
    _, body = s.take(100)
    kept = body.decode().split()
    assert kept[-2:] == ["m9", "v=1"] and "m0" not in kept  # newest kept, oldest dropped
    assert s.dropped == 10 - len(kept) // 2
    assert "dropped" in caplog.text and Spool(tmp_path, 40).dropped == s.dropped


def test_batches_spooled_by_an_older_version_are_still_sent(tmp_path: Path) -> None:
    # Before the line count went into the name a batch was `<seq>.lp`: an upgrade must still
    # send those first, count their lines and go on numbering after them.
    (tmp_path / f"{7:016d}.lp").write_bytes(b"old 1\nold 2\n")
    s = Spool(tmp_path, 10_000)
    s.append_bytes(b"new 1\n")
    (new,) = [f for f in tmp_path.glob("*.lp") if not f.name.startswith(f"{7:016d}")]
    assert new.name == f"{8:016d}-1.lp"
    files, body = s.take(max_lines=2)
    assert body == b"old 1\nold 2\n" and len(files) == 1  # 2 lines counted: the new batch waits
    s.remove(files)
    assert s.take(10)[1] == b"new 1\n"
