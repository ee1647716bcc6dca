"""Availability and downtime per device and per service for a period, from the outage cases.

A device is down while a `collect.*` case of it is open (`collect.device`: no connection;
other `collect.*`: a collector got nothing): from the open (or, for a fault held through a
maintenance window, from when it was first seen) to the resolve; a reopen starts it again.
Overlapping outages of one device count once. Downtime inside a maintenance window of the
device is planned, the rest unplanned; availability leaves the planned minutes out of the
period: available % = 1 - unplanned / (period - planned). The target is zero unplanned downtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, or_, select

from agent.cases.policy import CasePolicy
from agent.cases.queries import histories
from agent.cases.windows import DeviceLike
from agent.store.schema import cases

STEP = 60.0  # seconds: how finely an outage is split at the edges of maintenance windows
Span = tuple[float, float]


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def outage_spans(events: list[dict[str, Any]], opened_at: float, until: float) -> list[Span]:
    """When a case kept its device down, from its events (open/reopen → resolve)."""
    spans: list[Span] = []
    start: float | None = None
    for e in events:
        if e["kind"] == "open":
            start = min(e["detail"].get("held_since") or opened_at, opened_at)
        elif e["kind"] == "reopen" and start is None:
            start = e["at"]
        elif e["kind"] == "resolve" and start is not None:
            spans.append((start, e["at"]))
            start = None
    if start is not None:
        spans.append((start, until))
    return spans


def _split(policy: CasePolicy, device: DeviceLike | None, name: str, span: Span) -> tuple[float, float]:
    """(planned, unplanned) seconds of a down span: planned inside the device's maintenance windows."""
    planned = unplanned = 0.0
    at, end = span
    while at < end:
        window_end = policy.in_maintenance(device, name, at)
        step_end = min(end, window_end if window_end is not None else at + STEP)
        if window_end is not None:
            planned += step_end - at
        else:
            unplanned += step_end - at
        at = step_end
    return planned, unplanned


def availability(engine: Engine, policy: CasePolicy, since: float, until: float, now: float,
                 devices: Mapping[str, DeviceLike] | None = None,
                 only: Iterable[str] | None = None) -> dict[str, Any]:
    """Per device (every device of `devices`, and every device with an outage): minutes down,
    planned and unplanned, % available, and whether the period had zero unplanned downtime.
    Per service (a device of kind `service`): the same, down while one of its probes found it
    down as a user would (a `probe_down*` case open) — measured end to end, not inferred from
    the devices behind it."""
    devices = devices or {}
    end = min(until, now)
    wanted = set(only) if only else None
    services = {n for n, d in devices.items() if getattr(d, "kind", "") == SERVICE_KIND}
    # opened after the period, a fault held through a window may still have begun in it
    down, outages = _spans(engine, "collect.%", since, end, wanted)
    names = sorted((set(devices) if wanted is None else set(devices) & wanted) | set(down)
                   | (wanted or set()))
    rows = [_figures(policy, devices, name, down.get(name, []), outages.get(name, []), since, end)
            for name in names]
    doc: dict[str, Any] = {"since": since, "until": until, "counted_until": end,
                           "period_minutes": round(max(0.0, end - since) / 60, 1), "devices": rows}
    missed = [r["device"] for r in rows if r["unplanned_minutes"] > 0]
    unplanned = sum(r["unplanned_minutes"] for r in rows)
    if services:
        wanted_services = services if wanted is None else services & wanted
        sdown, soutages = _spans(engine, "probe_down%", since, end, wanted_services)
        srows = [_figures(policy, devices, name, sdown.get(name, []), soutages.get(name, []), since, end)
                 for name in sorted(wanted_services)]
        doc["services"] = [{"service": r.pop("device"), **r} for r in srows]
        missed += [r["service"] for r in doc["services"] if r["unplanned_minutes"] > 0]
        unplanned += sum(r["unplanned_minutes"] for r in doc["services"])
    doc["target"] = {"name": "zero unplanned downtime", "met": not missed, "missed_by": sorted(set(missed)),
                     "unplanned_minutes": round(unplanned, 1)}
    return doc


SERVICE_KIND = "service"


def _spans(engine: Engine, checks: str, since: float, end: float,
           wanted: set[str] | None) -> tuple[dict[str, list[Span]], dict[str, list[str]]]:
    """The down spans (clipped to the period) and the cases behind them, per device, of the
    cases whose check matches `checks` (a LIKE pattern)."""
    q = select(cases.c.number, cases.c.device, cases.c.opened_at).where(
        cases.c.check_name.like(checks), or_(cases.c.resolved_at.is_(None), cases.c.resolved_at > since))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    rows = [r for r in rows if wanted is None or r.device in wanted]
    events = histories(engine, [r.number for r in rows])
    down: dict[str, list[Span]] = {}
    outages: dict[str, list[str]] = {}
    for r in rows:
        for a, b in outage_spans(events[r.number], r.opened_at, end):
            a, b = max(a, since), min(b, end)
            if b > a:
                down.setdefault(r.device, []).append((a, b))
                if r.number not in outages.setdefault(r.device, []):
                    outages[r.device].append(r.number)
    return down, outages


def _figures(policy: CasePolicy, devices: Mapping[str, DeviceLike], name: str, spans: list[Span],
             numbers: list[str], since: float, end: float) -> dict[str, Any]:
    planned = unplanned = 0.0
    for span in _merge(spans):
        p, u = _split(policy, devices.get(name), name, span)
        planned, unplanned = planned + p, unplanned + u
    base = max(0.0, end - since) - planned
    return {"device": name, "down_minutes": round((planned + unplanned) / 60, 1),
            "planned_minutes": round(planned / 60, 1), "unplanned_minutes": round(unplanned / 60, 1),
            "available_percent": round(100 * (1 - unplanned / base), 3) if base > 0 else None,
            "cases": numbers}
