"""paramiko's transport-thread errors, lowered to DEBUG: we turn each of them into a reason.

When an SSH connection fails in paramiko's reader thread (no banner, a closed or reset
socket, a refused key exchange), the thread logs the exception at ERROR with a 20-line
traceback, one record per line, then hands the same exception to the thread that waits on
the transport (connect, open_session, a channel read). There we turn it into a reason on the
verdict, so the ERROR lines only repeat it, every cycle, in the daemon log and on `inspect`'s
stderr. This filter lowers exactly those records (client side, the exception line and its
traceback) to DEBUG; everything else paramiko says is left as it is, and an unexpected
exception in paramiko ("Unknown exception") keeps its traceback at ERROR.
"""

from __future__ import annotations

import logging
import threading

LOGGER = "paramiko.transport"  # where paramiko.Transport logs, netmiko's connections included
_HEADERS = ("Exception (client): ", "Socket exception: ")


class TransportErrorsLowered(logging.Filter):
    """On the paramiko.transport logger: a client transport thread's exception record and the
    traceback lines that follow it become DEBUG records (shown only when that logger is set
    to DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        # per transport thread: inside a lowered exception (its traceback lines follow it, blank
        # lines and chained tracebacks included); the thread ends right after
        self._state = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            self._state.lowering = False
            return True
        msg = record.msg if isinstance(record.msg, str) else ""
        if msg.startswith(_HEADERS) and _in_client_transport():
            self._state.lowering = True
        elif not getattr(self._state, "lowering", False):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _in_client_transport() -> bool:
    import paramiko  # loaded already: only paramiko's own thread logs these records

    thread = threading.current_thread()
    return isinstance(thread, paramiko.Transport) and not thread.server_mode


_FILTER = TransportErrorsLowered()


def lower_transport_errors() -> None:
    """Install the filter on paramiko's transport logger (once; idempotent)."""
    logger = logging.getLogger(LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
