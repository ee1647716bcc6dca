"""Switch CLI inspection over SSH with netmiko: Huawei VRP, H3C Comware, Cisco IOS.

One netmiko session per device per inspection runs the platform's commands
(collectors/cli_commands.py); outputs are read with ntc-templates or the small parsers in
collectors/cli_parse.py after the session is closed. netmiko is blocking: it runs in one
bounded thread pool for the whole process (never on an event loop), at most one session
per device at a time (a switch has few VTY lines).

Samples (tag `host` on all):
- `interface` per port (tag ifName): admin_status, oper_status, oper_state (as the snmp
  collector's, so the `port_down` rule applies), protocol and what the platform shows.
- `cli_switchport` per port from Cisco `show interfaces status` (tag port).
- `cli_cpu` usage_percent (+ 5 s / 1 min / 5 min), `cli_memory` used_percent.
- `cli_log` buffer lines counted by syslog severity, errors = severity 0-3.
- `cli` (system): platform, model, software_rev, uptime_seconds, checks_total/failed.
- `asset`: vendor, os, model, serial, software_rev — picked up by the asset register.
- `cli_command` per check (tag check, command): status "ok" or "not collected: <reason>";
  the `cli_command` rule turns the latter into UNKNOWN, the raw output goes to evidence.
- `cli_config`: sha256, size, lines, changed; on a change an `event` (kind config_change)
  with a unified diff of the redacted configuration.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from agent.connections.reasons import banner_reason, network_reason
from collectors.cli_commands import CHECKS, PLATFORMS, Command, Platform
from collectors.cli_parse import (
    PARSERS,
    CliParseError,
    normalise,
    normalise_config,
    redact_config,
    rejected,
    textfsm_rows,
)
from collectors.common.redact import redact
from collectors.config_files import redacted_diff
from core.model import CollectionError, Sample, Target, now_ns

EVIDENCE_CHARS = 2000  # raw output kept per failed check
# paramiko waits conn_timeout for the banner in its transport thread, and conn_timeout for the
# whole handshake in the caller: equal, they race, and a silent server reads "No existing
# session". The caller waits this much longer, so the banner timeout (a clear reason) comes first.
HANDSHAKE_SLACK = 0.5


class CliSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Literal["huawei", "hp_comware", "cisco_ios"]
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretStr
    secret: SecretStr | None = None  # enable secret (Cisco); the password when not given
    conn_timeout: float = Field(default=10.0, gt=0, le=120)    # SSH banner (TCP connect: +0.5 s)
    auth_timeout: float = Field(default=10.0, gt=0, le=120)
    read_timeout: float = Field(default=30.0, gt=0, le=600)    # per command
    known_hosts: str = "~/.ssh/known_hosts"
    host_key_policy: Literal["reject", "accept-new"] = "reject"
    checks: list[str] | None = None   # a subset of the platform's checks; default all
    watch_ports: list[str] = Field(default_factory=list)
    ignore_ports: list[str] = Field(default_factory=list)
    diff_lines: int = Field(default=80, ge=5, le=1000)
    max_diff_bytes: int = Field(default=1024 * 1024, ge=0, le=16 * 2**20)

    @field_validator("checks")
    @classmethod
    def _checks(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            bad = [c for c in v if c not in CHECKS]
            if bad:
                raise ValueError(f"unknown check(s) {', '.join(bad)}; expected some of "
                                 f"{', '.join(CHECKS)}")
        return v


# ---------------------------------------------------------------- the session pool

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_max_sessions = int(os.environ.get("XUNJIAN_CLI_MAX_SESSIONS", "8") or 8)
_device_locks: dict[str, threading.Lock] = {}


def set_max_sessions(n: int) -> None:
    """The global cap on concurrent netmiko sessions (default 8, env XUNJIAN_CLI_MAX_SESSIONS)."""
    global _pool, _max_sessions
    if n < 1:
        raise ValueError("max sessions must be at least 1")
    with _pool_lock:
        _max_sessions = n
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_max_sessions, thread_name_prefix="netcli")
        return _pool


def _device_lock(key: str) -> threading.Lock:
    with _pool_lock:
        return _device_locks.setdefault(key, threading.Lock())


@dataclass(slots=True)
class Outcome:
    command: Command
    raw: str | None = None
    error: str | None = None


def _connect_error(e: BaseException, host: str, s: CliSettings) -> str:
    """A reason for people, built from the exception types (netmiko's, and the socket or
    paramiko error it wraps) only: netmiko's own messages can be long tutorials, and nothing
    from them may carry a secret into a report."""
    import paramiko
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    where = f"{host}:{s.port}"
    if isinstance(e, NetmikoAuthenticationException | paramiko.AuthenticationException):
        return f"login refused by {where}: authentication failed for user {s.username!r}"
    if isinstance(e, paramiko.BadHostKeyException):
        return f"host key of {where} does not match known_hosts (a changed or spoofed device?)"
    text = str(e)
    if "not found in known_hosts" in text:
        return (f"host key of {where} is not in known_hosts: add it, or set "
                "settings.cli.host_key_policy: accept-new")
    # netmiko says "TCP connection to device failed" (a timeout exception) for a closed port
    # as for a silent one: the socket error it was raised from tells them apart
    waited = s.conn_timeout + HANDSHAKE_SLACK
    found = banner_reason(e, where, s.conn_timeout) or network_reason(e, host, s.port, waited)
    if found is not None:
        return found
    if "no existing session" in text.lower():
        return f"{where} did not complete the SSH handshake within {waited:g} s"
    if isinstance(e, NetmikoTimeoutException | TimeoutError | socket.timeout):
        return f"timed out connecting to {where} (within {waited:g} s)"
    return f"SSH/CLI session to {where} failed: {type(e).__name__}"


def _session(target: Target, s: CliSettings, plat: Platform,
             commands: list[Command]) -> list[Outcome]:
    """Runs in the pool: one login, the commands, logout. Command failures are data."""
    from netmiko import ConnectHandler

    from agent.connections.ssh import AcceptNewPolicy

    where = f"{target.address}:{s.port}"
    known = Path(s.known_hosts).expanduser()
    params: dict[str, Any] = {
        "device_type": plat.device_type, "host": target.address, "port": s.port,
        "username": s.username, "password": s.password.get_secret_value(),
        "secret": (s.secret or s.password).get_secret_value(),
        "fast_cli": True, "conn_timeout": s.conn_timeout + HANDSHAKE_SLACK,
        "auth_timeout": s.auth_timeout,
        "banner_timeout": s.conn_timeout,
        "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
        "alt_key_file": str(known), "use_keys": False, "allow_agent": False,
        "auto_connect": False, "session_log": None,
    }
    with _device_lock(where):
        conn: Any = None
        try:
            conn = ConnectHandler(**params)
            if s.host_key_policy == "accept-new":
                conn.key_policy = AcceptNewPolicy(known)
            conn._open()  # netmiko's connect step; auto_connect=False lets us set the policy first
        except Exception as e:
            if conn is not None:  # a half-open transport (refused login, bad key) is closed too
                with contextlib.suppress(Exception):
                    conn.paramiko_cleanup()
            raise CollectionError(_connect_error(e, target.address, s)) from None
        out: list[Outcome] = []
        try:
            if plat.enable:
                try:
                    if not conn.check_enable_mode():
                        conn.enable()
                except Exception as e:
                    raise CollectionError(f"could not enter privileged mode on {where} "
                                          f"({type(e).__name__}): check settings.cli.secret") from None
            # each command reads up to the prompt netmiko learnt at login: without an
            # expect_string netmiko sends an extra newline per command to find the prompt (a
            # round trip, and the late second prompt can cut the next command's output short)
            expect = re.escape(conn.base_prompt) + r"[>#\]]\s*$"
            for i, cmd in enumerate(commands):
                try:
                    raw = ""
                    for _attempt in range(2):  # an empty answer once is a channel hiccup
                        raw = str(conn.send_command(cmd.command, read_timeout=s.read_timeout,
                                                    expect_string=expect, strip_prompt=True,
                                                    strip_command=True))
                        if raw.strip():
                            break
                        conn.clear_buffer()
                    out.append(Outcome(cmd, raw=raw))
                except Exception as e:
                    kind = type(e).__name__
                    hint = f" (no prompt within read_timeout {s.read_timeout:g} s)" \
                        if "Timeout" in kind else ""
                    out.append(Outcome(cmd, error=f"'{cmd.command}' failed: {kind}{hint}"))
                    # after a lost channel or a read timeout the stream is out of step (the late
                    # answer would be read as the next command's): the rest is not collected
                    if hint or isinstance(e, OSError | EOFError):
                        why = "a read timeout on an earlier command" if hint else "the session was lost"
                        out += [Outcome(c, error=f"not run: {why}") for c in commands[i + 1:]]
                        break
        finally:
            # Log out without netmiko's disconnect(): it first probes for config mode, which
            # we never enter (2 s on VRP); a dead channel cannot be closed politely anyway.
            with contextlib.suppress(Exception):
                conn.write_channel(plat.logout + conn.RETURN)
            with contextlib.suppress(Exception):
                conn.paramiko_cleanup()
        return out


# ---------------------------------------------------------------- the collector

def _port_state(admin: str, oper: str, seen_up: bool, watched: bool) -> str:
    """As the snmp collector: a port that was up and went down is a fault; an unused one not."""
    if admin == "down":
        return "admin-down"
    if oper == "up":
        return "up"
    if watched:
        return "down-watched"
    return "down-was-up" if seen_up else "down"


def _matches(patterns: list[str], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class CliCollector:
    settings_model = CliSettings
    name = "cli"

    def collect(self, target: Target, conn: Any) -> list[Sample]:
        s = target.settings
        if not isinstance(s, CliSettings):
            raise CollectionError("no settings.cli for this device (platform, username, "
                                  "password): see the README, section 'Switch CLI inspection'")
        plat = PLATFORMS[s.platform]
        commands = [c for c in plat.commands if s.checks is None or c.check in s.checks]
        budget = s.conn_timeout + s.auth_timeout + s.read_timeout * (len(commands) + 1) + 5
        future = _executor().submit(_session, target, s, plat, commands)
        try:
            outcomes = future.result(timeout=budget)
        except FutureTimeout:
            raise CollectionError(f"CLI session to {target.address}:{s.port} took longer than "
                                  f"{budget:.0f} s") from None
        return self._samples(target, s, plat, outcomes, now_ns())

    def _samples(self, target: Target, s: CliSettings, plat: Platform,
                 outcomes: list[Outcome], t: int) -> list[Sample]:
        host = target.name
        samples: list[Sample] = []
        parsed: dict[str, dict[str, Any]] = {}
        config_raw: str | None = None
        failed: list[str] = []
        for o in outcomes:
            cmd = o.command
            reason = o.error
            if reason is None and o.raw is not None:
                refused = rejected(o.raw)
                if refused:
                    reason = f"the device rejected '{cmd.command}': {refused}"
                elif cmd.parser == "config":
                    if not o.raw.strip():
                        reason = f"'{cmd.command}' returned nothing"
                    else:
                        config_raw = o.raw
                else:
                    try:
                        if cmd.parser == "textfsm":
                            parsed[cmd.check] = normalise(
                                cmd.check, plat.ntc, textfsm_rows(plat.ntc, cmd.command, o.raw))
                        else:
                            parsed[cmd.check] = PARSERS[cmd.parser](o.raw)
                    except CliParseError as e:
                        reason = str(e)
            tags = {"host": host, "check": cmd.check, "command": cmd.command}
            if reason is None:
                samples.append(Sample("cli_command", tags, {"status": "ok"}, t))
                continue
            failed.append(cmd.check)
            samples.append(Sample("cli_command", tags, {"status": f"not collected: {reason}"}, t))
            evidence = f"{cmd.check} ('{cmd.command}'): not collected: {reason}"
            if o.raw is not None:
                excerpt = redact(redact_config(o.raw))[:EVIDENCE_CHARS]
                evidence += f"\n--- raw output ({len(o.raw)} chars) ---\n{excerpt}"
            target.evidence.append(evidence)
        if outcomes and len(failed) == len(outcomes):
            raise CollectionError(f"no CLI command could be read on {target.address}:{s.port}: "
                                  + "; ".join(str(x.fields["status"])[15:] for x in samples[:3]))

        samples += self._ports(target, s, parsed, t)
        if "switchports" in parsed:
            for p in parsed["switchports"]["ports"]:
                if _matches(s.ignore_ports, p["name"]):
                    continue
                f = {k: v for k, v in p.items() if k != "name" and v not in ("", None)}
                samples.append(Sample("cli_switchport", {"host": host, "port": p["name"]}, f, t))
        if "cpu" in parsed:
            samples.append(Sample("cli_cpu", {"host": host}, dict(parsed["cpu"]), t))
            target.evidence.append(f"cpu: {parsed['cpu']['usage_percent']}%")
        if "memory" in parsed:
            samples.append(Sample("cli_memory", {"host": host}, dict(parsed["memory"]), t))
            target.evidence.append(f"memory: {parsed['memory']['used_percent']}% used")
        if "logs" in parsed:
            samples.append(Sample("cli_log", {"host": host}, dict(parsed["logs"]), t))
        version = {**parsed.get("serial", {}), **{k: v for k, v in parsed.get("version", {}).items()
                                                 if v not in ("", None)}}
        if "serial" in parsed and parsed["serial"].get("serial"):
            version["serial"] = parsed["serial"]["serial"]  # manuinfo/esn beats show version
        system: dict[str, float | int | str | bool] = {
            "platform": plat.device_type, "checks_total": len(outcomes), "checks_failed": len(failed)}
        for k in ("model", "software_rev", "hostname", "uptime_seconds"):
            if version.get(k) not in ("", None):
                system[k] = version[k]
        samples.append(Sample("cli", {"host": host}, system, t))
        # the asset only when every asset command was read: a serial missing for one cycle
        # must not be recorded as an asset change
        asset_checks = {o.command.check for o in outcomes} & {"version", "serial"}
        if asset_checks and asset_checks <= set(parsed):
            asset: dict[str, float | int | str | bool] = {
                "vendor": str(version.get("vendor") or plat.vendor), "os": plat.os}
            for k in ("model", "serial", "software_rev"):
                if version.get(k):
                    asset[k] = str(version[k])
            samples.append(Sample("asset", {"host": host}, asset, t))
            target.evidence.append("version: " + ", ".join(f"{k} {v}" for k, v in asset.items()))
        if config_raw is not None:
            samples += self._config(target, s, config_raw, t)
        return samples

    def _ports(self, target: Target, s: CliSettings, parsed: dict[str, dict[str, Any]],
               t: int) -> list[Sample]:
        if "ports" not in parsed:
            return []
        memory: dict[str, Any] = target.state.setdefault("ports", {})
        seen: dict[str, Any] = {}
        out: list[Sample] = []
        up = 0
        for p in parsed["ports"]["ports"]:
            name = p["name"]
            if _matches(s.ignore_ports, name):
                continue
            before = memory.get(name) or {}
            state = _port_state(p["admin"], p["oper"], bool(before.get("seen_up")),
                                _matches(s.watch_ports, name))
            fields: dict[str, float | int | str | bool] = {
                "admin_status": p["admin"], "oper_status": p["oper"], "oper_state": state,
                "status_changed": int(bool(before) and before.get("oper") != p["oper"])}
            for k, v in p.items():
                if k not in ("name", "admin", "oper") and v not in ("", None):
                    fields[k] = v
            out.append(Sample("interface", {"host": target.name, "ifName": name, "port": name}, fields, t))
            seen[name] = {"seen_up": bool(before.get("seen_up")) or p["oper"] == "up", "oper": p["oper"]}
            up += p["oper"] == "up"
        memory.clear()
        memory.update(seen)
        target.evidence.append(f"ports: {len(seen)}, {up} up")
        return out

    def _config(self, target: Target, s: CliSettings, raw: str, t: int) -> list[Sample]:
        text = normalise_config(raw)
        data = text.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        before = target.state.get("config")
        changed = isinstance(before, dict) and before.get("sha256") != sha
        tags = {"host": target.name}
        out = [Sample("cli_config", tags, {"sha256": sha, "size": len(data),
                                           "lines": text.count("\n"), "changed": int(changed)}, t)]
        # what is remembered for the next diff is the redacted text, never a secret
        kept = redact(redact_config(text)) if len(data) <= s.max_diff_bytes else None
        if changed and isinstance(before, dict):
            fields: dict[str, float | int | str | bool] = {
                "message": f"running configuration of {target.name} changed: "
                           f"{before.get('size')} → {len(data)} bytes, sha256 "
                           f"{str(before.get('sha256'))[:12]} → {sha[:12]}",
                "count": 1}
            old = before.get("text")
            if isinstance(old, str) and kept is not None:
                diff = redacted_diff(old, kept, "running-config", s.diff_lines)
                fields["diff"] = diff or "(only redacted values changed)"
            out.append(Sample("event", {"host": target.name, "source": "cli",
                                        "kind": "config_change", "path": "running-config"},
                              fields, t))
            target.evidence.append(str(fields["message"]))
        target.state["config"] = {"sha256": sha, "size": len(data), "text": kept, "time": time.time()}
        return out
