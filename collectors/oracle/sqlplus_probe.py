"""SQL probes on Oracle through the oracle collector's sqlplus-over-SSH path: for a database the
agent has no driver for (or cannot reach directly), each query runs in one sqlplus session
on the database host and its first line of output is compared with `expect`.

This shows that the database answers its queries, not that users reach it over the network
(the agent's own `sql_probe` and `tcp_probe` do that). The connection failing (listener
down, instance down) is down; the probe's own login refused, or a query Oracle rejects as
invalid (ORA-009xx), means the probe did not run.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, ClassVar

from pydantic import Field, field_validator

from collectors.common.redact import redact
from collectors.contract import Collected, Collector, Context
from collectors.oracle.collector import OracleSettings, command, connect_line
from collectors.probes.common import Outcome, unique_names
from collectors.probes.sql import SqlCheck
from core.model import CollectionError, CommandRunner, now_ns

_ERROR = re.compile(r"\b(ORA|SP2|TNS)-(\d{4,5})\b")
_ELAPSED = re.compile(r"^Elapsed: (\d+):(\d\d):(\d\d)\.(\d+)$")
LOGIN_REFUSED = {"01017", "28000", "28001", "01045"}  # bad password, locked, expired, no CREATE SESSION


class SqlplusProbeSettings(OracleSettings):
    """The oracle collector's settings (its `fra` is not used here), and the queries."""

    criticality: int = Field(default=2, ge=1, le=3)
    queries: list[SqlCheck] = Field(min_length=1)

    @field_validator("queries")
    @classmethod
    def _one_statement(cls, v: list[SqlCheck]) -> list[SqlCheck]:
        for q in v:
            body = q.sql.strip().rstrip(";").strip()
            if not body or any(line.strip() in ("/", ".") or line.lstrip().startswith("@")
                               for line in body.splitlines()):
                raise ValueError(f"query '{q.name}': one SQL statement (no '/', '.' or '@' lines)")
        return unique_names(v)


def script(connect: str, queries: list[SqlCheck], mark: str) -> str:
    parts = []
    for q in queries:
        body = q.sql.strip().rstrip(";").strip()
        parts.append(f"PROMPT {mark} BEGIN {q.name}\n{body}\n/\nPROMPT {mark} END {q.name}")
    joined = "\n".join(parts)
    return f"""WHENEVER OSERROR EXIT 9
SET DEFINE OFF
{connect}
SET FEEDBACK OFF HEADING OFF PAGESIZE 0 LINESIZE 32767 TRIMOUT ON TAB OFF VERIFY OFF ECHO OFF
SET SQLBLANKLINES ON TIMING ON
SELECT '{mark} CONNECTED' FROM dual;
{joined}
EXIT
"""


def parse(text: str, queries: list[SqlCheck], mark: str) -> list[Outcome]:
    outs = {q.name: Outcome(q.name, "sql", "sqlplus") for q in queries}
    if not any(line.strip() == f"{mark} CONNECTED" for line in text.splitlines()):
        m = _ERROR.search(text)
        said = redact(next((ln.strip() for ln in text.splitlines() if _ERROR.search(ln)), "no answer"))[:200]
        for o in outs.values():
            if m and m.group(1) == "ORA" and m.group(2) in LOGIN_REFUSED:
                o.error = f"the probe's login was refused: {said}"
            else:
                o.reason = f"cannot connect: {said}"
        return list(outs.values())
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{mark} BEGIN "):
            current, lines = line[len(mark) + 7:].strip(), []
        elif line.startswith(f"{mark} END ") and current is not None:
            if current in outs:
                _judge(outs[current], lines, next(q for q in queries if q.name == current))
            current = None
        elif current is not None:
            lines.append(line)
    for o in outs.values():
        if not (o.up or o.reason or o.error):
            o.reason = "sqlplus ended before the query did"
    return list(outs.values())


def outcomes(text: str, queries: list[dict[str, Any]], mark: str) -> list[Outcome]:
    """`parse` with the queries as the inventory gives them (mappings)."""
    return parse(text, [SqlCheck.model_validate(q) for q in queries], mark)


def _judge(o: Outcome, lines: list[str], q: SqlCheck) -> None:
    values, errors = [], []
    for line in lines:
        e = _ELAPSED.match(line.strip())
        if e:
            h, m, s, frac = e.groups()
            seconds = int(h) * 3600 + int(m) * 60 + int(s) + float(f"0.{frac}")
            o.fields["latency_ms"] = round(seconds * 1000, 1)
        elif _ERROR.search(line):
            errors.append(line.strip())
        elif line.strip():
            values.append(line.strip())
    if errors:
        m = _ERROR.search(errors[0])
        said = redact(errors[0])[:200]
        # ORA-009xx: invalid SQL, unknown table or column; SP2-: SQL*Plus refused the text
        if m and (m.group(1) == "SP2" or (m.group(1) == "ORA" and m.group(2).startswith("009"))):
            o.error = f"Oracle rejected the probe's query as invalid: {said}"
        else:
            o.reason = f"the query failed: {said}"
        o.fields.pop("latency_ms", None)
        return
    got = values[0] if values else None
    if q.expect is not None and got != q.expect:
        said = "no row" if got is None else repr(got[:60])
        o.reason = f"the query returned {said}, expected {q.expect[:60]!r}"
    else:
        o.up = True


class SqlplusProbeCollector(Collector[SqlplusProbeSettings, CommandRunner]):
    settings_model: ClassVar = SqlplusProbeSettings

    def collect(self, ctx: Context[SqlplusProbeSettings], conn: CommandRunner) -> Collected:
        s = ctx.settings
        mark = f"@@xj-{secrets.token_hex(6)}"  # query output cannot forge a boundary
        out = conn.run(command(s), input=script(connect_line(s), s.queries, mark), what="sqlplus (probe)")
        if out.exit_status == 127 or (out.exit_status != 0 and mark not in out.stdout):
            tail = (out.stderr.strip() or out.stdout.strip() or "no output").splitlines()[-1]
            raise CollectionError(f"sqlplus exited {out.exit_status}: {redact(tail)[:200]}")
        t = now_ns()
        return Collected([o.sample(ctx.device, s.criticality, t) for o in parse(out.stdout, s.queries, mark)])
