"""Was a batch stored already? Asked before sending again a batch whose earlier request went
unanswered (the connection died, or the agent stopped, after the server had the batch).

InfluxDB overwrites a point written twice (same series and time); VictoriaMetrics keeps both
copies (measured: an exact re-send of 100 points leaves 200). A batch is identified by its last
point — the series and the timestamp — and a server with VictoriaMetrics' export API is asked
for it: if it is there the server processed the whole request and the batch is not sent again.
A server without that API (InfluxDB, 404) gets the batch again, which it overwrites.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import urllib3

log = logging.getLogger(__name__)


def _split(text: str, seps: str) -> tuple[str, str, str]:
    """Up to the first unescaped char of `seps`: (unescaped head, the separator, the rest)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c in seps:
            return "".join(out), c, text[i + 1:]
        out.append(c)
        i += 1
    return "".join(out), "", ""


def last_point(body: bytes) -> tuple[str, dict[str, str], str, int] | None:
    """(measurement, tags, first field key, timestamp in ns) of a batch's last line."""
    line = body.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    head, _, ts = line.rpartition(" ")  # the timestamp is last; string fields are quoted before it
    if not ts.isdigit():
        return None
    measurement, sep, rest = _split(head, ", ")
    tags: dict[str, str] = {}
    while sep == ",":
        key, _, rest = _split(rest, "=")
        value, sep, rest = _split(rest, ", ")
        tags[key] = value
    field = _numeric_field(rest)
    if not measurement or field is None:
        return None
    return measurement, tags, field, int(ts)


def _numeric_field(fields: str) -> str | None:
    """The first field key whose value is not a string (VictoriaMetrics keeps no strings)."""
    rest = fields
    while rest:
        key, eq, rest = _split(rest, "=")
        if not eq:
            return None
        if rest.startswith('"'):
            i = 1
            while i < len(rest) and rest[i] != '"':
                i += 2 if rest[i] == "\\" else 1
            rest = rest[i + 2:]  # past the closing quote and the comma
            continue
        return key
    return None


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def already_stored(http: urllib3.PoolManager, base_url: str, headers: dict[str, str], body: bytes,
                   timeout: float) -> bool | None:
    """True: the batch's last point is on the server; False: it is not; None: cannot tell."""
    point = last_point(body)
    if point is None:
        return None
    measurement, tags, field, ts = point
    labels = [("__name__", f"{measurement}_{field}"), *sorted(tags.items())]
    selector = "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels) + "}"
    ms = ts // 10**6
    query = urlencode({"match[]": selector, "start": f"{ms / 1000 - 1:.3f}", "end": f"{ms / 1000 + 1:.3f}"})
    auth = {k: v for k, v in headers.items() if k == "Authorization"}
    try:
        r = http.request("GET", f"{base_url}/api/v1/export?{query}", headers=auth,
                         timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False)
    except urllib3.exceptions.HTTPError:
        return None
    if r.status != 200:
        return None  # no such API (InfluxDB): it overwrites a point sent again anyway
    try:
        series = [json.loads(line) for line in r.data.decode().splitlines() if line.strip()]
    except ValueError:
        return None
    return any(ms in s.get("timestamps", []) for s in series)
