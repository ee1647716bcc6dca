"""Setting types the collectors share, checked when the inventory loads (not every cycle)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator


def _compiles(v: str) -> str:
    try:
        re.compile(v)
    except re.error as e:
        raise ValueError(f"not a regular expression: {e}") from None
    return v


Regex = Annotated[str, AfterValidator(_compiles)]  # a Python regular expression
