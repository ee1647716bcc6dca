"""Auto-remediation, opt-in per rule (`remediate:` in the rules file).

While a rule with `remediate` is breached on a device that has an open case, the
playbook runs with the rule's fixed parameters — at most once per `at_most_every` per
device, playbook and rule (counted from the audit table, so restarts do not reset it).
The run is an ordinary apply: same guard rails, same audit, an event on the case. The
case is not resolved by it: only a later OK verdict does that, so a disk still over the
threshold after the clean-up keeps its case open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from agent.cases.engine import OPEN_STATES, CaseEngine
from agent.inventory import Inventory
from agent.playbook import audit
from agent.playbook.catalog import Playbook, bind, load_catalog
from agent.playbook.runner import Request, Runner
from agent.store.schema import cases, playbook_runs
from checks.rules import RuleSet
from core.model import Verdict
from core.problems import ConfigError, Problem

log = logging.getLogger(__name__)


def check_rules(rules: RuleSet, catalog: dict[str, Playbook], where: str = "rules") -> None:
    """Every `remediate.playbook` must exist and take the parameters given."""
    problems: list[Problem] = []
    for i, rule in enumerate(rules.rules):
        r = rule.remediate
        if r is None:
            continue
        if r.playbook not in catalog:
            problems.append(Problem(where, f"rules[{i}].remediate.playbook",
                                    f"no playbook {r.playbook!r}; known: {', '.join(sorted(catalog))}"))
            continue
        unknown = set(r.params) - set(catalog[r.playbook].spec.parameters)
        if unknown:
            problems.append(Problem(where, f"rules[{i}].remediate.params",
                                    f"{r.playbook} takes no {', '.join(sorted(unknown))}"))
    if problems:
        raise ConfigError(problems)


class AutoRemediator:
    """Called by the pipeline after the case engine has seen a result's verdicts."""

    def __init__(self, engine: Engine, data_dir: Path, tz: ZoneInfo, user_dir: Path | None = None,
                 clock: Callable[[], float] = time.time, poll_interval: float = 0.5) -> None:
        self.engine, self.clock = engine, clock
        self.catalog = load_catalog(user_dir)
        self.runner = Runner(engine, data_dir, tz, case_hook=CaseEngine(engine, clock=clock).remediation,
                             clock=clock, poll_interval=poll_interval)

    def __call__(self, verdicts: list[Verdict], inventory: Inventory, rules: RuleSet) -> None:
        by_name = rules.by_name()
        for v in verdicts:
            rule = by_name.get(v.check)
            r = rule.remediate if rule else None
            device = inventory.devices.get(v.device)
            if r is None or rule is None or device is None or v.status.label not in r.on:
                continue
            number = self._open_case(v)
            actor = f"auto:{rule.name}"
            if number is None or self._ran_lately(v.device, r.playbook, actor, r.seconds):
                continue
            params: dict[str, Any] = {
                k: (val.replace("{instance}", v.instance) if isinstance(val, str) else val)
                for k, val in r.params.items()}
            try:
                bound = bind(self.catalog[r.playbook], params)
            except (ConfigError, KeyError) as e:
                why = "; ".join(e.lines(10)) if isinstance(e, ConfigError) else f"no playbook {r.playbook}"
                log.error("auto-remediation %s for %s on %s cannot start: %s", r.playbook, rule.name,
                          v.device, why)
                # recorded like every refusal (and so tried again only after at_most_every)
                audit.refusal(self.engine, actor, v.device, r.playbook, "apply", params, why, number)
                continue
            res = self.runner.apply(Request(bound, device, actor, case=number), lambda _res: True)
            log.warning("auto-remediation %s on %s for case %s (%s %s): %s — %s", r.playbook, v.device,
                        number, rule.name, v.instance, res.result, res.message)

    def _open_case(self, v: Verdict) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(cases.c.number).where(
                cases.c.device == v.device, cases.c.check_name == v.check, cases.c.instance == v.instance,
                cases.c.status.in_(OPEN_STATES))).scalar_one_or_none()

    def _ran_lately(self, device: str, playbook: str, actor: str, seconds: int) -> bool:
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(playbook_runs).where(
                playbook_runs.c.device == device, playbook_runs.c.playbook == playbook,
                playbook_runs.c.actor == actor, playbook_runs.c.mode == "apply",
                playbook_runs.c.result != "busy",
                playbook_runs.c.started_at >= self.clock() - seconds)).scalar_one()
        return bool(n)
