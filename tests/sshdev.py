"""Helpers for collector tests through the real sshd: devices with settings, and a
directory on the test host that the sshd test user can read and write."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.executor import Executor
from agent.inventory import Device, load_inventory
from core.model import Job, Result, Sample


def write_inventory(tmp_path: Path, peer: Any, collectors: list[str],
                    settings: dict[str, Any] | None = None, name: str = "testhost",
                    secrets: dict[str, str] | None = None) -> Path:
    ssh = {"user": peer.user, "key_file": str(peer.client_key), "known_hosts": str(peer.known_hosts),
           "connect_timeout": 5, "command_timeout": 20}
    doc: dict[str, Any] = {"devices": [{
        "name": name, "kind": "server", "address": peer.host, "port": peer.port,
        "collectors": collectors, "ssh": ssh, "settings": settings or {}}]}
    if secrets is not None:
        sf = tmp_path / "secrets.yaml"
        sf.write_text(json.dumps(secrets))
        sf.chmod(0o600)
        doc["secrets_file"] = str(sf)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps(doc))
    return inv


def device_for(tmp_path: Path, peer: Any, collectors: list[str],
               settings: dict[str, Any] | None = None, **kw: Any) -> Device:
    inv = write_inventory(tmp_path, peer, collectors, settings, **kw)
    return load_inventory(inv).devices[kw.get("name", "testhost")]


class Cycles:
    """Runs one collector on one device cycle after cycle, carrying its state as the store does
    (a failed cycle's state is dropped)."""

    def __init__(self, device: Device, collector: str) -> None:
        self.device, self.collector = device, collector
        self.state: dict[str, Any] = {}

    def run(self) -> Result:
        memory = json.loads(json.dumps(self.state))  # as saved and loaded: JSON only
        result = Executor(lambda d, c: memory).run(Job(self.device.name, self.collector), self.device)
        if result.state is not None and result.collected:
            self.state = json.loads(json.dumps(result.state))
        return result


def by(samples: list[Sample], measurement: str, **tags: str) -> list[Sample]:
    return [s for s in samples if s.measurement == measurement
            and all(s.tags.get(k) == v for k, v in tags.items())]


def one(samples: list[Sample], measurement: str, **tags: str) -> Sample:
    found = by(samples, measurement, **tags)
    assert len(found) == 1, (measurement, tags, samples)
    return found[0]


@pytest.fixture
def remote_dir(ssh_peer: Any) -> Iterator[Path]:
    """A directory on the test host owned by the sshd test user (tests run as root and may
    write there too); removed afterwards."""
    user = pwd.getpwnam(ssh_peer.user)
    d = Path(tempfile.mkdtemp(prefix="xj-remote-", dir="/tmp"))
    os.chown(d, user.pw_uid, user.pw_gid)
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def give(path: Path, ssh_peer: Any, mode: int = 0o644) -> Path:
    """Make a file the test wrote belong to the sshd test user."""
    user = pwd.getpwnam(ssh_peer.user)
    os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(mode)
    return path
