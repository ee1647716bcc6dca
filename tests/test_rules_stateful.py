"""Rules as data and their stateful evaluation: hysteresis, for:, flapping, missing data,
selectors, the user's rules file, and the mistakes a rules file can hold.

Pure functions with explicit `now` values: no sleeping, no store.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from checks.evaluate import DeviceInfo, evaluate, evaluate_cycle
from checks.rules import Rule, RuleSet, load_rules
from core.model import Sample, Status, Verdict
from core.problems import ConfigError
from tests.helpers import user_docs

T0 = 1_800_000_000.0  # 2027-01-15
MIN = 60.0
SRV = DeviceInfo("db01", "server", ("oracle", "dc1"), interval=MIN)


def rules(*specs: dict[str, Any]) -> RuleSet:
    return RuleSet.model_validate({"rules": list(specs)})


def disk_rule(**extra: Any) -> dict[str, Any]:
    return {"name": "disk", "description": "Filesystem space used", "measurement": "disk",
            "field": "used_percent", "instance_tag": "path", "unit": "%", "warn": 85, "crit": 95,
            **extra}


def disk(pct: float, t: float, path: str = "/u01", **tags: str) -> Sample:
    return Sample("disk", {"host": "db01", "path": path, **tags}, {"used_percent": pct}, int(t * 1e9))


class Run:
    """Feeds one series a sample per minute, carrying the state (through JSON, as stored)."""

    def __init__(self, ruleset: RuleSet, device: DeviceInfo = SRV, overrides: Any = None) -> None:
        self.ruleset, self.device, self.overrides = ruleset, device, overrides
        self.state: dict[str, Any] = {}
        self.t = T0

    def cycle(self, samples: list[Sample], now: float | None = None,
              collected: bool = True) -> list[Verdict]:
        now = self.t if now is None else now
        before = copy.deepcopy(self.state)
        verdicts, state = evaluate_cycle(samples, self.device, self.ruleset, self.state, now,
                                         "linux", self.overrides, collected)
        assert self.state == before  # the input state is never changed
        self.state = json.loads(json.dumps(state))
        return verdicts

    def value(self, pct: float, path: str = "/u01") -> Verdict:
        (v,) = self.cycle([disk(pct, self.t, path)])
        self.t += MIN
        return v

    def statuses(self, values: list[float]) -> list[str]:
        return [self.value(x).status.label for x in values]


# -- hysteresis -----------------------------------------------------------------------------

def test_clear_levels_hold_a_status_until_the_value_falls_past_them() -> None:
    run = Run(rules(disk_rule(clear={"warn": 80, "crit": 90})))
    assert run.statuses([50, 90, 89.9, 80]) == ["ok", "warn", "warn", "warn"]
    v = run.value(85.5)
    assert v.status is Status.WARN and v.message == \
        "Filesystem space used /u01: 85.5% (beyond warn >= 85%)"
    v = run.value(84)
    assert v.message == "Filesystem space used /u01: 84% (warn held until below 80%)"
    assert v.since == T0 + MIN  # the warn began with the sample at 90
    assert run.statuses([79.9, 84, 96, 91, 90, 89.9, 79]) == [
        "ok", "ok", "crit", "crit", "crit", "warn", "ok"]


def test_clear_levels_for_direction_below() -> None:
    rule = {"name": "free", "measurement": "mem", "field": "available_percent", "unit": "%",
            "direction": "below", "warn": 10, "crit": 5, "clear": {"warn": 15, "crit": 8}}
    run = Run(rules(rule))

    def at(x: float) -> str:
        (v,) = run.cycle([Sample("mem", {}, {"available_percent": x}, int(run.t * 1e9))])
        run.t += MIN
        return v.status.label

    assert [at(x) for x in (20, 9, 14, 15.1, 4, 7.9, 8.1, 16)] == [
        "ok", "warn", "warn", "ok", "crit", "crit", "warn", "ok"]


def test_without_clear_levels_the_threshold_is_the_clear_level() -> None:
    run = Run(rules(disk_rule()))
    assert run.statuses([90, 84.99, 95, 94.99]) == ["warn", "ok", "crit", "warn"]


def test_override_keeps_the_hysteresis_band_or_takes_its_own_clear_levels() -> None:
    ruleset = rules(disk_rule(clear={"warn": 80}))
    run = Run(ruleset, overrides={"disk": SimpleNamespace(warn=70, crit=None)})
    assert run.statuses([72, 66, 64.9]) == ["warn", "warn", "ok"]  # band of 5 kept: clear 65
    run = Run(ruleset, overrides={"disk": SimpleNamespace(warn=70, crit=None, clear_warn=69)})
    assert run.statuses([72, 69.5, 68.9]) == ["warn", "warn", "ok"]
    run = Run(ruleset, overrides={"disk": SimpleNamespace(warn=70, crit=80, clear_warn=75)})
    assert run.statuses([72, 69]) == ["warn", "ok"]  # a clear level beyond the threshold: none
    assert run.value(81).threshold == "warn >= 70%, crit >= 80%"


# -- for: N samples or a duration ---------------------------------------------------------

def test_for_samples_delays_a_worse_status_not_an_improvement() -> None:
    run = Run(rules(disk_rule(**{"for": {"samples": 3}})))
    v1, v2 = run.value(90), run.value(91)
    assert (v1.status, v2.status) == (Status.OK, Status.OK)
    assert v2.message.endswith("(warn for 2 of 3 samples)")
    v3 = run.value(92)
    assert v3.status is Status.WARN and v3.since == T0  # since the first of the three
    assert run.value(50).status is Status.OK  # better at once
    assert run.statuses([90, 90, 50, 90, 90]) == ["ok", "ok", "ok", "ok", "ok"]  # streak broken
    # after 90, 90: warn's streak reaches 3 with the first 96; crit's with the third
    assert run.statuses([96, 96, 96]) == ["warn", "warn", "crit"]
    run2 = Run(rules(disk_rule(**{"for": {"samples": 2}})))
    assert run2.statuses([90, 96, 96, 90, 96]) == ["ok", "warn", "crit", "warn", "warn"]


def test_for_duration_counts_the_time_since_the_first_bad_sample() -> None:
    run = Run(rules(disk_rule(**{"for": "5m"})))
    assert run.statuses([90] * 5) == ["ok"] * 5
    v = run.value(90)  # five minutes after the first
    assert v.status is Status.WARN and v.since == T0
    assert "warn for" not in v.message
    run = Run(rules(disk_rule(**{"for": "5m"})))
    run.statuses([90] * 4)
    assert "(warn for 4m of 5m)" in run.value(90).message


def test_for_combines_with_hysteresis() -> None:
    run = Run(rules(disk_rule(clear={"warn": 80}, **{"for": {"samples": 2}})))
    assert run.statuses([90, 90, 82, 79, 82, 86, 86]) == [
        "ok", "warn", "warn", "ok", "ok", "ok", "warn"]


# -- flapping -----------------------------------------------------------------------------

def test_flapping_holds_the_worst_status_then_settles() -> None:
    run = Run(rules(disk_rule(flapping={"changes": 3, "window": "30m"})))
    out = [run.value(x) for x in (90, 50, 90, 50)]
    assert [v.status.label for v in out] == ["warn", "ok", "warn", "ok"]
    assert not any(v.flapping for v in out)
    v = run.value(96)  # the fourth change within 30 minutes (the first status is none): flapping
    assert v.flapping and v.status is Status.CRIT and v.level == 2
    held = run.value(50)
    assert held.flapping and held.status is Status.CRIT  # holds the worst seen in the window
    assert "flapping: 5 status changes in 30m, holding crit" in held.message
    assert held.since == T0 + 4 * MIN
    # quiet: the changes leave the window one by one; at ≤ 1 (3 / 2) it stops flapping
    labels = [run.value(50) for _ in range(40)]
    first_ok = next(i for i, v in enumerate(labels) if not v.flapping)
    assert all(v.status is Status.CRIT for v in labels[:first_ok])
    assert labels[first_ok].status is Status.OK and not labels[first_ok].flapping
    assert all(v.status is Status.OK for v in labels[first_ok:])
    changes_left = [c for c in run.state["series"]["disk"]["/u01"].get("fc", [])]
    assert len(changes_left) <= 1


def test_flapping_needs_more_than_k_changes_within_the_window() -> None:
    run = Run(rules(disk_rule(flapping={"changes": 3, "window": "10m"})))
    statuses = []
    for x in (90, 50, 90, 50, 90, 50):  # a change every 5 minutes: at most 2 in any 10m window
        statuses.append(run.value(x))
        run.t += 4 * MIN
    assert not any(v.flapping for v in statuses)
    assert [v.status.label for v in statuses] == ["warn", "ok"] * 3


# -- missing data and forgetting ---------------------------------------------------------

def test_missing_samples_become_unknown_then_forgotten() -> None:
    run = Run(rules(disk_rule(levels={"unknown": 2}, missing={"intervals": 3, "forget": "1d"})))
    assert run.value(90).status is Status.WARN
    assert run.cycle([], now=T0 + 1 * MIN) == []
    assert run.cycle([], now=T0 + 2 * MIN) == []
    (v,) = run.cycle([], now=T0 + 3 * MIN)
    assert v.status is Status.UNKNOWN and v.level == 2 and v.instance == "/u01"
    assert v.message == "Filesystem space used /u01: not collected: no sample for 3m"
    assert v.since == T0 + 3 * MIN and v.value is None
    (v,) = run.cycle([], now=T0 + 2 * 3600)
    assert v.status is Status.UNKNOWN and v.since == T0 + 3 * MIN and "for 2h" in v.message
    (v,) = run.cycle([], now=T0 + 86400)
    assert v.status is Status.OK and v.check == "disk" and v.instance == "/u01"
    assert v.message == "Filesystem space used /u01: no longer reported (no sample for 1d)"
    assert run.state["series"] == {}
    assert run.cycle([], now=T0 + 86400 + MIN) == []


def test_a_series_that_returns_after_missing_starts_a_new_status() -> None:
    run = Run(rules(disk_rule()))
    run.value(50)
    (v,) = run.cycle([], now=T0 + 5 * MIN)
    assert v.status is Status.UNKNOWN
    (v,) = run.cycle([disk(50, T0 + 6 * MIN)], now=T0 + 6 * MIN)
    assert v.status is Status.OK and v.since == T0 + 6 * MIN


def test_only_unseen_series_go_missing_and_not_when_collection_failed() -> None:
    run = Run(rules(disk_rule()))
    run.cycle([disk(50, T0, "/u01"), disk(50, T0, "/u02")], now=T0)
    for i in range(1, 4):
        out = run.cycle([disk(50, T0 + i * MIN, "/u01")], now=T0 + i * MIN)
    assert [(v.instance, v.status) for v in out] == [("/u01", Status.OK), ("/u02", Status.UNKNOWN)]
    run = Run(rules(disk_rule()))
    run.cycle([disk(50, T0)], now=T0)
    assert run.cycle([], now=T0 + 10 * MIN, collected=False) == []  # its collection verdict says it
    (v,) = run.cycle([], now=T0 + 2 * 86400, collected=False)
    assert v.status is Status.OK and "no longer reported" in v.message


def test_missing_data_needs_an_interval_and_can_be_turned_off() -> None:
    run = Run(rules(disk_rule()), device=DeviceInfo("db01", "server"))  # interval unknown
    run.value(50)
    assert run.cycle([], now=T0 + 3600) == []
    run = Run(rules(disk_rule(missing={"intervals": 0})))
    run.value(50)
    assert run.cycle([], now=T0 + 3600) == []


def test_a_removed_or_disabled_rule_resolves_its_series() -> None:
    run = Run(rules(disk_rule()))
    run.value(90)
    run.ruleset = rules(disk_rule(enabled=False))
    (v,) = run.cycle([disk(90, run.t)])
    assert v.status is Status.OK and "no longer checked" in v.message and v.check == "disk"
    assert run.state["series"] == {}


def test_a_changed_selector_drops_series_it_no_longer_selects_at_once() -> None:
    run = Run(rules(disk_rule()))
    run.cycle([disk(90, T0, "/u01"), disk(90, T0, "/boot")])
    run.ruleset = rules(disk_rule(match={"path": "!/boot"}))
    out = run.cycle([disk(90, T0 + MIN, "/u01"), disk(90, T0 + MIN, "/boot")], now=T0 + MIN)
    assert [(v.instance, v.status.label) for v in out] == [("/u01", "warn"), ("/boot", "ok")]
    assert "no longer checked" in out[1].message
    assert list(run.state["series"]["disk"]) == ["/u01"]


# -- selectors ---------------------------------------------------------------------------

def test_match_globs_on_sample_tags_with_exclusions() -> None:
    rs = rules(disk_rule(match={"path": ["/u0*", "/data/*", "!/u09"], "fstype": "xfs"}))
    samples = [disk(90, T0, p, fstype=f) for p, f in
               [("/u01", "xfs"), ("/u09", "xfs"), ("/data/x", "xfs"), ("/u02", "ext4"), ("/", "xfs"),
                ("/data", "xfs")]]
    verdicts, _ = evaluate_cycle(samples, SRV, rs, {}, T0)
    assert [v.instance for v in verdicts] == ["/u01", "/data/x"]
    assert [v.instance for v in evaluate(samples, "db01", rs)] == ["/u01", "/data/x"]
    # a tag the sample lacks is matched as ""
    rs = rules(disk_rule(match={"mode": "!ro"}))
    assert len(evaluate([disk(90, T0)], "db01", rs)) == 1


def test_kinds_and_groups_select_devices() -> None:
    rs = rules(disk_rule(name="disk_srv", kinds=["server"]), disk_rule(name="disk_sw", kinds=["switch"]),
               disk_rule(name="disk_ora", groups=["oracle", "mysql"]), disk_rule(name="disk_web", groups=["web"]))
    verdicts, _ = evaluate_cycle([disk(50, T0)], SRV, rs, None, T0)
    assert [v.check for v in verdicts] == ["disk_srv", "disk_ora"]
    assert [v.check for v in evaluate([disk(50, T0)], SRV, rs)] == ["disk_srv", "disk_ora"]
    sw = DeviceInfo("core1", "switch", ("web",), MIN)
    verdicts, _ = evaluate_cycle([disk(50, T0)], sw, rs, None, T0)
    assert [v.check for v in verdicts] == ["disk_sw", "disk_web"]


def test_text_rules_keep_state_too() -> None:
    rs = rules({"name": "wls_state", "description": "WebLogic server", "measurement": "weblogic",
                "field": "state", "instance_tag": "server", "for": {"samples": 2},
                "states": {"RUNNING": "ok", "ADMIN": "warn", "FAILED": "crit"},
                "levels": {"warn": 3, "crit": 1, "unknown": 2}})
    run = Run(rs)

    def at(state: str) -> Verdict:
        (v,) = run.cycle([Sample("weblogic", {"server": "ms1"}, {"state": state}, int(run.t * 1e9))])
        run.t += MIN
        return v

    assert [at(s).status.label for s in ("RUNNING", "FAILED", "FAILED", "SHUTDOWN")] == [
        "ok", "ok", "crit", "unknown"]
    v = at("RUNNING")
    assert v.status is Status.OK and v.value is None
    v1, v2 = at("FAILED"), at("FAILED")
    assert v1.status is Status.OK and v2.status is Status.CRIT
    assert v2.message == "WebLogic server ms1: FAILED (expected RUNNING)" and v2.level == 1


def test_several_samples_of_one_series_in_a_cycle_give_one_verdict() -> None:
    rs = rules(disk_rule(**{"for": {"samples": 3}}))
    verdicts, state = evaluate_cycle([disk(90, T0), disk(90, T0 + 10), disk(90, T0 + 20)], SRV, rs,
                                     None, T0 + 30)
    (v,) = verdicts
    assert state["series"]["disk"]["/u01"]["seen"] == T0 + 30
    assert v.status is Status.WARN and v.collected_at == T0 + 20


# -- state ---------------------------------------------------------------------------------

def test_state_survives_json_and_gives_the_same_verdicts() -> None:
    rs = rules(disk_rule(clear={"warn": 80}, **{"for": {"samples": 2}},
                         flapping={"changes": 2, "window": "1h"}),
               {"name": "mem", "measurement": "mem", "field": "used_percent", "warn": 90, "for": "2m"})
    values = [50, 90, 91, 70, 90, 96, 96, 50, 97, 97, 97, 20]
    plain: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    for i, x in enumerate(values):
        t = T0 + i * MIN
        samples = [disk(x, t), disk(x, t, "/u02"), Sample("mem", {}, {"used_percent": x}, int(t * 1e9))]
        if i == 5:
            samples = samples[1:]  # /u01 skipped once
        a, plain = evaluate_cycle(samples, SRV, rs, plain, t)
        b, stored = evaluate_cycle(samples, SRV, rs, stored, t)
        assert a == b and plain == stored
        stored = json.loads(json.dumps(stored))
    assert json.loads(json.dumps(plain)) == plain
    assert set(plain) == {"v", "sel", "series"} and set(plain["series"]) == {"disk", "mem"}


def test_unknown_or_empty_state_starts_afresh() -> None:
    rs = rules(disk_rule())
    for state in (None, {}, {"v": 99, "series": {"disk": "junk"}}):
        (v,), new = evaluate_cycle([disk(90, T0)], SRV, rs, state, T0)
        assert v.status is Status.WARN and new["v"] == 1


def test_the_shipped_disk_rule_runs_statefully() -> None:
    (v,), _ = evaluate_cycle([disk(96, T0, "/")], SRV, load_rules(), None, T0)
    assert v.check == "disk_used_percent" and v.status is Status.CRIT and v.level == 2
    assert v.since == T0 and v.flapping is False


# -- the user's rules file ------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_user_file_overrides_shipped_rules_by_name_and_adds_new_ones(tmp_path: Path) -> None:
    shipped = load_rules().by_name()["disk_used_percent"]
    p = write(tmp_path, """
rules:
  - name: disk_used_percent
    warn: 80
    clear: {warn: 75}
    levels: {crit: 1}
    for: 10m
  - name: load5
    description: Load average (5 min)
    measurement: system
    field: load5
    warn: 8
    crit: 16
collection: {level: 2}
""")
    rs = load_rules(p)
    disk_rule_, load = rs.rules[0], rs.by_name()["load5"]
    assert disk_rule_.name == "disk_used_percent" and disk_rule_.warn == 80
    assert disk_rule_.crit == shipped.crit == 95 and disk_rule_.measurement == "disk"
    assert (disk_rule_.levels.warn, disk_rule_.levels.crit) == (shipped.levels.warn, 1)
    assert disk_rule_.clear is not None and disk_rule_.clear.warn == 75 and disk_rule_.for_ == "10m"
    assert load.crit == 16 and rs.collection.level == 2
    assert [r.name for r in rs.rules][-1] == "load5"


def test_user_file_can_turn_a_rule_off(tmp_path: Path) -> None:
    rs = load_rules(write(tmp_path, "rules:\n  - {name: disk_used_percent, enabled: false}\n"))
    assert "disk_used_percent" not in rs.by_name()
    assert evaluate([disk(99, T0, "/")], "db01", rs) == []
    assert load_rules(write(tmp_path, "")).by_name().keys() == load_rules().by_name().keys()


BAD = [
    ("rules:\n  - name: disk_used_percent\n    warn: 90\n    clear: {warn: 92}\n",
     "rules[0].clear", "clear.warn (92) must be at or below warn (90) for direction 'above'"),
    ("rules:\n  - name: disk_used_percent\n    clear: {warn: 92}\n",
     "rules[0].clear", "must be at or below warn (85)"),
    ("rules:\n  - {name: x, measurement: m, field: f, warn: 5, clear: {crit: 4}}\n",
     "rules[0].clear", "clear.crit given but the rule has no crit threshold"),
    ("rules:\n  - {name: x, measurement: m, field: f, direction: below, warn: 5, clear: {warn: 4}}\n",
     "rules[0].clear", "must be at or above warn (5) for direction 'below'"),
    ("rules:\n  - {name: disk_used_percent, for: 3}\n", "rules[0].for", "expected {samples: N}"),
    ("rules:\n  - {name: disk_used_percent, for: {samples: 0}}\n", "rules[0].for", "expected {samples: N}"),
    ("rules:\n  - {name: disk_used_percent, for: {sample: 3}}\n", "rules[0].for", "expected {samples: N}"),
    ("rules:\n  - {name: disk_used_percent, for: 5 minutes}\n", "rules[0].for", "not a duration: '5 minutes'"),
    ("rules:\n  - {name: disk_used_percent, flapping: {changes: 3}}\n",
     "rules[0].flapping.window", "required key is missing"),
    ("rules:\n  - {name: disk_used_percent, flapping: {changes: 3, window: 30}}\n",
     "rules[0].flapping.window", "not a duration"),
    ("rules:\n  - {name: disk_used_percent, flapping: {changes: 0, window: 30m}}\n",
     "rules[0].flapping.changes", "greater than or equal to 1"),
    ("rules:\n  - {name: disk_used_percent, missing: {intervals: -1}}\n",
     "rules[0].missing.intervals", "greater than or equal to 0"),
    ("rules:\n  - {name: disk_used_percent, missing: {forget: forever}}\n",
     "rules[0].missing.forget", "not a duration: 'forever'"),
    ("rules:\n  - {name: disk_used_percent, missing: {interval: 3}}\n",
     "rules[0].missing.interval", "unknown key"),
    ("rules:\n  - {name: disk_used_percent, match: {path: []}}\n", "rules[0].match", "one or more non-empty globs"),
    ("rules:\n  - {name: disk_used_percent, kinds: server}\n", "rules[0].kinds", "valid list"),
    ("rules:\n  - {name: disk_used_percent, thresold: 3}\n", "rules[0].thresold", "unknown key"),
    ("rules:\n  - {name: disk_used_percent, direction: sideways}\n", "rules[0].direction", "'above' or 'below'"),
    ("rules:\n  - {name: disk_used_percent, levels: {crit: 4}}\n", "rules[0].levels.crit", "less than or equal to 3"),
    ("rules:\n  - {name: disk_used_percent, warn: 99}\n", "rules[0]",
     "crit (95) must be beyond warn (99) for direction 'above' (merged with the shipped rule 'disk_used_percent')"),
    ("rules:\n  - {name: disk_used_percent, states: {UP: ok}}\n", "rules[0]", "either numbers"),
    ("rules:\n  - {name: load5, field: load5, warn: 8}\n", "rules[0].measurement", "required key is missing"),
    ("rules:\n  - {name: Load5, measurement: system, field: load5}\n", "rules[0].name", "should match pattern"),
    ("rules:\n  - {name: nosuch, enabled: false}\n", "rules[0].name", "no shipped rule named 'nosuch'"),
    ("rules:\n  - {name: a, measurement: m, field: f}\n  - {name: a, measurement: m, field: g}\n",
     "rules[1].name", "rule 'a' is given twice (also rules[0])"),
    ("rules:\n  - {warn: 3}\n", "rules[0].name", "required key is missing"),
    ("rules:\n  - disk_used_percent\n", "rules[0]", "a mapping (one rule) expected"),
    ("rules: {name: disk_used_percent}\n", "rules", "a list of rules expected"),
    ("rule:\n  - {name: disk_used_percent}\n", "rule", "unknown key (expected rules, collection)"),
    ("collection: {level: 0}\n", "collection.level", "greater than or equal to 1"),
    ("- just a list\n", "", "a mapping with `rules:` expected"),
    ("rules:\n  - {name: x\n", "line 3", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "where", "expected"), BAD, ids=[b[1] + ":" + b[2][:30] for b in BAD])
def test_each_mistake_in_a_rules_file_gets_one_clear_message(tmp_path: Path, text: str, where: str,
                                                             expected: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    (problem,) = e.value.problems
    assert problem.file == str(p)
    assert problem.place.startswith(where), problem
    assert expected in problem.expected, problem
    assert str(p) in str(e.value) and "Traceback" not in str(e.value)


def test_duplicate_rule_names_in_a_ruleset_are_refused() -> None:
    with pytest.raises(ValueError, match="rule 'disk' is defined twice"):
        rules(disk_rule(), disk_rule())


def test_rule_model_accepts_for_by_its_python_name() -> None:
    r = Rule(name="x", measurement="m", field="f", warn=1, for_="5m")  # type: ignore[call-arg]
    assert r.for_seconds == 300 and r.for_samples == 0
    assert Rule.model_validate({"name": "x", "measurement": "m", "field": "f",
                                "for": {"samples": 4}}).for_samples == 4


def test_the_readme_example_rules_file_loads(tmp_path: Path) -> None:
    readme = user_docs()
    block = readme.split("A full example, in your rules file:", 1)[1].split("```yaml\n", 1)[1]
    rs = load_rules(write(tmp_path, block.split("```", 1)[0]))
    ora, shipped = rs.by_name()["oracle_fs_used"], rs.by_name()["disk_used_percent"]
    assert ora.for_samples == 3 and ora.flapping is not None and shipped.warn == 90
    dev = DeviceInfo("db01", "server", ("oracle",), MIN)
    verdicts, _ = evaluate_cycle([disk(92, T0, "/u02", fstype="xfs"), disk(92, T0, "/u01/tmp", fstype="xfs")],
                                 dev, rs, None, T0)
    assert [(v.check, v.instance, v.status.label) for v in verdicts] == [
        ("disk_used_percent", "/u02", "warn"), ("oracle_fs_used", "/u02", "ok"),
        ("disk_used_percent", "/u01/tmp", "warn")]
