"""`xunjian db copy`: every row of one store into another, empty one (SQLite → PostgreSQL, or
back), in one transaction on the target, then checked: the same rows per table (counts and an
order-free digest of every row) and the case/event invariants (one open case per fault, every
case's events numbered 1…n from its `open`).

The source is read in one consistent snapshot; stop the daemon first, or what it writes after
the snapshot is not copied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text

from agent.store.db import Store, open_engine, parse_url, sqlite_store
from agent.store.schema import case_events, cases, metadata, state
from core.problems import ConfigError, Problem

BATCH = 5000
OPEN = ("open", "acknowledged")


def resolve_store(value: str, cfg: Any, option: str) -> Store:
    """A data directory (SQLite in it) or a URL whose password, if any, is a reference."""
    from agent.secrets import REF_HELP, Secrets, is_reference

    if "://" not in value:
        return sqlite_store(Path(value))
    try:
        url = parse_url(value)
    except ValueError as e:
        raise ConfigError([Problem("command line", option, str(e))]) from None
    if url.password is not None:
        where = url.render_as_string(hide_password=True)
        if not is_reference(url.password):
            raise ConfigError([Problem("command line", f"{option} {where}", f"the password: {REF_HELP}")])
        secret, err = Secrets(getattr(cfg, "secrets_file", None)).resolve(str(url.password))
        if err or secret is None:
            raise ConfigError([Problem("command line", f"{option} {where}", f"the password: {err}")])
        url = url.set(password=secret.get_secret_value())
    return Store(url)


@dataclass
class CopyReport:
    counts: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    events: int = 0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _digest(row: Any) -> int:
    return int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest()[:16], "big")


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def invariants(conn: Connection) -> list[str]:
    """What is wrong with the cases and their events (nothing: [])."""
    wrong = []
    dup = conn.execute(select(cases.c.device, cases.c.check_name, cases.c.instance, func.count())
                       .where(cases.c.status.in_(OPEN))
                       .group_by(cases.c.device, cases.c.check_name, cases.c.instance)
                       .having(func.count() > 1)).all()
    wrong += [f"{n} open cases for {d} {c} {i}".strip() for d, c, i, n in dup]
    seqs: dict[int, list[tuple[int, str]]] = {}
    ev = case_events.c
    for case_id, seq, kind in conn.execute(select(ev.case_id, ev.seq, ev.kind).order_by(ev.case_id, ev.seq)):
        seqs.setdefault(case_id, []).append((seq, kind))
    for case_id, number in conn.execute(select(cases.c.id, cases.c.number)):
        events = seqs.pop(case_id, [])
        if [s for s, _ in events] != list(range(1, len(events) + 1)) or not events or events[0][1] != "open":
            wrong.append(f"case {number}: events not numbered 1…n from its open")
    wrong += [f"events of a missing case id {cid}" for cid in seqs]
    return wrong


def _sums(conn: Connection, table: Table) -> tuple[int, int]:
    """Row count and an order-free digest of every row (the sum of the rows' hashes)."""
    n = total = 0
    for part in conn.execution_options(yield_per=BATCH).execute(select(table)).partitions():
        n += len(part)
        total += sum(_digest(r) for r in part)
    return n, total % (1 << 128)


def copy_store(src: Store, dst: Store,
               progress: Callable[[str, int], None] = lambda t, n: None) -> CopyReport:
    if src == dst:
        raise ConfigError([Problem("command line", "--to", "the same store as --from")])
    source = open_engine(src)  # refuses a store behind or ahead: upgrade it first
    target = open_engine(dst)  # created at head when new
    report = CopyReport()
    try:
        with target.connect() as t:
            full = [tb.name for tb in metadata.sorted_tables if tb is not state
                    and t.execute(select(func.count()).select_from(tb)).scalar_one()]
        if full:
            raise ConfigError([Problem(dst.shown(), "", f"the target store is not empty ({', '.join(full)}): "
                                       "copy into a new database or data directory")])
        iso = {"isolation_level": "REPEATABLE READ"} if not src.sqlite else {}
        with source.connect().execution_options(**iso) as s, target.begin() as t:
            expected = {}
            t.execute(delete(state))  # the new store's own marker: the source's rows replace it
            for table in metadata.sorted_tables:
                n = total = 0
                rows = s.execution_options(yield_per=BATCH).execute(select(table).order_by(*_order(table)))
                for part in rows.partitions():
                    batch = [r._asdict() for r in part]
                    t.execute(table.insert(), batch)
                    n += len(batch)
                    total += sum(_digest(r) for r in part)
                expected[table.name] = (n, total % (1 << 128))
                report.counts[table.name] = n
                progress(table.name, n)
            if t.dialect.name == "postgresql":  # ids were copied: the sequences go on after them
                for table in metadata.sorted_tables:
                    if "id" in table.c and table.c.id.primary_key:
                        t.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                       f"coalesce(max(id), 0) + 1, false) FROM {table.name}"))
            got = {tb.name: _sums(t, tb) for tb in metadata.sorted_tables}
            differ = [f"{name}: {expected[name][0]} rows read, {got[name][0]} written"
                      + ("" if expected[name][0] != got[name][0] else " (contents differ)")
                      for name in expected if expected[name] != got[name]]
            wrong = invariants(t)
            if differ or wrong:  # raising rolls the target back: nothing half-copied stays
                raise ConfigError([Problem(dst.shown(), "", f"copy not verified: {w}")
                                   for w in differ + wrong])
            report.cases, report.events = report.counts["cases"], report.counts["case_events"]
    finally:
        source.dispose()
        target.dispose()
    return report
