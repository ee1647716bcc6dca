"""Pure parsers for the linux collector's command output. Text in, records out."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from collectors.diskfs import PSEUDO_FS, FsUsage, dedupe_binds
from core.model import CollectionError

# `df -P -T`: Filesystem Type Size Used Avail Capacity Mounted-on. The device may
# contain spaces (rare), the mount point often does: anchor on the numeric columns.
_DF_ROW = re.compile(
    r"^(?P<dev>\S.*?)\s+(?P<type>\S+)\s+(?P<a>\d+|-)\s+(?P<b>\d+|-)\s+(?P<c>\d+|-)\s+"
    r"(?P<pct>\d+%|-)\s+(?P<mount>/.*)$", re.ASCII  # \d: 0-9 only, not '٣' or '²'
)
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(slots=True)
class DfRow:
    device: str
    fstype: str
    a: int | None
    b: int | None
    c: int | None
    mount: str
    raw: str = ""  # the row as df printed it (joined when wrapped)


def parse_df(text: str) -> list[DfRow]:
    """Parse `df -P -T` output (blocks or inodes). Wrapped lines are joined.

    Raises CollectionError when the header is missing or a line cannot be read:
    output we do not understand is never taken as "no filesystems".
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Filesystem"):
        raise CollectionError(f"df output has no header: {text[:80]!r}")
    rows: list[DfRow] = []
    pending = ""
    for ln in lines[1:]:
        candidate = f"{pending} {ln.strip()}" if pending else ln.rstrip()
        m = _DF_ROW.match(candidate)
        if m is None:
            if pending:  # two lines did not make a row: give up honestly
                raise CollectionError(f"df line not understood: {candidate[:120]!r}")
            pending = ln.strip()  # a long device name wrapped onto its own line
            continue
        pending = ""
        rows.append(DfRow(
            device=m["dev"], fstype=m["type"], a=_int(m["a"]), b=_int(m["b"]), c=_int(m["c"]),
            mount=_OCTAL.sub(lambda o: chr(int(o.group(1), 8)), m["mount"]), raw=candidate.strip(),
        ))
    if pending:
        raise CollectionError(f"df output ends in a partial line: {pending[:120]!r}")
    return rows


def _int(s: str) -> int | None:
    return None if s == "-" else int(s)


def filesystems(df_kb: str, df_inodes: str) -> list[FsUsage]:
    """Join `df -P -k -T` and `df -P -i -T` into usage records, pseudo filesystems dropped."""
    inodes = {r.mount: r for r in parse_df(df_inodes)}
    header_kb, header_i = df_kb.lstrip().split("\n", 1)[0], df_inodes.lstrip().split("\n", 1)[0]
    out = []
    for r in parse_df(df_kb):
        if r.fstype in PSEUDO_FS or not r.a:
            continue
        i = inodes.get(r.mount)
        out.append(FsUsage(
            device=r.device, fstype=r.fstype, path=r.mount,
            total=(r.a or 0) * 1024, used=(r.b or 0) * 1024, free=(r.c or 0) * 1024,
            inodes_total=i.a if i else None, inodes_used=i.b if i else None,
            inodes_free=i.c if i else None,
            excerpt="\n".join([header_kb.rstrip(), r.raw] + ([header_i.rstrip(), i.raw] if i else [])),
        ))
    return dedupe_binds(out)


@dataclass(slots=True)
class SystemFacts:
    load1: float
    load5: float
    load15: float
    n_cpus: int
    uptime: float


def parse_system(text: str) -> SystemFacts:
    """Parse `cat /proc/loadavg /proc/uptime; getconf _NPROCESSORS_ONLN`."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    try:
        load, up, cpus = lines[0][:3], lines[1][:1], lines[2][:1]
        # plain decimals only: float() would also take 'nan', 'inf', '1_0' and '٣'
        if not all(_DECIMAL.fullmatch(w) for w in (*load, *up)) or not _COUNT.fullmatch(cpus[0]):
            raise ValueError
        return SystemFacts(float(load[0]), float(load[1]), float(load[2]), int(cpus[0]),
                           float(up[0]))
    except (IndexError, ValueError):
        raise CollectionError(f"system facts not understood: {text[:120]!r}") from None


_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_COUNT = re.compile(r"[1-9][0-9]{0,5}")  # CPUs online: at least one


# DMI strings firmware vendors leave unset: not a vendor, model or serial.
_DMI_PLACEHOLDERS = {"", "to be filled by o.e.m.", "default string", "not specified", "not applicable",
                     "none", "n/a", "system manufacturer", "system product name", "system serial number",
                     "0123456789"}
_DMI = {"sys_vendor": "vendor", "product_name": "model", "product_serial": "serial"}


def parse_asset(text: str) -> dict[str, str] | None:
    """The server's asset fields from the `asset` section (see collectors.linux.ASSET):
    `PRETTY_NAME=…` (or `release=…` from /etc/redhat-release where there is no os-release),
    `kernel=`, `arch=`, and the DMI files that were readable. None unless os, kernel and arch
    were all read: a half-read asset must never look like a change."""
    raw: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key not in raw:
            raw[key] = value.strip()
    os_name = _os_release_value(raw["PRETTY_NAME"]) if "PRETTY_NAME" in raw else raw.get("release", "")
    out = {"os": os_name, "kernel": raw.get("kernel", ""), "arch": raw.get("arch", "")}
    if not all(out.values()):
        return None
    for key, name in _DMI.items():
        value = raw.get(key, "")
        if value.lower() not in _DMI_PLACEHOLDERS:
            out[name] = value
    return out


def _os_release_value(value: str) -> str:
    """os-release values are shell-quoted (`"Rocky Linux 8.9 (Green Obsidian)"`)."""
    try:
        return " ".join(shlex.split(value))
    except ValueError:  # unbalanced quotes: take it as written
        return value.strip("\"'")
