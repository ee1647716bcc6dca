"""A Linux server over SSH: filesystems, CPU, memory, swap, load, uptime and reboots,
required processes, systemd units, clock offset, and its asset record (OS, kernel, hardware).

One exec per cycle: every command goes into one batch with section markers (see
collectors.common.batch); the parsers are pure (linux_parse, linux_health).
"""

from __future__ import annotations

import re
import shlex
import time
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.connections.reasons import command_label
from collectors.common.batch import Batch, Section
from collectors.common.redact import redact
from collectors.common.setting_types import Regex
from collectors.diskfs import disk_samples
from collectors.linux_health import (
    ACTIVE_CODES,
    cpu_usage,
    parse_chrony_tracking,
    parse_meminfo,
    parse_ntpq,
    parse_proc_stat,
    parse_ps,
    parse_systemctl_show,
    process_matches,
)
from collectors.linux_parse import filesystems, parse_asset, parse_system
from core.model import CollectionError, CommandOutput, CommandRunner, Sample, Target, now_ns

# LC_ALL=C: headers and number formats independent of the server's locale.
DF_BLOCKS = "LC_ALL=C df -P -k -T"
DF_INODES = "LC_ALL=C df -P -i -T"
SYSTEM = "cat /proc/loadavg /proc/uptime; getconf _NPROCESSORS_ONLN"
PS = "ps -e -ww -o pid=,ppid=,rss=,etimes=,comm=,args="
# The asset: OS name (os-release, or redhat-release on RHEL 6), kernel, arch, and the DMI
# files that are readable (product_serial is usually root only: then there is no serial).
ASSET = ("grep -m1 '^PRETTY_NAME=' /etc/os-release 2>/dev/null || "
         "sed -n '1s/^/release=/p' /etc/redhat-release /etc/system-release 2>/dev/null | head -n1; "
         "echo \"kernel=$(uname -r)\"; echo \"arch=$(uname -m)\"; "
         "for f in sys_vendor product_name product_serial; do "
         "v=$(cat /sys/class/dmi/id/$f 2>/dev/null) && echo \"$f=$v\"; done; true")
# CPU usage is the difference of two /proc/stat reads. The previous cycle's read (kept in
# the collector state) is the first of them. Without one — a new host, a fresh store — the
# cycle reports no `cpu` sample and keeps its read for the next cycle, as Telegraf does: no
# sleep, and no made-up figure (a since-boot average is not "usage now"). No shipped rule
# judges cpu.usage_*; a user's rule on it has no series yet, so no verdict rather than an
# UNKNOWN. A previous read older than CPU_STATE_MAX_AGE (a long interval, a sporadic
# inspect) is too coarse for "current" usage: that cycle reads twice, CPU_WINDOW apart.
CPU_STATE_MAX_AGE = 900.0
CPU_WINDOW = 1  # seconds between two reads when the previous reading is stale
BOOT_JITTER = 2  # btime is rounded by the kernel; a change this small is not a reboot


class ProcessSpec(BaseModel):
    """A process that must run: by exact name (comm or argv[0] basename) or a regex over the
    full command line."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    pattern: Regex | None = None
    min: int = Field(default=1, ge=0)



class LinuxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    processes: list[ProcessSpec] = []
    # systemd unit names (e.g. sshd.service, oracle-ohasd.service)
    units: list[str] = []
    clock: bool = True  # report the chrony/ntpd offset when either is there

    @field_validator("units")
    @classmethod
    def _units(cls, v: list[str]) -> list[str]:
        for u in v:
            if not re.fullmatch(r"[A-Za-z0-9@._:\\-]+", u):
                raise ValueError(f"not a systemd unit name: {u!r}")
        return v


def checked(out: CommandOutput) -> str:
    """A non-zero exit is a failed collection, with what the command said."""
    if out.exit_status != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        tail = detail[-1][:200] if detail else "no output"
        raise CollectionError(f"{command_label(out.command)} exited {out.exit_status}: {tail}")
    return out.stdout


def section_ok(sections: dict[str, Section], name: str) -> str:
    s = sections[name]
    if s.status != 0:
        lines = s.text.strip().splitlines()
        raise CollectionError(f"{name}: exited {s.status}: {lines[-1][:200] if lines else 'no output'}")
    return s.text


def build_batch(settings: LinuxSettings, two_reads: bool) -> Batch:
    b = Batch(one_write=True)  # /proc, df, ps, systemctl: text, never a NUL byte
    b.add("stat", "cat /proc/stat")
    b.add("meminfo", "cat /proc/meminfo")
    b.add("system", SYSTEM)
    b.add("df", DF_BLOCKS)
    b.add("dfi", DF_INODES)
    b.add("asset", ASSET)
    if settings.processes:
        # $$ (even in a subshell) is the batch's shell: we leave it and its children out.
        b.add("ps", f"echo $$; {PS}")
    if settings.units:
        units = " ".join(shlex.quote(u) for u in settings.units)
        b.add("units", f"systemctl show -p Id,LoadState,ActiveState,SubState -- {units}")
    if settings.clock:
        b.add("clock", "if command -v chronyc >/dev/null 2>&1; then echo chrony; chronyc -n -c tracking;"
                       " elif command -v ntpq >/dev/null 2>&1; then echo ntpq; ntpq -pn;"
                       " else echo none; fi")
    if two_reads:
        b.add("stat2", f"sleep {CPU_WINDOW}; cat /proc/stat")
    return b


class LinuxCollector:
    settings_model = LinuxSettings
    name = "linux"

    def collect(self, target: Target, conn: CommandRunner | None) -> list[Sample]:
        if conn is None:
            raise CollectionError("the linux collector needs an SSH connection")
        settings: LinuxSettings = target.settings or LinuxSettings()
        state = target.state
        prev_cpu = state.get("cpu")
        recent = bool(prev_cpu) and time.time() - float(state.get("cpu_at", 0)) < CPU_STATE_MAX_AGE
        stale = bool(prev_cpu) and not recent
        batch = build_batch(settings, two_reads=stale)
        out = conn.run(batch.command(), what="linux health batch")
        if out.exit_status != 0:
            raise CollectionError(f"linux health batch exited {out.exit_status}: {out.stderr.strip()[:200]}")
        sections = batch.parse(out.stdout)
        target.evidence.append("linux health batch: " + ", ".join(
            f"{n} (exit {sec.status})" for n, sec in sections.items()))
        t = now_ns()
        host = target.name
        tags = {"host": host}

        stat = parse_proc_stat(section_ok(sections, "stat"))
        system = parse_system(section_ok(sections, "system"))
        samples = disk_samples(host, filesystems(section_ok(sections, "df"),
                                                 section_ok(sections, "dfi")), t)
        meminfo = section_ok(sections, "meminfo")
        mem, swap = parse_meminfo(meminfo)
        samples += [Sample("mem", tags, dict(mem), t, keyed_lines(meminfo, MEM_KEYS)),
                    Sample("swap", dict(tags), dict(swap), t, keyed_lines(meminfo, SWAP_KEYS))]

        # CPU: since the last cycle when it is recent, over a second read when it is stale,
        # nothing yet on a first cycle (see CPU_STATE_MAX_AGE).
        usage, current = None, stat.cpu
        if recent:
            usage = cpu_usage({k: int(v) for k, v in prev_cpu.items()}, stat.cpu)
        elif stale:
            current = parse_proc_stat(section_ok(sections, "stat2")).cpu
            usage = cpu_usage(stat.cpu, current)
        if usage is not None:
            samples.append(Sample("cpu", {"host": host, "cpu": "cpu-total"}, dict(usage), t,
                                  "/proc/stat cpu " + " ".join(str(v) for v in current.values())))
        state["cpu"], state["cpu_at"] = current, time.time()

        # Reboot: the kernel's boot time moved since the last recorded cycle.
        last_boot = state.get("boot_time")
        rebooted = last_boot is not None and abs(stat.btime - int(last_boot)) > BOOT_JITTER
        state["boot_time"] = stat.btime
        n = max(system.n_cpus, 1)
        samples.append(Sample("system", dict(tags), {
            "load1": system.load1, "load5": system.load5, "load15": system.load15,
            "n_cpus": system.n_cpus, "uptime": int(system.uptime),
            "load1_per_cpu": round(system.load1 / n, 2), "load5_per_cpu": round(system.load5 / n, 2),
            "load15_per_cpu": round(system.load15 / n, 2),
            "boot_time": stat.btime, "rebooted": int(rebooted),
        }, t, "/proc/loadavg, /proc/uptime, CPUs online:\n" + sections["system"].text.strip()))
        if rebooted:
            samples.append(event(host, "linux", "reboot", t,
                                 f"rebooted: boot time {_iso(stat.btime)} (was {_iso(int(last_boot))})"))

        if settings.processes:
            samples += process_samples(host, sections["ps"], settings.processes, t)
        if settings.units:
            samples += unit_samples(host, sections["units"], settings.units, t)
        if settings.clock:
            samples += clock_samples(host, sections["clock"], t)
        asset = parse_asset(sections["asset"].text)
        if asset is not None:  # only a whole read: a field missing for a cycle is no change
            samples.append(Sample("asset", dict(tags), dict(asset), t))
        return samples


MEM_KEYS = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable")
SWAP_KEYS = ("SwapTotal", "SwapFree")


def keyed_lines(text: str, keys: tuple[str, ...]) -> str:
    """The lines of a `Key: value` file (/proc/meminfo) that a figure was computed from."""
    return "\n".join(" ".join(ln.split()) for ln in text.splitlines() if ln.split(":", 1)[0] in keys)


def event(host: str, source: str, kind: str, t: int, message: str, **extra: str) -> Sample:
    """Something that happened (a reboot, a restart, a changed file): one point per occurrence."""
    return Sample("event", {"host": host, "source": source, "kind": kind, **extra},
                  {"message": message, "count": 1}, t)


def process_samples(host: str, section: Section, specs: list[ProcessSpec], t: int) -> list[Sample]:
    if section.status != 0:
        raise CollectionError(f"ps exited {section.status}: {section.text.strip()[-200:]}")
    first, _, rest = section.text.partition("\n")
    batch_shell = int(first.strip()) if re.fullmatch(r"[0-9]{1,9}", first.strip()) else -1
    procs = parse_ps(rest)
    # Our own batch (its shell, subshells and ps) must never count as the process sought.
    ours = {batch_shell}
    grew = True
    while grew:  # children of children, whatever order ps lists them in
        more = {p.pid for p in procs if p.ppid in ours} - ours
        ours |= more
        grew = bool(more)
    now = time.time()
    out = []
    for spec in specs:
        rx = re.compile(spec.pattern) if spec.pattern else None
        found = [p for p in procs if p.pid not in ours and process_matches(p, spec.name, rx)]
        fields: dict[str, float | int | str | bool] = {
            "pid_count": len(found), "missing": max(spec.min - len(found), 0),
            "memory_rss": sum(p.rss for p in found),
        }
        if found:
            oldest = max(found, key=lambda p: p.etimes)
            fields["created_at"] = int((now - oldest.etimes) * 1e9)  # Telegraf: ns since epoch
            fields["pid"] = oldest.pid
        # a command line may carry a password: redacted like log lines
        shown = [redact(f"{p.pid} {p.ppid} {p.rss // 1024} {p.etimes} {p.comm} {p.args}")[:200]
                 for p in found[:5]]
        excerpt = "ps: " + ("\n".join(shown) if shown else f"no process matches {spec.name}")
        out.append(Sample("procstat", {"host": host, "process": spec.name}, fields, t, excerpt))
    return out


def unit_samples(host: str, section: Section, units: list[str], t: int) -> list[Sample]:
    found = parse_systemctl_show(section.text) if section.status == 0 else {}
    problem = "" if section.status == 0 else (section.text.strip().splitlines() or ["no output"])[-1]
    out = []
    for u in units:
        props = found.get(u)
        if props is None:
            # systemctl missing or failing is not a pass: the state is "unavailable" (UNKNOWN).
            fields: dict[str, float | int | str | bool] = {
                "load": "unavailable", "active": "unavailable", "sub": "unavailable",
                "error": problem[:200] or "not in systemctl output"}
        else:
            active = props.get("ActiveState", "")
            fields = {"load": props.get("LoadState", ""), "active": active,
                      "sub": props.get("SubState", ""), "active_code": ACTIVE_CODES.get(active, -1)}
        excerpt = ("systemctl show: " + " ".join(f"{k}={v}" for k, v in props.items()) if props is not None
                   else f"systemctl show {u}: {fields['error']}")
        out.append(Sample("systemd_units", {"host": host, "name": u}, fields, t, excerpt))
    return out


def clock_samples(host: str, section: Section, t: int) -> list[Sample]:
    first, _, rest = section.text.partition("\n")
    if first == "chrony":
        if section.status != 0:  # chronyd not running: say so, no offset claimed
            return [Sample("chrony", {"host": host}, {"leap_status": "not_running"}, t)]
        return [Sample("chrony", {"host": host}, dict(parse_chrony_tracking(rest)), t,
                       "chronyc -n -c tracking: " + rest.strip()[:300])]
    if first == "ntpq":
        if section.status != 0:
            return [Sample("ntpq", {"host": host}, {"state": "not_running"}, t)]
        peer = parse_ntpq(rest)
        if peer is None:
            return [Sample("ntpq", {"host": host}, {"state": "unsynchronised"}, t)]
        fields: dict[str, float | int | str | bool] = {k: v for k, v in peer.items()
                                                       if k not in ("remote", "refid")}
        fields["state"] = "synchronised"
        picked = next((ln for ln in rest.splitlines() if ln.startswith("*")), "")
        return [Sample("ntpq", {"host": host, "remote": str(peer["remote"])}, fields, t,
                       "ntpq -pn: " + picked.strip()[:300])]
    return []


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
