"""`xunjian inspect`: collect now, judge, print; exit with the worst status (Nagios)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent import __version__
from agent.cli.common import (
    ConfigOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    InventoryOpt,
    err,
    out,
    print_json,
)
from agent.model import Job, Status, Verdict, iso, worst

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
) -> None:
    """Inspect devices now: collect, apply the rules, print a verdict per device × check.

    Samples go to the embedded store and breached rules open or update fault cases,
    exactly as in the daemon (use --no-store for a look that changes nothing).

    Exit code is the worst status, Nagios style: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN
    (CRIT outranks UNKNOWN, so a known critical is never hidden by an unreachable peer).

    Examples:

      xunjian inspect                          # every device in ./inventory.yaml

      xunjian inspect -d db01 -d db02          # two devices

      xunjian inspect -g oracle --problems     # one group, only what is not OK

      xunjian inspect --format json | jq '.results[] | select(.status != "ok")'
    """
    from agent.app import build_pipeline, load_app  # heavy: keep `--help` fast
    from agent.executor import Executor

    app = load_app(config, inventory, data_dir)
    devices = app.inventory.select(device, group)
    pipeline = build_pipeline(app, influx=False, record=not no_store)
    executor = Executor(pipeline.load_state)
    todo = [(d, Job(d.name, c)) for d in devices for c in d.collectors]
    started = time.time()
    verdicts: list[Verdict] = []
    progress = Progress(TextColumn("[bold]inspecting"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=err, transient=True, disable=not err.is_terminal)
    with progress, ThreadPoolExecutor(max_workers=max(1, min(app.config.workers, len(todo) or 1))) as pool:
        task = progress.add_task("", total=len(todo))
        futures = {pool.submit(executor.run, job, d): job for d, job in todo}
        for fut in as_completed(futures):
            result = fut.result()
            verdicts += pipeline.handle(result)
            progress.update(task, advance=1, description=f"{result.device}/{result.collector}")
    pipeline.tick()  # case clocks: escalate what is overdue, raise what a window held
    pipeline.close()
    verdicts.sort(key=lambda v: (v.device, not v.check.startswith("collect."), v.check, v.instance))
    status = worst([v.status for v in verdicts])
    if fmt is Format.json:
        counts = {s.label: sum(v.status is s for v in verdicts) for s in Status}
        print_json({
            "xunjian": __version__, "started_at": iso(started), "finished_at": iso(time.time()),
            "status": status.label, "exit_code": int(status), "summary": counts,
            "results": [v.to_dict() for v in verdicts
                        if not problems or v.status is not Status.OK],
        })
    else:
        _table(verdicts, problems, status)
    raise typer.Exit(int(status))


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
        table.add_row(v.device, check, f"[{STYLE[v.status]}]{v.status.name}[/]", value,
                      v.threshold, v.message)
    if shown:
        out.print(table)
    counts = ", ".join(f"{sum(v.status is s for v in verdicts)} {s.name}" for s in Status)
    out.print(f"[{STYLE[status]}]{status.name}[/]: {len(verdicts)} checks ({counts})")
