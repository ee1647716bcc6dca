"""Small helpers shared by tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

XUNJIAN = str(Path(sys.executable).parent / "xunjian")


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120, max_memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `xunjian` command as a user would; `max_memory` (bytes) caps the
    child's address space (RLIMIT_AS), for tests that prove memory stays bounded."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}

    def limit() -> None:
        if max_memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    return subprocess.run([XUNJIAN, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False, preexec_fn=limit if max_memory else None)


def user_docs() -> str:
    """The reference in docs/*.md, then the README: the examples tests check live in either
    (a section moved to docs/ keeps its heading, and the README keeps its summary after it)."""
    root = Path(__file__).resolve().parent.parent
    return "\n".join(p.read_text(encoding="utf-8") for p in [*sorted((root / "docs").glob("*.md")), root / "README.md"])
