"""`xunjian run`: the daemon."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from agent.cli.common import AllowEmptyOpt, ConfigOpt, DataDirOpt, InventoryOpt, err, setup_logging
from agent.daemonctl import pid_path

log = logging.getLogger("xunjian")


def run(
    config: ConfigOpt = None,
    inventory: InventoryOpt = None,
    data_dir: DataDirOpt = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Run one cycle of every job, flush the sinks, and exit.")] = False,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Run the agent: every (device, collector) on its interval, to the store and sinks.

    Jobs start spread over their interval (a stable offset per job), never overlap
    themselves, and missed runs are coalesced. SIGTERM or Ctrl-C stops scheduling,
    finishes running jobs, flushes the sinks (what InfluxDB did not take stays in the
    on-disk spool for the next start) and exits 0. SIGHUP (or `xunjian reload`) re-reads
    the config, inventory and rules; a broken new configuration is refused with its
    problems logged and the old one keeps running. The agent's own metrics are served on
    http://127.0.0.1:9108/metrics (and /healthz, /status) unless `daemon.listen: off`.
    An inventory without devices is refused at start and at reload (an empty or truncated
    file) unless --allow-empty; with it, the daemon logs a warning at each start and reload.

    Examples:

      xunjian run                               # as a service (see the README for systemd)

      xunjian run --once -c /etc/xunjian/xunjian.yaml
    """
    from agent.signals import SignalInbox

    signals = SignalInbox()
    if not once:  # first: a stop asked for during start-up is a stop, a SIGHUP is not fatal
        signals.install()
    from agent.app import App, build_background, build_pipeline, build_worker, load_app  # heavy
    from agent.inventory import require_devices
    from agent.scheduler import Daemon, run_once

    def load(reloading: bool = False) -> App:
        loaded = load_app(config, inventory, data_dir, engine=app.engine if reloading else None)
        if not loaded.inventory.devices:
            if not allow_empty:
                require_devices(loaded.inventory)  # a truncated file: refuse to start or reload
            log.warning("%s has no devices (--allow-empty): nothing will be collected",
                        loaded.inventory.path)
        return loaded

    app = load()
    worker = build_worker(app)
    pipeline = build_pipeline(app, influx=True, worker=worker)
    if once:
        n = run_once(app.inventory, pipeline, app.config.workers)
        pipeline.close(timeout=30.0)
        if worker is not None:
            stats = worker.drain()
            err.print(f"hooks: {stats.sent} sent, {stats.failed} to retry, {stats.dead} dead")
        err.print(f"ran {n} jobs on {len(app.inventory.devices)} devices")
        return
    if app.config.daemon.log_format == "json":
        setup_logging(logging.getLogger().level, json_lines=True)
    daemon = Daemon(app.inventory, pipeline, app.config.workers, app.config.inspections,
                    settings=app.config.daemon, pid_file=pid_path(app.config.data_dir),
                    loader=lambda: load(reloading=True),
                    hooks=build_background(app, worker))
    daemon.start()
    daemon.wait(signals)
    daemon.stop()
    signals.ignore()
    log.info("stopped")
