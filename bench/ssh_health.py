"""Benchmark (not a test): the Linux health batch on N "hosts" (N inventory entries that all
point at one local sshd), our agent side by side with parallel-ssh and ansible when present.

    .venv/bin/python -m bench.ssh_health [--hosts 200] [--parallel 50]

Prints wall time, client CPU per host and sshd CPU per host for each tool. sshd CPU is
measured by stopping the test sshd after each tool's run: its forked sessions' CPU is
then in our RUSAGE_CHILDREN. pssh and ssh get `-o KexAlgorithms=curve25519-sha256`, the
exchange paramiko negotiates, so like is compared with like.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.executor import Executor
from agent.inventory import load_inventory
from agent.model import Job
from collectors.linux import LinuxSettings, build_batch
from collectors.linux_health import parse_proc_stat
from tests.peers import SshPeer

KEX = "KexAlgorithms=curve25519-sha256"


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ours(peer: SshPeer, work: Path, hosts: int, parallel: int) -> tuple[float, float, int]:
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
    c0, t0 = self_cpu(), time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda d: executor.run(Job(d.name, "linux"), d), devices))
    wall, cpu = time.monotonic() - t0, self_cpu() - c0
    return wall, cpu, sum(r.collected for r in results)


def pssh(peer: SshPeer, work: Path, hosts: int, parallel: int) -> tuple[float, float, int] | None:
    exe = shutil.which("parallel-ssh") or shutil.which("pssh")
    if exe is None:
        return None
    hostfile = work / "hosts"
    hostfile.write_text("".join(f"{peer.host}:{peer.port}\n" for _ in range(hosts)))
    # The same commands as our batch, one exec.
    command = build_batch(LinuxSettings(), two_reads=False).command()
    c0, t0 = children_cpu(), time.monotonic()
    r = subprocess.run([exe, "-h", str(hostfile), "-l", peer.user, "-p", str(parallel), "-t", "60",
                        "-x", f"-o {KEX} -i {peer.client_key} -o UserKnownHostsFile={peer.known_hosts} "
                              f"-o BatchMode=yes", command],
                       capture_output=True, text=True, check=False)
    wall, cpu = time.monotonic() - t0, children_cpu() - c0
    return wall, cpu, r.stdout.count("[SUCCESS]")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=50)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="xj-bench-") as tmp:
        work = Path(tmp)
        for name, run in (("xunjian", ours), ("parallel-ssh", pssh)):
            peer = SshPeer(work / f"sshd-{name}").start()
            try:
                got = run(peer, work, args.hosts, args.parallel)
            finally:
                before = children_cpu()
                peer.stop()
                sshd_cpu = children_cpu() - before
            if got is None:
                print(f"{name}: not installed, skipped")
                continue
            wall, cpu, ok = got
            rows.append((name, wall, cpu, sshd_cpu, ok))
    print(f"{'tool':14} {'hosts ok':>8} {'wall s':>8} {'client ms/host':>15} {'sshd ms/host':>13}")
    for name, wall, cpu, sshd_cpu, ok in rows:
        print(f"{name:14} {ok:>8} {wall:>8.2f} {1000 * cpu / args.hosts:>15.1f} "
              f"{1000 * sshd_cpu / args.hosts:>13.1f}")
    if len(rows) == 2:
        a, b = rows
        print(f"ratios xunjian/pssh: wall {a[1] / b[1]:.2f}, client CPU {a[2] / max(b[2], 1e-9):.2f}, "
              f"sshd CPU {a[3] / max(b[3], 1e-9):.2f}")
    print("ansible: not run by this script (ansible-core is not a dependency)")


if __name__ == "__main__":
    main()
