"""Configuration checks over SSH: listed files → checksum, size, mtime; a change since the
last cycle is an event with a unified diff excerpt (secrets redacted).

Small text files travel whole (base64) and are hashed here; bigger ones are hashed on the
server. What is remembered for the next diff is the *redacted* text: no secret from a
config file is ever written to the store.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import shlex

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collectors.common.batch import Batch, Section
from collectors.common.redact import redact
from core.model import CollectionError, CommandRunner, Sample, Target, now_ns


class ConfigSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = Field(min_length=1)
    max_diff_bytes: int = Field(default=256 * 1024, ge=0, le=4 * 2**20)  # bigger: hash only
    diff_lines: int = Field(default=80, ge=5, le=1000)  # lines of diff kept as evidence

    @field_validator("files")
    @classmethod
    def _abs(cls, v: list[str]) -> list[str]:
        for p in v:
            if not p.startswith("/") or "\n" in p or "\0" in p:
                raise ValueError(f"an absolute file path: {p!r}")
        if len(set(v)) != len(v):
            raise ValueError("a file is listed twice")
        return v


def file_snippet(path: str, cap: int) -> str:
    return (f"exec 3< {shlex.quote(path)} || exit 3; set -- $(stat -L -c '%s %Y' /dev/fd/3); "
            f"echo \"$1 $2\"; if [ \"$1\" -le {cap} ]; then echo content; base64 -w0 <&3; echo; "
            f"else echo sha256; sha256sum <&3 | cut -d ' ' -f 1; fi")


class Snapshot:
    def __init__(self, size: int, mtime: int, sha256: str, text: str | None) -> None:
        self.size, self.mtime, self.sha256, self.text = size, mtime, sha256, text


def parse_file_section(sec: Section) -> Snapshot:
    lines = sec.text.split("\n", 2)
    try:
        size, mtime = (int(x) for x in lines[0].split())
        kind, body = lines[1], lines[2].strip()
    except (ValueError, IndexError):
        raise CollectionError(f"config file read not understood: {sec.text[:60]!r}") from None
    if kind == "sha256":
        if len(body) != 64:
            raise CollectionError(f"sha256sum output not understood: {body[:60]!r}")
        return Snapshot(size, mtime, body, None)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise CollectionError("config file content is not base64") from None
    text: str | None
    try:
        text = None if b"\0" in data else data.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # binary or another encoding: checksum only
    return Snapshot(size, mtime, hashlib.sha256(data).hexdigest(), text)


def redacted_diff(old: str, new: str, path: str, max_lines: int) -> str:
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"{path} (before)",
                                     f"{path} (now)", lineterm="", n=2))
    if len(diff) > max_lines:
        diff = [*diff[:max_lines], f"… {len(diff) - max_lines} more diff lines"]
    return "\n".join(diff)


class ConfigCollector:
    settings_model = ConfigSettings
    name = "config"

    def collect(self, target: Target, conn: CommandRunner | None) -> list[Sample]:
        if conn is None:
            raise CollectionError("the config collector needs an SSH connection")
        s: ConfigSettings | None = target.settings
        if s is None:
            raise CollectionError("no settings.config.files in the inventory for this device")
        b = Batch()
        for i, path in enumerate(s.files):
            b.add(f"f{i}", file_snippet(path, s.max_diff_bytes))
        out = conn.run(b.command(), what="config file batch")
        if out.exit_status != 0:
            raise CollectionError(f"config file batch exited {out.exit_status}: {out.stderr.strip()[:200]}")
        sections = b.parse(out.stdout)
        t = now_ns()
        memory: dict[str, dict] = target.state.setdefault("files", {})  # type: ignore[type-arg]
        samples: list[Sample] = []
        for i, path in enumerate(s.files):
            sec = sections[f"f{i}"]
            before = memory.get(path)
            tags = {"host": target.name, "path": path}
            if sec.status != 0:
                problem = (sec.text.strip().splitlines() or ["not readable"])[-1][:200]
                samples.append(Sample("config_file", tags, {"status": f"unreadable: {problem}",
                                                            "changed": 0}, t, f"{path}: {problem}"))
                continue  # keep what we knew: a passing read error is not a change
            snap = parse_file_section(sec)
            text = redact(snap.text) if snap.text is not None else None
            changed = before is not None and before.get("sha256") != snap.sha256
            was = (f"; was sha256 {before.get('sha256')}, {before.get('size')} bytes" if changed and before
                   else "")
            samples.append(Sample("config_file", tags, {
                "status": "ok", "sha256": snap.sha256, "size": snap.size, "mtime": snap.mtime,
                "changed": int(changed)}, t,
                f"{path}: sha256 {snap.sha256}, {snap.size} bytes, mtime {snap.mtime}{was}"))
            if changed and before is not None:
                fields: dict[str, float | int | str | bool] = {
                    "message": f"{path} changed: {before.get('size')} → {snap.size} bytes, "
                               f"sha256 {str(before.get('sha256'))[:12]} → {snap.sha256[:12]}",
                    "count": 1}
                old = before.get("text")
                if isinstance(old, str) and text is not None:
                    diff = redacted_diff(old, text, path, s.diff_lines)
                    fields["diff"] = diff or "(only redacted values changed)"
                samples.append(Sample("event", {"host": target.name, "source": "config",
                                                "kind": "config_change", "path": path}, fields, t))
            memory[path] = {"sha256": snap.sha256, "size": snap.size, "mtime": snap.mtime,
                            "text": text}
        for gone in set(memory) - set(s.files):  # no longer listed: forget it
            del memory[gone]
        return samples
