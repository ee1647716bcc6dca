"""The agent watching itself: counters and gauges, a Prometheus text endpoint (/metrics),
/healthz and /status (JSON, what `xunjian status` prints). Loopback by default."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

REASONS = (("timed out", "timeout"), ("refused", "refused"), ("authentication", "auth"),
           ("host key", "host_key"), ("exited", "command"), ("pars", "parse"), ("resolve", "dns"),
           ("banner", "banner"), ("no route", "unreachable"), ("internal error", "bug"))


def reason_class(reason: str) -> str:
    text = reason.lower()
    return next((name for needle, name in REASONS if needle in text), "other")


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Metrics:
    """Thread-safe counters kept by the daemon; gauges are read through callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_at = time.time()
        self.collections: Counter[tuple[str, str]] = Counter()  # (collector, ok|failed)
        self.errors: Counter[tuple[str, str]] = Counter()  # (collector, reason class)
        self.duration_sum: Counter[str] = Counter()
        self.jobs: Counter[str] = Counter()  # run | skipped_overrun | skipped_late | skipped_backoff
        self.lateness: deque[float] = deque(maxlen=4096)  # seconds, recent job starts
        self.last_tick = 0.0
        self.gauges: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}

    def collection(self, collector: str, ok: bool, duration: float, reason: str = "") -> None:
        with self._lock:
            self.collections[(collector, "ok" if ok else "failed")] += 1
            self.duration_sum[collector] += duration
            if not ok:
                self.errors[(collector, reason_class(reason))] += 1

    def job(self, what: str, lateness: float | None = None) -> None:
        with self._lock:
            self.jobs[what] += 1
            if lateness is not None:
                self.lateness.append(max(0.0, lateness))

    def gauge(self, name: str, read: Callable[[], dict[tuple[tuple[str, str], ...], float]]) -> None:
        self.gauges[name] = read

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            late = list(self.lateness)
            doc: dict[str, Any] = {
                "uptime_seconds": round(time.time() - self.started_at, 1),
                "jobs": dict(self.jobs),
                "lateness_p50": _quantile(late, 0.5), "lateness_p99": _quantile(late, 0.99),
                "collections": {f"{c}/{s}": n for (c, s), n in self.collections.items()},
                "errors": {f"{c}/{r}": n for (c, r), n in self.errors.items()},
            }
        for name, read in self.gauges.items():
            try:
                doc[name] = {",".join(f"{k}={v}" for k, v in labels) or "value": value
                             for labels, value in read().items()}
            except Exception as e:  # a broken gauge must not take the endpoint down
                log.warning("gauge %s failed: %s", name, e)
        return doc

    def prometheus(self) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, rows: list[tuple[dict[str, str], float]]) -> None:
            lines.append(f"# HELP xunjian_{name} {help_}")
            lines.append(f"# TYPE xunjian_{name} {kind}")
            for labels, value in rows:
                text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                lines.append(f"xunjian_{name}{{{text}}} {value:g}" if text else f"xunjian_{name} {value:g}")

        with self._lock:
            metric("collections_total", "counter", "Collections by collector and outcome.",
                   [({"collector": c, "outcome": s}, n) for (c, s), n in sorted(self.collections.items())])
            metric("collection_errors_total", "counter", "Failed collections by collector and reason.",
                   [({"collector": c, "reason": r}, n) for (c, r), n in sorted(self.errors.items())])
            metric("collection_seconds_total", "counter", "Time spent collecting, by collector.",
                   [({"collector": c}, v) for c, v in sorted(self.duration_sum.items())])
            metric("jobs_total", "counter",
                   "Scheduled jobs: run, skipped_overrun, skipped_late, skipped_backoff.",
                   [({"what": w}, n) for w, n in sorted(self.jobs.items())])
            late = list(self.lateness)
            metric("job_lateness_seconds", "gauge", "Recent job start lateness quantiles.",
                   [({"quantile": q}, _quantile(late, float(q))) for q in ("0.5", "0.99")])
            metric("uptime_seconds", "gauge", "Seconds since the agent started.",
                   [({}, time.time() - self.started_at)])
        for name, read in self.gauges.items():
            try:
                rows = [(dict(labels), value) for labels, value in read().items()]
            except Exception as e:  # a broken gauge must not take the endpoint down
                log.warning("gauge %s failed: %s", name, e)
                continue
            metric(name, "gauge", name.replace("_", " ") + ".", rows)
        return "\n".join(lines) + "\n"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    """GET /metrics (Prometheus text), /healthz, /status (JSON)."""

    def __init__(self, metrics: Metrics, host: str, port: int,
                 status: Callable[[], dict[str, Any]], healthy: Callable[[], tuple[bool, str]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    outer._send(self, 200, "text/plain; version=0.0.4", metrics.prometheus())
                elif self.path == "/healthz":
                    ok, why = healthy()
                    outer._send(self, 200 if ok else 503, "text/plain", why + "\n")
                elif self.path == "/status":
                    outer._send(self, 200, "application/json",
                                json.dumps({**status(), "metrics": metrics.snapshot()}, ensure_ascii=False))
                else:
                    outer._send(self, 404, "text/plain", "try /metrics, /healthz or /status\n")

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http %s", format % args)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, code: int, ctype: str, body: str) -> None:
        data = body.encode("utf-8")
        handler.send_response(code)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
