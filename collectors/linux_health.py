"""Pure parsers for Linux health: /proc/stat, /proc/meminfo, ps, systemctl, chrony, ntpq.

Text in, numbers out. Anything not understood raises CollectionError (never a zero
that would read as "all fine").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.model import CollectionError

# /proc/stat `cpu` columns (proc(5)); guest time is already included in user/nice.
CPU_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
               "guest", "guest_nice")


@dataclass(slots=True)
class ProcStat:
    cpu: dict[str, int]  # cpu-total jiffies per column
    btime: int  # boot time, seconds since the epoch


def parse_proc_stat(text: str) -> ProcStat:
    cpu: dict[str, int] | None = None
    btime: int | None = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "cpu":
                cpu = {k: int(v) for k, v in zip(CPU_COLUMNS, parts[1:], strict=False)}
            elif parts[0] == "btime":
                btime = int(parts[1])
        except (ValueError, IndexError):
            raise CollectionError(f"/proc/stat line not understood: {line[:80]!r}") from None
    if cpu is None or len(cpu) < 4 or btime is None:
        raise CollectionError(f"/proc/stat has no cpu or btime line: {text[:80]!r}")
    return ProcStat(cpu, btime)


def cpu_usage(prev: dict[str, int], cur: dict[str, int]) -> dict[str, float] | None:
    """Telegraf-style usage_* percentages between two reads; None if no time passed or
    the counters went backwards (a reboot or a counter reset: no honest value)."""
    def busy_total(c: dict[str, int]) -> int:
        # guest/guest_nice are inside user/nice already: do not count them twice
        return sum(v for k, v in c.items() if k not in ("guest", "guest_nice"))

    total = busy_total(cur) - busy_total(prev)
    deltas = {k: cur.get(k, 0) - prev.get(k, 0) for k in cur}
    if total <= 0 or any(d < 0 for d in deltas.values()):
        return None
    fields = {f"usage_{k}": round(100.0 * d / total, 2) for k, d in deltas.items()}
    fields["usage_active"] = round(100.0 - fields["usage_idle"], 2)
    return fields


_MEMINFO = re.compile(r"^(\w+(?:\(\w+\))?):[ \t]+([0-9]+)(?:[ \t]+kB)?[ \t]*$", re.M | re.A)


def parse_meminfo(text: str) -> tuple[dict[str, float | int], dict[str, float | int]]:
    """`mem` and `swap` fields (bytes, percent) from /proc/meminfo, as psutil/Telegraf compute them."""
    kb: dict[str, int] = {}
    for m in _MEMINFO.finditer(text):  # one pass over the text, not a match per line
        kb[m[1]] = int(m[2]) * 1024
    try:
        total, free = kb["MemTotal"], kb["MemFree"]
        swap_total, swap_free = kb["SwapTotal"], kb["SwapFree"]
    except KeyError as e:
        raise CollectionError(f"/proc/meminfo has no {e.args[0]}: {text[:80]!r}") from None
    if total <= 0:
        raise CollectionError("/proc/meminfo reports MemTotal 0")
    buffers, cached = kb.get("Buffers", 0), kb.get("Cached", 0) + kb.get("SReclaimable", 0)
    # Kernels before 3.14 have no MemAvailable: estimate as free + page cache.
    available = kb.get("MemAvailable", free + buffers + cached)
    used = max(total - free - buffers - cached, 0)
    mem: dict[str, float | int] = {
        "total": total, "available": available, "used": used, "free": free,
        "buffered": buffers, "cached": cached,
        "used_percent": round(100.0 * (total - available) / total, 2),
        "available_percent": round(100.0 * available / total, 2),
    }
    swap_used = swap_total - swap_free
    swap: dict[str, float | int] = {
        "total": swap_total, "used": swap_used, "free": swap_free,
        "used_percent": round(100.0 * swap_used / swap_total, 2) if swap_total else 0.0,
    }
    return mem, swap


@dataclass(frozen=True, slots=True)
class Proc:
    pid: int
    ppid: int
    rss: int  # bytes
    etimes: int  # seconds since start
    comm: str
    args: str


def parse_ps(text: str) -> list[Proc]:
    """`ps -e -ww -o pid=,ppid=,rss=,etimes=,comm=,args=`.

    comm is at most 15 characters and, on real systems, has no spaces except in rare
    kernel threads; a line whose numbers do not parse is skipped only if it is a kernel
    thread (args in brackets), otherwise the output is not understood.
    """
    procs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(None, 5)
        try:
            pid, ppid, rss, etimes = (int(x) for x in parts[:4])
        except (ValueError, IndexError):
            raise CollectionError(f"ps line not understood: {line[:80]!r}") from None
        comm = parts[4] if len(parts) > 4 else ""
        args = parts[5] if len(parts) > 5 else comm
        procs.append(Proc(pid, ppid, rss * 1024, etimes, comm, args))
    if not procs:
        raise CollectionError("ps printed no processes")
    return procs


def process_matches(proc: Proc, name: str, pattern: re.Pattern[str] | None) -> bool:
    if pattern is not None:
        return pattern.search(proc.args) is not None
    argv0 = proc.args.split(None, 1)[0] if proc.args else ""
    return proc.comm == name or argv0.rsplit("/", 1)[-1] == name


def parse_systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show -p Id,LoadState,ActiveState,SubState -- UNITS`: blocks split by blank lines."""
    units: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in props:
            units[props["Id"]] = props
    return units


# Telegraf systemd_units codes
ACTIVE_CODES = {"active": 0, "reloading": 1, "inactive": 2, "failed": 3, "activating": 4,
                "deactivating": 5}


def parse_chrony_tracking(text: str) -> dict[str, float | int | str]:
    """`chronyc -c tracking` (CSV). System time is the offset of the system clock from
    NTP time (its sign is the direction); Telegraf's `system_time` is its magnitude."""
    line = next((ln for ln in text.splitlines() if ln.count(",") >= 13), None)
    if line is None:
        raise CollectionError(f"chronyc tracking not understood: {text[:80]!r}")
    f = line.split(",")
    try:
        system_time = float(f[4])
        return {
            "stratum": int(f[2]), "system_time": abs(system_time), "system_time_signed": system_time,
            "last_offset": float(f[5]), "rms_offset": float(f[6]), "frequency": float(f[7]),
            "root_delay": float(f[10]), "root_dispersion": float(f[11]),
            "leap_status": f[13].strip().lower().replace(" ", "_"),
        }
    except (ValueError, IndexError):
        raise CollectionError(f"chronyc tracking not understood: {line[:80]!r}") from None


def parse_ntpq(text: str) -> dict[str, float | str] | None:
    """`ntpq -pn`: the system peer (line marked `*`); offset, delay, jitter in ms. None if
    ntpd has no system peer (not synchronised)."""
    for line in text.splitlines():
        if line.startswith("*"):
            f = line[1:].split()
            try:
                return {"remote": f[0], "refid": f[1], "delay": float(f[7]),
                        "offset": float(f[8]), "jitter": float(f[9]),
                        "abs_offset": abs(float(f[8]))}
            except (ValueError, IndexError):
                raise CollectionError(f"ntpq line not understood: {line[:80]!r}") from None
    if "remote" not in text:
        raise CollectionError(f"ntpq output not understood: {text[:80]!r}")
    return None
