"""A real sshd at its MaxStartups limit (`MaxStartups 1:100:1`, the one startup slot held by
an unauthenticated TCP connection) drops new connections before its banner: the agent
retries with a bounded backoff, succeeds when the slot frees, and says why when it never
does."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent.connections.ssh as ssh_mod
from agent.executor import Executor
from agent.inventory import Device, load_inventory
from core.model import Job, Status
from tests.peers import SshPeer, wait_until

pytestmark = pytest.mark.peers


class OneSlotSshPeer(SshPeer):
    """The test sshd with room for one unauthenticated connection at a time."""

    def _prepare(self) -> None:
        super()._prepare()
        self.config.write_text(self.config.read_text().replace("MaxStartups 100:30:200",
                                                               "MaxStartups 1:100:1"))


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneSlotSshPeer]:
    with OneSlotSshPeer(tmp_path_factory.mktemp("sshd-maxstartups")) as peer:
        yield peer


def drops(peer: SshPeer) -> int:
    return peer.sshd_log.read_text(errors="replace").count("past MaxStartups")


def hold_slot(peer: SshPeer) -> socket.socket:
    """A connection that never authenticates: it holds sshd's one startup slot. sshd frees the
    slot of the previous test's closed holder when it notices the close: until then it answers
    "Exceeded MaxStartups", so ask again until it takes one."""
    held: list[socket.socket] = []

    def take() -> bool:
        s = socket.create_connection((peer.host, peer.port), timeout=5)
        greeting = s.recv(64)
        if greeting.startswith(b"SSH-"):  # sshd took it (and counts it as a startup)
            held.append(s)
            return True
        s.close()
        assert b"MaxStartups" in greeting, greeting
        return False

    wait_until(take, timeout=10, interval=0.05, what="sshd to free its startup slot")
    return held[0]


def device(tmp_path: Path, peer: SshPeer, connect_timeout: float) -> Device:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{
        "name": "busy", "address": peer.host, "port": peer.port, "collectors": ["linux"],
        "ssh": {"user": peer.user, "key_file": str(peer.client_key), "known_hosts": str(peer.known_hosts),
                "connect_timeout": connect_timeout}}]}))
    return load_inventory(inv).devices["busy"]


def test_dropped_banner_is_retried_until_the_slot_frees(tmp_path: Path, one_slot: OneSlotSshPeer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Longer pauses than the default 0.3 s: on a loaded machine sshd may take a while to count
    # the released slot as free; the retry logic under test is the same.
    monkeypatch.setattr(ssh_mod, "BANNER_PAUSE", 1.0)
    held = hold_slot(one_slot)
    before = drops(one_slot)

    def release_after_first_drop() -> None:
        wait_until(lambda: drops(one_slot) > before, timeout=10, interval=0.01, what="a dropped connection")
        held.close()

    releaser = threading.Thread(target=release_after_first_drop)
    releaser.start()
    try:
        result = Executor().run(Job("busy", "linux"), device(tmp_path, one_slot, 10))
    finally:
        releaser.join(15)
        held.close()
    assert result.status is Status.OK, result.reason
    assert drops(one_slot) - before >= 1  # it was dropped at least once, and got in on a retry


def test_never_accepted_is_unknown_with_the_reason(tmp_path: Path, one_slot: OneSlotSshPeer) -> None:
    held = hold_slot(one_slot)
    before = drops(one_slot)
    t0 = time.monotonic()
    try:
        result = Executor().run(Job("busy", "linux"), device(tmp_path, one_slot, 10))
    finally:
        held.close()
    elapsed = time.monotonic() - t0
    assert result.status is Status.UNKNOWN
    assert "closed the connection before the SSH banner (3 times" in result.reason, result.reason
    assert "MaxStartups" in result.reason
    wait_until(lambda: drops(one_slot) - before >= 3, timeout=5, what="sshd logging three drops")
    assert drops(one_slot) - before == 3  # three attempts, no more
    assert 0.45 <= elapsed < 3  # two pauses of the backoff: 0.15–0.3 s, then 0.3–0.6 s


def test_backoff_stays_within_the_connect_timeout(tmp_path: Path, one_slot: OneSlotSshPeer) -> None:
    held = hold_slot(one_slot)
    dev = device(tmp_path, one_slot, 0.4)
    before = drops(one_slot)
    t0 = time.monotonic()
    try:
        result = Executor().run(Job("busy", "linux"), dataclasses.replace(dev))
    finally:
        held.close()
    elapsed = time.monotonic() - t0
    assert result.status is Status.UNKNOWN and "before the SSH banner" in result.reason, result.reason
    assert elapsed < 0.4 + 1.0  # the budget, plus what one attempt takes to fail on a busy machine
    wait_until(lambda: drops(one_slot) > before, timeout=5, what="sshd logging a drop")
    assert drops(one_slot) - before < 3  # the budget left no room for all three
