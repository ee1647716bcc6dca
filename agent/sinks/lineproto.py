"""Sample → InfluxDB line protocol, fast.

influxdb-client's `Point.to_line_protocol` builds an object per point and escapes every
name every time: at 73k points/s it was three quarters of the sink's CPU. Here the escaped
form of each measurement, key and tag value is cached (they repeat every cycle), and a
line is one f-string. The sink itself calls `encode()`, whose loop runs in C
(`_lineproto.c`, built at install time when a compiler is there) over the same caches and
hands back to `line()` every sample outside the common case; a hypothesis test holds the
two to the same bytes. The output is byte-for-byte the library's (the tests hold it to
that), except where the library writes something InfluxDB misreads:

- a newline or carriage return inside a string field (a Cisco sysDescr has them) would end
  the line in our spool, which is line-based: it is written as the two characters `\\n` /
  `\\r`;
- NaN and ±inf are not representable: the library drops the field silently; we drop it
  and count it (`dropped_fields`), and a point left with no field is dropped and counted
  (`dropped_points`) — never a failed batch;
- an empty measurement, tag key or field key cannot be written: the point (measurement)
  or the tag/field is dropped and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from core.model import Sample

try:  # the batch loop in C, built at install time when a compiler is there (setup.py)
    from agent.sinks import _lineproto
except ImportError:  # pragma: no cover - exercised on hosts without a compiler
    _lineproto = None

log = logging.getLogger(__name__)

NATIVE = _lineproto is not None

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_STRING = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": r"\n", "\r": r"\r"})

_CACHE_MAX = 100_000  # line prefixes / field plans; cleared when full (tag sets are bounded)


class LineSerializer:
    """Serialises samples; counts what line protocol cannot carry instead of failing.

    Two caches make the hot path a few dict lookups: the line's prefix (escaped measurement
    and sorted, escaped tags) by (measurement, tags), and the sorted, escaped field keys by
    the sample's field names — a collector sends the same shapes every cycle.
    """

    def __init__(self) -> None:
        self.dropped_fields = 0
        self.dropped_points = 0
        self._prefixes: dict[object, str] = {}
        self._plans: dict[tuple[str, ...], tuple[list[tuple[str, str]], int]] = {}

    def _prefix(self, s: Sample) -> str:
        meas = s.measurement.translate(_MEASUREMENT)
        if not meas:
            return ""
        parts = [meas]
        for k, v in sorted(s.tags.items()):
            if not v or not k:
                continue  # an empty tag value is no tag (InfluxDB cannot store one)
            ev = v.translate(_KEY)
            if ev.endswith("\\"):  # would escape the separator after it; as the library does
                ev += " "
            parts.append(f",{k.translate(_KEY)}={ev}")
        parts.append(" ")
        return "".join(parts)

    @staticmethod
    def _plan(keys: tuple[str, ...]) -> tuple[list[tuple[str, str]], int]:
        named = sorted(k for k in keys if k)
        return [(k, f"{k.translate(_KEY)}=") for k in named], len(keys) - len(named)

    def _other(self, s: Sample, key: str, ek: str, v: object) -> str | None:
        """A value that is not exactly float/int/str/bool: subclasses (an IntEnum status,
        numpy scalars) as their plain type; anything else is dropped and counted."""
        if isinstance(v, bool):
            return ek + ("true" if v else "false")
        if isinstance(v, int):
            return f"{ek}{int(v)}i"
        if isinstance(v, float):
            f = float(v)
            if f - f != 0:
                self._drop_field(s, key, f"is {f}")
                return None
            r = repr(f)
            return ek + (r[:-2] if r.endswith(".0") else r)
        if isinstance(v, str):
            return f'{ek}"{str(v).translate(_STRING)}"'
        self._drop_field(s, key, f"has a {type(v).__name__} value")
        return None

    def _drop_field(self, s: Sample, key: str, why: str) -> None:
        self.dropped_fields += 1
        log.debug("line protocol: %s.%s %s; field dropped", s.measurement, key, why)

    def line(self, s: Sample) -> str | None:
        tags = s.tags
        pkey = (s.measurement, tuple(tags.items())) if tags else s.measurement
        prefix = self._prefixes.get(pkey)
        if prefix is None:
            if len(self._prefixes) >= _CACHE_MAX:
                self._prefixes.clear()
            prefix = self._prefixes[pkey] = self._prefix(s)
        if not prefix:
            self.dropped_points += 1
            log.debug("line protocol: a sample without a measurement name dropped")
            return None
        fields = s.fields
        fkey = tuple(fields)
        cached = self._plans.get(fkey)
        if cached is None:
            if len(self._plans) >= _CACHE_MAX:
                self._plans.clear()
            cached = self._plans[fkey] = self._plan(fkey)
        plan, dropped = cached  # dropped: fields with an empty name
        out = []
        for k, ek in plan:
            v = fields[k]
            t = type(v)
            if t is float:
                if v - v != 0:  # NaN or ±inf: not representable
                    self._drop_field(s, k, f"is {v}")
                    continue
                r = repr(v)
                out.append(ek + (r[:-2] if r.endswith(".0") else r))
            elif t is int:
                out.append(f"{ek}{v}i")
            elif t is str:
                out.append(f'{ek}"{v.translate(_STRING)}"')
            elif t is bool:
                out.append(ek + ("true" if v else "false"))
            else:
                text = self._other(s, k, ek, v)
                if text is not None:
                    out.append(text)
        if dropped:
            self.dropped_fields += dropped
        if not out:
            self.dropped_points += 1
            return None
        return f"{prefix}{','.join(out)} {s.time}"

    def lines(self, samples: Iterable[Sample]) -> list[str]:
        out = []
        line = self.line
        for s in samples:
            text = line(s)
            if text is not None:
                out.append(text)
        return out

    def encode(self, samples: Iterable[Sample], native: bool = NATIVE) -> tuple[bytes, int]:
        """A batch as UTF-8 bytes, a newline after every line, and the number of lines: what
        the spool stores. The C loop (_lineproto.c) writes the same bytes as `lines()` and
        leaves every sample outside the common case to `line()`; a lone surrogate in a name
        or value is written as '?' by both."""
        if native and _lineproto is not None:
            data, n, empty_keys = _lineproto.encode(
                samples if isinstance(samples, list) else list(samples), self)
            self.dropped_fields += empty_keys
            return data, n
        lines = self.lines(samples)
        if not lines:
            return b"", 0
        return ("\n".join(lines) + "\n").encode("utf-8", "replace"), len(lines)
