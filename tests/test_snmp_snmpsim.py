"""The SNMP collector and the shipped profiles against snmpsim serving recordings of real
devices (Cisco C3560, Huawei S5720, a Huawei UPS). Expected values are read from the
.snmprec recordings, not written here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from agent.model import CollectionError, Sample, Target
from collectors.snmp import SnmpCollector, SnmpSettings
from tests.snmpsim_peer import SnmpsimPeer, recording


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimPeer]:
    with SnmpsimPeer(tmp_path_factory.mktemp("snmpsim")) as peer:
        yield peer


def _collect(sim: SnmpsimPeer, name: str, **kw: object) -> tuple[Target, list[Sample]]:
    s = SnmpSettings.model_validate({"community": SecretStr(name), "port": sim.port,
                                     "timeout": 3.0, "retries": 1, **kw})
    t = Target(name, "switch", sim.host, settings=s)
    return t, SnmpCollector().collect(t, None)


def _by(samples: list[Sample], m: str) -> list[Sample]:
    return [s for s in samples if s.measurement == m]


def _text(rec: dict[str, tuple[str, str]], oid: str) -> str:
    tag, v = rec[oid]
    return bytes.fromhex(v).decode("utf-8", "replace") if tag.endswith("x") else v


def _column(rec: dict[str, tuple[str, str]], col: str) -> dict[int, str]:
    return {int(o[len(col) + 1:]): _text(rec, o) for o in rec
            if o.startswith(col + ".") and o[len(col) + 1:].isdigit()}


def test_cisco_c3560_ports_asset_and_profile(sim: SnmpsimPeer) -> None:
    rec = recording("cisco-c3560")
    _target, samples = _collect(sim, "cisco-c3560")
    (system,) = _by(samples, "snmp")
    assert system.fields["sysObjectID"] == rec["1.3.6.1.2.1.1.2.0"][1]
    assert system.fields["profile"] == "cisco"  # chosen by sysObjectID prefix
    ports = {int(s.tags["ifIndex"]): s for s in _by(samples, "interface")}
    assert {i: s.tags.get("ifName") for i, s in ports.items()} == _column(rec, "1.3.6.1.2.1.31.1.1.1.1")
    oper = _column(rec, "1.3.6.1.2.1.2.2.1.8")
    assert {i: s.fields["oper_status_code"] for i, s in ports.items()} == {
        i: int(v) for i, v in oper.items()}
    # asset: the chassis row (entPhysicalClass 3) of ENTITY-MIB
    classes = _column(rec, "1.3.6.1.2.1.47.1.1.1.1.5")
    chassis = min(i for i, c in classes.items() if c == "3")
    (asset,) = _by(samples, "asset")
    assert asset.fields["serial"] == _column(rec, "1.3.6.1.2.1.47.1.1.1.1.11")[chassis]
    assert asset.fields["model"] == _column(rec, "1.3.6.1.2.1.47.1.1.1.1.13")[chassis]
    # profile metrics
    cpu = _column(rec, "1.3.6.1.4.1.9.9.109.1.1.1.1.8")
    assert cpu and {int(s.tags["cpmCPUTotalIndex"]): s.fields["cpu_percent"]
                    for s in _by(samples, "device_health")} == {i: int(v) for i, v in cpu.items()}
    temp_state = _column(rec, "1.3.6.1.4.1.9.9.13.1.3.1.6")
    temps = {int(s.tags["index"]): s for s in _by(samples, "env_temperature")}
    assert temp_state and {i: s.fields["state_code"] for i, s in temps.items()} == {
        i: int(v) for i, v in temp_state.items()}
    descr = _column(rec, "1.3.6.1.4.1.9.9.13.1.3.1.2")
    assert {i: s.tags["descr"] for i, s in temps.items()} == {i: descr[i].rstrip("\x00") for i in temps}
    fans = _column(rec, "1.3.6.1.4.1.9.9.13.1.4.1.3")
    assert sorted(s.fields["state_code"] for s in _by(samples, "env_fan")) == sorted(
        int(v) for v in fans.values())
    # a profile column the recording lacks makes the cycle partial, never silently OK
    has_pool = bool(_column(rec, "1.3.6.1.4.1.9.9.48.1.1.1.5"))
    assert system.fields["partial"] == int(not has_pool)
    assert bool(_by(samples, "memory_pool")) == has_pool


def test_huawei_s5720_profile_board_metrics(sim: SnmpsimPeer) -> None:
    rec = recording("huawei-s5720")
    _t, samples = _collect(sim, "huawei-s5720")
    (system,) = _by(samples, "snmp")
    assert system.fields["profile"] == "huawei" and system.fields["partial"] == 0
    base = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1."
    cpu, mem, temp = (_column(rec, base + n) for n in ("5", "7", "11"))
    boards = {i for i in cpu if any(int(c.get(i, 0)) for c in (cpu, mem, temp))}
    health = {int(s.tags["entPhysicalIndex"]): s for s in _by(samples, "device_health")}
    assert boards and set(health) == boards
    names = _column(rec, "1.3.6.1.2.1.47.1.1.1.1.7")
    for i, s in health.items():
        assert (s.fields["cpu_percent"], s.fields["mem_percent"], s.fields["temperature_c"]) == (
            int(cpu[i]), int(mem[i]), int(temp[i]))
        assert s.tags.get("entPhysicalName") == names.get(i)
    assert len(_by(samples, "interface")) == len(_column(rec, "1.3.6.1.2.1.2.2.1.8"))


def test_ups_profile_named_in_settings(sim: SnmpsimPeer) -> None:
    rec = recording("huawei-gse200m")
    _t, samples = _collect(sim, "huawei-gse200m", profile="ups-mib")
    (ups,) = _by(samples, "ups")
    assert ups.fields["battery_status_code"] == int(rec["1.3.6.1.2.1.33.1.2.1.0"][1])
    assert ups.fields["charge_percent"] == int(rec["1.3.6.1.2.1.33.1.2.4.0"][1])
    assert ups.fields["output_source_code"] == int(rec["1.3.6.1.2.1.33.1.4.1.0"][1])
    loads = _column(rec, "1.3.6.1.2.1.33.1.4.4.1.5")
    assert {int(s.tags["line"]): s.fields["load_percent"] for s in _by(samples, "ups_output")} == {
        i: int(v) for i, v in loads.items()}


def test_unknown_community_is_not_collected(sim: SnmpsimPeer) -> None:
    with pytest.raises(CollectionError, match="timed out"):
        _collect(sim, "no-such-recording", timeout=0.5, retries=0)
