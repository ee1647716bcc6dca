"""Benchmark (not a test): the Linux health batch on N "hosts" (N inventory entries that all
point at one local sshd), our `linux` collector side by side with parallel-ssh and
`ansible -m shell` on the same workload, in one run.

    .venv/bin/python -m bench.bench_ssh [--hosts 200] [--parallel 50] [--rounds N] [--json]
                                       [--tools xunjian,paramiko,parallel-ssh,ansible]
                                       [--ansible PATH | --no-ansible-install]

Prints wall time, client CPU per host and sshd CPU per host for each tool, and the ratios.
Each tool gets its own fresh test sshd.

CPU accounting. sshd and each client tool run in their own cpuacct cgroup (v1, or cgroup v2's
cpu.stat), which counts every descendant process whether or not anyone waits for it: sshd's
per-connection and session processes and the remote shell's commands; ansible's forks and its
ControlPersist ssh masters (killed, by pid, after the run, and counted). Without cgroups the
bench falls back to getrusage(RUSAGE_CHILDREN) after stopping sshd, which misses part of what
sessions of OpenSSH's client cost (see bench/RESULTS.md) — the output says which was used.
Ours runs in this process: its client CPU is RUSAGE_SELF.

pssh and ansible get `-o KexAlgorithms=curve25519-sha256`, the exchange paramiko negotiates
(OpenSSH 9.2's default sntrup761 costs the client ~90 ms per connection). ansible-core is not
a dependency of ours: it is looked up on PATH, then in ~/.cache/xunjian/bench-ansible, which is
created with pip when missing (unless --no-ansible-install). parallel-ssh is Debian's `pssh`
(`apt-get install pssh`); a tool that is not there is skipped and said so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.connections.pool import POOL
from agent.executor import Executor
from agent.inventory import load_inventory
from bench.common import machine, section
from collectors.linux import LinuxSettings, build_batch
from collectors.linux_health import parse_proc_stat
from core.model import Job
from tests.peers import SshPeer

KEX = "KexAlgorithms=curve25519-sha256"
ANSIBLE_VENV = Path.home() / ".cache" / "xunjian" / "bench-ansible"


class CpuGroup:
    """A cgroup that counts the CPU of every process put in it and of all their descendants."""

    def __init__(self, name: str) -> None:
        v1 = Path("/sys/fs/cgroup/cpuacct")
        if (v1 / "cpuacct.usage").exists():
            self.path, self._file = v1 / name, "cpuacct.usage"
        elif Path("/sys/fs/cgroup/cgroup.controllers").exists():
            self.path, self._file = Path("/sys/fs/cgroup") / name, "cpu.stat"
        else:
            raise OSError("no cpuacct (v1) or cgroup v2 hierarchy")
        self.path.mkdir()

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def seconds(self) -> float:
        text = (self.path / self._file).read_text()
        if self._file == "cpuacct.usage":
            return int(text) / 1e9
        usec = next(line.split()[1] for line in text.splitlines() if line.startswith("usage_usec"))
        return int(usec) / 1e6

    def pids(self) -> list[int]:
        return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def cgroup(name: str) -> CpuGroup | None:
    try:
        return CpuGroup(f"xj-bench-{os.getpid()}-{name}")
    except OSError:
        return None


def rusage(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


@dataclass
class Row:
    tool: str
    hosts_ok: int
    wall_s: float
    client_ms_per_host: float
    sshd_ms_per_host: float
    accounting: str
    sshd_ms_per_host_rusage: float  # what the listener's waited-for children say (undercounts)


def run_client(argv: list[str], group: CpuGroup | None, env: dict[str, str] | None = None,
               ) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run a client tool (in `group` when there is one): its result, wall s and CPU s
    (including processes it left behind, which are then stopped)."""
    add = (lambda: group.add(os.getpid())) if group else None
    k0, c0, t0 = rusage(resource.RUSAGE_CHILDREN), group.seconds() if group else 0.0, time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, preexec_fn=add)
    wall = time.monotonic() - t0
    if group is None:
        return r, wall, rusage(resource.RUSAGE_CHILDREN) - k0
    leftovers = group.pids()  # ControlPersist masters: ours to stop, and their CPU counts
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while group.pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    return r, wall, group.seconds() - c0


def ours(peer: SshPeer, work: Path, hosts: int, parallel: int, _: argparse.Namespace
         ) -> tuple[int, float, float] | None:
    inv = work / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{
        "name": f"h{i:03d}", "address": peer.host, "port": peer.port, "collectors": ["linux"],
        "ssh": {"user": peer.user, "key_file": str(peer.client_key),
                "known_hosts": str(peer.known_hosts)}} for i in range(hosts)]}))
    devices = list(load_inventory(inv).devices.values())
    # Steady state, as in the daemon: the store holds the last cycle's CPU counters, so the
    # batch reads /proc/stat once (no 1 s second read).
    counters = parse_proc_stat(Path("/proc/stat").read_text()).cpu
    executor = Executor(lambda d, c: {"cpu": dict(counters), "cpu_at": time.time()})
    c0, t0 = rusage(resource.RUSAGE_SELF), time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda d: executor.run(Job(d.name, "linux"), d), devices))
    POOL.close_all()  # as `xunjian inspect` does at the end: closing is part of the cost
    wall, cpu = time.monotonic() - t0, rusage(resource.RUSAGE_SELF) - c0
    return sum(r.collected for r in results), wall, cpu


def bare_paramiko(peer: SshPeer, work: Path, hosts: int, parallel: int, _: argparse.Namespace
                  ) -> tuple[int, float, float] | None:
    """The floor: paramiko's SSHClient in a thread pool, one exec, nothing else (no inventory,
    slots, parsing or samples)."""
    import paramiko

    command = batch_command()

    def one(_: int) -> bool:
        c = paramiko.SSHClient()
        c.load_host_keys(str(peer.known_hosts))
        c.connect(peer.host, port=peer.port, username=peer.user, key_filename=str(peer.client_key),
                  allow_agent=False, look_for_keys=False, timeout=60, banner_timeout=60)
        try:
            _, out, _ = c.exec_command(command)
            return bool(out.read()) and out.channel.recv_exit_status() == 0
        finally:
            c.close()

    c0, t0 = rusage(resource.RUSAGE_SELF), time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        ok = sum(pool.map(one, range(hosts)))
    return ok, time.monotonic() - t0, rusage(resource.RUSAGE_SELF) - c0


def batch_command() -> str:
    return build_batch(LinuxSettings(), two_reads=False).command()  # what ours runs, one exec


def pssh(peer: SshPeer, work: Path, hosts: int, parallel: int, _: argparse.Namespace
         ) -> tuple[int, float, float] | None:
    exe = shutil.which("parallel-ssh") or shutil.which("pssh")
    if exe is None:
        return None
    hostfile = work / "hosts"
    hostfile.write_text("".join(f"{peer.host}:{peer.port}\n" for _ in range(hosts)))
    group = cgroup("pssh")
    try:
        r, wall, cpu = run_client(
            [exe, "-h", str(hostfile), "-l", peer.user, "-p", str(parallel), "-t", "120",
             "-x", f"-o {KEX} -i {peer.client_key} -o UserKnownHostsFile={peer.known_hosts} -o BatchMode=yes",
             batch_command()], group)
    finally:
        if group:
            group.remove()
    return r.stdout.count("[SUCCESS]"), wall, cpu


def find_ansible(args: argparse.Namespace) -> str | None:
    if args.ansible:
        return str(args.ansible)
    for candidate in (shutil.which("ansible"), str(ANSIBLE_VENV / "bin" / "ansible")):
        if candidate and Path(candidate).exists():
            return candidate
    if args.no_ansible_install:
        return None
    print(f"installing ansible-core into {ANSIBLE_VENV} …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
    r = subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"], check=False)
    return str(ANSIBLE_VENV / "bin" / "ansible") if r.returncode == 0 else None


def ansible(peer: SshPeer, work: Path, hosts: int, parallel: int, args: argparse.Namespace
            ) -> tuple[int, float, float] | None:
    exe = find_ansible(args)
    if exe is None:
        return None
    cp = work / "cp"
    cp.mkdir(exist_ok=True)
    common = f"-o {KEX} -o UserKnownHostsFile={peer.known_hosts} -o BatchMode=yes"
    # Each alias its own ControlPersist master (one address: ansible would otherwise merge them)
    lines = [f"h{i:03d} ansible_host={peer.host} ansible_port={peer.port} ansible_control_path={cp}/h{i:03d}"
             for i in range(hosts)]
    inv = work / "ansible-hosts.ini"
    inv.write_text("[all]\n" + "\n".join(lines) + "\n\n[all:vars]\n"
                   f"ansible_user={peer.user}\nansible_ssh_private_key_file={peer.client_key}\n"
                   f"ansible_ssh_common_args='{common}'\nansible_python_interpreter=/usr/bin/python3\n")
    env = {**os.environ, "ANSIBLE_HOME": str(work / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
           "ANSIBLE_REMOTE_TMP": "/tmp/.xj-bench-ansible", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_CONFIG": str(work / "none.cfg"),
           "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"}
    group = cgroup("ansible")
    try:
        r, wall, cpu = run_client([exe, "all", "-i", str(inv), "-m", "shell", "-a", batch_command(),
                                   "-f", str(parallel), "-o"], group, env)
    finally:
        if group:
            group.remove()
    ok = sum(1 for line in r.stdout.splitlines() if " | CHANGED | " in line or " | SUCCESS | " in line)
    if ok < hosts:
        print(f"ansible: {hosts - ok} hosts failed: {(r.stdout + r.stderr)[-600:]}", file=sys.stderr)
    return ok, wall, cpu


Tool = Callable[[SshPeer, Path, int, int, argparse.Namespace], tuple[int, float, float] | None]


def measure(name: str, run: Tool, work: Path, args: argparse.Namespace) -> Row | None:
    peer = SshPeer(work / f"sshd-{name}").start()
    group = cgroup(f"sshd-{name}")
    accounting = "cgroup" if group else "rusage"
    try:
        if group:
            group.add(int((peer.workdir / "sshd.pid").read_text()))
        s0 = group.seconds() if group else 0.0
        got = run(peer, work, args.hosts, args.parallel, args)
        if group:  # sessions finish after the clients return: wait until only the listener is left
            deadline = time.monotonic() + 10
            while len(group.pids()) > 1 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        before = rusage(resource.RUSAGE_CHILDREN)
        peer.stop()
        by_rusage = rusage(resource.RUSAGE_CHILDREN) - before
        sshd_cpu = group.seconds() - s0 if group else by_rusage
        if group:
            group.remove()
    if got is None:
        print(f"{name}: not installed, skipped", file=sys.stderr)
        return None
    ok, wall, cpu = got
    n = args.hosts
    return Row(name, ok, round(wall, 3), round(1000 * cpu / n, 2), round(1000 * sshd_cpu / n, 2), accounting,
               round(1000 * by_rusage / n, 2))


def markdown(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [f"{args.hosts} host entries on one test sshd, {args.parallel} at a time, the full `linux` "
             "health batch (one exec per host; steady state: one /proc/stat read). "
             f"Run {time.strftime('%Y-%m-%d')} on {machine()}.", "",
             "| tool | hosts ok | wall | client CPU / host | sshd CPU / host | sshd CPU / host by rusage |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.tool} | {r.hosts_ok} | {r.wall_s:.2f} s | {r.client_ms_per_host:.1f} ms | "
                     f"{r.sshd_ms_per_host:.1f} ms | {r.sshd_ms_per_host_rusage:.1f} ms |")
    base = next((r for r in rows if r.tool == "xunjian"), None)
    if base:
        lines.append("")
        for r in rows:
            if r is not base:
                lines.append(f"xunjian / {r.tool}: wall {base.wall_s / r.wall_s:.2f}, client CPU "
                             f"{base.client_ms_per_host / max(r.client_ms_per_host, 1e-9):.2f}, sshd CPU "
                             f"{base.sshd_ms_per_host / max(r.sshd_ms_per_host, 1e-9):.2f}")
    acc = {r.accounting for r in rows}
    lines += ["", "CPU counted with " + ("a cpuacct cgroup per sshd and per client tool (every descendant "
              "process, ControlPersist masters included)" if acc == {"cgroup"} else
              "getrusage(RUSAGE_CHILDREN) (no cgroups here: OpenSSH-client sessions are undercounted)") + "."]
    return section("SSH: 200-host Linux inspection vs parallel-ssh and ansible (`bench/bench_ssh.py`)", lines)


def summary(rounds: list[list[Row]], args: argparse.Namespace) -> str:
    """Several rounds: each tool's median (range), and the per-round ratios ours / theirs —
    tools run back to back in one round see the same machine, which absolute figures across
    rounds do not (on a shared VM the same code's CPU per host varies 1.5× hour to hour)."""
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"

    by_tool: dict[str, list[Row]] = {}
    for rnd in rounds:
        for r in rnd:
            by_tool.setdefault(r.tool, []).append(r)
    lines = [f"{args.hosts} host entries on one test sshd, {args.parallel} at a time, the full `linux` "
             f"health batch; {len(rounds)} rounds, the tools' order reversed every other round. "
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {machine()}. Medians (range):", "",
             "| tool | hosts ok | wall s | client CPU ms / host | sshd CPU ms / host |", "|---|---|---|---|---|"]
    for tool, rows in by_tool.items():
        lines.append(f"| {tool} | {min(r.hosts_ok for r in rows)} × {len(rows)} | {med([r.wall_s for r in rows])} | "
                     f"{med([r.client_ms_per_host for r in rows])} | {med([r.sshd_ms_per_host for r in rows])} |")
    lines.append("")
    for tool in by_tool:
        if tool == "xunjian" or "xunjian" not in by_tool:
            continue
        pairs = [(next(r for r in rnd if r.tool == "xunjian"), next(r for r in rnd if r.tool == tool))
                 for rnd in rounds if {r.tool for r in rnd} >= {"xunjian", tool}]
        ratio = {k: [getattr(a, k) / max(getattr(b, k), 1e-9) for a, b in pairs]
                 for k in ("wall_s", "client_ms_per_host", "sshd_ms_per_host")}
        lines.append(f"xunjian / {tool} per round: wall {med(ratio['wall_s'])}, client CPU "
                     f"{med(ratio['client_ms_per_host'])}, sshd CPU {med(ratio['sshd_ms_per_host'])}")
    return section("SSH: 200-host Linux inspection vs parallel-ssh and ansible (`bench/bench_ssh.py`)", lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every tool this many times (order reversed every other round) and "
                         "print medians and per-round ratios")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of Markdown")
    ap.add_argument("--ansible", type=Path, help="the ansible executable to use")
    ap.add_argument("--no-ansible-install", action="store_true")
    ap.add_argument("--tools", default="xunjian,paramiko,parallel-ssh,ansible")
    args = ap.parse_args(argv)
    tools: dict[str, Tool] = {"xunjian": ours, "paramiko": bare_paramiko, "parallel-ssh": pssh,
                              "ansible": ansible}
    names = args.tools.split(",")
    rounds: list[list[Row]] = []
    with tempfile.TemporaryDirectory(prefix="xj-bench-") as tmp:
        for n in range(args.rounds):
            rows: list[Row] = []
            for name in names if n % 2 == 0 else names[::-1]:
                print(f"round {n + 1}: running {name} …", file=sys.stderr)
                work = Path(tmp) / f"round-{n}"
                work.mkdir(exist_ok=True)
                row = measure(name, tools[name], work, args)
                if row:
                    rows.append(row)
            rounds.append(sorted(rows, key=lambda r: names.index(r.tool)))
    if args.json:
        print(json.dumps([[asdict(r) for r in rnd] for rnd in rounds] if args.rounds > 1
                         else [asdict(r) for r in rounds[0]], indent=2))
    elif args.rounds > 1:
        print(summary(rounds, args))
    else:
        print(markdown(rounds[0], args))


if __name__ == "__main__":
    main()
