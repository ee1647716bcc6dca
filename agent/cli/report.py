"""`xunjian report …`: the inspection ledger (and, as they land, the periodic report and the
monthly summary). Fault reports: `xunjian cases report`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import ConfigOpt, DataDirOpt, InventoryOpt, Lang, err, out, require_output

app = typer.Typer(help="Reports: the daily inspection ledger (日常巡检记录), the monthly summary, "
                  "the periodic inspection report, in PDF, DOCX, XLSX, HTML or Markdown; verify a "
                  "report file.",
                  no_args_is_help=True)


class LedgerFormat(StrEnum):
    html = "html"
    pdf = "pdf"
    md = "md"
    docx = "docx"
    xlsx = "xlsx"


def _cover(cfg: object, number: str) -> dict[str, str]:
    """The cover of a report for signing (DOCX): the config's report section and a number."""
    who = cfg.report.model_dump(exclude={"templates", "logo"})  # type: ignore[attr-defined]
    return {**who, "number": number}


def use_look(cfg: object) -> None:
    """The contractor's templates, wording and logo from the config's report section."""
    from reports.templating import configure

    r = cfg.report  # type: ignore[attr-defined]
    configure(Path(r.templates) if r.templates else None, Path(r.logo) if r.logo else None)


def render_report(kind: str, data: dict[str, object], fmt: str, lang: str) -> bytes:
    """render(), with a broken template as one clear message naming the file (no traceback)."""
    from jinja2 import TemplateError

    from reports.render import render
    from reports.templating import template_problem

    try:
        return render(kind, data, fmt, lang)
    except TemplateError as e:
        raise template_problem(e) from None


def _period(day: str | None, month: str | None, today: date) -> tuple[date, date]:
    if day and month:
        raise typer.BadParameter("give --day or --month, not both")
    if month:
        if not re.fullmatch(r"\d{4}-\d{2}", month):
            raise typer.BadParameter(f"a month like 2026-11, got {month!r}", param_hint="--month")
        first = date.fromisoformat(month + "-01")
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first, nxt - timedelta(days=1)
    if day:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise typer.BadParameter(f"a date like 2026-11-22, got {day!r}", param_hint="--day") from None
        return d, d
    return today, today


@app.command("ledger")
def ledger(day: Annotated[str | None, typer.Option("--day", help="One day, YYYY-MM-DD (default: today).",
                                                   show_default=False)] = None,
           month: Annotated[str | None, typer.Option("--month", help="A whole month, YYYY-MM.",
                                                     show_default=False)] = None,
           fmt: Annotated[LedgerFormat, typer.Option("--format", "-f", help="html, pdf, md, docx or "
                                                     "xlsx.")]
           = LedgerFormat.html,
           lang: Annotated[Lang, typer.Option("--lang", help="Language.")] = Lang.zh,
           output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (needed "
                                                       "for pdf, docx and xlsx); default: stdout.")]
           = None,
           config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """The daily inspection ledger (日常巡检记录): every recorded run (`xunjian inspect --record`,
    or the daemon's scheduled inspections), every device and check with its verdict and
    evidence, and what was done about the exceptions (case events).

    Examples:

      xunjian report ledger -o today.html

      xunjian report ledger --month 2026-11 --format xlsx -o 2026-11-ledger.xlsx

      xunjian report ledger --month 2026-11 --format docx -o 2026-11-ledger.docx   # for signing
    """
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine
    from reports.ledger import ledger_data
    cfg = load_config(config)
    use_look(cfg)
    today = datetime.now(UTC).astimezone(cfg.cases.tz).date()
    first, last = _period(day, month, today)
    require_output(fmt.value, output)
    data = ledger_data(open_engine(configured_store(cfg, data_dir)), first, last, cfg.cases.tz)
    data["cover"] = _cover(cfg, f"{cfg.report.number_prefix}-L-{first:%Y%m%d}-{last:%Y%m%d}")
    write(render_report("ledger", data, fmt.value, lang.value), output, f"{len(data['runs'])} runs")


class SummaryFormat(StrEnum):
    html = "html"
    pdf = "pdf"
    md = "md"
    docx = "docx"
    xlsx = "xlsx"


@app.command("monthly")
def monthly(month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this month).",
                                                      show_default=False)] = None,
            fmt: Annotated[SummaryFormat, typer.Option("--format", "-f", help="html, pdf, md, docx or "
                                                       "xlsx.")]
            = SummaryFormat.html,
            lang: Annotated[Lang, typer.Option("--lang", help="Language.")] = Lang.zh,
            calendar: Annotated[str | None, typer.Option(
                "--calendar", help="Working days for inspection completion (default: the first scheduled "
                "inspection's calendar, else 24x7).", show_default=False)] = None,
            output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (needed for "
                                                        "pdf, docx and xlsx); default: stdout.")] = None,
            config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """The monthly service summary (月度服务报告): cases per level, handling and on-time rates,
    deadlines missed, devices and checks with most cases, inspections done on working days.

    Examples:

      xunjian report monthly --month 2026-11 -f pdf -o 2026-11-summary.pdf

      xunjian report monthly --month 2026-11 -f docx -o 2026-11-summary.docx   # for signing
    """
    from agent.cases.calendar import ALWAYS, AlwaysCalendar
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine
    from reports.monthly import monthly_data
    cfg = load_config(config)
    use_look(cfg)
    first, _ = _period(None, month, datetime.now(UTC).astimezone(cfg.cases.tz).date().replace(day=1))
    calendars = {ALWAYS: AlwaysCalendar(), **cfg.cases.calendars}
    name = calendar or (cfg.inspections[0].calendar if cfg.inspections else ALWAYS)
    if name not in calendars:
        raise typer.BadParameter(f"one of the calendars in the config: {', '.join(sorted(calendars))}",
                                 param_hint="--calendar")
    require_output(fmt.value, output)
    data = monthly_data(open_engine(configured_store(cfg, data_dir)), first, cfg.cases.tz, calendars[name])
    data["cover"] = _cover(cfg, f"{cfg.report.number_prefix}-M-{first:%Y%m}")
    data["calendar_warnings"] = calendar_warnings(calendars, first, _period(None, f"{first:%Y-%m}", first)[1])
    write(render_report("monthly", data, fmt.value, lang.value), output, f"{data['cases']} cases")


class PeriodicFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    md = "md"
    docx = "docx"
    xlsx = "xlsx"


@app.command("periodic")
def periodic(period: Annotated[str | None, typer.Option("--period", help="2026H1, 2026H2, 2026Q3, "
                                                        "2026-11 or 2026; compared with the calendar period "
                                                        "before (2026H1 with 2025H2).",
                                                        show_default=False)] = None,
             since: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD "
                                                       "(compared with as many days before it).",
                                                       show_default=False)] = None,
             until: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.",
                                                       show_default=False)] = None,
             fmt: Annotated[PeriodicFormat, typer.Option(
                 "--format", "-f", help="pdf, html, md, docx (for signing), or xlsx (the annex with "
                 "every row).")]
             = PeriodicFormat.pdf,
             lang: Annotated[Lang, typer.Option("--lang", help="Language.")] = Lang.zh,
             output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (needed for "
                                                         "pdf, docx and xlsx); default: stdout.")] = None,
             config: ConfigOpt = None, inventory: InventoryOpt = None,
             data_dir: DataDirOpt = None) -> None:
    """The periodic inspection report (定期巡检报告), e.g. the twice-yearly one: cover, summary
    beside the previous period (--period: the calendar period before; --from/--to: the same
    number of days before) and what changed since it, asset register, per-device check matrix
    with evidence, capacity trends with days-until-full projections and charts, CPU/memory
    peaks, port errors, fault cases with SLA, remediations with before/after, generated
    recommendations, sign-off block; the content hash on every page.

    Examples:

      xunjian report periodic --period 2026H2 -o 2026H2-inspection-report.pdf

      xunjian report periodic --from 2026-07-01 --to 2026-12-31 -f html --lang en -o report.html

      xunjian report periodic --period 2026H2 -f docx -o 2026H2-inspection-report.docx   # for signing
    """
    from agent.config import load_config
    from agent.inventory import load_inventory
    from agent.store.db import configured_store, open_engine
    from reports.periodic import parse_period, periodic_data, previous_period
    cfg = load_config(config)
    use_look(cfg)
    if period and (since or until):
        raise typer.BadParameter("give --period or --from/--to, not both")
    if period:
        try:
            first, last = parse_period(period)
            previous: tuple[date, date] | None = previous_period(period)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--period") from None
    elif since and until:
        first, last = _period(since, None, date.today())[0], _period(until, None, date.today())[0]
        if last < first:
            raise typer.BadParameter("--to is before --from")
        previous = None  # the same number of days before --from
    else:
        raise typer.BadParameter("give --period (e.g. 2026H1) or both --from and --to")
    require_output(fmt.value, output)
    inv = load_inventory(inventory or cfg.inventory, cfg.secrets_file)
    devices = [{"name": d.name, "kind": d.kind, "address": d.address, "groups": list(d.groups),
                "site": d.labels.get("site", "")} for d in inv.devices.values()]
    cover = _cover(cfg, f"{cfg.report.number_prefix}-{first:%Y%m%d}-{last:%Y%m%d}")
    engine = open_engine(configured_store(cfg, data_dir))
    data = periodic_data(engine, first, last, cfg.cases.tz, devices, cover, previous=previous)
    data["calendar_warnings"] = calendar_warnings(cfg.cases.calendars, first, last)
    write(render_report("periodic", data, fmt.value, lang.value), output,
          f"{len(devices)} devices, {data['summary']['runs']} runs, {len(data['cases'])} cases")


def calendar_warnings(calendars: dict[str, object], first: date, last: date) -> list[dict[str, object]]:
    """Calendars that count a year of the period without its official holiday arrangement: the
    report says so on its first page (and the command on stderr)."""
    from agent.cases.calendar_gaps import gaps_between

    gaps = gaps_between(calendars, first, last)  # type: ignore[arg-type]
    for g in gaps:
        err.print(f"xunjian: warning: {g.message}", style="bold yellow", markup=False)
    return [{"calendar": g.calendar, "year": g.year} for g in gaps]


def write(content: bytes, output: Path | None, what: str) -> None:
    if output:
        output.write_bytes(content)
        err.print(f"wrote {output}: {what}")
    else:
        out.out(content.decode("utf-8"), end="")


@app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="A report written by xunjian (.pdf, .html, .docx "
                                                "or .xlsx).",
                                                exists=True, dir_okay=False, readable=True)],
           config: ConfigOpt = None) -> None:
    """Check a report: recompute the content hash from the data embedded in the file, compare it
    with the hash printed on every page, and re-render the report from that data to compare
    the visible text. Exit 0 when intact, 1 when anything was edited, 2 when unreadable.
    The text is re-rendered with the config's templates and wording (`report.templates`):
    verify where the report was written, or with the same override directory.

    Example: xunjian report verify 2026H1-inspection-report.pdf
    """
    from jinja2 import TemplateError

    from agent.config import load_config
    from reports.render import VerifyError, verify_file
    from reports.templating import template_problem

    use_look(load_config(config))
    try:
        v = verify_file(file.read_bytes(), file.name.lower())
    except TemplateError as e:
        raise template_problem(e) from None
    except VerifyError as e:
        err.print(f"xunjian: {file}: {e}")
        raise typer.Exit(2) from None
    if v.ok:
        out.print(f"[green]intact[/]: {file} sha256 {v.recomputed}: {v.reason}")
        return
    out.print(f"[bold red]EDITED[/]: {file}: {v.reason} (printed {v.printed}, data {v.recomputed or '?'})")
    raise typer.Exit(1)
