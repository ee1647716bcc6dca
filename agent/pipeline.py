"""Result → sinks, → rule evaluation → case engine. One direction only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine

from agent.cases.engine import CaseEngine, EventSink
from agent.cases.policy import CasePolicy
from agent.inventory import Inventory
from agent.model import Result, Sample, Verdict
from agent.store.samples import write_collection, write_samples
from agent.store.state import collector_key, load_state
from checks.evaluate import collection_verdict, evaluate
from checks.rules import RuleSet

log = logging.getLogger(__name__)


class Sink(Protocol):
    name: str

    def write(self, samples: list[Sample]) -> None: ...
    def close(self, timeout: float = 10.0) -> None: ...


class StoreSink:
    name = "store"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(self, samples: list[Sample]) -> None:
        write_samples(self.engine, samples)

    def close(self, timeout: float = 10.0) -> None:
        return None


class Pipeline:
    def __init__(self, engine: Engine, inventory: Inventory, rules: RuleSet,
                 sinks: list[Sink], record: bool = True, case_policy: CasePolicy | None = None,
                 clock: Callable[[], float] = time.time, outbox: EventSink | None = None,
                 on_changes: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.inventory = inventory
        self.rules = rules
        self.sinks = sinks
        self.record = record  # False: judge only (e.g. `inspect --no-store`)
        self.clock = clock
        self.cases = CaseEngine(engine, case_policy, inventory.devices, clock, outbox) if record else None
        self.on_changes = on_changes  # e.g. wake the hooks' delivery worker
        self._lock = threading.Lock()

    def load_state(self, device: str, collector: str) -> dict[str, Any]:
        """What the collector remembered after its last recorded cycle on this device."""
        return load_state(self.engine, collector_key(device, collector))

    def tick(self) -> None:
        """Case clocks: escalations when deadlines pass, faults held through a window."""
        if self.cases is None:
            return
        with self._lock:
            changes = self.cases.tick()
            for kind, case in changes:
                log.info("case %s %s: %s %s L%d %s", case.number, kind, case.device, case.check,
                         case.level, case.message)
        if changes and self.on_changes is not None:
            self.on_changes()

    def handle(self, result: Result) -> list[Verdict]:
        device = self.inventory.devices.get(result.device)
        overrides = device.thresholds if device else {}
        verdicts = [collection_verdict(result, self.rules)]
        verdicts += evaluate(result.samples, result.device, self.rules, overrides)
        if not self.record:
            return verdicts
        with self._lock:  # SQLite has one writer; keep ours in line
            for sink in self.sinks:
                try:
                    sink.write(result.samples)
                except Exception as e:  # one broken sink must not stop the others
                    log.exception("sink %s failed to take %d samples: %s", sink.name,
                                  len(result.samples), e)
            write_collection(self.engine, result)
            changes = self.cases.apply(verdicts) if self.cases is not None else []
            for kind, case in changes:
                log.info("case %s %s: %s %s L%d %s", case.number, kind, case.device,
                         case.check, case.level, case.message)
        if changes and self.on_changes is not None:
            self.on_changes()
        return verdicts

    def close(self, timeout: float = 10.0) -> None:
        for sink in self.sinks:
            sink.close(timeout)
