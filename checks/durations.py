"""Durations in rules files: "30s", "5m", "1h", "1d", "1h30m" (whole numbers, units d h m s in that order).

The one parser of durations: rules here, and the SLA policies, windows and hooks
(agent.cases.sla.parse_duration wraps it) — checks/ is the leaf both may import.
"""

from __future__ import annotations

import re

_DURATION_RE = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def parse_duration(text: object, zero_ok: bool = False) -> float:
    """`"1h30m"` → 5400.0 seconds. Anything else raises ValueError with the words to show."""
    m = _DURATION_RE.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if m is None or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30s, 5m, 1h, 1h30m, 1d)")
    d, h, mi, s = (int(g or 0) for g in m.groups())
    seconds = float(d * 86400 + h * 3600 + mi * 60 + s)
    if seconds <= 0 and not zero_ok:
        raise ValueError(f"not a duration: {text!r} (must be longer than zero)")
    return seconds


def format_duration(seconds: float) -> str:
    """5400 → "1h30m"; 42.4 → "42s"; 0 → "0s". For messages."""
    left = round(max(seconds, 0.0))
    if left == 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, left = divmod(left, size)
        if n:
            out += f"{n}{unit}"
    return out
