"""SQL that SQLite and PostgreSQL spell differently, as SQLAlchemy constructs: the store's
queries use these instead of one dialect's functions (julianday, two-argument min/max, the
dialect's own INSERT … ON CONFLICT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def insert(conn: Connection, table: Table) -> Any:
    """INSERT with on_conflict_do_update / on_conflict_do_nothing, for the connection's dialect
    (both take the same arguments)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class greater(FunctionElement[Any]):
    """The larger of two values: SQLite's scalar max(a, b), PostgreSQL's greatest(a, b)."""

    name = "greater"
    inherit_cache = True


class lesser(FunctionElement[Any]):
    """The smaller of two values: min(a, b) / least(a, b)."""

    name = "lesser"
    inherit_cache = True


class days_between(FunctionElement[float]):
    """Days from one ISO date (YYYY-MM-DD text) to another, as a number."""

    name = "days_between"
    type = Float()
    inherit_cache = True


@compiles(greater)
def _greater(element: greater, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greater, "postgresql")
def _greatest(element: greater, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(lesser)
def _lesser(element: lesser, compiler: Any, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(lesser, "postgresql")
def _least(element: lesser, compiler: Any, **kw: Any) -> str:
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(days_between)
def _julian(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _date_diff(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


class at_max(FunctionElement[Any]):
    """In a GROUP BY query beside max(by): `value` from the row holding that maximum. SQLite
    gives a bare column exactly that (documented for min/max); PostgreSQL takes the first of
    the group's values ordered by `by`, descending (ties: the smallest value)."""

    name = "at_max"
    inherit_cache = True

    def __init__(self, value: Any, by: Any) -> None:
        super().__init__(value, by)
        self.type = value.type


@compiles(at_max)
def _bare(element: at_max, compiler: Any, **kw: Any) -> str:
    value, _ = element.clauses
    return str(compiler.process(value, **kw))


@compiles(at_max, "postgresql")
def _first_of(element: at_max, compiler: Any, **kw: Any) -> str:
    value, by = (compiler.process(c, **kw) for c in element.clauses)
    return f"(array_agg({value} ORDER BY {by} DESC, {value}))[1]"
