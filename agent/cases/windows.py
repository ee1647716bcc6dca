"""Maintenance windows and heightened-watch periods (重要时刻值守), and who they apply to.

A window is one-off (`start`/`end`) or recurring (`every: daily|weekly|monthly` with
`at` and `duration`, plus `days` for weekly/monthly), in the configured time zone.
Scope: `devices`, `groups`, `sites` (the device's `site` label); empty scope = all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.cases.sla import parse_duration
from core.problems import shorten

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeviceLike(Protocol):
    name: str
    groups: tuple[str, ...]
    labels: dict[str, str]


def _when(text: Any) -> datetime:
    if isinstance(text, datetime):
        return text
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"a date and time like 2026-12-01 22:00, got {shorten(text)}") from None


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    devices: list[str] = []
    groups: list[str] = []
    sites: list[str] = []

    def covers(self, device: DeviceLike | None, name: str) -> bool:
        if not (self.devices or self.groups or self.sites):
            return True
        if name in self.devices:
            return True
        if device is None:
            return False
        return bool(set(device.groups) & set(self.groups)) or device.labels.get("site") in self.sites


class WindowSpec(Scope):
    name: str = Field(min_length=1)
    start: str | None = None
    end: str | None = None
    every: Literal["daily", "weekly", "monthly"] | None = None
    days: list[str | int] = []
    at: str | None = None
    duration: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _moment(cls, v: Any) -> str | None:
        if v is None:
            return v
        _when(v)
        return str(v)

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                datetime.strptime(v, "%H:%M")
            except ValueError:
                raise ValueError(f"a time of day like 02:00, got {shorten(v)}") from None
        return v

    @model_validator(mode="after")
    def _shape(self) -> WindowSpec:
        if self.every is None:
            if not (self.start and self.end):
                raise ValueError("a one-off window needs start and end; a recurring one needs "
                                 "every, at and duration")
            if _when(self.end) <= _when(self.start):
                raise ValueError("end must be after start")
            return self
        if not (self.at and self.duration):
            raise ValueError(f"a window `every: {self.every}` needs at and duration")
        for d in self.days:
            if self.every == "weekly" and str(d).lower()[:3] not in WEEKDAYS:
                raise ValueError(f"weekly days are mon … sun, got {shorten(d)}")
            if self.every == "monthly" and not (isinstance(d, int) and 1 <= d <= 31):
                raise ValueError(f"monthly days are 1 … 31, got {shorten(d)}")
        if self.every != "daily" and not self.days:
            raise ValueError(f"a window `every: {self.every}` needs days")
        return self


class WatchSpec(WindowSpec):
    policy: str = Field(min_length=1)


@dataclass(frozen=True)
class Window:
    spec: WindowSpec
    tz: ZoneInfo

    @property
    def name(self) -> str:
        return self.spec.name

    def covers(self, device: DeviceLike | None, name: str) -> bool:
        return self.spec.covers(device, name)

    def active_until(self, now: float) -> float | None:
        """The end of the occurrence that contains `now`, or None when not inside one."""
        s = self.spec
        local = datetime.fromtimestamp(now, UTC).astimezone(self.tz)
        if s.every is None:
            start = _localize(_when(s.start), self.tz)
            end = _localize(_when(s.end), self.tz)
            return end.timestamp() if start <= local < end else None
        assert s.at is not None and s.duration is not None  # checked by the model
        length = parse_duration(s.duration)
        hh, mm = (int(x) for x in s.at.split(":"))
        # An occurrence that started on one of the last few days may still be running.
        for back in range(0, length.days + 2):
            day = (local - timedelta(days=back)).date()
            if not self._on(day):
                continue
            start = datetime(day.year, day.month, day.day, hh, mm, tzinfo=self.tz)
            end = start + length
            if start <= local < end:
                return end.timestamp()
        return None

    def _on(self, day: Any) -> bool:
        s = self.spec
        if s.every == "daily":
            return True
        if s.every == "weekly":
            return WEEKDAYS[day.weekday()] in {str(d).lower()[:3] for d in s.days}
        return day.day in {int(d) for d in s.days}


def _localize(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


@dataclass(frozen=True)
class Watch(Window):
    @property
    def policy(self) -> str:
        return self.spec.policy  # type: ignore[attr-defined, no-any-return]
