"""WebLogic over SSH: per server, its JVM (-Dweblogic.Name=<server>: pid, start time,
RSS, heap via jstat), its state from the server log (BEA-000360 / BEA-000365) and
restarts between cycles (the JVM's pid or start time changed, or new RUNNING lines);
the installed version (registry.xml of the middleware home) as the device's asset.

One exec for processes and logs, one more for heap and the version when a JVM was found
(or the middleware home is configured). What the collector remembers (pid, start time, log
position per file identity) is in its state.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectors.common.batch import Batch, Section
from collectors.contract import Collected, Collector, Context
from collectors.linux import PS, event
from collectors.linux_health import Proc, parse_ps
from collectors.weblogic.parse import (
    log_state,
    middleware_home_of,
    parse_jstat_gc,
    parse_registry,
    remembered,
    server_jvms,
)
from core.model import CollectionError, CommandRunner, Sample, now_ns

START_JITTER = 2  # seconds: start time from `ps etimes` is rounded


class WlsServer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    log: str | None = None  # default <domain_home>/servers/<name>/logs/<name>.log

    @field_validator("log")
    @classmethod
    def _abs(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith("/") or "\n" in v):
            raise ValueError("an absolute file path")
        return v


class WeblogicSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain_home: str
    servers: list[WlsServer] = Field(min_length=1)
    # Where registry.xml (the installed version) is; default: from a running server's
    # -Dweblogic.home (…/wlserver/server → the home two levels up).
    middleware_home: str | None = None
    heap: bool = True  # jstat -gc next to the JVM's java, when it is there
    max_log_bytes: int = Field(default=2 * 2**20, ge=4096, le=8 * 2**20)  # per server per cycle

    @field_validator("domain_home")
    @classmethod
    def _abs(cls, v: str) -> str:
        if not v.startswith("/") or "\n" in v:
            raise ValueError("an absolute path (the domain home)")
        return v.rstrip("/")

    @field_validator("middleware_home")
    @classmethod
    def _abs_home(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith("/") or "\n" in v):
            raise ValueError("an absolute path (the middleware home, above wlserver/)")
        return v.rstrip("/") or "/" if v is not None else None

    def log_of(self, s: WlsServer) -> str:
        return s.log or f"{self.domain_home}/servers/{s.name}/logs/{s.name}.log"


def log_snippet(path: str, known_inode: int, known_offset: int, cap: int) -> str:
    """Read the log's new bytes (the last `cap` at most), all decided on one open descriptor."""
    return (f"exec 3< {shlex.quote(path)} || exit 3; set -- $(stat -L -c '%i %s' /dev/fd/3); "
            f"ino=$1; size=$2; start=0; "
            f"if [ \"$ino\" = {known_inode} ] && [ \"$size\" -ge {known_offset} ]; "
            f"then start={known_offset}; fi; "
            f"if [ $((size - start)) -gt {cap} ]; then start=$((size - {cap})); fi; "
            f"echo \"$ino $size $start\"; "
            f"tail -c +$((start + 1)) <&3 | head -c $((size - start)) | base64 -w0; echo")


class WeblogicCollector(Collector[WeblogicSettings, CommandRunner]):
    settings_model: ClassVar = WeblogicSettings

    def collect(self, ctx: Context[WeblogicSettings], conn: CommandRunner) -> Collected:
        s = ctx.settings
        b = first_batch(s, ctx.state)
        out = conn.run(b.command(), what="weblogic batch")
        if out.exit_status != 0:
            raise CollectionError(f"weblogic batch exited {out.exit_status}: {out.stderr.strip()[:200]}")
        reading = read_servers(s, b.parse(out.stdout), ctx.state)
        t = now_ns()
        version: str | None = None
        hb = heap_batch(reading)
        if hb is not None:
            try:
                heaps, version = read_heaps(hb, conn.run(hb.command(), what="weblogic heap batch").stdout,
                                            reading)
            except CollectionError as e:  # heap and version are extra: state and restarts still stand
                heaps = {i: {"heap_error": str(e)[:200]} for i, _ in reading.heap_jobs}
            for i, fields in heaps.items():
                reading.rows[i].update(fields)
        evidence = [] if version is None else [f"WebLogic Server {version} ({reading.home})"]
        return Collected(samples(ctx.device, s, reading, version, t), evidence,
                         {**ctx.state, "servers": reading.memory})


Fields = dict[str, float | int | str | bool]


@dataclass(slots=True)
class Reading:
    """What the first exec said about the listed servers."""

    rows: list[Fields]  # the `weblogic` fields of each listed server, in order
    restarts: list[int]  # restarts of each listed server since the last cycle
    heap_jobs: list[tuple[int, Proc]]  # (server index, its JVM) whose heap to read
    home: str | None  # the middleware home (settings, or from a JVM's command line)
    memory: dict[str, dict[str, Any]]  # the new memory per server (a new dict)


def first_batch(s: WeblogicSettings, state: Mapping[str, Any], nonce: str | None = None) -> Batch:
    """The remote clock, `ps`, and each server's log from where the last cycle stopped."""
    memory = remembered(state)
    b = Batch(nonce)
    b.add("now", "date +%s")
    b.add("ps", f"echo $$; {PS}")
    for i, srv in enumerate(s.servers):
        m = memory.get(srv.name, {})
        b.add(f"log{i}", log_snippet(s.log_of(srv), int(m.get("log_inode", -1)),
                                     int(m.get("log_offset", 0)), s.max_log_bytes))
    return b


def read_servers(s: WeblogicSettings, sec: Mapping[str, Section], state: Mapping[str, Any]) -> Reading:
    """The first exec's sections → per server its JVM, state and restarts, and the new memory
    (pid, started_at, log_inode, log_offset, log_state per server; servers no longer listed
    kept as they were)."""
    memory = remembered(state)
    try:
        now = int(sec["now"].text.strip())
    except ValueError:
        raise CollectionError(f"remote clock not understood: {sec['now'].text[:40]!r}") from None
    procs = own_excluded(sec["ps"])
    reading = Reading([], [], [], s.middleware_home, memory)
    for i, srv in enumerate(s.servers):
        m = memory.setdefault(srv.name, {})
        jvms = server_jvms(procs, srv.name)
        fields: Fields = {"pid_count": len(jvms), "running": int(bool(jvms))}
        restart_by_process = False
        if jvms:
            jvm = max(jvms, key=lambda p: p.etimes)  # the server, not a child it started
            started = now - jvm.etimes
            fields.update(pid=jvm.pid, started_at=started, uptime=jvm.etimes,
                          memory_rss=sum(p.rss for p in jvms))
            if "pid" in m and (m["pid"] != jvm.pid or abs(int(m["started_at"]) - started) > START_JITTER):
                restart_by_process = True
            m["pid"], m["started_at"] = jvm.pid, started
            reading.home = reading.home or middleware_home_of(jvm.args)
            if s.heap:
                reading.heap_jobs.append((i, jvm))
        # Log: state transitions since the last cycle
        first_log_read = "log_inode" not in m
        text, problem, position = read_log(sec[f"log{i}"])
        if position is not None:
            m["log_inode"], m["log_offset"] = position
        ls = log_state(text)
        if ls.last_state:
            m["log_state"] = ls.last_state
        new_running = 0 if first_log_read else ls.running_events
        restarts = max(int(restart_by_process), new_running)
        # No JVM: not running, whatever the log said last (a kill -9 writes no line).
        state_now = "NOT_RUNNING" if not jvms else str(m.get("log_state") or "UNKNOWN")
        fields.update(state=state_now, restarts=restarts)
        if problem:
            fields["log_error"] = problem
        reading.rows.append(fields)
        reading.restarts.append(restarts)
    return reading


def samples(host: str, s: WeblogicSettings, reading: Reading, version: str | None, t: int) -> list[Sample]:
    """A `weblogic` sample per listed server (its evidence: what was read for it), a restart
    `event` before it when it restarted, and the version as the asset when it was read."""
    domain = posixpath.basename(s.domain_home)
    out: list[Sample] = []
    for srv, restarts, fields in zip(s.servers, reading.restarts, reading.rows, strict=True):
        if restarts:
            out.append(event(host, "weblogic", "restart", t,
                             f"{srv.name} restarted ({restarts}x since the last cycle; "
                             f"pid {fields.get('pid', '-')})", server=srv.name))
    for srv, fields in zip(s.servers, reading.rows, strict=True):
        # what was read for the server (its JVM from ps, its state from the log, jstat)
        read = ", ".join(f"{k}={v}" for k, v in fields.items())
        out.append(Sample("weblogic", {"host": host, "domain": domain, "server": srv.name}, fields, t,
                          f"{srv.name}: {read}"[:2000]))
    if version is not None:  # only when read this cycle: an unread version is no change
        out.append(Sample("asset", {"host": host}, {"weblogic_version": version}, t))
    return out


def samples_of(batch: str, heap_output: str | None = None, *, nonce: str, settings: Mapping[str, Any],
               state: Mapping[str, Any] | None = None, host: str = "app01",
               t: int = 1_763_780_000_000_000_000) -> tuple[list[Sample], dict[str, Any]]:
    """What `collect` returns (samples, new state) from the two execs' output (both framed
    with `nonce`): the pure path, for data cases."""
    s = WeblogicSettings.model_validate(settings)
    state = state or {}
    reading = read_servers(s, first_batch(s, state, nonce).parse(batch), state)
    version = None
    hb = heap_batch(reading, nonce)
    if hb is not None and heap_output is not None:
        heaps, version = read_heaps(hb, heap_output, reading)
        for i, fields in heaps.items():
            reading.rows[i].update(fields)
    return samples(host, s, reading, version, t), {**state, "servers": reading.memory}


def own_excluded(section: Section) -> list[Proc]:
    if section.status != 0:
        raise CollectionError(f"ps exited {section.status}: {section.text.strip()[-200:]}")
    first, _, rest = section.text.partition("\n")
    procs = parse_ps(rest)
    ours = {int(first)} if first.strip().isdigit() else set()
    grew = True
    while grew:  # the batch's own shells and ps carry our patterns: never count them
        more = {p.pid for p in procs if p.ppid in ours} - ours
        ours |= more
        grew = bool(more)
    return [p for p in procs if p.pid not in ours]


def read_log(section: Section) -> tuple[str, str, tuple[int, int] | None]:
    """The log's new text, a problem ('' if none) and the position to read from next cycle
    (inode, offset; None when the log was not read)."""
    if section.status != 0:
        return "", (section.text.strip().splitlines() or ["log not readable"])[-1][:200], None
    head, _, body = section.text.partition("\n")
    try:
        inode, _size, start = (int(x) for x in head.split())
        data = base64.b64decode(body.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise CollectionError(f"weblogic log read not understood: {head[:60]!r}") from None
    end = data.rfind(b"\n") + 1  # an unfinished last line waits for the next cycle
    return data[:end].decode("utf-8", "replace"), "", (inode, start + end)


def registry_snippet(home: str) -> str:
    """12c+ keeps the install's registry in inventory/registry.xml, 10.3 in registry.xml."""
    q = shlex.quote(home)
    return (f"for f in {q}/inventory/registry.xml {q}/registry.xml; do "
            f"if [ -r \"$f\" ]; then head -c 4194304 \"$f\"; exit 0; fi; done; "
            f"echo 'no readable registry.xml'; exit 3")


def heap_batch(reading: Reading, nonce: str | None = None) -> Batch | None:
    """jstat per JVM and the installed version (when the middleware home is known), one exec;
    None when there is nothing to read."""
    b = Batch(nonce)
    if reading.home:
        b.add("registry", registry_snippet(reading.home))
    for i, jvm in reading.heap_jobs:
        argv0 = jvm.args.split(None, 1)[0]
        jstat = posixpath.join(posixpath.dirname(argv0), "jstat") if argv0.startswith("/") else "jstat"
        if not re.fullmatch(r"[\w./+-]+", jstat):
            continue
        b.add(f"h{i}", f"{shlex.quote(jstat)} -gc {jvm.pid}")
    return b if b.names else None


def read_heaps(b: Batch, output: str, reading: Reading) -> tuple[dict[int, Fields], str | None]:
    """The heap exec's output → heap fields per server index (or its heap_error), and the version."""
    sections = b.parse(output)
    reg = sections.get("registry")
    version = parse_registry(reg.text) if reg is not None and reg.status == 0 else None
    result: dict[int, Fields] = {}
    for i, _ in reading.heap_jobs:
        sec = sections.get(f"h{i}")
        if sec is None:
            continue
        if sec.status != 0:
            result[i] = {"heap_error": (sec.text.strip().splitlines() or ["jstat failed"])[-1][:200]}
            continue
        try:
            result[i] = dict(parse_jstat_gc(sec.text))
        except CollectionError as e:
            result[i] = {"heap_error": str(e)[:200]}
    return result, version
