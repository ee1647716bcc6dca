"""TCP connect probes from the agent: does host:port accept a connection, and how fast.

Refused, timed out, reset and unreachable are the service being down as a client sees it;
only the agent's own resolver failing means the probe did not run (collectors.probes.common).
"""

from __future__ import annotations

import socket
import time
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectors.contract import Collected, Collector, Context
from collectors.probes.common import NAME, Outcome, ProbeCommon, connect_failure, unique_names, valid_host
from core.model import now_ns


class TcpCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    host: str | None = None  # default: the device's address
    port: int = Field(ge=1, le=65535)
    timeout: float | None = Field(default=None, gt=0, le=300)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        if v is not None and not valid_host(v):
            raise ValueError("an IPv4/IPv6 address or a host name")
        return v


class TcpProbeSettings(ProbeCommon):
    probes: list[TcpCheck] = Field(min_length=1)

    @field_validator("probes")
    @classmethod
    def _unique(cls, v: list[TcpCheck]) -> list[TcpCheck]:
        return unique_names(v)


class TcpProbeCollector(Collector[TcpProbeSettings, None]):
    settings_model: ClassVar = TcpProbeSettings

    def collect(self, ctx: Context[TcpProbeSettings], conn: None) -> Collected:
        s = ctx.settings
        t = now_ns()
        return Collected([probe(p.name, p.host or ctx.address, p.port, p.timeout or s.timeout)
                          .sample(ctx.device, s.criticality, t) for p in s.probes])


def probe(name: str, host: str, port: int, timeout: float) -> Outcome:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    out = Outcome(name, "tcp", where)
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            elapsed = time.monotonic() - t0
    except OSError as e:
        reason, down = connect_failure(e, host, port, timeout)
        if down:
            out.reason = reason
        else:
            out.error = reason
        return out
    out.up = True
    out.fields["latency_ms"] = round(elapsed * 1000, 1)
    return out
