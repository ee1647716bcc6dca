"""Which routes take an event: by event type, level, device kind, group and site."""

from __future__ import annotations

from typing import Any

from agent.hooks.settings import Route


def device_facts(device: Any) -> dict[str, Any]:
    """What routing and templates know of a device (the inventory's, if it has one)."""
    if device is None:
        return {"kind": None, "groups": [], "site": None, "parent": None, "labels": {}}
    labels = dict(getattr(device, "labels", {}) or {})
    return {"kind": getattr(device, "kind", None), "groups": list(getattr(device, "groups", ()) or ()),
            "site": labels.get("site"), "parent": labels.get("parent"), "labels": labels}


def matches(route: Route, kind: str, level: int, facts: dict[str, Any]) -> bool:
    if kind not in route.events:
        return False
    if route.levels is not None and level not in route.levels:
        return False
    if route.kinds is not None and facts["kind"] not in route.kinds:
        return False
    if route.groups is not None and not set(route.groups) & set(facts["groups"]):
        return False
    return route.sites is None or facts["site"] in route.sites


def select(routes: tuple[Route, ...], kind: str, level: int, facts: dict[str, Any]) -> list[Route]:
    chosen = []
    for r in routes:
        if matches(r, kind, level, facts):
            chosen.append(r)
            if r.stop:
                break
    return chosen


def recipients(route: Route, level: int) -> list[str]:
    """The route's recipients plus those of the escalation tier the case is at, in order."""
    out: list[str] = []
    for r in (*route.recipients, *route.tiers.get(level, ())):
        if r not in out:
            out.append(r)
    return out
