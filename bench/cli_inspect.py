"""Benchmark (not a test): switch CLI inspection of N FakeNOS switches (Huawei VRP, H3C
Comware, Cisco IOS in turn), our `cli` collector side by side with a plain netmiko script
as an engineer would write it (ConnectHandler, send_command(…, use_textfsm=True) per
command, disconnect()) — same commands, same hosts, same concurrency, one run.

    .venv/bin/python -m bench.cli_inspect [--hosts 12] [--parallel 6] [--rounds 2]

FakeNOS runs in a forked child process, so the CPU printed for each client is the client's
own (this process, RUSAGE_SELF). Prints wall time and client CPU per device and the ratios.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import machine, timed
from collectors import cli as cli_mod
from collectors.cli import CliCollector, CliSettings
from collectors.cli_commands import PLATFORMS
from core.model import Target
from tests.fakenos_peer import PASSWORD, USERNAME, FakeNosPeer

ORDER = ("huawei_vrp", "hp_comware", "cisco_ios")
NETMIKO = {"huawei_vrp": "huawei", "hp_comware": "hp_comware", "cisco_ios": "cisco_ios"}


def serve(hosts: dict[str, str], ports: Any, stop: Any) -> None:
    peer = FakeNosPeer(hosts).start()
    ports.put({n: h.port for n, h in peer.hosts.items()})
    stop.wait()
    peer.stop()


def write_known_hosts(path: Path, ports: list[int]) -> None:
    import paramiko
    from fakenos.plugins.servers.ssh_server_paramiko import DEFAULT_SSH_KEY

    key = paramiko.RSAKey(file_obj=io.StringIO(DEFAULT_SSH_KEY))
    path.write_text("".join(f"[127.0.0.1]:{p} {key.get_name()} {key.get_base64()}\n" for p in ports))


def ours(hosts: dict[str, tuple[str, int]], kh: Path, parallel: int) -> int:
    cli_mod.set_max_sessions(parallel)

    def one(name: str) -> int:
        plat, port = hosts[name]
        s = CliSettings(platform=NETMIKO[plat], port=port, username=USERNAME, password=PASSWORD,  # type: ignore[arg-type]
                        known_hosts=str(kh), read_timeout=30)
        samples = CliCollector().collect(Target(name, "switch", "127.0.0.1", settings=s), None)
        return sum(1 for x in samples if x.measurement == "cli_command" and x.fields["status"] == "ok")

    with ThreadPoolExecutor(parallel) as pool:
        return sum(pool.map(one, hosts))


def plain_netmiko(hosts: dict[str, tuple[str, int]], parallel: int) -> int:
    from netmiko import ConnectHandler

    def one(name: str) -> int:
        plat, port = hosts[name]
        p = PLATFORMS[NETMIKO[plat]]
        conn = ConnectHandler(device_type=p.device_type, host="127.0.0.1", port=port,
                              username=USERNAME, password=PASSWORD, secret=PASSWORD, fast_cli=True)
        ok = 0
        try:
            if p.enable:
                conn.enable()
            for c in p.commands:
                try:
                    out = conn.send_command(c.command, read_timeout=30,
                                            use_textfsm=c.parser == "textfsm")
                    ok += bool(out)
                except Exception:  # netmiko raises TextFSMError for unreadable output
                    pass
        finally:
            conn.disconnect()
        return ok

    with ThreadPoolExecutor(parallel) as pool:
        return sum(pool.map(one, hosts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=12)
    ap.add_argument("--parallel", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    names = {f"sw{i:03d}": ORDER[i % 3] for i in range(a.hosts)}
    ctx = mp.get_context("fork")
    ports_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(names, ports_q, stop), daemon=True)
    server.start()
    try:
        ports = ports_q.get(timeout=60)
        hosts = {n: (names[n], ports[n]) for n in names}
        known = Path(tempfile.mkdtemp(prefix="bench-cli-")) / "known_hosts"
        write_known_hosts(known, [p for _, p in hosts.values()])
        rows = []
        for rnd in range(a.rounds):
            for label, fn in (("xunjian cli collector", lambda: ours(hosts, known, a.parallel)),
                              ("plain netmiko script", lambda: plain_netmiko(hosts, a.parallel))):
                with timed() as t:
                    ok = fn()
                rows.append((rnd, label, t.wall, t.cpu, ok))
                print(f"round {rnd + 1}: {label:24s} wall {t.wall:6.2f} s, client CPU "
                      f"{1000 * t.cpu / a.hosts:6.1f} ms/device, commands answered {ok}", flush=True)
        best = {label: min((r for r in rows if r[1] == label), key=lambda r: r[2]) for _, label, *_ in rows}
        o, n = best["xunjian cli collector"], best["plain netmiko script"]
        print(f"\n{machine()}; {a.hosts} FakeNOS switches, {a.parallel} at a time, best of {a.rounds}")
        print(f"ours/plain: wall {o[2] / n[2]:.2f}×, client CPU {o[3] / n[3]:.2f}× "
              f"({1000 * o[3] / a.hosts:.0f} vs {1000 * n[3] / a.hosts:.0f} ms/device; "
              f"{o[2] / a.hosts * a.parallel:.2f} vs {n[2] / a.hosts * a.parallel:.2f} s/device session)")
    finally:
        stop.set()
        server.join(30)
        if server.is_alive():
            server.terminate()


if __name__ == "__main__":
    main()
