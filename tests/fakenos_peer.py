"""FakeNOS network-OS SSH servers on 127.0.0.1 for the `cli` collector's tests.

Each host runs FakeNOS's own canned platform (huawei_vrp, hp_comware, cisco_ios) plus the
commands FakeNOS does not ship (CPU, memory, log buffer, running-config, …), whose outputs
are the raw fixtures in tests/fixtures/cli/<platform>/<command>.txt. Every output is served
through a callable, so a test can change what a command returns between two cycles
(`set_output`) — how the running-config change path is exercised on a live session.

FakeNOS runs in-process (its paramiko server threads); `xunjian inspect` subprocesses reach
it over TCP like any switch. Its host key is FakeNOS's fixed default key: `known_hosts()`
writes it for each host so the collector verifies host keys as in production.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.peers import HOST, free_port, wait_until

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
PLATFORMS = ("huawei_vrp", "hp_comware", "cisco_ios")
DEVICE_TYPE = {"huawei_vrp": "huawei", "hp_comware": "hp_comware", "cisco_ios": "cisco_ios"}
USERNAME = "inspector"
PASSWORD = "Fake-N0S-pass!"  # what the test inventory's ${XJ_CLI_PASS} resolves to
PROMPTS = ["{base_prompt}>", "{base_prompt}#"]


def _stock_file(platform: str) -> Path:
    import fakenos

    return Path(fakenos.__file__).parent / "plugins" / "nos" / "platforms_yaml" / f"{platform}.yaml"


def stock_outputs(platform: str) -> dict[str, str]:
    """FakeNOS's own canned outputs for a platform: what the tests compare against."""
    data = yaml.safe_load(_stock_file(platform).read_text(encoding="utf-8"))
    return {cmd: str(v.get("output", "")) for cmd, v in data["commands"].items()
            if isinstance(v.get("output"), str)}


def fixture_outputs(platform: str) -> dict[str, str]:
    """Our raw fixtures for commands FakeNOS lacks: file name = command, spaces as '_'."""
    out = {}
    for f in sorted((FIXTURES / platform).glob("*.txt")):
        if f.stem.count(".") == 0:
            out[f.stem.replace("_", " ")] = f.read_text(encoding="utf-8")
    return out


def fixture_text(platform: str, name: str) -> str:
    return (FIXTURES / platform / name).read_text(encoding="utf-8")


@dataclass
class FakeHost:
    name: str
    platform: str
    port: int
    outputs: dict[str, str] = field(default_factory=dict)  # command → current output
    delays: dict[str, float] = field(default_factory=dict)  # command → seconds before answering

    @property
    def device_type(self) -> str:
        return DEVICE_TYPE[self.platform]


class FakeNosPeer:
    """FakeNOS hosts, one per (name, platform); start() and stop() them together."""

    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = {name: FakeHost(name, plat, free_port(),
                                     {**stock_outputs(plat), **fixture_outputs(plat)})
                      for name, plat in hosts.items()}
        self._net: Any = None

    def set_output(self, host: str, command: str, text: str) -> None:
        """What `command` returns on `host` from now on (the next session sees it)."""
        self.hosts[host].outputs[command] = text

    def set_delay(self, host: str, command: str, seconds: float) -> None:
        """`command` on `host` answers only after `seconds` (0: at once again)."""
        self.hosts[host].delays[command] = seconds

    def _nos(self, h: FakeHost) -> Any:
        from fakenos.core.nos import Nos

        nos = Nos(filename=str(_stock_file(h.platform)))
        nos.name = f"xj_{h.name}"

        def serve(command: str) -> Any:
            def output(*_args: Any, **_kw: Any) -> str:
                delay = h.delays.get(command, 0.0)
                if delay:
                    time.sleep(delay)  # a slow device, on purpose: the read-timeout path
                return h.outputs[command]
            return output

        for cmd in h.outputs:
            entry = dict(nos.commands.get(cmd) or {"help": f"xunjian test fixture: {cmd}",
                                                   "prompt": PROMPTS})
            if "new_prompt" in entry:  # enable and friends stay FakeNOS's own
                continue
            entry["output"] = serve(cmd)
            nos.commands[cmd] = entry
        return nos

    def start(self) -> FakeNosPeer:
        from fakenos import FakeNOS

        logging.getLogger("fakenos").setLevel(logging.CRITICAL)  # it logs every unknown command
        plugins = [self._nos(h) for h in self.hosts.values()]
        inventory = {
            "default": {"username": USERNAME, "password": PASSWORD,
                        "server": {"plugin": "ParamikoSshServer",
                                   "configuration": {"address": HOST, "timeout": 1}}},
            "hosts": {h.name: {"port": h.port, "nos": {"plugin": f"xj_{h.name}"}}
                      for h in self.hosts.values()},
        }
        self._net = FakeNOS(inventory=inventory, plugins=plugins)
        self._net.start()
        for h in self.hosts.values():
            wait_until(lambda p=h.port: _listening(p), timeout=15, what=f"FakeNOS {h.name}")
        return self

    def stop(self) -> None:
        if self._net is not None:
            self._net.stop()
            self._net = None

    def known_hosts(self, path: Path) -> Path:
        """A known_hosts file with FakeNOS's (fixed, default) host key for every host."""
        import paramiko
        from fakenos.plugins.servers.ssh_server_paramiko import DEFAULT_SSH_KEY

        key = paramiko.RSAKey(file_obj=io.StringIO(DEFAULT_SSH_KEY))
        path.write_text("".join(f"[{HOST}]:{h.port} {key.get_name()} {key.get_base64()}\n"
                                for h in self.hosts.values()), encoding="ascii")
        return path


def _listening(port: int) -> bool:
    # a TCP probe would make FakeNOS's server thread die noisily on the missing SSH banner
    import psutil

    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
               for c in psutil.net_connections(kind="tcp4"))
