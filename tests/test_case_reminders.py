"""Reminders before a deadline: at each configured share of a limit (75 %, 90 %), once, as a
`reminder` case event the hook routes select, addressed to the assignee and the next tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.cases.queries import case_history
from agent.hooks.outbox import Outbox
from agent.store.db import open_engine
from agent.store.schema import outbox
from core.model import Status, Verdict
from tests.hook_setup import hooks_config
from tests.test_case_engine import CONFIG, Clock, t

POLICY = {**CONFIG, "sla": {**CONFIG["sla"], "contract": {**CONFIG["sla"]["contract"], "remind_at": [90, 75]}}}
HOOKS: dict[str, Any] = {
    "channels": {"sms": {"type": "webhook", "url": "http://127.0.0.1:9/sms"}},
    "routes": [{"match": {"events": ["reminder"]}, "channels": ["sms"], "recipients": ["duty"],
                "tiers": {2: ["team-lead"], 3: ["engineer-pool"]}}],
}


def reminders(ce: CaseEngine, number: str) -> list[tuple[str, int, float]]:
    return [(e["detail"]["clock"], e["detail"]["percent"], e["at"])
            for e in case_history(ce.engine, number) if e["kind"] == "reminder"]


def test_reminders_go_out_once_at_each_share_then_the_breach(store: str, tmp_path: Path) -> None:
    clock = Clock("2026-11-23 10:00")  # a Monday
    ce = CaseEngine(open_engine(store), load_case_policy(POLICY, "xunjian.yaml"), {}, clock,
                    Outbox(hooks_config(HOOKS, tmp_path)))
    (_, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
    ce.act(case.number, "assign", "desk", to="zhang.wei")
    clock.at("2026-11-23 11:29")  # response limit 2 h: 75 % is 11:30
    assert ce.tick() == []
    clock.at("2026-11-23 11:30")
    assert [k for k, _ in ce.tick()] == ["reminder"]
    assert ce.tick() == []  # once
    clock.at("2026-11-23 11:48")
    assert [k for k, _ in ce.tick()] == ["reminder"]
    assert ce.tick() == []
    clock.at("2026-11-23 12:00")
    assert [k for k, _ in ce.tick()] == ["breach", "escalate"]
    assert reminders(ce, case.number) == [("response", 75, t("2026-11-23 11:30")),
                                          ("response", 90, t("2026-11-23 11:48"))]
    # the new level's response limit (1 h from 12:00): a late check sends only the highest share
    clock.at("2026-11-23 12:56")
    assert [k for k, _ in ce.tick()] == ["reminder"]
    assert reminders(ce, case.number)[-1] == ("response", 90, t("2026-11-23 12:56"))
    with ce.engine.connect() as conn:
        sent = [json.loads(r.payload) for r in conn.execute(outbox.select().where(outbox.c.kind == "reminder")
                                                            .order_by(outbox.c.id))]
    assert len(sent) == 3
    # at level 3: the route's people, the next tier (level 2) and the assignee
    assert sent[0]["recipients"] == ["duty", "engineer-pool", "team-lead", "zhang.wei"]
    assert sent[0]["event"]["detail"]["message"] == "response due in 30 min (75% of the limit used)"
    assert sent[2]["recipients"][-1] == "zhang.wei"


def test_no_reminders_unless_the_policy_asks(store: str) -> None:
    clock = Clock("2026-11-23 10:00")
    ce = CaseEngine(open_engine(store), load_case_policy(CONFIG, "xunjian.yaml"), {}, clock)
    (_, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
    clock.at("2026-11-23 11:59")
    assert ce.tick() == [] and reminders(ce, case.number) == []


def test_a_reminder_reaches_a_real_receiver_with_its_message(store: str, tmp_path: Path) -> None:
    """The reminder event through the outbox and the delivery worker to a webhook on 127.0.0.1:
    what the SMS gateway gets says which clock, how long is left and who it is for."""
    from agent.hooks.channels import build_channels
    from agent.hooks.worker import Worker
    from tests.hook_peers import HookReceiver

    with HookReceiver() as receiver:
        hooks = {**HOOKS, "channels": {"sms": {"type": "webhook", "url": f"{receiver.url}/hook"}}}
        config = hooks_config(hooks, tmp_path)
        clock = Clock("2026-11-23 10:00")
        ce = CaseEngine(open_engine(store), load_case_policy(POLICY, "xunjian.yaml"), {}, clock, Outbox(config))
        (_, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
        ce.act(case.number, "assign", "desk", to="zhang.wei")
        clock.at("2026-11-23 11:30")
        assert [k for k, _ in ce.tick()] == ["reminder"]
        stats = Worker(ce.engine, config, build_channels(config), clock=clock).drain()
        assert stats.sent >= 1 and stats.dead == 0
        (hit,) = [h for h in receiver.hits("/hook") if h.json().get("event", {}).get("kind") == "reminder"]
        body = hit.json()
        assert body["event"]["detail"]["message"] == "response due in 30 min (75% of the limit used)"
        assert body["case"]["number"] == case.number and "zhang.wei" in body["recipients"]
