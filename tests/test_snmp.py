"""The SNMP collector against a real net-snmp snmpd on 127.0.0.1 (v2c and v3)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors.snmp import SnmpCollector, SnmpSettings
from core.model import CollectionError, Sample, Target
from tests.helpers import user_docs
from tests.peers import SnmpdPeer, wait_until


def _target(peer: SnmpdPeer, **settings: object) -> Target:
    base: dict[str, object] = {"community": SecretStr(peer.community), "port": peer.port,
                               "timeout": 1.0, "retries": 1}
    base.update(settings)
    return Target("sw-core-1", "switch", peer.host, settings=SnmpSettings.model_validate(base))


def _v3(peer: SnmpdPeer, user: str, auth: str = "SHA", priv: str = "AES",
        auth_key: str | None = None, **kw: object) -> Target:
    return _target(peer, version="3", community=None, user=user, auth_protocol=auth,
                   auth_key=SecretStr(auth_key or peer.v3_auth), priv_protocol=priv,
                   priv_key=SecretStr(peer.v3_priv), **kw)


def _by(samples: list[Sample], measurement: str) -> list[Sample]:
    return [s for s in samples if s.measurement == measurement]


def _walk(peer: SnmpdPeer, oid: str) -> dict[int, str]:
    out = {}
    for line in peer.snmp("snmpwalk", "-Oq", oid).stdout.splitlines():
        key, _, value = line.partition(" ")
        out[int(key.rsplit(".", 1)[1])] = value.strip().strip('"')
    return out


def _uptime_past(peer: SnmpdPeer, ticks: int) -> None:
    """Wait until the agent's sysUpTime is a second past `ticks`: rates need time between polls."""
    def uptime() -> int:
        return int(peer.snmp("snmpget", "-Oqvt", "1.3.6.1.2.1.1.3.0").stdout.strip())
    wait_until(lambda: uptime() >= ticks + 100, timeout=10, what="1 s of agent uptime")


def test_v2c_matches_net_snmp_tools(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer)
    samples = SnmpCollector().collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.tags == {"host": "sw-core-1"}
    assert system.fields["sysName"] == "xj-snmpd"
    descr = snmpd_peer.snmp("snmpget", "-Oqv", "1.3.6.1.2.1.1.1.0").stdout.strip().strip('"')
    assert system.fields["sysDescr"] == descr
    assert system.fields["sysObjectID"] == snmpd_peer.snmp(
        "snmpget", "-Oqv", "1.3.6.1.2.1.1.2.0").stdout.strip().lstrip(".")
    assert system.fields["rebooted"] == 0 and system.fields["partial"] == 0

    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    names = _walk(snmpd_peer, "1.3.6.1.2.1.31.1.1.1.1")
    assert names and {i: s.tags["ifName"] for i, s in ports.items()} == names
    oper = _walk(snmpd_peer, "1.3.6.1.2.1.2.2.1.8")
    assert {i: s.fields["oper_status_code"] for i, s in ports.items()} == {
        i: int(v) for i, v in oper.items()}
    lo = next(s for s in ports.values() if s.tags["ifName"] == "lo")
    assert lo.fields["oper_state"] == "up" and lo.fields["admin_status"] == "up"
    assert isinstance(lo.fields["in_octets"], int) and "in_bps" not in lo.fields  # first cycle
    (asset,) = _by(samples, "asset")
    assert asset.fields["sysObjectID"] == system.fields["sysObjectID"]
    assert asset.fields["entity_mib"] == 0  # net-snmp has no ENTITY-MIB rows
    assert any("sysUpTime.0" in e for e in target.evidence)
    assert snmpd_peer.community not in "".join(target.evidence)


def test_second_cycle_has_rates(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer)
    collector = SnmpCollector()
    collector.collect(target, None)
    assert target.state["uptime_ticks"] > 0 and target.state["ports"]
    snmpd_peer.snmp("snmpwalk", "1.3.6.1.2.1.2.2.1.2")  # traffic on lo between the polls
    _uptime_past(snmpd_peer, target.state["uptime_ticks"])
    samples = collector.collect(target, None)
    lo = next(s for s in _by(samples, "interface") if s.tags["ifName"] == "lo")
    assert lo.fields["in_bps"] >= 0 and "out_bps" in lo.fields
    assert "in_errors_per_s" in lo.fields
    (system,) = _by(samples, "snmp")
    assert system.fields["rebooted"] == 0


def test_uptime_backwards_is_a_reboot_without_rates(snmpd_peer: SnmpdPeer) -> None:
    """The state-edit variant (bigger jumps than a restart gives); see the restart test."""
    target = _target(snmpd_peer)
    collector = SnmpCollector()
    collector.collect(target, None)
    target.state["uptime_ticks"] += 10**8  # as if the agent had been up much longer before
    for port in target.state["ports"].values():
        port["counters"] = {k: v + 10**6 for k, v in port["counters"].items()}
    samples = collector.collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["rebooted"] == 1
    assert not any("in_bps" in s.fields for s in _by(samples, "interface"))


def test_watch_and_ignore_ports(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer, ignore_ports=["lo"], watch_ports=["nonexistent*"])
    samples = SnmpCollector().collect(target, None)
    assert "lo" not in {s.tags.get("ifName") for s in _by(samples, "interface")}


@pytest.mark.parametrize(("user", "auth", "priv"), [
    ("xjv3", "SHA", "AES"), ("xjv3sha256", "SHA256", "AES256")])
def test_v3_authpriv(snmpd_peer: SnmpdPeer, user: str, auth: str, priv: str) -> None:
    target = _v3(snmpd_peer, user, auth, priv)
    samples = SnmpCollector().collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["sysName"] == "xj-snmpd"
    assert _by(samples, "interface")
    # pysnmp's walks are timed too: each counter column read after the sysUpTime GET
    offsets = target.state["read_offsets"]
    assert len(offsets) == 6 and all(0 < v < 5 for v in offsets.values()), offsets


def test_v3_auth_no_priv_and_no_auth_no_priv(snmpd_peer: SnmpdPeer) -> None:
    auth = _target(snmpd_peer, version="3", community=None, user=snmpd_peer.v3_user_auth,
                   auth_protocol="SHA", auth_key=SecretStr(snmpd_peer.v3_auth))
    none = _target(snmpd_peer, version="3", community=None, user=snmpd_peer.v3_user_none)
    assert auth.settings.security == "authNoPriv" and none.settings.security == "noAuthNoPriv"
    names = _walk(snmpd_peer, "1.3.6.1.2.1.31.1.1.1.1")
    for target in (auth, none):
        samples = SnmpCollector().collect(target, None)
        (system,) = _by(samples, "snmp")
        assert system.fields["sysName"] == "xj-snmpd" and system.fields["partial"] == 0
        assert {int(s.tags["ifIndex"]): s.tags["ifName"]
                for s in _by(samples, "interface")} == names
    # the authNoPriv user cannot read without authentication (rouser … auth)
    weak = _target(snmpd_peer, version="3", community=None, user=snmpd_peer.v3_user_auth,
                   timeout=0.5, retries=0)
    with pytest.raises(CollectionError):
        SnmpCollector().collect(weak, None)


def test_v1_get_and_walk(snmpd_peer: SnmpdPeer) -> None:
    """SNMPv1 has no GETBULK and no Counter64: GETNEXT walks; the HC octet columns are not
    served to v1, so the 32-bit ifInOctets/ifOutOctets are walked instead, and from the
    second cycle give bit rates (see README)."""
    target = _target(snmpd_peer, version="1")
    collector = SnmpCollector()
    samples = collector.collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["sysName"] == "xj-snmpd" and system.fields["partial"] == 0
    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    assert {i: s.tags["ifDescr"] for i, s in ports.items()} == _walk(
        snmpd_peer, "1.3.6.1.2.1.2.2.1.2")
    errors = {int(k): int(v) for k, v in _walk(snmpd_peer, "1.3.6.1.2.1.2.2.1.14").items()}
    assert {i: s.fields["in_errors"] for i, s in ports.items()} == errors
    lo = next(s for s in ports.values() if s.tags["ifDescr"] == "lo")
    assert lo.fields["octets_bits"] == 32 and 0 < lo.fields["in_octets"] < 2**32
    assert set(target.state["read_offsets"]) >= {"ifInOctets", "ifOutOctets"}
    snmpd_peer.snmp("snmpwalk", "1.3.6.1.2.1.2.2.1.2")  # traffic on lo between the polls
    _uptime_past(snmpd_peer, target.state["uptime_ticks"])
    lo2 = next(s for s in _by(collector.collect(target, None), "interface")
               if s.tags["ifDescr"] == "lo")
    # net-snmp caches interface counters for a few seconds: the rate may be 0, but it is there
    assert lo2.fields["in_octets"] >= lo.fields["in_octets"] and lo2.fields["in_bps"] >= 0


def test_closed_port_is_unknown_within_the_timeout() -> None:
    from tests.peers import HOST, free_udp_port

    s = SnmpSettings.model_validate({"community": SecretStr("c"), "port": free_udp_port(),
                                     "timeout": 0.5, "retries": 1})
    target = Target("sw-gone", "switch", HOST, settings=s)
    t0 = time.monotonic()
    with pytest.raises(CollectionError, match="timed out"):
        SnmpCollector().collect(target, None)
    # (retries + 1) × timeout for the system GET, plus the engine's start
    assert time.monotonic() - t0 < 2 * 0.5 + 1.5


def test_wrong_v3_key_is_unknown_with_reason(snmpd_peer: SnmpdPeer) -> None:
    t0 = time.monotonic()
    with pytest.raises(CollectionError, match="authentication failed"):
        SnmpCollector().collect(_v3(snmpd_peer, "xjv3", auth_key="not-the-key-1",
                                    timeout=0.5, retries=0), None)
    assert time.monotonic() - t0 < 0.5 + 1.5


def test_restarted_snmpd_is_a_reboot_without_a_rate_spike(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Stop and start a real snmpd: its sysUpTime starts again from 0."""
    from tests.peers import wait_until

    with SnmpdPeer(tmp_path_factory.mktemp("snmpd-restart")) as peer:
        target = _target(peer)
        collector = SnmpCollector()

        def uptime() -> int:
            return int(peer.snmp("snmpget", "-Oqvt", "1.3.6.1.2.1.1.3.0").stdout.strip())
        # a first poll late enough that the restarted agent's uptime is below it
        wait_until(lambda: uptime() >= 150, timeout=10, what="snmpd uptime 1.5 s")
        collector.collect(target, None)
        before = target.state["uptime_ticks"]
        port = peer.port
        peer.stop()
        peer.start()
        assert peer.port == port
        samples = collector.collect(target, None)
        (system,) = _by(samples, "snmp")
        assert system.fields["rebooted"] == 1
        assert target.state["uptime_ticks"] < before
        ports = _by(samples, "interface")
        assert ports and not any(k.endswith(("_bps", "_per_s")) or k == "utilisation_percent"
                                 for s in ports for k in s.fields)
        # the next poll has rates again, and no reboot
        wait_until(lambda: uptime() > target.state["uptime_ticks"] + 50, timeout=10,
                   what="snmpd uptime to move on")
        samples = collector.collect(target, None)
        assert _by(samples, "snmp")[0].fields["rebooted"] == 0
        lo = next(s for s in _by(samples, "interface") if s.tags["ifName"] == "lo")
        assert lo.fields["in_bps"] >= 0


def test_wrong_community_times_out_quickly(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer, community=SecretStr("wrong-community"), timeout=0.5, retries=0)
    t0 = time.monotonic()
    with pytest.raises(CollectionError, match="timed out") as exc:
        SnmpCollector().collect(target, None)
    assert time.monotonic() - t0 < 3
    assert "wrong-community" not in str(exc.value)


def test_executor_result_is_unknown_with_reason(snmpd_peer: SnmpdPeer, tmp_path: Path) -> None:
    from agent.executor import Executor
    from agent.inventory import load_inventory
    from core.model import Job, Status

    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "devices:\n"
        f"  - name: sw1\n    kind: switch\n    address: {snmpd_peer.host}\n"
        "    collectors: [snmp]\n"
        f"    settings: {{snmp: {{community: '${{XJ_SNMP_COMM}}', port: {snmpd_peer.port},"
        " timeout: 0.5, retries: 0}}\n")
    good = load_inventory(inv, env={"XJ_SNMP_COMM": snmpd_peer.community}).devices["sw1"]
    bad = load_inventory(inv, env={"XJ_SNMP_COMM": "nope"}).devices["sw1"]
    ex = Executor()
    ok = ex.run(Job("sw1", "snmp"), good)
    assert ok.status is Status.OK and ok.samples and ok.state
    failed = ex.run(Job("sw1", "snmp"), bad)
    assert failed.status is Status.UNKNOWN and re.search("timed out", failed.reason)
    assert not failed.samples


@pytest.mark.parametrize(("snmp", "where", "message"), [
    ("{community: public}", "settings.snmp.community", "reference"),
    ("{community: '${XJ_SNMP_COMM}', colour: red}", "settings.snmp.colour", "xtra"),
    ("{version: 3}", "settings.snmp", "user is required"),
    ("{version: 2c}", "settings.snmp", "community is required"),
])
def test_inventory_validates_snmp_settings(tmp_path: Path, snmp: str, where: str,
                                           message: str) -> None:
    from agent.inventory import load_inventory
    from core.problems import ConfigError

    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: sw1\n    address: 192.0.2.1\n    collectors: [snmp]\n"
                   f"    settings: {{snmp: {snmp}}}\n")
    with pytest.raises(ConfigError) as exc:
        load_inventory(inv, env={"XJ_SNMP_COMM": "c"})
    text = str(exc.value)
    assert where in text and message in text, text


def test_network_rules_judge_port_state() -> None:
    from checks.evaluate import evaluate
    from checks.rules import shipped_rules
    from core.model import Status

    rules = shipped_rules()
    def judge(state: str) -> Status:
        s = Sample("interface", {"host": "sw1", "ifIndex": "3", "ifName": "GE0/0/1"},
                   {"oper_state": state}, 10**18)
        (v,) = [v for v in evaluate([s], "sw1", rules) if v.check == "port_down"]
        return v.status
    assert judge("up") is Status.OK
    assert judge("admin-down") is Status.OK
    assert judge("down-was-up") is Status.CRIT


def test_readme_snmp_inventory_example_validates(tmp_path: Path) -> None:
    from agent.inventory import load_inventory

    readme = user_docs()
    block = readme.split("### Network devices over SNMP", 1)[1].split("```yaml\n", 1)[1]
    profiles = tmp_path / "profiles"  # the README's /etc/xunjian/profiles, with a copy
    profiles.mkdir()
    shipped = Path(__file__).resolve().parent.parent / "collectors" / "profiles"
    (profiles / "enc.yaml").write_text(
        (shipped / "template-encoder.yaml").read_text(encoding="utf-8")
        .replace("name: template-encoder", "name: acme-enc").replace("template: true", ""))
    (tmp_path / "inventory.yaml").write_text(
        block.split("```", 1)[0].replace("/etc/xunjian/profiles", str(profiles)))
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("snmp_auth: a-auth-key\nsnmp_priv: a-priv-key\nsnmp_community: c0mm\n")
    secrets.chmod(0o600)
    inv = load_inventory(tmp_path / "inventory.yaml", secrets_file=secrets, env={})
    core = inv.devices["sw-core-1"].settings["snmp"]
    assert core.version == "3" and core.security == "authPriv"
    assert core.auth_key.get_secret_value() == "a-auth-key"
    agg = inv.devices["sw-agg-3"].settings["snmp"]
    assert agg.version == "2c" and agg.community.get_secret_value() == "c0mm"
    assert agg.watch_ports == ["Bridge-Aggregation*"] and agg.profile is None
    from collectors.snmp_profiles import select
    assert select(agg._profiles, "1.3.6.1.4.1.25506.1.578").name == "h3c"  # by sysObjectID
    enc = inv.devices["enc-07"].settings["snmp"]
    assert enc.community.get_secret_value() == "c0mm" and enc.port == 161
    assert enc.entity is False and "acme-enc" in enc._profiles
