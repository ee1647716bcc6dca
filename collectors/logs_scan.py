"""Pure logic of the logs collector: file listings, positions per file identity, byte
allotment, scanning chunks for patterns. No I/O here.

A file is known by its identity (inode), not its path: a log renamed by logrotate
keeps its position under its new name, a new file at the old path is read from its
start, and a truncated file (same inode, smaller than our position) is read again
from its start. So nothing is skipped and nothing is counted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.model import CollectionError
from collectors.redact import redact

MAX_LINE = 300  # characters of one evidence line


@dataclass(frozen=True, slots=True)
class FileInfo:
    inode: int
    size: int
    path: str


def parse_listing(text: str) -> list[FileInfo]:
    """`find … -printf '%i %s %p\\n'`: one file per line (paths may contain spaces)."""
    files = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise CollectionError(f"file listing not understood: {line[:120]!r}")
        files.append(FileInfo(int(parts[0]), int(parts[1]), parts[2]))
    return files


@dataclass(slots=True)
class Plan:
    """Where to start reading each file and how many bytes this cycle."""

    offsets: dict[int, int] = field(default_factory=dict)  # inode -> start
    allot: dict[int, int] = field(default_factory=dict)  # inode -> bytes to read now
    rotated: list[str] = field(default_factory=list)  # new identities at a known path
    truncated: list[str] = field(default_factory=list)
    backlog: int = 0  # bytes left for later cycles


def plan_reads(files: list[FileInfo], known: dict[str, dict[str, object]], first_cycle: bool,
               start_at_end: bool, budget: int) -> Plan:
    """Decide start offsets and allot at most `budget` bytes in total, oldest data first."""
    plan = Plan()
    known_paths = {str(v.get("path")): k for k, v in known.items()}
    for f in files:
        entry = known.get(str(f.inode))
        if entry is None:
            # A file we have never seen: on the very first cycle optionally skip its history;
            # afterwards it is new (created or rotated in) and read whole.
            start = f.size if first_cycle and start_at_end else 0
            if f.path in known_paths:
                plan.rotated.append(f.path)
        else:
            start = int(entry.get("offset", 0))  # type: ignore[call-overload]
            if f.size < start:
                plan.truncated.append(f.path)
                start = 0
        plan.offsets[f.inode] = start
    left = budget
    for f in files:
        pending = f.size - plan.offsets[f.inode]
        take = max(0, min(pending, left))
        plan.allot[f.inode] = take
        left -= take
        plan.backlog += pending - take
    return plan


@dataclass(slots=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    severity: str


@dataclass(slots=True)
class ScanResult:
    counts: dict[str, int]
    evidence: dict[str, list[str]]
    consumed: int  # bytes of the chunk that were whole lines (the position advances by this)


def scan_chunk(chunk: bytes, patterns: list[Pattern], evidence: dict[str, list[str]],
               counts: dict[str, int], max_evidence: int, at_eof_cap: bool, label: str) -> int:
    """Count pattern matches in the whole lines of `chunk`; returns the bytes consumed.

    An unfinished last line (the writer is mid-line) is left for the next cycle, unless the
    chunk holds no newline at all and was cut by the byte cap (a giant line: consumed).
    Bytes that are not UTF-8 are replaced, never fatal.
    """
    end = chunk.rfind(b"\n") + 1
    if end == 0 and at_eof_cap:
        end = len(chunk)
    text = chunk[:end].decode("utf-8", "replace")
    for line in text.splitlines():
        for p in patterns:
            if p.regex.search(line):
                counts[p.name] = counts.get(p.name, 0) + 1
                lines = evidence.setdefault(p.name, [])
                if len(lines) < max_evidence:
                    lines.append(f"{label}: {redact(line.strip())[:MAX_LINE]}")
    return end
