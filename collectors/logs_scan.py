"""Pure logic of the logs collector: file listings, positions per file identity, byte
allotment, scanning chunks for patterns. No I/O here.

A file is known by its identity (inode) and by its content: the listing gives a fingerprint
of each file's head (an MD5 of its first bytes). A log renamed by logrotate keeps its inode
and its position under its new name; a new file at the old path is read from its start; a
file whose inode we know but that is shorter than our position, or whose head changed, was
truncated (copytruncate) and is read again from its start; and a new file whose head is the
head of such a truncated (or vanished) file is its rotated copy, read on from where the
original was read to. So nothing is skipped and nothing is counted twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from collectors.common.redact import redact
from core.model import CollectionError

HEAD_BYTES = 1024  # how much of a file's head identifies its content
MAX_ENTRY = 2000  # characters of one evidence entry (a log entry with its continuation lines)
MAX_LENGTHS = 8  # distinct head lengths asked for per source (small files' fingerprints)

_RANK = {"crit": 2, "warn": 1, "info": 0}
# ORA-1653 is ORA-01653: Oracle prints both forms (alert logs often the short one).
_UNPADDED = re.compile(r"\b(ORA|TNS)-([0-9]{1,4})\b")
# Without an entry_start: a line that begins with white space, "Caused by:" or "... N more"
# continues the entry above it (a Java stack trace, a wrapped message).
_CONTINUATION = re.compile(r"^(?:\s|Caused by:|\.\.\. \d+ (?:more|common frames omitted))")
_HEAD = re.compile(r"([0-9]{1,7}):([0-9a-f]*)")


@dataclass(frozen=True, slots=True)
class FileInfo:
    inode: int
    size: int
    path: str
    heads: dict[int, str] = field(default_factory=dict)  # length -> MD5 of the first `length` bytes

    @property
    def head(self) -> list[int | str] | None:
        """The fingerprint kept in the state: [length, md5] of the first min(size, HEAD_BYTES)."""
        n = min(self.size, HEAD_BYTES)
        h = self.heads.get(n)
        return [n, h] if n > 0 and h else None


def parse_listing(text: str) -> list[FileInfo]:
    """One file per line: `INODE SIZE [LEN:MD5 …] PATH` (paths may contain spaces; they are
    absolute, so the first word starting with '/' begins the path)."""
    files = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise CollectionError(f"file listing not understood: {line[:120]!r}")
        rest, heads = parts[2], {}
        while not rest.startswith("/"):
            word, _, rest = rest.partition(" ")
            m = _HEAD.fullmatch(word)
            if m is None or not rest:
                raise CollectionError(f"file listing not understood: {line[:120]!r}")
            if m[2]:
                heads[int(m[1])] = m[2]
        files.append(FileInfo(int(parts[0]), int(parts[1]), rest, heads))
    return files


def head_lengths(known: dict[str, dict[str, object]]) -> list[int]:
    """The head lengths the listing must hash: HEAD_BYTES, and the shorter fingerprints of
    files that were small when last seen (a copy of a 300-byte log is recognised by 300 bytes)."""
    small = sorted({int(h[0]) for e in known.values() if isinstance(h := e.get("head"), list)
                    and 0 < int(h[0]) < HEAD_BYTES})
    return [HEAD_BYTES, *small[:MAX_LENGTHS - 1]]


@dataclass(slots=True)
class Plan:
    """Where to start reading each file and how many bytes this cycle."""

    offsets: dict[int, int] = field(default_factory=dict)  # inode -> start
    allot: dict[int, int] = field(default_factory=dict)  # inode -> bytes to read now
    rotated: list[str] = field(default_factory=list)  # new identities at a known path
    truncated: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # new files recognised as rotated copies
    backlog: int = 0  # bytes left for later cycles


def _head_of(entry: dict[str, object]) -> tuple[int, str] | None:
    h = entry.get("head")
    if isinstance(h, list) and len(h) == 2 and isinstance(h[0], int) and h[0] > 0 and h[1]:
        return h[0], str(h[1])
    return None


def _replaced(entry: dict[str, object], f: FileInfo, offset: int) -> bool:
    """Same inode, other content: shorter than our position, or another head."""
    if f.size < offset:
        return True
    head = _head_of(entry)
    if head is None or f.size < head[0]:
        return False
    now = f.heads.get(head[0])
    return now is not None and now != head[1]


def plan_reads(files: list[FileInfo], known: dict[str, dict[str, object]], first_cycle: bool,
               start_at_end: bool, budget: int) -> Plan:
    """Decide start offsets and allot at most `budget` bytes in total, oldest data first."""
    plan = Plan()
    known_paths = {str(v.get("path")): k for k, v in known.items()}
    listed = {str(f.inode) for f in files}
    # Known contents that left their inode this cycle (truncated in place, or the file is
    # gone): a new file with their head is their copy.
    left: list[dict[str, object]] = [e for k, e in known.items() if k not in listed]
    for f in files:
        entry = known.get(str(f.inode))
        if entry is None:
            continue
        offset = int(entry.get("offset", 0))  # type: ignore[call-overload]
        if _replaced(entry, f, offset):
            plan.truncated.append(f.path)
            left.append(entry)
            offset = 0
        plan.offsets[f.inode] = offset
    for f in files:
        if f.inode in plan.offsets:
            continue
        origin = _copy_of(f, left)
        if origin is not None:
            # The rotated copy of content we read up to `offset`: only what follows is new.
            left.remove(origin)
            start = min(int(origin.get("offset", 0)), f.size)  # type: ignore[call-overload]
            plan.copies.append(f.path)
        else:
            # A file we have never seen: on the very first cycle optionally skip its history;
            # afterwards it is new (created or rotated in) and read whole.
            start = f.size if first_cycle and start_at_end else 0
            if f.path in known_paths:
                plan.rotated.append(f.path)
        plan.offsets[f.inode] = start
    rest = budget
    for f in files:
        pending = f.size - plan.offsets[f.inode]
        take = max(0, min(pending, rest))
        plan.allot[f.inode] = take
        rest -= take
        plan.backlog += pending - take
    return plan


def _copy_of(f: FileInfo, candidates: list[dict[str, object]]) -> dict[str, object] | None:
    for e in candidates:
        head = _head_of(e)
        if head is not None and f.size >= head[0] and f.heads.get(head[0]) == head[1]:
            return e
    return None


@dataclass(slots=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    severity: str


def normalise(line: str) -> str:
    """ORA-1653 → ORA-01653 (and TNS-): what the patterns are matched against."""
    if "ORA-" in line or "TNS-" in line:
        return _UNPADDED.sub(lambda m: f"{m[1]}-{int(m[2]):05d}", line)
    return line


def best_match(line: str, patterns: list[Pattern]) -> Pattern | None:
    """The one pattern a line counts for: the first of the highest severity that matches
    (an ORA-00600 line is an internal error, not also a plain ORA- error)."""
    best: Pattern | None = None
    for p in patterns:
        if (best is None or _RANK[p.severity] > _RANK[best.severity]) and p.regex.search(line):
            best = p
            if p.severity == "crit":
                break
    return best


def entries(lines: list[str], start: re.Pattern[str] | None) -> list[list[str]]:
    """Lines grouped into log entries: with `start`, a line that does not match it continues
    the entry above; without, continuation lines are those _CONTINUATION names."""
    out: list[list[str]] = []
    for line in lines:
        begins = start.search(line) is not None if start is not None else not _CONTINUATION.match(line)
        if begins or not out:
            out.append([line])
        else:
            out[-1].append(line)
    return out


def render_entry(lines: list[str], hit: int, label: str, cap: int = MAX_ENTRY) -> str:
    """An entry as evidence: `label: ` and its lines, secrets redacted, at most `cap`
    characters; when it is longer, its first line, then the lines from the match on."""
    clean = [redact(ln.rstrip()) for ln in lines]
    text = "\n".join(clean)
    if len(text) + len(label) + 2 <= cap:
        return f"{label}: {text}"
    keep = [clean[0]] + (["…"] if hit > 1 else []) + (clean[hit:] if hit > 0 else clean[1:])
    out, size = [], len(label) + 2
    for i, ln in enumerate(keep):
        if size + len(ln) + 1 > cap:
            more = len(keep) - i
            room = cap - size - 20
            if room > 40 and i <= 2:  # a giant line: its beginning, cut
                out.append(ln[:room] + "…")
                more -= 1
            if more:
                out.append(f"… ({more} more lines)")
            break
        out.append(ln)
        size += len(ln) + 1
    return f"{label}: " + "\n".join(out)


def scan_chunk(chunk: bytes, patterns: list[Pattern], evidence: dict[str, list[str]],
               counts: dict[str, int], max_evidence: int, at_eof_cap: bool, label: str,
               start: re.Pattern[str] | None = None) -> int:
    """Count pattern matches in the whole lines of `chunk`; returns the bytes consumed.

    Each line counts once, for its best pattern (best_match). The evidence of a pattern is the
    whole entries its lines are in (the SQL after ORA-01555, a stack trace), at most
    `max_evidence` per pattern. An unfinished last line (the writer is mid-line) is left for
    the next cycle, unless the chunk holds no newline at all and was cut by the byte cap (a
    giant line: consumed). Bytes that are not UTF-8 are replaced, never fatal.
    """
    end = chunk.rfind(b"\n") + 1
    if end == 0 and at_eof_cap:
        end = len(chunk)
    text = chunk[:end].decode("utf-8", "replace")
    for entry in entries(text.splitlines(), start):
        hits: dict[str, int] = {}
        for i, line in enumerate(entry):
            p = best_match(normalise(line), patterns)
            if p is not None:
                counts[p.name] = counts.get(p.name, 0) + 1
                hits.setdefault(p.name, i)
        for name, i in hits.items():
            kept = evidence.setdefault(name, [])
            if len(kept) < max_evidence:
                kept.append(render_entry(entry, i, label))
    return end
