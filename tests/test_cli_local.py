"""`xunjian inspect`, `cases` and `run --once` on the local host (psutil), end to end."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import psutil

from tests.helpers import cli


def inventory(tmp_path: Path, warn: float | None = None, crit: float | None = None,
              extra: str = "") -> Path:
    t = ""
    if warn is not None or crit is not None:
        parts = [f"warn: {warn}"] if warn is not None else []
        parts += [f"crit: {crit}"] if crit is not None else []
        t = f"    thresholds: {{disk_used_percent: {{{', '.join(parts)}}}}}\n"
    p = tmp_path / "inventory.yaml"
    p.write_text("devices:\n  - name: here\n    collectors: [local]\n" + t + extra)
    return p


def root_used_percent() -> float:
    u = psutil.disk_usage("/")
    return 100.0 * u.used / (u.used + u.free)


def inspect(tmp_path: Path, inv: Path, *args: str):  # type: ignore[no-untyped-def]
    return cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), *args)


def test_json_document_and_ok_exit(tmp_path: Path) -> None:
    r = inspect(tmp_path, inventory(tmp_path), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["exit_code"] == 0
    rows = {(x["check"], x["instance"]): x for x in doc["results"]}
    assert rows[("collect.local", "")]["status"] == "ok"
    root = rows[("disk_used_percent", "/")]
    assert set(root) == {"device", "check", "instance", "status", "value", "unit", "threshold",
                         "message", "collected_at", "evidence"}
    assert root["evidence"].split()[-1] == "/"  # its own df-like line
    assert abs(root["value"] - root_used_percent()) < 1.0  # matches what the OS says now
    assert root["unit"] == "%" and root["threshold"] == "warn >= 85%, crit >= 95%"


def test_warn_then_crit_exit_codes_and_cases(tmp_path: Path) -> None:
    pct = root_used_percent()
    r = inspect(tmp_path, inventory(tmp_path, warn=max(pct - 5, 0.01), crit=99.99))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "WARN" in r.stdout
    r = cli("cases", "list", "--data-dir", str(tmp_path / "var"), "--format", "json")
    (case,) = [c for c in json.loads(r.stdout)["cases"] if c["instance"] == "/"]
    assert case["status"] == "open" and case["severity"] == "warn" and case["level"] == 3
    r = inspect(tmp_path, inventory(tmp_path, warn=max(pct - 5, 0.01), crit=max(pct - 1, 0.02)))
    assert r.returncode == 2
    r = cli("cases", "show", case["number"], "--data-dir", str(tmp_path / "var"), "-f", "json")
    doc = json.loads(r.stdout)
    assert doc["case"]["severity"] == "crit" and doc["case"]["level"] == 2
    assert [e["kind"] for e in doc["events"]] == ["open", "update"]
    # back below the thresholds: the case resolves itself
    r = inspect(tmp_path, inventory(tmp_path))
    assert r.returncode == 0
    r = cli("cases", "list", "--data-dir", str(tmp_path / "var"), "--status", "resolved", "-f", "json")
    resolved = [c for c in json.loads(r.stdout)["cases"] if c["number"] == case["number"]]
    assert resolved and resolved[0]["resolved_by"] == "system"


def test_no_store_changes_nothing(tmp_path: Path) -> None:
    r = inspect(tmp_path, inventory(tmp_path, warn=0.01), "--no-store")
    assert r.returncode == 1
    r = cli("cases", "list", "--data-dir", str(tmp_path / "var"), "-f", "json")
    assert json.loads(r.stdout)["cases"] == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return


def test_unreachable_device_is_unknown_not_ok(tmp_path: Path) -> None:
    extra = (f"  - name: gone\n    address: 127.0.0.1\n    port: {closed_port()}\n"
             "    ssh: {user: nobody, connect_timeout: 3}\n")
    r = inspect(tmp_path, inventory(tmp_path, extra=extra), "-f", "json")
    assert r.returncode == 3, r.stdout
    gone = [x for x in json.loads(r.stdout)["results"] if x["device"] == "gone"]
    # the device's connection, once, and the collector that could not run
    assert [(x["check"], x["status"]) for x in gone] == [("collect.device", "unknown"),
                                                         ("collect.linux", "unknown")]
    assert all("connection refused" in x["message"] for x in gone)
    # a CRIT elsewhere outranks the UNKNOWN for the exit code
    r = inspect(tmp_path, inventory(tmp_path, crit=0.01, extra=extra), "--problems")
    assert r.returncode == 2 and "gone" in r.stdout and "UNKNOWN" in r.stdout


def test_run_once_writes_the_store(tmp_path: Path) -> None:
    env = {**os.environ, "XUNJIAN_CONFIG": ""}
    r = cli("run", "--once", "-i", str(inventory(tmp_path)), "--data-dir", str(tmp_path / "var"),
            env=env)
    assert r.returncode == 0, r.stderr
    assert "ran 1 jobs on 1 devices" in r.stderr
    from agent.store.db import open_engine
    from agent.store.samples import read_samples

    got = {s.measurement for s in read_samples(open_engine(tmp_path / "var"), device="here")}
    assert {"disk", "mem", "swap", "cpu", "system"} <= got


def test_help_teaches_with_examples() -> None:
    for args in (["--help"], ["inspect", "--help"], ["run", "--help"], ["inventory", "check", "-h"],
                 ["cases", "list", "--help"]):
        r = cli(*args)
        assert r.returncode == 0, args
    assert "Examples" in cli("inspect", "--help").stdout
    assert cli("--version").stdout.startswith("xunjian ")
