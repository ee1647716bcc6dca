"""clean-logs through the real sshd, on a hostile tree: plan and apply touch exactly the
expected files, checked by listing the whole tree before and after."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from agent.playbook.audit import history
from core.problems import ConfigError
from tests.playbook_env import device, give, listing, request, runner, workspace, write_file, yes

pytestmark = pytest.mark.peers


def hostile_tree(ws: Path, user: str) -> float:
    now = time.time()
    logs, outside = ws / "logs", ws / "outside"
    write_file(outside / "secret.log", 500, 90, now)  # old, matches: must survive
    write_file(outside / "deep" / "other.log", 500, 90, now)
    for i in range(8):  # app.log.1 … app.log.8, one day apart, app.log.8 the oldest
        write_file(logs / "app" / f"app.log.{i + 1}", 1000 + i, 10 + i, now)
    write_file(logs / "app" / "app.log", 3000, 0, now)  # today's: too new
    write_file(logs / "app" / "old.log.gz", 700, 40, now)
    write_file(logs / "app" / "x;rm -rf ~", 321, 60, now)
    write_file(logs / "app" / "$(touch PWNED).log", 123, 60, now)
    write_file(logs / "app" / "keep.txt", 50, 99, now)  # not a pattern
    (logs / "escape").symlink_to(outside)  # an escaping symlink to a directory
    (logs / "app" / "link.log").symlink_to(outside / "secret.log")  # and to a file
    (ws / "logs-link").symlink_to(logs / "app")  # a root given through a symlink is resolved
    give(ws, user)
    return now


def test_clean_logs_plan_and_apply_touch_exactly_the_selected_files(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        hostile_tree(ws, ssh_peer.user)
        dev = device(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        r = runner(tmp_path)
        params = {"patterns": "*.log,*.log.*,*.gz,x*", "older_than_days": "7", "keep_newest": "2"}
        before = listing(ws)

        plan = r.plan(request(dev, "clean-logs", params))
        assert plan.result == "planned", plan.message
        assert listing(ws) == before  # a plan changes nothing
        app = ws / "logs" / "app"
        # *.log.* (app.log.1…8 and old.log.gz, the first pattern that matches) keeps its 2 newest;
        # *.log keeps app.log and $(touch PWNED).log; x* has one file, kept as its newest
        planned = {f.path for p in plan.planned if p.step.type == "delete" for f in p.files}
        expected = {str(app / f"app.log.{i}") for i in range(3, 9)} | {str(app / "old.log.gz")}
        assert planned == expected
        assert not any("outside" in f or "secret" in f for f in planned)

        res = r.apply(request(dev, "clean-logs", params), yes)
        assert res.result == "ok", res.message
        after = listing(ws)
        removed = set(before) - set(after)
        assert removed == {f"logs/app/app.log.{i}" for i in range(3, 9)} | {"logs/app/old.log.gz"}
        assert {k: v for k, v in before.items() if k not in removed} == after
        assert res.bytes_freed == {str(ws / "logs"): sum(1000 + i for i in range(2, 8)) + 700}
        assert not (Path(os.path.expanduser("~" + ssh_peer.user)) / "PWNED").exists()

        rows = history(r.engine, device="testhost")
        assert [row["mode"] for row in rows] == ["apply", "plan"]
        assert rows[0]["bytes_freed"] == sum(1000 + i for i in range(2, 8)) + 700
        assert rows[0]["actor"] == "tester" and rows[0]["params"]["older_than_days"] == 7
        assert any("rm -f --" in c["command"] for c in rows[0]["outputs"]["commands"])
        assert rows[0]["outputs"]["before"][f"disk {ws / 'logs'}"]["used_percent"] >= 0


def test_hostile_names_are_deleted_safely_and_gzip(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        hostile_tree(ws, ssh_peer.user)
        dev = device(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        r = runner(tmp_path)
        before = listing(ws)
        params = {"roots": str(ws / "logs-link"), "patterns": "x*,$(touch*,*.gz,app.log.[5-8]",
                  "older_than_days": "1", "keep_newest": "0", "gzip": "true"}
        res = r.apply(request(dev, "clean-logs", params), yes)
        assert res.result == "ok", res.message
        after = listing(ws)
        app = "logs/app/"
        gone = {app + "x;rm -rf ~", app + "$(touch PWNED).log", app + "old.log.gz"} | {
            f"{app}app.log.{i}" for i in range(5, 9)}
        assert set(before) - set(after) == gone
        made = set(after) - set(before)
        assert made == {app + "x;rm -rf ~.gz", app + "$(touch PWNED).log.gz"} | {
            f"{app}app.log.{i}.gz" for i in range(5, 9)}
        assert gzip.decompress((ws / app / "x;rm -rf ~.gz").read_bytes()) == b"x" * 321
        assert {k: v for k, v in before.items() if k not in gone} == {
            k: v for k, v in after.items() if k not in made}
        assert not (ws / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize("root", ["outside", "logs/escape", "logs/../outside", "logs/nope"])
def test_roots_outside_the_allowed_ones_are_refused(tmp_path: Path, ssh_peer, root: str) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        hostile_tree(ws, ssh_peer.user)
        dev = device(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        r = runner(tmp_path)
        before = listing(ws)
        params = {"roots": str(ws / root), "older_than_days": "0", "keep_newest": "0"}
        plan = r.plan(request(dev, "clean-logs", params))
        assert plan.result == "refused"
        assert "not under an allowed root" in plan.message or "does not exist" in plan.message
        res = r.apply(request(dev, "clean-logs", params), yes)
        assert res.result == "refused" and not res.outcomes
        assert listing(ws) == before


@pytest.mark.parametrize("pattern", ["../outside/*.log", "*/secret.log", ".."])
def test_globs_that_would_leave_the_root_are_refused(pattern: str) -> None:
    from agent.playbook.catalog import bind, load_catalog

    with pytest.raises(ConfigError, match="file-name glob without '/'"):
        bind(load_catalog()["clean-logs"], {"patterns": pattern})


def test_no_allowed_roots_refuses(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    dev = device(tmp_path, ssh_peer, {})
    plan = runner(tmp_path).plan(request(dev, "clean-logs", {}))
    assert plan.result == "refused" and "allows no roots" in plan.message


def test_file_changed_after_the_plan_is_left_alone(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    with workspace(ssh_peer) as ws:
        hostile_tree(ws, ssh_peer.user)
        dev = device(tmp_path, ssh_peer, {"allowed_roots": [str(ws / "logs")]})
        target = ws / "logs" / "app" / "app.log.8"

        def meddle(res) -> bool:  # type: ignore[no-untyped-def]
            with target.open("ab") as f:  # someone writes to it between plan and action
                f.write(b"more")
            return True

        params = {"patterns": "app.log.8", "older_than_days": "1", "keep_newest": "0"}
        res = runner(tmp_path).apply(request(dev, "clean-logs", params), meddle)
        assert res.result == "ok"
        assert target.exists() and "changed since the plan" in res.outcomes[-1]["message"]
        assert res.bytes_freed == {}
