"""Start-up: a command imports only what it uses (issue 27).

Counted, not timed: the real installed `xunjian` runs with PYTHONPROFILEIMPORTTIME=1 (what
`python -X importtime` does), and the modules it imported are read from stderr.
bench/bench_startup.py measures the CPU time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import cli

# What only reports, SNMP, switch CLIs, SSH or the store need.
HEAVY = ("weasyprint", "matplotlib", "pysnmp", "netmiko", "paramiko", "openpyxl", "docx")
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.M)


def imported(*args: str, cwd: Path) -> set[str]:
    r = cli(*args, cwd=cwd, env={"PYTHONPROFILEIMPORTTIME": "1", "XUNJIAN_CONFIG": ""})
    assert r.returncode == 0, r.stdout + r.stderr
    names = set(IMPORT_LINE.findall(r.stderr))
    assert "agent.cli.main" in names, "no import trace: did PYTHONPROFILEIMPORTTIME take effect?"
    return names


def tops(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_version_imports_no_command_module(tmp_path: Path) -> None:
    names = imported("--version", cwd=tmp_path)
    assert not tops(names) & {*HEAVY, "sqlalchemy", "pydantic", "rich"}
    assert not {n for n in names if n.startswith("agent.") and n != "agent.cli.main"
                and not n.startswith("agent.cli")} - {"agent"}
    assert not [n for n in names if n.startswith("agent.cli.") and n != "agent.cli.main"]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_cases_list_on_an_empty_data_dir_imports_no_heavy_library(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "var"
    data.mkdir()
    names = imported("cases", "list", "--data-dir", str(data), "--format", fmt, cwd=tmp_path)
    assert not tops(names) & set(HEAVY)
    # no store yet: nothing to read, so the database layer is not loaded, and no store is made
    assert "sqlalchemy" not in tops(names)
    assert list(data.iterdir()) == []


def test_cases_list_on_a_store_imports_no_heavy_library(tmp_path: Path) -> None:
    data = tmp_path / "var"
    from agent.store.db import open_engine

    open_engine(data).dispose()
    names = imported("cases", "list", "--data-dir", str(data), cwd=tmp_path)
    assert "sqlalchemy" in tops(names)  # the store was read
    assert not tops(names) & set(HEAVY)


def test_inspect_help_imports_no_collector_library(tmp_path: Path) -> None:
    names = imported("inspect", "--help", cwd=tmp_path)
    assert not tops(names) & {*HEAVY, "sqlalchemy"}


def test_every_command_is_listed_and_loads(tmp_path: Path) -> None:
    # Commands are imported on use: a wrong name in the table would only show when typed.
    from agent.cli.main import COMMANDS, load_command

    r = cli("--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in COMMANDS:
        assert re.search(rf"│ {name}\s", r.stdout), name
        assert load_command(name).name == name
    r = cli("casse", cwd=tmp_path)
    assert r.returncode == 2 and "Did you mean 'cases'" in r.stderr
