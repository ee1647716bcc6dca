"""Wiring: config + inventory + rules + store + sinks → a ready Pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from agent.config import AgentConfig, load_config
from agent.connections.ssh import SLOTS
from agent.hooks.channels import build_channels
from agent.hooks.outbox import Outbox
from agent.hooks.worker import Worker
from agent.inventory import Inventory, load_inventory
from agent.losses import Losses
from agent.pipeline import Pipeline, Sink, StoreSink
from agent.sinks.influx import InfluxSinkWriter
from agent.store.db import configured_store, open_engine
from checks.rules import RuleSet, load_rules

if TYPE_CHECKING:
    from agent.background import Background


@dataclass
class App:
    config: AgentConfig
    inventory: Inventory
    rules: RuleSet
    engine: Engine


def load_app(config_path: Path | None, inventory_path: Path | None = None,
             data_dir: Path | None = None, engine: Engine | None = None) -> App:
    """Everything validated before anything opens; `engine` reuses an open store (reload)."""
    config = load_config(config_path)
    inventory = load_inventory(inventory_path or config.inventory, config.secrets_file)
    rules = load_rules(config.rules)
    engine = engine or open_engine(configured_store(config, data_dir))
    SLOTS.set_total(config.daemon.ssh_sessions)
    return App(config, inventory, rules, engine)


def build_outbox(config: AgentConfig) -> Outbox | None:
    """The hooks' outbox when hooks are configured (routes and channels), else None."""
    return Outbox(config.hooks) if config.hooks.enabled else None


def build_worker(app: App) -> Worker | None:
    if not app.config.hooks.enabled:
        return None
    return Worker(app.engine, app.config.hooks, build_channels(app.config.hooks))


def build_pipeline(app: App, influx: bool = True, record: bool = True,
                   clock: Callable[[], float] = time.time, worker: Worker | None = None) -> Pipeline:
    """`clock` is injectable: tests and history builders run the real pipeline on shifted time."""
    losses = Losses()  # shared: /healthz and /metrics read one count of what a full disk lost
    sinks: list[Sink] = [StoreSink(app.engine, app.config.cases.tz, losses)] if record else []
    if influx and record:
        spool_root = Path(str(app.engine.url.database)).parent / "spool"
        sinks += [InfluxSinkWriter(cfg, spool_root, losses) for cfg in app.config.influx]
    after = None
    if record and any(r.remediate for r in app.rules.rules):
        import os

        from agent.playbook.auto import AutoRemediator, check_rules

        env = os.environ.get("XUNJIAN_PLAYBOOKS")
        after = AutoRemediator(app.engine, Path(str(app.engine.url.database)).parent, app.config.cases.tz,
                               Path(env) if env else None)
        check_rules(app.rules, after.catalog, str(app.config.rules or "rules"))
    return Pipeline(app.engine, app.inventory, app.rules, sinks, record=record,
                    case_policy=app.config.cases, clock=clock, after_cases=after,
                    outbox=build_outbox(app.config), on_changes=worker.wake if worker else None,
                    losses=losses)


class Backgrounds:
    """The daemon's helper threads (hooks delivery, mail intake), started and stopped together."""

    def __init__(self, *workers: Background | None) -> None:
        self.workers = [w for w in workers if w is not None]

    def start(self) -> None:
        for w in self.workers:
            w.start()

    def stop(self, timeout: float = 10.0) -> None:
        for w in self.workers:
            w.stop(timeout=timeout)


def build_background(app: App, worker: Worker | None) -> Backgrounds | None:
    """The hooks' worker and, with `intake.mail`, the mailbox poller (its cases' hooks wake it)."""
    mail = app.config.mail_intake
    if mail is None:
        return Backgrounds(worker) if worker is not None else None
    from agent.cases.engine import CaseEngine
    from agent.mailin.poll import MailPoller
    from agent.mailin.worker import MailWorker

    cases = CaseEngine(app.engine, app.config.cases, app.inventory.devices, outbox=build_outbox(app.config))
    poller = MailPoller(app.engine, mail, cases, lang=app.config.hooks.lang)
    return Backgrounds(worker, MailWorker(poller, mail.model.interval, worker.wake if worker else None))
