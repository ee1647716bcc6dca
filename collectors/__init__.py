"""Collectors: each gets facts from one kind of target over one transport.

A collector returns Samples; it never stores, judges or notifies. The contract is in
collectors/contract.py; the register below — one line per collector — is what the
inventory validates `collectors:` against. Adding a collector = its module (or folder)
plus its line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collectors.contract import Transport

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(slots=True)
class CollectorSpec:
    """One registration: `load` is "module:Class" (imported only when first used: start-up
    stays light) or a callable returning a collector instance."""

    name: str
    transport: Transport
    description: str
    load: str | Callable[[], Any]
    _made: Any = field(default=None, repr=False)

    def factory(self) -> Any:
        """The collector instance (collectors keep no memory of their own: one per process)."""
        if self._made is None:
            if isinstance(self.load, str):
                module, _, attr = self.load.partition(":")
                self._made = getattr(importlib.import_module(module), attr)()
            else:
                self._made = self.load()
        return self._made

    def settings_model(self) -> type[BaseModel] | None:
        return getattr(self.factory(), "settings_model", None)


def register(name: str, transport: Transport, load: str | Callable[[], Any],
             description: str) -> CollectorSpec:
    spec = COLLECTORS[name] = CollectorSpec(name, transport, description, load)
    return spec


COLLECTORS: dict[str, CollectorSpec] = {}

register("local", "local", "collectors.local:LocalCollector",
         "this host, via psutil: disk, mem, swap, cpu, system")
register("linux", "ssh", "collectors.linux:LinuxCollector",
         "a Linux server over SSH: disk, cpu, mem, swap, load, reboots, processes, systemd units, clock "
         "offset")
register("logs", "ssh", "collectors.logs:LogsCollector",
         "log files over SSH: new lines counted per pattern, rotation-safe positions")
register("oracle", "ssh", "collectors.oracle.collector:OracleCollector",
         "Oracle via sqlplus over SSH: instance, tablespaces (autoextend, CDB/PDB, TEMP, UNDO), recovery "
         "area")
register("weblogic", "ssh", "collectors.weblogic.ssh:WeblogicCollector",
         "WebLogic servers over SSH: JVM, state from the server log, restarts, heap")
register("weblogic_rest", "http", "collectors.weblogic.rest:WeblogicRestCollector",
         "WebLogic servers through the admin server's REST management API (HTTPS): state, health, "
         "restarts, heap")
register("config", "ssh", "collectors.config_files:ConfigCollector",
         "configuration files over SSH: checksum, size, mtime; changes with a redacted diff")
register("snmp", "snmp", "collectors.snmp:SnmpCollector",
         "switches, encoders and bearer devices over SNMP v2c/v3: IF-MIB ports and rates, system group "
         "(reboots), ENTITY-MIB asset")
register("cli", "netcli", "collectors.cli:CliCollector",
         "Huawei VRP, H3C Comware and Cisco IOS switches over their CLI (netmiko): version, ports, cpu, "
         "memory, log buffer, running-config changes")
register("http_probe", "probe", "collectors.probes.http:HttpProbeCollector",
         "HTTP(S) service probes from the agent: status, latency, content match, certificate expiry")
register("tcp_probe", "probe", "collectors.probes.tcp:TcpProbeCollector",
         "TCP connect probes from the agent: up, latency, refused / timed out")
register("sql_probe", "probe", "collectors.probes.sql:SqlProbeCollector",
         "SQL probes from the agent (a SQLAlchemy URL): queries with an expected answer, latency")
register("sqlplus_probe", "ssh", "collectors.oracle.sqlplus_probe:SqlplusProbeCollector",
         "SQL probes on Oracle via sqlplus over SSH (the oracle collector's path): queries with an "
         "expected answer")
register("oracle_backup", "ssh", "collectors.oracle.backup:OracleBackupCollector",
         "Oracle RMAN backups via sqlplus over SSH: last full / incremental / archive-log backup, age and "
         "status")
register("file_backup", "ssh", "collectors.file_backup:FileBackupCollector",
         "file backups over SSH: the newest file matching a glob, its age, size and growth against the "
         "previous one")
