"""Result → sinks, → rule evaluation → case engine. One direction only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any, Protocol

from sqlalchemy import Engine

from agent.cases.engine import CaseEngine, EventSink
from agent.cases.plans import PlanChecks
from agent.cases.policy import CasePolicy
from agent.cases.selfcheck import SelfChecks
from agent.inventory import Inventory, criticality_level
from agent.losses import Losses, is_disk_full
from agent.store.assets import plan_assets, record_assets
from agent.store.samples import write_collection, write_samples
from agent.store.state import collector_key, eval_key, load_state, save_state
from checks.evaluate import collection_verdict, device_verdict
from checks.rules import RuleSet
from checks.stateful import DeviceInfo, evaluate_cycle
from collectors import COLLECTORS
from core.model import Result, Sample, Verdict

log = logging.getLogger(__name__)
OUTAGE_TRANSPORTS = ("snmp", "netcli")  # collectors that connect by themselves (no collect.device)


class Sink(Protocol):
    name: str

    def write(self, samples: list[Sample]) -> None: ...
    def close(self, timeout: float = 10.0) -> None: ...


class StoreSink:
    name = "store"

    def __init__(self, engine: Engine, tz: tzinfo = UTC, losses: Losses | None = None) -> None:
        self.engine = engine
        self.tz = tz  # rollup days are the agent's local days
        self.losses = losses or Losses()

    def write(self, samples: list[Sample]) -> None:
        try:
            write_samples(self.engine, samples, self.tz)
        except Exception as e:
            if not is_disk_full(e):
                raise
            self.losses.record("store", len(samples), e)  # counted and said, no traceback
            return
        self.losses.ok("store")

    def close(self, timeout: float = 10.0) -> None:
        return None


class Pipeline:
    def __init__(self, engine: Engine, inventory: Inventory, rules: RuleSet,
                 sinks: list[Sink], record: bool = True, case_policy: CasePolicy | None = None,
                 clock: Callable[[], float] = time.time,
                 after_cases: Callable[[list[Verdict], Inventory, RuleSet], None] | None = None,
                 outbox: EventSink | None = None, on_changes: Callable[[], None] | None = None,
                 losses: Losses | None = None) -> None:
        self.engine = engine
        self.losses = losses or Losses()  # what a full disk kept us from writing
        self.inventory = inventory
        self.rules = rules
        self.sinks = sinks
        self.record = record  # False: judge only (e.g. `inspect --no-store`)
        self.clock = clock
        self.cases = CaseEngine(engine, case_policy, inventory.devices, clock, outbox) if record else None
        self.on_changes = on_changes  # e.g. wake the hooks' delivery worker
        self._lock = threading.Lock()
        self.after_cases = after_cases  # opt-in auto-remediation (agent.playbook.auto)
        self.plan_checks = PlanChecks()  # planned work: lapses (not approved, not done, no report) as cases
        self.self_checks = SelfChecks()  # xunjian's own faults (a calendar without its year's holidays)

    def reconfigure(self, inventory: Inventory, rules: RuleSet, case_policy: CasePolicy) -> None:
        """A reload: new inventory, rules and case policy; sinks and state stay."""
        with self._lock:
            self.inventory = inventory
            self.rules = rules
            if self.cases is not None:
                self.cases.policy = case_policy
                self.cases.devices = inventory.devices

    def load_state(self, device: str, collector: str) -> dict[str, Any]:
        """What the collector remembered after its last recorded cycle on this device."""
        return load_state(self.engine, collector_key(device, collector))

    def tick(self) -> None:
        """Case clocks: escalations when deadlines pass, faults held through a window; once a
        day, the self-checks."""
        if self.cases is None:
            return
        with self._lock:
            policy, now = self.cases.policy, self.cases.clock()
            changes = self.cases.apply([*self.self_checks.due(policy, now),
                                        *self.plan_checks.due(self.engine, policy.plans, policy.tz, now)])
            changes += self.cases.tick()
            for kind, case in changes:
                log.info("case %s %s: %s %s L%d %s", case.number, kind, case.device, case.check,
                         case.level, case.message)
        if changes and self.on_changes is not None:
            self.on_changes()

    def handle(self, result: Result) -> list[Verdict]:
        """Judge a collection with the stateful rules (hysteresis, for:, flapping, missing
        data); when recording, feed the sinks, the store and the cases, and keep the state."""
        device = self.inventory.devices.get(result.device)
        info = DeviceInfo(result.device, device.kind if device else "",
                          tuple(device.groups) if device else (), float(device.interval) if device else 0.0)
        key = eval_key(result.device, result.collector)
        with self._lock:
            # Asset changes are events that rules judge and cases take like any sample: found
            # against the stored register (read-only) before the rules, written further down.
            result.samples = [*result.samples, *self._asset_events(result)]
            previous = load_state(self.engine, key)
            judged, state = evaluate_cycle(result.samples, info, self.rules, previous, now=self.clock(),
                                           collector=result.collector,
                                           overrides=device.thresholds if device else {},
                                           collected=result.collected)
        # The device's connection first: its case is open before the collector's UNKNOWN,
        # which the case engine then links to it instead of opening one per collector.
        critical = criticality_level(device.labels) if device else None
        connection = device_verdict(result, self.rules, critical)
        spec = COLLECTORS.get(result.collector)
        # over SNMP or a switch's CLI, the collector's own connection failing is the outage
        own = critical if spec is not None and spec.transport in OUTAGE_TRANSPORTS else None
        verdicts = [*([connection] if connection else []), collection_verdict(result, self.rules, own),
                    *judged]
        if not self.record:
            return verdicts  # a look that changes nothing: the state is not kept either
        with self._lock:  # SQLite has one writer; keep ours in line
            for sink in self.sinks:
                try:
                    sink.write(result.samples)
                except Exception as e:  # one broken sink must not stop the others
                    log.exception("sink %s failed to take %d samples: %s", sink.name,
                                  len(result.samples), e)
            try:
                changes = self._record(result, verdicts, key, state)
            except Exception as e:
                if not is_disk_full(e):
                    raise
                # the samples were counted by the store sink; this is the rest of the cycle
                self.losses.record("store", 0, e)
                return verdicts
        if changes and self.on_changes is not None:
            self.on_changes()
        if self.after_cases is not None and self.cases is not None:
            try:  # outside the lock: a playbook takes seconds; it must not stall other devices
                self.after_cases(verdicts, self.inventory, self.rules)
            except Exception as e:  # a failed remediation must not stop collection; it is logged
                log.exception("auto-remediation after %s failed: %s", result.device, e)
        return verdicts

    def _record(self, result: Result, verdicts: list[Verdict], key: str,
                state: dict[str, Any]) -> list[tuple[str, Any]]:
        write_collection(self.engine, result)
        with self.engine.begin() as conn:
            for c in record_assets(conn, result.samples, self.clock(), result.collector):
                log.warning("asset change on %s (%s): %s %s → %s", c["device"], c["source"],
                            c["field"], c["old"], c["new"])
        changes = self.cases.apply(verdicts) if self.cases is not None else []
        for kind, case in changes:
            log.info("case %s %s: %s %s L%d %s", case.number, kind, case.device,
                     case.check, case.level, case.message)
        # After the cases: a crash in between re-judges the same samples' successors,
        # and verdicts are levels, not edges, so no fault is lost.
        with self.engine.begin() as conn:
            save_state(conn, key, state)
        return changes

    def _asset_events(self, result: Result) -> list[Sample]:
        """An `event` sample per asset field whose value changed (not a first sight, not a
        field seen for the first time) — `inspect --no-store` sees them too, and writes nothing."""
        if not any(s.measurement == "asset" for s in result.samples):
            return []
        with self.engine.connect() as conn:
            updates = plan_assets(conn, result.samples, result.collector)
        t = max((s.time for s in result.samples if s.measurement == "asset"), default=0)
        return [asset_event(c, t) for u in updates for c in u.changes if c["old"] is not None]

    def close(self, timeout: float = 10.0) -> None:
        """Within `timeout` in all, not per sink: the daemon's stop has one budget."""
        deadline = time.monotonic() + timeout
        for sink in self.sinks:
            sink.close(max(0.5, deadline - time.monotonic()))


def asset_event(change: dict[str, Any], t: int) -> Sample:
    """One changed asset field as an event (checks/defaults.yaml `asset_changed` judges it);
    the instance tag is the field, so each field has its own case."""
    old, new = change["old"], change["new"]
    shown = "(no longer reported)" if new is None else new
    return Sample("event", {"host": change["device"], "source": change["source"], "kind": "asset_change",
                            "instance": change["field"]},
                  {"field": change["field"], "old": old, "new": new or "", "change": f"{old} → {shown}",
                   "message": f"{change['field']} changed: {old} → {shown}", "count": 1}, t,
                  f"asset register: {change['field']} was {old!r}, {change['source']} now reports "
                  f"{shown if new is None else repr(new)}")
