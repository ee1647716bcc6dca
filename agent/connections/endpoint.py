"""What a connection is opened with: the address and the connection settings, nothing of the
inventory. A job carries these (secrets as references), the executor resolves them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class SshSettings:
    user: str | None
    password: SecretStr | None
    key_file: Path | None
    key_passphrase: SecretStr | None
    known_hosts: Path
    host_key_policy: str
    connect_timeout: float
    command_timeout: float
    max_sessions: int = 2
    idle_ttl: float = 10.0  # seconds an unused connection stays open for the device's next collector


@dataclass(frozen=True, slots=True)
class SshEndpoint:
    """A device as the SSH layer sees it: its name (for reasons and per-device caps), where it
    is, and how to log in. The inventory's Device has the same attributes."""

    name: str
    address: str
    port: int
    ssh: SshSettings
