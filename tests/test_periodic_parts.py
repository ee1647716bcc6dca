"""The periodic report's pieces that need no store: periods, the matrix text, version drift,
new and cleared exceptions."""

from __future__ import annotations

from datetime import date

import pytest

from reports.periodic import NO_CHECK, SYMBOLS, matrix_text, parse_period, previous_period
from reports.periodic_changes import exception_changes, version_drift


@pytest.mark.parametrize(("period", "first", "last", "prev_first", "prev_last"), [
    ("2026H1", date(2026, 1, 1), date(2026, 6, 30), date(2025, 7, 1), date(2025, 12, 31)),
    ("2026H2", date(2026, 7, 1), date(2026, 12, 31), date(2026, 1, 1), date(2026, 6, 30)),
    ("2026Q1", date(2026, 1, 1), date(2026, 3, 31), date(2025, 10, 1), date(2025, 12, 31)),
    ("2026-03", date(2026, 3, 1), date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
    ("2026-01", date(2026, 1, 1), date(2026, 1, 31), date(2025, 12, 1), date(2025, 12, 31)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), date(2025, 1, 1), date(2025, 12, 31)),
])
def test_previous_period_is_the_calendar_one(period: str, first: date, last: date, prev_first: date,
                                             prev_last: date) -> None:
    assert parse_period(period) == (first, last)
    assert previous_period(period) == (prev_first, prev_last)


def test_bad_period_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="2026H1"):
        previous_period("2026H3")


def test_matrix_text_has_one_line_per_device_and_distinct_glyphs() -> None:
    devices = [{"name": f"sw{i:02d}", "kind": "switch"} for i in range(60)] + [{"name": "db", "kind": "server"}]
    grid = {"sw00": {"a": "pass", "c": "fail"}, "sw01": {"a": "warn", "b": "not collected", "c": "pass"}}
    text = matrix_text({"devices": devices, "grid": grid}, "switch", ["a", "b", "c"])
    lines = text.split("\n")
    assert len(lines) == 60 + 2  # a line of column numbers every 50 devices
    assert lines[0].strip() == "123" and lines[51].strip() == "123"
    assert lines[1] == "sw00  " + SYMBOLS["pass"] + NO_CHECK + SYMBOLS["fail"]
    assert lines[2] == "sw01  " + SYMBOLS["warn"] + SYMBOLS["not collected"] + SYMBOLS["pass"]
    assert lines[3] == "sw02  " + NO_CHECK * 3  # no result at all
    assert len(set(SYMBOLS.values()) | {NO_CHECK}) == len(SYMBOLS) + 1


def test_version_drift_recommends_the_newest_in_a_group() -> None:
    assets = [
        {"device": "sw1", "kind": "switch", "model": "S12704", "firmware_rev": "V200R021C00SPC100"},
        {"device": "sw2", "kind": "switch", "model": "S12704", "firmware_rev": "V200R019C10SPC500"},
        {"device": "sw3", "kind": "switch", "model": "S5735", "firmware_rev": "V200R019C10SPC500"},
        {"device": "db1", "kind": "server", "model": "R740", "oracle_version": "19.9.0.0"},
        {"device": "db2", "kind": "server", "model": "R740", "oracle_version": "19.21.0.0"},
        {"device": "db3", "kind": "server", "model": "R740", "oracle_version": "19.21.0.0", "serial": "X"},
    ]
    drift = {(d["model"], d["field"]): d for d in version_drift(assets)}
    assert set(drift) == {("S12704", "firmware_rev"), ("R740", "oracle_version")}  # serials are not versions
    assert drift[("S12704", "firmware_rev")]["devices"] == ["sw2"]
    assert drift[("R740", "oracle_version")]["newest"] == "19.21.0.0"  # 21 > 9, not as text
    assert drift[("R740", "oracle_version")]["devices"] == ["db1"]


def test_new_and_cleared_exceptions() -> None:
    def cell(check: str, last: str) -> dict[str, object]:
        return {"check": check, "last": last, "counts": {}}

    matrix = {"a": [cell("disk /", "warn"), cell("disk /u01", "pass"), cell("cpu", "fail")],
              "b": [cell("port_down GE1", "fail")]}
    then = {("a", "disk /"): "pass", ("a", "disk /u01"): "fail", ("a", "cpu"): "fail"}
    new, cleared = exception_changes(matrix, then)
    assert {(x["device"], x["check"]) for x in new} == {("a", "disk /"), ("b", "port_down GE1")}
    assert [(x["device"], x["check"], x["then"]) for x in cleared] == [("a", "disk /u01", "fail")]


def test_remediation_before_after_in_words() -> None:
    from reports.periodic import _fact, remediation_change

    facts = [_fact("disk /u01", {"used_percent": 91.5, "free": 10}, {"used_percent": 60.25, "free": 99}),
             _fact("jvm base_domain/ms1", {"pids": [123]}, {"pids": [456]}),
             _fact("jvm base_domain/ms2", {"error": "no JVM"}, {"pids": []})]
    r = {"check": "disk_used_percent /u01", "facts": facts,
         "check_before": {"verdict": "fail", "value": 96.0, "unit": "%"},
         "check_after": {"verdict": "pass", "value": 60.3, "unit": "%"}}
    assert remediation_change(r, {"pass": "正常", "fail": "故障"}) == (
        "disk_used_percent /u01: 故障 96% → 正常 60.3%; disk /u01 used: 91.5% → 60.25%; "
        "jvm base_domain/ms1 pids: 123 → 456; jvm base_domain/ms2 pids: no JVM → -")
    # a run without a case: the facts only; a check never inspected after: "-"
    assert remediation_change({**r, "check": "", "facts": []}, {}) == ""
    assert remediation_change({**r, "check_after": None, "facts": []}, {"fail": "fail"}).endswith("fail 96% → -")
