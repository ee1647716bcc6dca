"""Footprint of an idle daemon with 1,000 devices configured (intervals long enough that
nothing is collected while we watch): RSS and CPU over 30 s.

    .venv/bin/python -m bench.bench_footprint [DEVICES] [SECONDS]
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import section
from tests.helpers import XUNJIAN
from tests.peers import free_port


def rss_and_cpu(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return rss, ticks / 100.0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        devices = "".join(f"  - {{name: dev{i}, address: 10.0.{i // 250}.{i % 250 + 1}, interval: 86400}}\n"
                          for i in range(n))
        (d / "inventory.yaml").write_text("defaults: {ssh: {user: ops}}\ndevices:\n" + devices)
        (d / "xunjian.yaml").write_text(json.dumps({"data_dir": "var", "inventory": "inventory.yaml",
                                                    "daemon": {"listen": f"127.0.0.1:{free_port()}"}}))
        proc = subprocess.Popen([XUNJIAN, "run", "-c", str(d / "xunjian.yaml")], cwd=d,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while "scheduled" not in (line := proc.stderr.readline() if proc.stderr else ""):
                if not line and proc.poll() is not None:
                    raise SystemExit("daemon exited")
            time.sleep(2)  # settle: first case-clock tick, imports done
            rss0, cpu0 = rss_and_cpu(proc.pid)
            time.sleep(seconds)
            rss1, cpu1 = rss_and_cpu(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(section("Footprint of an idle daemon", [
        f"{n:,} devices configured (linux collector, one job each, daily interval), watched {seconds:.0f} s.", "",
        "| RSS at start | RSS after | CPU used while idle |", "|---|---|---|",
        f"| {rss0:.0f} MiB | {rss1:.0f} MiB | {cpu1 - cpu0:.2f} s ({100 * (cpu1 - cpu0) / seconds:.1f} % of a core) |",
        "", f"Target: RSS < 120 MB — {'met' if rss1 < 120 * 1e6 / 2**20 else 'NOT met'}.",
    ]))


if __name__ == "__main__":
    main()
