"""SLA clocks of a fault case: when the response and the repair are due, and whether they were met.

A policy gives each level (1 = most severe) a response limit and a repair limit, each
counted on its own calendar (24×7 or working hours). Time is judged in counted time,
never wall time: a repair finished on Friday evening after a working-hours deadline
of 17:30 used no more working time than allowed, so it is met; the clock is missed
only once more counted time than the limit has gone by.

A duration is counted time on its calendar: "2d" on a working-hours calendar is 48
working hours (over six 7.5-hour days), not two working days.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from agent.cases.calendar import ALWAYS, ZERO, AlwaysCalendar, Calendar
from checks import durations
from core.problems import ConfigError, Problem, place, pydantic_problems, shorten

LEVELS = (1, 2, 3)  # the three-level scheme (一级/二级/三级), the default
MAX_LEVEL = 5
KINDS = ("response", "repair")
DEFAULT = "default"
LANGS = ("zh-CN", "en")
# Level schemes contracts use; a policy picks one (`scheme:`) and may rename levels (`names:`).
SCHEMES: dict[str, dict[int, dict[str, str]]] = {
    "three": {1: {"zh-CN": "一级（重大）", "en": "Level 1 (major)"},
              2: {"zh-CN": "二级（主要）", "en": "Level 2 (main)"},
              3: {"zh-CN": "三级（次要）", "en": "Level 3 (minor)"}},
    "four": {1: {"zh-CN": "A 紧急", "en": "A emergency"}, 2: {"zh-CN": "B 严重", "en": "B critical"},
             3: {"zh-CN": "C 一般", "en": "C moderate"}, 4: {"zh-CN": "D 轻微", "en": "D minor"}},
    "five": {1: {"zh-CN": "A 紧急", "en": "A emergency"}, 2: {"zh-CN": "B 严重", "en": "B critical"},
             3: {"zh-CN": "C 较重", "en": "C major"}, 4: {"zh-CN": "D 一般", "en": "D moderate"},
             5: {"zh-CN": "E 轻微", "en": "E minor"}},
}


def parse_duration(text: str) -> timedelta:
    """`"1h30m"` → 90 minutes. Units d, h, m, s in that order, whole numbers; anything else is refused."""
    return timedelta(seconds=durations.parse_duration(text, zero_ok=True))


@dataclass(frozen=True, slots=True)
class Limit:
    """How much counted time, on which calendar."""

    duration: timedelta
    calendar: Calendar


@dataclass(frozen=True, slots=True)
class LevelLimits:
    response: Limit | None  # None: a request class whose contract counts no response time
    repair: Limit


FAULT = "fault"  # the request class whose limits are the levels'
MILESTONES = ("open", "ack", "resolve", "close")  # case events a named clock may start or stop on


@dataclass(frozen=True, slots=True)
class NamedClock:
    """A clock the contract names besides response and repair (arrival on site, diagnosis report,
    workaround, fault report submitted…): started and stopped by case events or milestones
    (`xunjian cases mark`), with a limit per level (faults) or per request class."""

    name: str
    start: str
    stop: str
    limits: Mapping[int | str, Limit]  # level (faults) or class name → limit

    def limit(self, level: int, klass: str) -> Limit | None:
        return self.limits.get(level) if klass == FAULT else self.limits.get(klass)


@dataclass(frozen=True, slots=True)
class OutageRaise:
    """A fault of these checks still open `after` its opening (real time: an outage is not
    paused by office hours) is raised to `level` (one contract: an interruption over 1 h is
    level 1), its clocks restarting from that moment as for any escalation."""

    after: timedelta
    level: int
    checks: tuple[str, ...] = ("collect.*", "probe_down*")  # globs over the check name

    def applies(self, check: str) -> bool:
        return any(fnmatch.fnmatchcase(check, g) for g in self.checks)


@dataclass(frozen=True, slots=True)
class Targets:
    """What the contract promises over a period, as shares (1.0 = 100 %): the handling rate,
    on-time response and repair per level, on-time completion per request class."""

    handling_rate: float | None = None
    response: Mapping[int, float] = field(default_factory=dict)
    repair: Mapping[int, float] = field(default_factory=dict)
    classes: Mapping[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.handling_rate is not None or bool(self.response or self.repair or self.classes)


@dataclass(frozen=True, eq=False)  # compared by identity: `levels` holds calendars, not values
class SlaPolicy:
    name: str
    levels: Mapping[int, LevelLimits]
    escalate_on: frozenset[str] = frozenset(KINDS)
    escalate_step: int = 1
    names: Mapping[int, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType(SCHEMES["three"]))
    classes: Mapping[str, LevelLimits] = field(default_factory=lambda: MappingProxyType({}))
    clocks: tuple[NamedClock, ...] = ()
    remind_at: tuple[int, ...] = ()  # percent of a limit used at which a reminder goes out
    outage: tuple[OutageRaise, ...] = ()  # longer outages raised, shortest `after` first
    targets: Targets = field(default_factory=Targets)

    def limits(self, level: int, klass: str = FAULT) -> LevelLimits:
        if klass != FAULT:
            try:
                return self.classes[klass]
            except KeyError:
                raise ValueError(f"SLA policy {self.name!r} has no request class {klass!r} (classes: "
                                 f"{', '.join([FAULT, *self.classes])})") from None
        try:
            return self.levels[level]
        except KeyError:
            raise ValueError(f"SLA policy {self.name!r} has no level {level!r} "
                             f"(levels: {', '.join(map(str, self.levels))})") from None

    def level_name(self, level: int, lang: str = "zh-CN") -> str:
        return self.names.get(level, {}).get(lang) or f"L{level}"

    def escalate(self, level: int, missed: Iterable[str]) -> int:
        """The level once the clocks named in `missed` ran out: raised by the policy's step, never above 1."""
        self.limits(level)
        if self.escalate_on.isdisjoint(missed):
            return level
        return max(LEVELS[0], level - self.escalate_step)


@dataclass(frozen=True, slots=True)
class Deadlines:
    response_due: datetime | None
    repair_due: datetime


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA clock at a moment: `used` and `overrun` are counted time on the limit's calendar."""

    state: Literal["met", "missed", "running"]
    due: datetime
    used: timedelta
    overrun: timedelta = ZERO


def deadlines(policy: SlaPolicy, level: int, opened_at: datetime, paused: timedelta = ZERO,
              klass: str = FAULT) -> Deadlines:
    """Both deadlines; the repair one is pushed by `paused`, which is counted time on the repair calendar."""
    if paused < ZERO:
        raise ValueError(f"paused must not be negative, got {paused}")
    lim = policy.limits(level, klass)
    return Deadlines(
        response_due=None if lim.response is None
        else lim.response.calendar.add(opened_at, lim.response.duration),
        repair_due=lim.repair.calendar.add(opened_at, lim.repair.duration + paused),
    )


def breached(
    policy: SlaPolicy,
    level: int,
    opened_at: datetime,
    now: datetime,
    responded_at: datetime | None = None,
    repaired_at: datetime | None = None,
    paused: timedelta = ZERO,
) -> dict[str, Clock]:
    """`{"response": Clock, "repair": Clock}`: met / missed once stopped, else running / missed at `now`."""
    due = deadlines(policy, level, opened_at, paused)
    lim = policy.limits(level)
    assert lim.response is not None and due.response_due is not None  # every level has both
    return {
        "response": _clock(lim.response, opened_at, now, responded_at, ZERO, due.response_due),
        "repair": _clock(lim.repair, opened_at, now, repaired_at, paused, due.repair_due),
    }


def _clock(limit: Limit, opened_at: datetime, now: datetime, stopped_at: datetime | None,
           paused: timedelta, due: datetime) -> Clock:
    used = max(ZERO, limit.calendar.elapsed(opened_at, now if stopped_at is None else stopped_at) - paused)
    overrun = max(ZERO, used - limit.duration)
    if stopped_at is not None:
        return Clock("missed" if overrun else "met", due, used, overrun)
    return Clock("missed" if overrun else "running", due, used, overrun)


# -- configuration --------------------------------------------------------------------------


def _duration(value: Any) -> timedelta:
    try:
        out = parse_duration(value)  # a bare number is refused: minutes? hours? better not guess
    except ValueError:
        raise PydanticCustomError(
            "duration", f"expected a duration like 30m, 1h, 1h30m or 2d, got {shorten(value)}") from None
    if not out:
        raise PydanticCustomError("duration", "a limit must be longer than zero")
    return out


def _level_number(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LEVEL
    return value if ok else None


def _level(value: Any) -> int:
    level = _level_number(value)
    if level is None:
        raise PydanticCustomError(
            "level", f"unknown level {shorten(value)} (levels are numbered 1 to {MAX_LEVEL} at most; "
            "1 is the most severe)")
    return level


Duration = Annotated[timedelta, PlainValidator(_duration)]


class LevelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: Duration
    repair: Duration
    response_calendar: str = ALWAYS
    repair_calendar: str = ALWAYS


class ClassSpec(BaseModel):
    """A request class's clocks: response (answered) optional, repair (solved)."""

    model_config = ConfigDict(extra="forbid")

    response: Duration | None = None
    repair: Duration
    calendar: str = ALWAYS  # both clocks, unless one of these says otherwise
    response_calendar: str | None = None
    repair_calendar: str | None = None


class ClockSpec(BaseModel):
    """A named clock: `limit` for every level, or `limits` per level (faults) and per class."""

    model_config = ConfigDict(extra="forbid")

    start: str
    stop: str
    limit: Duration | None = None
    limits: dict[int | str, Duration] = {}
    calendar: str = ALWAYS


class OutageSpec(BaseModel):
    """`outage: [{after: 1h, level: 1}]`: an outage still open after that long is raised."""

    model_config = ConfigDict(extra="forbid")

    after: Duration
    level: Annotated[int, PlainValidator(_level)]
    checks: list[str] = Field(default_factory=lambda: ["collect.*", "probe_down*"], min_length=1)


def _share(value: Any) -> float:
    """"100%", "85 %", 85 or 0.85 → a share; said clearly otherwise."""
    text = str(value).strip()
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise PydanticCustomError("share", f"a percentage like 95% or 100%, got {shorten(value)}") from None
    share = number / 100 if text.endswith("%") or number > 1 else number
    if not 0 <= share <= 1:
        raise PydanticCustomError("share", f"a percentage between 0% and 100%, got {shorten(value)}")
    return share


Share = Annotated[float, PlainValidator(_share)]


class TargetSpec(BaseModel):
    """`targets:` of a policy: `handling_rate: 100%`, `response: {1: 95%}`, `repair: {1: 90%}`,
    `classes: {change: 85%}` (on time = the class's repair clock met)."""

    model_config = ConfigDict(extra="forbid")

    handling_rate: Share | None = None
    response: dict[Annotated[int, PlainValidator(_level)], Share] = {}
    repair: dict[Annotated[int, PlainValidator(_level)], Share] = {}
    classes: dict[str, Share] = {}


class LevelName(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    zh: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)


class PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: Literal["three", "four", "five"] = "three"
    names: dict[Annotated[int, PlainValidator(_level)], LevelName] = {}
    levels: dict[Annotated[int, PlainValidator(_level)], LevelSpec]
    escalate_on: list[Literal["response", "repair"]] = Field(default_factory=lambda: list(KINDS))
    escalate_step: int = Field(default=1, ge=1, le=MAX_LEVEL - 1)
    classes: dict[str, ClassSpec] = {}
    clocks: dict[str, ClockSpec] = {}
    remind_at: list[Annotated[int, Field(ge=1, le=99)]] = []
    outage: list[OutageSpec] = []
    targets: TargetSpec = TargetSpec()


def default_policy(calendars: Mapping[str, Calendar]) -> SlaPolicy:
    """The video-network contract's levels; working-hours repair on "office" when such a calendar exists."""
    always = calendars.get(ALWAYS) or AlwaysCalendar()
    office = calendars.get("office", always)
    return SlaPolicy(DEFAULT, MappingProxyType({
        1: LevelLimits(Limit(timedelta(hours=1), always), Limit(timedelta(hours=6), always)),
        2: LevelLimits(Limit(timedelta(hours=1), always), Limit(timedelta(hours=6), office)),
        3: LevelLimits(Limit(timedelta(hours=2), always), Limit(timedelta(hours=12), office)),
    }))


def _cross_problems(body: dict[Any, Any], known: Mapping[str, Calendar], file: str,
                    where: tuple[Any, ...]) -> list[Problem]:
    """Missing levels and unknown calendars, read from the raw mapping so that they are reported
    even when pydantic found something else wrong in the same policy."""
    levels = body.get("levels")
    if not isinstance(levels, dict):
        return []  # pydantic says what is wrong with it
    problems = []
    for key, limits in levels.items():
        for cal_key in ("response_calendar", "repair_calendar"):
            name = limits.get(cal_key, ALWAYS) if isinstance(limits, dict) else ALWAYS
            if isinstance(name, str) and name not in known:
                problems.append(Problem(file, place((*where, "levels", key, cal_key)),
                                        f"unknown calendar {name!r} (known: {', '.join(sorted(known))})"))
    problems += _class_and_clock_problems(body, known, file, where)
    scheme_name = body.get("scheme", "three")
    scheme = SCHEMES.get(scheme_name) if isinstance(scheme_name, str) else None
    if scheme is None:
        return problems  # pydantic names the schemes
    n = len(scheme)
    said = f"scheme {scheme_name} has levels 1 to {n}: " + " … ".join(
        (scheme[1]["zh-CN"], scheme[n]["zh-CN"]))
    present = {_level_number(k) for k in levels}
    missing = [str(lv) for lv in range(1, n + 1) if lv not in present]
    if missing:
        problems.append(Problem(file, place((*where, "levels")),
                                f"level{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
                                f"(a policy sets every level of its scheme; {said})"))
    names = body.get("names") if isinstance(body.get("names"), dict) else {}
    for i, step in enumerate(body.get("outage") or [] if isinstance(body.get("outage"), list) else []):
        lv = _level_number(step.get("level")) if isinstance(step, dict) else None
        if lv is not None and lv > n:
            problems.append(Problem(file, place((*where, "outage", i, "level")),
                                    f"level {lv} is not in the policy's scheme ({said})"))
    for key, section in (("levels", levels), ("names", names)):
        for k in section:
            lv = _level_number(k)
            if lv is not None and lv > n:
                problems.append(Problem(file, place((*where, key, k)), f"level {lv} is not in the policy's "
                                        f"scheme ({said}; set scheme: four or five for more)"))
    step = body.get("escalate_step")
    if isinstance(step, int) and not isinstance(step, bool) and n > 1 and step > n - 1:
        problems.append(Problem(file, place((*where, "escalate_step")),
                                f"at most {n - 1} with {n} levels (scheme {scheme_name})"))
    return problems


def _class_and_clock_problems(body: dict[Any, Any], known: Mapping[str, Calendar], file: str,
                              where: tuple[Any, ...]) -> list[Problem]:
    """Unknown calendars, a class named "fault", clock limits for unknown levels or classes."""
    problems = []
    classes = body.get("classes") if isinstance(body.get("classes"), dict) else {}
    clocks = body.get("clocks") if isinstance(body.get("clocks"), dict) else {}
    cal_keys = ("calendar", "response_calendar", "repair_calendar")
    for section, items in (("classes", classes), ("clocks", clocks)):
        for key, spec in items.items():
            if not isinstance(spec, dict):
                continue
            for cal_key in cal_keys:
                name = spec.get(cal_key)
                if isinstance(name, str) and name not in known:
                    problems.append(Problem(file, place((*where, section, key, cal_key)),
                                            f"unknown calendar {name!r} (known: {', '.join(sorted(known))})"))
    if FAULT in classes:
        problems.append(Problem(file, place((*where, "classes", FAULT)),
                                "faults are counted by the levels; name other classes (consultation, "
                                "suggestion, change…)"))
    for key, spec in clocks.items():
        if not isinstance(spec, dict):
            continue
        if spec.get("limit") is None and not spec.get("limits"):
            problems.append(Problem(file, place((*where, "clocks", key)),
                                    "a limit (for every level) or limits (per level or class)"))
        for k in (spec.get("limits") or {}) if isinstance(spec.get("limits"), dict) else ():
            if _level_number(k) is None and k not in classes:
                problems.append(Problem(file, place((*where, "clocks", key, "limits", k)),
                                        f"a level number or a class of this policy "
                                        f"({', '.join(map(str, classes)) or 'none defined'})"))
    return problems


def _clock_limits(spec: ClockSpec, levels: Iterable[int],
                  known: Mapping[str, Calendar]) -> dict[int | str, Limit]:
    cal = known[spec.calendar]
    out: dict[int | str, Limit] = {lv: Limit(spec.limit, cal) for lv in levels} if spec.limit else {}
    for k, d in spec.limits.items():
        out[_level_number(k) or k] = Limit(d, cal)
    return out


def load_policies(data: dict[str, Any] | None, calendars: Mapping[str, Calendar],
                  file: str) -> dict[str, SlaPolicy]:
    """Policies from the `sla:` section, plus the built-in "default" unless the file defines one.

    Every problem in the section is gathered and raised as one ConfigError.
    """
    known = {ALWAYS: AlwaysCalendar(), **calendars}
    raw = data.get("sla") if isinstance(data, dict) else None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError([Problem(file, "sla", "a mapping of policy name to policy")])
    problems: list[Problem] = []
    policies: dict[str, SlaPolicy] = {}
    for name, body in (raw or {}).items():
        where = ("sla", name)
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(file, f"sla.{name}", "a policy name (text)"))
            continue
        if not isinstance(body, dict):
            problems.append(Problem(file, place(where), "a mapping with levels (and optionally escalate_on, "
                                    "escalate_step)"))
            continue
        found = _cross_problems(body, known, file, where)
        try:
            spec = PolicySpec.model_validate(body)
        except ValidationError as e:
            found = pydantic_problems(file, where, e) + found
        if found:
            problems += found
            continue
        policies[name] = SlaPolicy(
            name,
            MappingProxyType({
                lv: LevelLimits(Limit(s.response, known[s.response_calendar]),
                                Limit(s.repair, known[s.repair_calendar]))
                for lv, s in sorted(spec.levels.items())
            }),
            escalate_on=frozenset(spec.escalate_on),
            escalate_step=spec.escalate_step,
            names=MappingProxyType({
                lv: MappingProxyType({"zh-CN": spec.names[lv].zh, "en": spec.names[lv].en}
                                     if lv in spec.names else names)
                for lv, names in SCHEMES[spec.scheme].items()}),
            classes=MappingProxyType({
                k: LevelLimits(None if c.response is None else
                               Limit(c.response, known[c.response_calendar or c.calendar]),
                               Limit(c.repair, known[c.repair_calendar or c.calendar]))
                for k, c in spec.classes.items()}),
            remind_at=tuple(sorted(set(spec.remind_at))),
            outage=tuple(OutageRaise(o.after, o.level, tuple(o.checks))
                         for o in sorted(spec.outage, key=lambda o: o.after)),
            targets=Targets(spec.targets.handling_rate, MappingProxyType(dict(spec.targets.response)),
                            MappingProxyType(dict(spec.targets.repair)),
                            MappingProxyType(dict(spec.targets.classes))),
            clocks=tuple(NamedClock(k, c.start, c.stop,
                                    MappingProxyType(_clock_limits(c, spec.levels, known)))
                         for k, c in spec.clocks.items()),
        )
    if problems:
        raise ConfigError(problems)
    policies.setdefault(DEFAULT, default_policy(known))
    return policies
