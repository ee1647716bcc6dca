"""Opening the store: an engine at this xunjian's schema revision. Where a store is, how an
engine is made and the cross-process write lock live in agent/store/engines.py (which the
migrations use too); they are re-exported here, where the rest of the agent looks for them."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import URL, Engine
from sqlalchemy.exc import OperationalError

from agent.store.engines import (
    DRIVERS,
    LOCKS,
    SQLITE_FILE,
    Store,
    configured_store,
    make_engine,
    parse_url,
    serialize,
    sqlite_store,
    store_of,
    unreachable,
)
from agent.store.migrate import ensure_current

log = logging.getLogger(__name__)

__all__ = ["DRIVERS", "LOCKS", "SQLITE_FILE", "Store", "configured_store", "make_engine", "open_engine",
           "parse_url", "serialize", "sqlite_store", "store_of", "unreachable"]


def open_engine(where: Store | Path | str | URL) -> Engine:
    """An engine on a store at this xunjian's schema revision (a new store is created at it)."""
    store = store_of(where)
    engine = make_engine(store)
    try:
        ensure_current(engine, store)
    except OperationalError as e:
        engine.dispose()
        raise unreachable(store, e) from None
    log.info("store: %s", store.shown())  # the password masked
    return engine
