"""`xunjian run` under signals at random moments: it always stops, in time, with exit code 0.

A signal handler that takes a lock can deadlock the thread it interrupts (seen: SIGTERM while
the main loop held the stop Event's lock hung the daemon for ever), so bursts of signals are
sent while the main loop is waking up, during start-up, during a reload and during the stop.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import XUNJIAN
from tests.peers import wait_until

STOP_TIMEOUT = 15.0  # Daemon.stop's own budget
ROUNDS = 14


def handlers_installed(pid: int) -> bool:
    """True once the process catches SIGTERM and SIGHUP (bits in /proc/PID/status SigCgt):
    from then on a signal is the daemon's to handle, not the default action's."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = int(next(line.split()[1] for line in text.splitlines() if line.startswith("SigCgt:")), 16)
    want = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGHUP - 1))
    return caught & want == want


def _burst(pid: int, sig: signal.Signals, n: int) -> None:
    for _ in range(n):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return


def _scenario(rng: random.Random, pid: int) -> str:
    """Signals at a random moment; the last one asks to stop. Returns what was done."""
    kind = rng.choice(["single", "term-burst", "hup-then-term", "int-burst", "mixed"])
    time.sleep(rng.uniform(0.0, 1.5))  # a random moment: start-up, a cycle, or the idle wait
    if kind == "single":
        sig = rng.choice([signal.SIGTERM, signal.SIGINT])
        os.kill(pid, sig)
    elif kind == "term-burst":
        _burst(pid, signal.SIGTERM, rng.randint(20, 300))
    elif kind == "int-burst":
        _burst(pid, signal.SIGINT, rng.randint(20, 300))
    elif kind == "hup-then-term":
        _burst(pid, signal.SIGHUP, rng.randint(5, 100))
        time.sleep(rng.uniform(0.0, 0.3))
        _burst(pid, signal.SIGTERM, rng.randint(1, 50))
    else:
        for _ in range(rng.randint(50, 400)):
            try:
                os.kill(pid, rng.choice([signal.SIGHUP, signal.SIGHUP, signal.SIGTERM, signal.SIGINT]))
            except ProcessLookupError:
                break
        _burst(pid, signal.SIGTERM, 5)
    return kind


@pytest.mark.timeout(600)
def test_signals_at_random_moments_always_stop_in_time(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n  - {name: here, collectors: [local], interval: 1}\n")
    (tmp_path / "xunjian.yaml").write_text(
        "data_dir: var\ninventory: inventory.yaml\ndaemon: {listen: 'off'}\n")
    seed = int(os.environ.get("XJ_SIGNAL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    for round_ in range(ROUNDS):
        out = tmp_path / f"round{round_}.log"
        with out.open("w") as log:
            proc = subprocess.Popen([XUNJIAN, "run", "-c", "xunjian.yaml"], cwd=tmp_path,
                                    stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda p=proc: handlers_installed(p.pid) or p.poll() is not None, timeout=30,
                       what="the daemon's signal handlers")
            kind = _scenario(rng, proc.pid)
            t0 = time.monotonic()
            try:
                rc = proc.wait(timeout=STOP_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                pytest.fail(f"seed {seed}, round {round_} ({kind}): still running "
                            f"{STOP_TIMEOUT + 5:.0f} s after the stop signal\n{out.read_text()[-3000:]}")
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = out.read_text()
        assert rc == 0, f"seed {seed}, round {round_} ({kind}): exit {rc}\n{text[-3000:]}"
        assert "Traceback" not in text, f"seed {seed}, round {round_} ({kind})\n{text[-3000:]}"
        assert took < STOP_TIMEOUT, f"seed {seed}, round {round_} ({kind}): took {took:.1f} s"
        assert not (tmp_path / "var" / "xunjian.pid").exists()
