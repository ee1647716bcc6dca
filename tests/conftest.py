"""Shared fixtures: real peers (sshd, snmpd, InfluxDB 1.x, VictoriaMetrics) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.peers import InfluxV1Peer, SnmpdPeer, SshPeer, VictoriaMetricsPeer
from tests.pg_peer import PostgresPeer
from tests.snmpsim_peer import SnmpsimPeer, extra_recordings
from tests.sshdev import remote_dir  # noqa: F401  (a fixture: a directory the sshd test user owns)


@pytest.fixture(scope="session")
def half_year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a year of history (tests/history.py) built once per session and shared by the
    report tests: they read it and must not change it (copy it first)."""
    from tests import history

    d = tmp_path_factory.mktemp("history")
    history.build(d)
    return d


@pytest.fixture(scope="session")
def ssh_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshPeer]:
    """sshd accepting `xjtest` with `client_key`; `known_hosts` holds its host key."""
    with SshPeer(tmp_path_factory.mktemp("sshd")) as peer:
        yield peer


@pytest.fixture(scope="session")
def influx_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxV1Peer]:
    """InfluxDB 1.x shared by the session, no database created."""
    with InfluxV1Peer(tmp_path_factory.mktemp("influxd")) as peer:
        yield peer


@pytest.fixture(scope="session")
def snmpd_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdPeer]:
    """net-snmp snmpd on UDP 127.0.0.1 with a v2c community and v3 users (SHA/AES, SHA-256/AES-256)."""
    with SnmpdPeer(tmp_path_factory.mktemp("snmpd")) as peer:
        yield peer


@pytest.fixture(scope="session")
def snmpsim_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimPeer]:
    """snmpsim serving the recordings in tests/fixtures/snmprec/ plus extra_recordings()
    (v2c community = recording name; v3 user SnmpsimPeer.v3_user, context = name)."""
    with SnmpsimPeer(tmp_path_factory.mktemp("snmpsim"), extra=extra_recordings()) as peer:
        yield peer


@pytest.fixture(scope="session")
def vm_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsPeer]:
    """VictoriaMetrics shared by the session."""
    with VictoriaMetricsPeer(tmp_path_factory.mktemp("vm")) as peer:
        yield peer


@pytest.fixture
def make_influx_peer(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], InfluxV1Peer]]:
    """Start private InfluxDB 1.x instances (free to stop/start); all stopped at teardown."""
    peers: list[InfluxV1Peer] = []

    def make() -> InfluxV1Peer:
        peer = InfluxV1Peer(tmp_path_factory.mktemp("influxd"))
        peers.append(peer)
        return peer.start()

    yield make
    for peer in peers:
        peer.stop()


@pytest.fixture
def make_vm_peer(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], VictoriaMetricsPeer]]:
    """Start private VictoriaMetrics instances (free to stop/start); all stopped at teardown."""
    peers: list[VictoriaMetricsPeer] = []

    def make() -> VictoriaMetricsPeer:
        peer = VictoriaMetricsPeer(tmp_path_factory.mktemp("vm"))
        peers.append(peer)
        return peer.start()

    yield make
    for peer in peers:
        peer.stop()


@pytest.fixture(autouse=True)
def _fresh_ssh_pool() -> Iterator[None]:
    """Each test starts without idle SSH connections left by another (the pool is per process)."""
    yield
    from agent.connections.pool import POOL

    POOL.close_all()


@pytest.fixture(scope="session")
def pg_peer() -> Iterator[PostgresPeer]:
    """A private PostgreSQL server (tests/pg_peer.py); `pg_peer.database()` makes a database."""
    with PostgresPeer() as peer:
        yield peer


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store is, on each backend: a data directory (SQLite in it) or the URL of a
    fresh PostgreSQL database. `open_engine(store)` opens it; `--data-dir`/`store.url` name it."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("pg_peer").database())
