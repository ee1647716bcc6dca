"""Samples and collection results in the embedded store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, tzinfo

from sqlalchemy import Engine, func, insert, select

from agent.store.rollups import aggregate, merge_rollups
from agent.store.schema import collections, samples
from agent.store.state import collector_key, save_state
from core.model import Result, Sample


def write_samples(engine: Engine, batch: Iterable[Sample], tz: tzinfo = UTC) -> int:
    """The samples and their daily rollups (days in `tz`), in one transaction."""
    batch = list(batch)
    rows = [{
        "time": s.time, "device": s.tags.get("host", ""), "measurement": s.measurement,
        "tags": json.dumps(s.tags, sort_keys=True, ensure_ascii=False),
        "fields": json.dumps(s.fields, ensure_ascii=False),
    } for s in batch]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(samples), rows)
            merge_rollups(conn, aggregate(batch, tz))
    return len(rows)


def write_collection(engine: Engine, result: Result) -> None:
    """The collection record and the collector's new memory, in one transaction."""
    with engine.begin() as conn:
        conn.execute(insert(collections).values(
            device=result.device, collector=result.collector, status=result.status.label,
            reason=result.reason, started_at=result.started_at, duration=result.duration,
            samples=len(result.samples),
        ))
        if result.state is not None:
            save_state(conn, collector_key(result.device, result.collector), result.state)


def read_samples(engine: Engine, device: str | None = None,
                 measurement: str | None = None) -> list[Sample]:
    q = select(samples).order_by(samples.c.time, samples.c.id)
    if device:
        q = q.where(samples.c.device == device)
    if measurement:
        q = q.where(samples.c.measurement == measurement)
    with engine.connect() as conn:
        return [Sample(r.measurement, json.loads(r.tags), json.loads(r.fields), r.time)
                for r in conn.execute(q)]


def count_samples(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(samples)).scalar_one())
