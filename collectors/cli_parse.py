"""Pure parsers for switch CLI output (Huawei VRP, H3C Comware, Cisco IOS). No I/O.

Where ntc-templates has a TextFSM template the rows come from it (`textfsm_rows`) and are
only normalised here; where it has none (VRP `display cpu-usage`, `display memory-usage`,
`display esn`, `display logbuffer`; Comware `display version`, `display cpu-usage`,
`display memory`) a small parser below reads the output. Every parser either returns a
normalised dict or raises CliParseError: an output we cannot read is "not collected",
never an empty pass.

Normalised results per check:
  version      model, software_rev, [serial], [hostname], [uptime, uptime_seconds]
  serial       serial, [model], [vendor]
  ports        ports: [{name, admin, oper, protocol, speed, duplex, description,
                        in_util_percent, out_util_percent, in_errors, out_errors}]
  switchports  ports: [{name, status, vlan, duplex, speed, type, description}]
  cpu          usage_percent (the 1-minute figure, else the 5-second one), usage_5s/1m/5m_percent
  memory       used_percent, [total_bytes, used_bytes]
  logs         total, one count per syslog severity name, errors (severity 0-3)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational",
              "debug")


class CliParseError(Exception):
    """The output could not be read; the message is the reason shown to people."""


# The device's own "I did not understand" answers (VRP, Comware, IOS and FakeNOS's one).
_REJECTED = re.compile(
    r"^\s*(?:%\s*)?(?:Error:\s*)?(?:Unrecognized command|Unknown command|Invalid input|"
    r"Incomplete command|Ambiguous command|Wrong parameter|Too many parameters|"
    r"Invalid input detected)", re.I | re.M)


def rejected(raw: str) -> str | None:
    """The device's error line when it refused the command, else None."""
    m = _REJECTED.search(raw)
    if m is None:
        return None
    line = raw[m.start():].strip().splitlines()[0]
    return line[:200]


def textfsm_rows(ntc_platform: str, command: str, raw: str) -> list[dict[str, Any]]:
    """Rows from the ntc-templates template for this platform and command."""
    from ntc_templates.parse import parse_output

    try:
        rows = parse_output(platform=ntc_platform, command=command, data=raw)
    except Exception as e:  # TextFSMError, or no template in the index for this command
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CliParseError(f"ntc-templates {ntc_platform} '{command}' could not parse the "
                            f"output ({type(e).__name__}: {first[:160]})") from None
    if not rows:
        raise CliParseError(f"ntc-templates {ntc_platform} '{command}' matched nothing in "
                            f"{len(raw)} bytes of output")
    return [dict(r) for r in rows]


# ---------------------------------------------------------------- small helpers

_UNITS = {"year": 365 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60,
          "second": 1}


def uptime_seconds(text: str) -> int | None:
    """'1 week, 3 days, 16 hours, 11 minutes' → seconds; None when no unit was found."""
    parts = re.findall(r"(\d+)\s+(year|week|day|hour|minute|second)s?\b", text)
    if not parts:
        return None
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _percent(text: str | None) -> float | None:
    if text is None:
        return None
    m = re.search(r"(\d+(?:\.\d+)?)\s*%?", str(text))
    return float(m.group(1)) if m else None


def _int(text: Any) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _first(v: Any) -> str:
    """TextFSM List values come as lists: their first item; plain values as they are."""
    if isinstance(v, list):
        return str(v[0]) if v else ""
    return str(v or "")


def _severity_counts(levels: list[int]) -> dict[str, int]:
    out = {name: 0 for name in SEVERITIES}
    for lvl in levels:
        out[SEVERITIES[lvl]] += 1
    out["total"] = len(levels)
    out["errors"] = sum(1 for lvl in levels if lvl <= 3)
    return out


def _version_extras(out: dict[str, Any], uptime: str) -> dict[str, Any]:
    if uptime:
        out["uptime"] = uptime.strip()
        secs = uptime_seconds(uptime)
        if secs is not None:
            out["uptime_seconds"] = secs
    return out


# ---------------------------------------------------------------- pure parsers (no template)

def huawei_esn(raw: str) -> dict[str, Any]:
    """VRP `display esn`: 'ESN of slot 1: 2102351931P0C3000154' (or 'ESN of master:', 'ESN of
    device:'); the first one is the chassis / master board."""
    m = re.search(r"ESN of [^:\n]+:\s*(\S+)", raw)
    if m is None:
        raise CliParseError("no 'ESN of …:' line in the display esn output")
    return {"serial": m.group(1)}


def huawei_cpu(raw: str) -> dict[str, Any]:
    """VRP `display cpu-usage`: 'CPU utilization for five seconds: 6%: one minute: 7%: five
    minutes: 6%' (S series), else the 'CPU Usage   : 6% Max: 16%' line."""
    m = re.search(r"five seconds:\s*(\d+(?:\.\d+)?)%\s*:?\s*one minute:\s*(\d+(?:\.\d+)?)%\s*:?\s*"
                  r"five minutes:\s*(\d+(?:\.\d+)?)%", raw, re.I)
    if m:
        s5, m1, m5 = (float(x) for x in m.groups())
        return {"usage_percent": m1, "usage_5s_percent": s5, "usage_1m_percent": m1,
                "usage_5m_percent": m5}
    m = re.search(r"^\s*CPU Usage\s*:\s*(\d+(?:\.\d+)?)%", raw, re.I | re.M)
    if m:
        return {"usage_percent": float(m.group(1))}
    raise CliParseError("no CPU utilisation line in the display cpu-usage output")


def huawei_memory(raw: str) -> dict[str, Any]:
    """VRP `display memory-usage`: 'System Total Memory Is: N bytes', 'Total Memory Used Is: N
    bytes', 'Memory Using Percentage Is: 40%'."""
    pct = re.search(r"Memory Using Percentage(?: Is)?\s*:\s*(\d+(?:\.\d+)?)%", raw, re.I)
    total = re.search(r"System Total Memory(?: Is)?\s*:\s*(\d+)\s*(?:bytes|Kbytes)?", raw, re.I)
    used = re.search(r"Total Memory Used(?: Is)?\s*:\s*(\d+)", raw, re.I)
    out: dict[str, Any] = {}
    if total and used:
        out["total_bytes"], out["used_bytes"] = int(total.group(1)), int(used.group(1))
    if pct:
        out["used_percent"] = float(pct.group(1))
    elif out.get("total_bytes"):
        out["used_percent"] = round(100.0 * out["used_bytes"] / out["total_bytes"], 2)
    if "used_percent" not in out:
        raise CliParseError("no 'Memory Using Percentage' (or total and used) in the "
                            "display memory-usage output")
    return out


# `%%01IFNET/4/LINK_STATE(l)[0]:` (VRP) and `%Dec  3 16:40:01:123 2026 H3C IFNET/3/PHY_UPDOWN:`
# (Comware): MODULE/severity/MNEMONIC
_INFO_CENTER = re.compile(r"(?:%%\d\d|\s)([A-Z][A-Z0-9_-]*)/([0-7])/([A-Za-z0-9_]+)")


def vrp_logbuffer(raw: str) -> dict[str, Any]:
    """VRP / Comware `display logbuffer`: every line carrying MODULE/severity/MNEMONIC counts
    once under its severity. A buffer that is on but empty counts nothing; an output with
    neither log lines nor the buffer header is not a log buffer."""
    levels = [int(m.group(2)) for line in raw.splitlines() if (m := _INFO_CENTER.search(line))]
    if not levels and not re.search(r"(?i)log(?:ging)? ?buffer|Current messages", raw):
        raise CliParseError("neither log lines (MODULE/level/MNEMONIC) nor a log buffer header "
                            "in the display logbuffer output")
    return _severity_counts(levels)


def comware_version(raw: str) -> dict[str, Any]:
    """Comware `display version`: 'H3C Comware Software, Version 7.1.064, Release 0821P11' and
    'H3C S6520X-30QC-EI uptime is 0 weeks, 3 days, 2 hours, 41 minutes'."""
    v = re.search(r"Comware (?:Platform )?Software,\s*Version ([^,\n]+)(?:,\s*Release (\S+))?", raw)
    if v is None:
        raise CliParseError("no 'Comware Software, Version …' line in the display version output")
    rev = v.group(1).strip() + (f" Release {v.group(2)}" if v.group(2) else "")
    out: dict[str, Any] = {"software_rev": rev}
    m = re.search(r"^(?:H3C|HPE?|New H3C)\s+(.+?)\s+uptime is (.+)$", raw, re.M)
    if m:
        out["model"] = m.group(1).strip()
        _version_extras(out, m.group(2))
    return out


def comware_cpu(raw: str) -> dict[str, Any]:
    """Comware `display cpu-usage`: per slot/CPU 'N% in last 5 seconds / 1 minute / 5 minutes';
    the busiest CPU counts (a hot standby board is still a hot board)."""
    found: dict[str, list[float]] = {"5s": [], "1m": [], "5m": []}
    for pct, span in re.findall(r"(\d+(?:\.\d+)?)%\s+in last\s+(5 seconds|1 minute|5 minutes)", raw):
        found[{"5 seconds": "5s", "1 minute": "1m", "5 minutes": "5m"}[span]].append(float(pct))
    if not any(found.values()):
        raise CliParseError("no 'N% in last …' lines in the display cpu-usage output")
    out = {f"usage_{k}_percent": max(v) for k, v in found.items() if v}
    out["usage_percent"] = out.get("usage_1m_percent", out.get("usage_5s_percent", 0.0))
    return out


def comware_memory(raw: str) -> dict[str, Any]:
    """Comware 7 `display memory`: the 'Mem:' row (Total Used Free … FreeRatio, in KB) →
    used = 100 − FreeRatio (the device's own figure); Comware 5: 'Used Rate: 45%'."""
    m = re.search(r"^\s*Mem:\s+(\d+)\s+(\d+)\s+\d+.*?(\d+(?:\.\d+)?)%\s*$", raw, re.M)
    if m:
        total, used, free_ratio = int(m.group(1)), int(m.group(2)), float(m.group(3))
        return {"used_percent": round(100.0 - free_ratio, 2), "total_bytes": total * 1024,
                "used_bytes": used * 1024}
    m = re.search(r"Used Rate\s*:\s*(\d+(?:\.\d+)?)%", raw, re.I)
    if m:
        out: dict[str, Any] = {"used_percent": float(m.group(1))}
        t = re.search(r"System Total Memory\(bytes\)\s*:\s*(\d+)", raw)
        u = re.search(r"Total Used Memory\(bytes\)\s*:\s*(\d+)", raw)
        if t and u:
            out["total_bytes"], out["used_bytes"] = int(t.group(1)), int(u.group(1))
        return out
    raise CliParseError("no 'Mem:' row or 'Used Rate' in the display memory output")


PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "huawei_esn": huawei_esn, "huawei_cpu": huawei_cpu, "huawei_memory": huawei_memory,
    "vrp_logbuffer": vrp_logbuffer, "comware_version": comware_version,
    "comware_cpu": comware_cpu, "comware_memory": comware_memory,
}


# ---------------------------------------------------------------- TextFSM rows → normalised

def _ports_huawei(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        phy = str(r.get("phy", "")).lower()
        out.append({"name": re.sub(r"\(\w+\)$", "", str(r["interface"])),  # '(10G)' suffix
                    "admin": "down" if phy.startswith("*") else "up",
                    "oper": "up" if phy.startswith("up") else "down",
                    "protocol": str(r.get("protocol", "")).lower(),
                    "in_util_percent": _percent(r.get("inuti")),
                    "out_util_percent": _percent(r.get("oututi")),
                    "in_errors": _int(r.get("inerrors")), "out_errors": _int(r.get("outerrors"))})
    return out


def _ports_comware(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        link = str(r.get("link", "")).upper()
        out.append({"name": str(r["interface"]), "admin": "down" if link == "ADM" else "up",
                    "oper": "up" if link == "UP" else "down",
                    "protocol": str(r.get("protocol", "")).lower(),
                    "speed": str(r.get("speed") or ""), "duplex": str(r.get("duplex") or ""),
                    "description": str(r.get("description") or "")})
    return out


def _ports_ios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        status = str(r.get("status", "")).lower()
        out.append({"name": str(r["interface"]),
                    "admin": "down" if status.startswith("administratively") else "up",
                    "oper": "up" if status == "up" else "down",
                    "protocol": str(r.get("proto", "")).lower(),
                    "description": ""})
    return out


def normalise(check: str, ntc_platform: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """TextFSM rows of one command → the check's normalised dict (see the module doc)."""
    try:
        return _normalise(check, ntc_platform, rows)
    except (KeyError, IndexError, ValueError, ZeroDivisionError) as e:
        raise CliParseError(f"template rows for {check} not as expected "
                            f"({type(e).__name__}: {e})") from None


def _normalise(check: str, plat: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    r0 = rows[0]
    if check == "version" and plat == "huawei_vrp":
        rev = str(r0.get("vrp_version") or "")
        if r0.get("product_version"):
            rev += f" ({r0['product_version']})"
        return _version_extras({"model": str(r0.get("model") or ""), "software_rev": rev},
                               str(r0.get("uptime") or ""))
    if check == "version" and plat == "cisco_ios":
        out = {"model": _first(r0.get("hardware")), "software_rev": str(r0.get("version") or ""),
               "serial": _first(r0.get("serial")), "hostname": str(r0.get("hostname") or "")}
        if r0.get("software_image"):
            out["image"] = str(r0["software_image"])
        return _version_extras(out, str(r0.get("uptime") or ""))
    if check == "serial" and plat == "hp_comware":
        row = next((r for r in rows if r.get("device_serial_number")), None)
        if row is None:
            raise CliParseError("no DEVICE_SERIAL_NUMBER in display device manuinfo")
        return {"serial": str(row["device_serial_number"]), "model": str(row.get("device_name") or ""),
                "vendor": str(row.get("vendor_name") or "")}
    if check == "ports":
        conv = {"huawei_vrp": _ports_huawei, "hp_comware": _ports_comware, "cisco_ios": _ports_ios}
        return {"ports": conv[plat](rows)}
    if check == "switchports" and plat == "cisco_ios":
        return {"ports": [{"name": str(r["port"]), "status": str(r.get("status") or ""),
                           "vlan": str(r.get("vlan_id") or ""), "duplex": str(r.get("duplex") or ""),
                           "speed": str(r.get("speed") or ""), "type": str(r.get("type") or ""),
                           "description": str(r.get("name") or "")} for r in rows]}
    if check == "cpu" and plat == "cisco_ios":
        s5, m1, m5 = (float(r0[k]) for k in ("cpu_usage_5_sec", "cpu_usage_1_min", "cpu_usage_5_min"))
        return {"usage_percent": m1, "usage_5s_percent": s5, "usage_1m_percent": m1,
                "usage_5m_percent": m5}
    if check == "memory" and plat == "cisco_ios":
        total, used = int(r0["memory_total"]), int(r0["memory_used"])
        return {"used_percent": round(100.0 * used / total, 2), "total_bytes": total,
                "used_bytes": used}
    if check == "logs" and plat == "cisco_ios":
        return _severity_counts([int(r["severity"]) for r in rows
                                 if str(r.get("severity", "")).isdigit() and int(r["severity"]) < 8])
    raise CliParseError(f"no normaliser for {check} rows from {plat} templates")


# ---------------------------------------------------------------- running configuration

# Lines that change without the configuration changing (clocks, counters of the dump itself).
_VOLATILE = re.compile(
    r"^(?:Building configuration\.*|Current configuration\s*:.*|!\s*Last configuration change.*|"
    r"!\s*NVRAM config last updated.*|!\s*No configuration change since last restart|"
    r"!\s*Time:.*|!\s*Last configuration was (?:updated|saved).*|!\s*Software Version.*|"
    r"ntp clock-period \d+)\s*$", re.I)


def normalise_config(raw: str) -> str:
    """The configuration as compared: line endings unified, trailing blanks and the volatile
    header lines above dropped (so a clock in the dump is not a configuration change)."""
    lines = [ln.rstrip() for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if not _VOLATILE.match(ln.strip())]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


MASK = "***"
_ENC = r"(?:cipher|simple|irreversible-cipher|hash|plain|encrypted|sha256|[05-9])"
_CONFIG_SECRETS: list[tuple[re.Pattern[str], str]] = [
    # Huawei/H3C SNMP communities: snmp-agent community read cipher %^%#…  / … simple public
    (re.compile(r"(?im)^(\s*snmp-agent\s+community\s+(?:(?:read|write|complex-read|complex-write)"
                r"\s+)?(?:(?:cipher|simple)\s+)?)\S+"), rf"\1{MASK}"),
    # Cisco: snmp-server community PUBLIC RO
    (re.compile(r"(?im)^(\s*snmp-server\s+community\s+)\S+"), rf"\1{MASK}"),
    # password / secret / key … with an optional encoding word or type digit before the value:
    # 'password cipher X', 'local-user a password irreversible-cipher X', 'enable secret 5 X',
    # 'username u secret 9 X', 'key 7 X', 'pre-shared-key cipher X', 'super password level 3 …'
    (re.compile(rf"(?i)\b(password|secret|key|key-string|pre-shared-key|authentication-key|"
                rf"auth-key)((?:\s+level\s+\d+)?\s+(?:{_ENC}\s+)?)(?!\*\*\*)(?!(?:{_ENC}|level)\s)(\S+)"),
     rf"\1\2{MASK}"),
    # 'cipher X' anywhere else (usm-user … authentication-mode sha cipher X privacy-mode aes128
    # cipher Y) and Huawei's %^%#…%^%# / %$%$…%$%$ encrypted blobs wherever they appear
    (re.compile(r"(?i)\b((?:irreversible-)?cipher\s+)(?!\*\*\*)(\S+)"), rf"\1{MASK}"),
    (re.compile(r"%\^%#.*?%\^%#|%\$%\$.*?%\$%\$|%#%#.*?%#%#"), MASK),
]


def redact_config(text: str) -> str:
    """Secrets out of a device configuration (and any raw output kept as evidence)."""
    for rx, repl in _CONFIG_SECRETS:
        text = rx.sub(repl, text)
    return text
