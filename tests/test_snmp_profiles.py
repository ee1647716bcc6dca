"""Device profiles, HOST-RESOURCES-MIB and flap counting: pure parts, the rules layer, and
the collector against a real net-snmp snmpd on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from collectors.snmp import SnmpCollector, SnmpSettings
from collectors.snmp_parse import flap_times, hr_storage
from collectors.snmp_profiles import MetricGroup, group_rows, load_profiles, select
from core.model import CollectionError, Sample, Target
from core.problems import ConfigError
from tests.helpers import cli, user_docs
from tests.peers import SnmpdPeer

GOOD = """
name: my-encoder
match: ["1.3.6.1.4.1.99999.7"]
metrics:
  - measurement: encoder
    fields:
      status: {oid: 1.3.6.1.4.1.99999.7.1.0, type: enum, values: {1: ok, 2: fault}}
"""


def _by(samples: list[Sample], measurement: str) -> list[Sample]:
    return [s for s in samples if s.measurement == measurement]


def test_shipped_profiles_load_and_choose_by_longest_prefix(tmp_path: Path) -> None:
    ps = load_profiles()
    assert {"huawei", "h3c", "cisco", "ups-mib", "template-encoder", "template-bearer"} <= set(ps)
    assert select(ps, "1.3.6.1.4.1.2011.2.23.96").name == "huawei"  # type: ignore[union-attr]
    assert select(ps, ".1.3.6.1.4.1.25506.1.1").name == "h3c"  # type: ignore[union-attr]
    assert select(ps, "1.3.6.1.4.1.9.1.1227").name == "cisco"  # type: ignore[union-attr]
    # whole arcs only: enterprise 90 is not Cisco (9), and templates are never chosen
    assert select(ps, "1.3.6.1.4.1.90.1") is None
    assert select(ps, "1.3.6.1.4.1.99999.1.5") is None
    (tmp_path / "longer.yaml").write_text(GOOD.replace("my-encoder", "huawei-s5720").replace(
        "1.3.6.1.4.1.99999.7", "1.3.6.1.4.1.2011.2.23"))
    ps = load_profiles(tmp_path)
    assert select(ps, "1.3.6.1.4.1.2011.2.23.96").name == "huawei-s5720"  # type: ignore[union-attr]
    assert select(ps, "1.3.6.1.4.1.2011.2.62.2").name == "huawei"  # type: ignore[union-attr]
    assert select(ps, "1.3.6.1.4.1.9.1.1", named="ups-mib").name == "ups-mib"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "place", "words"), [
    (GOOD.replace("type: enum, values: {1: ok, 2: fault}", "type: enum"),
     "metrics[0].fields.status", "values"),
    (GOOD.replace("type: enum", "type: gaugee"), "metrics[0].fields.status.type", "gauge"),
    (GOOD.replace("1.3.6.1.4.1.99999.7.1.0", "hwEntityCpuUsage"),
     "metrics[0].fields.status.oid", "pattern"),
    (GOOD.replace("7.1.0", "7.1"), "metrics[0]", "scalar OID ends in .0"),
    (GOOD.replace("measurement:", "measurment:"), "metrics[0].measurment", "unknown key"),
    ("name: x\nmetrics: [oops\n", "", "not valid YAML"),
])
def test_profile_mistake_names_file_and_key(tmp_path: Path, text: str, place: str,
                                            words: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_profiles(tmp_path)
    msg = str(e.value)
    assert str(f) in msg and place in msg and words in msg


def test_inventory_check_reports_a_bad_user_profile(tmp_path: Path) -> None:
    prof = tmp_path / "profiles"
    prof.mkdir()
    (prof / "enc.yaml").write_text(GOOD.replace("type: enum", "type: gaugee"))
    inv = tmp_path / "inventory.yaml"
    inv.write_text("devices:\n  - name: enc1\n    kind: encoder\n    address: 127.0.0.1\n"
                   "    collectors: [snmp]\n    settings: {snmp: {community: '${XJ_COMM}', "
                   f"profiles_dir: '{prof}'}}}}\n")
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_COMM": "c0mm-secret"})
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out
    assert "enc.yaml" in out and "metrics[0].fields.status.type" in out
    assert "c0mm-secret" not in out
    (prof / "enc.yaml").write_text(GOOD)
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_COMM": "c0mm-secret"})
    assert r.returncode == 0, r.stdout + r.stderr
    inv.write_text(inv.read_text().replace("profiles_dir", "profile: nope, profiles_dir"))
    r = cli("inventory", "check", "-i", str(inv), env={"XJ_COMM": "c0mm-secret"})
    assert r.returncode != 0 and "'nope' unknown" in r.stdout + r.stderr


def test_group_rows_enum_counter_percent_and_zero_rows() -> None:
    g = MetricGroup.model_validate({
        "measurement": "pool", "table": True, "index_tag": "i", "skip_zero_rows": True,
        "tags": {"name": "1.9.2"},
        "fields": {"used": {"oid": "1.9.5"}, "free": {"oid": "1.9.6"},
                   "octets": {"oid": "1.9.7", "type": "counter"},
                   "state": {"oid": "1.9.8", "type": "enum", "values": {1: "normal", 3: "critical"}}},
        "percent": {"used": "used", "free": "free"}})
    cols = {"1.9.2": {1: "Processor", 2: "I/O", 3: "empty"}, "1.9.5": {1: 30, 2: 5, 3: 0},
            "1.9.6": {1: 70, 2: 15, 3: 0}, "1.9.7": {1: 1000, 2: 10, 3: 0},
            "1.9.8": {1: 1, 2: 3, 3: 9}}
    rows, state, _ = group_rows(g, {}, cols, {}, None)
    assert [t for t, _ in rows] == [{"i": "1", "name": "Processor"}, {"i": "2", "name": "I/O"}]
    assert rows[0][1]["used_percent"] == 30.0 and rows[1][1]["used_percent"] == 25.0
    assert rows[1][1]["state"] == "critical" and rows[1][1]["state_code"] == 3
    assert "octets_per_s" not in rows[0][1] and state["1"] == {"octets": 1000}
    cols["1.9.7"] = {1: 1500, 2: 5}  # row 2 went down: reset, no rate
    rows, _, _ = group_rows(g, {}, cols, state, 10.0)
    assert rows[0][1]["octets_per_s"] == 50.0 and "octets_per_s" not in rows[1][1]


def test_flap_window_logic() -> None:
    t: list[float] = []
    t = flap_times(t, None, 1, None, 100, now=0, window=600)  # first poll: nothing to compare
    assert t == []
    t = flap_times(t, 1, 2, 100, 200, now=60, window=600)
    t = flap_times(t, 2, 1, 200, 300, now=120, window=600)
    assert len(t) == 2
    t = flap_times(t, 1, 1, 300, 450, now=180, window=600)  # down and up between polls
    assert len(t) == 4
    t = flap_times(t, 1, 1, 450, 450, now=700, window=600)  # the first change left the window
    assert len(t) == 3
    assert flap_times(t, 1, 1, 450, 450, now=2000, window=600) == []


def test_hr_storage_parser_uses_telegraf_names() -> None:
    rows = hr_storage({1: {"type": "1.3.6.1.2.1.25.2.1.4", "descr": "/", "units": 4096,
                           "size": 1000, "used": 250},
                       2: {"type": "1.3.6.1.2.1.25.2.1.2", "descr": "RAM", "units": 1024,
                           "size": 0, "used": 0}})
    assert rows == [({"hrStorageIndex": "1", "descr": "/", "type": "fixedDisk"},
                     {"total": 4096000, "used": 1024000, "free": 3072000, "used_percent": 25.0})]


def test_profile_rules_in_the_rules_layer() -> None:
    from checks.rules import shipped_rules

    names = {r.name for r in shipped_rules().rules}
    assert {"port_flapping", "device_cpu_percent", "device_temperature_c",
            "env_fan_state", "ups_battery_status", "ups_on_battery",
            "hr_storage_used_percent"} <= names
    # every measurement of a shipped (non-template) profile has a default rule, and every
    # enum state a rule judges is a text the profile can produce
    judged = {r.measurement for r in shipped_rules().rules}
    texts = {(g.measurement, n): set(f.values.values()) for p in load_profiles().values()
             if not p.template for g in p.metrics for n, f in g.fields.items() if f.type == "enum"}
    assert {g.measurement for p in load_profiles().values() if not p.template
            for g in p.metrics} <= judged
    for r in shipped_rules().rules:
        if (r.measurement, r.field) in texts and r.states:
            assert set(r.states) <= texts[(r.measurement, r.field)], r.name


# --- against a real snmpd ------------------------------------------------------------

def _target(peer: SnmpdPeer, **settings: object) -> Target:
    base: dict[str, object] = {"community": SecretStr(peer.community), "port": peer.port,
                               "timeout": 1.0, "retries": 1}
    base.update(settings)
    return Target("host-1", "server", peer.host, settings=SnmpSettings.model_validate(base))


def _walk(peer: SnmpdPeer, oid: str) -> dict[int, str]:
    out = {}
    for line in peer.snmp("snmpwalk", "-Oq", oid).stdout.splitlines():
        key, _, value = line.partition(" ")
        if not key.lstrip(".").startswith(oid + "."):
            continue  # "No Such Instance…": snmpd has no processor load in its first minute
        out[int(key.rsplit(".", 1)[1])] = value.strip().strip('"')
    return out


def test_host_resources_match_net_snmp(snmpd_peer: SnmpdPeer) -> None:
    samples = SnmpCollector().collect(_target(snmpd_peer), None)
    storage = {int(s.tags["hrStorageIndex"]): s for s in _by(samples, "hr_storage")}
    sizes = {i: int(v) for i, v in _walk(snmpd_peer, "1.3.6.1.2.1.25.2.3.1.5").items()}
    units = {i: int(v.split()[0]) for i, v in _walk(snmpd_peer, "1.3.6.1.2.1.25.2.3.1.4").items()}
    descr = _walk(snmpd_peer, "1.3.6.1.2.1.25.2.3.1.3")
    assert storage and set(storage) == {i for i, n in sizes.items() if n > 0}
    for i, s in storage.items():
        assert s.tags["descr"] == descr[i]
        assert s.fields["total"] == sizes[i] * units[i]
        assert 0 <= s.fields["used_percent"] <= 100  # type: ignore[operator]
    root = [s for s in storage.values() if s.tags["descr"] == "/"]
    assert root and root[0].tags["type"] == "fixedDisk"
    loads = _walk(snmpd_peer, "1.3.6.1.2.1.25.3.3.1.2")
    procs = _by(samples, "hr_processor")
    # equal to what snmpwalk sees (snmpd serves hrProcessorLoad only after a minute)
    assert {int(s.tags["hrDeviceIndex"]) for s in procs} == set(loads)
    off = SnmpCollector().collect(_target(snmpd_peer, host_resources=False), None)
    assert not _by(off, "hr_storage") and not _by(off, "hr_processor")


def test_user_profile_read_from_snmpd_and_missing_oid_is_partial(snmpd_peer: SnmpdPeer,
                                                                   tmp_path: Path) -> None:
    sys_oid = snmpd_peer.snmp("snmpget", "-Oqv", "1.3.6.1.2.1.1.2.0").stdout.strip().lstrip(".")
    prof = {"name": "net-snmp-host", "match": [sys_oid], "metrics": [
        {"measurement": "box", "fields": {
            "services": {"oid": "1.3.6.1.2.1.1.8.0"},
            "location": {"oid": "1.3.6.1.2.1.1.6.0", "type": "string"},
            "in_pkts": {"oid": "1.3.6.1.2.1.11.1.0", "type": "counter"}}},
        {"measurement": "box_if", "table": True, "index_tag": "ifIndex",
         "tags": {"name": "1.3.6.1.2.1.2.2.1.2"},
         "fields": {"oper": {"oid": "1.3.6.1.2.1.2.2.1.8", "type": "enum",
                             "values": {1: "up", 2: "down"}}}}]}
    (tmp_path / "host.yaml").write_text(yaml.safe_dump(prof))
    target = _target(snmpd_peer, profiles_dir=str(tmp_path))
    col = SnmpCollector()
    samples = col.collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["profile"] == "net-snmp-host", target.evidence
    assert system.fields["partial"] == 0, target.evidence
    (box,) = _by(samples, "box")
    assert box.fields["location"] == "loopback"
    assert box.fields["services"] == int(snmpd_peer.snmp(
        "snmpget", "-Oqvt", "1.3.6.1.2.1.1.8.0").stdout.strip())
    names = _walk(snmpd_peer, "1.3.6.1.2.1.2.2.1.2")
    assert {int(s.tags["ifIndex"]): s.tags["name"] for s in _by(samples, "box_if")} == names
    assert all(s.fields["oper"] in ("up", "down") for s in _by(samples, "box_if"))
    again = col.collect(target, None)  # snmpd answered our GETs: snmpInPkts grew
    (box2,) = _by(again, "box")
    assert box2.fields["in_pkts_per_s"] > 0  # type: ignore[operator]

    prof["metrics"][0]["fields"]["vendor"] = {"oid": "1.3.6.1.4.1.99999.1.0"}  # type: ignore[index]
    (tmp_path / "host.yaml").write_text(yaml.safe_dump(prof))
    target = _target(snmpd_peer, profiles_dir=str(tmp_path))
    samples = SnmpCollector().collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["partial"] == 1 and system.fields["profile_partial"] == 1
    assert "vendor" not in _by(samples, "box")[0].fields
    assert any("no value for vendor" in e for e in target.evidence)


def test_wrong_community_is_not_collected_even_with_a_profile(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer, community=SecretStr("wrong-c"), profile="ups-mib",
                     timeout=0.3, retries=0)
    with pytest.raises(CollectionError, match="timed out"):
        SnmpCollector().collect(target, None)


def test_named_profile_on_a_device_without_it_is_partial(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer, profile="ups-mib")
    samples = SnmpCollector().collect(target, None)
    (system,) = _by(samples, "snmp")
    assert system.fields["profile"] == "ups-mib" and system.fields["partial"] == 1
    assert not _by(samples, "ups") and not _by(samples, "ups_output")
    assert any("battery_status" in e for e in target.evidence)


def test_flaps_field_through_the_collector(snmpd_peer: SnmpdPeer) -> None:
    target = _target(snmpd_peer, flap_window=600)
    col = SnmpCollector()
    first = col.collect(target, None)
    assert all(s.fields["flaps"] == 0 for s in _by(first, "interface"))
    # simulate the previous poll having seen a port in the other state: one change
    idx, port = next(iter(target.state["ports"].items()))
    port["oper"] = 2 if port["oper"] == 1 else 1
    second = col.collect(target, None)
    flaps = {s.tags["ifIndex"]: s.fields["flaps"] for s in _by(second, "interface")}
    assert flaps[idx] == 1 and all(v == 0 for k, v in flaps.items() if k != idx)
    third = col.collect(target, None)  # kept in memory within the window
    assert {s.tags["ifIndex"]: s.fields["flaps"] for s in _by(third, "interface")}[idx] == 1


def test_readme_profile_and_rule_examples_validate() -> None:
    from checks.rules import Rule
    from collectors.snmp_profiles import Profile

    readme = user_docs()
    part = readme.split("#### Device profiles", 1)[1]
    blocks = [b.split("```", 1)[0] for b in part.split("```yaml\n")[1:3]]
    prof = Profile.model_validate(yaml.safe_load(blocks[0]))
    assert prof.name == "acme-enc9000" and prof.metrics[1].percent is not None
    (rule,) = yaml.safe_load(blocks[1])["rules"]
    assert Rule.model_validate(rule).states == {"normal": "ok", "warning": "warn", "fault": "crit"}
    assert set(rule["states"]) == set(prof.metrics[0].fields["status"].values.values())


def test_sentinels_index_parts_and_tag_lookup_are_pure_data() -> None:
    from collectors.snmp_profiles import index_tags

    g = MetricGroup.model_validate({
        "measurement": "arp", "table": True, "sentinels": [65535],
        "index": [{"name": "ifIndex", "type": "int"}, {"name": "ip", "type": "ipv4"}],
        "tags": {"port": {"oid": "1.9.1", "index_from": "ifIndex", "fallback": "if {ifIndex}"}},
        "fields": {"a": {"oid": "1.9.5", "sentinels": [-1]}, "b": {"oid": "1.9.6"}}})
    cols = {"1.9.1": {"7": "GE1/0/7"},
            "1.9.5": {"7.10.0.0.1": 3, "8.10.0.0.2": -1, "10.10.0.0.3": 65535},
            "1.9.6": {"7.10.0.0.1": 65535, "8.10.0.0.2": 4, "10.10.0.0.3": 2147483647}}
    rows, _state, dropped = group_rows(g, {}, cols, {}, None, sentinels=[2147483647])
    assert rows == [({"index": "7.10.0.0.1", "ifIndex": "7", "ip": "10.0.0.1", "port": "GE1/0/7"},
                     {"a": 3}),
                    ({"index": "8.10.0.0.2", "ifIndex": "8", "ip": "10.0.0.2", "port": "if 8"},
                     {"b": 4})]  # the row with only sentinels gives no sample
    assert dropped == 4
    assert index_tags(g.index, "7.1.2") == {}  # not that shape: no part tags
    from collectors.snmp_profiles import IndexPart
    assert index_tags([IndexPart(name="m", type="mac")], "0.26.43.60.77.94") == {
        "m": "00:1a:2b:3c:4d:5e"}


@pytest.mark.parametrize(("text", "place", "words"), [
    ("name: x\nidentity: {sysdescr: ['(']}\n", "identity.sysdescr", "not a regular expression"),
    ("name: x\nidentity: {sysdescr: ['V\\d+']}\n", "identity.sysdescr", "name a group"),
    ("name: x\nidentity: {oids: {colour: 1.3.6.1.2.1.1.1.0}}\n", "identity.oids", "one of"),
    ("name: x\n", "", "metrics` or `identity"),
    ("name: x\nmetrics: [{measurement: m, fields: {a: {oid: 1.2.3}},"
     " tags: {t: {oid: 1.2.4, index_from: nope}}, table: true}]\n", "index_from", "not the index"),
])
def test_new_profile_keys_mistakes_name_file_and_key(tmp_path: Path, text: str, place: str,
                                                     words: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError) as e:
        load_profiles(tmp_path)
    assert place in str(e.value) and words in str(e.value)
