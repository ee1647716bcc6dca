"""Many remote commands in one exec: sections framed by markers, split by a pure parser.

One round trip per cycle keeps both our CPU and the server's sshd CPU low. Every
section reports its own exit status, so one missing tool (no chronyc) does not fail
the others. The marker carries a per-run nonce: file content printed by a section
(a log line, a config file) can never forge a section boundary.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from core.model import CollectionError


@dataclass(frozen=True, slots=True)
class Section:
    text: str
    status: int


class Batch:
    """Named shell snippets joined into one POSIX sh command (LC_ALL=C for stable output)."""

    def __init__(self, nonce: str | None = None, one_write: bool = False) -> None:
        self.nonce = nonce or secrets.token_hex(6)
        self.one_write = one_write
        self._parts: list[tuple[str, str]] = []

    def add(self, name: str, snippet: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_.-]*", name):
            raise ValueError(f"bad section name {name!r}")
        self._parts.append((name, snippet))

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self._parts]

    def command(self) -> str:
        mark = f"@@xj-{self.nonce}"
        # Each snippet runs in a subshell `( … )` so an `exit` or a failing `cd` stays local;
        # stderr joins stdout so a section's error message is next to its status.
        body = "; ".join(f"echo '{mark} begin {n}'; ( {s} ) 2>&1; echo \"{mark} end {n} $?\""
                         for n, s in self._parts)
        if self.one_write:
            # Captured, then printed with one write: the batch's output leaves in one SSH data
            # packet instead of one per echo and command (~15 for the linux batch), which halves
            # what the client's SSH thread does per host. Text only: $( ) drops NUL bytes, and
            # nothing arrives before the whole batch is done.
            return f"export LC_ALL=C LANG=C; xj_out=$({body}); printf '%s\\n' \"$xj_out\""
        return f"export LC_ALL=C LANG=C; {body}"

    def parse(self, output: str) -> dict[str, Section]:
        return split_sections(output, self.nonce, self.names)


_STATUS = re.compile(r"[0-9]{1,3}")  # ASCII only: '²'.isdigit() is True, int('²') raises


def split_sections(output: str, nonce: str, expected: list[str]) -> dict[str, Section]:
    """Text between `begin NAME` and `end NAME STATUS` markers, per name.

    A section that never ended (output cut off) or never began raises CollectionError:
    half a batch is not taken for a whole one.
    """
    mark = f"@@xj-{nonce} "
    sections: dict[str, Section] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if not line.startswith(mark):
            if current is not None:
                lines.append(line)
            continue
        words = line[len(mark):].split()
        if len(words) == 2 and words[0] == "begin" and current is None:
            current, lines = words[1], []
        elif len(words) == 3 and words[0] == "end" and words[1] == current and _STATUS.fullmatch(words[2]):
            sections[current] = Section("\n".join(lines) + ("\n" if lines else ""), int(words[2]))
            current = None
        else:
            raise CollectionError(f"batch output out of order at {line[:80]!r}")
    missing = [n for n in expected if n not in sections]
    if missing:
        raise CollectionError(f"batch output incomplete: no complete section {', '.join(missing)}")
    return sections
