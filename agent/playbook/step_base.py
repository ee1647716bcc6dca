"""What a step is while a playbook runs: its plan, its outcome, the run's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.inventory import Device
from agent.playbook import files as fs
from agent.playbook.model import Step
from agent.playbook.remote import Remote

READ_TIMEOUT = 30.0


@dataclass
class Planned:
    phase: str
    index: int
    step: Step
    title: str
    commands: list[str] = field(default_factory=list)
    files: list[fs.FileEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    skipped: str = ""
    roots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "index": self.index, "type": self.step.type, "title": self.title,
                "timeout": self.step.timeout, "commands": self.commands,
                "files": [f.to_dict() for f in self.files], "notes": self.notes,
                "refusals": self.refusals, "skipped": self.skipped, "roots": self.roots}


@dataclass
class Outcome:
    ok: bool
    message: str
    bytes_freed: dict[str, int] = field(default_factory=dict)  # per root
    files_done: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "bytes_freed": self.bytes_freed,
                "files_done": self.files_done}


@dataclass
class Context:
    device: Device
    remote: Remote
    device_now: float
    poll_interval: float = 0.5
    selections: dict[str, list[fs.FileEntry]] = field(default_factory=dict)
    log_offsets: dict[str, int] = field(default_factory=dict)
