"""The domain's plain data: samples, results, verdicts, cases.

Everything here is serialisable and free of I/O so that collectors, checks and
reports can share it without importing each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Protocol


class Status(IntEnum):
    """Nagios-compatible status; the value is the exit code."""

    OK = 0
    WARN = 1
    CRIT = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Status:
        return cls[text.upper()]


def worst(statuses: list[Status]) -> Status:
    """The status an ad hoc check exits with: UNKNOWN outranks CRIT only when nothing is CRIT.

    Nagios plugins rank CRIT above UNKNOWN for the exit code; we follow that so a
    known critical disk is never hidden behind an unreachable neighbour.
    """
    if not statuses:
        return Status.OK
    if Status.CRIT in statuses:
        return Status.CRIT
    if Status.UNKNOWN in statuses:
        return Status.UNKNOWN
    return max(statuses)


def now_ns() -> int:
    return time.time_ns()


@dataclass(frozen=True, slots=True)
class Sample:
    """One InfluxDB point. `time` is nanoseconds since the epoch."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | str | bool]
    time: int
    # The raw output this sample's values came from (a df row, the meminfo lines, a sqlplus
    # record, the matching log entries): the evidence of the verdicts judged on it. Never sent
    # to a metrics sink; short and free of secrets.
    excerpt: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "measurement": self.measurement,
            "tags": dict(self.tags),
            "fields": dict(self.fields),
            "time": self.time,
        }
        if self.excerpt:
            out["excerpt"] = self.excerpt
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        return cls(d["measurement"], dict(d["tags"]), dict(d["fields"]), int(d["time"]),
                   str(d.get("excerpt", "")))


@dataclass(frozen=True, slots=True)
class Job:
    """What the scheduler hands the executor: plain, serialisable, no live objects."""

    device: str
    collector: str
    params: dict[str, Any] = field(default_factory=dict)
    tick: float = 0.0  # the scheduled time (epoch seconds); 0 for an ad hoc run
    # For a job run in another process: the device as plain data (kind, address, port, the
    # ssh settings and the collector's settings, secrets as references — agent/jobs.py), and
    # the collector's memory. Empty/None when the executor has the inventory and the store.
    target: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "collector": self.collector, "params": dict(self.params),
                "tick": self.tick, "target": dict(self.target), "state": self.state}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        return cls(str(d["device"]), str(d["collector"]), dict(d.get("params") or {}),
                   float(d.get("tick") or 0.0), dict(d.get("target") or {}), d.get("state"))


@dataclass(slots=True)
class Result:
    """The outcome of one collector run on one device.

    A failed collection carries no samples, status UNKNOWN and the reason: it is
    never mistaken for a pass.
    """

    device: str
    collector: str
    status: Status
    samples: list[Sample] = field(default_factory=list)
    reason: str = ""
    started_at: float = 0.0
    duration: float = 0.0
    evidence: str = ""  # a short excerpt of raw output, for reports
    state: dict[str, Any] | None = None  # the collector's new memory, saved when recorded
    # The device's connection (SSH): "" when the collector opens none, "ok" when it was made,
    # else why not (unreachable, host key, login): a fault of the device, not of the collector.
    connect: str = ""

    @property
    def collected(self) -> bool:
        return self.status is not Status.UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "collector": self.collector, "status": self.status.label,
                "samples": [s.to_dict() for s in self.samples], "reason": self.reason,
                "started_at": self.started_at, "duration": self.duration,
                "evidence": self.evidence, "state": self.state, "connect": self.connect}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        return cls(str(d["device"]), str(d["collector"]), Status.parse(d["status"]),
                   [Sample.from_dict(s) for s in d.get("samples") or []], str(d.get("reason", "")),
                   float(d.get("started_at") or 0.0), float(d.get("duration") or 0.0),
                   str(d.get("evidence", "")), d.get("state"), str(d.get("connect", "")))


@dataclass(slots=True)
class Verdict:
    """A check's judgement of one device (and instance, e.g. a filesystem)."""

    device: str
    check: str
    status: Status
    instance: str = ""
    value: float | None = None
    unit: str = ""
    threshold: str = ""
    message: str = ""
    collected_at: float = 0.0
    level: int | None = None  # fault level (1/2/3) this verdict maps to, if not OK
    flapping: bool = False  # the status changed too often lately; it holds the worst one
    since: float | None = None  # when the current status began (before any `for:` delay)
    evidence: str = ""  # the raw excerpt of the sample judged (Sample.excerpt), for the record

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "check": self.check,
            "instance": self.instance,
            "status": self.status.label,
            "value": self.value,
            "unit": self.unit,
            "threshold": self.threshold,
            "message": self.message,
            "collected_at": iso(self.collected_at),
            "evidence": self.evidence,
        }


def iso(ts: float) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class CollectionError(Exception):
    """A collector could not get facts; the message is the reason shown to people."""


@dataclass(slots=True)
class Case:
    """A fault case (故障单) as stored."""

    id: int
    number: str
    device: str
    check: str
    instance: str
    level: int
    opened_level: int
    status: str  # open | acknowledged | resolved | closed
    severity: str  # warn | crit | unknown (the latest verdict)
    opened_at: float
    updated_at: float
    policy: str = "default"
    response_due: float | None = None
    repair_due: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    response_breached: bool = False
    repair_breached: bool = False
    paused_at: float | None = None
    paused_seconds: float = 0.0
    resolved_at: float | None = None
    resolved_by: str | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    assignee: str | None = None
    flapping: bool = False
    suppressed_by: str | None = None
    fault_type: str = ""
    cause: str = ""
    handling: str = ""
    loss: str = ""
    last_value: float | None = None
    threshold: str = ""
    message: str = ""
    source: str = "rule"  # rule | person (reported by phone, mail, web, on site)
    category: str = ""
    request_class: str = "fault"  # or a class of the SLA policy: consultation, suggestion, change…

    @property
    def is_open(self) -> bool:
        return self.status in ("open", "acknowledged")

    def to_dict(self) -> dict[str, Any]:
        times = ("opened_at", "updated_at", "response_due", "repair_due", "acknowledged_at",
                 "paused_at", "resolved_at", "closed_at")
        out: dict[str, Any] = {}
        for f in self.__slots__:  # type: ignore[attr-defined]
            if f == "id":
                continue
            v = getattr(self, f)
            out["check" if f == "check" else f] = iso(v or 0) if f in times else v
        return out


@dataclass(frozen=True, slots=True)
class Target:
    """What a collector may know about the device it collects from."""

    name: str
    kind: str
    address: str
    params: dict[str, Any] = field(default_factory=dict)
    # The validated `settings.<collector>` model from the inventory, or None.
    settings: Any = None
    port: int = 0
    # The collector's memory from its last successful cycle on this device (log
    # positions, counters, boot time). Mutate it in place; it is saved with the result.
    state: dict[str, Any] = field(default_factory=dict)
    # Raw-output excerpts the values came from (a df line per filesystem…), for the
    # inspection record's evidence. Append to it; keep it short and free of secrets.
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CommandOutput:
    command: str
    exit_status: int
    stdout: str
    stderr: str


class CommandRunner(Protocol):
    """A live connection that runs shell commands (SSH today)."""

    def run(self, command: str, input: str | None = None, *, what: str | None = None) -> CommandOutput:
        """`what` names the command in a failure's reason ("linux health batch"); without it
        the reason quotes the command's first words, never a whole generated script."""
        ...
