"""Rule evaluation: the stateful evaluator (hysteresis, for:, flapping, missing data) on
1,000 devices × 20 filesystems + memory, CPU and load, several cycles, one core.

    .venv/bin/python -m bench.bench_rules [DEVICES] [CYCLES]

Samples are built before timing; the evaluator's state goes through json.dumps/loads between
cycles as the daemon's store does (timed separately). Target: ≥ 150,000 samples/s per core
(issue 27; it was 100,000).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from bench.common import section
from checks.evaluate import DeviceInfo, evaluate, evaluate_cycle
from checks.rules import Rule, RuleSet, shipped_rules
from core.model import Sample

INTERVAL = 60.0
REPEAT = 5
T0 = 1_795_000_000.0
EXTRA = [
    {"name": "bench_inodes", "description": "Inodes used", "measurement": "disk",
     "field": "inodes_used_percent", "instance_tag": "path", "unit": "%", "warn": 80, "crit": 90,
     "clear": {"warn": 75, "crit": 85}, "for": {"samples": 3},
     "flapping": {"changes": 4, "window": "30m"}, "match": {"path": ["/*", "!/boot*"]}},
    {"name": "bench_mem", "description": "Memory used", "measurement": "mem", "field": "used_percent",
     "unit": "%", "warn": 90, "crit": 97, "clear": {"warn": 85}, "for": "5m", "kinds": ["server"]},
    {"name": "bench_cpu", "description": "CPU busy", "measurement": "cpu", "field": "usage_busy",
     "instance_tag": "cpu", "unit": "%", "warn": 90, "crit": 98, "match": {"cpu": "cpu-total"},
     "flapping": {"changes": 6, "window": "1h"}},
    {"name": "bench_load", "description": "Load per CPU", "measurement": "system", "field": "load5",
     "warn": 4, "crit": 8, "groups": ["oracle", "weblogic"], "missing": {"intervals": 2, "forget": "2h"}},
]


def workload(devices: int, cycles: int, fs: int = 20) -> list[list[tuple[DeviceInfo, list[Sample]]]]:
    rnd = random.Random(7)
    infos = [DeviceInfo(f"srv{i:04d}", "server", ("oracle",) if i % 3 == 0 else ("linux",), INTERVAL)
             for i in range(devices)]
    level = {(d.name, j): rnd.uniform(20, 97) for d in infos for j in range(fs)}
    out = []
    for c in range(cycles):
        ns = int((T0 + c * INTERVAL) * 1e9)
        cycle = []
        for d in infos:
            samples = []
            for j in range(fs):
                if rnd.random() < 0.01:  # a filesystem that did not report this cycle
                    continue
                v = level[d.name, j] = min(100.0, max(0.0, level[d.name, j] + rnd.gauss(0, 2)))
                path = "/boot" if j == 0 else f"/u{j:02d}"
                samples.append(Sample("disk", {"host": d.name, "path": path, "device": f"sd{j}", "fstype": "xfs"},
                                      {"used_percent": v, "inodes_used_percent": v * 0.9, "total": 10**12,
                                       "used": int(v * 10**10), "free": int((100 - v) * 10**10)}, ns))
            samples.append(Sample("mem", {"host": d.name}, {"used_percent": rnd.uniform(50, 99), "total": 2**36}, ns))
            samples.append(Sample("cpu", {"host": d.name, "cpu": "cpu-total"},
                                  {"usage_busy": rnd.uniform(0, 100), "usage_idle": 50.0}, ns))
            samples.append(Sample("system", {"host": d.name}, {"load5": rnd.uniform(0, 10), "n_cpus": 8}, ns))
            cycle.append((d, samples))
        out.append(cycle)
    return out


def run(data: list[list[tuple[DeviceInfo, list[Sample]]]], ruleset: RuleSet,
        overrides: dict) -> tuple[list[float], int, float, dict[str, dict]]:
    """REPEAT passes over the cycles: samples/s of each pass, verdicts, json CPU, last states."""
    n = sum(len(s) for cycle in data for _, s in cycle)
    rates, cpu_json, verdicts = [], 0.0, 0
    states: dict[str, dict] = {}
    for _ in range(REPEAT):  # the machine may be shared: report the median and the range
        states = {}
        verdicts = 0
        cpu_eval = cpu_json = 0.0
        for c, cycle in enumerate(data):
            now = T0 + c * INTERVAL + 5
            for d, samples in cycle:
                t0 = time.process_time()
                out, state = evaluate_cycle(samples, d, ruleset, states.get(d.name), now, "linux",
                                            overrides if d.name.endswith("7") else None)
                t1 = time.process_time()
                states[d.name] = json.loads(json.dumps(state))
                cpu_json += time.process_time() - t1
                cpu_eval += t1 - t0
                verdicts += len(out)
        rates.append(n / cpu_eval)
    return rates, verdicts, cpu_json, states


def main() -> None:
    devices = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    shipped = shipped_rules()
    extra = [Rule.model_validate(r) for r in EXTRA]
    ruleset = RuleSet(rules=[*shipped.rules, *extra], collection=shipped.collection)
    # the rule set of the first runs (2026-11-22): one shipped disk rule + EXTRA, to compare machines
    small = RuleSet(rules=[*(r for r in shipped.rules if r.name == "disk_used_percent"), *extra],
                    collection=shipped.collection)
    data = workload(devices, cycles)
    n = sum(len(s) for cycle in data for _, s in cycle)
    overrides = {"disk_used_percent": type("T", (), {"warn": 80.0, "crit": 90.0})()}

    rates, verdicts, cpu_json, states = run(data, ruleset, overrides)
    small_rates, small_verdicts, _, _ = run(data, small, overrides)

    t0 = time.process_time()
    stateless = sum(len(evaluate(s, d, ruleset)) for cycle in data for d, s in cycle)
    cpu_stateless = time.process_time() - t0
    state_bytes = sum(len(json.dumps(s)) for s in states.values()) / len(states)

    rate, small_rate = statistics.median(rates), statistics.median(small_rates)
    print(section("Rule evaluation", [
        f"{devices:,} devices × (20 filesystems, 1 % missing per cycle, + mem, cpu, load), {cycles} cycles "
        f"of {INTERVAL:.0f} s; {len(ruleset.rules)} rules (hysteresis, for: N samples and 5m, flapping, "
        f"globs, kind/group selectors, per-device overrides on 10 % of devices). One core, CPU time.", "",
        "| evaluator | samples | verdicts | CPU | samples/s |", "|---|---|---|---|---|",
        f"| `evaluate_cycle` (stateful), median of {REPEAT} runs | {n:,} | {verdicts:,} | {n / rate:.2f} s | "
        f"**{rate:,.0f}** (range {min(rates):,.0f}–{max(rates):,.0f}) |",
        f"| the same with the first runs' {len(small.rules)} rules (2026-11-22: 151,564) | {n:,} | "
        f"{small_verdicts:,} | {n / small_rate:.2f} s | {small_rate:,.0f} "
        f"(range {min(small_rates):,.0f}–{max(small_rates):,.0f}) |",
        f"| `evaluate` (stateless, for comparison) | {n:,} | {stateless:,} | {cpu_stateless:.2f} s | "
        f"{n / cpu_stateless:,.0f} |",
        f"| state json.dumps + json.loads per cycle | {n:,} | — | {cpu_json:.2f} s | {n / cpu_json:,.0f} |", "",
        f"State per device + collector: {state_bytes / 1024:.1f} KiB of JSON on average.", "",
        f"Target: ≥ 150,000 samples/s per core — {'met' if rate >= 150_000 else 'NOT met'}.",
    ]))


if __name__ == "__main__":
    main()
