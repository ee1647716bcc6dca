"""Hostile and mistaken files, through the installed command: alias bombs, oversized documents,
duplicate keys, values echoed into messages, empty inventories, pathological sizes, a
--playbooks that names no directory. Each answers with one clear message in bounded time and
memory (a deadline on the subprocess, RLIMIT_AS in the child)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import XUNJIAN, cli
from tests.peers import free_port, wait_until

GIB = 2**30
MAX_YAML_BYTES = 32 * 2**20  # core.problems.MAX_YAML_BYTES, as the README says
DEADLINE = 60  # seconds: generous on a busy 2-core host; the answers take about one


def bomb(depth: int, indent: str = "") -> str:
    """The 'billion laughs': ~300 bytes that expand to 9**depth strings."""
    lines = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, depth + 1):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"{indent}l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def local_inventory(tmp_path: Path, extra: str = "") -> Path:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: here\n    collectors: [local]\n" + extra)
    return inv


def secrets_file(tmp_path: Path, text: str) -> Path:
    s = tmp_path / "secrets.yaml"
    s.write_text(text)
    s.chmod(0o600)
    return s


# -- alias bombs and document size -------------------------------------------------------------


def test_alias_bomb_in_the_secrets_file_is_refused_at_once(tmp_path: Path) -> None:
    secrets_file(tmp_path, bomb(9))
    inv = tmp_path / "inventory.yaml"
    inv.write_text("secrets_file: secrets.yaml\ndevices:\n  - name: here\n    collectors: [local]\n"
                   "    ssh: {password: '${secret:l9}'}\n")
    started = time.monotonic()
    r = cli("inventory", "check", "-i", str(inv), timeout=DEADLINE, max_memory=GIB)
    assert r.returncode == 2, r.stdout[-500:] + r.stderr[-500:]
    assert "alias" in r.stderr and "secrets.yaml: line " in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr) < 2000 and time.monotonic() - started < DEADLINE


@pytest.mark.parametrize("where", ["inventory", "config", "rules", "playbook"])
def test_alias_bomb_in_every_file_is_refused_with_its_line(tmp_path: Path, where: str) -> None:
    args = ["inventory", "check"]
    if where == "inventory":  # a value every element of which pydantic would report on
        inv = tmp_path / "inventory.yaml"
        inv.write_text("x-anchors:\n" + bomb(9, "  ") + "devices:\n  - name: here\n    collectors: [local]\n"
                       "    remediation: {commands: {c: {argv: *l9}}}\n")
        args += ["-i", str(inv)]
    elif where == "config":
        inv = local_inventory(tmp_path)
        cfg = tmp_path / "xunjian.yaml"
        cfg.write_text("anchors:\n" + bomb(9, "  ") + "inspections:\n  - name: a\n    at: '09:00'\n"
                       "    devices: *l9\n")
        args += ["-c", str(cfg), "-i", str(inv)]
    elif where == "rules":
        inv = local_inventory(tmp_path)
        rules = tmp_path / "rules.yaml"
        rules.write_text("anchors:\n" + bomb(9, "  ") + "rules: *l9\n")
        cfg = tmp_path / "xunjian.yaml"
        cfg.write_text(f"rules: {rules}\n")
        args = ["inspect", "--no-store", "-c", str(cfg), "-i", str(inv)]
    else:
        d = tmp_path / "playbooks"
        d.mkdir()
        (d / "bomb.yaml").write_text("name: bomb\ndescription: x\nanchors:\n" + bomb(9, "  ")
                                     + "steps: *l9\n")
        args = ["playbook", "list", "--playbooks", str(d)]
    r = cli(*args, cwd=tmp_path, timeout=DEADLINE, max_memory=GIB)
    assert r.returncode == 2, r.stdout[-500:] + r.stderr[-500:]
    assert "aliases expand this document" in r.stderr and ": line " in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr) < 2000


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices: &d\n  - name: here\n    collectors: [local]\n    labels: {x: *d}\n")
    r = cli("inventory", "check", "-i", str(inv), timeout=DEADLINE, max_memory=GIB)
    assert r.returncode == 2 and "recursive alias" in r.stderr, r.stdout[-500:] + r.stderr[-500:]


def test_ordinary_anchors_and_merges_still_load(tmp_path: Path) -> None:
    """Anchors shared by many devices are what aliases are for: they must keep working."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - &dev {name: d0, collectors: [local], labels: {site: a, room: b}}\n"
                   + "".join(f"  - {{<<: *dev, name: d{i}}}\n" for i in range(1, 300)))
    r = cli("inventory", "check", "-i", str(inv), "-f", "json", timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    devs = json.loads(r.stdout)["devices"]
    assert len(devs) == 300 and all(d["labels"] == {"site": "a", "room": "b"} for d in devs)


def test_a_document_over_the_size_cap_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    inv = local_inventory(tmp_path)
    with inv.open("a") as f:  # valid YAML: a comment as large as the cap allows, and more
        f.write("# " + "x" * (MAX_YAML_BYTES + 1000) + "\n")
    r = cli("inventory", "check", "-i", str(inv), timeout=DEADLINE, max_memory=GIB)
    assert r.returncode == 2, r.stdout[-500:] + r.stderr[-500:]
    assert "larger than 32 MiB" in r.stderr and "inventory.yaml" in r.stderr


def test_values_echoed_into_messages_are_shortened(tmp_path: Path) -> None:
    inv = local_inventory(tmp_path)
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text(f"daemon: {{listen: '{'x' * 1_000_000}'}}\n")
    r = cli("inventory", "check", "-c", str(cfg), "-i", str(inv), timeout=DEADLINE)
    assert r.returncode == 2 and "daemon.listen" in r.stderr, r.stderr[-500:]
    assert "(1,000,000 characters)" in r.stderr and len(r.stderr) < 2000


# -- duplicate keys ------------------------------------------------------------------------------


def test_duplicate_keys_are_problems_with_both_lines(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("defaults:\n"
                   "  interval: 30\n"
                   "  interval: 60\n"
                   "devices:\n"
                   "  - name: db01\n"
                   "    address: 10.0.0.1\n"
                   "    ssh: {user: ops, key_file: /k}\n"
                   "    ssh: {connect_timeout: 5}\n")
    r = cli("inventory", "check", "-i", str(inv))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "inventory.yaml: line 3, column 3: duplicate key 'interval' (first at line 2)" in r.stderr
    assert "inventory.yaml: line 8, column 5: duplicate key 'ssh' (first at line 7)" in r.stderr
    assert "2 problems found" in r.stderr


def test_duplicate_keys_in_config_and_secrets_files(tmp_path: Path) -> None:
    inv = local_inventory(tmp_path)
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text("workers: 4\ndata_dir: var\nworkers: 8\n")
    r = cli("inventory", "check", "-c", str(cfg), "-i", str(inv))
    assert r.returncode == 2 and "xunjian.yaml: line 3, column 1: duplicate key 'workers' (first at line 1)" \
        in r.stderr, r.stderr
    secrets_file(tmp_path, "pw: s3cr3t-first\npw: s3cr3t-second\n")
    inv.write_text("secrets_file: secrets.yaml\ndevices:\n  - name: db01\n    address: 10.0.0.1\n"
                   "    ssh: {user: ops, password: '${secret:pw}'}\n")
    r = cli("inventory", "check", "-i", str(inv))
    assert r.returncode == 2 and "secrets.yaml: line 2, column 1: duplicate key 'pw' (first at line 1)" \
        in r.stderr, r.stderr
    assert "s3cr3t" not in r.stderr  # a duplicate names the key, never the values


# -- empty inventories -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "devices: []\n", "defaults: {interval: 60}\n"])
def test_an_inventory_without_devices_is_unknown_not_ok(tmp_path: Path, text: str) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    r = cli("inspect", "--no-store", "-i", str(inv), cwd=tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "UNKNOWN: 0 checks (no devices)" in r.stdout and "no devices: an empty or truncated file" in r.stderr
    r = cli("inspect", "--no-store", "-i", str(inv), "-f", "json", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert r.returncode == 3 and doc["status"] == "unknown" and "no devices" in doc["message"]
    r = cli("inspect", "--no-store", "-i", str(inv), "--allow-empty", cwd=tmp_path)
    assert r.returncode == 0 and "OK: 0 checks" in r.stdout, r.stdout + r.stderr

    r = cli("inventory", "check", "-i", str(inv), cwd=tmp_path)
    assert r.returncode == 2 and "inventory.yaml: devices: no devices" in r.stderr, r.stdout + r.stderr
    assert cli("inventory", "check", "-i", str(inv), "--allow-empty", cwd=tmp_path).returncode == 0


def test_the_daemon_refuses_to_start_on_an_empty_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices: []\n")
    r = cli("run", "--once", "-i", str(inv), "--data-dir", str(tmp_path / "var"), cwd=tmp_path)
    assert r.returncode == 2 and "no devices" in r.stderr, r.stdout + r.stderr
    r = cli("run", "--once", "--allow-empty", "-i", str(inv), "--data-dir", str(tmp_path / "var"),
            cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "has no devices (--allow-empty): nothing will be collected" in r.stderr


def test_the_daemon_refuses_a_reload_to_an_empty_inventory(tmp_path: Path) -> None:
    """An editor that saved half a file, then `xunjian reload`: the old inventory keeps running."""
    port = free_port()
    inv = local_inventory(tmp_path)
    (tmp_path / "xunjian.yaml").write_text(json.dumps({
        "data_dir": "var", "inventory": "inventory.yaml", "daemon": {"listen": f"127.0.0.1:{port}"}}))
    cfg = ["-c", str(tmp_path / "xunjian.yaml")]

    def status() -> dict[str, object]:
        r = cli("status", "-f", "json", *cfg, cwd=tmp_path)
        return dict(json.loads(r.stdout)) if r.returncode == 0 else {}

    with (tmp_path / "daemon.log").open("w") as log:
        proc = subprocess.Popen([XUNJIAN, "run", *cfg], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: status().get("jobs") == 1, timeout=30, what="the daemon running one job")
            inv.write_text("")  # truncated
            assert cli("reload", *cfg, cwd=tmp_path).returncode == 0
            wait_until(lambda: "reload refused" in (tmp_path / "daemon.log").read_text(), timeout=15,
                       what="the refused reload logged")
            assert "no devices: an empty or truncated file" in (tmp_path / "daemon.log").read_text()
            assert status()["jobs"] == 1 and status()["reloads"] == 0
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0


# -- pathological sizes --------------------------------------------------------------------------


def test_a_30_mb_label_is_shown_cut_in_bounded_time(tmp_path: Path) -> None:
    inv = local_inventory(tmp_path, f"    labels: {{blob: {'x' * 30_000_000}}}\n")
    started = time.monotonic()
    r = cli("inventory", "check", "-i", str(inv), timeout=DEADLINE, max_memory=2 * GIB)
    assert r.returncode == 0, r.stderr[-500:]
    assert "(30,000,005 characters)" in r.stdout and len(r.stdout) < 10_000
    assert time.monotonic() - started < DEADLINE


def test_300000_unknown_keys_print_a_screenful(tmp_path: Path) -> None:
    inv = local_inventory(tmp_path, "".join(f"k{i}: 1\n" for i in range(300_000)))
    r = cli("inventory", "check", "-i", str(inv), timeout=DEADLINE, max_memory=2 * GIB)
    assert r.returncode == 2, r.stdout[-500:]
    assert "inventory.yaml: k0: unknown key" in r.stderr and "k49: unknown key" in r.stderr
    assert "k50: unknown key" not in r.stderr
    assert "… and 299,950 more problems" in r.stderr and "300000 problems found" in r.stderr
    assert len(r.stderr) < 20_000


# -- --playbooks ---------------------------------------------------------------------------------


def test_playbooks_option_naming_no_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a-file.yaml").write_text("name: x\n")
    for target, what in ((tmp_path / "missing", "does not exist"), (tmp_path / "a-file.yaml", "is not a directory")):
        r = cli("playbook", "list", "--playbooks", str(target), cwd=tmp_path)
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"{target}: the directory of your playbooks (--playbooks or $XUNJIAN_PLAYBOOKS) {what}" \
            in r.stderr
        r = cli("playbook", "list", cwd=tmp_path, env={"XUNJIAN_PLAYBOOKS": str(target)})
        assert r.returncode == 2 and what in r.stderr, r.stdout + r.stderr


# -- the loader itself, with libyaml's parser and with PyYAML's own ------------------------------


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    import core.problems as problems

    if request.param == "pure":
        monkeypatch.setattr(problems, "_LOADER", problems.PURE_LOADER)
    return str(request.param)


def test_the_guards_hold_with_either_parser(loader: str) -> None:
    from core.problems import YamlProblems, parse_yaml

    started = time.monotonic()
    with pytest.raises(YamlProblems, match="aliases expand this document"):
        parse_yaml("doc:\n" + bomb(12, "  "))
    merges = "".join(f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}], k{i}: {i}}}\n"
                     for i in range(1, 12))
    with pytest.raises(YamlProblems, match="aliases expand this document"):  # merges are aliases too
        parse_yaml("m0: &m0 {" + ", ".join(f"a{j}: {j}" for j in range(100)) + "}\n" + merges
                   + "".join(f"x{i}: {{<<: *m11}}\n" for i in range(20_000)))
    assert time.monotonic() - started < 20
    with pytest.raises(YamlProblems, match="recursive alias"):
        parse_yaml("a: &a [1, *a]\n")
    with pytest.raises(YamlProblems, match="merges itself"):
        parse_yaml("a: &a {<<: *a, b: 1}\n")
    with pytest.raises(YamlProblems) as e:
        parse_yaml("a: 1\nb: {x: 1, x: 2}\na: 3\n")
    assert sorted((m.line + 1, text.split(" (")[0]) for m, text in e.value.found if m) == [
        (2, "duplicate key 'x'"), (3, "duplicate key 'a'")]
    # what stays allowed: an override after a merge, shared anchors, "1" beside 1
    assert parse_yaml("base: &b {x: 1, y: 2}\nuse: {<<: *b, x: 3}\nagain: *b\n") == {
        "base": {"x": 1, "y": 2}, "use": {"x": 3, "y": 2}, "again": {"x": 1, "y": 2}}
    assert parse_yaml("{1: a, '1': b}") == {1: "a", "1": "b"}
