"""Run every benchmark (bench/bench_*.py) in one go and write bench/RESULTS.md with the
machine and the date. Each benchmark prints its own Markdown section; the hand-written part
of RESULTS.md (from "## Notes and earlier runs" on) is kept. Run as root: bench_snmp adds
veth links, bench_ssh counts CPU in cgroups.

    .venv/bin/python -m bench.run_all            # all of them (several minutes)
    .venv/bin/python -m bench.run_all sink rules # some of them
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from bench.common import machine

HERE = Path(__file__).resolve().parent
NOTES = "## Notes and earlier runs"  # from here on RESULTS.md is written by hand and kept


def main() -> None:
    wanted = sys.argv[1:]
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        names = [n for n in names if n.removeprefix("bench_") in wanted]
    sections = []
    for name in names:
        print(f"running {name} …", file=sys.stderr)
        r = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, capture_output=True,
                           text=True, timeout=1800, check=False)
        if r.returncode != 0:
            sections.append(f"### {name}\n\nFAILED (exit {r.returncode}):\n\n```\n{r.stderr[-2000:]}\n```\n")
        else:
            sections.append(r.stdout.strip() + "\n")
    results = HERE / "RESULTS.md"
    old = results.read_text() if results.exists() else ""
    notes = old[old.index(NOTES):] if NOTES in old else f"{NOTES}\n"
    text = "\n".join([
        "# Benchmark results", "",
        f"Run {date.today().isoformat()} on {machine()}, with `python -m bench.run_all`"
        + (f" ({', '.join(wanted)} only)" if wanted else "") + ".", "",
        "Each benchmark runs our code and, where there is one, a peer tool on the same workload in the",
        "same run. Numbers are from one run: compare ratios rather than absolutes across machines.",
        "The analysis, profiles and earlier runs are kept below, under the notes heading.", "",
        *sections, notes])
    results.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
