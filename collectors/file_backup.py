"""File-based backups over SSH: per listed backup, the newest file matching a glob in one
directory (a dump, an archive, a tarball), its age by the server's clock, its size, and its
growth against the newest file seen the cycle before (a backup that shrank by half is
usually a backup that broke).

One exec per cycle (collectors.common.batch). GNU find's -printf does the listing: Linux servers.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectors.common.batch import Batch, Section
from core.model import CollectionError, CommandRunner, Sample, Target, now_ns

GLOB_CHARS = set("*?[]")


class FileBackup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")  # the verdicts' instance
    # An absolute directory (no wildcard) and a file name pattern: /backup/db/full_*.dmp.gz
    glob: str
    recursive: bool = False  # also look in the directory's subdirectories

    @field_validator("glob")
    @classmethod
    def _glob(cls, v: str) -> str:
        folder, _, pattern = v.rpartition("/")
        if not v.startswith("/") or "\n" in v or "\0" in v or not pattern:
            raise ValueError("an absolute path ending in a file name pattern, e.g. /backup/db/full_*.dmp.gz")
        if GLOB_CHARS & set(folder):
            raise ValueError("wildcards only in the file name, not in the directory "
                             "(use recursive: true to look below it)")
        return v


class FileBackupSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    backups: list[FileBackup] = Field(min_length=1)

    @field_validator("backups")
    @classmethod
    def _unique(cls, v: list[FileBackup]) -> list[FileBackup]:
        names = [b.name for b in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"backup name given twice: {', '.join(dup)}")
        return v


NO_DIR, NO_READ = 4, 5  # the snippet's exit codes for a missing / unreadable directory


def snippet(b: FileBackup) -> str:
    folder, _, pattern = b.glob.rpartition("/")
    d = shlex.quote(folder or "/")
    depth = "" if b.recursive else " -maxdepth 1"
    # the newest file by mtime and the count, in awk: a directory of 10 000 dumps is one line
    return (f"[ -d {d} ] || exit {NO_DIR}; {{ [ -r {d} ] && [ -x {d} ]; }} || exit {NO_READ}; "
            f"find {d}{depth} -type f -name {shlex.quote(pattern)} -printf 'F|%T@|%s|%p\\n' | "
            "awk -F'|' '$1==\"F\"{n++; if(n==1||$2+0>t+0){t=$2;l=$0}; next} {print} "
            "END{print \"N|\" n+0; if(n) print l}'")


@dataclass(slots=True)
class Found:
    status: str  # ok | missing | empty | unreadable
    files: int = 0
    path: str = ""
    mtime: float = 0.0
    size: int = 0
    note: str = ""  # what the server said (a missing directory, a find error)


def parse_section(sec: Section, glob: str) -> Found:
    folder = glob.rpartition("/")[0] or "/"
    if sec.status == NO_DIR:
        return Found("missing", note=f"directory {folder} does not exist")
    if sec.status == NO_READ:
        return Found("unreadable", note=f"directory {folder} cannot be read by the SSH user")
    count, newest, other = None, None, []
    for line in sec.text.splitlines():
        if line.startswith("N|"):
            count = line[2:]
        elif line.startswith("F|"):
            newest = line.split("|", 3)
        elif line.strip():
            other.append(line.strip())
    if sec.status != 0 or count is None or not count.isdigit():
        return Found("unreadable", note=(other or [f"exit {sec.status}"])[0][:200])
    if newest is None or len(newest) != 4:
        return Found("missing", note=f"no file matches {glob}")
    try:
        mtime, size = float(newest[1]), int(newest[2])
    except ValueError:
        raise CollectionError(f"file backup listing not understood: {newest!r}") from None
    return Found("empty" if size == 0 else "ok", int(count), newest[3], mtime, size,
                 other[0][:200] if other else "")


class FileBackupCollector:
    settings_model = FileBackupSettings
    name = "file_backup"

    def collect(self, target: Target, conn: CommandRunner | None) -> list[Sample]:
        if conn is None:
            raise CollectionError("the file_backup collector needs an SSH connection")
        s: FileBackupSettings | None = target.settings
        if s is None:
            raise CollectionError("no settings.file_backup (backups: [{name, glob}]) in the inventory "
                                  "for this device")
        batch = Batch()
        batch.add("now", "date +%s")
        for i, b in enumerate(s.backups):
            batch.add(f"b{i}", snippet(b))
        out = conn.run(batch.command(), what="file backup listing")
        sections = batch.parse(out.stdout)
        try:
            now = int(sections["now"].text.strip())
        except ValueError:
            raise CollectionError(f"the server's clock was not read: {sections['now'].text[:60]!r}") from None
        t = now_ns()
        samples = []
        memory = target.state.setdefault("backups", {})
        for i, b in enumerate(s.backups):
            found = parse_section(sections[f"b{i}"], b.glob)
            samples.append(sample(target.name, b, found, now, memory, t))
            if found.note:
                target.evidence.append(f"{b.name}: {found.note}")
        return samples


def sample(host: str, b: FileBackup, f: Found, now: int, memory: dict[str, dict[str, object]],
           t: int) -> Sample:
    """The `backup` sample of one file backup; `memory` (the collector's state) keeps the
    newest file's path and size, and the size of the one before it, between cycles."""
    tags = {"host": host, "source": "file", "type": "file", "instance": b.name, "glob": b.glob}
    fields: dict[str, float | int | str | bool] = {"status": f.status, "files": f.files}
    if f.note:
        fields["note"] = f.note
    if f.status not in ("ok", "empty"):
        return Sample("backup", tags, fields, t)
    fields.update(newest=f.path, size_bytes=f.size, age_hours=round(max(now - f.mtime, 0) / 3600, 2))
    seen = memory.get(b.name) or {}
    # The same file unchanged since the last cycle keeps its comparison with the one before
    # it; a new file, or the same name rewritten (a backup that always writes latest.tar.gz),
    # is compared with the last one seen.
    unchanged = seen.get("path") == f.path and seen.get("mtime") == f.mtime
    previous = seen.get("previous") if unchanged else seen.get("size")
    if isinstance(previous, int) and previous > 0:
        fields["previous_size_bytes"] = previous
        fields["growth_percent"] = round(100.0 * (f.size - previous) / previous, 2)
    memory[b.name] = {"path": f.path, "size": f.size, "mtime": f.mtime,
                      "previous": previous if isinstance(previous, int) else None}
    return Sample("backup", tags, fields, t)
