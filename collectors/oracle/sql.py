"""The SQL*Plus script of the oracle collector and the pure parser of its output.

One sqlplus session prints delimited records, one per line, each starting with its
kind: `INST|…`, `VER|…`, `TS|…`, `FRA|…`, `PATCH|…` (then `PATCHES|read`). Every value
is concatenated in SQL with an explicit `|` (no column formatting, no wrapping, LINESIZE
32767), so the parser cannot misread a column. The CDB check and the choice between dba_*
and cdb_* views happen in PL/SQL, so one script fits 11g (no CDB), 12c+ non-CDB and CDBs
with PDBs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collectors.common.redact import redact
from core.model import CollectionError

_TS = """
SELECT 'TS|'||{con_name}||'|'||t.tablespace_name||'|'||t.contents||'|'||s.size_b||'|'||
       (s.size_b - NVL(f.free_b, 0))||'|'||s.max_b||'|'||s.auto
FROM {v}_tablespaces t
JOIN (SELECT {con_col} tablespace_name, SUM(bytes) size_b,
             SUM(CASE WHEN autoextensible = 'YES' THEN GREATEST(maxbytes, bytes) ELSE bytes END) max_b,
             MAX(autoextensible) auto
      FROM {v}_data_files GROUP BY {con_col} tablespace_name) s
  ON s.tablespace_name = t.tablespace_name {join_s}
LEFT JOIN (SELECT {con_col} tablespace_name, SUM(bytes) free_b
           FROM {v}_free_space GROUP BY {con_col} tablespace_name) f
  ON f.tablespace_name = t.tablespace_name {join_f}
WHERE t.contents <> 'TEMPORARY'
UNION ALL
SELECT 'TS|'||{con_name}||'|'||t.tablespace_name||'|TEMPORARY|'||s.size_b||'|'||
       NVL(u.used_blk, 0) * t.block_size||'|'||s.max_b||'|'||s.auto
FROM {v}_tablespaces t
JOIN (SELECT {con_col} tablespace_name, SUM(bytes) size_b,
             SUM(CASE WHEN autoextensible = 'YES' THEN GREATEST(maxbytes, bytes) ELSE bytes END) max_b,
             MAX(autoextensible) auto
      FROM {v}_temp_files GROUP BY {con_col} tablespace_name) s
  ON s.tablespace_name = t.tablespace_name {join_s}
LEFT JOIN (SELECT {con_col} tablespace_name, SUM(used_blocks) used_blk
           FROM v$sort_segment GROUP BY {con_col} tablespace_name) u
  ON u.tablespace_name = t.tablespace_name {join_u}
"""

TS_NONCDB = _TS.format(con_name="'-'", v="dba", con_col="", join_s="", join_f="", join_u="")
TS_CDB = _TS.format(
    con_name="(SELECT c.name FROM v$containers c WHERE c.con_id = t.con_id)", v="cdb",
    con_col="con_id,", join_s="AND s.con_id = t.con_id", join_f="AND f.con_id = t.con_id",
    join_u="AND u.con_id = t.con_id")
INSTANCE = ("SELECT 'INST|'||i.instance_name||'|'||i.status||'|'||i.database_status||'|'||i.version||'|'||"
            "d.open_mode||'|#CDB#|'||d.database_role FROM v$instance i, v$database d")
FRA = ("SELECT 'FRA|'||name||'|'||space_limit||'|'||space_used||'|'||space_reclaimable||'|'||"
       "number_of_files FROM v$recovery_file_dest WHERE space_limit > 0")

# The latest patch action: 12c+ keeps SQL patches (datapatch) in dba_registry_sqlpatch; 11g has
# no such view (ORA-00942) and keeps PSUs/CPUs in dba_registry_history (over registry$history).
PATCH_SQLPATCH = ("SELECT 'PATCH|'||patch_id||'|'||action||'|'||REPLACE(description, CHR(10), ' ') FROM "
                  "(SELECT patch_id, action, description FROM dba_registry_sqlpatch WHERE status = 'SUCCESS' "
                  "ORDER BY action_time DESC NULLS LAST) WHERE ROWNUM = 1")
PATCH_HISTORY = ("SELECT 'PATCH|'||id||'|'||action||'|'||REPLACE(comments, CHR(10), ' ') FROM "
                 "(SELECT id, action, comments FROM dba_registry_history "
                 "WHERE action IN ('APPLY', 'ROLLBACK') "
                 "ORDER BY action_time DESC NULLS LAST) WHERE ROWNUM = 1")


def script(connect: str, fra: bool) -> str:
    """The whole session, fed to `sqlplus -S -L /nolog` on stdin (so is the password)."""
    def lit(sql: str) -> str:
        assert "]'" not in sql
        # Keep the SQL's own line breaks: SQL*Plus refuses input lines over 2499 characters.
        return "q'[" + sql.strip() + "]'"

    fra_call = (f"  BEGIN emit({lit(FRA)});\n  EXCEPTION WHEN OTHERS THEN "
                f"DBMS_OUTPUT.PUT_LINE('ERR|fra|'||REPLACE(SQLERRM, CHR(10), ' '));\n  END;\n"
                if fra else "")
    return f"""WHENEVER OSERROR EXIT 9
WHENEVER SQLERROR EXIT SQL.SQLCODE
{connect}
SET FEEDBACK OFF HEADING OFF PAGESIZE 0 LINESIZE 32767 TRIMOUT ON TAB OFF VERIFY OFF ECHO OFF
SET SERVEROUTPUT ON SIZE UNLIMITED FORMAT WRAPPED
DECLARE
  v_cdb VARCHAR2(3) := 'NO';
  v_ver VARCHAR2(100);
  PROCEDURE emit(q VARCHAR2) IS
    c SYS_REFCURSOR;
    line VARCHAR2(4000);
  BEGIN
    OPEN c FOR q;
    LOOP FETCH c INTO line; EXIT WHEN c%NOTFOUND; DBMS_OUTPUT.PUT_LINE(line); END LOOP;
    CLOSE c;
  END;
BEGIN
  BEGIN
    EXECUTE IMMEDIATE 'SELECT cdb FROM v$database' INTO v_cdb;
  EXCEPTION WHEN OTHERS THEN
    IF SQLCODE = -904 THEN v_cdb := 'NO'; ELSE RAISE; END IF;  -- 11g: no CDB column
  END;
  emit(REPLACE({lit(INSTANCE)}, '#CDB#', v_cdb));
  BEGIN
    EXECUTE IMMEDIATE 'SELECT version_full FROM v$instance' INTO v_ver;
    DBMS_OUTPUT.PUT_LINE('VER|'||v_ver);
  EXCEPTION WHEN OTHERS THEN
    IF SQLCODE <> -904 THEN RAISE; END IF;  -- before 18c: no version_full, INST's version it is
  END;
  -- Patches are part of the asset, not of the health: their failure is a record, not a failure.
  BEGIN
    BEGIN
      emit({lit(PATCH_SQLPATCH)});
    EXCEPTION WHEN OTHERS THEN
      IF SQLCODE = -942 THEN emit({lit(PATCH_HISTORY)}); ELSE RAISE; END IF;  -- 11g
    END;
    DBMS_OUTPUT.PUT_LINE('PATCHES|read');
  EXCEPTION WHEN OTHERS THEN DBMS_OUTPUT.PUT_LINE('ERR|patches|'||REPLACE(SQLERRM, CHR(10), ' '));
  END;
  -- A mounted database (a standby, a DB being recovered) still has an instance state to
  -- report: the dictionary's failure is printed as a record, not raised.
  BEGIN
    IF v_cdb = 'YES' THEN emit({lit(TS_CDB)}); ELSE emit({lit(TS_NONCDB)}); END IF;
  EXCEPTION WHEN OTHERS THEN DBMS_OUTPUT.PUT_LINE('ERR|tablespaces|'||REPLACE(SQLERRM, CHR(10), ' '));
  END;
{fra_call}END;
/
EXIT
"""


@dataclass(slots=True)
class Instance:
    name: str
    status: str
    database_status: str
    version: str
    open_mode: str
    cdb: bool
    role: str  # PRIMARY, PHYSICAL STANDBY, …
    raw: str = ""  # the record (or the errors) as sqlplus printed it: the evidence


@dataclass(slots=True)
class Tablespace:
    con_name: str  # '-' outside a CDB
    name: str
    contents: str  # PERMANENT | UNDO | TEMPORARY
    size: int  # bytes allocated
    used: int
    max_size: int  # bytes the files may grow to (autoextend max), at least their size
    autoextensible: bool
    raw: str = ""

    @property
    def used_percent(self) -> float:
        """Used of the maximum size: an autoextensible file counts to its max, not its size."""
        return round(100.0 * self.used / self.max_size, 2) if self.max_size else 0.0


@dataclass(slots=True)
class Fra:
    name: str
    limit: int
    used: int
    reclaimable: int
    files: int
    raw: str = ""

    @property
    def used_percent(self) -> float:
        return round(100.0 * (self.used - self.reclaimable) / self.limit, 2) if self.limit else 0.0


@dataclass(slots=True)
class OracleFacts:
    instance: Instance
    tablespaces: list[Tablespace]
    fra: list[Fra]
    # part -> the error that kept it from being read (e.g. ORA-01219 on a mounted database)
    errors: dict[str, str]
    version_full: str = ""  # v$instance.version_full (18c+), else ""
    patches: str | None = None  # the latest patch action, "none", or None when not read


PATCHES_MAX = 200  # characters of the latest patch's description kept in the asset


def patch_text(f: list[str]) -> str:
    """`PATCH|id|action|description…` → "35943157 Database Release Update : 19.22.0.0.240116 …"
    (a rollback says so first)."""
    desc = " ".join("|".join(f[3:]).split())
    text = f"{f[1]} {desc}".strip() if f[2] == "APPLY" else f"{f[2]} {f[1]} {desc}".strip()
    return text[:PATCHES_MAX]


_ERROR = re.compile(r"\b(?:(ORA|TNS)-([0-9]{1,5})|SP2-[0-9]{4})\b")
# The instance is not started: a fault of its own ("instance down"), not a failed collection.
DOWN_CODES = frozenset({"ORA-01034", "ORA-27101"})


def error_code(m: re.Match[str]) -> str:
    """ORA-1034 and ORA-01034 are one code: the padded form."""
    return f"{m[1]}-{int(m[2]):05d}" if m[1] else m[0]


def _said_once(line: str, codes: list[str]) -> str:
    """The first error line, with the other codes after it (never a code twice)."""
    rest = [c for c in codes if c not in {error_code(m) for m in _ERROR.finditer(line)}]
    return line + (f" (also {', '.join(rest)})" if rest else "")


def sqlplus_errors(text: str, skip: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """The lines with an ORA-/SP2-/TNS- error (but those starting with `skip`: free text of our
    own records) and their codes, padded and each once."""
    errors = [ln.strip() for ln in text.splitlines()
              if _ERROR.search(ln) and not ln.strip().startswith(skip)]
    return errors, list(dict.fromkeys(error_code(m) for ln in errors for m in _ERROR.finditer(ln)))


def sqlplus_failed(text: str, exit_status: int, errors: list[str], codes: list[str]) -> None:
    """Raise CollectionError for an error line or a non-zero exit: never taken as "no rows"."""
    if errors:
        raise CollectionError(f"sqlplus: {redact(_said_once(errors[0], codes))[:200]}")
    if exit_status != 0:
        tail = (text.strip().splitlines() or ["no output"])[-1]
        raise CollectionError(f"sqlplus exited {exit_status}: {redact(tail)[:200]}")


def parse_output(text: str, exit_status: int) -> OracleFacts:
    """Records from the script's output. An instance that is not started (ORA-01034,
    ORA-27101) is an instance DOWN. Other ORA-/SP2-/TNS- errors, a non-zero exit, or output
    without an instance and tablespaces raise CollectionError naming the error code once."""
    # a patch's description is free text (it may quote an ORA- code): not an error
    errors, codes = sqlplus_errors(text, skip=("ERR|", "PATCH|"))
    if DOWN_CODES & set(codes):
        down = Instance("", "DOWN", "", "", "", False, "",
                        "\n".join(redact(ln)[:200] for ln in errors[:5]))
        return OracleFacts(down, [], [], {"instance": redact(_said_once(errors[0], codes))[:200]})
    sqlplus_failed(text, exit_status, errors, codes)
    instance: Instance | None = None
    tablespaces: list[Tablespace] = []
    fra: list[Fra] = []
    parts: dict[str, str] = {}
    version_full, patch, patches_read = "", "none", False
    for line in text.splitlines():
        f = line.strip().split("|")
        try:
            if f[0] == "INST" and len(f) == 8:
                instance = Instance(f[1], f[2], f[3], f[4], f[5], f[6] == "YES", f[7], line.strip())
            elif f[0] == "ERR" and len(f) >= 3:
                parts[f[1]] = redact("|".join(f[2:]))[:200]
            elif f[0] == "TS" and len(f) == 8:
                size, used, max_size = int(f[4]), int(f[5]), int(f[6])
                tablespaces.append(Tablespace(f[1], f[2], f[3], size, max(used, 0),
                                              max(max_size, size), f[7] == "YES", line.strip()))
            elif f[0] == "FRA" and len(f) == 6:
                fra.append(Fra(f[1], int(f[2]), int(f[3]), int(f[4]), int(f[5]), line.strip()))
            elif f[0] == "VER" and len(f) == 2:
                version_full = f[1]
            elif f[0] == "PATCH" and len(f) >= 4:
                patch = patch_text(f)
            elif f == ["PATCHES", "read"]:
                patches_read = True
        except ValueError:
            raise CollectionError(f"sqlplus record not understood: {redact(line)[:120]!r}") from None
    if instance is None:
        raise CollectionError(f"sqlplus printed no instance record: {redact(text.strip())[:120]!r}")
    if not tablespaces and "tablespaces" not in parts:
        raise CollectionError("sqlplus printed no tablespace records")
    return OracleFacts(instance, tablespaces, fra, parts, version_full,
                       patch if patches_read and "patches" not in parts else None)
