"""One playbook per device at a time, across processes: flock on <data>/locks/<device>.lock.

The holder writes who and what into the file, so the one refused can say why.
The kernel drops the lock when the holder exits, even on kill -9: no stale locks.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType


class DeviceBusy(Exception):
    """Another playbook holds the device."""


class DeviceLock:
    def __init__(self, data_dir: Path, device: str, playbook: str, actor: str) -> None:
        self.path = Path(data_dir) / "locks" / f"{device}.lock"
        self.device, self.playbook, self.actor = device, playbook, actor
        self._fd: int | None = None

    def __enter__(self) -> DeviceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise DeviceBusy(f"device busy: {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"playbook": self.playbook, "actor": self.actor, "pid": os.getpid(),
                                 "since": time.time()}).encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    try:
        doc = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        doc = {}
    if not doc:
        return "another playbook is running on it"
    since = datetime.fromtimestamp(float(doc.get("since", 0))).strftime("%Y-%m-%d %H:%M:%S")
    return (f"playbook {doc.get('playbook', '?')} by {doc.get('actor', '?')} since {since} "
            f"(pid {doc.get('pid', '?')})")
