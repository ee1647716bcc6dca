"""Files on the device, the safe way: roots resolved there (realpath), listed with
`find -P` (symlinks never followed), and every action re-checks the file first
(same inode, size and mtime, still its own real path) — so the plan is what runs."""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from typing import Any

from agent.playbook.remote import Remote, StepFailed, q

FIND_FORMAT = r"%i\t%s\t%T@\t%p\0"


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime: float
    inode: int
    root: str
    pattern: str

    @property
    def compressed(self) -> bool:
        return self.path.endswith(".gz")

    @property
    def identity(self) -> str:
        return f"{self.inode}:{self.size}:{int(self.mtime)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def realpath(remote: Remote, path: str, timeout: float) -> str | None:
    out = remote.run(f"realpath -e -- {q(path)}", timeout)
    real = out.stdout.rstrip("\n")
    return real if out.exit_status == 0 and real.startswith("/") and "\n" not in real else None


def resolve_roots(remote: Remote, allowed: list[str], wanted: list[str],
                  timeout: float) -> tuple[list[str], list[str]]:
    """(real roots to work in, refusals). Each wanted root must be absolute and resolve, on
    the device, to an allowed root or a directory under one. An allowed root must be its own
    real path: one that is (or passes through) a symlink is refused, not followed — whoever
    can replace that link would choose what the playbook deletes."""
    if not allowed:
        return [], ["the device's inventory allows no roots (remediation.allowed_roots)"]
    real_allowed, refusals = [], []
    for a in allowed:
        real = realpath(remote, a, timeout)
        if real is not None and real != a.rstrip("/"):
            refusals.append(f"allowed root {a} is a symlink or passes through one (it resolves to "
                            f"{real}): remediation.allowed_roots must name real directories; refused")
        elif real is not None:
            real_allowed.append(real)
    roots: list[str] = []
    for root in wanted or allowed:
        if not root.startswith("/"):
            refusals.append(f"root {root}: a relative root is refused (it would be resolved against "
                            "the login directory): give an absolute path")
            continue
        real = realpath(remote, root, timeout)
        if real is None:
            refusals.append(f"root {root}: does not exist on the device")
        elif not any(inside(real, a) for a in real_allowed):
            shown = f"{root} (resolves to {real})" if real != root else root
            refusals.append(f"root {shown} is not under an allowed root ({', '.join(allowed)}): refused")
        elif real not in roots:
            roots.append(real)
    return roots, refusals


def find_command(root: str, patterns: list[str]) -> str:
    names: list[str] = []
    for i, p in enumerate(patterns):
        names += (["-o"] if i else []) + ["-name", q(p)]
    return f"find -P {q(root)} -type f \\( {' '.join(names)} \\) -printf {q(FIND_FORMAT)}"


def find(remote: Remote, root: str, patterns: list[str], timeout: float) -> list[FileEntry]:
    out = remote.run(find_command(root, patterns), timeout)
    if out.exit_status != 0 and not out.stdout:
        raise StepFailed(f"find in {root} failed: {out.stderr.strip()[:300]}")
    found = []
    for record in out.stdout.split("\0"):
        if not record:
            continue
        inode, size, mtime, path = record.split("\t", 3)
        if not inside(path, root) or path == root:
            continue  # find -P never leaves the root; refuse anything that claims to
        base = path.rsplit("/", 1)[1]
        pattern = next((p for p in patterns if fnmatch.fnmatchcase(base, p)), patterns[0])
        found.append(FileEntry(path, int(size), float(mtime), int(inode), root, pattern))
    return found


def select(files: list[FileEntry], now: float, older_than_days: int | None, larger_than: int | None,
           combine: str, keep_newest: int) -> tuple[list[FileEntry], int]:
    """(files to act on, how many were kept as the newest of their pattern)."""
    groups: dict[tuple[str, str], list[FileEntry]] = {}
    for f in files:
        groups.setdefault((f.root, f.pattern), []).append(f)
    chosen, kept = [], 0
    for members in groups.values():
        members.sort(key=lambda f: (f.mtime, f.path), reverse=True)
        kept += min(keep_newest, len(members))
        for f in members[keep_newest:]:
            tests = []
            if older_than_days is not None:
                tests.append(f.mtime < now - older_than_days * 86400)
            if larger_than is not None:
                tests.append(f.size > larger_than)
            if not tests:
                continue  # no criterion: nothing is selected
            if all(tests) if combine == "and" else any(tests):
                chosen.append(f)
    chosen.sort(key=lambda f: f.path)
    return chosen, kept


def _guard(f: FileEntry) -> str:
    p = q(f.path)
    return (f'[ "$(stat -c %i:%s:%Y -- {p} 2>/dev/null)" = {q(f.identity)} ] && '
            f'[ "$(realpath -e -- {p} 2>/dev/null)" = {p} ]')


def delete_command(i: int, f: FileEntry) -> str:
    return f"if {_guard(f)}; then rm -f -- {q(f.path)} && echo ok {i}; else echo changed {i}; fi"


def compress_command(i: int, f: FileEntry) -> str:
    p, gz = q(f.path), q(f.path + ".gz")
    return (f"if {_guard(f)} && [ ! -e {gz} ]; then gzip -n -- {p} && echo ok {i} "
            f"$(stat -c %s -- {gz}); else echo changed {i}; fi")


def run_batch(remote: Remote, commands: list[str], timeout: float) -> dict[int, list[str]]:
    """Run per-file commands in one session; {index: ['ok', extra…] | ['changed']}."""
    if not commands:
        return {}
    out = remote.run("\n".join(commands), timeout)
    results: dict[int, list[str]] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("ok", "changed") and parts[1].isdigit():
            results[int(parts[1])] = [parts[0], *parts[2:]]
    return results
