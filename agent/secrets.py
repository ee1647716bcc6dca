"""Credentials by reference: `${ENV_VAR}` or `${secret:key}` from a 0600 secrets file.

Resolved values are wrapped in pydantic's SecretStr so that printing a device, a
config or an exception never shows them, and registered with core.redaction so that no
reason, log line, event or report text the agent writes shows them either.
"""

from __future__ import annotations

import os
import re
import stat
import urllib.parse
from pathlib import Path

from pydantic import SecretStr

from core.problems import ConfigError, Problem, load_yaml_file
from core.redaction import register

REF = re.compile(r"^\$\{(?:(?P<secret>secret:)?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*))\}$")
REF_HELP = "a reference: ${ENV_VAR} or ${secret:key} (literal secrets are not accepted)"


def is_reference(value: object) -> bool:
    return isinstance(value, str) and REF.match(value) is not None


def url_has_password(url: str) -> bool:
    """`scheme://user:password@host…`: a literal secret in a URL (refused where URLs are read)."""
    try:
        return urllib.parse.urlsplit(url).password is not None
    except ValueError:
        return False


class Secrets:
    """Looks up references; reports problems instead of raising one at a time."""

    def __init__(self, file: Path | None, env: dict[str, str] | None = None) -> None:
        self.file = file
        self.env = os.environ if env is None else env
        self._values: dict[str, str] | None = None
        self.load_problem: Problem | None = None
        if file is not None:
            self._load(file)

    def _load(self, file: Path) -> None:
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            self.load_problem = Problem(str(file), "", "secrets file not found")
            return
        except OSError as e:
            self.load_problem = Problem(str(file), "", f"secrets file unreadable: {e.strerror}")
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            self.load_problem = Problem(
                str(file), "", f"secrets file must be readable by its owner only "
                f"(mode 0600), it is {stat.S_IMODE(mode):04o}; run: chmod 600 {file}"
            )
            return
        try:
            data = load_yaml_file(file, "secrets file") or {}
        except ConfigError as e:
            self.load_problem = e.problems[0]
            return
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            self.load_problem = Problem(str(file), "", "a mapping of key: value expected")
            return
        self._values = {k: str(v) for k, v in data.items()}
        for k, v in self._values.items():  # held by the process, so masked, used or not
            register(v, f"${{secret:{k}}}")

    def resolve(self, ref: str) -> tuple[SecretStr | None, str | None]:
        """Return (value, None) or (None, what went wrong)."""
        m = REF.match(ref)
        if m is None:
            return None, REF_HELP
        name = m.group("name")
        if m.group("secret"):
            if self.file is None:
                return None, f"refers to secret '{name}' but no secrets_file is configured"
            if self._values is None:
                return None, f"refers to secret '{name}' but the secrets file could not be read"
            if name not in self._values:
                return None, f"secret '{name}' not found in {self.file}"
            return SecretStr(self._values[name]), None
        if name not in self.env:
            return None, f"environment variable {name} is not set"
        register(self.env[name], ref)
        return SecretStr(self.env[name]), None

