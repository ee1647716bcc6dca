"""`xunjian inspect`: collect now, judge, print; exit with the worst status (Nagios)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent import __version__
from agent.cli.common import (
    AllowEmptyOpt,
    ConfigOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    InventoryOpt,
    actor,
    cell,
    err,
    out,
    print_json,
)
from core.model import Status, Verdict, iso, worst

STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.CRIT: "bold red",
         Status.UNKNOWN: "magenta"}


def inspect(
    config: ConfigOpt = None,
    inventory: InventoryOpt = None,
    data_dir: DataDirOpt = None,
    device: Annotated[list[str] | None, typer.Option(
        "--device", "-d", help="Only this device (repeatable).")] = None,
    group: Annotated[list[str] | None, typer.Option(
        "--group", "-g", help="Only devices in this group (repeatable).")] = None,
    fmt: FormatOpt = Format.table,
    problems: Annotated[bool, typer.Option(
        "--problems", help="Show only rows that are not OK.")] = False,
    no_store: Annotated[bool, typer.Option(
        "--no-store", help="Judge only: write no samples and touch no cases.")] = False,
    record_run: Annotated[bool, typer.Option(
        "--record", help="Keep this run in the inspection ledger (巡检记录) with its evidence.")] = False,
    who: Annotated[str | None, typer.Option(
        "--as", help="Who ran the inspection, for the ledger (default: your OS user).",
        show_default=False)] = None,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Inspect devices now: collect, apply the rules, print a verdict per device × check.

    Samples go to the embedded store and breached rules open or update fault cases,
    exactly as in the daemon (use --no-store for a look that changes nothing).

    Exit code is the worst status, Nagios style: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN
    (CRIT outranks UNKNOWN, so a known critical is never hidden by an unreachable peer).
    An inventory without devices is UNKNOWN (an empty or truncated file) unless --allow-empty.

    Examples:

      xunjian inspect                          # every device in ./inventory.yaml

      xunjian inspect -d db01 -d db02          # two devices

      xunjian inspect -g oracle --problems     # one group, only what is not OK

      xunjian inspect --record --as zhang.wei  # the daily inspection, kept in the ledger

      xunjian inspect --format json | jq '.results[] | select(.status != "ok")'
    """
    from agent.app import build_pipeline, load_app  # heavy: keep `--help` fast
    from agent.inspection import inspect_devices, record

    if record_run and no_store:
        raise typer.BadParameter("--record keeps a record; --no-store keeps nothing: choose one")
    app = load_app(config, inventory, data_dir)
    if not app.inventory.devices and not allow_empty:
        _no_devices(str(app.inventory.path), fmt)
    devices = app.inventory.select(device, group)
    pipeline = build_pipeline(app, influx=False, record=not no_store)
    progress = Progress(TextColumn("[bold]inspecting"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=err, transient=True, disable=not err.is_terminal)
    with progress:
        task = progress.add_task("", total=sum(len(d.collectors) for d in devices))
        run = inspect_devices(pipeline, devices, app.config.workers, lambda r: progress.update(
            task, advance=1, description=f"{r.device}/{r.collector}"))
    if record_run:
        record(pipeline, run, devices, "cli", actor(who),
               {"devices": list(device or []), "groups": list(group or [])})
    pipeline.close()
    verdicts, started = run.verdicts, run.started_at
    status = worst([v.status for v in verdicts])
    if fmt is Format.json:
        counts = {s.label: sum(v.status is s for v in verdicts) for s in Status}
        print_json({
            "xunjian": __version__, "started_at": iso(started), "finished_at": iso(run.finished_at),
            "run_id": run.run_id,
            "status": status.label, "exit_code": int(status), "summary": counts,
            "results": [v.to_dict() for v in verdicts
                        if not problems or v.status is not Status.OK],
        })
    else:
        _table(verdicts, problems, status)
    raise typer.Exit(int(status))


def _no_devices(path: str, fmt: Format) -> None:
    """Nothing to inspect is not a pass: a truncated inventory must not turn the daily run green."""
    from agent.inventory import EMPTY

    message = f"{path}: {EMPTY}"
    if fmt is Format.json:
        print_json({"xunjian": __version__, "status": Status.UNKNOWN.label,
                    "exit_code": int(Status.UNKNOWN), "message": message, "results": []})
    else:
        err.print(f"xunjian: {message}", markup=False)
        out.print(f"[{STYLE[Status.UNKNOWN]}]UNKNOWN[/]: 0 checks (no devices)")
    raise typer.Exit(int(Status.UNKNOWN))


def _table(verdicts: list[Verdict], problems: bool, status: Status) -> None:
    table = Table(show_lines=False, header_style="bold")
    for col in ("device", "check", "status", "value", "threshold", "message"):
        table.add_column(col, overflow="fold")
    shown = 0
    for v in verdicts:
        if problems and v.status is Status.OK:
            continue
        shown += 1
        check = f"{v.check} {v.instance}".strip()
        value = "" if v.value is None else f"{v.value:g}{v.unit}"
        table.add_row(cell(v.device), cell(check), f"[{STYLE[v.status]}]{v.status.name}[/]", cell(value),
                      cell(v.threshold), cell(v.message, 1000))
    if shown:
        out.print(table)
    counts = ", ".join(f"{sum(v.status is s for v in verdicts)} {s.name}" for s in Status)
    out.print(f"[{STYLE[status]}]{status.name}[/]: {len(verdicts)} checks ({counts})")
