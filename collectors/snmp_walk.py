"""The lean v2c GETBULK walk: pre-encoded requests, one UDP socket per walk, snmp_ber decoding.

Runs on the shared SNMP event loop (snmp_engine) under its in-flight semaphore, like the
pysnmp requests. A walk stops at the end of the subtree or endOfMibView; a timeout (after
the retries), an error status, an undecodable answer or an agent that does not move forward
ends it with what was read so far and the problem — the caller reports that as partial,
never as a complete table.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from agent.connections.reasons import network_reason
from collectors import snmp_ber as ber

# request ids: random start per process, so a late answer to another process is not ours
_ids = itertools.count(random.randrange(1, 2**30))


@dataclass
class WalkResult:
    rows: list[tuple[tuple[int, ...], Any]] = field(default_factory=list)  # (arcs below root, value)
    problem: str | None = None
    requests: int = 0
    # when the rows were read, as well as we can tell: the loop time each answer came in,
    # weighted by its rows (rates divide by the time between two cycles' reads)
    _answered: float = 0.0
    _weight: int = 0

    def answered(self, at: float, rows: int) -> None:
        self._answered += at * rows
        self._weight += rows

    @property
    def read_at(self) -> float | None:
        return self._answered / self._weight if self._weight else None


class _Client(asyncio.DatagramProtocol):
    """Answers matched to the one request outstanding; anything else is dropped."""

    def __init__(self) -> None:
        self.waiting: tuple[int, asyncio.Future[ber.Response]] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.error: Exception | None = None
        self.received = 0.0  # loop time the last matched answer came in

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.waiting is None:
            return
        at = asyncio.get_running_loop().time()
        rid, fut = self.waiting
        try:
            resp = ber.decode_response(data)
        except ber.BerError as e:
            if not fut.done():
                fut.set_exception(e)
            return
        if resp.request_id == rid and not fut.done():
            self.received = at
            fut.set_result(resp)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable, mostly
        if self.waiting is not None and not self.waiting[1].done():
            self.waiting[1].set_exception(exc)


async def bulk_walk(host: str, port: int, community: bytes, root: str, *, max_repetitions: int,
                    timeout: float, retries: int, sem: asyncio.Semaphore | None = None,
                    version: int = 1) -> WalkResult:
    """Walk the subtree under `root` (dotted) with GETBULK (v2c; version=1 on the wire).

    The semaphore is held for the whole walk: one request in flight per walk, and no more
    sockets open than the cap (a device's dozens of column walks, times many devices, would
    otherwise run into the process's file-descriptor limit)."""
    if sem is None:
        return await _walk(host, port, community, root, max_repetitions, timeout, retries, version)
    async with sem:
        return await _walk(host, port, community, root, max_repetitions, timeout, retries, version)


async def _walk(host: str, port: int, community: bytes, root: str, max_repetitions: int,
                timeout: float, retries: int, version: int) -> WalkResult:
    loop = asyncio.get_running_loop()
    root_oid = ber.encode_oid(root)
    result = WalkResult()
    what = f"walk {root}"
    template = ber.RequestTemplate(version, community, ber.GET_BULK, max_repetitions)
    transport, proto = await loop.create_datagram_endpoint(_Client, remote_addr=(host, port))
    try:
        current = root_oid
        last: tuple[int, ...] | None = None
        while True:
            resp = None
            for _attempt in range(retries + 1):
                rid = next(_ids) & 0x7FFFFFFF
                msg = template.encode(rid, current)
                fut: asyncio.Future[ber.Response] = loop.create_future()
                proto.waiting = (rid, fut)
                result.requests += 1
                transport.sendto(msg)
                resp = await _wait(fut, timeout)
                if isinstance(resp, ber.Response):
                    break
                if isinstance(resp, ber.BerError):
                    result.problem = f"{what}: undecodable answer ({resp})"
                    return result
                if isinstance(resp, OSError):  # ICMP port unreachable: "connection refused by …"
                    result.problem = f"{what}: {network_reason(resp, host, port, timeout) or resp}"
                    return result
            if not isinstance(resp, ber.Response):
                result.problem = (f"{what}: timed out after {retries + 1} × {timeout:g} s "
                                  "(wrong community or address, or the agent is down)")
                return result
            if resp.error_status:
                name = ber.ERROR_STATUS[resp.error_status] \
                    if resp.error_status < len(ber.ERROR_STATUS) else str(resp.error_status)
                result.problem = f"{what}: agent returned {name} at index {resp.error_index}"
                return result
            if not resp.varbinds:
                return result
            n = len(root_oid)
            rows = result.rows
            before = len(rows)
            for oid, tag, raw in resp.varbinds:
                if tag == 0x82 or not oid.startswith(root_oid) or len(oid) == n:
                    # endOfMibView, or past the subtree — unless the agent went backwards
                    # (an OID not after the one asked for): that ends the walk as a problem,
                    # never as a complete (possibly empty) table
                    try:
                        behind = tag != 0x82 and ber.oid_arcs(oid) <= ber.oid_arcs(current)
                    except ber.BerError as e:
                        result.problem = f"{what}: undecodable answer ({e})"
                        return result
                    if behind:
                        result.problem = (f"{what}: the agent answered {ber.oid_str(oid)} to a "
                                          f"request for {ber.oid_str(current)} (not increasing); "
                                          "walk stopped")
                    return result
                try:
                    arcs = ber.sub_arcs(oid, n)
                    value = ber.value_of(tag, raw)
                except ber.BerError as e:
                    result.problem = f"{what}: undecodable answer ({e})"
                    return result
                if last is not None and arcs <= last:
                    result.problem = (f"{what}: the agent returned {root}.{'.'.join(map(str, arcs))}"
                                      " after a later OID (not increasing); walk stopped")
                    return result
                last = arcs
                if value is not ber.NO_SUCH_OBJECT and value is not ber.NO_SUCH_INSTANCE:
                    rows.append((arcs, value))
            result.answered(proto.received, len(rows) - before)
            current = resp.varbinds[-1][0]
    finally:
        transport.close()


async def _wait(fut: asyncio.Future[ber.Response], timeout: float) -> ber.Response | Exception | None:
    # a timer that resolves the future to None: cheaper per request than asyncio.wait_for,
    # which wraps every request in a task of its own
    timer = fut.get_loop().call_later(timeout, _expire, fut)
    try:
        return await fut
    except (ber.BerError, OSError) as e:
        return e
    finally:
        timer.cancel()


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)
