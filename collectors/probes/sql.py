"""SQL probes from the agent: connect with a SQLAlchemy URL, run queries, compare the answer.

One device's `sql_probe` is one database (one URL, its password a secret reference) with one
or more queries, each a probe. A query's answer is its first row's first column as text; with
`expect` it must equal it, without it the query only has to run. Connection failures and
failing queries are down; a driver that is not installed on the agent and a query the server
rejects as invalid SQL (ProgrammingError: a mistake in the probe) mean the probe did not run.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from collectors.common.redact import redact
from collectors.contract import Collected, Collector, Context
from collectors.probes.common import NAME, Outcome, ProbeCommon, unique_names
from core.model import now_ns


class SqlCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    sql: str = Field(min_length=1)
    expect: str | None = None  # the first row's first column, as text


class SqlProbeSettings(ProbeCommon):
    # e.g. postgresql+psycopg://probe@db01:5432/app, oracle+oracledb://probe@db01/?service_name=X,
    # sqlite:////var/lib/app/app.db. No password here: `password` is a secret reference.
    url: str
    password: SecretStr | None = None
    queries: list[SqlCheck] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            u = make_url(v)
        except (ArgumentError, ValueError) as e:
            raise ValueError(f"a SQLAlchemy database URL, e.g. postgresql+psycopg://user@host/db "
                             f"({str(e).splitlines()[0][:120]})") from None
        if u.password is not None:
            raise ValueError("no password in the URL: give it as `password: ${secret:key}`")
        return v

    @field_validator("queries")
    @classmethod
    def _unique(cls, v: list[SqlCheck]) -> list[SqlCheck]:
        return unique_names(v)


class SqlProbeCollector(Collector[SqlProbeSettings, None]):
    settings_model: ClassVar = SqlProbeSettings

    def collect(self, ctx: Context[SqlProbeSettings], conn: None) -> Collected:
        s = ctx.settings
        t = now_ns()
        return Collected([o.sample(ctx.device, s.criticality, t) for o in probe(s)])


def _connect_args(dialect: str, timeout: float) -> dict[str, Any]:
    """Each driver's own way to bound the connection attempt."""
    if dialect == "sqlite":
        return {"timeout": timeout}
    if dialect in ("postgresql", "mysql", "mariadb"):
        return {"connect_timeout": max(1, int(timeout))}
    return {}


def probe(s: SqlProbeSettings) -> list[Outcome]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError, ProgrammingError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    url = make_url(s.url)
    shown = url.render_as_string(hide_password=True)
    outs = [Outcome(q.name, "sql", shown) for q in s.queries]

    def all_(field: str, reason: str) -> list[Outcome]:
        for o in outs:
            setattr(o, field, redact(reason)[:300])
        return outs

    if s.password is not None:
        url = url.set(password=s.password.get_secret_value())
    try:
        engine = create_engine(url, poolclass=NullPool,
                               connect_args=_connect_args(url.get_backend_name(), s.timeout))
    except (NoSuchModuleError, ImportError) as e:
        return all_("error", f"the agent has no driver for {url.drivername}: {_words(e)}")
    except (SQLAlchemyError, ValueError, TypeError) as e:  # e.g. a password on an SQLite URL
        return all_("error", f"the URL cannot be used with its driver: {_words(e)}")
    try:
        t0 = time.monotonic()
        try:
            conn = engine.connect()
        except DBAPIError as e:
            return all_("reason", f"cannot connect to {shown}: {_words(e)}")
        except SQLAlchemyError as e:
            return all_("error", f"cannot set up the connection to {shown}: {_words(e)}")
        connect_ms = (time.monotonic() - t0) * 1000
        with conn:
            for q, o in zip(s.queries, outs, strict=True):
                t1 = time.monotonic()
                try:
                    row = conn.execute(text(q.sql)).first()
                    conn.rollback()  # a probe changes nothing
                except ProgrammingError as e:
                    o.error = redact(f"the server rejected the probe's query as invalid: {_words(e)}")[:300]
                    conn.rollback()
                    continue
                except DBAPIError as e:
                    o.reason = redact(f"the query failed: {_words(e)}")[:300]
                    if e.connection_invalidated:
                        break
                    conn.rollback()
                    continue
                o.fields["latency_ms"] = round(connect_ms + (time.monotonic() - t1) * 1000, 1)
                got = None if row is None else ("" if row[0] is None else str(row[0]))
                if q.expect is not None and got != q.expect:
                    said = "no row" if got is None else repr(got[:60])
                    o.reason = f"the query returned {said}, expected {q.expect[:60]!r}"
                else:
                    o.up = True
            for o in outs:
                if not (o.up or o.reason or o.error):
                    o.reason = "the connection was lost during an earlier query"
    finally:
        engine.dispose()
    return outs


def _words(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    base = orig if isinstance(orig, BaseException) else e
    text = str(base).strip().splitlines()
    return (text[0] if text else type(base).__name__)[:200]
