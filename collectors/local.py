"""The local host via psutil: disk, mem, swap, cpu, system (Telegraf names)."""

from __future__ import annotations

import os
import time

import psutil

from collectors.diskfs import PSEUDO_FS, FsUsage, dedupe_binds, disk_samples
from core.model import CollectionError, Sample, Target, now_ns


class LocalCollector:
    name = "local"

    def __init__(self) -> None:
        self._cpu_primed = False

    def collect(self, target: Target, conn: object = None) -> list[Sample]:
        t = now_ns()
        host = target.name
        filesystems = self._filesystems()
        for fs in filesystems:
            # What `df -P -k` would have printed, so the record shows where the number came from.
            fs.excerpt = (f"{fs.device} {fs.fstype} {fs.total // 1024} {fs.used // 1024} "
                          f"{fs.free // 1024} {fs.path}")
        samples = disk_samples(host, filesystems, t)
        target.evidence.extend(fs.excerpt for fs in filesystems)
        vm = psutil.virtual_memory()
        samples.append(Sample("mem", {"host": host}, {
            "total": vm.total, "available": vm.available, "used": vm.used, "free": vm.free,
            "used_percent": round(vm.percent, 2),
            "available_percent": round(100.0 * vm.available / vm.total, 2) if vm.total else 0.0,
        }, t, f"psutil virtual_memory: total {vm.total // 1024} kB, available {vm.available // 1024} kB"))
        sw = psutil.swap_memory()
        samples.append(Sample("swap", {"host": host}, {
            "total": sw.total, "used": sw.used, "free": sw.free, "used_percent": round(sw.percent, 2),
        }, t, f"psutil swap_memory: total {sw.total // 1024} kB, used {sw.used // 1024} kB"))
        samples.append(Sample("cpu", {"host": host, "cpu": "cpu-total"}, self._cpu(), t))
        load1, load5, load15 = os.getloadavg()
        samples.append(Sample("system", {"host": host}, {
            "load1": load1, "load5": load5, "load15": load15,
            "n_cpus": psutil.cpu_count() or 1,
            "uptime": int(time.time() - psutil.boot_time()),
        }, t))
        return samples

    def _filesystems(self) -> list[FsUsage]:
        out = []
        for part in psutil.disk_partitions(all=False):
            if part.fstype in PSEUDO_FS:
                continue
            try:
                u = psutil.disk_usage(part.mountpoint)
                st = os.statvfs(part.mountpoint)
            except OSError:
                continue  # a mount we may not read (e.g. another user's FUSE mount)
            out.append(FsUsage(
                device=part.device, fstype=part.fstype, path=part.mountpoint,
                total=u.total, used=u.used, free=u.free,
                inodes_total=st.f_files or None, inodes_used=(st.f_files - st.f_ffree) or None,
                inodes_free=st.f_favail if st.f_files else None,
            ))
        if not out:
            raise CollectionError("no filesystems readable on this host")
        return dedupe_binds(out)

    def _cpu(self) -> dict[str, float | int | str | bool]:
        # psutil measures since its previous call; the first call needs a short window.
        interval = None if self._cpu_primed else 0.2
        self._cpu_primed = True
        c = psutil.cpu_times_percent(interval=interval)
        fields: dict[str, float | int | str | bool] = {
            f"usage_{k}": round(v, 2) for k, v in c._asdict().items()
        }
        fields["usage_active"] = round(100.0 - c.idle, 2)
        return fields
