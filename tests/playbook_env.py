"""Helpers for playbook tests on the real sshd: a workspace the test user owns, devices with
a remediation section, whole-tree listings, and a fake WebLogic domain."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.inventory import Device, load_inventory
from agent.playbook.catalog import bind, load_catalog
from agent.playbook.runner import Request, Runner
from agent.store.db import open_engine

DAY = 86400


@contextmanager
def workspace(peer: Any) -> Iterator[Path]:
    """A fresh directory in the test user's home, owned by that user; removed afterwards."""
    entry = pwd.getpwnam(peer.user)
    ws = Path(entry.pw_dir) / f"xj-pb-{uuid.uuid4().hex[:8]}"
    ws.mkdir(mode=0o755)
    try:
        yield ws
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def give(path: Path, user: str) -> None:
    """chown -R (without following symlinks) to the test user."""
    entry = pwd.getpwnam(user)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames, ""]:
            os.lchown(os.path.join(dirpath, name) if name else dirpath, entry.pw_uid, entry.pw_gid)


def write_file(path: Path, size: int, age_days: float, now: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = now - age_days * DAY
    os.utime(path, (t, t))


def listing(root: Path) -> dict[str, str]:
    """Every entry under root: relative path → kind and size (symlinks: their target)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link -> {os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = f"file {p.stat().st_size}"
    return out


def device(tmp_path: Path, peer: Any, remediation: dict[str, Any], kind: str = "server") -> Device:
    inv = inventory(tmp_path, peer, remediation, kind)
    return load_inventory(inv).devices["testhost"]


def inventory(tmp_path: Path, peer: Any, remediation: dict[str, Any], kind: str = "server") -> Path:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(json.dumps({"devices": [{
        "name": "testhost", "kind": kind, "address": peer.host, "port": peer.port,
        "collectors": ["linux"], "remediation": remediation,
        "ssh": {"user": peer.user, "key_file": str(peer.client_key),
                "known_hosts": str(peer.known_hosts), "connect_timeout": 5}}]}))
    return inv


def runner(tmp_path: Path, **kw: Any) -> Runner:
    data = tmp_path / "var"
    return Runner(open_engine(data), data, ZoneInfo("UTC"), poll_interval=0.1, **kw)


def request(dev: Device, playbook: str, params: dict[str, Any], **kw: Any) -> Request:
    return Request(bind(load_catalog()[playbook], params), dev, "tester", **kw)


def yes(_res: Any) -> bool:
    return True


# -- a fake WebLogic domain ---------------------------------------------------------------

FAKE_SERVER = r'''
import os, signal, sys, time
name = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("-Dweblogic.Name="))
home = os.path.dirname(os.path.abspath(__file__))
logdir = os.path.join(home, "servers", name, "logs")
os.makedirs(logdir, exist_ok=True)
log = open(os.path.join(logdir, name + ".log"), "a", buffering=1)
def line(code, text):
    log.write("####<%s> <Notice> <WebLogicServer> <testhost> <%s> <main> <<WLS Kernel>> <> <> <%d> <%s> <%s>\n"
              % (time.strftime("%b %d, %Y %H:%M:%S"), name, time.time() * 1000, code, text))
with open(os.path.join(home, "servers", name, "pid"), "w") as f:
    f.write(str(os.getpid()))
hang = os.path.exists(os.path.join(home, "mode-hang"))
def term(*_):
    if hang:
        return
    line("BEA-000365", "Server state changed to SHUTTING_DOWN.")
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
line("BEA-000365", "Server state changed to STARTING.")
if not os.path.exists(os.path.join(home, "mode-never-running")):
    time.sleep(0.3)
    line("BEA-000365", "Server state changed to RUNNING.")
    line("BEA-000360", "The server started in RUNNING mode.")
    port_file = os.path.join(home, "http-port")
    if os.path.exists(port_file):  # a health URL, once RUNNING
        import http.server, threading
        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b"RUNNING")
            def log_message(self, *a):
                pass
        srv = http.server.HTTPServer(("127.0.0.1", int(open(port_file).read())), Health)
        srv.allow_reuse_address = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
while True:
    time.sleep(1)
'''

START = """#!/bin/sh
home="$(cd "$(dirname "$0")/.." && pwd)"
exec /usr/bin/python3 "$home/fake_wls.py" "-Dweblogic.Name=$1" weblogic.Server
"""

STOP = """#!/bin/sh
home="$(cd "$(dirname "$0")/.." && pwd)"
pid=$(cat "$home/servers/$1/pid") || exit 1
kill -TERM "$pid" || exit 1
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
"""


def fake_domain(ws: Path, user: str) -> Path:
    home = ws / "base_domain"
    (home / "bin").mkdir(parents=True)
    (home / "servers" / "ms1" / "logs").mkdir(parents=True)
    (home / "fake_wls.py").write_text(FAKE_SERVER)
    for name, text in (("startManagedWebLogic.sh", START), ("stopManagedWebLogic.sh", STOP)):
        (home / "bin" / name).write_text(text)
        (home / "bin" / name).chmod(0o755)
    give(ws, user)
    return home


def weblogic_remediation(home: Path, allow_kill: bool = False, health_port: int | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {"log": "{home}/servers/{server}/logs/{server}.log"}
    if health_port:
        server["health_url"] = f"http://127.0.0.1:{health_port}/health"
    return {"weblogic": {"domains": {"base_domain": {
        "home": str(home), "allow_kill": allow_kill,
        "start": ["{home}/bin/startManagedWebLogic.sh", "{server}"],
        "stop": ["{home}/bin/stopManagedWebLogic.sh", "{server}"],
        "servers": {"ms1": server}}}}}


def server_pids(home: Path) -> list[int]:
    """PIDs of fake servers of this domain (from /proc: the processes this test started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(home / "fake_wls.py").encode() in cmd and b"weblogic.Server" in cmd:
            found.append(int(entry.name))
    return found


def kill_servers(home: Path) -> None:
    for pid in server_pids(home):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
