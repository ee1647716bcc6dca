"""Runs a job: connection → collector → Result. Errors become data.

One bad device never aborts a run: whatever goes wrong is a Result with status
UNKNOWN and the reason (as nornir turns exceptions into failed results).

The executor is given a job and the device it names as a `RunTarget` — the inventory's
Device in this process, or one rebuilt from the job's own data in another (agent/jobs.py).
It leases the collector's transport, builds the Context, and turns the collector's
Collected into the Result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, Protocol

from agent.connections.endpoint import SshSettings
from agent.connections.pool import POOL
from agent.connections.ssh import ConnectFailed
from collectors import COLLECTORS
from collectors.contract import LEASED, Collected, Collector, Context
from core.model import CollectionError, Job, Result, Sample, Status, Target
from core.redaction import REDACTOR, redact, redact_deep

log = logging.getLogger(__name__)


class RunTarget(Protocol):
    """What the executor needs of a device (the inventory's Device is one)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def ssh(self) -> SshSettings: ...
    @property
    def settings(self) -> dict[str, Any]: ...


class Executor:
    def __init__(self, load_state: Callable[[str, str], dict[str, Any]] | None = None) -> None:
        self._load_state = load_state

    def run(self, job: Job, device: RunTarget) -> Result:
        started = time.time()
        t0 = time.monotonic()
        result = Result(device=job.device, collector=job.collector, status=Status.UNKNOWN,
                        started_at=started)
        spec = COLLECTORS.get(job.collector)
        try:
            if spec is None:
                raise CollectionError(f"unknown collector '{job.collector}'")
            collector = spec.factory()
            if job.state is not None:
                memory = dict(job.state)
            else:
                memory = self._load_state(job.device, job.collector) if self._load_state else {}
            with ExitStack() as stack:
                conn = None
                if spec.transport in LEASED:
                    try:  # the device's one connection, shared
                        conn = stack.enter_context(POOL.lease(device))
                    except ConnectFailed as e:
                        result.connect = str(e) or "no connection"
                        raise
                    result.connect = "ok"
                got = _collect(collector, job, device, memory, conn)
            result.samples = got.samples
            result.status = Status.OK
            result.state = got.state
            result.evidence = "\n".join(got.evidence)[:20_000]
        except CollectionError as e:
            result.reason = str(e)
        except Exception as e:  # a collector bug must not stop the run
            log.exception("collector %s failed on %s", job.collector, job.device)
            result.reason = f"internal error in collector {job.collector}: {type(e).__name__}: {e}"
        result.duration = time.monotonic() - t0
        return redact_result(result)


def _collect(collector: Any, job: Job, device: RunTarget, memory: dict[str, Any], conn: Any) -> Collected:
    settings = device.settings.get(job.collector)
    if isinstance(collector, Collector):
        if settings is None and collector.settings_model is not None:
            settings = _defaults(collector.settings_model)
        ctx = Context(device.name, device.kind, device.address, device.port, settings,
                      dict(job.params), memory, job.tick)
        return collector.collect(ctx, conn)
    # A collector not yet on the contract: it mutates a Target.
    target = Target(device.name, device.kind, device.address, dict(job.params), settings=settings,
                    port=device.port, state=memory)
    samples = collector.collect(target, conn)
    return Collected(samples, target.evidence, target.state)


_DEFAULTS: dict[type, Any] = {}


def _defaults(model: type) -> Any:
    """A settings model made of its defaults (the device gave no section): made once."""
    if model not in _DEFAULTS:
        _DEFAULTS[model] = model()
    return _DEFAULTS[model]


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
