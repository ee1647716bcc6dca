"""`xunjian inspect` on switches inspected over their CLI (FakeNOS on 127.0.0.1), end to end:
verdicts, the asset register, a config change between two runs, inventory mistakes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakenos_peer import PASSWORD, USERNAME, FakeNosPeer, fixture_text, stock_outputs
from tests.helpers import cli, user_docs
from tests.peers import HOST

pytestmark = [pytest.mark.peers,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]


@pytest.fixture(scope="module")
def peer() -> Iterator[FakeNosPeer]:
    p = FakeNosPeer({"core-hw": "huawei_vrp", "agg-h3c": "hp_comware", "edge-cisco": "cisco_ios"}).start()
    try:
        yield p
    finally:
        p.stop()


def write_inventory(tmp_path: Path, peer: FakeNosPeer) -> Path:
    kh = peer.known_hosts(tmp_path / "known_hosts")
    lines = ["devices:"]
    for h in peer.hosts.values():
        lines += [f"  - name: {h.name}", "    kind: switch", f"    address: {HOST}",
                  "    collectors: [cli]",
                  f"    settings: {{cli: {{platform: {h.device_type}, port: {h.port}, "
                  f"username: {USERNAME}, password: '${{XJ_CLI_PASS}}', known_hosts: '{kh}', "
                  "read_timeout: 15}}"]
    inv = tmp_path / "inventory.yaml"
    inv.write_text("\n".join(lines) + "\n")
    return inv


def inspect(tmp_path: Path, inv: Path, *args: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json", *args,
               env={"XJ_CLI_PASS": password}, timeout=300)


def test_inspect_three_switches_then_config_change(peer: FakeNosPeer, tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, peer)
    r = inspect(tmp_path, inv)
    doc = json.loads(r.stdout)
    rows = {(x["device"], x["check"], x["instance"]): x for x in doc["results"]}
    for dev in peer.hosts:
        assert rows[(dev, "collect.cli", "")]["status"] == "ok", rows[(dev, "collect.cli", "")]
        assert rows[(dev, "cli_command", "ports")]["status"] == "ok"
        assert rows[(dev, "cli_config_changed", "")]["status"] == "ok"
    # FakeNOS's Cisco `show interfaces status` cannot be read: that check is UNKNOWN, exit 3
    bad = rows[("edge-cisco", "cli_command", "switchports")]
    assert bad["status"] == "unknown" and "could not parse" in bad["message"]
    assert r.returncode == 3 and doc["exit_code"] == 3
    assert rows[("core-hw", "cli_cpu_percent", "")]["value"] == 12.0
    assert rows[("agg-h3c", "cli_memory_percent", "")]["value"] == 39.7
    # port verdicts by the network rules, one per port FakeNOS printed
    brief = stock_outputs("cisco_ios")["show ip interface brief"]
    ports = {k[2] for k in rows if k[0] == "edge-cisco" and k[1] == "port_down"}
    assert ports == set(re.findall(r"^(\S+)\s+\S+\s+YES", brief, re.M))
    assert PASSWORD not in r.stdout + r.stderr

    # the asset register picked the switches up
    a = cli("assets", "list", "--data-dir", str(tmp_path / "var"), "-f", "json")
    assets = {x["device"]: x for x in json.loads(a.stdout)["assets"]}
    manuinfo = stock_outputs("hp_comware")["display device manuinfo"]
    assert assets["agg-h3c"]["serial"] == re.search(r"DEVICE_SERIAL_NUMBER\s*:\s*(\S+)", manuinfo).group(1)  # type: ignore[union-attr]
    assert (assets["core-hw"]["vendor"], assets["edge-cisco"]["vendor"]) == ("Huawei", "Cisco")

    # the running configuration changes between two inspections: WARN with the event
    peer.set_output("core-hw", "display current-configuration",
                    fixture_text("huawei_vrp", "display_current-configuration.changed.txt"))
    r = inspect(tmp_path, inv, "-d", "core-hw")
    doc = json.loads(r.stdout)
    rows = {(x["device"], x["check"], x["instance"]): x for x in doc["results"]}
    assert rows[("core-hw", "cli_config_changed", "")]["status"] == "warn"
    assert r.returncode == 1
    again = json.loads(inspect(tmp_path, inv, "-d", "core-hw").stdout)
    (row,) = [x for x in again["results"] if x["check"] == "cli_config_changed"]
    assert row["status"] == "ok"


def test_wrong_password_is_not_collected(peer: FakeNosPeer, tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, peer)
    r = inspect(tmp_path, inv, "-d", "agg-h3c", password="wrong-one")
    doc = json.loads(r.stdout)
    (row,) = [x for x in doc["results"] if x["check"] == "collect.cli"]
    assert row["status"] == "unknown" and "authentication failed" in row["message"]
    assert r.returncode == 3 and "wrong-one" not in r.stdout + r.stderr


@pytest.mark.parametrize(("cli_settings", "where", "message"), [
    ("{platform: huawei, username: u, password: plain}", "settings.cli.password", "reference"),
    ("{platform: junos, username: u, password: '${XJ_CLI_PASS}'}", "settings.cli.platform", "huawei"),
    ("{platform: huawei, username: u, password: '${XJ_CLI_PASS}', checks: [fans]}",
     "settings.cli.checks", "unknown check"),
])
def test_inventory_mistakes_are_one_clear_message(tmp_path: Path, cli_settings: str, where: str,
                                                  message: str) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: sw1\n    kind: switch\n    address: 127.0.0.1\n"
                   f"    collectors: [cli]\n    settings: {{cli: {cli_settings}}}\n")
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_CLI_PASS": "x"})
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert where in out and message in out and "Traceback" not in out
    assert str(inv.name) in out


def test_readme_cli_inventory_example_validates(tmp_path: Path) -> None:
    from agent.inventory import load_inventory

    readme = user_docs()
    block = readme.split("### Switch CLI inspection: `cli`", 1)[1].split("```yaml\n", 1)[1]
    (tmp_path / "inventory.yaml").write_text(block.split("```", 1)[0])
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("sw_core_pass: p1\nsw_agg_pass: p2\nrtr_enable: en4ble\n")
    secrets.chmod(0o600)
    inv = load_inventory(tmp_path / "inventory.yaml", secrets_file=secrets,
                         env={"ENV_RTR_PASS": "p3"})
    core = inv.devices["sw-core-1"].settings["cli"]
    assert core.platform == "huawei" and core.password.get_secret_value() == "p1"
    assert core.host_key_policy == "reject" and core.ignore_ports == ["NULL0", "InLoopBack0"]
    assert inv.devices["sw-agg-3"].settings["cli"].checks == ["version", "serial", "ports", "cpu",
                                                               "memory", "config"]
    rtr = inv.devices["rtr-edge"].settings["cli"]
    assert rtr.secret.get_secret_value() == "en4ble" and rtr.password.get_secret_value() == "p3"


def test_inventory_check_never_prints_the_cli_secrets(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: sw1\n    kind: switch\n    address: 127.0.0.1\n"
                   "    collectors: [cli]\n    settings: {cli: {platform: cisco_ios, username: u, "
                   "password: '${XJ_P}', secret: '${XJ_E}'}}\n")
    for fmt in ("table", "json"):
        r = cli("inventory", "check", "-i", str(inv), "--format", fmt,
                env={"XJ_P": "Pa55-word-1", "XJ_E": "En4ble-2"})
        assert r.returncode == 0, r.stderr
        assert "Pa55-word-1" not in r.stdout + r.stderr and "En4ble-2" not in r.stdout + r.stderr
    settings = json.loads(r.stdout)["devices"][0]["settings"]["cli"]
    assert settings["password"] == settings["secret"] == "***"
