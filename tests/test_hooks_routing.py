"""Routing (event type, level, device kind, group, site → channels, recipients, tiers), storm
control (50 children of one parent → one grouped message) and parent suppression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.model import Status
from tests.hook_peers import HookReceiver
from tests.hook_setup import Dev, body, fault, rig

pytestmark = pytest.mark.peers


def channels(url: str, *names: str) -> dict[str, Any]:
    return {n: {"type": "webhook", "url": f"{url}/hook", "headers": {"X-Channel": n}} for n in names}


def by_channel(rx: HookReceiver) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in rx.hits("/hook"):
        out.setdefault(s.headers["X-Channel"], []).append(body(s))
    return out


DEVICES = [Dev("db01", "server", ("oracle",), {"site": "county-a"}),
           Dev("sw01", "switch", ("net",), {"site": "county-b"}),
           Dev("enc01", "encoder", (), {"site": "county-a"})]


def test_routes_select_by_event_level_kind_group_and_site(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, {"channels": channels(rx.url, "l1", "net", "dba", "siteA", "all"), "routes": [
            {"name": "major", "match": {"levels": [1]}, "channels": ["l1"], "recipients": ["duty"],
             "tiers": {1: ["manager"]}},
            {"match": {"kinds": ["switch"]}, "channels": ["net"]},
            {"match": {"groups": ["oracle"], "events": ["open", "ack"]}, "channels": ["dba"]},
            {"match": {"sites": ["county-a"], "events": ["resolve"]}, "channels": ["siteA"], "stop": True},
            {"match": {"events": ["open", "resolve"]}, "channels": ["all"]},
        ]}, DEVICES)
        r.ce.apply([fault("db01", level=1), fault("sw01", level=3), fault("enc01", level=2)])
        db = r.ce.apply([fault("db01", status=Status.OK, value=1.0)])
        r.ce.act(db[0][1].number, "close", "li.na", cause="x", handling="y")  # close: no route takes it
        r.worker.drain()
        got = {ch: [(d["case"]["device"], d["event"]["kind"]) for d in docs] for ch, docs in by_channel(rx).items()}
        got["all"].sort()  # different cases go out concurrently; one case's events in order
        assert got == {
            "l1": [("db01", "open"), ("db01", "resolve")],
            "net": [("sw01", "open")],
            "dba": [("db01", "open")],
            "siteA": [("db01", "resolve")],  # `stop`: the catch-all route is not tried after it
            "all": [("db01", "open"), ("enc01", "open"), ("sw01", "open")],
        }
        assert by_channel(rx)["l1"][0]["recipients"] == ["duty", "manager"]


def test_one_channel_on_two_routes_gets_one_message_with_both_recipient_lists(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, {"channels": channels(rx.url, "mail"), "routes": [
            {"channels": ["mail"], "recipients": ["noc"]},
            {"match": {"levels": [1, 2]}, "channels": ["mail"], "recipients": ["dba", "noc"]}]}, DEVICES)
        r.ce.apply([fault("db01", level=2)])
        r.worker.drain()
        (doc,) = by_channel(rx)["mail"]
        assert doc["recipients"] == ["noc", "dba"]


def storm_rig(tmp_path: Path, url: str, n: int) -> tuple[Any, list[Dev]]:
    devices = [Dev("sw-core-1", "switch", (), {"site": "county-a"})]
    devices += [Dev(f"enc{i:02d}", "encoder", (), {"site": "county-a", "parent": "sw-core-1"}) for i in range(n)]
    r = rig(tmp_path, {"channels": channels(url, "noc"), "routes": [
        {"channels": ["noc"], "storm": {"threshold": 5, "window": "30s", "by": ["parent", "site"]}}]}, devices)
    return r, devices


def test_storm_fifty_children_of_one_parent_send_one_grouped_message(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r, devices = storm_rig(tmp_path, rx.url, 50)
        for d in devices[1:]:  # the encoders' streams break one after another, within the window
            r.ce.apply([fault(d.name, check="stream_bitrate", instance="ch1", level=2)])
            r.clock.now += 0.4
        assert r.worker.drain().sent == 0  # held for the storm window
        r.clock.now += 30
        stats = r.worker.drain()
        assert stats.sent == 1 and stats.grouped == 50
        (seen,) = rx.hits("/hook")
        doc = body(seen)
        assert doc["kind"] == "storm" and doc["storm"] == {"threshold": 5, "by": "parent", "scope": "sw-core-1"}
        assert sorted(c["device"] for c in doc["cases"]) == [d.name for d in devices[1:]]
        assert doc["title"] == "[巡检] 告警风暴：上联设备 sw-core-1 下 50 个故障单"
        assert seen.headers["Idempotency-Key"].startswith("storm:")
        assert {i.status for i in r.items()} == {"done"} and len({i.grouped_in for i in r.items()}) == 1
        # later events of those cases are sent one by one, after the grouped open
        r.ce.apply([fault("enc07", check="stream_bitrate", instance="ch1", status=Status.OK, value=1.0)])
        r.worker.drain()
        assert body(rx.hits("/hook")[-1])["event"]["kind"] == "resolve"


def test_below_the_storm_threshold_each_case_is_sent_alone(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r, devices = storm_rig(tmp_path, rx.url, 3)
        r.ce.apply([fault(d.name, check="stream_bitrate", instance="ch1") for d in devices[1:]])
        r.clock.now += 30
        assert r.worker.drain().sent == 3
        assert [body(s)["kind"] for s in rx.hits("/hook")] == ["open"] * 3


def test_suppressed_children_notify_through_their_parent_only(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r, devices = storm_rig(tmp_path, rx.url, 3)
        r.ce.apply([fault("enc00", check="collect.linux", instance="", status=Status.UNKNOWN, level=3)])
        r.ce.apply([fault("sw-core-1", check="collect.snmp", instance="", status=Status.UNKNOWN, level=1)])
        r.ce.apply([fault(d.name, check="collect.linux", instance="", status=Status.UNKNOWN) for d in devices[2:]])
        r.clock.now += 30
        r.worker.drain()
        assert [(body(s)["case"]["device"], body(s)["kind"]) for s in rx.hits("/hook")] == [("sw-core-1", "open")]
        # enc00's open (before the parent's) and the later children's never went out
        assert [(i.case_number, i.status) for i in r.items() if i.status != "cancelled"] == [
            (body(rx.hits("/hook")[0])["case"]["number"], "done")]
        assert len(r.items(status="cancelled")) == 3
