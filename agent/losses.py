"""Samples the agent could not keep (a full disk: the store or a sink's spool cannot be written),
counted per place and said in the log at most once a minute, without a traceback.

The daemon's /healthz is not ok while a place is failing, and says why; /metrics and /status
carry the counts. A successful write to that place ends its failure (and is logged once).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import Counter

log = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds between two log lines about the same place


def is_disk_full(e: BaseException) -> bool:
    """ENOSPC / EDQUOT from the OS, or the same seen through SQLite or PostgreSQL."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:  # SQLAlchemy wraps the driver's error
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(cur)
        if "database or disk is full" in text or "No space left on device" in text:
            return True
        cur = getattr(cur, "orig", None) or cur.__cause__ or cur.__context__
    return False


def short_reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}{f': {e.filename}' if e.filename else ''}"
    orig = getattr(e, "orig", None)  # SQLAlchemy: the driver's own message, without the SQL
    return str(orig if orig is not None else e).splitlines()[0][:300]


class Losses:
    def __init__(self, every: float = LOG_EVERY) -> None:
        self.every = every
        self.lost: Counter[str] = Counter()  # place → samples lost since start
        self.failing: dict[str, str] = {}  # place → the reason, while it fails
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()  # lost since the last log line
        self._lock = threading.Lock()

    def record(self, place: str, samples: int, error: BaseException) -> None:
        """`samples` could not be written to `place` (0: something else, e.g. case clocks)."""
        reason = short_reason(error)
        now = time.monotonic()
        with self._lock:
            self.lost[place] += samples
            self._unlogged[place] += samples
            self.failing[place] = reason
            last = self._logged_at.get(place)
            if last is not None and now - last < self.every:
                return
            self._logged_at[place] = now
            n, self._unlogged[place] = self._unlogged[place], 0
            total = self.lost[place]
        log.error("%s cannot be written (%s): %d samples lost since the last message, %d in all; "
                  "said again at most once a minute", place, reason, n, total)

    def ok(self, place: str) -> None:
        """A write to `place` succeeded: its failure, if any, is over."""
        if place not in self.failing:  # the common case, without the lock
            return
        with self._lock:
            reason = self.failing.pop(place, None)
            n, self._unlogged[place] = self._unlogged[place], 0
            self._logged_at.pop(place, None)
            total = self.lost[place]
        if reason is not None:
            log.warning("%s is written again (%d samples lost since the last message, %d in all)",
                        place, n, total)

    def problems(self) -> list[str]:
        with self._lock:
            return [f"{place}: {reason} ({self.lost[place]} samples lost)"
                    for place, reason in sorted(self.failing.items())]
