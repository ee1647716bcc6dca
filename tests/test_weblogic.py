"""WebLogic: finding a server's JVM in real `ps` output, the rules, the parsers against garbage,
then a fake WebLogic JVM through the real sshd: running, state from its log, a restart counted
once, then stopped. What the parsers make of recorded outputs is data:
collectors/weblogic/testdata/, run by tests/test_parser_data.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.common.batch import Section
from collectors.config_files import parse_file_section
from collectors.linux_health import parse_ps
from collectors.weblogic.parse import (
    log_state,
    parse_jstat_gc,
    parse_registry,
    server_jvms,
)
from core.model import CollectionError, Sample, Status
from tests.peers import wait_until
from tests.sshdev import Cycles, by, device_for, give, one

FIX = Path(__file__).parent / "fixtures"
TESTDATA = Path(__file__).resolve().parents[1] / "collectors" / "weblogic" / "testdata"


def test_state_from_the_admin_servers_log() -> None:
    # (the log scanner's fixture; the weblogic parsers' own cases: collectors/weblogic/testdata/)
    admin = log_state((FIX / "logs" / "AdminServer.log").read_text())
    assert admin.last_state == "RUNNING" and admin.running_events == 1


def test_family_readme_example_loads(tmp_path: Path) -> None:
    from agent.inventory import load_inventory

    readme = (TESTDATA.parent / "README.md").read_text()
    block = readme.split("## Settings", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("wls_monitor: pw\n")
    secrets.chmod(0o600)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(f"secrets_file: {secrets}\ndevices:\n  - name: app01\n    address: 10.1.2.21\n"
                   "    ssh: {user: oracle}\n" + block)
    dev = load_inventory(inv).devices["app01"]
    wls = dev.settings["weblogic"]
    assert [s.name for s in wls.servers] == ["AdminServer", "ms1"] and wls.max_log_bytes == 2097152
    assert dev.settings["weblogic_rest"].domain == "base_domain"


def test_the_last_cycles_memory_is_not_changed() -> None:
    """The collector returns its new memory as a value: the context's is left as it was."""
    import copy

    import yaml

    from collectors.weblogic.ssh import samples_of

    case = yaml.safe_load((TESTDATA / "ssh_samples" / "restart_heap_version.yaml").read_text())
    args = case["args"]
    before = copy.deepcopy(args["state"])
    _, state = samples_of(*[(TESTDATA / "ssh_samples" / f).read_text() for f in case["inputs"]], **args)
    assert args["state"] == before and state != before
    assert state["servers"]["ms1"]["pid"] == 3200 and before["servers"]["ms1"]["pid"] == 3150


def test_jvm_by_exact_server_name() -> None:
    procs = parse_ps((FIX / "linux" / "ps.txt").read_text().split("\n", 1)[1])
    assert [p.pid for p in server_jvms(procs, "AdminServer")] == [3100]
    assert [p.pid for p in server_jvms(procs, "ms1")] == [3200]
    assert server_jvms(procs, "ms") == []  # ms is not ms1


def test_state_rule() -> None:
    rules = load_rules()
    samples = [Sample("weblogic", {"host": "h", "server": s}, {"state": st, "restarts": r}, 1)
               for s, st, r in (("a", "RUNNING", 0), ("b", "ADMIN", 0), ("c", "NOT_RUNNING", 0),
                                ("d", "RUNNING", 1), ("e", "UNKNOWN", 0))]
    got = {(v.check, v.instance): v.status for v in evaluate(samples, "h", rules)}
    assert got[("weblogic_state", "a")] is Status.OK
    assert got[("weblogic_state", "b")] is Status.WARN
    assert got[("weblogic_state", "c")] is Status.CRIT
    assert got[("weblogic_state", "e")] is Status.UNKNOWN
    assert got[("weblogic_restarts", "d")] is Status.WARN and got[("weblogic_restarts", "a")] is Status.OK


RUNNING = ("####<Nov 22, 2026 9:01:40,001 AM CST> <Notice> <WebLogicServer> <app01> <{name}> <main> "
           "<<WLS Kernel>> <> <> <1763773300001> <[severity-value: 32] > <BEA-000360> "
           "<The server started in RUNNING mode.>")


class FakeServer:
    """A long-lived process named like a WebLogic JVM that logs its start, as a server does."""

    def __init__(self, name: str, log: Path, extra: str = "") -> None:
        self.name, self.log, self.extra = name, log, extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        before = self.log.read_text().count("BEA-000360") if self.log.exists() else 0
        line = RUNNING.format(name=self.name)
        self.proc = subprocess.Popen(
            ["bash", "-c", f"printf '%s\\n' \"$1\" >> \"$2\"; exec -a 'java -server "
             f"-Dweblogic.Name={self.name} {self.extra}weblogic.Server' sleep 600", "fake", line, str(self.log)],
            stdin=subprocess.DEVNULL)
        wait_until(lambda: self.log.exists() and self.log.read_text().count("BEA-000360") > before,
                   what="the fake server's RUNNING line")
        wait_until(lambda: "weblogic.Name" in Path(f"/proc/{self.proc.pid}/cmdline").read_text(),  # type: ignore[union-attr]
                   what="the fake server's exec")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.mark.peers
def test_fake_weblogic_over_ssh(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    domain = remote_dir / "base_domain"
    logdir = domain / "servers" / "ms1" / "logs"
    logdir.mkdir(parents=True)
    for d in (domain, domain / "servers", domain / "servers" / "ms1", logdir):
        give(d, ssh_peer, 0o755)
    log = logdir / "ms1.log"
    server = FakeServer("ms1", log)
    dev = device_for(tmp_path, ssh_peer, ["weblogic"], {"weblogic": {
        "domain_home": str(domain), "servers": [{"name": "ms1"}, {"name": "ms10"}]}})
    cycles = Cycles(dev, "weblogic")
    try:
        server.start()
        r = cycles.run()
        assert r.status is Status.OK, r.reason
        ms1 = one(r.samples, "weblogic", server="ms1")
        assert ms1.tags["domain"] == "base_domain"
        others = subprocess.run(["ps", "-e", "-ww", "-o", "pid=,ppid=,etimes=,args="], capture_output=True,
                                text=True, check=True).stdout
        assert ms1.fields["state"] == "RUNNING"
        assert ms1.fields["pid"] == server.proc.pid, [ln for ln in others.splitlines() if "ms1" in ln]  # type: ignore[union-attr]
        assert ms1.fields["restarts"] == 0  # first sight is not a restart
        assert "heap_error" in ms1.fields  # no jstat next to our fake "java": said, not hidden
        ms10 = one(r.samples, "weblogic", server="ms10")
        assert ms10.fields["state"] == "NOT_RUNNING" and "log_error" in ms10.fields
        assert not by(r.samples, "asset")  # no -Dweblogic.home, no middleware_home: no version read

        r = cycles.run()
        assert one(r.samples, "weblogic", server="ms1").fields["restarts"] == 0
        assert not by(r.samples, "event")

        server.stop()
        server.start()
        r = cycles.run()
        ms1 = one(r.samples, "weblogic", server="ms1")
        assert ms1.fields["restarts"] == 1 and ms1.fields["state"] == "RUNNING"
        assert "ms1 restarted" in str(one(r.samples, "event", kind="restart").fields["message"])
        verdicts = {(v.check, v.instance): v.status for v in evaluate(r.samples, "testhost", load_rules())}
        assert verdicts[("weblogic_restarts", "ms1")] is Status.WARN
        assert one(cycles.run().samples, "weblogic", server="ms1").fields["restarts"] == 0  # counted once

        server.stop()
        r = cycles.run()
        assert one(r.samples, "weblogic", server="ms1").fields["state"] == "NOT_RUNNING"
    finally:
        server.stop()


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_weblogic_parsers_never_crash_on_garbage(text: str) -> None:
    ls = log_state(text)
    assert ls.running_events >= 0
    with contextlib.suppress(CollectionError):
        parse_jstat_gc(text)
    with contextlib.suppress(CollectionError):
        parse_file_section(Section(text, 0))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('<>/="distrbuonWebLgcSvr x?')), max_size=200))
def test_registry_parser_never_raises(text: str) -> None:
    version = parse_registry(text)
    assert version is None or version in text


@pytest.mark.peers
def test_weblogic_version_over_ssh(tmp_path: Path, ssh_peer, remote_dir: Path) -> None:  # type: ignore[no-untyped-def]
    domain, mw = remote_dir / "base_domain", remote_dir / "mw"
    logdir = domain / "servers" / "ms1" / "logs"
    logdir.mkdir(parents=True)
    (mw / "inventory").mkdir(parents=True)
    for d in (domain, domain / "servers", domain / "servers" / "ms1", logdir, mw, mw / "inventory"):
        give(d, ssh_peer, 0o755)
    registry = mw / "inventory" / "registry.xml"
    registry.write_text((TESTDATA / "parse_registry" / "registry_12c.xml").read_text())
    give(registry, ssh_peer)
    server = FakeServer("ms1", logdir / "ms1.log", extra=f"-Dweblogic.home={mw}/wlserver/server ")
    wls = {"domain_home": str(domain), "servers": [{"name": "ms1"}]}
    cycles = Cycles(device_for(tmp_path, ssh_peer, ["weblogic"], {"weblogic": wls}), "weblogic")
    try:
        server.start()
        r = cycles.run()
        assert r.status is Status.OK, r.reason
        assert one(r.samples, "asset").fields == {"weblogic_version": "12.2.1.4.0"}  # home from the JVM
        os.chown(registry, 0, 0)
        registry.chmod(0o600)  # not readable by the sshd test user: no version, and no false change
        r = cycles.run()
        assert r.status is Status.OK, r.reason
        assert not by(r.samples, "asset") and one(r.samples, "weblogic", server="ms1").fields["running"] == 1
    finally:
        server.stop()
    # configured: read even with no server running
    registry.chmod(0o644)
    wls["middleware_home"] = str(mw)
    r = Cycles(device_for(tmp_path, ssh_peer, ["weblogic"], {"weblogic": wls}), "weblogic").run()
    assert one(r.samples, "asset").fields == {"weblogic_version": "12.2.1.4.0"}
    assert one(r.samples, "weblogic", server="ms1").fields["running"] == 0
