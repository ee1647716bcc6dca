"""Secret-looking strings out of text that leaves the device (log evidence, config diffs).

Conservative on purpose: it is better to hide a harmless value than to ship a password
into the store, InfluxDB, a ticket or a report. Every secret the agent holds is masked
first, by value (core.redaction), before any pattern and before a caller cuts the text
short (a cut could leave half a password that no longer matches).
"""

from __future__ import annotations

import re

from core.redaction import redact as redact_known

MASK = "***"

_KEY = r"(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|credential|auth)"
_RULES: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, whole block (multi-line text) or a lone header line
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
     "-----BEGIN PRIVATE KEY----- *** -----END PRIVATE KEY-----"),
    # HTTP authorisation headers
    (re.compile(r"(?i)\b(Authorization:\s*(?:Basic|Bearer|Digest)\s+)\S+"), rf"\1{MASK}"),
    # key=value / key: value / key="value" / -Dx.password=value / <password>v</password>
    (re.compile(rf"(?i)([\w.-]*{_KEY}[\w.-]*\s*[=:]\s*)(?!\*\*\*)(\"[^\"]*\"|'[^']*'|[^\s,;&<>\"']+)"),
     rf"\1{MASK}"),
    (re.compile(rf"(?i)(<([\w:-]*{_KEY}[\w:-]*)>)([^<]*)(</\2>)"), rf"\1{MASK}\4"),
    # SQL: IDENTIFIED BY secret
    (re.compile(r"(?i)\b(IDENTIFIED\s+BY\s+)(\"[^\"]*\"|\S+)"), rf"\1{MASK}"),
    # CONNECT user/"password" (what the oracle collector sends, echoed by sqlplus)
    (re.compile(r'\b([A-Za-z][\w$#]*)/"[^"\n]*"'), rf'\1/"{MASK}"'),
    # user/password@connect-identifier (sqlplus, JDBC thin)
    (re.compile(r"\b([A-Za-z][\w$#]*)/([^\s/@]+)@"), rf"\1/{MASK}@"),
    # URL credentials scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)@"), rf"\1{MASK}@"),
    # WebLogic encrypted values ({AES}…, {AES256}…, {3DES}…)
    (re.compile(r"\{(AES\d*|3DES)\}[A-Za-z0-9+/=]+"), r"{\1}" + MASK),
]


def redact(text: str) -> str:
    text = redact_known(text)
    for rx, repl in _RULES:
        text = rx.sub(repl, text)
    return text
