"""`xunjian status` and `xunjian reload`: ask the running daemon."""

from __future__ import annotations

import typer

from agent.cli.common import ConfigOpt, DataDirOpt, Format, FormatOpt, err, out, print_json


def status(config: ConfigOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Show the running daemon's state: jobs, devices in backoff, lateness, spool, open cases.

    Exit code 0 when it answers, 3 (UNKNOWN) when no daemon answers.

    Examples:

      xunjian status

      xunjian status --format json | jq .backoff
    """
    from agent.config import load_config
    from agent.daemonctl import DaemonNotRunning, fetch_status

    cfg = load_config(config)
    try:
        doc = fetch_status(cfg.daemon.listen)
    except DaemonNotRunning as e:
        err.print(f"xunjian: {e}")
        raise typer.Exit(3) from None
    if fmt is Format.json:
        print_json(doc)
        return
    m = doc.get("metrics", {})
    out.print(f"[bold]xunjian {doc['xunjian']}[/] pid {doc['pid']}, up {m.get('uptime_seconds', 0):.0f} s, "
              f"{doc['devices']} devices, {doc['jobs']} jobs, {doc['reloads']} reloads"
              + ("" if doc.get("sink_c_loop", True) else
                 "; InfluxDB sink on its pure-Python path (no C loop built: see README)"))
    jobs = m.get("jobs", {})
    out.print(f"jobs run {jobs.get('run', 0)}, skipped (overrun) {jobs.get('skipped_overrun', 0)}, "
              f"skipped (backoff) {jobs.get('skipped_backoff', 0)}; lateness p50 "
              f"{m.get('lateness_p50', 0) * 1000:.0f} ms, p99 {m.get('lateness_p99', 0) * 1000:.0f} ms")
    out.print(f"open cases: {m.get('open_cases', {})}; spool: {m.get('spool_batches', {}) or 'none'}")
    for warning in doc.get("calendar_warnings", []):
        err.print(f"warning: {warning}", style="bold yellow", markup=False)
    backoff = doc.get("backoff", {})
    if backoff:
        out.print("devices in backoff:")
        for name, b in sorted(backoff.items()):
            out.print(f"  {name}: {b['failures']} failures, next try in {b['retry_in']:.0f} s")
    else:
        out.print("no device in backoff")


def reload(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Tell the running daemon to re-read its config, inventory and rules (SIGHUP). A broken
    new configuration is refused by the daemon (see its log) and the old one keeps running."""
    from agent.config import load_config
    from agent.daemonctl import DaemonNotRunning, send_reload

    cfg = load_config(config)
    try:
        pid = send_reload(data_dir or cfg.data_dir)
    except DaemonNotRunning as e:
        err.print(f"xunjian: {e}")
        raise typer.Exit(3) from None
    err.print(f"sent SIGHUP to pid {pid}")
