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


def text(rec: dict[str, tuple[str, str]], oid: str) -> str:
    """A recorded value as text (`4x` values are hex-encoded)."""
    tag, v = rec[oid]
    return bytes.fromhex(v).decode("utf-8", "replace") if tag.endswith("x") else v


def column(rec: dict[str, tuple[str, str]], col: str) -> dict[int, str]:
    """One table column of a recording: {index: text} (single-arc indices)."""
    return {int(o[len(col) + 1:]): text(rec, o) for o in rec
            if o.startswith(col + ".") and o[len(col) + 1:].isdigit()}


def chassis(rec: dict[str, tuple[str, str]]) -> int:
    """The first ENTITY-MIB row of class chassis (3): the asset record's row."""
    classes = column(rec, "1.3.6.1.2.1.47.1.1.1.1.5")
    return min(i for i, c in classes.items() if c == "3")


class SnmpsimPeer(_Peer):
    name = "snmpsim"
    # it indexes ~80k OIDs before it answers: ~10 s alone, more on a busy 2-core machine
    start_timeout = 120.0
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


def broken(name: str, column: str, keep: tuple[str, ...]) -> str:
    """Recording `name` whose first row of `column` answers genError (snmpsim's `error`
    variation): a real agent failing in the middle of a walk. Only the subtrees in `keep`
    are kept, so snmpsim indexes it quickly."""
    out: list[str] = []
    failed = False
    with bz2.open(FIXTURES / f"{name}.snmprec.bz2", "rt", encoding="utf-8",
                  errors="replace") as f:
        for line in f:
            oid = line.split("|", 1)[0]
            if not oid.startswith(keep):
                continue
            if oid.startswith(column + ".") and not failed:
                line = f"{oid}|4:error|op=any,status=genError\n"
                failed = True
            out.append(line)
    if not failed:
        raise ValueError(f"{name} has no {column}")
    return "".join(out)


def subset(name: str, keep: tuple[str, ...]) -> str:
    """Recording `name` with only the subtrees in `keep`: an agent that lacks the rest."""
    with bz2.open(FIXTURES / f"{name}.snmprec.bz2", "rt", encoding="utf-8",
                  errors="replace") as f:
        return "".join(line for line in f if line.split("|", 1)[0].startswith(keep))


ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11"
HR_USED = "1.3.6.1.2.1.25.2.3.1.6"
_IF, _IFX = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"


def rules_switch() -> str:
    """A synthetic switch for the network rules, live through snmpsim's variations:
    sysUpTime and counters grow with time (`numeric`, rate per second), and GE1/0/1's
    ifOperStatus can be SET (`writecache`) — a port going down on a running agent.

    GE1/0/1 up (settable) · GE1/0/2 200 input errors/s, 4 output errors/s · GE1/0/3 500
    input and output discards/s · GE1/0/4 a 100 Mbit/s port counting 150 Mbit/s in ·
    GE1/0/5 admin-down · GE1/0/6 and GE1/0/7 admin-up, oper-down, never up · GE1/0/8 up.
    The rates sit far from the rules' thresholds on purpose (a loaded test machine may
    delay one cycle's answers more than another's); tests/test_snmp_rates.py holds the
    collector to them within 3 %."""
    lines = ["1.3.6.1.2.1.1.1.0|4|xunjian rules test switch",
             "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
             "1.3.6.1.2.1.1.3.0|67:numeric|rate=100",
             "1.3.6.1.2.1.1.5.0|4|rules-switch"]
    oper = {1: "2:writecache|value=1", 5: "2|2", 6: "2|2", 7: "2|2"}
    admin = {5: "2|2"}
    live = {(14, 2): "65:numeric|rate=200", (20, 2): "65:numeric|rate=4",
            (13, 3): "65:numeric|rate=500", (19, 3): "65:numeric|rate=500"}
    ports = range(1, 9)
    # snmprec lines must be in OID order: column by column, rows ascending
    for col in (2, 7, 8, 9, 13, 14, 19, 20):
        for i in ports:
            value = {2: f"4|GE1/0/{i}", 7: admin.get(i, "2|1"), 8: oper.get(i, "2|1"),
                     9: "67|0"}.get(col) or live.get((col, i), "65|0")
            lines.append(f"{_IF}.{col}.{i}|{value}")
    for col in (1, 6, 10, 15):
        for i in ports:
            value = {1: f"4|GE1/0/{i}", 15: "66|100"}.get(col) or (
                "70:numeric|rate=18750000" if (col, i) == (6, 4) else "70|0")
            lines.append(f"{_IFX}.{col}.{i}|{value}")
    return "\n".join(lines) + "\n"


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(a) for a in oid.split("."))


def derive(name: str, keep: tuple[str, ...], set_: dict[str, str] | None = None,
           drop: tuple[str, ...] = ()) -> str:
    """Recording `name` cut to the subtrees in `keep`, without those in `drop`, with the
    values in `set_` ({oid: "tag|value"}, new OIDs added) — a real device changed where no
    public recording shows the case; lines back in OID order, as snmpsim wants them."""
    rec = {o: f"{t}|{v}" for o, (t, v) in recording(name).items()
           if o.startswith(keep) and not (drop and o.startswith(drop))}
    rec.update(set_ or {})
    return "".join(f"{o}|{rec[o]}\n" for o in sorted(rec, key=_arcs))


ENT = "1.3.6.1.2.1.47.1.1.1.1"
H3C_EXT = "1.3.6.1.4.1.25506.2.6.1.1.1.1"
HW_EXT = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1"
SENTINEL = 65535


def h3c_sentinels() -> str:
    """The H3C E528 as an agent that reports 65535 °C (and 65535 % CPU / memory) for every
    entity without that sensor — the case seen in the field; the boards with a sensor keep
    their recorded values."""
    rec = recording("h3c-e528-2")
    temps = column(rec, f"{H3C_EXT}.12")
    change = {f"{H3C_EXT}.12.{i}": f"2|{SENTINEL}" for i, v in temps.items() if v == "0"}
    change |= {f"{H3C_EXT}.{c}.{i}": f"2|{SENTINEL}" for c in (6, 8)
               for i, v in column(rec, f"{H3C_EXT}.{c}").items() if v == "0" and i > 60}
    return derive("h3c-e528-2", ("1.3.6.1.2.1.1.", ENT, H3C_EXT), change)


def huawei_sentinels() -> str:
    """The Huawei S5720 with 65535 / 2147483647 where an entity has no sensor."""
    rec = recording("huawei-s5720")
    change = {f"{HW_EXT}.11.{i}": f"2|{SENTINEL}"
              for i, v in column(rec, f"{HW_EXT}.11").items() if v == "0"}
    change |= {f"{HW_EXT}.5.{i}": "2|2147483647"
               for i, v in column(rec, f"{HW_EXT}.5").items() if v == "0"}
    return derive("huawei-s5720", ("1.3.6.1.2.1.1.", ENT, HW_EXT), change)


def cisco_sentinels() -> str:
    """The Cisco C3560 whose temperature sensor value reads 65535 (its state stays), a CPU
    row on the chassis entity (1001) at 7 %, and one whose load reads 2147483647. (The
    recorded CPU row names no entity: cpmCPUTotalPhysicalIndex 0.)"""
    envmon, cpm = "1.3.6.1.4.1.9.9.13.1.3.1", "1.3.6.1.4.1.9.9.109.1.1.1.1"
    rec = recording("cisco-c3560")
    change = {f"{envmon}.3.{i}": f"66|{SENTINEL}" for i in column(rec, f"{envmon}.3")}
    change |= {f"{cpm}.2.98": "2|1001", f"{cpm}.8.98": "66|7",
               f"{cpm}.2.99": "2|0", f"{cpm}.8.99": "66|2147483647"}
    return derive("cisco-c3560", ("1.3.6.1.2.1.1.", ENT, envmon, cpm), change)


def no_high_speed() -> str:
    """An agent with 64-bit counters but no ifHighSpeed (some ZTE and older agents): the
    Cisco C3560 without ifXTable column 15; its first port reports ifSpeed 0 (unknown)."""
    first = min(column(recording("cisco-c3560"), f"{_IF}.5"))
    return derive("cisco-c3560", ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.31."),
                  {f"{_IF}.5.{first}": "66|0"}, drop=(f"{_IFX}.15.",))


def no_ifname_duplicates() -> str:
    """An old encoder without ifXTable whose ifDescr repeats (three ports "eth") and one
    port with an empty ifDescr: the camera's ifTable, changed."""
    return derive("samsung-ipolis", ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2."),
                  {f"{_IF}.2.2": "4|eth", f"{_IF}.2.4": "4|eth", f"{_IF}.2.5": "4|eth",
                   f"{_IF}.2.6": "4|", f"{_IF}.8.4": "2|7"})


def irf_stack() -> str:
    """The H3C E528 as a two-member IRF system: a second chassis row with its own serial,
    and an empty container before them (never the asset's row)."""
    two = {f"{ENT}.2.3": "4|H3C Switch E528", f"{ENT}.5.3": "2|3", f"{ENT}.7.3": "4|H3C Switch E528 2",
           f"{ENT}.11.3": "4|210235A0GKC158000931", f"{ENT}.13.3": "4|H3C Switch E528",
           f"{ENT}.10.3": "4|5.20 Release 1513P62",
           f"{ENT}.2.1": "4|", f"{ENT}.5.1": "2|5", f"{ENT}.7.1": "4|container", f"{ENT}.11.1": "4|"}
    return derive("h3c-e528-2", ("1.3.6.1.2.1.1.", ENT), two)


def ports_order() -> str:
    """A switch whose ports are named Port1 … Port12 with ifIndex in another order; Port3
    lowerLayerDown, Port7 admin-down, aliases on some."""
    lines = ["1.3.6.1.2.1.1.1.0|4|xunjian ports test switch",
             "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
             "1.3.6.1.2.1.1.3.0|67|12345", "1.3.6.1.2.1.1.5.0|4|ports-switch"]
    index = {n: (n * 7) % 13 for n in range(1, 13)}  # Port n at ifIndex 7n mod 13
    by_index = {i: n for n, i in index.items()}
    for col in (2, 3, 7, 8, 9, 14, 20):
        for i in sorted(by_index):
            n = by_index[i]
            v = {2: f"4|Port{n}", 3: "2|6", 7: "2|2" if n == 7 else "2|1",
                 8: "2|7" if n == 3 else "2|2" if n == 7 else "2|1", 9: "67|0",
                 14: f"65|{n}", 20: "65|0"}[col]
            lines.append(f"{_IF}.{col}.{i}|{v}")
    for col in (1, 6, 10, 15, 18):
        for i in sorted(by_index):
            n = by_index[i]
            v = {1: f"4|Port{n}", 6: "70|0", 10: "70|0", 15: "66|10000" if n > 10 else "66|1000",
                 18: f"4|uplink {n}" if n % 4 == 0 else "4|"}[col]
            lines.append(f"{_IFX}.{col}.{i}|{v}")
    return "\n".join(lines) + "\n"


def extra_recordings() -> dict[str, str]:
    """The extra recordings the suite's snmpsim serves beside the fixtures."""
    system, if_mib = "1.3.6.1.2.1.1.", ("1.3.6.1.2.1.2.", "1.3.6.1.2.1.31.")
    return {
        "h3c-broken-entity": broken("h3c-e528-2", ENT_SERIAL, (system, *if_mib, "1.3.6.1.2.1.47.")),
        "camera-broken-hr": broken("samsung-ipolis", HR_USED, (system, *if_mib, "1.3.6.1.2.1.25.")),
        "rules-switch": rules_switch(),
        # an old encoder: system group and ifTable only — no ifXTable, so no HC counters
        "camera-no-ifx": subset("samsung-ipolis", (system, if_mib[0])),
        # tests/test_snmp_fidelity.py: real recordings changed where none shows the case
        "h3c-sentinels": h3c_sentinels(),
        "huawei-sentinels": huawei_sentinels(),
        "cisco-sentinels": cisco_sentinels(),
        "no-high-speed": no_high_speed(),
        "no-ifname-dupes": no_ifname_duplicates(),
        "h3c-irf": irf_stack(),
        "ports-order": ports_order(),
    }

