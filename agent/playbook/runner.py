"""Plan → (confirm) → apply, with the guard rails: device kinds, windows, the per-device
lock, pre-checks re-run right before acting, recovery on failure, post-checks, the audit
record and the case event.

A plan reads the device and changes nothing. An apply makes its plan under the lock,
shows it, asks, and then runs exactly those steps; file actions re-check every file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from agent.cases.windows import Window
from agent.inventory import Device
from agent.playbook import audit
from agent.playbook import weblogic as wl
from agent.playbook.catalog import Bound
from agent.playbook.lock import DeviceBusy, DeviceLock
from agent.playbook.model import PHASES, WaitLog
from agent.playbook.remote import Remote, Runs, StepFailed, q
from agent.playbook.steps import READ_TIMEOUT, Context, Outcome, Planned, apply_step, log_size, plan_step
from core.model import CollectionError

log = logging.getLogger(__name__)
Connect = Callable[[Device], AbstractContextManager[Runs]]
CaseHook = Callable[[str, str, dict[str, Any]], None]  # (case number, actor, detail)


class Refused(Exception):
    """The run may not happen (kind, window, missing reason); nothing was touched."""


@dataclass
class Request:
    bound: Bound
    device: Device
    actor: str
    case: str | None = None
    force: bool = False
    reason: str | None = None
    expected: list[dict[str, Any]] | None = None  # apply --plan N: the plan that was signed off


@dataclass
class RunResult:
    mode: str
    result: str  # planned | refused | busy | aborted | ok | failed
    message: str
    device: str
    playbook: str
    params: dict[str, Any]
    planned: list[Planned] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    bytes_freed: dict[str, int] = field(default_factory=dict)
    facts_before: dict[str, Any] = field(default_factory=dict)
    facts_after: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    audit_id: int | None = None
    started_at: float = 0.0
    forced_reason: str | None = None

    @property
    def refusals(self) -> list[str]:
        return [f"{p.phase}[{p.index}] {p.title}: {r}" for p in self.planned for r in p.refusals]

    @property
    def total_freed(self) -> int:
        return sum(self.bytes_freed.values())

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "result": self.result, "message": self.message, "device": self.device,
                "playbook": self.playbook, "params": self.params,
                "plan": [p.to_dict() for p in self.planned], "outcomes": self.outcomes,
                "bytes_freed": self.bytes_freed, "bytes_freed_total": self.total_freed,
                "before": self.facts_before, "after": self.facts_after, "audit_id": self.audit_id,
                "forced_reason": self.forced_reason}


def _signature(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(s["phase"], s["index"], s["type"], s["skipped"], tuple(s["commands"]),
             tuple((f["path"], f["inode"], f["size"], int(f["mtime"])) for f in s["files"])) for s in steps]


def plan_difference(approved: list[dict[str, Any]], now: list[dict[str, Any]]) -> str:
    """'' when the fresh plan would do exactly what the approved one said, else the first difference."""
    a, b = _signature(approved), _signature(now)
    if len(a) != len(b):
        return f"{len(a)} steps then, {len(b)} now"
    for x, y in zip(a, b, strict=True):
        if x != y:
            gone = sorted({f[0] for f in x[5]} - {f[0] for f in y[5]})
            new = sorted({f[0] for f in y[5]} - {f[0] for f in x[5]})
            what = f"files no longer there or changed: {', '.join(gone[:5])}" if gone else ""
            what += f"{'; ' if what else ''}new files: {', '.join(new[:5])}" if new else ""
            return f"{x[0]}[{x[1]}] {x[2]}: {what or 'different commands or files'}"
    return ""


def _ssh(device: Device) -> AbstractContextManager[Runs]:
    from agent.connections.ssh import SshConnection

    return SshConnection(device)


class Runner:
    def __init__(self, engine: Engine, data_dir: Path, tz: ZoneInfo, connect: Connect = _ssh,
                 case_hook: CaseHook | None = None, clock: Callable[[], float] = time.time,
                 poll_interval: float = 0.5) -> None:
        self.engine, self.data_dir, self.tz = engine, Path(data_dir), tz
        self.connect, self.case_hook, self.clock = connect, case_hook, clock
        self.poll_interval = poll_interval

    # -- guard rails ------------------------------------------------------------------------

    def check_allowed(self, req: Request) -> str | None:
        """Raise Refused when the kind or the window forbids the run; the forced reason if forced."""
        spec, dev = req.bound.playbook.spec, req.device
        if dev.kind not in spec.kinds:
            raise Refused(f"playbook {spec.name} is for {', '.join(spec.kinds)}; {dev.name} is a {dev.kind}")
        if not spec.windows:
            return None
        now = self.clock()
        windows = [Window(w, self.tz) for w in spec.windows]
        if any(w.covers(dev, dev.name) and w.active_until(now) for w in windows):
            return None
        names = ", ".join(w.name for w in windows)
        if not req.force:
            raise Refused(f"outside the windows of playbook {spec.name} ({names}); to run it anyway "
                          f"give --force --reason \"why\"")
        if not (req.reason and req.reason.strip()):
            raise Refused("--force needs --reason \"why\": it goes into the audit record")
        return req.reason.strip()

    # -- plan ---------------------------------------------------------------------------------

    def plan(self, req: Request) -> RunResult:
        res = self._new(req, "plan")
        try:
            self.check_allowed(req)
        except Refused as e:
            return self._finish(req, res, "refused", str(e))
        try:
            with self.connect(req.device) as conn:
                remote = Remote(conn)
                self._plan(req, remote, res)
        except (CollectionError, StepFailed) as e:
            return self._finish(req, res, "refused", f"cannot plan on {req.device.name}: {e}")
        if res.refusals:
            return self._finish(req, res, "refused", "; ".join(res.refusals))
        acting = [p for p in res.planned if p.step.type in ("compress", "delete")]
        return self._finish(req, res, "planned", f"{sum(len(p.commands) for p in res.planned)} commands, "
                                                 f"{sum(len(p.files) for p in acting)} files to act on")

    def _plan(self, req: Request, remote: Remote, res: RunResult) -> Context:
        now = remote.run("date +%s", READ_TIMEOUT, check=True).stdout.strip()
        ctx = Context(req.device, remote, float(now), self.poll_interval)
        res.transcript = remote.transcript
        for phase in PHASES:
            for i, step in enumerate(req.bound.phases[phase]):
                p = plan_step(ctx, phase, i, step)
                if phase == "pre_checks" and not p.skipped and not p.refusals:
                    outcome = apply_step(ctx, p)  # read-only: run now, report in the plan
                    p.notes.append(("ok: " if outcome.ok else "FAILED: ") + outcome.message)
                    if not outcome.ok:
                        p.refusals.append(f"pre-check failed: {outcome.message}")
                res.planned.append(p)
        return ctx

    # -- apply --------------------------------------------------------------------------------

    def apply(self, req: Request, confirm: Callable[[RunResult], bool]) -> RunResult:
        res = self._new(req, "apply")
        try:
            res.forced_reason = self.check_allowed(req)
        except Refused as e:
            return self._finish(req, res, "refused", str(e))
        try:
            with DeviceLock(self.data_dir, req.device.name, req.bound.playbook.name, req.actor):
                return self._apply_locked(req, res, confirm)
        except DeviceBusy as e:
            return self._finish(req, res, "busy", str(e))

    def _apply_locked(self, req: Request, res: RunResult, confirm: Callable[[RunResult], bool]) -> RunResult:
        try:
            with self.connect(req.device) as conn:
                remote = Remote(conn)
                ctx = self._plan(req, remote, res)
                if res.refusals:
                    return self._finish(req, res, "refused", "; ".join(res.refusals))
                if req.expected is not None:
                    diff = plan_difference(req.expected, [p.to_dict() for p in res.planned])
                    if diff:
                        return self._finish(req, res, "refused", f"the device changed since the plan "
                                                                 f"that was approved: {diff}; plan again")
                if not confirm(res):
                    return self._finish(req, res, "aborted", "not confirmed; nothing was changed")
                return self._execute(req, res, ctx)
        except CollectionError as e:
            return self._finish(req, res, "failed", f"connection to {req.device.name} failed: {e}")

    def _execute(self, req: Request, res: RunResult, ctx: Context) -> RunResult:
        ctx.remote.transcript.clear()  # the plan's reads are in the plan; from here, what ran
        res.facts_before = self._facts(ctx, res.planned)
        for p in res.planned:
            if isinstance(p.step, WaitLog) and not p.skipped:
                path = wl.target(req.device.remediation, p.step.server).log
                ctx.log_offsets[path] = log_size(ctx, path)
        by_phase = {ph: [p for p in res.planned if p.phase == ph] for ph in PHASES}
        failure = self._run_phase(ctx, res, by_phase["pre_checks"]) \
            or self._run_phase(ctx, res, by_phase["steps"])
        if failure:
            if by_phase["recovery"]:
                rec_fail = self._run_phase(ctx, res, by_phase["recovery"])
                failure += f"; recovery {'failed: ' + rec_fail if rec_fail else 'ran'}"
        else:
            failure = self._run_phase(ctx, res, by_phase["post_checks"])
            if failure:
                failure = f"post-check failed: {failure}"
        res.facts_after = self._facts(ctx, res.planned)
        if failure:
            return self._finish(req, res, "failed", failure)
        freed = f", {res.total_freed} bytes freed" if res.bytes_freed else ""
        return self._finish(req, res, "ok", f"{len(res.outcomes)} steps done{freed}")

    def _run_phase(self, ctx: Context, res: RunResult, planned: list[Planned]) -> str:
        for p in planned:
            started = time.monotonic()
            try:
                outcome = apply_step(ctx, p)
            except (CollectionError, StepFailed) as e:
                outcome = Outcome(False, str(e))
            for root, n in outcome.bytes_freed.items():
                res.bytes_freed[root] = res.bytes_freed.get(root, 0) + n
            res.outcomes.append({"phase": p.phase, "index": p.index, "title": p.title,
                                 "seconds": round(time.monotonic() - started, 3), **outcome.to_dict()})
            log.info("%s %s[%d] %s: %s", "ok" if outcome.ok else "FAILED", p.phase, p.index, p.title,
                     outcome.message)
            if not outcome.ok:
                return f"{p.phase}[{p.index}] {p.title}: {outcome.message}"
        return ""

    def _facts(self, ctx: Context, planned: list[Planned]) -> dict[str, Any]:
        """Before/after values for the audit and the case: disk of the roots, JVM pids."""
        facts: dict[str, Any] = {}
        roots = sorted({r for p in planned for r in p.roots})
        if roots:
            out = ctx.remote.run(f"df -P -B1 -- {' '.join(q(r) for r in roots)}", READ_TIMEOUT)
            lines = out.stdout.splitlines()[1:]
            for root, line in zip(roots, lines, strict=False):
                parts = line.split()
                if len(parts) >= 6 and parts[2].isdigit() and parts[3].isdigit():
                    used, avail = int(parts[2]), int(parts[3])
                    facts[f"disk {root}"] = {"used_percent": round(100 * used / max(1, used + avail), 2),
                                             "free": avail, "mount": parts[5]}
        servers = sorted({s for p in planned if (s := getattr(p.step, "server", None)) and not p.refusals})
        for ref in servers:
            try:
                facts[f"jvm {ref}"] = {"pids": wl.pids(ctx.remote, wl.target(ctx.device.remediation, ref),
                                                       READ_TIMEOUT)}
            except StepFailed as e:
                facts[f"jvm {ref}"] = {"error": str(e)}
        return facts

    # -- records ------------------------------------------------------------------------------

    def _new(self, req: Request, mode: str) -> RunResult:
        return RunResult(mode, "", "", req.device.name, req.bound.playbook.name, req.bound.params,
                         started_at=self.clock())

    def _finish(self, req: Request, res: RunResult, result: str, message: str) -> RunResult:
        res.result, res.message = result, message
        res.audit_id = audit.record(self.engine, audit.AuditRecord(
            started_at=res.started_at, finished_at=self.clock(), actor=req.actor, device=res.device,
            playbook=res.playbook, mode=res.mode, params=res.params,
            plan=[p.to_dict() for p in res.planned],
            outputs={"steps": res.outcomes, "before": res.facts_before, "after": res.facts_after,
                     "bytes_freed": res.bytes_freed, "commands": res.transcript},
            result=result, message=message, bytes_freed=res.total_freed, case_number=req.case,
            forced_reason=res.forced_reason))
        if req.case and self.case_hook and res.mode == "apply" and result in ("ok", "failed"):
            self.case_hook(req.case, req.actor, {
                "playbook": res.playbook, "device": res.device, "params": res.params, "result": result,
                "message": message, "before": res.facts_before, "after": res.facts_after,
                "bytes_freed": res.total_freed, "audit_id": res.audit_id})
        return res
