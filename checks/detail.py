"""A rule's `detail`: a few words from the sample after a verdict's value ("12.3 GiB free on
/dev/sda1"). Pure: a template and a sample's tags and fields in, text out."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|(bytes))?\}")
_BRACES = re.compile(r"[{}]")


def check_template(template: str) -> str:
    """The template as given, or ValueError naming what is wrong in it."""
    if _BRACES.search(_PLACE.sub("", template)):
        raise ValueError("placeholders are {name} or {name|bytes} (a sample tag or field)")
    return template


def size(n: float) -> str:
    """Bytes in binary units, three significant figures: 12.3 GiB, 980 MiB, 512 B."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # not reached


def render(template: str, tags: Mapping[str, str], fields: Mapping[str, object]) -> str:
    """The detail; "" when the sample has none of the names (nothing to add)."""
    found = 0

    def one(m: re.Match[str]) -> str:
        nonlocal found
        name, fmt = m[1], m[2]
        value = tags[name] if name in tags else fields.get(name)
        if value is None or value == "":
            return "?"
        found += 1
        if fmt == "bytes" and isinstance(value, int | float) and not isinstance(value, bool):
            return size(float(value))
        return str(value)

    text = _PLACE.sub(one, template)
    return text if found or not _PLACE.search(template) else ""
