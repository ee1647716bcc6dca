"""Benchmark (not a test): loading an N-device inventory (`load_inventory`: YAML, validation,
defaults and groups), with libyaml's parser as shipped (guarded: core/problems.py), without the
guards, and with PyYAML's pure-Python parser for comparison. Every CLI command and every daemon
start or reload pays this.

    .venv/bin/python -m bench.bench_inventory [devices] [runs]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

import core.problems as problems
from agent.inventory import load_inventory
from bench.common import machine, section


def inventory(n: int) -> str:
    devices = [{"name": f"srv-{i:04d}", "address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                "kind": "server", "collectors": ["linux", "logs"],
                "ssh": {"user": "inspect", "key_file": "/etc/xunjian/id_ed25519"},
                "labels": {"room": "A1", "rack": str(i % 20)}} for i in range(n)]
    return yaml.safe_dump({"devices": devices}, sort_keys=False, allow_unicode=True)


def median_loads(path: Path, runs: int, loaders: list[type]) -> list[float]:
    """Median load time with each loader, the loaders taking turns (a busy host slows them alike)."""
    times: list[list[float]] = [[] for _ in loaders]
    shipped = problems._LOADER
    try:
        for _ in range(runs):
            for i, loader in enumerate(loaders):
                problems._LOADER = loader
                t0 = time.perf_counter()
                load_inventory(path)
                times[i].append(time.perf_counter() - t0)
    finally:
        problems._LOADER = shipped
    return [statistics.median(t) for t in times]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.yaml"
        path.write_text(inventory(n), encoding="utf-8")
        size = path.stat().st_size
        loader = problems._LOADER
        bare_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml without the guards
        shipped, bare, pure = median_loads(path, runs, [loader, bare_loader, problems.PURE_LOADER])
    lines = [f"{n} devices in block-style YAML ({size:,} bytes), "
             f"median of {runs} loads. Run {time.strftime('%Y-%m-%d')} on {machine()}.", "",
             "| parser | load_inventory s | per device ms |", "|---|---:|---:|",
             f"| {loader.__name__} (shipped: libyaml, guarded) | {shipped:.3f} | {1000 * shipped / n:.2f} |",
             f"| CSafeLoader (libyaml, no guards) | {bare:.3f} | {1000 * bare / n:.2f} |",
             f"| {problems.PURE_LOADER.__name__} (pure Python, guarded) | {pure:.3f} | {1000 * pure / n:.2f} |",
             "", f"pure Python / shipped: {pure / shipped:.1f}×; the guards (alias and duplicate-key "
             f"checks): {100 * (shipped / bare - 1):+.0f} %"]
    print(section("Inventory load (`bench/bench_inventory.py`)", lines))


if __name__ == "__main__":
    main()
