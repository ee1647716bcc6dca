"""`xunjian cases …`: fault cases — list, show, act on them, write the fault report."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent.cli.common import (
    ConfigOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    Lang,
    actor,
    err,
    out,
    print_json,
    require_output,
    when,
    when_iso,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent.config import AgentConfig

app = typer.Typer(help="Fault cases (故障单): list, show, ack, assign, note, pause, resume, resolve, "
                  "close, reopen, and the fault report.", no_args_is_help=True)
LEVEL = {1: "L1 重大", 2: "L2 主要", 3: "L3 次要"}


class Which(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    closed = "closed"
    all = "all"


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"
    docx = "docx"
    xlsx = "xlsx"


NumberArg = Annotated[str, typer.Argument(help="Case number, e.g. F-20261122-0001.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Who does it (default: your OS user name).",
                                           show_default=False)]
NoteOpt = Annotated[str, typer.Option("--note", "-m", help="A note for the case history.")]




def _open(config: Path | None, data_dir: Path | None) -> tuple[AgentConfig, Engine]:
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    return cfg, open_engine(configured_store(cfg, data_dir))


@app.command("list")
def list_(config: ConfigOpt = None, data_dir: DataDirOpt = None,
          status: Annotated[Which, typer.Option("--status", "-s", help="Which cases: open means open "
                                                "or acknowledged.")] = Which.open,
          level: Annotated[int | None, typer.Option("--level", "-l", min=1, max=3,
                                                    help="Only this level (1 major … 3 minor).")] = None,
          device: Annotated[list[str] | None, typer.Option("--device", "-d",
                                                           help="Only these devices.")] = None,
          group: Annotated[list[str] | None, typer.Option("--group", "-g", help="Only devices of these "
                                                          "inventory groups.")] = None,
          breached: Annotated[bool, typer.Option("--breached", help="Only cases that missed a response "
                                                 "or repair deadline.")] = False,
          fmt: FormatOpt = Format.table) -> None:
    """List fault cases: open (and acknowledged) by default.

    Examples:

      xunjian cases list

      xunjian cases list --level 1 --breached

      xunjian cases list --status all -g oracle --format json
    """
    from agent.config import load_config

    cfg = load_config(config)
    devices: list[str] | None = list(device) if device else None
    if group:
        from agent.inventory import load_inventory

        inv = load_inventory(cfg.inventory, cfg.secrets_file)
        devices = (devices or []) + [d.name for d in inv.select(groups=list(group))]
    found: list[Any] = []
    # No embedded store yet (the file open_engine would create): no cases, and listing creates
    # nothing nor pays for loading the database layer. A database server is always asked.
    server = cfg.store is not None and data_dir is None
    if server or ((data_dir or cfg.data_dir) / "xunjian.db").exists():
        from agent.cases.queries import list_cases
        from agent.store.db import configured_store, open_engine

        engine = open_engine(configured_store(cfg, data_dir))
        found = list_cases(engine, status.value, level=level, devices=devices, breached=breached)
    if fmt is Format.json:
        print_json({"cases": [c.to_dict() for c in found]})
        return
    if not found:
        out.print("no cases" if status is Which.all else f"no {status.value} cases")
        return
    table = Table(header_style="bold")
    tz = cfg.cases.tz
    for col in ("case", "level", "status", "device", "check", "opened", "due", "message"):
        table.add_column(col, overflow="fold")
    for c in found:
        due = c.response_due if c.status == "open" else c.repair_due if c.is_open else None
        flags = " ".join(f for f, on in (("BREACHED", c.response_breached or c.repair_breached),
                                          ("flapping", c.flapping), ("paused", c.paused_at),
                                          (f"under {c.suppressed_by}", c.suppressed_by)) if on)
        table.add_row(c.number, LEVEL.get(c.level, str(c.level)), c.status, c.device,
                      f"{c.check} {c.instance}".strip(), when(c.opened_at, tz), when(due, tz),
                      f"{c.message} {('[' + flags + ']') if flags else ''}".strip())
    out.print(table)


@app.command("show")
def show(number: NumberArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
         fmt: FormatOpt = Format.table) -> None:
    """Show one case, its clocks and its history."""
    from agent.cases.queries import case_history, case_tickets, get_case

    cfg, engine = _open(config, data_dir)
    case = get_case(engine, number)
    if case is None:
        err.print(f"xunjian: no case {number}")
        raise typer.Exit(2)
    events = case_history(engine, number)
    tickets = case_tickets(engine, number)
    if fmt is Format.json:
        print_json({"case": case.to_dict(), "tickets": tickets, "events": events})
        return
    for k, v in case.to_dict().items():
        if v not in (None, "", False, 0.0) or k in ("level", "status"):
            out.print(f"[bold]{k:>17}[/]: {when_iso(v, cfg.cases.tz)}")
    for t in tickets:
        text = escape(f"{t['channel']}: {t['ticket_id']} {t['url']}".rstrip())
        out.print(f"[bold]{'ticket':>17}[/]: {text}")
    out.print("[bold]history[/]")
    for e in events:
        d = e["detail"]
        said = d.get("note") or d.get("message") or d.get("cause") or d.get("reason") or ""
        out.print(f"  #{e['seq']} {when(e['at'], cfg.cases.tz)} {e['kind']} L{d.get('level', '?')} "
                  f"by {e['actor']}"
                  f"{': ' + said if said else ''}")


def _act(number: str, action: str, who: str | None, config: Path | None, data_dir: Path | None,
         fmt: Format, **kw: Any) -> None:
    from agent.cases.engine import CaseEngine, CaseError

    cfg, engine = _open(config, data_dir)
    from agent.app import build_outbox

    outbox = build_outbox(cfg)
    devices: dict[str, Any] = {}
    # children follow their parent's case; routes select by device kind, group and site
    if action in ("resolve", "close", "reopen") or outbox is not None:
        from agent.inventory import load_inventory
        from agent.problems import ConfigError

        try:
            devices = dict(load_inventory(cfg.inventory, cfg.secrets_file).devices)
        except ConfigError:
            devices = {}
    ce = CaseEngine(engine, cfg.cases, devices, outbox=outbox)
    try:
        changes = ce.act(number, action, actor(who), **kw)
    except CaseError as e:
        err.print(f"xunjian: {e}")
        raise typer.Exit(2) from None
    if fmt is Format.json:
        print_json({"changes": [{"event": k, "case": c.to_dict()} for k, c in changes]})
        return
    for kind, c in changes:
        out.print(f"{c.number}: {kind} → {c.status}, {LEVEL.get(c.level, c.level)}")


@app.command("ack")
def ack(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
        data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Acknowledge: someone is on it. Stops the response clock.

    Example: xunjian cases ack F-20261122-0007 --as zhang.wei -m "on site in 30 min"
    """
    _act(number, "ack", who, config, data_dir, fmt, note=note)


@app.command("assign")
def assign(number: NumberArg, to: Annotated[str, typer.Argument(help="Engineer or team.")],
           who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
           data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Assign the case to an engineer or team."""
    _act(number, "assign", who, config, data_dir, fmt, to=to, note=note)


@app.command("note")
def note_(number: NumberArg, text: Annotated[str, typer.Argument(help="What to record.")],
          who: AsOpt = None, config: ConfigOpt = None, data_dir: DataDirOpt = None,
          fmt: FormatOpt = Format.table) -> None:
    """Add a note to the case history."""
    _act(number, "note", who, config, data_dir, fmt, note=text)


@app.command("pause")
def pause(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
          data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Stop the repair clock (waiting on the customer or a vendor), as contracts allow.

    Example: xunjian cases pause F-20261122-0007 -m "waiting for the vendor's spare part"
    """
    _act(number, "pause", who, config, data_dir, fmt, note=note)


@app.command("resume")
def resume(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
           data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Restart the repair clock; the paused time pushes the repair deadline."""
    _act(number, "resume", who, config, data_dir, fmt, note=note)


CauseOpt = Annotated[str, typer.Option("--cause", help="What caused the fault (for the fault report).")]
HandlingOpt = Annotated[str, typer.Option("--handling", help="What was done about it.")]


@app.command("resolve")
def resolve(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", cause: CauseOpt = "",
            handling: HandlingOpt = "", config: ConfigOpt = None, data_dir: DataDirOpt = None,
            fmt: FormatOpt = Format.table) -> None:
    """Mark repaired. Stops the repair clock. Cases also resolve themselves on recovery."""
    _act(number, "resolve", who, config, data_dir, fmt, note=note, cause=cause, handling=handling)


@app.command("close")
def close(number: NumberArg,
          cause: Annotated[str, typer.Option("--cause", help="What caused the fault.")] = "",
          handling: Annotated[str, typer.Option("--handling", help="What was done about it.")] = "",
          loss: Annotated[str, typer.Option("--loss", help="Service impact or loss, if any.")] = "",
          fault_type: Annotated[str, typer.Option("--type", help="Fault type, e.g. hardware, "
                                                  "software, network, power, human.")] = "",
          who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
          data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Close a resolved case with its cause and handling (both required, for the fault report).

    Example:

      xunjian cases close F-20261122-0007 --type software --cause "archive log filled /u01" \\
          --handling "moved archive logs to backup, raised RMAN retention" --loss "none"
    """
    _act(number, "close", who, config, data_dir, fmt, cause=cause, handling=handling, loss=loss,
         fault_type=fault_type, note=note)


@app.command("reopen")
def reopen(number: NumberArg, who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None,
           data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Reopen a resolved or closed case (the fault is back). The time it stayed resolved is not
    counted against the repair clock."""
    _act(number, "reopen", who, config, data_dir, fmt, note=note)


@app.command("report")
def report(number: NumberArg,
           fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="md, html, pdf, docx or xlsx.")]
           = ReportFormat.md,
           lang: Annotated[Lang, typer.Option("--lang", help="Language of the report.")] = Lang.zh,
           output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file "
                                                       "instead of stdout.")] = None,
           config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Write the fault report (故障处理报告) of a case: Markdown, HTML, PDF, DOCX or XLSX (the PDF carries
    page numbers and the content hash on every page; `xunjian report verify` checks it).

    Examples:

      xunjian cases report F-20261122-0007 > F-20261122-0007.md

      xunjian cases report F-20261122-0007 --format pdf --lang en -o F-20261122-0007.pdf

      xunjian cases report F-20261122-0007 --format docx -o F-20261122-0007.docx   # for signing
    """
    from agent.cli.report import render_report, use_look, write
    from reports.fault import fault_report_data

    cfg, engine = _open(config, data_dir)
    use_look(cfg)
    require_output(fmt.value, output)
    data = fault_report_data(engine, cfg.cases, number)
    content = None if data is None else render_report("fault", data, fmt.value, lang.value)
    if content is None:
        err.print(f"xunjian: no case {number}")
        raise typer.Exit(2)
    write(content, output, f"fault report of {number}")
