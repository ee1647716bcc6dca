"""The outbox: case events a route selected, written in the event's own transaction.

`Outbox.enqueue` is called by the case engine for every event, with the engine's open
connection; it writes one row per selected channel (idempotency key = case number + event
seq) or nothing. Reading and retrying the rows (for the CLI) is here too.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from agent.cases.engine import to_case
from agent.hooks import routing
from agent.hooks.settings import HooksConfig, Route
from agent.store.schema import outbox
from core.redaction import redact_deep

TICKETING = ("jira", "servicenow")  # one ticket per case: never grouped by storm control


def idempotency_key(case_number: str, seq: int) -> str:
    return f"{case_number}#{seq}"


def worker_id() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


class Outbox:
    def __init__(self, config: HooksConfig) -> None:
        self.config = config

    def enqueue(self, conn: Connection, case: Any, event: dict[str, Any], device: Any) -> None:
        kind = event["kind"]
        if kind == "suppress":
            # Children of an unreachable parent notify through the parent's case only.
            conn.execute(update(outbox).where(outbox.c.case_id == case.id, outbox.c.status == "pending")
                         .values(status="cancelled", last_error=f"suppressed under {case.suppressed_by}"))
        if case.suppressed_by:
            return
        facts = routing.device_facts(device)
        per_channel: dict[str, tuple[Route, list[str]]] = {}
        for route in routing.select(self.config.routes, kind, case.level, facts):
            for ch in route.channels:
                first, people = per_channel.get(ch, (route, []))
                people += [p for p in routing.recipients(route, case.level) if p not in people]
                if kind == "reminder":  # before a deadline: the assignee, the next tier, who is on duty
                    nxt = [*route.tiers.get(max(1, case.level - 1), ()),
                           *([case.assignee] if case.assignee else []),
                           *event["detail"].get("on_duty", ())]
                    people += [p for p in nxt if p not in people]
                per_channel[ch] = (first, people)
        if not per_channel:
            return
        base = redact_deep({"case": to_case(case).to_dict(), "event": event,
                            "device": {"name": case.device, **facts}})
        key = idempotency_key(case.number, event["seq"])
        for ch, (route, people) in per_channel.items():
            storm_key, due, storm = None, event["at"], None
            settings = self.config.channels[ch]
            if kind == "open" and route.storm is not None and settings.model.type not in TICKETING:
                for by in route.storm.by:
                    if facts[by]:
                        storm_key = f"{ch}|{by}={facts[by]}"
                        storm = {"threshold": route.storm.threshold, "by": by, "scope": facts[by]}
                        due = event["at"] + route.storm.window
                        break
            payload = {**base, "route": route.name, "recipients": people, "storm": storm}
            conn.execute(insert(outbox).values(
                case_id=case.id, case_number=case.number, seq=event["seq"], kind=kind, channel=ch,
                route=route.name, key=key, payload=json.dumps(payload, ensure_ascii=False),
                storm_key=storm_key, status="pending", attempts=0, created_at=event["at"],
                next_at=due, last_error=""))


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    case_number: str
    seq: int
    kind: str
    channel: str
    key: str
    status: str
    attempts: int
    created_at: float
    next_at: float
    done_at: float | None
    last_error: str

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]


def _item(r: Any) -> Item:
    return Item(r.id, r.case_number, r.seq, r.kind, r.channel, r.key, r.status, r.attempts,
                r.created_at, r.next_at, r.done_at, r.last_error)


def list_items(engine: Engine, status: str | None = None, case: str | None = None,
               limit: int = 200) -> list[Item]:
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        q = q.where(outbox.c.status == status)
    if case:
        q = q.where(outbox.c.case_number == case)
    with engine.connect() as conn:
        return [_item(r) for r in conn.execute(q)][::-1]


def retry_item(engine: Engine, item_id: int, now: float) -> Item | None:
    """Give a dead (or cancelled) item a fresh start: pending now, the give-up clock restarted."""
    with engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == item_id)).first()
        if row is None:
            return None
        if row.status in ("dead", "cancelled"):
            conn.execute(update(outbox).where(outbox.c.id == item_id).values(
                status="pending", attempts=0, created_at=now, next_at=now, claimed_by=None,
                claimed_until=None))
        return _item(conn.execute(select(outbox).where(outbox.c.id == item_id)).one())


def prune(engine: Engine, before: float) -> int:
    """Delete delivered and cancelled items finished before `before`; dead and pending stay."""
    with engine.begin() as conn:
        return conn.execute(delete(outbox).where(or_(
            (outbox.c.status == "done") & (outbox.c.done_at < before),
            (outbox.c.status == "cancelled") & (outbox.c.created_at < before)))).rowcount
