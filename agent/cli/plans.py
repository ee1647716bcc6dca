"""`xunjian plans …`: planned work (计划性工作) — the inspections the contract schedules, their
approval, completion and report delivery."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, actor, err, out, print_json, when

if TYPE_CHECKING:
    from agent.cases.plans import Plan, Plans
    from agent.config import AgentConfig

app = typer.Typer(help="Planned work (计划性工作): the inspections the contract schedules (monthly visit, "
                  "quarterly with the customer's approval, half-yearly), approved, done and reported "
                  "on time. A lapse is a case on the device xunjian.", no_args_is_help=True)

NumberArg = Annotated[str, typer.Argument(help="The plan's number, e.g. P-202612-001.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Who does it (default: your OS user).",
                                           show_default=False)]
NoteOpt = Annotated[str, typer.Option("--note", "-m", help="A note for the plan's history.")]


def _plans(config: Path | None, data_dir: Path | None) -> tuple[AgentConfig, Plans]:
    from agent.cases.plans import Plans
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    return cfg, Plans(open_engine(configured_store(cfg, data_dir)), cfg.cases.plans, cfg.cases.tz)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"a date like 2026-12-15, got {text!r}", param_hint=what) from None


def _show(p: Plan, tz: object) -> dict[str, object]:
    from core.model import iso

    d = p.to_dict()
    for k in ("approved_at", "notified_at", "done_at", "reported_at"):
        d[k] = iso(d[k] or 0)  # type: ignore[arg-type]
    return d


@app.command("list")
def list_(since: Annotated[str | None, typer.Option("--from", help="First planned day (YYYY-MM-DD); "
                                                    "default: the first of last month.",
                                                    show_default=False)] = None,
          until: Annotated[str | None, typer.Option("--to", help="Last planned day (default: 62 days "
                                                    "ahead).", show_default=False)] = None,
          config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The planned activities and where each stands; the schedules' coming ones are made first.

    Example: xunjian plans list --from 2026-07-01 --to 2026-12-31
    """
    from agent.cases.plans import LOOKAHEAD_DAYS

    cfg, plans = _plans(config, data_dir)
    tz = cfg.cases.tz
    now = time.time()
    plans.generate(now)
    today = datetime.fromtimestamp(now, tz).date()
    first = _day(since, "--from") if since else (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last = _day(until, "--to") if until else today + timedelta(days=LOOKAHEAD_DAYS)
    found = plans.between(first, last)
    if fmt is Format.json:
        print_json({"plans": [{**_show(p, tz), "lapse": plans.lapse(p, today)} for p in found]})
        return
    if not found:
        out.print("no planned work in that time (plans: in the config schedules it; plans add adds one)")
        return
    table = Table(header_style="bold")
    for col in ("number", "planned", "title", "status", "approved", "done", "report due", "late"):
        table.add_column(col, overflow="fold")
    for p in found:
        approved = ("—" if not p.approval else when(p.approved_at, tz) if p.approved_at else "pending")
        table.add_row(p.number, p.planned_for, escape(p.title), p.status, approved,
                      when(p.done_at, tz) if p.done_at else "", p.report_due or "",
                      escape(plans.lapse(p, today).split(" / ")[-1]))
    out.print(table)


@app.command("add")
def add(title: Annotated[str, typer.Option("--title", help="What is planned (e.g. 春节前专项巡检).",
                                           show_default=False)],
        on: Annotated[str, typer.Option("--on", help="The planned day (YYYY-MM-DD).", show_default=False)],
        approval: Annotated[bool, typer.Option("--approval", help="The customer approves it first.")] = False,
        notify_sites: Annotated[bool, typer.Option("--notify-sites", help="The sites are told first.")]
        = False,
        report_within: Annotated[int, typer.Option("--report-within", min=0, max=60,
                                                   help="Days to deliver its report after it is done.")] = 3,
        level: Annotated[int, typer.Option("--level", min=1, max=5, help="The level of a lapse's case.")] = 3,
        who: AsOpt = None, note: NoteOpt = "",
        config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Plan an activity outside the schedules (a special inspection before a holiday…).

    Example: xunjian plans add --title "春节前专项巡检 / pre-holiday inspection" --on 2027-02-01 --approval
    """
    cfg, plans = _plans(config, data_dir)
    p = _do("add", lambda: plans.add(title, _day(on, "--on"), time.time(), actor(who), approval,
                                     notify_sites, level, report_within, note=note))
    _said(p, cfg, fmt, f"{p.number} planned for {p.planned_for}: {escape(p.title)}")


def _do(what: str, action: Callable[[], Plan]) -> Plan:
    """The action, or its refusal as one message (exit 2)."""
    from agent.cases.plans import PlanError

    try:
        return action()
    except PlanError as e:
        err.print(f"xunjian: plans {what}: {e}", markup=False)
        raise typer.Exit(2) from None


def _said(p: Plan, cfg: AgentConfig, fmt: Format, line: str) -> None:
    if fmt is Format.json:
        print_json({"plan": _show(p, cfg.cases.tz)})
    else:
        out.print(line)


def _act(action: str, number: str, who: str | None, note: str, config: Path | None, data_dir: Path | None,
         fmt: Format, report: str = "") -> None:
    cfg, plans = _plans(config, data_dir)
    p = _do(action, lambda: plans.act(number, action, actor(who), time.time(), report=report, note=note))
    due = f", report due {p.report_due}" if action == "done" and p.report_due else ""
    _said(p, cfg, fmt, f"{p.number}: {action} → {p.status}{due}")


@app.command("approve")
def approve(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
            data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The customer approved the plan (--as: who approved it)."""
    _act("approve", number, who, note, config, data_dir, fmt)


@app.command("notify")
def notify(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
           data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The sites were told of the planned work."""
    _act("notify", number, who, note, config, data_dir, fmt)


@app.command("done")
def done(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
         data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The planned work was done; its report-delivery clock starts (working days of its calendar)."""
    _act("done", number, who, note, config, data_dir, fmt)


@app.command("reported")
def reported(number: NumberArg,
             report: Annotated[str, typer.Option("--report", help="The report delivered (its number or "
                                                 "file).", show_default=False)],
             who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
             data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The inspection report was delivered to the customer."""
    _act("reported", number, who, note, config, data_dir, fmt, report=report)


@app.command("cancel")
def cancel(number: NumberArg, note: Annotated[str, typer.Option("--note", "-m", help="Why (required).",
                                                                show_default=False)],
           who: AsOpt = None, config: ConfigOpt = None, data_dir: DataDirOpt = None,
           fmt: FormatOpt = Format.table) -> None:
    """Cancel a plan (the reason is kept in its history)."""
    _act("cancel", number, who, note, config, data_dir, fmt)
