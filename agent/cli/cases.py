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
from core.model import iso

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent.config import AgentConfig

app = typer.Typer(help="Fault cases (故障单): list, show, open (reported by a person), ack, assign, "
                  "note, pause, resume, resolve, close, reopen, visit (回访), and the fault report.",
                  no_args_is_help=True)
LEVEL = {1: "L1 重大", 2: "L2 主要", 3: "L3 次要"}


def level_name(cfg: Any, policy: str, level: int) -> str:
    """The level as the case's SLA policy names it: "L2 主要" in the three-level scheme as
    shipped, else the scheme's own name ("B 严重")."""
    from agent.cases.sla import SCHEMES

    sla = cfg.cases.sla(policy)
    if {lv: dict(n) for lv, n in sla.names.items()} == SCHEMES["three"]:
        return LEVEL.get(level, f"L{level}")
    return str(sla.level_name(level))


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
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge the cases as they stood at this time "
                                             "(e.g. 2026-12-01 09:30, in the configured zone).",
                                             show_default=False)]




def _open(config: Path | None, data_dir: Path | None) -> tuple[AgentConfig, Engine]:
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    return cfg, open_engine(configured_store(cfg, data_dir))


@app.command("list")
def list_(config: ConfigOpt = None, data_dir: DataDirOpt = None,
          status: Annotated[Which, typer.Option("--status", "-s", help="Which cases: open means open "
                                                "or acknowledged.")] = Which.open,
          level: Annotated[int | None, typer.Option("--level", "-l", min=1, max=5,
                                                    help="Only this level (1 is the most severe).")] = None,
          device: Annotated[list[str] | None, typer.Option("--device", "-d",
                                                           help="Only these devices.")] = None,
          group: Annotated[list[str] | None, typer.Option("--group", "-g", help="Only devices of these "
                                                          "inventory groups.")] = None,
          breached: Annotated[bool, typer.Option("--breached", help="Only cases that missed a response "
                                                 "or repair deadline.")] = False,
          as_of: AsOfOpt = None,
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
        if as_of:
            from agent.cases.queries import cases_as_of

            at = parse_time(as_of, cfg.cases.tz, "--as-of")
            found = cases_as_of(engine, at, status.value, level=level, devices=devices, breached=breached)
        else:
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
        table.add_row(c.number, level_name(cfg, c.policy, c.level), c.status, c.device,
                      f"{c.check} {c.instance}".strip(), when(c.opened_at, tz), when(due, tz),
                      f"{c.message} {('[' + flags + ']') if flags else ''}".strip())
    out.print(table)


@app.command("show")
def show(number: NumberArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
         as_of: AsOfOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Show one case, its clocks and its history (as they stood at --as-of, if given)."""
    from agent.cases.queries import case_history, case_report, case_tickets, get_case, visit_of

    cfg, engine = _open(config, data_dir)
    case = get_case(engine, number)
    if case is None:
        err.print(f"xunjian: no case {number}")
        raise typer.Exit(2)
    events = case_history(engine, number)
    if as_of:
        from agent.cases.asof import case_as_of

        at = parse_time(as_of, cfg.cases.tz, "--as-of")
        then = case_as_of(case, events, at)
        if then is None:
            err.print(f"xunjian: case {number} was entered after {when(at, cfg.cases.tz)}")
            raise typer.Exit(2)
        case, events = then, [e for e in events if e["at"] <= at]
    tickets = case_tickets(engine, number)
    reported = case_report(engine, number)
    visited = visit_of(events)
    if fmt is Format.json:
        print_json({"case": case.to_dict(), "tickets": tickets, "events": events,
                    "visit": visited and {**visited, "visited_at": iso(visited["visited_at"]),
                                          "entered_at": iso(visited["entered_at"])},
                    "reported": reported and {**reported, "reported_at": iso(reported["reported_at"]),
                                              "entered_at": iso(reported["entered_at"])}})
        return
    for k, v in case.to_dict().items():
        if v not in (None, "", False, 0.0) or k in ("level", "status"):
            out.print(f"[bold]{k:>17}[/]: {when_iso(v, cfg.cases.tz)}")
    if reported:
        who_ = ", ".join(x for x in (reported["reporter"], reported["unit"], reported["contact"]) if x)
        out.print(f"[bold]{'reported':>17}[/]: {escape(who_)} by {reported['channel']} at "
                  f"{when(reported['reported_at'], cfg.cases.tz)} (entered "
                  f"{when(reported['entered_at'], cfg.cases.tz)} by {escape(reported['entered_by'])})")
        if reported["affected"]:
            out.print(f"[bold]{'affected':>17}[/]: {escape(', '.join(reported['affected']))}")
    if visited:
        out.print(f"[bold]{'return visit':>17}[/]: {visited['rating']}/5 "
                  f"{escape(visited['comment'])} ({escape(visited['by'])}, "
                  f"{when(visited['visited_at'], cfg.cases.tz)})")
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


class Channel(StrEnum):
    phone = "phone"
    mail = "mail"
    web = "web"
    onsite = "onsite"
    other = "other"


def parse_time(text: str, tz: Any, what: str) -> float:
    """`2026-12-01 09:30` (in the configured zone) or ISO 8601 with an offset."""
    from datetime import datetime

    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"a time like 2026-12-01 09:30 (in {tz}), got {text!r}",
                                 param_hint=what) from None
    return (t if t.tzinfo else t.replace(tzinfo=tz)).timestamp()


@app.command("open")
def open_(description: Annotated[str, typer.Option("--description", "-m", help="What the person "
                                                   "reported, in their words.", show_default=False)],
          reporter: Annotated[str, typer.Option("--reporter", help="Who reported it.",
                                                show_default=False)],
          channel: Annotated[Channel, typer.Option("--channel", help="How it was reported.")]
          = Channel.phone,
          unit: Annotated[str, typer.Option("--unit", help="The reporter's unit or department.")] = "",
          contact: Annotated[str, typer.Option("--contact", help="Phone number or mail address.")] = "",
          reported: Annotated[str | None, typer.Option("--reported-at", help="When it was reported "
                                                       "(default: now); the clocks start then.",
                                                       show_default=False)] = None,
          device: Annotated[list[str] | None, typer.Option("--device", "-d", help="Device affected "
                                                           "(repeat for several).")] = None,
          service: Annotated[str, typer.Option("--service", help="Service affected, e.g. "
                                               "\"video platform\".")] = "",
          check: Annotated[str, typer.Option("--check", help="The rule check this fault is, if known "
                                             "(with one --device): that rule's verdicts then join "
                                             "this case.")] = "",
          instance: Annotated[str, typer.Option("--instance", help="With --check: the filesystem, "
                                                "port… it concerns.")] = "",
          category: Annotated[str, typer.Option("--category", help="What kind of problem, e.g. "
                                                "hardware, software, network, request.")] = "",
          level: Annotated[int, typer.Option("--level", "-l", help="1 is the most severe.")] = 3,
          policy: Annotated[str, typer.Option("--policy", help="SLA policy (default: the "
                                              "configured one).")] = "",
          klass: Annotated[str, typer.Option("--class", help="fault, or a request class of the policy "
                                             "(consultation, suggestion, change…): its own clocks.")]
          = "fault",
          who: AsOpt = None, config: ConfigOpt = None, data_dir: DataDirOpt = None,
          fmt: FormatOpt = Format.table) -> None:
    """Open a case for a fault or request reported by a person (phone, mail, web, on site). It is
    a case like a rule-opened one: the same lifecycle, hooks, SLA clocks and fault report.

    Examples:

      xunjian cases open --channel phone --reporter "Li Na" --unit "county A" --contact 138… \\
          -d enc-07 --level 2 --reported-at "2026-12-01 09:10" -m "encoder 7 shows no picture"

      xunjian cases open --reporter "Wang" -d db01 --check disk_used_percent --instance /u01 \\
          -m "archive area almost full"
    """
    from agent.cases.engine import CaseEngine, CaseError
    from agent.cases.intake import Intake, IntakeError

    cfg, engine = _open(config, data_dir)
    from agent.app import build_outbox

    outbox = build_outbox(cfg)
    at = parse_time(reported, cfg.cases.tz, "--reported-at") if reported else None
    ce = CaseEngine(engine, cfg.cases, _devices(cfg) if outbox is not None else {}, outbox=outbox)
    intake = Intake(channel=channel.value, reporter=reporter, description=description,
                    reported_at=at if at is not None else ce.clock(), level=level, unit=unit,
                    contact=contact, category=category, devices=tuple(device or ()), service=service,
                    check=check, instance=instance, policy=policy, request_class=klass)
    try:
        changes = ce.report(intake, actor(who))
    except (CaseError, IntakeError) as e:
        err.print(f"xunjian: cases open: {e}", markup=False)
        raise typer.Exit(2) from None
    _print_changes(cfg, changes, fmt)


def _devices(cfg: AgentConfig) -> dict[str, Any]:
    from agent.inventory import load_inventory
    from core.problems import ConfigError

    try:
        return dict(load_inventory(cfg.inventory, cfg.secrets_file).devices)
    except ConfigError:
        return {}


def _print_changes(cfg: AgentConfig, changes: list[Any], fmt: Format) -> None:
    if fmt is Format.json:
        print_json({"changes": [{"event": k, "case": c.to_dict()} for k, c in changes]})
        return
    for kind, c in changes:
        out.print(f"{c.number}: {kind} → {c.status}, {level_name(cfg, c.policy, c.level)}")


def _act(number: str, action: str, who: str | None, config: Path | None, data_dir: Path | None,
         fmt: Format, **kw: Any) -> None:
    from agent.cases.engine import CaseEngine, CaseError

    cfg, engine = _open(config, data_dir)
    from agent.app import build_outbox

    outbox = build_outbox(cfg)
    devices: dict[str, Any] = {}
    # children follow their parent's case; routes select by device kind, group and site
    if action in ("resolve", "close", "reopen") or outbox is not None:
        devices = _devices(cfg)
    ce = CaseEngine(engine, cfg.cases, devices, outbox=outbox)
    try:
        changes = ce.act(number, action, actor(who), **kw)
    except CaseError as e:
        err.print(f"xunjian: {e}")
        raise typer.Exit(2) from None
    _print_changes(cfg, changes, fmt)


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


@app.command("mark")
def mark(number: NumberArg,
         milestone: Annotated[str, typer.Argument(help="arrival, diagnosis, workaround, fault_report… "
                                                  "(the names the policy's clocks stop on).")],
         who: AsOpt = None, note: NoteOpt = "", config: ConfigOpt = None, data_dir: DataDirOpt = None,
         fmt: FormatOpt = Format.table) -> None:
    """Record a milestone: it stops (or starts) the named clocks of the case's SLA policy.

    Example: xunjian cases mark F-20261122-0007 arrival -m "on site at the county hub"
    """
    _act(number, "mark", who, config, data_dir, fmt, milestone=milestone, note=note)


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


@app.command("visit")
def visit(number: NumberArg,
          rating: Annotated[int, typer.Option("--rating", "-r", help="The customer's rating: 1 (poor) "
                                              "to 5 (very satisfied).", show_default=False)],
          comment: Annotated[str, typer.Option("--comment", "-m", help="What the customer said.")] = "",
          by: Annotated[str | None, typer.Option("--by", help="Who made the visit (default: your OS "
                                                 "user name).", show_default=False)] = None,
          at: Annotated[str | None, typer.Option("--at", help="When the visit was made (default: now; "
                                                 "in the configured zone).", show_default=False)] = None,
          replace: Annotated[bool, typer.Option("--replace", help="Record it in place of the case's "
                                                "earlier visit.")] = False,
          config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Record the return visit (回访) of a closed case: the customer's rating and comment. They show in
    `cases show`, the fault report and the satisfaction figures of `xunjian sla`.

    Example: xunjian cases visit F-20261122-0007 --rating 5 -m "fixed fast, well explained" --by desk.wang
    """
    from agent.config import load_config

    cfg = load_config(config)
    when_ = parse_time(at, cfg.cases.tz, "--at") if at else None
    _act(number, "visit", by, config, data_dir, fmt, rating=rating, comment=comment, at=when_,
         replace=replace)


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


@app.command("fetch-mail")
def fetch_mail(config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Poll the service desk's mailbox once (`intake.mail`): new mail becomes a case (channel
    mail) with an acknowledgement back to the sender, a reply a note on its case. Prints what
    was done with each message; exits 1 when the mailbox could not be read (that is also the
    self-check case `selfcheck.mail_intake`). The daemon polls on its own every interval.

    Examples:

      xunjian cases fetch-mail

      xunjian cases fetch-mail --format json
    """
    from agent.app import build_outbox
    from agent.cases.engine import CaseEngine
    from agent.mailin.poll import MailPoller

    cfg, engine = _open(config, data_dir)
    if cfg.mail_intake is None:
        err.print(f"xunjian: cases fetch-mail: no intake.mail in {cfg.path or 'the configuration'} "
                  "(see docs/cases.md, \"Mail intake\")", markup=False)
        raise typer.Exit(2)
    outbox = build_outbox(cfg)
    ce = CaseEngine(engine, cfg.cases, _devices(cfg) if outbox is not None else {}, outbox=outbox)
    result = MailPoller(engine, cfg.mail_intake, ce, lang=cfg.hooks.lang).poll()
    if fmt is Format.json:
        print_json(result.to_dict())
    else:
        if result.error:
            err.print(f"xunjian: {result.mailbox}: {result.error}", markup=False)
        table = Table(title=f"{result.mailbox}: {len(result.messages)} new message(s)", title_justify="left")
        for col in ("UID", "from", "subject", "action", "case", "detail"):
            table.add_column(col, overflow="fold")
        for t in result.messages:
            table.add_row(str(t.uid), escape(t.sender), escape(t.subject), t.action, t.case, escape(t.detail))
        out.print(table)
        for a in result.acks:
            out.print(f"acknowledgement of {a['case']} to {escape(a['to'] or '')}: {escape(a['result'])}")
    if result.error:
        raise typer.Exit(1)
