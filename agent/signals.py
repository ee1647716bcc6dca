"""The daemon's signals, noted by handlers that do nothing else; the main loop acts on them.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread
is — possibly inside `Event.wait` holding the Event's lock, or inside a logging call. A handler
that takes a lock there deadlocks its own thread (seen: SIGTERM hung the daemon for ever), and
one that logs can re-enter a buffered stream. So these handlers only set a flag, and
`signal.set_wakeup_fd` writes a byte to a pipe so that `wait()` returns at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

STOP = (signal.SIGTERM, signal.SIGINT)
RELOAD = signal.SIGHUP


class SignalInbox:
    def __init__(self) -> None:
        self.stop_signal = 0  # the first stop signal received; 0 = none
        self._reload = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)  # set_wakeup_fd requires it

    def install(self) -> None:
        """In the main thread, as early as possible: from here on a signal is noted, not fatal."""
        signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for sig in STOP:
            signal.signal(sig, self._on_stop)
        signal.signal(RELOAD, self._on_reload)

    def _on_stop(self, signum: int, _frame: object) -> None:
        if not self.stop_signal:
            self.stop_signal = signum

    def _on_reload(self, _signum: int, _frame: object) -> None:
        self._reload = True

    @property
    def stopping(self) -> bool:
        return self.stop_signal != 0

    @property
    def stop_name(self) -> str:
        return signal.Signals(self.stop_signal).name if self.stop_signal else ""

    def take_reload(self) -> bool:
        """True once per burst of SIGHUPs (several before the loop looks make one reload)."""
        if not self._reload:
            return False
        self._reload = False
        return True

    def wait(self, timeout: float) -> None:
        """Until a signal arrives or `timeout` passes."""
        if self.stopping or self._reload:
            return
        with contextlib.suppress(InterruptedError):
            select.select([self._r], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while os.read(self._r, 512):
                pass

    def ignore(self) -> None:
        """After the stop: more stop signals change nothing, and the interpreter's shutdown (which
        restores the default actions of the handlers it knows) must not be killed by one."""
        for sig in (*STOP, RELOAD):
            signal.signal(sig, signal.SIG_IGN)
        signal.set_wakeup_fd(-1)
        os.close(self._r)
        os.close(self._w)
