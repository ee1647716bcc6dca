"""A WebLogic server as the inventory describes it, and its JVM as `ps` shows it."""

from __future__ import annotations

from dataclasses import dataclass

from agent.playbook.remote import Remote, StepFailed
from agent.remediation import Remediation, WeblogicDomain, WeblogicServer, fill

PS = "ps -eo pid=,args="


@dataclass(frozen=True)
class Target:
    domain_name: str
    name: str
    domain: WeblogicDomain
    server: WeblogicServer

    @property
    def values(self) -> dict[str, str]:
        return {"home": self.domain.home, "server": self.name}

    @property
    def log(self) -> str:
        return fill(self.server.log, self.values)

    @property
    def health_url(self) -> str | None:
        return fill(self.server.health_url, self.values) if self.server.health_url else None

    def script(self, action: str) -> list[str]:
        return [fill(a, self.values) for a in (self.domain.start if action == "start" else self.domain.stop)]


def target(remediation: Remediation, ref: str) -> Target:
    """`domain/server` → the configured server; StepFailed naming what is configured."""
    domain_name, _, name = ref.partition("/")
    domains = remediation.weblogic.domains
    if domain_name not in domains:
        raise StepFailed(f"no WebLogic domain {domain_name!r} in the device's remediation.weblogic "
                         f"(configured: {', '.join(domains) or 'none'})")
    domain = domains[domain_name]
    if name not in domain.servers:
        raise StepFailed(f"no server {name!r} in domain {domain_name} "
                         f"(configured: {', '.join(domain.servers)})")
    return Target(domain_name, name, domain, domain.servers[name])


def jvm_pids(ps_output: str, server: str) -> list[int]:
    """PIDs whose command line has `-Dweblogic.Name=<server>` and the main class weblogic.Server."""
    pids = []
    for line in ps_output.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        if f"-Dweblogic.Name={server}" in parts[1:] and "weblogic.Server" in parts[1:]:
            pids.append(int(parts[0]))
    return pids


def pids(remote: Remote, t: Target, timeout: float) -> list[int]:
    out = remote.run(PS, timeout)
    if out.exit_status != 0:
        raise StepFailed(f"ps failed: {out.stderr.strip()[:200]}")
    return jvm_pids(out.stdout, t.name)
