"""Inventory: inheritance, secrets by reference, and one clear message per problem."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from agent.inventory import load_inventory
from core.problems import ConfigError
from tests.helpers import cli


def write(tmp_path: Path, text: str, name: str = "inventory.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


GOOD = """
    secrets_file: secrets.yaml
    defaults:
      interval: 120
      ssh: {user: ops, connect_timeout: 5, password: "${secret:ops_password}"}
      thresholds: {disk_used_percent: {warn: 85, crit: 95}}
      labels: {site: county-a}
    groups:
      oracle:
        ssh: {user: oracle}
        labels: {owner: dba}
        thresholds: {disk_used_percent: {warn: 80}}
      prod:
        interval: 60
        labels: {owner: ops-prod}
    devices:
      - name: db01
        kind: server
        address: 10.1.2.11
        groups: [oracle, prod]
        labels: {room: "机房1"}
        thresholds: {disk_used_percent: {crit: 90}}
      - name: sw-core-1
        kind: switch
        address: sw-core-1.example.net
        port: 2222
        ssh: {key_file: keys/id_ed25519, password: "${XJ_TEST_SW_PASSWORD}"}
        labels: {parent: db01}
"""


def good_inventory(tmp_path: Path) -> Path:
    inv = write(tmp_path, GOOD)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("ops_password: s3cr3t-ops\n")
    secrets.chmod(0o600)
    return inv


def test_defaults_groups_device_inherit_in_order(tmp_path: Path) -> None:
    inv = load_inventory(good_inventory(tmp_path), env={"XJ_TEST_SW_PASSWORD": "sw-pw"})
    db = inv.devices["db01"]
    assert db.interval == 60  # prod (listed last) overrides defaults
    assert db.ssh.user == "oracle" and db.ssh.connect_timeout == 5  # group over defaults, kept
    assert db.labels == {"site": "county-a", "owner": "ops-prod", "room": "机房1"}
    t = db.thresholds["disk_used_percent"]
    assert (t.warn, t.crit) == (80, 90)  # group's warn, device's crit
    assert db.ssh.password is not None and db.ssh.password.get_secret_value() == "s3cr3t-ops"
    sw = inv.devices["sw-core-1"]
    assert sw.port == 2222 and sw.interval == 120 and sw.ssh.user == "ops"
    assert sw.ssh.key_file == tmp_path / "keys/id_ed25519"  # relative to the inventory
    assert sw.ssh.password is not None and sw.ssh.password.get_secret_value() == "sw-pw"


def test_secrets_never_shown(tmp_path: Path) -> None:
    inv = good_inventory(tmp_path)
    r = cli("inventory", "check", "-i", str(inv), "--format", "json",
            env={"XJ_TEST_SW_PASSWORD": "sw-pw-visible?"})
    assert r.returncode == 0, r.stderr
    assert "s3cr3t-ops" not in r.stdout + r.stderr and "sw-pw-visible?" not in r.stdout
    assert '"password": "***"' in r.stdout
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_TEST_SW_PASSWORD": "sw-pw-visible?"})
    assert r.returncode == 0 and "2 devices, valid" in r.stdout
    assert "s3cr3t-ops" not in r.stdout and "sw-pw-visible?" not in r.stdout
    assert repr(load_inventory(inv, env={"XJ_TEST_SW_PASSWORD": "x"}).devices["db01"]).count(
        "s3cr3t-ops") == 0


DEVICE = "devices:\n  - {name: a, kind: server, address: 127.0.0.1, ssh: {user: u}}\n"

BAD = {
    "yaml syntax": ("devices:\n  - name: a\n   kind: server\n", "line 3", "not valid YAML"),
    "unknown top-level key": ("devcies: []\n", "devcies", "unknown key"),
    "unknown device key": ("devices:\n  - {name: a, kind: server, adress: 1.2.3.4}\n",
                           "devices[0].adress", "unknown key"),
    "duplicate names": (DEVICE + "  - {name: a, kind: server, address: 127.0.0.2, ssh: {user: u}}\n",
                        "devices[1].name", "duplicate device name 'a'"),
    "unknown group": ("devices:\n  - {name: a, address: 1.2.3.4, groups: [oracel], ssh: {user: u}}\n",
                      "devices[0].groups[0]", "unknown group 'oracel'"),
    "bad address": ("devices:\n  - {name: a, address: 'not an address!', ssh: {user: u}}\n",
                    "devices[0].address", "IPv4/IPv6 address or a host name"),
    "port out of range": ("devices:\n  - {name: a, address: 1.2.3.4, port: 70000, ssh: {user: u}}\n",
                          "devices[0].port", "less than or equal to 65535"),
    "literal password": ("devices:\n  - {name: a, address: 1.2.3.4, ssh: {user: u, password: hunter2}}\n",
                         "devices[0].ssh.password", "a reference"),
    "unset env var": ("devices:\n  - {name: a, address: 1.2.3.4, ssh: {user: u, password: '${XJ_NOPE}'}}\n",
                      "devices[0].ssh.password", "XJ_NOPE is not set"),
    "unknown kind": ("devices:\n  - {name: a, kind: sever, address: 1.2.3.4, ssh: {user: u}}\n",
                     "devices[0].kind", "one of server"),
    "unknown collector": ("devices:\n  - {name: a, address: 1.2.3.4, collectors: [snpm], ssh: {user: u}}\n",
                          "devices[0].collectors", "unknown collector 'snpm'"),
    "missing ssh user": ("devices:\n  - {name: a, address: 1.2.3.4}\n", "devices[0].ssh.user",
                         "required for the linux collector"),
    "missing address": ("devices:\n  - {name: a, ssh: {user: u}}\n", "devices[0].address",
                        "required for collectors linux"),
    "bad inherited value": ("groups:\n  g: {interval: 0}\n" + DEVICE, "groups.g.interval",
                            "greater than or equal to 1"),
    "unknown parent": ("devices:\n  - {name: a, address: 1.2.3.4, ssh: {user: u}, labels: {parent: zz}}\n",
                       "devices[0].labels.parent", "unknown device 'zz'"),
    "devices not a list": ("devices: {a: 1}\n", "devices", "valid list"),
    "settings for unknown collector": (
        "devices:\n  - {name: a, address: 1.2.3.4, ssh: {user: u}, settings: {snpm: {}}}\n",
        "devices[0].settings", "settings for unknown collector 'snpm'"),
    "settings a collector does not take": (
        "devices:\n  - {name: a, collectors: [local], settings: {local: {x: 1}}}\n",
        "devices[0].settings.local", "takes no settings"),
    "python object tag": ("devices:\n  - !!python/object/apply:os.system ['touch pwned']\n", "", "not valid YAML"),
    "secret without file": ("devices:\n  - {name: a, address: 1.2.3.4, ssh: {user: u, password: '${secret:k}'}}\n",
                            "devices[0].ssh.password", "no secrets_file is configured"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inventory_one_clear_message(tmp_path: Path, case: str) -> None:
    text, where, expected = BAD[case]
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    r = cli("inventory", "check", "-i", str(inv), cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("xunjian: ") and not ln.endswith(" found")]
    assert len(lines) == 1, r.stderr
    assert str(inv) in lines[0] and where in lines[0] and expected in lines[0], lines[0]
    assert not (tmp_path / "pwned").exists()


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    inv = write(tmp_path, """
        devices:
          - {name: a, kind: sever, address: 1.2.3.4, ssh: {user: u}}
          - {name: b, address: 1.2.3.4, port: 0, ssh: {user: u}}
          - {name: a, address: 1.2.3.5, ssh: {user: u}}
    """)
    with pytest.raises(ConfigError) as e:
        load_inventory(inv)
    places = sorted(p.place for p in e.value.problems)
    assert places == ["devices[0].kind", "devices[1].port", "devices[2].name"]


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    inv = good_inventory(tmp_path)
    (tmp_path / "secrets.yaml").chmod(0o644)
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_TEST_SW_PASSWORD": "x"})
    assert r.returncode == 2 and "mode 0600" in r.stderr and "0644" in r.stderr
    assert "Traceback" not in r.stderr


def test_secrets_file_missing(tmp_path: Path) -> None:
    inv = good_inventory(tmp_path)
    os.unlink(tmp_path / "secrets.yaml")
    with pytest.raises(ConfigError) as e:
        load_inventory(inv, env={"XJ_TEST_SW_PASSWORD": "x"})
    assert any("secrets file not found" in str(p) for p in e.value.problems)


def test_missing_inventory_file(tmp_path: Path) -> None:
    r = cli("inventory", "check", "-i", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "inventory file not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_device_on_command_line(tmp_path: Path) -> None:
    inv = write(tmp_path, "devices:\n  - {name: here, collectors: [local]}\n")
    r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-d", "nothere")
    assert r.returncode == 2 and "no such device or group: nothere" in r.stderr
