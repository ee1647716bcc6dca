"""SNMP end to end: `xunjian inspect` against snmpsim recordings and net-snmp snmpd
(verdicts, exit code, the asset register), and `xunjian run --once` sending SNMP and CLI
(FakeNOS) samples to a real InfluxDB 1.x, queried back by their documented names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fakenos_peer import PASSWORD, USERNAME, FakeNosPeer
from tests.helpers import cli
from tests.peers import HOST, InfluxV1Peer, SnmpdPeer
from tests.snmpsim_peer import ENT_SERIAL, SnmpsimPeer, chassis, column, recording, text

pytestmark = [pytest.mark.peers,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]


def _encoder_profiles(tmp_path: Path, rec: dict[str, tuple[str, str]]) -> Path:
    """The shipped encoder template, copied as the README says, for the camera recording."""
    shipped = Path(__file__).resolve().parent.parent / "collectors" / "profiles"
    data = yaml.safe_load((shipped / "template-encoder.yaml").read_text(encoding="utf-8"))
    data.pop("template")
    oid = rec["1.3.6.1.2.1.1.2.0"][1]
    data.update(name="camera-ipolis", match=[oid])
    status = next(o for o, (_t, v) in rec.items() if o.startswith(oid + ".") and v == "OK")
    data["metrics"][0]["fields"]["status"] = {"oid": status, "type": "string"}
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "camera.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return d


def test_inspect_over_snmp(snmpsim_peer: SnmpsimPeer, snmpd_peer: SnmpdPeer,
                           tmp_path: Path) -> None:
    h3c, cam = recording("h3c-e528-2"), recording("samsung-ipolis")
    names = column(h3c, "1.3.6.1.2.1.31.1.1.1.1")
    oper, admin = column(h3c, "1.3.6.1.2.1.2.2.1.8"), column(h3c, "1.3.6.1.2.1.2.2.1.7")
    watched = names[min(i for i in names if oper[i] == "2" and admin[i] == "1")]
    sim = snmpsim_peer
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump({"devices": [
        {"name": "sw-agg-1", "kind": "switch", "address": HOST, "collectors": ["snmp"],
         "settings": {"snmp": {"community": "${XJ_H3C}", "port": sim.port, "timeout": 3,
                               "watch_ports": [watched]}}},
        {"name": "enc-07", "kind": "encoder", "address": HOST, "collectors": ["snmp"],
         "settings": {"snmp": {"community": "${XJ_CAM}", "port": sim.port, "timeout": 3,
                               "profiles_dir": str(_encoder_profiles(tmp_path, cam))}}},
        {"name": "srv-snmpd", "kind": "server", "address": HOST, "collectors": ["snmp"],
         "settings": {"snmp": {"version": 3, "user": snmpd_peer.v3_user, "auth_protocol": "SHA",
                               "auth_key": "${XJ_AUTH}", "priv_protocol": "AES",
                               "priv_key": "${XJ_PRIV}", "port": snmpd_peer.port}}},
    ]}))
    env = {"XJ_H3C": "h3c-e528-2", "XJ_CAM": "samsung-ipolis", "XJ_AUTH": snmpd_peer.v3_auth,
           "XJ_PRIV": snmpd_peer.v3_priv}
    r = cli("inspect", "-i", str(inv), "--data-dir", str(tmp_path / "var"), "-f", "json",
            env=env, timeout=300)
    doc = json.loads(r.stdout)
    rows = {(x["device"], x["check"], x["instance"]): x for x in doc["results"]}
    for dev in ("sw-agg-1", "enc-07", "srv-snmpd"):
        assert rows[(dev, "collect.snmp", "")]["status"] == "ok", rows[(dev, "collect.snmp", "")]
    # every H3C port judged; the watched down port is CRIT: the exit code says so
    ports = {k[2]: v for k, v in rows.items() if k[:2] == ("sw-agg-1", "port_down")}
    assert set(ports) == set(names.values())
    assert ports[watched]["status"] == "crit"
    assert {p for p, v in ports.items() if v["status"] != "ok"} == {watched}
    assert r.returncode == 2 and doc["exit_code"] == 2
    # the H3C profile's board temperatures, as recorded
    temps = sorted(v["value"] for k, v in rows.items() if k[:2] == ("sw-agg-1", "device_temperature_c"))
    t_col = column(h3c, "1.3.6.1.4.1.25506.2.6.1.1.1.1.12")
    assert temps == sorted(int(v) for v in t_col.values() if v != "0")
    # the encoder copy lacks temperature/bitrate/channel OIDs on this device: partial, WARN
    assert rows[("enc-07", "snmp_partial_walk", "")]["status"] == "warn"
    assert rows[("sw-agg-1", "snmp_partial_walk", "")]["status"] == "ok"
    assert rows[("srv-snmpd", "snmp_partial_walk", "")]["status"] == "ok"
    out = r.stdout + r.stderr
    assert snmpd_peer.v3_auth not in out and snmpd_peer.v3_priv not in out

    a = cli("assets", "list", "--data-dir", str(tmp_path / "var"), "-f", "json")
    assets = {x["device"]: x for x in json.loads(a.stdout)["assets"]}
    assert assets["sw-agg-1"]["serial"] == column(h3c, ENT_SERIAL)[chassis(h3c)]
    assert assets["sw-agg-1"]["sysObjectID"] == h3c["1.3.6.1.2.1.1.2.0"][1]
    assert assets["enc-07"]["sysDescr"] == text(cam, "1.3.6.1.2.1.1.1.0")
    assert "serial" not in assets["enc-07"]  # the camera has no ENTITY-MIB


@pytest.fixture
def fakenos() -> Iterator[FakeNosPeer]:
    p = FakeNosPeer({"sw-cli": "huawei_vrp"}).start()
    try:
        yield p
    finally:
        p.stop()


def test_snmp_and_cli_samples_land_in_influxdb(snmpd_peer: SnmpdPeer, fakenos: FakeNosPeer,
                                               influx_peer: InfluxV1Peer, tmp_path: Path) -> None:
    influx_peer.create_database("xj_net")
    h = fakenos.hosts["sw-cli"]
    kh = fakenos.known_hosts(tmp_path / "known_hosts")
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump({"devices": [
        {"name": "sw-snmp", "kind": "switch", "address": HOST, "collectors": ["snmp"],
         "settings": {"snmp": {"community": "${XJ_COMM}", "port": snmpd_peer.port}}},
        {"name": "sw-cli", "kind": "switch", "address": HOST, "collectors": ["cli"],
         "settings": {"cli": {"platform": h.device_type, "port": h.port, "username": USERNAME,
                              "password": "${XJ_CLI_PASS}", "known_hosts": str(kh),
                              "read_timeout": 15}}},
    ]}))
    cfg = tmp_path / "xunjian.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": "var", "inventory": "inventory.yaml",
        "sinks": {"influxdb": [{"name": "influx1", "version": 1, "url": influx_peer.url,
                                "database": "xj_net"}]}}))
    r = cli("run", "--once", "-c", str(cfg), timeout=300,
            env={"XJ_COMM": snmpd_peer.community, "XJ_CLI_PASS": PASSWORD})
    assert r.returncode == 0, r.stderr
    assert snmpd_peer.community not in r.stdout + r.stderr and PASSWORD not in r.stderr

    def series(q: str) -> list[dict]:  # type: ignore[type-arg]
        return influx_peer.query("xj_net", q)["results"][0].get("series", [])

    # one `interface` measurement for both collectors, per device and port
    by_host = {s["tags"]["host"]: s for s in series(
        'SELECT count("oper_state") FROM "interface" GROUP BY "host"')}
    snmp_ports = snmpd_peer.snmp("snmpwalk", "-Oq", "1.3.6.1.2.1.31.1.1.1.1").stdout.splitlines()
    assert by_host["sw-snmp"]["values"][0][1] == len(snmp_ports)
    assert by_host["sw-cli"]["values"][0][1] > 0
    (sysrow,) = series('SELECT "sysName", "uptime_seconds", "partial" FROM "snmp" '
                       'WHERE "host" = \'sw-snmp\'')
    _time, name, uptime, partial = sysrow["values"][0]
    assert name == "xj-snmpd" and uptime > 0 and partial == 0
    assets = {s["tags"]["host"]: dict(zip(s["columns"], s["values"][-1], strict=True))
              for s in series('SELECT * FROM "asset" GROUP BY "host"')}
    assert assets["sw-snmp"]["sysObjectID"] and assets["sw-snmp"]["entity_mib"] == 0
    assert assets["sw-cli"]["vendor"] == "Huawei"
    (cpu,) = series('SELECT "usage_percent" FROM "cli_cpu" WHERE "host" = \'sw-cli\'')
    assert cpu["values"][0][1] == 12.0
    (clirow,) = series('SELECT "platform" FROM "cli" WHERE "host" = \'sw-cli\'')
    assert clirow["values"][0][1] == "huawei"
