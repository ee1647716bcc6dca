"""`xunjian availability`: downtime and availability per device over a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, out, print_json
from agent.cli.sla import _day
from core.model import iso


def availability(since: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD); "
                                                           "default: the first of this month.",
                                                           show_default=False)] = None,
                 until: Annotated[str | None, typer.Option("--to", help="Last day, included "
                                                           "(YYYY-MM-DD); default: today.",
                                                           show_default=False)] = None,
                 device: Annotated[list[str] | None, typer.Option("--device", "-d",
                                                                  help="Only these devices.")] = None,
                 config: ConfigOpt = None, data_dir: DataDirOpt = None,
                 fmt: FormatOpt = Format.table) -> None:
    """Downtime and availability per device and per service for a period: minutes down (while a
    device-outage case, `collect.*`, was open; for a device of kind `service`, while one of its
    probes found it down, a `probe_down*` case), planned (inside a maintenance window) and
    unplanned, % available (the planned minutes left out of the period), and the target "zero
    unplanned downtime", met or not.

    Examples:

      xunjian availability --from 2026-11-01 --to 2026-11-30

      xunjian availability -d enc-07 --format json
    """
    from agent.cases.availability import availability as figures
    from agent.cli.cases import _devices
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    tz = cfg.cases.tz
    now = datetime.now(UTC)
    today = now.astimezone(tz).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    start = _day(since, "--from") if since else today.replace(day=1)
    end = (_day(until, "--to") if until else today) + timedelta(days=1)
    if end <= start:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    devices: dict[str, Any] = _devices(cfg)
    doc = figures(open_engine(configured_store(cfg, data_dir)), cfg.cases,
                  start.replace(tzinfo=tz).timestamp(), end.replace(tzinfo=tz).timestamp(),
                  now.timestamp(), devices, device or None)
    if fmt is Format.json:
        print_json({**doc, "since": iso(doc["since"]), "until": iso(doc["until"]),
                    "counted_until": iso(doc["counted_until"])})
        return
    out.print(f"[bold]{start:%Y-%m-%d} … {end - timedelta(days=1):%Y-%m-%d}[/] "
              f"({doc['period_minutes']:.0f} min counted)")
    table = Table(header_style="bold")
    for col in ("device", "down min", "planned", "unplanned", "available", "cases"):
        table.add_column(col, justify="left" if col in ("device", "cases") else "right", overflow="fold")
    for d in doc["devices"]:
        pct = "—" if d["available_percent"] is None else f"{d['available_percent']:.3f}%"
        table.add_row(d["device"], f"{d['down_minutes']:g}", f"{d['planned_minutes']:g}",
                      f"{d['unplanned_minutes']:g}", pct, ", ".join(d["cases"]))
    out.print(table)
    if doc.get("services"):
        table = Table(title="services (probed end to end)", header_style="bold")
        for col in ("service", "down min", "planned", "unplanned", "available", "cases"):
            table.add_column(col, justify="left" if col in ("service", "cases") else "right",
                             overflow="fold")
        for d in doc["services"]:
            pct = "—" if d["available_percent"] is None else f"{d['available_percent']:.3f}%"
            table.add_row(d["service"], f"{d['down_minutes']:g}", f"{d['planned_minutes']:g}",
                          f"{d['unplanned_minutes']:g}", pct, ", ".join(d["cases"]))
        out.print(table)
    target = doc["target"]
    if target["met"]:
        out.print("target zero unplanned downtime: met")
    else:
        out.print(f"target zero unplanned downtime: MISSED ({target['unplanned_minutes']:g} min, "
                  f"{', '.join(target['missed_by'])})")
