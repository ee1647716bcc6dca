"""`xunjian run`: the daemon."""

from __future__ import annotations

import logging
import signal
from typing import Annotated

import typer

from agent.cli.common import ConfigOpt, DataDirOpt, InventoryOpt, err

log = logging.getLogger("xunjian")


def run(
    config: ConfigOpt = None,
    inventory: InventoryOpt = None,
    data_dir: DataDirOpt = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Run one cycle of every job, flush the sinks, and exit.")] = False,
) -> None:
    """Run the agent: every (device, collector) on its interval, to the store and sinks.

    Jobs start spread over their interval (a stable offset per job), never overlap
    themselves, and missed runs are coalesced. SIGTERM or Ctrl-C stops scheduling,
    finishes running jobs, flushes the sinks (what InfluxDB did not take stays in the
    on-disk spool for the next start) and exits 0.

    Examples:

      xunjian run                               # as a service (see the README for systemd)

      xunjian run --once -c /etc/xunjian/xunjian.yaml
    """
    from agent.app import build_pipeline, build_worker, load_app  # heavy: keep `--help` fast
    from agent.scheduler import Daemon, run_once

    app = load_app(config, inventory, data_dir)
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
    daemon = Daemon(app.inventory, pipeline, app.config.workers, hooks=worker)

    def _stop(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        daemon.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    daemon.start()
    daemon.wait()
    daemon.stop()
    log.info("stopped")
