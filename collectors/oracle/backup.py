"""Oracle RMAN backups through the oracle collector's sqlplus-over-SSH path: per backup type
(full, incremental, archive log) the latest job's status and age, and the age and size of
the latest successful one, from v$rman_backup_job_details.

It shares the oracle collector's settings (same ORACLE_HOME, SID, user and password; the
password goes over stdin) and its command line; the query and its parser are its own.
Ages are computed by the database (SYSDATE), so the agent's clock does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from collectors.common.redact import redact
from collectors.contract import Collected, Collector, Context
from collectors.oracle.collector import OracleSettings, command, connect_line
from collectors.oracle.sql import sqlplus_errors, sqlplus_failed
from core.model import CollectionError, CommandRunner, Sample, now_ns

TYPES = {"DB FULL": "full", "DB INCR": "incremental", "ARCHIVELOG": "archivelog"}
OK_STATES = ("COMPLETED", "COMPLETED WITH WARNINGS")
# RMAN's job status → the word the backup_status rule judges (checks/backups.yaml)
STATUS = {"COMPLETED": "ok", "COMPLETED WITH WARNINGS": "warnings", "COMPLETED WITH ERRORS": "failed",
          "FAILED": "failed", "RUNNING": "running", "RUNNING WITH WARNINGS": "running",
          "RUNNING WITH ERRORS": "failed"}


class OracleBackupSettings(OracleSettings):
    """The oracle collector's settings (its `fra` is not used here), plus what to expect."""

    # Backup types this database must have; one not seen within `window_days` is "missing".
    # (A site whose weekly level 0 is an incremental backup lists only incremental, archivelog.)
    expect: list[Literal["full", "incremental", "archivelog"]] = Field(
        default=["full", "incremental", "archivelog"])
    window_days: int = Field(default=35, ge=1, le=400)


def query(window_days: int) -> str:
    ok = ", ".join(f"'{s}'" for s in OK_STATES)
    types = ", ".join(f"'{t}'" for t in TYPES)
    return f"""SELECT 'RMAN|'||input_type||'|'||
  MAX(status) KEEP (DENSE_RANK LAST ORDER BY start_time)||'|'||
  TO_CHAR(ROUND((SYSDATE - MAX(start_time)) * 24, 2))||'|'||
  NVL(TO_CHAR(ROUND((SYSDATE - MAX(CASE WHEN status IN ({ok}) THEN end_time END)) * 24, 2)), '-')||'|'||
  NVL(TO_CHAR(MAX(CASE WHEN status IN ({ok}) THEN output_bytes END)
      KEEP (DENSE_RANK LAST ORDER BY CASE WHEN status IN ({ok}) THEN end_time END NULLS FIRST)), '-')
FROM v$rman_backup_job_details
WHERE input_type IN ({types}) AND start_time > SYSDATE - {int(window_days)}
GROUP BY input_type;
SELECT 'RMAN_READ' FROM dual;"""


def script(connect: str, window_days: int) -> str:
    """The session fed to `sqlplus -S -L /nolog` on stdin (the password too)."""
    return f"""WHENEVER OSERROR EXIT 9
WHENEVER SQLERROR EXIT SQL.SQLCODE
{connect}
SET FEEDBACK OFF HEADING OFF PAGESIZE 0 LINESIZE 32767 TRIMOUT ON TAB OFF VERIFY OFF ECHO OFF
{query(window_days)}
EXIT
"""


@dataclass(slots=True)
class Job:
    kind: str  # full | incremental | archivelog
    last_status: str  # RMAN's words for the latest job
    last_age_hours: float
    ok_age_hours: float | None  # the latest successful job's end, None when none in the window
    ok_bytes: int | None


def parse(text: str, exit_status: int) -> list[Job]:
    """RMAN records from the script's output; errors, a non-zero exit or output without the
    end marker raise CollectionError (nothing is known: never "no backups")."""
    sqlplus_failed(text, exit_status, *sqlplus_errors(text))  # unpadded ORA-942 too
    jobs: list[Job] = []
    done = False
    for line in text.splitlines():
        f = line.strip().split("|")
        if f == ["RMAN_READ"]:
            done = True
        elif f[0] == "RMAN" and len(f) == 6 and f[1] in TYPES:
            try:
                jobs.append(Job(TYPES[f[1]], f[2], float(f[3]),
                                None if f[4] == "-" else float(f[4]), None if f[5] == "-" else int(f[5])))
            except ValueError:
                raise CollectionError(f"sqlplus record not understood: {line[:120]!r}") from None
        elif f[0] == "RMAN":
            raise CollectionError(f"sqlplus record not understood: {line[:120]!r}")
    if not done:
        raise CollectionError(f"sqlplus did not finish the RMAN query: {redact(text.strip())[:120]!r}")
    return jobs


def samples_of(text: str, exit_status: int = 0, host: str = "db01", sid: str = "PROD",
               expect: Sequence[str] | None = None, t: int = 1) -> list[Sample]:
    """The samples of one sqlplus run's output (stdout and stderr): what `collect` sends."""
    if expect is None:
        expect = OracleBackupSettings.model_fields["expect"].default
    return samples(host, sid, expect, parse(text, exit_status), t)


def samples(host: str, sid: str, expect: Sequence[str], jobs: list[Job], t: int) -> list[Sample]:
    out = []
    seen = {j.kind: j for j in jobs}
    for kind in dict.fromkeys([*expect, *seen]):  # expected first, then any other seen
        tags = {"host": host, "sid": sid, "source": "rman", "type": kind, "instance": f"{sid}/{kind}"}
        j = seen.get(kind)
        if j is None:
            out.append(Sample("backup", tags, {"status": "missing", "last_status": "none"}, t))
            continue
        fields: dict[str, float | int | str | bool] = {
            "status": STATUS.get(j.last_status, j.last_status.lower()),
            "last_status": j.last_status, "last_job_age_hours": j.last_age_hours}
        if j.ok_age_hours is not None:
            fields["age_hours"] = j.ok_age_hours
        elif fields["status"] != "failed":  # jobs ran, none succeeded within the window
            fields["status"] = "missing"
        if j.ok_bytes is not None:
            fields["size_bytes"] = j.ok_bytes
        out.append(Sample("backup", tags, fields, t))
    return out


class OracleBackupCollector(Collector[OracleBackupSettings, CommandRunner]):
    settings_model: ClassVar = OracleBackupSettings

    def collect(self, ctx: Context[OracleBackupSettings], conn: CommandRunner) -> Collected:
        s = ctx.settings
        out = conn.run(command(s), input=script(connect_line(s), s.window_days), what="sqlplus (RMAN)")
        jobs = parse(out.stdout + "\n" + out.stderr, out.exit_status)
        evidence = [ln for ln in out.stdout.splitlines() if ln.startswith("RMAN|")]
        return Collected(samples(ctx.device, s.sid, s.expect, jobs, now_ns()), evidence)
