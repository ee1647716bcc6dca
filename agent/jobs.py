"""Jobs as plain data, for running a collection in another process.

`job_for` writes a device into a Job (kind, address, port, its `ssh:` and collector
settings with secrets as references — never their values); `target_of` rebuilds what the
executor needs from that data in the other process, validating the settings with the
collector's model and resolving the references from *that* process's secrets. Results come
back as `Result.to_dict()`.

`python -m agent.jobs [--secrets FILE]` reads one job as JSON on stdin, runs it, and writes
its result as JSON on stdout: the process boundary a site collector has.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.connections.endpoint import SshSettings
from agent.inventory import BUILTIN_DEFAULTS, Device, build_ssh, collector_settings
from agent.secrets import Secrets
from core.model import Job, Result
from core.problems import ConfigError, Problem


def job_for(device: Device, collector: str, tick: float = 0.0,
            state: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Job:
    """The job of one collector on one device, self-contained."""
    raw = device.source.get("settings", {}).get(collector)
    target = {"kind": device.kind, "address": device.address, "port": device.port,
              "ssh": dict(device.source.get("ssh", {})),
              "settings": {collector: raw} if raw is not None else {}}
    return Job(device.name, collector, dict(params or {}), tick, target, state)


@dataclass(frozen=True, slots=True)
class JobTarget:
    """The device a job names, rebuilt from the job's data (a RunTarget for the executor)."""

    name: str
    kind: str
    address: str
    port: int
    ssh: SshSettings
    settings: dict[str, Any] = field(default_factory=dict)


def target_of(job: Job, secrets: Secrets) -> JobTarget:
    """Validate the job's device data here; a problem is a ConfigError naming the job."""
    where = f"job {job.device}/{job.collector}"
    problems: list[Problem] = []

    def report(key: str, expected: str) -> None:
        problems.append(Problem(where, key, expected))

    data = job.target
    if not data:
        raise ConfigError([Problem(where, "target", "the job carries no device data")])
    ssh = {**BUILTIN_DEFAULTS["ssh"], **(data.get("ssh") or {})}
    settings = collector_settings(dict(data.get("settings") or {}), report, secrets)
    ssh_settings = build_ssh(ssh, Path("/"), secrets, report)
    if problems:
        raise ConfigError(problems)
    return JobTarget(job.device, str(data.get("kind", "server")), str(data["address"]),
                     int(data.get("port", 22)), ssh_settings, settings)


def run_job(job: Job, secrets: Secrets) -> Result:
    from agent.executor import Executor  # the collectors' imports only when a job runs

    return Executor().run(job, target_of(job, secrets))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.jobs",
                                 description="Run one job read as JSON on stdin; print its result as JSON.")
    ap.add_argument("--secrets", type=Path, help="the secrets file the job's references resolve from")
    args = ap.parse_args(argv)
    try:
        job = Job.from_dict(json.loads(sys.stdin.read()))
        result = run_job(job, Secrets(args.secrets))
    except ConfigError as e:
        for line in e.lines():
            print(f"xunjian: {line}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as e:
        print(f"xunjian: stdin: a job as JSON expected ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
