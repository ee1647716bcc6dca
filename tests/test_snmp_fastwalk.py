"""The lean v2c walk: its BER codec against pysnmp/pyasn1 and garbage, and its walks against
a real snmpd (same varbinds as pysnmp's bulk_walk_cmd and net-snmp's snmpbulkwalk) and
against a misbehaving agent on loopback (silent mid-walk, not increasing, wrong community)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collectors import snmp_ber as ber
from collectors import snmp_engine
from collectors.snmp import _value
from collectors.snmp_walk import bulk_walk
from tests.peers import HOST

v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

arcs = st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=12)
oids = st.tuples(st.integers(0, 1), st.integers(0, 39), arcs).map(lambda t: (t[0], t[1], *t[2]))
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(v2c.Integer),
    st.binary(max_size=40).map(v2c.OctetString),
    st.integers(0, 2**32 - 1).map(v2c.Counter32),
    st.integers(0, 2**32 - 1).map(v2c.Gauge32),
    st.integers(0, 2**32 - 1).map(v2c.TimeTicks),
    st.integers(0, 2**64 - 1).map(v2c.Counter64),
    st.binary(min_size=4, max_size=4).map(v2c.IpAddress),
    oids.map(v2c.ObjectIdentifier),
    st.just(v2c.Null("")),
    st.sampled_from([v2c.NoSuchObject(""), v2c.NoSuchInstance(""), v2c.EndOfMibView("")]))


def response(request_id: int, varbinds: list[tuple[tuple[int, ...], Any]], status: int = 0,
             community: bytes = b"public") -> bytes:
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, status)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(o), v) for o, v in varbinds])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def plain(v: Any) -> Any:
    """What our decoder gives for a pysnmp value (None for the exception markers)."""
    got = ber.value_of(*_tag_and_octets(v))
    return None if isinstance(got, ber._Marker) else got


def _tag_and_octets(v: Any) -> tuple[int, bytes]:
    raw = bytes(encoder.encode(v))
    tag, s, e = ber._header(raw, 0, len(raw))
    return tag, raw[s:e]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**31 - 1), st.lists(st.tuples(oids, values), max_size=30),
       st.integers(0, 18), st.binary(max_size=20))
def test_decodes_what_pysnmp_encodes(rid: int, vbs: list[tuple[tuple[int, ...], Any]], status: int,
                                     community: bytes) -> None:
    data = response(rid, vbs, status, community)
    got = ber.decode_response(data)
    msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(msg)
    assert (got.request_id, got.error_status, got.community) == (rid, status, community)
    theirs = v2c.apiPDU.get_varbinds(pdu)
    assert len(got.varbinds) == len(theirs)
    for (oid, tag, raw), (their_oid, their_val) in zip(got.varbinds, theirs, strict=True):
        assert ber.oid_str(oid) == str(their_oid)
        mine = ber.value_of(tag, raw)
        expected = _value(their_val)
        assert (None if isinstance(mine, ber._Marker) else mine) == expected


@settings(max_examples=200, deadline=None)
@given(oids)
def test_oid_encoding_matches_pyasn1(oid: tuple[int, ...]) -> None:
    assert ber.encode_oid(oid) == _tag_and_octets(v2c.ObjectIdentifier(oid))[1]
    assert ber.oid_arcs(ber.encode_oid(oid)) == oid


@settings(max_examples=200, deadline=None)
@given(oids, st.integers(2, 14))
def test_sub_arcs_are_the_arcs_below_the_prefix(oid: tuple[int, ...], k: int) -> None:
    k = min(k, len(oid))
    assert ber.sub_arcs(ber.encode_oid(oid), len(ber.encode_oid(oid[:k]))) == oid[k:]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31 - 1), oids, st.integers(1, 200), st.binary(max_size=16))
def test_requests_are_what_pysnmp_reads(rid: int, oid: tuple[int, ...], max_rep: int,
                                        community: bytes) -> None:
    data = ber.encode_request(1, community, ber.GET_BULK, rid, ber.encode_oid(oid), max_rep)
    msg, rest = decoder.decode(data, asn1Spec=v2c.Message())
    assert rest == b""
    pdu = v2c.apiMessage.get_pdu(msg)
    assert isinstance(pdu, v2c.GetBulkRequestPDU)
    assert v2c.apiMessage.get_community(msg) == community
    assert v2c.apiBulkPDU.get_request_id(pdu) == rid
    assert v2c.apiBulkPDU.get_max_repetitions(pdu) == max_rep
    assert [tuple(o) for o, _ in v2c.apiBulkPDU.get_varbinds(pdu)] == [oid]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1), st.binary(max_size=300), st.sampled_from([ber.GET_BULK, ber.GET_NEXT]),
       st.integers(0, 2**31 - 1), oids, st.integers(0, 10_000))
def test_the_walk_template_encodes_what_encode_request_does(version: int, community: bytes,
                                                            pdu: int, rid: int,
                                                            oid: tuple[int, ...], max_rep: int) -> None:
    # long communities and OIDs push the lengths past 127 (long-form lengths)
    t = ber.RequestTemplate(version, community, pdu, max_rep)
    assert t.encode(rid, ber.encode_oid(oid)) == ber.encode_request(
        version, community, pdu, rid, ber.encode_oid(oid), max_rep)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=300),
    st.tuples(st.lists(st.tuples(oids, values), max_size=5), st.integers(0, 400),
              st.binary(min_size=1, max_size=3)).map(
        lambda t: _mutate(response(7, t[0]), t[1], t[2]))))
def test_garbage_raises_only_its_decode_error(data: bytes) -> None:
    try:
        r = ber.decode_response(data)
        for oid, tag, raw in r.varbinds:
            ber.oid_str(oid)
            ber.value_of(tag, raw)
    except ber.BerError:
        pass


def _mutate(data: bytes, at: int, junk: bytes) -> bytes:
    at %= len(data)
    return data[:at] + junk + data[at + len(junk):] if at % 3 else data[:at]  # overwrite or cut


# -- against a real snmpd ---------------------------------------------------------------


def walk(port: int, community: str, root: str, **kw: Any) -> Any:
    async def work(_engine: Any, sem: asyncio.Semaphore) -> Any:
        return await bulk_walk(HOST, port, community.encode(), root,
                               **{"max_repetitions": 10, "timeout": 1.0, "retries": 0, **kw}, sem=sem)

    return snmp_engine.run(work, 60)


def pysnmp_walk(port: int, community: str, root: str) -> list[tuple[str, Any]]:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        bulk_walk_cmd,
    )

    async def work(engine: Any, _sem: asyncio.Semaphore) -> list[tuple[str, Any]]:
        tr = await UdpTransportTarget.create((HOST, port), timeout=2, retries=1)
        out = []
        async for ei, es, _ex, vbs in bulk_walk_cmd(
                engine, CommunityData(community), tr, ContextData(), 0, 10,
                ObjectType(ObjectIdentity(root)), lexicographicMode=False, lookupMib=False):
            assert not ei and not es
            out += [(str(o), _value(v)) for o, v in vbs]
        return out

    return snmp_engine.run(work, 60)


@pytest.mark.peers
def test_same_varbinds_as_pysnmp_and_snmpbulkwalk(snmpd_peer) -> None:  # type: ignore[no-untyped-def]
    root = "1.3.6.1.2.1.2.2"  # ifTable: integers, strings, counters, an OID column
    mine = walk(snmpd_peer.port, snmpd_peer.community, root)
    assert mine.problem is None and mine.requests >= 2
    rows = [(f"{root}.{'.'.join(map(str, a))}", v) for a, v in mine.rows]
    assert len(rows) >= 22  # lo at least: every ifEntry column
    theirs = pysnmp_walk(snmpd_peer.port, snmpd_peer.community, root)
    # counters move between the two walks: compare OIDs everywhere, values where static
    assert [o for o, _ in rows] == [o for o, _ in theirs]
    static = {"1", "2", "3", "4", "7", "22"}  # ifIndex ifDescr ifType ifMtu ifAdminStatus ifSpecific
    pick = [(o, v) for o, v in rows if o.split(".")[10] in static]
    assert pick == [(o, v) for o, v in theirs if o.split(".")[10] in static]
    net = snmpd_peer.snmp("snmpbulkwalk", "-Cr10", root).stdout
    assert [line.split(" = ")[0].lstrip(".") for line in net.splitlines()
            if line.startswith(".")] == [o for o, _ in rows]


@pytest.mark.peers
def test_wrong_community_is_an_error_within_the_timeout(snmpd_peer) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    r = walk(snmpd_peer.port, "not-the-community", "1.3.6.1.2.1.2.2", timeout=0.5, retries=1)
    assert time.monotonic() - t0 < 3
    assert r.rows == [] and r.problem and "timed out after 2 × 0.5 s" in r.problem


@pytest.mark.peers
def test_a_walk_ends_at_the_end_of_the_subtree(snmpd_peer) -> None:  # type: ignore[no-untyped-def]
    r = walk(snmpd_peer.port, snmpd_peer.community, "1.3.6.1.2.1.1", max_repetitions=50)
    assert r.problem is None and r.requests == 1  # one answer ran past the system group
    assert all(a[0] <= 9 for a, _ in r.rows) and any(a == (5, 0) for a, _ in r.rows)
    assert ("xj-snmpd" in [v for a, v in r.rows if a == (5, 0)])
    end = walk(snmpd_peer.port, snmpd_peer.community, "1.3.6.1.6.3.999")  # nothing there, endOfMibView
    assert end.problem is None and end.rows == []


class FakeAgent:
    """A UDP agent on loopback that answers GETBULKs from a script: `answers` maps the
    number of the request (0, 1, …) to the varbinds to return, or None for silence."""

    def __init__(self, answers: dict[int, list[tuple[tuple[int, ...], Any]] | None]) -> None:
        self.answers = answers
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.seen = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
            rid = int(v2c.apiBulkPDU.get_request_id(v2c.apiMessage.get_pdu(msg)))
            n, self.seen = self.seen, self.seen + 1
            vbs = self.answers.get(n, self.answers.get(-1))
            if vbs is not None:
                self.sock.sendto(response(rid, vbs), addr)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def agent() -> Iterator[Any]:
    made: list[FakeAgent] = []

    def make(answers: dict[int, list[tuple[tuple[int, ...], Any]] | None]) -> FakeAgent:
        made.append(FakeAgent(answers))
        return made[-1]

    yield make
    for a in made:
        a.close()


ROOT = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)


def test_an_agent_that_falls_silent_mid_walk_gives_a_partial_walk(agent) -> None:  # type: ignore[no-untyped-def]
    fake = agent({0: [((*ROOT, 1), v2c.OctetString(b"lo")), ((*ROOT, 2), v2c.OctetString(b"eth0"))],
                  -1: None})
    r = walk(fake.port, "public", ".".join(map(str, ROOT)), timeout=0.3, retries=1)
    assert r.rows == [((1,), "lo"), ((2,), "eth0")]
    assert r.problem and "timed out" in r.problem and fake.seen == 3  # the first + 2 tries


def test_an_agent_that_does_not_move_forward_is_cut_off(agent) -> None:  # type: ignore[no-untyped-def]
    fake = agent({-1: [((*ROOT, 1), v2c.OctetString(b"lo"))]})  # the same row, every time
    r = walk(fake.port, "public", ".".join(map(str, ROOT)), timeout=0.5)
    assert r.rows == [((1,), "lo")] and fake.seen == 2
    assert r.problem and "not increasing" in r.problem


@pytest.mark.parametrize("answer", [ROOT, (1, 3, 6, 1, 2, 1, 1, 1, 0), (*ROOT[:-1], 1, 7)],
                         ids=["the-root-itself", "before-the-subtree", "before-the-request"])
def test_an_answer_behind_the_request_is_a_problem_not_the_end(agent, answer) -> None:  # type: ignore[no-untyped-def]
    # outside the subtree but not after the request: a broken agent, not an empty table
    fake = agent({-1: [(answer, v2c.OctetString(b"x"))]})
    r = walk(fake.port, "public", ".".join(map(str, ROOT)), timeout=0.5)
    assert r.rows == [] and fake.seen == 1
    assert r.problem and "not increasing" in r.problem and ".".join(map(str, answer)) in r.problem


def test_leaving_the_subtree_forwards_is_the_end(agent) -> None:  # type: ignore[no-untyped-def]
    after = (*ROOT[:-1], 3, 1)  # the next column: the normal end of a column walk
    fake = agent({0: [((*ROOT, 1), v2c.Integer(1)), (after, v2c.Integer(2))]})
    r = walk(fake.port, "public", ".".join(map(str, ROOT)))
    assert r.rows == [((1,), 1)] and r.problem is None and fake.seen == 1


def test_end_of_mib_view_and_error_status(agent) -> None:  # type: ignore[no-untyped-def]
    fake = agent({0: [((*ROOT, 5), v2c.Integer(5)), ((*ROOT, 6), v2c.EndOfMibView(""))]})
    r = walk(fake.port, "public", ".".join(map(str, ROOT)))
    assert r.rows == [((5,), 5)] and r.problem is None and fake.seen == 1
    fake2 = agent({})
    fake2.answers = {-1: []}
    r2 = walk(fake2.port, "public", ".".join(map(str, ROOT)))
    assert r2.rows == [] and r2.problem is None  # an empty answer ends the walk


def test_garbage_answer_is_a_problem_not_a_result(agent) -> None:  # type: ignore[no-untyped-def]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))

    def serve() -> None:
        _data, addr = sock.recvfrom(65535)
        sock.sendto(b"\x30\x05garbage", addr)

    threading.Thread(target=serve, daemon=True).start()
    try:
        r = walk(sock.getsockname()[1], "public", ".".join(map(str, ROOT)))
    finally:
        sock.close()
    assert r.rows == [] and r.problem and "undecodable" in r.problem


# -- against recordings of real devices (snmpsim) ----------------------------------------

SUBTREES = ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.47.1.1.1")


@pytest.mark.peers
def test_same_varbinds_as_pysnmp_on_every_recording(snmpsim_peer) -> None:  # type: ignore[no-untyped-def]
    from tests.snmpsim_peer import recording

    # recorded values do not move: every OID and every value must match pysnmp's walk,
    # except values an snmpsim variation makes live (sysUpTime, a CPU gauge): OIDs only
    sim = snmpsim_peer
    total = 0
    for name in [n for n in sim.names if n not in sim.extra]:
        live = {o for o, (tag, _v) in recording(name).items() if ":" in tag}
        for root in SUBTREES:
            mine = walk(sim.port, name, root, timeout=3.0, retries=1)
            assert mine.problem is None, (name, root, mine.problem)
            rows = [(f"{root}.{'.'.join(map(str, a))}", v) for a, v in mine.rows]
            theirs = pysnmp_walk(sim.port, name, root)
            assert [o for o, _ in rows] == [o for o, _ in theirs], (name, root)
            assert [r for r in rows if r[0] not in live] == [
                r for r in theirs if r[0] not in live], (name, root)
            total += len(rows)
    assert total > 1000  # the switches' interface tables were really walked
