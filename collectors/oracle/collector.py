"""Oracle over SSH with `sqlplus -S` on the database host: instance state, tablespaces
(autoextend- and CDB/PDB-aware, TEMP and UNDO included), fast recovery area, and the asset
(version and latest patch).

The script, and the password when there is one, go to sqlplus on stdin: nothing secret
is ever on a command line (where `ps` on the server would show it).
"""

from __future__ import annotations

import shlex
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from collectors.contract import Collected, Collector, Context
from collectors.oracle.sql import OracleFacts, parse_output, script
from core.model import CommandRunner, Sample, now_ns


class OracleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oracle_home: str
    sid: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_$#]{0,29}$")
    # Without `user`: OS authentication, `/ as sysdba` (the SSH user must be in the dba group).
    user: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_$#]{0,127}$")
    password: SecretStr | None = None
    fra: bool = True  # also report v$recovery_file_dest usage

    @field_validator("oracle_home")
    @classmethod
    def _abs(cls, v: str) -> str:
        if not v.startswith("/") or "\n" in v:
            raise ValueError("an absolute path (ORACLE_HOME)")
        return v.rstrip("/") or "/"

    @model_validator(mode="after")
    def _pair(self) -> OracleSettings:
        if (self.user is None) != (self.password is None):
            raise ValueError("give both user and password (a secret reference), or neither for "
                             "`/ as sysdba`")
        if self.password is not None and '"' in self.password.get_secret_value():
            raise ValueError("the password cannot contain a double quote (SQL*Plus cannot quote it)")
        return self


def command(s: OracleSettings) -> str:
    # LANG/NLS_LANG: English messages and '.' decimals whatever the server's locale.
    return (f"export ORACLE_HOME={shlex.quote(s.oracle_home)} ORACLE_SID={shlex.quote(s.sid)} "
            f"LANG=C LC_ALL=C NLS_LANG=AMERICAN_AMERICA.AL32UTF8; "
            f"exec \"$ORACLE_HOME/bin/sqlplus\" -S -L /nolog")


def connect_line(s: OracleSettings) -> str:
    if s.user is None or s.password is None:
        return "CONNECT / AS SYSDBA"
    return f'CONNECT {s.user}/"{s.password.get_secret_value()}"'


class OracleCollector(Collector[OracleSettings, CommandRunner]):
    settings_model: ClassVar = OracleSettings

    def collect(self, ctx: Context[OracleSettings], conn: CommandRunner) -> Collected:
        s = ctx.settings
        out = conn.run(command(s), input=script(connect_line(s), s.fra), what="sqlplus")
        facts = parse_output(out.stdout + "\n" + out.stderr, out.exit_status)
        evidence = f"sqlplus ({s.sid}): " + (facts.instance.raw.splitlines() or [""])[0]
        return Collected(samples(ctx.device, s.sid, facts, now_ns()), [evidence])


def samples_of(text: str, exit_status: int = 0, host: str = "db", sid: str = "ORCL",
               t: int = 1) -> list[Sample]:
    """The samples of one sqlplus run's output (stdout and stderr): what `collect` sends."""
    return samples(host, sid, parse_output(text, exit_status), t)


def samples(host: str, sid: str, facts: OracleFacts, t: int) -> list[Sample]:
    inst = facts.instance
    if inst.status == "DOWN":
        # Not started (ORA-01034 / ORA-27101): the instance's own fault, said once, with the
        # error; no tablespace, recovery-area or patch figures to claim.
        return [Sample("oracle_instance", {"host": host, "sid": sid}, {
            "status": "DOWN", "state": "DOWN",
            "error": facts.errors.get("instance", "")}, t, inst.raw)]
    # What the state rule judges: a physical/logical standby is MOUNTED by design.
    standby_mounted = inst.status == "MOUNTED" and "STANDBY" in inst.role
    out = [Sample("oracle_instance", {"host": host, "sid": sid}, {
        "instance_name": inst.name, "status": inst.status,
        "state": "MOUNTED_STANDBY" if standby_mounted else inst.status,
        "database_status": inst.database_status,
        "open_mode": inst.open_mode, "version": inst.version, "cdb": inst.cdb,
        "database_role": inst.role,
        # Partial results are said: "ok", or the error that kept the tablespaces unread.
        "tablespaces_status": facts.errors.get("tablespaces", "ok"),
        "fra_status": facts.errors.get("fra", "ok"),
        "patches_status": "ok" if facts.patches is not None else facts.errors.get("patches", "not read"),
    }, t, "\n".join([inst.raw, *(f"ERR|{k}|{v}" for k, v in facts.errors.items())]))]
    if facts.patches is not None:  # the asset only when its fields were all read this cycle
        out.append(Sample("asset", {"host": host}, {
            "oracle_version": facts.version_full or inst.version, "oracle_patches": facts.patches}, t))
    for ts in facts.tablespaces:
        tags = {"host": host, "sid": sid, "tablespace": ts.name, "contents": ts.contents}
        instance = ts.name
        if inst.cdb:
            tags["con_name"] = ts.con_name
            instance = f"{ts.con_name}/{ts.name}"
        tags["instance"] = instance  # what a verdict and a case are about
        out.append(Sample("oracle_tablespace", tags, {
            "size_bytes": ts.size, "used_bytes": ts.used, "free_bytes": max(ts.size - ts.used, 0),
            "max_free_bytes": max(ts.max_size - ts.used, 0),  # room left, autoextend included
            "max_bytes": ts.max_size, "autoextensible": ts.autoextensible,
            "used_percent": ts.used_percent,
            "used_percent_of_size": round(100.0 * ts.used / ts.size, 2) if ts.size else 0.0,
        }, t, TS_HEADER + ts.raw))
    for f in facts.fra:
        out.append(Sample("oracle_fra", {"host": host, "sid": sid, "name": f.name}, {
            "limit_bytes": f.limit, "used_bytes": f.used, "reclaimable_bytes": f.reclaimable,
            "files": f.files, "used_percent": f.used_percent,
        }, t, FRA_HEADER + f.raw))
    return out


# What the fields of a record are, above it in the evidence.
TS_HEADER = "TS|container|tablespace|contents|size bytes|used bytes|max bytes|autoextensible\n"
FRA_HEADER = "FRA|name|limit bytes|used bytes|reclaimable bytes|files\n"
