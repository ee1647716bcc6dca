"""Pure SNMP helpers: counter deltas, rates, port states. No I/O, no pysnmp."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
               7: "lowerLayerDown"}
DOWN_CODES = {2, 6, 7}  # down, notPresent, lowerLayerDown

# ifTable / ifXTable columns (numeric; no MIB lookups)
IF_COLUMNS: dict[str, str] = {
    "ifDescr": "1.3.6.1.2.1.2.2.1.2",
    "ifType": "1.3.6.1.2.1.2.2.1.3",
    "ifAdminStatus": "1.3.6.1.2.1.2.2.1.7",
    "ifOperStatus": "1.3.6.1.2.1.2.2.1.8",
    "ifLastChange": "1.3.6.1.2.1.2.2.1.9",
    "ifInDiscards": "1.3.6.1.2.1.2.2.1.13",
    "ifInErrors": "1.3.6.1.2.1.2.2.1.14",
    "ifOutDiscards": "1.3.6.1.2.1.2.2.1.19",
    "ifOutErrors": "1.3.6.1.2.1.2.2.1.20",
    "ifName": "1.3.6.1.2.1.31.1.1.1.1",
    "ifHCInOctets": "1.3.6.1.2.1.31.1.1.1.6",
    "ifHCOutOctets": "1.3.6.1.2.1.31.1.1.1.10",
    "ifHighSpeed": "1.3.6.1.2.1.31.1.1.1.15",
    "ifAlias": "1.3.6.1.2.1.31.1.1.1.18",
}
COUNTERS = {  # column → (field name, counter bits)
    "ifHCInOctets": ("in_octets", 64),
    "ifHCOutOctets": ("out_octets", 64),
    "ifInErrors": ("in_errors", 32),
    "ifOutErrors": ("out_errors", 32),
    "ifInDiscards": ("in_discards", 32),
    "ifOutDiscards": ("out_discards", 32),
}
# SNMPv1 has no Counter64, and some agents (old encoders, bearer devices) have no ifXTable:
# when the HC octet columns come back empty, the 32-bit octet counters are walked instead,
# and ifSpeed (bit/s) stands in for a missing ifHighSpeed
FALLBACK_COLUMNS: dict[str, str] = {
    "ifInOctets": "1.3.6.1.2.1.2.2.1.10",
    "ifOutOctets": "1.3.6.1.2.1.2.2.1.16",
    "ifSpeed": "1.3.6.1.2.1.2.2.1.5",
}
COUNTERS_32 = {**{c: v for c, v in COUNTERS.items() if not c.startswith("ifHC")},
               "ifInOctets": ("in_octets", 32), "ifOutOctets": ("out_octets", 32)}
COUNTER_FIELD = {c: f for c, (f, _bits) in (COUNTERS | COUNTERS_32).items()}
SYSTEM = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
}
ENTITY_COLUMNS = {
    "descr": "1.3.6.1.2.1.47.1.1.1.1.2",
    "class": "1.3.6.1.2.1.47.1.1.1.1.5",
    "name": "1.3.6.1.2.1.47.1.1.1.1.7",
    "hardware_rev": "1.3.6.1.2.1.47.1.1.1.1.8",
    "firmware_rev": "1.3.6.1.2.1.47.1.1.1.1.9",
    "software_rev": "1.3.6.1.2.1.47.1.1.1.1.10",
    "serial": "1.3.6.1.2.1.47.1.1.1.1.11",
    "model": "1.3.6.1.2.1.47.1.1.1.1.13",
}
CHASSIS = 3


def counter_delta(prev: int, cur: int, bits: int) -> int | None:
    """cur - prev for an SNMP counter; a Counter32 that went down wrapped once (add 2^32);
    a Counter64 that went down was reset (None: no delta)."""
    if cur >= prev:
        return cur - prev
    if bits == 32:
        return cur + 2**32 - prev
    return None


def rebooted(prev_ticks: int | None, cur_ticks: int) -> bool:
    """sysUpTime went backwards: the agent restarted (TimeTicks wrap after 497 days aside)."""
    if prev_ticks is None:
        return False
    if cur_ticks >= prev_ticks:
        return False
    # a wrap of the 32-bit TimeTicks leaves a small value after a value near 2^32
    return not (prev_ticks > 2**32 - 8_640_000 and cur_ticks < 8_640_000)


def interval(prev: dict[str, Any], cur_ticks: int, now: float) -> float | None:
    """Seconds between the previous poll and this one: the sysUpTime delta when it is
    sane, else wall-clock; None when there is no previous poll or the agent restarted."""
    p_ticks = prev.get("uptime_ticks")
    p_time = prev.get("time")
    if p_ticks is None or p_time is None or rebooted(p_ticks, cur_ticks):
        return None
    d_ticks = (cur_ticks - p_ticks) % 2**32
    wall = now - float(p_time)
    if d_ticks > 0 and (wall <= 0 or abs(d_ticks / 100 - wall) <= max(2.0, wall * 0.5)):
        return d_ticks / 100
    return wall if wall > 0 else None


def port_rates(prev: dict[str, Any] | None, cur: dict[str, int], dt: float | None,
               speed_mbps: float | None, skew: Mapping[str, float] | None = None,
               counters: Mapping[str, tuple[str, int]] = COUNTERS) -> dict[str, float]:
    """Per-second rates from two counter snapshots {field: value} taken dt seconds apart.

    `skew` {field: seconds}: how much later than dt implies this counter was read this time
    than last time (its column's walk started later after the sysUpTime read); a skew of
    half the interval or more is not believed.
    Octets become bits/s (`in_bps`, `out_bps`); errors/discards become per-second rates
    (`in_errors_per_s`…). A reset counter gives no field for that counter (no spike).
    `counters`: the columns read and their widths (COUNTERS_32 for 32-bit octets)."""
    out: dict[str, float] = {}
    if not prev or not dt or dt <= 0:
        return out
    for _col, (name, bits) in counters.items():
        if name not in cur or name not in prev:
            continue
        d = counter_delta(int(prev[name]), int(cur[name]), bits)
        if d is None:
            continue
        shift = (skew or {}).get(name, 0.0)
        span = dt + shift if abs(shift) < dt / 2 else dt
        if name.endswith("octets"):
            out[name.replace("_octets", "_bps")] = round(8 * d / span, 3)
        else:
            out[f"{name}_per_s"] = round(d / span, 4)
    if speed_mbps and "in_bps" in out and "out_bps" in out:
        peak = max(out["in_bps"], out["out_bps"])
        out["utilisation_percent"] = round(100 * peak / (speed_mbps * 1e6), 3)
    return out


def oper_state(admin: int | None, oper: int | None, seen_up: bool, watched: bool) -> str:
    """One text for a rule: up, down (never seen up), down-was-up, down-watched,
    admin-down (ignored), or the oper status name (testing, dormant, unknown…)."""
    if admin is not None and admin != 1 and not watched:
        return "admin-down"
    if oper == 1:
        return "up"
    if oper in DOWN_CODES:
        if watched:
            return "down-watched"
        return "down-was-up" if seen_up else "down"
    return OPER_STATUS.get(oper or 0, "unknown")


def matches(patterns: list[str], index: int, names: list[str]) -> bool:
    """A port pattern matches its ifIndex, or ifName/ifDescr/ifAlias (shell globs)."""
    return any(p == str(index) or any(n and fnmatchcase(n, p) for n in names) for p in patterns)


def rows(columns: dict[str, dict[int, Any]]) -> dict[int, dict[str, Any]]:
    """{column: {index: value}} → {index: {column: value}}, indices sorted."""
    out: dict[int, dict[str, Any]] = {}
    for col, values in columns.items():
        for idx, v in values.items():
            out.setdefault(idx, {})[col] = v
    return dict(sorted(out.items()))


# entPhysicalClass (ENTITY-MIB PhysicalClass)
ENT_CLASS = {1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container",
             6: "powerSupply", 7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack",
             12: "cpu"}
_ASSET_KEYS = ("model", "serial", "hardware_rev", "firmware_rev", "software_rev")


def _clean(row: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).strip() for k, v in row.items()
            if k in (*_ASSET_KEYS, "name", "descr") and str(v or "").strip()}


def chassis_rows(entities: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that stand for the device's chassis: every chassis row (a stack or IRF
    system has one per member) that has a serial or model, else the first chassis row;
    without one, one stack/module row with a serial (some agents put the serial on the
    main board); never an empty container."""
    chassis = [r for r in entities.values() if r.get("class") == CHASSIS]
    useful = [r for r in chassis if _clean(r).keys() & {"serial", "model"}]
    if useful or chassis:
        return useful or chassis[:1]
    serial = [r for r in entities.values() if r.get("class") in (9, 11) and _clean(r).get("serial")]
    # one row stands for the device: a stack row first, then one that names its model
    serial.sort(key=lambda r: (r.get("class") != 11, not _clean(r).get("model")))
    return serial[:1]


def chassis_asset(entities: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The asset record from ENTITY-MIB: the best chassis row (see chassis_rows; else the
    first row with a model or serial); empty values left out. A stack/IRF system with more
    than one chassis also gets `chassis_count`, `serials` (every member's, comma-separated)
    and `chassis` (JSON: name, model, serial, version per member)."""
    if not entities:
        return {}
    members = chassis_rows(entities)
    if not members:
        members = [r for r in entities.values() if _clean(r).keys() & {"serial", "model"}][:1]
    if not members:
        return {}
    out: dict[str, Any] = dict(_clean(members[0]))  # model, serial, revisions, descr, name
    if len(members) > 1:
        out["chassis_count"] = len(members)
        out["serials"] = ",".join(_clean(r).get("serial", "") for r in members)
        out["chassis"] = json.dumps([_clean(r) for r in members], ensure_ascii=False,
                                    sort_keys=True)
    return out


COMPONENT_KINDS = {6: "power supply", 7: "fan", 9: "board", 10: "transceiver"}


def components(entities: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Field-replaceable parts with a serial (boards, power supplies, fans, transceivers —
    on Cisco the port row of an SFP carries its serial), grouped by kind, model and version
    as the contracts list them: kind, model, version, quantity, serials."""
    chassis = {id(r) for r in chassis_rows(entities)}
    taken = {_clean(r).get("serial") for r in chassis_rows(entities)} - {None}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for r in entities.values():
        kind = COMPONENT_KINDS.get(int(r.get("class") or 0))
        c = _clean(r)
        if kind is None or id(r) in chassis or not c.get("serial") or c["serial"] in taken:
            continue  # a main board that repeats the chassis serial is the chassis
        label = f"{c.get('name', '')} {c.get('descr', '')}".lower()
        if kind == "board":  # Huawei and H3C list power and fan units as modules
            kind = "power supply" if "power" in label else "fan" if "fan" in label else kind
        model = c.get("model") if c.get("model") not in (None, "Unspecified") else None
        version = c.get("software_rev") or c.get("firmware_rev") or c.get("hardware_rev") or ""
        # grouped by what the part is, not where it sits: "POWER Card 0/5" → "POWER Card"
        what = model or c.get("descr") or re.sub(r"[\s\d/.:-]+$", "", c.get("name", ""))
        key = (kind, what, version)
        groups.setdefault(key, []).append(c["serial"])
    return [{"kind": k, "model": m, "version": v, "quantity": len(serials),
             "serials": sorted(serials)}
            for (k, m, v), serials in sorted(groups.items())]


# ifType (IANAifType): what is a physical port and what is not
IF_TYPE_CLASS = {
    **dict.fromkeys((6, 7, 62, 69, 117, 26, 15, 18, 19, 30, 32, 37, 71, 94, 169, 188),
                    "physical"),  # Ethernet (6, 62, 69, 117), E1/T1, ATM, radio, DSL…
    24: "loopback", 53: "vlan", 135: "vlan", 136: "vlan", 131: "tunnel", 161: "aggregate",
    54: "aggregate", 209: "bridge", 23: "ppp"}


def port_class(if_type: Any, name: str) -> str:
    """physical, vlan, loopback, null, aggregate, tunnel… (by ifType; NULL0 and InLoopBack
    interfaces, which agents type as `other`, by name)."""
    low = name.lower()
    if low.startswith("null"):
        return "null"
    if "loopback" in low:
        return "loopback"
    try:
        kind = IF_TYPE_CLASS.get(int(if_type), "other")
    except (TypeError, ValueError):
        kind = "other"
    if kind in ("vlan", "other") and low.startswith("vlan"):
        return "vlan"  # Vlanif1, Vlan-interface2, Vlan999: whatever their ifType
    if kind == "vlan" and int(if_type) == 53:  # propVirtual: VLAN interfaces, but also
        return "aggregate" if any(w in low for w in ("channel", "trunk", "aggregat")) \
            else "virtual"  # Port-channel / Eth-Trunk on some releases
    return kind


def port_names(table: dict[int, dict[str, Any]]) -> dict[int, str]:
    """A unique, stable name per port: ifName, else ifDescr, else the ifIndex; a name two
    ports share gets its ifIndex appended to each (`eth0 #3`), so every port has its own
    verdict and the same port the same name cycle after cycle."""
    base = {idx: (str(row.get("ifName") or "").strip() or str(row.get("ifDescr") or "").strip()
                  or str(idx)) for idx, row in table.items()}
    seen: dict[str, int] = {}
    for n in base.values():
        seen[n] = seen.get(n, 0) + 1
    return {idx: n if seen[n] == 1 else f"{n} #{idx}" for idx, n in base.items()}


def port_speed(row: dict[str, Any]) -> tuple[int | None, str]:
    """(speed in bit/s or None, where it came from): ifHighSpeed (Mbit/s) when the agent
    gives a non-zero one, else ifSpeed (bit/s) unless it is 0 or 2^32-1 ("see
    ifHighSpeed"), else unknown."""
    high, low = row.get("ifHighSpeed"), row.get("ifSpeed")
    if isinstance(high, int) and high > 0:
        return high * 1_000_000, "ifHighSpeed"
    if isinstance(low, int) and 0 < low < 2**32 - 1:
        return low, "ifSpeed"
    return None, "unknown"


# HOST-RESOURCES-MIB (RFC 2790): storage and processor load of SNMP-managed hosts
HR_STORAGE = {
    "type": "1.3.6.1.2.1.25.2.3.1.2",
    "descr": "1.3.6.1.2.1.25.2.3.1.3",
    "units": "1.3.6.1.2.1.25.2.3.1.4",
    "size": "1.3.6.1.2.1.25.2.3.1.5",
    "used": "1.3.6.1.2.1.25.2.3.1.6",
}
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_STORAGE_TYPES = {1: "other", 2: "ram", 3: "virtualMemory", 4: "fixedDisk",
                    5: "removableDisk", 6: "floppyDisk", 7: "compactDisc", 8: "ramDisk",
                    9: "flashMemory", 10: "networkDisk"}
_HR_TYPE_PREFIX = "1.3.6.1.2.1.25.2.1."


def hr_storage(table: dict[int, dict[str, Any]]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """hrStorageTable rows → (tags, fields) with Telegraf disk-plugin names: total, used,
    free (bytes), used_percent. Rows of size 0 (nothing to judge) are left out."""
    out: list[tuple[dict[str, str], dict[str, Any]]] = []
    for idx, r in table.items():
        units, size, used = r.get("units"), r.get("size"), r.get("used")
        if not isinstance(units, int) or not isinstance(size, int) or not isinstance(used, int):
            continue
        if size <= 0:
            continue
        t = str(r.get("type") or "")
        kind = (HR_STORAGE_TYPES.get(int(t[len(_HR_TYPE_PREFIX):]), "other")
                if t.startswith(_HR_TYPE_PREFIX) and t[len(_HR_TYPE_PREFIX):].isdigit()
                else "other")
        tags = {"hrStorageIndex": str(idx), "descr": str(r.get("descr") or ""), "type": kind}
        total, used_b = size * units, used * units
        out.append((tags, {"total": total, "used": used_b, "free": total - used_b,
                           "used_percent": round(100 * used / size, 3)}))
    return out


def flap_times(prev_times: list[float], prev_oper: int | None, oper: int | None,
               prev_last_change: Any, last_change: Any, now: float, window: float) -> list[float]:
    """Times of oper-status changes within the window, this cycle's included.

    A status that differs from the previous poll is one change. The same status with a
    new ifLastChange means it went and came back between polls: two changes."""
    times = [t for t in prev_times if now - t <= window]
    if prev_oper is None or oper is None:
        return times
    if oper != prev_oper:
        times.append(now)
    elif (prev_last_change is not None and last_change is not None
          and last_change != prev_last_change):
        times.extend([now, now])
    return times
