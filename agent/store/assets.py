"""The asset register: the latest record per device from `asset` samples, and every field
that changed (a firmware upgrade between two cycles is such a change).

Records are merged per source: each collector (`snmp`, `cli`, `linux`, `oracle`, …) owns the
fields it reports, so a field is "no longer reported" only when the collector that reported it
stops reporting it — two collectors feeding one device never undo each other's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from agent.store.schema import asset_changes, assets
from core.model import Sample

SKIP = {"entity_mib"}  # bookkeeping, not part of the asset

Record = dict[str, str]


@dataclass(slots=True)
class AssetUpdate:
    """What one `asset` sample does to one device's record (computed, not yet written)."""

    device: str
    first: bool  # no record yet: the device's first sight, not a change
    record: Record  # the merged view after the update
    sources: dict[str, Record]  # collector -> the fields it reports, after the update
    changes: list[dict[str, Any]] = field(default_factory=list)  # field, old, new, source


def asset_fields(sample: Sample) -> Record:
    return {k: str(v) for k, v in sample.fields.items() if k not in SKIP and v not in ("", None)}


def merged(sources: dict[str, Record]) -> Record:
    """One value per field: the first source (in the order sources were first seen) wins,
    so a field two collectors both report does not flap between their spellings."""
    out: Record = {}
    for fields in sources.values():
        for k, v in fields.items():
            out.setdefault(k, v)
    return out


def plan_assets(conn: Connection, samples: list[Sample], collector: str) -> list[AssetUpdate]:
    """Read-only: what the `asset` samples of one collection would change in the register."""
    planned: dict[str, AssetUpdate] = {}  # a second sample for one device sees the first's result
    for s in samples:
        if s.measurement != "asset":
            continue
        device = s.tags.get("host", "")
        before = planned.get(device)
        if before is not None:
            old_sources, first = before.sources, before.first
        else:
            row = conn.execute(select(assets.c.sources).where(assets.c.device == device)).first()
            old_sources, first = (json.loads(row.sources) if row else {}), row is None
        sources = {**old_sources, collector: asset_fields(s)}
        old, new = merged(old_sources), merged(sources)
        changes = [] if first else [
            {"device": device, "field": k, "old": old.get(k), "new": new.get(k), "source": collector}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        planned[device] = AssetUpdate(device, first, new, sources,
                                      (before.changes if before else []) + changes)
    return list(planned.values())


def record_assets(conn: Connection, samples: list[Sample], now: float,
                  collector: str = "") -> list[dict[str, Any]]:
    """Inside the caller's transaction; returns the changes (field, old, new, source) it wrote.

    The plan is made again here, inside the write transaction, so what is written follows the
    record as it is now even if another collector of the device wrote in between."""
    written: list[dict[str, Any]] = []
    for u in plan_assets(conn, samples, collector):
        values = {"record": json.dumps(u.record, ensure_ascii=False),
                  "sources": json.dumps(u.sources, ensure_ascii=False), "updated_at": now}
        if u.first:
            conn.execute(insert(assets).values(device=u.device, first_seen=now, **values))
            continue
        if u.changes:
            rows = [{**c, "at": now} for c in u.changes]
            conn.execute(insert(asset_changes), rows)
            written += rows
        conn.execute(update(assets).where(assets.c.device == u.device).values(**values))
    return written


def list_assets(engine: Engine) -> list[dict[str, Any]]:
    """Every device's merged record: asset fields only, plus first_seen and updated_at."""
    with engine.connect() as conn:
        return [{"device": r.device, **json.loads(r.record), "first_seen": r.first_seen,
                 "updated_at": r.updated_at} for r in conn.execute(select(assets).order_by(assets.c.device))]


def asset_sources(engine: Engine, device: str) -> dict[str, Record]:
    """Who reports what on one device: collector -> its fields ({} when unknown)."""
    with engine.connect() as conn:
        row = conn.execute(select(assets.c.sources).where(assets.c.device == device)).first()
    return json.loads(row.sources) if row else {}


def asset_history(engine: Engine, device: str | None = None, since: float = 0.0,
                  until: float = float("inf")) -> list[dict[str, Any]]:
    q = select(asset_changes).where(asset_changes.c.at >= since, asset_changes.c.at < until)
    if device:
        q = q.where(asset_changes.c.device == device)
    with engine.connect() as conn:
        return [{"device": r.device, "at": r.at, "field": r.field, "old": r.old, "new": r.new,
                 "source": r.source}
                for r in conn.execute(q.order_by(asset_changes.c.at, asset_changes.c.id))]
