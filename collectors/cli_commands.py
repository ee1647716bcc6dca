"""What the `cli` collector runs on each platform, and how each output is read. Data only.

`parser` is `textfsm` (ntc-templates, looked up by the platform's ntc name and the command)
or the name of a pure parser in collectors/cli_parse.py (`PARSERS`) where no template
exists; `config` keeps the output whole for the running-configuration hash and diff.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    check: str    # what it feeds: version, serial, ports, cpu, memory, logs, config, …
    command: str
    parser: str   # "textfsm", a cli_parse.PARSERS name, or "config"


@dataclass(frozen=True, slots=True)
class Platform:
    device_type: str   # netmiko's name
    ntc: str           # ntc-templates' platform name (netmiko `huawei` is `huawei_vrp` there)
    vendor: str
    os: str
    enable: bool       # enter privileged mode (with settings.cli.secret) before the commands
    commands: tuple[Command, ...]
    logout: str = "quit"


PLATFORMS: dict[str, Platform] = {
    "huawei": Platform("huawei", "huawei_vrp", "Huawei", "VRP", False, (
        Command("version", "display version", "textfsm"),
        Command("serial", "display esn", "huawei_esn"),
        Command("ports", "display interface brief", "textfsm"),
        Command("cpu", "display cpu-usage", "huawei_cpu"),
        Command("memory", "display memory-usage", "huawei_memory"),
        Command("logs", "display logbuffer", "vrp_logbuffer"),
        Command("config", "display current-configuration", "config"),
    )),
    "hp_comware": Platform("hp_comware", "hp_comware", "H3C", "Comware", False, (
        Command("version", "display version", "comware_version"),
        Command("serial", "display device manuinfo", "textfsm"),
        Command("ports", "display interface brief", "textfsm"),
        Command("cpu", "display cpu-usage", "comware_cpu"),
        Command("memory", "display memory", "comware_memory"),
        Command("logs", "display logbuffer", "vrp_logbuffer"),
        Command("config", "display current-configuration", "config"),
    )),
    "cisco_ios": Platform("cisco_ios", "cisco_ios", "Cisco", "IOS", True, (
        Command("version", "show version", "textfsm"),
        Command("ports", "show ip interface brief", "textfsm"),
        Command("switchports", "show interfaces status", "textfsm"),
        Command("cpu", "show processes cpu", "textfsm"),
        Command("memory", "show processes memory sorted", "textfsm"),
        Command("logs", "show logging", "textfsm"),
        Command("config", "show running-config", "config"),
    ), logout="exit"),
}

CHECKS = sorted({c.check for p in PLATFORMS.values() for c in p.commands})
