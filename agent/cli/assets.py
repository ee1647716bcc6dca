"""`xunjian assets …`: the asset register (资产台账) and its change history."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, out, print_json
from core.model import iso

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="The asset register (资产台账): model, serial, versions per device, and what "
                  "changed.", no_args_is_help=True)
FIELDS = ("model", "serial", "hardware_rev", "firmware_rev", "software_rev", "sysDescr")
# The table's columns, when any device has them (CSV and JSON carry every field).
SHOWN = ("vendor", "model", "serial", "os", "kernel", "hardware_rev", "firmware_rev", "software_rev",
         "oracle_version", "oracle_patches", "weblogic_version")


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _engine(config: Path | None, data_dir: Path | None) -> Engine:
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    return open_engine(configured_store(cfg, data_dir))


@app.command("list")
def list_(config: ConfigOpt = None, data_dir: DataDirOpt = None,
          fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table, json or csv.")]
          = ListFormat.table) -> None:
    """Every device with an asset record, as last collected (snmp, cli, linux, oracle, weblogic).

    Examples:

      xunjian assets list

      xunjian assets list --format csv > assets.csv
    """
    from agent.store.assets import list_assets

    rows = list_assets(_engine(config, data_dir))
    if fmt is ListFormat.json:
        print_json({"assets": [{**r, "first_seen": iso(r["first_seen"]), "updated_at": iso(r["updated_at"])}
                               for r in rows]})
        return
    keys = ["device", *FIELDS, *sorted({k for r in rows for k in r} - {"device", "first_seen", "updated_at",
                                                                       *FIELDS}), "updated_at"]
    if fmt is ListFormat.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "updated_at": iso(r["updated_at"])})
        sys.stdout.write(buf.getvalue())
        return
    if not rows:
        out.print("no asset records yet (collectors send them: snmp, cli, linux, oracle, weblogic…)")
        return
    # A new collector's versions (`<product>_version`, `_patches`, `_rev`) show without a change here.
    extra = sorted({k for r in rows for k, v in r.items() if v and k not in SHOWN
                    and k.endswith(("_version", "_patches", "_rev"))})
    columns = ["device", *(k for k in SHOWN if any(r.get(k) for r in rows)), *extra]
    table = Table(header_style="bold")
    for k in columns:
        table.add_column(k, overflow="fold")
    for r in rows:
        table.add_row(*(str(r.get(k, "")) for k in columns))
    out.print(table)


@app.command("history")
def history(device: Annotated[str | None, typer.Argument(help="One device (default: all).")] = None,
            config: ConfigOpt = None, data_dir: DataDirOpt = None,
            fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table, json or csv.")]
            = ListFormat.table) -> None:
    """What changed in the asset records: a firmware upgrade, a replaced chassis (new serial)…"""
    from agent.store.assets import asset_history

    rows = asset_history(_engine(config, data_dir), device)
    if fmt is ListFormat.json:
        print_json({"changes": [{**r, "at": iso(r["at"])} for r in rows]})
        return
    if fmt is ListFormat.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["device", "at", "field", "old", "new", "source"])
        w.writeheader()
        for r in rows:
            w.writerow({**r, "at": iso(r["at"])})
        sys.stdout.write(buf.getvalue())
        return
    if not rows:
        out.print("no changes recorded")
        return
    for r in rows:
        out.print(f"{datetime.fromtimestamp(r['at']):%Y-%m-%d %H:%M} {r['device']} {r['field']}: "
                  f"{r['old']} → {r['new']} ({r['source']})")
