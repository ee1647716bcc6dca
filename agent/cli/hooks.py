"""`xunjian hooks …`: the outbox — list, retry, deliver now, send a test message."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, err, out, print_json, when

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent.config import AgentConfig

app = typer.Typer(help="Hooks: the outbox of case events for webhooks, e-mail, scripts and ticketing.",
                  no_args_is_help=True)




def _open(config: object, data_dir: object) -> tuple[AgentConfig, Engine]:
    from pathlib import Path

    from agent.config import load_config
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config if isinstance(config, Path) else None)
    return cfg, open_engine(configured_store(cfg, data_dir if isinstance(data_dir, Path) else None))


@app.command("list")
def list_(config: ConfigOpt = None, data_dir: DataDirOpt = None,
          dead: Annotated[bool, typer.Option("--dead", help="Only items that gave up (retry them with "
                                             "`xunjian hooks retry ID`).")] = False,
          status: Annotated[str | None, typer.Option("--status", "-s", help="pending, done, dead or "
                                                     "cancelled.")] = None,
          case: Annotated[str | None, typer.Option("--case", help="Only this case's items.")] = None,
          fmt: FormatOpt = Format.table) -> None:
    """List outbox items, newest 200 (oldest first).

    Examples:

      xunjian hooks list --dead

      xunjian hooks list --case F-20261122-0007 --format json
    """
    from agent.hooks.outbox import list_items

    cfg, engine = _open(config, data_dir)
    items = list_items(engine, "dead" if dead else status, case)
    if fmt is Format.json:
        print_json({"items": [i.to_dict() for i in items]})
        return
    if not items:
        out.print("no dead items" if dead else "no items")
        return
    table = Table(header_style="bold")
    for col in ("id", "case", "event", "channel", "status", "tries", "created", "next / done", "error"):
        table.add_column(col, overflow="fold")
    for i in items:
        table.add_row(str(i.id), i.case_number, f"#{i.seq} {i.kind}", i.channel, i.status, str(i.attempts),
                      when(i.created_at, cfg.cases.tz, True),
                      when(i.done_at if i.status == "done" else i.next_at, cfg.cases.tz, True),
                      i.last_error, )
    out.print(table)


@app.command("retry")
def retry(item: Annotated[int, typer.Argument(help="Outbox item id (see `xunjian hooks list --dead`).")],
          config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Send a dead item again: pending now, with a fresh give-up clock. The daemon (or `hooks deliver`)
    sends it; its idempotency key is the same, so no duplicate ticket is made."""
    from agent.hooks.outbox import retry_item

    _, engine = _open(config, data_dir)
    found = retry_item(engine, item, time.time())
    if found is None:
        err.print(f"xunjian: no outbox item {item}")
        raise typer.Exit(2)
    out.print(f"item {found.id} ({found.case_number} #{found.seq} {found.kind} → {found.channel}): "
              f"{found.status}")


@app.command("deliver")
def deliver(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Send what is due now, once (the daemon does this on its own). Exit 1 if something failed."""
    from agent.hooks.channels import build_channels
    from agent.hooks.worker import Worker

    cfg, engine = _open(config, data_dir)
    if not cfg.hooks.channels:
        err.print("xunjian: no hooks.channels in the config")
        raise typer.Exit(2)
    stats = Worker(engine, cfg.hooks, build_channels(cfg.hooks)).drain()
    out.print(f"{stats.sent} sent ({stats.grouped} cases in grouped messages), {stats.failed} to retry, "
              f"{stats.dead} dead")
    for e in stats.errors:
        err.print(f"xunjian: {e}", markup=False)
    if stats.failed or stats.dead:
        raise typer.Exit(1)


@app.command("test")
def test(channel: Annotated[str, typer.Argument(help="A channel name under hooks.channels.")],
         config: ConfigOpt = None) -> None:
    """Send a test message through a channel now (not through the outbox) and report the outcome.

    Example: xunjian hooks test dingtalk-noc
    """
    from agent.config import load_config
    from agent.hooks.channels import build_channel
    from agent.hooks.testmsg import test_delivery

    cfg = load_config(config)
    if channel not in cfg.hooks.channels:
        known = ", ".join(sorted(cfg.hooks.channels)) or "none defined"
        err.print(f"xunjian: no channel {channel!r} (channels: {known})")
        raise typer.Exit(2)
    ch = build_channel(cfg.hooks.channels[channel], cfg.hooks.lang)
    t0 = time.monotonic()
    outcome = ch.send(test_delivery(getattr(ch, "lang", cfg.hooks.lang), time.time()))
    ms = (time.monotonic() - t0) * 1000
    if outcome.ok:
        extra = f", ticket {outcome.ticket.id}" if outcome.ticket else ""
        out.print(f"{channel}: delivered in {ms:.0f} ms{extra}")
        return
    from core.redaction import redact

    err.print(f"xunjian: {channel}: not delivered: {redact(outcome.error)}", markup=False)
    raise typer.Exit(1)
