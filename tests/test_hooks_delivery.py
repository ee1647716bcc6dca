"""The outbox and the delivery worker against a real HTTP receiver on 127.0.0.1: same transaction
as the event, headers and body, ticket refs, outage (refused → 500 → 200) with order per case and
no duplicate ticket, give-up → dead → retry, backoff with jitter, per-channel concurrency, two
workers at once. The transaction, outage and two-worker tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.cases.queries import case_history, case_tickets
from agent.hooks.outbox import Outbox, list_items, retry_item
from agent.store.schema import case_events, cases
from tests.hook_peers import HookReceiver
from tests.hook_setup import body, fault, ok, rig

pytestmark = pytest.mark.peers


def webhook(url: str, **kw: Any) -> dict[str, Any]:
    return {"lang": "en", "retry": {"initial": "10s", "max": "5m", "give_up_after": "1h"},
            "channels": {"ops": {"type": "webhook", "url": f"{url}/hook", "auth": {"bearer": "${HOOK_TOKEN}"},
                                 "ticket_id": "id", "ticket_url": "url", **kw}},
            "routes": [{"channels": ["ops"], "match": {"events": ["open", "ack", "escalate", "resolve"]}}]}


def test_outbox_row_is_written_in_the_event_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         store: str) -> None:
    r = rig(tmp_path, webhook("http://127.0.0.1:9"), store=store)
    (_, case), = r.ce.apply([fault()])
    (item,) = r.items()
    assert (item.key, item.kind, item.status, item.channel) == (f"{case.number}#1", "open", "pending", "ops")
    assert "s3cr3t-bearer" not in item.payload and case.number in item.payload
    # a failing enqueue rolls the event and the case back with it: both or neither
    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")
    monkeypatch.setattr(Outbox, "enqueue", boom)
    with pytest.raises(RuntimeError):
        r.ce.apply([fault(device="db01", instance="/u02")])
    with r.engine.connect() as conn:
        assert conn.execute(select(cases.c.number)).scalars().all() == [case.number]
        assert len(conn.execute(select(case_events)).all()) == 1
    assert len(r.items()) == 1


def test_webhook_headers_body_auth_and_ticket(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, webhook(rx.url, headers={"X-Team": "noc"}))
        (_, case), = r.ce.apply([fault(level=2)])
        stats = r.worker.drain()
        assert stats.sent == 1 and stats.failed == 0
        (seen,) = rx.hits("/hook")
        assert seen.headers["Idempotency-Key"] == f"{case.number}#1"
        assert seen.headers["Authorization"] == "Bearer s3cr3t-bearer"
        assert seen.headers["X-Team"] == "noc" and seen.headers["X-Xunjian-Event"] == "open"
        doc = body(seen)
        assert doc["case"]["number"] == case.number and doc["case"]["level"] == 2
        assert doc["event"]["kind"] == "open" and doc["device"]["site"] == "county-a"
        assert doc["title"].startswith(f"[xunjian] {case.number} opened L2")
        assert case_tickets(r.engine, case.number) == [
            {"channel": "ops", "ticket_id": f"T-{case.number}#1", "url": f"{rx.url}/t/{case.number}#1"}]
        # a later event carries the ticket it made
        r.ce.act(case.number, "ack", "zhang.wei", note="on it")
        r.worker.drain()
        assert body(rx.hits("/hook")[1])["ticket"]["id"] == f"T-{case.number}#1"


def test_inline_jinja2_template_body(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        tpl = '{"text": "{{ case.number }} {{ event_name }} {{ level_name }} {{ case.device }}"}'
        r = rig(tmp_path, {**webhook(rx.url, template=tpl), "lang": "zh-CN"})
        (_, case), = r.ce.apply([fault(level=1)])
        r.worker.drain()
        assert body(rx.hits("/hook")[0]) == {"text": f"{case.number} 新故障 一级（重大） db01"}


def test_outage_refused_then_500_then_200_each_event_once_in_order(tmp_path: Path, store: str) -> None:
    rx = HookReceiver()  # not started: connections are refused
    r = rig(tmp_path, webhook(rx.url), store=store)
    opened = [c for _, c in r.ce.apply([fault(instance=f"/u0{i}") for i in range(1, 4)])]
    r.clock.now += 60
    r.ce.act(opened[0].number, "ack", "li.na")
    stats = r.worker.deliver_once()
    assert stats.failed == 3 and stats.sent == 0  # heads only: the ack waits behind its case's open
    pending = r.items(status="pending")
    assert len(pending) == 4 and {p.attempts for p in pending if p.kind == "open"} == {1}
    assert "Connection" in pending[0].last_error or "Error" in pending[0].last_error
    heads = [p for p in pending if p.kind == "open"]
    assert all(p.next_at == pytest.approx(r.clock.now + 10) for p in heads)  # jitter fixed at its top
    assert r.worker.deliver_once().sent == 0  # not due yet: nothing sent, nothing tried
    rx.status = 500
    rx.start()
    try:
        r.clock.now += 10
        assert r.worker.deliver_once().failed == 3
        assert all(p.next_at == pytest.approx(r.clock.now + 20) for p in r.items(kind="open"))  # doubled
        assert "HTTP 500" in r.items()[0].last_error
        r.clock.now += 15
        r.ce.apply([ok(instance="/u02")])  # resolves case 2 while the receiver is down
        rx.status = 200
        r.clock.now += 5
        stats = r.worker.drain()
        assert stats.failed == 0 and stats.dead == 0
        assert {i.status for i in r.items()} == {"done"}
        got = [s.headers["Idempotency-Key"] for s in rx.hits("/hook") if s.headers.get("Idempotency-Key")]
        ok_keys = [k for k in got if rx.requests[k]]
        assert sorted(set(ok_keys)) == sorted(i.key for i in r.items())
        assert all(n == 1 for n in rx.requests.values())  # each event delivered once
        assert all(n == 1 for n in rx.creates.values())  # one ticket per key
        for c in opened:  # in order per case
            seqs = [int(k.split("#")[1]) for k in ok_keys if k.startswith(c.number + "#")]
            assert seqs == sorted(seqs) and seqs[0] == 1
        assert [e["kind"] for e in case_history(r.engine, opened[0].number)] == ["open", "ack"]
    finally:
        rx.stop()


def test_gives_up_after_the_configured_time_then_retry(tmp_path: Path) -> None:
    rx = HookReceiver()
    r = rig(tmp_path, webhook(rx.url))
    (_, case), = r.ce.apply([fault()])
    for _ in range(12):  # backoff capped at 5 min; give up after 1 h
        r.worker.deliver_once()
        r.clock.now += 400
    (item,) = r.items()
    assert item.status == "dead" and item.attempts >= 9
    assert [i.id for i in list_items(r.engine, "dead")] == [item.id]
    with rx:
        assert r.worker.drain().sent == 0  # dead items are not sent again on their own
        assert retry_item(r.engine, item.id, r.clock()).status == "pending"
        assert r.worker.drain().sent == 1
        assert r.items()[0].status == "done" and rx.requests[f"{case.number}#1"] == 1


def test_a_4xx_answer_is_dead_at_once(tmp_path: Path) -> None:
    with HookReceiver(status=400) as rx:
        r = rig(tmp_path, webhook(rx.url))
        r.ce.apply([fault()])
        assert r.worker.drain().dead == 1
        (item,) = r.items()
        assert item.status == "dead" and "HTTP 400" in item.last_error and item.attempts == 1
        rx.status = 429  # too many requests is retried
        retry_item(r.engine, item.id, r.clock())
        assert r.worker.drain().failed == 1 and r.items()[0].status == "pending"


def test_backoff_is_exponential_capped_and_jittered(tmp_path: Path) -> None:
    r = rig(tmp_path, webhook("http://127.0.0.1:9"))
    r.worker.rng = lambda: 0.0
    assert [r.worker.backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]  # half of 10, 20, 40
    r.worker.rng = lambda: 1.0
    assert r.worker.backoff(30) == 300.0  # capped at max


def test_per_channel_concurrency_limit(tmp_path: Path) -> None:
    with HookReceiver() as rx:
        r = rig(tmp_path, webhook(rx.url, concurrency=2))
        r.ce.apply([fault(instance=f"/d{i}") for i in range(8)])
        active, peak = 0, 0
        gate = threading.Lock()
        release = threading.Event()

        def slow(_seen: Any) -> None:
            nonlocal active, peak
            with gate:
                active += 1
                peak = max(peak, active)
            release.wait(0.05)
            with gate:
                active -= 1

        rx.on_request = slow
        assert r.worker.drain().sent == 8
        assert peak == 2


def test_delivered_items_are_pruned_after_keep_dead_ones_stay(tmp_path: Path) -> None:
    from agent.hooks.outbox import prune

    with HookReceiver() as rx:
        r = rig(tmp_path, {**webhook(rx.url), "keep": "7d"})
        assert r.hooks.keep == 7 * 86400
        r.ce.apply([fault(instance="/a")])
        r.worker.drain()
        rx.status = 400
        r.ce.apply([fault(instance="/b")])
        r.worker.drain()
        assert sorted(i.status for i in r.items()) == ["dead", "done"]
        assert prune(r.engine, r.clock() - 7 * 86400) == 0  # not old enough
        assert prune(r.engine, r.clock() + 1) == 1
        assert [i.status for i in r.items()] == ["dead"]


def test_two_workers_at_once_send_each_item_once(tmp_path: Path, store: str) -> None:
    """Two delivery workers (two hosts, say) passing over one outbox at the same moment: an item is
    claimed by one of them only (PostgreSQL: READ COMMITTED, so the claim takes a lock)."""
    from agent.hooks.channels import build_channels
    from agent.hooks.worker import Worker

    with HookReceiver() as rx:
        r = rig(tmp_path, webhook(rx.url), store=store)
        other = Worker(r.engine, r.hooks, build_channels(r.hooks), clock=r.clock, rng=lambda: 1.0)
        other.me = "another-host:1"  # not this process: its claims are never taken over
        for round_ in range(8):
            r.ce.apply([fault(instance=f"/r{round_}/{i}") for i in range(6)])
            start = threading.Barrier(2)
            threads = [threading.Thread(target=lambda w=w, b=start: (b.wait(), w.deliver_once()))
                       for w in (r.worker, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert {i.status for i in r.items()} == {"done"} and len(r.items()) == 48
        assert sum(rx.requests.values()) == 48 and set(rx.requests.values()) == {1}
