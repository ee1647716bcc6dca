"""The `xunjian` command.

Each command's module is imported when that command runs (or when `--help` lists them), not
at start: `xunjian --version` or `xunjian cases list` must not pay for the report renderers,
the SNMP engine or netmiko (bench/bench_startup.py, tests/test_startup.py).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

from agent import __version__

# name → (module, attribute): a command function or a sub-app, in the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("agent.cli.inspect", "inspect"),
    "run": ("agent.cli.run", "run"),
    "sla": ("agent.cli.sla", "sla"),
    "availability": ("agent.cli.availability", "availability"),
    "ports": ("agent.cli.ports", "ports"),
    "status": ("agent.cli.status", "status"),
    "reload": ("agent.cli.status", "reload"),
    "inventory": ("agent.cli.inventory", "app"),
    "cases": ("agent.cli.cases", "app"),
    "duty": ("agent.cli.duty", "app"),
    "plans": ("agent.cli.plans", "app"),
    "assets": ("agent.cli.assets", "app"),
    "report": ("agent.cli.report", "app"),
    "playbook": ("agent.cli.playbook", "app"),
    "hooks": ("agent.cli.hooks", "app"),
    "db": ("agent.cli.db", "app"),
}


def load_command(name: str) -> Any:
    """The click command for one top-level name, its module imported now: what
    `app.command(name)(function)` or `app.add_typer(sub_app, name=name)` would have built."""
    module, attr = COMMANDS[name]
    target = getattr(importlib.import_module(module), attr)
    if isinstance(target, typer.Typer):
        _short_helps(target)
        group = get_group(target)
        group.name = name
        return group
    info = CommandInfo(name=name, callback=target)
    _short_help(info)
    return get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                 rich_markup_mode=app.rich_markup_mode)


class LazyGroup(TyperGroup):
    """The root group: lists every command, imports one only when it is looked up."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except Exception as e:  # a UsageError: "did you mean" over the names not loaded yet too
            message = getattr(e, "message", None)
            if args and isinstance(message, str) and "Did you mean" not in message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    e.message = (f"{message.rstrip('.')}. Did you mean "  # type: ignore[attr-defined]
                                 f"{', '.join(repr(m) for m in matches)}?")
            raise


app = typer.Typer(
    name="xunjian",
    cls=LazyGroup,
    help="xunjian (巡检): inspect servers and network devices, keep fault cases, report.\n\n"
    "Start with `xunjian inventory check`, then `xunjian inspect`; run the agent with "
    "`xunjian run`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _short_help(cmd: CommandInfo) -> None:
    """Give a command a one-line summary for the command lists: rich keeps the hard line
    breaks of a docstring's first paragraph, which reads as ragged text in `--help`."""
    if cmd.short_help is None and cmd.callback and cmd.callback.__doc__:
        from inspect import cleandoc

        first = cleandoc(cmd.callback.__doc__).split("\n\n")[0]
        cmd.short_help = " ".join(first.split())


def _short_helps(group: typer.Typer) -> None:
    for cmd in group.registered_commands:
        _short_help(cmd)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _short_helps(sub.typer_instance)


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
    from agent.cli.common import setup_logging

    setup_logging(level)


def main() -> None:
    try:
        app(prog_name="xunjian")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        # Imported here: printing an error is the only use, and start-up stays light.
        from agent.cli.common import err
        from core.problems import ConfigError
        from core.redaction import redact

        if isinstance(e, ConfigError):
            for line in e.lines():  # the first 50, then how many more
                err.print(f"xunjian: {redact(line)}", markup=False)
            n = len(e.problems)
            err.print(f"xunjian: {n} problem{'s' if n != 1 else ''} found", markup=False)
            sys.exit(2)
        # a bug: say so briefly; -vv shows where
        logging.getLogger("xunjian").debug("internal error", exc_info=True)
        err.print(f"xunjian: internal error: {type(e).__name__}: {redact(str(e))} (run with -vv for details)",
                  markup=False)
        sys.exit(3)
