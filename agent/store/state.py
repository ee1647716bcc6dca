"""Small JSON state kept between cycles: collector memory (log positions, last counters,
boot time) and evaluation state. Keys are namespaced strings."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, select

from agent.store.schema import state
from agent.store.sql import insert


def collector_key(device: str, collector: str) -> str:
    return f"collector:{device}:{collector}"


def eval_key(device: str, collector: str) -> str:
    """The rule evaluator's memory (hysteresis, for:, flapping, last seen) per device + collector."""
    return f"eval:{device}:{collector}"


def load_state(engine: Engine, key: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(state.c.value).where(state.c.key == key)).first()
    return json.loads(row[0]) if row else {}


def save_state(conn: Connection, key: str, value: dict[str, Any]) -> None:
    """Inside the caller's transaction, so state and what it produced commit together."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    stmt = insert(conn, state).values(key=key, value=text)
    conn.execute(stmt.on_conflict_do_update(index_elements=[state.c.key], set_={"value": text}))
