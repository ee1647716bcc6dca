"""CLI start-up: CPU time of the real installed `xunjian` commands, beside peers on the same
machine in the same run.

    .venv/bin/python -m bench.bench_startup [ROUNDS]

Each command runs ROUNDS times (default 15), the commands interleaved round by round so a
busy spell of a shared machine hits them all alike; the figure is the median CPU time (user +
system, from getrusage(RUSAGE_CHILDREN) around each run), not wall time. Peers: the
interpreter's floor (`python -S -c pass`, `python -c pass`), the CLI library alone
(`python -c "import typer"`) and another Python CLI (`pip --version`). `xunjian inspect` on an
empty inventory is shown for comparison (no target: the issue's 0.82 s).
Target: `xunjian --version` and `xunjian cases list` on an empty data dir ≤ 0.15 s of CPU.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import section

TARGET = 0.15
BIN = Path(sys.executable).parent


def cpu_of(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       check=False, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    py, xj = sys.executable, str(BIN / "xunjian")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        data.mkdir()
        (Path(tmp) / "empty.yaml").write_text("devices: []\n")
        env = {**os.environ, "XUNJIAN_CONFIG": "", "COLUMNS": "100"}
        commands: dict[str, list[str]] = {
            "`python -S -c pass` (the floor)": [py, "-S", "-c", "pass"],
            "`python -c pass`": [py, "-c", "pass"],
            '`python -c "import typer"`': [py, "-c", "import typer"],
            "`pip --version`": [py, "-m", "pip", "--version"],
            "`xunjian --version`": [xj, "--version"],
            "`xunjian cases list` (empty data dir)": [xj, "cases", "list", "--data-dir", str(data)],
            "`xunjian inspect --help`": [xj, "inspect", "--help"],
            "`xunjian inspect` (empty inventory, for comparison)":
                [xj, "inspect", "-i", str(Path(tmp) / "empty.yaml"), "--data-dir", str(Path(tmp) / "store")],
        }
        if (BIN / "pip").exists():
            commands["`pip --version`"] = [str(BIN / "pip"), "--version"]
        for argv in commands.values():  # warm the page cache and the .pyc files
            cpu_of(argv, tmp, env)
        runs: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(rounds):
            for name, argv in commands.items():
                runs[name].append(cpu_of(argv, tmp, env))
        assert not any(data.iterdir()), "cases list on an empty data dir created a store"
    med = {k: statistics.median(v) for k, v in runs.items()}
    floor, typer_ = med["`python -c pass`"], med['`python -c "import typer"`']
    pip = med["`pip --version`"]
    rows = [f"| {k} | {med[k] * 1000:.0f} ({min(v) * 1000:.0f}–{max(v) * 1000:.0f}) | "
            f"{med[k] / floor:.1f} | {med[k] / typer_:.2f} | {med[k] / pip:.2f} |"
            for k, v in runs.items()]
    ours = ["`xunjian --version`", "`xunjian cases list` (empty data dir)"]
    verdict = "; ".join(f"{k} {med[k]:.3f} s — {'met' if med[k] <= TARGET else 'NOT met'}" for k in ours)
    print(section("CLI start-up (`bench/bench_startup.py`)", [
        f"CPU time (user + system) of one run of each command, the installed console script; median of "
        f"{rounds} interleaved rounds (range).", "",
        "| command | CPU ms | / python -c pass | / import typer | / pip --version |",
        "|---|---:|---:|---:|---:|", *rows, "",
        f"Target ≤ {TARGET} s of CPU: {verdict}.",
    ]))


if __name__ == "__main__":
    main()
