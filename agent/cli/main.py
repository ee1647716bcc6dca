"""The `xunjian` command."""

from __future__ import annotations

import inspect as inspect_mod
import logging
import sys
from typing import Annotated

import typer

from agent import __version__
from agent.cli import assets, cases, hooks, inventory, playbook, report
from agent.cli.common import err, setup_logging
from agent.cli.inspect import inspect
from agent.cli.ports import ports
from agent.cli.run import run
from agent.cli.sla import sla
from agent.cli.status import reload, status
from agent.problems import ConfigError

app = typer.Typer(
    name="xunjian",
    help="xunjian (巡检): inspect servers and network devices, keep fault cases, report.\n\n"
    "Start with `xunjian inventory check`, then `xunjian inspect`; run the agent with "
    "`xunjian run`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("inspect")(inspect)
app.command("run")(run)
app.command("sla")(sla)
app.command("ports")(ports)
app.command("status")(status)
app.command("reload")(reload)
app.add_typer(inventory.app, name="inventory")
app.add_typer(cases.app, name="cases")
app.add_typer(assets.app, name="assets")
app.add_typer(report.app, name="report")
app.add_typer(playbook.app, name="playbook")
app.add_typer(hooks.app, name="hooks")


def _short_helps(group: typer.Typer) -> None:
    """Give every command a one-line summary for the command lists: rich keeps the hard line
    breaks of a docstring's first paragraph, which reads as ragged text in `--help`."""
    for cmd in group.registered_commands:
        if cmd.short_help is None and cmd.callback and cmd.callback.__doc__:
            first = inspect_mod.cleandoc(cmd.callback.__doc__).split("\n\n")[0]
            cmd.short_help = " ".join(first.split())
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _short_helps(sub.typer_instance)


_short_helps(app)


def _version(value: bool) -> None:
    if value:
        print(f"xunjian {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="More log output on stderr (-vv: debug).")] = 0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    if len(sys.argv) > 1 and "run" in sys.argv[1:3] and verbose == 0:
        level = logging.INFO  # the daemon says what it does
    setup_logging(level)


def main() -> None:
    try:
        app(prog_name="xunjian")
    except ConfigError as e:
        for p in e.problems:
            err.print(f"xunjian: {p}", markup=False)
        n = len(e.problems)
        err.print(f"xunjian: {n} problem{'s' if n != 1 else ''} found", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # a bug: say so briefly; -vv shows where
        logging.getLogger("xunjian").debug("internal error", exc_info=True)
        err.print(f"xunjian: internal error: {type(e).__name__}: {e} (run with -vv for details)",
                  markup=False)
        sys.exit(3)
