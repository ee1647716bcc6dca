"""Filesystem usage records and their Telegraf-compatible `disk` samples."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Sample

# Telegraf's default ignore_fs plus the kernel's pseudo filesystems.
PSEUDO_FS = frozenset({
    "tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs", "proc", "sysfs",
    "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf",
    "autofs", "configfs", "fusectl", "hugetlbfs", "nsfs", "rpc_pipefs", "binfmt_misc", "efivarfs",
    "ramfs", "selinuxfs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "nfsd", "none",
})


@dataclass(slots=True)
class FsUsage:
    device: str
    fstype: str
    path: str
    total: int  # bytes
    used: int
    free: int  # available to unprivileged users, as df shows it
    inodes_total: int | None = None
    inodes_used: int | None = None
    inodes_free: int | None = None
    excerpt: str = ""  # the df rows (or psutil's figures, df-like) this record came from

    @property
    def used_percent(self) -> float:
        # Telegraf: used / (used + free), so reserved blocks count as unavailable
        denom = self.used + self.free
        return round(100.0 * self.used / denom, 2) if denom else 0.0


def dedupe_binds(records: list[FsUsage]) -> list[FsUsage]:
    """Keep one record per filesystem: a bind mount shows the same device and counts."""
    seen: dict[tuple[str, int, int], FsUsage] = {}
    for r in sorted(records, key=lambda r: (len(r.path), r.path)):
        key = (r.device, r.total, r.used)
        if r.device.startswith("/") and key in seen:
            continue
        seen.setdefault(key, r)
    return sorted(seen.values(), key=lambda r: r.path)


def disk_samples(host: str, records: list[FsUsage], t: int) -> list[Sample]:
    out = []
    for r in records:
        fields: dict[str, float | int | str | bool] = {
            "total": r.total, "used": r.used, "free": r.free, "used_percent": r.used_percent,
        }
        if r.inodes_total:
            fields["inodes_total"] = r.inodes_total
            fields["inodes_used"] = r.inodes_used or 0
            fields["inodes_free"] = r.inodes_free or 0
            fields["inodes_used_percent"] = round(100.0 * (r.inodes_used or 0) / r.inodes_total, 2)
        tags = {"host": host, "path": r.path, "device": r.device, "fstype": r.fstype}
        out.append(Sample("disk", tags, fields, t, r.excerpt))
    return out
