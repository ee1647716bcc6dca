"""The SNMP collector and the shipped profiles against snmpsim serving recordings of real
devices (Cisco C3560, Huawei S5720, H3C E528, a Huawei UPS, a Samsung iPolis camera as the
encoder stand-in). Expected values are read from the .snmprec recordings, not written here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from collectors.snmp import SnmpCollector, SnmpSettings
from core.model import CollectionError, Sample, Target
from tests.snmpsim_peer import (
    ENT_SERIAL,
    HR_USED,
    SnmpsimPeer,
    chassis,
    column,
    recording,
    text,
)


@pytest.fixture
def sim(snmpsim_peer: SnmpsimPeer) -> SnmpsimPeer:
    return snmpsim_peer  # the session's snmpsim (tests/conftest.py)


def _collect(sim: SnmpsimPeer, name: str, **kw: object) -> tuple[Target, list[Sample]]:
    s = SnmpSettings.model_validate({"community": SecretStr(name), "port": sim.port,
                                     "timeout": 3.0, "retries": 1, **kw})
    t = Target(name, "switch", sim.host, settings=s)
    return t, SnmpCollector().collect(t, None)


def _by(samples: list[Sample], m: str) -> list[Sample]:
    return [s for s in samples if s.measurement == m]


def test_cisco_c3560_ports_asset_and_profile(sim: SnmpsimPeer) -> None:
    rec = recording("cisco-c3560")
    _target, samples = _collect(sim, "cisco-c3560")
    (system,) = _by(samples, "snmp")
    assert system.fields["sysObjectID"] == rec["1.3.6.1.2.1.1.2.0"][1]
    assert system.fields["profile"] == "cisco"  # chosen by sysObjectID prefix
    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    assert {i: s.tags.get("ifName") for i, s in ports.items()} == column(rec, "1.3.6.1.2.1.31.1.1.1.1")
    oper = column(rec, "1.3.6.1.2.1.2.2.1.8")
    assert {i: s.fields["oper_status_code"] for i, s in ports.items()} == {
        i: int(v) for i, v in oper.items()}
    # asset: the chassis row (entPhysicalClass 3) of ENTITY-MIB
    classes = column(rec, "1.3.6.1.2.1.47.1.1.1.1.5")
    row = min(i for i, c in classes.items() if c == "3")
    (asset,) = _by(samples, "asset")
    assert asset.fields["serial"] == column(rec, "1.3.6.1.2.1.47.1.1.1.1.11")[row]
    assert asset.fields["model"] == column(rec, "1.3.6.1.2.1.47.1.1.1.1.13")[row]
    # profile metrics
    cpu = column(rec, "1.3.6.1.4.1.9.9.109.1.1.1.1.8")
    assert cpu and {int(s.tags["cpmCPUTotalIndex"]): s.fields["cpu_percent"]
                    for s in _by(samples, "device_health")} == {i: int(v) for i, v in cpu.items()}
    board = column(rec, "1.3.6.1.4.1.9.9.109.1.1.1.1.2")  # cpmCPUTotalPhysicalIndex
    assert {int(s.tags["cpmCPUTotalIndex"]): s.tags["entPhysicalIndex"]
            for s in _by(samples, "device_health")} == board
    temp_state = column(rec, "1.3.6.1.4.1.9.9.13.1.3.1.6")
    temps = {int(s.tags["index"]): s for s in _by(samples, "env_temperature")}
    assert temp_state and {i: s.fields["state_code"] for i, s in temps.items()} == {
        i: int(v) for i, v in temp_state.items()}
    descr = column(rec, "1.3.6.1.4.1.9.9.13.1.3.1.2")
    assert {i: s.tags["descr"] for i, s in temps.items()} == {i: descr[i].rstrip("\x00") for i in temps}
    fans = column(rec, "1.3.6.1.4.1.9.9.13.1.4.1.3")
    assert sorted(s.fields["state_code"] for s in _by(samples, "env_fan")) == sorted(
        int(v) for v in fans.values())
    # a profile column the recording lacks makes the cycle partial, never silently OK
    has_pool = bool(column(rec, "1.3.6.1.4.1.9.9.48.1.1.1.5"))
    assert system.fields["partial"] == int(not has_pool)
    assert bool(_by(samples, "memory_pool")) == has_pool


def test_huawei_s5720_profile_board_metrics(sim: SnmpsimPeer) -> None:
    rec = recording("huawei-s5720")
    _t, samples = _collect(sim, "huawei-s5720")
    (system,) = _by(samples, "snmp")
    assert system.fields["profile"] == "huawei" and system.fields["partial"] == 0
    base = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1."
    cpu, mem, temp = (column(rec, base + n) for n in ("5", "7", "11"))
    boards = {i for i in cpu if any(int(c.get(i, 0)) for c in (cpu, mem, temp))}
    health = {int(s.tags["entPhysicalIndex"]): s for s in _by(samples, "device_health")}
    assert boards and set(health) == boards
    names = column(rec, "1.3.6.1.2.1.47.1.1.1.1.7")
    for i, s in health.items():
        assert (s.fields["cpu_percent"], s.fields["mem_percent"], s.fields["temperature_c"]) == (
            int(cpu[i]), int(mem[i]), int(temp[i]))
        assert s.tags.get("entPhysicalName") == names.get(i)
    assert len(_by(samples, "interface")) == len(column(rec, "1.3.6.1.2.1.2.2.1.8"))


def test_ups_profile_named_in_settings(sim: SnmpsimPeer) -> None:
    rec = recording("huawei-gse200m")
    _t, samples = _collect(sim, "huawei-gse200m", profile="ups-mib")
    (ups,) = _by(samples, "ups")
    assert ups.fields["battery_status_code"] == int(rec["1.3.6.1.2.1.33.1.2.1.0"][1])
    # this card answers -1 ("no value") for charge and runtime: not data, so no field
    for field, oid in (("charge_percent", "1.3.6.1.2.1.33.1.2.4.0"),
                       ("minutes_remaining", "1.3.6.1.2.1.33.1.2.3.0")):
        raw = int(rec[oid][1])
        assert ups.fields.get(field) == (None if raw == -1 else raw), field
    assert ups.fields["output_source_code"] == int(rec["1.3.6.1.2.1.33.1.4.1.0"][1])
    loads = column(rec, "1.3.6.1.2.1.33.1.4.4.1.5")
    assert {int(s.tags["line"]): s.fields["load_percent"] for s in _by(samples, "ups_output")} == {
        i: int(v) for i, v in loads.items()}


def test_unknown_community_is_not_collected(sim: SnmpsimPeer) -> None:
    with pytest.raises(CollectionError, match="timed out"):
        _collect(sim, "no-such-recording", timeout=0.5, retries=0)


def test_h3c_e528_ports_asset_and_profile(sim: SnmpsimPeer) -> None:
    rec = recording("h3c-e528-2")
    target, samples = _collect(sim, "h3c-e528-2")
    (system,) = _by(samples, "snmp")
    assert system.fields["sysObjectID"] == rec["1.3.6.1.2.1.1.2.0"][1]
    assert system.fields["sysName"] == text(rec, "1.3.6.1.2.1.1.5.0")
    assert system.fields["sysDescr"] == text(rec, "1.3.6.1.2.1.1.1.0")
    assert system.fields["profile"] == "h3c" and system.fields["partial"] == 0
    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    assert {i: s.tags.get("ifName") for i, s in ports.items()} == column(rec, "1.3.6.1.2.1.31.1.1.1.1")
    for col, field in (("1.3.6.1.2.1.2.2.1.8", "oper_status_code"),
                       ("1.3.6.1.2.1.2.2.1.7", "admin_status_code"),
                       ("1.3.6.1.2.1.31.1.1.1.6", "in_octets"),
                       ("1.3.6.1.2.1.31.1.1.1.15", "ifHighSpeed")):
        assert {i: s.fields[field] for i, s in ports.items()} == {
            i: int(v) for i, v in column(rec, col).items()}, field
    row = chassis(rec)
    (asset,) = _by(samples, "asset")
    for field, col in (("serial", "11"), ("model", "13"), ("hardware_rev", "8"),
                       ("firmware_rev", "9"), ("software_rev", "10")):
        assert asset.fields[field] == column(rec, f"1.3.6.1.2.1.47.1.1.1.1.{col}")[row]
    # HH3C-ENTITY-EXT-MIB: boards with any non-zero value; a `numeric` variation line
    # (the recorder's live CPU) is served as a value within its max
    base = "1.3.6.1.4.1.25506.2.6.1.1.1.1."
    cols = {f: column(rec, base + n) for f, n in (
        ("cpu_percent", "6"), ("mem_percent", "8"), ("temperature_c", "12"))}
    varied = {int(o.rsplit(".", 1)[1]) for o, (tag, _v) in rec.items()
              if o.startswith(base + "6.") and tag.endswith(":numeric")}

    def number(v: str) -> int:
        return int(v) if v.isdigit() else 1  # a variation: counts as non-zero
    boards = {i for i in cols["cpu_percent"]
              if any(number(c.get(i, "0")) for c in cols.values())}
    health = {int(s.tags["entPhysicalIndex"]): s for s in _by(samples, "device_health")}
    assert boards and set(health) == boards
    names = column(rec, "1.3.6.1.2.1.47.1.1.1.1.7")
    for i, s in health.items():
        for f, col in cols.items():
            if i in varied and f == "cpu_percent":
                assert 0 <= s.fields[f] <= 100
            else:
                assert s.fields[f] == int(col[i]), (i, f)
        assert s.tags.get("entPhysicalName") == (names.get(i) or None)
    assert f"profile h3c: {len(health)} samples" in target.evidence


def test_failed_entity_walk_emits_no_asset_and_is_partial(sim: SnmpsimPeer) -> None:
    """A genError in the middle of the ENTITY-MIB walk: no asset sample (the register
    would record serial X -> None -> X), the cycle is partial, the reason is in the
    evidence; the ports are still reported."""
    _t, good = _collect(sim, "h3c-e528-2")
    (asset,) = _by(good, "asset")
    assert asset.fields["serial"]
    target, samples = _collect(sim, "h3c-broken-entity")
    assert not _by(samples, "asset")
    (system,) = _by(samples, "snmp")
    assert system.fields["partial"] == 1
    assert len(_by(samples, "interface")) == len(_by(good, "interface"))
    (why,) = [e for e in target.evidence if e.startswith("ENTITY-MIB")]
    assert "asset not recorded" in why and "genErr" in why and ENT_SERIAL in why


def test_failed_host_resources_walk_is_partial(sim: SnmpsimPeer) -> None:
    rec = recording("samsung-ipolis")
    _t, good = _collect(sim, "samsung-ipolis")
    (system,) = _by(good, "snmp")
    assert system.fields["partial"] == 0 and _by(good, "hr_storage")
    target, samples = _collect(sim, "camera-broken-hr")
    (system,) = _by(samples, "snmp")
    assert system.fields["partial"] == 1
    assert not _by(samples, "hr_storage")  # no storage row judged on half its columns
    loads = column(rec, "1.3.6.1.2.1.25.3.3.1.2")
    assert {int(s.tags["hrDeviceIndex"]): s.fields["load_percent"]
            for s in _by(samples, "hr_processor")} == {i: int(v) for i, v in loads.items()}
    (why,) = [e for e in target.evidence if e.startswith("HOST-RESOURCES-MIB")]
    assert "genErr" in why and HR_USED in why


def _encoder_copy(tmp_path: Path, sys_object_id: str, model_oid: str, status_oid: str) -> Path:
    """The shipped encoder template copied the way the README says: renamed, `template`
    removed, `match` set to the device's sysObjectID, vendor OIDs the recording has put in;
    the ones it lacks (temperature, bitrate, channel table) left as they are."""
    shipped = Path(__file__).resolve().parent.parent / "collectors" / "profiles"
    data = yaml.safe_load((shipped / "template-encoder.yaml").read_text(encoding="utf-8"))
    data.pop("template")
    data["name"] = "camera-ipolis"
    data["match"] = [sys_object_id]
    fields = data["metrics"][0]["fields"]
    fields["status"] = {"oid": status_oid, "type": "string"}
    fields["model"] = {"oid": model_oid, "type": "string"}
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "camera-ipolis.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return d


def test_encoder_template_copy_on_camera_recording(sim: SnmpsimPeer, tmp_path: Path) -> None:
    rec = recording("samsung-ipolis")
    oid = rec["1.3.6.1.2.1.1.2.0"][1]
    model_oid = f"{oid}.1.0"  # the vendor subtree under its sysObjectID: model name
    status_oid = next(o for o, (_t, v) in rec.items() if o.startswith("1.3.6.1.4.1.36849.")
                      and v == "OK")
    profiles = _encoder_copy(tmp_path, oid, model_oid, status_oid)
    target, samples = _collect(sim, "samsung-ipolis", profiles_dir=str(profiles))
    (system,) = _by(samples, "snmp")
    assert system.fields["profile"] == "camera-ipolis"  # chosen by sysObjectID
    assert system.fields["uptime_seconds"] == int(rec["1.3.6.1.2.1.1.3.0"][1]) / 100
    (enc,) = _by(samples, "encoder")
    assert enc.fields["status"] == "OK"
    assert enc.fields["model"] == text(rec, model_oid)
    # the template's OIDs the recording does not have: partial, named in the evidence
    assert system.fields["profile_partial"] == 1 and system.fields["partial"] == 1
    assert "temperature_c" not in enc.fields and not _by(samples, "encoder_channel")
    (why,) = [e for e in target.evidence if e.startswith("profile camera-ipolis")]
    assert "temperature_c" in why and "encoder_channel" in why
    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    assert {i: s.tags["ifDescr"] for i, s in ports.items()} == column(rec, "1.3.6.1.2.1.2.2.1.2")
    assert {i: s.fields["oper_status_code"] for i, s in ports.items()} == {
        i: int(v) for i, v in column(rec, "1.3.6.1.2.1.2.2.1.8").items()}
    assert {i: s.fields["oper_state"] for i, s in ports.items()
            if s.fields["admin_status_code"] == 2} == {
        i: "admin-down" for i, v in column(rec, "1.3.6.1.2.1.2.2.1.7").items() if v == "2"}


def test_v3_context_name_selects_the_recording(sim: SnmpsimPeer) -> None:
    rec = recording("h3c-e528-2")
    _t, samples = _collect(sim, "v3", version="3", community=None, user=sim.v3_user,
                           auth_protocol="SHA", auth_key=SecretStr(sim.v3_auth),
                           priv_protocol="AES", priv_key=SecretStr(sim.v3_priv),
                           context="h3c-e528-2")
    (system,) = _by(samples, "snmp")
    assert system.fields["sysName"] == text(rec, "1.3.6.1.2.1.1.5.0")
    assert len(_by(samples, "interface")) == len(column(rec, "1.3.6.1.2.1.2.2.1.8"))
    assert _by(samples, "asset")[0].fields["serial"] == column(
        rec, ENT_SERIAL)[chassis(rec)]
    # another context, another device
    _t, other = _collect(sim, "v3", version="3", community=None, user=sim.v3_user,
                         auth_protocol="SHA", auth_key=SecretStr(sim.v3_auth),
                         priv_protocol="AES", priv_key=SecretStr(sim.v3_priv),
                         context="huawei-gse200m", timeout=3.0)
    assert _by(other, "snmp")[0].fields["sysObjectID"] == recording(
        "huawei-gse200m")["1.3.6.1.2.1.1.2.0"][1]
    with pytest.raises(CollectionError, match="timed out"):
        _collect(sim, "v3", version="3", community=None, user=sim.v3_user,
                 auth_protocol="SHA", auth_key=SecretStr(sim.v3_auth), priv_protocol="AES",
                 priv_key=SecretStr(sim.v3_priv), context="no-such-context",
                 timeout=0.5, retries=0)


def test_agent_without_ifxtable_gives_32_bit_octet_rates_and_ifspeed(sim: SnmpsimPeer) -> None:
    rec = recording("samsung-ipolis")  # served without its ifXTable as "camera-no-ifx"
    target, samples = _collect(sim, "camera-no-ifx", entity=False, host_resources=False)
    ports = {int(s.tags["ifIndex"]): s.fields for s in _by(samples, "interface")}
    for field, col in (("in_octets", "1.3.6.1.2.1.2.2.1.10"), ("out_octets", "1.3.6.1.2.1.2.2.1.16")):
        assert {i: f[field] for i, f in ports.items()} == {
            i: int(v) for i, v in column(rec, col).items()}
    assert {f["octets_bits"] for f in ports.values()} == {32}
    speeds = {i: int(v) for i, v in column(rec, "1.3.6.1.2.1.2.2.1.5").items()}
    assert {i: f.get("ifSpeed") for i, f in ports.items()} == {
        i: v or None for i, v in speeds.items()}  # 0: unknown, not a speed
    assert not any("ifHighSpeed" in f for f in ports.values())
    again = {int(s.tags["ifIndex"]): s.fields
             for s in _by(SnmpCollector().collect(target, None), "interface")}
    fast = next(i for i, v in speeds.items() if v == 100_000_000)
    assert again[fast]["in_bps"] == 0.0 and again[fast]["utilisation_percent"] == 0.0  # a recording stands still
    assert "utilisation_percent" not in again[next(i for i, v in speeds.items() if v == 0)]
