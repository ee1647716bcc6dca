"""What every service probe (http_probe, tcp_probe, sql_probe) shares: the outcome of one
probe and its `probe` sample.

A probe measures whether a service answers as a user would see it, so three outcomes are
kept apart:
- up: it answered as expected (`result` = "up", `up` = 1);
- down: it was not reached or answered wrongly — refused, timed out, reset, a name that does
  not exist, a wrong status, wrong content, a failed query (`result` = the reason, `up` = 0);
- not run: the agent could not carry the probe out — its own resolver failing (a temporary
  DNS error), a missing database driver, a query the server rejects as invalid — so nothing
  is known about the service (`run` = the reason, no `up` and no `result`: it counts neither
  for nor against availability, and the probe_not_run rule makes it UNKNOWN).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.connections.reasons import network_reason
from core.model import Sample

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}$"  # a probe's name: the verdict's instance


class ProbeCommon(BaseModel):
    """Settings every probe collector has besides its list of probes."""

    model_config = ConfigDict(extra="forbid")
    # Which shipped rule judges "down": 1 → probe_down_major (一级), 2 → probe_down (二级),
    # 3 → probe_down_minor (三级). The service's criticality, said once per device.
    criticality: int = Field(default=2, ge=1, le=3)
    timeout: float = Field(default=10.0, gt=0, le=300)


@dataclass(slots=True)
class Outcome:
    """One probe's outcome. Exactly one of: up, down (reason), not run (error)."""

    name: str
    kind: str  # http | tcp | sql
    target: str  # what was probed, for people (URL without credentials, host:port, …)
    up: bool = False
    reason: str = ""  # why it is down
    error: str = ""  # why it could not run
    fields: dict[str, float | int | str | bool] = field(default_factory=dict)

    def sample(self, host: str, criticality: int, t: int) -> Sample:
        tags = {"host": host, "probe": self.name, "type": self.kind, "target": self.target,
                "criticality": str(criticality)}
        fields: dict[str, float | int | str | bool] = dict(self.fields)
        if self.error:
            fields["run"] = self.error[:300]
            fields["state"] = "unknown"
        else:
            fields["run"] = "ok"
            fields["up"] = int(self.up)
            fields["result"] = "up" if self.up else (self.reason or "down")[:300]
            fields["state"] = "up" if self.up else "down"
        return Sample("probe", tags, fields, t)


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$")


def valid_host(v: str) -> bool:
    """An IP address or a host name (as the inventory's `address`)."""
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return bool(_HOSTNAME.match(v))
    return True


def unique_names(v: list[Any]) -> list[Any]:
    """A settings list validator: probe names are verdict instances, so unique per device."""
    seen: set[str] = set()
    for p in v:
        if p.name in seen:
            raise ValueError(f"probe name '{p.name}' is given twice")
        seen.add(p.name)
    return v


def connect_failure(e: BaseException, host: str, port: int, timeout: float) -> tuple[str, bool]:
    """(reason, is_down) for a failure to reach host:port.

    A name that does not exist (EAI_NONAME/EAI_NODATA) is down: that is what a user's browser
    would meet too. A resolver that fails or cannot be reached (EAI_AGAIN, EAI_FAIL, …) says
    nothing about the service: the agent's own DNS is broken, the probe did not run.
    """
    for err in _chain(e):
        if isinstance(err, socket.gaierror):
            missing = err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
            if missing:
                return f"host name '{host}' does not exist ({err.strerror or err})", True
            return (f"the agent could not resolve '{host}' ({err.strerror or err}): "
                    f"its resolver failed, the service was not probed"), False
    reason = network_reason(e, host, port, timeout)
    return (reason or f"cannot connect to {host}:{port}: {type(e).__name__}: {e}"[:300]), True


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    todo: list[BaseException] = [e]
    while todo and len(out) < 20:
        err = todo.pop(0)
        if any(err is x for x in out):
            continue
        out.append(err)
        todo += [x for x in (err.__cause__, err.__context__) if x is not None]
        reason = getattr(err, "reason", None)  # urllib3's MaxRetryError / NewConnectionError
        if isinstance(reason, BaseException):
            todo.append(reason)
    return out
