"""Return visits (回访) after closing: the customer's rating and comment on a closed case, one per
case unless replaced; shown by `cases show` and the fault report, counted by `xunjian sla`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agent.cases.engine import CaseEngine, CaseError
from agent.cases.queries import case_history, visit_of
from reports.docx import docx_parts
from reports.fault import render_fault_report
from reports.sla import sla_summary
from reports.xlsx import xlsx_parts
from tests.helpers import cli
from tests.test_case_engine import CONFIG, fault, kinds, setup, t


def closed_case(ce: CaseEngine) -> str:
    (_, case), = ce.apply([fault()])
    ce.act(case.number, "ack", "zhang.wei")
    ce.act(case.number, "resolve", "zhang.wei")
    ce.act(case.number, "close", "zhang.wei", cause="archive logs", handling="moved them")
    return case.number


def test_a_visit_is_recorded_on_a_closed_case_once_unless_replaced(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")
    (_, open_case), = ce.apply([fault(device="db01", instance="/u02")])
    number = closed_case(ce)
    with pytest.raises(CaseError, match="is open; a return visit needs it closed"):
        ce.act(open_case.number, "visit", "desk.wang", rating=4)
    clock.at("2026-11-24 10:00")
    for rating in (0, 6):
        with pytest.raises(CaseError, match="a rating from 1 to 5"):
            ce.act(number, "visit", "desk.wang", rating=rating)
    with pytest.raises(CaseError, match="between the closing"):
        ce.act(number, "visit", "desk.wang", rating=4, at=t("2026-11-22 10:00"))
    ce.act(number, "visit", "desk.wang", rating=4, comment="quick, but nobody called back",
           at=t("2026-11-24 09:30"))
    v = visit_of(case_history(ce.engine, number))
    assert v is not None and (v["rating"], v["comment"], v["by"]) == (
        4, "quick, but nobody called back", "desk.wang")
    assert v["visited_at"] == t("2026-11-24 09:30") and v["entered_at"] == t("2026-11-24 10:00")
    with pytest.raises(CaseError, match="already has a return visit"):
        ce.act(number, "visit", "desk.li", rating=5)
    ce.act(number, "visit", "desk.li", rating=5, comment="called back", replace=True)
    assert kinds(ce, number)[-2:] == ["visit", "visit"]
    v = visit_of(case_history(ce.engine, number))
    assert v is not None and (v["rating"], v["by"]) == (5, "desk.li")
    md = render_fault_report(ce.engine, ce.policy, number, "md", "en", now=clock())
    assert md is not None and "| Return visit | 5/5 called back (desk.li, 2026-11-24 10:00:00) |" \
        in md.decode(), md.decode()
    zh = render_fault_report(ce.engine, ce.policy, number, "html", "zh-CN", now=clock())
    assert zh is not None and "<th>回访</th><td>5/5 called back" in zh.decode()
    for fmt, parts in (("docx", docx_parts), ("xlsx", xlsx_parts)):
        blob = render_fault_report(ce.engine, ce.policy, number, fmt, "zh-CN", now=clock())
        assert blob is not None and "5/5 called back (desk.li, 2026-11-24 10:00:00)" in parts(blob)[1], fmt


def test_sla_counts_satisfaction_of_the_periods_closed_cases(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 09:00")
    a = closed_case(ce)
    b_ = ce.apply([fault(instance="/u02")])[0][1].number
    ce.act(b_, "resolve", "zhang.wei")
    ce.act(b_, "close", "zhang.wei", cause="c", handling="h")
    ce.apply([fault(instance="/u03")])  # still open: not counted
    c = ce.apply([fault(instance="/u04")])[0][1].number
    ce.act(c, "resolve", "zhang.wei")
    ce.act(c, "close", "zhang.wei", cause="c", handling="h")
    clock.at("2026-11-24 10:00")
    ce.act(a, "visit", "desk.wang", rating=5)
    clock.at("2026-11-25 10:00")
    ce.act(b_, "visit", "desk.wang", rating=2, comment="slow")
    span = (t("2026-11-01 00:00"), t("2026-12-01 00:00"))
    sat = sla_summary(ce.engine, *span, now=clock())["satisfaction"]
    assert sat == {"closed": 3, "visits": 2, "average_rating": 3.5, "visited_share": 0.6667,
                   "ratings": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}
    # as the cases stood on the 24th: one visit so far
    then = sla_summary(ce.engine, *span, now=clock(), as_of=t("2026-11-24 12:00"))["satisfaction"]
    assert (then["visits"], then["average_rating"]) == (1, 5.0)
    assert sla_summary(ce.engine, t("2026-10-01 00:00"), span[0], now=clock())["satisfaction"] == {
        "closed": 0, "visits": 0, "average_rating": None, "visited_share": None,
        "ratings": {str(r): 0 for r in range(1, 6)}}


def test_cases_visit_from_the_command_line(tmp_path: Path) -> None:
    cfg = {**CONFIG, "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    base = ("-c", "xunjian.yaml")
    r = cli("cases", "open", "--reporter", "李娜", "-d", "enc-07", "-m", "7号编码器无图像", "--format",
            "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    number = json.loads(r.stdout)["changes"][0]["case"]["number"]
    r = cli("cases", "visit", number, "--rating", "4", *base, cwd=tmp_path)
    assert r.returncode == 2 and "needs it closed" in r.stderr and "Traceback" not in r.stderr
    for act in (("resolve", number), ("close", number, "--cause", "cable", "--handling", "reseated")):
        r = cli("cases", *act, *base, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    r = cli("cases", "visit", number, "--rating", "9", *base, cwd=tmp_path)
    assert r.returncode == 2 and "a rating from 1 to 5" in r.stderr
    r = cli("cases", "visit", number, "--rating", "4", "--comment", "满意", "--by", "desk.wang", *base,
            cwd=tmp_path)
    assert r.returncode == 0 and f"{number}: visit → closed" in r.stdout, r.stderr
    r = cli("cases", "visit", number, "--rating", "5", *base, cwd=tmp_path)
    assert r.returncode == 2 and "--replace" in r.stderr
    r = cli("cases", "show", number, *base, cwd=tmp_path)
    assert r.returncode == 0 and "return visit: 4/5 满意 (desk.wang," in r.stdout, r.stdout
    r = cli("cases", "show", number, "--format", "json", *base, cwd=tmp_path)
    assert json.loads(r.stdout)["visit"]["rating"] == 4
    r = cli("sla", "--from", "2020-01-01", "--format", "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["satisfaction"]["visits"] == 1
    r = cli("sla", "--from", "2020-01-01", *base, cwd=tmp_path)
    assert "return visits (回访): 1 of 1 closed cases (100%), average rating 4.00/5" in r.stdout, r.stdout
