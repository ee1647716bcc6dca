"""Runs a job description: connection → collector → Result. Errors become data.

One bad device never aborts a run: whatever goes wrong is a Result with status
UNKNOWN and the reason (as nornir turns exceptions into failed results).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from agent.connections.pool import POOL
from agent.connections.ssh import ConnectFailed
from agent.inventory import Device
from collectors import COLLECTORS
from core.model import CollectionError, Job, Result, Sample, Status, Target
from core.redaction import REDACTOR, redact, redact_deep

log = logging.getLogger(__name__)


class Executor:
    """Keeps one collector instance per (device, collector): some remember the last cycle."""

    def __init__(self, load_state: Callable[[str, str], dict[str, Any]] | None = None) -> None:
        self._instances: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._load_state = load_state

    def _collector(self, device: str, name: str) -> Any:
        with self._lock:
            key = (device, name)
            if key not in self._instances:
                self._instances[key] = COLLECTORS[name].factory()
            return self._instances[key]

    def run(self, job: Job, device: Device) -> Result:
        started = time.time()
        t0 = time.monotonic()
        result = Result(device=job.device, collector=job.collector, status=Status.UNKNOWN,
                        started_at=started)
        spec = COLLECTORS.get(job.collector)
        try:
            if spec is None:
                raise CollectionError(f"unknown collector '{job.collector}'")
            collector = self._collector(job.device, job.collector)
            memory = self._load_state(job.device, job.collector) if self._load_state else {}
            target = Target(device.name, device.kind, device.address, dict(job.params),
                            settings=device.settings.get(job.collector), port=device.port,
                            state=memory)
            if spec.transport == "ssh":
                with ExitStack() as stack:
                    try:  # the device's one connection, shared
                        conn = stack.enter_context(POOL.lease(device))
                    except ConnectFailed as e:
                        result.connect = str(e) or "no connection"
                        raise
                    result.connect = "ok"
                    samples = collector.collect(target, conn)
            else:
                samples = collector.collect(target, None)
            result.samples = samples
            result.status = Status.OK
            result.state = target.state
            result.evidence = "\n".join(target.evidence)[:20_000]
        except CollectionError as e:
            result.reason = str(e)
        except Exception as e:  # a collector bug must not stop the run
            log.exception("collector %s failed on %s", job.collector, job.device)
            result.reason = f"internal error in collector {job.collector}: {type(e).__name__}: {e}"
        result.duration = time.monotonic() - t0
        return redact_result(result)


def redact_result(result: Result) -> Result:
    """The one way out of a collection: no secret the agent holds in its reason, evidence
    or sample strings (a server may echo what it was sent), whatever the collector did."""
    if not REDACTOR.active:
        return result
    result.reason = redact(result.reason)
    result.evidence = redact(result.evidence)
    result.samples = [_redact_sample(s) for s in result.samples]
    if result.state is not None:
        result.state = redact_deep(result.state)
    return result


def _redact_sample(s: Sample) -> Sample:
    fields = {k: redact(v) if isinstance(v, str) else v for k, v in s.fields.items()}
    tags = {k: redact(v) for k, v in s.tags.items()}
    if fields == s.fields and tags == s.tags:
        return s
    return Sample(s.measurement, tags, fields, s.time)
