"""`xunjian playbook …`: list, show, plan, apply, history of remediation playbooks."""

from __future__ import annotations

import os
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from agent.cli.common import (
    ConfigOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    InventoryOpt,
    actor,
    err,
    out,
    print_json,
    when,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from agent.config import AgentConfig
    from agent.inventory import Inventory
    from agent.playbook.catalog import Playbook
    from agent.playbook.runner import Request, Runner, RunResult

app = typer.Typer(help="Remediation playbooks: list, show, plan (changes nothing), apply (asks first), "
                  "history.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Playbook name (see `xunjian playbook list`).")]
DirOpt = Annotated[Path | None, typer.Option(
    "--playbooks", help="Directory of your own playbooks (*.yaml). Default: $XUNJIAN_PLAYBOOKS.",
    show_default=False)]
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="The device to work on.")]
ParamOpt = Annotated[list[str] | None, typer.Option(
    "--param", "-p", help="A playbook parameter as name=value (repeatable).", show_default=False)]
ArgOpt = Annotated[list[str] | None, typer.Option(
    "--arg", help="run-command: a parameter of the allow-listed command, name=value (repeatable).",
    show_default=False)]
AsOpt = Annotated[str | None, typer.Option("--as", help="Who does it (default: your OS user name).",
                                           show_default=False)]
VerboseOpt = Annotated[bool, typer.Option("--all-commands", help="Show every per-file command.")]
EXIT = {"planned": 0, "ok": 0, "failed": 1, "aborted": 1, "refused": 2, "busy": 2}


def _catalog(playbooks: Path | None) -> dict[str, Any]:
    from agent.playbook.catalog import load_catalog

    env = os.environ.get("XUNJIAN_PLAYBOOKS")
    return load_catalog(playbooks or (Path(env) if env else None))


def _params(param: list[str] | None, args: list[str] | None) -> dict[str, Any]:
    from core.problems import ConfigError, Problem

    given: dict[str, Any] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError([Problem("command line", f"--param {item}", "name=value expected")])
        given[key.strip()] = value
    if args:
        given["args"] = list(args)
    return given


@app.command("list")
def list_(playbooks: DirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The playbooks there are: built-in and your own."""
    cat = _catalog(playbooks)
    if fmt is Format.json:
        print_json({"playbooks": [{"name": p.name, "description": p.spec.description,
                                   "kinds": p.spec.kinds, "source": p.source} for p in cat.values()]})
        return
    for p in cat.values():
        kinds = ", ".join(p.spec.kinds)
        out.print(f"[bold]{p.name}[/] ({p.source}; {kinds})\n  {escape(p.spec.description)}")


@app.command("show")
def show(name: NameArg, playbooks: DirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """A playbook's parameters, windows and steps."""
    from agent.playbook.catalog import get

    pb = get(_catalog(playbooks), name)
    if fmt is Format.json:
        print_json({"source": pb.source, **pb.spec.model_dump(mode="json")})
        return
    s = pb.spec
    out.print(f"[bold]{s.name}[/] ({pb.source}) — for {', '.join(s.kinds)}\n{escape(s.description)}\n")
    out.print("[bold]parameters[/]")
    for k, p in s.parameters.items():
        extra = "required" if p.required else f"default {p.default!r}"
        out.print(f"  {k} ({p.type}{': ' + '|'.join(p.choices) if p.choices else ''}; {extra}) "
                  f"{escape(p.description)}")
    out.print("[bold]windows[/]: " + (", ".join(w.name for w in s.windows) or "any time"))
    for phase in ("pre_checks", "steps", "post_checks", "recovery"):
        steps = getattr(s, phase)
        if steps:
            out.print(f"[bold]{phase}[/]")
            for i, st in enumerate(steps):
                fields = ", ".join(f"{k}={v}" for k, v in st.items() if k != "type")
                out.print(f"  [{i}] {st['type']}: {escape(fields)}")


def _setup(mode: str, name: str, device: str, param: list[str] | None, args: list[str] | None,
           who: str | None, config: Path | None, inventory: Path | None, data_dir: Path | None,
           playbooks: Path | None, case: str | None = None, force: bool = False,
           reason: str | None = None, plan_id: int | None = None) -> tuple[Runner, Request]:
    from agent.config import load_config
    from agent.inventory import load_inventory
    from agent.store.db import configured_store, open_engine
    from core.problems import ConfigError

    cfg = load_config(config)
    inv = load_inventory(inventory or cfg.inventory, cfg.secrets_file)
    data = data_dir or cfg.data_dir
    engine = open_engine(configured_store(cfg, data_dir))
    catalog = _catalog(playbooks)  # a broken playbook file is a file's problem, not a refusal
    try:
        return _request(name, device, param, args, who, inv, cfg, data, engine, catalog, case, force,
                        reason, plan_id)
    except ConfigError as e:  # refused before any plan: recorded too (README: every refusal)
        from agent.playbook.audit import refusal

        asked: dict[str, Any] = {"param": list(param or []), "arg": list(args or [])}
        n = refusal(engine, actor(who), device, name, mode, asked, "; ".join(e.lines(10)), case)
        err.print(f"xunjian: {mode} refused (audit #{n})", markup=False)
        raise


def _request(name: str, device: str, param: list[str] | None, args: list[str] | None, who: str | None,
             inv: Inventory, cfg: AgentConfig, data: Path, engine: Engine, catalog: dict[str, Playbook],
             case: str | None, force: bool, reason: str | None,
             plan_id: int | None) -> tuple[Runner, Request]:
    from agent.cases.engine import CaseEngine
    from agent.cases.queries import get_case
    from agent.playbook.catalog import bind, get
    from agent.playbook.runner import Request, Runner
    from core.problems import ConfigError, Problem

    dev = inv.select([device])[0]
    given = _params(param, args)
    expected = None
    if plan_id is not None:
        from agent.playbook.audit import history

        rows = history(engine, run_id=plan_id)
        row = rows[0] if rows else None
        if row is None or row["mode"] != "plan" or row["result"] != "planned":
            raise ConfigError([Problem("command line", f"--plan {plan_id}",
                                       "no such successful plan (see `xunjian playbook history`)")])
        if (row["device"], row["playbook"]) != (dev.name, name):
            raise ConfigError([Problem("command line", f"--plan {plan_id}", f"that plan is for "
                                       f"{row['playbook']} on {row['device']}")])
        if given:
            raise ConfigError([Problem("command line", f"--plan {plan_id}", "the plan's parameters are "
                                       "used; give no --param/--arg with --plan")])
        given = {k: v for k, v in row["params"].items() if v is not None}
        expected = row["plan"]
    bound = bind(get(catalog, name), given)
    if case and get_case(engine, case) is None:
        raise ConfigError([Problem("command line", f"--case {case}", "no such case")])
    ce = CaseEngine(engine, cfg.cases, dict(inv.devices))

    def hook(number: str, who_: str, detail: dict[str, Any]) -> None:
        ce.remediation(number, who_, detail)

    runner = Runner(engine, data, cfg.cases.tz, case_hook=hook)
    return runner, Request(bound, dev, actor(who), case=case, force=force, reason=reason, expected=expected)


def _when(ts: float, tz: tzinfo) -> str:
    return when(ts, tz, seconds=True)


def _size(n: int) -> str:
    from agent.remediation import human_bytes

    return human_bytes(n)


def render(res: RunResult, all_commands: bool = False, tz: tzinfo = UTC) -> None:
    """The plan (and, after an apply, what happened) as an engineer reads it."""
    out.print(f"[bold]{res.mode.upper()} {res.playbook}[/] on [bold]{res.device}[/] — "
              f"{_when(res.started_at, tz)}")
    shown = ", ".join(f"{k}={v!r}" for k, v in res.params.items() if v not in (None, [], ""))
    out.print(f"parameters: {escape(shown) or '(none)'}")
    if res.forced_reason:
        out.print(f"[yellow]FORCED outside the playbook's windows[/]: {escape(res.forced_reason)}")
    for p in res.planned:
        head = f"{p.phase}[{p.index}] {p.step.type}: {p.title}"
        if p.skipped:
            out.print(f"\n[dim]{escape(head)} — skipped: {p.skipped}[/]")
            continue
        out.print(f"\n[bold]{escape(head)}[/] (timeout {p.step.timeout:g} s)")
        for note in p.notes:
            out.print(f"  {escape(note)}")
        if p.files and p.step.type in ("compress", "delete"):
            out.print(f"  files ({len(p.files)}, {_size(sum(f.size for f in p.files))}):")
            for f in p.files:
                out.print(f"    {_when(f.mtime, tz)}  {_size(f.size):>10}  {escape(f.path)}", soft_wrap=True)
        limit = len(p.commands) if all_commands else 3
        for c in p.commands[:limit]:
            out.print(f"  $ {escape(c)}", soft_wrap=True)
        if len(p.commands) > limit:
            out.print(f"  … {len(p.commands) - limit} more, one per file in the same form "
                      f"(--all-commands shows them)")
        for r in p.refusals:
            out.print(f"  [red]REFUSED[/]: {escape(r)}")
    if res.outcomes:
        out.print("\n[bold]what happened[/]")
        for o in res.outcomes:
            mark = "[green]ok[/]" if o["ok"] else "[red]FAILED[/]"
            out.print(f"  {mark} {o['phase']}[{o['index']}] {escape(o['title'])} ({o['seconds']} s): "
                      f"{escape(o['message'])}")
    for key, before in res.facts_before.items():
        out.print(f"  {key}: before {before} → after {res.facts_after.get(key)}")
    if res.bytes_freed:
        for root, n in res.bytes_freed.items():
            out.print(f"  freed in {root}: {_size(n)}")
    if res.mode == "plan" and res.result == "planned":
        files = [f for p in res.planned if p.step.type in ("delete", "compress") for f in p.files]
        out.print(f"\n{len(files)} files ({_size(sum(f.size for f in files))}) would be touched; "
                  f"nothing has been changed. Apply exactly this plan with `xunjian playbook apply "
                  f"{res.playbook} --device {res.device} --plan {res.audit_id}`.")


def _finish(res: RunResult, fmt: Format, all_commands: bool, tz: tzinfo = UTC) -> None:
    if fmt is Format.json:
        print_json(res.to_dict())
    else:
        if res.result not in ("busy",) and (res.planned or res.mode == "plan"):
            render(res, all_commands, tz)
        color = "green" if res.result in ("ok", "planned") else "red"
        out.print(f"\n[{color}]{res.result.upper()}[/]: {escape(res.message)} (audit #{res.audit_id})")
    raise typer.Exit(EXIT[res.result])


@app.command("plan")
def plan(name: NameArg, device: DeviceOpt, param: ParamOpt = None, args: ArgOpt = None, who: AsOpt = None,
         config: ConfigOpt = None, inventory: InventoryOpt = None, data_dir: DataDirOpt = None,
         playbooks: DirOpt = None, all_commands: VerboseOpt = False, fmt: FormatOpt = Format.table) -> None:
    """Show exactly what a playbook would do on a device now; change nothing.

    Examples:

      xunjian playbook plan clean-logs -d app01 -p older_than_days=14 -p keep_newest=3

      xunjian playbook plan restart-weblogic -d app01 -p domain=base_domain -p server=ms1

      xunjian playbook plan run-command -d app01 -p command=flush-cache --arg region=east
    """
    runner, req = _setup("plan", name, device, param, args, who, config, inventory, data_dir, playbooks)
    _finish(runner.plan(req), fmt, all_commands, runner.tz)


@app.command("apply")
def apply(name: NameArg, device: DeviceOpt, param: ParamOpt = None, args: ArgOpt = None, who: AsOpt = None,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before acting.")] = False,
          case: Annotated[str | None, typer.Option("--case", help="Record the run on this fault case.",
                                                   show_default=False)] = None,
          force: Annotated[bool, typer.Option("--force", help="Run outside the playbook's windows "
                                              "(needs --reason).")] = False,
          reason: Annotated[str | None, typer.Option("--reason", help="Why it must run now (audited).",
                                                     show_default=False)] = None,
          plan_id: Annotated[int | None, typer.Option("--plan", help="Apply the plan of this `playbook plan` "
                                                      "run (audit #), refusing if the device changed since.",
                                                      show_default=False)] = None,
          config: ConfigOpt = None, inventory: InventoryOpt = None, data_dir: DataDirOpt = None,
          playbooks: DirOpt = None, all_commands: VerboseOpt = False, fmt: FormatOpt = Format.table) -> None:
    """Plan, show the plan, ask, then do exactly that (under the device lock, audited).

    Example: xunjian playbook apply clean-logs -d app01 -p older_than_days=14 --case F-20261122-0007
    """
    runner, req = _setup("apply", name, device, param, args, who, config, inventory, data_dir, playbooks,
                         case, force, reason, plan_id)

    def confirm(res: RunResult) -> bool:
        if yes:
            return True
        if fmt is Format.table:
            render(res, all_commands, runner.tz)
        try:
            return typer.confirm(f"\nApply this plan to {res.device}?", default=False, err=True)
        except typer.Abort:  # no answer (end of input, Ctrl-C): not a yes
            return False

    _finish(runner.apply(req, confirm), fmt, all_commands, runner.tz)


@app.command("history")
def history(device: Annotated[str | None, typer.Option("--device", "-d", help="Only this device.")] = None,
            name: Annotated[str | None, typer.Option("--playbook", help="Only this playbook.")] = None,
            limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")] = 50,
            config: ConfigOpt = None, data_dir: DataDirOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The audit trail: every plan and apply, newest first."""
    from agent.config import load_config
    from agent.playbook.audit import history as runs
    from agent.store.db import configured_store, open_engine

    cfg = load_config(config)
    rows = runs(open_engine(configured_store(cfg, data_dir)), device, name, limit)
    if fmt is Format.json:
        print_json({"runs": rows})
        return
    if not rows:
        out.print("no playbook runs recorded")
        return
    for r in rows:
        extra = f", {_size(r['bytes_freed'])} freed" if r["bytes_freed"] else ""
        case = f", case {r['case_number']}" if r["case_number"] else ""
        forced = f", FORCED: {r['forced_reason']}" if r["forced_reason"] else ""
        out.print(f"#{r['id']} {_when(r['started_at'], cfg.cases.tz)} {r['mode']} {r['playbook']} "
                  f"on {r['device']} by {r['actor']}: {r['result']} "
                  f"({r['duration']:.1f} s{extra}{case}{escape(forced)}) {escape(r['message'])}")
