"""The closed set of step types: how each one plans (reads the device, lists the exact
commands) and how it applies (runs only what was planned, re-checking first). The wait
steps live in agent/playbook/waits.py."""

from __future__ import annotations

from typing import Any

from agent.inventory import Device
from agent.playbook import files as fs
from agent.playbook import waits
from agent.playbook import weblogic as wl
from agent.playbook.model import (
    Command,
    Compress,
    Delete,
    FindFiles,
    Service,
    Step,
    WaitHttp,
    WaitLog,
    WaitPort,
    WaitProcess,
)
from agent.playbook.remote import StepFailed, argv, q, timed
from agent.playbook.step_base import READ_TIMEOUT, Context, Outcome, Planned
from agent.playbook.waits import log_size
from agent.remediation import fill, human_bytes

__all__ = ["READ_TIMEOUT", "Context", "Outcome", "Planned", "apply_step", "log_size",
           "plan_step", "start_command"]


# -- planning ----------------------------------------------------------------------------


def plan_step(ctx: Context, phase: str, index: int, step: Step) -> Planned:
    p = Planned(phase, index, step, step.title or _default_title(step))
    if not step.when:
        p.skipped = "switched off by a parameter"
        return p
    try:
        _PLANNERS[step.type](ctx, p)
    except StepFailed as e:
        p.refusals.append(str(e))
    return p


def _default_title(step: Step) -> str:
    match step:
        case FindFiles():
            return f"find {', '.join(step.patterns)} under {', '.join(step.roots) or 'the allowed roots'}"
        case Compress():
            return f"gzip the files selected by {step.files}"
        case Delete():
            return f"delete the files selected by {step.files}"
        case Command():
            return f"run allow-listed command {step.name}"
        case Service():
            return f"{step.action} WebLogic server {step.server}"
        case WaitProcess():
            return f"wait until the JVM of {step.server} is {step.state}"
        case WaitLog():
            return f"wait for {step.text!r} in the log of {step.server}"
        case WaitHttp():
            return f"wait for HTTP {step.status} from {step.url or step.server}"
        case WaitPort():
            return f"wait until port {step.port} is {step.state}"
    return step.type


def _plan_find(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, FindFiles)
    roots, refusals = fs.resolve_roots(ctx.remote, ctx.device.remediation.allowed_roots, s.roots, s.timeout)
    p.refusals += refusals
    p.roots = roots
    chosen: list[fs.FileEntry] = []
    for root in roots:
        p.commands.append(fs.find_command(root, s.patterns))
        found = fs.find(ctx.remote, root, s.patterns, s.timeout)
        sel, kept = fs.select(found, ctx.device_now, s.older_than_days, s.larger_than, s.combine,
                              s.keep_newest)
        found_size, sel_size = human_bytes(sum(f.size for f in found)), human_bytes(sum(f.size for f in sel))
        p.notes.append(f"{root}: {len(found)} matching files ({found_size}), "
                       f"{kept} kept as newest, {len(sel)} selected ({sel_size})")
        chosen += sel
    p.files = chosen
    ctx.selections[s.id or f"{p.phase}[{p.index}]"] = list(chosen)


def _plan_compress(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, Compress)
    selection = ctx.selections.get(s.files, [])
    p.files = [f for f in selection if not f.compressed]
    ctx.selections[s.files] = [f for f in selection if f.compressed]
    p.commands = [fs.compress_command(i, f) for i, f in enumerate(p.files)]


def _plan_delete(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, Delete)
    p.files = list(ctx.selections.get(s.files, []))
    ctx.selections[s.files] = []
    p.commands = [fs.delete_command(i, f) for i, f in enumerate(p.files)]


def command_argv(device: Device, s: Command) -> list[str]:
    allowed = device.remediation.commands
    if s.name not in allowed:
        raise StepFailed(f"command {s.name!r} is not allow-listed for {device.name} "
                         f"(allowed: {', '.join(allowed) or 'none'})")
    spec = allowed[s.name]
    values: dict[str, Any] = {}
    for key in s.args:
        if key not in spec.params:
            raise StepFailed(f"command {s.name} takes no parameter {key!r} "
                             f"(takes: {', '.join(spec.params) or 'none'})")
    for key, ps in spec.params.items():
        raw = s.args.get(key, ps.default)
        if raw is None or raw == "":
            raise StepFailed(f"command {s.name} needs {key} ({ps.type})")
        try:
            values[key] = ps.coerce(raw)
        except ValueError as e:
            raise StepFailed(f"command {s.name}, {key}: {e}") from None
    return [fill(a, {k: " ".join(v) if isinstance(v, list) else v for k, v in values.items()})
            for a in spec.argv]


def _plan_command(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, Command)
    args = command_argv(ctx.device, s)
    timeout = min(s.timeout, ctx.device.remediation.commands[s.name].timeout)
    p.commands = [timed(args, timeout)]


def start_command(t: wl.Target) -> str:
    out = f"{t.domain.home.rstrip('/')}/xunjian-start-{t.name}.out"
    return (f"cd {q(t.domain.home)} && (setsid nohup {argv(t.script('start'))} >> {q(out)} 2>&1 "
            f"< /dev/null &) && echo started")


def _plan_service(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, Service)
    t = wl.target(ctx.device.remediation, s.server)
    if s.action == "start":
        p.commands = [start_command(t)]
    else:
        p.commands = [f"cd {q(t.domain.home)} && {timed(t.script('stop'), s.timeout)}"]
    running = wl.pids(ctx.remote, t, READ_TIMEOUT)
    now = f"running, pid {', '.join(map(str, running))}" if running else "not running"
    p.notes.append(f"{t.name} JVM now: {now}")


_PLANNERS = {"find_files": _plan_find, "compress": _plan_compress, "delete": _plan_delete,
             "command": _plan_command, "service": _plan_service, **waits.PLANNERS}


# -- applying ------------------------------------------------------------------------------


def apply_step(ctx: Context, p: Planned) -> Outcome:
    if p.skipped:
        return Outcome(True, f"skipped: {p.skipped}")
    if p.refusals:
        return Outcome(False, "; ".join(p.refusals))
    try:
        return _APPLIERS[p.step.type](ctx, p)
    except StepFailed as e:
        return Outcome(False, str(e))


def _apply_find(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, FindFiles)
    roots, refusals = fs.resolve_roots(ctx.remote, ctx.device.remediation.allowed_roots, s.roots, s.timeout)
    if refusals or roots != p.roots:
        return Outcome(False, f"roots changed since the plan: {'; '.join(refusals) or ', '.join(roots)}")
    return Outcome(True, f"roots unchanged; {len(p.files)} files planned")


def _apply_files(ctx: Context, p: Planned, compress: bool) -> Outcome:
    make = fs.compress_command if compress else fs.delete_command
    results = fs.run_batch(ctx.remote, [make(i, f) for i, f in enumerate(p.files)], p.step.timeout)
    freed: dict[str, int] = {}
    done, changed, failed = [], [], []
    for i, f in enumerate(p.files):
        r = results.get(i)
        if r and r[0] == "ok":
            gz = int(r[1]) if compress and len(r) > 1 and r[1].isdigit() else 0
            freed[f.root] = freed.get(f.root, 0) + f.size - gz
            done.append(f.path)
        elif r and r[0] == "changed":
            changed.append(f.path)
        else:
            failed.append(f.path)
    verb = "compressed" if compress else "deleted"
    msg = f"{len(done)} {verb}, {human_bytes(sum(freed.values()))} freed"
    if changed:
        msg += f"; {len(changed)} left alone (changed since the plan): {', '.join(changed[:5])}"
    if failed:
        return Outcome(False, msg + f"; {len(failed)} failed: {', '.join(failed[:5])}", freed, done)
    return Outcome(True, msg, freed, done)


def _apply_command(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, Command)
    timeout = min(s.timeout, ctx.device.remediation.commands[s.name].timeout)
    out = ctx.remote.run(p.commands[0], timeout + 10)
    if out.exit_status == 124:
        return Outcome(False, f"timed out after {timeout:g} s")
    if out.exit_status != 0:
        return Outcome(False, f"exit status {out.exit_status}: {(out.stderr or out.stdout).strip()[:300]}")
    return Outcome(True, f"exit status 0{': ' + out.stdout.strip()[:200] if out.stdout.strip() else ''}")


def _apply_service(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, Service)
    if s.only_if_gone:
        running = wl.pids(ctx.remote, wl.target(ctx.device.remediation, s.server), READ_TIMEOUT)
        if running:
            return Outcome(True, f"{s.server} is running (pid {', '.join(map(str, running))}): not started")
    out = ctx.remote.run(p.commands[0], s.timeout + 15)
    if out.exit_status == 124:
        late = f"{s.action} script of {s.server} did not finish within {s.timeout:g} s"
        if s.tolerate_timeout:
            return Outcome(True, late + "; continuing (the next step may force it)")
        return Outcome(False, late)
    if out.exit_status != 0:
        return Outcome(False, f"{s.action} script of {s.server} failed with exit status "
                              f"{out.exit_status}: {(out.stderr or out.stdout).strip()[:300]}")
    return Outcome(True, f"{s.action} script of {s.server} ran")


_APPLIERS = {"find_files": _apply_find, "compress": lambda c, p: _apply_files(c, p, True),
             "delete": lambda c, p: _apply_files(c, p, False), "command": _apply_command,
             "service": _apply_service, **waits.APPLIERS}


