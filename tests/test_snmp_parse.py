"""Pure SNMP helpers: counter deltas, wraps, restarts, rates, port states."""

from __future__ import annotations

import pytest

from collectors.snmp_parse import (
    COUNTERS_32,
    chassis_asset,
    counter_delta,
    interval,
    matches,
    oper_state,
    port_rates,
    rebooted,
    rows,
)


def test_counter_delta_wraps_counter32_and_drops_counter64_reset() -> None:
    assert counter_delta(100, 250, 32) == 150
    assert counter_delta(2**32 - 10, 5, 32) == 15  # one wrap
    assert counter_delta(2**64 - 10, 5, 64) is None  # a 64-bit counter going down is a reset
    assert counter_delta(7, 7, 64) == 0


def test_rebooted_when_uptime_goes_backwards_but_not_on_timeticks_wrap() -> None:
    assert rebooted(None, 5) is False
    assert rebooted(1000, 2000) is False
    assert rebooted(500_000, 300) is True
    assert rebooted(2**32 - 100, 50) is False  # TimeTicks wrapped after 497 days


def test_interval_prefers_sysuptime_and_is_none_after_restart() -> None:
    prev = {"uptime_ticks": 10_000, "time": 1000.0}
    assert interval(prev, 16_000, 1060.3) == 60.0  # sysUpTime delta, not wall time
    assert interval(prev, 500, 1060.0) is None  # agent restarted
    assert interval({}, 16_000, 1060.0) is None  # first cycle
    # an agent whose uptime disagrees wildly with the clock: wall time wins
    assert interval(prev, 10_001, 1060.0) == 60.0


def test_port_rates_bits_per_second_wrap_and_utilisation() -> None:
    prev = {"in_octets": 1_000, "out_octets": 2_000, "in_errors": 2**32 - 1, "out_errors": 0}
    cur = {"in_octets": 1_000 + 125_000_000 * 10, "out_octets": 2_000, "in_errors": 9,
           "out_errors": 0}
    r = port_rates(prev, cur, 10.0, 1000)
    assert r["in_bps"] == 1e9
    assert r["out_bps"] == 0
    assert r["in_errors_per_s"] == 1.0  # 10 errors across the Counter32 wrap
    assert r["utilisation_percent"] == 100.0


def test_port_rates_32_bit_octets_wrap() -> None:
    prev, cur = {"in_octets": 2**32 - 1000}, {"in_octets": 500}
    assert port_rates(prev, cur, 10.0, 10.0, counters=COUNTERS_32) == {"in_bps": 1200.0}
    assert port_rates(prev, cur, 10.0, 10.0) == {}  # a 64-bit counter going down: a reset


def test_port_rates_use_each_counters_own_interval() -> None:
    prev, cur = {"in_octets": 0, "in_errors": 0}, {"in_octets": 1_500_000, "in_errors": 30}
    # in_octets read 0.5 s later than last time relative to sysUpTime: 10 + 0.5 s apart
    r = port_rates(prev, cur, 10.0, None, {"in_octets": 0.5, "in_errors": -0.5})
    assert r["in_bps"] == round(8 * 1_500_000 / 10.5, 3) and r["in_errors_per_s"] == round(30 / 9.5, 4)
    # a skew of half the interval or more is not believed: sysUpTime's interval stands
    assert port_rates(prev, cur, 10.0, None, {"in_octets": 6.0})["in_bps"] == 1_200_000.0


def test_port_rates_no_spike_on_counter64_reset_or_without_interval() -> None:
    prev = {"in_octets": 10**12, "out_octets": 10**12}
    cur = {"in_octets": 5, "out_octets": 10**12 + 800}
    r = port_rates(prev, cur, 10.0, None)
    assert "in_bps" not in r and r["out_bps"] == 640.0
    assert "utilisation_percent" not in r
    assert port_rates(prev, cur, None, 1000) == {}
    assert port_rates(None, cur, 10.0, 1000) == {}


@pytest.mark.parametrize(("admin", "oper", "seen_up", "watched", "state"), [
    (1, 1, False, False, "up"),
    (1, 2, False, False, "down"),
    (1, 2, True, False, "down-was-up"),
    (1, 7, True, False, "down-was-up"),
    (2, 2, True, False, "admin-down"),
    (2, 2, False, True, "down-watched"),
    (1, 5, False, False, "dormant"),
])
def test_oper_state(admin: int, oper: int, seen_up: bool, watched: bool, state: str) -> None:
    assert oper_state(admin, oper, seen_up, watched) == state


def test_port_matching_and_rows_and_asset() -> None:
    assert matches(["GigabitEthernet0/0/*"], 7, ["GigabitEthernet0/0/1", "", ""])
    assert matches(["7"], 7, ["x"]) and not matches(["8", "eth*"], 7, ["lo"])
    assert rows({"a": {2: "x", 1: "y"}, "b": {1: 5}}) == {1: {"a": "y", "b": 5}, 2: {"a": "x"}}
    ent = {1: {"class": 3, "model": "S5720-28X", "serial": "21980", "software_rev": ""},
           2: {"class": 10, "model": "port"}}
    assert chassis_asset(ent) == {"model": "S5720-28X", "serial": "21980"}
    assert chassis_asset({}) == {}


def test_chassis_row_never_an_empty_container_and_components_grouped() -> None:
    from collectors.snmp_parse import chassis_asset, components

    ents = {1: {"class": 5, "name": "slot", "serial": ""},
            2: {"class": 9, "name": "MPU", "serial": "S-MAIN", "model": "MPU-X"},
            3: {"class": 9, "name": "POWER Card 0/5", "serial": "P1"},
            4: {"class": 9, "name": "POWER Card 0/6", "serial": "P2"},
            5: {"class": 10, "name": "Gi0/49", "serial": "T1", "model": "Unspecified"},
            6: {"class": 7, "name": "FAN", "serial": ""}}
    assert chassis_asset(ents) == {"model": "MPU-X", "serial": "S-MAIN", "name": "MPU"}
    parts = components(ents)
    assert [(p["kind"], p["model"], p["quantity"], p["serials"]) for p in parts] == [
        ("power supply", "POWER Card", 2, ["P1", "P2"]), ("transceiver", "Gi", 1, ["T1"])]


def test_port_names_unique_and_speed_in_bits() -> None:
    from collectors.snmp_parse import port_names, port_speed

    table = {1: {"ifName": "Gi1"}, 2: {"ifDescr": "eth"}, 3: {"ifDescr": "eth"}, 4: {}}
    assert port_names(table) == {1: "Gi1", 2: "eth #2", 3: "eth #3", 4: "4"}
    assert port_speed({"ifHighSpeed": 1000, "ifSpeed": 5}) == (10**9, "ifHighSpeed")
    assert port_speed({"ifHighSpeed": 0, "ifSpeed": 512000}) == (512000, "ifSpeed")
    assert port_speed({"ifSpeed": 2**32 - 1}) == (None, "unknown")
    assert port_speed({}) == (None, "unknown")
