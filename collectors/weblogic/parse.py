"""Pure parts of the weblogic collector: finding a server's JVM in `ps`, its state from
the server log, its heap from `jstat -gc`, the installed version from registry.xml; the
per-server memory both weblogic collectors keep."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from collectors.linux_health import Proc
from core.model import CollectionError

# BEA-000365 "Server state changed to X" and BEA-000360 "The server started in RUNNING mode"
_CHANGED = re.compile(r"<BEA-000365>\s*<Server state changed to (\w+)")
_STARTED = re.compile(r"<BEA-000360>\s*<The server started in (\w+) mode")


def server_jvms(procs: list[Proc], server: str) -> list[Proc]:
    """JVMs started with -Dweblogic.Name=<server> (exactly that name: ms1 is not ms10)."""
    rx = re.compile(r"(?:^|\s)-Dweblogic\.Name=" + re.escape(server) + r"(?:\s|$)")
    return [p for p in procs if rx.search(p.args)]


@dataclass(slots=True)
class LogState:
    last_state: str | None  # the latest state the log announced in this text, if any
    running_events: int  # times it announced RUNNING (a start or a resume)


def log_state(text: str) -> LogState:
    last: str | None = None
    running = 0
    for line in text.splitlines():
        m = _CHANGED.search(line) or _STARTED.search(line)
        if m:
            last = m.group(1).upper()
            if last == "RUNNING" and _STARTED.search(line):
                running += 1  # count BEA-000360 only: each start prints both codes
    return LogState(last, running)


def parse_jstat_gc(text: str) -> dict[str, float]:
    """`jstat -gc PID`: header line and one value line (KB). Heap = survivors + eden + old."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or "OU" not in lines[0]:
        raise CollectionError(f"jstat output not understood: {text[:80]!r}")
    try:
        v = dict(zip(lines[0], (float(x) for x in lines[1]), strict=False))
        used = (v["S0U"] + v["S1U"] + v["EU"] + v["OU"]) * 1024
        cap = (v["S0C"] + v["S1C"] + v["EC"] + v["OC"]) * 1024
    except (KeyError, ValueError):
        raise CollectionError(f"jstat output not understood: {text[:80]!r}") from None
    return {
        "heap_used_bytes": int(used), "heap_capacity_bytes": int(cap),
        "heap_used_percent": round(100.0 * used / cap, 2) if cap else 0.0,
        "old_used_percent": round(100.0 * v["OU"] / v["OC"], 2) if v["OC"] else 0.0,
    }


_WL_HOME_ARG = re.compile(r"(?:^|\s)-D(?:weblogic|wls)\.home=(/\S+)")


def middleware_home_of(args: str) -> str | None:
    """The middleware (Oracle) home from a server JVM's command line: start scripts pass
    `-Dweblogic.home=$WL_HOME/server` (and `-Dwls.home`), WL_HOME being under the home."""
    m = _WL_HOME_ARG.search(args)
    if m is None:
        return None
    server_dir = posixpath.normpath(m.group(1))
    home = posixpath.dirname(posixpath.dirname(server_dir))
    return home if home not in ("", "/") else None


def parse_registry(text: str) -> str | None:
    """The WebLogic Server version in an install's registry.xml: 12c+ `inventory/registry.xml`
    (`<distribution name="WebLogic Server" version=…>`) or 10.3's `registry.xml`
    (`<component name="WebLogic Server" version=…>`). None when not there or not XML.
    (ElementTree resolves no external entities; expat ≥ 2.4 caps entity expansion.)"""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        version = el.get("version", "").strip()
        if tag in ("distribution", "component") and el.get("name") == "WebLogic Server" and version:
            return version
    return None


def remembered(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A copy of the per-server memory in `state` (a new dict: the context is not changed)."""
    servers = state.get("servers")
    if not isinstance(servers, Mapping):
        return {}
    return {str(k): dict(v) for k, v in servers.items() if isinstance(v, Mapping)}
