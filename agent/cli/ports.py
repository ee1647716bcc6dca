"""`xunjian ports DEVICE`: one SNMP device's port table, in the order an engineer reads it.

From the store by default: the device's latest `interface` samples (what the daemon or the
last `inspect` collected, with rates and utilisation). With --live the device is walked now
(the SNMP collector with its stored memory, read only: nothing is written, so rates appear
when the daemon polled it recently; on a first poll there are none).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, InventoryOpt, err, out, print_json
from core.model import iso

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.model import Sample

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[Any, ...]:
    """Port1, Port2 … Port10; GigabitEthernet1/0/2 before GigabitEthernet1/0/10."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower())
                 for p in _DIGITS.split(name) if p)


def speed_text(bps: object) -> str:
    if not isinstance(bps, int | float) or bps <= 0:
        return "unknown"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= size:
            return f"{bps / size:g}{unit}"
    return f"{bps:g}"


def port_row(s: Sample) -> dict[str, Any]:
    """One port as people and scripts read it (JSON keys; the table formats them)."""
    f, t = s.fields, s.tags
    speed = f.get("speed")
    if speed is None and isinstance(f.get("ifHighSpeed"), int) and f["ifHighSpeed"]:
        speed = int(f["ifHighSpeed"]) * 1_000_000  # a sample from before `speed`
    row: dict[str, Any] = {
        "port": t.get("port") or t.get("ifName") or t.get("ifDescr") or t.get("ifIndex", ""),
        "ifIndex": int(t["ifIndex"]) if str(t.get("ifIndex", "")).isdigit() else None,
        "class": t.get("port_class", ""),
        "admin": f.get("admin_status", ""),
        "oper": f.get("oper_status", ""),
        "state": f.get("oper_state", ""),
        "speed_bps": speed,
        "speed_source": f.get("speed_source", "ifHighSpeed" if speed else "unknown"),
        "utilisation_percent": f.get("utilisation_percent"),
        "in_bps": f.get("in_bps"),
        "out_bps": f.get("out_bps"),
        "in_errors": f.get("in_errors"),
        "out_errors": f.get("out_errors"),
        "in_errors_per_s": f.get("in_errors_per_s"),
        "out_errors_per_s": f.get("out_errors_per_s"),
        "alias": t.get("ifAlias", ""),
    }
    if speed is None:
        row["utilisation_note"] = str(f.get("utilisation_unjudged")
                                      or "speed unknown: utilisation not judged")
    elif row["utilisation_percent"] is None:
        row["utilisation_note"] = "no rate yet (needs two polls)"
    return row


def latest_ports(engine: Engine, device: str) -> tuple[float | None, list[Sample]]:
    """The device's `interface` samples of its latest SNMP cycle in the store."""
    import json

    from sqlalchemy import func, select

    from agent.store.schema import samples
    from core.model import Sample

    where = (samples.c.device == device, samples.c.measurement == "interface")
    with engine.connect() as conn:
        last = conn.execute(select(func.max(samples.c.time)).where(*where)).scalar()
        if last is None:
            return None, []
        rows = conn.execute(select(samples).where(*where, samples.c.time == last))
        return last / 1e9, [Sample(r.measurement, json.loads(r.tags), json.loads(r.fields), r.time)
                            for r in rows]


def _live(app: Any, device: str) -> tuple[float | None, list[Sample]]:
    from agent.executor import Executor
    from agent.store.state import collector_key, load_state
    from core.model import Job

    d = app.inventory.devices.get(device)
    if d is None:
        raise typer.BadParameter(f"{device!r} is not in the inventory", param_hint="DEVICE")
    if "snmp" not in d.collectors:
        raise typer.BadParameter(f"{device!r} has no snmp collector", param_hint="DEVICE")
    ex = Executor(lambda dev, col: load_state(app.engine, collector_key(dev, col)))
    result = ex.run(Job(device, "snmp"), d)  # its new memory is not saved: a look only
    if not result.collected:
        err.print(f"xunjian: {device}: not collected: {result.reason}", markup=False)
        raise typer.Exit(3)
    return result.started_at, [s for s in result.samples if s.measurement == "interface"]


def ports(
    device: Annotated[str, typer.Argument(help="The device (its inventory name).")],
    config: ConfigOpt = None,
    inventory: InventoryOpt = None,
    data_dir: DataDirOpt = None,
    live: Annotated[bool, typer.Option(
        "--live", help="Walk the device now instead of reading the store's latest samples.")] = False,
    physical: Annotated[bool, typer.Option(
        "--physical", help="Only physical ports (no VLAN, loopback, NULL, tunnel interfaces).")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """One SNMP device's ports: status, speed, utilisation, errors, alias — in port order.

    Reads the latest samples in the store (the daemon's or the last inspect's); --live walks
    the device now (nothing is written; rates need a recent earlier poll).

    Examples:

      xunjian ports core-sw-1

      xunjian ports core-sw-1 --live --physical

      xunjian ports core-sw-1 --format json | jq '.ports[] | select(.oper != "up")'
    """
    if live:
        from agent.app import load_app

        at, found = _live(load_app(config, inventory, data_dir), device)
    else:
        from agent.config import load_config
        from agent.store.db import open_engine

        cfg = load_config(config)
        at, found = latest_ports(open_engine(data_dir or cfg.data_dir), device)
        if not found:
            err.print(f"xunjian: no port samples for {device!r} in the store (run `xunjian inspect "
                      f"-d {device}` or the daemon first, or use --live)", markup=False)
            raise typer.Exit(1)
    rows = sorted((port_row(s) for s in found), key=lambda r: natural_key(str(r["port"])))
    if physical:
        rows = [r for r in rows if r["class"] == "physical"]
    if fmt is Format.json:
        print_json({"device": device, "collected_at": iso(at) if at else None,
                    "source": "live" if live else "store", "ports": rows})
        return
    table = Table(header_style="bold")
    for col in ("port", "admin", "oper", "speed", "util", "in err", "out err", "alias"):
        table.add_column(col, overflow="fold")
    for r in rows:
        util = ("—" if r["speed_bps"] is None else "") if r["utilisation_percent"] is None \
            else f"{r['utilisation_percent']:.1f}%"
        oper = r["oper"] if r["oper"] == "up" else f"[red]{r['oper']}[/]" \
            if r["admin"] == "up" else r["oper"]
        table.add_row(str(r["port"]), str(r["admin"]), oper, speed_text(r["speed_bps"]), util,
                      _errors(r["in_errors"], r["in_errors_per_s"]),
                      _errors(r["out_errors"], r["out_errors_per_s"]), str(r["alias"]))
    out.print(table)
    up = sum(r["oper"] == "up" for r in rows)
    unknown = sum(r["speed_bps"] is None for r in rows)
    out.print(f"{device}: {len(rows)} ports, {up} up"
              + (f", {unknown} of unknown speed (utilisation not judged: —)" if unknown else "")
              + f" · {'walked now' if live else 'from the store'}"
              + (f", {iso(at)}" if at else ""))


def _errors(total: object, rate: object) -> str:
    if total is None:
        return ""
    return f"{total}" + (f" ({rate:g}/s)" if isinstance(rate, int | float) and rate else "")
