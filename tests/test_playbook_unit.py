"""Pure parts of the playbook engine: parameters, selection, process matching, catalog errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.playbook.catalog import bind, load_catalog
from agent.playbook.files import FileEntry, delete_command, select
from agent.playbook.waits import listening
from agent.playbook.weblogic import jvm_pids
from agent.remediation import ParamSpec, parse_size
from core.problems import ConfigError

DAY = 86400.0


def entry(name: str, age_days: float, size: int = 10, pattern: str = "*.log") -> FileEntry:
    return FileEntry(f"/r/{name}", size, 1000 * DAY - age_days * DAY, 1, "/r", pattern)


def test_select_keeps_newest_and_combines_criteria() -> None:
    files = [entry(f"a{i}.log", i, size=100 * i) for i in range(1, 7)]
    now = 1000 * DAY
    chosen, kept = select(files, now, 3, None, "and", 2)
    assert kept == 2 and [f.path for f in chosen] == ["/r/a4.log", "/r/a5.log", "/r/a6.log"]
    chosen, _ = select(files, now, 3, 450, "and", 0)
    assert [f.path for f in chosen] == ["/r/a5.log", "/r/a6.log"]
    chosen, _ = select(files, now, 5, 250, "or", 0)
    assert [f.path for f in chosen] == ["/r/a3.log", "/r/a4.log", "/r/a5.log", "/r/a6.log"]
    assert select(files, now, None, None, "and", 0) == ([], 0)  # no criterion: nothing


def test_delete_command_quotes_and_guards() -> None:
    f = FileEntry("/r/x;rm -rf ~", 5, 1234.9, 77, "/r", "x*")
    cmd = delete_command(3, f)
    assert "rm -f -- '/r/x;rm -rf ~'" in cmd and "= 77:5:1234 ]" in cmd and "realpath -e --" in cmd


def test_param_types() -> None:
    assert ParamSpec(type="size").coerce("2G") == 2 * 1024**3 and parse_size("500M") == 500 * 1024**2
    assert ParamSpec(type="bool").coerce("yes") is True
    assert ParamSpec(type="list").coerce("a, b,") == ["a", "b"]
    with pytest.raises(ValueError, match="one of east, west"):
        ParamSpec(type="choice", choices=["east", "west"]).coerce("north")
    with pytest.raises(ValueError, match="absolute path"):
        ParamSpec(type="path").coerce("etc/passwd")
    with pytest.raises(ValueError, match="newline"):
        ParamSpec(type="str").coerce("a\nb")
    with pytest.raises(ValueError, match="starting with '-'"):
        ParamSpec(type="str").coerce("--delete-all")
    assert ParamSpec(type="str", pattern="-?[0-9]+").coerce("-5") == "-5"


def test_jvm_pids_match_the_server_name_exactly() -> None:
    ps = ("  101 /usr/java/bin/java -Dweblogic.Name=ms1 -Dx=y weblogic.Server\n"
          "  102 /usr/java/bin/java -Dweblogic.Name=ms10 weblogic.Server\n"
          "  103 grep -Dweblogic.Name=ms1\n"
          "  104 /usr/java/bin/java -Dweblogic.Name=AdminServer weblogic.Server\n")
    assert jvm_pids(ps, "ms1") == [101]
    assert jvm_pids(ps, "AdminServer") == [104]


def test_listening_port() -> None:
    ss = "LISTEN 0 128 127.0.0.1:7001 0.0.0.0:*\nLISTEN 0 128 [::]:22 [::]:*\n"
    assert listening(ss, 7001) and listening(ss, 22) and not listening(ss, 700)


def test_builtins_load_and_bind() -> None:
    cat = load_catalog()
    assert {"clean-logs", "restart-weblogic", "run-command"} <= set(cat)
    b = bind(cat["clean-logs"], {"larger_than": "100M", "combine": "or"})
    find = b.phases["steps"][0]
    assert find.larger_than == 100 * 1024**2 and find.combine == "or"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="required"):
        bind(cat["restart-weblogic"], {})


def test_user_playbook_problems_name_file_and_place(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(json.dumps({
        "name": "bad", "description": "x", "steps": [{"type": "shell", "cmd": "rm -rf /"}]}))
    (tmp_path / "dup.yaml").write_text(json.dumps({
        "name": "clean-logs", "description": "x", "steps": [{"type": "command", "name": "a"}]}))
    with pytest.raises(ConfigError) as e:
        load_catalog(tmp_path)
    text = str(e.value)
    assert f"{tmp_path / 'bad.yaml'}: steps: " in text and "type must be one of" in text
    assert f"{tmp_path / 'dup.yaml'}: name: 'clean-logs' is already defined" in text


def test_cli_list_and_show() -> None:
    from tests.helpers import cli

    r = cli("playbook", "list", "--format", "json")
    assert r.returncode == 0
    names = {p["name"] for p in json.loads(r.stdout)["playbooks"]}
    assert {"clean-logs", "restart-weblogic", "run-command"} <= names
    r = cli("playbook", "show", "restart-weblogic")
    assert r.returncode == 0 and "force_kill" in r.stdout and "recovery" in r.stdout
    r = cli("playbook", "show", "no-such")
    assert r.returncode == 2 and "no such playbook" in r.stderr and "Traceback" not in r.stderr
