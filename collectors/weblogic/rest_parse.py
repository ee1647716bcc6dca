"""Pure parts of the weblogic_rest collector: the REST management API's JSON answers
(`domainRuntime/serverRuntimes` and the `domainRuntime/search` for JVM heaps) → per-server facts.

Shapes, as WebLogic 12.2.1+/14.1 answers with `links=none`:
  {"items": [{"name": "ms1", "state": "RUNNING", "activationTime": 1763773300001,
              "healthState": {"state": "ok", "subsystemName": null, "symptoms": []},
              "openSocketsCurrentCount": 3}, ...]}
  {"serverRuntimes": {"items": [{"name": "ms1", "JVMRuntime": {"heapSizeCurrent": …,
              "heapFreeCurrent": …, "heapSizeMax": …}}]}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.model import CollectionError

Fields = dict[str, float | int | str | bool]


@dataclass(slots=True)
class RestServer:
    name: str
    state: str
    activation_ms: int | None  # when the server (re)started, ms since the epoch
    fields: Fields  # health, open sockets… as sample fields


def load_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CollectionError(f"{what}: the answer is not JSON ({body[:60]!r})") from None


def server_runtimes(body: str) -> dict[str, RestServer]:
    """Running servers by name from a `serverRuntimes` answer's text."""
    return parse_server_runtimes(load_json(body.encode("utf-8", "surrogateescape"), "serverRuntimes"))


def heaps(body: str) -> dict[str, Fields]:
    """Heap per server from a `domainRuntime/search` answer's text."""
    return parse_heaps(load_json(body.encode("utf-8", "surrogateescape"), "domainRuntime search"))


def parse_server_runtimes(doc: Any) -> dict[str, RestServer]:
    """Running servers by name; anything not shaped like an answer is a CollectionError."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise CollectionError("serverRuntimes answer has no 'items' list")
    out: dict[str, RestServer] = {}
    for item in doc["items"]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise CollectionError(f"serverRuntimes item without a name: {str(item)[:80]}")
        state = item.get("state")
        fields: Fields = {}
        health = item.get("healthState")
        if isinstance(health, dict) and isinstance(health.get("state"), str):
            fields["health"] = health["state"].lower()  # ok, warn, critical, failed, overloaded
            if isinstance(health.get("subsystemName"), str):
                fields["health_subsystem"] = health["subsystemName"]
            symptoms = health.get("symptoms")
            if isinstance(symptoms, list) and symptoms:
                fields["health_symptoms"] = "; ".join(_symptom(s) for s in symptoms)[:500]
        sockets = item.get("openSocketsCurrentCount")
        if isinstance(sockets, int) and not isinstance(sockets, bool):
            fields["open_sockets"] = sockets
        act = item.get("activationTime")
        out[item["name"]] = RestServer(
            name=item["name"],
            state=state.upper() if isinstance(state, str) and state else "UNKNOWN",
            activation_ms=act if isinstance(act, int) and not isinstance(act, bool) and act > 0 else None,
            fields=fields)
    return out


def _symptom(s: Any) -> str:
    if isinstance(s, dict):
        return " ".join(str(s[k]) for k in ("severity", "symptomType", "info") if s.get(k))
    return str(s)


def parse_heaps(doc: Any) -> dict[str, Fields]:
    """Heap per server from a domainRuntime search answer; servers without numbers are left out."""
    try:
        items = doc["serverRuntimes"]["items"]
        if not isinstance(items, list):
            raise TypeError
    except (KeyError, TypeError):
        raise CollectionError("domainRuntime search answer has no serverRuntimes items") from None
    out: dict[str, Fields] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        jvm = item.get("JVMRuntime")
        if not isinstance(jvm, dict):
            continue
        cur, free, mx = (jvm.get(k) for k in ("heapSizeCurrent", "heapFreeCurrent", "heapSizeMax"))
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (cur, free)):
            continue
        used = max(cur - free, 0)
        f: Fields = {"heap_used_bytes": used, "heap_capacity_bytes": cur,
                     "heap_used_percent": round(100.0 * used / cur, 2) if cur else 0.0}
        if isinstance(mx, int) and not isinstance(mx, bool) and mx > 0:
            f["heap_max_bytes"] = mx
            f["heap_used_percent_of_max"] = round(100.0 * used / mx, 2)
        out[item["name"]] = f
    return out
