"""The calendars' date syntax: a date, or an inclusive range `2026-10-01..2026-10-07`."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_RANGE_DAYS = 366  # a longer holiday range is a typo in a year


def _one_date(text: str) -> date:
    if not _DATE_RE.fullmatch(text.strip()):
        raise ValueError(text)
    return date.fromisoformat(text.strip())


def date_range_or_fail(value: Any) -> tuple[date, date]:
    """A date or an inclusive range `2026-10-01..2026-10-07`; ValueError says what was expected."""
    hint = "expected a date like 2026-10-01 or an inclusive range like 2026-10-01..2026-10-07"
    if isinstance(value, datetime):  # YAML reads "2026-10-01 08:00" as a datetime
        raise ValueError(hint + ", without a time of day")
    if isinstance(value, date):
        return value, value
    if not isinstance(value, str):
        raise ValueError(f"{hint}, got {value!r}")
    parts = value.split("..")
    try:
        if len(parts) > 2:
            raise ValueError(value)
        first, last = _one_date(parts[0]), _one_date(parts[-1])
    except ValueError:
        raise ValueError(f"{hint}, got {value!r}") from None
    if last < first:
        raise ValueError(f"range {value!r} ends before it starts")
    if (last - first).days >= _MAX_RANGE_DAYS:
        raise ValueError(f"range {value!r} is longer than a year")
    return first, last
