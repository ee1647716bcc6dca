"""Log scanning over SSH: new lines of listed logs, counted per pattern, with evidence.

Two execs per cycle on one connection: list the files (identity, size), then read each
file's new bytes from its position (base64, so offsets are exact bytes whatever the
encoding). Positions live in the collector's state, keyed by file identity; the parts
that decide what to read and how to count are pure (collectors.logs_scan).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collectors.common.batch import Batch
from collectors.common.setting_types import Regex
from collectors.logs_scan import (
    HEAD_BYTES,
    FileInfo,
    Pattern,
    Plan,
    head_lengths,
    parse_listing,
    plan_reads,
    scan_chunk,
)
from collectors.logsets import ENTRY_STARTS, PATTERN_SETS
from core.model import CollectionError, CommandRunner, Sample, Target, now_ns

Severity = Literal["crit", "warn", "info"]


class LogPattern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    regex: Regex
    severity: Severity = "warn"
    ignore_case: bool = False



class LogSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    # An absolute path; the file name part may be a glob (alert_*.log, messages*).
    path: str
    sets: list[Literal["oracle_alert", "weblogic", "syslog"]] = []
    patterns: list[LogPattern] = []
    # A regex matching the first line of an entry: the lines after it that do not match are
    # the rest of that entry (kept whole as evidence). Default: the sets' own (a timestamp
    # line in an alert log, `####<` in WebLogic logs), else indented lines continue an entry.
    entry_start: Regex | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or v.endswith("/") or "\n" in v or "\0" in v:
            raise ValueError("an absolute file path (a glob is allowed in the file name only)")
        if any(c in posixpath.dirname(v) for c in "*?["):
            raise ValueError("a glob is allowed in the file name only, not in the directory")
        return v


    @model_validator(mode="after")
    def _some_patterns(self) -> LogSource:
        names = [p[0] for s in self.sets for p in PATTERN_SETS[s]] + [p.name for p in self.patterns]
        if not names:
            raise ValueError("give `sets` (oracle_alert, weblogic, syslog) or `patterns`")
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"pattern names repeated: {', '.join(sorted(dup))}")
        return self

    def compiled(self) -> list[Pattern]:
        out = [Pattern(n, re.compile(rx), sev) for s in self.sets for n, rx, sev in PATTERN_SETS[s]]
        out += [Pattern(p.name, re.compile(p.regex, re.I if p.ignore_case else 0), p.severity)
                for p in self.patterns]
        return out

    def entry_regex(self) -> re.Pattern[str] | None:
        if self.entry_start is not None:
            return re.compile(self.entry_start)
        # the sets say the file's format (your own patterns add matches, not a format)
        starts = [ENTRY_STARTS.get(s) for s in self.sets]
        if not starts or None in starts:
            return None  # indented lines continue an entry
        return re.compile("|".join(f"(?:{rx})" for rx in dict.fromkeys(starts)))


class LogsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[LogSource] = Field(min_length=1)
    max_bytes: int = Field(default=4 * 2**20, ge=1024, le=8 * 2**20)  # per cycle, all sources
    max_evidence: int = Field(default=10, ge=0, le=100)  # entries kept per pattern per cycle
    # Where to begin in a file seen for the first time on the first cycle: its end (do not
    # report years of history as today's errors) or its beginning.
    start_at: Literal["end", "beginning"] = "end"

    @field_validator("sources")
    @classmethod
    def _unique(cls, v: list[LogSource]) -> list[LogSource]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        return v


# Per file: `INODE SIZE LEN:MD5 … PATH`, the MD5s of its first LEN bytes for LEN = min(size,
# the first length asked) and each other length asked that the file reaches (logs_scan).
_LIST_SCRIPT = (
    'for f do s=$(stat -L -c "%i %s" -- "$f") || continue; z=${s#* }; h=""; [ -r "$f" ] || z=0; '
    'for n in $XJ_LENGTHS; do [ "$n" -gt "$z" ] && n=$z; [ "$n" -gt 0 ] || continue; '
    'm=$(head -c "$n" -- "$f" 2>/dev/null | md5sum 2>/dev/null); h="$h $n:${m%% *}"; done; '
    'printf "%s%s %s\\n" "$s" "$h" "$f"; done')


def listing_command(src: LogSource, lengths: list[int] | None = None) -> str:
    d, base = posixpath.split(src.path)
    ns = " ".join(str(int(n)) for n in (lengths or [HEAD_BYTES]))
    # find, not a shell glob: the pattern is quoted and matched by find, never expanded by sh.
    return (f"XJ_LENGTHS={shlex.quote(ns)} find -L {shlex.quote(d)} -mindepth 1 -maxdepth 1 "
            f"-name {shlex.quote(base)} -type f -exec sh -c {shlex.quote(_LIST_SCRIPT)} sh {{}} +")


def read_command(f: FileInfo, start: int, count: int) -> str:
    # One open file descriptor for the identity check and the read: a rename in between
    # cannot make us read another file under this identity.
    return (f"exec 3< {shlex.quote(f.path)} && stat -L -c %i /dev/fd/3 && "
            f"tail -c +{start + 1} <&3 | head -c {count} | base64 -w0; echo")


class LogsCollector:
    settings_model = LogsSettings
    name = "logs"

    def collect(self, target: Target, conn: CommandRunner | None) -> list[Sample]:
        if conn is None:
            raise CollectionError("the logs collector needs an SSH connection")
        settings: LogsSettings | None = target.settings
        if settings is None:
            raise CollectionError("no settings.logs.sources in the inventory for this device")
        known_all: dict[str, dict] = target.state.setdefault("sources", {})  # type: ignore[type-arg]
        listing = Batch()
        for i, src in enumerate(settings.sources):
            listing.add(f"s{i}", listing_command(
                src, head_lengths(known_all.get(src.name, {}).get("files", {}))))
        out = conn.run(listing.command(), what="log listing batch")
        if out.exit_status != 0:
            raise CollectionError(f"log listing batch exited {out.exit_status}: {out.stderr.strip()[:200]}")
        listed = listing.parse(out.stdout)

        budget = settings.max_bytes
        per_source: list[tuple[LogSource, list[FileInfo], str, Plan]] = []
        reads = Batch()
        jobs: list[tuple[int, FileInfo, int, int]] = []  # (source index, file, start, count)
        for i, src in enumerate(settings.sources):
            sec = listed[f"s{i}"]
            files = parse_listing(sec.text) if sec.status == 0 else []
            status = "ok" if sec.status == 0 and files else ("no_files" if sec.status == 0 else "missing")
            first = src.name not in known_all
            known = known_all.get(src.name, {}).get("files", {})
            plan = plan_reads(files, known, first, settings.start_at == "end", budget)
            budget -= sum(plan.allot.values())
            for f in files:
                if plan.allot[f.inode] > 0:
                    jobs.append((i, f, plan.offsets[f.inode], plan.allot[f.inode]))
                    reads.add(f"r{len(jobs) - 1}", read_command(f, plan.offsets[f.inode],
                                                                 plan.allot[f.inode]))
            error = "" if sec.status == 0 else (sec.text.strip().splitlines() or ["?"])[-1][:200]
            per_source.append((src, files, status if not error else f"missing: {error}", plan))

        chunks: dict[int, bytes | None] = {}
        if jobs:
            out = conn.run(reads.command(), what="log read batch")
            if out.exit_status != 0:
                raise CollectionError(f"log read batch exited {out.exit_status}: {out.stderr.strip()[:200]}")
            got = reads.parse(out.stdout)
            for j, (_, f, _, _) in enumerate(jobs):
                chunks[j] = _decode(got[f"r{j}"].text, got[f"r{j}"].status, f.inode)

        t = now_ns()
        samples: list[Sample] = []
        new_state: dict[str, dict] = {}  # type: ignore[type-arg]
        for i, (src, files, status, plan) in enumerate(per_source):
            counts: dict[str, int] = {}
            evidence: dict[str, list[str]] = {}
            positions = {str(f.inode): {"offset": plan.offsets[f.inode], "path": f.path,
                                        **({"head": f.head} if f.head else {})} for f in files}
            bytes_read, unreadable = 0, []
            patterns = src.compiled()
            start_rx = src.entry_regex()
            for j, (si, f, start, count) in enumerate(jobs):
                if si != i:
                    continue
                chunk = chunks[j]
                if chunk is None:  # unreadable or replaced since the listing: try next cycle
                    unreadable.append(f.path)
                    positions[str(f.inode)]["offset"] = start
                    continue
                consumed = scan_chunk(chunk, patterns, evidence, counts, settings.max_evidence,
                                      at_eof_cap=len(chunk) >= count, label=posixpath.basename(f.path),
                                      start=start_rx)
                positions[str(f.inode)]["offset"] = start + consumed
                bytes_read += consumed
            new_state[src.name] = {"files": positions}
            backlog = plan.backlog + sum(c - len(chunks[j] or b"") for j, (si, _, _, c) in enumerate(jobs)
                                         if si == i and chunks[j] is not None)
            if unreadable and status == "ok":
                status = "unreadable"
            notes = []
            if plan.rotated:
                notes.append(f"rotated: {', '.join(plan.rotated)}")
            if plan.copies:
                notes.append(f"rotated copy, read on from the original's position: {', '.join(plan.copies)}")
            if plan.truncated:
                notes.append(f"truncated, read from start: {', '.join(plan.truncated)}")
            if plan.backlog:
                notes.append(f"partial: {plan.backlog} bytes left for the next cycle (max_bytes)")
            if unreadable:
                notes.append(f"could not read: {', '.join(unreadable)}")
            target.evidence.append(f"{src.name}: {src.path}: {len(files)} files, {bytes_read} new bytes read")
            samples.append(Sample("logs_source", {"host": target.name, "source": src.name}, {
                "status": status, "files": len(files), "bytes_read": bytes_read,
                "backlog_bytes": backlog, "partial": bool(backlog),
                "rotated": len(plan.rotated), "truncated": len(plan.truncated), "copies": len(plan.copies),
                "note": "; ".join(notes),
            }, t, f"{src.path}: {len(files)} files, {bytes_read} new bytes read"
                  + (f"; {'; '.join(notes)}" if notes else "")
                  + (f"; {status}" if status != "ok" else "")))
            for p in patterns:
                n = counts.get(p.name, 0)
                fields: dict[str, float | int | str | bool] = {"count": n}
                if p.severity in ("crit", "warn"):
                    fields[f"matches_{p.severity}"] = n
                if n:
                    excerpt = fields["lines"] = _joined(evidence.get(p.name, []))
                else:
                    excerpt = f"{src.path}: no new line matches {p.name} ({bytes_read} new bytes read)"
                samples.append(Sample("logs", {
                    "host": target.name, "source": src.name, "pattern": p.name, "severity": p.severity,
                    "match": f"{src.name}/{p.name}"}, fields, t, excerpt))
        target.state["sources"] = new_state
        return samples


LINES_CHARS = 16_000  # the matching entries of one pattern in one cycle, at most


def _joined(entries: list[str]) -> str:
    """The entries kept for a pattern, within LINES_CHARS (the count field says how many
    lines matched in all)."""
    out, size = [], 0
    for e in entries:
        if size + len(e) > LINES_CHARS:
            break
        out.append(e)
        size += len(e) + 1
    return "\n".join(out)


def _decode(text: str, status: int, inode: int) -> bytes | None:
    """The read section: first line the inode of the opened file, then base64."""
    if status != 0:
        return None
    first, _, rest = text.partition("\n")
    if first.strip() != str(inode):
        return None
    try:
        return base64.b64decode(rest.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CollectionError(f"log read output is not base64: {rest[:60]!r}") from None
