"""Every parser's expectations as data files: raw output in, expected records out.

A case is `collectors/<family>/testdata/<parser>/<case>.yaml`:

    parser: collectors.linux.parse:filesystems   # module:function, pure
    inputs: [rhel7_kb.txt, rhel7_inodes.txt]     # raw output files beside the case, in order
    args: {exit_status: 0}                       # more keyword arguments (optional)
    expected: [...]                              # what it returns, as JSON (below)
    # or, for input the parser must refuse:
    error: "unparseable"                         # a regex its exception's message matches

The result is compared as JSON: dataclasses as mappings, tuples as lists, objects with
`to_dict()` by it, floats to 1e-9 relative. `XUNJIAN_WRITE_EXPECTED=1` fills `expected:` of
the cases that have none (a draft: read it against the raw output before committing).
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted(ROOT.glob("collectors/*/testdata/*/*.yaml"))


def jsonable(v: Any) -> Any:
    if hasattr(v, "to_dict") and not isinstance(v, type):
        return jsonable(v.to_dict())
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, enum.Enum):
        return jsonable(v.value)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, set | frozenset):
        return sorted(jsonable(x) for x in v)
    return v


def same(got: Any, want: Any, where: str = "") -> str | None:
    """None when equal, else where they first differ."""
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(got, int | float) and isinstance(want, int | float) and not isinstance(got, bool) \
                and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            return None
        return f"{where or '.'}: got {got!r}, expected {want!r}"
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return f"{where or '.'}: keys {sorted(set(got) ^ set(want))} differ"
        for k in want:
            d = same(got[k], want[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return f"{where or '.'}: {len(got)} items, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            d = same(g, w, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if got == want and type(got) is type(want) else \
        f"{where or '.'}: got {got!r}, expected {want!r}"


def call(case: Path, spec: dict[str, Any]) -> Any:
    module, _, name = str(spec["parser"]).partition(":")
    fn = getattr(importlib.import_module(module), name)
    inputs = [(case.parent / f).read_text(encoding="utf-8", errors="surrogateescape")
              for f in spec.get("inputs", [])]
    return fn(*inputs, **(spec.get("args") or {}))


def test_there_are_parser_cases() -> None:
    assert len(CASES) >= 1, "no parser data files found under collectors/*/testdata/"


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(ROOT / "collectors")) for c in CASES])
def test_parser_case(case: Path) -> None:
    spec = yaml.safe_load(case.read_text(encoding="utf-8"))
    assert isinstance(spec, dict) and "parser" in spec, f"{case}: parser: module:function expected"
    if "error" in spec:
        with pytest.raises(Exception) as e:  # the parser's own error type varies
            call(case, spec)
        assert re.search(spec["error"], str(e.value)), f"{case}: {e.value!s} does not match {spec['error']!r}"
        return
    got = jsonable(call(case, spec))
    if "expected" not in spec and os.environ.get("XUNJIAN_WRITE_EXPECTED"):
        with case.open("a", encoding="utf-8") as f:
            yaml.safe_dump({"expected": got}, f, allow_unicode=True, sort_keys=False)
        pytest.skip("expected written: read it before committing")
    assert "expected" in spec, f"{case}: no expected: (XUNJIAN_WRITE_EXPECTED=1 drafts it)"
    diff = same(got, spec["expected"])
    assert diff is None, f"{case}: {diff}"
