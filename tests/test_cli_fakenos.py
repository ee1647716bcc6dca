"""The `cli` collector against FakeNOS switches on 127.0.0.1 (huawei_vrp, hp_comware, cisco_ios):
parsed tables match what the fake device printed, failures are UNKNOWN with reasons, the
running-config change path works on a live session."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import cli as cli_mod
from collectors.cli import CliCollector, CliSettings
from core.model import CollectionError, Sample, Target
from tests.fakenos_peer import PASSWORD, USERNAME, FakeNosPeer, fixture_text, stock_outputs
from tests.peers import HOST, free_port

# FakeNOS's server thread dies on a refused login (its channel is None): its bug, not ours
pytestmark = [pytest.mark.peers,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeNosPeer]:
    p = FakeNosPeer({"sw-hw": "huawei_vrp", "sw-h3c": "hp_comware", "sw-cisco": "cisco_ios",
                     "sw-hw-cfg": "huawei_vrp", "sw-h3c-odd": "hp_comware"}).start()
    p.known_hosts(tmp_path_factory.mktemp("kh") / "known_hosts")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def known_hosts(peer: FakeNosPeer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return peer.known_hosts(tmp_path_factory.mktemp("kh2") / "known_hosts")


def settings(peer: FakeNosPeer, host: str, known_hosts: Path, **kw: object) -> CliSettings:
    h = peer.hosts[host]
    base: dict[str, object] = {"platform": h.device_type, "port": h.port, "username": USERNAME,
                               "password": PASSWORD, "known_hosts": str(known_hosts),
                               "read_timeout": 10, "conn_timeout": 5, "auth_timeout": 5}
    return CliSettings(**{**base, **kw})


def collect(s: CliSettings, name: str, state: dict | None = None) -> tuple[list[Sample], Target]:  # type: ignore[type-arg]
    t = Target(name, "switch", HOST, settings=s, state=state if state is not None else {})
    return CliCollector().collect(t, None), t


def by(samples: list[Sample], measurement: str) -> list[Sample]:
    return [s for s in samples if s.measurement == measurement]


def checks(samples: list[Sample]) -> dict[str, str]:
    return {s.tags["check"]: str(s.fields["status"]) for s in by(samples, "cli_command")}


def test_huawei_inspection_matches_fakenos(peer: FakeNosPeer, known_hosts: Path) -> None:
    samples, target = collect(settings(peer, "sw-hw", known_hosts), "sw-hw")
    assert set(checks(samples).values()) == {"ok"}, checks(samples)
    raw = stock_outputs("huawei_vrp")["display interface brief"]
    table = [ln.split() for ln in raw.split("Interface                   PHY", 1)[1].splitlines()[1:]
             if ln.strip()]
    ports = {s.tags["ifName"]: s.fields for s in by(samples, "interface")}
    assert list(ports) == [re.sub(r"\(\w+\)$", "", r[0]) for r in table]
    for row in table:
        f = ports[re.sub(r"\(\w+\)$", "", row[0])]
        assert (f["oper_status"], f["protocol"], f["in_errors"]) == (row[1], row[2], int(row[5]))
        assert f["oper_state"] == ("up" if row[1] == "up" else "down")  # first cycle: never seen up
    version = stock_outputs("huawei_vrp")["display version"]
    (asset,) = by(samples, "asset")
    model = re.search(r"^HUAWEI (.+?) uptime is", version, re.M).group(1)  # type: ignore[union-attr]
    esn = re.search(r"ESN of slot 1:\s*(\S+)", fixture_text("huawei_vrp", "display_esn.txt")).group(1)  # type: ignore[union-attr]
    assert (asset.fields["vendor"], asset.fields["model"], asset.fields["serial"]) == ("Huawei", model, esn)
    assert asset.fields["software_rev"].startswith("8.180")  # type: ignore[union-attr]
    (cpu,) = by(samples, "cli_cpu")
    assert cpu.fields["usage_percent"] == float(re.search(  # type: ignore[union-attr]
        r"one minute: (\d+)%", fixture_text("huawei_vrp", "display_cpu-usage.txt")).group(1))
    (mem,) = by(samples, "cli_memory")
    assert mem.fields["used_percent"] == 43.0
    (logs,) = by(samples, "cli_log")
    assert logs.fields["total"] == 5 and logs.fields["errors"] == 2
    (cfg,) = by(samples, "cli_config")
    assert cfg.fields["changed"] == 0 and len(str(cfg.fields["sha256"])) == 64
    assert target.state["config"]["sha256"] == cfg.fields["sha256"]
    assert "irreversible-cipher ***" in target.state["config"]["text"]
    assert "$1a$Oq1Z" not in str(target.state) and PASSWORD not in str(target.state)


def test_h3c_inspection_matches_fakenos(peer: FakeNosPeer, known_hosts: Path) -> None:
    samples, _ = collect(settings(peer, "sw-h3c", known_hosts), "sw-h3c")
    assert set(checks(samples).values()) == {"ok"}, checks(samples)
    raw = stock_outputs("hp_comware")["display interface brief"]
    names = re.findall(r"^(?!Link:)(\S+)\s+(?:UP|DOWN|ADM)\s", raw, re.M)
    ports = {s.tags["ifName"]: s.fields for s in by(samples, "interface")}
    assert list(ports) == names
    assert ports["GE0/0"]["description"] == "The interface for connecting RouterA."
    assert ports["GE0/1"]["oper_status"] == "down" and ports["Aux0"]["oper_status"] == "up"
    manuinfo = stock_outputs("hp_comware")["display device manuinfo"]
    (asset,) = by(samples, "asset")
    assert asset.fields["serial"] == re.search(r"DEVICE_SERIAL_NUMBER\s*:\s*(\S+)", manuinfo).group(1)  # type: ignore[union-attr]
    assert asset.fields["vendor"] == "H3C" and asset.fields["os"] == "Comware"
    assert by(samples, "cli_cpu")[0].fields["usage_percent"] == 19.0  # the busiest board
    assert by(samples, "cli_memory")[0].fields["used_percent"] == 39.7


def test_cisco_inspection_and_unparseable_output_is_unknown_with_evidence(
        peer: FakeNosPeer, known_hosts: Path) -> None:
    samples, target = collect(settings(peer, "sw-cisco", known_hosts), "sw-cisco")
    st = checks(samples)
    # FakeNOS's canned `show interfaces status` is an NX-OS/MDS mix no IOS template reads
    assert st.pop("switchports").startswith("not collected: ntc-templates cisco_ios "
                                            "'show interfaces status' could not parse")
    assert set(st.values()) == {"ok"}, st
    assert not by(samples, "cli_switchport")
    raw = stock_outputs("cisco_ios")["show interfaces status"]
    (ev,) = [e for e in target.evidence if e.startswith("switchports")]
    assert "--- raw output" in ev and raw.strip().splitlines()[0].strip() in ev
    brief = stock_outputs("cisco_ios")["show ip interface brief"]
    ports = {s.tags["ifName"]: s.fields for s in by(samples, "interface")}
    assert list(ports) == re.findall(r"^(\S+)\s+\S+\s+YES", brief, re.M)
    assert ports["Ethernet0/2"]["oper_state"] == "admin-down"
    version = stock_outputs("cisco_ios")["show version"]
    (asset,) = by(samples, "asset")
    assert asset.fields["serial"] == re.search(r"Processor board ID (\S+)", version).group(1)  # type: ignore[union-attr]
    (sysf,) = by(samples, "cli")
    assert sysf.fields["checks_failed"] == 1 and sysf.fields["hostname"] == "rtr-01"
    # the enable secret took us to '#': show commands that need it answered
    assert by(samples, "cli_log")[0].fields["total"] == 3


def test_garbage_and_rejected_commands_are_not_collected(peer: FakeNosPeer, known_hosts: Path) -> None:
    peer.set_output("sw-h3c-odd", "display cpu-usage", "CPU usage monitoring is being restarted, try later")
    peer.set_output("sw-h3c-odd", "display memory",
                    "                ^\n % Unrecognized command found at '^' position.")
    samples, target = collect(settings(peer, "sw-h3c-odd", known_hosts), "sw-h3c-odd")
    st = checks(samples)
    assert st["cpu"] == "not collected: no 'N% in last …' lines in the display cpu-usage output"
    assert st["memory"].startswith("not collected: the device rejected 'display memory': "
                                   "% Unrecognized command")
    assert not by(samples, "cli_cpu") and not by(samples, "cli_memory")
    assert by(samples, "interface")  # the rest still counts
    assert any("try later" in e for e in target.evidence if e.startswith("cpu"))


def test_running_config_change_event_with_redacted_diff(peer: FakeNosPeer, known_hosts: Path) -> None:
    s = settings(peer, "sw-hw-cfg", known_hosts, checks=["config"])
    state: dict = {}  # type: ignore[type-arg]
    first, _ = collect(s, "sw-hw-cfg", state)
    assert by(first, "cli_config")[0].fields["changed"] == 0 and not by(first, "event")
    same, _ = collect(s, "sw-hw-cfg", state)
    assert by(same, "cli_config")[0].fields["changed"] == 0
    new = fixture_text("huawei_vrp", "display_current-configuration.changed.txt")
    peer.set_output("sw-hw-cfg", "display current-configuration", new)
    second, _ = collect(s, "sw-hw-cfg", state)
    (cfg,) = by(second, "cli_config")
    assert cfg.fields["changed"] == 1 and cfg.fields["size"] != by(first, "cli_config")[0].fields["size"]
    (event,) = by(second, "event")
    assert event.tags == {"host": "sw-hw-cfg", "source": "cli", "kind": "config_change",
                          "path": "running-config"}
    diff = str(event.fields["diff"])
    assert "-vlan batch 10 20 30\n+vlan batch 10 20 30 40" in diff
    # the password changed: the diff shows the line, never the secret (old or new)
    assert "NEWSECRET" not in diff and "Oq1Z" not in diff
    assert "+ local-user admin password irreversible-cipher ***" not in diff  # same redacted line
    assert "$1a$" not in str(state) and "%^%#" not in str(state)
    third, _ = collect(s, "sw-hw-cfg", state)
    assert by(third, "cli_config")[0].fields["changed"] == 0 and not by(third, "event")


def test_only_a_secret_changed_is_a_change_without_secret(peer: FakeNosPeer, known_hosts: Path) -> None:
    s = settings(peer, "sw-hw-cfg", known_hosts, checks=["config"])
    base = fixture_text("huawei_vrp", "display_current-configuration.txt")
    peer.set_output("sw-hw-cfg", "display current-configuration", base)
    state: dict = {}  # type: ignore[type-arg]
    collect(s, "sw-hw-cfg", state)
    peer.set_output("sw-hw-cfg", "display current-configuration",
                    base.replace("%^%#Wzs2Jk>3tQ!dBf6<lKf#aX~Y&5_Km8@q%^%#", "%^%#Other0Community%^%#"))
    samples, _ = collect(s, "sw-hw-cfg", state)
    (event,) = by(samples, "event")
    assert event.fields["diff"] == "(only redacted values changed)"


def test_wrong_password_is_unknown_quickly(peer: FakeNosPeer, known_hosts: Path) -> None:
    s = settings(peer, "sw-h3c", known_hosts, password="not-the-password")
    t0 = time.monotonic()
    with pytest.raises(CollectionError, match="authentication failed for user 'inspector'") as e:
        collect(s, "sw-h3c")
    assert time.monotonic() - t0 < s.conn_timeout + s.auth_timeout
    assert "not-the-password" not in str(e.value)


def test_closed_port_is_unknown_within_timeout(known_hosts: Path) -> None:
    s = CliSettings(platform="huawei", port=free_port(), username=USERNAME, password=PASSWORD,
                    known_hosts=str(known_hosts), conn_timeout=2)
    t0 = time.monotonic()
    with pytest.raises(CollectionError, match=r"refused|timed out"):
        collect(s, "gone")
    assert time.monotonic() - t0 < 2 + 3


def test_unknown_host_key_is_refused_unless_accept_new(peer: FakeNosPeer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(CollectionError, match="not in known_hosts"):
        collect(settings(peer, "sw-h3c", empty, checks=["version"]), "sw-h3c")
    samples, _ = collect(settings(peer, "sw-h3c", empty, checks=["version"],
                                  host_key_policy="accept-new"), "sw-h3c")
    assert checks(samples) == {"version": "ok"}
    assert f"[{HOST}]:{peer.hosts['sw-h3c'].port} ssh-rsa " in empty.read_text()


def test_sessions_are_capped_globally(peer: FakeNosPeer, known_hosts: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cli_mod.set_max_sessions(1)
    live, peak, lock = [0], [0], threading.Lock()
    where: list[str] = []
    real = cli_mod._session

    def counting(*a, **kw):  # type: ignore[no-untyped-def]
        with lock:
            where.append(threading.current_thread().name)
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        try:
            return real(*a, **kw)
        finally:
            with lock:
                live[0] -= 1

    monkeypatch.setattr(cli_mod, "_session", counting)
    results: list[object] = []
    try:
        threads = [threading.Thread(target=lambda h=h: results.append(collect(
            settings(peer, h, known_hosts, checks=["version"]), h)[0]))
            for h in ("sw-h3c", "sw-cisco", "sw-h3c-odd")]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
    finally:
        cli_mod.set_max_sessions(8)
    assert len(results) == 3 and peak[0] == 1
    # netmiko ran in the pool's threads, not in the callers'
    assert len(where) == 3 and all(n.startswith("netcli") for n in where), where


def test_executor_keeps_evidence_and_state(peer: FakeNosPeer, known_hosts: Path, tmp_path: Path) -> None:
    from agent.executor import Executor
    from agent.inventory import load_inventory
    from core.model import Job, Status

    h = peer.hosts["sw-cisco"]
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "devices:\n"
        f"  - name: sw-cisco\n    kind: switch\n    address: {HOST}\n    collectors: [cli]\n"
        f"    settings: {{cli: {{platform: cisco_ios, port: {h.port}, username: {USERNAME},"
        f" password: '${{XJ_CLI_PASS}}', known_hosts: '{known_hosts}', read_timeout: 10}}}}\n")
    dev = load_inventory(inv, env={"XJ_CLI_PASS": PASSWORD}).devices["sw-cisco"]
    r = Executor().run(Job("sw-cisco", "cli"), dev)
    assert r.status is Status.OK and r.samples and r.state and "config" in r.state
    assert "switchports ('show interfaces status'): not collected" in r.evidence
    assert PASSWORD not in r.evidence
    bad = load_inventory(inv, env={"XJ_CLI_PASS": "wrong"}).devices["sw-cisco"]
    r = Executor().run(Job("sw-cisco", "cli"), bad)
    assert r.status is Status.UNKNOWN and "authentication failed" in r.reason and not r.samples


def test_no_asset_sample_when_a_serial_is_missing(peer: FakeNosPeer, known_hosts: Path) -> None:
    # a failed serial read must not look like a replaced chassis in the asset register
    peer.set_output("sw-h3c-odd", "display device manuinfo", "Slot 1 CPU 0:\n(the EEPROM could not be read)\n")
    try:
        samples, _ = collect(settings(peer, "sw-h3c-odd", known_hosts, checks=["version", "serial"]),
                             "sw-h3c-odd")
    finally:
        peer.set_output("sw-h3c-odd", "display device manuinfo",
                        stock_outputs("hp_comware")["display device manuinfo"])
    assert checks(samples)["serial"].startswith("not collected")
    assert not by(samples, "asset") and by(samples, "cli")[0].fields["model"] == "S6520X-30QC-EI"


def test_read_timeout_is_not_collected_and_stops_the_session(peer: FakeNosPeer, known_hosts: Path) -> None:
    peer.set_delay("sw-h3c-odd", "display interface brief", 4.0)
    try:
        t0 = time.monotonic()
        samples, _ = collect(settings(peer, "sw-h3c-odd", known_hosts, read_timeout=1,
                                      checks=["version", "ports", "logs"]), "sw-h3c-odd")
        took = time.monotonic() - t0
    finally:
        peer.set_delay("sw-h3c-odd", "display interface brief", 0)
    st = checks(samples)
    assert st["version"] == "ok"
    assert st["ports"].startswith("not collected: 'display interface brief' failed: ReadTimeout "
                                  "(no prompt within read_timeout 1 s)")
    # the late answer must not be taken for the next command's
    assert st["logs"] == "not collected: not run: a read timeout on an earlier command"
    assert not by(samples, "interface") and not by(samples, "cli_log")
    assert took < 4.0
