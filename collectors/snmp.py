"""SNMP collector (pysnmp 7 asyncio; v1/v2c and v3): IF-MIB ports, system group, ENTITY-MIB.

Samples:
- `interface` per port (tags host, ifIndex, ifName, ifDescr, ifAlias): admin/oper status
  (text + code), `oper_state` for rules, ifHighSpeed (or ifSpeed), HC octets (or the
  32-bit ones where the agent serves no HC counters: `octets_bits`), errors, discards and,
  from the second cycle on, `in_bps`/`out_bps`, error/discard rates, `utilisation_percent`
  — each counter over its own column's interval (sysUpTime corrected by read timing).
- `snmp` (system): sysDescr, sysObjectID, sysName, uptime_seconds, rebooted 1/0, ports_*.
- `asset`: ENTITY-MIB chassis model, serial, hardware/firmware/software revisions; no
  `asset` sample at all in a cycle whose ENTITY-MIB walk failed (never one with fields
  missing). A failed ENTITY-MIB, HOST-RESOURCES-MIB or profile walk sets `partial` = 1
  on the `snmp` sample, with the reason in the evidence.
- `hr_storage` / `hr_processor`: HOST-RESOURCES-MIB storage use and CPU load (when served).
- the device profile's measurements (collectors/snmp_profiles.py, collectors/profiles/).

The device's inventory `port` is the SSH port; the SNMP port is `settings.snmp.port` (161).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from agent.connections.reasons import network_reason
from collectors import snmp_engine
from collectors.snmp_parse import (
    ADMIN_STATUS,
    COUNTER_FIELD,
    COUNTERS,
    COUNTERS_32,
    ENTITY_COLUMNS,
    FALLBACK_COLUMNS,
    HR_PROCESSOR_LOAD,
    HR_STORAGE,
    IF_COLUMNS,
    OPER_STATUS,
    SYSTEM,
    chassis_asset,
    components,
    flap_times,
    hr_storage,
    interval,
    matches,
    oper_state,
    port_class,
    port_names,
    port_rates,
    port_speed,
    rebooted,
    rows,
)
from collectors.snmp_profiles import (
    Profile,
    group_rows,
    identity,
    load_profiles,
    oids_to_read,
    select,
)
from collectors.snmp_walk import bulk_walk
from core.model import CollectionError, Sample, Target
from core.problems import ConfigError

AUTH = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PRIV = Literal["DES", "3DES", "AES", "AES192", "AES256", "AES192C", "AES256C"]


class SnmpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal["1", "2c", "3"] = "2c"
    port: int = Field(default=161, ge=1, le=65535)
    community: SecretStr | None = None
    user: str | None = None
    auth_protocol: AUTH | None = None
    auth_key: SecretStr | None = None
    priv_protocol: PRIV | None = None
    priv_key: SecretStr | None = None
    context: str = ""
    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)
    watch_ports: list[str] = Field(default_factory=list)
    ignore_ports: list[str] = Field(default_factory=list)
    entity: bool = True  # walk ENTITY-MIB for the asset record
    host_resources: bool = True  # walk HOST-RESOURCES-MIB storage and processor load
    profile: str | None = None  # a device profile by name; else chosen by sysObjectID
    profiles_dir: str | None = None  # user profiles (*.yaml), beside the shipped ones
    flap_window: int = Field(default=3600, ge=60, le=7 * 86400)  # seconds, for `flaps`
    _profiles: dict[str, Profile] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        return str(v).lower() if isinstance(v, int | str) else v

    @model_validator(mode="after")
    def _auth(self) -> SnmpSettings:
        if self.version in ("1", "2c"):
            if self.community is None:
                raise ValueError(f"community is required for SNMP v{self.version}")
        else:
            if not self.user:
                raise ValueError("user is required for SNMP v3")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("auth_protocol and auth_key go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("priv_protocol and priv_key go together")
            if self.priv_protocol and not self.auth_protocol:
                raise ValueError("privacy (priv_protocol) needs authentication (auth_protocol)")
        return self

    @model_validator(mode="after")
    def _load_profiles(self) -> SnmpSettings:
        try:
            self._profiles = load_profiles(self.profiles_dir)
        except ConfigError as e:
            raise ValueError("profile error: " + "; ".join(str(p) for p in e.problems)) from None
        if self.profile and self.profile not in self._profiles:
            raise ValueError(f"profile {self.profile!r} unknown (known: "
                             f"{', '.join(sorted(self._profiles))})")
        return self

    @property
    def security(self) -> str:
        if self.version != "3":
            return f"v{self.version}"
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"


def _auth_data(s: SnmpSettings) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import CommunityData, UsmUserData
    from pysnmp.hlapi.v3arch.asyncio import auth as a

    if s.version != "3":
        assert s.community is not None
        return CommunityData(s.community.get_secret_value(), mpModel=0 if s.version == "1" else 1)
    auths = {"MD5": a.USM_AUTH_HMAC96_MD5, "SHA": a.USM_AUTH_HMAC96_SHA,
             "SHA224": a.USM_AUTH_HMAC128_SHA224, "SHA256": a.USM_AUTH_HMAC192_SHA256,
             "SHA384": a.USM_AUTH_HMAC256_SHA384, "SHA512": a.USM_AUTH_HMAC384_SHA512}
    # net-snmp's AES192/AES256 are the Blumenthal key extension; the C variants are Reeder's
    privs = {"DES": a.USM_PRIV_CBC56_DES, "3DES": a.USM_PRIV_CBC168_3DES,
             "AES": a.USM_PRIV_CFB128_AES, "AES192": a.USM_PRIV_CFB192_AES_BLUMENTHAL,
             "AES256": a.USM_PRIV_CFB256_AES_BLUMENTHAL, "AES192C": a.USM_PRIV_CFB192_AES,
             "AES256C": a.USM_PRIV_CFB256_AES}
    return UsmUserData(
        s.user,
        authKey=s.auth_key.get_secret_value() if s.auth_key else None,
        privKey=s.priv_key.get_secret_value() if s.priv_key else None,
        authProtocol=auths[s.auth_protocol] if s.auth_protocol else a.USM_AUTH_NONE,
        privProtocol=privs[s.priv_protocol] if s.priv_protocol else a.USM_PRIV_NONE)


def _value(v: Any) -> Any:
    """A pysnmp value as plain Python: int, str (text or dotted OID), or None (no such…)."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1905

    if isinstance(v, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(v, univ.ObjectIdentifier):
        return str(v)
    if isinstance(v, univ.Integer):
        return int(v)
    if isinstance(v, univ.OctetString):
        return bytes(v).decode("utf-8", errors="replace").rstrip("\x00")
    return str(v)


class _Failed(Exception):
    pass


def _problem(err_ind: Any, err_status: Any, err_index: Any, what: str) -> str | None:
    if err_ind:
        text = str(err_ind)
        if "timeout" in text.lower():
            return (f"{what}: timed out ({text}; wrong community, user or address, "
                    "or the agent is down)")
        low = text.lower()
        if any(w in low for w in ("digest", "decrypt", "unknown user", "unknownusername",
                                  "authentication", "security level")):
            return f"{what}: SNMPv3 authentication failed ({text}; check user, keys, protocols)"
        return f"{what}: {text}"
    if err_status:
        return f"{what}: agent returned {err_status.prettyPrint()} at index {int(err_index)}"
    return None


def read_offsets(read_at: dict[str, float]) -> dict[str, float]:
    """Seconds from the sysUpTime read to each counter column's read, this cycle."""
    if "system" not in read_at:
        return {}
    return {col: round(read_at[oid] - read_at["system"], 4)
            for col, oid in (IF_COLUMNS | FALLBACK_COLUMNS).items()
            if col in COUNTER_FIELD and oid in read_at}


class SnmpSession:
    """The requests of one cycle on one device, as coroutines for the shared engine."""

    def __init__(self, target: Target, s: SnmpSettings) -> None:
        self.address = target.address
        self.s = s
        self.auth = _auth_data(s)
        # when the agent answered ("system": the sysUpTime GET; a column OID: its walk), in
        # event-loop time: counters are read later than sysUpTime, by a varying amount
        self.read_at: dict[str, float] = {}

    async def _transport(self) -> Any:
        from pysnmp.error import PySnmpError
        from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

        try:
            return await UdpTransportTarget.create((self.address, self.s.port),
                                                   timeout=self.s.timeout, retries=self.s.retries)
        except PySnmpError as e:  # pysnmp's wrapper of the resolver's error: a reason, not a bug
            raise _Failed(network_reason(e, self.address, self.s.port, self.s.timeout)
                          or f"SNMP address {self.address}:{self.s.port} unusable") from None

    def _ctx(self) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import ContextData

        return ContextData(contextName=self.s.context)

    async def get(self, engine: Any, sem: asyncio.Semaphore, oids: list[str]) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd

        tr = await self._transport()
        async with sem:
            ei, es, ex, vbs = await get_cmd(engine, self.auth, tr, self._ctx(),
                                            *[ObjectType(ObjectIdentity(o)) for o in oids],
                                            lookupMib=False)
            # the answer's arrival, not the request's start: a first request's set-up in
            # pysnmp (hundreds of ms) comes before anything is sent
            self.read_at["system"] = asyncio.get_running_loop().time()
        problem = _problem(ei, es, ex, "GET system group")
        if problem:
            raise _Failed(problem)
        return {str(vb[0]): _value(vb[1]) for vb in vbs}

    async def get_soft(self, engine: Any, sem: asyncio.Semaphore,
                       oids: list[str]) -> tuple[dict[str, Any], str | None]:
        """GET that reports a problem instead of raising (profile scalars may be absent)."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd

        if not oids:
            return {}, None
        tr = await self._transport()
        async with sem:
            ei, es, ex, vbs = await get_cmd(engine, self.auth, tr, self._ctx(),
                                            *[ObjectType(ObjectIdentity(o)) for o in oids],
                                            lookupMib=False)
        problem = _problem(ei, es, ex, "GET profile scalars")
        if problem:
            return {}, problem
        return {str(vb[0]): _value(vb[1]) for vb in vbs}, None

    async def walk(self, engine: Any, sem: asyncio.Semaphore, column: str,
                   multi: bool = False) -> tuple[dict[Any, Any], str | None]:
        """One table column by GETBULK: ({index: value}, problem or None). The index is the
        int of a one-arc index; with `multi`, every row's whole index, dotted ("1.10.0.0.1"),
        for tables indexed by several parts (an IP or MAC address…)."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_walk_cmd

        if self.s.version == "2c":  # the lean path: ~10x less CPU than pysnmp's walk
            assert self.s.community is not None
            r = await bulk_walk(self.address, self.s.port, self.s.community.get_secret_value().encode(),
                                column, max_repetitions=self.s.max_repetitions,
                                timeout=self.s.timeout, retries=self.s.retries, sem=sem)
            if r.read_at is not None:
                self.read_at[column] = r.read_at
            if multi:
                return {".".join(map(str, arcs)): v for arcs, v in r.rows if arcs}, r.problem
            return {arcs[0]: v for arcs, v in r.rows if len(arcs) == 1}, r.problem
        tr = await self._transport()
        out: dict[Any, Any] = {}
        prefix = column + "."
        loop = asyncio.get_running_loop()
        answered, weight = 0.0, 0
        async with sem:
            async for ei, es, ex, vbs in bulk_walk_cmd(
                    engine, self.auth, tr, self._ctx(), 0, self.s.max_repetitions,
                    ObjectType(ObjectIdentity(column)), lexicographicMode=False,
                    lookupMib=False):
                problem = _problem(ei, es, ex, f"walk {column}")
                if problem:
                    return out, problem
                for vb in vbs:
                    oid = str(vb[0])
                    val = _value(vb[1])
                    if not oid.startswith(prefix) or val is None:
                        continue
                    sub = oid[len(prefix):]
                    if multi or sub.isdigit():
                        out[sub if multi else int(sub)] = val
                        answered, weight = answered + loop.time(), weight + 1
        if weight:
            self.read_at[column] = answered / weight
        return out, None


class SnmpCollector:
    settings_model = SnmpSettings
    name = "snmp"

    def collect(self, target: Target, conn: Any) -> list[Sample]:
        s = target.settings
        if not isinstance(s, SnmpSettings):
            raise CollectionError("no settings.snmp for this device (version, community or v3 "
                                  "user): see the README, section SNMP")
        session = SnmpSession(target, s)
        # every request may take (retries+1)×timeout; walks of a column take several
        budget = (s.retries + 1) * s.timeout * 12 + 10

        async def cycle(engine: Any, sem: asyncio.Semaphore) -> Any:
            system = await session.get(engine, sem, list(SYSTEM.values()))
            profile = select(s._profiles, str(system.get(SYSTEM["sysObjectID"]) or ""),
                             s.profile)
            cols = list(IF_COLUMNS.items())
            ent = list(ENTITY_COLUMNS.items()) if s.entity else []
            extra = [(f"hr:{k}", o) for k, o in HR_STORAGE.items()] if s.host_resources else []
            if s.host_resources:
                extra.append(("hr:load", HR_PROCESSOR_LOAD))
            p_scalars, p_cols = oids_to_read(profile) if profile else ([], [])
            extra += [(f"p:{o}", o) for o in p_cols]
            id_oids = list(profile.identity.oids.values()) if profile and profile.identity \
                else []
            walked, got, ident = await asyncio.gather(
                asyncio.gather(*[session.walk(engine, sem, oid, multi=name.startswith("p:"))
                                 for name, oid in cols + ent + extra]),
                session.get_soft(engine, sem, p_scalars),
                session.get_soft(engine, sem, id_oids))
            walked = list(walked)
            # a column the agent does not serve: empty, and the walk ended without a problem
            absent = {name: not values and not problem
                      for (name, _), (values, problem) in zip(cols, walked, strict=False)}
            more: list[tuple[str, str]] = []
            if not absent["ifOperStatus"] and absent["ifHCInOctets"] and absent["ifHCOutOctets"]:
                more = [(k, o) for k, o in FALLBACK_COLUMNS.items() if k != "ifSpeed"]
            speeds = walked[[n for n, _ in cols].index("ifHighSpeed")][0]
            if set(walked[[n for n, _ in cols].index("ifOperStatus")][0]) - set(speeds):
                # ports without ifHighSpeed (no ifXTable, or an agent with 64-bit counters
                # but no ifHighSpeed): ifSpeed tells theirs. An ifHighSpeed of 0 is an
                # answer (mostly a port that is down): no extra walk for it
                more.append(("ifSpeed", FALLBACK_COLUMNS["ifSpeed"]))
            if more:
                found = await asyncio.gather(*[session.walk(engine, sem, o) for _, o in more])
                walked[len(cols):len(cols)] = found
                cols = cols + more
            return system, cols, ent, extra, walked, profile, got, ident

        try:
            system, cols, ent, extra, walked, profile, got, ident = snmp_engine.run(cycle, budget)
        except _Failed as e:
            raise CollectionError(str(e)) from None
        except TimeoutError:
            raise CollectionError(f"SNMP cycle timed out after {budget:.0f} s") from None
        now = time.time()
        now_ns = int(now * 1e9)
        n = len(cols) + len(ent)
        by_name = {name: vals for (name, _), vals in zip(extra, walked[n:], strict=True)}
        hr_samples, hr_problems = self._host_resources(target, by_name, now_ns)
        samples = self._samples(target, s, system, cols, ent, walked[:n], now, now_ns,
                                hr_problems, read_offsets(session.read_at))
        self._identity(target, profile, system, ident, samples)
        samples += hr_samples
        if profile is not None:
            extra_samples, problems = self._profile(target, profile, by_name, got, now, now_ns)
            for smp in samples:
                if smp.measurement == "snmp":
                    smp.fields["profile"] = profile.name
                    smp.fields["profile_partial"] = int(bool(problems))
                    if problems:
                        smp.fields["partial"] = 1
            samples += extra_samples
        return samples

    def _host_resources(self, target: Target,
                        walked: dict[str, tuple[dict[int, Any], str | None]],
                        now_ns: int) -> tuple[list[Sample], list[str]]:
        """hr_storage / hr_processor samples and the walk problems (they make the cycle
        partial). Agents without HOST-RESOURCES (most switches) answer nothing: no samples."""
        host = target.name
        problems = [p for k, (_v, p) in walked.items() if k.startswith("hr:") and p]
        if problems:
            # a half-read row would be judged on wrong numbers: storage only when all
            # its columns came back
            target.evidence.append("HOST-RESOURCES-MIB: partial: " + "; ".join(problems))
        storage_failed = any(p for k, (_v, p) in walked.items()
                             if k.startswith("hr:") and k != "hr:load")
        table = {} if storage_failed else rows(
            {k[3:]: v[0] for k, v in walked.items() if k.startswith("hr:") and k != "hr:load"})
        out = [Sample("hr_storage", {"host": host, **tags}, fields, now_ns)
               for tags, fields in hr_storage(table)]
        for idx, load in (walked.get("hr:load") or ({}, None))[0].items():
            if isinstance(load, int):
                out.append(Sample("hr_processor", {"host": host, "hrDeviceIndex": str(idx)},
                                  {"load_percent": load}, now_ns))
        return out, problems

    def _identity(self, target: Target, profile: Profile | None, system: dict[str, Any],
                  got: tuple[dict[str, Any], str | None], samples: list[Sample]) -> None:
        """The profile's identity (model, version… from sysDescr, sysName, UPS-MIB) fills
        what ENTITY-MIB left empty in the `asset` sample."""
        if profile is None or profile.identity is None:
            return
        asset = next((smp for smp in samples if smp.measurement == "asset"), None)
        if asset is None:
            settings = target.settings
            if not isinstance(settings, SnmpSettings) or settings.entity:
                return  # the ENTITY-MIB walk failed: no asset this cycle (see _samples)
            # ENTITY-MIB not walked (`entity: false`): the identity alone is the record
            system_f = next(smp for smp in samples if smp.measurement == "snmp").fields
            asset = Sample("asset", {"host": target.name}, {
                "sysObjectID": system_f["sysObjectID"], "sysDescr": system_f["sysDescr"],
                "sysName": system_f["sysName"], "entity_mib": 0}, samples[-1].time)
            samples.append(asset)
        values, problem = got
        if problem:
            target.evidence.append(f"profile {profile.name} identity: {problem}")
        found = identity(profile, str(system.get(SYSTEM["sysDescr"]) or ""),
                         str(system.get(SYSTEM["sysName"]) or ""), values)
        for k, v in found.items():
            if not asset.fields.get(k):
                asset.fields[k] = v

    def _profile(self, target: Target, profile: Profile,
                 walked: dict[str, tuple[dict[Any, Any], str | None]],
                 got: tuple[dict[str, Any], str | None], now: float,
                 now_ns: int) -> tuple[list[Sample], list[str]]:
        """The profile's measurements; missing OIDs are named in the evidence and make
        the `snmp` sample partial (never a silent OK)."""
        scalars, problem = got
        columns = {k[2:]: v[0] for k, v in walked.items() if k.startswith("p:")}
        problems = [problem] if problem else []
        problems += [p for k, (_v, p) in walked.items() if k.startswith("p:") and p]
        prev = target.state.get("profile_prev") or {}
        dt = now - float(prev["time"]) if prev.get("time") else None
        state: dict[str, Any] = {}
        out: list[Sample] = []
        dropped = 0
        for i, g in enumerate(profile.metrics):
            missing = [n for n, f in g.fields.items()
                       if (not columns.get(f.oid) if g.table else scalars.get(f.oid) is None)]
            if missing:
                problems.append(f"{g.measurement}: no value for {', '.join(missing)} "
                                "(noSuchObject / empty column)")
            rows_, st, n = group_rows(g, scalars, columns, prev.get(str(i), {}), dt,
                                      profile.sentinels)
            dropped += n
            state[str(i)] = st
            out += [Sample(g.measurement, {"host": target.name, **tags}, fields, now_ns)
                    for tags, fields in rows_]
        target.evidence.append(f"profile {profile.name}: {len(out)} samples"
                               + (f"; {dropped} \"no value\" sentinels left out" if dropped else "")
                               + (f"; partial: {'; '.join(problems)}" if problems else ""))
        target.state["profile_prev"] = {"time": now, **state}
        return out, problems

    def _samples(self, target: Target, s: SnmpSettings, system: dict[str, Any],
                 cols: list[tuple[str, str]], ent: list[tuple[str, str]],
                 walked: list[tuple[dict[int, Any], str | None]], now: float,
                 now_ns: int, other_problems: list[str],
                 offsets: dict[str, float]) -> list[Sample]:
        host = target.name
        sysv = {name: system.get(oid) for name, oid in SYSTEM.items()}
        ticks = sysv["sysUpTime"]
        if ticks is None:
            raise CollectionError("the agent has no sysUpTime.0 (noSuchObject): not an SNMP "
                                  "agent we can judge")
        target.evidence.append(f"sysDescr.0 = {sysv['sysDescr']!r}; sysUpTime.0 = {ticks}")
        prev = dict(target.state or {})
        restarted = rebooted(prev.get("uptime_ticks"), int(ticks))
        dt = interval(prev, int(ticks), now)
        # each counter column's read moved by this much relative to sysUpTime's since last time
        prev_off = prev.get("read_offsets") or {} if not restarted else {}
        skew = {COUNTER_FIELD[c]: off - prev_off[c] for c, off in offsets.items() if c in prev_off}

        if_cols: dict[str, dict[int, Any]] = {}
        problems: list[str] = []
        for (name, _oid), (values, problem) in zip(cols, walked[:len(cols)], strict=True):
            if_cols[name] = values
            if problem:
                problems.append(problem)
        if problems and not any(if_cols.values()):
            raise CollectionError(problems[0])
        if not if_cols.get("ifOperStatus") and not problems:
            # a UPS or sensor box may have no IF-MIB at all: no ports, said in the evidence
            target.evidence.append("IF-MIB: the agent has no ifTable (noSuchObject): no ports")
        partial = bool(problems)
        # 64-bit octets when the agent serves them, else the 32-bit fallback (v1, no ifXTable)
        octets_bits = 32 if if_cols.get("ifInOctets") or if_cols.get("ifOutOctets") else 64
        table = COUNTERS_32 if octets_bits == 32 else COUNTERS
        ent_cols: dict[str, dict[int, Any]] = {}
        ent_problems: list[str] = []
        for (name, _oid), (values, problem) in zip(ent, walked[len(cols):], strict=True):
            ent_cols[name] = values
            if problem:
                ent_problems.append(problem)

        prev_ports: dict[str, Any] = prev.get("ports", {}) if not restarted else {}
        new_ports: dict[str, Any] = {}
        samples: list[Sample] = []
        counts = {"up": 0, "down": 0, "admin_down": 0, "alerting": 0}
        kinds: dict[str, int] = {}
        unknown_speed: list[str] = []
        table_rows = rows(if_cols)
        port_name = port_names(table_rows)
        for idx, row in table_rows.items():
            names = [str(row.get(k) or "") for k in ("ifName", "ifDescr", "ifAlias")]
            if matches(s.ignore_ports, idx, names):
                continue
            watched = matches(s.watch_ports, idx, names)
            admin, oper = row.get("ifAdminStatus"), row.get("ifOperStatus")
            p = prev_ports.get(str(idx)) or {}
            flaps = flap_times(list(p.get("flaps", [])), p.get("oper"), oper,
                               p.get("last_change"), row.get("ifLastChange"), now,
                               s.flap_window)
            seen_up = bool(p.get("seen_up")) or oper == 1
            state = oper_state(admin, oper, bool(p.get("seen_up")), watched)
            # `port`: the rules' instance, unique and stable even without ifName
            tags = {"host": host, "ifIndex": str(idx), "port": port_name[idx]}
            for k in ("ifName", "ifDescr", "ifAlias"):
                if row.get(k):
                    tags[k] = str(row[k])
            kind = port_class(row.get("ifType"), names[0] or names[1])
            tags["port_class"] = kind
            kinds[kind] = kinds.get(kind, 0) + 1
            fields: dict[str, float | int | str | bool] = {
                "admin_status": ADMIN_STATUS.get(admin or 0, "unknown"),
                "admin_status_code": int(admin or 0),
                "oper_status": OPER_STATUS.get(oper or 0, "unknown"),
                "oper_status_code": int(oper or 0),
                "oper_state": state,
                "status_changed": int(bool(p) and p.get("oper") is not None
                                      and p.get("oper") != oper),
                "flaps": len(flaps),
            }
            if isinstance(row.get("ifHighSpeed"), int):  # as the agent gave it
                fields["ifHighSpeed"] = int(row["ifHighSpeed"])
            if row.get("ifSpeed") not in (None, 0, 2**32 - 1):  # 2^32-1: "see ifHighSpeed"
                fields["ifSpeed"] = int(row["ifSpeed"])
            # one unit on every sample, whichever column it came from
            speed_bps, source = port_speed(row)
            speed_mbps: float | None = speed_bps / 1e6 if speed_bps else None
            fields["speed_source"] = source
            fields["speed_known"] = int(speed_bps is not None)
            if speed_bps is not None:
                fields["speed"] = speed_bps  # bit/s
            else:
                fields["utilisation_unjudged"] = (
                    "speed unknown (no ifHighSpeed; ifSpeed "
                    + ("absent" if row.get("ifSpeed") is None else str(row.get("ifSpeed")))
                    + "): utilisation not judged")
                if kind == "physical" and oper == 1:  # a down port's 0 is no news
                    unknown_speed.append(port_name[idx])
            counters: dict[str, int] = {}
            for col, (fname, _bits) in table.items():
                if row.get(col) is not None:
                    counters[fname] = int(row[col])
                    fields[fname] = int(row[col])
            if "in_octets" in counters or "out_octets" in counters:
                fields["octets_bits"] = octets_bits
            rate_prev = p.get("counters")
            if p.get("last_change") is not None and row.get("ifLastChange") != p.get("last_change"):
                rate_prev = None  # counter discontinuity possible: no rates this cycle
            if p.get("octets_bits", 64) != octets_bits:
                rate_prev = None  # the agent switched between 32- and 64-bit octet counters
            fields.update(port_rates(rate_prev, counters, dt, speed_mbps, skew, table))
            if partial:
                fields["partial"] = 1
            samples.append(Sample("interface", tags, fields, now_ns))
            new_ports[str(idx)] = {"seen_up": seen_up, "oper": oper, "counters": counters,
                                   "last_change": row.get("ifLastChange"), "flaps": flaps}
            if octets_bits == 32:
                new_ports[str(idx)]["octets_bits"] = 32
            counts["up" if state == "up" else "admin_down" if state == "admin-down"
                   else "down"] += 1
            counts["alerting"] += state in ("down-was-up", "down-watched")

        target.evidence.append(f"IF-MIB: {len(new_ports)} ports, {counts['up']} up"
                               + (f"; partial: {'; '.join(problems)}" if problems else ""))
        if unknown_speed:
            target.evidence.append(f"IF-MIB: {len(unknown_speed)} physical ports of unknown "
                                   "speed (utilisation not judged): "
                                   + ", ".join(unknown_speed[:20])
                                   + (" …" if len(unknown_speed) > 20 else ""))
        sysf: dict[str, float | int | str | bool] = {
            "sysDescr": str(sysv["sysDescr"] or ""), "sysObjectID": str(sysv["sysObjectID"] or ""),
            "sysName": str(sysv["sysName"] or ""), "uptime_seconds": int(ticks) / 100,
            "rebooted": int(restarted), "ports_total": len(new_ports), "ports_up": counts["up"],
            "ports_down": counts["down"], "ports_admin_down": counts["admin_down"],
            "ports_alerting": counts["alerting"],
            # by ifType: physical ports apart from VLAN, loopback, NULL… interfaces
            **{f"ports_{k}": kinds.get(k, 0) for k in ("physical", "vlan", "loopback", "null")},
            "ports_other_kinds": sum(v for k, v in kinds.items()
                                     if k not in ("physical", "vlan", "loopback", "null")),
            "partial": int(partial or bool(ent_problems) or bool(other_problems))}
        samples.append(Sample("snmp", {"host": host}, sysf, now_ns))

        if ent_problems:
            # no asset sample rather than one without model/serial: the register would
            # record a false change X -> None -> X; it keeps the last good record
            target.evidence.append("ENTITY-MIB: partial, asset not recorded this cycle: "
                                   + "; ".join(ent_problems))
        elif ent:
            entities = rows(ent_cols)
            asset = chassis_asset(entities)
            afields: dict[str, float | int | str | bool] = {
                "sysObjectID": sysf["sysObjectID"], "sysDescr": sysf["sysDescr"],
                "sysName": sysf["sysName"], "entity_mib": int(bool(asset))}
            afields.update({k: v if isinstance(v, int) else str(v) for k, v in asset.items()})
            parts = components(entities)
            if parts:  # structured, in the one asset record: a change shows as a change
                afields["components"] = json.dumps(parts, ensure_ascii=False, sort_keys=True)
                afields["component_count"] = sum(p["quantity"] for p in parts)
            samples.append(Sample("asset", {"host": host}, afields, now_ns))

        keep = target.state.get("profile_prev") if not restarted else None
        target.state.clear()
        target.state.update({"uptime_ticks": int(ticks), "time": now, "ports": new_ports,
                             "read_offsets": offsets})
        if keep:
            target.state["profile_prev"] = keep
        return samples
