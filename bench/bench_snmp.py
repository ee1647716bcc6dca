"""SNMP bulk walk of ifTable + ifXTable: our lean v2c walk vs plain pysnmp 7 `bulk_walk_cmd`
vs net-snmp `snmpbulkwalk` vs prometheus-snmp-exporter, on one snmpd, in one run.

As root, the benchmark adds PAIRS veth pairs (named xjb<N>a/xjb<N>b; removed afterwards,
also on error or Ctrl-C) so the local snmpd has a couple of hundred interfaces, then every
client walks both tables ROUNDS times with the same max-repetitions. Client CPU per OID:
ours and pysnmp from this process's rusage, snmpbulkwalk from its children's, the exporter
from /proc/PID/stat around its scrapes. Installs prometheus-snmp-exporter (Debian) if
missing.

    sudo .venv/bin/python -m bench.bench_snmp [--pairs 100] [--rounds 5] [--max-rep 25] [--json]
    sudo .venv/bin/python -m bench.bench_snmp --profile ours    # cProfile of one walk, to stderr
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import section, timed
from collectors import snmp_engine
from collectors.snmp_walk import bulk_walk
from tests.peers import HOST, SnmpdPeer, free_port, wait_until

TABLES = ("1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1")
PREFIX = "xjb"

# ifEntry / ifXEntry columns for the exporter's module: (column, name, type)
IF_COLUMNS = [(1, "ifIndex", "gauge"), (2, "ifDescr", "DisplayString"), (3, "ifType", "gauge"),
              (4, "ifMtu", "gauge"), (5, "ifSpeed", "gauge"), (6, "ifPhysAddress", "PhysAddress48"),
              (7, "ifAdminStatus", "gauge"), (8, "ifOperStatus", "gauge"),
              (9, "ifLastChange", "gauge"), (10, "ifInOctets", "counter"),
              (11, "ifInUcastPkts", "counter"), (12, "ifInNUcastPkts", "counter"),
              (13, "ifInDiscards", "counter"), (14, "ifInErrors", "counter"),
              (15, "ifInUnknownProtos", "counter"), (16, "ifOutOctets", "counter"),
              (17, "ifOutUcastPkts", "counter"), (18, "ifOutNUcastPkts", "counter"),
              (19, "ifOutDiscards", "counter"), (20, "ifOutErrors", "counter"),
              (21, "ifOutQLen", "gauge")]
IFX_COLUMNS = [(1, "ifName", "DisplayString"), (2, "ifInMulticastPkts", "counter"),
               (3, "ifInBroadcastPkts", "counter"), (4, "ifOutMulticastPkts", "counter"),
               (5, "ifOutBroadcastPkts", "counter"), (6, "ifHCInOctets", "counter"),
               (7, "ifHCInUcastPkts", "counter"), (8, "ifHCInMulticastPkts", "counter"),
               (9, "ifHCInBroadcastPkts", "counter"), (10, "ifHCOutOctets", "counter"),
               (11, "ifHCOutUcastPkts", "counter"), (12, "ifHCOutMulticastPkts", "counter"),
               (13, "ifHCOutBroadcastPkts", "counter"), (14, "ifLinkUpDownTrapEnable", "gauge"),
               (15, "ifHighSpeed", "gauge"), (16, "ifPromiscuousMode", "gauge"),
               (17, "ifConnectorPresent", "gauge"), (18, "ifAlias", "DisplayString"),
               (19, "ifCounterDiscontinuityTime", "gauge")]


def add_links(pairs: int) -> None:
    for i in range(pairs):
        subprocess.run(["ip", "link", "add", f"{PREFIX}{i}a", "type", "veth", "peer", "name",
                        f"{PREFIX}{i}b"], check=True, capture_output=True)


def remove_links() -> None:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(PREFIX) and name.endswith("a"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)  # takes its peer too


def ours(peer: SnmpdPeer, max_rep: int) -> int:
    async def work(_engine: Any, sem: asyncio.Semaphore) -> int:
        results = await asyncio.gather(*[
            bulk_walk(HOST, peer.port, peer.community.encode(), t, max_repetitions=max_rep,
                      timeout=5, retries=1, sem=sem) for t in TABLES])
        for r in results:
            assert r.problem is None, r.problem
        return sum(len(r.rows) for r in results)

    return snmp_engine.run(work, 120)


def plain_pysnmp(peer: SnmpdPeer, max_rep: int) -> int:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        bulk_walk_cmd,
    )

    async def work(engine: Any, _sem: asyncio.Semaphore) -> int:
        async def one(table: str) -> int:
            tr = await UdpTransportTarget.create((HOST, peer.port), timeout=5, retries=1)
            n = 0
            async for ei, es, _ex, vbs in bulk_walk_cmd(
                    engine, CommunityData(peer.community), tr, ContextData(), 0, max_rep,
                    ObjectType(ObjectIdentity(table)), lexicographicMode=False, lookupMib=False):
                assert not ei and not es, (ei, es)
                n += len(vbs)
            return n

        return sum(await asyncio.gather(*[one(t) for t in TABLES]))

    return snmp_engine.run(work, 300)


def snmpbulkwalk(peer: SnmpdPeer, max_rep: int) -> int:
    n = 0
    for t in TABLES:
        out = subprocess.run([shutil.which("snmpbulkwalk") or "snmpbulkwalk", "-v2c", "-c",
                              peer.community, "-On", f"-Cr{max_rep}", "-t", "5", "-r", "1",
                              f"udp:{HOST}:{peer.port}", t], capture_output=True, text=True,
                             check=True, env={**os.environ, "MIBS": ""}).stdout
        n += sum(1 for line in out.splitlines() if line.startswith("."))
    return n


class Exporter:
    """prometheus-snmp-exporter with an if_mib module written for this agent."""

    def __init__(self, workdir: Path, peer: SnmpdPeer, max_rep: int) -> None:
        self.binary = shutil.which("prometheus-snmp-exporter") or "/usr/bin/prometheus-snmp-exporter"
        if not os.path.exists(self.binary):
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
                            "--no-install-recommends", "prometheus-snmp-exporter"], check=True,
                           capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            # the package enables a service on :9116; this benchmark runs its own
            subprocess.run(["systemctl", "disable", "--now", "prometheus-snmp-exporter"],
                           capture_output=True)
        metrics = [{"name": name, "oid": f"{table}.1.{col}", "type": typ, "help": name,
                    "indexes": [{"labelname": "ifIndex", "type": "gauge"}]}
                   for table, cols in zip(TABLES, (IF_COLUMNS, IFX_COLUMNS), strict=True)
                   for col, name, typ in cols]
        self.config = workdir / "snmp.yml"
        self.config.write_text(json.dumps({"if_mib": {
            "walk": list(TABLES), "version": 2, "max_repetitions": max_rep, "retries": 1,
            "timeout": "5s", "auth": {"community": peer.community}, "metrics": metrics}}))
        self.port = free_port()
        self.url = (f"http://{HOST}:{self.port}/snmp?module=if_mib&target={HOST}:{peer.port}")
        self.proc = subprocess.Popen([self.binary, f"--config.file={self.config}",
                                      f"--web.listen-address={HOST}:{self.port}", "--log.level=warn"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(self._up, timeout=20, what="prometheus-snmp-exporter listening")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"exporter exited: {self.proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/", timeout=2):
                return True
        except OSError:
            return False

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def scrape(self) -> int:
        with urllib.request.urlopen(self.url, timeout=60) as r:
            body = r.read().decode()
        # one sample line per varbind read (the module maps every walked column)
        return sum(1 for line in body.splitlines() if line.startswith("if"))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def profile(fn: Any, peer: SnmpdPeer, max_rep: int) -> None:
    """cProfile one walk. The walk runs on the engine's loop thread, so the profiler is
    switched on there (cProfile only sees the thread it was enabled in)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    loop = snmp_engine._ENGINE._start()
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
    loop.call_soon_threadsafe(prof.enable)
    n = fn(peer, max_rep)
    done = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
    done.result()
    loop.call_soon_threadsafe(prof.disable)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
    print(f"{n:,} varbinds", file=sys.stderr)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(18)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=100, help="veth pairs to add (2 interfaces each)")
    ap.add_argument("--rounds", type=int, default=5, help="walks of both tables per client")
    ap.add_argument("--max-rep", type=int, default=25, help="GETBULK max-repetitions for all")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--profile", choices=("ours", "pysnmp"),
                    help="only cProfile one walk of both tables by this client (stderr)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_snmp: run as root (it adds veth pairs for the interface table)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows: list[dict[str, Any]] = []
    remove_links()  # leftovers of an interrupted run
    try:
        add_links(args.pairs)
        with tempfile.TemporaryDirectory() as tmp, SnmpdPeer(Path(tmp) / "snmpd") as peer:
            ours(peer, args.max_rep)  # warm-up: snmpd fills its interface cache, imports load
            if args.profile:
                profile(ours if args.profile == "ours" else plain_pysnmp, peer, args.max_rep)
                return
            plain_pysnmp(peer, args.max_rep)
            oids = snmpbulkwalk(peer, args.max_rep)
            for name, fn in (("xunjian (lean v2c walk)", ours), ("pysnmp 7 bulk_walk_cmd", plain_pysnmp),
                             ("net-snmp snmpbulkwalk", snmpbulkwalk)):
                n = 0
                with timed() as t:
                    for _ in range(args.rounds):
                        n += fn(peer, args.max_rep)
                cpu = t.cpu + t.children_cpu if name.startswith("net-snmp") else t.cpu
                rows.append({"client": name, "oids": n, "wall": t.wall, "cpu": cpu})
            exp = Exporter(Path(tmp), peer, args.max_rep)
            try:
                exp.scrape()
                n, c0, w0 = 0, exp.cpu(), time.perf_counter()
                for _ in range(args.rounds):
                    # every varbind is walked and decoded; ifSpecific (an OID) is not exported
                    assert exp.scrape() >= oids * 0.95
                    n += oids
                rows.append({"client": "prometheus-snmp-exporter", "oids": n,
                             "wall": time.perf_counter() - w0, "cpu": exp.cpu() - c0})
            finally:
                exp.close()
    finally:
        remove_links()
    for r in rows:
        r["us_per_oid"] = r["cpu"] / r["oids"] * 1e6 if r["oids"] else float("nan")
        r["oids_per_cpu_s"] = r["oids"] / r["cpu"] if r["cpu"] else float("inf")
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    ref = rows[0]["us_per_oid"]
    lines = [f"{args.pairs} veth pairs, one net-snmp snmpd on 127.0.0.1; ifTable + ifXTable "
             f"({oids:,} varbinds per walk) walked {args.rounds}× by each client, GETBULK "
             f"max-repetitions {args.max_rep}. Client CPU only (the agent's CPU is the same for all).",
             "", "| client | OIDs | wall s | client CPU s | µs per OID | OIDs/s per core | ours / this |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['client']} | {r['oids']:,} | {r['wall']:.2f} | {r['cpu']:.2f} | "
                     f"{r['us_per_oid']:.1f} | {r['oids_per_cpu_s']:,.0f} | {ref / r['us_per_oid']:.2f} |")
    lines += ["", "Target: ≤ 15 µs per OID (≥ 60,000 OIDs/s per core), at or below the exporter."]
    print(section("SNMP: bulk walk of ifTable + ifXTable (`bench/bench_snmp.py`)", lines))


if __name__ == "__main__":
    main()
