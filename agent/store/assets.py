"""The asset register: the latest record per device from `asset` samples, and every field
that changed (a firmware upgrade between two cycles is such a change)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from agent.model import Sample
from agent.store.schema import asset_changes, assets

SKIP = {"entity_mib"}  # bookkeeping, not part of the asset


def record_assets(conn: Connection, samples: list[Sample], now: float) -> list[dict[str, Any]]:
    """Inside the caller's transaction; returns the changes (field, old, new) it wrote."""
    changes: list[dict[str, Any]] = []
    for s in samples:
        if s.measurement != "asset":
            continue
        device = s.tags.get("host", "")
        record = {k: str(v) for k, v in s.fields.items() if k not in SKIP and v not in ("", None)}
        row = conn.execute(select(assets).where(assets.c.device == device)).first()
        if row is None:
            conn.execute(insert(assets).values(device=device, record=json.dumps(record, ensure_ascii=False),
                                               first_seen=now, updated_at=now))
            continue
        old = json.loads(row.record)
        diff = [{"device": device, "at": now, "field": k, "old": old.get(k), "new": record.get(k)}
                for k in sorted(set(old) | set(record)) if old.get(k) != record.get(k)]
        if diff:
            conn.execute(insert(asset_changes), diff)
            changes += diff
        conn.execute(update(assets).where(assets.c.device == device).values(
            record=json.dumps(record, ensure_ascii=False), updated_at=now))
    return changes


def list_assets(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [{"device": r.device, **json.loads(r.record), "first_seen": r.first_seen,
                 "updated_at": r.updated_at} for r in conn.execute(select(assets).order_by(assets.c.device))]


def asset_history(engine: Engine, device: str | None = None, since: float = 0.0,
                  until: float = float("inf")) -> list[dict[str, Any]]:
    q = select(asset_changes).where(asset_changes.c.at >= since, asset_changes.c.at < until)
    if device:
        q = q.where(asset_changes.c.device == device)
    with engine.connect() as conn:
        return [{"device": r.device, "at": r.at, "field": r.field, "old": r.old, "new": r.new}
                for r in conn.execute(q.order_by(asset_changes.c.at, asset_changes.c.id))]
