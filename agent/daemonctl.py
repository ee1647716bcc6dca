"""Talking to a running daemon: its pid file (for `xunjian reload`) and its /status endpoint
(for `xunjian status`)."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class DaemonNotRunning(Exception):
    """The message says what was tried."""


def pid_path(data_dir: Path) -> Path:
    return data_dir / "xunjian.pid"


def send_reload(data_dir: Path) -> int:
    path = pid_path(data_dir)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        raise DaemonNotRunning(f"no daemon pid in {path} (is `xunjian run` running with this data dir?)") \
            from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise DaemonNotRunning(f"pid {pid} from {path} is not running (stale pid file)") from None
    return pid


def fetch_status(listen: str, timeout: float = 5.0) -> dict[str, Any]:
    if listen == "off":
        raise DaemonNotRunning("daemon.listen is off in the config: no status endpoint")
    host, _, port = listen.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{host}:{port}/status"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))  # type: ignore[no-any-return]
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DaemonNotRunning(f"no daemon answering at {url}: {reason}") from None
