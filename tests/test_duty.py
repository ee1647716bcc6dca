"""The duty roster (值班表): shifts kept in the store and edited by `xunjian duty`; a new case with no
assignee goes to the person on duty when it opens (an `assign` event by system, a heightened-watch
shift first); reminders name who is on duty as recipients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agent.cases.duty import DutyError, add_shift, people_on_duty, remove_shift, shifts_between
from agent.cases.engine import CaseEngine
from agent.cases.policy import load_case_policy
from agent.cases.queries import case_history, get_case
from agent.hooks.outbox import Outbox
from agent.store.db import open_engine
from agent.store.schema import outbox
from core.model import Status, Verdict
from tests.helpers import cli
from tests.hook_setup import hooks_config
from tests.test_case_engine import CONFIG, Clock, fault, kinds, setup, t
from tests.test_case_intake import phoned
from tests.test_case_reminders import HOOKS, POLICY


def test_shifts_are_kept_validated_and_removed(store: str) -> None:
    ce, _ = setup(store, "2026-11-23 08:00")
    day = add_shift(ce.engine, "day", t("2026-11-23 08:30"), t("2026-11-23 18:00"), ["li.na", "wang"],
                    False, "desk", t("2026-11-22 10:00"))
    night = add_shift(ce.engine, "night", t("2026-11-23 18:00"), t("2026-11-24 08:30"), ["zhao"], False,
                      "desk", t("2026-11-22 10:00"))
    with pytest.raises(DutyError, match=r"end after it starts.*at least one person"):
        add_shift(ce.engine, "bad", t("2026-11-23 18:00"), t("2026-11-23 18:00"), [" "], False, "d", 0.0)
    assert [s.name for s in shifts_between(ce.engine, t("2026-11-23 00:00"), t("2026-11-24 00:00"))] == \
        ["day", "night"]
    assert shifts_between(ce.engine, t("2026-11-24 08:30"), t("2026-11-25 00:00")) == []
    with ce.engine.connect() as conn:
        assert people_on_duty(conn, t("2026-11-23 08:30")) == ["li.na", "wang"]
        assert people_on_duty(conn, t("2026-11-23 18:00")) == ["zhao"]  # the end is not included
        assert people_on_duty(conn, t("2026-11-23 08:29")) == []
    remove_shift(ce.engine, day.id)
    with pytest.raises(DutyError, match=f"no shift {day.id}"):
        remove_shift(ce.engine, day.id)
    assert [s.id for s in shifts_between(ce.engine, 0, t("2027-01-01 00:00"))] == [night.id]


def test_a_new_case_goes_to_the_person_on_duty_and_a_watch_shift_comes_first(store: str) -> None:
    ce, clock = setup(store, "2026-11-23 07:00")
    add_shift(ce.engine, "day", t("2026-11-23 08:30"), t("2026-11-23 18:00"), ["li.na", "wang"], False,
              "desk", 0.0)
    add_shift(ce.engine, "big match", t("2026-11-23 12:00"), t("2026-11-23 14:00"), ["chen"], True,
              "desk", 0.0)
    (kind, case), = ce.apply([fault(instance="/u01")])  # nobody on duty at 07:00: unassigned
    assert kind == "open" and case.assignee is None
    clock.at("2026-11-23 09:00")
    assert [k for k, _ in ce.apply([fault(instance="/u02")])] == ["open", "assign"]
    c = get_case(ce.engine, "F-20261123-0002")
    assert c is not None and c.assignee == "li.na"
    e = case_history(ce.engine, c.number)[-1]
    assert (e["kind"], e["actor"], e["detail"]["to"], e["detail"]["by"], e["detail"]["shift"]) == (
        "assign", "system", "li.na", "duty", "day")
    clock.at("2026-11-23 12:30")  # the watch shift overlaps the day shift: it comes first
    (_, _), (_, watched) = ce.apply([fault(instance="/u03")])
    assert watched.assignee == "chen" and kinds(ce, watched.number) == ["open", "assign"]
    assert case_history(ce.engine, watched.number)[-1]["detail"]["watch"] is True
    # a reported case goes to who was on duty when it was reported (10:00), not when entered
    changes = ce.report(phoned(level=3, reported_at=t("2026-11-23 07:50")), "desk.wang")
    assert "assign" not in [k for k, _ in changes] and changes[-1][1].assignee is None
    changes = ce.report(phoned(level=3, reported_at=t("2026-11-23 10:00")), "desk.wang")
    assert [k for k, _ in changes][:2] == ["open", "assign"] and changes[1][1].assignee == "li.na"


def test_reminders_name_who_is_on_duty_as_recipients(store: str, tmp_path: Path) -> None:
    clock = Clock("2026-11-23 10:00")
    ce = CaseEngine(open_engine(store), load_case_policy(POLICY, "xunjian.yaml"), {}, clock,
                    Outbox(hooks_config(HOOKS, tmp_path)))
    (_, case), = ce.apply([Verdict("db01", "disk_used_percent", Status.WARN, "/u01", 90.0, level=3)])
    ce.act(case.number, "assign", "desk", to="zhang.wei")
    add_shift(ce.engine, "day", t("2026-11-23 11:00"), t("2026-11-23 18:00"), ["li.na"], False, "desk", 0.0)
    clock.at("2026-11-23 11:30")
    assert [k for k, _ in ce.tick()] == ["reminder"]
    e = case_history(ce.engine, case.number)[-1]
    assert e["kind"] == "reminder" and e["detail"]["on_duty"] == ["li.na"]
    with ce.engine.connect() as conn:
        sent = [json.loads(r.payload) for r in conn.execute(outbox.select().where(outbox.c.kind == "reminder"))]
    assert sent[0]["recipients"] == ["duty", "engineer-pool", "team-lead", "zhang.wei", "li.na"]


def test_duty_from_the_command_line(tmp_path: Path) -> None:
    cfg = {**CONFIG, "data_dir": str(tmp_path / "var")}
    (tmp_path / "xunjian.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    base = ("-c", "xunjian.yaml")
    r = cli("duty", "add", "--name", "周末值班", "--start", "2026-11-30 18:00", "--end", "2026-12-01 08:30",
            "-p", "李娜", "-p", "wang", "--watch", "--format", "json", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shift = json.loads(r.stdout)["shift"]
    assert shift["people"] == ["李娜", "wang"] and shift["watch"] is True
    assert shift["starts_at"] == "2026-11-30T10:00:00Z"
    r = cli("duty", "add", "--start", "2026-11-30 18:00", "--end", "2026-11-30 08:00", "-p", "x", *base,
            cwd=tmp_path)
    assert r.returncode == 2 and "end after it starts" in r.stderr and "Traceback" not in r.stderr
    r = cli("duty", "show", "--at", "2026-11-30 20:00", "--days", "2", *base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "on duty at 2026-11-30 20:00 CST: 李娜, wang" in " ".join(r.stdout.split()), r.stdout
    assert "周末值班" in r.stdout and "重要时刻值守" in r.stdout
    r = cli("duty", "show", "--at", "2026-11-30 20:00", "--format", "json", *base, cwd=tmp_path)
    assert json.loads(r.stdout)["on_duty"] == ["李娜", "wang"]
    r = cli("cases", "open", "--reporter", "x", "-m", "no picture", "--reported-at", "2026-11-30 19:00",
            "--format", "json", *base, cwd=tmp_path)
    # (the report is entered now, after its time: it is assigned by the shift of 19:00)
    assert r.returncode == 0, r.stderr
    changes = json.loads(r.stdout)["changes"]
    assert changes[1]["event"] == "assign" and changes[1]["case"]["assignee"] == "李娜"
    r = cli("duty", "remove", str(shift["id"]), *base, cwd=tmp_path)
    assert r.returncode == 0 and f"shift {shift['id']} removed" in r.stdout
    r = cli("duty", "remove", str(shift["id"]), *base, cwd=tmp_path)
    assert r.returncode == 2 and f"no shift {shift['id']}" in r.stderr
    r = cli("duty", "show", "--at", "2026-11-30 20:00", *base, cwd=tmp_path)
    assert "nobody" in r.stdout and "no shifts" in r.stdout
