"""`xunjian duty …`: the duty roster (值班表) — show it, add and remove shifts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, actor, err, out, print_json, when
from core.model import iso

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent.config import AgentConfig

app = typer.Typer(help="The duty roster (值班表): who is on duty when. New cases without an assignee "
                  "go to the person on duty; reminders name who is on duty.", no_args_is_help=True)

TimeOpt = Annotated[str, typer.Option(help="A time like 2026-12-01 08:30 (in the configured zone).",
                                      show_default=False)]


def _engine(config: Path | None, data_dir: Path | None) -> tuple[AgentConfig, Engine]:
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    return cfg, open_engine(configured_store(cfg, data_dir))


@app.command("show")
def show(at: Annotated[str | None, typer.Option("--at", help="From this time (default: now).",
                                                show_default=False)] = None,
         days: Annotated[int, typer.Option("--days", min=1, max=366, help="How many days ahead.")] = 7,
         config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The shifts from --at (default: now) for --days days, and who is on duty at --at.

    Example: xunjian duty show --at "2026-12-31 20:00" --days 3
    """
    from agent.cases.duty import shifts_between
    from agent.cli.cases import parse_time

    cfg, engine = _engine(config, data_dir)
    tz = cfg.cases.tz
    start = parse_time(at, tz, "--at") if at else time.time()
    found = shifts_between(engine, start, start + days * 86400)
    now_on = [s for s in found if s.starts_at <= start < s.ends_at]
    if fmt is Format.json:
        print_json({"at": iso(start), "on_duty": [p for s in now_on for p in s.people],
                    "shifts": [{**s.to_dict(), "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at)}
                               for s in found]})
        return
    people = list(dict.fromkeys(p for s in now_on for p in s.people))
    out.print(f"on duty at {when(start, tz)}: {escape(', '.join(people)) if people else 'nobody'}")
    if not found:
        out.print("no shifts")
        return
    table = Table(header_style="bold")
    for col in ("id", "shift", "start", "end", "people", "watch"):
        table.add_column(col, overflow="fold")
    for s in found:
        table.add_row(str(s.id), escape(s.name), when(s.starts_at, tz), when(s.ends_at, tz),
                      escape(", ".join(s.people)), "重要时刻值守" if s.watch else "")
    out.print(table)


@app.command("add")
def add(start: Annotated[str, typer.Option("--start", help="When the shift starts (e.g. 2026-12-01 "
                                           "08:30, in the configured zone).", show_default=False)],
        end: Annotated[str, typer.Option("--end", help="When it ends.", show_default=False)],
        person: Annotated[list[str], typer.Option("--person", "-p", help="Who is on duty (repeat; the "
                                                  "first is assigned new cases).", show_default=False)],
        name: Annotated[str, typer.Option("--name", help="The shift's name.")] = "duty",
        watch: Annotated[bool, typer.Option("--watch", help="A heightened-watch period (重要时刻值守).")]
        = False,
        who: Annotated[str | None, typer.Option("--as", help="Who enters it (default: your OS user).",
                                                show_default=False)] = None,
        config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Add a shift to the roster.

    Example: xunjian duty add --name "night" --start "2026-12-01 18:00" --end "2026-12-02 08:30" -p li.na
    """
    from agent.cases.duty import DutyError, add_shift
    from agent.cli.cases import parse_time

    cfg, engine = _engine(config, data_dir)
    tz = cfg.cases.tz
    try:
        s = add_shift(engine, name, parse_time(start, tz, "--start"), parse_time(end, tz, "--end"),
                      list(person), watch, actor(who), time.time())
    except DutyError as e:
        err.print(f"xunjian: duty add: {e}", markup=False)
        raise typer.Exit(2) from None
    if fmt is Format.json:
        print_json({"shift": {**s.to_dict(), "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at)}})
        return
    out.print(f"shift {s.id} {escape(s.name)}: {when(s.starts_at, tz)} … {when(s.ends_at, tz)}, "
              f"{escape(', '.join(s.people))}{' (heightened watch)' if s.watch else ''}")


@app.command("remove")
def remove(shift_id: Annotated[int, typer.Argument(metavar="ID", help="The shift's id (duty show).")],
           config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Remove a shift from the roster."""
    from agent.cases.duty import DutyError, remove_shift

    _, engine = _engine(config, data_dir)
    try:
        remove_shift(engine, shift_id)
    except DutyError as e:
        err.print(f"xunjian: duty remove: {e}", markup=False)
        raise typer.Exit(2) from None
    out.print(f"shift {shift_id} removed")
