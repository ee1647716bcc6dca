"""The network rules end to end on a live agent: snmpsim's `rules-switch` (counters that
grow while it runs, a port whose ifOperStatus is SET down) → the SNMP collector → the
pipeline with a store → cases. Thresholds are read from checks/network.yaml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.cases.queries import list_cases
from agent.executor import Executor
from agent.inventory import load_inventory
from agent.pipeline import Pipeline
from agent.store.db import open_engine
from checks.rules import load_rules
from core.model import Job, Status, Verdict
from tests.peers import find_binary, wait_until
from tests.snmpsim_peer import SnmpsimPeer

pytestmark = pytest.mark.peers
COMMUNITY = "rules-switch"


def _uptime(sim: SnmpsimPeer) -> int:
    r = subprocess.run([find_binary("snmpget", "snmp"), "-v2c", "-c", COMMUNITY, "-Oqvt",
                        "-t", "1", "-r", "1", f"udp:{sim.host}:{sim.port}", "1.3.6.1.2.1.1.3.0"],
                       capture_output=True, text=True, check=True, timeout=10)
    return int(r.stdout.strip())


def _set_oper(sim: SnmpsimPeer, index: int, value: int) -> None:
    subprocess.run([find_binary("snmpset", "snmp"), "-v2c", "-c", COMMUNITY, "-t", "1",
                    "-r", "1", f"udp:{sim.host}:{sim.port}", f"1.3.6.1.2.1.2.2.1.8.{index}",
                    "i", str(value)], capture_output=True, check=True, timeout=10)


def test_port_rules_open_cases_through_the_pipeline(snmpsim_peer: SnmpsimPeer,
                                                    tmp_path: Path) -> None:
    sim = snmpsim_peer
    _set_oper(sim, 1, 1)  # the session's agent: start from GE1/0/1 up whatever ran before
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "devices:\n  - name: sw-rules\n    kind: switch\n    address: 127.0.0.1\n"
        "    collectors: [snmp]\n"
        f"    settings: {{snmp: {{community: '${{XJ_COMM}}', port: {sim.port}, timeout: 2,"
        " retries: 1, watch_ports: ['GE1/0/6'], ignore_ports: ['GE1/0/8'],"
        " entity: false, host_resources: false}}\n")  # fewer walks: a shorter cycle
    inventory = load_inventory(inv, env={"XJ_COMM": COMMUNITY})
    device = inventory.devices["sw-rules"]
    rules = load_rules()
    engine = open_engine(tmp_path / "var")
    pipeline = Pipeline(engine, inventory, rules, [])
    last = 0

    def cycle() -> dict[tuple[str, str], Verdict]:
        nonlocal last
        # rates need time between polls (the GET of sysUpTime and the walks are ms apart)
        wait_until(lambda: _uptime(sim) >= last + 200, timeout=10, what="2 s of agent uptime")
        result = Executor(pipeline.load_state).run(Job("sw-rules", "snmp"), device)
        assert result.status is Status.OK, result.reason
        last = int(float(next(s for s in result.samples if s.measurement == "snmp")
                          .fields["uptime_seconds"]) * 100)
        return {(v.check, v.instance): v for v in pipeline.handle(result)}

    first = cycle()
    ports = {i for c, i in first if c == "port_down"}
    assert ports == {f"GE1/0/{i}" for i in range(1, 8)}  # GE1/0/8 ignored
    assert first[("port_down", "GE1/0/6")].status is Status.CRIT  # watched and down
    for i in (1, 2, 3, 4, 5, 7):  # up; admin-down; down but never up and not watched
        assert first[("port_down", f"GE1/0/{i}")].status is Status.OK, i
    assert not any(c.endswith("_per_s") or c == "port_utilisation_percent" for c, _ in first)

    _set_oper(sim, 1, 2)  # GE1/0/1 goes down on the running agent
    second = cycle()
    assert second[("port_down", "GE1/0/1")].status is Status.CRIT  # down-was-up
    assert second[("port_errors_per_s", "GE1/0/2")].status is Status.OK  # 1 of `for: 2`
    third, fourth = cycle(), cycle()
    by_rule = rules.by_name()
    expect = {("port_errors_per_s", "GE1/0/2"): Status.CRIT,      # 200/s
              ("port_out_errors_per_s", "GE1/0/2"): Status.WARN,  # 4/s
              ("port_discards_per_s", "GE1/0/3"): Status.CRIT,    # 500/s
              ("port_out_discards_per_s", "GE1/0/3"): Status.CRIT,
              ("port_utilisation_percent", "GE1/0/4"): Status.CRIT}  # 150 of 100 Mbit/s
    for key, status in expect.items():
        v = fourth[key]
        rule = by_rule[key[0]]
        assert v.status is status, (key, v)
        assert v.value is not None and (v.value >= rule.crit if status is Status.CRIT
                                        else rule.warn <= v.value < rule.crit), (key, v.value)
    assert third[("port_utilisation_percent", "GE1/0/4")].status is Status.OK  # 2 of 3 samples
    assert fourth[("port_errors_per_s", "GE1/0/1")].status is Status.OK

    opened = {(c.check, c.instance): c for c in list_cases(engine)}
    assert set(opened) == {("port_down", "GE1/0/1"), ("port_down", "GE1/0/6"), *expect}
    assert opened[("port_down", "GE1/0/1")].level == by_rule["port_down"].levels.crit
    assert opened[("port_out_errors_per_s", "GE1/0/2")].severity == "warn"

    _set_oper(sim, 1, 1)  # back up: the case resolves
    fifth = cycle()
    assert fifth[("port_down", "GE1/0/1")].status is Status.OK
    assert ("port_down", "GE1/0/1") not in {(c.check, c.instance) for c in list_cases(engine)}
