"""The one door to the device: every command a playbook sends is built from quoted
arguments here, run with a timeout, and written to the run's transcript."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.model import CollectionError, CommandOutput

EXCERPT = 2000


class Runs(Protocol):
    def run(self, command: str, timeout: float | None = None) -> CommandOutput: ...


class StepFailed(Exception):
    """A step (or check) did not do what it should; the message says what happened."""


def q(arg: object) -> str:
    return shlex.quote(str(arg))


def argv(args: Sequence[object]) -> str:
    return " ".join(q(a) for a in args)


def timed(args: Sequence[object], seconds: float) -> str:
    """`timeout` on the device too, so a hung program does not outlive its step."""
    return f"timeout -k 5 {int(max(1, seconds))} {argv(args)}"


@dataclass
class Remote:
    conn: Runs
    transcript: list[dict[str, Any]] = field(default_factory=list)
    record: bool = True
    clock: Callable[[], float] = time.monotonic

    def run(self, command: str, timeout: float, check: bool = False) -> CommandOutput:
        started = self.clock()
        try:
            out = self.conn.run(command, timeout=timeout)
        except CollectionError as e:
            self._note(command, None, "", str(e), started)
            raise StepFailed(str(e)) from None
        self._note(command, out.exit_status, out.stdout, out.stderr, started)
        if check and out.exit_status != 0:
            raise StepFailed(f"exit status {out.exit_status}: {(out.stderr or out.stdout).strip()[:300]}")
        return out

    def _note(self, command: str, status: int | None, stdout: str, stderr: str, started: float) -> None:
        if self.record:
            self.transcript.append({"command": command, "exit_status": status,
                                    "stdout": stdout[-EXCERPT:], "stderr": stderr[-EXCERPT:],
                                    "seconds": round(self.clock() - started, 3)})


def poll(what: str, seconds: float, interval: float, probe: Callable[[], bool],
         clock: Callable[[], float] = time.monotonic) -> None:
    """Call `probe` until it returns true; StepFailed after `seconds`."""
    deadline = clock() + seconds
    while True:
        if probe():
            return
        if clock() >= deadline:
            raise StepFailed(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(min(interval, max(0.0, deadline - clock())))
