"""CPU usage over SSH needs two /proc/stat reads: the first cycle on a host keeps its read for
the next one instead of sleeping a second for a figure (issue 27), through a real sshd."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agent.connections.ssh import SshConnection
from collectors.linux import CPU_STATE_MAX_AGE, CPU_WINDOW, LinuxCollector, LinuxSettings
from core.model import CommandOutput, Target
from tests.test_ssh_linux import device_for

pytestmark = pytest.mark.peers


class Recording:
    """The real connection, with the commands it was asked to run."""

    def __init__(self, conn: SshConnection) -> None:
        self.conn, self.commands = conn, []  # type: ignore[var-annotated]

    def run(self, command: str, **kwargs: Any) -> CommandOutput:
        self.commands.append(command)
        return self.conn.run(command, **kwargs)


def cycle(conn: Recording, state: dict[str, Any]) -> tuple[list[str], dict[str, Any], str]:
    target = Target("testhost", "server", "127.0.0.1", settings=LinuxSettings(clock=False), state=state)
    samples = LinuxCollector().collect(target, conn)  # type: ignore[arg-type]
    cpu = [s for s in samples if s.measurement == "cpu"]
    return [m.measurement for m in samples], cpu[0].fields if cpu else {}, conn.commands[-1]


def test_first_cycle_keeps_its_read_and_the_next_one_reports_usage(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with SshConnection(device_for(tmp_path, ssh_peer)) as ssh:
        conn = Recording(ssh)
        state: dict[str, Any] = {}
        measurements, cpu, command = cycle(conn, state)
        # a fresh store: no CPU figure, no sleep, and everything else collected as usual
        assert "cpu" not in measurements and cpu == {}
        assert "sleep" not in command and command.count("/proc/stat") == 1
        assert {"disk", "mem", "system"} <= set(measurements)
        assert set(state["cpu"]) >= {"user", "system", "idle"} and state["cpu_at"] <= time.time()

        burn = time.process_time() + 0.2  # some CPU time between the two reads, on this host
        while time.process_time() < burn:
            pass
        measurements, cpu, command = cycle(conn, state)
        assert "sleep" not in command
        assert 0 < cpu["usage_active"] <= 100
        assert abs(sum(v for k, v in cpu.items() if k.startswith("usage_") and k not in
                       ("usage_active", "usage_guest", "usage_guest_nice")) - 100) < 0.1


def test_a_stale_reading_is_not_used_the_cycle_reads_twice(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with SshConnection(device_for(tmp_path, ssh_peer)) as ssh:
        conn = Recording(ssh)
        state: dict[str, Any] = {}
        cycle(conn, state)
        state["cpu_at"] -= CPU_STATE_MAX_AGE + 1  # the last cycle was long ago
        _, cpu, command = cycle(conn, state)
        assert f"sleep {CPU_WINDOW}" in command and command.count("/proc/stat") == 2
        assert 0 <= cpu["usage_active"] <= 100
