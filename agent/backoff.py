"""Per-device backoff: a device that keeps failing is polled less often, so a dead site does
not eat the worker pool; one success resets it. The state is visible in `xunjian status`."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class DeviceBackoff:
    failures: int = 0
    until: float = 0.0  # no collection before this moment


class Backoff:
    def __init__(self, after: int = 3, max_seconds: float = 3600.0) -> None:
        self.after = after  # consecutive failed cycles before backing off
        self.max_seconds = max_seconds
        self._state: dict[str, DeviceBackoff] = {}
        self._lock = threading.Lock()

    def allow(self, device: str, now: float) -> bool:
        with self._lock:
            b = self._state.get(device)
            return b is None or now >= b.until

    def record(self, device: str, ok: bool, interval: float, now: float) -> None:
        with self._lock:
            if ok:
                self._state.pop(device, None)
                return
            b = self._state.setdefault(device, DeviceBackoff())
            b.failures += 1
            if b.failures >= self.after:
                # 2, 4, 8 … intervals, capped: the next try still comes, just later.
                b.until = now + min(self.max_seconds, interval * 2 ** (b.failures - self.after + 1))

    def state(self, now: float) -> dict[str, dict[str, float]]:
        with self._lock:
            return {d: {"failures": b.failures, "retry_in": round(max(0.0, b.until - now), 1)}
                    for d, b in self._state.items() if b.failures >= self.after}

    def keep_only(self, devices: set[str]) -> None:
        """After a reload: forget devices that left the inventory."""
        with self._lock:
            for name in set(self._state) - devices:
                del self._state[name]
