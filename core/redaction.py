"""Secrets out of everything the agent writes, by value.

Every secret the process holds is registered here as it is read (every value of the
secrets file, each `${ENV}` reference as it is resolved: agent.secrets) and is then
replaced by `***` in reasons, log lines,
case events, outbox rows, hook errors and report text, whatever surrounds it: a server
that echoes stdin (sqlplus: `CONNECT user/"<password>"`) or an error that quotes a URL
cannot leak it. Pattern rules (collectors/common/redact.py) stay for text from devices, which
may hold secrets the agent never had.

A secret is also recognised in the forms it travels in: JSON/`repr` escaped and
URL-encoded; the base64 `user:password` of HTTP basic auth is registered where it is made
(`basic_auth`). Secrets shorter than MIN_LENGTH characters are not replaced by value —
masking every `1` or `ab` would ruin the text, and where the `***` fell would give the
secret away; a warning at load names the reference (never the value).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import urllib.parse
from typing import Any

MASK = "***"
MIN_LENGTH = 4

# scheme://user:password@host — userinfo in any URL in a log line or a reason
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*(?::[^\s/@]*)?@")

log = logging.getLogger(__name__)


def _forms(value: str) -> set[str]:
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
             repr(value)[1:-1], urllib.parse.quote(value), urllib.parse.quote(value, safe=""),
             urllib.parse.quote_plus(value)}
    return {f for f in forms if len(f) >= MIN_LENGTH}


class Redactor:
    """The set of known secret values and one regular expression over all their forms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._rx: re.Pattern[str] | None = None
        self.too_short: set[str] = set()  # names of secrets warned about, once each

    def add(self, value: str, derived: bool = False) -> bool:
        """Register a secret (and its escaped forms unless `derived`: then the text as is).
        False when it is too short to be recognised by value."""
        if len(value) < MIN_LENGTH:
            return False
        new = {value} if derived else _forms(value)
        with self._lock:
            if new <= self._forms:
                return True
            self._forms |= new
            # longest first, so a secret that contains another is masked whole
            alts = sorted(self._forms, key=len, reverse=True)
            self._rx = re.compile("|".join(re.escape(a) for a in alts))
        return True

    @property
    def active(self) -> bool:
        return self._rx is not None

    def redact(self, text: str) -> str:
        rx = self._rx
        if rx is None or not text:
            return text
        return rx.sub(MASK, text)

    def clear(self) -> None:
        """Forget every secret (tests only)."""
        with self._lock:
            self._forms = set()
            self._rx = None


REDACTOR = Redactor()


def register(value: str, name: str = "") -> None:
    """A resolved secret: from now on masked in everything the agent writes."""
    if value and not REDACTOR.add(value) and name not in REDACTOR.too_short:
        REDACTOR.too_short.add(name)
        log.warning("secret %s is shorter than %d characters: too short to be masked by value in "
                    "reasons and logs", name or "(unnamed)", MIN_LENGTH)


def redact(text: str) -> str:
    """Every registered secret (and its escaped forms) → ***."""
    return REDACTOR.redact(text)


def redact_deep(obj: Any) -> Any:
    """The same over the strings inside dicts, lists and tuples (event details, payloads)."""
    if isinstance(obj, str):
        return REDACTOR.redact(obj)
    if isinstance(obj, dict):
        return {k: redact_deep(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(redact_deep(v) for v in obj)
    return obj


def strip_userinfo(text: str) -> str:
    """`http://user:pw@host/…` → `http://host/…` in any URL inside the text."""
    return _URL_USERINFO.sub(r"\1", text)


def basic_auth(user: str, password: str) -> str:
    """The `Authorization: Basic …` token, registered as a secret itself."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    REDACTOR.add(token, derived=True)
    return token


class RedactingFilter(logging.Filter):
    """On a handler: the message, arguments and traceback of every record, redacted once."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what logging would show
            message = str(record.msg)
        record.msg = strip_userinfo(redact(message))
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None  # formatters would format the raw exception again
        if record.exc_text:
            record.exc_text = strip_userinfo(redact(record.exc_text))
        if record.stack_info:
            record.stack_info = strip_userinfo(redact(record.stack_info))
        return True
