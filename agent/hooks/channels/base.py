"""What a channel is given and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to send: an event of a case, or (storm) several cases' opens at once."""

    key: str  # idempotency key
    kind: str  # the event kind, or "storm" for a grouped message
    payload: dict[str, Any]  # case, event, device, recipients, route (the first case for a storm)
    lang: str
    ticket: Ticket | None = None  # what this channel made for the case before
    group: list[dict[str, Any]] = field(default_factory=list)  # storm: every case's payload

    @property
    def case(self) -> dict[str, Any]:
        return self.payload["case"]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str = ""
    permanent: bool = False  # retrying cannot help (e.g. HTTP 400): dead at once
    ticket: Ticket | None = None


class ChannelBase:
    """What every channel keeps from its settings: name, model, concurrency, timeout, language."""

    def __init__(self, settings: Any, lang: str) -> None:
        self.name: str = settings.name
        self.m = settings.model
        self.concurrency: int = self.m.concurrency
        self.timeout: float = self.m.timeout
        self.lang: str = self.m.lang or lang


class Channel(Protocol):
    name: str
    type: str
    concurrency: int

    def send(self, delivery: Delivery) -> Outcome: ...
