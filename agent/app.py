"""Wiring: config + inventory + rules + store + sinks → a ready Pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from agent.config import AgentConfig, load_config
from agent.hooks.channels import build_channels
from agent.hooks.outbox import Outbox
from agent.hooks.worker import Worker
from agent.inventory import Inventory, load_inventory
from agent.pipeline import Pipeline, Sink, StoreSink
from agent.sinks.influx import InfluxSinkWriter
from agent.store.db import open_engine
from checks.rules import RuleSet, load_rules


@dataclass
class App:
    config: AgentConfig
    inventory: Inventory
    rules: RuleSet
    engine: Engine


def load_app(config_path: Path | None, inventory_path: Path | None = None,
             data_dir: Path | None = None) -> App:
    config = load_config(config_path)
    inventory = load_inventory(inventory_path or config.inventory, config.secrets_file)
    rules = load_rules(config.rules)
    engine = open_engine(data_dir or config.data_dir)
    return App(config, inventory, rules, engine)


def build_outbox(config: AgentConfig) -> Outbox | None:
    """The hooks' outbox when hooks are configured (routes and channels), else None."""
    return Outbox(config.hooks) if config.hooks.enabled else None


def build_worker(app: App) -> Worker | None:
    if not app.config.hooks.enabled:
        return None
    return Worker(app.engine, app.config.hooks, build_channels(app.config.hooks))


def build_pipeline(app: App, influx: bool = True, record: bool = True,
                   worker: Worker | None = None) -> Pipeline:
    sinks: list[Sink] = [StoreSink(app.engine)] if record else []
    if influx and record:
        spool_root = Path(str(app.engine.url.database)).parent / "spool"
        sinks += [InfluxSinkWriter(cfg, spool_root) for cfg in app.config.influx]
    return Pipeline(app.engine, app.inventory, app.rules, sinks, record=record,
                    case_policy=app.config.cases, outbox=build_outbox(app.config),
                    on_changes=worker.wake if worker else None)
