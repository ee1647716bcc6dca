"""Sample breaches a threshold → webhook received: latency p50 / p99 over N cases (default 1,000).

The daemon's own path: Pipeline.handle (store, rules, case engine, outbox in the event's
transaction) → the delivery worker thread (woken by the pipeline) → a real HTTP receiver on
127.0.0.1 that notes when each case's open arrives. Cases are raised at a steady rate
(--rate per second) from several collector threads, as the scheduler would. `handle_ms` is
the time the pipeline itself takes per result (store, rules, case, outbox): above about
1000 / handle_ms results per second the pipeline, not the hooks, is the queue.

    .venv/bin/python bench/bench_hooks.py [--cases 1000] [--rate 20] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from agent.app import build_pipeline, build_worker, load_app
from bench.common import section
from core.model import Result, Sample, Status


def receiver(arrived: dict[str, float]) -> tuple[object, int]:
    lock = threading.Lock()

    def app(environ: dict[str, object], start_response: object) -> object:
        req = Request(environ)
        doc = json.loads(req.get_data())
        with lock:
            arrived.setdefault(doc["case"]["device"], time.perf_counter())
        return Response("{}", content_type="application/json")(environ, start_response)  # type: ignore[arg-type]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=20.0, help="breaches per second")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    arrived: dict[str, float] = {}
    server, port = receiver(arrived)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        devices = "\n".join(f"  - {{name: dev{i:04d}, collectors: [local]}}" for i in range(args.cases))
        (root / "inventory.yaml").write_text(f"devices:\n{devices}\n")
        (root / "xunjian.yaml").write_text(
            "data_dir: var\ninventory: inventory.yaml\nhooks:\n  interval: 1m\n  channels:\n"
            f"    ops: {{type: webhook, url: 'http://127.0.0.1:{port}/hook', concurrency: 8}}\n"
            "  routes:\n    - {channels: [ops], match: {events: [open]}}\n")
        app = load_app(root / "xunjian.yaml")
        worker = build_worker(app)
        assert worker is not None
        pipeline = build_pipeline(app, influx=False, worker=worker)
        worker.start()
        started: dict[str, float] = {}
        handled: dict[str, float] = {}

        def breach(i: int) -> None:
            name = f"dev{i:04d}"
            target = t0 + i / args.rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the load generator, not synchronisation
            started[name] = time.perf_counter()
            sample = Sample("disk", {"host": name, "path": "/data", "fstype": "ext4"}, {"used_percent": 97.0},
                            time.time_ns())
            pipeline.handle(Result(name, "local", Status.OK, [sample], started_at=time.time()))
            handled[name] = time.perf_counter() - started[name]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(breach, range(args.cases)))
        deadline = time.monotonic() + 60
        while len(arrived) < args.cases and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.stop()
        server.shutdown()  # type: ignore[attr-defined]
    lat = sorted((arrived[d] - started[d]) * 1000 for d in started if d in arrived)
    p = statistics.quantiles(lat, n=100, method="inclusive")
    row = {
        "cases": args.cases, "received": len(lat), "rate_per_s": args.rate, "threads": args.threads,
        "p50_ms": round(p[49], 1), "p99_ms": round(p[98], 1), "max_ms": round(lat[-1], 1),
        "handle_ms_mean": round(statistics.fmean(handled.values()) * 1000, 1),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, {platform.system()} "
                   f"{platform.release()}, Python {platform.python_version()}"}
    if args.json:
        print(json.dumps(row, indent=2))
        return
    print(section("Breach → webhook latency (`bench/bench_hooks.py`)", [
        f"{args.cases:,} devices, one breach each, raised by {args.threads} threads at "
        f"{args.rate:g}/s through `Pipeline.handle`; the delivery worker posts each case's `open` "
        "to a webhook receiver on 127.0.0.1.", "",
        "| breaches/s | received | p50 | p99 | max | pipeline ms per result |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {args.rate:g} | {len(lat)}/{args.cases} | {row['p50_ms']} ms | {row['p99_ms']} ms | "
        f"{row['max_ms']} ms | {row['handle_ms_mean']} |", "",
        f"Target p99 < 1 s: {'met' if row['p99_ms'] < 1000 else 'NOT met'}."]))

if __name__ == "__main__":
    main()
