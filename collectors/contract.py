"""The collector contract: what a collector declares, what it is given, what it returns.

A collector is a class with
- `settings_model`: the pydantic model of the device's `settings.<name>:` section, or None
  when it takes none. It is validated once, when the inventory loads. A model with required
  fields makes the section required (found at load, not every cycle); otherwise a device
  without the section gets the model's defaults — `ctx.settings` is never None when there
  is a model.
- `collect(ctx, conn) -> Collected`: facts from one device, once. `ctx` is plain data (the
  device's address, the validated settings, the memory of the last successful cycle…);
  `conn` is the live connection of its transport, leased by the executor (a CommandRunner
  for "ssh", None for transports the collector opens itself). It returns samples, the raw
  excerpts they came from, and its new memory, as values: it never mutates what it was
  given. A CollectionError's message is the reason people read (the result is UNKNOWN).

Its registration — name, transport, description, where the class lives — is one line in
collectors/__init__.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from core.model import Sample

if TYPE_CHECKING:
    from pydantic import BaseModel

Transport = Literal["local", "ssh", "snmp", "netcli", "http", "probe"]
# Transports whose connection the executor leases and hands to `collect`; the others open
# their own (an HTTP request, a probe) or need none.
LEASED: frozenset[str] = frozenset({"ssh"})

S = TypeVar("S")
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Context(Generic[S]):
    """What a collector may know about the device and the run."""

    device: str
    kind: str
    address: str
    port: int = 0
    settings: S = None  # type: ignore[assignment]  # the validated model (defaults when absent)
    params: Mapping[str, Any] = field(default_factory=dict)
    # The memory of the last successful cycle on this device (log positions, counters, boot
    # time): read it, return the new one in Collected.state.
    state: Mapping[str, Any] = field(default_factory=dict)
    tick: float = 0.0  # the scheduled time of this run (epoch seconds), 0 for ad hoc runs


@dataclass(slots=True)
class Collected:
    """A collection's outcome as values."""

    samples: list[Sample]
    # Raw-output excerpts the values came from (a df line per filesystem…), for the
    # inspection record's evidence: short and free of secrets.
    evidence: list[str] = field(default_factory=list)
    # The memory to keep for the next cycle; None keeps none. Saved only with a recorded,
    # successful collection.
    state: dict[str, Any] | None = None


class Collector(ABC, Generic[S, C]):
    """Base of every collector (S: its settings model, C: its connection type)."""

    settings_model: ClassVar[type[BaseModel] | None] = None

    @abstractmethod
    def collect(self, ctx: Context[S], conn: C) -> Collected:
        """Facts from one device, once; raise CollectionError with a reason on failure."""


def settings_required(model: type[BaseModel] | None) -> bool:
    """A model with a required field cannot be made from defaults: the section must be given."""
    return model is not None and any(f.is_required() for f in model.model_fields.values())
