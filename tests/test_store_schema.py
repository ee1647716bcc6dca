"""A store written by another schema version is refused with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from agent.problems import ConfigError
from agent.store.db import SCHEMA_VERSION, open_engine
from tests.helpers import cli


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    engine = open_engine(tmp_path)
    open_engine(tmp_path)  # the same version opens again
    with engine.begin() as conn:
        conn.execute(text("UPDATE state SET value = '1' WHERE key = 'schema_version'"))
    with pytest.raises(ConfigError, match=f"schema version 1; this xunjian needs version {SCHEMA_VERSION}"):
        open_engine(tmp_path)
    r = cli("cases", "list", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "move the data directory aside" in r.stderr and "Traceback" not in r.stderr
