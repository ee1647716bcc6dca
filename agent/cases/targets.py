"""The contract's targets for a period, compared: the handling rate, on-time response and
repair per level, on-time completion per request class — each with the cases that fell short.

Definitions (printed with the figures):
- handling rate = the period's cases resolved or closed by the end of the period (or by now,
  for a period still running) ÷ the cases opened in the period;
- on time (response or repair, per level as the case was opened) = clocks met ÷ clocks decided
  (met or missed; a clock still running is not counted yet);
- on time per request class = the class's repair clock met ÷ decided.
Cases suppressed under a parent's case are not counted (their parent is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent.cases.policy import CasePolicy
from agent.cases.sla import FAULT, Targets
from core.model import Case

HANDLING_RATE = ("handling rate = cases of the period resolved or closed by its end (or by now) ÷ "
                 "cases opened in the period")


def clock_state(case: Case, clock: str, now: float) -> str:
    """met | missed | running for the response or repair clock of a case."""
    breached = case.response_breached if clock == "response" else case.repair_breached
    due = case.response_due if clock == "response" else case.repair_due
    stopped = (case.acknowledged_at or case.resolved_at) if clock == "response" else case.resolved_at
    if breached:
        return "missed"
    if stopped is not None:
        return "missed" if due is not None and stopped > due else "met"
    if case.paused_at is None and due is not None and now > due:
        return "missed"
    return "running"


def compare(policy: CasePolicy, found: Iterable[Case], until: float, now: float) -> list[dict[str, Any]]:
    """One row per target of every policy the period's cases were counted under."""
    found = [c for c in found if not c.suppressed_by]
    end = min(until, now)
    rows: list[dict[str, Any]] = []
    for name in sorted({c.policy for c in found} | {policy.policy}):
        targets = policy.sla(name).targets
        if not targets:
            continue
        mine = [c for c in found if c.policy == name]
        rows += _rows(name, targets, mine, end, now)
    return rows


def _rows(name: str, t: Targets, mine: list[Case], end: float, now: float) -> list[dict[str, Any]]:
    rows = []
    if t.handling_rate is not None:
        short = [c for c in mine if c.resolved_at is None or c.resolved_at > end]
        rows.append(_row(name, "handling rate", t.handling_rate, len(mine) - len(short), len(mine), short))
    faults = [c for c in mine if c.request_class == FAULT]
    for clock, wanted in (("response", t.response), ("repair", t.repair)):
        for level, share in sorted(wanted.items()):
            rows.append(_decided(name, f"{clock} L{level}", share,
                                 [c for c in faults if c.opened_level == level],
                                 lambda c, clock=clock: clock_state(c, clock, now)))  # type: ignore[misc]
    for klass, share in sorted(t.classes.items()):
        rows.append(_decided(name, f"on-time {klass}", share, [c for c in mine if c.request_class == klass],
                             lambda c: clock_state(c, "repair", now)))
    return rows


def _decided(name: str, what: str, share: float, cases: list[Case],
             state: Callable[[Case], str]) -> dict[str, Any]:
    states = {c.number: state(c) for c in cases}
    missed = [c for c in cases if states[c.number] == "missed"]
    met = sum(1 for s in states.values() if s == "met")
    return _row(name, what, share, met, met + len(missed), missed)


def _row(name: str, what: str, wanted: float, good: int, counted: int, short: list[Case]) -> dict[str, Any]:
    actual = round(good / counted, 4) if counted else None
    return {"policy": name, "target": what, "wanted": wanted, "actual": actual, "counted": counted,
            "met": None if actual is None else actual >= wanted - 1e-9,
            "short": [c.number for c in short]}
