"""The optimised stateful evaluator gives the verdicts and state of the plain one.

checks.stateful.evaluate_cycle has its common case written out inline for speed (issue 27);
tests/rules_reference.py keeps the loop it replaced. Hypothesis drives both through the same
cycles — values around thresholds and clear levels, `for:` streaks, flapping, missing and
forgotten series, text states, overrides, a rule changed or removed between cycles, a series
sampled twice in a cycle — and every verdict and every state must be equal.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.rules import RuleSet
from checks.stateful import DeviceInfo, evaluate_cycle
from core.model import Sample
from tests.rules_reference import reference_cycle

T0 = 1_800_000_000.0
DEV = DeviceInfo("db01", "server", ("oracle",), interval=60.0)

RULES: list[dict[str, Any]] = [
    {"name": "disk", "description": "Disk 100% used", "measurement": "disk", "field": "used_percent",
     "instance_tag": "path", "unit": "%", "warn": 80, "crit": 90, "clear": {"warn": 75, "crit": 85},
     "match": {"path": ["/*", "!/boot*"]}},
    {"name": "disk_for", "measurement": "disk", "field": "used_percent", "instance_tag": "path",
     "warn": 80, "crit": 90, "for": {"samples": 2}, "flapping": {"changes": 3, "window": "10m"},
     "missing": {"intervals": 2, "forget": "30m"}},
    {"name": "mem", "description": "Memory", "measurement": "mem", "field": "used_percent", "unit": "%",
     "warn": 80, "crit": 90, "for": "2m", "kinds": ["server"]},
    {"name": "free", "measurement": "mem", "field": "free_mb", "unit": " MB", "direction": "below",
     "warn": 500, "crit": 100, "clear": {"warn": 600}, "flapping": {"changes": 2, "window": "5m"}},
    {"name": "port", "measurement": "port", "field": "oper", "instance_tag": "if",
     "states": {"up": "ok", "down": "crit"}, "other": "warn"},
    {"name": "load", "measurement": "mem", "field": "load", "warn": 4, "crit": 8, "groups": ["oracle"],
     "missing": {"intervals": 1, "forget": "5m"}},
]
CHANGED = [{**RULES[0], "match": {"path": ["/a"]}}, *RULES[1:3], *RULES[4:]]  # disk narrowed, free gone
VALUES = [-5.0, 0, 50, 74.9, 75, 79.9, 80, 84, 85, 86, 89.9, 90, 95, 100, 99, 450, 550, 650, 90,
          2_500_000.5, True, "n/a"]


def sample(kind: str, inst: str, value: Any, t: float) -> Sample:
    ns = int(t * 1e9)
    if kind == "disk":
        return Sample("disk", {"host": "db01", "path": inst}, {"used_percent": value}, ns)
    if kind == "port":
        return Sample("port", {"if": inst}, {"oper": value}, ns)
    return Sample("mem", {"host": "db01"}, {"used_percent": value, "free_mb": value, "load": value}, ns)


SERIES = [("disk", "/a"), ("disk", "/b"), ("disk", "/boot"), ("mem", ""), ("port", "ge1"), ("port", "ge2")]
cycle = st.fixed_dictionaries({
    "step": st.sampled_from([0, 30, 60, 60, 60, 120, 240, 2000]),
    "collected": st.booleans() | st.just(True),
    "rules": st.sampled_from(["base", "base", "base", "changed"]),
    "override": st.sampled_from([None, None, {"disk": SimpleNamespace(warn=70.0, crit=None)},
                                 {"free": SimpleNamespace(warn=800.0, crit=50.0, clear_warn=900.0)}]),
    "samples": st.lists(st.tuples(st.sampled_from(SERIES),
                                  st.sampled_from(VALUES) | st.sampled_from(["up", "down", "x"]),
                                  st.integers(0, 20)), max_size=10),
})


@settings(max_examples=400, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=14))
def test_the_optimised_evaluator_matches_the_reference(cycles: list[dict[str, Any]]) -> None:
    base, changed = RuleSet.model_validate({"rules": RULES}), RuleSet.model_validate({"rules": CHANGED})
    state: dict[str, Any] | None = None
    now = T0
    for c in cycles:
        now += c["step"]
        samples = [sample(kind, inst, value, now - lag) for (kind, inst), value, lag in c["samples"]]
        ruleset = changed if c["rules"] == "changed" else base
        args = (samples, DEV, ruleset, state, now, "linux", c["override"], c["collected"])
        before = json.dumps(state, sort_keys=True)
        got, got_state = evaluate_cycle(*args)
        want, want_state = reference_cycle(*args)
        assert got == want
        assert got_state == want_state
        assert json.dumps(state, sort_keys=True) == before  # the input state is left alone
        state = json.loads(json.dumps(got_state))


def test_an_ok_verdict_formats_its_message_when_read_and_is_a_plain_verdict_otherwise() -> None:
    import copy
    import dataclasses
    import pickle

    from checks.stateful import OkVerdict
    from core.model import Status, Verdict

    rs = RuleSet.model_validate({"rules": RULES[:1]})
    state = evaluate_cycle([sample("disk", "/a", 50.0, T0)], DEV, rs, None, T0)[1]
    (v,) = evaluate_cycle([sample("disk", "/a", 51.25, T0 + 60)], DEV, rs, state, T0 + 60)[0]
    assert isinstance(v, OkVerdict) and v._fmt is not None  # not formatted yet
    plain = Verdict("db01", "disk", Status.OK, "/a", 51.25, "%", "warn >= 80%, crit >= 90%",
                    "Disk 100% used /a: 51.25%", T0 + 60, None, False, T0)
    assert v == plain and plain == v
    assert (v != plain) is False
    assert v.message == "Disk 100% used /a: 51.25%" and v._fmt is None
    assert repr(v) == repr(plain)
    assert dataclasses.asdict(v) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(v)) == plain and copy.deepcopy(v) == plain
    moved = dataclasses.replace(v, message="edited")
    assert moved.message == "edited" and moved != plain
    v.message = "set"
    assert v.message == "set"
