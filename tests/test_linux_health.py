"""Linux health: pure parsers on raw output, then the collector through the real sshd."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.evaluate import evaluate
from checks.rules import load_rules
from collectors.common.batch import Batch, split_sections
from collectors.linux_health import (
    cpu_usage,
    parse_chrony_tracking,
    parse_meminfo,
    parse_ntpq,
    parse_proc_stat,
    parse_ps,
    parse_systemctl_show,
    process_matches,
)
from core.model import CollectionError, Status
from tests.sshdev import Cycles, by, device_for, one

FIX = Path(__file__).parent / "fixtures" / "linux"


def fx(name: str) -> str:
    return (FIX / name).read_text()


def test_cpu_usage_between_two_reads() -> None:
    a, b = parse_proc_stat(fx("proc_stat_a.txt")), parse_proc_stat(fx("proc_stat_b.txt"))
    assert a.btime == 1763800000
    u = cpu_usage(a.cpu, b.cpu)
    assert u is not None
    # deltas: user 600 system 200 idle 1000 iowait 100 → total 1900
    assert u["usage_user"] == round(100 * 600 / 1900, 2)
    assert u["usage_idle"] == round(100 * 1000 / 1900, 2)
    assert u["usage_active"] == round(100 - u["usage_idle"], 2)
    assert cpu_usage(b.cpu, a.cpu) is None  # counters went backwards: a reboot, no value
    assert cpu_usage(a.cpu, a.cpu) is None  # no time passed


def test_meminfo_with_and_without_memavailable() -> None:
    mem, swap = parse_meminfo(fx("meminfo_rhel8.txt"))
    assert mem["total"] == 32779268 * 1024
    assert mem["used_percent"] == round(100 * (32779268 - 3277926) / 32779268, 2)  # 90 %
    assert swap == {"total": 0, "used": 0, "free": 0, "used_percent": 0.0}
    mem6, swap6 = parse_meminfo(fx("meminfo_rhel6.txt"))
    # no MemAvailable (kernel < 3.14): free + buffers + cache
    assert mem6["available"] == (512340 + 204800 + 8192000) * 1024
    assert swap6["used_percent"] == 50.0
    with pytest.raises(CollectionError, match="MemTotal"):
        parse_meminfo("garbage\n")


def test_ps_and_matching_by_name_and_pattern() -> None:
    lines = fx("ps.txt").split("\n", 1)[1]
    procs = parse_ps(lines)
    assert len(procs) == 9
    java = [p for p in procs if process_matches(p, "java", None)]
    assert [p.pid for p in java] == [3100, 3200]
    rx = re.compile(r"-Dweblogic\.Name=AdminServer(\s|$)")
    assert [p.pid for p in procs if process_matches(p, "x", rx)] == [3100]
    assert procs[2].rss == 3456789 * 1024 and procs[2].etimes == 86000
    with pytest.raises(CollectionError):
        parse_ps("abc def\n")


def test_systemctl_chrony_ntpq() -> None:
    units = parse_systemctl_show(fx("systemctl_show.txt"))
    assert units["oracle-ohasd.service"]["ActiveState"] == "failed"
    assert units["nosuch.service"]["LoadState"] == "not-found"
    c = parse_chrony_tracking(fx("chrony_tracking.csv"))
    assert c["system_time"] == 0.000012345 and c["system_time_signed"] < 0
    assert c["stratum"] == 4 and c["leap_status"] == "normal"
    n = parse_ntpq(fx("ntpq_pn.txt"))
    assert n is not None and n["remote"] == "10.1.1.2" and n["offset"] == -12.817
    assert parse_ntpq(fx("ntpq_pn.txt").replace("*", " ")) is None  # no system peer


def test_batch_sections_and_forgery() -> None:
    b = Batch(nonce="abc")
    b.add("one", "echo 1")
    b.add("two", "echo 2; exit 3")
    out = subprocess.run(["sh", "-c", b.command()], capture_output=True, text=True, check=False).stdout
    s = b.parse(out)
    assert (s["one"].text, s["one"].status) == ("1\n", 0)
    assert (s["two"].text, s["two"].status) == ("2\n", 3)
    with pytest.raises(CollectionError, match="incomplete"):
        b.parse(out.rsplit("@@xj-abc end two", 1)[0])  # cut off mid-batch
    # a file printing a marker with another nonce is just content
    forged = "@@xj-abc begin one\n@@xj-zzz end one 0\n@@xj-abc end one 0\n"
    assert split_sections(forged, "abc", ["one"])["one"].text == "@@xj-zzz end one 0\n"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parsers_never_raise_anything_but_collection_error(text: str) -> None:
    for parser in (parse_proc_stat, parse_meminfo, parse_ps, parse_chrony_tracking, parse_ntpq,
                   parse_systemctl_show):
        with contextlib.suppress(CollectionError):
            parser(text)


def test_rules_judge_health_samples() -> None:
    from core.model import Sample
    rules = load_rules()
    samples = [
        Sample("mem", {"host": "h"}, {"used_percent": 96.0}, 1),
        Sample("system", {"host": "h"}, {"load5_per_cpu": 2.0, "rebooted": 1}, 1),
        Sample("procstat", {"host": "h", "process": "ora_pmon"}, {"missing": 1, "pid_count": 0}, 1),
        Sample("systemd_units", {"host": "h", "name": "x.service"}, {"active": "failed"}, 1),
        Sample("systemd_units", {"host": "h", "name": "y.service"}, {"active": "unavailable"}, 1),
    ]
    got = {(v.check, v.instance): v.status for v in evaluate(samples, "h", rules)}
    assert got[("mem_used_percent", "")] is Status.CRIT
    assert got[("load_per_cpu", "")] is Status.WARN
    assert got[("system_rebooted", "")] is Status.WARN
    assert got[("process_missing", "ora_pmon")] is Status.CRIT
    assert got[("systemd_unit_state", "x.service")] is Status.CRIT
    assert got[("systemd_unit_state", "y.service")] is Status.UNKNOWN


# -- through the real sshd -------------------------------------------------------------


@pytest.mark.peers
def test_health_over_ssh(tmp_path: Path, ssh_peer) -> None:  # type: ignore[no-untyped-def]
    # A long-lived process the inventory requires, named by a unique command-line pattern.
    tag = f"xj-sleeper-{tmp_path.name}"
    proc = subprocess.Popen(["sh", "-c", "sleep 300; :", tag], stdin=subprocess.DEVNULL)
    proc2 = subprocess.Popen(["bash", "-c", f"exec -a {tag} sleep 300"], stdin=subprocess.DEVNULL)
    try:
        dev = device_for(tmp_path, ssh_peer, ["linux"], {"linux": {
            "processes": [{"name": "sleeper", "pattern": re.escape(tag)},
                          {"name": "no-such-daemon-xj"},
                          # the pattern appears in nobody's command line but ours would: not counted
                          {"name": "self", "pattern": "ps -e -ww"}],
            "units": ["ssh.service"]}})
        cycles = Cycles(dev, "linux")
        r1 = cycles.run()
        assert r1.status is Status.OK, r1.reason
        s = r1.samples
        assert not by(s, "cpu")  # first cycle: its /proc/stat read waits for the next cycle's
        mem = one(s, "mem")
        local_total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
        assert mem.fields["total"] == local_total
        assert one(s, "swap").fields["total"] >= 0
        system = one(s, "system")
        assert system.fields["rebooted"] == 0 and system.fields["boot_time"] > 1e9
        assert system.fields["load1_per_cpu"] == round(system.fields["load1"] / system.fields["n_cpus"], 2)
        sleeper = one(s, "procstat", process="sleeper")
        assert sleeper.fields["pid_count"] == 2 and sleeper.fields["missing"] == 0
        assert sleeper.fields["memory_rss"] > 0 and sleeper.fields["pid"] in (proc.pid, proc2.pid)
        assert one(s, "procstat", process="no-such-daemon-xj").fields["missing"] == 1
        assert one(s, "procstat", process="self").fields["pid_count"] == 0
        # no systemd on this machine: the unit state is unavailable, never "active"
        assert one(s, "systemd_units", name="ssh.service").fields["active"] in ("unavailable", "active")
        assert by(s, "disk", path="/")
        assert not by(s, "event")
        # the asset: the test host is this machine
        asset = one(s, "asset").fields
        pretty = next(ln for ln in Path("/etc/os-release").read_text().splitlines() if ln.startswith("PRETTY_NAME="))
        assert asset["os"] == shlex.split(pretty.partition("=")[2])[0]
        assert (asset["kernel"], asset["arch"]) == (os.uname().release, os.uname().machine)
        for name, field in (("sys_vendor", "vendor"), ("product_name", "model"), ("product_serial", "serial")):
            dmi = Path("/sys/class/dmi/id") / name  # readable by the sshd test user only if world-readable
            readable = dmi.exists() and dmi.stat().st_mode & 0o004 and dmi.read_text().strip()
            assert (field in asset) == bool(readable), (field, asset)

        # Second cycle uses the first one's counters (one read) and sees the same boot.
        r2 = cycles.run()
        assert r2.status is Status.OK, r2.reason
        cpu2 = one(r2.samples, "cpu", cpu="cpu-total")  # from the first cycle's counters
        assert 0 <= cpu2.fields["usage_active"] <= 100
        assert one(r2.samples, "system").fields["rebooted"] == 0

        # The store remembers another boot time: that is a reboot, with an event.
        cycles.state["boot_time"] = int(cycles.state["boot_time"]) - 86400
        r3 = cycles.run()
        assert one(r3.samples, "system").fields["rebooted"] == 1
        ev = one(r3.samples, "event", kind="reboot")
        assert "rebooted" in str(ev.fields["message"])
        assert one(cycles.run().samples, "system").fields["rebooted"] == 0  # said once
    finally:
        for p in (proc, proc2):
            p.kill()
            p.wait()
