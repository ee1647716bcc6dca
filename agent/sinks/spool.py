"""A bounded on-disk spool of line-protocol batches, drained oldest first.

Every batch for InfluxDB is written here before it is sent, so an outage, a slow
server or a restart of the agent loses nothing. When the bound is hit the oldest
batches are dropped, and the drop is counted (persisted) and logged — never silent.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        files = self._files()
        self._seq = _seq(files[-1]) + 1 if files else 1
        self._bytes = sum(f.stat().st_size for f in files)

    def _files(self) -> list[Path]:
        # names sort by their zero-padded sequence number; scandir, not glob: this runs for
        # every batch the sender takes
        with os.scandir(self.dir) as it:
            return [self.dir / n for n in sorted(e.name for e in it if e.name.endswith(".lp"))]

    def append_bytes(self, data: bytes, lines: int | None = None) -> None:
        """One batch: UTF-8 line protocol, every line ending in a newline; `lines`, when the
        caller knows it, saves counting them."""
        if not data:
            return
        if lines is None:
            lines = data.count(b"\n")
        with self._lock:
            # the line count in the name: the sender and the bound need it without reading
            path = self.dir / f"{self._seq:016d}-{lines}.lp"
            self._seq += 1
            tmp = path.with_suffix(".tmp")
            try:
                with tmp.open("wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:  # a full disk: leave no half batch taking the space of whole ones
                tmp.unlink(missing_ok=True)
                raise
            tmp.rename(path)  # a reader never sees half a batch
            self._bytes += len(data)
            self._enforce_bound()

    def _enforce_bound(self) -> None:
        if self._bytes <= self.max_bytes:
            return
        dropped_lines = 0
        for f in self._files()[:-1]:  # never drop the batch just written
            if self._bytes <= self.max_bytes:
                break
            size = f.stat().st_size
            dropped_lines += _lines(f)
            f.unlink()
            self._bytes -= size
        if dropped_lines:
            total = self.dropped + dropped_lines
            (self.dir / "dropped.count").write_text(str(total))
            log.error("spool %s over its bound of %d bytes: dropped the %d oldest samples "
                      "(%d dropped in total)", self.dir, self.max_bytes, dropped_lines, total)

    def take(self, max_lines: int) -> tuple[list[Path], bytes]:
        """The oldest batches, whole, up to about max_lines lines (at least one batch)."""
        with self._lock:
            chosen: list[Path] = []
            lines = 0
            for f in self._files():
                n = _lines(f)
                if chosen and lines + n > max_lines:
                    break
                chosen.append(f)
                lines += n
            return chosen, b"".join(f.read_bytes() for f in chosen)  # one batch: no copy

    def remove(self, files: list[Path]) -> None:
        with self._lock:
            for f in files:
                try:
                    self._bytes -= f.stat().st_size
                    f.unlink()
                except FileNotFoundError:
                    continue

    def set_aside(self, files: list[Path], reason: str) -> None:
        """Move batches the server rejected for good into rejected/, with the reason."""
        rejected = self.dir / "rejected"
        rejected.mkdir(exist_ok=True)
        with self._lock:
            for f in files:
                self._bytes -= f.stat().st_size
                f.rename(rejected / f.name)
                (rejected / f"{f.stem}.reason").write_text(reason[:2000])

    def files(self) -> list[Path]:
        """The batches waiting, oldest first."""
        return self._files()

    @property
    def pending(self) -> int:
        return len(self._files())

    @property
    def size(self) -> int:
        return self._bytes

    @property
    def dropped(self) -> int:
        p = self.dir / "dropped.count"
        return int(p.read_text()) if p.exists() else 0


def _seq(f: Path) -> int:
    return int(f.name[:16])


def _lines(f: Path) -> int:
    """Lines in a batch: from its name (`<seq>-<lines>.lp`), or counted for a batch spooled by
    a version that named it `<seq>.lp`."""
    _, sep, rest = f.name.partition("-")
    return int(rest[:-3]) if sep else f.read_bytes().count(b"\n")
