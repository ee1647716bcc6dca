"""snmpsim (PyPI `snmpsim`) serving recordings of real devices on udp:127.0.0.1.

The recordings are a few small files from `snmpsim-data` (BSD-2-Clause, see
tests/fixtures/snmprec/LICENSE.txt), kept compressed in tests/fixtures/snmprec/ and
unpacked into the peer's own data dir: snmpsim indexes every recording in its data dir on
start, so it never sees the whole package. v2c community = recording name; for v3 the
user `V3_USER` (SHA/AES) reads a recording by giving its name as the context name.
"""

from __future__ import annotations

import bz2
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.peers import HOST, _Peer, find_binary, free_udp_port

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "snmprec"


def recording(name: str) -> dict[str, tuple[str, str]]:
    """{oid: (type tag, value)} of tests/fixtures/snmprec/NAME.snmprec.bz2, for expectations."""
    out: dict[str, tuple[str, str]] = {}
    with bz2.open(FIXTURES / f"{name}.snmprec.bz2", "rt", encoding="utf-8",
                  errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("|", 2)
            if len(parts) == 3:
                out[parts[0]] = (parts[1], parts[2])
    return out


class SnmpsimPeer(_Peer):
    name = "snmpsim"
    v3_user = "xjsim"
    v3_auth = "xj-sim-auth-1"
    v3_priv = "xj-sim-priv-1"

    def __init__(self, workdir: Path, extra: dict[str, str] | None = None) -> None:
        """`extra`: more recordings {name: snmprec text} written beside the fixtures (a
        recording with snmpsim variation lines, e.g. an agent error on one column)."""
        super().__init__(workdir)
        self.extra = dict(extra or {})
        self.port = free_udp_port()
        self.data = self.workdir / "data"
        self.cache = self.workdir / "cache"
        self.names = sorted(p.name.removesuffix(".snmprec.bz2")
                            for p in FIXTURES.glob("*.snmprec.bz2"))
        self.names += sorted(self.extra)

    def _prepare(self) -> None:
        self.data.mkdir(exist_ok=True)
        self.cache.mkdir(exist_ok=True)
        for n, text in self.extra.items():
            (self.data / f"{n}.snmprec").write_text(text, encoding="utf-8")
        for n in self.names:
            dst = self.data / f"{n}.snmprec"
            if not dst.exists():
                with bz2.open(FIXTURES / f"{n}.snmprec.bz2", "rb") as src, dst.open("wb") as out:
                    shutil.copyfileobj(src, out)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}

    def _command(self) -> list[str]:
        exe = shutil.which("snmpsim-command-responder") or str(
            Path(sys.executable).parent / "snmpsim-command-responder")
        return [exe, f"--data-dir={self.data}", f"--cache-dir={self.cache}",
                f"--agent-udpv4-endpoint={HOST}:{self.port}",
                f"--v3-user={self.v3_user}", f"--v3-auth-key={self.v3_auth}",
                "--v3-auth-proto=SHA", f"--v3-priv-key={self.v3_priv}", "--v3-priv-proto=AES",
                f"--logging-method=file:{self.log_file}"]

    def _ready(self) -> bool:
        # answers only once every recording is indexed
        cmd = [find_binary("snmpget", "snmp"), "-v2c", "-c", self.names[0], "-t", "0.5",
               "-r", "0", f"udp:{HOST}:{self.port}", "1.3.6.1.2.1.1.3.0"]
        return subprocess.run(cmd, capture_output=True, check=False, timeout=10).returncode == 0
