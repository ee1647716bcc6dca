"""Collectors: each gets facts from one kind of target over one transport.

A collector returns Samples; it never stores, judges or notifies. The registry
below is what the inventory validates `collectors:` against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class CollectorSpec:
    """`settings`, when given, returns the pydantic model that validates the device's
    `settings.<collector>:` section of the inventory (lazy: import cost only when used).
    Top-level SecretStr fields of that model must be given as secret references."""

    name: str
    transport: Literal["local", "ssh", "snmp", "cli", "http", "probe"]
    description: str
    factory: Callable[[], Any]
    settings: Callable[[], Any] | None = None


def _local() -> Any:
    from collectors.local import LocalCollector

    return LocalCollector()


def _linux() -> Any:
    from collectors.linux import LinuxCollector

    return LinuxCollector()


def _linux_settings() -> Any:
    from collectors.linux import LinuxSettings

    return LinuxSettings


def _logs() -> Any:
    from collectors.logs import LogsCollector

    return LogsCollector()


def _logs_settings() -> Any:
    from collectors.logs import LogsSettings

    return LogsSettings


def _oracle() -> Any:
    from collectors.oracle import OracleCollector

    return OracleCollector()


def _oracle_settings() -> Any:
    from collectors.oracle import OracleSettings

    return OracleSettings


def _weblogic() -> Any:
    from collectors.weblogic import WeblogicCollector

    return WeblogicCollector()


def _weblogic_settings() -> Any:
    from collectors.weblogic import WeblogicSettings

    return WeblogicSettings


def _weblogic_rest() -> Any:
    from collectors.weblogic_rest import WeblogicRestCollector

    return WeblogicRestCollector()


def _weblogic_rest_settings() -> Any:
    from collectors.weblogic_rest import WeblogicRestSettings

    return WeblogicRestSettings


def _config() -> Any:
    from collectors.config_files import ConfigCollector

    return ConfigCollector()


def _config_settings() -> Any:
    from collectors.config_files import ConfigSettings

    return ConfigSettings


def _snmp() -> Any:
    from collectors.snmp import SnmpCollector

    return SnmpCollector()


def _snmp_settings() -> Any:
    from collectors.snmp import SnmpSettings

    return SnmpSettings


def _cli() -> Any:
    from collectors.cli import CliCollector

    return CliCollector()


def _cli_settings() -> Any:
    from collectors.cli import CliSettings

    return CliSettings


def _lazy(module: str, attr: str) -> Callable[[], Any]:
    """A factory importing `collectors.<module>` only when called (keeps start-up light)."""
    def load() -> Any:
        import importlib

        return getattr(importlib.import_module(f"collectors.{module}"), attr)
    return load


def _new(module: str, cls: str) -> Callable[[], Any]:
    return lambda: _lazy(module, cls)()()


COLLECTORS: dict[str, CollectorSpec] = {
    "local": CollectorSpec("local", "local", "this host, via psutil: disk, mem, swap, cpu, system",
                           _local),
    "linux": CollectorSpec("linux", "ssh", "a Linux server over SSH: disk, cpu, mem, swap, load, "
                           "reboots, processes, systemd units, clock offset", _linux, _linux_settings),
    "logs": CollectorSpec("logs", "ssh", "log files over SSH: new lines counted per pattern, "
                          "rotation-safe positions", _logs, _logs_settings),
    "oracle": CollectorSpec("oracle", "ssh", "Oracle via sqlplus over SSH: instance, tablespaces "
                            "(autoextend, CDB/PDB, TEMP, UNDO), recovery area", _oracle, _oracle_settings),
    "weblogic": CollectorSpec("weblogic", "ssh", "WebLogic servers over SSH: JVM, state from the "
                              "server log, restarts, heap", _weblogic, _weblogic_settings),
    "weblogic_rest": CollectorSpec("weblogic_rest", "http", "WebLogic servers through the admin "
                                   "server's REST management API (HTTPS): state, health, restarts, heap",
                                   _weblogic_rest, _weblogic_rest_settings),
    "config": CollectorSpec("config", "ssh", "configuration files over SSH: checksum, size, mtime; "
                            "changes with a redacted diff", _config, _config_settings),
    "snmp": CollectorSpec("snmp", "snmp", "switches, encoders and bearer devices over SNMP v2c/v3: "
                          "IF-MIB ports and rates, system group (reboots), ENTITY-MIB asset",
                          _snmp, _snmp_settings),
    "cli": CollectorSpec("cli", "cli", "Huawei VRP, H3C Comware and Cisco IOS switches over their CLI "
                         "(netmiko): version, ports, cpu, memory, log buffer, running-config changes",
                         _cli, _cli_settings),
    # "probe": run from the agent to the service's endpoint, as a user reaches it
    "http_probe": CollectorSpec("http_probe", "probe", "HTTP(S) service probes from the agent: status, "
                                "latency, content match, certificate expiry",
                                _new("probe_http", "HttpProbeCollector"),
                                _lazy("probe_http", "HttpProbeSettings")),
    "tcp_probe": CollectorSpec("tcp_probe", "probe", "TCP connect probes from the agent: up, latency, "
                               "refused / timed out", _new("probe_tcp", "TcpProbeCollector"),
                               _lazy("probe_tcp", "TcpProbeSettings")),
    "sql_probe": CollectorSpec("sql_probe", "probe", "SQL probes from the agent (a SQLAlchemy URL): "
                               "queries with an expected answer, latency",
                               _new("probe_sql", "SqlProbeCollector"),
                               _lazy("probe_sql", "SqlProbeSettings")),
    "sqlplus_probe": CollectorSpec("sqlplus_probe", "ssh", "SQL probes on Oracle via sqlplus over SSH "
                                   "(the oracle collector's path): queries with an expected answer",
                                   _new("sqlplus_probe", "SqlplusProbeCollector"),
                                   _lazy("sqlplus_probe", "SqlplusProbeSettings")),
    "oracle_backup": CollectorSpec("oracle_backup", "ssh", "Oracle RMAN backups via sqlplus over SSH: "
                                   "last full / incremental / archive-log backup, age and status",
                                   _new("oracle_backup", "OracleBackupCollector"),
                                   _lazy("oracle_backup", "OracleBackupSettings")),
    "file_backup": CollectorSpec("file_backup", "ssh", "file backups over SSH: the newest file matching "
                                 "a glob, its age, size and growth against the previous one",
                                 _new("file_backup", "FileBackupCollector"),
                                 _lazy("file_backup", "FileBackupSettings")),
}
