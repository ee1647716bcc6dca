"""Small helpers shared by tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

XUNJIAN = str(Path(sys.executable).parent / "xunjian")


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `xunjian` command as a user would."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([XUNJIAN, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)
