"""`xunjian cases …`: the fault cases in the store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from agent.cases.engine import case_history, list_cases
from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, err, out, print_json
from agent.config import load_config
from agent.store.db import open_engine

app = typer.Typer(help="Fault cases (故障单): list and show.", no_args_is_help=True)
LEVEL = {1: "L1 重大", 2: "L2 主要", 3: "L3 次要"}


class Which(StrEnum):
    open = "open"
    resolved = "resolved"
    closed = "closed"
    all = "all"


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


@app.command("list")
def list_(config: ConfigOpt = None, data_dir: DataDirOpt = None,
          status: Annotated[Which, typer.Option("--status", "-s", help="Which cases.")] = Which.open,
          fmt: FormatOpt = Format.table) -> None:
    """List fault cases: open (and acknowledged) by default.

    Examples:

      xunjian cases list

      xunjian cases list --status all --format json
    """
    cfg = load_config(config)
    found = list_cases(open_engine(data_dir or cfg.data_dir), status.value)
    if fmt is Format.json:
        print_json({"cases": [c.to_dict() for c in found]})
        return
    if not found:
        out.print(f"no {status.value if status is not Which.all else ''} cases".replace("  ", " "))
        return
    table = Table(header_style="bold")
    for col in ("case", "level", "status", "device", "check", "opened", "value", "message"):
        table.add_column(col, overflow="fold")
    for c in found:
        value = "" if c.last_value is None else f"{c.last_value:g}"
        table.add_row(c.number, LEVEL.get(c.level, str(c.level)), c.status, c.device,
                      f"{c.check} {c.instance}".strip(), _when(c.opened_at), value, c.message)
    out.print(table)


@app.command("show")
def show(number: Annotated[str, typer.Argument(help="Case number, e.g. F-20261122-0001.")],
         config: ConfigOpt = None, data_dir: DataDirOpt = None,
         fmt: FormatOpt = Format.table) -> None:
    """Show one case and its history."""
    cfg = load_config(config)
    engine = open_engine(data_dir or cfg.data_dir)
    match = [c for c in list_cases(engine, "all") if c.number == number]
    if not match:
        err.print(f"xunjian: no case {number}")
        raise typer.Exit(2)
    case, events = match[0], case_history(engine, number)
    if fmt is Format.json:
        print_json({"case": case.to_dict(), "events": events})
        return
    for k, v in case.to_dict().items():
        out.print(f"[bold]{k:>12}[/]: {'' if v is None else v}")
    for e in events:
        out.print(f"  #{e['seq']} {_when(e['at'])} {e['kind']} by {e['actor']}: "
                  f"{e['detail'].get('message', '')}")
