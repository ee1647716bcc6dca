"""A fault or request reported by a person (phone, mail, web, on site): what `xunjian cases open`
takes, checked before anything is written.

A reported case is a case like any other (lifecycle, events, hooks, reports, SLA); its clocks
start when it was reported, which may be before it was entered. It names the check a rule
would raise for the same fault only when the reporter knows it (`check`): a later verdict of
that rule on that device then joins this case instead of opening a second one. Without a
check, a rule verdict on a device the report names opens its own case, and both cases get a
`link` event naming the other.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("phone", "mail", "web", "onsite", "other")
REPORTED = "reported"  # check_name of a reported case that names no check (instance: its number)
SOURCE_RULE, SOURCE_PERSON = "rule", "person"


class IntakeError(ValueError):
    """A report that cannot be taken as given (the message says what to change)."""


@dataclass(frozen=True)
class Intake:
    channel: str
    reporter: str
    description: str
    reported_at: float
    level: int = 3
    unit: str = ""
    contact: str = ""
    category: str = ""
    devices: tuple[str, ...] = ()
    service: str = ""
    check: str = ""
    instance: str = ""
    policy: str = ""  # empty: the configured default
    request_class: str = "fault"  # or a class the policy defines (consultation, suggestion…)

    def problems(self, now: float, levels: tuple[int, ...],
                 classes: tuple[str, ...] = ("fault",)) -> list[str]:
        out = []
        if self.request_class not in classes:
            out.append(f"class {self.request_class!r}: the policy's classes are {', '.join(classes)}")
        if self.channel not in CHANNELS:
            out.append(f"channel {self.channel!r}: one of {', '.join(CHANNELS)}")
        if not self.reporter.strip():
            out.append("the reporter's name is needed (--reporter)")
        if not self.description.strip():
            out.append("a description of the fault or request is needed (--description)")
        if self.reported_at > now + 60:
            out.append("the time reported is in the future")
        if self.level not in levels:
            out.append(f"level {self.level}: the policy's levels are {', '.join(map(str, levels))}")
        if self.check and len(self.devices) != 1:
            out.append("--check names the rule check of one device: give exactly one --device with it")
        if self.instance and not self.check:
            out.append("--instance goes with --check")
        if self.check == REPORTED:
            out.append(f"--check {self.check!r} is reserved")
        return out

    @property
    def affected(self) -> list[str]:
        return [*self.devices, *([self.service] if self.service else [])]
