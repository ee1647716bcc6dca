"""The wait steps: a JVM running or gone, a line in a log, an HTTP status, a port open or
closed — each polled on the device until its timeout."""

from __future__ import annotations

from agent.playbook import weblogic as wl
from agent.playbook.model import WaitHttp, WaitLog, WaitPort, WaitProcess
from agent.playbook.remote import StepFailed, poll, q
from agent.playbook.step_base import READ_TIMEOUT, Context, Outcome, Planned


def _plan_wait_process(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, WaitProcess)
    t = wl.target(ctx.device.remediation, s.server)
    p.commands = [wl.PS + f"   (every {ctx.poll_interval:g} s: -Dweblogic.Name={t.name} weblogic.Server)"]
    if s.kill_on_timeout:
        if t.domain.allow_kill:
            p.notes.append("if still running at the timeout: kill -KILL <pid>")
            p.commands.append("kill -KILL <pid of the JVM, if still running at the timeout>")
        else:
            p.notes.append(f"forced kill wanted but the inventory does not allow it for domain "
                           f"{t.domain_name} (remediation.weblogic.domains.{t.domain_name}.allow_kill)")


def _log_probe(path: str, offset: int, texts: list[str]) -> str:
    greps = " ".join(f"-e {q(x)}" for x in texts)
    return (f"s=$(stat -c %s -- {q(path)} 2>/dev/null || echo 0); o={int(offset)}; "
            f'[ "$s" -lt "$o" ] && o=0; tail -c +$((o+1)) -- {q(path)} 2>/dev/null | '
            f"grep -F {greps} | head -n 1")


def _plan_wait_log(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, WaitLog)
    t = wl.target(ctx.device.remediation, s.server)
    texts = [s.text] + ([s.fail_text] if s.fail_text else [])
    p.commands = [_log_probe(t.log, 0, texts).replace("o=0;", "o=<size at start of run>;", 1)]
    p.notes.append(f"log {t.log}")


def _url(ctx: Context, s: WaitHttp) -> str:
    if s.url:
        return s.url
    if s.server is None:
        raise StepFailed("wait_http needs url or server")
    url = wl.target(ctx.device.remediation, s.server).health_url
    if not url:
        raise StepFailed(f"server {s.server} has no health_url in the inventory")
    return url


def _http_probe(url: str) -> str:
    return f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 {q(url)}"


def _plan_wait_http(ctx: Context, p: Planned) -> None:
    s = p.step
    assert isinstance(s, WaitHttp)
    p.commands = [_http_probe(_url(ctx, s))]


def _plan_wait_port(ctx: Context, p: Planned) -> None:
    p.commands = ["ss -Hltn"]


PLANNERS = {"wait_process": _plan_wait_process, "wait_log": _plan_wait_log, "wait_http": _plan_wait_http,
            "wait_port": _plan_wait_port}


def _apply_wait_process(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, WaitProcess)
    t = wl.target(ctx.device.remediation, s.server)
    seen: list[int] = []

    def probe() -> bool:
        seen[:] = wl.pids(ctx.remote, t, READ_TIMEOUT)
        return bool(seen) == (s.state == "running")

    try:
        poll(f"the JVM of {t.name} to be {s.state}", s.timeout, ctx.poll_interval, probe)
    except StepFailed as e:
        if not (s.state == "gone" and s.kill_on_timeout and t.domain.allow_kill and seen):
            return Outcome(False, str(e) + (f" (pid {', '.join(map(str, seen))})" if seen else ""))
        ctx.remote.run(f"kill -KILL {' '.join(str(int(x)) for x in seen)}", READ_TIMEOUT)
        poll(f"the JVM of {t.name} to exit after kill -KILL", 15, ctx.poll_interval, probe)
        return Outcome(True, f"JVM did not exit within {s.timeout:g} s: killed pid "
                             f"{', '.join(map(str, seen))} (allowed by playbook and inventory)")
    return Outcome(True, f"JVM of {t.name} is {s.state}" + (f" (pid {', '.join(map(str, seen))})"
                                                             if seen else ""))


def log_size(ctx: Context, path: str) -> int:
    out = ctx.remote.run(f"stat -c %s -- {q(path)}", READ_TIMEOUT)
    return int(out.stdout.strip()) if out.exit_status == 0 and out.stdout.strip().isdigit() else 0


def _apply_wait_log(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, WaitLog)
    t = wl.target(ctx.device.remediation, s.server)
    offset = ctx.log_offsets.get(t.log, 0)
    texts = [s.text] + ([s.fail_text] if s.fail_text else [])
    line: list[str] = []

    def probe() -> bool:
        line[:] = [ctx.remote.run(_log_probe(t.log, offset, texts), READ_TIMEOUT).stdout.strip()]
        return bool(line[0])

    poll(f"{s.text!r} in {t.log}", s.timeout, ctx.poll_interval, probe)
    if s.fail_text and s.fail_text in line[0] and s.text not in line[0]:
        return Outcome(False, f"the log says {line[0][:300]}")
    return Outcome(True, f"seen: {line[0][:300]}")


def _apply_wait_http(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, WaitHttp)
    got: list[str] = []

    def probe() -> bool:
        got[:] = [ctx.remote.run(p.commands[0], READ_TIMEOUT).stdout.strip()]
        return got[0] == str(s.status)

    try:
        poll(f"HTTP {s.status} from {_url(ctx, s)}", s.timeout, ctx.poll_interval, probe)
    except StepFailed as e:
        return Outcome(False, f"{e} (last: {got[0] if got else 'none'})")
    return Outcome(True, f"HTTP {s.status}")


def listening(ss_output: str, port: int) -> bool:
    for line in ss_output.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[3].rsplit(":", 1)[-1] == str(port):
            return True
    return False


def _apply_wait_port(ctx: Context, p: Planned) -> Outcome:
    s = p.step
    assert isinstance(s, WaitPort)

    def probe() -> bool:
        return listening(ctx.remote.run("ss -Hltn", READ_TIMEOUT).stdout, s.port) == (s.state == "open")

    poll(f"port {s.port} {s.state}", s.timeout, ctx.poll_interval, probe)
    return Outcome(True, f"port {s.port} {s.state}")


APPLIERS = {"wait_process": _apply_wait_process, "wait_log": _apply_wait_log,
            "wait_http": _apply_wait_http, "wait_port": _apply_wait_port}
