"""`xunjian sla`: how the service levels were kept over a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, err, out, print_json
from core.model import iso


def _day(text: str, what: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"a date like 2026-11-01, got {text!r}", param_hint=what) from None


def _targets(engine: Any, policy: Any, since: float, until: float, now: float,
             at: float | None) -> list[dict[str, Any]]:
    from agent.cases.queries import cases_as_of, list_cases
    from agent.cases.targets import compare

    found = cases_as_of(engine, at, "all", since=since, until=until) if at is not None else \
        list_cases(engine, "all", since=since, until=until)
    return compare(policy, found, until, at if at is not None else now)


def sla(since: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD); default: "
                                                  "the first of this month.", show_default=False)] = None,
        until: Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD); "
                                                  "default: today.", show_default=False)] = None,
        as_of: Annotated[str | None, typer.Option(
            "--as-of", help="Judge the cases as they stood at this time (e.g. 2026-12-01 09:30).",
            show_default=False)] = None,
        config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Service levels for a period: cases per level (as opened), on-time response and repair
    rates, and every breach. Cases suppressed under a parent's case are not counted.

    Examples:

      xunjian sla                                   # this month so far

      xunjian sla --from 2026-07-01 --to 2026-12-31 --format json
    """
    from agent.cases.calendar_gaps import gaps_between, missing_years
    from agent.cases.targets import HANDLING_RATE
    from agent.config import load_config
    from agent.store.db import configured_store, open_engine
    from reports.sla import sla_summary

    cfg = load_config(config)
    tz = cfg.cases.tz
    now = datetime.now(UTC)
    today = now.astimezone(tz).replace(tzinfo=None)
    start = _day(since, "--from") if since else today.replace(day=1, hour=0, minute=0, second=0,
                                                               microsecond=0)
    end = (_day(until, "--to") if until else today.replace(hour=0, minute=0, second=0,
                                                         microsecond=0)) + timedelta(days=1)
    at = None
    if as_of:
        from agent.cli.cases import parse_time

        at = parse_time(as_of, tz, "--as-of")
    engine = open_engine(configured_store(cfg, data_dir))
    since_ts, until_ts = start.replace(tzinfo=tz).timestamp(), end.replace(tzinfo=tz).timestamp()
    doc = sla_summary(engine, since_ts, until_ts, now.timestamp(), as_of=at)
    doc["targets"], doc["handling_rate_definition"] = _targets(engine, cfg.cases, since_ts, until_ts,
                                                               now.timestamp(), at), HANDLING_RATE
    # the period's years and the coming weeks: a year counted without its holidays is said loudly
    gaps = {(g.calendar, g.year): g for g in
            [*gaps_between(cfg.cases.calendars, start.date(), (end - timedelta(days=1)).date()),
             *missing_years(cfg.cases.calendars, today.date())]}
    for g in gaps.values():
        err.print(f"xunjian: warning: {g.message}", style="bold yellow", markup=False)
    if fmt is Format.json:
        print_json({**doc, "since": iso(doc["since"]), "until": iso(doc["until"]),
                    "calendar_warnings": [{"calendar": g.calendar, "year": g.year, "message": g.message}
                                          for g in gaps.values()]})
        return
    out.print(f"[bold]{start:%Y-%m-%d} … {end - timedelta(days=1):%Y-%m-%d}[/]: {doc['cases']} cases")
    table = Table(header_style="bold")
    for col in ("level", "cases", "response met", "missed", "on time", "repair met", "missed", "on time"):
        table.add_column(col, justify="right")

    def rate(r: float | None) -> str:
        return "—" if r is None else f"{r:.0%}"

    for row in doc["levels"]:
        rs, rp = row["response"], row["repair"]
        table.add_row(f"L{row['level']}", str(row["cases"]), str(rs["met"]), str(rs["missed"]),
                      rate(rs["on_time_rate"]), str(rp["met"]), str(rp["missed"]), rate(rp["on_time_rate"]))
    out.print(table)
    for b in doc["breaches"]:
        out.print(f"  {b['case']} {b['device']} {b['check']} {b['instance']}: response {b['response']}, "
                  f"repair {b['repair']} (opened L{b['opened_level']}, now L{b['level']})")
    for row in doc["targets"]:
        verdict = "no cases yet" if row["met"] is None else "met" if row["met"] else "MISSED"
        short = f" — short: {', '.join(row['short'][:10])}" if row["short"] and not row["met"] else ""
        out.print(f"target {row['target']} ≥ {row['wanted']:.0%} ({row['policy']}): "
                  f"{rate(row['actual'])} of {row['counted']}, {verdict}{short}")
    if any(r["target"] == "handling rate" for r in doc["targets"]):
        out.print(f"  ({HANDLING_RATE})")
    sat = doc["satisfaction"]
    if sat["closed"]:
        avg = "—" if sat["average_rating"] is None else f"{sat['average_rating']:.2f}/5"
        out.print(f"return visits (回访): {sat['visits']} of {sat['closed']} closed cases "
                  f"({rate(sat['visited_share'])}), average rating {avg}")
