"""Building a case engine with hooks on a fake clock, for the hook tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.hooks.channels import build_channels
from agent.hooks.outbox import Outbox
from agent.hooks.settings import HooksConfig, load_hooks
from agent.hooks.worker import Worker
from agent.secrets import Secrets
from agent.store.db import open_engine
from agent.store.schema import outbox
from core.model import Status, Verdict
from tests.test_case_engine import CONFIG, Clock

ENV = {"HOOK_TOKEN": "s3cr3t-bearer", "JIRA_TOKEN": "jira-pass", "SNOW_PASS": "snow-pass",
       "DT_TOKEN": "dt-token", "DT_SECRET": "SECdt-signing", "WECOM_KEY": "wecom-key", "SMTP_PASS": "mail-pass"}


@dataclass
class Dev:
    name: str
    kind: str = "server"
    groups: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Rig:
    ce: CaseEngine
    worker: Worker
    clock: Clock
    engine: Engine
    hooks: HooksConfig

    def items(self, **where: Any) -> list[Any]:
        q = select(outbox).order_by(outbox.c.id)
        for k, v in where.items():
            q = q.where(getattr(outbox.c, k) == v)
        with self.engine.connect() as conn:
            return list(conn.execute(q))


def hooks_config(raw: dict[str, Any], base: Path = Path(".")) -> HooksConfig:
    return load_hooks(raw, "xunjian.yaml", base, Secrets(None, ENV))


def rig(tmp_path: Path, raw: dict[str, Any], devices: list[Dev] | None = None,
        start: str = "2026-11-23 09:00", store: str | None = None) -> Rig:
    """`store`: where the store is (the `store` fixture: either backend); default SQLite."""
    clock = Clock(start)
    hooks = hooks_config(raw, tmp_path)
    engine = open_engine(store or tmp_path / "data")
    devs = {d.name: d for d in devices or [Dev("db01", labels={"site": "county-a"})]}
    ce = CaseEngine(engine, load_case_policy(CONFIG, "xunjian.yaml"), devs, clock, Outbox(hooks))
    worker = Worker(engine, hooks, build_channels(hooks), clock=clock, rng=lambda: 1.0)
    return Rig(ce, worker, clock, engine, hooks)


def fault(device: str = "db01", check: str = "disk_used_percent", instance: str = "/u01",
          level: int = 3, status: Status = Status.WARN, value: float = 90.0) -> Verdict:
    return Verdict(device, check, status, instance, value, "%", "warn >= 85%", f"{instance}: {value}%",
                   level=None if status is Status.OK else level)


def ok(device: str = "db01", **kw: Any) -> Verdict:
    return fault(device, status=Status.OK, value=10.0, **kw)


def body(seen: Any) -> dict[str, Any]:
    return json.loads(seen.body)  # type: ignore[no-any-return]
