"""Reasons for people: the same few words for the same failure on every transport.

A reason is read in a table cell, a case and the daily ledger: it says what failed and where,
in a line. It never carries a generated shell script (a collector's batch is hundreds of
characters of markers and quoting) nor a library's tutorial text. Standard library only:
collectors import this without loading paramiko.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

LABEL_CHARS = 60  # a command named by its first words is cut here
BATCH_MARK = "@@xj-"  # collectors.common.batch's section marker: such a command is a generated script


def command_label(command: str, what: str | None = None) -> str:
    """What ran, in a few words: `what` when the caller named it ("linux health batch"), else
    the command's first words in quotes, at most LABEL_CHARS long."""
    if what:
        return what
    if BATCH_MARK in command:
        return "command batch"
    words = " ".join(command.split())
    if len(words) > LABEL_CHARS:
        words = words[:LABEL_CHARS - 1].rstrip() + "…"
    return f"'{words}'"


def _chain(e: BaseException) -> Iterator[BaseException]:
    """`e`, the errors it wraps (paramiko's NoValidConnectionsError keeps one per address),
    and its causes and contexts: netmiko and paramiko re-raise their own exception types
    from inside `except OSError`."""
    seen: set[int] = set()
    todo = [e]
    while todo and len(seen) < 20:
        err = todo.pop(0)
        if id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        inner = getattr(err, "errors", None)
        if isinstance(inner, dict):
            todo += [x for x in inner.values() if isinstance(x, BaseException)]
        todo += [x for x in (err.__cause__, err.__context__) if x is not None]


def network_reason(e: BaseException, host: str, port: int, timeout: float) -> str | None:
    """The reason for a failed connection to host:port — refused, timed out, name not
    resolved, no route, reset — found in `e` or the errors it wraps; None when no network
    error is among them (a protocol or login failure: the caller says which)."""
    where = f"{host}:{port}"
    for err in _chain(e):
        if not isinstance(err, OSError):
            continue
        code = err.errno
        if isinstance(err, socket.gaierror):
            return f"host name '{host}' not resolved ({err.strerror or err})"
        if isinstance(err, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return f"connection refused by {where}"
        if isinstance(err, TimeoutError) or code == errno.ETIMEDOUT:  # socket.timeout too
            return f"connection to {where} timed out after {timeout:g} s"
        if code == errno.EHOSTUNREACH:
            return f"no route to host {where} (host unreachable)"
        if code == errno.ENETUNREACH:
            return f"no route to {where} (network unreachable)"
        if isinstance(err, ConnectionResetError):
            return f"connection reset by {where}"
        if isinstance(err, ConnectionError):  # aborted, broken pipe
            return f"{where} closed the connection"
        if code is not None:
            return f"cannot connect to {where}: {err.strerror or err}"
    return None


def banner_reason(e: BaseException, where: str, timeout: float) -> str | None:
    """The reason when an SSH server sent no banner (paramiko: "Error reading SSH protocol
    banner"): it closed the connection first, or said nothing for `timeout` seconds."""
    errors = list(_chain(e))
    if not any("error reading ssh protocol banner" in str(x).lower() for x in errors):
        return None
    if any(isinstance(x, EOFError | ConnectionResetError) for x in errors):
        return f"{where} closed the connection before the SSH banner"
    return f"no SSH banner from {where} within {timeout:g} s"
