"""Pure parsers of the `cli` collector: raw switch output in, normalised values out.

Raw outputs are fixtures (tests/fixtures/cli/<platform>/<command>.txt) or FakeNOS's own
canned outputs, whose expected values are read from the text by the test itself."""

from __future__ import annotations

import re

import pytest

from collectors import cli_parse as p
from collectors.cli_commands import PLATFORMS
from tests.fakenos_peer import fixture_text, stock_outputs


def test_huawei_cpu_memory_esn() -> None:
    cpu = p.huawei_cpu(fixture_text("huawei_vrp", "display_cpu-usage.txt"))
    assert cpu == {"usage_percent": 12.0, "usage_5s_percent": 14.0, "usage_1m_percent": 12.0,
                   "usage_5m_percent": 11.0}
    # without the S-series summary line the 'CPU Usage : N%' line is used
    assert p.huawei_cpu("CPU Usage            : 7% Max: 30%\n")["usage_percent"] == 7.0
    mem = p.huawei_memory(fixture_text("huawei_vrp", "display_memory-usage.txt"))
    assert mem == {"total_bytes": 536870912, "used_bytes": 230854656, "used_percent": 43.0}
    assert p.huawei_esn(fixture_text("huawei_vrp", "display_esn.txt")) == {"serial": "2102351931P0C3000154"}
    # FakeNOS's `display sn license` carries the same line shape
    assert p.huawei_esn(stock_outputs("huawei_vrp")["display sn license"])["serial"] == "21500104792SM8504636"


def test_comware_version_cpu_memory() -> None:
    v = p.comware_version(fixture_text("hp_comware", "display_version.txt"))
    assert v["software_rev"] == "7.1.064 Release 0821P11" and v["model"] == "S6520X-30QC-EI"
    assert v["uptime_seconds"] == 3 * 86400 + 2 * 3600 + 41 * 60
    cpu = p.comware_cpu(fixture_text("hp_comware", "display_cpu-usage.txt"))
    assert cpu == {"usage_5s_percent": 21.0, "usage_1m_percent": 19.0, "usage_5m_percent": 9.0,
                   "usage_percent": 19.0}  # the busiest board
    mem = p.comware_memory(fixture_text("hp_comware", "display_memory.txt"))
    assert mem == {"used_percent": 39.7, "total_bytes": 1010764 * 1024, "used_bytes": 456932 * 1024}
    old = "System Total Memory(bytes): 116523008\nTotal Used Memory(bytes): 53491936\nUsed Rate: 45%\n"
    assert p.comware_memory(old) == {"used_percent": 45.0, "total_bytes": 116523008,
                                     "used_bytes": 53491936}


@pytest.mark.parametrize(("platform", "expected"), [
    ("huawei_vrp", {"critical": 1, "error": 1, "warning": 1, "notice": 1, "informational": 1}),
    ("hp_comware", {"critical": 1, "error": 1, "notice": 2}),
])
def test_logbuffer_counts_by_severity(platform: str, expected: dict[str, int]) -> None:
    raw = fixture_text(platform, "display_logbuffer.txt")
    got = p.vrp_logbuffer(raw)
    # every MODULE/level/MNEMONIC line counted once, under its level
    n_lines = sum(1 for ln in raw.splitlines() if re.search(r"[A-Z]+/[0-7]/[A-Z_]+", ln))
    assert got["total"] == n_lines == sum(expected.values())
    assert {k: v for k, v in got.items() if k in p.SEVERITIES and v} == expected
    assert got["errors"] == expected.get("critical", 0) + expected.get("error", 0)
    empty = p.vrp_logbuffer("Logging buffer configuration and contents : enabled\nCurrent messages : 0\n")
    assert empty["total"] == 0


@pytest.mark.parametrize(("fn", "raw"), [
    (p.huawei_cpu, "Slot 1 has no CPU figure\n"),
    (p.huawei_memory, "nothing here"),
    (p.huawei_esn, ""),
    (p.comware_version, "Huawei Versatile Routing Platform Software\n"),
    (p.comware_cpu, "CPU usage: unavailable"),
    (p.comware_memory, "Mem: lots"),
    (p.vrp_logbuffer, "random text without log lines"),
])
def test_unreadable_output_raises_with_reason(fn, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(p.CliParseError, match=r"no |neither"):
        fn(raw)


def _table(raw: str, header: str) -> list[list[str]]:
    """Rows of a fixed-width table after its header line, split on blanks (test's own reading)."""
    lines = raw.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    out = []
    for ln in lines[start + 1:]:
        if not ln.strip():
            break
        out.append(ln.split())
    return out


def test_textfsm_ports_match_fakenos_tables() -> None:
    raw = stock_outputs("huawei_vrp")["display interface brief"]
    got = p.normalise("ports", "huawei_vrp",
                      p.textfsm_rows("huawei_vrp", "display interface brief", raw))["ports"]
    want = _table(raw, "Interface ")
    assert [x["name"] for x in got] == [re.sub(r"\(\w+\)$", "", r[0]) for r in want]
    assert [x["oper"] for x in got] == [r[1] for r in want]
    assert [x["in_errors"] for x in got] == [int(r[5]) for r in want]

    raw = stock_outputs("cisco_ios")["show ip interface brief"]
    got = p.normalise("ports", "cisco_ios",
                      p.textfsm_rows("cisco_ios", "show ip interface brief", raw))["ports"]
    want = _table(raw, "Interface ")
    assert [x["name"] for x in got] == [r[0] for r in want]
    assert [x["admin"] for x in got] == ["down" if r[4] == "administratively" else "up" for r in want]
    assert [x["oper"] for x in got] == [r[4] if r[4] != "administratively" else "down" for r in want]

    raw = stock_outputs("hp_comware")["display interface brief"]
    got = p.normalise("ports", "hp_comware",
                      p.textfsm_rows("hp_comware", "display interface brief", raw))["ports"]
    names = [r[0] for r in _table(raw, "Interface            Link Protocol")]
    names += [r[0] for r in _table(raw, "Interface            Link Speed")]
    assert [x["name"] for x in got] == names


def test_textfsm_version_and_serial_match_fakenos() -> None:
    raw = stock_outputs("huawei_vrp")["display version"]
    v = p.normalise("version", "huawei_vrp", p.textfsm_rows("huawei_vrp", "display version", raw))
    m = re.search(r"^HUAWEI (.+?) uptime is (.+)$", raw, re.M)
    assert m and v["model"] == m.group(1) and v["uptime"] == m.group(2).strip()
    assert v["software_rev"].startswith(re.search(r"Version ([\d.]+)", raw).group(1))  # type: ignore[union-attr]

    raw = stock_outputs("cisco_ios")["show version"]
    v = p.normalise("version", "cisco_ios", p.textfsm_rows("cisco_ios", "show version", raw))
    assert v["serial"] == re.search(r"Processor board ID (\S+)", raw).group(1)  # type: ignore[union-attr]
    assert v["software_rev"] == re.search(r"Version ([^,\s]+)", raw).group(1)  # type: ignore[union-attr]

    raw = stock_outputs("hp_comware")["display device manuinfo"]
    s = p.normalise("serial", "hp_comware", p.textfsm_rows("hp_comware", "display device manuinfo", raw))
    assert s["serial"] == re.search(r"DEVICE_SERIAL_NUMBER\s*:\s*(\S+)", raw).group(1)  # type: ignore[union-attr]


def test_cisco_cpu_memory_logs_from_fakenos() -> None:
    out = stock_outputs("cisco_ios")
    cpu = p.normalise("cpu", "cisco_ios", p.textfsm_rows("cisco_ios", "show processes cpu",
                                                         out["show processes cpu"]))
    m = re.search(r"five seconds: (\d+)%/\d+%; one minute: (\d+)%; five minutes: (\d+)%",
                  out["show processes cpu"])
    assert m and (cpu["usage_5s_percent"], cpu["usage_1m_percent"], cpu["usage_5m_percent"]) == \
        tuple(float(x) for x in m.groups())
    mem = p.normalise("memory", "cisco_ios", p.textfsm_rows(
        "cisco_ios", "show processes memory sorted", out["show processes memory sorted"]))
    m = re.search(r"Total:\s*(\d+)\s+Used:\s*(\d+)", out["show processes memory sorted"])
    assert m and mem["used_percent"] == round(100 * int(m.group(2)) / int(m.group(1)), 2)
    logs = p.normalise("logs", "cisco_ios", p.textfsm_rows("cisco_ios", "show logging", out["show logging"]))
    sev = [int(x) for x in re.findall(r"%[A-Z_]+-(\d)-[A-Z_]+:", out["show logging"])]
    assert logs["total"] == len(sev) and logs["warning"] == sev.count(4) and logs["notice"] == sev.count(5)


def test_template_failure_is_a_reason_not_a_crash() -> None:
    raw = stock_outputs("cisco_ios")["show interfaces status"]  # FakeNOS's is an NX-OS-like mix
    with pytest.raises(p.CliParseError, match="could not parse"):
        p.textfsm_rows("cisco_ios", "show interfaces status", raw)
    with pytest.raises(p.CliParseError, match="matched nothing"):
        p.textfsm_rows("huawei_vrp", "display interface brief", "\n")


@pytest.mark.parametrize("raw", [
    "Unknown command",
    "% Invalid input detected at '^' marker.",
    "              ^\nError: Unrecognized command found at '^' position.",
    "% Incomplete command found at '^' position.",
])
def test_rejected_commands_are_recognised(raw: str) -> None:
    assert p.rejected(raw)
    assert p.rejected(stock_outputs("huawei_vrp")["display version"]) is None


def test_config_redaction_covers_platform_secrets() -> None:
    for platform, secrets in [
        ("huawei_vrp", ["$1a$Oq1Z~Fe7sJ$gQv", "%^%#Wzs2Jk"]),
        ("hp_comware", ["private", "$h$6$Vb1m2N3q"]),
        ("cisco_ios", ["$1$mERr$hx5r", "$9$nhEmQVczB7", "s3cr3tRO"]),
    ]:
        name = {"cisco_ios": "show_running-config.txt"}.get(platform, "display_current-configuration.txt")
        raw = fixture_text(platform, name)
        for s in secrets:
            assert s in raw  # the fixture really carries it
        red = p.redact_config(raw)
        for s in secrets:
            assert s not in red, (platform, s)
        assert p.redact_config(red) == red  # stable: a second pass changes nothing
    # what is not a secret stays readable for the diff
    red = p.redact_config(fixture_text("huawei_vrp", "display_current-configuration.txt"))
    assert "local-user admin password irreversible-cipher ***" in red
    assert "snmp-agent community read cipher ***" in red and "vlan batch 10 20 30" in red
    assert p.redact_config("enable secret 5 $1$abc\n") == "enable secret 5 ***\n"
    assert p.redact_config(" key 7 0822455D0A16") == " key 7 ***"


def test_normalise_config_drops_volatile_lines() -> None:
    a = fixture_text("cisco_ios", "show_running-config.txt")
    b = a.replace("08:12:45 UTC Thu Dec 3 2026", "09:00:00 UTC Thu Dec 3 2026").replace(
        "Current configuration : 1024 bytes", "Current configuration : 1031 bytes")
    assert a != b and p.normalise_config(a) == p.normalise_config(b)
    assert "hostname rtr-01" in p.normalise_config(a)
    assert p.normalise_config(a.replace("\n", "\r\n")) == p.normalise_config(a)


def test_every_platform_command_has_a_parser() -> None:
    for plat in PLATFORMS.values():
        for c in plat.commands:
            assert c.parser in ("textfsm", "config") or c.parser in p.PARSERS, c
        assert {c.check for c in plat.commands} >= {"version", "ports", "cpu", "logs", "config"}


def test_uptime_seconds() -> None:
    assert p.uptime_seconds("1 week, 3 days, 16 hours, 11 minutes") == 7 * 86400 + 3 * 86400 + 16 * 3600 + 660
    assert p.uptime_seconds("358 days, 16 hours, 59 minutes") == 358 * 86400 + 16 * 3600 + 59 * 60
    assert p.uptime_seconds("unknown") is None
