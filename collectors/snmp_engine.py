"""One pysnmp SnmpEngine per process, on one dedicated event-loop thread.

An SnmpEngine costs ~70 ms CPU and ~1 MiB and is bound to the loop it was created
on, so collectors (which run in executor threads) never make their own: they hand a
coroutine factory to `run()`, which executes it on the shared loop and waits for it.
Requests in flight are capped (a semaphore) so the socket's receive buffer is not
overrun when many devices are polled at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_IN_FLIGHT = 150


class _EngineThread:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Any = None
        self._sem: asyncio.Semaphore | None = None

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=main, name="snmp-engine", daemon=True).start()
            ready.wait()
            self._loop = loop
            return loop

    async def _setup(self) -> tuple[Any, asyncio.Semaphore]:
        if self._engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._engine = SnmpEngine()
            self._sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        assert self._sem is not None
        return self._engine, self._sem

    def run(self, work: Callable[[Any, asyncio.Semaphore], Awaitable[T]], timeout: float) -> T:
        """Run `work(engine, in_flight_semaphore)` on the engine's loop; wait ≤ timeout s."""
        loop = self._start()

        async def call() -> T:
            engine, sem = await self._setup()
            return await work(engine, sem)

        fut = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise


_ENGINE = _EngineThread()


def run(work: Callable[[Any, asyncio.Semaphore], Awaitable[T]], timeout: float) -> T:
    return _ENGINE.run(work, timeout)
